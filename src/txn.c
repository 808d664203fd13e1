/* The shared transaction table.  See txn.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include "addr.h"
#include "txn.h"

#define TXN_CHUNK 1024          /* entries allocated at a time */
#define TXN_MAX_OWNERS 32       /* one deadline list per dissector */

struct owner_list {
	const void *owner;
	struct x1367_txn *head, *tail;
};

struct txn_chunk {
	struct txn_chunk *next;
	uint8_t *bytes;             /* TXN_CHUNK * cap bytes */
	struct x1367_txn entries[TXN_CHUNK];
};

struct txn_table {
	struct x1367_txn **buckets;
	size_t mask;
	uint64_t seed;
	size_t max_total, max_per_flow, cap;
	size_t allocated;
	struct txn_chunk *chunks;
	struct x1367_txn *free_list;
	struct owner_list owners[TXN_MAX_OWNERS];
	size_t n_owners;
	txn_expire_fn on_expire;
	void *arg;
	uint64_t next_seq;          /* open order: see lookup() */
	struct txn_stats stats;
};

static uint64_t random_seed(void)
{
	uint64_t s;
	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
}

struct txn_table *txn_table_new(size_t max_total, size_t max_per_flow, size_t max_bytes_kept,
				txn_expire_fn on_expire, void *arg)
{
	struct txn_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t nb = 1024;
	while (nb < max_total && nb < ((size_t)1 << 24))
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->seed = random_seed();
	t->max_total = max_total;
	t->max_per_flow = max_per_flow;
	t->cap = max_bytes_kept;
	t->on_expire = on_expire;
	t->arg = arg;
	return t;
}

void txn_table_free(struct txn_table *t)
{
	if (!t)
		return;
	for (struct txn_chunk *c = t->chunks, *n; c; c = n) {
		n = c->next;
		free(c->bytes);
		free(c);
	}
	free(t->buckets);
	free(t);
}

const struct txn_stats *txn_table_stats(const struct txn_table *t)
{
	return &t->stats;
}

/* ---- hashing ------------------------------------------------------------ */

static uint64_t mix(uint64_t h, const void *data, size_t len)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001B3ull;
	}
	return h;
}

static size_t addr_len(const struct x1367_addr *a)
{
	return a->family == X1367_IPV4 ? 4 : 16;
}

/* Hash of what identifies a transaction.  For HOSTS scope a multicast
 * request hashes with an empty responder, so that any node's answer finds
 * it by (requester, group family). */
