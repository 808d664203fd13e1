#!/bin/sh
# Live capture gives the records replay gives.
#
# 1. Records.  Each capture below is replayed with its own timing
#    (tcpreplay, no speed-up: deadlines in capture time are deadlines in
#    wall time) into one end of a veth pair while the sensor captures on the
#    other end, in another network namespace:
#
#      x1367ids -i VETH_B --foreground --allow-root --rules RULES \
#               --reporter-ip 192.0.2.254 --sensor-name live -w OUT
#
#    One second after tcpreplay ends the sensor gets SIGTERM; its records
#    must be those of `x1367ids -r CAPTURE` with the same flags, in the same
#    order, once the "Timestamp" of every record is removed (live, it is the
#    kernel's receive time).  The order is the same because one interface
#    delivers the frames in the order they were sent and the engine handles
#    them in that order; records made by the clock (10 No Response) are
#    written when the clock passes their deadline, which is before the
#    first later packet in both modes.  The captures are chosen so that
#    replay leaves no request pending at the end (a request whose deadline
#    falls within the second between the last packet and SIGTERM would be
#    reported live and not by replay); the script checks that too.
#    Every case also checks that the sensor exits 0 on SIGTERM, that its
#    last statistics line counts the packets sent and has
#    "capture": {VETH_B: {...}}.
#
# 2. Drop accounting.  modbus_test_data_part2.pcap (350 packets) replayed
#    50 times at top speed, once with the default kernel buffer, once with
#    --buffer-size 1 while the sensor is stopped (SIGSTOP until tcpreplay
#    ends, so that the kernel drops): the last statistics line must satisfy
#      packets + capture.VETH_B.dropped_kernel + capture.VETH_B.dropped_interface
#        == the packets tcpreplay sent ("Actual: N packets")
#    whether or not anything was dropped (what was seen is printed).
#
# Needs root, ip netns, tcpreplay and python3; otherwise SKIP (exit 77).
. "$(dirname "$0")/lib.sh"
needs_root_and_netns capinfos
start=$(now)

