#!/usr/bin/env bash
# bench/run-all.sh: every benchmark, in order: throughput against wrk and
# h2load, MCP tools/call throughput against wrk and the MCP SDK client,
# latency over an injected delay against wrk, peak memory,
# histogram recording speed, then memory over a long run (10 min;
# LONG_DURATION shortens it). All run even when one fails; the exit status is
# the worst of them (0 all fine, 1 a limit or target exceeded, 2 setup
# failure, 3 a measured run failed). Environment variables pass through
# (DURATION applies to the first four, GOFR_SIM_HTTP_ENGINE to every gofr-sim
# run; see each script).
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
status=0

# run_bench SCRIPT [VAR=value ...]: runs one benchmark, keeps the worst status.
run_bench() {
  local script=$1 rc=0
  shift
  echo
  echo "== bench/$script"
  env "$@" bash "$here/$script" || rc=$?
  if ((rc > status)); then
    status=$rc
  fi
}

run_bench http_vs_peers.sh
run_bench mcp_ping.sh
run_bench delay_latency.sh
run_bench memory.sh
run_bench histogram.sh
run_bench obfuscate.sh
run_bench memory_over_time.sh "DURATION=${LONG_DURATION:-10m}"
exit "$status"
