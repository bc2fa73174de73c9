-- The fixture site under several loopback hosts, the embedded twin's
-- politeness delay (--fetch-delay) and the note the summary gets when that
-- delay is most of what a run measured; --twin-port and --fixtures-port.
local sim = require "gofr_sim"
local target = require "gofr_sim.gofr_dig.target"
local support = require "support"

describe("target.serve_fixtures", function()
  teardown(support.assert_clean)

  it("serves the site under several loopback hosts on one port, pages spread over them", function()
    local port = support.closed_port()
    local statuses, hosts_seen = {}, {}
    local site, urls
    sim.run(function()
      site, urls = target.serve_fixtures(nil, { hosts = 4, port = port })
      for _, url in ipairs(urls) do
        local host = url:match("^http://([%d.]+):" .. port .. "/")
        assert(host, "url " .. url)
        hosts_seen[host] = (hosts_seen[host] or 0) + 1
        local res = sim.http.get(url)
        statuses[res.status] = (statuses[res.status] or 0) + 1
      end
      site.close()
    end)
    assert.are.equal(port, site.port)
    assert.are.same({ "http://127.0.0.1:" .. port, "http://127.0.0.2:" .. port,
                      "http://127.0.0.3:" .. port, "http://127.0.0.4:" .. port }, site.base_urls)
    for h = 1, 4 do
      assert.is_true((hosts_seen["127.0.0." .. h] or 0) >= 1, "no page on 127.0.0." .. h)
    end
    assert.are.equal(#urls, statuses[200], "every page answers 200 on its host")
  end)

  it("keeps one host unless asked, and names the port when it cannot listen", function()
    local site, urls
    sim.run(function()
      site, urls = target.serve_fixtures()
      site.close()
    end)
    assert.are.equal(1, #site.base_urls)
    for _, url in ipairs(urls) do assert.are.equal(site.base_url, url:sub(1, #site.base_url)) end
    local busy = assert(sim.server.listen { handler = function(_, res) res:send(200, {}, "") end })
    local ok, err = pcall(sim.run, function() target.serve_fixtures(nil, { port = busy.port }) end)
    support.close_site(busy)
    assert.is_false(ok)
    assert.matches("cannot start the fixture site on 127.0.0.1 (--fixtures-port " .. busy.port .. ")",
      err, 1, true)
  end)
end)

describe("load.lua and the twin's fetch delay", function()
  it("says in one line when the delay is most of the latency, and not when it is off", function()
    local r, rep = support.run_scenario("scenarios/load.lua", { "--duration", "2s", "--consumers", "2" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("\nnote: the twin's per%-host fetch delay %(1s, %-%-fetch%-delay%) was %d+%% of the "
      .. "tool calls' time", r.stdout)
    assert.are.equal(1, #rep.notes)
    r, rep = support.run_scenario("scenarios/load.lua",
      { "--duration", "2s", "--consumers", "2", "--fetch-delay", "0" })
    assert.are.equal(0, r.status, r.stderr)
    assert.is_nil(r.stdout:find("note:", 1, true), r.stdout)
    assert.are.same({}, rep.notes)
    assert.are.equal(0, rep.config.fetch_delay)
  end)

  it("pins the embedded twin with --twin-port, and refuses the twin's flags with --mcp-url", function()
    local port = support.closed_port()
    local r, rep = support.run_scenario("scenarios/load.lua",
      { "--duration", "1s", "--consumers", "1", "--fetch-delay", "0", "--twin-port", tostring(port) })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(("http://127.0.0.1:%d/mcp/"):format(port), rep.config.mcp_url)
    r = support.run_cli({ "scenarios/load.lua", "--mcp-url", "http://127.0.0.1:1/mcp/",
                          "--fetch-delay", "0.5s" })
    assert.are.equal(2, r.status)
    assert.matches("--fetch-delay: only for the embedded twin (no --mcp-url)", r.stderr, 1, true)
    r = support.run_cli({ "scenarios/load.lua", "--fixtures-port", "70000" })
    assert.are.equal(2, r.status)
    assert.matches("--fixtures-port must be <= 65535, got 70000", r.stderr, 1, true)
  end)
end)
