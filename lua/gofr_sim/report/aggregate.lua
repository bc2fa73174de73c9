--- gofr_sim.report.aggregate: the AGG of the JSON report (docs/report.md,
-- "AGG"): an accumulator of latency samples and error counts (a C
-- histogram and tallies), and its report form. report.build fills them
-- from a registry's series, report.merge from the AGGs of decoded reports.
--
--   local acc = aggregate.new()
--   aggregate.add(acc, series)          -- a registry series, or another acc
--   aggregate.add(aggregate.of(by_tool, tool), series)
--   local agg = aggregate.report(acc)   -- {count=, error_count=, p50_ms=, ...}
--   local map = aggregate.reports(by_tool)
--
-- An accumulator is {hist=, count=, errors=, error_types=, expected=,
-- expected_types=}: the fields of a metrics registry's series (engine/metrics).
local core = require "gofr_sim.core"
local cjson = require "cjson"

local pairs, ipairs = pairs, ipairs
local floor = math.floor

local M = {}

local NULL = cjson.null

-- Percentiles reported per aggregate: report key -> percentile (0..100).
local PERCENTILES = {
  { "p50_ms", 50 }, { "p90_ms", 90 }, { "p95_ms", 95 }, { "p99_ms", 99 }, { "p99_9_ms", 99.9 },
}

--- x rounded half up to `decimals` decimals (the report's rounding).
function M.round(x, decimals)
  local m = 10 ^ decimals
  return floor(x * m + 0.5) / m
end

--- Seconds as the report's milliseconds: 3 decimals (microseconds).
function M.ms(seconds)
  return M.round(seconds * 1000, 3)
end

--- A byte count for people, in binary units as the HTML report and the
-- summary both show them: "900 B", "1.21 KiB", "34.5 MiB"; nil for anything
-- but a finite number.
function M.bytes_text(n)
  if type(n) ~= "number" or n ~= n or n == math.huge or n == -math.huge then return nil end
  if math.abs(n) < 1024 then return ("%d B"):format(floor(n + 0.5)) end
  for _, u in ipairs { "KiB", "MiB", "GiB", "TiB" } do
    n = n / 1024
    if math.abs(n) < 1024 or u == "TiB" then return ((n < 10 and "%.2f %s" or "%.1f %s")):format(n, u) end
  end
end

--- A new, empty accumulator.
function M.new()
  return { hist = core.hist_new(), count = 0, errors = 0, error_types = {}, expected = 0,
           expected_types = {} }
end

local function add_types(into, from)
  for t, n in pairs(from) do into[t] = (into[t] or 0) + n end
end

--- Adds series `s` (or another accumulator) to acc: histograms merge,
-- counts and per-type counts add.
function M.add(acc, s)
  acc.hist:merge(s.hist)
  acc.count = acc.count + s.count
  acc.errors = acc.errors + s.errors
  acc.expected = acc.expected + s.expected
  add_types(acc.error_types, s.error_types)
  add_types(acc.expected_types, s.expected_types)
end

--- map[key], an accumulator, made empty the first time.
function M.of(map, key)
  local acc = map[key]
  if not acc then
    acc = M.new()
    map[key] = acc
  end
  return acc
end

--- The report form of accumulator acc: the Python harness's keys plus p90,
-- p99.9, stddev, the expected outcomes (apart from the errors: error_count
-- and error_rate_pct count unexpected errors only) and the encoded
-- histogram (which merge reads back). Times are null without samples.
function M.report(acc)
  local hist, count, errors = acc.hist, acc.count, acc.errors
  local a = {
    count = count,
    error_count = errors,
    error_rate_pct = count > 0 and M.round(errors * 100 / count, 2) or 0,
    error_types = {},
    expected_count = acc.expected,
    expected_types = {},
    sample_size = count,
    histogram = hist:encode(),
  }
  add_types(a.error_types, acc.error_types)
  add_types(a.expected_types, acc.expected_types)
  local empty = hist:count() == 0
  a.min_ms = empty and NULL or M.ms(hist:min())
  a.max_ms = empty and NULL or M.ms(hist:max())
  a.mean_ms = empty and NULL or M.ms(hist:mean())
  a.stddev_ms = empty and NULL or M.ms(hist:stddev())
  for _, p in ipairs(PERCENTILES) do
    a[p[1]] = empty and NULL or M.ms(hist:percentile(p[2]))
  end
  return a
end

--- {key: report form} of a map of accumulators.
function M.reports(map)
  local out = {}
  for k, acc in pairs(map) do out[k] = M.report(acc) end
  return out
end

return M
