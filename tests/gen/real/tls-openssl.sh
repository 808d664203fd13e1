#!/bin/bash
# tls-openssl.sh — TLS alerts between real OpenSSL peers (Debian's openssl 3.0 s_server
# and s_client), X.1367 Appendix I.2 among them ("a forged certificate is presented to a
# device"). Writes pcaps/real/tls-openssl.pcap. Run as root; needs openssl, tcpdump,
# iproute2. Everything runs in throw-away network namespaces, removed on exit (also on
# failure / Ctrl-C) by netns.sh's trap; the PKI is made fresh by tls-certs.sh in LOGDIR.
#
# Nodes: 1 = 192.0.2.11 the device: one `openssl s_server` per connection
#        2 = 192.0.2.12 the gateway (or the attacker): one `openssl s_client` each
#
# One TCP connection per case, in this order (ports not in the dissector's list, 9443
# and 10443, are found by nDPI or by the dissector's probe):
#   1 4433  TLS 1.2, valid certificate, "hello device" echoed reversed   no error
#   2 8443  TLS 1.2, server certificate expired in 2021                  client: certificate_expired
#   3 9443  TLS 1.2, server certificate from an unknown (rogue) CA       client: unknown_ca
#   4 4433  TLS 1.2, server demands a client certificate (-Verify), the client presents
#           one from the rogue CA (Appendix I.2)                        server: unknown_ca
#   5 4433  TLS 1.2, server demands a client certificate, the client has none
#                                                                        server: handshake_failure
#   6 10443 TLS 1.3, server certificate from the rogue CA                client: unknown_ca, in
#           the clear (OpenSSL's client has not switched to its handshake keys yet)
#   7 10443 TLS 1.3, server demands a client certificate, the client presents one from
#           the rogue CA (Appendix I.2 under TLS 1.3)                    server: alert, encrypted
#   8 10443 TLS 1.3, valid certificate, "hello device" echoed reversed   no error
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/pcaps/real/tls-openssl.pcap}
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/x1367-tls.XXXXXX)}
mkdir -p "$(dirname "$OUT")" "$LOGDIR"

# shellcheck source=netns.sh
. "$HERE/netns.sh"

[[ $(id -u) -eq 0 ]] || { echo "run as root" >&2; exit 1; }
command -v openssl >/dev/null || { echo "openssl missing: apt-get install -y openssl" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "tcpdump missing" >&2; exit 1; }

PKI=$LOGDIR/pki
"$HERE/tls-certs.sh" "$PKI" >"$LOGDIR/certs.log" 2>&1 || { cat "$LOGDIR/certs.log" >&2; exit 1; }

netns_setup 2
SRV=$(netns_ip4 1)
netns_capture "$OUT.tmp" 'tcp'

CASE=0
# tls_case PORT CERT "s_server options" "s_client options" DATA
# CERT is the base name of the server's certificate and key in the PKI.  DATA is sent
# by the client after the handshake (empty: none); the client then waits 1 s for the
# answer and closes (stdin EOF: close_notify, FIN).
tls_case() {
	local port=$1 cert=$2 sopts=$3 copts=$4 data=$5 spid cpid
	CASE=$((CASE + 1))
	netns_log "case $CASE: port $port, certificate $cert; server: $sopts; client: $copts"
	# shellcheck disable=SC2086
	netns_spawn 1 "$LOGDIR/server$CASE.log" openssl s_server -accept "$port" -naccept 1 -rev \
		-cert "$PKI/$cert.pem" -key "$PKI/$cert.key" $sopts
	spid=$NETNS_LAST_PID
	for _ in $(seq 50); do
		netns_exec 1 ss -ltn 2>/dev/null | grep -q ":$port " && break
		sleep 0.1
	done
	netns_spawn 2 "$LOGDIR/client$CASE.log" bash -c \
		"{ sleep 0.3; [ -n '$data' ] && printf '%s\n' '$data'; sleep 1; } |
		 openssl s_client -connect $SRV:$port -servername device1.plant.example -brief \
		 -verify_return_error -CAfile $PKI/ca.pem $copts"
	cpid=$NETNS_LAST_PID
	wait "$cpid" || true
	sleep 0.3
	{ kill -TERM "$spid" && wait "$spid"; } 2>/dev/null || true
	sleep 0.2
}

VERIFY="-Verify 1 -verify_return_error -CAfile $PKI/ca.pem"
tls_case 4433 device "-tls1_2" "-tls1_2" "hello device"
tls_case 8443 expired "-tls1_2" "-tls1_2" ""
tls_case 9443 forged "-tls1_2" "-tls1_2" ""
tls_case 4433 device "-tls1_2 $VERIFY" "-tls1_2 -cert $PKI/forged-client.pem -key $PKI/forged-client.key" ""
tls_case 4433 device "-tls1_2 $VERIFY" "-tls1_2" ""
tls_case 10443 forged "" "-tls1_3" ""
tls_case 10443 device "$VERIFY" "-tls1_3 -cert $PKI/forged-client.pem -key $PKI/forged-client.key" ""
tls_case 10443 device "" "-tls1_3" "hello device"

netns_capture_stop
mv "$OUT.tmp" "$OUT"
chown "$(id -u):$(id -g)" "$OUT"   # tcpdump wrote it as user tcpdump
rm -f "$OUT.tmp.tcpdump.log"
netns_log "wrote $OUT ($(stat -c %s "$OUT") bytes); logs in $LOGDIR"
for i in $(seq "$CASE"); do
	echo "--- case $i client:" >&2
	cat "$LOGDIR/client$i.log" >&2
	echo "--- case $i server:" >&2
	cat "$LOGDIR/server$i.log" >&2
done
