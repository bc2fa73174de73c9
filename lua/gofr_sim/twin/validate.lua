--- gofr_sim.twin.validate: tool-argument validation as the real server does
-- it, down to the message text.
--
--   local validate = require "gofr_sim.twin.validate"
--   local ok, msg = validate.check(tool.inputSchema, arguments)
--   if not ok then  -- isError:true, text "Input validation error: " .. msg
--
-- The MCP SDK (1.23.1, lowlevel/server.py call_tool) runs
-- `jsonschema.validate(arguments, inputSchema)` and reports `e.message` of the
-- error `jsonschema.exceptions.best_match` picks from all the errors
-- (python-jsonschema 4.23..4.26, Draft 2020-12). We collect every error the
-- same way and pick the same one:
--
--   * best_match keeps the maximum of relevance(e) = (-len(path), path,
--     keyword not anyOf/oneOf, False, not instance-matches-the-schema's-type);
--     Python's max keeps the first of equal errors.
--   * So a missing required property (path []) beats any bad property value
--     (path [name]); of several missing ones the first in `required` wins; of
--     bad values at different properties the name that sorts LAST wins
--     (byte order = code point order); of errors at one property the first
--     keyword in schema order wins (type before enum/minimum/maximum, as in
--     gofr-dig's schemas).
--
-- Supported keywords are exactly those gofr-dig's schemas use: type (a name
-- or a list of names), enum, minimum, maximum, properties,
-- additionalProperties (a schema or false), required; description, default
-- and title are ignored. Any other keyword raises: silently skipping one
-- would pass calls the real server rejects.
--
-- Instances: plain tables from lua-cjson (t[1] ~= nil is an array, else an
-- object; an empty table is both an empty object and an empty array),
-- gofr_sim.util.json ordered objects and arrays, cjson.null and json.null (None),
-- strings, booleans, numbers. A number is an "integer" when it is integral
-- (jsonschema also accepts 1.0), and is printed as a Python int then.
local cjson = require "cjson"
local json = require "gofr_sim.util.json"
local utf8 = require "gofr_sim.util.utf8"
local tables = require "gofr_sim.util.tables"

local type, pairs, ipairs, next, tostring, tonumber, error, getmetatable, unpack =
  type, pairs, ipairs, next, tostring, tonumber, error, getmetatable, unpack
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local byte, format, sub = string.byte, string.format, string.sub

local M = {}

local CJSON_NULL, JSON_NULL = cjson.null, json.null

------------------------------------------------------------------------------
-- What a value is, in JSON terms
------------------------------------------------------------------------------

local function is_null(v) return v == CJSON_NULL or v == JSON_NULL end

-- "object", "array" or "empty" (a plain empty table, which may be either)
-- for tables that are JSON values; nil for anything else.
local function table_kind(v)
  if type(v) ~= "table" or v == JSON_NULL then return nil end
  if json.is_array(v) then return "array" end
  if json.is_object(v) then return "object" end
  if getmetatable(v) ~= nil then return nil end
  if v[1] ~= nil then return "array" end
  if next(v) == nil then return "empty" end
  return "object"
end

local function is_integral(x)
  return x == x and x ~= huge and x ~= -huge and floor(x) == x
end

local TYPE_CHECKS = {
  string = function(v) return type(v) == "string" end,
  boolean = function(v) return type(v) == "boolean" end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return type(v) == "number" and is_integral(v) end,
  null = is_null,
  object = function(v)
    local k = table_kind(v)
    return k == "object" or k == "empty"
  end,
  array = function(v)
    local k = table_kind(v)
    return k == "array" or k == "empty"
  end,
}

local function is_type(v, name)
  local check = TYPE_CHECKS[name]
  if not check then error("gofr_sim.twin.validate: unknown type '" .. tostring(name) .. "'", 0) end
  return check(v)
end

-- Array elements 1..n (gofr_sim.util.json arrays carry n, as they may hold nulls).
local function array_length(v)
  return json.is_array(v) and v.n or #v
end

-- Keys of an object in a stable order: insertion order for ordered objects,
-- sorted (as strings) for plain tables, whose order is lost.
local function object_keys(v)
  if json.is_object(v) then return json.keys(v) end
  return tables.sorted_keys(v)
end

------------------------------------------------------------------------------
-- Python repr
------------------------------------------------------------------------------

-- Non-ASCII code points Python's str.isprintable() rejects (categories Cc,
-- Cf, Zs, Zl, Zp as of Unicode 14, surrogates, private use, noncharacters,
-- and planes 4-13, unassigned in every version); repr escapes them. Other
-- unassigned code points (Cn) depend on Python's Unicode version and are
-- printed as is.
local NON_PRINTABLE = {
  { 0x80, 0xA0 }, { 0xAD, 0xAD }, { 0x600, 0x605 }, { 0x61C, 0x61C }, { 0x6DD, 0x6DD },
  { 0x70F, 0x70F }, { 0x890, 0x891 }, { 0x8E2, 0x8E2 }, { 0x1680, 0x1680 }, { 0x180E, 0x180E },
  { 0x2000, 0x200F }, { 0x2028, 0x202F }, { 0x205F, 0x2064 }, { 0x2066, 0x206F },
  { 0x3000, 0x3000 }, { 0xD800, 0xF8FF }, { 0xFDD0, 0xFDEF }, { 0xFEFF, 0xFEFF },
  { 0xFFF9, 0xFFFB }, { 0xFFFE, 0xFFFF }, { 0x110BD, 0x110BD }, { 0x110CD, 0x110CD },
  { 0x13430, 0x13438 }, { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A }, { 0x40000, 0xDFFFF },
  { 0xE0001, 0xE0001 },
  { 0xE0020, 0xE007F }, { 0xF0000, 0x10FFFF },
}

