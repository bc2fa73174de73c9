#!/usr/bin/env bash
# bench/obfuscate.sh: MB/s of the page obfuscator (gs_obfuscate_page).
#
# Builds the bench_obfuscate target in the build directory (configuring it
# first when it has never been configured) and runs it over the fixture
# pages and over a large synthetic page; median of 5 rounds each. Prints
#   fixture pages: X.X MB/s (median of 5 rounds)
#   synthetic page (8.0 MiB): X.X MB/s (median of 5 rounds)
#
# Exit status: 0 measured, 2 when the build fails, 3 when the measured run
# fails.
#
# Environment: BUILD (default build).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
fi
if ! cmake --build "$BUILD" --target bench_obfuscate >/dev/null; then
  echo "error: cannot build bench_obfuscate (is GS_BUILD_TESTS on in $BUILD?)" >&2
  exit 2
fi

mapfile -t pages < <(find fixtures/html -name '*.html' | sort)
rc=0
"$BUILD/bench_obfuscate" "${pages[@]}" || rc=$?
if ((rc != 0)); then
  echo "error: bench_obfuscate failed (exit $rc)" >&2
  exit 3
fi
