-- core.hist_*: the C latency histogram seen from Lua (values in seconds).
local core = require "gofr_sim.core"

describe("core.hist", function()
  local function near(want, got, rel)
    assert.is_true(math.abs(got - want) <= want * (rel or 1e-3),
      ("expected %.9g, got %.9g"):format(want, got))
  end

  it("records seconds and reports them in seconds", function()
    local h = core.hist_new()
    assert.are.equal(0, h:count())
    assert.are.equal(0, h:percentile(50))
    h:record(0.0015)      -- 1500 us
    h:record(0.25)
    h:record(2e-7)        -- 0.2 us rounds to 0
    h:record(-3)          -- negative counts as 0
    h:record(7200)        -- over an hour: clamped to one hour
    h:record_us(42)
    assert.are.equal(6, h:count())
    assert.are.equal(0, h:min())
    assert.are.equal(3600, h:max())
    near((0.0015 + 0.25 + 3600 + 0.000042) / 6, h:mean(), 1e-12)
    assert.is_true(h:stddev() > 0)
    assert.are.equal(0, h:percentile(0))
    assert.are.equal(3600, h:percentile(100))
    assert.are.equal(0.000042, h:percentile(50))  -- rank 3 of 6: exact below 2048 us
    assert.matches("^gofr_sim.histogram %(count 6%)$", tostring(h))
  end)

  it("gives percentiles within 0.1% of the sorted samples", function()
    local h, xs = core.hist_new(), {}
    for i = 1, 10000 do
      xs[i] = math.floor(10 ^ (i % 97 / 97 * 6) + 0.5) / 1e6  -- 1 us .. 1 s, whole us
      h:record(xs[i])
    end
    table.sort(xs)
    for _, p in ipairs { 1, 10, 50, 90, 95, 99, 99.9, 99.99 } do
      near(xs[math.ceil(p * #xs / 100)], h:percentile(p))
    end
    assert.are.equal(xs[1], h:min())
    assert.are.equal(xs[#xs], h:max())
  end)

  it("merges exactly and returns self", function()
    local a, b, all = core.hist_new(), core.hist_new(), core.hist_new()
    for i = 1, 5000 do
      local s = (i * 7919 % 100003) / 1e4
      if i % 3 == 0 then a:record(s) else b:record(s) end
      all:record(s)
    end
    local m = core.hist_new()
    assert.are.equal(m, m:merge(a))
    m:merge(b)
    assert.are.equal(all:encode(), m:encode())
    assert.are.equal(all:count(), m:count())
    assert.are.equal(all:percentile(99), m:percentile(99))
    m:reset()
    assert.are.equal(0, m:count())
    assert.are.equal(core.hist_new():encode(), m:encode())
  end)

  it("round-trips through encode and decode", function()
    local h = core.hist_new()
    for i = 1, 1000 do h:record(i / 997) end
    local s = h:encode()
    assert.matches("^HG1:[%w+/]+=*$", s)
    local d = assert(core.hist_decode(s))
    assert.are.equal(s, d:encode())
    for _, f in ipairs { "count", "min", "max", "mean", "stddev" } do
      assert.are.equal(h[f](h), d[f](d))
    end
    assert.are.equal(h:percentile(99.9), d:percentile(99.9))
    local e = assert(core.hist_decode(core.hist_new():encode()))
    assert.are.equal(0, e:count())
  end)

  it("returns nil, invalid_argument for a malformed encoding", function()
    local s = core.hist_new():encode()
    local bads = { "", "garbage", "HG1:", "HG1:!!!!", s:sub(1, -2), s .. "AAAA", "HG2" .. s:sub(4) }
    for _, bad in ipairs(bads) do
      local h, err, msg = core.hist_decode(bad)
      assert.is_nil(h)
      assert.are.equal("invalid_argument", err)
      assert.are.equal("hist_decode: not a valid encoded histogram", msg)
    end
  end)

  it("raises on bad arguments with clear messages", function()
    local h = core.hist_new()
    assert.has_error(function() h:record("0.5") end,
      "histogram:record: seconds must be a number, got string")
    assert.has_error(function() h:record() end, "histogram:record: seconds must be a number, got no value")
    assert.has_error(function() h:record(0 / 0) end, "histogram:record: seconds must be a number, got nan")
    assert.has_error(function() h:record_us({}) end, "histogram:record_us: us must be a number, got table")
    assert.has_error(function() h:percentile(100.5) end,
      "histogram:percentile: p must be in 0..100, got 100.5")
    assert.has_error(function() h:percentile(-1) end, "histogram:percentile: p must be in 0..100, got -1")
    assert.has_error(function() h:percentile("50") end,
      "histogram:percentile: p must be a number in 0..100, got string")
    assert.has_error(function() h:merge({}) end)
    assert.has_error(function() h.count({}) end)
    assert.has_error(function() core.hist_decode(42) end, "hist_decode: expected a string, got number")
    assert.are.equal(0, h:count())
  end)
end)
