# shellcheck shell=bash
# netns.sh — helpers for the capture generators in tests/gen/real/.
#
# Source it from a bash script running as root:
#
#   . "$(dirname "$0")/netns.sh"
#   netns_setup 3            # creates nodes 1..3 and a bridge namespace
#   netns_exec 1 cmd ...     # runs cmd inside node 1
#   netns_ip4 1              # -> 192.0.2.11
#   netns_capture out.pcap 'tcp port 502'   # tcpdump on the bridge
#   ...
#   (teardown runs from an EXIT trap, also on failure / Ctrl-C)
#
# Topology: one namespace "${NETNS_PREFIX}br" holds a Linux bridge br0 (multicast
# snooping off, so 224.0.23.0 and ff02::1 are flooded to every port). Node i lives in
# namespace "${NETNS_PREFIX}n$i", its eth0 is one end of a veth pair whose other end
# (p$i) is a port of br0. Node i gets 192.0.2.(10+i)/24 and 2001:db8::(10+i)/64 (plus
# its automatic fe80:: link-local address), a default route on eth0 so that
# multicast sends find an interface. Nothing is connected to the host's network: the
# traffic never leaves these namespaces.
#
# Capturing on br0 inside the bridge namespace sees every frame that crosses the
# bridge exactly once (tcpdump puts br0 in promiscuous mode, and a promiscuous bridge
# device receives a copy of forwarded frames).

NETNS_PREFIX=${NETNS_PREFIX:-x1367r$$}
NETNS_NODES=0
NETNS_PIDS=()
NETNS_CAPTURE_PID=
NETNS_LAST_PID=

netns_name() { echo "${NETNS_PREFIX}n$1"; }
netns_br() { echo "${NETNS_PREFIX}br"; }
netns_ip4() { echo "192.0.2.$((10 + $1))"; }
netns_ip6() { echo "2001:db8::$((10 + $1))"; }

netns_log() { echo "[$(date +%T.%3N)] $*" >&2; }

netns_exec() {
	local i=$1
	shift
	ip netns exec "$(netns_name "$i")" "$@"
}

# netns_spawn I LOGFILE cmd... : start cmd in node I in the background; its pid is
# left in NETNS_LAST_PID and remembered (killed at teardown). Don't call it in $(...).
netns_spawn() {
	local i=$1 log=$2
	shift 2
	ip netns exec "$(netns_name "$i")" "$@" >"$log" 2>&1 &
	local pid=$!
	NETNS_PIDS+=("$pid")
	NETNS_LAST_PID=$pid
}

netns_setup() {
	local n=$1 i br
	br=$(netns_br)
	trap netns_teardown EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	ip netns add "$br"
	ip -n "$br" link set lo up
	ip -n "$br" link add br0 type bridge mcast_snooping 0 stp_state 0 forward_delay 0
	# Don't let the bridge itself take part in IPv6 (no RS/MLD noise from it).
	ip netns exec "$br" sysctl -qw net.ipv6.conf.br0.disable_ipv6=1 2>/dev/null || true
	ip -n "$br" link set br0 up
	for ((i = 1; i <= n; i++)); do
		local ns
		ns=$(netns_name "$i")
		ip netns add "$ns"
		NETNS_NODES=$i
		ip -n "$br" link add "p$i" type veth peer name eth0 netns "$ns"
		ip -n "$br" link set "p$i" master br0
		ip -n "$br" link set "p$i" up
		# Quiet IPv6: no router solicitations, no DAD delay.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
			net.ipv6.conf.default.router_solicitations=0 \
			net.ipv6.conf.eth0.router_solicitations=0 \
			net.ipv6.conf.eth0.accept_dad=0 2>/dev/null || true
		ip -n "$ns" link set lo up
		ip -n "$ns" addr add "$(netns_ip4 "$i")/24" dev eth0
		ip -n "$ns" -6 addr add "$(netns_ip6 "$i")/64" dev eth0 nodad
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default dev eth0
		ip -n "$ns" -6 route add default dev eth0 2>/dev/null || true
	done
	# Wait until every port forwards (forward_delay 0, but be safe).
	sleep 0.5
	netns_log "netns: $n nodes under prefix ${NETNS_PREFIX}"
}

# netns_capture FILE [BPF filter...] : tcpdump on br0, packet-buffered, default snaplen.
netns_capture() {
	local out=$1
	shift
	rm -f "$out"
	ip netns exec "$(netns_br)" tcpdump -i br0 -U -n -w "$out" "$@" >/dev/null 2>"$out.tcpdump.log" &
	NETNS_CAPTURE_PID=$!
	# tcpdump prints "listening on" once the capture is open.
	local t
	for t in $(seq 50); do
		grep -q "listening on" "$out.tcpdump.log" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.3
}

# netns_capture_stop : stop tcpdump cleanly (flushes the file).
netns_capture_stop() {
	if [[ -n $NETNS_CAPTURE_PID ]]; then
		sleep 0.5
		kill -INT "$NETNS_CAPTURE_PID" 2>/dev/null || true
		wait "$NETNS_CAPTURE_PID" 2>/dev/null || true
		NETNS_CAPTURE_PID=
	fi
}

netns_teardown() {
	local rc=$? pid i
	trap - EXIT INT TERM
	netns_capture_stop
	for pid in "${NETNS_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${NETNS_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	# Any stray process still inside one of our namespaces (children of the above).
	for ((i = 1; i <= NETNS_NODES; i++)); do
		for pid in $(ip netns pids "$(netns_name "$i")" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null || true
		done
		ip netns del "$(netns_name "$i")" 2>/dev/null || true
	done
	ip netns del "$(netns_br)" 2>/dev/null || true
	netns_log "netns: torn down (exit $rc)"
	exit "$rc"
}
