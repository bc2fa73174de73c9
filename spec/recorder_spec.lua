-- gofr_sim.cli.record (the command) and its recorder, crawl and corpus:
-- recording sites from local servers (planted PII, depth 1, statuses,
-- redirects, refused connections), the harness's meta.json, atomic
-- re-recording, the `record` command's exit statuses and the harness's flag
-- names, and record -> replay through scenarios/load.lua.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local json = require "gofr_sim.util.json"
local html = require "gofr_sim.engine.html"
local recorder = require "gofr_sim.cli.record.recorder"
local corpus = require "gofr_sim.cli.record.corpus"
local fs = require "gofr_sim.util.fs"
local support = require "support"

local LOAD = support.source_dir .. "/scenarios/load.lua"

-- PII planted in the site's pages: none of it may reach a recorded file.
local PII = {
  "marisol.okafor@harbourpine.example", "press@harbourpine.co.uk", "harbourpine.co.uk",
  "+44 20 7946 0958", "(212) 555-0123", "020 7946 0958", "212-555-0199",
  "Marisol", "Okafor", "Tobias Lindqvist", "Lindqvist", "marisol-portrait.jpg", "team-photo.png",
}

local function front_page(version)
  return ([[<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Harbour &amp; Pine — v%d</title>
<meta name="author" content="Marisol Okafor">
<script type="application/ld+json">{"@type":"NewsArticle","headline":"Ferry news",
"author":{"@type":"Person","name":"Marisol Okafor","email":"marisol.okafor@harbourpine.example"}}</script>
</head><body>
<nav><a href="/">Home</a> <a href="/about">About</a> <a href="/team/">Team</a>
<a href="/blog/post?id=2">Post 2</a> <a href="/blog/post?id=3#comments">Post 3</a>
<a href="/missing">Missing</a> <a href="/moved">Moved</a> <a href="/logo.png">Logo</a>
<a href="EXTERNAL/elsewhere">Elsewhere</a> <a href="mailto:press@harbourpine.co.uk">Press</a></nav>
<article data-author="Marisol Okafor"><h1>The ferry timetable changes</h1>
<p class="byline">By Marisol Okafor and Tobias Lindqvist, 12 March 2024</p>
<p>Call +44 20 7946 0958 or (212) 555-0123, fax 020 7946 0958, or write to
marisol.okafor@harbourpine.example. Tickets cost £12.50.</p>
<img src="/img/marisol-portrait.jpg" alt="Marisol Okafor at the quay" title="Marisol Okafor">
</article>
<footer>Harbour &amp; Pine · 212-555-0199 ·
<a href="mailto:press@harbourpine.co.uk">press@harbourpine.co.uk</a></footer>
</body></html>]]):format(version)
end

local function inner_page(title, extra)
  return ([[<!doctype html><html><head><title>%s</title></head><body>
<h1>%s</h1><p>Contact Tobias Lindqvist on 020 7946 0958 or press@harbourpine.co.uk.</p>
<img src="/img/team-photo.png" alt="Tobias Lindqvist">%s<a href="/">home</a></body></html>]])
    :format(title, title, extra or "")
end

-- The PII site (and a redirecting site under /siteb/), served by a Lua
-- handler; `state.version` changes the front page, `state.hits` counts paths.
local function pii_site(state, external_url)
  return function(req, res)
    local path = req.path .. (req.query ~= "" and "?" .. req.query or "")
    state.hits[path] = (state.hits[path] or 0) + 1
    local function page(status, body, ct)
      res:send(status, { ["Content-Type"] = ct or "text/html; charset=utf-8" }, body)
    end
    if path == "/" then
      page(200, (front_page(state.version):gsub("EXTERNAL", external_url)))
    elseif path == "/about" then
      page(200, inner_page("About us"))
    elseif path == "/team/" then
      page(200, inner_page("Our team", state.version == 1 and "<p>v1 team</p>" or ""))
    elseif path == "/blog/post?id=2" or path == "/blog/post?id=3" then
      page(200, inner_page("Post " .. req.query))
    elseif path == "/moved" then
      res:send(302, { Location = "/about" }, "")
    elseif path == "/logo.png" then
      page(200, "\137PNG\r\n\26\n", "image/png")
    elseif path == "/siteb/" then
      res:send(301, { Location = "/siteb/home" }, "")
    elseif path == "/siteb/home" then
      page(200, inner_page("Site B home"))
    elseif path == "/gone" then
      page(404, inner_page("Not found"))
    else
      page(404, "<html><body><h1>404</h1><p>Mail marisol.okafor@harbourpine.example</p></body></html>")
    end
  end
