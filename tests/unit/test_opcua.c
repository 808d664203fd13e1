/* The OPC UA plugin, through the whole engine: frames in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "helpers.h"

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define CLI "192.0.2.12"
#define SRV "192.0.2.11"
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)
#define NONE "http://opcfoundation.org/UA/SecurityPolicy#None"

/* ---- message builder ----------------------------------------------------- */

struct pk {
	uint8_t b[40000];
	size_t n;
};

static void u8(struct pk *p, uint8_t v)
{
	p->b[p->n++] = v;
}

static void u16(struct pk *p, uint16_t v)
{
	u8(p, (uint8_t)v);
	u8(p, (uint8_t)(v >> 8));
}

static void u32(struct pk *p, uint32_t v)
{
	u16(p, (uint16_t)v);
	u16(p, (uint16_t)(v >> 16));
}

static void zeros(struct pk *p, size_t n)
{
	memset(p->b + p->n, 0, n);
	p->n += n;
}

static void str(struct pk *p, const char *s)
{
	if (!s) {
		u32(p, 0xFFFFFFFFu);
		return;
	}
	u32(p, (uint32_t)strlen(s));
	memcpy(p->b + p->n, s, strlen(s));
	p->n += strlen(s);
}

static void bytes(struct pk *p, const struct pk *q)
{
	memcpy(p->b + p->n, q->b, q->n);
	p->n += q->n;
}

/* FourByte NodeId of namespace 0. */
static void type_id(struct pk *p, uint16_t id)
{
	u8(p, 1);
	u8(p, 0);
	u16(p, id);
}

static void string_node(struct pk *p, uint16_t ns, const char *s)
{
	u8(p, 3);
	u16(p, ns);
	str(p, s);
}

static void request_header(struct pk *p, uint32_t handle)
{
	u8(p, 0);                      /* authentication token: TwoByte i=0 */
	u8(p, 0);
	zeros(p, 8);                   /* timestamp */
	u32(p, handle);
	u32(p, 0);                     /* return diagnostics */
	str(p, NULL);                  /* audit entry id */
	u32(p, 10000);                 /* timeout hint */
	u8(p, 0);                      /* additional header: null ExtensionObject */
	u8(p, 0);
	u8(p, 0);
}

static void response_header(struct pk *p, uint32_t handle, uint32_t result)
{
	zeros(p, 8);
	u32(p, handle);
	u32(p, result);
	u8(p, 0);                      /* diagnostic info: empty */
	u32(p, 0xFFFFFFFFu);           /* string table: null */
	u8(p, 0);
	u8(p, 0);
	u8(p, 0);
}

/* Chunk header, then the rest; the size is patched in. */
static struct pk *frame(const char *type, char chunk, const struct pk *rest)
{
	static struct pk out;
	out.n = 0;
	memcpy(out.b, type, 3);
	out.b[3] = (uint8_t)chunk;
	out.n = 4;
	u32(&out, (uint32_t)(8 + rest->n));
	bytes(&out, rest);
	return &out;
}

static struct pk *hel(const char *url)
{
	static struct pk r;
	r.n = 0;
	u32(&r, 0);
	u32(&r, 65536);
	u32(&r, 65536);
	u32(&r, 0);
	u32(&r, 0);
	str(&r, url);
	return frame("HEL", 'F', &r);
}

static struct pk *ack(void)
{
	static struct pk r;
	r.n = 0;
	u32(&r, 0);
	for (int i = 0; i < 4; i++)
		u32(&r, 65536);
	return frame("ACK", 'F', &r);
}

static struct pk *err(uint32_t code, const char *reason)
{
	static struct pk r;
	r.n = 0;
	u32(&r, code);
	str(&r, reason);
	return frame("ERR", 'F', &r);
}

static struct pk *opn(const char *policy, uint32_t chan, uint32_t rid, int response, uint32_t result)
{
	static struct pk r;
	r.n = 0;
	u32(&r, chan);
	str(&r, policy);
	str(&r, NULL);
	str(&r, NULL);
	u32(&r, 1);                    /* sequence number */
	u32(&r, rid);
	if (strcmp(policy, NONE)) {
		for (int i = 0; i < 64; i++)   /* ciphertext */
			u8(&r, (uint8_t)(0x80 + i));
	} else if (response) {
		type_id(&r, 449);
		response_header(&r, 0, result);
		u32(&r, 0);
	} else {
		type_id(&r, 446);
		request_header(&r, 0);
	}
	return frame("OPN", 'F', &r);
}

