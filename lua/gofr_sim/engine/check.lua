--- Argument checks for the public Lua API. Misuse raises an error that
-- names the function and the option and points at the caller's file:line:
-- the first frame outside lua/gofr_sim, so a scenario's author sees their
-- own line, not ours.
local tables = require "gofr_sim.util.tables"
local suggest = require "gofr_sim.util.suggest"

local type, error, tostring, pairs = type, error, tostring, pairs
local concat = table.concat
local getinfo = debug.getinfo

local M = {}

-- "@/path/to/lua/gofr_sim/" — the source prefix of this package's modules
-- (this file is gofr_sim/engine/check.lua).
local PACKAGE = getinfo(1, "S").source:match("^(@.*/)engine/[^/]*$") or "@"

--- "file:line: " of the first caller outside the gofr_sim modules, or "".
function M.caller_position()
  for level = 3, 20 do
    local info = getinfo(level, "Sl")
    if not info then break end
    if info.currentline > 0 and info.source:sub(1, #PACKAGE) ~= PACKAGE then
      return info.short_src .. ":" .. info.currentline .. ": "
    end
  end
  return ""
end

--- Raises "<caller position><fname>: <msg>".
function M.fail(fname, msg)
  error(M.caller_position() .. fname .. ": " .. msg, 0)
end

--- The keys of spec, sorted and joined with ", " (for "accepted: ..." messages).
local function names(spec)
  return concat(tables.sorted_keys(spec), ", ")
end

M.names = names

--- The end of a message refusing option `name` of spec: " (did you mean
-- 'x'?)" (gofr_sim.util.suggest), else " (accepted: <every name>)".
function M.unknown_clause(name, spec)
  return suggest.clause(name, spec, { most = math.huge })
end

--- Checks an options table against spec {name = "type" or "type|type"}:
-- unknown names and wrong types raise, naming the option. Returns opts.
function M.options(fname, opts, spec)
  if type(opts) ~= "table" then
    M.fail(fname, "expected an options table, got " .. type(opts))
  end
  for k, v in pairs(opts) do
    local want = spec[k]
    if not want then
      M.fail(fname, ("unknown option '%s'%s"):format(tostring(k), M.unknown_clause(k, spec)))
    end
    local got = type(v)
    if want ~= got and not ("|" .. want .. "|"):find("|" .. got .. "|", 1, true) then
      M.fail(fname, ("option '%s' must be a %s, got %s"):format(k, (want:gsub("|", " or ")), got))
    end
  end
  return opts
end

return M
