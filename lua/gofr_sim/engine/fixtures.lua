--- sim.fixtures: the built-in fixture web site server (C, on the engine's
-- loop) and helpers to list a site's pages. Fault injection by query
-- parameter is documented in docs/fixtures.md.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local server = require "gofr_sim.engine.server"

local sort = table.sort

local M = {}

local SERVE_OPTIONS = { root = "string", host = "string", port = "number" }
for k in pairs(server.LIMITS) do SERVE_OPTIONS[k] = "number" end

--- The fixture site shipped with gofr-sim (fixtures/html of the source tree).
function M.default_root()
  local here = debug.getinfo(1, "S").source:match("^@(.*)/lua/gofr_sim/engine/[^/]+$")
  return (here or ".") .. "/fixtures/html"
end

--- sim.fixtures.serve{root=, host="127.0.0.1", port=0, <limits>}
--   -> {url=, host=, port=, close=} | nil, err_type, message
-- <limits>: the HTTP server's (sim.server.LIMITS, docs/server.md). Raises
-- when root is not a readable directory. close() may be called as
-- site.close() or site:close(); closing twice is harmless.
function M.serve(opts)
  local fname = "sim.fixtures.serve"
  opts = check.options(fname, opts or {}, SERVE_OPTIONS)
  local limits = server.check_limits(fname, opts)
  local root = opts.root or M.default_root()
  local host = opts.host or "127.0.0.1"
  local srv, err_type, msg = core.fixtures_serve(root, host, opts.port or 0, limits)
  if not srv then return nil, err_type, msg end
  local port = srv:port()
  return {
    url = server.base_url(host, port),
    host = host,
    port = port,
    root = root,
    close = function() srv:close() end,
  }
end

--- The .html pages under root as sorted relative paths ("blog/post-1.html"),
-- or nil, err_type, message.
function M.pages(root)
  local pages, err_type, msg = core.fixtures_pages(root or M.default_root())
  if not pages then return nil, err_type, msg end
  sort(pages)
  return pages
end

return M
