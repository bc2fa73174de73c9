--- Live metrics in the Prometheus text exposition format (version 0.0.4).
--
--   local prometheus = require "gofr_sim.report.prometheus"
--   local text = prometheus.render(metrics.current, { live = 3, iterations = 120 })
--   local host, port = prometheus.parse_listen("127.0.0.1:9464")  -- usage error if malformed
--   local exporter = prometheus.serve(host, port, run_fn, quiet, registry)  -- inside sim.run
--   ...
--   exporter.hold()    -- optional: the final metrics from now on, whatever comes after
--   exporter.close()
--
-- render() turns a sim.metrics registry into these families (docs/prometheus.md):
--   gofr_sim_latency_seconds        histogram  {name=<series name>, <every tag>}
--   gofr_sim_events_total           counter    {name=<counter name>, <every tag>}
--   gofr_sim_checks_total           counter    {check=, result="pass"|"fail"}
--   gofr_sim_requests_total         counter    samples with a tool tag
--   gofr_sim_errors_total           counter    those with an error_type (unexpected)
--   gofr_sim_expected_total         counter    those with an expected outcome
--   gofr_sim_iterations_total, gofr_sim_dropped_iterations_total   counters   (run.*)
--   gofr_sim_live_personas, gofr_sim_run_start_time_seconds          gauges     (run.*)
-- Within a family every sample has the same label names (a tag a series lacks
-- is written as "", which Prometheus reads as absent); series are sorted, and
-- series that would print the same labels are merged, so none is duplicated.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local metrics = require "gofr_sim.engine.metrics"
local utf8 = require "gofr_sim.util.utf8"

local pairs, ipairs, tostring, tonumber = pairs, ipairs, tostring, tonumber
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge

local M = {}

--- The content type of a scrape's answer.
M.CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

--- Upper bounds (seconds) of the latency buckets, besides +Inf.
M.BUCKETS = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 }

-- Text ---------------------------------------------------------------------------

--- A sample value: integers without a decimal point, other numbers in the
-- fewest digits that read back the same, +Inf, -Inf, NaN.
function M.number(v)
  if v ~= v then return "NaN" end
  if v == huge then return "+Inf" end
  if v == -huge then return "-Inf" end
  if v == floor(v) and v > -1e15 and v < 1e15 then return ("%d"):format(v) end
  local s = ("%.15g"):format(v)
  if tonumber(s) ~= v then s = ("%.17g"):format(v) end
  return s
end
local number = M.number

local LABEL_ESCAPES = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }

--- A label value as written between the quotes: valid UTF-8 (the exposition
-- format is UTF-8, Prometheus rejects anything else: each invalid byte
-- becomes U+FFFD), with \, " and newline escaped.
function M.label_value(v)
  return (utf8.replace_invalid(tostring(v)):gsub('[\\"\n]', LABEL_ESCAPES))
end

-- Label names the families use themselves; a tag of that name is renamed tag_<name>.
local RESERVED = { name = true, le = true, check = true, result = true }

--- A tag name as a label name: snake_case ([a-zA-Z_][a-zA-Z0-9_]*), camelCase
-- split, other characters as _, never starting with __ (reserved by
-- Prometheus) nor one of the families' own label names.
function M.label_name(tag)
  local s = tostring(tag):gsub("(%l)(%u)", "%1_%2"):lower():gsub("[^%w_]", "_")
  if s == "" or s:find("^%d") or s:find("^__") or RESERVED[s] then s = "tag_" .. s end
  return s
end

-- Families ------------------------------------------------------------------------

