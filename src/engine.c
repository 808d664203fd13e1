/*
 * The engine: the packet's path from captured bytes to record.  See
 * engine.h and docs/ARCHITECTURE.md.  This file wires the stages together
 * and implements the calls dissectors make (struct x1367_engine_api); each
 * stage's logic lives in its own file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "addr.h"
#include "assets.h"
#include "community_id.h"
#include "decode.h"
#include "defrag.h"
#include "detect.h"
#include "engine.h"
#include "flow.h"
#include "geoip.h"
#include "output.h"
#include "record.h"
#include "registry.h"
#include "rules.h"
#include "silence.h"
#include "stats.h"
#include "tcp_reasm.h"
#include "txn.h"
#include "x1367_codes.h"

#define HOUSEKEEPING_USEC 1000000ull   /* fragment expiry: once a capture second */
#define DESC_MAX 48                    /* Description fields in one record */

/* The context a dissector call runs in: one packet of one flow. */
struct x1367_ctx {
	struct engine *e;
	const struct registry_entry *re;
	struct flow *flow;
	const struct packet *pkt;
	struct x1367_packet xp;
	/* Responses without request already counted by their event in this
	 * parse call, and not yet by a report (count_unsolicited). */
	unsigned unsolicited_pending;
};

struct engine {
	struct engine_config cfg;
	struct registry *reg;
	const struct rules *rules;
	struct output *out;
	struct geoip *geo;
	const struct assets *assets;   /* --assets, NULL: none */

	struct decoder dec;
	struct defrag *defrag;
	struct flow_table *flows;
	struct tcp_reasm reasm;
	struct txn_table *txns;
	struct detect *detect;
	struct silence *silence;

	uint64_t clock;                /* latest capture time seen */
	uint64_t next_housekeeping;
	uint64_t packets, bytes;
	uint64_t records, record_errors;
	uint64_t sequence;             /* last Sequence given to a record */
	uint64_t not_tcp_udp_flows;
	struct proto_stats proto[REGISTRY_MAX];
	struct code_counter by_code;
	struct x1367_ctx ctx;          /* reused for every dissector call */
};

static const struct x1367_engine_api engine_api;

void engine_config_defaults(struct engine_config *c)
{
	memset(c, 0, sizeof(*c));
	c->reporter_ip = "0.0.0.0";
	c->sensor_name = "x1367ids";
	c->max_flows = 262144;
	c->tcp_idle_ms = 600000;
	c->udp_idle_ms = 120000;
	c->max_stream_bytes = 256 * 1024;
	c->max_reasm_bytes = 256u * 1024 * 1024;
	c->max_txns = 65536;
	c->max_txns_per_flow = 1024;
	c->max_code_bytes = 1024;
	c->max_frag_datagrams = 1024;
	c->max_frag_bytes = 16u * 1024 * 1024;
	c->frag_timeout_ms = 30000;
	c->ndpi_enabled = 1;
	c->silence_factor = 3;
	c->silence_min_intervals = 3;
	c->max_silence_devices = 65536;
}

static struct proto_stats *pstats(struct engine *e, const struct registry_entry *re)
{
	return &e->proto[re->index];
}

/* ---- records ------------------------------------------------------------ */

/* Description fields in the order a SOC analyst reads them. */
struct desc_builder {
	struct x1367_kv kv[DESC_MAX];
	size_t n;
	char bufs[12][COMMUNITY_ID_MAX + 64];
	size_t nbuf;
};

static void desc_add(struct desc_builder *b, const char *key, const char *value)
{
	if (b->n < DESC_MAX && key && value)
		b->kv[b->n++] = (struct x1367_kv){key, value};
}

static char *desc_buf(struct desc_builder *b)
{
	return b->nbuf < sizeof(b->bufs) / sizeof(b->bufs[0]) ? b->bufs[b->nbuf++] : NULL;
}

static void desc_add_fmt(struct desc_builder *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void desc_add_fmt(struct desc_builder *b, const char *key, const char *fmt, ...)
{
	char *buf = desc_buf(b);
	va_list ap;
	if (!buf)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(b->bufs[0]), fmt, ap);
	va_end(ap);
	desc_add(b, key, buf);
}

static void desc_add_geo(struct desc_builder *b, struct geoip *geo, int requester,
			 const struct x1367_addr *a)
{
	struct geoip_info gi;
	if (!geo || !geoip_lookup(geo, a, &gi))
		return;
	if (gi.country[0])
		desc_add_fmt(b, requester ? "Requester Country" : "Responder Country", "%s", gi.country);
	if (gi.asn[0])
		desc_add_fmt(b, requester ? "Requester ASN" : "Responder ASN", "%s%s%s", gi.asn,
			     gi.as_org[0] ? " " : "", gi.as_org);
}

/* Who, where and which flow: the fields every record carries so it joins
 * with firewall, Zeek and Suricata logs. */
