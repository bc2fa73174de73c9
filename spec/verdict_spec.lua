-- The verdict line and the unhealthy-run rules (gofr_sim.runner.verdict), through
-- the executable: runs that did nothing useful exit 1 and say why in the
-- last line, unless the scenario or a threshold says that is the outcome.
local cjson = require "cjson"
local support = require "support"

local LOAD = support.source_dir .. "/scenarios/load.lua"

local tmpfile = support.tmpfile

local function last_line(stdout)
  return (stdout:gsub("%s+$", ""):match("[^\n]*$"))
end

-- Runs a scenario file; -> result, report.
local function run(path, args)
  local argv = { "--quiet" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  local r, rep = support.run_scenario(path, argv)
  return r, rep
end

describe("the verdict", function()
  local site, stop = {}, nil

  setup(function() site.url, stop = support.fixtures_process() end)

  teardown(function() stop() end)

  it("fails a run whose every iteration raises, ended early, in one last line, exit 1", function()
    local path = tmpfile [[return { options = { duration = "2s" },
      iteration = function() error("boom") end }]]
    local r, rep = run(path)
    os.remove(path)
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local line = last_line(r.stdout)
    assert.matches("^FAIL: every one of the 4 iterations failed %(4 script errors: .*boom%)", line)
    assert.matches("the run ended after %d%.%d%ds of its 2%.00s", line)
    assert.is_false(rep.verdict.ok)
    assert.is_false(rep.verdict.healthy)
    local rules = {}
    for _, p in ipairs(rep.verdict.problems) do rules[#rules + 1] = p.rule end
    assert.are.same({ "all_iterations_failed", "ended_early" }, rules)
  end)

  it("fails a run where no request succeeded: a plain web server as --mcp-url", function()
    local r, rep = support.run_scenario(LOAD, { "--mcp-url", site.url .. "/index.html",
      "--total-requests", "8", "--consumers", "2", "--quiet" })
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    local types = rep.metrics.by_tool["mcp.connect"].error_types
    local only = next(types)
    assert.is_truthy(only and only:match("^http_%d+$"), cjson.encode(types))
    assert.matches("^FAIL: no request succeeded %(8 of 8 failed: http_%d+ 8%)", last_line(r.stdout))
  end)

  it("passes the same runs when the scenario or --accept-unhealthy accepts the rule", function()
    local path = tmpfile [[return { options = { duration = "1s" }, accept_unhealthy = { "ended_early" },
      iteration = function() error("boom") end }]]
    local r, rep = run(path, { "--accept-unhealthy", "all_iterations_failed" })
    os.remove(path)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.is_true(rep.verdict.healthy)
    assert.matches("^PASS: ", last_line(r.stdout))
    -- an unknown rule is a usage error naming the flag
    r = support.run_cli { LOAD, "--accept-unhealthy", "nothing_worked", "--duration", "1s" }
    assert.are.equal(2, r.status)
    assert.matches("--accept-unhealthy: unknown rule 'nothing_worked'", r.stderr, 1, true)
    r = support.run_cli { LOAD, "--accept-unhealthy", "no_sucess", "--duration", "1s" }
    assert.are.equal(2, r.status)
    assert.matches("unknown rule 'no_sucess' (did you mean 'no_success'?; rules: ", r.stderr, 1, true)
  end)

  it("lets a passing threshold on the same metric say all errors is the outcome", function()
    local r = support.run_scenario(LOAD, { "--protocol", "http", "--total-requests", "4",
      "--target-url", site.url .. "/index.html?status=503", "--quiet",
      "--threshold", "error_rate > 99%", "--threshold", "successes{tool=*} >= 0" })
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal("PASS: 3 thresholds passed, 4 unexpected errors", last_line(r.stdout))
  end)

  it("ends a healthy run with PASS, naming thresholds, checks and errors", function()
    local path = tmpfile(([[
      local sim = require "gofr_sim"
      return {
        options = { total_requests = 6, consumers = 2 },
        thresholds = { error_rate = "< 1%%" },
        iteration = function(ctx)
          local res = sim.http.get("%s/index.html")
          ctx.check(res and res.status == 200, "status 200")
        end,
      }]]):format(site.url))
    local r, rep = run(path)
    os.remove(path)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.are.equal("PASS: 1 threshold passed, 1 check passed, 0 unexpected errors", last_line(r.stdout))
    assert.are.equal(last_line(r.stdout), rep.verdict.line)
    assert.is_true(rep.verdict.ok)
  end)

  it("writes the verdict as a JUnit property and an unhealthy run as a failed case", function()
    local dir = os.tmpname()
    os.remove(dir)
    local matrix = tmpfile(([[
      return { cells = { { name = "dead", scenario = %q,
        flags = { "--mcp-url", "http://127.0.0.1:%d/mcp", "--total-requests", "2" } } } }
    ]]):format(LOAD, support.closed_port()))
    local r = support.run_cli { "matrix", matrix, "--out-dir", dir, "--junit", dir .. "/junit.xml",
      "--quiet" }
    os.remove(matrix)
    local xml = support.read_file(dir .. "/junit.xml") or ""
    os.execute("rm -rf " .. support.shell_quote(dir))
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches('<property name="verdict" value="FAIL: no request succeeded', xml, 1, true)
    assert.matches('<testcase name="verdict"', xml, 1, true)
    assert.matches('<failure message="FAIL: no request succeeded[^"]*" type="unhealthy">', xml)
  end)
end)
