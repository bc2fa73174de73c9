--- The twin's page fetcher: gofr-dig's HTTPFetcher, RobotsChecker and
-- SSRF guard (app/scraping/fetcher.py, robots.py, url_validator.py) on the
-- engine's HTTP client; robots.txt's rules are twin/robots.lua's, URLs are
-- read by twin/urlparse.lua.
--
--   local fetch = require "gofr_sim.twin.fetch"
--   local f = fetch.new{ allow_private = false, delay = 1.0, retry_base = 1.0,
--                        max_retries = 3, max_delay = 30, user_agent = "...",
--                        headers = {...}, rng = sim.rng.new(1) }
--   f:robots_allowed(url)  -> true | false, "Disallowed by robots.txt for *"
--   f:check_url(url)       -> true | nil, error_code, reason
--   f:get(url, {timeout = 60, max_bytes = fetch.MAX_BYTES}) -> page | failure
--     page    = {ok = true, status =, url = (after redirects), body =,
--                headers = (lower-case names), content_type =, retries =,
--                rate_limited =}
--     failure = {ok = false, error_code =, error = "Failed to fetch URL: <reason>",
--                status_code = (0 without a response), url =, retries =,
--                rate_limited =}
--   fetch.classify(status, reason [, rate_limited]) -> error_code
--   fetch.allow_private_from_env(value) -> boolean
--
-- get and robots_allowed yield, so they run inside personas (they raise
-- elsewhere); check_url does not yield but resolves the host with
-- getaddrinfo, which blocks the loop as gofr-dig's guard blocks its event
-- loop (get runs the same guard). Outgoing requests are not recorded
-- in sim.metrics: they are the twin's traffic, not the scenario's.
--
-- What follows gofr-dig, and why, is told next to each piece; the reasons
-- ("HTTP 404 Not Found", "HTTP error after 4 attempts: ...", the SSRF texts)
-- are gofr-dig's, since its error codes are derived from them.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local utf8 = require "gofr_sim.util.utf8"
local tables = require "gofr_sim.util.tables"
local robots_txt = require "gofr_sim.twin.robots"
local urlparse = require("gofr_sim.twin.urlparse").urlparse

local type, pairs, tostring, tonumber, pcall = type, pairs, tostring, tonumber, pcall
local byte, find, lower, sub, gsub, format = string.byte, string.find, string.lower,
  string.sub, string.gsub, string.format
local min, floor, random = math.min, math.floor, math.random

local M = {}

local fail = check.fail

