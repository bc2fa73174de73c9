--- gofr_sim.cli.twin: `gofr-sim twin [--host H] [--port 8070] [--data-dir D]
-- [--fixtures-dir D] [--fixtures-port N] [--token-store FILE]
-- [--jwt-secret-file FILE] [--port-file FILE] [--fetch-delay S]
-- [--housekeeping-interval D]`, the gofr-dig twin (gofr_sim.twin)
-- standalone with its fixture site (on --fixtures-port, default any free
-- port), until SIGINT or SIGTERM. Prints its MCP and site URLs on standard
-- output once it listens; --port-file gets the port, written atomically.
-- A port that cannot be bound is one line naming its flag, exit 1.
local core = require "gofr_sim.core"
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local twin = require "gofr_sim.twin"
local common = require "gofr_sim.cli.common"
local tokens = require "gofr_sim.gofr_dig.tokens"

local error = error

local M = {}

local FLAGS = {
  host = { type = "string", default = "127.0.0.1" },
  port = { type = "integer", default = 8070, min = 0 },
  data_dir = { type = "string" },
  fixtures_dir = { type = "string" },
  fixtures_port = { type = "integer", default = 0, min = 0,
    help = "the port of the fixture site the twin serves (0: any free port)" },
  token_store = { type = "string" },
  jwt_secret_file = { type = "string" },
  port_file = { type = "string" },
  fetch_delay = { type = "number", min = 0 },
  housekeeping_interval = { type = "duration", above = 0 },
}

-- The JWT secret of --jwt-secret-file; unreadable or empty: a usage error.
local function read_secret_file(path)
  local secret, why = tokens.read_secret_file(path)
  if not secret then cli.usage_error("--jwt-secret-file: " .. why) end
  return secret
end

--- gofr-sim twin ...: argv as the executable's (argv[1] == "twin").
-- -> 0 once stopped, 1 when the twin cannot start; usage errors raise.
function M.main(argv)
  local opts = cli.options(cli.parse(argv, 2), FLAGS)
  common.check_port(opts.port)
  common.check_port(opts.fixtures_port, "--fixtures-port")
  core.handle_signals()
  local status = 0
  sim.run(function()
    local t, err_type, msg, part = twin.start {
      host = opts.host, port = opts.port, data_dir = opts.data_dir,
      fixtures_dir = opts.fixtures_dir, site_port = opts.fixtures_port,
      token_store = opts.token_store,
      secret = opts.jwt_secret_file and read_secret_file(opts.jwt_secret_file) or nil,
      fetch_delay = opts.fetch_delay, housekeeping_interval = opts.housekeeping_interval,
    }
    if not t then
      local flag, port = "--port", opts.port
      if part == "site" then flag, port = "--fixtures-port", opts.fixtures_port end
      common.say("twin: %s", common.listen_failure(flag, port, msg, err_type))
      status = 1
      return
    end
    io.stdout:write("twin: ", t.url, "  site: ", t.site_url, "/\n")
    io.stdout:flush()
    if opts.port_file then
      local ok, werr_type, werr = core.fs_write_atomic(opts.port_file, t.port .. "\n")
      if not ok then error(("--port-file: %s (%s)"):format(werr, werr_type), 0) end
    end
    common.sleep_until_stopped()
    t:close()
  end)
  return status
end

return M
