--- Command-line flags: parsing, validation against a spec, durations, and
-- usage errors (reported by the executable as one line and exit status 2).
local type, error, tonumber, tostring, pairs, ipairs, setmetatable =
  type, error, tonumber, tostring, pairs, ipairs, setmetatable
local concat, sort = table.concat, table.sort
local floor = math.floor

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

local UNITS = { ms = 0.001, s = 1, m = 60, h = 3600 }

--- "500ms", "30s", "1.5m", "1h" -> seconds, or nil, message.
function M.duration(text)
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
  return M.duration(v)
end

function CONVERT.url(v)
  if type(v) ~= "string" or not v:match("^[hH][tT][tT][pP][sS]?://[^/%s]+") then
    return nil, "must be an http:// or https:// URL"
  end
  return v
end

local function describe(spec)
  local names = {}
  for k in pairs(spec) do names[#names + 1] = flag_name(k) end
  sort(names)
  return concat(names, ", ")
end

local convert

-- A repeatable flag: each value converted by the rule, collected in an array.
local function convert_each(label, rule, raws)
  local one = { type = rule.type, values = rule.values, min = rule.min, above = rule.above }
  local out = {}
  for i, r in ipairs(raws) do out[i] = convert(label, one, r) end
  return out
end

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
  if rule.min and v < rule.min then
    M.usage_error(("%s must be >= %s, got %s"):format(label, rule.min, tostring(raw)))
  end
  if rule.above and v <= rule.above then
    M.usage_error(("%s must be > %s, got %s"):format(label, rule.above, tostring(raw)))
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

--- Validates flags against spec {name = {type=, default=, min=, above=,
-- values=, repeatable=}} (types: string, boolean, number, integer, duration
-- (seconds), url, enum; a repeatable flag gives an array). Unknown flags and
-- stray words are usage errors naming them.
function M.options(flags, spec)
  local out = {}
  for k, raw in pairs(flags) do
    if type(k) == "number" then
      M.usage_error(("unexpected argument '%s'"):format(tostring(raw)))
    end
    local rule = spec[k]
    if not rule then
      M.usage_error(("unknown flag %s (accepted: %s)"):format(flag_name(k), describe(spec)))
    end
    out[k] = convert(flag_name(k), rule, raw)
  end
  for k, rule in pairs(spec) do
    if out[k] == nil and rule.default ~= nil then out[k] = rule.default end
  end
  return out
end

return M
