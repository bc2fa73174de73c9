--- gofr_sim.runner.personas: persona mix files — which groups of personas a
-- run starts, how many of each, the token each sends, their rate and tasks.
--
--   local personas = require "gofr_sim.runner.personas"
--   local known = { tasks = { "browse", "search" }, tokens = { "token_a", "token_b" } }
--   local mix = assert(personas.load_mix("fixtures/mixes/default.json", known))
--   local list = personas.expand(mix)     -- {id=, name=, token_name=, rate=, tasks=, expect=}
--
-- The mix file keeps the Python harness's schema
--   {"groups": {"apac": {"count": 3, "token": "token_apac"}, ...}}
-- and adds per group `rate` (iterations/s of each persona of the group),
-- `tasks` (a weighted task mix) and `expect`. The names a group may use are
-- the scenario's (`known`): its declared tasks and the symbolic tokens of
-- its token resolver; this module knows none. Resolving tokens is the
-- resolver's (for gofr-dig: gofr_sim.gofr_dig.tokens). Groups keep their
-- order in the file: this module reads JSON with gofr_sim.util.json
-- (lua-cjson forgets key order). docs/personas.md.
local cli = require "gofr_sim.util.flags"
local json = require "gofr_sim.util.json"
local fs = require "gofr_sim.util.fs"
local expect = require "gofr_sim.engine.expect"
local suggest = require "gofr_sim.util.suggest"

local type, ipairs, tostring, error, pcall = type, ipairs, tostring, error, pcall
local concat = table.concat
local floor, huge = math.floor, math.huge
local sub, format = string.sub, string.format

local M = {}

--- The runner's flag for mixes (merge into its cli spec).
M.flags = {
  mix_file = { type = "string",
    help = "a persona mix (JSON, docs/personas.md): groups of personas, their tokens, rates and tasks" },
}

local MAX_COUNT = 1000000     -- per group: a typo should not allocate gigabytes

local NULL = json.null
local is_object, is_array = json.is_object, json.is_array

------------------------------------------------------------------------------
-- Mix validation
------------------------------------------------------------------------------

