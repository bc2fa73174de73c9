--- The default scenario matrix: `gofr-sim matrix ci/matrix.lua` (docs/ci.md).
--
-- Every cell runs in its own gofr-sim process against its own embedded
-- gofr-dig twin (own ports, own data directory), so cells cannot disturb
-- each other. Paths are relative to `root`, the repository (this file's
-- directory is ci/). The whole matrix runs in about 20 s at --parallel 2.
-- The latency bounds are loose on purpose: shared CI runners are slow and
-- noisy; tighten them for a dedicated machine. Every cell is expected to pass; add --twin-faults to a copy
-- of a cell (with expect = "fail") to see the matrix catch a broken server.
local QUICK = "5s"

return {
  root = "..",
  cells = {
    -- Load: the Python harness's MCP flow, closed and open model.
    { name = "load-closed", scenario = "scenarios/load.lua",
      description = "closed model, default persona mix, 5 s",
      flags = { "--duration", QUICK, "--rate", "5",
                "--threshold", "iterations > 10",
                "--threshold", "script_errors < 1",
                "--threshold", "p95{tool=mcp.get_content} < 5s" } },
    { name = "load-open", scenario = "scenarios/load.lua",
      description = "open model: 20 iterations/s arriving whatever the latency, 5 s",
      flags = { "--workload", "constant-arrival-rate", "--rate", "20", "--duration", QUICK,
                "--max-personas", "50",
                "--threshold", "dropped_iterations < 1",
                "--threshold", "script_errors < 1",
                "--threshold", "p95{tool=mcp.get_content} < 5s" } },
    -- Persona mixes: 6 personas and 300.
    { name = "load-mix-small", scenario = "scenarios/load.lua",
      description = "fixtures/mixes/small.json (one persona per group), 5 s",
      flags = { "--mix-file", "fixtures/mixes/small.json", "--duration", QUICK, "--rate", "5",
                "--threshold", "script_errors < 1" } },
    { name = "load-mix-large", scenario = "scenarios/load.lua",
      description = "fixtures/mixes/large.json (300 personas), 5 s",
      flags = { "--mix-file", "fixtures/mixes/large.json", "--duration", QUICK, "--rate", "1",
                "--threshold", "script_errors < 1",
                "--threshold", "p95{tool=mcp.get_content} < 10s" } },
    -- gofr-dig's behaviour (Step 4), with their defaults.
    { name = "auth-cross-group", scenario = "scenarios/auth_cross_group.lua",
      description = "groups, tokens and cross-group access" },
    { name = "session-lifecycle", scenario = "scenarios/session_lifecycle.lua",
      description = "sessions: chunking and content integrity" },
    { name = "rate-limit", scenario = "scenarios/rate_limit.lua",
      description = "per-group buckets, ping exemption, recovery" },
    { name = "housekeeping", scenario = "scenarios/housekeeping.lua",
      description = "storage prune order, limit and timing" },
  },
}
