#!/bin/sh
# Defect 6, live: a FIFO named *.map appears in the rules directory, then
# SIGHUP.  Expected: the reload is refused with one line, the old tables
# kept, and the sensor still answers SIGTERM at once (before the fix the
# reload froze the capture loop: SIGTERM was never handled).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "not root (live capture)"
start_live "$work/x1367ids.pid" --allow-root --rules "$work/rules" -w "$work/records.jsonl" --no-stats ||
	fail "the sensor did not start"
mkfifo "$work/rules/zz-local.map"
kill -HUP "$bg_pid"
sleep 0.5
stop_live 3
[ "$rc" -eq 137 ] && fail "hung in the reload: killed 3 s after SIGTERM"
[ "$rc" -eq 0 ] || fail "exit $rc on SIGTERM"
grep -Eq '^x1367ids: reload failed: .*zz-local.map: a FIFO, not a regular file: refused; keeping the previous tables' "$work/err" ||
	fail "no 'reload failed' line for the FIFO"
pass "$(grep 'reload failed' "$work/err")"
