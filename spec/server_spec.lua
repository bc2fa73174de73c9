-- sim.server: Lua handlers as personas on the engine's HTTP server, driven
-- with sim.http over real sockets on 127.0.0.1.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local support = require "support"

-- Starts a server; the caller closes it with close_server.
local function listen(handler, opts)
  opts = opts or {}
  opts.handler = handler
  return assert(sim.server.listen(opts))
end

-- Closes a server and lets the loop finish closing its handles.
local function close_server(srv)
  srv.close()
  sim.run(function() sim.sleep(0.01) end)
end

local function elapsed(t0)
  return sim.now() - t0
end

describe("sim.server", function()
  after_each(function()
    local s = sim.stats()
    assert.are.equal(0, s.live, "personas still alive")
    assert.are.equal(0, s.transfers, "transfers in flight")
  end)

  teardown(function()
    support.assert_clean()
  end)

  it("hands the handler method, target, path, query, headers and body", function()
    local seen
    local srv = listen(function(req, res)
      seen = req
      assert.is_true(core.in_persona())
      assert.is_true(res:send(201, { ["Content-Type"] = "text/plain", ["X-Two"] = { "a", "b" } },
        req.method .. " " .. req.path .. " " .. req.body))
    end)
    local res = sim.run(function()
      return sim.http.request {
        method = "PUT",
        url = srv.url .. "/a/b%20c?x=1&y=%2F",
        headers = { "X-Rep: 1", "X-Rep: 2", ["X-Custom"] = "Value" },
        body = "payload\0bytes",
      }
    end)
    close_server(srv)
    assert.are.equal(201, res.status)
    assert.are.equal("PUT /a/b%20c payload\0bytes", res.body)
    assert.are.equal("a, b", res.headers["x-two"])
    assert.are.equal("PUT", seen.method)
    assert.are.equal("/a/b%20c?x=1&y=%2F", seen.target)
    assert.are.equal("/a/b%20c", seen.path)
    assert.are.equal("x=1&y=%2F", seen.query)
    assert.are.equal("1, 2", seen.headers["x-rep"])
    assert.are.equal("Value", seen.headers["x-custom"])
    assert.are.equal("127.0.0.1:" .. srv.port, seen.headers.host)
    assert.are.equal("payload\0bytes", seen.body)
    assert.are.equal("http://127.0.0.1:" .. srv.port, srv.url)
  end)

  it("gives an empty query when the target has none, and the body limit answers 413", function()
    local seen
    local srv = listen(function(req, res)
      seen = req
      res:send(200, nil, "ok")
    end, { max_body = 16 })
    sim.run(function()
      assert.are.equal("ok", sim.http.get(srv.url .. "/plain").body)
      assert.are.equal("", seen.query)
      assert.are.equal("/plain", seen.path)
      local big = sim.http.post(srv.url .. "/big", string.rep("x", 17))
      assert.are.equal(413, big.status)
    end)
    close_server(srv)
  end)

  it("runs handlers concurrently: a sleeping handler does not block another request", function()
    local srv = listen(function(req, res)
      if req.path == "/slow" then sim.sleep(0.2) end
      res:send(200, nil, req.path)
    end)
    local slow_t, fast_t
    local t0 = sim.now()
    sim.run(function()
      local slow = sim.spawn(function()
        local r = sim.http.get(srv.url .. "/slow")
        slow_t = elapsed(t0)
        return r.body
      end)
      sim.sleep(0.02) -- the slow request is in its handler now
      local r = sim.http.get(srv.url .. "/fast")
      fast_t = elapsed(t0)
      assert.are.equal("/fast", r.body)
      assert.are.equal("/slow", sim.wait(slow))
    end)
    close_server(srv)
    assert.is_true(fast_t < 0.15, "fast request took " .. fast_t)
    assert.is_true(slow_t >= 0.2, "slow request took " .. slow_t)
    assert.is_true(fast_t < slow_t)
  end)

  it("serves 1,000 concurrent requests, each handler sleeping", function()
    local handled = 0
    local srv = listen(function(req, res)
      sim.sleep(0.1)
      handled = handled + 1
      res:send(200, { ["Content-Type"] = "text/plain" }, req.query)
    end)
    local ok = 0
    local t0 = sim.now()
    sim.run(function()
      local hs = {}
      for i = 1, 1000 do
        hs[i] = sim.spawn(function()
          local r, err_type, msg = sim.http.get(srv.url .. "/n?" .. i, { timeout = 20 })
          assert(r, msg or err_type)
          if r.status == 200 and r.body == tostring(i) then ok = ok + 1 end
        end)
      end
      for i = 1, #hs do sim.wait(hs[i]) end
    end)
    local took = elapsed(t0)
    close_server(srv)
    assert.are.equal(1000, ok)
    assert.are.equal(1000, handled)
    -- All sleep at once: far less than 1,000 x 0.1 s.
    assert.is_true(took < 10, "took " .. took)
  end)

  it("streams chunked SSE events that arrive whole", function()
    local events = {}
    for i = 1, 5 do
      events[i] = sim.server.sse_event {
        event = "message", id = tostring(i), data = '{"n":' .. i .. '}\nsecond line', crlf = true,
      }
    end
    local srv = listen(function(_, res)
      assert.is_true(res:start(200, { ["Content-Type"] = "text/event-stream",
        ["Cache-Control"] = "no-cache" }))
      for i = 1, #events do
        assert.is_true(res:write(events[i]))
        sim.sleep(0.01)
      end
      assert.is_true(res:finish())
    end)
    local res = sim.run(function() return sim.http.get(srv.url .. "/mcp/") end)
    close_server(srv)
    assert.are.equal(200, res.status)
    assert.are.equal("chunked", res.headers["transfer-encoding"])
    assert.are.equal("text/event-stream", res.headers["content-type"])
    assert.are.equal(table.concat(events), res.body)
    if core.sse_new then
      local parsed = assert(core.sse_new():feed(res.body))
      assert.are.equal(5, #parsed)
      for i, ev in ipairs(parsed) do
        assert.are.equal("message", ev.type)
        assert.are.equal(tostring(i), ev.id)
        assert.are.equal('{"n":' .. i .. '}\nsecond line', ev.data)
      end
    end
  end)

  it("feeds a streamed body to an SSE parser in C (stream:read_sse), waiting as read does", function()
    local srv = listen(function(_, res)
      res:start(200, { ["Content-Type"] = "text/event-stream" })
      res:write(sim.server.sse_event { event = "message", data = "one" })
      sim.sleep(0.02)
      res:write("event: skip\ndata: x\n\nevent: message\nda") -- an event split across writes
      sim.sleep(0.02)
      res:write("ta: two\n\n")
      res:finish()
    end)
    local got, waits, fed, ending, bad, bad_msg = {}, 0, 0, nil, nil, nil
    sim.run(function()
      local res = assert(core.http_request { url = srv.url .. "/", stream = true })
      local p = core.sse_new()
      p:select("message", {})
      while true do
        local events, dropped, n = res.stream:read_sse(p)
        while events == true do
          waits = waits + 1
          events, dropped, n = res.stream:read_sse(p)
        end
        assert(events, n)
        if events == "" then ending = events; break end
        fed = fed + n
        assert.is_number(dropped)
        for _, e in ipairs(events) do got[#got + 1] = e.data end
      end
      bad, bad_msg = pcall(res.stream.read_sse, res.stream, "not a parser")
      res.stream:close()
    end)
    close_server(srv)
    assert.are.same({ "one", "two" }, got)
    assert.is_true(waits >= 2, "waits " .. waits)
    assert.are.equal(#"event: message\ndata: one\n\n" + #"event: skip\ndata: x\n\nevent: message\nda"
      + #"ta: two\n\n", fed)
    assert.are.equal("", ending)
    assert.is_false(bad)
    assert.matches("gofr_sim.sse expected", bad_msg, 1, true)
  end)

  it("returns an SSE parser's error from stream:read_sse as nil, err_type, message", function()
    local srv = listen(function(_, res)
      res:start(200, { ["Content-Type"] = "text/event-stream" })
      res:write("data: " .. string.rep("x", 200) .. "\n\n")
      res:finish()
    end)
    local events, err_type, msg
    sim.run(function()
      local res = assert(core.http_request { url = srv.url .. "/", stream = true })
      repeat events, err_type, msg = res.stream:read_sse(core.sse_new(64)) until events ~= true
      res.stream:close()
    end)
    close_server(srv)
    assert.is_nil(events)
    assert.are.equal("body_too_large", err_type)
    assert.matches("exceeds max_bytes", msg, 1, true)
  end)

  it("stream:finish waits for the end (dropping the rest) or cuts the stream at its wait", function()
    local srv = listen(function(req, res)
      res:start(200, { ["Content-Type"] = "text/plain" })
      res:write("first")
      sim.sleep(req.path == "/slow" and 1 or 0.03)
      res:write(string.rep("x", 100000)) -- dropped by finish, however much
      res:finish()
    end)
    local out = {}
    sim.run(function()
      for _, path in ipairs { "/quick", "/slow" } do
        local res = assert(core.http_request { url = srv.url .. path, stream = true })
        assert.are.equal("first", res.stream:read())
        local t0 = sim.now()
        out[path] = { res.stream:finish(0.3), sim.now() - t0 }
        out[path].closed = select(2, pcall(res.stream.read, res.stream))
        assert.is_nil(res.stream:close()) -- closing again is harmless
      end
    end)
    close_server(srv)
    assert.is_true(out["/quick"][1])
    assert.is_true(out["/quick"][2] < 0.3)
    assert.is_false(out["/slow"][1]) -- cut at the wait
    assert.is_true(out["/slow"][2] >= 0.29 and out["/slow"][2] < 0.9, tostring(out["/slow"][2]))
    assert.matches("the stream is closed", out["/slow"].closed, 1, true)
    assert.are.equal(0, sim.stats().transfers)
  end)

  it("answers 500 when the handler raises, counting a script error", function()
    local srv = listen(function(req)
      error("handler broke on " .. req.path)
    end)
    local before = sim.stats().script_errors
    local res = sim.run(function() return sim.http.get(srv.url .. "/boom") end)
    close_server(srv)
    assert.are.equal(500, res.status)
    assert.are.equal(before + 1, sim.stats().script_errors)
  end)

  it("drops a started stream when the handler raises", function()
    local srv = listen(function(_, res)
      res:start(200, { ["Content-Type"] = "text/event-stream" })
      res:write(sim.server.sse_event { data = "one" })
      sim.sleep(0.01)
      error("stream broke")
    end)
    local before = sim.stats().script_errors
    local res, err_type = sim.run(function() return sim.http.get(srv.url .. "/") end)
    close_server(srv)
    assert.is_nil(res)
    assert.are.equal("network_protocol", err_type)
    assert.are.equal(before + 1, sim.stats().script_errors)
  end)

  it("answers 500 when the handler returns without answering", function()
    local srv = listen(function(req, res)
      if req.path == "/nothing" then return end
      -- started but not finished: the stream is ended for the handler
      res:start(200, { ["Content-Type"] = "text/plain" })
      res:write("partial")
    end)
    local before = sim.stats().script_errors
    sim.run(function()
      local res = sim.http.get(srv.url .. "/nothing")
      assert.are.equal(500, res.status)
      res = sim.http.get(srv.url .. "/started")
      assert.are.equal(200, res.status)
      assert.are.equal("partial", res.body)
    end)
    close_server(srv)
    assert.are.equal(before, sim.stats().script_errors)
  end)

  it("lets a streaming handler see the client go away (write -> false, res.closed)", function()
    local writes, closed_seen, ended = 0, nil, false
    local srv = listen(function(_, res)
      res:start(200, { ["Content-Type"] = "text/event-stream" })
      while res:write(sim.server.sse_event { data = "tick", crlf = true }) do
        writes = writes + 1
        sim.sleep(0.02)
      end
      closed_seen = res.closed
      assert.is_false(res:write("more"))
      assert.is_false(res:finish())
      ended = true
    end)
    local res, err_type = sim.run(function()
      return sim.http.get(srv.url .. "/stream", { timeout = 0.3 })
    end)
    assert.is_nil(res)
    assert.are.equal("network_timeout", err_type)
    assert.is_true(ended)
    assert.is_true(closed_seen)
    assert.is_true(writes >= 3)
    assert.are.equal(0, sim.stats().live)
    close_server(srv)
    support.assert_clean()
  end)

  it("drops the connection on res:drop (network_protocol for the client)", function()
    local after_drop
    local srv = listen(function(_, res)
      res:drop()
      after_drop = { res.closed, res:send(200, nil, "late") }
    end)
    local res, err_type = sim.run(function() return sim.http.get(srv.url .. "/drop") end)
    close_server(srv)
    assert.is_nil(res)
    assert.are.equal("network_protocol", err_type)
    assert.are.same({ true, false }, after_drop)
  end)

  it("raises on misuse: answering twice, writing before start, bad status or headers", function()
    local errs = {}
    local srv = listen(function(_, res)
      local function try(f, ...)
        local ok, err = pcall(f, res, ...)
        errs[#errs + 1] = ok and "no error" or err
      end
      try(res.write, "x")
      try(res.send, 42, nil, "")
      try(res.send, 200, { ["Bad Name"] = "v" }, "")
      try(res.send, 200, { ["X-Ok"] = "line\r\nbreak" }, "")
      try(res.send, 200, { ["X-Ok"] = true }, "")
      assert.is_true(res:send(200, nil, "fine"))
      try(res.send, 200, nil, "again")
      try(res.start, 200)
    end)
    local res = sim.run(function() return sim.http.get(srv.url .. "/") end)
    close_server(srv)
    assert.are.equal("fine", res.body)
    assert.matches("res:write: call res:start first", errs[1], 1, true)
    assert.matches("status must be an integer 100..999", errs[2], 1, true)
    assert.matches("bad header name 'Bad Name'", errs[3], 1, true)
    assert.matches("contains CR, LF or NUL", errs[4], 1, true)
    assert.matches("must be a string, a number or an array of strings", errs[5], 1, true)
    assert.matches("already sent", errs[6], 1, true)
    assert.matches("already sent", errs[7], 1, true)
  end)

  it("closes with handlers in flight: their sends return false", function()
    local outcomes = {}
    local srv
    srv = listen(function(_, res)
      sim.sleep(0.2)
      outcomes[#outcomes + 1] = { res.closed, res:send(200, nil, "too late") }
    end)
    sim.run(function()
      local clients = {}
      for i = 1, 3 do
        clients[i] = sim.spawn(function() return sim.http.get(srv.url .. "/" .. i) end)
      end
      sim.sleep(0.05)
      assert.are.equal(3, srv.connections())
      srv.close()
      for i = 1, 3 do
        local res, err_type = sim.wait(clients[i])
        assert.is_nil(res)
        assert.are.equal("network_protocol", err_type)
      end
    end)
    sim.run(function() sim.sleep(0.01) end)
    assert.are.same({ { true, false }, { true, false }, { true, false } }, outcomes)
    assert.are.equal(0, srv.connections())
    srv.close() -- twice is harmless
    support.assert_clean()
  end)

  it("refuses bad options and reports a port in use", function()
    assert.has_error(function() sim.server.listen { port = 0 } end,
      "sim.server.listen: option 'handler' (a function(req, res)) is required")
    assert.has_error(function() sim.server.listen { handler = print, prot = 1 } end)
    assert.has_error(function() sim.server.listen { handler = print, port = 70000 } end)
    local srv = listen(function(_, res) res:send(204, nil, "") end)
    local none, err_type, msg = sim.server.listen { handler = print, port = srv.port }
    assert.is_nil(none)
    assert.is_string(err_type)
    assert.matches("cannot listen", msg)
    close_server(srv)
  end)

  describe("sse_event", function()
    it("formats CRLF events like gofr-dig", function()
      assert.are.equal('event: message\r\ndata: {"a":1}\r\n\r\n',
        sim.server.sse_event { event = "message", data = '{"a":1}', crlf = true })
      assert.are.equal("id: 7\r\nevent: e\r\nretry: 1000\r\ndata: a\r\ndata: b\r\ndata: \r\ndata: c\r\n\r\n",
        sim.server.sse_event { id = "7", event = "e", retry = 1000, data = "a\nb\r\n\rc", crlf = true })
      assert.are.equal(": ping - now\r\n\r\n", sim.server.sse_event { comment = "ping - now", crlf = true })
    end)

    it("formats LF events by default", function()
      assert.are.equal("data: x\ndata: y\n\n", sim.server.sse_event { data = "x\ny" })
      assert.are.equal("event: message\ndata: \n\n",
        sim.server.sse_event { event = "message", data = "" })
    end)

    it("round-trips through the SSE decoder", function()
      if not core.sse_new then return end
      for _, crlf in ipairs { true, false } do
        local wire = sim.server.sse_event { event = "message", id = "1", data = "one\ntwo", crlf = crlf }
        local evs = assert(core.sse_new():feed(wire))
        assert.are.same({ { type = "message", id = "1", data = "one\ntwo" } }, evs)
      end
    end)

    it("refuses line breaks in single-line fields and unknown options", function()
      assert.has_error(function() sim.server.sse_event { event = "a\nb" } end,
        "sim.server.sse_event: option 'event' must not contain CR, LF or NUL")
      assert.has_error(function() sim.server.sse_event { id = "a\rb" } end)
      assert.has_error(function() sim.server.sse_event { date = "x" } end)
      assert.has_error(function() sim.server.sse_event { retry = -1 } end)
    end)
  end)
end)
