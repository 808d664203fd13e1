#!/usr/bin/python3
"""Regular poller (a SCADA master's cyclic read) built on pymodbus' sync client.

Usage: modbus_poller.py SERVER_IP PERIOD_S MAX_POLLS

Reads holding registers 0..3 of unit 1 every PERIOD_S seconds on one connection.
Stops at the first failure (server gone), so after the server is killed no more
Modbus requests go out: the device simply falls silent in the capture.
"""
import sys
import time

from pymodbus.client import ModbusTcpClient


def main():
    host, period, polls = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    c = ModbusTcpClient(host, port=502, timeout=1, retries=0, reconnect_delay=0)
    c.connect()
    t0 = time.monotonic()
    for i in range(polls):
        delay = t0 + i * period - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            rr = c.read_holding_registers(0, 4, slave=1)
        except Exception as exc:  # noqa: BLE001
            print(time.strftime("%H:%M:%S"), "poller: poll", i + 1, "failed:", repr(exc), flush=True)
            break
        if rr is None or rr.isError():
            print(time.strftime("%H:%M:%S"), "poller: poll", i + 1, "error:", rr, flush=True)
            break
        print(time.strftime("%H:%M:%S"), "poller: poll", i + 1, rr.registers, flush=True)
    c.close()


if __name__ == "__main__":
    main()
