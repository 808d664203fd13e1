#!/usr/bin/python3
"""pymodbus (Debian python3-pymodbus 3.0.0) Modbus/TCP server for the captures.

Usage: modbus_server.py BIND_ADDR [PORT]

Datastore (unit 1, zero_mode: PDU address N is register N):
  holding registers 0..99   (100 registers; address >= 100 -> exception 02)
  coils             0..99   (100 coils)
  discrete inputs   0..99, input registers 0..99
Holding registers 90..99 model a failed sensor board: reading them makes the
datastore raise, and pymodbus' own request handler turns that into exception 04
(Server Device Failure). The server code is pymodbus': this file only configures it.
"""
import asyncio
import logging
import sys

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server import StartAsyncTcpServer

FAULTY_FROM = 90


class FaultyBoardBlock(ModbusSequentialDataBlock):
    """Holding registers whose upper part sits on a broken board."""

    def getValues(self, address, count=1):  # noqa: N802 (pymodbus API name)
        if address + count > FAULTY_FROM:
            raise IOError(f"sensor board for registers {FAULTY_FROM}..99 not responding")
        return super().getValues(address, count)


def main():
    bind = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 502
    logging.basicConfig(level=logging.INFO, format="%(asctime)s server %(levelname)s %(message)s")
    slave = ModbusSlaveContext(
        di=ModbusSequentialDataBlock(0, [i % 2 for i in range(100)]),
        co=ModbusSequentialDataBlock(0, [i % 3 == 0 for i in range(100)]),
        hr=FaultyBoardBlock(0, [1000 + i for i in range(100)]),
        ir=ModbusSequentialDataBlock(0, [2000 + i for i in range(100)]),
        zero_mode=True,
    )
    context = ModbusServerContext(slaves={1: slave}, single=False)
    logging.info("pymodbus server on %s:%d, unit 1", bind, port)
    asyncio.run(StartAsyncTcpServer(context=context, address=(bind, port)))


if __name__ == "__main__":
    main()
