#!/bin/sh
# Privileges of the live sensor, its daemon mode, and the files in contrib/.
#
#  - -u USER: once capturing, /proc/PID/status shows USER's uid and gid four
#    times, USER's groups only, and no capability at all (CapEff, CapPrm,
#    CapInh, CapAmb zero); it still captures; --pid-file holds its pid.
#  - No -u, no --allow-root, no "x1367ids" user: live capture refuses to
#    start, exit 2, one line "x1367ids: ..." saying why.  (If this host has an
#    "x1367ids" user, the sensor must drop to it instead.)
#  - --chroot DIR: the process's root is DIR.
#  - Daemon mode (no --foreground): the command returns 0, the pid file
#    names the daemon, which captures and stops on SIGTERM leaving no pid
#    file behind; a daemon that
#    cannot drop privileges (-u no-such-user) must say so before the command
#    returns, exit 2.
#  - As the systemd unit runs it: root limited to the unit's
#    CapabilityBoundingSet, no new privileges, the unit's UMask and
#    SupplementaryGroups, the log directory as its ExecStartPre makes it:
#    the sensor starts, captures, reopens the records file in that directory
#    after it was moved (logrotate + SIGHUP), and starts again later with the
#    file it created as the user.
#  - contrib/x1367ids.conf, paths substituted: --check-config accepts it and
#    it mentions every long option of --help; the unit passes
#    `systemd-analyze verify` (if systemd-analyze is installed).
#
# The test user is x1367ids-test (created, and removed at the end, if
# missing; "nobody" when useradd is not available).
# Needs root, ip netns, tcpreplay and python3; otherwise SKIP (exit 77).
. "$(dirname "$0")/lib.sh"
needs_root_and_netns
start=$(now)

tuser=x1367ids-test
if ! getent passwd "$tuser" >/dev/null; then
	if command -v useradd >/dev/null 2>&1 &&
		useradd --system --no-create-home --shell /usr/sbin/nologin "$tuser" 2>"$work/useradd.err"; then
		live_user_made=$tuser
	else
		tuser=nobody
	fi
fi
tuid=$(id -u "$tuser") tgid=$(id -g "$tuser") tgroup=$(id -gn "$tuser")
tgroups=$(id -G "$tuser" | tr ' ' '\n' | sort -n | tr '\n' ' ')
note "test user $tuser: uid $tuid, gid $tgid, groups $tgroups"
chmod 755 "$work"   # the dropped sensor may look at files under it
# The live sensor opens -w and --stats-file with the rights of the user it
# becomes (never root's): the work directory is that user's, like the log
# directory of the README's set-up.
chown "$tuser" "$work"

exceptions=$top_srcdir/pcaps/synthetic/modbus-exceptions.pcap   # 28 packets, 10 records
etcp=$top_srcdir/pcaps/synthetic/echonet-tcp.pcap               # 11 packets, 2 records

