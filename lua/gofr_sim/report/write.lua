--- gofr_sim.report.write: the files a run leaves (the JSON report, the HTML
-- report, JUnit XML, matrix.json), written atomically and durably through
-- core.fs_write_atomic, and the JSON report read back.
--
--   local write = require "gofr_sim.report.write"
--   assert(write.check_writable("out/report.json"))   -- before the run
--   assert(write.json("out/report.json", rep))        -- after it
--   assert(write.text("out/report.html", page))
--   local rep2 = assert(write.decode(text))
--
-- The JSON is util/json's "sorted" style (keys sorted, 2-space indent) and a
-- newline: the same table always gives the same bytes.
local core = require "gofr_sim.core"
local cjson = require "cjson"
local json = require "gofr_sim.util.json"

local type, ipairs, tostring, error, pcall = type, ipairs, tostring, error, pcall

local M = {}

-- The system's reason from a core.fs_* message "<path>: <reason>".
local function reason(msg)
  return (tostring(msg):gsub("^.*: ", ""))
end

-- The directory part of path ("/" for a file at the root), or nil for a
-- bare file name.
local function parent_dir(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == "" then return "/" end
  return dir
end

--- Whether a file can be written at `path` (checked before a run, so an
-- unwritable --output/--html/--junit is a usage error up front, not a lost
-- report): its directory exists or can be made and takes a new file, and
-- path is not a directory. -> true | nil, message naming the path. Makes
-- the missing directories.
function M.check_writable(path)
  if type(path) ~= "string" or path == "" then return nil, "needs a file path" end
  local st = core.fs_stat(path)
  local dir = parent_dir(path)
  if st and core.fs_list(path) then return nil, ("'%s' is a directory"):format(path) end
  if dir then
    local ok, _, msg = core.fs_mkdirs(dir)
    if not ok then return nil, ("cannot create directory '%s': %s"):format(dir, reason(msg)) end
  end
  local probe = (dir and dir .. "/" or "") .. ".gofr-sim-probe." .. tostring({}):match("0x(%x+)")
  local ok, _, msg = core.fs_create_excl(probe, "")
  if not ok then return nil, ("cannot write in '%s': %s"):format(dir or ".", reason(msg)) end
  core.fs_remove(probe)
  return true
end

--- Writes `text` to `path`: missing parent directories are made; the bytes
-- go to a temporary file next to it, fsync'ed, renamed over path, and the
-- directory fsync'ed, so a crash or SIGKILL leaves the old file or the new
-- one; temporary files that killed writers left there are removed first.
-- -> true | nil, message (naming the path).
function M.text(path, text)
  local dir = parent_dir(path)
  if dir then
    local ok, _, msg = core.fs_mkdirs(dir)
    if not ok then return nil, ("cannot write report '%s': %s"):format(path, reason(msg)) end
  end
  core.fs_sweep_temps(path)
  local ok, _, msg = core.fs_write_atomic(path, text, true)
  if not ok then return nil, ("cannot write report '%s': %s"):format(path, reason(msg)) end
  return true
end

--- Writes tbl as JSON (json.encode(tbl, "sorted")) and a newline to path,
-- as write.text does. -> true | nil, message (naming the path). Raises on
-- a value JSON cannot hold (naming where it is).
function M.json(path, tbl)
  if type(path) ~= "string" or path == "" then
    error("report.write: path must be a non-empty string, got " .. tostring(path), 2)
  end
  return M.text(path, json.encode(tbl, "sorted") .. "\n")
end

local reader = cjson.new()
reader.decode_invalid_numbers(false)

-- Top-level keys whose values are arrays (an empty JSON array decodes to {}).
local ARRAY_KEYS = { "thresholds", "timeseries", "notes" }

--- The table of a report's JSON text, or nil, message. JSON null is
-- cjson.null (report.build's null); thresholds, timeseries and notes are marked
-- as arrays (json.array), so that they are written back as [] when empty.
function M.decode(text)
  if type(text) ~= "string" then
    error("report.write.decode: expected a string, got " .. type(text), 2)
  end
  local ok, t = pcall(reader.decode, text)
  if not ok then return nil, "not valid JSON: " .. tostring(t) end
  if type(t) ~= "table" or t[1] ~= nil then return nil, "not a JSON object" end
  for _, k in ipairs(ARRAY_KEYS) do
    if type(t[k]) == "table" then json.array(t[k]) end
  end
  return t
end

return M
