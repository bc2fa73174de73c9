--- gofr_sim.cli.merge: `gofr-sim merge A.json B.json ... (-o OUT.json |
-- --print) [--threshold 'KEY COND' ...] [--accept-unhealthy RULES]`, merging
-- the reports of runs made side by side (docs/report.md): the merged report
-- is judged (thresholds on the merged data, the verdict), written to
-- OUT.json (and its summary printed) or printed as JSON on standard
-- output; the exit status is a run's: 0 pass, 99 a threshold failed, 1 a
-- check failed, the merged run was unhealthy or incomplete, 2 bad usage.
local cli = require "gofr_sim.util.flags"
local json = require "gofr_sim.util.json"
local merge = require "gofr_sim.report.merge"
local summary = require "gofr_sim.report.summary"
local write = require "gofr_sim.report.write"
local common = require "gofr_sim.cli.common"
local thresholds = require "gofr_sim.runner.thresholds"
local verdict = require "gofr_sim.runner.verdict"

local ipairs, pcall, tostring = ipairs, pcall, tostring

local M = {}

local FLAGS = {
  out = { type = "string" },
  print = { type = "boolean", default = false },
  threshold = { type = "string", repeatable = true },
  accept_unhealthy = { type = "string" },
}

-- The words of argv[2..] for cli.parse: -o is the one short flag (--out);
-- --print never takes a value (a file may follow it).
local function words_of(argv)
  local words = {}
  for i = 2, #argv do
    local a = argv[i]
    words[#words + 1] = (a == "-o" and "--out") or (a == "--print" and "--print=true") or a
  end
  return words
end

-- The reports of the files at paths, decoded; an unreadable file or one
-- that is not a report is a usage error.
local function read_reports(paths)
  local reports = {}
  for i, path in ipairs(paths) do reports[i] = common.read_json_report("merge", path) end
  return reports
end

-- The thresholds and accepted verdict rules of the command line: the
-- options of merge.reports.
local function judge_options(opts)
  local specs, why = thresholds.from_cli(opts.threshold or {})
  if not specs then cli.usage_error("merge: --threshold: " .. why) end
  local ok, accept = pcall(verdict.accepted, nil, opts.accept_unhealthy, "--accept-unhealthy")
  if not ok then cli.usage_error("merge: " .. tostring(accept)) end
  return { thresholds = specs, accept = accept }
end

--- gofr-sim merge ...: argv as the executable's (argv[1] == "merge").
-- -> the merged run's status (0, 99 or 1, report/judge.lua), or 1 when
-- OUT.json cannot be written; usage errors raise.
function M.main(argv)
  local paths, named = common.split(cli.parse(words_of(argv)))
  local opts = cli.options(named, FLAGS)
  if #paths == 0 then cli.usage_error("merge: give at least one report file") end
  if not opts.out and not opts.print then
    cli.usage_error("merge: give -o OUT.json (or --print for standard output)")
  end
  local jopts = judge_options(opts)
  local merged, status = merge.reports(read_reports(paths), paths, jopts)
  if not merged then cli.usage_error("merge: " .. status) end
  if opts.out then
    local ok, werr = write.json(opts.out, merged)
    if not ok then
      common.say("%s", werr)
      return 1
    end
  end
  if opts.print then
    io.stdout:write(json.encode(merged, "sorted"), "\n")
  else
    io.stdout:write(summary.text(merged))
  end
  return status
end

return M
