-- gofr_sim.report.prometheus: the exposition text of a registry, the /metrics
-- endpoint, and `--metrics-listen` on a real run scraped twice and checked
-- with Prometheus's own `promtool check metrics`.
local sim = require "gofr_sim"
local metrics = require "gofr_sim.engine.metrics"
local prometheus = require "gofr_sim.report.prometheus"
local cli = require "gofr_sim.util.flags"
local support = require "support"

local q = support.shell_quote
local LOAD = support.source_dir .. "/scenarios/load.lua"

local function has_promtool()
  return support.sh_ok("command -v promtool >/dev/null 2>&1")
end

-- promtool check metrics on `text`: ok, its output.
local function promtool(text)
  local input, output = os.tmpname(), os.tmpname()
  local f = assert(io.open(input, "wb"))
  f:write(text)
  f:close()
  local ok = support.sh_ok(("timeout 20 promtool check metrics <%s >%s 2>&1"):format(q(input), q(output)))
  local said = support.read_file(output) or ""
  os.remove(input); os.remove(output)
  return ok, said
end

-- A registry on a fixed clock.
local function registry()
  return metrics.new(function() return 0 end)
end

-- The label names of a sample line, in order ("a,b,le").
local function label_names(line)
  local names = {}
  local body = line:match("{(.*)}") or ""
  for name in body:gsub('\\.', ""):gmatch('([%w_]+)="[^"]*"') do names[#names + 1] = name end
  return table.concat(names, ",")
end

local function lines(text)
  local out = {}
  for l in text:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

-- The value of the first sample line starting with `prefix`.
local function sample(text, prefix)
  for _, l in ipairs(lines(text)) do
    if l:sub(1, #prefix) == prefix then return tonumber(l:match(" (%S+)$")) end
  end
end

describe("prometheus.render", function()
  local saved_buckets
  before_each(function() saved_buckets = prometheus.BUCKETS end)
  after_each(function() prometheus.BUCKETS = saved_buckets end)

  it("labels every sample of a shard's run shard=\"K\", and no comment line", function()
    local reg = registry()
    reg:record("http.get", 0.002, { tool = "http.get" })
    reg:count("hits", 2)
    reg:check("ok", true)
    local plain_text = prometheus.render(reg, { iterations = 1, dropped = 0, live = 1, started = 1 })
    local text = prometheus.render(reg, { iterations = 1, dropped = 0, live = 1, started = 1, shard = 3 })
    local samples, n_plain = 0, 0
    for line in plain_text:gmatch("[^\n]+") do
      if line:sub(1, 1) ~= "#" then n_plain = n_plain + 1 end
    end
    for line in text:gmatch("[^\n]+") do
      if line:sub(1, 1) == "#" then
        assert.is_nil(line:find("shard", 1, true), line)
      else
        samples = samples + 1
        assert.matches('^[%w_:]+{shard="3"[,}]', line)
        assert.are.equal("shard", label_names(line):match("^[^,]*"))
      end
    end
    assert.are.equal(n_plain, samples)
    assert.truthy(text:find('gofr_sim_iterations_total{shard="3"} 1', 1, true))
  end)

  it("writes every family of a small registry exactly", function()
    prometheus.BUCKETS = { 0.001, 0.01 }
    local reg = registry()
    reg:record("http.get", 0.002, { tool = "http.get", persona = "apac" })
    reg:record("http.get", 0.001, { tool = "http.get", persona = "apac" })
    reg:record("http.get", 0.5, { tool = "http.get", persona = "apac", error_type = "network_timeout" })
    reg:record("http.get", 0.005, { tool = "http.get", persona = "apac", error_type = "not_found",
                                    expected = "true" })
    reg:record("iteration", 0.25, { persona = "apac" })
    reg:count("cache_hits", 2, { persona = "apac" })
    reg:check("status is 200", true)
    reg:check("status is 200", false)
    local text = prometheus.render(reg, { iterations = 1, dropped = 0, live = 3, started = 1700000000 })
    local L = 'name="http.get",error_type="",expected="",persona="apac",tool="http.get"'
    local E = 'name="http.get",error_type="network_timeout",expected="",persona="apac",tool="http.get"'
    local X = 'name="http.get",error_type="not_found",expected="true",persona="apac",tool="http.get"'
    local I = 'name="iteration",error_type="",expected="",persona="apac",tool=""'
    assert.are.equal(table.concat({
      "# HELP gofr_sim_latency_seconds Latency of recorded samples (sim.metrics series), "
        .. "by series name and tags.",
      "# TYPE gofr_sim_latency_seconds histogram",
      "gofr_sim_latency_seconds_bucket{" .. L .. ',le="0.001"} 1',
      "gofr_sim_latency_seconds_bucket{" .. L .. ',le="0.01"} 2',
      "gofr_sim_latency_seconds_bucket{" .. L .. ',le="+Inf"} 2',
      "gofr_sim_latency_seconds_sum{" .. L .. "} 0.003",
      "gofr_sim_latency_seconds_count{" .. L .. "} 2",
      "gofr_sim_latency_seconds_bucket{" .. E .. ',le="0.001"} 0',
      "gofr_sim_latency_seconds_bucket{" .. E .. ',le="0.01"} 0',
      "gofr_sim_latency_seconds_bucket{" .. E .. ',le="+Inf"} 1',
      "gofr_sim_latency_seconds_sum{" .. E .. "} 0.5",
      "gofr_sim_latency_seconds_count{" .. E .. "} 1",
      "gofr_sim_latency_seconds_bucket{" .. X .. ',le="0.001"} 0',
      "gofr_sim_latency_seconds_bucket{" .. X .. ',le="0.01"} 1',
      "gofr_sim_latency_seconds_bucket{" .. X .. ',le="+Inf"} 1',
      "gofr_sim_latency_seconds_sum{" .. X .. "} 0.005",
      "gofr_sim_latency_seconds_count{" .. X .. "} 1",
      "gofr_sim_latency_seconds_bucket{" .. I .. ',le="0.001"} 0',
      "gofr_sim_latency_seconds_bucket{" .. I .. ',le="0.01"} 0',
      "gofr_sim_latency_seconds_bucket{" .. I .. ',le="+Inf"} 1',
      "gofr_sim_latency_seconds_sum{" .. I .. "} 0.25",
      "gofr_sim_latency_seconds_count{" .. I .. "} 1",
      "# HELP gofr_sim_events_total Scenario counters (sim.metrics.count), by counter name and tags.",
      "# TYPE gofr_sim_events_total counter",
      'gofr_sim_events_total{name="cache_hits",persona="apac"} 2',
      "# HELP gofr_sim_checks_total Checks (sim.check) by name and result.",
      "# TYPE gofr_sim_checks_total counter",
      'gofr_sim_checks_total{check="status is 200",result="fail"} 1',
      'gofr_sim_checks_total{check="status is 200",result="pass"} 1',
      "# HELP gofr_sim_requests_total Samples recorded with a tool tag (requests and tool calls).",
      "# TYPE gofr_sim_requests_total counter",
      "gofr_sim_requests_total 4",
      "# HELP gofr_sim_errors_total Samples recorded with a tool tag and an unexpected error_type.",
      "# TYPE gofr_sim_errors_total counter",
      "gofr_sim_errors_total 1",
      "# HELP gofr_sim_expected_total Samples recorded with a tool tag and an expected outcome "
        .. "(expected=true).",
      "# TYPE gofr_sim_expected_total counter",
      "gofr_sim_expected_total 1",
      "# HELP gofr_sim_iterations_total Scenario iterations completed.",
      "# TYPE gofr_sim_iterations_total counter",
      "gofr_sim_iterations_total 1",
      "# HELP gofr_sim_dropped_iterations_total Iterations an arrival-rate workload could not start in time.",
      "# TYPE gofr_sim_dropped_iterations_total counter",
      "gofr_sim_dropped_iterations_total 0",
      "# HELP gofr_sim_live_personas Personas alive, the engine's background ones included.",
      "# TYPE gofr_sim_live_personas gauge",
      "gofr_sim_live_personas 3",
      "# HELP gofr_sim_run_start_time_seconds When the run started, in seconds since the Unix epoch.",
      "# TYPE gofr_sim_run_start_time_seconds gauge",
      "gofr_sim_run_start_time_seconds 1700000000",
      "",
    }, "\n"), text)
  end)

  it("writes an empty registry as the run totals only", function()
    assert.are.equal(table.concat({
      "# HELP gofr_sim_requests_total Samples recorded with a tool tag (requests and tool calls).",
      "# TYPE gofr_sim_requests_total counter",
      "gofr_sim_requests_total 0",
      "# HELP gofr_sim_errors_total Samples recorded with a tool tag and an unexpected error_type.",
      "# TYPE gofr_sim_errors_total counter",
      "gofr_sim_errors_total 0",
      "# HELP gofr_sim_expected_total Samples recorded with a tool tag and an expected outcome "
        .. "(expected=true).",
      "# TYPE gofr_sim_expected_total counter",
      "gofr_sim_expected_total 0",
      "",
    }, "\n"), prometheus.render(registry()))
  end)

  it("counts a sample at a bucket's bound in that bucket (le is <=)", function()
    local reg = registry()
    for _, v in ipairs { 0.001, 0.0010005, 0.0025, 0.1, 0.1001, 60, 3600 } do reg:record("x", v) end
    local text = prometheus.render(reg)
    local function bucket(le)
      return sample(text, ('gofr_sim_latency_seconds_bucket{name="x",le="%s"}'):format(le))
    end
    assert.are.equal(1, bucket("0.001"))
    assert.are.equal(3, bucket("0.0025"))
    assert.are.equal(4, bucket("0.1"))
    assert.are.equal(6, bucket("60"))
    assert.are.equal(7, bucket("+Inf"))
    local prev = 0
    for _, bound in ipairs(prometheus.BUCKETS) do
      local n = bucket(prometheus.number(bound))
      assert.is_true(n >= prev, "buckets are cumulative")
      prev = n
    end
  end)

  it("escapes label values and keeps them valid UTF-8", function()
    assert.are.equal('a\\\\b\\"c\\nd', prometheus.label_value('a\\b"c\nd'))
    assert.are.equal("café 日本 🙂", prometheus.label_value("café 日本 🙂"))
    assert.are.equal("x\239\191\189y", prometheus.label_value("x\255y"))
    assert.are.equal("\239\191\189\239\191\189", prometheus.label_value("\192\175")) -- overlong '/'
    assert.are.equal("\239\191\189\239\191\189", prometheus.label_value("\226\130")) -- cut short
    local fffd = "\239\191\189"
    assert.are.equal(fffd:rep(3), prometheus.label_value("\237\160\128")) -- a surrogate
    assert.are.equal("12", prometheus.label_value(12))
  end)

  it("turns tag names into valid, distinct label names", function()
    assert.are.equal("error_type", prometheus.label_name("error_type"))
    assert.are.equal("bad_tag", prometheus.label_name("Bad-Tag"))
    assert.are.equal("camel_case", prometheus.label_name("camelCase"))
    assert.are.equal("tag_name", prometheus.label_name("name"))
    assert.are.equal("tag_le", prometheus.label_name("le"))
    assert.are.equal("tag_9lives", prometheus.label_name("9lives"))
    assert.are.equal("tag___meta", prometheus.label_name("__meta"))
    local reg = registry()
    reg:record("x", 0.1, { ["a.b"] = "1", a_b = "2", name = "n", le = "l" })
    local text = prometheus.render(reg)
    assert.truthy(text:find('{name="x",a_b="2",a_b_2="1",tag_le="l",tag_name="n",le="0.001"}', 1, true), text)
  end)

  it("gives every sample of a family the same label names, and no series twice", function()
    local reg = registry()
    reg:record("a", 0.1, { tool = "t" })
    reg:record("a", 0.2, { tool = "t", persona = "" }) -- prints as the one above: merged
    reg:record("b", 0.1, { persona = "p", ["odd key"] = 'v"\n\\' })
    reg:count("c", 1)
    reg:count("c", 2, { class = "" })
    reg:count("d", 1.5, { persona = "p" })
    local text = prometheus.render(reg)
    local seen, names_of = {}, {}
    for _, l in ipairs(lines(text)) do
      if not l:find("^#") then
        local series = l:match("^(.*) %S+$")
        assert.is_nil(seen[series], "duplicate series " .. series)
        seen[series] = true
        local family = l:match("^([%w_]+)"):gsub("_bucket$", ""):gsub("_sum$", ""):gsub("_count$", "")
        local names = label_names(l):gsub(",le$", "")
        names_of[family] = names_of[family] or names
        assert.are.equal(names_of[family], names, l)
      end
    end
    assert.are.equal(2,
      sample(text, 'gofr_sim_latency_seconds_count{name="a",odd_key="",persona="",tool="t"}'))
    assert.are.equal(3, sample(text, 'gofr_sim_events_total{name="c",class="",persona=""}'))
    assert.are.equal(1.5, sample(text, 'gofr_sim_events_total{name="d",class="",persona="p"}'))
  end)

  it("writes numbers as Prometheus reads them", function()
    assert.are.equal("3", prometheus.number(3))
    assert.are.equal("0.1", prometheus.number(0.1))
    assert.are.equal("+Inf", prometheus.number(math.huge))
    assert.are.equal("-Inf", prometheus.number(-math.huge))
    assert.are.equal("NaN", prometheus.number(0 / 0))
    assert.are.equal(1 / 3, tonumber(prometheus.number(1 / 3)))
  end)

  it("passes promtool check metrics, awkward labels and all", function()
    if not has_promtool() then
      pending("promtool not found: install Debian's 'prometheus' package (scripts/install-deps.sh does)")
      return
    end
    local reg = registry()
    reg:record("http.get", 0.012, { tool = "http.get", persona = 'we"ird\\one\n\255' })
    reg:record("x", 1, { ["Bad-Tag"] = "1", camelCase = "c", name = "n", le = "l" })
    reg:count("http.bytes", 1234, { tool = "http.get" })
    reg:check('status "is" 200\n', true)
    local ok, said = promtool(prometheus.render(reg, { iterations = 1, dropped = 0, live = 1, started = 1 }))
    assert.is_true(ok, said)
    assert.are.equal("", said)
  end)
end)

describe("prometheus.parse_listen", function()
  it("takes HOST:PORT, [IPv6]:PORT and a bare port", function()
    local function both(s) return { prometheus.parse_listen(s) } end
    assert.are.same({ "127.0.0.1", 9464 }, both("127.0.0.1:9464"))
    assert.are.same({ "localhost", 0 }, both("localhost:0"))
    assert.are.same({ "::1", 9464 }, both("[::1]:9464"))
    assert.are.same({ "0.0.0.0", 65535 }, both("0.0.0.0:65535"))
    assert.are.same({ "127.0.0.1", 9464 }, both("9464"))
  end)

  it("refuses anything else with a usage error naming the flag", function()
    for _, bad in ipairs { "127.0.0.1", "127.0.0.1:", ":9464", "127.0.0.1:65536", "256.0.0.1:80",
      "example.com:80", "::1:9464", "127.0.0.1:94a", "" } do
      local ok, err = pcall(prometheus.parse_listen, bad)
      assert.is_false(ok, bad)
      assert.is_true(cli.is_usage_error(err), bad)
      assert.truthy(tostring(err):find("--metrics-listen", 1, true), tostring(err))
    end
  end)
end)

describe("prometheus.serve", function()
  teardown(function() support.assert_clean() end)

  it("answers GET /metrics with the current registry, 404 and 405 otherwise", function()
    local reg = registry()
    reg:record("x", 0.1, { tool = "t" })
    local previous = metrics.install(reg)
    local got = {}
    sim.run(function()
      local srv = prometheus.serve("127.0.0.1", 0, function() return { iterations = 7 } end, true)
      local res = assert(sim.http.get(srv.url .. "/metrics", { timeout = 5 }))
      got.status, got.type, got.body = res.status, res.headers["content-type"], res.body
      got.missing = assert(sim.http.get(srv.url .. "/", { timeout = 5 })).status
      got.post = assert(sim.http.post(srv.url .. "/metrics", "", { timeout = 5 })).status
      srv.close()
      sim.sleep(0.01)
    end)
    metrics.install(previous)
    assert.are.equal(200, got.status)
    assert.are.equal("text/plain; version=0.0.4; charset=utf-8", got.type)
    assert.are.equal(7, sample(got.body, "gofr_sim_iterations_total "))
    -- the function of sim.run is alive; the scrape's own handler is not counted
    assert.are.equal(1, sample(got.body, "gofr_sim_live_personas "))
    assert.truthy(sample(got.body, "gofr_sim_run_start_time_seconds ") > 1.6e9)
    assert.truthy(got.body:find('gofr_sim_latency_seconds_count{name="x",tool="t"} 1', 1, true), got.body)
    assert.are.equal(404, got.missing)
    assert.are.equal(405, got.post)
  end)

  it("makes a port it cannot listen on a usage error", function()
    local err
    sim.run(function()
      local srv = prometheus.serve("127.0.0.1", 0, nil, true)
      local ok, e = pcall(prometheus.serve, "127.0.0.1", srv.port, nil, true)
      err = not ok and e
      srv.close()
      sim.sleep(0.01)
    end)
    assert.is_true(cli.is_usage_error(err), tostring(err))
    assert.truthy(tostring(err):find("cannot listen", 1, true), tostring(err))
  end)
end)

describe("--metrics-listen", function()
  local dir

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. q(dir)))
  end)

  teardown(function()
    local pid = dir and support.read_file(dir .. "/pid")
    if pid and pid:match("^%d+") then os.execute("kill " .. pid:match("^%d+") .. " 2>/dev/null") end
    if dir then os.execute("rm -rf " .. q(dir)) end
  end)

  it("refuses a malformed address before the run", function()
    local r = support.run_cli { LOAD, "--protocol", "http", "--duration", "1s",
      "--metrics-listen", "nowhere" }
    assert.are.equal(2, r.status, r.stderr)
    assert.truthy(r.stderr:find("--metrics-listen must be HOST:PORT", 1, true), r.stderr)
  end)

  it("serves growing counts during a run of load.lua, valid to promtool", function()
    local port = support.closed_port()
    local url = ("http://127.0.0.1:%d/metrics"):format(port)
    local cmd = ("(timeout 30 %s %s --protocol http --duration 3s --metrics-listen 127.0.0.1:%d"
      .. " >%s 2>%s </dev/null; echo $? >%s) & echo $! >%s")
      :format(q(support.bin), q(LOAD), port, q(dir .. "/out"), q(dir .. "/err"), q(dir .. "/rc"),
        q(dir .. "/pid"))
    os.execute("bash -c " .. q(cmd))
    local scrapes = {}
    sim.run(function()
      for _ = 1, 50 do -- up to 2.5 s for the run to start listening
        local res = sim.http.get(url, { timeout = 1 })
        if res and res.status == 200 then scrapes[1] = res break end
        sim.sleep(0.05)
      end
      if not scrapes[1] then return end
      sim.sleep(1)
      scrapes[2] = sim.http.get(url, { timeout = 1 })
    end)
    local rc
    for _ = 1, 200 do -- the run ends within 3 s of starting, plus its grace
      rc = support.read_file(dir .. "/rc")
      if rc and rc ~= "" then break end
      os.execute("sleep 0.05")
    end
    local err = support.read_file(dir .. "/err") or ""
    assert.truthy(scrapes[1], "no scrape answered: " .. err)
    assert.truthy(scrapes[2] and scrapes[2].status == 200, "the second scrape failed: " .. err)
    assert.are.equal("0", (rc or ""):match("%d+"), "gofr-sim: " .. err)
    local _, announced = err:gsub("metrics at " .. url:gsub("%p", "%%%0"), "")
    assert.are.equal(1, announced, err)
    local first, second = scrapes[1].body, scrapes[2].body
    local requests1 = sample(first, "gofr_sim_requests_total ")
    local requests2 = sample(second, "gofr_sim_requests_total ")
    assert.is_true(requests2 > requests1, ("requests %s then %s"):format(requests1, requests2))
    local count = 'gofr_sim_latency_seconds_count{name="http.get",'
    assert.is_true(sample(second, count) > sample(first, count))
    assert.is_true(sample(second, "gofr_sim_iterations_total ") > sample(first, "gofr_sim_iterations_total "))
    assert.are.equal("text/plain; version=0.0.4; charset=utf-8", scrapes[2].headers["content-type"])
    -- once the run is over the endpoint is closed
    local after
    sim.run(function() after = { sim.http.get(url, { timeout = 1 }) } end)
    assert.is_nil(after[1])
    if not has_promtool() then
      pending("promtool not found: install Debian's 'prometheus' package (scripts/install-deps.sh does)")
      return
    end
    for i, s in ipairs(scrapes) do
      local ok, said = promtool(s.body)
      assert.is_true(ok, ("scrape %d: %s"):format(i, said))
      assert.are.equal("", said, ("scrape %d"):format(i))
    end
  end)
