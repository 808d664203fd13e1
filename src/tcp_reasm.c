/*
 * TCP reassembly, one direction at a time (see tcp_reasm.h).
 *
 * Stream state, all sequence numbers modulo 2^32:
 *
 *      consumed    | pending (shown, not used) | hole | ooo | hole | ooo ...
 *                  ^                           ^
 *        next_seq - pending_len             next_seq
 *
 * - Bytes below next_seq were handed to the consumer; the last pending_len
 *   of them it has not used yet and they are kept in `pending`.
 * - `ooo` holds out-of-order data, sorted, never overlapping, every
 *   segment starting strictly after next_seq (a segment that reaches
 *   next_seq is delivered at once).
 * - Everything lies within TCP_MAX_AHEAD (1 GiB) of next_seq, so signed
 *   32-bit differences order any two sequence numbers we keep.
 *
 * Overlaps: the first data received wins.  New bytes below next_seq are
 * retransmissions (counted, dropped); new bytes over buffered out-of-order
 * data are overlaps (counted, dropped); only the parts of a segment that
 * fall in holes are used.
 *
 * Memory: per stream, pending_len + ooo_bytes <= max_stream_bytes and at
 * most TCP_OOO_MAX_SEGS out-of-order segments; in total, r->total_bytes
 * (pending capacity + out-of-order segments with their headers) <=
 * max_total_bytes.  What cannot be kept is counted (dropped_*_cap) and,
 * when it leaves a hole the stream is blocked on, reported as a gap.
 *
 * Gaps: a gap of n bytes tells the consumer that n bytes are lost before
 * what it is given next.  Unused pending bytes cannot be presented again
 * contiguously with what follows a hole, so they are part of the gap.
 * Invariant (checked by the fuzzer): over the life of a stream,
 * bytes_delivered + gap_bytes == the stream's length up to next_seq,
 * minus what is still pending.
 */
#include <stdlib.h>
#include <string.h>
#include "tcp_reasm.h"

#define TCP_DEFAULT_STREAM_BYTES ((size_t)256 * 1024)
#define TCP_DEFAULT_TOTAL_BYTES ((size_t)256 * 1024 * 1024)
/* Nothing is kept or acted on further than this ahead of next_seq: TCP's
 * largest window (2^30 with window scaling).  Acks further ahead come
 * from a stream picked up mid-way or from junk and are ignored. */
#define TCP_MAX_AHEAD (1u << 30)
/* Bounds the work of an insertion and the header overhead of a stream
 * fed tiny out-of-order segments. */
#define TCP_OOO_MAX_SEGS 2048u
/* Pending buffer: first allocation, and the largest kept for reuse once
 * empty (a bigger one came from one big message; give it back). */
#define TCP_PENDING_MIN 512u
#define TCP_PENDING_KEEP 16384u

struct tcp_ooo_seg {
	struct tcp_ooo_seg *next;
	uint64_t ts_usec;            /* capture time of the segment */
	uint32_t seq;
	uint32_t len;
	uint8_t data[];
};

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

static inline uint32_t seg_end(const struct tcp_ooo_seg *g)
{
	return g->seq + g->len;
}

static inline size_t seg_mem(uint32_t len)
{
	return sizeof(struct tcp_ooo_seg) + len;
}

static size_t stream_cap(const struct tcp_reasm *r)
{
	return r->max_stream_bytes < TCP_MAX_AHEAD ? r->max_stream_bytes : TCP_MAX_AHEAD;
}

void tcp_reasm_init(struct tcp_reasm *r, size_t max_stream_bytes, size_t max_total_bytes)
{
	memset(r, 0, sizeof(*r));
	r->max_stream_bytes = max_stream_bytes ? max_stream_bytes : TCP_DEFAULT_STREAM_BYTES;
	r->max_total_bytes = max_total_bytes ? max_total_bytes : TCP_DEFAULT_TOTAL_BYTES;
}

