/* The TLS alert plugin, through the whole engine: handshakes in, records out.
 * The plugin's source is compiled into this program; its descriptor is
 * registered after the built-ins (run_start_with). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define GW "192.0.2.10"          /* the client: a gateway */
#define DEV "192.0.2.20"         /* the server: a device */
#define GW6 "2001:db8::10"
#define DEV6 "2001:db8::20"
#define SEC 1000000ull
#define T0 (1705309200ull * SEC) /* 2024-01-15T09:00:00Z */

#define CT_CCS 20
#define CT_ALERT 21
#define CT_HS 22
#define CT_APP 23
#define V12 0x0303
#define V10 0x0301

/* ---- bytes ------------------------------------------------------------------ */

struct buf {
	uint8_t b[40000];
	size_t n;
};

static void put8(struct buf *o, unsigned v) { o->b[o->n++] = (uint8_t)v; }
static void put16(struct buf *o, unsigned v) { put8(o, v >> 8); put8(o, v); }
static void put24(struct buf *o, unsigned v) { put8(o, v >> 16); put16(o, v & 0xFFFF); }
static void putn(struct buf *o, const void *p, size_t n) { if (n) memcpy(o->b + o->n, p, n); o->n += n; }
static void putfill(struct buf *o, uint8_t v, size_t n) { memset(o->b + o->n, v, n); o->n += n; }

/* One record around `frag`, appended to o. */
static void record(struct buf *o, uint8_t type, unsigned version, const void *frag, size_t n)
{
	put8(o, type);
	put16(o, version);
	put16(o, (unsigned)n);
	putn(o, frag, n);
}

/* A handshake message: type, 24-bit length, body. */
static void hs_msg(struct buf *o, uint8_t type, const void *body, size_t n)
{
	put8(o, type);
	put24(o, (unsigned)n);
	putn(o, body, n);
}

static void client_hello(struct buf *o, const char *sni, int early_data)
{
	struct buf b = {.n = 0}, ext = {.n = 0};
	put16(&b, V12);
	putfill(&b, 0x11, 32);
	put8(&b, 0);                               /* session id */
	put16(&b, 4); put16(&b, 0x1301); put16(&b, 0xC02F);
	put8(&b, 1); put8(&b, 0);
	if (sni) {
		size_t l = strlen(sni);
		put16(&ext, 0x0000); put16(&ext, (unsigned)l + 5);
		put16(&ext, (unsigned)l + 3); put8(&ext, 0); put16(&ext, (unsigned)l);
		putn(&ext, sni, l);
	}
	put16(&ext, 0x002B); put16(&ext, 5); put8(&ext, 4); put16(&ext, 0x0304); put16(&ext, 0x0303);
	if (early_data) {
		put16(&ext, 0x002A); put16(&ext, 0);
	}
	put16(&b, (unsigned)ext.n);
	putn(&b, ext.b, ext.n);
	hs_msg(o, 1, b.b, b.n);
}

/* supported: 0 = no supported_versions extension (TLS <= 1.2). */
static void server_hello(struct buf *o, unsigned supported)
{
	struct buf b = {.n = 0};
	put16(&b, V12);
	putfill(&b, 0x22, 32);
	put8(&b, 0);
	put16(&b, supported ? 0x1301 : 0xC02F);
	put8(&b, 0);
	if (supported) {
		put16(&b, 6); put16(&b, 0x002B); put16(&b, 2); put16(&b, supported);
	} else {
		put16(&b, 0);
	}
	hs_msg(o, 2, b.b, b.n);
}

static void certificate(struct buf *o, size_t n)
{
	struct buf b = {.n = 0};
	put24(&b, (unsigned)n + 3);
	put24(&b, (unsigned)n);
	putfill(&b, 0x30, n);
	hs_msg(o, 11, b.b, b.n);
}

/* A record holding the handshake message(s) in msg. */
static void hs_record(struct buf *o, unsigned version, const struct buf *msg)
{
	record(o, CT_HS, version, msg->b, msg->n);
}

static const char *hex(const uint8_t *p, size_t n)
{
	static char out[2][80000];
	static int k;
	char *s = out[k ^= 1];
	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02X", p[i]);
	s[2 * n] = '\0';
	return s;
}

/* ---- connections (helpers.h) ---------------------------------------------- */

static void conn_open6(struct conn *c, struct run *r, const char *cli, const char *srv, uint16_t sport)
{
	conn_init(c, r, cli, srv, 49152, sport, T0);
	c->sseq = 0xFFFFFF00u;               /* wraps during the run */
	conn_handshake(c);
}

static void conn_open(struct conn *c, struct run *r, uint16_t sport)
{
	conn_open6(c, r, GW, DEV, sport);
}

static void cli(struct conn *c, const struct buf *b)
{
	conn_send(c, 0, b->b, b->n, TH_PSH | TH_ACK);
}

static void srv(struct conn *c, const struct buf *b)
{
	conn_send(c, 1, b->b, b->n, TH_PSH | TH_ACK);
}

static void start(struct run *r)
{
	run_start_with(r, X1367_DISSECTOR_ENTRY());
}

/* ---- checks ------------------------------------------------------------------ */

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

static void expect_absent(const char *rec, const char *path)
{
	cr_assert_null(record_get(rec, path), "%s present in %s", path, rec);
}

