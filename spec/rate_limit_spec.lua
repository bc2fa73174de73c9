-- scenarios/rate_limit.lua through the executable: it passes against the
-- embedded twin, and fails — naming the denial checks — against a twin whose
-- rate limiter allows everything (--twin-faults no_rate_limit).
local cjson = require "cjson"
local support = require "support"

local SCENARIO = support.source_dir .. "/scenarios/rate_limit.lua"

-- Runs the scenario with args; -> cli result, decoded report (nil when none).
local function run(args)
  return support.run_scenario(SCENARIO, args)
end

local row_mark = support.check_mark

-- The checks of a run with the defaults (10 calls per 3 s window).
local DENIALS = {
  "apac's call 11 in the window is RATE_LIMIT_EXCEEDED",
  "the denial's details say remaining 0 and limit 10",
  "the denial's details.reset_seconds is between 1 and the window (3s)",
  "multi (primary group apac) shares apac's bucket: its first call is RATE_LIMIT_EXCEEDED",
  "emea's call 11 in the window is RATE_LIMIT_EXCEEDED",
  "anonymous callers share one bucket: a second anonymous client's first call is RATE_LIMIT_EXCEEDED",
  "a token that fails verification is limited in the anonymous bucket",
  "apac's calls pass again after the window",
  "time to recovery from the first denial is > 0 and <= the window + 1s",
}
local PASSES = {
  "every client connects to gofr-dig",
  "apac's first 10 calls in the window pass",
  "emea has its own bucket: its first 10 calls pass while apac's is exhausted",
  "ping is exempt: 20 pings in a row all pass",
  "anonymous callers' first 10 calls pass (the pings used no slot)",
  "ping passes while the anonymous bucket is exhausted",
  "apac recovers within the first denial's reset_seconds",
  "apac stays limited until a window after its first call",
  "the checks ran to the end",
}

describe("scenarios/rate_limit.lua", function()
  it("passes against the embedded twin, every check listed with what it saw", function()
    local r, rep = run({})
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.is_table(rep, r.stdout .. r.stderr)
    for _, names in ipairs { DENIALS, PASSES } do
      for _, name in ipairs(names) do
        local c = rep.checks[name]
        assert.is_table(c, "missing check: " .. name)
        assert.are.equal(0, c.fails, name .. ": " .. tostring(c.observed))
        assert.are.equal(1, c.passes, name)
        assert.is_string(c.observed, name)
        assert.are.equal("ok", row_mark(r.stdout, name), name)
      end
    end
    for name, c in pairs(rep.checks) do assert.are.equal(0, c.fails, name) end
    assert.are.equal("RATE_LIMIT_EXCEEDED", rep.checks[DENIALS[1]].observed)
    assert.are.equal("3", rep.checks[DENIALS[3]].observed)
    -- time to recovery: a metric, and about the window (the burst is fast)
    local series = rep.metrics.series["rate_limit.recovery{bucket=apac,persona=default}"]
    assert.is_table(series, cjson.encode(rep.metrics.series))
    assert.are.equal(1, series.count)
    assert.is_true(series.max_ms > 2000 and series.max_ms <= 4000, tostring(series.max_ms))
    assert.is_true(rep.config.embedded_twin)
  end)

  it("fails, naming the denial checks, when the twin's limiter allows everything", function()
    local r, rep = run({ "--twin-faults", "no_rate_limit" })
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    assert.is_table(rep, r.stdout .. r.stderr)
    for _, name in ipairs(DENIALS) do
      local c = rep.checks[name]
      assert.is_table(c, "missing check: " .. name)
      assert.is_true(c.fails > 0, name)
      assert.is_string(c.observed, name)
      assert.are.equal("FAIL", row_mark(r.stdout, name), name .. "\n" .. r.stdout)
    end
    -- what they saw: the 11th call passed; a bad token reached the handler
    assert.are.equal("passed", rep.checks[DENIALS[1]].observed)
    assert.are.equal("AUTH_ERROR", rep.checks["a token that fails verification is limited in the "
      .. "anonymous bucket"].observed)
    -- the calls that should pass still do: the failures are the limiter's
    for _, name in ipairs { PASSES[2], PASSES[3], PASSES[4] } do
      assert.are.equal(0, rep.checks[name].fails, name)
    end
  end)

  it("honours --rate-limit-calls and --rate-limit-window on the twin", function()
    local r, rep = run({ "--rate-limit-calls", "4", "--rate-limit-window", "1" })
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.is_table(rep.checks["apac's call 5 in the window is RATE_LIMIT_EXCEEDED"])
    assert.are.equal("1", rep.checks["the denial's details.reset_seconds is between 1 and the window (1s)"]
      .observed)
  end)

  it("refuses bad flags in one line, exit 2", function()
    for _, case in ipairs {
      { { "--rate-limit-calls", "0" }, "--rate-limit-calls must be >= 1" },
      { { "--rate-limit-window", "1.5" }, "--rate-limit-window must be a whole number" },
      { { "--recovery-slack", "soon" }, "--recovery-slack" },
      { { "--token-source", "env" }, "--token-source env: the embedded twin" },
      { { "--bursts", "3" }, "unknown flag --bursts" },
    } do
      local args = { SCENARIO }
      for _, a in ipairs(case[1]) do args[#args + 1] = a end
      local r = support.run_cli(args)
      assert.are.equal(2, r.status, r.stderr)
      assert.truthy(r.stderr:find(case[2], 1, true), r.stderr)
      assert.are.equal(1, select(2, r.stderr:gsub("\n", "")), r.stderr)
    end
  end)
end)
