-- LuaJIT #864 (fixed upstream 2022-07-12, 6bda30d8 "LJ_GC64: Fix IR_VARG
-- offset for fixed number of results"): `local v = ...` in a compiled loop
-- read the wrong vararg slot on GC64 (x86_64) builds.
return {
  name = "lj864_varg_offset",
  issue = "LuaJIT #864",
  what = "the first vararg read in a compiled loop is the first argument",
  hotloop = 1,
  run = function()
    local function first(...)
      local v
      for _ = 1, 3 do v = ... end
      return v
    end
    for i = 1, 50 do
      local got = first(i, -1, -2)
      if got ~= i then return false, ("call %d: got %s"):format(i, tostring(got)) end
    end
    return true
  end,
}