end

local function tmpdir()
  local path = os.tmpname()
  os.remove(path)
  assert(core.fs_mkdirs(path))
  return path
end

local function tags_of(body)
  local out = {}
  for i, el in ipairs(assert(html.select(body, "*"))) do out[i] = el.tag end
  return out
end

local function read_meta(dir)
  local text = assert(support.read_file(dir .. "/meta.json"))
  return assert(json.decode(text)), text
end

local function files_of(meta, slug)
  for _, site in ipairs(meta.sites) do
    if site.slug == slug then
      local out = {}
      for _, f in ipairs(site.files) do out[f.path] = f end
      return out, site
    end
  end
  return nil
end

local function listing(dir)
  local out = {}
  local function walk(rel)
    for _, name in ipairs(core.fs_list(dir .. (rel == "" and "" or "/" .. rel)) or {}) do
      local r = rel == "" and name or rel .. "/" .. name
      if core.fs_list(dir .. "/" .. r) then walk(r) else out[#out + 1] = r end
    end
  end
  walk("")
  table.sort(out)
  return out
end

describe("corpus.slug", function()
  it("is the harness's url_to_slug", function()
    assert.are.equal("www_scmp_com_business", corpus.slug("https://www.scmp.com/business"))
    assert.are.equal("example_com_a_b_c_d_e", corpus.slug("https://example.com/a?b=c&d=e"))
    assert.are.equal("asia_nikkei_com", corpus.slug("https://asia.nikkei.com/"))
    assert.are.equal("example_com_x", corpus.slug("http://Example.COM//x///"))
    assert.are.equal("ftp_example_com", corpus.slug("ftp://example.com"))
    assert.are.equal("unknown", corpus.slug("https://"))
    assert.are.equal("unknown", corpus.slug("___"))
    assert.are.equal("caf_com", corpus.slug("http://café.com"))
    assert.are.equal("k_com", corpus.slug("http://\226\132\170.com"))  -- KELVIN SIGN lowers to k
  end)
end)

describe("corpus.page_path", function()
  it("makes safe relative .html paths from URL paths", function()
    local cases = {
      { "http://h/", "index.html" }, { "http://h", "index.html" },
      { "http://h/about", "about.html" }, { "http://h/blog/", "blog/index.html" },
      { "http://h/blog/post-1.html", "blog/post-1.html" }, { "http://h/a/b.htm", "a/b.html" },
      { "http://h/blog/post?id=2", "blog/post_id_2.html" },
      { "http://h/?page=2", "index_page_2.html" },
      { "http://h/a%20b/c", "a_b/c.html" }, { "http://h/x#frag", "x.html" },
      { "http://h/../../etc/passwd", "_./_./etc/passwd.html" },
      { "http://h/%2e%2e/%2Fetc", "_./_etc.html" }, { "http://h/./.hidden", "_/_hidden.html" },
      { "http://h//a//b", "a/b.html" },
    }
    for _, c in ipairs(cases) do assert.are.equal(c[2], corpus.page_path(c[1]), c[1]) end
    local deep = corpus.page_path("http://h/1/2/3/4/5/6/7/8/9/10/11/page")
    assert.are.equal(8, select(2, deep:gsub("/", "")))
    local long = corpus.page_path("http://h/" .. ("x"):rep(500))
    assert.is_true(#long <= 64 + #".html")
    for _, c in ipairs(cases) do
      local p = corpus.page_path(c[1])
      assert.is_nil(p:find("^/"))
      for seg in p:gmatch("[^/]+") do
        assert.is_false(seg == "." or seg == "..")
        assert.is_nil(seg:find("^%."))
      end
    end
  end)
end)

describe("recorder.record", function()
  local srv, ext, state, ext_hits, out, closed_port

  setup(function()
    state = { version = 1, hits = {} }
    ext_hits = 0
    ext = assert(sim.server.listen { port = 0, handler = function(_, res)
      ext_hits = ext_hits + 1
      res:send(200, { ["Content-Type"] = "text/html" }, "<html><body>elsewhere</body></html>")
    end })
    srv = assert(sim.server.listen { port = 0, handler = pii_site(state, ext.url) })
    closed_port = support.closed_port()
    out = tmpdir()
  end)

  teardown(function()
    srv.close()
    ext.close()
    sim.run(function() sim.sleep(0.01) end)
    fs.remove_tree(out)
    support.assert_clean()
  end)

  local function sites()
    return {
      { url = srv.url .. "/" },
      { url = srv.url .. "/siteb/" },
      { url = srv.url .. "/gone" },
      { url = ("http://127.0.0.1:%d/"):format(closed_port) },
    }
  end

  local function record(opts)
    opts.out = opts.out or out
    opts.sites = opts.sites or sites()
    return sim.run(function() return recorder.record(opts) end)
  end

  local slug_a, slug_b, slug_c, slug_d
  local summary

  it("records every site, keeps any status, reports refused connections", function()
    slug_a = corpus.slug(srv.url .. "/")
    slug_b = corpus.slug(srv.url .. "/siteb/")
    slug_c = corpus.slug(srv.url .. "/gone")
    slug_d = corpus.slug(("http://127.0.0.1:%d/"):format(closed_port))
    -- an earlier recording of the site that will fail
    assert(core.fs_mkdirs(out .. "/" .. slug_d))
    assert(core.fs_write_atomic(out .. "/" .. slug_d .. "/index.html", "<html>earlier</html>"))
    assert(core.fs_write_atomic(out .. "/meta.json", json.encode(json.object(
      "version", 1, "recorded_at", "2026-01-01T00:00:00+00:00", "sites", json.array {
        json.object("slug", slug_d, "original_url", "http://earlier/", "files", json.array {
          json.object("path", "index.html", "content_type", "text/html", "original_status", 200,
                      "size_bytes", 20, "obfuscated", true) }),
        json.object("slug", "kept_site", "original_url", "http://kept/", "files", json.array {}),
      }), "pretty")))
    summary = record { depth = 1, max_pages = 5, concurrency = 2 }
    assert.are.equal(4, summary.sites_attempted)
    assert.are.equal(3, summary.sites_recorded)
    assert.are.equal(1, summary.sites_failed)
    local by = {}
    for _, r in ipairs(summary.results) do by[r.slug] = r end
    assert.is_false(by[slug_d].ok)
    assert.are.equal("network_connect", by[slug_d].error_type)
    assert.are.equal(404, by[slug_c].status)
    assert.are.equal(200, by[slug_b].status)
    local total = 0
    for _, r in ipairs(summary.results) do total = total + r.bytes end
    assert.are.equal(total, summary.total_bytes)
  end)

  it("writes meta.json as the harness does: layout, key order, slugs, merged", function()
    local meta, text = read_meta(out)
    assert.matches('^{\n  "version": 1,\n  "recorded_at": "', text)
    assert.are.same({ "version", "recorded_at", "sites" }, json.keys(meta))
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.?%d*%+00:00$", meta.recorded_at)
    assert.are.equal(summary.recorded_at, meta.recorded_at)
    local slugs = {}
    for i, site in ipairs(meta.sites) do
      slugs[i] = site.slug
      assert.are.same({ "slug", "original_url", "files" }, json.keys(site))
      for _, f in ipairs(site.files) do
        assert.are.same({ "path", "content_type", "original_status", "size_bytes", "obfuscated" },
          json.keys(f))
        local st = assert(core.fs_stat(out .. "/" .. site.slug .. "/" .. f.path))
        assert.are.equal(f.size_bytes, st.size)
        assert.is_true(f.obfuscated)
      end
    end
    -- earlier entries first (the failed site's kept), then the run's sites in file order
    assert.are.same({ slug_d, "kept_site", slug_a, slug_b, slug_c }, slugs)
    local _, site_a = files_of(meta, slug_a)
    assert.are.equal(srv.url .. "/", site_a.original_url)
  end)

  it("keeps a failed site's earlier recording", function()
    local meta = read_meta(out)
    local files, site = files_of(meta, slug_d)
    assert.are.equal("http://earlier/", site.original_url)
    assert.are.equal(20, files["index.html"].size_bytes)
    assert.are.equal("<html>earlier</html>", support.read_file(out .. "/" .. slug_d .. "/index.html"))
  end)

  it("follows same-site links at depth 1 up to --max-pages, never external ones", function()
    local meta = read_meta(out)
    local files = files_of(meta, slug_a)
    local paths = {}
    for _, f in ipairs(select(2, files_of(meta, slug_a)).files) do paths[#paths + 1] = f.path end
    -- document order: / (the front page itself) and the fragment variant are not fetched twice
    assert.are.same({ "index.html", "about.html", "team/index.html", "blog/post_id_2.html",
                      "blog/post_id_3.html" }, paths)
    assert.are.equal(200, files["about.html"].original_status)
    assert.are.equal(0, ext_hits)
    assert.is_nil(state.hits["/missing"])   -- beyond the cap of 5 pages
    -- once for site A; sites B and C (same origin) link to it and fetch it too
    assert.are.equal(3, state.hits["/"])
    -- ... and store it beside their own index.html: colliding paths are made unique
    local b_paths = {}
    for _, f in ipairs(select(2, files_of(meta, slug_b)).files) do b_paths[#b_paths + 1] = f.path end
    assert.are.same({ "index.html", "index-2.html" }, b_paths)
    assert.are.same({ "about.html", "blog/post_id_2.html", "blog/post_id_3.html", "index.html",
                      "team/index.html" }, listing(out .. "/" .. slug_a))
  end)

  it("records 4xx pages with their status, redirects as their final page", function()
    local meta = read_meta(out)
    local c = files_of(meta, slug_c)
    assert.are.equal(404, c["index.html"].original_status)
    assert.are.equal("text/html; charset=utf-8", c["index.html"].content_type)
    local b = files_of(meta, slug_b)
    assert.are.equal(200, b["index.html"].original_status)
    assert.matches("<title>", support.read_file(out .. "/" .. slug_b .. "/index.html"))
  end)

  it("runs every page through the obfuscator: no planted PII, the same tags", function()
    local originals = {
      [slug_a .. "/index.html"] = (front_page(1):gsub("EXTERNAL", ext.url)),
      [slug_a .. "/about.html"] = inner_page("About us"),
      [slug_a .. "/team/index.html"] = inner_page("Our team", "<p>v1 team</p>"),
      [slug_b .. "/index.html"] = inner_page("Site B home"),
    }
    for _, rel in ipairs(listing(out)) do
      if rel ~= "meta.json" and not rel:find("^" .. slug_d) then
        local body = support.read_file(out .. "/" .. rel)
        for _, pii in ipairs(PII) do
          assert.is_nil(body:find(pii, 1, true), ("%s leaks %q"):format(rel, pii))
        end
      end
    end
    for rel, original in pairs(originals) do
      local recorded = support.read_file(out .. "/" .. rel)
      assert.are_not.equal(original, recorded)
      assert.are.same(tags_of(original), tags_of(recorded), rel)
    end
  end)

  it("re-records a site in place: new files in, old ones gone, no leftovers", function()
    state.version = 2
    local before = read_meta(out)
    local front_before = support.read_file(out .. "/" .. slug_a .. "/index.html")
    local s = record { sites = { { url = srv.url .. "/" } }, depth = 1, max_pages = 3 }
    assert.are.equal(1, s.sites_recorded)
    local meta = read_meta(out)
    assert.are.same({ "about.html", "index.html", "team/index.html" }, listing(out .. "/" .. slug_a))
    assert.are_not.equal(front_before, support.read_file(out .. "/" .. slug_a .. "/index.html"))
    assert.are.equal(#before.sites, #meta.sites)       -- the other sites' entries are kept
    assert.are.equal(3, #select(2, files_of(meta, slug_a)).files)
    for _, name in ipairs(core.fs_list(out)) do
      assert.is_nil(name:find("%.tmp%-"), name)
      assert.is_nil(name:find("%.old%-"), name)
    end
  end)

  it("recovers from an interrupted swap and removes stale temporary directories", function()
    -- a crash between the two renames: <slug> missing, .<slug>.old-<id> present
    assert(os.rename(out .. "/" .. slug_b, out .. "/." .. slug_b .. ".old-abc123"))
    assert(core.fs_mkdirs(out .. "/." .. slug_c .. ".tmp-def456/x"))
    local s = record { sites = { { url = ("http://127.0.0.1:%d/"):format(closed_port) } } }
    assert.are.equal(0, s.sites_recorded)
    assert.is_not_nil(core.fs_stat(out .. "/" .. slug_b .. "/index.html"))
    assert.is_nil(core.fs_list(out .. "/." .. slug_c .. ".tmp-def456"))
  end)

  it("does not touch meta.json when nothing was recorded", function()
    local _, before = read_meta(out)
    record { sites = { { url = ("http://127.0.0.1:%d/"):format(closed_port) }, { url = "ftp://x/" } } }
    local _, after = read_meta(out)
    assert.are.equal(before, after)
  end)

  it("refuses a meta.json that is not a recording's", function()
    local dir = tmpdir()
    assert(core.fs_write_atomic(dir .. "/meta.json", "[1, 2"))
    local ok, err = pcall(record, { out = dir, sites = { { url = srv.url .. "/gone" } } })
    assert.is_false(ok)
    assert.matches("not a recording's meta.json", tostring(err))
    assert.are.equal("[1, 2", support.read_file(dir .. "/meta.json"))
    fs.remove_tree(dir)
  end)
end)

-- Runs `gofr-sim fixtures` in the background; -> base URL, stop()
local function serve_in_background(root)
  local log, pidf = os.tmpname(), os.tmpname()
  os.execute(("%s fixtures --root %s --port 0 >%s 2>&1 </dev/null & echo $! >%s")
    :format(support.shell_quote(support.bin), support.shell_quote(root), log, pidf))
  local url
  for _ = 1, 100 do
    url = (support.read_file(log) or ""):match("(http://[%d.:]+)/")
    if url then break end
    os.execute("sleep 0.05")
  end
  local pid = assert(tonumber(support.read_file(pidf)))
  return assert(url, support.read_file(log)), function()
    os.execute("kill " .. pid .. " 2>/dev/null; wait " .. pid .. " 2>/dev/null")
    os.remove(log); os.remove(pidf)
  end
end

local function write_sites(path, urls)
  local list = json.array {}
  for i, u in ipairs(urls) do
    list[i] = json.object("name", "site" .. i, "url", u, "languages", json.array { "en" })
  end
  assert(core.fs_write_atomic(path, json.encode(json.object("Local", list), "pretty")))
end

describe("gofr-sim record (the command) and record -> replay", function()
  local dir, sites_file, url, stop

  setup(function()
    dir = tmpdir()
    sites_file = dir .. "/sites.json"
    url, stop = serve_in_background(support.fixtures_root)
  end)

  teardown(function()
    stop()
    fs.remove_tree(dir)
  end)

  it("exits 2 on bad usage", function()
    write_sites(sites_file, { url .. "/" })
    local r = support.run_cli { "record", "--sites", sites_file }
    assert.are.equal(2, r.status)
    assert.matches("give %-%-out DIR", r.stderr)
    r = support.run_cli { "record", "--sites", dir .. "/none.json", "--out", dir .. "/x" }
    assert.are.equal(2, r.status)
    assert.matches("cannot read", r.stderr)
    assert(core.fs_write_atomic(dir .. "/empty.json", '{"Japan": "not a list"}'))
    r = support.run_cli { "record", "--sites", dir .. "/empty.json", "--out", dir .. "/x" }
    assert.are.equal(2, r.status)
    assert.matches("no valid sites found", r.stderr)
    r = support.run_cli { "record", "--sites", sites_file, "--out", dir .. "/x", "--depth", "2" }
    assert.are.equal(2, r.status)
    r = support.run_cli { "record", "--sites", sites_file, "--out", dir .. "/x", "--bogus", "1" }
    assert.are.equal(2, r.status)
    assert.is_nil(core.fs_list(dir .. "/x"))
  end)

  it("exits 1 when no site could be recorded, naming the failure", function()
    write_sites(dir .. "/dead.json", { ("http://127.0.0.1:%d/"):format(support.closed_port()) })
    local r = support.run_cli { "record", "--sites", dir .. "/dead.json", "--out", dir .. "/dead" }
    assert.are.equal(1, r.status, r.stderr)
    assert.matches("FAILED", r.stdout)
    assert.matches("network_connect", r.stdout)
    assert.matches("0 recorded, 1 failed", r.stdout)
  end)

  it("records the fixture site; load.lua replays it over HTTP and MCP", function()
    write_sites(sites_file, { url .. "/" })
    local corpus_dir = dir .. "/corpus"
    local r = support.run_cli { "record", "--sites", sites_file, "--out", corpus_dir, "--depth", "1",
                                "--max-pages", "20", "--timeout", "10s", "--concurrency", "2" }
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("1 recorded, 0 failed", r.stdout)
    assert.matches("replay: gofr%-sim scenarios/load.lua %-%-fixtures%-dir", r.stdout)
    local meta = read_meta(corpus_dir)
    assert.are.equal(1, #meta.sites)
    assert.is_true(#meta.sites[1].files > 5)
    local report = dir .. "/http.json"
    r = support.run_cli { LOAD, "--protocol", "http", "--fixtures-dir", corpus_dir, "--total-requests", "20",
                          "--rate", "1000", "--quiet", "--output", report }
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local rep = assert(json.decode(support.read_file(report)))
    assert.are.equal(20, rep.metrics.overall.count)
    assert.are.equal(0, rep.metrics.overall.error_count)
    assert.are.equal(20, rep.counters["http.content_type{tool=http.get,type=text/html}"])
    assert.is_true(rep.counters["http.bytes{tool=http.get}"] > 20 * 1000)
    r = support.run_cli { LOAD, "--fixtures-dir", corpus_dir, "--total-requests", "6", "--quiet",
                          "--output", dir .. "/mcp.json" }
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    rep = assert(json.decode(support.read_file(dir .. "/mcp.json")))
    assert.is_true(rep.metrics.overall.count >= 6)
  end)

  it("takes the harness's flag names --sites-file, --record-output-dir, --timeout-seconds", function()
    write_sites(sites_file, { url .. "/about.html" })
    local r = support.run_cli { "record", "--sites-file", sites_file,
                                "--record-output-dir", dir .. "/viaload", "--timeout-seconds", "5" }
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local meta = read_meta(dir .. "/viaload")
    assert.are.equal(corpus.slug(url .. "/about.html"), meta.sites[1].slug)
    r = support.run_cli { "record", "--sites-file", sites_file }
    assert.are.equal(2, r.status)
  end)
end)
