#!/usr/bin/env python3
"""Cross-check against software nobody on this project wrote: for each
public Modbus capture, every exception response tshark finds must be one
record of the sensor, with the same response bytes, the same time, and the
request bytes tshark pairs it with (or an empty Requester Transmitted Code
when tshark saw no request); and the sensor must report no exception
tshark does not see.  Skipped (exit 77) only when tshark is missing.

Each further protocol has a section of its own below (a table of captures
and a function run from main): S7comm."""
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


# ---- S7comm (plugin dissectors/s7comm.c) ------------------------------------
# DEFAULT-MAPPINGS gives the reference filter
#   s7comm.header.errcls != 0 || s7comm.param.errcod != 0
#   || (s7comm.data.returncode != 0xff && s7comm.data.returncode != 0x00)
# and pcaps/README.md counts its frames (6, 12, 1, 4).  Those frames are
# not all error responses, and the filter misses some that are; each
# frame is sorted here from tshark's own fields:
#   - requests (Job, Userdata type 4): STEP 7 and snap7 send the data unit
#     "0A, NULL, length 0" in requests that carry no data; a request is
#     never an error response;
#   - Userdata responses with error code 0 whose data unit is that same
#     "0A, NULL, length 0": the answer of a function without data (Set
#     clock done, PLC password accepted), no error;
#   - everything else is an error response.
# tshark 4.0's != on a field with several values means "all differ", so a
# Write Var answer with items FF FF FF 03 03 escapes the filter; the
# any-differs form ~= finds it.  The sensor's records must equal the
# error responses one for one: same time, same response bytes (the TPKT
# carrying the PDU), and a request that ends with the TPKT tshark pairs
# (STEP 7 may send an empty DT without EOT first: it is part of the PDU).
S7_FILTER = ("s7comm.header.errcls != 0 || s7comm.param.errcod != 0 || "
             "(s7comm.data.returncode != 0xff && s7comm.data.returncode != 0x00)")
S7_FILTER_ANY = ("s7comm.header.errcls != 0 || s7comm.param.errcod != 0 || "
                 "(s7comm.data.returncode ~= 0xff && s7comm.data.returncode ~= 0x00)")
# capture -> (frames the reference filter shows, of them requests, of them
# "no data" answers, error responses): pcaps/README.md's counts, taken
# apart by hand from tshark -V and pinned so that a change in either tool
# shows.  snap7: Get block info D209, Start upload Ack D20C, and the Write
# Var answer FF FF FF 03 03 the filter misses; the password capture holds
# no error (the password was accepted).
S7_CAPTURES = {"snap7_s300_everything.pcapng": (6, 3, 1, 3),
               "s7comm_program_blocklist_onlineview.pcap": (12, 10, 0, 2),
               "step7_s300_AuthPassword.pcapng": (1, 0, 1, 0),
               "s7comm_reading_plc_status.pcap": (4, 3, 0, 1)}
# The same for the capture of real third-party peers made here
# (tests/gen/real/s7-snap7.sh: snap7's server, snap7's and nodes7's
# clients); its 10 No Response for the stopped server is pinned by its
# expected records.
S7_REAL_CAPTURES = {"s7-snap7.pcap": (10, 2, 2, 10)}
# Public captures of other protocols on which the plugin must stay silent.
S7_SILENT = ["modbus_test_data_part1.pcap", "modbus_test_data_part2.pcap", "modbusSmall.pcap",
             "fuzz-72.pcap", "fuzz-1011.pcap", "dnp3_test_data_part1.pcap",
             "dnp3_test_data_part2.pcap", "TestDissectIec104.pcap", "EIP-FirmwareChangeFailure.pcap",
             "bacnet_test.pcap", "omron_test.pcap"]
