-- gofr_sim.runner.personas: mix files (old schema, extensions, refusals, order),
-- persona expansion, task picking, token resolution and redaction.
local personas = require "gofr_sim.runner.personas"
local jwt = require "gofr_sim.engine.jwt"
local cli = require "gofr_sim.util.flags"
local rng = require "gofr_sim.engine.rng"

-- (Not spec/support.lua: that loads the whole engine, which this module does not need.)
local SOURCE_DIR = os.getenv("GS_SOURCE_DIR") or "."
local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local SECRET = "test-secret-key-for-secure-testing-do-not-use-in-production"
local MIXES = SOURCE_DIR .. "/fixtures/mixes"

-- The Python harness's simulator/mix.example.json, as documented.
local OLD_EXAMPLE = [[
{
  "groups": {
    "apac": {"count": 3, "token": "token_apac"},
    "emea": {"count": 3, "token": "token_emea"},
    "us": {"count": 3, "token": "token_us"},
    "multi": {"count": 1, "token": "token_multi"},
    "public": {"count": 1, "token": null},
    "attacker": {"count": 1, "token": "token_invalid"}
  }
}
]]

local temp_files = {}

local function temp_mix(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  temp_files[#temp_files + 1] = path
  return path
end

local function fake_env(vars)
  return function(name) return vars[name] end
end

local function mix_of(groups_json)
  return assert(personas.parse_mix('{"groups": {' .. groups_json .. '}}', "inline.json"))
end

local function names(mix)
  local out = {}
  for i, g in ipairs(mix.groups) do out[i] = g.name end
  return out
end

local function signature(token)
  return token:match("%.([^.]*)$")
end

local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("gofr_sim.runner.personas", function()
  after_each(function()
    for _, p in ipairs(temp_files) do os.remove(p) end
    temp_files = {}
  end)

  describe("mix files", function()
    it("loads every shipped mix", function()
      local listing = assert(io.popen("ls " .. shell_quote(MIXES) .. "/*.json"))
      local seen = {}
      for path in listing:lines() do
        local mix, err = personas.load_mix(path)
        assert.is_nil(err, path)
        assert.is_true(mix.total > 0)
        assert.is_true(#mix.groups > 0)
        seen[path:match("([^/]+)%.json$")] = mix
      end
      listing:close()
      for _, name in ipairs { "default", "small", "large", "weighted" } do
        assert.is_table(seen[name], name .. ".json is shipped")
      end
    end)

    it("reads the old example mix unchanged", function()
      local mix = assert(personas.load_mix(temp_mix(OLD_EXAMPLE)))
      assert.are.same({ "apac", "emea", "us", "multi", "public", "attacker" }, names(mix))
      assert.are.equal(12, mix.total)
      local g = mix.groups
      assert.are.same({ name = "apac", count = 3, token = "token_apac" }, g[1])
      assert.are.same({ name = "public", count = 1 }, g[5])        -- null: anonymous
      assert.are.same({ name = "attacker", count = 1, token = "token_invalid" }, g[6])
      local list = personas.expand(mix)
      assert.are.equal(12, #list)
      for i, p in ipairs(list) do assert.are.equal(i, p.id) end
      assert.are.same({ id = 1, name = "apac", index = 1, token_name = "token_apac" }, list[1])
      assert.are.same({ id = 3, name = "apac", index = 3, token_name = "token_apac" }, list[3])
      assert.are.same({ id = 4, name = "emea", index = 1, token_name = "token_emea" }, list[4])
      assert.are.same({ id = 10, name = "multi", index = 1, token_name = "token_multi" }, list[10])
      assert.are.same({ id = 11, name = "public", index = 1 }, list[11])
      assert.are.same({ id = 12, name = "attacker", index = 1, token_name = "token_invalid" }, list[12])
    end)

    it("ships default, small and large in the example's proportions", function()
      local function shape(file)
        local mix = assert(personas.load_mix(MIXES .. "/" .. file))
        local out = {}
        for _, g in ipairs(mix.groups) do
          out[#out + 1] = { g.name, g.count, g.token or "null" }
          assert.is_nil(g.rate)
          assert.is_nil(g.tasks)
        end
        return out, mix.total
      end
      local default, n = shape("default.json")
      assert.are.same((assert(personas.parse_mix(OLD_EXAMPLE))).groups[1].name, default[1][1])
      assert.are.equal(12, n)
      assert.are.same({ { "apac", 3, "token_apac" }, { "emea", 3, "token_emea" },
                        { "us", 3, "token_us" }, { "multi", 1, "token_multi" },
                        { "public", 1, "null" }, { "attacker", 1, "token_invalid" } }, default)
      local small, ns = shape("small.json")
      assert.are.equal(6, ns)
      local large, nl = shape("large.json")
      assert.is_true(nl >= 100)
      for i, row in ipairs(default) do
        assert.are.equal(row[1], small[i][1])
        assert.are.equal(row[3], small[i][3])
        assert.are.equal(1, small[i][2])
        assert.are.equal(row[1], large[i][1])
        assert.are.equal(row[3], large[i][3])
        assert.are.equal(row[2] * nl / 12, large[i][2])          -- same proportions
      end
    end)

    it("reads the extensions: rate and weighted tasks", function()
      local mix = assert(personas.load_mix(MIXES .. "/weighted.json"))
      local apac = mix.groups[1]
      assert.are.equal("apac", apac.name)
      assert.are.equal(2, apac.rate)
      assert.are.same({ { name = "structure_then_content", weight = 3 },
                        { name = "content_only", weight = 1 } }, apac.tasks)
      local emea = mix.groups[2]
      assert.is_nil(emea.rate)
      assert.are.same({ { name = "content_session_reads", weight = 2 },
                        { name = "list_sessions", weight = 1 } }, emea.tasks)
      local used = {}
      for _, g in ipairs(mix.groups) do
        for _, t in ipairs(g.tasks) do used[t.name] = true end
        if g.token then used[g.token] = true end
      end
      for _, t in ipairs(personas.TASKS) do assert.is_true(used[t], t .. " is used") end
      assert.is_true(used.token_expired and used.token_bad_signature and used.token_alg_none)
      local list = personas.expand(mix)
      assert.are.equal(mix.total, #list)
      assert.are.equal(2, list[1].rate)
      assert.are.equal(apac.tasks, list[1].tasks)
    end)

    it("keeps the groups in file order, not alphabetical or hash order", function()
      local order = { "zulu", "alpha", "mike", "bravo", "yankee", "charlie", "x-ray", "delta",
                      "whiskey", "echo", "victor", "fox.trot", "uniform", "golf", "tango", "hotel" }
      local parts = {}
      for i, name in ipairs(order) do
        parts[i] = ('"%s": {"count": %d, "token": null}'):format(name, i % 3 + 1)
      end
      local mix = mix_of(table.concat(parts, ",\n"))
      assert.are.same(order, names(mix))
      local list = personas.expand(mix)
      local seq = {}
      for _, p in ipairs(list) do
        if seq[#seq] ~= p.name then seq[#seq + 1] = p.name end
      end
      assert.are.same(order, seq)
      -- the order of task weights is kept too
      local m2 = mix_of('"a": {"count": 1, "tasks": {"ping": 1, "list_sessions": 2, "content_only": 3}}')
      assert.are.same({ "ping", "list_sessions", "content_only" },
        { m2.groups[1].tasks[1].name, m2.groups[1].tasks[2].name, m2.groups[1].tasks[3].name })
    end)

    it("drops count-0 groups, after checking them", function()
      local mix = mix_of('"idle": {"count": 0, "token": "token_us"}, "busy": {"count": 2}')
      assert.are.same({ "busy" }, names(mix))
      assert.are.equal(2, mix.total)
      assert.are.same({ 1, 2 }, { personas.expand(mix)[1].id, personas.expand(mix)[2].id })
      local _, err = personas.parse_mix('{"groups": {"idle": {"count": 0, "rate": -1}, "b": {"count": 1}}}',
        "m.json")
      assert.are.equal("mix file m.json: groups.idle.rate: expected a number > 0 "
        .. "(iterations per second of each persona), got -1", err)
    end)

    it("takes a literal token, a missing token (anonymous) and JSON escapes", function()
      local mix = mix_of('"lit": {"count": 1, "token": "eyJh.eyJg.c2ln"}, "anon": {"count": 1},'
        .. '"esc\\u005f1": {"count": 1, "token": "a\\/b\\u00e9\\ud83d\\ude00"}')
      assert.are.equal("eyJh.eyJg.c2ln", mix.groups[1].token)
      assert.is_nil(mix.groups[2].token)
      assert.are.equal("esc_1", mix.groups[3].name)
      assert.are.equal("a/b\195\169\240\159\152\128", mix.groups[3].token)
    end)

    describe("refuses, naming the file, the JSON path and what was expected", function()
      local cases = {
        { '{"groups": {"apac": {"count": true, "token": "token_apac"}}}',
          "groups.apac.count: expected an integer >= 0, got true" },
        { '{"groups": {"apac": {"count": -1}}}', "groups.apac.count: expected an integer >= 0, got -1" },
        { '{"groups": {"apac": {"count": 1.5}}}', "groups.apac.count: expected an integer >= 0, got 1.5" },
        { '{"groups": {"apac": {"count": "3"}}}',
          'groups.apac.count: expected an integer >= 0, got the string "3"' },
        { '{"groups": {"apac": {"count": null}}}', "groups.apac.count: expected an integer >= 0, got null" },
        -- beyond a double's range: refused by the reader, where it stands
        { '{"groups": {"apac": {"count": 1e999}}}', "line 1, column 31: invalid JSON: number out of range" },
        { '{"groups": {"apac": {"count": 2000000}}}',
          "groups.apac.count: expected at most 1000000 personas per group, got 2000000" },
        { '{"groups": {"apac": {"token": "token_apac"}}}',
          "groups.apac.count: missing: expected an integer >= 0 (the number of personas)" },
        { '{"groups": {"apac": {"count": 1, "token": 7}}}',
          "groups.apac.token: expected a symbolic token name (token_apac, token_emea, token_us, "
            .. "token_multi, token_invalid, token_expired, token_bad_signature, token_alg_none), "
            .. "a literal JWT, or null (anonymous), got 7" },
        { '{"groups": {"apac": {"count": 1, "token": ""}}}', 'groups.apac.token: expected a symbolic '
            .. "token name (token_apac, token_emea, token_us, token_multi, token_invalid, "
            .. 'token_expired, token_bad_signature, token_alg_none), a literal JWT, or null '
            .. '(anonymous), got the string ""' },
        { '{"groups": {"admin": {"count": 1, "token": "token_admin"}}}',
          'groups.admin.token: unknown symbolic token "token_admin" (known: token_apac, token_emea, '
            .. "token_us, token_multi, token_invalid, token_expired, token_bad_signature, "
            .. "token_alg_none; a literal JWT passes through as is)" },
        { '{"groups": {"apac": {"count": 1, "rate": 0}}}',
          "groups.apac.rate: expected a number > 0 (iterations per second of each persona), got 0" },
        { '{"groups": {"apac": {"count": 1, "rate": "fast"}}}', "groups.apac.rate: expected a number > 0 "
            .. '(iterations per second of each persona), got the string "fast"' },
        { '{"groups": {"apac": {"count": 1, "tasks": ["ping"]}}}',
          'groups.apac.tasks: expected an object of task weights like {"structure_then_content": 3, '
            .. '"content_only": 1}, got an array' },
        { '{"groups": {"apac": {"count": 1, "tasks": {}}}}',
          "groups.apac.tasks: expected at least one task (tasks: structure_then_content, "
            .. "content_only, content_session_reads, list_sessions, get_session_full, ping)" },
        { '{"groups": {"apac": {"count": 1, "tasks": {"scrape": 1}}}}',
          "groups.apac.tasks.scrape: unknown task (tasks: structure_then_content, content_only, "
            .. "content_session_reads, list_sessions, get_session_full, ping)" },
        { '{"groups": {"apac": {"count": 1, "tasks": {"ping": 0}}}}',
          "groups.apac.tasks.ping: expected a weight > 0, got 0" },
        { '{"groups": {"apac": {"count": 1, "tasks": {"ping": "2"}}}}',
          'groups.apac.tasks.ping: expected a weight > 0, got the string "2"' },
        { '{"groups": {"apac": {"count": 1, "tokn": "token_apac"}}}',
          "groups.apac.tokn: unknown key (accepted: count, token, rate, tasks, expect)" },
        { '{"groups": {"apac": {"count": 1}}, "consumers": 3}', "consumers: unknown key (accepted: groups)" },
        { '{"group": {"apac": {"count": 1}}}', "group: unknown key (accepted: groups)" },
        { "{}", "groups: missing: expected an object of persona groups" },
        { '{"groups": [{"count": 1}]}', "groups: expected an object of persona groups, got an array" },
        { '{"groups": {}}', "groups: expected at least one group" },
        { '{"groups": {"a": {"count": 0}, "b": {"count": 0}}}',
          "groups: expected at least one group with count > 0" },
        { '{"groups": {"apac": 3}}',
          'groups.apac: expected an object like {"count": 3, "token": "token_apac"}, got 3' },
        { '{"groups": {"a b": {"count": 1}}}', 'groups["a b"]: expected a group name of letters, '
            .. "digits, '_', '-' and '.' (at most 64 characters, not starting with '-' or '.'): "
            .. "names become metric tags" },
        { "[1, 2]", 'expected an object like {"groups": {...}}, got an array' },
        { '{"groups": {"apac": {"count": 1},}}', "line 1, column 34: invalid JSON: expected a string key" },
        { '{"groups": {"apac": {"count": 1}}', "line 1, column 34: invalid JSON: expected ',' or '}'" },
        { '{"groups": {"apac": {"count": 1}}} x',
          "line 1, column 36: invalid JSON: unexpected text after the JSON value" },
        { '{"groups": {\n  "apac": {"count": 1},\n  "apac": {"count": 2}}}',
          'line 3, column 3: invalid JSON: duplicate key "apac"' },
        { '{"groups": {"apac": {"count": 01}}}', "line 1, column 31: invalid JSON: bad number" },
        { '{"groups": {"apac": {"count": tru}}}', "line 1, column 31: invalid JSON: unexpected character" },
        { "", "line 1, column 1: invalid JSON: unexpected end of input" },
      }
      for i, case in ipairs(cases) do
        it(("#%d %s"):format(i, case[2]:sub(1, 60)), function()
          local path = temp_mix(case[1])
          local mix, err = personas.load_mix(path)
          assert.is_nil(mix)
          assert.are.equal("mix file " .. path .. ": " .. case[2], err)
        end)
      end

      it("a file that cannot be opened", function()
        local mix, err = personas.load_mix("/nonexistent/dir/mix.json")
        assert.is_nil(mix)
        assert.matches("^mix file /nonexistent/dir/mix%.json: cannot open: ", err)
      end)
    end)
  end)

  describe("pick_task", function()
    it("draws tasks by weight, repeatably for a seed", function()
      local persona = mix_of('"a": {"count": 1, "tasks": {"structure_then_content": 3, '
        .. '"content_only": 1, "ping": 0.5, "list_sessions": 0.5}}')
      persona = personas.expand(persona)[1]
      local r = rng.new(42)
      local n, counts = 40000, {}
      for _ = 1, n do
        local t = personas.pick_task(persona, r)
        counts[t] = (counts[t] or 0) + 1
      end
      assert.are.equal(4, count_keys(counts))
      assert.is_true(math.abs(counts.structure_then_content / n - 0.6) < 0.015)
      assert.is_true(math.abs(counts.content_only / n - 0.2) < 0.015)
      assert.is_true(math.abs(counts.ping / n - 0.1) < 0.01)
      assert.is_true(math.abs(counts.list_sessions / n - 0.1) < 0.01)
      local a, b, seq_a, seq_b = rng.new(7), rng.new(7), {}, {}
      for i = 1, 50 do
        seq_a[i] = personas.pick_task(persona, a)
        seq_b[i] = personas.pick_task(persona, b)
      end
      assert.are.same(seq_a, seq_b)
    end)

    it("gives the default task, without drawing, when the group has no tasks", function()
      local persona = personas.expand(mix_of('"a": {"count": 1}'))[1]
      local r, twin = rng.new(1), rng.new(1)
      assert.are.equal("structure_then_content", personas.pick_task(persona, r))
      assert.are.equal(personas.DEFAULT_TASK, personas.pick_task(persona, nil))
      assert.are.equal(twin:float(), r:float())                       -- nothing drawn
      local single = personas.expand(mix_of('"a": {"count": 1, "tasks": {"ping": 2}}'))[1]
      assert.are.equal("ping", personas.pick_task(single, r))
    end)
  end)

  describe("resolve_tokens", function()
    local ALL_ENV = {
      GOFR_DIG_SIM_TOKEN_APAC = "  env.apac.sig\n", GOFR_DIG_SIM_TOKEN_EMEA = "env.emea.sig",
      GOFR_DIG_SIM_TOKEN_US = "env.us.sig", GOFR_DIG_SIM_TOKEN_MULTI = "env.multi.sig",
    }

    it("reads the environment (trimmed) and maps token_invalid to its literal", function()
      local mix = assert(personas.parse_mix(OLD_EXAMPLE, "example.json"))
      local tokens = assert(personas.resolve_tokens(mix, { source = "env", env = fake_env(ALL_ENV) }))
      assert.are.equal("env.apac.sig", tokens.token_apac)
      assert.are.equal("env.emea.sig", tokens.token_emea)
      assert.are.equal("env.us.sig", tokens.token_us)
      assert.are.equal("env.multi.sig", tokens.token_multi)
      assert.are.equal("invalid.invalid.invalid", tokens.token_invalid)
      assert.are.equal(5, count_keys(tokens))                 -- only the tokens the mix uses
      local list = personas.expand(mix)
      assert.are.equal("env.apac.sig", personas.token_for(list[1], tokens))
      assert.is_nil(personas.token_for(list[11], tokens))     -- public: anonymous
    end)

    it("requires only the tokens the mix uses", function()
      local mix = mix_of('"us": {"count": 2, "token": "token_us"}, "anon": {"count": 1, "token": null}')
      local tokens = assert(personas.resolve_tokens(mix, { source = "env",
        env = fake_env { GOFR_DIG_SIM_TOKEN_US = "u.s.t" } }))
      assert.are.same({ token_us = "u.s.t" }, { token_us = tokens.token_us })
      assert.are.equal(1, count_keys(tokens))
      local only_invalid = mix_of('"attacker": {"count": 1, "token": "token_invalid"}')
      local t2 = assert(personas.resolve_tokens(only_invalid, { source = "env", env = fake_env {} }))
      assert.are.equal("invalid.invalid.invalid", t2.token_invalid)
    end)

    it("refuses an unresolved token under env before the run, naming it and how to set it", function()
      local mix = mix_of('"apac": {"count": 1, "token": "token_apac"},'
        .. '"late": {"count": 1, "token": "token_expired"}, "late2": {"count": 1, "token": "token_expired"}')
      local tokens, err = personas.resolve_tokens(mix, { source = "env",
        env = fake_env { GOFR_DIG_SIM_TOKEN_APAC = "a.b.c", GOFR_DIG_JWT_SECRET = SECRET,
                         GOFR_DIG_SIM_TOKEN_EXPIRED = "   " } })
      assert.is_nil(tokens)
      assert.are.equal("unresolved tokens for mix inline.json: token_expired (groups late, late2): "
        .. "set GOFR_DIG_SIM_TOKEN_EXPIRED (--token-source env reads only the environment; "
        .. "--token-source auto or mint mints tokens from a signing secret: set GOFR_DIG_JWT_SECRET "
        .. "or pass --jwt-secret-file)", err)
    end)

    it("mints every symbolic token with a secret, ignoring the environment", function()
      local mix = assert(personas.load_mix(MIXES .. "/weighted.json"))
      local now = os.time()
      for _, how in ipairs {
        { secret = SECRET, env = fake_env(ALL_ENV) },
        { env = fake_env { GOFR_DIG_JWT_SECRET = " " .. SECRET .. "\n", GOFR_DIG_SIM_TOKEN_APAC = "x.y.z" } },
      } do
        how.source = "mint"
        local tokens = assert(personas.resolve_tokens(mix, how))
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
      local tokens = assert(personas.resolve_tokens(mix, { source = "mint", secret = SECRET,
        ttl = 7200, aud = "elsewhere", now = 1700000000 }))
      local _, claims = jwt.decode(tokens.token_us)
      assert.are.equal(1700000000 + 7200, claims.exp)
      assert.are.equal("elsewhere", claims.aud)
    end)

    it("refuses mint without a secret", function()
      local mix = assert(personas.parse_mix(OLD_EXAMPLE, "example.json"))
      local tokens, err = personas.resolve_tokens(mix, { source = "mint", env = fake_env(ALL_ENV) })
      assert.is_nil(tokens)
      assert.are.equal("unresolved tokens for mix example.json: token_apac (group apac), token_emea "
        .. "(group emea), token_us (group us), token_multi (group multi): --token-source mint needs a "
        .. "signing secret: set GOFR_DIG_JWT_SECRET or pass --jwt-secret-file", err)
    end)

    it("auto: environment first, then mints what is missing", function()
      local mix = mix_of('"apac": {"count": 1, "token": "token_apac"},'
        .. '"us": {"count": 1, "token": "token_us"}, "late": {"count": 1, "token": "token_expired"}')
      local tokens = assert(personas.resolve_tokens(mix, {
        env = fake_env { GOFR_DIG_SIM_TOKEN_APAC = "from.env.apac", GOFR_DIG_JWT_SECRET = SECRET } }))
      assert.are.equal("from.env.apac", tokens.token_apac)
      assert.are.same({ "us" }, assert(jwt.verify(tokens.token_us, SECRET)).groups)
      local _, _, why = jwt.verify(tokens.token_expired, SECRET)
      assert.are.equal("Token has expired", why)
      -- all four env tokens set: token_expired is still minted, never sent literally
      local env = {}
      for k, v in pairs(ALL_ENV) do env[k] = v end
      env.GOFR_DIG_JWT_SECRET = SECRET
      tokens = assert(personas.resolve_tokens(mix, { source = "auto", env = fake_env(env) }))
      assert.are.equal("env.us.sig", tokens.token_us)
      assert.are_not.equal("token_expired", tokens.token_expired)
      assert.is_table((jwt.decode(tokens.token_expired)))
    end)

    it("auto: without a secret the environment must cover every used token", function()
      local mix = assert(personas.parse_mix(OLD_EXAMPLE, "example.json"))
      assert.is_table(personas.resolve_tokens(mix, { env = fake_env(ALL_ENV) }))
      local env = { GOFR_DIG_SIM_TOKEN_APAC = "a.b.c", GOFR_DIG_SIM_TOKEN_EMEA = "d.e.f" }
      local tokens, err = personas.resolve_tokens(mix, { source = "auto", env = fake_env(env) })
      assert.is_nil(tokens)
      assert.are.equal("unresolved tokens for mix example.json: token_us (group us), token_multi "
        .. "(group multi): set GOFR_DIG_SIM_TOKEN_US, GOFR_DIG_SIM_TOKEN_MULTI, or give a signing "
        .. "secret to mint them: set GOFR_DIG_JWT_SECRET or pass --jwt-secret-file", err)
      local one = mix_of('"late": {"count": 1, "token": "token_expired"}')
      local _, err1 = personas.resolve_tokens(one, { env = fake_env {} })
      assert.are.equal("unresolved tokens for mix inline.json: token_expired (group late): set "
        .. "GOFR_DIG_SIM_TOKEN_EXPIRED, or give a signing secret to mint it: set GOFR_DIG_JWT_SECRET "
        .. "or pass --jwt-secret-file", err1)
    end)

    it("reads the secret from a file (trimmed), which wins over the environment", function()
      local path = temp_mix(SECRET .. "\n")
      local mix = mix_of('"us": {"count": 1, "token": "token_us"}')
      local tokens = assert(personas.resolve_tokens(mix, { source = "mint", secret_file = path,
        env = fake_env { GOFR_DIG_JWT_SECRET = "another-secret" } }))
      assert.are.same({ "us" }, assert(jwt.verify(tokens.token_us, SECRET)).groups)
    end)

    it("refuses a secret file that is missing or empty, naming it", function()
      local mix = mix_of('"us": {"count": 1, "token": "token_us"}')
      local tokens, err = personas.resolve_tokens(mix, { source = "mint",
        secret_file = "/nonexistent/jwt-secret", env = fake_env {} })
      local _
      assert.is_nil(tokens)
      assert.matches("^JWT secret file /nonexistent/jwt%-secret: cannot open: ", err)
      -- named explicitly, it must work even when the environment has every token
      _, err = personas.resolve_tokens(mix, { source = "auto", secret_file = "/nonexistent/jwt-secret",
        env = fake_env(ALL_ENV) })
      assert.matches("^JWT secret file /nonexistent/jwt%-secret: cannot open: ", err)
      local empty = temp_mix(" \n")
      _, err = personas.resolve_tokens(mix, { source = "mint", secret_file = empty, env = fake_env {} })
      assert.are.equal("JWT secret file " .. empty .. " is empty", err)
      _, err = personas.resolve_tokens(mix, { source = "env", secret_file = empty, env = fake_env(ALL_ENV) })
      assert.are.equal("--jwt-secret-file has no effect with --token-source env (use auto or mint)", err)
    end)

    it("passes literal tokens through under every source", function()
      local literal = jwt.mint { secret = SECRET, groups = { "emea" } }
      local mix = mix_of(('"lit": {"count": 2, "token": "%s"}, "odd": {"count": 1, "token": "opaque"}')
        :format(literal))
      for _, source in ipairs { "env", "auto", "mint" } do
        local tokens = assert(personas.resolve_tokens(mix, { source = source, env = fake_env {},
          secret = source ~= "env" and SECRET or nil }))
        assert.are.equal(literal, tokens[literal])
        assert.are.equal("opaque", tokens.opaque)
        assert.are.equal(literal, personas.token_for(personas.expand(mix)[2], tokens))
      end
    end)

    it("refuses an unknown source", function()
      local _, err = personas.resolve_tokens(mix_of('"a": {"count": 1}'), { source = "vault" })
      assert.are.equal("--token-source must be one of auto, env, mint, got 'vault'", err)
    end)

    it("describes tokens without ever showing a signature", function()
      local literal = jwt.mint { secret = SECRET, groups = { "emea" } }
      local mix = assert(personas.load_mix(MIXES .. "/weighted.json"))
      mix.groups[#mix.groups + 1] = { name = "lit", count = 1, token = literal }
      local tokens = assert(personas.resolve_tokens(mix, { source = "mint", secret = SECRET }))
      local text = personas.describe_tokens(tokens)
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

  describe("flags and from_options", function()
    it("gives cli specs for --mix-file, --token-source and --jwt-secret-file", function()
      local o = cli.options(cli.parse { "--mix-file", "m.json", "--jwt-secret-file=/s" }, personas.flags)
      assert.are.same({ mix_file = "m.json", jwt_secret_file = "/s", token_source = "auto" }, o)
      o = cli.options(cli.parse { "--token-source", "env" }, personas.flags)
      assert.are.equal("env", o.token_source)
      local ok, e = pcall(cli.options, cli.parse { "--token-source", "vault" }, personas.flags)
      assert.is_false(ok)
      assert.is_true(cli.is_usage_error(e))
      assert.are.equal("--token-source must be one of auto, env, mint, got 'vault'", e.message)
    end)

    it("loads and resolves from options, or raises a usage error", function()
      assert.is_nil(personas.from_options({ token_source = "auto" }))
      local set = personas.from_options({ mix_file = MIXES .. "/small.json", token_source = "mint",
        jwt_secret_file = temp_mix(SECRET) }, { env = fake_env {} })
      assert.are.equal(6, #set.personas)
      assert.are.equal(6, set.mix.total)
      assert.are.same({ "apac" }, assert(jwt.verify(set.tokens.token_apac, SECRET)).groups)
      local ok, e = pcall(personas.from_options, { mix_file = temp_mix('{"groups": {}}'),
        token_source = "auto" })
      assert.is_false(ok)
      assert.is_true(cli.is_usage_error(e))
      assert.matches(": groups: expected at least one group$", e.message)
      ok, e = pcall(personas.from_options, { mix_file = MIXES .. "/default.json", token_source = "env" },
        { env = fake_env {} })
      assert.is_false(ok)
      assert.is_true(cli.is_usage_error(e))
      assert.matches("^unresolved tokens for mix ", e.message)
    end)
  end)
end)
