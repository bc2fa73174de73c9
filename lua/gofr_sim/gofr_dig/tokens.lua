--- gofr_sim.gofr_dig.tokens: the tokens personas send to gofr-dig — the
-- Python harness's symbolic names (token_apac, ..., token_invalid), where
-- each comes from (GOFR_DIG_SIM_TOKEN_* or minted with the signing secret),
-- and their registration in a token store.
--
--   local tokens = require "gofr_sim.gofr_dig.tokens"
--   local map = assert(tokens.resolve(mix, { source = "auto" }))  -- the names the mix uses
--   print(tokens.describe(map))                  -- redacted; never print a token itself
--   local all = tokens.mint_symbolic(secret)     -- every symbolic token, signed with secret
--   local some = tokens.available()              -- what the environment gives (the REPL's)
--   return { tokens = tokens.resolver, ... }     -- a scenario's token resolver
--
-- Every map returned here prints redacted (tostring). docs/personas.md, "Tokens".
local jwt = require "gofr_sim.engine.jwt"
local check = require "gofr_sim.engine.check"
local auth = require "gofr_sim.twin.auth"
local fs = require "gofr_sim.util.fs"
local suggest = require "gofr_sim.util.suggest"

local type, pairs, ipairs, tostring, error, setmetatable, pcall =
  type, pairs, ipairs, tostring, error, setmetatable, pcall
local concat, sort, remove = table.concat, table.sort, table.remove
local format = string.format

local M = {}

--- The literal the Python harness sends as token_invalid.
M.INVALID_TOKEN = "invalid.invalid.invalid"

--- Environment variable holding the signing secret for minting.
M.SECRET_ENV = "GOFR_DIG_JWT_SECRET"

--- Symbolic token names, in a stable order.
M.SYMBOLIC_TOKENS = {
  "token_apac", "token_emea", "token_us", "token_multi", "token_invalid",
  "token_expired", "token_bad_signature", "token_alg_none",
}
-- name -> its environment variable (false: token_invalid, never read)
local SYMBOLIC = {}
for _, name in ipairs(M.SYMBOLIC_TOKENS) do
  SYMBOLIC[name] = name ~= "token_invalid" and "GOFR_DIG_SIM_" .. name:upper() or false
end

--- The environment variable a symbolic token is read from (nil for
-- token_invalid and for names that are not symbolic).
function M.token_env_var(name)
  return SYMBOLIC[name] or nil
end

--- The cli specs of --token-source, --jwt-secret-file and --token-store.
M.flags = {
  token_source = { type = "enum", values = { "auto", "env", "mint" }, default = "auto",
    help = "symbolic tokens: from GOFR_DIG_SIM_TOKEN_* (env), minted here (mint), or env then mint (auto)" },
  jwt_secret_file = { type = "string",
    help = "a file holding the JWT secret to mint tokens with (else $GOFR_DIG_JWT_SECRET)" },
  token_store = { type = "string",
    help = "register minted tokens in this token store (a standalone twin's --token-store)" },
}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- env(name), trimmed; nil when unset or blank.
local function env_value(env, name)
  local v = env(name)
  v = type(v) == "string" and trim(v) or ""
  return v ~= "" and v or nil
end

------------------------------------------------------------------------------
-- Redaction
------------------------------------------------------------------------------

--- describe(map) -> "token_apac=eyJhbGci…3f2a9c01b7de, ..." (sorted): the
-- only way a token map should reach a log. Literal tokens (whose key is the
-- token itself) are shown as literal=<redacted>.
function M.describe(map)
  local rows = {}
  for k, v in pairs(map) do
    local key = SYMBOLIC[k] ~= nil and k or "literal"
    rows[#rows + 1] = key .. "=" .. jwt.redact(v)
  end
  sort(rows)
  return concat(rows, ", ")
end

local TOKEN_MAP_MT = {
  __tostring = function(t) return "tokens{" .. M.describe(t) .. "}" end,
  __metatable = false,
}

------------------------------------------------------------------------------
-- Minting
------------------------------------------------------------------------------

--- base64url of {"alg":"none"}.
local ALG_NONE_HEADER = "eyJhbGciOiJub25lIn0"

local MINT_OPTIONS = { aud = "string|boolean", ttl = "number", now = "number" }

--- tokens.mint_symbolic(secret, {aud="gofr-api", ttl=3600, now=os.time()})
--   -> { token_apac=, token_emea=, token_us=, token_multi= (apac, emea, us:
--        apac primary), token_invalid = "invalid.invalid.invalid",
--        token_expired= (apac, expired 60 s ago), token_bad_signature= (apac,
--        signed with another secret), token_alg_none= (header {"alg":"none"},
--        apac claims, empty signature) }
-- Every symbolic token, with gofr-dig's groups. Values are checked by sim.jwt.mint.
function M.mint_symbolic(secret, opts)
  if type(secret) ~= "string" then
    check.fail("tokens.mint_symbolic", "secret must be a string, got " .. type(secret))
  end
  if secret == "" then check.fail("tokens.mint_symbolic", "secret must not be empty") end
  opts = check.options("tokens.mint_symbolic", opts or {}, MINT_OPTIONS)
  local now = opts.now or os.time()
  local function mint(groups, ttl, key)
    return jwt.mint { secret = key or secret, groups = groups, ttl = ttl or opts.ttl or 3600,
                      aud = opts.aud, now = now }
  end
  local apac_payload = mint { "apac" }:match("^[^.]+%.([^.]+)%.")
  return setmetatable({
    token_apac = mint { "apac" },
    token_emea = mint { "emea" },
    token_us = mint { "us" },
    token_multi = mint { "apac", "emea", "us" },
    token_invalid = M.INVALID_TOKEN,
    token_expired = mint({ "apac" }, -60),
    token_bad_signature = mint({ "apac" }, nil, "gofr-sim-not-the-signing-secret:" .. secret),
    token_alg_none = ALG_NONE_HEADER .. "." .. apac_payload .. ".",
  }, TOKEN_MAP_MT)
end

--- tokens.available(env = os.getenv) -> every symbolic token the environment
-- gives (GOFR_DIG_SIM_TOKEN_<NAME>, trimmed, non-empty), else minted with
-- $GOFR_DIG_JWT_SECRET when it is set; token_invalid always. Tokens it
-- cannot get are absent (no error): the REPL's standard set for a real server.
function M.available(env)
  env = env or os.getenv
  local secret = env_value(env, M.SECRET_ENV)
  local minted = secret and M.mint_symbolic(secret) or {}
  local map = { token_invalid = M.INVALID_TOKEN }
  for _, name in ipairs(M.SYMBOLIC_TOKENS) do
    local var = SYMBOLIC[name]
    map[name] = var and env_value(env, var) or map[name] or minted[name]
  end
  return setmetatable(map, TOKEN_MAP_MT)
end

------------------------------------------------------------------------------
-- Resolution
------------------------------------------------------------------------------

--- tokens.read_secret_file(path) -> the JWT signing secret in the file,
-- white space around it removed | nil, why (unreadable or empty; why
-- names the file).
function M.read_secret_file(path)
  local text, _, msg = fs.read_file(path)
  if not text then return nil, format("JWT secret file %s: cannot read: %s", path, msg) end
  text = trim(text)
  if text == "" then return nil, format("JWT secret file %s is empty", path) end
  return text
end

-- -> secret | nil, message (message nil: simply no secret available).
local function find_secret(opts, env)
  if opts.secret ~= nil then
    if type(opts.secret) ~= "string" or opts.secret == "" then
      return nil, "tokens.resolve: option 'secret' must be a non-empty string"
    end
    return opts.secret
  end
  if opts.secret_file ~= nil then return M.read_secret_file(opts.secret_file) end
  return env_value(env, M.SECRET_ENV)
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

-- The error naming the tokens still missing and how to provide them.
local function unresolved(mix, missing, groups_of, source)
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
  return format("unresolved tokens for mix %s: %s: %s", tostring(mix.source or "?"),
    concat(items, ", "), how)
end

--- resolve(mix, {source = "auto"|"env"|"mint", env = os.getenv,
--   secret =, secret_file =, ttl = 3600, aud =, now =})
--   -> map token name -> token | nil, message
-- Resolves the tokens the mix (gofr_sim.runner.personas) uses, nothing else:
-- token_invalid is "invalid.invalid.invalid"; env reads
-- GOFR_DIG_SIM_TOKEN_<NAME> (trimmed, non-empty); mint signs with the secret
-- (option `secret`, else the file `secret_file`, else GOFR_DIG_JWT_SECRET);
-- auto = env, then mint what is missing when a secret is available. A
-- literal token maps to itself. A symbolic token that cannot be resolved is
-- an error naming it and how to provide it. Never print the map: use describe.
function M.resolve(mix, opts)
  if type(mix) ~= "table" or type(mix.groups) ~= "table" then
    error("tokens.resolve: expected a mix from gofr_sim.runner.personas", 2)
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not RESOLVE_OPTIONS[k] then
      error(format("tokens.resolve: unknown option '%s'%s", tostring(k),
        suggest.clause(k, RESOLVE_OPTIONS)), 2)
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
    for _, t in ipairs(need) do map[t] = env_value(env, SYMBOLIC[t]) end
  end

  local missing = {}
  for _, t in ipairs(need) do
    if map[t] == nil then missing[#missing + 1] = t end
  end
  if #missing > 0 and secret then
    local minted = M.mint_symbolic(secret, { ttl = opts.ttl, aud = opts.aud, now = opts.now })
    for i = #missing, 1, -1 do
      map[missing[i]] = minted[missing[i]]
      remove(missing, i)
    end
  end

  if #missing > 0 then return nil, unresolved(mix, missing, groups_of, source) end
  return setmetatable(map, TOKEN_MAP_MT)
end

-- Records the JWTs of a token map in the token store file `file` (the one
-- a standalone twin verifies against: gofr-sim twin --token-store FILE), as
-- gofr-dig's store must know every token it accepts. -> true | nil, message.
local function register_in_file(map, file)
  local store = auth.store { file = file }
  local ok, err = pcall(store.register_all, store, map)
  if not ok then return nil, "--token-store: " .. tostring(err) end
  return true
end

--- The tokens of a run, from the flags of M.flags (options.token_source,
-- jwt_secret_file, token_store) and `extra` ({secret=, env=, ttl=, aud=,
-- now=}: a target's mix_extra(), gofr_sim.gofr_dig.target): resolves them
-- (resolve), then registers them in --token-store when given.
-- -> map | nil, message (for a usage error).
function M.for_run(mix, options, extra)
  extra = extra or {}
  local map, err = M.resolve(mix, {
    source = options.token_source, secret_file = options.jwt_secret_file, secret = extra.secret,
    env = extra.env, ttl = extra.ttl, aud = extra.aud, now = extra.now,
  })
  if not map then return nil, err end
  if options.token_store then
    local ok, why = register_in_file(map, options.token_store)
    if not ok then return nil, why end
  end
  return map
end

--- for_run for a list of symbolic names (a scenario's own tokens, not a
-- mix's) -> map name -> token | nil, message.
function M.for_names(names, options, extra)
  if #names == 0 then return {} end
  local groups = {}
  for i, name in ipairs(names) do groups[i] = { name = "scenario" .. i, token = name, count = 1 } end
  return M.for_run({ groups = groups, source = "the scenario's tokens" }, options, extra)
end

--- A scenario's token resolver (scenario key `tokens`, docs/scenarios.md):
-- the symbolic names a mix group may use, the flags that choose where they
-- come from, and resolve(mix, options, extra), extra being what the
-- scenario's prepare returned (a target's mix_extra()).
M.resolver = { names = M.SYMBOLIC_TOKENS, flags = M.flags, resolve = M.for_run }

return M
