#!/usr/bin/env python3
"""Cross-check against software nobody on this project wrote: for each
public Modbus capture, every exception response tshark finds must be one
record of the sensor, with the same response bytes, the same time, and the
request bytes tshark pairs it with (or an empty Requester Transmitted Code
when tshark saw no request); and the sensor must report no exception
tshark does not see.  Skipped (exit 77) only when tshark is missing."""
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone

# name -> how to compare.  "equal": the same exceptions, one for one, with
# the same request and response bytes.  "subset": every exception tshark
# shows is a record with the same response bytes and time, and the sensor
# may report more: fuzz-72 is a fuzzed trace with corrupted sequence
# numbers; tshark's default TCP analysis calls four exception-shaped
# server segments "suspected retransmissions" and does not dissect them
# (with tcp.analyze_sequence_numbers:FALSE it shows 8), while the sensor's
# reassembly delivers them once each.  Its expected records file pins them.
CAPTURES = {"modbus_test_data_part1.pcap": "equal", "modbus_test_data_part2.pcap": "equal",
            "modbusSmall.pcap": "equal", "fuzz-72.pcap": "subset", "fuzz-1011.pcap": "equal"}
# The same for the Modbus captures of real peers made here (pcaps/real):
# pymodbus' exceptions, one transaction id twice in one segment, a poller
# that pauses (no exception: the sensor must report none either), the
# Appendix I.1 scan.
REAL_CAPTURES = {"modbus-same-tid.pcap": "equal", "modbus-pymodbus.pcap": "equal",
                 "modbus-poller-pause.pcap": "equal", "appendix-i1-scan.pcap": "equal"}


