-- gofr_sim.twin.fetch: gofr-dig's fetcher (SSRF guard, politeness delay,
-- retries, classification, robots.txt) against the fixture site and ad-hoc
-- Lua servers on 127.0.0.1, with the robots.txt rules (gofr_sim.twin.robots)
-- and URL parsing (gofr_sim.twin.urlparse) it uses. No test needs the
-- internet or a DNS server.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local fetch = require "gofr_sim.twin.fetch"
local robots_txt = require "gofr_sim.twin.robots"
local urlparse = require("gofr_sim.twin.urlparse").urlparse
local support = require "support"

-- A fetcher that may reach 127.0.0.1, with no politeness delay and short
-- back-offs, unless opts says otherwise.
local function new(opts)
  local o = { allow_private = true, delay = 0, retry_base = 0.01 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return fetch.new(o)
end

-- Runs fn as a persona; returns its results and the seconds it took.
local function timed(fn)
  local t0 = sim.now()
  local a, b, c = sim.run(fn)
  return sim.now() - t0, a, b, c
end

local function get(f, url, opts)
  return sim.run(function() return f:get(url, opts) end)
end

describe("twin.fetch", function()
  local site, srv
  local hits, seq, robots, seen_ua -- state of the ad-hoc server

  setup(function()
    site = assert(sim.fixtures.serve { root = support.fixtures_root })
    srv = assert(sim.server.listen {
      handler = function(req, res)
        hits[req.path] = (hits[req.path] or 0) + 1
        local p = req.path
        if p == "/robots.txt" then
          seen_ua = req.headers["user-agent"]
          res:send(robots.status, { ["Content-Type"] = "text/plain" }, robots.body)
        elseif p == "/seq" then -- answers the statuses of `seq` in turn, then 200
          local s = table.remove(seq, 1) or { 200 }
          res:send(s[1], s[2] or { ["Content-Type"] = "text/plain" }, "seq")
        elseif p == "/echo" then
          res:send(200, { ["Content-Type"] = "text/plain" },
            (req.headers["user-agent"] or "-") .. "|" .. (req.headers["x-test"] or "-"))
        elseif p == "/binary" then
          res:send(200, { ["Content-Type"] = "image/png" }, "\137PNG\r\n\26\n")
        elseif p == "/latin1" then
          res:send(200, { ["Content-Type"] = "text/html; charset=ISO-8859-1" }, "caf\233")
        elseif p:match("^/r/%d+$") then -- /r/N redirects to /r/N-1; /r/0 answers
          local n = tonumber(p:match("%d+"))
          if n == 0 then
            res:send(200, { ["Content-Type"] = "text/plain" }, "landed")
          else
            res:send(302, { Location = "/r/" .. (n - 1) }, "")
          end
        elseif p == "/loop" then
          res:send(302, { Location = "/loop" }, "")
        else
          res:send(404, { ["Content-Type"] = "text/plain" }, "no")
        end
      end,
    })
  end)

  before_each(function()
    hits, seq, seen_ua = {}, {}, nil
    robots = { status = 200, body = "" }
  end)

  after_each(function()
    local s = sim.stats()
    assert.are.equal(0, s.live, "personas still alive")
    assert.are.equal(0, s.transfers, "transfers in flight")
  end)

  teardown(function()
    srv.close()
    support.close_site(site)
    support.assert_clean()
  end)

  describe("classify", function()
    it("follows _classify_fetch_error's order", function()
      local c = fetch.classify
      assert.are.equal("URL_NOT_FOUND", c(404, "HTTP 404 Not Found"))
      assert.are.equal("URL_NOT_FOUND", c(404, "x", true)) -- 404 before the 429 flag
      assert.are.equal("ACCESS_DENIED", c(403, "HTTP 403 Forbidden"))
      assert.are.equal("RATE_LIMITED", c(429, "HTTP 429 Too Many Requests"))
      assert.are.equal("RATE_LIMITED", c(503, "HTTP 503 Service Unavailable", true))
      assert.are.equal("RATE_LIMITED", c(0, "HTTP error after 4 attempts: x", true))
      assert.are.equal("FETCH_ERROR", c(500, "connect timeout private internal"))
      assert.are.equal("FETCH_ERROR", c(503, "HTTP 503 Service Unavailable"))
      assert.are.equal("SSRF_BLOCKED", c(0, "URL resolves to a private/internal IP (10.0.0.1). "
        .. "Requests to internal networks are blocked for security."))
      assert.are.equal("SSRF_BLOCKED", c(0, "PRIVATE and INTERNAL timeout"))
      assert.are.equal("TIMEOUT_ERROR", c(0, "Connection timed out"))
      assert.are.equal("TIMEOUT_ERROR", c(0, "Request timeout"))
      assert.are.equal("TIMEOUT_ERROR", c(0, "Connection timeout to host http://x/"))
      assert.are.equal("CONNECTION_ERROR", c(0, "Cannot connect to host a:80 ssl:default [x]"))
      assert.are.equal("CONNECTION_ERROR", c(0, "Could not resolve hostname: a.invalid"))
      assert.are.equal("CONNECTION_ERROR", c(0, "DNS failure"))
      assert.are.equal("FETCH_ERROR", c(0, "HTTP error after 4 attempts: "))
      assert.are.equal("FETCH_ERROR", c(0, "Access to metadata.google.internal is blocked "
        .. "(cloud metadata endpoint)."))
      assert.are.equal("FETCH_ERROR", c(0, nil))
      assert.are.equal("FETCH_ERROR", c(nil, nil))
    end)

    it("words engine failures as aiohttp does", function()
      local url = "http://127.0.0.1:9/x"
      local t = fetch.client_error_text
      assert.are.equal("Connection timeout to host " .. url,
        t("network_timeout", "Connection timed out after 300 milliseconds", url))
      assert.are.equal("TIMEOUT_ERROR", fetch.classify(0, t("network_timeout",
        "Connection timed out after 300 milliseconds", url)))
      assert.are.equal("", t("network_timeout",
        "Operation timed out after 201 milliseconds with 0 bytes received", url))
      assert.are.equal("Cannot connect to host 127.0.0.1:9 ssl:default [Connect call failed "
        .. "('127.0.0.1', 9)]", t("network_connect", "Failed to connect to 127.0.0.1 port 9 "
        .. "after 0 ms: Couldn't connect to server (connection refused)", url))
      assert.are.equal("Cannot connect to host a.invalid:80 ssl:default [Name or service not known]",
        t("network_connect", "Could not resolve host: a.invalid", "http://a.invalid/"))
      assert.are.equal("Server disconnected", t("network_protocol", "Empty reply from server", url))
    end)
  end)

  describe("helpers", function()
    it("reads GOFR_DIG_ALLOW_PRIVATE_URLS as gofr-dig does", function()
      for _, v in ipairs { "1", "true", "TRUE", "True" } do
        assert.is_true(fetch.allow_private_from_env(v), v)
      end
      for _, v in ipairs { "0", "false", "yes", "", " true", "true ", "01" } do
        assert.is_false(fetch.allow_private_from_env(v), v)
      end
      assert.is_false(fetch.allow_private_from_env(nil))
    end)

    it("parses URLs like urllib.parse.urlparse", function()
      local u = urlparse("HTTP://user:pw@Example.COM:8080/a/b;p?q=1#frag")
      assert.are.same({ scheme = "http", netloc = "user:pw@Example.COM:8080", path = "/a/b",
        query = "q=1", hostname = "example.com" }, u)
      assert.are.equal("::1", urlparse("http://[::1]:80/").hostname)
      assert.is_nil(urlparse("http:///x").hostname)
      assert.are.equal("ftp", urlparse("ftp://h/").scheme)
      assert.are.equal("", urlparse("example.com/x").scheme)
      assert.is_nil(urlparse("http://[::1/"))
    end)

    it("reads Retry-After as Python's int()", function()
      local p = fetch.parse_retry_after
      assert.are.equal(2, p("2"))
      assert.are.equal(12, p(" 12 "))
      assert.are.equal(1000, p("1_000"))
      assert.are.equal(-1, p("-1"))
      assert.is_nil(p("1.5"))
      assert.is_nil(p("1__0"))
      assert.is_nil(p("Wed, 21 Oct 2015 07:28:00 GMT"))
      assert.is_nil(p(nil))
    end)

    it("finds what Python's strict UTF-8 decoder refuses, in its words", function()
      local e = fetch.utf8_error
      assert.is_nil(e("plain"))
      assert.is_nil(e("中文 日本語 \240\159\152\128"))
      assert.are.equal("'utf-8' codec can't decode byte 0x89 in position 0: invalid start byte",
        e("\137PNG"))
      assert.are.equal("'utf-8' codec can't decode byte 0xff in position 2: invalid start byte",
        e("ab\255"))
      assert.are.equal("'utf-8' codec can't decode bytes in position 0-1: unexpected end of data",
        e("\228\184"))
      assert.are.equal("'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte",
        e("\228\184A"))
      assert.are.equal("'utf-8' codec can't decode byte 0xe0 in position 0: invalid continuation "
        .. "byte", e("\224\128\128"))
      assert.are.equal("'utf-8' codec can't decode byte 0xed in position 1: invalid continuation "
        .. "byte", e("a\237\160\128")) -- a surrogate
      assert.are.equal("'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte",
        e("\192\175")) -- overlong
    end)

    it("validates options, naming them", function()
      assert.has_error(function() fetch.new { bogus = 1 } end)
      assert.matches("delay", select(2, pcall(fetch.new, { delay = -1 })))
      assert.matches("max_retries", select(2, pcall(fetch.new, { max_retries = 1.5 })))
      assert.matches("headers", select(2, pcall(fetch.new, { headers = { X = 1 } })))
      assert.matches("rng", select(2, pcall(fetch.new, { rng = {} })))
      local f = new()
      assert.matches("timeout", select(2, pcall(f.get, f, "http://x/", { timeout = 0 })))
      assert.matches("max_bytes", select(2, pcall(f.get, f, "http://x/", { max_bytes = 0 })))
      assert.matches("url", select(2, pcall(f.get, f, 42)))
      assert.matches("persona", select(2, pcall(f.get, f, "http://x/")))
      assert.matches("persona", select(2, pcall(f.robots_allowed, f, "http://x/")))
    end)
  end)

  describe("robots.txt rules (gofr-dig's RobotsParser)", function()
    local function allowed(text, path)
      return robots_txt.path_allowed(robots_txt.parse(text), "http://h" .. path)
    end

    it("lets the longest matching rule win, Allow on a tie", function()
      local t = "User-agent: *\nDisallow: /a\nAllow: /a/b\n"
      assert.is_true(allowed(t, "/a/b/c"))
      assert.is_false(allowed(t, "/a/c"))
      assert.is_false(allowed(t, "/a"))
      assert.is_true(allowed(t, "/b"))
      assert.is_true(allowed("User-agent: *\nDisallow: /x\nAllow: /x\n", "/x"))
      assert.is_true(allowed("User-agent: *\nAllow: /x\nDisallow: /x\n", "/x"))
      -- a longer Disallow beats a shorter Allow, whatever the order
      assert.is_false(allowed("User-agent: *\nAllow: /\nDisallow: /admin/\n", "/admin/x"))
    end)

    it("handles empty rules, wildcards, $ anchors, queries and params", function()
      assert.is_true(allowed("User-agent: *\nDisallow:\n", "/x"))
      assert.is_false(allowed("User-agent: *\nAllow:\nDisallow: /\n", "/x"))
      local t = "User-agent: *\nDisallow: /*/edit\nDisallow: /end$\nDisallow: /a.b\n"
        .. "Disallow: /s?q=\nDisallow: /*.pdf$\nDisallow: /mid$x\n"
      assert.is_false(allowed(t, "/page/edit"))
      assert.is_true(allowed(t, "/edit"))
      assert.is_false(allowed(t, "/end"))
      assert.is_true(allowed(t, "/end/more"))
      assert.is_false(allowed(t, "/a.b"))
      assert.is_true(allowed(t, "/axb")) -- "." is literal
      assert.is_false(allowed(t, "/s?q=1"))
      assert.is_true(allowed(t, "/s"))
      assert.is_false(allowed(t, "/doc.pdf"))
      assert.is_true(allowed(t, "/doc.pdf?x=1"))
      assert.is_true(allowed(t, "/mid$x")) -- a "$" inside is an end anchor
      -- ;params are not part of the path
      assert.is_true(allowed("User-agent: *\nDisallow: /p;x\n", "/p;x"))
      assert.is_true(allowed(t, "#frag"))
    end)

    it("reads groups as gofr-dig does", function()
      assert.is_true(allowed("User-agent: googlebot\nDisallow: /\n", "/x"))
      assert.is_false(allowed("User-agent: a\nUser-agent: *\nDisallow: /z\n", "/z"))
      local later = "User-agent: *\nDisallow: /a\n\nUser-agent: *\nDisallow: /b\n"
      assert.is_true(allowed(later, "/a"))
      assert.is_false(allowed(later, "/b"))
      assert.is_false(allowed("USER-AGENT: * # all\r\nDISALLOW: /c # not c\r\n", "/c"))
      assert.is_true(allowed("Disallow: /q\nUser-agent: *\nDisallow: /w\n", "/q"))
      assert.is_false(allowed("User-agent:\nDisallow: /e\n", "/e")) -- "" prefixes "*"
      assert.is_false(allowed("User-agent: \nDisallow: /e\nUser-agent: *\nDisallow: /f\n", "/f"))
      assert.is_true(allowed("User-agent: \nDisallow: /e\nUser-agent: *\nDisallow: /f\n", "/e"))
      assert.is_true(allowed("", "/anything"))
    end)
  end)

  describe("check_url (SSRF guard)", function()
    local BLOCKED = "^URL resolves to a private/internal IP %((.-)%)%. Requests to internal "
      .. "networks are blocked for security%.$"

    it("blocks loopback and private literals with gofr-dig's text", function()
      local f = new { allow_private = false }
      for _, case in ipairs {
        { "http://127.0.0.1:8080/x", "127.0.0.1" },
        { "http://10.1.2.3/", "10.1.2.3" },
        { "https://192.168.0.10/", "192.168.0.10" },
        { "http://172.20.0.5/", "172.20.0.5" },
        { "http://169.254.169.254/latest/meta-data/", "169.254.169.254" },
        { "http://[::1]:8080/", "::1" },
        { "http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1" },
        { "http://0.0.0.0/", "0.0.0.0" },
      } do
        local ok, code, msg = f:check_url(case[1])
        assert.is_nil(ok, case[1])
        assert.are.equal("SSRF_BLOCKED", code)
        assert.are.equal(case[2], msg:match(BLOCKED), msg)
      end
    end)

    it("blocks localhost by what it resolves to", function()
      local ok, code, msg = new { allow_private = false }:check_url("http://localhost:1234/")
      assert.is_nil(ok)
      assert.are.equal("SSRF_BLOCKED", code)
      local ip = msg:match(BLOCKED)
      assert.is_truthy(ip, msg)
      assert.is_true(core.ip_is_private(ip))
      assert.is_true(ip == "127.0.0.1" or ip == "::1", ip)
    end)

    it("passes public literals, and everything when allow_private", function()
      local f = new { allow_private = false }
      assert.is_true(f:check_url("http://93.184.216.34/"))
      assert.is_true(f:check_url("https://[2606:4700:4700::1111]/"))
      local open = new { allow_private = true }
      for _, url in ipairs { "http://127.0.0.1/", "http://localhost/", "ftp://x/",
        "http://metadata.google.internal/", "http://nothing.invalid/" } do
        assert.is_true(open:check_url(url), url)
      end
    end)

    it("refuses bad schemes, missing hosts, metadata hosts and unresolvable names", function()
      local f = new { allow_private = false }
      local function expect(url, code, msg)
        local ok, c, m = f:check_url(url)
        assert.is_nil(ok, url)
        assert.are.equal(code, c, url)
        assert.are.equal(msg, m)
      end
      expect("ftp://example.com/", "FETCH_ERROR",
        "Invalid URL scheme: ftp. Only http and https are supported.")
      expect("http:///path", "FETCH_ERROR", "URL has no hostname.")
      expect("http://metadata.google.internal/computeMetadata/v1/", "FETCH_ERROR",
        "Access to metadata.google.internal is blocked (cloud metadata endpoint).")
      expect("http://Metadata.Google.Com/", "FETCH_ERROR",
        "Access to metadata.google.com is blocked (cloud metadata endpoint).")
      expect("http://no-such-host.invalid/", "CONNECTION_ERROR",
        "Could not resolve hostname: no-such-host.invalid")
    end)

    it("binds resolve and ip_is_private", function()
      local addrs = assert(core.resolve("127.0.0.1"))
      assert.are.same({ "127.0.0.1" }, addrs)
      local none, err_type, msg = core.resolve("no-such-host.invalid")
      assert.is_nil(none)
      assert.are.equal("address_error", err_type)
      assert.matches("no%-such%-host%.invalid", msg)
      assert.has_error(function() core.resolve(nil) end)
      assert.is_true(core.ip_is_private("fd00::1"))
      assert.is_false(core.ip_is_private("8.8.8.8"))
      assert.is_false(core.ip_is_private(42))
      assert.is_false(core.ip_is_private("127.0.0.1\0junk"))
    end)
  end)

  describe("get", function()
    it("returns a page: status, final url, body, headers, content type", function()
      local page = get(new(), site.url .. "/index.html")
      assert.is_true(page.ok)
      assert.are.equal(200, page.status)
      assert.are.equal(site.url .. "/index.html", page.url)
      assert.matches("<title>", page.body)
      assert.matches("^text/html", page.content_type)
      assert.are.equal(page.content_type, page.headers["content-type"])
      assert.are.equal(0, page.retries)
      assert.is_false(page.rate_limited)
    end)

    it("follows redirects and reports the final url", function()
      local page = get(new(), site.url .. "/blog")
      assert.is_true(page.ok)
      assert.are.equal(site.url .. "/blog/", page.url)
      page = get(new(), srv.url .. "/r/3")
      assert.is_true(page.ok)
      assert.are.equal("landed", page.body)
      assert.are.equal(srv.url .. "/r/0", page.url)
      assert.are.equal(4, hits["/r/3"] + hits["/r/2"] + hits["/r/1"] + hits["/r/0"])
    end)

    it("fails a redirect loop as aiohttp's TooManyRedirects (FETCH_ERROR)", function()
      local r = get(new { max_retries = 0 }, srv.url .. "/loop")
      assert.is_false(r.ok)
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.are.equal(0, r.status_code)
      assert.are.equal(("Failed to fetch URL: HTTP error after 1 attempts: 0, message='', url='%s'")
        :format(srv.url .. "/loop"), r.error)
      assert.are.equal(11, hits["/loop"]) -- the request and 10 redirects
    end)

    it("classifies 404 as URL_NOT_FOUND without retrying", function()
      local r = get(new(), srv.url .. "/missing")
      assert.are.same({ ok = false, error_code = "URL_NOT_FOUND", status_code = 404,
        error = "Failed to fetch URL: HTTP 404 Not Found", url = srv.url .. "/missing",
        retries = 0, rate_limited = false }, r)
      assert.are.equal(1, hits["/missing"])
      r = get(new(), site.url .. "/nope.html")
      assert.are.equal("URL_NOT_FOUND", r.error_code)
    end)

    it("classifies 403 as ACCESS_DENIED", function()
      local r = get(new(), site.url .. "/index.html?status=403")
      assert.is_false(r.ok)
      assert.are.equal("ACCESS_DENIED", r.error_code)
      assert.are.equal(403, r.status_code)
      assert.are.equal("Failed to fetch URL: HTTP 403 Forbidden", r.error)
    end)

    it("retries a 429, honours its Retry-After, and returns the page", function()
      seq = { { 429, { ["Retry-After"] = "1" } } }
      local took, page = timed(function() return new { retry_base = 0.001 }:get(srv.url .. "/seq") end)
      assert.is_true(page.ok)
      assert.are.equal(200, page.status)
      assert.are.equal(1, page.retries)
      assert.is_true(page.rate_limited)
      assert.are.equal(2, hits["/seq"])
      assert.is_true(took >= 1.0 and took < 1.6, "took " .. took)
    end)

    it("caps Retry-After at max_delay", function()
      seq = { { 503, { ["Retry-After"] = "30" } } }
      local took, page = timed(function()
        return new { max_delay = 0.2 }:get(srv.url .. "/seq")
      end)
      assert.is_true(page.ok)
      assert.is_true(took >= 0.2 and took < 1.0, "took " .. took)
    end)

    it("backs off retry_base * 2^attempt + U(0, retry_base) without Retry-After", function()
      local zero = { float = function() return 0 end }
      local took, r = timed(function()
        return new { retry_base = 0.05, rng = zero }:get(site.url .. "/index.html?status=502")
      end)
      -- 0.05 + 0.1 + 0.2 with no jitter
      assert.are.equal(3, r.retries)
      assert.is_true(took >= 0.35 and took < 0.9, "took " .. took)
      local half = { float = function() return 0.5 end }
      took = timed(function()
        -- an HTTP-date Retry-After is not honoured: the back-off applies
        return new { retry_base = 0.05, rng = half, max_retries = 1 }
          :get(site.url .. "/index.html?status=503&retry_after=Wed,+21+Oct+2015+07:28:00+GMT")
      end)
      assert.is_true(took >= 0.075 and took < 0.5, "took " .. took)
    end)

    it("gives up on 503 after max_retries as FETCH_ERROR", function()
      seq = { { 503 }, { 503 }, { 503 }, { 503 }, { 503 } }
      local r = get(new(), srv.url .. "/seq")
      assert.is_false(r.ok)
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.are.equal(503, r.status_code)
      assert.are.equal("Failed to fetch URL: HTTP 503 Service Unavailable", r.error)
      assert.are.equal(3, r.retries)
      assert.are.equal(4, hits["/seq"])
    end)

    it("gives up on 429 as RATE_LIMITED, and a 429 on the way marks later failures", function()
      local r = get(new { max_retries = 1 }, site.url .. "/index.html?status=429")
      assert.are.equal("RATE_LIMITED", r.error_code)
      assert.are.equal(429, r.status_code)
      assert.are.equal("Failed to fetch URL: HTTP 429 Too Many Requests", r.error)
      seq = { { 429 }, { 503 }, { 503 }, { 503 } }
      r = get(new(), srv.url .. "/seq")
      assert.are.equal("RATE_LIMITED", r.error_code)
      assert.are.equal(503, r.status_code)
      assert.is_true(r.rate_limited)
    end)

    it("does not retry other statuses", function()
      seq = { { 501 } }
      local r = get(new(), srv.url .. "/seq")
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.are.equal("Failed to fetch URL: HTTP 501 Not Implemented", r.error)
      assert.are.equal(1, hits["/seq"])
      seq = { { 418 } }
      r = get(new(), srv.url .. "/seq")
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.are.equal(418, r.status_code)
    end)

    it("reports a read timeout as aiohttp does: empty text, FETCH_ERROR", function()
      local took, r = timed(function()
        return new { max_retries = 1 }:get(site.url .. "/index.html?delay_ms=2000", { timeout = 0.1 })
      end)
      assert.are.same({ ok = false, error_code = "FETCH_ERROR", status_code = 0, retries = 1,
        error = "Failed to fetch URL: HTTP error after 2 attempts: ", rate_limited = false,
        url = site.url .. "/index.html?delay_ms=2000" }, r)
      assert.is_true(took >= 0.2 and took < 1.5, "took " .. took)
    end)

    it("reports a connect timeout as TIMEOUT_ERROR (Connection timeout to host ...)", function()
      local url, close = support.stalled_listener()
      local r = get(new { max_retries = 0 }, url, { timeout = 0.3 })
      close()
      assert.are.equal("TIMEOUT_ERROR", r.error_code)
      assert.are.equal(0, r.status_code)
      assert.matches("Connection timeout to host", r.error, 1, true)
    end)

    it("reports a refused connection as CONNECTION_ERROR after retries", function()
      local port = support.closed_port()
      local url = ("http://127.0.0.1:%d/x"):format(port)
      local r = get(new { max_retries = 2 }, url)
      assert.are.equal("CONNECTION_ERROR", r.error_code)
      assert.are.equal(0, r.status_code)
      assert.are.equal(2, r.retries)
      assert.are.equal(("Failed to fetch URL: HTTP error after 3 attempts: Cannot connect to host "
        .. "127.0.0.1:%d ssl:default [Connect call failed ('127.0.0.1', %d)]"):format(port, port),
        r.error)
    end)

    it("reports an empty reply as 'Server disconnected': CONNECTION_ERROR (dis-connect-ed)", function()
      local r = get(new { max_retries = 0 }, site.url .. "/index.html?close=1")
      assert.are.equal("CONNECTION_ERROR", r.error_code)
      assert.are.equal("Failed to fetch URL: HTTP error after 1 attempts: Server disconnected",
        r.error)
    end)

    it("fails a body Python cannot decode, and keeps other charsets", function()
      local r = get(new(), srv.url .. "/binary")
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.are.equal(0, r.status_code)
      assert.are.equal("Failed to fetch URL: Unexpected error: 'utf-8' codec can't decode byte 0x89 "
        .. "in position 0: invalid start byte", r.error)
      assert.are.equal(1, hits["/binary"])
      local page = get(new(), srv.url .. "/latin1")
      assert.is_true(page.ok)
      assert.are.equal("caf\233", page.body)
    end)

    it("fails a body over max_bytes at once", function()
      local r = get(new(), site.url .. "/x?bytes=5000", { max_bytes = 1000 })
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.are.equal(0, r.retries)
      assert.matches("max_bytes", r.error)
      assert.is_true(get(new(), site.url .. "/x?bytes=1000", { max_bytes = 1000 }).ok)
    end)

    it("blocks private targets before any request, unless allow_private", function()
      local f = new { allow_private = false, delay = 5 }
      local took, r = timed(function() return f:get(srv.url .. "/echo") end)
      assert.are.equal("SSRF_BLOCKED", r.error_code)
      assert.are.equal(0, r.status_code)
      assert.are.equal("Failed to fetch URL: URL resolves to a private/internal IP (127.0.0.1). "
        .. "Requests to internal networks are blocked for security.", r.error)
      assert.is_nil(hits["/echo"])
      assert.is_true(took < 0.5) -- no politeness wait either
      r = get(f, ("http://localhost:%d/echo"):format(srv.port))
      assert.are.equal("SSRF_BLOCKED", r.error_code)
      r = get(f, ("http://[::1]:%d/echo"):format(srv.port))
      assert.are.equal("SSRF_BLOCKED", r.error_code)
      r = get(f, "http://10.0.0.1/")
      assert.are.equal("SSRF_BLOCKED", r.error_code)
      r = get(f, "http://no-such-host.invalid/")
      assert.are.equal("CONNECTION_ERROR", r.error_code)
      assert.are.equal("Failed to fetch URL: Could not resolve hostname: no-such-host.invalid", r.error)
      r = get(f, "http://metadata.google.internal/")
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.is_nil(hits["/echo"])
      assert.is_true(get(new(), srv.url .. "/echo").ok)
    end)

    it("refuses other schemes even with allow_private", function()
      local r = get(new(), "ftp://127.0.0.1/file")
      assert.are.equal("FETCH_ERROR", r.error_code)
      assert.are.equal("Failed to fetch URL: Invalid URL scheme: ftp. Only http and https are "
        .. "supported.", r.error)
    end)

    it("sends user_agent and headers, both changeable later", function()
      local f = new { user_agent = "UA-1", headers = { ["X-Test"] = "a" } }
      assert.are.equal("UA-1|a", get(f, srv.url .. "/echo").body)
      f.user_agent = "UA-2"
      f.headers = { ["X-Test"] = "b" }
      assert.are.equal("UA-2|b", get(f, srv.url .. "/echo").body)
      f.headers = { ["user-agent"] = "UA-H" }
      assert.are.equal("UA-H|-", get(f, srv.url .. "/echo").body)
    end)
  end)

  describe("politeness delay", function()
    it("spaces fetches to one netloc by delay; other netlocs are not delayed", function()
      local f = new { delay = 0.3 }
      local localhost = ("http://localhost:%d"):format(site.port)
      local t = {}
      sim.run(function()
        local t0 = sim.now()
        assert.is_true(f:get(site.url .. "/index.html").ok)
        t[1] = sim.now() - t0
        assert.is_true(f:get(localhost .. "/index.html").ok) -- another netloc: no wait
        t[2] = sim.now() - t0
        assert.is_true(f:get(site.url .. "/about.html").ok) -- same netloc as the first
        t[3] = sim.now() - t0
      end)
      assert.is_true(t[1] < 0.25, "first fetch took " .. t[1])
      assert.is_true(t[2] < 0.25, "other netloc waited: " .. t[2])
      assert.is_true(t[3] >= 0.3 and t[3] < 0.6, "second fetch to the netloc at " .. t[3])
    end)

    it("lets concurrent callers burst (the stamp is taken after sleeping)", function()
      local f = new { delay = 0.3 }
      local took = timed(function()
        assert.is_true(f:get(site.url .. "/index.html").ok)
        local a = sim.spawn(function() return f:get(site.url .. "/about.html").ok end)
        local b = sim.spawn(function() return f:get(site.url .. "/contact.html").ok end)
        assert.is_true(sim.wait(a))
        assert.is_true(sim.wait(b))
      end)
      assert.is_true(took >= 0.3 and took < 0.55, "took " .. took) -- not 0.6
    end)

    it("follows changes to f.delay", function()
      local f = new { delay = 5 }
      local took = timed(function()
        assert.is_true(f:get(site.url .. "/index.html").ok)
        f.delay = 0
        assert.is_true(f:get(site.url .. "/index.html").ok)
      end)
      assert.is_true(took < 0.5, "took " .. took)
    end)
  end)

  describe("robots_allowed", function()
    it("applies the rules for *, fetching robots.txt once per fetcher", function()
      robots.body = "User-agent: *\nDisallow: /private/\nAllow: /private/open\n"
        .. "Disallow: /*.pdf$\n\nUser-agent: other\nDisallow: /\n"
      local f = new { allow_private = false } -- robots.txt is not SSRF-guarded
      sim.run(function()
        local ok, why = f:robots_allowed(srv.url .. "/private/x")
        assert.is_false(ok)
        assert.are.equal("Disallowed by robots.txt for *", why)
        assert.is_true(f:robots_allowed(srv.url .. "/private/open/1"))
        assert.is_false(f:robots_allowed(srv.url .. "/doc.pdf"))
        assert.is_true(f:robots_allowed(srv.url .. "/doc.pdf?x=1"))
        assert.is_true(f:robots_allowed(srv.url .. "/"))
        assert.is_true(f:robots_allowed(srv.url))
      end)
      assert.are.equal(1, hits["/robots.txt"])
      assert.are.equal(fetch.ROBOTS_USER_AGENT, seen_ua)
      -- cached forever: a changed robots.txt is not seen
      robots.body = ""
      assert.is_false(sim.run(function() return f:robots_allowed(srv.url .. "/private/x") end))
      assert.are.equal(1, hits["/robots.txt"])
      -- another fetcher has its own cache
      assert.is_true(sim.run(function() return new():robots_allowed(srv.url .. "/private/x") end))
      assert.are.equal(2, hits["/robots.txt"])
    end)

    it("allows everything when robots.txt is not 200, or unreachable", function()
      robots = { status = 404, body = "User-agent: *\nDisallow: /\n" }
      local f = new()
      sim.run(function()
        assert.is_true(f:robots_allowed(srv.url .. "/private/x"))
        assert.is_true(f:robots_allowed(srv.url .. "/y"))
      end)
      assert.are.equal(1, hits["/robots.txt"])
      robots = { status = 500, body = "User-agent: *\nDisallow: /\n" }
      assert.is_true(sim.run(function() return new():robots_allowed(srv.url .. "/x") end))
      local port = support.closed_port()
      assert.is_true(sim.run(function()
        return new():robots_allowed(("http://127.0.0.1:%d/x"):format(port))
      end))
    end)

    it("reads the fixture site's robots.txt", function()
      local f = new()
      sim.run(function()
        assert.is_false(f:robots_allowed(site.url .. "/admin/"))
        assert.is_false(f:robots_allowed(site.url .. "/private/notes.html"))
        assert.is_true(f:robots_allowed(site.url .. "/index.html"))
        assert.is_true(f:robots_allowed(site.url .. "/blog/"))
      end)
    end)
  end)
end)
