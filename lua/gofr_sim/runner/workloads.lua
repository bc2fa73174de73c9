--- gofr_sim.runner.workloads: a scenario's named workloads, side by side in
-- one run (k6's options.scenarios). Each has its own personas (slots, ids,
-- random streams, optionally its own mix), model, stages, start and tags:
--
--   workloads = {
--     readers = { consumers = 20, duration = "1m", tags = { side = "read" } },
--     writers = { workload = "ramping-arrival-rate", start = "20s",
--                 stages = "5s:50,10s:50,5s:0", max_personas = 200,
--                 iteration = function(ctx) ... end },
--   }
--
-- A workload's keys: the workload options (gofr_sim.runner.workload FLAGS,
-- with the rules and defaults of the run's flags: workload, consumers, rate,
-- duration, total_requests, max_personas, max_lateness, stages), and
--   start      offset from the run's start (a duration, default 0)
--   iteration  its iteration(ctx) (default: the scenario's)
--   tasks      {name = weight}: weights of the scenario's declared tasks
--              (as a mix group's `tasks`; default: the declared weights)
--   tags       {name = value}: on every sample of its personas, beside
--              workload=NAME (which every sample of theirs carries)
--   mix_file   its own persona mix (default: the run's --mix-file)
--   expect     expected outcomes, over the scenario's (a mix group's win)
-- check() is the scenario table's shape, plan() the run's settled list.
-- docs/scenarios.md, "Named workloads".
local cli = require "gofr_sim.util.flags"
local suggest = require "gofr_sim.util.suggest"
local workload = require "gofr_sim.runner.workload"
local metrics = require "gofr_sim.engine.metrics"

local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local concat, sort = table.concat, table.sort
local min, huge = math.min, math.huge

local M = {}

-- A workload's keys beside the workload options -> the Lua type they take
-- ("duration": a string such as "20s" or seconds).
local OWN_KEYS = { start = "duration", iteration = "function", tasks = "table", tags = "table",
  mix_file = "string", expect = "table" }

local KEYS = {}
for k in pairs(workload.FLAGS) do KEYS[k] = true end
for k in pairs(OWN_KEYS) do KEYS[k] = true end

local START_RULE = { type = "duration", min = 0 }

local NAME_PATTERN = "^[%a_][%w_%-]*$"

--- The declared workloads' names, sorted.
function M.names(declared)
  local names = {}
  for name in pairs(declared) do names[#names + 1] = name end
  sort(names)
  return names
end

-- What is wrong with a workload's `tasks` ({name = weight} over the
-- scenario's declared task list), or nil.
local function check_tasks(at, weights, declared)
  if not declared then return at .. ": the scenario declares no tasks (scenario key 'tasks')" end
  local known, positive = {}, false
  for _, task in ipairs(declared) do known[task.name] = true end
  for name, weight in pairs(weights) do
    if not known[name] then
      return ("%s: no task '%s'%s"):format(at, tostring(name), suggest.clause(tostring(name), known))
    end
    if type(weight) ~= "number" or weight < 0 or weight ~= weight then
      return ("%s.%s: a weight is a number >= 0, got %s"):format(at, name, tostring(weight))
    end
    positive = positive or weight > 0
  end
  if not positive then return at .. ": at least one task needs a weight > 0" end
end

-- What is wrong with a workload's `tags`, or nil.
local function check_tags(at, tags)
  for k, v in pairs(tags) do
    if type(k) ~= "string" or not k:match(NAME_PATTERN) then
      return ("%s: a tag name is a word (letters, digits, _ and -), got %s"):format(at, tostring(k))
    end
    if metrics.RESERVED_TAGS[k] then return ("%s.%s: the runner sets this tag"):format(at, k) end
    if type(v) ~= "string" and type(v) ~= "number" then
      return ("%s.%s: a tag value is a string or a number, got %s"):format(at, k, type(v))
    end
  end
end

-- What is wrong with one declared workload (the scenario `sc`), or nil.
local function check_one(name, w, sc)
  local at = "workloads." .. name
  if type(w) ~= "table" then return ("%s: expected a table, got %s"):format(at, type(w)) end
  for k, v in pairs(w) do
    if not KEYS[k] then
      return ("%s: unknown key '%s'%s"):format(at, tostring(k), suggest.clause(tostring(k), KEYS))
    end
    local want = OWN_KEYS[k]
    if want and want ~= "duration" and type(v) ~= want then
      return ("%s.%s must be a %s, got %s"):format(at, k, want, type(v))
    end
  end
  if not (w.iteration or sc.iteration) then
    return at .. ": needs an iteration(ctx) function, its own or the scenario's"
  end
  return (w.tasks and check_tasks(at .. ".tasks", w.tasks, sc.tasks))
    or (w.tags and check_tags(at .. ".tags", w.tags))
end

--- What is wrong with the scenario's `workloads` table (sc: the scenario,
-- its tasks in array form), as "workloads...: why", or nil.
function M.check(declared, sc)
  if next(declared) == nil then return "workloads: expected at least one named workload" end
  for name in pairs(declared) do
    if type(name) ~= "string" or not name:match(NAME_PATTERN) then
      return ("workloads: a name is a word (letters, digits, _ and -), got %s"):format(tostring(name))
    end
  end
  for _, name in ipairs(M.names(declared)) do
    local why = check_one(name, declared[name], sc)
    if why then return why end
  end
end

-- The workloads a --workloads selection names (all without one); an
-- unknown name is a usage error with the nearest.
local function selected(declared, selection)
  if not selection then return M.names(declared) end
  local names, seen = {}, {}
  for name in selection:gmatch("[^,%s]+") do
    if not declared[name] then
      cli.usage_error(("--workloads: no workload '%s'%s"):format(name, suggest.clause(name, declared)))
    end
    if not seen[name] then names[#names + 1], seen[name] = name, true end
  end
  if #names == 0 then cli.usage_error("--workloads: name at least one workload") end
  sort(names)
  return names
end

-- The weights of a workload's `tasks` as a mix group's ({name=, weight=}, by name).
local function weights_of(tasks)
  if not tasks then return nil end
  local out = {}
  for name, weight in pairs(tasks) do out[#out + 1] = { name = name, weight = weight } end
  sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- One workload's options, each by its rule, then settled together.
local function options_of(name, w, path)
  local o = {}
  for k, rule in pairs(workload.FLAGS) do
    local v = w[k]
    if v ~= nil then
      o[k] = cli.convert_default(("%s: workloads.%s.%s"):format(path, name, k), rule, v)
    else
      o[k] = workload.DEFAULTS[k]
    end
  end
  return o
end

--- The workloads a run drives, in name order: {name=, index= (1..n),
-- opts= (workload options, settled), start= (seconds), iteration=,
-- weights= ({name=, weight=} or nil), tags=, mix_file=, expect=,
-- skipped= (true: it would start at or after the cap)}; and the run's
-- planned duration (nil when a workload has none). `sc` is the scenario,
-- `o` the run's options: o.workloads selects, o.duration (given) caps every
-- workload's end. mix_total(w) -> the personas of its mix (nil without
-- one): a closed workload with a mix runs that many, as a run does with
-- --mix-file. Problems are usage errors naming path and key.
function M.plan(sc, o, path, mix_total)
  local list, planned = {}, 0
  for i, name in ipairs(selected(sc.workloads, o.workloads)) do
    local w = sc.workloads[name]
    local opts = options_of(name, w, path)
    local start = cli.convert_default(("%s: workloads.%s.start"):format(path, name), START_RULE,
      w.start or 0)
    local entry = { name = name, index = i, opts = opts, start = start,
      iteration = w.iteration or sc.iteration, weights = weights_of(w.tasks), tags = w.tags,
      mix_file = w.mix_file or o.mix_file, expect = w.expect }
    local total = mix_total(entry)
    if total then opts.consumers = total end
    workload.settle(opts, function(k) return k end, function(msg)
      cli.usage_error(("%s: workload '%s': %s"):format(path, name, msg))
    end)
    if o.duration then
      entry.skipped = start >= o.duration
      opts.duration = min(opts.duration or huge, o.duration - start)
    end
    if planned and opts.duration and not entry.skipped then
      planned = math.max(planned, start + opts.duration)
    elseif not entry.skipped then
      planned = nil
    end
    list[i] = entry
  end
  return list, planned
end

--- The report's config.workloads of a planned list (docs/report.md): with a
-- part (a shard's, a worker's), the part's shares of each.
function M.config(list, part)
  local out = {}
  for _, wl in ipairs(list) do
    local o, tasks = workload.part_options(wl.opts, part), nil
    if wl.weights then
      tasks = {}
      for _, t in ipairs(wl.weights) do tasks[t.name] = t.weight end
    end
    local closed = o.workload == "closed"
    out[wl.name] = {
      workload = o.workload, start_seconds = wl.start,
      consumers = closed and not o.stages and o.consumers or nil,
      rate_per_consumer_per_sec = closed and o.rate or nil,
      arrival_rate_per_sec = not closed and workload.part_rate(o.rate, part) or nil,
      max_personas = not closed and o.max_personas or nil,
      max_lateness_seconds = not closed and o.max_lateness or nil,
      duration_seconds = o.duration, total_requests = o.total_requests,
      stages = o.stages and workload.stages_config(o.stages) or nil,
      tags = wl.tags, tasks = tasks, mix_file = wl.mix_file,
    }
  end
  return out
end

--- "readers (closed), writers (ramping-arrival-rate, from 20s)": the
-- declared workloads for --help.
function M.describe(declared)
  local parts = {}
  for _, name in ipairs(M.names(declared)) do
    local w = declared[name]
    local kind = type(w) == "table" and w.workload or workload.DEFAULTS.workload
    local start = type(w) == "table" and w.start
    if type(start) == "number" then start = start > 0 and cli.format_duration(start) end
    parts[#parts + 1] = ("%s (%s%s)"):format(name, tostring(kind),
      (start and start ~= "0s") and (", from " .. tostring(start)) or "")
  end
  return concat(parts, ", ")
end

return M
