--- gofr_sim.report.build: the JSON report table of one run, from its
-- metrics registry and what the runner knows about it. The schema (a
-- superset of the Python harness's report.json) is documented key by key in
-- docs/report.md; report/write.lua writes it, report/merge.lua merges
-- several (with the section builders below), report/summary.lua and
-- report/html.lua show it.
--
--   local build = require "gofr_sim.report.build"
--   local rep = build.build { registry = reg, config = cfg, started_at = t0,
--                             duration = 30.2, iterations = n, ... }
local cjson = require "cjson"
local json = require "gofr_sim.util.json"
local tables = require "gofr_sim.util.tables"
local aggregate = require "gofr_sim.report.aggregate"

local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error

local M = {}

M.SCHEMA_VERSION = 1

--- The value of a JSON null in a report table: cjson.null, so reports
-- decoded by report/write.lua carry it too. Absent values are written as
-- null so every key survives.
local NULL = cjson.null
M.null = NULL

-- The config keys of the Python harness: always present, null when unknown.
local HARNESS_CONFIG = {
  "consumers", "duration_seconds", "mcp_url", "mode", "rate_per_consumer_per_sec",
  "sites_file", "target_url", "timeout_seconds", "total_requests",
}

local THRESHOLD_KEYS = { "key", "condition", "value", "bound", "ok", "message" }

local function or_null(v)
  if v == nil then return NULL end
  return v
end

-- Raises (at report.build's caller) unless run[field] is a `want`.
local function check_field(run, field, want, optional)
  local v = run[field]
  if v == nil and optional then return end
  if type(v) ~= want then
    error(("report.build: run.%s must be a %s, got %s"):format(field, want, type(v)), 4)
  end
end

local function metrics_section(reg)
  local overall = aggregate.new()
  local by_tool, by_tool_persona, by_persona, by_series, by_name, by_workload = {}, {}, {}, {}, {}, {}
  -- Sorted, so every merge happens in the same order on every run.
  for _, key in ipairs(tables.sorted_keys(reg.series)) do
    local s = reg.series[key]
    by_series[key] = aggregate.report(s)
    local tool = s.tags.tool
    if tool then
      -- Like the Python harness, a sample without a persona is persona "default".
      local persona = s.tags.persona or "default"
      aggregate.add(overall, s)
      aggregate.add(aggregate.of(by_tool, tool), s)
      aggregate.add(aggregate.of(by_tool_persona, tool .. "::" .. persona), s)
      aggregate.add(aggregate.of(by_persona, persona), s)
      if s.tags.workload then aggregate.add(aggregate.of(by_workload, s.tags.workload), s) end
    else
      aggregate.add(aggregate.of(by_name, s.name), s) -- iteration, iteration.service, sim.metrics.record
    end
  end
  return {
    overall = aggregate.report(overall),
    by_tool = aggregate.reports(by_tool),
    by_tool_persona = aggregate.reports(by_tool_persona),
    by_persona = aggregate.reports(by_persona),
    by_name = aggregate.reports(by_name),
    by_workload = next(by_workload) and aggregate.reports(by_workload) or nil,
    series = by_series,
  }, overall
end

-- The AGG of series `name` of workload `wl` (merged over its personas), or NULL.
local function workload_agg(reg, name, wl)
  local acc
  for _, key in ipairs(tables.sorted_keys(reg.series)) do
    local s = reg.series[key]
    if s.name == name and s.tags.workload == wl and not s.tags.tool then
      acc = acc or aggregate.new()
      aggregate.add(acc, s)
    end
  end
  return acc and aggregate.report(acc) or NULL
end

--- The workloads section (docs/report.md): per named workload its run's
-- counts (runs: {name = {workload=, iterations=, dropped_iterations=,
-- personas_max=, started_seconds=, duration_seconds=}}), its requests'
-- totals (by_workload: metrics.by_workload) and its iterations' AGGs.
local function workloads_section(runs, by_workload, reg)
  local out = {}
  for name, r in pairs(runs) do
    local req = by_workload and by_workload[name] or {}
    local count, secs = req.count or 0, r.duration_seconds
    out[name] = {
      workload = r.workload, iterations = r.iterations, dropped_iterations = r.dropped_iterations,
      personas_max = r.personas_max,
      request_count = count, error_count = req.error_count or 0, expected_count = req.expected_count or 0,
      throughput_rps = (secs and secs > 0) and aggregate.round(count / secs, 3) or 0,
      started_seconds = r.started_seconds and aggregate.round(r.started_seconds, 3) or NULL,
      duration_seconds = secs and aggregate.round(secs, 3) or NULL,
      iteration = workload_agg(reg, "iteration", name),
      iteration_service = workload_agg(reg, "iteration.service", name),
    }
  end
  return out
end

--- A timeseries entry: `second` since the start, and sec = {requests=,
-- errors=, expected=, p50=, p95=, p99=, personas=} as a registry's sealed
-- second (engine/metrics) has them: percentiles in seconds, nil for an empty
-- second; personas nil when not sampled.
function M.timeseries_entry(second, sec)
  local ms = aggregate.ms
  return {
    second = second,
    requests = sec.requests,
    errors = sec.errors,
    expected = sec.expected or 0,
    p50_ms = sec.p50 and ms(sec.p50) or NULL,
    p95_ms = sec.p95 and ms(sec.p95) or NULL,
    p99_ms = sec.p99 and ms(sec.p99) or NULL,
    personas = sec.personas or NULL,
    personas_by_workload = sec.personas_by_workload, -- named workloads' runs only
  }
end

--- A timeseries_by_tool entry: as timeseries_entry, without p99 and personas.
function M.tool_timeseries_entry(second, sec)
  local e = M.timeseries_entry(second, sec)
  e.p99_ms, e.personas, e.personas_by_workload = nil, nil, nil
  return e
end

--- The timeseries_by_tool section of a sealed registry: {tool: [entry]},
-- each tool's entries only for the seconds it had samples in.
function M.timeseries_by_tool_section(reg)
  local out = {}
  for tool, ts in pairs(reg.tools or {}) do
    if ts and #ts.seconds > 0 then
      local a = json.array()
      for i, e in ipairs(ts.seconds) do a[i] = M.tool_timeseries_entry(e.second, e) end
      out[tool] = a
    end
  end
  return out
end

--- The checks section of {name: {passes=, fails=, observed= |
-- failed_observed=, passed_observed=}} (a registry's checks, or merged sums).
function M.checks_section(checks)
  local out = {}
  for name, c in pairs(checks) do
    local total = c.passes + c.fails
    local observed = c.observed
    if observed == nil then observed = c.failed_observed or c.passed_observed end
    out[name] = { passes = c.passes, fails = c.fails,
                  rate = total > 0 and aggregate.round(c.passes / total, 4) or NULL,
                  observed = observed == nil and NULL or observed }
  end
  return out
end

--- The error_samples section: {error_type: [message, ...]} from a
-- registry's samples (which bounds them) or merged lists, each cut to limit
-- (default: all), in order.
function M.error_samples_section(samples, limit)
  local out = {}
  for t, list in pairs(samples or {}) do
    local a = json.array()
    for i = 1, math.min(#list, limit or #list) do a[i] = list[i] end
    out[t] = a
  end
  return out
end

--- Adds a one-line note to report rep (a scenario's teardown does, for
-- what its numbers mean): kept in the JSON, printed by the summary.
function M.add_note(rep, text)
  if type(text) ~= "string" or text == "" or text:find("\n") then
    error("report.add_note: a note is one non-empty line, got " .. tostring(text), 2)
  end
  if rep.notes == nil or rep.notes == NULL then rep.notes = json.array() end
  rep.notes[#rep.notes + 1] = text
end

--- The result section of a run lasting `duration` seconds: totals =
-- {request_count=, error_count=, expected_count=, iterations=,
-- dropped_iterations=, personas_max=, data_sent_bytes=, data_received_bytes=
-- (these three optional), script_errors=}; the throughput is requests over
-- the duration; signal is a name or NULL.
function M.result_section(duration, totals, interrupted, signal)
  return {
    duration_seconds = duration,
    request_count = totals.request_count,
    error_count = totals.error_count,
    expected_count = totals.expected_count,
    throughput_rps = duration > 0 and aggregate.round(totals.request_count / duration, 3) or 0,
    iterations = totals.iterations,
    dropped_iterations = totals.dropped_iterations,
    personas_max = totals.personas_max or NULL,
    data_sent_bytes = totals.data_sent_bytes or NULL,
    data_received_bytes = totals.data_received_bytes or NULL,
    script_errors = totals.script_errors,
    interrupted = interrupted,
    signal = signal,
  }
end

--- The thresholds section of thresholds.evaluate's results (or any rows
-- of {key=, condition=, value=, bound=, ok=, message=, ...}): copies, the
-- keys of every row present (null when unknown).
function M.thresholds_section(list)
  local out = json.array()
  for i, t in ipairs(list or {}) do
    if type(t) ~= "table" then
      error(("report.build: run.thresholds[%d] must be a table, got %s"):format(i, type(t)), 3)
    end
    local row = tables.copy(t)
    for _, k in ipairs(THRESHOLD_KEYS) do row[k] = or_null(row[k]) end
    out[i] = row
  end
  return out
end

-- The script error messages kept with a verdict's facts: the most
-- frequent, each its first line cut to this many characters.
local FACT_ERRORS, FACT_ERROR_CHARS = 3, 200

-- {message: count} cut to the FACT_ERRORS most frequent (ties by message),
-- each message's first line, cut to FACT_ERROR_CHARS.
local function top_errors(errors)
  local list = {}
  for msg, n in pairs(errors or {}) do
    if type(msg) == "string" and type(n) == "number" then list[#list + 1] = { msg, n } end
  end
  table.sort(list, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  local out = {}
  for i = 1, math.min(#list, FACT_ERRORS) do
    local m = list[i][1]:gsub("\n.*", "")
    if #m > FACT_ERROR_CHARS then m = m:sub(1, FACT_ERROR_CHARS - 3) .. "..." end
    out[m] = (out[m] or 0) + list[i][2]
  end
  return out
end

--- The report form of what a verdict was judged from (docs/report.md
-- "verdict.facts"), so that a merge can judge the merged run again: f is
-- the table given to gofr_sim.runner.verdict's judge (accept= a set of
-- rules, completed=, planned_duration=, elapsed=, stopped=, budget_spent=,
-- failure=, check_ran=, errors=); the registry, thresholds, iterations,
-- script errors and signal are elsewhere in the report.
function M.verdict_facts(f)
  local accepted = json.array()
  for rule, on in pairs(f.accept or {}) do
    if on then accepted[#accepted + 1] = rule end
  end
  table.sort(accepted)
  return {
    accepted = accepted,
    completed = f.completed or 0,
    planned_duration_seconds = or_null(f.planned_duration),
    elapsed_seconds = or_null(f.elapsed),
    stopped = f.stopped and true or false,
    budget_spent = f.budget_spent and true or false,
    failure = or_null(f.failure),
    check_ran = or_null(f.check_ran),
    script_error_messages = top_errors(f.errors),
  }
end

--- The report form of a verdict (gofr_sim.runner.verdict), or null; facts
-- (optional, the table given to the verdict's judge) are kept as
-- verdict.facts (M.verdict_facts).
function M.verdict_section(v, facts)
  if v == nil then return NULL end
  local problems = json.array()
  for i, p in ipairs(v.problems or {}) do problems[i] = { rule = p.rule, message = p.message } end
  return { ok = v.ok, healthy = v.healthy, line = v.line, problems = problems,
           facts = facts and M.verdict_facts(facts) or nil }
end

--- The threshold_specs section: {key=, condition=} of each threshold as
-- declared (parsed specs of gofr_sim.runner.thresholds, before a {tag=*}
-- selector is expanded into a row per value), in order.
function M.threshold_specs_section(specs)
  local out = json.array()
  for i, s in ipairs(specs) do out[i] = { key = s.key, condition = s.condition } end
  return out
end

-- Raises, at report.build's caller, on a malformed run.
local function check_run(run)
  if type(run) ~= "table" then
    error("report.build: expected a run table, got " .. type(run), 3)
  end
  local reg = run.registry
  if type(reg) ~= "table" or type(reg.series) ~= "table" then
    error("report.build: run.registry must be a metrics registry, got " .. type(reg), 3)
  end
  check_field(run, "config", "table", true)
  check_field(run, "started_at", "string", true)
  check_field(run, "duration", "number", true)
  check_field(run, "interrupted", "boolean", true)
  check_field(run, "iterations", "number", true)
  check_field(run, "dropped_iterations", "number", true)
  check_field(run, "personas_max", "number", true)
  check_field(run, "data_sent", "number", true)
  check_field(run, "data_received", "number", true)
  check_field(run, "script_errors", "number", true)
  check_field(run, "thresholds", "table", true)
  check_field(run, "verdict", "table", true)
  check_field(run, "workloads", "table", true)
  check_field(run, "verdict_inputs", "table", true)
  check_field(run, "threshold_specs", "table", true)
  local duration = run.duration or 0
  if duration < 0 or duration ~= duration then
    error("report.build: run.duration must be >= 0 seconds, got " .. tostring(duration), 3)
  end
end

--- Builds the report table of one run. run = {registry=, config=,
-- started_at=, duration=, interrupted=, signal=, iterations=,
-- dropped_iterations=, personas_max=, data_sent=, data_received=,
-- script_errors=, thresholds=, verdict=, workloads= (named workloads' runs,
-- see workloads_section), verdict_inputs= (the table the verdict was judged
-- from: kept as verdict.facts), threshold_specs= (the parsed thresholds as
-- declared: kept as threshold_specs)}; only
-- registry is required. Raises on a malformed run (the error names the
-- field). The report holds copies of config and of each threshold row
-- (their top-level keys: nested tables are shared).
function M.build(run)
  check_run(run)
  local reg = run.registry
  local duration = run.duration or 0

  local config = tables.copy(run.config or {})
  for _, k in ipairs(HARNESS_CONFIG) do config[k] = or_null(config[k]) end

  local metrics, overall = metrics_section(reg)

  local timeseries = json.array()
  reg:seal()
  for i, sec in ipairs(reg.seconds or {}) do
    timeseries[i] = M.timeseries_entry(i - 1, sec)
  end

  local counters = {}
  for key, c in pairs(reg.counters or {}) do counters[key] = c.value end

  local interrupted = run.interrupted or false
  local totals = {
    request_count = overall.count, error_count = overall.errors, expected_count = overall.expected,
    iterations = run.iterations or 0, dropped_iterations = run.dropped_iterations or 0,
    personas_max = run.personas_max,
    data_sent_bytes = run.data_sent, data_received_bytes = run.data_received,
    script_errors = run.script_errors or 0,
  }
  local signal = (run.signal ~= nil and run.signal ~= "") and run.signal or NULL
  return {
    schema_version = M.SCHEMA_VERSION,
    started_at = or_null(run.started_at),
    interrupted = interrupted,
    config = config,
    result = M.result_section(duration, totals, interrupted, signal),
    metrics = metrics,
    counters = counters,
    checks = M.checks_section(reg.checks or {}),
    error_samples = M.error_samples_section(reg.error_samples),
    notes = json.array(), -- a scenario's teardown may add lines (report.build.add_note)
    thresholds = M.thresholds_section(run.thresholds),
    threshold_specs = run.threshold_specs and M.threshold_specs_section(run.threshold_specs) or nil,
    verdict = M.verdict_section(run.verdict, run.verdict_inputs),
    timeseries = timeseries,
    timeseries_by_tool = M.timeseries_by_tool_section(reg),
    workloads = run.workloads and workloads_section(run.workloads, metrics.by_workload, reg) or nil,
  }
end

return M
