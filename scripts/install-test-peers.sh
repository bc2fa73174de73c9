#!/usr/bin/env bash
# Installs the MCP test peers (test/peers: the official MCP TypeScript SDK,
# pinned by package.json + package-lock.json, and the small server scripts
# spec/mcp_spec.lua runs) into build/test-peers.
#
#   scripts/install-test-peers.sh [DEST]      DEST defaults to build/test-peers
#
# Idempotent: scripts are copied only when they changed, and `npm ci` runs
# only when node_modules is missing or the lockfile changed since the last
# install. Without node/npm it says so and exits 0: the specs that need the
# peers are then marked pending. npm needs the registry on the first run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src="$here/test/peers"
dest="${1:-$here/build/test-peers}"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-test-peers: node/npm not found; skipping (the MCP peer specs will be pending)" >&2
  exit 0
fi

mkdir -p "$dest"
# One install at a time into a DEST: specs of several build trees (build,
# build-asan) share build/test-peers, and ctest's RESOURCE_LOCK only orders
# the specs of one ctest run. npm ci empties node_modules first, so a second
# install or a spec reading the peers meanwhile would see a half tree. The
# lock is released when this script exits; waiting for it is bounded.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dest/.install.lock"
  flock -w 600 9 || { echo "install-test-peers: $dest is locked by another install for 10 min" >&2; exit 1; }
fi
for f in "$src"/package.json "$src"/package-lock.json "$src"/*.js "$src"/*.mjs; do
  [ -e "$f" ] || continue
  cmp -s "$f" "$dest/$(basename "$f")" || cp "$f" "$dest/"
done

stamp="$dest/node_modules/.gofr-sim-lock"
if [ -d "$dest/node_modules" ] && cmp -s "$src/package-lock.json" "$stamp"; then
  exit 0
fi
echo "install-test-peers: npm ci in $dest" >&2
rm -f "$stamp"
(cd "$dest" && timeout 900 npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
cp "$src/package-lock.json" "$stamp"
