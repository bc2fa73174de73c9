--- sim.mcp: an MCP client over the Streamable HTTP transport, for personas.
--
--   local s, err_type, msg = sim.mcp.connect("http://127.0.0.1:8070/mcp", { timeout = 30 })
--   local r = s:call("get_content", { url = u, session = true }, { auth_token = tok })
--   if r.ok then print(r.data.session_id) else print(r.error_type, r.message) end
--   s:close()
--
-- connect() initialises a session (initialize, then notifications/initialized)
-- and keeps the server's Mcp-Session-Id and the negotiated protocol version,
-- sent on every later request. Each JSON-RPC request is one POST to the exact
-- URL (307/308 redirects within its origin are followed with method and
-- body); the answer is a JSON body or an SSE stream decoded as it arrives
-- until the response with our id. A 404 to a
-- request carrying a session id re-initialises once and retries.
--
-- session:call() returns a result table (never raises for the world failing):
--   { ok=, data=, text=, result=, is_error=, error_code=, error_type=, message=, code= }
-- and records the sample `mcp.<tool>` in sim.metrics. Other methods follow the
-- engine's convention: value, or nil, err_type, message. See docs/mcp.md.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local metrics = require "gofr_sim.engine.metrics"
local expect = require "gofr_sim.engine.expect"
local http_engine = require "gofr_sim.engine.http"
local inbound = require "gofr_sim.engine.mcp_inbound"
local json = require("cjson.safe").new()

local type, pairs, ipairs, tostring, setmetatable = type, pairs, ipairs, tostring, setmetatable
local min = math.min

local M = {}

--- The protocol version connect() asks for by default (the newest the MCP
-- SDKs speak); whatever the server answers is kept.
M.PROTOCOL_VERSION = "2025-11-25"

