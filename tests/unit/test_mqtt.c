/* The MQTT plugin, through the whole engine: frames in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define CLI "192.0.2.12"
#define BRK "192.0.2.11"
#define CLI_PORT 50000
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

/* ---- packet builder ----------------------------------------------------- */

struct pk {
	uint8_t b[20000];
	size_t n;
};

static void u8(struct pk *p, uint8_t v)
{
	p->b[p->n++] = v;
}

static void u16(struct pk *p, uint16_t v)
{
	u8(p, (uint8_t)(v >> 8));
	u8(p, (uint8_t)v);
}

static void str(struct pk *p, const char *s)
{
	u16(p, (uint16_t)strlen(s));
	memcpy(p->b + p->n, s, strlen(s));
	p->n += strlen(s);
}

/* Body -> whole packet: first byte, remaining length, body. */
static struct pk *wrap(struct pk *body, uint8_t b0)
{
	static struct pk out;
	size_t n = body->n, o = 0;
	out.b[o++] = b0;
	do {
		uint8_t d = n % 128;
		n /= 128;
		out.b[o++] = d | (n ? 0x80 : 0);
	} while (n);
	memcpy(out.b + o, body->b, body->n);
	out.n = o + body->n;
	return &out;
}

static struct pk *connect_pkt(uint8_t level, const char *cid, const char *user, const char *pw)
{
	static struct pk b;
	b.n = 0;
	str(&b, level == 3 ? "MQIsdp" : "MQTT");
	u8(&b, level);
	u8(&b, (uint8_t)(0x02 | (user ? 0x80 : 0) | (pw ? 0x40 : 0)));
	u16(&b, 60);
	if (level == 5)
		u8(&b, 0);
	str(&b, cid);
	if (user)
		str(&b, user);
	if (pw)
		str(&b, pw);
	return wrap(&b, 0x10);
}

/* 5.0 SUBSCRIBE with no properties, or 3.1.1 (v5 = 0). */
static struct pk *subscribe_pkt(int v5, uint16_t pid, const char *const *filters, size_t n)
{
	static struct pk b;
	b.n = 0;
	u16(&b, pid);
	if (v5)
		u8(&b, 0);
	for (size_t i = 0; i < n; i++) {
		str(&b, filters[i]);
		u8(&b, 1);
	}
	return wrap(&b, 0x82);
}

/* What publish_pkt fills payloads with: 'x', or "C0 00" pairs (PINGREQs,
 * were the payload ever read as packets). */
static int fill_pingreqs;

static struct pk *publish_pkt(int v5, uint8_t qos, uint16_t pid, const char *topic, size_t payload)
{
	static struct pk b;
	b.n = 0;
	str(&b, topic);
	if (qos)
		u16(&b, pid);
	if (v5)
		u8(&b, 0);
	for (size_t i = 0; i < payload; i++)
		b.b[b.n + i] = fill_pingreqs ? (i % 2 ? 0x00 : 0xC0) : 'x';
	b.n += payload;
	return wrap(&b, (uint8_t)(0x30 | (qos << 1)));
}

/* ---- one TCP connection (helpers.h) -------------------------------------- */

static void conn_open(struct conn *c, struct run *r)
{
	conn_open_at(c, r, CLI, BRK, CLI_PORT, 1883, T0);
}

static void cpk(struct conn *c, const struct pk *p)
{
	conn_send(c, 0, p->b, p->n, TH_PSH | TH_ACK);
}

static void spk(struct conn *c, const struct pk *p)
{
	conn_send(c, 1, p->b, p->n, TH_PSH | TH_ACK);
}

static void chex(struct conn *c, const char *hex)
{
	conn_send_hex(c, 0, hex);
}

static void shex(struct conn *c, const char *hex)
{
	conn_send_hex(c, 1, hex);
}

