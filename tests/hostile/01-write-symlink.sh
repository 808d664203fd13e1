#!/bin/sh
# Defect 1. The sensor user owns the log directory (README's set-up) and
# points records.jsonl at a file of root's choosing (here etc/anything in a
# root-only directory, standing for /etc/anything).  Live, as root, -u USER:
# expected exit 1, one line "... a symbolic link: refused", etc/anything
# not created.
. "$(dirname "$0")/lib.sh"
need_root_user
mkdir -p "$work/log" "$work/etc"
chown "$huser" "$work/log"
ln -s "$work/etc/anything" "$work/log/records.jsonl"
run_live 3 -u "$huser" -w "$work/log/records.jsonl"
[ -e "$work/etc/anything" ] && fail "root created the link's target $(stat -c '%U %s bytes' "$work/etc/anything") (exit $rc)"
[ "$rc" -eq 1 ] || fail "exit $rc, wanted 1"
one_line 'records.jsonl: a symbolic link: refused' || fail "not the one line wanted"
pass "exit 1, $(cat "$work/err")"