static void desc_add_where(struct engine *e, struct desc_builder *b, const struct txn_where *w)
{
	char *rq = desc_buf(b), *rs = desc_buf(b), *cid = desc_buf(b);

	desc_add(b, "Sensor", e->cfg.sensor_name);
	desc_add(b, "Transport", w->transport == X1367_TCP ? "TCP" : "UDP");
	if (rq) {
		addr_format(&w->requester, rq, ADDR_STR_MAX);
		desc_add(b, "Requester Address", rq);
	}
	desc_add_fmt(b, "Requester Port", "%u", w->requester_port);
	if (rs) {
		addr_format(&w->responder, rs, ADDR_STR_MAX);
		desc_add(b, "Responder Address", rs);
	}
	desc_add_fmt(b, "Responder Port", "%u", w->responder_port);
	if (w->vlan >> 12)
		desc_add_fmt(b, "VLAN", "%u.%u", w->vlan >> 12, w->vlan & 0xFFF);   /* QinQ: outer.inner */
	else if (w->vlan)
		desc_add_fmt(b, "VLAN", "%u", w->vlan);
	if (cid && !community_id_v1(w->transport == X1367_TCP ? IPPROTO_TCP : IPPROTO_UDP, &w->requester, w->requester_port,
				    &w->responder, w->responder_port, cid))
		desc_add(b, "Community ID", cid);
	desc_add_geo(b, e->geo, 1, &w->requester);
	desc_add_geo(b, e->geo, 0, &w->responder);
}

/* What a stored request says about itself: the fields and responder
 * Unique ID stored with it, or else what its dissector's describe_request
 * says now. */
struct txn_description {
	struct x1367_kv kv[DESC_MAX / 2];
	char buf[1024];
	char uid[TXN_UID_MAX];
};

static void describe_txn(const struct x1367_txn *x, struct txn_description *td)
{
	const struct x1367_dissector *d = ((const struct registry_entry *)x->owner)->d;
	struct x1367_request_view v = {
		.struct_size = sizeof(v),
		.bytes = x->bytes,
		.len = x->len,
		.wire_len = x->wire_len,
		.requester = &x->where.requester,
		.responder = &x->where.responder,
		.requester_port = x->where.requester_port,
		.responder_port = x->where.responder_port,
	};
	size_t n = 0;

	memset(td->kv, 0, sizeof(td->kv));
	snprintf(td->uid, sizeof(td->uid), "%s", x->responder_uid);
	if ((x->n_desc || x->responder_uid[0]) || !d->describe_request)
		return;
	n = d->describe_request(&v, td->uid, sizeof(td->uid), td->kv, DESC_MAX / 2, td->buf, sizeof(td->buf));
	if (n > DESC_MAX / 2)
		memset(td->kv, 0, sizeof(td->kv));   /* a dissector that lies: use nothing */
}

/* The request's fields; td as describe_txn() filled it. */
static void desc_add_txn(struct desc_builder *b, const struct x1367_txn *x, const struct txn_description *td)
{
	const char *k, *v;
	if (!x)
		return;
	for (size_t i = 0; txn_desc_get(x, i, &k, &v); i++)
		desc_add(b, k, v);
	for (size_t i = 0; i < DESC_MAX / 2 && td->kv[i].key; i++)
		desc_add(b, td->kv[i].key, td->kv[i].value);
}

/* ---- the operator's asset table (--assets) -------------------------------- */

enum { ROLE_REQUESTER, ROLE_RESPONDER };
static const char *const asset_keys[2][4] = {
	{ "Requester Observed ID", "Requester Name", "Requester Location", "Requester Ecosystem" },
	{ "Responder Observed ID", "Responder Name", "Responder Location", "Responder Ecosystem" },
};

/* A party the table knows gets the operator's Unique ID; the ID the
 * sensor saw stays in Description (Observed ID), with the asset's name,
 * location and ecosystem.  Unknown parties keep the sensor's defaults. */
static void party_asset(struct engine *e, struct desc_builder *b, int role, struct record_party *p,
			const struct x1367_addr *a, const uint8_t *mac)
{
	const struct asset *as;
	const char *const *key = asset_keys[role];

	if (!e->assets || !p->present || !(as = assets_find(e->assets, p->unique_id, a, mac)))
		return;
	if (p->unique_id && *p->unique_id)
		desc_add(b, key[0], p->unique_id);
	p->unique_id = as->unique_id;
	if (*as->name)
		desc_add(b, key[1], as->name);
	if (*as->location)
		desc_add(b, key[2], as->location);
	if (*as->ecosystem)
		desc_add(b, key[3], as->ecosystem);
}

static void desc_add_assets(struct engine *e, struct desc_builder *b, struct record_input *in,
			    const struct txn_where *w)
{
	party_asset(e, b, ROLE_REQUESTER, &in->requester, &w->requester,
		    w->has_mac ? w->requester_mac : NULL);
	party_asset(e, b, ROLE_RESPONDER, &in->responder, &w->responder,
		    w->has_mac ? w->responder_mac : NULL);
}

static void emit(struct engine *e, const struct registry_entry *re, struct record_input *in,
		 struct desc_builder *b)
{
	/* A number per record, so a collector sees gaps and duplicates. */
	desc_add_fmt(b, "Sequence", "%llu", (unsigned long long)++e->sequence);
	in->reporter_ip = e->cfg.reporter_ip;
	in->protocol = re->d->protocol;
	in->error_message = x1367_code_message(in->error_code);
	in->desc = b->kv;
	in->n_desc = b->n;
	in->max_code_bytes = e->cfg.max_code_bytes;
	char *line = in->error_message ? record_build(in) : NULL;
	if (!line) {
		e->record_errors++;
		return;
	}
	if (output_write(e->out, line, strlen(line)) == 0) {
		e->records++;
		pstats(e, re)->records++;
		code_counter_add(&e->by_code, in->error_code);
	} else {
		e->record_errors++;
	}
	free(line);
}

