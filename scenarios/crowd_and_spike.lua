--- crowd_and_spike: load.lua's MCP flow as two named workloads side by side
-- (docs/scenarios.md, "Named workloads"): a closed crowd of readers runs the
-- whole time while a spike of writers, each opening a server-side session
-- and reading it back, ramps up, holds and goes away.
--
--   gofr-sim scenarios/crowd_and_spike.lua                    # 20 s against the embedded twin
--   gofr-sim scenarios/crowd_and_spike.lua --fetch-delay 0 --html out/spike.html
--   gofr-sim scenarios/crowd_and_spike.lua --mcp-url http://127.0.0.1:8070/mcp \
--     --mix-file fixtures/mixes/large.json
--   gofr-sim scenarios/crowd_and_spike.lua --workloads writers --duration 10s
--
-- Everything else — targets, flags, personas and tokens, expected outcomes,
-- thresholds, the fetch-delay note — is load.lua's: this file takes its
-- table and replaces only the workload. The report shows each workload's
-- iterations, drops, personas over time and latency, and the run's totals.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local load = dofile(here .. "load.lua")

local scenario = {}
for k, v in pairs(load) do scenario[k] = v end

scenario.name = "crowd_and_spike"
scenario.description = "a closed crowd of MCP readers, and a spike of writers opening sessions"
scenario.options = nil -- load.lua's single workload; each named one has its own
scenario.workloads = {
  readers = { rate = 1, duration = "20s", tasks = { structure_then_content = 1 } }, -- the mix's personas
  writers = {
    workload = "ramping-arrival-rate", start = "5s", stages = "3s:8,4s:8,3s:0",
    max_personas = 40, tasks = { content_session_reads = 1 },
  },
}
scenario.thresholds = {}
for key, bound in pairs(load.thresholds) do scenario.thresholds[key] = bound end
scenario.thresholds["p95{workload=readers}"] = "< 30s" -- the readers' calls, whatever the spike does

return scenario
