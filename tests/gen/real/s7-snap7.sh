#!/bin/bash
# s7-snap7.sh — capture real S7comm traffic between third-party implementations into
# pcaps/real/s7-snap7.pcap: the snap7 library's server and client (npm node-snap7
# 1.0.9, snap7 1.4) and the pure-JavaScript client nodes7 0.3.18. Run as root; needs
# nodejs/npm, a C++ compiler, Node's headers (Debian: libnode-dev, or a nodejs that
# ships include/node), tcpdump, iproute2. node-snap7 is a native addon: its own
# install step would fetch a prebuilt binary, so it is installed with
# --ignore-scripts and built here from its sources with node-gyp against the local
# headers.
#
# Nodes: 1 = 192.0.2.11 snap7 server A: DB1 (32 bytes) and 16 merker bytes, nothing else
#        2 = 192.0.2.12 snap7 client: reads and writes that exist and that do not, SZL
#            reads, clock, password, stop/start (s7_client.js)
#        3 = 192.0.2.13 nodes7 client: one read of four tags, one write (s7_nodes7.js)
#        4 = 192.0.2.14 snap7 server B, stopped (SIGSTOP) while a request waits
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/s7-snap7.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-s7.XXXXXX)}
S7=$HERE/s7
mkdir -p "$(dirname "$OUT")"

for cmd in node npm tcpdump c++ make; do
	command -v $cmd >/dev/null || {
		echo "$cmd missing: apt-get install -y nodejs npm tcpdump g++ make libnode-dev" >&2
		exit 1
	}
done
if [[ ! -d $S7/node_modules/node-snap7 || ! -d $S7/node_modules/nodes7 ]]; then
	(cd "$S7" && npm ci --no-audit --no-fund --ignore-scripts)
fi
if [[ ! -f $S7/node_modules/node-snap7/build/Release/node_snap7.node ]]; then
	gyp=$(command -v node-gyp || echo "$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js")
	nodedir=
	for d in /usr /usr/local; do
		[[ -f $d/include/node/node.h ]] && { nodedir=$d; break; }
	done
	[[ -n $nodedir ]] || { echo "Node's headers missing: apt-get install -y libnode-dev" >&2; exit 1; }
	(cd "$S7/node_modules/node-snap7" && node "$gyp" rebuild --nodedir="$nodedir" -j 2 >"$LOGDIR/node-gyp.log" 2>&1) ||
		{ tail -n 30 "$LOGDIR/node-gyp.log" >&2; exit 1; }
fi

# shellcheck source=netns.sh
. "$HERE/netns.sh"

netns_setup 4
A=$(netns_ip4 1)
B=$(netns_ip4 4)
netns_capture "$OUT.tmp" 'tcp port 102'

netns_log "snap7 servers on $A and $B"
netns_spawn 1 "$LOGDIR/serverA.log" node "$S7/s7_server.js" "$A"
netns_spawn 4 "$LOGDIR/serverB.log" node "$S7/s7_server.js" "$B"
SERVER_B=$NETNS_LAST_PID
sleep 1

# ---- 1. snap7 client: what exists and what does not ---------------------------------
netns_log "snap7 client -> A"
netns_exec 2 node "$S7/s7_client.js" "$A" >>"$LOGDIR/clients.log" 2>&1
sleep 0.3

# ---- 2. nodes7 client: several tags in one request -------------------------------------
netns_log "nodes7 client -> A"
netns_exec 3 node "$S7/s7_nodes7.js" "$A" >>"$LOGDIR/clients.log" 2>&1
sleep 0.3

# ---- 3. a request the server never answers ---------------------------------------------
# The client connects, then waits 1.5 s; the server is stopped meanwhile, its kernel
# still acknowledges the request's bytes. snap7's client gives up after its 3 s
# receive timeout and closes.
netns_log "snap7 client -> B, B stopped before the request"
netns_spawn 2 "$LOGDIR/stall.log" node "$S7/s7_client.js" "$B" stall
STALL=$NETNS_LAST_PID
sleep 1
kill -STOP "$SERVER_B"
wait "$STALL" || true
cat "$LOGDIR/stall.log" >>"$LOGDIR/clients.log"

# ---- 4. the capture clock runs past the 5 s deadline ------------------------------------
sleep 3
netns_log "snap7 client -> A once more"
netns_exec 3 node "$S7/s7_nodes7.js" "$A" >>"$LOGDIR/clients.log" 2>&1
sleep 0.5
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/clients.log" >&2