/* ---- the current packet, as the dissector and the txn table see it ------- */

static void where_of_packet(const struct x1367_ctx *c, int response, struct txn_where *w)
{
	const struct packet *p = c->pkt;
	memset(w, 0, sizeof(*w));
	w->flow_id = c->flow->id;
	w->transport = packet_transport(p);
	w->vlan = p->vlan;
	/* A request goes requester -> responder; a response the other way. */
	w->requester = response ? p->dst : p->src;
	w->responder = response ? p->src : p->dst;
	w->requester_port = response ? p->dport : p->sport;
	w->responder_port = response ? p->sport : p->dport;
	w->has_mac = p->has_mac;
	memcpy(w->requester_mac, response ? p->dst_mac : p->src_mac, 6);
	memcpy(w->responder_mac, response ? p->src_mac : p->dst_mac, 6);
}

/* ---- the API dissectors call -------------------------------------------- */

static int api_txn_open(x1367_ctx *c, const struct x1367_txn_request *req)
{
	struct txn_where w;
	if (!req || req->struct_size < sizeof(*req))
		return -1;
	where_of_packet(c, 0, &w);
	/* A polled device is judged silent only while a request to it waits. */
	silence_asked(c->e->silence, c->re, req->responder_uid, &w.responder, c->xp.ts_usec);
	return txn_open(c->e->txns, c->re, &w, req, c->xp.ts_usec, c->re->timeout_ms,
			&c->flow->txns) ? 0 : -1;
}

static x1367_txn *api_txn_find(x1367_ctx *c, const struct x1367_txn_key *key)
{
	struct txn_where w;
	where_of_packet(c, 1, &w);
	return txn_find(c->e->txns, c->re, &w, key);
}

static x1367_txn *api_txn_find_next(x1367_ctx *c, const struct x1367_txn_key *key,
				    const x1367_txn *after)
{
	struct txn_where w;
	where_of_packet(c, 1, &w);
	return txn_find_next(c->e->txns, c->re, &w, key, after);
}

static const uint8_t *api_txn_request(const x1367_txn *x, size_t *len, size_t *wire_len)
{
	if (len)
		*len = x->len;
	if (wire_len)
		*wire_len = x->wire_len;
	return x->bytes;
}

static void api_txn_answered(x1367_ctx *c, x1367_txn *x)
{
	/* An answer is a sign of life for silence detection, whatever its
	 * kind (an exception too).  Only a packet from the responder answers:
	 * a client giving up a request (CoAP token reuse) is no answer. */
	if (!x->multicast && addr_cmp(&c->pkt->src, &x->where.responder) == 0)
		silence_heard(c->e->silence, c->re, x->responder_uid, &c->pkt->src, c->xp.ts_usec);
	txn_answered(c->e->txns, x);
}

/* One counter, one meaning: a response with no request to pair it with
 * counts once in responses_without_request, whether the dissector says
 * so by the event X1367_EV_RESPONSE_WITHOUT_REQUEST, by a report with no
 * transaction, or both (the bundled dissectors raise the event and then
 * report the error of that same response).  Within one parse call, a
 * report finds the response already counted by an event not yet matched
 * by a report.  A report flagged X1367_REPORT_UNSOLICITED expected no
 * request: it counts in unsolicited_reports instead (api_report). */
static void count_unsolicited(x1367_ctx *c, int from_report)
{
	if (from_report && c->unsolicited_pending) {
		c->unsolicited_pending--;
		return;
	}
	if (!from_report)
		c->unsolicited_pending++;
	pstats(c->e, c->re)->responses_without_request++;
}

static void api_report(x1367_ctx *c, const struct x1367_report *rep)
{
	struct engine *e = c->e;
	struct rules_verdict v;
	struct record_input in;
	struct desc_builder b;
	struct txn_description td;
	struct txn_where w;
	char req_uid[ADDR_STR_MAX];

	/* Smaller than ABI 1.0's struct (everything before flags): a
	 * dissector's bug, not the device's error: counted, never guessed
	 * into a record.  A 1.0 to 1.3 plugin's struct ends before flags. */
	if (!rep || rep->struct_size < offsetof(struct x1367_report, flags)) {
		pstats(e, c->re)->reports_rejected++;
		return;
	}
	uint32_t flags = X1367_HAS_FIELD(rep, flags) ? rep->flags : 0;
	int on_its_own = !rep->txn && (flags & X1367_REPORT_UNSOLICITED);
	/* Which code, or none: rules.c decides; here it is counted and wired. */
	rules_map(e->rules, c->re->d->name, rep->vendor_code, rep->txn != NULL, &v);
	if (v.outcome == RULES_UNMAPPED)
		pstats(e, c->re)->unmapped++;
	if (v.outcome == RULES_NOT_ERROR) {
		pstats(e, c->re)->not_errors++;
		return;
	}
	where_of_packet(c, 1, &w);
	/* An error answer is an answer: the device is not silent. */
	if (rep->responder_uid)
		silence_heard(e->silence, c->re, rep->responder_uid, &c->pkt->src, c->xp.ts_usec);
	if (on_its_own)
		pstats(e, c->re)->unsolicited_reports++;
	else if (!rep->txn)
		count_unsolicited(c, 1);
	addr_format(&w.requester, req_uid, sizeof(req_uid));

	memset(&in, 0, sizeof(in));
	memset(&b, 0, sizeof(b));
	in.ts_usec = c->xp.ts_usec;
	in.error_code = v.code;
	in.requester = (struct record_party){1, rep->requester_uid ? rep->requester_uid : req_uid,
					     rep->txn ? rep->txn->bytes : NULL,
					     rep->txn ? rep->txn->len : 0, rep->txn ? rep->txn->wire_len : 0};
	in.responder = (struct record_party){1, rep->responder_uid ? rep->responder_uid : "",
					     rep->response, rep->response_len, rep->response_len};
	desc_add_where(e, &b, &w);
	desc_add_assets(e, &b, &in, &w);
	if (rep->txn)
		describe_txn(rep->txn, &td);
	desc_add_txn(&b, rep->txn, &td);
	for (size_t i = 0; rep->desc && i < rep->n_desc; i++)
		desc_add(&b, rep->desc[i].key, rep->desc[i].value);
	desc_add(&b, "Vendor Code", rep->vendor_code);
	desc_add(&b, "Vendor Meaning", v.meaning);
	if (!rep->txn)
		desc_add(&b, "Request", on_its_own ? "none: sent by the device on its own"
						   : "not seen in the capture");
	desc_add(&b, "Detail", v.detail);
	emit(e, c->re, &in, &b);
}

