--- gofr_sim.twin.housekeeper: gofr-dig's size-based storage housekeeper
-- (app/housekeeper.py + storage_manager.prune_size) on the twin's session
-- store (docs/twin.md, "Housekeeper").
--
--   local hk = require "gofr_sim.twin.housekeeper"
--   local rc = hk.prune_size { storage_dir = dir, max_mb = 1024 }   -- 0, 1 or 2
--   local h = hk.start { storage_dir = dir }    -- a persona: prune, sleep, repeat
--   ...
--   h:stop()
--
-- prune_size deletes the oldest sessions (by created_at, then guid, then
-- size) until the sum of the metadata sizes is at most max_mb MiB, under the
-- lock file <storage_dir>/.prune_size.lock. Return codes: 0 done, nothing to
-- do or empty; 1 invalid max_mb or stale_seconds, target unmet or a failure;
-- 2 lock busy. Every step calls log(event, fields, level) with the real
-- event names and fields ("storage_manager.prune.*", "housekeeper.*");
-- level is "info", "warning" or "error".
local core = require "gofr_sim.core"
local check = require "gofr_sim.engine.check"
local storage = require "gofr_sim.twin.storage"

local type, tostring, tonumber, pcall, ipairs = type, tostring, tonumber, pcall, ipairs
local floor, max, min, huge = math.floor, math.max, math.min, math.huge
local sort = table.sort

local M = {}

local LOCK = ".prune_size.lock"
local MIB = 1024 * 1024
local SLEEP_SLICE = 0.25   -- seconds: how soon a stopped housekeeper notices

local function noop() end

local function wall_now()
  local sec, usec = core.fs_now()
  return sec + usec / 1e6
end

local function pid()
  local f = io.open("/proc/self/stat", "r")
  if not f then return 0 end
  local n = f:read("*n")
  f:close()
  return n or 0
end

-- Takes the lock: true | false (busy) | nil, err_type, message when it
-- cannot even be tried (the directory is missing, ...). A lock older than
-- stale seconds is removed and taken over.
local function acquire_lock(path, stale, log)
  local now = wall_now()
  local content = ("pid=%d started_at=%d\n"):format(pid(), floor(now))
  local created, err_type, msg = core.fs_create_excl(path, content)
  if created ~= false then return created, err_type, msg end
  -- it exists: take it over when stale; `why` is the failure of doing so
  local st, _, why = core.fs_stat(path)
  if st and now - st.mtime > stale then
    log("housekeeper.lock_stale",
        { lock_path = path, age_seconds = now - st.mtime, stale_seconds = stale }, "warning")
    local removed
    removed, err_type, why = core.fs_remove(path)
    if removed or err_type == "not_found" then
      created, _, why = core.fs_create_excl(path, content)
      if created then return true end
      why = why or (path .. ": File exists")
    end
  end
  if why then
    log("housekeeper.lock_check_failed", { lock_path = path, error = why }, "warning")
  end
  log("housekeeper.lock_busy", { lock_path = path }, "warning")
  return false
end

