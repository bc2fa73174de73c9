--- gofr_sim.util.suggest: the nearest known name to a mistyped one, for
-- "did you mean ...?" in the messages that refuse an unknown name.
--
--   local suggest = require "gofr_sim.util.suggest"
--   suggest.nearest("duraton", { "duration", "rate" })   --> "duration"
--   suggest.hint("duraton", names, "--%s")               --> "did you mean --duration?"
--
-- Distance is Damerau-Levenshtein (optimal string alignment: insertions,
-- deletions, substitutions and swaps of neighbours each cost 1), case and
-- '-'/'_' ignored. A name is suggested when it is at most a third of the
-- mistyped name's length (at least 1, at most 2) edits away, never for a
-- name of 1 or 2 characters; the nearest wins, ties to the first in sorted
-- order. `names` is an array of names or a table keyed by them.
local type, pairs, ipairs, tostring = type, pairs, ipairs, tostring
local byte, lower, gsub = string.byte, string.lower, string.gsub
local min, max, floor, abs = math.min, math.max, math.floor, math.abs
local sort, concat = table.sort, table.concat

local M = {}

local function normal(s)
  return (gsub(lower(s), "-", "_"))
end

--- The edit distance between strings a and b (swaps of neighbours count 1).
function M.distance(a, b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev2, prev, cur = {}, {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = byte(a, i)
    for j = 1, lb do
      local cb = byte(b, j)
      local cost = ca == cb and 0 or 1
      local d = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
      if i > 1 and j > 1 and ca == byte(b, j - 1) and byte(a, i - 1) == cb then
        d = min(d, prev2[j - 2] + 1)
      end
      cur[j] = d
    end
    prev2, prev, cur = prev, cur, prev2
  end
  return prev[lb]
end

--- The most edits a name of length n may be from a suggestion.
function M.cutoff(n)
  if n <= 2 then return 0 end
  return min(2, max(1, floor(n / 3)))
end

local function list_of(names)
  local out = {}
  if names[1] ~= nil then
    for i = 1, #names do out[i] = tostring(names[i]) end
  else
    for k in pairs(names) do
      if type(k) == "string" then out[#out + 1] = k end
    end
  end
  sort(out)
  return out
end

--- The known name nearest to `name`, or nil when none is close enough.
function M.nearest(name, names)
  if type(name) ~= "string" or name == "" or type(names) ~= "table" then return nil end
  local want = normal(name)
  local limit = M.cutoff(#want)
  local best, best_d
  for _, candidate in ipairs(list_of(names)) do
    local c = normal(candidate)
    if c ~= want and abs(#c - #want) <= limit then
      local d = M.distance(want, c)
      if d <= limit and (not best_d or d < best_d) then best, best_d = candidate, d end
    end
  end
  return best
end

-- fmt: a format string ("'%s'" by default) or a function name -> text.
local function shown(fmt, name)
  if type(fmt) == "function" then return fmt(name) end
  return (fmt or "'%s'"):format(name)
end

--- "did you mean <the nearest name, formatted by fmt>?", or nil.
function M.hint(name, names, fmt)
  local near = M.nearest(name, names)
  if not near then return nil end
  return "did you mean " .. shown(fmt, near) .. "?"
end

--- The parenthesised end of an "unknown name" message: " (did you mean
-- X?)", or without a near name " (accepted: a, b, ...)" when there are at
-- most opts.most names (default 16), else opts.otherwise (e.g. " (see
-- --help)", default ""). opts.fmt formats the suggestion ("'%s'" by
-- default), opts.list_fmt the accepted names ("%s"); each may be a function.
function M.clause(name, names, opts)
  opts = opts or {}
  local hint = M.hint(name, names, opts.fmt)
  if hint then return " (" .. hint .. ")" end
  local list = list_of(names)
  if #list > 0 and #list <= (opts.most or 16) then
    for i, n in ipairs(list) do list[i] = shown(opts.list_fmt or "%s", n) end
    return " (accepted: " .. concat(list, ", ") .. ")"
  end
  return opts.otherwise or ""
end

return M
