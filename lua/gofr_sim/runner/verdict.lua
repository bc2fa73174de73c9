--- The verdict of a run: did it do anything useful, and did it pass?
--
-- A run is *unhealthy* when one of these rules fires (docs/scenarios.md
-- "The verdict and the early-end rule"):
--
--   all_iterations_failed  iterations ran and none of them finished: every
--                          one raised (script errors) or was aborted
--   ended_early            the run stopped well before its duration with
--                          iterations left, and nobody asked it to
--   no_success             requests were made and none succeeded (expected
--                          outcomes count as successes)
--   nothing_ran            no iteration started at all (a check scenario's
--                          run, which has no iterations: its check(ctx)
--                          did not start)
--
-- unless the scenario accepts the rule (`accept_unhealthy = { "no_success" }`
-- or --accept-unhealthy no_success,...) or a threshold on the same metric
-- (script_errors; errors or error_rate without a selector; iterations) says
-- what to expect and passed. An interrupted run (a signal) is judged by its
-- signal, not by these rules. An unhealthy run exits 1.
--
--   local v = verdict.judge { registry = reg, iterations = n, completed = k, ... }
--   v.ok, v.problems = {{rule=, message=}, ...}, v.line = "PASS: ..." | "FAIL: ..."
local suggest = require "gofr_sim.util.suggest"

local pairs, ipairs, type, tostring, error = pairs, ipairs, type, tostring, error
local concat, sort = table.concat, table.sort
local format = string.format

local M = {}

M.RULES = { "all_iterations_failed", "ended_early", "no_success", "nothing_ran" }
local RULE_SET = {}
for _, r in ipairs(M.RULES) do RULE_SET[r] = true end

-- The thresholds (key without a selector) that decide each rule instead.
local DECIDED_BY = {
  all_iterations_failed = { script_errors = true },
  no_success = { errors = true, error_rate = true },
  ended_early = { iterations = true },
  nothing_ran = { iterations = true },
}

--- The set of rules a scenario's `accept_unhealthy` list and the
-- --accept-unhealthy flag ("a,b") accept; raises a plain-string error naming
-- `where` for an unknown rule.
function M.accepted(list, flag, where)
  local set = {}
  local function add(rule, from)
    if not RULE_SET[rule] then
      local hint = suggest.hint(tostring(rule), M.RULES)
      error(format("%s: unknown rule '%s' (%srules: %s)", from, tostring(rule),
        hint and (hint .. "; ") or "", concat(M.RULES, ", ")), 0)
    end
    set[rule] = true
  end
  for _, rule in ipairs(list or {}) do add(rule, where) end
  if flag then
    for rule in flag:gmatch("[^,%s]+") do add(rule, "--accept-unhealthy") end
  end
  return set
end

local function waived(rule, accept, results)
  if accept[rule] then return true end
  for _, t in ipairs(results or {}) do
    if t.ok and DECIDED_BY[rule][t.key] then return true end
  end
  return false
end

-- "network_connect 80, http_405 3": the most frequent types first.
local function types_text(types)
  local list = {}
  for t, n in pairs(types) do list[#list + 1] = { t, n } end
  sort(list, function(a, b) return a[2] > b[2] or (a[2] == b[2] and a[1] < b[1]) end)
  for i, e in ipairs(list) do list[i] = e[1] .. " " .. e[2] end
  return concat(list, ", ")
end

-- The most frequent script error message (sim.stats().errors), or nil.
local function top_error(errors)
  local best, count = nil, 0
  for msg, n in pairs(errors or {}) do
    if n > count or (n == count and best and msg < best) then best, count = msg, n end
  end
  return best
end

local function secs(x)
  return format("%.2fs", x)
end

-- The problems of a run: {{rule=, message=}, ...} in rule order.
local function problems_of(run, totals)
  local found = {}
  if run.signal ~= "" then return found end
  local iterations = run.iterations or 0
  if run.check_ran ~= nil then -- a check scenario's run: no iterations
    if not run.check_ran then
      found[#found + 1] = { rule = "nothing_ran", message = "the checks did not run" }
    end
  elseif iterations == 0 then
    found[#found + 1] = { rule = "nothing_ran", message = "no iteration ran" }
  elseif (run.completed or 0) == 0 then
    local first = top_error(run.errors)
    found[#found + 1] = { rule = "all_iterations_failed", message = format(
      "every one of the %d iterations failed (%d script errors%s)", iterations,
      run.script_errors or 0, first and (": " .. first:gsub("\n.*", "")) or "") }
  end
  local planned = run.planned_duration
  if planned and not run.stopped and not run.budget_spent
    and run.elapsed < planned * 0.9 - 0.25 then
    found[#found + 1] = { rule = "ended_early", message = format(
      "the run ended after %s of its %s", secs(run.elapsed), secs(planned)) }
  end
  if totals.count > 0 and totals.count == totals.errors then
    found[#found + 1] = { rule = "no_success", message = format(
      "no request succeeded (%d of %d failed: %s)", totals.errors, totals.count,
      types_text(totals.error_types)) }
  end
  return found
