--- bench/personas.lua: N personas in a closed loop, for the benchmarks.
--
--   gofr-sim bench/personas.lua --url URL [--personas 32] [--duration 10s] [--think 0s]
--   gofr-sim bench/personas.lua --personas 10000 --think 500ms     (no --url: idle sleepers)
--   gofr-sim bench/personas.lua --url URL --personas 10000 --requests 1 --duration 10s
--
-- With --url each persona GETs it, then waits --think, until the duration is
-- over; without, each persona only sleeps --think at a time. With --requests
-- N a persona stops after N requests and holds (sleeps) until the duration
-- is over, keeping its keep-alive connection open. Prints one line:
--
--   personas: <finished> requests: <n> errors: <e> duration: <s> rps: <n/s>
--
-- requests counts every completed attempt; errors those that failed or
-- answered outside 200..399 (wrk's Requests/sec counts the same way).
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"

local opts = cli.options(... or {}, {
  url = { type = "url", help = "GET this URL in a loop (without it: personas only sleep)" },
  personas = { type = "integer", default = 32, min = 1, help = "how many personas" },
  duration = { type = "duration", default = 10, above = 0, help = "how long they run" },
  think = { type = "duration", min = 0,
    help = "each persona's wait between requests (default 0s with --url, else 500ms)" },
  requests = { type = "integer", min = 1,
    help = "each persona stops after N requests, then holds its connection until the end" },
}, "bench/personas.lua: N personas in a closed loop, for the benchmarks (one line of counts)")
local think = opts.think or (opts.url and 0 or 0.5)

local finished, ok, errors = 0, 0, 0

local function persona(deadline)
  local done = 0
  while sim.now() < deadline do
    if opts.requests and done >= opts.requests then
      sim.sleep(deadline - sim.now()) -- hold: the connection stays in the pool
      break
    end
    done = done + 1
    if opts.url then
      local res = sim.http.get(opts.url)
      if res and res.status >= 200 and res.status <= 399 then ok = ok + 1 else errors = errors + 1 end
    end
    if (think > 0 or not opts.url) and not sim.sleep(think) then break end
    if sim.stopping() then break end
  end
  finished = finished + 1
end

local started = sim.now()
sim.run(function()
  for _ = 1, opts.personas do sim.spawn(persona, started + opts.duration) end
end)
local elapsed = sim.now() - started
local requests = ok + errors
print(("personas: %d requests: %d errors: %d duration: %.2f rps: %.1f")
  :format(finished, requests, errors, elapsed, elapsed > 0 and requests / elapsed or 0))
