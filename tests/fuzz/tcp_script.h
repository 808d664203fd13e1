/*
 * The TCP conversation the dissector fuzzers script: two endpoints, a
 * handshake (or none: mid-stream), and segments whose control byte says
 * who sends, how much time passes, and whether the bytes are resent, cut
 * by a hole or end with a FIN (see each harness's header for the bits).
 * Header-only: each harness is its own program.
 */
#ifndef X1367_FUZZ_TCP_SCRIPT_H
#define X1367_FUZZ_TCP_SCRIPT_H

#include <stdint.h>
#include <string.h>
#include "helpers.h"

#define SCRIPT_T0 (1705309200ull * 1000000ull)

struct tcp_script {
	struct run r;
	const char *addr[2];          /* [0] client, [1] server */
	uint16_t port[2];
	uint32_t seq[2];
	uint64_t now;
};

static struct frame script_frame;

/* Mode bit 0: IPv6; the server listens on `port`.  The server's sequence
 * numbers wrap during the run. */
static inline void script_init(struct tcp_script *s, uint8_t mode, uint16_t port)
{
	memset(s, 0, sizeof(*s));
	s->addr[0] = (mode & 1) ? "2001:db8::10" : "192.0.2.10";
	s->addr[1] = (mode & 1) ? "2001:db8::20" : "192.0.2.20";
	s->port[0] = 49152;
	s->port[1] = port;
	s->seq[0] = 1000;
	s->seq[1] = 0xFFFFFF00u;
	s->now = SCRIPT_T0;
}

static inline void script_send(struct tcp_script *s, int dir, uint32_t seq, uint8_t flags,
			       const uint8_t *p, size_t n)
{
	struct frame *f = &script_frame;
	build_tcp(f, s->addr[dir], s->port[dir], s->addr[!dir], s->port[!dir], seq, s->seq[!dir],
		  flags, p, n);
	f->ts_usec = s->now;
	if (f->len)
		run_frame(&s->r, f);
}

static inline void script_handshake(struct tcp_script *s)
{
	script_send(s, 0, s->seq[0]++, TH_SYN, NULL, 0);
	script_send(s, 1, s->seq[1]++, TH_SYN | TH_ACK, NULL, 0);
	script_send(s, 0, s->seq[0], TH_ACK, NULL, 0);
}

/* ctl bits 1-3: time first (the caller may have advanced it already). */
static inline void script_advance(struct tcp_script *s, uint8_t ctl)
{
	s->now += ((ctl >> 1) & 7) * 500000ull + 1000;
}

/* ctl bit 0 direction, bit 4 resend, bit 5 hole, bit 6 FIN. */
static inline void script_segment(struct tcp_script *s, uint8_t ctl, const uint8_t *p, size_t n)
{
	int dir = ctl & 1;
	uint32_t seq = s->seq[dir];
	if (ctl & 0x10)
		seq -= (uint32_t)n;
	if (ctl & 0x20)
		seq += 3;
	uint8_t flags = TH_ACK | ((ctl & 0x40) ? TH_FIN : TH_PSH);
	script_send(s, dir, seq, flags, p, n);
	if (!(ctl & 0x10))
		s->seq[dir] = seq + (uint32_t)n + ((flags & TH_FIN) ? 1 : 0);
}

#endif
