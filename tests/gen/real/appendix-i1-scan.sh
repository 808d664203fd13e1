#!/bin/bash
# appendix-i1-scan.sh — ITU-T X.1367 Appendix I.1 with real software: "an attacker sends
# random commands to an edge device; the device answers with its proprietary bad-request
# code". Writes pcaps/real/appendix-i1-scan.pcap. Run as root; needs python3-pymodbus,
# tcpdump, iproute2 (see README.md). Everything runs in throw-away network namespaces,
# removed on exit (also on failure / Ctrl-C) by netns.sh's trap.
#
# Nodes: 1 = 192.0.2.11 pymodbus server (modbus_server.py, unit 1) — the edge device
#        2 = 192.0.2.12 attacker (appendix_i1_scan.py): one TCP connection, raw MBAP
#            frames, a sweep of 20 function codes (random.Random(1367)) plus valid reads
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/appendix-i1-scan.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-i1scan.XXXXXX)}
PY=/usr/bin/python3   # Debian's interpreter: python3-pymodbus lives in its dist-packages
mkdir -p "$(dirname "$OUT")" "$LOGDIR"

# shellcheck source=netns.sh
. "$HERE/netns.sh"

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
$PY -c 'import pymodbus' 2>/dev/null || { echo "python3-pymodbus missing: apt-get install -y python3-pymodbus" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }

netns_setup 2
SRV=$(netns_ip4 1)
netns_capture "$OUT.tmp" 'tcp port 502'

netns_log "start pymodbus server on $SRV"
netns_spawn 1 "$LOGDIR/server.log" $PY "$HERE/modbus_server.py" "$SRV"
# Wait until it listens (no Modbus traffic yet: just poll the socket table).
for _ in $(seq 50); do
	netns_exec 1 ss -ltn 2>/dev/null | grep -q ":502 " && break
	sleep 0.1
done
sleep 0.3

netns_log "start attacker -> $SRV (sweep of 20 function codes; 6.5 s idle + 1 read only if one went unanswered)"
# Spawned + wait (not a foreground command): a Ctrl-C / TERM interrupts the wait at
# once, and the trap tears everything down, the scanner included.
netns_spawn 2 "$LOGDIR/scan.log" $PY "$HERE/appendix_i1_scan.py" "$SRV" 6.5
wait "$NETNS_LAST_PID" || {
	cat "$LOGDIR/scan.log" >&2
	exit 1
}
sleep 0.5
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/scan.log" >&2
