--- gofr_sim.gofr_dig.target: the gofr-dig a scenario drives — a real server given by
-- --mcp-url, or else the embedded twin started for the run — and the tokens
-- it accepts.
--
--   local target = require "gofr_sim.gofr_dig.target"
--   local tgt                                      -- one per run
--   return {
--     flags = target.flags,                          -- --mcp-url, --twin-faults
--     tokens = require("gofr_sim.gofr_dig.tokens").resolver, -- --token-source ...; a mix's tokens
--     prepare = function(o)
--       tgt = target.new(o, { tokens = { "token_apac", "token_expired" },
--                             twin_env = { GOFR_DIG_RATE_LIMIT_CALLS = "20" } })
--       return tgt:mix_extra()                       -- how the resolver mints a mix's tokens
--     end,
--     setup = function(ctx) tgt:start(ctx); return { mcp_url = tgt.url } end,
--     iteration = function(ctx) local s = tgt:connect(tgt.tokens.token_apac) ... end,
--     teardown = function() tgt:stop() end,
--   }
--
-- Against the embedded twin every token is minted with a secret made for
-- the run and registered in the twin's store (the runner's mix tokens too:
-- start() registers ctx.tokens). Against a real server the tokens come from
-- --token-source env|mint|auto as for a mix (gofr_sim.gofr_dig.tokens,
-- docs/personas.md); minted ones are only accepted by a server that knows
-- them (its store).
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local tokens = require "gofr_sim.gofr_dig.tokens"
local recording = require "gofr_sim.gofr_dig.recording"
local json = require "gofr_sim.util.json"
local fs = require "gofr_sim.util.fs"
local robots_txt = require "gofr_sim.twin.robots"

local pairs, ipairs, type, error, setmetatable = pairs, ipairs, type, error, setmetatable

local M = {}

local env_mcp_url = os.getenv("GOFR_DIG_MCP_URL")
if env_mcp_url == "" then env_mcp_url = nil end

--- The flags of a scenario that drives gofr-dig (merge into its `flags`).
M.flags = {
  mcp_url = { type = "url", default = env_mcp_url,
    help = "a real gofr-dig's MCP endpoint (or $GOFR_DIG_MCP_URL); without one, the embedded twin" },
  twin_faults = { type = "string",
    help = "embedded twin only, for tests: faults to break it with, comma-separated" },
  fetch_delay = { type = "duration", min = 0,
    help = "embedded twin only: its per-host politeness delay between page fetches (default 1s)" },
  twin_port = { type = "integer", min = 0, max = 65535,
    help = "embedded twin only: the port of its MCP endpoint (default: any free port)" },
}

