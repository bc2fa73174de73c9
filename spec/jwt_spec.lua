-- sim.jwt: minting, verifying and decoding HS256 tokens, redaction, and
-- option errors. (The standard persona tokens: spec/tokens_spec.lua.)
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local support = require "support"

local jwt = sim.jwt
local SECRET = "test-secret-key-for-secure-testing-do-not-use-in-production"
local T0 = 1700000000
local UUID4 = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

local function segments(token)
  return token:match("^([^.]*)%.([^.]*)%.([^.]*)$")
end

local B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

local function b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local w = a * 65536 + (b or 0) * 256 + (c or 0)
    local n = c and 4 or b and 3 or 2
    for j = 1, n do
      local d = math.floor(w / 2 ^ (18 - 6 * (j - 1))) % 64
      out[#out + 1] = B64URL:sub(d + 1, d + 1)
    end
  end
  return table.concat(out)
end

-- HMAC-SHA256 (RFC 2104) over core.sha256_hex, for hand-signed tokens.
local function hmac_sha256(key, msg)
  local function raw(hex) return (hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)) end
  if #key > 64 then key = raw(core.sha256_hex(key)) end
  key = key .. ("\0"):rep(64 - #key)
  local ipad = key:gsub(".", function(ch) return string.char(bit.bxor(ch:byte(), 0x36)) end)
  local opad = key:gsub(".", function(ch) return string.char(bit.bxor(ch:byte(), 0x5c)) end)
  return raw(core.sha256_hex(opad .. raw(core.sha256_hex(ipad .. msg))))
end

-- header.claims.signature from raw JSON texts, signed with secret.
local function sign_raw(header, claims, secret)
  local input = b64url(header) .. "." .. b64url(claims)
  return input .. "." .. b64url(hmac_sha256(secret, input))
end

describe("sim.jwt", function()
  after_each(function() support.assert_clean() end)

  it("is exposed as sim.jwt", function()
    assert.are.equal(require "gofr_sim.engine.jwt", sim.jwt)
  end)

  it("mints tokens that verify, with typed claims", function()
    local token = jwt.mint { secret = SECRET, groups = { "apac", "emea", "us" }, now = T0 }
    assert.is_string(token)
    local claims = assert(jwt.verify(token, SECRET, { now = T0 }))
    assert.matches(UUID4, claims.jti)
    assert.are.same({ "apac", "emea", "us" }, claims.groups)
    assert.are.equal(T0, claims.iat)
    assert.are.equal(T0, claims.nbf)
    assert.are.equal(T0 + 3600, claims.exp)        -- default ttl
    assert.are.equal("gofr-api", claims.aud)       -- default audience
    local header, decoded = jwt.decode(token)
    assert.are.same({ alg = "HS256", typ = "JWT" }, header)
    assert.are.same(claims, decoded)
    -- every token has its own jti
    local other = jwt.mint { secret = SECRET, groups = { "apac", "emea", "us" }, now = T0 }
    assert.are_not.equal(claims.jti, (jwt.decode(other)).jti)
  end)

  it("takes ttl, nbf, aud and now", function()
    local token = jwt.mint { secret = SECRET, groups = { "us" }, ttl = 60, nbf = 5,
                             aud = "elsewhere", now = T0 }
    local _, c = jwt.decode(token)
    assert.are.equal(T0 + 60, c.exp)
    assert.are.equal(T0 + 5, c.nbf)
    assert.are.equal("elsewhere", c.aud)
    local _, noaud = jwt.decode(jwt.mint { secret = SECRET, groups = { "us" }, aud = false })
    assert.is_nil(noaud.aud)
    assert.is_true(math.abs(noaud.iat - os.time()) <= 2)   -- now defaults to the clock
    local _, nogroups = jwt.decode(jwt.mint { secret = SECRET, groups = {} })
    assert.are.same({}, nogroups.groups)
  end)

  it("refuses at exp and before nbf, with zero leeway", function()
    local token = jwt.mint { secret = SECRET, groups = { "apac" }, ttl = 60, nbf = 10, now = T0 }
    local ok, err_type, reason = jwt.verify(token, SECRET, { now = T0 + 9 })
    assert.is_nil(ok)
    assert.are.equal("auth_error", err_type)
    assert.are.equal("Token not yet valid", reason)
    assert.is_table(jwt.verify(token, SECRET, { now = T0 + 10 }))
    assert.is_table(jwt.verify(token, SECRET, { now = T0 + 59 }))
    assert.are.same({ nil, "auth_error", "Token has expired" },
      { jwt.verify(token, SECRET, { now = T0 + 60 }) })
    assert.is_table(jwt.verify(token, SECRET, { now = T0 + 60, leeway = 1 }))
    -- with the real clock: a fresh token verifies
    assert.is_table(jwt.verify(jwt.mint { secret = SECRET, groups = { "apac" } }, SECRET))
  end)

  it("checks the audience unless told not to", function()
    local token = jwt.mint { secret = SECRET, groups = { "apac" }, aud = "gofr_dig-api", now = T0 }
    assert.are.same({ nil, "auth_error", "Token audience mismatch" },
      { jwt.verify(token, SECRET, { now = T0 }) })
    assert.is_table(jwt.verify(token, SECRET, { now = T0, aud = "gofr_dig-api" }))
    assert.is_table(jwt.verify(token, SECRET, { now = T0, aud = false }))
  end)

  it("refuses a wrong secret, tampering and garbage", function()
    local token = jwt.mint { secret = SECRET, groups = { "apac" }, now = T0 }
    assert.are.same({ nil, "auth_error", "Invalid token: Signature verification failed" },
      { jwt.verify(token, "another secret", { now = T0 }) })
    local h, _, s = segments(token)
    local evil = jwt.mint { secret = SECRET, groups = { "admin" }, now = T0 }
    local _, p = segments(evil)
    local _, _, reason = jwt.verify(h .. "." .. p .. "." .. s, SECRET, { now = T0 })
    assert.are.equal("Invalid token: Signature verification failed", reason)
    for _, garbage in ipairs { "", ".", "..", "a.b", "a.b.c.d", "x.y.z", "\0\1\2",
                               token:sub(1, -2), token .. "\0", "eyJ" .. ("A"):rep(70000) } do
      local ok, err_type, why = jwt.verify(garbage, SECRET, { now = T0 })
      assert.is_nil(ok)
      assert.are.equal("auth_error", err_type)
      assert.matches("^Invalid token", why)
      if garbage ~= token:sub(1, -2) then   -- decode does not look at the signature
        local header, dtype, dwhy = jwt.decode(garbage)
        assert.is_nil(header)
        assert.are.equal("invalid_argument", dtype)
        assert.is_string(dwhy)
      end
    end
  end)

  it("refuses a duplicated claim whatever the escaping of its name", function()
    local H = '{"alg":"HS256","typ":"JWT"}'
    local GROUPS = [[\u0067\u0072\u006f\u0075\u0070\u0073]]   -- "groups", 36 raw bytes
    -- the helper signs as the C core does
    local plain = sign_raw(H, '{"jti":"x","groups":["apac"]}', SECRET)
    assert.are.same({ "apac" }, assert(jwt.verify(plain, SECRET, { now = T0 })).groups)
    for _, claims in ipairs {
      '{"jti":"x","groups":["a"],"' .. GROUPS .. '":["b"]}',
      '{"jti":"x","' .. GROUPS .. '":["b"],"groups":["a"]}',
      [[{"jti":"x","groups":["a"],"group\u0073":["b"]}]],
      [[{"jti":"x","groups":["a"],"\u0067\u0072\u006F\u0075ps":["b"]}]],
    } do
      local token = sign_raw(H, claims, SECRET)
      -- sim.jwt.decode (no checks) takes one of the two values; verify must refuse
      local _, decoded = jwt.decode(token)
      assert.is_table(decoded.groups, claims)
      assert.are.same({ nil, "auth_error",
                        "Invalid token: Invalid payload string: duplicate key 'groups'" },
        { jwt.verify(token, SECRET, { now = T0 }) }, claims)
    end
    -- alone, the escaped name is the groups claim
    local alone = sign_raw(H, '{"jti":"x","' .. GROUPS .. '":["apac"]}', SECRET)
    assert.are.same({ "apac" }, assert(jwt.verify(alone, SECRET, { now = T0 })).groups)
    -- a long escaped name that is no claim changes nothing
    local long = sign_raw(H, '{"jti":"x","groups":["apac"],"' .. ([[\u0067]]):rep(500) .. '":1,"'
      .. GROUPS .. [[\u0073":2}]], SECRET)
    local claims = assert(jwt.verify(long, SECRET, { now = T0 }))
    assert.are.same({ "apac" }, claims.groups)
    assert.are.equal(2, claims.groupss)
    assert.are.equal(1, claims[("g"):rep(500)])
  end)

  it("decodes without verifying", function()
    local token = jwt.mint { secret = SECRET, groups = { "emea" }, ttl = -60, now = T0 }
    local header, claims = jwt.decode(token)
    assert.are.equal("HS256", header.alg)
    assert.are.same({ "emea" }, claims.groups)
    assert.are.equal(T0 - 60, claims.exp)
    local hj, cj = core.jwt_decode(token)
    assert.matches('"alg":"HS256"', hj)
    assert.matches('"groups":%["emea"%]', cj)
  end)

  describe("redact", function()
    it("never shows the payload or the signature", function()
      for name, token in pairs(require("gofr_sim.gofr_dig.tokens").mint_symbolic(SECRET)) do
        local r = jwt.redact(token)
        assert.matches("^[^.]*…%x%x%x%x%x%x%x%x%x%x%x%x$", r)
        local _, payload, sig = segments(token)
        if #sig >= 8 then assert.is_nil(r:find(sig, 1, true), name) end
        if #payload >= 8 then assert.is_nil(r:find(payload, 1, true), name) end
        assert.is_true(#r < #token, name)
      end
      local token = jwt.mint { secret = SECRET, groups = { "apac" } }
      assert.are.equal(token:sub(1, 8) .. "…" .. core.sha256_hex(token):sub(1, 12),
        jwt.redact(token))
      assert.are.equal("eyJhbGci", jwt.redact(token):sub(1, 8))
      assert.are.equal(jwt.redact(token), jwt.redact(token))
      assert.are_not.equal(jwt.redact(token), jwt.redact(token .. "x"))
      -- short strings get no prefix at all
      assert.are.equal("…" .. core.sha256_hex("secret"):sub(1, 12), jwt.redact("secret"))
    end)
  end)

  it("hashes with core.sha256_hex", function()
    assert.are.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      core.sha256_hex("abc"))
    assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      core.sha256_hex(""))
  end)

  describe("misuse raises, naming the option", function()
    local function raises(pattern, fn, ...)
      local ok, err = pcall(fn, ...)
      assert.is_false(ok)
      assert.matches(pattern, tostring(err))
    end

    it("in mint", function()
      raises("sim.jwt.mint: expected an options table", jwt.mint, "x")
      raises("option 'secret' is required", jwt.mint, { groups = { "a" } })
      raises("option 'groups' is required", jwt.mint, { secret = SECRET })
      raises("option 'secret' must not be empty", jwt.mint, { secret = "", groups = {} })
      raises("option 'secret' must be a string", jwt.mint, { secret = 1, groups = {} })
      raises("unknown option 'tll' %(did you mean 'ttl'%?%)", jwt.mint,
        { secret = SECRET, groups = {}, tll = 5 })
      raises("option 'groups' must be an array of strings %(entry 2 is a number%)", jwt.mint,
        { secret = SECRET, groups = { "a", 2 } })
      raises("option 'groups' must be an array of strings", jwt.mint,
        { secret = SECRET, groups = "apac" })
      raises("option 'groups' must be an array of strings %(found key x%)", jwt.mint,
        { secret = SECRET, groups = { x = "apac" } })
      raises("option 'ttl' must be a whole number of seconds", jwt.mint,
        { secret = SECRET, groups = {}, ttl = 1.5 })
      raises("option 'now' must be a number", jwt.mint, { secret = SECRET, groups = {}, now = "1" })
      raises("option 'aud' must be a string", jwt.mint, { secret = SECRET, groups = {}, aud = 1 })
      raises("jwt_mint: invalid argument", jwt.mint, { secret = SECRET, groups = { "\255" } })
      raises("jwt_spec.lua:%d+: sim.jwt.mint", jwt.mint, { secret = SECRET })
    end)

    it("in verify, decode and redact", function()
      raises("sim.jwt.verify: token must be a string", jwt.verify, nil, SECRET)
      raises("sim.jwt.verify: secret must be a string", jwt.verify, "a.b.c")
      raises("sim.jwt.verify: secret must not be empty", jwt.verify, "a.b.c", "")
      raises("unknown option 'audience'", jwt.verify, "a.b.c", SECRET, { audience = "x" })
      raises("option 'leeway' must not be negative", jwt.verify, "a.b.c", SECRET, { leeway = -1 })
      raises("sim.jwt.decode: token must be a string", jwt.decode, 42)
      raises("sim.jwt.redact: token must be a string", jwt.redact, nil)
      raises("jwt_verify: token must be a string", core.jwt_verify, 1, SECRET)
      raises("sha256_hex: expected a string", core.sha256_hex, {})
    end)
  end)
  local function raises(pattern, fn, ...)
    local ok, err = pcall(fn, ...)
    assert.is_false(ok)
    assert.matches(pattern, tostring(err), 1, true)
  end

  describe("any algorithm (sign, verify_key, keygen)", function()
    it("signs with RS256 and ES256 keys it made, and verifies with the public key", function()
      for _, alg in ipairs { "RS256", "ES256", "ES384" } do
        local priv, pub = jwt.keygen(alg)
        assert.matches("^%-%-%-%-%-BEGIN PRIVATE KEY%-%-%-%-%-", priv)
        assert.matches("^%-%-%-%-%-BEGIN PUBLIC KEY%-%-%-%-%-", pub)
        local claims = { iss = "client-1", sub = "client-1", aud = "http://127.0.0.1/token",
                         exp = T0 + 300, jti = "j-1", nested = { a = { 1, 2 } } }
        local token = assert(jwt.sign { alg = alg, key = priv, claims = claims, header = { kid = "k1" } })
        local header, decoded = jwt.decode(token)
        assert.are.same({ alg = alg, typ = "JWT", kid = "k1" }, header)
        assert.are.same(claims, decoded)
        assert.are.same(claims, assert(jwt.verify_key(token, alg, pub)))
        local _, other = jwt.keygen(alg)
        local none, err_type, reason = jwt.verify_key(token, alg, other)
        assert.is_nil(none)
        assert.are.equal("auth_error", err_type)
        assert.are.equal("Invalid token: Signature verification failed", reason)
      end
    end)

    it("refuses another alg, alg confusion and none", function()
      local priv, pub = jwt.keygen("RS256")
      local token = assert(jwt.sign { alg = "RS256", key = priv, claims = { a = 1 } })
      local ok, _, reason = jwt.verify_key(token, "RS384", pub)
      assert.is_nil(ok)
      assert.matches("alg value is not allowed %(only RS384%)", reason)
      -- an HS256 token keyed with the public PEM is not an RS256 token
      local forged = assert(jwt.sign { alg = "HS256", key = pub, claims = { a = 1 } })
      assert.is_nil((jwt.verify_key(forged, "RS256", pub)))
      assert.is_nil((jwt.verify_key("eyJhbGciOiJub25lIn0.eyJhIjoxfQ.", "RS256", pub)))
      assert.is_nil((jwt.verify_key("garbage", "RS256", pub)))
    end)

    it("HS* with any secret; {} claims; a bad key is an error value", function()
      local token = assert(jwt.sign { alg = "HS512", key = SECRET, claims = {} })
      local _, claims = jwt.decode(token)
      assert.are.same({}, claims)
      assert.are.same({}, jwt.verify_key(token, "HS512", SECRET))
      local none, err_type, reason = jwt.sign { alg = "ES256", key = "not a key", claims = { a = 1 } }
      assert.is_nil(none)
      assert.are.equal("invalid_argument", err_type)
      assert.matches("not a PEM private key", reason)
      assert.not_matches("not a key", reason) -- the key itself is never echoed
    end)

    it("raises on misuse, naming the option", function()
      raises("sim.jwt.sign: option 'alg' must be one of", jwt.sign, { alg = "none", key = "k", claims = {} })
      raises("sim.jwt.sign: option 'claims' is required", jwt.sign, { alg = "HS256", key = "k" })
      raises("sim.jwt.sign: unknown option 'claim'", jwt.sign, { alg = "HS256", key = "k", claim = {} })
      raises("sim.jwt.sign: option 'claims' must be a table with string keys", jwt.sign,
        { alg = "HS256", key = "k", claims = { 1, 2 } })
      raises("sim.jwt.keygen: alg must be", jwt.keygen, "HS256")
      raises("sim.jwt.verify_key: token must be a string", jwt.verify_key, nil, "RS256", "k")
      raises("sim.jwt.verify_key: alg/key must be one of", jwt.verify_key, "a.b.c", "none", "k")
    end)
  end)

  describe("raw helpers for OAuth", function()
    it("sha256 + base64url give RFC 7636's S256 challenge", function()
      local verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
      assert.are.equal(32, #core.sha256(verifier))
      assert.are.equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        core.base64_encode(core.sha256(verifier), "url"))
    end)

    it("base64 std (padded) and url (unpadded) round trip; strict decoding", function()
      assert.are.equal("Y2xpZW50OnNlY3JldA==", core.base64_encode("client:secret"))
      assert.are.equal("client:secret", core.base64_decode("Y2xpZW50OnNlY3JldA=="))
      assert.are.equal("_-8", core.base64_encode("\255\239", "url"))
      assert.are.equal("\255\239", core.base64_decode("_-8", "url"))
      assert.is_nil(core.base64_decode("Y2xp ZW50"))
      assert.is_nil(core.base64_decode("_-8=", "url"))
      raises('variant must be "std" or "url"', core.base64_encode, "x", "hex")
    end)

    it("random_bytes", function()
      local a, b = core.random_bytes(32), core.random_bytes(32)
      assert.are.equal(32, #a)
      assert.are_not.equal(a, b)
      assert.are.equal("", core.random_bytes(0))
      raises("random_bytes: n must be 0 to 4096", core.random_bytes, 5000)
    end)
  end)
end)
