# shellcheck shell=sh
# lib.sh -- helpers of the hostile-input cases (tests/hostile/NN-*.sh), POSIX sh.
#
# A case sets up one hostile situation in its own temporary directory
# ($work, removed at exit), runs the sensor against it and states the
# outcome it expects: exit status, the one stderr line, files not created
# or not modified.  It exits 0 (PASS), 77 (SKIP: what it needs is missing)
# or anything else (FAIL), and prints one line saying why.
#
#   . "$(dirname "$0")/lib.sh"
#   need_root_user                 # SKIP unless root; $huser: a sensor user
#   run_sensor SECONDS args...     # the sensor, killed after SECONDS;
#                                  # $rc, $work/out, $work/err
#   one_line PATTERN               # stderr is one "x1367ids: " line matching
#   pass MSG / fail MSG / skip MSG
#
# Environment: SENSOR (default the build tree's x1367ids: point it at an
# older binary to see a case fail), top_srcdir, top_builddir.

set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
sensor=${SENSOR:-$top_builddir/x1367ids}
rules=$top_srcdir/rules
pcaps=$top_srcdir/pcaps
case_name=$(basename "$0" .sh)
work=$(mktemp -d "${TMPDIR:-/tmp}/x1367-hostile.XXXXXX")
chmod 755 "$work"   # the dropped sensor may look inside
# A private, writable copy of the tables (cases add files to it; distcheck's
# source tree is read-only), where the sensor's user can read them after the
# drop, which a tree in a private directory (a clone under mktemp -d, a home
# directory) is not.
cp -R "$top_srcdir/rules" "$work/rules"
chmod -R u+w,go+rX,go-w "$work/rules"
rules=$work/rules
hostile_user_made=

hostile_cleanup() {
	trap - EXIT
	[ -n "${bg_pid:-}" ] && kill -KILL "$bg_pid" 2>/dev/null
	rm -rf "$work"
	[ -n "$hostile_user_made" ] && userdel "$hostile_user_made" 2>/dev/null
}
trap hostile_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

pass() { echo "PASS $case_name: $*"; exit 0; }
fail() {
	echo "FAIL $case_name: $*"
	if [ -s "$work/err" ]; then sed 's/^/    stderr: /' "$work/err" | cut -c1-300 | head -n 5; fi
	exit 1
}
skip() { echo "SKIP $case_name: $*"; exit 77; }

[ -x "$sensor" ] || skip "no sensor at $sensor (build first)"

# need_root_user: root, and a system user for the sensor to become: the
# runner's (HOSTILE_USER), else x1367ids-hostile, made here if missing and
# removed at exit (the way tests/live/privileges.sh makes its own).
need_root_user() {
	[ "$(id -u)" -eq 0 ] || skip "not root (needs root and a user to drop to)"
	huser=${HOSTILE_USER:-x1367ids-hostile}
	if ! getent passwd "$huser" >/dev/null; then
		command -v useradd >/dev/null 2>&1 || skip "no useradd to make a sensor user"
		useradd --system --no-create-home --shell /usr/sbin/nologin "$huser" 2>/dev/null ||
			getent passwd "$huser" >/dev/null || skip "cannot make user $huser"
		[ -n "${HOSTILE_USER:-}" ] || hostile_user_made=$huser
	fi
}


# run_sensor SECONDS args...: the sensor with a deadline (timeout: exit 124
# when it had to be killed, i.e. it hung); $rc, $work/out, $work/err.
run_sensor() {
	secs=$1
	shift
	timeout -k 2 "$secs" "$sensor" "$@" </dev/null >"$work/out" 2>"$work/err"
	rc=$?
}

# run_live SECONDS args...: run_sensor live on the loopback interface (root)
# with a filter that matches nothing: the sensor opens everything, then
# waits until the deadline (exit 124) unless it refuses to start.
run_live() {
	secs=$1
	shift
	run_sensor "$secs" -i lo -f 'udp port 1 and udp port 2' --foreground --no-promisc --rules "$rules" \
		--reporter-ip 192.0.2.254 "$@"
}

# start_live PIDFILE args...: the same in the background ($bg_pid), back
# once PIDFILE names it and it catches SIGHUP (3 s at most; 1 if not).
start_live() {
	pidfile=$1
	shift
	"$sensor" -i lo -f 'udp port 1 and udp port 2' --foreground --no-promisc --rules "$rules" \
		--reporter-ip 192.0.2.254 --pid-file "$pidfile" "$@" </dev/null >"$work/out" 2>"$work/err" &
	bg_pid=$!
	i=0
	while [ $i -lt 30 ]; do
		kill -0 "$bg_pid" 2>/dev/null || return 1
		if [ "$(cat "$pidfile" 2>/dev/null)" = "$bg_pid" ] &&
			awk '/^SigCgt:/ { exit !(index("13579bdf", substr($2, 16, 1)) > 0) }' "/proc/$bg_pid/status"; then
			sleep 0.2
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# stop_live [SECONDS]: SIGTERM, wait SECONDS (default 3), then SIGKILL;
# $rc is the exit status (137: had to be killed).
stop_live() {
	kill -TERM "$bg_pid" 2>/dev/null
	i=0
	while kill -0 "$bg_pid" 2>/dev/null && [ $i -lt $((${1:-3} * 10)) ]; do
		case $(awk '/^State:/ { print $2 }' "/proc/$bg_pid/status" 2>/dev/null) in Z) break ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	kill -KILL "$bg_pid" 2>/dev/null
	wait "$bg_pid"
	rc=$?
	bg_pid=
}

# one_line PATTERN: standard error is exactly one line, starting
# "x1367ids: " and matching the extended regular expression PATTERN.
one_line() {
	[ "$(wc -l <"$work/err")" -eq 1 ] && grep -q '^x1367ids: ' "$work/err" && grep -Eq -- "$1" "$work/err"
}
