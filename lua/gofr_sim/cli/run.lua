--- gofr_sim.cli.run: `gofr-sim SCRIPT.lua [--flag value ...]`, running a
-- scenario or any Lua script (docs/scenarios.md).
--
-- The script is called with its flags (gofr_sim.util.flags.parse's table)
-- as `...`, and the global `arg` holds its words ([0] = its path). A
-- script that returns a table is a scenario, run by
-- gofr_sim.runner.scenario, whose status is the command's. Otherwise the
-- personas it spawned at top level without sim.run still get to run, and
-- the status is the number it returned (0 when it returned none).
local core = require "gofr_sim.core"
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local scenario = require "gofr_sim.runner.scenario"
local common = require "gofr_sim.cli.common"

local type, rawset = type, rawset

local M = {}

-- Why path cannot be run as a script (nil when it is a readable file):
-- missing, a directory, or what the system said.
local function unreadable(path)
  local f, why, errno = io.open(path, "r")
  if not f then
    if errno == 2 then return ("cannot open script '%s': it does not exist"):format(path) end
    return ("cannot open script '%s': %s"):format(path, (why:gsub("^.-: ", "")))
  end
  local ok, rwhy, rerrno = f:read(0)
  f:close()
  if ok == nil and rerrno == 21 then return ("%s is a directory, not a Lua script"):format(path) end
  if ok == nil and rwhy then return ("cannot read script '%s': %s"):format(path, rwhy) end
end

--- gofr-sim SCRIPT.lua ...: argv as the executable's (argv[1] is the
-- script's path). -> exit status: 2 when the script is missing, a
-- directory or does not compile, else the script's (its errors raise).
function M.main(argv)
  local path = argv[1]
  local why = unreadable(path)
  if why then
    common.say("%s", why)
    return 2
  end
  local chunk, err = loadfile(path)
  if not chunk then
    common.say("syntax error: %s", err)
    return 2
  end
  local script_arg = { [0] = path }
  for i = 2, #argv do script_arg[i - 1] = argv[i] end
  rawset(_G, "arg", script_arg)
  local flags = cli.parse(argv, 2)
  core.handle_signals()
  local result = chunk(flags)
  if type(result) == "table" then return scenario.run(result, flags, path) end
  if core.stats().live > 0 then sim.run(function() end) end
  return type(result) == "number" and result or 0
end

return M
