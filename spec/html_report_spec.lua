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

  it("leaves out what a report does not have: no dangling separators, '–' tiles or null rows", function()
    local html = html_report.render {}
    for _, id in ipairs { "chart-personas", "chart-tool-latency", "chart-tool-throughput", "by-name",
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
        local key = id .. " " .. cls:gsub(" t%d+$", "")
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
