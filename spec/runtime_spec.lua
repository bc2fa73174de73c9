-- The persona scheduler: spawn, wait, sleep, now, run, stop, errors.
local sim = require "gofr_sim"
local support = require "support"

describe("sim.spawn / sim.wait", function()
  after_each(support.assert_clean)

  it("starts spawned personas in order, after the spawner yields", function()
    local log = {}
    sim.run(function()
      local hs = {}
      for i = 1, 3 do
        hs[i] = sim.spawn(function(n) log[#log + 1] = "start " .. n; return n * 10 end, i)
      end
      log[#log + 1] = "spawned"
      assert.are.same({ 10, 20, 30 }, { sim.wait(hs[1], hs[2], hs[3]) })
    end)
    assert.are.same({ "spawned", "start 1", "start 2", "start 3" }, log)
  end)

  it("returns every result of one persona and passes arguments through", function()
    local a, b, c = sim.run(function()
      return sim.wait(sim.spawn(function(x, y) return x, y, x + y end, 2, 3))
    end)
    assert.are.same({ 2, 3, 5 }, { a, b, c })
  end)

  it("ends daemons with the run: they never keep it going, nor count as aborted", function()
    local ticks, daemon = 0, nil
    local before = sim.stats().aborted
    local t0 = sim.now()
    sim.run(function()
      daemon = sim.daemon(function()
        while sim.sleep(0.01) do ticks = ticks + 1 end
      end)
      sim.sleep(0.1)
    end)
    assert.is_true(sim.now() - t0 < 0.5)
    assert.is_true(ticks >= 3, "ticks " .. ticks)
    assert.are.equal("aborted", daemon:status())
    assert.are.equal(before, sim.stats().aborted)
    -- a daemon alone ends at once; one that finishes on its own is fine too
    sim.run(function()
      sim.daemon(function() sim.sleep(3600) end)
      sim.wait(sim.daemon(function() return 1 end))
    end)
  end)

  it("waits on a finished persona without yielding", function()
    sim.run(function()
      local h = sim.spawn(function() return "done" end)
      sim.sleep(0.01)
      assert.are.equal("done", h:status())
      assert.are.equal("done", sim.wait(h))
    end)
  end)

  it("refuses non-handles and self-waits with clear errors", function()
    sim.run(function()
      assert.has_error(function() sim.wait(42) end,
        "sim.wait: argument 1 must be a persona handle (from sim.spawn), got number")
      local me
      me = sim.spawn(function()
        local ok, err = pcall(sim.wait, me)
        return ok, err
      end)
      local ok, err = sim.wait(me)
      assert.is_false(ok)
      assert.matches("cannot wait for itself", err)
    end)
  end)
end)

describe("sim.sleep and sim.now", function()
  after_each(support.assert_clean)

  it("wakes sleepers in deadline order, never early", function()
    local order = {}
    sim.run(function()
      local t0 = sim.now()
      local hs = {}
      for _, d in ipairs({ 0.06, 0.02, 0.04 }) do
        hs[#hs + 1] = sim.spawn(function()
          assert.is_true(sim.sleep(d))
          order[#order + 1] = d
          return sim.now() - t0
        end)
      end
      local e1, e2, e3 = sim.wait(hs[1], hs[2], hs[3])
      assert.is_true(e1 >= 0.06 and e2 >= 0.02 and e3 >= 0.04)
    end)
    assert.are.same({ 0.02, 0.04, 0.06 }, order)
  end)

  it("is monotonic with sub-millisecond resolution", function()
    local a = sim.now()
    local b = sim.now()
    assert.is_true(b >= a and b - a < 0.001)
    assert.are_not.equal(math.floor(a), a) -- not whole seconds
  end)

  it("rejects bad durations", function()
    sim.run(function()
      assert.has_error(function() sim.sleep(-1) end)
      assert.has_error(function() sim.sleep(0 / 0) end)
      assert.has_error(function() sim.sleep("x") end)
    end)
  end)

  it("raises outside a persona, saying so", function()
    local ok, err = pcall(sim.sleep, 0.01)
    assert.is_false(ok)
    assert.matches("sim.sleep: must be called from a persona", err, 1, true)
    ok, err = pcall(sim.http.get, "http://127.0.0.1:1/")
    assert.is_false(ok)
    assert.matches("sim.http.request: must be called from a persona", err, 1, true)
  end)

  it("lets a bare coroutine.yield hand over to the others", function()
    local log = {}
    sim.run(function()
      local a = sim.spawn(function()
        log[#log + 1] = "a1"; coroutine.yield(); log[#log + 1] = "a2"
      end)
      local b = sim.spawn(function() log[#log + 1] = "b1" end)
      sim.wait(a, b)
    end)
    assert.are.same({ "a1", "b1", "a2" }, log)
  end)

  it("keeps timers and I/O turning while a persona only yields", function()
    local spins, woke = 0, false
    sim.run(function()
      local spinner = sim.spawn(function()
        while not woke do spins = spins + 1; coroutine.yield() end
      end)
      sim.spawn(function() sim.sleep(0.02); woke = true end)
      sim.wait(spinner)
    end)
    assert.is_true(woke)
    assert.is_true(spins > 1)
  end)

  it("runs 10,000 sleeping personas on one loop", function()
    local woke = 0
    local t0 = sim.now()
    sim.run(function()
      for _ = 1, 10000 do
        sim.spawn(function() sim.sleep(0.2); woke = woke + 1 end)
      end
    end)
    assert.are.equal(10000, woke)
    assert.is_true(sim.now() - t0 < 2.0, "personas slept in parallel")
  end)
end)

describe("the garbage collector's floor", function()
  -- Run in a fresh gofr-sim: its heap is the engine's few hundred KiB (this
  -- process's is tens of MiB). Prints "<heap KiB> <pause>" after a cycle
  -- with a small heap, then with about 16 MiB kept alive.
  local SCRIPT = [[
local sim = require "gofr_sim"
local function pause_now()
  local p = collectgarbage("setpause", 200)
  collectgarbage("setpause", p)
  return p
end
-- Garbage across loop turns until a cycle swept (the heap shrank) and one
-- more turn ran: the heap after the sweep and the pause set then.
local function churn()
  local last, ring = collectgarbage("count"), {}
  for _ = 1, 20000 do
    for j = 1, 200 do ring[j] = { 1, 2, 3 } end -- kept a turn: not sunk by the JIT
    coroutine.yield()
    local now = collectgarbage("count")
    if now < last then
      coroutine.yield()
      print(("%d %d"):format(now, pause_now()))
      return
    end
    last = now
  end
  error("no collection cycle in 4 million tables")
end
collectgarbage()
sim.run(churn)
local keep = {}
for i = 1, 400000 do keep[i] = { i } end
sim.run(churn)
print(#keep)
]]

  it("starts a cycle no earlier than 4 MiB above a small heap, LuaJIT's 200% above a large one", function()
    local script = support.tmpfile(SCRIPT, ".lua")
    local r = support.run_cli({ script })
    os.remove(script)
    assert.are.equal(0, r.status, r.stderr)
    local small_heap, small_pause, large_heap, large_pause =
      r.stdout:match("^(%d+) (%d+)\n(%d+) (%d+)\n400000\n$")
    assert.is_truthy(small_heap, "output: " .. r.stdout)
    small_heap, small_pause = tonumber(small_heap), tonumber(small_pause)
    large_heap, large_pause = tonumber(large_heap), tonumber(large_pause)
    assert.is_true(small_heap < 3072, "a fresh engine's heap is " .. small_heap .. " KiB")
    local want = math.floor(100 * (small_heap + 4096) / small_heap)
    assert.is_true(small_pause > 200 and math.abs(small_pause - want) <= want * 0.25,
      ("pause %d for a %d KiB heap, want about %d"):format(small_pause, small_heap, want))
    assert.is_true(large_heap > 8192, "heap " .. large_heap .. " KiB")
    assert.are.equal(200, large_pause)
  end)
end)

describe("sim.run", function()
  after_each(support.assert_clean)

  it("re-raises the error of its function", function()
    local ok, err = pcall(sim.run, function() error("boom") end)
    assert.is_false(ok)
    assert.matches("runtime_spec.lua:%d+: boom", err)
  end)

  it("is spawn + wait inside a persona", function()
    local v = sim.run(function()
      return sim.run(function() sim.sleep(0.01); return "inner" end)
    end)
    assert.are.equal("inner", v)
  end)

  it("waits for personas spawned and not waited for", function()
    local finished = 0
    sim.run(function()
      for _ = 1, 5 do sim.spawn(function() sim.sleep(0.02); finished = finished + 1 end) end
    end)
    assert.are.equal(5, finished)
  end)
end)

describe("persona errors", function()
  after_each(support.assert_clean)

  it("retire the persona, count script_error, and the run goes on", function()
    local before = sim.stats().script_errors
    local completed = 0
    sim.run(function()
      local bad = {}
      for i = 1, 100 do
        bad[i] = sim.spawn(function() sim.sleep(0.001); error("persona exploded") end)
      end
      local good = sim.spawn(function() sim.sleep(0.05); completed = completed + 1; return "ok" end)
      local v, err_type, msg = sim.wait(bad[1])
      assert.is_nil(v)
      assert.are.equal("script_error", err_type)
      assert.matches("runtime_spec.lua:%d+: persona exploded", msg)
      assert.are.equal("ok", sim.wait(good))
      assert.are.equal("failed", bad[100]:status())
    end)
    assert.are.equal(1, completed)
    local stats = sim.stats()
    assert.are.equal(before + 100, stats.script_errors)
    local n = 0
    for msg, count in pairs(stats.errors) do
      assert.matches("persona exploded", msg)
      n = n + count
    end
    assert.are.equal(100, n)
  end)
end)

describe("sim.stop", function()
  after_each(support.assert_clean)

  it("ends sleeps early and lets loops finish", function()
    local iterations, t0 = 0, sim.now()
    sim.run(function()
      for _ = 1, 10 do
        sim.spawn(function()
          while sim.sleep(0.01) do iterations = iterations + 1 end
        end)
      end
      sim.sleep(0.1)
      sim.stop()
      assert.is_true(sim.stopping())
      assert.is_false(sim.sleep(1))
    end)
    assert.is_true(iterations > 0)
    assert.is_true(sim.now() - t0 < 1.0)
  end)

  it("aborts personas still busy after the grace period", function()
    local site = assert(sim.fixtures.serve { root = support.fixtures_root })
    local before = sim.stats().aborted
    local t0 = sim.now()
    local h
    sim.run(function()
      h = sim.spawn(function()
        return sim.http.get(site.url .. "/index.html?delay_ms=5000")
      end)
      sim.sleep(0.05)
      sim.stop(0.2) -- the request is in flight; nothing waits for it
    end)
    assert.is_true(sim.now() - t0 < 2.0)
    assert.are.equal("aborted", h:status())
    local v, err_type = sim.wait(h)
    assert.is_nil(v)
    assert.are.equal("aborted", err_type)
    assert.are.equal(before + 1, sim.stats().aborted)
    support.close_site(site)
  end)

  it("aborts 10,000 queued personas at once with no grace", function()
    local t0, ran = sim.now(), 0
    sim.run(function()
      for _ = 1, 10000 do sim.spawn(function() ran = ran + 1 end) end
      sim.stop(0)
      sim.sleep(1) -- returns at once: stopping
    end)
    assert.is_true(sim.now() - t0 < 1.0)
    assert.is_true(ran < 10000, "ran " .. ran)
  end)

  it("does not carry over to the next run", function()
    sim.run(function() sim.stop() end)
    sim.run(function() assert.is_false(sim.stopping()); assert.is_true(sim.sleep(0.001)) end)
  end)
end)

describe("core.abort", function()
  local core = require "gofr_sim.core"
  after_each(support.assert_clean)

  it("aborts one persona, cancelling its I/O; its waiters see 'aborted', the others go on", function()
    local site = assert(sim.fixtures.serve { root = support.fixtures_root })
    local before = sim.stats().aborted
    sim.run(function()
      local slow = sim.spawn(function()
        return sim.http.get(site.url .. "/index.html?delay_ms=5000")
      end)
      local other = sim.spawn(function() sim.sleep(0.05); return "other" end)
      sim.sleep(0.05) -- the request is in flight
      assert.are.equal(1, sim.stats().transfers)
      local t0 = sim.now()
      assert.is_true(core.abort(slow))
      assert.are.equal(0, sim.stats().transfers) -- the cleanup cancelled it at once
      local v, err_type = sim.wait(slow)
      assert.is_nil(v)
      assert.are.equal("aborted", err_type)
      assert.is_true(sim.now() - t0 < 0.5)
      assert.is_false(core.abort(slow)) -- already finished: nothing to do
      assert.are.equal("other", sim.wait(other))
    end)
    assert.are.equal(before + 1, sim.stats().aborted)
    support.close_site(site)
  end)

  it("refuses a persona aborting itself, and non-handles", function()
    sim.run(function()
      local h
      h = sim.spawn(function() return pcall(core.abort, h) end)
      local ok, err = sim.wait(h)
      assert.is_false(ok)
      assert.matches("cannot abort itself", err)
      assert.has_error(function() core.abort({}) end)
    end)
  end)
end)
