--- housekeeping: proves gofr-dig's storage housekeeper (contract §7, §8).
--
--   gofr-sim scenarios/housekeeping.lua                  # embedded twin: 1 MiB, a cycle every 3 s
--   gofr-sim scenarios/housekeeping.lua --mcp-url http://127.0.0.1:8070/mcp --token-source env \
--     --max-storage-mb 1 --housekeeping-interval 60
--
-- Writer personas (apac, emea, us, anonymous, ...) create sessions
-- concurrently — get_content with session=true and a crawl --depth deep, so
-- each session is tens of KB — until the sessions total --fill times the
-- limit (GOFR_DIG_MAX_STORAGE_MB). Then the scenario waits for a
-- housekeeper cycle and checks: the storage total comes back to at most the
-- limit; the sessions the real prune removes (oldest first by created_at,
-- until the total is at or below the limit, computed from list_sessions
-- when the limit was passed) are SESSION_NOT_FOUND; the others remain with
-- their size and content intact (get_session equals its chunks joined);
-- nothing deleted is newer than anything kept. The time from passing the
-- limit to the pruned storage is the metric `housekeeping.prune`.
--
-- First it calls set_antidetection{profile = "balanced", rate_limit_delay =
-- 0} (a real gofr-dig tool; process-global) so the crawls are not slowed by
-- the 1 s per-host politeness delay, and once the writers are done it sets
-- the delay back to gofr-dig's default, 1 s. The embedded twin is started with
-- GOFR_DIG_MAX_STORAGE_MB = --max-storage-mb and its housekeeper every
-- --housekeeping-interval seconds; a real server's housekeeper must run
-- with the same settings, its storage must be otherwise quiet, and its
-- rate limit must allow a few hundred calls. Exit 1 when a check fails.
local sim = require "gofr_sim"
local target = require "gofr_sim.gofr_dig.target"
local tokens = require "gofr_sim.gofr_dig.tokens"

local type, tostring, tonumber, ipairs, pairs = type, tostring, tonumber, ipairs, pairs
local sort, concat = table.sort, table.concat

local MIB = 1024 * 1024
local POLL = 0.2                 -- seconds between list_sessions polls
local MAX_ROUNDS = 3             -- fill rounds (a cycle may prune while writers write)
local MAX_FAILURES = 10          -- consecutive failed creations that stop the writers
-- writer i uses WRITER_TOKENS[(i - 1) % 4 + 1]; false: anonymous
local WRITER_TOKENS = { "token_apac", "token_emea", "token_us", false }

local tgt -- the gofr-dig of this run, made by prepare

-- Storage as list_sessions shows it ---------------------------------------------

-- All sessions (an anonymous caller lists every group's): -> {sessions =
-- {{id, created_at, size}}, bytes = total} or nil, what failed.
local function snapshot(client)
  local r = client:call("list_sessions", {})
  if not r.ok or type(r.data) ~= "table" or type(r.data.sessions) ~= "table" then
    return nil, "list_sessions: " .. tostring(r.error_code or r.error_type or "no sessions list")
  end
  local snap = { sessions = {}, bytes = 0 }
  for _, info in ipairs(r.data.sessions) do
    local size = tonumber(info.total_size_bytes) or 0
    snap.sessions[#snap.sessions + 1] = { id = info.session_id, created_at = tostring(info.created_at),
                                          size = size }
    snap.bytes = snap.bytes + size
  end
  return snap
end

-- The real prune on a snapshot: oldest first by (created_at, id) until the
-- total is at most the limit. -> set of ids it deletes.
local function expected_deletions(snap, limit)
  local items = {}
  for i, s in ipairs(snap.sessions) do items[i] = s end
  sort(items, function(a, b)
    if a.created_at ~= b.created_at then return a.created_at < b.created_at end
    return a.id < b.id
  end)
  local gone, total = {}, snap.bytes
  for _, s in ipairs(items) do
    if total <= limit then break end
    gone[s.id] = true
    total = total - s.size
  end
  return gone
end

-- Writers --------------------------------------------------------------------------