/* The plugin's count of one of its events, from the engine's statistics. */
static long event_count(const struct run *r, const char *name)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	cr_assert_not_null(fp);
	engine_write_stats(r->engine, fp);
	fclose(fp);
	const char *key = strstr(text, "\"tls\"");
	long n = 0;
	char quoted[80];
	snprintf(quoted, sizeof(quoted), "\"%s\":", name);
	const char *hit = key ? strstr(key, quoted) : NULL;
	if (hit)
		n = strtol(hit + strlen(quoted), NULL, 10);
	free(text);
	return n;
}

/* ---- TLS 1.2: the client refuses the server's certificate ------------------ */

/* The pieces of a TLS 1.2 handshake, kept to compare Transmitted Codes. */
struct hs12 {
	struct buf ch, sh, cert, shd, flight;    /* records; flight = sh+cert+shd */
};

static void hs12_make(struct hs12 *h, const char *sni)
{
	struct buf m = {.n = 0};
	memset(h, 0, sizeof(*h));
	client_hello(&m, sni, 0);
	hs_record(&h->ch, V10, &m);
	m.n = 0;
	server_hello(&m, 0);
	hs_record(&h->sh, V12, &m);
	m.n = 0;
	certificate(&m, 300);
	hs_record(&h->cert, V12, &m);
	m.n = 0;
	hs_msg(&m, 14, NULL, 0);
	hs_record(&h->shd, V12, &m);
	putn(&h->flight, h->sh.b, h->sh.n);
	putn(&h->flight, h->cert.b, h->cert.n);
	putn(&h->flight, h->shd.b, h->shd.n);
}

static void alert(struct buf *o, unsigned version, uint8_t level, uint8_t desc)
{
	uint8_t a[2] = {level, desc};
	record(o, CT_ALERT, version, a, 2);
}

/* ClientHello, the server's flight, the client's alert on one connection. */
static void client_refuses(struct run *r, const struct hs12 *h, uint8_t level, uint8_t desc, uint16_t port)
{
	struct conn c;
	struct buf a = {.n = 0};
	start(r);
	conn_open(&c, r, port);
	cli(&c, &h->ch);
	srv(&c, &h->flight);
	alert(&a, V12, level, desc);
	cli(&c, &a);
	conn_close(&c);
	run_finish(r);
}

Test(tls, certificate_expired_is_certification_failed_with_both_records)
{
	struct run r;
	struct hs12 h;
	hs12_make(&h, "device1.plant.example");
	client_refuses(&r, &h, 2, 45, 443);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "TLS");
	expect_str(rec, "Error Code", "21");
	expect_str(rec, "Error Message", "Certification Failed");
	/* The alert's sender reports on what the server presented. */
	expect_str(rec, "Requester.Unique ID", DEV ":443");
	expect_str(rec, "Requester.Transmitted Code", hex(h.cert.b, h.cert.n));
	expect_str(rec, "Responder.Unique ID", GW);
	expect_str(rec, "Responder.Transmitted Code", "1503030002022D");
	expect_str(rec, "Description.Requester Address", DEV);
	expect_str(rec, "Description.Requester Port", "443");
	expect_str(rec, "Description.Responder Address", GW);
	expect_str(rec, "Description.Vendor Code", "2D");
	expect_str(rec, "Description.Vendor Meaning", "certificate_expired");
	expect_str(rec, "Description.Alert", "certificate_expired (45)");
	expect_str(rec, "Description.Alert Level", "fatal");
	expect_str(rec, "Description.Alert Sender", "client");
	expect_str(rec, "Description.TLS Version", "TLS 1.2");
	expect_str(rec, "Description.Server Name", "device1.plant.example");
	expect_str(rec, "Description.Request Record", "Handshake, record version TLS 1.2, 310 bytes");
	expect_str(rec, "Description.Handshake Messages", "Certificate");
	expect_absent(rec, "Description.Request");
	expect_str(rec, "Timestamp", "2024-01-15T09:00:00.006000Z");
	run_free(&r);
}

/* Every row of rules/tls.map, and codes without one. */
Test(tls, every_alert_description_maps_by_the_rules)
{
	static const struct {
		uint8_t desc;
		const char *x1367;        /* NULL: no record */
		const char *meaning;
	} cases[] = {
		{0x00, NULL, NULL}, {0x0A, "2F", "unexpected_message"}, {0x14, "22", "bad_record_mac"},
		{0x15, "22", "decryption_failed"}, {0x16, "2F", "record_overflow"},
		{0x1E, "2F", "decompression_failure"}, {0x28, "22", "handshake_failure"},
		{0x29, "21", "no_certificate"}, {0x2A, "21", "bad_certificate"},
		{0x2B, "21", "unsupported_certificate"}, {0x2C, "21", "certificate_revoked"},
		{0x2D, "21", "certificate_expired"}, {0x2E, "21", "certificate_unknown"},
		{0x2F, "2F", "illegal_parameter"}, {0x30, "21", "unknown_ca"}, {0x31, "23", "access_denied"},
		{0x32, "2F", "decode_error"}, {0x33, "22", "decrypt_error"}, {0x3C, "22", "export_restriction"},
		{0x46, "22", "protocol_version"}, {0x47, "22", "insufficient_security"},
		{0x50, "41", "internal_error"}, {0x56, "2F", "inappropriate_fallback"}, {0x5A, NULL, NULL},
		{0x64, "2F", "no_renegotiation"}, {0x6D, "2F", "missing_extension"},
		{0x6E, "2F", "unsupported_extension"}, {0x6F, "21", "certificate_unobtainable"},
		{0x70, "2F", "unrecognized_name"}, {0x71, "21", "bad_certificate_status_response"},
		{0x72, "21", "bad_certificate_hash_value"}, {0x73, "20", "unknown_psk_identity"},
		{0x74, "21", "certificate_required"}, {0x78, "2F", "no_application_protocol"},
		{0x79, "2F", "ech_required"}, {0x01, "2F", "unassigned alert"}, {0xC8, "2F", "unassigned alert"},
		{0xFF, "2F", "unassigned alert"},
	};
	struct hs12 h;
	hs12_make(&h, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		char vendor[4];
		client_refuses(&r, &h, 2, cases[i].desc, 443);
		snprintf(vendor, sizeof(vendor), "%02X", cases[i].desc);
		if (!cases[i].x1367) {
			cr_assert_eq(r.n_records, 0, "alert %s is no error", vendor);
			cr_assert_eq(event_count(&r, "benign_alert"), 1, "alert %s", vendor);
		} else {
			cr_assert_eq(r.n_records, 1, "alert %s", vendor);
			expect_str(r.records[0], "Error Code", cases[i].x1367);
			expect_str(r.records[0], "Description.Vendor Code", vendor);
			expect_str(r.records[0], "Description.Vendor Meaning", cases[i].meaning);
			expect_absent(r.records[0], "Description.Server Name");
		}
		run_free(&r);
	}
}

