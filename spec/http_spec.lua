-- sim.http against the real fixture server on 127.0.0.1.
local sim = require "gofr_sim"
local support = require "support"

describe("sim.http", function()
  local site

  setup(function()
    site = assert(sim.fixtures.serve { root = support.fixtures_root })
  end)

  teardown(function()
    support.close_site(site)
    support.assert_clean()
  end)

  after_each(function()
    local s = sim.stats()
    assert.are.equal(0, s.live)
    assert.are.equal(0, s.transfers)
  end)

  it("GETs a page with status, lower-case headers, body and timings", function()
    local res = sim.run(function() return sim.http.get(site.url .. "/index.html") end)
    assert.are.equal(200, res.status)
    assert.matches("^text/html", res.headers["content-type"])
    assert.are.equal(#res.body, tonumber(res.headers["content-length"]))
    assert.matches("<title>", res.body)
    for _, phase in ipairs({ "dns", "connect", "tls", "ttfb", "total" }) do
      assert.is_number(res.timings[phase])
      assert.is_true(res.timings[phase] >= 0)
    end
    assert.is_true(res.timings.total > 0)
    assert.are.equal(site.url .. "/index.html", res.url)
  end)

  it("lower-cases header names and joins repeated ones with \", \", known names or not", function()
    local srv = assert(sim.server.listen {
      handler = function(_, res)
        res:send(200, { ["Content-Type"] = "text/plain", ["SET-COOKIE"] = { "a=1", "b=2" },
          ["X-Twice"] = { "x", "y" }, ETag = '"e1"', ["Retry-After"] = "5" }, "ok")
      end,
    })
    for _, engine in ipairs { "native", "curl" } do
      local res = sim.run(function() return sim.http.get(srv.url .. "/", { engine = engine }) end)
      assert.are.equal("text/plain", res.headers["content-type"], engine)
      assert.are.equal("a=1, b=2", res.headers["set-cookie"], engine)
      assert.are.equal("x, y", res.headers["x-twice"], engine)
      assert.are.equal('"e1"', res.headers.etag, engine)
      assert.are.equal("5", res.headers["retry-after"], engine)
      assert.is_nil(res.headers["SET-COOKIE"], engine)
    end
    support.close_site(srv)
  end)

  it("returns 4xx as a response, not an error", function()
    local res, err = sim.run(function() return sim.http.get(site.url .. "/nope.html") end)
    assert.is_nil(err)
    assert.are.equal(404, res.status)
    assert.are.equal("not_found", sim.http.status_error(res.status))
    local post = sim.run(function() return sim.http.post(site.url .. "/index.html", "x=1") end)
    assert.are.equal(405, post.status)
  end)

  it("follows redirects unless told not to", function()
    sim.run(function()
      local res = sim.http.get(site.url .. "/blog")
      assert.are.equal(200, res.status)
      assert.are.equal(1, res.redirects)
      assert.are.equal(site.url .. "/blog/", res.url)
      res = sim.http.get(site.url .. "/blog", { follow_redirects = false })
      assert.are.equal(301, res.status)
      assert.matches("/blog/$", res.headers.location)
    end)
  end)

  it("times out with network_timeout", function()
    local t0 = sim.now()
    local res, err_type, msg = sim.run(function()
      return sim.http.get(site.url .. "/index.html?delay_ms=3000", { timeout = 0.2 })
    end)
    assert.is_nil(res)
    assert.are.equal("network_timeout", err_type)
    assert.is_string(msg)
    local took = sim.now() - t0
    assert.is_true(took >= 0.19 and took < 1.5, "took " .. took)
  end)

  it("times out a connect that never completes, and keeps running", function()
    -- A listener with a full accept queue leaves the next connect pending.
    -- libcurl then closes the socket without our close callback and only
    -- afterwards says to stop watching it: the client must not re-arm it.
    local url, close = support.stalled_listener()
    local outcomes = sim.run(function()
      local out = {}
      for i = 1, 2 do out[i] = select(2, sim.http.get(url, { timeout = 0.3 })) end
      return out
    end)
    close()
    assert.are.same({ "network_timeout", "network_timeout" }, outcomes)
  end)

  it("reports a refused connection as network_connect", function()
    local port = support.closed_port()
    local res, err_type, msg = sim.run(function()
      return sim.http.get(("http://127.0.0.1:%d/"):format(port))
    end)
    assert.is_nil(res)
    assert.are.equal("network_connect", err_type)
    assert.matches("127.0.0.1", msg)
  end)

  it("reports a connection closed without an answer as network_protocol", function()
    local res, err_type = sim.run(function()
      return sim.http.get(site.url .. "/index.html?close=1")
    end)
    assert.is_nil(res)
    assert.are.equal("network_protocol", err_type)
  end)

  it("enforces max_body with body_too_large", function()
    sim.run(function()
      local res = sim.http.get(site.url .. "/x?bytes=5000")
      assert.are.equal(5000, #res.body)
      local none, err_type, msg = sim.http.get(site.url .. "/x?bytes=5000", { max_body = 1000 })
      assert.is_nil(none)
      assert.are.equal("body_too_large", err_type)
      assert.matches("1000", msg)
    end)
  end)

  it("receives a trickled body whole", function()
    local t0 = sim.now()
    local res = sim.run(function() return sim.http.get(site.url .. "/x?bytes=2000&slow_ms=300") end)
    assert.are.equal(2000, #res.body)
    assert.is_true(sim.now() - t0 >= 0.25)
  end)

  it("reuses keep-alive connections across requests and personas", function()
    sim.run(function()
      local first = sim.http.get(site.url .. "/index.html")
      local again = sim.http.get(site.url .. "/about.html")
      assert.is_true(again.reused)
      assert.are.equal(0, again.timings.connect)
      -- another persona, after this one is done with the connection
      local other = sim.wait(sim.spawn(function() return sim.http.get(site.url .. "/") end))
      assert.is_true(other.reused)
      assert.is_boolean(first.reused)
    end)
  end)

  it("runs 2,000 personas doing requests concurrently over reused connections", function()
    local ok, failed, reused = 0, {}, 0
    local t0 = sim.now()
    sim.run(function()
      for _ = 1, 2000 do
        sim.spawn(function()
          for _ = 1, 3 do
            local res, err_type, msg = sim.http.get(site.url .. "/about.html?delay_ms=20")
            if res and res.status == 200 then
              ok = ok + 1
              if res.reused then reused = reused + 1 end
            else
              failed[#failed + 1] = tostring(err_type) .. " " .. tostring(msg)
            end
          end
        end)
      end
    end)
    assert.are.same({}, failed)
    assert.are.equal(6000, ok)
    assert.is_true(reused >= 4000, "requests on a reused connection: " .. reused)
    -- 20 ms per request, 3 sequential requests: concurrency, not 6000 x 20 ms
    assert.is_true(sim.now() - t0 < 20, "took " .. (sim.now() - t0))
  end)

  describe("retry", function()
    it("retries 503 after Retry-After and shows each retry", function()
      local t0 = sim.now()
      local res = sim.run(function()
        return sim.http.get(site.url .. "/index.html?status=503&retry_after=1",
          { retry = { max_retries = 2, cap = 0.3 } })
      end)
      assert.are.equal(503, res.status)
      assert.are.equal(3, res.attempts)
      assert.are.same({ { status = 503, delay = 0.3 }, { status = 503, delay = 0.3 } }, res.retries)
      assert.is_true(sim.now() - t0 >= 0.6)
    end)

    it("does not retry statuses outside the list", function()
      local res = sim.run(function()
        return sim.http.get(site.url .. "/index.html?status=500", { retry = true })
      end)
      assert.are.equal(500, res.status)
      assert.are.equal(1, res.attempts)
    end)

    it("computes the old harness's delays", function()
      local p = { base = 1, cap = 30, jitter = 0 }
      local d = sim.http.retry_delay
      assert.are.same({ 1, 2, 4, 8 }, { d(p, 1), d(p, 2), d(p, 3), d(p, 4) })
      assert.are.equal(5, d({ base = 1, cap = 5, jitter = 0 }, 11))
      assert.are.equal(7, d(p, 1, "7"))
      assert.are.equal(5, d({ base = 1, cap = 5, jitter = 0 }, 1, "20"))
      assert.are.equal(2, d(p, 2, "garbage"))
      local now = sim.http.parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT")
      assert.are.equal(1445412480, now)
      assert.are.equal(12, d(p, 1, "Wed, 21 Oct 2015 07:28:12 GMT", now))
      assert.are.equal(0, d(p, 1, "Wed, 21 Oct 2015 07:27:00 GMT", now))
      local j = d({ base = 1, cap = 30, jitter = 0.5 }, 3, nil, nil, 0.5)
      assert.are.equal(3, j)
    end)
  end)

  describe("misuse", function()
    it("names the bad option", function()
      sim.run(function()
        assert.has_error(function() sim.http.request { url = site.url, tiemout = 1 } end)
        local function raised(fn, opts)
          local ok, err = pcall(fn, opts)
          assert.is_false(ok)
          return err
        end
        assert.matches("http_spec.lua:%d+: sim.http.request: unknown option 'tiemout'",
          raised(sim.http.request, { url = site.url, tiemout = 1 }))
        assert.matches("option 'url' must be an http",
          raised(sim.http.request, { url = "ftp://x" }), 1, true)
        assert.matches("option 'timeout' must be > 0",
          raised(sim.http.request, { url = site.url, timeout = -1 }), 1, true)
        assert.matches("unknown retry option 'tries'",
          raised(sim.http.request, { url = site.url, retry = { tries = 3 } }), 1, true)
      end)
    end)
  end)
end)
