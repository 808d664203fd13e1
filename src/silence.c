/* Periodic-sender silence detection.  See silence.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include "silence.h"

struct silence {
	struct silence_device **buckets;
	size_t mask;
	uint64_t seed;
	size_t max_devices;
	uint32_t factor, min_intervals;
	silence_fire_fn fire;
	void *arg;
	struct silence_device *all;        /* every device */
	/* No learned device can pass its limit before this: checks before it
	 * are skipped.  Limits only move later as devices speak, except when
	 * a device becomes learned, which lowers it. */
	uint64_t next_check_usec;
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
	if (!s->buckets) {
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
	s->next_check_usec = UINT64_MAX;
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
	free(s->buckets);
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

static struct silence_device *find_or_add(struct silence *s, const void *owner, const char *uid)
{
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
	snprintf(d->uid, sizeof(d->uid), "%s", uid);
	d->next = s->buckets[b];
	s->buckets[b] = d;
	d->all_next = s->all;
	s->all = d;
	s->stats.devices++;
	return d;
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
		  const struct x1367_addr *addr, uint16_t port, uint8_t transport, uint64_t ts_usec)
{
	struct silence_device *d = find_or_add(s, owner, uid);
	if (!d)
		return;
	d->addr = *addr;
	d->port = port;
	d->transport = transport;
	if (d->silent) {
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
	if (learned(s, d) && limit_of(s, d) < s->next_check_usec)
		s->next_check_usec = limit_of(s, d);
}

void silence_check(struct silence *s, uint64_t now_usec)
{
	uint64_t next = UINT64_MAX;

	if (now_usec <= s->next_check_usec)
		return;
	for (struct silence_device *d = s->all; d; d = d->all_next) {
		if (d->silent || !learned(s, d))
			continue;
		uint64_t limit = limit_of(s, d);
		if (now_usec <= limit) {
			if (limit < next)
				next = limit;
			continue;
		}
		d->silent = 1;
		s->stats.fired++;
		if (s->fire)
			s->fire(d, limit, s->arg);
	}
	s->next_check_usec = next;
}