/* Certificate alerts answer the record that carried the certificate; the
 * others the flight's last record. */
Test(tls, pairing_by_kind_of_alert)
{
	static const struct {
		uint8_t desc;
		int with_cert;
	} cases[] = {
		{42, 1}, {43, 1}, {44, 1}, {45, 1}, {46, 1}, {48, 1}, {49, 1}, {116, 1}, {40, 1},
		{47, 0}, {51, 0}, {80, 0}, {10, 0},
	};
	struct hs12 h;
	hs12_make(&h, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		client_refuses(&r, &h, 2, cases[i].desc, 443);
		cr_assert_eq(r.n_records, 1);
		const struct buf *want = cases[i].with_cert ? &h.cert : &h.shd;
		expect_str(r.records[0], "Requester.Transmitted Code", hex(want->b, want->n));
		expect_str(r.records[0], "Description.Handshake Messages",
			   cases[i].with_cert ? "Certificate" : "ServerHelloDone");
		run_free(&r);
	}
}

/* X.1367 Appendix I.2: a client certificate from an unknown CA, refused
 * by the device (the server): the gateway is the requester. */
Test(tls, server_refuses_the_client_certificate)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf m = {.n = 0}, ccert = {.n = 0}, cke = {.n = 0}, flight = {.n = 0}, a = {.n = 0};
	uint8_t ccs = 1, fin[40];
	memset(fin, 0xA5, sizeof(fin));
	hs12_make(&h, "device1.plant.example");
	certificate(&m, 200);
	hs_record(&ccert, V12, &m);
	m.n = 0;
	hs_msg(&m, 16, "\x20\x01\x02", 3);
	hs_record(&cke, V12, &m);
	putn(&flight, ccert.b, ccert.n);
	putn(&flight, cke.b, cke.n);
	record(&flight, CT_CCS, V12, &ccs, 1);
	record(&flight, CT_HS, V12, fin, sizeof(fin));
	alert(&a, V12, 2, 48);

	start(&r);
	conn_open(&c, &r, 4433);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &flight);
	srv(&c, &a);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "21");
	expect_str(rec, "Requester.Unique ID", GW);
	expect_str(rec, "Requester.Transmitted Code", hex(ccert.b, ccert.n));
	expect_str(rec, "Responder.Unique ID", DEV ":4433");
	expect_str(rec, "Responder.Transmitted Code", "15030300020230");
	expect_str(rec, "Description.Alert Sender", "server");
	expect_str(rec, "Description.Requester Port", "49152");
	expect_str(rec, "Description.Responder Port", "4433");
	run_free(&r);
}

/* A bad Finished (decrypt_error) pairs with the encrypted Finished, which
 * the description cannot read. */
Test(tls, server_refuses_the_encrypted_finished)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf flight = {.n = 0}, fin = {.n = 0}, a = {.n = 0}, m = {.n = 0};
	uint8_t ccs = 1, enc[40];
	for (size_t i = 0; i < sizeof(enc); i++)
		enc[i] = (uint8_t)(0x9B + 7 * i);
	hs12_make(&h, NULL);
	hs_msg(&m, 16, "\x20\x01\x02", 3);
	hs_record(&flight, V12, &m);
	record(&flight, CT_CCS, V12, &ccs, 1);
	record(&fin, CT_HS, V12, enc, sizeof(enc));
	putn(&flight, fin.b, fin.n);
	alert(&a, V12, 2, 51);

	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &flight);
	srv(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "22");
	expect_str(r.records[0], "Requester.Transmitted Code", hex(fin.b, fin.n));
	expect_str(r.records[0], "Description.Handshake Messages", "encrypted or continued from an earlier record");
	run_free(&r);
}

/* handshake_failure to the ClientHello (no common cipher suite). */
Test(tls, server_refuses_the_client_hello)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf a = {.n = 0};
	hs12_make(&h, "plc.example");
	alert(&a, V12, 2, 40);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "22");
	expect_str(r.records[0], "Requester.Transmitted Code", hex(h.ch.b, h.ch.n));
	expect_str(r.records[0], "Description.Handshake Messages", "ClientHello");
	char want[64];
	snprintf(want, sizeof(want), "Handshake, record version TLS 1.0, %zu bytes", h.ch.n - 5);
	expect_str(r.records[0], "Description.Request Record", want);
	expect_str(r.records[0], "Description.TLS Version", "TLS 1.2 (record version; no ServerHello seen)");
	expect_str(r.records[0], "Description.Server Name", "plc.example");
	run_free(&r);
}

