/* The flow table: one entry for both directions, keys (VLAN, protocol,
 * IPv6), eviction, per-protocol idle expiry, closed grace, drain,
 * statistics. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "flow.h"
#include "txn.h"

#define SEC 1000000ull

struct released {
	size_t n;
	uint64_t ids[20000];
	uint8_t protos[20000];
};

static struct released REL;

static void on_release(struct flow *f, void *arg)
{
	struct released *r = arg;

	cr_assert_neq(f->id, 0, "a live flow is released");
	if (r->n < sizeof(r->ids) / sizeof(r->ids[0])) {
		r->ids[r->n] = f->id;
		r->protos[r->n] = f->key.proto;
	}
	r->n++;
}

static int was_released(uint64_t id)
{
	for (size_t i = 0; i < REL.n && i < 20000; i++)
		if (REL.ids[i] == id)
			return 1;
	return 0;
}

static struct packet mk(const char *src, uint16_t sport, const char *dst, uint16_t dport,
			uint8_t proto, uint32_t vlan, uint64_t ts)
{
	struct packet p;

	memset(&p, 0, sizeof(p));
	cr_assert_eq(addr_parse(src, &p.src), 0);
	cr_assert_eq(addr_parse(dst, &p.dst), 0);
	p.sport = sport;
	p.dport = dport;
	p.l4proto = proto;
	p.vlan = vlan;
	p.ts_usec = ts;
	return p;
}

static struct flow *get(struct flow_table *t, struct packet p, int *side, int *created)
{
	struct flow *f = flow_get(t, &p, side, created);
	cr_assert_not_null(f);
	return f;
}

static void setup(void)
{
	memset(&REL, 0, sizeof(REL));
}

TestSuite(flow, .init = setup);

Test(flow, both_directions_same_flow)
{
	struct flow_table *t = flow_table_new(100, 0, 0, on_release, &REL);
	int side, created;

	struct flow *f = get(t, mk("10.0.0.1", 40000, "10.0.0.2", 502, 6, 0, SEC), &side, &created);
	cr_assert_eq(created, 1);
	cr_assert_eq(side, 0);
	cr_assert_eq(f->key.a.bytes[3], 1);
	cr_assert_eq(f->key.port_a, 40000);
	cr_assert_eq(f->key.port_b, 502);
	cr_assert_eq(f->key.proto, IPPROTO_TCP);

	struct flow *g = get(t, mk("10.0.0.2", 502, "10.0.0.1", 40000, 6, 0, 2 * SEC), &side, &created);
	cr_assert_eq(g, f);
	cr_assert_eq(created, 0);
	cr_assert_eq(side, 1);
	cr_assert_eq(f->last_seen, 2 * SEC, "flow_get marks the flow seen");
	cr_assert_eq(f->first_seen, SEC);

	/* The higher address first: the key is still ordered. */
	struct flow *h = get(t, mk("10.0.0.9", 80, "10.0.0.3", 5000, 6, 0, SEC), &side, &created);
	cr_assert_eq(created, 1);
	cr_assert_eq(side, 1);
	cr_assert_eq(h->key.a.bytes[3], 3);
	cr_assert_eq(h->key.port_a, 5000);
	cr_assert_eq(h->key.b.bytes[3], 9);
	cr_assert_eq(h->key.port_b, 80);
	cr_assert_neq(h, f);
	cr_assert_eq(flow_table_stats(t)->active, 2);
	flow_table_free(t);
	cr_assert_eq(REL.n, 2);
}

Test(flow, same_address_ports_decide_the_side)
{
	struct flow_table *t = flow_table_new(100, 0, 0, on_release, &REL);
	int side, created;

	struct flow *f = get(t, mk("10.0.0.1", 80, "10.0.0.1", 70, 17, 0, SEC), &side, &created);
	cr_assert_eq(side, 1);
	cr_assert_eq(f->key.port_a, 70);
	struct flow *g = get(t, mk("10.0.0.1", 70, "10.0.0.1", 80, 17, 0, SEC), &side, &created);
	cr_assert_eq(g, f);
	cr_assert_eq(side, 0);
	cr_assert_eq(created, 0);
	flow_table_free(t);
}

