--- gofr_sim.runner.tasks: the tasks a scenario declares, and the one an
-- iteration runs, drawn by weight.
--
--   tasks = {                                        -- a scenario key, in declaration order
--     { name = "browse", weight = 1, run = function(ctx, ...) end },
--     { name = "search", weight = 0, run = function(ctx, ...) end }, -- only where a mix weights it
--   }
--   tasks = {                                        -- or by name (Locust's @task(3)), name order
--     browse = { weight = 3, fn = function(ctx, ...) end },
--     search = { weight = 1, fn = function(ctx, ...) end },
--   }
--   local why = tasks.check(sc.tasks)                -- nil, or what is wrong with the declaration
--   local declared = tasks.list(sc.tasks)            -- the array form, either way
--   local list = tasks.bind(declared, group.tasks)   -- {{name=, weight=, run=}, ...}
--   local task = tasks.pick(list, rng)               -- then task.run(ctx, ...)
--
-- A persona mix group's `tasks` ({"browse": 3, "search": 1}) weights some of
-- the declared tasks by name; names the scenario does not declare are refused
-- when the mix is read (gofr_sim.runner.personas). A group without `tasks`,
-- and a run without a mix, use the declared weights. docs/scenarios.md, "Tasks".
local suggest = require "gofr_sim.util.suggest"

local type, ipairs, pairs, tostring = type, ipairs, pairs, tostring
local format = string.format
local huge = math.huge

local M = {}

local TASK_KEYS = { name = true, weight = true, run = true }

-- What is wrong with declared task i (nil: nothing); `seen` collects names.
local function check_task(i, task, seen)
  local at = format("tasks[%d]", i)
  if type(task) ~= "table" then
    return format("%s: expected {name=, weight=, run=}, got a %s", at, type(task))
  end
  for k in pairs(task) do
    if not TASK_KEYS[k] then
      return format("%s: unknown key '%s'%s", at, tostring(k), suggest.clause(k, TASK_KEYS))
    end
  end
  local name, weight = task.name, task.weight
  if type(name) ~= "string" or name == "" then return at .. ": 'name' must be a non-empty string" end
  if seen[name] then return format("%s: task '%s' is declared twice", at, name) end
  seen[name] = true
  if type(weight) ~= "number" or weight < 0 or weight == huge or weight ~= weight then
    return format("%s (%s): 'weight' must be a number >= 0, got %s", at, name, tostring(weight))
  end
  if type(task.run) ~= "function" then
    return format("%s (%s): 'run' must be a function, got %s", at, name, type(task.run))
  end
end

local NAMED_KEYS = { weight = true, fn = true, run = true } -- fn or run: the same

-- True when `declared` is the by-name form (string keys only).
local function by_name(declared)
  local any = false
  for k in pairs(declared) do
    if type(k) ~= "string" then return false end
    any = true
  end
  return any
end

-- What is wrong with the by-name form (nil: nothing).
local function check_named(declared)
  for name, task in pairs(declared) do
    local at = format("tasks.%s", name)
    if name == "" then return "tasks: a task name must not be empty" end
    if type(task) ~= "table" then
      return format("%s: expected {weight=, fn=}, got a %s", at, type(task))
    end
    for k in pairs(task) do
      if not NAMED_KEYS[k] then
        return format("%s: unknown key '%s'%s", at, tostring(k), suggest.clause(k, NAMED_KEYS))
      end
    end
    if task.fn ~= nil and task.run ~= nil then return at .. ": give 'fn' or 'run', not both" end
    local fn = task.fn or task.run
    if type(fn) ~= "function" then
      return format("%s: 'fn' must be a function, got %s", at, type(fn))
    end
  end
end

--- The array form of a scenario's `tasks`: as declared, or the by-name form
-- as {name=, weight=, run=} in name order. Call after check.
function M.list(declared)
  if not declared or not by_name(declared) then return declared end
  local names = {}
  for name in pairs(declared) do names[#names + 1] = name end
  table.sort(names)
  local out = {}
  for i, name in ipairs(names) do
    local task = declared[name]
    out[i] = { name = name, weight = task.weight, run = task.fn or task.run }
  end
  return out
end

--- What is wrong with a scenario's `tasks` (nil: nothing): an array of
-- {name=, weight=, run=}, or a map name -> {weight=, fn=}; names unique,
-- weights >= 0 with at least one > 0 (the weights of a persona whose mix
-- group has no `tasks`).
function M.check(declared)
  if type(declared) ~= "table" then
    return "tasks: expected an array of {name=, weight=, run=} or a map name -> {weight=, fn=}"
  end
  if by_name(declared) then
    local why = check_named(declared)
    if why then return why end
    declared = M.list(declared)
  end
  if #declared == 0 then
    return "tasks: expected an array of {name=, weight=, run=} or a map name -> {weight=, fn=}"
  end
  local seen, positive = {}, false
  for i, task in ipairs(declared) do
    local why = check_task(i, task, seen)
    if why then return why end
    positive = positive or task.weight > 0
  end
  if not positive then
    return "tasks: at least one task needs a weight > 0 (the weights used where a mix gives none)"
  end
end

--- The declared task names in declaration order, or nil (no tasks).
function M.names(declared)
  if not declared then return nil end
  local out = {}
  for i, task in ipairs(declared) do out[i] = task.name end
  return out
end

--- The tasks a persona draws from: its mix group's weights ({{name=,
-- weight=}, ...}, every name declared) with the declared run functions, or,
-- without them, the declared tasks whose weight is > 0. nil when the
-- scenario declares no tasks.
function M.bind(declared, weights)
  if not declared then return nil end
  local out = {}
  if weights then
    local run_of = {}
    for _, task in ipairs(declared) do run_of[task.name] = task.run end
    for i, w in ipairs(weights) do out[i] = { name = w.name, weight = w.weight, run = run_of[w.name] } end
  else
    for _, task in ipairs(declared) do
      if task.weight > 0 then out[#out + 1] = task end
    end
  end
  return out
end

--- One task of `list` (from bind, not nil), drawn by weight with one
-- rng:float(); nothing is drawn when the list holds a single task.
function M.pick(list, rng)
  if #list == 1 then return list[1] end
  local total = 0
  for i = 1, #list do total = total + list[i].weight end
  local x = rng:float() * total
  for i = 1, #list do
    x = x - list[i].weight
    if x < 0 then return list[i] end
  end
  return list[#list]
end

return M
