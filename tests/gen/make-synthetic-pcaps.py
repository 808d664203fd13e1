#!/usr/bin/python3
"""Write the project's synthetic captures: pcaps/synthetic/*.pcap and pcaps/demo.pcap.

Each capture is one small scene for one behaviour of the Modbus/TCP and
ECHONET Lite dissectors (see the table at the end of this file).  Everything
is fixed -- timestamps, addresses (documentation ranges 192.0.2.0/24,
198.51.100.0/24, 2001:db8::/32), MACs, sequence numbers, IP ids -- so running
this again writes the same bytes.  Checksums are scapy's.

Run from the repository top:  python3 tests/gen/make-synthetic-pcaps.py
"""
import os
import struct
import sys
from decimal import Decimal

try:
    import scapy  # noqa: F401
except ImportError:  # a python3 outside Debian's: use Debian's python3-scapy
    sys.path.append("/usr/lib/python3/dist-packages")

from scapy.layers.inet import IP, TCP, UDP, fragment  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import CookedLinux, Dot1AD, Dot1Q, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402
from scapy.utils import wrpcap  # noqa: E402

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT_DIR = os.path.join(TOP, "pcaps", "synthetic")

BASE_US = 1705309200 * 1000000  # 2024-01-15T09:00:00Z

DLT_EN10MB = 1
DLT_LINUX_SLL = 113

# ---- hosts ------------------------------------------------------------------

HMI = "192.0.2.10"
PLC1 = "192.0.2.20"
PLC2 = "192.0.2.21"
PLC3 = "192.0.2.22"
GATEWAY = "192.0.2.30"
CTRL = "198.51.100.10"
AIRCON = "198.51.100.20"
LIGHT = "198.51.100.21"
SENSOR = "198.51.100.22"
METER = "198.51.100.23"
EL_GROUP4 = "224.0.23.0"
HMI6 = "2001:db8::10"
PLC6 = "2001:db8::20"
CTRL6 = "2001:db8::10"
NODE6A = "2001:db8::20"
NODE6B = "2001:db8::21"
EL_GROUP6 = "ff02::1"

MODBUS = 502
ECHONET = 3610
ECHONET_ALT = 23610  # one widely used library sends everything from here


def mac_of(addr):
    """A fixed locally administered MAC per address; multicast groups get
    their IPv4/IPv6 multicast MAC."""
    if addr == EL_GROUP4:
        return "01:00:5e:00:17:00"
    if addr == EL_GROUP6:
        return "33:33:00:00:00:01"
    digest = sum((i + 1) * ord(c) for i, c in enumerate(addr))
    return "02:00:%02x:%02x:%02x:%02x" % (len(addr), (digest >> 16) & 0xFF, (digest >> 8) & 0xFF,
                                          digest & 0xFF)


# ---- captures -----------------------------------------------------------------


class Capture:
    """Packets with a clock in whole microseconds, and a link-layer style."""

    def __init__(self, link="ether"):
        self.link = link
        self.now_us = BASE_US
        self.pkts = []
        self.ip_id = 0x1000

    def wait(self, seconds):
        self.now_us += int(round(seconds * 1000000))

    def next_ip_id(self):
        self.ip_id += 1
        return self.ip_id

    def frame(self, l3, src, dst):
        if self.link == "sll":
            return CookedLinux(pkttype=0, lladdrtype=1, lladdrlen=6,
                               src=bytes.fromhex(mac_of(src).replace(":", "")) + b"\0\0") / l3
        eth = Ether(src=mac_of(src), dst=mac_of(dst))
        if self.link == "qinq":
            return eth / Dot1AD(vlan=100) / Dot1Q(vlan=200) / l3
        return eth / l3

    def add(self, l3, src, dst, gap=0.0005):
        self.wait(gap)
        pkt = self.frame(l3, src, dst)
        pkt.time = Decimal(self.now_us) / Decimal(1000000)
        self.pkts.append(pkt)

    def ip(self, src, dst):
        if ":" in src:
            return IPv6(src=src, dst=dst, hlim=64)
        return IP(src=src, dst=dst, ttl=64, id=self.next_ip_id())

    def udp(self, src, sport, dst, dport, payload, gap=0.0005):
        self.add(self.ip(src, dst) / UDP(sport=sport, dport=dport) / Raw(payload), src, dst, gap)

    def write(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        dlt = DLT_LINUX_SLL if self.link == "sll" else DLT_EN10MB
        wrpcap(path, self.pkts, linktype=dlt)


class Tcp:
    """One TCP connection: sequence numbers kept for both sides."""

    def __init__(self, cap, client, cport, server, sport, isn_c=1000, isn_s=5000):
        self.cap = cap
        self.ends = {"c": (client, cport), "s": (server, sport)}
        self.next_seq = {"c": isn_c, "s": isn_s}

    def _l3(self, side, flags, seq, payload=b""):
        other = "s" if side == "c" else "c"
        (src, sport), (dst, dport) = self.ends[side], self.ends[other]
        ack = self.next_seq[other] if "A" in flags else 0
        seg = TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=8192)
        l3 = self.cap.ip(src, dst) / seg
        if payload:
            l3 = l3 / Raw(payload)
        return l3, src, dst

    def segment(self, side, flags, payload=b"", seq=None, gap=0.0005):
        """Send; seq=None: the next bytes.  Returns the seq used."""
        use = self.next_seq[side] if seq is None else seq
        l3, src, dst = self._l3(side, flags, use, payload)
        self.cap.add(l3, src, dst, gap)
        end = use + len(payload) + (1 if ("S" in flags or "F" in flags) else 0)
        if seq is None or end > self.next_seq[side]:
            self.next_seq[side] = max(self.next_seq[side], end)
        return use

    def handshake(self):
        self.segment("c", "S")
        self.segment("s", "SA")
        self.segment("c", "A")

    def c(self, payload, gap=0.0005):
        return self.segment("c", "PA", payload, gap=gap)

    def s(self, payload, gap=0.0005):
        return self.segment("s", "PA", payload, gap=gap)

    def ack(self, side, gap=0.0005):
        self.segment(side, "A", gap=gap)

    def close(self, gap=0.0005):
        self.segment("c", "FA", gap=gap)
        self.segment("s", "FA")
        self.segment("c", "A")


# ---- Modbus/TCP ---------------------------------------------------------------


