-- scripts/build.sh, the quiet build behind `make build` and `make run`,
-- on a small CMake project of its own (twenty targets, so a normal build
-- prints dozens of progress lines): success prints nothing, a compiler
-- warning is shown, a failure shows the compiler's error and make's error
-- line but no progress lines, names the log and exits non-zero.
local support = require "support"

local q = support.shell_quote
local SCRIPT = support.source_dir .. "/scripts/build.sh"

-- A CMake project in a new directory: targets lib1..lib20, each one C
-- file; source(i) is the text of lib<i>.c. -> its directory.
local function project(source)
  local dir = support.tmpdir()
  local lines = { "cmake_minimum_required(VERSION 3.13)", "project(quiet C)" }
  for i = 1, 20 do
    support.write_file(("%s/lib%d.c"):format(dir, i), source(i))
    lines[#lines + 1] = ("add_library(lib%d STATIC lib%d.c)"):format(i, i)
  end
  support.write_file(dir .. "/CMakeLists.txt", table.concat(lines, "\n") .. "\n")
  return dir
end

-- Runs the script on project dir (building in dir/b); -> exit status, its
-- output (stdout and stderr together).
local function build(dir, env)
  local out = support.temp_path(".out")
  local cmd = ("%s %s/b 2 -DCMAKE_BUILD_TYPE=Release >%s 2>&1"):format(q(SCRIPT), q(dir), q(out))
  if env then cmd = env .. " " .. cmd end
  local rc = os.execute("cd " .. q(dir) .. " && " .. cmd)
  local text = support.read_file(out) or ""
  os.remove(out)
  if type(rc) == "number" then rc = rc > 255 and math.floor(rc / 256) or rc end
  if rc == true then rc = 0 end
  return rc, text
end

local function line_count(text)
  local n = 0
  for _ in text:gmatch("[^\n]*\n") do n = n + 1 end
  return n
end

local function good(i) return ("int f%d(void) { return %d; }\n"):format(i, i) end

describe("scripts/build.sh (make build's quiet build)", function()
  local dirs = {}
  after_each(function()
    for _, d in ipairs(dirs) do os.execute("rm -rf " .. q(d)) end
    dirs = {}
  end)

  it("prints nothing when the build succeeds; the log has it all", function()
    local dir = project(good)
    dirs[#dirs + 1] = dir
    local rc, out = build(dir)
    assert.are.equal(0, rc, out)
    assert.are.equal("", out)
    local log = assert(support.read_file(dir .. "/b/build.log"))
    assert.is_true(line_count(log) > 20, log) -- what the quiet build kept back
    assert.matches("Built target lib20", log, 1, true)
  end)

  it("shows the compiler's error and the failing step, not the progress, and exits non-zero", function()
    local dir = project(function(i)
      if i == 7 then return "int f7(void) { return undeclared_thing; }\n" end
      return good(i)
    end)
    dirs[#dirs + 1] = dir
    local rc, out = build(dir)
    assert.are_not.equal(0, rc, out)
    assert.matches("lib7%.c:1:%d+: error: .*undeclared_thing", out)
    assert.matches("Error %d", out) -- make's line naming the failed step
    assert.matches("build failed %(exit status %d+%); the whole output: .*/b/build%.log\n$", out)
    assert.is_nil(out:find("%[ *%d+%%%] Building"), out)
    assert.is_true(line_count(out) < 25, out)
  end)

  it("shows compiler warnings after a successful build", function()
    local dir = project(function(i)
      if i == 3 then return "int f3(void) { int unused_here; return 3; }\n" end
      return good(i)
    end)
    dirs[#dirs + 1] = dir
    local rc, out = build(dir, "CFLAGS=-Wall")
    assert.are.equal(0, rc, out)
    assert.matches("lib3%.c:1:%d+: warning: unused variable .-unused_here", out)
    assert.matches("built with warnings", out, 1, true)
    assert.is_nil(out:find("%[ *%d+%%%] Building"), out)
  end)

  it("GOFR_SIM_VERBOSE=1 (make V=1) shows the whole build", function()
    local dir = project(good)
    dirs[#dirs + 1] = dir
    local rc, out = build(dir, "GOFR_SIM_VERBOSE=1")
    assert.are.equal(0, rc, out)
    assert.matches("Built target lib20", out, 1, true)
  end)
end)