/* A packet on the wire -> its Transmitted Code. */
static const char *code_of(const struct pk *p)
{
	static char out[4200];
	size_t n = p->n < 2000 ? p->n : 2000;
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", p->b[i]);
	out[2 * n] = '\0';
	return out;
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

static void expect_none(const char *rec, const char *path)
{
	cr_assert_null(record_get(rec, path), "%s present in %s", path, rec);
}

static void expect_once(const char *rec, const char *key)
{
	char quoted[128];
	snprintf(quoted, sizeof(quoted), "\"%s\":", key);
	const char *first = strstr(rec, quoted);
	cr_assert_not_null(first, "%s missing in %s", key, rec);
	cr_assert_null(strstr(first + 1, quoted), "%s twice in %s", key, rec);
}

static void start(struct run *r)
{
	run_start_with(r, X1367_DISSECTOR_ENTRY());
}

/* CONNECT answered by one CONNACK (hex) on a fresh run. */
static void login(struct run *r, uint8_t level, const char *connack)
{
	struct conn c;
	start(r);
	conn_open(&c, r);
	cpk(&c, connect_pkt(level, "dev-42", "alice", "pw"));
	shex(&c, connack);
	run_finish(r);
}

/* ---- CONNACK ------------------------------------------------------------- */

Test(mqtt, connack_311_bad_credentials_is_authentication_failed)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct pk q = *connect_pkt(4, "dev-42", "alice", "secret-pw");
	cpk(&c, &q);
	shex(&c, "20 02 00 04");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "MQTT");
	expect_str(rec, "Error Code", "20");
	expect_str(rec, "Error Message", "Authentication Failed");
	expect_str(rec, "Requester.Unique ID", CLI);
	expect_str(rec, "Requester.Transmitted Code", code_of(&q));
	expect_str(rec, "Responder.Unique ID", BRK ":1883");
	expect_str(rec, "Responder.Transmitted Code", "20020004");
	expect_str(rec, "Description.Packet Type", "CONNECT");
	expect_str(rec, "Description.Protocol Level", "4 (MQTT 3.1.1)");
	expect_str(rec, "Description.Client ID", "dev-42");
	expect_str(rec, "Description.User Name", "alice");
	expect_str(rec, "Description.Response", "CONNACK");
	expect_str(rec, "Description.Reason Code", "Connection Refused, bad user name or password (0x04)");
	expect_str(rec, "Description.Vendor Code", "0204");
	expect_once(rec, "Client ID");
	expect_once(rec, "Protocol Level");
	/* The password never reaches a record. */
	cr_assert_null(strstr(rec, "secret-pw"));
	run_free(&r);
}

Test(mqtt, every_connack_code_maps_by_the_rules)
{
	static const struct {
		uint8_t level;
		const char *connack;
		const char *x1367;      /* NULL: no record */
	} cases[] = {
		{4, "20 02 00 00", NULL}, {4, "20 02 01 00", NULL},
		{4, "20 02 00 01", "30"}, {4, "20 02 00 02", "31"}, {4, "20 02 00 03", "42"},
		{4, "20 02 00 04", "20"}, {4, "20 02 00 05", "23"}, {4, "20 02 00 06", "FF"},
		{3, "20 02 00 05", "23"},
		{5, "20 03 00 00 00", NULL}, {5, "20 03 00 80 00", "FF"}, {5, "20 03 00 81 00", "31"},
		{5, "20 03 00 82 00", "30"}, {5, "20 03 00 84 00", "30"}, {5, "20 03 00 85 00", "31"},
		{5, "20 03 00 86 00", "20"}, {5, "20 03 00 87 00", "23"}, {5, "20 03 00 88 00", "42"},
		{5, "20 03 00 89 00", "42"}, {5, "20 03 00 8A 00", "23"}, {5, "20 03 00 8C 00", "20"},
		{5, "20 03 00 97 00", "42"}, {5, "20 03 00 9C 00", "1F"}, {5, "20 03 00 9F 00", "42"},
		/* not allowed in a CONNACK: any other code */
		{5, "20 03 00 8E 00", "FF"},
		/* 5.0 success codes below 0x80 are no error */
		{5, "20 03 00 10 00", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		login(&r, cases[i].level, cases[i].connack);
		if (!cases[i].x1367) {
			cr_assert_eq(r.n_records, 0, "case %zu (%s)", i, cases[i].connack);
		} else {
			cr_assert_eq(r.n_records, 1, "case %zu (%s)", i, cases[i].connack);
			expect_str(r.records[0], "Error Code", cases[i].x1367);
			expect_str(r.records[0], "Description.Packet Type", "CONNECT");
		}
		run_free(&r);
	}
}

Test(mqtt, connack_50_reason_string_and_level_names)
{
	struct run r;
	/* properties: Reason String "bad pw" (0x1F), Receive Maximum (0x21) */
	login(&r, 5, "20 0F 00 86 0C 1F 00 06 62 61 64 20 70 77 21 00 14");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "20");
	expect_str(r.records[0], "Description.Reason Code", "Bad User Name or Password (0x86)");
	expect_str(r.records[0], "Description.Reason String", "bad pw");
	expect_str(r.records[0], "Description.Protocol Level", "5 (MQTT 5.0)");
	expect_str(r.records[0], "Description.Vendor Code", "0286");
	run_free(&r);

	login(&r, 3, "20 02 00 02");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Protocol Level", "3 (MQTT 3.1)");
	expect_str(r.records[0], "Error Code", "31");
	run_free(&r);
}

