--- bench/workers_get.lua: the scenario bench/workers.sh runs — each
-- persona GETs --url in a closed, unpaced loop; with --extract it also
-- extracts the page as gofr-dig's get_content would (html.extract: the
-- client's CPU, not the target, bounds the rate). The runner's workload
-- flags (--consumers, --duration, --workers) shape the run.
local sim = require "gofr_sim"
local html = require "gofr_sim.engine.html"

return {
  name = "workers_get",
  description = "GET one URL as fast as the personas can (bench/workers.sh)",
  flags = {
    url = { type = "url", help = "the URL every iteration GETs" },
    extract = { type = "boolean", default = false, help = "also extract each page (an HTML page)" },
  },
  options = { consumers = 32 },
  iteration = function(ctx)
    local res = sim.http.get(ctx.options.url)
    if ctx.options.extract and res then
      local page = html.extract(res.body, ctx.options.url)
      sim.check(page ~= nil and page.text ~= "", "page extracted")
    end
  end,
  thresholds = { error_rate = "== 0" }, -- a failed check exits 1
}
