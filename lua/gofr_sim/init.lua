--- gofr_sim: the scenario API.
--
--   local sim = require "gofr_sim"
--   sim.run(function()
--     local h = sim.spawn(function(url) return sim.http.get(url).status end, url)
--     print(sim.wait(h))
--   end)
--
-- Personas are coroutines run by the engine's event loop; the primitives
-- below yield the calling persona and resume it when their I/O completes,
-- so scenario code reads sequentially. See docs/api.md.
local core = require "gofr_sim.core"
local metrics = require "gofr_sim.engine.metrics"

local select, unpack, type, error = select, unpack, type, error

local M = {
  _VERSION = "0.1.0",
  http = require "gofr_sim.engine.http",
  fixtures = require "gofr_sim.engine.fixtures",
  rng = require "gofr_sim.engine.rng",
  jwt = require "gofr_sim.engine.jwt",
  server = require "gofr_sim.engine.server",
  mcp = require "gofr_sim.engine.mcp",
  process = require "gofr_sim.engine.process",
}

-- The facade composes the engine with the conventions of the server it
-- simulates: sim.mcp reads gofr-dig's application errors (success:false and
-- error_code) in tool results. The one edge from here to gofr_dig/.
M.mcp.use_result_decoder(require("gofr_sim.gofr_dig.results").decode_result)

--- sim.metrics: samples, counters and checks of the current run, tagged
-- with the calling persona (docs/api.md). `sim.metrics.registry()` is the
-- registry itself (aggregate, series, checks ...).
M.metrics = {
  record = function(name, seconds, tags)
    metrics.current:record(name, seconds, metrics.with_persona_tags(tags))
  end,
  count = function(name, n, tags)
    metrics.current:count(name, n, metrics.with_persona_tags(tags))
  end,
  registry = function() return metrics.current end,
}

--- sim.group(name, fn, ...) -> fn's results: runs fn inside a named group
-- (nested: "::outer::name"); the samples of sim.http and sim.mcp made in it
-- carry tag group=, and its duration is recorded as series group_duration
-- (docs/api.md).
function M.group(name, fn, ...)
  if type(name) ~= "string" or name == "" or name:find("::", 1, true) then
    error("sim.group: name must be a non-empty string without '::', got " .. tostring(name), 2)
  end
  if type(fn) ~= "function" then
    error("sim.group: fn must be a function, got " .. type(fn), 2)
  end
  return metrics.group(name, fn, ...)
end

--- sim.check(ok, name) -> ok as a boolean: counts a pass or a fail of the
-- named check (reported, and usable in thresholds: checks "rate > 99%").
function M.check(ok, name, observed)
  return metrics.current:check(name, ok, observed)
end

--- Starts fn(...) as a new persona on the next loop turn; returns its handle.
M.spawn = core.spawn

--- sim.daemon(fn, ...) -> handle: starts fn(...) as a background persona
-- that does not keep sim.run going: once every other persona has finished,
-- the run ends it (as an abort, not counted as one). For loops such as a
-- server's ticker or a housekeeper.
function M.daemon(fn, ...)
  return core.daemon(core.spawn(fn, ...))
end

--- Sleeps the calling persona; returns true, or false when the run is
-- stopping (sim.stop or a signal) — a loop should end then.
M.sleep = core.sleep

--- Monotonic time in seconds, microsecond resolution.
M.now = core.now

--- Stops the run: nothing new should start (sim.stopping() turns true and
-- sleeps end early); personas still running after `grace` seconds
-- (default 5) are aborted.
M.stop = core.stop

--- True once the run is stopping.
M.stopping = core.stopping

--- Scheduler and I/O counters: spawned, live, finished, script_errors,
-- aborted, handles, transfers, stopping, signal, errors (message -> count).
M.stats = core.stats

local function check_handle(h, i)
  if type(h) ~= "userdata" then
    error(("sim.wait: argument %d must be a persona handle (from sim.spawn), got %s")
      :format(i, type(h)), 3)
  end
end

--- Waits for personas to finish.
-- With one handle: returns that persona's return values, or
-- nil, "script_error"|"aborted", message when it raised or was aborted.
-- With several: waits for all and returns the first value of each.
function M.wait(...)
  local n = select("#", ...)
  if n == 1 then
    local h = ...
    check_handle(h, 1)
    return core.join(h)
  end
  local firsts = {}
  for i = 1, n do
    local h = select(i, ...)
    check_handle(h, i)
    firsts[i] = (core.join(h))
  end
  return unpack(firsts, 1, n)
end

-- core.run returns true, results... or false, error (raised here, not in C).
local function finish_run(ok, ...)
  if not ok then error((...), 0) end
  return ...
end

--- Runs fn(...) as a persona and drives the loop until it and everything
-- spawned meanwhile have finished; returns fn's results and re-raises its
-- error. Inside a persona it is simply spawn + wait.
function M.run(fn, ...)
  if type(fn) ~= "function" then
    error("sim.run: expected a function, got " .. type(fn), 2)
  end
  if core.in_persona() then
    return M.wait(core.spawn(fn, ...))
  end
  return finish_run(core.run(fn, ...))
end

return M
