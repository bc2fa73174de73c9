--- load: personas drive gofr-dig's MCP tools (or GET pages) — the main job.
--
--   gofr-sim scenarios/load.lua                          # 10 s of the MCP flow against the embedded twin
--   gofr-sim scenarios/load.lua --mcp-url http://127.0.0.1:8070/mcp --mix-file fixtures/mixes/large.json
--   gofr-sim scenarios/load.lua --protocol http --total-requests 500 --target-url http://127.0.0.1:8080/
--   gofr-sim scenarios/load.lua --workload constant-arrival-rate --rate 200 --duration 1m
--
-- --protocol mcp (the default) runs the Python harness's MCP flow per
-- persona (get_structure -> get_content session=true -> get_session_info ->
-- get_session_chunk 0: the task structure_then_content), or the tasks its
-- mix group weights (the scenario's `tasks`, below), against
-- --mcp-url (default $GOFR_DIG_MCP_URL) or, without one, against the
-- embedded gofr-dig twin started in-process with tokens minted for it.
-- Without --mix-file the embedded twin's run uses fixtures/mixes/default.json
-- (apac, emea, us, multi, public, attacker); against --mcp-url the personas
-- are then anonymous, as in the Python harness. --protocol http GETs pages.
--
-- Pages: --mode fixture (the default) serves --fixtures-dir on 127.0.0.1
-- (bind GOFR_DIG_FIXTURE_HOST, advertised as GOFR_DIG_FIXTURE_EXTERNAL_HOST)
-- and picks one page per iteration from the persona's seeded stream;
-- --mode live uses --target-url or the sites of --sites-file. The workload,
-- stop conditions, report and thresholds are the runner's: docs/scenarios.md.
-- Page content that MCP tools return is classified by gofr_sim.engine.blockpage
-- (counter mcp.block_pages{class=,tool=}: docs/blockpages.md).
--
-- Expected outcomes (docs/scenarios.md): get_structure of a page the fixture
-- site's robots.txt disallows expects ROBOTS_BLOCKED; a mix group's
-- "expect" (the default mix: the attacker's AUTH_ERROR) and --expect add
-- theirs. Default thresholds: no script errors, unexpected errors under 1 %,
-- at least one successful call of every tool the run used; a --threshold on
-- the same key replaces one.
--
-- Recording sites into a corpus is `gofr-sim record` (docs/recording.md).

local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local target = require "gofr_sim.gofr_dig.target"
local tokens = require "gofr_sim.gofr_dig.tokens"
local recording = require "gofr_sim.gofr_dig.recording"
local blockpage = require "gofr_sim.engine.blockpage"
local build = require "gofr_sim.report.build"

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
  return s
end

local ROBOTS_BLOCKED = { "ROBOTS_BLOCKED" }

local function call(ctx, s, tool, args, expect)
  local r = s:call(tool, args, { auth_token = ctx.persona.token, expect = expect })
  blockpage.count_result(tool, r) -- a bot block, CAPTCHA or paywall returned as content
  return r
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

-- The tasks a mix group may weight, each run(ctx, session, url). Without a
-- group's `tasks` every iteration is structure_then_content (the only
-- weight > 0).
local TASKS = {
  { name = "structure_then_content", weight = 1, -- the Python harness's fixed sequence (reference §8.2)
    run = function(ctx, s, url)
      call(ctx, s, "get_structure", { url = url }, ctx.robots_disallowed[url] and ROBOTS_BLOCKED)
      local sid = content_session(ctx, s, url)
      if sid then session_reads(ctx, s, sid) end
    end },
  { name = "content_only", weight = 0,
    run = function(ctx, s, url)
      call(ctx, s, "get_content", { url = url, parse_results = false })
    end },
  { name = "content_session_reads", weight = 0,
    run = function(ctx, s, url)
      local sid = content_session(ctx, s, url)
      if sid then session_reads(ctx, s, sid) end
    end },
  { name = "list_sessions", weight = 0,
    run = function(ctx, s)
      call(ctx, s, "list_sessions", {})
    end },
  { name = "get_session_full", weight = 0,
    run = function(ctx, s, url)
      local sid = content_session(ctx, s, url)
      if sid then call(ctx, s, "get_session", { session_id = sid }) end
    end },
  { name = "ping", weight = 0,
    run = function(_, s)
      s:call("ping", {}) -- ping takes no token
    end },
}

local function mcp_iteration(ctx)
  local s = session_of(ctx)
  if not s then return end
  local task = ctx:pick_task() -- drawn before the page: the seeded stream's order
  task.run(ctx, s, ctx.rng:pick(ctx.urls))
end

local tgt -- the gofr-dig of this run (MCP mode), made by prepare

-- Pages ------------------------------------------------------------------------

-- The URLs of --sites-file (the harness's sites.json); bad or empty: a
-- usage error.
local function site_urls(path)
  local sites, why = recording.read_sites(path)
  if not sites then cli.usage_error("--sites-file: " .. why) end
  local urls = {}
  for i, site in ipairs(sites) do urls[i] = site.url end
  return urls
end

-- The scenario ---------------------------------------------------------------------

return {
  name = "load",
  description = "personas drive gofr-dig's MCP tools (embedded twin or --mcp-url), or GET pages",
  options = { consumers = 4, rate = 10, duration = 10 },
  tasks = TASKS,
  tokens = tokens.resolver,
  flags = target.with_flags {
    mode = { type = "enum", values = { "live", "fixture" },
      help = "where pages come from: the fixture site or live URLs (live with --target-url/--sites-file)" },
    sites_file = { type = "string", help = "live mode: the harness's sites.json, its URLs" },
    target_url = { type = "url", help = "live mode: this one URL" },
    fixtures_port = target.FIXTURES_PORT_FLAG,
    fixtures_dir = { type = "string",
      help = "fixture mode: the site served (a recording or *.html files; default fixtures/html)" },
    timeout = { type = "duration", default = 30, above = 0,
      help = "per-request timeout (MCP: per connect and per tool call)" },
    timeout_seconds = { type = "number", above = 0, help = "the old name of --timeout, in seconds" },
    protocol = { type = "enum", values = { "http", "mcp" }, default = "mcp",
      help = "gofr-dig's MCP tools, or direct GETs of the pages" },
  },

  prepare = function(o)
    if o.timeout_seconds then o.timeout = o.timeout_seconds end
    o.mode = o.mode or ((o.target_url or o.sites_file) and "live" or "fixture")
    if o.mode == "live" and not (o.target_url or o.sites_file) then
      cli.usage_error("--mode live needs --target-url URL or --sites-file FILE")
    end
    if o.protocol ~= "mcp" then return nil end
    -- against a given gofr-dig, personas without a mix are anonymous (as in
    -- the Python harness); the embedded twin gets the default mix
    if not o.mcp_url then
      o.mix_file = o.mix_file or (sim.fixtures.default_root():gsub("html$", "mixes/default.json"))
    end
    tgt = target.new(o)
    return tgt:mix_extra()
  end,

  setup = function(ctx)
    local o = ctx.options
    local shared = {}
    if o.mode == "fixture" then
      shared.site, shared.urls = target.serve_fixtures(o.fixtures_dir,
        { port = o.fixtures_port, hosts = "sites" }) -- one loopback host per site
      shared.robots_disallowed = shared.site.robots_disallowed
    else
      shared.urls = o.target_url and { o.target_url } or site_urls(o.sites_file)
      shared.robots_disallowed = {} -- live sites: declare with --expect
    end
    if o.protocol == "mcp" then
      shared.mcp_url = tgt:start(ctx).url
    end
    return shared
  end,

  iteration = function(ctx)
    if ctx.mcp_url then return mcp_iteration(ctx) end
    sim.http.get(ctx.rng:pick(ctx.urls), { timeout = ctx.options.timeout })
  end,

  thresholds = {
    script_errors = "== 0",
    error_rate = "< 1%",
    ["successes{tool=*}"] = "> 0",
  },

  -- each persona ends its MCP session (DELETE), in the thread that ran it
  persona_teardown = function(ctx)
    local s = ctx.vars.mcp_session
    if s then s:close { timeout = 2 } end
  end,

  teardown = function(ctx, report)
    local note = tgt and report and tgt:fetch_delay_note(report)
    if note then build.add_note(report, note) end
    if tgt then tgt:stop() end
    if ctx.site then ctx.site.close() end
  end,
}
