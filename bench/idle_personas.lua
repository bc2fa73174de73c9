-- bench/idle_personas.lua: many personas that only sleep, for measuring the
-- per-persona memory cost of the scheduler (see bench/memory.sh).
--
--   gofr-sim bench/idle_personas.lua [--personas 10000] [--duration 5s]
--
-- Each persona loops sim.sleep(0.5) until the deadline or until the
-- simulation is stopping. At the end it prints one line to stdout:
--
--   personas: <number of personas that ran to completion> duration: <seconds>
local sim = require "gofr_sim"

local SCRIPT = "idle_personas.lua"

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
local personas = parse_count(flags.personas or "10000", "personas")
local duration = parse_duration(flags.duration or "5s")

local finished = 0
local started, last_done

local function persona(deadline)
  while sim.now() < deadline and not sim.stopping() do
    sim.sleep(0.5)
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

print(string.format("personas: %d duration: %.2f", finished, (last_done or started) - started))
