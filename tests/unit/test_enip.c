/* The EtherNet/IP + CIP plugin, through the whole engine: frames in,
 * records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define CLI "192.0.2.105"
#define PLC "192.0.2.120"
#define CLI_PORT 1093
#define ENIP 44818
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)
#define SESSION 0x12020100u

/* ---- message builder ---------------------------------------------------- */

struct pk {
	uint8_t b[9000];
	size_t n;
};

static void u8(struct pk *p, uint8_t v)
{
	p->b[p->n++] = v;
}

static void le16(struct pk *p, uint16_t v)
{
	u8(p, (uint8_t)v);
	u8(p, (uint8_t)(v >> 8));
}

static void le32(struct pk *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p, (uint16_t)(v >> 16));
}

static void raw(struct pk *p, const char *hex)
{
	p->n += hex_to_bytes(hex, p->b + p->n, sizeof(p->b) - p->n);
}

static void cat(struct pk *p, const struct pk *q)
{
	memcpy(p->b + p->n, q->b, q->n);
	p->n += q->n;
}

/* Encapsulation header (sender context = ctx, little-endian) + body. */
static struct pk encap(uint16_t cmd, uint32_t session, uint32_t status, uint64_t ctx, const struct pk *body)
{
	struct pk m = {.n = 0};
	le16(&m, cmd);
	le16(&m, (uint16_t)(body ? body->n : 0));
	le32(&m, session);
	le32(&m, status);
	le32(&m, (uint32_t)ctx);
	le32(&m, (uint32_t)(ctx >> 32));
	le32(&m, 0);
	if (body)
		cat(&m, body);
	return m;
}

/* SendRRData: interface handle, timeout, null address item, unconnected
 * data item holding the CIP message (hex). */
static struct pk rr(uint64_t ctx, const char *cip)
{
	struct pk c = {.n = 0}, b = {.n = 0};
	raw(&c, cip);
	le32(&b, 0);
	le16(&b, 0);
	le16(&b, 2);
	le16(&b, 0x0000);
	le16(&b, 0);
	le16(&b, 0x00B2);
	le16(&b, (uint16_t)c.n);
	cat(&b, &c);
	return encap(0x006F, SESSION, 0, ctx, &b);
}

/* SendUnitData: connected address item (connection id), connected data
 * item (sequence count + CIP message). */
static struct pk unit(uint32_t conn, uint16_t seq, const char *cip)
{
	struct pk c = {.n = 0}, b = {.n = 0};
	raw(&c, cip);
	le32(&b, 0);
	le16(&b, 0);
	le16(&b, 2);
	le16(&b, 0x00A1);
	le16(&b, 4);
	le32(&b, conn);
	le16(&b, 0x00B1);
	le16(&b, (uint16_t)(c.n + 2));
	le16(&b, seq);
	cat(&b, &c);
	return encap(0x0070, SESSION, 0, 0, &b);
}

static const char *code_of(const struct pk *p)
{
	static char out[2 * sizeof(p->b) + 1];
	for (size_t i = 0; i < p->n; i++)
		snprintf(out + 2 * i, 3, "%02X", p->b[i]);
	out[2 * p->n] = '\0';
	return out;
}

/* ---- running -------------------------------------------------------------- */

static void start(struct run *r, struct conn *c)
{
	run_start_with(r, X1367_DISSECTOR_ENTRY());
	conn_open_at(c, r, CLI, PLC, CLI_PORT, ENIP, T0);
}

static void cpk(struct conn *c, const struct pk *p)
{
	conn_send(c, 0, p->b, p->n, TH_PSH | TH_ACK);
}

