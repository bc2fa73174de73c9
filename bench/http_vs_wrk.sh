#!/usr/bin/env bash
# bench/http_vs_wrk.sh: request throughput of gofr-sim against wrk, both
# driving the same local nginx (one worker) serving a 4096-byte file.
#
# Rounds alternate gofr-sim (bench/personas.lua, 32 personas) and wrk
# (1 thread, 32 connections); the verdict compares the medians with the
# target ratio gofr-sim/wrk >= 0.80. The ratio is a report: the exit status
# is 0 whatever it is, 2 when the setup fails, 3 when a measured run fails.
#
# Environment: DURATION (default 10s, a wrk duration: 10s, 1m), ROUNDS
# (default 3), GOFR_SIM (default build/gofr-sim), NGINX, BENCH_PORT_FIRST.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=32
TARGET=0.80

bench_require nginx wrk gofr-sim
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a whole number >= 1, not '$ROUNDS'"
secs=$(bench_seconds "$DURATION")
limit=$((secs * 3 + 60))  # a hung run is stopped after this many seconds

bench_install_trap
bench_raise_nofile 4096
bench_tmpdir
bench_nginx_start

echo "gofr-sim vs wrk: $BENCH_URL, $CONNECTIONS connections, $DURATION per run, $ROUNDS rounds"
echo "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //'), 1 worker; gofr-sim: $GOFR_SIM"

# Prints the failed run's output and stops with status 3.
run_failed() {
  local what=$1 rc=$2 out=$3
  bench_log "$what failed (exit $rc); its output:"
  tail -n 20 "$out" >&2
  exit 3
}

gofr_rps=()
wrk_rps=()
for ((round = 1; round <= ROUNDS; round++)); do
  out="$BENCH_TMP/gofr-$round.txt"
  rc=0
  timeout --foreground -k 10 "$limit" "$GOFR_SIM" bench/personas.lua --url "$BENCH_URL" \
    --personas "$CONNECTIONS" --duration "$DURATION" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || run_failed gofr-sim "$rc" "$out"
  line=$(grep -E '^personas: [0-9]+ requests: [0-9]+ errors: [0-9]+ duration: [0-9.]+ rps: [0-9.]+$' "$out" | tail -n 1) ||
    run_failed "gofr-sim (no summary line)" 0 "$out"
  g_rps=${line##* rps: }
  g_err=$(sed -E 's/.* errors: ([0-9]+) .*/\1/' <<<"$line")
  gofr_rps+=("$g_rps")

  out="$BENCH_TMP/wrk-$round.txt"
  rc=0
  timeout --foreground -k 10 "$limit" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$BENCH_URL" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || run_failed wrk "$rc" "$out"
  w_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  [[ -n $w_rps ]] || run_failed "wrk (no Requests/sec line)" 0 "$out"
  w_p99=$(awk '$1 == "99%" { print $2 }' "$out")
  w_bad=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
  wrk_rps+=("$w_rps")

  printf 'round %d/%d: gofr-sim %10.1f req/s (errors %s) | wrk %10.1f req/s (errors %s, p99 %s)\n' \
    "$round" "$ROUNDS" "$g_rps" "$g_err" "$w_rps" "$w_bad" "${w_p99:-?}"
done

g_med=$(bench_median "${gofr_rps[@]}")
w_med=$(bench_median "${wrk_rps[@]}")
printf 'median: gofr-sim %.1f req/s | wrk %.1f req/s\n' "$g_med" "$w_med"
awk -v g="$g_med" -v w="$w_med" -v t="$TARGET" 'BEGIN {
  if (w <= 0) { printf "ratio gofr-sim/wrk: n/a (wrk measured 0 req/s)\n"; exit }
  r = sprintf("%.2f", g / w)
  printf "ratio gofr-sim/wrk: %s (target %.2f): %s\n", r, t, (r + 0 >= t) ? "PASS" : "BELOW TARGET"
}'
exit 0
