#!/usr/bin/env bash
# bench/mcp_ping.sh: MCP tools/call throughput of gofr-sim against wrk and the
# official MCP TypeScript SDK client, all three calling `ping` on the same
# gofr-dig twin (`gofr-sim twin`, started here on 127.0.0.1 and a free port).
#
# Each round runs, one after the other, with the same concurrency and duration:
#   gofr-sim  bench/mcp_ping.lua: one MCP session per persona, closed loop;
#   wrk       bench/mcp_ping_wrk.lua: -t1, one session set up here with curl
#             (initialize, notifications/initialized), its id passed to the script;
#   SDK       test/peers/sdk-client.js bench: one Client + transport per session.
# Prints the medians of calls/s (and of each client's CPU time per call), the
# ratios gofr-sim/wrk and gofr-sim/SDK of calls/s, and gofr-sim/wrk of client
# CPU per call against issue 14's bar (<= 1.20; moonshot <= 1.00): a report,
# not the exit status. Exit status: 0 fine, 2 setup failure, 3 a measured run
# failed or reported errors (failed calls, wrk non-2xx or socket errors).
#
# Environment: DURATION (default 10s), ROUNDS (default 5), CONCURRENCY (default
# 32), GOFR_SIM (default build/gofr-sim), GS_TEST_PEERS (where the SDK peers
# are installed, default build/test-peers; scripts/install-test-peers.sh runs
# first), MCP_URL (use this MCP endpoint instead of starting the twin), TOOL
# (default ping; called with empty arguments), GOFR_SIM_HTTP_ENGINE
# (auto|curl|native, sim.http's engine for the gofr-sim client, default auto).
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-5}
CONCURRENCY=${CONCURRENCY:-32}
TOOL=${TOOL:-ping}
PEERS=${GS_TEST_PEERS:-$BENCH_ROOT/build/test-peers}
MCP_URL=${MCP_URL:-}

bench_require wrk time gofr-sim
for what in node:nodejs npm:npm curl:curl; do
  command -v "${what%%:*}" >/dev/null 2>&1 ||
    bench_die "missing: ${what%%:*} — install it with: apt-get install ${what#*:}"
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a whole number >= 1, not '$ROUNDS'"
[[ $CONCURRENCY =~ ^[1-9][0-9]*$ ]] || bench_die "CONCURRENCY must be a whole number >= 1, not '$CONCURRENCY'"
[[ $TOOL =~ ^[A-Za-z0-9_.-]+$ ]] || bench_die "TOOL must be a tool name, not '$TOOL'"
secs=$(bench_seconds "$DURATION")
limit=$((secs * 3 + 60)) # a hung run is stopped after this many seconds

scripts/install-test-peers.sh "$PEERS" ||
  bench_die "scripts/install-test-peers.sh $PEERS failed (npm registry unreachable?)"
[[ -f $PEERS/node_modules/@modelcontextprotocol/sdk/package.json && -f $PEERS/sdk-client.js ]] ||
  bench_die "the MCP TypeScript SDK peers are missing from $PEERS"

TWIN_PID="" # the twin started here, stopped on exit

