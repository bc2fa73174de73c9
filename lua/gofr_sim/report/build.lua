--- The JSON run report: build it from a metrics registry, encode it
-- deterministically, write it atomically, merge several into one, and
-- summarise it for the terminal. The schema (a superset of the Python
-- harness's report.json) is documented key by key in docs/report.md.
--
--   local rep = report.build { registry = reg, config = cfg, started_at = t0,
--                              duration = 30.2, iterations = n, ... }
--   assert(report.write("out/report.json", rep))
--   io.write(report.summary(rep))
--   local merged = assert(report.merge { report.decode(a), report.decode(b) })
local core = require "gofr_sim.core"
local cjson = require "cjson"

local type, pairs, ipairs, tostring, tonumber, error, pcall, collectgarbage =
  type, pairs, ipairs, tostring, tonumber, error, pcall, collectgarbage
local setmetatable, getmetatable = setmetatable, getmetatable
local format, rep, concat, sort = string.format, string.rep, table.concat, table.sort
local floor, huge, max = math.floor, math.huge, math.max

local M = {}

M.SCHEMA_VERSION = 1

--- The value that encodes as JSON null (it is cjson.null, so decoded reports
-- carry it too). Absent values are written as null so every key survives.
local NULL = cjson.null
M.null = NULL

--- Tables with this metatable encode as JSON arrays even when empty.
local ARRAY = { __name = "gofr_sim.report.build.array" }
function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

-- The config keys of the Python harness: always present, null when unknown.
local HARNESS_CONFIG = {
  "consumers", "duration_seconds", "mcp_url", "mode", "rate_per_consumer_per_sec",
  "sites_file", "target_url", "timeout_seconds", "total_requests",
}

local THRESHOLD_KEYS = { "key", "condition", "value", "bound", "ok", "message" }

-- Percentiles reported per aggregate: report key -> percentile (0..100).
local PERCENTILES = {
  { "p50_ms", 50 }, { "p90_ms", 90 }, { "p95_ms", 95 }, { "p99_ms", 99 }, { "p99_9_ms", 99.9 },
}

local function round(x, decimals)
  local m = 10 ^ decimals
  return floor(x * m + 0.5) / m
end

local function ms(seconds)
  return round(seconds * 1000, 3)
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys)
  return keys
end

local function deep_copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = deep_copy(x) end
  return setmetatable(t, getmetatable(v) == ARRAY and ARRAY or nil)
end

local function or_null(v)
  if v == nil then return NULL end
  return v
end

---------------------------------------------------------------------------
-- Aggregates (AGG)
---------------------------------------------------------------------------

-- The report form of one aggregate (acc: hist, count, errors, error_types,
-- expected, expected_types): the Python harness's keys plus p90, p99.9,
-- stddev, the expected outcomes (apart from the errors: error_count and
-- error_rate_pct count unexpected errors only) and the encoded histogram
-- (which merge reads back).
local function agg_table(acc)
  local hist, count, errors = acc.hist, acc.count, acc.errors
  local a = {
    count = count,
    error_count = errors,
    error_rate_pct = count > 0 and round(errors * 100 / count, 2) or 0,
    error_types = {},
    expected_count = acc.expected,
    expected_types = {},
    sample_size = count,
    histogram = hist:encode(),
  }
  for t, n in pairs(acc.error_types) do a.error_types[t] = n end
  for t, n in pairs(acc.expected_types) do a.expected_types[t] = n end
  local empty = hist:count() == 0
  a.min_ms = empty and NULL or ms(hist:min())
  a.max_ms = empty and NULL or ms(hist:max())
  a.mean_ms = empty and NULL or ms(hist:mean())
  a.stddev_ms = empty and NULL or ms(hist:stddev())
  for _, p in ipairs(PERCENTILES) do
    a[p[1]] = empty and NULL or ms(hist:percentile(p[2]))
  end
  return a
end

-- An accumulator for one aggregate while building: hist, counts, types.
local function new_acc()
  return { hist = core.hist_new(), count = 0, errors = 0, error_types = {}, expected = 0,
           expected_types = {} }
end

local function add_types(into, from)
  for t, n in pairs(from) do into[t] = (into[t] or 0) + n end
