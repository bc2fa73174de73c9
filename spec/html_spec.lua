-- gofr_sim.engine.html: get_content / get_structure extraction on the fixture site,
-- selectors, URL resolution, option errors and hostile input.
local html = require "gofr_sim.engine.html"
local support = require "support"

local BASE = "http://127.0.0.1:8088/"

local function fixture(name)
  local f = assert(io.open(support.fixtures_root .. "/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function lines(text)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\n") do out[#out + 1] = line end
  return out
end

local function find(list, key, value)
  for _, item in ipairs(list) do
    if item[key] == value then return item end
  end
end

describe("gofr_sim.engine.html", function()
  after_each(function() support.assert_clean() end)

  describe("extract", function()
    it("extracts the fixture home page as get_content does", function()
      local page = assert(html.extract(fixture("index.html"), BASE .. "index.html"))
      assert.are.equal("Harbour & Pine Outfitters — Coastal and forest gear since 1987",
                       page.title)
      assert.are.equal("en-GB", page.language)
      local l = lines(page.text)
      -- the title's string first, then every string of the page on its own line
      assert.are.same({ "Harbour & Pine Outfitters — Coastal and forest gear since 1987",
                        "Harbour & Pine Outfitters", "Home", "About us", "Products" },
                      { l[1], l[2], l[3], l[4], l[5] })
      assert.are.equal("© 2026 Harbour & Pine Outfitters Ltd, The Net Loft, 14 Quay Street, "
                       .. "Wrenmouth. A fictional company made for testing.", l[#l - 4])
      assert.are.same({ "About", "Contact", "Journal", "Shop" },
                      { l[#l - 3], l[#l - 2], l[#l - 1], l[#l] })
      -- only spaces and tabs are collapsed: a string's own line breaks stay
      assert.is_truthy(page.text:find("Every item we sell carries a lifetime repair promise. Send a "
                                       .. "torn pack strap or a delaminated hood back\n to the workshop",
                                       1, true))
      assert.are.same({ level = 1, text = "Gear for the place where the forest meets the sea" },
                      page.headings[1])
      assert.are.same({ level = 3, text = "Lightkeeper lantern" }, page.headings[#page.headings])
      assert.are.equal(9, #page.headings)
      -- links: resolved, de-duplicated, with title and external
      assert.are.equal(14, #page.links)
      assert.are.same({ url = BASE .. "index.html", text = "", title = "", external = false },
                      page.links[1])
      assert.are.same({ url = BASE .. "blog/", text = "Journal", title = "", external = false },
                      page.links[5])
      assert.are.same({ url = BASE .. "products.html#headland-38", text = "Headland 38 pack", title = "",
                        external = false }, page.links[11])
      assert.is_nil(page.images)            -- include_images defaults to false
      assert.are.same({
        viewport = "width=device-width, initial-scale=1",
        description = "Harbour & Pine Outfitters makes waterproof shells, packs and camp kit in Wrenmouth, "
          .. "built to be repaired rather than replaced.",
        keywords = "outdoor gear, waterproof jacket, backpack, camping, repairs",
        author = "Harbour & Pine Outfitters",
        ["og:title"] = "Harbour & Pine Outfitters",
        ["og:type"] = "website",
        ["og:image"] = "images/hero-harbour.svg",
      }, page.meta)
    end)

    it("drops script, style and noscript text, keeps the rest", function()
      local page = assert(html.extract(fixture("script-heavy.html"), BASE .. "script-heavy.html"))
      assert.is_nil(page.text:find("schema.org", 1, true))           -- ld+json script
      assert.is_nil(page.text:find("grid-template-columns", 1, true)) -- style
      assert.is_nil(page.text:find("The planner needs JavaScript", 1, true)) -- noscript
      assert.is_truthy(page.text:find("\nTrail planner\nPick a start time", 1, true))
      assert.is_truthy(page.text:find("\nCalloway sands and Gull Island\nCrosses the sands", 1, true))
    end)

    it("honours include_links, include_images, include_meta", function()
      local page = assert(html.extract(fixture("index.html"), BASE, {
        include_links = false, include_images = true, include_meta = false }))
      assert.is_nil(page.links)
      assert.is_nil(page.meta)
      assert.are.equal(5, #page.images)
      assert.are.same({ url = BASE .. "images/logo.svg", alt = "Harbour & Pine Outfitters logo" },
                      page.images[1])
    end)

    it("marks external links against the page's host, keeping paths as urljoin does", function()
      local page = assert(html.extract(fixture("external-links.html"), BASE .. "external-links.html"))
      local dots = find(page.links, "text", "A link with dot segments")
      assert.are.same({ url = "https://www.example.com/a/b/../c/./d.html",
                        text = "A link with dot segments", title = "", external = true }, dots)
      local home = find(page.links, "url", BASE .. "index.html")
      assert.are.equal("", home.text)       -- the logo link comes first; the brand link is a duplicate
      assert.is_false(home.external)
    end)

    it("filters ad elements and noise lines only with filter_noise", function()
      local body = "<title>T</title><div class='sponsored-box'>Buy now</div><p>Read more</p><p>Kept</p>"
      assert.are.equal("T\nKept", html.extract(body, BASE).text)
      assert.are.equal("T\nBuy now\nRead more\nKept", html.extract(body, BASE, { filter_noise = false }).text)
    end)

    it("limits the text to the selector's matches", function()
      local page = assert(html.extract(fixture("index.html"), BASE, { selector = "article.card h3" }))
      assert.are.equal("Sou'wester Shell, third edition\n\nHeadland 38 pack\n\nLightkeeper lantern",
                       page.text)
      assert.are.equal("en-GB", page.language)
      assert.is_string(page.title)
      assert.is_nil(page.links)
      assert.is_nil(page.headings)
      assert.is_nil(page.meta)
    end)

    it("reports selector errors with gofr-dig's codes", function()
      local page, code, msg = html.extract(fixture("index.html"), BASE, { selector = "aside.promo" })
      assert.is_nil(page)
      assert.are.equal("SELECTOR_NOT_FOUND", code)
      assert.are.equal("Selector 'aside.promo' did not match any elements", msg)
      page, code, msg = html.extract(fixture("index.html"), BASE, { selector = "main ~ p" })
      assert.is_nil(page)
      assert.are.equal("INVALID_SELECTOR", code)
      assert.are.equal("Invalid selector 'main ~ p': unexpected character at position 6", msg)
    end)

    it("rejects bad options, naming them", function()
      local function raised(...)
        local ok, err = pcall(...)
        assert.is_false(ok)
        return err
      end
      assert.matches("unknown option 'filter_nosie'", raised(html.extract, "", BASE, { filter_nosie = true }),
                     1, true)
      assert.matches("option 'include_links' must be a boolean, got string",
                     raised(html.extract, "", BASE, { include_links = "yes" }), 1, true)
      assert.matches("option 'selector' must be a string", raised(html.extract, "", BASE, { selector = 3 }),
                     1, true)
      assert.matches("option 'include_forms' must be a boolean",
                     raised(html.structure, "", BASE, { include_forms = 1 }), 1, true)
      assert.matches("body must be a string, got nil", raised(html.extract, nil, BASE), 1, true)
      assert.matches("base_url must not contain NUL bytes", raised(html.extract, "", "http://x/\0"), 1, true)
    end)

    it("survives hostile input", function()
      local page = assert(html.extract("", BASE))
      assert.are.equal("", page.text)
      assert.is_nil(page.title)
      page = assert(html.extract("<p>a\0b</p><p>\255\254 ok</p>", BASE))
      assert.is_truthy(page.text:find("\239\191\189\239\191\189 ok", 1, true))
      local deep = ("<div>"):rep(20000) .. "<a href='x'>in</a>"
      page = assert(html.extract(deep, BASE))
      assert.are.equal("in", page.text)
      assert.are.equal(BASE .. "x", page.links[1].url)
    end)
  end)

  describe("structure", function()
    it("analyses the contact page as get_structure does", function()
      local s = assert(html.structure(fixture("contact.html"), BASE .. "contact.html"))
      assert.is_string(s.title)
      assert.are.equal("en-GB", s.language)
      local nav = find(s.sections, "tag", "nav")
      assert.are.same({ "site-nav" }, nav.classes)
      assert.is_nil(nav.id)
      assert.are.equal(10, nav.links_count)
      assert.are.equal("Home About us Products Sou'wester Shell Journal Contact 中文 日本語 Friends & links "
                       .. "Trail planner", nav.text_preview)
      assert.are.same({ url = BASE .. "index.html", text = "Home" }, s.navigation[1])
      assert.are.equal(10, #s.navigation)
      assert.are.equal(1, #s.forms)
      local form = s.forms[1]
      assert.are.equal("/contact/send", form.action)
      assert.are.equal("POST", form.method)
      assert.are.same({ type = "text", name = "name", id = "c-name", required = true }, form.fields[3])
      assert.are.same({ type = "select", name = "topic", id = "c-topic", required = false }, form.fields[7])
      assert.are.same({ url = "mailto:hello@example.com", text = "hello@example.com" },
                      find(s.internal_links, "url", "mailto:hello@example.com"))
      for _, o in ipairs(s.outline) do
        assert.is_number(o.level)
        assert.is_true(#o.text > 0)
      end
      assert.is_table(s.meta)
    end)

    it("sorts links into internal and external", function()
      local s = assert(html.structure(fixture("external-links.html"), BASE .. "external-links.html"))
      assert.are.equal(23, #s.external_links)
      assert.are.same({ url = "https://www.metoffice.gov.uk/weather/forecast/uk",
                        text = "Met Office forecasts" }, s.external_links[1])
      assert.is_nil(find(s.internal_links, "url", "https://www.metoffice.gov.uk/weather/forecast/uk"))
      local main = find(s.sections, "tag", "main")
      assert.are.equal("Friends & links", main.heading)
      assert.are.equal(203, #main.text_preview:gsub("[\128-\191]", ""))  -- 200 code points + "..."
      assert.matches("%.%.%.$", main.text_preview)
    end)

    it("leaves out what is not asked for, and scopes to a selector", function()
      local s = assert(html.structure(fixture("index.html"), BASE, {
        include_navigation = false, include_forms = false, include_outline = false,
        include_internal_links = false, include_external_links = false }))
      assert.is_nil(s.navigation)
      assert.is_nil(s.forms)
      assert.is_nil(s.outline)
      assert.is_nil(s.internal_links)
      assert.is_nil(s.external_links)
      assert.is_table(s.sections)
      s = assert(html.structure(fixture("index.html"), BASE, { selector = "main" }))
      -- grouped by tag: header, nav, main, article, section, aside, footer
      assert.are.same({ "article", "article", "article", "section" },
                      { s.sections[1].tag, s.sections[2].tag, s.sections[3].tag, s.sections[4].tag })
      assert.are.equal(4, #s.sections)
      assert.are.same({}, s.navigation)
      assert.are.equal("Gear for the place where the forest meets the sea", s.outline[1].text)
      local none, code = html.structure(fixture("index.html"), BASE, { selector = "aside" })
      assert.is_nil(none)
      assert.are.equal("SELECTOR_NOT_FOUND", code)
    end)
  end)

  describe("select", function()
    it("returns tag, text and attributes of every match", function()
      local els = assert(html.select(fixture("index.html"), "nav.site-nav > a[hreflang]"))
      assert.are.same({
        { tag = "a", text = "中文", attrs = { href = "chinese.html", hreflang = "zh-CN", lang = "zh-CN" } },
        { tag = "a", text = "日本語", attrs = { href = "japanese.html", hreflang = "ja", lang = "ja" } },
      }, els)
      assert.are.equal(3, #assert(html.select(fixture("index.html"), "main article.card")))
      assert.are.same({}, assert(html.select(fixture("index.html"), "aside")))
      local none, code, msg = html.select("<p>", "p[")
      assert.is_nil(none)
      assert.are.equal("INVALID_SELECTOR", code)
      assert.are.equal("Invalid selector 'p[': expected an attribute name at position 3", msg)
    end)
  end)

  describe("resolve_url", function()
    it("follows RFC 3986 section 5", function()
      local base = "http://a/b/c/d;p?q"
      assert.are.equal("http://a/b/c/g", html.resolve_url(base, "./g"))
      assert.are.equal("http://a/g", html.resolve_url(base, "../../../g"))
      assert.are.equal("http://a/b/c/d;p?y", html.resolve_url(base, "?y"))
      assert.are.equal("http://g", html.resolve_url(base, "//g"))
      assert.are.equal("https://x/c", html.resolve_url(base, "https://x/a/../c"))
      assert.has_error(function() html.resolve_url(base, nil) end)
    end)
  end)
end)
