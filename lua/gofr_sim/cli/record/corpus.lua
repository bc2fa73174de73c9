--- gofr_sim.cli.record.corpus: the corpus directory a recording writes and
-- load runs replay (docs/recording.md, "Layout" and "meta.json").
--
--   local corpus = require "gofr_sim.cli.record.corpus"
--   local c = corpus.open("corpus", recorded_at, { "example_com" })
--   local paths = corpus.file_paths { "https://example.com/", "https://example.com/about" }
--   local ok, err_type, msg = c:put_site("example_com", "https://example.com/", files)
--
-- Layout of DIR (the Python harness's, plus the extra pages of depth 1):
-- DIR/meta.json and DIR/<slug>/index.html per site (the front page), extra
-- pages under DIR/<slug>/ at paths made from their URL paths. A site is
-- written into DIR/.<slug>.tmp-<id>/ and then swapped in by renames, and
-- meta.json (rewritten atomically after each site) keeps the other sites'
-- entries. One writer per DIR at a time.
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local json = require "gofr_sim.util.json"
local fs = require "gofr_sim.util.fs"
local recording = require "gofr_sim.gofr_dig.recording"

local type, ipairs, tostring, setmetatable = type, ipairs, tostring, setmetatable
local format, concat = string.format, table.concat

local M = {}

M.META = recording.META

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

local function conflicts(paths, p)
  if paths.files[p] or paths.dirs[p] then return true end
  for _, d in ipairs(parents(p)) do
    if paths.files[d] then return true end
  end
  return false
end

-- Takes p in the path set {files=, dirs=} of one site's directory, made
-- unique: flattened when a parent is a file, then "-2", "-3", ... before
-- ".html". -> the path taken
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

--- The file paths of a site's pages, given the URLs they were requested by,
-- the front page's first: "index.html" for the front page, then each
-- other page's page_path(url) made unique within the site (a path taken
-- already gets "-2", "-3", ...; one whose directory would be a file is
-- flattened first).
function M.file_paths(urls)
  local paths, out = { files = { ["index.html"] = true }, dirs = {} }, { "index.html" }
  for i = 2, #urls do out[i] = take_path(paths, M.page_path(urls[i])) end
  return out
end

-- Writing a site ----------------------------------------------------------------------

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
      fs.remove_tree(tmp)
      return fail_io("cannot move the earlier recording away", "io_error", err)
    end
  end
  local ok, err = os.rename(tmp, dest)
  if not ok then
    if had then os.rename(old, dest) end
    fs.remove_tree(tmp)
    return fail_io("cannot move the new recording in", "io_error", err)
  end
  if had then fs.remove_tree(old) end
  return true
end

-- Leftovers of an interrupted writer in out: .<slug>.tmp-* are removed;
-- .<slug>.old-* is moved back when <slug> is missing (the crash came
-- between the two renames), else removed.
local function recover(out)
  for _, name in ipairs(core.fs_list(out) or {}) do
    local slug = name:match("^%.([a-z0-9_]+)%.tmp%-[%w]+$")
    if slug then fs.remove_tree(out .. "/" .. name) end
    slug = name:match("^%.([a-z0-9_]+)%.old%-[%w]+$")
    if slug then
      if exists(out .. "/" .. slug) then
        fs.remove_tree(out .. "/" .. name)
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

-- The entries of an earlier out/meta.json: order = {slug...}, entries =
-- {slug -> entry}; empty when there is none. A meta.json that is not a
-- recording's is a usage error (never overwritten).
local function load_meta(out)
  local order, entries = {}, {}
  local doc, kind, why = recording.read_meta(out)
  if not doc then
    if kind == "not_found" then return order, entries end
    cli.usage_error(why .. ": move it away or choose another --out")
  end
  for _, entry in ipairs(doc.sites) do
    local slug = json.is_object(entry) and entry.slug
    if type(slug) == "string" then
      if not entries[slug] then order[#order + 1] = slug end
      entries[slug] = entry
    end
  end
  return order, entries
end

-- The corpus being written -----------------------------------------------------------------

local Corpus = {}
Corpus.__index = Corpus

--- corpus.open(dir, recorded_at, run_order) -> corpus: dir is created,
-- the leftovers of an interrupted writer are cleaned up and the entries of
-- its meta.json read. recorded_at is written as meta.json's recorded_at;
-- run_order lists the slugs this recording may add, in the sites file's
-- order (meta.json lists the earlier entries first, then these). A dir
-- that cannot be created or a meta.json that is not a recording's is a
-- usage error.
function M.open(dir, recorded_at, run_order)
  local ok, e, m = core.fs_mkdirs(dir)
  if not ok then cli.usage_error(format("--out: cannot create '%s': %s (%s)", dir, m, e)) end
  recover(dir)
  local order, entries = load_meta(dir)
  return setmetatable({ dir = dir, recorded_at = recorded_at, run_order = run_order,
                        order = order, entries = entries }, Corpus)
end

-- Writes meta.json atomically: version 1, recorded_at, the earlier sites in
-- their order, then the run's new slugs in run order.
function Corpus:write_meta()
  local list, listed = json.array {}, {}
  local function add(slug)
    if self.entries[slug] and not listed[slug] then
      listed[slug] = true
      list[#list + 1] = self.entries[slug]
    end
  end
  for _, slug in ipairs(self.order) do add(slug) end
  for _, slug in ipairs(self.run_order) do add(slug) end
  local doc = json.object("version", 1, "recorded_at", self.recorded_at, "sites", list)
  local ok, e, m = core.fs_write_atomic(self.dir .. "/" .. M.META, json.encode(doc, "pretty") .. "\n")
  if not ok then return fail_io("cannot write meta.json", e, m) end
  return true
end

--- corpus:put_site(slug, url, files) -> true | nil, err_type, message:
-- replaces DIR/<slug> with files {{path=, data= (obfuscated), content_type=,
-- status=}} (written beside it, then swapped in) and the site's meta.json
-- entry, then rewrites meta.json. On failure DIR/<slug> and meta.json are
-- as they were.
function Corpus:put_site(slug, url, files)
  local id = core.uuid4():gsub("%-", ""):sub(1, 12)
  local tmp = format("%s/.%s.tmp-%s", self.dir, slug, id)
  local ok, e, m = write_tree(tmp, files)
  if not ok then
    fs.remove_tree(tmp)
    return nil, e, m
  end
  ok, e, m = swap_in(self.dir, slug, tmp, id)
  if not ok then return nil, e, m end
  local metas = json.array {}
  for i, f in ipairs(files) do
    metas[i] = json.object("path", f.path, "content_type", f.content_type or "text/html",
      "original_status", f.status, "size_bytes", #f.data, "obfuscated", true)
  end
  self.entries[slug] = json.object("slug", slug, "original_url", url, "files", metas)
  return self:write_meta()
end

return M
