--- sim.thresholds: pass/fail bounds on a run's metrics, k6 style.
--
-- A threshold is a key (a metric and an optional tag selector) and a
-- condition (an operator and a bound with an optional unit):
--
--   thresholds = {
--     ["p95{tool=http.get}"] = "< 200ms",
--     ["error_rate"] = "< 1%",
--     ["checks"] = "rate > 99%",
--     ["p99{name=iteration}"] = { "< 1s", "< 800ms" },
--   }
--   gofr-sim scenario.lua --threshold 'p95{tool=http.get} < 200ms'
--
--   local specs = assert(thresholds.from_table(scenario.thresholds))
--   local results, all_ok = thresholds.evaluate(specs, registry, { iterations = 120 })
--   for _, r in ipairs(results) do print(r.message) end
--   os.exit(thresholds.exit_code(all_ok, thresholds.checks_ok(registry), true))
--
-- Metrics come from a gofr_sim.engine.metrics registry (durations from the merged
-- histogram of the selected series, in seconds; rates as fractions) and from
-- an `extra` table (iterations, dropped_iterations, script_errors; and
-- workloads = {name = {iterations=, dropped_iterations=}} for the named
-- workloads' own, selected by {workload=NAME}). A
-- threshold whose metric has no data fails with "no samples". docs/scenarios.md.
local suggest = require "gofr_sim.util.suggest"

local type, tostring, tonumber, pairs, ipairs, error = type, tostring, tonumber, pairs, ipairs, error
local concat, sort = table.concat, table.sort
local abs, huge = math.abs, math.huge
local format = string.format

local M = {}

-- Kinds of metric: what a value means, which units a bound may carry, how
-- values are shown.
local DURATION, RATE, COUNT = "duration", "rate", "count"

-- Duration units -> {mul, div}: seconds = n * mul / div (dividing keeps
-- 200ms == 0.2 and 99% == 0.99 exact, as the measured values are).
local DURATION_UNITS = {
  us = { 1, 1e6 }, ["\194\181s"] = { 1, 1e6 }, ["\206\188s"] = { 1, 1e6 }, -- µs: micro sign, Greek mu
  ms = { 1, 1e3 }, s = { 1, 1 }, m = { 60, 1 },
}
local PERCENT, PLAIN = { 1, 100 }, { 1, 1 }
local UNIT_HELP = "use us, ms, s, m, %"

-- Metric name -> kind and source: "series" (the registry's aggregate),
-- "checks", "counters" or "extra" (a table given to evaluate). pN and med
-- are parsed apart.
local METRICS = {
  avg = { kind = DURATION, where = "series" },
  min = { kind = DURATION, where = "series" },
  max = { kind = DURATION, where = "series" },
  stddev = { kind = DURATION, where = "series" },
  count = { kind = COUNT, where = "series" },
  errors = { kind = COUNT, where = "series" },
  error_rate = { kind = RATE, where = "series" },
  expected = { kind = COUNT, where = "series" },
  successes = { kind = COUNT, where = "series" },
  checks = { kind = RATE, where = "checks" },
  counter = { kind = COUNT, where = "counters" },
  iterations = { kind = COUNT, where = "extra", per_workload = true },
  dropped_iterations = { kind = COUNT, where = "extra", per_workload = true },
  script_errors = { kind = COUNT, where = "extra" },
}

local KNOWN = "p50, p95, p99.9 ..., med, avg, min, max, stddev, count, errors, error_rate, "
  .. "expected, successes, checks, counter{name=...}, iterations, dropped_iterations, script_errors"


local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- "a=b, c" -> {a="b", c=true}, or nil, reason.
local function parse_selector(body)
  local filter = {}
  if trim(body) == "" then return filter end
  for item in (body .. ","):gmatch("([^,]*),") do
    item = trim(item)
    local k, v = item:match("^([^=]*)=(.*)$")
    if k then
      k, v = trim(k), trim(v)
    else
      k, v = item, true
    end
    if not k:match("^[%a_][%w_%.]*$") then
      return nil, format("bad tag name %q in the selector (use {tag=value,...})", k)
    end
    if v == "" then
      return nil, format("tag %q has an empty value in the selector", k)
    end
    if filter[k] ~= nil then
      return nil, format("tag %q appears twice in the selector", k)
    end
    filter[k] = v
  end
  return filter
end

-- The metric part of a key -> {metric=, kind=, where=, percentile=, filter=} or nil, reason.
local function parse_key(key)
  local name, rest = key:match("^%s*([%a_][%w_%.]*)(.-)%s*$")
  local kp, krest = key:match("^%s*p%((%d+%.?%d*)%)(.-)%s*$") -- k6's p(95)
  if kp then name, rest = "p" .. kp, krest end
  if not name then
    return nil, "expected a metric name (" .. KNOWN .. ")"
  end
  local filter
  if rest ~= "" then
    local body = rest:match("^%s*{(.*)}$")
    if not body or body:find("[{}]") then
      return nil, format("expected a selector {tag=value,...} after %q, got %q", name, rest)
    end
    local why
    filter, why = parse_selector(body)
    if not filter then return nil, why end
  end

  local m = { metric = name }
  local pct = name:match("^p(%d+)$") or name:match("^p(%d+%.%d+)$")
  if pct then
    local p = tonumber(pct)
    if not (p > 0 and p <= 100) then
      return nil, format("percentile %s is out of range (0 < N <= 100)", pct)
    end
    m.kind, m.where, m.percentile = DURATION, "series", p
  elseif name == "med" then
    m.kind, m.where, m.percentile = DURATION, "series", 50
  else
    local info = METRICS[name]
    if not info then
      local hint = suggest.hint(name, METRICS, "%q")
      return nil, format("unknown metric %q (%suse %s)", name, hint and hint .. " " or "", KNOWN)
    end
    m.kind, m.where, m.per_workload = info.kind, info.where, info.per_workload
  end

  if m.where == "extra" then
    local only_workload = filter and next(filter) == "workload" and next(filter, "workload") == nil
      and filter.workload ~= true
    if filter and not (m.per_workload and only_workload) then
      return nil, format("%s takes no selector%s", name,
        m.per_workload and " but {workload=NAME} (a named workload's)" or "")
    end
  elseif m.where == "checks" then
    for k, v in pairs(filter or {}) do
      if k ~= "name" or v == true then
        return nil, "checks select by name only: checks or checks{name=...}"
      end
    end
  elseif m.where == "counters" then
    if not filter or type(filter.name) ~= "string" then
      return nil, "counter needs the counter's name: counter{name=...}"
    end
  end
  -- Request-level metrics cover the requests and tool calls unless the
  -- selector names a series (name=), a tool, or is {} (every series).
  if m.where == "series" and (not filter or (next(filter) and not filter.name and not filter.tool)) then
    filter = filter or {}
    filter.tool = true
  end
  m.filter = filter or {}
  return m
end

local OPS = {
  ["<"] = function(a, b) return a < b end,
  ["<="] = function(a, b) return a <= b end,
  [">"] = function(a, b) return a > b end,
  [">="] = function(a, b) return a >= b end,
  ["=="] = function(a, b) return a == b end,
  ["!="] = function(a, b) return a ~= b end,
}

-- Fills m.op, m.bound, m.bound_text from the condition, or returns nil, reason.
local function parse_condition(m, condition)
  local text = trim(condition)
  if text == "" then
    return nil, format("missing condition (e.g. %q)", "< 200ms")
  end
  local rest = text
  local word, after = rest:match("^(%a+)%s*(.*)$")
  if word then
    if word ~= "rate" then
      return nil, format("unexpected %q in %q (a condition is an operator and a bound, e.g. < 200ms)",
        word, text)
    end
    if m.kind ~= RATE then
      return nil, format("%q applies to rate metrics (checks, error_rate), not %s", "rate", m.metric)
    end
    rest = after
  end
  local op = rest:match("^([<>=!]=?)")
  if not op or not OPS[op] then
    return nil, format("expected an operator (<, <=, >, >=, ==, !=) in %q", text)
  end
  rest = rest:sub(#op + 1):gsub("^%s+", "")
  local num = rest:match("^%d+%.?%d*") or rest:match("^%.%d+")
  if not num then
    return nil, format("expected a number after %q in %q", op, text)
  end
  local unit = rest:sub(#num + 1):gsub("^%s+", "")
  local value = tonumber(num)
  if unit:find("%s") then
    return nil, format("unexpected text after the bound in %q", text)
  end

  local factor
  if unit == "%" then
    if m.kind ~= RATE then
      return nil, format("%s is a %s: %q needs a rate metric (checks, error_rate)", m.metric, m.kind, "%")
    end
    factor = PERCENT
  elseif DURATION_UNITS[unit] then
    if m.kind ~= DURATION then
      return nil, format("%s is a %s: a duration unit (%q) does not apply", m.metric, m.kind, unit)
    end
    factor = DURATION_UNITS[unit]
  elseif unit ~= "" then
    return nil, format("unknown unit %q in %q (%s)", unit, text, UNIT_HELP)
  elseif m.kind == DURATION then
    return nil, format("%s is a duration: the bound needs a unit in %q (use us, ms, s, m)", m.metric, text)
  elseif m.kind == RATE then
    if value > 1 then
      return nil, format("a bare bound for %s is a fraction from 0 to 1, got %s (write %s%% for %s percent)",
        m.metric, num, num, num)
    end
    factor = PLAIN
  else
    factor = PLAIN
  end
  m.op, m.bound, m.bound_text = op, value * factor[1] / factor[2], op .. " " .. num .. unit
  return m
end

--- thresholds.parse(key, condition) -> spec, or nil, reason. A spec is
-- {key=, condition=, metric=, kind= ("duration" | "rate" | "count"),
-- filter=, percentile=, op=, bound= (seconds, a fraction or a number),
-- bound_text=}.
function M.parse(key, condition)
  if type(key) ~= "string" then
    return nil, format("threshold key must be a string, got %s", type(key))
  end
  if type(condition) ~= "string" then
    return nil, format("threshold %q: condition must be a string, got %s", key, type(condition))
  end
  local m, why = parse_key(key)
  if m then m, why = parse_condition(m, condition) end
  if not m then return nil, format("threshold %q: %s", trim(key), why) end
  m.key, m.condition = trim(key), trim(condition)
  return m
end

--- thresholds.parse_cli("p95{tool=http.get} < 200ms") -> spec, or nil,
-- reason: the key (a metric and an optional {selector}, which may hold
-- spaces) then the condition.
function M.parse_cli(text)
  if type(text) ~= "string" then
    return nil, format("--threshold needs a string, got %s", type(text))
  end
  local name, rest = text:match("^%s*(p%(%d+%.?%d*%))(.*)$") -- k6's p(95)
  if not name then name, rest = text:match("^%s*([%a_][%w_%.]*)(.*)$") end
  if not name then
    return nil, format("--threshold %q: expected a metric and a condition (e.g. 'p95 < 200ms')", text)
  end
  local key = name
  local selector, after = rest:match("^%s*(%b{})(.*)$")
  if selector then
    key, rest = name .. selector, after
  elseif rest:match("^%s*{") then
    return nil, format("--threshold %q: the selector after %q is not closed with }", text, name)
  end
  if trim(rest) == "" then
    return nil, format("threshold %q: missing condition (e.g. %q)", key, key .. " < 200ms")
  end
  return M.parse(key, rest)
end

local function by_key_then_condition(a, b)
  if a.key ~= b.key then return a.key < b.key end
  return a.condition < b.condition
end

--- Sorts specs in place by key then condition (the evaluation order); returns them.
function M.sort(specs)
  sort(specs, by_key_then_condition)
  return specs
end

--- thresholds.from_table(tbl) -> array of specs (sorted), or nil, reason.
-- tbl maps keys to a condition or an array of conditions; nil gives {}.
function M.from_table(tbl)
  if tbl == nil then return {} end
  if type(tbl) ~= "table" then
    return nil, format("thresholds must be a table of key = condition(s), got %s", type(tbl))
  end
  local keys = {}
  for k in pairs(tbl) do
    if type(k) ~= "string" then
      return nil, format("thresholds: key %s must be a string (e.g. [\"p95\"] = \"< 200ms\")", tostring(k))
    end
    keys[#keys + 1] = k
  end
  sort(keys)
  local specs = {}
  for _, k in ipairs(keys) do
    local v = tbl[k]
    local conditions = v
    if type(v) == "string" then
      conditions = { v }
    elseif type(v) ~= "table" then
      return nil, format("threshold %q: value must be a condition string or an array of them, got %s",
        k, type(v))
    elseif #v == 0 then
      return nil, format("threshold %q: the array of conditions is empty", k)
    end
    for ck in pairs(conditions) do
      if type(ck) ~= "number" or ck < 1 or ck > #conditions or ck % 1 ~= 0 then
        return nil, format("threshold %q: conditions must be an array, found key %s", k, tostring(ck))
      end
    end
    for i = 1, #conditions do
      local c = conditions[i]
      if type(c) ~= "string" then
        return nil, format("threshold %q: condition %d must be a string, got %s", k, i, type(c))
      end
      local spec, why = M.parse(k, c)
      if not spec then return nil, why end
      specs[#specs + 1] = spec
    end
  end
  return M.sort(specs)
end

--- thresholds.from_cli(texts) -> array of specs (sorted), or nil, reason:
-- the values of a repeatable --threshold flag (a string or an array).
function M.from_cli(texts)
  if texts == nil then return {} end
  if type(texts) == "string" then texts = { texts } end
  if type(texts) ~= "table" then
    return nil, format("--threshold needs a string, got %s", type(texts))
  end
  local specs = {}
  for i = 1, #texts do
    local spec, why = M.parse_cli(texts[i])
    if not spec then return nil, why end
    specs[i] = spec
  end
  return M.sort(specs)
end

-- Shows a number without trailing zeros: 231.40 -> "231.4", 5.00 -> "5".
local function num(x, decimals)
  local s = format("%." .. decimals .. "f", x)
  if s:find("%.") then s = s:gsub("0+$", ""):gsub("%.$", "") end
  if s == "-0" then s = "0" end
  return s
end

local function show_duration(sec)
  local a = abs(sec)
  if a == 0 then return "0ms" end
  if a < 1e-3 then return num(sec * 1e6, 1) .. "us" end
  if a < 1 then return num(sec * 1e3, 1) .. "ms" end
  return num(sec, 3) .. "s"
end

local function show(kind, x)
  if kind == DURATION then return show_duration(x) end
  if kind == RATE then return num(x * 100, 2) .. "%" end
  if x == huge or x == -huge then return tostring(x) end
  return num(x, 3)
end

local function filter_key(filter)
  local parts = {}
  for k, v in pairs(filter) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  sort(parts)
  return concat(parts, ",")
end

local function tags_match(tags, filter, skip)
  for k, v in pairs(filter) do
    if k ~= skip then
      if v == true then
        if tags[k] == nil then return false end
      elseif tags[k] ~= v then
        return false
      end
    end
  end
  return true
end

-- Measures one spec: value (or nil: no samples), detail (e.g. "21 of 5000").
local function measure(spec, registry, extra, cache)
  local where = spec.where
  if where == "extra" then
    local w = spec.filter.workload -- a named workload's: extra.workloads[w]
    local from = extra
    if w then from = extra and extra.workloads and extra.workloads[w] end
    local v = from and from[spec.metric]
    if v == nil then return nil end
    if type(v) ~= "number" then
      error(format("thresholds.evaluate: extra.%s must be a number, got %s", spec.metric, type(v)), 3)
    end
    return v
  end
  if where == "checks" then
    local passes, fails = 0, 0
    for name, c in pairs(registry.checks) do
      if spec.filter.name == nil or spec.filter.name == name then
        passes, fails = passes + c.passes, fails + c.fails
      end
    end
    local total = passes + fails
    if total == 0 then return nil end
    return passes / total, format("%d of %d", passes, total)
  end
  if where == "counters" then
    local sum = 0
    for _, c in pairs(registry.counters) do
      if c.name == spec.filter.name and tags_match(c.tags, spec.filter, "name") then
        sum = sum + c.value
      end
    end
    return sum
  end
  local fk = filter_key(spec.filter)
  local agg = cache[fk]
  if not agg then
    agg = registry:aggregate(spec.filter)
    cache[fk] = agg
  end
  local metric, n = spec.metric, agg.count
  if metric == "count" then return n end
  if metric == "errors" then return agg.errors end
  if metric == "expected" then return agg.expected end
  if metric == "successes" then return n - agg.errors end -- ok or expected
  if n == 0 then return nil end
  if metric == "error_rate" then return agg.errors / n, format("%d of %d", agg.errors, n) end
  local h = agg.hist
  if spec.percentile then return h:percentile(spec.percentile) end
  if metric == "avg" then return h:mean() end
  if metric == "min" then return h:min() end
  if metric == "max" then return h:max() end
  return h:stddev()
end

-- How far value is from passing (a positive number), or nil when there is no distance.
local function margin(op, value, bound)
  if op == "!=" then return nil end
  local d = abs(value - bound)
  if d == 0 then return nil end
  return d
end

-- The tag of a spec's selector whose value is "*" (each value), or nil.
local function wildcard_tag(spec)
  for k, v in pairs(spec.filter or {}) do
    if v == "*" then return k end
  end
  return nil
end

-- A spec with a {tag=*} selector stands for one spec per value the tag takes
-- among the series the rest of the selector matches ("successes{tool=*} > 0":
-- every tool). With no such value it stays as it is (and finds no samples).
local function expand(spec, registry)
  local tag = wildcard_tag(spec)
  if not tag or type(registry) ~= "table" then return { spec } end
  local rest = {}
  for k, v in pairs(spec.filter) do
    if k ~= tag then rest[k] = v end
  end
  local values = registry:tag_values(tag, rest)
  if #values == 0 then return { spec } end
  local out = {}
  for i, value in ipairs(values) do
    local one = {}
    for k, v in pairs(spec) do one[k] = v end
    local filter = {}
    for k, v in pairs(rest) do filter[k] = v end
    filter[tag] = value
    one.filter = filter
    one.key = spec.key:gsub("(" .. tag:gsub("%p", "%%%0") .. "%s*=%s*)%*", "%1" .. value:gsub("%%", "%%%%"))
    out[i] = one
  end
  return out
end

--- thresholds.evaluate(specs, registry, extra) -> results, all_ok. One
-- result per spec, in order (a {tag=*} spec gives one per tag value, see
-- expand): {key=, condition=, metric=, value= (seconds, a fraction or a
-- number; nil without samples), bound=, ok=, message=}. extra carries
-- run-level numbers: iterations, dropped_iterations, script_errors.
function M.evaluate(specs, registry, extra)
  if type(specs) ~= "table" then
    error("thresholds.evaluate: specs must be an array of thresholds, got " .. type(specs), 2)
  end
  if extra ~= nil and type(extra) ~= "table" then
    error("thresholds.evaluate: extra must be a table, got " .. type(extra), 2)
  end
  local concrete = {}
  for i = 1, #specs do
    local spec = specs[i]
    if type(spec) ~= "table" or not spec.op then
      error(format("thresholds.evaluate: specs[%d] is not a parsed threshold (use thresholds.parse)", i), 2)
    end
    if spec.where ~= "extra" and type(registry) ~= "table" then
      error("thresholds.evaluate: registry must be a metrics registry, got " .. type(registry), 2)
    end
    for _, one in ipairs(expand(spec, registry)) do concrete[#concrete + 1] = one end
  end
  local results, all_ok, cache = {}, true, {}
  for i = 1, #concrete do
    local spec = concrete[i]
    local value, detail = measure(spec, registry, extra, cache)
    local ok, message
    local bound = "bound " .. spec.bound_text
    if value == nil then
      ok = false
      message = format("%s: no samples, %s: FAILED", spec.key, bound)
    else
      ok = OPS[spec.op](value, spec.bound)
      local shown = show(spec.kind, value)
      if detail then shown = shown .. " (" .. detail .. ")" end
      message = format("%s = %s, %s: ", spec.key, shown, bound)
      if ok then
        message = message .. "ok"
      else
        local d = margin(spec.op, value, spec.bound)
        message = message .. (d and "FAILED by " .. show(spec.kind, d) or "FAILED")
      end
    end
    results[i] = {
      key = spec.key, condition = spec.condition, metric = spec.metric,
      value = value, bound = spec.bound, ok = ok, message = message,
    }
    if not ok then all_ok = false end
  end
  return results, all_ok
end

--- thresholds.checks_ok(registry) -> true when no check recorded a fail.
function M.checks_ok(registry)
  for _, c in pairs(registry.checks) do
    if c.fails > 0 then return false end
  end
  return true
end

local function want_boolean(name, v)
  if type(v) ~= "boolean" then
    error(format("thresholds.exit_code: %s must be a boolean, got %s", name, type(v)), 3)
  end
end

--- thresholds.exit_code(thresholds_ok, checks_ok, completed) -> the run's
-- exit status: 1 when the run could not complete (its numbers are partial),
-- else 99 when a threshold failed (k6's code, even if checks failed too),
-- else 1 when a check failed, else 0.
function M.exit_code(thresholds_ok, checks_ok, completed)
  want_boolean("thresholds_ok", thresholds_ok)
  want_boolean("checks_ok", checks_ok)
  want_boolean("completed", completed)
  if not completed then return 1 end
  if not thresholds_ok then return 99 end
  if not checks_ok then return 1 end
  return 0
end

return M
