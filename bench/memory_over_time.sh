#!/usr/bin/env bash
# bench/memory_over_time.sh: does gofr-sim's memory grow with the number of
# requests? 32 personas loop GETs against a local nginx (every request is
# recorded in the metrics registry) for DURATION (default 10m); the resident
# set size is sampled every INTERVAL seconds (default 30) from /proc.
#
# Verdict: the last sample against the one at one minute (warm-up over);
# growth under 10 % passes. Exit status: 0 pass, 1 growth over 10 %, 2 the
# setup failed, 3 the run failed.
#
# Environment: DURATION (10m), INTERVAL (30), GOFR_SIM, NGINX, BENCH_PORT_FIRST.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-10m}
INTERVAL=${INTERVAL:-30}
bench_require nginx gofr-sim
secs=$(bench_seconds "$DURATION")
((secs >= 90)) || bench_die "DURATION must be at least 90s, not '$DURATION'"

bench_install_trap
bench_tmpdir
bench_nginx_start

out="$BENCH_TMP/personas.out"
"$GOFR_SIM" bench/personas.lua --url "$BENCH_URL" --personas 32 --duration "$DURATION" >"$out" 2>&1 &
pid=$!
echo "gofr-sim memory over time: $BENCH_URL, 32 personas, $DURATION, RSS every ${INTERVAL}s"
printf '%8s  %10s\n' "seconds" "RSS MiB"
baseline="" last="" t=0
while kill -0 "$pid" 2>/dev/null; do
  sleep "$INTERVAL"
  t=$((t + INTERVAL))
  kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
  [[ -n $kib ]] || break
  mib=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')
  printf '%8d  %10s\n' "$t" "$mib"
  last=$mib
  if [[ -z $baseline ]] && ((t >= 60)); then
    baseline=$mib
  fi
done
rc=0
wait "$pid" || rc=$?
((rc == 0)) || { tail -n 20 "$out" >&2; exit 3; }
grep -E '^personas: ' "$out" || true
[[ -n $baseline && -n $last ]] || bench_die "too few samples: lengthen DURATION or shorten INTERVAL"
awk -v b="$baseline" -v l="$last" 'BEGIN {
  g = (l - b) / b * 100
  printf "RSS at 1 min %.1f MiB, at the end %.1f MiB: growth %.1f%% (limit 10%%): %s\n", b, l, g, (g < 10) ? "PASS" : "FAIL"
  exit (g < 10) ? 0 : 1
}'