-- One writer persona: creates sessions until the shared goal is met.
local function writer(shared, client, name)
  while shared.bytes < shared.goal and shared.failures < MAX_FAILURES do
    local r = client:call("get_content", shared.args)
    local d = type(r.data) == "table" and r.data or {}
    if r.ok and type(d.session_id) == "string" then
      shared.failures = 0
      shared.created[#shared.created + 1] = { id = d.session_id, created_at = d.created_at,
                                              size = d.total_size, writer = name }
      shared.bytes = shared.bytes + (tonumber(d.total_size) or 0)
      if not shared.t_passed and shared.bytes > shared.limit then shared.t_passed = sim.now() end
    else
      shared.failures = shared.failures + 1
      shared.last_failure = tostring(r.error_code or r.error_type) .. ": " .. tostring(r.message)
    end
  end
end

-- One round: o.writers personas write concurrently until storage holds
-- fill x limit (from `base` bytes already stored).
local function fill_round(shared, clients, base)
  shared.bytes, shared.t_passed, shared.failures = base, nil, 0
  local handles = {}
  for i, c in ipairs(clients) do handles[i] = sim.spawn(writer, shared, c.client, c.name) end
  for _, h in ipairs(handles) do
    local ok, err_type, msg = sim.wait(h)
    if ok == nil and err_type then shared.last_failure = err_type .. ": " .. tostring(msg) end
  end
end

-- Fills storage past the limit; a cycle that prunes meanwhile can bring it
-- back under, so fill again (at most MAX_ROUNDS). -> the snapshot once past
-- the limit (or the last one), or nil, what failed.
local function fill(shared, clients, reader)
  local snap, why
  for _ = 1, MAX_ROUNDS do
    snap, why = snapshot(reader)
    if not snap then return nil, why end
    if snap.bytes > shared.limit and shared.t_passed then return snap end
    fill_round(shared, clients, snap.bytes)
    if shared.failures >= MAX_FAILURES then return nil, "session creation fails: " .. shared.last_failure end
  end
  snap, why = snapshot(reader)
  return snap, why
end

-- Checks ---------------------------------------------------------------------------

local function check_antidetection(client, delay, name)
  local r = client:call("set_antidetection", { profile = "balanced", rate_limit_delay = delay })
  local d = type(r.data) == "table" and r.data or {}
  if name then
    local seen = r.ok and ("rate_limit_delay=%s"):format(tostring(d.rate_limit_delay))
      or tostring(r.error_code or r.error_type)
    sim.check(r.ok and d.rate_limit_delay == delay, name, seen)
  end
end

-- Polls until the sessions total at most the limit; -> the snapshot then
-- (or the last one at the deadline), and the time it was seen.
local function wait_for_prune(reader, limit, deadline)
  local snap
  repeat
    snap = snapshot(reader)
    if snap and snap.bytes <= limit then return snap, sim.now() end
  until sim.now() >= deadline or not sim.sleep(POLL)
  return snap, nil
end

local function mb(bytes) return ("%.2f MiB"):format(bytes / MIB) end

-- Ours that the prune should delete are SESSION_NOT_FOUND.
local function check_oldest_gone(reader, ours, gone)
  local want, seen, first_bad = 0, 0, nil
  for _, s in ipairs(ours) do
    if gone[s.id] then
      want = want + 1
      local r = reader:call("get_session_info", { session_id = s.id })
      if r.error_code == "SESSION_NOT_FOUND" then
        seen = seen + 1
      else
        first_bad = first_bad or ("%s (created %s): %s"):format(s.id, tostring(s.created_at),
          r.ok and "still there" or tostring(r.error_code or r.error_type))
      end
    end
  end
  sim.check(want > 0 and seen == want, "the oldest sessions are gone (SESSION_NOT_FOUND)",
    ("%d of %d gone"):format(seen, want) .. (first_bad and ("; first kept: " .. first_bad) or ""))
end

local function outcome_of(r) return tostring(r.error_code or r.error_type or "not a string") end

