--- gofr-sim matrix FILE: runs a matrix of scenario cells, each in its own
-- gofr-sim child process (its own twin, ports and data directory), N at a
-- time, and writes a summary table, a JSON report per cell, matrix.json and
-- optionally JUnit XML (docs/ci.md).
--
-- A matrix file returns { root = "..", cells = { cell, ... } } or just the
-- array of cells. root (default ".") is relative to the matrix file's
-- directory; the children run there, so a cell's scenario and any relative
-- path in its flags are relative to root. A cell:
--   { name = "load-closed",                 -- [%w_.-]+, unique
--     scenario = "scenarios/load.lua",
--     flags = { "--duration", "5s" },       -- passed verbatim (strings or numbers)
--     env = { GOFR_DIG_RATE_LIMIT_CALLS = "100000" },  -- added to the child's
--     target = nil | "http://host:8070/mcp", -- adds --mcp-url
--     expect = "pass" | "fail"              -- default "pass"
--       | { fail = { "a check's name", "p95 < 500ms", ... } },  -- exactly these fail
--     timeout = "10m",                      -- SIGTERM after this long
--     description = "..." }
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local json = require "gofr_sim.util.json"
local build = require "gofr_sim.report.build"
local write = require "gofr_sim.report.write"
local junit = require "gofr_sim.report.junit"
local fs = require "gofr_sim.util.fs"
local suggest = require "gofr_sim.util.suggest"
local common = require "gofr_sim.cli.common"
local verdict = require "gofr_sim.runner.verdict"

local type, tostring, pairs, ipairs, error = type, tostring, pairs, ipairs, error
local format, concat, sort = string.format, table.concat, table.sort
local io, os = io, os

local M = {}

local CELL_KEYS = { name = "string", scenario = "string", flags = "table", env = "table",
                    target = "string", expect = "string|table", timeout = "string|number",
                    description = "string" }
local FILE_KEYS = { root = "string", cells = "table" }

local function bad(path, msg)
  cli.usage_error(("%s: %s"):format(path, msg))
end

local function check_type(path, where, key, v, want)
  local t = type(v)
  if not want:find(t, 1, true) then
    bad(path, ("%s: '%s' must be a %s, got %s"):format(where, key, want:gsub("|", " or "), t))
  end
end

local function validate_flags(path, where, flags)
  for i = 1, #flags do
    local f = flags[i]
    if type(f) ~= "string" and type(f) ~= "number" then
      bad(path, ("%s: flags[%d] must be a string or a number, got %s"):format(where, i, type(f)))
    end
    flags[i] = tostring(f)
  end
  for k in pairs(flags) do
    if type(k) ~= "number" or k < 1 or k > #flags or k % 1 ~= 0 then
      bad(path, ("%s: 'flags' must be an array of strings, has key '%s'"):format(where, tostring(k)))
    end
  end
end

local function validate_env(path, where, env)
  for k, v in pairs(env) do
    if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
      bad(path, ("%s: env: '%s' is not a variable name"):format(where, tostring(k)))
    end
    if type(v) == "number" or type(v) == "boolean" then v = tostring(v) end
    if type(v) ~= "string" then
      bad(path, ("%s: env: %s must be a string, got %s"):format(where, k, type(v)))
    end
    env[k] = v
  end
end

-- The names of expect = { fail = {...} }, checked: a non-empty array of
-- distinct non-empty strings, no other key. -> the array (a copy).
local function validate_expect_failing(path, where, expect)
  local shape = 'must be "pass", "fail" or { fail = { "check name", "threshold", ... } }'
  for k in pairs(expect) do
    if k ~= "fail" then
      bad(path, ("%s: 'expect' %s; unknown key '%s'"):format(where, shape, tostring(k)))
    end
  end
  local list = expect.fail
  if type(list) ~= "table" then
    bad(path, ("%s: 'expect.fail' must be an array of check or threshold names, got %s")
      :format(where, type(list)))
  end
  if #list == 0 then
    bad(path, ("%s: 'expect.fail' is empty (name the checks or thresholds that must fail, "
      .. "or write expect = \"fail\")"):format(where))
  end
  local names, seen = {}, {}
  for k in pairs(list) do
    if type(k) ~= "number" or k < 1 or k > #list or k % 1 ~= 0 then
      bad(path, ("%s: 'expect.fail' must be an array, has key '%s'"):format(where, tostring(k)))
    end
  end
  for i, name in ipairs(list) do
    if type(name) ~= "string" or name:match("^%s*$") then
      bad(path, ("%s: expect.fail[%d] must be a check or threshold name (a non-empty string), got %s")
        :format(where, i, type(name) == "string" and "''" or type(name)))
    end
    if seen[name] then
      bad(path, ("%s: expect.fail[%d] repeats expect.fail[%d] ('%s')"):format(where, i, seen[name], name))
    end
    seen[name], names[i] = i, name
  end
  return names
