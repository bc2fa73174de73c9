#!/usr/bin/env bash
# bench/histogram.sh: nanoseconds per gs_hist_record (target < 50 ns).
#
# Builds the bench_histogram target in the build directory (configuring it
# first when it has never been configured) and runs it: 100M log-uniform
# values per run, median of 5 runs. Prints
#   record: X.X ns/sample (target < 50 ns)
#
# Exit status: 0 under the target, 1 at or over it, 2 when the build fails,
# 3 when the measured run fails.
#
# Environment: BUILD (default build), SAMPLES (default 100000000).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
SAMPLES=${SAMPLES:-100000000}

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
fi
if ! cmake --build "$BUILD" --target bench_histogram >/dev/null; then
  echo "error: cannot build bench_histogram (is GS_BUILD_TESTS on in $BUILD?)" >&2
  exit 2
fi

rc=0
"$BUILD/bench_histogram" "$SAMPLES" || rc=$?
if ((rc == 1)); then
  exit 1
elif ((rc != 0)); then
  echo "error: bench_histogram failed (exit $rc)" >&2
  exit 3
fi
