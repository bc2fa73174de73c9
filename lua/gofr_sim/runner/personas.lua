--- gofr_sim.runner.personas: persona mix files and the tokens their personas send.
--
--   local personas = require "gofr_sim.runner.personas"
--   local mix = assert(personas.load_mix("fixtures/mixes/default.json"))
--   local list = personas.expand(mix)            -- {id=, name=, token_name=, rate=, tasks=}
--   local tokens = assert(personas.resolve_tokens(mix, { source = "auto" }))
--   print(personas.describe_tokens(tokens))      -- redacted; never print `tokens` itself
--   local token = personas.token_for(list[1], tokens)   -- nil: anonymous
--   local task = personas.pick_task(list[1], rng)       -- "structure_then_content", ...
--
-- The mix file keeps the Python harness's schema
--   {"groups": {"apac": {"count": 3, "token": "token_apac"}, ...}}
-- and adds per group `rate` (iterations/s of each persona of the group) and
-- `tasks` (a weighted task mix). Groups keep their order in the file: this
-- module reads JSON with gofr_sim.util.json (lua-cjson forgets key order). docs/personas.md.
local jwt = require "gofr_sim.engine.jwt"
local cli = require "gofr_sim.util.flags"
local json = require "gofr_sim.util.json"
local expect = require "gofr_sim.engine.expect"

local type, pairs, ipairs, tostring, error, setmetatable, pcall =
  type, pairs, ipairs, tostring, error, setmetatable, pcall
local concat, sort = table.concat, table.sort
local floor, huge = math.floor, math.huge
local sub, format = string.sub, string.format

local M = {}

--- The tasks a mix may weight, in documentation order.
M.TASKS = {
  "structure_then_content", "content_only", "content_session_reads",
  "list_sessions", "get_session_full", "ping",
}
local TASK_SET = {}
for _, t in ipairs(M.TASKS) do TASK_SET[t] = true end

--- What a persona whose group has no `tasks` does: the Python harness's
-- fixed MCP sequence.
M.DEFAULT_TASK = "structure_then_content"

--- The literal token_invalid always stands for.
M.INVALID_TOKEN = jwt.INVALID_TOKEN

--- Environment variable holding the signing secret for minting.
M.SECRET_ENV = "GOFR_DIG_JWT_SECRET"

--- Symbolic token names, in a stable order, and where each can come from.
M.SYMBOLIC_TOKENS = {
  "token_apac", "token_emea", "token_us", "token_multi", "token_invalid",
  "token_expired", "token_bad_signature", "token_alg_none",
}
local SYMBOLIC = {}
for _, name in ipairs(M.SYMBOLIC_TOKENS) do
  SYMBOLIC[name] = name ~= "token_invalid" and "GOFR_DIG_SIM_" .. name:upper() or false
end

--- The environment variable a symbolic token is read from (nil for
-- token_invalid and for names that are not symbolic).
function M.token_env_var(name)
  return SYMBOLIC[name] or nil
end