end

--- Checks one cell (index i of file path); usage errors name the cell and key.
function M.validate_cell(cell, i, path, seen)
  local where = ("cell %d"):format(i)
  if type(cell) ~= "table" then bad(path, ("%s must be a table, got %s"):format(where, type(cell))) end
  if type(cell.name) == "string" then where = ("cell %d ('%s')"):format(i, cell.name) end
  for k, v in pairs(cell) do
    local want = CELL_KEYS[k]
    if not want then
      bad(path, ("%s: unknown key '%s'%s"):format(where, tostring(k),
        suggest.clause(tostring(k), CELL_KEYS, { most = 32 })))
    end
    check_type(path, where, k, v, want)
  end
  if not cell.name then bad(path, where .. ": 'name' is required") end
  if not cell.name:match("^[%w_.-]+$") then
    bad(path, ("%s: 'name' may use only letters, digits, '_', '.' and '-'"):format(where))
  end
  if seen[cell.name] then
    bad(path, ("%s: 'name' repeats cell %d's"):format(where, seen[cell.name]))
  end
  seen[cell.name] = i
  if not cell.scenario then bad(path, where .. ": 'scenario' is required") end
  cell.flags = cell.flags or {}
  validate_flags(path, where, cell.flags)
  for _, f in ipairs(cell.flags) do
    if f == "--output" or f:match("^%-%-output=") or f == "--html" or f:match("^%-%-html=") then
      bad(path, where .. ": 'flags' may not set --output or --html (the matrix writes "
        .. "<out-dir>/<cell>.json and <cell>.html)")
    end
  end
  cell.env = cell.env or {}
  validate_env(path, where, cell.env)
  cell.expect = cell.expect or "pass"
  if type(cell.expect) == "table" then
    cell.expect_failing = validate_expect_failing(path, where, cell.expect)
    cell.expect = "fail"
  elseif cell.expect ~= "pass" and cell.expect ~= "fail" then
    bad(path, ("%s: 'expect' must be \"pass\", \"fail\" or { fail = { \"check name\", \"threshold\", "
      .. "... } }, got \"%s\""):format(where, cell.expect))
  end
  if cell.target and not cell.target:match("^https?://") then
    bad(path, ("%s: 'target' must be an http(s) URL, got '%s'"):format(where, cell.target))
  end
  if cell.timeout ~= nil then
    local t, why = cell.timeout, nil
    if type(t) == "string" then t, why = cli.duration(t) end
    if not t or t <= 0 then bad(path, ("%s: 'timeout': %s"):format(where, why or "must be > 0")) end
    cell.timeout = t
  end
  return cell
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

local function absolute(path, cwd)
  if path:sub(1, 1) == "/" then return path end
  return cwd .. "/" .. path
end

