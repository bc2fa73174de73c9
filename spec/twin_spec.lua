-- The twin against gofr-dig's wire contract (reference: gofr-dig-contract.md
-- §2–§8 and its §12 checklist), over real sockets on 127.0.0.1: raw HTTP
-- for the transport rules, sim.mcp for the tools, auth, groups, limiter and
-- storage. Each test starts its own twin inside sim.run.
local sim = require "gofr_sim"
local cjson = require "cjson"
local json = require "gofr_sim.util.json"
local twin_mod = require "gofr_sim.twin"
local support = require "support"

local ACCEPT = "application/json, text/event-stream"
local PRIVATE_OK = { GOFR_DIG_ALLOW_PRIVATE_URLS = "true", GOFR_DIG_RATE_LIMIT_CALLS = "100000" }

-- Runs fn(twin) inside sim.run with a fresh twin; closes it after.
local function with_twin(opts, fn)
  if not fn then opts, fn = {}, opts end
  local err
  sim.run(function()
    local o = { fetch_delay = 0, retry_base = 0.01, env = PRIVATE_OK }
    for k, v in pairs(opts) do o[k] = v end
    local t = assert(twin_mod.start(o))
    local ok, e = pcall(fn, t)
    t:close()
    if not ok then err = e end
  end)
  if err then error(err, 0) end
end

local function post(url, body, headers)
  local h = { ["Content-Type"] = "application/json", Accept = ACCEPT }
  for k, v in pairs(headers or {}) do h[k] = v or nil end   -- false removes a default
  return assert(sim.http.request { method = "POST", url = url, body = body, headers = h,
                                   follow_redirects = false })
end

local INIT = cjson.encode { jsonrpc = "2.0", id = 1, method = "initialize",
  params = { protocolVersion = "2025-06-18", capabilities = {},
             clientInfo = { name = "spec", version = "0" } } }

-- -> session id after initialize + notifications/initialized
local function handshake(url)
  local res = post(url, INIT)
  assert.are.equal(200, res.status)
  local sid = res.headers["mcp-session-id"]
  local note = post(url, '{"jsonrpc":"2.0","method":"notifications/initialized"}',
    { ["Mcp-Session-Id"] = sid })
  assert.are.equal(202, note.status)
  return sid
end

-- The JSON-RPC message of a one-event SSE body.
local function sse_payload(body)
  local data = body:match("^event: message\r\ndata: (.-)\r\n\r\n$")
  assert.is_string(data, "not one CRLF SSE message event: " .. body)
  return cjson.decode(data)
end

local function call_raw(url, sid, name, args, id)
  local res = post(url, cjson.encode { jsonrpc = "2.0", id = id or 7, method = "tools/call",
    params = { name = name, arguments = args or {} } }, { ["Mcp-Session-Id"] = sid })
  assert.are.equal(200, res.status)
  return sse_payload(res.body).result
end

