/*
 * IPv4 and IPv6 fragment reassembly.
 *
 * Layout:
 *   - a fixed array of max_datagrams datagram slots, allocated once, with a
 *     free list: the table can never grow, whatever the traffic;
 *   - a chained hash (indices, not pointers) over the key
 *     (family, src, dst, id, proto) so a fragment finds its datagram
 *     without scanning the table;
 *   - an age list in arrival order of each datagram's first fragment, so
 *     expiry looks only at the oldest entries (capture time is nearly
 *     monotonic; a timestamp that goes backwards only delays expiry);
 *   - per datagram, its fragments in a list sorted by offset, each a copy
 *     of the fragment's payload.  Copies are exactly as large as the data
 *     received, so a lone fragment at offset 65000 costs a few bytes, not a
 *     64 KiB buffer;
 *   - one 64 KiB output buffer, reused for every completed datagram.
 *
 * Policy:
 *   - Overlap: any fragment whose range intersects one already held drops
 *     the whole datagram (RFC 5722 for IPv6, and the same for IPv4).  A
 *     sensor that picked "first wins" or "last wins" could see different
 *     bytes than the end host (teardrop/evasion); refusing to reassemble
 *     is the only answer that cannot be wrong.  An exact duplicate (same
 *     offset, length and bytes: a retransmission or a duplicated frame) is
 *     not an overlap and is ignored.
 *   - A dropped datagram's slot stays "dead" until it times out, so its
 *     remaining fragments are dropped too instead of starting a new
 *     datagram that could never complete.  The datagram is counted once.
 *   - Table full (after expiring): the new datagram is refused and counted
 *     in dropped_table_full; nothing already held is evicted.
 *   - Byte cap: a fragment that would push the buffered bytes over
 *     max_bytes drops its datagram (counted in dropped_bytes_cap).  Bytes
 *     count the fragment payload plus its bookkeeping node, so floods of
 *     tiny fragments are bounded too.
 *   - Offsets are measured in the payload after the IP header (IPv4) or
 *     the fragment header (IPv6); a datagram whose payload would end past
 *     65535 bytes is dropped as oversize.
 */
#include <stdlib.h>
#include <string.h>
#include "defrag.h"

#define DEFRAG_MAX_PAYLOAD 65535u
#define NIL UINT32_MAX

struct frag {
	struct frag *next;
	uint32_t offset;
	uint32_t len;
	uint8_t data[];
};

struct dgram {
	/* key */
	struct x1367_addr src, dst;
	uint32_t id;
	uint8_t proto;

	uint8_t in_use;
	uint8_t dead;               /* dropped: swallow its other fragments */
	uint8_t have_last;          /* the final fragment (MF=0) was seen */
	uint32_t total;             /* payload length, once have_last */
	uint32_t received;          /* payload bytes held (no overlaps) */
	uint32_t max_end;           /* largest offset+len held */
	uint64_t first_ts;          /* capture time of the first fragment */
	size_t bytes;               /* accounted bytes (payload + nodes) */

	struct frag *head, *tail;

	uint32_t hnext;             /* hash chain, or free list */
	uint32_t aprev, anext;      /* age list */
};

struct defrag {
	struct defrag_limits lim;
	struct defrag_stats st;
	size_t bytes;

	struct dgram *slots;
	uint32_t *buckets;
	uint32_t nbuckets;          /* power of two */
	uint32_t free_head;
	uint32_t age_head, age_tail;
	size_t in_use;

	uint8_t *out;               /* DEFRAG_MAX_PAYLOAD bytes */
};

/* ---- key and hash -------------------------------------------------------- */

static size_t addr_len(const struct x1367_addr *a)
{
	return a->family == X1367_IPV4 ? 4 : 16;
}

/* FNV-1a: the table is small and bounded, so chains stay short even under
 * a crafted key distribution (a chain can never exceed max_datagrams). */
static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

static uint32_t key_hash(const struct x1367_addr *src, const struct x1367_addr *dst,
			 uint32_t id, uint8_t proto)
{
	uint8_t tail[6] = {src->family, proto, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
			   (uint8_t)(id >> 8), (uint8_t)id};
	uint32_t h = 2166136261u;

	h = fnv(h, src->bytes, addr_len(src));
	h = fnv(h, dst->bytes, addr_len(dst));
	return fnv(h, tail, sizeof(tail));
}

static int key_eq(const struct dgram *g, const struct x1367_addr *src,
		  const struct x1367_addr *dst, uint32_t id, uint8_t proto)
{
	return g->id == id && g->proto == proto && g->src.family == src->family &&
	       g->dst.family == dst->family &&
	       memcmp(g->src.bytes, src->bytes, addr_len(src)) == 0 &&
	       memcmp(g->dst.bytes, dst->bytes, addr_len(dst)) == 0;
}

/* ---- table ---------------------------------------------------------------- */

