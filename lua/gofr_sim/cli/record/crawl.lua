--- gofr_sim.cli.record.crawl: fetches the pages of a site to record
-- (docs/recording.md, "What is recorded"): its front page and, at depth 1,
-- the same-site HTML pages the front page links to.
--
--   local crawl = require "gofr_sim.cli.record.crawl"
--   sim.run(function()
--     local pages, skipped = crawl.site("https://example.com/", { depth = 1, max_pages = 5, timeout = 30 })
--   end)
--
-- Inside a persona (it yields on I/O, through sim.http). It only reads the
-- sites; nothing is written and no twin is started.
local sim = require "gofr_sim"
local html = require "gofr_sim.engine.html"

local type, ipairs, tostring = type, ipairs, tostring

local M = {}

M.USER_AGENT = "gofr-sim-recorder/0.1"
M.ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
--- Largest page kept, in bytes (a bigger one fails that page: body_too_large).
M.MAX_BODY = 32 * 1024 * 1024

-- URLs ------------------------------------------------------------------------------

local DEFAULT_PORTS = { http = "80", https = "443" }

-- host[:port] of an http(s) URL, lower case, without user info or the
-- default port; nil for other URLs.
local function site_of(url)
  local scheme, authority = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  scheme = scheme and scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil end
  authority = authority:gsub("^.*@", ""):lower()
  local host, port = authority:match("^(.-):(%d+)$")
  if host and port == DEFAULT_PORTS[scheme] then authority = host end
  return authority
end

-- The URL without its fragment, scheme and host lower-cased (a dedup key).
local function url_key(url)
  local u = url:gsub("#.*$", "")
  local head, rest = u:match("^(%a[%w+.-]*://[^/?#]*)(.*)$")
  if not head then return u end
  if rest == "" then rest = "/" end
  return head:lower() .. rest
end

local function is_html_type(ct)
  return ct == nil or ct:lower():find("html", 1, true) ~= nil
end

-- Fetching ----------------------------------------------------------------------------------

-- GETs url. -> {link= (url), url= (final), status=, content_type=, body=} | nil, err_type, message
local function fetch(url, o)
  local res, err_type, msg = sim.http.get(url, {
    timeout = o.timeout, max_body = M.MAX_BODY, max_redirects = 10,
    headers = { ["User-Agent"] = M.USER_AGENT, Accept = M.ACCEPT },
  })
  if not res then return nil, err_type, msg end
  return { link = url, url = res.url or url, status = res.status, body = res.body,
           content_type = res.headers["content-type"] }
end

-- The front page's same-site links (document order, deduplicated, the
-- front page itself left out), at most n.
local function same_site_links(front, n)
  local page = html.extract(front.body, front.url,
    { include_links = true, filter_noise = false, include_images = false, include_meta = false })
  local out, seen, here = {}, { [url_key(front.url)] = true }, site_of(front.url)
  for _, link in ipairs(page and page.links or {}) do
    if #out >= n then break end
    local u = type(link.url) == "string" and link.url:gsub("#.*$", "")
    if u and site_of(u) == here and not seen[url_key(u)] then
      seen[url_key(u)] = true
      out[#out + 1] = u
    end
  end
  return out
end

--- crawl.site(url, {depth=0|1, max_pages=, timeout=}) -> pages, skipped |
-- nil, err_type, message (the front page failed; "invalid_url" when url is
-- not http(s)). The front page first, then at depth 1 up to max_pages - 1
-- same-site HTML pages it links to, in document order; a linked page that
-- fails, redirects off the site, is not HTML, or whose final URL or bytes
-- were seen already ("/" and "/index.html") is skipped. Stops following
-- links once the run is stopping. pages[i] = {link= (the URL requested),
-- url= (final), status=, content_type=, body=}; skipped = {{url=, why=}}.
function M.site(url, o)
  if not site_of(url) then return nil, "invalid_url", "not an http:// or https:// URL" end
  local front, err_type, msg = fetch(url, o)
  if not front then return nil, err_type, msg end
  local pages, skipped = { front }, {}
  if o.depth < 1 or o.max_pages < 2 then return pages, skipped end
  local seen = { [url_key(front.url)] = true, [front.body] = front.url }
  for _, link in ipairs(same_site_links(front, o.max_pages - 1)) do
    if sim.stopping() then break end
    local p, e, m = fetch(link, o)
    if not p then
      skipped[#skipped + 1] = { url = link, why = e .. ": " .. tostring(m) }
    elseif site_of(p.url) ~= site_of(front.url) then
      skipped[#skipped + 1] = { url = link, why = "redirected off the site to " .. p.url }
    elseif seen[url_key(p.url)] or seen[p.body] then
      skipped[#skipped + 1] = { url = link, why = "the same page as " .. (seen[p.body] or p.url) }
    elseif not is_html_type(p.content_type) then
      skipped[#skipped + 1] = { url = link, why = "not HTML (" .. tostring(p.content_type) .. ")" }
    else
      seen[url_key(p.url)], seen[p.body] = true, link
      pages[#pages + 1] = p
    end
  end
  return pages, skipped
end

return M
