-- The twin's token store file (gofr_sim.twin.auth): cached by the file's
-- stamp (mtime to the nanosecond, size, inode, device), so 1,000
-- verifications read it once, while a change by another process counts at
-- the next verification: a revocation written through rename (a luajit
-- child using the store, a shell writing a new file with the same size and
-- mtime then mv), an in-place rewrite (other size; same size, other mtime),
-- a deleted file (an empty store), a corrupt file (an error naming it), and
-- the store's own atomic saves (no re-read, no temporary left behind).
local core = require "gofr_sim.core"
local json = require "gofr_sim.util.json"
local jwt = require "gofr_sim.engine.jwt"
local auth = require "gofr_sim.twin.auth"
local support = require "support"

local q = support.shell_quote
local SECRET = "twin-auth-spec-secret"
local LUAJIT = os.getenv("GS_LUAJIT") or "luajit"

local spit = support.write_file

local function sh(cmd)
  assert(support.sh_ok(cmd), "command failed: " .. cmd)
end

local function mint(groups)
  local token = jwt.mint { secret = SECRET, groups = groups or { "apac" } }
  local _, claims = jwt.decode(token)
  return token, claims.jti
end

-- The file's text for records jti -> {groups=, status=, name=}, as
-- gofr-common's TokenRecord fields.
local function store_text(records)
  local doc = json.object()
  for _, r in ipairs(records) do
    doc[r.jti] = json.object(
      "id", r.jti, "name", r.name or json.null, "groups", json.array(r.groups or { "apac" }),
      "status", r.status or "active", "created_at", json.null, "expires_at", json.null,
      "revoked_at", json.null, "fingerprint", json.null)
  end
  return json.encode(doc, "pretty") .. "\n"
end

