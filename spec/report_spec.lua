-- The JSON report: build from a registry, encode/decode, atomic write,
-- merge (in process and through `gofr-sim merge`), terminal summary.
local metrics = require "gofr_sim.engine.metrics"
local json = require "gofr_sim.util.json"
local report = require "gofr_sim.report.build"
local merge = require "gofr_sim.report.merge"
local summary = require "gofr_sim.report.summary"
local write = require "gofr_sim.report.write"
local support = require "support"

local NULL = report.null

-- A registry on a fake clock: set `now` and record.
local function registry()
  local clock = { now = 100 }
  local reg = metrics.new(function() return clock.now end)
  return reg, clock
end

-- The known sample set of one tool (milliseconds -> how many), 1000 samples:
-- ranks 1-400 are 10 ms, 401-600 20 ms, 601-940 30 ms, 941-980 50 ms and
-- 981-1000 70 ms, so p50 = 20, p90 = 30, p95 = 50, p99 = p99.9 = 70.
local SET = { { 10, 400 }, { 20, 200 }, { 30, 340 }, { 50, 40 }, { 70, 20 } }

-- Records SET under tool, alternating personas apac/emea; every 25th
-- sample is a network_timeout, every 100th (instead) an http_5xx: 30 + 10.
-- `half` (1 or 2) records only every other sample, for the merge tests.
local function record_set(reg, clock, tool, half)
  local i = 0
  for _, row in ipairs(SET) do
    for _ = 1, row[2] do
      i = i + 1
      if not half or i % 2 == half - 1 then
        -- 1000 samples over 3 seconds, two at a time, so both halves start at 100
        clock.now = 100 + math.floor((i - 1) / 2) * 0.006
        local err = (i % 100 == 0 and "http_5xx") or (i % 25 == 0 and "network_timeout") or nil
        reg:record(tool, row[1] / 1000,
          { tool = tool, persona = i % 2 == 0 and "apac" or "emea", error_type = err })
      end
    end
  end
end

local near = support.near_ratio

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local HARNESS_AGG = { "count", "error_count", "error_rate_pct", "error_types", "max_ms", "mean_ms",
                      "min_ms", "p50_ms", "p95_ms", "p99_ms", "sample_size" }
local EXTRA_AGG = { "expected_count", "expected_types", "histogram", "p90_ms", "p99_9_ms",
                    "stddev_ms" }

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir -p " .. support.shell_quote(dir)))
  return dir
end

local function rm_rf(dir)
  os.execute("rm -rf " .. support.shell_quote(dir))
end

local function ls(dir)
  local p = io.popen("ls -A " .. support.shell_quote(dir))
  local names = {}
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  return names
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local spit = support.write_file

