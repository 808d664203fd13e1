/* The CoAP plugin, compiled in and registered as an extra dissector,
 * through the whole engine: datagrams in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"

#define CLIENT "198.51.100.10"
#define SERVER "198.51.100.20"
#define SERVER2 "198.51.100.21"
#define GROUP "224.0.1.187"
#define CPORT 40001
#define COAP 5683
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

enum { CON = 0, NON = 1, ACK = 2, RST = 3 };

/* The plugin's one export (dissectors/coap.c is linked in). */
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

static struct frame F;
static uint64_t now;

/* ---- building messages: an encoder written apart from the dissector ---- */

struct msg {
	uint8_t b[66000];
	size_t len;
	unsigned last_opt;
};

static void put(struct msg *m, const void *p, size_t n)
{
	cr_assert_leq(m->len + n, sizeof(m->b));
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void hdr(struct msg *m, int type, uint8_t code, uint16_t mid, const char *token_hex)
{
	uint8_t tok[16];
	size_t tkl = token_hex ? hex_to_bytes(token_hex, tok, sizeof(tok)) : 0;
	uint8_t h[4] = {(uint8_t)(0x40 | type << 4 | tkl), code, (uint8_t)(mid >> 8), (uint8_t)mid};
	m->len = 0;
	m->last_opt = 0;
	put(m, h, 4);
	put(m, tok, tkl);
}

/* Nibble and extension bytes of a delta or a length (RFC 7252 3.1). */
static unsigned nib(size_t v, uint8_t ext[2], size_t *n_ext)
{
	if (v < 13) {
		*n_ext = 0;
		return (unsigned)v;
	}
	if (v < 269) {
		ext[0] = (uint8_t)(v - 13);
		*n_ext = 1;
		return 13;
	}
	ext[0] = (uint8_t)((v - 269) >> 8);
	ext[1] = (uint8_t)(v - 269);
	*n_ext = 2;
	return 14;
}

static void opt(struct msg *m, unsigned number, const void *val, size_t len)
{
	uint8_t de[2], le[2];
	size_t nde, nle;
	cr_assert_geq(number, m->last_opt);
	unsigned d = nib(number - m->last_opt, de, &nde);
	unsigned l = nib(len, le, &nle);
	uint8_t first = (uint8_t)(d << 4 | l);
	put(m, &first, 1);
	put(m, de, nde);
	put(m, le, nle);
	put(m, val, len);
	m->last_opt = number;
}

static void opt_str(struct msg *m, unsigned number, const char *s)
{
	opt(m, number, s, strlen(s));
}

static void payload(struct msg *m, const char *s)
{
	uint8_t marker = 0xFF;
	put(m, &marker, 1);
	put(m, s, strlen(s));
}

/* "/a/b" as Uri-Path options. */
static void path(struct msg *m, const char *p)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", p);
	for (char *s = strtok(buf, "/"); s; s = strtok(NULL, "/"))
		opt_str(m, 11, s);
}

static struct msg Q, A;   /* a request, an answer */

static void get(struct msg *m, int type, uint16_t mid, const char *token, const char *p)
{
	hdr(m, type, 0x01, mid, token);
	path(m, p);
}

static void resp(struct msg *m, int type, uint8_t code, uint16_t mid, const char *token)
{
	hdr(m, type, code, mid, token);
}

static char *hex_of(const struct msg *m)
{
	static char out[2 * sizeof(m->b) + 1];
	for (size_t i = 0; i < m->len; i++)
		snprintf(out + 2 * i, 3, "%02X", m->b[i]);
	out[2 * m->len] = '\0';
	return out;
}

/* ---- running ---------------------------------------------------------------- */

static void send_raw(struct run *r, const char *src, uint16_t sport, const char *dst,
		     uint16_t dport, const void *p, size_t n)
{
	build_udp(&F, src, sport, dst, dport, p, n);
	cr_assert_gt(F.len, 0);
	now += 20000;
	F.ts_usec = now;
	run_frame(r, &F);
}

static void c2s(struct run *r, const struct msg *m)
{
	send_raw(r, CLIENT, CPORT, SERVER, COAP, m->b, m->len);
}

static void s2c(struct run *r, const struct msg *m)
{
	send_raw(r, SERVER, COAP, CLIENT, CPORT, m->b, m->len);
}

static void wait_s(double s)
{
	now += (uint64_t)(s * SEC);
}

/* The capture ends at `now`: deadlines before it have passed. */
static void finish(struct run *r)
{
	engine_tick(r->engine, now);
	run_finish(r);
}

static const struct x1367_dissector *coap(void)
{
	return X1367_DISSECTOR_ENTRY();
}

static void start(struct run *r)
{
	now = T0;
	run_start_with(r, coap());
}

static void expect_str(const char *rec, const char *path_, const char *want)
{
	const char *got = record_get(rec, path_);
	cr_assert_not_null(got, "%s missing in %s", path_, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path_, got, want, rec);
}

static void expect_none(const char *rec, const char *path_)
{
	cr_assert_null(record_get(rec, path_), "%s present in %s", path_, rec);
}

/* An event counter of the coap dissector, from the engine's statistics. */
static long event_count(struct run *r, const char *name)
{
	char *buf = NULL, path_[128];
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);
	cr_assert_not_null(fp);
	engine_write_stats(r->engine, fp);
	fclose(fp);
	snprintf(path_, sizeof(path_), "protocols.coap.events.%s", name);
	const char *v = record_get(buf, path_);
	long n = v ? atol(v) : 0;
	free(buf);
	return n;
}