Test(flow, vlan_and_protocol_distinguish_flows)
{
	struct flow_table *t = flow_table_new(100, 0, 0, on_release, &REL);
	int side, created;

	struct flow *a = get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 0, SEC), &side, &created);
	struct flow *b = get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 10, SEC), &side, &created);
	cr_assert_eq(created, 1);
	struct flow *c = get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 10u << 12, SEC), &side, &created);
	cr_assert_eq(created, 1, "outer VLAN 10 is not inner VLAN 10");
	struct flow *d = get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 17, 0, SEC), &side, &created);
	cr_assert_eq(created, 1, "UDP is not TCP");
	cr_assert(a != b && a != c && b != c && d != a);
	cr_assert_eq(b->key.vlan, 10);
	cr_assert_eq(c->key.vlan, 10u << 12);
	/* Both directions of the VLAN flow find it. */
	struct flow *e = get(t, mk("10.0.0.2", 2, "10.0.0.1", 1, 6, 10, SEC), &side, &created);
	cr_assert_eq(e, b);
	cr_assert_eq(side, 1);
	cr_assert_eq(flow_table_stats(t)->active, 4);
	flow_table_free(t);
	cr_assert_eq(REL.n, 4);
}

Test(flow, ipv6_flows)
{
	struct flow_table *t = flow_table_new(100, 0, 0, on_release, &REL);
	int side, created;

	struct flow *f = get(t, mk("2001:db8::20", 502, "2001:db8::10", 33000, 6, 0, SEC), &side, &created);
	cr_assert_eq(created, 1);
	cr_assert_eq(side, 1);
	cr_assert_eq(f->key.a.family, X1367_IPV6);
	cr_assert_eq(f->key.a.bytes[15], 0x10);
	cr_assert_eq(f->key.port_a, 33000);
	struct flow *g = get(t, mk("2001:db8::10", 33000, "2001:db8::20", 502, 6, 0, SEC), &side, &created);
	cr_assert_eq(g, f);
	cr_assert_eq(side, 0);
	/* Addresses differing only in the last bits of a /128. */
	struct flow *h = get(t, mk("2001:db8::10", 33000, "2001:db8::21", 502, 6, 0, SEC), &side, &created);
	cr_assert_eq(created, 1);
	cr_assert_neq(h, f);
	/* IPv4 never matches IPv6, even with the same leading bytes. */
	struct flow *v4 = get(t, mk("32.1.13.184", 33000, "32.1.13.184", 502, 6, 0, SEC), &side, &created);
	cr_assert_eq(created, 1);
	cr_assert_neq(v4, f);
	flow_table_free(t);
}

Test(flow, ipv4_bytes_beyond_the_address_ignored)
{
	struct flow_table *t = flow_table_new(100, 0, 0, on_release, &REL);
	int side, created;
	struct packet p = mk("192.0.2.1", 1000, "192.0.2.2", 2000, 17, 0, SEC);

	struct flow *f = get(t, p, &side, &created);
	memset(p.src.bytes + 4, 0xAB, 12);
	memset(p.dst.bytes + 4, 0xCD, 12);
	struct flow *g = get(t, p, &side, &created);
	cr_assert_eq(g, f);
	cr_assert_eq(created, 0);
	flow_table_free(t);
}

