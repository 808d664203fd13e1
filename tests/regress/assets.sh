#!/bin/sh
# The asset table on real captures (issue 13): for each
# tests/regress/assets/NAME.csv, the capture pcaps/real/NAME.pcap is run
# with --assets NAME.csv and its records must
#   1. be valid X.1367 records (tests/tools/x1367-validate),
#   2. equal tests/regress/assets/NAME.expected (made by the sensor, checked
#      by reading: see the comments of each .csv for what each row proves),
#   3. with the asset fields taken out again ("... Observed ID" back into
#      the Unique ID, Name/Location/Ecosystem removed), equal the records of
#      the same capture without a table (pcaps/real/NAME.expected): the
#      table changes names, never which records are written or what they say.
# UPDATE_EXPECTED=1 rewrites the expected files (review the diff).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
sensor=${SENSOR:-$top_builddir/x1367ids}
validate=$top_builddir/tests/tools/x1367-validate
plugin_dir=$top_builddir/dissectors/.libs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

strip_assets() {   # records on stdin -> the same without the table's work
	python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    d = r["Description"]
    for role in ("Requester", "Responder"):
        seen = d.pop(role + " Observed ID", None)
        if seen is not None:
            r[role]["Unique ID"] = seen
        for k in ("Name", "Location", "Ecosystem"):
            d.pop(role + " " + k, None)
    print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
'
}

for csv in "$top_srcdir"/tests/regress/assets/*.csv; do
	name=$(basename "$csv" .csv)
	capture=$top_srcdir/pcaps/real/$name.pcap
	expected=$top_srcdir/tests/regress/assets/$name.expected
	set -- -r "$capture" --reporter-ip 192.0.2.254 --sensor-name regress --rules "$top_srcdir/rules" \
		--assets "$csv" --no-stats
	[ -d "$plugin_dir" ] && set -- "$@" --plugin-dir "$plugin_dir"
	if ! "$sensor" "$@" >"$work/out" 2>"$work/err"; then
		echo "FAIL $name: x1367ids exited non-zero:"; sed 's/^/  /' "$work/err"
		fail=$((fail + 1)); continue
	fi
	if ! "$validate" "$work/out" 2>"$work/val"; then
		echo "FAIL $name: records not valid X.1367:"; sed 's/^/  /' "$work/val"
		fail=$((fail + 1)); continue
	fi
	if [ "${UPDATE_EXPECTED:-0}" = 1 ]; then
		cp "$work/out" "$expected"
	fi
	if ! diff -u "$expected" "$work/out" >"$work/diff"; then
		echo "FAIL $name: records differ from $expected:"; sed 's/^/  /' "$work/diff" | head -n 40
		fail=$((fail + 1)); continue
	fi
	strip_assets <"$work/out" >"$work/stripped"
	strip_assets <"$top_srcdir/pcaps/real/$name.expected" >"$work/baseline"
	if ! diff -u "$work/baseline" "$work/stripped" >"$work/diff"; then
		echo "FAIL $name: without its asset fields, the records differ from pcaps/real/$name.expected:"
		sed 's/^/  /' "$work/diff" | head -n 40
		fail=$((fail + 1)); continue
	fi
	known=$(grep -c 'Observed ID' "$work/out")
	echo "PASS $name: $(wc -l <"$work/out") records, $known with an asset, the rest as without a table"
	pass=$((pass + 1))
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