-- The label names of a family whose samples carry `fixed` labels then the
-- tags of `items` (each with .tags): {tag = label name}, and the tags in
-- label-name order. Tags that are valid label names already keep them; two
-- tags whose names clean to the same label name get distinct ones (a _2,
-- _3 ... suffix), so no sample repeats a label name.
local function tag_labels(items, fixed)
  local seen, order = {}, {}
  for _, item in pairs(items) do
    for k in pairs(item.tags) do
      if not seen[k] then seen[k] = true; order[#order + 1] = k end
    end
  end
  sort(order, function(a, b)
    local ka, kb = M.label_name(a) == a, M.label_name(b) == b
    if ka ~= kb then return ka end
    return a < b
  end)
  local taken, label_of = {}, {}
  for _, f in ipairs(fixed) do taken[f] = true end
  for _, k in ipairs(order) do
    local base = M.label_name(k)
    local l, n = base, 1
    while taken[l] do n = n + 1; l = base .. "_" .. n end
    taken[l] = true
    label_of[k] = l
  end
  sort(order, function(a, b) return label_of[a] < label_of[b] end)
  return label_of, order
end

-- The label text `k1="v1",k2="v2"` of name_value (the fixed label's value)
-- and tags, every tag of order present ("" when the item lacks it).
local function label_text(fixed, value, tags, label_of, order)
  local parts = { ('%s="%s"'):format(fixed, M.label_value(value)) }
  for _, k in ipairs(order) do
    parts[#parts + 1] = ('%s="%s"'):format(label_of[k], M.label_value(tags[k] or ""))
  end
  return concat(parts, ",")
end

-- Groups items by label text: {labels = text, items = {...}} sorted by text.
local function grouped(items, text_of)
  local by, out = {}, {}
  for _, item in pairs(items) do
    local text = text_of(item)
    local g = by[text]
    if not g then
      g = { labels = text, items = {} }
      by[text] = g
      out[#out + 1] = g
    end
    g.items[#g.items + 1] = item
  end
  sort(out, function(a, b) return a.labels < b.labels end)
  return out
end

local function header(out, family, kind, help)
  out[#out + 1] = ("# HELP %s %s"):format(family, help)
  out[#out + 1] = ("# TYPE %s %s"):format(family, kind)
end

-- The histogram of a group: its one series' own, or a merge of several.
local function group_hist(items)
  if #items == 1 then return items[1].hist end
  local h = core.hist_new()
  for _, s in ipairs(items) do h:merge(s.hist) end
  return h
end

-- gofr_sim_latency_seconds: one histogram per series.
local function latency_family(out, registry)
  local label_of, order = tag_labels(registry.series, { "name", "le" })
  local groups = grouped(registry.series, function(s)
    return label_text("name", s.name, s.tags, label_of, order)
  end)
  if #groups == 0 then return end
  local family = "gofr_sim_latency_seconds"
  header(out, family, "histogram",
    "Latency of recorded samples (sim.metrics series), by series name and tags.")
  for _, g in ipairs(groups) do
    local h = group_hist(g.items)
    local count = h:count()
    for _, bound in ipairs(M.BUCKETS) do
      -- count_below takes whole microseconds: values <= bound are those below bound + 1 us.
      out[#out + 1] = ('%s_bucket{%s,le="%s"} %s'):format(family, g.labels, number(bound),
        number(h:count_below(bound + 1e-6)))
    end
    out[#out + 1] = ('%s_bucket{%s,le="+Inf"} %s'):format(family, g.labels, number(count))
    out[#out + 1] = ("%s_sum{%s} %s"):format(family, g.labels, number(h:mean() * count))
    out[#out + 1] = ("%s_count{%s} %s"):format(family, g.labels, number(count))
  end
end

-- gofr_sim_events_total: the registry's counters.
local function counter_family(out, registry)
  local label_of, order = tag_labels(registry.counters, { "name" })
  local groups = grouped(registry.counters, function(c)
    return label_text("name", c.name, c.tags, label_of, order)
  end)
  if #groups == 0 then return end
  local family = "gofr_sim_events_total"
  header(out, family, "counter", "Scenario counters (sim.metrics.count), by counter name and tags.")
  for _, g in ipairs(groups) do
    local v = 0
    for _, c in ipairs(g.items) do v = v + c.value end
    out[#out + 1] = ("%s{%s} %s"):format(family, g.labels, number(v))
  end
end

-- gofr_sim_checks_total: passes and failures of every check.
local function check_family(out, registry)
  local groups = grouped(registry.checks, function(c)
    return ('check="%s"'):format(M.label_value(c.name))
  end)
  if #groups == 0 then return end
  local family = "gofr_sim_checks_total"
  header(out, family, "counter", "Checks (sim.check) by name and result.")
  for _, g in ipairs(groups) do
    local passes, fails = 0, 0
    for _, c in ipairs(g.items) do passes, fails = passes + c.passes, fails + c.fails end
    out[#out + 1] = ('%s{%s,result="fail"} %s'):format(family, g.labels, number(fails))
    out[#out + 1] = ('%s{%s,result="pass"} %s'):format(family, g.labels, number(passes))
  end
end

local function scalar(out, family, kind, help, value)
  if value == nil then return end
  header(out, family, kind, help)
  out[#out + 1] = ("%s %s"):format(family, number(value))
end

-- Every sample line of out with label name="value" first (a shard's: the
-- shards' series stay apart when one Prometheus scrapes them all).
local function label_all(out, name, value)
  local label = ('%s="%s"'):format(name, M.label_value(value))
  for i, line in ipairs(out) do
    if line ~= "" and line:sub(1, 1) ~= "#" then
      local family, rest = line:match("^([%w_:]+)({.*)$")
      if family then
        out[i] = family .. "{" .. label .. (rest == "{}" and "" or ",") .. rest:sub(2)
      else
        family, rest = line:match("^([%w_:]+) (.*)$")
        out[i] = ("%s{%s} %s"):format(family, label, rest)
      end
    end
  end
end

--- The exposition text of `registry` (a sim.metrics registry) and of `run`
-- (optional: {iterations=, dropped=, live=, started=(unix seconds),
-- shard= (a shard's number: label shard="K" on every sample)}; absent
-- fields leave their family out). Ends with a newline.
function M.render(registry, run)
  run = run or {}
  local out = {}
  latency_family(out, registry)
  counter_family(out, registry)
  check_family(out, registry)
  scalar(out, "gofr_sim_requests_total", "counter",
    "Samples recorded with a tool tag (requests and tool calls).", registry.total_requests)
  scalar(out, "gofr_sim_errors_total", "counter",
    "Samples recorded with a tool tag and an unexpected error_type.", registry.total_errors)
  scalar(out, "gofr_sim_expected_total", "counter",
    "Samples recorded with a tool tag and an expected outcome (expected=true).",
    registry.total_expected)
  scalar(out, "gofr_sim_iterations_total", "counter", "Scenario iterations completed.", run.iterations)
  scalar(out, "gofr_sim_dropped_iterations_total", "counter",
    "Iterations an arrival-rate workload could not start in time.", run.dropped)
  scalar(out, "gofr_sim_live_personas", "gauge",
    "Personas alive, the engine's background ones included.", run.live)
  scalar(out, "gofr_sim_run_start_time_seconds", "gauge",
    "When the run started, in seconds since the Unix epoch.", run.started)
  if run.shard then label_all(out, "shard", run.shard) end
  out[#out + 1] = ""
  return concat(out, "\n")
end

-- The endpoint -----------------------------------------------------------------------

--- "HOST:PORT", "[IPV6]:PORT" or a bare "PORT" (host 127.0.0.1) -> host, port.
-- The host must be an IPv4 or IPv6 literal or localhost; the port 0..65535
-- (0: any free one). Anything else is a usage error naming --metrics-listen.
function M.parse_listen(text)
  local s = tostring(text)
  local host, port = s:match("^%[([%x:.]+)%]:(%d+)$")
  if not host then host, port = s:match("^([^:]+):(%d+)$") end
  if not host and s:match("^%d+$") then host, port = "127.0.0.1", s end
  local ipv4 = host and host:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  local ok = host and (host == "localhost" or host:find(":", 1, true) or ipv4)
  if ipv4 then
    for octet in host:gmatch("%d+") do ok = ok and tonumber(octet) <= 255 end
  end
  port = tonumber(port)
  if not ok or not port or port > 65535 then
    cli.usage_error(("--metrics-listen must be HOST:PORT (e.g. 127.0.0.1:9464; host an IP address "
      .. "or localhost, port 0..65535), got '%s'"):format(s))
  end
  return host, port
end

-- Answers one request: GET /metrics (or with a query) answers body(); others 404/405.
local function handle(req, res, body)
  if req.path ~= "/metrics" then
    res:send(404, { ["Content-Type"] = "text/plain; charset=utf-8" }, "not found: try /metrics\n")
  elseif req.method ~= "GET" then
    res:send(405, { ["Content-Type"] = "text/plain; charset=utf-8", Allow = "GET" },
      "method not allowed\n")
  else
    res:send(200, { ["Content-Type"] = M.CONTENT_TYPE }, body())
  end
end

--- Serves GET /metrics on host:port while the loop runs (call it inside
-- sim.run; it does not keep the run going). Each scrape renders `registry`
-- (default: the current one, sim.metrics.current, at each scrape) with
-- run_fn()'s table (see render; live defaults to the engine's live
-- personas, started to now). Prints the URL to stderr unless quiet. Cannot
-- listen: a usage error. -> the server of sim.server.listen (keep it;
-- close() it when the run ends), with hold(): from then on every scrape
-- answers what the registry and run_fn() render at that moment (a
-- finished run's final metrics, whatever the registry records later).
function M.serve(host, port, run_fn, quiet, registry)
  local started = os.time()
  local held
  -- the text of a scrape now; `handler`: asked by a scrape's handler (not live itself)
  local function text(handler)
    local run = run_fn and run_fn() or {}
    run.started = run.started or started
    run.live = run.live or (sim.stats().live - (handler and 1 or 0))
    return M.render(registry or metrics.current, run)
  end
  local srv, err_type, msg = sim.server.listen {
    host = host, port = port,
    handler = function(req, res)
      handle(req, res, function() return held or text(true) end)
    end,
  }
  if not srv then
    cli.usage_error(("--metrics-listen: %s (%s)"):format(tostring(msg), tostring(err_type)))
  end
  if not quiet then io.stderr:write("gofr-sim: metrics at ", srv.url, "/metrics\n") end
  srv.hold = function() held = text(false) end
  return srv
end

return M
