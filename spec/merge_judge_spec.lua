-- A merged report judged on its merged data (report/judge.lua, report/merge.lua):
-- percentiles from the union histogram (never averages of percentiles),
-- thresholds that pass in each input and fail on the merge, checks failing in
-- one input, the inputs' facts combined (ended early, interrupted, could not
-- complete, accepted rules), shards (shares added, one shard twice or mixed
-- counts refused, a missing shard), merges of merges, reports from before
-- verdict.facts; `gofr-sim merge`'s exit status and `gofr-sim report`.
local core = require "gofr_sim.core"
local metrics = require "gofr_sim.engine.metrics"
local json = require "gofr_sim.util.json"
local build = require "gofr_sim.report.build"
local judge = require "gofr_sim.report.judge"
local merge = require "gofr_sim.report.merge"
local write = require "gofr_sim.report.write"
local thresholds = require "gofr_sim.runner.thresholds"
local verdict = require "gofr_sim.runner.verdict"
local support = require "support"

local NULL = build.null

-- A registry on a fixed clock.
local function registry()
  return metrics.new(function() return 100 end)
end

-- Records n samples of `ms` milliseconds under tool (tags: extra ones too).
local function samples(reg, tool, ms, n, tags)
  local t = { tool = tool, persona = "p" }
  for k, v in pairs(tags or {}) do t[k] = v end
  for _ = 1, n do reg:record(tool, ms / 1000, t) end
end

-- The report of a run of reg, judged as runner/scenario.lua judges one:
-- run = {thresholds = {"KEY COND", ...}, iterations=, completed=,
-- script_errors=, planned=, elapsed=, stopped=, budget_spent=, signal=,
-- failure=, accept = "rule,...", config = {...}, duration=}; through JSON,
-- as merge reads it. -> report, its exit status.
local function run_report(reg, run)
  run = run or {}
  local specs = assert(thresholds.from_cli(run.thresholds or {}))
  local iterations = run.iterations or 10
  local extra = { iterations = iterations, dropped_iterations = 0, script_errors = run.script_errors or 0 }
  local results, thresholds_ok = thresholds.evaluate(specs, reg, extra)
  local inputs = {
    registry = reg, thresholds = results, accept = verdict.accepted(nil, run.accept, "accept"),
    iterations = iterations, completed = run.completed or iterations, script_errors = extra.script_errors,
    planned_duration = run.planned, elapsed = run.elapsed or 1, budget_spent = run.budget_spent ~= false,
    stopped = run.stopped or false, signal = run.signal or "", failure = run.failure,
  }
  local judged = verdict.judge(inputs)
  local rep = build.build {
    registry = reg, config = run.config or { consumers = 1, scenario = "unit" }, duration = run.duration or 1,
    started_at = "2025-01-01T00:00:00Z", interrupted = (run.signal or "") ~= "", signal = run.signal,
    iterations = iterations, dropped_iterations = 0, script_errors = extra.script_errors,
    thresholds = results, verdict = judged, verdict_inputs = inputs, threshold_specs = specs,
  }
  local status = thresholds.exit_code(thresholds_ok, thresholds.checks_ok(reg),
    not run.failure and (run.signal or "") == "" and judged.healthy)
  return assert(write.decode(json.encode(rep, "sorted"))), status
end

-- The p-th percentile (ms) of the union of reports' histograms of series key.
local function union_percentile(reps, key, p)
  local h = core.hist_new()
  for _, r in ipairs(reps) do h:merge(assert(core.hist_decode(r.metrics.series[key].histogram))) end
  return h:percentile(p) * 1000
end

local near = support.near_ratio

local function rows_by_key(rep)
  local out = {}
  for _, t in ipairs(rep.thresholds) do out[t.key .. " " .. t.condition] = t end
  return out
end

local KEY = "mcp.get_content{persona=p,tool=mcp.get_content}"

