--- gofr_sim.engine.json_schema: JSON Schema for MCP tool schemas
-- (inputSchema / outputSchema): compile once, validate results cheaply,
-- generate valid arguments.
--
--   local schema = require "gofr_sim.engine.json_schema"
--   local c = assert(schema.compile(tool.inputSchema))  -- or nil, "properties.age.type: ..."
--   local args = assert(schema.generate(c, sim.rng.new(seed, stream), { optional = 0.5 }))
--   local ok, errs = schema.validate(c, result.structuredContent)
--   -- errs: { { path = "$.items[2].id", message = "expected integer, got string" }, ... }
--   c.unchecked  -- what compile could not check: { "properties.x.pattern '(?=a)': ... not checked" }
--
-- Dialect: 2020-12 as MCP uses it, with draft-04/06/07 forms accepted:
-- type (a name or an array; "integer" is a number with no fraction, 1.0
-- included), properties, required, additionalProperties (boolean or
-- schema), patternProperties, propertyNames, minProperties/maxProperties,
-- dependentRequired (and draft-07 dependencies given as arrays), items
-- (a schema; or draft-07's array form with additionalItems), prefixItems,
-- minItems/maxItems, uniqueItems, contains/minContains/maxContains, enum,
-- const, minimum/maximum, exclusiveMinimum/exclusiveMaximum (numbers, or
-- draft-04 booleans), multipleOf, minLength/maxLength (characters: code
-- points of the UTF-8 text), pattern, format (date-time, date, time,
-- email, uri, uuid, ipv4: light checks; other formats are annotations),
-- anyOf/oneOf/allOf/not, $ref to a local JSON pointer ("#", "#/$defs/x",
-- "#/definitions/x", any "#/..."; recursion handled; a cycle of $refs that
-- never descends into a property or item is a compile error), $defs and
-- definitions, default, examples (and OpenAPI's example), nullable
-- (OpenAPI: null is accepted too), boolean schemas true and false. $ref
-- applies alongside its sibling keywords (2020-12), also in older drafts.
-- Annotations (title, description, $schema, $id, $comment, readOnly, ...)
-- are ignored. Not supported, and listed in compiled.unchecked when a
-- schema uses them: if/then/else, dependentSchemas (and dependencies given
-- as schemas), unevaluatedProperties/unevaluatedItems, $dynamicRef,
-- $recursiveRef; a $ref to another document is a compile error.
--
-- Patterns (pattern, patternProperties) are ECMA-262 regular expressions,
-- translated at compile time into Lua patterns: literals, escapes (\d \w
-- \s \D \W \S \n \t \xHH \uHHHH ...), classes [...] and [^...], ".", ^ and
-- $, groups (?:...) and (...) and (?<name>...), alternation |, and the
-- quantifiers * + ? {n} {n,} {n,m} (lazy ones too) on a single character;
-- a group, an alternation or a multi-byte character under a bounded
-- quantifier is expanded into alternatives. What Lua patterns cannot say
-- (a group under + or *, a wide {n,m} between other items, too many
-- alternatives) is matched by a small backtracking matcher over the parsed
-- pattern instead, bounded to 20000 steps and 4000-byte strings (beyond
-- them the string passes). Lookaround, back-references, \b, \p{...} and
-- classes holding non-ASCII characters are not supported: such a pattern
-- is not checked (every string passes it) and compiled.unchecked says so, and a
-- patternProperties pattern that is not checked leaves the keys it might
-- match unchecked by additionalProperties too. ".", [^...], \D, \W and \S
-- match one character of UTF-8 text, as in ECMA (each multi-byte
-- character is read as one when the pattern has those); characters beyond
-- U+FFFF count as one (ECMA counts two UTF-16 units). Generation works
-- from the parsed pattern, so even unchecked patterns give matching text.
--
-- Values are what lua-cjson or gofr_sim.util.json decode: strings,
-- numbers, booleans, cjson.null or json.null; json.object / json.array
-- tables; util.json's exact-integer texts and json.float values (numbers).
-- A plain table with t[1] ~= nil is an array, any other plain table an
-- object (util.json's rule). lua-cjson decodes both {} and [] to the same
-- empty plain table, so an EMPTY PLAIN TABLE is an empty array where the
-- schema's type accepts arrays and not objects, and an empty object
-- otherwise (a json.array {} is always an array, a json.object() always
-- an object); for enum and const it equals both [] and {}.
--
-- validate: the first run stops at the first failure and builds no
-- strings; only a failing value is run again to collect up to 10 errors
-- (max_errors), sorted deepest path first (the most specific one first).
-- Paths are JSONPath: "$", "$.name", "$.list[0]" (0-based), "$['a b']".
--
-- generate(compiled, rng, opts) -> value | nil, reason. Deterministic for
-- an rng stream (sim.rng: only rng:float() and rng:int(lo, hi) are used).
-- It prefers default, then examples[1], then const / enum (each only when
-- valid), else synthesises within bounds. opts:
--   optional   probability of including an optional property (0.5)
--   max_depth  nesting depth after which objects get only their required
--              properties, arrays their minItems, and anyOf/oneOf prefer
--              non-container branches (6)
--   defaults   false: ignore default/examples, always synthesise (true)
--   unicode    include non-ASCII characters in synthesised strings (false)
--   max_extra  items beyond minItems an array may get (3)
-- Objects are plain tables, arrays json.array tables (util.json writes an
-- empty one as []; lua-cjson writes every empty table as {}, so arrays are
-- made non-empty unless maxItems is 0 or the depth bound is reached), null
-- is cjson.null. Every value is checked with validate's rules before it is
-- returned; a contradictory schema gives nil and the reason.
local json = require "gofr_sim.util.json"
local utf8 = require "gofr_sim.util.utf8"
local cjson = require "cjson"

local type, pairs, ipairs, next, tostring, tonumber, error, pcall, select =
  type, pairs, ipairs, next, tostring, tonumber, error, pcall, select
local getmetatable = getmetatable
local concat, sort = table.concat, table.sort
local floor, ceil, huge, abs, min, max = math.floor, math.ceil, math.huge, math.abs, math.min, math.max
local byte, char, sub, find, format, gsub, rep, match =
  string.byte, string.char, string.sub, string.find, string.format, string.gsub, string.rep, string.match

local M = {}

M.MAX_ERRORS = 10

local NULL, CJSON_NULL = json.null, cjson.null
local OBJ_MT = getmetatable(json.object())
local ARR_MT = getmetatable(json.array())
local FLOAT_MT = getmetatable(json.float(1))
local INT_MT = getmetatable(json.decode("123456789012345678901234567890"))
local CJSON_ARR_MT = cjson.array_mt -- lua-cjson 2.1.0.x (OpenResty) only

------------------------------------------------------------------------------
-- Values
------------------------------------------------------------------------------

-- "string" | "number" | "boolean" | "null" | "object" | "array" | "empty"
-- (an empty plain table) | "invalid".
local function kind(v)
  local t = type(v)
  if t == "string" or t == "number" or t == "boolean" then return t end
  if v == CJSON_NULL or v == NULL then return "null" end
  if t ~= "table" then return "invalid" end
  local mt = getmetatable(v)
  if mt == nil then
    if v[1] ~= nil then return "array" end
    if next(v) == nil then return "empty" end
    return "object"
  end
  if mt == OBJ_MT then return "object" end
  if mt == ARR_MT or (CJSON_ARR_MT and mt == CJSON_ARR_MT) then return "array" end
  if mt == FLOAT_MT or mt == INT_MT then return "number" end
  if v[1] ~= nil then return "array" end
  return next(v) == nil and "empty" or "object"
end

-- The number a "number" value stands for.
local function numval(v)
  if type(v) == "number" then return v end
  if getmetatable(v) == FLOAT_MT then return v[1] end
  return tonumber(v[1])
end

local function is_integral(v)
  if type(v) ~= "number" then return getmetatable(v) == INT_MT or is_integral(v[1]) end
  return v % 1 == 0 and v - v == 0
end

local function arr_len(v)
  return getmetatable(v) == ARR_MT and v.n or #v
end

local function item(v, i)
  local x = v[i]
  if x == nil then return NULL end
  return x
end

local equal
local function obj_equal(a, b)
  local n = 0
  for k, x in next, a do
    if type(k) ~= "table" then
      n = n + 1
      local y = b[k]
      if y == nil or not equal(x, y) then return false end
    end
  end
  for k in next, b do
    if type(k) ~= "table" then n = n - 1 end
  end
  return n == 0
end

-- JSON equality (1 == 1.0, both nulls, {} equal to [] and {}).
equal = function(a, b)
  local ka, kb = kind(a), kind(b)
  if ka == "empty" or kb == "empty" then
    if ka == "empty" then ka, a, b = kb, b, a end
    if ka == "empty" then return true end
    if ka == "array" then return arr_len(a) == 0 end
    if ka == "object" then return obj_equal(a, b) end
    return false
  end
  if ka ~= kb then return false end
  if ka == "null" then return true end
  if ka == "number" then return numval(a) == numval(b) end
  if ka == "array" then
    local n = arr_len(a)
    if arr_len(b) ~= n then return false end
    for i = 1, n do
      if not equal(item(a, i), item(b, i)) then return false end
    end
    return true
  end
  if ka == "object" then return obj_equal(a, b) end
  return a == b
end

local function num_text(x)
  if x % 1 == 0 and abs(x) < 1e15 then return format("%d", x) end
  local s = format("%.15g", x)
  if tonumber(s) ~= x then s = format("%.17g", x) end
  return s
end

-- A short text of a value for messages.
local function short(v)
  local k = kind(v)
  if k == "number" then return num_text(numval(v)) end
  local ok, s = pcall(json.encode, v)
  if not ok then return k end
  if #s > 60 then s = sub(s, 1, 57) .. "..." end
  return s
end

local function kind_name(v)
  local k = kind(v)
  if k == "number" then return is_integral(v) and "integer" or "number" end
  if k == "empty" then return "empty table" end
  return k
end

------------------------------------------------------------------------------
-- Regular expressions: the ECMA-262 subset, parsed into a tree that is
-- translated into Lua patterns (checking) and walked to make matching text
-- (generation).
------------------------------------------------------------------------------

local function bm_of(...)
  local bm = {}
  for i = 1, select("#", ...), 2 do
    local lo, hi = select(i, ...)
    for b = lo, hi do bm[b] = true end
  end
  return bm
end

local function bm_invert(bm)
  local o = {}
  for b = 0, 255 do
    if not bm[b] then o[b] = true end
  end
  return o
end

local CLASS = {
  d = bm_of(48, 57),
  w = bm_of(48, 57, 65, 90, 97, 122, 95, 95),
  s = bm_of(9, 13, 32, 32),
}
CLASS.D, CLASS.W, CLASS.S = bm_invert(CLASS.d), bm_invert(CLASS.w), bm_invert(CLASS.s)
local DOT = bm_invert(bm_of(10, 10, 13, 13))
local SIMPLE_ESCAPES = { n = 10, r = 13, t = 9, f = 12, v = 11 }

-- Raised inside the parser.
local function re_syntax(msg) error({ re_syntax = msg }, 0) end
local function re_unsup(msg) error({ re_unsup = msg }, 0) end

-- -> tree, unsupported (the first construct that cannot be translated) |
-- raises { re_syntax } | { re_unsup } (parsing cannot go on).
local function re_parse(src)
  local pos, n = 1, #src
  local unsup
  local function note(why)
    unsup = unsup or why
    return { t = "unsup" }
  end
  local function peek() return sub(src, pos, pos) end

  local function read_hex(count)
    local h = sub(src, pos, pos + count - 1)
    if #h == count and match(h, "^%x+$") then
      pos = pos + count
      return tonumber(h, 16)
    end
  end

  -- A character at pos (not an escape): its code point.
  local function read_char()
    local b = byte(src, pos)
    if b < 0x80 then
      pos = pos + 1
      return b
    end
    local cp, after = utf8.decode(src, pos)
    if not cp then re_syntax("invalid UTF-8") end
    pos = after
    return cp
  end

  -- After a backslash: "set", bitmap | "char", code point | "unsup", why.
  local function escape(in_class)
    if pos > n then re_syntax("\\ at end of pattern") end
    local c = sub(src, pos, pos)
    if byte(c) >= 0x80 then return "char", read_char() end
    pos = pos + 1
    if CLASS[c] then return "set", CLASS[c] end
    if SIMPLE_ESCAPES[c] then return "char", SIMPLE_ESCAPES[c] end
    if c == "b" then
      if in_class then return "char", 8 end
      return "unsup", "\\b (word boundary)"
    end
    if c == "B" then return "unsup", "\\B" end
    if c == "0" and not match(peek(), "%d") then return "char", 0 end
    if match(c, "%d") then return "unsup", "a back-reference" end
    if c == "x" then return "char", read_hex(2) or 120 end
    if c == "u" then
      if peek() == "{" then
        local hex, after = match(src, "^{(%x+)}()", pos)
        if not hex then return "char", 117 end
        pos = after
        local cp = tonumber(hex, 16)
        if cp > 0x10FFFF then re_syntax("\\u{...} out of range") end
        return "char", cp
      end
      local cp = read_hex(4)
      if not cp then return "char", 117 end
      if cp >= 0xD800 and cp <= 0xDBFF and sub(src, pos, pos + 1) == "\\u" then
        local save = pos
        pos = pos + 2
        local lo = read_hex(4)
        if lo and lo >= 0xDC00 and lo <= 0xDFFF then
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00)
        else
          pos = save
        end
      end
      if cp >= 0xD800 and cp <= 0xDFFF then return "unsup", "a lone surrogate" end
      return "char", cp
    end
    if c == "c" then return "unsup", "a \\c control escape" end
    if c == "p" or c == "P" then return "unsup", "a Unicode property escape \\" .. c end
    if c == "k" then return "unsup", "a named back-reference" end
    return "char", byte(c) -- identity escape
  end

  local function char_atom(cp)
    if cp < 0x80 then return { t = "set", bm = { [cp] = true } } end
    return { t = "lit", s = utf8.char(cp) }
  end

  local function class_item()
    if peek() == "\\" then
      pos = pos + 1
      return escape(true)
    end
    return "char", read_char()
  end

  local function class()
    local neg = false
    if peek() == "^" then
      neg = true
      pos = pos + 1
    end
    local bm, bad = {}, nil
    while true do
      if pos > n then re_syntax("missing ]") end
      if peek() == "]" then
        pos = pos + 1
        break
      end
      local k, v = class_item()
      if k == "char" and peek() == "-" and pos < n and sub(src, pos + 1, pos + 1) ~= "]" then
        pos = pos + 1
        local k2, v2 = class_item()
        if k2 == "char" then
          if v2 < v then re_syntax("range out of order in character class") end
          if v2 >= 0x80 then
            bad = "a non-ASCII character in a class"
          else
            for b = v, v2 do bm[b] = true end
          end
        else
          if v >= 0x80 then bad = "a non-ASCII character in a class" else bm[v] = true end
          bm[45] = true
          if k2 == "set" then
            for b in pairs(v2) do bm[b] = true end
          else
            bad = v2
          end
        end
      elseif k == "char" then
        if v >= 0x80 then bad = "a non-ASCII character in a class" else bm[v] = true end
      elseif k == "set" then
        for b in pairs(v) do bm[b] = true end
      else
        bad = v
      end
    end
    if bad then note(bad) end
    if neg then bm = bm_invert(bm) end
    return { t = "set", bm = bm }
  end

  local parse_alt

  local function atom()
    local c = peek()
    if c == "(" then
      pos = pos + 1
      local look = false
      if peek() == "?" then
        local d = sub(src, pos + 1, pos + 1)
        if d == ":" then
          pos = pos + 2
        elseif d == "=" or d == "!" then
          pos, look = pos + 2, "lookahead"
        elseif d == "<" and (sub(src, pos + 2, pos + 2) == "=" or sub(src, pos + 2, pos + 2) == "!") then
          pos, look = pos + 3, "lookbehind"
        elseif d == "<" then
          local close = find(src, ">", pos, true)
          if not close then re_syntax("unterminated group name") end
          pos = close + 1
        else
          re_unsup("the group (?" .. d)
        end
      end
      local inner = parse_alt()
      if peek() ~= ")" then re_syntax("missing )") end
      pos = pos + 1
      if look then return note(look) end
      return { t = "group", alt = inner }
    elseif c == "[" then
      pos = pos + 1
      return class()
    elseif c == "." then
      pos = pos + 1
      return { t = "set", bm = DOT }
    elseif c == "^" then
      pos = pos + 1
      return { t = "bol" }
    elseif c == "$" then
      pos = pos + 1
      return { t = "eol" }
    elseif c == "\\" then
      pos = pos + 1
      local k, v = escape(false)
      if k == "set" then return { t = "set", bm = v } end
      if k == "char" then return char_atom(v) end
      return note(v)
    elseif c == "*" or c == "+" or c == "?" or (c == "{" and match(src, "^{%d+,?%d*}", pos)) then
      re_syntax("nothing to repeat")
    end
    return char_atom(read_char())
  end

  local function quantifier()
    local c = peek()
    local lo, hi
    if c == "*" then
      lo, hi = 0, nil
    elseif c == "+" then
      lo, hi = 1, nil
    elseif c == "?" then
      lo, hi = 0, 1
    elseif c == "{" then
      local a, comma, b, after = match(src, "^{(%d+)(,?)(%d*)}()", pos)
      if not a then return nil end
      lo = tonumber(a)
      if comma == "" then hi = lo elseif b ~= "" then hi = tonumber(b) end
      if hi and hi < lo then re_syntax("numbers out of order in {} quantifier") end
      pos = after - 1
    else
      return nil
    end
    pos = pos + 1
    if peek() == "?" then pos = pos + 1 end -- lazy: the same strings match
    return lo, hi
  end

  local function seq()
    local items = {}
    while true do
      local c = peek()
      if c == "" or c == "|" or c == ")" then break end
      local a = atom()
      local lo, hi = quantifier()
      if lo then
        if a.t == "bol" or a.t == "eol" then re_syntax("nothing to repeat") end
        local c2 = peek()
        if c2 == "*" or c2 == "+" or c2 == "?" or (c2 == "{" and match(src, "^{%d+,?%d*}", pos)) then
          re_syntax("nothing to repeat")
        end
        a = { t = "rep", sub = a, min = lo, max = hi }
      end
      items[#items + 1] = a
    end
    return { t = "seq", items = items }
  end

  parse_alt = function()
    local alts = { seq() }
    while peek() == "|" do
      pos = pos + 1
      alts[#alts + 1] = seq()
    end
    return { t = "alt", alts = alts }
  end

  local tree = parse_alt()
  if pos <= n then re_syntax("unmatched )") end
  return tree, unsup
end

-- Lua pattern text of one byte.
local function esc_byte(b)
  if b == 0 then return "%z" end
  local c = char(b)
  if b >= 0x80 or match(c, "^%w$") then return c end
  return "%" .. c
end

-- Bytes that cannot be raw range ends in a Lua set.
local RANGE_UNSAFE = { [0] = true, [37] = true, [45] = true, [93] = true, [94] = true }

-- Lua pattern item of a bitmap (nil when it matches nothing).
local function set_pat(bm)
  local members = 0
  for _ in pairs(bm) do members = members + 1 end
  if members == 0 then return nil end
  if members == 1 then return esc_byte((next(bm))) end
  if members == 256 then return "." end
  local out, b = { "[" }, 0
  while b <= 255 do
    if bm[b] then
      local e = b
      while e < 255 and bm[e + 1] do e = e + 1 end
      local lo, hi = b, e
      while lo <= hi and (RANGE_UNSAFE[lo] or hi - lo < 3) do
        out[#out + 1] = esc_byte(lo)
        lo = lo + 1
      end
      while hi >= lo and RANGE_UNSAFE[hi] do
        out[#out + 1] = esc_byte(hi)
        hi = hi - 1
      end
      if lo < hi then
        out[#out + 1] = char(lo) .. "-" .. char(hi)
      elseif lo == hi then
        out[#out + 1] = esc_byte(lo)
      end
      b = e + 1
    else
      b = b + 1
    end
  end
  out[#out + 1] = "]"
  return concat(out)
end

local MAX_ALTERNATIVES = 64

local function product(a, b)
  local out = {}
  for _, x in ipairs(a) do
    for _, y in ipairs(b) do
      if #out >= MAX_ALTERNATIVES then re_unsup("too many alternatives") end
      local s = {}
      for i = 1, #x do s[i] = x[i] end
      for i = 1, #y do s[#x + i] = y[i] end
      out[#out + 1] = s
    end
  end
  return out
end

-- A tree -> its alternatives, each a flat array of units: { p = Lua item,
-- min, max } (one byte), { s = literal bytes }, { bol = true }, { eol = true }.
local function flatten_re(node, flags)
  local t = node.t
  if t == "alt" then
    local out = {}
    for _, a in ipairs(node.alts) do
      for _, s in ipairs(flatten_re(a, flags)) do
        if #out >= MAX_ALTERNATIVES then re_unsup("too many alternatives") end
        out[#out + 1] = s
      end
    end
    return out
  elseif t == "seq" then
    local out = { {} }
    for _, it in ipairs(node.items) do out = product(out, flatten_re(it, flags)) end
    return out
  elseif t == "group" then
    return flatten_re(node.alt, flags)
  elseif t == "set" then
    local p = set_pat(node.bm)
    if not p then re_unsup("an empty character class") end
    for b = 128, 255 do
      if node.bm[b] then
        flags.wide = true
        break
      end
    end
    return { { { p = p, min = 1, max = 1 } } }
  elseif t == "lit" then
    flags.literal8 = true
    return { { { s = node.s } } }
  elseif t == "bol" then
    return { { { bol = true } } }
  elseif t == "eol" then
    return { { { eol = true } } }
  elseif t == "rep" then
    local inner = node.sub
    if inner.t == "set" then
      local u = flatten_re(inner, flags)[1][1]
      return { { { p = u.p, min = node.min, max = node.max } } }
    end
    if node.max == nil then re_unsup("a quantified group without an upper bound") end
    if node.max > 6 then re_unsup("a quantified group repeated more than 6 times") end
    local one = flatten_re(inner, flags)
    local out = {}
    for count = node.min, node.max do
      local acc = { {} }
      for _ = 1, count do acc = product(acc, one) end
      for _, s in ipairs(acc) do
        if #out >= MAX_ALTERNATIVES then re_unsup("too many alternatives") end
        out[#out + 1] = s
      end
    end
    return out
  end
  re_unsup("an unsupported construct")
end

-- One flat alternative -> { pat, lmin, lmax } (lmin/lmax: a length check).
local function render(units)
  local i, j = 1, #units
  local bol, eol = false, false
  while units[i] and units[i].bol do bol, i = true, i + 1 end
  while j >= i and units[j].eol do eol, j = true, j - 1 end
  for k = i, j do
    if units[k].bol or units[k].eol then re_unsup("an anchor inside the pattern") end
  end
  if bol and eol then
    -- one run of a wide {n,m} among fixed units: "^...X*...$" and a length
    -- check (the whole string is matched, so its length decides the run's)
    local wide, fixed = nil, 0
    for k = i, j do
      local u = units[k]
      if u.s then
        fixed = fixed + 1
      elseif u.min == u.max then
        fixed = fixed + u.min
      elseif u.max == nil or u.max - u.min > 8 then
        if wide then
          wide = false
          break
        end
        wide = k
      else
        wide = false
        break
      end
    end
    if wide then
      local out = { "^" }
      for k = i, j do
        local u = units[k]
        if u.s then
          out[#out + 1] = u.s
        elseif k == wide then
          out[#out + 1] = u.p .. "*"
        else
          if u.min > 200 then re_unsup("a quantifier above 200") end
          out[#out + 1] = rep(u.p, u.min)
        end
      end
      out[#out + 1] = "$"
      local u = units[wide]
      return { pat = concat(out), lmin = fixed + u.min, lmax = u.max and fixed + u.max }
    end
  end
  local out, optional = {}, 0
  if bol then out[1] = "^" end
  for k = i, j do
    local u = units[k]
    if u.s then
      out[#out + 1] = u.s
    else
      local lo, hi = u.min, u.max
      if hi == nil or hi - lo > 8 then
        -- an optional tail at an open end never decides whether there is a match
        if (k == j and not eol) or (k == i and not bol) then
          hi = lo
        elseif hi ~= nil then
          re_unsup("a {n,m} range wider than 8 inside the pattern")
        end
      end
      if lo > 200 then re_unsup("a quantifier above 200") end
      out[#out + 1] = rep(u.p, lo)
      if hi == nil then
        out[#out + 1] = u.p .. "*"
      else
        optional = optional + (hi - lo)
        out[#out + 1] = rep(u.p .. "?", hi - lo)
      end
    end
  end
  if optional > 16 then re_unsup("too many optional characters") end
  if eol then out[#out + 1] = "$" end
  return { pat = concat(out) }
end

-- The fallback for what Lua patterns cannot say (a quantified group, a
-- wide range between other items, many alternatives): a backtracking
-- matcher over the tree, made of closures once, bounded in steps.
local BT_STEPS = 20000
local BT_MAX_LEN = 4000
local bt_steps = 0

local function bt_step()
  bt_steps = bt_steps + 1
  if bt_steps > BT_STEPS then error(BT_STEPS, 0) end
end

-- node -> function(s, i) that matches node at i, then k.
local function bt_build(node, k)
  local t = node.t
  if t == "seq" then
    local f = k
    for idx = #node.items, 1, -1 do f = bt_build(node.items[idx], f) end
    return f
  elseif t == "alt" then
    if #node.alts == 1 then return bt_build(node.alts[1], k) end
    local fs = {}
    for idx, a in ipairs(node.alts) do fs[idx] = bt_build(a, k) end
    return function(s, i)
      for idx = 1, #fs do
        if fs[idx](s, i) then return true end
      end
      return false
    end
  elseif t == "group" then
    return bt_build(node.alt, k)
  elseif t == "set" then
    local bm = node.bm
    return function(s, i)
      bt_step()
      local c = byte(s, i)
      return c ~= nil and bm[c] == true and k(s, i + 1)
    end
  elseif t == "lit" then
    local lit, len = node.s, #node.s
    return function(s, i)
      bt_step()
      return sub(s, i, i + len - 1) == lit and k(s, i + len)
    end
  elseif t == "bol" then
    return function(s, i) return i == 1 and k(s, i) end
  elseif t == "eol" then
    return function(s, i) return i == #s + 1 and k(s, i) end
  elseif t == "rep" then
    local lo, hi = node.min, node.max
    local count, last = 0, 0
    local loop
    local body = bt_build(node.sub, function(s, j)
      -- an empty round once the minimum is met fails (ECMA's RepeatMatcher)
      if j == last and count > lo then return false end
      return loop(s, j)
    end)
    loop = function(s, i)
      bt_step()
      if hi == nil or count < hi then
        local c, l = count, last
        count, last = c + 1, i
        local ok = body(s, i)
        count, last = c, l
        if ok then return true end
      end
      return count >= lo and k(s, i)
    end
    return function(s, i)
      local c, l = count, last
      count = 0
      local ok = loop(s, i)
      count, last = c, l
      return ok
    end
  end
  error("json_schema: no matcher for " .. tostring(t))
end

local function bt_done() return true end

-- A search of s (true | false | nil: not decided within BT_STEPS or
-- BT_MAX_LEN; callers let it pass).
local function bt_run(f, s)
  for i = 1, #s + 1 do
    if f(s, i) then return true end
  end
  return false
end

local function bt_search(f, s)
  if #s > BT_MAX_LEN then return nil end
  bt_steps = 0
  local ok, res = pcall(bt_run, f, s)
  if ok then return res end
  return nil
end

local function tree_flags(node, flags)
  local t = node.t
  if t == "set" then
    for b = 128, 255 do
      if node.bm[b] then
        flags.wide = true
        break
      end
    end
  elseif t == "lit" then
    flags.literal8 = true
  elseif t == "seq" then
    for _, it in ipairs(node.items) do tree_flags(it, flags) end
  elseif t == "alt" then
    for _, a in ipairs(node.alts) do tree_flags(a, flags) end
  elseif t == "group" then
    tree_flags(node.alt, flags)
  elseif t == "rep" then
    tree_flags(node.sub, flags)
  end
  return flags
end

-- Compiles an ECMA pattern: -> { src, tree, m = matcher | nil }, unsupported
-- reason | nil, syntax error.
local function re_compile(src)
  local ok, tree, unsup = pcall(re_parse, src)
  if not ok then
    if type(tree) == "table" and tree.re_syntax then return nil, tree.re_syntax end
    if type(tree) == "table" and tree.re_unsup then return { src = src }, tree.re_unsup end
    error(tree, 0)
  end
  local re = { src = src, tree = tree }
  if unsup then return re, unsup end
  local flags = {}
  local ok2, alts = pcall(flatten_re, tree, flags)
  if ok2 then
    local pats = {}
    for k, units in ipairs(alts) do
      local ok3, p = pcall(render, units)
      if not ok3 then
        alts = p
        ok2 = false
        break
      end
      if not pcall(find, "", p.pat) then
        alts = { re_unsup = "a construct Lua patterns cannot express" }
        ok2 = false
        break
      end
      pats[k] = p
    end
    if ok2 then
      re.m = { pats = pats, n = #pats, translit = flags.wide and not flags.literal8 }
      return re
    end
  end
  if not (type(alts) == "table" and alts.re_unsup) then error(alts, 0) end
  local tf = tree_flags(tree, {})
  re.m = { bt = bt_build(tree, bt_done), translit = tf.wide and not tf.literal8 }
  return re
end

local char_count

local function re_test(m, s)
  local wide = find(s, "[\128-\255]")
  if wide and m.translit then
    s = gsub(s, "[\192-\247][\128-\191]*", "\128")
    wide = false
  end
  if m.bt then return bt_search(m.bt, s) ~= false end
  local pats = m.pats
  for i = 1, m.n do
    local p = pats[i]
    if find(s, p.pat) then
      local lmin = p.lmin
      if not lmin then return true end
      local len = wide and char_count(s) or #s
      if len >= lmin and (not p.lmax or len <= p.lmax) then return true end
    end
  end
  return false
end

local PRINTABLE = {}
for b = 32, 126 do PRINTABLE[#PRINTABLE + 1] = b end

-- Appends text matching tree node to out.
local function re_gen(node, rng, out)
  local t = node.t
  if t == "seq" then
    for _, it in ipairs(node.items) do re_gen(it, rng, out) end
  elseif t == "alt" then
    re_gen(node.alts[rng:int(1, #node.alts)], rng, out)
  elseif t == "group" then
    re_gen(node.alt, rng, out)
  elseif t == "set" then
    local members = node.members
    if not members then
      members = {}
      for _, b in ipairs(PRINTABLE) do
        if node.bm[b] then members[#members + 1] = char(b) end
      end
      if #members == 0 then
        for b = 0, 127 do
          if node.bm[b] then members[#members + 1] = char(b) end
        end
      end
      if #members == 0 then members[1] = "\195\169" end -- only non-ASCII: é
      node.members = members
    end
    out[#out + 1] = members[rng:int(1, #members)]
  elseif t == "lit" then
    out[#out + 1] = node.s
  elseif t == "rep" then
    local hi = node.max and min(node.max, node.min + 3) or node.min + 3
    for _ = 1, rng:int(node.min, hi) do re_gen(node.sub, rng, out) end
  end
end

------------------------------------------------------------------------------
-- Formats: light checks, and makers for generation
------------------------------------------------------------------------------

local DAYS = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 }

local function valid_date(y, m, d)
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m < 1 or m > 12 or d < 1 or d > DAYS[m] then return false end
  if m == 2 and d == 29 and not (y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)) then return false end
  return true
end

local function valid_time(s)
  local h, mi, sec, rest = match(s, "^(%d%d):(%d%d):(%d%d)(.*)$")
  if not h or tonumber(h) > 23 or tonumber(mi) > 59 or tonumber(sec) > 60 then return false end
  rest = gsub(rest, "^%.%d+", "", 1)
  if rest == "Z" or rest == "z" then return true end
  local oh, om = match(rest, "^[+-](%d%d):(%d%d)$")
  return oh ~= nil and tonumber(oh) <= 23 and tonumber(om) <= 59
end

local FORMATS = {
  ["date-time"] = function(s)
    local y, m, d, rest = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt](.*)$")
    return y ~= nil and valid_date(y, m, d) and valid_time(rest)
  end,
  date = function(s)
    local y, m, d = match(s, "^(%d%d%d%d)%-(%d%d)%-(%d%d)$")
    return y ~= nil and valid_date(y, m, d)
  end,
  time = valid_time,
  email = function(s)
    return find(s, "^[^%s@]+@[^%s@]+$") ~= nil and not find(s, "^%.") and not find(s, "%.$")
  end,
  uri = function(s)
    return find(s, "^%a[%w+.%-]*:[^%s]*$") ~= nil
  end,
  uuid = function(s)
    return find(s, "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") ~= nil
  end,
  ipv4 = function(s)
    local a, b, c, d = match(s, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    if not a then return false end
    for _, x in ipairs({ a, b, c, d }) do
      if #x > 3 or tonumber(x) > 255 or (#x > 1 and sub(x, 1, 1) == "0") then return false end
    end
    return true
  end,
}

local HEX = "0123456789abcdef"
local function hex(rng, count)
  local out = {}
  for i = 1, count do
    local k = rng:int(1, 16)
    out[i] = sub(HEX, k, k)
  end
  return concat(out)
end

local FORMAT_MAKERS = {
  ["date-time"] = function(rng)
    return format("%04d-%02d-%02dT%02d:%02d:%02dZ", rng:int(2000, 2030), rng:int(1, 12), rng:int(1, 28),
      rng:int(0, 23), rng:int(0, 59), rng:int(0, 59))
  end,
  date = function(rng)
    return format("%04d-%02d-%02d", rng:int(2000, 2030), rng:int(1, 12), rng:int(1, 28))
  end,
  time = function(rng)
    return format("%02d:%02d:%02dZ", rng:int(0, 23), rng:int(0, 59), rng:int(0, 59))
  end,
  email = function(rng) return format("user%d@example.com", rng:int(1, 9999)) end,
  uri = function(rng) return format("https://example.com/item/%d", rng:int(1, 9999)) end,
  uuid = function(rng)
    local variant = rng:int(1, 4)
    return hex(rng, 8) .. "-" .. hex(rng, 4) .. "-4" .. hex(rng, 3) .. "-" .. sub("89ab", variant, variant)
      .. hex(rng, 3) .. "-" .. hex(rng, 12)
  end,
  ipv4 = function(rng) return format("10.%d.%d.%d", rng:int(0, 255), rng:int(0, 255), rng:int(1, 254)) end,
}

------------------------------------------------------------------------------
-- Compiling
------------------------------------------------------------------------------

-- The boolean schemas.
local TRUE_NODE = { always = true, where = "" }
local FALSE_NODE = { always = false, where = "" }

local TYPE_NAMES = {
  null = true, boolean = true, object = true, array = true, number = true, integer = true, string = true,
}
local TYPE_ORDER = { "null", "boolean", "object", "array", "number", "integer", "string" }

local UNSUPPORTED_KEYWORDS = {
  ["if"] = true, ["then"] = true, ["else"] = true, dependentSchemas = true,
  unevaluatedProperties = true, unevaluatedItems = true, ["$dynamicRef"] = true, ["$recursiveRef"] = true,
}

local function bad(where, msg)
  error({ schema_error = (where == "" and "" or where .. ": ") .. msg }, 0)
end

local function loc(where, key)
  if where == "" then return key end
  return where .. "." .. key
end

local function doc_is_array(t)
  if json.is_array(t) then return true end
  if json.is_object(t) then return false end
  return t[1] ~= nil or next(t) == nil
end

local function doc_kind(v)
  local k = kind(v)
  if k == "empty" then return "array" end
  return k
end

-- A schema document's object keys, in a stable order (an ordered object's
-- own, else sorted).
local function doc_keys(t)
  if json.is_object(t) then return json.keys(t) end
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  sort(keys)
  return keys
end

local function doc_array(t, where)
  if type(t) ~= "table" or not doc_is_array(t) then bad(where, "expected an array, got " .. doc_kind(t)) end
  local out = {}
  for i = 1, (json.is_array(t) and t.n) or #t do out[i] = item(t, i) end
  return out
end

local function doc_object(t, where)
  if type(t) ~= "table" or (doc_is_array(t) and next(t) ~= nil) or kind(t) == "number" then
    bad(where, "expected an object, got " .. doc_kind(t))
  end
  return t
end

local function want_number(v, where)
  if type(v) ~= "number" then bad(where, "expected a number, got " .. doc_kind(v)) end
  return v
end

local function want_count(v, where)
  if type(v) ~= "number" or v < 0 or v % 1 ~= 0 then
    bad(where, "expected a non-negative integer, got "
      .. (type(v) == "number" and num_text(v) or doc_kind(v)))
  end
  return v
end

local function want_bool(v, where)
  if type(v) ~= "boolean" then bad(where, "expected a boolean, got " .. doc_kind(v)) end
  return v
end

local function want_string(v, where)
  if type(v) ~= "string" then bad(where, "expected a string, got " .. doc_kind(v)) end
  return v
end

local compile_node

local function resolve(cx, ref, where)
  if ref == "#" then return cx.root, "" end
  local ptr = match(ref, "^#(/.*)$")
  if not ptr then
    bad(where, "unsupported $ref '" .. ref .. "' (only references inside the schema, '#/...', are supported)")
  end
  local t, names = cx.root, {}
  for seg in ptr:gmatch("/([^/]*)") do
    seg = gsub(seg, "%%(%x%x)", function(h) return char(tonumber(h, 16)) end)
    seg = gsub(gsub(seg, "~1", "/"), "~0", "~")
    local nxt
    if type(t) == "table" then
      if doc_is_array(t) then
        local idx = tonumber(seg)
        nxt = idx and t[idx + 1]
      else
        nxt = t[seg]
      end
    end
    if nxt == nil then bad(where, "$ref '" .. ref .. "' does not resolve (nothing at '" .. seg .. "')") end
    t = nxt
    names[#names + 1] = seg
  end
  return t, concat(names, ".")
end

local function compile_list(cx, v, where)
  local list = doc_array(v, where)
  if #list == 0 then bad(where, "expected a non-empty array of schemas") end
  local out = {}
  for i, s in ipairs(list) do out[i] = compile_node(cx, s, format("%s[%d]", where, i - 1)) end
  return out
end

local function compile_pattern(cx, src, where)
  want_string(src, where)
  local re, why = re_compile(src)
  if not re then bad(where, format("invalid regular expression '%s': %s", src, why)) end
  if why then
    cx.unchecked[#cx.unchecked + 1] = format("%s '%s': %s is not supported; not checked", where, src, why)
  end
  return re
end

local function compile_object_keywords(cx, s, node, where)
  local props = s.properties
  if props ~= nil then
    local w = loc(where, "properties")
    doc_object(props, w)
    node.props, node.props_by = {}, {}
    for _, name in ipairs(doc_keys(props)) do
      local sub_node = compile_node(cx, props[name], loc(w, name))
      node.props[#node.props + 1] = { name = name, node = sub_node }
      node.props_by[name] = sub_node
    end
  end
  if s.required ~= nil and type(s.required) ~= "boolean" then
    local w = loc(where, "required")
    local list = doc_array(s.required, w)
    for i, name in ipairs(list) do want_string(name, format("%s[%d]", w, i - 1)) end
    if #list > 0 then node.required = list end
  end
  local addl = s.additionalProperties
  if addl ~= nil and addl ~= true then
    node.addl = compile_node(cx, addl, loc(where, "additionalProperties"))
    if node.addl == TRUE_NODE then node.addl = nil end
  end
  if s.patternProperties ~= nil then
    local w = loc(where, "patternProperties")
    doc_object(s.patternProperties, w)
    node.pats = {}
    for _, src in ipairs(doc_keys(s.patternProperties)) do
      local re = compile_pattern(cx, src, w)
      local sub_node = compile_node(cx, s.patternProperties[src], loc(w, src))
      node.pats[#node.pats + 1] = { re = re, m = re.m, node = sub_node }
      if not re.m then node.pats_unchecked = true end
    end
    if node.pats_unchecked and node.addl then
      cx.unchecked[#cx.unchecked + 1] = loc(where, "additionalProperties")
        .. ": not checked for keys an unchecked patternProperties pattern may match"
    end
  end
  if s.propertyNames ~= nil then
    node.pnames = compile_node(cx, s.propertyNames, loc(where, "propertyNames"))
  end
  if s.minProperties ~= nil then node.minp = want_count(s.minProperties, loc(where, "minProperties")) end
  if s.maxProperties ~= nil then node.maxp = want_count(s.maxProperties, loc(where, "maxProperties")) end
  local function dependent(t, w, allow_schemas)
    doc_object(t, w)
    for _, name in ipairs(doc_keys(t)) do
      local v = t[name]
      if type(v) == "table" and doc_is_array(v) then
        local list = doc_array(v, loc(w, name))
        for i, dep in ipairs(list) do want_string(dep, format("%s.%s[%d]", w, name, i - 1)) end
        node.depreq = node.depreq or {}
        node.depreq[#node.depreq + 1] = { name = name, deps = list }
      elseif allow_schemas then
        compile_node(cx, v, loc(w, name))
        cx.unchecked[#cx.unchecked + 1] = loc(w, name)
          .. ": dependencies given as a schema are not supported; not checked"
      else
        bad(loc(w, name), "expected an array of property names, got " .. doc_kind(v))
      end
    end
  end
  if s.dependentRequired ~= nil then
    dependent(s.dependentRequired, loc(where, "dependentRequired"), false)
  end
  if s.dependencies ~= nil then dependent(s.dependencies, loc(where, "dependencies"), true) end
  node.obj = node.props or node.required or node.addl or node.pats or node.pnames or node.minp or node.maxp
    or node.depreq
end

local function compile_array_keywords(cx, s, node, where)
  local items = s.items
  if s.prefixItems ~= nil then
    node.prefix = compile_list(cx, s.prefixItems, loc(where, "prefixItems"))
  end
  if items ~= nil then
    if type(items) == "table" and doc_is_array(items) and next(items) ~= nil then
      node.prefix = compile_list(cx, items, loc(where, "items")) -- draft-07 tuple
      if s.additionalItems ~= nil then
        node.items = compile_node(cx, s.additionalItems, loc(where, "additionalItems"))
      end
    else
      node.items = compile_node(cx, items, loc(where, "items"))
    end
    if node.items == TRUE_NODE then node.items = nil end
  end
  if s.minItems ~= nil then node.min_items = want_count(s.minItems, loc(where, "minItems")) end
  if s.maxItems ~= nil then node.max_items = want_count(s.maxItems, loc(where, "maxItems")) end
  if s.uniqueItems ~= nil then node.unique = want_bool(s.uniqueItems, loc(where, "uniqueItems")) or nil end
  if s.contains ~= nil then
    node.contains = compile_node(cx, s.contains, loc(where, "contains"))
    if s.minContains ~= nil then node.min_contains = want_count(s.minContains, loc(where, "minContains")) end
    if s.maxContains ~= nil then node.max_contains = want_count(s.maxContains, loc(where, "maxContains")) end
  end
  node.arr = node.prefix or node.items or node.min_items or node.max_items or node.unique or node.contains
end

local function compile_scalar_keywords(cx, s, node, where)
  if s.minimum ~= nil then node.minimum = want_number(s.minimum, loc(where, "minimum")) end
  if s.maximum ~= nil then node.maximum = want_number(s.maximum, loc(where, "maximum")) end
  local xmin, xmax = s.exclusiveMinimum, s.exclusiveMaximum
  if type(xmin) == "boolean" then
    node.min_excl = xmin or nil -- draft-04
  elseif xmin ~= nil then
    node.xmin = want_number(xmin, loc(where, "exclusiveMinimum"))
  end
  if type(xmax) == "boolean" then
    node.max_excl = xmax or nil
  elseif xmax ~= nil then
    node.xmax = want_number(xmax, loc(where, "exclusiveMaximum"))
  end
  if s.multipleOf ~= nil then
    local m = want_number(s.multipleOf, loc(where, "multipleOf"))
    if m <= 0 then bad(loc(where, "multipleOf"), "must be greater than 0, got " .. num_text(m)) end
    node.multiple = m
  end
  node.num = node.minimum or node.maximum or node.xmin or node.xmax or node.multiple
  if s.minLength ~= nil then node.min_len = want_count(s.minLength, loc(where, "minLength")) end
  if s.maxLength ~= nil then node.max_len = want_count(s.maxLength, loc(where, "maxLength")) end
  if s.pattern ~= nil then
    node.pattern = compile_pattern(cx, s.pattern, loc(where, "pattern"))
    node.pat_m = node.pattern.m
  end
  if s.format ~= nil then
    node.format_name = want_string(s.format, loc(where, "format"))
    node.format = FORMATS[node.format_name]
  end
  node.str = node.min_len or node.max_len or node.pat_m or node.format
end

compile_node = function(cx, s, where)
  if s == true then return TRUE_NODE end
  if s == false then return FALSE_NODE end
  if type(s) ~= "table" or (doc_is_array(s) and next(s) ~= nil) or kind(s) == "number" then
    bad(where, "expected a schema (an object or a boolean), got " .. doc_kind(s))
  end
  local cached = cx.cache[s]
  if cached then return cached end
  local node = { where = where }
  cx.cache[s] = node
  cx.nodes[#cx.nodes + 1] = node

  local t = s.type
  if t ~= nil then
    local w = loc(where, "type")
    local list = type(t) == "string" and { t } or doc_array(t, w)
    if #list == 0 then bad(w, "expected a type name or a non-empty array of them") end
    node.types = {}
    for _, name in ipairs(list) do
      if type(name) ~= "string" then bad(w, "expected a type name, got " .. doc_kind(name)) end
      if not TYPE_NAMES[name] then bad(w, "unknown type '" .. name .. "'") end
      node.types[name] = true
    end
    local names = {}
    for _, name in ipairs(TYPE_ORDER) do
      if node.types[name] then names[#names + 1] = name end
    end
    node.type_text = concat(names, " or ")
  end
  if s.nullable == true then node.nullable = true end
  node.empty_as = (node.types and node.types.array and not node.types.object) and "array" or "object"

  if s.enum ~= nil then
    node.enum = doc_array(s.enum, loc(where, "enum"))
    local texts = {}
    for i, v in ipairs(node.enum) do texts[i] = short(v) end
    node.enum_text = concat(texts, ", ")
    if #node.enum_text > 80 then node.enum_text = sub(node.enum_text, 1, 77) .. "..." end
  end
  if s.const ~= nil then
    node.has_const, node.const = true, s.const
  end
  if s.default ~= nil then node.has_default, node.default = true, s.default end
  if s.examples ~= nil then
    local ex = doc_array(s.examples, loc(where, "examples"))
    if #ex > 0 then node.example = ex[1] end
  elseif s.example ~= nil then
    node.example = s.example
  end

  compile_scalar_keywords(cx, s, node, where)
  compile_object_keywords(cx, s, node, where)
  compile_array_keywords(cx, s, node, where)

  if s.allOf ~= nil then node.all = compile_list(cx, s.allOf, loc(where, "allOf")) end
  if s.anyOf ~= nil then node.any = compile_list(cx, s.anyOf, loc(where, "anyOf")) end
  if s.oneOf ~= nil then node.one = compile_list(cx, s.oneOf, loc(where, "oneOf")) end
  if s["not"] ~= nil then node.nots = compile_node(cx, s["not"], loc(where, "not")) end
  for _, defs in ipairs({ "$defs", "definitions" }) do
    if s[defs] ~= nil then
      local w = loc(where, defs)
      doc_object(s[defs], w)
      for _, name in ipairs(doc_keys(s[defs])) do compile_node(cx, s[defs][name], loc(w, name)) end
    end
  end
  if s["$ref"] ~= nil then
    local ref = want_string(s["$ref"], loc(where, "$ref"))
    local target, target_where = resolve(cx, ref, loc(where, "$ref"))
    node.ref = compile_node(cx, target, target_where)
  end
  for _, k in ipairs(doc_keys(s)) do
    if UNSUPPORTED_KEYWORDS[k] then
      cx.unchecked[#cx.unchecked + 1] = format("%s: keyword '%s' is not supported; not checked",
        loc(where, k), k)
    end
  end
  if type(s.required) == "boolean" then
    cx.unchecked[#cx.unchecked + 1] = loc(where, "required")
      .. ": draft-03's boolean required is not supported; not checked"
  end
  return node
end

-- A cycle of in-place applicators ($ref, allOf, anyOf, oneOf, not) would
-- make validation loop: refused.
local function check_cycles(nodes)
  local state, stack = {}, {}
  local function visit(n)
    if state[n] == 2 then return end
    if state[n] == 1 then
      local names, started = {}, false
      for _, m in ipairs(stack) do
        if m == n then started = true end
        if started then names[#names + 1] = m.where == "" and "#" or m.where end
      end
      names[#names + 1] = n.where == "" and "#" or n.where
      bad("", "$ref cycle that never descends into a property or item: " .. concat(names, " -> "))
    end
    state[n] = 1
    stack[#stack + 1] = n
    if n.ref then visit(n.ref) end
    if n.nots then visit(n.nots) end
    for _, key in ipairs({ "all", "any", "one" }) do
      if n[key] then
        for _, m in ipairs(n[key]) do visit(m) end
      end
    end
    stack[#stack] = nil
    state[n] = 2
  end
  for _, n in ipairs(nodes) do visit(n) end
end

--- schema.compile(doc) -> compiled | nil, message. doc is a schema as a
-- Lua table (lua-cjson or util.json decoded, or plain tables as in
-- twin/catalogue) or a boolean. compiled.unchecked lists what is not
-- checked (empty when everything is). The message names where the schema
-- is bad: "properties.age.type: unknown type 'int'".
function M.compile(doc)
  if doc == nil then return nil, "expected a schema, got nil" end
  local cx = { root = doc, cache = {}, nodes = {}, unchecked = {} }
  local ok, root = pcall(function()
    local r = compile_node(cx, doc, "")
    check_cycles(cx.nodes)
    return r
  end)
  if not ok then
    if type(root) == "table" and root.schema_error then return nil, root.schema_error end
    error(root, 0)
  end
  return { root = root, unchecked = cx.unchecked }
end

------------------------------------------------------------------------------
-- Validating
------------------------------------------------------------------------------

local MAX_REF_DEPTH = 300

local function path_text(ctx)
  local out = { "$" }
  local path = ctx.path
  for i = 1, ctx.depth do
    local seg = path[i]
    if type(seg) == "number" then
      out[#out + 1] = "[" .. seg .. "]"
    elseif match(seg, "^[%a_][%w_]*$") then
      out[#out + 1] = "." .. seg
    else
      out[#out + 1] = "['" .. gsub(seg, "['\\]", "\\%0") .. "']"
    end
  end
  return concat(out)
end

-- Records an error (collecting mode only; callers check ctx.collect).
local function report(ctx, fmt, ...)
  if ctx.n >= ctx.limit then return end
  ctx.n = ctx.n + 1
  ctx.errs[ctx.n] = { path = path_text(ctx), message = format(fmt, ...), depth = ctx.depth, seq = ctx.n }
end

local check

local function check_in(node, v, ctx, seg)
  local d = ctx.depth + 1
  ctx.depth = d
  ctx.path[d] = seg
  local ok = check(node, v, ctx)
  ctx.depth = d - 1
  return ok
end

-- Quietly: does v pass node? (no errors collected)
local function passes(node, v, ctx)
  local collect = ctx.collect
  ctx.collect = false
  local ok = check(node, v, ctx)
  ctx.collect = collect
  return ok
end

char_count = function(s)
  if not find(s, "[\128-\255]") then return #s end
  return utf8.char_count(s)
end

local function check_string(node, v, ctx)
  local ok = true
  if node.min_len or node.max_len then
    local len = #v
    local minl, maxl = node.min_len, node.max_len
    -- a character is 1 to 4 bytes: count only when the bytes do not decide
    if (maxl and len > maxl) or (minl and len < 4 * minl) then len = char_count(v) end
    if minl and len < minl then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "string is %d characters, fewer than minLength %d", len, minl)
    end
    if maxl and len > maxl then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "string is %d characters, more than maxLength %d", len, maxl)
    end
  end
  if node.pat_m and not re_test(node.pat_m, v) then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "string %s does not match pattern '%s'", short(v), node.pattern.src)
  end
  if node.format and not node.format(v) then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "string %s is not a valid %s", short(v), node.format_name)
  end
  return ok
end

local function check_number(node, v, ctx)
  local x = numval(v)
  local ok = true
  local lo, hi = node.minimum, node.maximum
  if lo and (x < lo or (node.min_excl and x == lo)) then
    if not ctx.collect then return false end
    ok = false
    report(ctx, node.min_excl and "%s is not greater than exclusive minimum %s"
      or "%s is less than minimum %s", num_text(x), num_text(lo))
  end
  if hi and (x > hi or (node.max_excl and x == hi)) then
    if not ctx.collect then return false end
    ok = false
    report(ctx, node.max_excl and "%s is not less than exclusive maximum %s"
      or "%s is greater than maximum %s", num_text(x), num_text(hi))
  end
  if node.xmin and x <= node.xmin then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "%s is not greater than exclusiveMinimum %s", num_text(x), num_text(node.xmin))
  end
  if node.xmax and x >= node.xmax then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "%s is not less than exclusiveMaximum %s", num_text(x), num_text(node.xmax))
  end
  local m = node.multiple
  if m then
    local q = x / m
    local r = abs(q - floor(q + 0.5))
    if r > 1e-9 * max(1, abs(q)) and not (m % 1 == 0 and x % m == 0) then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "%s is not a multiple of %s", num_text(x), num_text(m))
    end
  end
  return ok
end

local function check_object(node, v, ctx)
  local ok = true
  local props = node.props
  if props then
    for i = 1, #props do
      local p = props[i]
      local pv = v[p.name]
      if pv ~= nil and not check_in(p.node, pv, ctx, p.name) then
        if not ctx.collect then return false end
        ok = false
      end
    end
  end
  local required = node.required
  if required then
    for i = 1, #required do
      if v[required[i]] == nil then
        if not ctx.collect then return false end
        ok = false
        report(ctx, "missing required property '%s'", required[i])
      end
    end
  end
  if node.depreq then
    for _, d in ipairs(node.depreq) do
      if v[d.name] ~= nil then
        for _, dep in ipairs(d.deps) do
          if v[dep] == nil then
            if not ctx.collect then return false end
            ok = false
            report(ctx, "property '%s' requires property '%s'", d.name, dep)
          end
        end
      end
    end
  end
  local addl, pats, pnames = node.addl, node.pats, node.pnames
  if addl or pats or pnames or node.minp or node.maxp then
    local props_by, count = node.props_by, 0
    for key, val in next, v do
      if type(key) ~= "table" then
        count = count + 1
        if type(key) ~= "string" then key = tostring(key) end
        if pnames and not passes(pnames, key, ctx) then
          if not ctx.collect then return false end
          ok = false
          report(ctx, "property name '%s' does not match propertyNames", key)
        end
        if not (props_by and props_by[key]) then
          local matched = false
          if pats then
            for i = 1, #pats do
              local p = pats[i]
              if p.m and re_test(p.m, key) then
                matched = true
                if not check_in(p.node, val, ctx, key) then
                  if not ctx.collect then return false end
                  ok = false
                end
              end
            end
          end
          if addl and not matched and not node.pats_unchecked then
            if addl == FALSE_NODE then
              if not ctx.collect then return false end
              ok = false
              report(ctx, "property '%s' is not allowed (additionalProperties is false)", key)
            elseif not check_in(addl, val, ctx, key) then
              if not ctx.collect then return false end
              ok = false
            end
          end
        end
      end
    end
    if node.minp and count < node.minp then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "object has %d properties, fewer than minProperties %d", count, node.minp)
    end
    if node.maxp and count > node.maxp then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "object has %d properties, more than maxProperties %d", count, node.maxp)
    end
  end
  return ok
end

local function check_array(node, v, ctx)
  local ok = true
  local n = arr_len(v)
  if node.min_items and n < node.min_items then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "array has %d items, fewer than minItems %d", n, node.min_items)
  end
  if node.max_items and n > node.max_items then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "array has %d items, more than maxItems %d", n, node.max_items)
  end
  local prefix, items = node.prefix, node.items
  local np = prefix and #prefix or 0
  for i = 1, min(np, n) do
    if not check_in(prefix[i], item(v, i), ctx, i - 1) then
      if not ctx.collect then return false end
      ok = false
    end
  end
  if items == FALSE_NODE then
    if n > np then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "array has %d items, at most %d allowed", n, np)
    end
  elseif items then
    for i = np + 1, n do
      if not check_in(items, item(v, i), ctx, i - 1) then
        if not ctx.collect then return false end
        ok = false
        if ctx.n >= ctx.limit then break end
      end
    end
  end
  if node.unique and n > 1 then
    local seen, dup_a, dup_b = {}, nil, nil
    for i = 1, n do
      local x = item(v, i)
      local tx = type(x)
      if tx == "string" or tx == "number" or tx == "boolean" then
        local key = tx == "string" and x or (tx == "number" and x) or tostring(x)
        if tx == "boolean" then key = x and "\0true" or "\0false" end
        local j = seen[key]
        if j then
          dup_a, dup_b = j, i
          break
        end
        seen[key] = i
      else
        for j = 1, i - 1 do
          if equal(item(v, j), x) then
            dup_a, dup_b = j, i
            break
          end
        end
        if dup_a then break end
      end
    end
    if dup_a then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "items %d and %d are equal (uniqueItems)", dup_a - 1, dup_b - 1)
    end
  end
  if node.contains then
    local hits = 0
    for i = 1, n do
      if passes(node.contains, item(v, i), ctx) then hits = hits + 1 end
    end
    local need = node.min_contains or 1
    if hits < need then
      if not ctx.collect then return false end
      ok = false
      if need == 1 then
        report(ctx, "no item matches 'contains'")
      else
        report(ctx, "%d items match 'contains', fewer than minContains %d", hits, need)
      end
    end
    if node.max_contains and hits > node.max_contains then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "%d items match 'contains', more than maxContains %d", hits, node.max_contains)
    end
  end
  return ok
end

-- Collects the errors of the branch that got furthest (its first error
-- deepest, then fewest errors), tagged with the keyword.
local function best_branch(branches, v, ctx, keyword)
  local saved_errs, saved_n, saved_limit = ctx.errs, ctx.n, ctx.limit
  local best, best_depth, best_n, best_i
  for i, b in ipairs(branches) do
    ctx.errs, ctx.n, ctx.limit = {}, 0, saved_limit
    check(b, v, ctx)
    local deepest = 0
    for _, e in ipairs(ctx.errs) do deepest = max(deepest, e.depth) end
    if ctx.n > 0 and (not best or deepest > best_depth or (deepest == best_depth and ctx.n < best_n)) then
      best, best_depth, best_n, best_i = ctx.errs, deepest, ctx.n, i
    end
  end
  ctx.errs, ctx.n, ctx.limit = saved_errs, saved_n, saved_limit
  if best then
    for _, e in ipairs(best) do
      if ctx.n >= ctx.limit then break end
      ctx.n = ctx.n + 1
      e.message = format("%s (%s[%d])", e.message, keyword, best_i - 1)
      e.seq = ctx.n
      ctx.errs[ctx.n] = e
    end
  end
end

check = function(node, v, ctx)
  local always = node.always
  if always ~= nil then
    if always then return true end
    if ctx.collect then report(ctx, "no value is allowed here (false schema)") end
    return false
  end
  local k = kind(v)
  if k == "null" and node.nullable then return true end
  if k == "empty" then k = node.empty_as end
  local types = node.types
  if types and not (types[k] or (k == "number" and types.integer and is_integral(v))) then
    if ctx.collect then report(ctx, "expected %s, got %s", node.type_text, kind_name(v)) end
    return false
  end
  local ok = true
  local enum = node.enum
  if enum then
    local found = false
    for i = 1, #enum do
      if equal(enum[i], v) then
        found = true
        break
      end
    end
    if not found then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "value %s is not one of %s", short(v), node.enum_text)
    end
  end
  if node.has_const and not equal(node.const, v) then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "expected %s (const), got %s", short(node.const), short(v))
  end
  if k == "string" then
    if node.str and not check_string(node, v, ctx) then
      if not ctx.collect then return false end
      ok = false
    end
  elseif k == "number" then
    if node.num and not check_number(node, v, ctx) then
      if not ctx.collect then return false end
      ok = false
    end
  elseif k == "object" then
    if node.obj and not check_object(node, v, ctx) then
      if not ctx.collect then return false end
      ok = false
    end
  elseif k == "array" then
    if node.arr and not check_array(node, v, ctx) then
      if not ctx.collect then return false end
      ok = false
    end
  elseif k == "invalid" then
    if ctx.collect then report(ctx, "a Lua %s is not a JSON value", type(v)) end
    return false
  end
  local all = node.all
  if all then
    for i = 1, #all do
      if not check(all[i], v, ctx) then
        if not ctx.collect then return false end
        ok = false
      end
    end
  end
  local any = node.any
  if any then
    local found = false
    for i = 1, #any do
      if passes(any[i], v, ctx) then
        found = true
        break
      end
    end
    if not found then
      if not ctx.collect then return false end
      ok = false
      report(ctx, "value matches none of the %d anyOf schemas", #any)
      best_branch(any, v, ctx, "anyOf")
    end
  end
  local one = node.one
  if one then
    local first, second
    for i = 1, #one do
      if passes(one[i], v, ctx) then
        if first then
          second = i
          break
        end
        first = i
      end
    end
    if not first or second then
      if not ctx.collect then return false end
      ok = false
      if second then
        report(ctx, "value matches oneOf schemas %d and %d, expected exactly one", first - 1, second - 1)
      else
        report(ctx, "value matches none of the %d oneOf schemas", #one)
        best_branch(one, v, ctx, "oneOf")
      end
    end
  end
  if node.nots and passes(node.nots, v, ctx) then
    if not ctx.collect then return false end
    ok = false
    report(ctx, "value must not match the 'not' schema")
  end
  local ref = node.ref
  if ref then
    local refs = ctx.refs + 1
    if refs > MAX_REF_DEPTH then
      if ctx.collect then report(ctx, "$ref nested more than %d deep", MAX_REF_DEPTH) end
      return false
    end
    ctx.refs = refs
    local rok = check(ref, v, ctx)
    ctx.refs = refs - 1
    if not rok then
      if not ctx.collect then return false end
      ok = false
    end
  end
  return ok
end

local QUIET = { collect = false, path = {}, depth = 0, refs = 0, n = 0, limit = 0 }

local function by_depth(a, b)
  if a.depth ~= b.depth then return a.depth > b.depth end
  return a.seq < b.seq
end

local function root_of(compiled, fname)
  local root = type(compiled) == "table" and compiled.root
  if not root then error(fname .. ": expected a compiled schema (schema.compile's result)", 3) end
  return root
end

--- schema.validate(compiled, value [, max_errors = 10]) -> true | false,
-- errors: { { path = "$.a[2].b", message = "..." }, ... }, at most
-- max_errors, the deepest (most specific) first.
function M.validate(compiled, value, max_errors)
  local root = root_of(compiled, "json_schema.validate")
  QUIET.depth, QUIET.refs, QUIET.collect = 0, 0, false
  if check(root, value, QUIET) then return true end
  local ctx = { collect = true, errs = {}, n = 0, limit = max_errors or M.MAX_ERRORS, path = {}, depth = 0,
    refs = 0 }
  check(root, value, ctx)
  local errs = ctx.errs
  if ctx.n == 0 then
    errs[1] = { path = "$", message = "value does not match the schema", depth = 0, seq = 1 }
  end
  sort(errs, by_depth)
  for _, e in ipairs(errs) do e.depth, e.seq = nil, nil end
  return false, errs
end

------------------------------------------------------------------------------
-- Generating
------------------------------------------------------------------------------

local GEN_CTX = { collect = false, path = {}, depth = 0, refs = 0, n = 0, limit = 0 }

local function valid_all(list, v)
  for i = 1, #list do
    GEN_CTX.depth, GEN_CTX.refs = 0, 0
    if not check(list[i], v, GEN_CTX) then return false, list[i] end
  end
  return true
end

local function first_error(node, v)
  local ctx = { collect = true, errs = {}, n = 0, limit = 1, path = {}, depth = 0, refs = 0 }
  check(node, v, ctx)
  local e = ctx.errs[1]
  return e and (e.path .. ": " .. e.message) or "invalid value"
end

-- A copy of a document value as generate returns values: plain tables for
-- objects, json.array for arrays, cjson.null.
local function copy_value(v)
  local k = kind(v)
  if k == "null" then return CJSON_NULL end
  if k == "number" then return type(v) == "number" and v or numval(v) end
  if k == "array" then
    local out = json.array {}
    for i = 1, arr_len(v) do out[i] = copy_value(item(v, i)) end
    return out
  end
  if k == "object" or k == "empty" then
    local out = {}
    for key, val in next, v do
      if type(key) ~= "table" then out[key] = copy_value(val) end
    end
    return out
  end
  return v
end

local function is_scalar_node(n)
  local t = n.types
  return t ~= nil and not t.object and not t.array
end

local function pick_branch(branches, g, depth)
  if depth >= g.max_depth then
    local scalars = {}
    for i, b in ipairs(branches) do
      if is_scalar_node(b) then scalars[#scalars + 1] = i end
    end
    if #scalars > 0 then return branches[scalars[g.rng:int(1, #scalars)]] end
  end
  return branches[g.rng:int(1, #branches)]
end

-- The nodes whose own keywords all apply (allOf, $ref followed; one branch
-- of each anyOf / oneOf picked) | nil, reason.
local function flatten(list, g, depth, out)
  out = out or {}
  for _, n in ipairs(list) do
    if n == FALSE_NODE then return nil, "the schema allows no value (false)" end
    if n ~= TRUE_NODE then
      out[#out + 1] = n
      local more = {}
      if n.ref then more[#more + 1] = n.ref end
      if n.all then
        for _, a in ipairs(n.all) do more[#more + 1] = a end
      end
      if n.any then more[#more + 1] = pick_branch(n.any, g, depth) end
      if n.one then more[#more + 1] = pick_branch(n.one, g, depth) end
      if #more > 0 then
        local ok, why = flatten(more, g, depth, out)
        if not ok then return nil, why end
      end
    end
  end
  return out
end

local ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
-- é ß 日 本 😀
local WIDE = { "\195\169", "\195\159", "\230\151\165", "\230\156\172", "\240\159\152\128" }

local function random_string(g, minl, maxl)
  local hi = maxl and min(maxl, minl + 12) or minl + 12
  local lo = minl
  if lo == 0 and hi >= 1 then lo = 1 end
  local out = {}
  for i = 1, g.rng:int(lo, hi) do
    if g.unicode and g.rng:float() < 0.2 then
      out[i] = WIDE[g.rng:int(1, #WIDE)]
    else
      local k = g.rng:int(1, #ALNUM)
      out[i] = sub(ALNUM, k, k)
    end
  end
  return concat(out)
end

local SYNTH = {}

function SYNTH.string(leaves, g)
  local minl, maxl, fmt, re = 0, nil, nil, nil
  for _, n in ipairs(leaves) do
    if n.min_len and n.min_len > minl then minl = n.min_len end
    if n.max_len and (not maxl or n.max_len < maxl) then maxl = n.max_len end
    fmt = fmt or (n.format_name and FORMAT_MAKERS[n.format_name])
    re = re or (n.pattern and n.pattern.tree and n.pattern)
  end
  if maxl and minl > maxl then return nil, format("minLength %d is above maxLength %d", minl, maxl) end
  for _ = 1, 8 do
    local s
    if re then
      local out = {}
      re_gen(re.tree, g.rng, out)
      s = concat(out)
    elseif fmt then
      s = fmt(g.rng)
    else
      return random_string(g, minl, maxl)
    end
    local len = char_count(s)
    if len >= minl and (not maxl or len <= maxl) then return s end
  end
  if re and not re.m then return random_string(g, minl, maxl) end
  return nil, format("no string of %d..%s characters found for %s", minl, maxl and tostring(maxl) or "",
    re and ("pattern '" .. re.src .. "'") or "the format")
end

local function num_bounds(leaves)
  local lo, lox, hi, hix, mult = -huge, false, huge, false, nil
  for _, n in ipairs(leaves) do
    if n.minimum and (n.minimum > lo or (n.minimum == lo and n.min_excl)) then
      lo, lox = n.minimum, n.min_excl
    end
    if n.xmin and n.xmin >= lo then lo, lox = n.xmin, true end
    if n.maximum and (n.maximum < hi or (n.maximum == hi and n.max_excl)) then
      hi, hix = n.maximum, n.max_excl
    end
    if n.xmax and n.xmax <= hi then hi, hix = n.xmax, true end
    if n.multiple then
      if mult and mult % 1 == 0 and n.multiple % 1 == 0 then
        local a, b = mult, n.multiple
        while b ~= 0 do a, b = b, a % b end
        mult = mult / a * n.multiple
      else
        mult = mult or n.multiple
      end
    end
  end
  return lo, lox and true or false, hi, hix and true or false, mult
end

local MAX_SAFE = 2 ^ 53

local function pick_multiple(g, step, lo, hi, lox, hix)
  local kmin, kmax = ceil(lo / step), floor(hi / step)
  if lox and kmin * step <= lo then kmin = kmin + 1 end
  if hix and kmax * step >= hi then kmax = kmax - 1 end
  if kmin > kmax then return nil end
  if kmax - kmin > 1000000 then kmax = kmin + 1000000 end
  return g.rng:int(kmin, kmax) * step
end

function SYNTH.integer(leaves, g)
  local lo, lox, hi, hix, mult = num_bounds(leaves)
  local ilo = lo ~= -huge and (lox and floor(lo) + 1 or ceil(lo)) or nil
  local ihi = hi ~= huge and (hix and ceil(hi) - 1 or floor(hi)) or nil
  if not ilo and not ihi then
    ilo, ihi = 0, 1000
  elseif not ilo then
    ilo = ihi >= 0 and 0 or ihi - 100
  elseif not ihi then
    ihi = max(ilo, 0) + 1000
  end
  ilo, ihi = max(ilo, -MAX_SAFE), min(ihi, MAX_SAFE)
  if ilo > ihi then
    return nil, format("no integer between %s and %s", num_text(lo), num_text(hi))
  end
  if mult then
    local step, d = mult, 1
    while (step * d) % 1 ~= 0 and d < 1000 do d = d + 1 end
    step = step * d
    if step % 1 ~= 0 then return nil, "no integer is a multiple of " .. num_text(mult) end
    local v = pick_multiple(g, step, ilo, ihi, false, false)
    if not v then
      return nil, format("no multiple of %s between %s and %s", num_text(mult), num_text(ilo), num_text(ihi))
    end
    return v
  end
  return g.rng:int(ilo, ihi)
end

function SYNTH.number(leaves, g)
  local lo, lox, hi, hix, mult = num_bounds(leaves)
  local flo = lo ~= -huge and lo or (hi ~= huge and min(0, hi - 100) or 0)
  local fhi = hi ~= huge and hi or max(flo, 0) + 1000
  if flo > fhi or (flo == fhi and (lox or hix)) then
    return nil, format("no number between %s and %s", num_text(lo), num_text(hi))
  end
  if mult then
    local v = pick_multiple(g, mult, flo, fhi, lox and flo == lo, hix and fhi == hi)
    if not v then return nil, format("no multiple of %s in range", num_text(mult)) end
    return v
  end
  local function inside(v)
    return (v > lo or (not lox and v == lo)) and (v < hi or (not hix and v == hi))
  end
  for _ = 1, 4 do
    local v = flo + g.rng:float() * (fhi - flo)
    local r = floor(v * 100 + 0.5) / 100
    if inside(r) then return r end
    if inside(v) then return v end
  end
  local mid = (flo + fhi) / 2
  if inside(mid) then return mid end
  return nil, format("no number between %s and %s", num_text(lo), num_text(hi))
end

function SYNTH.boolean(_, g) return g.rng:float() < 0.5 end

function SYNTH.null() return CJSON_NULL end

local gen

function SYNTH.object(leaves, g, depth)
  local names, seen, req, reqset = {}, {}, {}, {}
  local minp, maxp = 0, huge
  local map_like, closed, pat_sources = false, false, {}
  for _, n in ipairs(leaves) do
    if n.props then
      closed = true
      for _, p in ipairs(n.props) do
        if not seen[p.name] then
          seen[p.name] = true
          names[#names + 1] = p.name
        end
      end
    end
    if n.required then
      for _, r in ipairs(n.required) do
        if not reqset[r] then
          reqset[r] = true
          req[#req + 1] = r
        end
      end
    end
    if n.addl == FALSE_NODE then closed = true elseif n.addl then map_like = true end
    if n.pats then
      for _, p in ipairs(n.pats) do
        if p.re.tree then pat_sources[#pat_sources + 1] = p.re end
      end
    end
    if n.minp and n.minp > minp then minp = n.minp end
    if n.maxp and n.maxp < maxp then maxp = n.maxp end
  end
  if minp > maxp then return nil, format("minProperties %d is above maxProperties %d", minp, maxp) end

  -- the schemas a key's value must pass | nil: the key is not allowed
  local function schemas_for(key)
    local l = {}
    for _, n in ipairs(leaves) do
      if n.obj then
        local p = n.props_by and n.props_by[key]
        if p then
          l[#l + 1] = p
        else
          local matched = false
          if n.pats then
            for _, pp in ipairs(n.pats) do
              if pp.m and re_test(pp.m, key) then
                matched = true
                l[#l + 1] = pp.node
              end
            end
          end
          if not matched and n.addl and not n.pats_unchecked then
            if n.addl == FALSE_NODE then return nil end
            l[#l + 1] = n.addl
          end
        end
        if n.pnames and not valid_all({ n.pnames }, key) then return nil end
      end
    end
    return l
  end

  local chosen, is_chosen = {}, {}
  local function choose(key)
    if not is_chosen[key] then
      is_chosen[key] = true
      chosen[#chosen + 1] = key
    end
  end
  for _, r in ipairs(req) do
    if not schemas_for(r) then return nil, format("required property '%s' is not allowed", r) end
    choose(r)
  end
  if #chosen > maxp then
    return nil, format("%d required properties, more than maxProperties %d", #chosen, maxp)
  end
  if depth < g.max_depth then
    for _, name in ipairs(names) do
      if not is_chosen[name] and #chosen < maxp and g.rng:float() < g.optional and schemas_for(name) then
        choose(name)
      end
    end
  end
  for _, n in ipairs(leaves) do
    if n.depreq then
      for _, d in ipairs(n.depreq) do
        if is_chosen[d.name] then
          for _, dep in ipairs(d.deps) do choose(dep) end
        end
      end
    end
  end
  local extra = 0
  local function extra_key()
    for _ = 1, 20 do
      extra = extra + 1
      local key
      if #pat_sources > 0 and g.rng:float() < 0.7 then
        local out = {}
        re_gen(pat_sources[g.rng:int(1, #pat_sources)].tree, g.rng, out)
        key = concat(out)
      else
        key = "key" .. extra
      end
      if not is_chosen[key] and schemas_for(key) then return key end
    end
  end
  if ((map_like and not closed) or #pat_sources > 0) and depth < g.max_depth and #chosen < maxp
     and g.rng:float() < g.optional then
    for _ = 1, g.rng:int(1, 2) do
      local key = #chosen < maxp and extra_key()
      if key then choose(key) end
    end
  end
  for _, name in ipairs(names) do
    if #chosen >= minp then break end
    if not is_chosen[name] and schemas_for(name) then choose(name) end
  end
  while #chosen < minp do
    local key = extra_key()
    if not key then return nil, format("cannot reach minProperties %d", minp) end
    choose(key)
  end
  local out = {}
  for _, key in ipairs(chosen) do
    local list = schemas_for(key)
    if not list then return nil, format("property '%s' is not allowed", key) end
    if #list == 0 then list[1] = TRUE_NODE end
    local v, why = gen(list, g, depth + 1)
    if v == nil then
      if reqset[key] or #chosen <= minp then return nil, format("property '%s': %s", key, why) end
    else
      out[key] = v
    end
  end
  return out
end

function SYNTH.array(leaves, g, depth)
  local mini, maxi, unique, contains, need = 0, huge, false, {}, 0
  for _, n in ipairs(leaves) do
    if n.min_items and n.min_items > mini then mini = n.min_items end
    if n.max_items and n.max_items < maxi then maxi = n.max_items end
    if n.items == FALSE_NODE then maxi = min(maxi, n.prefix and #n.prefix or 0) end
    if n.unique then unique = true end
    if n.contains then
      contains[#contains + 1] = n.contains
      need = max(need, n.min_contains or 1)
    end
  end
  mini = max(mini, need)
  if mini > maxi then return nil, format("minItems %d is above maxItems %s", mini, num_text(maxi)) end
  local len
  if depth >= g.max_depth then
    len = mini
  else
    local lo = (mini == 0 and maxi >= 1) and 1 or mini
    len = g.rng:int(lo, min(maxi, lo + g.max_extra))
  end
  local arr = json.array {}
  for i = 1, len do
    local list = {}
    for _, n in ipairs(leaves) do
      local s = (n.prefix and n.prefix[i]) or n.items
      if s and s ~= TRUE_NODE and s ~= FALSE_NODE then list[#list + 1] = s end
    end
    if i <= need then
      for _, c in ipairs(contains) do list[#list + 1] = c end
    end
    if #list == 0 then list[1] = TRUE_NODE end
    local v, why
    for _ = 1, unique and 10 or 1 do
      if unique then g.exclude, g.exclude_n = arr, i - 1 end -- enum values not taken yet
      v, why = gen(list, g, depth + 1)
      if v == nil or not unique then break end
      local dup = false
      for j = 1, i - 1 do
        if equal(arr[j], v) then
          dup = true
          break
        end
      end
      if not dup then break end
      v, why = nil, "uniqueItems: could not make distinct items"
    end
    if v == nil then
      if i > mini then break end
      return nil, format("item %d: %s", i - 1, why)
    end
    arr[i] = v
  end
  return arr
end

local ALL_TYPES = { "string", "integer", "number", "boolean", "object", "array", "null" }
local CONTAINER = { object = true, array = true }

local function type_order(leaves, g, depth)
  local typed, hints = false, {}
  for _, n in ipairs(leaves) do
    if n.types then typed = true end
    if n.obj then hints.object = true end
    if n.arr then hints.array = true end
    if n.str then hints.string = true end
    if n.num then hints.number, hints.integer = true, true end
  end
  local allowed = {}
  for _, t in ipairs(ALL_TYPES) do
    local ok
    if typed then
      ok = true
      for _, n in ipairs(leaves) do
        local nt = n.types
        if nt and not (nt[t] or (t == "integer" and nt.number) or (t == "null" and n.nullable)) then
          ok = false
          break
        end
      end
    elseif next(hints) then
      ok = hints[t]
    else
      ok = not (CONTAINER[t] and depth >= g.max_depth)
    end
    if ok then allowed[#allowed + 1] = t end
  end
  -- shuffled; containers last past the depth bound; null last, or first at times
  local rng = g.rng
  for i = #allowed, 2, -1 do
    local j = rng:int(1, i)
    allowed[i], allowed[j] = allowed[j], allowed[i]
  end
  local out, null, deep = {}, false, {}
  for _, t in ipairs(allowed) do
    if t == "null" then
      null = true
    elseif CONTAINER[t] and depth >= g.max_depth then
      deep[#deep + 1] = t
    else
      out[#out + 1] = t
    end
  end
  for _, t in ipairs(deep) do out[#out + 1] = t end
  if null then
    if #out > 0 and rng:float() >= 0.1 then
      out[#out + 1] = "null"
    else
      table.insert(out, 1, "null")
    end
  end
  return out
end

-- Whether flatten picks among anyOf / oneOf branches for list (then a
-- failed try is worth another).
local function has_branches(list)
  for _, n in ipairs(list) do
    if n.any or n.one then return true end
    if n.ref and has_branches({ n.ref }) then return true end
    if n.all and has_branches(n.all) then return true end
  end
  return false
end

gen = function(list, g, depth)
  if depth > g.max_depth + 8 then return nil, "recursion bound reached (a recursive schema with no end?)" end
  g.budget = g.budget - 1
  if g.budget < 0 then return nil, "size bound reached" end
  local exclude, exclude_n = g.exclude, g.exclude_n
  g.exclude = nil
  local function taken(v)
    for j = 1, exclude and exclude_n or 0 do
      if equal(exclude[j], v) then return true end
    end
    return false
  end
  local last = "no value found"
  for attempt = 1, has_branches(list) and 4 or 1 do
    local leaves, why = flatten(list, g, depth)
    if not leaves then return nil, why end
    if attempt == 1 and g.defaults then
      for _, n in ipairs(leaves) do
        if n.has_default then
          local v = copy_value(n.default)
          if not taken(v) and valid_all(list, v) then return v end
        end
      end
      for _, n in ipairs(leaves) do
        if n.example ~= nil then
          local v = copy_value(n.example)
          if not taken(v) and valid_all(list, v) then return v end
        end
      end
    end
    local cands
    for _, n in ipairs(leaves) do
      if n.has_const then
        cands = { n.const }
        break
      end
      cands = cands or n.enum
    end
    if cands then
      local valid = {}
      for _, c in ipairs(cands) do
        local v = copy_value(c)
        if not taken(v) and valid_all(list, v) then valid[#valid + 1] = v end
      end
      if #valid > 0 then return valid[g.rng:int(1, #valid)] end
      last = "no const or enum value is valid against every schema"
    else
      local order = type_order(leaves, g, depth)
      if #order == 0 then last = "no JSON type satisfies every schema" end
      for _, t in ipairs(order) do
        -- a value not, oneOf or a second pattern refuses is worth another
        -- try: cheap ones more often
        for _ = 1, CONTAINER[t] and 2 or 10 do
          local v, err = SYNTH[t](leaves, g, depth)
          if v == nil then
            last = err
            break
          end
          local ok, failed = valid_all(list, v)
          if ok then return v end
          last = first_error(failed, v)
          g.budget = g.budget - 1
          if g.budget < 0 then return nil, "size bound reached" end
        end
      end
    end
  end
  return nil, last
end

local GEN_OPTIONS = { optional = "number", max_depth = "number", defaults = "boolean", unicode = "boolean",
  max_extra = "number" }

--- schema.generate(compiled, rng, opts) -> value | nil, reason (see the
-- header for opts).
function M.generate(compiled, rng, opts)
  local root = root_of(compiled, "json_schema.generate")
  if type(rng) ~= "table" or type(rng.float) ~= "function" or type(rng.int) ~= "function" then
    error("json_schema.generate: expected an rng (sim.rng.new(seed, stream)), got " .. type(rng), 2)
  end
  opts = opts or {}
  for k, v in pairs(opts) do
    local want = GEN_OPTIONS[k]
    if not want then
      local names = {}
      for name in pairs(GEN_OPTIONS) do names[#names + 1] = name end
      sort(names)
      error(format("json_schema.generate: unknown option '%s' (accepted: %s)", tostring(k),
        concat(names, ", ")), 2)
    end
    if type(v) ~= want then
      error(format("json_schema.generate: option '%s' must be a %s, got %s", k, want, type(v)), 2)
    end
  end
  local g = {
    rng = rng,
    optional = opts.optional or 0.5,
    max_depth = opts.max_depth or 6,
    defaults = opts.defaults ~= false,
    unicode = opts.unicode or false,
    max_extra = opts.max_extra or 3,
    budget = 20000,
  }
  for _ = 1, 4 do
    local v, why = gen({ root }, g, 0)
    if v ~= nil then
      if valid_all({ root }, v) then return v end
      why = first_error(root, v)
    end
    if g.budget < 0 or not has_branches({ root }) then return nil, why end
  end
  return nil, "no valid value found"
end

return M
