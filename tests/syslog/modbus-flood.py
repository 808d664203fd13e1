#!/usr/bin/python3
"""Write a pcap of N Modbus/UDP requests, each answered by an exception
(02 Illegal Data Address -> X.1367 31), to standard output: N records.

  modbus-flood.py N [SECONDS]

With SECONDS the packets are written over that many seconds (the sensor
reads them from a pipe with -r -, so it runs that long); without, at once.
Plain struct, no scapy: fast, and nothing to install."""
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, payload, ip_id):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ip_id & 0xFFFF, 0, 64, 17, 0,
                     bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + udp


def main():
    n = int(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    out = sys.stdout.buffer
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    hmi, plc = [192, 0, 2, 10], [192, 0, 2, 20]
    t0 = 1705309200.0
    start = time.monotonic()
    chunk = max(1, n // 200)
    for i in range(n):
        tid = i & 0xFFFF
        cport = 40000 + i // 60000
        req = struct.pack("!HHHB", tid, 0, 6, 1) + b"\x03\x00\x64\x00\x0a"
        rsp = struct.pack("!HHHB", tid, 0, 3, 1) + b"\x83\x02"
        for k, (pkt, ts) in enumerate(((frame(hmi, plc, cport, 502, req, 2 * i), t0 + i * 0.001),
                                       (frame(plc, hmi, 502, cport, rsp, 2 * i + 1), t0 + i * 0.001 + 0.0002))):
            sec = int(ts)
            usec = int(round((ts - sec) * 1e6))
            out.write(struct.pack("<IIII", sec, usec, len(pkt), len(pkt)) + pkt)
        if seconds and i % chunk == chunk - 1:
            out.flush()
            delay = start + seconds * (i + 1) / n - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    out.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        sys.exit(0)
