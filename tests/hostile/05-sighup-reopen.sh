#!/bin/sh
# Defect 1. Live, -u USER, -w in the user's directory: SIGHUP reopens the
# file after the drop (before the fix the file root had created could not
# be reopened: "Permission denied"); logrotate's move then SIGHUP makes a
# new file owned by the user; on SIGTERM the pid file is gone.
. "$(dirname "$0")/lib.sh"
need_root_user
mkdir -p "$work/log"
chown "$huser" "$work/log"
start_live "$work/log/x1367ids.pid" -u "$huser" -w "$work/log/records.jsonl" --no-stats ||
	fail "the sensor did not start (exit $?)"
kill -HUP "$bg_pid"
sleep 0.5
mv "$work/log/records.jsonl" "$work/log/records.jsonl-1"
kill -HUP "$bg_pid"
sleep 0.5
stop_live
grep -q 'reopening' "$work/err" && fail "a reopen failed: $(grep reopening "$work/err" | head -n 1)"
[ "$rc" -eq 0 ] || fail "exit $rc on SIGTERM"
[ "$(grep -c 'reloaded' "$work/err")" -eq 2 ] || fail "not two reloads"
owner=$(stat -c %U "$work/log/records.jsonl" 2>/dev/null)
[ "$owner" = "$huser" ] || fail "the reopened records file is owned by '${owner:-nobody: missing}', not $huser"
[ -e "$work/log/x1367ids.pid" ] && fail "the pid file is left behind"
pass "two SIGHUPs reopened the -w file (the new one owned by $huser); no pid file left"
