--- Expected outcomes: which endings of a call are the point, not errors.
--
-- A call (sim.http's and session:call's `expect` option), a persona mix
-- group (`"expect"` in the mix file) or a scenario (its `expect` key) may
-- declare the outcomes it expects:
--
--   s:call("get_structure", { url = u }, { expect = { "robots_blocked" } })
--   sim.http.get(url, { expect = { 404 } })
--   expect = { get_content = { "AUTH_ERROR" }, ["*"] = { "ok", "rate_limit_exceeded" } }
--
-- An outcome is "ok" (a success), an error type ("auth_error",
-- "network_timeout", "http_404"), a gofr-dig error code (AUTH_ERROR is the
-- type auth_error) or an HTTP status (404 or "404", the type http_404).
-- A call in scope that ends in a listed outcome is *expected*: its sample is
-- tagged expected=true, counted apart from errors (metrics.lua) and does not
-- count against error_rate. A call in scope that ends otherwise fails the
-- check "expected <outcomes>: <tool>[ (<group>)]" with what it got; list "ok"
-- too to tolerate an outcome rather than require it (k6's expectedStatuses).
--
-- The narrowest scope wins: the call's, then the group's entry for the tool,
-- its "*", then the scenario's entry for the tool, its "*". Tool names are
-- metric names ("mcp.get_content", "http.get"); a bare name means "mcp.<name>".
-- docs/scenarios.md "Expected outcomes".
local tables = require "gofr_sim.util.tables"
local metrics = require "gofr_sim.engine.metrics"
local check = require "gofr_sim.engine.check"

local type, tostring, pairs, ipairs, error, setmetatable = type, tostring, pairs, ipairs, error,
  setmetatable
local concat, sort = table.concat, table.sort

local M = {}

-- One declaration: { set = {outcome = true}, text = "auth_error|ok", label = "(attacker)" }.
local function outcome_name(v, where)
  local t = type(v)
  if t == "number" then
    if v < 100 or v > 999 or v % 1 ~= 0 then
      error(("%s: %s is not an HTTP status (100..999)"):format(where, tostring(v)), 0)
    end
    return "http_" .. v
  end
  if t ~= "string" or not v:match("^[%w_]+$") then
    error(("%s: an outcome must be \"ok\", an error type, an error code or an HTTP status, got %s")
      :format(where, t == "string" and ("'" .. v .. "'") or t), 0)
  end
  if v:match("^%d%d%d$") then return "http_" .. v end
  return v:lower()
end

local function declaration(list, where, label)
  if type(list) ~= "table" or list[1] == nil then
    error(("%s: expected a non-empty array of outcomes, got %s"):format(where, type(list)), 0)
  end
  local set, names = {}, {}
  for k in pairs(list) do
    if type(k) ~= "number" or k % 1 ~= 0 or k < 1 or k > #list then
      error(("%s: expected an array of outcomes, found key %s"):format(where, tostring(k)), 0)
    end
  end
  for i, v in ipairs(list) do
    local name = outcome_name(v, ("%s[%d]"):format(where, i))
    if not set[name] then
      set[name] = true
      names[#names + 1] = name
    end
  end
  sort(names)
  return { set = set, text = concat(names, "|"), label = label }
end

--- Compiles one array of outcomes (raises a plain-string error naming
-- `where`); label as in compile_scope.
M.compile_list = declaration

--- The metric name a declaration's tool key means: "*" stays, a bare name
-- is an MCP tool.
function M.tool_name(key)
  if key == "*" or key:find(".", 1, true) then return key end
  return "mcp." .. key
end

--- Compiles a scope declaration: an array of outcomes (every tool) or a
-- table tool -> array. `where` names it in errors (raised as plain strings:
-- callers turn them into usage errors); `label` (optional, e.g. "attacker")
-- is shown in check names. -> { [tool] = declaration }.
function M.compile_scope(spec, where, label)
  if type(spec) ~= "table" then
    error(("%s: expected an array of outcomes or a table of tool = outcomes, got %s")
      :format(where, type(spec)), 0)
  end
  local scope = {}
  if spec[1] ~= nil then
    scope["*"] = declaration(spec, where, label)
    return scope
  end
  for tool, list in pairs(spec) do
    if type(tool) ~= "string" or tool == "" then
      error(("%s: a key must be a tool name or \"*\", got %s"):format(where, tostring(tool)), 0)
    end
    scope[M.tool_name(tool)] = declaration(list, ("%s.%s"):format(where, tool), label)
  end
  return scope
end

-- A call's own `expect` array, compiled once per table.
local compiled_calls = setmetatable({}, { __mode = "k" })

--- The declaration of a call's `expect` option (raises naming fname on a
-- bad one).
function M.compile_call(fname, list)
  local d = compiled_calls[list]
  if d then return d end
  local ok, res = pcall(declaration, list, "option 'expect'")
  if not ok then check.fail(fname, res) end
  compiled_calls[list] = res
  return res
end

-- coroutine -> the scopes in force for it: an array, narrowest first.
local scopes_of = setmetatable({}, { __mode = "k" })

--- Sets the scopes (compiled with compile_scope, narrowest first; nil
-- clears) of calls made from coroutine co. The runner sets the persona's
-- group scope and the scenario's.
function M.set_scopes(co, scopes)
  scopes_of[co] = scopes
end

local function find(tool, call_decl)
  if call_decl then return call_decl end
  local scopes = scopes_of[coroutine.running() or false]
  if not scopes then return nil end
  for _, scope in ipairs(scopes) do
    local d = scope[tool] or scope["*"]
    if d then return d end
  end
  return nil
end

local check_names = setmetatable({}, { __mode = "k" }) -- declaration -> tool -> check name

local function check_name(d, tool)
  local names = tables.child(check_names, d)
  local name = names[tool]
  if not name then
    name = ("expected %s: %s%s"):format(d.text, tool, d.label and (" (" .. d.label .. ")") or "")
    names[tool] = name
  end
  return name
end

--- Judges the outcome of one call of `tool` that ended with error_type (nil
-- for a success) and HTTP `status` (nil when none; an "http_<status>"
-- outcome matches it whatever the error type says, e.g. sim.http's
-- not_found), under the call's declaration (or nil) and the scopes of the
-- running coroutine. Records the check of the declaration in force, if any.
-- -> true when the outcome was an expected error (its sample takes the tag
-- expected=true), else false.
function M.judge(tool, error_type, call_decl, message, status)
  local d = find(tool, call_decl)
  if not d then return false end
  local outcome = error_type or "ok"
  local met = d.set[outcome] == true or (status ~= nil and d.set["http_" .. status] == true)
  metrics.current:check(check_name(d, tool), met,
    met and outcome or (message and (outcome .. ": " .. tostring(message)) or outcome))
  return met and error_type ~= nil
end

return M