Test(mqtt, connack_with_bad_properties_is_malformed_not_reported)
{
	struct run r;
	login(&r, 5, "20 05 00 87 02 FF 00");
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

/* ---- SUBACK / UNSUBACK ----------------------------------------------------- */

Test(mqtt, suback_311_failure_names_the_refused_filter)
{
	static const char *const f[] = {"sensors/#", "admin/#"};
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, "dash", "reader", "pw"));
	shex(&c, "20 02 00 00");
	struct pk q = *subscribe_pkt(0, 10, f, 2);
	cpk(&c, &q);
	shex(&c, "90 04 00 0A 01 80");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "23");
	expect_str(rec, "Error Message", "Authorization Failed");
	expect_str(rec, "Requester.Transmitted Code", code_of(&q));
	expect_str(rec, "Description.Packet Type", "SUBSCRIBE");
	expect_str(rec, "Description.Packet Identifier", "10");
	expect_str(rec, "Description.Topic Filter", "sensors/#");
	expect_str(rec, "Description.Topic Filters", "2");
	expect_str(rec, "Description.Refused Topic Filter", "admin/#");
	expect_str(rec, "Description.Topic Filter Index", "2");
	expect_str(rec, "Description.Reason Code", "Failure (0x80)");
	expect_str(rec, "Description.Client ID", "dash");
	expect_str(rec, "Description.Protocol Level", "4 (MQTT 3.1.1)");
	expect_str(rec, "Description.Vendor Code", "0980");
	run_free(&r);
}

Test(mqtt, suback_50_one_record_per_refused_filter)
{
	static const char *const f[] = {"a/b", "admin/#", "bad/#/x"};
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "c5", "u", "p"));
	shex(&c, "20 03 00 00 00");
	cpk(&c, subscribe_pkt(1, 300, f, 3));
	/* pid 300, properties: reason string "no" */
	shex(&c, "90 0B 01 2C 05 1F 00 02 6E 6F 00 87 8F");
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Description.Refused Topic Filter", "admin/#");
	expect_str(r.records[0], "Description.Reason Code", "Not authorized (0x87)");
	expect_str(r.records[0], "Description.Reason String", "no");
	expect_str(r.records[0], "Description.Topic Filter", "a/b");
	expect_str(r.records[0], "Description.Protocol Level", "5 (MQTT 5.0)");
	expect_str(r.records[1], "Error Code", "31");
	expect_str(r.records[1], "Description.Refused Topic Filter", "bad/#/x");
	expect_str(r.records[1], "Description.Topic Filter Index", "3");
	expect_str(r.records[1], "Description.Vendor Code", "098F");
	run_free(&r);
}

Test(mqtt, every_suback_and_unsuback_code)
{
	static const struct {
		uint8_t code;
		const char *sub, *unsub;
	} cases[] = {
		{0x00, NULL, NULL}, {0x02, NULL, NULL}, {0x11, NULL, NULL},
		{0x80, "23", "FF"}, {0x83, "FF", "FF"}, {0x87, "23", "23"}, {0x8F, "31", "31"},
		{0x91, "31", "31"}, {0x97, "42", "FF"}, {0x9E, "30", "FF"}, {0xA1, "30", "FF"},
		{0xA2, "30", "FF"}, {0xFE, "FF", "FF"},
	};
	static const char *const f[] = {"t/1"};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (int unsub = 0; unsub < 2; unsub++) {
			struct run r;
			struct conn c;
			char a[64];
			start(&r);
			conn_open(&c, &r);
			cpk(&c, connect_pkt(5, "c", "u", "p"));
			shex(&c, "20 03 00 00 00");
			if (unsub)
				chex(&c, "A2 08 00 05 00 00 03 74 2F 31");
			else
				cpk(&c, subscribe_pkt(1, 5, f, 1));
			snprintf(a, sizeof(a), "%02X 04 00 05 00 %02X", unsub ? 0xB0 : 0x90, cases[i].code);
			shex(&c, a);
			run_finish(&r);
			const char *want = unsub ? cases[i].unsub : cases[i].sub;
			if (!want) {
				cr_assert_eq(r.n_records, 0, "code %02X unsub %d", cases[i].code, unsub);
			} else {
				cr_assert_eq(r.n_records, 1, "code %02X unsub %d", cases[i].code, unsub);
				expect_str(r.records[0], "Error Code", want);
				expect_str(r.records[0], "Description.Refused Topic Filter", "t/1");
				expect_str(r.records[0], "Description.Packet Type",
					   unsub ? "UNSUBSCRIBE" : "SUBSCRIBE");
			}
			run_free(&r);
		}
	}
}

/* No CONNECT seen (the capture began later): the SUBACK's own shape
 * says 3.1.1, the response stands without its request. */
Test(mqtt, suback_without_request_is_still_reported)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	shex(&c, "90 03 00 07 80");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_none(r.records[0], "Description.Refused Topic Filter");
	expect_str(r.records[0], "Description.Topic Filter Index", "1");
	run_free(&r);
}