describe("sim report", function()
  teardown(function()
    collectgarbage()
    support.assert_clean()
  end)

  it("runs against the real C histograms", function()
    local core = require "gofr_sim.core"
    assert.is_function(core.hist_new)
    assert.is_function(core.hist_decode)
  end)

  describe("build", function()
    local rep

    setup(function()
      local reg, clock = registry()
      record_set(reg, clock, "mcp.get_content")
      clock.now = 103.5
      reg:record("http.get", 0.005, { tool = "http.get" })   -- no persona: "default"
      reg:record("custom.step", 0.25, { phase = "warm" })    -- a user series, no tool
      for i = 1, 10 do -- the runner's iteration series, two personas
        reg:record("iteration", 0.1 * i, { persona = i % 2 == 0 and "apac" or "emea" })
        reg:record("iteration.service", 0.01 * i, { persona = i % 2 == 0 and "apac" or "emea" })
      end
      for i = 1, 5 do reg:error_sample("network_timeout", "GET http://x/" .. (i % 4) .. ": timed out") end
      reg:error_sample("http_5xx", string.rep("y", 500))
      reg:count("cache_hits", 3)
      reg:count("cache_hits", 2)
      reg:count("bytes", 10, { persona = "apac" })
      for i = 1, 4 do reg:check("status is 200", i ~= 2, i ~= 2 and 200 or 503) end
      rep = report.build {
        registry = reg,
        config = { consumers = 4, rate_per_consumer_per_sec = 2.5, duration_seconds = 4,
                   mode = "fixture", scenario = "load", seed = 7, workload = { "a", "b" } },
        started_at = "2025-01-02T03:04:05Z",
        duration = 4,
        iterations = 250,
        dropped_iterations = 3,
        script_errors = 1,
        thresholds = { { key = "p95_ms{tool=mcp.get_content}", condition = "< 40", value = 50,
                         bound = 40, ok = false, message = "p95 50 ms is not < 40 ms" },
                       { key = "error_rate", condition = "< 5%", value = 1 / 30, bound = 0.05,
                         ok = true } },
        signal = "",
      }
    end)

    it("has the Python harness's keys, plus ours", function()
      assert.are.same({ "checks", "config", "counters", "error_samples", "interrupted", "metrics",
                        "notes", "result", "schema_version", "started_at", "thresholds",
                        "timeseries", "timeseries_by_tool", "verdict" },
        sorted_keys(rep))
      assert.are.equal(1, rep.schema_version)
      for _, k in ipairs({ "consumers", "duration_seconds", "mcp_url", "mode",
                           "rate_per_consumer_per_sec", "sites_file", "target_url",
                           "timeout_seconds", "total_requests" }) do
        assert.is_not_nil(rep.config[k], "config." .. k)
      end
      assert.are.equal(NULL, rep.config.mcp_url)
      assert.are.equal(NULL, rep.config.total_requests)
      assert.are.same({ "a", "b" }, rep.config.workload)
      assert.are.same({ "data_received_bytes", "data_sent_bytes", "dropped_iterations",
                        "duration_seconds", "error_count", "expected_count", "interrupted",
                        "iterations", "personas_max", "request_count", "script_errors", "signal",
                        "throughput_rps" }, sorted_keys(rep.result))
      assert.are.equal(NULL, rep.result.data_sent_bytes) -- the run did not say
      assert.are.equal(NULL, rep.result.personas_max) -- the run did not say
      assert.are.same({ "by_name", "by_persona", "by_tool", "by_tool_persona", "overall", "series" },
        sorted_keys(rep.metrics))
      local want = {}
      for _, k in ipairs(HARNESS_AGG) do want[#want + 1] = k end
      for _, k in ipairs(EXTRA_AGG) do want[#want + 1] = k end
      table.sort(want)
      assert.are.same(want, sorted_keys(rep.metrics.overall))
      assert.are.same(want, sorted_keys(rep.metrics.by_tool["mcp.get_content"]))
      assert.are.same(want, sorted_keys(rep.metrics.series["custom.step{phase=warm}"]))
    end)

    it("aggregates a tool's samples to the hand-computed values", function()
      local a = rep.metrics.by_tool["mcp.get_content"]
      assert.are.equal(1000, a.count)
      assert.are.equal(1000, a.sample_size)
      assert.are.equal(40, a.error_count)
      assert.are.equal(4, a.error_rate_pct)
      assert.are.same({ network_timeout = 30, http_5xx = 10 }, a.error_types)
      assert.are.equal(10, a.min_ms)
      assert.are.equal(70, a.max_ms)
      near(21.6, a.mean_ms, "mean")
      near(20, a.p50_ms, "p50")
      near(30, a.p90_ms, "p90")
      near(50, a.p95_ms, "p95")
      near(70, a.p99_ms, "p99")
      near(70, a.p99_9_ms, "p99.9")
      near(math.sqrt(624 - 21.6 ^ 2), a.stddev_ms, "stddev")
      assert.is_string(a.histogram)
    end)

    it("groups by tool, tool::persona and persona over tool-tagged series", function()
      local m = rep.metrics
      assert.are.same({ "http.get", "mcp.get_content" }, sorted_keys(m.by_tool))
      assert.are.same({ "http.get::default", "mcp.get_content::apac", "mcp.get_content::emea" },
        sorted_keys(m.by_tool_persona))
      assert.are.same({ "apac", "default", "emea" }, sorted_keys(m.by_persona))
      assert.are.equal(500, m.by_tool_persona["mcp.get_content::apac"].count)
      assert.are.equal(1, m.by_persona.default.count)
      -- overall and result leave the untagged user series out
      assert.are.equal(1001, m.overall.count)
      assert.are.equal(1001, rep.result.request_count)
      assert.are.equal(40, rep.result.error_count)
      assert.are.equal(4, m.overall.error_rate_pct) -- 3.996 to 2 decimals
      assert.are.equal(250.25, rep.result.throughput_rps)
      assert.are.equal(4, rep.result.duration_seconds)
      assert.are.equal(250, rep.result.iterations)
      assert.are.equal(3, rep.result.dropped_iterations)
      assert.are.equal(1, rep.result.script_errors)
      assert.is_false(rep.result.interrupted)
      assert.are.equal(NULL, rep.result.signal)
      -- every series, user ones included, under its key
      assert.are.same({ "custom.step{phase=warm}", "http.get{tool=http.get}",
                        "iteration.service{persona=apac}", "iteration.service{persona=emea}",
                        "iteration{persona=apac}", "iteration{persona=emea}",
                        "mcp.get_content{error_type=http_5xx,persona=apac,tool=mcp.get_content}",
                        "mcp.get_content{error_type=network_timeout,persona=apac,tool=mcp.get_content}",
                        "mcp.get_content{error_type=network_timeout,persona=emea,tool=mcp.get_content}",
                        "mcp.get_content{persona=apac,tool=mcp.get_content}",
                        "mcp.get_content{persona=emea,tool=mcp.get_content}" },
        sorted_keys(m.series))
      assert.are.equal(250, m.series["custom.step{phase=warm}"].max_ms)
    end)

    it("rounds error_rate_pct to 2 decimals and times to 3", function()
      local reg = registry()
      for i = 1, 3 do reg:record("t", 0.0012345, { tool = "t", error_type = i == 1 and "x" or nil }) end
      local a = report.build({ registry = reg }).metrics.overall
      assert.are.equal(33.33, a.error_rate_pct)
      near(1.235, a.p50_ms, "p50")
      assert.are.equal(a.p50_ms, math.floor(a.p50_ms * 1000 + 0.5) / 1000)
    end)

    it("reports nulls, not zeros, for an empty aggregate", function()
      local rep0 = report.build { registry = registry() }
      local a = rep0.metrics.overall
      assert.are.equal(0, a.count)
      assert.are.equal(0, a.error_count)
      assert.are.equal(0, a.error_rate_pct)
      assert.are.same({}, a.error_types)
      for _, k in ipairs({ "min_ms", "max_ms", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms",
                           "p99_9_ms", "stddev_ms" }) do
        assert.are.equal(NULL, a[k], k)
      end
      assert.are.equal(0, rep0.result.throughput_rps)
      assert.are.equal(NULL, rep0.started_at)
      local text = json.encode(rep0, "sorted")
      assert.matches('"error_types": {}', text, 1, true)
      assert.matches('"thresholds": []', text, 1, true)
      assert.matches('"timeseries": []', text, 1, true)
      assert.matches('"p50_ms": null', text, 1, true)
    end)

    it("keeps counters, checks and thresholds", function()
      assert.are.same({ cache_hits = 5, ["bytes{persona=apac}"] = 10 }, rep.counters)
      -- observed: the first failure's value wins over the passes'
      assert.are.same({ ["status is 200"] = { passes = 3, fails = 1, rate = 0.75, observed = "503" } },
        rep.checks)
      assert.are.equal(2, #rep.thresholds)
      local t = rep.thresholds[1]
      assert.are.equal("p95_ms{tool=mcp.get_content}", t.key)
      assert.are.equal(50, t.value)
      assert.is_false(t.ok)
      assert.are.equal(NULL, rep.thresholds[2].message)
    end)

    it("buckets samples per second since the first one", function()
      local reg, clock = registry()
      clock.now = 50.2
      reg:record("a", 0.010, { tool = "a" })
      clock.now = 50.9
      reg:record("a", 0.030, { tool = "a", error_type = "network_timeout" })
      clock.now = 52.4
      reg:record("b", 0.020, { tool = "b" })
      reg:record("user", 0.040) -- no tool: not in the timeseries
      local ts = report.build({ registry = reg }).timeseries
      assert.are.equal(3, #ts)
      assert.are.equal(0, ts[1].second)
      assert.are.equal(2, ts[1].requests)
      assert.are.equal(1, ts[1].errors)
      near(10, ts[1].p50_ms, "p50")
      near(30, ts[1].p99_ms, "p99")
      assert.are.same({ 1, 0, 0 }, { ts[2].second, ts[2].requests, ts[2].errors })
      assert.are.equal(NULL, ts[2].p50_ms)
      assert.is_nil(ts[2].histogram) -- per-second histograms are not kept
      near(20, ts[3].p95_ms, "p95")
    end)

    it("keeps each tool's seconds apart: requests, errors, p50 and p95, only where it had samples", function()
      local reg, clock = registry()
      reg:start(10) -- second 0 is the run's start, before any sample
      clock.now = 10.5
      reg:personas(2)
      clock.now = 11.1
      reg:record("a", 0.010, { tool = "a" })
      reg:record("a", 0.030, { tool = "a", error_type = "network_timeout" })
      reg:record("b", 0.100, { tool = "b", error_type = "x", expected = "true" })
      reg:personas(3)
      reg:personas(1) -- the most noted in the second wins
      clock.now = 12.2
      reg:personas(4) -- a second without a request has its personas too
      clock.now = 13.7
      reg:record("a", 0.020, { tool = "a" })
      reg:record("user", 0.5) -- no tool: in neither timeseries
      local built = report.build { registry = reg }
      local ts = built.timeseries
      assert.are.same({ 0, 1, 2, 3 }, { ts[1].second, ts[2].second, ts[3].second, ts[4].second })
      assert.are.same({ 2, 3, 4, NULL }, { ts[1].personas, ts[2].personas, ts[3].personas, ts[4].personas })
      assert.are.same({ 0, 3, 0, 1 }, { ts[1].requests, ts[2].requests, ts[3].requests, ts[4].requests })
      local a, b = built.timeseries_by_tool.a, built.timeseries_by_tool.b
      assert.are.same({ "a", "b" }, sorted_keys(built.timeseries_by_tool))
      assert.are.equal(2, #a)
      assert.are.same({ 1, 2, 1, 0 }, { a[1].second, a[1].requests, a[1].errors, a[1].expected })
      near(10, a[1].p50_ms, "a p50")
      near(30, a[1].p95_ms, "a p95")
      assert.are.same({ 3, 1, 0 }, { a[2].second, a[2].requests, a[2].errors })
      near(20, a[2].p95_ms, "a p95, second 3")
      assert.are.same({ 1, 1, 0, 1 }, { b[1].second, b[1].requests, b[1].errors, b[1].expected })
      near(100, b[1].p50_ms, "b p50")
      assert.are.same({ "errors", "expected", "p50_ms", "p95_ms", "requests", "second" }, sorted_keys(a[1]))
      -- one live histogram per tool, whatever the seconds: memory stays flat
      assert.are.equal(2, reg.ntools)
      -- through JSON and back
      local back = assert(write.decode(json.encode(built, "sorted")))
      assert.are.equal(2, #back.timeseries_by_tool.a)
      assert.are.equal(NULL, back.timeseries[4].personas)
    end)

    it("gives a per-second timeseries to the first TOOL_TIMESERIES tools only", function()
      local reg = registry()
      for i = 1, metrics.TOOL_TIMESERIES + 5 do reg:record("t", 0.001, { tool = "t" .. i }) end
      local built = report.build { registry = reg }
      assert.are.equal(metrics.TOOL_TIMESERIES, #sorted_keys(built.timeseries_by_tool))
      assert.are.equal(metrics.TOOL_TIMESERIES + 5, built.result.request_count)
      assert.is_false(reg.tools["t" .. (metrics.TOOL_TIMESERIES + 1)])
      local empty = report.build { registry = registry() }
      assert.are.same({}, empty.timeseries_by_tool)
      assert.matches('"timeseries_by_tool": {}', json.encode(empty, "sorted"), 1, true)
    end)

    it("validates the run, naming the field", function()
      assert.has_error(function() report.build() end, "report.build: expected a run table, got nil")
      assert.has_error(function() report.build {} end,
        "report.build: run.registry must be a metrics registry, got nil")
      assert.has_error(function() report.build { registry = registry(), duration = "3s" } end,
        "report.build: run.duration must be a number, got string")
      assert.has_error(function() report.build { registry = registry(), duration = -1 } end,
        "report.build: run.duration must be >= 0 seconds, got -1")
      assert.has_error(function() report.build { registry = registry(), thresholds = { 1 } } end,
        "report.build: run.thresholds[1] must be a table, got number")
    end)

    it("summarises by tool, persona, thresholds and checks in aligned columns", function()
      local text = summary.text(rep)
      assert.matches("1001 requests, 40 errors in 4s", text, 1, true)
      local lines = {}
      for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
      local tool_rows = {}
      for _, line in ipairs(lines) do
        if line:match("^  tool ") or line:match("^  mcp%.get_content ") or line:match("^  http%.get ")
          or line:match("^  all ") then
          tool_rows[#tool_rows + 1] = line
        end
      end
      assert.are.equal(4, #tool_rows)
      for _, line in ipairs(tool_rows) do assert.are.equal(#tool_rows[1], #line, line) end
      -- count, errors, min, avg, p50, p95, p99, max
      assert.matches("mcp.get_content +1000 +40 +10%.00 +21%.60 +20%.%d%d +50%.%d%d +%d+%.%d%d +70%.00", text)
      assert.matches("\n  persona ", text)
      assert.matches("\n  emea +500 ", text)
      assert.matches("\nthresholds\n  FAIL  p95 50 ms is not < 40 ms\n"
        .. "  ok    error_rate < 5%: measured 0.0333333, bound 0.05\n", text, 1, true)
      assert.matches("FAIL  status is 200  3 passed  1 failed", text, 1, true)
    end)

    it("keeps a few distinct messages per error type, cut short", function()
      assert.are.same({ "GET http://x/1: timed out", "GET http://x/2: timed out",
                        "GET http://x/3: timed out" }, rep.error_samples.network_timeout)
      assert.are.equal(200, #rep.error_samples.http_5xx[1])
      assert.matches("%.%.%.$", rep.error_samples.http_5xx[1])
      local text = summary.text(rep)
      assert.matches("errors by type: http_5xx 10, network_timeout 30\n  http_5xx: yyy", text, 1, true)
      assert.matches("\n  network_timeout: GET http://x/1: timed out\n", text, 1, true)
    end)

    it("aggregates the series without a tool by name: the iterations' duration and service time", function()
      local it, svc = rep.metrics.by_name.iteration, rep.metrics.by_name["iteration.service"]
      assert.are.equal(10, it.count)
      assert.are.equal(10, svc.count)
      assert.is_true(math.abs(it.max_ms - 1000) < 5, "max " .. it.max_ms)
      assert.are.equal(1, rep.metrics.by_name["custom.step"].count)
      assert.is_nil(rep.metrics.by_name["mcp.get_content"])
      local text = summary.text(rep)
      assert.matches("250 iterations, 3 dropped, 1 script errors, "
        .. "duration p50 %d+%.%d%d ms, p95 %d+%.%d%d ms, service p50 %d+%.%d%d ms, p95 %d+%.%d%d ms\n", text)
    end)

    it("takes one-line notes, prints them under the totals and merges them once each", function()
      local r1 = report.build { registry = registry() }
      local r2 = report.build { registry = registry() }
      report.add_note(r1, "the delay was most of it")
      report.add_note(r2, "the delay was most of it")
      report.add_note(r2, "another")
      assert.has_error(function() report.add_note(r1, "two\nlines") end,
        "report.add_note: a note is one non-empty line, got two\nlines")
      assert.matches("\nnote: the delay was most of it\n", summary.text(r1), 1, true)
      local m = assert(merge.reports { r1, r2 })
      assert.are.same({ "the delay was most of it", "another" }, m.notes)
      local back = assert(write.decode(json.encode(report.build { registry = registry() }, "sorted")))
      assert.are.equal("[]", json.encode(back.notes, "sorted"))
    end)

    it("prints the verdict line first, and again last", function()
      local with_verdict = {}
      for k, v in pairs(rep) do with_verdict[k] = v end
      with_verdict.verdict = { ok = false, line = "FAIL: 1 of 2 thresholds failed" }
      local text = summary.text(with_verdict)
      assert.are.equal("FAIL: 1 of 2 thresholds failed\n\n", text:sub(1, 32))
      assert.matches("\nFAIL: 1 of 2 thresholds failed\n$", text)
    end)
  end)

  describe("encode and decode", function()
    it("writes sorted keys, 2-space indent, integers without decimals", function()
      local text = json.encode({ b = 1, a = { 1.5, "x" }, c = { z = NULL, y = true },
                                 d = json.array(), e = {} }, "sorted")
      assert.are.equal(table.concat({
        "{",
        '  "a": [',
        "    1.5,",
        '    "x"',
        "  ],",
        '  "b": 1,',
        '  "c": {',
        '    "y": true,',
        '    "z": null',
        "  },",
        '  "d": [],',
        '  "e": {}',
        "}" }, "\n"), text)
    end)

    it("writes numbers exactly and as short as it can", function()
      local function enc(x) return json.encode({ x }, "sorted"):match("^%[\n  (.-)\n%]$") end
      assert.are.equal("3", enc(3))
      assert.are.equal("-42", enc(-42))
      assert.are.equal("0.1", enc(0.1))
      assert.are.equal("21.6", enc(21.6))
      assert.are.equal("0.3333333333333333", enc(1 / 3))
      assert.are.equal(1 / 3, tonumber(enc(1 / 3)))
      assert.are.equal("1e+300", enc(1e300))
      assert.are.equal("null", enc(0 / 0))
      assert.are.equal("null", enc(math.huge))
    end)

    it("escapes strings and lets UTF-8 through", function()
      local s = 'q"b\\s/n\nt\tc\1z\127 é 中'
      local text = json.encode({ s = s }, "sorted")
      assert.matches([["q\"b\\s/n\nt\tc\u0001z\u007f é 中"]], text, 1, true)
      assert.are.equal(s, write.decode(text).s)
    end)

    it("is deterministic and round-trips a report", function()
      local function build()
        local reg, clock = registry()
        record_set(reg, clock, "mcp.get_content")
        reg:count("n", 1)
        return report.build { registry = reg, duration = 3, started_at = "2025-01-01T00:00:00Z" }
      end
      local text = json.encode(build(), "sorted")
      assert.are.equal(text, json.encode(build(), "sorted"))
      local back = assert(write.decode(text))
      assert.are.equal(NULL, back.config.mcp_url)
      assert.are.equal(text, json.encode(back, "sorted"))
      local empty = json.encode(report.build { registry = registry() }, "sorted")
      assert.are.equal(empty, json.encode(assert(write.decode(empty)), "sorted"))
    end)

    it("refuses what JSON cannot hold, naming where", function()
      assert.has_error(function() json.encode({ a = { f = print } }, "sorted") end,
        "gofr_sim.util.json: $.a.f: cannot encode a function")
      local cyc = {}
      cyc.self = cyc
      assert.has_error(function() json.encode(cyc, "sorted") end)
      local bad, msg = write.decode("{nope")
      assert.is_nil(bad)
      assert.matches("^not valid JSON", msg)
      bad, msg = write.decode("[1]")
      assert.is_nil(bad)
      assert.are.equal("not a JSON object", msg)
    end)
  end)

  describe("write", function()
    it("creates parent directories and replaces the file atomically", function()
      local dir = tmpdir()
      local path = dir .. "/out dir/it's/report.json"
      assert.is_true(write.json(path, { a = 1 }))
      assert.are.equal('{\n  "a": 1\n}\n', slurp(path))
      assert.are.same({ "report.json" }, ls(dir .. "/out dir/it's"))
      assert.is_true(write.json(path, { a = 2 }))
      assert.are.equal('{\n  "a": 2\n}\n', slurp(path))
      assert.are.same({ "report.json" }, ls(dir .. "/out dir/it's"))
      rm_rf(dir)
    end)

    it("fails with a message naming the path", function()
      local dir = tmpdir()
      spit(dir .. "/file", "x")
      local ok, msg = write.json(dir .. "/file/report.json", { a = 1 })
      assert.is_nil(ok)
      assert.matches("cannot write report '" .. dir .. "/file/report.json'", msg, 1, true)
      assert.are.same({ "file" }, ls(dir))
      rm_rf(dir)
    end)
  end)

  describe("merge", function()
    local a, b, both

    setup(function()
      local function run(reg, extra)
        local r = { registry = reg, config = { consumers = 2, mode = "fixture" },
                    iterations = 10, script_errors = 1 }
        for k, v in pairs(extra) do r[k] = v end
        return report.build(r)
      end
      local ra, ca = registry()
      record_set(ra, ca, "mcp.get_content", 1)
      ra:record("custom", 0.5)
      ra:count("hits", 2)
      ra:check("ok", true)
      ra:error_sample("network_timeout", "one")
      a = run(ra, { duration = 3, started_at = "2025-01-01T00:00:02Z",
                    thresholds = { { key = "p95{tool=mcp.get_content}", condition = "< 40ms", value = 0.03,
                                     bound = 0.04, ok = true } } })
      local rb, cb = registry()
      record_set(rb, cb, "mcp.get_content", 2)
      rb:count("hits", 3)
      rb:check("ok", false)
      for _, msg in ipairs { "one", "two", "three", "four" } do rb:error_sample("network_timeout", msg) end
      b = run(rb, { duration = 4, started_at = "2025-01-01T00:00:01Z", interrupted = true, signal = "INT" })
      local rc, cc = registry()
      record_set(rc, cc, "mcp.get_content")
      rc:record("custom", 0.5)
      both = run(rc, { duration = 4 })
      -- through JSON, as the merge command sees them
      a = assert(write.decode(json.encode(a, "sorted")))
      b = assert(write.decode(json.encode(b, "sorted")))
    end)

    it("equals the report of one registry holding both sample sets", function()
      local m = assert(merge.reports { a, b })
      assert.are.equal(json.encode(both.metrics, "sorted"), json.encode(m.metrics, "sorted"))
      -- seconds: counts exact; percentiles request-weighted (no per-second histograms)
      assert.are.equal(#both.timeseries, #m.timeseries)
      for i, e in ipairs(both.timeseries) do
        assert.are.same({ e.second, e.requests, e.errors },
          { m.timeseries[i].second, m.timeseries[i].requests, m.timeseries[i].errors })
      end
      local x = m.metrics.by_tool["mcp.get_content"]
      assert.are.equal(1000, x.count)
      assert.are.equal(40, x.error_count)
      near(50, x.p95_ms, "p95")
      assert.are.equal(both.metrics.overall.p99_ms, m.metrics.overall.p99_ms)
    end)

    it("adds counts, counters and checks; takes the longest duration", function()
      local m = assert(merge.reports({ a, b }, { "a.json", "b.json" }))
      -- error samples: in run order, once each, no more than one run kept
      assert.are.same({ "one", "two", "three" }, m.error_samples.network_timeout)
      assert.are.equal(2, m.merged_from)
      assert.are.equal(1000, m.result.request_count)
      assert.are.equal(40, m.result.error_count)
      assert.are.equal(4, m.result.duration_seconds)
      assert.are.equal(250, m.result.throughput_rps)
      assert.are.equal(20, m.result.iterations)
      assert.are.equal(2, m.result.script_errors)
      assert.is_true(m.result.interrupted)
      assert.is_true(m.interrupted)
      assert.are.equal("INT", m.result.signal)
      assert.are.equal("2025-01-01T00:00:01Z", m.started_at)
      assert.are.equal(4, m.config.consumers)
      assert.are.equal("fixture", m.config.mode)
      assert.are.same({ hits = 5 }, m.counters)
      assert.are.same({ ok = { passes = 1, fails = 1, rate = 0.5, observed = NULL } }, m.checks)
      -- the threshold a.json passed is judged again on the merged data: p95 50 ms
      assert.are.equal(1, #m.thresholds)
      assert.is_false(m.thresholds[1].ok)
      near(0.05, m.thresholds[1].value, "merged p95")
      assert.matches("FAILED by", m.thresholds[1].message, 1, true)
      -- b.json was interrupted: the merge is not ok, and exits 1 (its numbers are partial)
      assert.is_false(m.verdict.ok)
      assert.matches("interrupted by INT", m.verdict.line, 1, true)
      assert.are.equal(1, select(2, merge.reports({ a, b }, { "a.json", "b.json" })))
      -- a merged report merges again
      local mm = assert(merge.reports { m, a })
      assert.are.equal(3, mm.merged_from)
      assert.are.equal(1500, mm.result.request_count)
    end)

    it("adds each tool's seconds and the personas of the runs' seconds", function()
      local ra, ca = registry()
      ca.now = 100
      ra:personas(2)
      ra:record("a", 0.010, { tool = "a" })
      ca.now = 101.5
      ra:record("a", 0.010, { tool = "a" })
      local rb, cb = registry()
      cb.now = 100
      rb:personas(3)
      rb:record("a", 0.030, { tool = "a", error_type = "network_timeout" })
      rb:record("a", 0.030, { tool = "a" })
      rb:record("b", 0.050, { tool = "b" })
      local ra_rep = assert(write.decode(json.encode(report.build { registry = ra }, "sorted")))
      local rb_rep = assert(write.decode(json.encode(report.build { registry = rb }, "sorted")))
      local m = assert(merge.reports { ra_rep, rb_rep })
      assert.are.equal(5, m.timeseries[1].personas)
      assert.are.equal(NULL, m.timeseries[2].personas)
      local ta = m.timeseries_by_tool.a
      assert.are.equal(2, #ta)
      assert.are.same({ 0, 3, 1 }, { ta[1].second, ta[1].requests, ta[1].errors })
      near((10 + 2 * 30) / 3, ta[1].p95_ms, "request-weighted p95")
      assert.are.same({ 1, 1, 0 }, { ta[2].second, ta[2].requests, ta[2].errors })
      assert.are.same({ 0, 1 }, { m.timeseries_by_tool.b[1].second, m.timeseries_by_tool.b[1].requests })
      -- reports from before it merge without one; a malformed one is refused, naming where
      ra_rep.timeseries_by_tool = nil
      assert.are.equal(1, #assert(merge.reports { ra_rep, rb_rep }).timeseries_by_tool.a)
      rb_rep.timeseries_by_tool.a[1].requests = "many"
      local none, msg = merge.reports({ rb_rep }, { "b.json" })
      assert.is_nil(none)
      assert.matches("b.json: timeseries_by_tool[a][1].requests must be a number", msg, 1, true)
    end)

    -- The report of a run of named workloads (docs/report.md) from registry
    -- reg, through JSON: config.workloads = config_workloads, the workloads
    -- section from runs = {name = {workload=, iterations=, dropped_iterations=,
    -- personas_max=, started_seconds=, duration_seconds=}} (as the runner
    -- gives report/build), metrics.by_workload and personas_by_workload from
    -- the registry's workload tags and personas.
    local function workloads_report(reg, config_workloads, runs)
      local rep = report.build { registry = reg, duration = 5, workloads = runs,
        config = { scenario = "mixed", workloads = config_workloads } }
      return assert(write.decode(json.encode(rep, "sorted")))
    end

    -- Requests of workload w under tool: `ms` each a sample (ms < 0: an error).
    local function requests(reg, w, tool, ms)
      for _, v in ipairs(ms) do
        reg:record(tool, math.abs(v) / 1000, { tool = tool, workload = w,
          error_type = v < 0 and "network_timeout" or nil })
      end
    end

    describe("of named workloads", function()
      local wa, wb, one

      setup(function()
        local function config(readers)
          return { readers = { workload = "closed", consumers = readers, duration_seconds = 5,
                               start_seconds = 0 },
                   spike = { workload = "ramping-arrival-rate", max_personas = 5, start_seconds = 2,
                             stages = { { duration_seconds = 1, target = 4 } }, tags = { team = "w" } } }
        end
        local function entry(kind, n, extra)
          local e = { workload = kind, iterations = n, dropped_iterations = 0,
                      started_seconds = 0, duration_seconds = 5 }
          for k, v in pairs(extra or {}) do e[k] = v end
          return e
        end
        local ra, ca = registry()
        ra:start(100)
        ra:personas(2, 100, { readers = 2 })
        requests(ra, "readers", "mcp.a", { 10, 20, 30 })
        ra:record("iteration", 0.1, { workload = "readers" })
        ca.now = 102.5
        ra:personas(3, 102.5, { readers = 2, spike = 1 })
        requests(ra, "spike", "mcp.b", { 50, -60 })
        wa = workloads_report(ra, config(2), {
          readers = entry("closed", 3, { personas_max = 2 }),
          spike = entry("ramping-arrival-rate", 2, { started_seconds = 2.5, duration_seconds = 2,
                                                        dropped_iterations = 1, personas_max = 1 }) })
        local rb, cb = registry()
        rb:start(100)
        rb:personas(3, 100, { readers = 3 })
        requests(rb, "readers", "mcp.a", { 40, 40 })
        rb:record("iteration", 0.3, { workload = "readers" })
        cb.now = 102.5
        requests(rb, "spike", "mcp.b", { 70 })
        wb = workloads_report(rb, config(3), {
          readers = entry("closed", 2, { personas_max = 3, started_seconds = 0.25, duration_seconds = 4 }),
          spike = entry("ramping-arrival-rate", 1, { started_seconds = 2, duration_seconds = 1.5 }) })
        local rc = registry()
        requests(rc, "readers", "mcp.a", { 10, 20, 30, 40, 40 })
        requests(rc, "spike", "mcp.b", { 50, -60, 70 })
        rc:record("iteration", 0.1, { workload = "readers" })
        rc:record("iteration", 0.3, { workload = "readers" })
        one = workloads_report(rc, {}, { readers = entry("closed", 2) })
      end)

      it("merges each workload's AGGs, counts, peaks, times and configuration", function()
        local m = assert(merge.reports({ wa, wb }, { "a.json", "b.json" }))
        -- metrics.by_workload: as one registry holding both runs' samples
        assert.are.equal(json.encode(one.metrics.by_workload, "sorted"),
          json.encode(m.metrics.by_workload, "sorted"))
        assert.are.same({ 5, 0, 3, 1 }, { m.metrics.by_workload.readers.count,
          m.metrics.by_workload.readers.error_count, m.metrics.by_workload.spike.count,
          m.metrics.by_workload.spike.error_count })
        -- workloads: counts and peaks add, the earliest start, the longest time, its throughput
        local r, s = m.workloads.readers, m.workloads.spike
        assert.are.same({ "closed", 5, 0, 5, 0, 0, 5, 0, 5, 1 },
          { r.workload, r.iterations, r.dropped_iterations, r.request_count, r.error_count,
            r.expected_count, r.personas_max, r.started_seconds, r.duration_seconds, r.throughput_rps })
        assert.are.same({ "ramping-arrival-rate", 3, 1, 3, 1, 1, 2, 2, 1.5 },
          { s.workload, s.iterations, s.dropped_iterations, s.request_count, s.error_count,
            s.personas_max, s.started_seconds, s.duration_seconds, s.throughput_rps })
        assert.are.same({ 2, 200 }, { r.iteration.count, r.iteration.mean_ms })
        assert.are.equal(json.encode(one.workloads.readers.iteration, "sorted"),
          json.encode(r.iteration, "sorted"))
        assert.are.equal(NULL, r.iteration_service)
        assert.are.equal(NULL, s.iteration) -- no run had one
        -- each second's personas by workload add up, as the totals do
        assert.are.same({ readers = 5 }, m.timeseries[1].personas_by_workload)
        assert.are.equal(5, m.timeseries[1].personas)
        assert.are.same({ readers = 2, spike = 1 }, m.timeseries[3].personas_by_workload)
        assert.is_nil(m.timeseries[2].personas_by_workload) -- no run sampled second 1
        -- config.workloads: the first run's, consumers added up (as config.consumers is)
        assert.are.equal(5, m.config.workloads.readers.consumers)
        assert.are.same({ team = "w" }, m.config.workloads.spike.tags)
        assert.are.equal(2, wa.config.workloads.readers.consumers) -- the input is not changed
        assert.are.same(m, assert(merge.reports { m }))
        -- a workload that never started in one run (null times): the other run's
        local late = assert(write.decode(json.encode(wb, "sorted")))
        late.workloads.spike.started_seconds, late.workloads.spike.duration_seconds = NULL, NULL
        s = assert(merge.reports { late, wa }).workloads.spike
        assert.are.same({ 2.5, 2, 1.5 }, { s.started_seconds, s.duration_seconds, s.throughput_rps })
        s = assert(merge.reports { late }).workloads.spike
        assert.are.same({ NULL, NULL, 0 }, { s.started_seconds, s.duration_seconds, s.throughput_rps })
      end)

      it("leaves the workloads keys out of a merge of reports without them", function()
        local m = assert(merge.reports { a, b })
        assert.is_nil(m.workloads)
        assert.is_nil(m.metrics.by_workload)
        assert.is_nil(m.config.workloads)
        for _, e in ipairs(m.timeseries) do assert.is_nil(e.personas_by_workload) end
      end)

      it("refuses a malformed workloads section, naming the file and the key", function()
        local cases = {
          { function(r) r.workloads = "x" end, "b.json: workloads must be an object" },
          { function(r) r.workloads.spike = 3 end, "b.json: workloads[spike] must be an object" },
          { function(r) r.workloads.readers.request_count = "many" end,
            "b.json: workloads[readers].request_count must be a number, got string" },
          { function(r) r.workloads.readers.started_seconds = nil end,
            "b.json: workloads[readers].started_seconds must be a number, got nil" },
          { function(r) r.workloads.readers.iteration.histogram = nil end,
            "b.json: workloads[readers].iteration has no histogram" },
          { function(r) r.workloads.spike.workload = "closed" end,
            "b.json: workloads[spike].workload is closed, but ramping-arrival-rate in an earlier report" },
          { function(r) r.metrics.by_workload = 5 end, "b.json: metrics.by_workload must be an object" },
          { function(r) r.metrics.by_workload.readers.histogram = nil end,
            "b.json: metrics.by_workload[readers] has no histogram" },
          { function(r) r.timeseries[1].personas_by_workload.readers = "x" end,
            "b.json: timeseries[1].personas_by_workload[readers] must be a number" },
          { function(r) r.timeseries[1].personas_by_workload = 4 end,
            "b.json: timeseries[1].personas_by_workload must be an object" },
          { function(r) r.config.workloads.readers.consumers = "two" end,
            "b.json: config.workloads[readers].consumers must be a number" },
        }
        for _, case in ipairs(cases) do
          local bad = assert(write.decode(json.encode(wb, "sorted")))
          case[1](bad)
          local m, msg = merge.reports({ wa, bad }, { "a.json", "b.json" })
          assert.is_nil(m, case[2])
          assert.matches(case[2], msg, 1, true)
        end
        local bad = assert(write.decode(json.encode(wa, "sorted")))
        bad.config.workloads.readers = 3
        local m, msg = merge.reports({ bad, wb }, { "a.json", "b.json" })
        assert.is_nil(m)
        assert.are.equal("a.json: config.workloads[readers] must be an object", msg)
      end)
    end)

    it("refuses unknown schema versions and reports without histograms", function()
      local bad = write.decode(json.encode(a, "sorted"))
      bad.schema_version = 2
      local m, msg = merge.reports({ a, bad }, { "a.json", "b.json" })
      assert.is_nil(m)
      assert.are.equal("b.json: schema_version 2 is not supported (this gofr-sim reads 1)", msg)
      bad = write.decode(json.encode(a, "sorted"))
      bad.metrics.by_tool["mcp.get_content"].histogram = nil
      m, msg = merge.reports({ bad }, { "x.json" })
      assert.is_nil(m)
      assert.matches("x.json: metrics.by_tool[mcp.get_content] has no histogram", msg, 1, true)
      bad = write.decode(json.encode(a, "sorted"))
      bad.timeseries[1].requests = "many"
      m, msg = merge.reports({ bad })
      assert.is_nil(m)
      assert.matches("report 1: timeseries[1].requests", msg, 1, true)
      m, msg = merge.reports({ { hello = 1 } })
      assert.is_nil(m)
      assert.matches("not a gofr-sim report", msg, 1, true)
      m, msg = merge.reports({})
      assert.is_nil(m)
      assert.matches("nothing to merge", msg, 1, true)
    end)
  end)

  describe("gofr-sim merge", function()
    local dir, fa, fb, expected

    setup(function()
      dir = tmpdir()
      local function one(half, duration)
        local reg, clock = registry()
        record_set(reg, clock, "mcp.get_content", half)
        return report.build { registry = reg, duration = duration, config = { consumers = 1 } }
      end
      local ra, rb = one(1, 3), one(2, 4)
      fa, fb = dir .. "/a.json", dir .. "/b.json"
      assert(write.json(fa, ra))
      assert(write.json(fb, rb))
      local merged = assert(merge.reports { write.decode(slurp(fa)), write.decode(slurp(fb)) })
      expected = json.encode(merged, "sorted")
    end)

    teardown(function()
      rm_rf(dir)
    end)

    it("writes the merged report and prints a summary", function()
      local out = dir .. "/merged/m.json"
      local r = support.run_cli({ "merge", fa, fb, "-o", out })
      assert.are.equal(0, r.status, r.stderr)
      assert.are.equal(expected .. "\n", slurp(out))
      assert.matches("mcp.get_content", r.stdout, 1, true)
      assert.matches("1000 requests", r.stdout, 1, true)
    end)

    it("prints the merged JSON with --print, before or after the files", function()
      local r = support.run_cli({ "merge", "--print", fa, fb })
      assert.are.equal(0, r.status, r.stderr)
      assert.are.equal(expected .. "\n", r.stdout)
      r = support.run_cli({ "merge", fa, fb, "--print" })
      assert.are.equal(expected .. "\n", r.stdout)
    end)

    local function usage(args, pattern)
      local r = support.run_cli(args)
      assert.are.equal(2, r.status, r.stderr)
      assert.are.equal(1, select(2, r.stderr:gsub("\n", "")), r.stderr)
      assert.matches(pattern, r.stderr, 1, true)
      return r
    end

    it("answers bad usage in one line, exit 2, naming the file", function()
      usage({ "merge", "-o", dir .. "/x.json" }, "at least one report")
      usage({ "merge", fa }, "give -o")
      usage({ "merge", fa, dir .. "/missing.json", "-o", dir .. "/x.json" },
        "cannot read '" .. dir .. "/missing.json'")
      spit(dir .. "/bad.json", "{ not json")
      usage({ "merge", fa, dir .. "/bad.json", "--print" }, "'" .. dir .. "/bad.json' is not valid JSON")
      local v2 = write.decode(slurp(fa))
      v2.schema_version = 99
      assert(write.json(dir .. "/v2.json", v2))
      usage({ "merge", fa, dir .. "/v2.json", "--print" }, dir .. "/v2.json: schema_version 99")
      usage({ "merge", fa, "--bogus", "--print" }, "unknown flag --bogus")
      assert.is_nil(io.open(dir .. "/x.json"))
    end)

    it("fails with exit 1 when the output cannot be written", function()
      local r = support.run_cli({ "merge", fa, "-o", fa .. "/nested.json" })
      assert.are.equal(1, r.status)
      assert.matches("cannot write report '" .. fa .. "/nested.json'", r.stderr, 1, true)
    end)
  end)
end)
