#!/bin/bash
# modbus-same-tid.sh — capture a requester that sends one Modbus transaction id twice
# before the answer (two ADUs in one TCP segment) to a real pymodbus server (Debian
# python3-pymodbus 3.0.0), into pcaps/real/modbus-same-tid.pcap. Run as root; needs
# python3-pymodbus, tcpdump, iproute2 (see README.md). Everything runs in throw-away
# network namespaces.
#
# Nodes: 1 = 192.0.2.11 pymodbus server (unit 1, modbus_server.py)
#        2 = 192.0.2.12 requester (modbus_same_tid.py)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/modbus-same-tid.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-modbus-same-tid.XXXXXX)}
PY=/usr/bin/python3   # Debian's interpreter: python3-pymodbus lives in its dist-packages
mkdir -p "$(dirname "$OUT")"

# shellcheck source=netns.sh
. "$HERE/netns.sh"

$PY -c 'import pymodbus' 2>/dev/null || { echo "python3-pymodbus missing: apt-get install -y python3-pymodbus" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }

netns_setup 2
SERVER=$(netns_ip4 1)
netns_capture "$OUT.tmp" 'tcp port 502'

netns_log "start pymodbus server on $SERVER"
netns_spawn 1 "$LOGDIR/server.log" $PY "$HERE/modbus_server.py" "$SERVER"
sleep 1.5

netns_log "start requester -> $SERVER"
netns_exec 2 $PY "$HERE/modbus_same_tid.py" "$SERVER" 2>"$LOGDIR/client.log" || true
sleep 0.5
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/client.log" >&2