/* ---- PUBLISH answers -------------------------------------------------------- */

Test(mqtt, puback_and_pubrec_50_refusals)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "pub", "sensor", "pw"));
	shex(&c, "20 03 00 00 00");
	struct pk q1 = *publish_pkt(1, 1, 1, "admin/config", 3);
	cpk(&c, &q1);
	shex(&c, "40 03 00 01 87");
	cpk(&c, publish_pkt(1, 2, 2, "sensors/t", 3));
	shex(&c, "50 04 00 02 97 00");
	cpk(&c, publish_pkt(1, 1, 3, "sensors/t", 3));
	shex(&c, "40 03 00 03 10");          /* no matching subscribers: fine */
	cpk(&c, publish_pkt(1, 1, 4, "sensors/t", 3));
	shex(&c, "40 02 00 04");             /* success, short form */
	cpk(&c, publish_pkt(1, 0, 0, "sensors/t", 3));
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "23");
	expect_str(rec, "Requester.Transmitted Code", code_of(&q1));
	expect_str(rec, "Responder.Transmitted Code", "40030001" "87");
	expect_str(rec, "Description.Packet Type", "PUBLISH");
	expect_str(rec, "Description.Topic", "admin/config");
	expect_str(rec, "Description.QoS", "1");
	expect_str(rec, "Description.Packet Identifier", "1");
	expect_str(rec, "Description.Response", "PUBACK");
	expect_str(rec, "Description.Client ID", "pub");
	expect_str(rec, "Description.Vendor Code", "0487");
	expect_str(r.records[1], "Error Code", "42");
	expect_str(r.records[1], "Description.Response", "PUBREC");
	expect_str(r.records[1], "Description.QoS", "2");
	expect_str(r.records[1], "Description.Vendor Code", "0597");
	run_free(&r);
}

Test(mqtt, puback_311_forbidden_publish_has_no_record)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, "pub", "sensor", "pw"));
	shex(&c, "20 02 00 00");
	cpk(&c, publish_pkt(0, 1, 1, "admin/config", 3));
	shex(&c, "40 02 00 01");
	cpk(&c, publish_pkt(0, 2, 2, "admin/config", 3));
	shex(&c, "50 02 00 02");
	chex(&c, "62 02 00 02");             /* PUBREL */
	shex(&c, "70 02 00 02");             /* PUBCOMP */
	chex(&c, "C0 00");
	shex(&c, "D0 00");
	chex(&c, "E0 00");
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

Test(mqtt, pubcomp_packet_id_not_found)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "q2", "u", "p"));
	shex(&c, "20 03 00 00 00");
	chex(&c, "62 02 00 09");
	shex(&c, "70 03 00 09 92");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Packet Type", "PUBREL");
	expect_str(r.records[0], "Description.Packet Identifier", "9");
	expect_str(r.records[0], "Description.Reason Code", "Packet Identifier not found (0x92)");
	run_free(&r);
}

/* The broker publishes to a subscriber, who refuses: the subscriber is
 * the responder, the broker the requester. */
Test(mqtt, subscriber_refuses_a_delivery)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "sub", "u", "p"));
	shex(&c, "20 03 00 00 00");
	/* a client packet id 77 in flight the other way must not pair */
	cpk(&c, publish_pkt(1, 1, 77, "sensors/u", 2));
	spk(&c, publish_pkt(1, 1, 77, "sensors/t", 2));
	chex(&c, "40 04 00 4D 87 00");
	shex(&c, "40 02 00 4D");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "23");
	expect_str(rec, "Requester.Unique ID", BRK);
	expect_str(rec, "Responder.Unique ID", CLI ":50000");
	expect_str(rec, "Description.Topic", "sensors/t");
	run_free(&r);
}

/* ---- DISCONNECT ---------------------------------------------------------------- */

Test(mqtt, server_disconnect_answers_the_last_request)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "raw", "u", "p"));
	shex(&c, "20 03 00 00 00");
	chex(&c, "82 0B 00 07 00 00 05 61 2F 23 2F 62 00");
	shex(&c, "E0 01 81");
	conn_send(&c, 1, NULL, 0, TH_FIN | TH_ACK);
	c.now += 10 * SEC;
	conn_send(&c, 0, NULL, 0, TH_FIN | TH_ACK);
	run_finish(&r);
	/* one record, not a second "No Response" for the SUBSCRIBE */
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Packet Type", "SUBSCRIBE");
	expect_str(r.records[0], "Description.Topic Filter", "a/#/b");
	expect_str(r.records[0], "Description.Response", "DISCONNECT");
	expect_str(r.records[0], "Description.Vendor Code", "0E81");
	run_free(&r);
}

/* ---- one packet id, several requests in flight --------------------------- */

