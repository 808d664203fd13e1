/*
 * libFuzzer harness for the DNP3 plugin (dissectors/dnp3.c), through the
 * whole engine: the input is a script of packets on one conversation
 * (TCP segments or UDP datagrams), run with the real rules, then the
 * capture ends.  Crashes, sanitizer reports and leaks are the findings;
 * the records themselves are checked by the unit tests and the regression
 * captures.
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 1   UDP datagrams instead of a TCP connection
 *        bit 2   server port 21000: detection by probe, not by port
 *        bit 3   no handshake: the capture starts mid-stream
 *   ctl  bit 0   0 = master -> outstation (client -> server), 1 = back
 *        bits 1-3 capture time advanced by that many half seconds first
 *                (so deadlines and silences pass)
 *        bit 4   resend: sequence number of the previous bytes (TCP)
 *        bit 5   skip 3 sequence numbers first (a hole: a gap later)
 *        bit 6   FIN with the data
 * A DNP3 link frame is up to 292 bytes: the bigger ones span packets.
 *
 * Seeds (tests/fuzz/seeds/dnp3/) are the conversations of the public
 * captures dnp3_test_data_part1/2.pcap in this format, and a few cut,
 * corrupted and UDP variants.
 *
 * Build: tests/fuzz/run.sh, or by hand with clang
 *        -fsanitize=fuzzer,address,undefined against src/ (without main.c),
 *        dissectors/ (built-ins and dissectors/dnp3.c), tests/unit/frames.c
 *        and tests/unit/helpers.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"
#include "tcp_script.h"
#include "output.h"
#include "registry.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

static void datagram(struct tcp_script *s, uint8_t ctl, const uint8_t *p, size_t n)
{
	int dir = ctl & 1;
	build_udp(&script_frame, s->addr[dir], s->port[dir], s->addr[!dir], s->port[!dir], p, n);
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
	script_init(&s, mode, (mode & 4) ? 21000 : 20000);

	run_start_fast(&s.r, X1367_DISSECTOR_ENTRY());
	if (!udp && !(mode & 8))
		script_handshake(&s);
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos];
		size_t n = data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		script_advance(&s, ctl);
		if (udp)
			datagram(&s, ctl, data + pos, n);
		else
			script_segment(&s, ctl, data + pos, n);
		pos += n;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
