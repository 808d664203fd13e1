#!/bin/bash
# bacnet-npm.sh — capture a BACnet/IP client and two devices, all built on the npm
# BACnet stack @bacnet-js/client (3.3.2, tests/gen/real/bacnet/), into
# pcaps/real/bacnet-npm.pcap.  Every message is the library's own: its client
# services, its encoders for the devices' answers (bacnet/device.js lists what the
# device refuses and how), its retries driven by the client (same invoke id).
# Run as root; needs nodejs/npm, tcpdump, iproute2, and `npm ci` in bacnet/ (done
# here if bacnet/node_modules is missing).
#
# Nodes: 1 = 192.0.2.11 device 1234 (bacnet/device.js)
#        2 = 192.0.2.12 client (bacnet/client.js)
#        3 = 192.0.2.13 device 5678, taken off the network (its link down) while
#            the client still asks it: three tries, then nothing
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/bacnet-npm.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-bacnet.XXXXXX)}
NETNS_PREFIX=${NETNS_PREFIX:-bac$$}
mkdir -p "$(dirname "$OUT")"

command -v node >/dev/null || { echo "nodejs missing: apt-get install -y nodejs npm" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }
if [[ ! -d $HERE/bacnet/node_modules/@bacnet-js/client ]]; then
	(cd "$HERE/bacnet" && npm ci --no-audit --no-fund --ignore-scripts)
fi

# shellcheck source=netns.sh
. "$HERE/netns.sh"

netns_setup 3
DEV=$(netns_ip4 1)
GONE=$(netns_ip4 3)
netns_capture "$OUT.tmp" 'udp port 47808'

cd "$HERE/bacnet"
netns_log "start devices on $DEV and $GONE"
netns_spawn 1 "$LOGDIR/device1.log" node device.js "$DEV" 1234
netns_spawn 3 "$LOGDIR/device3.log" node device.js "$GONE" 5678
for _ in $(seq 50); do
	grep -q "listening" "$LOGDIR/device1.log" && grep -q "listening" "$LOGDIR/device3.log" && break
	sleep 0.1
done

# ~25 s: the gone device is asked three times, 3 s apart, then the client goes on
# talking to the first device past the sensor's 10 s deadline.
netns_log "start client.js on $(netns_ip4 2)"
netns_spawn 2 "$LOGDIR/client.log" node client.js "$DEV" 1234 "$GONE" 5678
CLIENT=$NETNS_LAST_PID
for _ in $(seq 300); do
	grep -q "KILL $GONE" "$LOGDIR/client.log" && break
	sleep 0.1
done
netns_log "device 5678 leaves the network"
ip -n "$(netns_name 3)" link set eth0 down
wait "$CLIENT" || true
sleep 1
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/device1.log" "$LOGDIR/device3.log" "$LOGDIR/client.log" >&2
