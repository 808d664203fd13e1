#!/bin/sh
# Defect 4. A burst of SYNs from forged sources between a Modbus request
# and its exception (pcaps/synthetic/modbus-syn-flood-evict.pcap: 3,000
# SYNs in 30 ms) with a table of 16 flows.  Expected: exit 0, one record,
# the exception paired with its request (code 31, the request's bytes, no
# "not seen in the capture"), no "10 No Response"; evicted_pending 0.
. "$(dirname "$0")/lib.sh"
capture=$pcaps/synthetic/modbus-syn-flood-evict.pcap
[ -f "$capture" ] || skip "no $capture"
run_sensor 30 -r "$capture" --rules "$rules" --max-flows 16
[ "$rc" -eq 0 ] || fail "exit $rc"
n=$(wc -l <"$work/out")
[ "$n" -eq 1 ] || fail "$n records, want 1 (a false 10 and an unpaired exception?)"
grep -q '"Error Code":"31"' "$work/out" || fail "not the exception's record"
grep -q 'not seen in the capture' "$work/out" && fail "the exception lost its request"
grep -q '"Transmitted Code":"00020000000601039C40000A"' "$work/out" || fail "the request's bytes are missing"
stats=$(tail -n 1 "$work/err")
case $stats in *'"no_response":0,'*) ;; *) fail "no_response not 0" ;; esac
case $stats in *'"evicted_pending":0,'*) ;; *) fail "evicted_pending not 0" ;; esac
pass "3,000 SYNs, table of 16: the exception paired, no false 10"
