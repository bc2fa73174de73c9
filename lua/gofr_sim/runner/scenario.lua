--- The scenario runner: a scenario file returns a table
--
--   return {
--     name = "load",
--     options = { consumers = 4, rate = 10 },        -- defaults; flags override
--     flags = { target_url = { type = "url" } },     -- scenario-specific flags
--     setup = function(ctx) return { urls = ... } end,  -- once; its fields reach ctx
--     iteration = function(ctx) ... end,             -- one iteration of one persona
--     persona_teardown = function(ctx) end,          -- once per persona that ran, at its workload's end
--     teardown = function(ctx, report) end,          -- once, with the report
--     thresholds = { ["p95{tool=http.get}"] = "< 200ms" },
--     expect = { get_content = { "AUTH_ERROR" } },   -- expected outcomes (gofr_sim.engine.expect)
--     accept_unhealthy = { "no_success" },            -- verdict rules it waives
--     tasks = { { name = "browse", weight = 1, run = fn }, ... },  -- ctx:pick_task() (gofr_sim.runner.tasks)
--     tokens = resolver,                               -- a mix's tokens (gofr_sim.gofr_dig.tokens.resolver)
--     workloads = { readers = { consumers = 20, duration = "1m" }, ... },  -- side by side
--   }                                                  -- (gofr_sim.runner.workloads)
--
-- A check scenario has `check = function(ctx) ... end` instead of
-- `iteration` (and no `tasks`): the runner calls it once, in one persona,
-- with no workload (no workload flags, no --mix-file); a raise is the failed
-- check `completion_check` (default M.COMPLETION_CHECK).
--
-- run() drives either: flags, setup, the workload or the check, metrics,
-- a live progress line, the summary, thresholds, the verdict, the JSON
-- report and the exit status (0 ok, 99 a threshold failed, 1 a check failed,
-- the run was unhealthy (gofr_sim.runner.verdict) or could not complete, 2 bad
-- usage; a signal's 130/143 is applied by the executable). See
-- docs/scenarios.md.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local cli = require "gofr_sim.util.flags"
local suggest = require "gofr_sim.util.suggest"
local metrics = require "gofr_sim.engine.metrics"
local workload = require "gofr_sim.runner.workload"
local workloads = require "gofr_sim.runner.workloads"
local build = require "gofr_sim.report.build"
local summary = require "gofr_sim.report.summary"
local write = require "gofr_sim.report.write"
local thresholds = require "gofr_sim.runner.thresholds"
local personas = require "gofr_sim.runner.personas"
local tasks = require "gofr_sim.runner.tasks"
local prometheus = require "gofr_sim.report.prometheus"
local expect = require "gofr_sim.engine.expect"
local verdict = require "gofr_sim.runner.verdict"
local workers = require "gofr_sim.runner.workers"

local pairs, ipairs, type, tostring, setmetatable = pairs, ipairs, type, tostring, setmetatable
local io, os = io, os
local concat = table.concat

local M = {}

--- The flags every scenario accepts (docs/scenarios.md).
M.FLAGS = {
  workloads = { type = "string", -- a scenario's named workloads (lua/gofr_sim/runner/workloads.lua)
    help = "run only these of the scenario's named workloads, comma-separated" },
  grace = { type = "duration", min = 0, help = "after a stop, how long iterations in flight may finish" },
  output = { type = "string", help = "write the JSON report to this file (docs/report.md)" },
  html = { type = "string", -- the HTML report (lua/gofr_sim/report/html.lua)
    help = "write the HTML report, one self-contained page, to this file" },
  seed = { type = "integer", help = "the seed of every persona's random choices (default: the clock)" },
  quiet = { type = "boolean", help = "no live progress line" },
  threshold = { type = "string", repeatable = true,
    help = "a pass/fail bound 'KEY COND', e.g. 'p95{tool=http.get} < 200ms' (replaces the scenario's)" },
  metrics_listen = { type = "string", -- live Prometheus metrics (lua/gofr_sim/report/prometheus.lua)
    help = "HOST:PORT: serve live Prometheus metrics at /metrics while the run lasts" },
  metrics_linger = { type = "duration", min = 0, -- the final metrics kept up (docs/prometheus.md)
    help = "with --metrics-listen: after the run and its reports, serve the final metrics this long more" },
  accept_unhealthy = { type = "string", -- verdict rules to waive (lua/gofr_sim/runner/verdict.lua)
    help = "verdict rules not to apply, comma-separated (e.g. no_success)" },
  expect = { type = "string", repeatable = true, -- [TOOL=]OUTCOME,... (lua/gofr_sim/engine/expect.lua)
    help = "expected outcomes '[TOOL=]OUTCOME,...' (e.g. get_content=AUTH_ERROR), over the scenario's" },
  shard = { type = "string", -- a part of the load (lua/gofr_sim/runner/workload.lua, docs/distributed.md)
    help = "run part K of N of the load (e.g. 2/3) beside the others; gofr-sim merge joins their reports" },
  shards = { type = "integer", min = 1,
    help = "run one of N shards, its number from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it)" },
  workers = { type = "string", -- threads of one run (lua/gofr_sim/runner/workers.lua)
    help = "run the load on N threads (auto: one per core), each its own loop and personas; one report" },
  http_engine = { type = "enum", values = { "auto", "curl", "native" }, -- sim.http.set_engine
    help = "sim.http's engine: auto (native HTTP/1.1 for http://, libcurl for the rest), or one for all" },
}
-- The workload's options (gofr_sim.runner.workload); persona mixes:
-- --mix-file (docs/personas.md); the flags of a scenario's token resolver
-- (its `tokens`) are added per scenario.
for k, rule in pairs(workload.FLAGS) do M.FLAGS[k] = rule end
for k, rule in pairs(personas.flags) do M.FLAGS[k] = rule end

local DEFAULTS = { grace = 5, metrics_linger = 0 }
for k, v in pairs(workload.DEFAULTS) do DEFAULTS[k] = v end

local SCENARIO_KEYS = {
  name = "string", description = "string", options = "table", flags = "table",
  setup = "function", iteration = "function", teardown = "function", thresholds = "table",
  prepare = "function", expect = "table", accept_unhealthy = "table", tasks = "table",
  tokens = "table", check = "function", completion_check = "string", workloads = "table",
  persona_teardown = "function",
}

--- The check a check scenario records when its check(ctx) returns (passed)
-- or raises (failed, observed: the error), unless it names its own
-- (`completion_check`).
M.COMPLETION_CHECK = "the checks ran to the end"

-- The flags that shape a workload and its personas: a check scenario has
-- none of them.
local WORKLOAD_FLAGS = { workloads = true, shard = true, shards = true, workers = true }
for k in pairs(workload.FLAGS) do WORKLOAD_FLAGS[k] = true end
for k in pairs(personas.flags) do WORKLOAD_FLAGS[k] = true end

local function fail(path, msg)
  cli.usage_error(("%s: %s"):format(path, msg))
end

-- A scenario runs iteration(ctx) in a workload or is a check scenario
-- (check(ctx), once): one of the two, and nothing of the other form.
local function check_form(sc, path)
  if sc.iteration and sc.check then
    fail(path, "a scenario has an iteration(ctx) or a check(ctx) function, not both")
  end
  if not sc.check then
    if not (sc.iteration or sc.workloads) then
      fail(path, "a scenario needs an iteration(ctx) function (or check(ctx): a check scenario)")
    end
    if sc.completion_check then fail(path, "scenario key 'completion_check' needs check(ctx)") end
    return
  end
  if sc.tasks then fail(path, "scenario key 'tasks': a check scenario has no iterations to run them") end
  if sc.persona_teardown then
    fail(path, "scenario key 'persona_teardown': a check scenario has no personas")
  end
  if sc.workloads then fail(path, "scenario key 'workloads': a check scenario has no workload") end
  for k in pairs(sc.options or {}) do
    if WORKLOAD_FLAGS[k] then fail(path, ("option '%s': a check scenario has no workload"):format(k)) end
  end
end

-- Named workloads set their own workload options: the scenario's options
-- may not (its --duration may cap them all, below).
local function check_named_workloads(sc, path)
  local why = workloads.check(sc.workloads, sc)
  if why then fail(path, "scenario key " .. why) end
  for k in pairs(sc.options or {}) do
    if workload.FLAGS[k] and k ~= "duration" then
      fail(path, ("option '%s': each of the scenario's named workloads sets its own (scenario key "
        .. "'workloads')"):format(k))
    end
  end
end

--- Checks the shape of a scenario table; usage errors name the file and key.
function M.validate(sc, path)
  for k, v in pairs(sc) do
    local want = SCENARIO_KEYS[k]
    if not want then
      fail(path, ("unknown scenario key '%s'%s"):format(tostring(k), suggest.clause(k, SCENARIO_KEYS)))
    end
    if type(v) ~= want then
      fail(path, ("scenario key '%s' must be a %s, got %s"):format(k, want, type(v)))
    end
  end
  check_form(sc, path)
  for _, spec in ipairs({ sc.flags or {}, sc.tokens and sc.tokens.flags or {} }) do
    local bad = cli.check_spec(spec)
    if bad then fail(path, "scenario key 'flags': " .. bad) end
  end
  local why = (sc.tasks and tasks.check(sc.tasks)) or (sc.tokens and personas.check_resolver(sc.tokens))
  if why then fail(path, "scenario key " .. why) end
  sc.tasks = tasks.list(sc.tasks) -- the by-name form as the array form from here on
  if sc.workloads then check_named_workloads(sc, path) end
end

local INFERRED = { number = "number", string = "string", boolean = "boolean" }

-- The flag spec: the common flags (a check scenario's without the
-- workload's), the scenario's own, and options whose defaults tell their
-- type; defaults from DEFAULTS then the scenario.
local function flag_spec(sc, path)
  local spec = {}
  for k, rule in pairs(M.FLAGS) do
    if not (sc.check and WORKLOAD_FLAGS[k]) then
      spec[k] = { type = rule.type, values = rule.values, min = rule.min, above = rule.above,
        repeatable = rule.repeatable, help = rule.help,
        default = DEFAULTS[k] == nil and rule.default or DEFAULTS[k] }
    end
  end
  for k, rule in pairs(sc.tokens and sc.tokens.flags or {}) do spec[k] = rule end
  for k, rule in pairs(sc.flags or {}) do spec[k] = rule end
  for k, v in pairs(sc.options or {}) do
    if not spec[k] then
      local t = INFERRED[type(v)]
      if not t then fail(path, ("option '%s' has a default of type %s"):format(k, type(v))) end
      spec[k] = { type = t }
    end
    -- The same rule as the flag: options = { duration = "8s" } means --duration 8s.
    spec[k].default = cli.convert_default(("%s: option '%s'"):format(path, k), spec[k], v)
  end
  return spec
end

-- The --help text of the flags of spec: the scenario's own, then the common ones.
local function flags_help(spec)
  local own, common = {}, {}
  for k, rule in pairs(spec) do
    if M.FLAGS[k] then common[k] = rule else own[k] = rule end
  end
  local parts = {}
  if next(own) then parts[#parts + 1] = "Scenario flags:\n" .. cli.describe(own) .. "\n" end
  parts[#parts + 1] = "Common flags (every scenario):\n" .. cli.describe(common) .. "\n"
  return concat(parts, "\n")
end

--- The text of `gofr-sim SCENARIO --help`: the scenario's name and
-- description, its usage, then every flag it accepts (type, default, help).
function M.help(sc, path)
  M.validate(sc, path)
  local name = sc.name or path:match("([^/]+)%.lua$") or path
  local head = name .. (sc.description and ": " .. sc.description or "") .. "\n\n"
    .. ("usage: gofr-sim %s [--flag value ...]\n\n"):format(path)
    .. (sc.workloads and ("Workloads: %s\n\n"):format(workloads.describe(sc.workloads)) or "")
  return head .. flags_help(flag_spec(sc, path))
end

--- The common flags' --help lines (with the runner's defaults), for
-- `gofr-sim --help`.
function M.common_help()
  local spec = flag_spec({}, "")
  return "Common scenario flags (gofr-sim SCENARIO --help lists a scenario's own too):\n"
    .. cli.describe(spec) .. "\n"
end

local function flag_text(key)
  return "--" .. key:gsub("_", "-")
end

-- The run's workload: its flags checked together (settled), or the
-- scenario's named workloads planned (--duration caps them; their own
-- options may not be given as flags). -> the planned list or nil.
local function plan_workloads(sc, o, flags, path, mix_total)
  if not sc.workloads then
    if o.workloads then cli.usage_error("--workloads: the scenario declares no named workloads") end
    workload.settle(o, flag_text, cli.usage_error)
    return nil
  end
  for k in pairs(workload.FLAGS) do
    if flags[k] ~= nil and k ~= "duration" then
      cli.usage_error(("%s: the scenario runs named workloads (%s), each with its own %s; choose "
        .. "among them with --workloads"):format(flag_text(k), concat(workloads.names(sc.workloads), ", "),
          k))
    end
  end
  local list, planned = workloads.plan(sc, o, path, mix_total)
  o.duration = planned
  return list
end

--- The part of the load a run is ({index=, count=}) from --shard K/N, or
-- --shards N with $JOB_COMPLETION_INDEX (0-based, as a Kubernetes Indexed
-- Job sets it); nil for the whole. getenv (default os.getenv) reads the
-- environment. Bad values are usage errors naming the flag.
function M.shard_of(o, getenv)
  getenv = getenv or os.getenv
  if o.shard and o.shards then
    cli.usage_error("--shard and --shards: give one (--shards takes the shard from $JOB_COMPLETION_INDEX)")
  end
  local index, count
  if o.shard then
    local k, n = o.shard:match("^%s*(%d+)%s*/%s*(%d+)%s*$")
    index, count = tonumber(k), tonumber(n)
    if not index then cli.usage_error(("--shard: '%s' is not K/N (e.g. 2/3)"):format(o.shard)) end
    if count < 1 or index < 1 or index > count then
      cli.usage_error(("--shard %s: K must be from 1 to N, and N at least 1"):format(o.shard))
    end
  elseif o.shards then
    local env = getenv("JOB_COMPLETION_INDEX")
    local i = env and env:match("^%s*(%d+)%s*$")
    if not i then
      cli.usage_error(("--shards %d: $JOB_COMPLETION_INDEX must hold this shard's number (0 to %d), got %s")
        :format(o.shards, o.shards - 1, env and ("'" .. env .. "'") or "none"))
    end
    index, count = tonumber(i) + 1, o.shards
    if index > count then
      cli.usage_error(("--shards %d: $JOB_COMPLETION_INDEX %s is not below %d"):format(count, i, count))
    end
  else
    return nil
  end
  return { index = index, count = count }
end

-- Thresholds of the scenario and of --threshold, parsed before the run; a
-- --threshold on a key the scenario bounds replaces the scenario's.
local function parse_thresholds(sc, o, path)
  local defaults, why = thresholds.from_table(sc.thresholds or {})
  if not defaults then fail(path, why) end
  local given, reason = thresholds.from_cli(o.threshold or {})
  if not given then cli.usage_error("--threshold: " .. reason) end
  local overridden, specs = {}, {}
  for _, spec in ipairs(given) do
    overridden[spec.key] = true
    specs[#specs + 1] = spec
  end
  for _, spec in ipairs(defaults) do
    if not overridden[spec.key] then specs[#specs + 1] = spec end
  end
  return thresholds.sort(specs)
end

-- "--expect get_content=AUTH_ERROR,ok" -> "mcp.get_content", {"AUTH_ERROR", "ok"}
-- (no TOOL=: every tool, "*"). Numbers stay strings: "404" is a status.
local function expect_flag(text)
  local tool, list = text:match("^%s*([^=%s]+)%s*=(.*)$")
  local outcomes = {}
  for o in (list or text):gmatch("[^,%s]+") do outcomes[#outcomes + 1] = o end
  return tool or "*", outcomes
end

-- The scenario's expected outcomes (its `expect`, then --expect per tool
-- over it) and accepted verdict rules, checked before the run (usage errors
-- name the file or the flag).
local function parse_expectations(sc, o, path)
  local scope, accept
  local ok, why = pcall(function()
    scope = sc.expect and expect.compile_scope(sc.expect, "expect")
    accept = verdict.accepted(sc.accept_unhealthy, o.accept_unhealthy, "accept_unhealthy")
  end)
  if not ok then fail(path, why) end
  for _, text in ipairs(o.expect or {}) do
    local tool, outcomes = expect_flag(text)
    local fok, d = pcall(expect.compile_list, outcomes, ("--expect '%s'"):format(text))
    if not fok then cli.usage_error(d) end
    scope = scope or {}
    scope[expect.tool_name(tool)] = d
  end
  return scope, accept
end

-- The resolved tokens of the run's mixes (mix file -> mix), in one map
-- (setup's ctx.tokens); nil without a mix.
local function tokens_of(mixes)
  local out
  for _, mix in pairs(mixes) do
    out = out or {}
    for name, token in pairs(mix.tokens) do out[name] = token end
  end
  return out
end

-- A named workload's expected outcomes (its `expect`), compiled; problems
-- are usage errors naming the file and key.
local function workload_scope(wl, path)
  if not wl.expect then return nil end
  local ok, scope = pcall(expect.compile_scope, wl.expect, ("workloads.%s.expect"):format(wl.name))
  if not ok then fail(path, scope) end
  return scope
end

-- What report.build takes of each named workload's run: {name = {workload=,
-- iterations=, dropped_iterations=, personas_max=, started_seconds=,
-- duration_seconds=}} (times from the run's start; a workload stopped
-- before its start ran none of them).
local function workloads_run(list, started)
  local out = {}
  for _, wl in ipairs(list) do
    local run = wl.run
    out[wl.name] = {
      workload = wl.opts.workload,
      iterations = run and run.iterations or 0, dropped_iterations = run and run.dropped or 0,
      personas_max = run and run.active_max or 0,
      started_seconds = wl.started and started and wl.started - started or nil,
      duration_seconds = wl.started and wl.ended and wl.ended - wl.started or nil,
    }
  end
  return out
end

-- --output and --html must be writable before the run starts.
local function check_outputs(o)
  for _, key in ipairs({ "output", "html" }) do
    if o[key] then
      local ok, why = write.check_writable(o[key])
      if not ok then cli.usage_error(("--%s: %s"):format(key, why)) end
    end
  end
end

-- Progress ---------------------------------------------------------------------

-- "  3s/10s  personas 8  iterations 120  dropped 0  40 req/s  errors 0  p95 2.1ms"; a
-- check scenario's run has no iterations to count.
local function progress_line(state)
  local run, reg = state.run, state.registry
  local elapsed = sim.now() - state.started
  local n = #reg.seconds
  local last = reg.seconds[n > 1 and n - 1 or n] -- the last whole second
  local planned = state.opts.duration and ("/%ds"):format(state.opts.duration) or ""
  local p95 = reg.live and reg.live:count() > 0 and reg.live:percentile(95) * 1e3
    or last and last.p95 and last.p95 * 1e3 -- a coordinator's: its workers' last second
  local counts = run and ("  personas %d  iterations %d  dropped %d")
    :format(run:active_now(), run.iterations, run.dropped) or ""
  return ("\r%5.0fs%s%s  %d req/s  errors %d  p95 %s   ")
    :format(elapsed, planned, counts, last and last.requests or 0,
      reg.total_errors, p95 and ("%.1fms"):format(p95) or "-")
end

local function show_progress(state)
  local ticks = 0
  while not state.done and sim.sleep(0.1) do
    ticks = ticks + 1
    if ticks % 10 == 0 and not state.done then
      io.stdout:write(progress_line(state))
      io.stdout:flush()
      state.shown = true
    end
  end
end

-- Running -----------------------------------------------------------------------

-- Persona mixes (--mix-file) ---------------------------------------------------
-- Slot i takes persona i of personas.expand(mix); slots past the mix's total
-- (open models, ramping stages) cycle through it again. The persona's token
-- was resolved before the run; a group's own `rate` paces its personas in
-- the closed model instead of --rate; its `tasks` weight the scenario's
-- declared tasks (without them: the declared weights).

-- The mix of file `mix_file` (nil without one), read with the names the
-- scenario declares (its tasks, its token resolver's tokens), its tokens
-- resolved by the scenario's resolver with prepare's extras (and the run's
-- options). Problems are usage errors.
local function mix_of(sc, o, extra, mix_file)
  local resolver = sc.tokens
  local known = { tasks = tasks.names(sc.tasks), tokens = resolver and resolver.names }
  return personas.from_options({ mix_file = mix_file }, known,
    resolver and function(mix) return resolver.resolve(mix, o, extra) end)
end

-- Persona `id` of workload wl ({mix=, weights=}: the run's, or a named
-- one's): the mix's (cycled), its group's task weights over the
-- workload's, over the declared ones.
local function persona_of(declared, wl, id)
  local mix, weights = wl.mix, wl.weights
  if not mix then return { id = id, name = "default", tasks = tasks.bind(declared, weights) } end
  local p = mix.personas[(id - 1) % #mix.personas + 1]
  return { id = id, name = p.name, token = p.token_name and mix.tokens[p.token_name],
           tasks = tasks.bind(declared, p.tasks or weights), rate = p.rate, expect = p.expect }
end

-- ctx:pick_task() -> the task this iteration runs ({name=, weight=, run=}),
-- drawn by weight with ctx.rng from the persona's tasks.
local function pick_task(ctx)
  local list = ctx.persona.tasks
  if not list then error("ctx:pick_task(): the scenario declares no tasks (scenario key 'tasks')", 2) end
  return tasks.pick(list, ctx.rng)
end

-- The tags of a persona of workload wl: a named workload's name and tags too.
local function persona_tags(persona, wl)
  local tags = { persona = persona.name }
  if wl.name then
    for k, v in pairs(wl.tags or {}) do tags[k] = tostring(v) end
    tags.workload = wl.name
  end
  return tags
end

-- Named workload i's personas draw from the random streams of seed + i * this.
local WORKLOAD_SEED_STEP = 0x51ED27

-- Persona slot `id` of workload wl (state.single: the run's own; else a
-- named one, whose personas draw from random streams of their own).
local function new_slot(state, wl, id)
  local persona = persona_of(state.scenario.tasks, wl, id)
  local scopes = {} -- expected outcomes, narrowest first: the group's, the workload's, the scenario's
  if persona.expect then scopes[#scopes + 1] = persona.expect end
  if wl.scope then scopes[#scopes + 1] = wl.scope end
  if state.scenario_scope then scopes[#scopes + 1] = state.scenario_scope end
  local ctx = setmetatable({
    persona = persona,
    options = state.opts,
    workload = wl.name,
    rng = sim.rng.new(state.seed + (wl.index or 0) * WORKLOAD_SEED_STEP, id),
    vars = {},
    iteration = 0,
    metrics = sim.metrics,
    check = sim.check,
    pick_task = pick_task,
  }, { __index = state.shared })
  return { id = id, ctx = ctx, tags = persona_tags(persona, wl), rate = persona.rate,
           iteration = wl.iteration, scopes = #scopes > 0 and scopes or nil }
end

-- The running coroutine acts as slot's persona: its samples carry the
-- persona's tags, its calls the persona's expected outcomes.
local function act_as(slot)
  local co = coroutine.running()
  metrics.set_persona_tags(co, slot.tags)
  expect.set_scopes(co, slot.scopes)
end

local function iterate(state, slot, intended)
  act_as(slot)
  local started = sim.now()
  slot.ctx.iteration = slot.ctx.iteration + 1
  slot.iteration(slot.ctx)
  state.completed = state.completed + 1
  local now = sim.now()
  state.registry:record("iteration", now - intended, slot.tags)
  state.registry:record("iteration.service", now - started, slot.tags)
end

-- Live metrics (--metrics-listen HOST:PORT): GET /metrics of the run's
-- registry from the start of the run to its end, or with --metrics-linger
-- its final metrics for that long after its reports (docs/prometheus.md).
local function serve_metrics(state)
  local host, port = prometheus.parse_listen(state.opts.metrics_listen)
  return prometheus.serve(host, port, function()
    local run = state.run
    return { iterations = run and run.iterations or 0, dropped = run and run.dropped or 0,
             shard = state.part and state.part.index or nil,
             live = state.done and 0 or nil } -- the run's personas are gone
  end, state.opts.quiet, state.registry)
end

-- Runs setup(ctx) once; its fields reach every ctx. -> true, or false
-- when it failed (state.setup_error says why; teardown is told). A usage
-- error it raises is raised again (exit 2, no report), and so is a
-- cli.show_help (its text instead of a run: a dry run, exit 0).
local function set_up(state)
  local sc = state.scenario
  local base = { options = state.opts, seed = state.seed, rng = sim.rng.new(state.seed, 0),
                 metrics = sim.metrics, check = sim.check,
                 tokens = state.tokens }
  state.base = base
  local shared = {}
  if sc.setup then
    local ok, returned = pcall(sc.setup, base)
    if not ok then
      if cli.is_usage_error(returned) or cli.is_help(returned) then error(returned, 0) end
      state.setup_error = tostring(returned)
      return false
    end
    shared = returned or {}
  end
  if type(shared) ~= "table" then
    state.setup_error = "setup(ctx) must return a table or nothing, got " .. type(shared)
    return false
  end
  state.shared = shared
  for k, v in pairs(shared) do base[k] = v end
  return true
end

-- The scenario's persona_teardown(ctx) for each persona of run that ran an
-- iteration, all at once, each as that persona (its tags, its expected
-- outcomes); returns when all have ended. Errors count as script errors.
local function tear_down_personas(state, run)
  local fn = state.scenario.persona_teardown
  if not fn then return end
  local handles = {}
  for _, slot in pairs(run.slots) do
    if slot.ctx.iteration > 0 then
      handles[#handles + 1] = sim.spawn(function()
        act_as(slot)
        fn(slot.ctx)
      end)
    end
  end
  for _, h in ipairs(handles) do sim.wait(h) end
end

-- Workload wl (opts=): its personas run iterations until a stop
-- condition (wl.run: its run, live; the run's own is state.run too).
local function run_one(state, wl, tally)
  local run = workload.new {
    opts = wl.opts, tally = tally, part = state.part,
    iterate = function(slot, intended) iterate(state, slot, intended) end,
    new_slot = function(id) return new_slot(state, wl, id) end,
  }
  wl.run = run
  if wl == state.single then state.run = run end
  run:run(wl.opts.workload)
  for _, slot in pairs(run.slots) do
    if slot.handle then sim.wait(slot.handle) end
  end
  tear_down_personas(state, run)
  run:finish()
  if run.budget <= 0 then state.budget_spent = true end
end

-- A named workload: from its start on, as run_one; wl.started and
-- wl.ended (clock times) say when it ran, unless stopped before it started.
local function run_named(state, wl, tally)
  if wl.start > 0 and not sim.sleep(wl.start) then return end
  wl.started = sim.now()
  run_one(state, wl, tally)
  wl.ended = sim.now()
end

-- The workload of the run (state.single), or its named workloads side by
-- side, tallied together (state.run: the run's counts either way).
local function run_workload(state)
  if state.single then return run_one(state, state.single) end
  state.run = workload.tally()
  local handles = {}
  for _, wl in ipairs(state.workloads) do
    if not wl.skipped then handles[#handles + 1] = sim.spawn(run_named, state, wl, state.run) end
  end
  for _, h in ipairs(handles) do sim.wait(h) end
end

-- A check scenario: check(ctx) once, on a persona of its own (persona 1:
-- its ctx, tags and expected outcomes as an iteration's would be). A raise
-- would leave checks missing and the run passing, so it is the failed
-- completion check instead, with the error as what it saw.
local function run_check(state)
  local sc = state.scenario
  local slot = new_slot(state, state.single, 1)
  sim.wait(sim.spawn(function()
    act_as(slot)
    state.check_ran = true
    local ok, err = pcall(sc.check, slot.ctx)
    sim.check(ok, sc.completion_check or M.COMPLETION_CHECK, ok and "yes" or tostring(err))
  end))
end

-- Personas over time: the workload's personas at work, noted twice a
-- second into the registry's current second (so seconds without a request
-- have a count too; the report's timeseries[].personas).
local function sample_personas(state)
  local reg, ticks = state.registry, 0
  while not state.done do
    if ticks % 5 == 0 and state.run then
      if state.workloads then -- each named workload's, and their sum
        local by, total = {}, 0
        for _, wl in ipairs(state.workloads) do
          if wl.run then
            by[wl.name] = wl.run:active_now()
            total = total + by[wl.name]
          end
        end
        reg:personas(total, nil, by)
      else
        reg:personas(state.run:active_now())
      end
    end
    ticks = ticks + 1
    if not sim.sleep(0.1) then break end
  end
end

local function drive(state)
  if state.opts.metrics_listen then state.exporter = serve_metrics(state) end
  if not set_up(state) then return end -- nothing runs; teardown is told (ctx.setup_error)
  state.started = sim.now()
  state.registry:start(state.started) -- timeseries second 0 (unless setup made requests)
  if state.progress then sim.spawn(show_progress, state) end
  if state.workers then
    workers.coordinate(state) -- its workers sample their own personas
  else
    if not state.scenario.check then sim.spawn(sample_personas, state) end
    if state.scenario.check then run_check(state) else run_workload(state) end
  end
  state.stopped = sim.stopping()
  state.elapsed = sim.now() - state.started
  if state.exporter and state.opts.metrics_linger <= 0 then state.exporter.close() end
  state.done = true
end

-- The config keys of the run's own workload (none for a check scenario or
-- named workloads: config.workloads has theirs).
local function workload_config(state, config)
  local run, part = state.run, state.part
  if not state.single or state.scenario.check then return end
  local o = workload.part_options(state.opts, part) -- a part's: its shares
  config.workload = o.workload
  config.consumers = o.workload == "closed" and (o.stages and run and #run.slots or o.consumers)
    or (run and run.npersonas or 0)
  config.rate_per_consumer_per_sec = o.workload == "closed" and o.rate or nil
  config.arrival_rate_per_sec = o.workload == "constant-arrival-rate" and workload.part_rate(o.rate, part)
    or nil
  config.max_personas = o.workload ~= "closed" and o.max_personas or nil
  config.total_requests = o.total_requests
  config.stages = o.stages and workload.stages_config(o.stages) or nil
end

local function config_of(state)
  local o = state.opts
  local token_flags = state.scenario.tokens and state.scenario.tokens.flags or {} -- flags, not config
  local config = {
    scenario = state.name, seed = state.seed, duration_seconds = o.duration,
    timeout_seconds = o.timeout, target_url = o.target_url,
    mix_file = o.mix_file, http_engine = sim.http.engine(),
    description = state.scenario.description,
    workloads = state.workloads and workloads.config(state.workloads, state.part) or nil,
    shard = state.part and { index = state.part.index, count = state.part.count } or nil,
    workers = state.workers,
  }
  workload_config(state, config)
  for k, v in pairs(o) do
    if config[k] == nil and not M.FLAGS[k] and not token_flags[k] and type(v) ~= "table" then
      config[k] = v
    end
  end
  return config
end

-- Calls the scenario's teardown(ctx, report); ctx.setup_error says why
-- setup failed, when it did. Its own failure is reported, not raised.
local function teardown(state, rep)
  local sc = state.scenario
  if not (sc.teardown and state.base) then return end
  state.base.setup_error = state.setup_error
  local ok, err = pcall(sim.run, sc.teardown, state.base, rep)
  if not ok then io.stderr:write("gofr-sim: teardown failed: ", tostring(err), "\n") end
end

-- --metrics-linger: after the run and its reports, the endpoint serves the
-- final metrics (held when the report was built) that long more, then
-- closes; a signal ends it at once, and a run a signal stopped does not
-- linger.
local function linger(state)
  local exporter, seconds = state.exporter, state.opts.metrics_linger
  if not exporter then return end
  if seconds > 0 and core.signal() == 0 then
    if not state.opts.quiet then
      io.stderr:write(("gofr-sim: metrics at %s/metrics for %s more (Ctrl-C ends)\n")
        :format(exporter.url, cli.format_duration(seconds)))
    end
    pcall(sim.run, function() sim.sleep(seconds) end)
  end
  exporter.close()
end

-- Writes --output and --html; false when one could not be written.
local function write_reports(o, rep)
  local ok = true
  local writers = { output = write.json, html = o.html and require("gofr_sim.report.html").write }
  for _, key in ipairs({ "output", "html" }) do
    if o[key] then
      local wok, err = writers[key](o[key], rep)
      if not wok then
        io.stderr:write("gofr-sim: --", key, ": ", err, "\n")
        ok = false
      end
    end
  end
  return ok
end

-- A worker's part (runner/workers.lua): its registry drained once a second
-- of the run (p.t0 + k) and at the end, each drain posted with the counts.
local function worker_counts(state)
  local run = state.run
  local c = { iterations = run and run.iterations or 0, dropped = run and run.dropped or 0,
              active = run and run:active_now() or 0, active_max = run and run.active_max or 0 }
  if state.workloads then
    c.workloads = {}
    for _, wl in ipairs(state.workloads) do
      local r = wl.run
      c.workloads[wl.name] = { iterations = r and r.iterations or 0, dropped = r and r.dropped or 0,
        active = r and r:active_now() or 0, active_max = r and r.active_max or 0,
        started = wl.started, ended = wl.ended }
    end
  end
  return c
end

local function worker_ticks(state, p, post)
  local k = 1
  while not state.done do
    local wait = p.t0 + k - sim.now()
    if wait > 0 and not sim.sleep(wait) then break end
    if state.done then break end
    post { k = k, drain = state.registry:drain(), counts = worker_counts(state) }
    k = k + 1
    state.next_k = k
  end
end

local function drive_worker(state, p, post)
  state.started = sim.now()
  sim.daemon(worker_ticks, state, p, post)
  sim.spawn(sample_personas, state)
  run_workload(state)
  state.done = true
end

--- Runs worker part p (runner/workers.lua's payload: the coordinator's
-- settled options, mixes, setup's data, seed, part, t0) of scenario sc in
-- this thread; post(message) sends to the coordinator. Nothing is printed
-- or written: the coordinator reports.
function M.run_worker(sc, p, post)
  M.validate(sc, p.path)
  local o = p.opts
  local named
  if sc.workloads then
    named = workloads.plan(sc, o, p.path, function(wl)
      wl.mix = wl.mix_file and p.mixes[wl.mix_file] or nil
      return wl.mix and wl.mix.mix.total
    end)
  end
  local scope = parse_expectations(sc, o, p.path)
  for _, wl in ipairs(named or {}) do wl.scope = workload_scope(wl, p.path) end
  if o.http_engine then sim.http.set_engine(o.http_engine) end
  core.set_grace(o.grace)
  local state = {
    scenario = sc, opts = o, seed = p.seed, registry = metrics.new(function() return 0 end),
    workloads = named, tokens = p.tokens, shared = p.shared or {}, scenario_scope = scope,
    single = not named and { opts = o, mix = p.mixes[o.mix_file or false], iteration = sc.iteration } or nil,
    completed = 0, part = p.part,
  }
  metrics.install(state.registry)
  local ok, err = pcall(sim.run, drive_worker, state, p, post)
  local stats = sim.stats()
  -- what is left, as the second after the last drained
  post { k = state.next_k or 1, drain = state.registry:drain(), counts = worker_counts(state), final = true,
         stats = { script_errors = stats.script_errors, errors = stats.errors },
         completed = state.completed, budget_spent = state.budget_spent, stopped = sim.stopping() }
  if not ok then error(err, 0) end
end

--- Runs scenario table `sc` (from file `path`) with the parsed command-line
-- flags; returns the exit status.
function M.run(sc, flags, path)
  flags = flags or {}
  if cli.wants_help(flags) then cli.show_help(M.help(sc, path)) end -- nothing runs
  M.validate(sc, path)
  local o = cli.options(flags, flag_spec(sc, path))
  -- prepare(options) may settle options before the mix and its tokens are
  -- resolved, and return extras for that (e.g. {secret=} of an embedded twin).
  local extra = sc.prepare and sc.prepare(o) or nil
  local mix = mix_of(sc, o, extra, o.mix_file) -- nil without --mix-file; bad mix or tokens: usage error
  if mix and not sc.workloads then o.consumers = mix.mix.total end
  local mixes = { [o.mix_file or false] = mix } -- each mix file read once
  local named = not sc.check and plan_workloads(sc, o, flags, path, function(wl)
    if wl.mix_file and mixes[wl.mix_file] == nil then
      mixes[wl.mix_file] = mix_of(sc, o, extra, wl.mix_file)
    end
    wl.mix = wl.mix_file and mixes[wl.mix_file] or nil
    return wl.mix and wl.mix.mix.total
  end)
  if o.metrics_listen then prometheus.parse_listen(o.metrics_listen) end -- bad: usage error now
  if (flags.metrics_linger ~= nil or o.metrics_linger > 0) and not o.metrics_listen then
    cli.usage_error("--metrics-linger: it keeps the --metrics-listen endpoint up after the run; "
      .. "give --metrics-listen HOST:PORT too")
  end
  local specs = parse_thresholds(sc, o, path)
  local scope, accept = parse_expectations(sc, o, path)
  for _, wl in ipairs(named or {}) do wl.scope = workload_scope(wl, path) end
  check_outputs(o)
  if o.http_engine then sim.http.set_engine(o.http_engine) end
  core.set_grace(o.grace)
  local state = {
    scenario = sc, opts = o, name = sc.name or path:match("([^/]+)%.lua$") or path,
    seed = o.seed or os.time(), registry = metrics.new(), workloads = named, tokens = tokens_of(mixes),
    single = not named and { opts = o, mix = mix, iteration = sc.iteration } or nil,
    progress = not o.quiet and core.stdout_is_tty(), scenario_scope = scope, completed = 0,
    part = M.shard_of(o), path = path, flags = flags, mixes = mixes,
  }
  local nworkers = workers.count(o.workers)
  state.workers = nworkers > 1 and nworkers or nil
  local previous = metrics.install(state.registry)
  local started_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local t0 = sim.now()
  local sent0, received0 = core.http_bytes()
  local completed, run_error = pcall(sim.run, drive, state)
  if state.exporter and o.metrics_linger <= 0 then state.exporter.close() end -- also when the run failed
  local duration = sim.now() - t0
  local sent1, received1 = core.http_bytes() -- the run's setup, iterations and teardown's requests
  if not completed and (cli.is_usage_error(run_error) or cli.is_help(run_error)) then
    metrics.install(previous)
    if state.exporter then state.exporter.close() end
    error(run_error, 0) -- bad input found by setup (exit 2), or what it shows instead of a run (0)
  end
  local failure -- why the run could not complete, in one line
  if state.setup_error then
    completed, failure = false, "setup failed: " .. state.setup_error
  elseif not completed then
    failure = "the run failed: " .. tostring(run_error)
  end
  if state.shown then io.stdout:write("\r", (" "):rep(100), "\r") end
  local stats = workers.finish(state, sim.stats())
  if state.worker_failure and not failure then completed, failure = false, state.worker_failure end
  local iterations = state.run and state.run.iterations or 0
  local by_workload = named and workloads_run(named, state.started) or nil
  local results, thresholds_ok = thresholds.evaluate(specs, state.registry, {
    iterations = iterations,
    dropped_iterations = state.run and state.run.dropped or 0,
    script_errors = stats.script_errors,
    workloads = by_workload,
  })
  local verdict_inputs = {
    registry = state.registry, thresholds = results, accept = accept,
    iterations = iterations, completed = state.completed, script_errors = stats.script_errors,
    errors = stats.errors, planned_duration = o.duration, elapsed = state.elapsed or duration,
    budget_spent = state.budget_spent, stopped = state.stopped, signal = stats.signal,
    failure = failure and failure:gsub("\n.*", ""),
    check_ran = sc.check and state.check_ran == true, -- nil for a workload's run
  }
  local judged = verdict.judge(verdict_inputs)
  local rep = build.build {
    registry = state.registry, config = config_of(state), started_at = started_at,
    duration = duration, interrupted = stats.signal ~= "", signal = stats.signal,
    iterations = iterations,
    dropped_iterations = state.run and state.run.dropped or 0,
    personas_max = state.run and state.run.active_max or nil,
    workloads = by_workload,
    data_sent = sent1 - sent0, data_received = received1 - received0,
    script_errors = stats.script_errors, thresholds = results, verdict = judged,
    verdict_inputs = verdict_inputs, threshold_specs = specs, -- so a merge judges exactly
  }
  if state.exporter then state.exporter.hold() end -- a linger serves what the report has
  teardown(state, rep)
  metrics.install(previous)
  io.stdout:write(summary.text(rep), "\n")
  if failure then io.stderr:write("gofr-sim: ", failure, "\n") end
  if not write_reports(o, rep) then completed = false end
  local status = thresholds.exit_code(thresholds_ok, thresholds.checks_ok(state.registry),
    completed and judged.healthy)
  linger(state)
  return status
end

return M