end

-- Adds a series (or another accumulator) to acc.
local function acc_add(acc, s)
  acc.hist:merge(s.hist)
  acc.count = acc.count + s.count
  acc.errors = acc.errors + s.errors
  acc.expected = acc.expected + s.expected
  add_types(acc.error_types, s.error_types)
  add_types(acc.expected_types, s.expected_types)
end

local function acc_for(map, key)
  local acc = map[key]
  if not acc then
    acc = new_acc()
    map[key] = acc
  end
  return acc
end

local function finish(map)
  local out = {}
  for k, acc in pairs(map) do out[k] = agg_table(acc) end
  return out
end

---------------------------------------------------------------------------
-- build
---------------------------------------------------------------------------

local function check_field(run, field, want, optional)
  local v = run[field]
  if v == nil and optional then return end
  if type(v) ~= want then
    error(("report.build: run.%s must be a %s, got %s"):format(field, want, type(v)), 3)
  end
end

local function metrics_section(reg)
  local overall = new_acc()
  local by_tool, by_tool_persona, by_persona, by_series = {}, {}, {}, {}
  -- Sorted, so every merge happens in the same order on every run.
  for _, key in ipairs(sorted_keys(reg.series)) do
    local s = reg.series[key]
    by_series[key] = agg_table(s)
    local tool = s.tags.tool
    if tool then
      -- Like the Python harness, a sample without a persona is persona "default".
      local persona = s.tags.persona or "default"
      acc_add(overall, s)
      acc_add(acc_for(by_tool, tool), s)
      acc_add(acc_for(by_tool_persona, tool .. "::" .. persona), s)
      acc_add(acc_for(by_persona, persona), s)
    end
  end
  return {
    overall = agg_table(overall),
    by_tool = finish(by_tool),
    by_tool_persona = finish(by_tool_persona),
    by_persona = finish(by_persona),
    series = by_series,
  }, overall
end

-- A timeseries entry from a registry's sealed second (metrics.lua); the
-- percentiles are in seconds there, or nil for an empty second.
local function timeseries_entry(second, sec)
  return {
    second = second,
    requests = sec.requests,
    errors = sec.errors,
    expected = sec.expected or 0,
    p50_ms = sec.p50 and ms(sec.p50) or NULL,
    p95_ms = sec.p95 and ms(sec.p95) or NULL,
    p99_ms = sec.p99 and ms(sec.p99) or NULL,
  }
end

local function checks_section(checks)
  local out = {}
  for name, c in pairs(checks) do
    local total = c.passes + c.fails
    local observed = c.observed
    if observed == nil then observed = c.failed_observed or c.passed_observed end
    out[name] = { passes = c.passes, fails = c.fails,
                  rate = total > 0 and round(c.passes / total, 4) or NULL,
                  observed = observed == nil and NULL or observed }
  end
  return out
end

local function thresholds_section(list)
  local out = M.array()
  for i, t in ipairs(list or {}) do
    if type(t) ~= "table" then
      error(("report.build: run.thresholds[%d] must be a table, got %s"):format(i, type(t)), 3)
    end
    local row = deep_copy(t)
    for _, k in ipairs(THRESHOLD_KEYS) do row[k] = or_null(row[k]) end
    out[i] = row
  end
  return out
end

-- The report form of a verdict (gofr_sim.runner.verdict), or null.
local function verdict_section(v)
  if v == nil then return NULL end
  local problems = M.array()
  for i, p in ipairs(v.problems or {}) do problems[i] = { rule = p.rule, message = p.message } end
  return { ok = v.ok, healthy = v.healthy, line = v.line, problems = problems }
end

