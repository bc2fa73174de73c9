-- Issue 12 §3-§5: the HTTP clients (sim.http, sim.mcp, the twin's page
-- fetcher) against hostile servers, over real sockets on 127.0.0.1. The
-- servers are sim.server handlers that generate their answers as they go
-- (res:write with back-pressure: nothing is ever held whole), or raw
-- non-blocking sockets (LuaJIT FFI) polled from personas where a server
-- must do what sim.server never does (a 100 KiB header line, a reset).
-- Memory is this process's peak RSS (VmHWM after a reset through
-- /proc/self/clear_refs, else the largest VmRSS a ticker saw) over the
-- RSS before (after a full GC and malloc_trim); loop stalls are the largest gap seen by a 10 ms ticker.
local sim = require "gofr_sim"
local support = require "support"
local fetch = require "gofr_sim.twin.fetch"
local cjson = require "cjson"
local ffi = require "ffi"

for _, decl in ipairs {
  "int socket(int, int, int);",
  "int bind(int, const void *, unsigned int);",
  "int listen(int, int);",
  "int accept4(int, void *, void *, int);",
  "int getsockname(int, void *, unsigned int *);",
  "int setsockopt(int, int, int, const void *, unsigned int);",
  "int close(int);",
  "int malloc_trim(unsigned long);",
  "long send(int, const void *, unsigned long, int);",
  "long recv(int, void *, unsigned long, int);",
  "struct gs_cli_sin { unsigned short family; unsigned short port; unsigned int addr; char z[8]; };",
  "struct gs_cli_linger { int onoff; int linger; };",
} do pcall(ffi.cdef, decl) end

local C = ffi.C
local AF_INET, SOCK_STREAM, SOCK_NONBLOCK = 2, 1, 2048
local SOL_SOCKET, SO_LINGER = 1, 13
local MSG_DONTWAIT, MSG_NOSIGNAL, EAGAIN = 64, 16384, 11

local KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
local DEFAULT_MAX = 64 * MiB -- sim.http's and sim.mcp's default max_body
local SANITIZED = os.getenv("GS_SANITIZED") ~= nil
local VERSION = "2025-06-18"

-- Memory and loop stalls -------------------------------------------------------

local function status_kib(key)
  local f = assert(io.open("/proc/self/status"))
  local kib = f:read("*a"):match(key .. ":%s*(%d+)")
  f:close()
  return tonumber(kib)
end

-- Resets VmHWM to the current RSS (Linux >= 4.0); false where refused.
local function reset_peak()
  local f = io.open("/proc/self/clear_refs", "w")
  if not f then return false end
  local ok = f:write("5")
  return f:close() and ok ~= nil
end

local figures = {} -- printed at the end: what docs/reliability.md quotes

