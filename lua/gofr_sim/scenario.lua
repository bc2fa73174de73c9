--- The scenario runner: a scenario file returns a table
--
--   return {
--     name = "load",
--     options = { consumers = 4, rate = 10 },        -- defaults; flags override
--     flags = { target_url = { type = "url" } },     -- scenario-specific flags
--     setup = function(ctx) return { urls = ... } end,  -- once; its fields reach ctx
--     iteration = function(ctx) ... end,             -- one iteration of one persona
--     teardown = function(ctx, report) end,          -- once, with the report
--     thresholds = { ["p95{tool=http.get}"] = "< 200ms" },
--   }
--
-- and run() drives it: flags, setup, the workload, per-iteration metrics,
-- a live progress line, the summary, thresholds, the JSON report and the exit
-- status (0 ok, 99 a threshold failed, 1 a check failed or the run could not
-- complete, 2 bad usage; a signal's 130/143 is applied by the executable).
-- See docs/scenarios.md.
local sim = require "gofr_sim"
local core = require "gofr_sim.core"
local cli = require "gofr_sim.cli"
local metrics = require "gofr_sim.metrics"
local workload = require "gofr_sim.workload"
local report = require "gofr_sim.report"
local thresholds = require "gofr_sim.thresholds"
local personas = require "gofr_sim.personas"
local prometheus = require "gofr_sim.prometheus"

local pairs, type, tostring, setmetatable = pairs, type, tostring, setmetatable
local io, os = io, os

local M = {}

--- The flags every scenario accepts (docs/scenarios.md).
M.FLAGS = {
  workload = { type = "enum", values = workload.KINDS },
  consumers = { type = "integer", min = 1 },
  rate = { type = "number", above = 0 },
  duration = { type = "duration", above = 0 },
  total_requests = { type = "integer", min = 1 },
  max_personas = { type = "integer", min = 1 },
  max_lateness = { type = "duration", min = 0 },
  stages = { type = "string" },
  grace = { type = "duration", min = 0 },
  output = { type = "string" },
  html = { type = "string" }, -- the HTML report (lua/gofr_sim/html_report.lua)
  seed = { type = "integer" },
  quiet = { type = "boolean" },
  threshold = { type = "string", repeatable = true },
  metrics_listen = { type = "string" }, -- live Prometheus metrics (lua/gofr_sim/prometheus.lua)
}
-- Persona mixes: --mix-file, --token-source, --jwt-secret-file (docs/personas.md).
for k, rule in pairs(personas.flags) do M.FLAGS[k] = rule end

local DEFAULTS = { workload = "closed", consumers = 4, max_personas = 100, max_lateness = 10,
  grace = 5 }

local SCENARIO_KEYS = {
  name = "string", description = "string", options = "table", flags = "table",
  setup = "function", iteration = "function", teardown = "function", thresholds = "table",
  prepare = "function",
}

local function fail(path, msg)
  cli.usage_error(("%s: %s"):format(path, msg))
end

--- Checks the shape of a scenario table; usage errors name the file and key.
function M.validate(sc, path)
  for k, v in pairs(sc) do
    local want = SCENARIO_KEYS[k]
    if not want then
      fail(path, ("unknown scenario key '%s' (accepted: description, flags, iteration, name, "
        .. "options, setup, teardown, thresholds)"):format(tostring(k)))
    end
    if type(v) ~= want then
      fail(path, ("scenario key '%s' must be a %s, got %s"):format(k, want, type(v)))
    end
  end
  if not sc.iteration then fail(path, "a scenario needs an iteration(ctx) function") end
end

local INFERRED = { number = "number", string = "string", boolean = "boolean" }

-- The flag spec: the common flags, the scenario's own, and options whose
-- defaults tell their type; defaults from DEFAULTS then the scenario.
local function flag_spec(sc, path)
  local spec = {}
  for k, rule in pairs(M.FLAGS) do spec[k] = { type = rule.type, values = rule.values,
    min = rule.min, above = rule.above, repeatable = rule.repeatable,
    default = DEFAULTS[k] == nil and rule.default or DEFAULTS[k] } end
  for k, rule in pairs(sc.flags or {}) do spec[k] = rule end
  for k, v in pairs(sc.options or {}) do
    if not spec[k] then
      local t = INFERRED[type(v)]
      if not t then fail(path, ("option '%s' has a default of type %s"):format(k, type(v))) end
      spec[k] = { type = t }
    end
    spec[k].default = v
  end
  return spec
end

-- Workload checks that need several options at once.
local function check_workload(o)
  if o.stages then
    local stages, why = workload.parse_stages(o.stages, cli.duration)
    if not stages then cli.usage_error("--stages: " .. why) end
    o.stages = stages
    o.duration = o.duration or workload.stages_duration(stages)
  end
  if o.workload == "closed" then
    if not (o.duration or o.total_requests) then
      cli.usage_error("a stop condition is required: --duration (e.g. 30s) and/or --total-requests N")
    end
  else
    if not o.duration then cli.usage_error("--workload " .. o.workload .. " needs --duration or --stages") end
    if o.workload == "constant-arrival-rate" and not o.rate then
      cli.usage_error("--workload constant-arrival-rate needs --rate (iterations per second)")
    end
    if o.workload == "ramping-arrival-rate" and not o.stages then
      cli.usage_error("--workload ramping-arrival-rate needs --stages (e.g. 30s:50,1m:200)")
    end
  end
end

-- Thresholds of the scenario and of --threshold, parsed before the run.
local function parse_thresholds(sc, o, path)
  local specs, why = thresholds.from_table(sc.thresholds or {})
  if not specs then fail(path, why) end
  local more, reason = thresholds.from_cli(o.threshold or {})
  if not more then cli.usage_error("--threshold: " .. reason) end
  for _, spec in ipairs(more) do specs[#specs + 1] = spec end
  return thresholds.sort(specs)
end

-- Progress ---------------------------------------------------------------------

local function progress_line(state)
  local run, reg = state.run, state.registry
  local elapsed = sim.now() - state.started
  local n = #reg.seconds
  local last = reg.seconds[n > 1 and n - 1 or n] -- the last whole second
  local planned = state.opts.duration and ("/%ds"):format(state.opts.duration) or ""
  local p95 = reg.live and reg.live:count() > 0 and reg.live:percentile(95) * 1e3
  return ("\r%5.0fs%s  iterations %d  dropped %d  %d req/s  errors %d  p95 %s   ")
    :format(elapsed, planned, run.iterations, run.dropped, last and last.requests or 0,
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
-- the closed model instead of --rate.

local function persona_of(state, id)
  local mix = state.mix
  if not mix then return { id = id, name = "default" } end
  local p = mix.personas[(id - 1) % #mix.personas + 1]
  return { id = id, name = p.name, token = personas.token_for(p, mix.tokens), tasks = p.tasks,
           rate = p.rate }
end

local function new_slot(state, id)
  local persona = persona_of(state, id)
  local tags = { persona = persona.name }
  local ctx = setmetatable({
    persona = persona,
    options = state.opts,
    rng = sim.rng.new(state.seed, id),
    vars = {},
    iteration = 0,
    metrics = sim.metrics,
    check = sim.check,
  }, { __index = state.shared })
  return { id = id, ctx = ctx, tags = tags, rate = persona.rate }
end

local function iterate(state, slot, intended)
  metrics.set_persona_tags(coroutine.running(), slot.tags)
  local started = sim.now()
  slot.ctx.iteration = slot.ctx.iteration + 1
  state.scenario.iteration(slot.ctx)
  local now = sim.now()
  state.registry:record("iteration", now - intended, slot.tags)
  state.registry:record("iteration.service", now - started, slot.tags)
end

-- Live metrics (--metrics-listen HOST:PORT): GET /metrics from the start of
-- the run to its end (docs/prometheus.md).
local function serve_metrics(state)
  local host, port = prometheus.parse_listen(state.opts.metrics_listen)
  return prometheus.serve(host, port, function()
    local run = state.run
    return { iterations = run and run.iterations or 0, dropped = run and run.dropped or 0 }
  end, state.opts.quiet)
end

local function drive(state)
  local sc, o = state.scenario, state.opts
  if o.metrics_listen then state.exporter = serve_metrics(state) end
  local base = { options = o, seed = state.seed, rng = sim.rng.new(state.seed, 0),
                 metrics = sim.metrics, check = sim.check,
                 tokens = state.mix and state.mix.tokens or nil }
  state.base = base
  state.shared = sc.setup and sc.setup(base) or {}
  if type(state.shared) ~= "table" then
    error("setup(ctx) must return a table or nothing, got " .. type(state.shared), 0)
  end
  for k, v in pairs(state.shared) do base[k] = v end
  state.started = sim.now()
  local run = workload.new {
    opts = o,
    iterate = function(slot, intended) iterate(state, slot, intended) end,
    new_slot = function(id) return new_slot(state, id) end,
  }
  state.run = run
  if state.progress then sim.spawn(show_progress, state) end
  run:run(o.workload)
  for _, slot in pairs(run.slots) do
    if slot.handle then sim.wait(slot.handle) end
  end
  run:finish()
  if state.exporter then state.exporter.close() end
  state.done = true
end

local function config_of(state)
  local o = state.opts
  local config = {
    scenario = state.name, workload = o.workload, seed = state.seed,
    consumers = o.workload == "closed" and (o.stages and state.run and #state.run.slots or o.consumers)
      or (state.run and state.run.npersonas or 0),
    rate_per_consumer_per_sec = o.workload == "closed" and o.rate or nil,
    arrival_rate_per_sec = o.workload == "constant-arrival-rate" and o.rate or nil,
    max_personas = o.workload ~= "closed" and o.max_personas or nil,
    duration_seconds = o.duration, total_requests = o.total_requests,
    timeout_seconds = o.timeout, target_url = o.target_url,
    mix_file = o.mix_file,
  }
  for k, v in pairs(o) do
    if config[k] == nil and not M.FLAGS[k] and type(v) ~= "table" then config[k] = v end
  end
  return config
end

--- Runs scenario table `sc` (from file `path`) with the parsed command-line
-- flags; returns the exit status.
function M.run(sc, flags, path)
  M.validate(sc, path)
  local o = cli.options(flags or {}, flag_spec(sc, path))
  -- prepare(options) may settle options before the mix and its tokens are
  -- resolved, and return extras for that (e.g. {secret=} of an embedded twin).
  local extra = sc.prepare and sc.prepare(o) or nil
  local mix = personas.from_options(o, extra) -- nil without --mix-file; bad mix or tokens: usage error
  if mix then o.consumers = mix.mix.total end
  check_workload(o)
  if o.metrics_listen then prometheus.parse_listen(o.metrics_listen) end -- bad: usage error now
  local specs = parse_thresholds(sc, o, path)
  core.set_grace(o.grace)
  local state = {
    scenario = sc, opts = o, name = sc.name or path:match("([^/]+)%.lua$") or path,
    seed = o.seed or os.time(), registry = metrics.new(), mix = mix,
    progress = not o.quiet and core.stdout_is_tty(),
  }
  local previous = metrics.install(state.registry)
  local started_at = os.date("!%Y-%m-%dT%H:%M:%SZ")
  local t0 = sim.now()
  local completed, run_error = pcall(sim.run, drive, state)
  if state.exporter then state.exporter.close() end -- also when the run failed
  local duration = sim.now() - t0
  if not completed and cli.is_usage_error(run_error) then
    metrics.install(previous)
    error(run_error, 0) -- bad input found by setup: exit 2, no report
  end
  if state.shown then io.stdout:write("\r", (" "):rep(100), "\r") end
  local results, thresholds_ok = thresholds.evaluate(specs, state.registry, {
    iterations = state.run and state.run.iterations or 0,
    dropped_iterations = state.run and state.run.dropped or 0,
    script_errors = sim.stats().script_errors,
  })
  local stats = sim.stats()
  local rep = report.build {
    registry = state.registry, config = config_of(state), started_at = started_at,
    duration = duration, interrupted = stats.signal ~= "", signal = stats.signal,
    iterations = state.run and state.run.iterations or 0,
    dropped_iterations = state.run and state.run.dropped or 0,
    script_errors = stats.script_errors, thresholds = results,
  }
  if sc.teardown and state.base then
    local ok, err = pcall(sim.run, sc.teardown, state.base, rep)
    if not ok then io.stderr:write("gofr-sim: teardown failed: ", tostring(err), "\n") end
  end
  metrics.install(previous)
  io.stdout:write(report.summary(rep), "\n")
  if not completed then io.stderr:write("gofr-sim: the run failed: ", tostring(run_error), "\n") end
  if o.output then
    local ok, err = report.write(o.output, rep)
    if not ok then
      io.stderr:write("gofr-sim: --output: ", err, "\n")
      completed = false
    end
  end
  if o.html then
    local ok, err = require("gofr_sim.html_report").write(o.html, rep)
    if not ok then
      io.stderr:write("gofr-sim: --html: ", err, "\n")
      completed = false
    end
  end
  return thresholds.exit_code(thresholds_ok, thresholds.checks_ok(state.registry), completed)
end

return M
