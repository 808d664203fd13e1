#!/bin/sh
# Defect 1. --stats-file in the sensor user's directory is a link to a
# path in a root-only directory.  Expected: exit 1, one line "... a
# symbolic link: refused", nothing created there.
. "$(dirname "$0")/lib.sh"
need_root_user
mkdir -p "$work/log" "$work/etc"
chown "$huser" "$work/log"
ln -s "$work/etc/cron-job" "$work/log/stats.log"
run_live 3 -u "$huser" -w "$work/log/records.jsonl" --stats-file "$work/log/stats.log"
[ -e "$work/etc/cron-job" ] && fail "root created the link's target (exit $rc)"
[ "$rc" -eq 1 ] || fail "exit $rc, wanted 1"
one_line 'stats.log: a symbolic link: refused' || fail "not the one line wanted"
pass "exit 1, $(cat "$work/err")"
