--- gofr_sim.cli.common: what the commands of gofr_sim.cli share: their
-- one-line messages, flag splitting, the port check, and serving until a
-- signal stops the run.
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"

local type, pairs = type, pairs

local M = {}

--- say(fmt, ...): "gofr-sim: <fmt formatted>" as one line on standard error.
function M.say(fmt, ...)
  io.stderr:write("gofr-sim: ", fmt:format(...), "\n")
end

--- A cli.parse table split: -> its words (the array part), its named flags
-- (the rest), each a new table.
function M.split(flags)
  local words, named = {}, {}
  for k, v in pairs(flags) do
    if type(k) == "number" then words[k] = v else named[k] = v end
  end
  return words, named
end

--- Raises the usage error "--port must be 0..65535" unless port is.
-- (cli.options checks the lower bound.)
function M.check_port(port)
  if port > 65535 then cli.usage_error("--port must be 0..65535") end
end

--- Inside a persona: returns once the run is stopping (SIGINT/SIGTERM
-- after core.handle_signals, or sim.stop).
function M.sleep_until_stopped()
  while sim.sleep(3600) do end
end

return M
