#!/bin/bash
# modbus-poller-pause.sh — a SCADA master that skips cycles, against a real pymodbus
# (Debian python3-pymodbus 3.0.0) server, into pcaps/real/modbus-poller-pause.pcap.
# Run as root; needs python3-pymodbus, tcpdump, iproute2 (see README.md).
#
# Nodes: 1 = 192.0.2.11 pymodbus server (unit 1)
#        2 = 192.0.2.12 poller (modbus_poller.py --pair): every 1.1 s a cycle of two
#            reads (holding registers, then input registers), as the public capture's
#            master did; after poll 8 it skips cycles for 4.2 s (the device answered
#            everything it got: no silence); after poll 14 it pauses 6.5 s, during
#            which the server hangs (SIGSTOP): the resumed cycle's request is never
#            answered (a silence, and a No Response).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/modbus-poller-pause.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-pause.XXXXXX)}
PY=/usr/bin/python3   # Debian's interpreter: python3-pymodbus lives in its dist-packages
mkdir -p "$(dirname "$OUT")"

# shellcheck source=netns.sh
. "$HERE/netns.sh"

$PY -c 'import pymodbus' 2>/dev/null || { echo "python3-pymodbus missing: apt-get install -y python3-pymodbus" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }

netns_setup 2
A=$(netns_ip4 1)
netns_capture "$OUT.tmp" 'tcp port 502 or udp port 9'

netns_log "start server on $A"
netns_spawn 1 "$LOGDIR/server.log" $PY "$HERE/modbus_server.py" "$A"
SERVER=$NETNS_LAST_PID
sleep 1.5

# Poll times (s after the first): 0 .. 7.7 (polls 1-8), gap 4.2 -> 11.9 .. 18.5
# (polls 9-14), gap 6.5 -> 25.0 (poll 15: unanswered, the poller gives up).
netns_log "start poller -> $A (1.1 s cycles of two reads; gaps 4.2 s and 6.5 s)"
netns_spawn 2 "$LOGDIR/poller.log" $PY "$HERE/modbus_poller.py" "$A" 1.1 16 --pair 8:4.2 14:6.5
POLLER=$NETNS_LAST_PID
sleep 21.5
netns_log "hang the server (SIGSTOP)"
kill -STOP "$SERVER"
wait "$POLLER" || true
# 8 s more of capture, so that the unanswered request's 5 s deadline passes in
# it: one datagram a second to the discard port moves the capture clock.
netns_exec 2 bash -c 'for i in 1 2 3 4 5 6 7 8; do echo tick >/dev/udp/'"$A"'/9; sleep 1; done' || true
{ kill -KILL "$SERVER"; wait "$SERVER"; } 2>/dev/null || true
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/poller.log" >&2
