/*
 * libFuzzer harness for the TLS alert plugin (dissectors/tls_alert.c),
 * through the whole engine: the input is a script of packets on one TCP
 * connection, run with the real rules, then the capture ends (flow_end
 * runs).  Crashes, sanitizer reports and leaks are the findings; every
 * record must still carry an error code.
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 2   server port 10443: detection by the probe, not by port 443
 *        bit 3   no handshake: the capture starts mid-stream
 *        (bit 1, UDP in other harnesses, is ignored: TLS here is TCP only)
 *   ctl  bit 0   0 = client -> server, 1 = server -> client
 *        bits 1-3 capture time advanced by that many half seconds first
 *        bit 4   resend: sequence number of the previous bytes (retransmission
 *                or overlap)
 *        bit 5   skip 3 sequence numbers first (a hole: a gap later)
 *        bit 6   FIN with the data
 *        bit 7   the payload is repeated 64 times (records longer than 255
 *                bytes, up to the largest TLS allows)
 *
 * The engine runs without nDPI (run_start_fast in tests/unit/helpers.c).
 *
 * Build: tests/fuzz/run.sh, or by hand with clang
 *        -fsanitize=fuzzer,address,undefined against src/ (without main.c),
 *        dissectors/ (built-ins and dissectors/tls_alert.c), tests/unit/frames.c
 *        and tests/unit/helpers.c.
 */
#include <stdint.h>
#include <string.h>
#include "helpers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define T0 (1705309200ull * 1000000ull)
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PSH 0x08
#define TH_ACK 0x10

struct script {
	struct run r;
	const char *addr[2];          /* [0] client, [1] server */
	uint16_t port[2];
	uint32_t seq[2];
	uint64_t now;
};

static struct frame F;
static uint8_t big[255 * 64];

static void send_tcp(struct script *s, int dir, uint32_t seq, uint8_t flags, const uint8_t *p,
		     size_t n)
{
	build_tcp(&F, s->addr[dir], s->port[dir], s->addr[!dir], s->port[!dir], seq,
		  s->seq[!dir], flags, p, n);
	F.ts_usec = s->now;
	if (F.len)
		run_frame(&s->r, &F);
}

static void handshake(struct script *s)
{
	send_tcp(s, 0, s->seq[0]++, TH_SYN, NULL, 0);
	send_tcp(s, 1, s->seq[1]++, TH_SYN | TH_ACK, NULL, 0);
	send_tcp(s, 0, s->seq[0], TH_ACK, NULL, 0);
}

static void packet(struct script *s, uint8_t ctl, const uint8_t *p, size_t n)
{
	int dir = ctl & 1;

	s->now += ((ctl >> 1) & 7) * 500000ull + 1000;
	if ((ctl & 0x80) && n) {
		for (size_t i = 0; i < 64; i++)
			memcpy(big + i * n, p, n);
		p = big;
		n *= 64;
	}
	uint32_t seq = s->seq[dir];
	if (ctl & 0x10)
		seq -= (uint32_t)n;
	if (ctl & 0x20)
		seq += 3;
	uint8_t flags = TH_ACK | ((ctl & 0x40) ? TH_FIN : TH_PSH);
	send_tcp(s, dir, seq, flags, p, n);
	if (!(ctl & 0x10))
		s->seq[dir] = seq + (uint32_t)n + ((flags & TH_FIN) ? 1 : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct script s;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	memset(&s, 0, sizeof(s));
	s.addr[0] = (mode & 1) ? "2001:db8::10" : "192.0.2.10";
	s.addr[1] = (mode & 1) ? "2001:db8::20" : "192.0.2.20";
	s.port[0] = 49152;
	s.port[1] = (mode & 4) ? 10443 : 443;
	s.seq[0] = 1000;
	s.seq[1] = 0xFFFFFF00u;       /* wraps during the run */
	s.now = T0;

	run_start_fast(&s.r, X1367_DISSECTOR_ENTRY());
	if (!(mode & 8))
		handshake(&s);
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos];
		size_t n = data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		packet(&s, ctl, data + pos, n);
		pos += n;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