struct defrag *defrag_new(const struct defrag_limits *lim)
{
	struct defrag *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	/* Zero (or no limits at all) means "the default". */
	d->lim.max_datagrams = lim && lim->max_datagrams ? lim->max_datagrams : 1024;
	d->lim.max_bytes = lim && lim->max_bytes ? lim->max_bytes : 16u << 20;
	d->lim.timeout_ms = lim && lim->timeout_ms ? lim->timeout_ms : 30000;
	if (d->lim.max_datagrams > (1u << 24))
		d->lim.max_datagrams = 1u << 24;   /* indices are 32-bit */

	d->nbuckets = 16;
	while (d->nbuckets < 2 * d->lim.max_datagrams)
		d->nbuckets <<= 1;
	d->slots = calloc(d->lim.max_datagrams, sizeof(*d->slots));
	d->buckets = malloc(d->nbuckets * sizeof(*d->buckets));
	d->out = malloc(DEFRAG_MAX_PAYLOAD);
	if (!d->slots || !d->buckets || !d->out) {
		defrag_free(d);
		return NULL;
	}
	for (uint32_t i = 0; i < d->nbuckets; i++)
		d->buckets[i] = NIL;
	for (size_t i = 0; i < d->lim.max_datagrams; i++)
		d->slots[i].hnext = i + 1 < d->lim.max_datagrams ? (uint32_t)(i + 1) : NIL;
	d->free_head = 0;
	d->age_head = d->age_tail = NIL;
	return d;
}

static void free_frags(struct defrag *d, struct dgram *g)
{
	struct frag *f = g->head;

	while (f) {
		struct frag *n = f->next;
		free(f);
		f = n;
	}
	g->head = g->tail = NULL;
	d->bytes -= g->bytes;
	g->bytes = 0;
}

void defrag_free(struct defrag *d)
{
	if (!d)
		return;
	if (d->slots)
		for (size_t i = 0; i < d->lim.max_datagrams; i++)
			if (d->slots[i].in_use)
				free_frags(d, &d->slots[i]);
	free(d->slots);
	free(d->buckets);
	free(d->out);
	free(d);
}

const struct defrag_stats *defrag_stats(const struct defrag *d)
{
	return &d->st;
}

size_t defrag_bytes_in_use(const struct defrag *d)
{
	return d->bytes;
}

static uint32_t slot_index(const struct defrag *d, const struct dgram *g)
{
	return (uint32_t)(g - d->slots);
}

/* Unlink from hash and age list, release fragments, back to the free list. */
static void dgram_remove(struct defrag *d, struct dgram *g)
{
	uint32_t idx = slot_index(d, g);
	uint32_t *pp = &d->buckets[key_hash(&g->src, &g->dst, g->id, g->proto) & (d->nbuckets - 1)];

	while (*pp != NIL && *pp != idx)
		pp = &d->slots[*pp].hnext;
	if (*pp == idx)
		*pp = g->hnext;

	if (g->aprev != NIL)
		d->slots[g->aprev].anext = g->anext;
	else
		d->age_head = g->anext;
	if (g->anext != NIL)
		d->slots[g->anext].aprev = g->aprev;
	else
		d->age_tail = g->aprev;

	free_frags(d, g);
	memset(g, 0, sizeof(*g));
	g->hnext = d->free_head;
	d->free_head = idx;
	d->in_use--;
}

/* Keep the slot (dead) so later fragments of the same datagram are
 * recognised and dropped; release its memory now. */
static void dgram_kill(struct defrag *d, struct dgram *g)
{
	free_frags(d, g);
	g->dead = 1;
}

static struct dgram *dgram_find(struct defrag *d, uint32_t h, const struct x1367_addr *src,
				const struct x1367_addr *dst, uint32_t id, uint8_t proto)
{
	for (uint32_t i = d->buckets[h]; i != NIL; i = d->slots[i].hnext)
		if (key_eq(&d->slots[i], src, dst, id, proto))
			return &d->slots[i];
	return NULL;
}

static struct dgram *dgram_create(struct defrag *d, uint32_t h, uint64_t ts,
				  const struct x1367_addr *src, const struct x1367_addr *dst,
				  uint32_t id, uint8_t proto)
{
	uint32_t idx = d->free_head;

	if (idx == NIL)
		return NULL;
	struct dgram *g = &d->slots[idx];
	d->free_head = g->hnext;
	memset(g, 0, sizeof(*g));
	g->src = *src;
	g->dst = *dst;
	g->id = id;
	g->proto = proto;
	g->in_use = 1;
	g->first_ts = ts;

	g->hnext = d->buckets[h];
	d->buckets[h] = idx;

	g->anext = NIL;
	g->aprev = d->age_tail;
	if (d->age_tail != NIL)
		d->slots[d->age_tail].anext = idx;
	else
		d->age_head = idx;
	d->age_tail = idx;
	d->in_use++;
	return g;
}

void defrag_expire(struct defrag *d, uint64_t now_usec)
{
	uint64_t tmo = (uint64_t)d->lim.timeout_ms * 1000;

	while (d->age_head != NIL) {
		struct dgram *g = &d->slots[d->age_head];
		if (now_usec < g->first_ts || now_usec - g->first_ts < tmo)
			break;
		if (!g->dead)
			d->st.timed_out++;
		dgram_remove(d, g);
	}
}

