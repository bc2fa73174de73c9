--- gofr_sim.cli.record: `gofr-sim record`, recording sites into a fixture
-- corpus (docs/recording.md): the flags, the sites file, one line per site
-- as it completes and the summary. The recording itself is
-- gofr_sim.cli.record.recorder's.
--
--   gofr-sim record --sites fixtures/sites.json --out DIR [--depth 0|1]
--                   [--max-pages N] [--timeout S] [--concurrency N]
--
-- The Python harness's flag names --sites-file, --record-output-dir and
-- --timeout-seconds are accepted too (its `--mode record` is this command).
local core = require "gofr_sim.core"
local sim = require "gofr_sim"
local cli = require "gofr_sim.util.flags"
local obf = require "gofr_sim.engine.obfuscate"
local recorder = require "gofr_sim.cli.record.recorder"
local recording = require "gofr_sim.gofr_dig.recording"

local ipairs, tostring = ipairs, tostring
local format, concat = string.format, table.concat

local M = {}

-- One line about a site's result.
local function describe(r)
  if not r.ok then
    return format("FAILED    %-32s %s: %s (an earlier recording is kept)  %s",
      r.slug, tostring(r.error_type), tostring(r.message), r.url)
  end
  local s = format("recorded  %-32s %d page%s, %d bytes, status %d  %s", r.slug, r.pages,
    r.pages == 1 and "" or "s", r.bytes, r.status, r.url)
  if r.skipped and #r.skipped > 0 then
    s = s .. format("\n          %d link%s skipped: %s", #r.skipped, #r.skipped == 1 and "" or "s",
      r.skipped[1].url .. " (" .. r.skipped[1].why .. ")" .. (#r.skipped > 1 and ", ..." or ""))
  end
  if r.blocked and #r.blocked > 0 then
    s = s .. "\n          looks blocked: " .. concat(r.blocked, ", ")
  end
  return s
end

-- The summary's closing lines.
local function summary_text(summary)
  local lines = { format("record: %d site%s attempted, %d recorded, %d failed, %d bytes -> %s",
    summary.sites_attempted, summary.sites_attempted == 1 and "" or "s", summary.sites_recorded,
    summary.sites_failed, summary.total_bytes, summary.out) }
  local failed = {}
  for _, r in ipairs(summary.results) do
    if not r.ok then failed[#failed + 1] = r.slug .. " (" .. tostring(r.error_type) .. ")" end
  end
  if #failed > 0 then lines[#lines + 1] = "failed: " .. concat(failed, ", ") end
  if summary.sites_recorded > 0 then
    lines[#lines + 1] = "replay: gofr-sim scenarios/load.lua --fixtures-dir " .. summary.out
  end
  return concat(lines, "\n") .. "\n"
end

local FLAGS = {
  sites = { type = "string" }, sites_file = { type = "string" },
  out = { type = "string" }, record_output_dir = { type = "string" },
  depth = { type = "integer", default = recorder.DEFAULTS.depth, min = 0 },
  max_pages = { type = "integer", default = recorder.DEFAULTS.max_pages, min = 1 },
  timeout = { type = "duration", default = recorder.DEFAULTS.timeout, above = 0 },
  timeout_seconds = { type = "number", above = 0 },
  concurrency = { type = "integer", default = recorder.DEFAULTS.concurrency, min = 1 },
  seed = { type = "string" },
  date_shift_days = { type = "integer" },
  quiet = { type = "boolean", default = false },
}

-- The recorder's options from the command's flags; usage errors raise.
local function options(flags)
  local o = cli.options(flags, FLAGS)
  local sites_path = o.sites or o.sites_file
  local out = o.out or o.record_output_dir
  if not sites_path then cli.usage_error("record: give --sites FILE (the harness's sites.json)") end
  if not out or out == "" then cli.usage_error("record: give --out DIR") end
  if o.depth > 1 then cli.usage_error("--depth must be 0 or 1") end
  local shift = o.date_shift_days
  if shift and (shift < -obf.MAX_SHIFT_DAYS or shift > obf.MAX_SHIFT_DAYS) then
    cli.usage_error(("--date-shift-days must be within +-%d"):format(obf.MAX_SHIFT_DAYS))
  end
  local sites, why = recording.read_sites(sites_path)
  if not sites then cli.usage_error("--sites: " .. why) end
  return {
    sites = sites, out = out, depth = o.depth, max_pages = o.max_pages,
    timeout = o.timeout_seconds or o.timeout, concurrency = o.concurrency, seed = o.seed,
    date_shift_days = o.date_shift_days,
    on_site = function(r)
      if not o.quiet or not r.ok then io.stdout:write(describe(r), "\n") end
      io.stdout:flush()
    end,
  }
end

local USAGE = [[
usage: gofr-sim record --sites SITES.json --out DIR [--depth 0|1] [--max-pages N]
                       [--timeout S] [--concurrency N] [--seed S] [--date-shift-days N] [--quiet]
Records the sites of SITES.json (the harness's format) into DIR: DIR/meta.json and
DIR/<slug>/index.html per site, obfuscated; --depth 1 adds same-site pages the front
page links to, up to --max-pages per site (default 10). Exit 0 when a site was
recorded, 1 when none was, 2 for bad usage. docs/recording.md.
]]

--- gofr-sim record ...: argv as the executable's (argv[1] == "record").
-- Prints one line per site and the summary. -> 0 when a site was recorded,
-- 1 when none was; usage errors raise (exit 2).
function M.main(argv)
  local flags = cli.parse(argv, 2)
  if flags.help then
    io.stdout:write(USAGE)
    return 0
  end
  core.handle_signals()
  local opts = options(flags)
  local summary = sim.run(function() return recorder.record(opts) end)
  io.stdout:write(summary_text(summary))
  return summary.sites_recorded > 0 and 0 or 1
end

return M
