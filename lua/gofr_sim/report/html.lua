--- The HTML report: one self-contained page (inline CSS and SVG, no script,
-- no external asset) rendered from a report table (docs/report.md), readable
-- offline in any browser. docs/report.md "HTML report" shows it.
--
--   local html_report = require "gofr_sim.report.html"
--   local text = html_report.render(rep)          -- pure: same report, same bytes
--   assert(html_report.write("out/report.html", rep))
--
-- Every string taken from the report is HTML-escaped. Stable hooks for tests
-- and styling: `<svg class="chart" id="chart-latency|chart-requests|
-- chart-errors|chart-histogram">`, `<path class="series p50|p95|p99|requests|
-- errors">`, `<path class="bar">`, `<text class="axis-label">`, tables with
-- ids `summary`, `thresholds`, `checks`, `by-tool`, `by-persona`,
-- `by-tool-persona`, `error-types`, `config`, `counters`; a table cell
-- holding a number carries it unrounded in `data-value`.
local core = require "gofr_sim.core"
local json = require "gofr_sim.util.json"
local tables = require "gofr_sim.util.tables"
local build = require "gofr_sim.report.build"
local write = require "gofr_sim.report.write"

local type, ipairs, tostring, tonumber, error, pcall =
  type, ipairs, tostring, tonumber, error, pcall
local format, concat = string.format, table.concat
local floor, ceil, log10, max, huge = math.floor, math.ceil, math.log10, math.max, math.huge

local NULL = build.null

local M = {}

---------------------------------------------------------------------------
-- text helpers
---------------------------------------------------------------------------

local ESCAPES = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

--- HTML-escaped text of any value (nil and JSON null -> "").
local function esc(v)
  if v == nil or v == NULL then return "" end
  return (tostring(v):gsub("[&<>\"']", ESCAPES))
end
M.escape = esc

local function is_num(v) return type(v) == "number" and v == v and v ~= huge and v ~= -huge end

-- A number as plain text: integers without decimals, others in %.6g.
local function num_text(v)
  if not is_num(v) then return "–" end
  if v == floor(v) and math.abs(v) < 1e15 then return format("%d", v) end
  return format("%.6g", v)
end

-- Milliseconds with two decimals (as report/summary.lua shows them).
local function ms_text(v)
  if not is_num(v) then return "–" end
  return format("%.2f", v)
end

-- Seconds with at most two decimals and a unit.
local function seconds_text(v)
  if not is_num(v) then return "–" end
  return (format("%.2f", v):gsub("%.?0+$", "")) .. " s"
end

-- The exact number for a data-value attribute ("" when not a number).
local function exact(v)
  if not is_num(v) then return "" end
  if v == floor(v) and math.abs(v) < 1e15 then return format("%d", v) end
  return format("%.14g", v)
end

-- A table value (config, counters) as compact text.
local function value_text(v)
  if v == nil or v == NULL then return "null" end
  if type(v) == "number" then return num_text(v) end
  if type(v) ~= "table" then return tostring(v) end
  local ok, text = pcall(json.encode, v, "sorted")
  return ok and (text:gsub("%s+", " ")) or tostring(v)
end

local function field(t, k)
  if type(t) ~= "table" then return nil end
  local v = t[k]
  if v == NULL then return nil end
  return v
end

---------------------------------------------------------------------------
-- tables
---------------------------------------------------------------------------

-- A cell: {text=, value=, class=} or plain text; text is escaped here.
local function td(c)
  if type(c) ~= "table" then return "<td>" .. esc(c) .. "</td>" end
  local attrs = ""
  if c.class then attrs = attrs .. ' class="' .. esc(c.class) .. '"' end
  if c.value ~= nil then attrs = attrs .. ' data-value="' .. esc(c.value) .. '"' end
  return "<td" .. attrs .. ">" .. esc(c.text) .. "</td>"
end

local function num_cell(v) return { text = num_text(v), value = exact(v), class = "num" } end
local function ms_cell(v) return { text = ms_text(v), value = exact(v), class = "num" } end