static uint32_t txn_hash(const struct txn_table *t, const void *owner, const struct txn_where *w,
			 const struct x1367_txn_key *k, int multicast)
{
	uint64_t h = t->seed ^ 0xCBF29CE484222325ull;
	h = mix(h, &owner, sizeof(owner));
	h = mix(h, &k->scope, 1);
	h = mix(h, k->id, k->len);
	if (k->scope == X1367_TXN_FLOW) {
		h = mix(h, &w->flow_id, sizeof(w->flow_id));
	} else {
		h = mix(h, w->requester.bytes, addr_len(&w->requester));
		if (!multicast)
			h = mix(h, w->responder.bytes, addr_len(&w->responder));
		h = mix(h, &multicast, 1);
	}
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

static int key_eq(const struct x1367_txn_key *a, const struct x1367_txn_key *b)
{
	return a->scope == b->scope && a->len == b->len && !memcmp(a->id, b->id, a->len);
}

/* Does stored transaction x match a lookup (multicast: any responder of
 * the group's family)? */
static int txn_matches(const struct x1367_txn *x, const void *owner, const struct txn_where *w,
		       const struct x1367_txn_key *k, int multicast)
{
	if (x->owner != owner || !key_eq(&x->key, k))
		return 0;
	if (k->scope == X1367_TXN_FLOW)
		return x->where.flow_id == w->flow_id;
	if (x->multicast != multicast || addr_cmp(&x->where.requester, &w->requester))
		return 0;
	if (multicast)
		return x->where.responder.family == w->responder.family;
	return !addr_cmp(&x->where.responder, &w->responder);
}

/* Several requests may share a key (an application that repeats a request
 * with the same transaction id, two of them in one segment): a response
 * answers the oldest, the first opened after `after` when the dissector
 * asks for the next one.  Oldest means opened first, not earliest capture
 * time: requests carried by one segment share its time, and a request that
 * waited for a hole in the stream keeps the time of the (later) segment
 * that completed it, while a server answers in stream order. */
static struct x1367_txn *lookup(struct txn_table *t, const void *owner, const struct txn_where *w,
				const struct x1367_txn_key *k, int multicast, uint64_t after_seq)
{
	uint32_t h = txn_hash(t, owner, w, k, multicast);
	struct x1367_txn *oldest = NULL;
	for (struct x1367_txn *x = t->buckets[h & t->mask]; x; x = x->hnext)
		if (x->hash == h && x->seq > after_seq && txn_matches(x, owner, w, k, multicast) &&
		    (!oldest || x->seq < oldest->seq))
			oldest = x;
	return oldest;
}

/* ---- pool ---------------------------------------------------------------- */

static int grow_pool(struct txn_table *t)
{
	struct txn_chunk *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->bytes = malloc(TXN_CHUNK * (t->cap ? t->cap : 1));
	if (!c->bytes) {
		free(c);
		return -1;
	}
	for (size_t i = 0; i < TXN_CHUNK; i++) {
		c->entries[i].bytes = c->bytes + i * t->cap;
		c->entries[i].hnext = t->free_list;
		t->free_list = &c->entries[i];
	}
	c->next = t->chunks;
	t->chunks = c;
	t->allocated += TXN_CHUNK;
	return 0;
}

static struct x1367_txn *entry_alloc(struct txn_table *t)
{
	if (!t->free_list && grow_pool(t))
		return NULL;
	struct x1367_txn *x = t->free_list;
	t->free_list = x->hnext;
	uint8_t *bytes = x->bytes;
	memset(x, 0, offsetof(struct x1367_txn, desc));
	x->bytes = bytes;
	return x;
}

static struct owner_list *owner_list(struct txn_table *t, const void *owner)
{
	for (size_t i = 0; i < t->n_owners; i++)
		if (t->owners[i].owner == owner)
			return &t->owners[i];
	if (t->n_owners >= TXN_MAX_OWNERS)
		return NULL;
	t->owners[t->n_owners].owner = owner;
	return &t->owners[t->n_owners++];
}

/* Keep each owner's list in deadline order.  Timeouts are per owner and
 * capture time mostly grows, so the new entry nearly always goes last. */
static void deadline_insert(struct owner_list *ol, struct x1367_txn *x)
{
	struct x1367_txn *after = ol->tail;
	while (after && after->deadline_usec > x->deadline_usec)
		after = after->dl_prev;
	x->dl_prev = after;
	x->dl_next = after ? after->dl_next : ol->head;
	if (x->dl_next)
		x->dl_next->dl_prev = x;
	else
		ol->tail = x;
	if (after)
		after->dl_next = x;
	else
		ol->head = x;
}

static void flow_unlink(struct x1367_txn *x)
{
	struct txn_list *fl = x->flow_list;
	if (!fl)
		return;
	if (x->fl_prev)
		x->fl_prev->fl_next = x->fl_next;
	else
		fl->head = x->fl_next;
	if (x->fl_next)
		x->fl_next->fl_prev = x->fl_prev;
	fl->count--;
	x->flow_list = NULL;
}

static void entry_release(struct txn_table *t, struct x1367_txn *x)
{
	struct owner_list *ol = owner_list(t, x->owner);
	*x->hpprev = x->hnext;
	if (x->hnext)
		x->hnext->hpprev = x->hpprev;
	if (x->dl_prev)
		x->dl_prev->dl_next = x->dl_next;
	else
		ol->head = x->dl_next;
	if (x->dl_next)
		x->dl_next->dl_prev = x->dl_prev;
	else
		ol->tail = x->dl_prev;
	flow_unlink(x);
	t->stats.pending--;
	x->hnext = t->free_list;
	t->free_list = x;
}

/* ---- Description fields ------------------------------------------------- */

static void store_desc(struct txn_table *t, struct x1367_txn *x, const struct x1367_kv *kv, size_t n)
{
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		if (!kv[i].key || !kv[i].value)
			continue;
		size_t kl = strlen(kv[i].key) + 1, vl = strlen(kv[i].value) + 1;
		if (off + kl + vl > sizeof(x->desc)) {
			t->stats.desc_truncated++;
			break;
		}
		memcpy(x->desc + off, kv[i].key, kl);
		memcpy(x->desc + off + kl, kv[i].value, vl);
		off += kl + vl;
		x->n_desc++;
	}
	x->desc_len = (uint16_t)off;
}

int txn_desc_get(const struct x1367_txn *x, size_t i, const char **key, const char **value)
{
	size_t off = 0;
	for (size_t k = 0; k < x->n_desc; k++) {
		const char *kp = x->desc + off;
		const char *vp = kp + strlen(kp) + 1;
		if (k == i) {
			*key = kp;
			*value = vp;
			return 1;
		}
		off = (size_t)(vp - x->desc) + strlen(vp) + 1;
	}
	return 0;
}

/* ---- the operations ----------------------------------------------------- */

static int can_open(struct txn_table *t, struct txn_list *fl)
{
	if (fl && fl->count >= t->max_per_flow) {
		t->stats.dropped_flow_full++;
		return 0;
	}
	if (t->stats.pending >= t->max_total) {
		t->stats.dropped_table_full++;
		return 0;
	}
	return 1;
}

static void fill_entry(struct x1367_txn *x, const void *owner, const struct txn_where *w,
		       const struct x1367_txn_request *req, uint64_t ts_usec, uint32_t timeout_ms,
		       int multicast, size_t cap)
{
	x->key = req->key;
	x->where = *w;
	x->owner = owner;
	x->ts_usec = ts_usec;
	x->deadline_usec = ts_usec + (uint64_t)timeout_ms * 1000;
	x->flags = req->flags;
	x->multicast = (uint8_t)multicast;
	snprintf(x->responder_uid, sizeof(x->responder_uid), "%s",
		 req->responder_uid ? req->responder_uid : "");
	x->wire_len = req->len;
	x->len = req->len < cap ? req->len : cap;
	if (x->len)
		memcpy(x->bytes, req->bytes, x->len);
}

