/*
 * libFuzzer harness for the EtherNet/IP + CIP plugin (dissectors/enip.c),
 * through the whole engine: the input is a script of packets on one
 * conversation (a TCP connection, or UDP datagrams), run with the real
 * rules, then the capture ends.  Crashes, sanitizer reports and leaks are
 * the findings; the records themselves are not checked here beyond their
 * shape (the unit tests and the regression capture do that).
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 1   UDP datagrams instead of a TCP connection
 *        bit 2   server port 4481: detection by probe, not by port
 *        bit 3   no handshake: the capture starts mid-stream
 *   ctl  bit 0   0 = originator -> target, 1 = target -> originator
 *        bits 1-3 capture time advanced by that many half seconds first
 *                (so the 5 s deadlines pass)
 *        bit 4   TCP: resend (sequence number of the previous bytes)
 *        bit 5   TCP: skip 3 sequence numbers first (a hole: a gap later)
 *        bit 6   TCP: FIN with the data
 *        bit 7   append the payload to the next packet's instead of
 *                sending it (messages longer than 255 bytes)
 *
 * The engine runs without nDPI (run_start_fast in tests/unit/helpers.c).
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

#define HELD_MAX 4096

static void udp_send(struct tcp_script *s, int dir, const uint8_t *p, size_t n)
{
	struct frame *f = &script_frame;
	build_udp(f, s->addr[dir], s->port[dir], s->addr[!dir], s->port[!dir], p, n);
	f->ts_usec = s->now;
	if (f->len)
		run_frame(&s->r, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tcp_script s;
	static uint8_t held[HELD_MAX];
	size_t n_held = 0;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	int udp = mode & 2;
	script_init(&s, mode, (mode & 4) ? 4481 : 44818);

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
		if (n > HELD_MAX - n_held)
			n = HELD_MAX - n_held;
		memcpy(held + n_held, data + pos, n);
		n_held += n;
		pos += n;
		if (ctl & 0x80)
			continue;
		script_advance(&s, ctl);
		if (udp)
			udp_send(&s, ctl & 1, held, n_held);
		else
			script_segment(&s, ctl, held, n_held);
		n_held = 0;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
