#!/usr/bin/env bash
# fuzz/run.sh TARGET [SECONDS]: builds the libFuzzer target TARGET
# (fuzz/TARGET_fuzz.c with the core sources it exercises, clang,
# -fsanitize=fuzzer,address,undefined) and runs it for SECONDS (default 60)
# over its seed corpus fuzz/seeds/TARGET/ (plus the fixture pages for the
# HTML targets). New inputs go to $OUT/TARGET/corpus; a crash, leak or
# timeout leaves its input in $OUT/TARGET/. `fuzz/run.sh --list` prints the
# targets.
#
# Findings: fuzz/crashes/TARGET/ holds the reproducers of open findings
# (docs/reliability.md, "Fuzzing"); each is run first, and one that still
# fails fails the run, so a known bug fails every time, not by chance. Once
# fixed, its file moves to fuzz/seeds/TARGET/ and guards the fix.
#
# Exit status: 0 nothing found, 1 the fuzzer found a crash, a sanitizer
# report, a leak or a hang, or an open finding still reproduces, 2 clang or
# libFuzzer missing (install the Debian packages clang and
# libclang-rt-14-dev: scripts/install-deps.sh), 3 the build failed, 4 usage.
#
# Environment: OUT (default build-fuzz), JOBS (parallel fuzzers, default 1),
# CC (default clang), FUZZ_FLAGS (more libFuzzer flags, e.g. -runs=10000000
# for the long runs of docs/reliability.md), OPEN_FINDINGS=skip (fuzz
# without running fuzz/crashes/TARGET/ first, to look for other bugs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TARGETS=(obfuscate sse http_server http_client http1_client jwt html histogram json process_lines)

# What each target is built from and how it is run: its core sources, its
# pkg-config modules, other libraries, its libFuzzer dictionary (none: ""),
# the longest input and the per-input time limit (s).
target_config() {
  LIBS=() DICT=""
  case "$1" in
    obfuscate)
      SRCS=(src/core/obfuscate.c src/core/buf.c src/core/gumbo_doc.c)
      PKGS=(gumbo) MAX_LEN=65536 TIMEOUT=10 ;;
    sse)
      SRCS=(src/core/sse.c src/core/buf.c src/core/error.c)
      PKGS=() DICT=fuzz/sse.dict MAX_LEN=16384 TIMEOUT=5 ;;
    http_server)
      SRCS=(fuzz/fuzz_uv.c src/core/http_server.c src/core/buf.c src/core/error.c)
      PKGS=(libuv) LIBS=(-lhttp_parser) DICT=fuzz/http.dict MAX_LEN=16384 TIMEOUT=10 ;;
    http_client)
      SRCS=(fuzz/fuzz_uv.c src/core/http_client.c src/core/http1_client.c src/core/buf.c src/core/error.c)
      PKGS=(libuv libcurl) LIBS=(-lhttp_parser) DICT=fuzz/http.dict MAX_LEN=16384 TIMEOUT=10 ;;
    http1_client)
      SRCS=(fuzz/fuzz_uv.c src/core/http_client.c src/core/http1_client.c src/core/buf.c src/core/error.c)
      PKGS=(libuv libcurl) LIBS=(-lhttp_parser) DICT=fuzz/http.dict MAX_LEN=16384 TIMEOUT=10 ;;
    jwt)
      SRCS=(src/core/jwt.c src/core/base64.c src/core/error.c)
      PKGS=(libjwt openssl) MAX_LEN=8192 TIMEOUT=5 ;;
    html)
      SRCS=(src/core/html*.c src/core/buf.c src/core/gumbo_doc.c src/core/error.c)
      PKGS=(gumbo) MAX_LEN=65536 TIMEOUT=20 ;;
    histogram)
      SRCS=(src/core/histogram.c src/core/base64.c src/core/error.c)
      PKGS=() MAX_LEN=8192 TIMEOUT=5 ;;
    process_lines)
      SRCS=(src/core/process.c src/core/buf.c src/core/error.c)
      PKGS=(libuv) MAX_LEN=16384 TIMEOUT=5 ;;
    json)
      SRCS=()
      PKGS=(luajit) MAX_LEN=16384 TIMEOUT=10 ;;
    *) return 1 ;;
  esac
}

