#!/bin/sh
# The command line as a user meets it: exit codes, one-line errors,
# standard input, -w, the configuration file, the statistics line.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
public=${X1367_PUBLIC_PCAPS:-$top_srcdir/pcaps/public}
sensor=$top_builddir/x1367ids
plugins=$top_builddir/dissectors/.libs
validate=$top_builddir/tests/tools/x1367-validate
rules=$top_srcdir/rules
part1=$public/modbus_test_data_part1.pcap
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$work/err" ] && sed 's/^/  /' "$work/err"; }

# expect_exit CODE NAME ARGS... : exit status and, for failures, exactly one
# stderr line starting "x1367ids: ".
expect_exit() {
	code=$1 name=$2
	shift 2
	"$sensor" --plugin-dir "$plugins" "$@" >"$work/out" 2>"$work/err" </dev/null
	got=$?
	if [ "$got" -ne "$code" ]; then ko "$name (exit $got, wanted $code)"; return; fi
	if [ "$code" -eq 2 ]; then
		lines=$(wc -l <"$work/err")
		if [ "$lines" -ne 1 ] || ! grep -q '^x1367ids: ' "$work/err"; then
			ko "$name (wanted one 'x1367ids: ' line on stderr)"; return
		fi
		if [ -s "$work/out" ]; then ko "$name (output on stdout)"; return; fi
	fi
	ok "$name"
}

expect_exit 0 "--version" --version
grep -q '^x1367ids [0-9]' "$work/out" || ko "--version prints the version"
expect_exit 0 "--help" --help
grep -q -- '--reporter-ip' "$work/out" || ko "--help lists the options"
expect_exit 0 "--list-codes" --list-codes
cp "$work/out" "$work/codes"
if grep -q "^30	Invalid Command	command\$" "$work/codes" && grep -q "^E0-EF	Private Reason	private\$" "$work/codes"; then
	ok "--list-codes prints code, message, class"
else
	ko "--list-codes prints code, message, class"
fi
# The lists in PLUGINS.md and the man page are --list-codes' output, row for row.
sed -n '/^<!-- codes begin -->$/,/^<!-- codes end -->$/p' "$top_srcdir/docs/PLUGINS.md" |
	sed -n 's/^| `\([^`]*\)` | \(.*\) | \(.*\) |$/\1	\2	\3/p' >"$work/codes.md"
sed -n '/^\.\\" codes begin$/,/^\.\\" codes end$/p' "$top_srcdir/docs/x1367ids.8" | grep -v '^\.' >"$work/codes.man"
cmp -s "$work/codes" "$work/codes.md" && ok "PLUGINS.md lists the codes of --list-codes" ||
	{ ko "PLUGINS.md lists the codes of --list-codes"; diff "$work/codes" "$work/codes.md"; }
cmp -s "$work/codes" "$work/codes.man" && ok "man page lists the codes of --list-codes" ||
	{ ko "man page lists the codes of --list-codes"; diff "$work/codes" "$work/codes.man"; }
expect_exit 2 "unknown flag" --no-such-flag
expect_exit 2 "nothing to read" --rules "$rules"
expect_exit 2 "stray argument" -r "$part1" extra
expect_exit 2 "bad --reporter-ip" -r "$part1" --rules "$rules" --reporter-ip 300.1.1.1
expect_exit 2 "bad number" -r "$part1" --rules "$rules" --max-flows lots
expect_exit 2 "bad BPF" -r "$part1" --rules "$rules" -f 'port nonsense and'
expect_exit 2 "rules dir missing" -r "$part1" --rules "$work/none"
expect_exit 2 "unknown request-timeout protocol" -r "$part1" --rules "$rules" --request-timeout nosuch=10
expect_exit 1 "capture missing" -r "$work/none.pcap" --rules "$rules"

mkdir -p "$work/badrules"
printf 'modbus 01 30 Illegal Function\nmodbus 02 3G Illegal Data Address\n' >"$work/badrules/modbus.map"
expect_exit 2 "bad rules row" -r "$part1" --rules "$work/badrules"
grep -q 'modbus.map:2: unknown X.1367 code "3G"' "$work/err" && ok "bad rules row names file:line" ||
	ko "bad rules row names file:line"
grep -q 'unknown X.1367 code "3G" (valid: 00 10 11 12 1E 1F .* FF.*, or - for no record)' "$work/err" &&
	ok "bad X.1367 code names the valid ones" || ko "bad X.1367 code names the valid ones"

