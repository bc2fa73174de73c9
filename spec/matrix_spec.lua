-- gofr-sim matrix through the executable: cells run as child processes
-- (core.spawn_process), the summary, the reports, the JUnit file (parsed
-- by python3's strict XML parser and checked for the structure CI systems
-- read), --filter, --parallel, expected failures and bad matrix files.
local cjson = require "cjson"
local support = require "support"
local junit = require "gofr_sim.report.junit"

local SRC = support.source_dir
if SRC:sub(1, 1) ~= "/" then SRC = assert(io.popen("pwd")):read("*l") .. "/" .. SRC end

-- Parses a JUnit file with xml.etree, checks that every testsuite's counts
-- match its testcases and the testsuites totals match the suites, and
-- prints the suites as JSON.
local VALIDATOR = [[
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites, totals = [], {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
for s in root:
    assert s.tag == "testsuite", s.tag
    for a in ("name", "tests", "failures", "errors", "skipped", "time", "timestamp",
              "hostname", "id", "package"):
        assert a in s.attrib, (s.attrib.get("name"), a)
    float(s.get("time"))
    cases = []
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    tags = [c.tag for c in s]
    assert tags[-2:] == ["system-out", "system-err"], tags[-2:]
    for c in s.findall("testcase"):
        assert c.get("name") and c.get("classname") == s.get("name"), c.attrib
        float(c.get("time"))
        counts["tests"] += 1
        case = {"name": c.get("name")}
        for kind, key in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
            e = c.find(kind)
            if e is not None:
                counts[key] += 1
                case[kind] = e.get("message")
        cases.append(case)
    for k in counts:
        assert int(s.get(k)) == counts[k], (s.get("name"), k, s.get(k), counts[k])
        totals[k] += counts[k]
    suites.append({"name": s.get("name"), "cases": cases, "counts": counts})
for k in totals:
    assert int(root.get(k)) == totals[k], (k, root.get(k), totals[k])
print(json.dumps(suites))
]]

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- -> suites (decoded), or fails the test with python's message.
local function validate_junit(path)
  local script = os.tmpname()
  write(script, VALIDATOR)
  local p = assert(io.popen(("python3 %s %s 2>&1"):format(script, support.shell_quote(path))))
  local out = p:read("*a")
  p:close()
  os.remove(script)
  local ok, suites = pcall(cjson.decode, out)
  assert(ok and type(suites) == "table", "invalid JUnit: " .. out)
  return suites
end

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(support.sh_ok("mkdir -p " .. support.shell_quote(dir)))
  return dir
end

-- Writes a matrix file of cells (Lua source of the cells table) with root
-- at the source tree; -> its path and the directory.
local function matrix_file(cells_src)
  local dir = tmpdir()
  local path = dir .. "/matrix.lua"
  write(path, ("return { root = %q, cells = %s }"):format(SRC, cells_src))
  return path, dir
end

-- Runs `gofr-sim matrix path args...` with --out-dir and --junit in dir.
local function run_matrix(path, dir, args)
  local full = { "matrix", path, "--out-dir", dir .. "/out", "--junit", dir .. "/junit.xml" }
  for _, a in ipairs(args or {}) do full[#full + 1] = a end
  return support.run_cli(full)
end

local function read_json(path)
  local text = support.read_file(path)
  assert(text, "missing " .. path)
  return cjson.decode(text)
end

local function suite_named(suites, name)
  for _, s in ipairs(suites) do if s.name == name then return s end end
  return nil
end

local function case_named(suite, name)
  for _, c in ipairs(suite.cases) do if c.name == name then return c end end
  return nil
end

local QUICK_CELLS = [[{
  { name = "session", scenario = "scenarios/session_lifecycle.lua", flags = { "--pages", "1" },
    env = { GOFR_DIG_RATE_LIMIT_CALLS = "100000" } },
  { name = "rate-limit", scenario = "scenarios/rate_limit.lua", flags = { "--rate-limit-window", 1 } },
}]]

describe("gofr-sim matrix", function()
  it("runs a small matrix to exit 0 with a report per cell and valid JUnit naming every check",
    function()
      local path, dir = matrix_file(QUICK_CELLS)
      local r = run_matrix(path, dir, { "--parallel", "2" })
      assert.are.equal(0, r.status, r.stdout .. r.stderr)
      assert.matches("session%s+pass", r.stdout)
      assert.matches("rate%-limit%s+pass", r.stdout)
      assert.matches("2 of 2 cells met their expectation", r.stdout)
      local suites = validate_junit(dir .. "/junit.xml")
      assert.are.equal(2, #suites)
      for _, name in ipairs { "session", "rate-limit" } do
        local rep = read_json(dir .. "/out/" .. name .. ".json")
        local suite = assert(suite_named(suites, name), name)
        local n = 0
        for check, c in pairs(rep.checks) do
          n = n + 1
          assert.are.equal(0, c.fails, check)
          local case = case_named(suite, check)
          assert.is_table(case, "no testcase for check: " .. check)
          assert.is_nil(case.failure)
        end
        assert.is_true(n > 5, name)
        assert.are.equal(0, suite.counts.failures + suite.counts.errors)
        assert.are.equal(n, suite.counts.tests)
      end
      local m = read_json(dir .. "/out/matrix.json")
      assert.are.equal(2, #m.cells)
      assert.are.equal("pass", m.cells[1].status)
      assert.is_true(m.cells[1].met)
    end)

  it("fails (exit 1) when a cell runs against a broken twin; JUnit names the failing check",
    function()
      local path, dir = matrix_file([[{
        { name = "session", scenario = "scenarios/session_lifecycle.lua", flags = { "--pages", "1" } },
        { name = "broken-rl", scenario = "scenarios/rate_limit.lua",
          flags = { "--twin-faults", "no_rate_limit" } },
      }]])
      local r = run_matrix(path, dir)
      assert.are.equal(1, r.status, r.stdout .. r.stderr)
      assert.matches("broken%-rl%s+FAIL", r.stdout)
      assert.matches("session%s+pass", r.stdout)
      local suites = validate_junit(dir .. "/junit.xml")
      local suite = assert(suite_named(suites, "broken-rl"))
      assert.is_true(suite.counts.failures > 0)
      local case = case_named(suite, "apac's call 11 in the window is RATE_LIMIT_EXCEEDED")
      assert.is_table(case)
      assert.are.equal("observed passed; bound 0 failures (1 of 1 failed)", case.failure)
      assert.are.equal(0, suite_named(suites, "session").counts.failures)
    end)

  it("counts a cell with expect = \"fail\" that fails as met (xfail, skipped in JUnit)", function()
    local path, dir = matrix_file([[{
      { name = "demo", scenario = "scenarios/rate_limit.lua", expect = "fail",
        flags = { "--twin-faults", "no_rate_limit" } },
    }]])
    local r = run_matrix(path, dir)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("demo%s+xfail", r.stdout)
    local suite = validate_junit(dir .. "/junit.xml")[1]
    assert.are.equal(0, suite.counts.failures)
    assert.is_true(suite.counts.skipped > 0)
    local case = case_named(suite, "apac's call 11 in the window is RATE_LIMIT_EXCEEDED")
    assert.matches("^expected failure: observed passed", case.skipped)
  end)

  it("reports a cell that cannot run as an error, with a JUnit <error>", function()
    local path, dir = matrix_file([[{
      { name = "missing", scenario = "scenarios/no_such_scenario.lua" },
      { name = "bad-flag", scenario = "scenarios/rate_limit.lua", flags = { "--no-such-flag", "1" } },
    }]])
    local r = run_matrix(path, dir)
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("missing%s+error", r.stdout)
    local suites = validate_junit(dir .. "/junit.xml")
    for _, name in ipairs { "missing", "bad-flag" } do
      local suite = suite_named(suites, name)
      assert.are.equal(1, suite.counts.errors, name)
      assert.matches("usage error", case_named(suite, "run").error)
    end
  end)

  it("--filter picks cells by name or glob; --list lists them", function()
    local path, dir = matrix_file(QUICK_CELLS)
    local r = run_matrix(path, dir, { "--filter", "sess*" })
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local suites = validate_junit(dir .. "/junit.xml")
    assert.are.equal(1, #suites)
    assert.are.equal("session", suites[1].name)
    assert.is_nil(support.read_file(dir .. "/out/rate-limit.json"))
    r = run_matrix(path, dir, { "--filter", "nothing-like-this" })
    assert.are.equal(2, r.status)
    assert.matches("matches no cell %(cells: session, rate%-limit%)", r.stderr)
    r = support.run_cli { "matrix", path, "--list", "--filter", "rate-limit,session" }
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("session\nrate-limit\n", r.stdout)
  end)

  it("--list aligns the descriptions in a column", function()
    local path = matrix_file([[{
      { name = "a", scenario = "s.lua", description = "first" },
      { name = "longer-name", scenario = "s.lua", description = "second" },
      { name = "bare", scenario = "s.lua" },
    }]])
    local r = support.run_cli { "matrix", path, "--list" }
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("a            first\nlonger-name  second\nbare\n", r.stdout)
  end)

  -- A scenario whose checks and thresholds fail as told: checks "always
  -- passes", "always fails", "fails too"; thresholds come from the cell.
  local function checks_scenario()
    local dir = tmpdir()
    local path = dir .. "/checks.lua"
    write(path, [[
      local sim = require "gofr_sim"
      return { iteration = function()
        sim.check(true, "always passes")
        sim.check(false, "always fails")
        sim.check(false, "fails too")
      end }
    ]])
    return path
  end
  local RUN3 = [["--total-requests", "3", "--consumers", "1"]]

  it("expect = { fail = {...} } is met when exactly the named checks and thresholds fail", function()
    local sc = checks_scenario()
    local path, dir = matrix_file(([[{
      { name = "named", scenario = %q, expect = { fail = { "always fails", "fails too", "iterations>100" } },
        flags = { %s, "--threshold", "iterations > 100", "--threshold", "iterations > 1" } },
    }]]):format(sc, RUN3))
    local r = run_matrix(path, dir)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("named%s+xfail", r.stdout)
    local suite = validate_junit(dir .. "/junit.xml")[1]
    assert.are.equal(0, suite.counts.failures)
    assert.are.equal(3, suite.counts.skipped) -- two checks, one threshold
    assert.matches("^expected failure: ", case_named(suite, "threshold iterations > 100").skipped)
    local m = read_json(dir .. "/out/matrix.json")
    assert.are.same({ "always fails", "fails too", "iterations>100" }, m.cells[1].expect_failing)
    assert.are.equal("fail", m.cells[1].expect)
    assert.is_true(m.cells[1].met)
  end)

  it("expect = { fail = {...} } that names other failures than happened: FAIL, naming each difference",
    function()
      local sc = checks_scenario()
      local path, dir = matrix_file(([[{
        { name = "off", scenario = %q, flags = { %s, "--threshold", "iterations > 1" },
          expect = { fail = { "always fails", "always passes", "iterations > 1", "no such thing" } } },
      }]]):format(sc, RUN3))
      local r = run_matrix(path, dir)
      assert.are.equal(1, r.status, r.stdout .. r.stderr)
      assert.matches("off%s+FAIL", r.stdout)
      local why = 'not the expected failures (expect.fail): also failed: "fails too"; did not fail: '
        .. '"always passes", "iterations > 1"; no such check or threshold in the report: "no such thing"'
      assert.matches(why, r.stdout, 1, true)
      local m = read_json(dir .. "/out/matrix.json")
      assert.is_false(m.cells[1].met)
      assert.matches(why, m.cells[1].why, 1, true)
      local suite = validate_junit(dir .. "/junit.xml")[1]
      assert.are.equal(why, case_named(suite, "expected failures").failure)
      assert.is_string(case_named(suite, "fails too").failure) -- failures stay failures
    end)

  it("expect = { fail = {...} } on a cell that passes is XPASS", function()
    local path, dir = matrix_file([[{
      { name = "passes", scenario = "scenarios/rate_limit.lua", flags = { "--rate-limit-window", 1 },
        expect = { fail = { "ping is exempt: 20 pings in a row all pass" } } },
    }]])
    local r = run_matrix(path, dir)
    assert.are.equal(1, r.status, r.stdout .. r.stderr)
    assert.matches("passes%s+XPASS", r.stdout)
  end)

  it("--parallel 2 runs cells at the same time; --parallel 1 one after another", function()
    local path, dir = matrix_file([[{
      { name = "a", scenario = "scenarios/rate_limit.lua", flags = { "--rate-limit-window", "1" } },
      { name = "b", scenario = "scenarios/rate_limit.lua", flags = { "--rate-limit-window", "1" } },
    }]])
    local function spans(parallel)
      local r = run_matrix(path, dir, { "--parallel", parallel })
      assert.are.equal(0, r.status, r.stdout .. r.stderr)
      local m = read_json(dir .. "/out/matrix.json")
      return m.cells[1], m.cells[2]
    end
    local a, b = spans("2")
    assert.is_true(a.started_seconds < b.finished_seconds and b.started_seconds < a.finished_seconds,
      cjson.encode { a, b })
    a, b = spans("1")
    assert.is_true(b.started_seconds >= a.finished_seconds, cjson.encode { a, b })
  end)

  it("refuses bad matrix files with exit 2, naming the cell and the key", function()
    local cases = {
      { "{ { name = 'x', scenario = 's.lua', flagz = {} } }",
        "cell 1 %('x'%): unknown key 'flagz' %(did you mean 'flags'%?%)" },
      { "{ { name = 'x' } }", "cell 1 %('x'%): 'scenario' is required" },
      { "{ { scenario = 's.lua' } }", "cell 1: 'name' is required" },
      { "{ { name = 'x', scenario = 's.lua' }, { name = 'x', scenario = 't.lua' } }",
        "cell 2 %('x'%): 'name' repeats cell 1's" },
      { "{ { name = 'x', scenario = 's.lua', expect = 'maybe' } }",
        "cell 1 %('x'%): 'expect' must be \"pass\", \"fail\" or { fail = {" },
      { "{ { name = 'x', scenario = 's.lua', expect = { fail = 'p95 < 1s' } } }",
        "cell 1 %('x'%): 'expect.fail' must be an array of check or threshold names, got string" },
      { "{ { name = 'x', scenario = 's.lua', expect = { fail = {} } } }",
        "cell 1 %('x'%): 'expect.fail' is empty" },
      { "{ { name = 'x', scenario = 's.lua', expect = { pass = { 'a' } } } }",
        "cell 1 %('x'%): 'expect' must be .*; unknown key 'pass'" },
      { "{ { name = 'x', scenario = 's.lua', expect = { fail = { 'a', 2 } } } }",
        "cell 1 %('x'%): expect.fail%[2%] must be a check or threshold name %(a non%-empty "
          .. "string%), got number" },
      { "{ { name = 'x', scenario = 's.lua', expect = { fail = { 'a', 'a' } } } }",
        "cell 1 %('x'%): expect.fail%[2%] repeats expect.fail%[1%] %('a'%)" },
      { "{ { name = 'x', scenario = 's.lua', expect = { fail = { a = 'b' } } } }",
        "cell 1 %('x'%): 'expect.fail' is empty" },
      { "{ { name = 'x', scenario = 's.lua', flags = { '--a', {} } } }",
        "cell 1 %('x'%): flags%[2%] must be a string or a number" },
      { "{ { name = 'x', scenario = 's.lua', flags = { '--output', 'o.json' } } }",
        "cell 1 %('x'%): 'flags' may not set %-%-output" },
      { "{ { name = 'x', scenario = 's.lua', env = { A = {} } } }",
        "cell 1 %('x'%): env: A must be a string" },
      { "{ { name = 'x', scenario = 's.lua', timeout = 'soon' } }", "cell 1 %('x'%): 'timeout':" },
      { "{ { name = 'x y', scenario = 's.lua' } }", "cell 1 %('x y'%): 'name' may use only" },
      { "{ { name = 'x', scenario = 's.lua', target = 'ftp://h' } }", "'target' must be an http%(s%) URL" },
      { "{}", "the matrix has no cells" },
    }
    for _, c in ipairs(cases) do
      local path, dir = matrix_file(c[1])
      local r = run_matrix(path, dir)
      assert.are.equal(2, r.status, c[1] .. "\n" .. r.stdout .. r.stderr)
      assert.matches(c[2], r.stderr, 1, false)
      assert.is_nil(support.read_file(dir .. "/junit.xml"))
    end
    local r = support.run_cli { "matrix", "/nonexistent/matrix.lua" }
    assert.are.equal(2, r.status)
    assert.matches("cannot open the matrix file", r.stderr)
    r = support.run_cli { "matrix" }
    assert.are.equal(2, r.status)
  end)
end)

describe("gofr_sim.report.junit", function()
  it("cleans U+FFFE and U+FFFF, which XML forbids, wherever they are", function()
    assert.are.equal("a?b?", junit.clean("a\239\191\190b\239\191\191"))
    assert.are.equal("?x", junit.clean("\239\191\191x"))
    assert.are.equal("\239\191\189 \239\191\189", junit.clean("\239\191\189 \239\191\189")) -- U+FFFD stays
  end)

  it("escapes markup, quotes, newlines, control characters and invalid UTF-8", function()
    local nasty = "a<b>&\"c'\n\t\1\2\31 \255\192\128 ok é 漢 \237\160\128"
    local xml = junit.encode({ {
      name = "s<1>", time = 1.5, timestamp = "2025-01-02T03:04:05",
      properties = { { "flags", nasty } },
      cases = {
        { name = nasty, classname = "s<1>", time = 0.25,
          failure = { message = nasty, text = nasty .. "]]>" } },
        { name = "ok", classname = "s<1>", time = 0 },
        { name = "err", classname = "s<1>", error = { message = "boom" } },
      },
      system_err = nasty,
    } })
    local dir = tmpdir()
    write(dir .. "/j.xml", xml)
    local suites = validate_junit(dir .. "/j.xml")
    local s = suites[1]
    assert.are.equal("s<1>", s.name)
    assert.are.same({ tests = 3, failures = 1, errors = 1, skipped = 0 }, s.counts)
    local expect = "a<b>&\"c'\n\t??? ??? ok é 漢 ???"
    assert.are.equal(expect, s.cases[1].name)
    assert.are.equal(expect, s.cases[1].failure)
    assert.are.equal("boom", s.cases[3].error)
  end)
end)