static void api_event(x1367_ctx *c, const char *name)
{
	if (!name)
		return;
	name_counter_add(&pstats(c->e, c->re)->events, name);
	if (!strcmp(name, X1367_EV_RESPONSE_WITHOUT_REQUEST))
		count_unsolicited(c, 0);
}

static void beat(x1367_ctx *c, const char *uid, int polled)
{
	const struct packet *p = c->pkt;
	if (uid)
		silence_beat(c->e->silence, c->re, uid, &p->src, p->sport,
			     packet_transport(p), c->xp.ts_usec, polled);
}

static void api_heartbeat(x1367_ctx *c, const char *uid)
{
	beat(c, uid, 0);
}

static void api_heartbeat_polled(x1367_ctx *c, const char *uid)
{
	beat(c, uid, 1);
}

static void api_log(x1367_ctx *c, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void api_log(x1367_ctx *c, int level, const char *fmt, ...)
{
	va_list ap;
	if (level > X1367_LOG_WARNING)
		return;
	fprintf(stderr, "x1367ids: %s: ", c && c->re ? c->re->d->name : "engine");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int api_flow_closed(x1367_ctx *c)
{
	return c->flow && c->flow->closed;
}

static const struct x1367_engine_api engine_api = {
	.abi_major = X1367_ABI_MAJOR,
	.struct_size = sizeof(struct x1367_engine_api),
	.txn_open = api_txn_open,
	.txn_find = api_txn_find,
	.txn_request = api_txn_request,
	.txn_answered = api_txn_answered,
	.report = api_report,
	.event = api_event,
	.heartbeat = api_heartbeat,
	.log = api_log,
	.format_addr = addr_format,
	.flow_closed = api_flow_closed,
	.heartbeat_polled = api_heartbeat_polled,
	.txn_find_next = api_txn_find_next,
};

/* ---- records the engine writes by itself --------------------------------- */

/* A request's deadline passed with no answer: "10 No Response", or "11
 * Communication Failed" for a request that tests the link itself. */
static void on_txn_expired(const struct x1367_txn *x, void *arg)
{
	struct engine *e = arg;
	const struct registry_entry *re = x->owner;
	struct record_input in;
	struct desc_builder b;
	struct txn_description td;
	char req_uid[ADDR_STR_MAX];

	addr_format(&x->where.requester, req_uid, sizeof(req_uid));
	memset(&in, 0, sizeof(in));
	memset(&b, 0, sizeof(b));
	in.ts_usec = x->deadline_usec;
	in.error_code = x->flags & X1367_TXN_LINK_TEST ? "11" : "10";
	describe_txn(x, &td);
	in.requester = (struct record_party){1, req_uid, x->bytes, x->len, x->wire_len};
	in.responder = (struct record_party){1, td.uid, NULL, 0, 0};
	desc_add_where(e, &b, &x->where);
	desc_add_assets(e, &b, &in, &x->where);
	desc_add_txn(&b, x, &td);
	desc_add_fmt(&b, "Detail", "no response within %u ms of the %s", re->timeout_ms,
		     x->flags & X1367_TXN_LINK_TEST ? "link test" : "request");
	emit(e, re, &in, &b);
}

/* A periodic sender fell silent (Appendix I.3): "11 Communication Failed". */
static void on_silence(const struct silence_device *d, uint64_t at_usec, void *arg)
{
	struct engine *e = arg;
	const struct registry_entry *re = d->owner;
	struct record_input in;
	struct desc_builder b;
	char last[32], *addr;

	memset(&in, 0, sizeof(in));
	memset(&b, 0, sizeof(b));
	in.ts_usec = at_usec;
	in.error_code = "11";
	in.requester = (struct record_party){0, NULL, NULL, 0, 0};
	in.responder = (struct record_party){1, d->uid, NULL, 0, 0};
	record_format_time(d->heard_usec, last);
	desc_add(&b, "Detail", "Responder stopped sending data.");
	desc_add(&b, "Sensor", e->cfg.sensor_name);
	desc_add(&b, "Transport", d->transport == X1367_TCP ? "TCP" : "UDP");
	if ((addr = desc_buf(&b)) != NULL) {
		addr_format(&d->addr, addr, ADDR_STR_MAX);
		desc_add(&b, "Responder Address", addr);
	}
	desc_add_fmt(&b, "Responder Port", "%u", d->port);
	/* The silence table keeps no MAC: address and Unique ID only. */
	party_asset(e, &b, ROLE_RESPONDER, &in.responder, &d->addr, NULL);
	desc_add_fmt(&b, "Learned Period", "%.3f s", (double)d->period_usec / 1e6);
	desc_add(&b, "Last Message", last);
	desc_add_fmt(&b, "Silent For", "more than %u periods", e->cfg.silence_factor);
	emit(e, re, &in, &b);
}

/* ---- feeding dissectors ------------------------------------------------- */

static void flow_pseudo_packet(const struct flow *f, enum x1367_dir dir,
			       struct packet *p);

static void ctx_enter(struct engine *e, struct flow *f, const struct packet *p, enum x1367_dir dir)
{
	struct x1367_ctx *c = &e->ctx;
	c->e = e;
	c->re = f->dissector;
	c->flow = f;
	c->pkt = p;
	c->xp.struct_size = sizeof(c->xp);
	c->xp.ts_usec = p->ts_usec;
	c->xp.src = &p->src;
	c->xp.dst = &p->dst;
	c->xp.sport = p->sport;
	c->xp.dport = p->dport;
	c->xp.transport = packet_transport(p);
	c->xp.dst_is_multicast = (uint8_t)addr_is_multicast(&p->dst);
	c->xp.dir = (uint8_t)dir;
	c->unsolicited_pending = 0;
}

/* Run the dissector over bytes until it needs more; returns bytes used. */
static size_t parse_bytes(struct engine *e, const uint8_t *data, size_t len)
{
	struct x1367_ctx *c = &e->ctx;
	const struct x1367_dissector *d = c->re->d;
	x1367_parse_fn parse = d->parse[c->xp.dir];
	size_t total = 0;

	while (total < len) {
		size_t used = 0;
		c->unsolicited_pending = 0;
		enum x1367_parse_result r = parse(c, c->flow->dstate, &c->xp, data + total, len - total, &used);
		if (used > len - total)
			used = len - total;   /* a dissector may not claim bytes it was not given */
		total += used;
		if (r == X1367_PARSE_ERROR) {
			pstats(e, c->re)->parse_errors++;
			if (!used) {
				/* It could not resynchronise: skip what we have. */
				pstats(e, c->re)->bytes_skipped += len - total;
				total = len;
			}
			continue;
		}
		if (r == X1367_PARSE_NEED_MORE || !used)
			break;
	}
	return total;
}

static size_t tcp_deliver(void *arg, const uint8_t *data, size_t len)
{
	struct engine *e = arg;
	/* Records carry the time the bytes were on the wire, also for a
	 * segment delivered late (it waited for a hole to fill). */
	e->ctx.xp.ts_usec = e->reasm.data_usec;
	return parse_bytes(e, data, len);
}

static void tcp_gap(void *arg, uint32_t len)
{
	struct engine *e = arg;
	struct x1367_ctx *c = &e->ctx;
	(void)len;
	name_counter_add(&pstats(e, c->re)->events, "stream_gap");
	/* Answers from this side may have been in the lost bytes. */
	txn_flow_gap(e->txns, &c->flow->txns, c->xp.src, c->xp.sport);
	/* A flow that never carried payload has no state to reset. */
	if (c->re->d->gap && c->flow->dissected)
		c->re->d->gap(c, c->flow->dstate, (enum x1367_dir)c->xp.dir);
}

/* A flow counts for its protocol on its first payload, whether or not the
 * dissector keeps state (state_size 0 is allowed: no allocation, still a
 * flow). */
static int ensure_state(struct engine *e, struct flow *f)
{
	const struct registry_entry *re = f->dissector;
	if (f->dissected)
		return 0;
	/* Allocated on a flow's first payload, not on its SYN: a SYN flood
	 * costs no dissector state. */
	if (re->d->state_size && !(f->dstate = calloc(1, re->d->state_size)))
		return -1;
	f->dissected = 1;
	pstats(e, re)->flows++;
	return 0;
}

static void dissect_tcp(struct engine *e, struct flow *f, const struct packet *p, enum x1367_dir dir)
{
	struct tcp_consumer cons = {tcp_deliver, tcp_gap, e};
	struct tcp_stream *s = &f->tcp[dir];

	e->reasm.now_usec = p->ts_usec;

	if ((p->tcp_flags & TCP_FLAG_SYN) && !s->started)
		tcp_stream_syn(s, p->tcp_seq);
	struct tcp_stream *peer = &f->tcp[!dir];
	if ((p->tcp_flags & TCP_FLAG_ACK) && peer->started && (int32_t)(p->tcp_ack - peer->next_seq) > 0) {
		/* This packet acknowledges bytes of the other direction that the
		 * capture has not delivered: maybe a hole it will never fill.
		 * Any delivery that follows is the other direction's data. */
		struct packet pseudo;
		flow_pseudo_packet(f, (enum x1367_dir)!dir, &pseudo);
		ctx_enter(e, f, &pseudo, (enum x1367_dir)!dir);
		tcp_stream_ack(&e->reasm, peer, p->tcp_ack, &cons);
	}
	/* SYN+FIN is no real end of stream (scanners and fuzzers send it):
	 * honouring it would blind us to everything the side sends after. */
	int syn = !!(p->tcp_flags & TCP_FLAG_SYN);
	int fin = (p->tcp_flags & TCP_FLAG_FIN) && !syn;
	if (p->payload_len || fin) {
		ctx_enter(e, f, p, dir);
		tcp_stream_segment(&e->reasm, s, p->tcp_seq + (uint32_t)syn, p->payload, p->payload_len,
				   fin, &cons);
	}
	if (p->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST))
		f->closed = 1;
}

static void dissect(struct engine *e, struct flow *f, const struct packet *p, int side)
{
	enum x1367_dir dir = side == f->server_side ? X1367_TO_CLIENT : X1367_TO_SERVER;

	if (!p->payload_len && p->l4proto != IPPROTO_TCP)
		return;
	if (p->payload_len && ensure_state(e, f))
		return;
	if (p->l4proto == IPPROTO_TCP) {
		dissect_tcp(e, f, p, dir);
		return;
	}
	ctx_enter(e, f, p, dir);
	parse_bytes(e, p->payload, p->payload_len);
}

/* ---- flows leaving the table --------------------------------------------- */

/* A packet standing for the flow itself, for calls made when it ends. */
static void flow_pseudo_packet(const struct flow *f, enum x1367_dir dir,
			       struct packet *p)
{
	int from_b = (dir == X1367_TO_CLIENT) == (f->server_side == 1);
	memset(p, 0, sizeof(*p));
	/* What happens as the flow ends happened at its last packet. */
	p->ts_usec = f->last_seen;
	p->vlan = f->key.vlan;
	p->l4proto = f->key.proto;
	p->src = from_b ? f->key.b : f->key.a;
	p->dst = from_b ? f->key.a : f->key.b;
	p->sport = from_b ? f->key.port_b : f->key.port_a;
	p->dport = from_b ? f->key.port_a : f->key.port_b;
}

static void release_flow(struct flow *f, void *arg)
{
	struct engine *e = arg;
	struct packet pseudo;

	/* A stateless dissector (dstate NULL) still gets its flush and flow_end. */
	if (f->dissector && f->dissected) {
		struct tcp_consumer cons = {tcp_deliver, tcp_gap, e};
		e->reasm.now_usec = f->last_seen;
		for (int dir = 0; dir < 2 && f->key.proto == IPPROTO_TCP; dir++) {
			flow_pseudo_packet(f, (enum x1367_dir)dir, &pseudo);
			ctx_enter(e, f, &pseudo, (enum x1367_dir)dir);
			tcp_stream_flush(&e->reasm, &f->tcp[dir], &cons);
		}
		flow_pseudo_packet(f, X1367_TO_SERVER, &pseudo);
		ctx_enter(e, f, &pseudo, X1367_TO_SERVER);
		if (f->dissector && ((const struct registry_entry *)f->dissector)->d->flow_end)
			((const struct registry_entry *)f->dissector)->d->flow_end(&e->ctx, f->dstate);
	}
	tcp_stream_free(&e->reasm, &f->tcp[0]);
	tcp_stream_free(&e->reasm, &f->tcp[1]);
	free(f->dstate);
	f->dstate = NULL;
	detect_flow_end(e->detect, f);
	/* Evicted, its requests' answers would come on a new flow that
	 * cannot pair them: no "No Response" for them (evicted_pending). */
	if (f->evicted)
		txn_flow_evicted(e->txns, &f->txns);
	else
		txn_flow_gone(e->txns, &f->txns);
}

/* ---- the packet path ---------------------------------------------------- */

static void advance_clock(struct engine *e, uint64_t ts)
{
	if (ts > e->clock)
		e->clock = ts;
	/* Each is a comparison with its earliest deadline unless something is
	 * due.  Silences first: their limit usually passed before the
	 * deadlines found late by the same packet. */
	silence_check(e->silence, e->clock);
	txn_expire(e->txns, e->clock);
	flow_table_expire(e->flows, e->clock);
	if (e->clock >= e->next_housekeeping) {
		defrag_expire(e->defrag, e->clock);
		e->next_housekeeping = e->clock + HOUSEKEEPING_USEC;
	}
}

void engine_packet(struct engine *e, const uint8_t *data, size_t caplen, uint32_t wire_len,
		   uint64_t ts_usec)
{
	struct packet p;
	int side, created;

	e->packets++;
	e->bytes += wire_len;
	advance_clock(e, ts_usec);
	if (decode_packet(&e->dec, data, caplen, wire_len, ts_usec, &p) != DECODE_OK)
		return;
	struct flow *f = flow_get(e->flows, &p, &side, &created);   /* marks it seen */
	if (created)
		detect_new_flow(e->detect, f, &p, side);
	if (f->detect_state == DETECT_PROBING || f->detect_state == DETECT_CONFIRMING)
		detect_packet(e->detect, f, &p, side);
	if (f->detect_state == DETECT_DONE)
		dissect(e, f, &p, side);
}

void engine_tick(struct engine *e, uint64_t now_usec)
{
	advance_clock(e, now_usec);
}

void engine_finish(struct engine *e)
{
	/* Flows end first (their last bytes may still open or answer a
	 * request); then the deadlines the capture's clock has passed are
	 * reported.  What is left is pending: nobody can know whether an
	 * answer was on its way. */
	flow_table_drain(e->flows);
	txn_expire(e->txns, e->clock);
	silence_check(e->silence, e->clock);
	output_flush(e->out);
}

/* ---- set-up -------------------------------------------------------------- */

static int init_dissectors(struct engine *e, char err[ENGINE_ERR_LEN])
{
	for (size_t i = 0; i < e->reg->n; i++) {
		const struct x1367_dissector *d = e->reg->e[i].d;
		if (d->init && d->init(&engine_api)) {
			snprintf(err, ENGINE_ERR_LEN, "%s: dissector failed to initialise", d->name);
			return -1;
		}
	}
	return 0;
}

static int init_tables(struct engine *e, char err[ENGINE_ERR_LEN])
{
	const struct engine_config *c = &e->cfg;
	struct defrag_limits dl = {c->max_frag_datagrams, c->max_frag_bytes, c->frag_timeout_ms};
	char derr[DETECT_ERR_LEN];

	e->defrag = defrag_new(&dl);
	e->flows = flow_table_new(c->max_flows, c->tcp_idle_ms, c->udp_idle_ms, release_flow, e);
	e->txns = txn_table_new(c->max_txns, c->max_txns_per_flow, c->max_code_bytes,
				on_txn_expired, e);
	e->silence = silence_new(c->max_silence_devices, c->silence_factor,
				 c->silence_min_intervals, on_silence, e);
	if (!e->defrag || !e->flows || !e->txns || !e->silence) {
		snprintf(err, ENGINE_ERR_LEN, "out of memory");
		return -1;
	}
	e->detect = detect_new(e->reg, c->ndpi_enabled, derr);
	if (!e->detect) {
		snprintf(err, ENGINE_ERR_LEN, "%s", derr);
		return -1;
	}
	tcp_reasm_init(&e->reasm, c->max_stream_bytes, c->max_reasm_bytes);
	decoder_init(&e->dec, 1, e->defrag);
	return 0;
}

struct engine *engine_new(const struct engine_config *cfg, struct registry *reg,
			  const struct rules *rules, struct output *out, struct geoip *geo,
			  char err[ENGINE_ERR_LEN])
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, ENGINE_ERR_LEN, "out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	if (!e->cfg.max_code_bytes)
		e->cfg.max_code_bytes = 1024;   /* the txn pool needs a bound */
	e->reg = reg;
	e->rules = rules;
	e->out = out;
	e->geo = geo;
	if (init_tables(e, err) || init_dissectors(e, err)) {
		engine_free(e);
		return NULL;
	}
	return e;
}

