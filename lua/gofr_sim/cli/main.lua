--- The gofr-sim command line. main(argv) returns the exit status:
-- 0 success, 1 a script error or failed run, 2 bad usage, 130/143 stopped
-- by SIGINT/SIGTERM.
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local sim = require "gofr_sim"

local io, type, xpcall, tostring = io, type, xpcall, tostring

local M = {}

local USAGE = [[
usage: gofr-sim SCRIPT.lua [--flag value ...]   run a scenario or any Lua script
       gofr-sim fixtures [--root DIR] [--host H] [--port N]
                                               serve a fixture site until Ctrl-C
       gofr-sim twin [--host H] [--port 8070] [--data-dir D] [--fixtures-dir D]
                [--token-store FILE] [--jwt-secret-file FILE] [--port-file FILE]
                [--fetch-delay S] [--housekeeping-interval D]
                                               run the gofr-dig twin (and its fixture site)
       gofr-sim repl [--mcp-url URL]
                                               a Lua prompt with the engine loaded (docs/repl.md)
       gofr-sim record --sites SITES.json --out DIR [--depth 0|1] [--max-pages N]
                [--timeout S] [--concurrency N]
                                               record sites into a fixture corpus (docs/recording.md)
       gofr-sim merge A.json B.json ... (-o OUT.json | --print)
                                               merge the reports of runs made side by side
       gofr-sim matrix MATRIX.lua [--parallel N] [--filter GLOBS] [--junit OUT.xml]
                [--out-dir out/matrix] [--timeout D] [--seed N] [--list] [--quiet]
                                               run scenario cells, each in its own process (docs/ci.md)
       gofr-sim --help | --version

Scenarios: scenarios/load.lua (the main job). Docs: docs/ in the source tree.
]]

local function say(fmt, ...)
  io.stderr:write("gofr-sim: ", fmt:format(...), "\n")
end

local SIGNAL_STATUS = { [2] = 130, [15] = 143 }

-- The exit status after a run: a signal overrides the script's own status.
local function final_status(status)
  return SIGNAL_STATUS[core.signal()] or status
end

local function traceback(e)
  if cli.is_usage_error(e) then return e end
  return debug.traceback(tostring(e), 2)
end

-- Runs fn(...) protected; usage errors -> 2, other errors -> 1.
local function protected(fn, ...)
  local args, n = { ... }, select("#", ...)
  local ok, result = xpcall(function() return fn(unpack(args, 1, n)) end, traceback)
  if ok then return result end
  if cli.is_usage_error(result) then
    say("%s", result.message)
    return 2
  end
  say("error: %s", result)
  return 1
end

local function file_exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

local function run_script(path, argv)
  if not file_exists(path) then
    say("cannot open script '%s': no such file", path)
    return 2
  end
  local chunk, err = loadfile(path)
  if not chunk then
    say("syntax error: %s", err)
    return 2
  end
  local script_arg = { [0] = path }
  for i = 2, #argv do script_arg[i - 1] = argv[i] end
  rawset(_G, "arg", script_arg)
  local flags = cli.parse(argv, 2)
  core.handle_signals()
  local status = protected(function()
    local result = chunk(flags)
    if type(result) == "table" then
      return require("gofr_sim.runner.scenario").run(result, flags, path)
    end
    -- Personas spawned at top level without sim.run still get to run.
    if core.stats().live > 0 then sim.run(function() end) end
    return type(result) == "number" and result or 0
  end)
  return final_status(status)
end

local function serve_fixtures(argv)
  local opts = cli.options(cli.parse(argv, 2), {
    root = { type = "string" },
    host = { type = "string", default = "127.0.0.1" },
    port = { type = "integer", default = 0, min = 0 },
  })
  if opts.port > 65535 then cli.usage_error("--port must be 0..65535") end
  local ok, site, err_type, msg = pcall(sim.fixtures.serve,
    { root = opts.root, host = opts.host, port = opts.port })
  if not ok then cli.usage_error(tostring(site):gsub("^sim%.fixtures%.serve: ", "--root: ")) end
  if not site then
    say("%s (%s)", msg, err_type)
    return 1
  end
  core.handle_signals()
  io.stdout:write(site.url, "/\n")
  io.stdout:flush()
  sim.run(function()
    while sim.sleep(3600) do end
  end)
  site.close()
  return final_status(0)
end

local function read_secret_file(path)
  local f, err = io.open(path, "rb")
  if not f then cli.usage_error(("--jwt-secret-file: cannot read '%s': %s"):format(path, err)) end
  local secret = (f:read("*a") or ""):gsub("%s+$", "")
  f:close()
  if secret == "" then cli.usage_error(("--jwt-secret-file: '%s' is empty"):format(path)) end
  return secret
end