/* One CON GET answered by an ACK with `code`: the records. */
static void exchange_code(struct run *r, uint8_t code)
{
	start(r);
	get(&Q, CON, 0x1234, "A1B2", "/x");
	resp(&A, ACK, code, 0x1234, "A1B2");
	c2s(r, &Q);
	s2c(r, &A);
	finish(r);
}

/* ---- mappings ------------------------------------------------------------ */

struct mapping {
	uint8_t code;
	const char *x1367;
	const char *meaning;
};

static const struct mapping mappings[] = {
	{0x80, "31", "4.00 Bad Request"},
	{0x81, "20", "4.01 Unauthorized"},
	{0x82, "31", "4.02 Bad Option"},
	{0x83, "23", "4.03 Forbidden"},
	{0x84, "30", "4.04 Not Found"},
	{0x85, "30", "4.05 Method Not Allowed"},
	{0x86, "31", "4.06 Not Acceptable"},
	{0x87, "31", "4.07 (unassigned, treated as 4.00 Bad Request)"},
	{0x88, "31", "4.08 Request Entity Incomplete"},
	{0x89, "3F", "4.09 Conflict"},
	{0x8C, "3F", "4.12 Precondition Failed"},
	{0x8D, "31", "4.13 Request Entity Too Large"},
	{0x8F, "31", "4.15 Unsupported Content-Format"},
	{0x96, "31", "4.22 Unprocessable Entity"},
	{0x9D, "42", "4.29 Too Many Requests"},
	{0x9F, "31", "4.31 (unassigned, treated as 4.00 Bad Request)"},
	{0xA0, "41", "5.00 Internal Server Error"},
	{0xA1, "30", "5.01 Not Implemented"},
	{0xA2, "11", "5.02 Bad Gateway"},
	{0xA3, "42", "5.03 Service Unavailable"},
	{0xA4, "10", "5.04 Gateway Timeout"},
	{0xA5, "30", "5.05 Proxying Not Supported"},
	{0xA8, "11", "5.08 Hop Limit Reached"},
	{0xBF, "41", "5.31 (unassigned, treated as 5.00 Internal Server Error)"},
};

Test(coap, every_error_code_maps_by_the_rules)
{
	for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
		struct run r;
		char vendor[4];
		exchange_code(&r, mappings[i].code);
		cr_assert_eq(r.n_records, 1, "code 0x%02X: %zu records", mappings[i].code, r.n_records);
		snprintf(vendor, sizeof(vendor), "%02X", mappings[i].code);
		expect_str(r.records[0], "Error Code", mappings[i].x1367);
		expect_str(r.records[0], "Description.Vendor Code", vendor);
		expect_str(r.records[0], "Description.Vendor Meaning", mappings[i].meaning);
		run_free(&r);
	}
}

/* Every 4.xx and 5.xx byte has its own row: none falls to "*". */
Test(coap, every_client_and_server_error_byte_has_a_row)
{
	for (unsigned code = 0x80; code <= 0xBF; code++) {
		struct run r;
		exchange_code(&r, (uint8_t)code);
		cr_assert_eq(r.n_records, 1, "code 0x%02X", code);
		const char *m = record_get(r.records[0], "Description.Vendor Meaning");
		cr_assert_not_null(m);
		char want[8];
		snprintf(want, sizeof(want), "%u.%02u ", code >> 5, code & 31);
		cr_assert_eq(strncmp(m, want, strlen(want)), 0, "0x%02X: %s", code, m);
		cr_assert_neq(strcmp(record_get(r.records[0], "Error Code"), "FF"), 0, "0x%02X", code);
		run_free(&r);
	}
}

/* 2.xx answers the request without a record; a reserved class (1.xx,
 * 3.xx, 6.xx, 7.xx) answers nothing: the request then times out. */
Test(coap, success_codes_and_reserved_classes_give_no_error_record)
{
	const uint8_t codes[] = {0x41, 0x42, 0x43, 0x44, 0x45, 0x5F, 0x20, 0x60, 0xC0, 0xE1};
	for (size_t i = 0; i < sizeof(codes); i++) {
		struct run r;
		int success = (codes[i] >> 5) == 2;
		start(&r);
		get(&Q, CON, 0x1234, "A1B2", "/x");
		resp(&A, ACK, codes[i], 0x1234, "A1B2");
		c2s(&r, &Q);
		s2c(&r, &A);
		wait_s(11);
		get(&Q, NON, 0x1235, "A1B3", "/tick");
		c2s(&r, &Q);
		finish(&r);
		cr_assert_eq(r.n_records, success ? 0 : 1, "code 0x%02X", codes[i]);
		if (!success) {
			expect_str(r.records[0], "Error Code", "10");
			cr_assert_eq(event_count(&r, "reserved_code"), 1);
		}
		run_free(&r);
	}
}

/* ---- the record ---------------------------------------------------------- */

