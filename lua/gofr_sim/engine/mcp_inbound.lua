--- gofr_sim.engine.mcp_inbound: what an MCP server sends a client of its own
-- accord — requests (elicitation/create, sampling/createMessage,
-- roots/list, ping), notifications (progress, logging, list changed,
-- resource updated) and responses that arrived on another stream — handled
-- for a session of gofr_sim.engine.mcp, whatever its transport.
--
--   local inbound = require "gofr_sim.engine.mcp_inbound"
--   local h = inbound.handlers("sim.mcp.connect", opts.handlers)   -- checked, by method
--   local caps = inbound.capabilities(h, opts.capabilities)          -- declared for those given
--   inbound.dispatch(s, msg)   -- msg: a decoded JSON-RPC message not answering our request
--
-- A session s has s.handlers (method -> fn(params, session, request) ->
-- result | nil, code, message), s.on_notification (fn(method, params,
-- session) or {method = fn(params, session)}), s._progress (token ->
-- fn(progress, total, message)), s._waiting (request id -> waiter:
-- responses that came on another stream land in waiter.msg) and s.send
-- (fn(session, json_text) -> true | nil, err_type, message: how the
-- transport sends a message to the server). Without a handler, ping is
-- answered, elicitation declined and other requests refused as unknown
-- methods (-32601); a handler that raises answers -32603 with its message.
-- Each request and notification is counted in sim.metrics:
-- mcp.server_requests{method=, outcome=} and mcp.notifications{method=}.
local check = require "gofr_sim.engine.check"
local metrics = require "gofr_sim.engine.metrics"
local json = require("cjson.safe").new()

local type, pairs, tostring, pcall = type, pairs, tostring, pcall

local M = {}

local fail = check.fail

-- JSON-RPC error codes of the answers this module gives.
M.METHOD_NOT_FOUND = -32601
M.INTERNAL_ERROR = -32603

--- The server requests a handler may be given for, and the client
-- capability declaring each (nil: none needed).
M.REQUESTS = {
  ["elicitation/create"] = "elicitation",
  ["sampling/createMessage"] = "sampling",
  ["roots/list"] = "roots",
  ping = false,
}

-- Answers without a handler: polite ones (ping, a declined elicitation).
local DEFAULTS = {
  ping = function() return {} end,
  ["elicitation/create"] = function() return { action = "decline" } end,
}

--- The handlers option of connect, checked: {method = fn}; nil is none.
function M.handlers(fname, given)
  if given == nil then return {} end
  local out = {}
  for method, fn in pairs(given) do
    if M.REQUESTS[method] == nil then
      local names = {}
      for name in pairs(M.REQUESTS) do names[#names + 1] = name end
      fail(fname, ("option 'handlers': no server request '%s'%s"):format(tostring(method),
        require("gofr_sim.util.suggest").clause(tostring(method), names)))
    end
    if type(fn) ~= "function" then
      fail(fname, ("option 'handlers': handlers['%s'] must be a function, got %s"):format(method, type(fn)))
    end
    out[method] = fn
  end
  return out
end

--- The client capabilities of a session with these handlers: each given
-- handler's (elicitation, sampling, roots) declared, then `given` (connect's
-- capabilities option) over them.
function M.capabilities(handlers, given)
  local caps = {}
  for method in pairs(handlers) do
    local cap = M.REQUESTS[method]
    if cap == "roots" then
      caps.roots = { listChanged = false }
    elseif cap then
      caps[cap] = {}
    end
  end
  for k, v in pairs(given or {}) do caps[k] = v end
  return caps
end

--- The content of an elicitation that accepts every field's default
-- (SEP-1034): {action = "accept", content = {field = default, ...}} from the
-- request's requestedSchema. A handler: handlers = {["elicitation/create"] =
-- mcp.accept_defaults}.
function M.accept_defaults(params)
  local content = {}
  local schema = type(params) == "table" and params.requestedSchema
  local props = type(schema) == "table" and schema.properties
  if type(props) == "table" then
    for name, prop in pairs(props) do
      if type(prop) == "table" and prop.default ~= nil then content[name] = prop.default end
    end
  end
  return { action = "accept", content = content }
end

-- The JSON text of the answer to request msg from its handler's outcome.
local function answer_text(msg, ok, result, code, message)
  local reply = { jsonrpc = "2.0", id = msg.id }
  if not ok then
    reply.error = { code = M.INTERNAL_ERROR, message = tostring(result) }
  elseif result == nil then
    reply.error = { code = type(code) == "number" and code or M.INTERNAL_ERROR,
                    message = message ~= nil and tostring(message) or "the client's handler gave no result" }
  else
    reply.result = result
  end
  local text = json.encode(reply)
  if not text then
    reply.result = nil
    reply.error = { code = M.INTERNAL_ERROR, message = "the handler's result cannot be written as JSON" }
    text = json.encode(reply)
  end
  return text, reply.error == nil and "ok" or "error"
end

-- Answers server request msg with its handler (or the default), through s.send.
local function answer(s, msg)
  local method = msg.method
  local handler = s.handlers[method] or DEFAULTS[method]
  local text, outcome
  if handler then
    text, outcome = answer_text(msg, pcall(handler, msg.params or {}, s, msg))
  else
    text, outcome = answer_text(msg, true, nil, M.METHOD_NOT_FOUND,
      "the client does not handle " .. tostring(method))
  end
  local sent, err_type = s.send(s, text)
  if not sent then outcome = err_type end
  s.stats.server_requests = s.stats.server_requests + 1
  metrics.current:count("mcp.server_requests", 1,
    metrics.with_persona_tags { method = tostring(method), outcome = outcome })
end

-- Delivers notification msg: a call's progress callback, then the
-- session's on_notification.
local function notified(s, msg)
  local method, params = msg.method, msg.params
  s.stats.notifications = s.stats.notifications + 1
  metrics.current:count("mcp.notifications", 1, metrics.with_persona_tags { method = tostring(method) })
  if method == "notifications/progress" and type(params) == "table" then
    local fn = s._progress[params.progressToken]
    if fn then fn(params.progress, params.total, params.message) end
  end
  local on = s.on_notification
  if type(on) == "function" then
    on(method, params, s)
  elseif on and on[method] then
    on[method](params, s)
  end
end

--- Handles message msg (decoded, a table) that is not the response being
-- read for: a server request (answered), a notification (delivered), a
-- response to another of the session's requests in progress (handed to its
-- waiter), or anything else (counted as ignored). -> true when msg is a
-- response that answers no request in progress (a wrong id, likely).
function M.dispatch(s, msg)
  if msg.method ~= nil then
    if msg.id ~= nil and msg.id ~= json.null then answer(s, msg) else notified(s, msg) end
    return false
  end
  local id = msg.id
  local waiter = id ~= nil and s._waiting[id]
  if waiter and not waiter.msg then
    waiter.msg = msg
    return false
  end
  s.stats.ignored = s.stats.ignored + 1
  return id ~= nil and id ~= json.null and (msg.result ~= nil or msg.error ~= nil)
end

--- Whether a session with these callbacks needs every event decoded (a
-- notification callback), not only responses and requests.
function M.wants_all(on_notification)
  return on_notification ~= nil
end

return M
