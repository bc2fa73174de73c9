--- mcp_load: load and conformance for any MCP server — its tools, called
-- with arguments built from their input schemas, their results checked
-- against their output schemas, under the workload of your choice.
--
--   gofr-sim scenarios/mcp_load.lua --mcp-url http://127.0.0.1:8080/mcp --duration 30s
--   gofr-sim scenarios/mcp_load.lua --mcp-url URL --dry-run          # the tools and sample arguments
--   gofr-sim scenarios/mcp_load.lua --mcp-url URL --args-dir args/ --tools search,fetch
--   gofr-sim scenarios/mcp_load.lua --mcp-url URL --oauth --workload constant-arrival-rate \
--     --rate 50 --duration 1m
--   gofr-sim scenarios/mcp_load.lua --mcp-command 'node server.js --stdio' --consumers 8
--
-- setup connects once, lists the tools (every page) and compiles each
-- tool's inputSchema and outputSchema (gofr_sim.engine.json_schema). Each
-- iteration calls one tool, drawn evenly by the persona's seeded stream,
-- on the persona's own session (or one shared, --shared-session; over
-- stdio, --mcp-command, a session is a server process of its own), with
-- arguments from --args-dir/<tool>.json when there is one (an object, or an
-- array of objects drawn from) and otherwise generated from the input
-- schema (defaults and examples first, then values within its bounds). A
-- tool with an outputSchema must return structuredContent that conforms:
-- anything else is the error type mcp_output_schema, with the first
-- mismatch's path. Protocol violations have their own types too
-- (mcp_wrong_id, mcp_bad_envelope, mcp_protocol; docs/mcp.md), so the
-- summary says how the server breaks the protocol under load.
--
-- Calling a server's tools runs them: choose them with --tools or
-- --exclude-tools where they have effects. Default thresholds: no script
-- errors, no protocol violation, and every tool called succeeding at least
-- once. docs/scenarios.md, "mcp_load.lua".
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local fs = require "gofr_sim.util.fs"
local suggest = require "gofr_sim.util.suggest"
local json_schema = require "gofr_sim.engine.json_schema"
local build = require "gofr_sim.report.build"
local cjson = require("cjson.safe").new()

local type, ipairs, tostring = type, ipairs, tostring
local concat, sort = table.concat, table.sort

local TOOL_PAGE_TIMEOUT = 30 -- seconds for setup's connect and tools/list

-- Flags -------------------------------------------------------------------------