def mbap(tid, unit, pdu, pid=0, length=None):
    if length is None:
        length = len(pdu) + 1
    return struct.pack(">HHHB", tid, pid, length, unit) + pdu


def mb_read(tid, unit, fc, addr, qty):
    return mbap(tid, unit, struct.pack(">BHH", fc, addr, qty))


def mb_read_resp(tid, unit, fc, values):
    data = b"".join(struct.pack(">H", v) for v in values)
    return mbap(tid, unit, struct.pack(">BB", fc, len(data)) + data)


def mb_write1(tid, unit, fc, addr, value):
    return mbap(tid, unit, struct.pack(">BHH", fc, addr, value))


def mb_write_regs(tid, unit, addr, values):
    data = b"".join(struct.pack(">H", v) for v in values)
    return mbap(tid, unit, struct.pack(">BHHB", 16, addr, len(values), len(data)) + data)


def mb_exc(tid, unit, fc, code):
    return mbap(tid, unit, bytes([fc | 0x80, code]))


def modbus_exceptions():
    cap = Capture()
    t = Tcp(cap, HMI, 49152, PLC1, MODBUS)
    t.handshake()
    # (request, exception code): each exception after the request it answers.
    scenes = [
        (mbap(1, 1, bytes([8, 0, 0, 0x12, 0x34])), 8, 0x01),        # Diagnostics unsupported
        (mb_read(2, 1, 3, 40000, 10), 3, 0x02),                       # address out of range
        (mb_write1(3, 1, 6, 100, 0xFFFF), 6, 0x03),                   # value refused
        (mb_read(4, 1, 4, 0, 4), 4, 0x04),                            # device failure
        (mb_write_regs(5, 1, 200, [1, 2]), 16, 0x05),                 # Acknowledge: no record
        (mb_read(6, 1, 3, 0, 4), 3, 0x06),                            # busy
        (mbap(7, 1, bytes([15, 0, 0, 0, 8, 1, 0xFF])), 15, 0x07),     # negative acknowledge
        (mbap(8, 1, bytes([20, 7, 6, 0, 4, 0, 1, 0, 2])), 20, 0x08),  # memory parity error
        (mb_read(9, 2, 3, 0, 4), 3, 0x0A),                            # gateway path
        (mb_read(10, 3, 4, 0, 4), 4, 0x0B),                           # gateway target silent
        (mb_read(11, 1, 1, 0, 16), 1, 0x20),                          # not a Modbus code: FF
    ]
    for req, fc, code in scenes:
        t.c(req, gap=0.1)
        t.s(mb_exc(struct.unpack(">H", req[:2])[0], req[6], fc, code), gap=0.005)
    t.close(gap=0.1)
    return cap


def modbus_pipelined():
    cap = Capture()
    t = Tcp(cap, HMI, 49153, GATEWAY, MODBUS)
    t.handshake()
    reqs = [
        mb_read(1, 1, 3, 0, 2),
        mbap(2, 1, bytes([43, 14, 1, 0])),  # Read Device Identification
        mb_read(3, 1, 3, 9000, 2),
        mb_read(4, 1, 4, 0, 1),
        mb_read(5, 1, 3, 10, 1),
        mb_read(5, 2, 3, 10, 1),            # same tid, other unit behind the gateway
    ]
    for r in reqs:
        t.c(r, gap=0.002)
    answers = [
        mb_exc(3, 1, 3, 0x02),
        mb_read_resp(1, 1, 3, [11, 12]),
        mb_exc(5, 2, 3, 0x04),
        mb_read_resp(4, 1, 4, [7]),
        mb_exc(2, 1, 43, 0x01),
        mb_read_resp(5, 1, 3, [42]),
    ]
    for a in answers:
        t.s(a, gap=0.01)
    t.close(gap=0.2)
    return cap


def modbus_split_adu():
    cap = Capture()
    t = Tcp(cap, HMI, 49154, PLC1, MODBUS)
    t.handshake()
    big = mb_write_regs(1, 1, 60000, list(range(10)))
    t.c(big[:5])
    t.c(big[5:13])
    t.c(big[13:])
    exc = mb_exc(1, 1, 16, 0x02)
    t.s(exc[:3], gap=0.01)
    t.s(exc[3:7])
    t.s(exc[7:])
    three = mb_read(2, 1, 1, 0, 8) + mb_write1(3, 1, 6, 5, 0x8000) + mb_read(4, 1, 3, 0, 1)
    t.c(three, gap=0.2)
    t.s(mb_exc(2, 1, 1, 0x01) + mb_exc(3, 1, 6, 0x03) + mb_read_resp(4, 1, 3, [99]), gap=0.01)
    t.close(gap=0.2)
    return cap


def modbus_retransmission():
    cap = Capture()
    t = Tcp(cap, HMI, 49155, PLC1, MODBUS)
    t.handshake()
    req = mb_read(1, 1, 3, 5000, 4)
    seq = t.c(req)
    t.segment("c", "PA", req, seq=seq, gap=0.2)   # the client's retransmission
    exc = mb_exc(1, 1, 3, 0x02)
    sseq = t.s(exc, gap=0.01)
    t.segment("s", "PA", exc, seq=sseq, gap=0.2)  # the server's retransmission
    t.ack("c")
    t.c(mb_read(2, 1, 3, 0, 4), gap=0.5)
    t.s(mb_read_resp(2, 1, 3, [1, 2, 3, 4]), gap=0.01)
    t.close(gap=0.2)
    return cap


def modbus_midstream():
    cap = Capture()
    t = Tcp(cap, HMI, 49156, PLC2, MODBUS, isn_c=700000, isn_s=900000)
    # The capture starts after the request of this exception was sent.
    t.s(mb_exc(0x0100, 1, 3, 0x02))
    t.ack("c")
    t.c(mb_read(0x0101, 1, 3, 0, 2), gap=0.5)
    t.s(mb_read_resp(0x0101, 1, 3, [5, 6]), gap=0.01)
    t.c(mb_write1(0x0102, 1, 6, 10, 3), gap=0.5)
    t.s(mb_exc(0x0102, 1, 6, 0x04), gap=0.01)
    t.ack("c")
    return cap


