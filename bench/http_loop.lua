-- bench/http_loop.lua: closed-loop HTTP GET load, for comparing gofr-sim
-- with wrk (see bench/http_vs_wrk.sh).
--
--   gofr-sim bench/http_loop.lua --url http://127.0.0.1:18080/4k.bin \
--            [--personas 32] [--duration 10s]
--
-- Each persona sends one GET after another, with no think time, until the
-- duration is over or the simulation is stopping. At the end the script prints
-- exactly one line to stdout:
--
--   requests: <n> errors: <e> duration: <seconds, 2 decimals> rps: <n/s, 1 decimal>
--
-- requests counts every completed attempt (answered or failed); errors counts
-- the attempts that failed or answered outside 200..399; rps is requests per
-- second of measured run time (wrk's "Requests/sec" counts the same way).
local sim = require "gofr_sim"

local SCRIPT = "http_loop.lua"

-- Flags: gofr-sim passes a parsed table; under plain luajit the varargs are
-- the raw command-line words ("--name value" or "--name=value").
local function read_flags(first, ...)
  if type(first) == "table" then
    return first
  end
  local words, flags, i = { first, ... }, {}, 1
  while i <= #words do
    local name, value = words[i]:match("^%-%-([%w%-_]+)=(.*)$")
    if not name then
      name = words[i]:match("^%-%-([%w%-_]+)$")
      if name then
        i = i + 1
        value = words[i] or ""
      end
    end
    if name then
      flags[name:gsub("%-", "_")] = value
    else
      flags[#flags + 1] = words[i]
    end
    i = i + 1
  end
  return flags
end

-- "10s", "500ms", "2m", "1h", "1.5s" or a bare number of seconds.
local function parse_duration(s)
  local num, unit = tostring(s):match("^%s*(%d+%.?%d*)%s*(%a*)%s*$")
  local scale = ({ [""] = 1, s = 1, ms = 0.001, m = 60, h = 3600 })[unit]
  local n = tonumber(num)
  if not n or not scale or n <= 0 then
    error(string.format("%s: bad --duration %q (use e.g. 10s, 500ms, 2m)", SCRIPT, tostring(s)), 0)
  end
  return n * scale
end

local function parse_count(s, name)
  local n = tonumber(s)
  if not n or n < 1 or n ~= math.floor(n) then
    error(string.format("%s: bad --%s %q (want a whole number >= 1)", SCRIPT, name, tostring(s)), 0)
  end
  return n
end

local flags = read_flags(...)
local url = flags.url or flags[1]
if url == nil or url == "" then
  error(SCRIPT .. ": --url is required, e.g. --url http://127.0.0.1:18080/4k.bin", 0)
end
local personas = parse_count(flags.personas or "32", "personas")
local duration = parse_duration(flags.duration or "10s")

local ok, errors = 0, 0
local started, last_done

local function persona(deadline)
  while sim.now() < deadline and not sim.stopping() do
    local res = sim.http.get(url)
    if res and res.status and res.status >= 200 and res.status <= 399 then
      ok = ok + 1
    else
      errors = errors + 1
    end
  end
  local t = sim.now()
  if last_done == nil or t > last_done then
    last_done = t
  end
end

sim.run(function()
  started = sim.now()
  local deadline = started + duration
  for _ = 1, personas do
    sim.spawn(persona, deadline)
  end
end)

local requests = ok + errors
local elapsed = (last_done or started) - started
local rps = elapsed > 0 and requests / elapsed or 0
print(string.format("requests: %d errors: %d duration: %.2f rps: %.1f", requests, errors, elapsed, rps))
