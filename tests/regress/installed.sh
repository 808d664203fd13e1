#!/bin/sh
# The installed tree: `make install` into a temporary prefix, then every
# capture regression again with the installed program, its installed rules
# and the plugins installed in the tree's plugin directory.  (The program's
# compiled-in default directory is the configured prefix's, so the test
# names the temporary one.)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
chmod 755 "$prefix"
if ! make -C "$top_builddir" install prefix="$prefix" >"$prefix.log" 2>&1; then
	tail -n 30 "$prefix.log"; rm -f "$prefix.log"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f "$prefix.log"
for f in sbin/x1367ids include/x1367ids/dissector.h lib/pkgconfig/x1367ids-plugin.pc \
	share/x1367ids/rules/modbus.map share/man/man8/x1367ids.8; do
	[ -e "$prefix/$f" ] || { echo "FAIL installed tree lacks $f"; echo "0 passed, 1 failed"; exit 1; }
done
SENSOR=$prefix/sbin/x1367ids RULES=$prefix/share/x1367ids/rules PLUGIN_DIR=$prefix/lib/x1367ids/plugins \
	sh "$top_srcdir/tests/regress/run.sh"