static void spk(struct conn *c, const struct pk *p)
{
	conn_send(c, 1, p->b, p->n, TH_PSH | TH_ACK);
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

/* Get_Attribute_Single class 1 instance 1 attribute 7 (Identity, product name). */
#define GAS_ID_7 "0E 03 20 01 24 01 30 07"

/* ---- SendRRData ------------------------------------------------------------ */

Test(enip, sendrrdata_service_not_supported_names_service_path_status)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = rr(0x1111, GAS_ID_7);
	struct pk a = rr(0x1111, "8E 00 08 00");
	cpk(&c, &q);
	spk(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "EtherNet/IP");
	expect_str(rec, "Error Code", "30");
	expect_str(rec, "Requester.Unique ID", CLI);
	expect_str(rec, "Requester.Transmitted Code", code_of(&q));
	expect_str(rec, "Responder.Unique ID", PLC);
	expect_str(rec, "Responder.Transmitted Code", code_of(&a));
	expect_str(rec, "Description.Command", "SendRRData (0x006F)");
	expect_str(rec, "Description.Service", "Get_Attribute_Single (0x0E)");
	expect_str(rec, "Description.Path", "class 0x01, instance 0x01, attribute 0x07");
	expect_str(rec, "Description.General Status", "Service not supported (0x08)");
	expect_str(rec, "Description.Vendor Code", "08");
	expect_str(rec, "Description.Session Handle", "0x12020100");
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

Test(enip, success_is_silent_and_answers_pair_by_sender_context)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q1 = rr(1, GAS_ID_7), q2 = rr(2, "0E 03 20 01 24 01 30 01");
	cpk(&c, &q1);
	cpk(&c, &q2);
	/* Answered out of order: the context says which is which. */
	struct pk a2 = rr(2, "8E 00 14 00"), a1 = rr(1, "8E 00 00 00 41 42");
	spk(&c, &a2);
	spk(&c, &a1);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q2));
	expect_str(r.records[0], "Description.Path", "class 0x01, instance 0x01, attribute 0x01");
	expect_str(r.records[0], "Error Code", "31");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

Test(enip, every_general_status_maps_by_the_rules)
{
	static const struct {
		uint8_t gs;
		const char *x1367;      /* NULL: no record */
	} cases[] = {
		{0x00, NULL}, {0x01, "11"}, {0x02, "42"}, {0x03, "31"}, {0x04, "31"}, {0x05, "31"},
		{0x06, NULL}, {0x07, "11"}, {0x08, "30"}, {0x09, "31"}, {0x0A, "31"}, {0x0B, "3F"},
		{0x0C, "3F"}, {0x0D, "31"}, {0x0E, "31"}, {0x0F, "23"}, {0x10, "3F"}, {0x11, "42"},
		{0x12, "31"}, {0x13, "31"}, {0x14, "31"}, {0x15, "31"}, {0x16, "31"}, {0x17, "3F"},
		{0x18, "3F"}, {0x19, "41"}, {0x1A, "42"}, {0x1B, "42"}, {0x1C, "31"}, {0x1D, "31"},
		{0x1E, "3F"}, {0x1F, "FF"}, {0x20, "31"}, {0x21, "3F"}, {0x22, "11"}, {0x23, "42"},
		{0x24, "31"}, {0x25, "31"}, {0x26, "31"}, {0x27, "31"}, {0x28, "31"}, {0x29, "31"},
		{0x2A, "30"}, {0x2B, "FF"}, {0x2C, "31"}, {0x2D, "3F"}, {0x2E, "30"}, {0x2F, "FF"},
		{0xD0, "FF"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		struct conn c;
		char reply[32];
		start(&r, &c);
		snprintf(reply, sizeof(reply), "8E 00 %02X 00", cases[i].gs);
		struct pk q = rr(7, GAS_ID_7), a = rr(7, reply);
		cpk(&c, &q);
		spk(&c, &a);
		run_finish(&r);
		if (!cases[i].x1367) {
			cr_assert_eq(r.n_records, 0, "status 0x%02X", cases[i].gs);
		} else {
			cr_assert_eq(r.n_records, 1, "status 0x%02X", cases[i].gs);
			expect_str(r.records[0], "Error Code", cases[i].x1367);
		}
		run_free(&r);
	}
}

Test(enip, encapsulation_status_invalid_session)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = rr(9, GAS_ID_7);
	cpk(&c, &q);
	struct pk a = encap(0x006F, SESSION, 0x64, 9, NULL);
	spk(&c, &a);
	/* An unknown command: the target says 0x0001. */
	struct pk q2 = encap(0x0042, 0, 0, 10, NULL), a2 = encap(0x0042, 0, 0x01, 10, NULL);
	cpk(&c, &q2);
	spk(&c, &a2);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "20");
	expect_str(r.records[0], "Description.Vendor Code", "00000064");
	expect_str(r.records[0], "Description.Encapsulation Status", "Invalid session handle (0x00000064)");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q));
	expect_str(r.records[1], "Error Code", "30");
	expect_str(r.records[1], "Description.Command", "Unknown (0x0042)");
	expect_str(r.records[1], "Requester.Transmitted Code", code_of(&q2));
	run_free(&r);
}

