--- gofr_sim.twin.transport: gofr-dig's MCP endpoint (contract §1–§2): the
-- Streamable HTTP transport of the Python MCP SDK 1.23.1 in stateful SSE
-- mode, behind Starlette's Mount("/mcp/").
--
--   local transport = require("gofr_sim.twin.transport").new { tools = tools, now = sim.now }
--   sim.server.listen { handler = function(req, res) transport:handle(req, res) end }
--
-- Status codes, bodies and headers follow the contract: 307 for bare /mcp,
-- 400 "Invalid Content-Type header" (plain), 400 for an unknown session id
-- (plain), 404 once terminated, 405/406/409/413/415 and the JSON-RPC
-- parse/validation errors as JSON with "id":"server-error", 202 for
-- notifications, and every request answered by an SSE stream (CRLF line
-- ends) carrying one `message` event. Sessions are never expired, as in the
-- real server; terminated ids are remembered so they answer 404.
local cjson = require("cjson.safe").new()
local json = require "gofr_sim.util.json"
local tables = require "gofr_sim.util.tables"
local core = require "gofr_sim.core"
local sim = require "gofr_sim"
local catalogue = require "gofr_sim.twin.catalogue"

local type, pairs, pcall, tostring = type, pairs, pcall, tostring
local find, sub, gsub, lower, format = string.find, string.sub, string.gsub, string.lower, string.format

local M = {}

local SUPPORTED_VERSIONS = { ["2024-11-05"] = true, ["2025-03-26"] = true,
                             ["2025-06-18"] = true, ["2025-11-25"] = true }
local LATEST_VERSION = "2025-11-25"
local SUPPORTED_LIST = "2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25"
local MAX_MESSAGE = 4 * 1024 * 1024
local PING_EVERY = 15   -- seconds between keep-alive comments on an open stream
local STREAM_CHECK = 0.1  -- how often a standalone stream looks whether it should end

local INSTRUCTIONS = table.concat({
  "This is gofr-dig (as played by gofr-sim's twin): a web scraping and page analysis service.",
  "Suggested flow: set_antidetection (optional) -> get_structure to learn a page's layout ->",
  "get_content to extract text (session=true stores it server-side and returns a session_id) ->",
  "get_session_info / get_session_chunk (chunk_index 0..total_chunks-1) to read a stored session;",
  "list_sessions and get_session_urls list what is stored.",
  "Errors come back as {success: false, error_code, message, details, recovery_strategy}.",
}, "\n")

local Transport = {}
Transport.__index = Transport

--- transport.new{tools=, now=} -> transport
function M.new(opts)
  return setmetatable({
    tools = opts.tools,
    sessions = {},      -- id -> {id=, initialized=, terminated=, get_stream=}
    streams = {},       -- open SSE responses -> time of their last write
    tool_list = nil,
  }, Transport)
end

------------------------------------------------------------------------------
-- Responses
------------------------------------------------------------------------------

local function session_headers(session, extra)
  local h = extra or {}
  if session then h["mcp-session-id"] = session.id end
  return h
end

local function plain(res, status, text)
  res:send(status, { ["Content-Type"] = "text/plain; charset=utf-8" }, text)
end

-- A transport error: JSON-RPC error with id "server-error".
local function rpc_failure(res, session, status, message, code, extra_headers)
  local body = json.encode(json.object("jsonrpc", "2.0", "id", "server-error",
    "error", json.object("code", code or -32600, "message", message)))
  local h = session_headers(session, extra_headers)
  h["Content-Type"] = "application/json"
  res:send(status, h, body)
end

local SSE_HEADERS = {
  ["Cache-Control"] = "no-cache, no-transform",
  ["Connection"] = "keep-alive",
  ["Content-Type"] = "text/event-stream",
}

local function sse_headers(session)
  return session_headers(session, tables.copy(SSE_HEADERS))
end

local function sse_message(payload)
  return "event: message\r\ndata: " .. payload .. "\r\n\r\n"
end

--- The keep-alive comment sse-starlette writes (UTC time with microseconds).
function M.ping_comment(now)
  local t = now or core.now()
  local wall = os.time()
  local micros = math.floor((t % 1) * 1e6)
  return format(": ping - %s.%06d+00:00\r\n\r\n", os.date("!%Y-%m-%d %H:%M:%S", wall), micros)
end

--- Writes keep-alive comments on streams idle for 15 s; called by the twin's
-- ticker. Forgets closed streams.
function Transport:keep_alive(now)
  for res, last in pairs(self.streams) do
    if res.closed then
      self.streams[res] = nil
    elseif now - last >= PING_EVERY then
      res:write(M.ping_comment(now))
      self.streams[res] = now
    end
  end
end

------------------------------------------------------------------------------
-- JSON-RPC
------------------------------------------------------------------------------