/* A server that puts its whole flight in one record: the description
 * lists the messages; a certificate alert pairs with it. */
Test(tls, several_messages_in_one_record)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf m = {.n = 0}, one = {.n = 0}, a = {.n = 0};
	hs12_make(&h, NULL);
	server_hello(&m, 0);
	certificate(&m, 100);
	hs_msg(&m, 12, "\x03\x00\x17", 3);
	hs_msg(&m, 14, NULL, 0);
	hs_record(&one, V12, &m);
	alert(&a, V12, 2, 42);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &one);
	cli(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", hex(one.b, one.n));
	expect_str(r.records[0], "Description.Handshake Messages",
		   "ServerHello, Certificate, ServerKeyExchange, ServerHelloDone");
	run_free(&r);
}

/* A Certificate larger than a record: the message continues in the next
 * record, which the walk skips; the ServerHelloDone after it is read. */
Test(tls, certificate_spanning_two_records)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf m = {.n = 0}, flight = {.n = 0}, a = {.n = 0}, first = {.n = 0};
	hs12_make(&h, NULL);
	certificate(&m, 3000);
	record(&first, CT_HS, V12, m.b, 1000);
	putn(&flight, h.sh.b, h.sh.n);
	putn(&flight, first.b, first.n);
	record(&flight, CT_HS, V12, m.b + 1000, m.n - 1000);
	putn(&flight, h.shd.b, h.shd.n);
	alert(&a, V12, 2, 43);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &flight);
	cli(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", hex(first.b, first.n));
	expect_str(r.records[0], "Description.Handshake Messages", "encrypted or continued from an earlier record");
	run_free(&r);
}

Test(tls, warning_alerts)
{
	static const struct {
		uint8_t desc;
		int reported;
	} cases[] = {{100, 0}, {112, 0}, {0, 0}, {90, 0}, {42, 1}, {48, 1}};
	struct hs12 h;
	hs12_make(&h, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		client_refuses(&r, &h, 1, cases[i].desc, 443);
		cr_assert_eq(r.n_records, (size_t)cases[i].reported, "warning %u", cases[i].desc);
		if (cases[i].reported)
			expect_str(r.records[0], "Description.Alert Level", "warning");
		else
			cr_assert_eq(event_count(&r, "benign_alert"), 1);
		run_free(&r);
	}
}

/* Alerts that cannot be read are never guessed at. */
Test(tls, encrypted_and_invalid_alerts_give_no_record)
{
	struct hs12 h;
	hs12_make(&h, NULL);
	for (int variant = 0; variant < 4; variant++) {
		struct run r;
		struct conn c;
		struct buf x = {.n = 0};
		uint8_t ccs = 1, enc[26], two[2] = {2, 48}, four[4] = {2, 48, 2, 42}, bad[2] = {3, 48};
		memset(enc, 0x5C, sizeof(enc));
		start(&r);
		conn_open(&c, &r, 443);
		cli(&c, &h.ch);
		srv(&c, &h.flight);
		switch (variant) {
		case 0:       /* after the sender's ChangeCipherSpec: ciphertext */
			record(&x, CT_CCS, V12, &ccs, 1);
			record(&x, CT_ALERT, V12, enc, sizeof(enc));
			break;
		case 1:       /* two bytes, but the sender already encrypts */
			record(&x, CT_CCS, V12, &ccs, 1);
			record(&x, CT_ALERT, V12, two, 2);
			break;
		case 2:       /* not two bytes: ciphertext (the CCS was not seen) */
			record(&x, CT_ALERT, V12, four, 4);
			break;
		case 3:       /* level 3 */
			record(&x, CT_ALERT, V12, bad, 2);
			break;
		}
		cli(&c, &x);
		conn_close(&c);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "variant %d", variant);
		cr_assert_eq(event_count(&r, variant < 3 ? "encrypted_alert" : "invalid_alert"), 1, "variant %d",
			     variant);
		run_free(&r);
	}
}

/* The alert split at every byte, and the whole conversation delivered in
 * two segments cut at every offset: the same one record. */
Test(tls, split_at_every_offset)
{
	struct hs12 h;
	struct buf a = {.n = 0};
	hs12_make(&h, NULL);
	alert(&a, V12, 2, 44);
	for (size_t cut = 1; cut < h.flight.n; cut += (cut < 20 || cut > h.flight.n - 20) ? 1 : 7) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r, 443);
		cli(&c, &h.ch);
		conn_send(&c, 1, h.flight.b, cut, TH_ACK);
		conn_send(&c, 1, h.flight.b + cut, h.flight.n - cut, TH_PSH | TH_ACK);
		/* The alert too, cut at every byte in turn. */
		size_t acut = cut % a.n ? cut % a.n : a.n;
		conn_send(&c, 0, a.b, acut, TH_ACK);
		if (acut < a.n)
			conn_send(&c, 0, a.b + acut, a.n - acut, TH_PSH | TH_ACK);
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "cut at %zu", cut);
		expect_str(r.records[0], "Requester.Transmitted Code", hex(h.cert.b, h.cert.n));
		expect_str(r.records[0], "Responder.Transmitted Code", "1503030002022C");
		run_free(&r);
	}
}

/* An alert cut short is no alert. */
Test(tls, truncated_alert_at_every_offset)
{
	struct hs12 h;
	struct buf a = {.n = 0};
	hs12_make(&h, NULL);
	alert(&a, V12, 2, 48);
	for (size_t cut = 1; cut < a.n; cut++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r, 443);
		cli(&c, &h.ch);
		srv(&c, &h.flight);
		conn_send(&c, 0, a.b, cut, TH_PSH | TH_ACK);
		conn_close(&c);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "cut at %zu", cut);
		run_free(&r);
	}
}

