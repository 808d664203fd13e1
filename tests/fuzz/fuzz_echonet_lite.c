/*
 * libFuzzer harness for the ECHONET Lite dissector, through the whole
 * engine: the input is a script of datagrams between a controller, two
 * nodes and the multicast group (or segments of one TCP connection), run
 * with the real rules, then the capture ends.  Crashes, sanitizer reports
 * and leaks are the findings.
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 1   TCP (port 3610) instead of UDP
 *   ctl  bit 0   0 = controller -> node, 1 = node -> controller
 *        bit 1   controller -> the multicast group (UDP)
 *        bit 2   the node sends from port 23610 (UDP)
 *        bit 3   the second node
 *        bits 4-6 capture time advanced by that many seconds first
 *        bit 7   TCP: resend the previous bytes' sequence number
 *
 * The engine runs without nDPI (run_start_fast in tests/unit/helpers.c).
 *
 * Build: tests/fuzz/run.sh.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"
#include "output.h"
#include "registry.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 (1705309200ull * 1000000ull)
#define EL_PORT 3610
#define EL_ALT_PORT 23610

struct hosts {
	const char *ctrl, *node[2], *group;
};

static const struct hosts v4 = {"198.51.100.10", {"198.51.100.20", "198.51.100.21"}, "224.0.23.0"};
static const struct hosts v6 = {"2001:db8::10", {"2001:db8::20", "2001:db8::21"}, "ff02::1"};

static struct frame F;

struct script {
	struct run r;
	const struct hosts *h;
	int tcp;
	uint32_t seq[2];
	uint64_t now;
};

static void emit(struct script *s)
{
	F.ts_usec = s->now;
	if (F.len)
		run_frame(&s->r, &F);
}

static void udp_packet(struct script *s, uint8_t ctl, const uint8_t *p, size_t n)
{
	const char *node = s->h->node[(ctl >> 3) & 1];
	uint16_t nport = (ctl & 4) ? EL_ALT_PORT : EL_PORT;

	if (ctl & 1)
		build_udp(&F, node, nport, s->h->ctrl, EL_PORT, p, n);
	else
		build_udp(&F, s->h->ctrl, EL_PORT, (ctl & 2) ? s->h->group : node, EL_PORT, p, n);
	emit(s);
}

static void tcp_packet(struct script *s, uint8_t ctl, uint8_t flags, const uint8_t *p, size_t n)
{
	int dir = ctl & 1;
	const char *a[2] = {s->h->ctrl, s->h->node[0]};
	uint16_t port[2] = {50000, EL_PORT};
	uint32_t seq = s->seq[dir];

	if (ctl & 0x80)
		seq -= (uint32_t)n;
	build_tcp(&F, a[dir], port[dir], a[!dir], port[!dir], seq, s->seq[!dir], flags, p, n);
	emit(s);
	if (!(ctl & 0x80))
		s->seq[dir] = seq + (uint32_t)n + ((flags & TH_SYN) ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct script s;

	if (size < 1)
		return 0;
	memset(&s, 0, sizeof(s));
	s.h = (data[0] & 1) ? &v6 : &v4;
	s.tcp = (data[0] & 2) != 0;
	s.seq[0] = 100;
	s.seq[1] = 9000;
	s.now = T0;

	run_start_fast(&s.r, NULL);
	if (s.tcp) {
		tcp_packet(&s, 0, TH_SYN, NULL, 0);
		tcp_packet(&s, 1, TH_SYN | TH_ACK, NULL, 0);
	}
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos];
		size_t n = data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		s.now += ((ctl >> 4) & 7) * 1000000ull + 1000;
		if (s.tcp)
			tcp_packet(&s, ctl, TH_PSH | TH_ACK, data + pos, n);
		else
			udp_packet(&s, ctl, data + pos, n);
		pos += n;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