/* No request left without its answer, no answer left without its request. */
static void expect_all_paired(const struct run *r)
{
	cr_assert_eq(run_stat(r, "transactions.no_response"), 0, "a false 10");
	cr_assert_eq(run_stat(r, "responses_without_request"), 0);
	cr_assert_eq(run_stat(r, "protocols.mqtt.events.response_without_request"), 0);
	cr_assert_eq(run_stat(r, "requests_pending"), 0);
}

/* Move the capture clock past every deadline: a later connection. */
static void later(struct run *r, const struct conn *c)
{
	struct conn l;
	conn_open_at(&l, r, CLI, BRK, CLI_PORT + 1, 1883, c->now + 6 * SEC);
	cpk(&l, connect_pkt(4, "later", "u", "p"));
	shex(&l, "20 02 00 00");
}

/* Two SUBSCRIBEs with one packet id in one segment, answered in order:
 * the refusal is the first one's. */
Test(mqtt, same_packet_id_twice_in_one_segment_answered_in_order)
{
	static const char *const f1[] = {"admin/#"};
	static const char *const f2[] = {"sensors/#"};
	struct run r;
	struct conn c;
	struct pk both;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, "dash", "reader", "pw"));
	shex(&c, "20 02 00 00");
	struct pk q1 = *subscribe_pkt(0, 9, f1, 1);
	struct pk q2 = *subscribe_pkt(0, 9, f2, 1);
	memcpy(both.b, q1.b, q1.n);
	memcpy(both.b + q1.n, q2.b, q2.n);
	both.n = q1.n + q2.n;
	cpk(&c, &both);
	shex(&c, "90 03 00 09 80");
	shex(&c, "90 03 00 09 01");
	later(&r, &c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q1));
	expect_str(r.records[0], "Description.Topic Filter", "admin/#");
	expect_all_paired(&r);
	run_free(&r);
}

/* The same with two QoS 1 PUBLISHes (5.0): the PUBACK refusal is the
 * first one's. */
Test(mqtt, same_packet_id_twice_publish_answered_in_order)
{
	struct run r;
	struct conn c;
	struct pk both;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "pub", "sensor", "pw"));
	shex(&c, "20 03 00 00 00");
	struct pk q1 = *publish_pkt(1, 1, 4, "admin/config", 2);
	struct pk q2 = *publish_pkt(1, 1, 4, "sensors/t", 2);
	memcpy(both.b, q1.b, q1.n);
	memcpy(both.b + q1.n, q2.b, q2.n);
	both.n = q1.n + q2.n;
	cpk(&c, &both);
	shex(&c, "40 03 00 04 87" "40 02 00 04");
	later(&r, &c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Description.Topic", "admin/config");
	expect_all_paired(&r);
	run_free(&r);
}

/* The server hangs up on the last packet: with its packet id open twice,
 * that is the newer request. */
Test(mqtt, server_disconnect_answers_the_newer_of_two_same_ids)
{
	static const char *const f1[] = {"first/#"};
	static const char *const f2[] = {"second/#"};
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "raw", "u", "p"));
	shex(&c, "20 03 00 00 00");
	cpk(&c, subscribe_pkt(1, 7, f1, 1));
	cpk(&c, subscribe_pkt(1, 7, f2, 1));
	shex(&c, "E0 01 82");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Topic Filter", "second/#");
	expect_str(r.records[0], "Description.Response", "DISCONNECT");
	run_free(&r);
}

Test(mqtt, server_disconnect_codes_and_client_disconnects)
{
	static const struct {
		uint8_t code;
		const char *x1367;
	} cases[] = {
		{0x00, NULL}, {0x04, NULL}, {0x81, "31"}, {0x82, "30"}, {0x87, "23"}, {0x8B, "4F"},
		{0x8C, "20"}, {0x8D, "11"}, {0x8E, "2F"}, {0x97, "42"}, {0x98, "FF"}, {0xA0, "2F"},
		{0x84, "FF"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		struct conn c;
		char a[32];
		start(&r);
		conn_open(&c, &r);
		cpk(&c, connect_pkt(5, "d", "u", "p"));
		shex(&c, "20 03 00 00 00");
		snprintf(a, sizeof(a), "E0 02 %02X 00", cases[i].code);
		chex(&c, a);                     /* the client's: never reported */
		shex(&c, a);
		run_finish(&r);
		if (!cases[i].x1367) {
			cr_assert_eq(r.n_records, 0, "code %02X", cases[i].code);
		} else {
			cr_assert_eq(r.n_records, 1, "code %02X", cases[i].code);
			expect_str(r.records[0], "Error Code", cases[i].x1367);
			expect_str(r.records[0], "Description.Request", "not seen in the capture");
			expect_str(r.records[0], "Description.Client ID", "d");
			expect_none(r.records[0], "Description.Client Sent");
		}
		run_free(&r);
	}
}

Test(mqtt, disconnect_after_garbage_says_what_the_client_sent)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "g", "u", "p"));
	shex(&c, "20 03 00 00 00");
	chex(&c, "00 03 61 62 63");
	shex(&c, "E0 01 82");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Client Sent", "bytes that are not an MQTT packet");
	run_free(&r);
}

