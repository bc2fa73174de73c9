#!/usr/bin/env bash
# A stand-in client for the MCP conformance suite that proves where the
# suite's test servers listen (spec/conformance_spec.lua):
#
#   GS_LISTEN_PROBE_OUT=FILE conformance client --command "listen-probe.sh" --scenario S
#
# Run by the suite while its servers are up, it finds the suite's node
# process (its nearest ancestor running conformance/dist/index.js) and
# writes to FILE the server URL it was given and every TCP socket that
# process listens on, from /proc (no ss needed):
#
#   URL http://localhost:PORT/mcp
#   LISTEN 127.0.0.1:PORT            an IPv4 listener
#   LISTEN6 <32 hex digits>:PORT      an IPv6 listener (there should be none)
#
# It connects nowhere and does no MCP: the scenario itself fails.
set -euo pipefail
out="${GS_LISTEN_PROBE_OUT:?set GS_LISTEN_PROBE_OUT to the report file}"
url="${!#}"

ppid_of() { sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' "/proc/$1/stat"; }

pid=$$
found=""
for _ in 1 2 3 4 5 6 7 8; do
  pid=$(ppid_of "$pid")
  [ "$pid" -gt 1 ] || break
  if tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'conformance/dist/index.js'; then
    found=$pid
    break
  fi
done
{
  echo "URL $url"
  [ -n "$found" ] || { echo "ERROR the suite's node process is not among my ancestors"; exit 0; }
  echo "PID $found"
  declare -A mine=()
  for fd in /proc/"$found"/fd/*; do
    link=$(readlink "$fd" 2>/dev/null) || continue
    case "$link" in socket:\[*\]) inode=${link#socket:[}; mine[${inode%]}]=1 ;; esac
  done
  # /proc/net/tcp: sl local_address rem_address st ... inode (10th field);
  # st 0A is LISTEN; the address is the 32-bit word in host (little-endian) order.
  while read -r _ local _ st _ _ _ _ _ inode _; do
    [ "$st" = 0A ] && [ -n "${mine[$inode]:-}" ] || continue
    hex=${local%:*}
    printf 'LISTEN %d.%d.%d.%d:%d\n' "0x${hex:6:2}" "0x${hex:4:2}" "0x${hex:2:2}" "0x${hex:0:2}" "0x${local#*:}"
  done < <(tail -n +2 "/proc/$found/net/tcp")
  while read -r _ local _ st _ _ _ _ _ inode _; do
    [ "$st" = 0A ] && [ -n "${mine[$inode]:-}" ] || continue
    printf 'LISTEN6 %s:%d\n' "${local%:*}" "0x${local#*:}"
  done < <(tail -n +2 "/proc/$found/net/tcp6" 2>/dev/null || true)
} >"$out"