# status_of PID FIELD: the values of one /proc/PID/status line
status_of() { awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status" 2>/dev/null; }

# check_dropped WHAT PID: uid/gid/groups of the test user, no capability
check_dropped() {
	what=$1 pid=$2
	uid=$(status_of "$pid" Uid) gid=$(status_of "$pid" Gid)
	groups=$(status_of "$pid" Groups | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')
	caps="$(status_of "$pid" CapEff) $(status_of "$pid" CapPrm) $(status_of "$pid" CapInh) $(status_of "$pid" CapAmb)"
	zero=0000000000000000
	if [ "$uid" = "$tuid $tuid $tuid $tuid" ] && [ "$gid" = "$tgid $tgid $tgid $tgid" ] &&
		[ "$groups" = "$tgroups" ] && [ "$caps" = "$zero $zero $zero $zero" ]; then
		ok "$what: Uid $uid, Gid $gid, Groups $groups, CapEff/CapPrm/CapInh/CapAmb 0"
	else
		ko "$what: Uid '$uid' Gid '$gid' Groups '$groups' (wanted $tuid, $tgid, '$tgroups'); CapEff CapPrm CapInh CapAmb: $caps"
	fi
}

# replay NAME CAPTURE: replay it, then give the sensor a second
replay() {
	live_replay "$work/$1.tcpreplay" "$2" || { ko "$1: tcpreplay failed"; sed 's/^/    /' "$work/$1.tcpreplay"; }
	sleep 1
}
# count_records NAME RECORDS-FILE WANT (once the sensor has stopped: a
# running sensor may still hold records in its output buffer)
count_records() {
	got=$(cat "$2" 2>/dev/null | wc -l)
	[ "$got" -eq "$3" ] && ok "$1: captures ($got records)" || ko "$1: $got records, wanted $3"
}

# ---- -u USER, --pid-file -------------------------------------------------
if live_start_sensor user -u "$tuser" --pid-file "$work/user.pid"; then
	check_dropped "-u $tuser" "$sensor_pid"
	nnp=$(status_of "$sensor_pid" NoNewPrivs)
	note "NoNewPrivs: ${nnp:-?}"
	p=$(cat "$work/user.pid" 2>/dev/null)
	[ "$p" = "$sensor_pid" ] && ok "--pid-file holds the pid ($p)" || ko "--pid-file holds '$p', the sensor is $sensor_pid"
	replay "-u $tuser" "$exceptions"
	live_stop_sensor
	[ "$sensor_rc" -eq 0 ] && ok "-u $tuser: exit 0 on SIGTERM" || ko "-u $tuser: exit $sensor_rc on SIGTERM"
	count_records "-u $tuser" "$work/user.jsonl" 10
else
	ko "-u $tuser: the sensor did not start"
fi

# ---- no user to drop to ------------------------------------------------
if getent passwd x1367ids >/dev/null; then
	note "this host has an x1367ids user: checking the default drop instead of the refusal"
	if live_start_sensor default; then
		[ "$(status_of "$sensor_pid" Uid)" = "$(id -u x1367ids) $(id -u x1367ids) $(id -u x1367ids) $(id -u x1367ids)" ] &&
			ok "no -u: drops to x1367ids" || ko "no -u: Uid $(status_of "$sensor_pid" Uid), not x1367ids"
		live_stop_sensor
	else
		ko "no -u: the sensor did not start"
	fi
else
	ip netns exec "$NS_B" timeout 10 "$sensor" -i "$VETH_B" --foreground --rules "$rules" \
		-w "$work/refuse.jsonl" </dev/null >"$work/refuse.out" 2>"$work/refuse.err"
	rc=$?
	# (warnings about the rules directory, e.g. a table for a dissector
	# that is not loaded, are not the reason: left out of the count)
	grep -v '^x1367ids: .*: no dissector ".*" is loaded' "$work/refuse.err" >"$work/refuse.why"
	if [ "$rc" -eq 2 ] && [ "$(wc -l <"$work/refuse.why")" -eq 1 ] && grep -q '^x1367ids: ' "$work/refuse.why"; then
		ok "no -u, no --allow-root, no x1367ids user: exit 2, $(cat "$work/refuse.why")"
	else
		ko "no -u, no --allow-root, no x1367ids user: exit $rc (wanted 2 and one 'x1367ids: ' line), stderr:"
		sed 's/^/    /' "$work/refuse.err"
	fi
fi

# ---- --chroot --------------------------------------------------------------
mkdir -p "$work/chroot"
if live_start_sensor chroot -u "$tuser" --chroot "$work/chroot"; then
	root=$(readlink "/proc/$sensor_pid/root")
	[ "$root" = "$work/chroot" ] && ok "--chroot: the process's root is $root" ||
		ko "--chroot: the process's root is '$root', wanted $work/chroot"
	check_dropped "--chroot, -u $tuser" "$sensor_pid"
	live_stop_sensor
	[ "$sensor_rc" -eq 0 ] && ok "--chroot: exit 0 on SIGTERM" || ko "--chroot: exit $sensor_rc on SIGTERM"
else
	ko "--chroot: the sensor did not start"
fi

# ---- daemon mode -----------------------------------------------------------
t=$(now)
ip netns exec "$NS_B" timeout 10 "$sensor" -i "$VETH_B" -u "$tuser" --rules "$rules" \
	--reporter-ip 192.0.2.254 --sensor-name live --pid-file "$work/daemon.pid" \
	-w "$work/daemon.jsonl" --stats-file "$work/daemon.stats" </dev/null >"$work/daemon.out" 2>"$work/daemon.err"
rc=$?
dpid=$(cat "$work/daemon.pid" 2>/dev/null)
if [ -z "$dpid" ]; then
	# When the command returns the pid file must be there (init scripts
	# and systemd Type=forking read it then); go on with the other checks.
	ko "daemon: no pid file yet when the command returned (exit $rc)"
	i=0
	while [ ! -s "$work/daemon.pid" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	dpid=$(cat "$work/daemon.pid" 2>/dev/null)
	sleep 0.1   # a pid file being written
	dpid=$(cat "$work/daemon.pid" 2>/dev/null)
fi
[ -n "$dpid" ] && echo "$dpid" >"$work/main.daemon-pid"   # killed at cleanup, whatever happens
if [ "$rc" -eq 0 ] && [ -n "$dpid" ] && [ "$(readlink "/proc/$dpid/exe")" = "$(readlink -f "$sensor")" ]; then
	ok "daemon: the command returns 0 ($(since "$t") s), the pid file names the daemon ($dpid, uid $(status_of "$dpid" Uid | cut -d' ' -f1))"
	if live_wait_ready "$dpid"; then
		check_dropped "daemon" "$dpid"
		replay "daemon" "$etcp"
		kill -TERM "$dpid"
		i=0
		while kill -0 "$dpid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		if kill -0 "$dpid" 2>/dev/null; then
			ko "daemon: still running 10 s after SIGTERM"
		else
			count_records "daemon" "$work/daemon.jsonl" 2
			set -- $(stat_of "$work/daemon.stats" packets)
			[ "$1" = 11 ] && ok "daemon: stops on SIGTERM, last statistics: 11 packets" ||
				ko "daemon: last statistics count $1 packets, wanted 11"
			[ -e "$work/daemon.pid" ] && ko "daemon: the pid file is left behind after SIGTERM" ||
				ok "daemon: no pid file left behind after SIGTERM"
		fi
	else
		ko "daemon: not capturing within 15 s"
	fi
else
	ko "daemon: exit $rc, pid file '${dpid}', exe $(readlink "/proc/${dpid:-0}/exe" 2>/dev/null)"
	sed 's/^/    /' "$work/daemon.err"
fi

ip netns exec "$NS_B" timeout 10 "$sensor" -i "$VETH_B" -u "$tuser-no-such-user" --rules "$rules" \
	--pid-file "$work/daemon2.pid" -w "$work/daemon2.jsonl" </dev/null >"$work/daemon2.out" 2>"$work/daemon2.err"
rc=$?
dpid=$(cat "$work/daemon2.pid" 2>/dev/null)
[ -n "$dpid" ] && echo "$dpid" >"$work/bad.daemon-pid"
grep -v '^x1367ids: .*: no dissector ".*" is loaded' "$work/daemon2.err" >"$work/daemon2.why"
[ -e "$work/daemon2.pid" ] && ko "daemon, -u no-such-user: a pid file is left behind" ||
	ok "daemon, -u no-such-user: no pid file left behind"
if [ "$rc" -eq 2 ] && [ "$(wc -l <"$work/daemon2.why")" -eq 1 ] && grep -q '^x1367ids: .*no-such-user' "$work/daemon2.why"; then
	ok "daemon, -u no-such-user: exit 2, $(cat "$work/daemon2.why")"
else
	ko "daemon, -u no-such-user: exit $rc (wanted 2 and one 'x1367ids: ' line naming the user), stderr:"
	sed 's/^/    /' "$work/daemon2.err"
fi

# ---- as the systemd unit runs it --------------------------------------------
unit=$top_srcdir/contrib/systemd/x1367ids.service.in
bset=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr 'A-Z' 'a-z' | sed 's/cap_/+/g; s/ /,/g')
umask_unit=$(sed -n 's/^UMask=//p' "$unit")
svc_log=$work/svc-log
install -d -o "$tuser" -g "$tgroup" -m 2770 "$svc_log"
if command -v setpriv >/dev/null 2>&1 && [ -n "$bset" ]; then
	note "unit: bounding set -all,$bset; UMask ${umask_unit:-022}; supplementary group $tgroup; no new privileges"
	old_umask=$(umask)
	umask "${umask_unit:-022}"
	LIVE_WRAP="setpriv --bounding-set=-all,$bset --groups=$tgid --no-new-privs" LIVE_W=$svc_log/records.jsonl
	export LIVE_WRAP LIVE_W
	if live_start_sensor svc -u "$tuser"; then
		check_dropped "unit's bounds, -u $tuser" "$sensor_pid"
		replay "unit's bounds" "$exceptions"
		mv "$svc_log/records.jsonl" "$svc_log/records.jsonl-1"
		kill -HUP "$sensor_pid"
		sleep 0.5
		replay "unit's bounds, after the move and SIGHUP" "$etcp"
		live_stop_sensor
		[ "$sensor_rc" -eq 0 ] && ok "unit's bounds: exit 0 on SIGTERM" || ko "unit's bounds: exit $sensor_rc on SIGTERM"
		count_records "unit's bounds, before the move" "$svc_log/records.jsonl-1" 10
		count_records "unit's bounds, after the move and SIGHUP" "$svc_log/records.jsonl" 2
		owner=$(stat -c '%U:%G %a' "$svc_log/records.jsonl" 2>/dev/null)
		note "the reopened records file: $owner"
		# Restart: root (bounded, with the group) opens the file the user made.
		if live_start_sensor svc2 -u "$tuser"; then
			ok "unit's bounds: starts again with the records file the sensor created as $tuser ($owner)"
			live_stop_sensor
		else
			ko "unit's bounds: does not start again with the records file created as $tuser ($owner)"
		fi
	else
		ko "the sensor does not start within the unit's bounds"
	fi
	unset LIVE_WRAP LIVE_W
	umask "$old_umask"
else
	note "setpriv missing: the unit's capability bounds not tried"
fi

# ---- contrib/x1367ids.conf --------------------------------------------------
conf=$top_srcdir/contrib/x1367ids.conf
mkdir -p "$work/etc/x1367ids"
sed -e "s|^interface = .*|interface = $VETH_B|" -e "s|^user = .*|user = $tuser|" \
	-e "s|^write = .*|write = $work/conf.jsonl|" -e "s|^#rules = .*|rules = $rules|" \
	"$conf" >"$work/etc/x1367ids/x1367ids.conf"
if "$sensor" --check-config -c "$work/etc/x1367ids/x1367ids.conf" >"$work/cc.out" 2>"$work/cc.err"; then
	ok "--check-config accepts contrib/x1367ids.conf: $(tail -n 1 "$work/cc.err")"
else
	ko "--check-config rejects contrib/x1367ids.conf:"; sed 's/^/    /' "$work/cc.err"
fi
missing=
for o in $("$sensor" --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
	o=${o#--}
	case $o in help | version | list-codes | list-plugins | config | check-config) continue ;; esac   # actions, not settings
	grep -Eq "^#?$o( |$)" "$conf" || missing="$missing $o"
done
[ -z "$missing" ] && ok "contrib/x1367ids.conf mentions every long option of --help" ||
	ko "contrib/x1367ids.conf lacks:$missing"

if command -v systemd-analyze >/dev/null 2>&1; then
	sed -e "s|@sbindir@|$(cd "$(dirname "$sensor")" && pwd)|g" -e "s|@sysconfdir@|$work/etc|g" \
		"$unit" >"$work/x1367ids.service"
	if systemd-analyze verify --man=no "$work/x1367ids.service" >"$work/verify.out" 2>&1; then
		ok "systemd-analyze verify: contrib/systemd/x1367ids.service.in (substituted)"
	else
		ko "systemd-analyze verify:"; sed 's/^/    /' "$work/verify.out"
	fi
else
	note "systemd-analyze missing: the unit not verified"
fi

echo "privileges: $(since "$start") s"
finish