/* ---- framing --------------------------------------------------------------- */

Test(enip, several_messages_per_segment_and_one_across_segments)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q1 = rr(1, GAS_ID_7), q2 = rr(2, GAS_ID_7), both = q1;
	cat(&both, &q2);
	cpk(&c, &both);
	struct pk a1 = rr(1, "8E 00 16 00"), a2 = rr(2, "8E 00 05 00"), all = a1;
	cat(&all, &a2);
	/* Three segments: cut inside the first header, inside the second body. */
	conn_send(&c, 1, all.b, 10, TH_ACK);
	conn_send(&c, 1, all.b + 10, a1.n + 5 - 10, TH_ACK);
	conn_send(&c, 1, all.b + a1.n + 5, all.n - a1.n - 5, TH_PSH | TH_ACK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Responder.Transmitted Code", code_of(&a1));
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q1));
	expect_str(r.records[1], "Responder.Transmitted Code", code_of(&a2));
	expect_str(r.records[1], "Requester.Transmitted Code", code_of(&q2));
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

Test(enip, garbage_is_counted_once_and_the_stream_resynchronises)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = rr(3, GAS_ID_7);
	cpk(&c, &q);
	struct pk a0 = rr(3, "8E 00 00 00 01 02");
	spk(&c, &a0);
	struct pk g = {.n = 0};
	for (int i = 0; i < 100; i++)
		u8(&g, (uint8_t)(0xA5 ^ i));
	spk(&c, &g);
	cpk(&c, &q);
	struct pk a = rr(3, "8E 00 0F 00");
	spk(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Responder.Transmitted Code", code_of(&a));
	cr_assert_eq(run_stat(&r, "parse_errors"), 1);
	cr_assert_eq(run_stat(&r, "protocols.enip.events.bad_encapsulation_header"), 1);
	run_free(&r);
}

Test(enip, mid_stream_pick_up_finds_the_next_boundary)
{
	struct run r;
	struct conn c;
	run_start_with(&r, X1367_DISSECTOR_ENTRY());
	/* No handshake: the capture starts inside a firmware chunk. */
	conn_init(&c, &r, CLI, PLC, CLI_PORT, ENIP, T0);
	struct pk big = rr(4, "4D 02 20 A1 24 01");
	for (int i = 0; i < 400; i++)
		u8(&big, 0xFF);
	struct pk tail = {.n = 0};
	memcpy(tail.b, big.b + 37, big.n - 37);
	tail.n = big.n - 37;
	struct pk q = rr(5, "4D 02 20 A1 24 01 00 00"), a = rr(5, "CD 00 01 01 09 09");
	cat(&tail, &q);
	cpk(&c, &tail);
	spk(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "11");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q));
	expect_str(r.records[0], "Description.Service", "Object-specific service (0x4D)");
	expect_str(r.records[0], "Description.Path", "class 0xA1, instance 0x01");
	expect_str(r.records[0], "Description.Extended Status", "0x0909");
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

Test(enip, truncated_answer_reports_nothing)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = rr(6, GAS_ID_7), a = rr(6, "8E 00 08 00");
	cpk(&c, &q);
	conn_send(&c, 1, a.b, a.n - 3, TH_PSH | TH_ACK);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
	/* A CPF whose item runs past the message: malformed, no record. */
	start(&r, &c);
	struct pk bad = rr(8, "8E 00 08 00");
	bad.b[38] = 0x40;                    /* the data item's length */
	cpk(&c, &q);
	spk(&c, &bad);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "protocols.enip.events.malformed_cpf"), 1);
	run_free(&r);
}

Test(enip, unanswered_request_is_no_response_after_the_deadline)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = rr(0x77, GAS_ID_7);
	cpk(&c, &q);
	c.now += 6 * SEC;
	struct pk q2 = rr(0x78, GAS_ID_7), a2 = rr(0x78, "8E 00 00 00 00");
	cpk(&c, &q2);
	spk(&c, &a2);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(&q));
	expect_str(r.records[0], "Responder.Transmitted Code", "");
	expect_str(r.records[0], "Description.Service", "Get_Attribute_Single (0x0E)");
	run_free(&r);
}

