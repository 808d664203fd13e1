#!/bin/sh
# Defect 1. -w in a directory everybody may write and without the sticky
# bit: anybody can swap the file for a link between two opens.  Expected
# (any user, a replay): exit 1, one line "... writable by everybody ...
# refused", no records file.  A sticky directory (/tmp's mode) is fine.
. "$(dirname "$0")/lib.sh"
mkdir -m 0777 "$work/open"
chmod 0777 "$work/open"
run_sensor 10 -r "$pcaps/synthetic/modbus-exceptions.pcap" --rules "$rules" -w "$work/open/records.jsonl" --no-stats
[ -e "$work/open/records.jsonl" ] && fail "records written into a world-writable directory (exit $rc)"
[ "$rc" -eq 1 ] || fail "exit $rc, wanted 1"
one_line 'writable by everybody.*refused' || fail "not the one line wanted"
mkdir -m 1777 "$work/sticky"
chmod 1777 "$work/sticky"
run_sensor 10 -r "$pcaps/synthetic/modbus-exceptions.pcap" --rules "$rules" -w "$work/sticky/records.jsonl" --no-stats
[ "$rc" -eq 0 ] && [ "$(wc -l <"$work/sticky/records.jsonl")" -eq 10 ] || fail "a sticky directory refused (exit $rc)"
pass "world-writable refused, sticky accepted"
