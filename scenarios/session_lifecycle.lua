--- session_lifecycle: one session's whole life in gofr-dig, with its content
-- checked end to end.
--
--   gofr-sim scenarios/session_lifecycle.lua                 # 3 pages, 500-character chunks, the twin
--   gofr-sim scenarios/session_lifecycle.lua --pages 0 --chunk-size 300   # every fixture page
--   gofr-sim scenarios/session_lifecycle.lua --mcp-url http://127.0.0.1:8070/mcp --token-source env
--
-- For each page of the sample the apac token runs create -> info -> every
-- chunk -> get_session -> urls, and at the end list_sessions, checking
-- (contract §4.5-§4.9) that:
--   * get_content(session=true) creates a session, and its reply agrees
--     with get_session_info (chunk_size as asked, total_chunks, total_size);
--   * the session belongs to the creator's group and names the page's URL;
--   * total_chunks = ceil(total_chars / chunk_size) (at least 1);
--   * every chunk holds at most chunk_size characters (UTF-8 code points,
--     not bytes), all but the last exactly chunk_size, total_chars in all;
--   * the content (the chunks joined) is total_size_bytes long, is the page
--     as JSON (its url is the page's), and a page in a non-Latin script
--     keeps its text (fewer characters than bytes);
--   * get_session's content equals the chunks joined, and its
--     total_size_bytes and total_chunks describe it;
--   * get_session_urls lists total_chunks chunks, indices 0..total_chunks-1;
--   * the session appears in its owner's list_sessions with the same info.
--
-- The sample (--pages N, default 3; 0: every page) takes the pages written
-- mostly in non-ASCII text first (a tenth of the file's bytes or more:
-- fixtures/html has chinese.html and japanese.html), then the rest in the
-- order of target.serve_fixtures (path order; a recording's own order). Each get_content waits out
-- gofr-dig's 1 s per-host politeness delay, so a page costs about a second.
local sim = require "gofr_sim"
local target = require "gofr_sim.gofr_dig.target"
local tokens = require "gofr_sim.gofr_dig.tokens"
local json = require "gofr_sim.util.json"
local fs = require "gofr_sim.util.fs"

local OWNER = "apac" -- the group of the token that creates the sessions
local ceil, max = math.ceil, math.max

local tgt -- the gofr-dig of this run, made by prepare

-- Text ---------------------------------------------------------------------

-- Characters (code points) of UTF-8 text: every byte but continuation bytes.
-- (The scenario's own count, not the twin's: it checks the server.)
local function chars(s)
  return #s - select(2, s:gsub("[\128-\191]", ""))
end

-- Where two strings first differ (1-based byte), for the observed value.
local function first_difference(a, b)
  for i = 1, math.min(#a, #b) do
    if a:byte(i) ~= b:byte(i) then return i end
  end
  return math.min(#a, #b) + 1
end

-- What a failed call came to: gofr-dig's error code and message, or the
-- transport's error type.
local function failure(r)
  local code = r.error_code or r.error_type or "an unexpected reply"
  return r.message and (code .. " (" .. r.message .. ")") or code
end

-- The sample --------------------------------------------------------------------

-- True when at least a tenth of the page file's bytes are non-ASCII: a page
-- written in a non-Latin script (many pages have a stray "—" or "©").
local function mostly_non_ascii(path)
  local text = fs.read_file(path)
  if not text then return false end
  local _, n = text:gsub("[\128-\255]", "")
  return #text > 0 and n * 10 >= #text
end

-- The file under root that a page URL of target.serve_fixtures serves: its
-- path after the site's base URL, without a query, percent-decoded.
local function file_of(root, base_url, url)
  local path = url:sub(#base_url + 2):gsub("%?.*$", "")
  path = path:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  return root .. "/" .. path
end

-- -> array of {name=, url=, non_ascii=} for the site's page URLs (in the
-- order serve_fixtures gives them): the mostly non-ASCII pages first, then
-- the rest, `n` of them (0: all). name: the URL's path on the site.
local function sample(root, site, urls, n)
  local first, rest = {}, {}
  for _, url in ipairs(urls) do
    local page = { name = url:sub(#site.base_url + 2), url = url,
                   non_ascii = mostly_non_ascii(file_of(root, site.base_url, url)) }
    local list = page.non_ascii and first or rest
    list[#list + 1] = page
  end
  for _, p in ipairs(rest) do first[#first + 1] = p end
  if n > 0 then
    for i = #first, n + 1, -1 do first[i] = nil end
  end
  return first
end

-- Steps ---------------------------------------------------------------------

-- get_content(session=true) -> the reply's data, or nil (the check says why).
local function create(s, page, chunk_size)
  local r = s:call("get_content", { url = page.url, session = true, parse_results = false,
                                    chunk_size = chunk_size })
  local sid = r.ok and type(r.data) == "table" and r.data.session_id
  local ok = type(sid) == "string" and sid ~= ""
  sim.check(ok, page.name .. ": get_content(session=true) creates a session",
    ok and sid or failure(r))
  return ok and r.data or nil
end

-- get_session_info, checked against what get_content said and asked.
local function info_of(s, page, created, chunk_size)
  local r = s:call("get_session_info", { session_id = created.session_id })
  local info = r.ok and type(r.data) == "table" and r.data or nil
  sim.check(info ~= nil, page.name .. ": get_session_info answers", info and "answered" or failure(r))
  if not info then return nil end
  local agrees = info.session_id == created.session_id and info.chunk_size == chunk_size
    and created.chunk_size == chunk_size and info.total_chunks == created.total_chunks
    and info.total_size_bytes == created.total_size
  sim.check(agrees, page.name .. ": get_content's reply and get_session_info agree (chunk_size as asked)",
    ("chunk_size %s/%s (asked %d), total_chunks %s/%s, size %s/%s"):format(tostring(created.chunk_size),
      tostring(info.chunk_size), chunk_size, tostring(created.total_chunks), tostring(info.total_chunks),
      tostring(created.total_size), tostring(info.total_size_bytes)))
  sim.check(info.group == OWNER and info.url == page.url,
    ("%s: the session belongs to %s and names the page's URL"):format(page.name, OWNER),
    ("group %s, url %s"):format(tostring(info.group), tostring(info.url)))
  local want = max(1, ceil((tonumber(info.total_chars) or 0) / chunk_size))
  sim.check(info.total_chunks == want, page.name .. ": total_chunks = ceil(total_chars / chunk_size)",
    ("total_chars %s, chunk_size %d, total_chunks %s"):format(tostring(info.total_chars), chunk_size,
      tostring(info.total_chunks)))
  return info
end

-- Every chunk, 0 .. total_chunks-1 -> the chunks' text joined, or nil.
local function read_chunks(s, page, info, chunk_size)
  local parts, sizes, longest, exact = {}, {}, 0, true
  local total = tonumber(info.total_chunks) or 0
  for i = 0, total - 1 do
    local r = s:call("get_session_chunk", { session_id = info.session_id, chunk_index = i })
    if not (r.ok and type(r.data) == "string") then
      sim.check(false, page.name .. ": every chunk can be read", ("chunk %d: %s"):format(i, failure(r)))
      return nil
    end
    parts[#parts + 1], sizes[#sizes + 1] = r.data, chars(r.data)
    longest = max(longest, sizes[#sizes])
    if i < total - 1 and sizes[#sizes] ~= chunk_size then exact = false end
  end
  sim.check(true, page.name .. ": every chunk can be read", total .. " chunks")
  local sum = 0
  for _, n in ipairs(sizes) do sum = sum + n end
  sim.check(longest <= chunk_size, page.name .. ": every chunk has at most chunk_size characters",
    ("longest %d characters, chunk_size %d"):format(longest, chunk_size))
  sim.check(exact, page.name .. ": every chunk but the last has exactly chunk_size characters",
    "characters per chunk: " .. table.concat(sizes, " "))
  sim.check(sum == info.total_chars, page.name .. ": the chunks hold total_chars characters in all",
    ("%d in the chunks, total_chars %s"):format(sum, tostring(info.total_chars)))
  return table.concat(parts)
end

-- The stored content, as read chunk by chunk: info's total_size_bytes is
-- its length in bytes, it is the page as JSON (contract §4.3: its url is
-- the page's), and a mostly non-ASCII page keeps its text unescaped
-- (ensure_ascii=False), so it has fewer characters than bytes — what makes
-- chunking by code points differ from chunking by bytes.
local function check_content(page, info, joined)
  sim.check(info.total_size_bytes == #joined,
    page.name .. ": get_session_info's total_size_bytes is the content's length in bytes",
    ("total_size_bytes %s, chunks joined %d bytes"):format(tostring(info.total_size_bytes), #joined))
  local doc = json.decode(joined)
  local doc_url = type(doc) == "table" and doc.url
  sim.check(doc_url == page.url, page.name .. ": the content is the page as JSON",
    doc and ("url " .. tostring(doc_url)) or "not JSON")
  if page.non_ascii then
    local n = chars(joined)
    sim.check(n < #joined, page.name .. ": the content keeps its non-ASCII text",
      ("%d characters in %d bytes"):format(n, #joined))
  end
end

-- get_session: its content is the chunks joined, its sizes its own.
local function check_whole(s, page, info, joined)
  local r = s:call("get_session", { session_id = info.session_id })
  local d = r.ok and type(r.data) == "table" and r.data or nil
  local content = d and d.content
  if type(content) ~= "string" then
    sim.check(false, page.name .. ": get_session content equals the chunks joined", failure(r))
    return
  end
  local same = content == joined
  sim.check(same, page.name .. ": get_session content equals the chunks joined",
    same and ("equal, %d bytes"):format(#content)
    or ("differs at byte %d: content %d bytes, chunks joined %d bytes"):format(
      first_difference(content, joined), #content, #joined))
  sim.check(d.total_size_bytes == #content and d.total_chunks == info.total_chunks,
    page.name .. ": get_session's total_size_bytes and total_chunks describe its content",
    ("total_size_bytes %s, content %d bytes, total_chunks %s (info %s)"):format(
      tostring(d.total_size_bytes), #content, tostring(d.total_chunks), tostring(info.total_chunks)))
end

-- get_session_urls: total_chunks entries, indices 0..total_chunks-1, all of
-- this session.
local function check_urls(s, page, info)
  local r = s:call("get_session_urls", { session_id = info.session_id })
  local list = r.ok and type(r.data) == "table" and r.data.chunks
  local ok = type(list) == "table" and #list == info.total_chunks and r.data.total_chunks == info.total_chunks
  if ok then
    for i, c in ipairs(list) do
      ok = ok and type(c) == "table" and c.chunk_index == i - 1 and c.session_id == info.session_id
    end
  end
  local indices = {}
  for i, c in ipairs(type(list) == "table" and list or {}) do
    indices[i] = type(c) == "table" and tostring(c.chunk_index) or "?"
  end
  sim.check(ok, page.name .. ": get_session_urls lists every chunk by index",
    type(list) == "table" and ("%d entries (indices %s), total_chunks %s"):format(#list,
      table.concat(indices, " "), tostring(info.total_chunks)) or failure(r))
end

-- list_sessions for the owner: every session made, with the info seen.
local function check_listed(s, infos)
  local r = s:call("list_sessions", {})
  local listed = {}
  local sessions = r.ok and type(r.data) == "table" and r.data.sessions
  for _, e in ipairs(type(sessions) == "table" and sessions or {}) do
    if type(e) == "table" and e.session_id then listed[e.session_id] = e end
  end
  for _, item in ipairs(infos) do
    local e, info = listed[item.info.session_id], item.info
    local same = e and e.group == info.group and e.total_chunks == info.total_chunks
      and e.total_chars == info.total_chars and e.total_size_bytes == info.total_size_bytes
    sim.check(same, ("%s: the session appears in list_sessions for %s"):format(item.page.name, OWNER),
      e and (same and "listed, same info" or "listed, other info") or
      (type(sessions) == "table" and ("not among %d listed"):format(#sessions) or failure(r)))
  end
end

-- The lifecycle of one page -> its info, or nil when it stopped early.
local function lifecycle(s, page, chunk_size)
  local created = create(s, page, chunk_size)
  if not created then return nil end
  local info = info_of(s, page, created, chunk_size)
  if not info then return nil end
  local joined = read_chunks(s, page, info, chunk_size)
  if joined then
    check_content(page, info, joined)
    check_whole(s, page, info, joined)
  end
  check_urls(s, page, info)
  return info
end

local function run_checks(ctx)
  local s, err_type, msg = tgt:connect(tgt.tokens.token_apac)
  sim.check(s ~= nil, OWNER .. " persona connects to gofr-dig",
    s and "connected" or ("%s: %s"):format(err_type, tostring(msg)))
  if not s then return end
  local infos = {}
  for _, page in ipairs(ctx.pages) do
    local info = lifecycle(s, page, ctx.options.chunk_size)
    if info then infos[#infos + 1] = { page = page, info = info } end
  end
  check_listed(s, infos)
end

-- The scenario ---------------------------------------------------------------

return {
  name = "session_lifecycle",
  description = "create -> info -> chunks -> get_session -> urls -> list, content checked end to end",
  tokens = tokens.resolver, -- --token-source, --jwt-secret-file, --token-store (target.new)
  flags = target.with_flags {
    fixtures_port = target.FIXTURES_PORT_FLAG,
    fixtures_dir = { type = "string", help = "the site served and sampled (default fixtures/html)" },
    timeout = { type = "duration", default = 30, above = 0, help = "per connect and per tool call" },
    chunk_size = { type = "integer", min = 1, default = 500,
      help = "get_content's chunk_size: small, so pages have several chunks" },
    pages = { type = "integer", min = 0, default = 3,
      help = "how many pages to take through the lifecycle (0: every page)" },
  },

  prepare = function(o)
    tgt = target.new(o, { tokens = { "token_apac" } })
    return tgt:mix_extra()
  end,

  setup = function(ctx)
    local o = ctx.options
    local site, urls = target.serve_fixtures(o.fixtures_dir, { port = o.fixtures_port })
    local pages = sample(o.fixtures_dir or sim.fixtures.default_root(), site, urls, o.pages)
    tgt:start(ctx)
    return { site = site, pages = pages }
  end,

  check = run_checks, -- once; a raise fails the completion check
  completion_check = "every step of the scenario ran",

  teardown = function(ctx)
    if tgt then tgt:stop() end
    if ctx.site then ctx.site.close() end
  end,
}
