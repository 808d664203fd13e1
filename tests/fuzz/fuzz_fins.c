/*
 * libFuzzer harness for the Omron FINS plugin (dissectors/fins.c, linked
 * in and registered as an extra dissector), through the whole engine: the
 * input is a script of packets between an HMI and a PLC, over UDP (both
 * ports 9600, either side may speak first) or FINS/TCP, run with the real
 * rules, then the capture ends.  Crashes, sanitizer reports and leaks are
 * the findings; the records are checked for their shape only (the unit
 * tests and tests/regress/tshark-crosscheck.py check their content).
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1, or 2 big-endian
 *         with ctl bit 7) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 1   UDP instead of TCP
 *        bit 2   server port 19600: detection by probe, not by port
 *        bit 3   no handshake: the capture starts mid-stream
 *   ctl  bit 0   0 = HMI -> PLC, 1 = PLC -> HMI
 *        bits 1-3 capture time advanced by that many half seconds first
 *        bit 4   resend (TCP: the previous bytes' sequence number)
 *        bit 5   skip 3 sequence numbers first (TCP: a hole)
 *        bit 6   FIN with the data (TCP)
 *        bit 7   two length bytes (FINS/TCP messages past 255 bytes)
 *
 * The engine runs without nDPI (run_start_fast in tests/unit/helpers.c).
 * Build: tests/fuzz/run.sh (it links dissectors/fins.c in by the name).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"
#include "tcp_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

/* Over UDP both ends use the server port, as FINS nodes do. */
static void packet(struct tcp_script *s, int udp, uint8_t ctl, const uint8_t *p, size_t n)
{
	int dir = ctl & 1;

	script_advance(s, ctl);
	if (!udp) {
		script_segment(s, ctl & 0x7F, p, n);
		return;
	}
	build_udp(&script_frame, s->addr[dir], s->port[1], s->addr[!dir], s->port[1], p, n);
	script_frame.ts_usec = s->now;
	if (script_frame.len)
		run_frame(&s->r, &script_frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tcp_script s;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	int udp = (mode & 2) != 0;
	script_init(&s, mode, (mode & 4) ? 19600 : 9600);

	run_start_fast(&s.r, X1367_DISSECTOR_ENTRY());
	if (!udp && !(mode & 8))
		script_handshake(&s);
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos++];
		size_t n = data[pos++];
		if ((ctl & 0x80) && pos < size)
			n = n << 8 | data[pos++];
		if (n > size - pos)
			n = size - pos;
		packet(&s, udp, ctl, data + pos, n);
		pos += n;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
