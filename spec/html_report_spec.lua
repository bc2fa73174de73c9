-- The HTML report (lua/gofr_sim/report/html.lua): rendering of a synthetic
-- report (escaping, failures, empty reports, determinism), `--html` on
-- scenarios/load.lua through the executable (the tables hold the JSON
-- report's numbers), and the same page in headless Chromium: it loads, the
-- charts have drawn geometry and axis labels, the tables hold the numbers,
-- and a screenshot is taken (set GS_HTML_SCREENSHOT=path to keep it).
local cjson = require "cjson"
local core = require "gofr_sim.core"
local metrics = require "gofr_sim.engine.metrics"
local report = require "gofr_sim.report.build"
local html_report = require "gofr_sim.report.html"
local support = require "support"

local sq = support.shell_quote
local LOAD = support.source_dir .. "/scenarios/load.lua"

local function encoded_hist(ms_values)
  local h = core.hist_new()
  for _, v in ipairs(ms_values) do h:record(v / 1000) end
  return h:encode()
end

-- A small report with every section filled, and hostile strings.
local function sample_report()
  local hist = encoded_hist { 1, 2, 2, 3, 5, 8, 13, 21, 250, 1200 }
  local agg = {
    count = 10, error_count = 1, error_rate_pct = 10, error_types = { network_timeout = 1 },
    min_ms = 1, max_ms = 1200, mean_ms = 150.5, stddev_ms = 370, p50_ms = 5, p90_ms = 250,
    p95_ms = 1200, p99_ms = 1200, p99_9_ms = 1200, sample_size = 10, histogram = hist,
  }
  return {
    schema_version = 1, started_at = "2025-01-02T03:04:05Z", interrupted = false,
    config = { scenario = "demo<b>", consumers = 2, mcp_url = report.null, seed = 7 },
    result = { duration_seconds = 3, request_count = 10, error_count = 1, throughput_rps = 3.333,
      iterations = 5, dropped_iterations = 0, script_errors = 0, interrupted = false,
      signal = report.null },
    metrics = {
      overall = agg, by_tool = { ["mcp.get_content"] = agg }, by_persona = { apac = agg },
      by_tool_persona = { ["mcp.get_content::apac"] = agg }, series = {},
    },
    counters = { ["http.bytes{tool=http.get}"] = 1234 },
    checks = {
      ["<script>alert(1)</script>"] = { passes = 1, fails = 2, rate = 0.3333,
        observed = '"><img src=x onerror=alert(2)>' },
      ["status is 200"] = { passes = 4, fails = 0, rate = 1, observed = "200" },
    },
    thresholds = {
      { key = "p95{tool=mcp.get_content}", condition = "< 200ms", value = 1.2, bound = 0.2, ok = false,
        message = "p95 = 1200ms & more" },
      { key = "error_rate", condition = "< 50%", value = 0.1, bound = 0.5, ok = true, message = "ok" },
    },
    timeseries = {
      { second = 0, requests = 4, errors = 0, p50_ms = 2, p95_ms = 8, p99_ms = 8 },
      { second = 1, requests = 0, errors = 0, p50_ms = report.null, p95_ms = report.null,
        p99_ms = report.null },
      { second = 2, requests = 6, errors = 1, p50_ms = 13, p95_ms = 1200, p99_ms = 1200 },
    },
  }
end

local TOOLS = 10 -- more than html_report.MAX_TOOLS_CHARTED

-- A report built (report.build) from a registry on a fake clock: TOOLS
-- tools over 90 seconds (tool i has i requests a second, p95 about i ms),
-- personas ramping 1..30 and down, seconds 40-44 without a request (the
-- personas still noted), errors with sampled messages, the iterations'
-- series, a note, and a configuration with stages and a description.
local function registry_report()
  local clock = { now = 1000 }
  local reg = metrics.new(function() return clock.now end)
  reg:start(1000)
  for sec = 0, 89 do
    clock.now = 1000 + sec + 0.2
    reg:personas(sec < 45 and math.floor(sec / 1.5) or math.max(1, 90 - sec))
    if sec < 40 or sec >= 45 then
      for i = 1, TOOLS do
        for k = 1, i do
          local err = (i == 3 and k == 1 and sec % 10 == 0) and "network_timeout" or nil
          reg:record("mcp.tool" .. i, i * k / (i * 1000), { tool = "mcp.tool" .. i, persona = "p",
            error_type = err })
          if err then reg:error_sample(err, "mcp.tool3: <timed out> after 30 s #" .. sec) end
        end
      end
      reg:record("iteration", 0.5, { persona = "p" })
      reg:record("iteration.service", 0.4, { persona = "p" })
    end
  end
  local rep = report.build { registry = reg, duration = 90, iterations = 85, personas_max = 30,
    started_at = "2025-01-02T03:04:05Z",
    config = { scenario = "spike", workload = "closed", description = "a spike <of personas>",
      stages = { { duration_seconds = 45, target = 30 }, { duration_seconds = 45, target = 0 } },
      timeout_seconds = 30, rate_per_consumer_per_sec = 2 } }
  report.add_note(rep, "the fetch delay was <most> of the latency")
  return rep
end

-- A report of named workloads built (report.build) from a registry on a
-- fake clock over 20 seconds: `steady` (closed, 3 personas, from 0 s, 10
-- requests a second of 2..20 ms), `spike` (ramping arrival rate, from 8 s
-- to 14 s, personas 1..3..1, 5 requests a second of 40 ms, one error) and
-- `late<i>` (configured to start at 30 s: never started); the iterations
-- of each, and a configuration with stages, tags and task weights.
local function workloads_report()
  local clock = { now = 1000 }
  local reg = metrics.new(function() return clock.now end)
  reg:start(1000)
  for sec = 0, 19 do
    clock.now = 1000 + sec + 0.2
    local spike = (sec >= 8 and sec < 14) and (3 - math.floor(math.abs(sec - 10.5))) or nil
    reg:personas(3 + (spike or 0), nil, { steady = 3, spike = spike })
    for k = 1, 10 do
      reg:record("mcp.read", k * 0.002, { tool = "mcp.read", persona = "p", workload = "steady" })
    end
    reg:record("iteration", 0.1, { persona = "p", workload = "steady" })
    if spike then
      for k = 1, 5 do
        reg:record("mcp.write", 0.04, { tool = "mcp.write", persona = "p", workload = "spike",
          error_type = (sec == 9 and k == 1) and "http_5xx" or nil })
      end
      reg:record("iteration", 0.2, { persona = "p", workload = "spike" })
    end
  end
  return report.build { registry = reg, duration = 20, iterations = 26, personas_max = 6,
    started_at = "2025-01-02T03:04:05Z",
    config = { scenario = "mixed", workloads = {
      steady = { workload = "closed", consumers = 3, duration_seconds = 20, start_seconds = 0,
                  tasks = { browse = 3, search = 1 } },
      spike = { workload = "ramping-arrival-rate", start_seconds = 8, max_personas = 5, duration_seconds = 6,
                stages = { { duration_seconds = 3, target = 5 }, { duration_seconds = 3, target = 0 } },
                tags = { team = "writers<&>" } },
      ["late<i>"] = { workload = "constant-arrival-rate", arrival_rate_per_sec = 2, start_seconds = 30,
                      duration_seconds = 5, max_personas = 2 } } },
    workloads = {
      steady = { workload = "closed", iterations = 20, dropped_iterations = 0, personas_max = 3,
                  started_seconds = 0, duration_seconds = 20 },
      spike = { workload = "ramping-arrival-rate", iterations = 6, dropped_iterations = 2, personas_max = 3,
                started_seconds = 8.004, duration_seconds = 6 },
      ["late<i>"] = { workload = "constant-arrival-rate", iterations = 0, dropped_iterations = 0 } } }
end

-- A report of two tools with long names over 5 seconds: too long for the
-- legend's top-right slots, however few.
local function long_tools_report()
  local tools, seconds = {}, {}
  for _, name in ipairs { "mcp.get_session_info_for_group", "mcp.list_sessions_of_a_group" } do
    local entries = {}
    for sec = 0, 4 do
      entries[#entries + 1] = { second = sec, requests = 3, errors = 0, expected = 0, p50_ms = 2, p95_ms = 5 }
    end
    tools[name] = entries
  end
  for sec = 0, 4 do seconds[#seconds + 1] = { second = sec, requests = 6, errors = 0, p50_ms = 2,
    p95_ms = 5, p99_ms = 5 } end
  return { timeseries = seconds, timeseries_by_tool = tools }
end

-- The rows of <table id="id"> in html: array of arrays of {text=, value=}.
local function table_rows(html, id)
  local body = html:match('<table id="' .. id:gsub("%-", "%%-") .. '">(.-)</table>')
  assert.is_string(body, "no table " .. id)
  local rows = {}
  for tr in body:gmatch("<tr[^>]*>(.-)</tr>") do
    local cells = {}
    for attrs, text in tr:gmatch("<td([^>]*)>(.-)</td>") do
      cells[#cells + 1] = { text = text, value = attrs:match('data%-value="([^"]*)"') }
    end
    if #cells > 0 then rows[#rows + 1] = cells end
  end
  return rows
end

-- The column titles of <table id="id"> in html.
local function table_header(html, id)
  local head = html:match('<table id="' .. id:gsub("%-", "%%-") .. '"><thead>(.-)</thead>')
  assert.is_string(head, "no table " .. id)
  local titles = {}
  for t in head:gmatch("<th[^>]*>(.-)</th>") do titles[#titles + 1] = t end
  return titles
end

local function row_of(rows, name)
  for _, r in ipairs(rows) do
    if r[1].text == name then return r end
  end
end

-- The `d` of every <path class="CLASS..."> in svg#id.
local function paths(html, id, class)
  local svg = html:match('<svg class="chart" id="' .. id:gsub("%-", "%%-") .. '"(.-)</svg>')
  assert.is_string(svg, "no chart " .. id)
  local ds = {}
  for attrs in svg:gmatch("<path([^>]*)>") do
    local cls = attrs:match('class="([^"]*)"')
    if cls and (" " .. cls .. " "):find(" " .. class .. " ", 1, true) then
      ds[#ds + 1] = attrs:match('d="([^"]*)"') or ""
    end
  end
  return ds, svg
end

describe("html_report.render", function()
  it("renders every section, escapes every string from the report, and is deterministic", function()
    local rep = sample_report()
    local html = html_report.render(rep)
    assert.are.equal(html, html_report.render(rep))
    assert.matches("^<!DOCTYPE html>", html)
    -- self-contained: no script, no external reference
    assert.is_nil(html:find("<script", 1, true))
    assert.is_nil(html:find("<img", 1, true))
    assert.is_nil(html:find("<[^>]-%ssrc="))
    assert.is_nil(html:find("<[^>]-%shref="))
    assert.is_nil(html:find("https?://"))
    assert.truthy(html:find("&lt;script&gt;alert(1)&lt;/script&gt;", 1, true))
    assert.truthy(html:find("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;", 1, true))
    assert.truthy(html:find("demo&lt;b&gt;", 1, true))
    assert.truthy(html:find("p95 = 1200ms &amp; more", 1, true))
    assert.truthy(html:find('id="status">FAILED (threshold and check)', 1, true))
    -- the failing check and threshold rows are marked
    assert.matches('<tr class="fail"><td class="mark">FAIL</td><td>&lt;script&gt;', html)
    assert.matches('<tr class="fail"><td class="mark">FAIL</td><td>p95{tool=mcp.get_content}', html, 1, true)
    local checks = table_rows(html, "checks")
    assert.are.equal("2", checks[1][4].text)
    assert.are.equal("33.33 %", checks[1][5].text)
    -- latency tables: p95 with two decimals, exact in data-value
    local by_tool = table_rows(html, "by-tool")
    local row = row_of(by_tool, "mcp.get_content")
    assert.are.equal("1200.00", row[10].text)
    assert.are.equal("1200", row[10].value)
    assert.are.equal("all", by_tool[#by_tool][1].text)
    local tp = table_rows(html, "by-tool-persona")
    assert.are.equal("apac", tp[1][2].text)
    -- charts: a line per percentile, a gap at the empty second, histogram bars
    local p95 = paths(html, "chart-latency", "p95")
    assert.are.equal(1, #p95)
    assert.matches("^M[%d.]+ [%d.]+M[%d.]+ [%d.]+$", p95[1]) -- second 1 is empty: two pieces
    assert.are.equal(1, #paths(html, "chart-requests", "requests"))
    assert.are.equal(1, #paths(html, "chart-errors", "errors"))
    assert.is_true(#paths(html, "chart-histogram", "bar") >= 5)
    local _, svg = paths(html, "chart-histogram", "bar")
    assert.truthy(svg:find(">latency (log scale)</text>", 1, true))
  end)

  it("charts personas and the busiest tools over time, with notes, error samples and iterations", function()
    local rep = registry_report()
    local html = html_report.render(rep)
    assert.are.equal(html, html_report.render(rep))
    -- personas over time: one unbroken line (seconds without a request have a count)
    local pd = paths(html, "chart-personas", "personas")
    assert.are.equal(1, #pd)
    assert.is_nil(pd[1]:find("M", 2, true))
    local _, psvg = paths(html, "chart-personas", "personas")
    assert.truthy(psvg:find('class="tick y"[^>]*>%d+</text>'))
    assert.is_nil(psvg:find('class="tick y"[^>]*>%d+%.%d')) -- whole personas
    -- per tool: the 8 busiest (tool10 .. tool3), one line each, in both charts
    assert.are.equal(8, html_report.MAX_TOOLS_CHARTED)
    local lat, svg = paths(html, "chart-tool-latency", "tool")
    assert.are.equal(8, #lat)
    assert.truthy(svg:find(">mcp.tool10<title>", 1, true))
    assert.truthy(svg:find(">mcp.tool3<title>", 1, true))
    assert.is_nil(svg:find(">mcp.tool2<title>", 1, true))
    assert.truthy(svg:find("the 8 busiest tools", 1, true))
    -- two tools with long names: the legend under the plot (a taller chart), a single short
    -- series' top right
    local long = html_report.render(long_tools_report())
    local _, lsvg = paths(long, "chart-tool-latency", "tool")
    assert.truthy(lsvg:find('^ viewBox="0 0 560 30%d"'), lsvg:sub(1, 80))
    local _, rsvg = paths(long, "chart-requests", "requests")
    assert.truthy(rsvg:find('^ viewBox="0 0 560 280"'), rsvg:sub(1, 80))
    -- the latency lines break at the seconds without requests: two pieces each
    for _, d in ipairs(lat) do assert.are.equal(2, select(2, d:gsub("M", ""))) end
    local thr = paths(html, "chart-tool-throughput", "tool")
    assert.are.equal(8, #thr)
    for _, d in ipairs(thr) do assert.are.equal(1, select(2, d:gsub("M", ""))) end -- 0 req/s, not a gap
    -- the time axis: from the run's start, labelled, in s and m
    assert.truthy(svg:find(">time since the start of the run</text>", 1, true))
    assert.truthy(svg:find('class="tick x"[^>]*>0s</text>'))
    assert.truthy(svg:find('class="tick x"[^>]*>1m</text>'))
    assert.truthy(svg:find('class="tick x"[^>]*>1m20s</text>'))
    -- notes near the top, escaped; the description
    local notes_at = html:find('<ul class="notes"', 1, true)
    assert.truthy(notes_at and notes_at < html:find("<h2>", 1, true))
    assert.truthy(html:find("<li>the fetch delay was &lt;most&gt; of the latency</li>", 1, true))
    assert.truthy(html:find('<p class="description">a spike &lt;of personas&gt;</p>', 1, true))
    -- error samples under their type, escaped, in order
    local et = table_rows(html, "error-types")
    assert.are.equal("network_timeout", et[1][1].text)
    assert.are.equal("8", et[1][2].text) -- seconds 0, 10, .., 80 but 40
    local samples = {}
    for li in et[1][3].text:gmatch("<li>(.-)</li>") do samples[#samples + 1] = li end
    local msg = "mcp.tool3: &lt;timed out&gt; after 30 s #"
    assert.are.same({ msg .. "0", msg .. "10", msg .. "20" }, samples)
    assert.matches('^<ul class="error%-samples">', et[1][3].text)
    -- tiles with units; personas max; iterations duration and service time
    assert.truthy(html:find('<div class="label">personas max</div>'
      .. '<div class="value" data-value="30">30</div>', 1, true))
    assert.truthy(html:find('data-value="90">90 s</div>', 1, true))
    assert.truthy(html:find(" req/s</div>", 1, true))
    local it = table_rows(html, "by-name")
    assert.are.equal("iteration", it[1][1].value)
    assert.matches("^iteration duration", it[1][1].text)
    assert.are.equal("iteration.service", it[2][1].value)
    assert.are.equal("85", it[1][2].text)
    assert.are.equal("500.00", it[1][8].text) -- p50 ms
    assert.are.equal("400.00", it[2][8].text)
    -- configuration: readable stages and units, no null rows
    local config = table_rows(html, "config")
    assert.are.equal("45s → 30 personas, 45s → 0 personas", row_of(config, "stages")[2].text)
    assert.are.equal("30 s", row_of(config, "timeout_seconds")[2].text)
    assert.are.equal("2 /s", row_of(config, "rate_per_consumer_per_sec")[2].text)
    assert.is_nil(row_of(config, "mcp_url")) -- null in the report: left out
    assert.is_nil(html:find(">null<", 1, true))
    -- nothing declared, nothing shown: no thresholds or checks sections
    assert.is_nil(html:find('id="thresholds"', 1, true))
    assert.is_nil(html:find('id="checks"', 1, true))
    assert.is_nil(html:find("<h2>Thresholds</h2>", 1, true))
  end)

  it("shows named workloads: what each did, its settings, its personas over time", function()
    local rep = workloads_report()
    local html = html_report.render(rep)
    assert.are.equal(html, html_report.render(rep))
    -- the header names the workloads, by start, escaped
    assert.truthy(html:find(
      '<p class="meta">started 2025-01-02T03:04:05Z · workloads steady, spike, late&lt;i&gt;</p>', 1, true))
    assert.is_nil(html:find("<i>", 1, true))
    -- what each did: by start then name; the never-started one last, its times '–'
    assert.are.same({ "workload", "model", "start", "duration", "personas max", "iterations", "dropped",
      "requests", "errors", "req/s", "p50 ms", "p95 ms", "iteration p95 ms" },
      table_header(html, "workloads"))
    local rows = table_rows(html, "workloads")
    assert.are.same({ "steady", "spike", "late&lt;i&gt;" },
      { rows[1][1].text, rows[2][1].text, rows[3][1].text })
    local r, sp, late = rows[1], rows[2], rows[3]
    assert.are.same({ "closed", "0 s", "20 s", "3", "20", "0", "200", "0", "10" },
      { r[2].text, r[3].text, r[4].text, r[5].text, r[6].text, r[7].text, r[8].text, r[9].text, r[10].text })
    local rd = rep.metrics.by_workload.steady
    assert.are.equal(200, rd.count)
    assert.are.same({ ("%.2f"):format(rd.p50_ms), ("%.2f"):format(rd.p95_ms) }, { r[11].text, r[12].text })
    assert.are.equal(tostring(rd.p95_ms), r[12].value)
    assert.are.equal("100.00", r[13].text) -- the steady workload's iterations
    assert.are.same({ "ramping-arrival-rate", "8 s", "8.004", "6 s", "2", "30", "1", "5" },
      { sp[2].text, sp[3].text, sp[3].value, sp[4].text, sp[7].text, sp[8].text, sp[9].text, sp[10].text })
    assert.are.same({ "40.00", "200.00" }, { sp[12].text, sp[13].text })
    assert.are.same({ "constant-arrival-rate", "–", "–", "–", "0", "0", "–", "–", "–" },
      { late[2].text, late[3].text, late[4].text, late[5].text, late[6].text, late[8].text, late[11].text,
        late[12].text, late[13].text })
    -- its settings: units as the configuration's, stages by the workload's model, tags and tasks as k=v;
    -- a setting no workload has is no column
    assert.are.same({ "workload", "model", "start", "duration", "personas", "arrival rate", "max personas",
      "stages", "tags", "tasks (weight)" }, table_header(html, "workloads-config"))
    local cfg = table_rows(html, "workloads-config")
    assert.are.same({ "steady", "closed", "0 s", "20 s", "3", "", "", "", "", "browse=3, search=1" },
      (function(row) local t = {} for i, c in ipairs(row) do t[i] = c.text end return t end)(cfg[1]))
    assert.are.equal("3s → 5 iterations/s, 3s → 0 iterations/s", cfg[2][8].text)
    assert.are.equal("team=writers&lt;&amp;&gt;", cfg[2][9].text)
    assert.are.same({ "2 /s", "2" }, { cfg[3][6].text, cfg[3][6].value })
    -- latency by workload; the configuration does not repeat the workloads
    assert.are.equal("200", row_of(table_rows(html, "by-workload"), "steady")[2].text)
    local config = table_rows(html, "config")
    assert.is_nil(row_of(config, "workloads"))
    assert.are.equal("mixed", row_of(config, "scenario")[2].text)
    -- personas: the total and one line per workload that was sampled (late<i> never was)
    local _, svg = paths(html, "chart-personas", "personas")
    assert.are.equal(1, #paths(html, "chart-personas", "personas"))
    local lines = paths(html, "chart-personas", "workload")
    assert.are.equal(2, #lines)
    local steady, spike = paths(html, "chart-personas", "w1")[1], paths(html, "chart-personas", "w2")[1]
    assert.truthy(svg:find('<path class="series workload w1" d="[^"]*"><title>steady</title>'))
    assert.truthy(svg:find('<path class="series workload w2" d="[^"]*"><title>spike</title>'))
    assert.are.equal(1, select(2, spike:gsub("M", ""))) -- seconds 8..13, one piece
    local function first_x(d) return tonumber(d:match("^M([%d.]+)")) end
    assert.is_true(first_x(spike) > first_x(steady) + 100) -- it starts at 8 s of 19
    for _, label in ipairs { "all workloads", "steady", "spike" } do
      assert.truthy(svg:find(">" .. label .. "<title>", 1, true), label)
    end
    assert.is_nil(svg:find("late&lt;i&gt;", 1, true))
    -- two started in the same second: lines (and colours) in the table's order, by start
    local same = html_report.render {
      workloads = { a = { workload = "closed", started_seconds = 0.6 },
                    b = { workload = "closed", started_seconds = 0.2 } },
      timeseries = {
        { second = 0, requests = 0, errors = 0, personas = 2, personas_by_workload = { a = 1, b = 1 } },
        { second = 1, requests = 0, errors = 0, personas = 3, personas_by_workload = { a = 2, b = 1 } } } }
    local order = table_rows(same, "workloads")
    assert.are.same({ "b", "a" }, { order[1][1].text, order[2][1].text })
    assert.truthy(same:find('<path class="series workload w1" d="[^"]*"><title>b</title>'))
    assert.is_nil(html:find('id="chart-workload-latency"', 1, true)) -- no per-workload seconds to draw
  end)

  it("leaves out what a report does not have: no dangling separators, '–' tiles or null rows", function()
    local html = html_report.render {}
    for _, id in ipairs { "chart-personas", "chart-tool-latency", "chart-tool-throughput", "by-name",
                          "workloads", "workloads-config", "by-workload",
                          "by-persona", "by-tool-persona", "config", "counters", "error-types",
                          "expected-types", "thresholds", "checks", "notes" } do
      assert.is_nil(html:find('id="' .. id .. '"', 1, true), id)
    end
    assert.is_nil(html:find("–", 1, true))
    assert.is_nil(html:find(" · ", 1, true))
    assert.is_nil(html:find('<p class="meta"></p>', 1, true))
    assert.is_nil(html:find("null", 1, true))
    -- an older report (no personas, no timeseries_by_tool) still charts what it has
    local old = html_report.render(sample_report())
    assert.truthy(old:find('id="chart-latency"', 1, true))
    assert.is_nil(old:find('id="chart-personas"', 1, true))
    assert.is_nil(old:find('id="chart-tool-latency"', 1, true))
    -- a run without named workloads: no workloads section; the header names its workload
    local single = html_report.render(registry_report())
    assert.is_nil(single:find("<h2>Workloads</h2>", 1, true))
    assert.truthy(single:find("· workload closed</p>", 1, true))
    assert.is_nil(single:find('class="series workload', 1, true))
    assert.are.equal("1.21 KiB", row_of(table_rows(old, "counters"), "http.bytes{tool=http.get}")[2].text)
  end)

  it("renders an empty or partial report without raising", function()
    for _, rep in ipairs { {}, { result = {}, metrics = {}, timeseries = {} },
                           { metrics = { overall = { histogram = "HG1:garbage" } } } } do
      local html = html_report.render(rep)
      assert.truthy(html:find('id="chart-latency"><h3>', 1, true))
      assert.truthy(html:find('id="chart-histogram"><h3>', 1, true))
      assert.truthy(html:find("PASSED", 1, true))
    end
    local interrupted = html_report.render { interrupted = true, result = { signal = "SIG<INT>" } }
    assert.truthy(interrupted:find('class="status interrupted">INTERRUPTED by SIG&lt;INT&gt;', 1, true))
    assert.has_error(function() html_report.render("x") end,
      "html_report.render: expected a report table, got string")
  end)

  it("spreads a histogram over log-scaled buckets that add up to its count", function()
    local values = {}
    for i = 1, 1000 do values[i] = 0.5 * 1.01 ^ i end -- 0.5 ms .. 10 s
    local buckets = html_report.histogram_buckets(encoded_hist(values), 40)
    assert.are.equal(40, #buckets)
    local total = 0
    for i, b in ipairs(buckets) do
      total = total + b.count
      assert.is_true(b.hi > b.lo)
      if i > 1 then assert.are.equal(buckets[i - 1].hi, b.lo) end
    end
    assert.are.equal(1000, total)
    assert.is_nil(html_report.histogram_buckets(encoded_hist {}, 40))
    -- histogram:count_below
    local h = core.hist_new()
    for _, ms in ipairs { 1, 2, 2, 3 } do h:record(ms / 1000) end
    assert.are.equal(0, h:count_below(0.001))
    assert.are.equal(1, h:count_below(0.0015))
    assert.are.equal(3, h:count_below(0.003))
    assert.are.equal(4, h:count_below(1))
    assert.has_error(function() h:count_below("x") end)
  end)

  it("writes atomically and reports a path it cannot write", function()
    local dir = os.tmpname()
    os.remove(dir)
    local path = dir .. "/sub/r.html"
    assert.is_true(html_report.write(path, sample_report()))
    assert.are.equal(html_report.render(sample_report()), support.read_file(path))
    os.execute("rm -rf " .. sq(dir))
    local ok, err = html_report.write("/proc/nonexistent/r.html", {})
    assert.is_nil(ok)
    assert.matches("cannot write report '/proc/nonexistent/r.html'", err, 1, true)
  end)
end)

describe("--html on scenarios/load.lua", function()
  local dir, rep, html, status

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. sq(dir))
    local r = support.run_cli { LOAD, "--stages", "1s:1,2s:3", "--seed", "7", "--quiet",
      "--output", dir .. "/R.json", "--html", dir .. "/R.html",
      "--threshold", "p95{tool=mcp.get_session_info} < 10s",
      "--threshold", "p99{tool=mcp.get_content} < 1ms" }
    status = r
    rep = cjson.decode(support.read_file(dir .. "/R.json") or "null")
    html = support.read_file(dir .. "/R.html")
  end)

  teardown(function() os.execute("rm -rf " .. sq(dir)) end)

  it("writes the page beside the JSON report, holding its numbers", function()
    assert.are.equal(99, status.status, status.stderr) -- the 1ms threshold fails
    assert.is_table(rep)
    assert.is_string(html)
    assert.are.equal(html_report.render(rep), html)
    local by_tool = table_rows(html, "by-tool")
    for tool, agg in pairs(rep.metrics.by_tool) do
      local row = row_of(by_tool, tool)
      assert.is_table(row, tool)
      assert.are.equal(tostring(agg.count), row[2].text)
      assert.are.equal(tostring(agg.expected_count), row[5].text, tool)
      assert.are.equal(("%.2f"):format(agg.p95_ms), row[10].text, tool)
      assert.are.equal(("%.2f"):format(agg.p99_ms), row[11].text, tool)
    end
    for persona, agg in pairs(rep.metrics.by_persona) do
      assert.are.equal(("%.2f"):format(agg.p50_ms), row_of(table_rows(html, "by-persona"), persona)[8].text)
    end
    local th = table_rows(html, "thresholds")
    assert.are.equal(#rep.thresholds, #th) -- the two given and load.lua's defaults
    assert.truthy(html:find('id="verdict">FAIL: ', 1, true))
    assert.truthy(html:find('<tr class="fail"><td class="mark">FAIL</td><td>p99{tool=mcp.get_content}',
      1, true))
    assert.truthy(html:find(">" .. rep.result.request_count .. "</div>", 1, true))
    assert.truthy(html:find('id="status">FAILED (threshold)', 1, true))
  end)

  describe("in headless Chromium", function()
    local chromium = support.sh_ok("command -v chromium >/dev/null 2>&1")

    -- chromium with a private profile, time-bounded; returns stdout. The
    -- sanitizer build's LD_PRELOAD (spec environment) must not reach it.
    local function run_chromium(args)
      local out = dir .. "/chromium.out"
      local cmd = ("env -u LD_PRELOAD -u ASAN_OPTIONS -u UBSAN_OPTIONS "
        .. "timeout 60 chromium --headless=new --no-sandbox --disable-gpu "
        .. "--hide-scrollbars --user-data-dir=%s %s >%s 2>%s")
        :format(sq(dir .. "/profile"), args, sq(out), sq(dir .. "/chromium.err"))
      local ok = support.sh_ok(cmd)
      assert.is_true(ok, "chromium failed: " .. tostring(support.read_file(dir .. "/chromium.err")))
      return support.read_file(out)
    end

    if not chromium then
      pending("chromium is not installed (apt-get install chromium; scripts/install-deps.sh does): "
        .. "the browser check of the HTML report did not run")
      return
    end

    -- A probe appended to a copy of page `text` (the report itself has no
    -- script) measures what the browser actually laid out: path lengths,
    -- label boxes, legend boxes against their chart's viewBox, and counts of
    -- the elements `selectors` name. -> the measures, the DOM.
    local function probe(text, name, selectors)
      local script = [[<script>
var out = [];
document.querySelectorAll("svg.chart path.series, svg.chart path.bar").forEach(function (p) {
  out.push("path " + p.closest("svg").id + " " + p.getAttribute("class") + " " +
    p.getTotalLength().toFixed(1));
});
document.querySelectorAll("svg.chart text.axis-label").forEach(function (t) {
  var b = t.getBBox();
  out.push("label " + t.closest("svg").id + " " + b.width.toFixed(1) + " " + b.height.toFixed(1));
});
document.querySelectorAll("svg.chart text.legend-label").forEach(function (t) {
  var b = t.getBBox(), v = t.closest("svg").viewBox.baseVal;
  out.push("legend " + t.closest("svg").id + " " + (v.width - b.x - b.width).toFixed(1) + " " +
    (v.height - b.y - b.height).toFixed(1) + " " + b.width.toFixed(1));
});
]]
      local counts = {}
      for _, sel in ipairs(selectors or {}) do
        counts[#counts + 1] = ('out.push("count %s " + document.querySelectorAll("%s").length);')
          :format(sel, sel)
      end
      script = script .. table.concat(counts, "\n") .. [[

var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = out.join("\n");
document.body.appendChild(pre);
</script></body>]]
      local probed = text:gsub("</body>", function() return script end)
      local f = assert(io.open(dir .. "/" .. name, "wb"))
      f:write(probed)
      f:close()
      local dom = run_chromium("--dump-dom " .. sq("file://" .. dir .. "/" .. name))
      local measured = dom:match('<pre id="probe">(.-)</pre>')
      assert.is_string(measured, "the probe did not run")
      local m = { lengths = {}, paths = {}, labels = {}, counts = {} }
      for id, cls, len in measured:gmatch("path (%S+) ([^\n]-) ([%d.]+)\n?") do
        local key = id .. " " .. cls:gsub(" [tw]%d+$", "")
        m.lengths[key] = math.max(m.lengths[key] or 0, tonumber(len))
        if tonumber(len) > 0 then m.paths[key] = (m.paths[key] or 0) + 1 end
      end
      for id, w, h in measured:gmatch("label (%S+) ([%d.]+) ([%d.]+)") do
        m.labels[id] = (m.labels[id] or 0) + 1
        assert.is_true(tonumber(w) > 10 and tonumber(h) > 5, "axis label of " .. id .. " not laid out")
      end
      for id, right, bottom, w in measured:gmatch("legend (%S+) (%-?[%d.]+) (%-?[%d.]+) ([%d.]+)") do
        assert.is_true(tonumber(right) >= 0 and tonumber(bottom) >= 0 and tonumber(w) > 5,
          "a legend label of " .. id .. " is not laid out inside its chart: " .. measured)
      end
      for sel, n in measured:gmatch("count (.-) (%d+)\n?") do m.counts[sel] = tonumber(n) end
      return m, dom, measured
    end

    it("lays out the charts with drawn paths and axis labels, and the tables hold the numbers", function()
      local m, dom, measured = probe(html, "probe.html", { ".notes li", "p.description" })
      for _, key in ipairs { "chart-latency series p50", "chart-latency series p95",
                             "chart-latency series p99",
                             "chart-requests series requests", "chart-errors series errors",
                             "chart-personas series personas",
                             "chart-tool-latency series tool", "chart-tool-throughput series tool",
                             "chart-histogram bar" } do
        assert.is_true((m.lengths[key] or 0) > 0, key .. " has no drawn length: " .. measured)
      end
      for _, id in ipairs { "chart-latency", "chart-requests", "chart-errors", "chart-personas",
                            "chart-tool-latency", "chart-tool-throughput", "chart-histogram" } do
        assert.are.equal(2, m.labels[id], id .. " axis labels")
      end
      -- one line per tool the run called (load.lua: fewer than 8)
      local ntools = 0
      for _ in pairs(rep.timeseries_by_tool) do ntools = ntools + 1 end
      assert.is_true(ntools >= 4)
      assert.are.equal(math.min(ntools, 8), m.paths["chart-tool-throughput series tool"], measured)
      -- personas over time: the stages ramp 1 -> 3, drawn from the report's counts
      local most = 0
      for _, e in ipairs(rep.timeseries) do
        if e.personas ~= cjson.null then most = math.max(most, e.personas) end
      end
      assert.are.equal(3, most)
      assert.are.equal(3, rep.result.personas_max)
      -- the notes (load.lua: the fetch delay), the description
      assert.are.equal(#rep.notes, m.counts[".notes li"])
      assert.is_true(#rep.notes >= 1)
      assert.are.equal(1, m.counts["p.description"])
      -- the DOM the browser built from the report holds the report's numbers
      local agg = rep.metrics.by_tool["mcp.get_content"]
      local row = row_of(table_rows(dom, "by-tool"), "mcp.get_content")
      assert.are.equal(("%.2f"):format(agg.p95_ms), row[10].text)
      local d = paths(dom, "chart-latency", "p95")
      assert.is_true(#d[1] > 10)
      local it = table_rows(dom, "by-name")
      assert.are.equal("iteration", it[1][1].value)
      assert.are.equal(("%.2f"):format(rep.metrics.by_name.iteration.p95_ms), it[1][10].text)
      assert.are.equal(("%.2f"):format(rep.metrics.by_name["iteration.service"].p95_ms), it[2][10].text)
      local stages = row_of(table_rows(dom, "config"), "stages")
      assert.are.equal("1s → 1 personas, 2s → 3 personas", stages[2].text)
    end)

    it("lays out eight tools' lines, their legends inside the chart, and the error samples", function()
      local m, dom, measured = probe(html_report.render(registry_report()), "registry.html",
        { ".error-samples li", "#error-types tbody tr", ".notes li", "#chart-tool-latency .legend" })
      assert.are.equal(8, m.paths["chart-tool-latency series tool"], measured)
      assert.are.equal(8, m.paths["chart-tool-throughput series tool"], measured)
      assert.are.equal(8, m.counts["#chart-tool-latency .legend"])
      assert.are.equal(1, m.paths["chart-personas series personas"], measured)
      assert.are.equal(3, m.counts[".error-samples li"])
      assert.are.equal(1, m.counts["#error-types tbody tr"])
      assert.are.equal(1, m.counts[".notes li"])
      assert.truthy(dom:find("mcp.tool3: &lt;timed out&gt; after 30 s #0", 1, true))
    end)

    it("lays out two long tool names' legends inside their charts", function()
      local m, _, measured = probe(html_report.render(long_tools_report()), "long.html",
        { "#chart-tool-latency .legend" })
      assert.are.equal(2, m.paths["chart-tool-latency series tool"], measured)
      assert.are.equal(2, m.counts["#chart-tool-latency .legend"]) -- inside the chart: probe checks each
    end)

    it("lays out each workload's personas line and legend, and the workloads tables", function()
      local wrep = workloads_report()
      local m, dom, measured = probe(html_report.render(wrep), "workloads.html",
        { "#workloads tbody tr", "#workloads-config tbody tr", "#chart-personas .legend" })
      assert.are.equal(1, m.paths["chart-personas series personas"], measured)
      assert.are.equal(2, m.paths["chart-personas series workload"], measured)
      assert.is_true(m.lengths["chart-personas series workload"] > 100, measured)
      assert.are.equal(3, m.counts["#chart-personas .legend"]) -- inside the chart: probe checks each
      assert.are.equal(2, m.labels["chart-personas"])
      assert.are.equal(3, m.counts["#workloads tbody tr"])
      assert.are.equal(3, m.counts["#workloads-config tbody tr"])
      local row = row_of(table_rows(dom, "workloads"), "spike")
      assert.are.equal(("%.2f"):format(wrep.metrics.by_workload.spike.p95_ms), row[12].text)
      assert.are.equal(tostring(wrep.workloads.spike.request_count), row[8].text)
    end)

    it("takes a screenshot of the page", function()
      local shot = os.getenv("GS_HTML_SCREENSHOT") or (dir .. "/shot.png")
      run_chromium(("--screenshot=%s --window-size=1280,2400 %s")
        :format(sq(shot), sq("file://" .. dir .. "/R.html")))
      local png = support.read_file(shot)
      assert.is_string(png, "no screenshot")
      assert.are.equal("\137PNG\r\n\26\n", png:sub(1, 8))
      assert.is_true(#png > 50000, "the screenshot is suspiciously small: " .. #png .. " bytes")
    end)
  end)
end)