# The rules directory and its tables are trusted as plugins are: owner root
# or the sensor's user, not group/world writable, no symbolic link.
mkdir -p "$work/trules" && cp "$rules"/*.map "$work/trules/" && chmod 755 "$work/trules" && chmod 644 "$work/trules"/*.map
chmod 775 "$work/trules"
expect_exit 2 "group-writable rules directory refused" -r "$part1" --rules "$work/trules"
grep -q "trules: directory writable by group or others: refused (chmod go-w " "$work/err" &&
	ok "rules directory refusal says what to do" || ko "rules directory refusal says what to do"
expect_exit 2 "--check-config refuses it too" --check-config --rules "$work/trules"
chmod 755 "$work/trules"; chmod 646 "$work/trules/modbus.map"
expect_exit 2 "world-writable table refused" -r "$part1" --rules "$work/trules"
grep -q "modbus.map: file writable by group or others: refused (chmod go-w " "$work/err" &&
	ok "table refusal says what to do" || ko "table refusal says what to do"
chmod 644 "$work/trules/modbus.map"
mv "$work/trules/modbus.map" "$work/modbus.map.real" && ln -s "$work/modbus.map.real" "$work/trules/modbus.map"
expect_exit 2 "symbolic link table refused" -r "$part1" --rules "$work/trules"
grep -q "modbus.map: a symbolic link: refused" "$work/err" && ok "symbolic link refusal named" ||
	ko "symbolic link refusal named"
rm "$work/trules/modbus.map" && mv "$work/modbus.map.real" "$work/trules/modbus.map"
expect_exit 0 "trusted copy of the rules accepted" --check-config --rules "$work/trules"

# Rows by prefix or mask: a bad mask is one file:line line; a pattern every
# code of which has a more specific row is a warning, the table still loads.
printf 'modbus 0401/FF00 30 bad\n' >"$work/trules/modbus.map"
expect_exit 2 "bad mask refused with file:line" --check-config --rules "$work/trules"
grep -q "modbus.map:1: vendor code \"0401/FF00\": VALUE has bits set outside MASK" "$work/err" &&
	ok "bad mask reason named" || ko "bad mask reason named"
printf 'modbus 0* 30 never\nmodbus 00/F8 31 low\nmodbus 08/F8 30 high\nmodbus * FF other\n' >"$work/trules/modbus.map"
expect_exit 0 "--check-config accepts a shadowed pattern" --check-config --rules "$work/trules"
grep -q "^x1367ids: warning: .*modbus.map:1: row modbus 00/F0 can never match" "$work/err" &&
	ok "--check-config reports the row that can never match" ||
	ko "--check-config reports the row that can never match"
cp "$rules/modbus.map" "$work/trules/modbus.map"

# x1367ids-validate, as installed: a file or standard input, one line per
# invalid record with its reason, exit 0/1/2.
xv=$top_builddir/x1367ids-validate
"$sensor" --plugin-dir "$plugins" -r "$part1" --no-stats >"$work/recs" 2>/dev/null
"$xv" --min 1 "$work/recs" >"$work/out" 2>"$work/err" && [ ! -s "$work/out" ] && grep -q '^[1-9][0-9]* records valid$' "$work/err" &&
	ok "x1367ids-validate FILE: the sensor's records are valid" || ko "x1367ids-validate FILE: the sensor's records are valid"
{ head -n 1 "$work/recs"; head -n 1 "$work/recs" | sed 's/"Error Message":"[^"]*"/"Error Message":"Nope"/'; } >"$work/mixed"
"$xv" <"$work/mixed" >"$work/out" 2>"$work/err"; rc=$?
[ $rc -eq 1 ] && [ "$(wc -l <"$work/out")" -eq 1 ] &&
	grep -q '^x1367ids-validate: <stdin>:2: Error Message "Nope" is not ' "$work/out" && grep -q '1 of 2 records invalid' "$work/err" &&
	ok "x1367ids-validate on standard input: one line per invalid record, exit 1" ||
	ko "x1367ids-validate on standard input: one line per invalid record, exit 1 (exit $rc)"
"$xv" "$work/nonexistent" >/dev/null 2>&1; [ $? -eq 2 ] && ok "x1367ids-validate: unreadable file, exit 2" ||
	ko "x1367ids-validate: unreadable file, exit 2"
"$xv" --help >"$work/out" 2>&1 && grep -q '^usage: x1367ids-validate ' "$work/out" && ok "x1367ids-validate --help" ||
	ko "x1367ids-validate --help"

printf 'reporter-ip = 192.0.2.7\nsensor-name = from-config # comment\n' >"$work/conf"
"$sensor" --plugin-dir "$plugins" -c "$work/conf" -r "$part1" --rules "$rules" >"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && grep -q '"IP Address":"192.0.2.7"' "$work/out" && grep -q '"Sensor":"from-config"' "$work/out"; then
	ok "config file"
else ko "config file"; fi
"$sensor" --plugin-dir "$plugins" -c "$work/conf" -r "$part1" --rules "$rules" --reporter-ip 2001:db8::1 >"$work/out" 2>"$work/err"
grep -q '"IP Address":"2001:DB8:0:0:0:0:0:1"' "$work/out" && ok "flags override the config file; IPv6 uncompressed" ||
	ko "flags override the config file; IPv6 uncompressed"
printf 'no-such-setting = 1\n' >"$work/conf2"
expect_exit 2 "bad config setting" -c "$work/conf2" -r "$part1"
grep -q 'conf2:1: unknown setting' "$work/err" && ok "bad config names file:line" || ko "bad config names file:line"

expect_exit 0 "--check-config" --check-config --rules "$rules"

# Standard input, pcap.
"$sensor" --plugin-dir "$plugins" -r - --rules "$rules" --reporter-ip 192.0.2.254 <"$part1" >"$work/stdin.out" 2>"$work/err"
n=$(wc -l <"$work/stdin.out")
[ "$n" -eq 16 ] && "$validate" "$work/stdin.out" 2>/dev/null && ok "-r - reads standard input (16 records)" ||
	ko "-r - reads standard input (got $n records)"

# The statistics line: one JSON object, last line of stderr.
stats=$(tail -n 1 "$work/err")
for key in packets bytes flows records_by_code not_decoded responses_without_request requests_pending peak_memory_kb parse_errors; do
	case $stats in *"\"$key\":"*) ;; *) ko "statistics has $key"; continue ;; esac
done
case $stats in *'"packets":118,'*) ok "statistics count the packets" ;; *) ko "statistics count the packets: $stats" ;; esac

# -w appends.
"$sensor" --plugin-dir "$plugins" -r "$part1" --rules "$rules" -w "$work/rec.jsonl" 2>/dev/null
"$sensor" --plugin-dir "$plugins" -r "$part1" --rules "$rules" -w "$work/rec.jsonl" 2>/dev/null
n=$(wc -l <"$work/rec.jsonl")
[ "$n" -eq 32 ] && ok "-w appends" || ko "-w appends (got $n lines)"

# A filter that keeps nothing gives nothing.
"$sensor" --plugin-dir "$plugins" -r "$part1" --rules "$rules" -f 'udp' >"$work/out" 2>/dev/null
[ ! -s "$work/out" ] && ok "-f filters" || ko "-f filters"

# A capture cut in the middle: records so far, then exit 1 with a reason.
head -c 3000 "$part1" >"$work/cut.pcap"
expect_exit 1 "truncated capture" -r "$work/cut.pcap" --rules "$rules"
grep -q 'truncated' "$work/err" && ok "truncated capture says so" || ko "truncated capture says so"

# Not a capture at all.
printf 'not a pcap at all, just text\n' >"$work/text.pcap"
expect_exit 1 "garbage capture" -r "$work/text.pcap" --rules "$rules"

# A full disk is a runtime failure, not silent success.
if [ -w /dev/full ]; then
	"$sensor" --plugin-dir "$plugins" -r "$part1" --rules "$rules" >/dev/full 2>"$work/err"
	[ $? -eq 1 ] && ok "write error exits 1" || ko "write error exits 1"
fi

# The built program finds the tree's rules and plugins with no flags, from
# any working directory (README's first command), and reports as with them.
(cd / && "$sensor" -r "$top_srcdir/pcaps/demo.pcap" --reporter-ip 192.0.2.254 --sensor-name regress) \
	>"$work/out" 2>"$work/err"
if [ $? -eq 0 ] && cmp -s "$work/out" "$top_srcdir/pcaps/demo.expected"; then
	ok "built program runs without --rules/--plugin-dir"
else
	ko "built program runs without --rules/--plugin-dir"
fi
"$sensor" --check-config >/dev/null 2>"$work/err"
grep -q "mapping rows from $top_srcdir/rules)" "$work/err" && ok "--check-config names the tree's rules" ||
	ko "--check-config names the tree's rules"
"$sensor" --help >"$work/out" 2>/dev/null
grep -q "default $top_builddir/dissectors/.libs" "$work/out" && ok "--help shows the tree's plugin directory" ||
	ko "--help shows the tree's plugin directory"
# A copy of the program elsewhere is no build-tree program: it looks for
# the installed directories only (which this prefix has not got, or has).
cp "$sensor" "$work/x1367ids-copy"
"$work/x1367ids-copy" --check-config >/dev/null 2>"$work/err"
if grep -q "$top_srcdir/rules\|$top_builddir/dissectors" "$work/err"; then
	ko "a copied program does not use the build tree"
else
	ok "a copied program does not use the build tree"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