S7_FIELDS = ["frame.number", "frame.time_epoch", "tcp.stream", "tcp.srcport", "s7comm.header.rosctr",
             "s7comm.header.pduref", "s7comm.header.errcls", "s7comm.header.errcod",
             "s7comm.param.userdata.type", "s7comm.param.errcod", "s7comm.data.returncode",
             "s7comm.data.transportsize", "s7comm.data.length", "tcp.payload"]


def s7_tpkt(hexpayload, pduref):
    """The TPKT of a TCP payload that carries the S7 PDU with this
    reference (a segment may carry several TPKTs)."""
    data = bytes.fromhex(hexpayload.replace(":", ""))
    off = 0
    while off + 4 <= len(data):
        n = int.from_bytes(data[off + 2:off + 4], "big")
        tp = data[off:off + n]
        if n >= 7 and tp[5] == 0xF0 and len(tp) > 13 and tp[7] == 0x32 and \
                int.from_bytes(tp[11:13], "big") == pduref:
            return tp.hex().upper()
        off += max(n, 1)
    return None


def s7_rows(path, flt=None):
    args = ["-Y", flt] if flt else ["-Y", "s7comm"]
    rows = tshark(path, *args, "-T", "fields", *sum((["-e", f] for f in S7_FIELDS), []))
    return [dict(zip(S7_FIELDS, r + [""] * (len(S7_FIELDS) - len(r)))) for r in rows]


def s7_kind(r):
    """request, no_data or error, for a frame tshark shows."""
    if r["s7comm.header.rosctr"] == "1" or r["s7comm.param.userdata.type"] == "4":
        return "request"
    codes = [int(c, 16) for c in r["s7comm.data.returncode"].split(",") if c]
    errcls = int(r["s7comm.header.errcls"] or "0", 16) or int(r["s7comm.header.errcod"] or "0", 16)
    errcod = int(r["s7comm.param.errcod"] or "0", 16)
    if not errcls and not errcod and r["s7comm.param.userdata.type"] == "8" and codes == [0x0A] \
            and r["s7comm.data.transportsize"] in ("0x00", "0") and r["s7comm.data.length"] == "0":
        return "no_data"
    return "error"


def s7_expected(path):
    """Error responses with the request each answers: same TCP stream,
    the other direction, same PDU reference and ROSCTR family, the oldest
    not yet answered (paired here from tshark's fields)."""
    pending, want = {}, []
    errors = {r["frame.number"] for r in s7_rows(path, S7_FILTER_ANY) if s7_kind(r) == "error"}
    for r in s7_rows(path):
        ref = int(r["s7comm.header.pduref"])
        family = "ud" if r["s7comm.header.rosctr"] == "7" else "job"
        tp = s7_tpkt(r["tcp.payload"], ref)
        if s7_kind(r) == "request":
            pending.setdefault((r["tcp.stream"], r["tcp.srcport"], family, ref), []).append(tp)
            continue
        key = [k for k in pending if k[0] == r["tcp.stream"] and k[1] != r["tcp.srcport"]
               and k[2:] == (family, ref) and pending[k]]
        req = pending[key[0]].pop(0) if key else ""
        if r["frame.number"] in errors:
            want.append((iso(r["frame.time_epoch"]), req, tp))
    return sorted(want)


def s7_reported(sensor, rules, plugins, path):
    out = subprocess.run([sensor, "-r", path, "--rules", rules, "--plugin-dir", plugins,
                          "--reporter-ip", "192.0.2.254", "--no-stats"],
                         check=True, capture_output=True, text=True).stdout
    got = []
    for line in out.splitlines():
        r = json.loads(line)
        # Answers only: a "10 No Response" has no response bytes to compare.
        if r["Protocol"] == "S7comm" and r["Responder"]["Transmitted Code"]:
            got.append((r["Timestamp"], r["Requester"].get("Transmitted Code", ""),
                        r["Responder"]["Transmitted Code"]))
    return sorted(got)