describe("twin token store file (auth.store{file=})", function()
  local dir, file, store, a

  before_each(function()
    dir = support.tmpdir()
    file = dir .. "/tokens.json"
    store = auth.store { file = file }
    a = auth.new { secret = SECRET, store = store }
  end)

  after_each(function()
    sh("rm -rf " .. q(dir))
  end)

  it("reads the file once for 1,000 verifications (store.stats.loads)", function()
    local token, jti = mint { "apac", "emea" }
    spit(file, store_text { { jti = jti, groups = { "apac", "emea" } } })
    assert.are.equal(0, store.stats.loads)
    for _ = 1, 1000 do
      assert.are.same({ "apac", "emea" }, (a:groups_of("Bearer " .. token)))
    end
    assert.are.equal(1, store.stats.loads)
    -- the counter does count: a change is one more read
    local other, ojti = mint()
    spit(file, store_text { { jti = jti, groups = { "apac", "emea" } }, { jti = ojti } })
    assert.are.same({ "apac" }, (a:groups_of(other)))
    assert.are.equal(2, store.stats.loads)
  end)

  it("refuses a token another process revoked through the store (rename)", function()
    local token, jti = mint()
    spit(file, store_text { { jti = jti } })
    assert.are.same({ "apac" }, (a:verify(token)))
    local before = assert(core.fs_stat(file))
    local code = ("package.path = %q; package.cpath = %q; "
      .. "assert(require('gofr_sim.twin.auth').store { file = %q }:revoke(%q))")
      :format(package.path, package.cpath, file, jti)
    sh(q(LUAJIT) .. " -e " .. q(code))
    assert.are_not.equal(before.ino, assert(core.fs_stat(file)).ino)
    local groups, why = a:verify(token)
    assert.is_nil(groups)
    assert.are.equal(("Token %s has been revoked"):format(jti), why)
    assert.are.equal("revoked", store:get(jti).status)
  end)

  it("sees a new file moved over it with the same size and mtime (the inode)", function()
    local token, jti = mint()
    local active = store_text { { jti = jti, name = "ab", status = "active" } }
    local revoked = store_text { { jti = jti, name = "a", status = "revoked" } }
    assert.are.equal(#active, #revoked)
    spit(file, active)
    assert.are.same({ "apac" }, (a:verify(token)))
    local new = dir .. "/tokens.json.new"
    spit(dir .. "/revoked.txt", revoked)
    -- another process: a new file, the old one's mtime copied onto it, then mv
    sh(("cat %s > %s && touch -r %s %s && mv %s %s"):format(q(dir .. "/revoked.txt"), q(new),
      q(file), q(new), q(new), q(file)))
    local before, after = store.stamp, assert(core.fs_stat(file))
    assert.are.equal(before.size, after.size)
    assert.are.equal(before.mtime_sec, after.mtime_sec)
    assert.are.equal(before.mtime_nsec, after.mtime_nsec)
    assert.are_not.equal(before.ino, after.ino)
    assert.are.equal(("Token %s has been revoked"):format(jti), select(2, a:verify(token)))
  end)

  it("sees an in-place rewrite: another size, or the same size and another mtime", function()
    local token, jti = mint()
    spit(file, store_text { { jti = jti } })
    assert.are.same({ "apac" }, (a:verify(token)))
    local ino = store.stamp.ino
    -- the shell's > truncates and rewrites the same inode
    spit(dir .. "/revoked.txt", store_text { { jti = jti, status = "revoked" } })
    sh(("cat %s > %s"):format(q(dir .. "/revoked.txt"), q(file)))
    assert.are.equal(ino, assert(core.fs_stat(file)).ino)
    assert.are.equal(("Token %s has been revoked"):format(jti), select(2, a:verify(token)))
    -- the same size ("active" back, one byte more in the name), the mtime moved away
    local loads = store.stats.loads
    local active = store_text { { jti = jti, name = "xyz", status = "active" } }
    assert.are.equal(#active, store.stamp.size)
    spit(dir .. "/active.txt", active)
    sh(("cat %s > %s && touch -d '2001-02-03 04:05:06' %s"):format(q(dir .. "/active.txt"),
      q(file), q(file)))
    assert.are.equal(ino, assert(core.fs_stat(file)).ino)
    assert.are.same({ "apac" }, (a:verify(token)))
    assert.are.equal(loads + 1, store.stats.loads)
  end)

  it("is an empty store while the file is missing, and sees it come back", function()
    local token, jti = mint()
    local not_found = ("Token %s not found in token store"):format(jti)
    assert.are.equal(not_found, select(2, a:verify(token)))     -- never existed
    spit(file, store_text { { jti = jti } })
    assert.are.same({ "apac" }, (a:verify(token)))
    os.remove(file)
    assert.are.equal(not_found, select(2, a:verify(token)))
    assert.are.equal(not_found, select(2, a:verify(token)))
    spit(file, store_text { { jti = jti } })
    assert.are.same({ "apac" }, (a:verify(token)))
    assert.are.equal(2, store.stats.loads)
  end)

  it("raises an error naming the file while it is corrupt, on every verification", function()
    local token, jti = mint()
    spit(file, store_text { { jti = jti } })
    assert.are.same({ "apac" }, (a:verify(token)))
    spit(file, '{"' .. jti .. '": {"status": ')
    for _ = 1, 2 do
      local ok, err = pcall(a.verify, a, token)
      assert.is_false(ok)
      assert.are.equal("token store " .. file .. ": ", err:sub(1, #file + 14))
    end
    spit(file, "[1, 2]")
    local ok, err = pcall(a.verify, a, token)
    assert.is_false(ok)
    assert.are.equal(("token store %s: expected a JSON object"):format(file), err)
    spit(file, store_text { { jti = jti } })
    assert.are.same({ "apac" }, (a:verify(token)))
  end)

  it("registers every JWT of a token map in one write, skipping what is no JWT", function()
    local apac, apac_jti = mint { "apac" }
    local multi, multi_jti = mint { "apac", "emea" }
    assert.are.equal(0, store:register_all { token_invalid = "invalid.invalid.invalid", opaque = "x" })
    assert.is_nil(core.fs_stat(file))                          -- nothing to register: no file written
    assert.are.equal(2, store:register_all { token_apac = apac, token_multi = multi,
                                             token_invalid = "invalid.invalid.invalid" })
    assert.are.same({ "apac" }, (a:verify(apac)))
    assert.are.same({ "apac", "emea" }, (a:verify(multi)))
    local doc = json.decode(support.read_file(file))
    assert.are.same({ "active", "active" }, { doc[apac_jti].status, doc[multi_jti].status })
    assert.are.same({ "apac", "emea" }, { unpack(doc[multi_jti].groups) })
    assert.are.equal(1, store:register_all { multi })          -- an array too
  end)

  it("keeps its own saves as the cache, written atomically", function()
    local token, jti = mint()
    store:register(token)
    assert.are.same({ "apac" }, (a:verify(token)))
    assert.are.equal(0, store.stats.loads)                    -- what it wrote, not re-read
    local ino = store.stamp.ino
    assert.is_true(store:revoke(jti))
    assert.are.equal(("Token %s has been revoked"):format(jti), select(2, a:verify(token)))
    assert.are.equal(0, store.stats.loads)
    assert.are_not.equal(ino, store.stamp.ino)                -- a new file each save
    -- a second store (another reader) sees the file as written
    local doc = json.decode(support.read_file(file))
    assert.are.equal("revoked", doc[jti].status)
    local names = assert(core.fs_list(dir))
    table.sort(names)
    assert.are.same({ "tokens.json", "tokens.json.lock" }, names)   -- no temporary left
    -- a failed save raises naming the file and leaves no stale cache
    local lost = auth.store { file = dir .. "/gone/tokens.json" }
    local ok, err = pcall(lost.register, lost, token)
    assert.is_false(ok)
    assert.matches("^token store " .. dir:gsub("%p", "%%%0") .. "/gone/tokens.json: ", err)
    assert.is_nil(lost:get(jti))
  end)

  it("loses no record when processes register into it at the same moment (its lock)", function()
    -- each child registers its tokens one by one: a read-modify-write per
    -- token, racing the others' (unlocked, most records would be lost)
    local CHILDREN, EACH = 6, 15
    local script, jtis = {}, {}
    for c = 1, CHILDREN do
      local list = {}
      for i = 1, EACH do
        local token, jti = mint()
        list[i] = ("%q"):format(token)
        jtis[#jtis + 1] = jti
      end
      local code = ("package.path = %q; package.cpath = %q; "
        .. "local s = require('gofr_sim.twin.auth').store { file = %q }; "
        .. "for _, t in ipairs { %s } do s:register(t) end")
        :format(package.path, package.cpath, file, table.concat(list, ", "))
      script[c] = ("timeout -k 2 30 %s -e %s || echo child %d failed >&2 &"):format(q(LUAJIT), q(code), c)
    end
    script[#script + 1] = "wait"
    local out = support.temp_path(".err")
    os.execute("bash -c " .. q(table.concat(script, "\n")) .. " 2>" .. q(out))
    local err = support.read_file(out) or ""
    os.remove(out)
    assert.are.equal("", err)
    local doc = json.decode(support.read_file(file))
    local missing = {}
    for _, jti in ipairs(jtis) do
      if not doc[jti] then missing[#missing + 1] = jti end
    end
    assert.are.equal(0, #missing, #missing .. " of " .. #jtis .. " records lost")
  end)

  it("waits for another holder of its lock, and names the lock when it gives up", function()
    local token, jti = mint()
    local held = assert(core.fs_lock(file .. ".lock", 0))
    local again, err_type, msg = core.fs_lock(file .. ".lock", 0.05)
    assert.is_nil(again)
    assert.are.equal("io_error", err_type)
    assert.are.equal(file .. ".lock: still locked after 0.05 s", msg)
    held:unlock()
    held:unlock() -- a second time: nothing
    assert.are.equal(jti, store:register(token))
    assert.are.equal("active", store:get(jti).status)
  end)
end)
