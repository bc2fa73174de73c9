--- sim.http: HTTP requests from personas, on the engine's loop: the native
-- HTTP/1.1 engine for http:// (src/core/http1_client.c), libcurl for the
-- rest (docs/api.md, "Engines").
--
-- sim.http.request{method=, url=, headers=, body=, timeout=, connect_timeout=,
--                  follow_redirects=, max_redirects=, max_body=, retry=, expect=,
--                  engine=, retry_unsafe=}
--   -> {status=, headers= (lower-case keys), body=, url=, redirects=, reused=,
--       connection_retries=, timings={dns=, connect=, tls=, ttfb=, total=},
--       attempts=, retries=}
--   or nil, err_type, message  (err_type: network_timeout, network_connect,
--       network_protocol, network_reset, network_error, body_too_large)
-- An HTTP 4xx/5xx is a response, not an error. See docs/api.md.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local metrics = require "gofr_sim.engine.metrics"
local blockpage = require "gofr_sim.engine.blockpage"
local expect = require "gofr_sim.engine.expect"

local type, pairs, tostring, tonumber = type, pairs, tostring, tonumber
local floor, min, random = math.floor, math.min, math.random

local M = {}

local OPTION_TYPES = {
  method = "string",
  url = "string",
  headers = "table",
  body = "string",
  timeout = "number",
  connect_timeout = "number",
  follow_redirects = "boolean",
  max_redirects = "number",
  max_body = "number",
  path_as_is = "boolean",
  retry = "table|boolean",
  expect = "table", -- expected outcomes (gofr_sim.engine.expect), e.g. { 404 }
  engine = "string", -- "auto" (default), "curl" or "native"
  retry_unsafe = "boolean", -- a POST etc. may be re-sent when its reused connection died
  name = "string", -- recorded as this tool instead of http.<method> (groups many URLs)
  tags = "table", -- this call's own tags on its sample
}

--- The engines a request may name (engine=), and sim.http.set_engine takes.
M.ENGINES = { auto = true, curl = true, native = true }

--- The environment variable naming the default engine of a process.
M.ENGINE_ENV = "GOFR_SIM_HTTP_ENGINE"

local fail = check.fail

local function check_positive(fname, opts, key)
  local v = opts[key]
  if v ~= nil and not (v > 0) then -- luacheck: ignore 581 (also refuses NaN)
    fail(fname, ("option '%s' must be > 0, got %s"):format(key, tostring(v)))
  end
end

--- Validates request options; returns a copy with defaults filled in.
local function normalise(fname, opts)
  local o = {}
  for k, v in pairs(check.options(fname, opts, OPTION_TYPES)) do o[k] = v end
  if not o.url then fail(fname, "option 'url' is required") end
  if not o.url:match("^[hH][tT][tT][pP][sS]?://.") then
    fail(fname, ("option 'url' must be an http:// or https:// URL, got '%s'"):format(o.url))
  end
  o.method = (o.method or "GET"):upper()
  if not o.method:match("^[A-Z]+$") then
    fail(fname, ("option 'method' must be an HTTP method name, got '%s'"):format(o.method))
  end
  if o.engine ~= nil and not M.ENGINES[o.engine] then
    fail(fname, ("option 'engine' must be auto, curl or native, got '%s'"):format(o.engine))
  end
  check_positive(fname, o, "timeout")
  check_positive(fname, o, "connect_timeout")
  if o.max_body ~= nil and (o.max_body < 0 or o.max_body ~= floor(o.max_body)) then
    fail(fname, "option 'max_body' must be a whole number of bytes >= 0")
  end
  if o.timeout == nil then o.timeout = 30 end
  if o.follow_redirects == nil then o.follow_redirects = true end
  return o
end

-- Retry ------------------------------------------------------------------

M.RETRY_DEFAULTS = {
  max_retries = 3,          -- retries after the first attempt
  base = 1.0,               -- seconds; delay = base * 2^(retry-1) without Retry-After
  cap = 30.0,               -- no delay is longer than this
  jitter = 0.0,             -- 0..1: the delay is shortened by up to this fraction at random
  statuses = { 429, 502, 503, 504 },
}

local RETRY_KEYS = { max_retries = true, base = true, cap = true, jitter = true, statuses = true }

