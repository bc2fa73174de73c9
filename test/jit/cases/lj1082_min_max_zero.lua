-- LuaJIT #1082 (fixed upstream 2023-09-17, 7a2b83a0 "IR_MIN/IR_MAX is
-- non-commutative due to underlying FPU ops"): math.min/max of 0 and -0
-- must give the same zero compiled as interpreted; the fold swapped operands.
return {
  name = "lj1082_min_max_zero",
  issue = "LuaJIT #1082",
  what = "math.min/max of 0 and -0 agree between interpreter and trace",
  hotloop = 1,
  run = function()
    local min, max = math.min, math.max
    local pz, nz = 0, -0
    local first
    for i = 1, 20 do
      local r = tostring(min(pz, nz)) .. tostring(min(nz, pz))
        .. tostring(max(pz, nz)) .. tostring(max(nz, pz))
      first = first or r
      if r ~= first then
        return false, ("iteration %d: %s, interpreted %s"):format(i, r, first)
      end
    end
    return true
  end,
}
