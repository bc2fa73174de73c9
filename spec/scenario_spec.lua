-- Scenario tables through the executable: workloads, ground-truth latency,
-- coordinated omission, thresholds, the report and exit statuses.
local cjson = require "cjson"
local support = require "support"

local tmpfile = support.tmpfile

-- The sanitizer build (-O0, instrumented) checks memory safety, not speed:
-- latency bounds get this much slack there (ms).
local SLACK = os.getenv("GS_SANITIZED") and 10 or 0

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

-- Runs measure(), which returns ok, why; a miss is measured once more before
-- failing: a VM's scheduling hiccup (another process taking the core for a
-- few ms) can push one run's p99 past its tolerance, a real error cannot
-- pass twice in a row by chance.
local function twice(measure)
  local ok, why = measure()
  if not ok then ok, why = measure() end
  assert.is_true(ok, why)
end

describe("scenario ground truth", function()
  it("reports 50 ms for delay_ms=50 (p50 within 50-53 ms, p99 within 50-55 ms)", function()
    twice(function()
      local r, rep = run_scenario(scenario('"delay_ms=50"'), { "--duration", "3s" })
      assert.are.equal(0, r.status, r.stderr)
      local agg = rep.metrics.by_tool["http.get"]
      assert.is_true(agg.count > 300, "count " .. agg.count)
      assert.are.equal(0, agg.error_count)
      -- the fixture server waits 50 ms + up to 1 ms (never early); the rest is
      -- the loop and the kernel, which on a shared 2-core VM reaches ~3 ms at p99
      local ok = agg.p50_ms >= 50 and agg.p50_ms <= 53 + SLACK
        and agg.p99_ms >= 50 and agg.p99_ms <= 55 + SLACK
      return ok, ("p50 %s, p99 %s"):format(agg.p50_ms, agg.p99_ms)
    end)
  end)

  it("separates a 90/10 mix of 20 ms and 200 ms (p50 ~ 20, p95 ~ 200)", function()
    twice(function()
      local r, rep = run_scenario(
        scenario('ctx.rng:float() < 0.1 and "delay_ms=200" or "delay_ms=20"',
          'thresholds = { ["p95{tool=http.get}"] = "< 1s" },'),
        { "--duration", "4s", "--consumers", "20", "--rate", "40", "--seed", "7" })
      assert.are.equal(0, r.status, r.stderr)
      local agg = rep.metrics.by_tool["http.get"]
      local ok = math.abs(agg.p50_ms - 20) <= 3 + SLACK and math.abs(agg.p95_ms - 200) <= 3 + SLACK
      return ok, ("p50 %s, p95 %s"):format(agg.p50_ms, agg.p95_ms)
    end)
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

describe("scenario workloads", function()
  -- A scenario that only counts: each iteration notes its persona and second.
  local COUNTING = [[
    local sim = require "gofr_sim"
    local t0
    return {
      setup = function() t0 = sim.now() end,
      iteration = function(ctx)
        sim.metrics.count("persona", 1, { id = tostring(ctx.persona.id) })
        sim.metrics.count("second", 1, { s = tostring(math.floor(sim.now() - t0)) })
        sim.metrics.count("pick", 1, { v = tostring(ctx.rng:int(1, 1000)) })
        sim.sleep(0.01)
      end,
    }
  ]]

  -- name{..., tag=value, ...} -> {[value] = count}
  local function counters(rep, name, tag)
    local out = {}
    for key, value in pairs(rep.counters) do
      local v = key:match("^" .. name .. "{.-" .. tag .. "=([^,}]+)")
      if v then out[v] = value end
    end
    return out
  end

  it("ramps closed-model personas through --stages", function()
    local r, rep = run_scenario(tmpfile(COUNTING), { "--stages", "1s:2,1s:6,1s:0" })
    assert.are.equal(0, r.status, r.stderr)
    local personas = counters(rep, "persona", "id")
    assert.is_not_nil(personas["6"], "the sixth persona ran")
    assert.is_nil(personas["7"])
    assert.are.equal(6, rep.config.consumers)
  end)

  it("ramps the arrival rate through --stages", function()
    local r, rep = run_scenario(tmpfile(COUNTING),
      { "--workload", "ramping-arrival-rate", "--rate", "0", "--stages", "2s:100,1s:100" })
    -- --rate 0 is refused: the start rate must be > 0
    assert.are.equal(2, r.status)
    assert.is_nil(rep)
    r, rep = run_scenario(tmpfile(COUNTING),
      { "--workload", "ramping-arrival-rate", "--stages", "2s:100,1s:100" })
    assert.are.equal(0, r.status, r.stderr)
    local per_second = counters(rep, "second", "s")
    -- the rate climbs from 0 to 100/s over two seconds, then holds
    assert.is_true((per_second["0"] or 0) < (per_second["1"] or 0), "ramping up")
    assert.is_true(math.abs((per_second["2"] or 0) - 100) <= 10, "holding at 100/s")
  end)

  it("lets unpaced personas whose iterations never wait share the loop", function()
    local path = tmpfile([[
      local sim = require "gofr_sim"
      return { iteration = function(ctx)
        sim.metrics.count("by", 1, { id = tostring(ctx.persona.id) })
      end }
    ]])
    local r, rep = run_scenario(path, { "--duration", "300ms", "--consumers", "4" })
    assert.are.equal(0, r.status, r.stderr)
    local by = counters(rep, "by", "id")
    for id = 1, 4 do
      assert.is_true((by[tostring(id)] or 0) > 0.9 * (by["1"] or 0), "persona " .. id)
    end
  end)

  it("paces each mix group at its own rate in the closed model", function()
    local mix = tmpfile([[{"groups": {"slow": {"count": 1, "token": null, "rate": 5},
                           "fast": {"count": 1, "token": null, "rate": 50}}}]], ".json")
    local path = tmpfile([[
      local sim = require "gofr_sim"
      return { iteration = function() sim.metrics.count("it", 1) end }
    ]])
    local r, rep = run_scenario(path, { "--mix-file", mix, "--duration", "1s" })
    os.remove(mix)
    assert.are.equal(0, r.status, r.stderr)
    local by = counters(rep, "it", "persona")
    assert.is_true(math.abs(by.slow - 5) <= 1, "slow " .. tostring(by.slow))
    assert.is_true(math.abs(by.fast - 50) <= 3, "fast " .. tostring(by.fast))
  end)

  it("runs the tasks it declares: by their weights, or a mix group's; refuses undeclared ones", function()
    local declaring = [[
      local sim = require "gofr_sim"
      local function task(name, weight)
        return { name = name, weight = weight, run = function() sim.metrics.count("task." .. name, 1) end }
      end
      return {
        tasks = { task("read", 1), task("write", 0) },
        iteration = function(ctx) ctx:pick_task().run(ctx) end,
      }
    ]]
    local r, rep = run_scenario(tmpfile(declaring), { "--total-requests", "20" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.same({ default = 20 }, counters(rep, "task.read", "persona"))  -- the only weight > 0
    assert.are.same({}, counters(rep, "task.write", "persona"))
    local mix = tmpfile([[{"groups": {"writers": {"count": 1, "tasks": {"write": 1}},
                           "readers": {"count": 1}}}]], ".json")
    r, rep = run_scenario(tmpfile(declaring), { "--mix-file", mix, "--total-requests", "20" })
    assert.are.equal(0, r.status, r.stderr)
    assert.is_nil(counters(rep, "task.read", "persona").writers)
    assert.is_true(counters(rep, "task.write", "persona").writers > 0)
    assert.is_true(counters(rep, "task.read", "persona").readers > 0)
    local bad = tmpfile([[{"groups": {"a": {"count": 1, "tasks": {"delete": 1}}}}]], ".json")
    r = run_scenario(tmpfile(declaring), { "--mix-file", bad, "--total-requests", "1" })
    os.remove(mix)
    os.remove(bad)
    assert.are.equal(2, r.status)
    assert.matches("mix file " .. bad .. ": groups.a.tasks.delete: unknown task (tasks: read, write)",
      r.stderr, 1, true)
    r = run_scenario(tmpfile("return { tasks = { { name = 'x', weight = 0, run = print } }, "
      .. "iteration = function() end }\n"), { "--total-requests", "1" })
    assert.are.equal(2, r.status)
    assert.matches("scenario key tasks: at least one task needs a weight > 0", r.stderr, 1, true)
  end)

  it("runs tasks declared by name with their weights (Locust's @task(3))", function()
    local declaring = [[
      local sim = require "gofr_sim"
      local function count(name) return function() sim.metrics.count("task." .. name, 1) end end
      return {
        tasks = { browse = { weight = 3, fn = count("browse") },
                  buy = { weight = 1, fn = count("buy") },
                  admin = { weight = 0, fn = count("admin") } },
        iteration = function(ctx) ctx:pick_task().run(ctx) end,
      }
    ]]
    local r, rep = run_scenario(tmpfile(declaring), { "--total-requests", "400", "--seed", "3" })
    assert.are.equal(0, r.status, r.stderr)
    local browse = counters(rep, "task.browse", "persona").default or 0
    local buy = counters(rep, "task.buy", "persona").default or 0
    assert.are.equal(400, browse + buy)
    assert.are.same({}, counters(rep, "task.admin", "persona"))
    assert.is_true(browse > 2 * buy, ("browse %d, buy %d: not about 3:1"):format(browse, buy))
    r = run_scenario(tmpfile("return { tasks = { browse = { wieght = 1, fn = print } }, "
      .. "iteration = function() end }\n"), { "--total-requests", "1" })
    assert.are.equal(2, r.status)
    assert.matches("scenario key tasks.browse: unknown key 'wieght' (did you mean 'weight'?)",
      r.stderr, 1, true)
  end)

  it("reports the most personas active at once, closed and open model", function()
    local source = [[
      local sim = require "gofr_sim"
      return { iteration = function() sim.sleep(0.05) end }
    ]]
    local r, rep = run_scenario(tmpfile(source), { "--consumers", "6", "--duration", "1s" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(6, rep.result.personas_max)
    assert.matches(" script errors, personas max 6, duration p50", r.stdout, 1, true)
    -- 100 arrivals/s of 50 ms each: about 5 at once, never more than max_personas
    r, rep = run_scenario(tmpfile(source), { "--workload", "constant-arrival-rate", "--rate", "100",
                                  "--max-personas", "20", "--duration", "1s" })
    assert.are.equal(0, r.status, r.stderr)
    assert.is_true(rep.result.personas_max >= 3 and rep.result.personas_max <= 20,
      "personas_max " .. tostring(rep.result.personas_max))
  end)

  it("ramps personas through --stages: from 0, or from a zero-length first stage; --duration wins", function()
    local source = [[
      local sim = require "gofr_sim"
      return { iteration = function() sim.sleep(0.05) end }
    ]]
    local r, rep = run_scenario(tmpfile(source), { "--stages", "0s:5,1s:5" }) -- starts at 5
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(5, rep.result.personas_max)
    assert.is_true(math.abs(rep.result.duration_seconds - 1) < 0.3, "lasted the stages' total")
    r, rep = run_scenario(tmpfile(source), { "--stages", "1s:4", "--duration", "2s" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(4, rep.result.personas_max) -- held at the last target
    assert.is_true(math.abs(rep.result.duration_seconds - 2) < 0.3, "--duration won")
  end)

  it("reports the bytes its requests sent and received (data_sent_bytes, data_received_bytes)", function()
    local source = [[
      local sim = require "gofr_sim"
      return {
        setup = function() return { site = assert(sim.fixtures.serve {}) } end,
        iteration = function(ctx) sim.http.get(ctx.site.url .. "/index.html") end,
        teardown = function(ctx) ctx.site.close() end,
      }
    ]]
    local r, rep = run_scenario(tmpfile(source), { "--total-requests", "10", "--consumers", "1" })
    assert.are.equal(0, r.status, r.stderr)
    local body = #assert(support.read_file(support.fixtures_root .. "/index.html"))
    local got, sent = rep.result.data_received_bytes, rep.result.data_sent_bytes
    assert.is_true(got > 10 * body and got < 10 * (body + 400), ("received %d for 10 x %d"):format(got, body))
    assert.is_true(sent > 10 * 40 and sent < 10 * 300, "sent " .. sent)
    assert.matches("\ndata received %d+%.%d+ KiB %(.-/s%), sent %d+ B\n", r.stdout)
  end)

  it("repeats every random choice for the same --seed", function()
    local _, a = run_scenario(tmpfile(COUNTING), { "--total-requests", "40", "--seed", "11" })
    local _, b = run_scenario(tmpfile(COUNTING), { "--total-requests", "40", "--seed", "11" })
    local _, c = run_scenario(tmpfile(COUNTING), { "--total-requests", "40", "--seed", "12" })
    assert.are.same(counters(a, "pick", "v"), counters(b, "pick", "v"))
    assert.are_not.same(counters(a, "pick", "v"), counters(c, "pick", "v"))
  end)

  it("writes the report after SIGINT, marked interrupted", function()
    local dir = os.tmpname()
    os.remove(dir)
    local out = dir .. "/nested/report.json"
    local path = tmpfile(COUNTING)
    local r = support.run_cli({ path, "--duration", "60s", "--quiet", "--output", out },
      { signal = { name = "INT", after = 1 } })
    os.remove(path)
    assert.are.equal(130, r.status, r.stderr)
    local rep = read_json(out)
    os.execute("rm -rf " .. support.shell_quote(dir))
    assert.is_true(rep.interrupted)
    assert.is_true(rep.result.iterations > 0)
  end)

  it("shows a progress line on a terminal, none with --quiet", function()
    local path = tmpfile(COUNTING)
    local function on_tty(extra)
      local log = os.tmpname()
      os.execute(("script -qec %s %s >/dev/null 2>&1"):format(
        support.shell_quote(support.shell_quote(support.bin) .. " " .. path
          .. " --duration 2500ms" .. extra), log))
      local f = assert(io.open(log))
      local text = f:read("*a")
      f:close()
      os.remove(log)
      return text
    end
    assert.matches("personas %d+  iterations %d+  dropped 0", on_tty(""))
    assert.is_nil(on_tty(" --quiet"):find("dropped 0  ", 1, true))
    os.remove(path)
  end)
end)