def modbus_syn_flood_evict():
    # Issue 14, defect 4: a burst of SYNs from forged sources between a
    # request and its exception.  Run with a small flow table (the .args
    # file beside the capture: --max-flows 16), the burst fills it many
    # times over; the connection that waits for its answer must stay.
    cap = Capture()
    t = Tcp(cap, HMI, 49170, PLC1, MODBUS)
    t.handshake()
    t.c(mb_read(1, 1, 3, 0, 2), gap=0.1)
    t.s(mb_read_resp(1, 1, 3, [7, 8]), gap=0.005)
    t.c(mb_read(2, 1, 3, 40000, 10), gap=0.5)                # answered after the burst
    # 3,000 SYNs in 30 ms, each from its own address of 198.18.0.0/15
    # (RFC 2544, benchmarking) and port: half-open flows, no payload.
    for i in range(3000):
        src = "198.18.%d.%d" % (i >> 8, i & 0xFF)
        seg = TCP(sport=1024 + i, dport=MODBUS, flags="S", seq=(i * 7919) & 0xFFFFFFFF, window=1024)
        cap.add(cap.ip(src, PLC1) / seg, src, PLC1, gap=0.00001)
    t.s(mb_exc(2, 1, 3, 0x02), gap=0.002)
    t.c(mb_read(3, 1, 3, 0, 2), gap=0.5)                     # the connection goes on
    t.s(mb_read_resp(3, 1, 3, [7, 8]), gap=0.005)
    # Deadlines (5 s) pass in capture time: a request lost with its flow
    # would show here as a false "10 No Response".
    t.close(gap=6.0)
    return cap


def modbus_evicted_pending():
    # Issue 14, defect 4, the other half: a table too small for its flows
    # (the .args file: --max-flows 16) evicts two connections whose
    # requests wait, pushed out by 20 busy clients.  No "10 No Response"
    # for either (transactions.evicted_pending); the normal answer that
    # comes later raises nothing, the exception is still reported, as an
    # exception whose request the capture did not see.
    cap = Capture()
    a = Tcp(cap, HMI, 49171, PLC1, MODBUS)
    b = Tcp(cap, HMI, 49172, PLC2, MODBUS)
    a.handshake()
    b.handshake()
    a.c(mb_read(1, 1, 3, 0, 2), gap=0.1)
    b.c(mb_read(1, 1, 3, 40000, 10), gap=0.01)
    busy = []
    for i in range(20):
        t = Tcp(cap, "198.51.100.%d" % (100 + i), 40000 + i, PLC3, MODBUS)
        t.handshake()
        t.c(mb_read(1, 1, 4, 0, 1), gap=0.001)
        t.s(mb_read_resp(1, 1, 4, [i]), gap=0.002)
        busy.append(t)
    a.s(mb_read_resp(1, 1, 3, [7, 8]), gap=0.5)
    b.s(mb_exc(1, 1, 3, 0x02), gap=0.01)
    # Deadlines (5 s) pass in capture time.
    busy[-1].c(mb_read(2, 1, 4, 0, 1), gap=6.0)
    busy[-1].s(mb_read_resp(2, 1, 4, [0]), gap=0.002)
    return cap


def modbus_bad_framing():
    cap = Capture()
    t = Tcp(cap, HMI, 49157, PLC1, MODBUS)
    t.handshake()

    def good(tid):
        t.c(mb_read(tid, 1, 3, 0, 2), gap=0.2)
        t.s(mb_read_resp(tid, 1, 3, [1, 2]), gap=0.01)

    good(1)
    t.c(mbap(2, 1, struct.pack(">BHH", 3, 0, 10), pid=1), gap=0.2)      # protocol id 1
    good(3)
    t.c(mbap(4, 1, struct.pack(">BHH", 3, 0, 1), length=0), gap=0.2)    # length 0
    good(5)
    t.c(mbap(6, 1, struct.pack(">BHH", 3, 0, 1), length=1), gap=0.2)    # length 1
    good(7)
    t.c(mbap(8, 1, struct.pack(">BHH", 3, 0, 1), length=300), gap=0.2)  # length 300
    t.c(mb_read(9, 1, 3, 30000, 2), gap=0.2)
    t.s(mb_exc(9, 1, 3, 0x02), gap=0.01)
    t.close(gap=0.2)
    return cap


def modbus_udp():
    cap = Capture()

    def req(tid, pdu_req, gap=0.5):
        cap.udp(HMI, 49200, PLC1, MODBUS, pdu_req, gap)

    def resp(payload):
        cap.udp(PLC1, MODBUS, HMI, 49200, payload, 0.01)

    req(1, mb_read(1, 1, 3, 7000, 2))
    resp(mb_exc(1, 1, 3, 0x02))
    req(2, mb_read(2, 1, 3, 0, 2))
    resp(mb_read_resp(2, 1, 3, [3, 4]))
    req(3, mb_write1(3, 1, 6, 1, 1))
    resp(mb_exc(3, 1, 6, 0x06))
    req(4, mb_read(4, 1, 4, 0, 2))          # never answered
    req(5, mb_read(5, 1, 3, 0, 2), gap=6.0)
    resp(mb_read_resp(5, 1, 3, [3, 4]))
    return cap


def modbus_port_5020():
    cap = Capture()
    t = Tcp(cap, HMI, 49158, PLC3, 5020)
    t.handshake()
    t.c(mb_read(1, 1, 3, 40000, 2), gap=0.1)
    t.s(mb_exc(1, 1, 3, 0x02), gap=0.01)
    t.c(mb_read(2, 1, 3, 0, 2), gap=0.5)
    t.s(mb_read_resp(2, 1, 3, [8, 9]), gap=0.01)
    t.c(mb_read(3, 1, 1, 0, 8), gap=0.5)
    t.s(mb_exc(3, 1, 1, 0x01), gap=0.01)
    t.close(gap=0.2)
    return cap


def modbus_simple(link="ether", client=HMI, server=PLC1, port=49160, exc_code=0x02, fc=3):
    """Handshake, one normal poll, one request answered with an exception."""
    cap = Capture(link)
    t = Tcp(cap, client, port, server, MODBUS)
    t.handshake()
    t.c(mb_read(1, 1, 3, 0, 2), gap=0.1)
    t.s(mb_read_resp(1, 1, 3, [1, 2]), gap=0.01)
    t.c(mb_read(2, 1, fc, 1000, 2), gap=0.5)
    t.s(mb_exc(2, 1, fc, exc_code), gap=0.01)
    t.close(gap=0.2)
    return cap


