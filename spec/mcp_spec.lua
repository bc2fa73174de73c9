-- sim.mcp: result decoding (MCP's rules, and gofr-dig's on top:
-- gofr_sim.gofr_dig.results) and error classes (no peers), then the client
-- against real peers on 127.0.0.1, run as child processes from build/test-peers
-- (scripts/install-test-peers.sh, run from here when needed):
--   * the official MCP TypeScript SDK server (test/peers/sdk-server.js) in its
--     4 modes: stateful/stateless x SSE/JSON;
--   * a scripted peer (test/peers/quirks.js) serving canned bytes for what the
--     SDK never sends and gofr-dig does (CRLF SSE, a bare /mcp 307, ...).
-- Without node/npm (or when the install fails) the peer tests are pending.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local metrics = require "gofr_sim.engine.metrics"
local results = require "gofr_sim.gofr_dig.results"
local cjson = require "cjson"
local support = require "support"

local mcp = sim.mcp

-- Peers: support.start_peer / wait_peer / stop_peers (node children of build/test-peers).
local start_peer, wait_ready = support.start_peer, support.wait_peer

-- Plain HTTP without recording (for control requests and raw probes).
local function raw(method, url, body, headers)
  return sim.run(function()
    return core.http_request { method = method, url = url, body = body, headers = headers or {},
                               timeout = 5 }
  end)
end

-- A fresh metrics registry per test.
local saved_registry
local function fresh_metrics()
  saved_registry = metrics.install(metrics.new())
end
local function restore_metrics()
  if saved_registry then metrics.install(saved_registry) end
  saved_registry = nil
end

local function no_leaks()
  local s = sim.stats()
  assert.are.equal(0, s.live, "personas still alive")
  assert.are.equal(0, s.transfers, "HTTP transfers still in flight")
end

-- No peers needed -----------------------------------------------------------------

describe("sim.mcp.decode_result", function()
  local function text_result(text, extra)
    local r = { content = { { type = "text", text = text } } }
    for k, v in pairs(extra or {}) do r[k] = v end
    return r
  end

  it("decodes JSON objects, arrays and bare strings; keeps other text as is", function()
    local r = mcp.decode_result(text_result('{\n  "a": 1,\n  "b": [1, 2]\n}'))
    assert.is_true(r.ok)
    assert.are.same({ a = 1, b = { 1, 2 } }, r.data)
    assert.are.same({ 1, 2 }, mcp.decode_result(text_result(" [1,2]")).data)
    r = mcp.decode_result(text_result('"{\\"success\\": true}"'))
    assert.is_true(r.ok)
    assert.are.equal('{"success": true}', r.data)
    for _, t in ipairs { "plain text", "42", "true", "{not json", "" } do
      r = mcp.decode_result(text_result(t))
      assert.is_true(r.ok, t)
      assert.are.equal(t, r.data)
      assert.are.equal(t, r.text)
    end
  end)

  it("reads gofr-dig's success:false as a failure (results.decode_result, what session:call uses)", function()
    local r = results.decode_result(text_result('{"sessions": [], "total": 0}'))
    assert.is_true(r.ok)
    assert.is_nil(r.error_type)
    r = results.decode_result(text_result(
      '{"success": false, "error_code": "AUTH_ERROR", "error": "bad token", "recovery_strategy": "x"}'))
    assert.is_false(r.ok)
    assert.is_false(r.is_error)
    assert.are.equal("AUTH_ERROR", r.error_code)
    assert.are.equal("auth_error", r.error_type)
    assert.are.equal("bad token", r.message)
    r = results.decode_result(text_result('{"success": false, "error": "Access denied: robots", "url": "u"}'))
    assert.are.equal("mcp_tool_failed", r.error_type)
    assert.are.equal("Access denied: robots", r.message)
    local plain = text_result('{"a": 1}')
    assert.are.same(mcp.decode_result(plain), results.decode_result(plain))
    local mcp_only = mcp.decode_result(text_result('{"success": false, "error_code": "AUTH_ERROR"}'))
    assert.is_true(mcp_only.ok, "MCP's rules alone know no success key")
    assert.is_nil(mcp_only.error_type)
  end)

  it("makes isError:true a failure of type mcp_invalid_arguments carrying the text", function()
    local r = mcp.decode_result(text_result("Input validation error: 'url' is a required property",
      { isError = true }))
    assert.is_false(r.ok)
    assert.is_true(r.is_error)
    assert.are.equal("mcp_invalid_arguments", r.error_type)
    assert.are.equal("Input validation error: 'url' is a required property", r.message)
  end)

  it("falls back to structuredContent without a text block", function()
    local r = mcp.decode_result { content = {}, structuredContent = { sum = 5 } }
    assert.is_true(r.ok)
    assert.are.same({ sum = 5 }, r.data)
    r = mcp.decode_result { content = { { type = "image", data = "AA==", mimeType = "image/png" } } }
    assert.is_true(r.ok)
    assert.is_nil(r.data)
  end)
end)

