/* Periodic-sender silence detection.  See silence.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "addr.h"
#include "silence.h"

/* Latest request to and answer from each (protocol, address), for
 * dissectors that name no responder at request time (Modbus and ECHONET
 * Lite format nothing per request: describe_request does, when a record
 * needs it). */
struct address_seen {
	struct address_seen *next;
	const void *owner;
	struct x1367_addr addr;
	uint64_t asked_usec, heard_usec;
};

struct silence {
	struct silence_device **buckets;
	struct address_seen **addr_buckets;
	size_t n_addresses;
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
	s->addr_buckets = calloc(nb, sizeof(*s->addr_buckets));
	if (!s->buckets || !s->addr_buckets) {
		free(s->buckets);
		free(s->addr_buckets);
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
		for (struct address_seen *q = s->addr_buckets[i], *n; q; q = n) {
			n = q->next;
			free(q);
		}
	free(s->addr_buckets);
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

/* Devices are known by the Unique ID as stored (cut to the bound), so a
 * long ID finds its device again. */
static struct silence_device *find_device(const struct silence *s, const void *owner, const char *given)
{
	char uid[SILENCE_UID_MAX];
	snprintf(uid, sizeof(uid), "%s", given);
	for (struct silence_device *d = s->buckets[bucket_of(s, owner, uid)]; d; d = d->next)
		if (d->owner == owner && !strcmp(d->uid, uid))
			return d;
	return NULL;
}

static struct silence_device *find_or_add(struct silence *s, const void *owner, const char *given)
{
	char uid[SILENCE_UID_MAX];
	snprintf(uid, sizeof(uid), "%s", given);

	struct silence_device *d = find_device(s, owner, uid);
	if (d)
		return d;
	size_t b = bucket_of(s, owner, uid);
	/* Devices are added when first heard, never per packet after that. */
	if (s->stats.devices >= s->max_devices) {
		s->stats.dropped_table_full++;
		return NULL;
	}
	d = calloc(1, sizeof(*d));
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

/* *t = the later of *t and ts_usec. */
static void later(uint64_t *t, uint64_t ts_usec)
{
	if (ts_usec > *t)
		*t = ts_usec;
}

static int learned(const struct silence *s, const struct silence_device *d)
{
	return d->period_usec && d->regular + 1 >= s->min_intervals;
}

static uint64_t limit_of(const struct silence *s, const struct silence_device *d)
{
	return d->last_usec + (uint64_t)s->factor * d->period_usec;
}

/* One more interval: learn or confirm the period.  An interval confirms it
 * when within a quarter of it: clocks and pollers jitter far less, while
 * devices that speak on events (DNP3 unsolicited responses 0.8-1.8 s
 * apart, then a 5 s lull) vary more, and their lulls are no silence. */
static void learn(struct silence_device *d, uint64_t interval)
{
	if (d->period_usec && interval >= d->period_usec - d->period_usec / 4 &&
	    interval <= d->period_usec + d->period_usec / 4) {
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
	d->waiting = 0;
	d->off_rhythm = 0;
	later(&d->heard_usec, ts_usec);
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

static size_t addr_bucket(const struct silence *s, const void *owner, const struct x1367_addr *a)
{
	uint64_t h = s->seed ^ (uint64_t)(uintptr_t)owner;
	for (size_t i = 0; i < (a->family == X1367_IPV4 ? 4u : 16u); i++) {
		h ^= a->bytes[i];
		h *= 0x100000001B3ull;
	}
	h ^= h >> 31;
	return (size_t)(h & s->mask);
}

static struct address_seen *address_find(const struct silence *s, const void *owner,
					 const struct x1367_addr *a)
{
	for (struct address_seen *q = s->addr_buckets[addr_bucket(s, owner, a)]; q; q = q->next)
		if (q->owner == owner && addr_cmp(&q->addr, a) == 0)
			return q;
	return NULL;
}

/* The entry of address a, added if new; NULL when the bound refuses it
 * (counted). */
static struct address_seen *address_get(struct silence *s, const void *owner, const struct x1367_addr *a)
{
	struct address_seen *q = address_find(s, owner, a);
	if (q)
		return q;
	size_t b = addr_bucket(s, owner, a);
	if (s->n_addresses >= s->max_devices || !(q = calloc(1, sizeof(*q)))) {
		s->stats.requests_dropped++;
		return NULL;
	}
	q->owner = owner;
	q->addr = *a;
	q->next = s->addr_buckets[b];
	s->addr_buckets[b] = q;
	s->n_addresses++;
	return q;
}

void silence_asked(struct silence *s, const void *owner, const char *uid, const struct x1367_addr *to,
		   uint64_t ts_usec)
{
	struct silence_device *d;
	struct address_seen *q;
	if (uid && uid[0]) {
		if ((d = find_device(s, owner, uid)))
			later(&d->asked_usec, ts_usec);
	} else if (to && (q = address_get(s, owner, to))) {
		later(&q->asked_usec, ts_usec);
	}
}

void silence_heard(struct silence *s, const void *owner, const char *uid, const struct x1367_addr *from,
		   uint64_t ts_usec)
{
	struct silence_device *d;
	struct address_seen *q;
	if (uid && uid[0]) {
		if ((d = find_device(s, owner, uid)))
			later(&d->heard_usec, ts_usec);
	} else if (from && (q = address_get(s, owner, from))) {
		later(&q->heard_usec, ts_usec);
	}
}

/* When d was last asked: by its Unique ID, or at its address. */
static uint64_t asked_at(const struct silence *s, const struct silence_device *d)
{
	const struct address_seen *q = address_find(s, d->owner, &d->addr);
	return q && q->asked_usec > d->asked_usec ? q->asked_usec : d->asked_usec;
}

/* When d last said anything.  A polled device speaks for itself only (its
 * answers carry its Unique ID: beats, error reports), so that a gateway's
 * other units answering never hide a dead one; a notifier is alive when
 * its node answers anything (an ECHONET Lite node answering Gets for one
 * object while its notifications stopped has not fallen silent). */
static uint64_t heard_at(const struct silence *s, const struct silence_device *d)
{
	const struct address_seen *q = d->polled ? NULL : address_find(s, d->owner, &d->addr);
	uint64_t t = d->heard_usec > d->last_usec ? d->heard_usec : d->last_usec;
	return q && q->heard_usec > t ? q->heard_usec : t;
}

/* A polled device nobody asked since its last answer: looked at again
 * every learned period (at most SILENCE_WAIT_PERIODS), in case its poller
 * comes back and finds it dead. */
static void wait_for_poller(struct silence *s, struct silence_device *d, uint64_t now_usec)
{
	if (d->waiting >= SILENCE_WAIT_PERIODS) {
		d->waiting = 0;
		d->regular = 0;
		d->period_usec = 0;
		return;
	}
	if (!d->waiting++)
		s->stats.poller_stopped++;
	if (heap_update(s, d, now_usec + d->period_usec))
		s->stats.dropped_table_full++;
}

/* The limit, counted from the last thing the device said; when that moved
 * past the limit in use, the device is watched again (and 1 returned). */
static int heard_since(struct silence *s, struct silence_device *d)
{
	uint64_t limit = heard_at(s, d) + (uint64_t)s->factor * d->period_usec;
	if (limit <= d->limit_usec)
		return 0;
	if (!d->off_rhythm) {
		d->off_rhythm = 1;
		s->stats.still_talking++;
	}
	if (heap_update(s, d, limit))
		s->stats.dropped_table_full++;
	return 1;
}

void silence_check(struct silence *s, uint64_t now_usec)
{
	while (s->heap_len && s->heap[0]->limit_usec < now_usec) {
		struct silence_device *d = s->heap[0];
		heap_remove(s, d);
		if (!d->waiting && heard_since(s, d))
			continue;
		if (d->polled) {
			/* Silent only while a request sent after its last word
			 * waits (any answer would have been heard after it). */
			uint64_t asked = asked_at(s, d);
			if (asked <= heard_at(s, d)) {
				wait_for_poller(s, d, now_usec);
				continue;
			}
			/* A poller back from a pause: its request gets one
			 * learned period to be answered first. */
			if (d->waiting && asked + d->period_usec > d->limit_usec) {
				if (heap_update(s, d, asked + d->period_usec))
					s->stats.dropped_table_full++;
				continue;
			}
		}
		d->waiting = 0;
		d->silent = 1;
		later(&d->heard_usec, heard_at(s, d));   /* its last word, for the record */
		s->stats.fired++;
		if (s->fire)
			s->fire(d, d->limit_usec, s->arg);
	}
}
