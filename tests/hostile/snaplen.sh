# shellcheck shell=sh
# snaplen_case N: modbus-exceptions.pcap (28 packets, 10 records) rewritten
# with a file snaplen of N bytes and every packet cut to it.  Expected:
# exit 0, exactly one "x1367ids: " line saying how many packets were cut
# (those longer than N) and that records may be missing, the same count in
# packets_truncated_by_snaplen in the statistics (the
# last line); the whole capture: no such line, the counter 0.
snaplen_case() {
	n=$1
	cat >"$work/cut.py" <<'PY'
import struct, sys
src, dst, snap = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = open(src, "rb").read()
magic = d[:4]
e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
hdr = bytearray(d[:24])
struct.pack_into(e + "I", hdr, 16, snap)
out, i, cut = [bytes(hdr)], 24, 0
while i + 16 <= len(d):
    sec, frac, incl, orig = struct.unpack_from(e + "IIII", d, i)
    data = d[i + 16:i + 16 + incl][:snap]
    cut += len(data) < orig
    out.append(struct.pack(e + "IIII", sec, frac, len(data), orig) + data)
    i += 16 + incl
open(dst, "wb").write(b"".join(out))
print(cut)
PY
	cut=$(python3 "$work/cut.py" "$pcaps/synthetic/modbus-exceptions.pcap" "$work/cut.pcap" "$n") ||
		skip "python3 could not write the capture"
	run_sensor 10 -r "$work/cut.pcap" --rules "$rules"
	[ "$rc" -eq 0 ] || fail "snaplen $n: exit $rc, wanted 0"
	grep -v '^{' "$work/err" >"$work/lines"
	[ "$(wc -l <"$work/lines")" -eq 1 ] && grep -Eq '^x1367ids: .* '"$cut"' packets cut short by the snaplen.*records may be missing' "$work/lines" ||
		fail "snaplen $n: not one warning line ($(wc -l <"$work/lines") lines other than the statistics)"
	tail -n 1 "$work/err" | grep -q '"packets_truncated_by_snaplen":'"$cut" || fail "snaplen $n: no packets_truncated_by_snaplen $cut in the statistics"
	line=$(cat "$work/lines")
	run_sensor 10 -r "$pcaps/synthetic/modbus-exceptions.pcap" --rules "$rules"
	grep -v '^{' "$work/err" | grep -q . && fail "the whole capture: a warning"
	tail -n 1 "$work/err" | grep -q '"packets_truncated_by_snaplen":0' || fail "the whole capture: counter not 0"
	pass "snaplen $n: exit 0, $line"
}