--- Builds the report table of one run. run = {registry=, config=,
-- started_at=, duration=, interrupted=, signal=, iterations=,
-- dropped_iterations=, script_errors=, thresholds=, verdict=}; only
-- registry is required. Raises on a malformed run (the error names the field).
function M.build(run)
  if type(run) ~= "table" then
    error("report.build: expected a run table, got " .. type(run), 2)
  end
  local reg = run.registry
  if type(reg) ~= "table" or type(reg.series) ~= "table" then
    error("report.build: run.registry must be a metrics registry, got " .. type(reg), 2)
  end
  check_field(run, "config", "table", true)
  check_field(run, "started_at", "string", true)
  check_field(run, "duration", "number", true)
  check_field(run, "interrupted", "boolean", true)
  check_field(run, "iterations", "number", true)
  check_field(run, "dropped_iterations", "number", true)
  check_field(run, "script_errors", "number", true)
  check_field(run, "thresholds", "table", true)
  check_field(run, "verdict", "table", true)
  local duration = run.duration or 0
  if duration < 0 or duration ~= duration then
    error("report.build: run.duration must be >= 0 seconds, got " .. tostring(duration), 2)
  end

  local config = deep_copy(run.config or {})
  for _, k in ipairs(HARNESS_CONFIG) do config[k] = or_null(config[k]) end

  local metrics, overall = metrics_section(reg)

  local timeseries = M.array()
  reg:seal()
  for i, sec in ipairs(reg.seconds or {}) do
    timeseries[i] = timeseries_entry(i - 1, sec)
  end

  local counters = {}
  for key, c in pairs(reg.counters or {}) do counters[key] = c.value end

  local interrupted = run.interrupted or false
  return {
    schema_version = M.SCHEMA_VERSION,
    started_at = or_null(run.started_at),
    interrupted = interrupted,
    config = config,
    result = {
      duration_seconds = duration,
      request_count = overall.count,
      error_count = overall.errors,
      expected_count = overall.expected,
      throughput_rps = duration > 0 and round(overall.count / duration, 3) or 0,
      iterations = run.iterations or 0,
      dropped_iterations = run.dropped_iterations or 0,
      script_errors = run.script_errors or 0,
      interrupted = interrupted,
      signal = (run.signal ~= nil and run.signal ~= "") and run.signal or NULL,
    },
    metrics = metrics,
    counters = counters,
    checks = checks_section(reg.checks or {}),
    thresholds = thresholds_section(run.thresholds),
    verdict = verdict_section(run.verdict),
    timeseries = timeseries,
  }
end

---------------------------------------------------------------------------
-- encode / decode
---------------------------------------------------------------------------

local ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function escape_char(c)
  return ESCAPES[c] or format("\\u%04x", c:byte())
end

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', escape_char) .. '"'
end

local function number(x)
  if x ~= x or x == huge or x == -huge then return "null" end
  if x == floor(x) and x > -1e15 and x < 1e15 then return format("%.0f", x) end
  -- The shortest of 15, 16 or 17 significant digits that reads back exactly.
  local s = format("%.15g", x)
  if tonumber(s) ~= x then s = format("%.16g", x) end
  if tonumber(s) ~= x then s = format("%.17g", x) end
  return s
end

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  if t[1] == nil then return false end
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

local encode_value