--- User-Agent of robots.txt requests (gofr-dig's "none" profile).
M.ROBOTS_USER_AGENT = "gofr-dig/1.0"
--- Bytes of a page body the fetcher reads before it gives up (f:get's
-- max_bytes). gofr-dig has no such limit: it reads a page until its
-- timeout_seconds (60) and ends in FETCH_ERROR once the retries are spent;
-- the twin fails the same way (FETCH_ERROR) at once, with bounded memory.
M.MAX_BYTES = 64 * 1024 * 1024
--- Statuses retried after a back-off (gofr-dig's RETRY_STATUS_CODES).
M.RETRY_STATUSES = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

-- Reason phrases as the engine's HTTP server (and most servers) send them;
-- gofr-dig reports the phrase of the status line, or "Unknown".
local REASONS = {
  [100] = "Continue", [101] = "Switching Protocols", [200] = "OK", [201] = "Created",
  [202] = "Accepted", [203] = "Non-Authoritative Information", [204] = "No Content",
  [205] = "Reset Content", [206] = "Partial Content", [300] = "Multiple Choices",
  [301] = "Moved Permanently", [302] = "Found", [303] = "See Other", [304] = "Not Modified",
  [307] = "Temporary Redirect", [308] = "Permanent Redirect", [400] = "Bad Request",
  [401] = "Unauthorized", [402] = "Payment Required", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed", [406] = "Not Acceptable",
  [407] = "Proxy Authentication Required", [408] = "Request Timeout", [409] = "Conflict",
  [410] = "Gone", [411] = "Length Required", [412] = "Precondition Failed",
  [413] = "Payload Too Large", [414] = "URI Too Long", [415] = "Unsupported Media Type",
  [416] = "Range Not Satisfiable", [417] = "Expectation Failed", [418] = "I'm a teapot",
  [421] = "Misdirected Request", [422] = "Unprocessable Entity", [423] = "Locked",
  [424] = "Failed Dependency", [425] = "Too Early", [426] = "Upgrade Required",
  [428] = "Precondition Required", [429] = "Too Many Requests",
  [431] = "Request Header Fields Too Large", [451] = "Unavailable For Legal Reasons",
  [500] = "Internal Server Error", [501] = "Not Implemented", [502] = "Bad Gateway",
  [503] = "Service Unavailable", [504] = "Gateway Timeout",
  [505] = "HTTP Version Not Supported", [506] = "Variant Also Negotiates",
  [507] = "Insufficient Storage", [508] = "Loop Detected", [510] = "Not Extended",
  [511] = "Network Authentication Required",
}

-- Python's str.isdigit-free int(): optional sign, digits with single "_"
-- between them, surrounding whitespace. Returns an integer or nil.
local function python_int(s)
  s = s:match("^[ \t\n\v\f\r]*(.-)[ \t\n\v\f\r]*$")
  local sign, digits = s:match("^([+-]?)(%d[%d_]*)$")
  if not digits or find(digits, "__", 1, true) or sub(digits, -1) == "_" then return nil end
  local n = tonumber((gsub(digits, "_", "")))
  return sign == "-" and -n or n
end

--- The Retry-After value gofr-dig honours: an integer as Python's int()
-- reads it (negative ones included: they mean no wait), else nil (an
-- HTTP-date falls back to the exponential back-off).
function M.parse_retry_after(value)
  if type(value) ~= "string" then return nil end
  return python_int(value)
end

-- UTF-8 --------------------------------------------------------------------

--- nil when s is valid UTF-8, else the message of Python's strict
-- bytes.decode("utf-8") ("'utf-8' codec can't decode byte 0x89 in position
-- 0: invalid start byte"), which names the bytes of the first error (0-based).
function M.utf8_error(s)
  local i, problem, span = utf8.first_invalid(s)
  if not i then return nil end
  if span == 1 then
    return format("'utf-8' codec can't decode byte 0x%02x in position %d: %s", byte(s, i), i - 1,
      problem)
  end
  return format("'utf-8' codec can't decode bytes in position %d-%d: %s", i - 1, i - 2 + span,
    problem)
end

-- Whether a Content-Type's charset makes Python decode as (strict) UTF-8:
-- no charset (aiohttp falls back to utf-8) or a UTF-8 alias. Other charsets
-- are taken as they come (the body is kept as bytes).
local UTF8_ALIASES = { utf8 = true, u8 = true, utf = true, cp65001 = true, utf8sig = true }
local function decodes_as_utf8(content_type)
  local cs = content_type and lower(content_type):match(";%s*charset%s*=%s*\"?([^;\"]*)")
  cs = cs and cs:match("^%s*(.-)%s*$")
  if not cs or cs == "" then return true end
  return UTF8_ALIASES[(gsub(cs, "[-_ ]", ""))] == true
end

-- Classification -----------------------------------------------------------

--- gofr-dig's _classify_fetch_error: the error code of a failed fetch from
-- its status (0 without a response), its reason text and whether a 429 was
-- met on the way.
function M.classify(status, reason, rate_limited)
  status = status or 0
  if status == 404 then return "URL_NOT_FOUND" end
  if status == 403 then return "ACCESS_DENIED" end
  if status == 429 or rate_limited then return "RATE_LIMITED" end
  if status >= 500 then return "FETCH_ERROR" end
  local e = lower(reason or "")
  if find(e, "private", 1, true) and find(e, "internal", 1, true) then return "SSRF_BLOCKED" end
  if find(e, "timeout", 1, true) or find(e, "timed out", 1, true) then return "TIMEOUT_ERROR" end
  if find(e, "connect", 1, true) or find(e, "resolve", 1, true) or find(e, "dns", 1, true) then
    return "CONNECTION_ERROR"
  end
  return "FETCH_ERROR"
end

--- GOFR_DIG_ALLOW_PRIVATE_URLS semantics: "1" or "true" in any case (no
-- trimming); anything else, or nil, is false.
function M.allow_private_from_env(value)
  if type(value) ~= "string" then return false end
  local v = lower(value)
  return v == "1" or v == "true"
end

-- The fetcher ----------------------------------------------------------------

local Fetcher = {}
Fetcher.__index = Fetcher

local NEW_OPTIONS = {
  allow_private = "boolean",
  delay = "number",
  retry_base = "number",
  max_retries = "number",
  max_delay = "number",
  max_redirects = "number",
  user_agent = "string",
  headers = "table",
  rng = "table",
  robots_timeout = "number",
}

local function check_nonneg(fname, opts, key, integer)
  local v = opts[key]
  if v ~= nil and not (v >= 0 and v < math.huge and (not integer or floor(v) == v)) then
    fail(fname, ("option '%s' must be %s >= 0, got %s")
      :format(key, integer and "an integer" or "a number", tostring(v)))
  end
end

local function check_headers(fname, headers)
  for k, v in pairs(headers) do
    if type(k) ~= "string" or type(v) ~= "string" then
      fail(fname, "option 'headers' must map header names to string values")
    end
  end
end

--- fetch.new(opts) -> fetcher. Options (all optional): allow_private
-- (false), delay (1.0 s per netloc; 0 disables), retry_base (1.0 s),
-- max_retries (3), max_delay (30 s: cap of a back-off and of Retry-After),
-- max_redirects (10), user_agent, headers (name -> value; a User-Agent
-- there wins over user_agent), rng (an object with :float(); default
-- math.random), robots_timeout (10 s). f.delay, f.user_agent and f.headers
-- may be changed later (set_antidetection). f.politeness_waits and
-- f.politeness_seconds count the fetches that waited for the delay, and the
-- seconds they waited in all.
function M.new(opts)
  local fname = "twin.fetch.new"
  opts = opts or {}
  check.options(fname, opts, NEW_OPTIONS)
  check_nonneg(fname, opts, "delay")
  check_nonneg(fname, opts, "retry_base")
  check_nonneg(fname, opts, "max_retries", true)
  check_nonneg(fname, opts, "max_delay")
  check_nonneg(fname, opts, "max_redirects", true)
  if opts.robots_timeout ~= nil and not (opts.robots_timeout > 0) then -- luacheck: ignore 581
    fail(fname, "option 'robots_timeout' must be > 0")
  end
  if opts.headers then check_headers(fname, opts.headers) end
  if opts.rng and type(opts.rng.float) ~= "function" then
    fail(fname, "option 'rng' must have a float() method (see sim.rng)")
  end
  local headers = tables.copy(opts.headers or {})
  return setmetatable({
    allow_private = opts.allow_private == true,
    delay = opts.delay or 1.0,
    retry_base = opts.retry_base or 1.0,
    max_retries = opts.max_retries or 3,
    max_delay = opts.max_delay or 30.0,
    max_redirects = opts.max_redirects or 10,
    user_agent = opts.user_agent,
    headers = headers,
    rng = opts.rng,
    robots_timeout = opts.robots_timeout or 10.0,
    robots_cache = {}, -- "<scheme>://<netloc>/robots.txt" -> parsed robots or false
    last_fetch = {},   -- netloc -> core.now() after the last politeness wait
    politeness_waits = 0, politeness_seconds = 0, -- fetches that waited, and how long in all
  }, Fetcher)
end

-- robots.txt ---------------------------------------------------------------

local function in_persona(fname)
  if not core.in_persona() then
    fail(fname, "must be called inside a persona (sim.run, sim.spawn or a handler)")
  end
end

-- Fetches and parses one robots.txt: parsed rules, or false (allow all) for
-- a non-200 answer, a network error or a body that is not UTF-8.
local function load_robots(self, robots_url)
  local ok, res = pcall(core.http_request, {
    url = robots_url, method = "GET", timeout = self.robots_timeout,
    headers = { ["User-Agent"] = M.ROBOTS_USER_AGENT },
    follow_redirects = true, max_redirects = 10,
    metered = false, -- the server's own traffic, not the run's (core.http_bytes)
  })
  if not ok or not res or res.status ~= 200 then return false end
  if decodes_as_utf8(res.headers["content-type"]) and M.utf8_error(res.body) then return false end
  return robots_txt.parse(res.body)
end

--- f:robots_allowed(url) -> true | false, "Disallowed by robots.txt for *"
-- robots.txt of <scheme>://<netloc> is fetched once per fetcher (no SSRF
-- check, no politeness delay, robots_timeout) and kept forever; concurrent
-- first calls may each fetch it, as in gofr-dig.
function Fetcher:robots_allowed(url)
  if type(url) ~= "string" then fail("fetcher:robots_allowed", "url must be a string") end
  in_persona("fetcher:robots_allowed")
  local u = urlparse(url)
  if not u then return true end
  local robots_url = u.scheme .. "://" .. u.netloc .. "/robots.txt"
  local robots = self.robots_cache[robots_url]
  if robots == nil then
    robots = load_robots(self, robots_url)
    self.robots_cache[robots_url] = robots
  end
  if robots and not robots_txt.path_allowed(robots, url) then
    return false, "Disallowed by robots.txt for *"
  end
  return true
end

-- SSRF guard ----------------------------------------------------------------

local BLOCKED_HOSTS = { ["metadata.google.internal"] = true, ["metadata.google.com"] = true }

local function scheme_reason(scheme)
  return ("Invalid URL scheme: %s. Only http and https are supported."):format(scheme)
end

-- gofr-dig's validate_url without the bypass: nil when safe, else the reason.
local function ssrf_reason(url)
  local u, err = urlparse(url)
  if not u then return err end
  if u.scheme ~= "http" and u.scheme ~= "https" then return scheme_reason(u.scheme) end
  if not u.hostname then return "URL has no hostname." end
  if BLOCKED_HOSTS[u.hostname] then
    return ("Access to %s is blocked (cloud metadata endpoint)."):format(u.hostname)
  end
  local addrs = core.resolve(u.hostname)
  if not addrs then return "Could not resolve hostname: " .. u.hostname end
  for _, addr in pairs(addrs) do
    if core.ip_is_private(addr) then
      return ("URL resolves to a private/internal IP (%s). Requests to internal networks are "
        .. "blocked for security."):format(addr)
    end
  end
  return nil
end

--- f:check_url(url) -> true | nil, error_code, reason
-- Everything passes when allow_private is set. error_code is what gofr-dig
-- derives from the reason: SSRF_BLOCKED for a private address,
-- CONNECTION_ERROR for "Could not resolve hostname: <host>", FETCH_ERROR for
-- a bad scheme, a missing host or a cloud metadata host.
function Fetcher:check_url(url)
  if type(url) ~= "string" then fail("fetcher:check_url", "url must be a string") end
  if self.allow_private then return true end
  local reason = ssrf_reason(url)
  if not reason then return true end
  return nil, M.classify(0, reason), reason
end

-- get ------------------------------------------------------------------------

local function uniform(self)
  return self.rng and self.rng:float() or random()
end

-- gofr-dig's _calculate_backoff scaled by retry_base.
local function backoff(self, attempt, retry_after)
  if retry_after then return min(retry_after, self.max_delay) end
  local d = self.retry_base * 2 ^ attempt + uniform(self) * self.retry_base
  return min(d, self.max_delay)
end

-- Sleeps d seconds (nothing for d <= 0); false when the run is stopping.
local function pause(d)
  if d > 0 then return core.sleep(d) end
  return true
end

-- The per-netloc politeness wait: sleep out what is left of `delay` since
-- the last fetch, then stamp the time (after the sleep, so concurrent
-- callers that read the old stamp all go at once, as in gofr-dig).
local function politeness(self, netloc)
  local delay = self.delay
  if type(delay) ~= "number" or delay ~= delay then
    fail("fetcher:get", "field 'delay' must be a number, got " .. tostring(delay))
  end
  if delay <= 0 then return end
  local last = self.last_fetch[netloc]
  if last then
    local elapsed = core.now() - last
    if elapsed < delay then
      self.politeness_waits = self.politeness_waits + 1
      self.politeness_seconds = self.politeness_seconds + (delay - elapsed)
      pause(delay - elapsed)
    end
  end
  self.last_fetch[netloc] = core.now()
end

local function request_headers(self)
  local h, has_ua = {}, false
  if type(self.headers) ~= "table" then fail("fetcher:get", "field 'headers' must be a table") end
  check_headers("fetcher:get", self.headers)
  for k, v in pairs(self.headers) do
    h[k] = v
    if lower(k) == "user-agent" then has_ua = true end
  end
  if self.user_agent and not has_ua then h["User-Agent"] = self.user_agent end
  return h
end

--- What gofr-dig's aiohttp would say (str(exception)) for an engine failure
-- (err_type, message) while fetching url; the text decides the error code.
-- A timeout before the connection is up is aiohttp's ConnectionTimeoutError
-- ("Connection timeout to host <url>": TIMEOUT_ERROR); one while waiting for
-- the answer is a bare TimeoutError whose text is "" (so FETCH_ERROR).
function M.client_error_text(err_type, msg, url)
  msg = msg or ""
  local u = urlparse(url)
  if err_type == "network_timeout" then
    if find(msg, "^Connection timed out") or find(msg, "^Resolving timed out")
      or find(msg, "^Failed to connect") then
      return "Connection timeout to host " .. url
    end
    return ""
  end
  local hostport = u and (u.netloc:match("^.*@(.*)$") or u.netloc) or "?"
  if not find(hostport, ":%d+$") then
    hostport = hostport .. ":" .. ((u and u.scheme == "https") and "443" or "80")
  end
  if err_type == "network_connect" then
    local why = msg
    local ip, port = msg:match("to (%S+) port (%d+)")
    if find(msg, "resolve", 1, true) then
      why = "Name or service not known"
    elseif ip and find(msg, "refused", 1, true) then
      why = find(ip, ":", 1, true) and ("Connect call failed ('%s', %s, 0, 0)"):format(ip, port)
        or ("Connect call failed ('%s', %s)"):format(ip, port)
    end
    return ("Cannot connect to host %s ssl:default [%s]"):format(hostport, why)
  end
  if err_type == "network_protocol" and find(msg, "Empty reply", 1, true) then
    return "Server disconnected"
  end
  if err_type == "network_protocol" and find(lower(msg), "redirect", 1, true) then
    return ("0, message='', url='%s'"):format(url) -- aiohttp's TooManyRedirects
  end
  return msg
end

local function failure(status, reason, url, attempt, rate_limited)
  return {
    ok = false,
    error_code = M.classify(status, reason, rate_limited),
    error = "Failed to fetch URL: " .. reason,
    status_code = status,
    url = url,
    retries = attempt,
    rate_limited = rate_limited,
  }
end

-- A response that is not retried: a page, or a failure for >= 400, for a
-- body Python could not decode, or for a status below 200.
local function finish(res, url, attempt, rate_limited)
  local content_type = res.headers["content-type"]
  if decodes_as_utf8(content_type) then
    local bad = M.utf8_error(res.body)
    if bad then return failure(0, "Unexpected error: " .. bad, url, attempt, rate_limited) end
  end
  local status = res.status
  if status >= 400 then
    return failure(status, ("HTTP %d %s"):format(status, REASONS[status] or "Unknown"), res.url,
      attempt, rate_limited)
  end
  if status < 200 then return failure(status, "None", res.url, attempt, rate_limited) end
  return {
    ok = true, status = status, url = res.url, body = res.body, headers = res.headers,
    content_type = content_type, retries = attempt, rate_limited = rate_limited,
  }
end

local GET_OPTIONS = { timeout = "number", max_bytes = "number" }

--- f:get(url, {timeout = 60, max_bytes = M.MAX_BYTES}) -> page | failure (see
-- the module comment). In order: the scheme check, the SSRF guard (unless
-- allow_private), the politeness delay for the URL's netloc, then up to
-- 1 + max_retries requests following <= max_redirects redirects, retrying
-- 429/500/502/503/504 and network errors after a back-off (an integer
-- Retry-After wins, capped at max_delay). max_bytes (a twin-only guard)
-- fails a longer body at once, without retries.
function Fetcher:get(url, opts)
  local fname = "fetcher:get"
  if type(url) ~= "string" then fail(fname, "url must be a string, got " .. type(url)) end
  opts = opts or {}
  check.options(fname, opts, GET_OPTIONS)
  local timeout = opts.timeout or 60
  if not (timeout > 0) then fail(fname, "option 'timeout' must be > 0") end -- luacheck: ignore 581
  local max_bytes = opts.max_bytes or M.MAX_BYTES
  if not (max_bytes >= 1 and max_bytes < 2 ^ 53 and floor(max_bytes) == max_bytes) then
    fail(fname, "option 'max_bytes' must be a whole number of bytes >= 1, got " .. tostring(max_bytes))
  end
  in_persona(fname)

  local u, perr = urlparse(url)
  if not u then return failure(0, perr, url, 0, false) end
  if u.scheme ~= "http" and u.scheme ~= "https" then
    return failure(0, scheme_reason(u.scheme), url, 0, false)
  end
  if not self.allow_private then
    local reason = ssrf_reason(url)
    if reason then return failure(0, reason, url, 0, false) end
  end
  politeness(self, u.netloc)

  local request = {
    url = url, method = "GET", headers = request_headers(self), timeout = timeout,
    follow_redirects = true, max_redirects = self.max_redirects,
    max_body = max_bytes,
    metered = false, -- the server's own traffic, not the run's (core.http_bytes)
  }
  local attempt, rate_limited = 0, false
  while true do
    local ok, res, err_type, msg = pcall(core.http_request, request)
    if not ok then -- the engine refused the URL: aiohttp's InvalidURL says the URL
      res, err_type, msg = nil, "invalid_url", url
    end
    if res then
      local status = res.status
      if attempt < self.max_retries and M.RETRY_STATUSES[status] then
        if status == 429 then rate_limited = true end
        local wait = backoff(self, attempt, M.parse_retry_after(res.headers["retry-after"]))
        attempt = attempt + 1
        if not pause(wait) then return finish(res, url, attempt - 1, rate_limited) end
      else
        return finish(res, url, attempt, rate_limited)
      end
    else
      if err_type == "body_too_large" then
        return failure(0, ("Response body larger than max_bytes (%d bytes)"):format(max_bytes),
          url, attempt, rate_limited)
      end
      local text = M.client_error_text(err_type, msg, url)
      if attempt >= self.max_retries or not pause(backoff(self, attempt)) then
        return failure(0, ("HTTP error after %d attempts: %s"):format(attempt + 1, text), url,
          attempt, rate_limited)
      end
      attempt = attempt + 1
    end
  end
end

M.Fetcher = Fetcher

return M