/* ---- Multiple Service Packet and Unconnected Send --------------------------- */

/* MSP to the Message Router holding three Get_Attribute_Single requests. */
static struct pk msp_request(uint64_t ctx)
{
	return rr(ctx, "0A 02 20 02 24 01"
		       " 03 00 08 00 10 00 18 00"
		       " 0E 03 20 01 24 01 30 01"
		       " 0E 03 20 01 24 01 30 63"
		       " 0E 03 20 04 24 07 30 03");
}

Test(enip, multiple_service_packet_names_every_failed_service)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = msp_request(0x21);
	/* Outer 0x1E; replies: ok, 0x14, 0x05. */
	struct pk a = rr(0x21, "8A 00 1E 00"
			       " 03 00 08 00 0E 00 12 00"
			       " 8E 00 00 00 01 00"
			       " 8E 00 14 00"
			       " 8E 00 05 00");
	cpk(&c, &q);
	spk(&c, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "3F");
	expect_str(rec, "Description.Vendor Code", "1E");
	expect_str(rec, "Description.Service", "Multiple_Service_Packet (0x0A)");
	expect_str(rec, "Description.Embedded Services", "3");
	expect_str(rec, "Description.Failed Services", "2 of 3");
	expect_str(rec, "Description.Failures",
		   "#2 Get_Attribute_Single (0x0E) class 0x01, instance 0x01, attribute 0x63: "
		   "Attribute not supported (0x14); "
		   "#3 Get_Attribute_Single (0x0E) class 0x04, instance 0x07, attribute 0x03: "
		   "Path destination unknown (0x05)");
	run_free(&r);
}

Test(enip, multiple_service_packet_with_status_0_takes_the_first_failure)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk q = msp_request(0x22);
	struct pk a = rr(0x22, "8A 00 00 00"
			       " 03 00 08 00 0C 00 12 00"
			       " 8E 00 00 00"
			       " 8E 00 00 00 01 00"
			       " 8E 00 0F 00");
	cpk(&c, &q);
	spk(&c, &a);
	/* All embedded replies succeed: nothing. */
	struct pk q2 = msp_request(0x23);
	struct pk a2 = rr(0x23, "8A 00 00 00 03 00 08 00 0C 00 10 00 8E 00 00 00 8E 00 00 00 8E 00 00 00");
	cpk(&c, &q2);
	spk(&c, &a2);
	/* Garbled offsets: malformed embedded replies are not invented errors. */
	struct pk q3 = msp_request(0x24);
	struct pk a3 = rr(0x24, "8A 00 00 00 03 00 FF 7F 0C 00 10 00 8E 00 00 00");
	cpk(&c, &q3);
	spk(&c, &a3);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Description.Vendor Code", "0F");
	expect_str(r.records[0], "Description.Failed Services", "1 of 3");
	run_free(&r);
}

Test(enip, unconnected_send_is_opened_up)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	/* Unconnected Send to the Connection Manager: embedded
	 * Get_Attribute_Single class 1 inst 1 attr 7, route port 1 link 2. */
	struct pk q = rr(0x31, "52 02 20 06 24 01 0A 05 08 00 " GAS_ID_7 " 01 00 01 02");
	struct pk a = rr(0x31, "D2 00 01 01 04 02");
	cpk(&c, &q);
	spk(&c, &a);
	/* Routed and refused by the target: the embedded service's reply. */
	struct pk q2 = rr(0x32, "52 02 20 06 24 01 0A 05 08 00 " GAS_ID_7 " 01 00 01 02");
	struct pk a2 = rr(0x32, "8E 00 16 00");
	cpk(&c, &q2);
	spk(&c, &a2);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "11");
	expect_str(r.records[0], "Description.Service", "Get_Attribute_Single (0x0E)");
	expect_str(r.records[0], "Description.Path", "class 0x01, instance 0x01, attribute 0x07");
	expect_str(r.records[0], "Description.Unconnected Send", "route port 1 link 2");
	expect_str(r.records[0], "Description.Extended Status", "0x0204 (Unconnected request timed out)");
	expect_str(r.records[1], "Error Code", "31");
	expect_str(r.records[1], "Description.General Status", "Object does not exist (0x16)");
	run_free(&r);
}