describe("gofr_dig.results.error_class", function()
  it("maps error types onto the old harness's categories", function()
    local want = {
      auth_error = "auth_error", rate_limit_exceeded = "rate_limited", rate_limited = "rate_limited",
      timeout_error = "network_timeout", fetch_error = "network_error",
      connection_error = "network_error", permission_denied = "mcp_tool_failed",
      session_not_found = "mcp_tool_failed", ssrf_blocked = "mcp_tool_failed",
      network_timeout = "network_timeout", network_connect = "network_error",
      mcp_protocol = "network_error", mcp_session_lost = "network_error",
      mcp_wrong_id = "network_error", mcp_bad_envelope = "network_error",
      mcp_rpc_error = "mcp_tool_failed", mcp_invalid_arguments = "mcp_tool_failed",
      http_401 = "auth_error", http_403 = "auth_error", http_429 = "rate_limited",
      http_500 = "mcp_tool_failed", invalid_rate_limit = "rate_limited",
      token_expired = "auth_error", something_else = "mcp_tool_failed",
    }
    for t, class in pairs(want) do assert.are.equal(class, results.error_class(t), t) end
    assert.is_nil(results.error_class(nil))
    for t, class in pairs(results.ERROR_CLASSES) do
      assert.are.equal(class, results.error_class(t))
    end
  end)
end)

describe("sim.mcp misuse", function()
  it("raises on bad arguments, naming the option", function()
    assert.has_error(function() mcp.connect("ftp://x/mcp") end)
    local ok, err = pcall(mcp.connect, "http://x/mcp", { timout = 1 })
    assert.is_false(ok)
    assert.matches("unknown option 'timout' %(did you mean 'timeout'%?%)", err)
    ok, err = pcall(mcp.connect, "http://x/mcp", { timeout = -1 })
    assert.is_false(ok)
    assert.matches("option 'timeout' must be > 0", err)
    ok, err = pcall(mcp.connect, "http://x/mcp", { headers = { X = {} } })
    assert.is_false(ok)
    assert.matches("headers", err)
  end)

  it("must be called from a persona", function()
    local ok, err = pcall(mcp.connect, "http://127.0.0.1:1/mcp")
    assert.is_false(ok)
    assert.matches("must be called from a persona", err)
  end)
end)

-- Against peers ---------------------------------------------------------------------

local peers_ok, why_not = support.prepare_peers()
if not peers_ok then
  describe("sim.mcp against MCP peers", function()
    pending(why_not)
  end)
  return
end

local MODES = {
  { name = "stateful SSE", args = {}, stateful = true, sse = true },
  { name = "stateful JSON", args = { "--json" }, stateful = true, sse = false },
  { name = "stateless SSE", args = { "--stateless" }, stateful = false, sse = true },
  { name = "stateless JSON", args = { "--stateless", "--json" }, stateful = false, sse = false },
}

