/* TCP reassembly: ordering, partial consumption, overlaps (first data
 * wins), sequence wraparound, gaps (ack, caps, flush), accounting. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tcp_reasm.h"

/* A consumer that records what it used, and every gap, in one transcript:
 * used bytes appended as they are, a gap as "<n>".  Its appetite: */
enum appetite {
	EAT_ALL,
	EAT_NONE,        /* needs more, always */
	EAT_CHUNKS,      /* whole multiples of `chunk` only */
	EAT_UNTIL_NL,    /* whole lines ("...\n") only */
};

struct sink {
	enum appetite mode;
	size_t chunk;
	char out[1 << 17];
	size_t out_len;
	size_t calls;
	size_t gaps;
	uint64_t gap_bytes;
	const uint8_t *last_ptr;  /* where the last call's bytes were */
	size_t last_len;
	char seen[1 << 17];          /* every byte presented, in every call */
	size_t seen_len;
};

static void sink_put(struct sink *k, const char *s, size_t n)
{
	cr_assert(k->out_len + n < sizeof(k->out));
	memcpy(k->out + k->out_len, s, n);
	k->out_len += n;
	k->out[k->out_len] = '\0';
}

static size_t sink_deliver(void *arg, const uint8_t *data, size_t len)
{
	struct sink *k = arg;
	size_t use = 0;

	cr_assert_gt(len, 0, "the consumer is never called with nothing");
	k->calls++;
	k->last_ptr = data;
	k->last_len = len;
	if (k->seen_len + len < sizeof(k->seen)) {
		memcpy(k->seen + k->seen_len, data, len);
		k->seen_len += len;
		k->seen[k->seen_len] = '\0';
	}
	switch (k->mode) {
	case EAT_ALL:
		use = len;
		break;
	case EAT_NONE:
		use = 0;
		break;
	case EAT_CHUNKS:
		use = len / k->chunk * k->chunk;
		break;
	case EAT_UNTIL_NL:
		for (size_t i = len; i > 0; i--)
			if (data[i - 1] == '\n') {
				use = i;
				break;
			}
		break;
	}
	sink_put(k, (const char *)data, use);
	return use;
}

static void sink_gap(void *arg, uint32_t len)
{
	struct sink *k = arg;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "<%u>", len);

	k->gaps++;
	k->gap_bytes += len;
	sink_put(k, buf, (size_t)n);
}

static struct tcp_reasm R;
static struct tcp_stream S;
static struct sink K;
static struct tcp_consumer C;

static void setup_caps(size_t stream_cap, size_t total_cap)
{
	tcp_reasm_init(&R, stream_cap, total_cap);
	memset(&S, 0, sizeof(S));
	memset(&K, 0, sizeof(K));
	K.mode = EAT_ALL;
	C.deliver = sink_deliver;
	C.gap = sink_gap;
	C.arg = &K;
}

static void setup(void)
{
	setup_caps(0, 0);
}

static void teardown(void)
{
	tcp_stream_free(&R, &S);
	cr_assert_eq(R.total_bytes, 0, "memory accounting back to 0, got %zu", R.total_bytes);
}

static void seg(uint32_t seq, const char *s)
{
	tcp_stream_segment(&R, &S, seq, (const uint8_t *)s, strlen(s), 0, &C);
}

static void seg_fin(uint32_t seq, const char *s)
{
	tcp_stream_segment(&R, &S, seq, (const uint8_t *)s, strlen(s), 1, &C);
}

TestSuite(tcp_reasm, .init = setup, .fini = teardown);

Test(tcp_reasm, defaults)
{
	cr_assert_eq(R.max_stream_bytes, 256 * 1024);
	cr_assert_eq(R.max_total_bytes, (size_t)256 * 1024 * 1024);
	tcp_reasm_init(&R, 1000, 5000);
	cr_assert_eq(R.max_stream_bytes, 1000);
	cr_assert_eq(R.max_total_bytes, 5000);
}