Test(flow, new_flow_is_zeroed_with_increasing_id)
{
	struct flow_table *t = flow_table_new(2, 0, 0, on_release, &REL);
	int side, created;

	struct flow *a = get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 0, 10), &side, &created);
	cr_assert_eq(a->id, 1);
	cr_assert_eq(a->first_seen, 10);
	cr_assert_eq(a->last_seen, 10);
	a->packets[0] = 5;
	a->bytes[1] = 77;
	a->closed = 1;
	a->dstate = a;
	a->tcp[0].started = 1;
	struct flow *b = get(t, mk("10.0.0.1", 3, "10.0.0.2", 4, 6, 0, 20), &side, &created);
	cr_assert_eq(b->id, 2);
	b->dstate = b;   /* both hold state: the least recently seen goes */
	/* Full: a (least recently seen) is evicted and its entry reused. */
	struct flow *c = get(t, mk("10.0.0.1", 5, "10.0.0.2", 6, 6, 0, 30), &side, &created);
	cr_assert_eq(c, a, "the evicted entry is reused");
	cr_assert_eq(c->id, 3);
	cr_assert_eq(c->packets[0], 0);
	cr_assert_eq(c->bytes[1], 0);
	cr_assert_eq(c->closed, 0);
	cr_assert_eq(c->evicted, 0);
	cr_assert_null(c->dstate);
	cr_assert_eq(c->tcp[0].started, 0);
	cr_assert_eq(c->key.port_a, 5);
	cr_assert_eq(c->first_seen, 30);
	flow_table_free(t);
}

Test(flow, eviction_when_full_takes_least_recently_seen)
{
	struct flow_table *t = flow_table_new(3, 0, 0, on_release, &REL);
	int side, created;

	struct flow *f1 = get(t, mk("10.0.0.1", 1, "10.0.0.9", 9, 6, 0, 1 * SEC), &side, &created);
	struct flow *f2 = get(t, mk("10.0.0.2", 1, "10.0.0.9", 9, 17, 0, 2 * SEC), &side, &created);
	struct flow *f3 = get(t, mk("10.0.0.3", 1, "10.0.0.9", 9, 6, 0, 3 * SEC), &side, &created);
	uint64_t id2 = f2->id, id1 = f1->id, id3 = f3->id;
	flow_touch(t, f1, 4 * SEC);
	cr_assert_eq(f1->last_seen, 4 * SEC);

	struct flow *f4 = get(t, mk("10.0.0.4", 1, "10.0.0.9", 9, 6, 0, 5 * SEC), &side, &created);
	cr_assert_eq(created, 1);
	cr_assert_eq(REL.n, 1);
	cr_assert_eq(REL.ids[0], id2, "f2 (UDP, seen at 2 s) was the least recently seen");
	const struct flow_stats *st = flow_table_stats(t);
	cr_assert_eq(st->evicted, 1);
	cr_assert_eq(st->active, 3);
	cr_assert_eq(st->created, 4);
	cr_assert_eq(st->peak_active, 3);
	cr_assert_eq(st->expired, 0);

	/* Next: f3 (3 s), across the TCP and UDP lists. */
	get(t, mk("10.0.0.5", 1, "10.0.0.9", 9, 17, 0, 6 * SEC), &side, &created);
	cr_assert_eq(REL.n, 2);
	cr_assert_eq(REL.ids[1], id3);
	cr_assert(!was_released(id1), "f1 was touched: kept");
	cr_assert_eq(st->evicted, 2);
	/* f1 is still found. */
	struct flow *again = get(t, mk("10.0.0.9", 9, "10.0.0.1", 1, 6, 0, 7 * SEC), &side, &created);
	cr_assert_eq(again, f1);
	cr_assert_eq(created, 0);
	(void)f4;
	flow_table_free(t);
	cr_assert_eq(REL.n, 5);
}

Test(flow, eviction_prefers_a_closed_flow)
{
	struct flow_table *t = flow_table_new(2, 0, 0, on_release, &REL);
	int side, created;

	struct flow *old = get(t, mk("10.0.0.1", 1, "10.0.0.9", 9, 6, 0, 1 * SEC), &side, &created);
	struct flow *done = get(t, mk("10.0.0.2", 1, "10.0.0.9", 9, 6, 0, 2 * SEC), &side, &created);
	uint64_t done_id = done->id, old_id = old->id;
	done->closed = 1;
	get(t, mk("10.0.0.3", 1, "10.0.0.9", 9, 6, 0, 3 * SEC), &side, &created);
	cr_assert_eq(REL.n, 1);
	cr_assert_eq(REL.ids[0], done_id);
	cr_assert_neq(REL.ids[0], old_id);
	flow_table_free(t);
}

