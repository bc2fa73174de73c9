-- Issue 12: the embedded HTTP servers (sim.server, the fixture site, the
-- twin) under hostile clients, over real sockets on 127.0.0.1. The hostile
-- clients are raw non-blocking sockets (LuaJIT FFI) polled from personas,
-- so they run on the same loop as the servers; memory is VmRSS of this
-- process, loop stalls are the largest gap seen by a ticker persona.
local sim = require "gofr_sim"
local support = require "support"
local ffi = require "ffi"

for _, decl in ipairs {
  "int socket(int, int, int);",
  "int connect(int, const void *, unsigned int);",
  "int close(int);",
  "long send(int, const void *, unsigned long, int);",
  "long recv(int, void *, unsigned long, int);",
  "int setsockopt(int, int, int, const void *, unsigned int);",
  "int shutdown(int, int);",
  "struct gs_hard_sin { unsigned short family; unsigned short port; unsigned int addr; char z[8]; };",
} do pcall(ffi.cdef, decl) end

local C = ffi.C
local AF_INET, SOCK_STREAM, SOCK_NONBLOCK = 2, 1, 2048
local SOL_SOCKET, SO_RCVBUF, SHUT_WR = 1, 8, 1
local MSG_DONTWAIT, MSG_NOSIGNAL = 64, 16384
local EAGAIN, EINPROGRESS, ENOTCONN = 11, 115, 107
local recv_buf = ffi.new("char[?]", 1024 * 1024)

-- A raw client connection; `rcvbuf` shrinks its receive buffer.
local function raw_open(port, rcvbuf)
  local fd = C.socket(AF_INET, SOCK_STREAM + SOCK_NONBLOCK, 0)
  assert(fd >= 0, "socket")
  if rcvbuf then
    C.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, ffi.new("int[1]", rcvbuf), 4)
  end
  local sa = ffi.new("struct gs_hard_sin", { family = AF_INET, addr = 0x0100007f,
    port = bit.rshift(bit.bswap(port), 16) })
  local rc = C.connect(fd, sa, ffi.sizeof(sa))
  assert(rc == 0 or ffi.errno() == EINPROGRESS, "connect")
  return fd
end