def tshark(path, *args):
    out = subprocess.run(["tshark", "-r", path, "-o", "tcp.desegment_tcp_streams:TRUE", *args],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def iso(epoch):
    secs, _, frac = epoch.partition(".")
    t = datetime.fromtimestamp(int(secs), tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + (frac + "000000")[:6] + "Z"


def adu_bytes(hexpayload, tid, nth=0):
    """The nth ADU with this transaction id inside a TCP payload (one
    segment may carry several ADUs, even two with one transaction id)."""
    data = bytes.fromhex(hexpayload.replace(":", ""))
    off = 0
    while off + 7 <= len(data):
        length = int.from_bytes(data[off + 4:off + 6], "big")
        adu = data[off:off + 6 + length]
        if int.from_bytes(adu[0:2], "big") == tid:
            if nth == 0:
                return adu.hex().upper()
            nth -= 1
        off += 6 + length
    return None


def expected(path):
    """Exception responses as tshark sees them, each with the request it
    answers: on the same TCP stream, same transaction and unit id, the
    oldest request not yet answered (pairing done here, independently of
    the sensor, from tshark's fields)."""
    rows = tshark(path, "-Y", "mbtcp", "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch",
                  "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "mbtcp.trans_id", "-e", "mbtcp.unit_id",
                  "-e", "modbus.func_code", "-e", "modbus.exception_code", "-e", "tcp.payload")
    pending = {}
    want = []
    for frame, epoch, stream, sport, tids, units, fcs, exc, payload in rows:
        seen = {}
        for tid, unit, fc in zip(tids.split(","), units.split(","), fcs.split(",")):
            # Same connection, transaction and unit id, and function.
            key = (stream, int(tid), int(unit), int(fc) & 0x7F)
            adu = adu_bytes(payload, int(tid), seen.get(tid, 0))
            seen[tid] = seen.get(tid, 0) + 1
            if sport != "502":
                pending.setdefault(key, []).append(adu)
                continue
            req = pending[key].pop(0) if pending.get(key) else ""
            if exc:
                want.append((iso(epoch), req, adu))
    return sorted(want)


def reported(sensor, rules, path):
    out = subprocess.run([sensor, "-r", path, "--rules", rules, "--reporter-ip", "192.0.2.254",
                          "--no-stats"], check=True, capture_output=True, text=True).stdout
    got = []
    for line in out.splitlines():
        r = json.loads(line)
        if r["Responder"].get("Transmitted Code"):
            got.append((r["Timestamp"], r["Requester"]["Transmitted Code"], r["Responder"]["Transmitted Code"]))
    return sorted(got)


# ---- DNP3 (issue 10) -------------------------------------------------------
# tshark 4.0's error responses (DEFAULT-MAPPINGS, DNP3): a Response with an
# IIN2 error bit.  Each must be one record of the sensor with the same
# link frames (CRCs included) as response bytes and the request tshark's
# fields pair it with; the sensor may report no other DNP3 error response.
# Pairing, done here from the capture: same TCP stream, the response's
# destination/source link addresses are the request's source/destination,
# same application SEQ; an outstation that answers the only open request of
# that master with another SEQ (part1 frames 164 and 167) answered it.
DNP3_CAPTURES = {"dnp3_test_data_part1.pcap": 2, "dnp3_test_data_part2.pcap": 10}
DNP3_FILTER = ("dnp3.al.func == 0x81 && (dnp3.al.iin.fcni==1 || dnp3.al.iin.obju==1 || "
               "dnp3.al.iin.pioor==1 || dnp3.al.iin.oae==1 || dnp3.al.iin.cc==1)")
DNP3_NO_ANSWER = {0x00, 0x06, 0x08, 0x0A, 0x0C, 0x21}


def dnp3_crc(data):
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA6BC if crc & 1 else crc >> 1
    return ~crc & 0xFFFF


def dnp3_frames(payload):
    """(wire bytes, source, destination, application fragment) of every
    link frame of a TCP payload that carries a whole fragment alone."""
    data = bytes.fromhex(payload.replace(":", ""))
    off = 0
    while off + 10 <= len(data) and data[off:off + 2] == b"\x05\x64":
        if dnp3_crc(data[off:off + 8]) != int.from_bytes(data[off + 8:off + 10], "little"):
            return
        ulen = data[off + 2] - 5
        end = off + 10 + ulen + 2 * ((ulen + 15) // 16)
        user, pos = b"", off + 10
        while len(user) < ulen:
            block = data[pos:pos + min(16, ulen - len(user))]
            if dnp3_crc(block) != int.from_bytes(data[pos + len(block):pos + len(block) + 2], "little"):
                return
            user += block
            pos += len(block) + 2
        if ulen >= 3 and user[0] & 0xC0 == 0xC0:
            src = int.from_bytes(data[off + 6:off + 8], "little")
            dst = int.from_bytes(data[off + 4:off + 6], "little")
            yield data[off:end].hex().upper(), src, dst, user[1:]
        off = end


def dnp3_expected(path):
    flagged = {int(r[0]) for r in tshark(path, "-Y", DNP3_FILTER, "-T", "fields", "-e", "frame.number")}
    rows = tshark(path, "-Y", "dnp3", "-T", "fields", "-e", "frame.number", "-e", "frame.time_epoch",
                  "-e", "tcp.stream", "-e", "tcp.payload")
    pending, want, found = {}, [], set()
    for frame, epoch, stream, payload in rows:
        for wire, src, dst, app in dnp3_frames(payload):
            fc, seq = app[1], app[0] & 0x0F
            if fc < 0x80:
                if fc not in DNP3_NO_ANSWER and dst < 0xFFFD:
                    pending.setdefault((stream, src, dst), []).append((seq, wire))
                continue
            if fc != 0x81 or not app[0] & 0x80 or len(app) < 4:
                continue
            waiting = pending.get((stream, dst, src), [])
            same = [w for w in waiting if w[0] == seq]
            match = same[0] if same else (waiting[0] if len(waiting) == 1 else None)
            if match:
                waiting.remove(match)
            if app[3] & 0x37:
                found.add(int(frame))
                want.append((iso(epoch), match[1] if match else "", wire))
    return sorted(want), flagged, found


def dnp3_reported(sensor, rules, path):
    out = subprocess.run([sensor, "-r", path, "--rules", rules, "--reporter-ip", "192.0.2.254",
                          "--no-stats"], check=True, capture_output=True, text=True).stdout
    got = []
    for line in out.splitlines():
        r = json.loads(line)
        if r["Protocol"] == "DNP3" and r["Responder"].get("Transmitted Code"):
            got.append((r["Timestamp"], r["Requester"]["Transmitted Code"], r["Responder"]["Transmitted Code"]))
    return sorted(got)


def dnp3_check(top, build, public):
    passed = failed = 0
    for name, count in DNP3_CAPTURES.items():
        path = os.path.join(public, name)
        want, flagged, found = dnp3_expected(path)
        got = dnp3_reported(os.path.join(build, "x1367ids"), os.path.join(top, "rules"), path)
        if flagged != found or len(flagged) != count:
            failed += 1
            print(f"FAIL {name}: tshark's filter shows frames {sorted(flagged)} (README: {count}), "
                  f"the link frames read here {sorted(found)}")
        elif want == got:
            passed += 1
            print(f"PASS {name}: {len(want)} DNP3 error responses, one record each, same bytes")
        else:
            failed += 1
            print(f"FAIL {name}: tshark {len(want)} error responses, sensor {len(got)} records")
            for w in sorted(set(want) - set(got))[:10]:
                print("  missing:", w)
            for g in sorted(set(got) - set(want))[:10]:
                print("  extra:  ", g)
    return passed, failed


def main():
    if not shutil.which("tshark"):
        print("SKIP: tshark not installed")
        return 77
    top = os.environ.get("top_srcdir", ".")
    build = os.environ.get("top_builddir", top)
    public = os.environ.get("X1367_PUBLIC_PCAPS", os.path.join(top, "pcaps", "public"))
    passed = failed = 0
    paths = [(os.path.join(public, n), m) for n, m in CAPTURES.items()]
    paths += [(os.path.join(top, "pcaps", "real", n), m) for n, m in REAL_CAPTURES.items()]
    for path, mode in paths:
        name = os.path.basename(path)
        want = expected(path)
        got = reported(os.path.join(build, "x1367ids"), os.path.join(top, "rules"), path)
        if mode == "equal" and want == got:
            passed += 1
            print(f"PASS {name}: {len(want)} exception responses, one record each, same bytes")
        elif mode == "subset" and {(t, r) for t, _, r in want} <= {(t, r) for t, _, r in got}:
            passed += 1
            print(f"PASS {name}: the {len(want)} exception responses tshark shows are among the "
                  f"sensor's {len(got)}")
        else:
            failed += 1
            print(f"FAIL {name}: tshark {len(want)} exceptions, sensor {len(got)} records")
            for w in sorted(set(want) - set(got))[:10]:
                print("  missing:", w)
            for g in sorted(set(got) - set(want))[:10]:
                print("  extra:  ", g)
    more = dnp3_check(top, build, public)
    passed, failed = passed + more[0], failed + more[1]
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
