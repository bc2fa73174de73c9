--- gofr_sim.util.utf8: the one UTF-8 decoder of gofr-sim, strict as
-- RFC 3629 and Python's bytes.decode("utf-8"): no surrogates (U+D800 to
-- U+DFFF; but see surrogatepass below), no overlong forms, nothing above
-- U+10FFFF, and a sequence cut short is invalid.
--
--   local utf8 = require "gofr_sim.util.utf8"
--   utf8.decode(s, i [, surrogatepass]) -> cp, next | nil, i + 1, problem, span
--   utf8.first_invalid(s)        -> i, problem, span | nil (valid)
--   for i, cp, after in utf8.codes(s [, surrogatepass]) do ... end  (cp nil: an invalid byte)
--   utf8.replace_invalid(s [, replacement = U+FFFD]) -> s made valid
--   utf8.char(cp)                -> the UTF-8 bytes of code point cp
--   utf8.char_count(s), utf8.char_slice(s, first, count): characters of valid text
--
-- Invalid bytes are taken one at a time: a byte that does not start a
-- valid sequence is invalid by itself, and decoding goes on at the next
-- byte (so "\xE4\xB8" is two invalid bytes, each replaced).
--
-- Users: util/json (strings it reads and writes), the twin's fetcher
-- (Python's strict decode of a page body), validate (Python's repr of a
-- string), report/junit (XML text) and report/prometheus (label values).
--
-- Surrogates. Strict decoding refuses the encoded surrogates (ED A0 80 to
-- ED BF BF), as Python's bytes.decode("utf-8") does. But gofr-dig's MCP SDK
-- (1.23.1) reads a request body with json.loads(bytes), which decodes with
-- Python's "surrogatepass" error handler: a string argument holding those
-- bytes reaches gofr-dig as a str with a lone surrogate (U+D800..U+DFFF),
-- which jsonschema's messages print as '\ud800'. decode and codes take
-- surrogatepass = true for that reading; the twin's repr of request strings
-- (twin/validate) uses it, and every other user decodes strictly (the
-- fetcher's decode of a page body, JSON text, JUnit XML, Prometheus labels).
local byte, char, find, gsub, sub, select = string.byte, string.char, string.find,
  string.gsub, string.sub, select
local concat = table.concat
local floor = math.floor

local M = {}

--- U+FFFD REPLACEMENT CHARACTER, as UTF-8.
M.REPLACEMENT = "\239\191\189"

-- The range of the byte after lead byte b (Unicode's table of well-formed
-- sequences: this is where overlongs, surrogates and > U+10FFFF are cut).
local function second_range(b)
  if b == 0xE0 then return 0xA0, 0xBF end
  if b == 0xED then return 0x80, 0x9F end
  if b == 0xF0 then return 0x90, 0xBF end
  if b == 0xF4 then return 0x80, 0x8F end
  return 0x80, 0xBF
end

--- utf8.decode(s, i [, surrogatepass]) -> cp, next | nil, i + 1, problem, span
-- The code point of the sequence starting at byte i (1 <= i <= #s) and the
-- index after it; with surrogatepass, an encoded surrogate is one too (as
-- Python's "surrogatepass" handler reads it). When the byte at i does not
-- start a valid sequence: nil, i + 1, problem in Python's words ("invalid
-- start byte", "invalid continuation byte", "unexpected end of data") and
-- span, the bytes from i that Python reports as the one error (the lead
-- byte and the continuation bytes that fit: the maximal subpart, 1 to 3).
local function decode(s, i, surrogatepass)
  local b = byte(s, i)
  if b < 0x80 then return b, i + 1 end
  local need, cp
  if b >= 0xC2 and b <= 0xDF then
    need, cp = 1, b - 0xC0
  elseif b >= 0xE0 and b <= 0xEF then
    need, cp = 2, b - 0xE0
  elseif b >= 0xF0 and b <= 0xF4 then
    need, cp = 3, b - 0xF0
  else
    return nil, i + 1, "invalid start byte", 1
  end
  local lo, hi = second_range(b)
  if surrogatepass and b == 0xED then hi = 0xBF end
  for k = 1, need do
    local c = byte(s, i + k)
    if not c or c < lo or c > hi then
      return nil, i + 1, c and "invalid continuation byte" or "unexpected end of data", k
    end
    cp = cp * 64 + (c - 0x80)
    lo, hi = 0x80, 0xBF
  end
  return cp, i + need + 1
end
M.decode = decode

--- utf8.first_invalid(s) -> i, problem, span | nil
-- The index of the first byte of s that is not part of valid UTF-8, with
-- decode's problem and span; nil when all of s is valid.
function M.first_invalid(s)
  local i = find(s, "[\128-\255]")
  while i do
    local cp, after, problem, span = decode(s, i)
    if not cp then return i, problem, span end
    i = find(s, "[\128-\255]", after)
  end
  return nil
end

--- for i, cp, after in utf8.codes(s [, surrogatepass]) do ... end
-- The sequences of s in order: where each starts, its code point (nil for
-- an invalid byte, which is one step by itself) and the index after it;
-- surrogatepass as for decode.
function M.codes(s, surrogatepass)
  local i, n = 1, #s
  return function()
    if i > n then return nil end
    local start = i
    local cp, after = decode(s, i, surrogatepass)
    i = after
    return start, cp, after
  end
end

-- A run of bytes >= 0x80 with each invalid byte replaced.
local function replace_in_run(run, replacement)
  local out, i, n = {}, 1, #run
  while i <= n do
    local cp, after = decode(run, i)
    out[#out + 1] = cp and sub(run, i, after - 1) or replacement
    i = after
  end
  return concat(out)
end

--- utf8.replace_invalid(s [, replacement]) -> s with every byte that is not
-- part of valid UTF-8 replaced by replacement (default U+FFFD); s itself
-- when it is valid.
function M.replace_invalid(s, replacement)
  if not find(s, "[\128-\255]") then return s end
  replacement = replacement or M.REPLACEMENT
  -- ASCII ends every sequence, so runs of high bytes decode on their own
  return (gsub(s, "[\128-\255]+", function(run) return replace_in_run(run, replacement) end))
end

--- utf8.char(cp) -> the UTF-8 bytes of code point cp (0 <= cp <= 0x10FFFF;
-- the caller keeps surrogates out).
function M.char(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return char(0xF0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40,
              0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

--- utf8.char_count(s) -> the characters (code points) of valid UTF-8 text,
-- as Python's len() of the str: the bytes that are not continuation bytes.
function M.char_count(s)
  return #s - select(2, gsub(s, "[\128-\191]", ""))
end

-- Byte offset where character number n (0-based) starts, counting from
-- byte from_byte, which is character from_char; #s + 1 past the end.
local function byte_offset(s, n, from_byte, from_char)
  local i, c = from_byte or 1, from_char or 0
  local len = #s
  while i <= len do
    local b = byte(s, i)
    if b < 0x80 or b >= 0xC0 then
      if c == n then return i end
      c = c + 1
    end
    i = i + 1
  end
  return len + 1
end

--- utf8.char_slice(s, first, count) -> characters [first, first + count)
-- of valid UTF-8 text (0-based first), as Python's s[first:first + count].
function M.char_slice(s, first, count)
  local a = byte_offset(s, first)
  local b = byte_offset(s, first + count, a, first)
  return sub(s, a, b - 1)
end

return M