/* The server's flight cut at every offset, then the connection ends: no
 * record, nothing read past the end (ASan). */
Test(tls, truncated_flight_at_every_offset)
{
	struct hs12 h;
	hs12_make(&h, NULL);
	for (size_t cut = 1; cut < h.flight.n; cut++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r, 443);
		cli(&c, &h.ch);
		conn_send(&c, 1, h.flight.b, cut, TH_PSH | TH_ACK);
		conn_close(&c);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "cut at %zu", cut);
		run_free(&r);
	}
}

/* No answer to a handshake record is no error: "10 No Response" never. */
Test(tls, unanswered_handshake_is_no_response_record)
{
	struct run r;
	struct conn c, other;
	struct hs12 h;
	hs12_make(&h, NULL);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	/* Another connection keeps the capture clock going for 2 minutes. */
	conn_open6(&other, &r, "192.0.2.30", DEV, 443);
	other.now = c.now;
	for (int i = 0; i < 24; i++) {
		other.now += 5 * SEC;
		conn_send(&other, 0, NULL, 0, TH_ACK);
	}
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

/* The capture starts after the handshake: an alert without its request. */
Test(tls, alert_without_a_flight)
{
	struct run r;
	struct conn c;
	struct buf a = {.n = 0};
	alert(&a, V12, 2, 80);
	start(&r);
	memset(&c, 0, sizeof(c));
	c.r = &r;
	c.cli = GW;
	c.srv = DEV;
	c.cport = 50000;
	c.sport = 443;
	c.cseq = 77;
	c.sseq = 99;
	c.now = T0;
	srv(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "41");
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	expect_str(r.records[0], "Requester.Unique ID", GW);
	expect_str(r.records[0], "Responder.Unique ID", DEV ":443");
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	run_free(&r);
}

Test(tls, ipv6_unique_ids)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf a = {.n = 0};
	hs12_make(&h, NULL);
	alert(&a, V12, 2, 48);
	start(&r);
	conn_open6(&c, &r, GW6, DEV6, 8443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Unique ID", "[2001:DB8:0:0:0:0:0:20]:8443");
	expect_str(r.records[0], "Responder.Unique ID", "2001:DB8:0:0:0:0:0:10");
	run_free(&r);
}

/* Odd bytes in the server name are not copied into the record. */
Test(tls, server_name_is_sanitised)
{
	struct run r;
	struct hs12 h;
	hs12_make(&h, "a\"b\\c\x01.example");
	client_refuses(&r, &h, 2, 48, 443);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Server Name", "a\"b\\c?.example");
	run_free(&r);
}

/* ---- detection --------------------------------------------------------------- */

Test(tls, found_on_any_port)
{
	static const uint16_t ports[] = {9443, 10443, 5684, 8883};
	struct hs12 h;
	hs12_make(&h, NULL);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		struct run r;
		char uid[32];
		client_refuses(&r, &h, 2, 48, ports[i]);
		cr_assert_eq(r.n_records, 1, "port %u", ports[i]);
		snprintf(uid, sizeof(uid), DEV ":%u", ports[i]);
		expect_str(r.records[0], "Requester.Unique ID", uid);
		run_free(&r);
	}
}

Test(tls, probe)
{
	const struct x1367_dissector *d = X1367_DISSECTOR_ENTRY();
	struct hs12 h;
	hs12_make(&h, NULL);
	cr_assert_eq(d->probe(h.ch.b, h.ch.n, X1367_TO_SERVER), X1367_PROBE_YES);
	cr_assert_eq(d->probe(h.ch.b, h.ch.n, X1367_TO_CLIENT), X1367_PROBE_NO);
	cr_assert_eq(d->probe(h.flight.b, h.flight.n, X1367_TO_CLIENT), X1367_PROBE_YES);
	cr_assert_eq(d->probe(h.flight.b, h.flight.n, X1367_TO_SERVER), X1367_PROBE_NO);
	for (size_t n = 0; n < 11; n++)
		cr_assert_eq(d->probe(h.ch.b, n, X1367_TO_SERVER), X1367_PROBE_MAYBE, "%zu bytes", n);
	cr_assert_eq(d->probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, X1367_TO_SERVER), X1367_PROBE_NO);
	cr_assert_eq(d->probe((const uint8_t *)"\x16\x03\x05", 3, X1367_TO_SERVER), X1367_PROBE_NO);
	cr_assert_eq(d->probe((const uint8_t *)"\x16\x02\x00", 3, X1367_TO_SERVER), X1367_PROBE_NO);
	cr_assert_eq(d->probe((const uint8_t *)"\x16\x03\x01\x00\x00", 5, X1367_TO_SERVER), X1367_PROBE_NO);
	cr_assert_eq(d->probe((const uint8_t *)"\x16\x03\x01\x48\x01", 5, X1367_TO_SERVER), X1367_PROBE_NO);
	cr_assert_eq(d->probe((const uint8_t *)"\x17\x03\x03\x00\x20", 5, X1367_TO_SERVER), X1367_PROBE_NO);
	cr_assert_eq(d->probe((const uint8_t *)"\x16\x03\x01\x00\x20\x01\x00\x00\x1c\x07\x00", 11, X1367_TO_SERVER),
		     X1367_PROBE_NO, "hello version 0x0700");
}

/* ---- garbage, gaps, oversized records ---------------------------------------- */

