-- sim.process: piped children on the engine's loop, with real programs
-- (cat, sh, node when present): round trips, lines however they arrive,
-- max_line, timeouts, end of file, crashes, the stderr tail, back-pressure,
-- collected and forgotten children reaped, personas side by side, misuse.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local support = require "spec.support"

local function cat(opts)
  opts = opts or {}
  opts.command = "cat"
  return assert(sim.process.spawn(opts))
end

local function sh(script, opts)
  opts = opts or {}
  opts.command, opts.args = "sh", { "-c", script }
  return assert(sim.process.spawn(opts))
end

-- Waits (in a persona) until pid is gone — reaped, not even a zombie — or
-- `seconds` have passed; -> whether it is gone.
local function gone_within(pid, seconds)
  local deadline = sim.now() + seconds
  while core.process_alive(pid) and sim.now() < deadline do sim.sleep(0.01) end
  return not core.process_alive(pid)
end

-- The pids of the processes whose command line is exactly argv.
local function pids_of(argv)
  local want = table.concat(argv, "\0") .. "\0"
  local found = {}
  local ls = io.popen("ls /proc")
  for name in ls:lines() do
    if name:match("^%d+$") then
      local f = io.open("/proc/" .. name .. "/cmdline", "rb")
      if f then
        if f:read("*a") == want then found[#found + 1] = tonumber(name) end
        f:close()
      end
    end
  end
  ls:close()
  return found
end

describe("sim.process", function()
  after_each(function()
    collectgarbage()
    collectgarbage()
    sim.run(function() sim.sleep(0.01) end) -- let collected children finish closing
  end)

  it("round-trips lines through cat, and waits for its exit", function()
    sim.run(function()
      local p = cat()
      assert.is_number(p:pid())
      assert.matches("^gofr_sim.process %(pid %d+, running%)$", tostring(p))
      for i = 1, 20 do
        assert.is_true(p:write("line " .. i .. "\n"))
        assert.are.equal("line " .. i, p:read_line(5))
      end
      assert.is_false(p:exited())
      assert.is_true(p:close_stdin())
      assert.is_true(p:close_stdin()) -- idempotent
      local line, err_type, msg = p:read_line(5)
      assert.is_nil(line)
      assert.are.equal("closed", err_type)
      assert.matches("end of the child's stdout", msg)
      assert.are.same({ exit_status = 0, signal = 0 }, p:wait(5))
      assert.are.same({ exit_status = 0, signal = 0 }, p:wait()) -- again, at once
      assert.is_true(p:exited())
      assert.are.equal("closed", select(2, p:read_line())) -- stays closed
    end)
    support.assert_clean()
  end)

  it("splits many lines of one read, partial lines across reads, keeps CR and empty lines",
    function()
      sim.run(function()
        local p = cat()
        p:write("a\nb\n\nc\r\nd")
        assert.are.equal("a", p:read_line(5))
        assert.are.equal("b", p:read_line(5))
        assert.are.equal("", p:read_line(5))
        assert.are.equal("c\r", p:read_line(5))
        assert.is_nil((p:read_line(0.05)))
        assert.are.equal("timeout", select(2, p:read_line(0.05)))
        p:write("ef")
        sim.sleep(0.05)
        p:write("g\nlast without newline")
        assert.are.equal("defg", p:read_line(5))
        p:close_stdin()
        assert.are.equal("last without newline", p:read_line(5))
        assert.are.equal("closed", select(2, p:read_line(5)))
        p:close()
      end)
      support.assert_clean()
    end)

  it("keeps lines whole across the 64 KiB read buffer's boundaries", function()
    sim.run(function()
      local p = cat()
      -- lines ending exactly at, just before and just after each boundary
      local lens = { 65535, 65536 - 1, 65536, 65537, 131071, 1, 0, 200000, 65535 }
      local sent = {}
      for i, n in ipairs(lens) do
        sent[i] = string.rep(string.char(64 + i), n)
      end
      local reader = sim.spawn(function()
        local got = {}
        for i = 1, #lens do got[i] = assert(p:read_line(10)) end
        return got
      end)
      p:write(table.concat(sent, "\n") .. "\n")
      local got = sim.wait(reader)
      for i = 1, #lens do
        assert.are.equal(#sent[i], #got[i], "line " .. i)
        assert.is_true(sent[i] == got[i], "line " .. i)
      end
      p:close()
    end)
    support.assert_clean()
  end)

  it("refuses a line over max_line, once, and goes on with the next", function()
    sim.run(function()
      local p = cat { max_line = 10 }
      p:write(string.rep("x", 10) .. "\n" .. string.rep("y", 11) .. "\n")
      p:write(string.rep("z", 100000) .. "\nafter\n")
      assert.are.equal(string.rep("x", 10), p:read_line(5))
      local line, err_type, msg = p:read_line(5)
      assert.is_nil(line)
      assert.are.equal("line_too_long", err_type)
      assert.matches("max_line", msg)
      assert.are.equal("line_too_long", select(2, p:read_line(5)))
      assert.are.equal("after", p:read_line(5))
      p:close()
    end)
    support.assert_clean()
  end)

  it("times out a read and a wait, and a timeout of 0 polls", function()
    sim.run(function()
      local p = sh("exec sleep 30")
      local t0 = sim.now()
      local line, err_type, msg = p:read_line(0.1)
      assert.is_nil(line)
      assert.are.equal("timeout", err_type)
      assert.matches("timeout", msg)
      assert.is_true(sim.now() - t0 >= 0.09)
      assert.are.equal("timeout", select(2, p:read_line(0)))
      assert.are.equal("timeout", select(2, p:wait(0)))
      assert.are.equal("timeout", select(2, p:wait(0.05)))
      local how = p:close(0.05)
      assert.are.equal(15, how.signal)
      assert.are.equal("SIGTERM", how.signal_name)
    end)
    support.assert_clean()
  end)

  it("reports a crashed child with its signal, and reaps it", function()
    sim.run(function()
      -- (the sanitizer build preloads ASan, whose SEGV handler would exit 1)
      local p = sh("echo before; echo oops >&2; kill -SEGV $$; echo after",
        { env = { LD_PRELOAD = "" } })
      local pid = p:pid()
      local how = p:wait(5)
      assert.are.same({ exit_status = 0, signal = 11, signal_name = "SIGSEGV" }, how)
      assert.are.equal("before", p:read_line(1))
      assert.are.equal("closed", select(2, p:read_line(1)))
      assert.are.equal("oops\n", p:stderr())
      assert.is_false(core.process_alive(pid)) -- reaped: no zombie
      assert.is_nil((p:kill("TERM")))
      assert.are.equal("closed", select(2, p:kill("TERM")))
      assert.is_nil((p:write("x")))
      assert.are.equal("closed", select(2, p:write("x")))
    end)
    support.assert_clean()
  end)

  it("reports the exit status of a child that exits", function()
    sim.run(function()
      local p = sh("exit 7")
      assert.are.same({ exit_status = 7, signal = 0 }, p:wait(5))
    end)
  end)

  it("keeps the last stderr_limit bytes of stderr and counts the rest", function()
    sim.run(function()
      local p = sh('i=0; while [ $i -lt 2000 ]; do echo "err $i" >&2; i=$((i+1)); done; echo done',
        { stderr_limit = 64 })
      assert.are.equal("done", p:read_line(10))
      p:wait(10)
      local tail, dropped = p:stderr()
      assert.are.equal(64, #tail)
      assert.matches("err 1999\n$", tail)
      local total = 0
      for i = 0, 1999 do total = total + #("err " .. i .. "\n") end
      assert.are.equal(total - 64, dropped)
    end)
    sim.run(function() -- default: 64 KiB
      local p = sh("head -c 100000 /dev/zero | tr '\\0' e >&2")
      p:wait(10)
      local tail, dropped = p:stderr()
      assert.are.equal(65536, #tail)
      assert.are.equal(100000 - 65536, dropped)
    end)
    support.assert_clean()
  end)

  it("reads stderr while the child runs", function()
    sim.run(function()
      local p = sh("echo early >&2; echo ready; exec sleep 30")
      assert.are.equal("ready", p:read_line(5))
      sim.sleep(0.05)
      assert.are.equal("early\n", (p:stderr()))
      p:kill("KILL")
      assert.are.equal(9, p:wait(5).signal)
    end)
    support.assert_clean()
  end)

  it("pushes back on a child that writes more than is read, losing nothing", function()
    sim.run(function()
      local n = 1000000 -- 7.9 MB of "line N": more than the 4 MiB read-ahead
      local p = sh(("i=0; seq 1 %d | sed 's/^/line /'"):format(n))
      sim.sleep(0.3) -- it fills the pipe and stalls
      assert.is_false(p:exited())
      for i = 1, n do
        local line = p:read_line(10)
        if line ~= "line " .. i then
          assert.are.equal("line " .. i, line)
        end
      end
      assert.are.equal("closed", select(2, p:read_line(5)))
      assert.are.equal(0, p:wait(5).exit_status)
    end)
    support.assert_clean()
  end)

  it("writes wait for a child that reads slowly, in order", function()
    sim.run(function()
      local p = sh("sleep 0.2; exec cat")
      local big = string.rep("b", 1000000)
      local writers = {}
      for i = 1, 3 do
        writers[i] = sim.spawn(function() return p:write(big .. i .. "\n") end)
      end
      for i = 1, 3 do
        local line = assert(p:read_line(10))
        assert.are.equal(1000001, #line)
        assert.are.equal(tostring(i), line:sub(-1))
      end
      assert.are.same({ true, true, true }, { sim.wait(writers[1], writers[2], writers[3]) })
      p:close()
    end)
    support.assert_clean()
  end)

  it("fails a write once stdin is closed, by us or by the child", function()
    sim.run(function()
      local p = cat()
      p:close_stdin()
      local ok, err_type, msg = p:write("late\n")
      assert.is_nil(ok)
      assert.are.equal("closed", err_type)
      assert.matches("stdin", msg)
      p:close()
      local q = sh("exec 0<&-; echo closed; exec sleep 30")
      assert.are.equal("closed", q:read_line(5))
      ok, err_type = q:write(string.rep("x", 4000000))
      assert.is_nil(ok)
      assert.are.equal("closed", err_type)
      q:close(0.1)
    end)
    support.assert_clean()
  end)

  it("close: EOF first, then SIGTERM, then SIGKILL, always reaped", function()
    sim.run(function()
      local p = cat()
      p:write("pending\n")
      assert.are.same({ exit_status = 0, signal = 0 }, p:close())
      assert.are.equal("pending", p:read_line())
      local q = sh("trap '' TERM; echo ready; exec sleep 30")
      assert.are.equal("ready", q:read_line(5))
      local pid = q:pid()
      local t0 = sim.now()
      local how = q:close(0.1)
      assert.are.equal(9, how.signal)
      assert.are.equal("SIGKILL", how.signal_name)
      assert.is_true(sim.now() - t0 >= 0.18)
      assert.is_false(core.process_alive(pid))
      assert.are.same({ exit_status = 0, signal = 9, signal_name = "SIGKILL" }, q:close())
    end)
    support.assert_clean()
  end)

  it("kills by signal name", function()
    sim.run(function()
      for _, name in ipairs { "INT", "SIGUSR1", "HUP" } do
        local p = sh("exec sleep 30")
        assert.is_true(p:kill(name))
        local how = p:wait(5)
        assert.are.equal("SIG" .. name:gsub("^SIG", ""), how.signal_name)
      end
      local p = sh("exec sleep 30")
      assert.is_true(p:kill()) -- TERM
      assert.are.equal(15, p:wait(5).signal)
    end)
    support.assert_clean()
  end)

  it("passes env and cwd, and reports a program that is not there", function()
    local dir = support.tmpdir()
    sim.run(function()
      local p = assert(sim.process.spawn {
        command = "sh", args = { "-c", 'echo "$GS_PROC_VAR"; pwd' },
        env = { GS_PROC_VAR = "forty two" }, cwd = dir,
      })
      assert.are.equal("forty two", p:read_line(5))
      local pwd = p:read_line(5)
      assert.are.equal(io.popen("cd " .. support.shell_quote(dir) .. " && pwd -P"):read("*l"),
        (pwd:gsub("/$", "")))
      p:wait(5)
    end)
    local proc, err_type, msg = sim.process.spawn { command = "/nonexistent/gs-no-such-program" }
    assert.is_nil(proc)
    assert.are.equal("not_found", err_type)
    assert.matches("gs%-no%-such%-program", msg)
    proc, err_type = sim.process.spawn { command = "cat", cwd = "/nonexistent-dir" }
    assert.is_nil(proc)
    assert.is_string(err_type)
    os.execute("rm -rf " .. support.shell_quote(dir))
    support.assert_clean()
  end)

  it("runs several children side by side from several personas", function()
    sim.run(function()
      local hs = {}
      for n = 1, 6 do
        hs[n] = sim.spawn(function()
          local p = cat()
          for i = 1, 50 do
            p:write(("%d:%d\n"):format(n, i))
            local line = p:read_line(5)
            if line ~= ("%d:%d"):format(n, i) then return "persona " .. n .. " got " .. line end
            if i % 10 == 0 then sim.sleep(0.001) end
          end
          return p:close().exit_status
        end)
      end
      for n = 1, 6 do assert.are.equal(0, (sim.wait(hs[n]))) end
    end)
    support.assert_clean()
  end)

  it("one child shared by several personas: writers queue, one reader", function()
    sim.run(function()
      local p = cat()
      local writers = {}
      for n = 1, 5 do
        writers[n] = sim.spawn(function() return p:write("w" .. n .. "\n") end)
      end
      local reader = sim.spawn(function()
        local got = {}
        for i = 1, 5 do got[i] = p:read_line(5) end
        return got
      end)
      sim.sleep(0) -- the reader waits now
      local second = sim.spawn(function() return p:read_line(1) end)
      local ok, err_type, msg = sim.wait(second)
      assert.is_nil(ok)
      assert.are.equal("script_error", err_type)
      assert.matches("another persona is reading", msg)
      sim.wait(writers[1], writers[2], writers[3], writers[4], writers[5])
      local got = sim.wait(reader)
      table.sort(got)
      assert.are.same({ "w1", "w2", "w3", "w4", "w5" }, got)
      p:close()
    end)
    support.assert_clean()
  end)

  it("echoes JSON-RPC lines through a node child", function()
    if os.execute("command -v node >/dev/null 2>&1") ~= 0 and
       os.execute("command -v node >/dev/null 2>&1") ~= true then
      pending("node is not installed")
      return
    end
    local cjson = require "cjson"
    local script = [[
      const rl = require('readline').createInterface({ input: process.stdin });
      rl.on('line', (l) => {
        const m = JSON.parse(l);
        process.stderr.write('got ' + m.method + '\n');
        process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: m.params }) + '\n');
      });
    ]]
    sim.run(function()
      local p = assert(sim.process.spawn { command = "node", args = { "-e", script } })
      for id = 1, 10 do
        p:write(cjson.encode { jsonrpc = "2.0", id = id, method = "echo", params = { n = id } } .. "\n")
      end
      for id = 1, 10 do
        local msg = cjson.decode((assert(p:read_line(10))))
        assert.are.equal(id, msg.id)
        assert.are.same({ n = id }, msg.result)
      end
      assert.are.equal(0, p:close(5).exit_status)
      assert.matches("got echo\n$", (p:stderr()))
    end)
    support.assert_clean()
  end)

  it("stops and reaps a collected child, even one that ignores SIGTERM", function()
    local pids = {}
    sim.run(function()
      local a = sh("exec sleep 30")
      local b = sh("trap '' TERM; echo ready; exec sleep 30")
      assert.are.equal("ready", b:read_line(5))
      pids = { a:pid(), b:pid() }
      b:write("unread\n")
    end)
    collectgarbage()
    collectgarbage()
    sim.run(function()
      assert.is_true(gone_within(pids[1], 2), "the sleep is reaped")
      assert.is_true(gone_within(pids[2], 3), "the one ignoring SIGTERM is killed and reaped")
      sim.sleep(0.05)
    end)
    support.assert_clean()
  end)

  it("aborting a persona that waits on a child cleans up", function()
    sim.run(function()
      local p = sh("exec sleep 30")
      local h = sim.spawn(function() return p:read_line() end)
      local w = sim.spawn(function() return p:wait() end)
      sim.sleep(0.02)
      core.abort(h)
      core.abort(w)
      assert.are.equal("aborted", select(2, sim.wait(h)))
      assert.are.equal("timeout", select(2, p:read_line(0.01))) -- a new reader may come
      p:close(0.1)
    end)
    support.assert_clean()
  end)

  it("refuses misuse, naming the option", function()
    assert.has_error(function() sim.process.spawn { comand = "cat" } end,
      "sim.process.spawn: unknown option 'comand' (did you mean 'command'?)")
    assert.has_error(function() sim.process.spawn {} end,
      "sim.process.spawn: option 'command' (the program to run) is required")
    assert.has_error(function() sim.process.spawn { command = "cat", args = "-n" } end,
      "sim.process.spawn: option 'args' must be a table, got string")
    assert.has_error(function() sim.process.spawn { command = "cat", args = { 1 } } end,
      "sim.process.spawn: option 'args' must be an array of strings, args[1] is a number")
    assert.has_error(function() sim.process.spawn { command = "cat", max_line = 0 } end,
      "sim.process.spawn: option 'max_line' must be an integer from 1 to 2^30 (bytes), got 0")
    assert.has_error(function() sim.process.spawn { command = "cat", env = { A = 1 } } end,
      "sim.process.spawn: option 'env': A must be a string, got number")
    sim.run(function()
      local p = cat()
      assert.has_error(function() p:kill("TERMINATE") end)
      local ok, err = pcall(p.kill, p, "TERMINATE")
      assert.is_false(ok)
      assert.matches("unknown signal 'TERMINATE' %(accepted: HUP, INT", err)
      assert.has_error(function() p:read_line(-1) end)
      assert.has_error(function() p:read_line("soon") end)
      assert.has_error(function() p:write(nil) end)
      p:close()
    end)
    local p = cat()
    local ok, err = pcall(p.write, p, "x")
    assert.is_false(ok)
    assert.matches("proc:write: must be called from a persona", err)
    ok, err = pcall(p.read_line, p)
    assert.is_false(ok)
    assert.matches("proc:read_line: must be called from a persona", err)
    assert.are.equal("timeout", select(2, p:read_line(0))) -- no waiting: no persona needed
    sim.run(function() p:close() end)
    support.assert_clean()
  end)

  it("leaves no child behind when a script ends with children running", function()
    local marker = { "sleep", "31.4159" }
    local script = support.tmpfile([[
      local sim = require "gofr_sim"
      local kept = {}
      sim.run(function()
        kept[1] = assert(sim.process.spawn { command = "sleep", args = { "31.4159" } })
        kept[2] = assert(sim.process.spawn { command = "sh",
          args = { "-c", "trap '' TERM; echo ready; exec sleep 31.4159" } })
        assert(kept[2]:read_line(5) == "ready")
        sim.process.spawn { command = "sleep", args = { "31.4159" } } -- forgotten at once
        local waiter = sim.daemon(function() return kept[1]:wait() end)
        assert(waiter)
        print("spawned " .. kept[1]:pid() .. " " .. kept[2]:pid())
      end)
    ]], ".lua")
    local t0 = os.time()
    local r = support.run_cli { script }
    os.remove(script)
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("spawned %d+ %d+", r.stdout)
    assert.is_true(os.time() - t0 < 10)
    assert.are.same({}, pids_of(marker))
    for pid in r.stdout:gmatch("%d+") do
      assert.is_false(core.process_alive(tonumber(pid)))
    end
  end)
end)
