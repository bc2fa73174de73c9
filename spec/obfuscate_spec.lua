-- gofr_sim.engine.obfuscate: the page obfuscator through the Lua API, on a page
-- full of planted PII and on every fixture page: the element and attribute
-- sequence is unchanged, the PII is gone, prices and ids survive, dates
-- are shifted, the result is deterministic, and misuse raises naming the
-- option.
local obf = require "gofr_sim.engine.obfuscate"
local html = require "gofr_sim.engine.html"
local support = require "support"

local PLANTED = table.concat({
  '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
  '<meta name="author" content="Marisol Okafor">',
  '<meta property="og:image" content="https://cdn.example.com/og-secret.jpg">',
  '<title>Notes by Marisol Okafor</title>',
  '<style>.hero { background: url("/img/style-secret.png"); }</style>',
  '<script type="application/ld+json">{"author": {"name": "Marisol Okafor",',
  ' "email": "marisol.okafor@example.org"}, "datePublished": "2024-05-31", "sku": "48213"}</script>',
  '</head><body data-id="12345678">',
  '<p class="byline">By <a href="/about">Marisol Okafor</a> on ',
  '<time datetime="2024-05-31">31 May 2024</time></p>',
  '<p>Mail first.last+tag@sub.example.org or name@example.co.uk; call +44 20 7946 0958,',
  ' (212) 555-0123, 212-555-0123, +1-212-555-0123, 020 7946 0958, +81 3-1234-5678 or',
  ' 07911 123456. Boots $129.99, order 48213, since 1987, on 2024-05-31.</p>',
  '<img src="/img/src-secret.jpg" srcset="/img/a-secret.jpg 1x, /img/b-secret.jpg 2x"',
  ' alt="Portrait of Marisol Okafor" title="Marisol Okafor">',
  '<img data-src="/img/lazy-secret.jpg" data-srcset="/img/lazy-secret.jpg 640w">',
  '<picture><source srcset="/img/picture-secret.webp"><img src="/img/p-secret.jpg"></picture>',
  '<div style="background:url(/img/attr-secret.jpg)" aria-label="Marisol Okafor"',
  ' data-author="Marisol Okafor"></div>',
  '<form><input name="who" value="Marisol Okafor"></form>',
  '<!-- keep this comment -->',
  '</body></html>',
})

local PII = { "Marisol", "Okafor", "okafor", "first.last", "sub.example.org", "name@example",
              "7946 0958", "555-0123", "1234-5678", "07911", "secret", "31 May 2024" }

local function fixture(name)
  return assert(support.read_file(support.fixtures_root .. "/" .. name))
end