int engine_set_linktype(struct engine *e, int dlt)
{
	if (!decode_linktype_supported(dlt))
		return -1;
	e->dec.linktype = dlt;
	return 0;
}

void engine_set_rules(struct engine *e, const struct rules *rules)
{
	e->rules = rules;
}

void engine_set_assets(struct engine *e, const struct assets *assets)
{
	e->assets = assets;
}

uint64_t engine_records(const struct engine *e)
{
	return e->records;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->flows)
		flow_table_free(e->flows);
	for (size_t i = 0; e->reg && i < e->reg->n; i++)
		if (e->reg->e[i].d->fini)
			e->reg->e[i].d->fini();
	txn_table_free(e->txns);
	silence_free(e->silence);
	detect_free(e->detect);
	defrag_free(e->defrag);
	free(e);
}

/* ---- statistics ---------------------------------------------------------- */

static void add_u64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

static json_object *names_json(const struct named_count *nc, size_t n, uint64_t other)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; i < n; i++)
		add_u64(o, nc[i].name, nc[i].count);
	if (other)
		add_u64(o, "(other)", other);
	return o;
}

static json_object *decode_json(const struct engine *e)
{
	json_object *o = json_object_new_object();
	for (int r = DECODE_FRAGMENT_HELD + 1; r < DECODE_REASON_COUNT; r++)
		if (e->dec.reasons[r])
			add_u64(o, decode_reason_name((enum decode_reason)r), e->dec.reasons[r]);
	return o;
}

