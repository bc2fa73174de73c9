-- The Lua side of fuzz/json_fuzz.c: returns check(text), run for every
-- fuzz input on one LuaJIT state.
--
-- The chunk's argument is utf8_valid(s): whether s is well-formed UTF-8
-- (fuzz.h's gs_fuzz_utf8_valid).
--
-- check raises (an oracle failure) when gofr_sim.util.json breaks its contract:
-- decode either returns a value or nil and a "line L, column C: invalid
-- JSON: ..." message, never raises; an accepted text encodes (compact) to a
-- text that decodes to an equal value (same key order, same array lengths)
-- and encodes again to the same text. It returns a string naming how
-- gofr_sim.util.json and lua-cjson differ on this text (acceptance or value) the
-- first time such a difference is seen, else nil: the project refuses some
-- texts cjson takes on purpose (duplicate keys, depth), so differences are
-- reported, not failures. One known break of the round trip is reported the
-- same way instead of failing, so the target keeps looking for others:
-- decode keeps bytes that are not UTF-8 in strings, encode writes them as
-- U+FFFD.
--
-- An integer literal a double cannot hold exactly (2^53 + 1) decodes to an
-- exact-integer value (json.is_integer_text): equal to another when the
-- texts are, and to cjson's number when its text reads as that double.
local utf8_valid = ...
local json = require "gofr_sim.util.json"
local cjson = require("cjson").new()

local seen = {}
local lossy -- set by same: an invalid UTF-8 string came back as U+FFFD

-- Strings a and b are equal, or a is not UTF-8 and b is what encode made
-- of it (then lossy is set).
local function same_string(a, b)
  if a == b then return true end
  if not utf8_valid(a) and utf8_valid(b) and #b >= #a then
    lossy = true
    return true
  end
  return false
end

-- Whether gofr_sim.util.json's value a equals b; b is cjson's when loose
-- (key order ignored, {} matches [] and json.null matches cjson.null).
local function same(a, b, loose)
  if json.is_integer_text(a) then
    if loose then return type(b) == "number" and tonumber(a[1]) == b end
    return json.is_integer_text(b) and a[1] == b[1]
  end
  if type(a) ~= "table" or a == json.null then
    if loose and a == json.null then return b == cjson.null end
    if not loose and type(a) == "string" and type(b) == "string" then return same_string(a, b) end
    return a == b
  end
  if type(b) ~= "table" then return false end
  if json.is_array(a) then
    local n = loose and #b or b.n
    if n ~= a.n or (not loose and not json.is_array(b)) then return false end
    for i = 1, a.n do
      if not same(a[i], b[i], loose) then return false end
    end
    return true
  end
  if not loose and not json.is_object(b) then return false end
  local ka = json.keys(a)
  if loose then
    local nb = 0
    for _ in pairs(b) do nb = nb + 1 end
    if nb ~= #ka then return false end
  else
    local kb = json.keys(b)
    if #kb ~= #ka then return false end
    for i = 1, #ka do
      if not same_string(ka[i], kb[i]) or not same(a[ka[i]], b[kb[i]], false) then return false end
    end
    return true
  end
  for _, k in ipairs(ka) do
    if not same(a[k], b[k], true) then return false end
  end
  return true
end

-- name the first time it is seen, else nil.
local function once(name)
  if seen[name] then return nil end
  seen[name] = true
  return name
end

-- A difference, named without positions, characters or numbers, so each
-- kind is reported once.
local function differ(kind, why)
  return once(kind .. ": " .. tostring(why):gsub("line %d+, column %d+: ", "")
    :gsub("%b''", "''"):gsub('%b""', '""'):gsub("%d+", "N"))
end

return function(text)
  local ok, v, err = pcall(json.decode, text)
  assert(ok, "json.decode raised: " .. tostring(v))
  local cok, cv = pcall(cjson.decode, text)
  if v == nil then
    assert(type(err) == "string" and err:match("^line %d+, column %d+: invalid JSON: "),
      "json.decode failed without a located message: " .. tostring(err))
    if cok then return differ("refused here, cjson accepts", err) end
    return nil
  end
  local eok, t = pcall(json.encode, v)
  assert(eok, "json.encode of an accepted value raised: " .. tostring(t))
  local v2, err2 = json.decode(t)
  assert(v2 ~= nil, "json.decode of json.encode's text failed: " .. tostring(err2) .. " in " .. t)
  lossy = false
  assert(same(v, v2, false), "decode(encode(decode(text))) differs from decode(text): " .. t)
  assert(json.encode(v2) == t, "json.encode is not stable on its own output: " .. t)
  if lossy then
    local name = once("round trip: bytes that are not UTF-8 in a string are kept by decode, "
      .. "written as U+FFFD by encode")
    if name then return name end
  end
  if not cok then return differ("accepted here, cjson refuses", cv) end
  if not same(v, cv, true) then return differ("both accept, values differ", t) end
  return nil
end