Test(tls, not_tls_on_443)
{
	struct run r;
	struct conn c;
	struct buf g = {.n = 0}, resp = {.n = 0};
	putn(&g, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	putn(&resp, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &g);
	srv(&c, &resp);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(event_count(&r, "invalid_record"), 2, "one per direction, not one per byte");
	run_free(&r);
}

/* After a bad header, two chained headers bring the stream back. */
Test(tls, garbage_then_records)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf x = {.n = 0};
	hs12_make(&h, NULL);
	putn(&x, "\x15\x03\x03\x00\x02\x02", 6);      /* a truncated alert... */
	putfill(&x, 0xEE, 50);                        /* ...and noise */
	alert(&x, V12, 2, 46);
	alert(&x, V12, 2, 42);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &x);
	run_finish(&r);
	/* 15 03 03 00 02 | 02 EE: level 2, description EE, then bad headers;
	 * resynchronised on the two chained alerts. */
	cr_assert_eq(r.n_records, 3);
	expect_str(r.records[0], "Description.Vendor Code", "EE");
	expect_str(r.records[1], "Description.Vendor Code", "2E");
	expect_str(r.records[2], "Description.Vendor Code", "2A");
	cr_assert_eq(event_count(&r, "invalid_record"), 1);
	run_free(&r);
}

Test(tls, oversized_record_is_malformed)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf x = {.n = 0};
	hs12_make(&h, NULL);
	put8(&x, CT_HS); put16(&x, V12); put16(&x, 16384 + 2048 + 1);
	putfill(&x, 0, 1000);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &x);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(event_count(&r, "invalid_record"), 1);
	run_free(&r);
}

/* The largest record there is, over many segments; then the alert. */
Test(tls, largest_record_over_many_segments)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf m = {.n = 0}, big = {.n = 0}, a = {.n = 0};
	hs12_make(&h, NULL);
	certificate(&m, 16384 + 2048 - 10);
	hs_record(&big, V12, &m);
	cr_assert_eq(big.n, 5 + 16384 + 2048);
	alert(&a, V12, 2, 45);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.sh);
	for (size_t off = 0; off < big.n; off += 1400)
		conn_send(&c, 1, big.b + off, big.n - off < 1400 ? big.n - off : 1400, TH_ACK);
	srv(&c, &h.shd);
	cli(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	/* The Transmitted Code is cut at the engine's cap (1024 bytes). */
	expect_str(r.records[0], "Requester.Transmitted Code", hex(big.b, 1024));
	expect_str(r.records[0], "Description.Handshake Messages", "Certificate");
	run_free(&r);
}

/* Application data of any size is skipped without being buffered whole. */
Test(tls, application_data_is_skipped)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf app = {.n = 0}, a = {.n = 0};
	hs12_make(&h, NULL);
	put8(&app, CT_APP); put16(&app, V12); put16(&app, 16000);
	/* The body's bytes look like alerts: they must not be read as such. */
	for (int i = 0; i < 16000 / 7; i++)
		alert(&app, V12, 2, 48);
	putfill(&app, 0, 16000 - (16000 / 7) * 7);
	alert(&a, V12, 2, 45);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	for (size_t off = 0; off < app.n; off += 1000)
		conn_send(&c, 1, app.b + off, app.n - off < 1000 ? app.n - off : 1000, TH_ACK);
	cli(&c, &a);
	run_finish(&r);
	/* The server's own data answers the client's flight, not its own:
	 * the alert still pairs with the server's Certificate. */
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "21");
	expect_str(r.records[0], "Requester.Transmitted Code", hex(h.cert.b, h.cert.n));
	run_free(&r);
}

/* Bytes lost in the server's stream: resynchronised on chained headers. */
Test(tls, gap_then_resynchronised)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf a = {.n = 0}, more = {.n = 0};
	hs12_make(&h, NULL);
	alert(&a, V12, 2, 48);
	putn(&more, h.cert.b + 20, h.cert.n - 20);    /* the rest of a lost record */
	putn(&more, h.shd.b, h.shd.n);
	putn(&more, h.shd.b, h.shd.n);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.sh);
	c.sseq += 20;                                 /* 20 bytes never captured */
	srv(&c, &more);
	cli(&c, &a);                                  /* acknowledges past the hole */
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", hex(h.shd.b, h.shd.n));
	cr_assert_eq(event_count(&r, "invalid_record"), 0, "a gap is not the sender's error");
	run_free(&r);
}

/* ---- TLS 1.3 ---------------------------------------------------------------------- */

struct hs13 {
	struct buf ch, sh, enc[4], flight;   /* flight: sh + CCS + enc[0..3] */
};

static void app_record(struct buf *o, size_t body, uint8_t fill)
{
	put8(o, CT_APP);
	put16(o, V12);
	put16(o, (unsigned)body);
	putfill(o, fill, body);
}

static void hs13_make(struct hs13 *h, int early_data)
{
	static const size_t sizes[4] = {30, 540, 95, 69};
	struct buf m = {.n = 0};
	uint8_t ccs = 1;
	memset(h, 0, sizeof(*h));
	client_hello(&m, "device1.plant.example", early_data);
	hs_record(&h->ch, V10, &m);
	m.n = 0;
	server_hello(&m, 0x0304);
	hs_record(&h->sh, V12, &m);
	putn(&h->flight, h->sh.b, h->sh.n);
	record(&h->flight, CT_CCS, V12, &ccs, 1);
	for (int i = 0; i < 4; i++) {
		app_record(&h->enc[i], sizes[i], (uint8_t)(0x40 + i));
		putn(&h->flight, h->enc[i].b, h->enc[i].n);
	}
}