Test(tcp_reasm, syn_takes_one_sequence_number)
{
	tcp_stream_syn(&S, 1000);
	cr_assert(S.started);
	cr_assert_eq(S.next_seq, 1001);
	/* A retransmitted SYN changes nothing. */
	tcp_stream_syn(&S, 5000);
	cr_assert_eq(S.next_seq, 1001);
	/* A segment covering the SYN's number: that byte is not data. */
	seg(1000, "Xhello");
	cr_assert_str_eq(K.out, "hello");
	cr_assert_eq(R.stats.retransmitted_bytes, 1);
	cr_assert_eq(R.stats.midstream_pickups, 0);
}

Test(tcp_reasm, in_order_is_zero_copy)
{
	static const uint8_t a[] = "GET / HTTP/1.0\r\n";
	static const uint8_t b[] = "Host: x\r\n\r\n";

	tcp_stream_syn(&S, 99);
	tcp_stream_segment(&R, &S, 100, a, sizeof(a) - 1, 0, &C);
	cr_assert_eq(K.last_ptr, a, "consumer called on the segment's own bytes");
	tcp_stream_segment(&R, &S, 100 + sizeof(a) - 1, b, sizeof(b) - 1, 0, &C);
	cr_assert_eq(K.last_ptr, b);
	cr_assert_str_eq(K.out, "GET / HTTP/1.0\r\nHost: x\r\n\r\n");
	cr_assert_eq(K.calls, 2);
	cr_assert_eq(S.pending, NULL, "nothing buffered, nothing allocated");
	cr_assert_eq(R.total_bytes, 0);
	cr_assert_eq(R.stats.segments, 2);
	cr_assert_eq(R.stats.bytes_delivered, sizeof(a) + sizeof(b) - 2);
	cr_assert_eq(R.stats.out_of_order_segments, 0);
}

Test(tcp_reasm, partial_consumption_keeps_the_tail)
{
	K.mode = EAT_UNTIL_NL;
	tcp_stream_syn(&S, 0);
	seg(1, "one\ntw");
	cr_assert_str_eq(K.out, "one\n");
	cr_assert_eq(S.pending_len, 2);
	cr_assert_gt(R.total_bytes, 0);
	seg(7, "o\nthr");
	cr_assert_str_eq(K.out, "one\ntwo\n");
	/* Presented: the segment, then the kept tail with the new bytes. */
	cr_assert_str_eq(K.seen, "one\ntw" "two\nthr");
	cr_assert_eq(S.pending_len, 3);
	seg(12, "ee\n");
	cr_assert_str_eq(K.out, "one\ntwo\nthree\n");
	cr_assert_eq(S.pending_len, 0);
	cr_assert_eq(R.stats.bytes_delivered, 14);
	cr_assert_eq(S.next_seq, 15);
	/* The small buffer is kept for reuse. */
	cr_assert_neq(S.pending, NULL);
}

Test(tcp_reasm, consumer_taking_nothing_sees_the_same_bytes_again)
{
	K.mode = EAT_NONE;
	tcp_stream_syn(&S, 0);
	seg(1, "ab");
	seg(3, "cd");
	cr_assert_eq(K.calls, 2);
	cr_assert_eq(K.last_len, 4);
	cr_assert_eq(memcmp(K.last_ptr, "abcd", 4), 0);
	cr_assert_eq(S.pending_len, 4);
	K.mode = EAT_CHUNKS;
	K.chunk = 3;
	seg(5, "e");
	cr_assert_str_eq(K.out, "abc");
	cr_assert_eq(S.pending_len, 2);
	cr_assert_eq(R.stats.bytes_delivered, 3);
}

