#!/usr/bin/env bash
# bench/memory.sh: peak resident memory of gofr-sim, measured with GNU time.
#
#   (a) 10000 idle personas (bench/personas.lua, no --url)           limit  64 MiB
#   (b) 2000 personas on keep-alive connections to a local nginx
#       (bench/personas.lua --url ... --think 50ms)                          limit 256 MiB
#
# Exit status: 0 when both are within their limits, 1 when one is over its
# limit or its run failed, 2 when the setup fails.
#
# Environment: DURATION (default 5s), GOFR_SIM (default build/gofr-sim),
# NGINX, BENCH_PORT_FIRST.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-5s}
IDLE_PERSONAS=10000
IDLE_LIMIT_MIB=64
KEEPALIVE_PERSONAS=2000
KEEPALIVE_LIMIT_MIB=256

bench_require time nginx gofr-sim
secs=$(bench_seconds "$DURATION")
limit=$((secs * 3 + 60))  # a hung run is stopped after this many seconds

bench_install_trap
# 2000 client sockets plus nginx's 2000: lift the open-files limit first.
bench_raise_nofile 16384
bench_tmpdir

failures=0

# measure NAME LIMIT_MIB SCRIPT ARGS... — runs gofr-sim SCRIPT under
# /usr/bin/time -v and prints the script's summary and the verdict.
measure() {
  local name=$1 limit_mib=$2 script=$3
  shift 3
  local out="$BENCH_TMP/$script.out" stats="$BENCH_TMP/$script.time" rc=0 kib mib summary verdict
  /usr/bin/time -v -o "$stats" timeout --foreground -k 10 "$limit" \
    "$GOFR_SIM" "bench/$script" "$@" >"$out" 2>&1 || rc=$?
  summary=$(grep -E '^personas: ' "$out" | tail -n 1 || true)
  kib=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$stats" 2>/dev/null || true)
  if ((rc != 0)) || [[ -z $kib ]]; then
    printf '%-28s run failed (exit %s): FAIL\n' "$name" "$rc"
    tail -n 20 "$out" >&2
    failures=$((failures + 1))
    return 0
  fi
  mib=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')
  if awk -v m="$mib" -v l="$limit_mib" 'BEGIN { exit !(m <= l) }'; then
    verdict=PASS
  else
    verdict=FAIL
    failures=$((failures + 1))
  fi
  printf '%-28s peak RSS %7s MiB (limit %d MiB): %s   [%s]\n' "$name" "$mib" "$limit_mib" "$verdict" "${summary:-no summary line}"
}

echo "gofr-sim memory: $GOFR_SIM, $DURATION per run"

measure "idle personas ($IDLE_PERSONAS):" "$IDLE_LIMIT_MIB" personas.lua \
  --personas "$IDLE_PERSONAS" --duration "$DURATION" --think 500ms

bench_nginx_start
measure "keep-alive personas ($KEEPALIVE_PERSONAS):" "$KEEPALIVE_LIMIT_MIB" personas.lua \
  --url "$BENCH_URL" --personas "$KEEPALIVE_PERSONAS" --duration "$DURATION" --think 50ms

if ((failures)); then
  exit 1
fi
exit 0