/* ---- connected messaging ------------------------------------------------------ */

Test(enip, sendunitdata_pairs_by_connection_and_sequence_count)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	/* Forward_Open answered: O->T 0x11111111, T->O 0x22222222. */
	struct pk fo = rr(0x40, "54 02 20 06 24 01 0A 05 00 00 00 00 00 00 00 00 01 00");
	struct pk foa = rr(0x40, "D4 00 00 00 11 11 11 11 22 22 22 22 01 00 00 00 00 00 00 00");
	cpk(&c, &fo);
	spk(&c, &foa);
	/* Two connected requests with sequence counts 5 and 6. */
	struct pk q5 = unit(0x11111111, 5, GAS_ID_7), q6 = unit(0x11111111, 6, "0E 03 20 01 24 01 30 02");
	cpk(&c, &q5);
	cpk(&c, &q6);
	/* An answer on a connection id this Forward_Open did not give: no
	 * request of it is open (the one open has another connection). */
	struct pk stray = unit(0x33333333, 6, "8E 00 08 00");
	spk(&c, &stray);
	struct pk a6 = unit(0x22222222, 6, "8E 00 14 00"), a5 = unit(0x22222222, 5, "8E 00 00 00 00");
	spk(&c, &a6);
	spk(&c, &a5);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	/* The stray answer: without request, one record. */
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	expect_str(r.records[1], "Requester.Transmitted Code", code_of(&q6));
	expect_str(r.records[1], "Description.Sequence Count", "6");
	expect_str(r.records[1], "Description.Connection ID", "0x11111111");
	expect_str(r.records[1], "Error Code", "31");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 1);
	cr_assert_eq(run_stat(&r, "transactions.answered"), 3);
	run_free(&r);
}

/* ---- UDP ----------------------------------------------------------------------- */

Test(enip, udp_list_identity_broadcast_never_times_out)
{
	struct run r;
	static struct frame f;
	run_start_with(&r, X1367_DISSECTOR_ENTRY());
	struct pk li = encap(0x0063, 0, 0, 0x55, NULL);
	build_udp(&f, CLI, 2222, "255.255.255.255", ENIP, li.b, li.n);
	f.ts_usec = T0;
	run_frame(&r, &f);
	struct pk later = encap(0x0063, 0, 0, 0x56, NULL);
	build_udp(&f, CLI, 2222, "192.0.2.255", ENIP, later.b, later.n);
	f.ts_usec = T0 + 20 * SEC;
	run_frame(&r, &f);
	/* A garbage datagram is a parse error, nothing more. */
	build_udp(&f, CLI, 2222, PLC, ENIP, "\x01\x02\x03", 3);
	f.ts_usec = T0 + 21 * SEC;
	run_frame(&r, &f);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "transactions.no_response"), 0);
	cr_assert_eq(run_stat(&r, "parse_errors"), 1);
	run_free(&r);
}

/* ---- Logix tag services ------------------------------------------------------- */

Test(enip, read_tag_names_the_tag_and_its_member)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	/* Read Tag (0x4C) "Conveyor.Speed": two ANSI extended symbols, the
	 * second padded to a word; one element. */
	struct pk q = rr(0x51, "4C 09 91 08 43 6F 6E 76 65 79 6F 72 91 05 53 70 65 65 64 00 01 00");
	struct pk a = rr(0x51, "CC 00 04 01 00 00");
	cpk(&c, &q);
	spk(&c, &a);
	/* 0x4C on a class path is no tag service: named by its code only. */
	struct pk q2 = rr(0x52, "4C 02 20 A1 24 01"), a2 = rr(0x52, "CC 00 08 00");
	cpk(&c, &q2);
	spk(&c, &a2);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Service", "Read Tag (0x4C)");
	expect_str(r.records[0], "Description.Path", "symbol Conveyor.Speed");
	expect_str(r.records[0], "Description.Extended Status", "0x0000");
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[1], "Description.Service", "Object-specific service (0x4C)");
	run_free(&r);
}
