--- gofr_sim.runner.workers: `--workers N` — one run on N threads of one
-- process (thread-per-core), each its own loop, Lua state, HTTP engine and
-- personas, with nothing shared but messages copied by value.
--
-- The coordinator (the main thread) runs prepare and setup once (an
-- embedded twin and fixture site live on its loop, reachable by all), then
-- starts the workers; worker w of N runs part w of N of the load
-- (gofr_sim.runner.workload's parts: persona ids, budgets and schedules
-- divided exactly; inside a shard K of S, part (K-1)*N + w of S*N). Each
-- worker drains its registry once a second of the run (metrics.drain) and
-- posts it; the coordinator absorbs it into the run's registry exactly
-- (histograms merged), so the progress line, /metrics, thresholds, the
-- verdict and the reports see one run. A worker's sim.stop() stops them
-- all (its grace period in it, the default one in the others). teardown
-- runs once, in the coordinator. What setup returned reaches the workers as plain data
-- (gofr_sim.util.plain): functions and userdata stay behind, and are named.
local core = require "gofr_sim.core"
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local plain = require "gofr_sim.util.plain"

local pairs, ipairs, tostring, math_max = pairs, ipairs, tostring, math.max
local huge = math.huge

local M = {}

--- The workers of --workers TEXT: an integer >= 1 or "auto" (the cores
-- this process may use); 1 (no threads) when absent.
function M.count(text)
  if text == nil then return 1 end
  if text == "auto" then return core.cpu_count() end
  local n = tonumber(text)
  if not n or n ~= math.floor(n) or n < 1 or n > 256 then
    cli.usage_error(("--workers: '%s' is not a number of threads from 1 to 256, or auto"):format(text))
  end
  return n
end

-- Combined counts of the workers' runs (one workload's, or the run's):
-- the fields of a workload.new run the runner reads.
local Combined = {}
Combined.__index = Combined

local function combined()
  return setmetatable({ iterations = 0, dropped = 0, active_max = 0, by = {} }, Combined)
end

function Combined:update(w, c)
  self.by[w] = c
  local it, dr, mx = 0, 0, 0
  for _, x in pairs(self.by) do
    it, dr, mx = it + x.iterations, dr + x.dropped, mx + x.active_max
  end
  self.iterations, self.dropped, self.active_max = it, dr, mx
end

function Combined:active_now()
  local n = 0
  for _, x in pairs(self.by) do n = n + x.active end
  return n
end

-- Worker w's message m: its drain absorbed as second m.k, its counts noted.
local function absorb(state, w, m)
  local co = state.coordination
  state.registry:absorb(m.drain, m.k)
  co.last_k[w] = m.k
  local low = huge
  for i = 1, state.workers do low = math.min(low, co.last_k[i] or 0) end
  if low > 1 then state.registry:forget_seconds(low - 1) end
  state.run:update(w, m.counts)
  for _, wl in ipairs(state.workloads or {}) do
    local c = m.counts.workloads and m.counts.workloads[wl.name]
    if c then
      wl.run = wl.run or combined()
      wl.run:update(w, c)
      if c.started then wl.started = math.min(wl.started or huge, c.started) end
      if c.ended then wl.ended = math_max(wl.ended or 0, c.ended) end
    end
  end
  if m.final then co.finals[w] = m end
end

-- Takes what thread th of worker w says until it ends (wait: as a persona).
local function collect(state, w, th, timeout)
  local co = state.coordination
  while true do
    local text, why, status, err = th:recv(timeout)
    if not text then
      if why == "ended" then
        co.ended[w] = true
        if status ~= 0 or err then
          co.failure = co.failure or ("worker %d of %d failed: %s"):format(w, state.workers,
            err and tostring(err):gsub("\n.*", "") or ("status " .. tostring(status)))
        end
      end
      return
    end
    local m = plain.decode(text)
    if m.stop then -- its script called sim.stop(): the others stop too
      for v, other in pairs(co.threads) do
        if v ~= w and not co.ended[v] then other:stop() end
      end
    else
      absorb(state, w, m)
    end
  end
end

--- Runs the load on state.workers threads (in the coordinator's sim.run,
-- after setup); returns when every worker has ended (or the run stops).
function M.coordinate(state)
  local n = state.workers
  local base = state.part or { index = 1, count = 1 }
  state.run = combined()
  state.coordination = { threads = {}, last_k = {}, finals = {}, ended = {} }
  local co = state.coordination
  local handles = {}
  for w = 1, n do
    local text, dropped = plain.encode {
      path = state.path, arg = rawget(_G, "arg"), flags = state.flags, opts = state.opts,
      mixes = state.mixes, shared = state.shared, tokens = state.tokens, seed = state.seed,
      t0 = state.started, part = { index = (base.index - 1) * n + w, count = base.count * n },
    }
    if w == 1 and #dropped > 0 then
      io.stderr:write("gofr-sim: --workers: the workers do not get ", table.concat(dropped, ", "),
        " (only plain data crosses to them)\n")
    end
    local th, _, msg = core.thread_start("gofr_sim.runner.worker_thread", text)
    if not th then
      co.failure = co.failure or ("cannot start worker %d: %s"):format(w, tostring(msg))
      break
    end
    co.threads[w] = th
    handles[#handles + 1] = sim.spawn(collect, state, w, th)
  end
  for _, h in ipairs(handles) do sim.wait(h) end
end

--- After the coordinator's sim.run: joins the workers still running (a
-- stop's grace ran out, the run failed) and takes their last messages, then
-- adds their final facts to the run's. stats: sim.stats() of the
-- coordinator. -> stats with the workers' script errors and errors added.
function M.finish(state, stats)
  local co = state.coordination
  if not co then return stats end
  for w, th in pairs(co.threads) do
    if not co.ended[w] then
      th:join()
      collect(state, w, th, 0)
    end
  end
  local errors = {}
  for msg, k in pairs(stats.errors or {}) do errors[msg] = k end
  local out = { script_errors = stats.script_errors, errors = errors, signal = stats.signal }
  for _, m in pairs(co.finals) do
    out.script_errors = out.script_errors + m.stats.script_errors
    for msg, k in pairs(m.stats.errors) do errors[msg] = (errors[msg] or 0) + k end
    state.completed = state.completed + m.completed
    state.budget_spent = state.budget_spent or m.budget_spent
    state.stopped = state.stopped or m.stopped
  end
  for w = 1, state.workers do
    if co.threads[w] and not co.finals[w] and not co.failure then
      co.failure = ("worker %d of %d ended without its report"):format(w, state.workers)
    end
  end
  state.worker_failure = co.failure
  return out
end

return M
