--- gofr_sim.twin: an in-process stand-in for gofr-dig (the twin), on the
-- engine's HTTP server; docs/twin.md.
--
--   sim.run(function()
--     local twin = assert(require("gofr_sim.twin").start { port = 0 })
--     local token = twin:mint { "apac" }            -- registered in its token store
--     local s = assert(sim.mcp.connect(twin.url))
--     print(s:call("get_content", { url = twin.site_url .. "/index.html",
--                                   parse_results = false, auth_token = token }).data.title)
--     twin:close()
--   end)
--
-- Configured like the real server by GOFR_DIG_* variables (read from
-- opts.env first, then the process environment, then M.TEST_STACK_ENV): GOFR_DIG_RATE_LIMIT_CALLS,
-- _WINDOW, GOFR_DIG_ALLOW_PRIVATE_URLS, GOFR_DIG_DATA_DIR, GOFR_DIG_NO_AUTH,
-- GOFR_DIG_JWT_SECRET, GOFR_DIG_BUILD_NUMBER, GOFR_DIG_WEB_URL/_WEB_PORT,
-- GOFR_DIG_MAX_STORAGE_MB and the housekeeper's.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local fs = require "gofr_sim.util.fs"
local tables = require "gofr_sim.util.tables"
local auth = require "gofr_sim.twin.auth"
local ratelimit = require "gofr_sim.twin.ratelimit"
local storage = require "gofr_sim.twin.storage"
local sessions = require "gofr_sim.twin.sessions"
local fetch = require "gofr_sim.twin.fetch"
local housekeeper = require "gofr_sim.twin.housekeeper"
local tools = require "gofr_sim.twin.tools"
local transport = require "gofr_sim.twin.transport"

local tonumber, tostring = tonumber, tostring

local M = {}

--- The signing secret of gofr-dig's test stack: the standalone twin's
-- default when no secret is configured, so tokens minted for the test stack
-- work against it.
M.TEST_STACK_SECRET = "test-secret-key-for-secure-testing-do-not-use-in-production"

local START_OPTIONS = {
  host = "string", port = "number", data_dir = "string", fixtures_dir = "string",
  site = "boolean", site_port = "number", env = "table", secret = "string", token_store = "string",
  fetch_delay = "number", retry_base = "number", housekeeping_interval = "number",
  log = "function", faults = "string", limits = "table",
}

--- Deliberate breakages, for proving that a scenario fails when the server
-- misbehaves (its specs run the scenario against a twin broken this way).
-- Never on unless asked: twin.start{faults = "a,b"} or GOFR_SIM_TWIN_FAULTS.
M.FAULTS = {
  groups_leak = "any token may read any group's session",
  list_all = "list_sessions returns every session to every caller",
  no_rate_limit = "the inbound rate limiter allows everything",
  accept_expired = "expired tokens are accepted",
  housekeeper_newest_first = "the housekeeper deletes the newest sessions first",
  housekeeper_noop = "the housekeeper deletes nothing",
  session_content_mismatch = "get_session's content differs from its chunks joined",
}

--- twin.parse_faults(text) -> {name = true, ...} | nil, message
-- The set of M.FAULTS named in text ("a,b", commas or blanks between; nil
-- names none), or nil and "unknown fault 'x' (known: a, b, ...)" for the
-- first name that is not one. twin.start and --twin-faults check with it.
function M.parse_faults(text)
  local set = {}
  for name in (text or ""):gmatch("[^,%s]+") do
    if not M.FAULTS[name] then
      return nil, ("unknown fault '%s' (known: %s)"):format(name,
        table.concat(tables.sorted_keys(M.FAULTS), ", "))
    end
    set[name] = true
  end
  return set
end

--- What gofr-dig's test stack exports (scripts/start-test-env.sh): the
-- twin's defaults for variables set neither in opts.env nor in the process
-- environment — the twin is a test stand-in, and its fixture site is on
-- 127.0.0.1.
M.TEST_STACK_ENV = { GOFR_DIG_ALLOW_PRIVATE_URLS = "true", GOFR_DIG_RATE_LIMIT_CALLS = "100000" }

local function env_reader(overrides)
  return function(name)
    local v = overrides and overrides[name]
    if v ~= nil then return tostring(v) end
    v = os.getenv(name)
    if v ~= nil then return v end
    return M.TEST_STACK_ENV[name]
  end
