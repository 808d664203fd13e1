/* defrag.c: ordering, overlap, duplicates, limits, timeouts; IPv6 fragments
 * end to end through the decoder. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "decode.h"
#include "defrag.h"
#include "helpers.h"

#define SEC 1000000ull

static struct x1367_addr A4, B4, A6, B6;
static uint8_t DG[65536 + 64];   /* datagram payload pattern */

static void setup(void)
{
	cr_assert_eq(addr_parse("192.0.2.1", &A4), 0);
	cr_assert_eq(addr_parse("192.0.2.2", &B4), 0);
	cr_assert_eq(addr_parse("2001:db8::1", &A6), 0);
	cr_assert_eq(addr_parse("2001:db8::2", &B6), 0);
	for (size_t i = 0; i < sizeof(DG); i++)
		DG[i] = (uint8_t)(i * 31 + (i >> 8));
}

TestSuite(defrag, .init = setup);

/* One fragment of DG, as IPv4 UDP from A4 to B4. */
static int add(struct defrag *d, uint64_t ts, uint32_t id, uint32_t off, size_t len, int more,
	       const uint8_t **out, size_t *out_len)
{
	return defrag_add(d, ts, &A4, &B4, id, 17, off, more, DG + off, len, out, out_len);
}

static struct defrag *mk(size_t max_dg, size_t max_bytes, uint32_t timeout_ms)
{
	struct defrag_limits lim = {max_dg, max_bytes, timeout_ms};
	struct defrag *d = defrag_new(&lim);
	cr_assert_not_null(d);
	return d;
}

static void assert_dg(const uint8_t *out, size_t out_len, size_t want)
{
	cr_assert_not_null(out);
	cr_assert_eq(out_len, want, "len %zu want %zu", out_len, want);
	cr_assert(memcmp(out, DG, want) == 0, "reassembled bytes differ");
}

Test(defrag, in_order)
{
	struct defrag *d = mk(0, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 7, 0, 1480, 1, &out, &n), 0);
	cr_assert_eq(add(d, 2, 7, 1480, 1480, 1, &out, &n), 0);
	cr_assert_gt(defrag_bytes_in_use(d), 2960);
	cr_assert_eq(add(d, 3, 7, 2960, 41, 0, &out, &n), 1);
	assert_dg(out, n, 3001);
	const struct defrag_stats *st = defrag_stats(d);
	cr_assert_eq(st->fragments, 3);
	cr_assert_eq(st->reassembled, 1);
	cr_assert_eq(st->dropped_overlap + st->dropped_bad + st->timed_out, 0);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	defrag_free(d);
}

Test(defrag, out_of_order)
{
	struct defrag *d = mk(0, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 9, 800, 5, 0, &out, &n), 0);   /* last first */
	cr_assert_eq(add(d, 1, 9, 0, 400, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 9, 600, 200, 1, &out, &n), 0);
	cr_assert_null(out);
	cr_assert_eq(add(d, 1, 9, 400, 200, 1, &out, &n), 1); /* the hole */
	assert_dg(out, n, 805);

	/* reverse order */
	out = NULL;
	for (int i = 9; i >= 1; i--)
		cr_assert_eq(add(d, 1, 10, (uint32_t)i * 64, 64, i != 9, &out, &n), 0);
	cr_assert_eq(add(d, 1, 10, 0, 64, 1, &out, &n), 1);
	assert_dg(out, n, 640);
	cr_assert_eq(defrag_stats(d)->reassembled, 2);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	defrag_free(d);
}