-- Sends all of s (false once the server closed or reset).
local function raw_send(fd, s, timeout)
  local off, deadline = 0, sim.now() + (timeout or 5)
  while off < #s and sim.now() < deadline do
    local n = tonumber(C.send(fd, ffi.cast("const char *", s) + off, #s - off, MSG_NOSIGNAL))
    if n > 0 then
      off = off + n
    elseif ffi.errno() == EAGAIN or ffi.errno() == ENOTCONN then
      sim.sleep(0.002)
    else
      return false
    end
  end
  return off == #s
end

-- Reads until the server closes (or resets) or `timeout` passes; -> the
-- bytes, whether it closed, when.
local function raw_read(fd, timeout, want)
  local parts, got, deadline = {}, 0, sim.now() + timeout
  while sim.now() < deadline and not (want and got >= want) do
    local n = tonumber(C.recv(fd, recv_buf, 1024 * 1024, MSG_DONTWAIT))
    if n > 0 then
      parts[#parts + 1] = ffi.string(recv_buf, n)
      got = got + n
    elseif n == 0 or ffi.errno() ~= EAGAIN then
      return table.concat(parts), true, sim.now()
    else
      sim.sleep(0.005)
    end
  end
  return table.concat(parts), false, sim.now()
end

local function status_of(data)
  return tonumber(data:match("^HTTP/1%.1 (%d%d%d)"))
end

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local kib = f:read("*a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kib)
end

-- The largest gap between the wake-ups of a persona sleeping 10 ms, while
-- fn runs; -> fn's results are not kept, the gap in seconds.
local function with_ticker(fn)
  local gap, running = 0, true
  local ticker = sim.spawn(function()
    local last = sim.now()
    while running do
      sim.sleep(0.01)
      gap = math.max(gap, sim.now() - last)
      last = sim.now()
    end
  end)
  fn()
  running = false
  sim.wait(ticker)
  return gap
end

-- A chunked POST of "{}" with n trailer fields of `fill` bytes (issue 12 §1).
local function trailer_request(method, target, n, fill)
  local t = {}
  for i = 0, n - 1 do t[#t + 1] = ("T%d: %s\r\n"):format(i, ("v"):rep(fill)) end
  return method .. " " .. target .. " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
    .. "Content-Type: application/json\r\n"
    .. "Accept: application/json, text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
    .. "2\r\n{}\r\n0\r\n" .. table.concat(t) .. "\r\n"
end

-- Sends raw in pieces cut at pseudo-random points; -> status or 0 (closed).
local function send_cut(port, raw, rnd)
  local fd = raw_open(port)
  local off = 0
  while off < #raw do
    local n = rnd(1, 200)
    if not raw_send(fd, raw:sub(off + 1, off + n)) then break end
    off = off + n
    if rnd(1, 4) == 1 then sim.sleep(0.001) end
  end
  local data, closed = raw_read(fd, 5, nil)
  C.close(fd)
  assert(closed or status_of(data), "neither answered nor closed")
  return status_of(data) or 0
end

local function lcg(seed)
  return function(lo, hi)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return lo + seed % (hi - lo + 1)
  end
end

-- Issue 12 §1 against one server: the reported requests, then fuzzer-style
-- variants; every one answered or cleanly closed, then a normal request.
local function hammer_trailers(port, method, target, ok_statuses)
  local rnd = lcg(99)
  local seen = {}
  for _, n in ipairs { 14, 15, 40, 300 } do
    seen[#seen + 1] = send_cut(port, trailer_request(method, target, n, 1), rnd)
  end
  seen[#seen + 1] = send_cut(port, trailer_request(method, target, 1, 600), rnd)
  for _ = 1, 40 do
    seen[#seen + 1] = send_cut(port, trailer_request(method, target, rnd(0, 150), rnd(0, 400)), rnd)
  end
  for _, st in ipairs(seen) do
    assert.is_true(ok_statuses[st] or st == 431, "unexpected status " .. st)
  end
  return seen
end

describe("embedded HTTP servers under hostile clients (issue 12)", function()
  after_each(function()
    local s = sim.stats()
    assert.are.equal(0, s.live, "personas still alive")
  end)
  teardown(function() support.assert_clean() end)

  it("§1: trailers crash none of sim.server, the fixture site, the twin", function()
    local srv = assert(sim.server.listen { handler = function(req, res)
      local names = {}
      for k in pairs(req.headers) do names[#names + 1] = k end
      table.sort(names)
      res:send(200, nil, table.concat(names, ",") .. " " .. req.body)
    end })
    local site = assert(sim.fixtures.serve { root = support.fixtures_root })
    sim.run(function()
      local twin = assert(require("gofr_sim.twin").start { site = false })
      local st = hammer_trailers(srv.port, "POST", "/mcp/", { [200] = true })
      assert.are.equal(200, st[1])
      hammer_trailers(site.port, "GET", "/index.html", { [200] = true })
      hammer_trailers(site.port, "POST", "/mcp/", { [405] = true })
      hammer_trailers(twin.port, "POST", "/mcp/", { [200] = true, [400] = true, [406] = true })
      -- handlers see the real headers only, and the servers still serve
      local r = assert(sim.http.request { method = "POST", url = srv.url .. "/x", body = "{}" })
      assert.are.equal(200, r.status)
      assert.are.equal(200, assert(sim.http.get(site.url .. "/index.html")).status)
      twin:close()
    end)
    srv.close()
    support.close_site(site)
  end)

  it("answers 400 where RFC 9112 is strict", function()
    local srv = assert(sim.server.listen { handler = function(_, res) res:send(200, nil, "ok") end })
    local bad = {
      "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nX Y: z\r\n\r\n",
      "GET / HTTP/1.1\nHost: a\n\n",
      "GET / HTTP/1.1\r\nHost: a\n\r\n",
    }
    sim.run(function()
      local rnd = lcg(5)
      for _, raw in ipairs(bad) do assert.are.equal(400, send_cut(srv.port, raw, rnd)) end
      assert.are.equal(200, send_cut(srv.port, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", rnd))
    end)
    srv.close()
  end)

  it("§2: 300 slowloris connections are cut at header_timeout; normal traffic keeps its latency",
    function()
      local srv = assert(sim.server.listen { header_timeout = 1, handler = function(req, res)
        res:send(200, nil, req.path)
      end })
      local closed, worst, gap = 0, 0, nil
      sim.run(function()
        gap = with_ticker(function()
          local lorises = {}
          for i = 1, 300 do
            lorises[i] = sim.spawn(function()
              local fd = raw_open(srv.port)
              raw_send(fd, "GET / HTTP/1.1\r\n")
              local t0, data, shut = sim.now(), "", false
              while not shut and sim.now() - t0 < 4 do
                if not raw_send(fd, "X") then break end -- a byte every 0.2 s
                data, shut = raw_read(fd, 0.2)
              end
              if not shut then data, shut = raw_read(fd, 1) end
              C.close(fd)
              if shut and (data == "" or status_of(data) == 408) then closed = closed + 1 end
            end)
          end
          for _ = 1, 40 do -- normal traffic, side by side
            local t0 = sim.now()
            assert.are.equal(200, assert(sim.http.get(srv.url .. "/normal")).status)
            worst = math.max(worst, sim.now() - t0)
            sim.sleep(0.02)
          end
          for _, p in ipairs(lorises) do sim.wait(p) end
        end)
      end)
      assert.are.equal(300, closed)
      assert.is_true(worst < 0.5, "normal request took " .. worst)
      assert.is_true(gap < 0.3, "loop stalled " .. gap)
      print(("# 300 slowloris closed: %d; normal traffic worst %.3f s; loop gap %.3f s")
        :format(closed, worst, gap))
      assert.is_true(srv.connections() <= 1) -- sim.http's pooled keep-alive connection
      srv.close()
    end)

  it("§2: closes idle keep-alive connections at idle_timeout", function()
    local srv = assert(sim.server.listen { idle_timeout = 0.3, handler = function(_, res)
      res:send(200, nil, "ok")
    end })
    sim.run(function()
      local fd = raw_open(srv.port)
      raw_send(fd, "GET / HTTP/1.1\r\n\r\n")
      local t0 = sim.now()
      local data, closed, at = raw_read(fd, 3)
      C.close(fd)
      assert.are.equal(200, status_of(data))
      assert.is_true(closed)
      assert.is_true(at - t0 >= 0.25 and at - t0 < 2, "closed after " .. (at - t0))
    end)
    srv.close()
  end)

  it("§2: cuts a stalled write at write_timeout; a streaming handler sees false", function()
    local writes, saw_false = 0, false
    local srv = assert(sim.server.listen { write_timeout = 0.3, handler = function(_, res)
      local chunk = ("w"):rep(65536)
      res:start(200, { ["Content-Type"] = "text/plain" })
      while writes < 10000 and res:write(chunk) do writes = writes + 1 end
      saw_false = res.closed
    end })
    sim.run(function()
      local fd = raw_open(srv.port, 4096)
      raw_send(fd, "GET / HTTP/1.1\r\n\r\n")
      local t0 = sim.now()
      while not saw_false and sim.now() - t0 < 5 do sim.sleep(0.02) end
      C.close(fd)
    end)
    srv.close()
    assert.is_true(saw_false)
    assert.is_true(writes < 400, writes .. " chunks of 64 KiB queued") -- 1 MiB mark + kernel buffers
  end)

  it("§2: over max_connections a new connection gets a clean 503", function()
    local srv = assert(sim.server.listen { max_connections = 5, handler = function(_, res)
      res:send(200, nil, "ok")
    end })
    sim.run(function()
      local held = {}
      for i = 1, 5 do
        held[i] = raw_open(srv.port)
        raw_send(held[i], "GET / HTTP/1.1\r\n\r\n")
        assert.are.equal(200, status_of((raw_read(held[i], 2, 10))))
      end
      local fd = raw_open(srv.port)
      raw_send(fd, "GET / HTTP/1.1\r\n\r\n")
      local data, closed = raw_read(fd, 5)
      C.close(fd)
      assert.are.equal(503, status_of(data))
      assert.matches("Connection: close", data, 1, true)
      assert.is_true(closed)
      assert.are.equal(5, srv.connections())
      for i = 1, 5 do C.close(held[i]) end
      local ok
      for _ = 1, 50 do
        sim.sleep(0.02)
        local r = sim.http.get(srv.url .. "/")
        ok = r and r.status == 200
        if ok then break end
      end
      assert.is_true(ok)
    end)
    srv.close()
  end)

  -- 16 clients that never read a 64 MiB answer (issue 12: 1 GB before).
  local function not_reading(url_port, target, check_all)
    local before = rss_kib()
    local grown, gap
    sim.run(function()
      gap = with_ticker(function()
        local fds = {}
        for i = 1, 16 do
          fds[i] = raw_open(url_port, 4096)
          raw_send(fds[i], "GET " .. target .. " HTTP/1.1\r\n\r\n")
        end
        sim.sleep(1)
        grown = rss_kib() - before
        if check_all then -- one reads at last and gets everything
          local data = raw_read(fds[1], 30, 64 * 1024 * 1024 + 1)
          assert.is_true(#data > 64 * 1024 * 1024, "got " .. #data)
        end
        for i = 1, 16 do C.close(fds[i]) end
        sim.sleep(0.1)
      end)
    end)
    return grown, gap
  end

  it("§2: back-pressure bounds what non-reading clients pin (sim.server res:send)", function()
    local big = ("b"):rep(64 * 1024 * 1024)
    local srv = assert(sim.server.listen { handler = function(_, res) res:send(200, nil, big) end })
    collectgarbage()
    local grown, gap = not_reading(srv.port, "/", true)
    print(("# sim.server: 16 non-reading clients of 64 MiB: RSS +%d KiB, loop gap %.3f s")
      :format(grown, gap))
    srv.close()
    assert.is_true(grown < 128 * 1024, "RSS grew " .. grown .. " KiB")
    assert.is_true(gap < 0.5, "loop stalled " .. gap)
  end)

  it("§2: back-pressure bounds what non-reading clients pin (res:write loop)", function()
    local chunk = ("c"):rep(1024 * 1024)
    local srv = assert(sim.server.listen { handler = function(_, res)
      res:start(200, nil)
      for _ = 1, 64 do if not res:write(chunk) then return end end
    end })
    collectgarbage()
    local grown = not_reading(srv.port, "/", false)
    srv.close()
    assert.is_true(grown < 128 * 1024, "RSS grew " .. grown .. " KiB")
  end)

  it("§2: back-pressure bounds what non-reading clients pin (fixture bytes=64 MiB)", function()
    local site = assert(sim.fixtures.serve { root = support.fixtures_root })
    collectgarbage()
    local grown, gap = not_reading(site.port, "/?bytes=67108864", true)
    print(("# fixtures: 16 non-reading clients of 64 MiB: RSS +%d KiB, loop gap %.3f s")
      :format(grown, gap))
    support.close_site(site)
    assert.is_true(grown < 128 * 1024, "RSS grew " .. grown .. " KiB")
  end)

  it("answers half-closed clients, pipelined requests included", function()
    local srv = assert(sim.server.listen { handler = function(req, res)
      sim.sleep(0.05)
      res:send(200, nil, "answer " .. req.path)
    end })
    sim.run(function()
      local fd = raw_open(srv.port)
      raw_send(fd, "GET /one HTTP/1.1\r\n\r\nGET /two HTTP/1.1\r\n\r\n")
      C.shutdown(fd, SHUT_WR)
      local data, closed = raw_read(fd, 3)
      C.close(fd)
      assert.is_true(closed)
      assert.matches("answer /one.*answer /two", data)
    end)
    srv.close()
  end)

  it("validates the limit options, naming them", function()
    local h = function() end
    assert.has_error(function() sim.server.listen { handler = h, header_timeout = 0 } end,
      "sim.server.listen: option 'header_timeout' must be a number of seconds from 0.001 to "
        .. "604800, got 0")
    assert.has_error(function() sim.server.listen { handler = h, max_connections = 1.5 } end,
      "sim.server.listen: option 'max_connections' must be an integer 1..9007199254740992, got 1.5")
    assert.has_error(function() sim.fixtures.serve { write_timeout = "x" } end,
      "sim.fixtures.serve: option 'write_timeout' must be a number, got string")
  end)
end)
