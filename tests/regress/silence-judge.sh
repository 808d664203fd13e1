#!/bin/sh
# Every silence record ("11", Appendix I.3) in the expected files, judged
# against its capture by tools/judge-silence.py, which reads the capture
# with tshark, not with the sensor: a polled device must have been asked
# after its last answer and left unanswered, a notifier must have said
# nothing at all, each for 3 learned periods.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v tshark >/dev/null || { echo "SKIP: no tshark"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0
fail=0
for expected in $(grep -l '"Learned Period"' "$top_srcdir"/pcaps/*/*.expected); do
	base=${expected%.expected}
	capture=$(ls "$base".pcap "$base".pcapng 2>/dev/null | head -n 1)
	if python3 "$top_srcdir/tools/judge-silence.py" "$capture" "$expected" >"$out" 2>&1; then
		pass=$((pass + 1)); echo "PASS ${capture#"$top_srcdir"/}: $(tail -n 1 "$out")"
	else
		fail=$((fail + 1)); echo "FAIL ${capture#"$top_srcdir"/}:"; sed 's/^/  /' "$out"
	fi
done
# The public captures' expected records live apart (tests/regress/run.sh).
for expected in $(grep -l '"Learned Period"' "$top_srcdir"/tests/regress/public/*.expected); do
	name=$(basename "${expected%.expected}")
	capture=$(ls "$top_srcdir/pcaps/public/$name".pcap "$top_srcdir/pcaps/public/$name".pcapng 2>/dev/null | head -n 1)
	if python3 "$top_srcdir/tools/judge-silence.py" "$capture" "$expected" >"$out" 2>&1; then
		pass=$((pass + 1)); echo "PASS ${capture#"$top_srcdir"/}: $(tail -n 1 "$out")"
	else
		fail=$((fail + 1)); echo "FAIL ${capture#"$top_srcdir"/}:"; sed 's/^/  /' "$out"
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
