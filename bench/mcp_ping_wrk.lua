-- bench/mcp_ping_wrk.lua: a wrk script that calls one MCP tool in an existing
-- session, for bench/mcp_ping.sh.
--
--   wrk -t1 -c32 -d10s -s bench/mcp_ping_wrk.lua URL -- SESSION_ID [PROTOCOL_VERSION] [TOOL]
--
-- The session must already be initialised (initialize, then
-- notifications/initialized; bench/mcp_ping.sh does that with curl). Every
-- request is a POST of tools/call TOOL (default ping) with empty arguments,
-- carrying Mcp-Session-Id, MCP-Protocol-Version (default 2025-11-25) and the
-- Accept/Content-Type headers MCP asks for. Each request has its own JSON-RPC
-- id, unique within the session across threads, as MCP requires; the body is
-- otherwise fixed. Responses are not read (wrk only counts their status: see
-- its "Non-2xx or 3xx responses" line).
-- luacheck: globals wrk setup init request thread_index

local threads = 0 -- in the main state: threads set up so far

-- Runs in the main state, once per thread before init: numbers the threads.
function setup(thread)
  threads = threads + 1
  thread:set("thread_index", threads)
end

local id_base, sent = 0, 0
local body_head, body_tail

-- Runs in each thread's state with the script's arguments.
function init(args)
  local session_id = args[1]
  if not session_id or session_id == "" then
    error("mcp_ping_wrk.lua: give the session id: wrk ... -s mcp_ping_wrk.lua URL -- SESSION_ID")
  end
  local tool = args[3] or "ping"
  if not tool:match("^[%w_.-]+$") then error("mcp_ping_wrk.lua: bad tool name '" .. tool .. "'") end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  wrk.headers["Mcp-Session-Id"] = session_id
  wrk.headers["MCP-Protocol-Version"] = args[2] or "2025-11-25"
  id_base = (thread_index or 1) * 1000000000
  body_head = '{"jsonrpc":"2.0","id":'
  body_tail = ',"method":"tools/call","params":{"name":"' .. tool .. '","arguments":{}}}'
end

-- Once per request: the fixed body with the next id.
function request()
  sent = sent + 1
  return wrk.format(nil, nil, nil, body_head .. (id_base + sent) .. body_tail)
end
