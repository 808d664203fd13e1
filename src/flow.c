/*
 * The flow table (see flow.h).
 *
 * - Hash table with chaining; a power-of-two bucket count >= max_flows
 *   (load factor <= 1).  The hash is a keyed multiply-fold hash over the
 *   normalised key with a random 128-bit key per table, so nobody outside
 *   can aim many flows at one bucket.
 * - Entries come from chunks of up to FLOW_CHUNK flows, allocated on
 *   demand up to max_flows and kept until the table is freed; released
 *   entries go to a free list.  Creating a flow allocates nothing except,
 *   once per FLOW_CHUNK flows, a new chunk.
 * - LRU lists ordered by last_seen (head: least recently seen).  Timeouts
 *   differ between TCP and the rest, so there is one list each: each list
 *   is expired from its head, stopping at its first flow not yet idle
 *   long enough, and an old TCP flow never hides an idle UDP one.  A third
 *   list holds flows whose `closed` flag is set, with the short grace
 *   timeout: they would hide behind open flows in the other lists too.
 *   The engine sets `closed` directly, usually while it processes the
 *   packet of the flow it just got or touched, so the table looks at that
 *   flow's flag again at its next operation (flow_get, flow_touch,
 *   flow_table_expire) and moves it to the closed list; a flow closed some
 *   other way is moved when next touched, or leaves at its idle timeout.
 * - Those three lists twice: once for flows without engine state, once
 *   for flows with it (dissector state or open requests, see flow.h),
 *   which the engine also gives while it processes the flow's packet and
 *   the table notices the same way.  A flow's list is recorded in it.
 * - flow_get marks the flow seen at the packet's time (as flow_touch).
 * - Full table: while at least 1/16 of the table's flows hold no state,
 *   one of them goes, so that a flood of half-open connections (one SYN
 *   each, from forged sources) cannot push out a connection whose request
 *   waits for its answer: a closed one (it has ended anyway), else the
 *   least recently seen of the TCP and other lists' heads.  With fewer
 *   flows without state the table is simply too small for the site: a
 *   closed flow first, else the least recently seen of all (as before the
 *   classes), so that a new connection is not pushed out by the next new
 *   one before its first payload.  A flood turns the first rule on after
 *   at most 1/16 of the table; a flood of flows with payload is not told
 *   apart.  List heads and counts looked at per eviction: O(1), nothing
 *   scanned.
 * - The release callback runs while the flow is still in the table; it
 *   must not call back into the table.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "addr.h"
#include "flow.h"

#define FLOW_INITIAL_BUCKETS 4096

#define FLOW_CHUNK 4096
#define FLOW_DEFAULT_MAX 262144
#define FLOW_DEFAULT_TCP_IDLE_MS 600000
#define FLOW_DEFAULT_UDP_IDLE_MS 120000
#define FLOW_CLOSED_GRACE_USEC (5 * 1000000ull)
#define FLOW_RESERVE_DIV 16            /* flows without state: 1/16 of the table */

/* Per class: TCP, other, closed; the class with state after the one
 * without. */
enum { LRU_TCP, LRU_OTHER, LRU_CLOSED, LRU_CLASS, LRU_N = 2 * LRU_CLASS };

struct flow_lru {
	struct flow *head, *tail;
	size_t n;
};

struct flow_chunk {
	struct flow_chunk *next;
	size_t n;
	struct flow flows[];
};

struct flow_table {
	struct flow **buckets;
	size_t mask;                   /* bucket count - 1 */
	size_t max_buckets;            /* the bucket count max_flows calls for */
	uint64_t k0, k1;               /* hash key */

	size_t max_flows;
	size_t reserve;                /* flows without state that make a flood */
	size_t allocated;              /* entries in chunks */
	struct flow_chunk *chunks;
	struct flow *free_list;        /* through hnext */

	struct flow_lru lru[LRU_N];
	struct flow *recent;           /* last flow handed out or touched */

	uint64_t tcp_idle_usec, udp_idle_usec;
	flow_release_fn release;
	void *arg;
	uint64_t next_id;
	struct flow_stats stats;
};

/* ---- keyed hash ------------------------------------------------------------
 * One 64x64->128 multiply per 8 bytes of key, folded (the wyhash mix), with
 * a random 128-bit key per table.  Not a cryptographic MAC like SipHash
 * (which cost 6% of the whole replay here), but an outsider who cannot
 * read the key cannot aim flows at one bucket; and chains are bounded by
 * the table's cap anyway. */

static uint64_t load64_le(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));   /* one load, whatever the alignment */
	return le64toh(v);
}