/* MSG chunk: channel 7, token 1, sequence, request id, body. */
static struct pk *msg(char chunk, uint32_t rid, const struct pk *body)
{
	static struct pk r;
	r.n = 0;
	u32(&r, 7);
	u32(&r, 1);
	u32(&r, rid + 100);
	u32(&r, rid);
	bytes(&r, body);
	return frame("MSG", chunk, &r);
}

static struct pk *read_request(uint32_t handle, const char *const *nodes, size_t n)
{
	static struct pk b;
	b.n = 0;
	type_id(&b, 631);
	request_header(&b, handle);
	zeros(&b, 8);                  /* max age */
	u32(&b, 2);                    /* timestamps to return: both */
	u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		string_node(&b, 1, nodes[i]);
		u32(&b, 13);           /* Value */
		str(&b, NULL);
		u16(&b, 0);
		str(&b, NULL);
	}
	return &b;
}

/* ReadResponse: each result a DataValue with a StatusCode (0: value only). */
static struct pk *read_response(uint32_t handle, uint32_t result, const uint32_t *codes, size_t n)
{
	static struct pk b;
	b.n = 0;
	type_id(&b, 634);
	response_header(&b, handle, result);
	u32(&b, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		if (codes[i]) {
			u8(&b, 0x02);
			u32(&b, codes[i]);
		} else {
			u8(&b, 0x01);  /* Double 21.5 */
			u8(&b, 11);
			zeros(&b, 8);
		}
	}
	u32(&b, 0);                    /* diagnostic infos */
	return &b;
}

static struct pk *service_fault(uint32_t handle, uint32_t result)
{
	static struct pk b;
	b.n = 0;
	type_id(&b, 397);
	response_header(&b, handle, result);
	return &b;
}

/* ---- running ---------------------------------------------------------------- */

static void start(struct run *r, struct conn *c)
{
	run_start_with(r, X1367_DISSECTOR_ENTRY());
	conn_open_at(c, r, CLI, SRV, 50000, 4840, T0);
}

static void cpk(struct conn *c, const struct pk *p)
{
	conn_send(c, 0, p->b, p->n, TH_PSH | TH_ACK);
}

static void spk(struct conn *c, const struct pk *p)
{
	conn_send(c, 1, p->b, p->n, TH_PSH | TH_ACK);
}

/* HEL/ACK and a plaintext secure channel. */
static void handshake(struct conn *c)
{
	cpk(c, hel("opc.tcp://plc:4840/ua"));
	spk(c, ack());
	struct pk q = *opn(NONE, 0, 1, 0, 0);
	cpk(c, &q);
	spk(c, opn(NONE, 7, 1, 1, 0));
}

static const char *code_of(const struct pk *p)
{
	static char out[2 * 40000 + 1];
	for (size_t i = 0; i < p->n; i++)
		snprintf(out + 2 * i, 3, "%02X", p->b[i]);
	out[2 * p->n] = '\0';
	return out;
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

/* ---- tests ------------------------------------------------------------------- */

Test(opcua, read_of_unknown_node_is_one_record_naming_the_node)
{
	static const char *const nodes[] = {"NoSuchNode", "Setpoint", "Gone"};
	static const uint32_t codes[] = {0x80340000u, 0, 0x803A0000u};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 5, read_request(9, nodes, 3)));
	struct pk a = *msg('F', 5, read_response(9, 0, codes, 3));
	spk(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "OPC UA");
	expect_str(rec, "Error Code", "31");
	expect_str(rec, "Responder.Unique ID", SRV);
	expect_str(rec, "Responder.Transmitted Code", code_of(&a));
	expect_str(rec, "Description.Service", "Read");
	expect_str(rec, "Description.Node Ids", "ns=1;s=NoSuchNode, ns=1;s=Setpoint, ns=1;s=Gone");
	expect_str(rec, "Description.StatusCode", "BadNodeIdUnknown (0x80340000)");
	expect_str(rec, "Description.Bad Results", "2 of 3: BadNodeIdUnknown, BadNotReadable");
	expect_str(rec, "Description.First Bad Node Id", "ns=1;s=NoSuchNode");
	expect_str(rec, "Description.Vendor Code", "80340000");
	expect_str(rec, "Description.Endpoint URL", "opc.tcp://plc:4840/ua");
	expect_str(rec, "Description.Request Id", "5");
	run_free(&r);
}

