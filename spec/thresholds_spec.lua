-- sim.thresholds: parsing, evaluation against a registry, exit codes.
local thresholds = require "gofr_sim.runner.thresholds"
local metrics = require "gofr_sim.engine.metrics"

-- A registry on a fake clock filled with known samples:
--   http.get   90 x 50ms, 10 x 231.4ms (persona apac / emea)
--   http.post  100 x 20ms, one of them a server_error
--   iteration  10 samples 0.5s .. 0.95s (no tool tag)
--   checks     "status is 200" 193 passes 2 fails, "body ok" 5 passes (198 of 200 = 99%)
--   counters   cache_miss{persona=apac} 3, cache_miss{persona=emea} 4
local function filled()
  local t = 0
  local reg = metrics.new(function() return t end)
  for i = 1, 90 do
    reg:record("http.get", 0.050, { tool = "http.get", persona = i % 2 == 0 and "apac" or "emea" })
    t = t + 0.01
  end
  for _ = 1, 10 do reg:record("http.get", 0.2314, { tool = "http.get", persona = "apac" }) end
  for i = 1, 100 do
    reg:record("http.post", 0.020, { tool = "http.post", error_type = i == 7 and "server_error" or nil })
  end
  for i = 0, 9 do reg:record("iteration", 0.5 + i * 0.05) end
  for i = 1, 195 do reg:check("status is 200", i > 2) end
  for _ = 1, 5 do reg:check("body ok", true) end
  reg:count("cache_miss", 3, { persona = "apac" })
  reg:count("cache_miss", 4, { persona = "emea" })
  reg:count("cache_hit", 100)
  return reg
end

local function one(key, condition, reg, extra)
  local spec = assert(thresholds.parse(key, condition))
  local results, all_ok = thresholds.evaluate({ spec }, reg, extra)
  assert.are.equal(results[1].ok, all_ok)
  return results[1]
end

local function near(expected, actual, tolerance)
  assert.is_number(actual)
  assert.is_true(math.abs(expected - actual) <= tolerance,
    ("expected %s, got %s"):format(tostring(expected), tostring(actual)))
end

-- parse(key, condition) gives nil and 'threshold "<key>": <reason>'.
local function refused(key, condition, reason)
  local spec, why = thresholds.parse(key, condition)
  assert.is_nil(spec)
  assert.are.equal(('threshold "%s": %s'):format(key, reason), why)
end