describe("sim.mcp against MCP peers", function()
  local servers, quirks = {}, nil

  setup(function()
    for _, mode in ipairs(MODES) do servers[mode.name] = start_peer("sdk-server.js", mode.args) end
    quirks = start_peer("quirks.js")
    for _, peer in pairs(servers) do wait_ready(peer, 15) end
    wait_ready(quirks, 15)
  end)

  teardown(function()
    support.stop_peers()
    support.assert_clean()
  end)

  before_each(fresh_metrics)
  after_each(function()
    restore_metrics()
    no_leaks()
  end)

  for _, mode in ipairs(MODES) do
    describe("the TypeScript SDK server, " .. mode.name, function()
      local function url() return servers[mode.name].base .. "/mcp" end

      -- Runs fn(session) in a persona on a fresh session, closing it after.
      local function with_session(fn, opts)
        return sim.run(function()
          local s, err_type, msg = mcp.connect(url(), opts)
          assert(s, tostring(err_type) .. ": " .. tostring(msg))
          local out = { fn(s) }
          assert(s:close())
          return unpack(out)
        end)
      end

      it("connects, keeping the negotiated version and the session id", function()
        with_session(function(s)
          assert.are.equal("2025-11-25", s.protocol_version)
          assert.are.equal("gofr-sim-test-peer", s.server_info.name)
          assert.is_table(s.server_capabilities.tools)
          if mode.stateful then
            assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", s.session_id)
          else
            assert.is_nil(s.session_id)
          end
          assert.are.equal(1, s.stats.requests)
        end)
        with_session(function(s)
          assert.are.equal("2025-06-18", s.protocol_version)
        end, { protocol_version = "2025-06-18" })
        with_session(function(s) -- an unknown version: the server answers with its own
          assert.are.equal("2025-11-25", s.protocol_version)
        end, { protocol_version = "2099-01-01" })
      end)

      it("lists the tools and pings", function()
        with_session(function(s)
          local tools = assert(s:list_tools())
          local names = {}
          for _, t in ipairs(tools) do names[#names + 1] = t.name end
          table.sort(names)
          assert.are.same({ "args", "echo", "end_session", "fail", "headers", "json", "progress",
                            "rpc_error", "slow", "stats" }, names)
          assert.are.equal("object", tools[1].inputSchema.type)
          assert.is_true(s:ping())
        end)
      end)

      it("calls tools: plain text, JSON text, a bare JSON string, success:false", function()
        with_session(function(s)
          local r = s:call("echo", { text = "hello" })
          assert.is_true(r.ok)
          assert.is_false(r.is_error)
          assert.are.equal("hello", r.data)
          assert.are.equal("hello", r.result.content[1].text)

          r = s:call("json", { value = { a = 1, list = { "x", "y" } } })
          assert.is_true(r.ok)
          assert.are.same({ a = 1, list = { "x", "y" } }, r.data)

          r = s:call("json", { value = "chunk text" })
          assert.is_true(r.ok)
          assert.are.equal("chunk text", r.data)

          r = s:call("json", { value = { success = false, error_code = "SESSION_NOT_FOUND",
                                         message = "Session not found: x" } })
          assert.is_false(r.ok)
          assert.is_false(r.is_error)
          assert.are.equal("session_not_found", r.error_type)
          assert.are.equal("SESSION_NOT_FOUND", r.error_code)
          assert.are.equal("Session not found: x", r.message)
        end)
      end)

      it("reports isError:true and JSON-RPC errors", function()
        with_session(function(s)
          local r = s:call("fail", { message = "boom" })
          assert.is_false(r.ok)
          assert.is_true(r.is_error)
          assert.are.equal("mcp_invalid_arguments", r.error_type)
          assert.are.equal("boom", r.message)

          r = s:call("no_such_tool")
          assert.are.equal("mcp_invalid_arguments", r.error_type)
          assert.matches("no_such_tool", r.message)

          r = s:call("rpc_error", { message = "bad params" })
          assert.is_false(r.ok)
          assert.are.equal("mcp_rpc_error", r.error_type)
          assert.are.equal(-32602, r.code)
          assert.matches("bad params", r.message)

          local res, err_type, msg, code = s:request("no/such/method")
          assert.is_nil(res)
          assert.are.equal("mcp_rpc_error", err_type)
          assert.are.equal(-32601, code)
          assert.matches("not found", msg)
        end)
      end)

      it("sends the session id and the protocol version on every request", function()
        with_session(function(s)
          for _ = 1, 2 do
            local h = s:call("headers").data
            assert.are.equal(s.protocol_version, h["mcp-protocol-version"])
            if mode.stateful then
              assert.are.equal(s.session_id, h["mcp-session-id"])
              assert.are.equal(s.session_id, h.session_id)
            else
              assert.are.equal(cjson.null, h["mcp-session-id"])
            end
          end
        end, { protocol_version = "2025-06-18" })
      end)

      it("adds auth_token to the arguments only when given", function()
        with_session(function(s)
          local args = { x = 1 }
          local r = s:call("args", args, { auth_token = "Bearer tok" })
          assert.are.same({ x = 1, auth_token = "Bearer tok" }, r.data)
          assert.are.same({ x = 1 }, args) -- the caller's table is left alone
          r = s:call("args", args)
          assert.are.same({ x = 1 }, r.data)
          r = s:call("args")
          assert.are.same({}, r.data)
          assert.matches('^{', r.text) -- empty arguments travel as an object
        end)
      end)

      it("skips notifications sent before the response, counting them", function()
        with_session(function(s)
          local r = s:call("progress", { steps = 3 })
          assert.is_true(r.ok)
          assert.are.equal("done", r.data)
          -- in JSON mode the SDK drops them; in SSE mode they precede the response
          assert.are.equal(mode.sse and 3 or 0, s.stats.ignored)
        end)
      end)

      it("records mcp.<tool> with persona and error type, nothing for the protocol", function()
        with_session(function(s)
          metrics.set_persona_tags(coroutine.running(), { persona = "apac" })
          s:call("echo", { text = "a" })
          s:call("echo", { text = "b" })
          s:call("fail")
          s:list_tools()
          s:ping()
          metrics.set_persona_tags(coroutine.running(), nil)
        end)
        local reg = sim.metrics.registry()
        local echo = reg:aggregate { tool = "mcp.echo" }
        assert.are.equal(2, echo.count)
        assert.are.equal(0, echo.errors)
        assert.is_true(echo.hist:percentile(50) > 0)
        assert.are.equal(2, reg:aggregate({ tool = "mcp.echo", persona = "apac" }).count)
        local failed = reg:aggregate { tool = "mcp.fail" }
        assert.are.equal(1, failed.errors)
        assert.are.same({ mcp_invalid_arguments = 1 }, failed.error_types)
        assert.are.equal(3, reg:aggregate({}).count) -- no http.* nor protocol samples
      end)

      it("serves many personas on one session at once", function()
        sim.run(function()
          local s = assert(mcp.connect(url()))
          local hs = {}
          for i = 1, 40 do
            hs[i] = sim.spawn(function() return s:call("echo", { text = "n" .. i }).data end)
          end
          for i = 1, 40 do assert.are.equal("n" .. i, sim.wait(hs[i])) end
          assert(s:close())
          assert.are.equal(41, s.stats.requests)
        end)
        assert.are.equal(40, sim.metrics.registry():aggregate({ tool = "mcp.echo" }).count)
      end)

      it("times out with network_timeout and cancels the request", function()
        local before
        with_session(function(s)
          before = s:call("stats").data.cancelled
          local t0 = sim.now()
          local r = s:call("slow", { ms = 3000 }, { timeout = 0.3 })
          assert.is_false(r.ok)
          assert.are.equal("network_timeout", r.error_type)
          assert.is_true(sim.now() - t0 < 1.5)
        end)
        local errs = sim.metrics.registry():aggregate({ tool = "mcp.slow" }).error_types
        assert.are.same({ network_timeout = 1 }, errs)
        if mode.stateful then -- the same session got notifications/cancelled
          with_session(function(s)
            assert.are.equal(before + 1, s:call("stats").data.cancelled)
          end)
        end
      end)

      if mode.stateful then
        it("closes the session with DELETE", function()
          local sid
          local deleted = with_session(function(s) return s:call("stats").data.deleted end)
          sim.run(function()
            local s = assert(mcp.connect(url()))
            sid = s.session_id
            assert.is_true(s:close())
            assert.is_true(s:close()) -- idempotent
            assert.has_error(function() s:call("echo", { text = "x" }) end)
          end)
          with_session(function(s) -- ours, and the first with_session's own
            assert.are.equal(deleted + 2, s:call("stats").data.deleted)
          end)
          local res = raw("POST", url(), '{"jsonrpc":"2.0","id":9,"method":"ping"}', {
            "Content-Type: application/json", "Accept: application/json, text/event-stream",
            "Mcp-Session-Id: " .. sid })
          assert.are.equal(404, res.status)
        end)

        it("re-initialises once when the server forgot the session (404)", function()
          with_session(function(s)
            local old = s.session_id
            assert.is_true(s:call("end_session").ok)
            local r = s:call("echo", { text = "again" })
            assert.is_true(r.ok)
            assert.are.equal("again", r.data)
            assert.are.equal(1, s.stats.reinits)
            assert.are_not.equal(old, s.session_id)
            assert.are.equal(s.session_id, s:call("headers").data["mcp-session-id"])
          end)
          local echo = sim.metrics.registry():aggregate { tool = "mcp.echo" }
          assert.are.equal(1, echo.count)
          assert.are.equal(0, echo.errors)
        end)

        it("renews a session shared by many personas once", function()
          sim.run(function()
            local s = assert(mcp.connect(url()))
            assert.is_true(s:call("end_session").ok)
            local hs = {}
            for i = 1, 20 do
              hs[i] = sim.spawn(function() return s:call("echo", { text = "p" .. i }).data end)
            end
            for i = 1, 20 do assert.are.equal("p" .. i, sim.wait(hs[i])) end
            assert.are.equal(1, s.stats.reinits)
            assert(s:close())
          end)
        end)
      else
        it("closes without a DELETE: there is no session to end", function()
          sim.run(function()
            local s = assert(mcp.connect(url()))
            assert.is_true(s:close())
            assert.are.equal(1, s.stats.requests)
          end)
        end)
      end
    end)
  end

  describe("a scripted peer with gofr-dig's quirks", function()
    local SID = "0123456789abcdef0123456789abcdef"
    local SSE_HEADERS = {
      ["content-type"] = "text/event-stream", ["cache-control"] = "no-cache, no-transform",
      ["mcp-session-id"] = SID,
    }

    local function base() return quirks.base end

    -- gofr-dig's SSE framing: one event, CRLF line ends.
    local function crlf_event(json) return "event: message\r\ndata: " .. json .. "\r\n\r\n" end
    -- A JSON-RPC response to whatever id the request carried.
    local function response(result)
      return '{"jsonrpc":"2.0","id":{{id}},"result":' .. cjson.encode(result) .. "}"
    end
    local function sse(json, sid)
      local h = {}
      for k, v in pairs(SSE_HEADERS) do h[k] = v end
      h["mcp-session-id"] = sid or SID
      return { status = 200, headers = h, body = crlf_event(json) }
    end
    -- gofr-dig's tool result: one text block holding pretty JSON, isError:false.
    local function tool_text(text) return sse(response {
      content = { { type = "text", text = text } }, isError = false }) end

    local INSTRUCTIONS = "Errors come back as {success: false, error_code, ...}."
    local function init(sid)
      return {
        sse(response { protocolVersion = "2025-06-18",
                       capabilities = { experimental = {}, tools = { listChanged = false } },
                       serverInfo = { name = "gofr-dig-service", version = "1.23.1" },
                       instructions = INSTRUCTIONS }, sid),
        { status = 202, headers = { ["content-type"] = "application/json", ["mcp-session-id"] = sid or SID,
                                    ["content-length"] = "0" } },
      }
    end
    local function concat(...)
      local out = {}
      for _, list in ipairs { ... } do for _, r in ipairs(list) do out[#out + 1] = r end end
      return out
    end

    local function plan(routes)
      local res = raw("POST", base() .. "/_plan", cjson.encode { routes = routes })
      assert.are.equal(200, res.status)
    end
    local function server_log()
      return cjson.decode(raw("GET", base() .. "/_log").body)
    end

    -- Plans `responses` at /q/mcp/ and, for a bare /mcp, a 307 per request.
    local function plan_gofr(responses, redirects)
      local routes = { ["/q/mcp/"] = responses }
      if redirects then
        local r = {}
        for i = 1, redirects do
          r[i] = { status = 307, headers = { location = base() .. "/q/mcp/" } }
        end
        routes["/q/mcp"] = r
      end
      plan(routes)
    end

    it("follows the bare /mcp 307 with method and body, reads CRLF SSE, keeps the session", function()
      plan_gofr(concat(init(), {
        tool_text('{\n  "sessions": [],\n  "total": 0\n}'),
        { status = 200 },
      }), 4)
      local r, s
      sim.run(function()
        s = assert(mcp.connect(base() .. "/q/mcp"))
        r = s:call("list_sessions", nil, { auth_token = "tok" })
        assert.is_true(s:close())
      end)
      assert.are.equal(SID, s.session_id)
      assert.are.equal("2025-06-18", s.protocol_version)
      assert.are.equal(INSTRUCTIONS, s.instructions)
      assert.is_true(r.ok)
      assert.are.same({ sessions = {}, total = 0 }, r.data)

      local log = server_log()
      assert.are.equal(8, #log)
      for i = 1, 8, 2 do
        local first, second = log[i], log[i + 1]
        assert.are.equal("/q/mcp", first.path)
        assert.are.equal("/q/mcp/", second.path)
        assert.are.equal(first.method, second.method)
        assert.are.equal(first.body, second.body)
      end
      local init_req, ack, call, delete = log[2], log[4], log[6], log[8]
      assert.are.equal("POST", init_req.method)
      assert.are.equal("application/json", init_req.headers["content-type"])
      assert.are.equal("application/json, text/event-stream", init_req.headers.accept)
      assert.is_nil(init_req.headers["mcp-session-id"])
      assert.is_nil(init_req.headers["accept-encoding"])
      assert.matches("^127%.0%.0%.1:%d+$", init_req.headers.host)
      local msg = cjson.decode(init_req.body)
      assert.are.equal(1, msg.id)
      assert.are.equal("initialize", msg.method)
      assert.are.equal("2025-11-25", msg.params.protocolVersion)
      assert.are.equal("gofr-sim", msg.params.clientInfo.name)
      assert.matches('"capabilities":{}', init_req.body, 1, true)
      assert.are.same({ jsonrpc = "2.0", method = "notifications/initialized" }, cjson.decode(ack.body))
      for _, req in ipairs { ack, call, delete } do
        assert.are.equal(SID, req.headers["mcp-session-id"])
        assert.are.equal("2025-06-18", req.headers["mcp-protocol-version"])
      end
      msg = cjson.decode(call.body)
      assert.are.equal(2, msg.id)
      assert.are.same({ name = "list_sessions", arguments = { auth_token = "tok" } }, msg.params)
      assert.are.equal("DELETE", delete.method)
    end)

    it("decodes gofr-dig's application errors, bare-string chunks and validation errors", function()
      local function pretty(t) return cjson.encode(t) end
      plan_gofr(concat(init(), {
        tool_text(pretty { success = false, error_code = "PERMISSION_DENIED",
                           error = "Access denied to session x", recovery_strategy = "...",
                           details = { session_id = "x" } }),
        tool_text(pretty { success = false, error_code = "SESSION_NOT_FOUND",
                           message = "SESSION_NOT_FOUND: Session not found: x", details = {} }),
        tool_text(pretty { success = false, error_code = "RATE_LIMIT_EXCEEDED", error = "slow down" }),
        tool_text('"{\\"success\\": true, \\"url\\": \\"http://x/\\"}"'),
        sse(response { content = { { type = "text",
          text = "Input validation error: 'url' is a required property" } }, isError = true }),
        tool_text("not json at all"),
      }))
      local rs = {}
      sim.run(function()
        local s = assert(mcp.connect(base() .. "/q/mcp/"))
        rs[1] = s:call("get_session_info", { session_id = "x" })
        rs[2] = s:call("get_session_info", { session_id = "x" })
        rs[3] = s:call("get_structure", { url = "http://x/" })
        rs[4] = s:call("get_session_chunk", { session_id = "x", chunk_index = 0 })
        rs[5] = s:call("get_content", {})
        rs[6] = s:call("other")
      end)
      assert.is_false(rs[1].ok)
      assert.is_false(rs[1].is_error)
      assert.are.equal("permission_denied", rs[1].error_type)
      assert.are.equal("Access denied to session x", rs[1].message)
      assert.are.equal("session_not_found", rs[2].error_type)
      assert.are.equal("SESSION_NOT_FOUND: Session not found: x", rs[2].message)
      assert.are.equal("rate_limit_exceeded", rs[3].error_type)
      assert.are.equal("rate_limited", results.error_class(rs[3].error_type))
      assert.is_true(rs[4].ok)
      assert.are.equal('{"success": true, "url": "http://x/"}', rs[4].data)
      assert.are.equal("mcp_invalid_arguments", rs[5].error_type)
      assert.matches("^Input validation error", rs[5].message)
      assert.is_true(rs[6].ok)
      assert.are.equal("not json at all", rs[6].data)
      local reg = sim.metrics.registry()
      assert.are.same({ permission_denied = 1, session_not_found = 1 },
        reg:aggregate({ tool = "mcp.get_session_info" }).error_types)
      assert.are.equal(0, reg:aggregate({ tool = "mcp.get_session_chunk" }).errors)
    end)

    it("reads SSE with comments, priming, multi-line data and messages before the response", function()
      local result = '{"content":[{"type":"text","text":"{\\"ok\\": 1}"}]}'
      local stream = {
        ": ping - 2026-11-25 17:00:00.000000+00:00\r\n\r\n",
        "id: 1\r\nretry: 1000\r\ndata: \r\n\r\n",                                   -- priming
        'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/message",',
        '"params":{"level":"info","data":"x"}}\n\n',
        'data: {"jsonrpc":"2.0","id":"srv-1","method":"ping"}\r\r',                   -- CR only
        "data: {}\n\n",                                                               -- junk replay
        'event: other\ndata: {"jsonrpc":"2.0","id":{{id}},"result":{}}\n\n',          -- not "message"
        'data: {"jsonrpc":"2.0","id":999,"result":{}}\n\n',                          -- not our id
        "data: not json\n\n",
        'data: {"jsonrpc":"2.0",\r\ndata: "id":{{id}},\r\ndata: "result":' .. result .. "}\r\n\r\n",
        'data: {"jsonrpc":"2.0","method":"notifications/message","params":{}}\n\n',  -- after: unread
      }
      plan_gofr(concat(init(), {
        { status = 200, headers = SSE_HEADERS, chunks = stream },
        { status = 202 }, -- our answer to the server's ping
      }))
      local r, s
      sim.run(function()
        s = assert(mcp.connect(base() .. "/q/mcp/"))
        r = s:call("get_content", { url = "http://x/" })
      end)
      assert.is_true(r.ok, r.message)
      assert.are.same({ ok = 1 }, r.data)
      -- the server's ping is answered on the spot, the rest ignored
      assert.are.equal(5, s.stats.ignored)
      assert.are.equal(1, s.stats.server_requests)
      local log = server_log()
      local answer = cjson.decode(log[#log].body)
      assert.are.same({ jsonrpc = "2.0", id = "srv-1", result = {} }, answer)
      assert.are.equal(SID, log[#log].headers["mcp-session-id"])
    end)

    it("fails with mcp_protocol on an SSE stream without the response and on non-MCP bodies", function()
      plan_gofr(concat(init(), {
        { status = 200, headers = SSE_HEADERS,
          body = 'event: message\r\ndata: {"jsonrpc":"2.0","method":"notifications/message"}\r\n\r\n'
                 .. 'event: message\r\ndata: {"jsonrpc":"2.0","id":{{id}},"res' },
        { status = 200, headers = { ["content-type"] = "text/html" }, body = "<html>hi</html>" },
        { status = 200, headers = { ["content-type"] = "application/json" }, body = "{not json" },
        { status = 200, headers = { ["content-type"] = "application/json" },
          body = '{"jsonrpc":"2.0","id":12345,"result":{}}' },
        { status = 202 },
        { status = 200, headers = { ["content-type"] = "application/json; charset=utf-8" },
          body = response { content = { { type = "text", text = "fine" } } } },
      }))
      local rs = {}
      sim.run(function()
        local s = assert(mcp.connect(base() .. "/q/mcp/"))
        for i = 1, 6 do rs[i] = s:call("t") end
      end)
      local want = { "mcp_protocol", "mcp_protocol", "mcp_protocol", "mcp_wrong_id", "mcp_protocol" }
      for i = 1, 5 do
        assert.is_false(rs[i].ok)
        assert.are.equal(want[i], rs[i].error_type, i)
        assert.is_string(rs[i].message)
      end
      assert.matches("ended without the response", rs[1].message)
      assert.matches("text/html", rs[2].message)
      assert.matches("a response to id '12345' came instead", rs[4].message)
      assert.is_true(rs[6].ok)
      assert.are.equal("fine", rs[6].data)
      assert.are.same({ mcp_protocol = 4, mcp_wrong_id = 1 },
        sim.metrics.registry():aggregate({ tool = "mcp.t" }).error_types)
    end)

    it("names protocol violations: a wrong id, a broken envelope", function()
      local JSON = { ["content-type"] = "application/json" }
      plan_gofr(concat(init(), {
        { status = 200, headers = SSE_HEADERS, body = crlf_event('{"jsonrpc":"2.0","id":777,"result":{}}') },
        { status = 200, headers = JSON, body = '{"jsonrpc":"1.0","id":{{id}},"result":{}}' },
        { status = 200, headers = JSON, body = '{"id":{{id}},"result":{}}' },
        { status = 200, headers = JSON, body = '{"jsonrpc":"2.0","id":{{id}},"result":{},"error":{}}' },
        { status = 200, headers = JSON, body = '{"jsonrpc":"2.0","id":{{id}},"error":"nope"}' },
        { status = 200, headers = JSON, body = '{"jsonrpc":"2.0","id":{{id}},"result":[1]}' },
      }))
      local rs = {}
      sim.run(function()
        local s = assert(mcp.connect(base() .. "/q/mcp/"))
        for i = 1, 6 do rs[i] = s:call("t") end
      end)
      assert.are.same({ "mcp_wrong_id", "mcp_bad_envelope", "mcp_bad_envelope", "mcp_bad_envelope",
        "mcp_bad_envelope", "mcp_bad_envelope" },
        { rs[1].error_type, rs[2].error_type, rs[3].error_type, rs[4].error_type, rs[5].error_type,
          rs[6].error_type })
      assert.matches("a response to id '777' came instead", rs[1].message)
      assert.matches("jsonrpc '1.0', not \"2.0\"", rs[2].message)
      assert.matches("jsonrpc missing", rs[3].message)
      assert.matches("both a result and an error", rs[4].message)
      assert.matches("not {code: number, message: string}", rs[5].message)
      assert.matches("is not an object", rs[6].message)
    end)

    it("turns HTTP errors into http_<status> and JSON-RPC errors into mcp_rpc_error", function()
      plan_gofr(concat(init(), {
        { status = 500, headers = { ["content-type"] = "text/plain" }, body = "Internal Server Error" },
        { status = 401, headers = { ["content-type"] = "application/json" },
          body = '{"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,"message":"Unauthorized"}}' },
        sse('{"jsonrpc":"2.0","id":"server-error","error":{"code":-32602,"message":"Validation error"}}'),
        sse('{"jsonrpc":"2.0","id":{{id}},"error":{"code":-32603,"message":"Internal error"}}'),
      }))
      local rs = {}
      sim.run(function()
        local s = assert(mcp.connect(base() .. "/q/mcp/"))
        for i = 1, 4 do rs[i] = s:call("t") end
      end)
      assert.are.equal("http_500", rs[1].error_type)
      assert.are.equal("HTTP 500: Internal Server Error", rs[1].message)
      assert.are.equal("http_401", rs[2].error_type)
      assert.are.equal("HTTP 401: Unauthorized", rs[2].message)
      assert.are.equal("auth_error", results.error_class(rs[2].error_type))
      assert.are.equal("mcp_rpc_error", rs[3].error_type)
      assert.are.equal(-32602, rs[3].code)
      assert.are.equal("mcp_rpc_error", rs[4].error_type)
      assert.are.equal("Internal error", rs[4].message)
      assert.are.equal(-32603, rs[4].code)
    end)

    it("re-initialises after a 404 (and gofr-dig's 400 'No valid session ID'), once", function()
      local SID2, SID3 = string.rep("2", 32), string.rep("3", 32)
      plan_gofr(concat(init(), {
        { status = 404, headers = { ["content-type"] = "application/json" },
          body = '{"jsonrpc":"2.0","id":"server-error",'
                 .. '"error":{"code":-32600,"message":"Session not found"}}' },
      }, init(SID2), { tool_text("first") }, {
        { status = 400, headers = { ["content-type"] = "text/plain" },
          body = "Bad Request: No valid session ID provided" },
      }, init(SID3), { tool_text("second") }))
      local s, r1, r2
      sim.run(function()
        s = assert(mcp.connect(base() .. "/q/mcp/"))
        r1 = s:call("t")
        r2 = s:call("t")
      end)
      assert.is_true(r1.ok)
      assert.are.equal("first", r1.data)
      assert.is_true(r2.ok)
      assert.are.equal("second", r2.data)
      assert.are.equal(2, s.stats.reinits)
      assert.are.equal(SID3, s.session_id)
      local log = server_log()
      assert.are.equal(10, #log)
      assert.are.equal(SID, log[3].headers["mcp-session-id"])
      assert.is_nil(log[4].headers["mcp-session-id"]) -- a new initialize carries no session id
      assert.are.equal("initialize", cjson.decode(log[4].body).method)
      assert.are.equal(SID2, log[6].headers["mcp-session-id"])
      assert.are.equal(cjson.decode(log[3].body).params.name, cjson.decode(log[6].body).params.name)
      local ids = {}
      for i, entry in ipairs(log) do ids[i] = cjson.decode(entry.body).id or false end
      assert.are.same({ 1, false, 2, 3, false, 4, 5, 6, false, 7 }, ids)
      assert.are.equal(2, sim.metrics.registry():aggregate({ tool = "mcp.t" }).count)
    end)

    it("fails with mcp_session_lost when re-initialising fails or the retry gets 404 again", function()
      local gone = { status = 404, headers = { ["content-type"] = "application/json" },
                     body = '{"jsonrpc":"2.0","id":null,'
                            .. '"error":{"code":-32001,"message":"Session not found"}}' }
      plan_gofr(concat(init(), { gone, { status = 500, body = "down" } },
                       init(), { gone }, init(), { gone },
                       { { status = 503, body = "still down" } }, init(), { tool_text("back") }))
      local rs, s = {}, nil
      sim.run(function()
        s = assert(mcp.connect(base() .. "/q/mcp/"))
        rs[1] = s:call("t") -- 404, re-initialising: 500
        rs[2] = s:call("t") -- re-initialises first; 404; re-initialises; 404 again
        rs[3] = s:call("t") -- re-initialising: 503, the call is not sent
        rs[4] = s:call("t") -- re-initialises, then works
      end)
      assert.are.equal("mcp_session_lost", rs[1].error_type)
      assert.matches("Session not found", rs[1].message)
      assert.matches("http_500", rs[1].message)
      assert.are.equal("mcp_session_lost", rs[2].error_type)
      assert.matches("again", rs[2].message)
      assert.are.equal("mcp_session_lost", rs[3].error_type)
      assert.matches("http_503", rs[3].message)
      assert.is_true(rs[4].ok)
      assert.are.equal("back", rs[4].data)
      assert.are.equal(5, s.stats.reinits)
      assert.are.same({ mcp_session_lost = 3 },
        sim.metrics.registry():aggregate({ tool = "mcp.t" }).error_types)
    end)

    it("treats a 404 to a request without a session id as http_404", function()
      local noid = { status = 200, headers = { ["content-type"] = "application/json" },
                     body = response { protocolVersion = "2025-06-18", capabilities = {},
                                       serverInfo = { name = "x", version = "1" } } }
      plan_gofr { noid, { status = 202 }, { status = 404, body = "nope" } }
      local s, r
      sim.run(function()
        s = assert(mcp.connect(base() .. "/q/mcp/"))
        r = s:call("t")
        assert.is_true(s:close()) -- no session id: no DELETE
      end)
      assert.is_nil(s.session_id)
      assert.are.equal("http_404", r.error_type)
      assert.are.equal(0, s.stats.reinits)
      assert.are.equal(3, #server_log())
    end)

    it("tolerates 405 and 404 to DELETE; reports other statuses", function()
      local function close_with(status)
        plan_gofr(concat(init(), { { status = status, body = "x" } }))
        return sim.run(function()
          local s = assert(mcp.connect(base() .. "/q/mcp/"))
          return s:close()
        end)
      end
      assert.is_true(close_with(405))
      assert.is_true(close_with(404))
      assert.is_true(close_with(200))
      local ok, err_type, msg = close_with(500)
      assert.is_nil(ok)
      assert.are.equal("http_500", err_type)
      assert.are.equal("HTTP 500: x", msg)
      assert.are.equal("DELETE", server_log()[3].method)
    end)

    it("reports connect failures: HTTP errors, a failed initialized, no version, network", function()
      local function connect_with(responses)
        plan_gofr(responses)
        return sim.run(function() return mcp.connect(base() .. "/q/mcp/", { timeout = 0.5 }) end)
      end
      local s, err_type, msg = connect_with {
        { status = 406, headers = { ["content-type"] = "application/json" },
          body = '{"jsonrpc":"2.0","id":"server-error","error":{"code":-32600,'
                 .. '"message":"Not Acceptable: Client must accept both application/json '
                 .. 'and text/event-stream"}}' },
      }
      assert.is_nil(s)
      assert.are.equal("http_406", err_type)
      assert.matches("Not Acceptable", msg)
      local first = init()[1]
      s, err_type = connect_with { first, { status = 400, body = "Bad Request: Missing session ID" } }
      assert.is_nil(s)
      assert.are.equal("http_400", err_type)
      s, err_type = connect_with { sse(response { capabilities = {} }) }
      assert.is_nil(s)
      assert.are.equal("mcp_protocol", err_type)
      s, err_type = connect_with { { status = 200, headers = SSE_HEADERS, delay_ms = 1500 } }
      assert.is_nil(s)
      assert.are.equal("network_timeout", err_type)
      local port = support.closed_port()
      s, err_type = sim.run(function()
        return mcp.connect(("http://127.0.0.1:%d/mcp"):format(port))
      end)
      assert.is_nil(s)
      assert.are.equal("network_connect", err_type)
      assert.are.equal(0, sim.metrics.registry():aggregate({}).count) -- connect records nothing
    end)

    it("reports a connection dropped mid-stream as a network error", function()
      plan_gofr(concat(init(), {
        { status = 200, headers = SSE_HEADERS, body = "event: message\r\ndata: {\"jsonrpc\"",
          destroy = true },
      }))
      local r = sim.run(function()
        local s = assert(mcp.connect(base() .. "/q/mcp/"))
        return s:call("t")
      end)
      assert.is_false(r.ok)
      assert.matches("^network_", r.error_type)
    end)

    it("sends extra headers on every request, never overriding the protocol ones", function()
      plan_gofr(concat(init(), { tool_text("{}"), { status = 200 } }))
      sim.run(function()
        local s = assert(mcp.connect(base() .. "/q/mcp/", {
          headers = { Authorization = "Bearer abc", accept = "*/*", ["X-Trace"] = 7 },
          client_info = { name = "me", version = "9" },
        }))
        assert.is_true(s:call("t").ok)
        assert(s:close())
      end)
      local log = server_log()
      assert.are.equal(4, #log)
      for _, req in ipairs(log) do
        assert.are.equal("Bearer abc", req.headers.authorization)
        assert.are.equal("7", req.headers["x-trace"])
        assert.are.equal("application/json, text/event-stream", req.headers.accept)
      end
      assert.are.same({ name = "me", version = "9" }, cjson.decode(log[1].body).params.clientInfo)
    end)
  end)
end)
