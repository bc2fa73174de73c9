-- Every server a command starts can be pinned to a port, through the
-- executable: `gofr-sim twin --fixtures-port N` serves its fixture site on N,
-- and a port already in use is one line naming the flag (twin --port,
-- twin --fixtures-port, fixtures --port, --metrics-listen), exit 1.
local sim = require "gofr_sim"
local support = require "support"

local q = support.shell_quote

-- Starts `gofr-sim <args...>` in the background; -> read() (its stdout and
-- stderr so far), stop() (SIGTERM, then waits up to 5 s for it to exit;
-- -> true when it did).
local function background(args)
  local log, pidfile = support.temp_path(".log"), support.temp_path(".pid")
  local quoted = {}
  for i, a in ipairs(args) do quoted[i] = q(a) end
  os.execute("bash -c " .. q(("%s %s >%s 2>&1 </dev/null & echo $! >%s")
    :format(q(support.bin), table.concat(quoted, " "), q(log), q(pidfile))))
  local pid = (support.read_file(pidfile) or ""):match("^%d+")
  os.remove(pidfile)
  local function read() return support.read_file(log) or "" end
  local function stop()
    local gone = false
    if pid then
      os.execute("kill " .. pid .. " 2>/dev/null")
      for _ = 1, 250 do
        if not support.sh_ok("kill -0 " .. pid .. " 2>/dev/null") then gone = true; break end
        os.execute("sleep 0.02")
      end
      if not gone then os.execute("kill -9 " .. pid .. " 2>/dev/null") end
    end
    os.remove(log)
    return gone
  end
  return read, stop
end

-- Waits up to 5 s for pattern in read(); -> the captures, or nil.
local function wait_for(read, pattern)
  for _ = 1, 250 do
    local found = { read():match(pattern) }
    if found[1] then return unpack(found) end
    os.execute("sleep 0.02")
  end
  return nil
end

local function get_status(url)
  local status
  sim.run(function()
    local res, err_type = sim.http.get(url, { timeout = 5 })
    status = res and res.status or err_type
  end)
  return status
end

describe("pinning the ports of the servers gofr-sim starts", function()
  after_each(function() support.assert_clean() end)

  it("gofr-sim twin --fixtures-port N serves the twin's fixture site on N", function()
    local port = support.closed_port()
    local read, stop = background { "twin", "--port", "0", "--fixtures-port", tostring(port) }
    local twin_url, site_url = wait_for(read, "twin: (http://%S+)  site: (http://%S+)/\n")
    local out = read()
    local site_status = site_url and get_status(site_url .. "/index.html")
    local twin_status = twin_url and get_status(twin_url)
    assert.is_true(stop(), "the twin did not stop on SIGTERM")
    assert.is_string(site_url, "no URL line: " .. out)
    assert.are.equal(("http://127.0.0.1:%d"):format(port), site_url)
    assert.are.equal(200, site_status)
    assert.is_number(twin_status) -- the MCP endpoint answers on its own port
  end)

  it("a port in use is one line naming the flag, exit 1", function()
    local held = assert(sim.fixtures.serve { root = support.fixtures_root })
    local p = held.port
    -- {argv, the whole line on stderr}
    local at = ("127.0.0.1:%d: address already in use (address_error)"):format(p)
    local cases = {
      { { "twin", "--port", "0", "--fixtures-port", p },
        ("twin: --fixtures-port %d: fixture site: cannot serve on %s"):format(p, at) },
      { { "twin", "--port", p }, ("twin: --port %d: cannot listen on %s"):format(p, at) },
      { { "fixtures", "--port", p }, ("--port %d: cannot serve on %s"):format(p, at) },
    }
    local results = {}
    for i, c in ipairs(cases) do
      local args = {}
      for j, a in ipairs(c[1]) do args[j] = tostring(a) end
      results[i] = support.run_cli(args)
    end
    local rate = support.run_cli { support.source_dir .. "/scenarios/rate_limit.lua",
      "--metrics-listen", "127.0.0.1:" .. p }
    support.close_site(held)
    for i, c in ipairs(cases) do
      assert.are.equal(1, results[i].status, table.concat(c[1], " ") .. ": " .. results[i].stderr)
      assert.are.equal("gofr-sim: " .. c[2] .. "\n", results[i].stderr)
    end
    assert.are.equal(2, rate.status, rate.stderr)
    assert.matches(("--metrics-listen: cannot listen on 127.0.0.1:%d: address already in use"):format(p),
      rate.stderr, 1, true)
  end)

  it("refuses a --fixtures-port out of range, naming it (exit 2)", function()
    local r = support.run_cli { "twin", "--fixtures-port", "70000" }
    assert.are.equal(2, r.status)
    assert.are.equal("gofr-sim: --fixtures-port must be 0..65535\n", r.stderr)
    r = support.run_cli { "twin", "--fixtures-port", "-1" }
    assert.are.equal(2, r.status)
    assert.matches("%-%-fixtures%-port", r.stderr)
  end)
end)