end)

describe("--metrics-linger", function()
  local dir

  setup(function() dir = support.tmpdir() end)

  teardown(function()
    for _, name in ipairs { "linger", "signal", "workers" } do
      local pid = (support.read_file(dir .. "/" .. name .. ".pid") or ""):match("^%d+")
      if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    end
    os.execute("rm -rf " .. q(dir))
  end)

  -- load.lua in the background serving 127.0.0.1:port and lingering `linger`;
  -- its files are dir/NAME.{json,out,err,pid,rc} (pid: timeout's, which
  -- passes signals on).
  local function start(name, port, linger, extra)
    local f = dir .. "/" .. name
    os.execute("bash -c " .. q(("(timeout -k 5 40 %s %s --protocol http --total-requests 20 %s "
      .. "--metrics-listen 127.0.0.1:%d --metrics-linger %s --output %s >%s 2>%s </dev/null & echo $! >%s; "
      .. "wait $!; echo $? >%s) &"):format(q(support.bin), q(LOAD), extra or "", port, linger,
        q(f .. ".json"), q(f .. ".out"), q(f .. ".err"), q(f .. ".pid"), q(f .. ".rc"))))
    return f
  end

  -- Seconds until fn() is true, polled every 20 ms for up to `limit`; nil if never.
  local function until_true(fn, limit)
    local now = require("gofr_sim.core").now
    local t0 = now()
    while now() - t0 < limit do
      if fn() then return now() - t0 end
      os.execute("sleep 0.02")
    end
  end

  local function scrape(url)
    local res
    sim.run(function() res = sim.http.get(url, { timeout = 2 }) end)
    return res
  end

  it("needs --metrics-listen: a usage error before the run", function()
    local r = support.run_cli { LOAD, "--protocol", "http", "--duration", "1s", "--metrics-linger", "2s" }
    assert.are.equal(2, r.status, r.stderr)
    assert.truthy(r.stderr:find("--metrics-linger", 1, true), r.stderr)
    assert.truthy(r.stderr:find("--metrics-listen", 1, true), r.stderr)
    r = support.run_cli { LOAD, "--protocol", "http", "--metrics-listen", "0", "--metrics-linger", "soon" }
    assert.are.equal(2, r.status, r.stderr)
    assert.truthy(r.stderr:find("--metrics-linger", 1, true), r.stderr)
  end)

  it("serves the final metrics after the report is written, then exits by itself", function()
    local port = support.closed_port()
    local url = ("http://127.0.0.1:%d/metrics"):format(port)
    local f = start("linger", port, "2s")
    assert(until_true(function() return support.exists(f .. ".json") end, 20),
      "no report: " .. tostring(support.read_file(f .. ".err")))
    local reported = require("gofr_sim.core").now()
    local rep = assert(require("cjson").decode(support.read_file(f .. ".json")))
    local first = scrape(url)
    assert.truthy(first and first.status == 200,
      "no scrape after the report: " .. tostring(support.read_file(f .. ".err")))
    assert.is_nil(support.read_file(f .. ".rc"), "the run has not ended yet")
    assert.are.equal(rep.result.iterations, sample(first.body, "gofr_sim_iterations_total "))
    assert.are.equal(20, rep.result.iterations)
    assert.are.equal(rep.result.request_count, sample(first.body, "gofr_sim_requests_total "))
    assert.are.equal(rep.result.error_count, sample(first.body, "gofr_sim_errors_total "))
    assert.are.equal(0, sample(first.body, "gofr_sim_live_personas "))
    local count = 0
    for _, l in ipairs(lines(first.body)) do
      if l:find('^gofr_sim_latency_seconds_count{name="http.get",') then
        count = count + tonumber(l:match(" (%S+)$"))
      end
    end
    assert.are.equal(rep.metrics.by_tool["http.get"].count, count)
    -- the same final text later, and the process ends by itself
    os.execute("sleep 0.5")
    local second = scrape(url)
    assert.truthy(second and second.status == 200, "no second scrape while it lingers")
    assert.are.equal(first.body, second.body)
    assert(until_true(function() return support.read_file(f .. ".rc") end, 8),
      "still running 8 s after its report")
    local ended = require("gofr_sim.core").now() - reported
    assert.is_true(ended >= 1.5, ("ended %.3f s after its report, before its 2 s"):format(ended))
    assert.are.equal("0", support.read_file(f .. ".rc"):match("%d+"), support.read_file(f .. ".err"))
    local err = support.read_file(f .. ".err")
    assert.truthy(err:find(url .. " for 2s more (Ctrl-C ends)", 1, true), err)
    local after
    sim.run(function() after = { sim.http.get(url, { timeout = 1 }) } end)
    assert.is_nil(after[1], "the endpoint closed with the process")
    if has_promtool() then
      local ok, said = promtool(first.body)
      assert.is_true(ok, said)
    end
  end)

  it("serves the coordinator's registry with --workers: the workers' counts absorbed", function()
    local port = support.closed_port()
    local f = start("workers", port, "1s", "--workers 2")
    assert(until_true(function() return support.exists(f .. ".json") end, 20),
      "no report: " .. tostring(support.read_file(f .. ".err")))
    local rep = assert(require("cjson").decode(support.read_file(f .. ".json")))
    local res = scrape(("http://127.0.0.1:%d/metrics"):format(port))
    assert.truthy(res and res.status == 200,
      "no scrape after the report: " .. tostring(support.read_file(f .. ".err")))
    assert.are.equal(20, rep.result.iterations)
    assert.are.equal(rep.config.workers, 2)
    assert.are.equal(rep.result.iterations, sample(res.body, "gofr_sim_iterations_total "))
    assert.are.equal(rep.result.request_count, sample(res.body, "gofr_sim_requests_total "))
    assert(until_true(function() return support.read_file(f .. ".rc") end, 8),
      "still running 8 s after its report")
    assert.are.equal("0", support.read_file(f .. ".rc"):match("%d+"), support.read_file(f .. ".err"))
  end)

  it("ends at once on a signal, the report already written", function()
    local port = support.closed_port()
    local f = start("signal", port, "30s")
    assert(until_true(function() return support.exists(f .. ".json") end, 20),
      "no report: " .. tostring(support.read_file(f .. ".err")))
    local text = support.read_file(f .. ".json")
    assert.truthy(scrape(("http://127.0.0.1:%d/metrics"):format(port)))
    os.execute("kill -INT " .. support.read_file(f .. ".pid"):match("%d+"))
    local ended = until_true(function() return support.read_file(f .. ".rc") end, 5)
    assert(ended, "still lingering 5 s after SIGINT")
    assert.is_true(ended < 2, ("%.3f s after SIGINT"):format(ended))
    -- the executable gives a signal's status (130) whatever the command's
    assert.are.equal("130", support.read_file(f .. ".rc"):match("%d+"), support.read_file(f .. ".err"))
    assert.are.equal(text, support.read_file(f .. ".json"), "the report is the run's, untouched")
  end)
end)
