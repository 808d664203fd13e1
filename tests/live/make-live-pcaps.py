#!/usr/bin/python3
"""Write the live tests' own captures: tests/live/data/*.pcap.

They are test-only captures (no expected-records file beside them, so they
live here and not under pcaps/, where the regression runner wants one).

modbus-exceptions-spread.pcap
    One Modbus/TCP connection 192.0.2.10:49200 -> 192.0.2.20:502 (handshake,
    then data), 28 Read Holding Registers requests (transaction ids 1..28,
    addresses 0x1000 + id, one register), each answered 20 ms later with
    exception 02 Illegal Data Address (rules/modbus.map: 02 -> 31), one
    request every 0.4 s from t = 0.5 s: the last answer at t = 11.32 s.
    tests/live/sighup.sh replays it live and reloads the tables meanwhile.

Nothing random: running this again writes the same bytes.  Plain python3,
no scapy (checksums computed here).

Run from the repository top:  python3 tests/live/make-live-pcaps.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "data")

BASE_US = 1795305600 * 1000000  # 2026-11-23T00:00:00Z

MAC_HMI = bytes.fromhex("020000000a0a")
MAC_PLC = bytes.fromhex("020000000a14")
HMI, PLC = "192.0.2.10", "192.0.2.20"
HMI_PORT, MODBUS = 49200, 502

SPREAD_COUNT = 28
SPREAD_FIRST_US = 500000
SPREAD_STEP_US = 400000
SPREAD_ANSWER_US = 20000


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Tcp:
    """Both directions of one TCP connection, sequence numbers kept."""

    def __init__(self, cli, cport, srv, sport):
        self.ends = {True: (cli, cport, MAC_HMI), False: (srv, sport, MAC_PLC)}
        self.seq = {True: 1000, False: 5000}
        self.ip_id = {True: 100, False: 200}

    def frame(self, from_client, flags, payload=b""):
        src, sport, smac = self.ends[from_client]
        dst, dport, dmac = self.ends[not from_client]
        seq = self.seq[from_client]
        ack = self.seq[not from_client] if flags & 0x10 else 0
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload
        pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
        self.ip_id[from_client] += 1
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), self.ip_id[from_client], 0x4000,
                          64, 6, 0, ip4(src), ip4(dst))
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        self.seq[from_client] = (seq + len(payload) + (1 if flags & 0x03 else 0)) & 0xFFFFFFFF
        return dmac + smac + b"\x08\x00" + hdr + tcp


def write_pcap(path, packets):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t_us, frame in packets:
            t = BASE_US + t_us
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)))
            f.write(frame)


def spread():
    c = Tcp(HMI, HMI_PORT, PLC, MODBUS)
    SYN, ACK, PSH, SYNACK = 0x02, 0x10, 0x08, 0x12
    pk = [(0, c.frame(True, SYN)), (300, c.frame(False, SYNACK)), (600, c.frame(True, ACK))]
    for i in range(SPREAD_COUNT):
        tid = i + 1
        t = SPREAD_FIRST_US + i * SPREAD_STEP_US
        req = struct.pack("!HHHBBHH", tid, 0, 6, 1, 3, 0x1000 + tid, 1)
        rsp = struct.pack("!HHHBBB", tid, 0, 3, 1, 0x83, 0x02)
        pk.append((t, c.frame(True, PSH | ACK, req)))
        pk.append((t + SPREAD_ANSWER_US, c.frame(False, PSH | ACK, rsp)))
        pk.append((t + SPREAD_ANSWER_US + 200, c.frame(True, ACK)))
    return pk


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    write_pcap(os.path.join(OUT_DIR, "modbus-exceptions-spread.pcap"), spread())


if __name__ == "__main__":
    main()
