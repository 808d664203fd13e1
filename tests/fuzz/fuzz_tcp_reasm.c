/*
 * libFuzzer harness for tcp_reasm.c: the input is a script of operations
 * on one stream (segments at offsets with lengths and flags, acks,
 * consumer appetite changes), then a flush.  A shadow of the stream checks
 * every byte the consumer is shown:
 *
 *   - it is at the right offset: byte values depend on the offset and on a
 *     2-bit tag per segment, so a byte shown at the wrong place or from
 *     nowhere is caught;
 *   - the first data received wins: the tag must be the one of the first
 *     segment that brought the offset while it was still ahead of
 *     next_seq (unless a cap dropped part of that segment: then any tag
 *     that was sent for the offset);
 *   - no byte twice, none out of order, none lost silently: the consumer's
 *     position (bytes used + gaps) moves forward only and always equals
 *     bytes_delivered + gap_bytes, and next_seq - pending_len;
 *   - memory: caps hold after every operation; 0 after the flush; leaks
 *     are LeakSanitizer's.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *        -Iinclude -Isrc src/tcp_reasm.c tests/fuzz/fuzz_tcp_reasm.c -o fuzz_tcp_reasm
 * (tests/fuzz/run.sh builds every harness and runs it from its seeds.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tcp_reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SPACE 32768            /* stream offsets the script can reach */
#define NO_TAG 0xFF
#define ANY_TAG 0xFE

static const uint8_t tag_mask[4] = {0x00, 0x5A, 0xA5, 0xFF};

static uint8_t base_byte(uint32_t x)
{
	return (uint8_t)(x * 167u + (x >> 7) * 13u + 1u);
}

struct harness {
	struct tcp_reasm r;
	struct tcp_stream s;
	uint32_t start;            /* sequence number of stream offset 0 */
	int have_start;
	uint8_t first[SPACE];      /* tag that must win at an offset */
	uint8_t sent[SPACE];       /* bit per tag sent for an offset */
	uint64_t pos;              /* stream offset of the next byte to consume */
	uint32_t checked_hi;       /* bytes below were checked when first shown */
	int mode;
	uint32_t param;
	uint32_t lcg;
};

static struct harness H;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                        \
		}                                                                       \
	} while (0)

/* The harness's own per-byte loops: not worth coverage feedback (they
 * would dominate the run time). */
#if defined(__clang__) && __clang_major__ >= 13
#define NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define NO_COVERAGE
#endif

NO_COVERAGE static void check_shown(const struct harness *h, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t x = (uint32_t)(h->pos + i);
		/* Bytes shown before (unused, presented again): their
		 * edges are checked again, all of them would be quadratic. */
		if (x < h->checked_hi && i >= 64 && x + 64 < h->checked_hi)
			continue;
		uint8_t m = d[i] ^ base_byte(x);
		int tag = -1;
		for (int t = 0; t < 4; t++)
			if (tag_mask[t] == m)
				tag = t;
		CHECK(tag >= 0);                       /* a byte of this offset */
		CHECK(h->sent[x] & (1u << tag));       /* sent for this offset */
		if (h->first[x] != ANY_TAG)
			CHECK(h->first[x] == tag);     /* the first data won */
	}
}

static size_t fz_deliver(void *arg, const uint8_t *d, size_t len)
{
	struct harness *h = arg;

	CHECK(len > 0);
	CHECK(h->have_start);
	CHECK(h->pos + len <= SPACE);
	check_shown(h, d, len);
	if (h->pos + len > h->checked_hi)
		h->checked_hi = (uint32_t)(h->pos + len);

	size_t use = 0;
	switch (h->mode) {
	case 0:
		use = len;
		break;
	case 1:
		use = 0;
		break;
	case 2:
		use = len < h->param ? len : h->param;
		break;
	case 3:
		use = len > h->param ? len - h->param : 0;
		break;
	default:
		h->lcg = h->lcg * 1103515245u + 12345u;
		use = (h->lcg >> 8) % (len + 1);
		break;
	}
	h->pos += use;
	return use;
}