static inline uint64_t mix128(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t keyed_hash(uint64_t k0, uint64_t k1, const uint8_t *in, size_t len)
{
	uint64_t h = k0 ^ len;
	size_t i = 0;

	for (; i + 8 <= len; i += 8)
		h = mix128(h ^ load64_le(in + i), k1 | 1);
	if (i < len) {
		uint64_t tail = 0;
		memcpy(&tail, in + i, len - i);
		h = mix128(h ^ le64toh(tail), k1 | 1);
	}
	return mix128(h, 0x9E3779B97F4A7C15ull ^ k0);
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void random_key(uint64_t *k0, uint64_t *k1, const void *salt)
{
	uint64_t k[2];

	if (getrandom(k, sizeof(k), GRND_NONBLOCK) == (ssize_t)sizeof(k)) {
		*k0 = k[0];
		*k1 = k[1];
		return;
	}
	/* No entropy yet (early boot) or no getrandom: time, pid and an
	 * address make a key an attacker cannot easily guess in advance. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x ^= ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec;
	x ^= (uint64_t)getpid() << 16;
	x ^= (uint64_t)(uintptr_t)salt;
	*k0 = splitmix64(&x);
	*k1 = splitmix64(&x);
}

/* ---- keys ----------------------------------------------------------------- */

static void copy_addr(struct x1367_addr *dst, const struct x1367_addr *src)
{
	/* IPv4 uses 4 bytes: whatever follows them must not split a flow. */
	dst->family = src->family;
	memcpy(dst->bytes, src->bytes, src->family == X1367_IPV4 ? 4 : 16);
}

/* The key of a packet, the same for both directions: (a, port_a) is the
 * lower endpoint by address, then port.  Returns the side of the source. */
static int make_key(struct flow_key *k, const struct packet *p)
{
	int c = addr_cmp(&p->src, &p->dst);
	int side = (c > 0 || (c == 0 && p->sport > p->dport)) ? 1 : 0;

	memset(k, 0, sizeof(*k));  /* padding too: keys are hashed and compared as bytes */
	if (!side) {
		copy_addr(&k->a, &p->src);
		copy_addr(&k->b, &p->dst);
		k->port_a = p->sport;
		k->port_b = p->dport;
	} else {
		copy_addr(&k->a, &p->dst);
		copy_addr(&k->b, &p->src);
		k->port_a = p->dport;
		k->port_b = p->sport;
	}
	k->vlan = p->vlan;
	k->proto = p->l4proto;
	return side;
}

/* ---- lists ---------------------------------------------------------------- */

static int has_state(const struct flow *f)
{
	return f->dissected || f->dstate != NULL || f->txns.count != 0;
}

static int lru_of(const struct flow *f)
{
	int base = has_state(f) ? LRU_CLASS : 0;
	if (f->closed)
		return base + LRU_CLOSED;
	return base + (f->key.proto == IPPROTO_TCP ? LRU_TCP : LRU_OTHER);
}

static void lru_unlink(struct flow_table *t, struct flow *f)
{
	struct flow_lru *l = &t->lru[f->lru];

	if (f->lru_prev)
		f->lru_prev->lru_next = f->lru_next;
	else
		l->head = f->lru_next;
	if (f->lru_next)
		f->lru_next->lru_prev = f->lru_prev;
	else
		l->tail = f->lru_prev;
	l->n--;
	f->lru_prev = f->lru_next = NULL;
}

static void lru_append(struct flow_table *t, int i, struct flow *f)
{
	struct flow_lru *l = &t->lru[i];

	f->lru = (uint8_t)i;
	l->n++;
	f->lru_next = NULL;
	f->lru_prev = l->tail;
	if (l->tail)
		l->tail->lru_next = f;
	else
		l->head = f;
	l->tail = f;
}

static void lru_move_to_tail(struct flow_table *t, struct flow *f)
{
	int i = lru_of(f);

	if (f->lru == i && t->lru[i].tail == f)
		return;
	lru_unlink(t, f);
	lru_append(t, i, f);
}

/* The engine may have closed the flow it last got or touched, or given it
 * state: put it on its list (it was the most recently seen flow, so it
 * goes to the tail). */
static void check_recent(struct flow_table *t)
{
	struct flow *f = t->recent;

	t->recent = NULL;
	if (f && f->lru != lru_of(f))
		lru_move_to_tail(t, f);
}

/* ---- entries -------------------------------------------------------------- */

static int grow(struct flow_table *t)
{
	size_t n = t->max_flows - t->allocated;
	if (n > FLOW_CHUNK)
		n = FLOW_CHUNK;
	if (!n)
		return -1;
	struct flow_chunk *c = malloc(sizeof(*c) + n * sizeof(struct flow));
	if (!c)
		return -1;
	c->n = n;
	c->next = t->chunks;
	t->chunks = c;
	t->allocated += n;
	for (size_t i = n; i-- > 0;) {
		c->flows[i].hnext = t->free_list;
		t->free_list = &c->flows[i];
	}
	return 0;
}

static void hash_unlink(struct flow_table *t, struct flow *f)
{
	struct flow **pp = &t->buckets[f->hash & t->mask];

	while (*pp && *pp != f)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = f->hnext;
	f->hnext = NULL;
}

/* Release a flow and take it out of the table.  The entry is not yet on
 * the free list. */
static void remove_flow(struct flow_table *t, struct flow *f)
{
	if (t->release)
		t->release(f, t->arg);
	hash_unlink(t, f);
	lru_unlink(t, f);
	if (t->recent == f)
		t->recent = NULL;
	t->stats.active--;
}

static void to_free_list(struct flow_table *t, struct flow *f)
{
	f->hnext = t->free_list;
	t->free_list = f;
}

/* ---- the table ------------------------------------------------------------ */

/* Twice the buckets, every flow rehashed: once per doubling of the active
 * flows, so the cost per flow stays constant.  On allocation failure the
 * chains just get longer. */
static void grow_buckets(struct flow_table *t)
{
	size_t nb = (t->mask + 1) * 2;
	struct flow **b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i <= t->mask; i++)
		for (struct flow *f = t->buckets[i], *next; f; f = next) {
			next = f->hnext;
			f->hnext = b[f->hash & (nb - 1)];
			b[f->hash & (nb - 1)] = f;
		}
	free(t->buckets);
	t->buckets = b;
	t->mask = nb - 1;
}

struct flow_table *flow_table_new(size_t max_flows, uint32_t tcp_idle_ms,
				  uint32_t udp_idle_ms, flow_release_fn release, void *arg)
{
	struct flow_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max_flows = max_flows ? max_flows : FLOW_DEFAULT_MAX;
	t->reserve = t->max_flows / FLOW_RESERVE_DIV ? t->max_flows / FLOW_RESERVE_DIV : 1;
	size_t nb = 1;
	while (nb < t->max_flows && nb < ((size_t)1 << 30))
		nb <<= 1;
	/* Start small and double with the flows: a bucket array sized for
	 * the busy hour of a big site would miss the cache on every packet of
	 * a quiet one. */
	t->max_buckets = nb;
	if (nb > FLOW_INITIAL_BUCKETS)
		nb = FLOW_INITIAL_BUCKETS;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->tcp_idle_usec = (uint64_t)(tcp_idle_ms ? tcp_idle_ms : FLOW_DEFAULT_TCP_IDLE_MS) * 1000;
	t->udp_idle_usec = (uint64_t)(udp_idle_ms ? udp_idle_ms : FLOW_DEFAULT_UDP_IDLE_MS) * 1000;
	t->release = release;
	t->arg = arg;
	random_key(&t->k0, &t->k1, t);
	/* The first chunk now: flow_get always has an entry to give. */
	if (grow(t) < 0) {
		free(t->buckets);
		free(t);
		return NULL;
	}
	return t;
}

const struct flow_stats *flow_table_stats(const struct flow_table *t)
{
	return &t->stats;
}

/* One class's candidate: its closed flows first, else the least recently
 * seen of its TCP and other heads. */
static struct flow *class_victim(struct flow_table *t, int base)
{
	if (t->lru[base + LRU_CLOSED].head)
		return t->lru[base + LRU_CLOSED].head;
	struct flow *a = t->lru[base + LRU_TCP].head, *b = t->lru[base + LRU_OTHER].head;
	if (a && b)
		return b->last_seen < a->last_seen ? b : a;
	return a ? a : b;
}

/* While the flows without state number at least `reserve` (a flood of
 * half-open connections is one), one of them goes.  Fewer than that, the
 * table is simply too small for the site: the plain policy, a closed flow
 * first, else the least recently seen, so that a new connection is not
 * pushed out by the next new one before its first payload. */
static struct flow *lru_victim(struct flow_table *t)
{
	struct flow *light = class_victim(t, 0), *heavy = class_victim(t, LRU_CLASS);
	size_t n_light = t->lru[LRU_TCP].n + t->lru[LRU_OTHER].n + t->lru[LRU_CLOSED].n;

	if (!light || !heavy)
		return light ? light : heavy;
	if (n_light >= t->reserve || light->closed)
		return light;
	if (heavy->closed)
		return heavy;
	return heavy->last_seen < light->last_seen ? heavy : light;
}

struct flow *flow_get(struct flow_table *t, const struct packet *p, int *side, int *created)
{
	struct flow_key k;
	int s = make_key(&k, p);
	uint32_t h = (uint32_t)keyed_hash(t->k0, t->k1, (const uint8_t *)&k, sizeof(k));
	struct flow *f;

	check_recent(t);
	if (side)
		*side = s;
	for (f = t->buckets[h & t->mask]; f; f = f->hnext) {
		if (f->hash == h && memcmp(&f->key, &k, sizeof(k)) == 0) {
			if (created)
				*created = 0;
			flow_touch(t, f, p->ts_usec);
			return f;
		}
	}

	f = t->free_list;
	if (!f && grow(t) == 0)
		f = t->free_list;
	if (f) {
		t->free_list = f->hnext;
	} else {
		/* Full (or out of memory for a chunk): the least recently
		 * seen flow without state makes room, or else the least
		 * recently seen of all. */
		f = lru_victim(t);
		if (!f) {  /* unreachable: the first chunk exists */
			fprintf(stderr, "flow: no entry\n");
			abort();
		}
		if (f->lru >= LRU_CLASS)
			t->stats.evicted_with_state++;
		f->evicted = 1;
		remove_flow(t, f);
		t->stats.evicted++;
	}

	memset(f, 0, sizeof(*f));
	memcpy(&f->key, &k, sizeof(k));  /* padding included: compared as bytes */
	f->hash = h;
	f->id = ++t->next_id;
	f->first_seen = f->last_seen = p->ts_usec;
	f->hnext = t->buckets[h & t->mask];
	t->buckets[h & t->mask] = f;
	lru_append(t, lru_of(f), f);
	t->recent = f;
	t->stats.created++;
	t->stats.active++;
	if (t->stats.active > t->mask + 1 && t->mask + 1 < t->max_buckets)
		grow_buckets(t);
	if (t->stats.active > t->stats.peak_active)
		t->stats.peak_active = t->stats.active;
	if (created)
		*created = 1;
	return f;
}

void flow_touch(struct flow_table *t, struct flow *f, uint64_t now_usec)
{
	if (t->recent && t->recent != f)
		check_recent(t);
	/* Capture time can step back a little (reordered capture): the LRU
	 * position says "most recent", last_seen never goes backwards. */
	if (now_usec > f->last_seen)
		f->last_seen = now_usec;
	lru_move_to_tail(t, f);
	t->recent = f;
}

static int idle_longer(const struct flow *f, uint64_t now, uint64_t limit)
{
	return now > f->last_seen && now - f->last_seen > limit;
}

size_t flow_table_expire(struct flow_table *t, uint64_t now_usec)
{
	size_t n = 0;
	struct flow *f;

	check_recent(t);

	for (int base = 0; base < LRU_N; base += LRU_CLASS) {
		/* Closed flows: the grace (or their idle timeout, if shorter). */
		while ((f = t->lru[base + LRU_CLOSED].head) != NULL) {
			uint64_t idle = f->key.proto == IPPROTO_TCP ? t->tcp_idle_usec : t->udp_idle_usec;
			uint64_t limit = idle < FLOW_CLOSED_GRACE_USEC ? idle : FLOW_CLOSED_GRACE_USEC;
			if (!f->closed) {  /* the engine reopened it: back to its own list */
				lru_move_to_tail(t, f);
				continue;
			}
			if (!idle_longer(f, now_usec, limit))
				break;
			remove_flow(t, f);
			to_free_list(t, f);
			t->stats.closed++;
			n++;
		}
	}

	for (int i = 0; i < LRU_N; i++) {
		if (i % LRU_CLASS == LRU_CLOSED)
			continue;
		uint64_t limit = i % LRU_CLASS == LRU_TCP ? t->tcp_idle_usec : t->udp_idle_usec;
		while ((f = t->lru[i].head) != NULL && idle_longer(f, now_usec, limit)) {
			int was_closed = f->closed;
			remove_flow(t, f);
			to_free_list(t, f);
			if (was_closed)
				t->stats.closed++;
			else
				t->stats.expired++;
			n++;
		}
	}
	return n;
}

void flow_table_drain(struct flow_table *t)
{
	t->recent = NULL;
	for (int i = 0; i < LRU_N; i++) {
		struct flow *f;
		while ((f = t->lru[i].head) != NULL) {
			remove_flow(t, f);
			to_free_list(t, f);
		}
	}
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	flow_table_drain(t);
	while (t->chunks) {
		struct flow_chunk *c = t->chunks;
		t->chunks = c->next;
		free(c);
	}
	free(t->buckets);
	free(t);
}
