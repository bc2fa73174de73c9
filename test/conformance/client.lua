--- The client under test of the official MCP conformance suite
-- (npm @modelcontextprotocol/conformance, client mode):
--
--   conformance client --command "gofr-sim test/conformance/client.lua" --scenario S
--
-- The suite starts its test server, then runs the command with the
-- server's URL as the last argument and the scenario's name in the
-- environment (MCP_CONFORMANCE_SCENARIO; some scenarios add JSON test data
-- in MCP_CONFORMANCE_CONTEXT). This script does what the suite's reference
-- client (examples/clients/typescript/everything-client.ts) does for that
-- scenario, with sim.mcp alone (its OAuth client, handlers for server
-- requests, resumed SSE streams): no raw sim.http. A step that fails says
-- what failed on stderr and exits 1, and the scenario fails.
--
-- Exit status: 0 when every step of the scenario worked, 1 otherwise, 2 on
-- misuse (no URL, no scenario, an unknown scenario).
local sim = require "gofr_sim"

local mcp = sim.mcp
local TIMEOUT = 10 -- seconds, per HTTP exchange: the suite's own limit is 30 s per scenario

-- A generic MCP server, not gofr-dig: tool results by MCP's rules alone.
mcp.use_result_decoder(mcp.decode_result)

local function say(fmt, ...)
  io.stderr:write(("conformance client: " .. fmt .. "\n"):format(...))
end

-- A step that failed: what and why, as an error the run reports.
local Failed = {}
local function check(ok, what, err_type, msg)
  if not ok then
    error(setmetatable({ what = what, err_type = err_type, msg = msg }, Failed), 0)
  end
  return ok
end

local function connect(url, opts)
  opts = opts or {}
  local s, et, msg = mcp.connect(url, {
    timeout = TIMEOUT,
    client_info = { name = opts.name or "gofr-sim-conformance", version = sim._VERSION },
    capabilities = opts.capabilities,
    handlers = opts.handlers,
    auth = opts.auth,
  })
  return check(s, "initialize", et, msg)
end

local function list_tools(s)
  local tools, et, msg = s:list_tools()
  check(tools, "tools/list", et, msg)
  local names = {}
  for i, t in ipairs(tools) do names[i] = t.name end
  say("tools: %s", #names > 0 and table.concat(names, ", ") or "(none)")
  return tools
end

local function has_tool(tools, name)
  for _, t in ipairs(tools) do
    if t.name == name then return true end
  end
  return false
end

local function call(s, tool, args)
  local r = s:call(tool, args or {})
  check(r.ok, "tools/call " .. tool, r.error_type, r.message)
  say("%s -> %s", tool, tostring(r.text or r.data))
  return r
end

local function close(s)
  local ok, et, msg = s:close()
  check(ok, "close (DELETE)", et, msg)
end

-- What the reference client does, scenario by scenario. ------------------------

-- initialize: the handshake, tools/list, close.
local function basic(url)
  local s = connect(url)
  list_tools(s)
  close(s)
end

-- tools_call: the handshake, then add_numbers (the suite checks the call
-- arrives with numeric a and b).
local function tools_call(url)
  local s = connect(url)
  local tools = list_tools(s)
  check(has_tool(tools, "add_numbers"), "tools/list", "missing_tool", "no add_numbers tool listed")
  call(s, "add_numbers", { a = 5, b = 3 })
  close(s)
end

-- The OAuth scenarios: the session's OAuth client (sim.mcp.oauth_client)
-- answers the 401 (protected resource metadata -> authorization server
-- metadata -> registration -> authorize -> token), the request goes again
-- with the bearer token; then tools/list and test-tool, as the reference
-- client does. The suite's test data (MCP_CONFORMANCE_CONTEXT: a
-- pre-registered client, a private key) configure the client.

-- The client ID metadata document URL the reference client uses.
local CIMD_URL = "https://conformance-test.local/client-metadata.json"

local function context()
  local raw = os.getenv("MCP_CONFORMANCE_CONTEXT")
  local ctx = raw and require("cjson.safe").decode(raw)
  return type(ctx) == "table" and ctx or {}
end