local function retry_policy(fname, retry)
  local p = {}
  for k, v in pairs(M.RETRY_DEFAULTS) do p[k] = v end
  if type(retry) == "table" then
    for k, v in pairs(retry) do
      if not RETRY_KEYS[k] then
        fail(fname, ("unknown retry option '%s'%s"):format(tostring(k), check.unknown_clause(k, RETRY_KEYS)))
      end
      p[k] = v
    end
  end
  if type(p.max_retries) ~= "number" or p.max_retries < 0 then
    fail(fname, "retry.max_retries must be a number >= 0")
  end
  if type(p.base) ~= "number" or p.base < 0 then fail(fname, "retry.base must be >= 0") end
  if type(p.cap) ~= "number" or p.cap < 0 then fail(fname, "retry.cap must be >= 0") end
  if type(p.jitter) ~= "number" or p.jitter < 0 or p.jitter > 1 then
    fail(fname, "retry.jitter must be between 0 and 1")
  end
  if type(p.statuses) ~= "table" then fail(fname, "retry.statuses must be an array") end
  local set = {}
  for _, s in pairs(p.statuses) do set[s] = true end
  p.status_set = set
  return p
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                 Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a proleptic Gregorian date.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Seconds since the epoch of an IMF-fixdate ("Wed, 21 Oct 2015 07:28:00 GMT"), or nil.
function M.parse_http_date(s)
  local d, mon, y, hh, mm, ss = s:match("^%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not d or not MONTHS[mon] then return nil end
  return days_from_civil(tonumber(y), MONTHS[mon], tonumber(d)) * 86400
    + tonumber(hh) * 3600 + tonumber(mm) * 60 + tonumber(ss)
end

--- The delay before retry number `retry` (1-based), in seconds.
-- `retry_after` is the Retry-After header value or nil; `now` is the wall
-- clock in epoch seconds (for HTTP-dates); `rand` a number in [0,1).
function M.retry_delay(policy, retry, retry_after, now, rand)
  local delay
  if retry_after then
    local secs = tonumber(retry_after)
    if secs and secs >= 0 then
      delay = secs
    else
      local at = M.parse_http_date(retry_after)
      if at then delay = at - now > 0 and at - now or 0 end
    end
  end
  if not delay then delay = policy.base * 2 ^ (retry - 1) end
  delay = min(delay, policy.cap)
  if policy.jitter > 0 then delay = delay * (1 - policy.jitter * (rand or 0)) end
  return delay
end

local function with_retry(o, policy)
  local retries = {}
  local res, err_type, msg = core.http_request(o)
  local retry = 0
  while res and policy.status_set[res.status] and retry < policy.max_retries do
    retry = retry + 1
    local delay = M.retry_delay(policy, retry, res.headers["retry-after"], os.time(), random())
    retries[retry] = { status = res.status, delay = delay }
    if not core.sleep(delay) then break end -- the run is stopping
    res, err_type, msg = core.http_request(o)
  end
  if not res then return nil, err_type, msg end
  res.attempts = retry + 1
  res.retries = retries
  return res
end

-- method -> {name = "http.<method>", counter tags}, and name= -> the same for
-- that name: built once each.
local tools = { by_method = {}, by_name = {} }

local function tool_entry(map, key, name)
  local t = map[key]
  if not t then
    t = { name = name, tags = metrics.frozen_tags { tool = name }, by_media = {} }
    map[key] = t
  end
  return t
end

-- The tool of a request: the name= it was given (as is), else "http.<method>".
local function tool_of(method, name)
  if name then return tool_entry(tools.by_name, name, name) end
  local t = tools.by_method[method]
  return t or tool_entry(tools.by_method, method, "http." .. method:lower())
end

--- When true (the default), a 200 HTML response that gofr_sim.engine.blockpage
-- classifies as a bot block, a CAPTCHA or a paywall is recorded as an error
-- of that type (block_page, captcha, paywall): docs/blockpages.md.
M.classify_block_pages = true

local media_types, n_media_types = {}, 0 -- Content-Type value -> media type (a bounded cache)

--- The media type of a Content-Type value, lower case, without parameters;
-- "none" when absent (a bounded cache: one table lookup per response).
local function media_type(ct)
  if ct == nil then return "none" end
  local mt = media_types[ct]
  if mt then return mt end
  mt = ct:match("^%s*([^;%s]+)")
  mt = mt and mt:lower() or "none"
  if n_media_types < 256 then
    media_types[ct], n_media_types = mt, n_media_types + 1
  end
  return mt
end

M.media_type = media_type

-- The error type of a response: its status class, else its block class.
local function response_error(res)
  local e = M.status_error(res.status)
  if e or res.status ~= 200 or not M.classify_block_pages then return e end
  return blockpage.classify(200, res.headers["content-type"], res.body)
end

-- Records the request as tool "http.<method>" or the call's name= (retries
-- included), tagged with the persona, its group, the call's tags= and, on
-- failure, the error type; counts the response's bytes
-- (http.bytes{tool=}) and media type (http.content_type{tool=,type=}); an
-- outcome the call (decl) or its persona expects is tagged expected=true;
-- passes the results through.
local function record(method, decl, started, call, res, err_type, msg)
  local t = tool_of(method, call.name)
  local tool = t.name
  local elapsed = core.now() - started
  local error_type = res and response_error(res) or err_type
  local expected = expect.judge(tool, error_type, decl, msg, res and res.status)
  local reg = metrics.current
  reg:record(tool, elapsed, metrics.request_tags(tool, error_type, expected, call.tags))
  if error_type and not expected then
    reg:error_sample(error_type, res and ("%s %s: HTTP %d"):format(method, res.url, res.status) or msg)
  end
  if res then
    if res.connection_retries > 0 then
      reg:count("http.connection_retries", res.connection_retries, t.tags)
    end
    reg:count("http.bytes", #(res.body or ""), t.tags)
    local mt = media_type(res.headers["content-type"])
    local mtags = t.by_media[mt]
    if not mtags then
      mtags = metrics.frozen_tags { tool = tool, type = mt }
      t.by_media[mt] = mtags
    end
    reg:count("http.content_type", 1, mtags)
  end
  return res, err_type, msg
end

local NO_CALL = {} -- a request without name= or tags=

--- One HTTP request (see the module comment). With `retry` (true or a
-- policy table: max_retries, base, cap, jitter, statuses) responses whose
-- status is in `statuses` are retried after Retry-After (seconds or
-- HTTP-date) or an exponential back-off, both capped; res.retries lists
-- {status=, delay=} per retry. Network failures are not retried.
-- Every request is recorded in sim.metrics (see docs/api.md).
function M.request(opts)
  if M.environment_error then error(M.environment_error, 2) end
  local o = normalise("sim.http.request", opts)
  local retry, decl = o.retry, o.expect and expect.compile_call("sim.http.request", o.expect)
  local call = NO_CALL
  if o.name or o.tags then
    if o.name == "" then fail("sim.http.request", "option 'name' must not be empty") end
    if o.tags then metrics.check_call_tags("sim.http.request", o.tags) end
    call = { name = o.name, tags = o.tags }
  end
  o.retry, o.expect, o.name, o.tags = nil, nil, nil, nil
  local started = core.now()
  if retry then
    return record(o.method, decl, started, call, with_retry(o, retry_policy("sim.http.request", retry)))
  end
  return record(o.method, decl, started, call, core.http_request(o))
end

local function with_url(fname, url, opts, method, body)
  if type(url) ~= "string" then
    fail(fname, "url must be a string, got " .. type(url))
  end
  local o = {}
  if opts ~= nil then
    if type(opts) ~= "table" then fail(fname, "opts must be a table, got " .. type(opts)) end
    for k, v in pairs(opts) do o[k] = v end
  end
  o.url, o.method, o.body = url, method, body
  return M.request(o)
end

--- sim.http.get(url, opts)
function M.get(url, opts)
  return with_url("sim.http.get", url, opts, "GET", nil)
end

--- sim.http.post(url, body, opts)
function M.post(url, body, opts)
  if body ~= nil and type(body) ~= "string" then
    fail("sim.http.post", "body must be a string, got " .. type(body))
  end
  return with_url("sim.http.post", url, opts, "POST", body)
end

local default_engine = "auto" -- what core.http_set_engine was last given

--- sim.http.set_engine(name): the engine of requests that name none, for
-- the whole process ("auto": native for http:// without a proxy, curl
-- otherwise). The runner's --http-engine sets it; GOFR_SIM_HTTP_ENGINE
-- sets it when this module loads.
function M.set_engine(name)
  if not M.ENGINES[name] then
    fail("sim.http.set_engine", ("engine must be auto, curl or native, got '%s'"):format(tostring(name)))
  end
  core.http_set_engine(name)
  default_engine = name
end

--- sim.http.engine() -> the name set_engine last set ("auto" until then).
function M.engine() return default_engine end

--- GOFR_SIM_HTTP_ENGINE is applied when this module loads. A bad value is
-- kept here instead (loading must not fail): the gofr-sim command refuses
-- to start with it (exit 2), and sim.http.request raises it.
M.environment_error = nil

local env_engine = os.getenv(M.ENGINE_ENV)
if env_engine and env_engine ~= "" then
  if M.ENGINES[env_engine] then
    M.set_engine(env_engine)
  else
    M.environment_error = ("%s must be auto, curl or native, got '%s'"):format(M.ENGINE_ENV, env_engine)
  end
end

--- The old harness's error class of a final HTTP status: nil for 1xx-3xx,
-- else auth_unauthorized, auth_forbidden, not_found, rate_limited,
-- client_error, server_error.
function M.status_error(status)
  if status < 400 then return nil end
  if status == 401 then return "auth_unauthorized" end
  if status == 403 then return "auth_forbidden" end
  if status == 404 then return "not_found" end
  if status == 429 then return "rate_limited" end
  if status < 500 then return "client_error" end
  if status < 600 then return "server_error" end
  return "http_" .. status
end

return M
