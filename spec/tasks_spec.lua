-- gofr_sim.runner.tasks: a scenario's declared tasks (checks), the tasks a
-- persona draws from (a mix group's weights, else the declared ones), and
-- the draw by weight.
local tasks = require "gofr_sim.runner.tasks"
local personas = require "gofr_sim.runner.personas"
local rng = require "gofr_sim.engine.rng"

local function run() end

local DECLARED = {
  { name = "structure_then_content", weight = 1, run = run },
  { name = "content_only", weight = 0, run = run },
  { name = "list_sessions", weight = 0, run = run },
  { name = "ping", weight = 0, run = run },
}
local KNOWN = { tasks = tasks.names(DECLARED) }

-- The tasks of the one persona of a mix with the given group.
local function tasks_of(group_json)
  local mix = assert(personas.parse_mix('{"groups": {"a": ' .. group_json .. '}}', "inline.json", KNOWN))
  return tasks.bind(DECLARED, personas.expand(mix)[1].tasks)
end

describe("gofr_sim.runner.tasks", function()
  describe("pick", function()
    it("draws tasks by weight, repeatably for a seed", function()
      local list = tasks_of('{"count": 1, "tasks": {"structure_then_content": 3, '
        .. '"content_only": 1, "ping": 0.5, "list_sessions": 0.5}}')
      local r = rng.new(42)
      local n, counts = 40000, {}
      for _ = 1, n do
        local t = tasks.pick(list, r).name
        counts[t] = (counts[t] or 0) + 1
      end
      assert.are.equal(n, (counts.structure_then_content or 0) + (counts.content_only or 0)
        + (counts.ping or 0) + (counts.list_sessions or 0)) -- no other task drawn
      assert.is_true(math.abs(counts.structure_then_content / n - 0.6) < 0.015)
      assert.is_true(math.abs(counts.content_only / n - 0.2) < 0.015)
      assert.is_true(math.abs(counts.ping / n - 0.1) < 0.01)
      assert.is_true(math.abs(counts.list_sessions / n - 0.1) < 0.01)
      local a, b, seq_a, seq_b = rng.new(7), rng.new(7), {}, {}
      for i = 1, 50 do
        seq_a[i] = tasks.pick(list, a).name
        seq_b[i] = tasks.pick(list, b).name
      end
      assert.are.same(seq_a, seq_b)
    end)

    it("gives the declared default, without drawing, when the group has no tasks", function()
      local list = tasks_of('{"count": 1}')
      local r, twin = rng.new(1), rng.new(1)
      assert.are.equal("structure_then_content", tasks.pick(list, r).name)
      assert.are.equal(DECLARED[1], tasks.pick(list, nil))             -- no rng needed
      assert.are.equal(twin:float(), r:float())                       -- nothing drawn
      local single = tasks_of('{"count": 1, "tasks": {"ping": 2}}')
      assert.are.equal("ping", tasks.pick(single, r).name)
      assert.are.equal(run, tasks.pick(single, r).run)
    end)
  end)

  describe("bind", function()
    it("takes a group's weights in its order, with the declared run functions", function()
      local function browse() end
      local declared = { { name = "search", weight = 2, run = run },
                         { name = "browse", weight = 0, run = browse } }
      assert.are.same({ { name = "browse", weight = 5, run = browse },
                        { name = "search", weight = 1, run = run } },
        tasks.bind(declared, { { name = "browse", weight = 5 }, { name = "search", weight = 1 } }))
      assert.are.same({ declared[1] }, tasks.bind(declared, nil))     -- weight 0: only where a mix asks
      assert.is_nil(tasks.bind(nil, nil))
      assert.is_nil(tasks.names(nil))
      assert.are.same({ "search", "browse" }, tasks.names(declared))
    end)
  end)

  describe("check", function()
    it("accepts a declaration, and names what is wrong with a bad one", function()
      assert.is_nil(tasks.check(DECLARED))
      local cases = {
        { {}, "tasks: expected an array of {name=, weight=, run=} or a map name -> {weight=, fn=}" },
        { 3, "tasks: expected an array of {name=, weight=, run=} or a map name -> {weight=, fn=}" },
        { { browse = { wieght = 1, fn = run } },
          "tasks.browse: unknown key 'wieght' (did you mean 'weight'?)" },
        { { browse = { weight = 1 } }, "tasks.browse: 'fn' must be a function, got nil" },
        { { browse = { weight = 1, fn = run, run = run } },
          "tasks.browse: give 'fn' or 'run', not both" },
        { { browse = 1 }, "tasks.browse: expected {weight=, fn=}, got a number" },
        { { browse = { weight = -2, fn = run } },
          "tasks[1] (browse): 'weight' must be a number >= 0, got -2" },
        { { browse = { weight = 0, fn = run } },
          "tasks: at least one task needs a weight > 0 (the weights used where a mix gives none)" },
        { { "browse" }, "tasks[1]: expected {name=, weight=, run=}, got a string" },
        { { { name = "a", weight = 1, fn = run } },
          "tasks[1]: unknown key 'fn' (accepted: name, run, weight)" },
        { { { weight = 1, run = run } }, "tasks[1]: 'name' must be a non-empty string" },
        { { { name = "a", weight = 1, run = run }, { name = "a", weight = 1, run = run } },
          "tasks[2]: task 'a' is declared twice" },
        { { { name = "a", weight = -1, run = run } },
          "tasks[1] (a): 'weight' must be a number >= 0, got -1" },
        { { { name = "a", run = run } }, "tasks[1] (a): 'weight' must be a number >= 0, got nil" },
        { { { name = "a", weight = 1 } }, "tasks[1] (a): 'run' must be a function, got nil" },
        { { { name = "a", weight = 0, run = run } },
          "tasks: at least one task needs a weight > 0 (the weights used where a mix gives none)" },
      }
      for _, case in ipairs(cases) do assert.are.equal(case[2], tasks.check(case[1])) end
    end)

    it("takes tasks by name (Locust's @task(weight)) as the array form in name order", function()
      local by_name = { search = { weight = 1, fn = run }, browse = { weight = 3, run = run } }
      assert.is_nil(tasks.check(by_name))
      assert.are.same({ { name = "browse", weight = 3, run = run },
                        { name = "search", weight = 1, run = run } }, tasks.list(by_name))
      assert.are.equal(DECLARED, tasks.list(DECLARED))
      assert.is_nil(tasks.list(nil))
    end)
  end)
end)