-- The OAuth client of scenario `name` with its test data ctx.
local function oauth_client(name, ctx)
  local o = { timeout = TIMEOUT, client_name = "gofr-sim-conformance" }
  -- offline-access-scope checks a registration that asks for refresh tokens
  if name ~= "auth/offline-access-scope" then o.client_metadata_url = CIMD_URL end
  if name:find("client%-credentials") then
    o.grant, o.client_metadata_url = "client_credentials", nil
  end
  o.client_id, o.client_secret = ctx.client_id, ctx.client_secret
  if ctx.idp_token_endpoint then -- cross-app access: the enterprise IdP's ID token, exchanged
    o.grant, o.client_metadata_url = "cross_app_access", nil
    o.idp = { token_endpoint = ctx.idp_token_endpoint, id_token = ctx.idp_id_token,
              client_id = ctx.idp_client_id }
  end
  if ctx.private_key_pem then
    o.auth_method, o.private_key_pem = "private_key_jwt", ctx.private_key_pem
    o.private_key_alg = ctx.signing_algorithm or "ES256"
  end
  return mcp.oauth_client(o)
end

local function auth(url, name)
  local s = connect(url, { auth = oauth_client(name, context()) })
  list_tools(s)
  call(s, "test-tool", {})
  close(s)
end

-- elicitation-sep1034-client-defaults: the tool's handler sends
-- elicitation/create on the standalone GET stream (open before connect
-- returns, as the session has a handler) and waits for the answer: accept,
-- every field's default filled in (SEP-1034, mcp.accept_defaults).
local function elicitation_defaults(url)
  local s = connect(url, { handlers = { ["elicitation/create"] = mcp.accept_defaults } })
  local tools = list_tools(s)
  check(has_tool(tools, "test_client_elicitation_defaults"), "tools/list", "missing_tool",
    "no test_client_elicitation_defaults tool listed")
  call(s, "test_client_elicitation_defaults", {})
  close(s)
end

-- sse-retry: the tools/call stream is a priming event (id, retry: 500)
-- closed after 50 ms; the answer comes on a GET stream opened with
-- Last-Event-ID after the retry delay, which sim.mcp resumes by itself.
local function sse_retry(url)
  local s = connect(url)
  local tools = list_tools(s)
  check(has_tool(tools, "test_reconnection"), "tools/list", "missing_tool",
    "no test_reconnection tool listed")
  call(s, "test_reconnection", {})
  close(s)
end

local SCENARIOS = {
  ["initialize"] = basic,
  ["tools_call"] = tools_call,
  ["elicitation-sep1034-client-defaults"] = elicitation_defaults,
  ["sse-retry"] = sse_retry,
  ["auth/metadata-default"] = auth,
  ["auth/metadata-var1"] = auth,
  ["auth/metadata-var2"] = auth,
  ["auth/metadata-var3"] = auth,
  ["auth/basic-cimd"] = auth,
  ["auth/scope-from-www-authenticate"] = auth,
  ["auth/scope-from-scopes-supported"] = auth,
  ["auth/scope-omitted-when-undefined"] = auth,
  ["auth/scope-step-up"] = auth,
  ["auth/scope-retry-limit"] = auth,
  ["auth/token-endpoint-auth-basic"] = auth,
  ["auth/token-endpoint-auth-post"] = auth,
  ["auth/token-endpoint-auth-none"] = auth,
  ["auth/pre-registration"] = auth,
  ["auth/2025-03-26-oauth-metadata-backcompat"] = auth,
  ["auth/2025-03-26-oauth-endpoint-fallback"] = auth,
  ["auth/resource-mismatch"] = auth,
  ["auth/offline-access-scope"] = auth,
  ["auth/offline-access-not-supported"] = auth,
  ["auth/client-credentials-jwt"] = auth,
  ["auth/client-credentials-basic"] = auth,
  ["auth/cross-app-access-complete-flow"] = auth,
}

local url = arg[#arg]
local name = os.getenv("MCP_CONFORMANCE_SCENARIO")
if not url or not url:match("^https?://") or not name or name == "" then
  say("usage: MCP_CONFORMANCE_SCENARIO=NAME gofr-sim test/conformance/client.lua URL")
  return 2
end
local run = SCENARIOS[name]
if not run then
  say("unknown scenario '%s'", name)
  return 2
end

local status = 1
sim.run(function()
  local ok, err = pcall(run, url, name)
  if ok then
    say("%s: done", name)
    status = 0
  elseif getmetatable(err) == Failed then
    say("%s: %s failed: %s: %s", name, err.what, tostring(err.err_type), tostring(err.msg))
  else
    say("%s: %s", name, tostring(err))
  end
end)
return status