static json_object *protocols_json(const struct engine *e, uint64_t *parse_errors, uint64_t *unsolicited,
				   uint64_t *on_their_own, uint64_t *rejected)
{
	json_object *o = json_object_new_object();
	for (size_t i = 0; i < e->reg->n; i++) {
		const struct proto_stats *ps = &e->proto[i];
		json_object *p = json_object_new_object();
		add_u64(p, "flows", ps->flows);
		add_u64(p, "records", ps->records);
		add_u64(p, "parse_errors", ps->parse_errors);
		add_u64(p, "responses_without_request", ps->responses_without_request);
		add_u64(p, "unsolicited_reports", ps->unsolicited_reports);
		add_u64(p, "not_errors", ps->not_errors);
		add_u64(p, "unmapped_codes", ps->unmapped);
		add_u64(p, "bytes_skipped", ps->bytes_skipped);
		add_u64(p, "reports_rejected", ps->reports_rejected);
		json_object_object_add(p, "events", names_json(ps->events.e, ps->events.n, ps->events.other));
		json_object_object_add(o, e->reg->e[i].d->name, p);
		*parse_errors += ps->parse_errors;
		*unsolicited += ps->responses_without_request;
		*on_their_own += ps->unsolicited_reports;
		*rejected += ps->reports_rejected;
	}
	return o;
}

