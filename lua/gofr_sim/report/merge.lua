--- gofr_sim.report.merge: one report from the reports of runs made side by
-- side (shards of one load): histograms merge exactly, counts add, the
-- duration is the longest; then the merged report is judged (its
-- thresholds on the merged data, its verdict: report/judge.lua).
-- docs/report.md ("Merging: gofr-sim merge") says how each key combines.
--
--   local merge = require "gofr_sim.report.merge"
--   local merged, status = merge.reports({ write.decode(a), write.decode(b) },
--                                        { "a.json", "b.json" })
--   -- merged: the judged report and its exit status; or nil, a message
local core = require "gofr_sim.core"
local json = require "gofr_sim.util.json"
local tables = require "gofr_sim.util.tables"
local aggregate = require "gofr_sim.report.aggregate"
local build = require "gofr_sim.report.build"
local judge = require "gofr_sim.report.judge"

local type, pairs, ipairs, tostring, error, pcall, collectgarbage =
  type, pairs, ipairs, tostring, error, pcall, collectgarbage
local setmetatable, getmetatable = setmetatable, getmetatable
local max = math.max

local M = {}

local NULL = build.null

-- Merge failures carry their message up to M.reports through error(..., 0).
local MergeError = {}

local function refuse(fmt, ...)
  error(setmetatable({ message = fmt:format(...) }, MergeError), 0)
end

local function num(v, where)
  if type(v) ~= "number" then refuse("%s must be a number, got %s", where, type(v)) end
  return v
end

-- A decoded histogram holds ~184 KiB the collector does not see, so collect
-- every so often rather than let thousands pile up before it runs.
local decoded = 0

-- report[key] of a merge input: a table (absent -> empty), else refused.
local function part(item, key)
  local v = item.report[key]
  if v == nil or v == NULL then return {} end
  if type(v) ~= "table" then refuse("%s: %s must be an object or array, got %s", item.label, key, type(v)) end
  return v
end

local function decode_hist(encoded, where)
  if type(encoded) ~= "string" then
    refuse("%s has no histogram (reports without histograms cannot be merged)", where)
  end
  decoded = decoded + 1
  if decoded % 64 == 0 then collectgarbage() end
  local h, _, msg = core.hist_decode(encoded)
  if not h then refuse("%s has an invalid histogram: %s", where, tostring(msg)) end
  return h
end

-- Adds the counts of a report's type map a[key] (absent: none) to into.
local function merge_types(into, a, key, where)
  local types = a[key]
  if types ~= nil and type(types) ~= "table" then refuse("%s.%s must be an object", where, key) end
  for t, n in pairs(types or {}) do
    into[t] = (into[t] or 0) + num(n, where .. "." .. key .. "." .. t)
  end
end

-- Merges one AGG (found at `where`) into accumulator acc. Reports from
-- before expected outcomes existed have no expected_count: none.
local function merge_agg(acc, a, where)
  if type(a) ~= "table" then refuse("%s must be an object", where) end
  acc.hist:merge(decode_hist(a.histogram, where))
  acc.count = acc.count + num(a.count, where .. ".count")
  acc.errors = acc.errors + num(a.error_count, where .. ".error_count")
  acc.expected = acc.expected + num(a.expected_count or 0, where .. ".expected_count")
  merge_types(acc.error_types, a, "error_types", where)
  merge_types(acc.expected_types, a, "expected_types", where)
end

local AGG_MAPS = { "by_tool", "by_tool_persona", "by_persona", "by_name", "series", "by_workload" }

-- AGG maps only some reports have (by_workload: a run of named workloads):
-- in the merged report only when an input had one, so that reports without
-- them merge exactly as before.
local OPTIONAL_AGG_MAPS = { by_workload = true }

local function merge_metrics(list)
  local overall, maps, given = aggregate.new(), {}, {}
  for _, name in ipairs(AGG_MAPS) do maps[name] = {} end
  for _, item in ipairs(list) do
    local m = item.report.metrics
    if type(m) ~= "table" then refuse("%s: metrics is missing", item.label) end
    merge_agg(overall, m.overall, item.label .. ": metrics.overall")
    for _, name in ipairs(AGG_MAPS) do
      local section = m[name]
      if section ~= nil and type(section) ~= "table" then
        refuse("%s: metrics.%s must be an object", item.label, name)
      end
      given[name] = given[name] or section ~= nil
      for _, key in ipairs(tables.sorted_keys(section)) do
        merge_agg(aggregate.of(maps[name], key), section[key],
          ("%s: metrics.%s[%s]"):format(item.label, name, key))
      end
    end
  end
  local out = { overall = aggregate.report(overall) }
  for _, name in ipairs(AGG_MAPS) do
    if given[name] or not OPTIONAL_AGG_MAPS[name] then out[name] = aggregate.reports(maps[name]) end
  end
  return out
