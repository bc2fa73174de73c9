-- The HTML report (lua/gofr_sim/report/html.lua): rendering of a synthetic
-- report (escaping, failures, empty reports, determinism), `--html` on
-- scenarios/load.lua through the executable (the tables hold the JSON
-- report's numbers), and the same page in headless Chromium: it loads, the
-- charts have drawn geometry and axis labels, the tables hold the numbers,
-- and a screenshot is taken (set GS_HTML_SCREENSHOT=path to keep it).
local cjson = require "cjson"
local core = require "gofr_sim.core"
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
    local r = support.run_cli { LOAD, "--duration", "3s", "--seed", "7", "--quiet",
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

    it("lays out the charts with drawn paths and axis labels, and the tables hold the numbers", function()
      -- A probe appended to a copy (the report itself has no script) measures
      -- what the browser actually laid out: path lengths and label boxes.
      local probe = [[<script>
var out = [];
document.querySelectorAll("svg.chart path.series, svg.chart path.bar").forEach(function (p) {
  out.push("path " + p.closest("svg").id + " " + p.getAttribute("class") + " " +
    p.getTotalLength().toFixed(1));
});
document.querySelectorAll("svg.chart text.axis-label").forEach(function (t) {
  var b = t.getBBox();
  out.push("label " + t.closest("svg").id + " " + b.width.toFixed(1) + " " + b.height.toFixed(1));
});
var pre = document.createElement("pre"); pre.id = "probe"; pre.textContent = out.join("\n");
document.body.appendChild(pre);
</script></body>]]
      local probed = html:gsub("</body>", function() return probe end)
      local f = assert(io.open(dir .. "/probe.html", "wb"))
      f:write(probed)
      f:close()
      local dom = run_chromium("--dump-dom " .. sq("file://" .. dir .. "/probe.html"))
      local measured = dom:match('<pre id="probe">(.-)</pre>')
      assert.is_string(measured, "the probe did not run")
      local lengths, labels = {}, {}
      for id, cls, len in measured:gmatch("path (%S+) ([^\n]-) ([%d.]+)\n?") do
        lengths[id .. " " .. cls] = math.max(lengths[id .. " " .. cls] or 0, tonumber(len))
      end
      for id, w, h in measured:gmatch("label (%S+) ([%d.]+) ([%d.]+)") do
        labels[id] = (labels[id] or 0) + 1
        assert.is_true(tonumber(w) > 10 and tonumber(h) > 5, "axis label of " .. id .. " not laid out")
      end
      for _, key in ipairs { "chart-latency series p50", "chart-latency series p95",
                             "chart-latency series p99",
                             "chart-requests series requests", "chart-errors series errors",
                             "chart-histogram bar" } do
        assert.is_true((lengths[key] or 0) > 0, key .. " has no drawn length: " .. measured)
      end
      for _, id in ipairs { "chart-latency", "chart-requests", "chart-errors", "chart-histogram" } do
        assert.are.equal(2, labels[id], id .. " axis labels")
      end
      -- the DOM the browser built from the report holds the report's numbers
      local agg = rep.metrics.by_tool["mcp.get_content"]
      local row = row_of(table_rows(dom, "by-tool"), "mcp.get_content")
      assert.are.equal(("%.2f"):format(agg.p95_ms), row[10].text)
      local d = paths(dom, "chart-latency", "p95")
      assert.is_true(#d[1] > 10)
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