Test(tcp_reasm, chunked_consumer_gets_tail_with_next_bytes)
{
	K.mode = EAT_CHUNKS;
	K.chunk = 2;
	tcp_stream_syn(&S, 0);
	seg(1, "abcde");
	cr_assert_str_eq(K.out, "abcd");
	cr_assert_eq(S.pending_len, 1);
	seg(6, "f");
	cr_assert_str_eq(K.out, "abcdef");
	cr_assert_str_eq(K.seen, "abcdeef", "one call per arrival; the tail comes back");
	cr_assert_eq(K.calls, 2);
	cr_assert_eq(S.pending_len, 0);
}

Test(tcp_reasm, out_of_order_delivered_when_hole_fills)
{
	tcp_stream_syn(&S, 0);
	seg(7, "world");
	seg(12, "!");
	cr_assert_eq(K.calls, 0);
	cr_assert_eq(S.ooo_bytes, 6);
	cr_assert_eq(S.ooo_segs, 2);
	cr_assert_eq(R.stats.out_of_order_segments, 2);
	seg(4, "lo ");
	cr_assert_eq(K.calls, 0);
	seg(1, "hel");
	cr_assert_str_eq(K.out, "hello world!");
	cr_assert_eq(S.ooo_bytes, 0);
	cr_assert_eq(S.ooo, NULL);
	cr_assert_eq(S.next_seq, 13);
	cr_assert_eq(R.total_bytes, 0);
	cr_assert_eq(R.stats.gaps, 0);
}

Test(tcp_reasm, out_of_order_reverse_and_interleaved)
{
	const char *text = "abcdefghijklmnopqrstuvwxyz";
	tcp_stream_syn(&S, 0);
	/* 2-byte segments, odd ones backwards first, then even ones. */
	for (int i = 11; i >= 1; i -= 2) {
		char b[3] = {text[2 * i], text[2 * i + 1], 0};
		seg((uint32_t)(1 + 2 * i), b);
	}
	for (int i = 12; i >= 0; i -= 2) {
		char b[3] = {text[2 * i], text[2 * i + 1], 0};
		seg((uint32_t)(1 + 2 * i), b);
	}
	cr_assert_str_eq(K.out, text);
	cr_assert_eq(R.total_bytes, 0);
}

Test(tcp_reasm, retransmission_delivered_once)
{
	tcp_stream_syn(&S, 0);
	seg(1, "abcd");
	seg(1, "abcd");
	seg(3, "cdef");  /* half old, half new */
	cr_assert_str_eq(K.out, "abcdef");
	cr_assert_eq(R.stats.retransmitted_bytes, 6);
	cr_assert_eq(R.stats.bytes_delivered, 6);
	cr_assert_eq(R.stats.overlap_bytes, 0);
	/* Retransmitted data that differs does not replace what was delivered. */
	seg(1, "XXXXXXgh");
	cr_assert_str_eq(K.out, "abcdefgh");
	/* Duplicates of pending bytes are duplicates too. */
	K.mode = EAT_NONE;
	seg(9, "ij");
	seg(9, "IJ");
	cr_assert_eq(K.calls, 4);
	cr_assert_eq(memcmp(K.last_ptr, "ij", 2), 0);
}

Test(tcp_reasm, overlap_first_data_wins_over_buffered)
{
	tcp_stream_syn(&S, 0);
	seg(11, "AAAA");          /* 11..14 */
	seg(1, "bbbbbbbbbbbbbbbbbbbb"); /* 1..20, over the buffered 11..14 */
	cr_assert_str_eq(K.out, "bbbbbbbbbbAAAAbbbbbb");
	cr_assert_eq(R.stats.overlap_bytes, 4);
	cr_assert_eq(R.stats.retransmitted_bytes, 0);
	cr_assert_eq(S.next_seq, 21);
}

