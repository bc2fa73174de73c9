--- gofr_sim.twin.auth: gofr-dig's token verification (contract §5) and the
-- token store it checks every token against.
--
--   local store = auth.store()                       -- in-process
--   local store = auth.store { file = "tokens.json" } -- shared with another process
--   store:register(token)                            -- a token minted elsewhere
--   store:register_all(tokens)                       -- every JWT of a token map
--   local a = auth.new { secret = s, store = store }
--   local groups, why = a:groups_of(auth_token)      -- nil: anonymous; false, why: AUTH_ERROR
--
-- Verification (HS256 only, leeway 0, jti and non-empty groups required, aud
-- checked when present) is sim.jwt.verify; then the jti must be in the store,
-- not revoked, with the same set of groups. A store file's format is one
-- JSON object: jti -> {id, name, groups, status, created_at, expires_at,
-- revoked_at, fingerprint} (gofr-common's TokenRecord fields).
--
-- The file is checked on every verification, so registrations and
-- revocations by another process count at once (the real server reloads its
-- store for every token too), but it is read and decoded again only when
-- its stamp changed: mtime to the nanosecond, size, inode and device (a file
-- renamed over it, as this store writes or `mv` does, is a new inode even
-- within the same second; an in-place write changes the mtime and usually
-- the size). Only an in-place rewrite to the same size within one tick of
-- the kernel's file-time clock (1-10 ms on Linux) can go unseen. A missing
-- file is an empty store; one that exists but cannot be read, or is not a
-- JSON object, raises "token store <file>: <why>" (on every verification
-- until it is fixed). store.stats.loads counts the reads of the file. The
-- records returned by store:get are the store's own: do not modify them.
-- store:save writes the file atomically (core.fs_write_atomic: a temporary
-- file renamed over it) and keeps what it wrote as the cache.
-- register, register_all and revoke read, change and write the file under
-- an exclusive lock of "<file>.lock" (util/fs.with_lock, up to
-- LOCK_TIMEOUT seconds), so processes sharing a store (shards started
-- together, a twin and a repl) never lose each other's records. The real
-- server does not take that lock: do not write its store while it does.
local core = require "gofr_sim.core"
local jwt = require "gofr_sim.engine.jwt"
local json = require "gofr_sim.util.json"
local fs = require "gofr_sim.util.fs"

local type, pairs, ipairs, pcall, tostring, os_date = type, pairs, ipairs, pcall, tostring, os.date

local M = {}

local LOCK_TIMEOUT = 10 -- seconds another process may hold the store's lock

local Store = {}
Store.__index = Store

--- auth.store{file = path|nil} -> a token store; its stats.loads counts
-- how many times the file was read and decoded.
function M.store(opts)
  opts = opts or {}
  return setmetatable({ file = opts.file, records = {}, stats = { loads = 0 },
                        cache = nil, stamp = nil }, Store)
end

-- True when two fs_stat tables describe the same version of a file.
local function same_stamp(a, b)
  return a.mtime_nsec == b.mtime_nsec and a.mtime_sec == b.mtime_sec and a.size == b.size
    and a.ino == b.ino and a.dev == b.dev
end

-- The store file is missing: an empty store (stamp false: seen missing).
function Store:_missing()
  if self.stamp ~= false then self.cache, self.stamp = json.object(), false end
  return self.cache
end

-- The records of the store file: the cache while the file's stamp is the
-- one it was read (or written) with, else read again.
function Store:load()
  local file = self.file
  if not file then return self.records end
  local st, err_type, msg = core.fs_stat(file)
  if not st then
    if err_type == "not_found" then return self:_missing() end
    error("token store " .. msg, 0)
  end
  local seen = self.stamp
  if seen and same_stamp(st, seen) then return self.cache end
  -- The stamp is taken before the read: a change racing the read is seen
  -- again next time.
  local text, read_err, why = fs.read_file(file)
  if not text then
    if read_err == "not_found" then return self:_missing() end   -- removed since the stat
    error("token store " .. why, 0)
  end
  self.stats.loads = self.stats.loads + 1
  local doc, err
  if text == "" then
    doc = json.object()
  else
    doc, err = json.decode(text)
    if not json.is_object(doc) then
      self.cache, self.stamp = nil, nil
      error(("token store %s: %s"):format(file, err or "expected a JSON object"), 0)
    end
  end
  self.cache, self.stamp = doc, st
  return doc
end

function Store:save(records)
  if not self.file then return end
  self.cache, self.stamp = nil, nil   -- read again should the write fail
  local st, _, msg = core.fs_write_atomic(self.file, json.encode(records, "pretty") .. "\n")
  if not st then error("token store " .. msg, 0) end
  self.cache, self.stamp = records, st
end

local function iso(t)
  return t and os_date("!%Y-%m-%dT%H:%M:%S", t) or json.null
end

-- The claims of a JWT with a jti claim, else nil (not a token a store can know).
local function claims_with_jti(token)
  local _, claims = jwt.decode(token)
  if type(claims) == "table" and type(claims.jti) == "string" then return claims end
  return nil
end

-- The store's record of an active token (gofr-common's TokenRecord).
local function active_record(claims)
  return json.object(
    "id", claims.jti, "name", json.null, "groups", json.array(claims.groups or {}),
    "status", "active", "created_at", iso(claims.iat), "expires_at", iso(claims.exp),
    "revoked_at", json.null, "fingerprint", json.null)
