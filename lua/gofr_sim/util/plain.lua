--- gofr_sim.util.plain: plain data (nil, booleans, numbers, strings and
-- tables of them, keys of any of those types) as Lua source text and back,
-- exactly — what crosses from a run's coordinator to its worker threads
-- and back (they share no memory: everything is copied by value).
--
--   local text, dropped = plain.encode(value)   -- dropped: paths left out
--   local value = plain.decode(text)
--
-- Functions, userdata and coroutines cannot be copied: encode leaves them
-- (and tables with a metatable's behaviour: only their raw fields are
-- copied) out, and lists where it found them ("site.close"). A table met
-- twice on one path (a cycle) is an error; one shared by two paths is
-- copied twice.
local type, tostring, pairs, error = type, tostring, pairs, error
local format, concat = string.format, table.concat
local floor, huge = math.floor, math.huge

local M = {}

local function number_text(x)
  if x ~= x then return "0/0" end
  if x == huge then return "1/0" end
  if x == -huge then return "-1/0" end
  if x == floor(x) and x > -2 ^ 53 and x < 2 ^ 53 then return format("%d", x) end
  return format("%.17g", x)
end

local function key_path(path, k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then
    return path == "" and k or (path .. "." .. k)
  end
  return format("%s[%s]", path, type(k) == "string" and format("%q", k) or tostring(k))
end

local encode_value

local function encode_table(t, out, path, open, dropped)
  if open[t] then error(("plain.encode: %s refers back to a table that holds it (a cycle)")
    :format(path == "" and "the value" or path), 0) end
  open[t] = true
  out[#out + 1] = "{"
  local n = #t
  for i = 1, n do
    if not encode_value(t[i], out, key_path(path, i), open, dropped) then out[#out + 1] = "nil" end
    out[#out + 1] = ","
  end
  for k, v in pairs(t) do
    local tk = type(k)
    local in_array = tk == "number" and k >= 1 and k <= n and k == floor(k)
    if not in_array then
      local p = key_path(path, k)
      if tk ~= "string" and tk ~= "number" and tk ~= "boolean" then
        dropped[#dropped + 1] = p
      else
        local mark = #out
        out[#out + 1] = "["
        out[#out + 1] = tk == "string" and format("%q", k) or tk == "number" and number_text(k)
          or tostring(k)
        out[#out + 1] = "]="
        if encode_value(v, out, p, open, dropped) then
          out[#out + 1] = ","
        else
          for j = #out, mark + 1, -1 do out[j] = nil end
        end
      end
    end
  end
  out[#out + 1] = "}"
  open[t] = nil
end

-- Appends v's text to out; false (nothing appended) when v cannot be copied.
function encode_value(v, out, path, open, dropped)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = format("%q", v)
  elseif t == "number" then
    out[#out + 1] = number_text(v)
  elseif t == "boolean" or t == "nil" then
    out[#out + 1] = tostring(v)
  elseif t == "table" then
    encode_table(v, out, path, open, dropped)
  else
    dropped[#dropped + 1] = path == "" and ("the value (a " .. t .. ")") or path
    return false
  end
  return true
end

--- The text of value v, and the paths of what was left out (see above).
function M.encode(v)
  local out, dropped = { "return " }, {}
  if not encode_value(v, out, "", {}, dropped) then out[#out + 1] = "nil" end
  return concat(out), dropped
end

--- The value of a text made by encode. Raises on any other text.
function M.decode(text)
  local chunk, err = loadstring(text, "=plain")
  if not chunk then error("plain.decode: not plain data: " .. tostring(err), 2) end
  setfenv(chunk, {})
  return chunk()
end

return M
