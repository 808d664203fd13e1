/* The shared transaction table. */
#include <criterion/criterion.h>
#include <string.h>
#include "addr.h"
#include "txn.h"

static const int owner_a = 1, owner_b = 2;

struct expired {
	const struct x1367_txn *seen[16];
	uint64_t deadline[16];
	size_t n;
};

static void on_expire(const struct x1367_txn *t, void *arg)
{
	struct expired *e = arg;
	if (e->n < 16) {
		e->seen[e->n] = t;
		e->deadline[e->n++] = t->deadline_usec;
	}
}

static struct txn_where where(const char *req, const char *resp, uint64_t flow)
{
	struct txn_where w;
	memset(&w, 0, sizeof(w));
	cr_assert_eq(addr_parse(req, &w.requester), 0);
	cr_assert_eq(addr_parse(resp, &w.responder), 0);
	w.flow_id = flow;
	w.transport = X1367_UDP;
	return w;
}

static struct x1367_txn_request request(uint8_t scope, uint16_t id, const void *bytes, size_t len)
{
	struct x1367_txn_request r;
	memset(&r, 0, sizeof(r));
	r.struct_size = sizeof(r);
	r.key.scope = scope;
	r.key.len = 2;
	r.key.id[0] = (uint8_t)(id >> 8);
	r.key.id[1] = (uint8_t)id;
	r.bytes = bytes;
	r.len = len;
	r.responder_uid = "dev#1";
	return r;
}

Test(txn, flow_scope_pairs_on_same_flow_only)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 7), other = w;
	struct x1367_txn_request r = request(X1367_TXN_FLOW, 5, "\x01\x02", 2);

	cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 1000, 5000, &fl));
	cr_assert_eq(fl.count, 1);
	other.flow_id = 8;
	cr_assert_null(txn_find(t, &owner_a, &other, &r.key), "another flow must not pair");
	cr_assert_null(txn_find(t, &owner_b, &w, &r.key), "another protocol must not pair");
	struct x1367_txn *x = txn_find(t, &owner_a, &w, &r.key);
	cr_assert_not_null(x);
	cr_assert_eq(x->len, 2);
	cr_assert_eq(memcmp(x->bytes, "\x01\x02", 2), 0);
	txn_answered(t, x);
	cr_assert_eq(fl.count, 0);
	cr_assert_null(txn_find(t, &owner_a, &w, &r.key));
	txn_expire(t, 100000000);
	cr_assert_eq(ex.n, 0, "an answered request is no timeout");
	cr_assert_eq(txn_table_stats(t)->answered, 1);
	txn_table_free(t);
}

Test(txn, hosts_scope_ignores_ports_and_matches_multicast_answers)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("192.0.2.1", "224.0.23.0", 1);
	struct x1367_txn_request r = request(X1367_TXN_HOSTS, 9, "\x10\x81", 2);

	cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 0, 5000, &fl));
	struct txn_where a1 = where("192.0.2.1", "192.0.2.10", 2);
	struct txn_where a2 = where("192.0.2.1", "192.0.2.11", 3);
	a1.responder_port = 23610;
	struct x1367_txn *x = txn_find(t, &owner_a, &a1, &r.key);
	cr_assert_not_null(x, "first node's answer pairs with the multicast request");
	txn_answered(t, x);
	cr_assert_not_null(txn_find(t, &owner_a, &a2, &r.key), "second node's answer too");
	struct txn_where stranger = where("192.0.2.99", "192.0.2.10", 4);
	cr_assert_null(txn_find(t, &owner_a, &stranger, &r.key), "other requester never pairs");
	txn_expire(t, 6000000);
	cr_assert_eq(ex.n, 0, "a multicast request never yields No Response");
	cr_assert_eq(txn_table_stats(t)->expired_silently, 1);
	cr_assert_eq(txn_table_stats(t)->pending, 0);
	txn_table_free(t);
}

Test(txn, unicast_hosts_scope_needs_the_right_responder)
{
	struct txn_table *t = txn_table_new(100, 10, 64, NULL, NULL);
	struct txn_list fl = {0};
	struct txn_where w = where("2001:db8::1", "2001:db8::2", 1);
	struct x1367_txn_request r = request(X1367_TXN_HOSTS, 1, "x", 1);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 0, 5000, &fl));
	struct txn_where wrong = where("2001:db8::1", "2001:db8::3", 1);
	cr_assert_null(txn_find(t, &owner_a, &wrong, &r.key));
	cr_assert_not_null(txn_find(t, &owner_a, &w, &r.key));
	txn_table_free(t);
}

