#!/usr/bin/env bash
# Installs the Debian packages gofr-sim needs that are missing, and nothing
# else. Idempotent: a second run installs nothing and changes nothing.
#
#   scripts/install-deps.sh            build + test packages
#   scripts/install-deps.sh --bench    also the benchmark peers (nginx, wrk, ab, h2load)
set -euo pipefail

# LuaJIT is OpenResty's maintained branch (luajit2): Debian's plain luajit
# snapshot miscompiles pairs() loops (LuaJIT #827; docs/architecture.md). The
# two conflict; apt replaces the old one when it is installed.
BUILD_PKGS=(build-essential cmake pkg-config
  libluajit2-5.1-dev luajit2 lua-cjson libuv1-dev libcurl4-openssl-dev libssl-dev
  libjwt-dev libgumbo-dev libhttp-parser-dev libedit-dev)
# clang and its runtime carry libFuzzer for the fuzz targets (fuzz/).
TEST_PKGS=(lua-busted lua-check clang-format clang libclang-rt-14-dev python3 python3-yaml prometheus chromium)
BENCH_PKGS=(nginx-light wrk apache2-utils nghttp2-client time iproute2)

want=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}")
case "${1:-}" in
  "") ;;
  --bench) want+=("${BENCH_PKGS[@]}") ;;
  *) echo "usage: $0 [--bench]" >&2; exit 2 ;;
esac

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for pkg in "${want[@]}"; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "install-deps: apt-get not found; install these packages by hand: ${missing[*]}" >&2
  exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
