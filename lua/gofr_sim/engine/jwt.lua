--- sim.jwt: HS256 tokens as gofr-dig mints and checks them (C core on
-- libjwt; see docs/api.md).
--
--   sim.jwt.mint{secret=, groups=, ttl=3600, aud="gofr-api", now=, nbf=0} -> token
--   sim.jwt.verify(token, secret, {aud="gofr-api", now=, leeway=0})
--     -> claims | nil, "auth_error", reason
--   sim.jwt.decode(token) -> header, claims | nil, "invalid_argument", reason
--   sim.jwt.redact(token) -> "eyJhbGci…3f2a9c01b7de"
--
-- Times are epoch seconds (whole numbers); `now` defaults to the wall clock.
-- Refusal reasons use gofr-dig's wording ("Token has expired", ...).
-- Misuse (a bad option, a non-string token) raises.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local cjson = require("cjson.safe").new()

local type, pairs, tostring = type, pairs, tostring
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

return M
