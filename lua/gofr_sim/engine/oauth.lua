--- OAuth 2.1 for MCP servers, as the MCP authorization spec (2025-11-25)
-- asks of a client: discovery from a 401's WWW-Authenticate (RFC 9728
-- protected resource metadata, path-based then root; RFC 8414 / OpenID
-- authorization server metadata), client registration (pre-registered,
-- client ID metadata documents, dynamic RFC 7591), authorization code + PKCE
-- S256 with the redirect handled in-process, resource indicators (RFC 8707),
-- scope selection and step-up, client credentials, refresh. docs/mcp.md,
-- "Authorization (OAuth)".
--
--   local oauth = require "gofr_sim.engine.oauth"
--   local client = oauth.client { redirect_uri = "http://127.0.0.1:9/callback" }
--   local res = sim.http.post(url, body, { headers = h })
--   if res.status == 401 or res.status == 403 then
--     local token, err_type, message = client:authorize(url, res)
--     if token then h.Authorization = client:header(url) ... retry ... end
--   end
--
-- Every request goes through sim.http (inside the calling persona), named
-- oauth.discovery, oauth.register, oauth.authorize and oauth.token in the
-- metrics. No token, secret, code, verifier or assertion ever appears in an
-- error message: they are replaced by sim.jwt.redact's form.
--
-- Error types (the second result of a failed authorize): oauth_discovery,
-- oauth_registration, oauth_authorization, oauth_token, insufficient_scope,
-- auth_forbidden (a 403 that is no insufficient_scope challenge), and
-- sim.http's own network_* / body_too_large when a request failed.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local http = require "gofr_sim.engine.http"
local jwt = require "gofr_sim.engine.jwt"
local cjson = require("cjson.safe").new()

local type, pairs, ipairs, tostring, tonumber, select = type, pairs, ipairs, tostring, tonumber, select
local concat, sort = table.concat, table.sort
local floor, min, max = math.floor, math.min, math.max
local fail = check.fail

local M = {}

