--- sim.jwt: HS256 tokens as gofr-dig mints and checks them (C core on
-- libjwt; see docs/api.md).
--
--   sim.jwt.mint{secret=, groups=, ttl=3600, aud="gofr-api", now=, nbf=0} -> token
--   sim.jwt.verify(token, secret, {aud="gofr-api", now=, leeway=0})
--     -> claims | nil, "auth_error", reason
--   sim.jwt.decode(token) -> header, claims | nil, "invalid_argument", reason
--   sim.jwt.redact(token) -> "eyJhbGci…3f2a9c01b7de"
--   sim.jwt.sign{alg=, key=, claims=, header=} -> token | nil, "invalid_argument", reason
--   sim.jwt.verify_key(token, alg, key) -> claims | nil, "auth_error", reason
--   sim.jwt.keygen(alg) -> private_pem, public_pem
--
-- Times are epoch seconds (whole numbers); `now` defaults to the wall clock.
-- Refusal reasons use gofr-dig's wording ("Token has expired", ...).
-- Misuse (a bad option, a non-string token) raises.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local cjson = require("cjson.safe").new()

local type, pairs, ipairs, next, tostring = type, pairs, ipairs, next, tostring
local floor = math.floor

local M = {}

--- The audience gofr-dig's servers and the Python simulator use.
M.DEFAULT_AUDIENCE = "gofr-api"

local function fail(fname, msg)
  check.fail("sim.jwt." .. fname, msg)
end


-- Checks opts against spec {name = checker}; each checker returns an error
-- text or nil.
local function check_options(fname, opts, spec)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    fail(fname, "expected an options table, got " .. type(opts))
  end
  for k, v in pairs(opts) do
    local checker = spec[k]
    if not checker then
      fail(fname, ("unknown option '%s'%s"):format(tostring(k), check.unknown_clause(k, spec)))
    end
    local why = checker(v)
    if why then fail(fname, ("option '%s' %s"):format(k, why)) end
  end
  return opts
end

local function seconds(v)
  if type(v) ~= "number" then return "must be a number, got " .. type(v) end
  if v ~= floor(v) or v ~= v or v >= 2 ^ 62 or v <= -2 ^ 62 then
    return "must be a whole number of seconds, got " .. tostring(v)
  end
end

local function secret_string(v)
  if type(v) ~= "string" then return "must be a string, got " .. type(v) end
  if v == "" then return "must not be empty" end
end

local function audience(v)
  if v ~= false and type(v) ~= "string" then
    return "must be a string (or false for none), got " .. type(v)
  end
end

local function group_list(v)
  if type(v) ~= "table" then return "must be an array of strings, got " .. type(v) end
  local n = #v
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k > n or k ~= floor(k) then
      return "must be an array of strings (found key " .. tostring(k) .. ")"
    end
  end
  for i = 1, n do
    if type(v[i]) ~= "string" then
      return ("must be an array of strings (entry %d is a %s)"):format(i, type(v[i]))
    end
    if v[i]:find("\0", 1, true) then
      return ("must not contain NUL bytes (entry %d)"):format(i)
    end
  end
end

local MINT_OPTIONS = {
  secret = secret_string, groups = group_list, ttl = seconds, aud = audience,
  now = seconds, nbf = seconds,
}

--- sim.jwt.mint{secret=, groups=, ttl=3600, aud="gofr-api", now=os.time(), nbf=0}
--   -> token
-- Claims: jti (random UUID4), groups (order kept: groups[1] is the primary
-- group), iat = now, nbf = now + nbf, exp = now + ttl (a negative ttl gives
-- an expired token), aud (false: none). secret and groups are required.
function M.mint(opts)
  if type(opts) ~= "table" then
    fail("mint", "expected an options table, got " .. type(opts))
  end
  check_options("mint", opts, MINT_OPTIONS)
  if opts.secret == nil then fail("mint", "option 'secret' is required") end
  if opts.groups == nil then fail("mint", "option 'groups' is required (an array of strings)") end
  local aud = opts.aud
  if aud == nil then aud = M.DEFAULT_AUDIENCE end
  return core.jwt_mint {
    secret = opts.secret, groups = opts.groups, ttl = opts.ttl or 3600,
    aud = aud, now = opts.now, nbf = opts.nbf or 0,
  }
end

local VERIFY_OPTIONS = { aud = audience, now = seconds, leeway = seconds }

--- sim.jwt.verify(token, secret, {aud="gofr-api", now=os.time(), leeway=0})
--   -> claims table | nil, "auth_error", reason
-- Only HS256 is accepted; then the signature, iat/nbf (not in the future),
-- exp (> now), jti, non-empty groups, and aud when the token has one
-- (aud=false: not checked). Zero leeway by default, as gofr-dig.
function M.verify(token, secret, opts)
  if type(token) ~= "string" then fail("verify", "token must be a string, got " .. type(token)) end
  local why = secret_string(secret)
  if why then fail("verify", "secret " .. why) end
  opts = check_options("verify", opts, VERIFY_OPTIONS)
  if opts.leeway and opts.leeway < 0 then fail("verify", "option 'leeway' must not be negative") end
  local aud = opts.aud
  if aud == nil then aud = M.DEFAULT_AUDIENCE end
  local json, err_type, reason = core.jwt_verify(token, secret,
    { aud = aud, now = opts.now, leeway = opts.leeway })
  if not json then return nil, err_type, reason end
  local claims, jerr = cjson.decode(json)
  if type(claims) ~= "table" then
    return nil, "auth_error", "Invalid token: Invalid payload string: " .. tostring(jerr)
  end
  return claims
