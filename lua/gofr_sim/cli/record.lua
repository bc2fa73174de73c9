--- gofr_sim.cli.record: records real sites into a fixture corpus that load runs
-- replay (docs/recording.md).
--
--   gofr-sim record --sites fixtures/sites.json --out DIR [--depth 0|1]
--                   [--max-pages N] [--timeout S] [--concurrency N]
--   gofr-sim scenarios/load.lua --mode record --sites-file F --record-output-dir DIR
--
--   local recorder = require "gofr_sim.cli.record"
--   sim.run(function()
--     local summary = recorder.record { sites = { { url = "https://example.com/" } },
--                                       out = "corpus", depth = 1, max_pages = 5 }
--   end)
--
-- Layout of DIR (the Python harness's, plus the extra pages of depth 1):
-- DIR/meta.json and DIR/<slug>/index.html per site (the front page), extra
-- pages under DIR/<slug>/ at paths made from their URL paths. Every page
-- goes through gofr_sim.engine.obfuscate with one seed and date shift for the
-- whole recording. Any HTTP status is recorded with its status; a network
-- failure fails the site, which keeps its earlier recording (files and
-- meta.json entry). A site is written into DIR/.<slug>.tmp-<id>/ and then
-- swapped in by renames, and meta.json (rewritten atomically after each
-- site) keeps the other sites' entries. One recorder per DIR at a time.
--
-- record() runs inside a persona (it yields on I/O); the world failing is
-- reported in the summary, misuse raises, usage errors (bad sites file,
-- bad meta.json) raise cli usage errors.
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local json = require "gofr_sim.util.json"
local html = require "gofr_sim.engine.html"
local obf = require "gofr_sim.engine.obfuscate"
local blockpage = require "gofr_sim.engine.blockpage"
local storage = require "gofr_sim.twin.storage"

local type, ipairs, pairs, tostring, pcall = type, ipairs, pairs, tostring, pcall
local format, concat = string.format, table.concat

local M = {}

M.META = "meta.json"
M.USER_AGENT = "gofr-sim-recorder/0.1"
M.ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
--- Largest page kept, in bytes (a bigger one fails that page: body_too_large).
M.MAX_BODY = 32 * 1024 * 1024
M.DEFAULTS = { depth = 0, max_pages = 10, timeout = 30, concurrency = 4 }

-- Names and paths ------------------------------------------------------------------

--- The harness's url_to_slug: drop ^https?://, strip trailing slashes,
-- lower-case (as Python's str.lower, for the two characters whose lower
-- case is ASCII), runs of characters other than [a-z0-9] become "_", "_"
-- trimmed at both ends, "" becomes "unknown".
--   "https://www.scmp.com/business" -> "www_scmp_com_business"
function M.slug(url)
  local s = tostring(url):gsub("^https?://", ""):gsub("/+$", "")
  s = s:gsub("\226\132\170", "k"):gsub("\196\176", "i\204\135") -- KELVIN SIGN, I WITH DOT
  s = s:lower():gsub("[^a-z0-9]+", "_"):gsub("^_+", ""):gsub("_+$", "")
  return s ~= "" and s or "unknown"
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local MAX_SEGMENT, MAX_SEGMENTS = 64, 8

-- A path segment made safe: [A-Za-z0-9._-] only, no leading dot (dot files
-- are not served), at most MAX_SEGMENT bytes.
local function safe_segment(seg)
  seg = unescape(seg):gsub("[^%w%._%-]", "_"):gsub("^%.", "_")
  return seg:sub(1, MAX_SEGMENT)
end

--- The relative file path a page URL is stored under: its path's segments
-- made safe, "index.html" for a directory, the query appended to the file
-- name, ".html" added when the name has no .html ending.
--   "https://h/blog/post-1" -> "blog/post-1.html", "https://h/a/?p=2" -> "a/index_p_2.html"
-- Never absolute, never with "." or ".." segments, never a dot file.
function M.page_path(url)
  local path, query = tostring(url):match("^%a[%w+.-]*://[^/?#]*([^?#]*)%??([^#]*)")
  path, query = path or "", query or ""
  local dirs = {}
  for seg in path:gmatch("[^/]+") do dirs[#dirs + 1] = safe_segment(seg) end
  local file = "index"
  if path ~= "" and path:sub(-1) ~= "/" and #dirs > 0 then file = table.remove(dirs) end
  while #dirs > MAX_SEGMENTS do -- fold deep paths into the last directory
    local last = table.remove(dirs)
    dirs[#dirs] = (dirs[#dirs] .. "_" .. last):sub(1, MAX_SEGMENT)
  end
  local ext = file:lower():match("%.html?$")
  if ext then file = file:sub(1, -#ext - 1) end
  if query ~= "" then file = file .. "_" .. safe_segment(query) end
  file = file:sub(1, MAX_SEGMENT) .. ".html"
  dirs[#dirs + 1] = file
  return concat(dirs, "/")
end

-- The directories leading to a relative path: "a/b/c.html" -> "a", "a/b".
local function parents(path)
  local out, i = {}, 0
  while true do
    i = path:find("/", i + 1, true)
    if not i then return out end
    out[#out + 1] = path:sub(1, i - 1)
  end
end

-- A path set: files and directories taken in one site's directory.
local function new_paths()
  return { files = { ["index.html"] = true }, dirs = {} }
end

local function conflicts(paths, p)
  if paths.files[p] or paths.dirs[p] then return true end
  for _, d in ipairs(parents(p)) do
    if paths.files[d] then return true end
  end
  return false
end

-- Takes p in the set, made unique: flattened when a parent is a file, then
-- "-2", "-3", ... before ".html". -> the path taken
local function take_path(paths, p)
  if conflicts(paths, p) then
    for _, d in ipairs(parents(p)) do
      if paths.files[d] then p = p:gsub("/", "_") break end
    end
    local stem, n = p:gsub("%.html$", ""), 2
    while conflicts(paths, p) do
      p = format("%s-%d.html", stem, n)
      n = n + 1
    end
  end
  paths.files[p] = true
  for _, d in ipairs(parents(p)) do paths.dirs[d] = true end
  return p
end

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

-- Sites file ----------------------------------------------------------------------------

--- The harness's sites.json: {"<country>": [{"name":, "url":, "languages":}]}.
-- -> array of {country=, name=, url=} in file order, or nil, why. Non-array
-- values and non-object entries are skipped, url is trimmed, empty ones
-- skipped, name defaults to the url.
function M.read_sites(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, format("cannot read '%s': %s", path, err) end
  local doc, jerr = json.decode(f:read("*a") or "")
  f:close()
  if not doc then return nil, format("%s: %s", path, jerr) end
  local sites = {}
  if json.is_object(doc) then
    for country, list in json.pairs(doc) do
      for _, site in ipairs(json.is_array(list) and list or {}) do
        local url = json.is_object(site) and type(site.url) == "string" and site.url:match("^%s*(.-)%s*$")
        if url and url ~= "" then
          local name = type(site.name) == "string" and site.name ~= "" and site.name or url
          sites[#sites + 1] = { country = country, name = name, url = url }
        end
      end
    end
  end
  if #sites == 0 then return nil, format("no valid sites found in %s", path) end
  return sites
end

-- Fetching ----------------------------------------------------------------------------------

-- GETs url. -> {url= (final), status=, content_type=, body=} | nil, err_type, message
local function fetch(url, o)
  local http = require("gofr_sim").http
  local res, err_type, msg = http.get(url, {
    timeout = o.timeout, max_body = M.MAX_BODY, max_redirects = 10,
    headers = { ["User-Agent"] = M.USER_AGENT, Accept = M.ACCEPT },
  })
  if not res then return nil, err_type, msg end
  return { url = res.url or url, status = res.status, body = res.body,
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

-- Fetches the site's pages: the front page, then at depth 1 up to
-- max_pages - 1 same-site HTML pages it links to (a page whose final URL or
-- whose bytes were seen already is skipped: "/" and "/index.html"). -> pages, skipped |
-- nil, err_type, message (the front page failed). pages[i] = {path=,
-- url=, status=, content_type=, body=}; skipped = {{url=, why=}}.
local function fetch_site(site, o)
  local front, err_type, msg = fetch(site.url, o)
  if not front then return nil, err_type, msg end
  front.path = "index.html"
  local pages, skipped = { front }, {}
  if o.depth < 1 or o.max_pages < 2 then return pages, skipped end
  local paths, seen = new_paths(), { [url_key(front.url)] = true, [front.body] = front.url }
  for _, link in ipairs(same_site_links(front, o.max_pages - 1)) do
    if require("gofr_sim").stopping() then break end
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
      p.path = take_path(paths, M.page_path(link))
      pages[#pages + 1] = p
    end
  end
  return pages, skipped
end

-- Writing ------------------------------------------------------------------------------------

local function fail_io(what, e, m) return nil, e or "io_error", what .. ": " .. tostring(m or e) end

-- Writes files {{path=, data=}} under dir (created). -> true | nil, err_type, message
local function write_tree(dir, files)
  for _, f in ipairs(files) do
    local full = dir .. "/" .. f.path
    local ok, e, m = core.fs_mkdirs(full:match("^(.*)/[^/]+$"))
    if not ok then return nil, e, m end
    ok, e, m = core.fs_write_atomic(full, f.data)
    if not ok then return nil, e, m end
  end
  return true
end

local function exists(path)
  return core.fs_stat(path) ~= nil or core.fs_list(path) ~= nil
end

-- Puts the directory tmp in place of out/<slug>: the old one is renamed
-- away, tmp renamed in, the old one removed. On failure out/<slug> is as
-- before and tmp is removed. -> true | nil, err_type, message
local function swap_in(out, slug, tmp, id)
  local dest, old = out .. "/" .. slug, format("%s/.%s.old-%s", out, slug, id)
  local had = exists(dest)
  if had then
    local ok, err = os.rename(dest, old)
    if not ok then
      storage.remove_tree(tmp)
      return fail_io("cannot move the earlier recording away", "io_error", err)
    end
  end
  local ok, err = os.rename(tmp, dest)
  if not ok then
    if had then os.rename(old, dest) end
    storage.remove_tree(tmp)
    return fail_io("cannot move the new recording in", "io_error", err)
  end
  if had then storage.remove_tree(old) end
  return true
end

-- Leftovers of an interrupted recorder in out: .<slug>.tmp-* are removed;
-- .<slug>.old-* is moved back when <slug> is missing (the crash came
-- between the two renames), else removed.
local function recover(out)
  for _, name in ipairs(core.fs_list(out) or {}) do
    local slug = name:match("^%.([a-z0-9_]+)%.tmp%-[%w]+$")
    if slug then storage.remove_tree(out .. "/" .. name) end
    slug = name:match("^%.([a-z0-9_]+)%.old%-[%w]+$")
    if slug then
      if exists(out .. "/" .. slug) then
        storage.remove_tree(out .. "/" .. name)
      else
        os.rename(out .. "/" .. name, out .. "/" .. slug)
      end
    end
  end
end

-- meta.json ------------------------------------------------------------------------------------

--- Python's datetime.now(timezone.utc).isoformat(): "2026-02-17T10:11:12.123456+00:00"
-- (no fraction when the microseconds are 0).
function M.now_iso()
  local sec, usec = core.fs_now()
  local s = os.date("!%Y-%m-%dT%H:%M:%S", sec)
  if usec > 0 then s = s .. format(".%06d", usec) end
  return s .. "+00:00"
end

-- The entries of an earlier out/meta.json: {order = {slug...}, entries =
-- {slug -> entry}}; empty when there is none. A meta.json that is not a
-- recording's is a usage error (never overwritten).
local function load_meta(out)
  local path = out .. "/" .. M.META
  local f = io.open(path, "rb")
  local state = { order = {}, entries = {} }
  if not f then return state end
  local text = f:read("*a") or ""
  f:close()
  local doc, err = json.decode(text)
  if not (doc and json.is_object(doc) and json.is_array(doc.sites)) then
    cli.usage_error(format("%s is not a recording's meta.json (%s): move it away or choose "
      .. "another --out", path, err or "no \"sites\" array"))
  end
  for _, entry in ipairs(doc.sites) do
    local slug = json.is_object(entry) and entry.slug
    if type(slug) == "string" then
      if not state.entries[slug] then state.order[#state.order + 1] = slug end
      state.entries[slug] = entry
    end
  end
  return state
end

-- Writes out/meta.json atomically: version 1, recorded_at, the sites in
-- state.order then the run's new slugs in sites-file order.
local function write_meta(out, state, recorded_at)
  local list, listed = json.array {}, {}
  local function add(slug)
    if state.entries[slug] and not listed[slug] then
      listed[slug] = true
      list[#list + 1] = state.entries[slug]
    end
  end
  for _, slug in ipairs(state.order) do add(slug) end
  for _, slug in ipairs(state.run_order) do add(slug) end
  local doc = json.object("version", 1, "recorded_at", recorded_at, "sites", list)
  local ok, e, m = core.fs_write_atomic(out .. "/" .. M.META, json.encode(doc, "pretty") .. "\n")
  if not ok then return fail_io("cannot write meta.json", e, m) end
  return true
end

-- Recording ------------------------------------------------------------------------------------

-- Obfuscates the pages. -> files {{path=, data=}}, meta entries, bytes, block classes
local function obfuscate_pages(pages, o)
  local files, metas, bytes, blocked = {}, json.array {}, 0, {}
  for i, p in ipairs(pages) do
    local data = obf.page(p.body, { seed = o.seed, date_shift_days = o.date_shift_days })
    files[i] = { path = p.path, data = data }
    metas[i] = json.object("path", p.path, "content_type", p.content_type or "text/html",
      "original_status", p.status, "size_bytes", #data, "obfuscated", true)
    bytes = bytes + #data
    local class = blockpage.classify(p.status, p.content_type, p.body)
    if class then blocked[#blocked + 1] = p.path .. ": " .. class end
  end
  return files, metas, bytes, blocked
end

-- Records one site into out: fetch, obfuscate, write, swap, meta.json.
-- -> result {slug=, url=, ok=, pages=, bytes=, status=, skipped=, blocked=,
--            error_type=, message=}
local function record_site(site, o, state)
  local slug = M.slug(site.url)
  local r = { slug = slug, url = site.url, name = site.name, ok = false, pages = 0, bytes = 0 }
  if not site_of(site.url) then
    r.error_type, r.message = "invalid_url", "not an http:// or https:// URL"
    return r
  end
  local pages, skipped_or_err, msg = fetch_site(site, o)
  if not pages then
    r.error_type, r.message = skipped_or_err, msg
    return r
  end
  local files, metas, bytes, blocked = obfuscate_pages(pages, o)
  local id = core.uuid4():gsub("%-", ""):sub(1, 12)
  local tmp = format("%s/.%s.tmp-%s", o.out, slug, id)
  local ok, e, m = write_tree(tmp, files)
  if ok then ok, e, m = swap_in(o.out, slug, tmp, id) else storage.remove_tree(tmp) end
  if ok then
    state.entries[slug] = json.object("slug", slug, "original_url", site.url, "files", metas)
    ok, e, m = write_meta(o.out, state, o.recorded_at)
  end
  if not ok then
    r.error_type, r.message = e, m
    return r
  end
  r.ok, r.pages, r.bytes, r.status = true, #pages, bytes, pages[1].status
  r.skipped, r.blocked = skipped_or_err, blocked
  return r
end

local OPTION_TYPES = {
  sites = "table", out = "string", depth = "number", max_pages = "number", timeout = "number",
  concurrency = "number", seed = "string", date_shift_days = "number", on_site = "function",
}

local function check_options(opts)
  local o = require("gofr_sim.engine.check").options("recorder.record", opts, OPTION_TYPES)
  local c = {}
  for k, v in pairs(M.DEFAULTS) do c[k] = v end
  for k, v in pairs(o) do c[k] = v end
  if not c.sites or not c.out or c.out == "" then
    error("recorder.record: options 'sites' and 'out' are required", 3)
  end
  if c.depth ~= 0 and c.depth ~= 1 then error("recorder.record: option 'depth' must be 0 or 1", 3) end
  return c
end

--- recorder.record{sites=, out=, depth=0, max_pages=10, timeout=30,
--   concurrency=4, seed=, date_shift_days=, on_site=fn(result)} -> summary
-- Inside a persona. sites: array of {url=, name=}. seed (default: the
-- recording's recorded_at) and date_shift_days (default: derived from the
-- seed) are passed to obfuscate.page for every page. on_site is called
-- with each site's result as it completes. summary = {sites_attempted=,
-- sites_recorded=, sites_failed=, total_bytes=, recorded_at=, out=,
-- results = {result per site, in sites order}}. Sites sharing a slug: the
-- last one is recorded (the harness overwrote).
function M.record(opts)
  local o = check_options(opts)
  local sim = require "gofr_sim"
  o.recorded_at = M.now_iso()
  o.seed = o.seed or o.recorded_at
  local ok, e, m = core.fs_mkdirs(o.out)
  if not ok then cli.usage_error(format("--out: cannot create '%s': %s (%s)", o.out, m, e)) end
  recover(o.out)
  local state = load_meta(o.out)
  local last = {}
  for i, site in ipairs(o.sites) do last[M.slug(site.url)] = i end
  local queue, run_order = {}, {}
  for i, site in ipairs(o.sites) do
    if last[M.slug(site.url)] == i then
      queue[#queue + 1] = site
      run_order[#run_order + 1] = M.slug(site.url)
    end
  end
  state.run_order = run_order
  local results, next_i = {}, 1
  local function worker()
    while next_i <= #queue and not sim.stopping() do
      local i = next_i
      next_i = i + 1
      local done, r = pcall(record_site, queue[i], o, state)
      if not done then
        r = { slug = M.slug(queue[i].url), url = queue[i].url, ok = false, pages = 0, bytes = 0,
              error_type = "internal_error", message = tostring(r) }
      end
      results[i] = r
      if o.on_site then o.on_site(r) end
    end
  end
  local workers = {}
  for w = 1, math.min(o.concurrency, #queue) do workers[w] = sim.spawn(worker) end
  sim.wait(unpack(workers))
  local summary = { sites_attempted = 0, sites_recorded = 0, sites_failed = 0, total_bytes = 0,
                    recorded_at = o.recorded_at, out = o.out, results = {} }
  for i = 1, #queue do
    local r = results[i]
    if r then
      summary.results[#summary.results + 1] = r
      summary.sites_attempted = summary.sites_attempted + 1
      if r.ok then
        summary.sites_recorded = summary.sites_recorded + 1
        summary.total_bytes = summary.total_bytes + r.bytes
      else
        summary.sites_failed = summary.sites_failed + 1
      end
    end
  end
  return summary
end

-- The command --------------------------------------------------------------------------------

local FLAGS = {
  sites = { type = "string" }, sites_file = { type = "string" },
  out = { type = "string" }, record_output_dir = { type = "string" },
  depth = { type = "integer", default = M.DEFAULTS.depth, min = 0 },
  max_pages = { type = "integer", default = M.DEFAULTS.max_pages, min = 1 },
  timeout = { type = "duration", default = M.DEFAULTS.timeout, above = 0 },
  timeout_seconds = { type = "number", above = 0 },
  concurrency = { type = "integer", default = M.DEFAULTS.concurrency, min = 1 },
  seed = { type = "string" },
  date_shift_days = { type = "integer" },
  quiet = { type = "boolean", default = false },
}

--- One line about a site's result.
function M.describe(r)
  if not r.ok then
    return format("FAILED    %-32s %s: %s (an earlier recording is kept)  %s",
      r.slug, tostring(r.error_type), tostring(r.message), r.url)
  end
  local s = format("recorded  %-32s %d page%s, %d bytes, status %d  %s", r.slug, r.pages,
    r.pages == 1 and "" or "s", r.bytes, r.status, r.url)
  if r.skipped and #r.skipped > 0 then
    s = s .. format("\n          %d link%s skipped: %s", #r.skipped, #r.skipped == 1 and "" or "s",
      r.skipped[1].url .. " (" .. r.skipped[1].why .. ")" .. (#r.skipped > 1 and ", ..." or ""))
  end
  if r.blocked and #r.blocked > 0 then
    s = s .. "\n          looks blocked: " .. concat(r.blocked, ", ")
  end
  return s
end

--- The summary's closing lines.
function M.summary_text(summary)
  local lines = { format("record: %d site%s attempted, %d recorded, %d failed, %d bytes -> %s",
    summary.sites_attempted, summary.sites_attempted == 1 and "" or "s", summary.sites_recorded,
    summary.sites_failed, summary.total_bytes, summary.out) }
  local failed = {}
  for _, r in ipairs(summary.results) do
    if not r.ok then failed[#failed + 1] = r.slug .. " (" .. tostring(r.error_type) .. ")" end
  end
  if #failed > 0 then lines[#lines + 1] = "failed: " .. concat(failed, ", ") end
  if summary.sites_recorded > 0 then
    lines[#lines + 1] = "replay: gofr-sim scenarios/load.lua --fixtures-dir " .. summary.out
  end
  return concat(lines, "\n") .. "\n"
end

--- Runs a recording from command-line flags (cli.parse's table; `mode`,
-- when present, must be "record": load.lua passes its flags). Prints one
-- line per site and the summary. -> 0 when a site was recorded, 1 when
-- none was; usage errors raise (exit 2).
function M.command(flags)
  local spec = {}
  for k, v in pairs(FLAGS) do spec[k] = v end
  if flags.mode ~= nil then spec.mode = { type = "enum", values = { "record" } } end
  local o = cli.options(flags, spec)
  local sites_path = o.sites or o.sites_file
  local out = o.out or o.record_output_dir
  if not sites_path then cli.usage_error("record: give --sites FILE (the harness's sites.json)") end
  if not out or out == "" then cli.usage_error("record: give --out DIR") end
  if o.depth > 1 then cli.usage_error("--depth must be 0 or 1") end
  local shift = o.date_shift_days
  if shift and (shift < -obf.MAX_SHIFT_DAYS or shift > obf.MAX_SHIFT_DAYS) then
    cli.usage_error(("--date-shift-days must be within +-%d"):format(obf.MAX_SHIFT_DAYS))
  end
  local sites, why = M.read_sites(sites_path)
  if not sites then cli.usage_error("--sites: " .. why) end
  local sim = require "gofr_sim"
  local summary = sim.run(function()
    return M.record {
      sites = sites, out = out, depth = o.depth, max_pages = o.max_pages,
      timeout = o.timeout_seconds or o.timeout, concurrency = o.concurrency, seed = o.seed,
      date_shift_days = o.date_shift_days,
      on_site = function(r)
        if not o.quiet or not r.ok then io.stdout:write(M.describe(r), "\n") end
        io.stdout:flush()
      end,
    }
  end)
  io.stdout:write(M.summary_text(summary))
  return summary.sites_recorded > 0 and 0 or 1
end

M.USAGE = [[
usage: gofr-sim record --sites SITES.json --out DIR [--depth 0|1] [--max-pages N]
                       [--timeout S] [--concurrency N] [--seed S] [--date-shift-days N] [--quiet]
Records the sites of SITES.json (the harness's format) into DIR: DIR/meta.json and
DIR/<slug>/index.html per site, obfuscated; --depth 1 adds same-site pages the front
page links to, up to --max-pages per site (default 10). Exit 0 when a site was
recorded, 1 when none was, 2 for bad usage. docs/recording.md.
]]

--- gofr-sim record ...: argv as the executable's (argv[1] == "record").
function M.main(argv)
  local flags = cli.parse(argv, 2)
  if flags.help then
    io.stdout:write(M.USAGE)
    return 0
  end
  core.handle_signals()
  return M.command(flags)
end

return M