end

--- store:register(token) -> jti: records a minted token as active.
-- Calls change(records) on the store's records and saves them, under the
-- store file's lock (none in-process); -> change's result.
function Store:_update(change)
  local function cycle()
    local records = self:load()
    local result = change(records)
    if result ~= false then self:save(records) end
    return result
  end
  if not self.file then return cycle() end
  local ok, result = pcall(fs.with_lock, self.file .. ".lock", LOCK_TIMEOUT, cycle)
  if ok then return result end
  result = tostring(result)
  if result:match("^token store ") then error(result, 0) end -- load's or save's
  error(("token store %s: its lock %s"):format(self.file, result), 0)
end

function Store:register(token)
  local claims = claims_with_jti(token)
  if not claims then error("auth.store:register: not a token with a jti claim", 2) end
  self:_update(function(records) records[claims.jti] = active_record(claims) end)
  return claims.jti
end

--- store:register_all(tokens) -> the number registered: records as active
-- every value of `tokens` (a map or an array) that is a JWT with a jti
-- claim, in one write; the others (token_invalid's literal, opaque strings)
-- are no tokens a server could know, and are skipped.
function Store:register_all(tokens)
  local found = {}
  for _, token in pairs(tokens) do found[#found + 1] = claims_with_jti(token) end
  if #found == 0 then return 0 end
  self:_update(function(records)
    for _, claims in ipairs(found) do records[claims.jti] = active_record(claims) end
  end)
  return #found
end

--- store:revoke(jti) -> true | false (unknown jti)
function Store:revoke(jti)
  return self:_update(function(records)
    local r = records[jti]
    if not r then return false end -- nothing to write
    r.status = "revoked"
    r.revoked_at = os_date("!%Y-%m-%dT%H:%M:%S")
    return true
  end)
end

function Store:get(jti)
  return self:load()[jti]
end

local function set_of(list)
  local set, n = {}, 0
  for _, g in ipairs(list) do
    if not set[g] then set[g], n = true, n + 1 end
  end
  return set, n
end

-- True when the two arrays hold the same groups (order and repeats aside).
local function same_set(a, b)
  local sa, na = set_of(a)
  local sb, nb = set_of(b)
  if na ~= nb then return false end
  for g in pairs(sa) do
    if not sb[g] then return false end
  end
  return true
end

local Auth = {}
Auth.__index = Auth

--- auth.new{secret=, store=, audience="gofr-api", enabled=true,
--   accept_expired=false}
-- enabled=false is gofr-dig's --no-auth: every token is ignored;
-- accept_expired is a deliberately broken twin's (scenario specs).
function M.new(opts)
  return setmetatable({
    accept_expired = opts.accept_expired,
    secret = opts.secret, store = opts.store or M.store(),
    audience = opts.audience or jwt.DEFAULT_AUDIENCE,
    enabled = opts.enabled ~= false,
  }, Auth)
end

--- auth:verify(token) -> groups | nil, message (the AuthError's text)
function Auth:verify(token)
  local claims, _, why = jwt.verify(token, self.secret,
    { aud = self.audience, leeway = self.accept_expired and 1e9 or nil })
  if not claims then return nil, why end
  local record = self.store:get(claims.jti)
  if not record then return nil, ("Token %s not found in token store"):format(claims.jti) end
  if record.status == "revoked" then
    return nil, ("Token %s has been revoked"):format(claims.jti)
  end
  if not same_set(claims.groups, record.groups or {}) then
    return nil, "Token groups mismatch in store"
  end
  return claims.groups
end

-- "Bearer x" (any case) -> "x"; surrounding whitespace trimmed.
local function raw_token(auth_token)
  if auth_token:sub(1, 7):lower() == "bearer " then auth_token = auth_token:sub(8) end
  return (auth_token:gsub("^%s+", ""):gsub("%s+$", ""))
end

--- auth:groups_of(auth_token) -> groups (array) | nil (anonymous) |
--   false, message (AUTH_ERROR). Anonymous: auth disabled, no token, or an
--   empty one.
function Auth:groups_of(auth_token)
  if not self.enabled or type(auth_token) ~= "string" or auth_token == "" then return nil end
  local token = raw_token(auth_token)
  if token == "" then return nil end
  local groups, why = self:verify(token)
  if not groups then return false, why end
  if #groups == 0 then return nil end
  return groups
end

--- auth:identity_of(auth_token) -> the rate-limit identity: the primary
-- group of a valid token, else nil (anonymous, also for bad tokens).
function Auth:identity_of(auth_token)
  local groups = self:groups_of(auth_token)
  return groups and groups[1] or nil
end

return M
