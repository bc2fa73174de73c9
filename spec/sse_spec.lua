-- core.sse_new: the C Server-Sent Events decoder seen from Lua.
local core = require "gofr_sim.core"

describe("core.sse", function()
  -- Feeds the chunks in order, then finishes; returns all events, the finish
  -- result and the parser.
  local function decode(chunks, max_bytes)
    local p = core.sse_new(max_bytes)
    local all = {}
    for _, chunk in ipairs(chunks) do
      local evs, err, msg = p:feed(chunk)
      assert(evs, msg)
      assert.is_nil(err)
      for _, e in ipairs(evs) do all[#all + 1] = e end
    end
    return all, p:finish(), p
  end

  local function ev(data, type, id, retry)
    return { type = type or "message", data = data, id = id or "", retry = retry }
  end

  it("decodes a gofr-dig reply (CRLF line ends)", function()
    local json = '{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"{}"}],"isError":false}}'
    local p = core.sse_new()
    local evs = p:feed("event: message\r\ndata: " .. json .. "\r\n\r\n")
    assert.are.same({ ev(json) }, evs)
    assert.is_nil(evs[1].retry)
    assert.is_false(p:finish())
    assert.matches("^gofr_sim.sse %(events 1%)$", tostring(p))
  end)

  it("returns a new, empty array when no event completes", function()
    local p = core.sse_new()
    local a = p:feed("data: par")
    local b = p:feed("tial")
    assert.are.same({}, a)
    assert.are.same({}, b)
    assert.are_not.equal(a, b)
    assert.are.same({ ev("partial"), ev("next") }, p:feed("\n\ndata: next\n\n"))
  end)

  it("accepts LF, CRLF and CR line ends, mixed", function()
    local want = { ev("1\n2", "a"), ev("3") }
    for _, s in ipairs {
      "event: a\ndata: 1\ndata: 2\n\ndata: 3\n\n",
      "event: a\r\ndata: 1\r\ndata: 2\r\n\r\ndata: 3\r\n\r\n",
      "event: a\rdata: 1\rdata: 2\r\rdata: 3\r\r",
      "event: a\rdata: 1\r\ndata: 2\n\r\ndata: 3\r\n\n",
    } do
      assert.are.same(want, (decode { s }))
    end
  end)

  it("joins a CRLF split between feeds", function()
    local evs, pending = decode { "data: a\r", "\ndata: b\r", "\n\r", "\n", "data: c\r", "\r", "\n" }
    assert.are.same({ ev("a\nb"), ev("c") }, evs)
    assert.is_false(pending)
  end)

  it("strips one space after the colon and joins data lines", function()
    assert.are.same({ ev("x"), ev("x"), ev(" x "), ev("a:b: c"), ev("a\nb\n\n\n c"), ev("") },
      (decode {
        "data:x\n\ndata: x\n\ndata:  x \n\ndata: a:b: c\n\n",
        "data: a\ndata:b\ndata\ndata:\ndata:  c\n\n",
        "data\n\n",
      }))
  end)

  it("handles event types and ignores unknown fields", function()
    local evs = decode {
      "event: ping\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n",
      "event: lost\n\nfoo: bar\nData: x\ndata : y\ndata: z\n\n",
    }
    assert.are.same({ ev("1", "ping"), ev("2"), ev("3"), ev("z") }, evs)
  end)

  it("ignores and counts comments", function()
    local evs, pending, p = decode {
      ": keepalive\n\n", ": ping - 2026-11-25\r\n\r\n", "data: a\n:x\ndata: b\n\n",
    }
    assert.are.same({ ev("a\nb") }, evs)
    assert.is_false(pending)
    assert.are.equal(3, p:comments())
  end)

  it("dispatches the MCP priming event (id, retry, empty data)", function()
    local reply = '{"jsonrpc":"2.0","id":1,"result":{}}'
    local evs, pending, p = decode {
      "id: s1-0\r\nretry: 3000\r\ndata: \r\n\r\n",
      "event: message\r\nid: s1-1\r\ndata: " .. reply .. "\r\n\r\n",
    }
    assert.are.same({ ev("", "message", "s1-0", 3000), ev(reply, "message", "s1-1", 3000) }, evs)
    assert.is_false(pending)
    assert.are.equal("s1-1", p:last_event_id())
    assert.are.equal(3000, p:retry())
  end)

  it("keeps the last event id across events and follows the id rules", function()
    local p = core.sse_new()
    assert.are.equal("", p:last_event_id())
    assert.is_nil(p:retry())
    assert.are.same({}, p:feed("id: 1\n\n"))    -- no data: not dispatched
    assert.are.equal("1", p:last_event_id())  -- but the id is taken
    assert.are.same({ ev("x", nil, "1"), ev("y", nil, "1") }, p:feed("data: x\n\ndata: y\n\n"))
    assert.are.same({ ev("z", nil, "1") }, p:feed("id: a\0b\ndata: z\n\n"))  -- NUL: ignored
    assert.are.same({ ev("w") }, p:feed("id\ndata: w\n\n"))  -- empty id clears it
    assert.are.same({}, p:feed("event: e\nid: 4\n\nid: 5\ndata: v\n"))
    assert.is_true(p:finish())               -- the incomplete event goes, its id too
    assert.are.equal("4", p:last_event_id())
    assert.are.same({ ev("u", nil, "4") }, p:feed("data: u\n\n"))
  end)

  it("takes retry only when it is all digits", function()
    local p = core.sse_new()
    for _, bad in ipairs { "retry: 1a\n", "retry: -5\n", "retry:\n", "retry:  5\n", "retry: 1.5\n" } do
      p:feed(bad)
      assert.is_nil(p:retry())
    end
    assert.are.same({ ev("a", nil, nil, 42) }, p:feed("retry: 0042\ndata: a\n\n"))
    p:feed("retry: x\n\n")
    assert.are.equal(42, p:retry())
  end)

  it("skips a leading BOM once, even split", function()
    assert.are.same({ ev("x") }, (decode { "\239\187\191data: x\n\n\239\187\191data: y\n\n" }))
    assert.are.same({ ev("w") }, (decode { "\239", "\187", "\191", "data: w\n\n" }))
    assert.are.same({ ev("u") }, (decode { "\239\187", "data: v\n\ndata: u\n\n" }))
  end)

  it("passes UTF-8 through, split inside a sequence", function()
    local s = "data: h\195\169llo \226\156\147 \240\159\152\128\n\n"
    for i = 1, #s - 1 do
      assert.are.same({ ev("h\195\169llo \226\156\147 \240\159\152\128") },
        (decode { s:sub(1, i), s:sub(i + 1) }))
    end
  end)

  it("gives the same events for any chunking of a stream", function()
    local s = "\239\187\191: hi\r\nid: p1\r\nretry: 1500\r\ndata: \r\n\r\n"
      .. "event: message\ndata: {\"t\":\"h\195\169\"}\n\n"
      .. "data: line1\rdata:line2\rdata\r\r: ping\r\n\r\n"
      .. "event: progress\r\nid: 2\r\nfoo: bar\r\ndata: a:b\r\ndata:  c\r\n\r\n"
      .. "id\n\nevent: x\nid: 3\n\nretry: 12x\nretry: 250\ndata: z\n\n\r\n\n\r"
      .. "data: tail\r\nid: 4"
    local want, want_pending = decode { s }
    assert.are.same({
      ev("", "message", "p1", 1500),
      ev('{"t":"h\195\169"}', "message", "p1", 1500),
      ev("line1\nline2\n", "message", "p1", 1500),
      ev("a:b\n c", "progress", "2", 1500),
      ev("z", "message", "3", 250),
    }, want)
    assert.is_true(want_pending)
    local bytes = {}
    for i = 1, #s do bytes[i] = s:sub(i, i) end
    local got, pending = decode(bytes)
    assert.are.same(want, got)
    assert.is_true(pending)
    for i = 0, #s do
      got, pending = decode { s:sub(1, i), s:sub(i + 1) }
      assert.are.same(want, got)
      assert.is_true(pending)
    end
    local seed = 12345
    local function rand(n) -- a small LCG: the spec needs no global RNG state
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed % n
    end
    for _ = 1, 300 do
      local chunks, at = {}, 1
      while at <= #s do
        local n = rand(20)
        chunks[#chunks + 1] = s:sub(at, at + n - 1)
        at = at + n
      end
      got, pending = decode(chunks)
      assert.are.same(want, got)
      assert.is_true(pending)
    end
  end)

  it("reports pending bytes at finish and starts a new stream", function()
    for s, pending in pairs {
      [""] = false,
      ["data: x\n\n"] = false,
      ["data: x\n\n: comment\n"] = false,
      ["data: x\n"] = true,
      ["data: x"] = true,
      ["data: x\n\n:partial"] = true,
      ["id: 1\n"] = true,
    } do
      local p = core.sse_new()
      p:feed(s)
      assert.are.equal(pending, p:finish(), s)
      assert.is_false(p:finish())
      assert.are.same({ ev("next") }, p:feed("\239\187\191data: next\n\n"))
    end
  end)

  it("fails with body_too_large past max_bytes, until reset", function()
    local p = core.sse_new(16)
    assert.are.same({ ev("0123456789") }, p:feed("data: 0123456789\n\n"))
    local evs, err, msg = p:feed("data: ok\n\ndata: 0123456789a\n\n")
    assert.is_nil(evs)
    assert.are.equal("body_too_large", err)
    assert.are.equal("sse: a line or an event's data exceeds max_bytes (16)", msg)
    assert.are.same({ nil, "body_too_large", msg }, { p:feed("data: y\n\n") })
    assert.are.same({ nil, "body_too_large", msg }, { p:finish() })
    p:reset()
    assert.are.same({ ev("y") }, p:feed("data: y\n\n"))
    -- A partial line fails before its end arrives; joined data counts too.
    assert.are.same({}, p:feed("data: 0123456789"))
    assert.are.equal("body_too_large", select(2, p:feed("a")))
    p:reset()
    assert.are.equal("body_too_large", select(2, p:feed("data: 0123456\ndata: 012345678\n\n")))
    -- The default is 16 MiB: a 1 MiB event is fine, in any chunking.
    local big = ("0123456789abcdef"):rep(65536)
    assert.are.same({ ev(big) }, (decode { "data: " .. big .. "\r\n\r\n" }))
    assert.are.same({ ev(big) }, (decode { "data: " .. big:sub(1, 1000), big:sub(1001) .. "\r", "\n\r\n" }))
  end)

  it("resets everything", function()
    local p = core.sse_new()
    p:feed("id: 9\nretry: 5\n: c\ndata: a\n\ndata: pending")
    p:reset()
    assert.are.equal("", p:last_event_id())
    assert.is_nil(p:retry())
    assert.are.equal(0, p:comments())
    assert.is_false(p:finish())
    assert.are.same({ ev("b") }, p:feed("data: b\n\n"))
  end)

  it("raises on bad arguments with clear messages", function()
    local bad = "sse_new: max_bytes must be a positive integer, got "
    assert.has_error(function() core.sse_new("16") end, bad .. "string")
    assert.has_error(function() core.sse_new(0) end, bad .. "0")
    assert.has_error(function() core.sse_new(1.5) end, bad .. "1.5")
    assert.has_error(function() core.sse_new(-1) end, bad .. "-1")
    assert.has_error(function() core.sse_new(0 / 0) end)
    local p = core.sse_new()
    assert.has_error(function() p:feed(42) end, "sse:feed: chunk must be a string, got number")
    assert.has_error(function() p:feed() end, "sse:feed: chunk must be a string, got no value")
    assert.has_error(function() p.feed({}, "x") end)
    assert.has_error(function() p.finish(core.hist_new()) end)
  end)

  it("selects events by type and needle, as tables or (data_only) their data strings", function()
    local stream = "event: message\ndata: {\"result\":1}\n\n"
      .. "event: ping\ndata: {\"result\":2}\n\n"
      .. "event: message\ndata: {\"other\":3}\n\n"
      .. "event: message\ndata: {\"error\":4}\n\n"
    local p = core.sse_new()
    p:select("message", { '"result"', '"error"' })
    local evs, dropped = p:feed(stream)
    assert.are.same({ ev('{"result":1}'), ev('{"error":4}') }, evs)
    assert.are.equal(2, dropped)
    p = core.sse_new()
    p:select("message", { '"result"', '"error"' }, true)
    evs, dropped = p:feed(stream)
    assert.are.same({ '{"result":1}', '{"error":4}' }, evs)
    assert.are.equal(2, dropped)
    p:reset() -- keeps the selection
    assert.are.same({ '{"error":4}' }, (p:feed("event: message\ndata: {\"error\":4}\n\n")))
    assert.has_error(function() p:select("message", {}, "yes") end)
  end)
end)
