--- Workloads: when and how often iterations run.
--
-- closed                 N personas loop over iterations, each paced at a
--                        per-persona rate: the first at once, then
--                        next = max(next + 1/rate, now) (no catch-up bursts);
--                        with stages, the number of personas ramps.
-- constant-arrival-rate  iterations are due on a fixed schedule (rate per
-- ramping-arrival-rate   second, or ramping through stages) whatever the
--                        server does; each runs on a persona from a pool
--                        capped by max_personas. An iteration that finds no
--                        free persona waits in a backlog for the next one to
--                        free up; if it cannot start within max_lateness
--                        seconds of its due time it is dropped and counted
--                        (max_lateness 0: dropped at once, as k6 does).
--
-- Every workload stops at whichever comes first: the duration, the shared
-- iteration budget (total_requests), or a stop (sim.stop, a signal).
-- `run.iterate(slot, intended)` runs one iteration on a persona slot; the
-- workload passes the intended start time (open models: the schedule's, so
-- latency is measured from it and coordinated omission is corrected).
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"

local max, floor = math.max, math.floor

local M = {}

M.KINDS = { "closed", "constant-arrival-rate", "ramping-arrival-rate" }

--- The options that shape a workload, as flag rules (gofr_sim.util.flags):
-- the run's flags, and the keys of each of a scenario's named workloads.
M.FLAGS = {
  workload = { type = "enum", values = M.KINDS,
    help = "the model: a closed crowd of personas, or iterations started at a (constant or ramping) rate" },
  consumers = { type = "integer", min = 1,
    help = "closed model: how many personas run iterations side by side" },
  rate = { type = "number", above = 0,
    help = "closed: iterations/s of each persona (unpaced without it); arrival-rate: iterations/s in all" },
  duration = { type = "duration", above = 0, help = "how long the workload runs (500ms, 30s, 5m, 1h)" },
  total_requests = { type = "integer", min = 1,
    help = "stop after N iterations in all (a budget shared by every persona)" },
  max_personas = { type = "integer", min = 1, help = "arrival-rate models: the most personas at once" },
  max_lateness = { type = "duration", min = 0,
    help = "arrival-rate models: how late an iteration may start before it is dropped (0: at once)" },
  stages = { type = "string",
    help = "ramp, e.g. 30s:10,1m:50,30s:0: the personas (closed) or the rate (ramping-arrival-rate)" },
}

--- Their defaults (the others have none).
M.DEFAULTS = { workload = "closed", consumers = 4, max_personas = 100, max_lateness = 10 }

