#!/bin/bash
# modbus-pymodbus.sh — capture real pymodbus (Debian python3-pymodbus 3.0.0) server and
# client traffic into pcaps/real/modbus-pymodbus.pcap. Run as root; needs python3-pymodbus,
# tcpdump, iproute2 (see README.md). Everything runs in throw-away network namespaces.
#
# Nodes: 1 = 192.0.2.11 pymodbus server A (unit 1)       — errors, pipelining, splits
#        2 = 192.0.2.12 requester (modbus_client.py)      — talks to A
#        3 = 192.0.2.13 pymodbus server B (unit 1)       — polled every 1 s, then killed
#        4 = 192.0.2.14 poller (modbus_poller.py)         — polls B
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/modbus-pymodbus.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-modbus.XXXXXX)}
PY=/usr/bin/python3   # Debian's interpreter: python3-pymodbus lives in its dist-packages
mkdir -p "$(dirname "$OUT")"

# shellcheck source=netns.sh
. "$HERE/netns.sh"

$PY -c 'import pymodbus' 2>/dev/null || { echo "python3-pymodbus missing: apt-get install -y python3-pymodbus" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }

netns_setup 4
A=$(netns_ip4 1)
B=$(netns_ip4 3)
netns_capture "$OUT.tmp" 'tcp port 502'

netns_log "start server A on $A and server B on $B"
netns_spawn 1 "$LOGDIR/serverA.log" $PY "$HERE/modbus_server.py" "$A"
netns_spawn 3 "$LOGDIR/serverB.log" $PY "$HERE/modbus_server.py" "$B"
SERVER_B=$NETNS_LAST_PID
sleep 1.5

# Requester: phases A-C take ~9 s, then 10 keepalive reads 5 s apart (~45 s).
netns_log "start requester -> $A"
netns_spawn 2 "$LOGDIR/client.log" $PY "$HERE/modbus_client.py" "$A" 10
CLIENT=$NETNS_LAST_PID
sleep 1

# Poller: 1 s period, 10 polls answered, then server B is killed.
netns_log "start poller -> $B (1 s period)"
netns_spawn 4 "$LOGDIR/poller.log" $PY "$HERE/modbus_poller.py" "$B" 1 60
sleep 10.3
netns_log "kill server B (SIGKILL)"
{ kill -KILL "$SERVER_B"; wait "$SERVER_B"; } 2>/dev/null || true

# The requester keeps the capture clock running ~40 s more (keepalive reads on A).
wait "$CLIENT" || true
sleep 1
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/client.log" "$LOGDIR/poller.log" >&2