-- The elements of a page in order: tag and sorted attribute names.
local function tag_sequence(page)
  local out = {}
  for i, el in ipairs(assert(html.select(page, "*"))) do
    local names = {}
    for k in pairs(el.attrs) do names[#names + 1] = k end
    table.sort(names)
    out[i] = el.tag .. "(" .. table.concat(names, ",") .. ")"
  end
  return out
end

-- Every e-mail address of s (a simple pattern, for the fixture pages).
local function emails(s)
  local out = {}
  for e in s:gmatch("[%w._%%+-]+@[%w.-]+%.%a%a+") do out[#out + 1] = e end
  return out
end

describe("gofr_sim.engine.obfuscate", function()
  after_each(function() support.assert_clean() end)

  it("removes planted PII and keeps the page's structure", function()
    local out, stats = obf.page(PLANTED, { seed = "recording-1", date_shift_days = 17,
                                           placeholder_image = "/_placeholder.png" })
    for _, s in ipairs(PII) do
      assert.is_nil(out:find(s, 1, true), s)
    end
    assert.are.same(tag_sequence(PLANTED), tag_sequence(out))
    for _, s in ipairs { '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
                         '<!-- keep this comment -->', 'data-id="12345678"', "$129.99",
                         " 48213, ", " 1987, ", '"sku": "48213"', "17 June 2024</time>",
                         'datetime="2024-06-17"', '"datePublished": "2024-06-17"',
                         " 2024-06-17.</p>", 'src="/_placeholder.png"',
                         'srcset="/_placeholder.png 1x, /_placeholder.png 2x"',
                         'url("/_placeholder.png")', "url(/_placeholder.png)",
                         "+00 00 0000 0000", "xxxxx.xxxx+xxx@xxx.xxxxxxx.xxx" } do
      assert.is_truthy(out:find(s, 1, true), s)
    end
    assert.are.same({ text_nodes = stats.text_nodes, emails = 3, phones = 7, images = 10,
                      dates = 4, attributes = stats.attributes }, stats)
    assert.is_true(stats.text_nodes >= 4 and stats.attributes >= 14)
  end)

  it("is deterministic for a seed and differs between seeds", function()
    local a = obf.page(PLANTED, { seed = "r1" })
    assert.are.equal(a, (obf.page(PLANTED, { seed = "r1" })))
    assert.are_not.equal(a, (obf.page(PLANTED, { seed = "r2" })))
    -- without date_shift_days the shift comes from the seed, and is never 0
    assert.is_nil(a:find("31 May 2024", 1, true))
  end)

  it("keeps the structure of every fixture page and removes its e-mail addresses", function()
    local pages = { "index.html", "about.html", "contact.html", "products.html",
                    "product-detail.html", "script-heavy.html", "external-links.html",
                    "chinese.html", "japanese.html", "blog/index.html", "blog/post-1.html",
                    "admin/index.html", "private/notes.html" }
    for _, name in ipairs(pages) do
      local page = fixture(name)
      local out, stats = obf.page(page, { seed = name, date_shift_days = 30 })
      assert.are.same(tag_sequence(page), tag_sequence(out), name)
      for _, e in ipairs(emails(page)) do
        assert.is_nil(out:find(e, 1, true), name .. ": " .. e)
      end
      assert.is_true(stats.text_nodes > 0, name)
    end
  end)

  it("masks the fixture site's phone numbers", function()
    local out = obf.page(fixture("contact.html"), { seed = "c" })
    for _, p in ipairs { "7946 0958", "7946 0321", "555-0147", "(212)", "123456" } do
      assert.is_nil(out:find(p, 1, true), p)
    end
  end)

  it("accepts any bytes", function()
    for _, s in ipairs { "", "\0\0<p>\0", "\255\254<p title='x", "<!--", "<script>",
                         string.rep("<div>", 5000) .. "deep" } do
      local out = obf.page(s)
      assert.are.equal("string", type(out))
    end
  end)

  it("raises on misuse, naming the option", function()
    local cases = {
      { { seed = 1 }, "option 'seed' must be a string" },
      { { date_shift_days = 1.5 }, "option 'date_shift_days' must be an integer" },
      { { date_shift_days = 40000 }, "option 'date_shift_days' must be an integer" },
      { { date_shift_days = "1" }, "option 'date_shift_days' must be a number" },
      { { placeholder_image = "a b" }, "option 'placeholder_image' must be a URL" },
      { { placeholder_image = "" }, "option 'placeholder_image' must be a URL" },
      { { placeholder_image = "/x\".png" }, "option 'placeholder_image' must be a URL" },
      { { nope = true }, "unknown option 'nope'" },
    }
    for _, c in ipairs(cases) do
      local ok, err = pcall(obf.page, "<p>x</p>", c[1])
      assert.is_false(ok)
      assert.is_truthy(err:find(c[2], 1, true), err)
      assert.is_truthy(err:find("gofr_sim.engine.obfuscate.page", 1, true), err)
    end
    local ok, err = pcall(obf.page, 42)
    assert.is_false(ok)
    assert.is_truthy(err:find("html must be a string", 1, true))
  end)
end)
