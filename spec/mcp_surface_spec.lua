-- sim.mcp's whole client surface against the official TypeScript SDK's
-- server (test/peers/sdk-full-server.js, SSE and JSON modes): server
-- requests answered by handlers (elicitation, sampling, roots, ping) or
-- politely without one, notifications (progress, logging, list changed,
-- resource updated), the standalone GET stream, a request's stream resumed
-- with Last-Event-ID, resources, prompts, completion, logging/setLevel and
-- pagination. Without node/npm the tests are pending.
local sim = require "gofr_sim"
local metrics = require "gofr_sim.engine.metrics"
local cjson = require "cjson"
local support = require "support"

local mcp = sim.mcp

-- Runs fn(session) on a new session of the peer at base with opts, closes
-- it; -> what fn returned (one value).
local function with_session(base, opts, fn)
  local out
  sim.run(function()
    local s = assert(mcp.connect(base .. "/mcp", opts))
    out = fn(s)
    assert(s:close())
  end)
  return out
end

-- Waits (bounded, 5 s) until cond() is true; -> whether it became true.
local function eventually(cond)
  for _ = 1, 500 do
    if cond() then return true end
    sim.sleep(0.01)
  end
  return cond()
end

local function json_text(r)
  assert.is_true(r.ok, tostring(r.message))
  return cjson.decode(r.text)
end

local peers_ok, why_not = support.prepare_peers()