local function path_of(parts)
  local out = {}
  for i, p in ipairs(parts) do
    if p:match("^[%w_%-]+$") then
      out[#out + 1] = (i > 1 and "." or "") .. p
    else
      out[#out + 1] = "[" .. format("%q", p):gsub("\\\n", "\\n") .. "]"
    end
  end
  return concat(out)
end

local function show(v)
  if v == NULL then return "null" end
  if is_object(v) then return "an object" end
  if is_array(v) then return "an array" end
  if type(v) == "string" then
    local s = #v > 40 and sub(v, 1, 37) .. "..." or v
    return "the string " .. format("%q", s):gsub("\\\n", "\\n")
  end
  if type(v) == "number" then
    if v == floor(v) and v > -1e15 and v < 1e15 then return format("%d", v) end
    return format("%.14g", v)
  end
  return tostring(v)
end

local function keys_list(t)
  return concat(t, ", ")
end

local GROUP_KEYS = { "count", "token", "rate", "tasks", "expect" }
local GROUP_KEY_SET = { count = true, token = true, rate = true, tasks = true, expect = true }

-- Validates the decoded document; raises {mix_error = "path: message"}.
local function bad(parts, msg)
  error({ mix_error = (#parts > 0 and path_of(parts) .. ": " or "") .. msg }, 0)
end

-- A group's "expect": an array of outcomes, or an object tool -> array
-- (gofr_sim.engine.expect), compiled with the group's name as its label.
local function check_expect(name, raw)
  local plain
  if json.is_array(raw) then
    plain = {}
    for i, o in ipairs(raw) do plain[i] = o end
  elseif is_object(raw) then
    plain = {}
    for tool, list in json.pairs(raw) do
      plain[tool] = json.is_array(list) and { unpack(list) } or list
    end
  else
    bad({ "groups", name, "expect" }, "expected an array of outcomes like [\"AUTH_ERROR\"] or an "
      .. "object of tool -> outcomes like {\"get_content\": [\"AUTH_ERROR\"]}, got " .. show(raw))
  end
  local ok, scope = pcall(expect.compile_scope, plain, path_of({ "groups", name, "expect" }), name)
  if not ok then bad({}, scope) end
  return scope
end

-- A group's `count`: an integer 0..MAX_COUNT.
local function check_count(name, count)
  local at = { "groups", name, "count" }
  if count == nil then bad(at, "missing: expected an integer >= 0 (the number of personas)") end
  if type(count) ~= "number" or count ~= floor(count) or count < 0 or count == huge then
    bad(at, "expected an integer >= 0, got " .. show(count))
  end
  if count > MAX_COUNT then
    bad(at, format("expected at most %d personas per group, got %s", MAX_COUNT, show(count)))
  end
  return count
end

-- A group's `token`: nil (anonymous), a symbolic name (`token_` and one of
-- known.tokens) or a literal token; none at all when the scenario has no
-- token resolver (known.tokens nil).
local function check_token(name, token, known)
  if token == nil or token == NULL then return nil end
  local at = { "groups", name, "token" }
  local names = known.tokens
  if not names then
    bad(at, "this scenario resolves no tokens (it has no scenario key 'tokens'): expected null, got "
      .. show(token))
  end
  if type(token) ~= "string" or token == "" then
    bad(at, "expected a symbolic token name (" .. keys_list(names)
      .. "), a literal JWT, or null (anonymous), got " .. show(token))
  end
  if token:match("^token_") and not known.token_set[token] then
    local hint = suggest.hint(token, names, '"%s"')
    bad(at, format("unknown symbolic token %q (%sknown: %s; a literal JWT passes through as is)",
      token, hint and hint .. " " or "", keys_list(names)))
  end
  return token
end

local function check_rate(name, rate)
  if rate == nil then return nil end
  if type(rate) ~= "number" or rate <= 0 or rate == huge then
    bad({ "groups", name, "rate" },
      "expected a number > 0 (iterations per second of each persona), got " .. show(rate))
  end
  return rate
end

-- {"<first>": 3, "<second>": 1} of the known task names, for messages.
local function tasks_example(names)
  local parts = {}
  for i = 1, math.min(2, #names) do parts[i] = format('"%s": %d', names[i], i == 1 and 3 or 1) end
  return "{" .. concat(parts, ", ") .. "}"
end

-- A group's `tasks`: an object of weights > 0 over known.tasks -> {{name=,
-- weight=}, ...} in file order, or nil.
local function check_tasks(name, tasks, known)
  if tasks == nil then return nil end
  local at = { "groups", name, "tasks" }
  local names = known.tasks
  if not names then bad(at, "this scenario declares no tasks (scenario key 'tasks')") end
  if not is_object(tasks) then
    bad(at, "expected an object of task weights like " .. tasks_example(names) .. ", got " .. show(tasks))
  end
  if #json.keys(tasks) == 0 then bad(at, "expected at least one task (tasks: " .. keys_list(names) .. ")") end
  local list = {}
  for _, task in ipairs(json.keys(tasks)) do
    local at_task = { "groups", name, "tasks", task }
    if not known.task_set[task] then
      local hint = suggest.hint(task, names, '"%s"')
      bad(at_task, "unknown task (" .. (hint and hint .. " " or "") .. "tasks: " .. keys_list(names) .. ")")
    end
    local w = tasks[task]
    if type(w) ~= "number" or w <= 0 or w == huge then
      bad(at_task, "expected a weight > 0, got " .. show(w))
    end
    list[#list + 1] = { name = task, weight = w }
  end
  return list
end

-- {"count": 3, "token": "<first known token>"}, for messages.
local function group_example(known)
  local token = known.tokens and known.tokens[1]
  return token and format('{"count": 3, "token": "%s"}', token) or '{"count": 3}'
end

local function check_group(name, raw, known)
  local at = { "groups", name }
  if not name:match("^[%w_][%w_.%-]*$") or #name > 64 then
    bad(at, "expected a group name of letters, digits, '_', '-' and '.' (at most 64 characters, "
      .. "not starting with '-' or '.'): names become metric tags")
  end
  if not is_object(raw) then
    bad(at, "expected an object like " .. group_example(known) .. ", got " .. show(raw))
  end
  for _, k in ipairs(json.keys(raw)) do
    if not GROUP_KEY_SET[k] then
      local hint = suggest.hint(k, GROUP_KEYS, '"%s"')
      bad({ "groups", name, k }, "unknown key (" .. (hint and hint .. " " or "") .. "accepted: "
        .. keys_list(GROUP_KEYS) .. ")")
    end
  end
  -- one key at a time, in this order: the first problem is the one reported
  local group = { name = name }
  group.count = check_count(name, raw.count)
  group.token = check_token(name, raw.token, known)
  group.rate = check_rate(name, raw.rate)
  group.tasks = check_tasks(name, raw.tasks, known)
  if raw.expect ~= nil then group.expect = check_expect(name, raw.expect) end
  return group
end

local function check_mix(doc, known)
  if not is_object(doc) then
    bad({}, "expected an object like {\"groups\": {...}}, got " .. show(doc))
  end
  for _, k in ipairs(json.keys(doc)) do
    if k ~= "groups" then
      bad({ k }, "unknown key (" .. (suggest.hint(k, { "groups" }, '"%s"') or "accepted: groups") .. ")")
    end
  end
  local groups = doc.groups
  if groups == nil then
    bad({ "groups" }, "missing: expected an object of persona groups")
  end
  if not is_object(groups) then
    bad({ "groups" }, "expected an object of persona groups, got " .. show(groups))
  end
  if #json.keys(groups) == 0 then
    bad({ "groups" }, "expected at least one group")
  end
  local kept, total = {}, 0
  for _, name in ipairs(json.keys(groups)) do
    local g = check_group(name, groups[name], known)
    if g.count > 0 then
      kept[#kept + 1] = g
      total = total + g.count
    end
  end
  if total == 0 then
    bad({ "groups" }, "expected at least one group with count > 0")
  end
  return { groups = kept, total = total }
end

local function set_of(list)
  local set = {}
  for _, v in ipairs(list or {}) do set[v] = true end
  return set
end

-- known {tasks=, tokens=} with lookup sets (task_set, token_set) added.
local function with_sets(known)
  known = known or {}
  if type(known) ~= "table" then
    error("personas: known must be a table {tasks = {names}, tokens = {names}}, got " .. type(known), 3)
  end
  return { tasks = known.tasks, tokens = known.tokens,
           task_set = set_of(known.tasks), token_set = set_of(known.tokens) }
end

--- Parses mix text; `source` names it in messages; `known` = {tasks =
-- {names}, tokens = {names}} lists the task names and symbolic token names
-- a group may use (tasks nil: no group may have `tasks`; tokens nil: no
-- group may have a `token`). -> mix | nil, message.
function M.parse_mix(text, source, known)
  source = source or "mix"
  if type(text) ~= "string" then
    error("personas.parse_mix: text must be a string, got " .. type(text), 2)
  end
  known = with_sets(known)
  local doc, jerr = json.decode(text)
  if doc == nil then return nil, format("mix file %s: %s", source, jerr) end
  local ok, mix = pcall(check_mix, doc, known)
  if not ok then
    if type(mix) == "table" and mix.mix_error then
      return nil, format("mix file %s: %s", source, mix.mix_error)
    end
    error(mix, 0)
  end
  mix.source = source
  return mix
end

--- Loads a mix file, `known` as for parse_mix. -> mix {source=, total=,
-- groups = {{name=, count=, token=, rate=, tasks=, expect=}, ...} (file
-- order, count-0 groups dropped)} | nil, message naming the file, the JSON
-- path and what was expected.
function M.load_mix(path, known)
  if type(path) ~= "string" then
    error("personas.load_mix: path must be a string, got " .. type(path), 2)
  end
  local text, _, msg = fs.read_file(path)
  if not text then return nil, format("mix file %s: cannot read: %s", path, msg) end
  return M.parse_mix(text, path, known)
end

--- The personas of a mix, in file order: {id = 1.., name = group name,
-- index = 1.. within the group, token_name = token or nil (anonymous),
-- rate = number or nil (use the run's rate), tasks = {{name=, weight=}, ...}
-- or nil (the scenario's declared weights), expect = the group's compiled
-- expected outcomes (gofr_sim.engine.expect) or nil}.
function M.expand(mix)
  if type(mix) ~= "table" or type(mix.groups) ~= "table" then
    error("personas.expand: expected a mix from load_mix", 2)
  end
  local out = {}
  for _, g in ipairs(mix.groups) do
    for i = 1, g.count do
      out[#out + 1] = { id = #out + 1, name = g.name, index = i, token_name = g.token,
                        rate = g.rate, tasks = g.tasks, expect = g.expect }
    end
  end
  return out
end

-- A resolver must give every token the mix names: a gap is its bug.
local function check_resolved(mix, tokens)
  for _, g in ipairs(mix.groups) do
    if g.token and tokens[g.token] == nil then
      error(format("personas: the token resolver left the token of group %s unresolved", g.name), 0)
    end
  end
end

--- What is wrong with a scenario's token resolver (scenario key `tokens`),
-- or nil: {names = {symbolic names}, resolve = function, flags = cli specs or nil}.
function M.check_resolver(resolver)
  if type(resolver.names) ~= "table" then return "tokens: 'names' must be an array of token names" end
  if type(resolver.resolve) ~= "function" then return "tokens: 'resolve' must be a function" end
  if resolver.flags ~= nil and type(resolver.flags) ~= "table" then
    return "tokens: 'flags' must be a table of flag specs"
  end
end

--- For the scenario runner: the mix of options.mix_file (--mix-file) read
-- with `known` (as for parse_mix), its personas and their tokens ->
-- {mix=, personas=, tokens = map token name -> token} or nil when no
-- --mix-file was given. resolve(mix) -> map | nil, message is the
-- scenario's token resolver (nil: it has none, and the mix names no token).
-- A bad mix or an unresolved token is a usage error (the executable prints
-- one line and exits 2).
function M.from_options(options, known, resolve)
  if options.mix_file == nil then return nil end
  local mix, err = M.load_mix(options.mix_file, known)
  if not mix then cli.usage_error(err) end
  local tokens = {}
  if resolve then
    local why
    tokens, why = resolve(mix)
    if not tokens then cli.usage_error(why) end
    check_resolved(mix, tokens)
  end
  return { mix = mix, personas = M.expand(mix), tokens = tokens }
end

return M
