#!/usr/bin/python3
"""Write the IEC 60870-5-104 synthetic captures: pcaps/synthetic/iec104-*.pcap.

Each capture is one small scene for the IEC 104 plugin (dissectors/iec104.c),
built with the same Capture/Tcp helpers and fixed clock as
make-synthetic-pcaps.py, so running this again writes the same bytes.  No
Debian or npm package implements IEC 104 (tests/gen/real/README.md): these
scenes are hand-made, and tshark checks every refusal in them
(tests/regress/tshark-crosscheck.py, IEC 104 section).

Run from the repository top:  python3 tests/gen/make-iec104-pcaps.py
"""
import importlib.util
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("synthetic", os.path.join(HERE, "make-synthetic-pcaps.py"))
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)
Capture, Tcp, TOP, OUT_DIR = synthetic.Capture, synthetic.Tcp, synthetic.TOP, synthetic.OUT_DIR

SCADA = "192.0.2.10"     # controlling station
RTU = "192.0.2.20"       # controlled station, common address 1
RTU2 = "192.0.2.21"      # controlled station, common address 2
IEC104 = 2404

STARTDT_ACT, STARTDT_CON = bytes.fromhex("680407000000"), bytes.fromhex("68040B000000")
TESTFR_ACT, TESTFR_CON = bytes.fromhex("680443000000"), bytes.fromhex("680483000000")


class Station:
    """One side's send and receive sequence numbers (N(S), N(R))."""

    def __init__(self):
        self.ns = 0
        self.nr = 0


def i_frame(me, peer, type_id, cot, ca, objects, sq=False, oa=0):
    """An I-frame: objects = [(ioa, element bytes)]; with sq, one address
    and consecutive elements."""
    body = struct.pack("<BBBBH", type_id, (0x80 if sq else 0) | len(objects), cot, oa, ca)
    for k, (ioa, elem) in enumerate(objects):
        if not sq or k == 0:
            body += struct.pack("<I", ioa)[:3]
        body += elem
    ctl = struct.pack("<HH", me.ns << 1, peer.ns << 1)
    me.ns += 1
    return bytes([0x68, 4 + len(body)]) + ctl + body


def s_frame(me, peer):
    return bytes([0x68, 4, 0x01, 0x00]) + struct.pack("<H", peer.ns << 1)


def connect(cap, port, server=RTU):
    t = Tcp(cap, SCADA, port, server, IEC104)
    t.handshake()
    t.c(STARTDT_ACT, gap=0.01)
    t.s(STARTDT_CON, gap=0.003)
    return t, Station(), Station()


def iec104_refusals():
    """Every kind of refusal a controlled station sends, each after the
    command it refuses: 7 records."""
    cap = Capture()
    t, m, s = connect(cap, 49200)
    scenes = [
        # (command: type, cause, ca, ioa, element), (answer cause, its ca)
        ((45, 6, 1, 100, b"\x01"), 0x47, 1),        # single command refused (P/N)
        ((49, 6, 1, 9999, b"\x10\x00\x00"), 0x6F, 1),  # set point: unknown IOA (47, P/N)
        ((46, 6, 77, 200, b"\x02"), 0x6E, 77),      # double command to unknown CA (46, P/N)
        ((99, 6, 1, 300, b"\x00"), 0x6C, 1),        # type 99 is no type: unknown type id (44)
        ((45, 3, 1, 100, b"\x01"), 0x6D, 1),        # a command with cause 3: unknown cause (45)
        ((102, 5, 1, 5555, b""), 0x2F, 1),          # read of an unknown object, 47 without P/N
        ((45, 8, 1, 100, b"\x00"), 0x49, 1),        # deactivation refused (P/N, cause 9)
    ]
    for (typ, cause, ca, ioa, elem), answer, answer_ca in scenes:
        t.c(i_frame(m, s, typ, cause, ca, [(ioa, elem)]), gap=0.5)
        t.s(s_frame(s, m) + i_frame(s, m, typ, answer, answer_ca, [(ioa, elem)]), gap=0.02)
    # Accepted: interrogation confirmed, data, terminated; a command confirmed.
    t.c(i_frame(m, s, 100, 6, 1, [(0, b"\x14")]), gap=0.5)
    t.s(i_frame(s, m, 100, 7, 1, [(0, b"\x14")]), gap=0.02)
    t.s(i_frame(s, m, 1, 20, 1, [(1000 + k, b"\x01") for k in range(4)], sq=True), gap=0.01)
    t.s(i_frame(s, m, 100, 10, 1, [(0, b"\x14")]), gap=0.01)
    t.c(i_frame(m, s, 45, 6, 1, [(101, b"\x81")]), gap=0.5)
    t.s(i_frame(s, m, 45, 7, 1, [(101, b"\x81")]), gap=0.02)
    t.c(s_frame(m, s), gap=0.1)
    t.close(gap=1.0)
    return cap


