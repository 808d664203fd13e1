#!/usr/bin/python3
"""Write the DNP3 synthetic captures: pcaps/synthetic/dnp3-*.pcap.

The public DNP3 captures (pcaps/public/dnp3_test_data_part1/2.pcap) have
no outstation that reports device trouble or an event buffer overflow,
the two states dissectors/dnp3.c reports once per device, episode and
connection, and most often from an unsolicited response.  This scene
has them, built with the same Capture/Tcp helpers and fixed clock as
make-synthetic-pcaps.py, so running this again writes the same bytes.
Its frames are checked with tshark (dnp3.al.func, dnp3.al.iin.dt,
dnp3.al.iin.ebo, dnp3.al.iin.obju), which decodes every one of them with
good CRCs.

Run from the repository top:  python3 tests/gen/make-dnp3-pcaps.py
"""
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("synthetic", os.path.join(HERE, "make-synthetic-pcaps.py"))
synthetic = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic)
Capture, Tcp, TOP, OUT_DIR = synthetic.Capture, synthetic.Tcp, synthetic.TOP, synthetic.OUT_DIR

MASTER_IP = "192.0.2.30"
OUTST_IP = "192.0.2.40"
DNP3 = 20000
MASTER, OUTST = 1, 10       # link addresses


def crc(data):
    """IEEE 1815 9.2.1.2: polynomial 0x3D65, reflected, inverted."""
    c = 0
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0xA6BC if c & 1 else c >> 1
    c = ~c & 0xFFFF
    return bytes([c & 0xFF, c >> 8])


def frame(from_master, app, tseq):
    """One link frame (UNCONFIRMED_USER_DATA) carrying a whole fragment."""
    user = bytes([0xC0 | (tseq & 0x3F)]) + app
    dst, src = (OUTST, MASTER) if from_master else (MASTER, OUTST)
    hdr = bytes([0x05, 0x64, len(user) + 5, 0xC4 if from_master else 0x44,
                 dst & 0xFF, dst >> 8, src & 0xFF, src >> 8])
    out = hdr + crc(hdr)
    for off in range(0, len(user), 16):
        out += user[off:off + 16] + crc(user[off:off + 16])
    return out


class Link:
    """One TCP connection with its transport sequence numbers."""

    def __init__(self, cap, port):
        self.t = Tcp(cap, MASTER_IP, port, OUTST_IP, DNP3)
        self.t.handshake()
        self.seq = {"c": 0, "s": 0}

    def send(self, side, app_hex, gap):
        app = bytes.fromhex(app_hex)
        payload = frame(side == "c", app, self.seq[side])
        self.seq[side] += 1
        return self.t.segment(side, "PA", payload, gap=gap)


def dnp3_unsolicited_states():
    """Device trouble and event buffer overflow from unsolicited
    responses, over two connections to one outstation; one error of a
    solicited response.  4 records: connection 1 reports trouble once
    (repeated while on), then the overflow that joins it, and a READ's
    object unknown; connection 2 reports the same outstation's trouble
    again (another connection, its own episode)."""
    cap = Capture()
    a = Link(cap, 49300)
    a.send("c", "C1 01 3C 01 06", gap=0.5)          # READ class 0
    a.send("s", "C1 81 00 00", gap=0.02)             # fine
    a.send("s", "F2 82 40 00", gap=1.0)              # UNS: device trouble -> 41
    a.send("c", "D2 00", gap=0.02)                   # CONFIRM (UNS)
    a.send("s", "F3 82 40 00", gap=1.0)              # still on: nothing
    a.send("c", "D3 00", gap=0.02)
    a.send("s", "F4 82 40 08", gap=1.0)              # + event overflow -> 42
    a.send("c", "D4 00", gap=0.02)
    a.send("c", "C5 01 3C 02 06 3C 03 06", gap=0.5)  # READ class 1, 2
    a.send("s", "C5 81 40 0A", gap=0.02)             # object unknown -> 31 (states still on)
    b = Link(cap, 49301)
    b.send("s", "F0 82 40 00", gap=0.5)              # another connection -> 41
    b.send("c", "D0 00", gap=0.02)
    a.send("s", "F6 82 00 00", gap=1.0)              # connection 1: episodes end
    a.send("c", "D6 00", gap=0.02)
    a.t.close(gap=0.5)
    b.t.close(gap=0.1)
    return cap


CASES = [
    ("dnp3-unsolicited-states", dnp3_unsolicited_states),
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
