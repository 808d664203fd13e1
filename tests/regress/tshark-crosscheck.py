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


# ---- Omron FINS -------------------------------------------------------------
# Every FINS error tshark's `omron` dissector shows is one record, one for
# one: same time, same responder, same vendor code, and paired with a
# request exactly when a command of that SID and command code went the
# other way before (the pairing done here from tshark's fields).  The
# vendor code is tshark's omron.response.code with the relay-error bit of
# MRES (0x80) and the CPU Unit bits of SRES (0xC0) masked off, which is how
# rules/fins.map is keyed; 0000 is normal completion (no record).  A
# non-zero FINS/TCP header error code (omron.tcp.error_code) is a record
# under its 8-digit code.  A "10 No Response" record has no response and
# is not compared here (tests/regress/run.sh pins those).
FINS_CAPTURES = [("public", "omron_test.pcap"), ("synthetic", "fins-udp-errors.pcap"),
                 ("synthetic", "fins-udp-plc-initiated.pcap"), ("synthetic", "fins-tcp-errors.pcap")]
FINS_FIELDS = ["frame.time_epoch", "ip.src", "ip.dst", "tcp.stream", "omron.icf", "omron.sid",
               "omron.command", "omron.response.code", "omron.tcp.command", "omron.tcp.error_code"]


def fins_expected(path):
    rows = tshark(path, "-Y", "omron", "-T", "fields", *sum((["-e", f] for f in FINS_FIELDS), []))
    pending, want, problems = {}, [], []
    for epoch, src, dst, stream, icfs, sids, cmds, codes, tcmds, terrs in rows:
        split = lambda v: v.split(",") if v else []  # noqa: E731
        icfs, sids, cmds, codes = split(icfs), split(sids), split(cmds), split(codes)
        for tcmd, terr in zip(split(tcmds), split(terrs)):
            if int(tcmd, 16) == 0:
                pending.setdefault(("node", stream), []).append(1)
            elif int(tcmd, 16) == 1 and pending.get(("node", stream)):
                pending[("node", stream)].pop()
                if int(terr, 16):
                    want.append((iso(epoch), src, "%08X" % int(terr, 16), True))
            elif int(terr, 16):
                want.append((iso(epoch), src, "%08X" % int(terr, 16), False))
        responses = [i for i, icf in enumerate(icfs) if int(icf, 16) & 0x40]
        if len(codes) != len(responses):
            problems.append(f"{epoch}: {len(responses)} responses, tshark shows {len(codes)} codes")
            continue
        for i, icf in enumerate(icfs):
            if not int(icf, 16) & 0x40:
                pending.setdefault((src, dst, sids[i], cmds[i]), []).append(1)
        for i, code in zip(responses, codes):
            key = (dst, src, sids[i], cmds[i])
            paired = bool(pending.get(key))
            if paired:
                pending[key].pop()
            vendor = int(code, 16) & 0x7F3F
            if vendor:
                want.append((iso(epoch), src, "%04X" % vendor, paired))
    return sorted(want), problems


def fins_reported(sensor, rules, plugins, path):
    out = subprocess.run([sensor, "-r", path, "--rules", rules, "--plugin-dir", plugins,
                          "--reporter-ip", "192.0.2.254", "--no-stats"],
                         check=True, capture_output=True, text=True).stdout
    got = []
    for line in out.splitlines():
        r = json.loads(line)
        if r["Protocol"] == "Omron FINS" and r["Responder"].get("Transmitted Code"):
            d = r["Description"]
            got.append((r["Timestamp"], d["Responder Address"], d["Vendor Code"],
                        bool(r["Requester"].get("Transmitted Code"))))
    return sorted(got)


def fins_crosscheck(top, build, public):
    passed = failed = 0
    for where, name in FINS_CAPTURES:
        path = os.path.join(public if where == "public" else os.path.join(top, "pcaps", where), name)
        want, problems = fins_expected(path)
        got = fins_reported(os.path.join(build, "x1367ids"), os.path.join(top, "rules"),
                            os.path.join(build, "dissectors", ".libs"), path)
        if want == got and not problems:
            passed += 1
            print(f"PASS fins {name}: {len(want)} FINS errors, one record each, same codes and pairing")
        else:
            failed += 1
            print(f"FAIL fins {name}: tshark {len(want)} errors, sensor {len(got)} records")
            for p in problems[:10]:
                print("  tshark:", p)
            for w in sorted(set(want) - set(got))[:10]:
                print("  missing:", w)
            for g in sorted(set(got) - set(want))[:10]:
                print("  extra:  ", g)
    return passed, failed