Test(coap, piggybacked_not_found_is_described)
{
	struct run r;
	start(&r);
	hdr(&Q, CON, 0x01, 0xBEEF, "0102030405060708");
	opt_str(&Q, 3, "sensor.example");
	opt(&Q, 7, "\x16\x33", 2);
	path(&Q, "/.well-known/core");
	opt_str(&Q, 15, "rt=temp");
	opt_str(&Q, 15, "if=sensor");
	resp(&A, ACK, 0x84, 0xBEEF, "0102030405060708");
	opt(&A, 12, "", 0);
	payload(&A, "Not Found");
	c2s(&r, &Q);
	char qhex[256];
	snprintf(qhex, sizeof(qhex), "%.255s", hex_of(&Q));
	s2c(&r, &A);
	finish(&r);

	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "CoAP");
	expect_str(rec, "Error Code", "30");
	expect_str(rec, "Error Message", "Invalid Command");
	expect_str(rec, "Requester.Unique ID", CLIENT);
	expect_str(rec, "Requester.Transmitted Code", qhex);
	expect_str(rec, "Responder.Unique ID", SERVER ":5683");
	expect_str(rec, "Responder.Transmitted Code", hex_of(&A));
	expect_str(rec, "Description.Method", "GET (0.01)");
	expect_str(rec, "Description.Message Type", "CON");
	expect_str(rec, "Description.Message ID", "48879");
	expect_str(rec, "Description.Token", "0102030405060708");
	expect_str(rec, "Description.Uri-Host", "sensor.example");
	expect_str(rec, "Description.Uri-Port", "5683");
	expect_str(rec, "Description.Uri-Path", "/.well-known/core");
	expect_str(rec, "Description.Uri-Query", "rt=temp&if=sensor");
	expect_str(rec, "Description.Response Code", "4.04 Not Found");
	expect_str(rec, "Description.Response Type", "ACK");
	expect_str(rec, "Description.Diagnostic Payload", "Not Found");
	expect_str(rec, "Description.Vendor Code", "84");
	/* Piggybacked: the response's message id is the request's. */
	expect_none(rec, "Description.Response Message ID");
	expect_none(rec, "Description.Request");
	run_free(&r);
}

Test(coap, methods_and_root_path)
{
	const struct {
		uint8_t code;
		const char *name;
	} m[] = {{1, "GET (0.01)"}, {2, "POST (0.02)"}, {3, "PUT (0.03)"}, {4, "DELETE (0.04)"},
		 {5, "FETCH (0.05)"}, {6, "PATCH (0.06)"}, {7, "iPATCH (0.07)"},
		 {8, "Unknown method (0.08)"}, {31, "Unknown method (0.31)"}};
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct run r;
		start(&r);
		hdr(&Q, CON, m[i].code, 7, "01");
		resp(&A, ACK, 0x85, 7, "01");
		c2s(&r, &Q);
		s2c(&r, &A);
		finish(&r);
		cr_assert_eq(r.n_records, 1);
		expect_str(r.records[0], "Description.Method", m[i].name);
		expect_str(r.records[0], "Description.Uri-Path", "/");
		expect_str(r.records[0], "Description.Token", "01");
		expect_str(r.records[0], "Error Code", "30");
		run_free(&r);
	}
}

Test(coap, empty_token_and_percent_encoded_path)
{
	struct run r;
	start(&r);
	hdr(&Q, NON, 0x02, 9, NULL);
	opt(&Q, 11, "a b%\x01\xff", 6);
	resp(&A, NON, 0x80, 300, NULL);
	payload(&A, "bad\x01");           /* not text: no diagnostic field */
	c2s(&r, &Q);
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Token", "(empty)");
	expect_str(r.records[0], "Description.Uri-Path", "/a%20b%25%01%FF");
	expect_str(r.records[0], "Description.Message Type", "NON");
	expect_str(r.records[0], "Description.Response Message ID", "300");
	expect_str(r.records[0], "Description.Response Type", "NON");
	expect_none(r.records[0], "Description.Diagnostic Payload");
	run_free(&r);
}

Test(coap, ipv6_responder_is_bracketed)
{
	struct run r;
	start(&r);
	get(&Q, CON, 1, "11", "/a");
	resp(&A, ACK, 0x83, 1, "11");
	send_raw(&r, "2001:db8::10", CPORT, "2001:db8::20", COAP, Q.b, Q.len);
	send_raw(&r, "2001:db8::20", COAP, "2001:db8::10", CPORT, A.b, A.len);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Responder.Unique ID", "[2001:DB8:0:0:0:0:0:20]:5683");
	expect_str(r.records[0], "Requester.Unique ID", "2001:DB8:0:0:0:0:0:10");
	run_free(&r);
}

/* A request for a proxy names the whole URI: no Uri-Path of its own. */
Test(coap, proxy_request_names_its_uri)
{
	struct run r;
	start(&r);
	hdr(&Q, CON, 0x01, 0x858A, "01");
	opt_str(&Q, 35, "coap://192.0.2.99/x");
	resp(&A, ACK, 0xA5, 0x858A, "01");
	payload(&A, "Proxying Not Supported");
	c2s(&r, &Q);
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Proxy-Uri", "coap://192.0.2.99/x");
	expect_str(r.records[0], "Description.Response Code", "5.05 Proxying Not Supported");
	expect_str(r.records[0], "Description.Diagnostic Payload", "Proxying Not Supported");
	expect_none(r.records[0], "Description.Uri-Path");
	run_free(&r);
}

/* An Observe notification (RFC 7641) answers a request long closed: an
 * error among them is still reported, counted as a notification. */