local function list_of(text)
  local out = {}
  for name in (text or ""):gmatch("[^,%s]+") do out[#out + 1] = name end
  return out
end

-- "Name: value" of --header, as {name = value}; a malformed one is a usage error.
local function headers_of(list)
  local out = {}
  for _, h in ipairs(list or {}) do
    local name, value = h:match("^%s*([%w%-_]+)%s*:%s*(.-)%s*$")
    if not name then cli.usage_error(("--header '%s' is not 'Name: value'"):format(h)) end
    out[name] = value
  end
  return out
end

-- A new session with the run's server: --mcp-url's, or a --mcp-command
-- child (run by sh, so the command may have arguments and quotes).
local function open_session(o, opts)
  if o.mcp_command then
    return sim.mcp.spawn { command = "sh", args = { "-c", "exec " .. o.mcp_command }, timeout = opts.timeout }
  end
  return sim.mcp.connect(o.mcp_url, opts)
end

-- The session options of the run (headers, OAuth, timeout).
local function session_options(o)
  local opts = { timeout = o.timeout, headers = headers_of(o.header) }
  if o.oauth or o.oauth_client_id then
    opts.auth = sim.mcp.oauth_client {
      client_id = o.oauth_client_id, client_secret = o.oauth_client_secret, scope = o.oauth_scope,
      grant = o.oauth_grant,
    }
  end
  return opts
end

-- Tools ---------------------------------------------------------------------------

-- The tools to call: the server's, narrowed by --tools / --exclude-tools
-- (an unknown name is a usage error with the nearest).
local function chosen(tools, o)
  local by_name, names = {}, {}
  for _, t in ipairs(tools) do
    if type(t) == "table" and type(t.name) == "string" then
      by_name[t.name] = t
      names[#names + 1] = t.name
    end
  end
  local function known(flag, list)
    for _, name in ipairs(list) do
      if not by_name[name] then
        cli.usage_error(("--%s: the server has no tool '%s'%s"):format(flag, name,
          suggest.clause(name, names, { most = 12 })))
      end
    end
  end
  local only, except = list_of(o.tools), list_of(o.exclude_tools)
  known("tools", only)
  known("exclude-tools", except)
  local skip = {}
  for _, name in ipairs(except) do skip[name] = true end
  local out = {}
  for _, name in ipairs(#only > 0 and only or names) do
    if not skip[name] then out[#out + 1] = by_name[name] end
  end
  sort(out, function(a, b) return a.name < b.name end)
  return out
end

-- The arguments of --args-dir/<tool>.json: an array of objects, or nil
-- without a file; a bad file is a usage error naming it.
local function argument_file(dir, tool)
  if not dir then return nil end
  local path = ("%s/%s.json"):format(dir, tool)
  local text = fs.read_file(path)
  if not text then return nil end
  local doc, err = cjson.decode(text)
  if type(doc) ~= "table" then
    cli.usage_error(("--args-dir: %s is not JSON: %s"):format(path, tostring(err)))
  end
  local list = doc[1] ~= nil and doc or { doc }
  for i, a in ipairs(list) do
    if type(a) ~= "table" or a[1] ~= nil then
      cli.usage_error(("--args-dir: %s: item %d is not an object of arguments"):format(path, i))
    end
  end
  return list
end

-- A tool's schema compiled, or nil and a note saying why it is not used.
local function compiled(tool, key)
  local doc = tool[key]
  if type(doc) ~= "table" then return nil end
  local c, why = json_schema.compile(doc)
  if not c then return nil, ("%s of %s cannot be used: %s"):format(key, tool.name, why) end
  return c
end

-- {name=, input=, output=, args=} of each tool called, and notes on schemas
-- that could not be used.
local function plans(tools, o)
  local out, notes = {}, {}
  for _, t in ipairs(tools) do
    local input, why_in = compiled(t, "inputSchema")
    local output, why_out = compiled(t, "outputSchema")
    notes[#notes + 1] = why_in
    notes[#notes + 1] = why_out
    out[#out + 1] = { name = t.name, input = input, output = output,
                      args = argument_file(o.args_dir, t.name) }
  end
  return out, notes
end

-- The arguments of one call of tool plan p with the persona's stream rng.
local function arguments(p, rng)
  if p.args then return p.args[rng:int(1, #p.args)] end
  if not p.input then return {} end
  local v = json_schema.generate(p.input, rng)
  return type(v) == "table" and v or {}
end

-- The output check of tool plan p: structuredContent conforming to its
-- outputSchema (session:call's check).
local function output_check(p)
  if not p.output then return nil end
  return function(r)
    local sc = type(r.result) == "table" and r.result.structuredContent
    if sc == nil then
      return "mcp_output_schema",
        ("%s declares an outputSchema but returned no structuredContent"):format(p.name)
    end
    local ok, errors = json_schema.validate(p.output, sc)
    if ok then return nil end
    local e = errors[1]
    return "mcp_output_schema", ("%s: structuredContent%s: %s"):format(p.name,
      (e.path or "$"):sub(2), e.message)
  end
end

-- Dry run: what would be called, and how (printed, exit 0, no load).
local function show_plans(list)
  local lines = {}
  for _, p in ipairs(list) do
    local rng = sim.rng.new(1, #lines + 1)
    lines[#lines + 1] = ("%s%s\n  arguments: %s"):format(p.name, p.output and " (outputSchema checked)" or "",
      cjson.encode(arguments(p, rng)) or "?")
  end
  cli.show_help(("%d tools\n%s\n"):format(#lines, concat(lines, "\n")))
end

-- The persona's session (connected on first use; again after a failure).
local function session_of(ctx)
  local s = ctx.shared_session or ctx.vars.session
  if s then return s end
  local err_type, msg
  local t0 = sim.now()
  s, err_type, msg = open_session(ctx.options, ctx.session_options)
  sim.metrics.record("mcp.connect", sim.now() - t0, { tool = "mcp.connect", error_type = err_type })
  if not s then
    if not ctx.vars.warned then
      ctx.vars.warned = true
      io.stderr:write(("gofr-sim: mcp_load: persona %d cannot connect: %s: %s\n")
        :format(ctx.persona.id, tostring(err_type), tostring(msg)))
    end
    return nil
  end
  ctx.vars.session = s
  return s
end

-- The scenario ----------------------------------------------------------------------

return {
  name = "mcp_load",
  description = "calls any MCP server's tools with schema-built arguments; checks results and the protocol",
  options = { consumers = 4, duration = 10 },
  flags = {
    mcp_url = { type = "url", help = "the MCP endpoint (Streamable HTTP), e.g. http://127.0.0.1:8080/mcp" },
    mcp_command = { type = "string",
      help = "or: the command of a stdio MCP server (run by sh; one per session)" },
    args_dir = { type = "string",
      help = "a directory of <tool>.json argument files (an object, or an array)" },
    tools = { type = "string", help = "call only these tools, comma-separated" },
    exclude_tools = { type = "string", help = "never call these tools, comma-separated" },
    header = { type = "string", repeatable = true,
      help = "'Name: value' on every request (e.g. an API key)" },
    oauth = { type = "boolean",
      help = "answer a 401 with OAuth (discovery, dynamic registration, in-process consent)" },
    oauth_client_id = { type = "string", help = "a pre-registered OAuth client (implies --oauth)" },
    oauth_client_secret = { type = "string", help = "its secret (never printed or reported)" },
    oauth_scope = { type = "string", help = "the scope to ask for when the server names none" },
    oauth_grant = { type = "enum", values = { "authorization_code", "client_credentials" },
      help = "the OAuth grant (default authorization_code)" },
    shared_session = { type = "boolean", help = "one MCP session for every persona (default: one each)" },
    dry_run = { type = "boolean", help = "list the tools and a sample of each one's arguments, then exit" },
    timeout = { type = "duration", default = 30, above = 0, help = "per request (connect, each call)" },
  },

  prepare = function(o)
    if (o.mcp_url ~= nil) == (o.mcp_command ~= nil) then
      cli.usage_error("give the MCP server to load: --mcp-url URL or --mcp-command CMD (one of them)")
    end
    if o.mcp_command and (o.header or o.oauth or o.oauth_client_id) then
      cli.usage_error("--header and --oauth are for --mcp-url: a stdio server has no HTTP")
    end
    sim.mcp.use_result_decoder(sim.mcp.decode_result) -- any server: MCP's rules alone
  end,

  setup = function(ctx)
    local o = ctx.options
    local opts = session_options(o)
    opts.timeout = math.min(o.timeout, TOOL_PAGE_TIMEOUT)
    local s, err_type, msg = open_session(o, opts)
    if not s then
      error(("cannot connect to %s: %s: %s"):format(o.mcp_url or o.mcp_command, tostring(err_type),
        tostring(msg)), 0)
    end
    local tools, et, m = s:list_tools()
    if not tools then error(("tools/list failed: %s: %s"):format(tostring(et), tostring(m)), 0) end
    local list, notes = plans(chosen(tools, o), o)
    if #list == 0 then error("the server lists no tools to call", 0) end
    if o.dry_run then show_plans(list) end
    local shared = { plans = list, notes = notes, setup_session = s,
                     session_options = session_options(o) }
    for _, p in ipairs(list) do p.check = output_check(p) end
    if o.shared_session then shared.shared_session = s end
    return shared
  end,

  iteration = function(ctx)
    local s = session_of(ctx)
    if not s then return end
    local p = ctx.plans[ctx.rng:int(1, #ctx.plans)]
    s:call(p.name, arguments(p, ctx.rng), { check = p.check, timeout = ctx.options.timeout })
  end,

  thresholds = {
    script_errors = "== 0",
    ["errors{error_type=mcp_wrong_id}"] = "== 0",
    ["errors{error_type=mcp_bad_envelope}"] = "== 0",
    ["errors{error_type=mcp_output_schema}"] = "== 0",
    ["successes{tool=*}"] = "> 0",
  },

  persona_teardown = function(ctx)
    local s = ctx.vars.session
    if s then s:close { timeout = 2 } end
  end,

  teardown = function(ctx, report)
    if ctx.setup_session then ctx.setup_session:close { timeout = 2 } end
    for _, note in ipairs(ctx.notes or {}) do
      if report then build.add_note(report, note) end
    end
  end,
}
