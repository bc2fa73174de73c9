--- Command-line flags: parsing, validation against a spec, durations, and
-- usage errors (reported by the executable as one line and exit status 2).
local type, error, tonumber, tostring, pairs, ipairs, setmetatable =
  type, error, tonumber, tostring, pairs, ipairs, setmetatable
local concat, sort = table.concat, table.sort
local floor = math.floor
local suggest = require "gofr_sim.util.suggest"

local M = {}

local UsageError = {}
UsageError.__index = UsageError
UsageError.__tostring = function(e) return e.message end

--- Raises a usage error: the executable prints "gofr-sim: <message>" and exits 2.
function M.usage_error(message)
  error(setmetatable({ message = message }, UsageError), 0)
end

function M.is_usage_error(e)
  return getmetatable(e) == UsageError
end

local Help = {}
Help.__index = Help
Help.__tostring = function(h) return h.text end

--- Raises a request for help: the executable prints `text` on standard
-- output and exits 0 (nothing else runs).
function M.show_help(text)
  error(setmetatable({ text = text }, Help), 0)
end

--- True when e was raised by show_help (its text: e.text).
function M.is_help(e)
  return getmetatable(e) == Help
end

--- True when parsed flags ask for help: --help (any value) or a bare -h.
function M.wants_help(flags)
  if flags.help ~= nil then return true end
  for _, word in ipairs(flags) do
    if word == "-h" then return true end
  end
  return false
end

local UNITS = { ms = 0.001, s = 1, m = 60, h = 3600 }

--- "500ms", "30s", "1.5m", "1h" -> seconds, or nil, message. A bare zero
-- ("0") needs no unit.
function M.duration(text)
  if tostring(text):match("^%s*0+%.?0*%s*$") then return 0 end
  local num, unit = tostring(text):match("^%s*(%d+%.?%d*)%s*(%a+)%s*$")
  local factor = UNITS[unit or ""]
  if not num or not factor then
    return nil, ("'%s' is not a duration (use a number and a unit: 500ms, 30s, 5m, 1h)")
      :format(tostring(text))
  end
  return tonumber(num) * factor
end