Test(defrag, interleaved_datagrams_and_keys)
{
	struct defrag *d = mk(0, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	/* same id, different proto / direction / family: four datagrams */
	cr_assert_eq(defrag_add(d, 1, &A4, &B4, 5, 17, 0, 1, DG, 8, &out, &n), 0);
	cr_assert_eq(defrag_add(d, 1, &A4, &B4, 5, 6, 0, 1, DG, 8, &out, &n), 0);
	cr_assert_eq(defrag_add(d, 1, &B4, &A4, 5, 17, 0, 1, DG, 8, &out, &n), 0);
	cr_assert_eq(defrag_add(d, 1, &A6, &B6, 5, 17, 0, 1, DG, 8, &out, &n), 0);
	cr_assert_eq(defrag_add(d, 1, &A4, &B4, 6, 17, 0, 1, DG, 8, &out, &n), 0);
	/* the tail of the TCP one completes only it */
	cr_assert_eq(defrag_add(d, 1, &A4, &B4, 5, 6, 8, 0, DG + 8, 3, &out, &n), 1);
	assert_dg(out, n, 11);
	cr_assert_eq(defrag_add(d, 1, &A6, &B6, 5, 17, 8, 0, DG + 8, 1, &out, &n), 1);
	assert_dg(out, n, 9);
	cr_assert_eq(defrag_stats(d)->reassembled, 2);
	cr_assert_eq(defrag_stats(d)->dropped_overlap, 0);
	defrag_free(d);
}

Test(defrag, overlap_drops_datagram)
{
	struct defrag *d = mk(0, 0, 1000);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 3, 0, 16, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 3, 8, 16, 1, &out, &n), -1);   /* overlaps [8,16) */
	cr_assert_eq(defrag_stats(d)->dropped_overlap, 1);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	/* the rest of that datagram is refused, counted once */
	cr_assert_eq(add(d, 2, 3, 16, 8, 0, &out, &n), -1);
	cr_assert_eq(add(d, 2, 3, 24, 8, 0, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_overlap, 1);
	cr_assert_eq(defrag_stats(d)->reassembled, 0);

	/* after the timeout the id can be used again, and is not "timed out" */
	cr_assert_eq(add(d, 2 * SEC, 3, 0, 8, 1, &out, &n), 0);
	cr_assert_eq(add(d, 2 * SEC, 3, 8, 8, 0, &out, &n), 1);
	assert_dg(out, n, 16);
	cr_assert_eq(defrag_stats(d)->timed_out, 0);
	defrag_free(d);
}

Test(defrag, overlap_variants)
{
	struct defrag *d = mk(0, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	/* new fragment contains an old one */
	cr_assert_eq(add(d, 1, 1, 16, 8, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 1, 8, 24, 1, &out, &n), -1);
	/* same range, different bytes: not a duplicate */
	cr_assert_eq(add(d, 1, 2, 0, 16, 1, &out, &n), 0);
	cr_assert_eq(defrag_add(d, 1, &A4, &B4, 2, 17, 0, 1, DG + 1, 16, &out, &n), -1);
	/* overlap with the following fragment */
	cr_assert_eq(add(d, 1, 4, 16, 16, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 4, 8, 16, 1, &out, &n), -1);
	/* last fragment overlaps */
	cr_assert_eq(add(d, 1, 5, 0, 16, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 5, 8, 3, 0, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_overlap, 4);
	cr_assert_eq(defrag_stats(d)->reassembled, 0);
	defrag_free(d);
}

Test(defrag, exact_duplicate_ignored)
{
	struct defrag *d = mk(0, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 8, 0, 24, 1, &out, &n), 0);
	size_t used = defrag_bytes_in_use(d);
	cr_assert_eq(add(d, 1, 8, 0, 24, 1, &out, &n), 0);
	cr_assert_eq(defrag_bytes_in_use(d), used);
	cr_assert_eq(add(d, 1, 8, 24, 5, 0, &out, &n), 1);
	assert_dg(out, n, 29);
	cr_assert_eq(defrag_stats(d)->fragments, 3);
	cr_assert_eq(defrag_stats(d)->dropped_overlap, 0);

	/* duplicate last fragment before completion */
	cr_assert_eq(add(d, 1, 11, 32, 5, 0, &out, &n), 0);
	cr_assert_eq(add(d, 1, 11, 32, 5, 0, &out, &n), 0);
	cr_assert_eq(add(d, 1, 11, 0, 32, 1, &out, &n), 1);
	assert_dg(out, n, 37);
	defrag_free(d);
}

Test(defrag, timeout_in_capture_time)
{
	struct defrag *d = mk(0, 0, 30000);
	const uint8_t *out = NULL;
	size_t n = 0;
	uint64_t t0 = 1700000000ull * SEC;

	cr_assert_eq(add(d, t0, 1, 0, 8, 1, &out, &n), 0);
	cr_assert_eq(add(d, t0 + 10 * SEC, 2, 0, 8, 1, &out, &n), 0);
	defrag_expire(d, t0 + 30 * SEC - 1);
	cr_assert_eq(defrag_stats(d)->timed_out, 0);
	defrag_expire(d, t0 + 30 * SEC);
	cr_assert_eq(defrag_stats(d)->timed_out, 1);
	/* datagram 1's tail now starts a new datagram; 2 is still alive */
	cr_assert_eq(add(d, t0 + 31 * SEC, 1, 8, 8, 0, &out, &n), 0);
	cr_assert_eq(add(d, t0 + 31 * SEC, 2, 8, 8, 0, &out, &n), 1);
	assert_dg(out, n, 16);
	/* expiry also happens on add: 1's new entry expires at t0+61s */
	cr_assert_eq(add(d, t0 + 61 * SEC, 99, 0, 8, 1, &out, &n), 0);
	cr_assert_eq(defrag_stats(d)->timed_out, 2);
	cr_assert_eq(add(d, t0 + 61 * SEC, 1, 0, 8, 1, &out, &n), 0);
	defrag_expire(d, UINT64_MAX);
	cr_assert_eq(defrag_stats(d)->timed_out, 4);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	defrag_free(d);
}

Test(defrag, table_full)
{
	struct defrag *d = mk(2, 0, 1000);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 1, 0, 8, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 2, 0, 8, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 3, 0, 8, 1, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_table_full, 1);
	/* nothing held was evicted */
	cr_assert_eq(add(d, 2, 1, 8, 1, 0, &out, &n), 1);
	assert_dg(out, n, 9);
	/* a slot is free again */
	cr_assert_eq(add(d, 3, 3, 0, 8, 1, &out, &n), 0);
	cr_assert_eq(add(d, 3, 4, 0, 8, 1, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_table_full, 2);
	/* expiry frees slots before a new datagram is refused */
	cr_assert_eq(add(d, 2 * SEC, 4, 0, 8, 1, &out, &n), 0);
	cr_assert_eq(defrag_stats(d)->timed_out, 2);
	cr_assert_eq(defrag_stats(d)->dropped_table_full, 2);
	defrag_free(d);
}

Test(defrag, byte_cap)
{
	struct defrag *d = mk(0, 4096, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 1, 0, 2000, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 2, 0, 1000, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 1, 2000, 2000, 1, &out, &n), -1); /* over the cap */
	cr_assert_eq(defrag_stats(d)->dropped_bytes_cap, 1);
	cr_assert_lt(defrag_bytes_in_use(d), 1200);              /* datagram 1 released */
	cr_assert_eq(add(d, 1, 2, 1000, 10, 0, &out, &n), 1);
	assert_dg(out, n, 1010);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	defrag_free(d);
}

