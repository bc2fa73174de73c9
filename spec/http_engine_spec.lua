-- sim.http's engines (native HTTP/1.1 for http://, libcurl) and the re-send
-- rule they share: a request whose REUSED keep-alive connection closes
-- before any response byte is re-sent once on a new connection only when it
-- is idempotent (or retry_unsafe is set); a POST is not re-sent and fails
-- with network_reset; every re-send shows in the result
-- (connection_retries) and in the metrics (http.connection_retries).
local sim = require "gofr_sim"
local metrics = require "gofr_sim.engine.metrics"
local support = require "support"

-- A server that answers its requests with 200 "ok <n>" (n counts the
-- requests it read, by method) except the request numbered `drop_at`, which
-- it reads and then drops: the connection closes with no response byte.
local function dropping_server(drop_at)
  local seen = { total = 0 }
  local srv = assert(sim.server.listen {
    handler = function(req, res)
      seen.total = seen.total + 1
      seen[req.method] = (seen[req.method] or 0) + 1
      if seen.total == drop_at then return res:drop() end
      res:send(200, { ["content-type"] = "text/plain" }, "ok " .. seen.total)
    end,
  })
  return srv, seen
end

-- Two requests of `method` in a row on one persona (so the second finds the
-- first's kept-alive connection), the server dropping the second; -> the
-- two results ({res} or {nil, err_type, msg}) and what the server saw.
local function twice(engine, method, opts)
  local srv, seen = dropping_server(2)
  local results = sim.run(function()
    local out = {}
    for i = 1, 2 do
      local o = { method = method, url = srv.url .. "/r", engine = engine,
                  body = method == "POST" and '{"n":' .. i .. "}" or nil }
      for k, v in pairs(opts or {}) do o[k] = v end
      out[i] = { sim.http.request(o) }
    end
    return out
  end)
  support.close_site(srv)
  return results, seen
end

for _, engine in ipairs { "native", "curl" } do
  describe("sim.http on the " .. engine .. " engine", function()
    teardown(function() support.assert_clean() end)

    it("re-sends a GET once when its reused connection closes before any byte", function()
      local r, seen = twice(engine, "GET")
      local first, second = r[1][1], r[2][1]
      assert.are.equal(200, first.status)
      assert.are.equal(0, first.connection_retries)
      assert.is_table(second, tostring(r[2][2]) .. ": " .. tostring(r[2][3]))
      assert.are.equal(200, second.status)
      assert.are.equal("ok 3", second.body) -- the third request the server read
      assert.are.equal(1, second.connection_retries)
      assert.are.equal(3, seen.GET)
    end)

    it("does not re-send a POST: network_reset, and the server saw each POST once", function()
      local r, seen = twice(engine, "POST")
      assert.are.equal(200, r[1][1].status)
      local res, err_type, msg = r[2][1], r[2][2], r[2][3]
      assert.is_nil(res)
      assert.are.equal("network_reset", err_type)
      assert.matches("before any response byte", msg)
      assert.are.equal(2, seen.POST)
    end)

    it("re-sends a POST when the caller allows it (retry_unsafe)", function()
      local r, seen = twice(engine, "POST", { retry_unsafe = true })
      local second = r[2][1]
      assert.is_table(second, tostring(r[2][2]) .. ": " .. tostring(r[2][3]))
      assert.are.equal(200, second.status)
      assert.are.equal(1, second.connection_retries)
      assert.are.equal(3, seen.POST)
    end)

    it("reports a streamed request's re-send on its head (what sim.mcp reads)", function()
      local srv, seen = dropping_server(2)
      local core = require "gofr_sim.core"
      local heads = sim.run(function()
        local out = {}
        for i = 1, 2 do
          local res = assert(core.http_request { url = srv.url .. "/s", engine = engine, stream = true })
          local body = assert(res.stream:read())
          res.stream:close()
          out[i] = { retries = res.connection_retries, body = body }
        end
        return out
      end)
      support.close_site(srv)
      assert.are.same({ retries = 0, body = "ok 1" }, heads[1])
      assert.are.same({ retries = 1, body = "ok 3" }, heads[2])
      assert.are.equal(3, seen.GET)
    end)

    it("hands a streamed response's head over before its body's first byte", function()
      -- The server is another gofr-sim process: its head goes out at once,
      -- its body a second later (a silent SSE stream).
      local script = support.tmpfile([[
        local sim = require "gofr_sim"
        sim.run(function()
          local srv = assert(sim.server.listen { handler = function(_, res)
            res:start(200, { ["Content-Type"] = "text/event-stream" })
            sim.sleep(1)
            res:write("data: late\n\n")
            res:finish()
          end })
          io.stdout:write(srv.url, "\n")
          io.stdout:flush()
          sim.sleep(10)
        end)
      ]])
      local core = require "gofr_sim.core"
      local head_after, body = sim.run(function()
        local proc = assert(sim.process.spawn { command = support.bin, args = { script } })
        local url = assert(proc:read_line(10))
        local t0 = sim.now()
        local res = assert(core.http_request { url = url, engine = engine, stream = true })
        local after = sim.now() - t0
        local b = assert(res.stream:read())
        res.stream:close()
        proc:close(0)
        return after, b
      end)
      os.remove(script)
      assert.is_true(head_after < 0.5, ("the head came after %.3f s, with the body"):format(head_after))
      assert.are.equal("data: late\n\n", body)
    end)

    it("counts re-sends in the metrics as http.connection_retries", function()
      local srv = dropping_server(2)
      local reg = metrics.new()
      local previous = metrics.install(reg)
      sim.run(function()
        for _ = 1, 2 do sim.http.get(srv.url .. "/r", { engine = engine }) end
      end)
      metrics.install(previous)
      support.close_site(srv)
      local key = metrics.key("http.connection_retries", { tool = "http.get" })
      assert.is_table(reg.counters[key], "no http.connection_retries counter")
      assert.are.equal(1, reg.counters[key].value)
    end)
  end)
end

describe("core.http_bytes", function()
  it("counts the bytes written and read, the same on both engines", function()
    local core = require "gofr_sim.core"
    local srv = assert(sim.server.listen {
      handler = function(req, res)
        res:send(200, { ["content-type"] = "text/plain" }, ("x"):rep(#req.body + 1000))
      end,
    })
    local seen = {}
    for _, engine in ipairs { "native", "curl" } do
      local s0, r0 = core.http_bytes()
      local res = sim.run(function()
        return sim.http.post(srv.url .. "/p", ("b"):rep(10000), { engine = engine })
      end)
      local s1, r1 = core.http_bytes()
      assert.are.equal(11000, #res.body)
      seen[engine] = { s1 - s0, r1 - r0 }
      assert.is_true(s1 - s0 > 10000 and s1 - s0 < 10400, engine .. " sent " .. (s1 - s0))
      assert.is_true(r1 - r0 > 11000 and r1 - r0 < 11400, engine .. " received " .. (r1 - r0))
    end
    -- metered = false (the twin's own page fetches) leaves a request out
    for _, engine in ipairs { "native", "curl" } do
      local s0, r0 = core.http_bytes()
      local res = sim.run(function()
        return core.http_request { url = srv.url .. "/q", engine = engine, metered = false }
      end)
      local s1, r1 = core.http_bytes()
      assert.are.equal(200, res.status)
      assert.are.same({ 0, 0 }, { s1 - s0, r1 - r0 }, engine .. " counted an unmetered request")
    end
    support.close_site(srv)
    assert.are.same(seen.native, seen.curl)
  end)
end)

describe("the native engine's idle pool", function()
  it("keeps a connection for the next request without counting it as an open handle", function()
    local url, stop = support.fixtures_process() -- its sockets are not on our loop
    local first, handles, second, elapsed
    local t0 = sim.now()
    sim.run(function()
      first = sim.http.get(url .. "/index.html", { engine = "native" })
    end)
    elapsed = sim.now() - t0 -- the idle connection does not keep sim.run going
    handles = sim.stats().handles
    sim.run(function()
      second = sim.http.get(url .. "/index.html", { engine = "native" })
    end)
    stop()
    assert.are.equal(200, first.status)
    assert.is_false(first.reused)
    assert.are.equal(0, handles, "the idle pooled connection counted as an open handle")
    assert.is_true(elapsed < 1, ("sim.run took %.2f s"):format(elapsed))
    assert.are.equal(200, second.status)
    assert.is_true(second.reused, "the pooled connection was not reused")
  end)
end)

describe("sim.http engine choice", function()
  it("refuses an unknown engine, naming the option", function()
    local ok, err = pcall(sim.run, function()
      return sim.http.get("http://127.0.0.1:1/", { engine = "h3" })
    end)
    assert.is_false(ok)
    assert.matches("option 'engine' must be auto, curl or native, got 'h3'", err, 1, true)
    ok, err = pcall(sim.http.set_engine, "fast")
    assert.is_false(ok)
    assert.matches("engine must be auto, curl or native, got 'fast'", err, 1, true)
  end)

  it("refuses a bad GOFR_SIM_HTTP_ENGINE in one line, exit 2, and a bad --http-engine", function()
    local r = support.run_cli({ "--version" }, { env = { GOFR_SIM_HTTP_ENGINE = "h3" } })
    assert.are.equal(2, r.status, r.stderr)
    assert.are.equal("gofr-sim: GOFR_SIM_HTTP_ENGINE must be auto, curl or native, got 'h3'\n", r.stderr)
    local script = support.tmpfile('return { iteration = function() end }')
    r = support.run_cli({ script, "--http-engine", "h3" })
    os.remove(script)
    assert.are.equal(2, r.status, r.stderr)
    assert.matches("--http-engine must be one of auto, curl, native, got 'h3'", r.stderr, 1, true)
  end)

  it("refuses the native engine for https://", function()
    local ok, err = pcall(sim.run, function()
      return sim.http.get("https://127.0.0.1:1/", { engine = "native" })
    end)
    assert.is_false(ok)
    assert.matches("invalid request", err, 1, true)
  end)
end)
