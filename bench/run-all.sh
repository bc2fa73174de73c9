#!/usr/bin/env bash
# bench/run-all.sh: every benchmark, in order: throughput against wrk, then
# memory. Both run even when the first fails; the exit status is the worse
# of the two (0 all fine, 1 a memory limit exceeded, 2 setup failure, 3 a
# measured run failed). Environment variables pass through (DURATION applies
# to both; see each script).
set -euo pipefail

here=$(dirname "${BASH_SOURCE[0]}")
status=0

echo "== bench/http_vs_wrk.sh"
bash "$here/http_vs_wrk.sh" || status=$?

echo
echo "== bench/memory.sh"
rc=0
bash "$here/memory.sh" || rc=$?
if ((rc > status)); then
  status=$rc
fi
exit "$status"
