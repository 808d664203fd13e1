#!/bin/sh
# Builds every libFuzzer harness (tests/fuzz/fuzz_*.c) with clang against
# the engine's sources and runs each for FUZZ_SECONDS (default 60) from
# its seed corpus (tests/fuzz/seeds/NAME/, if present).  Any crash, leak
# or sanitizer report fails the run; the input that did it is kept in
# build-fuzz/ to become a regression case.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
seconds=${FUZZ_SECONDS:-60}
out=$top/build-fuzz
mkdir -p "$out"
export top_srcdir="$top"

# config.h is only needed by main.c, which fuzzers do not link.
sources=$(ls src/*.c dissectors/*.c | grep -v '^src/main.c$')
flags="-std=gnu11 -D_GNU_SOURCE -DX1367_RULES_DIR=\"$top/rules\" -DX1367_PLUGIN_DIR=\"$top/no-plugins\" -Iinclude -Isrc -Itests/unit -g -O1
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
	$(pkg-config --cflags libpcap libndpi json-c libmaxminddb)"
libs="$(pkg-config --libs libpcap libndpi json-c libmaxminddb) -ldl -lpthread"

status=0
for harness in tests/fuzz/fuzz_*.c; do
	name=$(basename "$harness" .c)
	echo "fuzz: building $name"
	# shellcheck disable=SC2086
	clang $flags -o "$out/$name" "$harness" $sources tests/unit/frames.c tests/unit/helpers.c $libs
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
		grep -E 'stat::number_of_executed_units|Done' "$out/$name.log" | sed "s/^/fuzz: $name: /" | head -n 2
	fi
done
exit $status