-- Bytes of the blobs "<guid>.*" of a guid that lost its metadata entry.
local function orphan_size(dir, guid)
  local total, prefix = 0, guid .. "."
  for _, name in ipairs(core.fs_list(dir) or {}) do
    if name:sub(1, #prefix) == prefix then
      local st = core.fs_stat(dir .. "/" .. name)
      total = total + (st and st.size or 0)
    end
  end
  return total
end

local function older(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  if a[2] ~= b[2] then return a[2] < b[2] end
  return a[3] < b[3]
end

-- The prune itself, with the lock held: rc | nil, err_type, message.
local function prune_locked(dir, max_mb, log, fault)
  local st, err_type, msg = storage.open(dir)
  if not st then return nil, err_type, msg end
  local guids = st:list()
  if #guids == 0 then
    log("storage_manager.prune.empty_storage", { storage_dir = dir }, "info")
    return 0
  end
  local items, total, anomalies, anomaly_bytes = {}, 0, 0, 0
  for _, guid in ipairs(guids) do
    local meta = st:meta(guid)
    if meta then
      local size = type(meta.size) == "number" and meta.size or 0
      local created = type(meta.created_at) == "string" and meta.created_at or ""
      items[#items + 1] = { created, guid, size }
      total = total + size
    else                                  -- removed by someone else meanwhile
      local size = orphan_size(dir, guid)
      anomalies, anomaly_bytes, total = anomalies + 1, anomaly_bytes + size, total + size
      log("housekeeper.metadata_missing",
          { guid = guid, estimated_size = size, storage_dir = dir }, "warning")
    end
  end
  sort(items, older)
  if fault == "newest_first" then          -- a deliberately broken twin (scenario specs)
    for i = 1, floor(#items / 2) do
      local j = #items - i + 1
      items[i], items[j] = items[j], items[i]
    end
  elseif fault == "noop" then
    items = {}
  end

  local target = max_mb * MIB
  local current_mb = total / MIB
  log("storage_manager.prune.check", {
    current_mb = current_mb, target_mb = max_mb, item_count = #guids, anomalies = anomalies,
    anomaly_mb = anomaly_bytes / MIB, storage_dir = dir }, "info")
  log("storage_manager.prune.usage",
      { storage_dir = dir, current_mb = current_mb, target_mb = max_mb }, "info")
  if total <= target then
    log("storage_manager.prune.noop",
        { storage_dir = dir, current_mb = current_mb, target_mb = max_mb }, "info")
    return 0
  end
  log("storage_manager.prune.started",
      { storage_dir = dir, current_mb = current_mb, target_mb = max_mb }, "info")

  local deleted_count, deleted_bytes = 0, 0
  for _, item in ipairs(items) do
    if total <= target then break end
    local created, guid, size = item[1], item[2], item[3]
    local ok, why
    ok, err_type, why = st:delete(guid)
    if ok then
      total, deleted_bytes, deleted_count = total - size, deleted_bytes + size, deleted_count + 1
      log("storage_manager.prune.deleted", { guid = guid, size = size, created = created }, "info")
    elseif err_type ~= "not_found" then
      log("storage_manager.prune.delete_failed", { guid = guid, error = why }, "error")
    end
  end

  local final_mb = total / MIB
  log("storage_manager.prune.completed", {
    deleted_count = deleted_count, freed_mb = deleted_bytes / MIB, final_mb = final_mb,
    storage_dir = dir }, "info")
  log("storage_manager.prune.summary", {
    item_count = #guids, deleted_count = deleted_count, freed_mb = deleted_bytes / MIB,
    final_mb = final_mb, target_mb = max_mb, anomalies = anomalies, exit_code = 0 }, "info")
  if total > target then
    log("storage_manager.prune.target_unmet", {
      final_mb = final_mb, target_mb = max_mb, remaining_bytes = total - target,
      anomalies = anomalies, exit_code = 1 }, "warning")
    return 1
  end
  return 0
end

local function failed(log, dir, max_mb, err, cause)
  log("storage_manager.prune.failed",
      { error = err, cause = cause, storage_dir = dir, max_mb = max_mb }, "error")
  return 1
end

local PRUNE_OPTIONS = {
  storage_dir = "string", max_mb = "number", stale_seconds = "number", log = "function",
  fault = "string",
}

--- hk.prune_size{storage_dir=, max_mb=, stale_seconds=3600, log=, fault=} -> 0 | 1 | 2
-- fault (tests of the scenarios only): "newest_first" deletes the newest
-- sessions first, "noop" deletes nothing.
-- storage_dir is the directory holding metadata.json (the twin's sessions
-- live in <GOFR_DIG_DATA_DIR>/storage/sessions). max_mb may be fractional.
-- Like the real one, a run that finds the lock busy still removes the lock
-- file on its way out (Python's `finally`), so the next run goes ahead.
function M.prune_size(opts)
  local fname = "housekeeper.prune_size"
  check.options(fname, opts, PRUNE_OPTIONS)
  if not opts.storage_dir or opts.storage_dir == "" then
    check.fail(fname, "option 'storage_dir' is required (a directory path)")
  end
  if not opts.max_mb then check.fail(fname, "option 'max_mb' is required (MiB)") end
  local dir, max_mb, log = opts.storage_dir, opts.max_mb, opts.log or noop
  local stale = opts.stale_seconds or 3600
  stale = stale >= 0 and floor(stale) or -floor(-stale)          -- Python int()

  if max_mb ~= max_mb or max_mb == huge or max_mb <= 0 then
    log("storage_manager.prune.validation_failed",
        { reason = "invalid_max_mb", max_mb = max_mb, storage_dir = dir }, "warning")
    return 1
  end
  if stale <= 0 then
    log("storage_manager.prune.validation_failed", {
      reason = "invalid_lock_stale_seconds", lock_stale_seconds = stale, storage_dir = dir },
      "warning")
    return 1
  end

  local lock_path = dir .. "/" .. LOCK
  local acquired, err_type, msg = acquire_lock(lock_path, stale, log)
  if acquired == nil then return failed(log, dir, max_mb, msg, err_type) end
  local ok, rc = true, 2
  if acquired then
    ok, rc, err_type, msg = pcall(prune_locked, dir, max_mb, log, opts.fault)
  else
    log("storage_manager.prune.lock_busy", { lock_path = lock_path, storage_dir = dir }, "warning")
  end
  core.fs_remove(lock_path)
  if not ok then return failed(log, dir, max_mb, tostring(rc), "lua_error") end
  if rc == nil then return failed(log, dir, max_mb, msg, err_type) end
  return rc
end

-- Python's int() of an environment value: blanks around, a sign, digits
-- with single underscores between them. nil when it is not one.
local function parse_int(raw)
  local s = raw:match("^%s*(.-)%s*$")
  local sign, digits = s:match("^([+-]?)(%d[%d_]*)$")
  if not digits or digits:find("__", 1, true) or digits:sub(-1) == "_" then return nil end
  local v = tonumber((digits:gsub("_", "")))
  return sign == "-" and -v or v
end

-- _parse_positive_int_env: unset or blank -> default; not an integer or
-- below minimum -> default and a housekeeper.invalid_env warning.
local function env_int(env, log, name, default, minimum)
  local raw = env(name)
  if raw == nil or raw:match("^%s*$") then return default end
  local v = parse_int(raw)
  if v and v >= minimum then return v end
  log("housekeeper.invalid_env",
      { variable = name, provided_value = raw, default_value = default }, "warning")
  return default
end

local START_OPTIONS = {
  storage_dir = "string", env = "function", interval = "number", log = "function",
  fault = "string",
}

-- One cycle of the loop; returns the seconds to sleep. As in the real loop,
-- a raise anywhere from cycle_start to cycle_ok (the log included) is
-- logged as housekeeper.cycle_failed.
local function cycle(o)
  local interval_mins = env_int(o.env, o.log, "GOFR_DIG_HOUSEKEEPING_INTERVAL_MINS", 60, 1)
  local max_mb = env_int(o.env, o.log, "GOFR_DIG_MAX_STORAGE_MB", 1024, 1)
  local ok, err = pcall(function()
    o.log("housekeeper.cycle_start",
          { interval_mins = interval_mins, max_mb = max_mb, storage_dir = o.storage_dir }, "info")
    local stale = env_int(o.env, o.log, "GOFR_DIG_HOUSEKEEPER_LOCK_STALE_SECONDS", 3600, 30)
    local rc = M.prune_size { storage_dir = o.storage_dir, max_mb = max_mb,
                              stale_seconds = stale, log = o.log, fault = o.fault }
    if rc ~= 0 then
      o.log("housekeeper.cycle_nonzero", { status = rc }, "warning")
    else
      o.log("housekeeper.cycle_ok", {}, "info")
    end
  end)
  if not ok then
    o.log("housekeeper.cycle_failed", { error = tostring(err), cause = "lua_error" }, "error")
  end
  local sleep_seconds = o.interval or max(1, interval_mins * 60)
  o.log("housekeeper.sleep", { sleep_seconds = sleep_seconds, interval_mins = interval_mins }, "info")
  return sleep_seconds
end

local Handle = {}
Handle.__index = Handle

--- h:stop(): the housekeeper ends at its next wake-up (within 0.25 s, or
-- after the cycle under way). Called from another persona, it waits for
-- that; called from the housekeeper itself (its log), it returns at once.
function Handle:stop()
  self.stopped = true
  local status = self.persona:status()
  if core.in_persona() and (status == "ready" or status == "waiting") then
    core.join(self.persona)
  end
end

--- hk.start{storage_dir=, env=os.getenv, interval=nil, log=} -> handle
-- Starts a daemon persona (it does not keep a run going) that runs one
-- cycle at once, then sleeps and repeats until h:stop() or the end of the
-- run. Each cycle reads
-- GOFR_DIG_HOUSEKEEPING_INTERVAL_MINS (default 60), GOFR_DIG_MAX_STORAGE_MB
-- (default 1024) and GOFR_DIG_HOUSEKEEPER_LOCK_STALE_SECONDS (default 3600,
-- at least 30) through env(name); interval (seconds, fractions allowed)
-- replaces the sleep of interval_mins * 60.
function M.start(opts)
  local fname = "housekeeper.start"
  check.options(fname, opts, START_OPTIONS)
  if not opts.storage_dir or opts.storage_dir == "" then
    check.fail(fname, "option 'storage_dir' is required (a directory path)")
  end
  if opts.interval and not (opts.interval > 0 and opts.interval < huge) then
    check.fail(fname, "option 'interval' must be a positive number of seconds")
  end
  local o = { storage_dir = opts.storage_dir, env = opts.env or os.getenv,
              interval = opts.interval, log = opts.log or noop, fault = opts.fault }
  local handle = setmetatable({ stopped = false }, Handle)
  handle.persona = core.daemon(core.spawn(function()
    while not handle.stopped do
      local deadline = core.now() + cycle(o)
      while not handle.stopped do
        local left = deadline - core.now()
        if left <= 0 then break end
        if not core.sleep(min(left, SLEEP_SLICE)) then return end   -- the run is stopping
      end
    end
  end))
  return handle
end

return M
