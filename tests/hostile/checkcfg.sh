# shellcheck shell=sh
# check_same WHAT args...: --check-config with args must fail exactly as a
# run with them does: exit 2, the same one line.  Before the fix
# --check-config said "configuration ok" (exit 0) for settings the run
# rejected.
check_same() {
	what=$1
	shift
	run_sensor 10 -r "$pcaps/synthetic/modbus-exceptions.pcap" --rules "$rules" --no-stats "$@"
	run_rc=$rc
	cp "$work/err" "$work/run.err"
	[ "$run_rc" -eq 2 ] || fail "$what: the run exits $run_rc, wanted 2 (the case's premise)"
	run_sensor 10 --check-config --rules "$rules" "$@"
	[ "$rc" -eq 2 ] || fail "$what: --check-config exits $rc ($(head -n 1 "$work/err")), the run 2 ($(cat "$work/run.err"))"
	cmp -s "$work/err" "$work/run.err" || fail "$what: --check-config says '$(cat "$work/err")', the run '$(cat "$work/run.err")'"
	one_line . || fail "$what: not one line"
	pass "$what: both exit 2 with $(cat "$work/err")"
}
