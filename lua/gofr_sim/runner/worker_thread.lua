--- gofr_sim.runner.worker_thread: the body of a --workers thread
-- (gofr_sim.runner.workers starts it with core.thread_start): loads the
-- scenario as `gofr-sim SCRIPT` would, then runs its part of the load
-- (gofr_sim.runner.scenario.run_worker), posting to the coordinator.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local plain = require "gofr_sim.util.plain"
local scenario = require "gofr_sim.runner.scenario"

local M = {}

--- core.thread_start's entry: text is the coordinator's payload. -> 0, or raises.
function M.thread_main(text)
  local p = plain.decode(text)
  local function post(m) core.thread_post(plain.encode(m)) end
  -- the script's sim.stop() stops the whole run: the coordinator is told,
  -- and stops the other workers (a signal reaches them all by itself).
  -- Replaced before the scenario loads, so a copy it keeps is this one.
  local stop, told = sim.stop, false
  sim.stop = function(grace)
    if not told then told = true; post { stop = true } end
    return stop(grace)
  end
  rawset(_G, "arg", p.arg)
  local chunk = assert(loadfile(p.path))
  local sc = chunk(p.flags)
  if type(sc) ~= "table" then error(p.path .. " did not return a scenario in the worker", 0) end
  scenario.run_worker(sc, p, post)
  return 0
end

return M
