#!/bin/bash
# echonet-npm.sh — capture real ECHONET Lite traffic between npm implementations into
# pcaps/real/echonet-npm.pcap. Run as root; needs nodejs/npm, tcpdump, iproute2 and
# `npm ci` in this directory (done here if node_modules is missing).
#
# Nodes: 1 = 192.0.2.11 controller 05ff01 (node-echonet-lite, from UDP 3610)
#        2 = 192.0.2.12 air conditioner 013001 + node profile (echonet-lite, el_aircon.js)
#        3 = 192.0.2.13 temperature sensor 001101 + node profile (echonet-lite,
#            el_sensor.js): INF every 2 s, killed after ~21 s
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/echonet-npm.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-echonet.XXXXXX)}
mkdir -p "$(dirname "$OUT")"

command -v node >/dev/null || { echo "nodejs missing: apt-get install -y nodejs npm" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }
if [[ ! -d $HERE/node_modules/echonet-lite || ! -d $HERE/node_modules/node-echonet-lite ]]; then
	(cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts)
fi

# shellcheck source=netns.sh
. "$HERE/netns.sh"

netns_setup 3
CTL=$(netns_ip4 1)
AC=$(netns_ip4 2)
SENSOR=$(netns_ip4 3)
netns_capture "$OUT.tmp" 'udp port 3610'

cd "$HERE"
netns_log "start air conditioner node on $AC, sensor node on $SENSOR"
netns_spawn 2 "$LOGDIR/aircon.log" node el_aircon.js
netns_spawn 3 "$LOGDIR/sensor.log" node el_sensor.js 2000
SENSOR_PID=$NETNS_LAST_PID
sleep 1.5

# Controller: discovery + requests take ~16 s, then 9 keepalive Gets 5 s apart (~40 s).
netns_log "start controller on $CTL"
netns_spawn 1 "$LOGDIR/controller.log" node el_controller.js "$AC" "$SENSOR" 9
CTL_PID=$NETNS_LAST_PID

# The sensor announces every 2 s from 0.5 s after start; stop it ~0.5 s after its
# 11th INF (so 11 INFs over 20 s), then the capture goes on ~35 s more.
for _ in $(seq 300); do
	grep -q "INF 11$" "$LOGDIR/sensor.log" && break
	sleep 0.1
done
sleep 0.5
netns_log "kill the sensor node (SIGKILL)"
{ kill -KILL "$SENSOR_PID"; wait "$SENSOR_PID"; } 2>/dev/null || true

wait "$CTL_PID" || true
sleep 1
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/aircon.log" "$LOGDIR/sensor.log" "$LOGDIR/controller.log" >&2