Test(txn, deadlines_fire_in_order_and_only_when_passed)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	for (uint16_t i = 0; i < 3; i++) {
		struct x1367_txn_request r = request(X1367_TXN_FLOW, i, "q", 1);
		cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 1000000u * (3 - i), 5000, &fl));
	}
	txn_expire(t, 6000000);      /* a deadline is passed only after it */
	cr_assert_eq(ex.n, 0);
	txn_expire(t, 6000001);      /* only the one opened at 1 s is past */
	cr_assert_eq(ex.n, 1);
	cr_assert_eq(ex.deadline[0], 6000000);
	txn_expire(t, 8000001);
	cr_assert_eq(ex.n, 3);
	cr_assert(ex.deadline[1] < ex.deadline[2]);
	cr_assert_eq(txn_table_stats(t)->timed_out, 3);
	cr_assert_eq(fl.count, 0);
	txn_table_free(t);
}

Test(txn, no_timeout_flag_expires_silently)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_txn_request r = request(X1367_TXN_HOSTS, 3, "q", 1);
	r.flags = X1367_TXN_NO_TIMEOUT;
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 0, 5000, &fl));
	txn_expire(t, 10000000);
	cr_assert_eq(ex.n, 0);
	cr_assert_eq(txn_table_stats(t)->expired_silently, 1);
	txn_table_free(t);
}

Test(txn, duplicates_and_bounds_are_counted)
{
	struct txn_table *t = txn_table_new(16, 2, 64, NULL, NULL);
	struct txn_list fl = {0}, fl2 = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1), w2 = where("10.0.0.3", "10.0.0.2", 2);
	struct x1367_txn_request r = request(X1367_TXN_FLOW, 1, "q", 1);

	cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 0, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 1, 5000, &fl), "a repeated request is a request");
	r = request(X1367_TXN_FLOW, 3, "q", 1);
	cr_assert_null(txn_open(t, &owner_a, &w, &r, 0, 5000, &fl), "per-flow bound");
	cr_assert_eq(txn_table_stats(t)->dropped_flow_full, 1);
	size_t opened = 2;
	for (uint16_t i = 100; i < 140; i++) {
		struct txn_list one = {0};
		w2.flow_id = i;
		r = request(X1367_TXN_FLOW, i, "q", 1);
		if (txn_open(t, &owner_a, &w2, &r, 0, 5000, &one))
			opened++;
		txn_flow_gone(t, &one);
	}
	cr_assert_eq(opened, 16, "total bound");
	cr_assert_eq(txn_table_stats(t)->dropped_table_full, 40 - 14);
	cr_assert_eq(txn_table_stats(t)->peak_pending, 16);
	(void)fl2;
	txn_table_free(t);
}

Test(txn, repeated_key_answers_oldest_first)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_txn_request r1 = request(X1367_TXN_FLOW, 1, "first", 5);
	struct x1367_txn_request r2 = request(X1367_TXN_FLOW, 1, "second", 6);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r1, 1000, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r2, 2000, 5000, &fl));
	struct x1367_txn *x = txn_find(t, &owner_a, &w, &r1.key);
	cr_assert_not_null(x);
	cr_assert_eq(x->len, 5, "the oldest request is answered first");
	txn_answered(t, x);
	x = txn_find(t, &owner_a, &w, &r1.key);
	cr_assert_not_null(x);
	cr_assert_eq(x->len, 6);
	txn_expire(t, 10000000);
	cr_assert_eq(ex.n, 1, "the unanswered repeat is reported");
	txn_table_free(t);
}

/* Two requests of one segment share its capture time: the one opened
 * first is still the oldest (whichever the hash chain holds first). */