/* ---- No Response ------------------------------------------------------------------ */

Test(mqtt, unanswered_requests_become_no_response)
{
	static const char *const f[] = {"a/#/b"};
	struct run r;
	struct conn c, later;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, "raw", "u", "p"));
	shex(&c, "20 02 00 00");
	cpk(&c, publish_pkt(0, 0, 0, "t", 1));   /* QoS 0: nothing owed */
	chex(&c, "E0 00");                       /* DISCONNECT: nothing owed */
	cpk(&c, subscribe_pkt(0, 7, f, 1));
	chex(&c, "C0 00");
	conn_send(&c, 1, NULL, 0, TH_FIN | TH_ACK);
	/* a later connection moves the capture clock past the deadlines */
	conn_open_at(&later, &r, CLI, BRK, CLI_PORT + 1, 1883, c.now + 6 * SEC);
	cpk(&later, connect_pkt(4, "x", "u", "p"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Packet Type", "SUBSCRIBE");
	expect_str(r.records[0], "Description.Topic Filter", "a/#/b");
	expect_str(r.records[0], "Responder.Unique ID", BRK ":1883");
	expect_str(r.records[0], "Responder.Transmitted Code", "");
	expect_str(r.records[1], "Error Code", "10");
	expect_str(r.records[1], "Description.Packet Type", "PINGREQ");
	run_free(&r);
}

Test(mqtt, unanswered_connect_and_answered_ping)
{
	struct run r;
	struct conn c, later;
	start(&r);
	conn_open(&c, &r);
	chex(&c, "C0 00");                       /* no CONNECT seen: still a request */
	shex(&c, "D0 00");
	cpk(&c, connect_pkt(5, "slow", "u", "p"));
	conn_open_at(&later, &r, CLI, BRK, CLI_PORT + 1, 1883, c.now + 6 * SEC);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Packet Type", "CONNECT");
	expect_str(r.records[0], "Description.Client ID", "slow");
	run_free(&r);
}

/* A CONNECT for another protocol name may be dropped without CONNACK:
 * no transaction, so no "No Response". */
Test(mqtt, unknown_protocol_name_opens_nothing)
{
	struct run r;
	struct conn c, later;
	start(&r);
	conn_open(&c, &r);
	chex(&c, "10 10 00 04 4D 51 54 55 04 02 00 3C 00 04 61 62 63 64");
	conn_open_at(&later, &r, CLI, BRK, CLI_PORT + 1, 1883, c.now + 6 * SEC);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

/* ---- framing -------------------------------------------------------------------------- */

Test(mqtt, several_packets_per_segment_and_split_everywhere)
{
	/* CONNECT + SUBSCRIBE in one segment; CONNACK + SUBACK in one. */
	{
		static const char *const f[] = {"x/#"};
		struct run r;
		struct conn c;
		struct pk both;
		start(&r);
		conn_open(&c, &r);
		struct pk *p = connect_pkt(4, "two", "u", "p");
		memcpy(both.b, p->b, p->n);
		both.n = p->n;
		p = subscribe_pkt(0, 1, f, 1);
		memcpy(both.b + both.n, p->b, p->n);
		both.n += p->n;
		cpk(&c, &both);
		shex(&c, "20 02 00 00 90 03 00 01 80");
		run_finish(&r);
		cr_assert_eq(r.n_records, 1);
		expect_str(r.records[0], "Description.Refused Topic Filter", "x/#");
		run_free(&r);
	}
	/* The request and the answer each cut in two at every offset. */
	struct pk q = *connect_pkt(5, "split-client", "bob", "pw");
	uint8_t a[5] = {0x20, 0x03, 0x00, 0x86, 0x00};
	for (size_t cut = 1; cut < q.n; cut++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r);
		conn_send(&c, 0, q.b, cut, TH_ACK);
		conn_send(&c, 0, q.b + cut, q.n - cut, TH_PSH | TH_ACK);
		size_t acut = 1 + cut % 4;
		conn_send(&c, 1, a, acut, TH_ACK);
		conn_send(&c, 1, a + acut, sizeof(a) - acut, TH_PSH | TH_ACK);
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "cut at %zu", cut);
		expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q));
		expect_str(r.records[0], "Responder.Transmitted Code", "2003008600");
		expect_str(r.records[0], "Description.Client ID", "split-client");
		run_free(&r);
	}
}

