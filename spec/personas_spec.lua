-- gofr_sim.runner.personas: mix files (old schema, extensions, refusals, order)
-- read with a scenario's names (load.lua's tasks, gofr-dig's symbolic tokens),
-- persona expansion, and from_options with a token resolver.
local personas = require "gofr_sim.runner.personas"
local dig_tokens = require "gofr_sim.gofr_dig.tokens"
local jwt = require "gofr_sim.engine.jwt"
local cli = require "gofr_sim.util.flags"

local fx = require "mix_fixtures"

local MIXES, SECRET, KNOWN = fx.MIXES, fx.SECRET, fx.KNOWN
local OLD_EXAMPLE, temp_mix, fake_env, mix_of = fx.OLD_EXAMPLE, fx.temp_file, fx.fake_env, fx.mix_of

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

local function names(mix)
  local out = {}
  for i, g in ipairs(mix.groups) do out[i] = g.name end
  return out
end

describe("gofr_sim.runner.personas", function()
  after_each(fx.remove_temp_files)

  describe("mix files", function()
    it("loads every shipped mix", function()
      local listing = assert(io.popen("ls " .. shell_quote(MIXES) .. "/*.json"))
      local seen = {}
      for path in listing:lines() do
        local mix, err = personas.load_mix(path, KNOWN)
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
      local mix = assert(personas.load_mix(temp_mix(OLD_EXAMPLE), KNOWN))
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
        local mix = assert(personas.load_mix(MIXES .. "/" .. file, KNOWN))
        local out = {}
        for _, g in ipairs(mix.groups) do
          out[#out + 1] = { g.name, g.count, g.token or "null" }
          assert.is_nil(g.rate)
          assert.is_nil(g.tasks)
        end
        return out, mix.total
      end
      local default, n = shape("default.json")
      assert.are.same((assert(personas.parse_mix(OLD_EXAMPLE, nil, KNOWN))).groups[1].name, default[1][1])
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
      local mix = assert(personas.load_mix(MIXES .. "/weighted.json", KNOWN))
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
      for _, t in ipairs(KNOWN.tasks) do assert.is_true(used[t], t .. " is used") end
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
        "m.json", KNOWN)
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
          'groups.apac.tokn: unknown key (did you mean "token"? '
            .. 'accepted: count, token, rate, tasks, expect)' },
        { '{"groups": {"apac": {"count": 1}}, "consumers": 3}', "consumers: unknown key (accepted: groups)" },
        { '{"group": {"apac": {"count": 1}}}', 'group: unknown key (did you mean "groups"?)' },
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
          local mix, err = personas.load_mix(path, KNOWN)
          assert.is_nil(mix)
          assert.are.equal("mix file " .. path .. ": " .. case[2], err)
        end)
      end

      it("a file that cannot be opened", function()
        local mix, err = personas.load_mix("/nonexistent/dir/mix.json", KNOWN)
        assert.is_nil(mix)
        assert.matches("^mix file /nonexistent/dir/mix%.json: cannot read: ", err)
      end)
    end)
  end)

  describe("the scenario's names", function()
    it("refuses tasks and tokens the scenario does not declare, naming the known ones", function()
      local function err_of(groups_json, known)
        local mix, err = personas.parse_mix('{"groups": {' .. groups_json .. '}}', "m.json", known)
        assert.is_nil(mix)
        return err
      end
      assert.are.equal("mix file m.json: groups.a.tasks: this scenario declares no tasks (scenario key "
        .. "'tasks')", err_of('"a": {"count": 1, "tasks": {"ping": 1}}', { tokens = KNOWN.tokens }))
      assert.are.equal("mix file m.json: groups.a.token: this scenario resolves no tokens (it has no "
        .. "scenario key 'tokens'): expected null, got the string \"eyJh.eyJg.c2ln\"",
        err_of('"a": {"count": 1, "token": "eyJh.eyJg.c2ln"}', { tasks = KNOWN.tasks }))
      local own = { tasks = { "browse", "search" }, tokens = { "token_a" } }
      assert.are.equal("mix file m.json: groups.a.tasks.ping: unknown task (tasks: browse, search)",
        err_of('"a": {"count": 1, "tasks": {"ping": 1}}', own))
      assert.are.equal('mix file m.json: groups.a.tasks: expected an object of task weights like '
        .. '{"browse": 3, "search": 1}, got an array', err_of('"a": {"count": 1, "tasks": ["browse"]}', own))
      assert.are.equal('mix file m.json: groups.a.token: unknown symbolic token "token_apac" (known: '
        .. "token_a; a literal JWT passes through as is)",
        err_of('"a": {"count": 1, "token": "token_apac"}', own))
      assert.are.equal('mix file m.json: groups.a: expected an object like {"count": 3}, got 3',
        err_of('"a": 3', {}))
      local mix = assert(personas.parse_mix('{"groups": {"a": {"count": 2, "token": "token_a", '
        .. '"tasks": {"search": 1}}, "b": {"count": 1}}}', "m.json", own))
      assert.are.same({ { name = "search", weight = 1 } }, mix.groups[1].tasks)
      assert.is_table(personas.parse_mix('{"groups": {"a": {"count": 2}}}'))  -- no names needed
    end)
  end)

  describe("flags and from_options", function()
    it("gives the cli spec for --mix-file", function()
      local o = cli.options(cli.parse { "--mix-file", "m.json" }, personas.flags)
      assert.are.same({ mix_file = "m.json" }, o)
    end)

    -- from_options's resolve(mix), as the runner makes it of a scenario's `tokens`.
    local function resolver(o, extra)
      return function(mix) return dig_tokens.resolver.resolve(mix, o, extra) end
    end

    it("loads and resolves from options, or raises a usage error", function()
      assert.is_nil(personas.from_options({ token_source = "auto" }, KNOWN, resolver({})))
      local o = { mix_file = MIXES .. "/small.json", token_source = "mint",
                  jwt_secret_file = temp_mix(SECRET) }
      local set = personas.from_options(o, KNOWN, resolver(o, { env = fake_env {} }))
      assert.are.equal(6, #set.personas)
      assert.are.equal(6, set.mix.total)
      assert.are.same({ "apac" }, assert(jwt.verify(set.tokens.token_apac, SECRET)).groups)
      o = { mix_file = temp_mix('{"groups": {}}'), token_source = "auto" }
      local ok, e = pcall(personas.from_options, o, KNOWN, resolver(o))
      assert.is_false(ok)
      assert.is_true(cli.is_usage_error(e))
      assert.matches(": groups: expected at least one group$", e.message)
      o = { mix_file = MIXES .. "/default.json", token_source = "env" }
      ok, e = pcall(personas.from_options, o, KNOWN, resolver(o, { env = fake_env {} }))
      assert.is_false(ok)
      assert.is_true(cli.is_usage_error(e))
      assert.matches("^unresolved tokens for mix ", e.message)
    end)

    it("needs no resolver for anonymous personas, and refuses one that leaves a token out", function()
      local anonymous = temp_mix('{"groups": {"a": {"count": 2}}}')
      local set = personas.from_options({ mix_file = anonymous }, {})
      assert.are.same({}, set.tokens)
      assert.are.equal(2, #set.personas)
      local ok, e = pcall(personas.from_options, { mix_file = MIXES .. "/small.json" }, KNOWN,
        function() return {} end)
      assert.is_false(ok)
      assert.are.equal("personas: the token resolver left the token of group apac unresolved", e)
    end)
  end)
end)
