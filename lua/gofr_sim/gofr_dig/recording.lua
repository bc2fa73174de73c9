--- gofr_sim.gofr_dig.recording: the two files of the Python harness's
-- recordings (docs/recording.md): the sites file a recording is made from
-- and the meta.json a recording leaves beside its pages. `gofr-sim record`
-- writes them (cli/record), scenarios and the target read them.
--
--   local recording = require "gofr_sim.gofr_dig.recording"
--   local sites, why = recording.read_sites("fixtures/sites.json")
--   local meta, kind, why = recording.read_meta("fixtures/recorded")
--
-- Both return nil and a message naming the file on bad input; neither
-- raises on it (callers decide whether it is a usage error).
local json = require "gofr_sim.util.json"
local fs = require "gofr_sim.util.fs"

local type, ipairs = type, ipairs
local format = string.format

local M = {}

--- The name of a recording's metadata file, under the recording's root.
M.META = "meta.json"

local function trim(s) return (s:match("^%s*(.-)%s*$")) end

--- recording.read_sites(path) -> {{country=, name=, url=}, ...} | nil, why
-- The harness's sites.json: {"<country>": [{"name":, "url":, "languages":}]},
-- in file order. Non-array values and non-object entries are skipped, url
-- is trimmed and empty ones skipped, name defaults to the url. No valid
-- site at all is an error.
function M.read_sites(path)
  local text, _, msg = fs.read_file(path)
  if not text then return nil, format("cannot read '%s': %s", path, msg) end
  local doc, jerr = json.decode(text)
  if not doc then return nil, format("%s: %s", path, jerr) end
  local sites = {}
  if json.is_object(doc) then
    for country, list in json.pairs(doc) do
      for _, site in ipairs(json.is_array(list) and list or {}) do
        local url = json.is_object(site) and type(site.url) == "string" and trim(site.url)
        if url and url ~= "" then
          local name = type(site.name) == "string" and site.name ~= "" and site.name or url
          sites[#sites + 1] = { country = country, name = name, url = url }
        end
      end
    end
  end
  if #sites == 0 then return nil, format("no valid sites found in %s", path) end
  return sites
end

--- recording.read_meta(root) -> doc | nil, "not_found" | nil, "invalid", why
-- The decoded root/meta.json, a JSON object with a "sites" array; root
-- having no meta.json is "not_found"; one that cannot be read or is not a
-- recording's is "invalid", why naming the file.
function M.read_meta(root)
  local path = root .. "/" .. M.META
  local text, err_type, msg = fs.read_file(path)
  if not text then
    if err_type == "not_found" then return nil, "not_found" end
    return nil, "invalid", msg
  end
  local doc, err = json.decode(text)
  if not (doc and json.is_object(doc) and json.is_array(doc.sites)) then
    return nil, "invalid", format("%s is not a recording's meta.json (%s)", path,
      err or "no \"sites\" array")
  end
  return doc
end

return M