/* ---- eviction under a flood (issue 14, defect 4) --------------------------
 * A SYN flood between a request and its answer must not push the
 * request's flow out: flows without state (no dissector state, no open
 * request) go first. */

static struct txn_table *TXNS;
static const int modbus_owner = 1;

/* The engine's release: the flow's requests outlive it. */
static void on_release_txns(struct flow *f, void *arg)
{
	on_release(f, arg);
	txn_flow_gone(TXNS, &f->txns);
}

static struct x1367_txn_request modbus_request(void)
{
	struct x1367_txn_request r;
	memset(&r, 0, sizeof(r));
	r.struct_size = sizeof(r);
	r.key.scope = X1367_TXN_FLOW;
	r.key.len = 2;
	r.key.id[1] = 7;
	r.bytes = (const uint8_t *)"\x00\x07\x00\x00\x00\x06\x01\x03\x00\x00\x00\x01";
	r.len = 12;
	return r;
}

/* Open a request on flow f, as the engine does while it processes the
 * packet it just got the flow for. */
static void open_request(struct flow *f, const struct packet *p)
{
	struct txn_where w;
	struct x1367_txn_request r = modbus_request();

	memset(&w, 0, sizeof(w));
	w.flow_id = f->id;
	w.requester = p->src;
	w.responder = p->dst;
	w.requester_port = p->sport;
	w.responder_port = p->dport;
	w.transport = X1367_TCP;
	cr_assert_not_null(txn_open(TXNS, &modbus_owner, &w, &r, p->ts_usec, 5000, &f->txns));
}