describe("judging a merged report", function()
  after_each(function() support.assert_clean() end)

  describe("percentiles from the union histogram", function()
    local a, b

    setup(function()
      local ra = registry()
      samples(ra, "mcp.get_content", 10, 100)
      local rb = registry()
      samples(rb, "mcp.get_content", 20, 90)
      samples(rb, "mcp.get_content", 100, 10)
      a = run_report(ra, { thresholds = { "p95{tool=mcp.get_content} < 60ms" } })
      b = run_report(rb, { thresholds = { "p95{tool=mcp.get_content} < 60ms" } })
    end)

    it("gives the union's p95, not either input's nor their average", function()
      near(10, a.metrics.by_tool["mcp.get_content"].p95_ms, "a's p95")
      near(100, b.metrics.by_tool["mcp.get_content"].p95_ms, "b's p95")
      local m, status = merge.reports({ a, b }, { "a.json", "b.json" })
      assert(m, status)
      -- 200 samples: rank 190 is the last of b's ninety 20 ms samples
      local p95 = m.metrics.by_tool["mcp.get_content"].p95_ms
      near(20, p95, "merged p95")
      near(union_percentile({ a, b }, KEY, 95), p95, "union p95")
      assert.is_true(math.abs(p95 - 55) > 1, "the average of the inputs' p95s")
      -- the threshold is judged on the merged value: b failed it, the merge passes
      assert.is_true(a.thresholds[1].ok)
      assert.is_false(b.thresholds[1].ok)
      local row = m.thresholds[1]
      assert.is_true(row.ok)
      near(0.02, row.value, "row value")
      assert.are.equal(0.06, row.bound)
      assert.are.equal("p95{tool=mcp.get_content} = 20ms, bound < 60ms: ok", row.message)
      assert.is_nil(row.evaluated)
      assert.are.equal(0, status)
      assert.is_true(m.verdict.ok)
      assert.are.equal("PASS: 1 threshold passed, 0 unexpected errors", m.verdict.line)
    end)

    it("fails a bound the average of the inputs' p95s would pass", function()
      local rc = registry()
      samples(rc, "mcp.get_content", 10, 20)
      samples(rc, "mcp.get_content", 100, 80)
      local c = run_report(rc)
      -- a's p95 10 ms, c's 100 ms: their mean 55 ms < 60 ms; the union's is 100 ms
      local m, status = merge.reports({ a, c }, nil, { thresholds = {
        assert(thresholds.parse_cli("p95{tool=mcp.get_content} < 60ms")) } })
      assert(m, status)
      near(100, m.metrics.by_tool["mcp.get_content"].p95_ms, "merged p95")
      assert.is_false(m.thresholds[1].ok)
      assert.are.equal(99, status)
      assert.matches("^FAIL: 1 of 1 thresholds failed %(p95{tool=mcp.get_content}%)", m.verdict.line)
    end)
  end)

  describe("judge.report", function()
    it("judges a run's report again to the run's own rows and verdict", function()
      local reg = registry()
      samples(reg, "mcp.get_content", 10, 50)
      samples(reg, "mcp.get_content", 30, 5, { error_type = "network_timeout" })
      samples(reg, "mcp.list_sessions", 5, 20)
      reg:count("hits", 3, { persona = "p" })
      reg:check("status is 200", true)
      local rep, status = run_report(reg, { thresholds = {
        "p95 < 25ms", "error_rate < 5%", "successes{tool=*} > 0", "counter{name=hits} >= 3",
        "checks{name=status is 200} > 99%", "iterations > 5" } })
      assert.are.equal(99, status)
      -- what the verdict was judged from, kept for a merge (docs/report.md "verdict.facts")
      assert.are.same({ accepted = {}, budget_spent = true, check_ran = NULL, completed = 10,
        elapsed_seconds = 1, failure = NULL, planned_duration_seconds = NULL, script_error_messages = {},
        stopped = false }, rep.verdict.facts)
      local again = json.encode(rep, "sorted")
      local judged, st = judge.report(assert(write.decode(again)))
      assert.are.equal(status, st)
      assert.are.same(rep.thresholds, judged.thresholds)
      assert.are.same(rep.verdict, judged.verdict)
      assert.are.same(rep.threshold_specs, judged.threshold_specs)
      -- the {tool=*} threshold is kept as declared, its rows one per tool
      assert.is_not_nil(rows_by_key(judged)["successes{tool=mcp.list_sessions} > 0"])
      local declared = {}
      for _, s in ipairs(judged.threshold_specs) do declared[#declared + 1] = s.key end
      assert.are.same({ "checks{name=status is 200}", "counter{name=hits}", "error_rate", "iterations",
        "p95", "successes{tool=*}" }, declared)
    end)

    it("rebuilds a registry from the report: series with their histograms, counters, checks", function()
      local reg = registry()
      samples(reg, "mcp.get_content", 10, 3, { workload = "w" })
      reg:count("hits", 2, { persona = "p" })
      reg:check("ok", false, "got 500")
      local rep = run_report(reg)
      local r = assert(judge.registry_of(rep))
      local s = r.series["mcp.get_content{persona=p,tool=mcp.get_content,workload=w}"]
      assert.are.equal("mcp.get_content", s.name)
      assert.are.same({ persona = "p", tool = "mcp.get_content", workload = "w" }, s.tags)
      assert.are.equal(3, s.hist:count())
      assert.are.equal(3, r:aggregate({ workload = "w" }).count)
      assert.are.same({ "w" }, r:tag_values("workload", { tool = true }))
      assert.are.same({ key = "hits{persona=p}", name = "hits", tags = { persona = "p" }, value = 2 },
        r.counters["hits{persona=p}"])
      assert.are.equal(1, r.checks.ok.fails)
      rep.metrics.series["mcp.get_content{persona=p,tool=mcp.get_content,workload=w}"].histogram = nil
      local none, msg = judge.registry_of(rep)
      assert.is_nil(none)
      assert.matches("has no histogram", msg, 1, true)
    end)

    it("takes specs, accepted rules and facts from opts", function()
      local reg = registry()
      samples(reg, "mcp.get_content", 10, 5, { error_type = "network_connect" })
      local rep = run_report(reg, { accept = "no_success" })
      assert.is_true(rep.verdict.ok)
      assert.are.same({ "no_success" }, rep.verdict.facts.accepted)
      local text = json.encode(rep, "sorted")
      local function copy() return assert(write.decode(text)) end -- judge.report fills rep in place
      local judged, status = judge.report(copy(), { accept = {} })
      assert.are.equal(1, status)
      assert.matches("no request succeeded", judged.verdict.line, 1, true)
      judged, status = judge.report(copy(), { specs = { assert(thresholds.parse("errors", "< 3")) } })
      assert.are.equal(99, status)
      assert.are.equal(1, #judged.thresholds)
      judged, status = judge.report(copy(), { facts = { completed = 10, failure = "setup failed: boom" } })
      assert.are.equal(1, status)
      assert.matches("^FAIL: setup failed: boom", judged.verdict.line)
    end)
  end)

  describe("merging", function()
    it("fails a threshold each input passes when the merged numbers break it: 99", function()
      local reps = {}
      for i = 1, 2 do
        local reg = registry()
        samples(reg, "mcp.get_content", 10, 20)
        samples(reg, "mcp.get_content", 10, 3, { error_type = "http_5xx" })
        local st
        reps[i], st = run_report(reg, { thresholds = { "errors < 5", "iterations <= 10" } })
        assert.are.equal(0, st)
      end
      local m, status = merge.reports(reps)
      assert.are.equal(99, status)
      local rows = rows_by_key(m)
      assert.is_false(rows["errors < 5"].ok)
      assert.are.equal(6, rows["errors < 5"].value)
      assert.is_false(rows["iterations <= 10"].ok)
      assert.are.equal(20, rows["iterations <= 10"].value)
    end)

    it("fails when a check failed in one input: 1", function()
      local ra, rb = registry(), registry()
      samples(ra, "mcp.get_content", 10, 5)
      samples(rb, "mcp.get_content", 10, 5)
      ra:check("status is 200", true)
      rb:check("status is 200", false, "500")
      local a, sa = run_report(ra)
      local b, sb = run_report(rb)
      assert.are.same({ 0, 1 }, { sa, sb })
      local m, status = merge.reports { a, b }
      assert.are.equal(1, status)
      assert.matches("1 of 1 checks failed", m.verdict.line, 1, true)
      assert.are.equal("500", m.checks["status is 200"].observed)
    end)

    it("judges the verdict from the inputs' facts, conservatively", function()
      local function rep(run)
        local reg = registry()
        samples(reg, "mcp.get_content", 10, 5)
        return (run_report(reg, run))
      end
      local fine = rep { planned = 10, elapsed = 10, budget_spent = false }
      -- one input ended early (not stopped, its budget not spent): the merge did too
      local early = rep { planned = 10, elapsed = 3, budget_spent = false }
      local m, status = merge.reports({ fine, early }, { "a.json", "b.json" })
      assert.are.equal(1, status)
      assert.is_false(m.verdict.healthy)
      assert.are.equal("ended_early", m.verdict.problems[1].rule)
      assert.matches("the run ended after 3.00s of its 10.00s", m.verdict.line, 1, true)
      -- ... unless a threshold on iterations says what to expect (and passes on the merge)
      m, status = merge.reports({ fine, early }, nil,
        { thresholds = { assert(thresholds.parse("iterations", ">= 20")) } })
      assert.are.equal(0, status, m.verdict.line)
      -- interrupted: not ok, exit 1 (the numbers are partial)
      m, status = merge.reports { fine, rep { signal = "SIGTERM" } }
      assert.are.equal(1, status)
      assert.matches("interrupted by SIGTERM", m.verdict.line, 1, true)
      -- could not complete: its failure, named by file
      m, status = merge.reports({ fine, rep { failure = "setup failed: no route" } }, { "a.json", "b.json" })
      assert.are.equal(1, status)
      assert.matches("^FAIL: b.json: setup failed: no route", m.verdict.line)
      assert.are.equal("b.json: setup failed: no route", m.verdict.facts.failure)
      -- all iterations failed in one, not in the other: the merged run had completions
      m, status = merge.reports { fine, rep { completed = 0, script_errors = 10 } }
      assert.are.equal(0, status, m.verdict.line)
      assert.are.equal(10, m.verdict.facts.completed)
    end)

    it("waives the rules every input accepted, and --accept-unhealthy's", function()
      local function failing(accept)
        local reg = registry()
        samples(reg, "mcp.get_content", 10, 5, { error_type = "network_connect" })
        return (run_report(reg, { accept = accept }))
      end
      local m, status = merge.reports { failing("no_success"), failing("no_success,ended_early") }
      assert.are.equal(0, status, m.verdict.line)
      assert.are.same({ "no_success" }, m.verdict.facts.accepted)
      m, status = merge.reports { failing("no_success"), failing(nil) }
      assert.are.equal(1, status, m.verdict.line)
      m, status = merge.reports({ failing("no_success"), failing(nil) }, nil,
        { accept = { no_success = true } })
      assert.are.equal(0, status, m.verdict.line)
    end)

    it("adds the shards' shares, and refuses a shard twice or shards of other counts", function()
      local function shard(k, n, config)
        local reg = registry()
        samples(reg, "mcp.get_content", 10, 2)
        local c = { consumers = 2, total_requests = 10, arrival_rate_per_sec = 10 / 3, max_personas = 4,
                    scenario = "unit", shard = { index = k, count = n } }
        for key, v in pairs(config or {}) do c[key] = v end
        return (run_report(reg, { config = c }))
      end
      local s1, s2, s3 = shard(1, 3), shard(2, 3), shard(3, 3)
      local m, status = merge.reports { s1, s2, s3 }
      assert.are.equal(0, status, m.verdict.line)
      assert.are.same({ count = 3, indexes = { 1, 2, 3 }, merged = true }, m.config.shard)
      assert.are.same({ 6, 30, 10, 12 }, { m.config.consumers, m.config.total_requests,
        m.config.arrival_rate_per_sec, m.config.max_personas })
      -- a shard missing: the merged run is not the whole one
      m, status = merge.reports { s1, s3 }
      assert.are.equal(1, status)
      assert.matches("^FAIL: shard 2 of 3 missing from the merge", m.verdict.line)
      -- ... and once merged again with it, it is
      local mm, st = merge.reports { m, s2 }
      assert.are.equal(0, st, mm.verdict.line)
      assert.are.same({ 1, 2, 3 }, mm.config.shard.indexes)
      local function refused(list, names, pattern)
        local none, msg = merge.reports(list, names)
        assert.is_nil(none)
        assert.matches(pattern, msg, 1, true)
      end
      refused({ s1, s2, s1 }, { "a.json", "b.json", "c.json" },
        "a.json and c.json both hold shard 1/3: a shard is merged once")
      refused({ m, shard(3, 3) }, { "m.json", "c.json" }, "m.json and c.json both hold shard 3/3")
      refused({ s1, shard(2, 4) }, { "a.json", "b.json" },
        "b.json is shard 2/4 but a.json is shard 1/3: shards of different counts are not one run")
      refused({ s1, shard(2, 3, { shard = NULL }) }, { "a.json", "b.json" },
        "a.json is shard 1/3 but b.json is not a shard")
      refused({ shard(2, 3, { shard = NULL }), s1 }, { "a.json", "b.json" },
        "b.json is shard 1/3 but a.json is not a shard")
      refused({ shard(4, 3) }, { "x.json" }, "x.json: config.shard: shard 4 is not one of 1 to 3")
    end)

    it("refuses a threshold row it cannot judge again, naming the file", function()
      local reg = registry()
      samples(reg, "mcp.get_content", 10, 2)
      local rep = run_report(reg)
      rep.thresholds = { { key = "p95_ms", condition = "< 40", ok = true } }
      rep.threshold_specs = nil -- a report from before them: its rows are what it declared
      local none, msg = merge.reports({ rep }, { "old.json" })
      assert.is_nil(none)
      assert.matches("old.json: thresholds[1] cannot be judged again: threshold \"p95_ms\": unknown metric",
        msg, 1, true)
    end)

    it("judges reports from before verdict.facts from their verdict", function()
      local function old(run)
        local reg = registry()
        samples(reg, "mcp.get_content", 10, 5)
        local rep = run_report(reg, run)
        rep.verdict.facts, rep.threshold_specs = nil, nil
        return rep
      end
      local m, status = merge.reports { old {}, old { planned = 10, elapsed = 2, budget_spent = false } }
      assert.are.equal(1, status)
      assert.matches("the run ended after 2.00s of its 10.00s", m.verdict.line, 1, true)
      m, status = merge.reports { old {}, old { failure = "setup failed: x" } }
      assert.are.equal(1, status)
      assert.matches("could not complete", m.verdict.line, 1, true)
      m, status = merge.reports { old {}, old { thresholds = { "count > 5" } } }
      assert.are.equal(0, status, m.verdict.line)
      assert.are.equal(10, m.thresholds[1].value)
    end)

    it("gives the same report merging merges as merging all", function()
      local reps = {}
      for k = 1, 3 do
        local reg = registry()
        samples(reg, "mcp.get_content", 10 * k, 10 * k)
        samples(reg, "mcp.get_content", 7, k, { error_type = "http_5xx" })
        samples(reg, "mcp.list_sessions", 3 * k, 5)
        reg:count("hits", k)
        reg:check("fine", k ~= 2, "k=" .. k)
        reps[k] = run_report(reg, {
          thresholds = { "p95{tool=mcp.get_content} < 25ms", "errors < 10", "successes{tool=*} > 0" },
          config = { consumers = 1, total_requests = 10, scenario = "unit",
                     shard = { index = k, count = 3 } },
          iterations = 10 * k, duration = k })
      end
      local all, s_all = merge.reports(reps)
      local ab = merge.reports { reps[1], reps[2] }
      local nested, s_nested = merge.reports { assert(write.decode(json.encode(ab, "sorted"))), reps[3] }
      assert.are.equal(s_all, s_nested)
      assert.are.equal(99, s_all) -- p95 of the union 30 ms; "fine" failed in shard 2
      for _, key in ipairs { "metrics", "result", "counters", "checks", "thresholds", "threshold_specs",
                             "verdict", "config", "merged_from", "error_samples" } do
        assert.are.equal(json.encode(all[key], "sorted"), json.encode(nested[key], "sorted"), key)
      end
      assert.are.equal(3, nested.merged_from)
      assert.are.equal(60, nested.result.iterations)
      near(union_percentile(reps, KEY, 95),
        nested.metrics.series[KEY].p95_ms, "p95 of the union")
    end)
  end)
end)

describe("gofr-sim merge and gofr-sim report", function()
  local dir, files

  setup(function()
    dir = support.tmpdir()
    files = {}
    for k = 1, 2 do
      local reg = registry()
      samples(reg, "mcp.get_content", 10, 20)
      samples(reg, "mcp.get_content", 10, 3, { error_type = "http_5xx" })
      reg:check("status is 200", true)
      local rep = run_report(reg, { thresholds = { "errors < 5" },
        config = { consumers = 1, scenario = "unit", shard = { index = k, count = 2 } } })
      files[k] = dir .. "/shard" .. k .. ".json"
      assert(write.json(files[k], rep))
    end
  end)

  teardown(function() os.execute("rm -rf " .. support.shell_quote(dir)) end)

  it("exits 99 when a threshold fails on the merged data, 0 when it passes", function()
    local out = dir .. "/merged.json"
    local r = support.run_cli { "merge", files[1], files[2], "-o", out }
    assert.are.equal(99, r.status, r.stdout .. r.stderr)
    assert.matches("FAIL  errors = 6, bound < 5: FAILED by 1", r.stdout, 1, true)
    assert.matches("\nFAIL: 1 of 1 thresholds failed (errors)", r.stdout, 1, true)
    local m = assert(write.decode(support.read_file(out)))
    assert.is_false(m.thresholds[1].ok)
    assert.is_false(m.verdict.ok)
    -- --threshold replaces the reports' of its key; --print exits the same way
    r = support.run_cli { "merge", files[1], files[2], "--print", "--threshold", "errors < 7" }
    assert.are.equal(0, r.status, r.stderr)
    assert.is_true(assert(write.decode(r.stdout)).verdict.ok)
    r = support.run_cli { "merge", files[1], "--print" }
    assert.are.equal(1, r.status) -- shard 2 of 2 missing
  end)

  it("refuses bad --threshold and --accept-unhealthy in one line, exit 2", function()
    for _, case in ipairs {
      { { "--threshold", "p95 < fast" }, "merge: --threshold: " },
      { { "--accept-unhealthy", "no_sucess" }, "unknown rule 'no_sucess'" },
    } do
      local args = { "merge", files[1], files[2], "--print" }
      for _, a in ipairs(case[1]) do args[#args + 1] = a end
      local r = support.run_cli(args)
      assert.are.equal(2, r.status, r.stderr)
      assert.are.equal(1, select(2, r.stderr:gsub("\n", "")), r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end
  end)

  it("writes the HTML page and JUnit XML of a merged report, or prints its summary", function()
    local out = dir .. "/m.json"
    support.run_cli { "merge", files[1], files[2], "-o", out }
    local html, xml = dir .. "/out/m.html", dir .. "/out/m.xml"
    local r = support.run_cli { "report", out, "--html", html, "--junit", xml }
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("", r.stdout)
    local page = assert(support.read_file(html))
    assert.matches("<table[^>]*id=\"thresholds\"", page)
    assert.matches("FAIL: 1 of 1 thresholds failed (errors)", page, 1, true)
    local x = assert(support.read_file(xml))
    assert.matches('<testsuite name="unit" tests="2" failures="1"', x, 1, true)
    assert.matches('<testcase name="threshold errors &lt; 5"', x, 1, true)
    r = support.run_cli { "report", out }
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^FAIL: 1 of 1 thresholds failed", r.stdout)
  end)

  it("answers bad usage of report in one line, exit 2, naming the file or flag", function()
    support.write_file(dir .. "/bad.json", "{ nope")
    support.write_file(dir .. "/other.json", '{"hello": 1}')
    for _, case in ipairs {
      { { "report" }, "report: give a report file" },
      { { "report", dir .. "/missing.json" }, "report: cannot read '" .. dir .. "/missing.json'" },
      { { "report", dir .. "/bad.json" }, "report: '" .. dir .. "/bad.json' is not valid JSON" },
      { { "report", dir .. "/other.json" }, "'" .. dir .. "/other.json' is not a gofr-sim report" },
      { { "report", files[1], files[2] }, "give one report file, got 2" },
      { { "report", files[1], "--pdf", "x" }, "unknown flag --pdf" },
    } do
      local r = support.run_cli(case[1])
      assert.are.equal(2, r.status, r.stderr)
      assert.are.equal(1, select(2, r.stderr:gsub("\n", "")), r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end
    local r = support.run_cli { "report", files[1], "--html", files[1] .. "/x.html" }
    assert.are.equal(1, r.status)
    assert.matches("report: --html: cannot write report", r.stderr, 1, true)
  end)
end)
