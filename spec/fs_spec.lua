-- gofr_sim.util.fs: reading a whole file (its bytes, or why not) and
-- removing a directory tree as rm -rf does, without following symlinks.
local core = require "gofr_sim.core"
local fs = require "gofr_sim.util.fs"
local support = require "support"

local q = support.shell_quote

local spit, sh, exists = support.write_file, support.sh_ok, support.exists

-- A fresh directory name under /tmp (not created).
local function temp_dir() return support.temp_path(".gs-fs") end

describe("gofr_sim.util.fs", function()
  local root

  before_each(function() root = temp_dir() end)
  after_each(function() os.execute("rm -rf " .. q(root)) end)

  it("reads a file's bytes, or says why not", function()
    assert(core.fs_mkdirs(root))
    spit(root .. "/f", "a\0b\255\n")
    assert.are.equal("a\0b\255\n", fs.read_file(root .. "/f"))
    spit(root .. "/empty", "")
    assert.are.equal("", fs.read_file(root .. "/empty"))
    local data, err_type, msg = fs.read_file(root .. "/missing")
    assert.is_nil(data)
    assert.are.equal("not_found", err_type)
    assert.matches("missing: No such file or directory", msg, 1, true)
    data, err_type, msg = fs.read_file(root)                   -- a directory
    assert.is_nil(data)
    assert.are.equal("io_error", err_type)
    assert.are.equal(root .. ": read failed", msg)
  end)

  it("removes a directory tree, without following symlinks", function()
    local dir = root .. "/storage/sessions"
    assert(core.fs_mkdirs(dir))
    spit(dir .. "/metadata.json", "{}")
    spit(root .. "/top", "t")
    local outside = temp_dir()
    assert(core.fs_mkdirs(outside))
    spit(outside .. "/keep", "k")
    assert.is_true(sh("ln -s " .. q(outside) .. " " .. q(dir .. "/link")))
    assert.is_true(fs.remove_tree(root))
    assert.is_false(exists(root))
    assert.are.equal("k", support.read_file(outside .. "/keep"))
    assert.is_true(fs.remove_tree(root))        -- already gone: fine
    assert.is_true(fs.remove_tree(outside))
    assert.is_false(exists(outside))
    assert.has_error(function() fs.remove_tree("/") end)
    assert.has_error(function() fs.remove_tree("") end)
    assert.has_error(function() fs.remove_tree(nil) end)
  end)

  it("removes a single file", function()
    assert(core.fs_mkdirs(root))
    spit(root .. "/f", "x")
    assert.is_true(fs.remove_tree(root .. "/f"))
    assert.is_false(exists(root .. "/f"))
    assert.is_true(exists(root))
  end)

  it("runs a function under a lock, released however it ends", function()
    assert.is_true(core.fs_mkdirs(root))
    local path = root .. "/f.lock"
    assert.are.same({ 1, 2 }, { fs.with_lock(path, 1, function(a, b) return a, b end, 1, 2) })
    local ok, err = pcall(fs.with_lock, path, 1, function() error("inside", 0) end)
    assert.is_false(ok)
    assert.are.equal("inside", err)
    -- released both times: another descriptor takes it at once
    local lock = assert(core.fs_lock(path, 0))
    -- held: with_lock gives up after its timeout, naming the lock
    ok, err = pcall(fs.with_lock, path, 0.02, function() end)
    assert.is_false(ok)
    assert.are.equal(path .. ": still locked after 0.02 s", err)
    lock:unlock()
    ok, err = pcall(fs.with_lock, root .. "/none/f.lock", 0, function() end)
    assert.is_false(ok)
    assert.matches("/none/f.lock: No such file or directory", err, 1, true)
  end)
end)
