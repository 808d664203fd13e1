#!/bin/bash
# coap-libcoap.sh — capture real CoAP traffic between Debian's libcoap 4.3.1 programs
# (libcoap3-bin: coap-server-notls, coap-client-notls) into pcaps/real/coap-libcoap.pcap.
# Run as root; needs libcoap3-bin, tcpdump, iproute2 (see README.md). Everything runs in
# throw-away network namespaces.
#
# Nodes: 1 = 192.0.2.11 coap-server A (-d 1: one resource may be created by PUT)
#        2 = 192.0.2.12 coap-client, one run per request (a new UDP port each time)
#        3 = 192.0.2.13 coap-server B: answers once, then SIGKILLed (ICMP port unreachable)
#        4 = 192.0.2.14 coap-server C: answers once, then SIGSTOPped (a hung device)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/coap-libcoap.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-coap.XXXXXX)}
SERVER=/usr/bin/coap-server-notls
CLIENT=/usr/bin/coap-client-notls
mkdir -p "$(dirname "$OUT")"

[[ -x $SERVER && -x $CLIENT ]] || { echo "libcoap3-bin missing: apt-get install -y libcoap3-bin" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }

# shellcheck source=netns.sh
. "$HERE/netns.sh"

netns_setup 4
A=$(netns_ip4 1)
B=$(netns_ip4 3)
C=$(netns_ip4 4)
# ICMP too: the killed server's kernel answers "port unreachable" (not a CoAP answer).
netns_capture "$OUT.tmp" 'udp port 5683 or icmp'

netns_log "start servers A on $A, B on $B, C on $C"
netns_spawn 1 "$LOGDIR/serverA.log" "$SERVER" -A "$A" -d 1 -v 6
netns_spawn 3 "$LOGDIR/serverB.log" "$SERVER" -A "$B" -v 6
SERVER_B=$NETNS_LAST_PID
netns_spawn 4 "$LOGDIR/serverC.log" "$SERVER" -A "$C" -v 6
SERVER_C=$NETNS_LAST_PID
sleep 1

# req NAME ARGS... : one client run from node 2, its output logged; -B bounds its wait
# for an answer (it exits at once on a piggybacked answer).
req() {
	local name=$1
	shift
	netns_log "client: $name"
	echo "== $name: $*" >>"$LOGDIR/client.log"
	netns_exec 2 "$CLIENT" "$@" >>"$LOGDIR/client.log" 2>&1 || true
	echo >>"$LOGDIR/client.log"
	sleep 0.3
}

req "GET /time (2.05)" -B 3 "coap://$A/time"
req "GET /nothing (4.04)" -B 3 "coap://$A/nothing"
req "GET /sensors/temp?unit=C (4.04)" -B 3 "coap://$A/sensors/temp?unit=C"
req "DELETE / (4.05)" -B 3 -m delete "coap://$A/"
req "POST /time (4.05)" -B 3 -m post -e 1700000000 "coap://$A/time"
req "PUT / (4.05)" -B 3 -m put -e x "coap://$A/"
# Option 9 is unassigned and odd, i.e. critical: the server must refuse (4.02).
req "GET /time, unknown critical option 9 (4.02)" -B 3 -O 9,0x01 "coap://$A/time"
# A Block2 option of 5 bytes (at most 3 allowed): libcoap resets the message.
req "GET /time, 5-byte Block2 (RST)" -B 3 -O 23,0xffffffffff "coap://$A/time"
req "NON GET /nothing (NON 4.04)" -B 2 -N "coap://$A/nothing"
req "NON GET /time (NON 2.05)" -B 2 -N "coap://$A/time"
# /async?1: an empty ACK now, the answer 1 s later in its own CON (client ACKs it).
req "GET /async?1 (separate 2.05)" -B 4 "coap://$A/async?1"
# Proxy-Uri to a server that is no proxy: 5.05.
req "GET via Proxy-Uri (5.05)" -B 3 -P "coap://$A" "coap://192.0.2.99/x"
# -d 1: the first PUT creates a resource (2.01), the second finds the limit (4.06).
req "PUT /new1 (2.01)" -B 3 -m put -e a "coap://$A/new1"
req "PUT /new2 (4.06: dynamic resource limit)" -B 3 -m put -e b "coap://$A/new2"
req "FETCH /time (2.05)" -B 3 -m fetch "coap://$A/time"

# Server B answers, then dies: a CON to it is retransmitted (2-3 s, 6-9 s, ...) and
# every copy gets ICMP port unreachable, never a CoAP answer.
req "GET B /time (2.05)" -B 3 "coap://$B/time"
netns_log "kill server B (SIGKILL)"
{ kill -KILL "$SERVER_B"; wait "$SERVER_B"; } 2>/dev/null || true
netns_log "client: GET B /time (killed: ICMP, no answer), 20 s in the background"
netns_exec 2 "$CLIENT" -B 20 "coap://$B/time" >"$LOGDIR/client-B.log" 2>&1 &
CLIENT_B=$!
sleep 0.5

# Server C answers, then hangs (SIGSTOP): its socket still takes the datagrams, no
# ICMP, no answer.  A NON to it goes unanswered too, which is no error.
req "GET C /time (2.05)" -B 3 "coap://$C/time"
netns_log "stop server C (SIGSTOP)"
kill -STOP "$SERVER_C"
netns_log "client: GET C /time (hung: no answer), 20 s in the background"
netns_exec 2 "$CLIENT" -B 20 "coap://$C/time" >"$LOGDIR/client-C.log" 2>&1 &
CLIENT_C=$!
sleep 0.5
req "NON GET C /time (hung: no answer)" -B 2 -N "coap://$C/time"

wait "$CLIENT_B" "$CLIENT_C" 2>/dev/null || true
# One more answered request keeps the capture clock past both 10 s deadlines.
req "GET /time (2.05, closing)" -B 3 "coap://$A/time"
netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
cat "$LOGDIR/client.log" >&2
