#!/bin/sh
# SIGHUP on a live sensor: new tables take effect, the -w file is reopened,
# no record is lost; a broken table keeps the previous ones.
#
# tests/live/data/modbus-exceptions-spread.pcap (tests/live/make-live-pcaps.py):
# 28 Modbus exceptions 02, one every 0.4 s over 11.3 s, replayed with its own
# timing while the sensor captures with --rules pointing at a copy of the
# rules directory (02 -> 31) and --stats-interval 1.
#
#   t = 3.5 s  the copy now maps 02 -> 3F; logrotate -f with
#              contrib/logrotate.d/x1367ids (path and postrotate adapted to
#              this sensor) moves the records file aside and sends SIGHUP
#              (without logrotate: mv and kill -HUP)
#   t = 7.5 s  the copy gets a broken row (02 -> 3G), SIGHUP
#   end + 1 s  SIGTERM
#
# Checks: records reach the file at once (not held in a buffer); 28 records in all (moved file + new file), none lost; the codes run
# 31...31 then 3F...3F; every record received before the first SIGHUP (less
# 0.25 s: the sensor may hold a packet up to 100 ms before it handles it) has
# 31 and every one after it (plus 0.25 s) 3F; the moved file holds the
# first records and the new file the rest; after the broken table: exactly
# one line "x1367ids: reload failed: <file:line: reason>; keeping the previous
# tables" naming the broken row, the sensor still running, the records after
# it still 3F; periodic statistics lines about every second; exit 0 on
# SIGTERM.  The records also go through a spool (--spool-dir) to a syslog
# collector on the namespace's loopback (udp://127.0.0.1): the writer and
# sender threads work while the signals arrive and the statistics are
# written (tests/tsan.sh runs this under ThreadSanitizer); each of the 28
# records reaches it.
#
# Needs root, ip netns, tcpreplay and python3; otherwise SKIP (exit 77).
. "$(dirname "$0")/lib.sh"
needs_root_and_netns
start=$(now)

capture=$live_dir/data/modbus-exceptions-spread.pcap
expected_n=28
[ -f "$capture" ] || { ko "capture $capture missing (python3 tests/live/make-live-pcaps.py)"; finish; }

cp -R "$rules" "$work/rules"
map=$work/rules/modbus.map
row=$(grep -n '^modbus[[:space:]][[:space:]]*02[[:space:]]' "$map" | cut -d: -f1)
[ -n "$row" ] || { ko "no 'modbus 02' row in $map"; finish; }
grep -q '^modbus[[:space:]][[:space:]]*02[[:space:]][[:space:]]*31[[:space:]]' "$map" ||
	{ ko "$rules/modbus.map does not map 02 to 31 (the test assumes the defaults)"; finish; }

# contrib/logrotate.d/x1367ids, for this file and this sensor: logrotate
# renames the file and its postrotate sends the SIGHUP (else: mv and kill).
lr_conf=
if command -v logrotate >/dev/null 2>&1; then
	lr_conf=$work/logrotate.conf
	awk -v path="$work/hup.jsonl" -v hup="kill -HUP PID" '
		/^\/var\/log\/x1367ids\/\*\.jsonl/ { sub(/^[^ ]*/, path) }
		/^[ \t]*postrotate/ { print; print "\t\t" hup; skip = 1; next }
		/^[ \t]*endscript/ { skip = 0 }
		!skip' "$top_srcdir/contrib/logrotate.d/x1367ids" >"$lr_conf"
fi

# The syslog collector: every datagram, one line each, in collector.out.
ip -n "$NS_B" link set lo up
syslog_port=5514
ip netns exec "$NS_B" python3 - "$work/collector.out" "$syslog_port" <<'EOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[2])))
s.settimeout(0.2)
open(sys.argv[1] + ".ready", "w").close()
end = time.time() + 120
with open(sys.argv[1], "a") as out:
    while time.time() < end:
        try:
            d = s.recv(70000)
        except socket.timeout:
            continue
        out.write(d.decode("utf-8", "replace").replace("\n", " ") + "\n")
        out.flush()
