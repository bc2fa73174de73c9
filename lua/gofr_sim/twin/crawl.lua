--- gofr_sim.twin.crawl: get_content's crawl at depth 2 and 3, as gofr-dig
-- walks a site (contract §4, get_content): the start page, then level by
-- level the same-host links of the pages fetched at the level before, each
-- URL at most once (de-duplicated with its trailing slashes stripped), at
-- most max_pages links per level.
--
--   local crawl = require "gofr_sim.twin.crawl"
--   local results, failed_root = crawl.run(url, { depth = 3, max_pages = 5 }, fetch_page)
--
-- fetch_page(url) -> the page dict of one fetch (an ordered object with
-- success, url, title, text, language, links, ...: tools' fetch_page). run
-- returns the raw crawl results {success, crawl_depth, max_pages_per_level,
-- start_url, url, title, text, language, headings?, links?, images?, meta?,
-- pages = [page + depth], summary = {total_pages, total_text_length,
-- pages_by_depth}}, or nil and the root's page dict when the start page
-- failed. Pages that fail deeper down are left out. What the tool does with
-- the results (news feed, sessions, size limits) is tools.lua's.
local json = require "gofr_sim.util.json"
local utf8 = require "gofr_sim.util.utf8"

local ipairs, tostring = ipairs, tostring

local M = {}

local function host_of(url)
  return (url:match("^%a[%w+.-]*://([^/?#]*)") or ""):lower()
end

local function strip_slash(u) return (u:gsub("/+$", "")) end

local function text_chars(p) return utf8.char_count(p.text or "") end

-- Same-host, not yet visited links of a page, in page order.
local function internal_links(page, host, visited)
  local out = {}
  for _, link in ipairs(page.links or {}) do
    local u = link.url or ""
    if link.external == false and u:match("^http") and host_of(u) == host
        and not visited[strip_slash(u)] then
      out[#out + 1] = u
    end
  end
  return out
end

local function first_n(list, n)
  local out, seen = {}, {}
  for _, v in ipairs(list) do
    if #out >= n then break end
    if not seen[v] then seen[v], out[#out + 1] = true, v end
  end
  return out
end

-- Fetches the not yet visited links of one level into results; -> the
-- links of the next level (at most max_pages).
local function crawl_level(walk, results, links, depth)
  local next_links, count = {}, 0
  for _, link in ipairs(links) do
    if not walk.visited[strip_slash(link)] then
      walk.visited[strip_slash(link)] = true
      local page = walk.fetch_page(link)
      if page.success then
        page.depth = depth
        results.pages[#results.pages + 1] = page
        results.summary.total_pages = results.summary.total_pages + 1
        results.summary.total_text_length = results.summary.total_text_length + text_chars(page)
        count = count + 1
        if depth < walk.depth then
          for _, l in ipairs(internal_links(page, walk.host, walk.visited)) do
            next_links[#next_links + 1] = l
          end
        end
      end
    end
  end
  results.summary.pages_by_depth[tostring(depth)] = count
  return first_n(next_links, walk.max_pages)
end

--- crawl.run(url, o, fetch_page) -> results | nil, root page dict
-- o: depth (2..3), max_pages (links followed per level). See the module
-- comment.
function M.run(url, o, fetch_page)
  local walk = { host = host_of(url), visited = {}, fetch_page = fetch_page, depth = o.depth,
                 max_pages = o.max_pages }
  walk.visited[strip_slash(url)] = true
  local root = fetch_page(url)
  if not root.success then return nil, root end
  local results = json.object("success", true, "crawl_depth", o.depth,
    "max_pages_per_level", o.max_pages, "start_url", url, "url", root.url, "title", root.title,
    "text", root.text, "language", root.language, "pages", json.array(),
    "summary", json.object("total_pages", 1, "total_text_length", text_chars(root),
      "pages_by_depth", json.object("1", 1)))
  for _, k in ipairs { "headings", "links", "images", "meta" } do
    if root[k] then results[k] = root[k] end
  end
  root.depth = 1
  results.pages[1] = root
  local links = first_n(internal_links(root, walk.host, walk.visited), o.max_pages)
  for depth = 2, o.depth do
    if #links == 0 then break end
    links = crawl_level(walk, results, links, depth)
  end
  return results
end

return M
