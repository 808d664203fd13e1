#!/bin/sh
# Issue 13, live: the asset table is replaced by a broken one, then SIGHUP.
# Expected: the reload is refused with one "FILE:LINE: reason" line, the
# previous table kept (its key count said), the sensor keeps running; the
# file fixed, the next SIGHUP loads it.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "not root (live capture)"
hdr='key,unique_id,name,location,ecosystem'
printf '%s\n192.0.2.11,0001,,,\n192.0.2.0/24,0100,,,\n' "$hdr" >"$work/assets.csv"
start_live "$work/x1367ids.pid" --allow-root -w "$work/records.jsonl" --no-stats --assets "$work/assets.csv" ||
	fail "the sensor did not start"
printf '%s\n192.0.2.11,0001,,,\n"192.0.2.12,0002,,,\n' "$hdr" >"$work/assets.csv"
kill -HUP "$bg_pid"
sleep 0.5
kill -0 "$bg_pid" 2>/dev/null || fail "the sensor died on a broken table"
printf '%s\n192.0.2.11,0001,,,\n192.0.2.12,0002,,,\n192.0.2.13,0003,,,\n' "$hdr" >"$work/assets.csv"
kill -HUP "$bg_pid"
sleep 0.5
stop_live 3
[ "$rc" -eq 0 ] || fail "exit $rc on SIGTERM"
grep -q "^x1367ids: reload failed: $work/assets.csv:3: quote not closed (a record is one line); keeping the previous asset table (2 keys)\$" "$work/err" ||
	fail "no 'reload failed ... FILE:LINE' line keeping the 2 keys"
grep -q "^x1367ids: reloaded 3 asset keys from $work/assets.csv\$" "$work/err" || fail "the fixed table was not loaded"
pass "$(grep 'reload failed' "$work/err" | cut -c1-160)"