EOF
collector_pid=$!
live_bg_pids="$live_bg_pids $collector_pid"
i=0
while [ ! -f "$work/collector.out.ready" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done

live_start_sensor hup --allow-root --rules "$work/rules" --stats-interval 1 \
	--syslog "udp://127.0.0.1:$syslog_port" --spool-dir "$work/spool" ||
	{ ko "live sensor did not start"; finish; }
[ -n "$lr_conf" ] && sed -i "s/kill -HUP PID/kill -HUP $sensor_pid/" "$lr_conf"
t_start=$(now)
# (not live_replay: in the background that would be a subshell, and the
# cleanup must be able to kill tcpreplay itself)
ip netns exec "$NS_A" tcpreplay -i "$VETH_A" "$capture" >"$work/hup.tcpreplay" 2>&1 &
replay_pid=$!

# sleep_until T: sleep until T seconds after the replay started
sleep_until() { sleep "$(awk -v s="$t_start" -v t="$1" -v n="$(now)" 'BEGIN { d = s + t - n; printf "%.3f", (d > 0 ? d : 0) }')"; }

sleep_until 3.5
# By now 8 exceptions were answered (the last at +3.32 s): a live sensor
# must not keep them in an output buffer (a log shipper tails this file).
early=$(cat "$work/hup.jsonl" 2>/dev/null | wc -l)
sed -i "${row}s/.*/modbus      02      3F     Illegal Data Address (reloaded)/" "$map"
t_hup1=$(now)
if [ -n "$lr_conf" ]; then
	logrotate -f -s "$work/logrotate.state" "$lr_conf" >"$work/logrotate.out" 2>&1 ||
		{ ko "logrotate failed:"; sed 's/^/    /' "$work/logrotate.out"; }
	for f in "$work"/hup.jsonl-*; do [ -f "$f" ] && mv "$f" "$work/hup.jsonl.1"; done
else
	mv "$work/hup.jsonl" "$work/hup.jsonl.1"
	kill -HUP "$sensor_pid"
fi

sleep_until 7.5
sed -i "${row}s/.*/modbus      02      3G     Illegal Data Address (broken)/" "$map"
t_hup2=$(now)
kill -HUP "$sensor_pid"

wait "$replay_pid"
replay_rc=$?
replay_pid=
sleep 1
alive=no
kill -0 "$sensor_pid" 2>/dev/null && alive=yes
live_stop_sensor
sleep 0.2
kill "$collector_pid" 2>/dev/null
wait "$collector_pid" 2>/dev/null

if [ "$replay_rc" -ne 0 ]; then
	ko "tcpreplay failed (status $replay_rc)"; sed 's/^/    /' "$work/hup.tcpreplay"
fi
sent=$(replay_sent "$work/hup.tcpreplay")
note "tcpreplay sent ${sent:-?} packets; SIGHUP at +$(awk -v a="$t_start" -v b="$t_hup1" 'BEGIN { printf "%.2f", b - a }') s" \
	"and +$(awk -v a="$t_start" -v b="$t_hup2" 'BEGIN { printf "%.2f", b - a }') s"
[ -f "$work/hup.jsonl" ] || : >"$work/hup.jsonl"
[ -f "$work/hup.jsonl.1" ] || : >"$work/hup.jsonl.1"

# The records, as "file epoch-seconds code" lines in the order written.
python3 - "$work/hup.jsonl.1" "$work/hup.jsonl" >"$work/seq" <<'EOF'
import datetime, json, sys
for i, path in enumerate(sys.argv[1:]):
    for line in open(path):
        r = json.loads(line)
        t = datetime.datetime.strptime(r["Timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
        t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
        print(i, "%.6f" % t, r["Error Code"])
EOF
n_moved=$(awk '$1 == 0' "$work/seq" | wc -l)
n_new=$(awk '$1 == 1' "$work/seq" | wc -l)
n=$((n_moved + n_new))
codes=$(awk '{ print $3 }' "$work/seq" | uniq -c | awk '{ printf "%s%s x %s", (NR > 1 ? ", " : ""), $1, $2 }')
note "records: $n_moved in the moved file, $n_new in the reopened one; codes in order: $codes"

[ "$early" -ge 7 ] && ok "records reach the -w file at once ($early of the 8 answered by +3.5 s)" ||
	ko "records are not written at once: $early of the 8 exceptions answered by +3.5 s are in the -w file"
[ "$n" -eq "$expected_n" ] && ok "all $expected_n exceptions reported across two reloads" ||
	ko "$n records for $expected_n exceptions replayed"

# 31...31 then 3F...3F, at least one of each
if awk '{ print $3 }' "$work/seq" | uniq | tr '\n' ' ' | grep -qx '31 3F '; then
	ok "codes switch once, from 31 to 3F"
else
	ko "codes do not run 31...31 then 3F...3F"
fi

# Against the wall clock of the signals
bad=$(awk -v h1="$t_hup1" -v h2="$t_hup2" '
	$2 < h1 - 0.25 && $3 != "31" { print "received " $2 " before the first SIGHUP with " $3 }
	$2 > h1 + 0.25 && $3 != "3F" { print "received " $2 " after the first SIGHUP with " $3 }' "$work/seq")
before1=$(awk -v h1="$t_hup1" '$2 < h1 - 0.25' "$work/seq" | wc -l)
after1=$(awk -v h1="$t_hup1" -v h2="$t_hup2" '$2 > h1 + 0.25 && $2 < h2 - 0.25' "$work/seq" | wc -l)
after2=$(awk -v h2="$t_hup2" '$2 > h2 + 0.25' "$work/seq" | wc -l)
if [ -z "$bad" ] && [ "$before1" -ge 3 ] && [ "$after1" -ge 3 ] && [ "$after2" -ge 3 ]; then
	ok "31 for the $before1 records before the reload, 3F for the $after1 after it and the $after2 after the broken reload"
else
	ko "codes against the SIGHUPs:${bad:+ $bad}; $before1 records before the reload, $after1 after it," \
		"$after2 after the broken one (3 or more each wanted)"
fi

# The -w file reopened: the moved file ends where the new file starts.
if [ "$n_moved" -gt 0 ] && [ "$n_new" -gt 0 ] &&
	awk '$1 == 0 { last0 = $2 } $1 == 1 && !first1 { first1 = $2 } END { exit !(last0 <= first1) }' "$work/seq"; then
	ok "${lr_conf:+logrotate + }SIGHUP reopens the -w file (moved file: $n_moved records, new file: $n_new)"
else
	ko "${lr_conf:+logrotate + }SIGHUP reopens the -w file (moved file: $n_moved records, new file: $n_new)"
fi

# The broken table
failed_lines=$(grep -c 'reload failed' "$work/hup.err")
if [ "$failed_lines" -eq 1 ] &&
	grep -Eq "^x1367ids: reload failed: .*modbus\.map:$row: .*; keeping the previous tables\$" "$work/hup.err"; then
	ok "broken table: $(grep 'reload failed' "$work/hup.err")"
else
	ko "broken table: wanted one line 'x1367ids: reload failed: ...modbus.map:$row: ...; keeping the previous tables', stderr was:"
	sed 's/^/    /' "$work/hup.err"
fi
[ "$alive" = yes ] && ok "the sensor still runs after the broken reload" || ko "the sensor died after the broken reload"
[ "$sensor_rc" -eq 0 ] && ok "exit 0 on SIGTERM" || ko "exit $sensor_rc on SIGTERM"

# The syslog collector got each record once (seq 1..28), as RFC 5424
syslog_lines=$(grep -c ' x1367ids [0-9]* X1367 \[x1367@32473 ' "$work/collector.out" 2>/dev/null)
syslog_seqs=$(grep -o ' seq="[0-9]*"' "$work/collector.out" 2>/dev/null | sort -u | wc -l)
if [ "${syslog_lines:-0}" -ge "$expected_n" ] && [ "$syslog_seqs" -eq "$expected_n" ]; then
	ok "syslog through the spool, signals and all: the collector got all $expected_n records ($syslog_lines datagrams)"
else
	ko "syslog: the collector got ${syslog_lines:-0} messages, $syslog_seqs distinct seq, wanted $expected_n"
	sed 's/^/    /' "$work/hup.err" | grep -v 'reload' | tail -n 5
fi

# Periodic statistics (--stats-interval 1) over the ~12 s run
stat_lines=$(grep -c '"capture"' "$work/hup.stats")
if [ "$stat_lines" -ge 9 ]; then
	ok "--stats-interval 1: $stat_lines statistics lines with \"capture\""
else
	ko "--stats-interval 1: $stat_lines statistics lines with \"capture\" in a 12 s run"
fi
note "last statistics: $(stat_of "$work/hup.stats" packets records_by_code)"

echo "sighup: $(since "$start") s"
finish