static void fz_gap(void *arg, uint32_t len)
{
	struct harness *h = arg;

	CHECK(len > 0);
	CHECK(h->have_start);
	h->pos += len;
	CHECK(h->pos <= SPACE);
}

static uint8_t payload[20480];
static uint16_t fresh[sizeof(payload)];

/* Fill the payload of a segment and the shadow for it; returns how many
 * offsets got their first tag from it (listed in fresh[]). */
NO_COVERAGE static size_t shadow_record(struct harness *h, uint32_t seq, uint32_t start, size_t len,
					int tag, int started, uint32_t next, int fin_seen,
					uint32_t fin_seq, int64_t *known)
{
	size_t n_fresh = 0;

	for (size_t i = 0; i < len; i++) {
		uint32_t sq = seq + (uint32_t)i;
		int32_t x = (int32_t)(sq - start);
		payload[i] = (uint8_t)(base_byte((uint32_t)x) ^ tag_mask[tag]);
		if (x < 0 || x >= SPACE || !h->have_start)
			continue;
		if (started && (int32_t)(sq - next) < 0)
			continue;  /* already delivered */
		if (fin_seen && (int32_t)(sq - fin_seq) >= 0)
			continue;  /* after the FIN */
		h->sent[x] |= (uint8_t)(1u << tag);
		if (h->first[x] == NO_TAG) {
			h->first[x] = (uint8_t)tag;
			fresh[n_fresh++] = (uint16_t)x;
		}
		if (x + 1 > *known)
			*known = x + 1;
	}
	return n_fresh;
}

static void check_invariants(const struct harness *h)
{
	const struct tcp_reasm *r = &h->r;
	const struct tcp_stream *s = &h->s;

	CHECK(r->total_bytes <= r->max_total_bytes);
	CHECK((size_t)s->pending_len + s->ooo_bytes <= r->max_stream_bytes);
	CHECK(s->pending_len <= s->pending_cap);
	CHECK((s->ooo == NULL) == (s->ooo_segs == 0));
	CHECK((s->ooo == NULL) == (s->ooo_bytes == 0));
	CHECK(h->pos == r->stats.bytes_delivered + r->stats.gap_bytes);
	if (s->started) {
		CHECK(h->have_start);
		CHECK((uint32_t)(s->next_seq - h->start) == h->pos + s->pending_len);
	}
}