--- Splits argv[first..] into a flags table: "--name value", "--name=value",
-- and a bare "--name" (followed by another flag or nothing) as true. Dashes
-- in names become underscores; other words go to the array part. A flag
-- given more than once collects its values in an array.
function M.parse(argv, first)
  local flags, i = {}, first or 1
  while argv[i] ~= nil do
    local a = argv[i]
    local name, value = a:match("^%-%-([^=]+)=(.*)$")
    if not name then name = a:match("^%-%-(.+)$") end
    if name then
      name = name:gsub("-", "_")
      if value == nil then
        local nxt = argv[i + 1]
        if nxt ~= nil and not nxt:match("^%-%-.") then
          value = nxt
          i = i + 1
        else
          value = true
        end
      end
      local prev = flags[name]
      if prev == nil then
        flags[name] = value
      elseif type(prev) == "table" then
        prev[#prev + 1] = value
      else
        flags[name] = { prev, value }
      end
    else
      flags[#flags + 1] = a
    end
    i = i + 1
  end
  return flags
end

local function flag_name(key)
  return "--" .. key:gsub("_", "-")
end

local CONVERT = {}

function CONVERT.string(v) return type(v) == "string" and v or nil, "needs a value" end

function CONVERT.boolean(v)
  if v == true or v == "true" or v == "1" or v == "yes" then return true end
  if v == "false" or v == "0" or v == "no" then return false end
  return nil, "must be true or false"
end

function CONVERT.number(v)
  local n = tonumber(v)
  if type(v) ~= "string" or not n or n ~= n then return nil, "must be a number" end
  return n
end

function CONVERT.integer(v)
  local n = tonumber(v)
  if type(v) ~= "string" or not n or n ~= floor(n) then return nil, "must be a whole number" end
  return n
end

function CONVERT.duration(v)
  if type(v) ~= "string" then return nil, "needs a value (e.g. 30s)" end
  local rest = v:match("^%s*%-(.*)$") -- "-5s": a duration, negative (refused by the bounds)
  if rest then
    local d = M.duration(rest)
    if d then return -d end
  end
  return M.duration(v)
end

function CONVERT.url(v)
  if type(v) ~= "string" or not v:match("^[hH][tT][tT][pP][sS]?://[^/%s]+") then
    return nil, "must be an http:// or https:// URL"
  end
  return v
end

local convert

-- A repeatable flag: each value converted by the rule, collected in an array.
local function convert_each(label, rule, raws)
  local one = { type = rule.type, values = rule.values, min = rule.min, max = rule.max,
                above = rule.above }
  local out = {}
  for i, r in ipairs(raws) do out[i] = convert(label, one, r) end
  return out
end

local TYPES = "string, boolean, number, integer, duration, url, enum"

local NUMERIC = { number = true, integer = true, duration = true }

-- A value already typed (an option default written in Lua): numbers for
-- numeric rules (durations in seconds), booleans for boolean ones.
local function typed(rule, raw)
  local t = type(raw)
  if t == "number" and NUMERIC[rule.type] then
    if raw ~= raw then return nil, "must be a number" end
    if rule.type == "integer" and raw ~= floor(raw) then return nil, "must be a whole number" end
    return raw
  end
  if t == "boolean" and rule.type == "boolean" then return raw end
  return nil, ("must be %s"):format(rule.type == "duration" and "a duration (e.g. 30s) or seconds"
    or "a " .. rule.type)
end

-- `label` names the flag (--name) or the option in messages.
convert = function(label, rule, raw)
  if rule.repeatable then
    return convert_each(label, rule, type(raw) == "table" and raw or { raw })
  end
  if type(raw) == "table" then
    M.usage_error(("%s given more than once"):format(label))
  end
  if rule.type == "enum" then
    for _, allowed in ipairs(rule.values) do
      if raw == allowed then return raw end
    end
    M.usage_error(("%s must be one of %s, got '%s'")
      :format(label, concat(rule.values, ", "), tostring(raw)))
  end
  local v, why
  if type(raw) == "string" or raw == true then
    v, why = CONVERT[rule.type](raw)
  else
    v, why = typed(rule, raw)
  end
  if v == nil then
    M.usage_error(("%s %s, got '%s'"):format(label, why, tostring(raw)))
  end
  if rule.above == 0 and v <= 0 then
    M.usage_error(("%s must be positive, got '%s'"):format(label, tostring(raw)))
  end
  if rule.type == "duration" and v < 0 and (rule.min or 0) <= 0 and not rule.above then
    M.usage_error(("%s must not be negative, got '%s'"):format(label, tostring(raw)))
  end
  if rule.min and v < rule.min then
    M.usage_error(("%s must be >= %s, got %s"):format(label, rule.min, tostring(raw)))
  end
  if rule.above and v <= rule.above then
    M.usage_error(("%s must be > %s, got %s"):format(label, rule.above, tostring(raw)))
  end
  if rule.max and v > rule.max then
    M.usage_error(("%s must be <= %s, got %s"):format(label, rule.max, tostring(raw)))
  end
  return v
end

--- A default given in Lua (a scenario's `options`) converted by the flag's
-- rule: what the flag accepts as text ("8s", "4") is accepted, and typed
-- values (8, true) too; anything else is the flag's usage error, with
-- `label` (e.g. "scenarios/x.lua: option 'duration'") naming it.
function M.convert_default(label, rule, value)
  return convert(label, rule, value)
end

-- Checking a spec ---------------------------------------------------------------

local RULE_KEYS = { type = true, default = true, min = true, max = true, above = true,
  values = true, repeatable = true, help = true }

-- What is wrong with the rule of flag `name` (nil: nothing).
local function check_rule(name, rule)
  local at = ("flag '%s'"):format(tostring(name))
  if type(name) ~= "string" then return "flag names must be strings, got " .. type(name) end
  if type(rule) ~= "table" then
    return ("%s: expected a table {type = ...}, got %s"):format(at, type(rule))
  end
  for k in pairs(rule) do
    if not RULE_KEYS[k] then
      return ("%s: unknown field '%s'%s"):format(at, tostring(k), suggest.clause(k, RULE_KEYS))
    end
  end
  if rule.type ~= "enum" and not CONVERT[rule.type] then
    return ("%s: type must be one of %s, got %s"):format(at, TYPES, tostring(rule.type))
  end
  if rule.type == "enum" and (type(rule.values) ~= "table" or #rule.values == 0) then
    return at .. ": an enum needs values = {\"a\", \"b\", ...}"
  end
  for _, k in ipairs({ "min", "max", "above" }) do
    if rule[k] ~= nil and type(rule[k]) ~= "number" then
      return ("%s: %s must be a number, got %s"):format(at, k, type(rule[k]))
    end
  end
  if rule.repeatable ~= nil and type(rule.repeatable) ~= "boolean" then
    return ("%s: repeatable must be a boolean, got %s"):format(at, type(rule.repeatable))
  end
  if rule.help ~= nil and type(rule.help) ~= "string" then
    return ("%s: help must be a string, got %s"):format(at, type(rule.help))
  end
end

--- What is wrong with a flag spec (nil: nothing), naming the flag and the
-- field: each rule a table of type, default, min, max, above, values (enum),
-- repeatable and help (a one-line meaning for --help).
function M.check_spec(spec)
  if type(spec) ~= "table" then return "expected a table of flag rules, got " .. type(spec) end
  for name, rule in pairs(spec) do
    local why = check_rule(name, rule)
    if why then return why end
  end
end

-- Help ------------------------------------------------------------------------------

local PLACEHOLDER = { string = "TEXT", number = "X", integer = "N", duration = "D", url = "URL" }

--- Seconds as a duration a flag accepts: 10 -> "10s", 0.5 -> "500ms", 300 -> "5m".
function M.format_duration(seconds)
  if seconds ~= 0 and seconds < 1 then return ("%gms"):format(seconds * 1000) end
  if seconds >= 3600 and seconds % 3600 == 0 then return ("%dh"):format(seconds / 3600) end
  if seconds >= 60 and seconds % 60 == 0 then return ("%dm"):format(seconds / 60) end
  return ("%gs"):format(seconds)
end

local function shown_default(rule)
  local d = rule.default
  if d == nil then return rule.type == "boolean" and "default off" or "no default" end
  if rule.type == "duration" and type(d) == "number" then d = M.format_duration(d) end
  if type(d) == "table" then d = concat(d, ",") end
  return "default " .. tostring(d)
end

-- "integer >= 1", "duration > 0", "enum", "string, repeatable", ...
local function shown_type(rule)
  local t = rule.type
  if rule.min then t = t .. " >= " .. tostring(rule.min) end
  if rule.above then t = t .. " > " .. tostring(rule.above) end
  if rule.max then t = t .. " <= " .. tostring(rule.max) end
  if rule.repeatable then t = t .. ", repeatable" end
  return t
end

--- The --help lines of the flags of spec, sorted by name: for each
--   "  --name VALUE  (type; default)" and, when the rule has help, its line.
function M.describe(spec)
  local names, lines = {}, {}
  for k in pairs(spec) do names[#names + 1] = k end
  sort(names)
  for _, k in ipairs(names) do
    local rule = spec[k]
    local value = rule.type == "enum" and concat(rule.values, "|") or PLACEHOLDER[rule.type]
    lines[#lines + 1] = ("  %s%s  (%s; %s)"):format(flag_name(k), value and " " .. value or "",
      shown_type(rule), shown_default(rule))
    if rule.help then lines[#lines + 1] = "      " .. rule.help end
  end
  return concat(lines, "\n")
end

--- The --help text of a plain script: `about` (a description, optional),
-- then its flags.
function M.help_text(spec, about)
  local parts = {}
  if about then parts[#parts + 1] = about .. "\n" end
  parts[#parts + 1] = "flags:\n" .. M.describe(spec) .. "\n"
  return concat(parts, "\n")
end

--- The end of the message refusing flag `key`: " (did you mean --x?)", the
-- accepted flags when there are few, else a pointer to --help.
function M.unknown_clause(key, spec)
  return suggest.clause(key, spec, { fmt = flag_name, list_fmt = flag_name, most = 6,
    otherwise = " (see --help)" })
end

--- Validates flags against spec {name = {type=, default=, min=, max=, above=,
-- values=, repeatable=, help=}} (types: string, boolean, number, integer,
-- duration (seconds), url, enum; a repeatable flag gives an array; help: a
-- one-line meaning). Unknown flags and stray words are usage errors naming
-- them (an unknown flag with the nearest accepted name). --help (or -h),
-- unless spec has a flag `help`, raises show_help with the flags described
-- (after `about`, optional). A bad spec raises (not a usage error).
function M.options(flags, spec, about)
  local why = M.check_spec(spec)
  if why then error("flags spec: " .. why, 2) end
  if not spec.help and M.wants_help(flags) then M.show_help(M.help_text(spec, about)) end
  local out = {}
  for k, raw in pairs(flags) do
    if type(k) == "number" then
      M.usage_error(("unexpected argument '%s'"):format(tostring(raw)))
    end
    local rule = spec[k]
    if not rule then
      M.usage_error(("unknown flag %s%s"):format(flag_name(k), M.unknown_clause(k, spec)))
    end
    out[k] = convert(flag_name(k), rule, raw)
  end
  for k, rule in pairs(spec) do
    if out[k] == nil and rule.default ~= nil then out[k] = rule.default end
  end
  return out
end

return M