--- Loads and checks matrix file `path`; -> {root=, cells=} (root absolute).
-- Usage errors (exit 2) name the file, the cell and the key.
function M.load(path, cwd)
  local chunk, err = loadfile(path)
  if not chunk then
    if io.open(path, "r") == nil then bad(path, "cannot open the matrix file") end
    bad(path, "syntax error: " .. tostring(err))
  end
  local ok, m = pcall(chunk)
  if not ok then bad(path, "error while loading: " .. tostring(m)) end
  if type(m) ~= "table" then bad(path, "a matrix file must return a table, got " .. type(m)) end
  if m.cells == nil and m[1] ~= nil then m = { cells = m } end
  for k, v in pairs(m) do
    if not FILE_KEYS[k] then
      bad(path, ("unknown key '%s' (accepted: cells, root; or return the array of cells)")
        :format(tostring(k)))
    end
    check_type(path, "the matrix", k, v, FILE_KEYS[k])
  end
  if not m.cells or #m.cells == 0 then bad(path, "the matrix has no cells") end
  local seen, cells = {}, {}
  for i = 1, #m.cells do cells[i] = M.validate_cell(m.cells[i], i, path, seen) end
  local root = absolute(dirname(path), cwd)
  if m.root then root = absolute(m.root, root) end
  return { root = root, cells = cells }
end

-- Filters ---------------------------------------------------------------------

local function glob_pattern(glob)
  return "^" .. glob:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".") .. "$"
end