--- Flags for the scenario runner to merge into its cli spec.
M.flags = {
  mix_file = { type = "string" },
  token_source = { type = "enum", values = { "auto", "env", "mint" }, default = "auto" },
  jwt_secret_file = { type = "string" },
  token_store = { type = "string" },
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

local function check_group(name, raw)
  local at = { "groups", name }
  if not name:match("^[%w_][%w_.%-]*$") or #name > 64 then
    bad(at, "expected a group name of letters, digits, '_', '-' and '.' (at most 64 characters, "
      .. "not starting with '-' or '.'): names become metric tags")
  end
  if not is_object(raw) then
    bad(at, "expected an object like {\"count\": 3, \"token\": \"token_apac\"}, got " .. show(raw))
  end
  for _, k in ipairs(json.keys(raw)) do
    if not GROUP_KEY_SET[k] then
      bad({ "groups", name, k }, "unknown key (accepted: " .. keys_list(GROUP_KEYS) .. ")")
    end
  end
  local v = raw
  local group = { name = name }

  local count = v.count
  if count == nil then
    bad({ "groups", name, "count" }, "missing: expected an integer >= 0 (the number of personas)")
  end
  if type(count) ~= "number" or count ~= floor(count) or count < 0 or count == huge then
    bad({ "groups", name, "count" }, "expected an integer >= 0, got " .. show(count))
  end
  if count > MAX_COUNT then
    bad({ "groups", name, "count" }, format("expected at most %d personas per group, got %s",
      MAX_COUNT, show(count)))
  end
  group.count = count

  local token = v.token
  if token == nil or token == NULL then
    group.token = nil
  elseif type(token) ~= "string" or token == "" then
    bad({ "groups", name, "token" },
      "expected a symbolic token name (" .. keys_list(M.SYMBOLIC_TOKENS)
        .. "), a literal JWT, or null (anonymous), got " .. show(token))
  elseif token:match("^token_") and SYMBOLIC[token] == nil then
    bad({ "groups", name, "token" },
      format("unknown symbolic token %q (known: %s; a literal JWT passes through as is)",
        token, keys_list(M.SYMBOLIC_TOKENS)))
  else
    group.token = token
  end

  local rate = v.rate
  if rate ~= nil then
    if type(rate) ~= "number" or rate <= 0 or rate == huge then
      bad({ "groups", name, "rate" },
        "expected a number > 0 (iterations per second of each persona), got " .. show(rate))
    end
    group.rate = rate
  end

  local tasks = v.tasks
  if tasks ~= nil then
    if not is_object(tasks) then
      bad({ "groups", name, "tasks" },
        "expected an object of task weights like {\"structure_then_content\": 3, \"content_only\": 1}"
          .. ", got " .. show(tasks))
    end
    if #json.keys(tasks) == 0 then
      bad({ "groups", name, "tasks" }, "expected at least one task (tasks: " .. keys_list(M.TASKS) .. ")")
    end
    local list = {}
    for _, task in ipairs(json.keys(tasks)) do
      local at_task = { "groups", name, "tasks", task }
      if not TASK_SET[task] then
        bad(at_task, "unknown task (tasks: " .. keys_list(M.TASKS) .. ")")
      end
      local w = tasks[task]
      if type(w) ~= "number" or w <= 0 or w == huge then
        bad(at_task, "expected a weight > 0, got " .. show(w))
      end
      list[#list + 1] = { name = task, weight = w }
    end
    group.tasks = list
  end

  if v.expect ~= nil then group.expect = check_expect(name, v.expect) end
  return group
end

local function check_mix(doc)
  if not is_object(doc) then
    bad({}, "expected an object like {\"groups\": {...}}, got " .. show(doc))
  end
  for _, k in ipairs(json.keys(doc)) do
    if k ~= "groups" then bad({ k }, "unknown key (accepted: groups)") end
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
    local g = check_group(name, groups[name])
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

--- Parses mix text; `source` names it in messages. -> mix | nil, message.
function M.parse_mix(text, source)
  source = source or "mix"
  if type(text) ~= "string" then
    error("personas.parse_mix: text must be a string, got " .. type(text), 2)
  end
  local doc, jerr = json.decode(text)
  if doc == nil then return nil, format("mix file %s: %s", source, jerr) end
  local ok, mix = pcall(check_mix, doc)
  if not ok then
    if type(mix) == "table" and mix.mix_error then
      return nil, format("mix file %s: %s", source, mix.mix_error)
    end
    error(mix, 0)
  end
  mix.source = source
  return mix
end

--- Loads a mix file. -> mix {source=, total=, groups = {{name=, count=,
-- token=, rate=, tasks=}, ...} (file order, count-0 groups dropped)}
-- | nil, message naming the file, the JSON path and what was expected.
function M.load_mix(path)
  if type(path) ~= "string" then
    error("personas.load_mix: path must be a string, got " .. type(path), 2)
  end
  local f, oerr = io.open(path, "rb")
  if not f then return nil, format("mix file %s: cannot open: %s", path, oerr) end
  local text, rerr = f:read("*a")
  f:close()
  if not text then return nil, format("mix file %s: cannot read: %s", path, tostring(rerr)) end
  return M.parse_mix(text, path)
end

--- The personas of a mix, in file order: {id = 1.., name = group name,
-- index = 1.. within the group, token_name = token or nil (anonymous),
-- rate = number or nil (use the run's rate), tasks = {{name=, weight=}, ...}
-- or nil (DEFAULT_TASK), expect = the group's compiled expected outcomes
-- (gofr_sim.engine.expect) or nil}.
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

--- A task name for one iteration of `persona`, drawn by weight with
-- rng:float(); DEFAULT_TASK (no draw) when its group has no tasks.
function M.pick_task(persona, rng)
  local tasks = persona.tasks
  if not tasks or #tasks == 0 then return M.DEFAULT_TASK end
  if #tasks == 1 then return tasks[1].name end
  local total = 0
  for i = 1, #tasks do total = total + tasks[i].weight end
  local x = rng:float() * total
  for i = 1, #tasks do
    x = x - tasks[i].weight
    if x < 0 then return tasks[i].name end
  end
  return tasks[#tasks].name
end

------------------------------------------------------------------------------
-- Tokens
------------------------------------------------------------------------------

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

--- describe_tokens(map) -> "token_apac=eyJhbGci…3f2a9c01b7de, ..." (sorted):
-- the only way a token map should reach a log. Literal tokens (whose key is
-- the token itself) are shown as literal=<redacted>.
function M.describe_tokens(map)
  local rows = {}
  for k, v in pairs(map) do
    local key = SYMBOLIC[k] ~= nil and k or "literal"
    rows[#rows + 1] = key .. "=" .. jwt.redact(v)
  end
  sort(rows)
  return concat(rows, ", ")
end

local TOKEN_MAP_MT = {
  __tostring = function(t) return "tokens{" .. M.describe_tokens(t) .. "}" end,
  __metatable = false,
}

local function read_secret_file(path)
  local f, oerr = io.open(path, "rb")
  if not f then return nil, format("JWT secret file %s: cannot open: %s", path, oerr) end
  local text, rerr = f:read("*a")
  f:close()
  if not text then return nil, format("JWT secret file %s: cannot read: %s", path, tostring(rerr)) end
  text = trim(text)
  if text == "" then return nil, format("JWT secret file %s is empty", path) end
  return text
end

-- -> secret | nil, message (message nil: simply no secret available).
local function find_secret(opts, env)
  if opts.secret ~= nil then
    if type(opts.secret) ~= "string" or opts.secret == "" then
      return nil, "personas.resolve_tokens: option 'secret' must be a non-empty string"
    end
    return opts.secret
  end
  if opts.secret_file ~= nil then return read_secret_file(opts.secret_file) end
  local s = env(M.SECRET_ENV)
  s = type(s) == "string" and trim(s) or ""
  if s ~= "" then return s end
  return nil
end

local RESOLVE_OPTIONS = { source = true, env = true, secret = true, secret_file = true,
                          ttl = true, aud = true, now = true }

-- Token strings used by the mix, in first-use order, with their groups.
local function used_tokens(mix)
  local order, groups_of = {}, {}
  for _, g in ipairs(mix.groups) do
    local t = g.token
    if t then
      if not groups_of[t] then
        groups_of[t] = {}
        order[#order + 1] = t
      end
      local gs = groups_of[t]
      gs[#gs + 1] = g.name
    end
  end
  return order, groups_of
end

local function used_by(groups)
  return (#groups == 1 and "group " or "groups ") .. concat(groups, ", ")
end

local SECRET_HINT = "set " .. M.SECRET_ENV .. " or pass --jwt-secret-file"

--- resolve_tokens(mix, {source = "auto"|"env"|"mint", env = os.getenv,
--   secret =, secret_file =, ttl = 3600, aud =, now =})
--   -> map token name -> token | nil, message
-- Resolves the tokens the mix uses (nothing else): token_invalid is
-- "invalid.invalid.invalid"; env reads GOFR_DIG_SIM_TOKEN_<NAME> (trimmed,
-- non-empty); mint signs with the secret (option `secret`, else the file
-- `secret_file`, else GOFR_DIG_JWT_SECRET); auto = env, then mint what is
-- missing when a secret is available. A literal token maps to itself. A
-- symbolic token that cannot be resolved is an error naming it and how to
-- provide it. Never print the map: use describe_tokens.
function M.resolve_tokens(mix, opts)
  if type(mix) ~= "table" or type(mix.groups) ~= "table" then
    error("personas.resolve_tokens: expected a mix from load_mix", 2)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not RESOLVE_OPTIONS[k] then
      error(format("personas.resolve_tokens: unknown option '%s'", tostring(k)), 2)
    end
  end
  local source = opts.source or "auto"
  if source ~= "auto" and source ~= "env" and source ~= "mint" then
    return nil, format("--token-source must be one of auto, env, mint, got '%s'", tostring(source))
  end
  local env = opts.env or os.getenv
  if source == "env" and opts.secret_file ~= nil then
    return nil, "--jwt-secret-file has no effect with --token-source env (use auto or mint)"
  end

  local order, groups_of = used_tokens(mix)
  local map, need = {}, {}
  for _, t in ipairs(order) do
    if SYMBOLIC[t] == nil then
      map[t] = t                       -- a literal token passes through
    elseif t == "token_invalid" then
      map[t] = M.INVALID_TOKEN
    else
      need[#need + 1] = t
    end
  end

  -- A secret named explicitly must be usable even if the environment
  -- covers every token.
  local secret, serr
  if source ~= "env" then
    secret, serr = find_secret(opts, env)
    if serr then return nil, serr end
  end

  if source ~= "mint" then
    for _, t in ipairs(need) do
      local v = env(SYMBOLIC[t])
      v = type(v) == "string" and trim(v) or ""
      if v ~= "" then map[t] = v end
    end
  end

  local missing = {}
  for _, t in ipairs(need) do
    if map[t] == nil then missing[#missing + 1] = t end
  end
  if #missing > 0 and secret then
    local minted = jwt.persona_tokens(secret, { ttl = opts.ttl, aud = opts.aud, now = opts.now })
    for i = #missing, 1, -1 do
      local t = missing[i]
      map[t] = minted[t]
      table.remove(missing, i)
    end
  end

  if #missing > 0 then
    local items, vars = {}, {}
    for _, t in ipairs(missing) do
      items[#items + 1] = format("%s (%s)", t, used_by(groups_of[t]))
      vars[#vars + 1] = SYMBOLIC[t]
    end
    local how
    if source == "env" then
      how = format("set %s (--token-source env reads only the environment; "
        .. "--token-source auto or mint mints tokens from a signing secret: %s)",
        concat(vars, ", "), SECRET_HINT)
    elseif source == "mint" then
      how = "--token-source mint needs a signing secret: " .. SECRET_HINT
    else
      how = format("set %s, or give a signing secret to mint %s: %s", concat(vars, ", "),
        #missing == 1 and "it" or "them", SECRET_HINT)
    end
    return nil, format("unresolved tokens for mix %s: %s: %s", tostring(mix.source or "?"),
      concat(items, ", "), how)
  end
  return setmetatable(map, TOKEN_MAP_MT)
end

--- The token a persona sends (nil: anonymous). Raises if the map lacks it
-- (a map not made by resolve_tokens for this mix).
function M.token_for(persona, tokens)
  local name = persona.token_name
  if name == nil then return nil end
  local token = tokens[name]
  if token == nil then
    error(format("personas.token_for: token %s of persona %s#%d was not resolved",
      SYMBOLIC[name] ~= nil and name or "(literal)", tostring(persona.name), persona.id or 0), 2)
  end
  return token
end

--- For the scenario runner: options (as cli.options returns them, with
-- mix_file, token_source, jwt_secret_file) -> {mix=, personas=, tokens=}
-- or nil when no --mix-file was given. Any problem is a usage error (the
-- executable prints one line and exits 2). `extra` may carry env=, ttl=,
-- aud=, now= for resolve_tokens.
--- Registers the JWTs of a resolved token map in a token store file (the
-- one a standalone twin verifies against: gofr-sim twin --token-store
-- FILE), as gofr-dig's token store must know every token it accepts.
function M.register_tokens(tokens, file)
  local store = require("gofr_sim.twin.auth").store { file = file }
  for _, token in pairs(tokens) do
    local _, claims = jwt.decode(token)
    if type(claims) == "table" and type(claims.jti) == "string" then
      local ok, err = pcall(store.register, store, token)
      if not ok then cli.usage_error("--token-store: " .. tostring(err)) end
    end
  end
end

function M.from_options(options, extra)
  if options.mix_file == nil then return nil end
  local mix, err = M.load_mix(options.mix_file)
  if not mix then cli.usage_error(err) end
  extra = extra or {}
  local tokens, terr = M.resolve_tokens(mix, {
    source = options.token_source, secret_file = options.jwt_secret_file, secret = extra.secret,
    env = extra.env, ttl = extra.ttl, aud = extra.aud, now = extra.now,
  })
  if not tokens then cli.usage_error(terr) end
  if options.token_store then M.register_tokens(tokens, options.token_store) end
  return { mix = mix, personas = M.expand(mix), tokens = tokens }
end

return M
