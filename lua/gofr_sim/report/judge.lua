--- gofr_sim.report.judge: a report's thresholds and verdict judged on the
-- report's own data, as the run judged them on its registry — used on a
-- merged report (report/merge.lua), whose numbers no single run had.
--
--   local judge = require "gofr_sim.report.judge"
--   local rep, status = judge.report(merged)   -- rows and verdict filled in
--   os.exit(status)                            -- 0, 99 or 1, as a run's
--
-- The registry is rebuilt from the report (judge.registry_of: every series
-- of metrics.series with its decoded histogram, the counters, the checks),
-- so that gofr_sim.runner.thresholds' evaluate and gofr_sim.runner.verdict's
-- judge run on it unchanged: percentiles come from the union histogram,
-- never from averaged percentiles. docs/report.md ("Judging a report").
local core = require "gofr_sim.core"
local metrics = require "gofr_sim.engine.metrics"
local thresholds = require "gofr_sim.runner.thresholds"
local verdict = require "gofr_sim.runner.verdict"
local build = require "gofr_sim.report.build"

local type, pairs, ipairs, tostring, tonumber, error, pcall, unpack =
  type, pairs, ipairs, tostring, tonumber, error, pcall, unpack
local setmetatable, getmetatable = setmetatable, getmetatable
local format = string.format

local M = {}

local NULL = build.null

-- Failures to judge (a malformed report) carry their message up to the
-- public functions through error(..., 0).
local JudgeError = {}

local function refuse(fmt, ...)
  error(setmetatable({ message = fmt:format(...) }, JudgeError), 0)
end

-- Runs fn(...) protected: its results, or nil and the message of a refusal
-- (any other error is raised again).
local function protect(fn, ...)
  local res = { pcall(fn, ...) }
  if res[1] then return unpack(res, 2, table.maxn(res)) end
  if getmetatable(res[2]) == JudgeError then return nil, res[2].message end
  error(res[2], 0)
end

local function given(v)
  return v ~= nil and v ~= NULL
end

local function num(v, where)
  if type(v) ~= "number" then refuse("%s must be a number, got %s", where, type(v)) end
  return v
end

-- rep[key] as a table (absent or null: empty), else refused.
local function section(rep, key, label)
  local v = rep[key]
  if not given(v) then return {} end
  if type(v) ~= "table" then refuse("%s%s must be an object", label, key) end
  return v
end

local function types_of(agg, key, where)
  local out = {}
  local t = agg[key]
  if not given(t) then return out end
  if type(t) ~= "table" then refuse("%s.%s must be an object", where, key) end
  for k, n in pairs(t) do out[k] = num(n, where .. "." .. key .. "." .. k) end
  return out
end