Test(coap, observe_notifications)
{
	struct run r;
	start(&r);
	hdr(&Q, CON, 0x01, 1, "0B");
	opt(&Q, 6, "", 0);                     /* register */
	path(&Q, "/temp");
	resp(&A, ACK, 0x45, 1, "0B");
	opt(&A, 6, "\x01", 1);
	c2s(&r, &Q);
	s2c(&r, &A);
	wait_s(5);
	resp(&A, NON, 0x45, 2, "0B");
	opt(&A, 6, "\x02", 1);
	s2c(&r, &A);
	wait_s(5);
	resp(&A, CON, 0x84, 3, "0B");          /* the resource went away */
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	cr_assert_eq(event_count(&r, "observe_notification"), 1);
	cr_assert_eq(event_count(&r, "response_without_request"), 1);
	run_free(&r);
}

/* ---- pairing --------------------------------------------------------------- */

Test(coap, separate_response_after_empty_ack)
{
	struct run r;
	struct msg ack;
	start(&r);
	get(&Q, CON, 0x0100, "CAFE", "/async");
	c2s(&r, &Q);
	resp(&ack, ACK, 0x00, 0x0100, NULL);       /* "wait, the answer follows" */
	s2c(&r, &ack);
	wait_s(3);
	resp(&A, CON, 0xA3, 0x7000, "CAFE");       /* separate, own message id */
	s2c(&r, &A);
	resp(&ack, ACK, 0x00, 0x7000, NULL);       /* the client acknowledges it */
	c2s(&r, &ack);
	wait_s(30);
	finish(&r);
	cr_assert_eq(r.n_records, 1, "separate response paired, no No Response");
	expect_str(r.records[0], "Error Code", "42");
	expect_str(r.records[0], "Description.Method", "GET (0.01)");
	expect_str(r.records[0], "Description.Uri-Path", "/async");
	expect_str(r.records[0], "Description.Message ID", "256");
	expect_str(r.records[0], "Description.Response Message ID", "28672");
	expect_str(r.records[0], "Description.Response Type", "CON");
	expect_none(r.records[0], "Description.Request");
	run_free(&r);
}

Test(coap, empty_ack_then_nothing_is_no_response)
{
	struct run r;
	struct msg ack;
	start(&r);
	get(&Q, CON, 5, "01", "/slow");
	c2s(&r, &Q);
	resp(&ack, ACK, 0x00, 5, NULL);
	s2c(&r, &ack);
	wait_s(11);
	get(&Q, CON, 6, "02", "/ok");
	c2s(&r, &Q);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Uri-Path", "/slow");
	expect_str(r.records[0], "Responder.Unique ID", SERVER ":5683");
	expect_str(r.records[0], "Responder.Transmitted Code", "");
	run_free(&r);
}

/* A CON sent five times (RFC 7252 4.2 back-off) and never answered is one
 * request: one No Response, at 10 s. */
Test(coap, retransmitted_con_without_answer_is_one_no_response)
{
	struct run r;
	start(&r);
	get(&Q, CON, 0x4242, "77", "/dead");
	const double gaps[] = {0, 2.5, 5, 10, 20};
	for (size_t i = 0; i < 5; i++) {
		wait_s(gaps[i]);
		c2s(&r, &Q);
	}
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Uri-Path", "/dead");
	expect_str(r.records[0], "Description.Message ID", "16962");
	cr_assert_eq(event_count(&r, "duplicate_request"), 4);
	run_free(&r);
}

Test(coap, answer_just_before_the_deadline_pairs_after_it_does_not)
{
	struct run r;
	start(&r);
	get(&Q, CON, 1, "01", "/a");
	resp(&A, ACK, 0x84, 1, "01");
	c2s(&r, &Q);
	wait_s(9.9);
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	run_free(&r);

	start(&r);
	c2s(&r, &Q);
	wait_s(10.1);
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[1], "Error Code", "30");
	expect_str(r.records[1], "Description.Request", "not seen in the capture");
	expect_str(r.records[1], "Description.Token", "01");
	run_free(&r);
}

Test(coap, retransmitted_request_and_repeated_answer_are_one_record)
{
	struct run r;
	start(&r);
	get(&Q, CON, 0x1111, "AB", "/x");
	resp(&A, ACK, 0x81, 0x1111, "AB");
	c2s(&r, &Q);
	wait_s(2.2);
	c2s(&r, &Q);       /* the first ACK was lost on the way back */
	s2c(&r, &A);
	s2c(&r, &A);       /* the server answers each copy */
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "20");
	cr_assert_eq(event_count(&r, "duplicate_request"), 1);
	cr_assert_eq(event_count(&r, "duplicate_response"), 1);
	run_free(&r);
}

Test(coap, ack_with_another_message_id_is_not_the_answer)
{
	struct run r;
	start(&r);
	get(&Q, CON, 100, "AB", "/x");
	resp(&A, ACK, 0x84, 101, "AB");
	c2s(&r, &Q);
	s2c(&r, &A);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_str(r.records[0], "Description.Response Message ID", "101");
	expect_str(r.records[1], "Error Code", "10");
	cr_assert_eq(event_count(&r, "message_id_mismatch"), 1);
	run_free(&r);
}

Test(coap, other_token_is_not_the_answer)
{
	struct run r;
	start(&r);
	get(&Q, NON, 100, "AB", "/x");
	resp(&A, NON, 0x84, 200, "AC");
	c2s(&r, &Q);
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_str(r.records[0], "Description.Token", "AC");
	run_free(&r);
}

