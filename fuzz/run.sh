#!/usr/bin/env bash
# fuzz/run.sh [seconds]: builds the libFuzzer target for the page
# obfuscator (fuzz/obfuscate_fuzz.c with src/core/obfuscate.c, buf.c, gumbo_doc.c, clang,
# -fsanitize=fuzzer,address,undefined) and runs it for SECONDS (default 60)
# over a seed corpus: the fixture pages and the planted-PII pages of the
# tests. New inputs go to $OUT/corpus; a crash leaves its input in $OUT.
#
# Exit status: 0 nothing found, 1 the fuzzer found a crash or a sanitizer
# report, 2 clang or libFuzzer missing, 3 the build failed.
#
# Environment: OUT (default build-fuzz), JOBS (parallel fuzzers, default 1),
# CC (default clang).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
SECONDS_TO_RUN=${1:-60}
OUT=${OUT:-build-fuzz}
CC=${CC:-clang}
JOBS=${JOBS:-1}

if ! command -v "$CC" >/dev/null; then
  echo "fuzz/run.sh: $CC not found" >&2
  exit 2
fi
mkdir -p "$OUT/corpus" "$OUT/seeds"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
  "$CC" -x c -fsanitize=fuzzer - -o "$OUT/probe" 2>/dev/null; then
  echo "fuzz/run.sh: $CC has no libFuzzer (-fsanitize=fuzzer)" >&2
  exit 2
fi

# shellcheck disable=SC2046
if ! "$CC" -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -Iinclude fuzz/obfuscate_fuzz.c src/core/obfuscate.c src/core/buf.c src/core/gumbo_doc.c \
  $(pkg-config --cflags --libs gumbo) -o "$OUT/obfuscate_fuzz"; then
  echo "fuzz/run.sh: build failed" >&2
  exit 3
fi

# Seeds: the fixture pages, and the pages of test/core/test_obfuscate.c.
find fixtures/html -name '*.html' -exec cp {} "$OUT/seeds/" \;
cp fuzz/seeds/* "$OUT/seeds/" 2>/dev/null || true

# With JOBS > 1 libFuzzer runs workers that log to fuzz-N.log in $OUT.
parallel=()
if ((JOBS > 1)); then
  parallel=(-jobs="$JOBS" -workers="$JOBS")
fi
OUT=$(cd "$OUT" && pwd)
rc=0
(cd "$OUT" && ./obfuscate_fuzz -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 "${parallel[@]}" -artifact_prefix="$OUT/" \
  corpus seeds) || rc=$?
if ((rc != 0)); then
  echo "fuzz/run.sh: the fuzzer found a problem (exit $rc); inputs in $OUT/" >&2
  exit 1
fi
echo "fuzz/run.sh: nothing found in ${SECONDS_TO_RUN}s"
