#!/usr/bin/env bash
# Configures and builds quietly: cmake's output goes to DIR/build.log and is
# shown only when it matters.
#
#   scripts/build.sh DIR JOBS [cmake -D options...]
#
# run from the source tree (the Makefile does), which it configures into DIR.
# Success prints nothing, unless the compiler warned: then the log's
# diagnostics (without the "[ 42%] Building ..." progress lines) are shown.
# A failure shows the failing step's output the same way — the compiler's
# errors and make's "*** [...] Error" lines — names the full log, and exits
# with cmake's status. GOFR_SIM_VERBOSE=1 (make V=1) streams everything.
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 DIR JOBS [cmake -D options...]" >&2
  exit 2
fi
dir=$1 jobs=$2
shift 2
src=.

if [ "${GOFR_SIM_VERBOSE:-0}" = 1 ]; then
  cmake -S "$src" -B "$dir" "$@" && cmake --build "$dir" -j "$jobs"
  exit $?
fi

mkdir -p "$dir" || exit 1
log=$dir/build.log
# The log without progress lines, make's directory chatter, or cmake's
# configure summary ("-- ..."): what a reader needs.
diagnostics() {
  grep -v -E '^\[ *[0-9]+%\] |^(g?make|ninja)(\[[0-9]+\])?: (Entering|Leaving) directory|^-- ' "$log"
}

status=0
cmake -S "$src" -B "$dir" "$@" >"$log" 2>&1 || status=$?
if [ $status -eq 0 ]; then
  cmake --build "$dir" -j "$jobs" >>"$log" 2>&1 || status=$?
fi
if [ $status -ne 0 ]; then
  diagnostics >&2
  echo "build failed (exit status $status); the whole output: $log" >&2
  exit $status
fi
if grep -q -i 'warning:' "$log"; then
  diagnostics >&2
  echo "built with warnings (above); the whole output: $log" >&2
fi
exit 0
