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
-- chart-errors|chart-personas|chart-tool-latency|chart-tool-throughput|
-- chart-histogram">`, `<path class="series p50|p95|p99|requests|errors|
-- personas|tool t1..t8|workload w1..w8">`, `<path class="bar">`, `<text
-- class="axis-label">`, tables with ids `summary`, `thresholds`, `checks`,
-- `workloads`, `workloads-config`, `by-workload`, `by-tool`, `by-name`,
-- `by-persona`, `by-tool-persona`, `error-types`, `expected-types`, `config`,
-- `counters`; `ul.notes`, `ul.error-samples`, `p.description`; a table cell
-- holding a number carries it unrounded in `data-value`. A section with
-- nothing to show is left out.
local core = require "gofr_sim.core"
local json = require "gofr_sim.util.json"
local tables = require "gofr_sim.util.tables"
local aggregate = require "gofr_sim.report.aggregate"
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
  return "<td" .. attrs .. ">" .. (c.html or esc(c.text)) .. "</td>"
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
    local a = map[k]
    if type(a) == "table" and is_num(field(a, "count")) then rows[#rows + 1] = agg_cells(split(k), a) end
  end
  if #rows == 0 then return "" end -- no section
  if overall then
    local row = { "all" }
    for _ = 2, #names do row[#row + 1] = "" end
    rows[#rows + 1] = agg_cells(row, overall)
  end
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

-- Ticks from 0 to the first multiple of step at or above top (whole
-- numbers only when `whole`: counts of personas).
local function linear_ticks(top, n, whole)
  local step = nice_step(top, n)
  if whole then step = max(1, ceil(step)) end
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
  local h = opts.height or H -- taller with a legend below the plot
  local x0, x1 = PAD.left, W - PAD.right
  local y0, y1 = H - PAD.bottom, PAD.top
  local out = {
    format('<svg class="chart" id="%s" viewBox="0 0 %d %d" '
      .. 'width="%d" height="%d" role="img" aria-label="%s">', esc(opts.id), W, h, W, h, esc(opts.title)),
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

-- A time since the start as an axis label: "45s", "1m30s", "2m", "1h05m".
local function elapsed_text(v)
  if v < 60 then return tick_text(v) .. "s" end
  if v < 3600 then
    local m, sec = floor(v / 60), v - 60 * floor(v / 60)
    return sec > 0 and format("%dm%ss", m, tick_text(sec)) or format("%dm", m)
  end
  local hours, m = floor(v / 3600), floor((v % 3600) / 60)
  return m > 0 and format("%dh%02dm", hours, m) or format("%dh", hours)
end

-- A tick step for a time axis of `span` seconds: whole seconds, minutes past 2 minutes.
local function time_step(span)
  if span <= 120 then return max(1, nice_step(span, 8)) end
  local step = nice_step(span / 60, 8) * 60
  return max(60, floor(step / 60 + 0.5) * 60)
end

local LEGEND_BELOW = 3 -- more series than this: the legend goes under the plot, in two columns
local LEGEND_NAME = 10 -- or a name longer than this (a top-right slot is 84 units wide)
local LEGEND_ROW = 16

-- At most n characters of a legend name.
local function short(name, n)
  name = tostring(name)
  if #name <= n then return name end
  return name:sub(1, n - 1) .. "…"
end

--- A line chart over seconds. spec = {id=, title=, y_label=, unit= (of a
-- value, for the hover text), whole= (whole-number ticks), series={{name=,
-- class=, values={[i]=number|nil}}}, seconds={[i]=second}}: one point per
-- second; a nil value breaks the line. The legend is top right for a few
-- short names, else under the plot.
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
  local yt = linear_ticks(top > 0 and top or 1, 5, spec.whole)
  local ymax = yt[#yt]
  local y_ticks, x_ticks = {}, {}
  for _, v in ipairs(yt) do y_ticks[#y_ticks + 1] = { pos = v / ymax, text = tick_text(v) } end
  local xstep = time_step(xspan)
  for v = 0, xspan + 1e-9, xstep do
    x_ticks[#x_ticks + 1] = { pos = v / xspan, text = elapsed_text(first + v) }
  end
  local below = #spec.series > LEGEND_BELOW
  for _, s in ipairs(spec.series) do below = below or #tostring(s.name) > LEGEND_NAME end
  local rows = below and ceil(#spec.series / 2) or 0
  local out, x0, x1, y0, y1 = frame {
    id = spec.id, title = spec.title, x_label = "time since the start of the run",
    y_label = spec.y_label, x_ticks = x_ticks, y_ticks = y_ticks,
    height = below and (H + rows * LEGEND_ROW + 6) or nil,
  }
  local unit = spec.unit and (" " .. spec.unit) or ""
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
            .. '<title>%s at %s: %s%s</title></circle>',
            esc(s.class), px(p.x), px(p.y), esc(s.name), elapsed_text(p.s), esc(num_text(p.v)), esc(unit))
        end
      end
    end
    local lx, ly
    if below then -- two columns under the x axis label
      local col, row = (k - 1) % 2, floor((k - 1) / 2)
      lx, ly = x0 + col * (x1 - x0) / 2, H + row * LEGEND_ROW
    else -- top right
      lx, ly = x1 - 84 * (#spec.series - k + 1) + 10, 10
    end
    out[#out + 1] = format('<g class="legend"><rect class="swatch %s" x="%s" y="%s" width="12" height="10"/>'
      .. '<text class="legend-label" x="%s" y="%s">%s<title>%s</title></text></g>',
      esc(s.class), px(lx), px(ly), px(lx + 16), px(ly + 9), esc(below and short(s.name, 36) or s.name),
      esc(s.name))
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

M.MAX_TOOLS_CHARTED = 8

-- The tools of timeseries_by_tool to chart: the M.MAX_TOOLS_CHARTED with the
-- most requests (ties by name), as {name=, by_second={[second]=entry}}.
local function charted_tools(by_tool)
  local list = {}
  for _, tool in ipairs(tables.sorted_keys(by_tool)) do
    local entries = by_tool[tool]
    if type(entries) == "table" then
      local t = { name = tool, total = 0, by_second = {} }
      for _, e in ipairs(entries) do
        if type(e) == "table" and is_num(field(e, "second")) then
          t.by_second[e.second] = e
          t.total = t.total + (is_num(field(e, "requests")) and e.requests or 0)
        end
      end
      if t.total > 0 then list[#list + 1] = t end
    end
  end
  table.sort(list, function(a, b)
    if a.total ~= b.total then return a.total > b.total end
    return a.name < b.name
  end)
  for i = M.MAX_TOOLS_CHARTED + 1, #list do list[i] = nil end
  return list
end

-- The per-tool charts: p95 latency and requests/s of the busiest tools, on
-- the run's seconds (a second a tool had no request in: 0 requests, no p95).
local function tool_charts(rep, seconds)
  local tools = charted_tools(type(rep.timeseries_by_tool) == "table" and rep.timeseries_by_tool or {})
  if #tools == 0 or #seconds == 0 then return "" end
  local lat, thr = {}, {}
  for k, t in ipairs(tools) do
    local p95, reqs = {}, {}
    for i, s in ipairs(seconds) do
      local e = t.by_second[s]
      p95[i] = e and field(e, "p95_ms")
      reqs[i] = e and field(e, "requests") or 0
    end
    local cls = "tool t" .. k
    lat[k] = { name = t.name, class = cls, values = p95 }
    thr[k] = { name = t.name, class = cls, values = reqs }
  end
  local n = #tools
  local of = n > 1 and format(" (%s)", n == M.MAX_TOOLS_CHARTED and "the " .. n .. " busiest tools"
    or n .. " tools") or ""
  return line_chart { id = "chart-tool-latency", title = "p95 latency by tool" .. of,
      y_label = "p95 latency (ms)", unit = "ms", seconds = seconds, series = lat }
    .. line_chart { id = "chart-tool-throughput", title = "Throughput by tool" .. of,
      y_label = "requests/s", unit = "req/s", seconds = seconds, series = thr }
end

M.MAX_WORKLOADS_CHARTED = 8

-- The personas chart: the total per second and, when the seconds have
-- personas_by_workload (by[i]), a line per workload (the first
-- M.MAX_WORKLOADS_CHARTED of `names`, then of any other names the seconds
-- hold); "" when nothing was sampled.
local function personas_chart(seconds, personas, by, names)
  local lines, seen = {}, {}
  local function add(name)
    if seen[name] or #lines >= M.MAX_WORKLOADS_CHARTED then return end
    seen[name] = true
    local values, any = {}, false
    for i = 1, #seconds do
      local v = type(by[i]) == "table" and field(by[i], name) or nil
      values[i] = is_num(v) and v or nil
      any = any or values[i] ~= nil
    end
    if any then lines[#lines + 1] = { name = name, class = "workload w" .. (#lines + 1), values = values } end
  end
  for _, name in ipairs(names) do add(name) end
  for i = 1, #seconds do
    for _, name in ipairs(tables.sorted_keys(by[i])) do add(name) end
  end
  local any_total = false
  for i = 1, #seconds do any_total = any_total or is_num(personas[i]) end
  if not any_total and #lines == 0 then return "" end
  local series = { { name = #lines > 0 and "all workloads" or "personas", class = "personas",
    values = personas } }
  for _, l in ipairs(lines) do series[#series + 1] = l end
  return line_chart { id = "chart-personas", title = #lines > 0 and "Personas at work, by workload"
      or "Personas at work", y_label = "personas", unit = "personas", seconds = seconds, whole = true,
    series = series }
end

-- The charts of a report: latency, throughput, errors, personas (when the
-- run sampled them; by workload for named workloads, in the order of
-- `names`), per tool (when it has timeseries_by_tool), histogram.
local function charts(rep, names)
  local ts = type(rep.timeseries) == "table" and rep.timeseries or {}
  local seconds, p50, p95, p99, reqs, errs, personas, by = {}, {}, {}, {}, {}, {}, {}, {}
  for _, e in ipairs(ts) do
    if type(e) == "table" and is_num(field(e, "second")) then
      local i = #seconds + 1
      seconds[i] = e.second
      p50[i], p95[i], p99[i] = field(e, "p50_ms"), field(e, "p95_ms"), field(e, "p99_ms")
      reqs[i], errs[i] = field(e, "requests"), field(e, "errors")
      personas[i], by[i] = field(e, "personas"), field(e, "personas_by_workload")
    end
  end
  local overall = type(rep.metrics) == "table" and field(rep.metrics, "overall") or nil
  return concat {
    '<div class="charts">',
    line_chart { id = "chart-latency", title = "Latency percentiles", y_label = "latency (ms)",
      unit = "ms", seconds = seconds, series = {
        { name = "p50", class = "p50", values = p50 },
        { name = "p95", class = "p95", values = p95 },
        { name = "p99", class = "p99", values = p99 } } },
    line_chart { id = "chart-requests", title = "Throughput", y_label = "requests/s", unit = "req/s",
      seconds = seconds, series = { { name = "requests/s", class = "requests", values = reqs } } },
    line_chart { id = "chart-errors", title = "Errors", y_label = "errors/s", unit = "errors/s",
      seconds = seconds, series = { { name = "errors/s", class = "errors", values = errs } } },
    personas_chart(seconds, personas, by, names),
    tool_charts(rep, seconds),
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

-- The report's notes (a scenario's one-line remarks on its numbers).
local function notes_list(rep)
  local notes = type(rep.notes) == "table" and rep.notes or {}
  local items = {}
  for _, n in ipairs(notes) do
    if type(n) == "string" and n ~= "" then items[#items + 1] = "<li>" .. esc(n) .. "</li>" end
  end
  if #items == 0 then return "" end
  return '<ul class="notes" id="notes">' .. concat(items) .. "</ul>"
end

local function header(rep, names)
  local config = type(rep.config) == "table" and rep.config or {}
  local res = type(rep.result) == "table" and rep.result or {}
  local overall = type(rep.metrics) == "table" and field(rep.metrics, "overall") or {}
  local name = field(config, "scenario") or "gofr-sim run"
  local status, status_text = status_of(rep)
  local interrupted = rep.interrupted == true or res.interrupted == true
  local function unit(text) return function(v) return num_text(v) .. " " .. text end end
  -- {label, value, text(value)}: a tile without a number is left out
  local tiles = {
    { "duration", field(res, "duration_seconds"), seconds_text },
    { "requests", field(res, "request_count"), num_text },
    { "errors", field(res, "error_count"), num_text },
    { "expected", field(res, "expected_count"), num_text },
    { "error rate", field(overall, "error_rate_pct"), unit("%") },
    { "throughput", field(res, "throughput_rps"), unit("req/s") },
    { "p95", field(overall, "p95_ms"), function(v) return ms_text(v) .. " ms" end },
    { "personas max", field(res, "personas_max"), num_text },
    { "iterations", field(res, "iterations"), num_text },
  }
  local signal = field(res, "signal")
  local meta = {}
  meta[#meta + 1] = field(rep, "started_at") and ("started " .. esc(rep.started_at)) or nil
  if #names > 0 then
    meta[#meta + 1] = "workloads " .. esc(concat(names, ", "))
  elseif field(config, "workload") then
    meta[#meta + 1] = "workload " .. esc(value_text(config.workload))
  end
  meta[#meta + 1] = field(config, "mcp_url") and esc(value_text(config.mcp_url)) or nil
  meta[#meta + 1] = is_num(field(rep, "merged_from")) and ("merged from " .. esc(num_text(rep.merged_from))
    .. " runs") or nil
  local out = {
    '<header><h1>', esc(name), ' <span class="status ', status, '" id="status">', esc(status_text),
    "</span>",
    interrupted and (' <span class="status interrupted">INTERRUPTED'
      .. ((type(signal) == "string" and signal ~= "") and (" by " .. esc(signal)) or "")
      .. "</span>") or "",
    "</h1>",
    type(field(config, "description")) == "string" and config.description ~= ""
      and ('<p class="description">' .. esc(config.description) .. "</p>") or "",
    #meta > 0 and ('<p class="meta">' .. concat(meta, " · ") .. "</p>") or "",
    '<div class="tiles" id="summary">',
  }
  for _, t in ipairs(tiles) do
    if is_num(t[2]) then
      out[#out + 1] = format('<div class="tile"><div class="label">%s</div>'
        .. '<div class="value" data-value="%s">%s</div></div>',
        esc(t[1]), esc(exact(t[2])), esc(t[3](t[2])))
    end
  end
  out[#out + 1] = "</div>"
  local counts = {}
  for _, c in ipairs { { "dropped_iterations", "dropped iterations" },
                       { "script_errors", "script errors" } } do
    local v = field(res, c[1])
    if is_num(v) and v > 0 then counts[#counts + 1] = esc(num_text(v) .. " " .. c[2]) end
  end
  if #counts > 0 then out[#out + 1] = '<p class="meta warn">' .. concat(counts, " · ") .. "</p>" end
  local v = type(rep.verdict) == "table" and rep.verdict or nil
  if v and type(v.line) == "string" then
    out[#out + 1] = format('<p class="verdict %s" id="verdict">%s</p>', v.ok and "pass" or "fail",
      esc(v.line))
  end
  out[#out + 1] = notes_list(rep)
  out[#out + 1] = "</header>"
  return concat(out)
end

local function thresholds_section(rep)
  local list = type(rep.thresholds) == "table" and rep.thresholds or {}
  if #list == 0 then return "" end -- no section
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
  if #names == 0 then return "" end -- no section
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
-- the unexpected errors; expected_types: the expected outcomes), with each
-- type's sampled messages (samples: the report's error_samples) when it has
-- any; "" when there are no types.
local function types_section(overall, key, id, title, samples)
  local types = type(overall) == "table" and field(overall, key) or nil
  local keys = tables.sorted_keys(types)
  if #keys == 0 then return "" end
  samples = type(samples) == "table" and samples or {}
  local any = false
  for _, k in ipairs(keys) do any = any or (type(samples[k]) == "table" and #samples[k] > 0) end
  local rows = {}
  for i, k in ipairs(keys) do
    rows[i] = { k, num_cell(types[k]) }
    if any then
      local items = {}
      for _, m in ipairs(type(samples[k]) == "table" and samples[k] or {}) do
        items[#items + 1] = "<li>" .. esc(m) .. "</li>"
      end
      rows[i][3] = { class = "samples",
        html = #items > 0 and ('<ul class="error-samples">' .. concat(items) .. "</ul>") or "" }
    end
  end
  return html_table(id, any and { title, { "count" }, "sampled messages" } or { title, { "count" } }, rows)
end

-- Bytes as text with a binary unit: "512 B", "1.5 KiB", "3.20 MiB".
local function bytes_text(v)
  return aggregate.bytes_text(v) or "–"
end

-- "2s → 3, 1m → 10" of config.stages ([{duration_seconds=, target=}]), the
-- target named by the workload: personas (closed), else iterations/s.
local function stages_text(stages, workload)
  local what = workload == "closed" and " personas" or " iterations/s"
  local parts = {}
  for _, st in ipairs(stages) do
    if type(st) ~= "table" or not is_num(field(st, "duration_seconds"))
      or not is_num(field(st, "target")) then
      return nil
    end
    parts[#parts + 1] = elapsed_text(st.duration_seconds) .. " → " .. num_text(st.target) .. what
  end
  return concat(parts, ", ")
end

-- A config value with its unit, from its key's name.
local function config_text(k, v, config)
  if k == "stages" and type(v) == "table" then
    local text = stages_text(v, field(config, "workload"))
    if text then return text end
  end
  if is_num(v) then
    if k:match("_seconds$") or k == "timeout" or k == "grace" or k == "max_lateness" then
      return seconds_text(v)
    end
    if k:match("_per_sec$") then return num_text(v) .. " /s" end
    if k == "rate" then return num_text(v) .. " /s" end
    if k:match("bytes") then return bytes_text(v) end
  end
  return value_text(v)
end

-- The configuration: every key with a value (null ones left out; the
-- named workloads' settings, config.workloads, are the workloads section's).
local function config_section(config)
  config = type(config) == "table" and config or {}
  local rows = {}
  for _, k in ipairs(tables.sorted_keys(config)) do
    local v = config[k]
    if v ~= nil and v ~= NULL and v ~= "" and not (k == "workloads" and type(v) == "table") then
      rows[#rows + 1] = { k, { text = config_text(tostring(k), v, config), class = "value",
        value = is_num(v) and exact(v) or nil } }
    end
  end
  if #rows == 0 then return "" end
  return html_table("config", { "key", "value" }, rows)
end

-- The counters; one counting bytes (its key names them) is shown in B/KiB/MiB.
local function counters_section(counters)
  counters = type(counters) == "table" and counters or {}
  local rows = {}
  for _, k in ipairs(tables.sorted_keys(counters)) do
    local v = counters[k]
    if v ~= nil and v ~= NULL then
      local text = tostring(k):match("bytes") and bytes_text(v) or value_text(v)
      rows[#rows + 1] = { k, { text = text, class = "value num", value = exact(v) } }
    end
  end
  if #rows == 0 then return "" end
  return html_table("counters", { "counter", { "value" } }, rows)
end

-- Series without a tool (metrics.by_name): the iterations first — their
-- duration from the intended start (coordinated omission corrected) and
-- their service time — then the scenario's own.
local ITERATION_NAMES = { iteration = "iteration duration (from its intended start)",
  ["iteration.service"] = "iteration service time (from its actual start)" }

local function by_name_section(by_name)
  by_name = type(by_name) == "table" and by_name or {}
  local head = { "series" }
  for _, h in ipairs(AGG_HEADER) do head[#head + 1] = h end
  local rows = {}
  local function add(k, label)
    local a = by_name[k]
    if type(a) == "table" and is_num(field(a, "count")) and a.count > 0 then
      rows[#rows + 1] = agg_cells({ { text = label, class = "name", value = k } }, a)
    end
  end
  add("iteration", ITERATION_NAMES.iteration)
  add("iteration.service", ITERATION_NAMES["iteration.service"])
  for _, k in ipairs(tables.sorted_keys(by_name)) do
    if not ITERATION_NAMES[k] then add(k, k) end
  end
  if #rows == 0 then return "" end
  return html_table("by-name", head, rows)
end

-- The names of a run's named workloads (config.workloads and the
-- workloads section, docs/report.md) by start — when it started
-- (workloads[name].started_seconds), else its configured start_seconds —
-- then name; {} for a run without named workloads.
local function workload_names(rep)
  local run, config = field(rep, "workloads"), field(field(rep, "config"), "workloads")
  run, config = type(run) == "table" and run or {}, type(config) == "table" and config or {}
  local names, start = {}, {}
  local function note(name, v) -- the first start known wins; none: last
    if start[name] == nil then names[#names + 1], start[name] = name, huge end
    if start[name] == huge and is_num(v) then start[name] = v end
  end
  for _, name in ipairs(tables.sorted_keys(run)) do note(name, field(run[name], "started_seconds")) end
  for _, name in ipairs(tables.sorted_keys(config)) do note(name, field(config[name], "start_seconds")) end
  table.sort(names, function(a, b)
    if start[a] ~= start[b] then return start[a] < start[b] end
    return tostring(a) < tostring(b)
  end)
  return names
end

-- "k=v, k2=v2" of a table (tags, tasks' weights), keys sorted; nil when empty.
local function pairs_text(t)
  local parts = {}
  for _, k in ipairs(tables.sorted_keys(t)) do
    if t[k] ~= NULL then parts[#parts + 1] = tostring(k) .. "=" .. value_text(t[k]) end
  end
  return #parts > 0 and concat(parts, ", ") or nil
end

-- A table of one row per name: columns = {{title, num= (right-aligned),
-- cell=function(name) -> cell or nil (no value: the text `missing`)}}; a
-- column without a value in any row is left out. "" when there are no names.
local function column_table(id, names, columns, missing)
  if #names == 0 then return "" end
  local kept, rows = {}, {}
  for _, col in ipairs(columns) do
    local cells, any = {}, false
    for i, name in ipairs(names) do
      cells[i] = col.cell(name)
      any = any or cells[i] ~= nil
    end
    if any then kept[#kept + 1] = { col = col, cells = cells } end
  end
  local head = {}
  for k, c in ipairs(kept) do
    head[k] = c.col.num and { c.col[1] } or c.col[1]
    for i = 1, #names do
      rows[i] = rows[i] or {}
      rows[i][k] = c.cells[i] or { text = missing, class = c.col.num and "num" or nil }
    end
  end
  return html_table(id, head, rows)
end

local function seconds_cell(v) return { text = seconds_text(v), value = exact(v), class = "num" } end

-- `cell(v)` of a value, nil when there is none (column_table leaves it out).
local function maybe(v, cell)
  if v == nil or v == NULL then return nil end
  return cell(v)
end

-- What each named workload did (the report's workloads and
-- metrics.by_workload), one row per workload in `names`' order; "" when the
-- report has no workloads section.
local function workloads_table(rep, names)
  local run = field(rep, "workloads")
  if type(run) ~= "table" then return "" end
  local by_workload = field(field(rep, "metrics"), "by_workload")
  local listed = {}
  for _, name in ipairs(names) do
    if type(run[name]) == "table" then listed[#listed + 1] = name end
  end
  local function w(name, k) return field(run[name], k) end
  local function num_of(k) return function(name) return maybe(w(name, k), num_cell) end end
  local function request_ms(k)
    return function(name) return maybe(field(field(by_workload, name), k), ms_cell) end
  end
  return column_table("workloads", listed, {
    { "workload", cell = function(name) return { text = name, class = "name" } end },
    { "model", cell = function(name) return maybe(w(name, "workload"), value_text) end },
    { "start", num = true, cell = function(name) return maybe(w(name, "started_seconds"), seconds_cell) end },
    { "duration", num = true,
      cell = function(name) return maybe(w(name, "duration_seconds"), seconds_cell) end },
    { "personas max", num = true, cell = num_of("personas_max") },
    { "iterations", num = true, cell = num_of("iterations") },
    { "dropped", num = true, cell = num_of("dropped_iterations") },
    { "requests", num = true, cell = num_of("request_count") },
    { "errors", num = true, cell = num_of("error_count") },
    { "expected", num = true, cell = function(name) -- only when a workload had expected outcomes
      local v = w(name, "expected_count")
      return is_num(v) and v > 0 and num_cell(v) or nil
    end },
    { "req/s", num = true, cell = num_of("throughput_rps") },
    { "p50 ms", num = true, cell = request_ms("p50_ms") },
    { "p95 ms", num = true, cell = request_ms("p95_ms") },
    { "iteration p95 ms", num = true,
      cell = function(name) return maybe(field(w(name, "iteration"), "p95_ms"), ms_cell) end },
  }, "–")
end

-- The columns of config.workloads' entries, in order: {key, title, numeric}
-- (numeric: right-aligned); other keys follow by name.
local WORKLOAD_SETTINGS = {
  { "workload", "model" }, { "start_seconds", "start", true }, { "duration_seconds", "duration", true },
  { "total_requests", "requests", true }, { "consumers", "personas", true },
  { "rate_per_consumer_per_sec", "rate per persona", true }, { "arrival_rate_per_sec", "arrival rate", true },
  { "max_personas", "max personas", true }, { "max_lateness_seconds", "max lateness", true },
  { "stages", "stages" }, { "tags", "tags" }, { "tasks", "tasks (weight)" }, { "mix_file", "mix file" },
}

-- How each named workload was configured (config.workloads), one row per
-- workload in `names`' order, values with their units as in the
-- configuration section (stages in personas or iterations/s by the
-- workload's model, tags and tasks as k=v); "" without config.workloads.
local function workloads_config_table(rep, names)
  local config = field(field(rep, "config"), "workloads")
  if type(config) ~= "table" then return "" end
  local listed, known, columns = {}, {}, {}
  for _, name in ipairs(names) do
    if type(config[name]) == "table" then listed[#listed + 1] = name end
  end
  local function setting(key, title, numeric)
    known[key] = true
    columns[#columns + 1] = { title, num = numeric,
      cell = function(name)
        local w = config[name]
        local v = field(w, key)
        if v == nil or v == "" then return nil end
        local text = (key == "tags" or key == "tasks") and type(v) == "table" and pairs_text(v)
          or config_text(key, v, w)
        if text == nil then return nil end
        return { text = text, value = is_num(v) and exact(v) or nil, class = is_num(v) and "num" or nil }
      end }
  end
  for _, s in ipairs(WORKLOAD_SETTINGS) do setting(s[1], s[2], s[3]) end
  local others = {}
  for _, name in ipairs(listed) do
    for _, k in ipairs(tables.sorted_keys(config[name])) do
      if not known[k] then others[#others + 1] = tostring(k); known[k] = true end
    end
  end
  table.sort(others)
  for _, k in ipairs(others) do setting(k, k) end
  table.insert(columns, 1, { "workload", cell = function(name) return { text = name, class = "name" } end })
  return column_table("workloads-config", listed, columns, "") -- not set: blank
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
.description{margin:2px 0 4px;font-size:15px}
.meta.warn{color:#8a5a00}
ul.notes{margin:10px 0 0;padding:8px 14px 8px 30px;background:#fff8e6;border:1px solid #f1d9a0;
border-radius:6px}
ul.error-samples{margin:0;padding-left:18px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;
font-size:12px;word-break:break-all}
td.samples{width:60%}
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
svg .personas{stroke:#7c3aed;fill:#7c3aed}
svg .t1{stroke:#2563eb;fill:#2563eb} svg .t2{stroke:#d97706;fill:#d97706} svg .t3{stroke:#0f766e;fill:#0f766e}
svg .t4{stroke:#b42318;fill:#b42318} svg .t5{stroke:#7c3aed;fill:#7c3aed} svg .t6{stroke:#64748b;fill:#64748b}
svg .t7{stroke:#db2777;fill:#db2777} svg .t8{stroke:#65a30d;fill:#65a30d}
svg .w1{stroke:#2563eb;fill:#2563eb} svg .w2{stroke:#d97706;fill:#d97706} svg .w3{stroke:#0f766e;fill:#0f766e}
svg .w4{stroke:#b42318;fill:#b42318} svg .w5{stroke:#0891b2;fill:#0891b2} svg .w6{stroke:#64748b;fill:#64748b}
svg .w7{stroke:#db2777;fill:#db2777} svg .w8{stroke:#65a30d;fill:#65a30d}
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
  -- a section with nothing to show is left out, heading and all
  local function section(heading, body)
    if body == nil or body == "" then return "" end
    return "<section><h2>" .. esc(heading) .. "</h2>" .. body .. "</section>"
  end
  local function sub(heading, body)
    if body == "" then return "" end
    return "<h3>" .. esc(heading) .. "</h3>" .. body
  end
  local names = workload_names(rep)
  local by_tool = agg_table("by-tool", { "tool" }, field(m, "by_tool"), function(k) return { k } end, overall)
  if by_tool == "" then by_tool = '<p class="empty" id="by-tool">No requests.</p>' end
  local counters = counters_section(rep.counters)
  return concat({
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    "<title>" .. esc(title) .. "</title>",
    "<style>" .. CSS .. "</style></head><body><main>",
    header(rep, names),
    section("Thresholds", thresholds_section(rep)),
    section("Checks", checks_section(rep)),
    section("Workloads", workloads_table(rep, names)
      .. sub("Settings", workloads_config_table(rep, names))
      .. sub("Latency by workload",
        agg_table("by-workload", { "workload" }, field(m, "by_workload"), function(k) return { k } end))),
    section("Over time", charts(rep, names)),
    section("Latency by tool", by_tool
      .. sub("Unexpected errors by type", types_section(overall, "error_types", "error-types", "error type",
        rep.error_samples))
      .. sub("Expected outcomes by type",
        types_section(overall, "expected_types", "expected-types", "outcome"))),
    section("Iterations and other series", by_name_section(field(m, "by_name"))),
    section("Latency by persona",
      agg_table("by-persona", { "persona" }, field(m, "by_persona"), function(k) return { k } end)),
    section("Latency by tool and persona",
      agg_table("by-tool-persona", { "tool", "persona" }, field(m, "by_tool_persona"), split_tp)),
    section("Configuration", config_section(rep.config)),
    counters ~= ""
      and ("<section><details><summary>Counters</summary>" .. counters .. "</details></section>") or "",
    "<footer>gofr-sim report" .. (is_num(field(rep, "schema_version"))
      and (", schema version " .. esc(num_text(rep.schema_version))) or "")
      .. ". Latencies in milliseconds; percentiles from full HDR histograms; per-second values from"
      .. " per-second summaries (docs/report.md).</footer>",
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