Test(opcua, good_and_uncertain_results_are_no_error)
{
	static const char *const nodes[] = {"A", "B"};
	static const uint32_t codes[] = {0x40000000u, 0x00A80000u};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 5, read_request(9, nodes, 2)));
	spk(&c, msg('F', 5, read_response(9, 0x40000000u, codes, 2)));
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "transactions.answered"), 3);
	run_free(&r);
}

Test(opcua, service_fault_maps_by_status_code)
{
	static const char *const nodes[] = {"A"};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 6, read_request(3, nodes, 1)));
	spk(&c, msg('F', 6, service_fault(3, 0x80560000u)));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "42");
	expect_str(r.records[0], "Description.Response", "ServiceFault");
	expect_str(r.records[0], "Description.Vendor Meaning", "BadTooManySessions");
	run_free(&r);
}

Test(opcua, err_answers_the_last_request_with_its_reason)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = *hel("opc.tcp://plc:4840/nowhere");
	cpk(&c, &q);
	spk(&c, err(0x80830000u, "endpoint url"));   /* BadTcpEndpointUrlInvalid */
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q));
	expect_str(r.records[0], "Description.Reason", "endpoint url");
	expect_str(r.records[0], "Description.Response", "ERR");
	run_free(&r);
}

/* A response in three chunks, the Bad result in the last one, the
 * chunks cut across segments: one record, its Transmitted Code all three. */
Test(opcua, chunks_are_reassembled)
{
	static const char *const nodes[] = {"A", "B", "C", "D"};
	static const uint32_t codes[] = {0, 0, 0, 0x803B0000u};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 8, read_request(1, nodes, 4)));
	struct pk body = *read_response(1, 0, codes, 4), part, wire = {.n = 0};
	size_t cut[] = {0, 30, 50, body.n};
	for (int i = 0; i < 3; i++) {
		part.n = cut[i + 1] - cut[i];
		memcpy(part.b, body.b + cut[i], part.n);
		bytes(&wire, msg(i < 2 ? 'C' : 'F', 8, &part));
	}
	/* Segments that do not follow chunk boundaries. */
	conn_send(&c, 1, wire.b, 20, TH_ACK);
	conn_send(&c, 1, wire.b + 20, 60, TH_ACK);
	conn_send(&c, 1, wire.b + 80, wire.n - 80, TH_PSH | TH_ACK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Responder.Transmitted Code", code_of(&wire));
	expect_str(r.records[0], "Description.First Bad Index", "3");
	expect_str(r.records[0], "Description.First Bad Node Id", "ns=1;s=D");
	run_free(&r);
}

/* A message in more chunks than are held: judged from its head, the rest
 * skipped, counted. */
Test(opcua, too_many_chunks_are_bounded_and_counted)
{
	static const char *const nodes[] = {"A"};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 8, read_request(1, nodes, 1)));
	struct pk head = *read_response(1, 0x80020000u, NULL, 0);
	head.n -= 8;                           /* results and diagnostics: later chunks */
	spk(&c, msg('C', 8, &head));
	struct pk filler = {.n = 0};
	zeros(&filler, 4000);
	for (int i = 0; i < 80; i++)
		spk(&c, msg('C', 8, &filler));
	spk(&c, msg('F', 8, &filler));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "41");   /* BadInternalError */
	cr_assert_geq(run_stat(&r, "protocols.opcua.events.message_truncated"), 1);
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

/* A response cut short by the end of the capture: no record, nothing
 * invented from the half that came. */
Test(opcua, truncated_response_gives_nothing)
{
	static const char *const nodes[] = {"A"};
	static const uint32_t codes[] = {0x80340000u};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 5, read_request(9, nodes, 1)));
	struct pk a = *msg('F', 5, read_response(9, 0, codes, 1));
	conn_send(&c, 1, a.b, a.n - 6, TH_PSH | TH_ACK);
	run_finish(&r);
	for (size_t i = 0; i < r.n_records; i++)
		cr_assert_str_neq(record_get(r.records[i], "Error Code"), "31");
	run_free(&r);
}

/* Garbage: counted as malformed once, then the parser finds the next
 * chunk header and goes on. */
