#!/usr/bin/python3
"""Regular poller (a SCADA master's cyclic read) built on pymodbus' sync client.

Usage: modbus_poller.py SERVER_IP PERIOD_S MAX_POLLS [--pair] [GAP_AFTER:SECONDS ...]

Reads holding registers 0..3 of unit 1 every PERIOD_S seconds on one connection
(with --pair, each cycle also reads input registers 0..1 right after, as a SCADA
cycle reading several blocks does).  GAP_AFTER:SECONDS makes the cycle after poll
number GAP_AFTER (counted from 1) come SECONDS after it instead of one period: the
master skipping cycles.  Stops at the first failure (server gone or hung), so after
that no more Modbus requests go out.
"""
import sys
import time

from pymodbus.client import ModbusTcpClient


def poll_times(period, polls, gaps):
    """Start time of each poll, relative to the first."""
    t, times = 0.0, []
    for i in range(polls):
        times.append(t)
        t += gaps.get(i + 1, period)
    return times


def main():
    host, period, polls = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    pair = "--pair" in sys.argv[4:]
    gaps = {int(a.split(":")[0]): float(a.split(":")[1]) for a in sys.argv[4:] if ":" in a}
    c = ModbusTcpClient(host, port=502, timeout=1, retries=0, reconnect_delay=0)
    c.connect()
    t0 = time.monotonic()
    for i, at in enumerate(poll_times(period, polls, gaps)):
        delay = t0 + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            rr = c.read_holding_registers(0, 4, slave=1)
            if pair and rr is not None and not rr.isError():
                rr = c.read_input_registers(0, 2, slave=1)
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
