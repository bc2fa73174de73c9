--- gofr_sim.twin.tools: the nine tools of gofr-dig as the twin runs them
-- (contract §3, §4): input validation, the inbound rate limiter, the
-- handlers, and the text the real server puts in its one TextContent.
--
--   local tools = require("gofr_sim.twin.tools").new(ctx)
--   local text, is_error = tools:call("get_session_info", args)
--
-- ctx = {auth=, limiter=, sessions=, fetcher=, state=, env=, build=,
-- content_mismatch=}: the twin's parts (see twin/init.lua). Handlers may yield (page fetches).
-- Every text is json.encode(..., "pretty"), as gofr-common's json_text
-- writes it; schema violations give isError with plain text. get_content's
-- crawl of a site (depth 2 and 3) is twin/crawl.lua's.
local json = require "gofr_sim.util.json"
local utf8 = require "gofr_sim.util.utf8"
local tables = require "gofr_sim.util.tables"
local html = require "gofr_sim.engine.html"
local catalogue = require "gofr_sim.twin.catalogue"
local validate = require "gofr_sim.twin.validate"
local crawl = require "gofr_sim.twin.crawl"
local errors = require "gofr_sim.twin.errors"

local type, ipairs, next, tostring, os_date = type, ipairs, next, tostring, os.date
local max, min, floor = math.max, math.min, math.floor

local M = {}

local error_response, exception_response = errors.response, errors.exception
local pretty = function(v) return json.encode(v, "pretty") end

local Tools = {}
Tools.__index = Tools

function M.new(ctx)
  return setmetatable(ctx, Tools)
end

------------------------------------------------------------------------------
-- Ordering the plain tables of gofr_sim.engine.html the way the real dicts are
------------------------------------------------------------------------------

-- An ordered copy of plain table t: the `first` keys in that order (null
-- where t has none: the real server writes None there), then the rest
-- sorted.
local function ordered(t, first)
  local o, done = json.object(), {}
  for _, k in ipairs(first) do
    local v = t[k]
    if v == nil then v = json.null end
    o[k], done[k] = v, true
  end
  for _, k in ipairs(tables.sorted_keys(t)) do
    if not done[k] then o[k] = t[k] end
  end
  return o
end

local function ordered_list(list, first)
  local out = json.array()
  for i, item in ipairs(list or {}) do out[i] = ordered(item, first) end
  return out
end