void tcp_stream_syn(struct tcp_stream *s, uint32_t seq)
{
	/* A repeated SYN, or one after data started the stream, changes
	 * nothing: what we already have was first. */
	if (s->started)
		return;
	s->next_seq = seq + 1;
	s->started = 1;
}

/* ---- consumer ----------------------------------------------------------- */

static void report_gap(struct tcp_reasm *r, const struct tcp_consumer *c, uint64_t len)
{
	while (len) {
		uint32_t n = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
		if (c && c->gap)
			c->gap(c->arg, n);
		r->stats.gaps++;
		r->stats.gap_bytes += n;
		len -= n;
	}
}

/* One call per delivery: the consumer parses what it can and says how much
 * it used; the rest comes back with the next bytes. */
static size_t consume(struct tcp_reasm *r, const struct tcp_consumer *c, const uint8_t *d, size_t n)
{
	size_t u = (c && c->deliver) ? c->deliver(c->arg, d, n) : n;

	if (u > n)
		u = n;
	r->stats.bytes_delivered += u;
	return u;
}

/* ---- pending buffer ----------------------------------------------------- */

static void pending_release(struct tcp_reasm *r, struct tcp_stream *s)
{
	r->total_bytes -= s->pending_cap;
	free(s->pending);
	s->pending = NULL;
	s->pending_cap = 0;
	s->pending_len = 0;
}

static void pending_clear(struct tcp_reasm *r, struct tcp_stream *s)
{
	s->pending_len = 0;
	if (s->pending_cap > TCP_PENDING_KEEP)
		pending_release(r, s);
}

/* Room for `need` pending bytes.  NULL when there is, else the counter of
 * the cap that refused. */
static uint64_t *pending_reserve(struct tcp_reasm *r, struct tcp_stream *s, size_t need)
{
	size_t cap = stream_cap(r);

	if (need > cap || s->ooo_bytes > cap - need)
		return &r->stats.dropped_stream_cap;
	if (need <= s->pending_cap)
		return NULL;

	size_t want = s->pending_cap ? (size_t)s->pending_cap * 2 : TCP_PENDING_MIN;
	if (want < need)
		want = need;
	if (want > cap)
		want = cap;
	size_t others = r->total_bytes - s->pending_cap;
	size_t avail = others < r->max_total_bytes ? r->max_total_bytes - others : 0;
	if (want > avail)
		want = need;
	if (want > avail)
		return &r->stats.dropped_total_cap;

	uint8_t *p;
	if (!s->pending_len) {  /* nothing to keep: no copy */
		free(s->pending);
		s->pending = NULL;
		r->total_bytes -= s->pending_cap;
		s->pending_cap = 0;
		p = malloc(want);
	} else {
		p = realloc(s->pending, want);
	}
	if (!p)
		return &r->stats.dropped_total_cap;
	s->pending = p;
	r->total_bytes += want - s->pending_cap;
	s->pending_cap = (uint32_t)want;
	return NULL;
}

/* n > 0 bytes at next_seq, in order: to the consumer (directly when nothing
 * is pending), the unused rest into pending. */
static void deliver_inorder(struct tcp_reasm *r, struct tcp_stream *s, const uint8_t *data,
			    size_t n, uint64_t ts_usec, const struct tcp_consumer *c)
{
	uint64_t *why;

	/* A message completed by these bytes was on the wire when they were. */
	r->data_usec = ts_usec;

	if (s->pending_len) {
		why = pending_reserve(r, s, (size_t)s->pending_len + n);
		if (!why) {
			memcpy(s->pending + s->pending_len, data, n);
			s->pending_len += (uint32_t)n;
			s->next_seq += (uint32_t)n;
			size_t u = consume(r, c, s->pending, s->pending_len);
			if (u == s->pending_len) {
				pending_clear(r, s);
			} else if (u) {
				memmove(s->pending, s->pending + u, s->pending_len - u);
				s->pending_len -= (uint32_t)u;
			}
			return;
		}
		/* The consumer will not use what it has and there is no room
		 * for more: drop it; it resynchronises after the gap. */
		uint32_t lost = s->pending_len;
		*why += lost;
		pending_clear(r, s);
		report_gap(r, c, lost);
	}

	size_t u = consume(r, c, data, n);
	s->next_seq += (uint32_t)n;
	if (u == n)
		return;
	size_t tail = n - u;
	why = pending_reserve(r, s, tail);
	if (why) {
		*why += tail;
		report_gap(r, c, tail);
		return;
	}
	memcpy(s->pending, data + u, tail);
	s->pending_len = (uint32_t)tail;
}