Test(txn, same_time_same_key_answers_the_first_opened)
{
	struct txn_table *t = txn_table_new(100, 10, 64, NULL, NULL);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_txn_request r1 = request(X1367_TXN_FLOW, 1, "first", 5);
	struct x1367_txn_request r2 = request(X1367_TXN_FLOW, 1, "second", 6);
	struct x1367_txn_request r3 = request(X1367_TXN_FLOW, 1, "third", 5);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r1, 1000, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r2, 1000, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r3, 1000, 5000, &fl));
	struct x1367_txn *x = txn_find(t, &owner_a, &w, &r1.key);
	cr_assert_not_null(x);
	cr_assert_eq(memcmp(x->bytes, "first", 5), 0, "got %.*s", (int)x->len, x->bytes);
	txn_table_free(t);
}

/* A request completed by a later segment (it waited for a hole) keeps
 * that segment's time, later than the request behind it in the stream:
 * order of opening, not time, says which is older. */
Test(txn, opening_order_beats_capture_time)
{
	struct txn_table *t = txn_table_new(100, 10, 64, NULL, NULL);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_txn_request r1 = request(X1367_TXN_FLOW, 1, "first", 5);
	struct x1367_txn_request r2 = request(X1367_TXN_FLOW, 1, "second", 6);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r1, 3000, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r2, 2000, 5000, &fl));
	struct x1367_txn *x = txn_find(t, &owner_a, &w, &r1.key);
	cr_assert_not_null(x);
	cr_assert_eq(x->len, 5, "the first opened is the oldest");
	txn_table_free(t);
}

/* find_next walks every request with the key, oldest first, unicast ones
 * before the group's, and never one of another key or flow. */
Test(txn, find_next_walks_the_candidates_in_order)
{
	struct txn_table *t = txn_table_new(100, 10, 64, NULL, NULL);
	struct txn_list fl = {0};
	struct txn_where group = where("192.0.2.1", "224.0.23.0", 1);
	struct txn_where uni = where("192.0.2.1", "192.0.2.10", 2);
	struct x1367_txn_request g = request(X1367_TXN_HOSTS, 9, "g", 1);
	struct x1367_txn_request u1 = request(X1367_TXN_HOSTS, 9, "u1", 2);
	struct x1367_txn_request other = request(X1367_TXN_HOSTS, 8, "o", 1);
	struct x1367_txn_request u2 = request(X1367_TXN_HOSTS, 9, "u2", 2);
	cr_assert_not_null(txn_open(t, &owner_a, &group, &g, 0, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &uni, &u1, 10, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &uni, &other, 10, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &uni, &u2, 10, 5000, &fl));
	const char *want[] = {"u1", "u2", "g"};
	struct x1367_txn *x = NULL;
	for (size_t i = 0; i < 3; i++) {
		x = txn_find_next(t, &owner_a, &uni, &g.key, x);
		cr_assert_not_null(x, "candidate %zu", i);
		cr_assert_eq(memcmp(x->bytes, want[i], x->len), 0, "candidate %zu: %.*s", i,
			     (int)x->len, x->bytes);
	}
	cr_assert_null(txn_find_next(t, &owner_a, &uni, &g.key, x), "no fourth candidate");
	cr_assert_eq(txn_find_next(t, &owner_a, &uni, &g.key, NULL), txn_find(t, &owner_a, &uni, &g.key));
	txn_table_free(t);
}

Test(txn, a_gap_from_the_responder_suppresses_no_response)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_addr requester = w.requester;
	w.responder_port = 502;
	struct x1367_txn_request r1 = request(X1367_TXN_FLOW, 1, "q", 1);
	struct x1367_txn_request r2 = request(X1367_TXN_FLOW, 2, "q", 1);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r1, 0, 5000, &fl));
	txn_flow_gap(t, &fl, &requester, 40000);     /* the requester's bytes: no effect */
	txn_flow_gap(t, &fl, &w.responder, 502);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r2, 1, 5000, &fl));
	txn_expire(t, 10000000);
	cr_assert_eq(ex.n, 1, "only the request opened after the gap is reported");
	cr_assert_eq(txn_table_stats(t)->answer_maybe_lost, 1);
	txn_table_free(t);
}

Test(txn, flow_gone_keeps_requests_until_deadline)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_txn_request r = request(X1367_TXN_FLOW, 1, "q", 1);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r, 0, 5000, &fl));
	txn_flow_gone(t, &fl);
	cr_assert_eq(fl.count, 0);
	cr_assert_null(fl.head);
	txn_expire(t, 5000001);
	cr_assert_eq(ex.n, 1, "a request on a closed connection is still unanswered");
	txn_table_free(t);
}

