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
end)
