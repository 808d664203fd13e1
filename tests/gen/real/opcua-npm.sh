#!/bin/bash
# opcua-npm.sh — capture real OPC UA traffic between node-opcua's server and client
# into pcaps/real/opcua-npm.pcap. Run as root; needs nodejs/npm, tcpdump, iproute2 and
# `npm ci` in this directory (done here if node_modules is missing).
#
# Nodes: 1 = 192.0.2.11 server (ua_server.js, opc.tcp://192.0.2.11:4840/ua)
#        2 = 192.0.2.12 client (ua_client.js), one connection per scenario
# Before the capture: the server runs once, the client "trusted" connects with
# SignAndEncrypt and is refused; its certificate is then moved from the server's
# rejected folder to its trusted one, so that the "encrypted" scenario succeeds while
# the client "untrusted" stays refused. Then, captured: every scenario of
# ua_client.js, the last one a Call the server never answers because it is killed
# (SIGKILL) 2 s later; 12 s later the client tries to connect again (refused).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/opcua-npm.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-opcua.XXXXXX)}
PKI=$LOGDIR/pki
mkdir -p "$(dirname "$OUT")" "$PKI"

command -v node >/dev/null || { echo "nodejs missing: apt-get install -y nodejs npm" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }
if [[ ! -d $HERE/node_modules/node-opcua ]]; then
	(cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts)
fi

NETNS_PREFIX=ua$$
# shellcheck source=netns.sh
. "$HERE/netns.sh"

netns_setup 2
SRV=$(netns_ip4 1)
URL="opc.tcp://$SRV:4840/ua"
cd "$HERE"

wait_listening() {
	for _ in $(seq 300); do
		grep -q "listening" "$1" && return 0
		sleep 0.1
	done
	echo "server did not start: $1" >&2
	cat "$1" >&2
	exit 1
}

# ---- set-up, not captured: the trusted client's certificate --------------------
netns_log "set-up: server and the trusted client's certificate"
netns_spawn 1 "$LOGDIR/server-setup.log" env UA_HOST="$SRV" node ua_server.js "$PKI"
SETUP_PID=$NETNS_LAST_PID
wait_listening "$LOGDIR/server-setup.log"
netns_exec 2 node ua_client.js "$URL" "$PKI" encrypted >"$LOGDIR/client-setup.log" 2>&1 || true
{ kill -KILL "$SETUP_PID"; wait "$SETUP_PID"; } 2>/dev/null || true
mkdir -p "$PKI/server-pki/trusted/certs"
mv "$PKI"/server-pki/rejected/*.* "$PKI/server-pki/trusted/certs/"
ls -l "$PKI/server-pki/trusted/certs" >&2

# ---- captured -------------------------------------------------------------------
netns_capture "$OUT.tmp" 'tcp port 4840'
netns_spawn 1 "$LOGDIR/server.log" env UA_HOST="$SRV" node ua_server.js "$PKI"
SRV_PID=$NETNS_LAST_PID
wait_listening "$LOGDIR/server.log"
netns_exec 2 node ua_client.js "$URL" "$PKI" read-unknown browse-unknown monitor-unknown write-readonly wrong-password anonymous \
	unknown-method too-many policy-rejected forged-cert bad-type untrusted encrypted >"$LOGDIR/client.log" 2>&1 || true
netns_spawn 2 "$LOGDIR/client-kill.log" node ua_client.js "$URL" "$PKI" kill-me
CLI_PID=$NETNS_LAST_PID
for _ in $(seq 300); do
	grep -q "Pump.Start called" "$LOGDIR/server.log" && break
	sleep 0.1
done
sleep 2
netns_log "kill the server (SIGKILL) while it holds the Call"
{ kill -KILL "$SRV_PID"; wait "$SRV_PID"; } 2>/dev/null || true
# The client tries again 12 s later (refused: nobody listens): the capture's clock
# passes the sensor's 10 s deadline.
sleep 12
netns_exec 2 node ua_client.js "$URL" "$PKI" read-unknown >"$LOGDIR/client-retry.log" 2>&1 || true
sleep 1
{ kill -KILL "$CLI_PID"; wait "$CLI_PID"; } 2>/dev/null || true
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/server.log" "$LOGDIR/client.log" "$LOGDIR/client-kill.log" "$LOGDIR/client-retry.log" >&2