Test(defrag, oversize)
{
	struct defrag *d = mk(0, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 1, 65528, 16, 0, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_oversize, 1);
	cr_assert_eq(add(d, 1, 2, 65528, 7, 0, &out, &n), 0);    /* ends at 65535 */
	cr_assert_eq(add(d, 1, 2, 0, 65528, 1, &out, &n), 1);
	assert_dg(out, n, 65535);
	cr_assert_eq(add(d, 1, 3, 0, 65528, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 3, 65528, 8, 0, &out, &n), -1);   /* ends at 65536 */
	cr_assert_eq(defrag_stats(d)->dropped_oversize, 2);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	defrag_free(d);
}

Test(defrag, bad_fragments)
{
	struct defrag *d = mk(0, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_eq(add(d, 1, 1, 0, 10, 1, &out, &n), -1);      /* not a multiple of 8 */
	cr_assert_eq(add(d, 1, 2, 8, 0, 0, &out, &n), -1);       /* empty */
	cr_assert_eq(add(d, 1, 3, 4, 8, 1, &out, &n), -1);       /* misaligned offset */
	cr_assert_eq(defrag_stats(d)->dropped_bad, 3);
	/* two different ends */
	cr_assert_eq(add(d, 1, 4, 16, 4, 0, &out, &n), 0);
	cr_assert_eq(add(d, 1, 4, 32, 4, 0, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_bad, 4);
	/* data beyond the known end */
	cr_assert_eq(add(d, 1, 5, 16, 4, 0, &out, &n), 0);
	cr_assert_eq(add(d, 1, 5, 24, 8, 1, &out, &n), -1);
	/* an end before data already held */
	cr_assert_eq(add(d, 1, 6, 24, 8, 1, &out, &n), 0);
	cr_assert_eq(add(d, 1, 6, 8, 4, 0, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_bad, 6);
	cr_assert_eq(defrag_stats(d)->reassembled, 0);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	defrag_free(d);
}

Test(defrag, defaults_and_null)
{
	struct defrag *d = defrag_new(NULL);
	const uint8_t *out = NULL;
	size_t n = 0;

	cr_assert_not_null(d);
	defrag_free(NULL);
	/* default table holds 1024 datagrams; the 1025th is refused */
	for (uint32_t id = 0; id < 1024; id++)
		cr_assert_eq(add(d, 1, id, 0, 8, 1, &out, &n), 0, "id %u", id);
	cr_assert_eq(add(d, 1, 5000, 0, 8, 1, &out, &n), -1);
	cr_assert_eq(defrag_stats(d)->dropped_table_full, 1);
	/* every one of them is found again by its key */
	for (uint32_t id = 0; id < 1024; id++) {
		cr_assert_eq(add(d, 2, id, 8, 1 + id % 7, 0, &out, &n), 1, "id %u", id);
		assert_dg(out, n, 9 + id % 7);
	}
	cr_assert_eq(defrag_stats(d)->reassembled, 1024);
	cr_assert_eq(defrag_bytes_in_use(d), 0);
	/* default timeout is 30 s */
	cr_assert_eq(add(d, 10, 1, 0, 8, 1, &out, &n), 0);
	defrag_expire(d, 10 + 30 * SEC - 1);
	cr_assert_eq(defrag_stats(d)->timed_out, 0);
	defrag_expire(d, 10 + 30 * SEC);
	cr_assert_eq(defrag_stats(d)->timed_out, 1);
	defrag_free(d);
}

Test(defrag, free_with_datagrams_held)
{
	struct defrag *d = mk(64, 0, 0);
	const uint8_t *out = NULL;
	size_t n = 0;

	for (uint32_t id = 0; id < 64; id++)
		for (uint32_t k = 0; k < 4; k++)
			cr_assert_eq(add(d, 1, id, k * 8 * (id + 1), 8 * (id + 1), 1, &out, &n), 0);
	cr_assert_gt(defrag_bytes_in_use(d), 0);
	defrag_free(d); /* ASan/LSan reports any leak */
}

/* ---- IPv6 fragments through the decoder ------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv6 (+ hop-by-hop if hbh) + fragment header + a slice of
 * `dg` (which starts with the fragmentable part's first header). */
static size_t v6_frag(uint8_t *p, int hbh, uint8_t nh, uint32_t id, uint32_t off, int more,
		      const uint8_t *dg, size_t len)
{
	struct frame f;
	size_t o;

	build_udp(&f, "2001:db8::1", 1, "2001:db8::2", 2, NULL, 0);
	memcpy(p, f.data, 14 + 40);
	o = 14 + 40;
	if (hbh) {
		p[14 + 6] = 0;
		memset(p + o, 0, 8);
		p[o] = 44;
		p[o + 2] = 1; /* PadN */
		o += 8;
	} else {
		p[14 + 6] = 44;
	}
	p[o] = nh;
	p[o + 1] = 0;
	put16(p + o + 2, (uint16_t)(off | (more ? 1 : 0)));
	p[o + 4] = (uint8_t)(id >> 24);
	p[o + 5] = (uint8_t)(id >> 16);
	p[o + 6] = (uint8_t)(id >> 8);
	p[o + 7] = (uint8_t)id;
	o += 8;
	memcpy(p + o, dg + off, len);
	o += len;
	put16(p + 14 + 4, (uint16_t)(o - 14 - 40));
	return o;
}

Test(defrag, ipv6_fragments_via_decoder)
{
	struct defrag *df = defrag_new(NULL);
	struct decoder d;
	struct packet pk;
	uint8_t dg[8 + 100], p[300];

	cr_assert_not_null(df);
	decoder_init(&d, 1, df);
	/* UDP datagram: 8-byte header + 100 bytes */
	memset(dg, 0, sizeof(dg));
	put16(dg, 4000);
	put16(dg + 2, 4001);
	put16(dg + 4, sizeof(dg));
	for (size_t i = 8; i < sizeof(dg); i++)
		dg[i] = (uint8_t)(0xA0 ^ i);

	size_t len = v6_frag(p, 1, 17, 0xDEADBEEF, 56, 0, dg, 52);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 1, &pk), DECODE_FRAGMENT_HELD);
	len = v6_frag(p, 1, 17, 0xDEADBEEF, 0, 1, dg, 56);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 2, &pk), DECODE_OK);
	cr_assert_eq(pk.reassembled, 1);
	cr_assert_null(pk.l3);
	cr_assert_eq(pk.l4proto, IPPROTO_UDP);
	cr_assert_eq(pk.sport, 4000);
	cr_assert_eq(pk.dport, 4001);
	cr_assert_eq(pk.src.family, X1367_IPV6);
	cr_assert_eq(pk.src.bytes[15], 1);
	cr_assert_eq(pk.dst.bytes[15], 2);
	cr_assert_eq(pk.payload_len, 100);
	cr_assert(memcmp(pk.payload, dg + 8, 100) == 0);
	cr_assert_eq(defrag_stats(df)->reassembled, 1);

	/* overlapping IPv6 fragments (RFC 5722) */
	len = v6_frag(p, 0, 17, 2, 0, 1, dg, 56);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 3, &pk), DECODE_FRAGMENT_HELD);
	len = v6_frag(p, 0, 17, 2, 48, 0, dg, 60);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 3, &pk), DECODE_FRAGMENT_DROPPED);
	cr_assert_eq(defrag_stats(df)->dropped_overlap, 1);
	cr_assert_eq(d.reasons[DECODE_FRAGMENT_DROPPED], 1);

	/* fragmentable part starting with a destination options header */
	uint8_t dg2[8 + 8 + 20];
	memset(dg2, 0, sizeof(dg2));
	dg2[0] = 17; /* dest opts -> UDP */
	put16(dg2 + 8, 7);
	put16(dg2 + 10, 8);
	put16(dg2 + 12, 28);
	memset(dg2 + 16, 0x5A, 20);
	len = v6_frag(p, 0, 60, 3, 0, 1, dg2, 16);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 4, &pk), DECODE_FRAGMENT_HELD);
	len = v6_frag(p, 0, 60, 3, 16, 0, dg2, 20);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 4, &pk), DECODE_OK);
	cr_assert_eq(pk.sport, 7);
	cr_assert_eq(pk.dport, 8);
	cr_assert_eq(pk.payload_len, 20);
	cr_assert_eq(pk.payload[19], 0x5A);

	/* a second fragment header inside the reassembled data */
	dg2[0] = 44;
	len = v6_frag(p, 0, 60, 4, 0, 1, dg2, 16);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 5, &pk), DECODE_FRAGMENT_HELD);
	len = v6_frag(p, 0, 60, 4, 16, 0, dg2, 20);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 5, &pk), DECODE_IPV6_EXT_HEADERS);

	/* ICMPv6 fragments are not buffered */
	len = v6_frag(p, 0, 58, 5, 0, 1, dg, 56);
	cr_assert_eq(decode_packet(&d, p, len, (uint32_t)len, 6, &pk), DECODE_UNSUPPORTED_L4);
	cr_assert_eq(defrag_bytes_in_use(df), 0);
	defrag_free(df);
}