Test(tcp_reasm, overlap_new_segment_spanning_holes)
{
	tcp_stream_syn(&S, 0);
	seg(11, "AA");            /* 11,12 */
	seg(15, "BB");            /* 15,16 */
	seg(9, "cccccccccccc");   /* 9..20: fills 9,10  13,14  17..20 */
	cr_assert_eq(R.stats.overlap_bytes, 4);
	cr_assert_eq(S.ooo_bytes, 12);
	cr_assert_eq(K.calls, 0);
	seg(1, "dddddddd");       /* 1..8 */
	cr_assert_str_eq(K.out, "ddddddddccAAccBBcccc");
	cr_assert_eq(R.stats.bytes_delivered, 20);
}

Test(tcp_reasm, overlap_between_out_of_order_segments)
{
	tcp_stream_syn(&S, 0);
	seg(11, "AAAAAAAAAA");    /* 11..20 */
	seg(16, "BBBBBBBBBB");    /* 16..25: 16..20 lose */
	seg(6, "CCCCCCC");        /* 6..12: 11,12 lose */
	seg(11, "DDDDD");         /* all over A: loses */
	cr_assert_eq(R.stats.overlap_bytes, 5 + 2 + 5);
	seg(1, "eeeee");
	cr_assert_str_eq(K.out, "eeeeeCCCCCAAAAAAAAAABBBBB");
}

Test(tcp_reasm, in_order_segment_overlapping_buffered_with_pending)
{
	K.mode = EAT_UNTIL_NL;
	tcp_stream_syn(&S, 0);
	seg(1, "ab");             /* pending "ab" */
	seg(6, "X\n");            /* 6,7 buffered */
	seg(3, "cdefg");          /* 3..7: 6,7 overlap */
	cr_assert_str_eq(K.out, "abcdeX\n");
	cr_assert_eq(R.stats.overlap_bytes, 2);
	cr_assert_eq(S.pending_len, 0);
}

Test(tcp_reasm, wraparound_in_order)
{
	tcp_stream_syn(&S, 0xFFFFFFF9u);   /* data starts at 0xFFFFFFFA */
	seg(0xFFFFFFFAu, "0123");
	seg(0xFFFFFFFEu, "4567");          /* crosses 2^32 */
	seg(0x00000002u, "89");
	cr_assert_str_eq(K.out, "0123456789");
	cr_assert_eq(S.next_seq, 4);
	/* Old data from before the wrap is a retransmission. */
	seg(0xFFFFFFFCu, "xxxx");
	cr_assert_eq(R.stats.retransmitted_bytes, 4);
	cr_assert_str_eq(K.out, "0123456789");
}

Test(tcp_reasm, wraparound_out_of_order)
{
	tcp_stream_syn(&S, 0xFFFFFFF0u);
	/* Stream offsets 0.. start at 0xFFFFFFF1; 2^32 is offset 15. */
	seg(0x00000005u, "TAIL");          /* offset 20 */
	seg(0xFFFFFFFEu, "mid-wrap..");    /* offsets 13..22: 20..22 overlap */
	cr_assert_eq(R.stats.overlap_bytes, 3);
	cr_assert_eq(S.ooo_segs, 2);
	cr_assert_eq(S.ooo_bytes, 4 + 7);
	seg(0xFFFFFFF1u, "head of stre");  /* offsets 0..11 */
	cr_assert_eq(K.calls, 1);
	seg(0xFFFFFFFDu, "!");             /* offset 12 */
	cr_assert_str_eq(K.out, "head of stre!mid-wraTAIL");
	cr_assert_eq(S.next_seq, 0x00000009u);
}

Test(tcp_reasm, wraparound_ack_gap)
{
	tcp_stream_syn(&S, 0xFFFFFFFEu);   /* next 0xFFFFFFFF */
	seg(0x00000003u, "later");
	tcp_stream_ack(&R, &S, 0x00000005u, &C);
	cr_assert_str_eq(K.out, "<4>later");
	cr_assert_eq(S.next_seq, 8);
}

