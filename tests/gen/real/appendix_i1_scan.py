#!/usr/bin/python3
"""Function-code scanner for the ITU-T X.1367 Appendix I.1 capture.

Usage: appendix_i1_scan.py SERVER_IP [TAIL_S]

X.1367 Appendix I.1: "an attacker sends random commands to an edge device; the device
answers with its proprietary bad-request code". Here the edge device is a real pymodbus
server (modbus_server.py) and the attacker is this script: plain sockets, hand-built
MBAP frames, no Modbus library.

On ONE TCP connection, unit 1, transaction ids 1..N in order, one request at a time
(waits for the answer, at most 1 s, before the next one, 0.1 s pause in between):

  tid 1          read holding registers 0 x2 (fc 3)     -- normal traffic
  tid 2..11      first 10 function codes of the sweep
  tid 12         read input registers 0 x2 (fc 4)       -- normal traffic
  tid 13..22     last 10 function codes of the sweep
  tid 23         read holding registers 0 x2 (fc 3)     -- normal traffic
  only if some request got no answer within 1 s: TAIL_S s (default 6.5) of idle
  time, then
  tid 24         read holding registers 0 x2 (fc 3)     -- keeps the capture clock
                 running past the 5 s No-Response deadline of the silent request
                 (not sent when everything was answered: a 6.5 s pause after a
                 steady 0.1 s cadence would only look like a failed device)

The sweep: 20 function codes drawn with random.Random(1367).sample(range(1, 128), 20),
in the drawn order. Each sweep request carries the blind 4-byte body 00 00 00 01
(address 0, quantity 1), the way scanners probe which function codes a device
implements; fc 15 gets 00 00 00 01 00 (byte count 0), see PROBE_BODY.
Logs every request and answer to stderr, and a SUMMARY table at the end.
"""
import random
import socket
import struct
import sys
import time

UNIT = 1
SEED = 1367
SWEEP_LEN = 20
# The scanner's blind probe body: address 0, quantity 1.
GENERIC_BODY = struct.pack(">HH", 0, 1)
# pymodbus 3.0.0 does not answer a request its decoder cannot unpack: it drops the whole
# connection ("unpack requires a buffer of N bytes"). Of the drawn codes only fc 15
# (Write Multiple Coils) needs more than 4 bytes, so the scanner knows that one format
# and adds a byte count of 0 and no data: a write of zero coils, refused with 03 and
# writing nothing (a side-effect-free "is fc 15 implemented?" probe). fc 8
# (Diagnostics) needs exactly 4 bytes, so no single blind body would do for both.
PROBE_BODY = {15: struct.pack(">HHB", 0, 1, 0)}

EXC_NAMES = {1: "Illegal Function", 2: "Illegal Data Address", 3: "Illegal Data Value",
             4: "Server Device Failure"}


def log(*a):
    print(time.strftime("%H:%M:%S"), "scan", *a, file=sys.stderr, flush=True)


def sweep_codes():
    return random.Random(SEED).sample(range(1, 128), SWEEP_LEN)


def adu(tid, pdu, unit=UNIT):
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


class Conn:
    def __init__(self, host):
        self.s = socket.create_connection((host, 502), timeout=3)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.closed = False

    def recv_adu(self, timeout):
        """One whole ADU, or None after timeout / EOF."""
        end = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 7:
                (length,) = struct.unpack(">H", self.buf[4:6])
                if len(self.buf) >= 6 + length:
                    a, self.buf = self.buf[: 6 + length], self.buf[6 + length :]
                    return a
            left = end - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.s.settimeout(left)
            try:
                chunk = self.s.recv(4096)
            except socket.timeout:
                return None
            except OSError as exc:
                log("  recv error", repr(exc))
                self.closed = True
                return None
            if not chunk:
                log("  connection closed by server")
                self.closed = True
                return None
            self.buf += chunk

    def transact(self, tid, pdu, what):
        """Send one request, wait up to 1 s for its answer; returns a result row."""
        fc = pdu[0]
        self.s.send(adu(tid, pdu))
        a = self.recv_adu(1.0)
        if a is None:
            log(f"tid={tid:3d} fc={fc:3d} (0x{fc:02x}) {what}: NO ANSWER")
            return (tid, fc, None, None)
        rtid, _, _, unit, rfc = struct.unpack(">HHHBB", a[:8])
        body = a[8:]
        if rfc & 0x80:
            code = body[0] if body else None
            log(f"tid={tid:3d} fc={fc:3d} (0x{fc:02x}) {what}: exception {code:02d} "
                f"{EXC_NAMES.get(code, '?')} (resp tid={rtid} fc=0x{rfc:02x})")
            return (tid, fc, "exc", code)
        log(f"tid={tid:3d} fc={fc:3d} (0x{fc:02x}) {what}: normal answer {body.hex()} (resp tid={rtid})")
        return (tid, fc, "ok", body.hex())


def main():
    host = sys.argv[1]
    tail = float(sys.argv[2]) if len(sys.argv) > 2 else 6.5
    codes = sweep_codes()
    log("sweep (random.Random(1367), drawn order):", codes)
    plan = [(struct.pack(">BHH", 3, 0, 2), "valid read HR 0 x2")]
    plan += [(bytes([fc]) + PROBE_BODY.get(fc, GENERIC_BODY), "scan") for fc in codes[:10]]
    plan += [(struct.pack(">BHH", 4, 0, 2), "valid read IR 0 x2")]
    plan += [(bytes([fc]) + PROBE_BODY.get(fc, GENERIC_BODY), "scan") for fc in codes[10:]]
    plan += [(struct.pack(">BHH", 3, 0, 2), "valid read HR 0 x2")]

    c = Conn(host)
    rows = []
    for tid, (pdu, what) in enumerate(plan, start=1):
        if c.closed:
            log(f"tid={tid} not sent: connection closed")
            break
        rows.append(c.transact(tid, pdu, what))
        time.sleep(0.1)
    unanswered = [r for r in rows if r[2] is None]
    log(f"{len(rows)} requests, {len(unanswered)} unanswered:", [(r[0], r[1]) for r in unanswered])
    if unanswered and not c.closed:
        log(f"idle {tail} s, then one last valid read (capture clock past any deadline)")
        time.sleep(tail)
        rows.append(c.transact(len(plan) + 1, struct.pack(">BHH", 3, 0, 2), "final valid read HR 0 x2"))
    c.s.close()
    print("SUMMARY tid fc result", file=sys.stderr)
    for r in rows:
        print("SUMMARY", *r, file=sys.stderr)


if __name__ == "__main__":
    main()