# shellcheck disable=SC2317  # called from the EXIT trap
twin_stop() {
  local pid=$TWIN_PID i
  [[ -n $pid ]] || return 0
  TWIN_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# Starts `gofr-sim twin` on a free port (--port 0); sets MCP_URL and TWIN_PID.
twin_start() {
  local port_file="$BENCH_TMP/twin.port" log="$BENCH_TMP/twin.log" i port=""
  mkdir -p "$BENCH_TMP/twin-data"
  "$GOFR_SIM" twin --host 127.0.0.1 --port 0 --port-file "$port_file" \
    --data-dir "$BENCH_TMP/twin-data" </dev/null >"$log" 2>&1 &
  TWIN_PID=$!
  for ((i = 0; i < 100; i++)); do
    port=$(cat "$port_file" 2>/dev/null || true)
    [[ $port =~ ^[0-9]+$ ]] && break
    kill -0 "$TWIN_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! [[ $port =~ ^[0-9]+$ ]]; then
    bench_log "gofr-sim twin did not start; its output:"
    cat "$log" >&2
    bench_die "could not start the twin"
  fi
  MCP_URL="http://127.0.0.1:$port/mcp/"
}

trap 'twin_stop; bench_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bench_raise_nofile 4096
bench_tmpdir
if [[ -z $MCP_URL ]]; then
  twin_start
fi

# mcp_post OUT_BODY OUT_HEADERS BODY [HEADER...] — one MCP POST with curl;
# prints the HTTP status.
mcp_post() {
  local body_file=$1 header_file=$2 body=$3 h args=()
  shift 3
  for h in "$@"; do args+=(-H "$h"); done
  curl -sS --max-time 10 -o "$body_file" -D "$header_file" -w '%{http_code}' \
    -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
    "${args[@]}" --data "$body" "$MCP_URL"
}

SESSION_ID=""        # the session wrk uses, set by session_open
PROTOCOL_VERSION=""  # its negotiated version

# Initialises a session the way an MCP client does; checks that TOOL answers in it.
session_open() {
  local b="$BENCH_TMP/curl.body" h="$BENCH_TMP/curl.headers" status
  status=$(mcp_post "$b" "$h" '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"gofr-sim-bench-curl","version":"1"}}}') ||
    bench_die "initialize: curl failed against $MCP_URL"
  [[ $status == 200 ]] || bench_die "initialize answered HTTP $status: $(head -c 300 "$b")"
  SESSION_ID=$(awk 'tolower($1) == "mcp-session-id:" { sub(/\r$/, "", $2); print $2 }' "$h")
  [[ -n $SESSION_ID ]] || bench_die "initialize answered no mcp-session-id header"
  PROTOCOL_VERSION=$(grep -o '"protocolVersion": *"[^"]*"' "$b" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
  [[ -n $PROTOCOL_VERSION ]] || bench_die "initialize answered no protocolVersion: $(head -c 300 "$b")"
  local session=("Mcp-Session-Id: $SESSION_ID" "MCP-Protocol-Version: $PROTOCOL_VERSION")
  status=$(mcp_post "$b" "$h" '{"jsonrpc":"2.0","method":"notifications/initialized"}' "${session[@]}") ||
    bench_die "notifications/initialized: curl failed"
  [[ $status == 2?? ]] || bench_die "notifications/initialized answered HTTP $status"
  status=$(mcp_post "$b" "$h" "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"$TOOL\",\"arguments\":{}}}" "${session[@]}") ||
    bench_die "tools/call $TOOL: curl failed"
  if [[ $status != 200 ]] || ! grep -q '"result"' "$b" || grep -q '"isError": *true' "$b"; then
    bench_die "tools/call $TOOL in the wrk session answered HTTP $status: $(head -c 300 "$b")"
  fi
}

# Ends the wrk session (DELETE); its answer does not matter.
session_close() {
  [[ -n $SESSION_ID ]] || return 0
  curl -sS --max-time 10 -o /dev/null -X DELETE -H "Mcp-Session-Id: $SESSION_ID" \
    -H "MCP-Protocol-Version: $PROTOCOL_VERSION" "$MCP_URL" || true
  SESSION_ID=""
}

echo "MCP tools/call $TOOL: gofr-sim vs wrk vs the MCP TypeScript SDK client, $MCP_URL"
engine=$(bench_engine)
echo "$CONCURRENCY sessions/connections, ${secs}s per run, $ROUNDS rounds; gofr-sim: $GOFR_SIM, engine: $engine;" \
  "wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); node $(node --version);" \
  "SDK $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$PEERS/node_modules/@modelcontextprotocol/sdk/package.json" | head -n 1)"

# measure NAME OUT CMD... — runs CMD bounded in time, output in OUT, its CPU
# time (user + system, children included) in OUT.cpu; stops the bench when it fails.
measure() {
  local name=$1 out=$2 rc=0
  shift 2
  /usr/bin/time -f '%U %S' -o "$out.cpu" timeout --foreground -k 10 "$limit" "$@" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed "$name" "$rc" "$out"
}

# cpu_per_call OUT CALLS — client CPU microseconds per call.
cpu_per_call() {
  awk -v n="$2" 'END { printf "%.0f\n", (n > 0) ? ($1 + $2) * 1e6 / n : 0 }' "$1.cpu"
}

gofr_rate=() wrk_rate=() sdk_rate=()
gofr_cpu=() wrk_cpu=() sdk_cpu=()
total_errors=0
for ((round = 1; round <= ROUNDS; round++)); do
  # a) gofr-sim
  out="$BENCH_TMP/gofr-$round.txt"
  measure gofr-sim "$out" "$GOFR_SIM" bench/mcp_ping.lua --url "$MCP_URL" \
    --sessions "$CONCURRENCY" --duration "${secs}s" --tool "$TOOL"
  line=$(grep -E '^sessions: [0-9]+ calls: [0-9]+ errors: [0-9]+ duration: [0-9.]+ calls_per_sec: [0-9.]+$' "$out" | tail -n 1) ||
    bench_run_failed "gofr-sim (no summary line)" 0 "$out"
  g_rate=${line##* calls_per_sec: }
  g_err=$(sed -E 's/.* errors: ([0-9]+) .*/\1/' <<<"$line")
  g_cpu=$(cpu_per_call "$out" "$(sed -E 's/.* calls: ([0-9]+) .*/\1/' <<<"$line")")
  gofr_rate+=("$g_rate") gofr_cpu+=("$g_cpu")

  # b) wrk, in a session of its own
  session_open
  out="$BENCH_TMP/wrk-$round.txt"
  measure wrk "$out" wrk -t1 -c"$CONCURRENCY" -d"${secs}s" --latency \
    -s bench/mcp_ping_wrk.lua "$MCP_URL" -- "$SESSION_ID" "$PROTOCOL_VERSION" "$TOOL"
  session_close
  w_rate=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  [[ -n $w_rate ]] || bench_run_failed "wrk (no Requests/sec line)" 0 "$out"
  w_err=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
  w_cpu=$(cpu_per_call "$out" "$(awk '/ requests in / { print $1 }' "$out")")
  wrk_rate+=("$w_rate") wrk_cpu+=("$w_cpu")

  # c) the SDK client
  out="$BENCH_TMP/sdk-$round.txt"
  measure "SDK client" "$out" node "$PEERS/sdk-client.js" --url "$MCP_URL" bench \
    --duration "$secs" --concurrency "$CONCURRENCY" --tool "$TOOL"
  line=$(grep -E '^\{"calls":[0-9]+,"errors":[0-9]+,"seconds":[0-9.]+,"calls_per_sec":[0-9.]+\}$' "$out" | tail -n 1) ||
    bench_run_failed "SDK client (no summary line)" 0 "$out"
  s_rate=$(sed -E 's/.*"calls_per_sec":([0-9.]+).*/\1/' <<<"$line")
  s_err=$(sed -E 's/.*"errors":([0-9]+).*/\1/' <<<"$line")
  s_cpu=$(cpu_per_call "$out" "$(sed -E 's/.*"calls":([0-9]+).*/\1/' <<<"$line")")
  sdk_rate+=("$s_rate") sdk_cpu+=("$s_cpu")

  total_errors=$((total_errors + g_err + w_err + s_err))
  printf 'round %d/%d: gofr-sim %8.1f calls/s (%s µs CPU/call, errors %s) | wrk %8.1f req/s (%s µs, errors %s) | SDK %8.1f calls/s (%s µs, errors %s)\n' \
    "$round" "$ROUNDS" "$g_rate" "$g_cpu" "$g_err" "$w_rate" "$w_cpu" "$w_err" "$s_rate" "$s_cpu" "$s_err"
done

g_med=$(bench_median "${gofr_rate[@]}")
w_med=$(bench_median "${wrk_rate[@]}")
s_med=$(bench_median "${sdk_rate[@]}")
g_cpu_med=$(bench_median "${gofr_cpu[@]}")
w_cpu_med=$(bench_median "${wrk_cpu[@]}")
printf 'median: gofr-sim %.1f calls/s (%s µs CPU/call, engine: %s) | wrk %.1f req/s (%s µs) | SDK %.1f calls/s (%s µs)\n' \
  "$g_med" "$g_cpu_med" "$engine" "$w_med" "$w_cpu_med" "$s_med" "$(bench_median "${sdk_cpu[@]}")"
echo "ratio gofr-sim/wrk: $(bench_ratio "$g_med" "$w_med") | ratio gofr-sim/SDK: $(bench_ratio "$g_med" "$s_med")"
cpu_ratio=$(bench_ratio "$g_cpu_med" "$w_cpu_med")
echo "client CPU per call gofr-sim/wrk: $cpu_ratio (bar <= 1.20): $(bench_verdict "$cpu_ratio" le 1.20)"
if ((total_errors > 0)); then
  bench_log "error: $total_errors failed calls or responses over the runs (see the rounds above)"
  exit 3
fi
exit 0