def modbus_ipv4_fragments():
    cap = Capture()
    t = Tcp(cap, HMI, 49163, PLC1, MODBUS)
    t.handshake()
    t.c(mb_read(1, 1, 3, 100, 2), gap=0.1)
    # The exception response, cut into IP fragments (8-byte multiples: the
    # first fragment carries only part of the TCP header).
    exc = mb_exc(1, 1, 3, 0x02)
    l3, src, dst = t._l3("s", "PA", t.next_seq["s"], exc)
    t.next_seq["s"] += len(exc)
    l3 = IP(bytes(l3))  # checksums final before cutting
    for i, frag in enumerate(fragment(l3, fragsize=16)):
        cap.add(frag, src, dst, gap=0.01 if i == 0 else 0.0001)
    t.ack("c")
    t.c(mb_read(2, 1, 3, 0, 2), gap=0.5)
    t.s(mb_read_resp(2, 1, 3, [1, 2]), gap=0.01)
    t.close(gap=0.2)
    return cap


def modbus_silence():
    cap = Capture()
    t = Tcp(cap, HMI, 49164, PLC2, MODBUS)
    t.handshake()
    tid = 0
    for i in range(16):
        tid += 1
        t.c(mb_read(tid, 1, 3, 0, 2), gap=0.1 if i == 0 else 2.0 - 0.01)
        if i <= 10:  # answers stop after t = 20 s
            t.s(mb_read_resp(tid, 1, 3, [i, i]), gap=0.01)
        else:
            cap.wait(0.01)
    t.segment("c", "RA", gap=6.0)
    return cap


# ---- ECHONET Lite -------------------------------------------------------------

EOJ_CONTROLLER = bytes.fromhex("05FF01")
EOJ_NODE = bytes.fromhex("0EF001")
EOJ_NODE_ALL = bytes.fromhex("0EF000")
EOJ_AIRCON = bytes.fromhex("013001")
EOJ_AIRCON_ALL = bytes.fromhex("013000")
EOJ_LIGHT = bytes.fromhex("029001")
EOJ_TEMP = bytes.fromhex("001101")
EOJ_METER = bytes.fromhex("028801")


def el_props(props):
    out = bytes([len(props)])
    for epc, edt in props:
        out += bytes([epc, len(edt)]) + edt
    return out


def el(tid, seoj, deoj, esv, props, props2=None, ehd=b"\x10\x81"):
    frame = ehd + struct.pack(">H", tid) + seoj + deoj + bytes([esv]) + el_props(props)
    if props2 is not None:
        frame += el_props(props2)
    return frame


NODE_LIST = bytes.fromhex("01013001")  # one instance: an air conditioner


def echonet_get_sna():
    cap = Capture()
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]))
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(1, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(2, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b""), (0x88, b""), (0xBB, b"")]), 1.0)
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(2, EOJ_AIRCON, EOJ_CONTROLLER, 0x52, [(0x80, b"\x30"), (0x88, b""), (0xBB, b"")]),
            0.02)
    return cap


def echonet_setc_sna():
    cap = Capture()
    cap.udp(CTRL, ECHONET, LIGHT, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_LIGHT, 0x61, [(0x80, b"\x30"), (0x97, b"\x0c\x00")]))
    cap.udp(LIGHT, ECHONET, CTRL, ECHONET,
            el(1, EOJ_LIGHT, EOJ_CONTROLLER, 0x51, [(0x80, b""), (0x97, b"\x0c\x00")]), 0.02)
    cap.udp(CTRL, ECHONET, LIGHT, ECHONET,
            el(2, EOJ_CONTROLLER, EOJ_LIGHT, 0x61, [(0x80, b"\x31")]), 1.0)
    cap.udp(LIGHT, ECHONET, CTRL, ECHONET,
            el(2, EOJ_LIGHT, EOJ_CONTROLLER, 0x71, [(0x80, b"")]), 0.02)
    return cap


def echonet_setget_sna():
    cap = Capture()
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_AIRCON, 0x6E, [(0x80, b"\x30"), (0xB0, b"\x42")],
               [(0x80, b""), (0xBB, b"")]))
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(1, EOJ_AIRCON, EOJ_CONTROLLER, 0x5E, [(0x80, b""), (0xB0, b"\x42")],
               [(0x80, b"\x30"), (0xBB, b"")]), 0.02)
    return cap


