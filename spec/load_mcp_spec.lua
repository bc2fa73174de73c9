-- scenarios/load.lua with --protocol mcp, through the executable, against a
-- tiny fake gofr-dig (a test double, not the twin) run as its own gofr-sim
-- process: run_cli blocks this process, so an in-process server could not answer.
local cjson = require "cjson"
local sim = require "gofr_sim"
local support = require "support"

local LOAD = support.source_dir .. "/scenarios/load.lua"

local FAKE = [=[
local sim = require "gofr_sim"
local cjson = require "cjson"
local port_file = arg[2]
local INVALID = "invalid.invalid.invalid"
local SESSION_TOOLS = { get_content = true, get_session_info = true, get_session_chunk = true,
                        list_sessions = true }
local n = 0

local function sse(res, id, result)
  res:send(200, { ["Content-Type"] = "text/event-stream", ["Cache-Control"] = "no-cache",
                  ["Mcp-Session-Id"] = "fake-session" },
    sim.server.sse_event { event = "message", crlf = true,
      data = cjson.encode { jsonrpc = "2.0", id = id, result = result } })
end

local function text(v) return { content = { { type = "text", text = cjson.encode(v) } } } end

local function tool(name, a)
  if SESSION_TOOLS[name] and a.auth_token == INVALID then
    return text { success = false, error_code = "AUTH_ERROR", message = "Invalid token" }
  end
  if name == "get_structure" then
    -- the fixture site's robots.txt disallows these, and gofr-dig honours it here
    for _, p in ipairs { "/admin/", "/api/", "/private/" } do
      if a.url:find(p, 1, true) then
        return text { success = false, error_code = "ROBOTS_BLOCKED", message = "Disallowed by robots.txt" }
      end
    end
    return text { success = true, url = a.url, sections = {} }
  end
  if name == "get_content" then
    n = n + 1
    return text { success = true, url = a.url, session_id = "s" .. n, total_chunks = 1 }
  end
  if name == "get_session_info" then return text { session_id = a.session_id, total_chunks = 1 } end
  if name == "get_session_chunk" then return text "chunk zero" end
  if name == "list_sessions" then return text { sessions = {}, total = n } end
  if name == "ping" then return text { status = "ok", service = "gofr-dig" } end
  return { isError = true, content = { { type = "text", text = "unknown tool " .. name } } }
end

local srv = assert(sim.server.listen { port = 0, handler = function(req, res)
  local msg = req.method == "POST" and cjson.decode(req.body)
  if not msg then return res:send(405, nil, "") end
  if msg.method == "initialize" then
    return sse(res, msg.id, { protocolVersion = msg.params.protocolVersion, capabilities = {},
                              serverInfo = { name = "fake-gofr-dig", version = "0" } })
  end
  if msg.id == nil then return res:send(202, nil, "") end
  if msg.method == "tools/call" then
    return sse(res, msg.id, tool(msg.params.name, msg.params.arguments or {}))
  end
  if msg.method == "ping" then return sse(res, msg.id, {}) end
  res:send(400, nil, "")
end })
local f = assert(io.open(port_file .. ".tmp", "w"))
f:write(srv.port)
f:close()
os.rename(port_file .. ".tmp", port_file)
sim.run(function()
  local t0 = sim.now()
  while sim.now() - t0 < 60 and sim.sleep(0.1) do end
end)
srv.close()
]=]

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end


