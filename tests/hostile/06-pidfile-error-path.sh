#!/bin/sh
# Defect 1. A start that fails leaves no pid file behind: no such user to
# become (found before the pid file is written), and a --chroot directory
# that does not exist (found after: the pid file must be removed).
# Expected each time: exit 2, one line saying why, no pid file.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "not root"
run_live 3 -u x1367ids-no-such-user -w "$work/records.jsonl" --pid-file "$work/x1367ids.pid"
[ -e "$work/x1367ids.pid" ] && fail "-u no-such-user: a pid file is left behind (exit $rc)"
[ "$rc" -eq 2 ] || fail "-u no-such-user: exit $rc, wanted 2"
one_line 'no-such-user' || fail "-u no-such-user: not the one line wanted"
first=$(cat "$work/err")
run_live 3 --allow-root --chroot "$work/no-such-dir" -w "$work/records.jsonl" --pid-file "$work/x1367ids.pid"
[ -e "$work/x1367ids.pid" ] && fail "--chroot no-such-dir: a pid file is left behind (exit $rc)"
[ "$rc" -eq 2 ] || fail "--chroot no-such-dir: exit $rc, wanted 2"
one_line 'chroot .*no-such-dir' || fail "--chroot no-such-dir: not the one line wanted"
pass "exit 2, no pid file: $first; $(cat "$work/err")"