def echonet_multicast():
    cap = Capture()
    cap.udp(CTRL, ECHONET, EL_GROUP4, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_NODE, 0x62, [(0xD6, b""), (0x83, b"")]))
    cap.udp(AIRCON, ECHONET_ALT, CTRL, ECHONET,
            el(1, EOJ_NODE, EOJ_CONTROLLER, 0x72,
               [(0xD6, NODE_LIST), (0x83, b"\xfe" + bytes(16))]), 0.03)
    cap.udp(LIGHT, ECHONET_ALT, CTRL, ECHONET,
            el(1, EOJ_NODE, EOJ_CONTROLLER, 0x52, [(0xD6, bytes.fromhex("01029001")),
                                                  (0x83, b"")]), 0.04)
    # Nobody else answers; the clock runs past the deadline.
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(2, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]), 7.0)
    cap.udp(AIRCON, ECHONET_ALT, CTRL, ECHONET,
            el(2, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    return cap


def echonet_no_response():
    cap = Capture()
    cap.udp(CTRL, ECHONET, SENSOR, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_TEMP, 0x62, [(0xE0, b"")]))
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(2, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]), 5.0)
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(2, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(3, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]), 5.0)
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(3, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    return cap


def echonet_instance_zero():
    cap = Capture()
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_AIRCON_ALL, 0x62, [(0x80, b"")]))
    cap.udp(AIRCON, ECHONET_ALT, CTRL, ECHONET,
            el(1, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(2, EOJ_CONTROLLER, EOJ_NODE_ALL, 0x62, [(0x8A, b""), (0x9F, b"")]), 1.0)
    cap.udp(AIRCON, ECHONET_ALT, CTRL, ECHONET,
            el(2, EOJ_NODE, EOJ_CONTROLLER, 0x52, [(0x8A, b"\x00\x00\x77"), (0x9F, b"")]), 0.02)
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(3, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]), 6.0)
    cap.udp(AIRCON, ECHONET_ALT, CTRL, ECHONET,
            el(3, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    return cap


def echonet_ipv6():
    cap = Capture()
    cap.udp(CTRL6, ECHONET, EL_GROUP6, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_NODE, 0x62, [(0xD6, b"")]))
    cap.udp(NODE6A, ECHONET, CTRL6, ECHONET,
            el(1, EOJ_NODE, EOJ_CONTROLLER, 0x72, [(0xD6, NODE_LIST)]), 0.03)
    cap.udp(NODE6B, ECHONET_ALT, CTRL6, ECHONET,
            el(1, EOJ_NODE, EOJ_CONTROLLER, 0x52, [(0xD6, b"")]), 0.03)
    cap.udp(CTRL6, ECHONET, NODE6A, ECHONET,
            el(2, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b""), (0xB3, b"")]), 1.0)
    cap.udp(NODE6A, ECHONET, CTRL6, ECHONET,
            el(2, EOJ_AIRCON, EOJ_CONTROLLER, 0x52, [(0x80, b"\x30"), (0xB3, b"")]), 0.02)
    cap.udp(CTRL6, ECHONET, NODE6A, ECHONET,
            el(3, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]), 6.0)
    cap.udp(NODE6A, ECHONET, CTRL6, ECHONET,
            el(3, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    return cap


def echonet_malformed():
    cap = Capture()
    good = el(1, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")])
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET, b"\x11" + good[1:])            # EHD1 wrong
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET, good[:1] + b"\x83" + good[2:], 0.1)  # EHD2 unknown
    opc_big = bytearray(el(2, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]))
    opc_big[11] = 5                                                        # OPC 5, one property
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET, bytes(opc_big), 0.1)
    pdc_past = el(3, EOJ_CONTROLLER, EOJ_AIRCON, 0x61, [(0x80, b"\x30")])
    pdc_past = pdc_past[:13] + b"\x04" + pdc_past[14:]                     # PDC 4, 1 byte of EDT
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET, pdc_past, 0.1)
    trailing = el(4, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]) + b"\xde\xad"
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET, trailing, 0.1)
    # An SNA that is itself cut short: no record either.
    short_sna = el(6, EOJ_AIRCON, EOJ_CONTROLLER, 0x52, [(0x80, b"")])[:-1]
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET, short_sna, 0.1)
    # A good exchange after all that.
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(5, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b"")]), 0.5)
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(5, EOJ_AIRCON, EOJ_CONTROLLER, 0x72, [(0x80, b"\x30")]), 0.02)
    return cap


def echonet_tcp():
    cap = Capture()
    t = Tcp(cap, CTRL, 50000, AIRCON, ECHONET)
    t.handshake()
    t.c(el(1, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b""), (0xBB, b"")]), gap=0.1)
    t.s(el(1, EOJ_AIRCON, EOJ_CONTROLLER, 0x52, [(0x80, b"\x30"), (0xBB, b"")]), gap=0.02)
    two = (el(2, EOJ_CONTROLLER, EOJ_AIRCON, 0x61, [(0x80, b"\x31")])
           + el(3, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0xB0, b""), (0xB3, b"")]))
    t.c(two, gap=0.5)
    answers = (el(2, EOJ_AIRCON, EOJ_CONTROLLER, 0x71, [(0x80, b"")])
               + el(3, EOJ_AIRCON, EOJ_CONTROLLER, 0x52, [(0xB0, b"\x42"), (0xB3, b"")]))
    t.s(answers[:9], gap=0.02)
    t.s(answers[9:], gap=0.01)
    t.close(gap=0.2)
    return cap


def echonet_silence():
    cap = Capture()
    for i in range(7):  # t = 0, 10, ..., 60 s
        cap.udp(SENSOR, ECHONET, EL_GROUP4, ECHONET,
                el(0x100 + i, EOJ_TEMP, EOJ_CONTROLLER, 0x73, [(0xE0, struct.pack(">h", 215 + i))]),
                0.0005 if i == 0 else 10.0)
    for i in range(6):  # the controller keeps polling the meter: t = 70 .. 120 s
        cap.udp(CTRL, ECHONET, METER, ECHONET,
                el(0x10 + i, EOJ_CONTROLLER, EOJ_METER, 0x62, [(0xE7, b"")]), 10.0)
        cap.udp(METER, ECHONET, CTRL, ECHONET,
                el(0x10 + i, EOJ_METER, EOJ_CONTROLLER, 0x72, [(0xE7, struct.pack(">i", 300 + i))]),
                0.02)
    return cap


# ---- Omron FINS (UDP and TCP 9600) ---------------------------------------------

FINS = 9600
HMI_NODE = 10       # FINS node numbers: the HMI's and the PLCs'
PLC1_NODE = 20
PLC2_NODE = 21


def fins_frame(icf, dst, src, sid, mrc, src_code, body=b"", gct=2):
    """One FINS frame: dst and src are (network, node, unit)."""
    return bytes([icf, 0, gct, *dst, *src, sid, mrc, src_code]) + body


def fins_cmd(sid, mrc, src_code, body=b"", dst=(0, PLC1_NODE, 0), src=(0, HMI_NODE, 0), icf=0x80):
    return fins_frame(icf, dst, src, sid, mrc, src_code, body)


def fins_resp(sid, mrc, src_code, end, body=b"", dst=(0, HMI_NODE, 0), src=(0, PLC1_NODE, 0)):
    """end: the two end code bytes MRES SRES, flags included."""
    return fins_frame(0xC0, dst, src, sid, mrc, src_code, struct.pack(">H", end) + body)


def fins_read(area, word, bit, count):
    return struct.pack(">BHBH", area, word, bit, count)


def fins_tcp(command, body=b"", error=0):
    return b"FINS" + struct.pack(">III", 8 + len(body), command, error) + body


