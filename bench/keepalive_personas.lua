-- bench/keepalive_personas.lua: many personas holding keep-alive connections
-- open while they pause between requests, for measuring memory per open
-- connection (see bench/memory.sh).
--
--   gofr-sim bench/keepalive_personas.lua --url http://127.0.0.1:18080/4k.bin \
--            [--personas 2000] [--duration 5s]
--
-- Each persona loops: sim.http.get(url), then sim.sleep(0.05), until the
-- deadline or until the simulation is stopping. At the end it prints one line
-- to stdout:
--
--   personas: <n> requests: <n> errors: <e> duration: <seconds> rps: <n/s>
local sim = require "gofr_sim"

local SCRIPT = "keepalive_personas.lua"

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
local personas = parse_count(flags.personas or "2000", "personas")
local duration = parse_duration(flags.duration or "5s")

local ok, errors, finished = 0, 0, 0
local started, last_done

local function persona(deadline)
  while sim.now() < deadline and not sim.stopping() do
    local res = sim.http.get(url)
    if res and res.status and res.status >= 200 and res.status <= 399 then
      ok = ok + 1
    else
      errors = errors + 1
    end
    sim.sleep(0.05)
  end
  finished = finished + 1
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
print(string.format("personas: %d requests: %d errors: %d duration: %.2f rps: %.1f",
  finished, requests, errors, elapsed, elapsed > 0 and requests / elapsed or 0))
