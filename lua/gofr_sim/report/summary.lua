--- gofr_sim.report.summary: the plain-text summary of a report for the
-- terminal (docs/report.md, "Summary"): the verdict line, the totals (with
-- the iterations' duration and service time, a line per named workload,
-- and sampled messages of each error type), latency by tool, by named
-- workload and by persona in aligned columns (min, avg,
-- percentiles, max), then thresholds and checks, then the verdict line
-- again. Errors are the unexpected ones; expected outcomes have their own
-- counts. A run prints it when it ends; `gofr-sim merge -o` prints the
-- merged report's.
--
--   local summary = require "gofr_sim.report.summary"
--   io.write(summary.text(rep))
local tables = require "gofr_sim.util.tables"
local build = require "gofr_sim.report.build"
local aggregate = require "gofr_sim.report.aggregate"

local type, ipairs, tostring, error = type, ipairs, tostring, error
local format, rep, concat = string.format, string.rep, table.concat
local floor, max = math.floor, math.max

local M = {}

local NULL = build.null

local function cell(v)
  if v == nil or v == NULL then return "-" end
  if type(v) == "number" then
    if v == floor(v) and v < 1e15 then return format("%d", v) end
    return format("%.2f", v)
  end
  return tostring(v)
end

-- Aligned columns: columns 1..left are left-aligned, the others right-aligned, except the
-- last one when last_left is set (free text such as a check's observation).
local function table_text(rows, left, last_left)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, c in ipairs(row) do widths[i] = max(widths[i] or 0, #c) end
  end
  local lines = {}
  for _, row in ipairs(rows) do
    local parts = {}
    for i, c in ipairs(row) do
      local to_left = i <= left or (last_left and i == #row)
      parts[i] = to_left and (c .. rep(" ", widths[i] - #c)) or (rep(" ", widths[i] - #c) .. c)
    end
    lines[#lines + 1] = ("  " .. concat(parts, "  ")):gsub(" +$", "")
  end
  return concat(lines, "\n")
end

local function number_text(v)
  if type(v) ~= "number" then return cell(v) end
  return format("%.6g", v)
end

local function cell_ms(v)
  if type(v) ~= "number" then return "-" end
  return format("%.2f", v)
end

local LATENCY_KEYS = { "min_ms", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms" }
local LATENCY_HEADS = { "min ms", "avg ms", "p50 ms", "p95 ms", "p99 ms", "max ms" }

-- One row; the "expected" column only when the run had expected outcomes.
local function agg_row(name, a, with_expected)
  local row = { name, cell(a.count), cell(a.error_count) }
  if with_expected then row[#row + 1] = cell(a.expected_count or 0) end
  for _, k in ipairs(LATENCY_KEYS) do row[#row + 1] = cell_ms(a[k]) end
  return row
end

local function agg_table_text(title, map, overall, with_expected)
  local rows = { { title, "count", "errors" } }
  if with_expected then rows[1][#rows[1] + 1] = "expected" end
  for _, h in ipairs(LATENCY_HEADS) do rows[1][#rows[1] + 1] = h end
  for _, k in ipairs(tables.sorted_keys(map)) do rows[#rows + 1] = agg_row(k, map[k], with_expected) end
  if overall then rows[#rows + 1] = agg_row("all", overall, with_expected) end
  return table_text(rows, 1)
end

-- "auth_error 5, robots_blocked 12" of a type -> count map, or nil when empty.
local function types_line(types)
  local names = tables.sorted_keys(types)
  if #names == 0 then return nil end
  for i, t in ipairs(names) do names[i] = ("%s %s"):format(t, cell(types[t])) end
  return concat(names, ", ")
end

local function bytes_text(n)
  return aggregate.bytes_text(n) or "-"
end

-- " (p50 12.30 ms, p95 40.00 ms)" of an AGG with samples, else "".
local function duration_text(what, a)
  if type(a) ~= "table" or type(a.p50_ms) ~= "number" then return "" end
  return (", %s p50 %s ms, p95 %s ms"):format(what, cell_ms(a.p50_ms), cell_ms(a.p95_ms))
end

-- The sampled messages of each error type, indented under "errors by type".
local function sample_lines(out, samples, types)
  if type(samples) ~= "table" then return end
  for _, t in ipairs(tables.sorted_keys(types)) do
    local list = samples[t]
    if type(list) == "table" then
      for _, msg in ipairs(list) do out[#out + 1] = ("  %s: %s"):format(t, tostring(msg)) end
    end
  end
end

-- The names of a report's workloads section, by start then name.
local function workload_names(workloads)
  local names = tables.sorted_keys(workloads)
  local function start(n)
    local v = type(workloads[n]) == "table" and workloads[n].started_seconds
    return type(v) == "number" and v or math.huge
  end
  table.sort(names, function(a, b)
    if start(a) ~= start(b) then return start(a) < start(b) end
    return a < b
  end)
  return names
end

-- One line per named workload: "workload spike (ramping-arrival-rate, from
-- 10.0s for 5.00s): 59 iterations, 0 dropped, personas max 6, duration ...".
local function workload_lines(out, workloads)
  if type(workloads) ~= "table" then return end
  for _, name in ipairs(workload_names(workloads)) do
    local w = workloads[name]
    if type(w) == "table" then
      local when = type(w.started_seconds) == "number"
        and (", from %.1fs for %ss"):format(w.started_seconds, cell(w.duration_seconds)) or ", not started"
      out[#out + 1] = ("workload %s (%s%s): %s iterations, %s dropped, personas max %s, %s requests, "
        .. "%s errors%s%s"):format(name, cell(w.workload), when, cell(w.iterations),
          cell(w.dropped_iterations), cell(w.personas_max), cell(w.request_count), cell(w.error_count),
          duration_text("duration", w.iteration), duration_text("service", w.iteration_service))
    end
  end
end

--- The summary of report table tbl (built, merged or decoded), as lines
-- ending in a newline.
function M.text(tbl)
  if type(tbl) ~= "table" then
    error("report.summary: expected a report table, got " .. type(tbl), 2)
  end
  local out = {}
  local res, m = tbl.result or {}, tbl.metrics or {}
  local v = tbl.verdict
  if type(v) == "table" and type(v.line) == "string" then
    out[#out + 1] = v.line
    out[#out + 1] = ""
  end
  local signal = type(res.signal) == "string" and res.signal ~= "" and (" by " .. res.signal) or ""
  local expected = type(res.expected_count) == "number" and res.expected_count or 0
  out[#out + 1] = ("%s requests, %s in %ss (%s req/s)%s"):format(
    cell(res.request_count),
    expected > 0 and (cell(res.error_count) .. " unexpected errors, " .. cell(expected) .. " expected")
      or (cell(res.error_count) .. " errors"),
    cell(res.duration_seconds),
    cell(res.throughput_rps), tbl.interrupted == true and (", interrupted" .. signal) or "")
  if type(res.data_received_bytes) == "number" then
    local secs = type(res.duration_seconds) == "number" and res.duration_seconds or 0
    out[#out + 1] = ("data received %s%s, sent %s"):format(bytes_text(res.data_received_bytes),
      secs > 0 and (" (" .. bytes_text(res.data_received_bytes / secs) .. "/s)") or "",
      bytes_text(res.data_sent_bytes))
  end
  local by_name = m.by_name or {}
  local personas = type(res.personas_max) == "number" and (", personas max " .. cell(res.personas_max)) or ""
  out[#out + 1] = ("%s iterations, %s dropped, %s script errors%s%s%s"):format(
    cell(res.iterations), cell(res.dropped_iterations), cell(res.script_errors), personas,
    duration_text("duration", by_name.iteration), duration_text("service", by_name["iteration.service"]))
  workload_lines(out, tbl.workloads)
  local overall = m.overall or {}
  local errors_text, expected_text = types_line(overall.error_types), types_line(overall.expected_types)
  if errors_text then
    out[#out + 1] = (expected > 0 and "unexpected errors by type: " or "errors by type: ") .. errors_text
    sample_lines(out, tbl.error_samples, overall.error_types)
  end
  if expected_text then out[#out + 1] = "expected by type: " .. expected_text end
  for _, note in ipairs(type(tbl.notes) == "table" and tbl.notes or {}) do
    out[#out + 1] = "note: " .. tostring(note)
  end
  if (overall.count or 0) > 0 then
    out[#out + 1] = ""
    out[#out + 1] = agg_table_text("tool", m.by_tool, overall, expected > 0)
    if type(m.by_workload) == "table" then
      out[#out + 1] = ""
      out[#out + 1] = agg_table_text("workload", m.by_workload, nil, expected > 0)
    end
    out[#out + 1] = ""
    out[#out + 1] = agg_table_text("persona", m.by_persona, nil, expected > 0)
  end
  local thresholds = tbl.thresholds or {}
  if #thresholds > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "thresholds"
    for _, t in ipairs(thresholds) do
      local mark = t.ok == true and "ok  " or t.ok == false and "FAIL" or "--  "
      -- The threshold's own message already says what was measured against
      -- which bound, in the metric's units; without one, show the numbers.
      local text = type(t.message) == "string" and t.message
        or ("%s %s: measured %s, bound %s"):format(cell(t.key), cell(t.condition),
             number_text(t.value), number_text(t.bound))
      out[#out + 1] = "  " .. mark .. "  " .. text
    end
  end
  local names = tables.sorted_keys(tbl.checks)
  if #names > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "checks"
    local rows = {}
    for _, name in ipairs(names) do
      local c = tbl.checks[name]
      rows[#rows + 1] = { (c.fails or 0) > 0 and "FAIL" or "ok", name,
                          cell(c.passes) .. " passed", cell(c.fails) .. " failed",
                          type(c.observed) == "string" and "observed: " .. c.observed or "" }
    end
    out[#out + 1] = table_text(rows, 2, true)
  end
  if type(v) == "table" and type(v.line) == "string" then -- again at the end, below the tables
    out[#out + 1] = ""
    out[#out + 1] = v.line
  end
  return concat(out, "\n") .. "\n"
end

return M