def fins_udp_errors():
    """An HMI polls a PLC over UDP 9600 -> 9600: every error family once,
    end codes with the relay-error and CPU Unit flags, a normal answer with
    a CPU flag (no record), an unanswered command (10) and one sent with
    ICF bit 0 "no response" (never 10)."""
    cap = Capture()

    def ask(sid, mrc, src, body=b"", gap=0.5, icf=0x80):
        cap.udp(HMI, FINS, PLC1, FINS, fins_cmd(sid, mrc, src, body, icf=icf), gap)

    def answer(sid, mrc, src, end, body=b""):
        cap.udp(PLC1, FINS, HMI, FINS, fins_resp(sid, mrc, src, end, body), 0.01)

    ask(1, 0x01, 0x01, fins_read(0x82, 100, 0, 2))         # D100, 2 words
    answer(1, 0x01, 0x01, 0x0000, b"\x00\x07\x00\x08")
    ask(2, 0x01, 0x01, fins_read(0x82, 40000, 0, 2))       # past the end of DM
    answer(2, 0x01, 0x01, 0x1103)
    ask(3, 0x01, 0x01, fins_read(0x7E, 0, 0, 1))           # no such area
    answer(3, 0x01, 0x01, 0x1101)
    ask(4, 0x01, 0x02, fins_read(0xB0, 10, 0, 1) + b"\x12\x34")  # write in RUN mode
    answer(4, 0x01, 0x02, 0x2201 | 0x0040)                 # + non-fatal CPU flag
    ask(5, 0x04, 0x01, b"\xff\xff\x04")                    # RUN
    answer(5, 0x04, 0x01, 0x2102 | 0x0080)                 # + fatal CPU flag
    ask(6, 0x0C, 0x01, b"\x00\x00")                        # access right held elsewhere
    answer(6, 0x0C, 0x01, 0x3001)
    ask(7, 0x01, 0x01, fins_read(0x30, 10, 3, 1))          # CIO 10.03, through a gateway
    answer(7, 0x01, 0x01, 0x0205 | 0x8000, b"\x01\x05")    # relay error at net 1 node 5
    ask(8, 0x06, 0x20, b"\x01")                             # cycle time read: not on this model
    answer(8, 0x06, 0x20, 0x0401)
    ask(9, 0x07, 0x01)                                     # clock read: normal, CPU flag
    answer(9, 0x07, 0x01, 0x0040, b"\x24\x01\x15\x09\x00\x00\x01")
    ask(10, 0x01, 0x02, fins_read(0x82, 5, 0, 1) + b"\x00\x01", icf=0x81)  # no response wanted
    ask(11, 0x01, 0x01, fins_read(0x82, 0, 0, 1))          # never answered: 10
    ask(12, 0x06, 0x01, b"", gap=7.0)
    answer(12, 0x06, 0x01, 0x0000, b"\x01" + bytes(25))
    return cap


def fins_udp_plc_initiated():
    """Both ports 9600, the PLC sends the first datagram: the engine's
    "server" side is the HMI, yet each frame is a command or a response by
    its ICF bit 6.  The HMI asks too, with the same SID as the PLC: pairing
    is per requester, never mixed up."""
    cap = Capture()
    cap.udp(PLC2, FINS, HMI, FINS, fins_cmd(0x30, 0x01, 0x02, fins_read(0x82, 200, 0, 1) + b"\x00\x2a",
                                            dst=(0, HMI_NODE, 0), src=(0, PLC2_NODE, 0)), 0.5)
    cap.udp(HMI, FINS, PLC2, FINS, fins_cmd(0x30, 0x01, 0x01, fins_read(0x82, 0, 0, 1),
                                            dst=(0, PLC2_NODE, 0)), 0.005)
    cap.udp(HMI, FINS, PLC2, FINS, fins_resp(0x30, 0x01, 0x02, 0x2101,
                                             dst=(0, PLC2_NODE, 0), src=(0, HMI_NODE, 0)), 0.01)
    cap.udp(PLC2, FINS, HMI, FINS, fins_resp(0x30, 0x01, 0x01, 0x1104,
                                             dst=(0, HMI_NODE, 0), src=(0, PLC2_NODE, 0)), 0.01)
    # An answer nobody asked for (its command is not in the capture).
    cap.udp(PLC2, FINS, HMI, FINS, fins_resp(0x44, 0x01, 0x01, 0x1103,
                                             dst=(0, HMI_NODE, 0), src=(0, PLC2_NODE, 0)), 0.5)
    return cap


def fins_tcp_errors():
    """FINS/TCP: node address exchange, then framed commands; one message
    split over two segments, two in one segment; error end codes; and a
    second connection the server refuses in its FINS/TCP header (0x21: the
    client node address is in use)."""
    cap = Capture()
    t = Tcp(cap, HMI, 50100, PLC1, FINS)
    t.handshake()
    t.c(fins_tcp(0, struct.pack(">I", 0)), gap=0.1)
    t.s(fins_tcp(1, struct.pack(">II", HMI_NODE, PLC1_NODE)), gap=0.01)
    t.c(fins_tcp(2, fins_cmd(1, 0x01, 0x01, fins_read(0x82, 100, 0, 1))), gap=0.2)
    t.s(fins_tcp(2, fins_resp(1, 0x01, 0x01, 0x0000, b"\x00\x01")), gap=0.01)
    t.c(fins_tcp(2, fins_cmd(2, 0x01, 0x01, fins_read(0xA3, 0, 0, 1))), gap=0.2)  # E3: no such bank
    split = fins_tcp(2, fins_resp(2, 0x01, 0x01, 0x1101))
    t.s(split[:7], gap=0.01)
    t.s(split[7:], gap=0.005)
    two = (fins_tcp(2, fins_cmd(3, 0x04, 0x02, b"\xff\xff"))
           + fins_tcp(2, fins_cmd(4, 0x01, 0x02, fins_read(0x82, 0, 0, 1) + b"\x00\x00")))
    t.c(two, gap=0.2)
    t.s(fins_tcp(2, fins_resp(3, 0x04, 0x02, 0x2203)) + fins_tcp(2, fins_resp(4, 0x01, 0x02, 0x2101)),
        gap=0.01)
    t.close(gap=0.3)
    t2 = Tcp(cap, HMI, 50101, PLC1, FINS, isn_c=7000, isn_s=9000)
    t2.handshake()
    t2.c(fins_tcp(0, struct.pack(">I", HMI_NODE)), gap=0.1)
    t2.s(fins_tcp(1, struct.pack(">II", HMI_NODE, PLC1_NODE), error=0x21), gap=0.01)
    t2.close(gap=0.1)
    return cap


# ---- the README's demo ---------------------------------------------------------


