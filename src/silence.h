/*
 * Silence of a periodic sender (X.1367 Appendix I.3).  Learns, per device
 * and protocol, the period at which a device speaks (notifications, or the
 * answers of a device polled on a regular period), and fires once when it
 * has been silent for more than `factor` periods.  Time is capture time.
 *
 * Regularity is required: an interval counts towards learning only while
 * it stays within half to one and a half times the current estimate, and
 * messages closer together than the burst window count as one (a poll
 * cycle that reads several registers is one beat).  Irregular talkers are
 * never judged silent.
 */
#ifndef X1367_SILENCE_H
#define X1367_SILENCE_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

#define SILENCE_UID_MAX 64
#define SILENCE_BURST_USEC 500000ull
#define SILENCE_WAIT_PERIODS 100   /* a polled device waits this long for its poller */

struct silence_device {
	struct silence_device *next;       /* hash chain */
	struct silence_device *all_next;   /* every device, for checks */
	const void *owner;                 /* registry entry */
	char uid[SILENCE_UID_MAX];
	struct x1367_addr addr;            /* last seen from */
	uint16_t port;
	uint8_t transport;
	uint64_t last_usec;
	uint64_t period_usec;              /* 0 until learned */
	uint32_t regular;                  /* consecutive regular intervals */
	uint8_t silent;                    /* fired, waiting for it to come back */
	uint8_t heard;                     /* last_usec is valid */
	uint8_t polled;                    /* its beats are answers to requests */
	uint8_t waiting;                   /* polled: periods waited for its poller */
	uint8_t off_rhythm;                /* limit passed, but it spoke meanwhile */
	uint64_t heard_usec;               /* its last word: beat (bursts too), answer;
	                                    * >= last_usec */
	uint64_t asked_usec;               /* latest request to it */
	size_t heap_idx;                   /* position in the deadline heap, or SIZE_MAX */
	uint64_t limit_usec;               /* silent past this (learned devices) */
};

struct silence_stats {
	uint64_t devices;                  /* tracked now */
	uint64_t dropped_table_full;       /* devices not tracked */
	uint64_t fired;                    /* silences reported */
	uint64_t came_back;                /* a silent device spoke again */
	uint64_t poller_stopped;           /* polled device quiet because nobody asked */
	uint64_t still_talking;            /* limit passed, but it spoke meanwhile */
	uint64_t requests_dropped;         /* addresses not tracked: table full
	                                    * (silence_addresses_dropped) */
};

struct silence;

/* Fired once per silence; `at_usec` is when the silence passed the limit. */
typedef void (*silence_fire_fn)(const struct silence_device *dev, uint64_t at_usec, void *arg);

struct silence *silence_new(size_t max_devices, uint32_t factor, uint32_t min_intervals,
			    silence_fire_fn fire, void *arg);
void silence_free(struct silence *s);
const struct silence_stats *silence_stats(const struct silence *s);

/* The device spoke at ts_usec; `polled`: an answer to a request. */
void silence_beat(struct silence *s, const void *owner, const char *uid,
		  const struct x1367_addr *addr, uint16_t port, uint8_t transport, uint64_t ts_usec,
		  int polled);
/* A request of protocol `owner` to the device `uid` at address `to` was
 * seen at ts_usec.  Without a uid (a dissector that names the responder
 * only when a record needs it) the request counts for every device of
 * that protocol at that address. */
void silence_asked(struct silence *s, const void *owner, const char *uid, const struct x1367_addr *to,
		   uint64_t ts_usec);
/* The device `uid` at `from` answered a request at ts_usec (an error
 * answer too): a sign of life that need not be one of its beats.  Without
 * a uid it counts for the notifiers at that address (see silence.c). */
void silence_heard(struct silence *s, const void *owner, const char *uid, const struct x1367_addr *from,
		   uint64_t ts_usec);
/* Fire for every learned device silent past its limit at `now`.  Silent
 * means (DEFAULT-MAPPINGS, "Silence of a periodic sender"): nothing heard
 * from it for more than `factor` learned periods counted from the last
 * thing it said, and, for a polled device, a request sent after that
 * still unanswered.  A polled device nobody asked is looked at again every
 * learned period (for at most SILENCE_WAIT_PERIODS): a poller that
 * resumes may find it dead. */
void silence_check(struct silence *s, uint64_t now_usec);

#endif