def iec104_no_confirmation():
    """Requests left without answer past t1 (15 s): an activation, a
    TESTFR act, a STARTDT act; one activation confirmed at 14 s (inside t1).
    3 records, all "10"."""
    cap = Capture()
    t, m, s = connect(cap, 49210)
    t.c(i_frame(m, s, 45, 6, 1, [(10, b"\x01")]), gap=1.0)       # never confirmed
    t.ack("s", gap=0.1)
    t.c(i_frame(m, s, 46, 6, 1, [(11, b"\x02")]), gap=1.0)       # confirmed late, inside t1
    t.ack("s", gap=0.1)
    t.s(s_frame(s, m) + i_frame(s, m, 46, 7, 1, [(11, b"\x02")]), gap=14.0)
    t.c(TESTFR_ACT, gap=5.0)                                     # never confirmed
    t.ack("s", gap=0.1)
    t2 = Tcp(cap, SCADA, 49211, RTU2, IEC104)
    t2.handshake()
    t2.c(STARTDT_ACT, gap=0.01)                                  # never confirmed
    t2.ack("s", gap=0.1)
    t.c(TESTFR_ACT, gap=20.0)                                    # the clock passes every t1
    t.s(TESTFR_CON, gap=0.01)
    t.close(gap=0.5)
    t2.close(gap=0.1)
    return cap


def iec104_framing():
    """Several APDUs in one segment, one APDU across three segments,
    garbage between APDUs, and a connection picked up mid-stream: 3
    records, 1 parse error (the garbage run)."""
    cap = Capture()
    t, m, s = connect(cap, 49220)
    # Two commands in one segment, their refusals and an S-frame in one.
    a1 = i_frame(m, s, 45, 6, 1, [(1, b"\x01")])
    a2 = i_frame(m, s, 45, 6, 1, [(2, b"\x01")])
    t.c(a1 + a2 + TESTFR_ACT, gap=0.5)
    t.s(s_frame(s, m) + i_frame(s, m, 45, 0x47, 1, [(1, b"\x01")]) + TESTFR_CON +
        i_frame(s, m, 45, 0x6F, 1, [(2, b"\x01")]), gap=0.02)
    # Garbage from the controlling station, then a command split in three.
    t.c(bytes.fromhex("0102036800ffee68"), gap=0.5)
    a3 = i_frame(m, s, 48, 6, 1, [(3, b"\x00\x40\x00")])
    t.c(a3[:1], gap=0.1)
    t.c(a3[1:9], gap=0.1)
    t.c(a3[9:], gap=0.1)
    t.s(i_frame(s, m, 48, 7, 1, [(3, b"\x00\x40\x00")]), gap=0.02)
    t.close(gap=0.5)
    # Picked up mid-stream: the first bytes are the tail of an APDU.
    mid = Tcp(cap, SCADA, 49221, RTU2, IEC104, isn_c=700000, isn_s=900000)
    m2, s2 = Station(), Station()
    m2.ns, s2.ns = 40, 90
    data = i_frame(s2, m2, 13, 3, 2, [(4000, b"\x00\x00\x80\x3f\x00")])
    mid.s(data[7:], gap=0.5)
    mid.c(i_frame(m2, s2, 50, 6, 2, [(4001, b"\x00\x00\x20\x41\x00")]), gap=0.2)
    mid.s(i_frame(s2, m2, 50, 0x47, 2, [(4001, b"\x00\x00\x20\x41\x00")]), gap=0.02)
    return cap


CASES = [
    ("iec104-refusals", iec104_refusals),
    ("iec104-no-confirmation", iec104_no_confirmation),
    ("iec104-framing", iec104_framing),
]


def main():
    only = set(sys.argv[1:])
    for name, make in CASES:
        if only and name not in only:
            continue
        path = os.path.join(OUT_DIR, name + ".pcap")
        cap = make()
        cap.write(path)
        print("%-36s %3d packets" % (os.path.relpath(path, TOP), len(cap.pkts)))


if __name__ == "__main__":
    main()