Test(tcp_reasm, ack_gap_up_to_buffered_data)
{
	tcp_stream_syn(&S, 0);
	seg(11, "after");          /* 1..10 lost by the capture */
	seg(21, "far");            /* 16..20 lost too */
	tcp_stream_ack(&R, &S, 12, &C);
	cr_assert_str_eq(K.out, "<10>after");
	cr_assert_eq(S.next_seq, 16);
	cr_assert_eq(R.stats.gaps, 1);
	cr_assert_eq(R.stats.gap_bytes, 10);
	/* Ack beyond everything: the second hole goes too, up to the ack. */
	tcp_stream_ack(&R, &S, 30, &C);
	cr_assert_str_eq(K.out, "<10>after<5>far<6>");
	cr_assert_eq(S.next_seq, 30);
	cr_assert_eq(R.stats.gaps, 3);
	cr_assert_eq(R.stats.gap_bytes, 21);
	cr_assert_eq(R.total_bytes, 0);
	/* A late copy of a lost byte is old news. */
	seg(25, "zz");
	cr_assert_eq(R.stats.retransmitted_bytes, 2);
	seg(30, "ok");
	cr_assert_str_eq(K.out, "<10>after<5>far<6>ok");
}

Test(tcp_reasm, ack_gap_includes_unused_pending)
{
	K.mode = EAT_UNTIL_NL;
	tcp_stream_syn(&S, 0);
	seg(1, "par");             /* pending: a partial line */
	seg(10, "x\n");
	tcp_stream_ack(&R, &S, 10, &C);
	/* "par" can never be completed: lost with the hole (3 + 6). */
	cr_assert_str_eq(K.out, "<9>x\n");
	cr_assert_eq(S.pending_len, 0);
	cr_assert_eq(R.stats.bytes_delivered, 2);
}

Test(tcp_reasm, acks_not_ahead_or_absurd_are_ignored)
{
	tcp_stream_syn(&S, 1000);
	seg(1001, "abc");
	tcp_stream_ack(&R, &S, 1004, &C);   /* exactly next_seq */
	tcp_stream_ack(&R, &S, 900, &C);    /* behind */
	tcp_stream_ack(&R, &S, 1004 + (1u << 30) + 1, &C); /* > 1 GiB ahead */
	tcp_stream_ack(&R, &S, 1004 + 0x80000000u, &C);    /* half the space */
	cr_assert_eq(R.stats.gaps, 0);
	cr_assert_eq(S.next_seq, 1004);
	tcp_stream_ack(&R, &S, 1004 + (1u << 30), &C);     /* 1 GiB: still valid */
	cr_assert_eq(R.stats.gaps, 1);
	cr_assert_eq(R.stats.gap_bytes, 1u << 30);
}

Test(tcp_reasm, ack_on_unstarted_stream_ignored)
{
	tcp_stream_ack(&R, &S, 12345, &C);
	cr_assert_eq(S.started, 0);
	cr_assert_eq(R.stats.gaps, 0);
}

Test(tcp_reasm, ack_covering_fin_is_not_a_gap)
{
	tcp_stream_syn(&S, 0);
	seg_fin(1, "bye");
	cr_assert(S.fin_seen);
	cr_assert_eq(S.fin_seq, 4);
	tcp_stream_ack(&R, &S, 5, &C);   /* acks the FIN */
	cr_assert_eq(R.stats.gaps, 0);
	cr_assert_str_eq(K.out, "bye");
}

Test(tcp_reasm, gap_by_stream_cap_when_blocked)
{
	setup_caps(16, 0);
	tcp_stream_syn(&S, 0);
	seg(11, "aaaaaaaaaa");     /* 10 buffered behind hole 1..10 */
	seg(21, "bbbbbb");         /* 16: cap reached exactly */
	cr_assert_eq(S.ooo_bytes, 16);
	cr_assert_eq(R.stats.dropped_stream_cap, 0);
	cr_assert_eq(K.calls, 0);
	/* No room: the hole is given up, buffered data delivered, and the
	 * new segment (now in order) delivered too. */
	seg(27, "cc");
	cr_assert_str_eq(K.out, "<10>aaaaaaaaaabbbbbbcc");
	cr_assert_eq(R.stats.gaps, 1);
	cr_assert_eq(R.stats.dropped_stream_cap, 0, "nothing dropped: gap made room");
	cr_assert_eq(R.total_bytes, 0);
}