/* ---- fragments ------------------------------------------------------------ */

/* Where a fragment at `off` goes in the offset-sorted list.  The common
 * cases (in order, reverse order) touch only the tail or the head. */
static void frag_position(const struct dgram *g, uint32_t off, struct frag **prev,
			  struct frag **next)
{
	*prev = NULL;
	*next = g->head;
	if (g->tail && g->tail->offset <= off) {
		*prev = g->tail;
		*next = NULL;
		return;
	}
	while (*next && (*next)->offset <= off) {
		*prev = *next;
		*next = (*next)->next;
	}
}

static int frag_is_dup(const struct frag *prev, uint32_t off, const uint8_t *data, uint32_t len)
{
	return prev && prev->offset == off && prev->len == len && memcmp(prev->data, data, len) == 0;
}

static int frag_overlaps(const struct frag *prev, const struct frag *next, uint32_t off,
			 uint32_t end)
{
	return (prev && prev->offset + prev->len > off) || (next && next->offset < end);
}

static int frag_insert(struct defrag *d, struct dgram *g, struct frag *prev, struct frag *next,
		       uint32_t off, const uint8_t *data, uint32_t len)
{
	struct frag *f = malloc(sizeof(*f) + len);

	if (!f)
		return -1;
	f->offset = off;
	f->len = len;
	memcpy(f->data, data, len);
	f->next = next;
	if (prev)
		prev->next = f;
	else
		g->head = f;
	if (!next)
		g->tail = f;
	g->received += len;
	if (off + len > g->max_end)
		g->max_end = off + len;
	g->bytes += sizeof(*f) + len;
	d->bytes += sizeof(*f) + len;
	return 0;
}

/* Whether a fragment contradicts the datagram's length: data past a known
 * end, two different ends, or an end before data already held. */
static int frag_inconsistent(const struct dgram *g, uint32_t end, int more)
{
	if (g->have_last && (end > g->total || (!more && end != g->total)))
		return 1;
	return !more && g->max_end > end;
}

/* Complete: non-overlapping fragments cover exactly [0, total). */
static void assemble(struct defrag *d, struct dgram *g, const uint8_t **out, size_t *out_len)
{
	for (struct frag *f = g->head; f; f = f->next)
		memcpy(d->out + f->offset, f->data, f->len);
	*out = d->out;
	*out_len = g->total;
}

/* Checks that need no state: returns 0 or a pointer to the stat to bump. */
static uint64_t *frag_invalid(struct defrag *d, uint32_t offset, int more, size_t len)
{
	if (len == 0 || (offset & 7) || (more && (len & 7)))
		return &d->st.dropped_bad;
	if (offset > DEFRAG_MAX_PAYLOAD || len > DEFRAG_MAX_PAYLOAD - offset)
		return &d->st.dropped_oversize;
	return NULL;
}

int defrag_add(struct defrag *d, uint64_t ts_usec, const struct x1367_addr *src,
	       const struct x1367_addr *dst, uint32_t id, uint8_t proto,
	       uint32_t offset, int more, const uint8_t *data, size_t len,
	       const uint8_t **out, size_t *out_len)
{
	d->st.fragments++;
	defrag_expire(d, ts_usec);

	uint32_t h = key_hash(src, dst, id, proto) & (d->nbuckets - 1);
	struct dgram *g = dgram_find(d, h, src, dst, id, proto);
	uint64_t *why = frag_invalid(d, offset, more, len);

	if (g && g->dead)
		return -1;      /* counted when the datagram died */
	if (why) {
		(*why)++;
		if (g)
			dgram_kill(d, g);
		return -1;
	}
	uint32_t end = offset + (uint32_t)len;
	struct frag *prev = NULL, *next = NULL;

	if (g) {
		frag_position(g, offset, &prev, &next);
		if (frag_is_dup(prev, offset, data, (uint32_t)len))
			return 0;
		if (frag_overlaps(prev, next, offset, end)) {
			d->st.dropped_overlap++;
			dgram_kill(d, g);
			return -1;
		}
		if (frag_inconsistent(g, end, more)) {
			d->st.dropped_bad++;
			dgram_kill(d, g);
			return -1;
		}
	}
	if (d->bytes + sizeof(struct frag) + len > d->lim.max_bytes) {
		d->st.dropped_bytes_cap++;
		if (g)
			dgram_kill(d, g);
		return -1;
	}
	if (!g) {
		g = dgram_create(d, h, ts_usec, src, dst, id, proto);
		if (!g) {
			d->st.dropped_table_full++;
			return -1;
		}
	}
	if (frag_insert(d, g, prev, next, offset, data, (uint32_t)len) < 0) {
		/* Out of memory is a byte limit the host imposed on us. */
		d->st.dropped_bytes_cap++;
		dgram_kill(d, g);
		return -1;
	}
	if (!more) {
		g->have_last = 1;
		g->total = end;
	}
	if (!g->have_last || g->received != g->total)
		return 0;

	assemble(d, g, out, out_len);
	d->st.reassembled++;
	dgram_remove(d, g);
	return 1;
}
