-- The fixture server (C) seen through sim.fixtures and sim.http on 127.0.0.1.
local sim = require "gofr_sim"
local support = require "support"

local function get(url, opts)
  return sim.run(function() return sim.http.get(url, opts) end)
end

describe("sim.fixtures", function()
  local site

  setup(function()
    site = assert(sim.fixtures.serve { root = support.fixtures_root })
  end)

  teardown(function()
    support.close_site(site)
    support.assert_clean()
  end)

  it("lists the shipped site's pages", function()
    local pages = assert(sim.fixtures.pages(support.fixtures_root))
    for _, want in ipairs({ "index.html", "about.html", "products.html", "product-detail.html",
      "contact.html", "blog/index.html", "blog/post-1.html", "chinese.html", "japanese.html",
      "external-links.html", "script-heavy.html" }) do
      assert.truthy(table.concat(pages, " "):find(want, 1, true), want)
    end
    local none, err_type = sim.fixtures.pages("/nonexistent")
    assert.is_nil(none)
    assert.are.equal("not_found", err_type)
  end)

  it("serves every page with its content type and length", function()
    sim.run(function()
      for _, page in ipairs(sim.fixtures.pages(support.fixtures_root)) do
        local res = sim.http.get(site.url .. "/" .. page)
        assert.are.equal(200, res.status, page)
        assert.are.equal("text/html; charset=utf-8", res.headers["content-type"])
        assert.are.equal(#res.body, tonumber(res.headers["content-length"]))
      end
      local robots = sim.http.get(site.url .. "/robots.txt")
      assert.matches("^text/plain", robots.headers["content-type"])
      for _, path in ipairs({ "/admin/", "/api/", "/private/" }) do
        assert.matches("Disallow: " .. path, robots.body, 1, true)
      end
    end)
  end)

  it("answers HEAD without a body, other methods with 405", function()
    sim.run(function()
      local head = sim.http.request { method = "HEAD", url = site.url .. "/index.html" }
      assert.are.equal(200, head.status)
      assert.are.equal("", head.body)
      assert.is_true(tonumber(head.headers["content-length"]) > 0)
      local put = sim.http.request { method = "PUT", url = site.url .. "/index.html", body = "x" }
      assert.are.equal(405, put.status)
      assert.matches("GET", put.headers.allow)
    end)
  end)

  it("redirects a directory to its slash and serves its index", function()
    sim.run(function()
      local res = sim.http.get(site.url .. "/blog?x=1", { follow_redirects = false })
      assert.are.equal(301, res.status)
      assert.are.equal("/blog/?x=1", res.headers.location)
      res = sim.http.get(site.url .. "/blog/")
      assert.are.equal(200, res.status)
      assert.matches("<title>", res.body)
    end)
  end)

  describe("refuses paths that leave the root", function()
    local tmp
    setup(function()
      tmp = os.tmpname()
      os.remove(tmp)
      os.execute(("mkdir -p %s/site && echo inside > %s/site/ok.html && ln -s /etc %s/site/etc"
        .. " && echo secret > %s/outside.html && ln -s ../outside.html %s/site/leak.html")
        :format(tmp, tmp, tmp, tmp, tmp))
    end)
    teardown(function() os.execute("rm -rf " .. support.shell_quote(tmp)) end)

    local cases = {
      "/../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/%2E%2E/%2E%2E/etc/passwd",
      "/blog/..%2f..%2f..%2fetc%2fpasswd",
      "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "/..%5c..%5cetc%5cpasswd",
      "/..\\..\\etc\\passwd",
      "/index.html%00.txt",
      "//etc/passwd",
      "/./../etc/passwd",
      "/etc/passwd",
      "/leak.html",
    }
    for _, path in ipairs(cases) do
      it(path, function()
        local jail = assert(sim.fixtures.serve { root = tmp .. "/site" })
        local res = get(jail.url .. path, { path_as_is = true, follow_redirects = false })
        jail.close()
        assert.is_true(res.status == 404 or res.status == 400, "status " .. res.status)
        assert.is_nil(res.body:find("root:", 1, true))
        assert.is_nil(res.body:find("secret", 1, true))
      end)
    end

    it("still serves what is inside", function()
      local jail = assert(sim.fixtures.serve { root = tmp .. "/site" })
      local res = get(jail.url .. "/ok.html")
      jail.close()
      assert.are.equal(200, res.status)
      assert.are.equal("inside\n", res.body)
    end)
  end)

  describe("fault injection", function()
    it("delay_ms answers late without blocking other connections", function()
      sim.run(function()
        local t0 = sim.now()
        local slow = sim.spawn(function()
          local res = sim.http.get(site.url .. "/index.html?delay_ms=400")
          return res.status, sim.now() - t0
        end)
        local fast = sim.spawn(function()
          local res = sim.http.get(site.url .. "/about.html")
          return res.status, sim.now() - t0
        end)
        local fs, ft = sim.wait(fast)
        local ss, st = sim.wait(slow)
        assert.are.same({ 200, 200 }, { fs, ss })
        assert.is_true(st >= 0.4, "slow took " .. st)
        assert.is_true(ft < 0.2, "fast took " .. ft)
      end)
    end)

    it("status and retry_after shape the answer", function()
      local res = get(site.url .. "/index.html?status=503&retry_after=7")
      assert.are.equal(503, res.status)
      assert.are.equal("7", res.headers["retry-after"])
      res = get(site.url .. "/index.html?status=abc")
      assert.are.equal(400, res.status)
      assert.matches("status", res.body)
    end)

    it("bytes sends exactly N bytes", function()
      for _, n in ipairs({ 0, 1, 4096, 100000 }) do
        local res = get(site.url .. "/any?bytes=" .. n)
        assert.are.equal(200, res.status)
        assert.are.equal(n, #res.body)
      end
    end)

    it("close drops the connection", function()
      local res, err_type = get(site.url .. "/index.html?close=1")
      assert.is_nil(res)
      assert.are.equal("network_protocol", err_type)
    end)

    it("slow_ms trickles the body over the given time", function()
      local t0 = sim.now()
      local res = get(site.url .. "/index.html?slow_ms=300")
      assert.are.equal(200, res.status)
      assert.matches("</html>", res.body)
      assert.is_true(sim.now() - t0 >= 0.25)
    end)
  end)

  it("rejects bad options and roots clearly", function()
    assert.has_error(function() sim.fixtures.serve { rot = "x" } end,
      "sim.fixtures.serve: unknown option 'rot' (did you mean 'root'?)")
    local ok, err = pcall(sim.fixtures.serve, { root = "/nonexistent" })
    assert.is_false(ok)
    assert.matches("root '/nonexistent' is not a readable directory", err, 1, true)
  end)
end)
