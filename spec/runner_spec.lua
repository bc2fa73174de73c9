-- The scenario runner's contracts through the executable: options accept
-- what flags accept, a failed setup reaches teardown, output paths are
-- checked before the run, reports leave no temporary files, and twins'
-- data directories do not outlive their run.
local support = require "support"

local LOAD = support.source_dir .. "/scenarios/load.lua"
local q = support.shell_quote

local tmpfile = support.tmpfile

local function run_file(contents, args)
  local path = tmpfile(contents)
  local argv = { path, "--quiet" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  local r = support.run_cli(argv)
  os.remove(path)
  return r, path
end

local tmpdir = support.tmpdir

local function ls(dir)
  local names = {}
  local p = io.popen("ls -A " .. q(dir))
  for name in p:lines() do names[#names + 1] = name end
  p:close()
  return names
end

describe("scenario options", function()
  it("accept what the flags accept: duration = '1s', consumers = '2'", function()
    local r = run_file [[return { options = { duration = "1s", consumers = "2" },
      iteration = function() require("gofr_sim").sleep(0.1) end }]]
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local n = tonumber(r.stdout:match("(%d+) iterations"))
    assert.is_true(n >= 14 and n <= 22, "iterations " .. tostring(n)) -- 2 personas x ~10/s
  end)

  it("refuse what the flags refuse, exit 2 naming the file and the option", function()
    for _, case in ipairs {
      { 'duration = "8 parsecs"', "option 'duration' '8 parsecs' is not a duration" },
      { "consumers = 1.5", "option 'consumers' must be a whole number, got '1.5'" },
      { "consumers = 0", "option 'consumers' must be >= 1, got 0" },
      { 'workload = "open"', "option 'workload' must be one of closed, constant-arrival-rate" },
      { "quiet = 3", "option 'quiet' must be a boolean, got '3'" },
    } do
      local r, path = run_file(("return { options = { %s }, iteration = function() end }"):format(case[1]))
      assert.are.equal(2, r.status, case[1] .. ": " .. r.stderr)
      assert.matches(path .. ": " .. case[2], r.stderr, 1, true)
    end
  end)
end)

describe("a failed setup", function()
  it("is the run's message; teardown is told and finds no setup fields", function()
    local marker = os.tmpname()
    local r = run_file(([[
      return {
        options = { duration = "1s" },
        setup = function() error("the database is down", 0) end,
        iteration = function() end,
        teardown = function(ctx)
          local f = assert(io.open(%q, "w"))
          f:write(tostring(ctx.setup_error), "|", tostring(ctx.twin))
          f:close()
        end,
      }]]):format(marker))
    local seen = support.read_file(marker)
    os.remove(marker)
    assert.are.equal(1, r.status)
    assert.matches("gofr-sim: setup failed: the database is down\n", r.stderr, 1, true)
    assert.is_nil(r.stderr:find("teardown failed", 1, true), r.stderr)
    assert.are.equal("the database is down|nil", seen)
    assert.matches("FAIL: setup failed: the database is down", r.stdout, 1, true)
  end)

  it("of load.lua (no fixture site to serve) stops cleanly, its own error shown", function()
    local r = support.run_cli { LOAD, "--fixtures-dir", "/nonexistent/pages", "--duration", "1s" }
    assert.are.equal(2, r.status)
    assert.matches("--fixtures-dir", r.stderr, 1, true)
    assert.is_nil(r.stderr:find("attempt to", 1, true), r.stderr)
  end)
end)

describe("output paths", function()
  it("are checked before the run: exit 2 at once, naming the flag", function()
    local dir = tmpdir()
    os.execute("chmod 0555 " .. q(dir))
    local writable = support.sh_ok("touch " .. q(dir .. "/probe") .. " 2>/dev/null")
    os.execute("rm -f " .. q(dir .. "/probe"))
    for _, case in ipairs {
      { "--output", dir, ("'%s' is a directory"):format(dir) },
      { "--html", "/dev/null/x/report.html", "cannot create directory '/dev/null/x'" },
      { "--output", dir .. "/sub/report.json", writable and "" or "cannot create directory" },
      { "--html", dir .. "/r.html", writable and "" or "cannot write in" },
    } do
      if case[3] ~= "" then -- root may write into a read-only directory: nothing to refuse then
        local t0 = os.time()
        local r = support.run_cli { LOAD, "--duration", "20s", case[1], case[2] }
        assert.are.equal(2, r.status, case[2] .. ": " .. r.stdout .. r.stderr)
        assert.matches(case[1] .. ": " .. case[3], r.stderr, 1, true)
        assert.are.equal("", r.stdout) -- no run, no summary
        assert.is_true(os.time() - t0 < 10)
      end
    end
    -- the matrix's --junit too, before any cell runs
    local r = support.run_cli { "matrix", support.source_dir .. "/ci/matrix.lua", "--junit", dir,
      "--out-dir", dir .. "/cells" }
    assert.are.equal(2, r.status, r.stdout .. r.stderr)
    assert.matches(("--junit: '%s' is a directory"):format(dir), r.stderr, 1, true)
    assert.are.equal("", r.stdout)
    os.execute("chmod 0755 " .. q(dir) .. "; rm -rf " .. q(dir))
  end)

  it("are written whole and leave no temporary file; a killed writer's leftovers go", function()
    local dir = tmpdir()
    -- what a run SIGKILLed between creating and renaming its report left
    local dead = io.popen("sh -c 'echo $$'"):read("*l")
    local stale = ("%s/.report.json.%s.0badf00d.tmp"):format(dir, dead)
    assert(io.open(stale, "w")):close()
    local r = support.run_cli { LOAD, "--protocol", "http", "--total-requests", "3", "--quiet",
      "--output", dir .. "/report.json", "--html", dir .. "/report.html" }
    assert.are.equal(0, r.status, r.stderr)
    assert.are.same({ "report.html", "report.json" }, ls(dir))
    assert.truthy(require("cjson").decode(support.read_file(dir .. "/report.json")).verdict.ok)
    os.execute("rm -rf " .. q(dir))
  end)
end)

describe("the embedded twin's data directory", function()
  local function twin_dirs(root)
    local out = {}
    for _, name in ipairs(ls(root)) do
      if name:match("^gofr%-sim%-twin%.") then out[#out + 1] = name end
    end
    return out
  end

  it("goes with the run, and a SIGKILLed run's is swept by the next one", function()
    local root = tmpdir()
    local env = "TMPDIR=" .. q(root) .. " "
    local run = env .. q(support.bin) .. " " .. q(LOAD) .. " --quiet "
    assert(support.sh_ok(run .. "--duration 1s >/dev/null 2>&1"))
    assert.are.same({}, twin_dirs(root))
    -- a run killed with SIGKILL cannot clean up ...
    os.execute(("bash -c %s"):format(q(run .. "--duration 30s >/dev/null 2>&1 & pid=$!; "
      .. "for i in $(seq 100); do ls " .. q(root) .. " | grep -q gofr-sim-twin && break; sleep 0.05; done; "
      .. "kill -9 $pid; wait $pid")))
    local left = twin_dirs(root)
    assert.are.equal(1, #left)
    -- ... the next run removes what it left, not what a live run has
    local live = ("gofr-sim-twin.%d.1"):format(1) -- pid 1 is alive
    assert(os.execute("mkdir " .. q(root .. "/" .. live)))
    assert(support.sh_ok(run .. "--duration 1s >/dev/null 2>&1"))
    assert.are.same({ live }, twin_dirs(root))
    os.execute("rm -rf " .. q(root))
  end)
end)
