/* Periodic-sender silence detection.  See silence.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "silence.h"

/* Last request seen per (protocol, responder address). */
struct request_seen {
	struct request_seen *next;
	const void *owner;
	struct x1367_addr to;
	uint64_t last_usec;
};

struct silence {
	struct silence_device **buckets;
	struct request_seen **req_buckets;
	size_t n_requests;
	size_t mask;
	uint64_t seed;
	size_t max_devices;
	uint32_t factor, min_intervals;
	silence_fire_fn fire;
	void *arg;
	struct silence_device *all;        /* every device */
	/* Learned devices in a binary min-heap by limit: a check looks at
	 * the top only, a beat moves one device in O(log n). */
	struct silence_device **heap;
	size_t heap_len, heap_cap;
	struct silence_stats stats;
};

struct silence *silence_new(size_t max_devices, uint32_t factor, uint32_t min_intervals,
			    silence_fire_fn fire, void *arg)
{
	struct silence *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	size_t nb = 256;
	while (nb < max_devices && nb < ((size_t)1 << 20))
		nb <<= 1;
	s->buckets = calloc(nb, sizeof(*s->buckets));
	s->req_buckets = calloc(nb, sizeof(*s->req_buckets));
	if (!s->buckets || !s->req_buckets) {
		free(s->buckets);
		free(s->req_buckets);
		free(s);
		return NULL;
	}
	if (getrandom(&s->seed, sizeof(s->seed), GRND_NONBLOCK) != (ssize_t)sizeof(s->seed))
		s->seed = 0x243F6A8885A308D3ull;
	s->mask = nb - 1;
	s->max_devices = max_devices;
	s->factor = factor ? factor : 3;
	s->min_intervals = min_intervals ? min_intervals : 3;
	s->fire = fire;
	s->arg = arg;
	return s;
}

void silence_free(struct silence *s)
{
	if (!s)
		return;
	for (struct silence_device *d = s->all, *n; d; d = n) {
		n = d->all_next;
		free(d);
	}
	for (size_t i = 0; i <= s->mask; i++)
		for (struct request_seen *q = s->req_buckets[i], *n; q; q = n) {
			n = q->next;
			free(q);
		}
	free(s->req_buckets);
	free(s->buckets);
	free(s->heap);
	free(s);
}

const struct silence_stats *silence_stats(const struct silence *s)
{
	return &s->stats;
}

static size_t bucket_of(const struct silence *s, const void *owner, const char *uid)
{
	uint64_t h = s->seed ^ (uint64_t)(uintptr_t)owner;
	for (const char *c = uid; *c; c++) {
		h ^= (uint8_t)*c;
		h *= 0x100000001B3ull;
	}
	h ^= h >> 31;
	return (size_t)(h & s->mask);
}

static struct silence_device *find_or_add(struct silence *s, const void *owner, const char *given)
{
	/* Devices are known by the Unique ID as stored (cut to the bound), so
	 * a long ID finds its device again. */
	char uid[SILENCE_UID_MAX];
	snprintf(uid, sizeof(uid), "%s", given);

	size_t b = bucket_of(s, owner, uid);
	for (struct silence_device *d = s->buckets[b]; d; d = d->next)
		if (d->owner == owner && !strcmp(d->uid, uid))
			return d;
	/* Devices are added when first heard, never per packet after that. */
	if (s->stats.devices >= s->max_devices) {
		s->stats.dropped_table_full++;
		return NULL;
	}
	struct silence_device *d = calloc(1, sizeof(*d));
	if (!d) {
		s->stats.dropped_table_full++;
		return NULL;
	}
	d->owner = owner;
	d->heap_idx = SIZE_MAX;
	snprintf(d->uid, sizeof(d->uid), "%s", uid);
	d->next = s->buckets[b];
	s->buckets[b] = d;
	d->all_next = s->all;
	s->all = d;
	s->stats.devices++;
	return d;
}

/* ---- the deadline heap --------------------------------------------------- */

static void heap_set(struct silence *s, size_t i, struct silence_device *d)
{
	s->heap[i] = d;
	d->heap_idx = i;
}

static void sift_up(struct silence *s, size_t i)
{
	struct silence_device *d = s->heap[i];
	while (i > 0 && s->heap[(i - 1) / 2]->limit_usec > d->limit_usec) {
		heap_set(s, i, s->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(s, i, d);
}

static void sift_down(struct silence *s, size_t i)
{
	struct silence_device *d = s->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->heap_len)
			break;
		if (c + 1 < s->heap_len && s->heap[c + 1]->limit_usec < s->heap[c]->limit_usec)
			c++;
		if (s->heap[c]->limit_usec >= d->limit_usec)
			break;
		heap_set(s, i, s->heap[c]);
		i = c;
	}
	heap_set(s, i, d);
}

static void heap_remove(struct silence *s, struct silence_device *d)
{
	size_t i = d->heap_idx;
	if (i == SIZE_MAX)
		return;
	d->heap_idx = SIZE_MAX;
	struct silence_device *last = s->heap[--s->heap_len];
	if (last == d)
		return;
	heap_set(s, i, last);
	sift_up(s, i);
	sift_down(s, last->heap_idx);
}