/* Issue 14, defect 4: an evicted flow's request cannot be answered any
 * more (its answer makes a new flow): its deadline passes without a "No
 * Response", counted.  A HOSTS-scope request is paired by address, not by
 * flow: it stays as it was; requests answered before the eviction are
 * not counted. */
Test(txn, flow_evicted_requests_expire_counted_without_record)
{
	struct expired ex = {0};
	struct txn_table *t = txn_table_new(100, 10, 64, on_expire, &ex);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_txn_request r1 = request(X1367_TXN_FLOW, 1, "q", 1);
	struct x1367_txn_request r2 = request(X1367_TXN_FLOW, 2, "q", 1);
	struct x1367_txn_request r3 = request(X1367_TXN_FLOW, 3, "q", 1);
	struct x1367_txn_request rh = request(X1367_TXN_HOSTS, 4, "q", 1);
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r1, 0, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r2, 0, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_a, &w, &r3, 0, 5000, &fl));
	cr_assert_not_null(txn_open(t, &owner_b, &w, &rh, 0, 5000, &fl));
	txn_answered(t, txn_find(t, &owner_a, &w, &r3.key));
	txn_flow_evicted(t, &fl);
	cr_assert_eq(fl.count, 0);
	cr_assert_null(fl.head);
	cr_assert_eq(txn_table_stats(t)->pending, 3, "kept to their deadlines");
	txn_expire(t, 4000000);
	cr_assert_eq(txn_table_stats(t)->evicted_pending, 0, "not before the deadline");
	txn_expire(t, 5000001);
	cr_assert_eq(ex.n, 1, "only the HOSTS-scope request is reported");
	cr_assert_eq(ex.seen[0]->key.scope, X1367_TXN_HOSTS);
	const struct txn_stats *st = txn_table_stats(t);
	cr_assert_eq(st->evicted_pending, 2);
	cr_assert_eq(st->timed_out, 1);
	cr_assert_eq(st->answered, 1);
	cr_assert_eq(st->pending, 0);
	txn_table_free(t);
}

Test(txn, bytes_are_capped_and_description_kept)
{
	uint8_t big[300];
	struct txn_table *t = txn_table_new(100, 10, 64, NULL, NULL);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_kv kv[] = {{"Function", "Read Coils (1)"}, {"Unit ID", "7"}, {"Skipped", NULL}};
	struct x1367_txn_request r = request(X1367_TXN_FLOW, 1, big, sizeof(big));
	const char *k, *v;

	memset(big, 0xAB, sizeof(big));
	r.desc = kv;
	r.n_desc = 3;
	struct x1367_txn *x = txn_open(t, &owner_a, &w, &r, 0, 5000, &fl);
	cr_assert_not_null(x);
	cr_assert_eq(x->len, 64);
	cr_assert_eq(x->wire_len, 300);
	cr_assert_eq(txn_desc_get(x, 0, &k, &v), 1);
	cr_assert_str_eq(k, "Function");
	cr_assert_str_eq(v, "Read Coils (1)");
	cr_assert_eq(txn_desc_get(x, 1, &k, &v), 1);
	cr_assert_str_eq(v, "7");
	cr_assert_eq(txn_desc_get(x, 2, &k, &v), 0);
	txn_table_free(t);
}

Test(txn, oversized_description_is_cut_and_counted)
{
	static char longv[500];
	struct txn_table *t = txn_table_new(100, 10, 64, NULL, NULL);
	struct txn_list fl = {0};
	struct txn_where w = where("10.0.0.1", "10.0.0.2", 1);
	struct x1367_kv kv[] = {{"A", "1"}, {"Long", longv}};
	struct x1367_txn_request r = request(X1367_TXN_FLOW, 1, "q", 1);
	const char *k, *v;

	memset(longv, 'z', sizeof(longv) - 1);
	r.desc = kv;
	r.n_desc = 2;
	struct x1367_txn *x = txn_open(t, &owner_a, &w, &r, 0, 5000, &fl);
	cr_assert_not_null(x);
	cr_assert_eq(txn_desc_get(x, 0, &k, &v), 1);
	cr_assert_eq(txn_desc_get(x, 1, &k, &v), 0);
	cr_assert_eq(txn_table_stats(t)->desc_truncated, 1);
	txn_table_free(t);
}