static void ccs_then(struct buf *o, size_t body, uint8_t fill)
{
	uint8_t ccs = 1;
	record(o, CT_CCS, V12, &ccs, 1);
	app_record(o, body, fill);
}

/* The client answers the server's encrypted flight with an alert-sized
 * record: the handshake ended before completion. */
Test(tls13, client_aborts_after_the_server_flight)
{
	struct run r;
	struct conn c;
	struct hs13 h;
	struct buf x = {.n = 0}, a = {.n = 0};
	hs13_make(&h, 0);
	ccs_then(&x, 19, 0x77);
	app_record(&a, 19, 0x77);
	start(&r);
	conn_open(&c, &r, 10443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &x);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "2F");
	expect_str(rec, "Error Message", "Other Security Reasons");
	expect_str(rec, "Description.Vendor Code", "FF00");
	expect_str(rec, "Description.Vendor Meaning", "TLS 1.3 handshake ended before completion (alert encrypted)");
	expect_str(rec, "Requester.Unique ID", DEV ":10443");
	expect_str(rec, "Requester.Transmitted Code", hex(h.enc[3].b, h.enc[3].n));
	expect_str(rec, "Responder.Unique ID", GW);
	expect_str(rec, "Responder.Transmitted Code", hex(a.b, a.n));
	expect_str(rec, "Description.TLS Version", "TLS 1.3");
	expect_str(rec, "Description.Alert", "encrypted (19-byte record)");
	expect_str(rec, "Description.Alert Sender", "client");
	expect_str(rec, "Description.Handshake", "ended before completion");
	expect_str(rec, "Description.Handshake Messages", "encrypted (TLS 1.3)");
	cr_assert_eq(event_count(&r, "tls13_handshake_incomplete"), 1);
	run_free(&r);
}

/* The server answers the client's flight (its certificate) with an
 * alert-sized record: Appendix I.2 under TLS 1.3. */
Test(tls13, server_refuses_the_client_flight)
{
	struct run r;
	struct conn c;
	struct hs13 h;
	struct buf x = {.n = 0}, fin = {.n = 0}, a = {.n = 0};
	hs13_make(&h, 0);
	ccs_then(&x, 540, 0x61);                      /* Certificate */
	app_record(&x, 96, 0x62);                     /* CertificateVerify */
	app_record(&fin, 69, 0x63);                   /* Finished */
	putn(&x, fin.b, fin.n);
	app_record(&a, 19, 0x64);
	start(&r);
	conn_open(&c, &r, 10443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &x);
	srv(&c, &a);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "2F");
	expect_str(rec, "Description.Vendor Code", "FF00");
	expect_str(rec, "Requester.Unique ID", GW);
	expect_str(rec, "Requester.Transmitted Code", hex(fin.b, fin.n));
	expect_str(rec, "Responder.Unique ID", DEV ":10443");
	expect_str(rec, "Responder.Transmitted Code", hex(a.b, a.n));
	expect_str(rec, "Description.Alert Sender", "server");
	run_free(&r);
}

/* A complete 1.3 handshake, data both ways, close_notify both ways (each
 * an alert-sized record): nothing to report. */
Test(tls13, completed_handshake_gives_no_record)
{
	for (int ticket = 0; ticket < 2; ticket++) {
		struct run r;
		struct conn c;
		struct hs13 h;
		struct buf x = {.n = 0}, y = {.n = 0}, z = {.n = 0};
		hs13_make(&h, 0);
		ccs_then(&x, 69, 0x50);                       /* Finished */
		if (ticket)
			app_record(&y, 250, 0x51);            /* NewSessionTicket */
		app_record(&z, 30, 0x52);                     /* data */
		start(&r);
		conn_open(&c, &r, 10443);
		cli(&c, &h.ch);
		srv(&c, &h.flight);
		cli(&c, &x);
		if (ticket)
			srv(&c, &y);
		cli(&c, &z);
		srv(&c, &z);
		y.n = 0;
		app_record(&y, 19, 0x53);                     /* close_notify */
		cli(&c, &y);
		srv(&c, &y);
		conn_close(&c);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "ticket %d", ticket);
		run_free(&r);
	}
}

/* The client never says a word after the server's flight: reported when
 * the connection leaves the flow table, at its last packet's time. */
Test(tls13, client_silent_until_the_end)
{
	struct run r;
	struct conn c;
	struct hs13 h;
	hs13_make(&h, 0);
	start(&r);
	conn_open(&c, &r, 10443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Description.Vendor Code", "FF00");
	expect_str(rec, "Responder.Unique ID", GW);
	expect_str(rec, "Responder.Transmitted Code", "");
	expect_str(rec, "Requester.Unique ID", DEV ":10443");
	expect_str(rec, "Requester.Transmitted Code", hex(h.enc[3].b, h.enc[3].n));
	expect_str(rec, "Timestamp", "2024-01-15T09:00:00.008000Z");
	expect_absent(rec, "Description.Alert");
	run_free(&r);
}

/* A 1.3 alert in the clear (no keys yet) is read like any other, and no
 * "ended before completion" is added to it. */
Test(tls13, cleartext_alert_is_read)
{
	struct run r;
	struct conn c;
	struct hs13 h;
	struct buf a = {.n = 0};
	hs13_make(&h, 0);
	alert(&a, V12, 2, 48);
	start(&r);
	conn_open(&c, &r, 10443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &a);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "21");
	expect_str(r.records[0], "Description.TLS Version", "TLS 1.3");
	expect_str(r.records[0], "Requester.Transmitted Code", hex(h.enc[3].b, h.enc[3].n));
	run_free(&r);
}

