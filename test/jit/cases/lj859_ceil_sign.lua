-- LuaJIT #859 (fixed upstream 2022-07-08, 674afcd4 "x86/x64: Fix
-- math.ceil(-0.9) result sign"): math.ceil of a number in (-1, -0.5) must
-- be -0 (1/x == -inf); the x86/x64 rounding code returned +0, in the
-- interpreter and in compiled code.
return {
  name = "lj859_ceil_sign",
  issue = "LuaJIT #859",
  what = "math.ceil(-0.9) is -0, interpreted and compiled",
  hotloop = 1,
  run = function()
    local ceil = math.ceil
    local x = -0.9
    for i = 1, 100 do
      local r = ceil(x)
      if r ~= 0 or 1 / r ~= -math.huge then
        return false, ("iteration %d: math.ceil(-0.9) = %s"):format(i, tostring(r))
      end
      x = -0.5 - i / 1000 -- stays in (-1, -0.5)
    end
    return true
  end,
}
