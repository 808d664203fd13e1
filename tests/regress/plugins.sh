#!/bin/sh
# The plugin loader: trust by ownership and permissions (sudo's rule),
# ABI refusal, name and port clashes, disabling, and the tables of
# plugins that are not loaded.  Uses the test plugins of tests/plugins/.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
sensor=$top_builddir/x1367ids
libs=$top_builddir/tests/plugins/.libs
rules=$top_srcdir/rules
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; sed 's/^/  /' "$work/err"; }

# plugin_dir NAME PLUGIN... : a fresh directory holding those plugins.
plugin_dir() {
	d=$work/$1
	shift
	mkdir -p "$d" && chmod 755 "$d"
	for p in "$@"; do cp "$libs/$p.so" "$d/" && chmod 644 "$d/$p.so"; done
	echo "$d"
}

# expect CODE NAME PATTERN ARGS... : exit code, and stderr matching PATTERN.
expect() {
	code=$1 name=$2 pattern=$3
	shift 3
	"$sensor" --check-config --rules "$rules" "$@" >/dev/null 2>"$work/err"
	got=$?
	if [ "$got" -ne "$code" ]; then ko "$name (exit $got, wanted $code)"; return; fi
	if ! grep -q -- "$pattern" "$work/err"; then ko "$name (no \"$pattern\" on stderr)"; return; fi
	ok "$name"
}

for p in good bad_abi clash; do
	[ -f "$libs/$p.so" ] || { echo "FAIL test plugin $p.so not built in $libs"; echo "0 passed, 1 failed"; exit 1; }
done

d=$(plugin_dir ok good)
expect 0 "a trusted plugin loads" "3 dissectors" --plugin-dir "$d"
expect 0 "a disabled plugin does not" "2 dissectors" --plugin-dir "$d" --disable-plugin testgood
printf 'plugin-dir = %s\ndisable-plugin = testgood\n' "$d" >"$work/conf"
expect 0 "disabled in the configuration file" "2 dissectors" -c "$work/conf"

d=$(plugin_dir open good); chmod 777 "$d"
expect 2 "a world-writable directory is refused" "directory writable by group or others" --plugin-dir "$d"
d=$(plugin_dir gw good); chmod 664 "$d/good.so"
expect 2 "a group-writable plugin is refused" "file writable by group or others" --plugin-dir "$d"
if [ "$(id -u)" -eq 0 ]; then
	d=$(plugin_dir owner good); chown 65534 "$d/good.so"
	expect 2 "a plugin owned by someone else is refused" "owned by uid 65534" --plugin-dir "$d"
else
	echo "SKIP ownership test: needs root to chown"
fi
d=$(plugin_dir link); ln -s "$libs/good.so" "$d/good.so"
expect 2 "a symbolic link is refused" "symbolic link" --plugin-dir "$d"
d=$(plugin_dir abi bad_abi)
expect 2 "another ABI major is refused by name" "x1367_dissector_entry_v1 symbol" --plugin-dir "$d"
d=$(plugin_dir clash clash)
expect 2 "a port clash is refused" "port 502 already taken by modbus" --plugin-dir "$d"
d=$(plugin_dir twice good); cp "$libs/good.so" "$d/good2.so"
expect 2 "a name clash is refused" "name already registered" --plugin-dir "$d"
expect 2 "a plugin directory asked for must exist" "plugin directory" --plugin-dir "$work/none"

