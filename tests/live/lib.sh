# shellcheck shell=sh
# lib.sh -- helpers of the live-capture tests (tests/live/*.sh), POSIX sh.
#
#   . "$(dirname "$0")/lib.sh"
#   needs_root_and_netns           # SKIP (exit 77) unless root, ip netns, tcpreplay,
#                                  # a sensor with -i; then builds the two namespaces
#   live_start_sensor NAME args... # x1367ids -i $VETH_B --foreground ... inside $NS_B
#   live_replay LOG FILE [tcpreplay options]   # into $VETH_A inside $NS_A
#   live_stop_sensor               # SIGTERM, wait, exit status in $sensor_rc
#   (cleanup -- the sensor and tcpreplay killed, namespaces deleted, work dir
#   removed -- runs from an EXIT trap, also on failure or Ctrl-C)
#
# Topology: two network namespaces joined by one veth pair, nothing else.
#
#   $NS_A: $VETH_A  <---- veth ---->  $VETH_B :$NS_B
#          tcpreplay writes here          the sensor captures here
#
# No addresses: the captures' frames are written raw onto $VETH_A and come out
# of $VETH_B unchanged.  IPv6 is disabled in both namespaces before the veth
# exists, so no router solicitation, DAD or MLD frame crosses: the sensor sees
# exactly the replayed packets (the drop accounting of live-vs-replay.sh
# relies on it).  Names carry a per-run prefix (x1367l$$; interface names stay
# within IFNAMSIZ: 6 + 7 pid digits + 1 = 14).
#
# Environment (as `make check` sets it): top_srcdir, top_builddir,
# X1367_PUBLIC_PCAPS; SENSOR and RULES may point at an installed tree;
# KEEP_WORK=1 keeps the work directory for a post-mortem.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
public=${X1367_PUBLIC_PCAPS:-$top_srcdir/pcaps/public}
sensor=${SENSOR:-$top_builddir/x1367ids}
rules=${RULES:-$top_srcdir/rules}
live_dir=$top_srcdir/tests/live

LIVE_PREFIX=${LIVE_PREFIX:-x1367l$$}
NS_A=${LIVE_PREFIX}A
NS_B=${LIVE_PREFIX}B
VETH_A=${LIVE_PREFIX}a
VETH_B=${LIVE_PREFIX}b

work=$(mktemp -d)
pass=0
fail=0
sensor_pid=
sensor_rc=
replay_pid=
live_netns_made=
live_bg_pids=   # other helpers a test started in the background (killed at cleanup)

ok() { pass=$((pass + 1)); echo "PASS $*"; }
ko() { fail=$((fail + 1)); echo "FAIL $*"; }
note() { echo "  $*"; }
skip() { echo "SKIP: $*"; echo "0 passed, 0 failed"; exit 77; }
# "N passed, M failed" and the exit status
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

# Seconds since the epoch with nanoseconds, and elapsed time since T.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

