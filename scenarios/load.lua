--- load: personas fetch pages — the main job.
--
--   gofr-sim scenarios/load.lua --consumers 4 --rate 10 --duration 30s
--   gofr-sim scenarios/load.lua --total-requests 500 --target-url http://127.0.0.1:8080/
--   gofr-sim scenarios/load.lua --workload constant-arrival-rate --rate 200 --duration 1m
--   gofr-sim scenarios/load.lua --protocol mcp --mcp-url http://127.0.0.1:8070/mcp/ \
--     --mix-file fixtures/mixes/default.json --duration 30s
--
-- Without --target-url the built-in fixture site is started on 127.0.0.1
-- and each iteration uses one of its pages, chosen at random from the
-- persona's own seeded stream (--seed repeats the choices). --protocol http
-- (the default) GETs the page; --protocol mcp asks gofr-dig (--mcp-url) to
-- fetch it, as the Python harness's MCP mode did, or runs the task the
-- persona's mix group weights. The workload, stop conditions, report and
-- thresholds are the runner's: docs/scenarios.md.
local sim = require "gofr_sim"
local cli = require "gofr_sim.cli"
local personas = require "gofr_sim.personas"

local env_mcp_url = os.getenv("GOFR_DIG_MCP_URL")
if env_mcp_url == "" then env_mcp_url = nil end

-- MCP ------------------------------------------------------------------------

-- The persona's session, connected on its first iteration (and again after a
-- failed connect: one persona's failure never stops the run). Connects are
-- timed as `mcp.connect`.
local function session_of(ctx)
  local s = ctx.vars.mcp_session
  if s then return s end
  local t0 = sim.now()
  local err_type, msg
  s, err_type, msg = sim.mcp.connect(ctx.mcp_url, { timeout = ctx.options.timeout })
  sim.metrics.record("mcp.connect", sim.now() - t0, { tool = "mcp.connect", error_type = err_type })
  if not s then
    if not ctx.vars.connect_warned then
      ctx.vars.connect_warned = true
      io.stderr:write(("gofr-sim: load: persona %s#%d cannot connect to %s: %s: %s\n")
        :format(ctx.persona.name, ctx.persona.id, ctx.mcp_url, err_type, tostring(msg)))
    end
    return nil
  end
  ctx.vars.mcp_session = s
  ctx.sessions[#ctx.sessions + 1] = s
  return s
end

local function call(ctx, s, tool, args)
  return s:call(tool, args, { auth_token = ctx.persona.token })
end

-- get_content with a session; -> its session_id or nil.
local function content_session(ctx, s, url)
  local r = call(ctx, s, "get_content", { url = url, session = true, parse_results = false })
  local sid = r.ok and type(r.data) == "table" and r.data.session_id
  return type(sid) == "string" and sid ~= "" and sid or nil
end

local function session_reads(ctx, s, sid)
  call(ctx, s, "get_session_info", { session_id = sid })
  call(ctx, s, "get_session_chunk", { session_id = sid, chunk_index = 0 })
end

local TASKS = {
  -- The Python harness's fixed sequence (reference §8.2).
  structure_then_content = function(ctx, s, url)
    call(ctx, s, "get_structure", { url = url })
    local sid = content_session(ctx, s, url)
    if sid then session_reads(ctx, s, sid) end
  end,
  content_only = function(ctx, s, url)
    call(ctx, s, "get_content", { url = url, parse_results = false })
  end,
  content_session_reads = function(ctx, s, url)
    local sid = content_session(ctx, s, url)
    if sid then session_reads(ctx, s, sid) end
  end,
  list_sessions = function(ctx, s)
    call(ctx, s, "list_sessions", {})
  end,
  get_session_full = function(ctx, s, url)
    local sid = content_session(ctx, s, url)
    if sid then call(ctx, s, "get_session", { session_id = sid }) end
  end,
  ping = function(_, s)
    s:call("ping", {}) -- ping takes no token
  end,
}

local function mcp_iteration(ctx)
  local s = session_of(ctx)
  if not s then return end
  local task = TASKS[personas.pick_task(ctx.persona, ctx.rng)] or TASKS.structure_then_content
  task(ctx, s, ctx.rng:pick(ctx.urls))
end

-- The scenario ---------------------------------------------------------------------

return {
  name = "load",
  description = "personas fetch pages of the fixture site (or --target-url): GET, or gofr-dig MCP tools",
  options = { consumers = 4, rate = 10 },
  flags = {
    target_url = { type = "url" },
    fixtures_dir = { type = "string" },
    timeout = { type = "duration", default = 30, above = 0 },
    protocol = { type = "enum", values = { "http", "mcp" }, default = "http" },
    mcp_url = { type = "url", default = env_mcp_url },
  },

  setup = function(ctx)
    local o = ctx.options
    local mcp = o.protocol == "mcp"
    if mcp and not o.mcp_url then
      cli.usage_error("--protocol mcp needs --mcp-url URL (or GOFR_DIG_MCP_URL), "
        .. "e.g. --mcp-url http://127.0.0.1:8070/mcp/")
    end
    local shared = { mcp_url = mcp and o.mcp_url or nil, sessions = mcp and {} or nil }
    if o.target_url then
      shared.urls = { o.target_url }
      return shared
    end
    local root = o.fixtures_dir or sim.fixtures.default_root()
    local pages, _, msg = sim.fixtures.pages(root)
    if not pages then cli.usage_error("--fixtures-dir: " .. msg) end
    if #pages == 0 then cli.usage_error("--fixtures-dir: no .html pages under " .. root) end
    local site, err_type
    site, err_type, msg = sim.fixtures.serve { root = root }
    if not site then error(("cannot start the fixture site: %s (%s)"):format(msg, err_type)) end
    local urls = {}
    for i, page in ipairs(pages) do urls[i] = site.url .. "/" .. page end
    shared.urls, shared.site = urls, site
    return shared
  end,

  iteration = function(ctx)
    if ctx.mcp_url then return mcp_iteration(ctx) end
    sim.http.get(ctx.rng:pick(ctx.urls), { timeout = ctx.options.timeout })
  end,

  teardown = function(ctx)
    for _, s in ipairs(ctx.sessions or {}) do pcall(s.close, s, { timeout = 2 }) end
    if ctx.site then ctx.site.close() end
  end,
}