local function encode_table(t, buf, depth, path)
  if depth > 64 then
    error(("report.encode: %s: nested too deeply (a cycle?)"):format(path), 0)
  end
  local pad, inner = rep("  ", depth), rep("  ", depth + 1)
  if is_array(t) then
    local n = #t
    if n == 0 then buf[#buf + 1] = "[]" return end
    buf[#buf + 1] = "[\n"
    for i = 1, n do
      buf[#buf + 1] = inner
      encode_value(t[i], buf, depth + 1, path .. "[" .. i .. "]")
      buf[#buf + 1] = i < n and ",\n" or "\n"
    end
    buf[#buf + 1] = pad .. "]"
    return
  end
  local keys, names = {}, {}
  for k in pairs(t) do
    local kt = type(k)
    if kt ~= "string" and kt ~= "number" then
      error(("report.encode: %s: a key must be a string, got %s"):format(path, kt), 0)
    end
    local name = tostring(k)
    keys[#keys + 1] = name
    names[name] = k
  end
  if #keys == 0 then buf[#buf + 1] = "{}" return end
  sort(keys)
  buf[#buf + 1] = "{\n"
  for i, name in ipairs(keys) do
    buf[#buf + 1] = inner .. quote(name) .. ": "
    encode_value(t[names[name]], buf, depth + 1, path .. "." .. name)
    buf[#buf + 1] = i < #keys and ",\n" or "\n"
  end
  buf[#buf + 1] = pad .. "}"
end

function encode_value(v, buf, depth, path)
  if v == NULL then buf[#buf + 1] = "null" return end
  local t = type(v)
  if t == "string" then
    buf[#buf + 1] = quote(v)
  elseif t == "number" then
    buf[#buf + 1] = number(v)
  elseif t == "boolean" then
    buf[#buf + 1] = v and "true" or "false"
  elseif t == "table" then
    encode_table(v, buf, depth, path)
  else
    error(("report.encode: %s: cannot encode a %s"):format(path, t), 0)
  end
end

--- JSON text of tbl: keys sorted, 2-space indent, no trailing newline; the
-- same table always gives the same text. report.null -> null; NaN and
-- infinities -> null. Empty tables are {} unless made with report.array().
-- Raises on values JSON cannot hold (functions, non-string keys, cycles).
function M.encode(tbl)
  local buf = {}
  encode_value(tbl, buf, 0, "$")
  return concat(buf)
end

local json = cjson.new()
json.decode_invalid_numbers(false)

-- Top-level keys whose values are arrays (an empty JSON array decodes to {}).
local ARRAY_KEYS = { "thresholds", "timeseries" }

--- The table of a report's JSON text (null -> report.null), or nil, message.
function M.decode(text)
  if type(text) ~= "string" then
    error("report.decode: expected a string, got " .. type(text), 2)
  end
  local ok, t = pcall(json.decode, text)
  if not ok then return nil, "not valid JSON: " .. tostring(t) end
  if type(t) ~= "table" or t[1] ~= nil then return nil, "not a JSON object" end
  for _, k in ipairs(ARRAY_KEYS) do
    if type(t[k]) == "table" then setmetatable(t[k], ARRAY) end
  end
  return t
end

---------------------------------------------------------------------------
-- write
---------------------------------------------------------------------------

-- The system's reason from a core.fs_* message "<path>: <reason>".
local function reason(msg)
  return (tostring(msg):gsub("^.*: ", ""))
end

local function parent_dir(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == "" then return "/" end
  return dir
end

--- Whether a report can be written at `path` (checked before a run, so an
-- unwritable --output/--html/--junit is a usage error up front, not a lost
-- report): its directory exists or can be made and takes a new file, and
-- path is not a directory. -> true | nil, message naming the path.
function M.check_writable(path)
  if type(path) ~= "string" or path == "" then return nil, "needs a file path" end
  local st = core.fs_stat(path)
  local dir = parent_dir(path)
  if st and core.fs_list(path) then return nil, ("'%s' is a directory"):format(path) end
  if dir then
    local ok, _, msg = core.fs_mkdirs(dir)
    if not ok then return nil, ("cannot create directory '%s': %s"):format(dir, reason(msg)) end
  end
  local probe = (dir and dir .. "/" or "") .. ".gofr-sim-probe." .. tostring({}):match("0x(%x+)")
  local ok, _, msg = core.fs_create_excl(probe, "")
  if not ok then return nil, ("cannot write in '%s': %s"):format(dir or ".", reason(msg)) end
  core.fs_remove(probe)
  return true
end

--- Writes tbl as JSON (plus a newline) to path, atomically and durably
-- (report.write_text). -> true | nil, message (the message names the path).
function M.write(path, tbl)
  if type(path) ~= "string" or path == "" then
    error("report.write: path must be a non-empty string, got " .. tostring(path), 2)
  end
  return M.write_text(path, M.encode(tbl) .. "\n")
end

--- Writes `text` to `path`: missing parent directories are made; the bytes
-- go to a temporary file next to it, fsync'ed, renamed over path, and the
-- directory fsync'ed, so a crash or SIGKILL leaves the old file or the new
-- one; temporary files that killed writers left there are removed first.
-- true, or nil and a message. Used for every report (JSON, HTML, JUnit).
function M.write_text(path, text)
  local dir = parent_dir(path)
  if dir then
    local ok, _, msg = core.fs_mkdirs(dir)
    if not ok then return nil, ("cannot write report '%s': %s"):format(path, reason(msg)) end
  end
  core.fs_sweep_temps(path)
  local ok, _, msg = core.fs_write_atomic(path, text, true)
  if not ok then return nil, ("cannot write report '%s': %s"):format(path, reason(msg)) end
  return true
end

---------------------------------------------------------------------------
-- merge
---------------------------------------------------------------------------

-- Merge failures carry their message up to M.merge through error(..., 0).
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

-- Merges one AGG (from report `label`) into acc. Reports from before
-- expected outcomes existed have no expected_count: none.
local function merge_agg(acc, a, where)
  if type(a) ~= "table" then refuse("%s must be an object", where) end
  acc.hist:merge(decode_hist(a.histogram, where))
  acc.count = acc.count + num(a.count, where .. ".count")
  acc.errors = acc.errors + num(a.error_count, where .. ".error_count")
  acc.expected = acc.expected + num(a.expected_count or 0, where .. ".expected_count")
  merge_types(acc.error_types, a, "error_types", where)
  merge_types(acc.expected_types, a, "expected_types", where)
end

local AGG_MAPS = { "by_tool", "by_tool_persona", "by_persona", "series" }

local function merge_metrics(list)
  local overall, maps = new_acc(), {}
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
      for _, key in ipairs(sorted_keys(section or {})) do
        merge_agg(acc_for(maps[name], key), section[key],
          ("%s: metrics.%s[%s]"):format(item.label, name, key))
      end
    end
  end
  local out = { overall = agg_table(overall) }
  for _, name in ipairs(AGG_MAPS) do out[name] = finish(maps[name]) end
  return out
end

-- Seconds of several runs combined: counts add; each percentile is the
-- request-weighted mean of the runs' (per-second histograms are not kept, so
-- that a run's memory stays flat: an approximation, documented).
local function merge_timeseries(list)
  local by_second, last = {}, -1
  for _, item in ipairs(list) do
    local ts = part(item, "timeseries")
    for i, e in ipairs(ts) do
      local where = ("%s: timeseries[%d]"):format(item.label, i)
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
      if n > 0 and e.p50_ms ~= NULL then
        acc.weight = acc.weight + n
        for _, p in ipairs({ "p50", "p95", "p99" }) do
          acc[p] = acc[p] + n * num(e[p .. "_ms"], where .. "." .. p .. "_ms") / 1000
        end
      end
      last = max(last, s)
    end
  end
  local out = M.array()
  for s = 0, last do
    local acc = by_second[s] or { requests = 0, errors = 0, expected = 0, weight = 0 }
    local w = acc.weight
    out[#out + 1] = timeseries_entry(s, {
      requests = acc.requests, errors = acc.errors, expected = acc.expected,
      p50 = w > 0 and acc.p50 / w or nil, p95 = w > 0 and acc.p95 / w or nil,
      p99 = w > 0 and acc.p99 / w or nil,
    })
  end
  return out
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
  return checks_section(sums)
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

-- Thresholds are judged on one run's numbers; after a merge they are kept
-- (from the first report) but marked as not re-evaluated: ok becomes null.
local function merge_thresholds(first)
  local out = M.array()
  for i, t in ipairs(part(first, "thresholds")) do
    if type(t) ~= "table" then refuse("%s: thresholds[%d] must be an object", first.label, i) end
    local row = deep_copy(t)
    local was = row.ok == true and "passed" or row.ok == false and "failed" or "not evaluated"
    row.ok = NULL
    row.evaluated = false
    row.message = ("not re-evaluated after merge (%s in %s%s)"):format(was, first.label,
      type(t.message) == "string" and (": " .. t.message) or "")
    out[i] = row
  end
  return out
end

local function merge_all(list)
  for _, item in ipairs(list) do
    local r = item.report
    if type(r) ~= "table" then refuse("%s: not a report (expected an object)", item.label) end
    if r.schema_version == nil then
      refuse("%s: not a gofr-sim report (no schema_version)", item.label)
    end
    if r.schema_version ~= M.SCHEMA_VERSION then
      refuse("%s: schema_version %s is not supported (this gofr-sim reads %d)",
        item.label, tostring(r.schema_version == NULL and "null" or r.schema_version), M.SCHEMA_VERSION)
    end
    if type(r.result) ~= "table" then refuse("%s: result is missing", item.label) end
  end
  local first = list[1]
  local config = deep_copy(type(first.report.config) == "table" and first.report.config or {})
  local consumers, started_at, interrupted, signal, merged_from = nil, nil, false, NULL, 0
  local duration = 0
  local sums = { request_count = 0, error_count = 0, expected_count = 0, iterations = 0,
                 dropped_iterations = 0, script_errors = 0 }
  for _, item in ipairs(list) do
    local r, res = item.report, item.report.result
    local c = type(r.config) == "table" and r.config.consumers
    if type(c) == "number" then consumers = (consumers or 0) + c end
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
  config.consumers = or_null(consumers)
  local metrics = merge_metrics(list)
  return {
    schema_version = M.SCHEMA_VERSION,
    merged_from = merged_from,
    started_at = or_null(started_at),
    interrupted = interrupted,
    config = config,
    result = {
      duration_seconds = duration,
      request_count = sums.request_count,
      error_count = sums.error_count,
      expected_count = sums.expected_count,
      -- Shards run side by side, so the merged run lasted as long as the longest.
      throughput_rps = duration > 0 and round(sums.request_count / duration, 3) or 0,
      iterations = sums.iterations,
      dropped_iterations = sums.dropped_iterations,
      script_errors = sums.script_errors,
      interrupted = interrupted,
      signal = signal,
    },
    metrics = metrics,
    counters = merge_counters(list),
    checks = merge_checks(list),
    thresholds = merge_thresholds(first),
    verdict = NULL, -- judged on one run's numbers, like the thresholds
    timeseries = merge_timeseries(list),
  }
end

--- Merges reports (tables, e.g. from report.decode) of runs that ran side by
-- side into one; names[i] (optional) labels report i in messages.
-- -> report | nil, message. See docs/report.md for how each key combines.
function M.merge(reports, names)
  if type(reports) ~= "table" then
    error("report.merge: expected an array of reports, got " .. type(reports), 2)
  end
  if #reports == 0 then return nil, "nothing to merge (no reports given)" end
  local list = {}
  for i, r in ipairs(reports) do
    list[i] = { report = r, label = names and names[i] or ("report " .. i) }
  end
  local ok, result = pcall(merge_all, list)
  if ok then return result end
  if getmetatable(result) == MergeError then return nil, result.message end
  error(result, 0)
end

---------------------------------------------------------------------------
-- summary
---------------------------------------------------------------------------

local function cell(v)
  if v == nil or v == NULL then return "-" end
  if type(v) == "number" then
    if v == floor(v) and v < 1e15 then return format("%d", v) end
    return format("%.2f", v)
  end
  return tostring(v)
end

-- Aligned columns: the first `left` columns left-aligned, the rest right.
-- Columns 1..left are left-aligned, the others right-aligned, except the
-- last one when last_left is set (free text such as a check's observation).
local function table_text(rows, left, last_left)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, c in ipairs(row) do widths[i] = max(widths[i] or 0, #c) end
  end
  local lines = {}
  for _, row in ipairs(rows) do
    local parts = {}
    for i, c in ipairs(row) do
      local to_left = i <= left or (last_left and i == #row)
      parts[i] = to_left and (c .. rep(" ", widths[i] - #c)) or (rep(" ", widths[i] - #c) .. c)
    end
    lines[#lines + 1] = ("  " .. concat(parts, "  ")):gsub(" +$", "")
  end
  return concat(lines, "\n")
end

local function number_text(v)
  if type(v) ~= "number" then return cell(v) end
  return format("%.6g", v)
end

local function cell_ms(v)
  if type(v) ~= "number" then return "-" end
  return format("%.2f", v)
end

-- One row; the "expected" column only when the run had expected outcomes.
local function agg_row(name, a, with_expected)
  local row = { name, cell(a.count), cell(a.error_count) }
  if with_expected then row[#row + 1] = cell(a.expected_count or 0) end
  for _, k in ipairs({ "p50_ms", "p95_ms", "p99_ms", "max_ms" }) do row[#row + 1] = cell_ms(a[k]) end
  return row
end

local function agg_table_text(title, map, overall, with_expected)
  local rows = { { title, "count", "errors" } }
  if with_expected then rows[1][#rows[1] + 1] = "expected" end
  for _, h in ipairs({ "p50 ms", "p95 ms", "p99 ms", "max ms" }) do rows[1][#rows[1] + 1] = h end
  for _, k in ipairs(sorted_keys(map or {})) do rows[#rows + 1] = agg_row(k, map[k], with_expected) end
  if overall then rows[#rows + 1] = agg_row("all", overall, with_expected) end
  return table_text(rows, 1)
end

-- "auth_error 5, robots_blocked 12" of a type -> count map, or nil when empty.
local function types_line(types)
  local names = sorted_keys(types or {})
  if #names == 0 then return nil end
  for i, t in ipairs(names) do names[i] = ("%s %s"):format(t, cell(types[t])) end
  return concat(names, ", ")
end

--- A plain-text summary of a report for the terminal: latency by tool and
-- by persona, then thresholds and checks, then the verdict line. Errors are
-- the unexpected ones; expected outcomes have their own counts.
function M.summary(tbl)
  if type(tbl) ~= "table" then
    error("report.summary: expected a report table, got " .. type(tbl), 2)
  end
  local out = {}
  local res, m = tbl.result or {}, tbl.metrics or {}
  local signal = type(res.signal) == "string" and res.signal ~= "" and (" by " .. res.signal) or ""
  local expected = type(res.expected_count) == "number" and res.expected_count or 0
  out[#out + 1] = ("%s requests, %s in %ss (%s req/s)%s"):format(
    cell(res.request_count),
    expected > 0 and (cell(res.error_count) .. " unexpected errors, " .. cell(expected) .. " expected")
      or (cell(res.error_count) .. " errors"),
    cell(res.duration_seconds),
    cell(res.throughput_rps), tbl.interrupted == true and (", interrupted" .. signal) or "")
  out[#out + 1] = ("%s iterations, %s dropped, %s script errors"):format(
    cell(res.iterations), cell(res.dropped_iterations), cell(res.script_errors))
  local overall = m.overall or {}
  local errors_text, expected_text = types_line(overall.error_types), types_line(overall.expected_types)
  if errors_text then
    out[#out + 1] = (expected > 0 and "unexpected errors by type: " or "errors by type: ") .. errors_text
  end
  if expected_text then out[#out + 1] = "expected by type: " .. expected_text end
  if (overall.count or 0) > 0 then
    out[#out + 1] = ""
    out[#out + 1] = agg_table_text("tool", m.by_tool, overall, expected > 0)
    out[#out + 1] = ""
    out[#out + 1] = agg_table_text("persona", m.by_persona, nil, expected > 0)
  end
  local thresholds = tbl.thresholds or {}
  if #thresholds > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "thresholds"
    for _, t in ipairs(thresholds) do
      local mark = t.ok == true and "ok  " or t.ok == false and "FAIL" or "--  "
      -- The threshold's own message already says what was measured against
      -- which bound, in the metric's units; without one, show the numbers.
      local text = type(t.message) == "string" and t.message
        or ("%s %s: measured %s, bound %s"):format(cell(t.key), cell(t.condition),
             number_text(t.value), number_text(t.bound))
      out[#out + 1] = "  " .. mark .. "  " .. text
    end
  end
  local names = sorted_keys(tbl.checks or {})
  if #names > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "checks"
    local rows = {}
    for _, name in ipairs(names) do
      local c = tbl.checks[name]
      rows[#rows + 1] = { (c.fails or 0) > 0 and "FAIL" or "ok", name,
                          cell(c.passes) .. " passed", cell(c.fails) .. " failed",
                          type(c.observed) == "string" and "observed: " .. c.observed or "" }
    end
    out[#out + 1] = table_text(rows, 2, true)
  end
  local v = tbl.verdict
  if type(v) == "table" and type(v.line) == "string" then
    out[#out + 1] = ""
    out[#out + 1] = v.line
  end
  return concat(out, "\n") .. "\n"
end

return M