describe("sim.mcp's surface against the SDK's full server", function()
  if not peers_ok then
    pending(why_not)
    return
  end
  local sse, json_mode, saved
  setup(function()
    sse = support.start_peer("sdk-full-server.js")
    json_mode = support.start_peer("sdk-full-server.js", { "--json" })
    support.wait_peer(sse, 15)
    support.wait_peer(json_mode, 15)
  end)
  teardown(function()
    support.stop_peers()
    support.assert_clean()
  end)
  before_each(function() saved = metrics.install(metrics.new()) end)
  after_each(function() metrics.install(saved) end)

  describe("server requests", function()
    it("are answered by the handlers given, whose capabilities are declared", function()
      local seen = {}
      local handlers = {
        ["elicitation/create"] = function(params)
          seen.elicit = params.message
          return { action = "accept", content = { name = "Grace", age = 85 } }
        end,
        ["sampling/createMessage"] = function(params)
          seen.sample = params.messages[1].content.text
          return { model = "gofr-sim", role = "assistant", stopReason = "endTurn",
                   content = { type = "text", text = "sampled" } }
        end,
        ["roots/list"] = function() return { roots = { { uri = "file:///srv", name = "srv" } } } end,
      }
      local r = with_session(sse.base, { handlers = handlers, listen = false }, function(s)
        return {
          elicit = json_text(s:call("elicit", { message = "who?" })),
          sample = json_text(s:call("sample", { prompt = "say it" })),
          roots = json_text(s:call("roots")),
          ping = s:call("ping_client").text,
          caps = s.client_capabilities,
          answered = s.stats.server_requests,
        }
      end)
      assert.are.same({ action = "accept", content = { name = "Grace", age = 85 } }, r.elicit)
      assert.are.equal("who?", seen.elicit)
      assert.are.equal("sampled", r.sample.content.text)
      assert.are.equal("say it", seen.sample)
      assert.are.same({ roots = { { uri = "file:///srv", name = "srv" } } }, r.roots)
      assert.are.equal("pong", r.ping)
      assert.is_table(r.caps.elicitation)
      assert.is_table(r.caps.sampling)
      assert.is_table(r.caps.roots)
      assert.are.equal(4, r.answered)
      local reg = metrics.current
      assert.are.equal(1, reg.counters[metrics.key("mcp.server_requests",
        { method = "elicitation/create", outcome = "ok" })].value)
    end)

    it("accept_defaults fills every field's default (SEP-1034)", function()
      local r = with_session(sse.base, { handlers = { ["elicitation/create"] = mcp.accept_defaults } },
        function(s) return json_text(s:call("elicit")) end)
      assert.are.same({ action = "accept", content = { name = "Ada", age = 36, ok = true, color = "green" } },
        r)
    end)

    it("without a handler: elicitation declined, unknown requests refused, a raise is an error", function()
      local r = with_session(sse.base, {
        capabilities = { elicitation = {}, sampling = {} }, -- declared, but no handler
        handlers = { ["roots/list"] = function() error("no roots here") end }, listen = false,
      }, function(s)
        return { elicit = json_text(s:call("elicit")), sample = s:call("sample", { prompt = "x" }),
                 roots = s:call("roots") }
      end)
      assert.are.equal("decline", r.elicit.action)
      assert.is_true(r.sample.is_error)
      assert.matches("does not handle sampling/createMessage", r.sample.text)
      assert.is_true(r.roots.is_error)
      assert.matches("no roots here", r.roots.text)
    end)

    it("refuses a handler for a request that does not exist, naming the nearest", function()
      assert.has_error(function()
        mcp.connect(sse.base .. "/mcp", { handlers = { ["elicitation/creat"] = function() end } })
      end, "sim.mcp.connect: option 'handlers': no server request 'elicitation/creat' (did you mean "
        .. "'elicitation/create'?)")
    end)
  end)

  describe("notifications", function()
    it("delivers progress to the call's callback", function()
      local steps = {}
      local r = with_session(sse.base, nil, function(s)
        return s:call("progress", { steps = 3 }, { progress = function(p, total, message)
          steps[#steps + 1] = { p, total, message }
        end })
      end)
      assert.is_true(r.ok, r.message)
      assert.are.same({ { 1, 3, "step 1" }, { 2, 3, "step 2" }, { 3, 3, "step 3" } }, steps)
    end)

    it("delivers logging at the level set, and list changes, to on_notification", function()
      local got = {}
      with_session(sse.base, { listen = false, on_notification = function(method, params)
        got[#got + 1] = method == "notifications/message" and (params.level .. ": " .. params.data) or method
      end }, function(s)
        assert(s:set_logging_level("warning"))
        assert.is_true(s:call("log", { level = "info", count = 2 }).ok)
        assert.is_true(s:call("log", { level = "error", count = 2 }).ok)
        assert.is_true(s:call("notify_changed").ok)
      end)
      assert.are.same({ "error: log 1 of 2", "error: log 2 of 2", "notifications/tools/list_changed",
        "notifications/resources/list_changed", "notifications/prompts/list_changed" }, got)
      local c = metrics.current.counters[metrics.key("mcp.notifications",
        { method = "notifications/message" })]
      assert.are.equal(2, c.value)
    end)

    it("come on the standalone GET stream, which is resumed when the server closes it", function()
      local got = {}
      with_session(sse.base, { on_notification = function(method, params)
        if method == "notifications/message" then got[#got + 1] = params.data end
      end }, function(s)
        assert.is_true(s:call("get_on_standalone", { text = "one", wait_ms = 2000 }).ok)
        assert.is_true(eventually(function() return #got == 1 end), "no message on the GET stream")
        assert.is_true(s:call("close_standalone").ok)
        assert.is_true(s:call("get_on_standalone", { text = "two", wait_ms = 3000 }).ok)
        assert.is_true(eventually(function() return #got == 2 end), "no message on the renewed stream")
      end)
      assert.are.same({ "one", "two" }, got)
      -- renewed with the closed stream's last event id
      local peer = with_session(sse.base, { listen = false },
        function(s) return json_text(s:call("stats")) end)
      assert.is_true(peer.get_resumes >= 1)
      assert.matches("^_GET_stream/%d+$", peer.last_event_ids[#peer.last_event_ids])
    end)

    it("and resources/updated after subscribe", function()
      local updated = {}
      with_session(sse.base, { listen = false, on_notification = {
        ["notifications/resources/updated"] = function(params) updated[#updated + 1] = params.uri end,
      } }, function(s)
        assert(s:subscribe("mem://item/1"))
        assert.is_true(s:call("touch", { uri = "mem://item/1" }).ok)
        assert(s:unsubscribe("mem://item/1"))
        assert.is_true(s:call("touch", { uri = "mem://item/1" }).is_error) -- not subscribed now
      end)
      assert.are.same({ "mem://item/1" }, updated)
    end)
  end)

  describe("streams", function()
    it("resumes a request's SSE stream the server closed before answering (Last-Event-ID)", function()
      local out = with_session(sse.base, nil, function(s)
        return { call = s:call("reconnect", { ms = 20 }), resumes = s.stats.resumes }
      end)
      assert.is_true(out.call.ok, out.call.message)
      assert.are.equal("resumed", out.call.text)
      assert.are.equal(1, out.resumes)
      local peer = with_session(sse.base, nil, function(s) return json_text(s:call("stats")) end)
      assert.is_true(#peer.last_event_ids >= 1)
      assert.matches("^[^/]+/%d+$", peer.last_event_ids[#peer.last_event_ids])
    end)

    it("gets server requests on the GET stream when the server answers in JSON", function()
      local r = with_session(json_mode.base, { handlers = { ["elicitation/create"] = mcp.accept_defaults } },
        function(s) return json_text(s:call("elicit")) end)
      assert.are.equal("accept", r.action)
      assert.are.equal("Ada", r.content.name)
    end)
  end)

  describe("over stdio (sim.mcp.spawn)", function()
    local function spawn(opts)
      opts = opts or {}
      opts.command, opts.args = "node", { support.peers_dir .. "/sdk-full-server.js", "--stdio" }
      return assert(mcp.spawn(opts))
    end

    it("is the same session: tools, handlers, progress, resources, prompts, many personas", function()
      local out = sim.run(function()
        local steps = {}
        local s = spawn { handlers = { ["elicitation/create"] = mcp.accept_defaults } }
        local r = {
          name = s.server_info.name,
          tools = #assert(s:list_tools()),
          echo = s:call("echo", { text = "over stdio" }).text,
          elicit = json_text(s:call("elicit")),
          progress = s:call("progress", { steps = 2 },
            { progress = function(p) steps[#steps + 1] = p end }).text,
          resources = #assert(s:list_resources()),
          prompt = assert(s:get_prompt("greet", { name = "Ada" })).messages[1].content.text,
        }
        local hs = {}
        for i = 1, 30 do hs[i] = sim.spawn(function() return s:call("echo", { text = "p" .. i }).text end) end
        r.concurrent = 0
        for i = 1, 30 do if sim.wait(hs[i]) == "p" .. i then r.concurrent = r.concurrent + 1 end end
        r.steps = steps
        assert(s:close())
        r.exited = s.process:exited()
        return r
      end)
      assert.are.same({ name = "gofr-sim-full-peer", tools = 15, echo = "over stdio",
        elicit = { action = "accept", content = { name = "Ada", age = 36, ok = true, color = "green" } },
        progress = "done", resources = 30, prompt = "Hello, Ada!", concurrent = 30, steps = { 1, 2 },
        exited = true }, out)
      assert.are.equal(30 + 1, metrics.current:aggregate({ tool = "mcp.echo" }).count)
    end)

    it("fails what waits with mcp_server_exited when the server dies, and reaps it", function()
      local out = sim.run(function()
        local s = spawn()
        local h = sim.spawn(function() -- 5 s of progress (it runs only with a progress token)
          return s:call("progress", { steps = 50, ms = 100 }, { progress = function() end })
        end)
        sim.sleep(0.2)
        s.process:kill("KILL")
        local r = sim.wait(h)
        local after = s:call("echo", { text = "late" })
        s:close()
        return { r = r, after = after, exited = s.process:exited(), pid = s.process:pid() }
      end)
      assert.are.equal("mcp_server_exited", out.r.error_type)
      assert.matches("killed by SIGKILL", out.r.message)
      assert.are.equal("mcp_server_exited", out.after.error_type)
      assert.is_true(out.exited)
      assert.is_false(support.pid_alive(out.pid)) -- no zombie: reaped
    end)

    it("says why a server that never answered is gone: its exit and last stderr line", function()
      local s, err_type, msg = sim.run(function()
        return mcp.spawn { command = "sh", args = { "-c", "read line; echo 'no such config' >&2; exit 3" } }
      end)
      assert.is_nil(s)
      assert.are.equal("mcp_server_exited", err_type)
      assert.matches("%(exit status 3%): 'no such config'", msg)
      local _, et = sim.run(function() return mcp.spawn { command = "/nonexistent/mcp-server" } end)
      assert.are.equal("not_found", et)
    end)
  end)

  describe("resources, prompts, completion", function()
    it("lists every page and reads", function()
      with_session(sse.base, { listen = false }, function(s)
        local tools = assert(s:list_tools())
        assert.are.equal(15, #tools)
        local resources = assert(s:list_resources())
        assert.are.equal(30, #resources)
        assert.are.equal("mem://item/30", resources[30].uri)
        local templates = assert(s:list_resource_templates())
        assert.are.equal("mem://user/{id}", templates[1].uriTemplate)
        local res = assert(s:read_resource("mem://item/5"))
        assert.are.equal("item 5", res.contents[1].text)
        local _, err_type, _, code = s:read_resource("mem://nothing")
        assert.are.equal("mcp_rpc_error", err_type)
        assert.are.equal(-32002, code)
        local prompts = assert(s:list_prompts())
        assert.are.equal(13, #prompts)
        local p = assert(s:get_prompt("greet", { name = "Ada" }))
        assert.are.equal("Hello, Ada!", p.messages[1].content.text)
        local c = assert(s:complete({ type = "ref/resource", uri = "mem://user/{id}" },
          { name = "id", value = "1" }))
        assert.are.same({ "1", "10", "11" }, c.values)
        c = assert(s:complete({ type = "ref/prompt", name = "greet" }, { name = "name", value = "al" }))
        assert.are.same({ "alice", "albert" }, c.values)
      end)
      local reg = metrics.current
      assert.are.equal(2, reg:aggregate({ tool = "mcp.resources/read" }).count)
      assert.are.equal(1, reg:aggregate({ tool = "mcp.resources/read" }).errors)
      assert.are.equal(2, reg:aggregate({ tool = "mcp.completion/complete" }).count)
    end)

    it("a call's check turns a result into its error (an outputSchema, say)", function()
      local function n_is_number(r)
        local sc = r.result.structuredContent
        if type(sc) ~= "table" or type(sc.n) ~= "number" then
          return "mcp_output_schema", "n is not a number"
        end
      end
      local out = with_session(sse.base, { listen = false }, function(s)
        return { s:call("good_output", nil, { check = n_is_number }),
                 s:call("bad_output", nil, { check = n_is_number }) }
      end)
      local good, bad = out[1], out[2]
      assert.is_true(good.ok)
      assert.is_false(bad.ok)
      assert.are.equal("mcp_output_schema", bad.error_type)
      assert.are.same({ mcp_output_schema = 1 },
        metrics.current:aggregate({ tool = "mcp.bad_output" }).error_types)
    end)
  end)
end)
