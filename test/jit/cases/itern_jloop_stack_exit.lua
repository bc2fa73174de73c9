-- LuaJIT dad04f17 (fixed upstream 2022-09-14, "Fix trace join to BC_JLOOP
-- originating from BC_ITERN"; reported by OpenResty Inc.): a compiled pairs()
-- loop entered from a function whose frame is large, with a GC step between
-- calls (which shrinks the stack), takes the stack-check exit into the
-- JLOOP that replaced ITERN and then miscounts the keys.
return {
  name = "itern_jloop_stack_exit",
  issue = "LuaJIT dad04f17 (OpenResty report)",
  what = "a pairs() count in a large frame after a GC step counts every key",
  run = function()
    local function count(t)
      do -- 96 dead locals make the frame large enough to need a stack check
        -- luacheck: push ignore
        local _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _
        local _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _
        local _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _
        local _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _, _
        -- luacheck: pop
      end
      local n = 0
      for _ in pairs(t) do n = n + 1 end
      return n
    end
    -- in a new coroutine: its stack starts small, so the check can fail
    return coroutine.wrap(function()
      for round = 1, 20 do
        local t = {}
        for i = 1, 20 do t[i] = i end
        collectgarbage() -- shrinks the stack again
        local n = count(t)
        if n ~= 20 then return false, ("round %d counted %d of 20 keys"):format(round, n) end
      end
      return true
    end)()
  end,
}