local function report(line)
  figures[#figures + 1] = line
  print("# " .. line)
end

-- Under ASan the RSS says little: its allocator keeps up to 256 MiB of
-- freed blocks in a quarantine and copies on realloc (a 1 GiB stream cut at
-- 64 MiB costs +250 MiB of RSS there). So the bounds are asserted on the
-- live heap instead: the bytes malloc'd and not freed
-- (__sanitizer_get_current_allocated_bytes) plus LuaJIT's own heap, as the
-- ticker samples them; the RSS is still reported.
local live_bytes
if SANITIZED then
  pcall(ffi.cdef, "size_t __sanitizer_get_current_allocated_bytes(void);")
  local ok, allocated = pcall(function() return C.__sanitizer_get_current_allocated_bytes end)
  if ok then
    live_bytes = function() return tonumber(allocated()) + collectgarbage("count") * 1024 end
  end
end

-- Runs fn in this persona beside a ticker persona sleeping 10 ms at a time;
-- -> {peak = memory growth at the peak in KiB (RSS, or the live heap under
-- ASan), rss = RSS growth at the peak, gap = the ticker's largest gap in
-- seconds, secs = how long fn took}, then fn's results.
local function measure(fn)
  collectgarbage()
  collectgarbage()
  C.malloc_trim(0) -- free pages kept by malloc since earlier tests would hide growth
  local hwm = reset_peak()
  local base, base_live = status_kib("VmRSS"), live_bytes and live_bytes()
  local sampled, live, gap, running = base, base_live, 0, true
  local function sample()
    sampled = math.max(sampled, status_kib("VmRSS"))
    if live_bytes then live = math.max(live, live_bytes()) end
  end
  local ticker = sim.spawn(function()
    local last = sim.now()
    while running do
      sim.sleep(0.01)
      local now = sim.now()
      gap = math.max(gap, now - last)
      last = now
      sample()
    end
  end)
  local t0 = sim.now()
  local a, b, c = fn()
  local m = { secs = sim.now() - t0 }
  sample()
  running = false
  sim.wait(ticker)
  m.rss = math.max(sampled, hwm and status_kib("VmHWM") or 0) - base
  m.peak = live_bytes and (live - base_live) / 1024 or m.rss
  m.gap = gap
  return m, a, b, c
end

-- "peak RSS +x MiB" (under ASan: "peak live heap +y MiB (RSS +x MiB)")
local function memory(m)
  if not live_bytes then return ("peak RSS +%.1f MiB"):format(m.rss / 1024) end
  return ("peak live heap +%.1f MiB (RSS +%.1f MiB)"):format(m.peak / 1024, m.rss / 1024)
end

local function mib(kib) return kib / 1024 end

-- Hostile sim.server answers -------------------------------------------------

-- 256 KiB of pseudo-random letters; piece(i) is them rotated by a step per
-- i, so no two reads of a stream are alike: LuaJIT interns strings, and a
-- client keeping identical reads of a uniform stream would cost nothing, so
-- a memory bound would prove nothing.
local BASE = (function()
  local t, x = {}, 12345
  for i = 1, 256 * KiB do
    x = (x * 1103515245 + 12345) % 2147483648
    t[i] = string.char(97 + math.floor(x / 65536) % 26)
  end
  return table.concat(t)
end)()

local function piece(i)
  local r = i * 7919 % #BASE
  return BASE:sub(r + 1) .. BASE:sub(1, r)
end

-- Streams a chunked answer: `head`, then pieces up to `total` bytes in all
-- (the last one cut), waiting while the client does not read (res:write's
-- back-pressure); -> the bytes res:write took.
local function stream(res, ctype, head, total)
  if not res:start(200, { ["Content-Type"] = ctype, ["Mcp-Session-Id"] = "s-1" }) then return 0 end
  local sent, i = 0, 0
  if head ~= "" then
    if not res:write(head) then return 0 end
    sent = #head
  end
  while sent < total do
    i = i + 1
    local p = piece(i)
    if total - sent < #p then p = p:sub(1, total - sent) end
    if not res:write(p) then return sent end
    sent = sent + #p
    collectgarbage("step", 1024) -- the pieces are garbage once written: keep them off the peak
  end
  res:finish()
  return sent
end

local JSON = { ["Content-Type"] = "application/json", ["Mcp-Session-Id"] = "s-1" }

local function tool_result(id, text)
  return cjson.encode { jsonrpc = "2.0", id = id,
    result = { content = { { type = "text", text = text } } } }
end

local function init_result(id)
  return cjson.encode { jsonrpc = "2.0", id = id, result = {
    protocolVersion = VERSION, capabilities = {}, serverInfo = { name = "hostile", version = "0" } } }
end

-- A minimal MCP server's handler: the handshake, DELETE and notifications
-- are answered here, every other request by on_request(req, res, msg).
-- `log` (optional) gets "<method> <path> <JSON-RPC method>" per request.
local function mcp_handler(on_request, log)
  return function(req, res)
    local msg = req.body ~= "" and cjson.decode(req.body) or {}
    if log then log[#log + 1] = ("%s %s %s"):format(req.method, req.path, tostring(msg.method)) end
    if req.method == "DELETE" then return res:send(200, nil, "") end
    if msg.id == nil then return res:send(202, nil, "") end
    if msg.method == "initialize" then return res:send(200, JSON, init_result(msg.id)) end
    return on_request(req, res, msg)
  end
end

local function mcp_server(on_request, log)
  return assert(sim.server.listen { handler = mcp_handler(on_request, log) })
end

local function connect(srv, opts)
  local o = { protocol_version = VERSION, timeout = 30 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return sim.mcp.connect(srv.url .. "/mcp/", o)
end

-- Raw peers --------------------------------------------------------------------

local recv_buf = ffi.new("char[?]", 64 * KiB)

local function raw_send(fd, s)
  local off, deadline = 0, sim.now() + 5
  while off < #s and sim.now() < deadline do
    local n = tonumber(C.send(fd, ffi.cast("const char *", s) + off, #s - off, MSG_NOSIGNAL))
    if n > 0 then
      off = off + n
    elseif ffi.errno() == EAGAIN then
      sim.sleep(0.002)
    else
      return false
    end
  end
  return off == #s
end

-- One request's head and Content-Length body, or nil when the client went.
local function raw_request(fd)
  local data, deadline = "", sim.now() + 5
  while sim.now() < deadline do
    local head_end = data:find("\r\n\r\n", 1, true)
    if head_end then
      local len = tonumber(data:sub(1, head_end):lower():match("\ncontent%-length:%s*(%d+)")) or 0
      if #data >= head_end + 3 + len then
        return { head = data:sub(1, head_end + 1), body = data:sub(head_end + 4, head_end + 3 + len) }
      end
    end
    local n = tonumber(C.recv(fd, recv_buf, 64 * KiB, MSG_DONTWAIT))
    if n > 0 then
      data = data .. ffi.string(recv_buf, n)
    elseif n == 0 or ffi.errno() ~= EAGAIN then
      return nil
    else
      sim.sleep(0.002)
    end
  end
  return nil
end

-- Closes fd with SO_LINGER 0: the kernel sends RST instead of FIN.
local function raw_reset(fd)
  C.setsockopt(fd, SOL_SOCKET, SO_LINGER, ffi.new("struct gs_cli_linger", { 1, 0 }),
    ffi.sizeof("struct gs_cli_linger"))
  C.close(fd)
end

-- A listener on 127.0.0.1 whose connections each get one request read and
-- handed to answer(fd, request) in a persona of their own; answer writes
-- what it likes and closes (or resets) fd. -> {port=, url=, close()}; call
-- close() from the run that started it.
local function raw_peer(answer)
  local lfd = C.socket(AF_INET, SOCK_STREAM + SOCK_NONBLOCK, 0)
  local sa = ffi.new("struct gs_cli_sin", { family = AF_INET, addr = 0x0100007f })
  assert(C.bind(lfd, sa, ffi.sizeof(sa)) == 0, "bind")
  assert(C.listen(lfd, 64) == 0, "listen")
  C.getsockname(lfd, sa, ffi.new("unsigned int[1]", ffi.sizeof(sa)))
  local peer, open = { port = bit.rshift(bit.bswap(sa.port), 16) }, true
  peer.url = ("http://127.0.0.1:%d"):format(peer.port)
  local acceptor = sim.spawn(function()
    while open do
      local fd = C.accept4(lfd, nil, nil, SOCK_NONBLOCK)
      if fd >= 0 then
        sim.spawn(function()
          local req = raw_request(fd)
          if req then answer(fd, req) else C.close(fd) end
        end)
      else
        sim.sleep(0.002)
      end
    end
  end)
  function peer.close()
    open = false
    sim.wait(acceptor)
    C.close(lfd)
  end
  return peer
end

local function raw_response(status, headers, body)
  return ("HTTP/1.1 %d X\r\n%sContent-Length: %d\r\nConnection: close\r\n\r\n%s")
    :format(status, headers, #body, body)
end

-- An MCP server on raw sockets: the handshake is answered (one request per
-- connection), any other request by on_request(fd, msg), which must close fd.
local function raw_mcp_peer(on_request)
  return raw_peer(function(fd, req)
    local msg = req.body ~= "" and cjson.decode(req.body) or {}
    if msg.id == nil then
      raw_send(fd, raw_response(202, "", ""))
    elseif msg.method == "initialize" then
      raw_send(fd, raw_response(200, "Content-Type: application/json\r\nMcp-Session-Id: s-1\r\n",
        init_result(msg.id)))
    else
      return on_request(fd, msg)
    end
    C.close(fd)
  end)
end

-- Waits (up to 10 s) until flag() is true: the servers' personas finishing.
local function until_true(flag)
  local deadline = sim.now() + 10
  while not flag() and sim.now() < deadline do sim.sleep(0.01) end
  return flag()
end

describe("HTTP clients against hostile servers (issue 12 §3-§5)", function()
  after_each(function()
    assert.are.equal(0, sim.stats().live, "personas still alive")
  end)
  teardown(function()
    support.assert_clean()
    print("# figures (" .. (SANITIZED and "ASan" or "release") .. " build):")
    for _, line in ipairs(figures) do print("#   " .. line) end
  end)

  -- §3 SSE streams (first: its small bound is best measured before the
  -- big tests have grown the heaps) ----------------------------------------------

  it("§3 50 MB of tiny SSE events before the response: the call succeeds, memory and loop stay small",
    function()
      -- ~64 KiB blocks of sse-starlette's pings, typed events and progress
      -- notifications (numbered: no two blocks alike)
      local function block(k)
        local t = {}
        for j = 1, 256 do
          t[#t + 1] = ": ping - 2026-01-01 00:00:00.000000+00:00\r\n\r\nevent: ping\r\ndata: {}\r\n\r\n"
          t[#t + 1] = ('data: {"jsonrpc":"2.0","method":"notifications/progress","params":'
            .. '{"progressToken":1,"progress":%d}}\r\n\r\n'):format(k * 256 + j)
        end
        return table.concat(t)
      end
      local n_block = 2 * 256 -- events per block (comments are not events)
      local reps = math.ceil(50e6 / #block(1))
      local total = 0
      local done
      local srv = mcp_server(function(_, res, msg)
        res:start(200, { ["Content-Type"] = "text/event-stream" })
        for k = 1, reps do
          local b = block(k)
          total = total + #b
          if not res:write(b) then return end
        end
        res:write("event: message\r\ndata: " .. tool_result(msg.id, "after the flood") .. "\r\n\r\n")
        res:finish()
        done = true
      end)
      local m, r, ignored
      sim.run(function()
        local s = assert(connect(srv))
        local before = s.stats.ignored
        m, r = measure(function() return s:call("flooded", {}, { timeout = 20 }) end)
        ignored = s.stats.ignored - before
        s:close()
      end)
      srv.close()
      assert.is_true(done)
      assert.is_true(r.ok, r.message)
      assert.are.equal("after the flood", r.text)
      assert.are.equal(reps * n_block, ignored) -- every non-comment event seen and skipped
      report(("sim.mcp, %.1f MB of tiny SSE events (%d events) before the response: ok in %.2f s "
        .. "(%.0f MiB/s), %s, loop gap %.3f s")
        :format(total / 1e6, reps * n_block, m.secs, total / MiB / m.secs, memory(m), m.gap))
      assert.is_true(m.secs < 20, "took " .. m.secs .. " s")
      assert.is_true(m.peak < 32 * 1024, "memory grew " .. mib(m.peak) .. " MiB")
      assert.is_true(m.gap < 0.25, "loop stalled " .. m.gap .. " s")
    end)

  -- §3 sim.http ------------------------------------------------------------------

  describe("§3 sim.http's body limit", function()
    local srv, sent
    setup(function()
      srv = assert(sim.server.listen { handler = function(req, res)
        local total = tonumber(req.query:match("bytes=(%d+)"))
        sent = stream(res, "application/octet-stream", "", total)
      end })
    end)
    teardown(function() srv.close() end)
    before_each(function() sent = nil end)

    it("ends a 1 GiB chunked stream at the default 64 MiB: body_too_large, bounded memory, quickly",
      function()
        local m, res, err_type, msg
        sim.run(function()
          m, res, err_type, msg = measure(function()
            return sim.http.get(srv.url .. "/big?bytes=" .. GiB, { timeout = 30 })
          end)
          assert.is_true(until_true(function() return sent ~= nil end), "the server is still writing")
        end)
        assert.is_nil(res)
        assert.are.equal("body_too_large", err_type)
        assert.are.equal("response body exceeds max_body (67108864 bytes)", msg)
        -- the server was stopped near the limit, not at the end of the stream
        assert.is_true(sent >= DEFAULT_MAX and sent < DEFAULT_MAX + 32 * MiB, "server sent " .. sent)
        report(("sim.http, 1 GiB stream, default max_body: body_too_large after %.2f s, "
          .. "server sent %.1f MiB, %s, loop gap %.3f s"):format(m.secs, sent / MiB, memory(m), m.gap))
        assert.is_true(m.secs < 10, "took " .. m.secs .. " s")
        assert.is_true(m.peak < 160 * 1024, "memory grew " .. mib(m.peak) .. " MiB")
      end)

    it("max_body overrides the default, smaller and larger", function()
      local small, just_over, larger
      sim.run(function()
        -- smaller: the 1 GiB stream ends at 1 MiB
        small = { measure(function()
          return sim.http.get(srv.url .. "/big?bytes=" .. GiB, { max_body = MiB })
        end) }
        until_true(function() return sent ~= nil end)
        small.sent, sent = sent, nil
        -- a body 1 MiB over the default fails without max_body ...
        just_over = { sim.http.get(srv.url .. "/big?bytes=" .. (DEFAULT_MAX + MiB)) }
        until_true(function() return sent ~= nil end)
        sent = nil
        -- ... and arrives whole with a larger one
        larger = { measure(function()
          return sim.http.get(srv.url .. "/big?bytes=" .. (DEFAULT_MAX + MiB),
            { max_body = DEFAULT_MAX + 2 * MiB })
        end) }
        until_true(function() return sent ~= nil end)
      end)
      assert.is_nil(small[2])
      assert.are.equal("body_too_large", small[3])
      assert.are.equal("response body exceeds max_body (1048576 bytes)", small[4])
      assert.is_true(small.sent < 32 * MiB, "server sent " .. small.sent)
      assert.is_true(small[1].peak < 48 * 1024, "memory grew " .. mib(small[1].peak) .. " MiB")
      assert.are.equal("body_too_large", just_over[2])
      local res = larger[2]
      assert.is_table(res, larger[3])
      assert.are.equal(200, res.status)
      assert.are.equal(DEFAULT_MAX + MiB, #res.body)
      report(("sim.http, max_body 1 MiB on the 1 GiB stream: body_too_large after %.2f s, "
        .. "server sent %.1f MiB, %s; max_body 66 MiB: a 65 MiB body in %.2f s")
        :format(small[1].secs, small.sent / MiB, memory(small[1]), larger[1].secs))
    end)
  end)

  it("§3 a Content-Length over the limit fails before the body is read (sim.http, sim.mcp)", function()
    local res, err_type, msg, r
    sim.run(function()
      local peer = raw_mcp_peer(function(fd)
        raw_send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          .. "Content-Length: " .. GiB .. "\r\n\r\n" .. ("j"):rep(64 * KiB))
        sim.sleep(0.2)
        C.close(fd)
      end)
      res, err_type, msg = sim.http.post(peer.url .. "/mcp/", '{"id":1,"method":"x"}')
      local s = assert(sim.mcp.connect(peer.url .. "/mcp/", { protocol_version = VERSION }))
      r = s:call("declared", {})
      s:close()
      peer.close()
    end)
    assert.is_nil(res)
    assert.are.equal("body_too_large", err_type)
    assert.are.equal("response body exceeds max_body (67108864 bytes, by Content-Length)", msg)
    assert.are.equal("body_too_large", r.error_type)
    assert.are.equal("response body exceeds max_body (67108864 bytes, by Content-Length)", r.message)
  end)

  -- §3 sim.mcp -------------------------------------------------------------------

  describe("§3 sim.mcp's answer limit", function()
    local function hostile_call(kind, opts)
      local sent
      local srv = mcp_server(function(_, res, msg)
        if msg.params.name ~= "huge" then return res:send(200, JSON, tool_result(msg.id, "fine")) end
        local open = ('{"jsonrpc":"2.0","id":%d,"result":{"content":[{"type":"text","text":"')
          :format(msg.id)
        if kind == "json" then
          sent = stream(res, "application/json", open, GiB)
        else -- one SSE event whose data line never ends
          sent = stream(res, "text/event-stream", "event: message\r\ndata: " .. open, GiB)
        end
      end)
      local m, r, after
      sim.run(function()
        local s = assert(connect(srv, opts))
        m, r = measure(function() return s:call("huge", {}) end)
        assert.is_true(until_true(function() return sent ~= nil end), "the server is still writing")
        after = s:call("small", {}) -- the session survives
        s:close()
      end)
      srv.close()
      return m, r, sent, after
    end

    for _, kind in ipairs { "json", "sse" } do
      local what = kind == "json" and "a 1 GiB application/json answer"
        or "a 1 GiB SSE event"
      it(what .. " fails the call with body_too_large at 64 MiB, bounded memory", function()
        local m, r, sent, after = hostile_call(kind)
        assert.is_false(r.ok)
        assert.are.equal("body_too_large", r.error_type)
        assert.matches("exceeds max_b%a+ %(67108864", r.message)
        assert.is_true(sent >= DEFAULT_MAX - MiB and sent < DEFAULT_MAX + 32 * MiB,
          "server sent " .. sent)
        assert.is_true(after.ok, after.message)
        assert.are.equal("fine", after.text)
        report(("sim.mcp, %s: body_too_large after %.2f s, server sent %.1f MiB, "
          .. "%s, loop gap %.3f s"):format(what, m.secs, sent / MiB, memory(m), m.gap))
        assert.is_true(m.secs < 10, "took " .. m.secs .. " s")
        assert.is_true(m.peak < 160 * 1024, "memory grew " .. mib(m.peak) .. " MiB")
      end)
    end

    it("a 1 GiB error answer is http_500 with its start as the message, bounded memory", function()
      local sent
      local srv = mcp_server(function(_, res)
        res:start(500, { ["Content-Type"] = "text/plain" })
        res:write("Internal Server Error: ")
        sent = 23
        local i = 0
        while sent < GiB do
          i = i + 1
          if not res:write(piece(i)) then return end
          sent = sent + 256 * KiB
          collectgarbage("step", 1024)
        end
        res:finish()
      end)
      local m, r
      sim.run(function()
        local s = assert(connect(srv))
        m, r = measure(function() return s:call("fails", {}) end)
        until_true(function() return sent ~= nil and srv.connections() == 0 end)
        s:close()
      end)
      srv.close()
      assert.are.equal("http_500", r.error_type)
      assert.matches("^HTTP 500: Internal Server Error: [a-z]+$", r.message)
      assert.is_true(sent < 32 * MiB, "server sent " .. sent)
      report(("sim.mcp, a 1 GiB HTTP 500 answer: http_500 after %.2f s, server sent %.1f MiB, "
        .. "%s"):format(m.secs, sent / MiB, memory(m)))
      assert.is_true(m.peak < 48 * 1024, "memory grew " .. mib(m.peak) .. " MiB")
    end)

    it("connect's max_body lowers the limit", function()
      local m, r, sent = hostile_call("sse", { max_body = MiB })
      assert.are.equal("body_too_large", r.error_type)
      assert.matches("1048576", r.message)
      assert.is_true(sent < 32 * MiB, "server sent " .. sent)
      assert.is_true(m.peak < 48 * 1024, "memory grew " .. mib(m.peak) .. " MiB")
    end)
  end)

  -- §3 the twin's page fetcher ---------------------------------------------------

  it("§3 the twin's fetcher fails a 1 GiB page at fetch.MAX_BYTES with FETCH_ERROR, bounded memory",
    function()
      local sent
      local srv = assert(sim.server.listen { handler = function(_, res)
        sent = stream(res, "text/html; charset=utf-8", "<html><body><p>", GiB)
      end })
      local f = fetch.new { allow_private = true, delay = 0, retry_base = 0.01 }
      local m, page
      sim.run(function()
        m, page = measure(function() return f:get(srv.url .. "/page", { timeout = 30 }) end)
        until_true(function() return sent ~= nil end)
      end)
      srv.close()
      assert.are.equal(64 * MiB, fetch.MAX_BYTES)
      assert.is_false(page.ok)
      -- gofr-dig reads such a page until its timeout and fails with
      -- FETCH_ERROR; the twin fails the same way at once, without retrying
      assert.are.equal("FETCH_ERROR", page.error_code)
      assert.are.equal("Failed to fetch URL: Response body larger than max_bytes (67108864 bytes)",
        page.error)
      assert.are.equal(0, page.status_code)
      assert.are.equal(0, page.retries)
      assert.is_true(sent >= fetch.MAX_BYTES and sent < fetch.MAX_BYTES + 32 * MiB,
        "server sent " .. sent)
      report(("twin fetcher, 1 GiB page: FETCH_ERROR after %.2f s, server sent %.1f MiB, "
        .. "%s"):format(m.secs, sent / MiB, memory(m)))
      assert.is_true(m.secs < 10, "took " .. m.secs .. " s")
      assert.is_true(m.peak < 160 * 1024, "memory grew " .. mib(m.peak) .. " MiB")
    end)

  -- §3 SSE streams, continued ----------------------------------------------------------

  it("§3 a response on an SSE stream the server keeps open ends the call at the response", function()
    local kept_open
    local srv = mcp_server(function(_, res, msg)
      res:start(200, { ["Content-Type"] = "text/event-stream" })
      res:write("event: message\r\ndata: " .. tool_result(msg.id, "here") .. "\r\n\r\n")
      local t0 = sim.now()
      -- keep-alives, as sse-starlette sends them, until the client goes
      while sim.now() - t0 < 10 and res:write(": ping\r\n\r\n") do sim.sleep(0.05) end
      kept_open = sim.now() - t0
    end)
    local m, r, again
    sim.run(function()
      local s = assert(connect(srv))
      m, r = measure(function() return s:call("open", {}, { timeout = 5 }) end)
      again = s:call("open", {}, { timeout = 5 })
      s:close()
    end)
    srv.close()
    assert.is_true(r.ok, r.message)
    assert.are.equal("here", r.text)
    assert.is_true(again.ok, again.message)
    report(("sim.mcp, response on a stream kept open: ok after %.3f s (timeout 5 s); "
      .. "the server saw the client go after %.2f s"):format(m.secs, kept_open))
    assert.is_true(m.secs < 1, "took " .. m.secs .. " s")
    assert.is_true(kept_open < 2, "the stream stayed open " .. kept_open .. " s")
  end)

  it("§3 a stream of keep-alives that never answers ends at the call's timeout", function()
    local cancelled
    local mcp = mcp_handler(function(_, res)
      res:start(200, { ["Content-Type"] = "text/event-stream" })
      local t0 = sim.now()
      while sim.now() - t0 < 10 and res:write(": ping\r\n\r\n") do sim.sleep(0.02) end
    end)
    local srv = assert(sim.server.listen { handler = function(req, res)
      local msg = req.body ~= "" and cjson.decode(req.body) or {}
      if msg.method == "notifications/cancelled" then cancelled = true end
      return mcp(req, res)
    end })
    local m, r
    sim.run(function()
      local s = assert(connect(srv))
      m, r = measure(function() return s:call("never", {}, { timeout = 0.5 }) end)
      s:close()
    end)
    srv.close()
    assert.are.equal("network_timeout", r.error_type)
    assert.is_true(cancelled)
    report(("sim.mcp, keep-alives and no answer: network_timeout after %.3f s (timeout 0.5 s)")
      :format(m.secs))
    assert.is_true(m.secs >= 0.45 and m.secs < 1.5, "took " .. m.secs .. " s")
  end)

  -- §4 redirects ---------------------------------------------------------------------

  describe("§4 sim.mcp and redirects", function()
    local foreign, foreign_log
    before_each(function()
      foreign_log = {}
      foreign = mcp_server(function(_, res, msg)
        res:send(200, JSON, tool_result(msg.id, "foreign"))
      end, foreign_log)
    end)
    after_each(function() foreign.close() end)

    for _, status in ipairs { 307, 308 } do
      it(status .. " to another port of 127.0.0.1 is refused: mcp_foreign_redirect, nothing sent there",
        function()
          local srv = assert(sim.server.listen { handler = function(_, res)
            res:send(status, { Location = foreign.url .. "/mcp/" }, "")
          end })
          local s, err_type, msg
          sim.run(function() s, err_type, msg = connect(srv) end)
          srv.close()
          assert.is_nil(s)
          assert.are.equal("mcp_foreign_redirect", err_type)
          assert.matches(("from http://127.0.0.1:%d to another origin (http://127.0.0.1:%d)")
            :format(srv.port, foreign.port), msg, 1, true)
          assert.matches("allow_foreign_redirects", msg, 1, true)
          assert.are.same({}, foreign_log)
        end)
    end

    it("follows the same-origin 307 /mcp -> /mcp/ (gofr-dig's) with the method and the body", function()
      local log, srv = {}, nil
      local mcp = mcp_handler(function(_, res, msg)
        res:send(200, JSON, tool_result(msg.id, "ok " .. msg.params.name))
      end, log)
      srv = assert(sim.server.listen { handler = function(req, res)
        if req.path == "/mcp" then -- starlette's absolute Location
          log[#log + 1] = req.method .. " /mcp -> 307"
          return res:send(307, { Location = srv.url .. "/mcp/" }, "")
        end
        mcp(req, res)
      end })
      local r
      sim.run(function()
        local s = assert(sim.mcp.connect(srv.url .. "/mcp", { protocol_version = VERSION }))
        r = s:call("echo", {})
        assert.is_true(s:close())
      end)
      srv.close()
      assert.is_true(r.ok, r.message)
      assert.are.equal("ok echo", r.text)
      assert.are.same({
        "POST /mcp -> 307", "POST /mcp/ initialize",
        "POST /mcp -> 307", "POST /mcp/ notifications/initialized",
        "POST /mcp -> 307", "POST /mcp/ tools/call",
        "DELETE /mcp -> 307", "DELETE /mcp/ nil",
      }, log)
      assert.are.same({}, foreign_log)
    end)

    it("allow_foreign_redirects = true follows the foreign one", function()
      local srv = assert(sim.server.listen { handler = function(_, res)
        res:send(307, { Location = foreign.url .. "/mcp/" }, "")
      end })
      local r
      sim.run(function()
        local s = assert(connect(srv, { allow_foreign_redirects = true }))
        r = s:call("where", {})
        s:close()
      end)
      srv.close()
      assert.is_true(r.ok, r.message)
      assert.are.equal("foreign", r.text)
      assert.are.same({ "POST /mcp/ initialize", "POST /mcp/ notifications/initialized",
        "POST /mcp/ tools/call", "DELETE /mcp/ nil" }, foreign_log)
    end)

    it("the notifications/cancelled of a timed-out call does not follow a foreign 307", function()
      local mcp = mcp_handler(function(_, res, msg)
        sim.sleep(0.5)
        if not res.closed then res:send(200, JSON, tool_result(msg.id, "late")) end
      end)
      local cancels = 0
      local srv = assert(sim.server.listen { handler = function(req, res)
        local msg = req.body ~= "" and cjson.decode(req.body) or {}
        if msg.method == "notifications/cancelled" then
          cancels = cancels + 1
          return res:send(307, { Location = foreign.url .. "/mcp/" }, "")
        end
        mcp(req, res)
      end })
      local r
      sim.run(function()
        local s = assert(connect(srv))
        r = s:call("slow", {}, { timeout = 0.1 })
        assert.is_true(s:close()) -- waits for the cancel
      end)
      srv.close()
      assert.are.equal("network_timeout", r.error_type)
      assert.are.equal(1, cancels)
      assert.are.same({}, foreign_log)
    end)
  end)

  -- §5 error types with the real cause ------------------------------------------------

  describe("§5 errors name their real cause", function()
    local big_header = "X-Big: " .. ("h"):rep(100 * KiB) .. "\r\n"

    it("a 100 KiB header line, or a 450 KiB header block, is network_protocol, not out_of_memory",
      function()
        local many = {} -- five lines under the line limit, over the block's
        for i = 1, 5 do many[i] = ("X-Part%d: %s\r\n"):format(i, ("p"):rep(90 * KiB)) end
        many = table.concat(many)
        local res, err_type, msg, s, et2, msg2, block
        sim.run(function()
          local peer = raw_peer(function(fd, req)
            local h = req.head:find("^GET /many") and many or big_header
            raw_send(fd, raw_response(200, h .. "Content-Type: application/json\r\n", "{}"))
            C.close(fd)
          end)
          res, err_type, msg = sim.http.get(peer.url .. "/")
          s, et2, msg2 = sim.mcp.connect(peer.url .. "/mcp/", { protocol_version = VERSION })
          block = { sim.http.get(peer.url .. "/many") }
          peer.close()
        end)
        assert.is_nil(res)
        assert.are.equal("network_protocol", err_type)
        assert.matches("^response header too large: ", msg)
        assert.matches("102400", msg, 1, true) -- libcurl's line limit
        assert.is_nil(s)
        assert.are.equal("network_protocol", et2)
        assert.matches("^response header too large: ", msg2)
        assert.is_nil(block[1])
        assert.are.equal("network_protocol", block[2])
        assert.matches("^response header too large: ", block[3])
        report("100 KiB header line: network_protocol, \"" .. msg .. "\"; 450 KiB header block: "
          .. block[2] .. ", \"" .. block[3] .. "\"")
      end)

    it("a connection reset mid-answer is network_error saying 'reset'", function()
      local res, err_type, msg, r
      sim.run(function()
        local peer = raw_peer(function(fd)
          raw_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" .. ("b"):rep(1000))
          sim.sleep(0.1) -- the client is waiting in poll when the RST comes
          raw_reset(fd)
        end)
        res, err_type, msg = sim.http.get(peer.url .. "/", { timeout = 5 })
        peer.close()
        local mcp = raw_mcp_peer(function(fd, m)
          raw_send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            .. "Transfer-Encoding: chunked\r\n\r\n"
            .. ("%x\r\n%s\r\n"):format(#": ping\r\n\r\n", ": ping\r\n\r\n"))
          sim.sleep(0.1)
          raw_reset(fd)
          assert(m.id)
        end)
        local s = assert(sim.mcp.connect(mcp.url .. "/mcp/", { protocol_version = VERSION }))
        r = s:call("reset", {}, { timeout = 5 })
        s:close()
        mcp.close()
      end)
      assert.is_nil(res)
      assert.are.equal("network_error", err_type)
      assert.matches("reset", msg, 1, true)
      assert.not_matches("select/poll", msg, 1, true)
      assert.are.equal("network_error", r.error_type)
      assert.matches("reset", r.message, 1, true)
      report("reset mid-answer: sim.http network_error \"" .. msg .. "\"; sim.mcp "
        .. r.error_type .. " \"" .. r.message .. "\"")
    end)

    it("an SSE event whose data is invalid JSON, then the stream's end, is mcp_protocol naming it",
      function()
        local data
        local srv = mcp_server(function(_, res, msg)
          data = tool_result(msg.id, "cut short"):sub(1, 60) -- a response cut mid-way
          res:start(200, { ["Content-Type"] = "text/event-stream" })
          res:write("event: message\r\ndata: " .. data .. "\r\n\r\n")
          res:finish()
        end)
        local r
        sim.run(function()
          local s = assert(connect(srv))
          r = s:call("broken", {}, { timeout = 5 })
          s:close()
        end)
        srv.close()
        assert.are.equal("mcp_protocol", r.error_type)
        assert.matches("the SSE stream ended without the response to request 2", r.message, 1, true)
        assert.matches("an event's data is not JSON", r.message, 1, true)
        assert.matches(data:sub(1, 40), r.message, 1, true)
        report("invalid JSON in an SSE event: mcp_protocol \"" .. r.message .. "\"")
      end)
  end)
end)
