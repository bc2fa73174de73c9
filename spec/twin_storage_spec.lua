-- The twin's session store and housekeeper: the FileStorage layout byte for
-- byte (metadata.json as Python's json.dump(indent=2) writes it), reading
-- what another writer left, prune_size (oldest first, noop, empty, lock
-- busy and stale, validation, target unmet, failure) and the housekeeper
-- loop pruning while sessions arrive.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local json = require "gofr_sim.util.json"
local storage = require "gofr_sim.twin.storage"
local hk = require "gofr_sim.twin.housekeeper"
local support = require "support"

local q = support.shell_quote


local spit, sh, exists = support.write_file, support.sh_ok, support.exists

-- A fresh directory name under /tmp (not created).
local function temp_dir() return support.temp_path(".gs-storage") end

-- A log function that records events, and its record.
local function recorder()
  local events = {}
  return function(event, fields, level)
    events[#events + 1] = { event = event, fields = fields, level = level }
  end, events
end

local function names(events)
  local out = {}
  for i, e in ipairs(events) do out[i] = e.event end
  return out
end

local function find(events, name)
  for _, e in ipairs(events) do
    if e.event == name then return e end
  end
end

local G = {
  "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
  "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444",
}

-- metadata.json as gofr-common writes it for entries {guid, size, created_at}.
local function python_metadata(entries)
  if #entries == 0 then return "{}" end
  local parts = {}
  for i, e in ipairs(entries) do
    parts[i] = ('  "%s": {\n    "format": "json",\n    "size": %d,\n    "created_at": "%s",\n'
      .. '    "url": "https://example.com/%s",\n    "chunk_size": 4000,\n    "total_chunks": 1,\n'
      .. '    "total_chars": %d\n  }'):format(e[1], e[2], e[3], e[1], e[2])
  end
  return "{\n" .. table.concat(parts, ",\n") .. "\n}"
end

-- Writes metadata.json and the blobs for entries {guid, size, created_at}.
local function populate(dir, entries)
  assert(core.fs_mkdirs(dir))
  for _, e in ipairs(entries) do spit(dir .. "/" .. e[1] .. ".json", ("x"):rep(e[2])) end
  spit(dir .. "/metadata.json", python_metadata(entries))
end

describe("twin storage", function()
  local dir
  before_each(function() dir = temp_dir() .. "/storage/sessions" end)
  after_each(function()
    os.execute("rm -rf " .. q(dir:gsub("/storage/sessions$", "")))
    support.assert_clean()
  end)

  it("prints created_at as Python's datetime.utcnow().isoformat()", function()
    local before = os.date("!%Y-%m-%dT%H:%M:%S")
    local iso = storage.utcnow_iso()
    local after = os.date("!%Y-%m-%dT%H:%M:%S")
    assert.truthy(iso:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d%.%d%d%d%d%d%d$")
      or iso:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d$"))   -- no fraction at .000000
    assert.is_true(iso:sub(1, 19) >= before and iso:sub(1, 19) <= after)
  end)

  it("creates the directory and an empty metadata.json, as FileStorage does", function()
    local st = assert(storage.open(dir))
    assert.are.equal("{}", support.read_file(dir .. "/metadata.json"))
    assert.are.same({}, st:list())
    assert.are.equal(0, st:total_size())
    -- opening again does not touch an existing metadata.json
    spit(dir .. "/metadata.json", python_metadata { { G[1], 3, "2026-01-01T00:00:00.000001" } })
    local again = assert(storage.open(dir))
    assert.are.same({ G[1] }, again:list())
  end)

  it("writes the blob and metadata.json byte for byte as gofr-common does", function()
    local st = assert(storage.open(dir))
    local content = '{"text": "caf\195\169"}'
    assert.is_true(st:save(G[2], content, {
      group = "apac", url = "https://example.com/caf\195\169?q=1&r=/x", chunk_size = 4000,
      total_chunks = 1, total_chars = 20 }))
    assert.is_true(st:save(G[1], "hello", {
      url = "http://127.0.0.1:8080/", chunk_size = 2, total_chunks = 3, total_chars = 5 }))
    assert.are.equal(content, support.read_file(dir .. "/" .. G[2] .. ".json"))
    assert.are.equal("hello", support.read_file(dir .. "/" .. G[1] .. ".json"))

    local c1, c2 = st:meta(G[2]).created_at, st:meta(G[1]).created_at
    assert.is_true(c1 <= c2)
    local expected = table.concat({
      "{",
      '  "' .. G[2] .. '": {',
      '    "format": "json",',
      '    "size": 17,',
      '    "created_at": "' .. c1 .. '",',
      '    "group": "apac",',
      '    "url": "https://example.com/caf\\u00e9?q=1&r=/x",',
      '    "chunk_size": 4000,',
      '    "total_chunks": 1,',
      '    "total_chars": 20',
      "  },",
      '  "' .. G[1] .. '": {',
      '    "format": "json",',
      '    "size": 5,',
      '    "created_at": "' .. c2 .. '",',
      '    "url": "http://127.0.0.1:8080/",',
      '    "chunk_size": 2,',
      '    "total_chunks": 3,',
      '    "total_chars": 5',
      "  }",
      "}" }, "\n")
    local text = support.read_file(dir .. "/metadata.json")
    assert.are.equal(expected, text)
    assert.are.equal(text, json.encode(json.decode(text), "pretty"))
    assert.are.same({ "format", "size", "created_at", "group", "url", "chunk_size",
                      "total_chunks", "total_chars" }, json.keys(st:meta(G[2])))
    assert.are.same({ G[2], G[1] }, st:list())
    assert.are.equal(22, st:total_size())
    assert.are.equal(content, st:load(G[2]))
    -- no temporary files are left beside them
    local listing = core.fs_list(dir)
    table.sort(listing)
    assert.are.same({ G[1] .. ".json", G[2] .. ".json", "metadata.json" }, listing)
  end)

  it("writes what Python's json.dump(indent=2) writes (checked with python3 when present)",
    function()
      if not sh("command -v python3 >/dev/null 2>&1") then
        pending("python3 is not installed")
        return
      end
      local st = assert(storage.open(dir))
      st:save(G[1], "x", { group = "g\226\130\172", url = "u\"\\\n\1", chunk_size = 1,
                           total_chunks = 1, total_chars = 1 })
      st:save(G[3], ("y"):rep(10), { url = "https://e.com/\240\159\152\128" })
      local path = dir .. "/metadata.json"
      local py = "import json,sys; d=json.load(open(sys.argv[1])); "
        .. "sys.stdout.write(json.dumps(d, indent=2))"
      local p = io.popen("python3 -c " .. q(py) .. " " .. q(path))
      local out = p:read("*a")
      p:close()
      assert.are.equal(out, support.read_file(path))
    end)

  it("reads a metadata.json another writer left, keeping its order and extra keys", function()
    assert(core.fs_mkdirs(dir))
    local foreign = table.concat({
      "{",
      '  "' .. G[3] .. '": {',
      '    "format": "json",',
      '    "size": 3,',
      '    "created_at": "2026-01-02T03:04:05",',
      '    "group": "emea",',
      '    "aliases": [',
      '      "first"',
      "    ],",
      '    "empty": [],',
      '    "url": "https://example.com/"',
      "  }",
      "}" }, "\n")
    spit(dir .. "/metadata.json", foreign)
    spit(dir .. "/" .. G[3] .. ".json", "abc")
    local st = assert(storage.open(dir))
    assert.are.same({ G[3] }, st:list())
    assert.are.equal("abc", st:load(G[3]))
    assert.are.equal("emea", st:meta(G[3]).group)

    assert.is_true(st:save(G[1], "z", { url = "u" }))
    local second = assert(storage.open(dir))
    assert.are.same({ G[3], G[1] }, second:list())
    assert.are.equal("z", second:load(G[1]))
    local text = support.read_file(dir .. "/metadata.json")
    assert.are.equal(foreign:sub(1, -3), text:sub(1, #foreign - 2))   -- kept byte for byte
    assert.are.equal(text, json.encode(json.decode(text), "pretty"))
  end)

  it("notices changes made by another store or process before each operation", function()
    local a = assert(storage.open(dir))
    local b = assert(storage.open(dir))
    assert(a:save(G[1], "1", {}))
    assert(a:save(G[2], "22", {}))
    assert.are.same({ G[1], G[2] }, b:list())
    assert.is_true(b:delete(G[1]))
    assert.are.same({ G[2] }, a:list())
    assert(a:save(G[3], "333", {}))                -- does not bring G[1] back
    assert.are.same({ G[2], G[3] }, b:list())
    assert.are.equal(5, b:total_size())
    -- missing or broken metadata.json reads as empty (Python's _load)
    os.remove(dir .. "/metadata.json")
    assert.are.same({}, a:list())
    spit(dir .. "/metadata.json", "{ not json")
    assert.are.same({}, b:list())
    assert.are.equal(0, b:total_size())
  end)

  it("loads and deletes only sessions with metadata; stray blobs are invisible", function()
    local st = assert(storage.open(dir))
    assert(st:save(G[1], "kept", {}))
    spit(dir .. "/" .. G[2] .. ".json", "stray")
    assert.are.same({ G[1] }, st:list())
    assert.are.equal(4, st:total_size())
    local ok, err_type = st:load(G[2])
    assert.is_nil(ok)
    assert.are.equal("not_found", err_type)
    assert.is_nil(st:meta(G[2]))
    ok, err_type = st:load("../../etc/passwd")
    assert.is_nil(ok)
    assert.are.equal("not_found", err_type)

    assert.is_true(st:delete(G[1]))
    assert.is_false(exists(dir .. "/" .. G[1] .. ".json"))
    assert.are.equal("{}", support.read_file(dir .. "/metadata.json"))
    ok, err_type = st:delete(G[1])
    assert.is_nil(ok)
    assert.are.equal("not_found", err_type)
    -- a blob without an entry is deleted as Python does ("<guid>.*")
    assert.is_true(st:delete(G[2]))
    assert.is_false(exists(dir .. "/" .. G[2] .. ".json"))
    ok, err_type = st:delete("../escape")
    assert.is_nil(ok)
    assert.are.equal("not_found", err_type)
  end)

  it("reports I/O failures as nil, err_type, message", function()
    local file = dir:gsub("/sessions$", "")
    assert(core.fs_mkdirs((file:gsub("/storage$", ""))))
    spit(file, "a file where the directory should be")
    local st, err_type, msg = storage.open(dir)
    assert.is_nil(st)
    assert.are.equal("io_error", err_type)
    assert.matches("sessions", msg)
  end)

  it("raises on misuse, naming the argument or option", function()
    local st = assert(storage.open(dir))
    assert.has_error(function() st:save("a/b", "x", {}) end)
    assert.has_error(function() st:save(G[1], 42, {}) end)
    local ok, err = pcall(st.save, st, G[1], "x", { colour = "red" })
    assert.is_false(ok)
    assert.matches("storage.save: unknown option 'colour'", err)
    ok, err = pcall(st.save, st, G[1], "x", { chunk_size = "big" })
    assert.is_false(ok)
    assert.matches("option 'chunk_size' must be a number", err)
    assert.has_error(function() st:load(7) end)
    assert.has_error(function() storage.open("") end)
  end)
end)

describe("twin housekeeper: prune_size", function()
  local root, dir
  before_each(function()
    root = temp_dir()
    dir = root .. "/storage/sessions"
  end)
  after_each(function()
    os.execute("rm -rf " .. q(root))
    support.assert_clean()
  end)

  local KB = 1024
  -- inserted out of age order; G[2] and G[4] share a created_at (guid decides)
  local function four()
    populate(dir, {
      { G[3], 30 * KB, "2026-01-03T00:00:00.000001" },
      { G[4], 30 * KB, "2026-01-01T00:00:00" },
      { G[1], 30 * KB, "2026-01-04T00:00:00.5" },
      { G[2], 30 * KB, "2026-01-01T00:00:00" },
    })
  end

  it("deletes the oldest first, by (created_at, guid, size), until under the limit", function()
    four()
    local log, events = recorder()
    local rc = hk.prune_size { storage_dir = dir, max_mb = 70 / 1024, log = log }
    assert.are.equal(0, rc)
    local st = assert(storage.open(dir))
    assert.are.same({ G[3], G[1] }, st:list())
    assert.is_false(exists(dir .. "/" .. G[2] .. ".json"))
    assert.is_false(exists(dir .. "/" .. G[4] .. ".json"))
    assert.is_true(exists(dir .. "/" .. G[3] .. ".json"))
    assert.is_false(exists(dir .. "/.prune_size.lock"))
    assert.are.same({
      "storage_manager.prune.check", "storage_manager.prune.usage",
      "storage_manager.prune.started", "storage_manager.prune.deleted",
      "storage_manager.prune.deleted", "storage_manager.prune.completed",
      "storage_manager.prune.summary" }, names(events))
    assert.are.same({ guid = G[2], size = 30 * KB, created = "2026-01-01T00:00:00" },
                    events[4].fields)
    assert.are.equal(G[4], events[5].fields.guid)
    local check = events[1].fields
    assert.are.equal(120 / 1024, check.current_mb)
    assert.are.equal(4, check.item_count)
    assert.are.equal(0, check.anomalies)
    local summary = events[7].fields
    assert.are.same({ 4, 2, 60 / 1024, 60 / 1024, 0 },
      { summary.item_count, summary.deleted_count, summary.freed_mb, summary.final_mb,
        summary.exit_code })
    -- what is left is still Python's layout
    assert.are.equal(python_metadata {
      { G[3], 30 * KB, "2026-01-03T00:00:00.000001" }, { G[1], 30 * KB, "2026-01-04T00:00:00.5" },
    }, support.read_file(dir .. "/metadata.json"))
  end)

  it("does nothing under the limit, and on empty storage", function()
    four()
    local log, events = recorder()
    assert.are.equal(0, hk.prune_size { storage_dir = dir, max_mb = 120 / 1024, log = log })
    assert.are.same({ "storage_manager.prune.check", "storage_manager.prune.usage",
                      "storage_manager.prune.noop" }, names(events))
    assert.are.equal(4, #assert(storage.open(dir)):list())

    local empty = root .. "/empty"
    log, events = recorder()
    assert(core.fs_mkdirs(empty))
    assert.are.equal(0, hk.prune_size { storage_dir = empty, max_mb = 1, log = log })
    assert.are.same({ "storage_manager.prune.empty_storage" }, names(events))
    assert.are.equal("{}", support.read_file(empty .. "/metadata.json"))
  end)

  it("ignores blobs without metadata", function()
    four()
    spit(dir .. "/99999999-9999-4999-8999-999999999999.json", ("s"):rep(500 * KB))
    assert.are.equal(0, hk.prune_size { storage_dir = dir, max_mb = 120 / 1024 })
    assert.is_true(exists(dir .. "/99999999-9999-4999-8999-999999999999.json"))
    assert.are.equal(4, #assert(storage.open(dir)):list())
  end)

  it("returns 2 when the lock is busy (and removes it on the way out, as the real one)",
    function()
      four()
      spit(dir .. "/.prune_size.lock", "pid=1")
      local log, events = recorder()
      assert.are.equal(2, hk.prune_size { storage_dir = dir, max_mb = 0.01, log = log })
      assert.are.same({ "housekeeper.lock_busy", "storage_manager.prune.lock_busy" },
                      names(events))
      assert.are.equal("warning", events[2].level)
      assert.are.equal(4, #assert(storage.open(dir)):list())
      assert.is_false(exists(dir .. "/.prune_size.lock"))
    end)

  it("takes over a stale lock", function()
    four()
    local lock = dir .. "/.prune_size.lock"
    spit(lock, "pid=1")
    assert.is_true(sh("touch -d @" .. (os.time() - 120) .. " " .. q(lock)))
    local log, events = recorder()
    assert.are.equal(0, hk.prune_size { storage_dir = dir, max_mb = 70 / 1024,
                                        stale_seconds = 60, log = log })
    local stale = find(events, "housekeeper.lock_stale")
    assert.truthy(stale)
    assert.is_true(stale.fields.age_seconds > 100)
    assert.are.equal(60, stale.fields.stale_seconds)
    assert.are.equal(2, #assert(storage.open(dir)):list())
    assert.is_false(exists(lock))
  end)

  it("writes pid and start time into the lock while it runs", function()
    four()
    local seen
    hk.prune_size { storage_dir = dir, max_mb = 1, log = function(event)
      if event == "storage_manager.prune.check" then seen = support.read_file(dir .. "/.prune_size.lock") end
    end }
    assert.matches("^pid=%d+ started_at=%d+\n$", seen)
  end)

  it("returns 1 on an invalid max_mb or stale_seconds", function()
    four()
    for _, bad in ipairs { 0, -1, 0 / 0, math.huge } do
      local log, events = recorder()
      assert.are.equal(1, hk.prune_size { storage_dir = dir, max_mb = bad, log = log })
      assert.are.same({ "storage_manager.prune.validation_failed" }, names(events))
      assert.are.equal("invalid_max_mb", events[1].fields.reason)
    end
    local log, events = recorder()
    assert.are.equal(1, hk.prune_size { storage_dir = dir, max_mb = 1, stale_seconds = 0.5,
                                        log = log })
    assert.are.equal("invalid_lock_stale_seconds", events[1].fields.reason)
    assert.are.equal(0, events[1].fields.lock_stale_seconds)
    assert.are.equal(4, #assert(storage.open(dir)):list())
  end)

  it("returns 1 when the target cannot be met or the directory is missing", function()
    populate(dir, { { G[1], 10 * KB, "2026-01-02T00:00:00" } })
    -- an entry that cannot be deleted (its guid is no file name): target unmet
    local text = support.read_file(dir .. "/metadata.json"):gsub("^{\n", '{\n  "../x": {\n    "size": '
      .. 100 * KB .. ',\n    "created_at": "2026-01-01T00:00:00"\n  },\n')
    spit(dir .. "/metadata.json", text)
    local log, events = recorder()
    assert.are.equal(1, hk.prune_size { storage_dir = dir, max_mb = 50 / 1024, log = log })
    local unmet = find(events, "storage_manager.prune.target_unmet")
    assert.are.equal(1, unmet.fields.exit_code)
    assert.are.equal(100 * KB - 50 * KB, unmet.fields.remaining_bytes)
    assert.are.equal("warning", unmet.level)

    log, events = recorder()
    assert.are.equal(1, hk.prune_size { storage_dir = root .. "/missing", max_mb = 1, log = log })
    assert.are.same({ "storage_manager.prune.failed" }, names(events))
    assert.are.equal("not_found", events[1].fields.cause)
  end)

  it("raises on misuse", function()
    assert.has_error(function() hk.prune_size { max_mb = 1 } end)
    assert.has_error(function() hk.prune_size { storage_dir = dir } end)
    assert.has_error(function() hk.prune_size { storage_dir = dir, max_mb = "1" } end)
    assert.has_error(function() hk.prune_size { storage_dir = dir, max_mb = 1, group = "x" } end)
  end)
end)

describe("twin housekeeper: the loop", function()
  local root, dir
  before_each(function()
    root = temp_dir()
    dir = root .. "/storage/sessions"
  end)
  after_each(function()
    os.execute("rm -rf " .. q(root))
    support.assert_clean()
  end)

  local function env_of(t) return function(name) return t[name] end end

  it("prunes as sessions arrive, oldest first, until stopped", function()
    local log, events = recorder()
    local saved = {}
    sim.run(function()
      local st = assert(storage.open(dir))
      local h = hk.start { storage_dir = dir, interval = 0.05, log = log, env = env_of {
        GOFR_DIG_MAX_STORAGE_MB = "1", GOFR_DIG_HOUSEKEEPER_LOCK_STALE_SECONDS = "10" } }
      for i = 1, 5 do
        local guid = core.uuid4()
        saved[i] = guid
        assert(st:save(guid, ("p"):rep(400 * 1024), { url = "https://e.com/" .. i }))
        sim.sleep(0.08)
      end
      sim.sleep(0.1)
      h:stop()
      assert.are.equal("done", h.persona:status())
      assert.are.same({ saved[4], saved[5] }, st:list())
    end)
    assert.are.equal("housekeeper.cycle_start", events[1].event)
    assert.are.same({ interval_mins = 60, max_mb = 1, storage_dir = dir }, events[1].fields)
    -- the stale seconds below 30 are refused each cycle, with a warning
    local invalid = find(events, "housekeeper.invalid_env")
    assert.are.same({ variable = "GOFR_DIG_HOUSEKEEPER_LOCK_STALE_SECONDS", provided_value = "10",
                      default_value = 3600 }, invalid.fields)
    local deleted = {}
    for _, e in ipairs(events) do
      if e.event == "storage_manager.prune.deleted" then deleted[#deleted + 1] = e.fields.guid end
    end
    assert.are.same({ saved[1], saved[2], saved[3] }, deleted)
    assert.truthy(find(events, "housekeeper.cycle_ok"))
    assert.are.same({ sleep_seconds = 0.05, interval_mins = 60 },
                    find(events, "housekeeper.sleep").fields)
    assert.is_nil(find(events, "housekeeper.cycle_nonzero"))
  end)

  it("falls back to 1024 MB on an invalid GOFR_DIG_MAX_STORAGE_MB and sleeps interval_mins",
    function()
      local log, events = recorder()
      assert(core.fs_mkdirs(dir))
      sim.run(function()
        local h = hk.start { storage_dir = dir, log = log, env = env_of {
          GOFR_DIG_MAX_STORAGE_MB = "lots", GOFR_DIG_HOUSEKEEPING_INTERVAL_MINS = " 1_0 " } }
        sim.sleep(0.05)
        local t0 = sim.now()
        h:stop()
        assert.is_true(sim.now() - t0 < 1)      -- a stop does not wait out the 600 s
      end)
      assert.are.same({ "housekeeper.invalid_env", "housekeeper.cycle_start",
                        "storage_manager.prune.empty_storage", "housekeeper.cycle_ok",
                        "housekeeper.sleep" }, names(events))
      assert.are.same({ variable = "GOFR_DIG_MAX_STORAGE_MB", provided_value = "lots",
                        default_value = 1024 }, events[1].fields)
      assert.are.equal(1024, events[2].fields.max_mb)
      assert.are.same({ sleep_seconds = 600, interval_mins = 10 }, events[5].fields)
    end)

  it("reports a nonzero cycle and a failed one, and ends when the run stops", function()
    local log, events = recorder()
    assert(core.fs_mkdirs(dir))
    spit(dir .. "/.prune_size.lock", "busy")
    local calls = 0
    sim.run(function()
      hk.start { storage_dir = dir, interval = 0.02, env = env_of {}, log = function(e, f, l)
        log(e, f, l)
        if e == "housekeeper.cycle_ok" then
          calls = calls + 1
          error("logger broke")
        end
      end }
      sim.sleep(0.1)
      sim.stop(0)
    end)
    -- cycle 1: the lock is busy (2); cycle 2 on: empty, and the log raises at cycle_ok
    assert.are.same({ status = 2 }, find(events, "housekeeper.cycle_nonzero").fields)
    local failed = find(events, "housekeeper.cycle_failed")
    assert.matches("logger broke", failed.fields.error)
    assert.are.equal("error", failed.level)
    assert.is_true(calls >= 2)                  -- the loop went on after the failure
  end)

  it("raises on misuse", function()
    assert.has_error(function() hk.start {} end)
    assert.has_error(function() hk.start { storage_dir = dir, interval = 0 } end)
    assert.has_error(function() hk.start { storage_dir = dir, env = "x" } end)
  end)
end)
