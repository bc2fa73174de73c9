--- sim.metrics: the series registry.
--
-- A series is one (name, tags) pair: a latency histogram (C, HDR-style) plus
-- a count, an error count and counts by error type, and the same for
-- expected outcomes. Tags are strings; the reserved ones are `tool`,
-- `persona`, `error_type` (a sample with an error_type is an error) and
-- `expected` (with an error_type: an expected outcome, counted apart and not
-- an error: gofr_sim.engine.expect). Every sim.http request records itself as
-- name = tool = "http.<method>"; scenarios record their own samples, counters
-- and checks. Reports and thresholds read series back through aggregate().
--
--   local reg = metrics.new()
--   reg:record("http.get", 0.012, { tool = "http.get", persona = "apac" })
--   reg:count("cache_hits", 1, { persona = "apac" })
--   reg:check("status is 200", res.status == 200)
--   local agg = reg:aggregate { tool = "http.get" }   -- merged over everything else
--   agg.hist:percentile(95), agg.count, agg.errors, agg.error_types, agg.expected
local core = require "gofr_sim.core"
local child = require("gofr_sim.util.tables").child

local pairs, type, tostring, error, setmetatable = pairs, type, tostring, error, setmetatable
local pcall, unpack = pcall, unpack
local concat, sort = table.concat, table.sort
local floor = math.floor

local M = {}
local Registry = {}
Registry.__index = Registry

