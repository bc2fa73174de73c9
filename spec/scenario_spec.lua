-- Scenario tables through the executable: workloads, ground-truth latency,
-- coordinated omission, thresholds, the report and exit statuses.
local cjson = require "cjson"
local support = require "support"

local function tmpfile(contents, suffix)
  local path = os.tmpname() .. (suffix or ".lua")
  local f = assert(io.open(path, "w"))
  f:write(contents)
  f:close()
  return path
end

local function read_json(path)
  local f = assert(io.open(path))
  local t = cjson.decode(f:read("*a"))
  f:close()
  return t
end

-- A scenario whose iteration GETs the fixture site with a query chosen by
-- the given Lua expression (ctx and t, the seconds since the run began).
local function scenario(query_expr, extra)
  return tmpfile(([[
    local sim = require "gofr_sim"
    local t0
    return {
      options = { consumers = 8, rate = 50 },
      setup = function() t0 = sim.now(); return { site = assert(sim.fixtures.serve {}) } end,
      iteration = function(ctx)
        local t = sim.now() - t0
        sim.http.get(ctx.site.url .. "/index.html?" .. (%s))
      end,
      teardown = function(ctx) ctx.site.close() end,
      %s
    }
  ]]):format(query_expr, extra or ""))
end

local function run_scenario(path, args)
  local out = os.tmpname()
  local argv = { path, "--quiet", "--output", out }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  local r = support.run_cli(argv)
  local ok, rep = pcall(read_json, out)
  os.remove(out)
  os.remove(path)
  return r, ok and rep or nil
end

describe("scenario ground truth", function()
  it("reports 50 ms for delay_ms=50 (p50 and p99 within 50-53 ms)", function()
    local r, rep = run_scenario(scenario('"delay_ms=50"'), { "--duration", "3s" })
    assert.are.equal(0, r.status, r.stderr)
    local agg = rep.metrics.by_tool["http.get"]
    assert.is_true(agg.count > 300, "count " .. agg.count)
    assert.are.equal(0, agg.error_count)
    for _, key in ipairs({ "p50_ms", "p99_ms" }) do
      assert.is_true(agg[key] >= 50 and agg[key] <= 53, key .. " = " .. agg[key])
    end
  end)

  it("separates a 90/10 mix of 20 ms and 200 ms (p50 ~ 20, p95 ~ 200)", function()
    local r, rep = run_scenario(
      scenario('ctx.rng:float() < 0.1 and "delay_ms=200" or "delay_ms=20"',
        'thresholds = { ["p95{tool=http.get}"] = "< 1s" },'),
      { "--duration", "4s", "--consumers", "20", "--rate", "40", "--seed", "7" })
    assert.are.equal(0, r.status, r.stderr)
    local agg = rep.metrics.by_tool["http.get"]
    assert.is_true(math.abs(agg.p50_ms - 20) <= 3, "p50 " .. agg.p50_ms)
    assert.is_true(math.abs(agg.p95_ms - 200) <= 3, "p95 " .. agg.p95_ms)
  end)

  it("measures open-model latency from the intended start (coordinated omission)", function()
    -- The server stalls every request sent between 1 s and 2 s until 2 s.
    local r, rep = run_scenario(
      scenario('(t >= 1 and t < 2) and ("delay_ms=" .. math.floor((2 - t) * 1000)) or "delay_ms=0"'),
      { "--workload", "constant-arrival-rate", "--rate", "200", "--duration", "4s",
        "--max-personas", "4" })
    assert.are.equal(0, r.status, r.stderr)
    local latency = rep.metrics.series["iteration{persona=default}"]
    local service = rep.metrics.series["iteration.service{persona=default}"]
    assert.is_true(latency.p99_ms >= 500, "p99 from intended start " .. latency.p99_ms)
    assert.is_true(service.p99_ms < 100, "service-time p99 " .. service.p99_ms)
    assert.is_true(rep.result.iterations > 700, "iterations " .. rep.result.iterations)
  end)
end)

describe("scenario thresholds and exit statuses", function()
  it("exits 99 naming the failed threshold and the margin", function()
    local r = run_scenario(scenario('"delay_ms=30"',
      'thresholds = { ["p95{tool=http.get}"] = "< 10ms" },'), { "--total-requests", "40" })
    assert.are.equal(99, r.status, r.stderr)
    assert.matches("p95{tool=http.get}", r.stdout, 1, true)
  end)

  it("exits 0 when every threshold passes, --threshold included", function()
    local r = run_scenario(scenario('"delay_ms=1"', 'thresholds = { error_rate = "< 1%" },'),
      { "--total-requests", "40", "--threshold", "p99{tool=http.get} < 2s" })
    assert.are.equal(0, r.status, r.stderr)
  end)

  it("refuses a malformed threshold before the run, exit 2", function()
    local r = run_scenario(scenario('"x=1"'), { "--total-requests", "5", "--threshold", "p95 < 20mx" })
    assert.are.equal(2, r.status)
    assert.matches("--threshold", r.stderr, 1, true)
  end)

  it("exits 1 when a check fails", function()
    local path = tmpfile([[
      local sim = require "gofr_sim"
      return { iteration = function(ctx) sim.check(ctx.iteration < 3, "early") end }
    ]])
    local r = run_scenario(path, { "--total-requests", "5", "--consumers", "1" })
    assert.are.equal(1, r.status, r.stderr)
  end)

  it("names an unknown scenario key", function()
    local path = tmpfile("return { iteraton = function() end }\n")
    local r = run_scenario(path, { "--total-requests", "1" })
    assert.are.equal(2, r.status)
    assert.matches("unknown scenario key 'iteraton'", r.stderr, 1, true)
  end)
end)
