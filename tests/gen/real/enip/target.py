#!/usr/bin/python3
"""A small EtherNet/IP target (TCP 44818) written for the capture generator:
what answers the real npm `ethernet-ip` client (enip-npm.sh).  It is the
half of the conversation written here, so it answers each request the way
the CIP specification says a ControlLogix does, on purpose with errors:

  RegisterSession          a session handle
  SendRRData, wrong session  encapsulation status 0x0064 (Invalid session handle)
  Unconnected Send (0x52, Connection Manager) to backplane slot 0, opened up:
    Get_Attributes_All Identity (class 1, instance 1)   the identity of a 1756-L83E
    Get_Attribute_Single Wall Clock (class 0x8B)        0x14 Attribute not supported
    Set_Attribute_Single Wall Clock                     0x0F Privilege violation
    Read Tag (0x4C) "Motor"                             DINT 1234
    Read Tag "Remote"                                   0xD2 reply, 0x01 Connection
                                                        failure, extended 0x0204
                                                        (Unconnected request timed out)
    Read Tag "Slow"                                     no answer at all
    Read Tag of any other name                          0x04 Path segment error
    Write Tag (0x4D) "ReadOnly"                         0x0F Privilege violation
    Multiple Service Packet (0x0A)                      each Read Tag as above;
                                                        0x1E when one failed
  Unconnected Send to another slot                      0xD2, 0x01, extended 0x0311
                                                        (Port not available)

Usage: target.py ADDRESS
"""
import socket
import struct
import sys
import threading

SESSION = 0x6B1A0001
IDENTITY = struct.pack("<HHHBBHI", 1, 0x0E, 0x00A6, 33, 11, 0x3060, 0x00C0FFEE) + bytes([11]) + b"1756-L83E/B"


def log(*a):
    print(*a, flush=True)


def symbol(path):
    """The ANSI extended symbol of a path (0x91 len name [pad]), or None."""
    if len(path) >= 2 and path[0] == 0x91:
        return path[2:2 + path[1]].decode("ascii", "replace")
    return None


def logical(path):
    """(class, instance, attribute) of an 8-bit logical path."""
    out = {}
    for i in range(0, len(path) - 1, 2):
        out[path[i] & 0xFC] = path[i + 1]
    return out.get(0x20), out.get(0x24), out.get(0x30)


def reply(service, status=0, ext=(), data=b""):
    return bytes([service | 0x80, 0, status, len(ext)]) + b"".join(struct.pack("<H", e) for e in ext) + data


def answer_service(msg):
    """The reply to one embedded Message Router request, or None (no answer)."""
    service, words = msg[0], msg[1]
    path, data = msg[2:2 + 2 * words], msg[2 + 2 * words:]
    cls, inst, attr = logical(path)
    name = symbol(path)
    if service == 0x01 and cls == 0x01:
        return reply(service, data=IDENTITY)
    if service == 0x0E and cls == 0x8B:
        return reply(service, 0x14)
    if service == 0x10 and cls == 0x8B:
        return reply(service, 0x0F)
    if service == 0x4C:
        if name == "Motor":
            return reply(service, data=struct.pack("<Hi", 0xC4, 1234))
        if name == "Remote":
            return bytes([0xD2, 0, 0x01, 1]) + struct.pack("<H", 0x0204)
        if name == "Slow":
            return None
        return reply(service, 0x04, (0x0000,))
    if service == 0x4D:
        return reply(service, 0x0F if name == "ReadOnly" else 0)
    if service == 0x0A:
        count = struct.unpack_from("<H", data)[0]
        offs = list(struct.unpack_from("<%dH" % count, data, 2)) + [len(data)]
        replies = [answer_service(data[offs[i]:offs[i + 1]]) or reply(data[offs[i]], 0x02)
                   for i in range(count)]
        body = struct.pack("<H", count)
        at = 2 + 2 * count
        for r in replies:
            body += struct.pack("<H", at)
            at += len(r)
        failed = any(r[2] for r in replies)
        return reply(service, 0x1E if failed else 0, data=body + b"".join(replies))
    return reply(service, 0x08)


def answer_cip(msg):
    """Unconnected Send opened up; anything else answered directly."""
    service, words = msg[0], msg[1]
    path, data = msg[2:2 + 2 * words], msg[2 + 2 * words:]
    if service == 0x52 and logical(path)[0] == 0x06:
        size = struct.unpack_from("<H", data, 2)[0]
        inner = data[4:4 + size]
        rest = data[4 + size + (size & 1):]
        route = rest[2:2 + 2 * rest[0]]
        if route != b"\x01\x00":
            return bytes([0xD2, 0, 0x01, 1]) + struct.pack("<H", 0x0311)
        return answer_service(inner)
    return answer_service(msg)


def encap(cmd, session, status, ctx, body=b""):
    return struct.pack("<HHII8sI", cmd, len(body), session, status, ctx, 0) + body


def serve(conn, peer):
    buf = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 24:
            cmd, length, session, status, ctx, opts = struct.unpack_from("<HHII8sI", buf)
            if len(buf) < 24 + length:
                break
            body, buf = buf[24:24 + length], buf[24 + length:]
            if cmd == 0x65:
                log(peer, "RegisterSession")
                conn.sendall(encap(0x65, SESSION, 0, ctx, body))
            elif cmd == 0x66:
                log(peer, "UnRegisterSession")
                return
            elif cmd == 0x6F:
                if session != SESSION:
                    log(peer, "SendRRData with session 0x%08X: refused" % session)
                    conn.sendall(encap(0x6F, session, 0x64, ctx))
                    continue
                count = struct.unpack_from("<H", body, 6)[0]
                off, cip = 8, None
                for _ in range(count):
                    typ, ln = struct.unpack_from("<HH", body, off)
                    if typ == 0xB2:
                        cip = body[off + 4:off + 4 + ln]
                    off += 4 + ln
                r = answer_cip(cip) if cip else None
                log(peer, "SendRRData", cip.hex() if cip else None, "->", r.hex() if r else "no answer")
                if r is not None:
                    items = struct.pack("<IHHHHHH", 0, 0, 2, 0, 0, 0xB2, len(r)) + r
                    conn.sendall(encap(0x6F, SESSION, 0, ctx, items))
            else:
                log(peer, "command 0x%04X: invalid" % cmd)
                conn.sendall(encap(cmd, session, 0x01, ctx))
    conn.close()


def main():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((sys.argv[1], 44818))
    srv.listen(4)
    log("listening on", sys.argv[1], 44818)
    while True:
        conn, peer = srv.accept()
        threading.Thread(target=serve, args=(conn, peer), daemon=True).start()


if __name__ == "__main__":
    main()
