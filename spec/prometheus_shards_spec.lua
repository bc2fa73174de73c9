-- A real Prometheus (Debian's `prometheus`) scraping three shards on
-- 127.0.0.1: one standalone twin (`gofr-sim twin --port 0`), three shard
-- processes of scenarios/load.lua side by side against it (`--shard K/3
-- --mcp-url`, the default mix's tokens minted here and registered in the
-- twin's store), each serving `--metrics-listen` and lingering
-- (`--metrics-linger`) after its report. PromQL over the shards — sum() of
-- iterations, requests, errors, expected outcomes, sum by (tool), sum by
-- (error_type), count by (shard) — equals the merged report
-- (`gofr-sim merge`) within one scrape interval of the last shard's report;
-- and a scrape during the run saw part of it.
local sim = require "gofr_sim"
local cjson = require "cjson"
local support = require "support"

local q = support.shell_quote
local LOAD = support.source_dir .. "/scenarios/load.lua"
local MIX = support.source_dir .. "/fixtures/mixes/default.json"
local SHARDS = 3
local SCRAPE = 1 -- seconds: Prometheus' scrape interval here
local SLACK = 1.5 -- seconds past one scrape interval (a loaded 2-core machine)
local LINGER = 4 -- seconds each shard's endpoint stays up after its report
local RUN = "3s" -- each shard's --duration: about three scrapes of the run itself

local function has_prometheus()
  return support.sh_ok("command -v prometheus >/dev/null 2>&1")
end

local wait_for, decode, stop = support.wait_for, support.decode_report, support.stop_pid_file

local function urlencode(s)
  return (s:gsub("[^%w%-_.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- The instant vector of PromQL `expr` now (inside sim.run): {labels -> value}
-- keyed by the `by` label's value ("" for a sum without one), or nil when
-- Prometheus did not answer.
local function query(base, expr, by)
  local res = sim.http.get(base .. "/api/v1/query?query=" .. urlencode(expr), { timeout = 2 })
  if not (res and res.status == 200) then return nil end
  local ok, body = pcall(cjson.decode, res.body)
  if not ok or body.status ~= "success" then return nil end
  local out = {}
  for _, r in ipairs(body.data.result) do out[by and r.metric[by] or ""] = tonumber(r.value[2]) end
  return out
end

-- What the merged report says the queries must answer.
local function expected_of(rep)
  local by_tool, by_type = {}, {}
  for tool, agg in pairs(rep.metrics.by_tool) do
    by_tool[tool] = agg.count
    for _, types in ipairs { agg.error_types or {}, agg.expected_types or {} } do
      for t, n in pairs(types) do by_type[t] = (by_type[t] or 0) + n end
    end
  end
  return {
    iterations = { [""] = rep.result.iterations },
    requests = { [""] = rep.result.request_count },
    errors = { [""] = rep.result.error_count },
    expected = { [""] = rep.result.expected_count },
    by_tool = by_tool, by_type = by_type,
    shards = { ["1"] = 1, ["2"] = 1, ["3"] = 1 },
  }
end

local QUERIES = {
  iterations = { "sum(gofr_sim_iterations_total)" },
  requests = { "sum(gofr_sim_requests_total)" },
  errors = { "sum(gofr_sim_errors_total)" },
  expected = { "sum(gofr_sim_expected_total)" },
  by_tool = { 'sum by (tool) (gofr_sim_latency_seconds_count{tool!=""})', "tool" },
  by_type = { 'sum by (error_type) (gofr_sim_latency_seconds_count{tool!="", error_type!=""})',
    "error_type" },
  shards = { "count by (shard) (gofr_sim_requests_total)", "shard" },
}

-- Every query's answer now: {key -> vector}, or nil if one failed.
local function observe(base)
  local seen = {}
  for key, qq in pairs(QUERIES) do
    seen[key] = query(base, qq[1], qq[2])
    if not seen[key] then return nil end
  end
  return seen
end

local function same(a, b)
  for k, v in pairs(a) do if b[k] ~= v then return false end end
  for k, v in pairs(b) do if a[k] ~= v then return false end end
  return true
end

describe("a real Prometheus scraping three lingering shards", function()
  local dir, base, shard_reports, merged, expected
  local during, matched, last_report, first_report, statuses, seen_last, failed

  -- Everything the tests look at, found once (a failure here is each test's).
  local function start()
    dir = support.tmpdir()
    local url, env = support.start_shards_twin(dir)

    -- free ports: the shards' endpoints and Prometheus'
    local ports, taken = {}, {}
    while #ports < SHARDS + 1 do
      local p = support.closed_port()
      if not taken[p] then taken[p] = true; ports[#ports + 1] = p end
    end
    local targets = {}
    for k = 1, SHARDS do targets[k] = ('"127.0.0.1:%d"'):format(ports[k]) end
    support.write_file(dir .. "/prometheus.yml", ([[
global:
  scrape_interval: %ds
  scrape_timeout: %ds
scrape_configs:
  - job_name: gofr-sim
    static_configs:
      - targets: [%s]
]]):format(SCRAPE, SCRAPE, table.concat(targets, ", ")))
    base = ("http://127.0.0.1:%d"):format(ports[SHARDS + 1])
    -- a Go program: without the sanitizer preload of the ASan build
    os.execute("bash -c " .. q(("env -u LD_PRELOAD timeout -k 5 120 prometheus --config.file=%s "
      .. "--storage.tsdb.path=%s --web.listen-address=127.0.0.1:%d --web.enable-lifecycle "
      .. ">%s 2>&1 </dev/null & echo $! >%s"):format(q(dir .. "/prometheus.yml"), q(dir .. "/data"),
      ports[SHARDS + 1], q(dir .. "/prometheus.log"), q(dir .. "/prometheus.pid"))))
    local ready
    sim.run(function()
      for _ = 1, 300 do -- up to 30 s
        local res = sim.http.get(base .. "/-/ready", { timeout = 1 })
        if res and res.status == 200 then ready = true break end
        sim.sleep(0.1)
      end
    end)
    assert(ready, "Prometheus did not get ready: " .. tostring(support.read_file(dir .. "/prometheus.log")))
    -- its scrape loops running (targets reach them some seconds after it is
    -- ready): every target scraped once, down as nothing listens yet
    local scraping
    sim.run(function()
      for _ = 1, 300 do -- up to 30 s
        local res = sim.http.get(base .. "/api/v1/targets?state=active", { timeout = 1 })
        local ok, body = pcall(cjson.decode, res and res.status == 200 and res.body or "")
        local n = 0
        for _, t in ipairs(ok and body.data and body.data.activeTargets or {}) do
          if t.health ~= "unknown" then n = n + 1 end
        end
        if n == SHARDS then scraping = true break end
        sim.sleep(0.1)
      end
    end)
    assert(scraping, "Prometheus did not scrape the targets: "
      .. tostring(support.read_file(dir .. "/prometheus.log")))

    -- the shards, side by side, in the background; each bounded to 60 s
    local script = {}
    for k = 1, SHARDS do
      local args = { LOAD, "--shard", k .. "/" .. SHARDS, "--mcp-url", url, "--mix-file", MIX,
        "--token-source", "env", "--duration", RUN, "--seed", "7", "--quiet",
        "--output", dir .. "/shard" .. k .. ".json",
        "--metrics-listen", "127.0.0.1:" .. ports[k], "--metrics-linger", LINGER .. "s" }
      for i, a in ipairs(args) do args[i] = q(a) end
      local file = dir .. "/shard" .. k
      script[#script + 1] = ("(env %s timeout -k 5 60 %s %s >%s 2>&1 </dev/null & echo $! >%s; wait $!; "
        .. "echo $? >%s) &"):format(table.concat(env, " "), q(support.bin), table.concat(args, " "),
          q(file .. ".log"), q(file .. ".pid"), q(file .. ".rc"))
    end
    os.execute("bash -c " .. q(table.concat(script, "\n")))

    -- Prometheus queried every 50 ms: during the run, then until it answers
    -- what the shards' reports say (their sum), for at most 3 scrape
    -- intervals past the last report
    during = {}
    sim.run(function()
      local deadline = sim.now() + 60
      local reports = {}
      while sim.now() < deadline do
        local n = 0
        for k = 1, SHARDS do
          if not reports[k] and support.exists(dir .. "/shard" .. k .. ".json") then
            reports[k] = sim.now()
          end
          if reports[k] then n = n + 1 end
        end
        if n == SHARDS then break end
        local v = query(base, QUERIES.iterations[1])
        if v and v[""] then during[#during + 1] = v[""] end
        sim.sleep(0.05)
      end
      for k = 1, SHARDS do
        last_report = math.max(last_report or 0, reports[k] or math.huge)
        first_report = math.min(first_report or math.huge, reports[k] or math.huge)
      end
      if last_report == math.huge then return end
      shard_reports = {}
      for k = 1, SHARDS do shard_reports[k] = decode(dir .. "/shard" .. k .. ".json") end
      local sum = { metrics = { by_tool = {} }, result = {} }
      for _, rep in ipairs(shard_reports) do
        for _, key in ipairs { "iterations", "request_count", "error_count", "expected_count" } do
          sum.result[key] = (sum.result[key] or 0) + rep.result[key]
        end
        for tool, agg in pairs(rep.metrics.by_tool) do
          local s = sum.metrics.by_tool[tool] or { count = 0, error_types = {}, expected_types = {} }
          sum.metrics.by_tool[tool] = s
          s.count = s.count + agg.count
          for _, key in ipairs { "error_types", "expected_types" } do
            for t, c in pairs(agg[key] or {}) do s[key][t] = (s[key][t] or 0) + c end
          end
        end
      end
      local want = expected_of(sum)
      while sim.now() < last_report + 3 * SCRAPE do
        local seen = observe(base)
        seen_last = seen or seen_last
        local all = seen ~= nil
        for key in pairs(QUERIES) do all = all and same(seen[key], want[key]) end
        if all then matched = sim.now() break end
        sim.sleep(0.05)
      end
    end)
    statuses = {}
    for k = 1, SHARDS do
      wait_for(function() return support.read_file(dir .. "/shard" .. k .. ".rc") end, LINGER + 10)
      statuses[k] = tonumber(support.read_file(dir .. "/shard" .. k .. ".rc"))
    end
    local out = dir .. "/merged.json"
    local r = support.run_cli { "merge", dir .. "/shard1.json", dir .. "/shard2.json", dir .. "/shard3.json",
      "-o", out }
    merged = decode(out)
    assert(merged, "gofr-sim merge: " .. r.stdout .. r.stderr)
    expected = expected_of(merged)
  end

  setup(function()
    if not has_prometheus() then return end
    local ok, err = pcall(start)
    if not ok then failed = tostring(err) end
  end)

  teardown(function()
    if not dir then return end
    for k = 1, SHARDS do stop(dir .. "/shard" .. k .. ".pid") end
    stop(dir .. "/prometheus.pid")
    stop(dir .. "/twin.pid")
    os.execute("rm -rf " .. q(dir))
  end)

  -- pending without Prometheus; false when the setup failed
  local function ready()
    if not has_prometheus() then
      pending("prometheus not found: install Debian's 'prometheus' package (scripts/install-deps.sh does)")
      return false
    end
    assert(not failed, failed)
    return true
  end

  local function shard_logs()
    local t = {}
    for k = 1, SHARDS do
      t[#t + 1] = ("shard %d: %s"):format(k, support.read_file(dir .. "/shard" .. k .. ".log"))
    end
    return table.concat(t, "\n")
  end

  it("runs the shards to the end, each lingering after its report", function()
    if not ready() then return end
    assert(last_report and last_report < math.huge, "a shard wrote no report: " .. shard_logs())
    for k = 1, SHARDS do
      assert.are.equal(0, statuses[k], shard_logs())
      assert.are.same({ index = k, count = SHARDS }, shard_reports[k].config.shard)
    end
    assert.are.equal(SHARDS, merged.merged_from)
    assert.is_true(merged.result.iterations > 0)
  end)

  it("sums over the shards to the merged report within one scrape interval of the last report", function()
    if not ready() then return end
    local got = seen_last or {}
    local why = ("last seen %s; merged %s; %s"):format(cjson.encode(got), cjson.encode(expected),
      (support.read_file(dir .. "/prometheus.log") or ""):sub(-2000))
    assert(matched, "Prometheus never answered the merged totals: " .. why)
    -- the match is the last observation, and it is the merged report's
    for key in pairs(QUERIES) do assert.are.same(expected[key], got[key], key) end
    assert.is_true(expected.errors[""] == 0, "no unexpected errors: " .. merged.verdict.line)
    assert.is_true(expected.expected[""] > 0, "the attacker's AUTH_ERRORs are expected outcomes")
    assert.is_true(next(expected.by_type) ~= nil)
    local tools = 0
    for _ in pairs(expected.by_tool) do tools = tools + 1 end
    assert.is_true(tools >= 4, "the MCP flow's tools")
    local delay = matched - last_report
    io.stderr:write(("[prometheus_shards] the merged totals in Prometheus %.3f s after the last report "
      .. "(%.3f s after the first; %d sums seen during the run)\n"):format(delay, matched - first_report,
        #during))
    assert.is_true(delay <= SCRAPE + SLACK, ("%.3f s after the last report"):format(delay))
  end)

  it("saw part of the run while it ran", function()
    if not ready() then return end
    local partial = false
    for _, v in ipairs(during) do
      if v > 0 and v < merged.result.iterations then partial = true end
    end
    assert.is_true(partial, "sums seen during the run: " .. table.concat(during, " "))
  end)
end)