Test(opcua, garbage_then_resync)
{
	static const char *const nodes[] = {"A"};
	static const uint32_t codes[] = {0x80340000u};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	conn_send_hex(&c, 0, "de ad be ef 00 11 22 33 44 55 66 77 88");
	cpk(&c, msg('F', 5, read_request(9, nodes, 1)));
	spk(&c, msg('F', 5, read_response(9, 0, codes, 1)));
	conn_send_hex(&c, 1, "4d 53 47 46 ff ff ff ff");   /* size 4 GiB - 1 */
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	cr_assert_eq(run_stat(&r, "protocols.opcua.events.bad_chunk_header"), 2);
	run_free(&r);
}

/* SignAndEncrypt: the channel is counted, nothing in its MSG bodies is
 * read, even bytes that would decode as a ServiceFault in the clear. */
Test(opcua, encrypted_channel_is_counted_and_never_judged)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	cpk(&c, hel("opc.tcp://plc:4840/ua"));
	spk(&c, ack());
	const char *policy = "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256";
	cpk(&c, opn(policy, 0, 1, 0, 0));
	spk(&c, opn(policy, 7, 1, 1, 0));
	static const char *const nodes[] = {"A"};
	cpk(&c, msg('F', 5, read_request(9, nodes, 1)));
	spk(&c, msg('F', 5, service_fault(9, 0x80340000u)));
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "protocols.opcua.events.encrypted_channel"), 1);
	cr_assert_eq(run_stat(&r, "protocols.opcua.events.encrypted_message"), 2);
	run_free(&r);
}

/* An ERR on an encrypted channel is visible and judged: it answers the
 * OpenSecureChannel (21: certificate untrusted). */
Test(opcua, err_on_encrypted_open_is_reported)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	cpk(&c, hel("opc.tcp://plc:4840/ua"));
	spk(&c, ack());
	cpk(&c, opn("http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256", 0, 1, 0, 0));
	spk(&c, err(0x801A0000u, "certificate untrusted"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "21");
	expect_str(r.records[0], "Description.Service", "OpenSecureChannel");
	run_free(&r);
}

Test(opcua, unanswered_request_is_no_response)
{
	static const char *const nodes[] = {"A"};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 5, read_request(9, nodes, 1)));
	c.now += 12 * SEC;
	conn_send(&c, 0, NULL, 0, TH_ACK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Service", "Read");
	run_free(&r);
}

Test(opcua, probe_claims_a_hel_on_another_port)
{
	const struct x1367_dissector *d = X1367_DISSECTOR_ENTRY();
	struct pk h = *hel("opc.tcp://plc:4841/ua");
	cr_assert_eq(d->probe(h.b, h.n, X1367_TO_SERVER), X1367_PROBE_YES);
	cr_assert_eq(d->probe(h.b, 3, X1367_TO_SERVER), X1367_PROBE_MAYBE);
	cr_assert_eq(d->probe(h.b, h.n, X1367_TO_CLIENT), X1367_PROBE_NO);
	cr_assert_eq(d->probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, X1367_TO_SERVER), X1367_PROBE_NO);
	h.b[8] = 1;                            /* protocol version 1 */
	cr_assert_eq(d->probe(h.b, h.n, X1367_TO_SERVER), X1367_PROBE_NO);
}

/* Detection by content: a HEL on a port no dissector owns. */
Test(opcua, hel_on_another_port_is_found_by_probe)
{
	static const char *const nodes[] = {"A"};
	static const uint32_t codes[] = {0x80340000u};
	struct run r;
	struct conn c;
	run_start_with(&r, X1367_DISSECTOR_ENTRY());
	conn_open_at(&c, &r, CLI, SRV, 50000, 48010, T0);
	handshake(&c);
	cpk(&c, msg('F', 5, read_request(9, nodes, 1)));
	spk(&c, msg('F', 5, read_response(9, 0, codes, 1)));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Responder Port", "48010");
	run_free(&r);
}

/* A response the server gives up on after two chunks: the Abort chunk's
 * own Error is the code, paired with the request. */
Test(opcua, abort_chunk_after_intermediate_chunks)
{
	static const char *const nodes[] = {"A"};
	static const uint32_t codes[] = {0};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 5, read_request(9, nodes, 1)));
	struct pk first = *read_response(9, 0, codes, 1), wire = {.n = 0}, ab = {.n = 0};
	bytes(&wire, msg('C', 5, &first));
	u32(&ab, 0x80B90000u);                         /* BadResponseTooLarge */
	str(&ab, "too large");
	bytes(&wire, msg('A', 5, &ab));
	spk(&c, &wire);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "42");
	expect_str(r.records[0], "Description.Response", "Abort chunk");
	expect_str(r.records[0], "Description.Reason", "too large");
	expect_str(r.records[0], "Description.Service", "Read");
	run_free(&r);
}

