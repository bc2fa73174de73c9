#!/usr/bin/env bash
# bench/run-all.sh: every benchmark, in order: throughput against wrk,
# memory, then histogram recording speed. All run even when one fails; the
# exit status is the worst of them (0 all fine, 1 a limit or target exceeded,
# 2 setup failure, 3 a measured run failed). Environment variables pass
# through (DURATION applies to the first two; see each script).
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

echo
echo "== bench/histogram.sh"
rc=0
bash "$here/histogram.sh" || rc=$?
if ((rc > status)); then
  status=$rc
fi
exit "$status"