def demo():
    cap = Capture()
    p1 = Tcp(cap, HMI, 49170, PLC1, MODBUS)
    p2 = Tcp(cap, HMI, 49171, PLC2, MODBUS, isn_c=2000, isn_s=8000)
    p1.handshake()
    p2.handshake()
    # Second 0: normal polls.
    p1.c(mb_read(1, 1, 3, 0, 4), gap=0.1)
    p1.s(mb_read_resp(1, 1, 3, [20, 21, 22, 23]), gap=0.005)
    p2.c(mb_read(1, 1, 4, 0, 2), gap=0.01)
    p2.s(mb_read_resp(1, 1, 4, [500, 501]), gap=0.005)
    # ECHONET Lite: the controller searches the network.
    cap.udp(CTRL, ECHONET, EL_GROUP4, ECHONET,
            el(1, EOJ_CONTROLLER, EOJ_NODE, 0x62, [(0xD6, b"")]), 0.2)
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(1, EOJ_NODE, EOJ_CONTROLLER, 0x72, [(0xD6, NODE_LIST)]), 0.02)
    cap.udp(LIGHT, ECHONET_ALT, CTRL, ECHONET,
            el(1, EOJ_NODE, EOJ_CONTROLLER, 0x72, [(0xD6, bytes.fromhex("01029001"))]), 0.01)
    # Someone probes the PLCs.
    p1.c(mbap(2, 1, bytes([8, 0, 0, 0xA5, 0x37])), gap=0.7)          # Diagnostics
    p1.s(mb_exc(2, 1, 8, 0x01), gap=0.005)
    p1.c(mb_read(3, 1, 3, 40000, 10), gap=0.1)
    p1.s(mb_exc(3, 1, 3, 0x02), gap=0.005)
    p2.c(mb_write1(2, 1, 6, 10, 0xFFFF), gap=0.1)
    p2.s(mb_exc(2, 1, 6, 0x03), gap=0.005)
    # The controller reads and writes.
    cap.udp(CTRL, ECHONET, AIRCON, ECHONET,
            el(2, EOJ_CONTROLLER, EOJ_AIRCON, 0x62, [(0x80, b""), (0x88, b""), (0xBB, b"")]), 0.3)
    cap.udp(AIRCON, ECHONET, CTRL, ECHONET,
            el(2, EOJ_AIRCON, EOJ_CONTROLLER, 0x52, [(0x80, b"\x30"), (0x88, b""), (0xBB, b"")]),
            0.02)
    cap.udp(CTRL, ECHONET, LIGHT, ECHONET,
            el(3, EOJ_CONTROLLER, EOJ_LIGHT, 0x61, [(0x80, b"\x30"), (0x97, b"\x0c\x00")]), 0.1)
    cap.udp(LIGHT, ECHONET_ALT, CTRL, ECHONET,
            el(3, EOJ_LIGHT, EOJ_CONTROLLER, 0x51, [(0x80, b""), (0x97, b"\x0c\x00")]), 0.02)
    # Second 2: polling goes on; PLC2 fails, then stops answering.
    p1.c(mb_read(4, 1, 3, 0, 4), gap=0.6)
    p1.s(mb_read_resp(4, 1, 3, [20, 21, 22, 23]), gap=0.005)
    p2.c(mb_read(3, 1, 4, 0, 2), gap=0.01)
    p2.s(mb_exc(3, 1, 4, 0x04), gap=0.005)
    p2.c(mb_read(4, 1, 4, 0, 2), gap=1.0)                               # never answered
    cap.udp(CTRL, ECHONET, SENSOR, ECHONET,
            el(4, EOJ_CONTROLLER, EOJ_TEMP, 0x62, [(0xE0, b"")]), 0.2)  # never answered
    p1.c(mb_read(5, 1, 3, 0, 4), gap=0.8)
    p1.s(mb_read_resp(5, 1, 3, [20, 21, 22, 23]), gap=0.005)
    # Deadlines (5 s) pass in capture time.
    p1.close(gap=6.0)
    p2.segment("c", "RA", gap=0.01)
    return cap



# ---- BACnet/IP (UDP 47808) -----------------------------------------------------
BACNET = 47808
BBMD = "192.0.2.31"
BROADCAST = "192.0.2.255"


def bvlc(npdu, function=0x0A, extra=b""):
    return struct.pack(">BBH", 0x81, function, 4 + len(extra) + len(npdu)) + extra + npdu


def npdu(apdu, dnet=None, dadr=b"", snet=None, sadr=b"", reply=False):
    control = (0x20 if dnet is not None else 0) | (0x08 if snet is not None else 0) | (0x04 if reply else 0)
    out = bytes([1, control])
    if dnet is not None:
        out += struct.pack(">HB", dnet, len(dadr)) + dadr
    if snet is not None:
        out += struct.pack(">HB", snet, len(sadr)) + sadr
    if dnet is not None:
        out += b"\xff"   # hop count
    return out + apdu


def bac_objid(tag_byte, otype, instance):
    return bytes([tag_byte]) + struct.pack(">I", otype << 22 | instance)


def bac_read_property(otype, instance, prop):
    return bac_objid(0x0C, otype, instance) + bytes([0x19, prop])


def bac_confirmed(invoke, service, params, seg=None):
    """seg: (seq, more) for a segment of a segmented request."""
    if seg is None:
        return bytes([0x02, 0x05, invoke, service]) + params
    seq, more = seg
    return bytes([0x0A | (0x04 if more else 0), 0x05, invoke, seq, 4, service]) + params


def bac_error(invoke, service, cls, code):
    return bytes([0x50, invoke, service, 0x91, cls, 0x91, code])


def bac_i_am(instance):
    return bytes([0x10, 0x00]) + bac_objid(0xC4, 8, instance) + bytes([0x22, 0x01, 0xE0, 0x91, 0x03, 0x21, 0x05])