--- The cells whose name matches one of the comma-separated globs of
-- `filter` (`*`, `?`); all of them when filter is nil.
function M.select(cells, filter)
  if not filter then return cells end
  local picked, terms = {}, {}
  for term in filter:gmatch("[^,%s]+") do terms[#terms + 1] = glob_pattern(term) end
  if #terms == 0 then cli.usage_error("--filter: give cell names or globs (e.g. load-*)") end
  for _, cell in ipairs(cells) do
    for _, pat in ipairs(terms) do
      if cell.name:match(pat) then
        picked[#picked + 1] = cell
        break
      end
    end
  end
  if #picked == 0 then
    local names = {}
    for i, c in ipairs(cells) do names[i] = c.name end
    cli.usage_error(("--filter '%s' matches no cell (cells: %s)"):format(filter, concat(names, ", ")))
  end
  return picked
end

--- The --list text of cells: one line each, the name padded to the longest
-- and then the description (none: the name alone, no trailing blanks).
function M.listing(cells)
  local width = 0
  for _, c in ipairs(cells) do width = math.max(width, #c.name) end
  local lines = {}
  for i, c in ipairs(cells) do
    lines[i] = c.description and c.description ~= ""
      and c.name .. (" "):rep(width - #c.name + 2) .. c.description or c.name
  end
  return concat(lines, "\n") .. "\n"
end

-- Running a cell --------------------------------------------------------------

-- The last `n` lines of text.
local function tail(text, n)
  local lines = {}
  for line in (text or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  local from = math.max(1, #lines - n + 1)
  return concat(lines, "\n", from, #lines)
end

local function fresh_dir(base)
  local dir = os.tmpname()
  os.remove(dir)
  dir = dir .. "-gofr-sim-" .. base
  local ok, err_type, msg = core.fs_mkdirs(dir)
  if not ok then error(("cannot create a data directory: %s (%s)"):format(msg, err_type), 0) end
  return dir
end

-- The child's argv for cell c.
local function argv_of(run, c)
  local args = { "gofr-sim", c.scenario }
  for _, f in ipairs(c.flags) do args[#args + 1] = f end
  if c.target then
    args[#args + 1] = "--mcp-url"
    args[#args + 1] = c.target
  end
  for _, a in ipairs { "--output", c.report, "--html", c.html, "--quiet" } do args[#args + 1] = a end
  if run.seed then
    local has_seed = false
    for _, f in ipairs(c.flags) do if f == "--seed" or f:match("^%-%-seed=") then has_seed = true end end
    if not has_seed then
      args[#args + 1] = "--seed"
      args[#args + 1] = tostring(run.seed)
    end
  end
  return args
end

-- What a finished child's exit means: "pass", "fail" or "error" and why.
local function outcome(res, rep)
  if res.timed_out then return "error", "timed out (SIGTERM sent)" end
  if res.signal ~= 0 then return "error", ("killed by signal %d"):format(res.signal) end
  local st = res.status
  if st == 0 and rep then return "pass" end
  if (st == 1 or st == 99) and rep then return "fail", ("exit status %d"):format(st) end
  if st == 2 then return "error", "usage error (exit status 2)" end
  if st == 0 then return "error", "exit status 0 but no report was written" end
  return "error", ("exit status %d%s"):format(st, rep and "" or ", no report")
end

-- A threshold's name: its key and condition as --threshold writes them
-- ("p95{tool=mcp.get_content} < 5s"); compared without blanks.
local function threshold_name(th)
  return ("%s %s"):format(tostring(th.key), tostring(th.condition))
end

local function squeeze(s)
  return (s:gsub("%s+", ""))
end

--- What report rep failed, by name: {name = true} of its failed checks
-- (report.checks' names), failed thresholds ("key condition") and, for an
-- unhealthy run, the verdict's rules ("no_success", ...); and a resolver
-- from a name as a matrix cell writes it to that name (thresholds match
-- without blanks), or nil when the report has no such check, threshold or
-- rule.
function M.failures(rep)
  local failed, known, thresholds = {}, {}, {}
  for name, ch in pairs(rep and rep.checks or {}) do
    known[name] = true
    if ch.fails > 0 then failed[name] = true end
  end
  for _, th in ipairs(rep and rep.thresholds or {}) do
    local name = threshold_name(th)
    thresholds[squeeze(name)] = name
    if th.ok ~= true then failed[name] = true end
  end
  for _, rule in ipairs(verdict.RULES) do known[rule] = true end
  local v = rep and rep.verdict
  if type(v) == "table" and v.healthy == false then
    for _, p in ipairs(type(v.problems) == "table" and v.problems or {}) do
      failed[tostring(p.rule)] = true
    end
  end
  local function resolve(name)
    if known[name] then return name end
    return thresholds[squeeze(name)]
  end
  return failed, resolve
end

local function quoted(list)
  sort(list)
  for i, s in ipairs(list) do list[i] = '"' .. s .. '"' end
  return concat(list, ", ")
end

--- nil when exactly the checks, thresholds and rules of `names` failed in
-- report rep; else one sentence naming the differences: what failed that is
-- not named, what is named and did not fail, and names the report lacks.
function M.compare_failures(names, rep)
  local failed, resolve = M.failures(rep)
  local named, passed, unknown, extra = {}, {}, {}, {}
  for _, n in ipairs(names) do
    local name = resolve(n)
    if not name then unknown[#unknown + 1] = n
    else
      named[name] = true
      if not failed[name] then passed[#passed + 1] = n end
    end
  end
  for name in pairs(failed) do
    if not named[name] then extra[#extra + 1] = name end
  end
  if #extra == 0 and #passed == 0 and #unknown == 0 then return nil end
  local parts = {}
  if #extra > 0 then parts[#parts + 1] = "also failed: " .. quoted(extra) end
  if #passed > 0 then parts[#parts + 1] = "did not fail: " .. quoted(passed) end
  if #unknown > 0 then
    parts[#parts + 1] = "no such check or threshold in the report: " .. quoted(unknown)
  end
  return "not the expected failures (expect.fail): " .. concat(parts, "; ")
end

-- Runs cell c to completion (in a persona); fills c.result.
local function run_cell(run, c)
  local base = run.out_dir .. "/" .. c.name
  c.report, c.html = base .. ".json", base .. ".html"
  c.stdout_path, c.stderr_path = base .. ".stdout.txt", base .. ".stderr.txt"
  os.remove(c.report)
  local env, own_data = {}, nil
  for k, v in pairs(c.env) do env[k] = v end
  if not env.GOFR_DIG_DATA_DIR then
    own_data = fresh_dir(c.name)
    env.GOFR_DIG_DATA_DIR = own_data
  end
  env.GOFR_SIM_MATRIX_CELL = c.name
  local t0 = sim.now()
  c.started = t0 - run.t0
  run.say(("start  %s"):format(c.name))
  local res, err_type, msg = core.spawn_process {
    file = run.exe, args = argv_of(run, c), env = env, cwd = run.root,
    stdout = c.stdout_path, stderr = c.stderr_path, timeout = c.timeout or run.timeout,
  }
  c.duration = sim.now() - t0
  c.finished = c.started + c.duration
  if own_data then fs.remove_tree(own_data) end
  local r = { stderr = fs.read_file(c.stderr_path) or "" }
  if not res then
    r.status, r.why = "error", ("cannot start gofr-sim: %s (%s)"):format(msg, err_type)
  else
    r.exit_status, r.signal = res.status, res.signal
    local text = fs.read_file(c.report)
    r.report = text and text ~= "" and write.decode(text) or nil
    r.status, r.why = outcome(res, r.report)
  end
  r.met = (r.status == "pass" and c.expect == "pass") or (r.status == "fail" and c.expect == "fail")
  if r.met and c.expect_failing then
    r.mismatch = M.compare_failures(c.expect_failing, r.report)
    if r.mismatch then r.met, r.why = false, r.why .. "; " .. r.mismatch end
  end
  c.result = r
  run.say(("%-6s %s (%.1fs)%s"):format(M.status_label(c), c.name, c.duration,
    r.why and ": " .. r.why or ""))
end

--- "pass", "FAIL", "error", "xfail" (failed as expected) or "XPASS" (passed
-- but was expected to fail). A cell whose expect.fail names other failures
-- than those that happened is "FAIL".
function M.status_label(c)
  local r = c.result
  if not r then return "-" end
  if r.status == "error" then return "error" end
  if c.expect == "fail" then
    if r.status ~= "fail" then return "XPASS" end
    return r.mismatch and "FAIL" or "xfail"
  end
  return r.status == "pass" and "pass" or "FAIL"
end

-- Counts of a report's checks and thresholds: passed, total.
local function tallies(rep)
  local cp, ct, tp, tt = 0, 0, 0, 0
  for _, ch in pairs(rep and rep.checks or {}) do
    ct = ct + 1
    if ch.fails == 0 then cp = cp + 1 end
  end
  for _, th in ipairs(rep and rep.thresholds or {}) do
    tt = tt + 1
    if th.ok == true then tp = tp + 1 end
  end
  return cp, ct, tp, tt
end

--- The terminal summary table of run cells.
function M.summary(cells, out_dir)
  local rows = { { "cell", "status", "checks", "thresholds", "time", "report" } }
  local npass = 0
  for _, c in ipairs(cells) do
    local r = c.result
    local cp, ct, tp, tt = tallies(r and r.report)
    if r and r.met then npass = npass + 1 end
    local rel = c.report and (c.report:sub(1, #out_dir + 1) == out_dir .. "/" and c.report:sub(#out_dir + 2)
      or c.report) or "-"
    rows[#rows + 1] = { c.name, M.status_label(c), ("%d/%d"):format(cp, ct), ("%d/%d"):format(tp, tt),
      c.duration and ("%.1fs"):format(c.duration) or "-", r and r.report and rel or "-" }
  end
  local widths = {}
  for _, row in ipairs(rows) do
    for j, v in ipairs(row) do widths[j] = math.max(widths[j] or 0, #v) end
  end
  local lines = {}
  for _, row in ipairs(rows) do
    local cols = {}
    for j, v in ipairs(row) do cols[j] = j < #row and v .. (" "):rep(widths[j] - #v) or v end
    lines[#lines + 1] = concat(cols, "  ")
  end
  lines[#lines + 1] = ("%d of %d cells met their expectation; reports in %s"):format(npass, #cells, out_dir)
  return concat(lines, "\n") .. "\n"
end

-- JUnit -------------------------------------------------------------------------

local function num(v)
  if type(v) ~= "number" then return tostring(v == nil and "none" or v) end
  if v == math.floor(v) and math.abs(v) < 1e15 then return format("%d", v) end
  return format("%.6g", v)
end

local function check_cases(c, rep, cases)
  local names = {}
  for name in pairs(rep.checks or {}) do names[#names + 1] = name end
  sort(names)
  for _, name in ipairs(names) do
    local ch = rep.checks[name]
    local case = { name = name, classname = c.name, time = 0 }
    if ch.fails > 0 then
      local observed = ch.observed ~= nil and ch.observed ~= build.null and tostring(ch.observed) or "none"
      case.failure = { type = "check",
        message = ("observed %s; bound 0 failures (%d of %d failed)")
          :format(observed, ch.fails, ch.fails + ch.passes) }
    end
    cases[#cases + 1] = case
  end
end

local function threshold_cases(c, rep, cases)
  for _, th in ipairs(rep.thresholds or {}) do
    local case = { name = ("threshold %s %s"):format(tostring(th.key), tostring(th.condition)),
                   classname = c.name, time = 0 }
    if th.ok ~= true then
      local value = th.value ~= build.null and th.value or nil
      case.failure = { type = "threshold",
        message = ("observed %s; bound %s %s (%s)"):format(num(value),
          tostring(th.condition):match("([<>=!]+)") or "",
          num(th.bound ~= build.null and th.bound or nil), tostring(th.message)) }
    end
    cases[#cases + 1] = case
  end
end

-- The run's verdict (gofr_sim.runner.verdict) as properties, and as a failed case
-- when the run was unhealthy (it did nothing useful).
local function verdict_case(c, rep, suite, cases)
  local res, v = rep.result or {}, rep.verdict
  local props = suite.properties
  props[#props + 1] = { "unexpected_errors", num(res.error_count) }
  props[#props + 1] = { "expected_outcomes", num(res.expected_count or 0) }
  if type(v) ~= "table" then return end
  props[#props + 1] = { "verdict", tostring(v.line) }
  if v.healthy == false then
    cases[#cases + 1] = { name = "verdict", classname = c.name, time = 0,
      failure = { type = "unhealthy", message = tostring(v.line) } }
  end
end

-- An expected failure is reported as skipped cases, so CI stays green.
local function expected_failures(cases)
  for _, case in ipairs(cases) do
    if case.failure then
      case.skipped = { message = "expected failure: " .. case.failure.message }
      case.failure = nil
    end
  end
end

--- The JUnit suite of run cell c.
function M.suite(c)
  local r = c.result
  local cases = {}
  local suite = { name = c.name, time = c.duration, timestamp = c.timestamp, cases = cases,
    properties = { { "scenario", c.scenario }, { "flags", concat(c.flags, " ") },
                   { "expect", c.expect }, { "report", c.report or "" } } }
  if c.expect_failing then
    local props = suite.properties
    props[#props + 1] = { "expect_failing", concat(c.expect_failing, "; ") }
  end
  if r.report then
    check_cases(c, r.report, cases)
    threshold_cases(c, r.report, cases)
    verdict_case(c, r.report, suite, cases)
  end
  if r.status == "error" then
    cases[#cases + 1] = { name = "run", classname = c.name, time = c.duration,
      error = { type = "error", message = r.why, text = tail(r.stderr, 40) } }
  elseif r.status == "fail" then
    local failed = false
    for _, case in ipairs(cases) do failed = failed or case.failure ~= nil end
    if not failed then -- exit 1 with no failed check: the run itself failed
      cases[#cases + 1] = { name = "run", classname = c.name, time = c.duration,
        failure = { type = "run", message = r.why .. ": " .. tail(r.stderr, 1), text = tail(r.stderr, 40) } }
    end
    if r.met then
      expected_failures(cases)
    elseif r.mismatch then
      cases[#cases + 1] = { name = "expected failures", classname = c.name, time = 0,
        failure = { type = "expectation", message = r.mismatch } }
    end
  elseif c.expect == "fail" then
    cases[#cases + 1] = { name = "expected to fail", classname = c.name, time = 0,
      failure = { type = "expectation", message = "the cell passed but is expected to fail" } }
  end
  if #cases == 0 then cases[1] = { name = "run", classname = c.name, time = c.duration } end
  if not r.met then suite.system_err = tail(r.stderr, 40) end
  return suite
end

-- The run -------------------------------------------------------------------------

local function matrix_json(cells, run)
  local out = {}
  for i, c in ipairs(cells) do
    local r = c.result or {}
    local cp, ct, tp, tt = tallies(r.report)
    out[i] = { name = c.name, scenario = c.scenario, flags = json.array(c.flags), expect = c.expect,
      expect_failing = c.expect_failing and json.array(c.expect_failing),
      status = c.result and M.status_label(c) or "not run", met = r.met == true,
      exit_status = r.exit_status, signal = r.signal, why = r.why,
      checks_passed = cp, checks = ct, thresholds_passed = tp, thresholds = tt,
      started_seconds = c.started, finished_seconds = c.finished, duration_seconds = c.duration,
      report = r.report and c.report or nil, stdout = c.stdout_path, stderr = c.stderr_path }
  end
  return { matrix = run.path, root = run.root, parallel = run.parallel, cells = json.array(out),
           duration_seconds = run.duration }
end

local function iso_now()
  return os.date("!%Y-%m-%dT%H:%M:%S")
end

local function pool(run, cells)
  local queue = 1
  local function worker()
    while queue <= #cells and not sim.stopping() do
      local c = cells[queue]
      queue = queue + 1
      c.timestamp = iso_now()
      run_cell(run, c)
    end
  end
  local handles = {}
  for i = 1, math.min(run.parallel, #cells) do handles[i] = sim.spawn(worker) end
  for _, h in ipairs(handles) do sim.wait(h) end
end

local FLAGS = {
  parallel = { type = "integer", min = 1, default = 1 },
  filter = { type = "string" },
  junit = { type = "string" },
  out_dir = { type = "string", default = "out/matrix" },
  timeout = { type = "duration", above = 0 },
  seed = { type = "integer" },
  list = { type = "boolean", default = false },
  quiet = { type = "boolean", default = false },
}

--- gofr-sim matrix FILE [--parallel N] [--filter GLOBS] [--junit OUT.xml]
--  [--out-dir DIR] [--timeout D] [--seed N] [--list] [--quiet] -> exit status
function M.main(argv)
  local words, named = common.split(cli.parse(argv, 2))
  local path = words[1]
  if not path then cli.usage_error("matrix: give the matrix file (e.g. ci/matrix.lua)") end
  if words[2] then cli.usage_error(("matrix: unexpected argument '%s'"):format(words[2])) end
  local o = cli.options(named, FLAGS)
  local cwd = assert(core.process_cwd())
  local m = M.load(path, cwd)
  local cells = M.select(m.cells, o.filter)
  if o.list then
    io.stdout:write(M.listing(cells))
    return 0
  end
  local exe = argv[0] or "gofr-sim"
  if io.open("/proc/self/exe", "rb") then exe = "/proc/self/exe" -- this very executable
  elseif exe:find("/", 1, true) then exe = absolute(exe, cwd) end
  local run = {
    path = path, root = m.root, exe = exe, parallel = o.parallel, timeout = o.timeout,
    seed = o.seed, out_dir = absolute(o.out_dir, cwd),
    say = o.quiet and function() end or function(s) io.stdout:write(s, "\n"); io.stdout:flush() end,
  }
  local ok, err_type, msg = core.fs_mkdirs(run.out_dir)
  if not ok then cli.usage_error(("--out-dir: %s (%s)"):format(msg, err_type)) end
  ok, msg = write.check_writable(run.out_dir .. "/matrix.json")
  if not ok then cli.usage_error("--out-dir: " .. msg) end
  if o.junit then
    ok, msg = write.check_writable(o.junit)
    if not ok then cli.usage_error("--junit: " .. msg) end
  end
  core.handle_signals()
  run.say(("matrix %s: %d cell%s, %d at a time, reports in %s"):format(path, #cells,
    #cells == 1 and "" or "s", math.min(o.parallel, #cells), run.out_dir))
  sim.run(function()
    run.t0 = sim.now()
    pool(run, cells)
    run.duration = sim.now() - run.t0
  end)
  local all_met = true
  local done = {}
  for _, c in ipairs(cells) do
    if c.result then done[#done + 1] = c end
    all_met = all_met and c.result ~= nil and c.result.met
  end
  io.stdout:write("\n", M.summary(cells, run.out_dir))
  local wrote, werr = write.json(run.out_dir .. "/matrix.json", matrix_json(cells, run))
  if not wrote then common.say("matrix.json: %s", werr); all_met = false end
  if o.junit then
    local suites = {}
    for i, c in ipairs(done) do suites[i] = M.suite(c) end
    local jok, jerr = write.text(o.junit, junit.encode(suites, "gofr-sim matrix " .. path))
    if not jok then common.say("--junit: %s", jerr); all_met = false end
  end
  return all_met and 0 or 1
end

return M
