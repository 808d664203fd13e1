#!/usr/bin/env python3
"""Write acme.pcap: one ACME Thermostat Protocol session on TCP 9760 with
every error the tutorial's plugin reports.  Standard library only, and
the same bytes on every run (fixed addresses, ports, sequence numbers and
clock).  Usage: python3 make-capture.py [OUTPUT]   (default acme.pcap)"""
import struct
import sys

CLIENT, SERVER = "192.0.2.10", "192.0.2.20"      # documentation addresses
CPORT, SPORT = 49500, 9760
T0 = 1709287200 * 10**6                          # 2024-03-01T10:00:00Z, in us
LOGIN, READ, WRITE, OK, ERROR = 0x01, 0x02, 0x03, 0x80, 0x81
FIN, SYN, PSH, ACK = 0x01, 0x02, 0x08, 0x10


def acme(mtype, rid, payload=b"", version=1):
    return b"AC" + struct.pack(">BBHH", version, mtype, rid, len(payload)) + payload


def u16(*values):
    return struct.pack(">" + "H" * len(values), *values)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(a):
    return bytes(int(x) for x in a.split("."))


class Session:
    """Both ends of one TCP connection; side 0 is the client."""

    def __init__(self):
        self.addr = [(CLIENT, CPORT), (SERVER, SPORT)]
        self.seq = [1000, 5000]
        self.now = T0
        self.frames = []

    def segment(self, side, flags, payload=b"", after=0.010):
        self.now += int(after * 10**6)
        (src, sport), (dst, dport) = self.addr[side], self.addr[1 - side]
        ack = self.seq[1 - side] if flags & ACK else 0
        tcp = struct.pack(">HHIIBBHHH", sport, dport, self.seq[side], ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = ipv4(src) + ipv4(dst) + struct.pack(">BBH", 0, 6, len(tcp) + len(payload))
        tcp = tcp[:16] + struct.pack(">H", checksum(pseudo + tcp + payload)) + tcp[18:]
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), len(self.frames) + 1,
                         0x4000, 64, 6, 0, ipv4(src), ipv4(dst))
        ip = ip[:10] + struct.pack(">H", checksum(ip)) + ip[12:]
        mac = [b"\x02\x00\x00\x00\x00\x0a", b"\x02\x00\x00\x00\x00\x14"]
        eth = mac[1 - side] + mac[side] + b"\x08\x00"
        self.frames.append((self.now, eth + ip + tcp + payload))
        self.seq[side] += len(payload) + (1 if flags & (SYN | FIN) else 0)

    def send(self, side, message, after=0.010):
        self.segment(side, PSH | ACK, message, after)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for ts, frame in self.frames:
                f.write(struct.pack("<IIII", ts // 10**6, ts % 10**6, len(frame), len(frame)))
                f.write(frame)


s = Session()
s.segment(0, SYN, after=0)
s.segment(1, SYN | ACK)
s.segment(0, ACK)
s.send(0, acme(LOGIN, 1, u16(7) + b"1234"), after=0.100)   # user 7, wrong PIN
s.send(1, acme(ERROR, 1, u16(0x0102)))                       # -> 0102 bad PIN
s.send(0, acme(LOGIN, 2, u16(7) + b"4321"), after=0.100)
s.send(1, acme(OK, 2))                                       # logged in
s.send(0, acme(READ, 3, u16(0x0010)), after=0.100)
s.send(1, acme(OK, 3, u16(215)))                             # 21.5 degrees
s.send(0, acme(READ, 4, u16(0x0099)), after=0.100)
s.send(1, acme(ERROR, 4, u16(0x0201)))                       # -> 0201 unknown register
write = acme(WRITE, 5, u16(0x0011, 900))                     # set point 90.0 degrees
s.send(0, write[:8], after=0.100)                            # header alone: NEED_MORE
s.send(0, write[8:], after=0.001)
s.send(1, acme(ERROR, 5, u16(0x0302)))                       # -> 0302 out of range
s.send(0, acme(READ, 6, u16(0x0020)), after=0.100)
s.send(1, acme(ERROR, 6, u16(0x0401)))                       # -> 0401 sensor fault
s.send(0, acme(READ, 7, u16(0x0010), version=2), after=0.100)  # a version we do not speak
s.segment(1, ACK)
s.send(0, acme(WRITE, 8, u16(0x0011, 205)), after=0.100)    # never answered
s.segment(1, ACK)
s.segment(0, FIN | ACK, after=6.0)                          # the deadline (5 s) has passed
s.segment(1, FIN | ACK)
s.segment(0, ACK)
s.write(sys.argv[1] if len(sys.argv) > 1 else "acme.pcap")
