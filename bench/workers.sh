#!/usr/bin/env bash
# bench/workers.sh: how gofr-sim's throughput scales with --workers, beside
# how wrk's scales with its threads, all against the same local nginx (one
# worker) serving a 4096-byte file over 32 keep-alive connections in all.
#
# Each round runs, one after the other: gofr-sim bench/workers_get.lua with
# --workers 1, then --workers 2 (32 personas split between them), then
# `wrk -t1 -c32` and `wrk -t2 -c32`; then the client-bound pair: gofr-sim
# --workers 1 and 2 GETting a 7 KiB fixture HTML page and extracting it
# (--extract: gumbo and the text walk on the client), where nginx is far
# from its limit. Prints every round, the medians and the scaling ratios
# (2 threads / 1) of each. A report, not the exit status: 0 fine, 2 setup
# failure, 3 a measured run failed or reported errors.
#
# Environment: DURATION (default 10s), ROUNDS (default 3), GOFR_SIM (default
# build/gofr-sim), NGINX, BENCH_PORT_FIRST.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=32

bench_require nginx wrk gofr-sim
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || bench_die "ROUNDS must be a whole number >= 1, not '$ROUNDS'"
secs=$(bench_seconds "$DURATION")
limit=$((secs * 3 + 60))

bench_install_trap
bench_raise_nofile 4096
bench_tmpdir
bench_nginx_start
cp "$(dirname "${BASH_SOURCE[0]}")/../fixtures/html/contact.html" "$BENCH_TMP/nginx/www/page.html"
PAGE_URL=${BENCH_URL%/4k.bin}/page.html

echo "--workers scaling: $BENCH_URL, $CONNECTIONS connections in all, ${secs}s per run, $ROUNDS rounds, $(nproc) cores"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/^nginx version: nginx\///'), 1 worker; wrk $(wrk -v 2>&1 | awk 'NR == 1 { print $2 }'); gofr-sim $GOFR_SIM, engine: $(bench_engine)"

# gofr-sim with W workers, round R [, extra flags]: its req/s (the summary's
# "(N req/s)"); errors counted.
errors=0
gofr_run() {
  local w=$1 out="$BENCH_TMP/gofr-$1-$2${3:+-x}.txt" rc=0 url=$BENCH_URL
  [[ -n ${3:-} ]] && url=$PAGE_URL
  timeout --foreground -k 10 "$limit" "$GOFR_SIM" bench/workers_get.lua --url "$url" ${3:+"$3"} \
    --consumers "$CONNECTIONS" --duration "${secs}s" --workers "$w" --quiet >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed "gofr-sim --workers $w" "$rc" "$out"
  local line
  line=$(grep -E '^[0-9]+ requests, [0-9]+ errors in [0-9.]+s \([0-9.]+ req/s\)' "$out" | tail -n 1) ||
    bench_run_failed "gofr-sim --workers $w (no summary line)" 0 "$out"
  errors=$((errors + $(sed -E 's/^[0-9]+ requests, ([0-9]+) errors.*/\1/' <<<"$line")))
  sed -E 's/.*\(([0-9.]+) req\/s\).*/\1/' <<<"$line"
}

wrk_run() {
  local t=$1 out="$BENCH_TMP/wrk-$1-$2.txt" rc=0
  timeout --foreground -k 10 "$limit" wrk -t"$t" -c"$CONNECTIONS" -d"${secs}s" "$BENCH_URL" >"$out" 2>&1 || rc=$?
  ((rc == 0)) || bench_run_failed "wrk -t$t" "$rc" "$out"
  errors=$((errors + $(awk '/Non-2xx or 3xx responses:/ { n += $NF } END { print n + 0 }' "$out")))
  awk '/^Requests\/sec:/ { print $2 }' "$out"
}

g1=() g2=() w1=() w2=() x1=() x2=()
for ((round = 1; round <= ROUNDS; round++)); do
  g1+=("$(gofr_run 1 "$round")")
  g2+=("$(gofr_run 2 "$round")")
  w1+=("$(wrk_run 1 "$round")")
  w2+=("$(wrk_run 2 "$round")")
  x1+=("$(gofr_run 1 "$round" --extract)")
  x2+=("$(gofr_run 2 "$round" --extract)")
  printf 'round %d/%d: gofr-sim --workers 1 %9.1f, --workers 2 %9.1f req/s | wrk -t1 %9.1f, -t2 %9.1f req/s | extract: --workers 1 %8.1f, 2 %8.1f\n' \
    "$round" "$ROUNDS" "${g1[-1]}" "${g2[-1]}" "${w1[-1]}" "${w2[-1]}" "${x1[-1]}" "${x2[-1]}"
done

m_g1=$(bench_median "${g1[@]}") m_g2=$(bench_median "${g2[@]}")
m_w1=$(bench_median "${w1[@]}") m_w2=$(bench_median "${w2[@]}")
m_x1=$(bench_median "${x1[@]}") m_x2=$(bench_median "${x2[@]}")
printf 'median: gofr-sim --workers 1 %.1f, --workers 2 %.1f req/s | wrk -t1 %.1f, -t2 %.1f req/s\n' \
  "$m_g1" "$m_g2" "$m_w1" "$m_w2"
printf 'scaling (2 threads / 1): gofr-sim %s | wrk %s | gofr-sim --workers 2 / wrk -t2: %s\n' \
  "$(bench_ratio "$m_g2" "$m_g1")" "$(bench_ratio "$m_w2" "$m_w1")" "$(bench_ratio "$m_g2" "$m_w2")"
printf 'client-bound (GET + extract): --workers 1 %.1f, --workers 2 %.1f req/s, scaling %s\n' \
  "$m_x1" "$m_x2" "$(bench_ratio "$m_x2" "$m_x1")"
if ((errors > 0)); then
  bench_log "error: $errors failed requests over the runs (see the rounds above)"
  exit 3
fi
exit 0