describe("the twin", function()
  after_each(function() support.assert_clean() end)

  describe("transport (§2)", function()
    it("answers bare /mcp with 307 to /mcp/ on the request's host", function()
      with_twin(function(t)
        local res = post((t.url:gsub("/mcp/$", "/mcp")), INIT)
        assert.are.equal(307, res.status)
        assert.are.equal(("http://127.0.0.1:%d/mcp/"):format(t.port), res.headers.location)
        assert.are.equal(404, post((t.url:gsub("/mcp/$", "/other")), INIT).status)
      end)
    end)

    it("initialize: 200 SSE with CRLF, 32-hex session id, the real result fields", function()
      with_twin(function(t)
        local res = post(t.url, INIT)
        assert.are.equal(200, res.status)
        assert.are.equal("text/event-stream", res.headers["content-type"])
        assert.are.equal("no-cache, no-transform", res.headers["cache-control"])
        assert.matches("^%x+$", res.headers["mcp-session-id"])
        assert.are.equal(32, #res.headers["mcp-session-id"])
        assert.are.equal(res.headers["mcp-session-id"]:lower(), res.headers["mcp-session-id"])
        local r = sse_payload(res.body)
        assert.are.equal(1, r.id)
        assert.are.equal("2025-06-18", r.result.protocolVersion)
        assert.are.same({ experimental = {}, tools = { listChanged = false } }, r.result.capabilities)
        assert.are.same({ name = "gofr-dig-service", version = "1.23.1" }, r.result.serverInfo)
        assert.is_string(r.result.instructions)
        -- the result is compact JSON in the data line, keys in pydantic's order
        assert.truthy(res.body:find('"result":{"protocolVersion":"2025-06-18","capabilities":'
          .. '{"experimental":{},"tools":{"listChanged":false}},"serverInfo":', 1, true))
      end)
    end)

    it("negotiates an unknown protocol version to 2025-11-25", function()
      with_twin(function(t)
        local res = post(t.url, (INIT:gsub("2025%-06%-18", "1999-01-01")))
        assert.are.equal("2025-11-25", sse_payload(res.body).result.protocolVersion)
      end)
    end)

    it("refuses bad requests with the real status codes and bodies", function()
      with_twin(function(t)
        local sid = handshake(t.url)
        local function rpc_error(res)
          assert.are.equal("application/json", res.headers["content-type"])
          local b = cjson.decode(res.body)
          assert.are.equal("server-error", b.id)
          return b.error.code, b.error.message
        end
        -- Accept without text/event-stream: 406, and a new session id even so
        local r = post(t.url, INIT, { Accept = "application/json" })
        assert.are.equal(406, r.status)
        assert.are.same({ -32600,
          "Not Acceptable: Client must accept both application/json and text/event-stream" },
          { rpc_error(r) })
        assert.are.equal(32, #r.headers["mcp-session-id"])
        -- Content-Type: missing / text/plain -> 400 plain; application/json-rpc -> 415
        r = post(t.url, INIT, { ["Content-Type"] = "text/plain" })
        assert.are.same({ 400, "Invalid Content-Type header" }, { r.status, r.body })
        r = post(t.url, INIT, { ["Content-Type"] = false })
        assert.are.same({ 400, "Invalid Content-Type header" }, { r.status, r.body })
        r = post(t.url, INIT, { ["Content-Type"] = "application/json-rpc" })
        assert.are.equal(415, r.status)
        assert.are.same({ -32600, "Unsupported Media Type: Content-Type must be application/json" },
          { rpc_error(r) })
        -- parse errors and non-messages
        r = post(t.url, "{nope", { ["Mcp-Session-Id"] = sid })
        assert.are.equal(400, r.status)
        local code, msg = rpc_error(r)
        assert.are.equal(-32700, code)
        assert.matches("^Parse error: ", msg)
        r = post(t.url, "[" .. INIT .. "]", { ["Mcp-Session-Id"] = sid })
        assert.are.equal(400, r.status)
        assert.are.equal(-32602, (rpc_error(r)))
        -- session ids: unknown -> 400 plain; missing on a non-initialize -> 400 JSON
        r = post(t.url, '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
          { ["Mcp-Session-Id"] = string.rep("0", 32) })
        assert.are.same({ 400, "Bad Request: No valid session ID provided" }, { r.status, r.body })
        r = post(t.url, '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')
        assert.are.equal(400, r.status)
        assert.are.same({ -32600, "Bad Request: Missing session ID" }, { rpc_error(r) })
        -- protocol version header
        r = post(t.url, '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
          { ["Mcp-Session-Id"] = sid, ["Mcp-Protocol-Version"] = "2020-01-01" })
        assert.are.equal(400, r.status)
        assert.matches("^Bad Request: Unsupported protocol version: 2020%-01%-01", select(2, rpc_error(r)))
        -- other methods: 405 with Allow
        r = assert(sim.http.request { method = "PUT", url = t.url, body = INIT,
          headers = { ["Mcp-Session-Id"] = sid } })
        assert.are.equal(405, r.status)
        assert.are.equal("GET, POST, DELETE", r.headers.allow)
      end)
    end)

    it("DELETE terminates: 200, then 404 'Session has been terminated'", function()
      with_twin(function(t)
        local sid = handshake(t.url)
        local r = assert(sim.http.request { method = "DELETE", url = t.url,
          headers = { ["Mcp-Session-Id"] = sid } })
        assert.are.equal(200, r.status)
        r = post(t.url, '{"jsonrpc":"2.0","id":3,"method":"tools/list"}', { ["Mcp-Session-Id"] = sid })
        assert.are.equal(404, r.status)
        assert.are.equal("Not Found: Session has been terminated", cjson.decode(r.body).error.message)
      end)
    end)

    it("GET opens one standalone stream per session (a second gets 409)", function()
      with_twin(function(t)
        local sid = handshake(t.url)
        local h = sim.spawn(function()
          return sim.http.request { method = "GET", url = t.url, timeout = 5,
            headers = { Accept = "text/event-stream", ["Mcp-Session-Id"] = sid } }
        end)
        sim.sleep(0.2)
        local r = assert(sim.http.request { method = "GET", url = t.url,
          headers = { Accept = "text/event-stream", ["Mcp-Session-Id"] = sid } })
        assert.are.equal(409, r.status)
        -- DELETE ends the open stream
        assert.are.equal(200, assert(sim.http.request { method = "DELETE", url = t.url,
          headers = { ["Mcp-Session-Id"] = sid } }).status)
        local first = sim.wait(h)
        assert.are.equal(200, first.status)
        assert.are.equal("text/event-stream", first.headers["content-type"])
      end)
    end)

    it("lists the 9 tools in the server's order with input schemas, no outputSchema", function()
      with_twin(function(t)
        local sid = handshake(t.url)
        local r = post(t.url, '{"jsonrpc":"2.0","id":"x","method":"tools/list"}',
          { ["Mcp-Session-Id"] = sid })
        local tools = sse_payload(r.body).result.tools
        local names = {}
        for i, tool in ipairs(tools) do
          names[i] = tool.name
          assert.are.equal("object", tool.inputSchema.type)
          assert.is_nil(tool.outputSchema)
        end
        assert.are.same({ "ping", "set_antidetection", "get_content", "get_structure",
          "get_session_info", "get_session_chunk", "list_sessions", "get_session_urls",
          "get_session" }, names)
      end)
    end)

    it("answers unknown methods with -32601 and JSON-RPC ping with {}", function()
      with_twin(function(t)
        local sid = handshake(t.url)
        local r = post(t.url, '{"jsonrpc":"2.0","id":5,"method":"resources/list"}',
          { ["Mcp-Session-Id"] = sid })
        assert.are.equal(-32601, sse_payload(r.body).error.code)
        r = post(t.url, '{"jsonrpc":"2.0","id":6,"method":"ping"}', { ["Mcp-Session-Id"] = sid })
        assert.are.same({}, sse_payload(r.body).result)
      end)
    end)
  end)

  describe("tool results (§2.5, §3, §4)", function()
    it("ping: pretty-printed text, no success key, the real timestamp format", function()
      with_twin({ env = { GOFR_DIG_BUILD_NUMBER = "42.abc1234" } }, function(t)
        local sid = handshake(t.url)
        local result = call_raw(t.url, sid, "ping")
        assert.is_false(result.isError)
        assert.is_nil(result.structuredContent)
        local text = result.content[1].text
        assert.matches('^{\n  "status": "ok",\n  "service": "gofr%-dig",\n  "build": "42.abc1234",\n'
          .. '  "timestamp": "%a%a%a %a%a%a %d%d%d%d %d%d:%d%d:%d%d %w+"\n}$', text)
      end)
    end)

    it("schema violations are isError with plain text and use no rate-limit slot", function()
      with_twin({ env = { GOFR_DIG_RATE_LIMIT_CALLS = "1", GOFR_DIG_ALLOW_PRIVATE_URLS = "1" } }, function(t)
        local sid = handshake(t.url)
        local r = call_raw(t.url, sid, "get_content", { url = "http://x/", depth = 4 })
        assert.is_true(r.isError)
        assert.are.equal("Input validation error: 4 is greater than the maximum of 3", r.content[1].text)
        r = call_raw(t.url, sid, "get_session_info", { session_id = "x", auth_token = cjson.null })
        assert.are.equal("Input validation error: None is not of type 'string'", r.content[1].text)
        -- the one slot is still free
        r = call_raw(t.url, sid, "list_sessions", {})
        assert.is_false(r.isError)
        assert.matches('^{\n  "sessions": %[%],\n  "total": 0\n}$', r.content[1].text)
      end)
    end)

    it("unknown tools: UNKNOWN_TOOL in the _error_response shape", function()
      with_twin(function(t)
        local sid = handshake(t.url)
        local r = call_raw(t.url, sid, "no_such_tool", {})
        assert.is_false(r.isError)
        local d = json.decode(r.content[1].text)
        assert.are.same({ "success", "error_code", "error", "recovery_strategy", "details" }, json.keys(d))
        assert.are.equal("UNKNOWN_TOOL", d.error_code)
        assert.are.equal("Unknown tool: no_such_tool", d.error)
      end)
    end)

    it("serves sim.mcp given the bare /mcp URL (307 followed, method and body kept)", function()
      with_twin(function(t)
        local s = assert(sim.mcp.connect((t.url:gsub("/$", ""))))
        assert.are.equal("2025-11-25", s.protocol_version)
        local r = s:call("ping", {})
        assert.is_true(r.ok)
        assert.are.equal("gofr-dig", r.data.service)
        assert.is_true(s:close())
      end)
    end)

    it("text JSON escapes non-ASCII as \\uXXXX", function()
      with_twin(function(t)
        local sid = handshake(t.url)
        local r = call_raw(t.url, sid, "get_session_info", { session_id = "caf\195\169" })
        local text = r.content[1].text
        assert.truthy(text:find("caf\\u00e9", 1, true))
        assert.is_nil(text:find("\195", 1, true))
      end)
    end)
  end)

  describe("sessions, tokens and groups (§4.5–§4.9, §5, §7)", function()
    local function content(s, t, token, extra)
      local args = { url = t.site_url .. "/index.html", session = true, parse_results = false,
                     auth_token = token }
      for k, v in pairs(extra or {}) do args[k] = v end
      return s:call("get_content", args)
    end

    it("stores sessions in the FileStorage layout and reads them back by chunk", function()
      with_twin(function(t)
        local s = assert(sim.mcp.connect(t.url))
        local apac = t:mint { "apac" }
        local r = content(s, t, apac, { chunk_size = 500 })
        assert.is_true(r.ok, r.message)
        local id = r.data.session_id
        assert.matches("^%x+%-%x+%-4%x+%-%x+%-%x+$", id)
        assert.are.equal("session", r.data.response_type)
        local meta = json.decode(assert(io.open(t.data_dir .. "/storage/sessions/metadata.json")):read("*a"))
        assert.are.same({ "format", "size", "created_at", "group", "url", "chunk_size",
          "total_chunks", "total_chars" }, json.keys(meta[id]))
        assert.are.equal("apac", meta[id].group)
        local blob = assert(io.open(t.data_dir .. "/storage/sessions/" .. id .. ".json")):read("*a")
        assert.are.equal(#blob, meta[id].size)
        -- info: no success key; the real key order
        local info = s:call("get_session_info", { session_id = id, auth_token = apac })
        assert.is_true(info.ok)
        assert.are.same({ "session_id", "url", "created_at", "total_size_bytes", "total_chars",
          "total_chunks", "chunk_size", "group" }, json.keys(json.decode(info.text)))
        -- chunks are bare JSON strings; joined they are the blob
        local parts = {}
        for i = 0, info.data.total_chunks - 1 do
          local c = s:call("get_session_chunk", { session_id = id, chunk_index = i, auth_token = apac })
          assert.is_true(c.ok)
          assert.is_string(c.data)
          assert.are.equal('"', c.text:sub(1, 1))
          parts[#parts + 1] = c.data
        end
        assert.are.equal(blob, table.concat(parts))
        local full = s:call("get_session", { session_id = id, auth_token = apac })
        assert.are.equal(blob, full.data.content)
        -- out of range: the exception shape with SESSION_VALIDATION
        local bad = s:call("get_session_chunk", { session_id = id, chunk_index = 99, auth_token = apac })
        assert.is_false(bad.ok)
        assert.are.equal("SESSION_VALIDATION", bad.error_code)
        assert.are.same({ "success", "error_code", "message", "details", "recovery_strategy" },
          json.keys(json.decode(bad.text)))
        assert.matches("^INVALID_CHUNK_INDEX: Invalid chunk index 99%. Valid range: 0", bad.data.message)
        local missing = s:call("get_session_info", { session_id = "nope", auth_token = apac })
        assert.are.equal("SESSION_NOT_FOUND", missing.error_code)
        assert.are.equal("SESSION_NOT_FOUND: Session not found: nope (details: {'session_id': 'nope'})",
          missing.data.message)
        s:close()
      end)
    end)

    it("primary-group writes, any-group reads, anonymous reads all, list filtering", function()
      with_twin(function(t)
        local s = assert(sim.mcp.connect(t.url))
        local apac, emea, multi = t:mint { "apac" }, t:mint { "emea" }, t:mint { "emea", "apac", "us" }
        local a = content(s, t, apac).data.session_id
        local m = content(s, t, multi).data.session_id        -- owned by emea (primary)
        local p = content(s, t, nil).data.session_id          -- public
        assert.are.equal("emea", s:call("get_session_info", { session_id = m }).data.group)
        assert.are.equal(cjson.null, s:call("get_session_info", { session_id = p }).data.group)
        local denied = s:call("get_session_info", { session_id = a, auth_token = emea })
        assert.are.equal("PERMISSION_DENIED", denied.error_code)
        assert.are.equal("permission_denied", denied.error_type)
        assert.are.equal("Access denied to session " .. a, denied.data.error)
        assert.is_true(s:call("get_session_info", { session_id = a, auth_token = multi }).ok)
        assert.is_true(s:call("get_session_info", { session_id = a }).ok)       -- anonymous
        assert.is_true(s:call("get_session_info", { session_id = p, auth_token = emea }).ok)
        local function listed(token)
          local ids = {}
          for _, info in ipairs(s:call("list_sessions", { auth_token = token }).data.sessions) do
            ids[#ids + 1] = info.session_id
          end
          return ids
        end
        assert.are.same({ a, m, p }, listed(nil))
        assert.are.same({ a }, listed(apac))
        assert.are.same({ m, a }, listed(multi))    -- by token-group order, public excluded
        s:close()
      end)
    end)

    it("verifies tokens as gofr-dig: messages, store, revocation, Bearer, no-auth", function()
      with_twin(function(t)
        local s = assert(sim.mcp.connect(t.url))
        local function auth_message(token)
          local r = s:call("list_sessions", { auth_token = token })
          if r.ok then return "ok" end
          assert.are.equal("AUTH_ERROR", r.error_code)
          assert.are.equal("auth_error", r.error_type)
          return r.data.error
        end
        local good = t:mint { "us" }
        assert.are.equal("ok", auth_message(good))
        assert.are.equal("ok", auth_message("Bearer " .. good))
        assert.are.equal("ok", auth_message("bEaReR   " .. good .. " \n"))
        -- as gofr-dig: "Bearer " is only stripped at the very start
        assert.are.equal("Invalid token: Invalid header padding", auth_message(" bearer " .. good))
        assert.matches("^Invalid token: ", auth_message("invalid.invalid.invalid"))
        local expired = sim.jwt.mint { secret = t.secret, groups = { "us" }, ttl = -10 }
        t.store:register(expired)
        assert.are.equal("Token has expired", auth_message(expired))
        local unregistered = sim.jwt.mint { secret = t.secret, groups = { "us" } }
        local _, claims = sim.jwt.decode(unregistered)
        assert.are.equal(("Token %s not found in token store"):format(claims.jti), auth_message(unregistered))
        assert.are.equal("Invalid token: Signature verification failed",
          auth_message(sim.jwt.mint { secret = "another", groups = { "us" } }))
        local _, gclaims = sim.jwt.decode(good)
        t.store:revoke(gclaims.jti)
        assert.are.equal(("Token %s has been revoked"):format(gclaims.jti), auth_message(good))
        -- group set must match the store's record
        local tok = t:mint { "apac" }
        local _, tclaims = sim.jwt.decode(tok)
        t.store:get(tclaims.jti).groups = json.array { "emea" }
        assert.are.equal("Token groups mismatch in store", auth_message(tok))
        -- get_structure and get_content(session=false) never look at the token
        local r = s:call("get_structure", { url = t.site_url .. "/index.html", auth_token = "garbage" })
        assert.is_true(r.ok, r.message)
        s:close()
      end)
      with_twin({ env = { GOFR_DIG_NO_AUTH = "1", GOFR_DIG_ALLOW_PRIVATE_URLS = "1" } }, function(t)
        local s = assert(sim.mcp.connect(t.url))
        assert.is_true(s:call("list_sessions", { auth_token = "garbage" }).ok)
        s:close()
      end)
    end)

    it("shares a token store file with another process's minting", function()
      local file = os.tmpname()
      os.remove(file)
      with_twin({ token_store = file }, function(t)
        local writer = require("gofr_sim.twin.auth").store { file = file }
        local token = sim.jwt.mint { secret = t.secret, groups = { "apac" } }
        local s = assert(sim.mcp.connect(t.url))
        assert.are.equal("AUTH_ERROR", s:call("list_sessions", { auth_token = token }).error_code)
        writer:register(token)
        assert.is_true(s:call("list_sessions", { auth_token = token }).ok)
        s:close()
      end)
      os.remove(file)
    end)
  end)

  describe("inbound rate limiter (§6)", function()
    it("denies inside a 200 per primary group; ping exempt; bad tokens share anonymous", function()
      local env = { GOFR_DIG_RATE_LIMIT_CALLS = "2", GOFR_DIG_RATE_LIMIT_WINDOW = "60",
                    GOFR_DIG_ALLOW_PRIVATE_URLS = "1" }
      with_twin({ env = env }, function(t)
        local s = assert(sim.mcp.connect(t.url))
        local apac, apac2, emea = t:mint { "apac" }, t:mint { "apac", "us" }, t:mint { "emea" }
        assert.is_true(s:call("list_sessions", { auth_token = apac }).ok)
        assert.is_true(s:call("list_sessions", { auth_token = apac2 }).ok)   -- same bucket
        local denied = s:call("list_sessions", { auth_token = apac })
        assert.is_false(denied.ok)
        assert.are.equal("rate_limit_exceeded", denied.error_type)
        assert.is_false(denied.is_error)
        assert.are.equal("Rate limit exceeded: 2 calls per window. Retry in 60s.", denied.data.error)
        assert.are.same({ remaining = 0, limit = 2, reset_seconds = 60 }, denied.data.details)
        assert.is_true(s:call("ping", {}).ok)
        assert.is_true(s:call("list_sessions", { auth_token = emea }).ok)
        -- anonymous and an invalid token share __anonymous__
        assert.is_true(s:call("list_sessions", {}).ok)
        assert.are.equal("AUTH_ERROR",
          s:call("list_sessions", { auth_token = "invalid.invalid.invalid" }).error_code)
        assert.are.equal("RATE_LIMIT_EXCEEDED", s:call("list_sessions", {}).error_code)
        -- unknown tools use a slot too
        assert.are.equal("UNKNOWN_TOOL", s:call("no_such_tool", { auth_token = emea }).error_code)
        assert.are.equal("RATE_LIMIT_EXCEEDED", s:call("list_sessions", { auth_token = emea }).error_code)
        s:close()
      end)
    end)
  end)

  describe("fetching (§10, §11)", function()
    it("refuses private addresses unless GOFR_DIG_ALLOW_PRIVATE_URLS", function()
      with_twin({ env = { GOFR_DIG_ALLOW_PRIVATE_URLS = "false" } }, function(t)
        local s = assert(sim.mcp.connect(t.url))
        local r = s:call("get_structure", { url = t.site_url .. "/index.html" })
        assert.are.equal("SSRF_BLOCKED", r.error_code)
        -- get_content inline at depth 1: the per-page failure dict
        r = s:call("get_content", { url = t.site_url .. "/index.html", parse_results = false })
        assert.is_false(r.ok)
        assert.are.equal("SSRF_BLOCKED", r.data.error_code)
        assert.are.equal(0, r.data.status_code)
        assert.are.equal("inline", r.data.response_type)
        s:close()
      end)
    end)

    it("honours robots.txt and classifies fetch failures", function()
      with_twin(function(t)
        local s = assert(sim.mcp.connect(t.url))
        local r = s:call("get_structure", { url = t.site_url .. "/private/index.html" })
        assert.are.equal("ROBOTS_BLOCKED", r.error_code)
        r = s:call("get_content", { url = t.site_url .. "/admin/", parse_results = false })
        assert.is_true(r.data.robots_blocked)
        assert.is_nil(r.data.error_code)
        r = s:call("get_structure", { url = t.site_url .. "/missing.html" })
        assert.are.equal("URL_NOT_FOUND", r.error_code)
        assert.are.same({ url = t.site_url .. "/missing.html", status_code = 404 }, r.data.details)
        -- depth 1 + session: a failed page is still stored (the real quirk)
        r = s:call("get_content",
          { url = t.site_url .. "/missing.html", session = true, parse_results = false })
        assert.is_true(r.ok)
        assert.are.equal("session", r.data.response_type)
        s:close()
      end)
    end)

    it("waits the per-host politeness delay between fetches", function()
      with_twin({ fetch_delay = 0.3 }, function(t)
        local s = assert(sim.mcp.connect(t.url))
        local t0 = sim.now()
        assert.is_true(s:call("get_structure", { url = t.site_url .. "/index.html" }).ok)
        assert.is_true(s:call("get_structure", { url = t.site_url .. "/about.html" }).ok)
        assert.is_true(sim.now() - t0 >= 0.3)
        s:close()
      end)
    end)

    it("extracts pages and crawls same-host links at depth 2", function()
      with_twin(function(t)
        local s = assert(sim.mcp.connect(t.url))
        local r = s:call("get_content", { url = t.site_url .. "/index.html", parse_results = false })
        assert.is_true(r.ok, r.message)
        assert.are.equal("inline", r.data.response_type)
        assert.is_string(r.data.title)
        assert.is_true(#r.data.text > 0)
        r = s:call("get_content", { url = t.site_url .. "/index.html", parse_results = false,
                                    depth = 2, max_pages_per_level = 3 })
        assert.is_true(r.ok, r.message)
        assert.are.equal(2, r.data.crawl_depth)
        assert.is_true(r.data.summary.total_pages >= 2)
        assert.are.equal(r.data.summary.total_pages, #r.data.pages)
        r = s:call("get_content", { url = t.site_url .. "/index.html" })    -- the news feed
        assert.is_true(r.ok, r.message)
        assert.is_table(r.data.feed_meta)
        assert.are.equal(1, r.data.crawl_depth)
        s:close()
      end)
    end)
  end)

  describe("JSON-RPC ids (issue 12 §5)", function()
    -- python-sdk 1.23.1: RequestId = Annotated[int, Field(strict=True)] | str
    -- over json.loads, so integer ids are exact Python ints
    local function init_with(id_text)
      return '{"jsonrpc":"2.0","id":' .. id_text .. ',"method":"initialize","params":'
        .. '{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"spec","version":"0"}}}'
    end
    local function rpc(url, sid, id_text, method)
      return post(url, ('{"jsonrpc":"2.0","id":%s,"method":"%s"}'):format(id_text, method or "ping"),
        sid and { ["Mcp-Session-Id"] = sid } or nil)
    end

    it("echoes integer ids a double cannot hold exactly (2^53 + 1, -2^63, 10^30)", function()
      with_twin(function(t)
        local res = post(t.url, init_with("9007199254740993"))
        assert.are.equal(200, res.status)
        assert.truthy(res.body:find('"id":9007199254740993,', 1, true), res.body)
        local sid = res.headers["mcp-session-id"]
        assert.are.equal(202, post(t.url, '{"jsonrpc":"2.0","method":"notifications/initialized"}',
          { ["Mcp-Session-Id"] = sid }).status)
        for _, id in ipairs { "9007199254740993", "-9007199254740993", "-9223372036854775808",
                              "123456789012345678901234567890", "9007199254740992", "7", '"x"' } do
          for _, method in ipairs { "ping", "tools/list" } do
            local r = rpc(t.url, sid, id, method)
            assert.are.equal(200, r.status)
            assert.truthy(r.body:find('data: {"jsonrpc":"2.0","id":' .. id .. ',"result":{', 1, true),
              id .. " " .. method .. ": " .. r.body:sub(1, 200))
            local m = assert(json.decode(r.body:match("data: (.-)\r\n")))
            assert.are.equal(json.decode(id), m.id)
          end
        end
        -- an error answer echoes it too
        local r = rpc(t.url, sid, "9007199254740993", "resources/list")
        assert.truthy(r.body:find('{"jsonrpc":"2.0","id":9007199254740993,"error":{"code":-32601,', 1, true),
          r.body)
      end)
    end)

    it("takes a message whose id is no integer or string (1e999) as a notification, as the SDK", function()
      with_twin(function(t)
        -- pydantic refuses inf (and 1.5, null, true) as a RequestId; the
        -- union then takes JSONRPCNotification (extra="allow"): 202, no body
        local sid = handshake(t.url)
        for _, id in ipairs { "1e999", "-1e999", "1.5", "null", "true", "[1]" } do
          local r = rpc(t.url, sid, id, "ping")
          assert.are.same({ 202, "" }, { r.status, r.body }, id)
        end
        -- an initialize with that id is not an initialization: without a
        -- session id it is refused, with a JSON-RPC error body that is JSON
        local r = post(t.url, init_with("1e999"))
        assert.are.equal(400, r.status)
        assert.are.equal("application/json", r.headers["content-type"])
        assert.is_nil(r.body:find("Infinity", 1, true))
        local b = assert(json.decode(r.body))
        assert.are.equal("server-error", b.id)
        assert.are.same({ -32600, "Bad Request: Missing session ID" }, { b.error.code, b.error.message })
        -- the session still answers
        r = rpc(t.url, sid, "8", "ping")
        assert.are.equal('{"jsonrpc":"2.0","id":8,"result":{}}', r.body:match("data: (.-)\r\n"))
      end)
    end)
  end)
end)

describe("the twin's faults", function()
  it("are parsed from 'a,b' by one function, which names the known ones on a typo", function()
    assert.are.same({}, twin_mod.parse_faults(nil))
    assert.are.same({ groups_leak = true, list_all = true }, twin_mod.parse_faults("groups_leak, list_all"))
    local set, why = twin_mod.parse_faults("groups_leak,bogus")
    assert.is_nil(set)
    assert.matches("^unknown fault 'bogus' %(known: accept_expired, groups_leak, ", why)
    -- twin.start refuses them before it makes a data directory
    local core = require "gofr_sim.core"
    local tmp = (os.getenv("TMPDIR") or ""):gsub("/+$", "")
    if tmp == "" then tmp = "/tmp" end
    local function own_dirs()
      local n, prefix = 0, "gofr-sim-twin." .. core.process_id() .. "."
      for _, name in ipairs(core.fs_list(tmp) or {}) do
        if name:sub(1, #prefix) == prefix then n = n + 1 end
      end
      return n
    end
    local before = own_dirs()
    local ok, err = pcall(twin_mod.start, { faults = "bogus" })
    assert.is_false(ok)
    assert.are.equal("twin: " .. why, err)
    assert.are.equal(before, own_dirs())
  end)
end)
