--- bench/delay_latency.lua: latency of sim.http.get against a target with an
-- injected delay, for bench/delay_latency.sh.
--
--   gofr-sim bench/delay_latency.lua --url 'http://127.0.0.1:PORT/index.html?delay_ms=50'
--     [--personas 8] [--duration 10s]
--
-- Each persona GETs the URL in a closed loop (keep-alive) until the duration
-- is over. Every completed request's timings.total (the engine's request
-- latency, the one reports use) goes into an HDR histogram (gofr_sim.core),
-- and so does the persona's own view (sim.now() before and after the call).
-- Prints one line:
--
--   requests: <n> errors: <e> p50_ms: <total p50> p99_ms: <total p99> call_p50_ms: <persona p50>
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"

local opts = cli.options(... or {}, {
  url = { type = "url" },
  personas = { type = "integer", default = 8, min = 1 },
  duration = { type = "duration", default = 10, above = 0 },
})
if not opts.url then cli.usage_error("--url is required") end

local total, call = core.hist_new(), core.hist_new()
local requests, errors = 0, 0

local function persona(deadline)
  while sim.now() < deadline and not sim.stopping() do
    local t0 = sim.now()
    local res = sim.http.get(opts.url)
    local t1 = sim.now()
    requests = requests + 1
    if res and res.status == 200 then
      total:record(res.timings.total)
      call:record(t1 - t0)
    else
      errors = errors + 1
    end
  end
end

local started = sim.now()
sim.run(function()
  for _ = 1, opts.personas do sim.spawn(persona, started + opts.duration) end
end)
local function ms(h, p) return h:count() > 0 and h:percentile(p) * 1000 or 0 end
print(("requests: %d errors: %d p50_ms: %.3f p99_ms: %.3f call_p50_ms: %.3f")
  :format(requests, errors, ms(total, 50), ms(total, 99), ms(call, 50)))
