-- sim.rng: repeatable, independent streams.
local sim = require "gofr_sim"

describe("sim.rng", function()
  local function draw(r, n)
    local t = {}
    for i = 1, n do t[i] = r:int(1, 1000) end
    return t
  end

  it("repeats a sequence for the same seed and stream", function()
    assert.are.same(draw(sim.rng.new(42, 3), 50), draw(sim.rng.new(42, 3), 50))
  end)

  it("gives different sequences for different seeds or streams", function()
    assert.are_not.same(draw(sim.rng.new(42, 1), 20), draw(sim.rng.new(42, 2), 20))
    assert.are_not.same(draw(sim.rng.new(1), 20), draw(sim.rng.new(2), 20))
  end)

  it("stays in range and covers it roughly evenly", function()
    local r, counts = sim.rng.new(7), {}
    for _ = 1, 10000 do
      local v = r:int(1, 10)
      assert.is_true(v >= 1 and v <= 10)
      counts[v] = (counts[v] or 0) + 1
    end
    for v = 1, 10 do assert.is_true(counts[v] > 850 and counts[v] < 1150, "bucket " .. v) end
    local f = r:float()
    assert.is_true(f >= 0 and f < 1)
  end)

  it("refuses a non-number seed", function()
    assert.has_error(function() sim.rng.new("x") end, "rng.new: seed must be a number, got string")
  end)
end)
