#!/bin/sh
# Issue 13: a careless (or hostile) asset table.  A duplicate key, a key
# that is no address, a byte order mark, a NUL byte, a FIFO and a file over
# the size bound each stop the start with exit 2 and one line
# "x1367ids: FILE:LINE: reason" (or "FILE: reason"), and --check-config
# says the same line; nothing is half loaded.
. "$(dirname "$0")/lib.sh"
# check_same of checkcfg.sh, without its final pass: several files here.
refused() {
	what=$1
	shift
	run_sensor 10 -r "$pcaps/synthetic/modbus-exceptions.pcap" --rules "$rules" --no-stats "$@"
	[ "$rc" -eq 2 ] || fail "$what: the run exits $rc, wanted 2"
	cp "$work/err" "$work/run.err"
	run_sensor 10 --check-config --rules "$rules" "$@"
	[ "$rc" -eq 2 ] || fail "$what: --check-config exits $rc, the run 2"
	cmp -s "$work/err" "$work/run.err" || fail "$what: --check-config says '$(cat "$work/err")', the run '$(cat "$work/run.err")'"
	one_line . || fail "$what: not one line"
}
hdr='key,unique_id,name,location,ecosystem'
printf '%s\n192.0.2.11,0001,PLC,,\n192.0.2.11,0002,PLC again,,\n' "$hdr" >"$work/dup.csv"
refused "duplicate key" --assets "$work/dup.csv"
grep -q "^x1367ids: $work/dup.csv:3: duplicate key \"192.0.2.11\" (first at line 2)\$" "$work/err" ||
	fail "duplicate key: not the FILE:LINE line wanted"
printf '%s\n192.0.2.256#1,0001,,,\n' "$hdr" >"$work/addr.csv"
refused "bad address" --assets "$work/addr.csv"
grep -q "^x1367ids: $work/addr.csv:2: key \"192.0.2.256#1\" is not an address" "$work/err" || fail "bad address: wrong line"
printf '\357\273\277%s\n' "$hdr" >"$work/bom.csv"
refused "byte order mark" --assets "$work/bom.csv"
printf '%s\n192.0.2.1,00\00001,,,\n' "$hdr" >"$work/nul.csv"
refused "NUL byte" --assets "$work/nul.csv"
grep -q "nul.csv:2: NUL byte" "$work/err" || fail "NUL: wrong line"
mkfifo "$work/fifo.csv"
refused "FIFO" --assets "$work/fifo.csv"
# 17 MiB of comments: over the 16 MiB bound, refused before any parsing.
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' '#' >"$work/huge.csv"
refused "huge file" --assets "$work/huge.csv"
grep -q "huge.csv: larger than 16777216 bytes" "$work/err" || fail "huge: wrong line"
pass "duplicate, bad address, BOM, NUL, FIFO and a 17 MiB file: exit 2, one FILE:LINE line each"
