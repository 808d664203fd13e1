#!/usr/bin/env python3
"""Seeds for tests/fuzz/fuzz_s7comm.c from the S7 captures (pcaps/public,
and the real peers of pcaps/real): each
TCP stream's payloads in capture order, one script packet each (cut at
255 bytes, the script's length limit), server payloads marked ctl bit 0.
Run from the top of the tree; needs tshark."""
import os
import subprocess

CAPTURES = ["public/snap7_s300_everything.pcapng", "public/s7comm_program_blocklist_onlineview.pcap",
            "public/step7_s300_AuthPassword.pcapng", "public/s7comm_reading_plc_status.pcap",
            "real/s7-snap7.pcap"]
OUT = os.path.join("tests", "fuzz", "seeds", "s7comm")
MAX_SEED = 4096

os.makedirs(OUT, exist_ok=True)
for name in CAPTURES:
    rows = subprocess.run(["tshark", "-r", os.path.join("pcaps", name), "-Y", "tcp.len > 0",
                           "-T", "fields", "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.payload"],
                          check=True, capture_output=True, text=True).stdout.splitlines()
    streams = {}
    for row in rows:
        stream, sport, payload = row.split("\t")
        data = bytes.fromhex(payload.replace(":", ""))
        seed = streams.setdefault(stream, bytearray([0]))
        while data and len(seed) < MAX_SEED:
            piece, data = data[:255], data[255:]
            seed += bytes([1 if sport == "102" else 0, len(piece)]) + piece
    for stream, seed in streams.items():
        base = os.path.splitext(os.path.basename(name))[0]
        with open(os.path.join(OUT, f"{base}-{stream}"), "wb") as f:
            f.write(seed)