Test(coap, non_request_is_never_no_response_but_its_error_pairs)
{
	struct run r;
	start(&r);
	get(&Q, NON, 1, "01", "/quiet");
	c2s(&r, &Q);
	wait_s(60);
	get(&Q, NON, 2, "02", "/missing");
	c2s(&r, &Q);
	wait_s(0.5);
	resp(&A, NON, 0x84, 0x9000, "02");
	s2c(&r, &A);
	wait_s(60);
	get(&Q, CON, 3, "03", "/ok");
	c2s(&r, &Q);
	resp(&A, ACK, 0x45, 3, "03");
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Uri-Path", "/missing");
	expect_str(r.records[0], "Description.Message Type", "NON");
	run_free(&r);
}

/* One token for every request (as libcoap's client does per run): a new
 * request supersedes an unanswered one, and the answer is the new one's. */
Test(coap, reused_token_pairs_with_the_latest_request)
{
	struct run r;
	start(&r);
	get(&Q, NON, 1, "01", "/first");
	c2s(&r, &Q);
	get(&Q, NON, 2, "01", "/second");
	c2s(&r, &Q);
	resp(&A, NON, 0x84, 50, "01");
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Uri-Path", "/second");
	cr_assert_eq(event_count(&r, "token_reused"), 1);
	run_free(&r);
}

/* ---- one token or message id, several requests in flight ---------------- */

/* No request left without its answer, no answer left without its request
 * (call after the deadlines passed). */
static void expect_all_paired(struct run *r)
{
	cr_assert_eq(run_stat(r, "transactions.no_response"), 0, "a false 10");
	cr_assert_eq(run_stat(r, "responses_without_request"), 0);
	cr_assert_eq(event_count(r, "response_without_request"), 0);
	cr_assert_eq(event_count(r, "message_id_mismatch"), 0);
	cr_assert_eq(run_stat(r, "requests_pending"), 0);
}

/* Two CON requests with one token in flight, answered in order by
 * piggybacked ACKs: the message id says which is which. */
Test(coap, same_token_twice_piggybacked_answers_pair_by_message_id)
{
	struct run r;
	struct msg q2;
	start(&r);
	get(&Q, CON, 0x10, "A1", "/first");
	get(&q2, CON, 0x11, "A1", "/second");
	c2s(&r, &Q);
	c2s(&r, &q2);
	resp(&A, ACK, 0x84, 0x10, "A1");
	s2c(&r, &A);
	resp(&A, ACK, 0x45, 0x11, "A1");
	s2c(&r, &A);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Uri-Path", "/first");
	expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&Q));
	cr_assert_eq(event_count(&r, "token_reused"), 1);
	expect_all_paired(&r);
	run_free(&r);
}

/* The same, answered the other way round. */
Test(coap, same_token_twice_answered_out_of_order)
{
	struct run r;
	struct msg q2;
	start(&r);
	get(&Q, CON, 0x10, "A1", "/first");
	get(&q2, CON, 0x11, "A1", "/second");
	c2s(&r, &Q);
	c2s(&r, &q2);
	resp(&A, ACK, 0x45, 0x11, "A1");
	s2c(&r, &A);
	resp(&A, ACK, 0x84, 0x10, "A1");
	s2c(&r, &A);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Uri-Path", "/first");
	expect_all_paired(&r);
	run_free(&r);
}

/* Separate responses carry the token only: answered in order, the first
 * is the oldest request's. */
Test(coap, same_token_twice_separate_answers_go_to_the_oldest)
{
	struct run r;
	struct msg q2, empty;
	start(&r);
	get(&Q, CON, 0x10, "A1", "/first");
	get(&q2, CON, 0x11, "A1", "/second");
	c2s(&r, &Q);
	resp(&empty, ACK, 0x00, 0x10, "");
	s2c(&r, &empty);
	c2s(&r, &q2);
	resp(&empty, ACK, 0x00, 0x11, "");
	s2c(&r, &empty);
	resp(&A, CON, 0x84, 0x9001, "A1");
	s2c(&r, &A);
	resp(&A, CON, 0x45, 0x9002, "A1");
	s2c(&r, &A);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Uri-Path", "/first");
	expect_all_paired(&r);
	run_free(&r);
}

/* One message id for two requests with different tokens (a peer that
 * reuses it too early for a new message, not a retransmission): the token
 * pairs each answer. */
Test(coap, same_message_id_twice_pairs_by_token)
{
	struct run r;
	struct msg q2;
	start(&r);
	get(&Q, CON, 0x20, "01", "/a");
	get(&q2, CON, 0x20, "02", "/b");
	c2s(&r, &Q);
	c2s(&r, &q2);
	resp(&A, ACK, 0x84, 0x20, "01");
	s2c(&r, &A);
	resp(&A, ACK, 0x45, 0x20, "02");
	s2c(&r, &A);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Uri-Path", "/a");
	cr_assert_eq(event_count(&r, "duplicate_request"), 0);
	expect_all_paired(&r);
	run_free(&r);
}

/* A CON whose token was reused and that never gets its answer is one
 * more unanswered request. */
Test(coap, reused_token_unanswered_con_is_no_response)
{
	struct run r;
	struct msg q2;
	start(&r);
	get(&Q, CON, 0x10, "A1", "/lost");
	get(&q2, CON, 0x11, "A1", "/ok");
	c2s(&r, &Q);
	c2s(&r, &q2);
	resp(&A, ACK, 0x45, 0x11, "A1");
	s2c(&r, &A);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Uri-Path", "/lost");
	cr_assert_eq(event_count(&r, "message_id_mismatch"), 0);
	run_free(&r);
}