/* ---- out-of-order list -------------------------------------------------- */

static struct tcp_ooo_seg *ooo_pop(struct tcp_reasm *r, struct tcp_stream *s)
{
	struct tcp_ooo_seg *g = s->ooo;

	s->ooo = g->next;
	if (!s->ooo)
		s->ooo_tail = NULL;
	s->ooo_bytes -= g->len;
	s->ooo_segs--;
	r->total_bytes -= seg_mem(g->len);
	return g;
}

/* Deliver the buffered segments that now start at next_seq. */
static void drain(struct tcp_reasm *r, struct tcp_stream *s, const struct tcp_consumer *c)
{
	while (s->ooo && s->ooo->seq == s->next_seq) {
		struct tcp_ooo_seg *g = ooo_pop(r, s);
		deliver_inorder(r, s, g->data, g->len, g->ts_usec, c);
		free(g);
	}
}

/* Give up on [next_seq, target): the pending bytes and the hole are one
 * gap; then deliver what is buffered from target on. */
static void gap_to(struct tcp_reasm *r, struct tcp_stream *s, uint32_t target,
		   const struct tcp_consumer *c)
{
	uint32_t hole = target - s->next_seq;

	if (hole) {
		uint64_t lost = (uint64_t)s->pending_len + hole;
		pending_clear(r, s);
		s->next_seq = target;
		report_gap(r, c, lost);
	}
	drain(r, s, c);
}

/* Copy [seq, seq+len) into the list.  `prev` is a segment ending at or
 * before seq, or NULL to search from the head.  The range overlaps nothing
 * buffered.  NULL (and *why) when a cap refuses. */
static struct tcp_ooo_seg *ooo_insert(struct tcp_reasm *r, struct tcp_stream *s,
				      struct tcp_ooo_seg *prev, uint32_t seq,
				      const uint8_t *data, uint32_t len, uint64_t **why)
{
	size_t cap = stream_cap(r);
	size_t mem = seg_mem(len);

	if ((size_t)s->pending_len + s->ooo_bytes + len > cap || s->ooo_segs >= TCP_OOO_MAX_SEGS) {
		*why = &r->stats.dropped_stream_cap;
		return NULL;
	}
	if (r->total_bytes > r->max_total_bytes || mem > r->max_total_bytes - r->total_bytes) {
		*why = &r->stats.dropped_total_cap;
		return NULL;
	}
	struct tcp_ooo_seg *g = malloc(mem);
	if (!g) {
		*why = &r->stats.dropped_total_cap;
		return NULL;
	}
	g->seq = seq;
	g->len = len;
	g->ts_usec = r->now_usec;
	memcpy(g->data, data, len);

	if (s->ooo_tail && seq_diff(seg_end(s->ooo_tail), seq) <= 0)
		prev = s->ooo_tail;
	else if (!prev || seq_diff(prev->seq, seq) > 0)
		prev = NULL;
	if (!prev && s->ooo && seq_diff(s->ooo->seq, seq) < 0)
		prev = s->ooo;
	if (prev)
		while (prev->next && seq_diff(prev->next->seq, seq) < 0)
			prev = prev->next;
	if (prev) {
		g->next = prev->next;
		prev->next = g;
	} else {
		g->next = s->ooo;
		s->ooo = g;
	}
	if (!g->next)
		s->ooo_tail = g;
	s->ooo_bytes += len;
	s->ooo_segs++;
	r->total_bytes += mem;
	return g;
}

