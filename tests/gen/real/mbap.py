"""Raw MBAP helpers shared by the hand-built requesters of these captures
(modbus_client.py, modbus_same_tid.py): frames built and read by hand, as
some real clients do, where pymodbus' client would not send them."""
import socket
import struct
import sys
import time

UNIT = 1


def log(*a):
    print(time.strftime("%H:%M:%S"), "client", *a, file=sys.stderr, flush=True)


def adu(tid, pdu, unit=UNIT):
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def read_adus(sock, n, timeout):
    """Read up to n ADUs (stops at timeout or EOF)."""
    sock.settimeout(timeout)
    buf = b""
    out = []
    end = time.time() + timeout
    while len(out) < n and time.time() < end:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            log("  connection closed by server")
            break
        buf += chunk
        while len(buf) >= 7:
            (length,) = struct.unpack(">H", buf[4:6])
            if len(buf) < 6 + length:
                break
            out.append(buf[: 6 + length])
            buf = buf[6 + length :]
    for a in out:
        tid, _, _, unit, fc = struct.unpack(">HHHBB", a[:8])
        log(f"  resp tid=0x{tid:04x} unit={unit} fc=0x{fc:02x} {a[8:].hex()}")
    return out
