--- JUnit XML for the matrix runner (docs/ci.md): one <testsuite> per cell,
-- one <testcase> per check and threshold, in the shape CI systems read
-- (Jenkins, GitLab, GitHub test reporters: the Ant/Surefire schema).
--
--   junit.encode(suites) -> XML text
--
-- suites: array of {name=, time=, timestamp=, hostname=, properties={{name, value}},
--   cases = {{name=, classname=, time=, failure={message=, type=, text=}
--             | error={...} | skipped={message=}}}, system_out=, system_err=}
-- The counts (tests, failures, errors, skipped) are computed from the cases.
local utf8 = require "gofr_sim.util.utf8"

local type, tostring, ipairs, string_format = type, tostring, ipairs, string.format
local concat = table.concat
local gsub = string.gsub

local M = {}

--- Text made safe for XML 1.0: each byte that is not valid UTF-8 and each
-- character XML forbids (controls other than tab, newline and return;
-- U+FFFE and U+FFFF) becomes "?".
function M.clean(s)
  s = tostring(s == nil and "" or s)
  s = gsub(s, "[%z\1-\8\11\12\14-\31]", "?")
  s = gsub(s, "\239\191[\190\191]", "?") -- EF BF BE/BF: U+FFFE, U+FFFF
  return utf8.replace_invalid(s, "?")
end

local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;",
                  ["'"] = "&apos;", ["\n"] = "&#10;", ["\r"] = "&#13;", ["\t"] = "&#9;" }

--- An attribute value: cleaned, with markup and whitespace escaped (a parser
-- keeps newlines in attributes only as character references).
function M.attr(s)
  return (M.clean(s):gsub("[&<>\"'\n\r\t]", ESCAPES))
end

--- Element text: cleaned, with markup escaped.
function M.text(s)
  return (M.clean(s):gsub("[&<>]", ESCAPES))
end

local function seconds(t)
  return string_format("%.3f", type(t) == "number" and t >= 0 and t or 0)
end

local function open_tag(name, attrs)
  local parts = { "<", name }
  for _, kv in ipairs(attrs) do
    parts[#parts + 1] = (' %s="%s"'):format(kv[1], M.attr(kv[2]))
  end
  parts[#parts + 1] = ">"
  return concat(parts)
end

local OUTCOMES = { "failure", "error", "skipped" }

local function encode_case(out, c)
  local tag = open_tag("testcase", { { "name", c.name },
    { "classname", c.classname }, { "time", seconds(c.time) } })
  if not (c.failure or c.error or c.skipped) then
    out[#out + 1] = "    " .. tag:gsub(">$", "/>")
    return
  end
  out[#out + 1] = "    " .. tag
  for _, kind in ipairs(OUTCOMES) do
    local o = c[kind]
    if o then
      local attrs = { { "message", o.message or "" } }
      if kind ~= "skipped" then attrs[2] = { "type", o.type or kind } end
      out[#out + 1] = "      " .. open_tag(kind, attrs) .. M.text(o.text or o.message or "")
        .. "</" .. kind .. ">"
    end
  end
  out[#out + 1] = "    </testcase>"
end

--- The counts of a suite's cases: tests, failures, errors, skipped.
function M.counts(suite)
  local n = { tests = 0, failures = 0, errors = 0, skipped = 0 }
  for _, c in ipairs(suite.cases or {}) do
    n.tests = n.tests + 1
    if c.failure then n.failures = n.failures + 1 end
    if c.error then n.errors = n.errors + 1 end
    if c.skipped then n.skipped = n.skipped + 1 end
  end
  return n
end

local function encode_suite(out, suite, id)
  local n = M.counts(suite)
  out[#out + 1] = "  " .. open_tag("testsuite", {
    { "name", suite.name }, { "tests", n.tests }, { "failures", n.failures },
    { "errors", n.errors }, { "skipped", n.skipped }, { "time", seconds(suite.time) },
    { "timestamp", suite.timestamp or "1970-01-01T00:00:00" },
    { "hostname", suite.hostname or "localhost" }, { "id", id }, { "package", suite.name } })
  if suite.properties and #suite.properties > 0 then
    out[#out + 1] = "    <properties>"
    for _, p in ipairs(suite.properties) do
      out[#out + 1] = "      " .. open_tag("property", { { "name", p[1] }, { "value", p[2] } })
        :gsub(">$", "/>")
    end
    out[#out + 1] = "    </properties>"
  end
  for _, c in ipairs(suite.cases or {}) do encode_case(out, c) end
  out[#out + 1] = "    <system-out>" .. M.text(suite.system_out or "") .. "</system-out>"
  out[#out + 1] = "    <system-err>" .. M.text(suite.system_err or "") .. "</system-err>"
  out[#out + 1] = "  </testsuite>"
  return n
end

--- The XML document of suites (see the top of this file).
function M.encode(suites, name)
  local body, total = {}, { tests = 0, failures = 0, errors = 0, skipped = 0, time = 0 }
  for i, suite in ipairs(suites) do
    local n = encode_suite(body, suite, i - 1)
    for k, v in pairs(n) do total[k] = total[k] + v end
    total.time = total.time + (type(suite.time) == "number" and suite.time or 0)
  end
  local head = open_tag("testsuites", { { "name", name or "gofr-sim matrix" },
    { "tests", total.tests }, { "failures", total.failures }, { "errors", total.errors },
    { "skipped", total.skipped }, { "time", seconds(total.time) } })
  return concat({ '<?xml version="1.0" encoding="UTF-8"?>', head, concat(body, "\n"),
    "</testsuites>", "" }, "\n")
end

return M
