-- LuaJIT #1133 (fixed upstream 2023-12-23, 65853056 "Check for IR_HREF vs.
-- IR_HREFK aliasing in non-nil store check"): two names for one table, one
-- reached through a constant-slot lookup and one through a hash lookup;
-- storing nil through one and a value through the other must run __newindex
-- each time the key is absent.
return {
  name = "lj1133_href_hrefk_alias",
  issue = "LuaJIT #1133",
  what = "__newindex runs for every store to an absent key across aliases",
  hotloop = 1,
  run = function()
    local rawset = rawset
    local function stores(a, b)
      local calls = 0
      local mt = { __newindex = function(t, k, v) calls = calls + 1; rawset(t, k, v) end }
      setmetatable(a, mt)
      setmetatable(b, mt)
      for _ = 1, 4 do
        a[7] = 1
        b[7] = nil
        a[7] = 1
        b[7] = 1
      end
      return calls
    end
    local big = {} -- a hash part too large for a constant-slot lookup
    for i = 1, 65536 do big[-i] = true end
    stores({}, big) -- record the trace with two distinct tables
    local same = {}
    local calls = stores(same, same)
    -- a[7] absent once in round 1; b[7] = nil removes it each round, so
    -- a[7] = 1 after it finds it absent again: 1 + 4 calls
    if calls ~= 5 then return false, ("__newindex ran %d times, want 5"):format(calls) end
    return true
  end,
}
