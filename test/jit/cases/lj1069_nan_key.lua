-- LuaJIT #1069 (fixed upstream 2023-09-09, 7f9907b4 "Add NaN check to
-- IR_NEWREF"): storing under a NaN key must raise "table index is NaN";
-- on a trace the store went through and left a NaN key in the table.
return {
  name = "lj1069_nan_key",
  issue = "LuaJIT #1069",
  what = "t[NaN] = v raises on a trace too and adds no key",
  hotloop = 1,
  run = function()
    local function put(t, k) t[k] = true end
    local t = {}
    put(t, 0.25)
    put(t, 0.5)
    put(t, 0.75)
    local ok, err = pcall(put, t, 0 / 0)
    if ok then return false, "t[NaN] = true did not raise" end
    if not tostring(err):find("NaN", 1, true) then return false, "wrong error: " .. tostring(err) end
    local n = 0
    for k in pairs(t) do
      if k ~= k then return false, "the table holds a NaN key" end
      n = n + 1
    end
    if n ~= 3 then return false, ("%d keys, want 3"):format(n) end
    return true
  end,
}
