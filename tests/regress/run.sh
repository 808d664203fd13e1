#!/bin/sh
# Capture regression tests: every capture with an expected-records file.
#
#   pcaps/**/NAME.pcap (or .pcapng)  +  pcaps/**/NAME.expected
#   $X1367_PUBLIC_PCAPS/NAME.pcap  +  tests/regress/public/NAME.expected
#       (the third-party captures, default pcaps/public: their expected
#       records live apart, so that another copy of them can be named)
#
# Adding a case is adding those two files.  Optional NAME.stats beside the
# expected file holds "key=value" lines the statistics line must contain
# (for example parse_errors=0), among the totals: the keys before the
# per-protocol breakdown, where each name occurs once.  Every record is also checked against the
# Recommendation's patterns by tests/tools/x1367-validate.
# Optional NAME.args beside the capture holds extra command-line flags for
# that capture only (for example --max-flows 16): split on white space, no
# quoting, lines starting with # ignored.
#
# UPDATE_EXPECTED=1 rewrites the expected files from the current output
# (make update-expected); review the diff before committing it.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
public=${X1367_PUBLIC_PCAPS:-$top_srcdir/pcaps/public}
# SENSOR, RULES and PLUGIN_DIR may point at an installed tree instead
# (tests/regress/installed.sh); RULES or PLUGIN_DIR empty = the sensor's
# own default, no flag given.
sensor=${SENSOR:-$top_builddir/x1367ids}
rules=${RULES-$top_srcdir/rules}
plugin_dir=${PLUGIN_DIR-$top_builddir/dissectors/.libs}
validate=$top_builddir/tests/tools/x1367-validate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

run_sensor() {   # capture -> records on $work/out, stats on $work/err
	args=${1%.pcap*}.args
	set -- -r "$1" --reporter-ip 192.0.2.254 --sensor-name regress
	[ -n "$rules" ] && set -- "$@" --rules "$rules"
	[ -n "$plugin_dir" ] && [ -d "$plugin_dir" ] && set -- "$@" --plugin-dir "$plugin_dir"
	# shellcheck disable=SC2046  # split on purpose: one flag or value a word
	[ -f "$args" ] && set -- "$@" $(grep -v '^#' "$args")
	"$sensor" "$@" >"$work/out" 2>"$work/err"
}

check_stats() {  # stats-file
	[ -f "$1" ] || return 0
	stats=$(tail -n 1 "$work/err")
	# Per-protocol counters repeat the totals' names ("parse_errors":0 of
	# a protocol the capture lacks): judge the totals only.
	stats=${stats%%\"protocols\":*}
	while IFS= read -r line; do
		case $line in ''|'#'*) continue ;; esac
		key=${line%%=*}
		val=${line#*=}
		case $stats in
		*"\"$key\":$val,"*|*"\"$key\":$val}"*) ;;
		*) echo "  statistics: expected \"$key\":$val in: $stats"; return 1 ;;
		esac
	done <"$1"
}

one_case() {    # name capture expected
	name=$1 capture=$2 expected=$3
	if [ ! -f "$capture" ]; then
		echo "FAIL $name: capture $capture missing"
		return 1
	fi
	if ! run_sensor "$capture"; then
		echo "FAIL $name: x1367ids exited non-zero:"
		sed 's/^/  /' "$work/err"
		return 1
	fi
	if ! "$validate" "$work/out" 2>"$work/val"; then
		echo "FAIL $name: records not valid X.1367:"
		sed 's/^/  /' "$work/val"
		return 1
	fi
	if [ "${UPDATE_EXPECTED:-0}" = 1 ]; then
		cp "$work/out" "$expected"
		echo "UPDATED $name ($(wc -l <"$expected") records)"
		return 0
	fi
	if [ ! -f "$expected" ]; then
		echo "FAIL $name: no expected file $expected (make update-expected, then review)"
		return 1
	fi
	if ! diff -u "$expected" "$work/out" >"$work/diff"; then
		echo "FAIL $name: records differ from $expected:"
		head -n 40 "$work/diff" | sed 's/^/  /'
		return 1
	fi
	check_stats "${expected%.expected}.stats" || { echo "FAIL $name: statistics"; return 1; }
	echo "PASS $name ($(wc -l <"$expected") records)"
}

tally() {
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

for capture in $(find "$top_srcdir/pcaps" -path "$top_srcdir/pcaps/public" -prune -o \( -name '*.pcap' -o -name '*.pcapng' \) -print | sort); do
	base=${capture%.pcap*}
	tally one_case "${capture#"$top_srcdir"/}" "$capture" "$base.expected"
done
for capture in "$public"/*.pcap "$public"/*.pcapng; do
	[ -f "$capture" ] || continue
	name=$(basename "${capture%.pcap*}")
	tally one_case "public/$name" "$capture" "$top_srcdir/tests/regress/public/$name.expected"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
