#!/usr/bin/env bash
# bench/delay_latency.sh: how much latency the client adds over an injected
# delay. The fixture site (`gofr-sim fixtures`, 127.0.0.1, a free port) answers
# /index.html?delay_ms=50 after exactly 50 ms (docs/fixtures.md); gofr-sim
# (bench/delay_latency.lua: sim.http.get in a closed loop, timings.total in an
# HDR histogram) and `wrk -t1 --latency` take turns against it with the same
# number of keep-alive connections. Prints both p50s per round, their medians
# and the difference gofr-sim - wrk against issue 14's bar (<= 0.20 ms;
# moonshot <= 0.05 ms): a report, not the exit status. Exit status: 0 fine,
# 2 setup failure, 3 a measured run failed or reported errors.
#
# Environment: DURATION (default 10s), ROUNDS (default 3), CONNECTIONS
# (default 8), DELAY_MS (default 50), GOFR_SIM (default build/gofr-sim),
# GOFR_SIM_HTTP_ENGINE (auto|curl|native, default auto).
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-8}
DELAY_MS=${DELAY_MS:-50}
BAR_MS=0.20

bench_require wrk gofr-sim
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a whole number >= 1, not '$ROUNDS'"
[[ $CONNECTIONS =~ ^[1-9][0-9]*$ ]] || bench_die "CONNECTIONS must be a whole number >= 1, not '$CONNECTIONS'"
[[ $DELAY_MS =~ ^[0-9]+$ ]] || bench_die "DELAY_MS must be a whole number of milliseconds, not '$DELAY_MS'"
secs=$(bench_seconds "$DURATION")
limit=$((secs * 3 + 60)) # a hung run is stopped after this many seconds

FIXTURES_PID="" # the fixture server started here, stopped on exit

# shellcheck disable=SC2317  # called from the EXIT trap
fixtures_stop() {
  local pid=$FIXTURES_PID
  [[ -n $pid ]] || return 0
  FIXTURES_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

trap 'fixtures_stop; bench_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
bench_raise_nofile 4096
bench_tmpdir

# Starts the fixture site; it prints its URL once it listens.
log="$BENCH_TMP/fixtures.log"
"$GOFR_SIM" fixtures --root fixtures/html --host 127.0.0.1 --port 0 </dev/null >"$log" 2>&1 &
FIXTURES_PID=$!
base=""
for ((i = 0; i < 100; i++)); do
  base=$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$log" | head -n 1 || true)
  [[ -n $base ]] && break
  kill -0 "$FIXTURES_PID" 2>/dev/null || break
  sleep 0.1
done
if [[ -z $base ]]; then
  cat "$log" >&2
  bench_die "gofr-sim fixtures did not start"
fi
URL="$base/index.html?delay_ms=$DELAY_MS"

engine=$(bench_engine)
echo "latency over an injected delay: $URL, $CONNECTIONS connections, ${secs}s per run, $ROUNDS rounds"
echo "wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); gofr-sim $GOFR_SIM, engine: $engine"

gofr_p50=() wrk_p50=()
errors=0
for ((round = 1; round <= ROUNDS; round++)); do
  out="$BENCH_TMP/gofr-$round.txt"
  rc=0
  timeout --foreground -k 10 "$limit" "$GOFR_SIM" bench/delay_latency.lua --url "$URL" \
    --personas "$CONNECTIONS" --duration "${secs}s" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed gofr-sim "$rc" "$out"
  line=$(grep -E '^requests: [0-9]+ errors: [0-9]+ p50_ms: ' "$out" | tail -n 1) ||
    bench_run_failed "gofr-sim (no summary line)" 0 "$out"
  g=$(sed -E 's/.* p50_ms: ([0-9.]+) .*/\1/' <<<"$line")
  g_call=${line##* call_p50_ms: }
  g_n=$(sed -E 's/^requests: ([0-9]+) .*/\1/' <<<"$line")
  g_err=$(sed -E 's/.* errors: ([0-9]+) .*/\1/' <<<"$line")
  gofr_p50+=("$g")

  out="$BENCH_TMP/wrk-$round.txt"
  rc=0
  timeout --foreground -k 10 "$limit" wrk -t1 -c"$CONNECTIONS" -d"${secs}s" --latency "$URL" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed wrk "$rc" "$out"
  w_raw=$(awk '$1 == "50%" { print $2 }' "$out")
  w=$(bench_wrk_ms "$w_raw") || bench_run_failed "wrk (no 50% latency line)" 0 "$out"
  w_n=$(awk '/ requests in / { print $1 }' "$out")
  w_err=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
  wrk_p50+=("$w")

  errors=$((errors + g_err + w_err))
  printf 'round %d/%d: gofr-sim p50 %.3f ms (persona call p50 %.3f ms, %s requests, errors %s) | wrk p50 %.3f ms (%s requests, errors %s)\n' \
    "$round" "$ROUNDS" "$g" "$g_call" "$g_n" "$g_err" "$w" "$w_n" "$w_err"
done

g_med=$(bench_median "${gofr_p50[@]}")
w_med=$(bench_median "${wrk_p50[@]}")
diff=$(awk -v g="$g_med" -v w="$w_med" 'BEGIN { printf "%.3f\n", g - w }')
printf 'median p50: gofr-sim %.3f ms (engine: %s) | wrk %.3f ms | injected %s ms\n' "$g_med" "$engine" "$w_med" "$DELAY_MS"
echo "p50 gofr-sim - wrk: $diff ms (bar <= $BAR_MS ms): $(bench_verdict "$diff" le "$BAR_MS")"
if ((errors > 0)); then
  bench_log "error: $errors failed requests over the runs (see the rounds above)"
  exit 3
fi
exit 0