-- A session that should remain: its size as created, and get_session's
-- content equal to its chunks joined. -> nil when intact, else why not.
local function not_intact(reader, s)
  local r = reader:call("get_session", { session_id = s.id })
  if not r.ok then return tostring(r.error_code or r.error_type) end
  local d = r.data
  if d.total_size_bytes ~= s.size then
    return ("size %s, created with %s"):format(tostring(d.total_size_bytes), tostring(s.size))
  end
  local parts = {}
  for i = 0, (tonumber(d.total_chunks) or 0) - 1 do
    local c = reader:call("get_session_chunk", { session_id = s.id, chunk_index = i })
    if not c.ok or type(c.data) ~= "string" then return ("chunk %d: %s"):format(i, outcome_of(c)) end
    parts[#parts + 1] = c.data
  end
  if concat(parts) ~= d.content then return "content differs from its chunks joined" end
  return nil
end

-- Ours that the prune should keep remain, intact (those a cycle pruned
-- while the writers wrote, `early`, are check_order's to judge).
local function check_newest_intact(reader, ours, gone, early)
  local want, ok, first_bad = 0, 0, nil
  for _, s in ipairs(ours) do
    if not gone[s.id] and not early[s.id] then
      want = want + 1
      local why = not_intact(reader, s)
      if why then first_bad = first_bad or ("%s (created %s): %s"):format(s.id, tostring(s.created_at), why)
      else ok = ok + 1 end
    end
  end
  sim.check(want > 0 and ok == want, "the newest sessions remain, with their size and content intact",
    ("%d of %d intact"):format(ok, want) .. (first_bad and ("; first not: " .. first_bad) or ""))
end

-- Whatever was deleted, nothing deleted is newer than anything kept.
local function check_order(ours, after)
  local present = {}
  for _, s in ipairs(after and after.sessions or {}) do present[s.id] = true end
  local newest_gone, oldest_kept = nil, nil
  for _, s in ipairs(ours) do
    local at = tostring(s.created_at)
    if present[s.id] then
      if not oldest_kept or at < oldest_kept then oldest_kept = at end
    elseif not newest_gone or at > newest_gone then
      newest_gone = at
    end
  end
  sim.check(not (newest_gone and oldest_kept) or newest_gone < oldest_kept,
    "the housekeeper deletes oldest first: every deleted session is older than every kept one",
    ("newest deleted %s, oldest kept %s"):format(newest_gone or "none", oldest_kept or "none"))
end

-- Sessions ---------------------------------------------------------------------------

-- The writers' and the reader's clients: -> writers, reader or nil, what failed.
local function connect_all(n)
  local writers = {}
  for i = 1, n do
    local token_name = WRITER_TOKENS[(i - 1) % #WRITER_TOKENS + 1]
    local name = token_name and token_name:gsub("^token_", "") or "anonymous"
    local c, err_type, msg = tgt:connect(token_name and tgt.tokens[token_name] or nil)
    if not c then return nil, ("%s: %s: %s"):format(name, tostring(err_type), tostring(msg)) end
    writers[i] = { client = c, name = name }
  end
  local reader, err_type, msg = tgt:connect(nil)
  if not reader then return nil, ("reader: %s: %s"):format(tostring(err_type), tostring(msg)) end
  return writers, reader
end

local function writers_text(created)
  local by = {}
  for _, s in ipairs(created) do by[s.writer] = (by[s.writer] or 0) + 1 end
  local parts = {}
  for name, n in pairs(by) do parts[#parts + 1] = name .. " " .. n end
  sort(parts)
  return concat(parts, ", ")
end

local function run_checks(ctx)
  local o = ctx.options
  local limit = o.max_storage_mb * MIB
  local writers, reader = connect_all(o.writers)
  sim.check(writers ~= nil, "every client connects to gofr-dig", writers and "connected" or reader)
  if not writers then return end
  check_antidetection(reader, 0, 'set_antidetection{profile="balanced", rate_limit_delay=0} is accepted')

  local shared = {
    limit = limit, goal = limit * o.fill, created = {}, failures = 0,
    args = { url = ctx.start_url, session = true, parse_results = false, depth = o.depth,
             max_pages_per_level = 20 },
  }
  local before, why = fill(shared, writers, reader)
  check_antidetection(reader, 1) -- the writers are done: gofr-dig's default politeness delay again
  local passed = before ~= nil and before.bytes > limit
  sim.check(passed, ("storage passes the limit (%d MiB)"):format(o.max_storage_mb), before
    and ("%s in %d sessions (%d ours: %s)"):format(mb(before.bytes), #before.sessions, #shared.created,
      writers_text(shared.created)) or why)
  if not passed then return end
  local t_passed = shared.t_passed or sim.now()
  local gone = expected_deletions(before, limit)
  -- ours a cycle pruned while the writers wrote are not in the snapshot:
  -- whether they were the oldest is check_order's question (counting them
  -- as expected deletions would let a newest-first prune pass as one)
  local listed, early = {}, {}
  for _, s in ipairs(before.sessions) do listed[s.id] = true end
  for _, s in ipairs(shared.created) do
    if not listed[s.id] then early[s.id] = true end
  end

  -- a cycle comes at most one interval after the limit is passed; allow
  -- three (a cycle that found the lock busy, a slow server)
  local timeout = 3 * o.housekeeping_interval
  local after, t_pruned = wait_for_prune(reader, limit, t_passed + timeout)
  if t_pruned then
    sim.metrics.record("housekeeping.prune", t_pruned - t_passed, { max_mb = o.max_storage_mb })
  end
  sim.check(t_pruned ~= nil,
    ("a housekeeper cycle prunes within 3 x the interval (%gs) of the limit being passed"):format(timeout),
    t_pruned and ("pruned %.2fs after the limit was passed"):format(t_pruned - t_passed)
      or ("still over the limit %.2fs after it was passed"):format(sim.now() - t_passed))
  sim.check(after ~= nil and after.bytes <= limit, "after the cycle the sessions total at most the limit",
    after and ("%s of %s (%d of %d bytes)"):format(mb(after.bytes), mb(limit), after.bytes, limit)
      or "no list")
  check_oldest_gone(reader, shared.created, gone)
  check_newest_intact(reader, shared.created, gone, early)
  check_order(shared.created, after)
end

return {
  name = "housekeeping",
  description = "gofr-dig's storage housekeeper: past the size limit, the oldest sessions go",
  tokens = tokens.resolver, -- --token-source, --jwt-secret-file, --token-store (target.new)
  flags = target.with_flags {
    max_storage_mb = { type = "integer", min = 1, default = 1,
      help = "the storage limit in MiB (the embedded twin's GOFR_DIG_MAX_STORAGE_MB; a real one's)" },
    housekeeping_interval = { type = "number", above = 0, default = 3,
      help = "seconds between housekeeper cycles (the embedded twin's; a real one's bounds the wait)" },
    writers = { type = "integer", min = 1, default = 4, help = "personas creating sessions side by side" },
    fill = { type = "number", above = 1, default = 1.5, help = "fill storage to this many times the limit" },
    depth = { type = "integer", min = 1, default = 2,
      help = "crawl depth of each get_content (1-3): bigger sessions, fewer calls" },
    fixtures_port = target.FIXTURES_PORT_FLAG,
    fixtures_dir = { type = "string", help = "the site crawled (default fixtures/html)" },
    timeout = { type = "duration", default = 30, above = 0, help = "per connect and per tool call" },
  },

  prepare = function(o)
    if o.depth > 3 then
      require("gofr_sim.util.flags").usage_error(("--depth must be 1, 2 or 3, got %d"):format(o.depth))
    end
    tgt = target.new(o, {
      tokens = { "token_apac", "token_emea", "token_us" },
      twin_env = { GOFR_DIG_MAX_STORAGE_MB = tostring(o.max_storage_mb) },
      twin = { housekeeping_interval = o.housekeeping_interval },
    })
    return tgt:mix_extra()
  end,

  setup = function(ctx)
    local site, urls = target.serve_fixtures(ctx.options.fixtures_dir,
      { port = ctx.options.fixtures_port })
    local start_url = urls[1]
    for _, u in ipairs(urls) do
      if u == site.base_url .. "/index.html" then start_url = u end
    end
    local ok, err = pcall(tgt.start, tgt, ctx)
    if not ok then site.close(); error(err, 0) end
    return { site = site, start_url = start_url }
  end,

  check = run_checks, -- once; a raise fails "the checks ran to the end"

  teardown = function(ctx)
    if tgt then tgt:stop() end
    if ctx.site then ctx.site.close() end
  end,
}