--- Parses stages "30s:10,1m:50,30s:0" into {{duration=, target=}, ...}
-- (durations in seconds), or nil, message.
function M.parse_stages(text, parse_duration)
  local stages = {}
  for item in (text .. ","):gmatch("([^,]*),") do
    local d, target = item:match("^%s*([^:%s]+)%s*:%s*([%d%.]+)%s*$")
    local secs = d and parse_duration(d)
    if not secs or not tonumber(target) then
      return nil, ("stage '%s' is not DURATION:TARGET (e.g. 30s:50)"):format(item)
    end
    stages[#stages + 1] = { duration = secs, target = tonumber(target) }
  end
  return stages
end

--- Checks a workload's options `o` together (each has passed its own rule)
-- and settles them: o.stages parsed, o.duration the stages' total when not
-- given. A problem is raised with raise(message), each option named by
-- name(key) (e.g. "--stages" for a run's flags).
function M.settle(o, name, raise)
  if o.stages then
    local stages, why = M.parse_stages(o.stages, cli.duration)
    if not stages then raise(name("stages") .. ": " .. why) end
    o.stages = stages
    o.duration = o.duration or M.stages_duration(stages)
  end
  local kind = name("workload") .. " " .. o.workload
  if o.workload == "closed" then
    if not (o.duration or o.total_requests) then
      raise(("a stop condition is required: %s (e.g. 30s) and/or %s N")
        :format(name("duration"), name("total_requests")))
    end
  else
    if not o.duration then raise(("%s needs %s or %s"):format(kind, name("duration"), name("stages"))) end
    if o.workload == "constant-arrival-rate" and not o.rate then
      raise(("%s needs %s (iterations per second)"):format(kind, name("rate")))
    end
    if o.workload == "ramping-arrival-rate" and not o.stages then
      raise(("%s needs %s (e.g. 30s:50,1m:200)"):format(kind, name("stages")))
    end
  end
end

--- The report's form of parsed stages: [{duration_seconds=, target=}].
function M.stages_config(stages)
  local out = {}
  for i, st in ipairs(stages) do out[i] = { duration_seconds = st.duration, target = st.target } end
  return out
end

--- Total duration of stages in seconds.
function M.stages_duration(stages)
  local total = 0
  for _, s in ipairs(stages) do total = total + s.duration end
  return total
end

--- The stages' target at `t` seconds, interpolated linearly from `start`.
function M.stage_target(stages, start, t)
  local from, at = start, 0
  for _, s in ipairs(stages) do
    if t < at + s.duration then
      return from + (s.target - from) * (t - at) / s.duration
    end
    at, from = at + s.duration, s.target
  end
  return from
end

-- Parts of a load (shards, workers) -------------------------------------------
-- A part {index = i, count = n} (1 <= i <= n) runs its share of a workload
-- so that the n parts side by side run the whole: persona j of the whole
-- belongs to part (j - 1) % n + 1, and so does iteration k of an arrival
-- schedule and unit k of the iteration budget. Persona slots keep their
-- whole-run ids (i, i + n, i + 2n, ...): a persona's tags, mix group and
-- random stream (seed, id) are those it has in the whole run.

--- How many of `total` items (numbered 1..total) fall to `part` (nil: all).
function M.share(total, part)
  if not part or total == math.huge then return total end
  if total < part.index then return 0 end
  return floor((total - part.index) / part.count) + 1
end

--- A part's options: o's with consumers, total_requests and max_personas
-- cut to the part's shares (max_personas at least 1: a part never lacks a
-- persona to start an iteration on); o itself when part is nil.
function M.part_options(o, part)
  if not part then return o end
  local out = {}
  for k, v in pairs(o) do out[k] = v end
  if o.consumers then out.consumers = M.share(o.consumers, part) end
  if o.total_requests then out.total_requests = M.share(o.total_requests, part) end
  if o.max_personas then out.max_personas = max(1, M.share(o.max_personas, part)) end
  return out
end

--- A part's share of an arrival rate (iterations/s): rate / count; nil
-- stays nil.
function M.part_rate(rate, part)
  return rate and part and rate / part.count or rate
end

-- Shared run state ----------------------------------------------------------

local Run = {}
Run.__index = Run

--- run = workload.new{opts=, iterate=fn(slot, intended), new_slot=fn(id),
-- tally=, part=} -- opts: duration (s), total_requests, consumers, rate,
-- max_personas, stages (the whole run's: a part's shares are taken here);
-- tally (optional, M.tally()): counts this run's iterations, drops and
-- active personas together with other runs'; part (optional): the share of
-- the whole this run is (above).
function M.new(args)
  local started = sim.now()
  local part = args.part
  local opts = M.part_options(args.opts, part)
  local run = setmetatable({
    opts = opts,
    part = part,
    iterate = args.iterate,
    new_slot = args.new_slot,
    started = started,
    deadline = opts.duration and started + opts.duration or math.huge,
    budget = opts.total_requests or math.huge,
    iterations = 0,
    dropped = 0,
    active = 0,     -- personas running their loop or an iteration now
    active_max = 0, -- the most at once
    slots = {},
    tally = args.tally,
  }, Run)
  if args.tally then args.tally.runs[#args.tally.runs + 1] = run end
  return run
end

-- The counts a run shares with its tally: a persona starts (enter) or ends
-- (leave) its work, an iteration starts, iterations are dropped.
local function enter(counts)
  counts.active = counts.active + 1
  if counts.active > counts.active_max then counts.active_max = counts.active end
end

function Run:enter()
  enter(self)
  if self.tally then enter(self.tally) end
end

function Run:leave()
  self.active = self.active - 1
  if self.tally then self.tally.active = self.tally.active - 1 end
end

function Run:count_iteration()
  self.iterations = self.iterations + 1
  if self.tally then self.tally.iterations = self.tally.iterations + 1 end
end

function Run:drop(n)
  self.dropped = self.dropped + n
  if self.tally then self.tally.dropped = self.tally.dropped + n end
end

-- A persona that failed (a script error) or was aborted never left: count
-- it out once its handle says so (slot.left marks it counted).
local function reaped(run, slot)
  local st = slot.handle and slot.handle:status()
  if (st == "failed" or st == "aborted") and not slot.left then
    slot.left = true
    run:leave()
  end
  return st
end

--- The personas active now: those that left through a failure counted out
-- (the progress line asks once a second).
function Run:active_now()
  for _, slot in pairs(self.busy or self.slots) do
    if slot.active ~= false then reaped(self, slot) end
  end
  return self.active
end

--- Takes one unit of the iteration budget if the run may go on.
function Run:take()
  if sim.stopping() or self.budget <= 0 or sim.now() >= self.deadline then return false end
  self.budget = self.budget - 1
  return true
end

-- The whole-run id of this run's persona j (j itself without a part).
function Run:persona_id(j)
  local part = self.part
  return part and (j - 1) * part.count + part.index or j
end

-- The persona slot of whole-run id `id`, made on first use.
function Run:slot(id)
  local slot = self.slots[id]
  if not slot then
    slot = self.new_slot(id)
    self.slots[id] = slot
  end
  return slot
end

-- Closed model ---------------------------------------------------------------

local function persona_loop(run, slot)
  run:enter()
  local rate = slot.rate or run.opts.rate -- a mix group's own rate wins
  local interval = rate and 1 / rate
  local next_fire = sim.now()
  while not slot.retire do
    if interval then
      local now = sim.now()
      if next_fire >= run.deadline then break end
      if next_fire > now and not sim.sleep(next_fire - now) then break end
    end
    if not run:take() then break end
    run:count_iteration()
    run.iterate(slot, sim.now())
    if interval then
      next_fire = max(next_fire + interval, sim.now())
    else
      coroutine.yield() -- unpaced: let the other personas (and timers) have the loop
    end
  end
  slot.active = false
  run:leave()
end

local function start_persona(run, id)
  local slot = run:slot(id)
  slot.retire, slot.active, slot.left = false, true, nil
  slot.handle = sim.spawn(persona_loop, run, slot)
end

-- Ramping personas: a controller adjusts the number of active personas to
-- the stages' target (the part's share of it) ten times a second.
local function ramp_personas(run, stages)
  local active = 0
  while not sim.stopping() and sim.now() < run.deadline and run.budget > 0 do
    local target = M.share(floor(M.stage_target(stages, 0, sim.now() - run.started) + 0.5), run.part)
    while active < target do
      active = active + 1
      local id = run:persona_id(active)
      local slot = run.slots[id]
      if not (slot and slot.active) then start_persona(run, id) else slot.retire = false end
    end
    while active > target do
      run.slots[run:persona_id(active)].retire = true
      active = active - 1
    end
    if not sim.sleep(0.1) then break end
  end
  for _, slot in pairs(run.slots) do slot.retire = true end
end

function Run:closed()
  if self.opts.stages then return ramp_personas(self, self.opts.stages) end
  for j = 1, self.opts.consumers do start_persona(self, self:persona_id(j)) end
end

-- Open model -------------------------------------------------------------------

-- A free persona slot, reclaiming those whose iteration has ended; nil when
-- max_personas are busy.
function Run:free_slot()
  local free = self.free
  if #free > 0 then return table.remove(free) end
  for id, slot in pairs(self.busy) do
    local st = reaped(self, slot)
    if st ~= "ready" and st ~= "running" and st ~= "waiting" then
      self.busy[id] = nil
      free[#free + 1] = slot
    end
  end
  if #free > 0 then return table.remove(free) end
  if self.npersonas < self.opts.max_personas then
    self.npersonas = self.npersonas + 1
    return self:slot(self:persona_id(self.npersonas))
  end
  return nil
end

-- Oldest backlog entry that is not too late, dropping those that are.
function Run:next_due()
  local backlog = self.backlog
  while backlog.head <= backlog.tail do
    local intended = backlog[backlog.head]
    backlog[backlog.head] = nil
    backlog.head = backlog.head + 1
    if sim.now() - intended <= self.opts.max_lateness and not sim.stopping() then
      return intended
    end
    self:drop(1)
  end
end

-- A pooled persona: runs its iteration, then whatever waits in the backlog.
local function run_on(run, slot, intended)
  run:enter()
  while intended do
    run:count_iteration()
    run.iterate(slot, intended)
    intended = run:next_due()
  end
  run:leave()
end

-- The due time of the iteration after the one due at t: the rate is
-- integrated in steps of at most 10 ms, so a ramp starting from zero (where
-- 1/rate would leap far ahead) is followed closely.
local STEP = 0.01
local function next_due_time(t, started, rate_at, deadline)
  local credit = 0
  while t < deadline do
    local rate = rate_at(t - started)
    if rate > 0 and (1 - credit) / rate <= STEP then return t + (1 - credit) / rate end
    credit = credit + max(rate, 0) * STEP
    t = t + STEP
  end
  return t
end

-- The due time of this run's next iteration after the one due at t: the
-- whole schedule's next, or with a part the next of the part's (every
-- count-th of the whole, from the index-th: k = due times skipped so far).
local function next_own_due(run, t, k, rate_at)
  local part = run.part
  repeat
    t = next_due_time(t, run.started, rate_at, run.deadline)
    k = k + 1
  until not part or (k - part.index) % part.count == 0 or t >= run.deadline
  return t, k
end

-- Starts the iterations due at the schedule's times until the end.
function Run:arrivals(rate_at)
  self.free, self.busy, self.npersonas = {}, {}, 0
  self.backlog = { head = 1, tail = 0 }
  local backlog = self.backlog
  local next_t, k = self.started, 1 -- k: the whole schedule's number of the due time next_t
  if rate_at(0) <= 0 then next_t = next_due_time(next_t, self.started, rate_at, self.deadline) end
  if self.part and self.part.index > 1 then
    next_t, k = next_own_due(self, next_t, k, rate_at)
  end
  while not sim.stopping() and next_t < self.deadline and self.budget > 0 do
    local now = sim.now()
    if next_t > now and not sim.sleep(next_t - now) then break end
    while next_t <= sim.now() and next_t < self.deadline do
      if not self:take() then return end
      local slot = self:free_slot()
      if slot then
        self.busy[slot.id] = slot
        slot.left = nil
        slot.handle = sim.spawn(run_on, self, slot, next_t)
      elseif self.opts.max_lateness > 0 then
        backlog.tail = backlog.tail + 1
        backlog[backlog.tail] = next_t
      else
        self:drop(1)
      end
      next_t, k = next_own_due(self, next_t, k, rate_at)
    end
  end
end

--- Counts what is left in the backlog as dropped (once every persona is done).
function Run:finish()
  local backlog = self.backlog
  if backlog then
    self:drop(backlog.tail - backlog.head + 1)
    self.backlog = { head = 1, tail = 0 }
  end
end

--- Runs the workload named `kind`; returns when no new iteration will start
-- (the personas still running are waited for by the surrounding sim.run).
function Run:run(kind)
  if kind == "closed" then return self:closed() end
  if kind == "constant-arrival-rate" then
    local rate = self.opts.rate
    return self:arrivals(function() return rate end)
  end
  local stages = self.opts.stages
  return self:arrivals(function(t) return M.stage_target(stages, self.opts.rate or 0, t) end)
end

-- Several runs side by side -----------------------------------------------------

local Tally = {}
Tally.__index = Tally

--- A tally of runs side by side (a scenario's named workloads): the fields
-- a run has for its own counts (iterations, dropped, active, active_max:
-- the most personas at once over all its runs), kept live by each run
-- made with it (workload.new{tally=}); runs = those runs.
function M.tally()
  return setmetatable({ iterations = 0, dropped = 0, active = 0, active_max = 0, runs = {} }, Tally)
end

--- The personas active now over all runs (each counting out its failed ones).
function Tally:active_now()
  for _, run in ipairs(self.runs) do run:active_now() end
  return self.active
end

return M