/* Either end may ask: the server's request to the client and the client's
 * to the server use the same token without being confused. */
Test(coap, both_ends_ask_with_the_same_token)
{
	struct run r;
	struct msg q2, a2;
	start(&r);
	get(&Q, CON, 10, "01", "/from-client");
	c2s(&r, &Q);
	get(&q2, CON, 20, "01", "/from-server");
	s2c(&r, &q2);
	resp(&a2, ACK, 0x84, 20, "01");
	c2s(&r, &a2);
	resp(&A, ACK, 0x83, 10, "01");
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Uri-Path", "/from-server");
	expect_str(r.records[0], "Responder.Unique ID", CLIENT ":40001");
	expect_str(r.records[0], "Requester.Unique ID", SERVER);
	expect_str(r.records[1], "Error Code", "23");
	expect_str(r.records[1], "Description.Uri-Path", "/from-client");
	expect_str(r.records[1], "Responder.Unique ID", SERVER ":5683");
	run_free(&r);
}

Test(coap, other_flow_is_not_the_answer)
{
	struct run r;
	start(&r);
	get(&Q, CON, 1, "01", "/a");
	resp(&A, ACK, 0x84, 1, "01");
	c2s(&r, &Q);
	send_raw(&r, SERVER, COAP, CLIENT, CPORT + 1, A.b, A.len);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_str(r.records[1], "Error Code", "10");
	run_free(&r);
}

Test(coap, group_request_pairs_with_each_members_answer)
{
	struct run r;
	start(&r);
	get(&Q, NON, 0x5000, "99", "/missing");
	send_raw(&r, CLIENT, CPORT, GROUP, COAP, Q.b, Q.len);
	resp(&A, NON, 0x84, 0x100, "99");
	s2c(&r, &A);
	resp(&A, NON, 0x84, 0x200, "99");
	send_raw(&r, SERVER2, COAP, CLIENT, CPORT, A.b, A.len);
	wait_s(30);
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	for (size_t i = 0; i < 2; i++) {
		expect_str(r.records[i], "Error Code", "30");
		expect_str(r.records[i], "Description.Uri-Path", "/missing");
		expect_none(r.records[i], "Description.Request");
	}
	expect_str(r.records[0], "Responder.Unique ID", SERVER ":5683");
	expect_str(r.records[1], "Responder.Unique ID", SERVER2 ":5683");
	run_free(&r);
}

/* ---- resets ---------------------------------------------------------------- */

Test(coap, reset_of_a_request_is_reported)
{
	struct run r;
	struct msg rst;
	start(&r);
	get(&Q, CON, 0x3333, "0A", "/time");
	opt(&Q, 23, "\xff\xff\xff\xff\xff", 5);   /* Block2 of 5 bytes: libcoap resets */
	c2s(&r, &Q);
	resp(&rst, RST, 0x00, 0x3333, NULL);
	s2c(&r, &rst);
	s2c(&r, &rst);    /* again, for a retransmission: one record */
	wait_s(20);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Vendor Code", "7000");
	expect_str(r.records[0], "Description.Vendor Meaning", "Reset: the request was rejected unprocessed");
	expect_str(r.records[0], "Description.Response Type", "RST");
	expect_str(r.records[0], "Description.Uri-Path", "/time");
	expect_str(r.records[0], "Responder.Transmitted Code", "70003333");
	run_free(&r);
}

Test(coap, reset_of_a_ping_or_of_nothing_is_no_record)
{
	struct run r;
	struct msg ping, rst;
	start(&r);
	resp(&ping, CON, 0x00, 0x10, NULL);
	c2s(&r, &ping);
	resp(&rst, RST, 0x00, 0x10, NULL);
	s2c(&r, &rst);
	resp(&rst, RST, 0x00, 0x11, NULL);      /* resets nothing we saw */
	s2c(&r, &rst);
	/* A separate response the client no longer wants. */
	get(&Q, CON, 0x20, "01", "/a");
	c2s(&r, &Q);
	resp(&A, ACK, 0x45, 0x20, "01");
	s2c(&r, &A);
	resp(&A, CON, 0x84, 0x21, "05");
	s2c(&r, &A);
	resp(&rst, RST, 0x00, 0x21, NULL);
	c2s(&r, &rst);
	finish(&r);
	cr_assert_eq(r.n_records, 1, "only the unpaired 4.04");
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	cr_assert_eq(event_count(&r, "ping"), 1);
	cr_assert_eq(event_count(&r, "reset_ping"), 1);
	cr_assert_eq(event_count(&r, "reset_without_message"), 1);
	cr_assert_eq(event_count(&r, "reset_response"), 1);
	run_free(&r);
}

Test(coap, reset_after_the_answer_is_no_second_record)
{
	struct run r;
	struct msg rst;
	start(&r);
	get(&Q, CON, 0x20, "01", "/a");
	c2s(&r, &Q);
	resp(&A, ACK, 0x84, 0x20, "01");
	s2c(&r, &A);
	resp(&rst, RST, 0x00, 0x20, NULL);
	s2c(&r, &rst);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	run_free(&r);
}

/* ---- options ------------------------------------------------------------- */

