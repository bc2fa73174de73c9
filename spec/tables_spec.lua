-- gofr_sim.util.tables: sorted keys (string order, mixed types, non-tables)
-- and shallow copies.
local tables = require "gofr_sim.util.tables"

describe("gofr_sim.util.tables", function()
  it("sorts keys as strings", function()
    assert.are.same({ "a", "b", "c" }, tables.sorted_keys { c = 1, a = 2, b = 3 })
    assert.are.same({ "B", "a", "b" }, tables.sorted_keys { b = 1, a = 1, B = 1 }) -- byte order
    assert.are.same({ 1, 10, 2, "x" }, tables.sorted_keys { [2] = 1, [10] = 1, [1] = 1, x = 1 })
    assert.are.same({}, tables.sorted_keys {})
  end)

  it("gives no keys for anything but a table", function()
    assert.are.same({}, tables.sorted_keys(nil))
    assert.are.same({}, tables.sorted_keys(42))
    assert.are.same({}, tables.sorted_keys("abc"))
  end)

  it("returns a new array each time", function()
    local t = { a = 1 }
    local k1, k2 = tables.sorted_keys(t), tables.sorted_keys(t)
    assert.are_not.equal(k1, k2)
    k1[1] = "changed"
    assert.are.same({ "a" }, k2)
  end)

  it("copies shallowly, into a new table or over another's fields", function()
    local inner = {}
    local t = setmetatable({ a = 1, inner = inner, [1] = "x" }, { __index = { hidden = true } })
    local c = tables.copy(t)
    assert.are_not.equal(t, c)
    assert.are.same({ a = 1, inner = inner, [1] = "x" }, c)
    assert.are.equal(inner, c.inner)
    assert.is_nil(getmetatable(c))
    local base = { a = 0, keep = true }
    assert.are.equal(base, tables.copy({ a = 2, b = 3 }, base))
    assert.are.same({ a = 2, b = 3, keep = true }, base)
  end)
end)
