#!/bin/sh
# Defect 7. A live daemon (no --foreground) with no -w has nowhere to put
# its records: the run refuses it; --check-config said "ok".  Expected:
# both exit 2 with the same line (the check fails before any interface is
# opened: no root needed).
. "$(dirname "$0")/lib.sh"
run_sensor 10 -i lo --rules "$rules" --allow-root
[ "$rc" -eq 2 ] || fail "the run exits $rc, wanted 2 (the case's premise)"
cp "$work/err" "$work/run.err"
run_sensor 10 --check-config -i lo --rules "$rules" --allow-root
[ "$rc" -eq 2 ] || fail "--check-config exits $rc ($(head -n 1 "$work/err")), the run 2 ($(cat "$work/run.err"))"
cmp -s "$work/err" "$work/run.err" || fail "--check-config says '$(cat "$work/err")', the run '$(cat "$work/run.err")'"
one_line 'no standard output' || fail "not the one line wanted"
pass "both exit 2 with $(cat "$work/err")"
