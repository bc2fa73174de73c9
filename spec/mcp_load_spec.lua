-- scenarios/mcp_load.lua through the executable: any MCP server's tools
-- called with schema-built arguments, results checked against output
-- schemas, protocol violations reported by type — against the SDK's full
-- server (HTTP and stdio), a scripted peer that answers the wrong id, and
-- gofr-dig's twin. Without node/npm the peer tests are pending.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local cjson = require "cjson"
local support = require "support"

local SCENARIO = support.source_dir .. "/scenarios/mcp_load.lua"

local function run(args)
  local full = { "--quiet" }
  for _, a in ipairs(args) do full[#full + 1] = a end
  return support.run_scenario(SCENARIO, full)
end

local function error_types(rep, tool)
  return (rep.metrics.by_tool[tool] or {}).error_types or {}
end

describe("mcp_load.lua, usage", function()
  it("needs one server, and names what is wrong", function()
    local r = support.run_cli { SCENARIO, "--duration", "1s" }
    assert.are.equal(2, r.status)
    assert.matches("give the MCP server to load: %-%-mcp%-url URL or %-%-mcp%-command CMD", r.stderr)
    r = support.run_cli { SCENARIO, "--mcp-command", "x", "--header", "A: b" }
    assert.are.equal(2, r.status)
    assert.matches("%-%-header and %-%-oauth are for %-%-mcp%-url", r.stderr)
  end)
end)

local peers_ok, why_not = support.prepare_peers()

describe("mcp_load.lua against MCP peers", function()
  if not peers_ok then
    pending(why_not)
    return
  end
  local full, quirks
  setup(function()
    full = support.wait_peer(support.start_peer("sdk-full-server.js"), 15)
    quirks = support.wait_peer(support.start_peer("quirks.js"), 15)
  end)
  teardown(support.stop_peers)

  it("lists the tools and a sample of each one's arguments (--dry-run)", function()
    local r = support.run_cli { SCENARIO, "--mcp-url", full.base .. "/mcp", "--dry-run" }
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^15 tools\n", r.stdout)
    assert.matches("\nbad_output %(outputSchema checked%)\n", r.stdout)
    assert.matches('\necho\n  arguments: {"text":"[^"]*"}\n', r.stdout)
  end)

  it("reports an outputSchema violation by type and path; a tool's argument file is used", function()
    local dir = support.tmpdir()
    support.write_file(dir .. "/echo.json", '[{"text": 5}]') -- not a string: the server refuses it
    local r, rep = run { "--mcp-url", full.base .. "/mcp", "--tools", "bad_output,good_output,echo",
      "--args-dir", dir, "--total-requests", "60", "--consumers", "3", "--seed", "4" }
    os.execute("rm -rf '" .. dir .. "'")
    assert.are.equal(99, r.status, r.stdout .. r.stderr) -- its thresholds fail
    local bad = rep.metrics.by_tool["mcp.bad_output"]
    assert.is_true(bad.count > 0)
    assert.are.same({ mcp_output_schema = bad.count }, error_types(rep, "mcp.bad_output"))
    assert.are.same({}, error_types(rep, "mcp.good_output"))
    assert.are.equal(0, rep.metrics.by_tool["mcp.good_output"].error_count)
    local echo = rep.metrics.by_tool["mcp.echo"]
    assert.are.same({ mcp_invalid_arguments = echo.count }, error_types(rep, "mcp.echo"))
    assert.matches("mcp_output_schema: mcp.bad_output: bad_output: structuredContent.n: ", r.stdout)
    local failed = {}
    for _, t in ipairs(rep.thresholds) do if not t.ok then failed[#failed + 1] = t.key end end
    table.sort(failed)
    assert.are.same({ "errors{error_type=mcp_output_schema}", "successes{tool=mcp.bad_output}",
      "successes{tool=mcp.echo}" }, failed)
  end)

  it("runs a stdio server per persona (--mcp-command)", function()
    local cmd = ("node %s/sdk-full-server.js --stdio"):format(support.peers_dir)
    local r, rep = run { "--mcp-command", cmd, "--tools", "echo,good_output", "--total-requests", "40",
      "--consumers", "2" }
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal(40, rep.result.iterations)
    assert.are.equal(0, rep.result.error_count)
    assert.are.equal(2, rep.metrics.by_tool["mcp.connect"].count) -- one server each
  end)

  it("reports a wrong-id answer and a broken envelope by type", function()
    local SSE = { ["content-type"] = "text/event-stream", ["mcp-session-id"] = "s1" }
    local function event(json) return { status = 200, headers = SSE, body = "data: " .. json .. "\n\n" } end
    local tool = { name = "t", inputSchema = { type = "object", properties = { n = { type = "integer" } } } }
    local plan = {
      event('{"jsonrpc":"2.0","id":{{id}},"result":{"protocolVersion":"2025-11-25","capabilities":{}}}'),
      { status = 202 },
      event('{"jsonrpc":"2.0","id":{{id}},"result":' .. cjson.encode { tools = { tool } } .. "}"),
      event('{"jsonrpc":"2.0","id":4242,"result":{"content":[]}}'),
      event('{"jsonrpc":"1.0","id":{{id}},"result":{"content":[]}}'),
    }
    local planned = sim.run(function()
      return core.http_request { method = "POST", url = quirks.base .. "/_plan", timeout = 5,
        headers = {}, body = cjson.encode { routes = { ["/mcp"] = plan } } }
    end)
    assert.are.equal(200, planned.status)
    local r, rep = run { "--mcp-url", quirks.base .. "/mcp", "--shared-session", "--total-requests", "2",
      "--consumers", "1" }
    assert.are.equal(1, r.status, r.stdout .. r.stderr) -- nothing succeeded: an unhealthy run
    assert.are.same({ mcp_wrong_id = 1, mcp_bad_envelope = 1 }, error_types(rep, "mcp.t"))
    assert.matches("mcp_wrong_id: mcp.t: no response to request %d+; a response to id '4242' came instead",
      r.stdout)
  end)
end)

describe("mcp_load.lua against gofr-dig's twin", function()
  it("calls its tools by MCP's rules alone", function()
    local port_file = os.tmpname()
    local log = port_file .. ".log"
    local p = assert(io.popen(("timeout -k 2 60 %s twin --host 127.0.0.1 --port 0 --port-file %s "
      .. "--data-dir %s.d >%s 2>&1 </dev/null & echo $!"):format(support.shell_quote(support.bin),
      port_file, port_file, log)))
    local pid = tonumber(p:read("*l"))
    p:close()
    local port = support.wait_for(function()
      return tonumber((support.read_file(port_file) or ""):match("%d+"))
    end, 10)
    assert(port, support.read_file(log))
    local r, rep = run { "--mcp-url", ("http://127.0.0.1:%d/mcp/"):format(port), "--tools", "ping",
      "--total-requests", "20" }
    os.execute("kill " .. pid .. " 2>/dev/null")
    os.execute(("rm -rf %s %s %s.d"):format(port_file, log, port_file))
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal(20, rep.metrics.by_tool["mcp.ping"].count)
    assert.are.equal(0, rep.result.error_count)
  end)
end)