-- A registry series (engine/metrics' shape) from the AGG of `key`.
local function series_of(key, agg, where)
  if type(agg) ~= "table" then refuse("%s must be an object", where) end
  if type(agg.histogram) ~= "string" then
    refuse("%s has no histogram (a report without histograms cannot be judged again)", where)
  end
  local h, _, msg = core.hist_decode(agg.histogram)
  if not h then refuse("%s has an invalid histogram: %s", where, tostring(msg)) end
  local name, tags = metrics.parse_key(key)
  return {
    key = key, name = name, tags = tags, hist = h,
    count = num(agg.count, where .. ".count"),
    errors = num(agg.error_count, where .. ".error_count"),
    error_types = types_of(agg, "error_types", where),
    expected = num(given(agg.expected_count) and agg.expected_count or 0, where .. ".expected_count"),
    expected_types = types_of(agg, "expected_types", where),
  }
end

local function registry_of(rep, label)
  local reg = metrics.new(function() return 0 end)
  local m = section(rep, "metrics", label)
  local series = m.series
  if not given(series) then refuse("%smetrics.series is missing (a report without series cannot be judged)",
    label) end
  if type(series) ~= "table" then refuse("%smetrics.series must be an object", label) end
  for key, agg in pairs(series) do
    reg.series[key] = series_of(key, agg, format("%smetrics.series[%s]", label, key))
  end
  for key, v in pairs(section(rep, "counters", label)) do
    local name, tags = metrics.parse_key(key)
    reg.counters[key] = { key = key, name = name, tags = tags,
                          value = num(v, format("%scounters[%s]", label, key)) }
  end
  for name, c in pairs(section(rep, "checks", label)) do
    local where = format("%schecks[%s]", label, name)
    if type(c) ~= "table" then refuse("%s must be an object", where) end
    reg.checks[name] = { name = name, passes = num(c.passes, where .. ".passes"),
                         fails = num(c.fails, where .. ".fails"),
                         failed_observed = type(c.observed) == "string" and c.observed or nil }
  end
  for t, list in pairs(section(rep, "error_samples", label)) do
    if type(list) == "table" then reg.error_samples[t] = list end
  end
  return reg
end

--- A gofr_sim.engine.metrics registry holding report rep's data: a series
-- per metrics.series entry (name and tags from its key, metrics.parse_key;
-- its histogram decoded; counts and error and expected types), its
-- counters and checks (passes, fails). -> registry, or nil, message for a
-- malformed report (a series without a histogram, a count that is not a
-- number). Tag values holding ',' or '=' do not come back from keys.
function M.registry_of(rep)
  if type(rep) ~= "table" then error("judge.registry_of: expected a report table, got " .. type(rep), 2) end
  return protect(registry_of, rep, "")
end

--- The extras thresholds read beside the registry (iterations,
-- dropped_iterations, script_errors; workloads = {name = {iterations=,
-- dropped_iterations=}}), from rep.result and rep.workloads.
function M.extra_of(rep)
  local res = type(rep.result) == "table" and rep.result or {}
  local extra = {}
  for _, k in ipairs { "iterations", "dropped_iterations", "script_errors" } do
    if type(res[k]) == "number" then extra[k] = res[k] end
  end
  if type(rep.workloads) == "table" then
    extra.workloads = {}
    for name, w in pairs(rep.workloads) do
      if type(w) == "table" then
        extra.workloads[name] = {
          iterations = type(w.iterations) == "number" and w.iterations or nil,
          dropped_iterations = type(w.dropped_iterations) == "number" and w.dropped_iterations or nil,
        }
      end
    end
  end
  return extra
end

-- The declared thresholds of a report: its threshold_specs (as declared),
-- else its thresholds rows' key and condition (a {tag=*} threshold's rows
-- stand for it: one per value the run saw). Each once. -> array of
-- {key=, condition=, where=}.
local function declared(rep, label)
  local list = rep.threshold_specs
  local from = "threshold_specs"
  if not given(list) then list, from = rep.thresholds, "thresholds" end
  if not given(list) then return {} end
  if type(list) ~= "table" then refuse("%s%s must be an array", label, from) end
  local out = {}
  for i, t in ipairs(list) do
    local where = format("%s%s[%d]", label, from, i)
    if type(t) ~= "table" then refuse("%s must be an object", where) end
    if type(t.key) ~= "string" or type(t.condition) ~= "string" then
      refuse("%s has no key and condition to judge it again", where)
    end
    out[#out + 1] = { key = t.key, condition = t.condition, where = where }
  end
  return out
end

--- The thresholds of reports, parsed (gofr_sim.runner.thresholds specs),
-- sorted: each report's declared ones (its threshold_specs, else its rows'
-- key and condition), each key and condition once; labels[i] names report
-- i in messages. -> specs, or nil, message (a threshold that does not
-- parse, naming where it is).
function M.specs_of(reps, labels)
  return protect(function()
    local specs, seen = {}, {}
    for i, rep in ipairs(reps) do
      local label = labels and labels[i] and (labels[i] .. ": ") or ""
      for _, d in ipairs(declared(rep, label)) do
        local id = d.key .. "\0" .. d.condition
        if not seen[id] then
          seen[id] = true
          local spec, why = thresholds.parse(d.key, d.condition)
          if not spec then refuse("%s cannot be judged again: %s", d.where, why) end
          specs[#specs + 1] = spec
        end
      end
    end
    return thresholds.sort(specs)
  end)
end

--- specs with each of `over`'s keys replaced by over's (a --threshold on a
-- key the run bounds replaces the run's, as on a run's command line); sorted.
function M.override(specs, over)
  local replaced, out = {}, {}
  for _, s in ipairs(over or {}) do
    replaced[s.key] = true
    out[#out + 1] = s
  end
  for _, s in ipairs(specs) do
    if not replaced[s.key] then out[#out + 1] = s end
  end
  return thresholds.sort(out)
end

-- Run facts ------------------------------------------------------------------
-- A report's facts are what its verdict was judged from besides the
-- registry (gofr_sim.runner.verdict's judge): {accept= (a set of rules, nil
-- when the report does not say), completed=, planned_duration=, elapsed=,
-- stopped=, budget_spent=, failure=, check_ran=, errors=}.

local function has_problem(v, rule)
  for _, p in ipairs(type(v) == "table" and type(v.problems) == "table" and v.problems or {}) do
    if type(p) == "table" and p.rule == rule then return p end
  end
  return nil
end

-- The facts of a report without verdict.facts (from before them, or made
-- by a script): read from what it has. Its verdict's problems and line say
-- whether it ended early or could not complete.
local function guessed_facts(rep)
  local res, config, v = rep.result, type(rep.config) == "table" and rep.config or {}, rep.verdict
  local iterations = type(res.iterations) == "number" and res.iterations or 0
  local script_errors = type(res.script_errors) == "number" and res.script_errors or 0
  local f = {
    completed = math.max(0, iterations - script_errors),
    planned_duration = type(config.duration_seconds) == "number" and config.duration_seconds or nil,
    elapsed = type(res.duration_seconds) == "number" and res.duration_seconds or 0,
    stopped = false, budget_spent = true, -- it did not end early, unless its verdict said so
  }
  local early = has_problem(v, "ended_early")
  if early then -- "the run ended after 2.00s of its 10.00s"
    local msg = type(early.message) == "string" and early.message or ""
    local after, planned = msg:match("ended after ([%d.]+)s of its ([%d.]+)s")
    f.planned_duration = f.planned_duration or tonumber(planned)
    if f.planned_duration then
      f.budget_spent = false
      f.elapsed = math.min(tonumber(after) or f.elapsed, f.planned_duration * 0.9 - 0.25 - 0.001)
    end
  end
  local line = type(v) == "table" and type(v.line) == "string" and v.line or ""
  if line:match("^FAIL: setup failed: ") or line:match("^FAIL: the run failed: ") then
    f.failure = "it could not complete (" .. line:sub(7) .. ")"
  end
  if iterations == 0 and not given(config.workload) and not given(config.workloads) then
    f.check_ran = not has_problem(v, "nothing_ran") -- a check scenario's run
  end
  return f
end

local function facts_of(rep, label)
  if type(rep.result) ~= "table" then refuse("%sresult is missing", label) end
  local v = rep.verdict
  local rf = type(v) == "table" and v.facts
  if not given(rf) or not rf then return guessed_facts(rep) end
  local where = label .. "verdict.facts"
  if type(rf) ~= "table" then refuse("%s must be an object", where) end
  local f = { accept = {}, completed = num(rf.completed, where .. ".completed") }
  if given(rf.accepted) then
    if type(rf.accepted) ~= "table" then refuse("%s.accepted must be an array", where) end
    for _, rule in ipairs(rf.accepted) do f.accept[tostring(rule)] = true end
  end
  if given(rf.planned_duration_seconds) then
    f.planned_duration = num(rf.planned_duration_seconds, where .. ".planned_duration_seconds")
  end
  f.elapsed = given(rf.elapsed_seconds) and num(rf.elapsed_seconds, where .. ".elapsed_seconds")
    or (type(rep.result.duration_seconds) == "number" and rep.result.duration_seconds or 0)
  f.stopped, f.budget_spent = rf.stopped == true, rf.budget_spent == true
  if given(rf.failure) then f.failure = tostring(rf.failure) end
  if given(rf.check_ran) then f.check_ran = rf.check_ran == true end
  if type(rf.script_error_messages) == "table" then
    f.errors = {}
    for msg, n in pairs(rf.script_error_messages) do
      if type(n) == "number" then f.errors[msg] = n end
    end
  end
  return f
end

--- The facts of report rep (its verdict.facts; for a report without them,
-- what its result, config and verdict say: completed = iterations less
-- script errors, ended early or could not complete only when its verdict
-- said so, accepted rules unknown: nil). -> facts, or nil, message.
function M.facts_of(rep, label)
  if type(rep) ~= "table" then error("judge.facts_of: expected a report table, got " .. type(rep), 2) end
  return protect(facts_of, rep, label and (label .. ": ") or "")
end

-- How much time a run had left before the ended_early rule fires (negative:
-- it fired); nil when the rule cannot fire (no planned duration, stopped,
-- the budget spent).
local function slack(f)
  if not f.planned_duration or f.stopped or f.budget_spent then return nil end
  return f.elapsed - (f.planned_duration * 0.9 - 0.25)
end

--- The facts of runs made side by side, combined conservatively: completed
-- added; the first failure (labelled with its report, labels[i]); the
-- rules every report that says accepted (nil when none says); check_ran
-- false when any was false; the timing of the run that came nearest to
-- ending early (so that one input ending early makes the merged run end
-- early), else stopped or budget_spent as any had it; the script error
-- messages added.
function M.combine(list, labels)
  local out = { completed = 0, stopped = false, budget_spent = false, elapsed = 0 }
  local nearest, nearest_slack, planned
  local errors
  for i, f in ipairs(list) do
    out.completed = out.completed + (f.completed or 0)
    if f.failure and not out.failure then
      out.failure = labels and labels[i] and (labels[i] .. ": " .. f.failure) or f.failure
    end
    if f.accept then
      if not out.accept then
        out.accept = {}
        for rule, on in pairs(f.accept) do out.accept[rule] = on or nil end
      else
        for rule in pairs(out.accept) do
          if not f.accept[rule] then out.accept[rule] = nil end
        end
      end
    end
    if f.check_ran ~= nil then out.check_ran = (out.check_ran ~= false) and f.check_ran end
    local s = slack(f)
    if s and (not nearest_slack or s < nearest_slack) then nearest, nearest_slack = f, s end
    out.stopped = out.stopped or f.stopped or false
    out.budget_spent = out.budget_spent or f.budget_spent or false
    out.elapsed = math.max(out.elapsed, f.elapsed or 0)
    if f.planned_duration then planned = math.max(planned or 0, f.planned_duration) end
    for msg, n in pairs(f.errors or {}) do
      errors = errors or {}
      errors[msg] = (errors[msg] or 0) + n
    end
  end
  out.planned_duration = planned
  if nearest then
    out.planned_duration, out.elapsed = nearest.planned_duration, nearest.elapsed
    out.stopped, out.budget_spent = false, false
  end
  out.errors = errors
  return out
end

-- A merged report's missing shards (config.shard = {count=, indexes=,
-- merged=true}, report/merge.lua) as a failure line, or nil.
local function missing_shards(rep)
  local shard = type(rep.config) == "table" and rep.config.shard
  if type(shard) ~= "table" or shard.merged ~= true or type(shard.count) ~= "number"
    or type(shard.indexes) ~= "table" then
    return nil
  end
  local have, missing = {}, {}
  for _, k in ipairs(shard.indexes) do have[k] = true end
  for k = 1, shard.count do
    if not have[k] then missing[#missing + 1] = tostring(k) end
  end
  if #missing == 0 then return nil end
  return format("shard%s %s of %d missing from the merge", #missing > 1 and "s" or "",
    table.concat(missing, ", "), shard.count)
end
M.missing_shards = missing_shards

local function signal_of(rep)
  local res = rep.result
  if type(res.signal) == "string" and res.signal ~= "" then return res.signal end
  if rep.interrupted == true or res.interrupted == true then return "a signal" end
  return ""
end

local function judge_report(rep, opts)
  local specs = opts.specs
  if specs == nil then
    local why
    specs, why = M.specs_of({ rep })
    if not specs then refuse("%s", why) end
  end
  local facts = opts.facts or facts_of(rep, "")
  local accept = opts.accept or facts.accept or {}
  local reg = registry_of(rep, "")
  local res = rep.result
  local results, thresholds_ok = thresholds.evaluate(specs, reg, M.extra_of(rep))
  local signal = signal_of(rep)
  local failure = facts.failure or missing_shards(rep)
  local v = verdict.judge {
    registry = reg, thresholds = results, accept = accept,
    iterations = type(res.iterations) == "number" and res.iterations or 0,
    completed = facts.completed or 0,
    script_errors = type(res.script_errors) == "number" and res.script_errors or 0,
    errors = facts.errors, planned_duration = facts.planned_duration,
    elapsed = facts.elapsed or (type(res.duration_seconds) == "number" and res.duration_seconds or 0),
    budget_spent = facts.budget_spent, stopped = facts.stopped, signal = signal,
    failure = failure and failure:gsub("\n.*", ""), check_ran = facts.check_ran,
  }
  rep.thresholds = build.thresholds_section(results)
  rep.threshold_specs = build.threshold_specs_section(specs)
  local kept = {}
  for k, x in pairs(facts) do kept[k] = x end
  kept.accept = accept
  rep.verdict = build.verdict_section(v, kept)
  local status = thresholds.exit_code(thresholds_ok, thresholds.checks_ok(reg),
    not failure and signal == "" and v.healthy)
  return rep, status
end

--- Judges report rep again on its own data: its thresholds evaluated on a
-- registry rebuilt from it (M.registry_of), its verdict judged
-- (gofr_sim.runner.verdict) from that, its result and its facts. Fills in
-- rep.thresholds (rows as a run's: ok true or false), rep.threshold_specs
-- and rep.verdict (with verdict.facts), in place. opts (optional): specs =
-- parsed thresholds (nil: rep's declared ones, M.specs_of), accept = a set
-- of verdict rules to waive (nil: the facts'), facts = run facts (nil:
-- M.facts_of(rep)). -> rep, status (as a run's: 0 pass, 99 a threshold
-- failed, 1 a check failed, the run was unhealthy, interrupted or could
-- not complete, a merge misses shards), or nil, message for a malformed
-- report.
function M.report(rep, opts)
  if type(rep) ~= "table" then error("judge.report: expected a report table, got " .. type(rep), 2) end
  if opts ~= nil and type(opts) ~= "table" then
    error("judge.report: opts must be a table, got " .. type(opts), 2)
  end
  if type(rep.result) ~= "table" then return nil, "result is missing" end
  return protect(judge_report, rep, opts or {})
end

return M