struct x1367_txn *txn_open(struct txn_table *t, const void *owner, const struct txn_where *w,
			   const struct x1367_txn_request *req, uint64_t ts_usec,
			   uint32_t timeout_ms, struct txn_list *fl)
{
	int multicast = req->key.scope == X1367_TXN_HOSTS && addr_is_multicast(&w->responder);
	struct owner_list *ol;

	if (req->key.len > X1367_TXN_KEY_MAX || !req->key.len)
		return NULL;
	/* A key already open (not a TCP retransmission: reassembly drops
	 * those, but a request sent again) is simply another request: each
	 * may go unanswered.  Not looked up here: a probe per request would
	 * cost a cache miss on the common path for a statistic. */
	if (!can_open(t, fl) || !(ol = owner_list(t, owner)))
		return NULL;
	struct x1367_txn *x = entry_alloc(t);
	if (!x) {
		t->stats.dropped_table_full++;
		return NULL;
	}
	fill_entry(x, owner, w, req, ts_usec, timeout_ms, multicast, t->cap);
	x->seq = ++t->next_seq;
	store_desc(t, x, req->desc, req->n_desc);
	x->hash = txn_hash(t, owner, w, &req->key, multicast);
	struct x1367_txn **b = &t->buckets[x->hash & t->mask];
	x->hnext = *b;
	x->hpprev = b;
	if (*b)
		(*b)->hpprev = &x->hnext;
	*b = x;
	deadline_insert(ol, x);
	if (fl) {
		x->flow_list = fl;
		x->fl_next = fl->head;
		if (fl->head)
			fl->head->fl_prev = x;
		fl->head = x;
		fl->count++;
	}
	t->stats.opened++;
	if (++t->stats.pending > t->stats.peak_pending)
		t->stats.peak_pending = t->stats.pending;
	return x;
}

struct x1367_txn *txn_find(struct txn_table *t, const void *owner, const struct txn_where *w,
			   const struct x1367_txn_key *key)
{
	return txn_find_next(t, owner, w, key, NULL);
}

/* Unicast requests first, oldest first; then (HOSTS scope) the group
 * requests of the same requester, oldest first. */
struct x1367_txn *txn_find_next(struct txn_table *t, const void *owner, const struct txn_where *w,
				const struct x1367_txn_key *key, const struct x1367_txn *after)
{
	struct x1367_txn *x = NULL;

	if (key->len > X1367_TXN_KEY_MAX)
		return NULL;
	if (!after || !after->multicast)
		x = lookup(t, owner, w, key, 0, after ? after->seq : 0);
	if (!x && key->scope == X1367_TXN_HOSTS)
		x = lookup(t, owner, w, key, 1, after && after->multicast ? after->seq : 0);
	return x;
}

void txn_answered(struct txn_table *t, struct x1367_txn *x)
{
	if (!x->answered)
		t->stats.answered++;
	x->answered = 1;
	/* Every node of a multicast group may answer: keep it to its deadline. */
	if (!x->multicast)
		entry_release(t, x);
}

void txn_expire(struct txn_table *t, uint64_t now_usec)
{
	for (size_t i = 0; i < t->n_owners; i++) {
		struct owner_list *ol = &t->owners[i];
		while (ol->head && ol->head->deadline_usec < now_usec) {
			struct x1367_txn *x = ol->head;
			if (x->answered || x->multicast || (x->flags & X1367_TXN_NO_TIMEOUT)) {
				t->stats.expired_silently++;
			} else if (x->flow_evicted) {
				t->stats.evicted_pending++;
			} else if (x->answer_maybe_lost) {
				t->stats.answer_maybe_lost++;
			} else {
				t->stats.timed_out++;
				if (t->on_expire)
					t->on_expire(x, t->arg);
			}
			entry_release(t, x);
		}
	}
}

void txn_flow_gap(struct txn_table *t, struct txn_list *fl, const struct x1367_addr *from,
		  uint16_t from_port)
{
	(void)t;
	for (struct x1367_txn *x = fl->head; x; x = x->fl_next)
		if (x->where.responder_port == from_port && !addr_cmp(&x->where.responder, from))
			x->answer_maybe_lost = 1;
}

void txn_flow_gone(struct txn_table *t, struct txn_list *fl)
{
	(void)t;
	while (fl->head)
		flow_unlink(fl->head);
	fl->count = 0;
}

void txn_flow_evicted(struct txn_table *t, struct txn_list *fl)
{
	for (struct x1367_txn *x = fl->head; x; x = x->fl_next)
		if (x->key.scope == X1367_TXN_FLOW)
			x->flow_evicted = 1;
	txn_flow_gone(t, fl);
}