Test(coap, extended_option_deltas_and_lengths)
{
	struct run r;
	char seg[400];
	memset(seg, 'p', sizeof(seg) - 1);
	seg[sizeof(seg) - 1] = '\0';
	start(&r);
	hdr(&Q, CON, 0x01, 1, "01");
	opt_str(&Q, 3, "h");                 /* delta 3 */
	opt_str(&Q, 11, seg);                /* length 399: 14 + 2 bytes */
	opt_str(&Q, 15, "q=1234567890123");  /* length 15: 13 + 1 byte */
	opt(&Q, 60, "\x01", 1);              /* delta 45: 13 + 1 byte */
	opt(&Q, 2049, "\x01", 1);            /* delta 1989: 14 + 2 bytes */
	opt(&Q, 65000, "", 0);               /* delta 62951 */
	payload(&Q, "body");
	resp(&A, ACK, 0x82, 1, "01");
	c2s(&r, &Q);
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Uri-Host", "h");
	expect_str(r.records[0], "Description.Uri-Query", "q=1234567890123");
	const char *p = record_get(r.records[0], "Description.Uri-Path");
	cr_assert_not_null(p);
	cr_assert_eq(p[0], '/');
	cr_assert_eq(strlen(p), 160 + 3, "bounded: %zu", strlen(p));
	cr_assert_str_eq(p + 160, "...");
	run_free(&r);
}

/* Malformed messages are dropped (counted), never paired or reported. */
Test(coap, malformed_messages_are_dropped)
{
	const char *bad[] = {
		"",                          /* nothing */
		"41 01 00",                  /* short header */
		"81 84 00 01 01",            /* version 2 */
		"49 84 00 01 01 02 03 04 05 06 07 08 09",  /* TKL 9 */
		"41 84 00 01",               /* token missing */
		"41 84 00 01 01 F1 00",      /* delta nibble 15 */
		"41 84 00 01 01 1F",         /* length nibble 15 */
		"41 84 00 01 01 D1",         /* delta 13 without its byte */
		"41 84 00 01 01 E1 00",      /* delta 14 with one of two bytes */
		"41 84 00 01 01 15",         /* value of 5 runs past the end */
		"41 84 00 01 01 FF",         /* payload marker, no payload */
		"41 84 00 01 01 E0 FF 00 E0 01 00",   /* option number past 65535 */
		"60 00 00 01 00",            /* empty ACK with a byte after it */
		"61 00 00 01 01",            /* empty ACK with a token */
		"50 00 00 01",               /* empty NON */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r;
		uint8_t b[64];
		size_t n = hex_to_bytes(bad[i], b, sizeof(b));
		start(&r);
		get(&Q, CON, 1, "01", "/a");
		c2s(&r, &Q);
		send_raw(&r, SERVER, COAP, CLIENT, CPORT, b, n);
		wait_s(11);
		finish(&r);
		cr_assert_eq(r.n_records, 1, "case %zu (%s): %zu records", i, bad[i], r.n_records);
		expect_str(r.records[0], "Error Code", "10");
		if (n >= 1)
			cr_assert_geq(event_count(&r, "malformed"), 1, "case %zu", i);
		run_free(&r);
	}
}

Test(coap, wrong_type_for_the_code_is_malformed)
{
	struct run r;
	start(&r);
	get(&Q, ACK, 1, "01", "/a");       /* a request in an ACK */
	c2s(&r, &Q);
	resp(&A, RST, 0x84, 1, "01");      /* an error in a RST */
	s2c(&r, &A);
	wait_s(11);
	finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(event_count(&r, "malformed"), 2);
	run_free(&r);
}

/* A request cut at every offset: a cut at an option boundary is still a
 * whole request (No Response), any other is dropped (nothing). */
Test(coap, request_truncated_at_every_offset)
{
	struct msg full;
	hdr(&full, CON, 0x01, 0x0102, "AABB");
	opt_str(&full, 11, "sensors");
	opt_str(&full, 15, "a=1");
	payload(&full, "xy");
	/* header 4 + token 2 = 6; path option 1+7 = 14; query 1+3 = 18;
	 * marker 19 (empty payload: bad); payload from 20. */
	for (size_t k = 0; k < full.len; k++) {
		int whole = k == 6 || k == 14 || k == 18 || k >= 20;
		struct run r;
		start(&r);
		send_raw(&r, CLIENT, CPORT, SERVER, COAP, full.b, k);
		wait_s(11);
		get(&Q, NON, 9, "09", "/tick");
		c2s(&r, &Q);
		finish(&r);
		cr_assert_eq(r.n_records, whole ? 1 : 0, "cut at %zu: %zu records", k, r.n_records);
		run_free(&r);
	}
}

Test(coap, response_truncated_at_every_offset)
{
	struct msg full;
	resp(&full, ACK, 0x84, 0x0102, "AA");
	opt(&full, 12, "", 0);
	payload(&full, "Not Found");
	/* header + token 5, Content-Format 6, marker 7 (bad), payload 8+ */
	get(&Q, CON, 0x0102, "AA", "/x");
	for (size_t k = 0; k <= full.len; k++) {
		int whole = k == 5 || k == 6 || k >= 8;
		struct run r;
		start(&r);
		c2s(&r, &Q);
		send_raw(&r, SERVER, COAP, CLIENT, CPORT, full.b, k);
		wait_s(11);
		finish(&r);
		cr_assert_eq(r.n_records, 1, "cut at %zu", k);
		expect_str(r.records[0], "Error Code", whole ? "30" : "10");
		run_free(&r);
	}
}

