#!/bin/sh
# Defect 1. A start that fails (no such user to become) leaves no pid file
# behind.  Expected: exit 2, one line naming the user, no pid file.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "not root"
run_live 3 -u x1367ids-no-such-user -w "$work/records.jsonl" --pid-file "$work/x1367ids.pid"
[ -e "$work/x1367ids.pid" ] && fail "a pid file is left behind (exit $rc)"
[ "$rc" -eq 2 ] || fail "exit $rc, wanted 2"
one_line 'no-such-user' || fail "not the one line wanted"
pass "exit 2, no pid file, $(cat "$work/err")"
