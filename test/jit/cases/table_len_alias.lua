-- LuaJIT 4ef96cff (fixed upstream 2022-05-20, "Fix alias analysis for table
-- length forwarding"): #t was forwarded across a store to a table that may
-- be t under another name; the length must follow every store.
return {
  name = "table_len_alias",
  issue = "LuaJIT 4ef96cff (alias analysis of #t)",
  what = "#t follows stores made through an alias of t",
  run = function()
    local function fill(t, alias, n)
      local sum = 0
      for i = 1, n do
        alias[i] = i
        sum = sum + #t
      end
      return sum
    end
    for round = 1, 20 do
      local t = {}
      local got = fill(t, t, 500)
      if got ~= 500 * 501 / 2 then
        return false, ("round %d: sum of lengths %d, want %d"):format(round, got, 500 * 501 / 2)
      end
    end
    return true
  end,
}