end

-- A positive integer from the environment, or the default (with a
-- warning naming the variable when the value is not one).
local function env_integer(env, name, default, log)
  local raw = env(name)
  if raw == nil or raw == "" then return default end
  local n = tonumber(raw)
  if not n or n < 1 or n ~= math.floor(n) then
    log("twin.config_invalid", { variable = name, value = raw, using = default })
    return default
  end
  return n
end

local function truthy(v)
  v = v and v:lower()
  return v == "1" or v == "true" or v == "yes"
end

-- Fresh data directories are "<tmp>/gofr-sim-twin.<pid>.<n>": the pid
-- tells a later run which ones a killed run left behind (sweep_stale_dirs).
local DIR_PREFIX = "gofr-sim-twin."
local made = 0 -- data directories made by this process

local function tmp_root()
  local t = os.getenv("TMPDIR")
  return (t and t ~= "") and t:gsub("/+$", "") or "/tmp"
end

-- Removes the data directories of twins whose process is gone (a SIGKILL
-- leaves no chance to clean up); those of live processes stay.
local function sweep_stale_dirs(root)
  for _, name in ipairs(core.fs_list(root) or {}) do
    local pid = name:sub(1, #DIR_PREFIX) == DIR_PREFIX and tonumber(name:match("^[^.]*%.(%d+)%.%d+$"))
    if pid and not core.process_alive(pid) then fs.remove_tree(root .. "/" .. name) end
  end
end

local function fresh_data_dir()
  local root = tmp_root()
  sweep_stale_dirs(root)
  made = made + 1
  return ("%s/%s%d.%d"):format(root, DIR_PREFIX, core.process_id(), made), true
end

local open_twins = setmetatable({}, { __mode = "k" }) -- twins with a data directory of their own

local Twin = {}
Twin.__index = Twin

--- twin:mint(groups, ttl) -> a token for these groups, registered in the
-- twin's store (ttl seconds, default 3600).
function Twin:mint(groups, ttl)
  local token = sim.jwt.mint { secret = self.secret, groups = groups, ttl = ttl or 3600 }
  self.store:register(token)
  return token
end

--- twin:close(): stops serving, the housekeeper and the keep-alive ticker;
-- removes the data directory when the twin made it.
function Twin:close()
  if self.closed then return end
  self.closed = true
  self.transport:close()
  self.server.close()
  if self.site then self.site.close() end
  if self.housekeeper then self.housekeeper:stop() end
  if self.own_data_dir then
    fs.remove_tree(self.data_dir)
    open_twins[self] = nil
  end
end

--- Removes the data directories of the twins of this process still open
-- (the executable calls it on its way out, whatever ended the run).
function M.remove_data_dirs()
  for twin in pairs(open_twins) do
    fs.remove_tree(twin.data_dir)
    open_twins[twin] = nil
  end
end

-- Keep-alive comments on open SSE streams, until the twin closes or the
-- run ends (a daemon: the twin never keeps a run going by itself).
local function start_ticker(twin)
  sim.daemon(function()
    while not twin.closed and sim.sleep(0.25) do
      twin.transport:keep_alive(core.now())
    end
  end)
end

-- The HTTP server's options: opts.limits (sim.server.LIMITS) over `base`.
local function with_limits(base, limits)
  return tables.copy(limits or {}, base)
end

-- The fixture site (opts.site_port, default any free port) | nil when
-- opts.site is false | nil, err_type, message when it cannot listen.
local function serve_site(opts)
  if opts.site == false then return nil end
  return sim.fixtures.serve(with_limits(
    { host = opts.host or "127.0.0.1", root = opts.fixtures_dir, port = opts.site_port or 0 },
    opts.limits))
end

--- twin.start(opts) -> twin | nil, err_type, message, part
-- opts: host ("127.0.0.1"), port (0: any free one), data_dir (default
-- $GOFR_DIG_DATA_DIR, else a fresh temporary directory removed at close),
-- site (true: also serve the fixture site from fixtures_dir), site_port
-- (the site's port; default 0, any free one), env (a table
-- of GOFR_DIG_* overrides), secret (default $GOFR_DIG_JWT_SECRET, else the
-- test stack's), token_store (a file shared with the minting process;
-- default in-process), fetch_delay (per-host politeness delay, default
-- 1 s), retry_base (backoff base of page fetch retries, default 1 s),
-- housekeeping_interval (seconds; default from the environment), log
-- (function(event, fields)), faults ("name,name": M.FAULTS; tests only),
-- limits (the HTTP servers' limits and timeouts, sim.server.LIMITS: for the
-- MCP endpoint and the site; max_body defaults to 8 MiB there).
-- Must be called inside sim.run; the twin serves while the loop runs.
-- When a listener cannot start, `part` says which: "mcp" (port) or "site"
-- (site_port); nothing the twin started is left open.
function M.start(opts)
  opts = opts or {}
  check.options("twin.start", opts, START_OPTIONS)
  local env = env_reader(opts.env)
  local log = opts.log or function() end
  local faults, unknown = M.parse_faults(opts.faults or env("GOFR_SIM_TWIN_FAULTS"))
  if not faults then error("twin: " .. unknown, 0) end
  local data_dir, own = opts.data_dir or env("GOFR_DIG_DATA_DIR"), false
  if not data_dir or data_dir == "" then data_dir, own = fresh_data_dir() end
  local store_dir = data_dir .. "/storage/sessions"
  local st, err_type, msg = storage.open(store_dir)
  if not st then return nil, err_type, ("twin: data directory %s: %s"):format(store_dir, msg) end

  local twin = setmetatable({
    data_dir = data_dir, own_data_dir = own, storage = st, faults = faults,
    secret = opts.secret or env("GOFR_DIG_JWT_SECRET") or M.TEST_STACK_SECRET,
    store = auth.store { file = opts.token_store },
  }, Twin)
  if own then open_twins[twin] = true end
  twin.auth = auth.new { secret = twin.secret, store = twin.store,
                         enabled = not truthy(env("GOFR_DIG_NO_AUTH")),
                         accept_expired = faults.accept_expired }
  twin.limiter = ratelimit.new {
    calls = env_integer(env, "GOFR_DIG_RATE_LIMIT_CALLS", 60, log),
    window = env_integer(env, "GOFR_DIG_RATE_LIMIT_WINDOW", 60, log),
    unlimited = faults.no_rate_limit,
  }
  twin.sessions = sessions.new(st, { groups_leak = faults.groups_leak, list_all = faults.list_all })
  twin.fetcher = fetch.new {
    allow_private = fetch.allow_private_from_env(env("GOFR_DIG_ALLOW_PRIVATE_URLS")),
    delay = opts.fetch_delay or 1.0, retry_base = opts.retry_base or 1.0,
    user_agent = "gofr-sim-twin/" .. sim._VERSION,
  }
  twin.state = {
    profile = "balanced", custom_headers = {}, rate_limit_delay = twin.fetcher.delay,
    max_response_chars = 400000, user_agent = twin.fetcher.user_agent,
  }
  twin.tools = tools.new {
    auth = twin.auth, limiter = twin.limiter, sessions = twin.sessions, fetcher = twin.fetcher,
    state = twin.state, env = env, build = env("GOFR_DIG_BUILD_NUMBER") or "0.unknown",
    content_mismatch = faults.session_content_mismatch,
  }
  twin.transport = transport.new { tools = twin.tools }

  local server, s_err, s_msg = sim.server.listen(with_limits({
    host = opts.host or "127.0.0.1", port = opts.port or 0, max_body = 8 * 1024 * 1024,
    handler = function(req, res) twin.transport:handle(req, res) end,
  }, opts.limits))
  if not server then return nil, s_err, s_msg, "mcp" end
  twin.server, twin.host, twin.port = server, server.host, server.port
  twin.url = server.url .. "/mcp/"
  local site, site_err, site_msg = serve_site(opts)
  if site_err then
    twin:close()
    return nil, site_err, "fixture site: " .. tostring(site_msg), "site"
  end
  twin.site = site
  twin.site_url = site and site.url
  if opts.housekeeping_interval or env("GOFR_DIG_HOUSEKEEPING_INTERVAL_MINS") then
    twin.housekeeper = housekeeper.start {
      storage_dir = store_dir, env = env, interval = opts.housekeeping_interval, log = log,
      fault = faults.housekeeper_newest_first and "newest_first"
        or faults.housekeeper_noop and "noop" or nil,
    }
  end
  start_ticker(twin)
  return twin
end

return M