--- The --fixtures-port flag of a scenario that serves the fixture site (add
-- it to the scenario's flags; pass its value to serve_fixtures as opts.port).
M.FIXTURES_PORT_FLAG = { type = "integer", min = 0, max = 65535,
  help = "the port of the fixture site this run serves (every host of it; default: any free port)" }

--- gofr-dig's per-host politeness delay, the embedded twin's default (seconds).
M.FETCH_DELAY = 1.0

--- A copy of t with M.flags added (for a scenario's own flags).
function M.with_flags(t)
  local out = {}
  for k, v in pairs(M.flags) do out[k] = v end
  for k, v in pairs(t or {}) do out[k] = v end
  return out
end

local function env_or(name, default)
  local v = os.getenv(name)
  return (v and v ~= "") and v or default
end

-- The pages of a recording (root/meta.json, docs/recording.md) as URL paths
-- "<slug>/<path>" that exist under root, with "?status=N" when the page was
-- recorded with a status of 400 or more (the fixture server answers with
-- it); nil when root has no meta.json.
local function recorded_pages(root)
  local doc, kind, why = recording.read_meta(root)
  if not doc then
    if kind == "not_found" then return nil end
    cli.usage_error("--fixtures-dir: " .. why)
  end
  local pages = {}
  for _, site in ipairs(doc.sites) do
    local files = json.is_object(site) and type(site.slug) == "string" and json.is_array(site.files)
      and site.files or {}
    for _, file in ipairs(files) do
      local path = json.is_object(file) and type(file.path) == "string" and site.slug .. "/" .. file.path
      if path and not path:find("%.%.") and core.fs_stat(root .. "/" .. path) then
        path = path:gsub("[^%w%-%._~/]", function(c) return ("%%%02X"):format(c:byte()) end)
        local status = file.original_status
        if type(status) == "number" and status >= 400 and status <= 599 then
          path = ("%s?status=%d"):format(path, status)
        end
        pages[#pages + 1] = path
      end
    end
  end
  return pages
end

-- The urls the site's robots.txt (under root) disallows for user agent "*",
-- as gofr-dig reads it: {url = true}. get_structure refuses them with
-- ROBOTS_BLOCKED, so scenarios expect that outcome there.
local function robots_disallowed(root, urls)
  local set = {}
  local text = fs.read_file(root .. "/robots.txt")
  if not text then return set end
  local robots = robots_txt.parse(text)
  for _, url in ipairs(urls) do
    if not robots_txt.path_allowed(robots, url) then set[url] = true end
  end
  return set
end

--- Loopback hosts a fixture site is served under when asked for several
-- (serve_fixtures' opts.hosts): 127.0.0.1, 127.0.0.2, ...
M.MAX_FIXTURE_HOSTS = 16

-- The host index (1-based, of n) of page i: a recording's pages by site (one
-- host per site, in the recording's order, wrapping past n); other pages in
-- turn.
local function host_of(page, i, n, slugs)
  local slug = page:match("^([^/]+)/")
  local k = slug and slugs[slug]
  if k then return (k - 1) % n + 1 end
  return (i - 1) % n + 1
end

--- target.serve_fixtures(root, opts) -> site, urls: serves the fixture site
-- (default: the shipped one) for gofr-dig to fetch, bound to
-- $GOFR_DIG_FIXTURE_HOST and advertised in the URLs as
-- $GOFR_DIG_FIXTURE_EXTERNAL_HOST (both default 127.0.0.1: a remote
-- gofr-dig must be able to reach it). opts.port: the port (--fixtures-port;
-- default any free one). opts.hosts: serve it under that many loopback hosts
-- (127.0.0.1, 127.0.0.2, ...; at most M.MAX_FIXTURE_HOSTS), so a per-host
-- politeness delay applies per host as for real multi-site traffic; with a
-- recording, "sites" means one host per recorded site. Only when bound to
-- 127.0.0.1 (else one host). urls: when root has a meta.json (a recording),
-- every file of every site it lists, in its order; else every .html page,
-- sorted; spread over the hosts. A bad root is a usage error naming
-- --fixtures-dir. site.robots_disallowed: {url = true} for the urls its
-- robots.txt disallows; site.base_url: the first host's; site.base_urls: all.
-- Close with site.close().
function M.serve_fixtures(root, opts)
  opts = opts or {}
  root = root or sim.fixtures.default_root()
  local pages, _, msg = recorded_pages(root)
  local slugs, nsites = {}, 0
  if pages then
    for _, page in ipairs(pages) do
      local slug = page:match("^([^/]+)/")
      if slug and not slugs[slug] then nsites = nsites + 1; slugs[slug] = nsites end
    end
  else
    pages, _, msg = sim.fixtures.pages(root)
  end
  if not pages then cli.usage_error("--fixtures-dir: " .. msg) end
  if #pages == 0 then cli.usage_error("--fixtures-dir: no .html pages under " .. root) end
  local bind = env_or("GOFR_DIG_FIXTURE_HOST", "127.0.0.1")
  local external = env_or("GOFR_DIG_FIXTURE_EXTERNAL_HOST", bind)
  local nhosts = opts.hosts == "sites" and (nsites > 0 and nsites or 4) or opts.hosts or 1
  if bind ~= "127.0.0.1" or external ~= bind then nhosts = 1 end
  nhosts = math.max(1, math.min(nhosts, M.MAX_FIXTURE_HOSTS, #pages))
  local servers, bases = {}, {}
  local function close_all() for _, srv in ipairs(servers) do srv.close() end end
  for h = 1, nhosts do
    local host = h == 1 and bind or ("127.0.0." .. h)
    local port = opts.port -- the other hosts take the first one's port
    if h > 1 then port = servers[1].port end
    local srv, err_type
    srv, err_type, msg = sim.fixtures.serve { root = root, host = host, port = port }
    if not srv then
      close_all()
      error(("cannot start the fixture site on %s%s: %s (%s)"):format(host,
        opts.port and (" (--fixtures-port " .. opts.port .. ")") or "", msg, err_type), 0)
    end
    servers[h] = srv
    bases[h] = sim.server.base_url(h == 1 and external or host, srv.port)
  end
  local urls = {}
  for i, page in ipairs(pages) do urls[i] = bases[host_of(page, i, nhosts, slugs)] .. "/" .. page end
  local site = { port = servers[1].port, base_url = bases[1], base_urls = bases, close = close_all }
  site.robots_disallowed = robots_disallowed(root, urls)
  return site, urls
end

local Target = {}
Target.__index = Target

--- target.new(options, {tokens = {symbolic names}, twin_env = {GOFR_DIG_*},
--   twin = {twin.start options, e.g. housekeeping_interval}})
-- Called from a scenario's prepare: decides embedded vs remote, resolves the
-- tokens (usage errors exit 2). twin_env and twin configure the embedded
-- twin (a real server must be configured the same way by its operator).
function M.new(o, spec)
  spec = spec or {}
  local t = setmetatable({ options = o, twin_env = spec.twin_env or {}, twin_opts = spec.twin or {},
                           sessions = {} }, Target)
  t.embedded = not o.mcp_url
  if t.embedded then
    if o.token_source == "env" then
      cli.usage_error("--token-source env: the embedded twin accepts only the tokens minted for it; "
        .. "give --mcp-url to use tokens from the environment")
    end
    t.secret = core.uuid4() .. core.uuid4()
    o.embedded_twin = true
  elseif o.twin_faults then
    cli.usage_error("--twin-faults: only the embedded twin can be broken on purpose (no --mcp-url)")
  elseif o.fetch_delay or o.twin_port then
    cli.usage_error(("--%s: only for the embedded twin (no --mcp-url); configure a real gofr-dig "
      .. "with its own settings"):format(o.fetch_delay and "fetch-delay" or "twin-port"))
  end
  local faults, unknown = require("gofr_sim.twin").parse_faults(o.twin_faults)
  if not faults then cli.usage_error("--twin-faults: " .. unknown) end
  local map, err = tokens.for_names(spec.tokens or {}, o, t:mix_extra())
  if not map then cli.usage_error(err) end
  t.tokens = map
  return t
end

--- What the token resolver (gofr_sim.gofr_dig.tokens.for_run) needs to
-- mint a mix's tokens for the embedded twin (prepare's return value); nil
-- against a real server.
function Target:mix_extra()
  if not self.embedded then return nil end
  return { secret = self.secret, env = function() return nil end }
end

--- Starts the embedded twin (when there is no --mcp-url) and registers the
-- tokens; sets self.url (the MCP endpoint) and, for the twin, self.twin.
-- Call from setup(ctx).
function Target:start(ctx)
  local o = self.options
  if not self.embedded then
    self.url = o.mcp_url
    return self
  end
  local opts = { secret = self.secret, site = false, env = self.twin_env, faults = o.twin_faults,
                 port = o.twin_port }
  for k, v in pairs(self.twin_opts) do opts[k] = v end
  if o.fetch_delay then opts.fetch_delay = o.fetch_delay end -- the flag wins over the scenario's
  opts.fetch_delay = opts.fetch_delay or M.FETCH_DELAY
  local twin, err_type, msg = require("gofr_sim.twin").start(opts)
  if not twin then
    error(("cannot start the embedded twin%s: %s (%s)"):format(
      o.twin_port and (" on --twin-port " .. o.twin_port) or "", msg, err_type), 0)
  end
  twin.store:register_all(ctx and ctx.tokens or {})
  twin.store:register_all(self.tokens)
  self.twin, self.url = twin, twin.url
  o.mcp_url = twin.url
  return self
end

--- The note a run's summary gets when the embedded twin's politeness delay
-- took at least `share` (default 0.5) of the time of the run's MCP tool
-- calls (report rep): the latency measured is then mostly the delay, not the
-- server's work. nil otherwise, and against a real server.
function Target:fetch_delay_note(rep, share)
  local fetcher = self.twin and self.twin.fetcher
  if not fetcher or fetcher.politeness_seconds <= 0 then return nil end
  local calls = 0
  for tool, a in pairs(rep.metrics and rep.metrics.by_tool or {}) do
    if tool:find("^mcp%.") and type(a.mean_ms) == "number" then calls = calls + a.count * a.mean_ms / 1000 end
  end
  local waited = fetcher.politeness_seconds
  if calls <= 0 or waited < (share or 0.5) * calls then return nil end
  return ("the twin's per-host fetch delay (%gs, --fetch-delay) was %d%% of the tool calls' time "
    .. "(%.1fs of %.1fs waited over %d fetches): the latency measured is mostly that delay")
    :format(fetcher.delay, math.floor(math.min(waited / calls, 1) * 100 + 0.5), waited, calls,
            fetcher.politeness_waits)
end

--- An MCP session to the target (timeout: --timeout when the scenario has
-- it); calls made through it carry `token` (nil: anonymous). -> session |
-- nil, err_type, message. Sessions are closed by stop().
function Target:connect(token)
  local s, err_type, msg = sim.mcp.connect(self.url, { timeout = self.options.timeout })
  if not s then return nil, err_type, msg end
  self.sessions[#self.sessions + 1] = s
  if token == nil then return s end
  -- the session, with the token added to every call's options
  local function call(_, tool, args, opts)
    local o = { auth_token = token }
    for k, v in pairs(opts or {}) do o[k] = v end
    return s:call(tool, args, o)
  end
  return setmetatable({}, { __index = function(_, k)
    if k == "call" then return call end
    local v = s[k]
    if type(v) ~= "function" then return v end
    return function(_, ...) return v(s, ...) end
  end })
end

--- Closes the sessions and the embedded twin. Call from teardown.
function Target:stop()
  for _, s in ipairs(self.sessions) do pcall(s.close, s, { timeout = 2 }) end
  self.sessions = {}
  if self.twin then self.twin:close() end
  self.twin = nil
end

return M