def bacnet_routed_segmented():
    """A workstation (HMI) and BACnet devices: two MS/TP devices behind a
    router (GATEWAY, network 5, MACs 0A and 0B) asked with the same invoke id
    at once and answering in reverse order, an I-Am relayed by the router
    (0A is device 3001) and one forwarded by a BBMD (PLC2 is device 4001), a
    segmented request (three segments) refused, a segmented answer, a
    client's Abort of a segmented answer, and a device that never answers
    one request sent three times (one 10)."""
    cap = Capture()
    ws, dev, dev2, router = HMI, PLC1, PLC2, GATEWAY

    def send(src, dst, payload, gap=0.2):
        cap.udp(src, BACNET, dst, BACNET, payload, gap)

    # I-Am of device 3001 behind the router, and of 4001 through a BBMD.
    send(router, BROADCAST, bvlc(npdu(bac_i_am(3001), snet=5, sadr=b"\x0a"), 0x0B))
    send(BBMD, BROADCAST, bvlc(npdu(bac_i_am(4001)), 0x04, bytes(map(int, dev2.split("."))) + struct.pack(">H", BACNET)))
    # The same invoke id to two routed devices; answers in reverse order.
    send(ws, router, bvlc(npdu(bac_confirmed(1, 12, bac_read_property(0, 3, 85)), dnet=5, dadr=b"\x0a", reply=True)))
    send(ws, router, bvlc(npdu(bac_confirmed(1, 15, bac_read_property(1, 2, 85) + b"\x3e\x44\x41\xa0\x00\x00\x3f"),
                              dnet=5, dadr=b"\x0b", reply=True)), 0.01)
    send(router, ws, bvlc(npdu(bytes([0x60, 1, 0x07]), snet=5, sadr=b"\x0b")), 0.05)   # too-many-arguments
    send(router, ws, bvlc(npdu(bac_error(1, 12, 1, 31), snet=5, sadr=b"\x0a")), 0.01)  # unknown-object
    # A segmented writeProperty (an octet string of 300 bytes), refused.
    value = b"\x3e\x65\xfe\x01\x2c" + bytes(range(256)) + bytes(44) + b"\x3f"
    params = bac_objid(0x0C, 40, 1) + bytes([0x19, 85]) + value
    chunks = [params[i:i + 120] for i in range(0, len(params), 120)]
    for seq, chunk in enumerate(chunks):
        send(ws, dev, bvlc(npdu(bac_confirmed(2, 15, chunk, (seq, seq < len(chunks) - 1)), reply=True)), 0.01)
        if seq == 0:
            send(ws, dev, bvlc(npdu(bac_confirmed(2, 15, chunk, (0, True)), reply=True)), 0.01)  # sent twice
        send(dev, ws, bvlc(npdu(bytes([0x41, 2, seq, 4]))), 0.01)   # SegmentACK from the server
    send(dev, ws, bvlc(npdu(bac_error(2, 15, 3, 20))), 0.02)          # resources / no-space-to-write-property
    # A segmented ComplexACK (object-list in two segments): no error.
    send(ws, dev, bvlc(npdu(bac_confirmed(3, 12, bac_read_property(8, 1001, 76)), reply=True)))
    objs = b"".join(bac_objid(0xC4, 0, i) for i in range(60))
    ack = bac_objid(0x0C, 8, 1001) + bytes([0x19, 76, 0x3e]) + objs + b"\x3f"
    send(dev, ws, bvlc(npdu(bytes([0x3C, 3, 0, 2, 12]) + ack[:200])), 0.01)
    send(dev, ws, bvlc(npdu(bytes([0x38, 3, 1, 2, 12]) + ack[200:])), 0.01)
    send(ws, dev, bvlc(npdu(bytes([0x40, 3, 1, 2]))), 0.01)           # SegmentACK from the client
    # The client aborts a segmented answer it cannot take (buffer-overflow).
    send(ws, dev, bvlc(npdu(bac_confirmed(4, 12, bac_read_property(8, 1001, 76)), reply=True)))
    send(dev, ws, bvlc(npdu(bytes([0x3C, 4, 0, 2, 12]) + ack[:200])), 0.01)
    send(ws, dev, bvlc(npdu(bytes([0x70, 4, 0x01]))), 0.01)
    # Device 4001: out of resources, then silent: one request sent three times.
    send(ws, dev2, bvlc(npdu(bac_confirmed(5, 12, bac_read_property(2, 1, 85)), reply=True)))
    send(dev2, ws, bvlc(npdu(bytes([0x71, 5, 0x09]))), 0.01)
    for _ in range(3):
        send(ws, dev2, bvlc(npdu(bac_confirmed(6, 12, bac_read_property(2, 1, 85)), reply=True)), 3.0)
    send(ws, BROADCAST, bvlc(npdu(bytes([0x10, 0x08])), 0x0B), 6.0)   # a Who-Is, 12 s on
    return cap


CASES = [
    ("modbus-exceptions", modbus_exceptions),
    ("modbus-pipelined", modbus_pipelined),
    ("modbus-split-adu", modbus_split_adu),
    ("modbus-retransmission", modbus_retransmission),
    ("modbus-midstream", modbus_midstream),
    ("modbus-bad-framing", modbus_bad_framing),
    ("modbus-syn-flood-evict", modbus_syn_flood_evict),
    ("modbus-evicted-pending", modbus_evicted_pending),
    ("modbus-udp", modbus_udp),
    ("modbus-port-5020", modbus_port_5020),
    ("modbus-vlan-qinq", lambda: modbus_simple("qinq", port=49160, exc_code=0x03)),
    ("modbus-sll", lambda: modbus_simple("sll", port=49161, exc_code=0x04, fc=4)),
    ("modbus-ipv6", lambda: modbus_simple("ether", HMI6, PLC6, 49162, 0x02)),
    ("modbus-ipv4-fragments", modbus_ipv4_fragments),
    ("modbus-silence", modbus_silence),
    ("echonet-get-sna", echonet_get_sna),
    ("echonet-setc-sna", echonet_setc_sna),
    ("echonet-setget-sna", echonet_setget_sna),
    ("echonet-multicast", echonet_multicast),
    ("echonet-no-response", echonet_no_response),
    ("echonet-instance-zero", echonet_instance_zero),
    ("echonet-ipv6", echonet_ipv6),
    ("echonet-malformed", echonet_malformed),
    ("echonet-tcp", echonet_tcp),
    ("echonet-silence", echonet_silence),
    ("fins-udp-errors", fins_udp_errors),
    ("fins-udp-plc-initiated", fins_udp_plc_initiated),
    ("fins-tcp-errors", fins_tcp_errors),
    ("bacnet-routed-segmented", bacnet_routed_segmented),
]


def main():
    only = set(sys.argv[1:])
    for name, make in CASES:
        if only and name not in only:
            continue
        path = os.path.join(OUT_DIR, name + ".pcap")
        cap = make()
        cap.write(path)
        print("%-28s %3d packets" % (os.path.relpath(path, TOP), len(cap.pkts)))
    if not only or "demo" in only:
        cap = demo()
        path = os.path.join(TOP, "pcaps", "demo.pcap")
        cap.write(path)
        print("%-28s %3d packets" % (os.path.relpath(path, TOP), len(cap.pkts)))


if __name__ == "__main__":
    main()
