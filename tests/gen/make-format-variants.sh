#!/bin/sh
# The same capture in the other file formats the sensor reads: pcapng, and
# pcap with nanosecond timestamps (editcap, from Debian's tshark).  Their
# expected records are the original's, byte for byte.
set -eu
cd "$(dirname "$0")/../../pcaps/synthetic"
editcap -F pcapng modbus-exceptions.pcap modbus-exceptions-as-pcapng.pcapng
editcap -F nseclibpcap modbus-exceptions.pcap modbus-exceptions-nanosecond.pcap