live_cleanup() {
	trap - EXIT
	[ -n "$replay_pid" ] && kill "$replay_pid" 2>/dev/null
	for p in $live_bg_pids; do kill "$p" 2>/dev/null; done
	if [ -n "$sensor_pid" ] && kill -0 "$sensor_pid" 2>/dev/null; then
		kill -TERM "$sensor_pid" 2>/dev/null
		i=0
		while kill -0 "$sensor_pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "$sensor_pid" 2>/dev/null
	fi
	# Daemons started by a test (privileges.sh) leave their pid here.
	for f in "$work"/*.daemon-pid; do
		[ -f "$f" ] || continue
		p=$(cat "$f" 2>/dev/null)
		# only if that pid is still a sensor (not a reused pid)
		[ -n "$p" ] && [ "$(readlink "/proc/$p/exe" 2>/dev/null)" = "$(readlink -f "$sensor")" ] &&
			kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ -n "$live_netns_made" ]; then
		ip netns del "$NS_A" 2>/dev/null
		ip netns del "$NS_B" 2>/dev/null
	fi
	[ -n "${live_user_made:-}" ] && userdel "$live_user_made" 2>/dev/null
	if [ "${KEEP_WORK:-0}" = 1 ]; then echo "  (work directory kept: $work)"; else rm -rf "$work"; fi
}
trap live_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

live_setup() {
	live_netns_made=1
	ip netns add "$NS_A" && ip netns add "$NS_B" || return 1
	for ns in "$NS_A" "$NS_B"; do
		# Before the veth exists: its IPv6 is born disabled (default), and
		# the namespace as a whole never speaks IPv6 (all).
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
	done
	ip -n "$NS_A" link add "$VETH_A" type veth peer name "$VETH_B" netns "$NS_B" || return 1
	ip netns exec "$NS_A" sysctl -qw "net.ipv6.conf.$VETH_A.disable_ipv6=1" >/dev/null 2>&1 || true
	ip netns exec "$NS_B" sysctl -qw "net.ipv6.conf.$VETH_B.disable_ipv6=1" >/dev/null 2>&1 || true
	ip -n "$NS_A" link set "$VETH_A" up && ip -n "$NS_B" link set "$VETH_B" up || return 1
	# The MTU of the captures' biggest frames (the public ones are small;
	# 9000 leaves room for any jumbo frame a capture may hold).
	ip -n "$NS_A" link set "$VETH_A" mtu 9000 2>/dev/null
	ip -n "$NS_B" link set "$VETH_B" mtu 9000 2>/dev/null
	return 0
}

# needs_root_and_netns [extra-command...]: SKIP unless this can run; then
# builds the namespaces.  CI runs as root with tcpreplay installed, so there
# these tests run.
needs_root_and_netns() {
	# CI runs them in the plain build and again under ThreadSanitizer
	# (tests/tsan.sh: signals, the syslog threads); not under
	# AddressSanitizer or in distcheck (X1367_NO_LIVE=1 there).
	[ -z "${X1367_NO_LIVE:-}" ] || skip "X1367_NO_LIVE is set (live tests run in the plain build)"
	[ "$(id -u)" -eq 0 ] || skip "not root (live capture tests need root: network namespaces, packet sockets)"
	command -v ip >/dev/null 2>&1 || skip "ip(8) missing (apt-get install iproute2)"
	ip netns list >/dev/null 2>&1 || skip "'ip netns' not supported here"
	command -v tcpreplay >/dev/null 2>&1 || skip "tcpreplay missing (apt-get install tcpreplay)"
	command -v python3 >/dev/null 2>&1 || skip "python3 missing"
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c missing"
	done
	[ -x "$sensor" ] || skip "no sensor at $sensor (build first)"
	"$sensor" --help 2>&1 | grep -q -- '--interface' || skip "$sensor has no live capture (-i)"
	live_setup >"$work/setup.log" 2>&1 ||
		skip "cannot create network namespaces and a veth pair here: $(tr '\n' ' ' <"$work/setup.log")"
}

# ifindex of $VETH_B inside $NS_B
live_ifindex() { ip netns exec "$NS_B" cat "/sys/class/net/$VETH_B/ifindex"; }

# live_wait_ready PID [IFACE-INDEX]: the sensor has a packet socket bound to
# $VETH_B in $NS_B and catches (or blocks, for sigwait/signalfd) SIGHUP,
# SIGUSR1 and SIGTERM -- from then on no replayed packet is missed and no
# signal kills it.  Fails after 15 s or when the process is gone.
live_wait_ready() {
	pid=$1
	idx=$(live_ifindex)
	i=0
	while [ $i -lt 150 ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		if ip netns exec "$NS_B" awk -v idx="$idx" 'NR > 1 && $5 == idx { f = 1 } END { exit !f }' /proc/net/packet 2>/dev/null &&
			python3 - "$pid" <<'EOF'
import sys
f = {}
for line in open("/proc/%s/status" % sys.argv[1]):
    k, _, v = line.partition(":")
    f[k] = v.strip()
mask = int(f.get("SigCgt", "0"), 16) | int(f.get("SigBlk", "0"), 16)
need = (1 << (1 - 1)) | (1 << (10 - 1)) | (1 << (15 - 1))  # HUP, USR1, TERM
sys.exit(0 if mask & need == need else 1)
EOF
		then
			sleep 0.3   # the ring buffer and the first poll, after the bind
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# live_start_sensor NAME [options...]: the sensor live on $VETH_B inside
# $NS_B, in the foreground as root, records to $work/NAME.jsonl, statistics
# to $work/NAME.stats, standard error to $work/NAME.err.  Its pid is
# $sensor_pid.  Fails (with the sensor's stderr shown) if it is not ready.
# LIVE_WRAP, if set, goes before the sensor's path (a command that execs its
# arguments: setpriv ...); LIVE_W, if set, replaces the records path.
live_start_sensor() {
	name=$1
	shift
	# shellcheck disable=SC2086 # LIVE_WRAP: a command prefix, word-split
	ip netns exec "$NS_B" ${LIVE_WRAP:-} "$sensor" -i "$VETH_B" --foreground --rules "$rules" \
		--reporter-ip 192.0.2.254 --sensor-name live \
		-w "${LIVE_W:-$work/$name.jsonl}" --stats-file "$work/$name.stats" "$@" \
		</dev/null >"$work/$name.out" 2>"$work/$name.err" &
	sensor_pid=$!   # ip netns exec execs the command: this is the sensor's pid
	if ! live_wait_ready "$sensor_pid"; then
		note "sensor not ready within 15 s ($*); its stderr:"
		sed 's/^/    /' "$work/$name.err"
		live_stop_sensor
		return 1
	fi
	return 0
}

# live_stop_sensor [SIGNAL]: SIGTERM (or SIGNAL), wait up to 10 s (then
# SIGKILL); the exit status is left in $sensor_rc (137 when killed).
live_stop_sensor() {
	[ -n "$sensor_pid" ] || return 0
	kill -"${1:-TERM}" "$sensor_pid" 2>/dev/null
	i=0
	while kill -0 "$sensor_pid" 2>/dev/null && [ $i -lt 100 ]; do
		# a zombie is gone for our purpose: wait reaps it below
		case $(awk '/^State:/ { print $2 }' "/proc/$sensor_pid/status" 2>/dev/null) in Z) break ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$sensor_pid" 2>/dev/null
	wait "$sensor_pid"
	sensor_rc=$?
	sensor_pid=
}

# live_stats_now NAME: SIGUSR1, then wait (3 s at most) for the new line.
live_stats_now() {
	before=$(wc -l <"$work/$1.stats" 2>/dev/null || echo 0)
	kill -USR1 "$sensor_pid" 2>/dev/null || return 1
	i=0
	while [ $i -lt 30 ]; do
		sleep 0.1
		n=$(wc -l <"$work/$1.stats" 2>/dev/null || echo 0)
		[ "$n" -gt "$before" ] && return 0
		i=$((i + 1))
	done
	return 1
}

# stat_of FILE PATH...: from the last JSON line of FILE, each dotted PATH
# ("packets", "capture.IFACE.dropped_kernel"), space separated; a missing
# key prints "missing".
stat_of() {
	python3 - "$@" <<'EOF'
import json, sys
last = None
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    if line.startswith("{"):
        try:
            last = json.loads(line)
        except ValueError:
            pass
out = []
for path in sys.argv[2:]:
    v = last
    for k in path.split(".") if last is not None else []:
        v = v.get(k) if isinstance(v, dict) else None
    out.append("missing" if v is None else json.dumps(v))
print(" ".join(out))
EOF
}

# live_replay LOG FILE [tcpreplay options]: replay FILE into $VETH_A from
# $NS_A (real timing unless an option says otherwise); tcpreplay's output
# in LOG; prints nothing, returns tcpreplay's status.
live_replay() {
	log=$1 file=$2
	shift 2
	ip netns exec "$NS_A" tcpreplay -i "$VETH_A" "$@" "$file" >"$log" 2>&1
}

# replay_sent LOG: packets tcpreplay reports as sent ("Actual: N packets").
replay_sent() { sed -n 's/^ *Actual: \([0-9][0-9]*\) packets.*/\1/p' "$1" | tail -n 1; }

# strip_times IN OUT: the records without their "Timestamp" (the one value
# that is capture time, i.e. wall time when live), one canonical JSON
# object per line, same order.
strip_times() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
with open(sys.argv[1]) as f, open(sys.argv[2], "w") as out:
    for line in f:
        if line.strip():
            r = json.loads(line)
            r.pop("Timestamp", None)
            out.write(json.dumps(r, sort_keys=True) + "\n")
EOF
}

# records_of_replay FILE OUT [options]: the same sensor, same flags, on the
# capture file.
records_of_replay() {
	file=$1 out=$2
	shift 2
	"$sensor" -r "$file" --rules "$rules" --reporter-ip 192.0.2.254 --sensor-name live \
		"$@" >"$out" 2>"$out.err"
}