--- JSON null, as found in decoded results (lua-cjson's cjson.null).
M.null = require("cjson").null
local NULL = M.null

-- Misuse ----------------------------------------------------------------------

local fail = check.fail
local media_type = http_engine.media_type

-- What check_options gives for nil: one empty table, read only.
local NO_OPTIONS = setmetatable({}, {
  __newindex = function() error("gofr_sim.engine.mcp: the shared empty options are read only", 2) end,
})

-- Checks opts against {name = "type"}; nil is an empty (shared, read-only) table.
local function check_options(fname, opts, accepted)
  if opts == nil then return NO_OPTIONS end
  check.options(fname, opts, accepted)
  if opts.timeout ~= nil and not (opts.timeout > 0) then -- luacheck: ignore 581 (NaN)
    fail(fname, "option 'timeout' must be > 0, got " .. tostring(opts.timeout))
  end
  return opts
end

local function encode(fname, value)
  local s, err = json.encode(value)
  if not s then fail(fname, "cannot encode the request as JSON: " .. tostring(err)) end
  return s
end

-- HTTP ------------------------------------------------------------------------

local Session = {}
Session.__index = Session

local RESERVED = {
  ["content-type"] = true, accept = true, ["mcp-session-id"] = true,
  ["mcp-protocol-version"] = true, ["last-event-id"] = true,
}

-- The header lines of a request in a session with this id and version
-- (either may be nil). User headers come first; ours win.
local function header_lines(s, session_id, version)
  local h = {}
  for name, value in pairs(s.extra_headers) do
    if not RESERVED[name:lower()] then h[#h + 1] = name .. ": " .. value end
  end
  h[#h + 1] = "Content-Type: application/json"
  h[#h + 1] = "Accept: application/json, text/event-stream"
  if s._authorization then h[#h + 1] = "Authorization: " .. s._authorization end
  if session_id then h[#h + 1] = "Mcp-Session-Id: " .. session_id end
  if version then h[#h + 1] = "MCP-Protocol-Version: " .. version end
  return h
end

-- The header lines of a GET for the session's SSE stream, resuming after
-- event `last_id` when given.
local function get_header_lines(s, last_id)
  local h = {}
  for name, value in pairs(s.extra_headers) do
    if not RESERVED[name:lower()] then h[#h + 1] = name .. ": " .. value end
  end
  h[#h + 1] = "Accept: text/event-stream"
  if s._authorization then h[#h + 1] = "Authorization: " .. s._authorization end
  if s.session_id then h[#h + 1] = "Mcp-Session-Id: " .. s.session_id end
  if s.protocol_version then h[#h + 1] = "MCP-Protocol-Version: " .. s.protocol_version end
  if last_id then h[#h + 1] = "Last-Event-ID: " .. last_id end
  return h
end

--- Bytes an answer may have (SSE stream or JSON body) unless connect's
-- max_body says otherwise; more fails with body_too_large.
M.MAX_BODY = 64 * 1024 * 1024
--- Bytes read of an answer that is not a 2xx to a request (an HTTP error,
-- say), or of any answer to a notification or DELETE: enough for the
-- message; the rest is never read.
M.MAX_ERROR_BODY = 64 * 1024
--- Seconds a call waits, after its response arrived on an SSE stream, for
-- the server to end the stream (so the connection is kept) before it
-- cancels the rest of the transfer.
M.STREAM_END_WAIT = 0.05
--- Times in a row a request's SSE stream, or the standalone GET stream, is
-- resumed (GET with Last-Event-ID) without the answer coming, unless
-- connect's max_resumes says otherwise.
M.MAX_RESUMES = 5
--- Seconds before resuming a stream whose server gave no `retry`.
M.RESUME_DELAY = 1
--- Seconds a standalone GET stream may stay open before it is renewed
-- (resumed from its last event).
M.LISTEN_TIMEOUT = 3600
local MAX_REDIRECTS = 10

-- The origin of an absolute http(s) URL: "scheme://host:port", lower case,
-- the default port filled in; nil for anything else.
local function origin(url)
  local scheme, authority = url:match("^(%a[%w+.-]*)://([^/?#]*)")
  scheme = scheme and scheme:lower()
  if scheme ~= "http" and scheme ~= "https" then return nil end
  local hostport = (authority:match("^.*@(.*)$") or authority):lower()
  if not hostport:find(":%d+$") then
    hostport = hostport .. (scheme == "https" and ":443" or ":80")
  end
  return scheme .. "://" .. hostport
end

-- A Location value resolved against the URL that sent it.
local function resolve(base, location)
  if location:find("^%a[%w+.-]*:") then return location end
  local scheme, authority, path = base:match("^(%a[%w+.-]*)://([^/?#]*)([^?#]*)")
  if location:sub(1, 2) == "//" then return scheme .. ":" .. location end
  if location:sub(1, 1) == "/" then return scheme .. "://" .. authority .. location end
  return scheme .. "://" .. authority .. (path:match("^(.*/)") or "/") .. location
end

-- Where a 307/308 from `url` sends us, or nil, err_type, message.
local function redirect_target(s, url, location)
  local target = resolve(url, location)
  local to = origin(target)
  if not to then
    return nil, "network_protocol", "redirect to a URL that is not http(s): " .. target
  end
  if to ~= origin(url) and not s.allow_foreign_redirects then
    return nil, "mcp_foreign_redirect", ("refused to follow a redirect from %s to another origin "
      .. "(%s): the request carries the session's headers and tokens; connect with "
      .. "allow_foreign_redirects = true to allow it"):format(origin(url), to)
  end
  return target
end

-- One request whose body is read as it arrives: the response head with
-- res.stream (see core.http_request's stream mode), or nil, err_type,
-- message. A 307/308 within the session URL's origin is followed with the
-- method and the body (gofr-dig's bare /mcp); to another origin only with
-- allow_foreign_redirects. Other redirects are answers (http_3xx). The
-- timeout covers the whole exchange, redirects included.
local function open(s, method, body, timeout, headers)
  local url, deadline = s.url, core.now() + timeout
  for hop = 0, MAX_REDIRECTS do
    local left = hop == 0 and timeout or deadline - core.now()
    if left <= 0 then return nil, "network_timeout", "the redirects took the whole timeout" end
    -- One options table per session: core.http_request reads it before it
    -- yields, so personas sharing the session may reuse it.
    local req = s._request_opts
    req.method, req.url, req.headers, req.body = method, url, headers or s._headers, body
    req.timeout, req.max_body = left, s.max_body
    local res, err_type, msg = core.http_request(req)
    req.body, req.headers = nil, nil -- not kept alive by the session
    if not res then return nil, err_type, msg end
    if res.connection_retries > 0 then -- re-sent on a new connection (docs/api.md, "Engines")
      metrics.current:count("http.connection_retries", res.connection_retries,
        metrics.with_persona_tags { tool = "mcp", method = method })
    end
    local location = res.headers.location
    if (res.status ~= 307 and res.status ~= 308) or not location then return res end
    res.stream:close()
    url, err_type, msg = redirect_target(s, url, location)
    if not url then return nil, err_type, msg end
  end
  return nil, "network_protocol", ("more than %d redirects"):format(MAX_REDIRECTS)
end

-- The rest of a streamed body as one string, or nil, err_type, message.
local function read_all(stream)
  local parts = {}
  while true do
    local chunk, err_type, msg = stream:read()
    if not chunk then return nil, err_type, msg end
    if chunk == "" then return table.concat(parts) end
    parts[#parts + 1] = chunk
  end
end

-- The start of the rest of a streamed body, up to `limit` bytes (all of it
-- when shorter), or nil, err_type, message.
local function read_upto(stream, limit)
  local parts, n = {}, 0
  while n < limit do
    local chunk, err_type, msg = stream:read()
    if not chunk then return nil, err_type, msg end
    if chunk == "" then break end
    parts[#parts + 1] = chunk
    n = n + #chunk
  end
  local body = table.concat(parts)
  return n > limit and body:sub(1, limit) or body
end

-- Lets the server end a stream we are done with (up to STREAM_END_WAIT, the
-- bytes discarded), then cancels whatever is left of it: one C call, which
-- returns at once when the end came with the answer (the usual case).
local function settle(stream)
  stream:finish(M.STREAM_END_WAIT)
end

-- A request whose answer is only looked at for its status and message
-- (notifications, DELETE): the response with at most MAX_ERROR_BODY bytes of
-- its body, or nil, err_type, message.
local function http(s, method, body, timeout, headers)
  local res, err_type, msg = open(s, method, body, timeout, headers)
  if not res then return nil, err_type, msg end
  res.body, err_type, msg = read_upto(res.stream, M.MAX_ERROR_BODY)
  res.stream:close()
  res.stream = nil
  if not res.body then return nil, err_type, msg end
  return res
end

-- A short description of an HTTP error response: its JSON-RPC error message
-- when it has one, else the start of the body.
local function http_message(res)
  local msg = "HTTP " .. res.status
  local body = res.body or ""
  local doc = body:find("^%s*{") and json.decode(body)
  if type(doc) == "table" and type(doc.error) == "table" and type(doc.error.message) == "string" then
    return msg .. ": " .. doc.error.message
  end
  body = body:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if body ~= "" then msg = msg .. ": " .. body:sub(1, 200) end
  return msg
end

-- The server has forgotten the session: 404 (the spec), or the 400 plain
-- text "No valid session ID provided" of python-sdk's session manager
-- (gofr-dig after a restart) and of server-everything.
local function session_gone(res)
  return res.status == 404
    or (res.status == 400 and res.body:find("No valid session ID", 1, true) ~= nil)
end

-- Reading the answer -----------------------------------------------------------

-- The start of a text for a message: at most 80 bytes in single quotes,
-- control characters as \ddd, the full length when cut.
local function snippet(text)
  local cut = #text > 80
  local s = (cut and text:sub(1, 80) or text):gsub("%c", function(c)
    return ("\\%03d"):format(c:byte())
  end)
  return "'" .. s .. "'" .. (cut and ("... (%d bytes)"):format(#text) or "")
end

-- True when a received JSON-RPC message is the response to request `id`, or
-- an error tied to no request (id null, or python-sdk's "server-error").
local function is_mine(msg, id)
  if type(msg) ~= "table" then return false end
  if msg.method ~= nil then return false end -- a notification or a server request
  if msg.result == nil and msg.error == nil then return false end
  local mid = msg.id
  if mid == id then return true end
  return msg.error ~= nil and (mid == nil or mid == NULL or mid == "server-error")
end

-- The outcome of our response message: result, or nil, err_type, message, code.
-- A response that breaks JSON-RPC 2.0's envelope is mcp_bad_envelope:
-- jsonrpc other than "2.0", both result and error, an error without a
-- numeric code and a string message, a result that is not an object.
local function outcome(msg, id)
  local e = msg.error
  if msg.jsonrpc ~= "2.0" then
    return nil, "mcp_bad_envelope", ("the response to request %s has jsonrpc %s, not \"2.0\"")
      :format(tostring(id), msg.jsonrpc == nil and "missing" or snippet(tostring(msg.jsonrpc)))
  end
  if e ~= nil then
    if msg.result ~= nil then
      return nil, "mcp_bad_envelope", ("the response to request %s has both a result and an error")
        :format(tostring(id))
    end
    if type(e) ~= "table" or type(e.code) ~= "number" or type(e.message) ~= "string" then
      return nil, "mcp_bad_envelope", ("the error answering request %s is not {code: number, "
        .. "message: string}: %s"):format(tostring(id), snippet(json.encode(e) or tostring(e)))
    end
    return nil, "mcp_rpc_error", e.message, e.code
  end
  local result = msg.result
  if type(result) ~= "table" or result[1] ~= nil then -- an array is not an object either
    return nil, "mcp_bad_envelope", ("the result of request %s is not an object"):format(tostring(id))
  end
  return msg.result
end

-- The error of a stream or body that ended without our answer but with an
-- answer to an id we never sent (or no longer wait for).
local function wrong_id(id, stray)
  return nil, "mcp_wrong_id", ("no response to request %d; a response to id %s came instead")
    :format(id, snippet(json.encode(stray) or tostring(stray)))
end

-- A JSON-RPC response names "result" or "error", a server request "id"
-- (and "method"); spelled with \u escapes a message holds a "\u". Events
-- without any of these (notifications, mostly) are never decoded unless the
-- session wants them (the test runs in the C decoder): a flood of progress
-- or log notifications costs no Lua work.
local MESSAGE_NEEDLES = { '"result"', '"error"', '"id"', "\\u" }

-- Reads SSE events from `stream` through parser p, handing every message
-- that does not answer request `id` to inbound.dispatch, until the answer
-- (or a waiter's delivery, see inbound): -> the answer message; or false,
-- bytes, bad, stray (the stream ended without it: bytes read, the first
-- event that was not JSON, the id of a response that matched no request);
-- or nil, err_type, message. Memory: one event (up to
-- max_body) plus one read's bytes.
local function read_events(s, p, stream, id, waiter)
  local bytes, bad, stray = 0, nil, nil
  while true do
    local events, dropped, n = stream:read_sse(p) -- the bytes go to p in C, as p:feed(bytes)
    while events == true do events, dropped, n = stream:read_sse(p) end -- it waited
    if not events then return nil, dropped, n end -- the transfer's or p's error
    if events == "" then return false, bytes, bad, stray end
    bytes = bytes + n
    s.stats.ignored = s.stats.ignored + dropped
    for i = 1, #events do
      local data = events[i]
      local m, err = json.decode(data)
      if type(m) == "table" then
        if is_mine(m, id) then return m end
        if inbound.dispatch(s, m) then stray = m.id end
      else
        if not bad then bad = ("%s: %s"):format(err or "not an object", snippet(data)) end
        s.stats.ignored = s.stats.ignored + 1
      end
    end
    if waiter and waiter.msg then return waiter.msg end
  end
end

-- A parser of the session's pool (a new one when all are busy; `all`: one
-- that passes every event, for sessions and calls that want notifications),
-- to give back with give_parser: no parser (and finaliser) per call.
local function take_parser(s, all)
  local pool = all and s._sse_parsers_all or s._sse_parsers
  local p = pool[#pool]
  if p then
    pool[#pool] = nil
    p:reset()
    return p
  end
  p = core.sse_new(s.max_body)
  p:select("message", all and {} or MESSAGE_NEEDLES, true) -- events come back as their data strings
  return p
end

local function give_parser(s, p, all)
  local pool = all and s._sse_parsers_all or s._sse_parsers
  pool[#pool + 1] = p
end

-- Opens the GET that resumes a stream after event last_id: the response
-- (an SSE stream), or nil, err_type, message.
local function resume_stream(s, id, last_id, timeout)
  local res, err_type, msg = open(s, "GET", nil, timeout, get_header_lines(s, last_id))
  if not res then return nil, err_type, msg end
  local st = res.status
  if st >= 200 and st < 300 and media_type(res.headers["content-type"]) == "text/event-stream" then
    return res
  end
  res.body = read_upto(res.stream, M.MAX_ERROR_BODY) or ""
  res.stream:close()
  if st == 405 then
    return nil, "mcp_protocol", ("the SSE stream of request %d ended before its answer and the server "
      .. "does not resume streams (GET: HTTP 405)"):format(id)
  end
  if st < 200 or st >= 300 then return nil, "http_" .. st, http_message(res) end
  return nil, "mcp_protocol", ("the GET resuming request %d's stream answered %s, not an SSE stream")
    :format(id, tostring(res.headers["content-type"]))
end

-- Reads request `id`'s answer from SSE response res, resuming the stream
-- (GET with Last-Event-ID, after the server's `retry` or RESUME_DELAY) when
-- it ends without the answer, up to s.max_resumes times in a row, within
-- `deadline`: result, or nil, err_type, message, code. A resumed stream is
-- closed once the answer is in; res.stream is the caller's.
local function read_sse(s, res, id, deadline, all)
  local p = take_parser(s, all)
  local waiter = s._listener and { msg = nil } or nil -- the listener may see the answer first
  if waiter then s._waiting[id] = waiter end
  local stream, resumes, last, retry, bytes, bad = res.stream, 0, nil, nil, 0, nil
  -- m: the answer; false: the stream ended (a: bytes, b: a bad event); nil: a: err_type, b: message
  local m, a, b, c = read_events(s, p, stream, id, waiter)
  local stray
  while m == false do
    bytes, bad, stray = bytes + a, bad or b, stray or c
    local l, r = p:last_event_id(), p:retry()
    if l ~= "" then last = l end
    if r and r >= 0 then retry = r / 1000 end
    if not last or resumes >= s.max_resumes then break end
    resumes = resumes + 1
    if stream ~= res.stream then stream:close() end
    stream = res.stream
    local wait = retry or M.RESUME_DELAY
    if deadline - core.now() <= wait or not core.sleep(wait) then
      m, a, b = nil, "network_timeout", ("no answer to request %d in time: its SSE stream ended and was "
        .. "resumed %d times"):format(id, resumes - 1)
      break
    end
    if waiter and waiter.msg then m = waiter.msg break end
    s.stats.resumes = s.stats.resumes + 1
    local gres, err_type, msg = resume_stream(s, id, last, deadline - core.now())
    if not gres then m, a, b = nil, err_type, msg break end
    stream = gres.stream
    p:reset()
    m, a, b, c = read_events(s, p, stream, id, waiter)
  end
  if stream ~= res.stream then stream:close() end
  if waiter then s._waiting[id] = nil end
  give_parser(s, p, all)
  if m then return outcome(m, id) end
  if m == nil then return nil, a, b end
  if stray ~= nil then return wrong_id(id, stray) end
  if bytes == 0 and resumes == 0 then
    return nil, "mcp_protocol", ("HTTP %d with no body to request %d"):format(res.status, id)
  end
  return nil, "mcp_protocol", ("the SSE stream ended without the response to request %d%s%s")
    :format(id, resumes > 0 and (" (resumed %d times)"):format(resumes) or "",
      bad and ("; an event's data is not JSON (%s)"):format(bad) or "")
end

local function read_json(s, body, id)
  local doc, err = json.decode(body)
  if type(doc) ~= "table" then
    return nil, "mcp_protocol", "the application/json body is not a JSON object"
      .. (err and (" (" .. err .. ")") or "")
  end
  local mine, stray
  if doc[1] ~= nil then -- a batch (2025-03-26)
    for _, msg in ipairs(doc) do
      if not mine and is_mine(msg, id) then
        mine = msg
      elseif type(msg) == "table" then
        if inbound.dispatch(s, msg) then stray = msg.id end
      else
        s.stats.ignored = s.stats.ignored + 1
      end
    end
  elseif is_mine(doc, id) then
    mine = doc
  elseif inbound.dispatch(s, doc) then
    stray = doc.id
  end
  if mine then return outcome(mine, id) end
  if stray ~= nil then return wrong_id(id, stray) end
  return nil, "mcp_protocol", ("the JSON body carries no response to request %d"):format(id)
end

-- The answer of a 2xx response whose body is still streaming (an SSE stream
-- is read and resumed within deadline; `all`: decode every event).
local function read_response(s, res, id, deadline, all)
  local ct = media_type(res.headers["content-type"])
  if ct == "none" then ct = nil end
  if ct == "text/event-stream" then return read_sse(s, res, id, deadline, all) end
  local body, err_type, msg = read_all(res.stream)
  if not body then return nil, err_type, msg end
  if body == "" then
    return nil, "mcp_protocol", ("HTTP %d with no body to request %d"):format(res.status, id)
  end
  if ct == "application/json" then return read_json(s, body, id) end
  return nil, "mcp_protocol",
    ("HTTP %d answer to request %d is %s, not JSON or SSE"):format(res.status, id, ct or "untyped")
end

-- Requests --------------------------------------------------------------------

local SESSION_GONE = {} -- private marker err_type

-- Tells the server we gave up on request `id` (MCP: a timeout SHOULD send
-- notifications/cancelled). Runs as its own persona: the caller goes on;
-- session:close() waits for the cancels in flight (s._cancels, id ->
-- handle), so a cancel never follows the session's DELETE, and none starts
-- once the session is closed.
local function cancel(s, id)
  if core.stopping() or s.closed then return end
  local body = json.encode {
    jsonrpc = "2.0", method = "notifications/cancelled",
    params = { requestId = id, reason = "timeout" },
  }
  if s._proc then -- stdio: one line, written in order with the rest
    s.send(s, body)
    return
  end
  local headers, timeout = s._headers, min(s.timeout, 5)
  s._cancels[id] = core.spawn(function()
    http(s, "POST", body, timeout, headers) -- redirects as for any request: within the origin
    s._cancels[id] = nil
  end)
end

-- Waits for the cancels in flight of session s (each bounded by its timeout).
local function wait_cancels(s)
  for id, h in pairs(s._cancels) do
    core.join(h)
    s._cancels[id] = nil
  end
end

local encoded_names, n_encoded_names = {}, 0 -- method or tool name -> its JSON string (bounded)

local function encoded_name(fname, name)
  local e = encoded_names[name]
  if e then return e end
  e = encode(fname, name)
  if n_encoded_names < 256 then
    encoded_names[name], n_encoded_names = e, n_encoded_names + 1
  end
  return e
end

-- One POST carrying request `method` (with the session's headers, or
-- `headers` of no session); returns result, or nil, err_type, message, code;
-- and the HTTP response as the 5th value. params: a table, nil, or the
-- params already written as JSON text (session:call); all: decode every
-- event of an SSE answer (a progress callback waits for its notifications).
-- Authorization ------------------------------------------------------------------

--- Times one request is sent again after its 401/403 got the session's
-- OAuth client a new token (its own step-up limit ends a loop sooner).
M.MAX_AUTH_RETRIES = 4

-- Sets the session's Authorization value (nil: none); the session's headers
-- follow it.
local function set_authorization(s, value)
  if value == s._authorization then return end
  s._authorization = value
  if s._headers then s._headers = header_lines(s, s.session_id, s.protocol_version) end
end

-- The session's current Authorization from its OAuth client (a cached token,
-- refreshed when it expired).
local function current_authorization(s)
  if s.auth then set_authorization(s, s.auth:header(s.url)) end
end

-- After a 401/403 to a request: a token for the challenge from the session's
-- OAuth client, set for the next requests. -> true, or nil, err_type, message.
local function reauthorize(s, res)
  local token, err_type, msg = s.auth:authorize(s.url, res)
  if not token then return nil, err_type, msg end
  s.stats.authorizations = s.stats.authorizations + 1
  set_authorization(s, "Bearer " .. token)
  return true
end

local stdio_exchange -- the stdio transport's (below)

local function exchange(s, fname, method, params, timeout, headers, all)
  if s._proc then return stdio_exchange(s, fname, method, params, timeout) end
  local deadline = core.now() + timeout
  local id = s._next_id
  s._next_id = id + 1
  -- The envelope is written as text (no table per request); id is a whole
  -- number below 2^53, which tostring prints as digits.
  if params ~= nil and type(params) ~= "string" then params = encode(fname, params) end
  local body = '{"jsonrpc":"2.0","id":' .. id .. ',"method":' .. encoded_name(fname, method)
    .. (params and (',"params":' .. params) or "") .. "}"
  s.stats.requests = s.stats.requests + 1
  local with_session = not headers and s.session_id
  local res, err_type, msg
  for attempt = 0, M.MAX_AUTH_RETRIES do
    if s.auth then
      current_authorization(s)
      if headers then headers = header_lines(s) end -- the handshake's, no session yet
    end
    local left = attempt == 0 and timeout or deadline - core.now()
    if left <= 0 then return nil, "network_timeout", "authorizing took the whole timeout" end
    res, err_type, msg = open(s, "POST", body, left, headers)
    if not (res and s.auth and (res.status == 401 or res.status == 403)) then break end
    if attempt == M.MAX_AUTH_RETRIES then break end
    res.body = read_upto(res.stream, M.MAX_ERROR_BODY) or ""
    res.stream:close()
    local ok, et, m = reauthorize(s, res)
    if not ok then return nil, et, m end
  end
  local result, code
  if res and res.status >= 200 and res.status < 300 then
    result, err_type, msg, code = read_response(s, res, id, deadline, all or s._all_events)
    if result then settle(res.stream) else res.stream:close() end
    res.stream = nil
    if result or err_type ~= "network_timeout" then return result, err_type, msg, code, res end
    res = nil -- timed out reading the answer: cancel, as below
  elseif res then -- an HTTP error: its start is enough for the message
    res.body, err_type, msg = read_upto(res.stream, M.MAX_ERROR_BODY)
    res.stream:close()
    res.stream = nil
    if not res.body then res = nil end
  end
  if not res then
    if err_type == "network_timeout" and method ~= "initialize" then cancel(s, id) end
    return nil, err_type, msg
  end
  local status = res.status
  if with_session and session_gone(res) then
    return nil, SESSION_GONE, http_message(res), nil, res
  end
  return nil, "http_" .. status, http_message(res), nil, res
end

-- initialize + notifications/initialized; true or nil, err_type, message,
-- code. The session's id, version and headers change only on success, so
-- personas sharing the session go on meanwhile.
local function handshake(s, fname)
  local result, err_type, msg, code, res = exchange(s, fname, "initialize", {
    protocolVersion = s.requested_version,
    capabilities = s.client_capabilities,
    clientInfo = s.client_info,
  }, s.timeout, header_lines(s))
  if not result then return nil, err_type, msg, code end
  local version = result.protocolVersion
  if type(version) ~= "string" or version == "" then
    return nil, "mcp_protocol", "the initialize result has no protocolVersion"
  end
  local initialized = '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  local sid = res and res.headers["mcp-session-id"] -- stdio: no HTTP response
  if sid == "" then sid = nil end
  local headers = header_lines(s, sid, version)
  if s._proc then
    local sent, et, m = s.send(s, initialized)
    if not sent then return nil, et, m end
  else
    local ack, et, m = http(s, "POST", initialized, s.timeout, headers)
    if not ack then return nil, et, m end
    if ack.status < 200 or ack.status >= 300 then
      return nil, "http_" .. ack.status, http_message(ack)
    end
  end
  s.session_id, s.protocol_version, s._headers = sid, version, headers
  s.server_info = result.serverInfo
  s.server_capabilities = result.capabilities
  s.instructions = result.instructions
  return true
end

local function check_open(s, fname)
  if getmetatable(s) ~= Session then fail(fname, "call it as session:method(...)") end
  if s.closed then fail(fname, "the session is closed") end
end

local REQUEST_OPTIONS = { timeout = "number" }

--- session:request(method, params, opts) -> result | nil, err_type, message, code
-- Any JSON-RPC request (params: a table or nil; opts.timeout). The building
-- block of call/list_tools/ping; not recorded in metrics.
function Session:request(method, params, opts)
  check_open(self, "session:request")
  if type(method) ~= "string" or method == "" then
    fail("session:request", "method must be a non-empty string, got " .. tostring(method))
  end
  if params ~= nil and type(params) ~= "table" then
    fail("session:request", "params must be a table or nil, got " .. type(params))
  end
  opts = check_options("session:request", opts, REQUEST_OPTIONS)
  return self:_request("session:request", method, params, opts.timeout or self.timeout)
end

-- A new session in place of the one whose id was `gone_sid` (or of a lost
-- one); true or nil, message. Personas sharing the session wait for a
-- renewal in progress instead of starting their own.
local function renew(s, fname, gone_sid)
  while s._renewing do
    if not core.sleep(0.005) then return nil, "the run is stopping" end
  end
  if not s._lost and s.session_id ~= gone_sid then return true end -- renewed meanwhile
  s._renewing = true
  s.stats.reinits = s.stats.reinits + 1
  local ok, et, m = handshake(s, fname)
  s._renewing = false
  s._lost = not ok
  if not ok then return nil, ("re-initialising failed: %s: %s"):format(tostring(et), tostring(m)) end
  return true
end

local NO_SESSION = {} -- matches no session id

function Session:_request(fname, method, params, timeout, all)
  if self._lost or self._renewing then -- wait for, or retry, a renewal first
    local ok, why = renew(self, fname, NO_SESSION)
    if not ok then return nil, "mcp_session_lost", "the session was lost; " .. why end
  end
  local sent_sid = self.session_id
  local result, err_type, msg, code = exchange(self, fname, method, params, timeout, nil, all)
  if err_type ~= SESSION_GONE then return result, err_type, msg, code end
  -- The server forgot the session: start a new one and retry once.
  local ok, why = renew(self, fname, sent_sid)
  if not ok then return nil, "mcp_session_lost", msg .. "; " .. why end
  result, err_type, msg, code = exchange(self, fname, method, params, timeout, nil, all)
  if err_type == SESSION_GONE then
    self._lost = true -- the next request starts with a new session
    return nil, "mcp_session_lost", msg .. " (again, after re-initialising)"
  end
  return result, err_type, msg, code
end

-- Tool results ----------------------------------------------------------------

-- The text decoded as JSON when it is a JSON object, array or string; else
-- the text itself.
local LBRACE, LBRACKET, QUOTE = ("{"):byte(), ("["):byte(), ('"'):byte()

local function decode_text(text)
  local b = text:byte(1)
  local json_like = b == LBRACE or b == LBRACKET or b == QUOTE
  if not json_like and b and text:find("^%s") then
    local c = text:match("^%s*(.)")
    json_like = c == "{" or c == "[" or c == '"'
  end
  if json_like then
    local v = json.decode(text)
    if v ~= nil then return v end
  end
  return text
end

--- Interprets a raw tools/call result by MCP's rules alone: the first text
-- block (decoded as JSON when it is JSON), else structuredContent; isError
-- makes it a failure of type mcp_invalid_arguments. -> the result table
-- { ok=, data=, text=, result=, is_error=, error_type=, message= }.
function M.decode_result(result)
  local is_error = result.isError == true
  local r = { result = result, is_error = is_error, ok = not is_error, -- every field: no rehash
    text = nil, data = nil, error_type = nil, message = nil, expected = nil }
  local text
  if type(result.content) == "table" then
    for _, block in ipairs(result.content) do
      if type(block) == "table" and block.type == "text" and type(block.text) == "string" then
        text = block.text
        break
      end
    end
  end
  if text then
    r.text = text
    r.data = decode_text(text)
  elseif type(result.structuredContent) == "table" then
    r.data = result.structuredContent
  end
  if is_error then
    r.error_type = "mcp_invalid_arguments"
    r.message = text or "the tool result has isError:true and no text"
  end
  return r
end

-- What session:call makes of a result (M.decode_result, or the decoder
-- given to use_result_decoder).
local result_decoder = M.decode_result

--- mcp.use_result_decoder(fn): fn(raw tools/call result) -> result table
-- becomes how every session:call reads results, in place of decode_result.
-- The facade (require "gofr_sim") installs gofr-dig's application errors
-- this way: gofr_sim.gofr_dig.results.decode_result.
function M.use_result_decoder(fn)
  if type(fn) ~= "function" then
    fail("sim.mcp.use_result_decoder", "expected a function, got " .. type(fn))
  end
  result_decoder = fn
end

local metric_names = {} -- tool -> "mcp.<tool>"
local CALL_OPTIONS = { auth_token = "string", timeout = "number", expect = "table",
                       name = "string", tags = "table", progress = "function", check = "function" }

--- session:call(tool, args, opts) -> result table (see the module comment).
-- opts.auth_token is added to the arguments as `auth_token` (omitted when
-- nil); opts.timeout overrides the session's; opts.expect lists the
-- outcomes this call expects (gofr_sim.engine.expect: r.expected is then true for
-- an expected error); opts.progress = fn(progress, total, message) asks for
-- progress notifications (a progressToken) and gets each; opts.check =
-- fn(r) -> nil | err_type, message judges a successful result further (an
-- outputSchema, say): what it returns makes the call that error. Records
-- `mcp.<tool>`.
function Session:call(tool, args, opts)
  check_open(self, "session:call")
  if type(tool) ~= "string" or tool == "" then
    fail("session:call", "tool must be a non-empty string, got " .. tostring(tool))
  end
  if args ~= nil and type(args) ~= "table" then
    fail("session:call", "args must be a table or nil, got " .. type(args))
  end
  opts = check_options("session:call", opts, CALL_OPTIONS)
  local decl = opts.expect and expect.compile_call("session:call", opts.expect)
  local arguments = args or {}
  if opts.auth_token ~= nil then
    arguments = {}
    if args then for k, v in pairs(args) do arguments[k] = v end end
    arguments.auth_token = opts.auth_token
  end
  local name = opts.name
  if name == "" then fail("session:call", "option 'name' must not be empty") end
  if opts.tags then metrics.check_call_tags("session:call", opts.tags) end
  if not name then
    name = metric_names[tool]
    if not name then
      name = "mcp." .. tool
      metric_names[tool] = name
    end
  end
  local started = core.now()
  local token = opts.progress and self:_progress_token(opts.progress)
  -- tools/call's params as text: {name =, arguments =} without the table
  local params = '{"name":' .. encoded_name("session:call", tool) .. ',"arguments":'
    .. encode("session:call", arguments)
    .. (token and (',"_meta":{"progressToken":' .. token .. "}") or "") .. "}"
  local result, err_type, msg, code = self:_request("session:call", "tools/call", params,
    opts.timeout or self.timeout, token ~= nil)
  if token then self._progress[token] = nil end
  local r
  if result then
    r = result_decoder(result)
    if r.ok and opts.check then
      local et, m = opts.check(r)
      if et then r.ok, r.error_type, r.message = false, et, m end
    end
  else
    r = { ok = false, error_type = err_type, message = msg, code = code, is_error = false }
  end
  local elapsed = core.now() - started
  r.expected = expect.judge(name, r.error_type, decl, r.message)
  metrics.current:record(name, elapsed, metrics.request_tags(name, r.error_type, r.expected, opts.tags))
  if r.error_type and not r.expected then
    metrics.current:error_sample(r.error_type, ("%s: %s"):format(name, tostring(r.message)))
  end
  return r
end

-- A progress token of the session for fn (the call's callback until it ends).
function Session:_progress_token(fn)
  local token = self._next_progress
  self._next_progress = token + 1
  self._progress[token] = fn
  return token
end

--- Pages a list method follows at most (a server whose cursors never end).
M.MAX_PAGES = 10000

-- Every page of list method `method` (its items under `key`), following
-- nextCursor: the items, or nil, err_type, message, code.
local function paged(s, fname, method, key, opts)
  check_open(s, fname)
  opts = check_options(fname, opts, REQUEST_OPTIONS)
  local items, seen, cursor, pages = {}, {}, nil, 0
  repeat
    pages = pages + 1
    if pages > M.MAX_PAGES then
      return nil, "mcp_protocol", ("%s gave more than %d pages"):format(method, M.MAX_PAGES)
    end
    local result, err_type, msg, code = s:_request(fname, method, cursor and { cursor = cursor } or nil,
      opts.timeout or s.timeout)
    if not result then return nil, err_type, msg, code end
    if type(result[key]) ~= "table" then
      return nil, "mcp_protocol", ("the %s result has no %s array"):format(method, key)
    end
    for _, t in ipairs(result[key]) do items[#items + 1] = t end
    cursor = result.nextCursor
    if type(cursor) ~= "string" then
      cursor = nil
    elseif seen[cursor] then
      return nil, "mcp_protocol", ("%s repeated the cursor %s"):format(method, cursor)
    else
      seen[cursor] = true
    end
  until not cursor
  return items
end

--- session:list_tools(opts) -> array of tools (all pages) | nil, err_type, message, code
function Session:list_tools(opts)
  return paged(self, "session:list_tools", "tools/list", "tools", opts)
end

--- session:list_resources(opts) -> array of resources (all pages) | nil, err_type, message, code
function Session:list_resources(opts)
  return paged(self, "session:list_resources", "resources/list", "resources", opts)
end

--- session:list_resource_templates(opts) -> array (all pages) | nil, err_type, message, code
function Session:list_resource_templates(opts)
  return paged(self, "session:list_resource_templates", "resources/templates/list", "resourceTemplates", opts)
end

--- session:list_prompts(opts) -> array of prompts (all pages) | nil, err_type, message, code
function Session:list_prompts(opts)
  return paged(self, "session:list_prompts", "prompts/list", "prompts", opts)
end

local TIMED_OPTIONS = { timeout = "number", name = "string", tags = "table" }

-- Request `method` timed as sample `name` (opts.name, opts.tags as for a
-- call; error types as the request's): result, or nil, err_type, message, code.
local function timed(s, fname, method, params, opts, name)
  opts = check_options(fname, opts, TIMED_OPTIONS)
  if opts.name == "" then fail(fname, "option 'name' must not be empty") end
  if opts.tags then metrics.check_call_tags(fname, opts.tags) end
  name = opts.name or name
  local started = core.now()
  local result, err_type, msg, code = s:_request(fname, method, params, opts.timeout or s.timeout)
  metrics.current:record(name, core.now() - started, metrics.request_tags(name, err_type, false, opts.tags))
  if err_type then metrics.current:error_sample(err_type, ("%s: %s"):format(name, tostring(msg))) end
  return result, err_type, msg, code
end

local function check_string(fname, what, v)
  if type(v) ~= "string" or v == "" then
    fail(fname, ("%s must be a non-empty string, got %s"):format(what, tostring(v)))
  end
end

--- session:read_resource(uri, opts) -> result ({contents = {...}}) | nil, err_type, message, code
-- Records `mcp.resources/read` (opts: timeout, name, tags).
function Session:read_resource(uri, opts)
  check_open(self, "session:read_resource")
  check_string("session:read_resource", "uri", uri)
  local result, err_type, msg, code = timed(self, "session:read_resource", "resources/read", { uri = uri },
    opts, "mcp.resources/read")
  if result and type(result.contents) ~= "table" then
    return nil, "mcp_protocol", "the resources/read result has no contents array"
  end
  return result, err_type, msg, code
end

local function subscription(s, fname, method, uri, opts)
  check_open(s, fname)
  check_string(fname, "uri", uri)
  opts = check_options(fname, opts, REQUEST_OPTIONS)
  local result, err_type, msg, code = s:_request(fname, method, { uri = uri }, opts.timeout or s.timeout)
  if not result then return nil, err_type, msg, code end
  return true
end

--- session:subscribe(uri, opts) -> true | nil, err_type, message, code
-- The server then sends notifications/resources/updated (on_notification).
function Session:subscribe(uri, opts)
  return subscription(self, "session:subscribe", "resources/subscribe", uri, opts)
end

--- session:unsubscribe(uri, opts) -> true | nil, err_type, message, code
function Session:unsubscribe(uri, opts)
  return subscription(self, "session:unsubscribe", "resources/unsubscribe", uri, opts)
end

--- session:get_prompt(name, args, opts) -> result ({messages = {...}}) | nil, err_type, message, code
-- args: {name = string value}. Records `mcp.prompts/get`.
function Session:get_prompt(name, args, opts)
  check_open(self, "session:get_prompt")
  check_string("session:get_prompt", "name", name)
  if args ~= nil and type(args) ~= "table" then
    fail("session:get_prompt", "args must be a table or nil, got " .. type(args))
  end
  return timed(self, "session:get_prompt", "prompts/get", { name = name, arguments = args }, opts,
    "mcp.prompts/get")
end

local COMPLETE_OPTIONS = { timeout = "number", name = "string", tags = "table", context = "table" }

--- session:complete(ref, argument, opts) -> completion ({values=, total=, hasMore=}) | nil, ...
-- ref: {type = "ref/prompt", name=} or {type = "ref/resource", uri=};
-- argument: {name=, value=}; opts.context: {arguments = {...}}. Records
-- `mcp.completion/complete`.
function Session:complete(ref, argument, opts)
  check_open(self, "session:complete")
  if type(ref) ~= "table" or (ref.type ~= "ref/prompt" and ref.type ~= "ref/resource") then
    fail("session:complete",
      "ref must be {type = 'ref/prompt', name = ...} or {type = 'ref/resource', uri = ...}")
  end
  if type(argument) ~= "table" or type(argument.name) ~= "string" or type(argument.value) ~= "string" then
    fail("session:complete", "argument must be {name = string, value = string}")
  end
  opts = check_options("session:complete", opts, COMPLETE_OPTIONS)
  local result, err_type, msg, code = timed(self, "session:complete", "completion/complete",
    { ref = ref, argument = argument, context = opts.context },
    { timeout = opts.timeout, name = opts.name, tags = opts.tags }, "mcp.completion/complete")
  if not result then return nil, err_type, msg, code end
  if type(result.completion) ~= "table" then
    return nil, "mcp_protocol", "the completion/complete result has no completion object"
  end
  return result.completion
end

--- session:set_logging_level(level, opts) -> true | nil, err_type, message, code
-- The server then sends notifications/message at that level and above.
function Session:set_logging_level(level, opts)
  check_open(self, "session:set_logging_level")
  check_string("session:set_logging_level", "level", level)
  opts = check_options("session:set_logging_level", opts, REQUEST_OPTIONS)
  local result, err_type, msg, code = self:_request("session:set_logging_level", "logging/setLevel",
    { level = level }, opts.timeout or self.timeout)
  if not result then return nil, err_type, msg, code end
  return true
end

--- session:ping(opts) -> true | nil, err_type, message, code
function Session:ping(opts)
  check_open(self, "session:ping")
  opts = check_options("session:ping", opts, REQUEST_OPTIONS)
  local result, err_type, msg, code = self:_request("session:ping", "ping", nil,
    opts.timeout or self.timeout)
  if not result then return nil, err_type, msg, code end
  return true
end

--- session:close(opts) -> true | nil, err_type, message
-- Ends the session: waits for the notifications/cancelled still being sent,
-- then DELETE with its id (200, 404 and 405 are all fine). A session
-- without an id (stateless server) has nothing to end. Idempotent.
function Session:close(opts)
  if getmetatable(self) ~= Session then fail("session:close", "call it as session:close()") end
  opts = check_options("session:close", opts, REQUEST_OPTIONS)
  if self.closed then return true end
  self.closed = true
  if self._listener then -- the standalone GET stream: its persona's read is cancelled
    core.abort(self._listener)
    self._listener = nil
  end
  wait_cancels(self)
  if self._proc then -- stdio: EOF on its stdin, then SIGTERM and SIGKILL if it lingers; reaped
    self._proc:close(min(opts.timeout or self.timeout, M.STDIO_CLOSE_GRACE))
    return true
  end
  if not self.session_id then return true end
  local res, err_type, msg = http(self, "DELETE", nil, opts.timeout or self.timeout)
  if not res then return nil, err_type, msg end
  local st = res.status
  if (st >= 200 and st < 300) or st == 404 or st == 405 then return true end
  return nil, "http_" .. st, http_message(res)
end

-- The transport-free part of a new session from connect's or spawn's opts
-- (timeout, protocol_version, client_info, capabilities, handlers,
-- on_notification: checked by the caller, handlers here).
local function new_session(fname, opts)
  local handlers = inbound.handlers(fname, opts.handlers)
  local gs = package.loaded.gofr_sim
  return setmetatable({
    timeout = opts.timeout or 30,
    requested_version = opts.protocol_version or M.PROTOCOL_VERSION,
    client_info = opts.client_info or {
      name = "gofr-sim", version = type(gs) == "table" and gs._VERSION or "0",
    },
    client_capabilities = inbound.capabilities(handlers, opts.capabilities),
    handlers = handlers,
    on_notification = opts.on_notification,
    stats = { requests = 0, ignored = 0, reinits = 0, resumes = 0, listens = 0, server_requests = 0,
              notifications = 0, authorizations = 0 },
    _next_id = 1,
    _next_progress = 1,
    _progress = {}, -- progress token -> the call's callback
    _waiting = {}, -- request id -> waiter: answers seen elsewhere (mcp_inbound, the stdio reader)
    _cancels = {},
  }, Session)
end

-- stdio ---------------------------------------------------------------------------
-- A session over a child's stdin/stdout (sim.mcp.spawn): newline-delimited
-- JSON-RPC, written whole (sim.process writes in call order), read by one
-- daemon persona (the reader) that hands each response to its request's
-- waiter and everything else to mcp_inbound. A waiter waits on a latch made
-- of what the runtime has: it joins a sleeping persona the reader aborts.

--- Seconds session:close gives a stdio server between EOF and SIGTERM (and
-- between SIGTERM and SIGKILL), at most.
M.STDIO_CLOSE_GRACE = 2

-- Writes message text as one line to the server; -> true | nil, err_type, message.
local function stdio_send(s, text)
  local ok, _, msg = s._proc:write(text .. "\n")
  if not ok then return nil, "mcp_server_exited", "cannot write to the server: " .. tostring(msg) end
  return true
end

local function wake(waiter)
  if waiter.latch then core.abort(waiter.latch) end
end

-- Waits at most `left` seconds for the reader to wake waiter.
local function await(waiter, left)
  waiter.latch = core.spawn(core.sleep, left)
  core.join(waiter.latch)
  waiter.latch = nil
end

-- Why the server is gone: its exit and the last line of its stderr.
local function ended_text(s)
  local how = s._proc:wait(1)
  local tail = s._proc:stderr() or ""
  local last = tail:gsub("%s+$", ""):match("([^\n]*)$") or ""
  local exit = not how and "still running" or how.signal_name and ("killed by " .. how.signal_name)
    or ("exit status " .. tostring(how.exit_status))
  return ("the server's stdout ended (%s)%s"):format(exit, last ~= "" and (": " .. snippet(last)) or "")
end

-- The reader of a stdio session: every line, until the server's stdout ends.
local function stdio_reader(s)
  local proc = s._proc
  while true do
    local line, err_type = proc:read_line()
    if line then
      local m = line ~= "" and json.decode(line)
      local w = type(m) == "table" and m.method == nil and m.id ~= nil and s._waiting[m.id]
      if w then
        w.msg = m
        wake(w)
      elseif type(m) == "table" then
        inbound.dispatch(s, m)
      elseif line ~= "" then
        s.stats.ignored = s.stats.ignored + 1
      end
    elseif err_type == "line_too_long" then
      s.stats.ignored = s.stats.ignored + 1
    else
      break
    end
  end
  s._ended = ended_text(s)
  for _, w in pairs(s._waiting) do wake(w) end
end

-- exchange() over stdio: result, or nil, err_type, message, code.
stdio_exchange = function(s, fname, method, params, timeout)
  local id = s._next_id
  s._next_id = id + 1
  if params ~= nil and type(params) ~= "string" then params = encode(fname, params) end
  local body = '{"jsonrpc":"2.0","id":' .. id .. ',"method":' .. encoded_name(fname, method)
    .. (params and (',"params":' .. params) or "") .. "}"
  s.stats.requests = s.stats.requests + 1
  if s._ended then return nil, "mcp_server_exited", s._ended end
  local waiter = {}
  s._waiting[id] = waiter
  local sent, err_type, msg = stdio_send(s, body)
  local deadline = core.now() + timeout
  while sent and not (waiter.msg or s._ended) do
    local left = deadline - core.now()
    if left <= 0 or core.stopping() then break end
    await(waiter, left)
  end
  s._waiting[id] = nil
  if waiter.msg then return outcome(waiter.msg, id) end
  if not sent then return nil, err_type, msg end
  if s._ended then return nil, "mcp_server_exited", s._ended end
  if method ~= "initialize" then cancel(s, id) end
  return nil, "network_timeout", ("no answer to request %d in %gs"):format(id, timeout)
end

local SPAWN_OPTIONS = {
  command = "string", args = "table", env = "table", cwd = "string", stderr_limit = "number",
  max_line = "number", timeout = "number", protocol_version = "string", client_info = "table",
  capabilities = "table", handlers = "table", on_notification = "function|table",
}

--- sim.mcp.spawn(opts) -> session | nil, err_type, message, code
-- An MCP server run as a child (opts: command, args, env, cwd, stderr_limit,
-- max_line as sim.process.spawn's) and a session with it over its
-- stdin/stdout: the same Session API, the same handlers and notifications
-- as connect's (timeout, protocol_version, client_info, capabilities,
-- handlers, on_notification). session.process is the child (its stderr()
-- for what it logged); session:close() ends it, and it is always reaped.
-- A server that exits fails what is waiting with mcp_server_exited.
function M.spawn(opts)
  if type(opts) ~= "table" then fail("sim.mcp.spawn", "expected an options table with 'command'") end
  opts = check_options("sim.mcp.spawn", opts, SPAWN_OPTIONS)
  if not opts.command or opts.command == "" then fail("sim.mcp.spawn", "option 'command' is required") end
  local proc, err_type, msg = require("gofr_sim.engine.process").spawn {
    command = opts.command, args = opts.args, env = opts.env, cwd = opts.cwd,
    stderr_limit = opts.stderr_limit, max_line = opts.max_line,
  }
  if not proc then return nil, err_type, msg end
  local s = new_session("sim.mcp.spawn", opts)
  s.command, s.process, s._proc, s.send = opts.command, proc, proc, stdio_send
  s.extra_headers = {} -- none: the handshake shares HTTP's code
  s._reader = core.daemon(core.spawn(stdio_reader, s))
  local ok, et, m, code = handshake(s, "sim.mcp.spawn")
  if not ok then
    proc:close(0.5)
    return nil, et, m, code
  end
  return s
end

-- connect -----------------------------------------------------------------------

local CONNECT_OPTIONS = {
  timeout = "number", protocol_version = "string", client_info = "table",
  headers = "table", capabilities = "table", max_body = "number",
  allow_foreign_redirects = "boolean", handlers = "table", on_notification = "function|table",
  listen = "boolean", max_resumes = "number", auth = "table",
}

-- Sends message text (a JSON-RPC response or notification) to the server
-- of session s: a POST, answered 202 (or any 2xx). inbound's s.send.
local function post_message(s, text)
  local res, err_type, msg = http(s, "POST", text, s.timeout, s._headers)
  if not res then return nil, err_type, msg end
  if res.status < 200 or res.status >= 300 then return nil, "http_" .. res.status, http_message(res) end
  return true
end

-- The standalone GET stream of session s (connect's listen): opened after
-- initialize, read (every message to inbound.dispatch), and resumed from its
-- last event id when it ends, as long as the session is open; given up
-- after a 405 (the server offers none: s.listen_error says so) or after
-- max_resumes failures in a row. Runs as a daemon persona (s._listener).
local function listen(s)
  local p = core.sse_new(s.max_body)
  p:select("message", {}, true)
  local last, retry, failures = nil, nil, 0
  while not (s.closed or core.stopping()) do
    local res, err_type, msg = open(s, "GET", nil, M.LISTEN_TIMEOUT, get_header_lines(s, last))
    local sse = res and res.status >= 200 and res.status < 300
      and media_type(res.headers["content-type"]) == "text/event-stream"
    s._listen_opening = false -- connect waits for the first answer (listen_first)
    if sse then
      s.stats.listens = s.stats.listens + 1
      p:reset()
      local m, et, why = read_events(s, p, res.stream, false, nil)
      res.stream:close()
      local l, r = p:last_event_id(), p:retry()
      if l ~= "" then last = l end
      if r and r >= 0 then retry = r / 1000 end
      failures = m == false and 0 or failures + 1
      err_type, msg = et, why
    else
      if res then
        res.stream:close()
        if res.status == 405 then
          s.listen_error = "the server offers no standalone GET stream (HTTP 405)"
          break
        end
        err_type, msg = "http_" .. res.status, "HTTP " .. res.status .. " to the standalone GET"
      end
      failures = failures + 1
    end
    if failures > s.max_resumes then
      s.listen_error = ("the standalone GET stream failed %d times in a row: %s: %s")
        :format(failures, tostring(err_type), tostring(msg))
      break
    end
    if not core.sleep(retry or M.RESUME_DELAY) then break end
  end
  s._listener, s._listen_opening = nil, false
end

--- Seconds connect waits between looks at its standalone GET stream opening.
local LISTEN_POLL = 0.002

-- Starts the listener of session s and waits (up to s.timeout) until its
-- GET has an answer: a server sends what relates to no request on that
-- stream, and drops it while none is open, so the session's first request
-- must not go out before it is.
local function listen_first(s)
  s._listen_opening = true
  s._listener = core.daemon(core.spawn(listen, s))
  local deadline = core.now() + s.timeout
  while s._listen_opening and core.now() < deadline do
    if not core.sleep(LISTEN_POLL) then break end
  end
end


--- sim.mcp.connect(url, opts) -> session | nil, err_type, message, code
-- opts: timeout (seconds, default 30, per request), protocol_version
-- (default M.PROTOCOL_VERSION), client_info ({name=, version=}),
-- capabilities (over those of the handlers given), headers (extra headers on
-- every request, e.g. Authorization), max_body (bytes of one answer,
-- default M.MAX_BODY), allow_foreign_redirects (follow a 307/308 to another
-- origin; default false: mcp_foreign_redirect), handlers ({method =
-- fn(params, session, request) -> result | nil, code, message} for server
-- requests: elicitation/create, sampling/createMessage, roots/list, ping;
-- gofr_sim.engine.mcp_inbound), on_notification (fn(method, params,
-- session) or {method = fn(params, session)}), listen (open the standalone
-- GET stream, where a server sends what relates to no request of ours;
-- default: when handlers or on_notification are given), max_resumes
-- (default M.MAX_RESUMES), auth (an OAuth client, mcp.oauth_client{...}:
-- a 401/403 gets a token from it and the request is sent again; its
-- token goes in every request's Authorization).
function M.connect(url, opts)
  if type(url) ~= "string" or not url:match("^[hH][tT][tT][pP][sS]?://.") then
    fail("sim.mcp.connect", "url must be an http:// or https:// URL, got " .. tostring(url))
  end
  opts = check_options("sim.mcp.connect", opts, CONNECT_OPTIONS)
  local extra = {}
  for k, v in pairs(opts.headers or {}) do
    if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
      fail("sim.mcp.connect", "option 'headers' must map header names to strings")
    end
    extra[k] = tostring(v)
  end
  local max_body = opts.max_body
  if max_body ~= nil and not (max_body >= 1 and max_body < 2 ^ 53 and max_body % 1 == 0) then
    fail("sim.mcp.connect", "option 'max_body' must be a whole number of bytes >= 1, got "
      .. tostring(max_body))
  end
  local resumes = opts.max_resumes
  if resumes ~= nil and not (resumes >= 0 and resumes <= 1000 and resumes % 1 == 0) then
    fail("sim.mcp.connect", "option 'max_resumes' must be a whole number from 0 to 1000, got "
      .. tostring(resumes))
  end
  local on = opts.on_notification
  local auth = opts.auth
  if auth ~= nil and (type(auth.authorize) ~= "function" or type(auth.header) ~= "function") then
    fail("sim.mcp.connect", "option 'auth' must be an OAuth client (sim.mcp.oauth_client{...})")
  end
  for k in pairs(extra) do
    if auth and k:lower() == "authorization" then
      fail("sim.mcp.connect", "option 'auth' sets the Authorization header: do not give it in 'headers' too")
    end
  end
  local s = new_session("sim.mcp.connect", opts)
  s.url, s.send, s.auth = url, post_message, auth
  s.max_resumes = resumes or M.MAX_RESUMES
  s.extra_headers, s.max_body = extra, max_body or M.MAX_BODY
  s.allow_foreign_redirects = opts.allow_foreign_redirects == true
  s._all_events = on ~= nil -- every SSE event decoded: notifications are wanted
  s._request_opts = { follow_redirects = false, stream = true } -- see open()
  s._sse_parsers = {} -- idle SSE parsers (read_sse): one per call in progress at most
  s._sse_parsers_all = {} -- the same, passing every event
  local handlers = s.handlers
  local ok, err_type, msg, code = handshake(s, "sim.mcp.connect")
  if not ok then return nil, err_type, msg, code end
  local wants_listen = opts.listen
  if wants_listen == nil then wants_listen = next(handlers) ~= nil or on ~= nil end
  if wants_listen then listen_first(s) end
  return s
end

--- mcp.accept_defaults(params) -> an elicitation result accepting every
-- field's default (a handlers["elicitation/create"]; mcp_inbound).
M.accept_defaults = inbound.accept_defaults

--- mcp.oauth_client(opts) -> an OAuth client for connect's `auth`
-- (gofr_sim.engine.oauth: options, flows, error types; docs/mcp.md).
function M.oauth_client(opts)
  return require("gofr_sim.engine.oauth").client(opts)
end

M.Session = Session

return M