# LIVE_CAPTURES overrides the list (paths relative to top_srcdir; "" = none)
CAPTURES=${LIVE_CAPTURES-"
pcaps/demo.pcap
pcaps/synthetic/modbus-exceptions.pcap
pcaps/synthetic/modbus-ipv4-fragments.pcap
pcaps/synthetic/modbus-vlan-qinq.pcap
pcaps/synthetic/echonet-tcp.pcap
pcaps/synthetic/modbus-udp.pcap
"}

# The packets of a capture, as capinfos counts them.
packets_in() { capinfos -M -c "$1" | sed -n 's/^Number of packets: *//p'; }

one_capture() {
	rel=$1
	file=$top_srcdir/$rel
	name=$(basename "$rel" | sed 's/\.[^.]*$//')
	t=$(now)
	if ! records_of_replay "$file" "$work/$name.replay"; then
		ko "$name: x1367ids -r failed: $(tail -n 1 "$work/$name.replay.err")"; return
	fi
	pending=$(stat_of "$work/$name.replay.err" requests_pending)
	if [ "$pending" != 0 ]; then
		note "$name: replay leaves $pending request(s) pending; live may report them at SIGTERM"
	fi
	live_start_sensor "$name" --allow-root || { ko "$name: live sensor did not start"; return; }
	live_replay "$work/$name.tcpreplay" "$file"
	replay_rc=$?
	sleep 1
	live_stop_sensor
	sent=$(replay_sent "$work/$name.tcpreplay")
	want=$(packets_in "$file")
	if [ "$replay_rc" -ne 0 ] || [ "${sent:-x}" != "$want" ]; then
		ko "$name: tcpreplay sent ${sent:-?} of $want packets (status $replay_rc)"
		sed 's/^/    /' "$work/$name.tcpreplay"
		return
	fi
	if [ "$sensor_rc" -ne 0 ]; then
		ko "$name: the sensor exited $sensor_rc on SIGTERM"
		sed 's/^/    /' "$work/$name.err"
		return
	fi
	strip_times "$work/$name.replay" "$work/$name.replay.cmp"
	strip_times "$work/$name.jsonl" "$work/$name.live.cmp"
	n_live=$(wc -l <"$work/$name.live.cmp")
	n_replay=$(wc -l <"$work/$name.replay.cmp")
	if cmp -s "$work/$name.live.cmp" "$work/$name.replay.cmp"; then
		ok "$name: live gives replay's $n_replay records ($(since "$t") s)"
	else
		if [ "$(sort "$work/$name.live.cmp")" = "$(sort "$work/$name.replay.cmp")" ]; then
			ko "$name: same $n_live records as replay, in another order"
		else
			ko "$name: live gave $n_live records, replay $n_replay; diff replay live:"
		fi
		diff "$work/$name.replay.cmp" "$work/$name.live.cmp" | head -n 20 | cut -c1-400 | sed 's/^/    /'
	fi
	set -- $(stat_of "$work/$name.stats" packets "capture.$VETH_B.received")
	if [ "$1" = "$sent" ] && [ "$2" != missing ]; then
		ok "$name: statistics: $1 packets, capture.$VETH_B received $2"
	else
		ko "$name: statistics: packets $1 (sent $sent), capture.$VETH_B.received $2"
		tail -n 1 "$work/$name.stats" | cut -c1-600 | sed 's/^/    /'
	fi
}

for rel in $CAPTURES; do
	one_capture "$rel"
done

# ---- drop accounting -----------------------------------------------------
big=$public/modbus_test_data_part2.pcap
loops=${LIVE_LOOPS:-50}

# veth counters, for the report: what the kernel dropped before any socket
veth_counters() {
	ip -n "$1" -s link show "$2" | awk '
		/RX:/ { getline; rx = $2; rxd = $4 }
		/TX:/ { getline; tx = $2; txd = $4 }
		END { printf "rx %s (dropped %s) tx %s (dropped %s)", rx, rxd, tx, txd }'
}

drop_run() {   # NAME run|stopped [sensor options]
	name=$1 mode=$2
	shift 2
	t=$(now)
	live_start_sensor "$name" --allow-root "$@" || { ko "$name: live sensor did not start"; return; }
	# "stopped": the sensor is stopped (SIGSTOP) while tcpreplay sends, so
	# that its ring buffer overflows and the kernel drops for certain.
	[ "$mode" = stopped ] && kill -STOP "$sensor_pid"
	live_replay "$work/$name.tcpreplay" "$big" --topspeed --loop="$loops"
	replay_rc=$?
	[ "$mode" = stopped ] && kill -CONT "$sensor_pid"
	sent=$(replay_sent "$work/$name.tcpreplay")
	# Let the sensor drain its ring: ask for statistics until "packets"
	# stops moving (or accounts for everything sent).
	last=-1
	i=0
	while [ $i -lt 40 ]; do
		live_stats_now "$name" || break
		set -- $(stat_of "$work/$name.stats" packets "capture.$VETH_B.dropped_kernel" "capture.$VETH_B.dropped_interface")
		[ "$1" = "$last" ] && break
		case "$1$2$3" in *[!0-9]*) ;; *) [ $(($1 + $2 + $3)) -eq "${sent:-0}" ] && break ;; esac
		last=$1
		sleep 0.2
		i=$((i + 1))
	done
	live_stop_sensor
	if [ "$replay_rc" -ne 0 ] || [ -z "$sent" ]; then
		ko "$name: tcpreplay failed (status $replay_rc)"; sed 's/^/    /' "$work/$name.tcpreplay"; return
	fi
	[ "$sensor_rc" -eq 0 ] || ko "$name: the sensor exited $sensor_rc on SIGTERM"
	set -- $(stat_of "$work/$name.stats" packets "capture.$VETH_B.received" \
		"capture.$VETH_B.dropped_kernel" "capture.$VETH_B.dropped_interface")
	pk=$1 rcv=$2 dk=$3 di=$4
	speed=$(sed -n 's/^ *Rated: .*, \([0-9.]*\) pps.*/\1/p' "$work/$name.tcpreplay" | tail -n 1)
	note "$name: tcpreplay sent $sent packets (${speed:-?} pps); sensor: packets $pk, received $rcv," \
		"dropped_kernel $dk, dropped_interface $di; $VETH_B $(veth_counters "$NS_B" "$VETH_B")"
	case "$pk$dk$di" in
	*[!0-9]*) ko "$name: statistics line lacks packets or capture.$VETH_B.dropped_*"
		tail -n 1 "$work/$name.stats" | cut -c1-800 | sed 's/^/    /'
		return ;;
	esac
	if [ $((pk + dk + di)) -eq "$sent" ]; then
		ok "$name: packets + dropped_kernel + dropped_interface = $pk + $dk + $di = $sent sent ($(since "$t") s)"
	else
		ko "$name: packets + dropped_kernel + dropped_interface = $pk + $dk + $di = $((pk + dk + di)), tcpreplay sent $sent"
	fi
}

if [ -f "$big" ]; then
	drop_run drops-default run
	drop_run drops-stopped stopped --buffer-size 1
else
	note "drop accounting not run: $big missing (configure --with-public-pcaps)"
fi

echo "live-vs-replay: $(since "$start") s"
finish
