#!/bin/sh
# ThreadSanitizer run: the tests where threads meet (syslog delivery against a
# real rsyslog; live capture with its signals; the metrics server's thread)
# on a build with
# -fsanitize=thread.  Passes only with zero TSan reports.
#
#   sh tests/tsan.sh            (from the top of a source tree; CI: .ci/run)
#
# A second build of the same sources in build-tsan/ (a copy of the tracked
# and untracked-not-ignored files, as .ci/run does for AddressSanitizer):
# the tree itself stays configured for the plain build.  Needs clang
# (libclang-rt-14-dev); the live tests need root (they SKIP otherwise, and
# so does this script's check that they ran: see TSAN_NEED_LIVE).
#
# A report fails the run three ways, any one is enough: TSAN_OPTIONS makes
# the sensor stop at its first report with exit status 66 (the test sees a
# sensor that failed); every report is also written under build-tsan/tsan/
# (log_path: the tests delete their work directories, where the sensor's
# stderr went); and the test logs are searched for "WARNING:
# ThreadSanitizer".  No suppressions: the sensor and the libraries it calls
# from its threads (GnuTLS, librelp, libc) have none to suppress; a
# suppression added later goes in tests/tsan.supp with the reason beside it,
# and only for a third-party library.
#
# Ends with one line "tsan: PASS: N passed, N failed, R reports in S s" (or
# "tsan: FAIL: ..."), and exit status 0 only with PASS.
set -eu
start=$(date +%s)
if [ ! -f configure.ac ] || [ ! -f src/syslog.c ]; then
	echo "tests/tsan.sh: run it from the top of the source tree" >&2
	exit 2
fi
command -v clang >/dev/null 2>&1 || { echo "tests/tsan.sh: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
jobs=${TSAN_JOBS:-2}
tests=${TSAN_TESTS:-"tests/syslog/run.sh tests/live/live-vs-replay.sh tests/live/sighup.sh tests/live/privileges.sh tests/live/metrics.sh"}

echo "== ThreadSanitizer build (build-tsan/)"
rm -rf build-tsan && mkdir build-tsan
git ls-files -co --exclude-standard | grep -v '^build-' | tar cf - -T - | tar xf - -C build-tsan
cd build-tsan
top=$(pwd)
autoreconf -fi >/dev/null 2>&1
./configure -q CC=clang CFLAGS="-O1 -g -fsanitize=thread -fno-omit-frame-pointer"
make -j"$jobs" >make.log 2>&1 || { tail -n 50 make.log; exit 1; }
echo "   built in $(($(date +%s) - start)) s"

# Reports land in $reports/tsan.PID (one file per process that had one).  The
# live tests drop the sensor to an unprivileged user, which must be able to
# create its file there: a sticky world-writable directory, like /tmp.
reports=$top/tsan
rm -rf "$reports" && mkdir "$reports" && chmod 1777 "$reports"
opts="halt_on_error=1 exitcode=66 second_deadlock_stack=1 log_path=$reports/tsan"
[ -f "$top/tests/tsan.supp" ] && opts="$opts suppressions=$top/tests/tsan.supp"
TSAN_OPTIONS=$opts
export TSAN_OPTIONS

echo "== tests under ThreadSanitizer: $tests"
rc=0
# (check_PROGRAMS empty: these tests need no unit-test program, and building
# them all with TSan would take a minute or two)
make check TESTS="$tests" check_PROGRAMS= >check.log 2>&1 || rc=$?
grep -E '^(PASS|FAIL|SKIP|ERROR|XFAIL|XPASS|# [A-Z]+:)' check.log || true

n_reports=$(cat "$reports"/tsan.* 2>/dev/null | grep -c 'WARNING: ThreadSanitizer' || true)
in_logs=$(cat tests/*/*.log 2>/dev/null | grep -c 'WARNING: ThreadSanitizer' || true)
if [ "$n_reports" -gt 0 ] || [ "$in_logs" -gt 0 ]; then
	echo "== ThreadSanitizer reports"
	for f in "$reports"/tsan.*; do [ -f "$f" ] && { echo "-- $f"; cat "$f"; }; done
	grep -h -B2 -A40 'WARNING: ThreadSanitizer' tests/*/*.log 2>/dev/null | head -n 400 || true
	rc=1
fi
if [ "$rc" -ne 0 ]; then
	echo "== failed tests"
	for f in tests/*/*.log; do
		[ -f "$f" ] && grep -q '^:test-result: \(FAIL\|ERROR\)' "${f%.log}.trs" 2>/dev/null &&
			{ echo "-- $f"; grep -v '^PASS' "$f" | tail -n 60; }
	done
fi
# A run where the live tests skipped proves nothing about capture and
# signals: where they can run (root), they must.
if [ "${TSAN_NEED_LIVE:-auto}" != 0 ] && [ "$(id -u)" -eq 0 ] && grep -q '^SKIP: tests/live/' check.log; then
	echo "tsan: a live test skipped as root (TSAN_NEED_LIVE=0 allows it)"
	rc=1
fi
passed=$(awk '/^# PASS:/ {n += $3} END {print n + 0}' check.log)
failed=$(awk '/^# (FAIL|ERROR|XPASS):/ {n += $3} END {print n + 0}' check.log)
verdict=PASS
[ "$rc" -eq 0 ] || verdict=FAIL
echo "tsan: $verdict: $passed passed, $failed failed, $((n_reports + in_logs)) reports in $(($(date +%s) - start)) s"
exit "$rc"