--- A new, empty registry. `clock` (optional) returns seconds; it places
-- samples in the per-second timeseries (default: the engine's sim.now).
function M.new(clock)
  return setmetatable({
    series = {},     -- key -> series
    counters = {},   -- key -> {name=, tags=, value=}
    checks = {},     -- name -> {name=, passes=, fails=}
    clock = clock or core.now,
    started = nil,   -- clock() of the first sample: second 0 of the timeseries
    seconds = {},    -- [i] = {requests=, errors=, expected=, p50=, p95=, p99=, personas=} for
                     -- second i-1 since started; the percentiles (seconds) are set when the
                     -- second is sealed; personas when the runner notes them (Registry:personas)
    nseconds = 0,    -- #seconds, kept (the per-sample path does not count the array)
    live = nil,      -- the histogram of the newest second, reused second after second
    tools = {},      -- tool -> per-tool timeseries state (new_tool), false past M.TOOL_TIMESERIES
    ntools = 0,
    total_requests = 0, total_errors = 0, total_expected = 0, -- tool-tagged samples so far
    error_samples = {}, -- error_type -> up to M.ERROR_SAMPLES distinct messages, first seen first
  }, Registry)
end

-- Tag tables the engine reuses for every request (M.frozen_tags,
-- M.request_tags): never changed once built, so their keys are memoised
-- here (tags table -> name -> key), weakly.
local frozen_keys = setmetatable({}, { __mode = "k" })

--- The canonical key of a name and tags: name{k1=v1,k2=v2} (keys sorted).
function M.key(name, tags)
  if not tags or next(tags) == nil then return name end
  local memo = frozen_keys[tags]
  local key = memo and memo[name]
  if key then return key end
  local parts = {}
  for k, v in pairs(tags) do parts[#parts + 1] = k .. "=" .. tostring(v) end
  sort(parts)
  key = name .. "{" .. concat(parts, ",") .. "}"
  if memo then memo[name] = key end
  return key
end

--- The name and tags of a canonical key (M.key's inverse): "a{k=v,x=y}" ->
-- "a", {k="v", x="y"}; a key without tags -> key, {}. Tag values holding
-- ',' or '=' do not come back as they were (keys do not escape them).
function M.parse_key(key)
  local name, body = key:match("^(.-){(.*)}$")
  if not name then return key, {} end
  local tags = {}
  for pair in body:gmatch("[^,]+") do
    local k, v = pair:match("^([^=]*)=(.*)$")
    if k then tags[k] = v end
  end
  return name, tags
end

--- Marks `tags` as never changing again (the caller keeps that promise), so
-- every key built from it is built once; returns tags.
function M.frozen_tags(tags)
  frozen_keys[tags] = frozen_keys[tags] or {}
  return tags
end

local function check_name(fname, name)
  if type(name) ~= "string" or name == "" then
    error(("%s: name must be a non-empty string, got %s"):format(fname, tostring(name)), 3)
  end
end

local function copy_tags(tags)
  local t = {}
  if tags then for k, v in pairs(tags) do t[k] = tostring(v) end end
  return t
end

function Registry:series_for(name, tags)
  local key = M.key(name, tags)
  local s = self.series[key]
  if not s then
    s = { key = key, name = name, tags = copy_tags(tags), hist = core.hist_new(),
          count = 0, errors = 0, error_types = {}, expected = 0, expected_types = {} }
    self.series[key] = s
  end
  return s
end

-- Summarises the live histogram into `sec` and empties it for the next
-- second. Only the summary is kept: memory does not grow with the requests.
local function seal(sec, live)
  if live:count() > 0 then
    sec.p50, sec.p95, sec.p99 = live:percentile(50), live:percentile(95), live:percentile(99)
  end
  live:reset()
end

-- The per-second bucket for time t: a new second seals the previous one (so
-- one histogram serves the whole run: memory does not grow with it).
function Registry:second(t)
  if not self.started then self.started = t end
  local i = floor(t - self.started) + 1
  local seconds, n = self.seconds, self.nseconds
  if i <= n then return seconds[n] end -- the newest second (the common case)
  if self.live and n > 0 then seal(seconds[n], self.live) end
  for j = n + 1, i do seconds[j] = { requests = 0, errors = 0, expected = 0 } end
  self.nseconds = i
  self.live = self.live or core.hist_new()
  return seconds[i]
end

--- Tools given a per-second timeseries of their own (the first seen; the
-- others are counted in the totals only): memory stays flat whatever the
-- tool names.
M.TOOL_TIMESERIES = 32

-- The per-tool timeseries state of a tool first seen: {live= (its histogram
-- of the open second), seconds= {[k] = {second=, requests=, errors=,
-- expected=, p50=, p95=}} (the seconds it had samples in, in order), i= (the
-- registry second of the open entry), cur= (that entry)}; false past the bound.
local function new_tool(reg, tool)
  local ts = false
  if reg.ntools < M.TOOL_TIMESERIES then
    reg.ntools = reg.ntools + 1
    ts = { live = core.hist_new(), seconds = {}, i = 0, cur = nil }
  end
  reg.tools[tool] = ts
  return ts
end

local function seal_tool(ts)
  local cur, live = ts.cur, ts.live
  if cur and live:count() > 0 then
    cur.p50, cur.p95 = live:percentile(50), live:percentile(95)
    live:reset()
  end
end

-- A tool's entry for registry second i (seconds[i]), sealing its previous one.
local function tool_second(ts, i)
  seal_tool(ts)
  local e = { second = i - 1, requests = 0, errors = 0, expected = 0 }
  ts.seconds[#ts.seconds + 1] = e
  ts.i, ts.cur = i, e
  return e
end

--- Seals the newest second (at the end of a run, before reporting), and
-- each tool's.
function Registry:seal()
  if self.live and #self.seconds > 0 then seal(self.seconds[#self.seconds], self.live) end
  for _, ts in pairs(self.tools) do
    if ts then seal_tool(ts) end
  end
end

--- Sets the start of the timeseries (second 0) to clock time t, unless a
-- sample has set it already (the runner: the start of the run).
function Registry:start(t)
  if not self.started then self.started = t end
end

--- Notes `n` personas at work at clock time t (default now): the second's
-- `personas` is the most noted in it (the runner samples twice a second).
-- `by` (optional, {workload name = personas}) is noted likewise into the
-- second's personas_by_workload.
function Registry:personas(n, t, by)
  local sec = self:second(t or self.clock())
  if not sec.personas or n > sec.personas then sec.personas = n end
  if not by then return end
  local most = sec.personas_by_workload or {}
  sec.personas_by_workload = most
  for name, k in pairs(by) do
    if not most[name] or k > most[name] then most[name] = k end
  end
end

--- Records one sample of `seconds` under name and tags. A tags.error_type
-- makes it an error, unless tags.expected is set: then it is an expected
-- outcome. Samples with a `tool` tag (requests, tool calls) also feed the
-- per-second timeseries.
function Registry:record(name, seconds, tags)
  check_name("sim.metrics.record", name)
  if type(seconds) ~= "number" or seconds ~= seconds then
    error("sim.metrics.record: seconds must be a number, got " .. tostring(seconds), 2)
  end
  local s = self:series_for(name, tags)
  s.hist:record(seconds)
  s.count = s.count + 1
  local err = tags and tags.error_type
  local expected = err and tags.expected
  if expected then
    s.expected = s.expected + 1
    s.expected_types[err] = (s.expected_types[err] or 0) + 1
  elseif err then
    s.errors = s.errors + 1
    s.error_types[err] = (s.error_types[err] or 0) + 1
  end
  if not (tags and tags.tool) then return end
  self.total_requests = self.total_requests + 1
  local sec = self:second(self.clock())
  sec.requests = sec.requests + 1
  if expected then
    sec.expected = sec.expected + 1
    self.total_expected = self.total_expected + 1
  elseif err then
    sec.errors = sec.errors + 1
    self.total_errors = self.total_errors + 1
  end
  self.live:record(seconds)
  -- the tool's own second: a cached state, a new entry once a second
  local tool = tags.tool
  local ts = self.tools[tool]
  if ts == nil then ts = new_tool(self, tool) end
  if not ts then return end
  local e = ts.cur
  if ts.i ~= self.nseconds then e = tool_second(ts, self.nseconds) end
  e.requests = e.requests + 1
  if expected then
    e.expected = e.expected + 1
  elseif err then
    e.errors = e.errors + 1
  end
  ts.live:record(seconds)
end

--- Adds n (default 1) to a counter.
function Registry:count(name, n, tags)
  check_name("sim.metrics.count", name)
  local key = M.key(name, tags)
  local c = self.counters[key]
  if not c then
    c = { key = key, name = name, tags = copy_tags(tags), value = 0 }
    self.counters[key] = c
  end
  c.value = c.value + (n or 1)
end

--- Distinct messages kept per error type (Registry:error_sample), and
-- characters kept of each.
M.ERROR_SAMPLES = 3
M.ERROR_SAMPLE_CHARS = 200

--- Keeps `message` as a sample of error_type's messages (the report's
-- errors.samples, the summary's lines under "errors by type"): the first
-- M.ERROR_SAMPLES distinct ones, cut to M.ERROR_SAMPLE_CHARS characters.
function Registry:error_sample(error_type, message)
  if type(error_type) ~= "string" or type(message) ~= "string" or message == "" then return end
  local list = self.error_samples[error_type]
  if not list then
    list = {}
    self.error_samples[error_type] = list
  elseif #list >= M.ERROR_SAMPLES then
    return
  end
  if #message > M.ERROR_SAMPLE_CHARS then message = message:sub(1, M.ERROR_SAMPLE_CHARS - 3) .. "..." end
  for i = 1, #list do if list[i] == message then return end end
  list[#list + 1] = message
end

local MAX_OBSERVED = 160 -- characters of an observed value kept for the report

-- A short text for what a check saw: strings as they are, numbers, tables
-- as JSON (or their tostring), cut to MAX_OBSERVED characters.
local function observed_text(v)
  local t = type(v)
  local s
  if t == "string" then
    s = v
  elseif t == "number" then
    s = (v == math.floor(v) and v > -1e15 and v < 1e15) and ("%d"):format(v) or ("%.6g"):format(v)
  elseif t == "table" then
    local ok, text = pcall(require("cjson").encode, v)
    s = ok and text or tostring(v)
  else
    s = tostring(v)
  end
  if #s > MAX_OBSERVED then s = s:sub(1, MAX_OBSERVED - 3) .. "..." end
  return s
end
M.observed_text = observed_text

--- Records a pass/fail check, with what was observed (optional; kept as
-- text: the first failure's, else the last pass's); returns ok (so
-- `if not reg:check(...)` reads well).
function Registry:check(name, ok, observed)
  check_name("sim.check", name)
  local c = self.checks[name]
  if not c then
    c = { name = name, passes = 0, fails = 0 }
    self.checks[name] = c
  end
  if ok then c.passes = c.passes + 1 else c.fails = c.fails + 1 end
  if observed ~= nil then
    if not ok and c.failed_observed == nil then
      c.failed_observed = observed_text(observed)
    elseif ok then
      c.passed_observed = observed_text(observed)
    end
  end
  return ok and true or false
end

local function matches(s, filter)
  for k, v in pairs(filter) do
    if k == "name" then
      if s.name ~= v then return false end
    elseif v == true then
      if s.tags[k] == nil then return false end
    elseif s.tags[k] ~= v then
      return false
    end
  end
  return true
end

--- Merges every series matching filter (tag = value pairs, a value of true
-- meaning "has the tag"; "name" matches the series name; an empty filter
-- matches all) into {hist=, count=, errors=, error_types=, expected=,
-- expected_types=, series=n}. hist is a new histogram.
function Registry:aggregate(filter)
  local agg = { hist = core.hist_new(), count = 0, errors = 0, error_types = {}, expected = 0,
                expected_types = {}, series = 0 }
  for _, s in pairs(self.series) do
    if matches(s, filter or {}) then
      agg.hist:merge(s.hist)
      agg.count = agg.count + s.count
      agg.errors = agg.errors + s.errors
      agg.expected = agg.expected + s.expected
      for t, n in pairs(s.error_types) do agg.error_types[t] = (agg.error_types[t] or 0) + n end
      for t, n in pairs(s.expected_types) do agg.expected_types[t] = (agg.expected_types[t] or 0) + n end
      agg.series = agg.series + 1
    end
  end
  return agg
end

--- The distinct values of one tag among series matching filter, sorted.
function Registry:tag_values(tag, filter)
  local seen, out = {}, {}
  for _, s in pairs(self.series) do
    local v = s.tags[tag]
    if v and not seen[v] and matches(s, filter or {}) then
      seen[v] = true
      out[#out + 1] = v
    end
  end
  sort(out)
  return out
end

-- Moving samples between registries ------------------------------------------
-- A worker thread records into a registry on a fixed clock (every sample in
-- its one second) and drains it once a second: drain() returns what was
-- recorded since the last drain, as plain data (strings, numbers, tables;
-- histograms encoded), and empties the registry in place (its series and
-- histograms are kept for the next second: no allocation per drain). The
-- coordinator's registry absorbs each drain into the run's second it
-- belongs to, exactly: histograms merge, counts add.

local function drain_series(s)
  local out = { name = s.name, tags = s.tags, count = s.count, errors = s.errors,
                error_types = s.error_types, expected = s.expected, expected_types = s.expected_types,
                hist = s.hist:encode() }
  s.hist:reset()
  s.count, s.errors, s.expected, s.error_types, s.expected_types = 0, 0, 0, {}, {}
  return out
end

--- What was recorded since the last drain (see above), then empties the
-- registry (made with a fixed clock: one second). -> {series=, counters=,
-- checks=, error_samples=, second= {requests=, errors=, expected=,
-- personas=, personas_by_workload=, hist=}, tools= {tool: {requests=,
-- errors=, expected=, hist=}}}; series, counters and checks without news
-- are left out.
function Registry:drain()
  local out = { series = {}, counters = {}, checks = {}, error_samples = self.error_samples, tools = {} }
  for _, s in pairs(self.series) do
    if s.count > 0 then out.series[#out.series + 1] = drain_series(s) end
  end
  for _, c in pairs(self.counters) do
    if c.value ~= 0 then
      out.counters[#out.counters + 1] = { name = c.name, tags = c.tags, value = c.value }
      c.value = 0
    end
  end
  for name, c in pairs(self.checks) do
    out.checks[#out.checks + 1] = c
    self.checks[name] = nil
  end
  self.error_samples = {}
  local sec = self.seconds[self.nseconds]
  if sec then
    out.second = { requests = sec.requests, errors = sec.errors, expected = sec.expected,
                   personas = sec.personas, personas_by_workload = sec.personas_by_workload,
                   hist = self.live:count() > 0 and self.live:encode() or nil }
    self.seconds[self.nseconds] = { requests = 0, errors = 0, expected = 0 }
    self.live:reset()
  end
  for tool, ts in pairs(self.tools) do
    local e = ts and ts.cur
    if e and e.requests > 0 then
      out.tools[tool] = { requests = e.requests, errors = e.errors, expected = e.expected,
                          hist = ts.live:encode() }
      ts.live:reset()
    end
    if ts then ts.seconds, ts.i, ts.cur = {}, 0, nil end
  end
  return out
end

local function decoded(text, where)
  local h, _, msg = core.hist_decode(text)
  if not h then error(("metrics.absorb: %s: %s"):format(where, tostring(msg)), 3) end
  return h
end

local function add_counts(into, from)
  for k, n in pairs(from or {}) do into[k] = (into[k] or 0) + n end
end

-- Percentiles of the merged histogram of a second: into e (ps: which).
local function set_percentiles(e, h, ps)
  if h:count() == 0 then return end
  for _, p in ipairs(ps) do e["p" .. p] = h:percentile(p) end
end

local SECOND_PS, TOOL_PS = { 50, 95, 99 }, { 50, 95 }

-- The registry's second i (1-based), made (with those before it) if new.
function Registry:second_at(i)
  local seconds = self.seconds
  for j = self.nseconds + 1, i do seconds[j] = { requests = 0, errors = 0, expected = 0 } end
  if i > self.nseconds then self.nseconds = i end
  return seconds[i]
end

-- Tool `tool`'s entry for second i, in second order; nil past M.TOOL_TIMESERIES.
local function tool_entry(reg, tool, i)
  local ts = reg.tools[tool]
  if ts == nil then ts = new_tool(reg, tool) end
  if not ts then return nil end
  ts.hists = ts.hists or {}
  local list, at = ts.seconds, #ts.seconds
  while at > 0 and list[at].second > i - 1 do at = at - 1 end
  if at > 0 and list[at].second == i - 1 then return list[at], ts end
  local e = { second = i - 1, requests = 0, errors = 0, expected = 0 }
  table.insert(list, at + 1, e)
  return e, ts
end

--- Adds a drain (Registry:drain) of another registry, as second i of this
-- one's timeseries (1-based). Merged histograms of the seconds are kept
-- until forget_seconds(i) says no drain for second i or before will come.
function Registry:absorb(d, i)
  for _, x in ipairs(d.series or {}) do
    local s = self:series_for(x.name, x.tags)
    s.hist:merge(decoded(x.hist, x.name))
    s.count, s.errors, s.expected = s.count + x.count, s.errors + x.errors, s.expected + x.expected
    add_counts(s.error_types, x.error_types)
    add_counts(s.expected_types, x.expected_types)
  end
  for _, c in ipairs(d.counters or {}) do self:count(c.name, c.value, c.tags) end
  for _, c in ipairs(d.checks or {}) do
    local mine = self.checks[c.name] or { name = c.name, passes = 0, fails = 0 }
    self.checks[c.name] = mine
    mine.passes, mine.fails = mine.passes + c.passes, mine.fails + c.fails
    mine.failed_observed = mine.failed_observed or c.failed_observed
    mine.passed_observed = c.passed_observed or mine.passed_observed
  end
  for t, list in pairs(d.error_samples or {}) do
    for _, m in ipairs(list) do self:error_sample(t, m) end
  end
  local x = d.second
  if x then
    local sec = self:second_at(i)
    sec.requests, sec.errors, sec.expected = sec.requests + x.requests, sec.errors + x.errors,
      sec.expected + x.expected
    self.total_requests = self.total_requests + x.requests
    self.total_errors = self.total_errors + x.errors
    self.total_expected = self.total_expected + x.expected
    if x.personas then sec.personas = (sec.personas or 0) + x.personas end
    if x.personas_by_workload then
      sec.personas_by_workload = sec.personas_by_workload or {}
      add_counts(sec.personas_by_workload, x.personas_by_workload)
    end
    if x.hist then
      self.second_hists = self.second_hists or {}
      local h = self.second_hists[i] or core.hist_new()
      self.second_hists[i] = h:merge(decoded(x.hist, "second"))
      set_percentiles(sec, h, SECOND_PS)
    end
  end
  for tool, t in pairs(d.tools or {}) do
    local e, ts = tool_entry(self, tool, i)
    if e then
      e.requests, e.errors, e.expected = e.requests + t.requests, e.errors + t.errors, e.expected + t.expected
      local h = ts.hists[i] or core.hist_new()
      ts.hists[i] = h:merge(decoded(t.hist, tool))
      set_percentiles(e, h, TOOL_PS)
    end
  end
end

--- Drops the merged histograms of seconds up to i (no drain for them will
-- come): memory stays flat over a long run.
function Registry:forget_seconds(i)
  for j in pairs(self.second_hists or {}) do
    if j <= i then self.second_hists[j] = nil end
  end
  for _, ts in pairs(self.tools) do
    for j in pairs(ts and ts.hists or {}) do
      if j <= i then ts.hists[j] = nil end
    end
  end
end

-- The registry in use ------------------------------------------------------

--- The registry samples go to: the scenario runner installs a fresh one per
-- run; plain scripts share this default.
M.current = M.new()

-- coroutine -> tags of the persona running on it ({persona = "apac"}); the
-- runner sets them, sim.http and sim.metrics.record add them to samples.
local persona_tags = setmetatable({}, { __mode = "k" })

--- Tags every sample recorded from this coroutine carries (nil clears).
function M.set_persona_tags(co, tags)
  persona_tags[co] = tags
end

local group_paths -- coroutine -> group path (sim.group, below)

--- The current persona's tags and group merged with `tags` (which win), as
-- a new table.
function M.with_persona_tags(tags)
  local co = coroutine.running() or false
  local base, group = persona_tags[co], group_paths[co]
  if not base and not group then return tags end
  local t = {}
  for k, v in pairs(base or {}) do t[k] = v end
  t.group = group
  if tags then for k, v in pairs(tags) do t[k] = v end end
  return t
end

-- Groups (sim.group) ---------------------------------------------------------

-- coroutine -> the "::outer::inner" path of the groups it is inside.
group_paths = setmetatable({}, { __mode = "k" })

--- The group path of the current coroutine ("::a::b"), or nil outside any.
function M.group_path()
  return group_paths[coroutine.running() or false]
end

--- Runs fn(...) inside group `name` (nested under the current one): samples
-- recorded meanwhile (sim.http, sim.mcp, sim.metrics) carry tag
-- group="::outer::name",
-- and the group's own duration is recorded as series "group_duration" with
-- that tag (and the persona's). Returns fn's results; an error in fn still
-- ends the group (and is raised again).
function M.group(name, fn, ...)
  local co = coroutine.running() or false
  local outer = group_paths[co]
  local path = (outer or "") .. "::" .. name
  group_paths[co] = path
  local started = core.now()
  local results = { pcall(fn, ...) }
  group_paths[co] = outer
  M.current:record("group_duration", core.now() - started, M.with_persona_tags { group = path })
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, table.maxn(results))
end

-- Request tags ------------------------------------------------------------------

local NO_PERSONA = {}
local base_signatures = setmetatable({}, { __mode = "k" }) -- persona tags -> M.key("", them)
local request_tag_sets = {} -- signature -> tool -> error_type|"" -> expected|false -> tags

--- Tags a call may not set itself (tags = {...} on sim.http and session:call).
M.RESERVED_TAGS = { tool = true, persona = true, error_type = true, expected = true, group = true,
  workload = true }

-- The tags of one request sample built afresh: with `extra` (a call's own tags).
local function tags_with(base, group, tool, error_type, expected, extra)
  local tags = {}
  for k, v in pairs(base) do tags[k] = v end
  for k, v in pairs(extra or {}) do tags[k] = tostring(v) end
  tags.group = group
  tags.tool, tags.error_type, tags.expected = tool, error_type, expected and "true" or nil
  return tags
end

--- The tags of one request sample of `tool` from the current persona:
-- with_persona_tags { tool = tool, error_type = error_type, expected =
-- expected and "true" or nil, group = M.group_path() }, plus a call's own
-- `extra` tags. Without extra, a frozen table shared by every sample with
-- the same tags (sim.http and sim.mcp record one per request: no table or
-- key is built on that path once a combination has been seen).
function M.request_tags(tool, error_type, expected, extra)
  local co = coroutine.running() or false
  local base, group = persona_tags[co] or NO_PERSONA, group_paths[co]
  if extra then return tags_with(base, group, tool, error_type, expected, extra) end
  local sig = base_signatures[base]
  if not sig then
    sig = M.key("", base)
    base_signatures[base] = sig
  end
  if group then sig = sig .. group end
  local by_expected = child(child(child(request_tag_sets, sig), tool), error_type or "")
  expected = expected and true or false
  local tags = by_expected[expected]
  if not tags then
    tags = M.frozen_tags(tags_with(base, group, tool, error_type, expected, nil))
    by_expected[expected] = tags
  end
  return tags
end

--- Refuses (raising, naming fname) a call's tags that are not a table of
-- string keys to string or number values, or that set a reserved tag.
function M.check_call_tags(fname, tags)
  for k, v in pairs(tags) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      error(("%s: option 'tags' must map names to strings, got %s = %s"):format(fname, tostring(k),
        type(v)), 4)
    end
    if M.RESERVED_TAGS[k] then
      error(("%s: option 'tags' may not set '%s' (the engine sets it)"):format(fname, k), 4)
    end
  end
end

--- Installs `reg` as the current registry; returns the previous one.
function M.install(reg)
  local previous = M.current
  M.current = reg
  return previous
end

return M
