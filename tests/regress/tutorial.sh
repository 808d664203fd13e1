#!/bin/sh
# The plugin tutorial (docs/PLUGINS.md), followed as it says, in a
# temporary directory: install the sensor into a prefix, build
# docs/tutorial/acme out of tree against the installed header alone
# (everything from pkg-config x1367ids-plugin), install the plugin and its
# table, run the installed sensor on acme.pcap and compare with
# acme.expected.  Also checks that each file the page shows is the file
# CI builds: the fenced block after a line "<!-- file: NAME -->" is NAME;
# several blocks of one file, joined by one blank line, are the file.
#
# The sensor is installed with `make install prefix=...`, so its .pc file
# names the configured prefix: the tutorial's "Not in /usr/local?" case,
# PKG_CONFIG='pkg-config --define-prefix'.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
tut=$top_srcdir/docs/tutorial/acme
doc=$top_srcdir/docs/PLUGINS.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 022
# Not the make that runs this test: its flags and variables are not ours.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES 2>/dev/null || true
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
ko() { fail=$((fail + 1)); echo "FAIL $1"; [ -s "$work/log" ] && tail -n 30 "$work/log" | sed 's/^/  /'; : >"$work/log"; }
check() { name=$1; shift; if "$@" >"$work/log" 2>&1; then ok "$name"; else ko "$name"; fi; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
: >"$work/log"

# ---- the page shows the files CI builds ---------------------------------
mkdir "$work/shown"
awk -v out="$work/shown" '
	want != "" && !inblock { if ($0 !~ /^```/) { print "marker without a block: line " NR; bad = 1; want = ""; next }
				 inblock = 1; if (seen[want]++) print "" >> (out "/" want); next }
	inblock && /^```$/ { inblock = 0; want = ""; next }
	inblock { print >> (out "/" want); next }
	/^<!-- file: [^ ]+ -->$/ { want = $3; gsub("/", "__", want) }
	/^<!-- excerpt: [^ ]+ -->$/ { want = "excerpt__" $3; gsub("/", "__", want) }
	END { if (inblock) { print "unterminated block"; bad = 1 } exit bad }
' "$doc" >"$work/log" 2>&1 && ok "docs/PLUGINS.md: file blocks well formed" || ko "docs/PLUGINS.md: file blocks well formed"
for f in acme.c acme.map Makefile fuzz-acme.c make-capture.py acme.expected; do
	if [ ! -f "$work/shown/$f" ]; then
		echo "docs/PLUGINS.md shows no $f" >"$work/log"; ko "docs/PLUGINS.md shows $f"
	else
		check "docs/PLUGINS.md shows $f as it is" diff -u "$tut/$f" "$work/shown/$f"
	fi
done
# Part 2 (UDP) shows the sensor's own FINS plugin: fins/fins.c is
# dissectors/fins.c, fins/Makefile docs/tutorial/fins/Makefile, and every
# row of the fins.map excerpt is a row of rules/fins.map.
check "docs/PLUGINS.md shows fins.c as dissectors/fins.c is" diff -u "$top_srcdir/dissectors/fins.c" "$work/shown/fins__fins.c"
check "docs/PLUGINS.md shows the FINS Makefile as it is" \
	diff -u "$top_srcdir/docs/tutorial/fins/Makefile" "$work/shown/fins__Makefile"
check "the fins.map excerpt is rows of rules/fins.map" \
	sh -c "[ -s '$work/shown/excerpt__fins__fins.map' ] && grep -vxF -f '$top_srcdir/rules/fins.map' '$work/shown/excerpt__fins__fins.map' | { ! grep .; }"
for f in "$work"/shown/*; do
	case ${f##*/} in fins__fins.c|fins__Makefile|excerpt__fins__fins.map) continue ;; esac
	[ -f "$tut/${f##*/}" ] || { echo "${f##*/} is not in docs/tutorial/acme" >"$work/log"; ko "shown files exist"; }
done

# ---- install the sensor (tutorial: "Install the sensor") -----------------
inst=$work/inst
if ! make -C "$top_builddir" install prefix="$inst" >"$work/log" 2>&1; then
	ko "make install prefix=..."; finish
fi
ok "make install prefix=..."
PATH=$inst/sbin:$PATH
PKG_CONFIG_PATH=$inst/lib/pkgconfig
PKG_CONFIG='pkg-config --define-prefix'
export PATH PKG_CONFIG_PATH PKG_CONFIG
plugindir=$($PKG_CONFIG --variable=plugindir x1367ids-plugin)
rulesdir=$($PKG_CONFIG --variable=rulesdir x1367ids-plugin)
check "pkg-config names the installed directories" \
	test "$plugindir" = "$inst/lib/x1367ids/plugins" -a "$rulesdir" = "$inst/share/x1367ids/rules"
check "the installed sensor is the one on PATH" test "$(command -v x1367ids)" = "$inst/sbin/x1367ids"

# ---- build out of tree, against the installed header alone --------------
acme=$work/acme
cp -R "$tut" "$acme"
chmod -R u+w,go-w "$acme"
(cd "$acme" && make clean) >/dev/null 2>&1
if ! (cd "$acme" && make) >"$work/build" 2>&1; then
	cp "$work/build" "$work/log"; ko "make (cc)"; finish
fi
ok "make (cc): acme.so, no warning"
# Every -I of the compile command is the installed include directory, and
# the header compiled is the installed one.
incs=$(tr ' ' '\n' <"$work/build" | grep '^-I' | sort -u)
check "the compile command's only -I is the installed one" test "$incs" = "-I$inst/include"
cc $($PKG_CONFIG --cflags x1367ids-plugin) -MM "$acme/acme.c" >"$work/deps" 2>&1
check "acme.c compiles against $inst/include/x1367ids/dissector.h" \
	grep -q "$inst/include/x1367ids/dissector.h" "$work/deps"
check "acme.so exports only the entry point" \
	test "$(nm -D --defined-only "$acme/acme.so" | awk '{print $3}')" = x1367_dissector_entry_v1
if command -v clang >/dev/null 2>&1; then
	(cd "$acme" && cp acme.so acme.so.gcc && make clean && make CC=clang && mv acme.so.gcc acme.so) >"$work/log" 2>&1 &&
		ok "make CC=clang: no warning" || ko "make CC=clang: no warning"
else
	echo "SKIP make CC=clang: no clang"
fi

# ---- the capture ---------------------------------------------------------
if command -v python3 >/dev/null 2>&1; then
	check "make-capture.py writes acme.pcap, byte for byte" \
		sh -c "cd '$acme' && python3 make-capture.py '$work/regen.pcap' && cmp acme.pcap '$work/regen.pcap'"
else
	echo "SKIP make-capture.py: no python3"
fi

# ---- try it before installing: --plugin-dir . --rules . -------------------
run() { x1367ids -r acme.pcap --reporter-ip 192.0.2.254 --sensor-name tutorial "$@"; }
(cd "$acme" && run --plugin-dir . --rules . --no-stats) >"$work/here.jsonl" 2>"$work/log"
check "before installing: the tutorial's records" diff -u "$acme/acme.expected" "$work/here.jsonl"

# ---- install and run -----------------------------------------------------
check "make install" sh -c "cd '$acme' && make install"
check "the plugin and table are installed with safe modes" sh -c \
	"test \"\$(stat -c %a '$plugindir/acme.so' '$plugindir' '$rulesdir/acme.map')\" = \"\$(printf '644\n755\n644')\""
(cd "$acme" && run --plugin-dir "$plugindir" --rules "$rulesdir" >records.jsonl 2>stats.json)
rc=$?
check "x1367ids -r acme.pcap exits 0" test "$rc" -eq 0
check "installed: records.jsonl is acme.expected" diff -u "$acme/acme.expected" "$acme/records.jsonl"
validate=$top_builddir/tests/tools/x1367-validate
if [ -x "$validate" ]; then
	check "acme.expected: 5 valid X.1367 records" "$validate" --min 5 "$acme/acme.expected"
else
	echo "SKIP x1367-validate: not built"
fi
# What "Reading the statistics" says.
tail -n 1 "$acme/stats.json" >"$work/stats"
for want in '"records":5,' '"parse_errors":1,' '"records_by_code":{"20":1,"30":1,"31":1,"41":1,"10":1}' \
	'"opened":7,"answered":6,"no_response":1,' \
	'"acme":{"flows":1,"records":5,"parse_errors":1,"responses_without_request":0,"unsolicited_reports":0,"not_errors":0,"unmapped_codes":0,"bytes_skipped":0,"reports_rejected":0,"events":{"bad_header":1,"malformed":1}}'; do
	check "statistics: $want" grep -qF "$want" "$work/stats"
done
# The defaults are the installed directories only when installed where
# configured; here they are given, as the tutorial does.

# ---- disabling it --------------------------------------------------------
printf 'disable-plugin = acme\n' >"$acme/acme-off.conf"
(cd "$acme" && x1367ids -c acme-off.conf -r acme.pcap --no-stats --plugin-dir "$plugindir" --rules "$rulesdir") \
	>"$work/off.jsonl" 2>"$work/off.err"
check "disable-plugin = acme: no records" test ! -s "$work/off.jsonl"
check "disable-plugin = acme: its table is skipped, and said" \
	grep -qF "$rulesdir/acme.map: no dissector \"acme\" is loaded: its 5 rows are not used" "$work/off.err"

# ---- the trust rules -----------------------------------------------------
chmod g+w "$plugindir/acme.so"
x1367ids --check-config --plugin-dir "$plugindir" --rules "$rulesdir" >/dev/null 2>"$work/err"
rc=$?
check "a group-writable plugin is refused" \
	sh -c "[ $rc -eq 2 ] && grep -qF '$plugindir/acme.so: file writable by group or others: refused' '$work/err'"
chmod 644 "$plugindir/acme.so"

# ---- Part 2: the FINS plugin, built out of tree like acme ----------------
fins=$work/fins
mkdir "$fins"
cp "$top_srcdir/dissectors/fins.c" "$top_srcdir/rules/fins.map" "$top_srcdir/docs/tutorial/fins/Makefile" "$fins/"
if (cd "$fins" && make) >"$work/build" 2>&1; then
	ok "fins: make (cc): fins.so, no warning"
	incs=$(tr ' ' '\n' <"$work/build" | grep '^-I' | sort -u)
	check "fins: the compile command's only -I is the installed one" test "$incs" = "-I$inst/include"
	check "fins.so exports only the entry point" \
		test "$(nm -D --defined-only "$fins/fins.so" | awk '{print $3}')" = x1367_dissector_entry_v1
	check "fins: make install" sh -c "cd '$fins' && make install"
	check "fins: the installed fins.so is the one built here" cmp "$fins/fins.so" "$plugindir/fins.so"
	x1367ids -r "$top_srcdir/pcaps/synthetic/fins-udp-errors.pcap" --reporter-ip 192.0.2.254 --sensor-name regress \
		--plugin-dir "$plugindir" --rules "$rulesdir" --no-stats >"$fins/records.jsonl" 2>"$work/log"
	check "fins: the tutorial's records are fins-udp-errors.expected" \
		diff -u "$top_srcdir/pcaps/synthetic/fins-udp-errors.expected" "$fins/records.jsonl"
	# The record the page shows is one of them.
	awk '/^```json$/ {j = 1; next} j && /^```$/ {j = 0} j' "$doc" >"$work/json-shown"
	check "fins: the record Part 2 shows is one the plugin writes" \
		sh -c "grep -F '\"Protocol\":\"Omron FINS\"' '$work/json-shown' | grep -qxF -f - '$fins/records.jsonl'"
else
	cp "$work/build" "$work/log"; ko "fins: make (cc)"
fi

# ---- fuzz it (clang with libFuzzer) --------------------------------------
if command -v clang >/dev/null 2>&1 && (cd "$acme" && make fuzz-acme) >"$work/log" 2>&1; then
	ok "make fuzz-acme"
	check "./fuzz-acme finds nothing in 20000 runs" sh -c "cd '$acme' && ./fuzz-acme -runs=20000 -seed=1"
else
	echo "SKIP fuzz-acme: clang or its libFuzzer runtime (libclang-rt-14-dev) missing"
fi

finish
