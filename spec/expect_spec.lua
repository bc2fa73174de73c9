-- Expected outcomes (gofr_sim.engine.expect) through the executable: declared by a
-- call, a mix group, a scenario or --expect; counted apart from errors in
-- the summary, the JSON and HTML reports; not counted against error_rate;
-- an expectation that does not happen is a failed check.
local cjson = require "cjson"
local support = require "support"

local LOAD = support.source_dir .. "/scenarios/load.lua"

local tmpfile = support.tmpfile

-- A scenario GETting the fixture site: every second call of the run (8
-- in all, so 4) asks for ?status=404, with the given call options (a Lua
-- expression), and the given extra scenario keys. The count is the run's,
-- not ctx.iteration: the two consumers need not share the 8 iterations
-- evenly.
local function scenario(site_url, call_opts, extra)
  return tmpfile(([[
    local sim = require "gofr_sim"
    local calls = 0
    return {
      options = { total_requests = 8, consumers = 2 },
      thresholds = { error_rate = "< 1%%" },
      iteration = function()
        calls = calls + 1
        local missing = calls %% 2 == 0
        sim.http.get("%s/index.html" .. (missing and "?status=404" or ""), %s)
      end,
      %s
    }]]):format(site_url, call_opts, extra or ""))
end

describe("expected outcomes", function()
  local site, stop = {}, nil

  setup(function() site.url, stop = support.fixtures_process() end)

  teardown(function() stop() end)

  it("counts a call's expected status apart: summary, JSON and HTML, not in error_rate", function()
    local path = scenario(site.url, "missing and { expect = { 404 } } or nil")
    local html = os.tmpname() .. ".html"
    local r, rep = support.run_scenario(path, { "--quiet", "--html", html })
    os.remove(path)
    local page = support.read_file(html) or ""
    os.remove(html)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("8 requests, 0 unexpected errors, 4 expected in ", r.stdout, 1, true)
    assert.matches("expected by type: not_found 4", r.stdout, 1, true)
    assert.matches("http%.get +8 +0 +4 ", r.stdout)
    local agg = rep.metrics.by_tool["http.get"]
    assert.are.equal(0, agg.error_count)
    assert.are.equal(4, agg.expected_count)
    assert.are.same({ not_found = 4 }, agg.expected_types)
    assert.are.equal(4, rep.result.expected_count)
    assert.are.equal(0, rep.thresholds[1].value) -- error_rate
    assert.are.equal(4, rep.checks["expected http_404: http.get"].passes)
    assert.matches('id="expected-types"', page, 1, true)
    assert.matches('<div class="value" data-value="4">4</div>', page, 1, true)
  end)

  it("fails the check when an expected outcome does not happen, exit 1", function()
    local path = scenario(site.url, "{ expect = { 404 } }") -- the 200s were expected to be 404s
    local r, rep = support.run_scenario(path, { "--quiet" })
    os.remove(path)
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local c = rep.checks["expected http_404: http.get"]
    assert.are.equal(4, c.passes)
    assert.are.equal(4, c.fails)
    assert.are.equal("ok", c.observed)
    assert.are.equal("FAIL", support.check_mark(r.stdout, "expected http_404: http.get"))
  end)

  it("tolerates an outcome listed with ok (k6's expectedStatuses)", function()
    local path = scenario(site.url, "{ expect = { 'ok', 404 } }")
    local r, rep = support.run_scenario(path, { "--quiet" })
    os.remove(path)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal(8, rep.checks["expected http_404|ok: http.get"].passes)
    assert.are.equal(4, rep.result.expected_count)
  end)

  it("takes a scenario's expect and --expect, narrowest first", function()
    local path = scenario(site.url, "nil", 'expect = { ["http.get"] = { "http_500" } },')
    -- the scenario expects 500s: neither 200 nor 404 is one (and the 404s
    -- are unexpected errors, so error_rate fails too: 99)
    local r, rep = support.run_scenario(path, { "--quiet" })
    assert.are.equal(99, r.status)
    assert.are.equal(8, rep.checks["expected http_500: http.get"].fails)
    r, rep = support.run_scenario(path, { "--quiet", "--expect", "http.get=ok,not_found" })
    os.remove(path)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal(4, rep.metrics.overall.expected_count)
  end)

  it("refuses a bad declaration before the run, naming where it is", function()
    local path = scenario(site.url, "nil", 'expect = { get_content = { "not a type" } },')
    local r = support.run_cli { path, "--quiet" }
    os.remove(path)
    assert.are.equal(2, r.status)
    assert.matches("expect.get_content[1]: an outcome must be", r.stderr, 1, true)
    r = support.run_cli { LOAD, "--expect", "get_content=", "--duration", "1s" }
    assert.are.equal(2, r.status)
    assert.matches("--expect 'get_content=': expected a non-empty array of outcomes", r.stderr, 1, true)
    local mix = tmpfile('{"groups": {"a": {"count": 1, "expect": {"get_content": "AUTH_ERROR"}}}}', ".json")
    r = support.run_cli { LOAD, "--mix-file", mix, "--duration", "1s" }
    os.remove(mix)
    assert.are.equal(2, r.status)
    assert.matches("groups.a.expect.get_content: expected a non-empty array of outcomes", r.stderr, 1, true)
  end)

  it("marks a mix group's expected denials: the default mix's attacker", function()
    local r, rep = support.run_scenario(LOAD, { "--duration", "3s", "--quiet" })
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local a = rep.metrics.by_tool_persona["mcp.get_content::attacker"]
    assert.are.equal(a.count, a.expected_count, cjson.encode(a))
    assert.are.equal(0, a.error_count)
    assert.are.equal(0, rep.checks["expected auth_error: mcp.get_content (attacker)"].fails)
  end)

  it("fails the mix group's check when the twin lets the attacker in", function()
    -- GOFR_DIG_NO_AUTH: the embedded twin verifies no token, so the
    -- attacker's denials do not happen
    local ffi = require "ffi"
    pcall(ffi.cdef, "int setenv(const char *, const char *, int); int unsetenv(const char *);")
    ffi.C.setenv("GOFR_DIG_NO_AUTH", "1", 1)
    local r, rep = support.run_scenario(LOAD, { "--duration", "3s", "--quiet" })
    ffi.C.unsetenv("GOFR_DIG_NO_AUTH")
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local c = rep.checks["expected auth_error: mcp.get_content (attacker)"]
    assert.is_true(c.fails > 0)
    assert.are.equal("ok", c.observed)
  end)
end)
