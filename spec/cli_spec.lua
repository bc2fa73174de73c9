-- The gofr-sim executable: scripts, flags, bad input, signals, load.lua.
local support = require "support"

local run = support.run_cli
local LOAD = support.source_dir .. "/scenarios/load.lua"

local tmpfile = support.tmpfile

local function one_line(s)
  local n = select(2, s:gsub("\n", ""))
  return n == 1
end

describe("gofr-sim SCRIPT", function()
  it("runs a plain script that sees its flags, arg and the engine", function()
    local path = tmpfile([[
      local flags = ...
      local sim = require "gofr_sim"
      local v = sim.run(function() sim.sleep(0.01); return flags.name .. "/" .. flags[1] end)
      print(v, arg[0] ~= nil, arg[1], flags.dry_run)
      return 3
    ]])
    local r = run({ path, "pos", "--name", "alice", "--x=1", "--dry-run" })
    os.remove(path)
    assert.are.equal(3, r.status, r.stderr)
    assert.are.equal("alice/pos\ttrue\tpos\ttrue\n", r.stdout)
  end)

  it("finds the engine from any working directory", function()
    local path = tmpfile('print(require("gofr_sim")._VERSION)\n')
    local r = run({ path }, { cwd = "/" })
    os.remove(path)
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^%d+%.%d+%.%d+\n$", r.stdout)
  end)

  it("runs personas spawned at top level", function()
    local path = tmpfile([[
      local sim = require "gofr_sim"
      sim.spawn(function() sim.sleep(0.01); print("ran") end)
    ]])
    local r = run({ path })
    os.remove(path)
    assert.are.equal(0, r.status)
    assert.are.equal("ran\n", r.stdout)
  end)

  it("reports a missing script in one line, exit 2", function()
    local r = run({ "/nonexistent/x.lua" })
    assert.are.equal(2, r.status)
    assert.is_true(one_line(r.stderr))
    assert.matches("cannot open script '/nonexistent/x.lua'", r.stderr, 1, true)
  end)

  it("reports a syntax error with file and line, exit 2", function()
    local path = tmpfile("local x = = 1\n")
    local r = run({ path })
    os.remove(path)
    assert.are.equal(2, r.status)
    assert.is_true(one_line(r.stderr))
    assert.matches("syntax error: .*%.lua:1:", r.stderr)
  end)

  it("exits 1 with a traceback when the script raises", function()
    local path = tmpfile("error('kaput')\n")
    local r = run({ path })
    os.remove(path)
    assert.are.equal(1, r.status)
    assert.matches("kaput", r.stderr)
    assert.matches("traceback", r.stderr)
  end)

  it("reports a failing persona once with its location and keeps running", function()
    local path = tmpfile([[
      local sim = require "gofr_sim"
      local done = 0
      sim.run(function()
        for i = 1, 50 do
          sim.spawn(function() if i % 2 == 0 then error("even persona") end; done = done + 1 end)
        end
      end)
      print(done, sim.stats().script_errors)
    ]])
    local r = run({ path })
    os.remove(path)
    assert.are.equal(0, r.status)
    assert.are.equal("25\t25\n", r.stdout)
    local _, printed = r.stderr:gsub("persona %d+ failed: [^\n]*:%d+: even persona", "")
    assert.are.equal(1, printed)
    assert.matches("happened 25 times", r.stderr)
  end)
end)

