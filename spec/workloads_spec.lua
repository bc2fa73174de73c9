-- Named workloads side by side in one run (scenario key 'workloads',
-- gofr_sim.runner.workloads), through the executable: each its own
-- personas, model, start, tags, iteration, task weights, mix and expected
-- outcomes; the report keeps them apart (workloads, metrics.by_workload,
-- personas_by_workload, the samples' tags) and together (the totals); the
-- summary, thresholds, --workloads, --duration, --help and usage errors.
local support = require "support"

local tmpfile = support.tmpfile

-- A scenario serving the fixture site in setup, with `body` (Lua source of
-- more scenario keys: workloads = {...}, ...). The scenario's iteration GETs
-- /index.html as tool `read` and checks ctx.workload is set.
local function scenario(body)
  return tmpfile(([[
    local sim = require "gofr_sim"
    local function get(ctx, name, page)
      local res = sim.http.get(ctx.site.url .. (page or "/index.html"), { name = name })
      return res
    end
    return {
      description = "readers and writers side by side",
      setup = function() return { site = assert(sim.fixtures.serve {}) } end,
      teardown = function(ctx) ctx.site.close() end,
      iteration = function(ctx)
        local res = get(ctx, "read")
        sim.check(res and res.status == 200, "read is 200")
        sim.check(ctx.workload ~= nil, "ctx.workload is set")
      end,
      %s
    }
  ]]):format(body))
end

local function run(body, args)
  local path = scenario(body)
  local r, rep = support.run_scenario(path, args or { "--quiet" })
  os.remove(path)
  return r, rep
end

local function near(want, got, tolerance, what)
  assert.is_true(math.abs(got - want) <= tolerance,
    ("%s: %s, want %s +- %s"):format(what, tostring(got), tostring(want), tostring(tolerance)))
end

-- The series of report rep named `name`, as {tags..., count=}.
local function series_named(rep, name)
  local out = {}
  for key, agg in pairs(rep.metrics.series) do
    if key == name or key:sub(1, #name + 1) == name .. "{" then
      local tags = { count = agg.count }
      for k, v in key:gmatch("([%w_%-]+)=([^,}]*)") do tags[k] = v end
      out[#out + 1] = tags
    end
  end
  return out
end

local SIDE_BY_SIDE = [[
  workloads = {
    readers = { consumers = 3, rate = 20, duration = "2s", tags = { side = "read" } },
    writers = { workload = "constant-arrival-rate", rate = 30, start = "500ms", duration = "1s",
      max_personas = 5, tags = { side = "write" },
      iteration = function(ctx)
        local res = get(ctx, "write", "/index.html?delay_ms=100") -- ~3 personas at work
        sim.check(res and res.status == 200, "write is 200")
      end },
  },
  thresholds = {
    ["iterations{workload=writers}"] = "> 20",
    ["dropped_iterations{workload=writers}"] = "== 0",
    ["p95{workload=*}"] = "< 1s",
  },
]]

describe("named workloads", function()
  local r, rep
  setup(function()
    r, rep = run(SIDE_BY_SIDE, { "--quiet", "--seed", "5" })
  end)

  it("runs each with its own model, start and iteration, side by side", function()
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    local readers, writers = rep.workloads.readers, rep.workloads.writers
    assert.are.equal("closed", readers.workload)
    assert.are.equal("constant-arrival-rate", writers.workload)
    near(120, readers.iterations, 6, "readers' iterations (3 personas x 20/s x 2s)")
    near(30, writers.iterations, 2, "writers' iterations (30/s x 1s)")
    assert.are.equal(0, writers.dropped_iterations)
    near(0, readers.started_seconds, 0.05, "readers' start")
    near(0.5, writers.started_seconds, 0.1, "writers' start")
    near(1, writers.duration_seconds, 0.15, "writers' time")
    assert.are.equal(3, readers.personas_max)
    assert.is_true(writers.personas_max >= 2 and writers.personas_max <= 5, writers.personas_max)
    -- each ran its own iteration: the tools say whose
    assert.are.equal(readers.iterations, rep.metrics.by_tool.read.count)
    assert.are.equal(writers.iterations, rep.metrics.by_tool.write.count)
    assert.are.equal(0, rep.checks["ctx.workload is set"].fails)
  end)

  it("keeps them apart: by_workload, tags on every sample, iterations per workload", function()
    local by = rep.metrics.by_workload
    assert.are.equal(rep.workloads.readers.request_count, by.readers.count)
    assert.are.equal(rep.workloads.writers.request_count, by.writers.count)
    assert.are.equal(rep.workloads.readers.iterations, rep.workloads.readers.iteration.count)
    assert.are.equal(rep.workloads.writers.iterations, rep.workloads.writers.iteration_service.count)
    for _, s in ipairs(series_named(rep, "write")) do
      assert.are.same({ "writers", "write" }, { s.workload, s.side })
    end
    for _, s in ipairs(series_named(rep, "read")) do
      assert.are.same({ "readers", "read" }, { s.workload, s.side })
    end
    assert.is_true(#series_named(rep, "iteration") == 2)
  end)

  it("and together: the totals are the sums, personas at most the sum", function()
    local res, w = rep.result, rep.workloads
    assert.are.equal(w.readers.iterations + w.writers.iterations, res.iterations)
    assert.are.equal(w.readers.request_count + w.writers.request_count, res.request_count)
    assert.is_true(res.personas_max >= 3 and res.personas_max <= 3 + w.writers.personas_max)
    -- personas over time, per workload: readers at 3 throughout, writers only from 0.5s on
    local first, any_writers = rep.timeseries[1], false
    assert.are.equal(3, first.personas_by_workload.readers)
    for _, e in ipairs(rep.timeseries) do
      local p = e.personas_by_workload
      if type(p) == "table" then
        any_writers = any_writers or (p.writers or 0) > 0
        assert.is_true(e.personas >= (p.readers or 0), "total below a workload's")
      end
    end
    assert.is_true(any_writers, "writers never sampled at work")
  end)

  it("reports each workload's config", function()
    local c = rep.config.workloads
    assert.are.same({ workload = "closed", consumers = 3, rate_per_consumer_per_sec = 20,
      duration_seconds = 2, start_seconds = 0, tags = { side = "read" } }, c.readers)
    assert.are.equal(30, c.writers.arrival_rate_per_sec)
    assert.are.equal(0.5, c.writers.start_seconds)
    assert.are.equal(5, c.writers.max_personas)
    assert.are.equal(2, rep.config.duration_seconds) -- the planned end: the last workload's
    assert.is_nil(rep.config.workload)
  end)

  it("evaluates thresholds per workload, {workload=*} once each", function()
    local keys = {}
    for _, t in ipairs(rep.thresholds) do keys[t.key] = t.ok end
    assert.is_true(keys["iterations{workload=writers}"])
    assert.is_true(keys["dropped_iterations{workload=writers}"])
    assert.is_true(keys["p95{workload=readers}"])
    assert.is_true(keys["p95{workload=writers}"])
  end)
end)

describe("named workloads, the summary", function()
  it("has a line per workload and a by-workload table", function()
    local r = run(SIDE_BY_SIDE, { "--quiet" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("\nworkload readers %(closed, from 0%.0s for [%d.]+s%): %d+ iterations, 0 dropped, "
      .. "personas max 3, %d+ requests, 0 errors, duration p50", r.stdout)
    assert.matches("\nworkload writers %(constant%-arrival%-rate, from 0%.5s for [%d.]+s%): %d+ iterations",
      r.stdout)
    assert.matches("\n  workload +count +errors +min ms", r.stdout)
    assert.matches("\n  readers +%d+ +0 ", r.stdout)
    assert.matches("\n  writers +%d+ +0 ", r.stdout)
    -- readers' line comes before writers' (by start)
    assert.is_true(r.stdout:find("workload readers", 1, true) < r.stdout:find("workload writers", 1, true))
  end)
end)

describe("named workloads, choosing and capping", function()
  it("--workloads runs only those named", function()
    local r, rep = run(SIDE_BY_SIDE, { "--quiet", "--workloads", "writers" })
    assert.are.equal(0, r.status, r.stderr)
    assert.is_nil(rep.workloads.readers)
    assert.is_nil(rep.config.workloads.readers)
    assert.is_nil(rep.metrics.by_tool.read)
    near(30, rep.workloads.writers.iterations, 2, "writers' iterations")
  end)

  it("--duration caps every workload; one starting after the cap never starts", function()
    local r, rep = run([[
      workloads = {
        early = { consumers = 2, rate = 20, duration = "5s" },
        late = { consumers = 2, rate = 20, duration = "5s", start = "2s" },
      },
    ]], { "--quiet", "--duration", "1s" })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    near(40, rep.workloads.early.iterations, 3, "early's iterations in 1s")
    assert.are.equal(0, rep.workloads.late.iterations)
    assert.are.equal(require("cjson").null, rep.workloads.late.started_seconds)
    assert.are.equal(1, rep.config.workloads.early.duration_seconds)
    assert.are.equal(1, rep.config.duration_seconds)
    assert.matches("workload late %(closed, not started%)", r.stdout)
  end)
end)

describe("named workloads, their own tasks, mix and expected outcomes", function()
  it("weights the declared tasks per workload and expects per workload", function()
    local mix = tmpfile([[{"groups": {"apac": {"count": 2}, "emea": {"count": 1}}}]], ".json")
    local r, rep = run(([[
      tasks = {
        home = { weight = 1, fn = function(ctx) get(ctx, "home") end },
        missing = { weight = 1, fn = function(ctx) get(ctx, "missing", "/no-such-page") end },
      },
      iteration = function(ctx) ctx:pick_task().run(ctx) end,
      workloads = {
        browsers = { total_requests = 30, tasks = { home = 1 }, mix_file = %q },
        probers = { consumers = 2, total_requests = 20, tasks = { missing = 1 },
          expect = { 404 } },
      },
    ]]):format(mix), { "--quiet" })
    os.remove(mix)
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    for _, s in ipairs(series_named(rep, "home")) do assert.are.equal("browsers", s.workload) end
    for _, s in ipairs(series_named(rep, "missing")) do assert.are.equal("probers", s.workload) end
    assert.are.equal(30, rep.metrics.by_tool.home.count)
    assert.are.equal(20, rep.metrics.by_tool.missing.count)
    -- probers' 404s are expected there; browsers' mix gave their personas
    assert.are.equal(20, rep.workloads.probers.expected_count)
    assert.are.equal(0, rep.result.error_count)
    assert.are.equal(3, rep.workloads.browsers.personas_max) -- the mix's 2 + 1
    assert.is_not_nil(rep.metrics.by_persona.apac)
    assert.is_not_nil(rep.metrics.by_persona.emea)
    assert.are.equal(2, rep.workloads.probers.personas_max)
  end)
end)

describe("named workloads, --help and usage errors", function()
  it("--help names the workloads", function()
    local path = scenario(SIDE_BY_SIDE)
    local r = support.run_cli { path, "--help" }
    os.remove(path)
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("Workloads: readers %(closed%), writers %(constant%-arrival%-rate, from 500ms%)",
      r.stdout)
    assert.matches("%-%-workloads", r.stdout)
  end)

  local function refused(body, args, pattern)
    local path = scenario(body)
    local r = support.run_cli(args and { path, unpack(args) } or { path, "--quiet" })
    os.remove(path)
    assert.are.equal(2, r.status, r.stdout .. r.stderr)
    assert.matches(pattern, r.stderr)
  end

  it("names the file, the workload and the key", function()
    refused("workloads = { a = { consumer = 3, duration = '1s' } },", nil,
      "%.lua: scenario key workloads%.a: unknown key 'consumer' %(did you mean 'consumers'%?%)")
    refused("workloads = { a = { stages = '1s:x' } },", nil,
      "%.lua: workload 'a': stages: stage '1s:x' is not DURATION:TARGET")
    refused("workloads = { a = { workload = 'constant-arrival-rate', duration = '1s' } },", nil,
      "%.lua: workload 'a': workload constant%-arrival%-rate needs rate %(iterations per second%)")
    refused("workloads = { a = { consumers = 2 } },", nil,
      "%.lua: workload 'a': a stop condition is required: duration %(e%.g%. 30s%) and/or total_requests N")
    refused("workloads = { a = { duration = '-1s' } },", nil,
      "%.lua: workloads%.a%.duration must be positive, got '%-1s'")
    refused("workloads = { a = { duration = '1s', tags = { persona = 'x' } } },", nil,
      "workloads%.a%.tags%.persona: the runner sets this tag")
    refused("workloads = { a = { duration = '1s', tasks = { nope = 1 } } },", nil,
      "workloads%.a%.tasks: the scenario declares no tasks")
    refused("workloads = { a = { duration = '1s' } }, options = { consumers = 2 },", nil,
      "option 'consumers': each of the scenario's named workloads sets its own")
    refused("workloads = {},", nil, "workloads: expected at least one named workload")
  end)

  it("refuses a named workload's options as flags, and unknown --workloads", function()
    refused(SIDE_BY_SIDE, { "--consumers", "9" },
      "%-%-consumers: the scenario runs named workloads %(readers, writers%), each with its own consumers")
    refused(SIDE_BY_SIDE, { "--workloads", "writer" },
      "%-%-workloads: no workload 'writer' %(did you mean 'writers'%?%)")
    refused("", { "--workloads", "a" }, "%-%-workloads: the scenario declares no named workloads")
  end)
end)

describe("scenarios/crowd_and_spike.lua against the embedded twin", function()
  it("runs load.lua's MCP personas as a crowd of readers and a spike of writers", function()
    local r, rep = support.run_scenario(support.source_dir .. "/scenarios/crowd_and_spike.lua",
      { "--quiet", "--fetch-delay", "0", "--duration", "6500ms", "--seed", "3" })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    local readers, writers = rep.workloads.readers, rep.workloads.writers
    assert.are.equal(12, readers.personas_max) -- the default mix's personas, each with its token
    assert.is_true(readers.iterations > 12, readers.iterations)
    assert.is_true(writers.iterations >= 2, writers.iterations) -- from 5 s on, ramping up
    near(5, writers.started_seconds, 0.2, "writers' start")
    assert.are.equal(0, rep.result.error_count)
    -- writers open sessions and read them back; readers also ask for the structure
    local tools = {}
    for _, s in ipairs(series_named(rep, "mcp.get_session_info")) do tools[s.workload] = true end
    assert.is_true(tools.readers and tools.writers)
    for _, s in ipairs(series_named(rep, "mcp.get_structure")) do assert.are.equal("readers", s.workload) end
    assert.are.equal(readers.request_count + writers.request_count, rep.result.request_count)
  end)
end)