--- The error types authorize returns (besides sim.http's network_*).
M.ERRORS = {
  oauth_discovery = "no usable protected resource or authorization server metadata",
  oauth_registration = "no client_id: registration refused or not offered",
  oauth_authorization = "the authorization endpoint refused, or its redirect was wrong",
  oauth_token = "the token endpoint refused, or answered something that is not a token",
  insufficient_scope = "403 insufficient_scope again after the step-up limit",
  auth_forbidden = "a 403 without a Bearer insufficient_scope challenge",
}

M.ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

-- ---------------------------------------------------------------------------
-- Encoding helpers
-- ---------------------------------------------------------------------------

--- base64url without padding.
function M.b64url(s) return core.base64_encode(s, "url") end

--- Percent-encodes everything but RFC 3986's unreserved characters.
function M.url_encode(s)
  return (tostring(s):gsub("[^%w%-%._~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- Decodes %XX and "+" (application/x-www-form-urlencoded).
function M.url_decode(s)
  s = s:gsub("+", " ")
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- application/x-www-form-urlencoded from an array of {name, value} pairs
-- (kept in order; nil values skipped) or a table (sorted by name).
function M.form_encode(fields)
  local parts = {}
  if fields[1] ~= nil then
    for _, kv in ipairs(fields) do
      if kv[2] ~= nil then parts[#parts + 1] = M.url_encode(kv[1]) .. "=" .. M.url_encode(kv[2]) end
    end
  else
    local names = {}
    for k in pairs(fields) do names[#names + 1] = k end
    sort(names)
    for _, k in ipairs(names) do parts[#parts + 1] = M.url_encode(k) .. "=" .. M.url_encode(fields[k]) end
  end
  return concat(parts, "&")
end

--- The fields of a query string or form body (the first of repeated names wins).
function M.form_decode(s)
  local t = {}
  for part in (s or ""):gmatch("[^&]+") do
    local k, v = part:match("^([^=]*)=?(.*)$")
    k = M.url_decode(k)
    if t[k] == nil then t[k] = M.url_decode(v) end
  end
  return t
end

-- ---------------------------------------------------------------------------
-- URLs
-- ---------------------------------------------------------------------------

--- {scheme=, authority=, path=, query=, fragment=} of an absolute URL, or nil.
-- scheme and host are lower-cased; path is "" when absent.
function M.parse_url(url)
  if type(url) ~= "string" then return nil end
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil end
  local fragment
  rest, fragment = rest:match("^([^#]*)#?(.*)$")
  local query
  rest, query = rest:match("^([^?]*)%??(.*)$")
  local authority, path = rest:match("^([^/]*)(.*)$")
  if authority == "" then return nil end
  local userinfo, hostport = authority:match("^(.*@)(.*)$")
  authority = (userinfo or "") .. (hostport or authority):lower()
  return {
    scheme = scheme:lower(), authority = authority, path = path,
    query = url:find("?", 1, true) and query or nil,
    fragment = url:find("#", 1, true) and fragment or nil,
  }
end

--- scheme://authority of a URL.
function M.origin(url)
  local u = M.parse_url(url)
  return u and (u.scheme .. "://" .. u.authority) or nil
end

--- ref resolved against base (absolute, //authority, /path or relative).
function M.resolve(base, ref)
  if ref:match("^%a[%w+.-]*://") then return ref end
  local b = M.parse_url(base)
  if not b then return ref end
  if ref:sub(1, 2) == "//" then return b.scheme .. ":" .. ref end
  if ref:sub(1, 1) == "/" then return b.scheme .. "://" .. b.authority .. ref end
  if ref:sub(1, 1) == "?" then return b.scheme .. "://" .. b.authority .. b.path .. ref end
  local dir = b.path:match("^(.*/)") or "/"
  return b.scheme .. "://" .. b.authority .. dir .. ref
end

--- The canonical resource URI of an MCP server URL (RFC 8707, the MCP
-- spec): lower-case scheme and host, no fragment, the path kept as is.
function M.canonical_resource(url)
  local u = M.parse_url(url)
  if not u then return nil end
  return u.scheme .. "://" .. u.authority .. u.path .. (u.query and ("?" .. u.query) or "")
end

-- The path without one trailing slash ("" for "/").
local function trim_path(path)
  if path:sub(-1) == "/" then path = path:sub(1, -2) end
  return path
end

--- The RFC 9728 protected resource metadata URLs to try for a server URL,
-- in order: the path-based one (/.well-known/oauth-protected-resource/<path>,
-- the server's query kept) then the root one; only the root one for a URL
-- without a path.
function M.prm_urls(server_url)
  local u = M.parse_url(server_url)
  if not u then return {} end
  local base = u.scheme .. "://" .. u.authority .. "/.well-known/oauth-protected-resource"
  local path = trim_path(u.path)
  if path == "" then return { base } end
  return { base .. path .. (u.query and ("?" .. u.query) or ""), base }
end

--- The authorization server metadata URLs to try for an issuer, in order
-- (the MCP spec, 2025-11-25): without a path, RFC 8414's
-- /.well-known/oauth-authorization-server then OpenID's
-- /.well-known/openid-configuration; with a path, both with the path
-- inserted after the well-known name, then OpenID's with it appended.
-- Each entry is {url=, kind="oauth"|"oidc"}.
function M.as_metadata_urls(issuer)
  local u = M.parse_url(issuer)
  if not u then return {} end
  local origin = u.scheme .. "://" .. u.authority
  local path = trim_path(u.path)
  if path == "" then
    return {
      { url = origin .. "/.well-known/oauth-authorization-server", kind = "oauth" },
      { url = origin .. "/.well-known/openid-configuration", kind = "oidc" },
    }
  end
  return {
    { url = origin .. "/.well-known/oauth-authorization-server" .. path, kind = "oauth" },
    { url = origin .. "/.well-known/openid-configuration" .. path, kind = "oidc" },
    { url = origin .. path .. "/.well-known/openid-configuration", kind = "oidc" },
  }
end

--- True when the protected resource `configured` (the metadata's
-- `resource`) covers the requested server URL: same origin, and the
-- requested path equal to or below the configured one.
function M.resource_allowed(requested, configured)
  local a, b = M.parse_url(requested), M.parse_url(configured)
  if not a or not b then return false end
  if a.scheme ~= b.scheme or a.authority ~= b.authority then return false end
  local rp, cp = trim_path(a.path) .. "/", trim_path(b.path) .. "/"
  return rp:sub(1, #cp) == cp
end

-- ---------------------------------------------------------------------------
-- WWW-Authenticate (RFC 9110 section 11.6.1)
-- ---------------------------------------------------------------------------

local TCHAR = "[%w!#%$%%&'%*%+%-%.%^_`|~]"
local TOKEN68 = "^[%w%-%._~%+/]+=*"

--- The challenges of a WWW-Authenticate value (several headers joined with
-- ", " are fine): an array of {scheme=, params={name=value}, token68=},
-- with parameter names lower-cased (the first of repeated names wins) and
-- quoted strings unescaped. Garbage ends the parse; what came before stays.
function M.parse_www_authenticate(header)
  local out = {}
  if type(header) ~= "string" then return out end
  local s, pos, n = header, 1, #header

  local function ws() pos = s:find("[^ \t]", pos) or n + 1 end
  local function token()
    local a, b = s:find("^" .. TCHAR .. "+", pos)
    if not a then return nil end
    pos = b + 1
    return s:sub(a, b)
  end
  local function quoted()
    -- s:sub(pos, pos) == '"'
    local buf, i = {}, pos + 1
    while i <= n do
      local c = s:sub(i, i)
      if c == "\\" and i < n then
        buf[#buf + 1] = s:sub(i + 1, i + 1)
        i = i + 2
      elseif c == '"' then
        pos = i + 1
        return concat(buf)
      else
        buf[#buf + 1] = c
        i = i + 1
      end
    end
    return nil -- unterminated
  end
  -- Is the text at pos an auth-param (token BWS "=" BWS token-or-quoted-string),
  -- not a token68 ("abc==") nor the next challenge's scheme?
  local function at_param()
    local _, b = s:find("^" .. TCHAR .. "+[ \t]*=[ \t]*", pos)
    if not b then return false end
    local c = s:sub(b + 1, b + 1)
    return c == '"' or (c ~= "" and not c:find("[ \t,=]"))
  end

  for _ = 1, 256 do
    pos = s:find("[^ \t,]", pos) or n + 1
    if pos > n then break end
    local scheme = token()
    if not scheme then break end
    local ch = { scheme = scheme, params = {} }
    out[#out + 1] = ch
    ws()
    -- token68 (e.g. Negotiate abc==), not followed by "=" of a param
    local a, b = s:find(TOKEN68, pos)
    if a and not at_param() then
      local after = s:find("[^ \t]", b + 1)
      if not after or s:sub(after, after) == "," then
        ch.token68 = s:sub(a, b)
        pos = b + 1
      end
    end
    if not ch.token68 then
      for _ = 1, 256 do
        if not at_param() then break end
        local name = token():lower()
        ws()
        pos = pos + 1 -- "=", as at_param saw
        ws()
        local value
        if s:sub(pos, pos) == '"' then
          value = quoted()
          if value == nil then return out end
        else
          -- a token, leniently: anything up to white space or a comma
          -- (servers write scope=mcp:read unquoted)
          value = s:match("^[^ \t,]*", pos)
          pos = pos + #value
        end
        if ch.params[name] == nil then ch.params[name] = value end
        ws()
        if s:sub(pos, pos) ~= "," then break end
        -- skip commas and spaces; another param of this challenge, or a new one
        local save = pos
        pos = s:find("[^ \t,]", pos) or n + 1
        if pos > n or not at_param() then
          pos = save
          break
        end
      end
    end
  end
  return out
end

--- The parameters of the first Bearer challenge of a WWW-Authenticate value
-- (error, scope, resource_metadata, error_description, realm ...), or nil.
function M.bearer_challenge(header)
  for _, ch in ipairs(M.parse_www_authenticate(header)) do
    if ch.scheme:lower() == "bearer" then return ch.params end
  end
  return nil
end

-- ---------------------------------------------------------------------------
-- PKCE, scopes, client authentication
-- ---------------------------------------------------------------------------

--- The S256 code challenge of a verifier (RFC 7636).
function M.pkce_challenge(verifier)
  return M.b64url(core.sha256(verifier))
end

--- A fresh PKCE pair: verifier (43 characters from 32 random bytes), challenge.
function M.pkce()
  local verifier = M.b64url(core.random_bytes(32))
  return verifier, M.pkce_challenge(verifier)
end

--- The space-separated union of scope strings (nil entries skipped; order
-- of first appearance), or nil when empty.
function M.scope_union(...)
  local seen, out = {}, {}
  for i = 1, select("#", ...) do
    local s = select(i, ...)
    if type(s) == "string" then
      for w in s:gmatch("%S+") do
        if not seen[w] then seen[w], out[#out + 1] = true, w end
      end
    end
  end
  return out[1] and concat(out, " ") or nil
end

local function scope_has(scope, word)
  for w in (scope or ""):gmatch("%S+") do if w == word then return true end end
  return false
end

--- True when union names a scope that current lacks.
function M.scope_exceeds(union, current)
  for w in (union or ""):gmatch("%S+") do
    if not scope_has(current, w) then return true end
  end
  return false
end

local function array_has(list, v)
  if type(list) ~= "table" then return false end
  for _, x in ipairs(list) do if x == v then return true end end
  return false
end

--- The scope to request (the MCP spec's scope selection strategy): the
-- challenge's scope, else every scope of the protected resource's
-- scopes_supported, else the client's configured scope, else nil (the
-- parameter is left out). offline_access is added when the authorization
-- server lists it and `offline_access` is not false.
-- args: {challenge=, prm=, as_meta=, configured=, offline_access=}
function M.select_scope(args)
  local scope = args.challenge
  if (scope == nil or scope == "") and args.prm and type(args.prm.scopes_supported) == "table"
      and args.prm.scopes_supported[1] then
    scope = concat(args.prm.scopes_supported, " ")
  end
  if scope == nil or scope == "" then scope = args.configured end
  if scope == "" then scope = nil end
  if scope and args.offline_access ~= false and args.as_meta
      and array_has(args.as_meta.scopes_supported, "offline_access")
      and not scope_has(scope, "offline_access") then
    scope = scope .. " offline_access"
  end
  return scope
end

M.AUTH_METHODS = { client_secret_basic = true, client_secret_post = true, none = true,
                   private_key_jwt = true }

--- The token endpoint authentication method for a client {client_secret=,
-- token_endpoint_auth_method=, private_key_pem=} given the server's
-- token_endpoint_auth_methods_supported (RFC 8414: absent means
-- client_secret_basic): the registration's own method when the server
-- supports it; private_key_jwt with a key; then client_secret_basic,
-- client_secret_post (with a secret), none.
function M.select_auth_method(info, supported)
  supported = type(supported) == "table" and supported or {}
  local has_secret = info.client_secret ~= nil and info.client_secret ~= ""
  local m = info.token_endpoint_auth_method
  if m and M.AUTH_METHODS[m] and (supported[1] == nil or array_has(supported, m)) then return m end
  if info.private_key_pem and (supported[1] == nil or array_has(supported, "private_key_jwt")) then
    return "private_key_jwt"
  end
  if supported[1] == nil then return has_secret and "client_secret_basic" or "none" end
  if has_secret and array_has(supported, "client_secret_basic") then return "client_secret_basic" end
  if has_secret and array_has(supported, "client_secret_post") then return "client_secret_post" end
  if array_has(supported, "none") then return "none" end
  return has_secret and "client_secret_post" or "none"
end

--- sim.jwt.redact: what messages show instead of a secret.
M.redact = jwt.redact

-- ---------------------------------------------------------------------------
-- The client
-- ---------------------------------------------------------------------------

local Client = {}
Client.__index = Client

local CLIENT_OPTIONS = {
  client_id = "string", client_secret = "string", auth_method = "string",
  private_key_pem = "string", private_key_alg = "string", assertion_audience = "string",
  client_metadata_url = "string", redirect_uri = "string", scope = "string",
  grant = "string", consent = "function", cache = "table", max_step_up = "number",
  client_name = "string", offline_access = "boolean", timeout = "number",
  expiry_margin = "number", http = "table", idp = "table",
}

local GRANTS = { authorization_code = true, client_credentials = true, cross_app_access = true }

-- The URNs of cross-app access (Identity Assertion JWT Authorization Grant):
-- an RFC 8693 token exchange at the IdP for an ID-JAG, then an RFC 7523
-- JWT bearer grant at the authorization server.
local TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
local JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
local ID_JAG = "urn:ietf:params:oauth:token-type:id-jag"
local ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"

local DEFAULT_REDIRECT = "http://127.0.0.1:1/oauth/callback"

--- oauth.client(opts) -> client. Options (all optional):
--   client_id, client_secret   a pre-registered client (else CIMD or DCR)
--   auth_method                client_secret_basic | client_secret_post | none | private_key_jwt
--                              (default: chosen from the server's metadata)
--   private_key_pem, private_key_alg   private_key_jwt's key (alg default RS256)
--   assertion_audience         the assertion's aud (default: the issuer)
--   client_metadata_url        an https URL used as client_id when the server
--                              supports client ID metadata documents
--   redirect_uri               default http://127.0.0.1:1/oauth/callback (never served)
--   scope                      the scope when neither challenge nor metadata names one
--   grant                      "authorization_code" (default) | "client_credentials" |
--                              "cross_app_access" (an ID-JAG from the IdP, then a JWT bearer grant)
--   idp                        cross_app_access: {token_endpoint=, id_token=, client_id=,
--                              client_secret=} of the enterprise IdP
--   consent                    function(authorize_url, info) -> redirect URL or code
--                              (default: GET the authorization endpoint in-process)
--   cache                      a table shared by clients to share tokens, metadata and
--                              registrations (nil: this client's own)
--   max_step_up                step-ups without a new scope before insufficient_scope (2)
--   client_name, offline_access (default true), timeout (per request, 10 s),
--   expiry_margin (seconds before expiry a token counts as expired, 5),
--   http                       {request = fn} instead of sim.http (tests)
function M.client(opts)
  opts = opts or {}
  check.options("oauth.client", opts, CLIENT_OPTIONS)
  if opts.grant and not GRANTS[opts.grant] then
    fail("oauth.client", "option 'grant' must be authorization_code, client_credentials or "
      .. "cross_app_access, got '"
      .. opts.grant .. "'")
  end
  if opts.auth_method and not M.AUTH_METHODS[opts.auth_method] then
    fail("oauth.client", "option 'auth_method' must be client_secret_basic, client_secret_post, "
      .. "none or private_key_jwt, got '" .. opts.auth_method .. "'")
  end
  if opts.auth_method == "private_key_jwt" and not opts.private_key_pem then
    fail("oauth.client", "auth_method private_key_jwt needs option 'private_key_pem'")
  end
  if opts.private_key_alg and not opts.private_key_alg:match("^[RE]S%d%d%d$") then
    fail("oauth.client", "option 'private_key_alg' must be RS256/384/512 or ES256/384/512, got '"
      .. opts.private_key_alg .. "'")
  end
  if (opts.auth_method == "client_secret_basic" or opts.auth_method == "client_secret_post")
      and opts.client_id and not opts.client_secret then
    fail("oauth.client", "auth_method " .. opts.auth_method .. " needs option 'client_secret'")
  end
  if opts.client_secret and not opts.client_id then
    fail("oauth.client", "option 'client_secret' needs option 'client_id'")
  end
  if opts.grant == "client_credentials" and not opts.client_id then
    fail("oauth.client", "grant client_credentials needs option 'client_id'")
  end
  if opts.grant == "cross_app_access" then
    local idp = opts.idp
    if not (opts.client_id and type(idp) == "table" and type(idp.token_endpoint) == "string"
        and type(idp.id_token) == "string" and type(idp.client_id) == "string") then
      fail("oauth.client", "grant cross_app_access needs options 'client_id' and 'idp' "
        .. "{token_endpoint=, id_token=, client_id=}")
    end
  end
  if opts.max_step_up and (opts.max_step_up < 0 or opts.max_step_up ~= floor(opts.max_step_up)) then
    fail("oauth.client", "option 'max_step_up' must be a whole number >= 0")
  end
  if opts.timeout and not (opts.timeout > 0) then -- luacheck: ignore 581
    fail("oauth.client", "option 'timeout' must be > 0")
  end
  if opts.redirect_uri and not M.parse_url(opts.redirect_uri) then
    fail("oauth.client", "option 'redirect_uri' must be an absolute URL")
  end
  local cache = opts.cache or {}
  cache.tokens = cache.tokens or {}
  cache.metadata = cache.metadata or {}
  cache.clients = cache.clients or {}
  local self = setmetatable({
    o = opts,
    grant = opts.grant or "authorization_code",
    redirect_uri = opts.redirect_uri or DEFAULT_REDIRECT,
    max_step_up = opts.max_step_up or 2,
    timeout = opts.timeout or 10,
    margin = opts.expiry_margin or 5,
    cache = cache,
    http = opts.http or http,
    secrets = {},
  }, Client)
  self:_secret(opts.client_secret, true)
  self:_secret(opts.private_key_pem, true)
  if opts.idp then
    self:_secret(opts.idp.id_token, true)
    self:_secret(opts.idp.client_secret, true)
  end
  return self
end

local RECENT_SECRETS = 64

-- Remembers a string that must never appear in a message: the client's own
-- (secret, key) for good, tokens, codes and assertions in a ring of the last
-- RECENT_SECRETS shared through the cache (so a token another client got is
-- scrubbed too).
function Client:_secret(s, pinned)
  if type(s) ~= "string" or #s < 4 then return end
  if pinned then
    self.secrets[s] = true
    return
  end
  local ring = self.cache.secrets
  if not ring then
    ring = { n = 0, set = {} }
    self.cache.secrets = ring
  end
  if ring.set[s] then return end
  ring.n = ring.n % RECENT_SECRETS + 1
  local old = ring[ring.n]
  if old then ring.set[old] = nil end
  ring[ring.n], ring.set[s] = s, true
end

local function scrub_one(msg, s)
  local i = msg:find(s, 1, true)
  local guard = 0
  while i and guard < 64 do
    msg = msg:sub(1, i - 1) .. M.redact(s) .. msg:sub(i + #s)
    i = msg:find(s, i + 1, true)
    guard = guard + 1
  end
  return msg
end

-- msg with every known secret replaced by its redacted form.
function Client:_scrub(msg)
  msg = tostring(msg)
  for s in pairs(self.cache.secrets and self.cache.secrets.set or {}) do msg = scrub_one(msg, s) end
  for s in pairs(self.secrets) do msg = scrub_one(msg, s) end
  return msg
end

function Client:_fail(err_type, msg)
  return nil, err_type, self:_scrub(msg)
end

-- One request through sim.http, named; -> res | nil, err_type, message.
-- Only discovery follows redirects (a metadata document may have moved);
-- the authorization request must stop at its redirect to redirect_uri.
function Client:_request(name, method, url, headers, body)
  local res, err_type, msg = self.http.request {
    method = method, url = url, headers = headers, body = body, timeout = self.timeout,
    follow_redirects = name == "oauth.discovery", max_redirects = 5, name = name,
  }
  if not res then return nil, err_type, ("%s %s: %s"):format(method, url, tostring(msg)) end
  return res
end

-- The body as a JSON object (whatever the Content-Type says), or nil.
local function json_object_of(res)
  local t = cjson.decode(res.body or "")
  if type(t) ~= "table" or t[1] ~= nil then return nil end
  return t
end

-- The cache key of this client for a resource.
function Client:_key(resource)
  return concat({ resource, self.o.client_id or self.o.client_metadata_url or "dynamic", self.grant,
                  self.redirect_uri }, "|")
end

-- ---- discovery ------------------------------------------------------------

-- The first URL of urls that answers 200 with a JSON object accepted by
-- valid(t); -> t, url | nil, last problem, err_type (network failures).
function Client:_fetch_first(urls, headers, valid)
  local why = "no URL to try"
  for _, url in ipairs(urls) do
    local res, err_type, msg = self:_request("oauth.discovery", "GET", url, headers)
    if not res then return nil, msg, err_type end
    if res.status == 200 then
      local t = json_object_of(res)
      local bad = t == nil and "not a JSON object" or valid(t)
      if not bad then return t, url end
      why = url .. ": " .. bad
    else
      why = ("%s: HTTP %d"):format(url, res.status)
      -- a 5xx other than 502 is the server failing, not "not here"
      if res.status >= 500 and res.status ~= 502 then return nil, why end
    end
  end
  return nil, why
end

local DISCOVERY_HEADERS = { ["MCP-Protocol-Version"] = "2025-11-25", Accept = "application/json" }

local function valid_prm(t)
  if type(t.resource) ~= "string" then return "no 'resource'" end
  if t.authorization_servers ~= nil and type(t.authorization_servers) ~= "table" then
    return "'authorization_servers' is not an array"
  end
end

local function valid_as(t)
  if type(t.authorization_endpoint) ~= "string" and type(t.token_endpoint) ~= "string" then
    return "neither authorization_endpoint nor token_endpoint"
  end
end

local function same_issuer(a, b)
  return type(a) == "string" and type(b) == "string" and trim_path(a) == trim_path(b)
end

-- Discovers (or takes from the cache) {prm=, prm_url=, issuer=, meta=,
-- legacy=} for a server URL; challenge = the Bearer parameters.
function Client:_discover(server_url, challenge)
  local resource = M.canonical_resource(server_url)
  local rm = challenge and challenge.resource_metadata
  local d = self.cache.metadata[resource]
  if d and (not rm or rm == d.prm_url) then return d end
  d = {}
  -- Protected resource metadata: the challenge's URL, then the well-known ones.
  local urls, seen = {}, {}
  if rm and M.parse_url(rm) then urls[1], seen[rm] = rm, true end
  for _, u in ipairs(M.prm_urls(server_url)) do
    if not seen[u] then urls[#urls + 1], seen[u] = u, true end
  end
  local prm, where, err_type = self:_fetch_first(urls, DISCOVERY_HEADERS, valid_prm)
  if err_type then return self:_fail(err_type, "oauth discovery: " .. tostring(where)) end
  local issuer
  if prm then
    if not M.resource_allowed(server_url, prm.resource) then
      return self:_fail("oauth_discovery", ("oauth discovery: %s names resource %s, not %s")
        :format(where, prm.resource, resource))
    end
    d.prm, d.prm_url = prm, where
    issuer = prm.authorization_servers and prm.authorization_servers[1]
    if type(issuer) ~= "string" or not M.parse_url(issuer) then
      return self:_fail("oauth_discovery", "oauth discovery: " .. where
        .. " names no authorization server")
    end
  else
    -- 2025-03-26: no protected resource metadata; the server's origin is the issuer
    issuer = M.origin(server_url)
  end
  d.issuer = issuer
  local as_urls = {}
  for i, e in ipairs(M.as_metadata_urls(issuer)) do as_urls[i] = e.url end
  local meta, mwhere, merr = self:_fetch_first(as_urls, DISCOVERY_HEADERS, valid_as)
  if merr then return self:_fail(merr, "oauth discovery: " .. tostring(mwhere)) end
  if meta then
    -- RFC 8414 section 3.3, for an issuer the resource named; under 2025-03-26
    -- (no resource metadata) the server's origin is only where to look
    if prm and meta.issuer ~= nil and not same_issuer(meta.issuer, issuer) then
      return self:_fail("oauth_discovery", ("oauth discovery: %s says issuer %s, expected %s")
        :format(mwhere, tostring(meta.issuer), issuer))
    end
  else
    -- 2025-03-26 fallback: the default endpoints at the issuer's origin
    local origin = M.origin(issuer)
    meta = { authorization_endpoint = origin .. "/authorize", token_endpoint = origin .. "/token",
             registration_endpoint = origin .. "/register" }
    d.legacy = true
  end
  if type(meta.token_endpoint) ~= "string" then
    return self:_fail("oauth_discovery", "oauth discovery: no token_endpoint")
  end
  d.meta = meta
  self.cache.metadata[resource] = d
  return d
end

-- ---- registration ---------------------------------------------------------

function Client:_application_type()
  local u = M.parse_url(self.redirect_uri)
  local host = u and u.authority:gsub(":%d+$", "") or ""
  if host == "127.0.0.1" or host == "localhost" or host == "[::1]" or (u and u.scheme ~= "http"
      and u.scheme ~= "https") then
    return "native"
  end
  return "web"
end

-- The client's {client_id=, client_secret=, token_endpoint_auth_method=} for
-- the issuer of d: pre-registered, CIMD or DCR (cached).
function Client:_client_info(d, scope)
  local o = self.o
  if o.client_id then
    return { client_id = o.client_id, client_secret = o.client_secret,
             token_endpoint_auth_method = o.auth_method, private_key_pem = o.private_key_pem }
  end
  local meta = d.meta
  if o.client_metadata_url and meta.client_id_metadata_document_supported == true then
    return { client_id = o.client_metadata_url, private_key_pem = o.private_key_pem,
             token_endpoint_auth_method = o.auth_method or (o.private_key_pem and "private_key_jwt")
               or "none" }
  end
  local ckey = concat({ d.issuer, self.redirect_uri, self.grant, o.auth_method or "" }, "|")
  local info = self.cache.clients[ckey]
  if info then return info end
  if type(meta.registration_endpoint) ~= "string" then
    return self:_fail("oauth_registration", "oauth registration: no client_id configured, and "
      .. d.issuer .. " offers neither dynamic client registration nor client ID metadata documents")
  end
  local method = o.auth_method
  if not method then
    local supported = meta.token_endpoint_auth_methods_supported
    if type(supported) == "table" and supported[1] then
      method = array_has(supported, "client_secret_basic") and "client_secret_basic"
        or array_has(supported, "client_secret_post") and "client_secret_post" or "none"
    else
      method = "client_secret_basic"
    end
  end
  local grants = self.grant == "client_credentials" and { "client_credentials" }
    or { "authorization_code", "refresh_token" }
  local body = {
    client_name = o.client_name or "gofr-sim",
    redirect_uris = { self.redirect_uri },
    grant_types = grants,
    response_types = self.grant == "authorization_code" and { "code" } or nil,
    token_endpoint_auth_method = method,
    application_type = self:_application_type(),
    scope = scope,
  }
  local res, err_type, msg = self:_request("oauth.register", "POST", meta.registration_endpoint,
    { ["Content-Type"] = "application/json", Accept = "application/json" }, cjson.encode(body))
  if not res then return self:_fail(err_type, "oauth registration: " .. msg) end
  local t = json_object_of(res)
  if (res.status ~= 201 and res.status ~= 200) or not t or type(t.client_id) ~= "string" then
    local why = t and t.error and (tostring(t.error) .. (t.error_description and (": "
      .. tostring(t.error_description)) or "")) or ("HTTP " .. res.status)
    return self:_fail("oauth_registration", ("oauth registration at %s refused: %s")
      :format(meta.registration_endpoint, why))
  end
  info = { client_id = t.client_id, client_secret = t.client_secret,
           token_endpoint_auth_method = t.token_endpoint_auth_method or method }
  self:_secret(info.client_secret, true)
  self.cache.clients[ckey] = info
  return info
end

-- ---- the token endpoint ---------------------------------------------------

-- Adds client authentication to fields/headers for info at d's token endpoint.
function Client:_client_auth(d, info, fields, headers)
  local method = self.o.auth_method
    or M.select_auth_method(info, d.meta.token_endpoint_auth_methods_supported)
  if method == "client_secret_basic" then
    if not info.client_secret then return nil, "client_secret_basic needs a client_secret" end
    headers.Authorization = "Basic " .. core.base64_encode(M.url_encode(info.client_id) .. ":"
      .. M.url_encode(info.client_secret))
  elseif method == "client_secret_post" then
    fields[#fields + 1] = { "client_id", info.client_id }
    fields[#fields + 1] = { "client_secret", info.client_secret }
  elseif method == "private_key_jwt" then
    local key = info.private_key_pem or self.o.private_key_pem
    if not key then return nil, "private_key_jwt needs private_key_pem" end
    local now = os.time()
    local assertion, _, why = jwt.sign {
      alg = self.o.private_key_alg or "RS256", key = key,
      claims = { iss = info.client_id, sub = info.client_id,
                 aud = self.o.assertion_audience or d.meta.issuer or d.issuer,
                 iat = now, exp = now + 300, jti = core.uuid4() },
    }
    if not assertion then return nil, why end
    self:_secret(assertion)
    fields[#fields + 1] = { "client_id", info.client_id }
    fields[#fields + 1] = { "client_assertion_type", M.ASSERTION_TYPE }
    fields[#fields + 1] = { "client_assertion", assertion }
  else
    fields[#fields + 1] = { "client_id", info.client_id }
  end
  return method
end

-- POSTs a token request; -> the entry {access_token=, refresh_token=,
-- expires_at=, scope=} | nil, err_type, message, oauth error code.
function Client:_token_request(d, info, fields, requested_scope)
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded",
                    Accept = "application/json" }
  local method, why = self:_client_auth(d, info, fields, headers)
  if not method then return self:_fail("oauth_token", "oauth token: " .. tostring(why)) end
  local url = d.meta.token_endpoint
  local res, err_type, msg = self:_request("oauth.token", "POST", url, headers, M.form_encode(fields))
  if not res then return self:_fail(err_type, "oauth token: " .. msg) end
  local t = json_object_of(res)
  if res.status ~= 200 or not t or type(t.access_token) ~= "string" or t.access_token == "" then
    local code = t and type(t.error) == "string" and t.error or nil
    local text = code and (code .. (t.error_description and (": " .. tostring(t.error_description))
      or "")) or ("HTTP " .. res.status .. (t and "" or ", not a JSON object"))
    local e1, e2, e3 = self:_fail("oauth_token", ("oauth token at %s (%s, %s) refused: %s")
      :format(url, fields[1][2], method, text))
    return e1, e2, e3, code
  end
  if t.token_type ~= nil and tostring(t.token_type):lower() ~= "bearer" then
    return self:_fail("oauth_token", "oauth token: token_type " .. tostring(t.token_type)
      .. " is not Bearer")
  end
  local entry = { access_token = t.access_token, refresh_token = t.refresh_token,
                  scope = type(t.scope) == "string" and t.scope or requested_scope,
                  requested = requested_scope, obtained_at = core.now() }
  local ttl = tonumber(t.expires_in)
  if ttl and ttl > 0 then
    entry.expires_at = core.now() + ttl - min(self.margin, ttl / 2)
  end
  self:_secret(entry.access_token)
  self:_secret(entry.refresh_token)
  return entry
end

-- ---- authorization code ---------------------------------------------------

-- The default consent: GET the authorization URL without following
-- redirects, following the server's own redirects (at most 5) until one
-- goes to redirect_uri; -> that URL | nil, message.
function Client:_in_process_consent(url)
  local target = self.redirect_uri:match("^[^?#]*")
  for _ = 1, 6 do
    local res, _, msg = self:_request("oauth.authorize", "GET", url, { Accept = "text/html" })
    if not res then return nil, msg end
    local loc = res.headers.location
    if not (res.status >= 300 and res.status < 400 and loc) then
      return nil, ("the authorization endpoint answered HTTP %d instead of redirecting to %s "
        .. "(a login page? give the client a consent function)"):format(res.status, target)
    end
    loc = M.resolve(url, loc)
    if loc:match("^[^?#]*") == target then return loc end
    url = loc
  end
  return nil, "too many redirects at the authorization endpoint"
end

-- Runs the authorization request; -> code | nil, err_type, message.
function Client:_authorization_code(d, info, scope, resource)
  local verifier, challenge = M.pkce()
  local state = M.b64url(core.random_bytes(16))
  self:_secret(verifier)
  local fields = {
    { "response_type", "code" }, { "client_id", info.client_id },
    { "code_challenge", challenge }, { "code_challenge_method", "S256" },
    { "redirect_uri", self.redirect_uri }, { "state", state }, { "scope", scope },
    { "resource", resource },
  }
  if scope_has(scope, "offline_access") then fields[#fields + 1] = { "prompt", "consent" } end
  local meta = d.meta
  local ep = meta.authorization_endpoint
  if type(ep) ~= "string" then
    return self:_fail("oauth_discovery", "oauth discovery: no authorization_endpoint")
  end
  if not d.legacy then
    if type(meta.response_types_supported) == "table"
        and not array_has(meta.response_types_supported, "code") then
      return self:_fail("oauth_discovery", "oauth discovery: the authorization server does not "
        .. "support response type code")
    end
    if not array_has(meta.code_challenge_methods_supported, "S256") then
      return self:_fail("oauth_discovery", "oauth discovery: the authorization server does not "
        .. "list S256 in code_challenge_methods_supported (PKCE is required)")
    end
  end
  local url = ep .. (ep:find("?", 1, true) and "&" or "?") .. M.form_encode(fields)
  local answer, why
  if self.o.consent then
    answer, why = self.o.consent(url, { state = state, redirect_uri = self.redirect_uri,
                                        client_id = info.client_id, scope = scope, resource = resource })
  else
    answer, why = self:_in_process_consent(url)
  end
  if type(answer) ~= "string" or answer == "" then
    return self:_fail("oauth_authorization", "oauth authorization: " .. tostring(why or "no consent"))
  end
  local params
  if answer:match("^%a[%w+.-]*://") then
    params = M.form_decode(answer:match("%?([^#]*)") or "")
    if params.code == nil and params.error == nil then
      params = M.form_decode(answer:match("#(.*)$") or "")
    end
  else
    params = { code = answer, state = state } -- a bare code from the consent function
  end
  if params.error then
    return self:_fail("oauth_authorization", ("oauth authorization refused: %s%s"):format(
      params.error, params.error_description and (": " .. params.error_description) or ""))
  end
  if params.state ~= state then
    return self:_fail("oauth_authorization", "oauth authorization: the redirect's state does not "
      .. "match the request's")
  end
  if params.iss ~= nil then
    if meta.issuer ~= nil and params.iss ~= meta.issuer then
      return self:_fail("oauth_authorization", ("oauth authorization: the redirect's iss %s is "
        .. "not the issuer %s (RFC 9207)"):format(params.iss, tostring(meta.issuer)))
    end
  elseif meta.authorization_response_iss_parameter_supported == true then
    return self:_fail("oauth_authorization", "oauth authorization: the redirect has no iss "
      .. "although the server says it sends one (RFC 9207)")
  end
  if type(params.code) ~= "string" or params.code == "" then
    return self:_fail("oauth_authorization", "oauth authorization: the redirect has no code")
  end
  self:_secret(params.code)
  return params.code, verifier
end

-- ---- flows ----------------------------------------------------------------

-- A new token for resource: client credentials, or code + PKCE. On
-- invalid_client with a dynamically registered client, registers again once.
-- Cross-app access, step 1: the IdP's ID-JAG for this authorization
-- server and resource (RFC 8693 token exchange of the IdP's ID token).
-- -> the ID-JAG, or nil, err_type, message.
function Client:_id_jag(d, resource, scope)
  local idp = self.o.idp
  local fields = {
    { "grant_type", TOKEN_EXCHANGE }, { "requested_token_type", ID_JAG },
    { "audience", d.meta.issuer }, { "resource", resource }, { "scope", scope },
    { "subject_token", idp.id_token }, { "subject_token_type", ID_TOKEN },
    { "client_id", idp.client_id }, { "client_secret", idp.client_secret },
  }
  local headers = { ["Content-Type"] = "application/x-www-form-urlencoded", Accept = "application/json" }
  local res, err_type, msg = self:_request("oauth.token", "POST", idp.token_endpoint, headers,
    M.form_encode(fields))
  if not res then return self:_fail(err_type, "oauth token exchange: " .. msg) end
  local t = json_object_of(res)
  if res.status ~= 200 or not t or type(t.access_token) ~= "string" or t.access_token == "" then
    return self:_fail("oauth_token", ("oauth token exchange at %s refused: %s"):format(idp.token_endpoint,
      t and type(t.error) == "string" and t.error or ("HTTP " .. res.status)))
  end
  if t.issued_token_type ~= nil and t.issued_token_type ~= ID_JAG then
    return self:_fail("oauth_token", "oauth token exchange: issued " .. tostring(t.issued_token_type)
      .. ", not an ID-JAG")
  end
  self:_secret(t.access_token)
  return t.access_token
end

function Client:_obtain(d, server_url, scope)
  local resource = d.prm and d.prm.resource or nil
  for attempt = 1, 2 do
    local info, e2, e3 = self:_client_info(d, scope)
    if not info then return nil, e2, e3 end
    local entry, code
    if self.grant == "client_credentials" then
      entry, e2, e3, code = self:_token_request(d, info, {
        { "grant_type", "client_credentials" }, { "scope", scope }, { "resource", resource } }, scope)
    elseif self.grant == "cross_app_access" then
      local jag, j2, j3 = self:_id_jag(d, resource, scope)
      if not jag then return nil, j2, j3 end
      entry, e2, e3, code = self:_token_request(d, info, {
        { "grant_type", JWT_BEARER }, { "assertion", jag }, { "scope", scope } }, scope)
    else
      local auth_code, verifier_or_type, message = self:_authorization_code(d, info, scope, resource)
      if not auth_code then return nil, verifier_or_type, message end
      entry, e2, e3, code = self:_token_request(d, info, {
        { "grant_type", "authorization_code" }, { "code", auth_code },
        { "code_verifier", verifier_or_type }, { "redirect_uri", self.redirect_uri },
        { "resource", resource } }, scope)
    end
    if entry then
      entry.resource, entry.server_url = resource, server_url
      return entry
    end
    local dynamic = not self.o.client_id and not (self.o.client_metadata_url
      and d.meta.client_id_metadata_document_supported == true)
    if attempt == 1 and dynamic and (code == "invalid_client" or code == "unauthorized_client") then
      for k, v in pairs(self.cache.clients) do if v == info then self.cache.clients[k] = nil end end
    else
      return nil, e2, e3
    end
  end
end

-- Refreshes entry; -> new entry | nil, err_type, message, oauth error code.
function Client:_refresh(d, entry)
  local info, e2, e3 = self:_client_info(d, entry.requested)
  if not info then return nil, e2, e3 end
  local fresh, t2, t3, code = self:_token_request(d, info, {
    { "grant_type", "refresh_token" }, { "refresh_token", entry.refresh_token },
    { "resource", entry.resource } }, entry.scope)
  if not fresh then return nil, t2, t3, code end
  fresh.refresh_token = fresh.refresh_token or entry.refresh_token
  fresh.resource, fresh.server_url, fresh.requested = entry.resource, entry.server_url, entry.requested
  fresh.refreshes = (entry.refreshes or 0) + 1
  return fresh
end

-- Waits while another persona runs a flow for key (a shared cache); bounded.
function Client:_wait_turn(key)
  local busy = self.cache.busy
  if not busy then
    busy = {}
    self.cache.busy = busy
  end
  local waited = false
  local limit = core.now() + self.timeout * 6
  while busy[key] and core.now() < limit do
    waited = true
    if not core.sleep(0.005) then break end
  end
  busy[key] = true
  return waited
end

function Client:_done(key) self.cache.busy[key] = nil end

local function as_challenge(challenge)
  if type(challenge) == "table" and challenge.headers then
    return M.bearer_challenge(challenge.headers["www-authenticate"]), challenge.status
  elseif type(challenge) == "string" then
    return M.bearer_challenge(challenge), nil
  elseif type(challenge) == "table" then
    return challenge, nil
  end
  return nil, nil
end

--- client:authorize(server_url, challenge [, opts]) -> access_token | nil, err_type, message
-- challenge: the 401/403 response (sim.http's), its WWW-Authenticate value,
-- parsed Bearer parameters, or nil (a first token with no challenge).
-- opts.token: the access token that was refused (default: the cached one);
-- when another persona sharing the cache has replaced it meanwhile, that new
-- token is returned without a new flow. error="insufficient_scope" (a 403)
-- steps up: the union of the scopes asked so far, the token's and the
-- challenge's is authorized afresh; after max_step_up step-ups that add no
-- new scope, returns nil, "insufficient_scope". A 403 without that error is
-- nil, "auth_forbidden" (no flow). A 401 with a cached refresh token
-- refreshes first (a refused refresh falls back to a new flow).
function Client:authorize(server_url, challenge, opts)
  if type(server_url) ~= "string" or not M.parse_url(server_url) then
    fail("client:authorize", "server_url must be an absolute URL, got " .. tostring(server_url))
  end
  opts = opts or {}
  local params, status = as_challenge(challenge)
  params = params or {}
  local resource = M.canonical_resource(server_url)
  local key = self:_key(resource)
  local before = self.cache.tokens[key]
  local refused = opts.token or (before and before.access_token)
  self:_wait_turn(key)
  local ok, token, e2, e3 = pcall(self._authorize_locked, self, server_url, key, params, status, refused)
  self:_done(key)
  if not ok then error(token, 0) end
  return token, e2, e3
end

function Client:_authorize_locked(server_url, key, params, status, refused)
  local entry = self.cache.tokens[key]
  local step_up = params.error == "insufficient_scope"
  if status == 403 and not step_up then
    return nil, "auth_forbidden", ("oauth: %s answered 403 without a Bearer insufficient_scope "
      .. "challenge: nothing to authorize"):format(server_url)
  end
  -- Someone sharing the cache already replaced the refused token.
  if entry and entry.access_token ~= refused and not (step_up and params.scope
      and M.scope_exceeds(params.scope, entry.scope)) then
    return entry.access_token
  end
  local d, e2, e3 = self:_discover(server_url, params)
  if not d then return nil, e2, e3 end
  local scope
  if step_up then
    local union = M.scope_union(entry and entry.requested, entry and entry.scope, params.scope)
    local st = self.cache.step_ups or {}
    self.cache.step_ups = st
    local s = st[key] or { n = 0, total = 0 }
    if union and entry and M.scope_exceeds(union, entry.requested) then s.n = 0 end
    s.n, s.total = s.n + 1, s.total + 1
    st[key] = s
    if s.n > self.max_step_up or s.total > 8 * max(1, self.max_step_up) then
      return self:_fail("insufficient_scope", ("oauth: %s still answers 403 insufficient_scope "
        .. "(scope %s) after %d step-up(s)"):format(server_url, tostring(params.scope), s.n - 1))
    end
    scope = union or M.select_scope { challenge = params.scope, prm = d.prm, as_meta = d.meta,
                                      configured = self.o.scope, offline_access = self.o.offline_access }
  else
    -- 401: refresh when possible, else a new flow
    if entry and entry.refresh_token then
      local fresh = self:_refresh(d, entry)
      if fresh then
        self.cache.tokens[key] = fresh
        return fresh.access_token
      end
    end
    scope = M.select_scope { challenge = params.scope, prm = d.prm, as_meta = d.meta,
                             configured = self.o.scope, offline_access = self.o.offline_access }
    if entry and entry.requested then scope = M.scope_union(entry.requested, scope) end
  end
  self.cache.tokens[key] = nil
  local fresh, f2, f3 = self:_obtain(d, server_url, scope)
  if not fresh then return nil, f2, f3 end
  fresh.requested = scope
  self.cache.tokens[key] = fresh
  return fresh.access_token
end

--- client:token(server_url) -> the cached access token, refreshed first when
-- it has expired and a refresh token is at hand; nil when there is none (or
-- the refresh failed: the next 401 runs a new flow). May make a request.
function Client:token(server_url)
  local resource = M.canonical_resource(server_url)
  if not resource then fail("client:token", "server_url must be an absolute URL") end
  local key = self:_key(resource)
  local entry = self.cache.tokens[key]
  if not entry then return nil end
  if entry.expires_at and core.now() >= entry.expires_at then
    if not entry.refresh_token then
      self.cache.tokens[key] = nil
      return nil
    end
    local waited = self:_wait_turn(key)
    local current = self.cache.tokens[key]
    if waited and current and current ~= entry then
      self:_done(key)
      return current.access_token
    end
    local d = self.cache.metadata[resource]
    local ok, fresh = pcall(function() return d and self:_refresh(d, entry) or nil end)
    self:_done(key)
    if not ok then error(fresh, 0) end
    self.cache.tokens[key] = fresh
    return fresh and fresh.access_token or nil
  end
  return entry.access_token
end

--- client:header(server_url) -> "Bearer <token>" for the Authorization
-- header, or nil when the client has no token yet (see client:token).
function Client:header(server_url)
  local t = self:token(server_url)
  return t and ("Bearer " .. t) or nil
end

--- client:forget(server_url): drops the cached token (not the registration).
function Client:forget(server_url)
  self.cache.tokens[self:_key(M.canonical_resource(server_url) or server_url)] = nil
end

--- client:describe(server_url) -> what a report may show: {client_id=,
-- scope=, token= (redacted), expires_in=, refreshes=, issuer=}, or nil.
function Client:describe(server_url)
  local resource = M.canonical_resource(server_url)
  local entry = resource and self.cache.tokens[self:_key(resource)]
  if not entry then return nil end
  local d = self.cache.metadata[resource]
  return {
    token = M.redact(entry.access_token), scope = entry.scope, issuer = d and d.issuer,
    expires_in = entry.expires_at and max(0, floor(entry.expires_at - core.now())) or nil,
    refreshes = entry.refreshes or 0, grant = self.grant,
  }
end

M.Client = Client

return M