# A plugin's table in the rules directory is skipped, and said so, while
# the plugin is not loaded; used once it is.
mkdir -p "$work/rules"
cp "$rules"/*.map "$work/rules/"
printf 'testgood 01 30 Bad request\n' >"$work/rules/testgood.map"
"$sensor" --check-config --rules "$work/rules" --plugin-dir "$work/none-default" 2>"$work/err" >/dev/null
[ $? -eq 2 ] && ok "explicit missing dir still fails with tables" || ko "explicit missing dir still fails with tables"
"$sensor" --check-config --rules "$work/rules" --plugin-dir "$(plugin_dir ok2)" 2>"$work/err" >/dev/null
grep -q 'testgood.map: no dissector "testgood" is loaded' "$work/err" && ok "an absent plugin's table is skipped, and said so" ||
	ko "an absent plugin's table is skipped, and said so"
d=$(plugin_dir ok3 good)
"$sensor" --check-config --rules "$work/rules" --plugin-dir "$d" 2>"$work/err" >/dev/null
[ $? -eq 0 ] && ! grep -q 'testgood.map' "$work/err" && ok "a loaded plugin's table is used" ||
	ko "a loaded plugin's table is used"

# A loaded plugin without a table: one warning line, at start and in
# --check-config; none once its table is there.
d=$(plugin_dir ok4 good)
"$sensor" --check-config --rules "$rules" --plugin-dir "$d" 2>"$work/err" >/dev/null
[ $? -eq 0 ] && [ "$(grep -c '^x1367ids: warning: dissector "testgood" has no mapping table in .*: every error it reports will be FF' "$work/err")" -eq 1 ] &&
	ok "--check-config warns of a loaded plugin without a table" || ko "--check-config warns of a loaded plugin without a table"
"$sensor" --rules "$rules" --plugin-dir "$d" --no-stats -r "$top_srcdir/pcaps/demo.pcap" 2>"$work/err" >/dev/null
grep -q '^x1367ids: warning: dissector "testgood" has no mapping table' "$work/err" &&
	ok "a run warns of a loaded plugin without a table" || ko "a run warns of a loaded plugin without a table"
"$sensor" --check-config --rules "$work/rules" --plugin-dir "$d" 2>"$work/err" >/dev/null
! grep -q 'has no mapping table' "$work/err" && ok "no warning once every dissector has its table" ||
	ko "no warning once every dissector has its table"

# --list-plugins, like zeek -N: every dissector with name, version, ABI,
# ports, file and table; every plugin file not loaded, with why; exit 1
# when one was refused.
d=$(plugin_dir list good bad_abi clash); cp "$libs/good.so" "$d/good_gw.so"; chmod 664 "$d/good_gw.so"
"$sensor" --list-plugins --rules "$work/rules" --plugin-dir "$d" >"$work/out" 2>"$work/err"
rc=$?
cat "$work/out" >>"$work/err"
[ $rc -eq 1 ] && ok "--list-plugins exits 1 when a plugin is refused" || ko "--list-plugins exits 1 when a plugin is refused (exit $rc)"
# The ABI the sensor and these test plugins were built with: the header's.
abi=$(awk '/#define X1367_ABI_MAJOR/ {ma = $3} /#define X1367_ABI_MINOR/ {mi = $3} END {print "ABI " ma "." mi}' \
	"$top_srcdir/include/x1367ids/dissector.h")
want_line() {   # name line
	grep -qxF "$2" "$work/out" && ok "--list-plugins: $1" || ko "--list-plugins: $1 (no line: $2)"
}
want_line "a built-in, the sensor's version, its table" \
	"$(printf 'modbus\t%s\t%s\tudp/502 tcp/502\tbuilt-in\t%s/rules/modbus.map (%s rows)' \
		"$("$sensor" --version | awk '{print $2}')" "$abi" "$work" "$(grep -c '^modbus ' "$rules/modbus.map")")"
want_line "a plugin without a version, its file and table" \
	"$(printf 'testgood\t-\t%s\ttcp/7777\t%s/good.so\t%s/rules/testgood.map (1 rows)' "$abi" "$d" "$work")"
want_line "another ABI major, refused with why" \
	"$(printf 'refused\t%s/bad_abi.so\tno x1367_dissector_entry_v1 symbol: not an x1367ids plugin, or built for another ABI major (this sensor: 1)' "$d")"
want_line "a port clash, refused with why" "$(printf 'refused\t%s/clash.so\tclash: port 502 already taken by modbus' "$d")"
want_line "an untrusted file, refused with what to do" \
	"$(printf 'refused\t%s/good_gw.so\tfile writable by group or others: refused (chmod go-w %s/good_gw.so)' "$d" "$d")"
"$sensor" --list-plugins --rules "$rules" --plugin-dir "$(plugin_dir list2 good)" --disable-plugin testgood >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && grep -qx "disabled	.*/good.so	disabled by the configuration (disable-plugin)" "$work/out" &&
	! grep -q '^testgood	' "$work/out" && ok "--list-plugins: a disabled plugin is listed as such, exit 0" ||
	ko "--list-plugins: a disabled plugin is listed as such, exit 0"
"$sensor" --list-plugins --rules "$rules" --plugin-dir "$(plugin_dir list3 good)" >"$work/out" 2>"$work/err"
grep -qx "testgood	-	$abi	tcp/7777	.*/good.so	none: every error it reports is FF" "$work/out" &&
	ok "--list-plugins: a dissector without a table says so" || ko "--list-plugins: a dissector without a table says so"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
