--- load: personas fetch pages — the main job.
--
--   gofr-sim scenarios/load.lua --consumers 4 --rate 10 --duration 30s
--   gofr-sim scenarios/load.lua --total-requests 500 --target-url http://127.0.0.1:8080/
--   gofr-sim scenarios/load.lua --workload constant-arrival-rate --rate 200 --duration 1m
--
-- Without --target-url the built-in fixture site is started on 127.0.0.1
-- and each iteration GETs one of its pages, chosen at random from the
-- persona's own seeded stream (--seed repeats the choices). The workload,
-- stop conditions, report and thresholds are the runner's: docs/scenarios.md.
local sim = require "gofr_sim"
local cli = require "gofr_sim.cli"

return {
  name = "load",
  description = "personas GET pages of the fixture site (or --target-url)",
  options = { consumers = 4, rate = 10 },
  flags = {
    target_url = { type = "url" },
    fixtures_dir = { type = "string" },
    timeout = { type = "duration", default = 30, above = 0 },
    protocol = { type = "enum", values = { "http" }, default = "http" },
  },

  setup = function(ctx)
    local o = ctx.options
    if o.target_url then return { urls = { o.target_url } } end
    local root = o.fixtures_dir or sim.fixtures.default_root()
    local pages, _, msg = sim.fixtures.pages(root)
    if not pages then cli.usage_error("--fixtures-dir: " .. msg) end
    if #pages == 0 then cli.usage_error("--fixtures-dir: no .html pages under " .. root) end
    local site, err_type
    site, err_type, msg = sim.fixtures.serve { root = root }
    if not site then error(("cannot start the fixture site: %s (%s)"):format(msg, err_type)) end
    local urls = {}
    for i, page in ipairs(pages) do urls[i] = site.url .. "/" .. page end
    return { urls = urls, site = site }
  end,

  iteration = function(ctx)
    sim.http.get(ctx.rng:pick(ctx.urls), { timeout = ctx.options.timeout })
  end,

  teardown = function(ctx)
    if ctx.site then ctx.site.close() end
  end,
}
