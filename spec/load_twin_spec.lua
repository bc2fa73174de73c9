-- scenarios/load.lua with no target: the MCP flow of every persona of the
-- default mix against the embedded twin, through the executable.
local cjson = require "cjson"
local support = require "support"

local LOAD = support.source_dir .. "/scenarios/load.lua"

local function report_of(args)
  local out = os.tmpname()
  local full = { LOAD }
  for _, a in ipairs(args) do full[#full + 1] = a end
  full[#full + 1] = "--output"
  full[#full + 1] = out
  local r = support.run_cli(full)
  local f = io.open(out, "rb")
  local rep = f and cjson.decode(f:read("*a"))
  if f then f:close() end
  os.remove(out)
  return r, rep
end

describe("scenarios/load.lua against the embedded twin", function()
  it("runs with no flags: every tool by persona, expected outcomes apart, a PASS verdict", function()
    local r, rep = report_of({})
    assert.are.equal(0, r.status, r.stderr)
    assert.is_table(rep, r.stdout .. r.stderr)
    assert.are.equal(10, rep.config.duration_seconds)
    assert.is_true(rep.config.embedded_twin)
    assert.matches("^http://127%.0%.0%.1:%d+/mcp/$", rep.config.mcp_url)
    local tp = rep.metrics.by_tool_persona
    -- The fixture site has pages its robots.txt disallows (/admin/, /private/):
    -- get_structure of them is an expected ROBOTS_BLOCKED, for every persona;
    -- nothing fails unexpectedly on a healthy twin.
    local function only_robots(agg, what)
      for et in pairs(agg.expected_types) do
        assert.are.equal("robots_blocked", et, what .. ": " .. cjson.encode(agg.expected_types))
      end
    end
    for _, persona in ipairs { "apac", "emea", "us", "multi", "public" } do
      for _, tool in ipairs { "get_structure", "get_content", "get_session_info", "get_session_chunk" } do
        local agg = tp["mcp." .. tool .. "::" .. persona]
        assert.is_table(agg, tool .. " by " .. persona)
        assert.is_true(agg.count > 0)
        assert.are.equal(0, agg.error_count,
          tool .. " by " .. persona .. ": " .. cjson.encode(agg.error_types))
        only_robots(agg, tool .. " by " .. persona)
      end
    end
    assert.is_true(rep.metrics.by_tool["mcp.get_structure"].expected_types.robots_blocked > 0)
    -- the attacker's token is refused where gofr-dig verifies it (the session
    -- path of get_content), as its mix group expects; it never gets a session
    local attacker = tp["mcp.get_content::attacker"]
    assert.is_true(attacker.expected_types.auth_error > 0)
    assert.are.equal(attacker.count, attacker.expected_count)
    assert.are.equal(0, attacker.error_count)
    only_robots(tp["mcp.get_structure::attacker"], "get_structure by attacker")
    assert.is_nil(tp["mcp.get_session_info::attacker"])
    assert.are.equal(0, rep.result.error_count)
    assert.are.equal(rep.metrics.overall.expected_count, rep.result.expected_count)
    assert.is_true(rep.result.expected_count > 0)
    -- the expectations are checks: each one held
    for _, name in ipairs { "expected auth_error: mcp.get_content (attacker)",
                            "expected robots_blocked: mcp.get_structure" } do
      assert.is_table(rep.checks[name], name)
      assert.are.equal(0, rep.checks[name].fails, name)
    end
    -- the default thresholds, and the verdict as the last line
    local keys = {}
    for _, t in ipairs(rep.thresholds) do keys[t.key] = t.ok end
    assert.is_true(keys.script_errors)
    assert.is_true(keys.error_rate)
    assert.is_true(keys["successes{tool=mcp.get_session_chunk}"])
    assert.is_true(rep.verdict.ok)
    local last = r.stdout:gsub("%s+$", ""):match("[^\n]*$")
    assert.matches("^PASS: %d+ thresholds passed, %d+ checks passed, 0 unexpected errors %(%d+ expected%)$",
      last)
  end)

  it("registers minted tokens in a standalone twin's store with --token-store", function()
    local store, secret = os.tmpname(), os.tmpname()
    os.remove(store)
    local sf = assert(io.open(secret, "w"))
    sf:write("a-secret-for-this-spec\n")
    sf:close()
    -- no twin is running: the run fails to connect (an unhealthy run: exit
    -- 1), but the store is written first
    local r = support.run_cli({ LOAD, "--mcp-url", "http://127.0.0.1:" .. support.closed_port() .. "/mcp/",
      "--token-store", store, "--total-requests", "1", "--duration", "1s",
      "--mix-file", support.source_dir .. "/fixtures/mixes/default.json",
      "--jwt-secret-file", secret })
    os.remove(secret)
    assert.are.equal(1, r.status, r.stderr)
    assert.matches("FAIL: no request succeeded", r.stdout, 1, true)
    local f = assert(io.open(store, "rb"))
    local doc = cjson.decode(f:read("*a"))
    f:close()
    os.remove(store)
    local groups = {}
    for _, rec in pairs(doc) do groups[#groups + 1] = table.concat(rec.groups, "+") end
    table.sort(groups)
    assert.are.same({ "apac", "apac+emea+us", "emea", "us" }, groups)
  end)

  it("refuses --mode record and --mode live without pages, in one line", function()
    for _, case in ipairs {
      { { "--mode", "record" }, "--mode must be one of live, fixture, got 'record'" },
      { { "--mode", "live" }, "--mode live needs --target-url URL or --sites-file FILE" },
      { { "--token-source", "env" }, "--token-source env: the embedded twin" },
    } do
      local args = { LOAD }
      for _, a in ipairs(case[1]) do args[#args + 1] = a end
      local r = support.run_cli(args)
      assert.are.equal(2, r.status)
      assert.matches(case[2], r.stderr, 1, true)
    end
  end)
end)
