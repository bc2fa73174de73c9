-- LuaJIT #1083 (fixed upstream 2023-09-21, 92b89d00 "Add missing coercion
-- when recording select(string, ...)"): select("1", ...) on a trace must
-- coerce the string index like the interpreter does; the recorder did not,
-- and the compiled loop returned the wrong argument.
return {
  name = "lj1083_select_string",
  issue = "LuaJIT #1083",
  what = "select('1', ...) in a compiled loop picks the first argument",
  hotloop = 1,
  run = function()
    local select = select
    local function first(...)
      local v
      for _ = 1, 4 do v = select("1", ...) end
      return v
    end
    for i = 1, 20 do
      local got = first(i, -2, -3, -4)
      if got ~= i then return false, ("call %d: got %s, want %d"):format(i, tostring(got), i) end
    end
    return true
  end,
}