Test(tcp_reasm, gap_by_cap_skips_to_the_new_segment_when_it_is_first)
{
	setup_caps(8, 0);
	tcp_stream_syn(&S, 0);
	seg(21, "AAAAAAAA");       /* 21..28 fills the cap */
	seg(11, "xy");             /* before it: gap to 11, deliver it */
	cr_assert_str_eq(K.out, "<10>xy");
	cr_assert_eq(S.ooo_bytes, 8);
	cr_assert_eq(S.next_seq, 13);
	seg(13, "zzzzzzzz");       /* fills 13..20 then AAAA follows */
	cr_assert_str_eq(K.out, "<10>xyzzzzzzzzAAAAAAAA");
}

Test(tcp_reasm, segment_larger_than_cap_dropped_and_counted)
{
	setup_caps(4, 0);
	tcp_stream_syn(&S, 0);
	seg(11, "0123456789");     /* cannot be buffered, nothing held */
	cr_assert_eq(R.stats.dropped_stream_cap, 10);
	cr_assert_eq(S.ooo_bytes, 0);
	cr_assert_eq(K.calls, 0);
	/* In order, it needs no buffer. */
	seg(1, "0123456789");
	cr_assert_str_eq(K.out, "0123456789");
}

Test(tcp_reasm, pending_over_cap_dropped_with_gap)
{
	setup_caps(8, 0);
	K.mode = EAT_NONE;
	tcp_stream_syn(&S, 0);
	seg(1, "abcde");
	cr_assert_eq(S.pending_len, 5);
	seg(6, "fghij");           /* 10 > 8: the 5 unused go */
	cr_assert_eq(R.stats.dropped_stream_cap, 5);
	cr_assert_eq(K.gaps, 1);
	cr_assert_eq(K.gap_bytes, 5);
	cr_assert_eq(S.pending_len, 5);
	cr_assert_eq(memcmp(K.last_ptr, "fghij", 5), 0);
	K.mode = EAT_ALL;
	seg(11, "k");
	cr_assert_str_eq(K.out, "<5>fghijk");
	/* A tail that alone exceeds the cap is dropped as well. */
	K.mode = EAT_NONE;
	seg(12, "0123456789");
	cr_assert_eq(R.stats.dropped_stream_cap, 15);
	cr_assert_eq(K.gap_bytes, 15);
	cr_assert_eq(S.pending_len, 0);
	cr_assert_eq(S.next_seq, 22);
}

Test(tcp_reasm, global_cap_shared_and_accounted)
{
	struct tcp_stream s2;
	memset(&s2, 0, sizeof(s2));
	/* Per-stream cap large; the global cap smaller than two segments
	 * (plus their headers). */
	setup_caps(4096, 700);
	tcp_stream_syn(&S, 0);
	tcp_stream_syn(&s2, 0);
	static uint8_t big[400];
	memset(big, 'x', sizeof(big));
	tcp_stream_segment(&R, &S, 101, big, sizeof(big), 0, &C);
	size_t one = R.total_bytes;
	cr_assert_gt(one, 400);
	cr_assert_lt(one, 700);
	tcp_stream_segment(&R, &s2, 101, big, sizeof(big), 0, &C);
	cr_assert_eq(R.stats.dropped_total_cap, 400, "s2 holds nothing: its segment is dropped");
	cr_assert_eq(R.total_bytes, one);
	cr_assert_eq(s2.ooo_bytes, 0);
	/* Freeing the other stream gives the memory back. */
	tcp_stream_free(&R, &S);
	cr_assert_eq(R.total_bytes, 0);
	tcp_stream_segment(&R, &s2, 101, big, sizeof(big), 0, &C);
	cr_assert_eq(s2.ooo_bytes, 400);
	cr_assert_eq(R.total_bytes, one);
	tcp_stream_free(&R, &s2);
	cr_assert_eq(R.total_bytes, 0);
}

