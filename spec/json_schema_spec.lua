-- gofr_sim.engine.json_schema: compile errors named by where they are,
-- each keyword's passing and failing values with their error paths, the
-- empty {} / [] rule, unchecked patterns, and generation: a corpus of
-- real and varied schemas whose generated values always validate,
-- deterministic per rng stream, bounded on recursive schemas.
local schema = require "gofr_sim.engine.json_schema"
local rng = require "gofr_sim.engine.rng"
local json = require "gofr_sim.util.json"
local cjson = require "cjson"
local catalogue = require "gofr_sim.twin.catalogue"

-- A compiled schema from JSON text (util.json's decoder: ordered objects).
local function compile(text)
  local doc, err = json.decode(text)
  assert(err == nil, err)
  return assert(schema.compile(doc))
end

local function valid(c, value)
  local ok, errs = schema.validate(c, value)
  assert.is_true(ok, errs and (errs[1].path .. ": " .. errs[1].message))
end

-- The errors of an invalid value, as "path: message" strings.
local function invalid(c, value)
  local ok, errs = schema.validate(c, value)
  assert.is_false(ok, "expected the value to be invalid")
  local out = {}
  for i, e in ipairs(errs) do out[i] = e.path .. ": " .. e.message end
  return out
end

-- JSON text to a value, as lua-cjson (plain tables) decodes it.
local function cj(text) return cjson.decode(text) end

describe("json_schema", function()
  describe("compile", function()
    local function compile_error(doc)
      local c, err = schema.compile(doc)
      assert.is_nil(c)
      return err
    end

    it("names where a schema is bad", function()
      assert.are.equal("properties.age.type: unknown type 'int'",
        compile_error({ type = "object", properties = { age = { type = "int" } } }))
      assert.are.equal("type: unknown type 'any'", compile_error({ type = "any" }))
      assert.are.equal("properties.tags.items.minLength: expected a non-negative integer, got -1",
        compile_error({ properties = { tags = { items = { minLength = -1 } } } }))
      assert.are.equal("anyOf[1].maximum: expected a number, got string",
        compile_error(assert(json.decode('{"anyOf":[{"type":"string"},{"maximum":"5"}]}'))))
      assert.are.equal("required: expected an array, got string", compile_error({ required = "x" }))
      assert.are.equal("required[1]: expected a string, got number",
        compile_error(cj('{"required":["a",2]}')))
      assert.are.equal("multipleOf: must be greater than 0, got 0", compile_error({ multipleOf = 0 }))
      assert.are.equal("properties.x: expected a schema (an object or a boolean), got string",
        compile_error({ properties = { x = "string" } }))
      assert.are.equal("allOf: expected a non-empty array of schemas", compile_error(cj('{"allOf":[]}')))
      assert.are.equal("expected a schema (an object or a boolean), got number", compile_error(3))
    end)

    it("refuses an invalid pattern, naming it", function()
      assert.are.equal("properties.code.pattern: invalid regular expression '([a-z]': missing )",
        compile_error({ properties = { code = { pattern = "([a-z]" } } }))
      assert.are.equal("pattern: invalid regular expression '*a': nothing to repeat",
        compile_error({ pattern = "*a" }))
      assert.are.equal("pattern: invalid regular expression 'a{2}{3}': nothing to repeat",
        compile_error({ pattern = "a{2}{3}" }))
      assert.are.equal("patternProperties: invalid regular expression '[z-a]': "
        .. "range out of order in character class",
        compile_error({ patternProperties = { ["[z-a]"] = { type = "string" } } }))
    end)

    it("refuses $refs it cannot resolve and $ref cycles that never descend", function()
      assert.are.equal("properties.a.$ref: $ref '#/$defs/missing' does not resolve (nothing at 'missing')",
        compile_error(cj('{"properties":{"a":{"$ref":"#/$defs/missing"}},"$defs":{}}')))
      assert.matches("unsupported $ref 'other.json#/x'",
        compile_error({ ["$ref"] = "other.json#/x" }), 1, true)
      assert.are.equal("$ref cycle that never descends into a property or item: "
        .. "$defs.a -> $defs.b -> $defs.b.anyOf[0] -> $defs.a",
        compile_error(cj('{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/b"},'
          .. '"b":{"anyOf":[{"$ref":"#/$defs/a"}]}}}')))
    end)

    it("records what it cannot check in compiled.unchecked", function()
      local c = compile([[{"type":"object","properties":{
        "a":{"type":"string","pattern":"(?=x)x"},
        "b":{"type":"string","pattern":"^(a)\\1$"},
        "c":{"type":"string","pattern":"\\bword\\b"},
        "d":{"type":"string","pattern":"^[a-z]+$"}},
        "if":{"required":["a"]},"then":{"required":["b"]}}]])
      assert.are.same({
        "properties.a.pattern '(?=x)x': lookahead is not supported; not checked",
        "properties.b.pattern '^(a)\\1$': a back-reference is not supported; not checked",
        "properties.c.pattern '\\bword\\b': \\b (word boundary) is not supported; not checked",
        "if: keyword 'if' is not supported; not checked",
        "then: keyword 'then' is not supported; not checked",
      }, c.unchecked)
      -- unchecked patterns let everything through; checked ones still check
      valid(c, { a = "nope", b = "zz", c = "" })
      assert.are.same({ "$.d: string \"D\" does not match pattern '^[a-z]+$'" }, invalid(c, { d = "D" }))
      assert.are.same({}, compile('{"type":"string","pattern":"^[a-z]{1,64}$"}').unchecked)
    end)

    it("accepts the twin's catalogue (plain tables) and booleans", function()
      for _, tool in ipairs(catalogue.tools) do
        local c = assert(schema.compile(tool.inputSchema))
        assert.are.same({}, c.unchecked, tool.name)
      end
      assert.is_true((schema.validate(assert(schema.compile(true)), 5)))
      assert.are.same({ "$: no value is allowed here (false schema)" },
        invalid(assert(schema.compile(false)), 5))
    end)
  end)

  describe("validate", function()
    it("type: names, arrays of names, integer within number", function()
      local c = compile('{"type":"integer"}')
      valid(c, 3)
      valid(c, 3.0)
      valid(c, json.decode("123456789012345678901234567890")) -- an exact-integer text
      assert.are.same({ "$: expected integer, got number" }, invalid(c, 3.5))
      assert.are.same({ "$: expected integer, got string" }, invalid(c, "3"))
      c = compile('{"type":["string","null"]}')
      valid(c, "x")
      valid(c, cjson.null)
      valid(c, json.null)
      assert.are.same({ "$: expected null or string, got boolean" }, invalid(c, true))
      c = compile('{"type":"number"}')
      valid(c, 3)
      valid(c, json.float(2))
      assert.are.same({ "$: expected number, got array" }, invalid(c, { 1 }))
      assert.are.same({ "$: expected boolean, got object" },
        invalid(compile('{"type":"boolean"}'), { a = 1 }))
    end)

    it("nullable (OpenAPI) also accepts null", function()
      local c = compile('{"type":"string","nullable":true,"minLength":2}')
      valid(c, cjson.null)
      valid(c, "ab")
      assert.are.same({ "$: string is 1 characters, fewer than minLength 2" }, invalid(c, "a"))
    end)

    it("properties, required, additionalProperties, with paths", function()
      local c = compile([[{"type":"object","properties":{
          "name":{"type":"string"},
          "tags":{"type":"array","items":{"type":"string"}},
          "owner":{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}},
        "required":["name"],"additionalProperties":false}]])
      valid(c, cj('{"name":"x","tags":["a"],"owner":{"id":2}}'))
      valid(c, json.decode('{"name":"x"}'))
      assert.are.same({
        "$.tags[1]: expected string, got integer",
        "$.owner: missing required property 'id'",
        "$: missing required property 'name'",
        "$: property 'extra' is not allowed (additionalProperties is false)",
      }, invalid(c, cj('{"tags":["a",2],"owner":{},"extra":1}')))
      -- a schema for the others
      c = compile('{"type":"object","additionalProperties":{"type":"string"}}')
      valid(c, { a = "x", b = "y" })
      assert.are.same({ "$.b: expected string, got integer" }, invalid(c, { a = "x", b = 1 }))
      assert.are.same({ "$['a b'].c: expected string, got boolean" },
        invalid(compile('{"properties":{"a b":{"properties":{"c":{"type":"string"}}}}}'),
          { ["a b"] = { c = true } }))
    end)

    it("patternProperties, propertyNames, min/maxProperties, dependentRequired", function()
      local c = compile([[{"type":"object",
        "patternProperties":{"^x-":{"type":"integer"},"^[0-9]+$":{"type":"string"}},
        "additionalProperties":false}]])
      valid(c, { ["x-a"] = 1, ["12"] = "s" })
      assert.are.same({
        "$['x-a']: expected integer, got string",
        "$: property 'y' is not allowed (additionalProperties is false)",
      }, invalid(c, { ["x-a"] = "s", y = 1 }))
      c = compile('{"propertyNames":{"pattern":"^[a-z]+$"},"minProperties":1,"maxProperties":2}')
      valid(c, { ab = 1 })
      assert.are.same({ "$: property name 'A' does not match propertyNames" }, invalid(c, { A = 1 }))
      assert.are.same({ "$: object has 3 properties, more than maxProperties 2" },
        invalid(c, { a = 1, b = 2, c = 3 }))
      assert.are.same({ "$: object has 0 properties, fewer than minProperties 1" }, invalid(c, json.object()))
      c = compile('{"dependentRequired":{"card":["cvv"]}}')
      valid(c, { cvv = "1" })
      assert.are.same({ "$: property 'card' requires property 'cvv'" }, invalid(c, { card = "1" }))
      c = compile('{"dependencies":{"card":["cvv"]}}') -- draft-07
      assert.are.same({ "$: property 'card' requires property 'cvv'" }, invalid(c, { card = "1" }))
    end)

    it("items, prefixItems, draft-07 tuples, min/maxItems, uniqueItems, contains", function()
      local c = compile('{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3,'
        .. '"uniqueItems":true}')
      valid(c, { 1, 2, 3 })
      valid(c, json.decode("[1, 2]"))
      assert.are.same({ "$: array has 0 items, fewer than minItems 1" }, invalid(c, json.array {}))
      assert.are.same({ "$: array has 4 items, more than maxItems 3" }, invalid(c, { 1, 2, 3, 4 }))
      assert.are.same({ "$: items 0 and 2 are equal (uniqueItems)" }, invalid(c, { 1, 2, 1 }))
      assert.are.same({ "$: items 0 and 1 are equal (uniqueItems)" },
        invalid(compile('{"uniqueItems":true}'), cj('[{"a":[1]},{"a":[1.0]}]')))
      c = compile('{"prefixItems":[{"type":"string"},{"type":"integer"}],"items":false}')
      valid(c, { "a", 1 })
      valid(c, { "a" })
      assert.are.same({ "$[1]: expected integer, got string" }, invalid(c, { "a", "b" }))
      assert.are.same({ "$: array has 3 items, at most 2 allowed" }, invalid(c, { "a", 1, 2 }))
      c = compile('{"items":[{"type":"string"}],"additionalItems":{"type":"boolean"}}')
      valid(c, { "a", true, false })
      assert.are.same({ "$[2]: expected boolean, got integer" }, invalid(c, { "a", true, 3 }))
      c = compile('{"contains":{"type":"string"},"minContains":2,"maxContains":3}')
      valid(c, { 1, "a", "b" })
      assert.are.same({ "$: 1 items match 'contains', fewer than minContains 2" }, invalid(c, { 1, "a" }))
      assert.are.same({ "$: no item matches 'contains'" },
        invalid(compile('{"contains":{"const":1}}'), { 2 }))
      -- json.null holes in a util.json array read as null
      valid(compile('{"items":{"type":"null"}}'), json.decode("[null, null]"))
    end)

    it("enum and const, by JSON equality", function()
      local c = compile('{"enum":["a",1,null,{"k":[1,2]}]}')
      valid(c, "a")
      valid(c, 1.0)
      valid(c, cjson.null)
      valid(c, cj('{"k":[1,2]}'))
      assert.are.same({ '$: value "b" is not one of "a", 1, null, {"k":[1,2]}' }, invalid(c, "b"))
      assert.are.same({ '$: value {"k":[2,1]} is not one of "a", 1, null, {"k":[1,2]}' },
        invalid(c, cj('{"k":[2,1]}')))
      c = compile('{"const":{"a":true}}')
      valid(c, { a = true })
      assert.are.same({ '$: expected {"a":true} (const), got {"a":false}' }, invalid(c, { a = false }))
      assert.are.same({ '$: expected {"a":true} (const), got {"a":true,"b":1}' },
        invalid(c, { a = true, b = 1 }))
    end)

    it("minimum, maximum, exclusive bounds (numbers and draft-04 booleans), multipleOf", function()
      local c = compile('{"minimum":1,"maximum":10}')
      valid(c, 1)
      valid(c, 10)
      assert.are.same({ "$: 0.5 is less than minimum 1" }, invalid(c, 0.5))
      assert.are.same({ "$: 11 is greater than maximum 10" }, invalid(c, 11))
      c = compile('{"exclusiveMinimum":1,"exclusiveMaximum":10}')
      valid(c, 1.5)
      assert.are.same({ "$: 1 is not greater than exclusiveMinimum 1" }, invalid(c, 1))
      assert.are.same({ "$: 10 is not less than exclusiveMaximum 10" }, invalid(c, 10))
      c = compile('{"minimum":1,"exclusiveMinimum":true,"maximum":10,"exclusiveMaximum":true}')
      valid(c, 2)
      assert.are.same({ "$: 1 is not greater than exclusive minimum 1" }, invalid(c, 1))
      assert.are.same({ "$: 10 is not less than exclusive maximum 10" }, invalid(c, 10))
      c = compile('{"multipleOf":0.01}')
      valid(c, 0.07)
      valid(c, 19.99)
      assert.are.same({ "$: 0.075 is not a multiple of 0.01" }, invalid(c, 0.075))
      c = compile('{"type":"integer","multipleOf":5}')
      valid(c, -15)
      assert.are.same({ "$: 12 is not a multiple of 5" }, invalid(c, 12))
    end)

    it("minLength and maxLength count characters, not bytes", function()
      local c = compile('{"minLength":2,"maxLength":3}')
      valid(c, "日本")        -- 6 bytes, 2 characters
      valid(c, "😀😀😀")
      assert.are.same({ "$: string is 1 characters, fewer than minLength 2" }, invalid(c, "日"))
      assert.are.same({ "$: string is 4 characters, more than maxLength 3" }, invalid(c, "éééé"))
    end)

    it("pattern: the common ECMA subset, searched as ECMA does", function()
      local function matches(p, s)
        local c = assert(schema.compile({ type = "string", pattern = p }))
        assert.are.same({}, c.unchecked, p)
        return (schema.validate(c, s))
      end
      assert.is_true(matches("^[a-z0-9-]+$", "my-tool-2"))
      assert.is_false(matches("^[a-z0-9-]+$", "My"))
      assert.is_true(matches("\\d{3}", "ab123"))     -- unanchored: a search
      assert.is_false(matches("\\d{3}", "ab12"))
      assert.is_true(matches("^\\d{4}-\\d{2}-\\d{2}$", "2024-01-31"))
      assert.is_false(matches("^\\d{4}-\\d{2}-\\d{2}$", "2024-1-31"))
      assert.is_true(matches("^(https?|ftp)://", "ftp://x"))
      assert.is_true(matches("^(https?|ftp)://", "http://x"))
      assert.is_false(matches("^(https?|ftp)://", "file://x"))
      assert.is_true(matches("^[A-Z]{2,3}$", "ABC"))
      assert.is_false(matches("^[A-Z]{2,3}$", "ABCD"))
      assert.is_true(matches("^.{1,5}$", "日本語"))      -- "." is a character
      assert.is_false(matches("^.{1,2}$", "日本語"))
      assert.is_true(matches("^[^/]+$", "día"))
      assert.is_false(matches("^[^/]+$", "a/b"))
      assert.is_true(matches("^[\\w.%+-]+@[\\w.-]+\\.[a-zA-Z]{2,}$", "a.b+c@ex-ample.org"))
      assert.is_false(matches("^[\\w.%+-]+@[\\w.-]+\\.[a-zA-Z]{2,}$", "a@b"))
      assert.is_true(matches("^(?:v\\d+)(\\.\\d+)?$", "v12.3"))
      assert.is_false(matches("^(?:v\\d+)(\\.\\d+)?$", "v12."))
      assert.is_true(matches("^a|b$", "ax"))
      assert.is_true(matches("^a|b$", "xb"))
      assert.is_false(matches("^a|b$", "xa"))
      assert.is_true(matches("^[\\]\\[%^-]+$", "]^-["))
      assert.is_true(matches("^\\u00e9$", "é"))
      assert.is_true(matches("^[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}$",
        "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"))
      assert.is_false(matches("^[a-f0-9]{8}(-[a-f0-9]{4}){3}-[a-f0-9]{12}$",
        "0a1b2c3d-aaaa-bbbb-0123456789ab"))
      assert.is_true(matches("^\\s*$", " \t"))
      assert.is_true(matches("^x{0,200}$", string.rep("x", 150)))
      assert.is_false(matches("^x{0,20}$", string.rep("x", 21)))
      -- beyond Lua patterns: the backtracking matcher
      assert.is_true(matches("^[a-z0-9]+(?:-[a-z0-9]+)*$", "my-slug-2"))
      assert.is_false(matches("^[a-z0-9]+(?:-[a-z0-9]+)*$", "my--slug"))
      assert.is_false(matches("^[a-z0-9]+(?:-[a-z0-9]+)*$", "slug-"))
      assert.is_true(matches("^(ab)+$", "ababab"))
      assert.is_false(matches("^(ab)+$", "aba"))
      assert.is_true(matches("^(\\d+\\.){3}\\d+$", "10.0.0.1"))
      assert.is_true(matches("^([^,]{1,40},)*[^,]{1,40}$", "día,b"))
      assert.is_false(matches("^(x|y)*z$", "xyxyq"))
      assert.is_true(matches("^\\w([a-c]{0,12}){2}$", "a")) -- empty rounds up to the minimum
      assert.is_true(matches("^(a?){3}b$", "ab"))
      -- catastrophic backtracking is cut short (and the string passes), not hung on
      assert.is_true(matches("^(a+)+$", string.rep("a", 40) .. "b"))
      assert.is_true(matches("^x{0,20}$", string.rep("x", 20)))
    end)

    it("format: light checks of date-time, date, time, email, uri, uuid, ipv4", function()
      local cases = {
        ["date-time"] = { { "2024-02-29T23:59:60.123+05:30", "2024-01-01T00:00:00Z" },
                          { "2023-02-29T00:00:00Z", "2024-01-01 00:00:00", "2024-01-01T25:00:00Z" } },
        date = { { "2024-12-31" }, { "2024-13-01", "24-01-01" } },
        time = { { "12:30:00Z" }, { "12:30" } },
        email = { { "a.b@example.com" }, { "no-at", "a@b@c", "a b@c.d" } },
        uri = { { "https://example.com/x?y=1", "urn:isbn:123" }, { "/relative", "has space:x y" } },
        uuid = { { "123e4567-e89b-12d3-a456-426614174000" }, { "123e4567e89b12d3a456426614174000" } },
        ipv4 = { { "192.168.0.1" }, { "256.1.1.1", "1.2.3", "01.2.3.4" } },
      }
      for name, case in pairs(cases) do
        local c = assert(schema.compile({ type = "string", format = name }))
        for _, s in ipairs(case[1]) do valid(c, s) end
        for _, s in ipairs(case[2]) do
          assert.are.same({ ("$: string %s is not a valid %s"):format(json.encode(s), name) }, invalid(c, s))
        end
      end
      valid(compile('{"format":"no-such-format"}'), "anything") -- an annotation
      valid(compile('{"format":"email"}'), 5)                    -- formats apply to strings
    end)

    it("anyOf, oneOf, allOf, not: the branch that got furthest is reported", function()
      local c = compile([[{"anyOf":[{"type":"string"},
        {"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}]}]])
      valid(c, "x")
      valid(c, { n = 1 })
      assert.are.same({
        "$.n: expected integer, got string (anyOf[1])",
        "$: value matches none of the 2 anyOf schemas",
      }, invalid(c, { n = "1" }))
      c = compile('{"oneOf":[{"type":"integer"},{"minimum":0}]}')
      valid(c, -1)
      valid(c, 0.5)
      assert.are.same({ "$: value matches oneOf schemas 0 and 1, expected exactly one" }, invalid(c, 3))
      c = compile('{"allOf":[{"minLength":2},{"pattern":"^a"}]}')
      valid(c, "ab")
      assert.are.same({
        "$: string is 1 characters, fewer than minLength 2",
        "$: string \"b\" does not match pattern '^a'",
      }, invalid(c, "b"))
      c = compile('{"not":{"type":"null"}}')
      valid(c, 0)
      assert.are.same({ "$: value must not match the 'not' schema" }, invalid(c, cjson.null))
    end)

    it("$ref: $defs, definitions, recursion", function()
      local c = compile([[{"$ref":"#/$defs/node","$defs":{"node":{"type":"object",
        "properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
        "required":["value"]}}}]])
      valid(c, cj('{"value":1,"children":[{"value":2,"children":[{"value":3}]}]}'))
      assert.are.same({ "$.children[0].children[0].value: expected integer, got string" },
        invalid(c, cj('{"value":1,"children":[{"value":2,"children":[{"value":"3"}]}]}')))
      c = compile([[{"type":"object","properties":{"next":{"$ref":"#"},"v":{"$ref":"#/definitions/pos"}},
        "definitions":{"pos":{"type":"number","minimum":0}}}]])
      valid(c, { v = 1, next = { v = 2, next = { v = 0 } } })
      assert.are.same({ "$.next.next.v: -1 is less than minimum 0" },
        invalid(c, { next = { next = { v = -1 } } }))
      -- a very deep value: bounded, not a crash
      local deep = {}
      local cur = deep
      for _ = 1, 400 do
        cur.next = {}
        cur = cur.next
      end
      local ok, errs = schema.validate(c, deep)
      assert.is_false(ok)
      assert.matches("$ref nested more than 300 deep", errs[1].message, 1, true)
    end)

    it("collects at most 10 errors (or max_errors), deepest first", function()
      local c = compile('{"type":"array","items":{"type":"string"}}')
      local ok, errs = schema.validate(c, { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 })
      assert.is_false(ok)
      assert.are.equal(10, #errs)
      assert.are.equal("$[0]", errs[1].path)
      local _, two = schema.validate(c, { 1, 2, 3 }, 2)
      assert.are.equal(2, #two)
    end)

    it("reads {} as an empty object unless the schema takes arrays and not objects", function()
      -- lua-cjson decodes {} and [] to the same empty table
      local empty = cj("[]")
      assert.are.same(cj("{}"), empty)
      valid(compile('{"type":"object"}'), empty)
      valid(compile('{"type":"array"}'), empty)
      valid(compile('{"type":["array","null"],"maxItems":0}'), empty)
      assert.are.same({ "$: array has 0 items, fewer than minItems 1" },
        invalid(compile('{"type":"array","minItems":1}'), empty))
      assert.are.same({ "$: missing required property 'a'" },
        invalid(compile('{"required":["a"],"minItems":1}'), empty)) -- untyped: an object
      -- util.json keeps the difference
      assert.are.same({ "$: expected object, got array" },
        invalid(compile('{"type":"object"}'), json.decode("[]")))
      assert.are.same({ "$: expected array, got object" },
        invalid(compile('{"type":"array"}'), json.decode("{}")))
      -- for enum and const an empty table equals both
      valid(compile('{"const":[]}'), empty)
      valid(compile('{"const":{}}'), empty)
      valid(compile('{"enum":[[]]}'), json.array {})
      assert.are.same({ "$: expected [] (const), got {}" }, invalid(compile('{"const":[]}'), json.object()))
    end)

    it("validates with no allocation on the success path", function()
      local c = schema.compile(catalogue.by_name.get_content.inputSchema)
      local args = { url = "http://x/", depth = 2, session = true, max_bytes = 10, timeout_seconds = 5 }
      for _ = 1, 100 do schema.validate(c, args) end
      collectgarbage("collect")
      collectgarbage("stop")
      local before = collectgarbage("count")
      for _ = 1, 10000 do schema.validate(c, args) end
      local grown = collectgarbage("count") - before
      collectgarbage("restart")
      assert.is_true(grown < 16, ("%.1f KiB allocated"):format(grown))
    end)
  end)

  describe("generate", function()
    -- ~30 schemas: the twin's catalogue, the SDK peer's tools (test/peers/sdk-server.js),
    -- shapes of well-known MCP servers' tools and output schemas, and the
    -- keywords one by one.
    local CORPUS = {
      sdk_echo = [[{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}]],
      sdk_json = [[{"type":"object","properties":{"value":{}}}]],
      sdk_progress = [[{"type":"object","properties":{"steps":{"type":"integer"}}}]],
      sdk_args = [[{"type":"object"}]],
      fs_edit_file = [[{"type":"object","properties":{
        "path":{"type":"string"},
        "edits":{"type":"array","items":{"type":"object","properties":{
          "oldText":{"type":"string","description":"Text to search for"},
          "newText":{"type":"string"}},"required":["oldText","newText"],"additionalProperties":false}},
        "dryRun":{"type":"boolean","default":false}},
        "required":["path","edits"],"additionalProperties":false,
        "$schema":"http://json-schema.org/draft-07/schema#"}]],
      github_create_issue = [[{"type":"object","properties":{
        "owner":{"type":"string","pattern":"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"},
        "repo":{"type":"string","pattern":"^[\\w.-]+$"},
        "title":{"type":"string","minLength":1,"maxLength":256},
        "body":{"type":"string"},
        "labels":{"type":"array","items":{"type":"string"},"uniqueItems":true},
        "assignees":{"type":"array","items":{"type":"string"},"maxItems":10},
        "milestone":{"type":["integer","null"],"minimum":1}},
        "required":["owner","repo","title"]}]],
      weather_output = [[{"type":"object","properties":{
        "temperature":{"type":"number","minimum":-90,"maximum":60},
        "conditions":{"type":"string","enum":["sunny","cloudy","rain","snow"]},
        "humidity":{"type":"number","minimum":0,"maximum":100},
        "observed_at":{"type":"string","format":"date-time"}},
        "required":["temperature","conditions","humidity"]}]],
      browser_navigate = [[{"type":"object","properties":{
        "url":{"type":"string","format":"uri"},
        "waitUntil":{"type":"string","enum":["load","domcontentloaded","networkidle"],"default":"load"},
        "timeout":{"type":"integer","exclusiveMinimum":0,"maximum":120000}},"required":["url"]}]],
      db_query = [[{"type":"object","properties":{
        "sql":{"type":"string","minLength":1},
        "params":{"type":"array","items":{"type":["string","number","boolean","null"]}},
        "limit":{"type":"integer","minimum":1,"maximum":1000,"multipleOf":10}},"required":["sql"]}]],
      tree = [[{"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{
        "name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
        "required":["name"]}}}]],
      linked_list = [[{"definitions":{"list":{"anyOf":[{"type":"null"},
        {"type":"object","properties":{"head":{"type":"integer"},"tail":{"$ref":"#/definitions/list"}},
         "required":["head","tail"]}]}},"$ref":"#/definitions/list"}]],
      union_oneof = [[{"oneOf":[
        {"type":"object","properties":{"kind":{"const":"circle"},"r":{"type":"number","exclusiveMinimum":0}},
         "required":["kind","r"]},
        {"type":"object","properties":{"kind":{"const":"rect"},"w":{"type":"number"},"h":{"type":"number"}},
         "required":["kind","w","h"]}]}]],
      all_of = [[{"allOf":[
        {"type":"object","properties":{"id":{"type":"string","format":"uuid"}},"required":["id"]},
        {"properties":{"score":{"type":"integer","minimum":0,"maximum":5}},"required":["score"]},
        {"properties":{"id":{"minLength":36}}}]}]],
      not_schema = [[{"type":"integer","minimum":0,"maximum":20,"not":{"multipleOf":3}}]],
      pattern_props = [[{"type":"object","patternProperties":{"^x-[a-z]{2,8}$":{"type":"string"},
        "^[0-9]{1,3}$":{"type":"integer"}},"additionalProperties":false,"minProperties":1}]],
      tuple = [[{"type":"array","prefixItems":[{"type":"string","format":"date"},{"type":"number"},
        {"enum":["a","b"]}],"items":false,"minItems":2}]],
      tuple_draft07 = [[{"type":"array","items":[{"type":"integer"},{"type":"string"}],
        "additionalItems":{"type":"boolean"}}]],
      unique_small = [[{"type":"array","items":{"enum":[1,2,3,4]},"uniqueItems":true,"minItems":3,
        "maxItems":4}]],
      unique_default = [[{"type":"array","items":{"type":"string","default":"x"},"uniqueItems":true,
        "minItems":2}]],
      formats = [[{"type":"object","properties":{
        "a":{"type":"string","format":"date-time"},"b":{"type":"string","format":"date"},
        "c":{"type":"string","format":"email"},"d":{"type":"string","format":"uri"},
        "e":{"type":"string","format":"uuid"},"f":{"type":"string","format":"ipv4"}},
        "required":["a","b","c","d","e","f"]}]],
      patterns = [[{"type":"object","properties":{
        "date":{"type":"string","pattern":"^\\d{4}-\\d{2}-\\d{2}$"},
        "slug":{"type":"string","pattern":"^[a-z0-9]+(?:-[a-z0-9]+)*$"},
        "ver":{"type":"string","pattern":"^v(0|[1-9]\\d*)\\.(0|[1-9]\\d*)$"},
        "hex":{"type":"string","pattern":"^#?[0-9a-fA-F]{6}$","minLength":6,"maxLength":7},
        "any":{"type":"string","pattern":"^.{3,10}$"}},
        "required":["date","slug","ver","hex","any"]}]],
      numbers = [[{"type":"object","properties":{
        "price":{"type":"number","minimum":0,"exclusiveMaximum":100,"multipleOf":0.01},
        "ratio":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},
        "old":{"type":"number","minimum":5,"exclusiveMinimum":true,"maximum":6,"exclusiveMaximum":true},
        "neg":{"type":"integer","maximum":-5},
        "even":{"type":"integer","multipleOf":2,"minimum":-7,"maximum":7}},
        "required":["price","ratio","old","neg","even"]}]],
      nullable = [[{"type":"object","properties":{"note":{"type":"string","nullable":true},
        "n":{"type":["integer","null"]}},"required":["note","n"]}]],
      strings = [[{"type":"object","properties":{
        "short":{"type":"string","maxLength":2},"exact":{"type":"string","minLength":5,"maxLength":5},
        "long":{"type":"string","minLength":40}},"required":["short","exact","long"]}]],
      defaults_examples = [[{"type":"object","properties":{
        "mode":{"type":"string","default":"fast"},"n":{"type":"integer","examples":[7,8]},
        "bad_default":{"type":"integer","default":"x"}},"required":["mode","n","bad_default"]}]],
      const_bool = [[{"type":"object","properties":{"jsonrpc":{"const":"2.0"},"flag":{"type":"boolean"},
        "t":true},"required":["jsonrpc","flag","t"]}]],
      map_like = [[{"type":"object","additionalProperties":{"type":"integer","minimum":0},
        "maxProperties":2}]],
      dependent = [[{"type":"object","properties":{"card":{"type":"string"},"cvv":{"type":"string",
        "pattern":"^[0-9]{3}$"}},"dependentRequired":{"card":["cvv"]},"required":["card"]}]],
      contains = [[{"type":"array","items":{"type":["integer","string"]},"contains":{"type":"string",
        "const":"needle"},"maxItems":5}]],
      untyped = [[{"properties":{"q":{"minLength":1},"k":{"minimum":3}},"required":["q","k"]}]],
    }
    local names = {}
    for name in pairs(CORPUS) do names[#names + 1] = name end
    table.sort(names)

    local compiled = {}
    for _, name in ipairs(names) do
      compiled[name] = assert(schema.compile(assert(json.decode(CORPUS[name]))))
    end
    for _, tool in ipairs(catalogue.tools) do
      names[#names + 1] = "twin_" .. tool.name
      compiled["twin_" .. tool.name] = assert(schema.compile(tool.inputSchema))
    end

    it("makes 200 valid values for each of " .. #names .. " schemas, from different rng streams", function()
      assert.is_true(#names >= 30)
      for _, name in ipairs(names) do
        local c = compiled[name]
        assert.are.same({}, c.unchecked, name)
        for stream = 1, 200 do
          local opts = stream % 2 == 0 and { defaults = false, unicode = stream % 4 == 0 } or nil
          local v, why = schema.generate(c, rng.new(7, stream), opts)
          assert(v ~= nil, name .. ": " .. tostring(why))
          local ok, errs = schema.validate(c, v)
          assert(ok, name .. ": " .. json.encode(v) .. ": "
            .. (errs and errs[1].path .. " " .. errs[1].message or ""))
          -- what sim.mcp sends: lua-cjson's text, decoded again, still valid
          assert.is_true((schema.validate(c, cjson.decode(cjson.encode(v)))), name)
        end
      end
    end)

    it("is deterministic for an rng stream, and varies across streams", function()
      for _, name in ipairs(names) do
        local a = json.encode(schema.generate(compiled[name], rng.new(42, 3), { defaults = false }), "sorted")
        local b = json.encode(schema.generate(compiled[name], rng.new(42, 3), { defaults = false }), "sorted")
        assert.are.equal(a, b, name)
      end
      local seen = {}
      for stream = 1, 20 do
        seen[json.encode(schema.generate(compiled.github_create_issue, rng.new(1, stream)), "sorted")] = true
      end
      local distinct = 0
      for _ in pairs(seen) do distinct = distinct + 1 end
      assert.is_true(distinct > 15)
    end)

    it("prefers default, then examples[1], then const / enum, each only when valid", function()
      local v = assert(schema.generate(compiled.defaults_examples, rng.new(1)))
      assert.are.equal("fast", v.mode)
      assert.are.equal(7, v.n)
      assert.are.equal("number", type(v.bad_default)) -- the default "x" is not an integer
      v = assert(schema.generate(compiled.defaults_examples, rng.new(1), { defaults = false }))
      assert.are_not.equal("fast", v.mode)
      v = assert(schema.generate(compiled.browser_navigate, rng.new(1), { optional = 1 }))
      assert.are.equal("load", v.waitUntil)
      assert.are.equal("2.0", assert(schema.generate(compiled.const_bool, rng.new(3))).jsonrpc)
      local c = assert(schema.compile({ enum = { "a", 5, "b" }, type = "string" }))
      for s = 1, 20 do assert.are_not.equal(5, schema.generate(c, rng.new(s))) end
    end)

    it("includes optional properties with probability opts.optional", function()
      local c = compiled.twin_get_content
      local function count(p)
        local n = 0
        for s = 1, 50 do
          local v = schema.generate(c, rng.new(s), { optional = p })
          for _ in pairs(v) do n = n + 1 end
        end
        return n
      end
      assert.are.equal(50, count(0))        -- url alone
      assert.are.equal(50 * 15, count(1))   -- every property
      local half = count(0.5)
      assert.is_true(half > 50 * 5 and half < 50 * 11, tostring(half))
    end)

    it("bounds recursion: the depth bound ends trees and lists", function()
      local function depth_of(v, d)
        d = d or 0
        if type(v) ~= "table" then return d end
        local m = d
        for _, x in pairs(v) do m = math.max(m, depth_of(x, d + 1)) end
        return m
      end
      for s = 1, 100 do
        local opts = { optional = 1, max_depth = 4, defaults = false }
        local t = assert(schema.generate(compiled.tree, rng.new(s), opts))
        assert.is_true(depth_of(t) <= 2 * 4 + 1)
        local l = assert(schema.generate(compiled.linked_list, rng.new(s), opts))
        assert.is_true(depth_of(l) <= 4 + 2)
      end
      -- no finite value at all: a reason, not a hang or a stack overflow
      local c = compile('{"type":"object","properties":{"next":{"$ref":"#"}},"required":["next"]}')
      local v, why = schema.generate(c, rng.new(1))
      assert.is_nil(v)
      assert.matches("recursion bound reached", why, 1, true)
    end)

    it("returns nil and the reason for a contradictory schema", function()
      local function reason(text)
        local v, why = schema.generate(compile(text), rng.new(1))
        assert.is_nil(v)
        return why
      end
      assert.are.equal("no integer between 5 and 3", reason('{"type":"integer","minimum":5,"maximum":3}'))
      assert.are.equal("minLength 5 is above maxLength 2",
        reason('{"type":"string","minLength":5,"maxLength":2}'))
      assert.are.equal("the schema allows no value (false)", reason("false"))
      assert.are.equal("no JSON type satisfies every schema",
        reason('{"allOf":[{"type":"string"},{"type":"integer"}]}'))
      assert.are.equal("no const or enum value is valid against every schema",
        reason('{"enum":["a","b"],"type":"integer"}'))
      assert.are.equal("required property 'b' is not allowed",
        reason('{"type":"object","required":["b"],"additionalProperties":false}'))
      assert.are.equal("property 'n': no multiple of 7 between 1 and 6",
        reason('{"type":"object","properties":{"n":{"type":"integer","multipleOf":7,"minimum":1,'
          .. '"maximum":6}},'
          .. '"required":["n"]}'))
      assert.are.equal("minItems 3 is above maxItems 1", reason('{"type":"array","minItems":3,"maxItems":1}'))
    end)

    it("makes arrays json.array tables, non-empty unless maxItems is 0, and null cjson.null", function()
      local c = compile('{"type":"object","properties":{"a":{"type":"array"},'
        .. '"z":{"type":"array","maxItems":0},'
        .. '"n":{"type":"null"}},"required":["a","z","n"]}')
      for s = 1, 20 do
        local v = assert(schema.generate(c, rng.new(s)))
        assert.is_true(json.is_array(v.a) and #v.a >= 1)
        assert.is_true(json.is_array(v.z) and #v.z == 0)
        assert.are.equal(cjson.null, v.n)
        assert.matches('"z":[]', json.encode(v), 1, true)
      end
    end)

    it("generates text for patterns it cannot check, and strings of the requested characters", function()
      local c = compile('{"type":"string","pattern":"^(?=.*[0-9])[a-z]{4,8}$"}')
      assert.are.equal(1, #c.unchecked)
      for s = 1, 20 do
        local v = schema.generate(c, rng.new(s))
        assert.is_true(#v >= 4 and #v <= 8 and not v:find("[^a-z]"), v)
      end
      c = compile('{"type":"string","minLength":3,"maxLength":4}')
      local wide = false
      for s = 1, 50 do
        local v = schema.generate(c, rng.new(s), { unicode = true })
        if v:find("[\128-\255]") then wide = true end
        local n = require("gofr_sim.util.utf8").char_count(v)
        assert.is_true(n >= 3 and n <= 4)
      end
      assert.is_true(wide)
    end)

    it("refuses bad arguments", function()
      assert.has_error(function() schema.generate({}, rng.new(1)) end,
        "json_schema.generate: expected a compiled schema (schema.compile's result)")
      assert.has_error(function() schema.generate(compiled.sdk_echo, nil) end,
        "json_schema.generate: expected an rng (sim.rng.new(seed, stream)), got nil")
      assert.has_error(function() schema.generate(compiled.sdk_echo, rng.new(1), { optinal = 1 }) end,
        "json_schema.generate: unknown option 'optinal' "
          .. "(accepted: defaults, max_depth, max_extra, optional, unicode)")
      assert.has_error(function() schema.validate(nil, 1) end,
        "json_schema.validate: expected a compiled schema (schema.compile's result)")
    end)
  end)
end)