describe("sim.thresholds", function()
  describe("parse", function()
    it("reads percentiles pN and pN.N, med as p50", function()
      for _, case in ipairs { { "p50", 50 }, { "p90", 90 }, { "p95", 95 }, { "p99", 99 },
                              { "p99.9", 99.9 }, { "p100", 100 }, { "p0.5", 0.5 }, { "med", 50 },
                              { "p(95)", 95, "p95" }, { "p(99.9)", 99.9, "p99.9" } } do
        local s = assert(thresholds.parse(case[1], "< 1s"))
        assert.are.equal(case[3] or case[1], s.metric)
        assert.are.equal(case[1], s.key)
        assert.are.equal("duration", s.kind)
        assert.are.equal(case[2], s.percentile)
      end
    end)

    it("knows every metric and its kind", function()
      local kinds = {
        avg = "duration", min = "duration", max = "duration", stddev = "duration",
        count = "count", errors = "count", iterations = "count", dropped_iterations = "count",
        script_errors = "count", error_rate = "rate", checks = "rate",
      }
      for name, kind in pairs(kinds) do
        local cond = kind == "duration" and "< 1s" or kind == "rate" and "< 1%" or "< 5"
        local s = assert(thresholds.parse(name, cond))
        assert.are.equal(name, s.metric)
        assert.are.equal(kind, s.kind)
      end
      local c = assert(thresholds.parse("counter{name=cache_miss}", "< 5"))
      assert.are.equal("counter", c.metric)
      assert.are.equal("count", c.kind)
    end)

    it("converts every duration unit to seconds", function()
      for cond, bound in pairs { ["< 500us"] = 0.0005, ["< 500µs"] = 0.0005, ["< 500μs"] = 0.0005,
                                 ["< 200ms"] = 0.2, ["< 1.5s"] = 1.5, ["< 2m"] = 120,
                                 ["< .5s"] = 0.5, ["< 200 ms"] = 0.2, ["<200ms"] = 0.2 } do
        local s = assert(thresholds.parse("p95", cond))
        assert.are.equal(bound, s.bound, cond)
      end
    end)

    it("reads rates as % or a bare fraction, counts as bare numbers", function()
      assert.are.equal(0.01, assert(thresholds.parse("error_rate", "< 1%")).bound)
      assert.are.equal(0.99, assert(thresholds.parse("checks", "> 99%")).bound)
      assert.are.equal(0.995, assert(thresholds.parse("checks", "> 99.5%")).bound)
      assert.are.equal(0.05, assert(thresholds.parse("error_rate", "<= 0.05")).bound)
      assert.are.equal(1, assert(thresholds.parse("checks", "== 1")).bound)
      assert.are.equal(1000, assert(thresholds.parse("count", ">= 1000")).bound)
      assert.are.equal(0, assert(thresholds.parse("dropped_iterations", "== 0")).bound)
    end)

    it("accepts every operator", function()
      for _, op in ipairs { "<", "<=", ">", ">=", "==", "!=" } do
        local s = assert(thresholds.parse("p95", op .. " 200ms"))
        assert.are.equal(op, s.op)
        assert.are.equal(op .. " 200ms", s.bound_text)
      end
    end)

    it("accepts the word rate before the operator of a rate metric, and does not need it", function()
      local a = assert(thresholds.parse("checks", "rate > 99%"))
      local b = assert(thresholds.parse("checks", "> 99%"))
      assert.are.equal(a.bound, b.bound)
      assert.are.equal(">", a.op)
      assert.are.equal("> 99%", a.bound_text)
      assert.are.equal("rate > 99%", a.condition)
      assert.truthy(thresholds.parse("error_rate", "rate<1%"))
      assert.truthy(thresholds.parse("checks{name=status is 200}", "rate >= 99.9%"))
    end)

    it("defaults request-level metrics to every tool call; a selector is taken exactly", function()
      for name, cond in pairs { p95 = "< 1s", med = "< 1s", avg = "< 1s", min = "< 1s", max = "< 1s",
                                stddev = "< 1s", count = "< 5", errors = "< 5", error_rate = "< 1%" } do
        assert.are.same({ tool = true }, assert(thresholds.parse(name, cond)).filter, name)
      end
      assert.are.same({ tool = "http.get" }, assert(thresholds.parse("p95{tool=http.get}", "< 1s")).filter)
      assert.are.same({ name = "iteration", persona = "apac" },
        assert(thresholds.parse("p99{ name = iteration , persona=apac }", "< 1s")).filter)
      -- a selector naming neither a series nor a tool covers requests only
      assert.are.same({ persona = true, tool = true },
        assert(thresholds.parse("p99{persona}", "< 1s")).filter)
      assert.are.same({}, assert(thresholds.parse("p99{}", "< 1s")).filter)
      assert.are.same({}, assert(thresholds.parse("p99{}", "< 1s")).filter)
      assert.are.same({}, assert(thresholds.parse("checks", "> 99%")).filter)
      assert.are.same({ name = "status is 200" },
        assert(thresholds.parse("checks{name=status is 200}", "> 99%")).filter)
      assert.are.same({ name = "cache_miss", persona = "apac" },
        assert(thresholds.parse("counter{name=cache_miss,persona=apac}", "< 5")).filter)
    end)

    it("keeps the key and condition as written (trimmed)", function()
      local s = assert(thresholds.parse(" p95{tool=http.get} ", "  < 200ms "))
      assert.are.equal("p95{tool=http.get}", s.key)
      assert.are.equal("< 200ms", s.condition)
      assert.are.equal(0.2, s.bound)
    end)

    it("refuses unknown units", function()
      refused("p95{tool=http.get}", "< 200mx",
        'unknown unit "mx" in "< 200mx" (use us, ms, s, m, %)')
      refused("p95", "< 1h", 'unknown unit "h" in "< 1h" (use us, ms, s, m, %)')
    end)

    it("refuses a unit of the wrong kind", function()
      refused("p95", "< 5%", 'p95 is a duration: "%" needs a rate metric (checks, error_rate)')
      refused("count", "> 5%", 'count is a count: "%" needs a rate metric (checks, error_rate)')
      refused("error_rate", "< 5ms",
        'error_rate is a rate: a duration unit ("ms") does not apply')
      refused("errors", "< 5s", 'errors is a count: a duration unit ("s") does not apply')
      refused("p95", "< 200",
        'p95 is a duration: the bound needs a unit in "< 200" (use us, ms, s, m)')
      refused("checks", "> 99",
        'a bare bound for checks is a fraction from 0 to 1, got 99 (write 99% for 99 percent)')
    end)

    it("refuses bad operators, numbers and trailing text", function()
      refused("p95", "= 200ms", 'expected an operator (<, <=, >, >=, ==, !=) in "= 200ms"')
      refused("p95", "=< 200ms", 'expected an operator (<, <=, >, >=, ==, !=) in "=< 200ms"')
      refused("p95", "200ms", 'expected an operator (<, <=, >, >=, ==, !=) in "200ms"')
      refused("p95", "< fast", 'expected a number after "<" in "< fast"')
      refused("p95", "< -5ms", 'expected a number after "<" in "< -5ms"')
      refused("p95", "< 200ms or so", 'unexpected text after the bound in "< 200ms or so"')
      refused("p95", "   ", 'missing condition (e.g. "< 200ms")')
    end)

    it("refuses words before the operator other than rate, and rate on other metrics", function()
      refused("checks", "count > 5",
        'unexpected "count" in "count > 5" (a condition is an operator and a bound, e.g. < 200ms)')
      refused("p95", "rate < 200ms", '"rate" applies to rate metrics (checks, error_rate), not p95')
    end)

    it("refuses unknown metrics and out-of-range percentiles", function()
      refused("p0", "< 1s", 'percentile 0 is out of range (0 < N <= 100)')
      refused("p100.5", "< 1s", 'percentile 100.5 is out of range (0 < N <= 100)')
      local _, why = thresholds.parse("latency", "< 1s")
      assert.matches('^threshold "latency": unknown metric "latency" %(use p50, p95', why)
      _, why = thresholds.parse("p95.", "< 1s")
      assert.matches('^threshold "p95%.": unknown metric "p95%."', why)
      _, why = thresholds.parse("{tool=x}", "< 1s")
      assert.matches('^threshold "{tool=x}": expected a metric name %(p50', why)
    end)

    it("refuses bad selectors", function()
      refused("p95{tool=http.get", "< 1s",
        'expected a selector {tag=value,...} after "p95", got "{tool=http.get"')
      refused("p95 tool=x", "< 1s",
        'expected a selector {tag=value,...} after "p95", got " tool=x"')
      refused("p95{a{b}}", "< 1s", 'expected a selector {tag=value,...} after "p95", got "{a{b}}"')
      refused("p95{=x}", "< 1s", 'bad tag name "" in the selector (use {tag=value,...})')
      refused("p95{tool=}", "< 1s", 'tag "tool" has an empty value in the selector')
      refused("p95{a=1,a=2}", "< 1s", 'tag "a" appears twice in the selector')
      refused("p95{a=1,,b=2}", "< 1s", 'bad tag name "" in the selector (use {tag=value,...})')
      refused("checks{persona=apac}", "> 99%",
        'checks select by name only: checks or checks{name=...}')
      refused("checks{name}", "> 99%", 'checks select by name only: checks or checks{name=...}')
      refused("counter", "< 5", 'counter needs the counter\'s name: counter{name=...}')
      refused("counter{persona=apac}", "< 5",
        'counter needs the counter\'s name: counter{name=...}')
      refused("iterations{persona=apac}", "> 5",
        "iterations takes no selector but {workload=NAME} (a named workload's)")
      refused("iterations{workload}", "> 5",
        "iterations takes no selector but {workload=NAME} (a named workload's)")
      refused("script_errors{workload=a}", "< 1", "script_errors takes no selector")
    end)

    it("refuses keys and conditions that are not strings", function()
      assert.are.same({ nil, "threshold key must be a string, got number" }, { thresholds.parse(5, "< 1s") })
      assert.are.same({ nil, 'threshold "p95": condition must be a string, got nil' },
        { thresholds.parse("p95") })
    end)
  end)

  describe("parse_cli", function()
    it("splits the key from the condition", function()
      local s = assert(thresholds.parse_cli("p95{tool=http.get} < 200ms"))
      assert.are.equal("p95{tool=http.get}", s.key)
      assert.are.equal("< 200ms", s.condition)
      assert.are.equal(0.2, s.bound)
      s = assert(thresholds.parse_cli("checks rate > 99%"))
      assert.are.equal("checks", s.key)
      assert.are.equal("rate > 99%", s.condition)
      s = assert(thresholds.parse_cli("checks{name=status is 200} rate >= 99.9%"))
      assert.are.equal("checks{name=status is 200}", s.key)
      assert.are.same({ name = "status is 200" }, s.filter)
      s = assert(thresholds.parse_cli("  error_rate<1%  "))
      assert.are.equal("error_rate", s.key)
      assert.are.equal("<1%", s.condition)
      s = assert(thresholds.parse_cli("p(95){tool=http.get} < 200ms"))
      assert.are.equal("p(95){tool=http.get}", s.key)
      assert.are.equal(95, s.percentile)
      s = assert(thresholds.parse_cli("p99.9 {name=iteration} < 2s"))
      assert.are.equal("p99.9{name=iteration}", s.key)
      assert.are.equal(99.9, s.percentile)
    end)

    it("refuses a missing condition, an open selector, other types", function()
      local function why(text) return select(2, thresholds.parse_cli(text)) end
      assert.are.equal('threshold "p95{tool=x}": missing condition (e.g. "p95{tool=x} < 200ms")',
        why("p95{tool=x}"))
      assert.are.equal('--threshold "p95{tool=x < 200ms": the selector after "p95" is not closed with }',
        why("p95{tool=x < 200ms"))
      assert.are.equal('--threshold "< 200ms": expected a metric and a condition (e.g. \'p95 < 200ms\')',
        why("< 200ms"))
      assert.are.same({ nil, "--threshold needs a string, got boolean" }, { thresholds.parse_cli(true) })
      assert.are.same({ nil, 'threshold "p95": unknown unit "mx" in "< 200mx" (use us, ms, s, m, %)' },
        { thresholds.parse_cli("p95 < 200mx") })
    end)

    it("from_cli takes the values of a repeated flag, sorted", function()
      local specs = assert(thresholds.from_cli { "p99 < 1s", "error_rate < 1%", "p95 < 200ms" })
      assert.are.same({ "error_rate", "p95", "p99" }, { specs[1].key, specs[2].key, specs[3].key })
      assert.are.equal(1, #assert(thresholds.from_cli("p95 < 200ms")))
      assert.are.same({}, thresholds.from_cli(nil))
      assert.are.same({ nil, 'threshold "p95": unknown unit "mx" in "< 1mx" (use us, ms, s, m, %)' },
        { thresholds.from_cli { "p99 < 1s", "p95 < 1mx" } })
    end)
  end)

  describe("from_table", function()
    it("reads strings and arrays of strings, sorted by key then condition", function()
      local specs = assert(thresholds.from_table {
        ["p95{tool=http.get}"] = "< 200ms",
        ["error_rate"] = "< 1%",
        ["checks"] = "rate > 99%",
        ["p99{name=iteration}"] = { "< 800ms", "< 1s" },
      })
      local got = {}
      for i, s in ipairs(specs) do got[i] = s.key .. " " .. s.condition end
      assert.are.same({
        "checks rate > 99%", "error_rate < 1%", "p95{tool=http.get} < 200ms",
        "p99{name=iteration} < 1s", "p99{name=iteration} < 800ms",
      }, got)
      assert.are.same({}, thresholds.from_table(nil))
      assert.are.same({}, thresholds.from_table({}))
    end)

    it("refuses bad tables naming the key and what is wrong", function()
      local function why(tbl) return select(2, thresholds.from_table(tbl)) end
      assert.are.equal("thresholds must be a table of key = condition(s), got string", why("p95 < 1s"))
      assert.are.equal('thresholds: key 1 must be a string (e.g. ["p95"] = "< 200ms")', why { "< 1s" })
      assert.are.equal('threshold "p95": value must be a condition string or an array of them, got number',
        why { p95 = 200 })
      assert.are.equal('threshold "p95": the array of conditions is empty', why { p95 = {} })
      assert.are.equal('threshold "p95": condition 2 must be a string, got number',
        why { p95 = { "< 1s", 5 } })
      assert.are.equal('threshold "p95": conditions must be an array, found key max',
        why { p95 = { "< 1s", max = "< 2s" } })
      assert.are.equal('threshold "p95{tool=http.get}": unknown unit "mx" in "< 200mx" (use us, ms, s, m, %)',
        why { ["p95{tool=http.get}"] = "< 200mx", error_rate = "< 1%" })
      -- the first bad key in sorted order is the one reported
      assert.are.equal('threshold "avg": avg is a duration: "%" needs a rate metric (checks, error_rate)',
        why { zzz = "< 1s", avg = "< 1%", p95 = "< 1mx" })
    end)
  end)

  describe("evaluate", function()
    local reg
    before_each(function() reg = filled() end)

    it("measures percentiles of the selected series and reports the margin", function()
      local r = one("p95{tool=http.get}", "< 200ms", reg)
      assert.is_false(r.ok)
      near(0.2314, r.value, 0.2314 / 2048)
      assert.are.equal(0.2, r.bound)
      assert.are.equal("p95", r.metric)
      assert.are.equal("p95{tool=http.get}", r.key)
      assert.are.equal("< 200ms", r.condition)
      assert.matches("^p95{tool=http.get} = 231%.%dms, bound < 200ms: FAILED by 31%.%dms$", r.message)

      r = one("p50{tool=http.get}", "< 200ms", reg)
      assert.is_true(r.ok)
      assert.are.equal(0.05, r.value)
      assert.are.equal("p50{tool=http.get} = 50ms, bound < 200ms: ok", r.message)
      assert.are.equal(0.05, one("med{tool=http.get}", "< 1s", reg).value)

      r = one("p99{name=iteration}", "< 800ms", reg)
      near(0.95, r.value, 0.95 / 2048)
      assert.matches("^p99{name=iteration} = 9[45]%d%.?%d?ms, bound < 800ms: FAILED by 1[45]%d%.?%d?ms$",
        r.message)
      assert.is_true(one("p99{name=iteration}", "< 1s", reg).ok)
    end)

    it("measures min, max, avg and stddev exactly", function()
      assert.are.equal(0.05, one("min{tool=http.get}", "> 10ms", reg).value)
      assert.are.equal(0.2314, one("max{tool=http.get}", "< 1s", reg).value)
      near(0.06814, one("avg{tool=http.get}", "< 1s", reg).value, 1e-9)
      local mean = 0.06814
      local sq = 90 * (0.05 - mean) ^ 2 + 10 * (0.2314 - mean) ^ 2
      near(math.sqrt(sq / 100), one("stddev{tool=http.get}", "< 1s", reg).value, 1e-9)
      local r = one("max{tool=http.get}", "<= 1s", reg)
      assert.are.equal("max{tool=http.get} = 231.4ms, bound <= 1s: ok", r.message)
      r = one("min{tool=http.get}", "> 1m", reg)
      assert.are.equal("min{tool=http.get} = 50ms, bound > 1m: FAILED by 59.95s", r.message)
      r = one("min{tool=http.post}", "< 500us", reg)
      assert.are.equal("min{tool=http.post} = 20ms, bound < 500us: FAILED by 19.5ms", r.message)
    end)

    it("without a selector covers every tool call and nothing else", function()
      local r = one("max", "< 300ms", reg)
      assert.are.equal(0.2314, r.value) -- not the 0.95s iteration
      assert.are.equal("max = 231.4ms, bound < 300ms: ok", r.message)
      assert.are.equal(0.02, one("min", "< 1s", reg).value)
      assert.are.equal(200, one("count", "> 0", reg).value)
      assert.are.equal(210, one("count{}", "> 0", reg).value)
      assert.are.equal(100, one("count{persona}", "> 0", reg).value)
      assert.are.equal(55, one("count{persona=apac}", "> 0", reg).value)
      assert.are.equal(10, one("count{name=iteration}", "> 0", reg).value)
    end)

    it("counts samples and errors and measures the error rate", function()
      local r = one("count", "> 1000", reg)
      assert.is_false(r.ok)
      assert.are.equal("count = 200, bound > 1000: FAILED by 800", r.message)
      r = one("errors", "== 0", reg)
      assert.are.equal(1, r.value)
      assert.are.equal("errors = 1, bound == 0: FAILED by 1", r.message)
      r = one("error_rate", "< 1%", reg)
      assert.are.equal(0.005, r.value)
      assert.are.equal(0.01, r.bound)
      assert.are.equal("error_rate = 0.5% (1 of 200), bound < 1%: ok", r.message)
      r = one("error_rate{tool=http.post}", "rate < 0.1%", reg)
      assert.are.equal(0.01, r.value)
      assert.are.equal("error_rate{tool=http.post} = 1% (1 of 100), bound < 0.1%: FAILED by 0.9%", r.message)
      r = one("error_rate{tool=http.get}", "== 0", reg)
      assert.are.equal("error_rate{tool=http.get} = 0% (0 of 100), bound == 0: ok", r.message)
    end)

    it("measures the checks rate over all checks or one", function()
      local r = one("checks", "rate > 99%", reg)
      assert.are.equal(0.99, r.value)
      assert.is_false(r.ok)
      assert.are.equal("checks = 99% (198 of 200), bound > 99%: FAILED", r.message)
      r = one("checks", ">= 99%", reg)
      assert.is_true(r.ok)
      assert.are.equal("checks = 99% (198 of 200), bound >= 99%: ok", r.message)
      r = one("checks", "rate > 99.5%", reg)
      assert.are.equal("checks = 99% (198 of 200), bound > 99.5%: FAILED by 0.5%", r.message)
      r = one("checks{name=status is 200}", "rate > 99%", reg)
      near(193 / 195, r.value, 1e-12)
      assert.are.equal("checks{name=status is 200} = 98.97% (193 of 195), bound > 99%: FAILED by 0.03%",
        r.message)
      r = one("checks{name=body ok}", "== 100%", reg)
      assert.are.equal("checks{name=body ok} = 100% (5 of 5), bound == 100%: ok", r.message)
    end)

    it("sums counters by name and tags; a counter never counted is 0", function()
      local r = one("counter{name=cache_miss}", "< 5", reg)
      assert.are.equal(7, r.value)
      assert.are.equal("counter{name=cache_miss} = 7, bound < 5: FAILED by 2", r.message)
      assert.are.equal(3, one("counter{name=cache_miss,persona=apac}", "< 5", reg).value)
      assert.are.equal(7, one("counter{name=cache_miss,persona}", "< 5", reg).value)
      assert.are.equal(100, one("counter{name=cache_hit}", "> 5", reg).value)
      r = one("counter{name=retries}", "< 5", reg)
      assert.are.equal(0, r.value)
      assert.are.equal("counter{name=retries} = 0, bound < 5: ok", r.message)
    end)

    it("reads iterations, dropped_iterations and script_errors from extra", function()
      local extra = { iterations = 120, dropped_iterations = 3, script_errors = 0 }
      assert.are.equal("iterations = 120, bound >= 100: ok", one("iterations", ">= 100", reg, extra).message)
      assert.are.equal("dropped_iterations = 3, bound == 0: FAILED by 3",
        one("dropped_iterations", "== 0", reg, extra).message)
      assert.are.equal("script_errors = 0, bound != 0: FAILED",
        one("script_errors", "!= 0", reg, extra).message)
      assert.is_true(one("script_errors", "== 0", nil, extra).ok) -- needs no registry
      local r = one("iterations", "> 0", reg, {})
      assert.is_nil(r.value)
      assert.are.equal("iterations: no samples, bound > 0: FAILED", r.message)
      assert.has_error(function() one("iterations", "> 0", reg, { iterations = "many" }) end,
        "thresholds.evaluate: extra.iterations must be a number, got string")
    end)

    it("reads a named workload's iterations and drops from extra.workloads", function()
      local extra = { iterations = 50, dropped_iterations = 3,
        workloads = { spike = { iterations = 20, dropped_iterations = 3 },
                      readers = { iterations = 30, dropped_iterations = 0 } } }
      assert.are.equal("dropped_iterations{workload=spike} = 3, bound == 0: FAILED by 3",
        one("dropped_iterations{workload=spike}", "== 0", reg, extra).message)
      assert.are.equal(30, one("iterations{workload=readers}", "> 0", reg, extra).value)
      local r = one("iterations{workload=writers}", "> 0", reg, extra) -- no such workload
      assert.is_nil(r.value)
      assert.is_false(r.ok)
    end)

    it("fails a threshold whose metric has no samples", function()
      local r = one("p95{tool=http.delete}", "< 200ms", reg)
      assert.is_nil(r.value)
      assert.is_false(r.ok)
      assert.are.equal("p95{tool=http.delete}: no samples, bound < 200ms: FAILED", r.message)
      local empty = metrics.new(function() return 0 end)
      for key, cond in pairs { p95 = "> 0ms", avg = "< 1s", stddev = "< 1s", error_rate = "< 1%",
                               checks = "rate > 99%", ["checks{name=nope}"] = "> 0%" } do
        r = one(key, cond, empty)
        assert.is_nil(r.value, key)
        assert.is_false(r.ok, key)
        local bound = assert(thresholds.parse(key, cond)).bound_text
        assert.are.equal(key .. ": no samples, bound " .. bound .. ": FAILED", r.message)
      end
      -- counts of nothing are 0, a real value
      assert.are.equal("count = 0, bound > 0: FAILED", one("count", "> 0", empty).message)
      assert.are.equal(0, one("errors", "== 0", empty).value)
    end)

    it("returns one result per spec in order and whether all passed", function()
      local specs = assert(thresholds.from_table {
        ["p95{tool=http.get}"] = "< 300ms",
        ["error_rate"] = "< 1%",
        ["checks"] = "rate >= 99%",
        ["p99{name=iteration}"] = { "< 1s", "< 2s" },
      })
      local results, all_ok = thresholds.evaluate(specs, reg)
      assert.is_true(all_ok)
      assert.are.equal(5, #results)
      for i, r in ipairs(results) do
        assert.are.equal(specs[i].key, r.key)
        assert.are.equal(specs[i].condition, r.condition)
        assert.is_true(r.ok, r.message)
      end
      specs[#specs + 1] = assert(thresholds.parse("count", "> 1000"))
      results, all_ok = thresholds.evaluate(specs, reg)
      assert.is_false(all_ok)
      assert.is_false(results[6].ok)
      results, all_ok = thresholds.evaluate({}, reg)
      assert.are.same({}, results)
      assert.is_true(all_ok)
    end)

    it("refuses bad arguments, naming them", function()
      assert.has_error(function() thresholds.evaluate(nil, reg) end,
        "thresholds.evaluate: specs must be an array of thresholds, got nil")
      assert.has_error(function() thresholds.evaluate({ { key = "p95" } }, reg) end,
        "thresholds.evaluate: specs[1] is not a parsed threshold (use thresholds.parse)")
      assert.has_error(function() thresholds.evaluate({ assert(thresholds.parse("p95", "< 1s")) }, nil) end,
        "thresholds.evaluate: registry must be a metrics registry, got nil")
      assert.has_error(function() thresholds.evaluate({}, reg, 5) end,
        "thresholds.evaluate: extra must be a table, got number")
    end)
  end)

  describe("exit codes", function()
    it("gives 0, 99 for a failed threshold, 1 for a failed check or an incomplete run", function()
      assert.are.equal(0, thresholds.exit_code(true, true, true))
      assert.are.equal(99, thresholds.exit_code(false, true, true))
      assert.are.equal(99, thresholds.exit_code(false, false, true)) -- thresholds win over checks (k6)
      assert.are.equal(1, thresholds.exit_code(true, false, true))
      assert.are.equal(1, thresholds.exit_code(true, true, false))
      assert.are.equal(1, thresholds.exit_code(false, false, false)) -- an incomplete run wins
    end)

    it("refuses anything but booleans", function()
      assert.has_error(function() thresholds.exit_code(true, nil, true) end,
        "thresholds.exit_code: checks_ok must be a boolean, got nil")
      assert.has_error(function() thresholds.exit_code(1, true, true) end,
        "thresholds.exit_code: thresholds_ok must be a boolean, got number")
      assert.has_error(function() thresholds.exit_code(true, true) end,
        "thresholds.exit_code: completed must be a boolean, got nil")
    end)

    it("checks_ok is true when no check failed", function()
      local reg = filled()
      assert.is_false(thresholds.checks_ok(reg))
      local clean = metrics.new(function() return 0 end)
      assert.is_true(thresholds.checks_ok(clean))
      clean:check("a", true)
      assert.is_true(thresholds.checks_ok(clean))
    end)
  end)
end)