end

--- sim.jwt.decode(token) -> header, claims (tables) | nil, "invalid_argument", reason
-- No verification at all: for looking at a token (tests, the REPL, reports).
function M.decode(token)
  if type(token) ~= "string" then fail("decode", "token must be a string, got " .. type(token)) end
  local hjson, cjson_or_type, reason = core.jwt_decode(token)
  if not hjson then return nil, cjson_or_type, reason end
  local header, claims = cjson.decode(hjson), cjson.decode(cjson_or_type)
  if type(header) ~= "table" or type(claims) ~= "table" then
    return nil, "invalid_argument", "sim.jwt.decode: header or claims are not JSON objects"
  end
  return header, claims
end

--- sim.jwt.redact(token) -> up to 8 leading characters, "…", and the first
-- 12 hex digits of the token's SHA-256: for logs and reports, where a whole
-- token must never appear. The prefix stops at the first "." (for a JWT it
-- is the public base64url header, "eyJhbGci") and is left out for strings
-- shorter than 16 bytes.
function M.redact(token)
  if type(token) ~= "string" then fail("redact", "token must be a string, got " .. type(token)) end
  local prefix = #token >= 16 and token:match("^[^.]*"):sub(1, 8) or ""
  return prefix .. "…" .. core.sha256_hex(token):sub(1, 12)
end

--- The algorithms sim.jwt.sign and verify_key take (never "none").
M.ALGS = { "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512" }
local ALG_SET = {}
for _, a in ipairs(M.ALGS) do ALG_SET[a] = true end

local function alg_name(v)
  if not ALG_SET[v] then
    return ("must be one of %s, got %s"):format(table.concat(M.ALGS, ", "), tostring(v))
  end
end

local function json_object(v)
  if type(v) ~= "table" then return "must be a table, got " .. type(v) end
end

local SIGN_OPTIONS = { alg = alg_name, key = secret_string, claims = json_object, header = json_object }

-- A table as a JSON object text ({} for an empty table, never []).
local function object_text(fname, what, t)
  if next(t) == nil then return "{}" end
  local text, err = cjson.encode(t)
  if not text then fail(fname, ("option '%s' cannot be JSON: %s"):format(what, tostring(err))) end
  if text:sub(1, 1) ~= "{" then fail(fname, ("option '%s' must be a table with string keys"):format(what)) end
  return text
end

--- sim.jwt.sign{alg=, key=, claims=, header=} -> token | nil, "invalid_argument", reason
-- Signs any claims table with any of M.ALGS: for HS* the key is the secret,
-- for RS*/ES* a PEM private key (PKCS#8 or traditional). header adds header
-- members (kid ...; alg and typ are written by libjwt: {"alg":..,"typ":"JWT"}).
-- A key that is not a usable key of that kind returns nil, "invalid_argument".
function M.sign(opts)
  if type(opts) ~= "table" then fail("sign", "expected an options table, got " .. type(opts)) end
  check_options("sign", opts, SIGN_OPTIONS)
  for _, k in ipairs { "alg", "key", "claims" } do
    if opts[k] == nil then fail("sign", ("option '%s' is required"):format(k)) end
  end
  local header = opts.header and object_text("sim.jwt.sign", "header", opts.header) or nil
  return core.jwt_sign(opts.alg, opts.key, object_text("sim.jwt.sign", "claims", opts.claims), header)
end

--- sim.jwt.verify_key(token, alg, key) -> claims | nil, "auth_error", reason
-- Checks only that the token's header names alg and that its signature
-- verifies with key (the HS* secret, or a PEM public key for RS*/ES*); the
-- caller checks the claims it cares about (exp, aud, iss ...).
function M.verify_key(token, alg, key)
  if type(token) ~= "string" then fail("verify_key", "token must be a string, got " .. type(token)) end
  local why = alg_name(alg) or secret_string(key)
  if why then fail("verify_key", "alg/key " .. why) end
  local json, err_type, reason = core.jwt_verify_key(token, alg, key)
  if not json then return nil, err_type, reason end
  local claims = cjson.decode(json)
  if type(claims) ~= "table" then return nil, "auth_error", "Invalid token: claims are not a JSON object" end
  return claims
end

--- sim.jwt.keygen(alg) -> private_pem, public_pem: a fresh RSA 2048 (RS*) or
-- P-256/P-384/P-521 (ES256/384/512) key pair, for private_key_jwt tests.
function M.keygen(alg)
  if type(alg) ~= "string" or not alg:match("^[RE]S%d%d%d$") or not ALG_SET[alg] then
    fail("keygen", "alg must be RS256, RS384, RS512, ES256, ES384 or ES512, got " .. tostring(alg))
  end
  return core.jwt_keygen(alg)
end

return M