/* A request cut short by the end of the capture: nothing to pair, no
 * record, no crash, whatever the offset. */
Test(mqtt, truncated_at_every_offset)
{
	struct pk q = *connect_pkt(5, "cut", "u", "p");
	for (size_t cut = 1; cut < q.n; cut++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r);
		conn_send(&c, 0, q.b, cut, TH_PSH | TH_ACK);
		shex(&c, "20 03 00 86");             /* truncated answer too */
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "cut at %zu", cut);
		run_free(&r);
	}
}

Test(mqtt, big_publish_is_dissected_from_its_head)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(5, "big", "u", "p"));
	shex(&c, "20 03 00 00 00");
	fill_pingreqs = 1;
	struct pk q = *publish_pkt(1, 1, 5, "fw/image", 15000);
	fill_pingreqs = 0;
	for (size_t off = 0; off < q.n; off += 1400) {
		size_t n = q.n - off < 1400 ? q.n - off : 1400;
		conn_send(&c, 0, q.b + off, n, TH_ACK);
	}
	chex(&c, "C0 00");                       /* after the skip: framed again */
	shex(&c, "40 03 00 05 97 D0 00");
	/* the payload's "C0 00" pairs must not become unanswered PINGREQs */
	struct conn later;
	conn_open_at(&later, &r, CLI, BRK, CLI_PORT + 1, 1883, c.now + 6 * SEC);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "42");
	expect_str(r.records[0], "Description.Topic", "fw/image");
	/* Transmitted Code: the engine's cap of the head, not 15000 bytes */
	const char *tc = record_get(r.records[0], "Requester.Transmitted Code");
	cr_assert_not_null(tc);
	cr_assert_lt(strlen(tc), 2 * 4096 + 1);
	cr_assert_eq(strncmp(tc, "32", 2), 0);
	run_free(&r);
}

Test(mqtt, garbage_and_oversized_lengths_give_no_record)
{
	static const char *const inputs[] = {
		"00 00 00 00",                         /* type 0 */
		"10 FF FF FF FF 01",                   /* five length bytes */
		"C0 01 00",                            /* PINGREQ with a body */
		"80 05 00 01 00 01 61",                /* SUBSCRIBE with flags 0 */
		"36 05 00 01 61 00 01",                /* PUBLISH QoS 3 */
		"20 02 00 05",                         /* CONNACK from the client */
		"FF FF FF FF FF FF FF FF FF FF",
		"47 45 54 20 2F 20 48 54 54 50 2F 31 2E 31 0D 0A 0D 0A",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct run r;
		struct conn c, later;
		start(&r);
		conn_open(&c, &r);
		chex(&c, inputs[i]);
		shex(&c, "20 02 00 05 90 03 00 01 80");
		conn_open_at(&later, &r, CLI, BRK, CLI_PORT + 1, 1883, c.now + 6 * SEC);
		run_finish(&r);
		/* The broker's answers stand alone (no request): counted and
		 * reported, but nothing is invented from the garbage. */
		for (size_t k = 0; k < r.n_records; k++) {
			const char *code = record_get(r.records[k], "Error Code");
			cr_assert(code && strcmp(code, "10") != 0, "input %zu: %s", i, r.records[k]);
			expect_str(r.records[k], "Description.Request", "not seen in the capture");
		}
		run_free(&r);
	}
}

/* "C0 00" frames as a PINGREQ anywhere: at the end of garbage it is
 * not taken for a boundary (it would become a "No Response"). */
Test(mqtt, empty_packets_inside_garbage_are_no_boundary)
{
	struct run r;
	struct conn c, later;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, "g", "u", "p"));
	shex(&c, "20 02 00 00");
	chex(&c, "00 11 C0 00");
	conn_open_at(&later, &r, CLI, BRK, CLI_PORT + 1, 1883, c.now + 6 * SEC);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

Test(mqtt, after_garbage_the_next_segment_frames_again)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	chex(&c, "00 11 22 33 44 55");
	cpk(&c, connect_pkt(4, "again", "u", "bad"));
	shex(&c, "20 02 00 05");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Description.Client ID", "again");
	run_free(&r);
}

/* Bytes lost in the capture: the stream resumes at the next segment. */
Test(mqtt, gap_then_resynchronised)
{
	static const char *const f[] = {"z/1"};
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, "gap", "u", "p"));
	shex(&c, "20 02 00 00");
	struct pk big = *publish_pkt(0, 1, 3, "t", 100);
	c.cseq += 50;                            /* a hole in the client stream */
	conn_send(&c, 0, big.b + 50, big.n - 50, TH_ACK);
	cpk(&c, subscribe_pkt(0, 4, f, 1));
	shex(&c, "90 03 00 04 80");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Refused Topic Filter", "z/1");
	run_free(&r);
}