/* [seq, seq+len), after next_seq and over no buffered data: deliver it if
 * it is in order, else buffer it.  When a cap refuses and the stream holds
 * out-of-order data it is blocked on a hole: give the hole up (gap) to the
 * first data held, this segment included, deliver on, and try again.
 * Returns the new list segment, or NULL when the list changed otherwise. */
static struct tcp_ooo_seg *place(struct tcp_reasm *r, struct tcp_stream *s,
				 struct tcp_ooo_seg *prev, uint32_t seq, const uint8_t *data,
				 uint32_t len, const struct tcp_consumer *c)
{
	for (;;) {
		if (seq == s->next_seq) {
			deliver_inorder(r, s, data, len, r->now_usec, c);
			drain(r, s, c);
			return NULL;
		}
		uint64_t *why = NULL;
		struct tcp_ooo_seg *g = ooo_insert(r, s, prev, seq, data, len, &why);
		if (g)
			return g;
		if (!s->ooo) {
			*why += len;
			return NULL;
		}
		uint32_t target = seq_diff(s->ooo->seq, seq) < 0 ? s->ooo->seq : seq;
		gap_to(r, s, target, c);
		prev = NULL;
	}
}

/* A segment entirely within [next_seq, next_seq + TCP_MAX_AHEAD). */
static void segment_in_window(struct tcp_reasm *r, struct tcp_stream *s, uint32_t seq,
			      const uint8_t *data, uint32_t len, const struct tcp_consumer *c)
{
	struct tcp_ooo_seg *prev = NULL;  /* ends at or before cur; NULL: from head */
	uint32_t cur = seq, end = seq + len;

	while (seq_diff(end, cur) > 0) {
		if (seq_diff(s->next_seq, cur) > 0) {
			/* Buffered data reached next_seq and was delivered over
			 * this range: it came first. */
			uint32_t upto = seq_diff(s->next_seq, end) < 0 ? s->next_seq : end;
			r->stats.overlap_bytes += upto - cur;
			cur = upto;
			prev = NULL;
			continue;
		}
		const uint8_t *p = data + (cur - seq);
		if (cur == s->next_seq) {
			uint32_t lim = end;
			if (s->ooo && seq_diff(s->ooo->seq, end) < 0)
				lim = s->ooo->seq;
			deliver_inorder(r, s, p, lim - cur, r->now_usec, c);
			cur = lim;
			drain(r, s, c);
			prev = NULL;
			continue;
		}
		/* First buffered segment ending after cur. */
		struct tcp_ooo_seg *g;
		if (s->ooo_tail && seq_diff(seg_end(s->ooo_tail), cur) <= 0) {
			prev = s->ooo_tail;
			g = NULL;
		} else {
			g = prev ? prev->next : s->ooo;
			while (g && seq_diff(seg_end(g), cur) <= 0) {
				prev = g;
				g = g->next;
			}
		}
		if (g && seq_diff(g->seq, cur) <= 0) {
			uint32_t upto = seq_diff(seg_end(g), end) < 0 ? seg_end(g) : end;
			r->stats.overlap_bytes += upto - cur;
			cur = upto;
			prev = g;
			continue;
		}
		uint32_t lim = (g && seq_diff(g->seq, end) < 0) ? g->seq : end;
		prev = place(r, s, prev, cur, p, lim - cur, c);
		cur = lim;
	}
}

