--- cluster_load: the scenario the shards of deploy/kubernetes run (the
-- ConfigMap gofr-sim-scenario, mounted at /scenario) and the GitHub Actions
-- variant (.github/workflows/shards.yml) runs from the checkout. It is
-- load.lua's MCP flow against --mcp-url at a constant arrival rate, with a
-- latency bound added to load.lua's thresholds (docs/distributed.md).
--
--   gofr-sim deploy/kubernetes/scenario.lua --mcp-url http://127.0.0.1:8070/mcp --shard 1/3
--
-- The numbers below are the whole run's: each of N shards runs its share
-- (rate/N iterations per second, max_personas/N personas), and
-- `gofr-sim merge` judges the thresholds on the merged reports. Flags
-- override these options (--rate 60, --duration 10m).
--
-- load.lua is found beside the gofr_sim Lua modules the executable loads:
-- <home>/lua/gofr_sim/... and <home>/scenarios/load.lua, in the image
-- (/opt/gofr-sim) as in a source tree.
local function load_lua()
  local flags = package.searchpath("gofr_sim.util.flags", package.path)
  local home = flags and flags:match("^(.*)/lua/gofr_sim/util/flags%.lua$")
  if not home then error("cluster_load: cannot find gofr-sim's lua/ directory in package.path", 0) end
  return home .. "/scenarios/load.lua"
end

local load = dofile(load_lua())

local scenario = {}
for k, v in pairs(load) do scenario[k] = v end

scenario.name = "cluster_load"
scenario.description = "load.lua's MCP flow at a constant arrival rate, split over shards"
scenario.options = {
  workload = "constant-arrival-rate",
  rate = 6,           -- iterations per second over all shards
  duration = "5m",
  max_personas = 60,  -- the persona pool over all shards
  -- Without a mix the personas are anonymous. For personas with gofr-dig
  -- tokens, add --mix-file /scenario/mix.json --token-source env to the
  -- shards' args, the tokens in the Secret gofr-sim-tokens (docs/distributed.md).
}

scenario.thresholds = {}
for key, bound in pairs(load.thresholds) do scenario.thresholds[key] = bound end
scenario.thresholds["p95{tool=mcp.get_content}"] = "< 10s"
scenario.thresholds.dropped_iterations = "== 0"

return scenario
