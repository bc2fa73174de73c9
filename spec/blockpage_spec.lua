-- gofr_sim.engine.blockpage: the classification table (block pages, CAPTCHAs,
-- paywalls, and ordinary pages that only mention them), and the wiring into
-- sim.http (error_type, http.bytes, http.content_type) and MCP results.
local sim = require "gofr_sim"
local metrics = require "gofr_sim.engine.metrics"
local blockpage = require "gofr_sim.engine.blockpage"
local support = require "support"

local HTML = "text/html; charset=utf-8"

-- A page of roughly `size` bytes: a head with `title`, the `body` markup,
-- and filler paragraphs of ordinary prose.
local function page(title, body, size)
  local parts = { "<!doctype html><html><head><meta charset=utf-8><title>", title,
                  "</title></head><body>", body }
  local filler = "<p>The harbour market opens at seven; fishmongers, bakers and a "
    .. "bookbinder share the long shed by the quay, and the ferry runs on the hour.</p>\n"
  local n = #table.concat(parts)
  while n < (size or 0) do
    parts[#parts + 1] = filler
    n = n + #filler
  end
  parts[#parts + 1] = "</body></html>"
  return table.concat(parts)
end

local CLOUDFLARE_BLOCK = page("Attention Required! | Cloudflare", [[
<div id="cf-wrapper"><div id="cf-error-details" class="cf-error-details-wrapper">
<h1>Sorry, you have been blocked</h1><h2>You are unable to access example.com</h2>
<p>This website is using a security service to protect itself from online attacks.</p>
<span>Cloudflare Ray ID: 7d1a2b3c4d5e6f70</span> Performance &amp; security by Cloudflare
</div></div>]])

local CLOUDFLARE_CHALLENGE = page("Just a moment...", [[
<noscript>Enable JavaScript and cookies to continue</noscript>
<script>(function(){window._cf_chl_opt={cvId: '3',cZone: 'example.com',cType: 'managed'};}());</script>]])

local INCAPSULA = [[<html><head><META NAME="robots" CONTENT="noindex,nofollow"></head>
<body><iframe id="main-iframe" src="/_Incapsula_Resource?CWUDNSAI=9&xinfo=1"></iframe>
Request unsuccessful. Incapsula incident ID: 123000450012345678-901234567890123456</body></html>]]

local AKAMAI = [[<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY>
<H1>Access Denied</H1>You don't have permission to access
"http&#58;&#47;&#47;www&#46;example&#46;com&#47;" on this server.<P>
Reference&#32;&#35;18&#46;9f2d1002&#46;1700000000&#46;1a2b3c4d
<P>https&#58;&#47;&#47;errors&#46;edgesuite&#46;net&#47;18&#46;9f2d1002</P></BODY></HTML>]]

local PERIMETERX = page("Access to this page has been denied.", [[
<div class="px-captcha-container"><div id="px-captcha"></div>
<p>Press &amp; Hold to confirm you are a human (and not a bot).</p></div>]])

local DATADOME = [[<html><head><title>example.com</title></head><body>
<p>Please enable JS and disable any ad blocker</p>
<script>var dd={'rt':'c','cid':'AHrlqAAAAAMA','hsh':'E6EAF460AA2A8322D66B42C85B62F9'}</script>
<script src="https://ct.captcha-delivery.com/c.js"></script></body></html>]]

local GOOGLE_SORRY = page("https://www.google.com/search?q=harbour", [[
<div id="captcha-form"><div class="g-recaptcha" data-sitekey="6LfwuyUTAAAAAOAm"></div></div>
<p>Our systems have detected unusual traffic from your computer network. This page checks to
see if it's really you sending the requests, and not a robot.</p>
<script src="https://www.google.com/recaptcha/api.js" async defer></script>]])

local AMAZON = page("Amazon.com", [[
<h4>Enter the characters you see below</h4>
<p>Sorry, we just need to make sure you're not a robot.</p>
<form method="get" action="/errors/validateCaptcha"><input id="captchacharacters"></form>]])

local HCAPTCHA_CHALLENGE = page("Security check", [[
<form id="challenge-form"><div class="h-captcha" data-sitekey="10000000-ffff"></div></form>
<script src="https://hcaptcha.com/1/api.js" async defer></script>]])

local PIANO_PAYWALL = page("Harbour council votes on the new ferry | The Daily Quay", [[
<article><h1>Harbour council votes on the new ferry</h1><p>The council met on Tuesday.</p></article>
<div class="tp-modal"><div class="tp-backdrop"></div>
<h2>Subscribe to continue reading</h2><p>Already a subscriber? <a href="/login">Log in</a></p></div>
<script src="https://experience.tinypass.com/xbuilder/experience/load?aid=AbCdEf"></script>]], 40000)

local JSONLD_PAYWALL = page("Harbour council votes | The Daily Quay", [[
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",
"headline":"Harbour council votes","isAccessibleForFree": false,
"hasPart":{"@type":"WebPageElement","isAccessibleForFree":"False","cssSelector":".paid"}}</script>
<article><p>The council met on Tuesday.</p><div class="paid">...</div></article>]], 60000)

local METER_PAYWALL = page("Harbour council votes | The Daily Quay", [[
<div class="paywall-prompt"><p>You have reached your free article limit for this month.</p>
<a href="/subscribe">See our plans</a></div>]], 50000)

local WIDGET_PROMPT_PAYWALL = page("Harbour council votes | The Daily Quay", [[
<div id="regwall" class="paywall"><p>Sign in to continue reading this story.</p></div>]], 45000)

-- Ordinary pages that must not be classified.
local ARTICLE_MENTIONING_CAPTCHA = page("Why websites ask you to prove you are human | Tech Weekly", [[
<article><h1>Why websites ask you to prove you are human</h1>
<p>A CAPTCHA is a small test that tells people and programs apart. The first captcha was made
in 2000; "are you a robot" prompts are now everywhere, and reCAPTCHA uses your mouse moves.</p>
<p>Cloudflare's "Just a moment..." page and "Attention Required! | Cloudflare" are familiar:
when a site says "Sorry, you have been blocked", a firewall rule has fired.</p></article>]], 60000)

local CONTACT_FORM_WITH_RECAPTCHA = page("Contact us | Harbour & Pine", [[
<form action="/contact" method="post"><input name="email" type="email"><textarea name="msg"></textarea>
<div class="g-recaptcha" data-sitekey="6LfwuyUTAAAAAOAm"></div>
<button>Send</button></form><script src="https://www.google.com/recaptcha/api.js"></script>]], 12000)

local NEWS_WITH_SUBSCRIBE_LINK = page("Harbour council votes | The Daily Quay", [[
<header><a href="/subscribe">Subscribe</a> <a href="/newsletter">Get the newsletter</a></header>
<article><p>The council met on Tuesday to vote on the new ferry. Continue reading below.</p></article>
<script src="https://cdn.piano.io/api/tinypass.min.js"></script>
<script type="application/ld+json">{"@type":"NewsArticle","isAccessibleForFree": true}</script>]], 50000)

local SMALL_BLOG_ABOUT_BLOCKING = page("Notes on blocking | a small blog", [[
<p>Our CSS uses display:block a lot. Access was denied to nobody. The page is blocked? No.</p>]])

describe("gofr_sim.engine.blockpage.classify", function()
  local positives = {
    { "Cloudflare block (1020)", CLOUDFLARE_BLOCK, "block_page" },
    { "Cloudflare JS challenge", CLOUDFLARE_CHALLENGE, "block_page" },
    { "Imperva/Incapsula", INCAPSULA, "block_page" },
    { "Akamai access denied", AKAMAI, "block_page" },
    { "PerimeterX press & hold", PERIMETERX, "captcha" },
    { "DataDome", DATADOME, "captcha" },
    { "Google unusual traffic", GOOGLE_SORRY, "captcha" },
    { "Amazon robot check", AMAZON, "captcha" },
    { "hCaptcha challenge page", HCAPTCHA_CHALLENGE, "captcha" },
    { "Piano modal", PIANO_PAYWALL, "paywall" },
    { "JSON-LD isAccessibleForFree false", JSONLD_PAYWALL, "paywall" },
    { "metered: free article limit", METER_PAYWALL, "paywall" },
    { "paywall component and prompt", WIDGET_PROMPT_PAYWALL, "paywall" },
  }
  for _, case in ipairs(positives) do
    it(("classifies %s as %s"):format(case[1], case[3]), function()
      assert.are.equal(case[3], blockpage.classify(200, HTML, case[2]))
    end)
  end

  local negatives = {
    { "a news article about CAPTCHAs and block pages", ARTICLE_MENTIONING_CAPTCHA },
    { "a contact form with a reCAPTCHA widget", CONTACT_FORM_WITH_RECAPTCHA },
    { "a news page with subscribe links and Piano scripts", NEWS_WITH_SUBSCRIBE_LINK },
    { "a small page with 'block' and 'denied' in prose", SMALL_BLOG_ABOUT_BLOCKING },
  }
  for _, case in ipairs(negatives) do
    it("leaves alone " .. case[1], function()
      assert.is_nil(blockpage.classify(200, HTML, case[2]))
    end)
  end

  it("leaves alone every page of the shipped fixture site", function()
    for _, p in ipairs(assert(sim.fixtures.pages(support.fixtures_root))) do
      local body = assert(support.read_file(support.fixtures_root .. "/" .. p))
      assert.is_nil(blockpage.classify(200, HTML, body), p)
    end
  end)

  it("looks only at 200 responses with an HTML content type (or none)", function()
    assert.is_nil(blockpage.classify(403, HTML, CLOUDFLARE_BLOCK))
    assert.is_nil(blockpage.classify(503, HTML, CLOUDFLARE_CHALLENGE))
    assert.is_nil(blockpage.classify(200, "application/json", CLOUDFLARE_BLOCK))
    assert.is_nil(blockpage.classify(200, "text/plain", AKAMAI))
    assert.are.equal("block_page", blockpage.classify(200, nil, AKAMAI))
    assert.are.equal("block_page", blockpage.classify(200, "application/xhtml+xml", AKAMAI))
    assert.is_nil(blockpage.classify(200, HTML, ""))
    assert.is_nil(blockpage.classify(200, HTML, nil))
  end)

  it("applies phrase rules only to small pages, structural markers at any size", function()
    local big_phrase = page("Access Denied", "<p>You don't have permission to access this.</p>",
      blockpage.SMALL_HTML + 1000)
    assert.is_nil(blockpage.classify(200, HTML, big_phrase))
    local padding = ("<p>padding</p>"):rep(5000)
    local big_challenge = CLOUDFLARE_CHALLENGE:gsub("</body>", padding .. "</body>")
    assert.is_true(#big_challenge > blockpage.SMALL_HTML)
    assert.are.equal("block_page", blockpage.classify(200, HTML, big_challenge))
  end)

  it("reads isAccessibleForFree in JSON-LD (any quoting) and microdata", function()
    assert.are.equal("paywall", blockpage.classify(200, HTML,
      [[<meta itemprop="isAccessibleForFree" content="false"><p>x</p>]]))
    assert.are.equal("paywall", blockpage.classify(200, HTML,
      [[<script>{'isAccessibleForFree' : 'False'}</script>]]))
    assert.is_nil(blockpage.classify(200, HTML,
      [[<script>{"isAccessibleForFree": true, "x": false}</script>]]))
  end)

  it("is case-insensitive and survives any bytes", function()
    assert.are.equal("block_page", blockpage.classify(200, HTML, AKAMAI:upper()))
    assert.is_nil(blockpage.classify(200, HTML, "\0\255\254<title></title"))
    assert.is_nil(blockpage.classify(200, HTML, "<title>"))
  end)
end)

describe("gofr_sim.engine.blockpage.classify_text (page text, as MCP returns it)", function()
  it("classifies short texts by their phrases", function()
    assert.are.equal("block_page", blockpage.classify_text(
      "Sorry, you have been blocked. You are unable to access example.com",
      "Attention Required! | Cloudflare"))
    assert.are.equal("block_page", blockpage.classify_text("Checking your browser.", "Just a moment..."))
    assert.are.equal("captcha", blockpage.classify_text(
      "Our systems have detected unusual traffic from your computer network."))
    assert.are.equal("captcha", blockpage.classify_text("Please verify you are human", "Security"))
    assert.are.equal("paywall", blockpage.classify_text("The council met... Subscribe to continue reading."))
  end)

  it("does not take an article that mentions them for one", function()
    local prose = ("The council met on Tuesday to vote on the ferry. "):rep(120)
    assert.is_nil(blockpage.classify_text(prose .. " A captcha asks: are you a robot? " .. prose))
    assert.is_nil(blockpage.classify_text("A captcha is a test; the word captcha appears once.", "Tech"))
    assert.is_nil(blockpage.classify_text(""))
    assert.is_nil(blockpage.classify_text(nil, nil))
  end)

  it("reads sim.mcp results: get_content pages, chunks and get_session content", function()
    assert.are.equal("captcha", blockpage.classify_result(
      { ok = true, data = { title = "Are you a robot?", text = "Press the button." } }))
    assert.are.equal("paywall", blockpage.classify_result(
      { ok = true, data = "...\"text\": \"Subscribe to continue reading\"..." }))
    assert.are.equal("block_page", blockpage.classify_result(
      { ok = true, data = { content = '{"title": "Access Denied", "text": "Pardon our interruption"}' } }))
    assert.is_nil(blockpage.classify_result({ ok = false, error_type = "fetch_error" }))
    assert.is_nil(blockpage.classify_result({ ok = true, data = { session_id = "abc" } }))
  end)

  it("counts content tools' blocked results as mcp.block_pages{class=,tool=}", function()
    local reg = metrics.new()
    local previous = metrics.install(reg)
    local r = { ok = true, data = { title = "Access Denied", text = "You don't have permission to access" } }
    assert.are.equal("block_page", blockpage.count_result("get_content", r))
    assert.is_nil(blockpage.count_result("get_structure", r))
    assert.is_nil(blockpage.count_result("get_content", { ok = true, data = { text = "hello" } }))
    metrics.install(previous)
    assert.are.equal(1, reg.counters["mcp.block_pages{class=block_page,tool=mcp.get_content}"].value)
    local n = 0
    for _ in pairs(reg.counters) do n = n + 1 end
    assert.are.equal(1, n)
  end)
end)

describe("sim.http and block pages", function()
  local srv, reg, previous

  setup(function()
    srv = assert(sim.server.listen { port = 0, handler = function(req, res)
      if req.path == "/blocked" then
        res:send(200, { ["Content-Type"] = HTML }, CLOUDFLARE_BLOCK)
      elseif req.path == "/captcha" then
        res:send(200, { ["Content-Type"] = "text/html" }, AMAZON)
      elseif req.path == "/json" then
        res:send(200, { ["Content-Type"] = "application/json" }, '{"ok":true}')
      elseif req.path == "/forbidden" then
        res:send(403, { ["Content-Type"] = HTML }, CLOUDFLARE_BLOCK)
      else
        res:send(200, { ["Content-Type"] = HTML }, ARTICLE_MENTIONING_CAPTCHA)
      end
    end })
  end)

  teardown(function()
    srv.close()
    sim.run(function() sim.sleep(0.01) end)
    support.assert_clean()
  end)

  before_each(function()
    reg = metrics.new()
    previous = metrics.install(reg)
  end)

  after_each(function()
    metrics.install(previous)
    sim.http.classify_block_pages = true
  end)

  it("records a 200 block page as an error of its class", function()
    sim.run(function()
      for _, p in ipairs { "/blocked", "/captcha", "/article", "/json", "/forbidden" } do
        local res = sim.http.get(srv.url .. p)
        assert.is_not_nil(res) -- still a response: only the metric says error
      end
    end)
    local agg = reg:aggregate { tool = "http.get" }
    assert.are.equal(5, agg.count)
    assert.are.equal(3, agg.errors)
    assert.are.same({ block_page = 1, captcha = 1, auth_forbidden = 1 }, agg.error_types)
  end)

  it("counts response bytes and media types per tool", function()
    sim.run(function()
      sim.http.get(srv.url .. "/json")
      sim.http.get(srv.url .. "/json")
      sim.http.get(srv.url .. "/captcha")
    end)
    assert.are.equal(22 + #AMAZON, reg.counters["http.bytes{tool=http.get}"].value)
    assert.are.equal(2, reg.counters["http.content_type{tool=http.get,type=application/json}"].value)
    assert.are.equal(1, reg.counters["http.content_type{tool=http.get,type=text/html}"].value)
  end)

  it("can be switched off", function()
    sim.http.classify_block_pages = false
    sim.run(function() sim.http.get(srv.url .. "/blocked") end)
    assert.are.equal(0, reg:aggregate({ tool = "http.get" }).errors)
  end)
end)

describe("load.lua counts block pages", function()
  local dir, json = nil, require "gofr_sim.util.json"

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(require("gofr_sim.core").fs_mkdirs(dir))
    assert(require("gofr_sim.core").fs_write_atomic(dir .. "/robot.html", AMAZON))
  end)

  teardown(function()
    require("gofr_sim.util.fs").remove_tree(dir)
  end)

  local function run(extra, status)
    local args = { support.source_dir .. "/scenarios/load.lua", "--fixtures-dir", dir,
                   "--total-requests", "6", "--rate", "1000", "--quiet", "--output", dir .. "/r.json" }
    for _, a in ipairs(extra) do args[#args + 1] = a end
    local r = support.run_cli(args)
    assert.are.equal(status or 0, r.status, r.stdout .. r.stderr)
    return assert(json.decode(support.read_file(dir .. "/r.json")))
  end

  it("as errors of their class in HTTP mode", function()
    -- every page is a CAPTCHA: no request succeeded, the run fails (exit 1)
    local rep = run({ "--protocol", "http" }, 1)
    assert.are.equal("no_success", rep.verdict.problems[1].rule)
    local types = rep.metrics.by_tool["http.get"].error_types
    assert.are.same({ "captcha" }, json.keys(types))
    assert.are.equal(6, types.captcha)
  end)

  it("as mcp.block_pages in MCP mode (embedded twin)", function()
    local rep = run {}
    local n = 0
    for key, v in json.pairs(rep.counters) do
      if key:find("^mcp%.block_pages{class=captcha,") then n = n + v end
    end
    assert.is_true(n > 0)
  end)
end)
