#!/bin/sh
# Defect 1. The pid file's name is a hard link to a root file (what the
# sensor user can make where fs.protected_hardlinks is 0; made here by the
# test).  O_NOFOLLOW does not see it.  Expected: exit 1, one line "... hard
# links ... refused", the file unchanged.
. "$(dirname "$0")/lib.sh"
need_root_user
mkdir -p "$work/run" "$work/etc"
chown "$huser" "$work/run"
printf 'secret\n' >"$work/etc/shadow"
ln "$work/etc/shadow" "$work/run/x1367ids.pid"
run_live 3 -u "$huser" -w "$work/run/records.jsonl" --pid-file "$work/run/x1367ids.pid"
[ "$(cat "$work/etc/shadow")" = secret ] || fail "the linked file now holds '$(head -c 40 "$work/etc/shadow")' (exit $rc)"
[ "$rc" -eq 1 ] || fail "exit $rc, wanted 1"
one_line 'x1367ids.pid: has 2 hard links.*refused' || fail "not the one line wanted"
pass "exit 1, $(cat "$work/err")"