# ---- OPC UA binary -------------------------------------------------------------
# Every OPC UA error tshark's `opcua` dissector shows is one record, one for
# one: same time, same responder, same StatusCode (the record's, before the
# plugin's ActivateSession context bits, rules/opcua.map 801F01D3), same
# RequestId, and paired with a request exactly when the client sent one of
# that RequestId on the connection before.  tshark's errors: an ERR message
# (opcua.transport.error), a ServiceFault (type 397) or a response whose
# opcua.ServiceResult is Bad, else the first Bad per-operation code of a
# Read/Browse/Call/CreateMonitoredItems (opcua.StatusCode) or
# Write/ActivateSession (opcua.Results) response.  On a connection whose
# OPN named a policy other than None tshark, like the sensor, cannot read
# MSG bodies (it decodes the ciphertext as fields: its request ids there
# are noise), so only ERR counts there.  "10 No Response" records have no
# response and are pinned by tests/regress/run.sh.
OPCUA_CAPTURES = [("real", "opcua-npm.pcap")]
OPCUA_FIELDS = ["frame.time_epoch", "ip.src", "tcp.stream", "tcp.srcport", "opcua.transport.type",
                "opcua.transport.error", "opcua.security.spu", "opcua.security.rqid",
                "opcua.servicenodeid.numeric", "opcua.ServiceResult", "opcua.StatusCode", "opcua.Results"]
OPCUA_PER_OP = {634: "sc", 530: "sc", 715: "sc", 754: "sc", 676: "res", 470: "res"}
OPCUA_NONE = "http://opcfoundation.org/UA/SecurityPolicy#None"


def opcua_expected(path):
    rows = tshark(path, "-Y", "opcua", "-T", "fields", *sum((["-e", f] for f in OPCUA_FIELDS), []))
    pending, encrypted, want, problems = {}, set(), [], []
    bad = lambda v: int(v, 16) & 0x80000000  # noqa: E731
    for epoch, src, stream, sport, types, errs, spus, rids, svcs, results, scs, ress in rows:
        if "," in types:
            problems.append(f"{epoch}: several OPC UA messages in one frame ({types})")
            continue
        from_server = sport == "4840"
        if types == "OPN" and spus and spus != OPCUA_NONE:
            encrypted.add(stream)
        if types == "ERR":
            if from_server and errs and bad(errs):
                want.append((iso(epoch), src, "%08X" % (int(errs, 16) & 0xFFFF0000), "",
                             bool(pending.get(stream))))
            continue
        if types not in ("MSG", "OPN") or (stream in encrypted and types == "MSG"):
            continue
        if not from_server:
            pending.setdefault(stream, set()).add(rids)
            continue
        paired = rids in pending.get(stream, set())
        pending.get(stream, set()).discard(rids)
        svc = int(svcs) if svcs else 0
        code = None
        if results and (svc == 397 or bad(results)):
            code = int(results, 16)
        elif svc in OPCUA_PER_OP:
            codes = (scs if OPCUA_PER_OP[svc] == "sc" else ress).split(",")
            code = next((int(c, 16) for c in codes if c and bad(c)), None)
        if code is not None and bad("%x" % code):
            want.append((iso(epoch), src, "%08X" % (code & 0xFFFF0000), rids, paired))
    return sorted(want), problems


def opcua_reported(sensor, rules, plugins, path):
    out = subprocess.run([sensor, "-r", path, "--rules", rules, "--plugin-dir", plugins,
                          "--reporter-ip", "192.0.2.254", "--no-stats"],
                         check=True, capture_output=True, text=True).stdout
    got = []
    for line in out.splitlines():
        r = json.loads(line)
        if r["Protocol"] == "OPC UA" and r["Responder"].get("Transmitted Code"):
            d = r["Description"]
            code = int(d["StatusCode"].rsplit("(", 1)[1].rstrip(")"), 16) & 0xFFFF0000
            got.append((r["Timestamp"], d["Responder Address"], "%08X" % code, d.get("Request Id", ""),
                        bool(r["Requester"].get("Transmitted Code"))))
    return sorted(got)


def opcua_crosscheck(top, build, public):
    passed = failed = 0
    for where, name in OPCUA_CAPTURES:
        path = os.path.join(public if where == "public" else os.path.join(top, "pcaps", where), name)
        want, problems = opcua_expected(path)
        got = opcua_reported(os.path.join(build, "x1367ids"), os.path.join(top, "rules"),
                             os.path.join(build, "dissectors", ".libs"), path)
        if want == got and not problems:
            passed += 1
            print(f"PASS opcua {name}: {len(want)} OPC UA errors, one record each, same codes and pairing")
        else:
            failed += 1
            print(f"FAIL opcua {name}: tshark {len(want)} errors, sensor {len(got)} records")
            for p in problems[:10]:
                print("  tshark:", p)
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
    p, f = fins_crosscheck(top, build, public)
    passed, failed = passed + p, failed + f
    p, f = opcua_crosscheck(top, build, public)
    passed, failed = passed + p, failed + f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