void tcp_stream_segment(struct tcp_reasm *r, struct tcp_stream *s, uint32_t seq,
			const uint8_t *data, size_t len, int fin,
			const struct tcp_consumer *c)
{
	if (len)
		r->stats.segments++;
	if (!s->started) {
		if (!len)
			return;  /* nothing tells where the stream is */
		s->started = 1;
		s->next_seq = seq;
		r->stats.midstream_pickups++;
	}
	if (len > TCP_MAX_AHEAD) {  /* no such TCP segment */
		r->stats.dropped_stream_cap += len;
		return;
	}
	uint32_t n = (uint32_t)len;
	uint32_t end = seq + n;

	/* The first FIN counts, unless it contradicts data we already have
	 * (ends before what was delivered or before buffered data). */
	if (fin && !s->fin_seen && seq_diff(end, s->next_seq) >= 0 &&
	    !(s->ooo_tail && seq_diff(seg_end(s->ooo_tail), end) > 0)) {
		s->fin_seen = 1;
		s->fin_seq = end;
	}
	if (!n)
		return;
	if (s->fin_seen) {
		if (seq_diff(seq, s->fin_seq) >= 0)
			return;  /* after the end: not stream data */
		if (seq_diff(end, s->fin_seq) > 0) {
			n = s->fin_seq - seq;
			end = s->fin_seq;
		}
	}
	if (seq_diff(seq, s->next_seq) < 0) {
		uint32_t behind = s->next_seq - seq;
		if (behind >= n) {
			r->stats.retransmitted_bytes += n;
			return;
		}
		r->stats.retransmitted_bytes += behind;
		data += behind;
		n -= behind;
		seq = s->next_seq;
	}
	if (end - s->next_seq > TCP_MAX_AHEAD) {  /* beyond any window */
		r->stats.dropped_stream_cap += n;
		return;
	}
	if (seq != s->next_seq)
		r->stats.out_of_order_segments++;
	segment_in_window(r, s, seq, data, n, c);
}

void tcp_stream_ack(struct tcp_reasm *r, struct tcp_stream *s, uint32_t ack,
		    const struct tcp_consumer *c)
{
	if (!s->started)
		return;
	int32_t ahead = seq_diff(ack, s->next_seq);
	/* Not ahead: nothing to learn.  More than a window ahead: this is not
	 * a position in the stream we track (a stream picked up mid-way whose
	 * first segment we saw was not the one the peer acknowledges next,
	 * or junk); acting on it would declare a gigabyte lost. */
	if (ahead <= 0 || (uint32_t)ahead > TCP_MAX_AHEAD)
		return;
	/* The FIN takes a sequence number but carries no data. */
	if (s->fin_seen && seq_diff(ack, s->fin_seq) > 0)
		ack = s->fin_seq;
	while (seq_diff(ack, s->next_seq) > 0) {
		uint32_t target = ack;
		if (s->ooo && seq_diff(s->ooo->seq, target) < 0)
			target = s->ooo->seq;
		gap_to(r, s, target, c);
	}
}

void tcp_stream_flush(struct tcp_reasm *r, struct tcp_stream *s, const struct tcp_consumer *c)
{
	if (s->started) {
		while (s->ooo)
			gap_to(r, s, s->ooo->seq, c);
		/* Bytes the consumer never used, and the part before a FIN
		 * that never came, are lost too: say so. */
		uint64_t lost = s->pending_len;
		if (s->fin_seen && seq_diff(s->fin_seq, s->next_seq) > 0)
			lost += s->fin_seq - s->next_seq;
		if (lost)
			report_gap(r, c, lost);
	}
	tcp_stream_free(r, s);
}

void tcp_stream_free(struct tcp_reasm *r, struct tcp_stream *s)
{
	struct tcp_ooo_seg *g = s->ooo;

	while (g) {
		struct tcp_ooo_seg *next = g->next;
		r->total_bytes -= seg_mem(g->len);
		free(g);
		g = next;
	}
	r->total_bytes -= s->pending_cap;
	free(s->pending);
	memset(s, 0, sizeof(*s));
}
