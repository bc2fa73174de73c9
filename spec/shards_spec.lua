-- Shards through the real executable, on 127.0.0.1: one standalone twin
-- (`gofr-sim twin --port 0`), three shard processes of scenarios/load.lua
-- side by side against it (`--shard K/3 --mcp-url`, the default mix's
-- tokens minted here with the twin's secret and registered in its token
-- store), then `gofr-sim merge`: the merged report has exactly the
-- iteration budget, counts that are the sums of the shards', percentiles
-- of the union of their histograms, and a threshold every shard passed
-- fails on the merge (exit 99); `gofr-sim report --html` draws it.
local core = require "gofr_sim.core"
local aggregate = require "gofr_sim.report.aggregate"
local support = require "support"

local q = support.shell_quote
local LOAD = support.source_dir .. "/scenarios/load.lua"
local MIX = support.source_dir .. "/fixtures/mixes/default.json"
local SHARDS, BUDGET = 3, 30

local decode = support.decode_report

describe("three shards against one standalone twin, merged", function()
  local dir, url, env, shards, statuses

  setup(function()
    dir = support.tmpdir()
    -- one twin; the mix's tokens minted once with its secret and registered
    -- in its store before the shards start, which read them from the environment
    url, env = support.start_shards_twin(dir)
    -- the shards, side by side; each bounded to 60 s
    local script = {}
    for k = 1, SHARDS do
      local args = { LOAD, "--shard", k .. "/" .. SHARDS, "--mcp-url", url, "--mix-file", MIX,
        "--token-source", "env", "--total-requests", tostring(BUDGET), "--seed", "7", "--quiet",
        "--threshold", "iterations <= " .. BUDGET / SHARDS, "--output", dir .. "/shard" .. k .. ".json" }
      for i, a in ipairs(args) do args[i] = q(a) end
      script[#script + 1] = ("(env %s timeout -k 5 60 %s %s >%s 2>&1 </dev/null; echo $? >%s) &")
        :format(table.concat(env, " "), q(support.bin), table.concat(args, " "),
          q(dir .. "/shard" .. k .. ".log"), q(dir .. "/shard" .. k .. ".rc"))
    end
    script[#script + 1] = "wait"
    os.execute("bash -c " .. q(table.concat(script, "\n")))
    shards, statuses = {}, {}
    for k = 1, SHARDS do
      statuses[k] = tonumber(support.read_file(dir .. "/shard" .. k .. ".rc"))
      shards[k] = decode(dir .. "/shard" .. k .. ".json")
    end
  end)

  teardown(function()
    support.stop_pid_file(dir .. "/twin.pid")
    os.execute("rm -rf " .. q(dir))
  end)

  it("runs each shard's part of the load, passing its own thresholds", function()
    for k = 1, SHARDS do
      assert.are.equal(0, statuses[k], support.read_file(dir .. "/shard" .. k .. ".log"))
      local rep = shards[k]
      assert.are.same({ index = k, count = SHARDS }, rep.config.shard)
      assert.are.equal(BUDGET / SHARDS, rep.result.iterations)
      assert.are.equal(BUDGET / SHARDS, rep.config.total_requests)
      assert.is_true(rep.verdict.ok, rep.verdict.line)
      assert.are.equal(0, rep.result.error_count, rep.verdict.line)
      -- what a merge judges from: the verdict's inputs and the declared thresholds
      assert.are.equal(BUDGET / SHARDS, rep.verdict.facts.completed)
      assert.is_true(rep.verdict.facts.budget_spent)
      local declared = {}
      for _, t in ipairs(rep.threshold_specs) do declared[t.key] = t.condition end
      assert.are.equal("<= " .. BUDGET / SHARDS, declared.iterations)
    end
  end)

  it("merges them into one run: the budget exactly, counts summed, percentiles of the union", function()
    local out = dir .. "/merged.json"
    local r = support.run_cli { "merge", dir .. "/shard1.json", dir .. "/shard2.json", dir .. "/shard3.json",
      "-o", out, "--threshold", "iterations <= " .. BUDGET }
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local m = assert(decode(out))
    assert.are.equal(BUDGET, m.result.iterations)
    assert.are.equal(SHARDS, m.merged_from)
    assert.are.same({ count = SHARDS, indexes = { 1, 2, 3 }, merged = true }, m.config.shard)
    assert.are.equal(BUDGET, m.config.total_requests)
    local requests, errors, expected = 0, 0, 0
    for _, rep in ipairs(shards) do
      requests = requests + rep.result.request_count
      errors = errors + rep.result.error_count
      expected = expected + rep.result.expected_count
    end
    assert.are.same({ requests, errors, expected },
      { m.result.request_count, m.result.error_count, m.result.expected_count })
    assert.is_true(expected > 0, "the attacker's AUTH_ERRORs are expected outcomes")
    local tools = 0
    for tool, agg in pairs(m.metrics.by_tool) do
      tools = tools + 1
      local count, union = 0, core.hist_new()
      for _, rep in ipairs(shards) do
        local a = rep.metrics.by_tool[tool]
        if a then
          count = count + a.count
          union:merge(assert(core.hist_decode(a.histogram)))
        end
      end
      assert.are.equal(count, agg.count, tool)
      for _, p in ipairs { { "p50_ms", 50 }, { "p95_ms", 95 }, { "p99_ms", 99 } } do
        assert.are.equal(aggregate.ms(union:percentile(p[2])), agg[p[1]], tool .. " " .. p[1])
      end
    end
    assert.is_true(tools >= 4, "the MCP flow's tools")
    assert.is_true(m.verdict.ok, m.verdict.line)
    assert.are.equal(BUDGET, m.verdict.facts.completed, "the shards' completed iterations, summed")
    assert.matches(BUDGET .. " iterations", r.stdout, 1, true)
  end)

  it("fails on the merge a threshold every shard passed: exit 99", function()
    -- each shard ran 10 iterations under its --threshold 'iterations <= 10';
    -- the merged run ran 30, judged against the same threshold from their rows
    local out = dir .. "/merged99.json"
    local r = support.run_cli { "merge", dir .. "/shard1.json", dir .. "/shard2.json", dir .. "/shard3.json",
      "-o", out }
    assert.are.equal(99, r.status, r.stdout .. r.stderr)
    assert.matches("FAIL  iterations = 30, bound <= 10: FAILED by 20", r.stdout, 1, true)
    local m = assert(decode(out))
    assert.is_false(m.verdict.ok)
    for _, t in ipairs(m.thresholds) do
      assert.are.equal(t.key ~= "iterations", t.ok, t.message)
    end
    -- the HTML report of the merged one
    local html = dir .. "/out/merged.html"
    r = support.run_cli { "report", out, "--html", html }
    assert.are.equal(0, r.status, r.stderr)
    local page = assert(support.read_file(html))
    assert.matches('id="chart-latency"', page, 1, true)
    assert.matches("FAIL: 1 of %d+ thresholds failed %(iterations%)", page)
  end)
end)