describe("scenarios/load.lua", function()
  it("spends a request budget across personas and prints a summary", function()
    local r = run({ LOAD, "--protocol", "http", "--consumers", "3", "--rate", "200",
      "--total-requests", "30" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("30 requests, 0 errors in ", r.stdout, 1, true)
    assert.matches("30 iterations, 0 dropped, 0 script errors", r.stdout, 1, true)
    assert.matches("http.get +30 +0 ", r.stdout)
  end)

  it("stops at whichever comes first: the budget or the duration", function()
    local t0 = os.time()
    local r = run({ LOAD, "--protocol", "http", "--total-requests", "5", "--duration", "30s",
      "--rate", "100" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("5 requests, ", r.stdout, 1, true)
    assert.is_true(os.time() - t0 < 10)
    r = run({ LOAD, "--protocol", "http", "--consumers", "2", "--rate", "20", "--duration", "500ms" })
    assert.are.equal(0, r.status, r.stderr)
    local n = tonumber(r.stdout:match("(%d+) requests"))
    -- 2 personas x 20/s x 0.5 s = 20 requests, first one at once
    assert.is_true(n >= 18 and n <= 22, "requests " .. n)
  end)

  it("classifies errors by type against --target-url", function()
    local port = support.closed_port()
    local r = run({ LOAD, "--protocol", "http", "--total-requests", "4", "--target-url",
      ("http://127.0.0.1:%d/"):format(port) })
    assert.are.equal(1, r.status, r.stderr) -- nothing succeeded: an unhealthy run
    assert.matches("4 requests, 4 errors", r.stdout, 1, true)
    assert.matches("errors by type: network_connect 4", r.stdout, 1, true)
    assert.matches("FAIL: no request succeeded (4 of 4 failed: network_connect 4)", r.stdout, 1, true)
  end)

  local bad = {
    { { "--consumers", "2", "--duration", "1s", "--bogus", "1" }, "unknown flag --bogus" },
    { { "--duration", "10x" }, "--duration '10x' is not a duration" },
    { { "--duration", "1s", "--rate", "0" }, "--rate must be positive" },
    { { "--duration", "1s", "--rate", "-2" }, "--rate must be positive" },
    { { "--total-requests", "x" }, "--total-requests must be a whole number" },
    { { "--duration", "1s", "--target-url", "nope" }, "--target-url must be an http" },
    { { "--duration", "1s", "--protocol", "smtp" }, "--protocol must be one of http" },
  }
  for _, case in ipairs(bad) do
    it("refuses " .. table.concat(case[1], " ") .. " in one line, exit 2", function()
      local args = { LOAD }
      for _, a in ipairs(case[1]) do args[#args + 1] = a end
      local r = run(args)
      assert.are.equal(2, r.status)
      assert.is_true(one_line(r.stderr), r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end)
  end

  it("needs a stop condition in a scenario that sets none", function()
    local path = tmpfile("return { iteration = function() end }")
    local r = run({ path, "--consumers", "2" })
    os.remove(path)
    assert.are.equal(2, r.status)
    assert.is_true(one_line(r.stderr), r.stderr)
    assert.matches("a stop condition is required", r.stderr, 1, true)
  end)

  it("prints the summary and exits 130 on SIGINT", function()
    local t0 = os.time()
    local r = run({ LOAD, "--protocol", "http", "--consumers", "4", "--rate", "50", "--duration", "60s" },
      { signal = { name = "INT", after = 1.5 } })
    assert.are.equal(130, r.status, r.stderr)
    assert.matches("interrupted by SIGINT", r.stdout, 1, true)
    local n = tonumber(r.stdout:match("(%d+) requests"))
    assert.is_true(n > 50, "requests " .. tostring(n))
    assert.is_true(os.time() - t0 < 15)
  end)

  it("aborts at once on a second SIGINT, still printing the summary", function()
    local port_site = support.fixtures_root
    local path = tmpfile(([[
      local sim = require "gofr_sim"
      local site = assert(sim.fixtures.serve { root = %q })
      local outcome = sim.run(function()
        local h = sim.spawn(function() return sim.http.get(site.url .. "/?delay_ms=30000") end)
        local _, err_type = sim.wait(h)
        return err_type
      end)
      print("outcome", outcome, sim.stats().aborted)
    ]]):format(port_site))
    local t0 = os.time()
    local r = run({ path }, { signal = { name = "INT", after = 0.5, again = 0.5 } })
    os.remove(path)
    assert.are.equal(130, r.status, r.stderr)
    assert.matches("second signal, aborting now", r.stderr, 1, true)
    assert.are.equal("outcome\tnil\t2\n", r.stdout)
    assert.is_true(os.time() - t0 < 4, "the grace period (5 s) was not cut short")
  end)

  it("exits 143 on SIGTERM", function()
    local r = run({ LOAD, "--duration", "60s" }, { signal = { name = "TERM", after = 1 } })
    assert.are.equal(143, r.status, r.stderr)
    assert.matches("interrupted by SIGTERM", r.stdout, 1, true)
  end)
end)

describe("gofr-sim twin", function()
  it("serves until interrupted, printing its MCP and site URLs", function()
    local r = run({ "twin", "--port", "0", "--housekeeping-interval", "1s" },
      { signal = { name = "INT", after = 0.7 } })
    assert.are.equal(130, r.status, r.stderr)
    assert.matches("^twin: http://127%.0%.0%.1:%d+/mcp/  site: http://127%.0%.0%.1:%d+/\n$", r.stdout)
  end)

  it("refuses bad flags in one line, exit 2", function()
    for _, case in ipairs {
      { { "twin", "--port", "70000" }, "--port must be 0..65535" },
      { { "twin", "--jwt-secret-file", "/nonexistent/secret" },
        "--jwt-secret-file: JWT secret file /nonexistent/secret: cannot read: " },
      { { "twin", "--bogus", "1" }, "unknown flag --bogus" },
    } do
      local r = run(case[1])
      assert.are.equal(2, r.status, r.stderr)
      assert.is_true(one_line(r.stderr), r.stderr)
      assert.matches(case[2], r.stderr, 1, true)
    end
  end)
end)

describe("gofr-sim fixtures", function()
  it("serves until interrupted and prints its URL", function()
    local r = run({ "fixtures", "--root", support.fixtures_root },
      { signal = { name = "INT", after = 0.5 } })
    assert.are.equal(130, r.status, r.stderr)
    assert.matches("^http://127%.0%.0%.1:%d+/\n$", r.stdout)
  end)

  it("refuses a missing root in one line, exit 2", function()
    local r = run({ "fixtures", "--root", "/nonexistent" })
    assert.are.equal(2, r.status)
    assert.is_true(one_line(r.stderr), r.stderr)
    assert.matches("/nonexistent", r.stderr, 1, true)
  end)
end)

describe("gofr_sim.util.flags", function()
  local cli = require "gofr_sim.util.flags"

  it("parses durations with units", function()
    assert.are.equal(0.5, cli.duration("500ms"))
    assert.are.equal(30, cli.duration("30s"))
    assert.are.equal(300, cli.duration("5m"))
    assert.are.equal(3600, cli.duration("1h"))
    assert.are.equal(90, cli.duration("1.5m"))
    for _, bad in ipairs({ "10", "10x", "s", "-1s", "1 h 2", "" }) do
      local v, msg = cli.duration(bad)
      assert.is_nil(v, bad)
      assert.matches("is not a duration", msg)
    end
  end)

  it("splits flags, values and words", function()
    local f = cli.parse({ "x", "--a", "1", "--b=2", "--c", "--d-e", "w", "--f" }, 1)
    assert.are.same({ "x", a = "1", b = "2", c = true, d_e = "w", f = true }, f)
  end)

  it("validates against a spec, filling defaults", function()
    local spec = { n = { type = "integer", default = 4, min = 1 }, t = { type = "duration" } }
    assert.are.same({ n = 4, t = 0.25 }, cli.options({ t = "250ms" }, spec))
    local ok, e = pcall(cli.options, { n = "0" }, spec)
    assert.is_false(ok)
    assert.is_true(cli.is_usage_error(e))
    assert.are.equal("--n must be >= 1, got 0", e.message)
  end)
end)