end

local function plural(n, word)
  return format("%d %s%s", n, word, n == 1 and "" or "s")
end

-- "1 of 4 thresholds failed (error_rate)" or "4 thresholds passed".
local function thresholds_text(results)
  local failed = {}
  for _, t in ipairs(results) do
    if not t.ok then failed[#failed + 1] = t.key end
  end
  if #failed == 0 then return plural(#results, "threshold") .. " passed" end
  return format("%d of %d thresholds failed (%s)", #failed, #results, concat(failed, ", "))
end

local function checks_text(checks)
  local total, failed = 0, 0
  for _, c in pairs(checks) do
    total = total + 1
    if c.fails > 0 then failed = failed + 1 end
  end
  if failed == 0 then return plural(total, "check") .. " passed", true end
  return format("%d of %d checks failed", failed, total), false
end

--- Judges a run. run = {registry=, thresholds= (results of
-- thresholds.evaluate), accept= (set from M.accepted), iterations=,
-- completed= (iterations that returned), script_errors=, errors=
-- (sim.stats().errors), planned_duration= (seconds or nil), elapsed=,
-- budget_spent= (the iteration budget ran out), stopped= (sim.stop was
-- called), signal= ("" or the signal's name), failure= (why the run could
-- not complete, one line, e.g. "setup failed: ...", or nil), check_ran=
-- (a check scenario's run only: whether its check(ctx) started; nil for a
-- workload's run)}.
-- -> {ok=, healthy=, problems=, line=}: ok when healthy, complete, every
-- threshold and every check passed.
function M.judge(run)
  if type(run) ~= "table" or type(run.registry) ~= "table" then
    error("verdict.judge: expected a run table with a registry", 2)
  end
  local totals = run.registry:aggregate { tool = true }
  local problems = {}
  for _, p in ipairs(problems_of(run, totals)) do
    if not waived(p.rule, run.accept or {}, run.thresholds) then problems[#problems + 1] = p end
  end
  local parts = {}
  if run.failure then parts[#parts + 1] = run.failure end
  for _, p in ipairs(problems) do parts[#parts + 1] = p.message end
  local results = run.thresholds or {}
  local thresholds_ok = true
  for _, t in ipairs(results) do thresholds_ok = thresholds_ok and t.ok end
  if #results > 0 then parts[#parts + 1] = thresholds_text(results) end
  local ctext, checks_ok = checks_text(run.registry.checks)
  if next(run.registry.checks) ~= nil then parts[#parts + 1] = ctext end
  parts[#parts + 1] = format("%s%s", plural(totals.errors, "unexpected error"),
    totals.expected > 0 and format(" (%d expected)", totals.expected) or "")
  local ok = #problems == 0 and not run.failure and thresholds_ok and checks_ok
  if run.signal ~= "" then parts[#parts + 1] = "interrupted by " .. run.signal end
  return {
    ok = ok and run.signal == "",
    healthy = #problems == 0,
    problems = problems,
    line = (ok and run.signal == "" and "PASS: " or "FAIL: ") .. concat(parts, ", "),
  }
end

return M
