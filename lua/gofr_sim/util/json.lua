--- gofr_sim.util.json: JSON that keeps object key order, written the way
-- gofr-dig's Python writes it.
--
--   local json = require "gofr_sim.util.json"
--   local o = json.object("success", true, "url", url)   -- keys keep this order
--   o.total = 3                                          -- appended after "url"
--   json.encode(o, "pretty")   --> {\n  "success": true,\n  "url": ..., ...}
--   local doc = assert(json.decode(text))                -- objects keep file order
--   for k, v in json.pairs(doc) do ... end
--
-- Values: ordered objects (json.object / decode), arrays (json.array, or any
-- plain table with t[1] ~= nil), other plain tables are objects with sorted
-- keys (an empty plain table is {}), json.null or cjson.null, strings,
-- booleans and numbers. Integral numbers print as integers; json.float(x)
-- prints a Python float ("1.0").
--
-- Numbers are doubles, except integer literals a double cannot hold
-- exactly: decode keeps 9007199254740993 (2^53 + 1), -9223372036854775808
-- or 123456789012345678901234567890 as an exact-integer value, a table
-- holding the literal's text (json.is_integer_text(v); v[1] and
-- tostring(v) are the text; two are == when their texts are), and encode
-- writes that text as it is, so such integers round-trip like Python ints
-- (JSON-RPC ids). It is not a Lua number: use tonumber(v[1]) for the
-- nearest double. Other numbers beyond a double's range (1e400) are
-- refused by decode; encode never writes NaN or Infinity (it raises).
--
-- Ordered objects are O(1) per assignment (json.lua's OBJECT below), so
-- decoding an object of n keys is O(n).
--
-- Styles of json.encode (what the real server produces with each):
--   "pretty"  json.dumps(indent=2, ensure_ascii=True): tool result text
--   "python"  json.dumps(ensure_ascii=False): separators ", " and ": ",
--             non-ASCII kept (session blobs)
--   "compact" pydantic's model_dump_json: no spaces, non-ASCII kept
--             (JSON-RPC envelopes)
-- and gofr-sim's own files:
--   "sorted"  2-space indent, keys sorted in every object, non-ASCII kept,
--             DEL escaped, NaN and infinities written as null: the same
--             table always gives the same text (the JSON report,
--             docs/report.md; matrix.json)
local cjson = require "cjson"
local utf8 = require "gofr_sim.util.utf8"

local type, pairs, ipairs, tostring, tonumber, error, setmetatable, getmetatable, pcall =
  type, pairs, ipairs, tostring, tonumber, error, setmetatable, getmetatable, pcall
local rawget, rawset, select = rawget, rawset, select
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local byte, sub, find, format, gsub, rep =
  string.byte, string.sub, string.find, string.format, string.gsub, string.rep

local M = {}

-- An ordered object o keeps its values in o itself and its key order in
-- o[KEYS], a private table:
--   [1..n]  the keys in insertion order; a slot whose key was removed and
--           assigned again later holds TOMB instead (json.pairs skips it:
--           rawget(o, TOMB) is nil), and a key removed and not assigned
--           again keeps its slot (skipped too: its value is nil)
--   n       slots in use;  dead  slots holding TOMB
--   pos     key -> its slot, built on first need (the decoder appends
--           without it), then kept up to date
-- so assigning a key is O(1) (amortized: once tombstones are half the
-- slots, the slots are compacted).
local KEYS = {}
local TOMB = {}

local function new_order() return { n = 0, dead = 0 } end

local function slots_pos(st)
  local pos = {}
  for i = 1, st.n do pos[st[i]] = i end
  pos[TOMB] = nil
  st.pos = pos
  return pos
end

-- A new order holding only o's live keys, in order.
local function compact(o, st)
  local new, n = new_order(), 0
  for i = 1, st.n do
    local k = st[i]
    if rawget(o, k) ~= nil then
      n = n + 1
      new[n] = k
    end
  end
  new.n = n
  rawset(o, KEYS, new)
  return new
end

-- Fires only for keys without a value: a new key, or one removed earlier
-- (then it moves to the end, as in a Python dict).
local OBJECT = {
  __newindex = function(o, k, v)
    if v ~= nil then
      local st = rawget(o, KEYS)
      local pos = st.pos or slots_pos(st)
      local old = pos[k]
      if old then
        st[old] = TOMB
        st.dead = st.dead + 1
        if st.dead > 16 and 2 * st.dead > st.n then
          st = compact(o, st)
          pos = slots_pos(st)
        end
      end
      local n = st.n + 1
      st[n], st.n, pos[k] = k, n, n
    end
    rawset(o, k, v)
  end,
}
local ARRAY = {}
local FLOAT = {}
-- An exact integer the decoder could not hold in a double: { text }.
local INTEGER = {
  __tostring = function(v) return v[1] end,
  __eq = function(a, b) return a[1] == b[1] end,
}

--- The null value (cjson.null is accepted as null too).
M.null = setmetatable({}, { __tostring = function() return "null" end })
local NULL, CJSON_NULL = M.null, cjson.null

--- json.object(k1, v1, k2, v2, ...) -> an ordered object. A pair whose value
-- is nil is left out; assigning a new key later appends it.
function M.object(...)
  local o = setmetatable({ [KEYS] = new_order() }, OBJECT)
  for i = 1, select("#", ...), 2 do
    local k, v = select(i, ...)
    if v ~= nil then o[k] = v end
  end
  return o
end

--- json.array(t) -> t marked as a JSON array (so an empty one prints []).
-- t.n, when set, is the length (arrays may hold json.null).
function M.array(t)
  return setmetatable(t or {}, ARRAY)
end

--- json.float(x) -> x printed as a Python float ("1.0", not "1").
function M.float(x)
  return setmetatable({ x }, FLOAT)
end

function M.is_object(v) return getmetatable(v) == OBJECT end
function M.is_array(v) return getmetatable(v) == ARRAY end

--- Whether v is an integer json.decode kept as its text (one a double
-- cannot hold exactly); v[1] and tostring(v) are the text.
function M.is_integer_text(v) return getmetatable(v) == INTEGER end

--- Iterates an ordered object's keys and values in order (keys removed by
-- assigning nil are skipped).
function M.pairs(o)
  local st, i = rawget(o, KEYS), 0
  return function()
    while true do
      i = i + 1
      local k = st[i]
      if k == nil then return nil end
      local v = rawget(o, k)
      if v ~= nil then return k, v end
    end
  end