Test(tcp_reasm, global_cap_gap_when_blocked)
{
	setup_caps(4096, 300);
	tcp_stream_syn(&S, 0);
	static uint8_t a[200], b[200];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	tcp_stream_segment(&R, &S, 11, a, sizeof(a), 0, &C);
	tcp_stream_segment(&R, &S, 211, b, sizeof(b), 0, &C);
	/* b did not fit; the stream held a: gap to a, deliver a, then b. */
	cr_assert_eq(K.gaps, 1);
	cr_assert_eq(K.gap_bytes, 10);
	cr_assert_eq(R.stats.bytes_delivered, 400);
	cr_assert_eq(R.stats.dropped_total_cap, 0);
	cr_assert_eq(R.total_bytes, 0);
}

Test(tcp_reasm, flush_delivers_with_gaps_for_holes)
{
	K.mode = EAT_UNTIL_NL;
	tcp_stream_syn(&S, 0);
	seg(1, "ok\npart");
	seg(16, "one\n");          /* hole 8..15 */
	seg(25, "two\nhalf");      /* hole 20..24 */
	cr_assert_gt(R.total_bytes, 0);
	tcp_stream_flush(&R, &S, &C);
	/* "part" is lost with the first hole; "half" never completes. */
	cr_assert_str_eq(K.out, "ok\n<12>one\n<5>two\n<4>");
	cr_assert_eq(R.stats.gaps, 3);
	cr_assert_eq(R.total_bytes, 0);
	cr_assert_eq(S.ooo, NULL);
	cr_assert_eq(S.pending, NULL);
	cr_assert_eq(S.started, 0);
}

Test(tcp_reasm, flush_reports_missing_bytes_before_fin)
{
	tcp_stream_syn(&S, 0);
	seg(1, "abc");
	seg_fin(8, "xyz");         /* FIN at 11; 4..7 missing */
	tcp_stream_flush(&R, &S, &C);
	cr_assert_str_eq(K.out, "abc<4>xyz");
}

Test(tcp_reasm, free_does_not_deliver)
{
	tcp_stream_syn(&S, 0);
	seg(5, "later");
	tcp_stream_free(&R, &S);
	cr_assert_eq(K.calls, 0);
	cr_assert_eq(K.gaps, 0);
	cr_assert_eq(R.total_bytes, 0);
	cr_assert_eq(S.started, 0);
	/* Freeing twice is harmless. */
	tcp_stream_free(&R, &S);
	cr_assert_eq(R.total_bytes, 0);
}

Test(tcp_reasm, midstream_pickup)
{
	seg(0x12345678u, "mid");
	cr_assert(S.started);
	cr_assert_eq(R.stats.midstream_pickups, 1);
	cr_assert_str_eq(K.out, "mid");
	seg(0x12345678u + 3, "dle");
	cr_assert_str_eq(K.out, "middle");
	/* Data from before the pick-up point cannot be placed. */
	seg(0x12345670u, "earlier!");
	cr_assert_eq(R.stats.retransmitted_bytes, 8);
	cr_assert_eq(R.stats.midstream_pickups, 1);
	/* A FIN without data does not start a stream. */
	struct tcp_stream s2;
	memset(&s2, 0, sizeof(s2));
	tcp_stream_segment(&R, &s2, 77, NULL, 0, 1, &C);
	cr_assert_eq(s2.started, 0);
	cr_assert_eq(R.stats.midstream_pickups, 1);
}