if [ "${1:-}" = "--list" ]; then
  printf '%s\n' "${TARGETS[@]}"
  exit 0
fi
TARGET=${1:-}
if ! target_config "$TARGET"; then
  echo "usage: fuzz/run.sh TARGET [SECONDS]; TARGET is one of: ${TARGETS[*]}" >&2
  exit 4
fi
SECONDS_TO_RUN=${2:-60}
OUT=${OUT:-build-fuzz}
CC=${CC:-clang}
JOBS=${JOBS:-1}
DIR="$OUT/$TARGET"

if ! command -v "$CC" >/dev/null; then
  echo "fuzz/run.sh: $CC not found: install the Debian packages clang and" \
    "libclang-rt-14-dev (scripts/install-deps.sh)" >&2
  exit 2
fi
mkdir -p "$DIR/corpus" "$DIR/seeds"
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
  "$CC" -x c -fsanitize=fuzzer,address,undefined - -o "$DIR/probe" 2>/dev/null; then
  echo "fuzz/run.sh: $CC has no libFuzzer (-fsanitize=fuzzer): install the Debian" \
    "package libclang-rt-14-dev (scripts/install-deps.sh)" >&2
  exit 2
fi

pkg_flags=()
if ((${#PKGS[@]})); then
  read -ra pkg_flags <<<"$(pkg-config --cflags --libs "${PKGS[@]}")"
fi
if ! "$CC" -std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
  -fno-sanitize-recover=undefined -Iinclude -DGS_SOURCE_DIR="\"$PWD\"" \
  "fuzz/${TARGET}_fuzz.c" fuzz/fuzz.c "${SRCS[@]}" "${pkg_flags[@]}" "${LIBS[@]}" -lm -o "$DIR/${TARGET}_fuzz"; then
  echo "fuzz/run.sh: build of $TARGET failed" >&2
  exit 3
fi

cp fuzz/seeds/"$TARGET"/* "$DIR/seeds/"
# The fixture pages: as they are for the obfuscator; for html after an
# options byte (extract with everything) and an empty selector line.
case "$TARGET" in
  obfuscate) find fixtures/html -name '*.html' -exec cp {} "$DIR/seeds/" \; ;;
  html)
    while IFS= read -r -d '' page; do
      { printf '\014\n' && cat "$page"; } >"$DIR/seeds/fixture-$(basename "$page")"
    done < <(find fixtures/html -name '*.html' -print0) ;;
esac

# With JOBS > 1 libFuzzer runs workers that log to fuzz-N.log in $DIR.
parallel=()
if ((JOBS > 1)); then
  parallel=(-jobs="$JOBS" -workers="$JOBS")
fi
read -ra extra <<<"${FUZZ_FLAGS:-}"
if [ -n "$DICT" ]; then
  extra+=(-dict="$PWD/$DICT")
fi
DIR=$(cd "$DIR" && pwd)
open=()
if [ "${OPEN_FINDINGS:-run}" != skip ] && [ -d "fuzz/crashes/$TARGET" ]; then
  open=("$PWD/fuzz/crashes/$TARGET"/*)
fi
for f in "${open[@]}"; do
  if ! (cd "$DIR" && "./${TARGET}_fuzz" -timeout="$TIMEOUT" -rss_limit_mb=2048 "$f"); then
    echo "fuzz/run.sh: open finding ${f#"$PWD/"} still reproduces" >&2
    exit 1
  fi
done
rc=0
(cd "$DIR" && "./${TARGET}_fuzz" -max_total_time="$SECONDS_TO_RUN" -max_len="$MAX_LEN" \
  -timeout="$TIMEOUT" -rss_limit_mb=2048 -print_final_stats=1 "${parallel[@]}" "${extra[@]}" \
  -artifact_prefix="$DIR/" corpus seeds) || rc=$?
if ((rc != 0)); then
  echo "fuzz/run.sh: the $TARGET fuzzer found a problem (exit $rc); inputs in $DIR/" >&2
  exit 1
fi
echo "fuzz/run.sh: $TARGET: nothing found in ${SECONDS_TO_RUN}s"
