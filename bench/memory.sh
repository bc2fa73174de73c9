#!/usr/bin/env bash
# bench/memory.sh: peak resident memory of gofr-sim, measured with GNU time.
#
#   (a) 10000 idle personas (bench/personas.lua, no --url)           limit  64 MiB
#   (b) 2000 personas on keep-alive connections to a local nginx
#       (bench/personas.lua --url ... --think 50ms)                          limit 256 MiB
#   (c) issue 14: 10000 personas each holding a live keep-alive connection
#       to the same nginx: each GETs once, then sleeps until the end
#       (bench/personas.lua --url ... --requests 1), so all connections are
#       open at once; the established connections nginx has (ss, sampled
#       every 0.5 s) are reported with the peak        limit 192 MiB (moonshot 128)
#
# Exit status: 0 when all are within their limits, 1 when one is over its
# limit or its run failed, 2 when the setup fails.
#
# Environment: DURATION (default 5s), HOLD_PERSONAS (default 10000), GOFR_SIM
# (default build/gofr-sim), GOFR_SIM_HTTP_ENGINE (auto|curl|native, default
# auto), NGINX, BENCH_PORT_FIRST.
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION=${DURATION:-5s}
IDLE_PERSONAS=10000
IDLE_LIMIT_MIB=64
KEEPALIVE_PERSONAS=2000
KEEPALIVE_LIMIT_MIB=256
HOLD_PERSONAS=${HOLD_PERSONAS:-10000}
HOLD_LIMIT_MIB=192

bench_require time nginx gofr-sim
[[ $HOLD_PERSONAS =~ ^[1-9][0-9]*$ ]] || bench_die "HOLD_PERSONAS must be a whole number >= 1, not '$HOLD_PERSONAS'"
secs=$(bench_seconds "$DURATION")
limit=$((secs * 3 + 60))  # a hung run is stopped after this many seconds

bench_install_trap
# 10000 client sockets plus nginx's 10000: lift the open-files limit first.
bench_raise_nofile 32768
bench_tmpdir

failures=0

# Established connections on the server side of 127.0.0.1:PORT, or "?".
server_conns() {
  local n
  n=$(ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l) || n="?"
  echo "$n"
}

COUNT_PORT="" # when set, measure samples server_conns of this port while it runs

# measure NAME LIMIT_MIB SCRIPT ARGS... — runs gofr-sim SCRIPT under
# /usr/bin/time -v and prints the script's summary and the verdict.
measure() {
  local name=$1 limit_mib=$2 script=$3
  shift 3
  local out="$BENCH_TMP/$name.out" stats="$BENCH_TMP/$name.time" rc=0 kib mib summary verdict pid peak=0 n conns=""
  out=${out// /_} stats=${stats// /_}
  /usr/bin/time -v -o "$stats" timeout --foreground -k 10 "$limit" \
    "$GOFR_SIM" "bench/$script" "$@" >"$out" 2>&1 &
  pid=$!
  if [[ -n $COUNT_PORT ]]; then
    while kill -0 "$pid" 2>/dev/null; do
      n=$(server_conns "$COUNT_PORT")
      if [[ $n != "?" ]] && ((n > peak)); then
        peak=$n
      fi
      sleep 0.5
    done
    conns=" [server saw at most $peak established connections at once]"
  fi
  wait "$pid" || rc=$?
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
  printf '%-28s peak RSS %7s MiB (limit %d MiB): %s   [%s]%s\n' "$name" "$mib" "$limit_mib" "$verdict" "${summary:-no summary line}" "$conns"
}

echo "gofr-sim memory: $GOFR_SIM, engine: $(bench_engine), $DURATION per run"

measure "idle personas ($IDLE_PERSONAS):" "$IDLE_LIMIT_MIB" personas.lua \
  --personas "$IDLE_PERSONAS" --duration "$DURATION" --think 500ms

bench_nginx_start
measure "keep-alive personas ($KEEPALIVE_PERSONAS):" "$KEEPALIVE_LIMIT_MIB" personas.lua \
  --url "$BENCH_URL" --personas "$KEEPALIVE_PERSONAS" --duration "$DURATION" --think 50ms

command -v ss >/dev/null 2>&1 || bench_log "warning: ss not found (apt-get install iproute2): connections not counted"
COUNT_PORT=$BENCH_PORT
measure "held connections ($HOLD_PERSONAS):" "$HOLD_LIMIT_MIB" personas.lua \
  --url "$BENCH_URL" --personas "$HOLD_PERSONAS" --duration "$DURATION" --requests 1
COUNT_PORT=""

if ((failures)); then
  exit 1
fi
exit 0
