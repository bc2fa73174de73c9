-- LuaJIT #839 (fixed upstream 2022-05-02, 3ee3c9cf "Fix recording of
-- __concat metamethod"): recording a concatenation of more than five
-- operands whose first has __concat overwrote stack slots it did not restore.
return {
  name = "lj839_concat_mm",
  issue = "LuaJIT #839",
  what = "a 6-operand concatenation through __concat keeps its operands",
  hotloop = 1,
  run = function()
    local last = setmetatable({}, { __concat = function(_, rhs) return rhs end })
    local got
    for i = 1, 20 do
      got = last .. "a" .. "b" .. "c" .. "d" .. ("end" .. i)
      if got ~= "abcdend" .. i then
        return false, ("iteration %d: got %s"):format(i, tostring(got))
      end
    end
    return true
  end,
}
