-- --workers N: one run on N threads (lua/gofr_sim/runner/workers.lua),
-- through the real executable: an iteration budget split exactly, the
-- samples of every worker in one report, the embedded twin reached from
-- every worker, SIGINT stopping all of them with one complete report.
local support = require "support"
local cjson = require "cjson"

local COUNTING = [[
local sim = require "gofr_sim"
return {
  name = "counting",
  options = { consumers = 6 },
  iteration = function(ctx)
    sim.sleep(0.002)
    sim.metrics.record("step", 0.001 * (ctx.persona.id % 7 + 1), { tool = "step" })
    sim.metrics.count("ran", 1, { id = tostring(ctx.persona.id) })
    sim.check(true, "ran")
  end,
}
]]

local function run(args, opts)
  local out = os.tmpname()
  local full = {}
  for i, a in ipairs(args) do full[i] = a end
  full[#full + 1] = "--output"
  full[#full + 1] = out
  local r = support.run_cli(full, opts)
  local text = support.read_file(out)
  os.remove(out)
  return r, text and text ~= "" and cjson.decode(text) or nil
end

local function counter_ids(rep)
  local ids, total = {}, 0
  for key, v in pairs(rep.counters) do
    local id = key:match("^ran{id=(%d+),")
    if id then ids[tonumber(id)] = v; total = total + v end
  end
  return ids, total
end

local function timeseries_requests(rep)
  local n = 0
  for _, e in ipairs(rep.timeseries) do n = n + e.requests end
  return n
end

describe("gofr-sim --workers", function()
  local path
  setup(function() path = support.tmpfile(COUNTING, ".lua") end)
  teardown(function() os.remove(path) end)

  it("splits an iteration budget exactly over 2 workers, in one report", function()
    local r, rep = run({ path, "--workers", "2", "--total-requests", "101", "--quiet", "--seed", "3" })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    assert.are.equal(2, rep.config.workers)
    assert.are.equal(101, rep.result.iterations)
    assert.are.equal(101, rep.metrics.by_tool.step.count)
    assert.are.equal(101, rep.result.request_count)
    assert.are.equal(101, timeseries_requests(rep))
    assert.are.equal(101, rep.checks.ran.passes)
    local ids, total = counter_ids(rep)
    assert.are.equal(101, total)
    for id = 1, 6 do assert.is_truthy(ids[id], "persona " .. id .. " ran no iteration") end
    assert.is_nil(ids[7]) -- 6 personas in all: 3 per worker, whole-run ids 1..6
  end)

  it("gives the same totals as one worker, the histogram of every sample", function()
    local _, one = run({ path, "--total-requests", "60", "--quiet", "--seed", "3" })
    local _, two = run({ path, "--workers", "2", "--total-requests", "60", "--quiet", "--seed", "3" })
    assert.are.equal(one.result.iterations, two.result.iterations)
    assert.are.equal(one.metrics.by_tool.step.count, two.metrics.by_tool.step.count)
    -- the step latencies depend only on the persona: equal sets of samples per persona
    local _, t1 = counter_ids(one)
    local _, t2 = counter_ids(two)
    assert.are.equal(t1, t2)
  end)

  it("drives the embedded twin from every worker", function()
    local r, rep = run({ "scenarios/load.lua", "--workers", "2", "--total-requests", "30",
                         "--fetch-delay", "0", "--quiet", "--seed", "5" }, { cwd = support.source_dir })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    assert.are.equal(30, rep.result.iterations)
    assert.are.equal(30, rep.metrics.by_tool["mcp.get_structure"].count)
    assert.are.equal(30, rep.metrics.by_tool["mcp.get_content"].count)
    assert.are.equal(0, rep.result.error_count)
  end)

  it("stops every worker on SIGINT and still writes one complete report", function()
    local r, rep = run({ path, "--workers", "2", "--duration", "60s", "--quiet" },
      { signal = { name = "INT", after = 2 } })
    assert.are.equal(130, r.status, r.stderr)
    assert.is_true(rep.interrupted)
    assert.is_true(rep.result.iterations > 0)
    assert.are.equal(rep.result.iterations, rep.metrics.by_tool.step.count)
    local _, total = counter_ids(rep)
    assert.are.equal(rep.result.iterations, total)
    assert.is_true(rep.result.duration_seconds < 30, "the run did not stop")
    local said = select(2, r.stderr:gsub("SIGINT received", ""))
    assert.are.equal(1, said, r.stderr) -- the coordinator says it once
  end)

  it("stops every worker when one worker's script calls sim.stop()", function()
    -- persona 1 (worker 1's) stops the run at its 5th iteration; persona 2
    -- runs in worker 2, which ends only because it is told
    local stopper = support.tmpfile([[
local sim = require "gofr_sim"
return {
  options = { consumers = 4 },
  iteration = function(ctx)
    sim.sleep(0.01)
    sim.metrics.count("ran", 1, { id = tostring(ctx.persona.id) })
    ctx.vars.n = (ctx.vars.n or 0) + 1
    if ctx.persona.id == 1 and ctx.vars.n == 5 then sim.stop() end
  end,
}
]], ".lua")
    local r, rep = run({ stopper, "--workers", "2", "--duration", "60s", "--quiet" })
    os.remove(stopper)
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    assert.is_false(rep.interrupted)
    assert.is_true(rep.verdict.facts.stopped)
    assert.is_true(rep.result.duration_seconds < 30, "worker 2 was not stopped")
    local ids = counter_ids(rep)
    assert.are.equal(5, ids[1])
    assert.is_truthy(ids[2], "worker 2's persona ran")
  end)

  it("runs persona_teardown once for each persona that ran, in its own worker", function()
    -- 5 personas, a budget of 3 iterations: 3 ran and are torn down, as the
    -- persona (its tag), also over 2 workers; the ones that never ran are not
    local leaving = support.tmpfile([[
local sim = require "gofr_sim"
return {
  options = { consumers = 5 },
  iteration = function(ctx)
    sim.sleep(0.05)
    ctx.vars.ran = true
  end,
  persona_teardown = function(ctx)
    assert(ctx.vars.ran, "a persona that never ran")
    sim.metrics.count("left", 1, { id = tostring(ctx.persona.id) })
  end,
}
]], ".lua")
    for _, workers in ipairs { "1", "2" } do
      local r, rep = run({ leaving, "--workers", workers, "--total-requests", "3", "--quiet" })
      assert.are.equal(0, r.status, r.stderr .. r.stdout)
      assert.are.equal(0, rep.result.script_errors, r.stderr)
      local left, ids = 0, 0
      for key, v in pairs(rep.counters) do
        if key:match("^left{id=%d+,") then
          left, ids = left + v, ids + 1
          assert.matches("persona=", key, 1, true)
        end
      end
      assert.are.same({ 3, 3 }, { left, ids }, workers .. " worker(s)")
    end
    os.remove(leaving)
    local r = support.run_cli({ support.tmpfile([[
return { check = function() end, persona_teardown = function() end }
]], ".lua") })
    assert.are.equal(2, r.status)
    assert.matches("scenario key 'persona_teardown': a check scenario has no personas", r.stderr, 1, true)
  end)

  it("refuses a bad --workers value, naming the flag", function()
    local r = support.run_cli({ path, "--workers", "0", "--total-requests", "1" })
    assert.are.equal(2, r.status)
    assert.matches("--workers", r.stderr, 1, true)
  end)
end)