-- JSON-RPC ids. The SDK's RequestId is `Annotated[int, Field(strict=True)]
-- | str` over Python's json.loads, whose ints are exact: an id is a string
-- or an integer (a finite integral number, or the exact-integer value of
-- gofr_sim.util.json for 2^53 + 1 and beyond; a JSON-RPC error's id is lax
-- `str | int`, the same here). The request is read with cjson, whose
-- numbers are doubles, so an integral id of 2^53 or more is read again from
-- the body by gofr_sim.util.json, which keeps the literal (then answered as
-- written); when that reader refuses the body (a 1e999 or a duplicate key
-- elsewhere in it) cjson's double stays.
local floor, huge = math.floor, math.huge
local function is_id(v)
  local t = type(v)
  return t == "string" or json.is_integer_text(v)
    or (t == "number" and v == floor(v) and v > -huge and v < huge)
end

local function exact_id(msg, body)
  local id = msg.id
  if type(id) == "number" and id == floor(id) and (id >= 2 ^ 53 or id <= -2 ^ 53)
     and id > -huge and id < huge then
    local doc = json.decode(body)
    if type(doc) == "table" and doc.id ~= nil then msg.id = doc.id end
  end
end

-- -> "request" | "notification" | "response" | nil, why
local function message_kind(msg)
  if type(msg) ~= "table" or msg[1] ~= nil then
    return nil, "expected one JSON-RPC message object (batches are not accepted)"
  end
  if msg.jsonrpc ~= "2.0" then return nil, "jsonrpc must be \"2.0\"" end
  if type(msg.method) == "string" then
    if msg.params ~= nil and type(msg.params) ~= "table" then
      return nil, "params must be an object"
    end
    -- an id that is no RequestId (1e999, 1.5, null, true): pydantic's union
    -- takes the message as a JSONRPCNotification, whose extra="allow" keeps
    -- the id as an extra field: 202 and no answer (python-sdk 1.23.1)
    if is_id(msg.id) then return "request" end
    return "notification"
  end
  if is_id(msg.id) and (msg.result ~= nil or type(msg.error) == "table") then return "response" end
  return nil, "not a JSON-RPC request, notification or response"
end

local function result_of(id, result)
  return json.encode(json.object("jsonrpc", "2.0", "id", id, "result", result))
end

local function error_of(id, code, message)
  return json.encode(json.object("jsonrpc", "2.0", "id", id,
    "error", json.object("code", code, "message", message)))
end

function Transport:list_tools()
  if not self.tool_list then
    local list = json.array()
    for i, t in ipairs(catalogue.tools) do
      list[i] = json.object("name", t.name, "description", t.description,
        "inputSchema", t.inputSchema, "annotations", t.annotations)
    end
    self.tool_list = json.object("tools", list)
  end
  return self.tool_list
end

local function initialize_result(params)
  local asked = type(params) == "table" and params.protocolVersion
  return json.object(
    "protocolVersion", SUPPORTED_VERSIONS[asked] and asked or LATEST_VERSION,
    "capabilities", json.object("experimental", json.object(),
      "tools", json.object("listChanged", false)),
    "serverInfo", json.object("name", "gofr-dig-service", "version", "1.23.1"),
    "instructions", INSTRUCTIONS)
end

function Transport:call_tool(params)
  local name = type(params) == "table" and params.name
  local args = type(params) == "table" and params.arguments
  if type(args) ~= "table" then args = {} end
  local ok, text, is_error = pcall(self.tools.call, self.tools, name, args)
  if not ok then text, is_error = tostring(text), true end
  return json.object("content", json.array { json.object("type", "text", "text", text) },
    "isError", is_error == true)
end

-- The JSON-RPC answer (compact JSON) to one request of a session.
function Transport:answer(session, msg)
  local method, id = msg.method, msg.id
  if method == "initialize" then
    session.initialized = true
    return result_of(id, initialize_result(msg.params))
  elseif method == "ping" then
    return result_of(id, json.object())
  elseif not session.initialized then
    return error_of(id, -32600, "Received request before initialization was complete")
  elseif method == "tools/list" then
    return result_of(id, self:list_tools())
  elseif method == "tools/call" then
    return result_of(id, self:call_tool(msg.params))
  end
  return error_of(id, -32601, "Method not found")
end

------------------------------------------------------------------------------
-- HTTP
------------------------------------------------------------------------------

local function accepts(header, wanted)
  for item in ((header or "") .. ","):gmatch("([^,]*),") do
    if find(gsub(item, "^%s+", ""), wanted, 1, true) == 1 then return true end
  end
  return false
end

local function content_type_exact(ct)
  return (gsub(ct:match("^[^;]*"), "^%s*(.-)%s*$", "%1")) == "application/json"
end

-- Session and protocol-version checks of every non-initialize request;
-- true, or false after answering.
local function headers_ok(res, session, req)
  if not req.headers["mcp-session-id"] then
    rpc_failure(res, session, 400, "Bad Request: Missing session ID")
    return false
  end
  local version = req.headers["mcp-protocol-version"]
  if version and not SUPPORTED_VERSIONS[version] then
    rpc_failure(res, session, 400, ("Bad Request: Unsupported protocol version: %s. "
      .. "Supported versions: %s"):format(version, SUPPORTED_LIST))
    return false
  end
  return true
end

function Transport:post(req, res, session)
  local accept = req.headers.accept
  if not (accepts(accept, "application/json") and accepts(accept, "text/event-stream")) then
    return rpc_failure(res, session, 406,
      "Not Acceptable: Client must accept both application/json and text/event-stream")
  end
  if not content_type_exact(req.headers["content-type"]) then
    return rpc_failure(res, session, 415, "Unsupported Media Type: Content-Type must be application/json")
  end
  if #req.body > MAX_MESSAGE then
    return rpc_failure(res, session, 413, "Payload Too Large: Message exceeds maximum size")
  end
  local msg, perr = cjson.decode(req.body)
  if msg == nil then return rpc_failure(res, session, 400, "Parse error: " .. tostring(perr), -32700) end
  if type(msg) == "table" then exact_id(msg, req.body) end
  local kind, why = message_kind(msg)
  if not kind then return rpc_failure(res, session, 400, "Validation error: " .. why, -32602) end
  if not (kind == "request" and msg.method == "initialize") and not headers_ok(res, session, req) then
    return
  end
  if kind ~= "request" then
    if msg.method == "notifications/initialized" then session.initialized = true end
    return res:send(202, session_headers(session, {}), "")
  end
  res:start(200, sse_headers(session))
  self.streams[res] = core.now()
  local payload = self:answer(session, msg)
  self.streams[res] = nil
  if not res.closed then
    res:write(sse_message(payload))
    res:finish()
  end
end

-- The standalone server-to-client stream: this handler persona keeps it
-- open (the ticker writes keep-alive comments) until DELETE, the client
-- going away, or the twin closing.
function Transport:get(req, res, session)
  if not accepts(req.headers.accept, "text/event-stream") then
    return rpc_failure(res, session, 406, "Not Acceptable: Client must accept text/event-stream")
  end
  if not headers_ok(res, session, req) then return end
  if session.get_stream then
    return rpc_failure(res, session, 409, "Conflict: Only one SSE stream is allowed per session")
  end
  res:start(200, sse_headers(session))
  session.get_stream = res
  self.streams[res] = core.now()
  while not (res.closed or session.terminated or self.closed) and sim.sleep(STREAM_CHECK) do end
  self.streams[res] = nil
  session.get_stream = nil
  if not res.closed then res:finish() end
end

function Transport.delete(_, req, res, session)
  if not headers_ok(res, session, req) then return end
  session.terminated = true
  res:send(200, session_headers(session, {}), "")
end

local function new_session_id()
  return (gsub(core.uuid4(), "-", ""))
end

-- Starlette's redirect_slashes: /mcp -> /mcp/ on the request's own host.
local function redirect(req, res)
  local host = req.headers.host or "127.0.0.1"
  local location = "http://" .. host .. "/mcp/" .. (req.query ~= "" and "?" .. req.query or "")
  res:send(307, { Location = location }, "")
end

--- Serves one HTTP request (run as a handler persona by sim.server).
function Transport:handle(req, res)
  local path = req.path
  if path == "/mcp" then return redirect(req, res) end
  if sub(path, 1, 5) ~= "/mcp/" then return plain(res, 404, "Not Found") end
  local sid = req.headers["mcp-session-id"]
  local session
  if sid then
    session = self.sessions[sid]
    if not session then return plain(res, 400, "Bad Request: No valid session ID provided") end
  else
    session = { id = new_session_id() }
    self.sessions[session.id] = session
  end
  local method = req.method
  if method == "POST" then
    local ct = req.headers["content-type"]
    if not ct or sub(lower(ct), 1, 16) ~= "application/json" then
      return plain(res, 400, "Invalid Content-Type header")
    end
  end
  if session.terminated then
    return rpc_failure(res, session, 404, "Not Found: Session has been terminated")
  end
  if method == "POST" then return self:post(req, res, session) end
  if method == "GET" then return self:get(req, res, session) end
  if method == "DELETE" then return self:delete(req, res, session) end
  rpc_failure(res, session, 405, "Method Not Allowed", -32600, { Allow = "GET, POST, DELETE" })
end

--- Stops serving streams (the twin is closing).
function Transport:close()
  self.closed = true
end

--- Live sessions (not terminated) and all ids ever issued.
function Transport:counts()
  local live, all = 0, 0
  for _, s in pairs(self.sessions) do
    all = all + 1
    if not s.terminated then live = live + 1 end
  end
  return live, all
end

return M