Test(flow, a_flow_with_a_pending_request_survives_a_syn_flood)
{
	struct flow_table *t = flow_table_new(64, 0, 0, on_release_txns, &REL);
	int side, created;
	char src[32];

	TXNS = txn_table_new(100, 10, 64, NULL, NULL);
	cr_assert_not_null(TXNS);
	struct packet rq = mk("192.0.2.10", 49152, "192.0.2.20", 502, 6, 0, 1 * SEC);
	struct flow *f = get(t, rq, &side, &created);
	uint64_t id = f->id;
	open_request(f, &rq);
	/* 10,000 SYNs from distinct sources in 10 ms, the table holds 64. */
	for (unsigned i = 0; i < 10000; i++) {
		snprintf(src, sizeof(src), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		get(t, mk(src, 1024 + i % 60000, "192.0.2.20", 502, 6, 0, 1 * SEC + i), &side, &created);
		cr_assert_eq(created, 1);
	}
	cr_assert(!was_released(id), "the flow with a pending request was evicted by SYNs");
	const struct flow_stats *st = flow_table_stats(t);
	cr_assert_eq(st->evicted, 10000 - 63);
	/* The answer finds the same flow and its request. */
	struct flow *again = get(t, mk("192.0.2.20", 502, "192.0.2.10", 49152, 6, 0, 2 * SEC), &side, &created);
	cr_assert_eq(created, 0);
	cr_assert_eq(again, f);
	cr_assert_eq(again->id, id);
	cr_assert_eq(again->txns.count, 1);
	flow_table_free(t);
	txn_table_free(TXNS);
}

Test(flow, dissector_state_alone_protects_a_flow_too)
{
	struct flow_table *t = flow_table_new(4, 0, 0, on_release, &REL);
	int side, created;
	static int dstate;
	char src[32];

	struct flow *f = get(t, mk("192.0.2.10", 49152, "192.0.2.20", 502, 6, 0, 1 * SEC), &side, &created);
	uint64_t id = f->id;
	f->dstate = &dstate;   /* payload seen by a dissector, nothing pending */
	for (unsigned i = 0; i < 100; i++) {
		snprintf(src, sizeof(src), "10.0.%u.%u", i >> 8, i & 255);
		get(t, mk(src, 1024, "192.0.2.20", 502, i % 2 ? 6 : 17, 0, 2 * SEC + i), &side, &created);
	}
	cr_assert(!was_released(id));
	f->dstate = NULL;
	flow_table_free(t);
}

/* When every flow holds state, the least recently seen of them goes, with
 * `evicted` set for the release callback; closed flows without state go
 * before open ones without state, and both before any flow with state. */
static int released_evicted[16];

static void on_release_flag(struct flow *f, void *arg)
{
	struct released *r = arg;
	if (r->n < 16)
		released_evicted[r->n] = f->evicted;
	on_release(f, arg);
}

Test(flow, eviction_order_closed_then_stateless_then_stateful)
{
	struct flow_table *t = flow_table_new(4, 0, 0, on_release_flag, &REL);
	int side, created;
	static int dstate;

	struct flow *s1 = get(t, mk("10.0.0.1", 1, "10.0.0.9", 9, 6, 0, 1 * SEC), &side, &created);
	s1->dstate = &dstate;
	struct flow *s2 = get(t, mk("10.0.0.2", 1, "10.0.0.9", 9, 17, 0, 2 * SEC), &side, &created);
	s2->dstate = &dstate;
	s2->closed = 1;   /* ended, but holds state */
	struct flow *open = get(t, mk("10.0.0.3", 1, "10.0.0.9", 9, 6, 0, 3 * SEC), &side, &created);
	struct flow *done = get(t, mk("10.0.0.4", 1, "10.0.0.9", 9, 6, 0, 4 * SEC), &side, &created);
	done->closed = 1;
	uint64_t id_s1 = s1->id, id_s2 = s2->id, id_open = open->id, id_done = done->id;

	for (unsigned i = 0; i < 4; i++) {
		struct flow *n = get(t, mk("10.0.1.1", (uint16_t)(10 + i), "10.0.0.9", 9, 6, 0, (5 + i) * SEC),
				     &side, &created);
		n->dstate = &dstate;   /* each new one holds state too */
	}
	cr_assert_eq(REL.n, 4);
	cr_assert_eq(REL.ids[0], id_done, "closed without state first");
	cr_assert_eq(REL.ids[1], id_open, "then open without state");
	cr_assert_eq(REL.ids[2], id_s2, "then closed with state");
	cr_assert_eq(REL.ids[3], id_s1, "then the least recently seen with state");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(released_evicted[i], 1, "release %d without the evicted flag", i);
	cr_assert_eq(flow_table_stats(t)->evicted, 4);
	cr_assert_eq(flow_table_stats(t)->evicted_with_state, 2);
	flow_table_drain(t);
	cr_assert_eq(released_evicted[4], 0, "a drained flow is not evicted");
	flow_table_free(t);
}

/* A table simply too small for the site (nearly every flow holds state)
 * is no flood: while fewer than 1/16 of the table's flows hold no state,
 * the least recently seen goes, so that a new connection is not pushed
 * out by the next new one before its first payload. */
Test(flow, few_flows_without_state_plain_lru)
{
	struct flow_table *t = flow_table_new(64, 0, 0, on_release, &REL);
	int side, created;
	static int dstate;
	char src[32];
	uint64_t ids[8];

	for (unsigned i = 0; i < 64; i++) {
		snprintf(src, sizeof(src), "10.0.0.%u", i + 1);
		struct flow *f = get(t, mk(src, 1024, "10.0.1.1", 502, 6, 0, (1 + i) * SEC), &side, &created);
		f->dstate = &dstate;
	}
	for (unsigned i = 0; i < 5; i++) {
		snprintf(src, sizeof(src), "10.0.2.%u", i + 1);
		ids[i] = get(t, mk(src, 1024, "10.0.1.1", 502, 6, 0, (100 + i) * SEC), &side, &created)->id;
	}
	/* 4 (1/16 of 64) new flows took the 4 oldest with state... */
	cr_assert_eq(REL.n, 5);
	for (unsigned i = 0; i < 4; i++) {
		cr_assert_eq(REL.ids[i], i + 1, "eviction %u: flow %llu", i, (unsigned long long)REL.ids[i]);
		cr_assert(!was_released(ids[i + 1]));
	}
	/* ...then, 4 without state, the flood rule: the oldest of them. */
	cr_assert_eq(REL.ids[4], ids[0]);
	cr_assert_eq(flow_table_stats(t)->evicted_with_state, 4);
	flow_table_free(t);
}

Test(flow, flows_with_state_still_expire_when_idle)
{
	struct flow_table *t = flow_table_new(100, 10000, 2000, on_release, &REL);
	int side, created;
	static int dstate;

	struct flow *tcp = get(t, mk("10.0.0.1", 1, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	tcp->dstate = &dstate;
	struct flow *udp = get(t, mk("10.0.0.1", 1, "10.0.0.2", 3610, 17, 0, 0), &side, &created);
	udp->dstate = &dstate;
	struct flow *plain = get(t, mk("10.0.0.1", 2, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	(void)plain;
	cr_assert_eq(flow_table_expire(t, 3 * SEC), 1, "UDP with state after 2 s");
	cr_assert_eq(flow_table_expire(t, 11 * SEC), 2, "both TCP after 10 s");
	cr_assert_eq(flow_table_stats(t)->active, 0);
	flow_table_free(t);
}

Test(flow, tcp_and_udp_idle_expiry_use_their_own_lists)
{
	/* TCP 10 s, UDP 2 s. */
	struct flow_table *t = flow_table_new(100, 10000, 2000, on_release, &REL);
	int side, created;

	struct flow *tcp = get(t, mk("10.0.0.1", 1, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	struct flow *udp = get(t, mk("10.0.0.1", 2, "10.0.0.2", 3610, 17, 0, 1 * SEC), &side, &created);
	uint64_t udp_id = udp->id, tcp_id = tcp->id;

	cr_assert_eq(flow_table_expire(t, 3 * SEC), 0, "UDP idle 2 s: not longer than 2 s");
	/* The older TCP flow (idle 3.000001 s) must not hide the UDP one. */
	cr_assert_eq(flow_table_expire(t, 3 * SEC + 1), 1);
	cr_assert_eq(REL.n, 1);
	cr_assert_eq(REL.ids[0], udp_id);
	cr_assert_eq(REL.protos[0], 17);
	const struct flow_stats *st = flow_table_stats(t);
	cr_assert_eq(st->expired, 1);
	cr_assert_eq(st->active, 1);

	cr_assert_eq(flow_table_expire(t, 10 * SEC), 0, "TCP idle exactly 10 s stays");
	cr_assert_eq(flow_table_expire(t, 10 * SEC + 1), 1);
	cr_assert_eq(REL.ids[1], tcp_id);
	cr_assert_eq(st->expired, 2);
	cr_assert_eq(st->active, 0);
	cr_assert_eq(st->closed, 0);
	cr_assert_eq(st->peak_active, 2);
	flow_table_free(t);
	cr_assert_eq(REL.n, 2, "nothing left to release");
}

Test(flow, touched_flows_do_not_expire)
{
	struct flow_table *t = flow_table_new(100, 10000, 2000, on_release, &REL);
	int side, created;

	struct flow *a = get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 17, 0, 0), &side, &created);
	struct flow *b = get(t, mk("10.0.0.1", 3, "10.0.0.2", 4, 17, 0, 0), &side, &created);
	flow_touch(t, a, 2 * SEC);
	cr_assert_eq(flow_table_expire(t, 3 * SEC), 1);
	cr_assert_eq(REL.ids[0], b->id);
	/* Capture time stepping back does not make a flow older. */
	flow_touch(t, a, 1 * SEC);
	cr_assert_eq(a->last_seen, 2 * SEC);
	cr_assert_eq(flow_table_expire(t, 4 * SEC), 0);
	cr_assert_eq(flow_table_expire(t, 4 * SEC + 1), 1);
	flow_table_free(t);
}

Test(flow, closed_flow_leaves_after_grace_even_behind_open_flows)
{
	struct flow_table *t = flow_table_new(100, 600000, 120000, on_release, &REL);
	int side, created;

	struct flow *open = get(t, mk("10.0.0.1", 1, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	/* The engine gets the flow, then sees its FIN/RST and sets closed. */
	struct flow *fin = get(t, mk("10.0.0.1", 2, "10.0.0.2", 502, 6, 0, 1 * SEC), &side, &created);
	fin->closed = 1;
	uint64_t fin_id = fin->id;

	cr_assert_eq(flow_table_expire(t, 6 * SEC), 0, "grace: 5 s from last seen");
	cr_assert_eq(flow_table_expire(t, 6 * SEC + 1), 1);
	cr_assert_eq(REL.n, 1);
	cr_assert_eq(REL.ids[0], fin_id);
	const struct flow_stats *st = flow_table_stats(t);
	cr_assert_eq(st->closed, 1);
	cr_assert_eq(st->expired, 0);
	cr_assert_eq(st->active, 1);
	cr_assert_eq(open->closed, 0);
	flow_table_free(t);
}

Test(flow, closed_flow_seen_again_gets_a_fresh_grace)
{
	struct flow_table *t = flow_table_new(100, 600000, 120000, on_release, &REL);
	int side, created;

	struct flow *f = get(t, mk("10.0.0.1", 2, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	f->closed = 1;
	/* The last ACK, 3 s later. */
	struct flow *g = get(t, mk("10.0.0.2", 502, "10.0.0.1", 2, 6, 0, 3 * SEC), &side, &created);
	cr_assert_eq(g, f);
	cr_assert_eq(flow_table_expire(t, 7 * SEC), 0);
	cr_assert_eq(flow_table_expire(t, 8 * SEC + 1), 1);
	cr_assert_eq(flow_table_stats(t)->closed, 1);
	flow_table_free(t);
}

Test(flow, closed_by_the_engine_later_is_found_when_touched)
{
	struct flow_table *t = flow_table_new(100, 600000, 120000, on_release, &REL);
	int side, created;

	struct flow *a = get(t, mk("10.0.0.1", 1, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	struct flow *b = get(t, mk("10.0.0.1", 2, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	/* a is closed while b was the last flow handed out... */
	a->closed = 1;
	flow_touch(t, a, 1 * SEC);  /* ...and marked seen: the table notices. */
	flow_touch(t, b, 2 * SEC);
	cr_assert_eq(flow_table_expire(t, 6 * SEC + 1), 1);
	cr_assert_eq(REL.ids[0], a->id);
	cr_assert_eq(flow_table_stats(t)->closed, 1);
	flow_table_free(t);
}

Test(flow, closed_udp_flow_grace)
{
	/* UDP idle 2 s: shorter than the grace, it applies. */
	struct flow_table *t = flow_table_new(100, 600000, 2000, on_release, &REL);
	int side, created;

	struct flow *f = get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 17, 0, 0), &side, &created);
	f->closed = 1;
	cr_assert_eq(flow_table_expire(t, 2 * SEC), 0);
	cr_assert_eq(flow_table_expire(t, 2 * SEC + 1), 1);
	cr_assert_eq(flow_table_stats(t)->closed, 1);
	cr_assert_eq(flow_table_stats(t)->expired, 0);
	flow_table_free(t);
}

Test(flow, drain_releases_every_flow)
{
	struct flow_table *t = flow_table_new(100, 0, 0, on_release, &REL);
	int side, created;

	for (uint16_t i = 0; i < 10; i++) {
		struct flow *f = get(t, mk("10.0.0.1", (uint16_t)(1000 + i), "10.0.0.2", 502,
					   (i & 1) ? 17 : 6, 0, i * SEC), &side, &created);
		if (i == 3)
			f->closed = 1;
	}
	const struct flow_stats *st = flow_table_stats(t);
	cr_assert_eq(st->active, 10);
	flow_table_drain(t);
	cr_assert_eq(REL.n, 10);
	for (uint64_t id = 1; id <= 10; id++)
		cr_assert(was_released(id), "flow %llu released", (unsigned long long)id);
	cr_assert_eq(st->active, 0);
	cr_assert_eq(st->peak_active, 10);
	cr_assert_eq(st->created, 10);
	cr_assert_eq(st->expired + st->closed + st->evicted, 0);
	cr_assert_eq(flow_table_expire(t, 1000 * SEC), 0);

	/* Usable after a drain: new flows, new ids, nothing old found. */
	struct flow *f = get(t, mk("10.0.0.1", 1000, "10.0.0.2", 502, 6, 0, 0), &side, &created);
	cr_assert_eq(created, 1);
	cr_assert_eq(f->id, 11);
	cr_assert_eq(st->active, 1);
	flow_table_free(t);
	cr_assert_eq(REL.n, 11);
}

Test(flow, many_flows_across_chunks)
{
	struct flow_table *t = flow_table_new(10000, 0, 0, on_release, &REL);
	int side, created;
	char dst[32];

	for (uint32_t i = 0; i < 12000; i++) {
		snprintf(dst, sizeof(dst), "10.1.%u.%u", i >> 8, i & 255);
		get(t, mk("10.0.0.1", 1, dst, 2, 6, 0, i), &side, &created);
		cr_assert_eq(created, 1);
	}
	const struct flow_stats *st = flow_table_stats(t);
	cr_assert_eq(st->created, 12000);
	cr_assert_eq(st->active, 10000);
	cr_assert_eq(st->peak_active, 10000);
	cr_assert_eq(st->evicted, 2000);
	cr_assert_eq(REL.n, 2000);
	cr_assert(was_released(1) && was_released(2000) && !was_released(2001));
	/* The 10000 newest are all found. */
	for (uint32_t i = 2000; i < 12000; i++) {
		snprintf(dst, sizeof(dst), "10.1.%u.%u", i >> 8, i & 255);
		struct flow *f = get(t, mk(dst, 2, "10.0.0.1", 1, 6, 0, 20000 + i), &side, &created);
		cr_assert_eq(created, 0);
		cr_assert_eq(f->id, i + 1);
		cr_assert_eq(side, 1);
	}
	cr_assert_eq(st->evicted, 2000);
	flow_table_free(t);
	cr_assert_eq(REL.n, 12000);
}

Test(flow, hash_key_differs_per_table)
{
	struct flow_table *t1 = flow_table_new(16, 0, 0, on_release, &REL);
	struct flow_table *t2 = flow_table_new(16, 0, 0, on_release, &REL);
	int side, created;
	struct packet p = mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 0, 0);

	struct flow *a = get(t1, p, &side, &created);
	struct flow *b = get(t2, p, &side, &created);
	cr_assert_neq(a->hash, b->hash, "random per-table hash key");
	flow_table_free(t1);
	flow_table_free(t2);
}

Test(flow, free_releases_remaining_and_accepts_null)
{
	struct flow_table *t = flow_table_new(8, 0, 0, on_release, &REL);
	int side, created;

	get(t, mk("10.0.0.1", 1, "10.0.0.2", 2, 6, 0, 0), &side, &created);
	get(t, mk("10.0.0.1", 3, "10.0.0.2", 4, 17, 0, 0), &side, &created);
	flow_table_free(t);
	cr_assert_eq(REL.n, 2);
	flow_table_free(NULL);
}
