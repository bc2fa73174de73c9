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
  it("runs with no flags: every tool by persona, with gofr-dig's error types", function()
    local r, rep = report_of({})
    assert.are.equal(0, r.status, r.stderr)
    assert.is_table(rep, r.stdout .. r.stderr)
    assert.are.equal(10, rep.config.duration_seconds)
    assert.is_true(rep.config.embedded_twin)
    assert.matches("^http://127%.0%.0%.1:%d+/mcp/$", rep.config.mcp_url)
    local tp = rep.metrics.by_tool_persona
    -- The fixture site has pages its robots.txt disallows (/admin/, /private/):
    -- fetching them is robots_blocked, for every persona; nothing else fails
    -- for the personas with valid tokens or none.
    local function only_robots(agg, what)
      for et in pairs(agg.error_types) do
        assert.are.equal("robots_blocked", et, what .. ": " .. cjson.encode(agg.error_types))
      end
    end
    for _, persona in ipairs { "apac", "emea", "us", "multi", "public" } do
      for _, tool in ipairs { "get_structure", "get_content", "get_session_info", "get_session_chunk" } do
        local agg = tp["mcp." .. tool .. "::" .. persona]
        assert.is_table(agg, tool .. " by " .. persona)
        assert.is_true(agg.count > 0)
        only_robots(agg, tool .. " by " .. persona)
      end
      assert.are.equal(0, tp["mcp.get_session_info::" .. persona].error_count)
    end
    -- the attacker's token is refused where gofr-dig verifies it (the session
    -- path of get_content), nowhere else; it never gets a session to read
    local attacker = tp["mcp.get_content::attacker"]
    assert.is_true(attacker.error_types.auth_error > 0)
    assert.are.equal(attacker.count, attacker.error_count)
    only_robots(tp["mcp.get_structure::attacker"], "get_structure by attacker")
    assert.is_nil(tp["mcp.get_session_info::attacker"])
    for et in pairs(rep.metrics.overall.error_types) do
      assert.is_true(et == "auth_error" or et == "robots_blocked", et)
    end
  end)

  it("registers minted tokens in a standalone twin's store with --token-store", function()
    local store, secret = os.tmpname(), os.tmpname()
    os.remove(store)
    local sf = assert(io.open(secret, "w"))
    sf:write("a-secret-for-this-spec\n")
    sf:close()
    -- no twin is running: the run fails to connect, but the store is written first
    local r = support.run_cli({ LOAD, "--mcp-url", "http://127.0.0.1:" .. support.closed_port() .. "/mcp/",
      "--token-store", store, "--total-requests", "1", "--duration", "1s",
      "--mix-file", support.source_dir .. "/fixtures/mixes/default.json",
      "--jwt-secret-file", secret })
    os.remove(secret)
    assert.are.equal(0, r.status, r.stderr)
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
      { { "--mode", "record" }, "record: give --sites FILE" },
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