end

-- Seconds of several runs combined: counts add; each percentile is the
-- request-weighted mean of the runs' (per-second histograms are not kept, so
-- that a run's memory stays flat: an approximation, documented).
-- The error samples of the runs, in run order, each type's list no longer
-- than the longest one given (each run's registry bounded its own);
-- duplicates once. Reports from before samples existed have none.
local function merge_error_samples(list)
  local lists, longest = {}, 0
  for _, item in ipairs(list) do
    local samples = item.report.error_samples
    if samples ~= nil and type(samples) ~= "table" then
      refuse("%s: error_samples must be an object", item.label)
    end
    for _, t in ipairs(tables.sorted_keys(samples)) do
      local msgs = samples[t]
      if type(msgs) ~= "table" then refuse("%s: error_samples.%s must be an array", item.label, t) end
      longest = math.max(longest, #msgs)
      local into = lists[t] or {}
      lists[t] = into
      for _, m in ipairs(msgs) do
        local seen = false
        for _, x in ipairs(into) do seen = seen or x == m end
        if not seen then into[#into + 1] = m end
      end
    end
  end
  return build.error_samples_section(lists, longest)
end

-- The notes of the runs, in run order, each once.
local function merge_notes(list)
  local out, seen = json.array(), {}
  for _, item in ipairs(list) do
    local notes = item.report.notes
    if notes ~= nil and notes ~= NULL and type(notes) ~= "table" then
      refuse("%s: notes must be an array", item.label)
    end
    for _, n in ipairs(type(notes) == "table" and notes or {}) do
      if not seen[n] then seen[n] = true; out[#out + 1] = n end
    end
  end
  return out
end

-- Adds timeseries entry e (found at `where`) into by_second[e.second]:
-- counts add, personas add (when any run sampled them; each workload's of
-- personas_by_workload too), percentiles weighted
-- by requests (ps: which). Returns the entry's second.
local function add_entry(by_second, e, where, ps)
  if type(e) ~= "table" then refuse("%s must be an object", where) end
  local s = num(e.second, where .. ".second")
  local acc = by_second[s]
  if not acc then
    acc = { requests = 0, errors = 0, expected = 0, weight = 0, p50 = 0, p95 = 0, p99 = 0 }
    by_second[s] = acc
  end
  local n = num(e.requests, where .. ".requests")
  acc.requests = acc.requests + n
  acc.errors = acc.errors + num(e.errors, where .. ".errors")
  acc.expected = acc.expected + num(e.expected or 0, where .. ".expected")
  if e.personas ~= nil and e.personas ~= NULL then
    acc.personas = (acc.personas or 0) + num(e.personas, where .. ".personas")
  end
  local by_workload = e.personas_by_workload
  if by_workload ~= nil and by_workload ~= NULL then
    if type(by_workload) ~= "table" then refuse("%s.personas_by_workload must be an object", where) end
    acc.personas_by_workload = acc.personas_by_workload or {}
    for _, name in ipairs(tables.sorted_keys(by_workload)) do
      local count = by_workload[name]
      if count ~= NULL then
        acc.personas_by_workload[name] = (acc.personas_by_workload[name] or 0)
          + num(count, ("%s.personas_by_workload[%s]"):format(where, name))
      end
    end
  end
  if n > 0 and e.p50_ms ~= nil and e.p50_ms ~= NULL then
    acc.weight = acc.weight + n
    for _, p in ipairs(ps) do
      acc[p] = acc[p] + n * num(e[p .. "_ms"], where .. "." .. p .. "_ms") / 1000
    end
  end
  return s
end

-- A merged second: the weighted means of add_entry's sums.
local function merged_second(acc)
  local w = acc.weight
  return {
    requests = acc.requests, errors = acc.errors, expected = acc.expected, personas = acc.personas,
    personas_by_workload = acc.personas_by_workload,
    p50 = w > 0 and acc.p50 / w or nil, p95 = w > 0 and acc.p95 / w or nil,
    p99 = w > 0 and acc.p99 / w or nil,
  }
end

local function merge_timeseries(list)
  local by_second, last = {}, -1
  for _, item in ipairs(list) do
    for i, e in ipairs(part(item, "timeseries")) do
      local s = add_entry(by_second, e, ("%s: timeseries[%d]"):format(item.label, i), { "p50", "p95", "p99" })
      last = max(last, s)
    end
  end
  local out = json.array()
  for s = 0, last do
    local acc = by_second[s] or { requests = 0, errors = 0, expected = 0, weight = 0 }
    out[#out + 1] = build.timeseries_entry(s, merged_second(acc))
  end
  return out
end

-- Each tool's seconds combined as the timeseries' are (only the seconds
-- some run had samples of the tool in). Reports from before it: none.
local function merge_timeseries_by_tool(list)
  local tools = {}
  for _, item in ipairs(list) do
    local section = part(item, "timeseries_by_tool")
    for _, tool in ipairs(tables.sorted_keys(section)) do
      local entries = section[tool]
      if type(entries) ~= "table" then
        refuse("%s: timeseries_by_tool[%s] must be an array", item.label, tool)
      end
      local by_second = tools[tool] or {}
      tools[tool] = by_second
      for i, e in ipairs(entries) do
        add_entry(by_second, e, ("%s: timeseries_by_tool[%s][%d]"):format(item.label, tool, i),
          { "p50", "p95" })
      end
    end
  end
  local out = {}
  for tool, by_second in pairs(tools) do
    local seconds = {}
    for s in pairs(by_second) do seconds[#seconds + 1] = s end
    table.sort(seconds)
    local a = json.array()
    for i, s in ipairs(seconds) do a[i] = build.tool_timeseries_entry(s, merged_second(by_second[s])) end
    out[tool] = a
  end
  return out
end

-- The counts of a workloads entry (docs/report.md "workloads") that add up.
local WORKLOAD_SUMS = { "iterations", "dropped_iterations", "request_count", "error_count", "expected_count" }

-- Adds workloads entry w (found at `where`) into acc[name]: counts and
-- personas_max add (shards ran side by side, as result's), the iterations'
-- AGGs merge, the earliest start and the longest duration are kept (null in
-- a run where the workload never started). One name's workload kind must
-- be the same in every report.
local function add_workload(acc, name, w, where)
  if type(w) ~= "table" then refuse("%s must be an object", where) end
  if type(w.workload) ~= "string" then
    refuse("%s.workload must be a string, got %s", where, type(w.workload))
  end
  local a = acc[name]
  if not a then
    a = { workload = w.workload, sums = {} }
    for _, k in ipairs(WORKLOAD_SUMS) do a.sums[k] = 0 end
    acc[name] = a
  elseif a.workload ~= w.workload then
    refuse("%s.workload is %s, but %s in an earlier report (not shards of one scenario)",
      where, w.workload, a.workload)
  end
  for _, k in ipairs(WORKLOAD_SUMS) do a.sums[k] = a.sums[k] + num(w[k], where .. "." .. k) end
  if w.personas_max ~= nil and w.personas_max ~= NULL then
    a.personas_max = (a.personas_max or 0) + num(w.personas_max, where .. ".personas_max")
  end
  if w.started_seconds ~= NULL then
    a.started = math.min(a.started or math.huge, num(w.started_seconds, where .. ".started_seconds"))
  end
  if w.duration_seconds ~= NULL then
    a.duration = max(a.duration or 0, num(w.duration_seconds, where .. ".duration_seconds"))
  end
  for _, k in ipairs { "iteration", "iteration_service" } do
    if w[k] ~= nil and w[k] ~= NULL then
      a[k] = a[k] or aggregate.new()
      merge_agg(a[k], w[k], where .. "." .. k)
    end
  end
end

-- The report form of add_workload's sums: the throughput is the requests
-- over the longest duration (as result's); a value no report had is null.
local function workload_entry(a)
  local secs = a.duration
  local out = {
    workload = a.workload,
    personas_max = a.personas_max or NULL,
    started_seconds = a.started or NULL,
    duration_seconds = secs or NULL,
    throughput_rps = (secs and secs > 0) and aggregate.round(a.sums.request_count / secs, 3) or 0,
    iteration = a.iteration and aggregate.report(a.iteration) or NULL,
    iteration_service = a.iteration_service and aggregate.report(a.iteration_service) or NULL,
  }
  for k, v in pairs(a.sums) do out[k] = v end
  return out
end

-- The top-level workloads section of runs of named workloads, by name; nil
-- when no input has one (a run without named workloads).
local function merge_workloads(list)
  local acc, given = {}, false
  for _, item in ipairs(list) do
    local section = item.report.workloads
    if section ~= nil and section ~= NULL then
      if type(section) ~= "table" then refuse("%s: workloads must be an object", item.label) end
      given = true
      for _, name in ipairs(tables.sorted_keys(section)) do
        add_workload(acc, name, section[name], ("%s: workloads[%s]"):format(item.label, name))
      end
    end
  end
  if not given then return nil end
  local out = {}
  for name, a in pairs(acc) do out[name] = workload_entry(a) end
  return out
end

-- The shard of an input's config (config.shard, runner/scenario.lua
-- M.shard_of: {index=, count=}; a merged report's {count=, indexes=,
-- merged=true}) as {count=, indexes={...}}, or nil when it is not a shard.
local function shard_of(item)
  local config = item.report.config
  local s = type(config) == "table" and config.shard
  if s == nil or s == NULL or s == false then return nil end
  local where = item.label .. ": config.shard"
  if type(s) ~= "table" then refuse("%s must be an object", where) end
  local count = num(s.count, where .. ".count")
  if count < 1 or count % 1 ~= 0 then
    refuse("%s.count must be a whole number from 1, got %s", where, tostring(count))
  end
  local indexes = {}
  if s.indexes ~= nil and s.indexes ~= NULL then
    if type(s.indexes) ~= "table" then refuse("%s.indexes must be an array", where) end
    for i, k in ipairs(s.indexes) do indexes[i] = num(k, ("%s.indexes[%d]"):format(where, i)) end
  else
    indexes[1] = num(s.index, where .. ".index")
  end
  for _, k in ipairs(indexes) do
    if k < 1 or k > count or k % 1 ~= 0 then
      refuse("%s: shard %s is not one of 1 to %d", where, tostring(k), count)
    end
  end
  return { count = count, indexes = indexes }
end

-- "shard 2/3", "shards 1,3/3".
local function shard_text(s)
  local parts = {}
  for i, k in ipairs(s.indexes) do parts[i] = tostring(k) end
  return ("shard%s %s/%d"):format(#parts > 1 and "s" or "", table.concat(parts, ","), s.count)
end

-- The merged shard of the inputs, {count=, indexes= (sorted), merged=true},
-- or nil when none is a shard. Refused: shards mixed with runs that are
-- not, shards of different counts, one shard twice.
local function merge_shards(list)
  local first, plain, owner, indexes = nil, nil, {}, json.array()
  for _, item in ipairs(list) do
    local s = shard_of(item)
    if not s then
      plain = plain or item
    else
      if first and s.count ~= first.shard.count then
        refuse("%s is %s but %s is %s: shards of different counts are not one run", item.label,
          shard_text(s), first.label, shard_text(first.shard))
      end
      first = first or { label = item.label, shard = s }
      for _, k in ipairs(s.indexes) do
        if owner[k] then
          refuse("%s and %s both hold shard %d/%d: a shard is merged once", owner[k], item.label, k,
            s.count)
        end
        owner[k] = item.label
        indexes[#indexes + 1] = k
      end
    end
    if first and plain then
      refuse("%s is %s but %s is not a shard: merge the shards of one run", first.label,
        shard_text(first.shard), plain.label)
    end
  end
  if not first then return nil end
  table.sort(indexes)
  return { count = first.shard.count, indexes = indexes, merged = true }
end

-- The shares of a load each shard ran (runner/workload.lua part_options),
-- which add up to the whole run's when every input is a shard; consumers
-- add up in any merge (shards or runs side by side).
local SHARD_SHARES = { "total_requests", "arrival_rate_per_sec", "max_personas" }

-- The sum of config[key] (or config.workloads[name][key] when name is
-- given) over the inputs that have it, or nil when none has; a fraction
-- rounded to 9 decimals (a rate of 10/s in 3 shards is 3.333... each).
local function config_sum(list, key, name)
  local sum
  for _, item in ipairs(list) do
    local c = type(item.report.config) == "table" and item.report.config or {}
    local where = item.label .. ": config."
    if name then
      c = type(c.workloads) == "table" and c.workloads[name]
      where = ("%s: config.workloads[%s]."):format(item.label, name)
    end
    local v = type(c) == "table" and c[key]
    if v ~= nil and v ~= NULL and v ~= false then sum = (sum or 0) + num(v, where .. key) end
  end
  if sum and sum % 1 ~= 0 then sum = aggregate.round(sum, 9) end
  return sum
end

-- The first input's config (a copy), with consumers replaced by the sum
-- over all inputs, and so each named workload's (config.workloads[name].
-- consumers, from the inputs that have that workload). A config without
-- named workloads keeps consumers as a key (null when no input gave one).
-- When every input is a shard (config.shard), their other shares add up
-- too (SHARD_SHARES), and config.shard becomes {count=, indexes=,
-- merged=true}.
local function merge_config(list)
  local first = list[1].report.config
  local config = tables.copy(type(first) == "table" and first or {})
  local shard = merge_shards(list)
  local keys = { "consumers" }
  if shard then
    config.shard = shard
    for _, k in ipairs(SHARD_SHARES) do keys[#keys + 1] = k end
  end
  for _, k in ipairs(keys) do
    local sum = config_sum(list, k)
    if sum ~= nil then
      config[k] = sum
    elseif k == "consumers" and (config.workloads == nil or config.workloads == NULL) then
      config[k] = NULL
    end
  end
  if config.workloads == nil or config.workloads == NULL then return config end
  local where = list[1].label .. ": config.workloads"
  if type(config.workloads) ~= "table" then refuse("%s must be an object", where) end
  local workloads = {}
  for _, name in ipairs(tables.sorted_keys(config.workloads)) do
    local w = config.workloads[name]
    if type(w) ~= "table" then refuse("%s[%s] must be an object", where, name) end
    workloads[name] = tables.copy(w)
  end
  config.workloads = workloads
  for name, w in pairs(workloads) do
    for _, k in ipairs(keys) do
      if w[k] ~= nil and w[k] ~= NULL then w[k] = config_sum(list, k, name) end
    end
  end
  return config
end

local function merge_checks(list)
  local sums = {}
  for _, item in ipairs(list) do
    for name, c in pairs(part(item, "checks")) do
      local where = ("%s: checks[%s]"):format(item.label, name)
      if type(c) ~= "table" then refuse("%s must be an object", where) end
      local s = sums[name] or { passes = 0, fails = 0 }
      s.passes = s.passes + num(c.passes, where .. ".passes")
      s.fails = s.fails + num(c.fails, where .. ".fails")
      -- a failing run's observation wins over a passing one's
      if type(c.observed) == "string" and (s.observed == nil or ((c.fails or 0) > 0 and not s.failed)) then
        s.observed, s.failed = c.observed, (c.fails or 0) > 0
      end
      sums[name] = s
    end
  end
  return build.checks_section(sums)
end

local function merge_counters(list)
  local out = {}
  for _, item in ipairs(list) do
    for key, v in pairs(part(item, "counters")) do
      out[key] = (out[key] or 0) + num(v, ("%s: counters[%s]"):format(item.label, key))
    end
  end
  return out
end

-- The merged report judged (report/judge.lua): the thresholds every input
-- declared (each once; opts.thresholds replacing those of their keys)
-- evaluated on its merged data, the verdict judged from its numbers and
-- the inputs' facts combined, accepted rules those of every input that
-- says plus opts.accept. -> the report, its exit status.
local function judge_merged(merged, list, opts)
  local reports, labels = {}, {}
  for i, item in ipairs(list) do reports[i], labels[i] = item.report, item.label end
  local specs, why = judge.specs_of(reports, labels)
  if not specs then refuse("%s", why) end
  specs = judge.override(specs, opts.thresholds)
  local facts = {}
  for i, item in ipairs(list) do
    local f, fwhy = judge.facts_of(item.report, item.label)
    if not f then refuse("%s", fwhy) end
    facts[i] = f
  end
  local combined = judge.combine(facts, labels)
  local accept = {}
  for rule in pairs(combined.accept or {}) do accept[rule] = true end
  for rule in pairs(opts.accept or {}) do accept[rule] = true end
  local rep, status = judge.report(merged, { specs = specs, facts = combined, accept = accept })
  if not rep then refuse("the merged report cannot be judged: %s", status) end
  return rep, status
end

-- Refuses an input that is not a report of this schema version.
local function check_input(item)
  local r = item.report
  if type(r) ~= "table" then refuse("%s: not a report (expected an object)", item.label) end
  if r.schema_version == nil then
    refuse("%s: not a gofr-sim report (no schema_version)", item.label)
  end
  if r.schema_version ~= build.SCHEMA_VERSION then
    refuse("%s: schema_version %s is not supported (this gofr-sim reads %d)",
      item.label, tostring(r.schema_version == NULL and "null" or r.schema_version), build.SCHEMA_VERSION)
  end
  if type(r.result) ~= "table" then refuse("%s: result is missing", item.label) end
end

local function merge_all(list, opts)
  for _, item in ipairs(list) do check_input(item) end
  local started_at, interrupted, signal, merged_from = nil, false, NULL, 0
  local duration = 0
  local sums = { request_count = 0, error_count = 0, expected_count = 0, iterations = 0,
                 dropped_iterations = 0, script_errors = 0, personas_max = 0,
                 data_sent_bytes = 0, data_received_bytes = 0 }
  for _, item in ipairs(list) do
    local r, res = item.report, item.report.result
    if type(r.started_at) == "string" and (not started_at or r.started_at < started_at) then
      started_at = r.started_at
    end
    interrupted = interrupted or r.interrupted == true or res.interrupted == true
    if signal == NULL and res.signal ~= nil and res.signal ~= NULL then signal = res.signal end
    duration = max(duration, num(res.duration_seconds, item.label .. ": result.duration_seconds"))
    for k in pairs(sums) do
      local v = res[k]
      if v ~= nil and v ~= NULL then sums[k] = sums[k] + num(v, item.label .. ": result." .. k) end
    end
    merged_from = merged_from + (type(r.merged_from) == "number" and r.merged_from or 1)
  end
  -- shards ran side by side: their peaks add up (at most), as their bytes;
  -- a sum none of the inputs gave stays null
  for _, k in ipairs({ "personas_max", "data_sent_bytes", "data_received_bytes" }) do
    local given = false
    for _, item in ipairs(list) do
      local v = item.report.result[k]
      given = given or (v ~= nil and v ~= NULL)
    end
    if not given then sums[k] = nil end
  end
  local metrics = merge_metrics(list)
  local merged = {
    schema_version = build.SCHEMA_VERSION,
    merged_from = merged_from,
    started_at = started_at or NULL,
    interrupted = interrupted,
    config = merge_config(list),
    -- Shards run side by side, so the merged run lasted as long as the
    -- longest: the throughput is over that duration.
    result = build.result_section(duration, sums, interrupted, signal),
    metrics = metrics,
    counters = merge_counters(list),
    checks = merge_checks(list),
    error_samples = merge_error_samples(list),
    notes = merge_notes(list),
    thresholds = json.array(), -- judge_merged fills them in, and the verdict
    verdict = NULL,
    timeseries = merge_timeseries(list),
    timeseries_by_tool = merge_timeseries_by_tool(list),
    workloads = merge_workloads(list), -- nil (absent) without named workloads
  }
  return judge_merged(merged, list, opts)
end

--- Merges reports (tables, e.g. from report/write.lua's decode) of runs
-- that ran side by side into one, and judges it (its thresholds evaluated
-- on the merged data, its verdict); names[i] (optional) labels report i in
-- messages; opts (optional): thresholds = parsed thresholds replacing the
-- inputs' of their keys (as --threshold on a run), accept = a set of
-- verdict rules to waive besides the inputs'. -> report, exit status (as a
-- run's: 0, 99 or 1; report/judge.lua) | nil, message.
function M.reports(reports, names, opts)
  if type(reports) ~= "table" then
    error("report.merge: expected an array of reports, got " .. type(reports), 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("report.merge: opts must be a table, got " .. type(opts), 2)
  end
  if #reports == 0 then return nil, "nothing to merge (no reports given)" end
  local list = {}
  for i, r in ipairs(reports) do
    list[i] = { report = r, label = names and names[i] or ("report " .. i) }
  end
  local ok, result, status = pcall(merge_all, list, opts or {})
  if ok then return result, status end
  if getmetatable(result) == MergeError then return nil, result.message end
  error(result, 0)
end

return M