/* Every Bad code rules/opcua.map names, as a ServiceFault: one record
 * each, with the table's X.1367 code, and the plugin's own name for the
 * code is the one the table gives (the two lists are one list). */
Test(opcua, every_bad_code_of_the_table_maps_and_is_named_alike)
{
	static const char *const nodes[] = {"A"};
	static struct {
		uint32_t code;
		char x1367[8], name[80];
	} rows[300];
	size_t n = 0;
	char path[512], line[512];
	const char *top = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/rules/opcua.map", top ? top : ".");
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	while (fgets(line, sizeof(line), f) && n < 300) {
		char vendor[32], x[8], name[80];
		if (sscanf(line, "opcua %31s %7s %79s", vendor, x, name) != 3 || strlen(vendor) != 8 ||
		    strchr(vendor, '/') || !strcmp(x, "-"))
			continue;
		uint32_t code = (uint32_t)strtoul(vendor, NULL, 16);
		if (code & 0xFFFF)             /* the ActivateSession context row */
			continue;
		rows[n].code = code;
		snprintf(rows[n].x1367, sizeof(rows[n].x1367), "%s", x);
		snprintf(rows[n].name, sizeof(rows[n].name), "%s", name);
		n++;
	}
	fclose(f);
	cr_assert_gt(n, 200, "only %zu Bad rows", n);
	cr_assert_leq(n, RUN_MAX_RECORDS);

	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	for (size_t i = 0; i < n; i++) {
		cpk(&c, msg('F', (uint32_t)(10 + i), read_request((uint32_t)i, nodes, 1)));
		spk(&c, msg('F', (uint32_t)(10 + i), service_fault((uint32_t)i, rows[i].code | 0x0400)));
	}
	run_finish(&r);
	cr_assert_eq(r.n_records, n);
	for (size_t i = 0; i < n; i++) {
		char want[128];
		snprintf(want, sizeof(want), "%s (0x%08X)", rows[i].name, rows[i].code | 0x0400);
		expect_str(r.records[i], "Error Code", rows[i].x1367);
		expect_str(r.records[i], "Description.StatusCode", want);
	}
	run_free(&r);
}

static struct pk *activate_request(uint32_t handle, const char *user, const char *password)
{
	static struct pk b;
	struct pk tok = {.n = 0};
	b.n = 0;
	type_id(&b, 467);
	request_header(&b, handle);
	str(&b, NULL);                 /* client signature */
	str(&b, NULL);
	u32(&b, 0);                    /* software certificates */
	u32(&b, 0);                    /* locale ids */
	str(&tok, "username_basic256");
	str(&tok, user);
	str(&tok, password);
	str(&tok, NULL);               /* encryption algorithm */
	type_id(&b, 324);              /* UserNameIdentityToken */
	u8(&b, 1);
	u32(&b, (uint32_t)tok.n);
	bytes(&b, &tok);
	str(&b, NULL);                 /* user token signature */
	str(&b, NULL);
	return &b;
}

/* BadUserAccessDenied: a refused identity when it answers ActivateSession
 * (20, vendor code 801F01D3), a refused operation anywhere else (23). */
Test(opcua, user_access_denied_depends_on_the_service)
{
	static const char *const nodes[] = {"A"};
	struct run r;
	struct conn c;
	start(&r, &c);
	handshake(&c);
	cpk(&c, msg('F', 5, activate_request(4, "bob", "hunter2")));
	spk(&c, msg('F', 5, service_fault(4, 0x801F0000u)));
	cpk(&c, msg('F', 6, read_request(5, nodes, 1)));
	spk(&c, msg('F', 6, service_fault(5, 0x801F0000u)));
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "20");
	expect_str(r.records[0], "Description.Vendor Code", "801F01D3");
	expect_str(r.records[0], "Description.Identity Token", "UserName");
	expect_str(r.records[0], "Description.User Name", "bob");
	cr_assert_null(strstr(r.records[0], "hunter2"), "the password leaked: %s", r.records[0]);
	expect_str(r.records[1], "Error Code", "23");
	expect_str(r.records[1], "Description.Vendor Code", "801F0000");
	run_free(&r);
}
