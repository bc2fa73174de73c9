--- sim.server: an HTTP/1.1 server on the engine's loop whose requests are
-- handled by Lua personas, and Server-Sent Events formatting.
--
--   local srv = assert(sim.server.listen {
--     port = 0,
--     handler = function(req, res)
--       sim.sleep(0.1)                       -- a handler is a persona: it may yield
--       res:send(200, { ["Content-Type"] = "text/plain" }, "hello " .. req.path)
--     end,
--   })
--   -- ... requests are served while sim.run drives the loop ...
--   srv.close()
--
-- The request/response API is in C (src/lua/lua_server.c); routing and
-- protocol helpers belong here or in their users (the twin). See docs/server.md.
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"

local tostring = tostring
local concat = table.concat
local floor = math.floor

local M = {}

--- The limits of the embedded HTTP server (docs/server.md, docs/reliability.md),
-- options of sim.server.listen and sim.fixtures.serve: counts of bytes or
-- connections, and timeouts in seconds. Absent ones take the C defaults.
M.LIMITS = {
  max_body = "bytes", max_header = "bytes", max_output = "bytes", max_connections = "count",
  header_timeout = "seconds", idle_timeout = "seconds", write_timeout = "seconds",
}

local LISTEN_OPTIONS = { host = "string", port = "number", handler = "function" }
for k in pairs(M.LIMITS) do LISTEN_OPTIONS[k] = "number" end

local check_options = check.options

local function check_integer(fname, opts, key, lo, hi)
  local v = opts[key]
  if v ~= nil and not (v >= lo and v <= hi and floor(v) == v) then
    check.fail(fname, ("option '%s' must be an integer %d..%d, got %s")
      :format(key, lo, hi, tostring(v)))
  end
end

local MAX_TIMEOUT = 7 * 24 * 3600

--- Checks the limit options of opts (their types are the caller's
-- check.options'); -> a table of the given ones for core.server_listen /
-- core.fixtures_serve.
function M.check_limits(fname, opts)
  local limits = {}
  for key, kind in pairs(M.LIMITS) do
    local v = opts[key]
    if kind == "seconds" then
      if v ~= nil and not (v >= 0.001 and v <= MAX_TIMEOUT) then
        check.fail(fname, ("option '%s' must be a number of seconds from 0.001 to %d, got %s")
          :format(key, MAX_TIMEOUT, tostring(v)))
      end
    else
      check_integer(fname, opts, key, 1, 2 ^ 53)
    end
    limits[key] = v
  end
  return limits
end

--- "http://host:port" of a listening socket (IPv6 hosts bracketed).
function M.base_url(host, port)
  local url_host = host:find(":", 1, true) and ("[" .. host .. "]") or host
  return ("http://%s:%d"):format(url_host, port)
end

--- sim.server.listen{host="127.0.0.1", port=0, handler=fn, <limits>}
--   -> {url=, host=, port=, close=, connections=} | nil, err_type, message
-- handler(req, res) runs as a new persona for every request:
--   req = {method=, target= (raw), path= (before '?', not decoded),
--          query= (after '?', or ""), headers= (lower-case names, repeats
--          joined with ", "), body=}
--   res:send(status, headers, body) | res:start(status, headers), then
--   res:write(chunk)... and res:finish() | res:drop(); res.closed
-- Requests are served while the loop runs (inside sim.run). <limits> are
-- M.LIMITS: max_body (default 1 MiB) and max_header (16 KiB) answer 413/431
-- without calling the handler; max_output (1 MiB queued per connection:
-- back-pressure), max_connections (10000; more get 503), header_timeout
-- (10 s), idle_timeout (60 s), write_timeout (30 s). close() may be
-- called as srv.close() or srv:close(); closing twice is harmless. Keep the
-- returned table: once it is garbage the server closes.
function M.listen(opts)
  local fname = "sim.server.listen"
  check_options(fname, opts, LISTEN_OPTIONS)
  if not opts.handler then
    check.fail(fname, "option 'handler' (a function(req, res)) is required")
  end
  check_integer(fname, opts, "port", 0, 65535)
  local limits = M.check_limits(fname, opts)
  local host = opts.host or "127.0.0.1"
  local srv, err_type, msg = core.server_listen(opts.handler, host, opts.port or 0, limits)
  if not srv then return nil, err_type, msg end
  local port = srv:port()
  return {
    url = M.base_url(host, port),
    host = host,
    port = port,
    close = function() srv:close() end,
    --- Open connections (0 once closed).
    connections = function() return srv:connections() end,
  }
end

local SSE_OPTIONS = {
  event = "string",
  id = "string",
  data = "string",
  retry = "number",
  comment = "string",
  crlf = "boolean",
}

local function check_line(fname, key, s)
  if s:find("[\r\n%z]") then
    check.fail(fname, ("option '%s' must not contain CR, LF or NUL"):format(key))
  end
end

--- sim.server.sse_event{event=, id=, data=, retry=, comment=, crlf=false}
--   -> the event's wire text
-- Fields in the order sse-starlette writes them: ": comment", "id: ",
-- "event: ", "retry: ", then one "data: " line per line of data (split at
-- LF, CRLF or CR, as sse-starlette does), then the blank line that ends the
-- event. Line ends are CRLF when crlf is true (gofr-dig's), else LF. With
-- only a comment the result is a keep-alive (": ping\r\n\r\n"); with no data
-- and no comment, no data line is written.
function M.sse_event(ev)
  local fname = "sim.server.sse_event"
  check_options(fname, ev, SSE_OPTIONS)
  check_integer(fname, ev, "retry", 0, 2 ^ 53)
  local eol = ev.crlf and "\r\n" or "\n"
  local out = {}
  if ev.comment then
    check_line(fname, "comment", ev.comment)
    out[#out + 1] = ": " .. ev.comment .. eol
  end
  if ev.id then
    check_line(fname, "id", ev.id)
    out[#out + 1] = "id: " .. ev.id .. eol
  end
  if ev.event then
    check_line(fname, "event", ev.event)
    out[#out + 1] = "event: " .. ev.event .. eol
  end
  if ev.retry then
    out[#out + 1] = ("retry: %d"):format(ev.retry) .. eol
  end
  local data = ev.data
  if data then
    data = data:gsub("\r\n", "\n"):gsub("\r", "\n")
    local start = 1
    while true do
      local nl = data:find("\n", start, true)
      out[#out + 1] = "data: " .. data:sub(start, (nl or 0) - 1) .. eol
      if not nl then break end
      start = nl + 1
    end
  end
  out[#out + 1] = eol
  return concat(out)
end

return M
