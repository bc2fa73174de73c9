--- gofr_sim.util.tables: helpers on plain Lua tables.
--
--   local tables = require "gofr_sim.util.tables"
--   for _, k in ipairs(tables.sorted_keys(t)) do ... end   -- a stable order
--   local c = tables.copy(t)                               -- shallow copy
--   local o = tables.copy(overrides, { host = "127.0.0.1" }) -- defaults, then overrides
local type, pairs, tostring = type, pairs, tostring
local sort = table.sort

local M = {}

local function by_text(a, b) return tostring(a) < tostring(b) end

--- tables.sorted_keys(t) -> a new array of the keys of t, ascending as
-- strings (tostring), so that keys of mixed types sort without error;
-- string keys come in plain string order. Anything but a table (nil, or a
-- number where a decoded document had a table) has no keys: {}.
function M.sorted_keys(t)
  local keys = {}
  if type(t) ~= "table" then return keys end
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys, by_text)
  return keys
end

--- tables.copy(t [, into]) -> into (default a new table) with every key of
-- t assigned into it: a shallow copy, or t's fields over the ones into
-- already had. Metatables are not copied.
function M.copy(t, into)
  into = into or {}
  for k, v in pairs(t) do into[k] = v end
  return into
end

--- t[k], made an empty table the first time (for maps of maps).
function M.child(t, k)
  local c = t[k]
  if c == nil then
    c = {}
    t[k] = c
  end
  return c
end

return M
