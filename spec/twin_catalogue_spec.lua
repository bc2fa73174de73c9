-- gofr_sim.twin.catalogue and gofr_sim.twin.validate: the twin's tools/list
-- answer and its argument validation, message for message.
--
-- The expected schemas are gofr-dig's handle_list_tools (app/mcp_server/
-- mcp_server.py @88cc304) without the descriptions; the expected messages
-- were produced by python-jsonschema 4.26.0's jsonschema.validate against
-- those schemas (what the MCP SDK 1.23.1 reports after "Input validation
-- error: ").
local cjson = require "cjson"
local json = require "gofr_sim.util.json"
local catalogue = require "gofr_sim.twin.catalogue"
local validate = require "gofr_sim.twin.validate"

local NULL = cjson.null
local PROFILES = "['stealth', 'balanced', 'none', 'custom', 'browser_tls']"

local function token() return { type = "string" } end

-- The real inputSchemas, descriptions left out.
local SCHEMAS = {
  ping = { type = "object", properties = {} },
  set_antidetection = {
    type = "object",
    properties = {
      profile = { type = "string", enum = { "stealth", "balanced", "none", "custom", "browser_tls" } },
      custom_headers = { type = "object", additionalProperties = { type = "string" } },
      custom_user_agent = { type = "string" },
      rate_limit_delay = { type = "number", minimum = 0 },
      max_response_chars = { type = "integer", minimum = 4000, maximum = 4000000, default = 400000 },
      auth_token = token(),
    },
    required = { "profile" },
  },
  get_content = {
    type = "object",
    properties = {
      url = { type = "string" },
      depth = { type = "integer", minimum = 1, maximum = 3, default = 1 },
      max_pages_per_level = { type = "integer", minimum = 1, maximum = 20, default = 5 },
      selector = { type = "string" },
      include_links = { type = "boolean" },
      include_images = { type = "boolean" },
      include_meta = { type = "boolean" },
      session = { type = "boolean", default = false },
      filter_noise = { type = "boolean", default = true },
      chunk_size = { type = "integer" },
      max_bytes = { type = "integer", default = 5242880 },
      timeout_seconds = { type = "number", minimum = 1, default = 60 },
      parse_results = { type = "boolean", default = true },
      source_profile_name = { type = "string" },
      auth_token = token(),
    },
    required = { "url" },
  },
  get_structure = {
    type = "object",
    properties = {
      url = { type = "string" },
      selector = { type = "string" },
      include_navigation = { type = "boolean" },
      include_internal_links = { type = "boolean" },
      include_external_links = { type = "boolean" },
      include_forms = { type = "boolean" },
      include_outline = { type = "boolean" },
      timeout_seconds = { type = "number", minimum = 1, default = 60 },
      auth_token = token(),
    },
    required = { "url" },
  },
  get_session_info = {
    type = "object",
    properties = { session_id = { type = "string" }, auth_token = token() },
    required = { "session_id" },
  },
  get_session_chunk = {
    type = "object",
    properties = {
      session_id = { type = "string" }, chunk_index = { type = "integer" }, auth_token = token(),
    },
    required = { "session_id", "chunk_index" },
  },
  list_sessions = { type = "object", properties = { auth_token = token() } },
  get_session_urls = {
    type = "object",
    properties = {
      session_id = { type = "string" },
      as_json = { type = "boolean", default = true },
      base_url = { type = "string" },
      auth_token = token(),
    },
    required = { "session_id" },
  },
  get_session = {
    type = "object",
    properties = {
      session_id = { type = "string" },
      max_bytes = { type = "integer", default = 5242880 },
      timeout_seconds = { type = "number", minimum = 1, default = 60 },
      auth_token = token(),
    },
    required = { "session_id" },
  },
}

-- The real annotations (hints the server leaves unset are absent).
local function ro(title)
  return { title = title, readOnlyHint = true, idempotentHint = true, openWorldHint = false }
end
local ANNOTATIONS = {
  ping = ro("Ping"),
  set_antidetection = { title = "Set Anti-Detection", readOnlyHint = false, destructiveHint = false,
                        idempotentHint = true, openWorldHint = false },
  get_content = { title = "Get Content", readOnlyHint = false, destructiveHint = false,
                  idempotentHint = false, openWorldHint = true },
  get_structure = { title = "Get Structure", readOnlyHint = true, idempotentHint = true,
                    openWorldHint = true },
  get_session_info = ro("Get Session Info"),
  get_session_chunk = ro("Get Session Chunk"),
  list_sessions = ro("List Sessions"),
  get_session_urls = ro("Get Session URLs"),
  get_session = ro("Get Full Session"),
}

local ORDER = { "ping", "set_antidetection", "get_content", "get_structure", "get_session_info",
                "get_session_chunk", "list_sessions", "get_session_urls", "get_session" }

-- A copy of a schema without its "description" keys.
local function strip(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if k ~= "description" then out[k] = strip(x) end
  end
  return out
end

local function check(tool, args)
  return validate.check(catalogue.by_name[tool].inputSchema, args)
end

describe("gofr_sim.twin.catalogue", function()
  it("lists the 9 tools in the server's order, indexed by name", function()
    assert.are.equal(#ORDER, #catalogue.tools)
    for i, name in ipairs(ORDER) do
      local tool = catalogue.tools[i]
      assert.are.equal(name, tool.name)
      assert.are.equal(tool, catalogue.by_name[name])
    end
  end)

  it("has the real inputSchemas: types, enums, bounds, defaults, required", function()
    for _, name in ipairs(ORDER) do
      assert.are.same(SCHEMAS[name], strip(catalogue.by_name[name].inputSchema), name)
    end
  end)

  it("has the real required lists", function()
    local required = {
      set_antidetection = { "profile" }, get_content = { "url" }, get_structure = { "url" },
      get_session_info = { "session_id" }, get_session_chunk = { "session_id", "chunk_index" },
      get_session_urls = { "session_id" }, get_session = { "session_id" },
    }
    for _, name in ipairs(ORDER) do
      assert.are.same(required[name], catalogue.by_name[name].inputSchema.required, name)
    end
  end)

  it("has the real annotations and no outputSchema", function()
    for _, name in ipairs(ORDER) do
      local tool = catalogue.by_name[name]
      assert.are.same(ANNOTATIONS[name], tool.annotations, name)
      assert.is_nil(tool.outputSchema)
    end
  end)

  it("describes every tool and property, and offers auth_token everywhere but ping", function()
    for _, tool in ipairs(catalogue.tools) do
      assert.is_true(#tool.description > 20, tool.name)
      for pname, p in pairs(tool.inputSchema.properties) do
        assert.is_string(p.description, tool.name .. "." .. pname)
      end
      assert.are.equal(tool.name ~= "ping", tool.inputSchema.properties.auth_token ~= nil)
    end
  end)

  it("encodes as JSON with ping's properties as an object", function()
    local ping = json.decode(json.encode(catalogue.by_name.ping))
    assert.is_true(json.is_object(ping.inputSchema.properties))
    assert.matches('"properties":{}', json.encode(catalogue.by_name.ping.inputSchema), 1, true)
    local chunk = json.encode(catalogue.by_name.get_session_chunk.inputSchema)
    assert.matches('"required":["session_id","chunk_index"]', chunk, 1, true)
    local enum = json.encode(catalogue.by_name.set_antidetection.inputSchema.properties.profile.enum)
    assert.are.equal('["stealth","balanced","none","custom","browser_tls"]', enum)
  end)
end)

describe("gofr_sim.twin.validate.check", function()
  -- { tool, arguments, expected message }
  local VIOLATIONS = {
    -- missing required properties (the first missing one in `required` order)
    { "get_content", {}, "'url' is a required property" },
    { "get_content", { depth = 0 }, "'url' is a required property" },
    { "get_structure", {}, "'url' is a required property" },
    { "get_session_info", {}, "'session_id' is a required property" },
    { "get_session_chunk", {}, "'session_id' is a required property" },
    { "get_session_chunk", { session_id = "s" }, "'chunk_index' is a required property" },
    { "get_session_chunk", { chunk_index = 1 }, "'session_id' is a required property" },
    { "get_session_chunk", { chunk_index = "x" }, "'session_id' is a required property" },
    { "get_session_urls", { as_json = true }, "'session_id' is a required property" },
    { "get_session", {}, "'session_id' is a required property" },
    { "set_antidetection", {}, "'profile' is a required property" },
    { "set_antidetection", { rate_limit_delay = -1 }, "'profile' is a required property" },
    -- bounds
    { "get_content", { url = "u", depth = 0 }, "0 is less than the minimum of 1" },
    { "get_content", { url = "u", depth = -1 }, "-1 is less than the minimum of 1" },
    { "get_content", { url = "u", depth = 4 }, "4 is greater than the maximum of 3" },
    { "get_content", { url = "u", depth = 0.5 }, "0.5 is not of type 'integer'" },
    { "get_content", { url = "u", depth = 3.5 }, "3.5 is not of type 'integer'" },
    { "get_content", { url = "u", max_pages_per_level = 21 }, "21 is greater than the maximum of 20" },
    { "get_content", { url = "u", max_pages_per_level = 0 }, "0 is less than the minimum of 1" },
    { "get_content", { url = "u", timeout_seconds = 0 }, "0 is less than the minimum of 1" },
    { "get_content", { url = "u", timeout_seconds = 0.999 }, "0.999 is less than the minimum of 1" },
    { "get_content", { url = "u", timeout_seconds = -5 }, "-5 is less than the minimum of 1" },
    { "get_content", { url = "u", timeout_seconds = 1e-05 }, "1e-05 is less than the minimum of 1" },
    { "get_content", { url = "u", timeout_seconds = 0.0001 }, "0.0001 is less than the minimum of 1" },
    { "get_content", { url = "u", timeout_seconds = -2.5e-10 }, "-2.5e-10 is less than the minimum of 1" },
    { "get_content", { url = "u", timeout_seconds = -123456.789 },
      "-123456.789 is less than the minimum of 1" },
    { "get_structure", { url = "u", timeout_seconds = 0.5 }, "0.5 is less than the minimum of 1" },
    { "get_session", { session_id = "s", timeout_seconds = 0 }, "0 is less than the minimum of 1" },
    { "set_antidetection", { profile = "none", rate_limit_delay = -1 }, "-1 is less than the minimum of 0" },
    { "set_antidetection", { profile = "none", rate_limit_delay = -0.5 },
      "-0.5 is less than the minimum of 0" },
    { "set_antidetection", { profile = "none", max_response_chars = 3999 },
      "3999 is less than the minimum of 4000" },
    { "set_antidetection", { profile = "none", max_response_chars = 4000001 },
      "4000001 is greater than the maximum of 4000000" },
    { "set_antidetection", { profile = "none", max_response_chars = 400000.5 },
      "400000.5 is not of type 'integer'" },
    { "set_antidetection", { profile = "none", max_response_chars = 1e20 },
      "1e+20 is greater than the maximum of 4000000" },   -- beyond 2^63: a Python float
    -- types
    { "get_content", { url = "u", depth = "1" }, "'1' is not of type 'integer'" },
    { "get_content", { url = "u", depth = true }, "True is not of type 'integer'" },
    { "get_content", { url = "u", depth = NULL }, "None is not of type 'integer'" },
    { "get_content", { url = "u", depth = { 1, "a" } }, "[1, 'a'] is not of type 'integer'" },
    { "get_content", { url = "u", depth = { a = 1 } }, "{'a': 1} is not of type 'integer'" },
    { "get_content", { url = NULL }, "None is not of type 'string'" },
    { "get_content", { url = "u", timeout_seconds = "60" }, "'60' is not of type 'number'" },
    { "get_content", { url = "u", timeout_seconds = false }, "False is not of type 'number'" },
    { "get_content", { url = "u", max_bytes = 1.25 }, "1.25 is not of type 'integer'" },
    { "get_content", { url = "u", chunk_size = 1.5 }, "1.5 is not of type 'integer'" },
    { "get_content", { url = "u", include_links = "true" }, "'true' is not of type 'boolean'" },
    { "get_content", { url = "u", include_images = 1 }, "1 is not of type 'boolean'" },
    { "get_session_chunk", { session_id = "s", chunk_index = "1" }, "'1' is not of type 'integer'" },
    { "get_session_chunk", { session_id = "s", chunk_index = 1.5 }, "1.5 is not of type 'integer'" },
    { "get_session_chunk", { session_id = "s", chunk_index = NULL }, "None is not of type 'integer'" },
    { "get_session_chunk", { session_id = "s", chunk_index = true }, "True is not of type 'integer'" },
    { "get_session_chunk", { session_id = 5 }, "'chunk_index' is a required property" },
    { "get_session_info", { session_id = { "a" } }, "['a'] is not of type 'string'" },
    { "get_session_urls", { session_id = "s", as_json = "true" }, "'true' is not of type 'boolean'" },
    { "get_session", { session_id = NULL }, "None is not of type 'string'" },
    { "get_session", { session_id = "s", max_bytes = "1" }, "'1' is not of type 'integer'" },
    { "list_sessions", { auth_token = false }, "False is not of type 'string'" },
    { "set_antidetection", { profile = "custom", custom_user_agent = 5 }, "5 is not of type 'string'" },
    { "set_antidetection", { profile = "custom", custom_headers = "x" }, "'x' is not of type 'object'" },
    { "set_antidetection", { profile = "custom", custom_headers = { "x" } },
      "['x'] is not of type 'object'" },
    { "set_antidetection", { profile = "custom", custom_headers = { A = 1 } }, "1 is not of type 'string'" },
    -- enum (a wrong type reports the type first)
    { "set_antidetection", { profile = "evil" }, "'evil' is not one of " .. PROFILES },
    { "set_antidetection", { profile = "" }, "'' is not one of " .. PROFILES },
    { "set_antidetection", { profile = "STEALTH" }, "'STEALTH' is not one of " .. PROFILES },
    { "set_antidetection", { profile = 1 }, "1 is not of type 'string'" },
    { "set_antidetection", { profile = NULL }, "None is not of type 'string'" },
    { "set_antidetection", { profile = "it's" }, "\"it's\" is not one of " .. PROFILES },
    { "set_antidetection", { profile = "\237\160\128" }, "'\\ud800' is not one of " .. PROFILES },
    -- auth_token: null is refused by every tool that takes one
    { "get_content", { url = "u", auth_token = NULL }, "None is not of type 'string'" },
    { "get_structure", { url = "u", auth_token = 12 }, "12 is not of type 'string'" },
    { "get_session_info", { session_id = "s", auth_token = NULL }, "None is not of type 'string'" },
    { "get_session_chunk", { session_id = "s", chunk_index = 0, auth_token = NULL },
      "None is not of type 'string'" },
    { "list_sessions", { auth_token = NULL }, "None is not of type 'string'" },
    { "get_session_urls", { session_id = "s", auth_token = NULL }, "None is not of type 'string'" },
    { "get_session", { session_id = "s", auth_token = NULL }, "None is not of type 'string'" },
    { "set_antidetection", { profile = "none", auth_token = NULL }, "None is not of type 'string'" },
  }

  for _, case in ipairs(VIOLATIONS) do
    local tool, args, want = case[1], case[2], case[3]
    it(("%s %s -> %s"):format(tool, cjson.encode(args), want), function()
      local ok, msg = check(tool, args)
      assert.is_false(ok)
      assert.are.equal(want, msg)
    end)
  end

  -- Several errors: best_match prefers the shallowest path, then (at equal
  -- depth) the property name that sorts last, then the first keyword.
  local PICKS = {
    { "get_content", { url = 1, depth = 0 }, "1 is not of type 'string'" },
    { "get_content", { url = "u", depth = 0, max_pages_per_level = 99, timeout_seconds = 0 },
      "0 is less than the minimum of 1" },   -- timeout_seconds sorts last
    { "get_content", { url = "u", depth = 0, max_pages_per_level = 99 },
      "99 is greater than the maximum of 20" },
    { "get_content", { url = "u", depth = 0, auth_token = NULL }, "0 is less than the minimum of 1" },
    { "get_content", { url = "u", depth = 9, session = "yes", chunk_size = 1.5 },
      "'yes' is not of type 'boolean'" },
    { "get_content", { url = "u", include_links = "true", include_images = 1, include_meta = NULL,
                       filter_noise = 0, parse_results = "no" }, "'no' is not of type 'boolean'" },
    { "get_content", { url = "u", selector = 1, source_profile_name = 2 }, "2 is not of type 'string'" },
    { "get_content", { url = "u", max_bytes = "big", chunk_size = -3 }, "'big' is not of type 'integer'" },
    { "get_structure", { url = "u", include_navigation = "x", include_outline = 1, selector = 3 },
      "3 is not of type 'string'" },
    { "get_session_urls", { session_id = "s", as_json = "true", base_url = 1 },
      "1 is not of type 'string'" },
    { "get_session_chunk", { session_id = 5, chunk_index = "x" }, "5 is not of type 'string'" },
    { "set_antidetection", { profile = "custom", custom_headers = { A = 1, B = true } },
      "True is not of type 'string'" },
    { "set_antidetection", { profile = "custom", custom_headers = { A = 1 }, rate_limit_delay = -1 },
      "-1 is less than the minimum of 0" },
    { "set_antidetection", { profile = "custom", custom_headers = { A = 1 }, auth_token = 1 },
      "1 is not of type 'string'" },
  }

  for _, case in ipairs(PICKS) do
    local tool, args, want = case[1], case[2], case[3]
    it(("picks like best_match: %s %s"):format(tool, cjson.encode(args)), function()
      local ok, msg = check(tool, args)
      assert.is_false(ok)
      assert.are.equal(want, msg)
    end)
  end

  it("passes valid calls", function()
    local VALID = {
      { "ping", {} },
      { "set_antidetection", { profile = "stealth" } },
      { "set_antidetection", { profile = "browser_tls", rate_limit_delay = 0, max_response_chars = 4000 } },
      { "set_antidetection", { profile = "custom", custom_headers = { ["Accept-Language"] = "en" },
                               custom_user_agent = "ua", rate_limit_delay = 0.25,
                               max_response_chars = 4000000, auth_token = "t" } },
      { "set_antidetection", { profile = "custom", custom_headers = {} } },
      { "get_content", { url = "http://x" } },
      { "get_content", { url = "", depth = 3, max_pages_per_level = 20, selector = "#main",
                         include_links = false, include_images = true, include_meta = false,
                         session = true, filter_noise = false, chunk_size = -3, max_bytes = 0,
                         timeout_seconds = 1, parse_results = false, source_profile_name = "scmp",
                         auth_token = "Bearer x" } },
      { "get_content", { url = "u", depth = 1.0, timeout_seconds = 1.5 } },
      { "get_structure", { url = "u", include_forms = true, timeout_seconds = 600 } },
      { "get_session_info", { session_id = "s" } },
      { "get_session_chunk", { session_id = "", chunk_index = -1 } },
      { "get_session_chunk", { session_id = "s", chunk_index = 99999 } },
      { "list_sessions", {} },
      { "get_session_urls", { session_id = "s", as_json = false, base_url = "http://h" } },
      { "get_session", { session_id = "s", max_bytes = 1, timeout_seconds = 1 } },
    }
    for _, case in ipairs(VALID) do
      assert.is_true(check(case[1], case[2]), case[1] .. " " .. cjson.encode(case[2]))
    end
  end)

  it("passes unknown extra arguments (no additionalProperties:false)", function()
    assert.is_true(check("ping", { anything = NULL }))
    assert.is_true(check("get_content", { url = "u", extra = { 1 } }))
    assert.is_true(check("get_session", { session_id = "s", depth = 99, profile = "evil" }))
    assert.is_true(check("list_sessions", { unknown = "x" }))
  end)

  it("treats absent or null arguments as {}", function()
    assert.is_true(check("ping", nil))
    assert.is_true(check("list_sessions", NULL))
    assert.are.same({ false, "'url' is a required property" }, { check("get_content", nil) })
  end)

  it("takes arguments decoded by cjson and by gofr_sim.util.json alike", function()
    local text = '{"url":"u","depth":"2","auth_token":null}'
    assert.are.same({ false, "'2' is not of type 'integer'" }, { check("get_content", cjson.decode(text)) })
    assert.are.same({ false, "'2' is not of type 'integer'" }, { check("get_content", json.decode(text)) })
    -- ordered objects keep their key order in the message; json arrays print as lists
    local nested = json.decode('{"url":{"z":[1,{"b":null}],"a":[true,false,[]]}}')
    assert.are.same({ false, "{'z': [1, {'b': None}], 'a': [True, False, []]} is not of type 'string'" },
                    { check("get_content", nested) })
    assert.are.same({ false, "[] is not of type 'object'" },
                    { check("set_antidetection", json.decode('{"profile":"custom","custom_headers":[]}')) })
  end)

  it("raises on a schema keyword it does not implement", function()
    assert.has_error(function() validate.check({ type = "string", pattern = "^a" }, "a") end,
                     "gofr_sim.twin.validate: unsupported schema keyword 'pattern'")
  end)

  it("supports lists of types", function()
    local schema = { type = "object", properties = { x = { type = { "string", "null" } } } }
    assert.is_true(validate.check(schema, { x = NULL }))
    assert.is_true(validate.check(schema, { x = "s" }))
    assert.are.same({ false, "1 is not of type 'string', 'null'" }, { validate.check(schema, { x = 1 }) })
  end)
end)

describe("gofr_sim.twin.validate.python_repr", function()
  local CASES = {
    { "abc", "'abc'" },
    { "", "''" },
    { "it's", "\"it's\"" },
    { 'say "hi"', "'say \"hi\"'" },
    { "both ' and \"", "'both \\' and \"'" },
    { "back\\slash", "'back\\\\slash'" },
    { "tab\there\n\r", "'tab\\there\\n\\r'" },
    { "\1\127", "'\\x01\\x7f'" },
    { "café 日本", "'café 日本'" },
    { "\u{A0}nb", "'\\xa0nb'" },          -- no-break space is not printable
    { "\u{AD}", "'\\xad'" },
    { "zw\u{200B}", "'zw\\u200b'" },
    { "\u{2028}", "'\\u2028'" },
    { "😀", "'😀'" },
    { "\u{E000}", "'\\ue000'" },          -- private use
    { "\u{F0000}", "'\\U000f0000'" },
    { "\255", "'\\xff'" },                -- not UTF-8
    { "\192\175", "'\\xc0\\xaf'" },        -- an overlong form: not UTF-8
    -- encoded surrogates, read as gofr-dig's json.loads(bytes) reads a
    -- request (surrogatepass): lone surrogates, which repr escapes
    { "\237\160\128", "'\\ud800'" },
    { "a\237\191\191", "'a\\udfff'" },
    { true, "True" },
    { false, "False" },
    { NULL, "None" },
    { json.null, "None" },
    { 0, "0" },
    { -0.0, "0" },
    { 42, "42" },
    { -7, "-7" },
    { 1e15, "1000000000000000" },
    { 1.5, "1.5" },
    { 0.1, "0.1" },
    { -0.5, "-0.5" },
    { 1e-05, "1e-05" },
    { 1.5e-07, "1.5e-07" },
    { 0.0001, "0.0001" },
    { 123456789.123, "123456789.123" },
    { 629487440159616.25, "629487440159616.2" },   -- ties round to even, like Python
    { 5e-324, "5e-324" },
    { 1e300, "1e+300" },
    { 1 / 0, "inf" },
    { -1 / 0, "-inf" },
    { { 1, "a" }, "[1, 'a']" },
    { { a = 1 }, "{'a': 1}" },
    { { b = 2, a = { 1, { c = NULL } } }, "{'a': [1, {'c': None}], 'b': 2}" },   -- plain tables: sorted
    { {}, "{}" },
    { json.array {}, "[]" },
    { json.object("z", 1, "a", "x"), "{'z': 1, 'a': 'x'}" },
    { { "it's", { true } }, "[\"it's\", [True]]" },
  }
  for _, case in ipairs(CASES) do
    it(("renders %s"):format(case[2]), function()
      assert.are.equal(case[2], validate.python_repr(case[1]))
    end)
  end

  it("renders nan", function()
    assert.are.equal("nan", validate.python_repr(0 / 0))
  end)

  it("raises on values JSON cannot hold", function()
    assert.has_error(function() validate.python_repr(print) end)
  end)
end)
