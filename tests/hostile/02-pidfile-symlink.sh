#!/bin/sh
# Defect 1. The pid file's name in a directory the sensor user owns is a
# link to a root file with content (etc/precious, standing for /etc/passwd).
# Expected: exit 1, one line "... a symbolic link: refused", the file
# unchanged (before the fix root truncated it and wrote the pid).
. "$(dirname "$0")/lib.sh"
need_root_user
mkdir -p "$work/run" "$work/etc"
chown "$huser" "$work/run"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$work/etc/precious"
cp "$work/etc/precious" "$work/precious.orig"
ln -s "$work/etc/precious" "$work/run/x1367ids.pid"
run_live 3 -u "$huser" -w "$work/run/records.jsonl" --pid-file "$work/run/x1367ids.pid"
cmp -s "$work/etc/precious" "$work/precious.orig" ||
	fail "the link's target was changed to '$(head -c 40 "$work/etc/precious")' (exit $rc)"
[ "$rc" -eq 1 ] || fail "exit $rc, wanted 1"
one_line 'x1367ids.pid: a symbolic link: refused' || fail "not the one line wanted"
pass "exit 1, target untouched, $(cat "$work/err")"