/* TLS 1.3 ignores the level: a warning unrecognized_name is an error. */
Test(tls13, level_is_ignored)
{
	struct run r;
	struct conn c;
	struct hs13 h;
	struct buf a = {.n = 0};
	hs13_make(&h, 0);
	alert(&a, V12, 1, 112);
	start(&r);
	conn_open(&c, &r, 10443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Vendor Code", "70");
	run_free(&r);
}

/* No inference when 0-RTT data was offered, or after lost bytes. */
Test(tls13, no_inference_with_early_data_or_a_gap)
{
	for (int variant = 0; variant < 2; variant++) {
		struct run r;
		struct conn c;
		struct hs13 h;
		struct buf x = {.n = 0}, head = {.n = 0}, tail = {.n = 0};
		hs13_make(&h, variant == 0);
		ccs_then(&x, 19, 0x77);
		putn(&head, h.flight.b, h.sh.n + 6);
		putn(&tail, h.flight.b + h.sh.n + 6 + 10, h.flight.n - h.sh.n - 6 - 10);
		start(&r);
		conn_open(&c, &r, 10443);
		cli(&c, &h.ch);
		if (variant == 0) {
			srv(&c, &h.flight);
		} else {
			srv(&c, &head);
			c.sseq += 10;                 /* lost */
			srv(&c, &tail);
		}
		cli(&c, &x);
		conn_close(&c);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "variant %d", variant);
		run_free(&r);
	}
}

/* A HelloRetryRequest, a second ClientHello, then the real handshake. */
Test(tls13, hello_retry_then_abort)
{
	struct run r;
	struct conn c;
	struct hs13 h;
	struct buf m = {.n = 0}, hrr = {.n = 0}, x = {.n = 0};
	hs13_make(&h, 0);
	server_hello(&m, 0x0304);
	hs_record(&hrr, V12, &m);
	ccs_then(&x, 19, 0x77);
	start(&r);
	conn_open(&c, &r, 10443);
	cli(&c, &h.ch);
	srv(&c, &hrr);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &x);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Vendor Code", "FF00");
	run_free(&r);
}

/* Only one "ended before completion" per connection. */
Test(tls13, once_per_connection)
{
	struct run r;
	struct conn c;
	struct hs13 h;
	struct buf x = {.n = 0};
	hs13_make(&h, 0);
	ccs_then(&x, 19, 0x77);
	app_record(&x, 19, 0x78);
	start(&r);
	conn_open(&c, &r, 10443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &x);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	run_free(&r);
}

/* TLS 1.2 connection ending after the server's flight: no inference (that
 * is a 1.3 rule; in 1.2 refusals are in the clear). */
Test(tls, tls12_silence_is_no_error)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	hs12_make(&h, NULL);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

/* A lone header-like run inside noise is not trusted: resynchronising
 * wants the next header right after the first. */
Test(tls, lone_header_in_noise_is_not_trusted)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf x = {.n = 0};
	hs12_make(&h, NULL);
	putfill(&x, 0xEE, 20);
	alert(&x, V12, 2, 48);                        /* followed by noise: skipped */
	putfill(&x, 0xEE, 20);
	alert(&x, 0x0302, 2, 48);                     /* a version nobody used here */
	alert(&x, 0x0302, 2, 48);
	putfill(&x, 0xEE, 3);
	alert(&x, V12, 2, 46);
	alert(&x, V12, 2, 42);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &x);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Vendor Code", "2E");
	expect_str(r.records[1], "Description.Vendor Code", "2A");
	run_free(&r);
}

/* An alert answers the peer's latest flight, not an older one that the
 * alert's sender already answered. */
Test(tls, alert_pairs_with_the_latest_flight)
{
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf m = {.n = 0}, cflight = {.n = 0}, sflight = {.n = 0}, fin = {.n = 0}, a = {.n = 0};
	uint8_t ccs = 1, enc[40];
	memset(enc, 0xC3, sizeof(enc));
	hs12_make(&h, NULL);
	hs_msg(&m, 16, "\x20\x01\x02", 3);
	hs_record(&cflight, V12, &m);
	m.n = 0;
	hs_msg(&m, 4, "\x00\x00\x00\x00\x00\x00", 6);  /* NewSessionTicket */
	hs_record(&sflight, V12, &m);
	record(&sflight, CT_CCS, V12, &ccs, 1);
	record(&fin, CT_HS, V12, enc, sizeof(enc));
	putn(&sflight, fin.b, fin.n);
	alert(&a, V12, 2, 42);
	start(&r);
	conn_open(&c, &r, 443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &cflight);
	srv(&c, &sflight);
	cli(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", hex(fin.b, fin.n));
	run_free(&r);
}

/* Without the probe, nDPI's TLS verdict brings the plugin to a port
 * nobody registered. */
Test(tls, found_by_ndpi_without_the_probe)
{
	static struct x1367_dissector no_probe;
	struct run r;
	struct conn c;
	struct hs12 h;
	struct buf a = {.n = 0};
	no_probe = *X1367_DISSECTOR_ENTRY();
	no_probe.probe = NULL;
	hs12_make(&h, "device1.plant.example");
	alert(&a, V12, 2, 48);
	run_start_with(&r, &no_probe);
	conn_open(&c, &r, 9443);
	cli(&c, &h.ch);
	srv(&c, &h.flight);
	cli(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Unique ID", DEV ":9443");
	expect_str(r.records[0], "Requester.Transmitted Code", hex(h.cert.b, h.cert.n));
	run_free(&r);
}