local function printable(cp)
  for _, r in ipairs(NON_PRINTABLE) do
    if cp < r[1] then return true end
    if cp <= r[2] then return false end
  end
  return true
end

local SHORT_ESCAPES = { [0x5C] = "\\\\", [0x09] = "\\t", [0x0A] = "\\n", [0x0D] = "\\r" }

local function escape_code_point(cp)
  if cp <= 0xFF then return format("\\x%02x", cp) end
  if cp <= 0xFFFF then return format("\\u%04x", cp) end
  return format("\\U%08x", cp)
end

-- repr(str): single quotes unless the text has ' and no ", then double
-- quotes; backslash, the quote, \t \n \r and non-printables escaped; other
-- characters (non-ASCII included) kept. The bytes are read as gofr-dig's
-- json.loads(bytes) reads a request (surrogatepass: ED A0 80 is the lone
-- surrogate U+D800, printed '\ud800'); other bytes that are not UTF-8 print
-- as \xNN.
local function str_repr(s)
  local quote = (s:find("'", 1, true) and not s:find('"', 1, true)) and '"' or "'"
  local out = { quote }
  for i, cp, after in utf8.codes(s, true) do
    local piece
    if cp == nil then
      piece = format("\\x%02x", byte(s, i))
    elseif SHORT_ESCAPES[cp] then
      piece = SHORT_ESCAPES[cp]
    elseif cp == byte(quote) then
      piece = "\\" .. quote
    elseif cp < 0x20 or cp == 0x7F then
      piece = format("\\x%02x", cp)
    elseif cp < 0x80 or printable(cp) then
      piece = sub(s, i, after - 1)
    else
      piece = escape_code_point(cp)
    end
    out[#out + 1] = piece
  end
  out[#out + 1] = quote
  return concat(out)
end

-- digits (a decimal digit string) plus one in the last place.
local function increment(digits)
  local head, nines = digits:match("^(%d-)(9*)$")
  if head == "" then return "1" .. ("0"):rep(#nines) end
  return sub(head, 1, -2) .. (byte(head, -1) - 47) .. ("0"):rep(#nines)
end

-- digits, exp rounded to p significant digits, ties to even (as Python's
-- dtoa; LuaJIT's format rounds ties up).
local function round_half_even(digits, exp, p)
  local head, first = sub(digits, 1, p), byte(digits, p + 1) - 48
  local up = first > 5
    or (first == 5 and (sub(digits, p + 2):find("[1-9]") ~= nil or (byte(head, p) - 48) % 2 == 1))
  if up then
    head = increment(head)
    if #head > p then head, exp = sub(head, 1, p), exp + 1 end
  end
  return head, exp
end

-- x's shortest round-trip digits (no trailing zeros, closest to x among the
-- shortest: Python's repr digits) and its decimal exponent.
local function shortest_digits(x)
  -- %.98e is exact for every double whose expansion is short enough to tie.
  local int, frac, exp = format("%.98e", x):match("^-?(%d)%.(%d+)e([-+]%d+)$")
  local all = int .. frac
  exp = tonumber(exp)
  for p = 1, 17 do
    local digits, e = round_half_even(all, exp, p)
    local text = sub(digits, 1, 1) .. "." .. sub(digits, 2) .. "e" .. e
    if tonumber(text) == (x < 0 and -x or x) then
      digits = digits:gsub("0+$", "")
      return digits == "" and "0" or digits, e
    end
  end
  return (all:sub(1, 17):gsub("0+$", "")), exp
end

-- repr(float) for a finite x: shortest round-trip digits, positional for
-- 1e-4 <= |x| < 1e16 (always with a fraction, "2.0"), else "1.5e-07".
local function float_repr(x)
  local sign = (x < 0 or 1 / x < 0) and "-" or ""
  local digits, exp = shortest_digits(x)
  if exp < -4 or exp >= 16 then
    local mantissa = #digits > 1 and (sub(digits, 1, 1) .. "." .. sub(digits, 2)) or digits
    return format("%s%se%s%02d", sign, mantissa, exp < 0 and "-" or "+", exp < 0 and -exp or exp)
  end
  if exp < 0 then return sign .. "0." .. ("0"):rep(-exp - 1) .. digits end
  if #digits <= exp + 1 then return sign .. digits .. ("0"):rep(exp + 1 - #digits) .. ".0" end
  return sign .. sub(digits, 1, exp + 1) .. "." .. sub(digits, exp + 2)
end

-- Integral numbers print as Python ints (JSON 1 and 1.0 both arrive as 1);
-- beyond 2^63, where a JSON integer could not have survived anyway, as floats.
local function number_repr(x)
  if x ~= x then return "nan" end
  if x == huge then return "inf" end
  if x == -huge then return "-inf" end
  if floor(x) == x and x > -2 ^ 63 and x < 2 ^ 63 then
    if x == 0 then return "0" end
    return format("%.0f", x)
  end
  return float_repr(x)
end

local repr

local function list_repr(v)
  local parts = {}
  for i = 1, array_length(v) do parts[i] = repr(v[i]) end
  return "[" .. concat(parts, ", ") .. "]"
end

local function dict_repr(v)
  local parts = {}
  for _, k in ipairs(object_keys(v)) do
    parts[#parts + 1] = repr(k) .. ": " .. repr(v[k])
  end
  return "{" .. concat(parts, ", ") .. "}"
end

--- validate.python_repr(value) -> Python's repr() of the value decoded from
-- JSON: 'text' (Python escaping), True/False/None, 1 / 1.5 / 1e-05,
-- [1, 'a'], {'a': 1}. A plain empty table prints as {} (cjson cannot tell
-- {} from []); plain-table dict keys are sorted, ordered objects keep their
-- order.
function M.python_repr(v)
  local t = type(v)
  if t == "string" then return str_repr(v) end
  if t == "number" then return number_repr(v) end
  if t == "boolean" then return v and "True" or "False" end
  if is_null(v) then return "None" end
  local kind = table_kind(v)
  if kind == "array" then return list_repr(v) end
  if kind == "object" or kind == "empty" then return dict_repr(v) end
  error("gofr_sim.twin.validate: not a JSON value: " .. tostring(v), 0)
end
repr = M.python_repr

------------------------------------------------------------------------------
-- Keywords
------------------------------------------------------------------------------

-- An error is { path = {...}, message = "...", matches_type = bool }, where
-- matches_type says whether the instance satisfies the `type` of the schema
-- holding the failing keyword (false when that schema has none).
local function schema_type_matches(schema, instance)
  local t = schema.type
  if t == nil then return false end
  if type(t) == "string" then return is_type(instance, t) end
  for _, name in ipairs(t) do
    if is_type(instance, name) then return true end
  end
  return false
end

local function add_error(ctx, message)
  ctx.errors[#ctx.errors + 1] = {
    path = ctx.path,
    message = message,
    matches_type = schema_type_matches(ctx.schema, ctx.instance),
  }
end

local descend   -- (schema, instance, path, errors)

local function path_plus(path, key)
  local p = { unpack(path) }
  p[#p + 1] = key
  return p
end

-- Deep equality as jsonschema's `equal`: booleans never equal numbers.
local function json_equal(a, b)
  if a == b then return true end
  if is_null(a) and is_null(b) then return true end
  local ka, kb = table_kind(a), table_kind(b)
  if not ka or not kb then return false end
  if ka == "array" or kb == "array" then
    if ka == "object" or kb == "object" then return false end
    local n = array_length(a)
    if n ~= array_length(b) then return false end
    for i = 1, n do
      if not json_equal(a[i], b[i]) then return false end
    end
    return true
  end
  local ak, bk = object_keys(a), object_keys(b)
  if #ak ~= #bk then return false end
  for _, k in ipairs(ak) do
    if b[k] == nil or not json_equal(a[k], b[k]) then return false end
  end
  return true
end

local KEYWORDS = {}

function KEYWORDS.type(ctx, types)
  local list = type(types) == "table" and types or { types }
  local reprs = {}
  for i, name in ipairs(list) do
    if is_type(ctx.instance, name) then return end
    reprs[i] = str_repr(name)
  end
  add_error(ctx, repr(ctx.instance) .. " is not of type " .. concat(reprs, ", "))
end

function KEYWORDS.enum(ctx, values)
  for _, each in ipairs(values) do
    if json_equal(each, ctx.instance) then return end
  end
  add_error(ctx, repr(ctx.instance) .. " is not one of " .. list_repr(values))
end

function KEYWORDS.minimum(ctx, minimum)
  local v = ctx.instance
  if type(v) == "number" and v < minimum then
    add_error(ctx, repr(v) .. " is less than the minimum of " .. repr(minimum))
  end
end

function KEYWORDS.maximum(ctx, maximum)
  local v = ctx.instance
  if type(v) == "number" and v > maximum then
    add_error(ctx, repr(v) .. " is greater than the maximum of " .. repr(maximum))
  end
end

function KEYWORDS.properties(ctx, properties)
  if not is_type(ctx.instance, "object") then return end
  for _, name in ipairs(object_keys(properties)) do
    local v = ctx.instance[name]
    if v ~= nil then descend(properties[name], v, path_plus(ctx.path, name), ctx.errors) end
  end
end

function KEYWORDS.additionalProperties(ctx, ap)
  if not is_type(ctx.instance, "object") then return end
  local known, extras = ctx.schema.properties or {}, {}
  for _, k in ipairs(object_keys(ctx.instance)) do
    if known[k] == nil then extras[#extras + 1] = k end
  end
  if type(ap) == "table" then
    for _, k in ipairs(extras) do
      descend(ap, ctx.instance[k], path_plus(ctx.path, k), ctx.errors)
    end
  elseif ap == false and #extras > 0 then
    sort(extras)
    local reprs = {}
    for i, k in ipairs(extras) do reprs[i] = repr(k) end
    add_error(ctx, ("Additional properties are not allowed (%s %s unexpected)")
      :format(concat(reprs, ", "), #extras == 1 and "was" or "were"))
  end
end

function KEYWORDS.required(ctx, required)
  if not is_type(ctx.instance, "object") then return end
  for _, name in ipairs(required) do
    if ctx.instance[name] == nil then add_error(ctx, repr(name) .. " is a required property") end
  end
end

-- Evaluation order within one schema (gofr-dig writes `type` first, then
-- enum, minimum, maximum; `required` after `properties`). Only errors at the
-- same path compete on this order.
local ORDER = {
  "type", "enum", "minimum", "maximum", "properties", "additionalProperties", "required",
}
local IGNORED = { description = true, default = true, title = true }

descend = function(schema, instance, path, errors)
  for k in pairs(schema) do
    if not KEYWORDS[k] and not IGNORED[k] then
      error("gofr_sim.twin.validate: unsupported schema keyword '" .. tostring(k) .. "'", 0)
    end
  end
  local ctx = { schema = schema, instance = instance, path = path, errors = errors }
  for _, k in ipairs(ORDER) do
    if schema[k] ~= nil then KEYWORDS[k](ctx, schema[k]) end
  end
end

------------------------------------------------------------------------------
-- best_match
------------------------------------------------------------------------------

-- relevance(a) > relevance(b) in best_match's terms (no anyOf/oneOf here).
local function more_relevant(a, b)
  if #a.path ~= #b.path then return #a.path < #b.path end
  for i = 1, #a.path do
    local x, y = a.path[i], b.path[i]
    if x ~= y then return tostring(x) > tostring(y) end
  end
  return b.matches_type and not a.matches_type
end

local function best_match(errors)
  local best = errors[1]
  for i = 2, #errors do
    if more_relevant(errors[i], best) then best = errors[i] end
  end
  return best
end

--- validate.check(schema, args) -> true | false, message
-- message is jsonschema's e.message for the error best_match picks (without
-- the "Input validation error: " prefix). args nil or null count as {} (the
-- SDK validates `arguments or {}`). Raises on a schema keyword outside the
-- supported set.
function M.check(schema, args)
  if args == nil or is_null(args) then args = {} end
  local errors = {}
  descend(schema, args, {}, errors)
  if #errors == 0 then return true end
  return false, best_match(errors).message
end

return M
