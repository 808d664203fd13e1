#!/bin/sh
# The installed tree: `make install DESTDIR=ROOT` (a staged install, as a
# packager makes one), then every capture regression again with the
# installed program and no --rules or --plugin-dir: from ROOT + sbindir it
# finds ROOT + its configured rules and plugin directories, never the build
# tree's.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
root=$(mktemp -d)
trap 'rm -rf "$root" "$root.log"' EXIT
chmod 755 "$root"
fail() { echo "FAIL $1"; echo "0 passed, 1 failed"; exit 1; }
if ! make -C "$top_builddir" install DESTDIR="$root" >"$root.log" 2>&1; then
	tail -n 30 "$root.log"
	fail "make install DESTDIR=..."
fi
# Where configure put things, as make knows them.
dirs=$(make -s -C "$top_builddir" --no-print-directory print-install-dirs) || fail "make print-install-dirs"
eval "$dirs"
for f in "$sbindir/x1367ids" "$pkgincludedir/dissector.h" "$pkgconfigdir/x1367ids-plugin.pc" \
	"$rulesdir/modbus.map" "$plugindir/mqtt.so" "$mandir/man8/x1367ids.8"; do
	[ -e "$root$f" ] || fail "installed tree lacks $f"
done
# The record validator, installed with its manual, checks what the
# installed sensor writes.
for f in "$bindir/x1367ids-validate" "$mandir/man1/x1367ids-validate.1"; do
	[ -e "$root$f" ] || fail "installed tree lacks $f"
done
"$root$sbindir/x1367ids" -r "$top_srcdir/pcaps/demo.pcap" --no-stats 2>/dev/null | "$root$bindir/x1367ids-validate" --min 1 \
	>"$root.log" 2>&1 || { cat "$root.log"; fail "installed x1367ids-validate accepts the installed sensor's records"; }
echo "PASS installed x1367ids-validate: $(cat "$root.log")"
# The staged program reads the staged rules, not the build tree's.
"$root$sbindir/x1367ids" --check-config >"$root.log" 2>&1 || { cat "$root.log"; fail "installed --check-config"; }
grep -q "mapping rows from $root$rulesdir)" "$root.log" || { cat "$root.log"; fail "installed program uses $root$rulesdir"; }
echo "PASS staged program uses its own rules ($root$rulesdir)"
SENSOR=$root$sbindir/x1367ids RULES= PLUGIN_DIR= sh "$top_srcdir/tests/regress/run.sh"
