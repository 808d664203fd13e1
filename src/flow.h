/*
 * The flow table: one entry per (VLAN, protocol, address pair, port pair),
 * the same entry for both directions.  Bounded: a hard cap on entries;
 * when full a flow is evicted (counted): while at least 1/16 of the table
 * holds no engine state (a SYN flood's half-open flows), the least
 * recently seen of those, else the least recently seen of all (closed
 * flows first in both).  Idle flows expire
 * in capture time.  Entries come from a pool allocated once,
 * so creating a flow allocates nothing.
 *
 * The table knows nothing of protocols: engine.c stores its per-flow
 * state in the fields marked "engine".
 */
#ifndef X1367_FLOW_H
#define X1367_FLOW_H

#include <stddef.h>
#include <stdint.h>
#include "packet.h"
#include "tcp_reasm.h"
#include "txn.h"

struct flow_key {
	struct x1367_addr a, b;      /* a <= b (memcmp of family+bytes) */
	uint16_t port_a, port_b;     /* port of a, port of b */
	uint32_t vlan;
	uint8_t proto;               /* IPPROTO_TCP or IPPROTO_UDP */
};

struct flow {
	struct flow_key key;
	uint32_t hash;
	struct flow *hnext;          /* hash chain */
	struct flow *lru_prev, *lru_next;
	uint64_t id;                 /* unique in this run */
	uint64_t first_seen, last_seen; /* capture time, usec */
	uint64_t packets[2], bytes[2];  /* per key side: [0] from a, [1] from b */
	uint8_t closed;              /* FIN or RST seen in both/either direction */
	uint8_t evicted;             /* set just before release: the table was full */
	uint8_t lru;                 /* table-private: the LRU list it is on */

	/* engine: which side is the server, what runs on the flow */
	uint8_t server_side;         /* 0: a is the server, 1: b is the server */
	uint8_t server_known;
	uint8_t detect_state;        /* engine's detection state machine */
	uint8_t detect_packets;
	const void *dissector;       /* engine's registry entry, or NULL */
	void *dstate;                /* dissector's per-flow state */
	uint8_t dissected;           /* engine: payload handed to the dissector, flow counted */
	struct txn_list txns;        /* transactions this flow opened */
	void *ndpi;                  /* nDPI flow while detection runs */
	struct tcp_stream tcp[2];    /* index: enum x1367_dir */
};
/* A flow holds engine state when a dissector saw its payload (`dissected`;
 * `dstate` is NULL for a stateless dissector) or it has open requests
 * (`txns`): eviction spares such flows
 * while the table holds enough flows without state.  The table looks at both
 * fields when it moves the flow (flow_get, flow_touch), and at its next
 * operation for the flow it last handed out or touched. */

struct flow_stats {
	uint64_t created;
	uint64_t expired;            /* idle timeout */
	uint64_t closed;             /* ended after FIN/RST, grace passed */
	uint64_t evicted;            /* table full: a flow removed (see above) */
	uint64_t evicted_with_state; /* of those, flows that held engine state */
	uint64_t active;
	uint64_t peak_active;
};

struct flow_table;

/* Called before a flow leaves the table (expiry, eviction, close, free);
 * `evicted` is set on the flow when the table was full. */
typedef void (*flow_release_fn)(struct flow *f, void *arg);

struct flow_table *flow_table_new(size_t max_flows, uint32_t tcp_idle_ms,
				  uint32_t udp_idle_ms, flow_release_fn release, void *arg);
void flow_table_free(struct flow_table *t);  /* releases every flow */
const struct flow_stats *flow_table_stats(const struct flow_table *t);

/* Find the flow of this packet or create it (evicting if full).  *side gets
 * 0 when the packet comes from key.a, 1 when from key.b.  Never NULL. */
struct flow *flow_get(struct flow_table *t, const struct packet *p, int *side, int *created);

/* Mark seen now: moves the flow to the LRU tail. */
void flow_touch(struct flow_table *t, struct flow *f, uint64_t now_usec);

/* Expire flows idle longer than their timeout (closed flows after a short
 * grace).  Returns how many left. */
size_t flow_table_expire(struct flow_table *t, uint64_t now_usec);

/* Remove every flow (end of capture). */
void flow_table_drain(struct flow_table *t);

#endif