Test(defrag, ipv4_via_decoder_timeout_and_table_full)
{
	struct defrag_limits lim = {1, 0, 1000};
	struct defrag *df = defrag_new(&lim);
	struct decoder d;
	struct packet pk;
	struct frame f;

	decoder_init(&d, 1, df);
	build_udp(&f, "10.0.0.1", 1, "10.0.0.2", 2, DG, 64);
	f.data[14 + 6] = 0x20; /* MF, offset 0 */
	f.data[14 + 5] = 1;    /* id 1 */
	cr_assert_eq(decode_packet(&d, f.data, f.len, (uint32_t)f.len, SEC, &pk),
		     DECODE_FRAGMENT_HELD);
	f.data[14 + 5] = 2;    /* id 2: table (1 slot) full */
	cr_assert_eq(decode_packet(&d, f.data, f.len, (uint32_t)f.len, SEC, &pk),
		     DECODE_FRAGMENT_DROPPED);
	cr_assert_eq(defrag_stats(df)->dropped_table_full, 1);
	/* a second later id 1 has expired and id 2 fits */
	cr_assert_eq(decode_packet(&d, f.data, f.len, (uint32_t)f.len, 2 * SEC, &pk),
		     DECODE_FRAGMENT_HELD);
	cr_assert_eq(defrag_stats(df)->timed_out, 1);
	cr_assert_eq(d.reasons[DECODE_FRAGMENT_HELD], 2);
	cr_assert_eq(d.reasons[DECODE_FRAGMENT_DROPPED], 1);
	defrag_free(df);
}
