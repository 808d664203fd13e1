#!/bin/sh
# The hostile-input catalogue (issue 14): every tests/hostile/NN-*.sh case,
# one line each (PASS, FAIL, SKIP), then "N passed, N failed".  Exit 0 when
# none failed (77 when every case skipped).  SENSOR=path runs the cases
# against another binary (an older one: the cases of fixed defects fail).
# Cases that need root and a sensor user share one, made here if missing
# and removed at the end.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
made_user=
if [ "$(id -u)" -eq 0 ] && [ -z "${HOSTILE_USER:-}" ]; then
	HOSTILE_USER=x1367ids-hostile
	if ! getent passwd "$HOSTILE_USER" >/dev/null && command -v useradd >/dev/null 2>&1 &&
		useradd --system --no-create-home --shell /usr/sbin/nologin "$HOSTILE_USER" 2>/dev/null; then
		made_user=$HOSTILE_USER
	fi
	export HOSTILE_USER
fi
trap '[ -n "$made_user" ] && userdel "$made_user" 2>/dev/null' EXIT
pass=0 fail=0 skipped=0
start=$(date +%s)
for c in "$here"/[0-9][0-9]-*.sh; do
	out=$(sh "$c" 2>&1)
	st=$?
	name=$(basename "$c" .sh)
	case $st in
	0) pass=$((pass + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) fail=$((fail + 1))
		echo "$out" | grep -q "^FAIL " || out="FAIL $name: exit $st
$out" ;;
	esac
	[ -n "$out" ] && echo "$out" || echo "FAIL $name: said nothing"
done
echo "hostile: $(($(date +%s) - start)) s, $skipped skipped"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
[ "$pass" -gt 0 ] || exit 77
exit 0