-- <table id=...> with a header row and rows of cells; row_class(i) -> class or nil.
local function html_table(id, header, rows, row_class)
  local out = { '<table id="' .. id .. '"><thead><tr>' }
  for _, h in ipairs(header) do
    out[#out + 1] = (type(h) == "table" and '<th class="num">' .. esc(h[1]) or "<th>" .. esc(h)) .. "</th>"
  end
  out[#out + 1] = "</tr></thead><tbody>"
  for i, row in ipairs(rows) do
    local cls = row_class and row_class(i)
    out[#out + 1] = cls and ('<tr class="' .. cls .. '">') or "<tr>"
    for _, c in ipairs(row) do out[#out + 1] = td(c) end
    out[#out + 1] = "</tr>"
  end
  out[#out + 1] = "</tbody></table>"
  return concat(out)
end

local AGG_HEADER = { { "count" }, { "errors" }, { "error %" }, { "expected" }, { "min ms" },
  { "mean ms" }, { "p50 ms" }, { "p90 ms" }, { "p95 ms" }, { "p99 ms" }, { "p99.9 ms" }, { "max ms" } }

local function agg_cells(row, a)
  a = type(a) == "table" and a or {}
  row[#row + 1] = num_cell(field(a, "count"))
  row[#row + 1] = num_cell(field(a, "error_count"))
  row[#row + 1] = num_cell(field(a, "error_rate_pct"))
  row[#row + 1] = num_cell(field(a, "expected_count") or 0)
  for _, k in ipairs { "min_ms", "mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "p99_9_ms", "max_ms" } do
    row[#row + 1] = ms_cell(field(a, k))
  end
  return row
end

-- Latency table of an AGG map; `names` gives the leading column titles and
-- split(key) the leading cells of a key.
local function agg_table(id, names, map, split, overall)
  local header = {}
  for _, n in ipairs(names) do header[#header + 1] = n end
  for _, h in ipairs(AGG_HEADER) do header[#header + 1] = h end
  local rows = {}
  for _, k in ipairs(tables.sorted_keys(map)) do
    rows[#rows + 1] = agg_cells(split(k), map[k])
  end
  if overall then
    local row = { "all" }
    for _ = 2, #names do row[#row + 1] = "" end
    rows[#rows + 1] = agg_cells(row, overall)
  end
  if #rows == 0 then return '<p class="empty" id="' .. id .. '">No samples.</p>' end
  return html_table(id, header, rows, function(i)
    return overall and i == #rows and "total" or nil
  end)
end

---------------------------------------------------------------------------
-- SVG charts
---------------------------------------------------------------------------

local W, H = 560, 280                           -- chart size (viewBox units)
local PAD = { left = 64, right = 16, top = 34, bottom = 46 }

local function px(v) return format("%.1f", v) end

-- "Nice" tick step for a range of `span` split into about n steps.
local function nice_step(span, n)
  if span <= 0 or span ~= span then return 1 end
  local raw = span / n
  local mag = 10 ^ floor(log10(raw))
  for _, m in ipairs { 1, 2, 2.5, 5, 10 } do
    if raw <= m * mag then return m * mag end
  end
  return 10 * mag
end

-- Ticks from 0 to the first multiple of step at or above top.
local function linear_ticks(top, n)
  local step = nice_step(top, n)
  local last = max(1, ceil(top / step - 1e-9))
  local ticks = {}
  for i = 0, last do ticks[#ticks + 1] = i * step end
  return ticks
end

local function tick_text(v)
  if v == floor(v) then return format("%d", v) end
  return format("%g", v)
end

-- The frame of a chart: axes, grid, tick labels, axis labels and title.
-- opts = {id=, title=, x_label=, y_label=, x_ticks={{pos=, text=}}, y_ticks=...}
-- where pos is in plot coordinates (0..1 along the axis).
local function frame(opts)
  local x0, x1 = PAD.left, W - PAD.right
  local y0, y1 = H - PAD.bottom, PAD.top
  local out = {
    format('<svg class="chart" id="%s" viewBox="0 0 %d %d" '
      .. 'width="%d" height="%d" role="img" aria-label="%s">', esc(opts.id), W, H, W, H, esc(opts.title)),
    format('<text class="chart-title" x="%s" y="18">%s</text>', px(x0), esc(opts.title)),
  }
  for _, t in ipairs(opts.y_ticks) do
    local y = y0 + (y1 - y0) * t.pos
    out[#out + 1] = format('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>',
      px(x0), px(y), px(x1), px(y))
    out[#out + 1] = format('<text class="tick y" x="%s" y="%s">%s</text>', px(x0 - 6), px(y + 4), esc(t.text))
  end
  for _, t in ipairs(opts.x_ticks) do
    local x = x0 + (x1 - x0) * t.pos
    out[#out + 1] = format('<line class="tick-mark" x1="%s" y1="%s" x2="%s" y2="%s"/>',
      px(x), px(y0), px(x), px(y0 + 4))
    out[#out + 1] = format('<text class="tick x" x="%s" y="%s">%s</text>', px(x), px(y0 + 16), esc(t.text))
  end
  out[#out + 1] = format('<path class="axis" d="M%s %sV%sH%s"/>', px(x0), px(y1), px(y0), px(x1))
  out[#out + 1] = format('<text class="axis-label x" x="%s" y="%s">%s</text>',
    px((x0 + x1) / 2), px(H - 8), esc(opts.x_label))
  out[#out + 1] = format('<text class="axis-label y" transform="translate(14 %s) rotate(-90)">%s</text>',
    px((y0 + y1) / 2), esc(opts.y_label))
  return out, x0, x1, y0, y1
end

local function empty_chart(id, title)
  return format('<div class="chart empty" id="%s"><h3>%s</h3><p>No data.</p></div>', esc(id), esc(title))
end

--- A line chart over seconds. spec = {id=, title=, y_label=, series={{name=,
-- class=, values={[i]=number|nil}}}, seconds={[i]=second}}: one point per
-- second; a nil value breaks the line.
local function line_chart(spec)
  local seconds = spec.seconds
  if #seconds == 0 then return empty_chart(spec.id, spec.title) end
  local first, last = seconds[1], seconds[#seconds]
  local xspan = max(last - first, 1)
  local top = 0
  for _, s in ipairs(spec.series) do
    for i = 1, #seconds do
      local v = s.values[i]
      if is_num(v) and v > top then top = v end
    end
  end
  local yt = linear_ticks(top > 0 and top or 1, 5)
  local ymax = yt[#yt]
  local y_ticks, x_ticks = {}, {}
  for _, v in ipairs(yt) do y_ticks[#y_ticks + 1] = { pos = v / ymax, text = tick_text(v) } end
  local xstep = max(1, nice_step(xspan, 8))
  for v = 0, xspan + 1e-9, xstep do
    x_ticks[#x_ticks + 1] = { pos = v / xspan, text = tick_text(first + v) }
  end
  local out, x0, x1, y0, y1 = frame {
    id = spec.id, title = spec.title, x_label = "time (s since first request)",
    y_label = spec.y_label, x_ticks = x_ticks, y_ticks = y_ticks,
  }
  -- drawn last series first, so that the first (p50) lies on top
  for k = #spec.series, 1, -1 do
    local s = spec.series[k]
    local d, pen, dots = {}, "M", {}
    for i = 1, #seconds do
      local v = s.values[i]
      if is_num(v) then
        local x = x0 + (x1 - x0) * (seconds[i] - first) / xspan
        local y = y0 + (y1 - y0) * v / ymax
        d[#d + 1] = pen .. px(x) .. " " .. px(y)
        dots[#dots + 1] = { x = x, y = y, v = v, s = seconds[i] }
        pen = "L"
      else
        pen = "M"
      end
    end
    if #d > 0 then
      out[#out + 1] = format('<path class="series %s" d="%s"><title>%s</title></path>',
        esc(s.class), concat(d), esc(s.name))
      if #dots <= 60 then -- markers with the exact value on hover, for short runs
        for _, p in ipairs(dots) do
          out[#out + 1] = format('<circle class="dot %s" cx="%s" cy="%s" r="2.5">'
            .. '<title>%s at %ss: %s</title></circle>',
            esc(s.class), px(p.x), px(p.y), esc(s.name), tick_text(p.s), esc(num_text(p.v)))
        end
      end
    end
    -- legend, top right
    local lx = x1 - 84 * (#spec.series - k + 1) + 10
    out[#out + 1] = format('<g class="legend"><rect class="swatch %s" x="%s" y="10" width="12" height="10"/>'
      .. '<text class="legend-label" x="%s" y="19">%s</text></g>',
      esc(s.class), px(lx), px(lx + 16), esc(s.name))
  end
  out[#out + 1] = "</svg>"
  return concat(out, "\n")
end

-- Label of a latency in seconds: "250µs", "12ms", "1.5s".
local function latency_label(s)
  if s < 1e-3 then return format("%gµs", tonumber(format("%.3g", s * 1e6))) end
  if s < 1 then return format("%gms", tonumber(format("%.3g", s * 1e3))) end
  return format("%gs", tonumber(format("%.3g", s)))
end

--- The latency distribution of an encoded histogram as `n` buckets of
-- geometrically growing width from its min to its max: array of
-- {lo=, hi= (seconds), count=}; nil when it cannot be decoded or is empty.
function M.histogram_buckets(encoded, n)
  if type(encoded) ~= "string" then return nil end
  local h = core.hist_decode(encoded)
  if not h or h:count() == 0 then return nil end
  local lo, hi = h:min(), h:max()
  lo = max(lo, 1e-6)
  hi = max(hi, lo) * 1.001 + 1e-6 -- the max falls inside the last bucket
  if hi / lo < 1.1 then lo, hi = lo / 1.05, hi * 1.05 end
  local ratio = (hi / lo) ^ (1 / n)
  -- below = 0: values under lo (a 0 µs sample) land in the first bucket
  local buckets, below = {}, 0
  for i = 1, n do
    local top = i == n and hi or lo * ratio ^ i
    local now = h:count_below(top)
    buckets[i] = { lo = lo * ratio ^ (i - 1), hi = top, count = now - below }
    below = now
  end
  return buckets
end

-- The latency histogram as a bar chart on a log latency axis.
local function histogram_chart(encoded)
  local id, title = "chart-histogram", "Latency histogram (all requests)"
  local buckets = M.histogram_buckets(encoded, 40)
  if not buckets then return empty_chart(id, title) end
  local lo, hi = buckets[1].lo, buckets[#buckets].hi
  local llo, lhi = log10(lo), log10(hi)
  local top = 0
  for _, b in ipairs(buckets) do top = max(top, b.count) end
  local yt = linear_ticks(max(top, 1), 5)
  local ymax = yt[#yt]
  local y_ticks, x_ticks = {}, {}
  for _, v in ipairs(yt) do y_ticks[#y_ticks + 1] = { pos = v / ymax, text = tick_text(v) } end
  -- 1-2-5 ticks per decade inside [lo, hi]
  for e = floor(llo), ceil(lhi) do
    for _, m in ipairs { 1, 2, 5 } do
      local v = m * 10 ^ e
      if v >= lo and v <= hi then
        x_ticks[#x_ticks + 1] = { pos = (log10(v) - llo) / (lhi - llo), text = latency_label(v) }
      end
    end
  end
  local out, x0, x1, y0, y1 = frame {
    id = id, title = title, x_label = "latency (log scale)", y_label = "requests",
    x_ticks = x_ticks, y_ticks = y_ticks,
  }
  for _, b in ipairs(buckets) do
    if b.count > 0 then
      local xa = x0 + (x1 - x0) * (log10(b.lo) - llo) / (lhi - llo)
      local xb = x0 + (x1 - x0) * (log10(b.hi) - llo) / (lhi - llo)
      local y = y0 + (y1 - y0) * b.count / ymax
      out[#out + 1] = format('<path class="bar" d="M%s %sV%sH%sV%sZ"><title>%s – %s: %d</title></path>',
        px(xa + 0.5), px(y0), px(y), px(max(xb - 0.5, xa + 1)), px(y0),
        esc(latency_label(b.lo)), esc(latency_label(b.hi)), b.count)
    end
  end
  out[#out + 1] = "</svg>"
  return concat(out, "\n")
end

-- The four charts of a report.
local function charts(rep)
  local ts = type(rep.timeseries) == "table" and rep.timeseries or {}
  local seconds, p50, p95, p99, reqs, errs = {}, {}, {}, {}, {}, {}
  for _, e in ipairs(ts) do
    if type(e) == "table" and is_num(field(e, "second")) then
      local i = #seconds + 1
      seconds[i] = e.second
      p50[i], p95[i], p99[i] = field(e, "p50_ms"), field(e, "p95_ms"), field(e, "p99_ms")
      reqs[i], errs[i] = field(e, "requests"), field(e, "errors")
    end
  end
  local overall = type(rep.metrics) == "table" and field(rep.metrics, "overall") or nil
  return concat {
    '<div class="charts">',
    line_chart { id = "chart-latency", title = "Latency percentiles", y_label = "latency (ms)",
      seconds = seconds, series = {
        { name = "p50", class = "p50", values = p50 },
        { name = "p95", class = "p95", values = p95 },
        { name = "p99", class = "p99", values = p99 } } },
    line_chart { id = "chart-requests", title = "Throughput", y_label = "requests/s",
      seconds = seconds, series = { { name = "requests/s", class = "requests", values = reqs } } },
    line_chart { id = "chart-errors", title = "Errors", y_label = "errors/s",
      seconds = seconds, series = { { name = "errors/s", class = "errors", values = errs } } },
    histogram_chart(overall and field(overall, "histogram")),
    "</div>",
  }
end

---------------------------------------------------------------------------
-- sections
---------------------------------------------------------------------------

-- "pass" / "fail" of a report, and why.
local function status_of(rep)
  local failed = {}
  for _, t in ipairs(type(rep.thresholds) == "table" and rep.thresholds or {}) do
    if type(t) == "table" and t.ok == false then failed[#failed + 1] = "threshold" break end
  end
  for _, name in ipairs(tables.sorted_keys(rep.checks)) do
    local c = rep.checks[name]
    if type(c) == "table" and is_num(c.fails) and c.fails > 0 then failed[#failed + 1] = "check" break end
  end
  local v = type(rep.verdict) == "table" and rep.verdict or nil
  if v and v.healthy == false then failed[#failed + 1] = "unhealthy run" end
  if #failed > 0 then return "fail", "FAILED (" .. concat(failed, " and ") .. ")" end
  return "pass", "PASSED"
end

local function header(rep)
  local config = type(rep.config) == "table" and rep.config or {}
  local res = type(rep.result) == "table" and rep.result or {}
  local overall = type(rep.metrics) == "table" and field(rep.metrics, "overall") or {}
  local name = field(config, "scenario") or "gofr-sim run"
  local status, status_text = status_of(rep)
  local interrupted = rep.interrupted == true or res.interrupted == true
  local tiles = {
    { "duration", seconds_text(field(res, "duration_seconds")), field(res, "duration_seconds") },
    { "requests", num_text(field(res, "request_count")), field(res, "request_count") },
    { "errors", num_text(field(res, "error_count")), field(res, "error_count") },
    { "expected", num_text(field(res, "expected_count") or 0), field(res, "expected_count") or 0 },
    { "error rate", num_text(field(overall, "error_rate_pct")) .. " %", field(overall, "error_rate_pct") },
    { "throughput", num_text(field(res, "throughput_rps")) .. " req/s", field(res, "throughput_rps") },
    { "p95", ms_text(field(overall, "p95_ms")) .. " ms", field(overall, "p95_ms") },
  }
  local out = {
    '<header><h1>', esc(name), ' <span class="status ', status, '" id="status">', esc(status_text),
    "</span>",
    interrupted and (' <span class="status interrupted">INTERRUPTED'
      .. (field(res, "signal") and field(res, "signal") ~= "" and (" by " .. esc(res.signal)) or "")
      .. "</span>") or "",
    "</h1>",
    '<p class="meta">started ', esc(field(rep, "started_at") or "–"),
    field(config, "workload") and (" · workload " .. esc(config.workload)) or "",
    field(config, "mcp_url") and (" · " .. esc(config.mcp_url)) or "",
    field(rep, "merged_from") and (" · merged from " .. esc(num_text(rep.merged_from)) .. " runs") or "",
    '</p><div class="tiles" id="summary">',
  }
  for _, t in ipairs(tiles) do
    out[#out + 1] = format('<div class="tile"><div class="label">%s</div>'
      .. '<div class="value" data-value="%s">%s</div></div>',
      esc(t[1]), esc(exact(t[3])), esc(t[2]))
  end
  out[#out + 1] = "</div>"
  out[#out + 1] = format('<p class="meta">%s iterations · %s dropped · %s script errors</p>',
    esc(num_text(field(res, "iterations"))), esc(num_text(field(res, "dropped_iterations"))),
    esc(num_text(field(res, "script_errors"))))
  local v = type(rep.verdict) == "table" and rep.verdict or nil
  if v and type(v.line) == "string" then
    out[#out + 1] = format('<p class="verdict %s" id="verdict">%s</p>', v.ok and "pass" or "fail",
      esc(v.line))
  end
  out[#out + 1] = "</header>"
  return concat(out)
end

local function thresholds_section(rep)
  local list = type(rep.thresholds) == "table" and rep.thresholds or {}
  if #list == 0 then return '<p class="empty" id="thresholds">No thresholds declared.</p>' end
  local rows = {}
  for i, t in ipairs(list) do
    t = type(t) == "table" and t or {}
    local mark = t.ok == true and "ok" or t.ok == false and "FAIL" or "–"
    rows[i] = { { text = mark, class = "mark" }, field(t, "key"), field(t, "condition"),
      num_cell(field(t, "value")), num_cell(field(t, "bound")), field(t, "message") }
  end
  return html_table("thresholds", { "", "key", "condition", { "value" }, { "bound" }, "message" }, rows,
    function(i)
      local ok = type(list[i]) == "table" and list[i].ok
      return ok == false and "fail" or ok == true and "pass" or nil
    end)
end

local function checks_section(rep)
  local names = tables.sorted_keys(rep.checks)
  if #names == 0 then return '<p class="empty" id="checks">No checks.</p>' end
  local rows, failed = {}, {}
  for i, name in ipairs(names) do
    local c = type(rep.checks[name]) == "table" and rep.checks[name] or {}
    failed[i] = is_num(c.fails) and c.fails > 0
    local rate = field(c, "rate")
    rows[i] = { { text = failed[i] and "FAIL" or "ok", class = "mark" }, name,
      num_cell(field(c, "passes")), num_cell(field(c, "fails")),
      { text = is_num(rate) and format("%.2f %%", rate * 100) or "–", value = exact(rate), class = "num" },
      { text = field(c, "observed") or "", class = "observed" } }
  end
  return html_table("checks", { "", "check", { "passes" }, { "fails" }, { "rate" }, "observed" }, rows,
    function(i) return failed[i] and "fail" or "pass" end)
end

-- The table of a type -> count map of the overall aggregate (error_types:
-- the unexpected errors; expected_types: the expected outcomes).
local function types_section(overall, key, id, title, empty)
  local types = type(overall) == "table" and field(overall, key) or nil
  local keys = tables.sorted_keys(types)
  if #keys == 0 then return '<p class="empty" id="' .. id .. '">' .. empty .. "</p>" end
  local rows = {}
  for i, k in ipairs(keys) do rows[i] = { k, num_cell(types[k]) } end
  return html_table(id, { title, { "count" } }, rows)
end

local function kv_section(id, t, empty)
  local keys = tables.sorted_keys(t)
  if #keys == 0 then return '<p class="empty" id="' .. id .. '">' .. empty .. "</p>" end
  local rows = {}
  for i, k in ipairs(keys) do rows[i] = { k, { text = value_text(t[k]), class = "value" } } end
  return html_table(id, { "key", "value" }, rows)
end

local CSS = [[
:root{--fg:#1d2330;--muted:#5d6678;--line:#d9dee8;--bg:#fff;--soft:#f5f7fb;--ok:#1f7a3d;
--bad:#b42318;--badbg:#fdecea;--p50:#2563eb;--p95:#d97706;--p99:#b42318;--req:#0f766e;--err:#b42318}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:16px 0 6px}
.meta{color:var(--muted);margin:2px 0}
.status{display:inline-block;font-size:13px;padding:2px 10px;border-radius:12px;vertical-align:middle;
color:#fff;background:var(--ok)}
.status.fail{background:var(--bad)}
.status.interrupted{background:#8a5a00}
.verdict{font-weight:600;margin:6px 0 0;color:var(--ok)}
.verdict.fail{color:var(--bad)}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0 6px}
.tile{background:var(--soft);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:150px}
.tile .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile .value{font-size:20px;font-weight:600;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;font-size:13px}
th.num,td.num{text-align:right;white-space:nowrap}
tr.total td{font-weight:600;border-top:2px solid var(--line)}
tr.fail td{background:var(--badbg)}
tr.fail td.mark{color:var(--bad);font-weight:700}
tr.pass td.mark{color:var(--ok)}
td.observed,td.value{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;
word-break:break-all}
.empty{color:var(--muted);font-style:italic}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:16px}
svg.chart{width:100%;height:auto;max-width:560px;background:var(--bg);border:1px solid var(--line);
border-radius:6px}
svg .chart-title{font-size:14px;font-weight:600;fill:var(--fg)}
svg .grid{stroke:#eceff5;stroke-width:1}
svg .axis{fill:none;stroke:#8a93a6;stroke-width:1}
svg .tick-mark{stroke:#8a93a6}
svg .tick{font-size:11px;fill:var(--muted)}
svg .tick.y{text-anchor:end}
svg .tick.x{text-anchor:middle}
svg .axis-label{font-size:12px;fill:var(--fg);text-anchor:middle}
svg .legend-label{font-size:12px;fill:var(--fg)}
svg .series{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
svg .p50{stroke:var(--p50);fill:var(--p50)} svg .p95{stroke:var(--p95);fill:var(--p95)}
svg .p99{stroke:var(--p99);fill:var(--p99)} svg .requests{stroke:var(--req);fill:var(--req)}
svg .errors{stroke:var(--err);fill:var(--err)}
svg path.series{fill:none}
svg path.series.p95{stroke-dasharray:6 3}
svg .swatch{stroke:none}
svg .bar{fill:#6d8fd8;stroke:none}
svg .bar:hover{fill:#2563eb}
details summary{cursor:pointer;color:var(--muted);margin:8px 0}
footer{margin-top:32px;color:var(--muted);font-size:12px}
]]

--- The HTML page of a report table (docs/report.md): a string, the same for
-- the same report. Raises only when `rep` is not a table; missing or odd
-- fields render as "–" or "No data.".
function M.render(rep)
  if type(rep) ~= "table" then
    error("html_report.render: expected a report table, got " .. type(rep), 2)
  end
  local m = type(rep.metrics) == "table" and rep.metrics or {}
  local overall = field(m, "overall")
  local title = "gofr-sim report: " .. tostring(field(rep.config or {}, "scenario") or "run")
  local function split_tp(k)
    local tool, persona = tostring(k):match("^(.*)::(.*)$")
    return { tool or k, persona or "" }
  end
  return concat({
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>" .. esc(title) .. "</title>",
    "<style>" .. CSS .. "</style></head><body><main>",
    header(rep),
    "<section><h2>Thresholds</h2>" .. thresholds_section(rep) .. "</section>",
    "<section><h2>Checks</h2>" .. checks_section(rep) .. "</section>",
    "<section><h2>Over time</h2>" .. charts(rep) .. "</section>",
    "<section><h2>Latency by tool</h2>"
      .. agg_table("by-tool", { "tool" }, field(m, "by_tool"), function(k) return { k } end, overall)
      .. "<h3>Unexpected errors by type</h3>"
      .. types_section(overall, "error_types", "error-types", "error type", "No unexpected errors.")
      .. "<h3>Expected outcomes by type</h3>"
      .. types_section(overall, "expected_types", "expected-types", "outcome", "No expected outcomes.")
      .. "</section>",
    "<section><h2>Latency by persona</h2>"
      .. agg_table("by-persona", { "persona" }, field(m, "by_persona"), function(k) return { k } end)
      .. "</section>",
    "<section><h2>Latency by tool and persona</h2>"
      .. agg_table("by-tool-persona", { "tool", "persona" }, field(m, "by_tool_persona"), split_tp)
      .. "</section>",
    "<section><h2>Configuration</h2>" .. kv_section("config", rep.config, "No configuration.")
      .. "</section>",
    "<section><details><summary>Counters</summary>"
      .. kv_section("counters", rep.counters, "No counters.") .. "</details></section>",
    '<footer>gofr-sim report, schema version ' .. esc(num_text(field(rep, "schema_version")))
      .. ". Times in milliseconds; percentiles from full HDR histograms (docs/report.md).</footer>",
    "</main></body></html>",
    "",
  }, "\n")
end

--- Renders `rep` and writes it to `path` atomically (report/write.lua):
-- true, or nil and a message.
function M.write(path, rep)
  if type(path) ~= "string" or path == "" then
    error("html_report.write: path must be a non-empty string, got " .. tostring(path), 2)
  end
  return write.text(path, M.render(rep))
end

return M
