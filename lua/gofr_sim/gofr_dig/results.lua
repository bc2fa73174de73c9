--- gofr_sim.gofr_dig.results: gofr-dig's conventions on top of MCP tool
-- results, and the old Python harness's error categories.
--
--   local results = require "gofr_sim.gofr_dig.results"
--   local r = results.decode_result(raw)  -- MCP's rules, then success:false
--   results.error_class("permission_denied") --> "mcp_tool_failed"
--
-- gofr-dig answers an application error as a tool result with isError:false
-- whose text is JSON {"success": false, "error_code": "...", "error" or
-- "message": "..."} (contract §4). The facade installs decode_result as
-- sim.mcp's result decoder, so every session:call reads results this way;
-- it is valid for any MCP server (a result without success:false is read by
-- MCP's rules alone). docs/mcp.md.
local mcp = require "gofr_sim.engine.mcp"

local type, tostring = type, tostring

local M = {}

--- sim.mcp.decode_result's table, then: a JSON object with success:false is
-- a failure whose error_type is its error_code lower-cased (error_code kept
-- as sent; mcp_tool_failed without one) and whose message is its "message"
-- or "error".
function M.decode_result(result)
  local r = mcp.decode_result(result)
  local d = r.data
  if r.is_error or type(d) ~= "table" or d.success ~= false then return r end
  r.ok = false
  local code = d.error_code
  if type(code) == "string" and code ~= "" then
    r.error_code = code
    r.error_type = code:lower()
  else
    r.error_type = "mcp_tool_failed"
  end
  local m = d.message
  if type(m) ~= "string" then m = d.error end
  r.message = type(m) == "string" and m or nil
  return r
end

--- The old Python harness's coarse error categories of each error type
-- sim.mcp and gofr-dig produce (docs/mcp.md). Types not listed go through M.error_class.
M.ERROR_CLASSES = {
  -- transport
  network_timeout = "network_timeout",
  network_connect = "network_error",
  network_protocol = "network_error",
  network_error = "network_error",
  body_too_large = "network_error",
  mcp_protocol = "network_error",
  mcp_bad_envelope = "network_error",
  mcp_wrong_id = "network_error",
  mcp_server_exited = "network_error",
  mcp_output_schema = "mcp_tool_failed",
  mcp_session_lost = "network_error",
  mcp_foreign_redirect = "network_error",
  -- MCP-level failures
  mcp_rpc_error = "mcp_tool_failed",
  mcp_invalid_arguments = "mcp_tool_failed",
  mcp_tool_failed = "mcp_tool_failed",
  -- gofr-dig error codes (success:false), lower-cased
  auth_error = "auth_error",
  permission_denied = "mcp_tool_failed",
  rate_limit_exceeded = "rate_limited",
  rate_limited = "rate_limited",
  timeout_error = "network_timeout",
  fetch_error = "network_error",
  connection_error = "network_error",
  invalid_url = "mcp_tool_failed",
  url_not_found = "mcp_tool_failed",
  access_denied = "mcp_tool_failed",
  ssrf_blocked = "mcp_tool_failed",
  robots_blocked = "mcp_tool_failed",
  extraction_error = "mcp_tool_failed",
  selector_not_found = "mcp_tool_failed",
  invalid_selector = "mcp_tool_failed",
  encoding_error = "mcp_tool_failed",
  parse_error = "mcp_tool_failed",
  content_too_large = "mcp_tool_failed",
  invalid_argument = "mcp_tool_failed",
  session_error = "mcp_tool_failed",
  session_not_found = "mcp_tool_failed",
  session_validation = "mcp_tool_failed",
  unknown_tool = "mcp_tool_failed",
}

--- The old harness's category of any error type: ERROR_CLASSES, then
-- http_401/403 -> auth_error, http_429 -> rate_limited, other http_* ->
-- mcp_tool_failed, then the harness's own substring rules (auth/token/
-- unauthorized, rate/429/throttl, timeout, fetch/network/connect, else
-- mcp_tool_failed). nil for nil (a success).
function M.error_class(err_type)
  if err_type == nil then return nil end
  local c = M.ERROR_CLASSES[err_type]
  if c then return c end
  local t = tostring(err_type):lower()
  local status = t:match("^http_(%d+)$")
  if status then
    if status == "401" or status == "403" then return "auth_error" end
    if status == "429" then return "rate_limited" end
    return "mcp_tool_failed"
  end
  if t:find("auth", 1, true) or t:find("token", 1, true) or t:find("unauthorized", 1, true) then
    return "auth_error"
  end
  if t:find("rate", 1, true) or t:find("429", 1, true) or t:find("throttl", 1, true) then
    return "rate_limited"
  end
  if t:find("timeout", 1, true) then return "network_timeout" end
  if t:find("fetch", 1, true) or t:find("network", 1, true) or t:find("connect", 1, true) then
    return "network_error"
  end
  return "mcp_tool_failed"
end

return M
