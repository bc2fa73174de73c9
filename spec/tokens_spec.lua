-- gofr_sim.gofr_dig.tokens: the symbolic tokens of gofr-dig's persona
-- mixes — minted (mint_symbolic), resolved for a mix from the environment or
-- a signing secret (resolve), for a run and registered in a token store
-- (resolver, for_names), the REPL's set (available) — and their redaction.
local dig_tokens = require "gofr_sim.gofr_dig.tokens"
local personas = require "gofr_sim.runner.personas"
local auth = require "gofr_sim.twin.auth"
local jwt = require "gofr_sim.engine.jwt"
local cli = require "gofr_sim.util.flags"
local json = require "gofr_sim.util.json"

local fx = require "mix_fixtures"

local SECRET, MIXES, KNOWN, OLD_EXAMPLE = fx.SECRET, fx.MIXES, fx.KNOWN, fx.OLD_EXAMPLE
local temp_file, fake_env, mix_of = fx.temp_file, fx.fake_env, fx.mix_of
local T0 = 1700000000
local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function segments(token)
  return token:match("^([^.]*)%.([^.]*)%.([^.]*)$")
end

local function signature(token)
  return token:match("%.([^.]*)$")
end

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("gofr_sim.gofr_dig.tokens", function()
  after_each(fx.remove_temp_files)

  describe("mint_symbolic", function()
    local tokens = dig_tokens.mint_symbolic(SECRET, { now = T0 })
    local function check(name, opts) return jwt.verify(tokens[name], SECRET, opts or { now = T0 }) end

    it("has the eight standard tokens", function()
      local names = {}
      for k, v in pairs(tokens) do
        names[#names + 1] = k
        assert.is_string(v)
      end
      table.sort(names)
      assert.are.same({ "token_alg_none", "token_apac", "token_bad_signature", "token_emea",
                        "token_expired", "token_invalid", "token_multi", "token_us" }, names)
      assert.are.equal("invalid.invalid.invalid", tokens.token_invalid)
    end)

    it("verifies the group tokens, primary group first", function()
      assert.are.same({ "apac" }, check("token_apac").groups)
      assert.are.same({ "emea" }, check("token_emea").groups)
      assert.are.same({ "us" }, check("token_us").groups)
      local multi = check("token_multi")
      assert.are.same({ "apac", "emea", "us" }, multi.groups)
      assert.are.equal("gofr-api", multi.aud)
      assert.are.equal(T0 + 3600, multi.exp)
    end)

    it("refuses the bad ones, each with its reason", function()
      local want = {
        token_invalid = "^Invalid token: Invalid header string",
        token_expired = "^Token has expired$",
        token_bad_signature = "^Invalid token: Signature verification failed$",
        token_alg_none = "^Invalid token: The specified alg value is not allowed %(alg 'none'",
      }
      for name, pattern in pairs(want) do
        local ok, err_type, reason = check(name)
        assert.is_nil(ok, name)
        assert.are.equal("auth_error", err_type, name)
        assert.matches(pattern, reason)
      end
      -- expired 60 s ago: valid a minute earlier it would not be, either
      local _, claims = jwt.decode(tokens.token_expired)
      assert.are.equal(T0 - 60, claims.exp)
      assert.are.same({ "apac" }, claims.groups)
    end)

    it("builds alg none and bad-signature tokens that look genuine", function()
      local header, claims = jwt.decode(tokens.token_alg_none)
      assert.are.same({ alg = "none" }, header)
      assert.are.same({ "apac" }, claims.groups)
      assert.matches(UUID4, claims.jti)
      assert.are.equal("", select(3, segments(tokens.token_alg_none)))
      local bh, bc = jwt.decode(tokens.token_bad_signature)
      assert.are.same({ alg = "HS256", typ = "JWT" }, bh)
      assert.are.same({ "apac" }, bc.groups)
      -- it is signed with another secret, not this one
      assert.is_nil(jwt.verify(tokens.token_bad_signature, SECRET, { now = T0 }))
    end)

    it("takes aud and ttl", function()
      local t = dig_tokens.mint_symbolic(SECRET, { now = T0, ttl = 10, aud = "x" })
      local c = assert(jwt.verify(t.token_us, SECRET, { now = T0, aud = "x" }))
      assert.are.equal(T0 + 10, c.exp)
      assert.are.equal(T0 - 60, (select(2, jwt.decode(t.token_expired))).exp)
    end)
  end)

  describe("resolve", function()
    local ALL_ENV = {
      GOFR_DIG_SIM_TOKEN_APAC = "  env.apac.sig\n", GOFR_DIG_SIM_TOKEN_EMEA = "env.emea.sig",
      GOFR_DIG_SIM_TOKEN_US = "env.us.sig", GOFR_DIG_SIM_TOKEN_MULTI = "env.multi.sig",
    }

    it("reads the environment (trimmed) and maps token_invalid to its literal", function()
      local mix = assert(personas.parse_mix(OLD_EXAMPLE, "example.json", KNOWN))
      local tokens = assert(dig_tokens.resolve(mix, { source = "env", env = fake_env(ALL_ENV) }))
      assert.are.equal("env.apac.sig", tokens.token_apac)
      assert.are.equal("env.emea.sig", tokens.token_emea)
      assert.are.equal("env.us.sig", tokens.token_us)
      assert.are.equal("env.multi.sig", tokens.token_multi)
      assert.are.equal("invalid.invalid.invalid", tokens.token_invalid)
      assert.are.equal(5, count_keys(tokens))                 -- only the tokens the mix uses
      local list = personas.expand(mix)
      assert.are.equal("env.apac.sig", tokens[list[1].token_name])
      assert.is_nil(list[11].token_name)                      -- public: anonymous
    end)

    it("requires only the tokens the mix uses", function()
      local mix = mix_of('"us": {"count": 2, "token": "token_us"}, "anon": {"count": 1, "token": null}')
      local tokens = assert(dig_tokens.resolve(mix, { source = "env",
        env = fake_env { GOFR_DIG_SIM_TOKEN_US = "u.s.t" } }))
      assert.are.same({ token_us = "u.s.t" }, { token_us = tokens.token_us })
      assert.are.equal(1, count_keys(tokens))
      local only_invalid = mix_of('"attacker": {"count": 1, "token": "token_invalid"}')
      local t2 = assert(dig_tokens.resolve(only_invalid, { source = "env", env = fake_env {} }))
      assert.are.equal("invalid.invalid.invalid", t2.token_invalid)
    end)

    it("refuses an unresolved token under env before the run, naming it and how to set it", function()
      local mix = mix_of('"apac": {"count": 1, "token": "token_apac"},'
        .. '"late": {"count": 1, "token": "token_expired"}, "late2": {"count": 1, "token": "token_expired"}')
      local tokens, err = dig_tokens.resolve(mix, { source = "env",
        env = fake_env { GOFR_DIG_SIM_TOKEN_APAC = "a.b.c", GOFR_DIG_JWT_SECRET = SECRET,
                         GOFR_DIG_SIM_TOKEN_EXPIRED = "   " } })
      assert.is_nil(tokens)
      assert.are.equal("unresolved tokens for mix inline.json: token_expired (groups late, late2): "
        .. "set GOFR_DIG_SIM_TOKEN_EXPIRED (--token-source env reads only the environment; "
        .. "--token-source auto or mint mints tokens from a signing secret: set GOFR_DIG_JWT_SECRET "
        .. "or pass --jwt-secret-file)", err)
    end)

    it("mints every symbolic token with a secret, ignoring the environment", function()
      local mix = assert(personas.load_mix(MIXES .. "/weighted.json", KNOWN))
      local now = os.time()
      for _, how in ipairs {
        { secret = SECRET, env = fake_env(ALL_ENV) },
        { env = fake_env { GOFR_DIG_JWT_SECRET = " " .. SECRET .. "\n", GOFR_DIG_SIM_TOKEN_APAC = "x.y.z" } },
      } do
        how.source = "mint"
        local tokens = assert(dig_tokens.resolve(mix, how))
        local function groups(name)
          return assert(jwt.verify(tokens[name], SECRET, { now = now })).groups
        end
        assert.are.same({ "apac" }, groups("token_apac"))
        assert.are.same({ "emea" }, groups("token_emea"))
        assert.are.same({ "us" }, groups("token_us"))
        assert.are.same({ "apac", "emea", "us" }, groups("token_multi"))
        assert.are.equal("invalid.invalid.invalid", tokens.token_invalid)
        local _, _, why = jwt.verify(tokens.token_expired, SECRET)
        assert.are.equal("Token has expired", why)
        _, _, why = jwt.verify(tokens.token_bad_signature, SECRET)
        assert.are.equal("Invalid token: Signature verification failed", why)
        assert.is_nil((jwt.verify(tokens.token_alg_none, SECRET)))
        assert.are.equal(8, count_keys(tokens))
      end
    end)

    it("passes ttl and audience to the minted tokens", function()
      local mix = mix_of('"us": {"count": 1, "token": "token_us"}')
      local tokens = assert(dig_tokens.resolve(mix, { source = "mint", secret = SECRET,
        ttl = 7200, aud = "elsewhere", now = 1700000000 }))
      local _, claims = jwt.decode(tokens.token_us)
      assert.are.equal(1700000000 + 7200, claims.exp)
      assert.are.equal("elsewhere", claims.aud)
    end)

    it("refuses mint without a secret", function()
      local mix = assert(personas.parse_mix(OLD_EXAMPLE, "example.json", KNOWN))
      local tokens, err = dig_tokens.resolve(mix, { source = "mint", env = fake_env(ALL_ENV) })
      assert.is_nil(tokens)
      assert.are.equal("unresolved tokens for mix example.json: token_apac (group apac), token_emea "
        .. "(group emea), token_us (group us), token_multi (group multi): --token-source mint needs a "
        .. "signing secret: set GOFR_DIG_JWT_SECRET or pass --jwt-secret-file", err)
    end)

    it("auto: environment first, then mints what is missing", function()
      local mix = mix_of('"apac": {"count": 1, "token": "token_apac"},'
        .. '"us": {"count": 1, "token": "token_us"}, "late": {"count": 1, "token": "token_expired"}')
      local tokens = assert(dig_tokens.resolve(mix, {
        env = fake_env { GOFR_DIG_SIM_TOKEN_APAC = "from.env.apac", GOFR_DIG_JWT_SECRET = SECRET } }))
      assert.are.equal("from.env.apac", tokens.token_apac)
      assert.are.same({ "us" }, assert(jwt.verify(tokens.token_us, SECRET)).groups)
      local _, _, why = jwt.verify(tokens.token_expired, SECRET)
      assert.are.equal("Token has expired", why)
      -- all four env tokens set: token_expired is still minted, never sent literally
      local env = {}
      for k, v in pairs(ALL_ENV) do env[k] = v end
      env.GOFR_DIG_JWT_SECRET = SECRET
      tokens = assert(dig_tokens.resolve(mix, { source = "auto", env = fake_env(env) }))
      assert.are.equal("env.us.sig", tokens.token_us)
      assert.are_not.equal("token_expired", tokens.token_expired)
      assert.is_table((jwt.decode(tokens.token_expired)))
    end)

    it("auto: without a secret the environment must cover every used token", function()
      local mix = assert(personas.parse_mix(OLD_EXAMPLE, "example.json", KNOWN))
      assert.is_table(dig_tokens.resolve(mix, { env = fake_env(ALL_ENV) }))
      local env = { GOFR_DIG_SIM_TOKEN_APAC = "a.b.c", GOFR_DIG_SIM_TOKEN_EMEA = "d.e.f" }
      local tokens, err = dig_tokens.resolve(mix, { source = "auto", env = fake_env(env) })
      assert.is_nil(tokens)
      assert.are.equal("unresolved tokens for mix example.json: token_us (group us), token_multi "
        .. "(group multi): set GOFR_DIG_SIM_TOKEN_US, GOFR_DIG_SIM_TOKEN_MULTI, or give a signing "
        .. "secret to mint them: set GOFR_DIG_JWT_SECRET or pass --jwt-secret-file", err)
      local one = mix_of('"late": {"count": 1, "token": "token_expired"}')
      local _, err1 = dig_tokens.resolve(one, { env = fake_env {} })
      assert.are.equal("unresolved tokens for mix inline.json: token_expired (group late): set "
        .. "GOFR_DIG_SIM_TOKEN_EXPIRED, or give a signing secret to mint it: set GOFR_DIG_JWT_SECRET "
        .. "or pass --jwt-secret-file", err1)
    end)

    it("reads the secret from a file (trimmed), which wins over the environment", function()
      local path = temp_file(SECRET .. "\n")
      local mix = mix_of('"us": {"count": 1, "token": "token_us"}')
      local tokens = assert(dig_tokens.resolve(mix, { source = "mint", secret_file = path,
        env = fake_env { GOFR_DIG_JWT_SECRET = "another-secret" } }))
      assert.are.same({ "us" }, assert(jwt.verify(tokens.token_us, SECRET)).groups)
    end)

    it("refuses a secret file that is missing or empty, naming it", function()
      local mix = mix_of('"us": {"count": 1, "token": "token_us"}')
      local tokens, err = dig_tokens.resolve(mix, { source = "mint",
        secret_file = "/nonexistent/jwt-secret", env = fake_env {} })
      local _
      assert.is_nil(tokens)
      assert.matches("^JWT secret file /nonexistent/jwt%-secret: cannot read: ", err)
      -- named explicitly, it must work even when the environment has every token
      _, err = dig_tokens.resolve(mix, { source = "auto", secret_file = "/nonexistent/jwt-secret",
        env = fake_env(ALL_ENV) })
      assert.matches("^JWT secret file /nonexistent/jwt%-secret: cannot read: ", err)
      local empty = temp_file(" \n")
      _, err = dig_tokens.resolve(mix, { source = "mint", secret_file = empty, env = fake_env {} })
      assert.are.equal("JWT secret file " .. empty .. " is empty", err)
      _, err = dig_tokens.resolve(mix, { source = "env", secret_file = empty, env = fake_env(ALL_ENV) })
      assert.are.equal("--jwt-secret-file has no effect with --token-source env (use auto or mint)", err)
    end)

    it("passes literal tokens through under every source", function()
      local literal = jwt.mint { secret = SECRET, groups = { "emea" } }
      local mix = mix_of(('"lit": {"count": 2, "token": "%s"}, "odd": {"count": 1, "token": "opaque"}')
        :format(literal))
      for _, source in ipairs { "env", "auto", "mint" } do
        local tokens = assert(dig_tokens.resolve(mix, { source = source, env = fake_env {},
          secret = source ~= "env" and SECRET or nil }))
        assert.are.equal(literal, tokens[literal])
        assert.are.equal("opaque", tokens.opaque)
        assert.are.equal(literal, tokens[personas.expand(mix)[2].token_name])
      end
    end)

    it("refuses an unknown source", function()
      local _, err = dig_tokens.resolve(mix_of('"a": {"count": 1}'), { source = "vault" })
      assert.are.equal("--token-source must be one of auto, env, mint, got 'vault'", err)
    end)

    it("describes tokens without ever showing a signature", function()
      local literal = jwt.mint { secret = SECRET, groups = { "emea" } }
      local mix = assert(personas.load_mix(MIXES .. "/weighted.json", KNOWN))
      mix.groups[#mix.groups + 1] = { name = "lit", count = 1, token = literal }
      local tokens = assert(dig_tokens.resolve(mix, { source = "mint", secret = SECRET }))
      local text = dig_tokens.describe(tokens)
      local shown = tostring(tokens)
      assert.are.equal("tokens{" .. text .. "}", shown)
      for name, token in pairs(tokens) do
        local sig = signature(token)
        if sig and #sig > 16 then                 -- token_invalid's "invalid" is no secret
          assert.is_nil(text:find(sig, 1, true), name)
          assert.is_nil(shown:find(sig, 1, true), name)
        end
        local payload = token:match("^[^.]*%.([^.]+)")
        if payload and #payload > 16 then assert.is_nil(text:find(payload, 1, true), name) end
        assert.is_truthy(text:find(jwt.redact(token), 1, true))
      end
      assert.matches("token_apac=eyJhbGci…%x+", text)
      assert.matches("literal=eyJhbGci…%x+", text)
      assert.is_nil(text:find(literal, 1, true))
    end)
  end)

  describe("for a run", function()
    it("gives cli specs for --token-source, --jwt-secret-file and --token-store", function()
      local spec = { mix_file = personas.flags.mix_file }          -- as the runner merges them
      for k, rule in pairs(dig_tokens.flags) do spec[k] = rule end
      local o = cli.options(cli.parse { "--mix-file", "m.json", "--jwt-secret-file=/s" }, spec)
      assert.are.same({ mix_file = "m.json", jwt_secret_file = "/s", token_source = "auto" }, o)
      o = cli.options(cli.parse { "--token-source", "env", "--token-store", "t.json" }, dig_tokens.flags)
      assert.are.equal("env", o.token_source)
      assert.are.equal("t.json", o.token_store)
      local ok, e = pcall(cli.options, cli.parse { "--token-source", "vault" }, dig_tokens.flags)
      assert.is_false(ok)
      assert.is_true(cli.is_usage_error(e))
      assert.are.equal("--token-source must be one of auto, env, mint, got 'vault'", e.message)
      assert.are.equal(dig_tokens.SYMBOLIC_TOKENS, dig_tokens.resolver.names)
      assert.are.equal(dig_tokens.flags, dig_tokens.resolver.flags)
    end)

    it("resolves a mix from the flags and prepare's extras, and registers it in --token-store", function()
      local store_file = temp_file("")
      os.remove(store_file)
      local mix = assert(personas.load_mix(MIXES .. "/small.json", KNOWN))
      local map = assert(dig_tokens.resolver.resolve(mix,
        { token_source = "mint", jwt_secret_file = temp_file(SECRET), token_store = store_file },
        { env = fake_env {} }))
      assert.are.same({ "us" }, assert(jwt.verify(map.token_us, SECRET)).groups)
      local store = auth.store { file = store_file }
      for _, name in ipairs { "token_apac", "token_emea", "token_us", "token_multi" } do
        local _, claims = jwt.decode(map[name])
        assert.are.equal("active", store:get(claims.jti).status, name)
      end
      local f = assert(io.open(store_file))
      assert.are.equal(4, #json.keys(json.decode(f:read("*a"))))  -- not token_invalid
      f:close()
      -- prepare's extras (an embedded twin's: its secret, no environment) over the flags
      map = assert(dig_tokens.resolver.resolve(mix,
        { token_source = "auto", jwt_secret_file = "/nonexistent" }, { secret = SECRET, env = fake_env {} }))
      assert.are.same({ "apac" }, assert(jwt.verify(map.token_apac, SECRET)).groups)
      -- a store that cannot be written: the message names the flag
      local _, err = dig_tokens.resolver.resolve(mix,
        { token_source = "mint", token_store = "/nonexistent/dir/t.json" }, { secret = SECRET })
      assert.matches("^%-%-token%-store: token store /nonexistent/dir/t%.json: ", err)
    end)

    it("resolves a scenario's own token names like a mix of one group each", function()
      assert.are.same({}, dig_tokens.for_names({}, {}))
      local map = assert(dig_tokens.for_names({ "token_apac", "token_invalid" }, { token_source = "mint" },
        { secret = SECRET }))
      assert.are.same({ "apac" }, assert(jwt.verify(map.token_apac, SECRET)).groups)
      assert.are.equal("invalid.invalid.invalid", map.token_invalid)
      local _, err = dig_tokens.for_names({ "token_us" }, { token_source = "env" }, { env = fake_env {} })
      assert.matches("^unresolved tokens for mix the scenario's tokens: token_us %(group scenario1%): ", err)
    end)
  end)

  describe("available", function()
    it("takes what the environment gives, mints the rest with its secret, never fails", function()
      local map = dig_tokens.available(fake_env { GOFR_DIG_SIM_TOKEN_APAC = " env.apac.sig\n" })
      assert.are.same({ token_apac = "env.apac.sig", token_invalid = "invalid.invalid.invalid" },
        { token_apac = map.token_apac, token_invalid = map.token_invalid })
      assert.are.equal(2, count_keys(map))
      map = dig_tokens.available(fake_env { GOFR_DIG_SIM_TOKEN_APAC = "env.apac.sig",
                                            GOFR_DIG_JWT_SECRET = SECRET })
      assert.are.equal("env.apac.sig", map.token_apac)
      assert.are.same({ "apac", "emea", "us" }, assert(jwt.verify(map.token_multi, SECRET)).groups)
      assert.are.equal(8, count_keys(map))
      assert.matches("^tokens{token_alg_none=", tostring(map))
    end)
  end)

  describe("misuse raises, naming the function", function()
    it("in mint_symbolic and resolve", function()
      local function raises(pattern, fn, ...)
        local ok, err = pcall(fn, ...)
        assert.is_false(ok)
        assert.matches(pattern, tostring(err))
      end
      raises("tokens.mint_symbolic: secret must be a string", dig_tokens.mint_symbolic)
      raises("tokens.mint_symbolic: secret must not be empty", dig_tokens.mint_symbolic, "")
      raises("unknown option 'groups'", dig_tokens.mint_symbolic, SECRET, { groups = {} })
      raises("sim.jwt.mint: option 'ttl' must be a whole number", dig_tokens.mint_symbolic, SECRET,
        { ttl = 1.5 })
      raises("tokens.resolve: expected a mix", dig_tokens.resolve, {})
      raises("tokens.resolve: unknown option 'sorce'", dig_tokens.resolve, mix_of('"a": {"count": 1}'),
        { sorce = "env" })
    end)
  end)
end)
