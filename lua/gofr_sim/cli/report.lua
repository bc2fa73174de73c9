--- gofr_sim.cli.report: `gofr-sim report REPORT.json [--html OUT.html]
-- [--junit OUT.xml]`: the HTML page (report/html.lua) or the JUnit XML (one
-- suite, a test case per check and threshold, as the matrix writes them) of
-- any JSON report — a run's or a merged one (docs/report.md) — or, with
-- neither flag, its summary on standard output. Exit 0; 1 when an output
-- cannot be written; 2 bad usage (a missing or unreadable file, not a
-- report).
local cli = require "gofr_sim.util.flags"
local build = require "gofr_sim.report.build"
local summary = require "gofr_sim.report.summary"
local write = require "gofr_sim.report.write"
local common = require "gofr_sim.cli.common"

local type, tostring, ipairs = type, tostring, ipairs

local M = {}

local FLAGS = {
  html = { type = "string" },
  junit = { type = "string" },
}

-- The report of the file at path, decoded; an unreadable file or one that
-- is not a report is a usage error naming it.
local function read_report(path)
  local r = common.read_json_report("report", path)
  if type(r) ~= "table" or r.schema_version == nil then
    cli.usage_error(("report: '%s' is not a gofr-sim report (no schema_version)"):format(path))
  end
  if r.schema_version ~= build.SCHEMA_VERSION then
    cli.usage_error(("report: '%s': schema_version %s is not supported (this gofr-sim reads %d)")
      :format(path, tostring(r.schema_version == build.null and "null" or r.schema_version),
        build.SCHEMA_VERSION))
  end
  if type(r.result) ~= "table" then cli.usage_error(("report: '%s': result is missing"):format(path)) end
  return r
end

--- The JUnit XML of report rep (read from `path`): one suite, a test case
-- per check and threshold (gofr_sim.cli.matrix's), and a failed "verdict"
-- case when the verdict failed and no case says why.
function M.junit(rep, path)
  local config = type(rep.config) == "table" and rep.config or {}
  local name = type(config.scenario) == "string" and config.scenario or path:match("([^/]+)$")
  local started = type(rep.started_at) == "string" and rep.started_at:gsub("Z$", "") or nil
  local suite = require("gofr_sim.cli.matrix").suite {
    name = name, duration = rep.result.duration_seconds, timestamp = started,
    scenario = tostring(config.scenario or ""), flags = {}, expect = "pass", report = path,
    result = { report = rep, status = "ok", met = true },
  }
  local failed = false
  for _, case in ipairs(suite.cases) do failed = failed or case.failure ~= nil end
  local v = rep.verdict
  if type(v) == "table" and v.ok == false and not failed then
    suite.cases[#suite.cases + 1] = { name = "verdict", classname = name, time = 0,
      failure = { type = "verdict", message = tostring(v.line) } }
  end
  return require("gofr_sim.report.junit").encode({ suite }, "gofr-sim report " .. path)
end

--- gofr-sim report REPORT.json ...: argv as the executable's (argv[1] ==
-- "report"). -> 0, or 1 when an output cannot be written; usage errors
-- raise.
function M.main(argv)
  local words = {}
  for i = 2, #argv do words[#words + 1] = argv[i] end
  local paths, named = common.split(cli.parse(words))
  local opts = cli.options(named, FLAGS)
  if #paths == 0 then cli.usage_error("report: give a report file (REPORT.json)") end
  if #paths > 1 then
    cli.usage_error(("report: give one report file, got %d (merge them first: gofr-sim merge)")
      :format(#paths))
  end
  for _, flag in ipairs { "html", "junit" } do
    if opts[flag] then
      if opts[flag] == "" then cli.usage_error(("report: --%s needs a file name"):format(flag)) end
    end
  end
  local path = paths[1]
  local rep = read_report(path)
  local status = 0
  if opts.html then
    local ok, err = require("gofr_sim.report.html").write(opts.html, rep)
    if not ok then common.say("report: --html: %s", err); status = 1 end
  end
  if opts.junit then
    local ok, err = write.text(opts.junit, M.junit(rep, path))
    if not ok then common.say("report: --junit: %s", err); status = 1 end
  end
  if not opts.html and not opts.junit then io.stdout:write(summary.text(rep)) end
  return status
end

return M
