/*
 * The one transaction table shared by every dissector: outstanding
 * requests with their raw bytes, paired with responses by the key the
 * dissector gives, expired on a per-protocol deadline in capture time.
 * Bounded per flow and in total; what it refuses is counted.  Entries come
 * from a pool grown in chunks, so opening a transaction allocates nothing
 * on the common path.
 */
#ifndef X1367_TXN_H
#define X1367_TXN_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

#define TXN_DESC_BYTES 384       /* Description fields kept with a request */
#define TXN_UID_MAX 64

struct txn_stats {
	uint64_t opened;
	uint64_t answered;
	uint64_t timed_out;           /* reported as No Response */
	uint64_t expired_silently;    /* multicast or no-timeout requests */
	uint64_t answer_maybe_lost;   /* deadline passed after the capture lost
	                               * bytes from the responder: not reported */
	uint64_t evicted_pending;     /* deadline passed after the flow table
	                               * evicted the request's flow: its answer
	                               * could no longer be paired, not reported */
	uint64_t dropped_table_full;
	uint64_t dropped_flow_full;
	uint64_t desc_truncated;      /* Description fields that did not fit */
	uint64_t pending;             /* open now */
	uint64_t peak_pending;
};

/* Where a transaction lives: the flow for FLOW scope, the addresses for
 * HOSTS scope.  Filled by the engine from the current packet. */
/* The transactions a flow opened, so the per-flow cap holds and the flow
 * can let go of them when it leaves the table. */
struct txn_list {
	struct x1367_txn *head;
	uint32_t count;
};

struct txn_where {
	uint64_t flow_id;
	struct x1367_addr requester, responder;   /* responder may be a multicast group */
	uint16_t requester_port, responder_port;
	uint8_t transport;
	uint32_t vlan;
	uint8_t has_mac;                          /* the Ethernet MACs below are known */
	uint8_t requester_mac[6], responder_mac[6];
};

/* One open request.  Engine-private: dissectors see x1367_txn only. */
struct x1367_txn {
	struct x1367_txn *hnext, **hpprev;       /* hash chain */
	struct x1367_txn *dl_prev, *dl_next;     /* deadline order, per owner */
	struct x1367_txn *fl_prev, *fl_next;     /* the opening flow's list */
	struct txn_list *flow_list;              /* NULL once the flow is gone */
	uint32_t hash;
	struct x1367_txn_key key;
	struct txn_where where;
	const void *owner;                       /* registry entry of the dissector */
	uint64_t ts_usec, deadline_usec;
	uint64_t seq;                            /* open order, from 1 */
	uint32_t flags;
	uint8_t multicast;
	uint8_t answered;
	uint8_t answer_maybe_lost;                /* the responder's bytes had a gap */
	uint8_t flow_evicted;                     /* FLOW scope, its flow evicted */
	char responder_uid[TXN_UID_MAX];
	uint16_t n_desc;
	uint16_t desc_len;
	char desc[TXN_DESC_BYTES];               /* key\0value\0 ... */
	size_t wire_len;
	size_t len;                              /* bytes kept (<= cap) */
	uint8_t *bytes;                          /* cap bytes, from the pool */
};

struct txn_table;

/* The deadline passed for `t` with no answer: the engine writes
 * "No Response" (or nothing, for multicast / no-timeout requests). */
typedef void (*txn_expire_fn)(const struct x1367_txn *t, void *arg);

struct txn_table *txn_table_new(size_t max_total, size_t max_per_flow, size_t max_bytes_kept,
				txn_expire_fn on_expire, void *arg);
void txn_table_free(struct txn_table *t);
const struct txn_stats *txn_table_stats(const struct txn_table *t);

/* Open, on the list of the flow that carried the request (bounded by
 * max_per_flow).  Returns the entry, or NULL when a bound refuses it
 * (counted).  A key already open is opened again; responses answer the
 * oldest first. */
struct x1367_txn *txn_open(struct txn_table *t, const void *owner, const struct txn_where *w,
			   const struct x1367_txn_request *req, uint64_t ts_usec,
			   uint32_t timeout_ms, struct txn_list *flow_list);

/* Find the request answered by a response travelling responder -> requester.
 * HOSTS scope also matches a multicast request from the same requester. */
struct x1367_txn *txn_find(struct txn_table *t, const void *owner, const struct txn_where *w,
			   const struct x1367_txn_key *key);

/* The next candidate for the same response: the oldest request with the
 * key opened after `after` (NULL: the oldest, as txn_find), unicast ones
 * before group ones.  For dissectors whose answers say more than the key
 * (a function code, a message id): they try each candidate in turn.
 * `after` must still be open (nothing may be answered in between). */
struct x1367_txn *txn_find_next(struct txn_table *t, const void *owner, const struct txn_where *w,
				const struct x1367_txn_key *key, const struct x1367_txn *after);

/* Answered: unicast entries are freed; multicast ones stay to their deadline. */
void txn_answered(struct txn_table *t, struct x1367_txn *x);

/* Report every transaction whose deadline is before `now`. */
void txn_expire(struct txn_table *t, uint64_t now_usec);

/* The flow went away: its FLOW-scope requests stay until their deadline
 * (a request on a closed connection is still unanswered), but they no
 * longer count against the flow. */
void txn_flow_gone(struct txn_table *t, struct txn_list *flow_list);

/* The flow was evicted (table full): as txn_flow_gone, and its FLOW-scope
 * requests can no longer be answered (the flow's next packet makes a new
 * flow), so their deadlines pass without a "No Response" record (counted
 * as evicted_pending): the eviction, not the device, left them alone.
 * HOSTS-scope requests are still paired by address: they stay as they are. */
void txn_flow_evicted(struct txn_table *t, struct txn_list *flow_list);

/* The capture lost bytes that `from` sent on this flow: the answers to
 * its open requests may have been among them.  Their deadlines then pass
 * without a "No Response" record (counted): the wire does not show that
 * nothing came. */
void txn_flow_gap(struct txn_table *t, struct txn_list *flow_list, const struct x1367_addr *from,
		  uint16_t from_port);

/* Description fields stored with the request: iterate with an index. */
int txn_desc_get(const struct x1367_txn *x, size_t i, const char **key, const char **value);

#endif