end

--- An ordered object's keys, in order, as an array.
function M.keys(o)
  local out = {}
  for k in M.pairs(o) do out[#out + 1] = k end
  return out
end

------------------------------------------------------------------------------
-- Encoding
------------------------------------------------------------------------------

local SHORT_ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}
local function escape_control(c)
  return SHORT_ESCAPES[c] or format("\\u%04x", byte(c))
end

-- \u escapes of a run of bytes >= 0x80 (surrogate pairs beyond U+FFFF);
-- a byte that is not UTF-8 is written as U+FFFD.
local function ascii_escape_run(run)
  local out, i, n = {}, 1, #run
  while i <= n do
    local cp
    cp, i = utf8.decode(run, i)
    cp = cp or 0xFFFD
    if cp < 0x10000 then
      out[#out + 1] = format("\\u%04x", cp)
    else
      cp = cp - 0x10000
      out[#out + 1] = format("\\u%04x\\u%04x", 0xD800 + floor(cp / 0x400), 0xDC00 + cp % 0x400)
    end
  end
  return concat(out)
end

-- Python escapes the C0 controls, '"' and '\\'; with ensure_ascii also
-- DEL and everything beyond ASCII; with del (the sorted style) also DEL.
local function encode_string(s, ascii, del)
  if not find(s, '[%z\1-\31\127"\\\128-\255]') then return '"' .. s .. '"' end
  s = gsub(s, (ascii or del) and '[%z\1-\31\127"\\]' or '[%z\1-\31"\\]', escape_control)
  s = ascii and gsub(s, "[\128-\255]+", ascii_escape_run) or utf8.replace_invalid(s)
  return '"' .. s .. '"'
end
M.encode_string = encode_string

-- The JSON text of a finite number, or nil for NaN and the infinities,
-- which are not JSON (encode refuses them, or writes null in the sorted
-- style, rather than write Python's NaN/Infinity, which no JSON reader,
-- ours included, reads).
local function encode_number(x, as_float)
  if x ~= x or x == huge or x == -huge then return nil end
  if floor(x) == x and x > -2 ^ 63 and x < 2 ^ 63 then
    local s = format("%d", x)
    return as_float and (x >= 1e16 or x <= -1e16) and format("%.17g", x)
      or as_float and s .. ".0" or s
  end
  for prec = 15, 17 do
    local s = format("%." .. prec .. "g", x)
    if tonumber(s) == x then return s end
  end
  return format("%.17g", x)
end

-- indent: spaces per level (none: one line); item, key: the separators;
-- ascii: \u-escape DEL and beyond ASCII; del: \u-escape DEL (\u007f) even
-- when not ascii; sorted: every object's keys sorted, ordered objects'
-- too; nonfinite_null: NaN and the infinities written as null (else
-- refused); strict_arrays: a plain table is an array only when its keys
-- are exactly 1..#t, else an object (its number keys as strings), so that
-- nothing is dropped (else any plain table with t[1] is an array of 1..#t).
local STYLES = {
  pretty = { indent = 2, item = ",", key = ": ", ascii = true },
  python = { item = ", ", key = ": ", ascii = false },
  compact = { item = ",", key = ":", ascii = false },
  sorted = { indent = 2, item = ",", key = ": ", ascii = false, del = true, sorted = true,
             nonfinite_null = true, strict_arrays = true },
}

local encode_value

-- Whether plain table t holds nothing but t[1..#t].
local function is_sequence(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- Whether table v, of metatable mt, is written as an array.
local function as_array(v, mt, style)
  if mt == ARRAY then return true end
  if mt ~= nil or v[1] == nil then return false end
  return not style.strict_arrays or is_sequence(v)
end

-- Where the value at `depth` is, from path[1..depth] (keys, array
-- indexes): "$.a[2].f: ", or "" for the top-level value.
local function where(path, depth)
  if depth == 0 then return "" end
  local parts = { "$" }
  for d = 1, depth do
    local k = path[d]
    parts[d + 1] = type(k) == "number" and "[" .. k .. "]" or "." .. k
  end
  return concat(parts) .. ": "
end

-- Raises "gofr_sim.util.json: <where>: <what>" for the value at depth.
local function refuse(path, depth, what)
  error("gofr_sim.util.json: " .. where(path, depth) .. what, 0)
end

-- The keys of object t as strings, sorted (an ordered object's are taken
-- in its order, then sorted).
local function sorted_names(t, ordered, path, depth)
  local keys = {}
  if ordered then
    for k in M.pairs(t) do keys[#keys + 1] = tostring(k) end
  else
    for k in pairs(t) do
      if type(k) ~= "string" and type(k) ~= "number" then
        refuse(path, depth, "object keys must be strings, got " .. type(k))
      end
      keys[#keys + 1] = tostring(k)
    end
  end
  sort(keys)
  return keys
end

local function newline(style, depth)
  if not style.indent then return "" end
  return "\n" .. rep(" ", style.indent * depth)
end

local function encode_members(out, items, style, depth, open, close)
  if #items == 0 then
    out[#out + 1] = open .. close
    return
  end
  local inner = newline(style, depth + 1)
  out[#out + 1] = open .. inner
  for i, item in ipairs(items) do
    if i > 1 then out[#out + 1] = style.item .. inner end
    out[#out + 1] = item
  end
  out[#out + 1] = newline(style, depth) .. close
end

-- The "key": value items of object v (at depth, reached by path).
local function encode_object(v, style, depth, path, ordered)
  local items = {}
  local function add(k, val)
    local name = tostring(k)
    path[depth + 1] = name
    local parts = { encode_string(name, style.ascii, style.del), style.key }
    encode_value(parts, val, style, depth + 1, path)
    items[#items + 1] = concat(parts)
  end
  if ordered and not style.sorted then
    for k, val in M.pairs(v) do add(k, val) end
  else
    for _, k in ipairs(sorted_names(v, ordered, path, depth)) do
      local val = v[k]
      if val == nil then val = v[tonumber(k)] end -- a number key
      add(k, val)
    end
  end
  return items
end

local function encode_array(v, style, depth, path)
  local items = {}
  for i = 1, v.n or #v do
    path[depth + 1] = i
    local parts = {}
    encode_value(parts, v[i] == nil and NULL or v[i], style, depth + 1, path)
    items[#items + 1] = concat(parts)
  end
  return items
end

-- The text of a number that is not JSON (NaN, an infinity) at depth: null
-- in a style that writes them so, else refused.
local function nonfinite(x, style, depth, path)
  if style.nonfinite_null then return "null" end
  refuse(path, depth, tostring(x) .. " is not a JSON number")
end

-- Appends the text of v (at depth, reached by path[1..depth]) to out.
encode_value = function(out, v, style, depth, path)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = encode_string(v, style.ascii, style.del)
  elseif t == "number" then
    out[#out + 1] = encode_number(v) or nonfinite(v, style, depth, path)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif v == NULL or v == CJSON_NULL or v == nil then
    out[#out + 1] = "null"
  elseif t == "table" then
    if depth > 200 then error("gofr_sim.util.json: nested too deeply (a cycle?)", 0) end
    local mt = getmetatable(v)
    if mt == FLOAT then
      out[#out + 1] = encode_number(v[1], true) or nonfinite(v[1], style, depth, path)
    elseif mt == INTEGER then
      out[#out + 1] = v[1]
    elseif as_array(v, mt, style) then
      encode_members(out, encode_array(v, style, depth, path), style, depth, "[", "]")
    else
      encode_members(out, encode_object(v, style, depth, path, mt == OBJECT), style, depth, "{", "}")
    end
  else
    refuse(path, depth, "cannot encode a " .. t)
  end
end

--- json.encode(value, style) -> text; style "pretty" | "python" |
-- "compact" (default) | "sorted" (STYLES above). Raises on values JSON
-- cannot hold, naming where: "gofr_sim.util.json: $.a[2].f: cannot encode
-- a function".
function M.encode(v, style)
  local s = STYLES[style or "compact"]
  if not s then error("gofr_sim.util.json.encode: unknown style '" .. tostring(style) .. "'", 2) end
  local out = {}
  encode_value(out, v, s, 0, {})
  return concat(out)
end

------------------------------------------------------------------------------
-- Decoding (keeps key order; duplicate keys refused; errors name line and
-- column)
------------------------------------------------------------------------------

local MAX_DEPTH = 64
local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

-- Raised inside the reader; caught by decode.
local function syntax(text, pos, msg)
  local line, i = 1, 1
  while true do
    local nl = find(text, "\n", i, true)
    if not nl or nl >= pos then break end
    line, i = line + 1, nl + 1
  end
  error({ json_error = format("line %d, column %d: invalid JSON: %s", line, pos - i + 1, msg) }, 0)
end

local function skip_ws(text, pos)
  return (find(text, "[^ \t\r\n]", pos)) or #text + 1
end

local read_value

local function read_escape_u(text, j)
  local hex = sub(text, j + 2, j + 5)
  if not hex:match("^%x%x%x%x$") then syntax(text, j, "bad \\u escape") end
  local cp, i = tonumber(hex, 16), j + 6
  if cp >= 0xD800 and cp <= 0xDBFF then
    local lo = sub(text, i, i + 5):match("^\\u(%x%x%x%x)$")
    local lcp = lo and tonumber(lo, 16)
    if not lcp or lcp < 0xDC00 or lcp > 0xDFFF then
      syntax(text, j, "unpaired UTF-16 surrogate in \\u escape")
    end
    return utf8.char(0x10000 + (cp - 0xD800) * 0x400 + (lcp - 0xDC00)), i + 6
  elseif cp >= 0xDC00 and cp <= 0xDFFF then
    syntax(text, j, "unpaired UTF-16 surrogate in \\u escape")
  end
  return utf8.char(cp), i
end

local function read_string(text, pos)
  -- pos is at the opening quote
  local parts, i = {}, pos + 1
  while true do
    local j = find(text, '["\\%z\1-\31]', i)
    if not j then syntax(text, pos, "unterminated string") end
    local raw = sub(text, i, j - 1)
    local bad = utf8.first_invalid(raw)
    if bad then syntax(text, i + bad - 1, "invalid UTF-8 in string") end
    parts[#parts + 1] = raw
    local c = sub(text, j, j)
    if c == '"' then return concat(parts), j + 1 end
    if c ~= "\\" then syntax(text, j, "control character in string (escape it)") end
    local e = sub(text, j + 1, j + 1)
    if ESCAPES[e] then
      parts[#parts + 1] = ESCAPES[e]
      i = j + 2
    elseif e == "u" then
      parts[#parts + 1], i = read_escape_u(text, j)
    else
      syntax(text, j, "bad escape \\" .. e)
    end
  end
end

local function read_number(text, pos)
  local s = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  local ok = s and (s:match("^-?0$") or s:match("^-?[1-9]%d*$")
    or s:match("^-?0%.%d+$") or s:match("^-?[1-9]%d*%.%d+$")
    or s:match("^-?0[eE][-+]?%d+$") or s:match("^-?[1-9]%d*[eE][-+]?%d+$")
    or s:match("^-?0%.%d+[eE][-+]?%d+$") or s:match("^-?[1-9]%d*%.%d+[eE][-+]?%d+$"))
  if not ok then syntax(text, pos, "bad number") end
  local n = tonumber(s)
  -- an integer literal of 16 characters or more may not survive a double
  -- (2^53 + 1, -2^63, 10^30): kept as its text unless the double prints
  -- back as the same text (shorter ones always do); such literals are
  -- never out of range, as Python's ints are not
  if #s >= 16 and not find(s, "[.eE]")
     and (not n or n == huge or n == -huge or encode_number(n) ~= s) then
    return setmetatable({ s }, INTEGER), pos + #s
  end
  -- beyond a double's range (1e400) or an exponent tonumber cannot read
  -- (1e9999999): refused, never decoded to an infinity or to nothing
  if not n or n == huge or n == -huge then syntax(text, pos, "number out of range") end
  return n, pos + #s
end

local LITERALS = { t = { "true", true }, f = { "false", false }, n = { "null", NULL } }

local function read_object(text, pos, depth)
  local obj = M.object()
  local st = rawget(obj, KEYS)
  pos = skip_ws(text, pos + 1)
  if sub(text, pos, pos) == "}" then return obj, pos + 1 end
  while true do
    if sub(text, pos, pos) ~= '"' then syntax(text, pos, "expected a string key") end
    local key_pos = pos
    local key
    key, pos = read_string(text, pos)
    if rawget(obj, key) ~= nil then syntax(text, key_pos, format("duplicate key %q", key)) end
    pos = skip_ws(text, pos)
    if sub(text, pos, pos) ~= ":" then syntax(text, pos, "expected ':'") end
    local v
    v, pos = read_value(text, pos + 1, depth + 1)
    -- a new key (duplicates are refused above): appended without __newindex
    local n = st.n + 1
    st[n], st.n = key, n
    rawset(obj, key, v)
    pos = skip_ws(text, pos)
    local d = sub(text, pos, pos)
    if d == "}" then return obj, pos + 1 end
    if d ~= "," then syntax(text, pos, "expected ',' or '}'") end
    pos = skip_ws(text, pos + 1)
  end
end

local function read_array(text, pos, depth)
  local arr = M.array { n = 0 }
  pos = skip_ws(text, pos + 1)
  if sub(text, pos, pos) == "]" then return arr, pos + 1 end
  while true do
    local v
    v, pos = read_value(text, pos, depth + 1)
    arr.n = arr.n + 1
    arr[arr.n] = v
    pos = skip_ws(text, pos)
    local d = sub(text, pos, pos)
    if d == "]" then return arr, pos + 1 end
    if d ~= "," then syntax(text, pos, "expected ',' or ']'") end
    pos = pos + 1
  end
end

read_value = function(text, pos, depth)
  pos = skip_ws(text, pos)
  local c = sub(text, pos, pos)
  if c == "{" or c == "[" then
    if depth >= MAX_DEPTH then syntax(text, pos, "nested too deeply") end
    return (c == "{" and read_object or read_array)(text, pos, depth)
  elseif c == '"' then
    return read_string(text, pos)
  elseif c == "-" or c:match("^%d$") then
    return read_number(text, pos)
  elseif LITERALS[c] then
    local word, value = LITERALS[c][1], LITERALS[c][2]
    if sub(text, pos, pos + #word - 1) ~= word then syntax(text, pos, "unexpected character") end
    return value, pos + #word
  elseif c == "" then
    syntax(text, pos, "unexpected end of input")
  end
  syntax(text, pos, format("unexpected character %q", c))
end

--- json.decode(text) -> value | nil, "line L, column C: invalid JSON: ..."
-- Objects are ordered objects, arrays json.array (with n), null json.null.
function M.decode(text)
  local pos = 1
  if sub(text, 1, 3) == "\239\187\191" then pos = 4 end      -- UTF-8 BOM
  local ok, value, after = pcall(read_value, text, pos, 0)
  if not ok then
    if type(value) == "table" and value.json_error then return nil, value.json_error end
    error(value, 0)
  end
  after = skip_ws(text, after)
  if after <= #text then
    local okt, e = pcall(syntax, text, after, "unexpected text after the JSON value")
    return nil, (not okt) and e.json_error or nil
  end
  return value
end

return M