-- gofr-sim twin: the gofr-dig twin standalone, until SIGINT/SIGTERM.
local function serve_twin(argv)
  local opts = cli.options(cli.parse(argv, 2), {
    host = { type = "string", default = "127.0.0.1" },
    port = { type = "integer", default = 8070, min = 0 },
    data_dir = { type = "string" },
    fixtures_dir = { type = "string" },
    token_store = { type = "string" },
    jwt_secret_file = { type = "string" },
    port_file = { type = "string" },
    fetch_delay = { type = "number", min = 0 },
    housekeeping_interval = { type = "duration", above = 0 },
  })
  if opts.port > 65535 then cli.usage_error("--port must be 0..65535") end
  core.handle_signals()
  local status = 0
  sim.run(function()
    local twin, err_type, msg = require("gofr_sim.twin").start {
      host = opts.host, port = opts.port, data_dir = opts.data_dir,
      fixtures_dir = opts.fixtures_dir, token_store = opts.token_store,
      secret = opts.jwt_secret_file and read_secret_file(opts.jwt_secret_file) or nil,
      fetch_delay = opts.fetch_delay, housekeeping_interval = opts.housekeeping_interval,
    }
    if not twin then
      say("twin: %s (%s)", msg, err_type)
      status = 1
      return
    end
    io.stdout:write("twin: ", twin.url, "  site: ", twin.site_url, "/\n")
    io.stdout:flush()
    if opts.port_file then
      local f = assert(io.open(opts.port_file .. ".tmp", "w"))
      f:write(twin.port, "\n")
      f:close()
      assert(os.rename(opts.port_file .. ".tmp", opts.port_file))
    end
    while sim.sleep(3600) do end
    twin:close()
  end)
  return final_status(status)
end

-- gofr-sim merge A.json B.json ... -o OUT.json [--print]
local function merge_reports(argv)
  local report = require "gofr_sim.report.build"
  local words = {}
  for i = 2, #argv do
    local a = argv[i]
    -- -o is the one short flag; --print never takes a value (a file may follow it).
    words[#words + 1] = (a == "-o" and "--out") or (a == "--print" and "--print=true") or a
  end
  local flags, named = cli.parse(words), {}
  for k, v in pairs(flags) do
    if type(k) ~= "number" then named[k] = v end
  end
  local opts = cli.options(named, {
    out = { type = "string" },
    print = { type = "boolean", default = false },
  })
  if #flags == 0 then cli.usage_error("merge: give at least one report file") end
  if not opts.out and not opts.print then
    cli.usage_error("merge: give -o OUT.json (or --print for standard output)")
  end
  local reports = {}
  for i, path in ipairs(flags) do
    local f, err = io.open(path, "rb")
    if not f then
      if err:sub(1, #path + 2) == path .. ": " then err = err:sub(#path + 3) end
      cli.usage_error(("merge: cannot read '%s': %s"):format(path, err))
    end
    local text = f:read("*a")
    f:close()
    local r, why = report.decode(text or "")
    if not r then cli.usage_error(("merge: '%s' is %s"):format(path, why)) end
    reports[i] = r
  end
  local merged, why = report.merge(reports, flags)
  if not merged then cli.usage_error("merge: " .. why) end
  if opts.out then
    local ok, werr = report.write(opts.out, merged)
    if not ok then
      say("%s", werr)
      return 1
    end
  end
  if opts.print then
    io.stdout:write(report.encode(merged), "\n")
  else
    io.stdout:write(report.summary(merged))
  end
  return 0
end

local dispatch

--- Runs the command of argv; returns its exit status. Whatever ended it,
-- twins' temporary data directories do not outlive the process.
function M.main(argv)
  local status = dispatch(argv)
  local twin = package.loaded["gofr_sim.twin"]
  if twin then twin.remove_data_dirs() end
  return status
end

dispatch = function(argv)
  local cmd = argv[1]
  if cmd == nil then
    io.stderr:write(USAGE)
    return 2
  end
  if cmd == "-h" or cmd == "--help" or cmd == "help" then
    io.stdout:write(USAGE)
    return 0
  end
  if cmd == "--version" then
    io.stdout:write("gofr-sim ", sim._VERSION, "\n")
    return 0
  end
  if cmd == "fixtures" then return protected(serve_fixtures, argv) end
  if cmd == "merge" then return protected(merge_reports, argv) end
  if cmd == "matrix" then
    return final_status(protected(function() return require("gofr_sim.cli.matrix").main(argv) end))
  end
  if cmd == "twin" then return protected(serve_twin, argv) end
  if cmd == "repl" then return protected(require("gofr_sim.cli.repl").main, argv) end
  if cmd == "record" then
    return final_status(protected(function() return require("gofr_sim.cli.record").main(argv) end))
  end
  if cmd:match("^%-") then
    say("unknown option '%s' (see gofr-sim --help)", cmd)
    return 2
  end
  return run_script(cmd, argv)
end

return M