------------------------------------------------------------------------------
-- Fetch + extract one page (get_content's fetch_single_page)
------------------------------------------------------------------------------

local ROBOTS_DENIED = "Access denied: Disallowed by robots.txt for *"

-- -> page dict (ordered object) of success or of failure
function Tools:fetch_page(page_url, o)
  if not self.fetcher:robots_allowed(page_url) then
    return json.object("success", false, "error", ROBOTS_DENIED, "url", page_url,
      "robots_blocked", true)
  end
  local res = self.fetcher:get(page_url, { timeout = o.timeout })
  if not res.ok then
    return json.object("success", false, "error_code", res.error_code, "error", res.error,
      "url", page_url, "status_code", res.status_code,
      "recovery_strategy", errors.recovery(res.error_code, "Check the URL and try again."))
  end
  local content, code, message = html.extract(res.body, res.url, {
    selector = o.selector, filter_noise = o.filter_noise, include_links = o.extract_links,
    include_images = o.include_images, include_meta = o.include_meta,
  })
  if not content then
    return json.object("success", false, "error_code", code, "error", message, "url", page_url,
      "recovery_strategy", errors.recovery(code, "Try a different selector or check the page structure."))
  end
  local page = json.object("success", true, "url", res.url, "title", content.title or json.null,
    "text", content.text or "", "language", content.language or json.null)
  if content.headings and #content.headings > 0 then
    page.headings = ordered_list(content.headings, { "level", "text" })
  end
  if o.extract_links and content.links and #content.links > 0 then
    page.links = ordered_list(content.links, html.LINK_KEYS)
  end
  if o.include_images and content.images and #content.images > 0 then
    page.images = ordered_list(content.images, { "url", "alt" })
  end
  if o.include_meta and content.meta and next(content.meta) then
    page.meta = ordered(content.meta, {})
  end
  return page
end

------------------------------------------------------------------------------
-- Character limits (gofr-dig's _truncate_to_chars and friends)
------------------------------------------------------------------------------

local TRUNCATED_NOTE = "\n\n[Content truncated due to size limit]"

local function truncate_chars(text, max_chars)
  if utf8.char_count(text) <= max_chars then return text, false end
  local cut = utf8.char_slice(text, 0, max_chars)
  -- prefer ending at the last ". " or newline when that keeps 80 %
  local last = 0
  for pos in cut:gmatch("()%. ") do last = pos end
  for pos in cut:gmatch("()\n") do
    if pos > last then last = pos end
  end
  if last > 0 then
    local break_char = utf8.char_count(cut:sub(1, last - 1))
    if break_char > max_chars * 0.8 then cut = utf8.char_slice(cut, 0, break_char + 1) end
  end
  return (cut:gsub("%s+$", "")) .. TRUNCATED_NOTE, true
end

local function apply_char_limit(page, max_chars)
  if not page.success or not page.text or page.text == "" then return page end
  local text, cut = truncate_chars(page.text, max_chars)
  if cut then
    page.truncated = true
    page.original_chars = utf8.char_count(page.text)
    page.returned_chars = utf8.char_count(text)
    page.text = text
  end
  return page
end

local function text_chars(p) return utf8.char_count(p.text or "") end

-- Deepest pages first: drop or cut them until the total fits.
local function apply_char_limit_multipage(results, max_chars)
  local pages = results.pages
  local total = text_chars(results)
  for _, p in ipairs(pages) do total = total + text_chars(p) end
  if total <= max_chars then return end
  results.truncated, results.original_chars = true, total
  local remove, removed, cut = total - max_chars, 0, 0
  while remove > 0 and #pages > 0 do
    local last = pages[#pages]
    local n = text_chars(last)
    if n <= remove or n - remove < 2000 then
      pages[#pages] = nil
      remove, removed = remove - n, removed + 1
    else
      last.text = truncate_chars(last.text, n - remove)
      last.truncated = true
      cut, remove = cut + 1, 0
    end
  end
  if remove > 0 and (results.text or "") ~= "" and text_chars(results) - remove > 2000 then
    results.text = truncate_chars(results.text, text_chars(results) - remove)
  end
  results.returned_chars = max_chars
  results.pages_removed_for_limit = removed
  results.pages_truncated_for_limit = cut
  local length = text_chars(results)
  for _, p in ipairs(pages) do length = length + text_chars(p) end
  results.summary.total_pages = #pages
  results.summary.total_text_length = length
end

------------------------------------------------------------------------------
-- The news parser (simplified: one story per h2/h3 heading; docs/twin.md)
------------------------------------------------------------------------------

local function news_feed(start_url, pages, depth, raw_summary)
  local stories = json.array()
  local seen = {}
  for _, page in ipairs(pages) do
    for _, h in ipairs(page.headings or {}) do
      if (h.level == 2 or h.level == 3) and not seen[h.text] then
        seen[h.text] = true
        stories[#stories + 1] = json.object(
          "headline", h.text, "section", json.null, "subheadline", json.null,
          "published", json.null,
          "provenance", json.object("root_url", start_url, "page_url", page.url,
            "crawl_depth", page.depth or 1),
          "parse_quality", json.object("parse_confidence", json.float(0.64),
            "missing_fields", json.array { "section", "subheadline", "published" },
            "segmentation_reason", "heading"))
      end
    end
  end
  local feed = json.object(
    "feed_meta", json.object(
      "parser_version", "1.0.0", "source_profile", "generic", "source_name", "generic",
      "source_root_url", start_url, "crawl_time_utc", os_date("!%Y-%m-%dT%H:%M:%SZ"),
      "pages_crawled", #pages, "stories_extracted", #stories, "duplicates_removed", 0,
      "noise_lines_stripped", 0, "parse_warnings", 0),
    "stories", stories)
  if raw_summary then feed.raw_summary = raw_summary end
  feed.crawl_depth = depth
  return feed
end

------------------------------------------------------------------------------
-- get_content
------------------------------------------------------------------------------

local function content_options(args)
  local depth = max(1, min(args.depth or 1, 3))
  local o = {
    depth = depth,
    max_pages = max(1, min(args.max_pages_per_level or 5, 20)),
    selector = args.selector,
    include_links = args.include_links ~= false,
    include_images = args.include_images == true,
    include_meta = args.include_meta ~= false,
    filter_noise = args.filter_noise ~= false,
    session = args.session == true,
    chunk_size = args.chunk_size,
    max_bytes = args.max_bytes or 5242880,
    timeout = args.timeout_seconds or 60,
    parse_results = args.parse_results ~= false,
  }
  o.extract_links = depth > 1 or o.include_links
  return o
end

local function inline_too_large(value, o, url, extra_details)
  local size = #json.encode(value, "python")
  if size <= o.max_bytes then return nil end
  local details = json.object("url", url, "max_bytes", o.max_bytes)
  if extra_details then details.total_pages = extra_details end
  return error_response("CONTENT_TOO_LARGE", ("Inline response is %s bytes, exceeding max_bytes "
    .. "limit of %s. Use session=true to store content server-side, or increase max_bytes.")
    :format(errors.thousands(size), errors.thousands(o.max_bytes)), details)
end

-- Stores `content` as a session owned by the caller's primary group.
-- -> session response text
function Tools:store_session(args, url, content, o, crawled)
  local groups, why = self.auth:groups_of(args.auth_token)
  if groups == false then return error_response("AUTH_ERROR", why) end
  local id, why_not = self.sessions:create {
    url = url, content = json.encode(content, "python"),
    chunk_size = o.chunk_size, group = groups and groups[1] or nil,
  }
  if not id then
    return error_response("SESSION_ERROR", "Failed to create session: " .. tostring(why_not),
      json.object("url", url))
  end
  local info = self.sessions:info(id)
  local out = json.object("success", true, "response_type", "session", "session_id", id,
    "url", url, "total_chunks", info.total_chunks, "total_size", info.total_size_bytes,
    "chunk_size", info.chunk_size, "created_at", info.created_at)
  if crawled then
    out.crawl_depth, out.total_pages = crawled.depth, crawled.total_pages
  end
  return pretty(out)
end

function Tools:get_content_single(args, url, o)
  local page = self:fetch_page(url, o)
  if o.parse_results and page.success ~= false then
    page.depth = nil
    local pages = { page }
    page = news_feed(url, pages, 1)
  end
  if o.session then
    if not o.include_links then page.links = nil end
    return self:store_session(args, url, page, o)
  end
  if not o.include_links and not o.parse_results then page.links = nil end
  if not o.parse_results then apply_char_limit(page, self.state.max_response_chars) end
  page.response_type = "inline"
  return inline_too_large(page, o, url) or pretty(page)
end

function Tools:get_content_crawl(args, url, o)
  local results, failed_root = crawl.run(url, o, function(page_url)
    return self:fetch_page(page_url, o)
  end)
  if not results then return pretty(failed_root) end
  local summary = results.summary
  if o.parse_results then results = news_feed(url, results.pages, o.depth, summary) end
  local function drop_links()
    if o.include_links or o.parse_results then return end
    results.links = nil
    for _, p in ipairs(results.pages) do p.links = nil end
  end
  if o.session then
    drop_links()
    return self:store_session(args, url, results, o,
      { depth = o.depth, total_pages = summary.total_pages })
  end
  drop_links()
  results.response_type = "inline"
  if not o.parse_results then apply_char_limit_multipage(results, self.state.max_response_chars) end
  return inline_too_large(results, o, url, summary.total_pages) or pretty(results)
end

function Tools:get_content(args)
  local url = args.url
  if not url or url == "" then return error_response("INVALID_URL", "url is required") end
  local o = content_options(args)
  if type(o.timeout) ~= "number" or o.timeout <= 0 then
    return error_response("INVALID_ARGUMENT", "timeout_seconds must be a positive number",
      json.object("provided_value", o.timeout))
  end
  if o.depth == 1 then return self:get_content_single(args, url, o) end
  return self:get_content_crawl(args, url, o)
end

------------------------------------------------------------------------------
-- get_structure
------------------------------------------------------------------------------

local STRUCTURE_KEYS = {
  sections = html.SECTION_KEYS, navigation = { "url", "text" },
  internal_links = { "url", "text" }, external_links = { "url", "text" },
  forms = html.FORM_KEYS, outline = html.OUTLINE_KEYS,
}

local function structure_list(s, key)
  local out = ordered_list(s[key], STRUCTURE_KEYS[key])
  for _, item in ipairs(out) do
    if key == "forms" then item.fields = ordered_list(item.fields, html.FIELD_KEYS) end
    if key == "sections" then item.classes = json.array(item.classes) end
  end
  return out
end

function Tools:get_structure(args)
  local url = args.url
  if not url or url == "" then return error_response("INVALID_URL", "url is required") end
  if not self.fetcher:robots_allowed(url) then
    return error_response("ROBOTS_BLOCKED", ROBOTS_DENIED, json.object("url", url))
  end
  local timeout = args.timeout_seconds or 60
  if type(timeout) ~= "number" or timeout <= 0 then
    return error_response("INVALID_ARGUMENT", "timeout_seconds must be a positive number",
      json.object("provided_value", timeout))
  end
  local res = self.fetcher:get(url, { timeout = timeout })
  if not res.ok then
    return error_response(res.error_code, res.error,
      json.object("url", url, "status_code", res.status_code))
  end
  -- a bad or unmatched selector is an EXTRACTION_ERROR here (the analyser's
  -- failure), unlike get_content's precise codes
  local s, _, message = html.structure(res.body, res.url, { selector = args.selector })
  if not s then
    return error_response("EXTRACTION_ERROR", message or "Failed to analyze page structure",
      json.object("url", url))
  end
  local out = json.object("success", true, "url", res.url, "title", s.title or json.null,
    "language", s.language or json.null, "sections", structure_list(s, "sections"))
  for _, key in ipairs { "navigation", "internal_links", "external_links", "forms", "outline" } do
    if args["include_" .. key] ~= false then
      out[key] = structure_list(s, key)
    end
  end
  if s.meta and next(s.meta) then out.meta = ordered(s.meta, {}) end
  return pretty(out)
end

------------------------------------------------------------------------------
-- Session tools
------------------------------------------------------------------------------

-- The caller's groups, or an AUTH_ERROR text.
function Tools:reader_groups(args)
  local groups, why = self.auth:groups_of(args.auth_token)
  if groups == false then return false, error_response("AUTH_ERROR", why) end
  return groups
end

local function session_failure(err, session_id)
  if err.kind == "denied" then
    return error_response("PERMISSION_DENIED", err.message, json.object("session_id", session_id))
  end
  return exception_response(err)
end

-- Shared frame of the tools taking a session_id: argument check, token,
-- then fn(groups) -> text | nil, err.
function Tools:with_session(args, fn)
  local id = args.session_id
  if not id or id == "" then return error_response("INVALID_ARGUMENT", "session_id is required") end
  local groups, failure = self:reader_groups(args)
  if groups == false then return failure end
  local text, err = fn(id, groups)
  if not text then return session_failure(err, id) end
  return text
end

function Tools:get_session_info(args)
  return self:with_session(args, function(id, groups)
    local info, err = self.sessions:info(id, groups)
    return info and pretty(info), err
  end)
end

function Tools:get_session_chunk(args)
  if args.session_id and args.session_id ~= "" and args.chunk_index == nil then
    return error_response("INVALID_ARGUMENT", "chunk_index is required")
  end
  return self:with_session(args, function(id, groups)
    local chunk, err = self.sessions:chunk(id, args.chunk_index, groups)
    return chunk and pretty(chunk), err
  end)
end

function Tools:list_sessions(args)
  local groups, failure = self:reader_groups(args)
  if groups == false then return failure end
  local list = self.sessions:list(groups)
  return pretty(json.object("sessions", list, "total", #list))
end

local function web_base_url(override, env)
  if override and override ~= "" then return (override:gsub("/+$", "")) end
  local from_env = env("GOFR_DIG_WEB_URL")
  if from_env and from_env ~= "" then return (from_env:gsub("/+$", "")) end
  local port = env("GOFR_DIG_WEB_PORT")
  if not port or port == "" then return "http://localhost" end
  return "http://localhost:" .. port
end

function Tools:get_session_urls(args)
  return self:with_session(args, function(id, groups)
    local info, err = self.sessions:info(id, groups)
    if not info then return nil, err end
    local out = json.object("success", true, "session_id", id, "url", info.url or "",
      "total_chunks", info.total_chunks)
    local list = json.array()
    if args.as_json ~= false then
      for i = 0, info.total_chunks - 1 do
        list[i + 1] = json.object("session_id", id, "chunk_index", i)
      end
      out.chunks = list
    else
      local base = web_base_url(args.base_url, self.env)
      for i = 0, info.total_chunks - 1 do
        list[i + 1] = ("%s/sessions/%s/chunks/%d"):format(base, id, i)
      end
      out.chunk_urls = list
    end
    return pretty(out)
  end)
end

function Tools:get_session(args)
  local max_bytes = args.max_bytes or 5242880
  return self:with_session(args, function(id, groups)
    local info, err = self.sessions:info(id, groups)
    if not info then return nil, err end
    if info.total_size_bytes > max_bytes then
      return error_response("CONTENT_TOO_LARGE", ("Session content is %s bytes, exceeding "
        .. "max_bytes limit of %s. Use get_session_chunk to retrieve chunks individually, "
        .. "or increase max_bytes."):format(errors.thousands(info.total_size_bytes),
          errors.thousands(max_bytes)),
        json.object("session_id", id, "total_size_bytes", info.total_size_bytes,
          "max_bytes", max_bytes, "total_chunks", info.total_chunks))
    end
    local parts = {}
    for i = 0, info.total_chunks - 1 do
      local chunk, cerr = self.sessions:chunk(id, i, groups)
      if not chunk then return nil, cerr end
      parts[#parts + 1] = chunk
    end
    local content = table.concat(parts)
    if self.content_mismatch then content = content:sub(1, -2) end   -- a broken twin
    return pretty(json.object("success", true, "session_id", id, "url", info.url or "",
      "total_chunks", info.total_chunks, "total_size_bytes", #content, "content", content))
  end)
end

------------------------------------------------------------------------------
-- ping and set_antidetection
------------------------------------------------------------------------------

function Tools:ping()
  return pretty(json.object("status", "ok", "service", "gofr-dig", "build", self.build,
    "timestamp", os_date("%a %b %Y %H:%M:%S %Z")))
end

local PROFILE_DESCRIPTIONS = {
  stealth = "Full browser-like request headers, rotated user agents",
  balanced = "Common browser request headers",
  none = "Minimal request headers",
  custom = "Headers and user agent given by the caller",
  browser_tls = "Browser TLS fingerprint (the twin fetches with libcurl's own)",
}

function Tools:set_antidetection(args)
  local state = self.state
  local profile = args.profile or "balanced"
  if not PROFILE_DESCRIPTIONS[profile] then
    return error_response("INVALID_PROFILE", "Invalid profile: " .. tostring(profile),
      json.object("valid_profiles", json.array { "stealth", "balanced", "none", "custom", "browser_tls" }))
  end
  state.profile = profile
  state.custom_headers = args.custom_headers or {}
  state.custom_user_agent = args.custom_user_agent
  if args.rate_limit_delay ~= nil then
    state.rate_limit_delay = args.rate_limit_delay
    self.fetcher.delay = args.rate_limit_delay
  end
  if args.max_response_chars ~= nil then state.max_response_chars = args.max_response_chars end
  local ua = state.custom_user_agent or state.user_agent
  self.fetcher.user_agent = ua
  self.fetcher.headers = state.custom_headers
  local delay = state.rate_limit_delay
  local out = json.object("success", true, "status", "configured", "profile", profile,
    "profile_info", json.object("profile", profile, "description", PROFILE_DESCRIPTIONS[profile],
      "user_agent", ua),
    "respect_robots_txt", true,
    "rate_limit_delay", floor(delay) == delay and json.float(delay) or delay,
    "max_response_chars", state.max_response_chars)
  if profile == "custom" then
    out.custom_headers = ordered(state.custom_headers, {})
    if state.custom_user_agent then out.custom_user_agent = state.custom_user_agent end
  end
  return pretty(out)
end

------------------------------------------------------------------------------
-- Dispatch
------------------------------------------------------------------------------

local HANDLERS = {
  set_antidetection = Tools.set_antidetection, get_content = Tools.get_content,
  get_structure = Tools.get_structure, get_session_info = Tools.get_session_info,
  get_session_chunk = Tools.get_session_chunk, list_sessions = Tools.list_sessions,
  get_session_urls = Tools.get_session_urls, get_session = Tools.get_session,
}

--- tools:call(name, args) -> text, is_error
-- Order as the real server: schema validation (known tools only; no
-- rate-limit slot used), ping (exempt), the limiter keyed by the primary
-- group of a valid token, then the handler.
function Tools:call(name, args)
  local tool = catalogue.by_name[name]
  if tool then
    local ok, why = validate.check(tool.inputSchema, args)
    if not ok then return "Input validation error: " .. why, true end
  end
  if name == "ping" then return self:ping(), false end
  local allowed, info = self.limiter:check(self.auth:identity_of(args.auth_token))
  if not allowed then
    return error_response("RATE_LIMIT_EXCEEDED",
      ("Rate limit exceeded: %d calls per window. Retry in %ds."):format(info.limit, info.reset_seconds),
      json.object("remaining", info.remaining, "limit", info.limit,
        "reset_seconds", info.reset_seconds)), false
  end
  local handler = HANDLERS[name]
  if not handler then
    return error_response("UNKNOWN_TOOL", "Unknown tool: " .. tostring(name),
      json.object("tool_name", name)), false
  end
  return handler(self, args), false
end

M.catalogue = catalogue
return M