def s7_map_rows(top):
    rows = {}
    with open(os.path.join(top, "rules", "s7comm.map"), encoding="utf-8") as f:
        for line in f:
            p = line.split("#", 1)[0].split() if not line.startswith("#") else []
            if len(p) >= 3 and p[0] == "s7comm":
                rows[p[1]] = " ".join(p[3:])
    return rows


def s7_codes_check(top):
    """rules/s7comm.map holds every code tshark's S7comm dissector names
    (its value strings, tshark -G values), with the same meaning: the
    header / parameter error codes as four digits, the item return codes
    (but FF, success) as two, each under "Item: "."""
    out = subprocess.run(["tshark", "-G", "values"], check=True, capture_output=True,
                         text=True).stdout
    want = {}
    for line in out.splitlines():
        f = line.split("\t")
        if len(f) == 4 and f[0] == "V" and f[1] == "s7comm.param.errcod" and int(f[2], 0):
            want["%04X" % int(f[2], 0)] = " ".join(f[3].split())
        elif len(f) == 4 and f[0] == "V" and f[1] == "s7comm.data.returncode" and int(f[2], 0) != 0xFF:
            want["%02X" % int(f[2], 0)] = "Item: " + f[3]
    rows = s7_map_rows(top)
    bad = [(c, n, rows.get(c)) for c, n in sorted(want.items()) if rows.get(c) != n]
    if want and not bad:
        print(f"PASS rules/s7comm.map: all {len(want)} codes tshark's S7comm dissector names, "
              f"with its meanings")
        return 1, 0
    print(f"FAIL rules/s7comm.map: {len(bad)} of tshark's {len(want)} S7comm codes missing or named "
          f"otherwise")
    for b in bad[:10]:
        print("  ", b)
    return 0, 1


def s7comm_check(top, build, public):
    sensor = os.path.join(build, "x1367ids")
    rules, plugins = os.path.join(top, "rules"), os.path.join(build, "dissectors", ".libs")
    passed, failed = s7_codes_check(top)
    paths = [(os.path.join(public, n), pin) for n, pin in S7_CAPTURES.items()]
    paths += [(os.path.join(top, "pcaps", "real", n), pin) for n, pin in S7_REAL_CAPTURES.items()]
    for path, (n_filter, n_requests, n_no_data, n_errors) in paths:
        name = os.path.basename(path)
        kinds = [s7_kind(r) for r in s7_rows(path, S7_FILTER)]
        split = (len(kinds), kinds.count("request"), kinds.count("no_data"))
        want = s7_expected(path)
        got = s7_reported(sensor, rules, plugins, path)
        # The request: tshark's TPKT, maybe after empty DTs without EOT.
        same = len(want) == len(got) and all(
            wt == gt and wr == gr and (gq.endswith(wq) if wq else not gq)
            for (wt, wq, wr), (gt, gq, gr) in zip(want, got))
        if split == (n_filter, n_requests, n_no_data) and len(want) == n_errors and same:
            passed += 1
            print(f"PASS {name}: tshark's filter shows {n_filter} frames ({n_requests} requests, "
                  f"{n_no_data} answers without data); {len(want)} error responses, one record "
                  f"each, same bytes")
        else:
            failed += 1
            print(f"FAIL {name}: filter frames/requests/no-data {split}, pinned "
                  f"{(n_filter, n_requests, n_no_data)}; tshark {len(want)} error responses "
                  f"(pinned {n_errors}), sensor {len(got)} records")
            for w in want:
                print("  tshark:", w)
            for g in got:
                print("  sensor:", g)
    for name in S7_SILENT:
        got = s7_reported(sensor, rules, plugins, os.path.join(public, name))
        if got:
            failed += 1
            print(f"FAIL {name}: {len(got)} S7comm records on a capture without S7comm")
        else:
            passed += 1
    print(f"S7comm: {len(S7_SILENT)} captures of other protocols, no S7comm record")
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
    for check in (s7comm_check,):
        p, f = check(top, build, public)
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