/* Put d in the heap at its limit, or move it there.  0, or -1 when the
 * heap cannot grow (the device is then not watched; counted). */
static int heap_update(struct silence *s, struct silence_device *d, uint64_t limit)
{
	d->limit_usec = limit;
	if (d->heap_idx != SIZE_MAX) {
		sift_up(s, d->heap_idx);
		sift_down(s, d->heap_idx);
		return 0;
	}
	if (s->heap_len == s->heap_cap) {
		size_t cap = s->heap_cap ? 2 * s->heap_cap : 64;
		struct silence_device **h = realloc(s->heap, cap * sizeof(*h));
		if (!h)
			return -1;
		s->heap = h;
		s->heap_cap = cap;
	}
	heap_set(s, s->heap_len++, d);
	sift_up(s, d->heap_idx);
	return 0;
}

static int learned(const struct silence *s, const struct silence_device *d)
{
	return d->period_usec && d->regular + 1 >= s->min_intervals;
}

static uint64_t limit_of(const struct silence *s, const struct silence_device *d)
{
	return d->last_usec + (uint64_t)s->factor * d->period_usec;
}

/* One more interval: learn or confirm the period. */
static void learn(struct silence_device *d, uint64_t interval)
{
	if (d->period_usec && interval >= d->period_usec / 2 &&
	    interval <= d->period_usec + d->period_usec / 2) {
		/* Smooth the estimate: new = 3/4 old + 1/4 sample. */
		d->period_usec = (3 * d->period_usec + interval) / 4;
		d->regular++;
	} else {
		d->period_usec = interval;
		d->regular = 0;
	}
}

void silence_beat(struct silence *s, const void *owner, const char *uid,
		  const struct x1367_addr *addr, uint16_t port, uint8_t transport, uint64_t ts_usec,
		  int polled)
{
	struct silence_device *d = find_or_add(s, owner, uid);
	if (!d)
		return;
	d->polled = (uint8_t)(polled != 0);
	d->addr = *addr;
	d->port = port;
	d->transport = transport;
	if (d->silent) {
		/* Back: learn its period afresh. */
		s->stats.came_back++;
		d->silent = 0;
		d->regular = 0;
		d->period_usec = 0;
		d->last_usec = ts_usec;
		return;
	}
	if (d->heard && ts_usec < d->last_usec + SILENCE_BURST_USEC)
		return;
	if (d->heard)
		learn(d, ts_usec - d->last_usec);
	d->last_usec = ts_usec;
	d->heard = 1;
	if (!learned(s, d))
		heap_remove(s, d);
	else if (heap_update(s, d, limit_of(s, d)))
		s->stats.dropped_table_full++;
}

static size_t req_bucket(const struct silence *s, const void *owner, const struct x1367_addr *a)
{
	uint64_t h = s->seed ^ (uint64_t)(uintptr_t)owner;
	for (size_t i = 0; i < (a->family == 4 ? 4u : 16u); i++) {
		h ^= a->bytes[i];
		h *= 0x100000001B3ull;
	}
	h ^= h >> 31;
	return (size_t)(h & s->mask);
}

static struct request_seen *request_find(const struct silence *s, const void *owner,
					 const struct x1367_addr *a)
{
	for (struct request_seen *q = s->req_buckets[req_bucket(s, owner, a)]; q; q = q->next)
		if (q->owner == owner && q->to.family == a->family &&
		    !memcmp(q->to.bytes, a->bytes, a->family == 4 ? 4 : 16))
			return q;
	return NULL;
}

void silence_request(struct silence *s, const void *owner, const struct x1367_addr *to, uint64_t ts_usec)
{
	struct request_seen *q = request_find(s, owner, to);
	if (!q) {
		size_t b = req_bucket(s, owner, to);
		if (s->n_requests >= s->max_devices || !(q = calloc(1, sizeof(*q)))) {
			s->stats.requests_dropped++;
			return;
		}
		q->owner = owner;
		q->to = *to;
		q->next = s->req_buckets[b];
		s->req_buckets[b] = q;
		s->n_requests++;
	}
	if (ts_usec > q->last_usec)
		q->last_usec = ts_usec;
}

/* A polled device is silent only if it was asked after its last answer. */
static int still_asked(const struct silence *s, const struct silence_device *d)
{
	const struct request_seen *q;
	return !d->polled || ((q = request_find(s, d->owner, &d->addr)) && q->last_usec > d->last_usec);
}

void silence_check(struct silence *s, uint64_t now_usec)
{
	while (s->heap_len && s->heap[0]->limit_usec < now_usec) {
		struct silence_device *d = s->heap[0];
		heap_remove(s, d);
		if (!still_asked(s, d)) {
			/* The poller stopped: learn the period afresh if it comes back. */
			s->stats.poller_stopped++;
			d->regular = 0;
			d->period_usec = 0;
			continue;
		}
		d->silent = 1;
		s->stats.fired++;
		if (s->fire)
			s->fire(d, d->limit_usec, s->arg);
	}
}