describe("load.lua --protocol mcp", function()
  local dir, pid_file, url

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. support.shell_quote(dir)))
    local script = write(dir .. "/fake.lua", FAKE)
    local port_file, log = dir .. "/port", dir .. "/fake.log"
    pid_file = dir .. "/pid"
    local q = support.shell_quote
    local cmd = ("%s %s --port-file %s >%s 2>&1 </dev/null & echo $! >%s")
      :format(q(support.bin), q(script), q(port_file), q(log), q(pid_file))
    os.execute("bash -c " .. q(cmd))
    local port
    for _ = 1, 100 do
      port = support.read_file(port_file)
      if port then break end
      os.execute("sleep 0.05")
    end
    assert(port, "the fake server did not start: " .. tostring(support.read_file(log)))
    url = ("http://127.0.0.1:%s/mcp/"):format(port)
    local ready = false
    sim.run(function()
      for _ = 1, 50 do
        local res = sim.http.get(url, { timeout = 1 })
        if res and res.status then ready = true break end
        sim.sleep(0.05)
      end
    end)
    assert(ready, "the fake server does not answer: " .. tostring(support.read_file(log)))
  end)

  teardown(function()
    local pid = pid_file and support.read_file(pid_file)
    if pid and pid:match("^%d+") then os.execute("kill " .. pid:match("^%d+") .. " 2>/dev/null") end
    if dir then os.execute("rm -rf " .. support.shell_quote(dir)) end
  end)

  it("runs the harness's MCP flow per persona, with each group's token", function()
    local mix = write(dir .. "/mix.json",
      '{"groups": {"attacker": {"count": 1, "token": "token_invalid",'
        .. ' "expect": {"get_content": ["AUTH_ERROR"]}},'
        .. ' "public": {"count": 1, "token": null}}}')
    local out = dir .. "/report.json"
    local r = support.run_cli { LOAD, "--protocol", "mcp", "--mcp-url", url,
      "--total-requests", "12", "--mix-file", mix, "--quiet", "--output", out, "--seed", "1" }
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    local rep = cjson.decode((assert(support.read_file(out))))
    local m = rep.metrics
    for _, t in ipairs { "get_structure", "get_content", "get_session_info", "get_session_chunk" } do
      assert.is_truthy(m.by_tool["mcp." .. t], "by_tool lacks mcp." .. t)
    end
    assert.are.equal(2, rep.config.consumers)
    local tp = m.by_tool_persona
    -- attacker: get_structure ignores tokens, get_content's session path refuses it
    assert.are.equal(6, tp["mcp.get_structure::attacker"].count)
    assert.are.equal(0, tp["mcp.get_structure::attacker"].error_count)
    -- ... as its group expects: expected outcomes, not errors
    local ac = tp["mcp.get_content::attacker"]
    assert.are.equal(6, ac.count)
    assert.are.equal(0, ac.error_count)
    assert.are.equal(6, ac.expected_count)
    assert.are.equal(6, ac.expected_types.auth_error)
    assert.are.equal(6, rep.checks["expected auth_error: mcp.get_content (attacker)"].passes)
    assert.is_nil(tp["mcp.get_session_info::attacker"])   -- no session id: no reads
    -- public: every call succeeds, session reads included
    for _, t in ipairs { "get_structure", "get_content", "get_session_info", "get_session_chunk" } do
      local a = tp["mcp." .. t .. "::public"]
      assert.is_truthy(a, "by_tool_persona lacks mcp." .. t .. "::public")
      assert.are.equal(6, a.count)
      assert.are.equal(0, a.error_count)
    end
  end)

  it("runs the tasks a mix weights", function()
    local mix = write(dir .. "/mix2.json",
      '{"groups": {"attacker": {"count": 1, "token": "token_invalid", "tasks": {"list_sessions": 1},'
        .. ' "expect": ["AUTH_ERROR"]}, "pinger": {"count": 1, "tasks": {"ping": 1}}}}')
    local out = dir .. "/report2.json"
    local r = support.run_cli { LOAD, "--protocol", "mcp", "--mcp-url", url, "--total-requests", "4",
      "--mix-file", mix, "--quiet", "--output", out }
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    local tp = cjson.decode((assert(support.read_file(out)))).metrics.by_tool_persona
    assert.are.equal(2, tp["mcp.ping::pinger"].count)
    assert.are.equal(0, tp["mcp.ping::pinger"].error_count)
    assert.are.equal(2, tp["mcp.list_sessions::attacker"].count)
    assert.are.equal(2, tp["mcp.list_sessions::attacker"].expected_types.auth_error)
    assert.is_nil(tp["mcp.get_structure::attacker"])
  end)

  it("keeps running when the MCP server cannot be reached, then says so and exits 1", function()
    local dead = ("http://127.0.0.1:%d/mcp/"):format(support.closed_port())
    local out = dir .. "/report3.json"
    local r = support.run_cli { LOAD, "--protocol", "mcp", "--mcp-url", dead, "--total-requests", "6",
      "--consumers", "2", "--quiet", "--output", out }
    assert.are.equal(1, r.status, r.stderr)
    local rep = cjson.decode((assert(support.read_file(out))))
    assert.are.equal(6, rep.metrics.by_tool["mcp.connect"].count)
    assert.are.equal(6, rep.metrics.by_tool["mcp.connect"].error_types.network_connect)
    assert.is_false(rep.verdict.healthy)
    assert.are.equal("no_success", rep.verdict.problems[1].rule)
    assert.matches("FAIL: no request succeeded (6 of 6 failed: network_connect 6)", r.stdout, 1, true)
  end)

  it("runs --protocol mcp without --mcp-url against the embedded twin", function()
    -- through env, so that a GOFR_DIG_MCP_URL of the caller's does not count
    local log = dir .. "/embedded.txt"
    local cmd = ("env -u GOFR_DIG_MCP_URL %s %s --protocol mcp --total-requests 6 --quiet"
      .. " >%s 2>&1 </dev/null; echo \"status $?\" >>%s")
      :format(support.shell_quote(support.bin), support.shell_quote(LOAD),
        support.shell_quote(log), support.shell_quote(log))
    os.execute("bash -c " .. support.shell_quote(cmd))
    local text = assert(support.read_file(log))
    assert.matches("mcp.get_structure", text, 1, true)
    assert.matches("apac ", text, 1, true)     -- the default mix: apac first
    assert.matches("status 0\n$", text)
  end)

  it("names an unknown --mix-file in its usage error", function()
    local missing = dir .. "/no-such-mix.json"
    local r = support.run_cli { LOAD, "--protocol", "mcp", "--mcp-url", url, "--total-requests", "1",
      "--mix-file", missing, "--quiet" }
    assert.are.equal(2, r.status)
    assert.matches(missing, r.stderr, 1, true)
  end)
end)
