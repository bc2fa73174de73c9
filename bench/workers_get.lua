--- bench/workers_get.lua: the scenario bench/workers.sh runs — each
-- persona GETs --url in a closed, unpaced loop; the runner's workload
-- flags (--consumers, --duration, --workers) shape the run.
local sim = require "gofr_sim"

return {
  name = "workers_get",
  description = "GET one URL as fast as the personas can (bench/workers.sh)",
  flags = { url = { type = "url", help = "the URL every iteration GETs" } },
  options = { consumers = 32 },
  iteration = function(ctx)
    sim.http.get(ctx.options.url)
  end,
  thresholds = { error_rate = "== 0" },
}