static json_object *flows_json(const struct engine *e)
{
	const struct flow_stats *fs = flow_table_stats(e->flows);
	const struct detect_stats *ds = detect_stats(e->detect);
	json_object *o = json_object_new_object();
	add_u64(o, "created", fs->created);
	add_u64(o, "peak_active", fs->peak_active);
	add_u64(o, "expired", fs->expired);
	add_u64(o, "closed", fs->closed);
	add_u64(o, "evicted", fs->evicted);
	add_u64(o, "evicted_with_state", fs->evicted_with_state);
	add_u64(o, "detected_by_port", ds->by_port);
	add_u64(o, "detected_by_probe", ds->by_probe);
	add_u64(o, "detected_by_ndpi", ds->by_ndpi);
	add_u64(o, "undetected", ds->gave_up);
	add_u64(o, "other_protocol", ds->other_protocol);
	add_u64(o, "port_not_confirmed", ds->not_confirmed);
	return o;
}

static json_object *reasm_json(const struct engine *e)
{
	const struct tcp_reasm_stats *r = &e->reasm.stats;
	const struct defrag_stats *d = defrag_stats(e->defrag);
	json_object *o = json_object_new_object();
	add_u64(o, "tcp_gaps", r->gaps);
	add_u64(o, "tcp_gap_bytes", r->gap_bytes);
	add_u64(o, "tcp_retransmitted_bytes", r->retransmitted_bytes);
	add_u64(o, "tcp_overlap_bytes", r->overlap_bytes);
	add_u64(o, "tcp_out_of_order_segments", r->out_of_order_segments);
	add_u64(o, "tcp_dropped_stream_cap", r->dropped_stream_cap);
	add_u64(o, "tcp_dropped_total_cap", r->dropped_total_cap);
	add_u64(o, "tcp_midstream_pickups", r->midstream_pickups);
	add_u64(o, "ip_fragments", d->fragments);
	add_u64(o, "ip_reassembled", d->reassembled);
	add_u64(o, "ip_frag_timed_out", d->timed_out);
	add_u64(o, "ip_frag_dropped", d->dropped_table_full + d->dropped_bytes_cap + d->dropped_overlap +
					  d->dropped_oversize + d->dropped_bad);
	return o;
}

