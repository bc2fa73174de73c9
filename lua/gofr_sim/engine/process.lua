--- sim.process: child processes with piped stdio on the engine's loop — the
-- primitive under MCP's stdio transport (newline-delimited JSON-RPC).
--
--   local proc = assert(sim.process.spawn { command = "cat" })
--   proc:write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n')   -- yields until written
--   local line, err_type = proc:read_line(5)   -- "closed" | "timeout" | "line_too_long"
--   print(proc:stderr())                       -- the last 64 KiB of its stderr
--   local how = proc:close()                   -- {exit_status=, signal=, signal_name=}
--
-- The proc object is in C (src/lua/lua_process.c); this module checks the
-- options. A proc that is garbage, or alive when the runtime shuts down, is
-- killed and reaped. See docs/api.md ("sim.process").
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"

local type, pairs, tostring = type, pairs, tostring
local floor = math.floor

local M = {}

local SPAWN_OPTIONS = {
  command = "string", args = "table", env = "table", cwd = "string",
  stderr_limit = "number", max_line = "number",
}

local MAX_SIZE = 2 ^ 30

local function check_size(fname, opts, key)
  local v = opts[key]
  if v ~= nil and not (v >= 1 and v <= MAX_SIZE and floor(v) == v) then
    check.fail(fname, ("option '%s' must be an integer from 1 to 2^30 (bytes), got %s")
      :format(key, tostring(v)))
  end
end

-- args: an array of strings (no holes, no other keys) -> argv with command first.
local function argv_of(fname, command, args)
  local argv = { command }
  if args == nil then return argv end
  local n = #args
  for k in pairs(args) do
    if type(k) ~= "number" or k < 1 or k > n or floor(k) ~= k then
      check.fail(fname, "option 'args' must be an array of strings, got key " .. tostring(k))
    end
  end
  for i = 1, n do
    if type(args[i]) ~= "string" then
      check.fail(fname, ("option 'args' must be an array of strings, args[%d] is a %s")
        :format(i, type(args[i])))
    end
    argv[i + 1] = args[i]
  end
  return argv
end

local function check_env(fname, env)
  if env == nil then return end
  for k, v in pairs(env) do
    if type(k) ~= "string" or not k:find("^[^=%z]+$") then
      check.fail(fname, "option 'env' must map variable names to strings, got key "
        .. tostring(k))
    end
    if type(v) ~= "string" then
      check.fail(fname, ("option 'env': %s must be a string, got %s"):format(k, type(v)))
    end
  end
end

--- sim.process.spawn{command=, args={...}, env={K=V}, cwd=, stderr_limit=, max_line=}
--   -> proc | nil, err_type, message
-- command is the program (looked up in PATH when it has no '/'); args are
-- its arguments (argv[1]...); env's entries are added to (or replace) ours;
-- cwd is its working directory. stderr_limit (default 64 KiB) is how much
-- of stderr is kept (the last bytes); max_line (default 16 MiB) the longest
-- stdout line. A program that cannot be started returns nil, "not_found"
-- or "io_error", message. Does not yield; may be called outside a persona.
function M.spawn(opts)
  local fname = "sim.process.spawn"
  check.options(fname, opts, SPAWN_OPTIONS)
  if not opts.command or opts.command == "" then
    check.fail(fname, "option 'command' (the program to run) is required")
  end
  check_size(fname, opts, "stderr_limit")
  check_size(fname, opts, "max_line")
  check_env(fname, opts.env)
  return core.process_spawn {
    file = opts.command,
    args = argv_of(fname, opts.command, opts.args),
    env = opts.env,
    cwd = opts.cwd,
    stderr_limit = opts.stderr_limit,
    max_line = opts.max_line,
  }
end

return M
