/*
 * libFuzzer harness for the BACnet/IP plugin (dissectors/bacnet.c, linked
 * in and registered as an extra dissector), through the whole engine: the
 * input is a script of datagrams between a workstation and a device (and
 * a third node, a router or BBMD, for I-Ams and routed answers), run with
 * the real rules, then the capture ends.  Crashes, sanitizer reports and
 * leaks (reassembly buffers) are the findings; the records are checked for
 * their shape only (the unit tests and tests/regress/tshark-crosscheck.py
 * check their content).
 *
 * Input:  mode (1 byte), then datagrams: ctl (1) · len (1, or 2 big-endian
 *         with ctl bit 7) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 1   the workstation on port 49152 instead of 47808
 *        bit 2   the device on port 47809: detection by probe, not by port
 *   ctl  bit 0   0 = workstation -> device, 1 = device -> workstation
 *        bits 1-3 capture time advanced by that many seconds first
 *        bit 4   from the third node instead (to the workstation, or with
 *                bit 5 to the broadcast address)
 *        bit 5   to the broadcast address (IPv4) / all-nodes (IPv6)
 *        bit 7   two length bytes
 *
 * The engine runs without nDPI (run_start_fast in tests/unit/helpers.c).
 * Build: tests/fuzz/run.sh (it links dissectors/bacnet.c in by the name).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define T0 (1705309200ull * 1000000ull)

static struct frame frame;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	int v6 = mode & 1;
	const char *ws = v6 ? "2001:db8::10" : "192.0.2.10";
	const char *dev = v6 ? "2001:db8::20" : "192.0.2.20";
	const char *third = v6 ? "2001:db8::30" : "192.0.2.30";
	const char *bcast = v6 ? "ff02::1" : "192.0.2.255";
	uint16_t ws_port = (mode & 2) ? 49152 : 47808;
	uint16_t dev_port = (mode & 4) ? 47809 : 47808;
	uint64_t now = T0;

	run_start_fast(&r, X1367_DISSECTOR_ENTRY());
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos++];
		size_t n = data[pos++];
		if ((ctl & 0x80) && pos < size)
			n = n << 8 | data[pos++];
		if (n > size - pos)
			n = size - pos;
		now += ((ctl >> 1) & 7) * 1000000ull + 1000;
		const char *src = (ctl & 1) ? dev : ws, *dst = (ctl & 1) ? ws : dev;
		uint16_t sport = (ctl & 1) ? dev_port : ws_port, dport = (ctl & 1) ? ws_port : dev_port;
		if (ctl & 0x10) {
			src = third;
			sport = 47808;
			dst = ws;
			dport = ws_port;
		}
		if (ctl & 0x20) {
			dst = bcast;
			dport = 47808;
		}
		build_udp(&frame, src, sport, dst, dport, data + pos, n);
		frame.ts_usec = now;
		if (frame.len)
			run_frame(&r, &frame);
		pos += n;
	}
	run_finish(&r);
	run_check_records(&r);
	run_free(&r);
	return 0;
}
