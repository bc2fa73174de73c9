-- What the mix specs (personas_spec, tokens_spec) share: the shipped mixes,
-- the names a mix may use under scenarios/load.lua, the Python harness's
-- example mix, a signing secret, and temporary files removed after each
-- test. (Not spec/support.lua: these specs need no event loop.)
local personas = require "gofr_sim.runner.personas"
local tasks = require "gofr_sim.runner.tasks"

local M = {}

M.SOURCE_DIR = os.getenv("GS_SOURCE_DIR") or "."
M.MIXES = M.SOURCE_DIR .. "/fixtures/mixes"
M.SECRET = "test-secret-key-for-secure-testing-do-not-use-in-production"

-- The names a mix may use under scenarios/load.lua: its declared tasks and
-- the symbolic tokens of its resolver (gofr-dig's).
M.LOAD = dofile(M.SOURCE_DIR .. "/scenarios/load.lua")
M.KNOWN = { tasks = tasks.names(M.LOAD.tasks), tokens = M.LOAD.tokens.names }

-- The Python harness's simulator/mix.example.json, as documented.
M.OLD_EXAMPLE = [[
{
  "groups": {
    "apac": {"count": 3, "token": "token_apac"},
    "emea": {"count": 3, "token": "token_emea"},
    "us": {"count": 3, "token": "token_us"},
    "multi": {"count": 1, "token": "token_multi"},
    "public": {"count": 1, "token": null},
    "attacker": {"count": 1, "token": "token_invalid"}
  }
}
]]

local temp_files = {}

--- A new temporary file holding text; -> its path (removed by remove_temp_files).
function M.temp_file(text)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  temp_files[#temp_files + 1] = path
  return path
end

--- Removes every file temp_file made (an after_each).
function M.remove_temp_files()
  for _, p in ipairs(temp_files) do os.remove(p) end
  temp_files = {}
end

--- An environment lookup (os.getenv's shape) over a table of variables.
function M.fake_env(vars)
  return function(name) return vars[name] end
end

--- The mix of an inline "groups" body, read with KNOWN's names.
function M.mix_of(groups_json)
  return assert(personas.parse_mix('{"groups": {' .. groups_json .. '}}', "inline.json", M.KNOWN))
end

return M
