--- load: personas fetch pages at a paced rate until a request budget or a
-- duration runs out, whichever comes first, and a summary is printed.
--
--   gofr-sim scenarios/load.lua --consumers 4 --rate 10 --duration 30s
--   gofr-sim scenarios/load.lua --total-requests 500 --target-url http://127.0.0.1:8080/
--
-- Without --target-url the built-in fixture site is started on 127.0.0.1 and
-- each request fetches one of its pages chosen at random (repeatably with
-- --seed). Step 1 form: direct HTTP GETs (--protocol http).
local sim = require "gofr_sim"
local cli = require "gofr_sim.cli"

local flags = ...

local opts = cli.options(flags or {}, {
  consumers = { type = "integer", default = 4, min = 1 },
  rate = { type = "number", default = 10, above = 0 },
  total_requests = { type = "integer", min = 1 },
  duration = { type = "duration", above = 0 },
  target_url = { type = "url" },
  fixtures_dir = { type = "string" },
  seed = { type = "integer" },
  timeout = { type = "duration", default = 30, above = 0 },
  protocol = { type = "enum", values = { "http" }, default = "http" },
})
if not opts.total_requests and not opts.duration then
  cli.usage_error("a stop condition is required: --duration (e.g. 30s) and/or --total-requests N")
end

local site, urls
if opts.target_url then
  urls = { opts.target_url }
else
  local root = opts.fixtures_dir or sim.fixtures.default_root()
  local pages, _, msg = sim.fixtures.pages(root)
  if not pages then cli.usage_error("--fixtures-dir: " .. msg) end
  if #pages == 0 then cli.usage_error("--fixtures-dir: no .html pages under " .. root) end
  local err_type
  site, err_type, msg = sim.fixtures.serve { root = root }
  if not site then error(("cannot start the fixture site: %s (%s)"):format(msg, err_type)) end
  urls = {}
  for i, page in ipairs(pages) do urls[i] = site.url .. "/" .. page end
end

local seed = opts.seed or os.time()
local budget = opts.total_requests or math.huge
local counts = { requests = 0, ok = 0, errors = 0, by_type = {} }
local latency = { min = math.huge, max = 0, sum = 0 }

local function record(seconds, err_type)
  counts.requests = counts.requests + 1
  latency.sum = latency.sum + seconds
  if seconds < latency.min then latency.min = seconds end
  if seconds > latency.max then latency.max = seconds end
  if err_type then
    counts.errors = counts.errors + 1
    counts.by_type[err_type] = (counts.by_type[err_type] or 0) + 1
  else
    counts.ok = counts.ok + 1
  end
end

-- One persona: first request at once, then next = max(next + 1/rate, now).
local function persona(index, deadline)
  local rng = sim.rng.new(seed, index)
  local interval = 1 / opts.rate
  local next_fire = sim.now()
  while not sim.stopping() and budget > 0 do
    local now = sim.now()
    if next_fire > now then
      if next_fire >= deadline then break end
      if not sim.sleep(next_fire - now) then break end
    end
    if sim.now() >= deadline or budget <= 0 then break end
    budget = budget - 1
    local started = sim.now()
    local res, err_type = sim.http.get(rng:pick(urls), { timeout = opts.timeout })
    record(sim.now() - started, res and sim.http.status_error(res.status) or err_type)
    next_fire = math.max(next_fire + interval, sim.now())
  end
end

local started = sim.now()
sim.run(function()
  local deadline = opts.duration and started + opts.duration or math.huge
  local handles = {}
  for i = 1, opts.consumers do handles[i] = sim.spawn(persona, i, deadline) end
  sim.wait(unpack(handles))
end)
local elapsed = sim.now() - started
if site then site.close() end

local function summary()
  local stats = sim.stats()
  local target = opts.target_url or (site.url .. " (fixture site, " .. #urls .. " pages)")
  local stop = {}
  if opts.duration then stop[#stop + 1] = ("duration %gs"):format(opts.duration) end
  if opts.total_requests then stop[#stop + 1] = ("%d requests"):format(opts.total_requests) end
  local types = {}
  for t, n in pairs(counts.by_type) do types[#types + 1] = ("%s %d"):format(t, n) end
  table.sort(types)
  local out = {
    ("gofr-sim load: http GET against %s"):format(target),
    ("  personas %d   rate %g/s each   stop at %s   seed %d")
      :format(opts.consumers, opts.rate, table.concat(stop, " or "), seed),
    ("  requests %d   ok %d   errors %d%s"):format(counts.requests, counts.ok, counts.errors,
      #types > 0 and ("   (" .. table.concat(types, ", ") .. ")") or ""),
    ("  duration %.2f s   throughput %.1f req/s"):format(elapsed,
      elapsed > 0 and counts.requests / elapsed or 0),
  }
  if counts.requests > 0 then
    out[#out + 1] = ("  latency ms   min %.2f   mean %.2f   max %.2f"):format(
      latency.min * 1e3, latency.sum / counts.requests * 1e3, latency.max * 1e3)
  end
  if stats.script_errors > 0 then
    out[#out + 1] = ("  script errors %d"):format(stats.script_errors)
  end
  if stats.signal ~= "" then
    out[#out + 1] = ("  interrupted by %s"):format(stats.signal)
  end
  return table.concat(out, "\n")
end

print(summary())
return 0