static json_object *txn_json(const struct engine *e)
{
	const struct txn_stats *t = txn_table_stats(e->txns);
	const struct silence_stats *s = silence_stats(e->silence);
	json_object *o = json_object_new_object();
	add_u64(o, "opened", t->opened);
	add_u64(o, "answered", t->answered);
	add_u64(o, "no_response", t->timed_out);
	add_u64(o, "expired_without_record", t->expired_silently);
	add_u64(o, "answer_maybe_lost", t->answer_maybe_lost);
	add_u64(o, "evicted_pending", t->evicted_pending);
	add_u64(o, "dropped_table_full", t->dropped_table_full);
	add_u64(o, "dropped_flow_full", t->dropped_flow_full);
	add_u64(o, "peak_pending", t->peak_pending);
	add_u64(o, "silent_senders", s->fired);
	add_u64(o, "senders_back", s->came_back);
	add_u64(o, "pollers_stopped", s->poller_stopped);
	add_u64(o, "senders_still_talking", s->still_talking);
	add_u64(o, "silence_devices_dropped", s->dropped_table_full);
	add_u64(o, "silence_addresses_dropped", s->requests_dropped);
	return o;
}

void engine_write_stats(const struct engine *e, FILE *fp)
{
	json_object *o = engine_stats_json(e);
	fprintf(fp, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

struct json_object *engine_stats_json(const struct engine *e)
{
	json_object *o = json_object_new_object();
	uint64_t parse_errors = 0, unsolicited = 0, on_their_own = 0, rejected = 0;
	uint64_t not_decoded = 0;

	for (int r = DECODE_FRAGMENT_HELD + 1; r < DECODE_REASON_COUNT; r++)
		not_decoded += e->dec.reasons[r];
	add_u64(o, "packets", e->packets);
	add_u64(o, "bytes", e->bytes);
	add_u64(o, "packets_not_decoded", not_decoded);
	json_object_object_add(o, "not_decoded", decode_json(e));
	json_object_object_add(o, "flows", flows_json(e));
	add_u64(o, "records", e->records);
	add_u64(o, "record_errors", e->record_errors);
	json_object_object_add(o, "records_by_code", names_json(e->by_code.e, e->by_code.n, e->by_code.other));
	json_object *protos = protocols_json(e, &parse_errors, &unsolicited, &on_their_own, &rejected);
	add_u64(o, "parse_errors", parse_errors);
	add_u64(o, "responses_without_request", unsolicited);
	add_u64(o, "unsolicited_reports", on_their_own);
	add_u64(o, "reports_rejected", rejected);
	add_u64(o, "requests_pending", txn_table_stats(e->txns)->pending);
	json_object_object_add(o, "transactions", txn_json(e));
	json_object_object_add(o, "protocols", protos);
	json_object_object_add(o, "reassembly", reasm_json(e));
	add_u64(o, "output_write_errors", output_stats(e->out)->write_errors);
	json_object_object_add(o, "peak_memory_kb", json_object_new_int64(stats_peak_rss_kb()));
	return o;
}