Test(tcp_reasm, data_after_fin_ignored)
{
	tcp_stream_syn(&S, 0);
	seg_fin(1, "end");
	seg(4, "junk");
	seg(2, "ndMORE");          /* trimmed at the FIN, and old */
	cr_assert_str_eq(K.out, "end");
	cr_assert_eq(S.next_seq, 4);
	cr_assert_eq(R.stats.retransmitted_bytes, 2);
	/* Out of order before the FIN is still taken. */
	struct tcp_stream *s = &S;
	tcp_stream_free(&R, s);
	tcp_stream_syn(s, 0);
	seg_fin(6, "fin");         /* FIN at 9, data 6..8 */
	seg(4, "xxTOOLONG");       /* 4..12: keeps 4,5 only */
	cr_assert_eq(s->ooo_bytes, 5);
	seg(1, "abc");
	cr_assert_str_eq(K.out, "endabcxxfin");
}

Test(tcp_reasm, fin_contradicting_buffered_data_ignored)
{
	tcp_stream_syn(&S, 0);
	seg(11, "later");          /* 11..15 */
	seg_fin(1, "ab");          /* would end at 3 */
	cr_assert_eq(S.fin_seen, 0);
	seg(3, "cdefghij");
	cr_assert_str_eq(K.out, "abcdefghijlater");
}

Test(tcp_reasm, empty_segment_is_nothing)
{
	tcp_stream_syn(&S, 0);
	tcp_stream_segment(&R, &S, 1, NULL, 0, 0, &C);
	cr_assert_eq(R.stats.segments, 0);
	cr_assert_eq(K.calls, 0);
}

Test(tcp_reasm, far_ahead_segment_dropped)
{
	tcp_stream_syn(&S, 0);
	seg(1 + (1u << 30), "far");    /* ends beyond the 1 GiB window */
	cr_assert_eq(R.stats.dropped_stream_cap, 3);
	cr_assert_eq(S.ooo_bytes, 0);
	seg((1u << 30) - 2, "ok");     /* ends inside it */
	cr_assert_eq(S.ooo_bytes, 2);
}

Test(tcp_reasm, large_pending_buffer_released_when_empty)
{
	setup_caps(1 << 20, 0);
	K.mode = EAT_NONE;
	tcp_stream_syn(&S, 0);
	static uint8_t big[40000];
	memset(big, 'q', sizeof(big));
	tcp_stream_segment(&R, &S, 1, big, sizeof(big), 0, &C);
	cr_assert_geq(S.pending_cap, sizeof(big));
	cr_assert_eq(R.total_bytes, S.pending_cap);
	K.mode = EAT_ALL;
	seg(1 + sizeof(big), "!");
	cr_assert_eq(S.pending_len, 0);
	cr_assert_eq(S.pending, NULL);
	cr_assert_eq(R.total_bytes, 0);
	cr_assert_eq(R.stats.bytes_delivered, sizeof(big) + 1);
}

Test(tcp_reasm, out_of_order_segment_count_bounded)
{
	setup_caps(1 << 20, 0);
	tcp_stream_syn(&S, 0);
	/* Single bytes at every other position: 3000 of them. */
	for (uint32_t i = 0; i < 3000; i++)
		seg(3 + 2 * i, "o");
	cr_assert_leq(S.ooo_segs, 2048);
	cr_assert_gt(R.stats.gaps, 0, "blocked by a hole with the list full: gap");
	cr_assert_eq(S.next_seq + 2 * S.ooo_segs, 3 + 2 * 3000 - 1,
		     "delivered up to the first held byte");
	tcp_stream_flush(&R, &S, &C);
	/* After the flush: each byte at 3,5,...,6001 delivered; the holes
	 * (1..2, then every even position) are gaps. */
	cr_assert_eq(R.stats.bytes_delivered, 3000);
	cr_assert_eq(R.stats.gap_bytes, 3001);
	cr_assert_eq(R.stats.dropped_stream_cap, 0);
}
