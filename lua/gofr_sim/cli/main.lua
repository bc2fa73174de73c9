--- The gofr-sim command line: dispatch only. The first word names the
-- command (COMMANDS: one module each under gofr_sim.cli, whose main(argv)
-- returns its status); any other word is a script, run by gofr_sim.cli.run.
-- main(argv) returns the exit status: 0 success, 1 a script error or failed
-- run, 2 bad usage, 130/143 stopped by SIGINT/SIGTERM.
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local sim = require "gofr_sim"
local common = require "gofr_sim.cli.common"

local io, xpcall, tostring = io, xpcall, tostring

local M = {}

local USAGE = [[
usage: gofr-sim SCRIPT.lua [--flag value ...]   run a scenario or any Lua script
       gofr-sim fixtures [--root DIR] [--host H] [--port N]
                                               serve a fixture site until Ctrl-C
       gofr-sim twin [--host H] [--port 8070] [--data-dir D] [--fixtures-dir D]
                [--fixtures-port N] [--token-store FILE] [--jwt-secret-file FILE]
                [--port-file FILE] [--fetch-delay S] [--housekeeping-interval D]
                                               run the gofr-dig twin (and its fixture site)
       gofr-sim repl [--mcp-url URL]
                                               a Lua prompt with the engine loaded (docs/repl.md)
       gofr-sim record --sites SITES.json --out DIR [--depth 0|1] [--max-pages N]
                [--timeout S] [--concurrency N]
                                               record sites into a fixture corpus (docs/recording.md)
       gofr-sim merge A.json B.json ... (-o OUT.json | --print) [--threshold 'KEY COND' ...]
                [--accept-unhealthy RULES]
                                               merge the reports of runs made side by side (shards),
                                               judge the merged run, exit as a run (0, 99, 1)
       gofr-sim report REPORT.json [--html OUT.html] [--junit OUT.xml]
                                               the HTML page or JUnit XML of a report (a run's or
                                               a merged one); with neither, its summary
       gofr-sim matrix MATRIX.lua [--parallel N] [--filter GLOBS] [--junit OUT.xml]
                [--out-dir out/matrix] [--timeout D] [--seed N] [--list] [--quiet]
                                               run scenario cells, each in its own process (docs/ci.md)
       gofr-sim --help | --version
       gofr-sim SCRIPT.lua --help                  a scenario's description and every flag it takes

Scenarios: scenarios/load.lua (the main job). Docs: docs/ in the source tree.
]]

local SIGNAL_STATUS = { [2] = 130, [15] = 143 }

-- The exit status after a command: a signal that stopped it overrides the
-- command's own status.
local function final_status(status)
  return SIGNAL_STATUS[core.signal()] or status
end

local function traceback(e)
  if cli.is_usage_error(e) or cli.is_help(e) then return e end
  return debug.traceback(tostring(e), 2)
end

-- Runs the main(argv) of module `name` protected: its status, or 2 after a
-- usage error, 1 after any other error (each reported in one message).
local function protected(name, argv)
  local ok, result = xpcall(function() return require(name).main(argv) end, traceback)
  if ok then return result end
  if cli.is_help(result) then -- --help: its text, nothing else ran
    io.stdout:write(result.text)
    return 0
  end
  if cli.is_usage_error(result) then
    common.say("%s", result.message)
    return 2
  end
  common.say("error: %s", result)
  return 1
end

-- The module of each command word; any other word is a script to run.
local COMMANDS = {
  fixtures = "gofr_sim.cli.fixtures",
  twin = "gofr_sim.cli.twin",
  repl = "gofr_sim.cli.repl",
  record = "gofr_sim.cli.record",
  merge = "gofr_sim.cli.merge",
  report = "gofr_sim.cli.report",
  matrix = "gofr_sim.cli.matrix",
}

-- The status of the command of argv.
local function dispatch(argv)
  local cmd = argv[1]
  if sim.http.environment_error then
    common.say("%s", sim.http.environment_error)
    return 2
  end
  if cmd == nil then
    io.stderr:write(USAGE)
    return 2
  end
  if cmd == "-h" or cmd == "--help" or cmd == "help" then
    io.stdout:write(USAGE, "\n", require("gofr_sim.runner.scenario").common_help())
    return 0
  end
  if cmd == "--version" then
    io.stdout:write("gofr-sim ", sim._VERSION, "\n")
    return 0
  end
  if cmd:match("^%-") then
    common.say("unknown option '%s' (see gofr-sim --help)", cmd)
    return 2
  end
  return final_status(protected(COMMANDS[cmd] or "gofr_sim.cli.run", argv))
end

--- Runs the command of argv; returns its exit status. Whatever ended it,
-- twins' temporary data directories do not outlive the process.
function M.main(argv)
  local status = dispatch(argv)
  local twin = package.loaded["gofr_sim.twin"]
  if twin then twin.remove_data_dirs() end
  return status
end

return M
