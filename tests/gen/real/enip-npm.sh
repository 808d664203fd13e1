#!/bin/bash
# enip-npm.sh — capture the real npm EtherNet/IP client `ethernet-ip` (1.2.5) talking to
# a small EtherNet/IP target written here (enip/target.py) into pcaps/real/enip-npm.pcap.
# Half a real peer: Debian and npm have EtherNet/IP clients but no target (server), so
# the answers come from target.py; what the capture proves of the sensor on the
# requester's side (framing, Unconnected Send, Multiple Service Packet as a real client
# builds them) is real, the errors are the ones target.py was written to give (its
# header lists them). The target side is proven on public captures
# (pcaps/public/EIP-FirmwareChangeFailure.pcap, tshark parity).
# Run as root; needs nodejs/npm, python3, tcpdump, iproute2, and `npm ci` in enip/
# (done here if enip/node_modules is missing).
#
# Nodes: 1 = 192.0.2.11 target.py (a "1756-L83E" controller, TCP 44818)
#        2 = 192.0.2.12 client.js (npm ethernet-ip Controller, then one raw socket)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/enip-npm.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-enip.XXXXXX)}
PY=/usr/bin/python3
mkdir -p "$(dirname "$OUT")"

command -v node >/dev/null || { echo "nodejs missing: apt-get install -y nodejs npm" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }
if [[ ! -d $HERE/enip/node_modules/ethernet-ip ]]; then
	(cd "$HERE/enip" && npm ci --no-audit --no-fund --ignore-scripts)
fi

# shellcheck source=netns.sh
. "$HERE/netns.sh"

netns_setup 2
TARGET=$(netns_ip4 1)
netns_capture "$OUT.tmp" 'tcp port 44818'

cd "$HERE/enip"
netns_log "start target.py on $TARGET"
netns_spawn 1 "$LOGDIR/target.log" $PY -u target.py "$TARGET"
for _ in $(seq 50); do
	grep -q "listening" "$LOGDIR/target.log" && break
	sleep 0.1
done

# ~21 s: the client waits 10 s for each of the two requests that get no reply
# it understands (the 0xD2 routing failure) or none at all.
netns_log "start client.js on $(netns_ip4 2)"
netns_spawn 2 "$LOGDIR/client.log" node client.js "$TARGET"
wait "$NETNS_LAST_PID" || true
sleep 1
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/target.log" "$LOGDIR/client.log" >&2