/* ---- detection, addresses, silence ----------------------------------------------------- */

Test(mqtt, probe_verdicts)
{
	const struct x1367_dissector *d = X1367_DISSECTOR_ENTRY();
	struct pk q = *connect_pkt(4, "p", NULL, NULL);
	struct pk q3 = *connect_pkt(3, "p", NULL, NULL);
	struct pk q5 = *connect_pkt(5, "p", NULL, NULL);
	cr_assert_eq(d->probe(q.b, q.n, X1367_TO_SERVER), X1367_PROBE_YES);
	cr_assert_eq(d->probe(q3.b, q3.n, X1367_TO_SERVER), X1367_PROBE_YES);
	cr_assert_eq(d->probe(q5.b, q5.n, X1367_TO_SERVER), X1367_PROBE_YES);
	cr_assert_eq(d->probe(q.b, q.n, X1367_TO_CLIENT), X1367_PROBE_NO);
	for (size_t cut = 0; cut < 9; cut++)
		cr_assert_eq(d->probe(q.b, cut, X1367_TO_SERVER), X1367_PROBE_MAYBE, "cut %zu", cut);
	q.b[8] = 6;                               /* level 6 */
	cr_assert_eq(d->probe(q.b, q.n, X1367_TO_SERVER), X1367_PROBE_NO);
	q3.b[10] = 4;                             /* MQIsdp with level 4 */
	cr_assert_eq(d->probe(q3.b, q3.n, X1367_TO_SERVER), X1367_PROBE_NO);
	uint8_t http[] = "GET / HTTP/1.1\r\n";
	cr_assert_eq(d->probe(http, sizeof(http) - 1, X1367_TO_SERVER), X1367_PROBE_NO);
	uint8_t notmqtt[] = {0x10, 0x10, 0x00, 0x04, 'M', 'Q', 'T', 'U', 4};
	cr_assert_eq(d->probe(notmqtt, sizeof(notmqtt), X1367_TO_SERVER), X1367_PROBE_NO);
	uint8_t longvar[] = {0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
	cr_assert_eq(d->probe(longvar, sizeof(longvar), X1367_TO_SERVER), X1367_PROBE_NO);
}

Test(mqtt, other_port_found_by_probe)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open_at(&c, &r, CLI, BRK, CLI_PORT, 11883, T0);
	cpk(&c, connect_pkt(4, "probe", "u", "p"));
	shex(&c, "20 02 00 04");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "20");
	expect_str(r.records[0], "Responder.Unique ID", BRK ":11883");
	run_free(&r);
}

Test(mqtt, ipv6_responder_uid)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open_at(&c, &r, "2001:db8::12", "2001:db8::11", CLI_PORT, 1883, T0);
	cpk(&c, connect_pkt(4, "v6", "u", "p"));
	shex(&c, "20 02 00 05");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Responder.Unique ID", "[2001:DB8:0:0:0:0:0:11]:1883");
	run_free(&r);
}

Test(mqtt, control_bytes_in_names_are_escaped)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, "a\tb\x01", "u", "p"));
	shex(&c, "20 02 00 05");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Client ID", "a\\x09b\\x01");
	run_free(&r);
}

/* A sensor publishing every second, then silent (X.1367 Appendix I.3).
 * Its Unique ID is address#client-id, cut to the detector's 63
 * characters (a longer one would never be recognised again). */
static void silent_publisher_with(const char *cid, const char *uid)
{
	struct run r;
	struct conn c, other;
	start(&r);
	conn_open(&c, &r);
	cpk(&c, connect_pkt(4, cid, "u", "p"));
	shex(&c, "20 02 00 00");
	for (int i = 0; i < 6; i++) {
		c.now += SEC - 1000;
		cpk(&c, publish_pkt(0, 0, 0, "sensors/t", 2));
	}
	conn_open_at(&other, &r, "192.0.2.99", BRK, CLI_PORT, 1883, c.now + 10 * SEC);
	cpk(&other, connect_pkt(4, "other", "u", "p"));
	run_finish(&r);
	size_t silent = 0;
	for (size_t k = 0; k < r.n_records; k++) {
		const char *code = record_get(r.records[k], "Error Code");
		if (code && !strcmp(code, "11")) {
			silent++;
			expect_str(r.records[k], "Responder.Unique ID", uid);
		}
	}
	cr_assert_eq(silent, 1, "client id %s", cid);
	run_free(&r);
}

Test(mqtt, silent_publisher)
{
	silent_publisher_with("sensor-7", CLI "#sensor-7");
	silent_publisher_with("a-very-long-client-identifier-0123456789-0123456789-0123456789",
			      CLI "#a-very-long-client-identifier-0123456789-0123456789-");
}
