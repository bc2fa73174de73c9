-- Per-call names and tags (sim.http's and session:call's name= and tags=)
-- and groups (sim.group): what the samples are recorded under.
local sim = require "gofr_sim"
local metrics = require "gofr_sim.engine.metrics"
local twin_mod = require "gofr_sim.twin"
local support = require "support"

-- Runs fn inside sim.run on a fresh registry; returns the registry.
local function recorded(fn)
  local reg = metrics.new()
  local previous = metrics.install(reg)
  local ok, err = pcall(sim.run, fn)
  metrics.install(previous)
  if not ok then error(err, 0) end
  return reg
end

local function series_keys(reg)
  local keys = {}
  for k in pairs(reg.series) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

describe("per-call names and tags", function()
  local srv
  setup(function()
    srv = assert(sim.server.listen {
      handler = function(req, res) res:send(req.path == "/missing" and 404 or 200, {}, "ok") end,
    })
  end)
  teardown(function()
    support.close_site(srv)
    support.assert_clean()
  end)

  it("groups several URLs under one name, with the call's own tags", function()
    local reg = recorded(function()
      for i = 1, 3 do
        sim.http.get(srv.url .. "/product/" .. i, { name = "product page", tags = { shelf = "a" } })
      end
      sim.http.get(srv.url .. "/missing", { name = "product page", tags = { shelf = "a" } })
      sim.http.get(srv.url .. "/other")
    end)
    assert.are.same({
      "http.get{tool=http.get}",
      "product page{error_type=not_found,shelf=a,tool=product page}",
      "product page{shelf=a,tool=product page}",
    }, series_keys(reg))
    assert.are.equal(3, reg.series["product page{shelf=a,tool=product page}"].count)
    assert.are.equal(4, reg:aggregate({ tool = "product page" }).count)
    assert.is_table(reg.counters["http.bytes{tool=product page}"])
  end)

  it("refuses reserved tags, non-string tags and an empty name, naming the option", function()
    local cases = {
      { { tags = { tool = "x" } }, "option 'tags' may not set 'tool'" },
      { { tags = { persona = "x" } }, "option 'tags' may not set 'persona'" },
      { { tags = { n = {} } }, "option 'tags' must map names to strings, got n = table" },
      { { name = "" }, "option 'name' must not be empty" },
      { { name = 3 }, "option 'name' must be a string" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(sim.run, function() return sim.http.get(srv.url .. "/", c[1]) end)
      assert.is_false(ok)
      assert.matches(c[2], err, 1, true)
    end
  end)
end)

describe("sim.group", function()
  local srv
  setup(function()
    srv = assert(sim.server.listen { handler = function(_, res) res:send(200, {}, "ok") end })
  end)
  teardown(function()
    support.close_site(srv)
    support.assert_clean()
  end)

  it("tags the samples made inside it with its nested path and records its duration", function()
    local inner_result
    local reg = recorded(function()
      sim.group("checkout", function()
        sim.http.get(srv.url .. "/cart")
        inner_result = sim.group("pay", function(x)
          sim.sleep(0.05)
          sim.http.get(srv.url .. "/pay")
          sim.metrics.record("step", 0.001)
          return x * 2
        end, 21)
      end)
      sim.http.get(srv.url .. "/after")
    end)
    assert.are.equal(42, inner_result)
    assert.are.same({
      "group_duration{group=::checkout::pay}",
      "group_duration{group=::checkout}",
      "http.get{group=::checkout,tool=http.get}",
      "http.get{group=::checkout::pay,tool=http.get}",
      "http.get{tool=http.get}",
      "step{group=::checkout::pay}",
    }, series_keys(reg))
    local pay = reg.series["group_duration{group=::checkout::pay}"].hist
    local checkout = reg.series["group_duration{group=::checkout}"].hist
    assert.is_true(pay:max() >= 0.045, "pay took " .. pay:max())
    assert.is_true(checkout:max() >= pay:max(), "the outer group is at least as long as the inner")
  end)

  it("ends the group when fn raises, and raises the error again", function()
    local reg, err
    reg = recorded(function()
      local ok, e = pcall(sim.group, "boom", function() error("broke inside") end)
      assert(not ok)
      err = e
      sim.http.get(srv.url .. "/after")
    end)
    assert.matches("broke inside", err, 1, true)
    assert.is_table(reg.series["group_duration{group=::boom}"])
    assert.is_table(reg.series["http.get{tool=http.get}"], "the group did not end")
  end)

  it("refuses a bad name or function", function()
    assert.has_error(function() sim.group("", function() end) end,
      "sim.group: name must be a non-empty string without '::', got ")
    assert.has_error(function() sim.group("a::b", function() end) end,
      "sim.group: name must be a non-empty string without '::', got a::b")
    assert.has_error(function() sim.group("a", 1) end, "sim.group: fn must be a function, got number")
  end)
end)

describe("session:call's name and tags", function()
  it("records a call under its name, with its tags and group", function()
    local reg, r
    reg = recorded(function()
      local t = assert(twin_mod.start { fetch_delay = 0 })
      local ok, err = pcall(function()
        local s = assert(sim.mcp.connect(t.url))
        sim.group("warm", function()
          r = s:call("ping", {}, { name = "health check", tags = { probe = "1" } })
        end)
        s:call("ping", {})
        local bad_ok, bad = pcall(s.call, s, "ping", {}, { tags = { expected = "true" } })
        assert(not bad_ok and bad:find("option 'tags' may not set 'expected'", 1, true), tostring(bad))
        s:close()
      end)
      t:close()
      assert(ok, err)
    end)
    assert.is_true(r.ok)
    assert.is_table(reg.series["health check{group=::warm,probe=1,tool=health check}"])
    assert.is_table(reg.series["mcp.ping{tool=mcp.ping}"])
  end)
end)
