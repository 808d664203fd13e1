#!/usr/bin/python3
"""Modbus/TCP requester that sends one transaction id twice before the answer.

Usage: modbus_same_tid.py SERVER_IP

Talks to modbus_server.py (pymodbus) over raw sockets with hand-built MBAP
frames, as some real clients do: two ADUs with ONE transaction id in ONE
TCP segment, the server answering each in turn.

  1  tid 0x0031: Read Holding Registers 100 x1 (-> exception 02),
                 then Read Input Registers 0 x2 (answered)       -- the issue
  2  tid 0x0032: Read Input Registers 0 x2 (answered),
                 then Read Holding Registers 100 x1 (-> 02)       -- reversed
  3  tid 0x0033: Read Holding Registers 100 x1 (-> 02),
                 then Read Holding Registers 0 x1 (answered)      -- one function
  4  tid 0x0034, 6.5 s later: one read (answered), so that the capture clock
     passes every deadline above (5 s): a request left unpaired would show
     as "10 No Response".
Each step logs what it sent and got (stderr).
"""
import socket
import struct
import sys
import time

from mbap import adu, log, read_adus


def read_hr(addr, qty):
    return struct.pack(">BHH", 0x03, addr, qty)


def read_ir(addr, qty):
    return struct.pack(">BHH", 0x04, addr, qty)


def pair_in_one_segment(sock, what, tid, first, second):
    log(f"{what}: tid 0x{tid:04x} twice in one segment")
    sock.sendall(adu(tid, first) + adu(tid, second))
    got = read_adus(sock, 2, 2.0)
    if len(got) != 2:
        log(f"  expected 2 answers, got {len(got)}")
    time.sleep(0.3)


def main():
    host = sys.argv[1]
    s = socket.create_connection((host, 502), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pair_in_one_segment(s, "1 fc3 (-> 02) then fc4", 0x0031, read_hr(100, 1), read_ir(0, 2))
    pair_in_one_segment(s, "2 fc4 then fc3 (-> 02)", 0x0032, read_ir(0, 2), read_hr(100, 1))
    pair_in_one_segment(s, "3 fc3 (-> 02) then fc3", 0x0033, read_hr(100, 1), read_hr(0, 1))
    time.sleep(6.5)
    log("4: one more read, past every deadline")
    s.send(adu(0x0034, read_hr(1, 1)))
    read_adus(s, 1, 2.0)
    s.close()


if __name__ == "__main__":
    main()
