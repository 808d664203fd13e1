#!/usr/bin/python3
"""Modbus/TCP requester for the pymodbus capture (talks to modbus_server.py).

Usage: modbus_client.py SERVER_IP KEEPALIVE_ROUNDS

Phase A  pymodbus sync client (one connection): successful reads/writes and the
         exceptions 02, 03, 03, 01 (user function 0x41 the server lacks), 04.
Phase B  raw socket, hand-built MBAP frames, to the same pymodbus server:
         six requests pipelined in ONE TCP segment, then three requests pipelined
         in three segments, then one request for unit 7 (not served: pymodbus
         drops it silently -> unanswered).
Phase C1 raw socket: a request split after its 7-byte MBAP header (pymodbus waits
         for the rest and answers).
Phase C2 raw socket: a request split after 9 bytes (pymodbus discards the partial
         frame, chokes on the tail and closes the connection -> unanswered).
Phase D  pymodbus sync client, new connection: one read every 5 s,
         KEEPALIVE_ROUNDS times (keeps the capture clock running).
Each phase logs what it sent and got (stderr).
"""
import socket
import struct
import sys
import time

from pymodbus.client import ModbusTcpClient
from pymodbus.pdu import ModbusRequest, ModbusResponse

from mbap import UNIT, adu, log, read_adus

class UserFunctionResponse(ModbusResponse):
    """Response to user-defined function 0x41 (never sent by this server)."""

    function_code = 0x41
    _rtu_frame_size = 5

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.value = 0

    def encode(self):
        return struct.pack(">H", self.value)

    def decode(self, data):
        (self.value,) = struct.unpack(">H", data[:2])


class UserFunctionRequest(ModbusRequest):
    """User-defined function code 0x41 with a 2-byte argument."""

    function_code = 0x41
    _rtu_frame_size = 6

    def __init__(self, arg=0, **kwargs):
        super().__init__(**kwargs)
        self.arg = arg

    def encode(self):
        return struct.pack(">H", self.arg)

    def decode(self, data):
        (self.arg,) = struct.unpack(">H", data[:2])

    def get_response_pdu_size(self):
        return 3


def show(what, rr):
    if rr is None:
        log(what, "-> None")
    elif rr.isError():
        log(what, "->", rr)
    else:
        regs = getattr(rr, "registers", None)
        bits = getattr(rr, "bits", None)
        log(what, "->", rr, regs if regs is not None else (bits[:8] if bits else ""))


def phase_a(host):
    c = ModbusTcpClient(host, port=502, timeout=2, retries=0)
    c.register(UserFunctionResponse)
    c.connect()
    show("read HR 0 x10", c.read_holding_registers(0, 10, slave=UNIT))
    time.sleep(0.2)
    show("read coils 0 x16", c.read_coils(0, 16, slave=UNIT))
    time.sleep(0.2)
    show("write HR 5=1234", c.write_register(5, 1234, slave=UNIT))
    time.sleep(0.2)
    show("read HR 95 x10 (beyond 100 -> 02)", c.read_holding_registers(95, 10, slave=UNIT))
    time.sleep(0.2)
    show("read HR 0 x0 (-> 03)", c.read_holding_registers(0, 0, slave=UNIT))
    time.sleep(0.2)
    show("read IR 0 x4", c.read_input_registers(0, 4, slave=UNIT))
    time.sleep(0.2)
    show("read HR 0 x126 (-> 03)", c.read_holding_registers(0, 126, slave=UNIT))
    time.sleep(0.2)
    req = UserFunctionRequest(0x1234, unit=UNIT)  # pdu classes take unit=, not slave=
    try:
        show("user fc 0x41 (-> 01)", c.execute(req))
    except Exception as exc:  # noqa: BLE001
        log("user fc 0x41 raised", repr(exc))
    time.sleep(0.2)
    show("read HR 90 x2 (failed board -> 04)", c.read_holding_registers(90, 2, slave=UNIT))
    time.sleep(0.2)
    show("read HR 10 x5", c.read_holding_registers(10, 5, slave=UNIT))
    c.close()


def raw_conn(host):
    s = socket.create_connection((host, 502), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def phase_b(host):
    s = raw_conn(host)
    burst = [
        adu(0x1001, struct.pack(">BHH", 0x03, 0, 5)),        # ok
        adu(0x1002, struct.pack(">BHH", 0x03, 100, 1)),      # 02
        adu(0x1003, struct.pack(">BH", 0x41, 0xBEEF)),       # 01
        adu(0x1004, struct.pack(">BHH", 0x01, 0, 2001)),     # 03 (coils > 2000)
        adu(0x1005, struct.pack(">BHH", 0x03, 92, 1)),       # 04
        adu(0x1006, struct.pack(">BHH", 0x04, 10, 2)),       # ok
    ]
    log("B: 6 pipelined requests in one segment")
    s.sendall(b"".join(burst))
    read_adus(s, 6, 2.0)
    time.sleep(0.3)
    log("B: 3 pipelined requests in three segments")
    for a in (
        adu(0x1011, struct.pack(">BHH", 0x06, 7, 0x0BEE)),   # ok
        adu(0x1012, struct.pack(">BHH", 0x03, 7, 1)),        # ok
        adu(0x1013, struct.pack(">BHH", 0x03, 0, 126)),      # 03
    ):
        s.send(a)  # TCP_NODELAY: one segment each, sent before any answer is read
    read_adus(s, 3, 2.0)
    time.sleep(0.3)
    log("B: request for unit 7 (not served)")
    s.send(adu(0x1020, struct.pack(">BHH", 0x03, 0, 1), unit=7))
    read_adus(s, 1, 1.5)
    log("B: one more request for unit 1 on the same connection")
    s.send(adu(0x1021, struct.pack(">BHH", 0x03, 1, 1)))
    read_adus(s, 1, 2.0)
    s.close()


def phase_c(host):
    req = adu(0x2001, struct.pack(">BHH", 0x03, 0, 3))
    log("C1: request split after the 7-byte MBAP header")
    s = raw_conn(host)
    s.send(req[:7])
    time.sleep(0.3)
    s.send(req[7:])
    read_adus(s, 1, 2.0)
    s.close()
    time.sleep(0.5)
    req = adu(0x2002, struct.pack(">BHH", 0x03, 0, 3))
    log("C2: request split after 9 bytes")
    s = raw_conn(host)
    s.send(req[:9])
    time.sleep(0.3)
    s.send(req[9:])
    got = read_adus(s, 1, 3.0)
    log("C2: answered" if got else "C2: unanswered")
    s.close()


def phase_d(host, rounds):
    c = ModbusTcpClient(host, port=502, timeout=2, retries=0)
    c.connect()
    for i in range(rounds):
        if i:
            time.sleep(5)
        show(f"D keepalive {i + 1}/{rounds} read HR 0 x2", c.read_holding_registers(0, 2, slave=UNIT))
    c.close()


def main():
    host = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    phase_a(host)
    time.sleep(0.5)
    phase_b(host)
    time.sleep(0.5)
    phase_c(host)
    time.sleep(1.0)
    phase_d(host, rounds)


if __name__ == "__main__":
    main()
