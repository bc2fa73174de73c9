--- gofr_sim.cli.fixtures: `gofr-sim fixtures [--root DIR] [--host H]
-- [--port N]`, serving a fixture site (docs/fixtures.md) until SIGINT or
-- SIGTERM. Prints the site's URL on standard output once it listens.
local core = require "gofr_sim.core"
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local common = require "gofr_sim.cli.common"

local tostring, pcall = tostring, pcall

local M = {}

local FLAGS = {
  root = { type = "string" },
  host = { type = "string", default = "127.0.0.1" },
  port = { type = "integer", default = 0, min = 0 },
}

--- gofr-sim fixtures ...: argv as the executable's (argv[1] == "fixtures").
-- -> 0 once stopped, 1 when the site cannot listen; usage errors raise.
function M.main(argv)
  local opts = cli.options(cli.parse(argv, 2), FLAGS)
  common.check_port(opts.port)
  local ok, site, err_type, msg = pcall(sim.fixtures.serve,
    { root = opts.root, host = opts.host, port = opts.port })
  if not ok then cli.usage_error((tostring(site):gsub("^sim%.fixtures%.serve: ", "--root: "))) end
  if not site then
    common.say("%s", common.listen_failure("--port", opts.port, msg, err_type))
    return 1
  end
  core.handle_signals()
  io.stdout:write(site.url, "/\n")
  io.stdout:flush()
  sim.run(common.sleep_until_stopped)
  site.close()
  return 0
end

return M