static uint8_t rd(const uint8_t **p, const uint8_t *end)
{
	return *p < end ? *(*p)++ : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t stream_caps[8] = {16, 64, 200, 1000, 4096, 65536, 256 * 1024, 3};
	static const size_t total_caps[8] = {100, 300, 1000, 4096, 20000, 1 << 20, 64, 256 << 20};
	const uint8_t *p = data, *end = data + size;
	struct harness *h = &H;
	struct tcp_consumer c = {fz_deliver, fz_gap, h};
	struct tcp_stream ballast;

	if (size < 7)
		return 0;
	memset(h, 0, sizeof(*h));
	memset(h->first, NO_TAG, sizeof(h->first));
	memset(&ballast, 0, sizeof(ballast));

	uint8_t cfg = rd(&p, end);
	uint32_t isn = (uint32_t)rd(&p, end) << 24 | (uint32_t)rd(&p, end) << 16 |
		       (uint32_t)rd(&p, end) << 8 | rd(&p, end);
	uint8_t caps = rd(&p, end);
	tcp_reasm_init(&h->r, stream_caps[caps & 7], total_caps[(caps >> 3) & 7]);
	h->lcg = isn;
	if (cfg & 1) {
		tcp_stream_syn(&h->s, isn);
		h->start = isn + 1;
		h->have_start = 1;
	}
	if (cfg & 2) {
		/* Another stream holds memory: global cap pressure. */
		size_t n = (size_t)(cfg >> 2) * 20;
		tcp_stream_syn(&ballast, 0);
		tcp_stream_segment(&h->r, &ballast, 100, payload, n, 0, NULL);
	}

	int64_t known = 0;  /* furthest stream offset any segment or ack reached */

	while (p < end) {
		uint8_t op = rd(&p, end), a = rd(&p, end), b = rd(&p, end);
		uint8_t cc = rd(&p, end), d = rd(&p, end);
		int32_t off = (int32_t)(((uint32_t)a << 8 | b) % 4160) - 64;

		switch (op % 8) {
		case 0: case 1: case 2: case 3: case 4: {
			size_t len = (op & 0x80) ? (size_t)cc * ((op & 0x20) ? 80 : 8) : cc;
			int fin = (op & 0x40) && (d & 1);
			int tag = (d >> 1) & 3;
			uint32_t seq = isn + 1 + (uint32_t)off;
			if (len > sizeof(payload))
				len = sizeof(payload);
			if (!h->s.started && len && !h->have_start) {
				h->start = seq;  /* mid-stream pick-up */
				h->have_start = 1;
			}
			uint32_t start = h->have_start ? h->start : seq;
			int started = h->s.started;
			uint32_t next = h->s.next_seq;
			int fin_seen = h->s.fin_seen;
			uint32_t fin_seq = h->s.fin_seq;
			/* Shadow first: the consumer may see these bytes
			 * during the call. */
			size_t n_fresh = shadow_record(h, seq, start, len, tag, started, next,
						       fin_seen, fin_seq, &known);
			uint64_t drops = h->r.stats.dropped_stream_cap + h->r.stats.dropped_total_cap;
			tcp_stream_segment(&h->r, &h->s, seq, payload, len, fin, &c);
			if (!fin_seen && h->s.fin_seen) {  /* the FIN marks a position too */
				int32_t x = (int32_t)(h->s.fin_seq - start);
				CHECK(x >= 0 && x <= SPACE);
				if (x > known)
					known = x;
			}
			/* A cap dropped some of it: which bytes, the shadow
			 * cannot tell; a later copy may fill them. */
			if (h->r.stats.dropped_stream_cap + h->r.stats.dropped_total_cap != drops)
				for (size_t i = 0; i < n_fresh; i++)
					h->first[fresh[i]] = ANY_TAG;
			break;
		}
		case 5: {
			uint32_t ack = isn + 1 + (uint32_t)off;
			if (cc == 0xFF)
				ack += 0x50000000u;  /* absurd: ignored */
			if (h->s.started) {
				int32_t x = (int32_t)(ack - h->start);
				int32_t ahead = (int32_t)(ack - h->s.next_seq);
				if (ahead > 0 && ahead <= (1 << 30) && x > known)
					known = x;
			}
			tcp_stream_ack(&h->r, &h->s, ack, &c);
			break;
		}
		case 6:
			h->mode = a % 5;
			h->param = b;
			break;
		case 7:
			if (!h->s.started && !h->have_start) {
				h->start = isn + 1;
				h->have_start = 1;
			}
			tcp_stream_syn(&h->s, isn);
			break;
		}
		check_invariants(h);
		if (h->s.started)
			CHECK((int64_t)(uint32_t)(h->s.next_seq - h->start) <= known);
	}

	tcp_stream_free(&h->r, &ballast);
	uint64_t pos_before = h->pos;
	tcp_stream_flush(&h->r, &h->s, &c);
	CHECK(h->pos >= pos_before);
	CHECK((int64_t)h->pos <= known);
	CHECK(h->pos == h->r.stats.bytes_delivered + h->r.stats.gap_bytes);
	CHECK(h->r.total_bytes == 0);
	CHECK(h->s.ooo == NULL && h->s.pending == NULL && !h->s.started);
	return 0;
}
