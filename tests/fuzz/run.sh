#!/bin/sh
# Builds every libFuzzer harness (tests/fuzz/fuzz_*.c) with clang against
# the engine's sources and runs each for FUZZ_SECONDS (default 60) from
# its seed corpus (tests/fuzz/seeds/NAME/, if present).  A harness named
# after a plugin (dissectors/NAME.c that is not built in) gets that plugin
# linked in.  Any crash, leak or sanitizer report fails the run; the input
# that did it is kept in build-fuzz/ to become a regression case.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seconds=${FUZZ_SECONDS:-60}
out=$top/build-fuzz
mkdir -p "$out/obj"
export top_srcdir="$top"

# The engine's sources are those of libx1367.a in Makefile.am (built-in
# dissectors included): one list, kept by the build.
engine_sources=$(awk '/^libx1367_a_SOURCES/ {on = 1} on {print} on && !/\\$/ {exit}' Makefile.am |
	tr ' \t\\' '\n\n\n' | grep '\.c$')
builtins=$(echo "$engine_sources" | grep '^dissectors/' | tr '\n' ' ')
flags="-std=gnu11 -D_GNU_SOURCE -DX1367_RULES_DIR=\"$top/rules\" -DX1367_PLUGIN_DIR=\"$top/no-plugins\"
	-DX1367_SBIN_DIR=\"/nowhere/sbin\" -DX1367_BUILD_DIR=\"$out\" -DX1367_SOURCE_DIR=\"$top\"
	-Iinclude -Isrc -Itests/unit -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined
	$(pkg-config --cflags libpcap libndpi json-c libmaxminddb gnutls relp libmicrohttpd)"
libs="$(pkg-config --libs libpcap libndpi json-c libmaxminddb libgcrypt gnutls relp libmicrohttpd) -ldl -lpthread"

# The engine once, instrumented for coverage; each harness links it.
objs=""
for src in $engine_sources tests/unit/frames.c tests/unit/helpers.c; do
	o=$out/obj/$(echo "$src" | tr / _).o
	# shellcheck disable=SC2086
	clang $flags -fsanitize=fuzzer-no-link -c "$src" -o "$o"
	objs="$objs $o"
done

status=0
for harness in tests/fuzz/fuzz_*.c; do
	name=$(basename "$harness" .c)
	plugin=dissectors/${name#fuzz_}.c
	extra=""
	case " $builtins " in *" $plugin "*) ;; *) [ -f "$plugin" ] && extra=$plugin ;; esac
	echo "fuzz: building $name${extra:+ with $extra}"
	# shellcheck disable=SC2086
	clang $flags -fsanitize=fuzzer -o "$out/$name" "$harness" $extra $objs $libs
	corpus=$out/corpus-$name
	mkdir -p "$corpus"
	seeds=tests/fuzz/seeds/${name#fuzz_}
	[ -d "$seeds" ] && cp -n "$seeds"/* "$corpus"/ 2>/dev/null || true
	echo "fuzz: running $name for ${seconds}s"
	if ! (cd "$out" && "./$name" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
		"$corpus" >"$out/$name.log" 2>&1); then
		echo "fuzz: $name FAILED:"
		tail -n 60 "$out/$name.log"
		status=1
	else
		grep -E 'Done [0-9]+ runs' "$out/$name.log" | sed "s/^/fuzz: $name: /" | head -n 1
	fi
done
exit $status
