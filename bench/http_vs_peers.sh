#!/usr/bin/env bash
# bench/http_vs_peers.sh: request throughput of gofr-sim against wrk and
# h2load, all three driving the same local nginx (one worker) serving a
# 4096-byte file over 32 keep-alive HTTP/1.1 connections from one thread.
#
# Each round runs, one after the other: gofr-sim (bench/personas.lua, 32
# personas, the engine from GOFR_SIM_HTTP_ENGINE), `wrk -t1 -c32` and
# `h2load --h1 -t1 -c32`. Prints every round, the medians and the ratios
# gofr-sim/wrk and gofr-sim/h2load against issue 14's bar (>= 0.90; the
# moonshot is 1.00). The ratios are a report: the exit status is 0 whatever
# they are, 2 when the setup fails, 3 when a measured run fails or reports
# errors.
#
# Environment: DURATION (default 10s; whole seconds for h2load), ROUNDS
# (default 3), GOFR_SIM (default build/gofr-sim), GOFR_SIM_HTTP_ENGINE
# (auto|curl|native, default auto), NGINX, BENCH_PORT_FIRST.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=32
BAR=0.90

bench_require nginx wrk h2load gofr-sim
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a whole number >= 1, not '$ROUNDS'"
secs=$(bench_seconds "$DURATION")
limit=$((secs * 3 + 60)) # a hung run is stopped after this many seconds

bench_install_trap
bench_raise_nofile 4096
bench_tmpdir
bench_nginx_start

engine=$(bench_engine)
echo "gofr-sim vs wrk vs h2load: $BENCH_URL, $CONNECTIONS connections, 1 client thread, ${secs}s per run, $ROUNDS rounds"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/^nginx version: nginx\///'), 1 worker;" \
  "wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); $(h2load --version 2>&1 | head -n 1);" \
  "gofr-sim $GOFR_SIM, engine: $engine"

gofr_rps=() wrk_rps=() h2_rps=()
errors=0
for ((round = 1; round <= ROUNDS; round++)); do
  out="$BENCH_TMP/gofr-$round.txt"
  rc=0
  timeout --foreground -k 10 "$limit" "$GOFR_SIM" bench/personas.lua --url "$BENCH_URL" \
    --personas "$CONNECTIONS" --duration "${secs}s" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed gofr-sim "$rc" "$out"
  line=$(grep -E '^personas: [0-9]+ requests: [0-9]+ errors: [0-9]+ duration: [0-9.]+ rps: [0-9.]+$' "$out" | tail -n 1) ||
    bench_run_failed "gofr-sim (no summary line)" 0 "$out"
  g_rps=${line##* rps: }
  g_err=$(sed -E 's/.* errors: ([0-9]+) .*/\1/' <<<"$line")
  gofr_rps+=("$g_rps")

  out="$BENCH_TMP/wrk-$round.txt"
  rc=0
  timeout --foreground -k 10 "$limit" wrk -t1 -c"$CONNECTIONS" -d"${secs}s" "$BENCH_URL" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed wrk "$rc" "$out"
  w_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
  [[ -n $w_rps ]] || bench_run_failed "wrk (no Requests/sec line)" 0 "$out"
  w_err=$(awk '/Non-2xx or 3xx responses:/ { n += $NF } /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$out")
  wrk_rps+=("$w_rps")

  out="$BENCH_TMP/h2load-$round.txt"
  rc=0
  timeout --foreground -k 10 "$limit" h2load --h1 -t1 -c"$CONNECTIONS" -D "$secs" "$BENCH_URL" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed h2load "$rc" "$out"
  # "finished in 10.00s, 87000.10 req/s, ..." and
  # "requests: N total, N started, N done, N succeeded, F failed, E errored, T timeout"
  h_rps=$(awk '/^finished in / { gsub(/,/, ""); print $4 }' "$out")
  [[ -n $h_rps ]] || bench_run_failed "h2load (no 'finished in' line)" 0 "$out"
  h_err=$(awk '/^requests: / { gsub(/,/, ""); print $10 + $12 + $14 }' "$out")
  h_err=$((${h_err:-0} + $(awk '/^status codes: / { gsub(/,/, ""); print $5 + $7 + $9 }' "$out")))
  h2_rps+=("$h_rps")

  errors=$((errors + g_err + w_err + h_err))
  printf 'round %d/%d: gofr-sim %9.1f req/s (errors %s) | wrk %9.1f req/s (errors %s) | h2load %9.1f req/s (errors %s)\n' \
    "$round" "$ROUNDS" "$g_rps" "$g_err" "$w_rps" "$w_err" "$h_rps" "$h_err"
done

g_med=$(bench_median "${gofr_rps[@]}")
w_med=$(bench_median "${wrk_rps[@]}")
h_med=$(bench_median "${h2_rps[@]}")
r_wrk=$(bench_ratio "$g_med" "$w_med")
r_h2=$(bench_ratio "$g_med" "$h_med")
printf 'median: gofr-sim %.1f req/s (engine: %s) | wrk %.1f req/s | h2load %.1f req/s\n' "$g_med" "$engine" "$w_med" "$h_med"
printf 'ratio gofr-sim/wrk: %s (bar >= %s): %s | ratio gofr-sim/h2load: %s (bar >= %s): %s\n' \
  "$r_wrk" "$BAR" "$(bench_verdict "$r_wrk" ge "$BAR")" "$r_h2" "$BAR" "$(bench_verdict "$r_h2" ge "$BAR")"
if ((errors > 0)); then
  bench_log "error: $errors failed requests over the runs (see the rounds above)"
  exit 3
fi
exit 0