Test(coap, garbage_is_never_a_record)
{
	struct run r;
	uint8_t b[512];
	uint32_t x = 1367;
	start(&r);
	/* The flow starts as CoAP (a GET to port 5683): a first datagram of
	 * garbage from the server's port would, rightly, not make it CoAP. */
	send_raw(&r, CLIENT, CPORT, SERVER, COAP, (const uint8_t *)"\x40\x01\x00\x01", 4);
	for (int i = 0; i < 2000; i++) {
		x = x * 1103515245u + 12345u;
		size_t n = (size_t)((x >> 16) % sizeof(b));
		for (size_t k = 0; k < n; k++) {
			x = x * 1103515245u + 12345u;
			b[k] = (uint8_t)(x >> 16);
		}
		/* Force version 1 half the time, so that option parsing is hit. */
		if (n && (i & 1))
			b[0] = (uint8_t)((b[0] & 0x3F) | 0x40);
		if (i & 2)
			send_raw(&r, CLIENT, CPORT, SERVER, COAP, b, n);
		else
			send_raw(&r, SERVER, COAP, CLIENT, CPORT, b, n);
	}
	finish(&r);
	/* Garbage may by chance be a CON request, or an error answer to one:
	 * every record must then be one of ours, never an unmapped code. */
	for (size_t i = 0; i < r.n_records; i++) {
		const char *code = record_get(r.records[i], "Error Code");
		cr_assert_not_null(code);
		cr_assert_neq(strcmp(code, "FF"), 0, "%s", r.records[i]);
	}
	cr_assert_gt(event_count(&r, "malformed"), 500);
	run_free(&r);
}

/* A 60 000-byte request: parsed to its end, described within bounds. */
Test(coap, oversized_request)
{
	static char seg[1001];
	struct run r;
	memset(seg, 's', 1000);
	start(&r);
	hdr(&Q, CON, 0x02, 77, "0102");
	for (int i = 0; i < 59; i++)
		opt_str(&Q, 11, seg);
	opt_str(&Q, 15, seg);
	payload(&Q, "tail");
	cr_assert_gt(Q.len, 60000);
	resp(&A, ACK, 0x8D, 77, "0102");
	c2s(&r, &Q);
	s2c(&r, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Method", "POST (0.02)");
	const char *p = record_get(r.records[0], "Description.Uri-Path");
	cr_assert_not_null(p, "the stored, cut request still names its path");
	cr_assert_leq(strlen(p), 163);
	run_free(&r);
}

/* ---- detection ------------------------------------------------------------- */

Test(coap, found_on_another_port_by_its_probe)
{
	struct run r;
	start(&r);
	get(&Q, CON, 1, "01", "/x");
	resp(&A, ACK, 0x84, 1, "01");
	send_raw(&r, CLIENT, CPORT, SERVER, 15683, Q.b, Q.len);
	send_raw(&r, SERVER, 15683, CLIENT, CPORT, A.b, A.len);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Protocol", "CoAP");
	expect_str(r.records[0], "Responder.Unique ID", SERVER ":15683");
	run_free(&r);
}

Test(coap, probe)
{
	const struct x1367_dissector *d = coap();
	struct {
		const char *hex;
		enum x1367_probe_result want;
	} cases[] = {
		{"", X1367_PROBE_MAYBE},
		{"40 01 12 34", X1367_PROBE_YES},              /* CON GET, no token */
		{"51 02 12 34 AA B1 61", X1367_PROBE_YES},     /* NON POST /a */
		{"61 84 12 34 AA", X1367_PROBE_YES},           /* ACK 4.04 */
		{"60 00 12 34", X1367_PROBE_YES},              /* empty ACK */
		{"70 00 12 34", X1367_PROBE_YES},              /* RST */
		{"40 01 12", X1367_PROBE_NO},                  /* short */
		{"80 01 12 34", X1367_PROBE_NO},               /* version 2 */
		{"40 09 12 34", X1367_PROBE_NO},               /* unknown method */
		{"60 01 12 34", X1367_PROBE_NO},               /* request in an ACK */
		{"60 87 12 34", X1367_PROBE_NO},               /* unassigned 4.07 */
		{"70 84 12 34", X1367_PROBE_NO},               /* RST with a code */
		{"40 01 12 34 F1 00", X1367_PROBE_NO},         /* bad option */
		{"47 01 12 34 00", X1367_PROBE_NO},            /* token cut */
		{"16 03 01 00 A5 01 00 00", X1367_PROBE_NO},   /* a TLS record */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b[64];
		size_t n = hex_to_bytes(cases[i].hex, b, sizeof(b));
		cr_assert_eq(d->probe(b, n, X1367_TO_SERVER), cases[i].want, "case %zu (%s)", i,
			     cases[i].hex);
	}
}

Test(coap, descriptor)
{
	const struct x1367_dissector *d = coap();
	cr_assert_eq(d->abi_major, X1367_ABI_MAJOR);
	cr_assert_str_eq(d->name, "coap");
	cr_assert_str_eq(d->protocol, "CoAP");
	cr_assert_eq(d->transports, X1367_UDP);
	cr_assert_eq(d->ports[0], 5683);
	cr_assert_eq(d->ports[1], 0);
	cr_assert_eq(d->request_timeout_ms, 10000);
	/* nDPI knows the name: the engine refuses an unknown one at start. */
	struct run r;
	start(&r);
	cr_assert_not_null(r.engine);
	run_free(&r);
}
