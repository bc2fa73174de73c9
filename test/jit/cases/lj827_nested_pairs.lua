-- LuaJIT #827 (fixed upstream 2022-04-02, 1cdff194 "Add missing check for
-- LJ_KEYINDEX in ITERN recording"): a pairs() loop whose body runs another
-- pairs() loop, in a hot outer loop that also calls a vararg function with a
-- loop of its own (its return goes back to the interpreter). Once the outer
-- pairs() loop is blacklisted and patched back to ITERC, the stale key index
-- left by the compiled inner loop ends the outer iteration early: it visits 1
-- of its 5 keys. This is the bug that lost argument keys in Session:call's pairs() copy (issue 11 section 1).
return {
  name = "lj827_nested_pairs",
  issue = "LuaJIT #827",
  what = "a pairs() loop nested in another pairs() visits every key",
  run = function()
    local inner = { 10, 20, 30, 40, 50 }
    local outer = { alpha = inner, beta = inner, gamma = inner, delta = inner, eps = inner }
    -- A vararg function with a loop: its return goes to the interpreter.
    local function spin(...) -- luacheck: ignore 212
      for _ = 1, 100 do end
    end
    for round = 1, 100000 do
      spin()
      local seen = 0
      for _, list in pairs(outer) do
        for _ in pairs(list) do end
        seen = seen + 1
      end
      if seen ~= 5 then
        return false, ("round %d visited %d of 5 keys"):format(round, seen)
      end
    end
    return true
  end,
}
