# shellcheck shell=sh
# fifo_case WHAT PATTERN args...: the sensor replays a small capture with
# args naming a FIFO; expected within 5 s: exit 2 and one line matching
# PATTERN ("... a FIFO, not a regular file: refused").  Before the fix the
# open or the read waited for a writer forever (exit 124 here).
fifo_case() {
	what=$1 pattern=$2
	shift 2
	run_sensor 5 -r "$pcaps/synthetic/modbus-exceptions.pcap" --no-stats "$@"
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && fail "$what: hung (killed after 5 s)"
	[ "$rc" -eq 2 ] || fail "$what: exit $rc, wanted 2"
	one_line "$pattern" || fail "$what: not the one line wanted"
	pass "$what: exit 2, $(cat "$work/err")"
}
