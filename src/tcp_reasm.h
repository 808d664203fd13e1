/*
 * TCP reassembly, one direction at a time.  Turns segments (in any order,
 * repeated, overlapping) into an ordered byte stream handed to a consumer
 * callback, which says how much it used; the rest is kept until more
 * arrives.  Overlaps: the first data received wins.  A hole that cannot be
 * filled (out-of-order buffer full, or the flow ends) becomes a gap: the
 * consumer is told, then delivery goes on after it.
 *
 * Common path (in-order segment, consumer takes it all): no copy, no
 * allocation.  Memory is bounded per stream and in total; every byte
 * dropped is counted.
 */
#ifndef X1367_TCP_REASM_H
#define X1367_TCP_REASM_H

#include <stddef.h>
#include <stdint.h>

struct tcp_reasm_stats {
	uint64_t segments;           /* segments with payload */
	uint64_t bytes_delivered;
	uint64_t retransmitted_bytes; /* already delivered: dropped as duplicates */
	uint64_t overlap_bytes;      /* overlapping buffered data: first data won */
	uint64_t out_of_order_segments;
	uint64_t gaps;               /* holes reported to the consumer */
	uint64_t gap_bytes;
	uint64_t dropped_stream_cap; /* bytes not buffered: per-stream cap */
	uint64_t dropped_total_cap;  /* bytes not buffered: global cap */
	uint64_t midstream_pickups;  /* streams started without a SYN */
};

struct tcp_reasm {
	size_t max_stream_bytes;     /* pending + out-of-order per direction (default 256 KiB) */
	size_t max_total_bytes;      /* all directions of all flows (default 256 MiB) */
	size_t total_bytes;          /* currently held: pending buffers' capacity
	                              * + out-of-order segments with their headers */
	/* Capture time: the caller sets now_usec to the current packet's time
	 * before each call; during a consumer call, data_usec is the time of
	 * the segment whose bytes are being delivered (earlier than now for a
	 * segment that waited out of order). */
	uint64_t now_usec;
	uint64_t data_usec;
	struct tcp_reasm_stats stats;
};

struct tcp_ooo_seg;              /* private to tcp_reasm.c */

struct tcp_stream {
	uint32_t next_seq;           /* next byte expected in order */
	uint8_t started;             /* next_seq is valid */
	uint8_t fin_seen;
	uint8_t *pending;            /* unconsumed in-order bytes */
	uint32_t pending_len, pending_cap;
	struct tcp_ooo_seg *ooo;     /* sorted by seq, non-overlapping */
	uint32_t ooo_bytes;          /* payload bytes in ooo */
	uint32_t fin_seq;            /* sequence number of the FIN, when fin_seen */
	uint32_t ooo_segs;           /* segments in ooo (bounded) */
	struct tcp_ooo_seg *ooo_tail; /* last of ooo: in-window appends are O(1) */
};

struct tcp_consumer {
	/* In-order bytes: return how many were used (<= len).  Unused bytes are
	 * kept and presented again, with what follows, on the next call. */
	size_t (*deliver)(void *arg, const uint8_t *data, size_t len);
	/* `len` bytes were lost before what is delivered next. */
	void (*gap)(void *arg, uint32_t len);
	void *arg;
};

void tcp_reasm_init(struct tcp_reasm *r, size_t max_stream_bytes, size_t max_total_bytes);

/* A SYN (or SYN/ACK) from this direction: the stream starts at seq + 1. */
void tcp_stream_syn(struct tcp_stream *s, uint32_t seq);

/* One segment's payload.  A stream with no SYN seen starts at the first
 * segment with data (mid-stream pick-up, counted).  `fin` marks the end. */
void tcp_stream_segment(struct tcp_reasm *r, struct tcp_stream *s, uint32_t seq,
			const uint8_t *data, size_t len, int fin,
			const struct tcp_consumer *c);

/* The other direction acknowledged up to `ack`: bytes of this stream
 * below it that the capture never showed will not come again (the
 * receiver has them), so a hole below `ack` becomes a gap at once and
 * delivery resumes after it (SPAN ports drop packets). */
void tcp_stream_ack(struct tcp_reasm *r, struct tcp_stream *s, uint32_t ack,
		    const struct tcp_consumer *c);

/* The flow ends: deliver what is buffered after holes (each hole is a
 * gap), then release everything. */
void tcp_stream_flush(struct tcp_reasm *r, struct tcp_stream *s, const struct tcp_consumer *c);

/* Release buffers without delivering (flow evicted under pressure). */
void tcp_stream_free(struct tcp_reasm *r, struct tcp_stream *s);

#endif
