/* The S7comm plugin, through the whole engine: frames in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define CLI "192.0.2.10"
#define PLC "192.0.2.40"
#define CLI_PORT 49200
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

/* ---- packets ------------------------------------------------------------- */

struct pk {
	uint8_t b[8192];
	size_t n;
};

/* An S7 PDU (hex) in a TPKT and a class 0 COTP DT with EOT. */
static struct pk tp(const char *s7hex)
{
	struct pk p;
	size_t n = hex_to_bytes(s7hex, p.b + 7, sizeof(p.b) - 7);
	p.n = n + 7;
	p.b[0] = 3;
	p.b[1] = 0;
	p.b[2] = (uint8_t)(p.n >> 8);
	p.b[3] = (uint8_t)p.n;
	p.b[4] = 2;
	p.b[5] = 0xF0;
	p.b[6] = 0x80;
	return p;
}

static const char *hex_of(const struct pk *p)
{
	static char out[2 * sizeof(p->b) + 1];
	for (size_t i = 0; i < p->n; i++)
		snprintf(out + 2 * i, 3, "%02X", p->b[i]);
	out[2 * p->n] = '\0';
	return out;
}

/* COTP Connect Request naming TSAP 01 02 (PG, rack 0, slot 2), and the
 * Connect Confirm. */
#define CR "03 00 00 16 11 E0 00 00 00 0F 00 C1 02 01 00 C2 02 01 02 C0 01 0A"
#define CC "03 00 00 16 11 D0 00 0F 00 03 00 C0 01 0A C1 02 01 00 C2 02 01 02"

/* Read Var, PDU reference 0x0100: DB1.DBX 10.0 BYTE 4, M 5.0 BYTE 2, I 0.3 BIT 1. */
#define READ_VAR "32 01 0000 0100 0026 0000 04 03" \
	" 12 0A 10 02 0004 0001 84 000050" \
	" 12 0A 10 02 0002 0000 83 000028" \
	" 12 0A 10 01 0001 0000 81 000003"
/* Its answer: item 1 read, item 2 invalid address, item 3 does not exist. */
#define READ_VAR_ANSWER "32 03 0000 0100 0002 0010 0000 04 03" \
	" FF 04 0020 DEADBEEF  05 00 0000  0A 00 0000"
#define READ_VAR_OK "32 03 0000 0100 0002 0010 0000 04 03" \
	" FF 04 0020 DEADBEEF  FF 04 0010 0102  FF 03 0001 01"
/* Start upload of DB 1, PDU reference 0x0200, and an Ack with D209. */
#define START_UPLOAD "32 01 0000 0200 0012 0000 1D 00 0000 00000000 09 5F3041303030303150"
#define ACK_D209 "32 02 0000 0200 0000 0000 D2 09"
/* Read SZL 0x0C91 index 0x7FFF, PDU reference 0x0C00, refused with D402. */
#define SZL_REQ "32 07 0000 0C00 0008 0008 00 01 12 04 11 44 01 00 FF 09 0004 0C91 7FFF"
#define SZL_D402 "32 07 0000 0C00 000C 0004 00 01 12 08 12 84 01 01 00 00 D4 02 0A 00 0000"
/* PLC password, PDU reference 0x0600, refused (D602) or accepted. */
#define PW_REQ "32 07 0000 0600 0008 000C 00 01 12 04 11 45 01 00 FF 09 0008 213A1B1D6E681B1D"
#define PW_WRONG "32 07 0000 0600 000C 0004 00 01 12 08 12 85 01 01 00 00 D6 02 0A 00 0000"
#define PW_OK "32 07 0000 0600 000C 0004 00 01 12 08 12 85 01 01 00 00 00 00 0A 00 0000"

/* ---- one connection ---------------------------------------------------------- */

static void start(struct run *r)
{
	run_start_with(r, X1367_DISSECTOR_ENTRY());
}

static void conn_open(struct conn *c, struct run *r)
{
	conn_open_at(c, r, CLI, PLC, CLI_PORT, 102, T0);
}

static void cs7(struct conn *c, const char *s7hex)
{
	struct pk p = tp(s7hex);
	conn_send(c, 0, p.b, p.n, TH_PSH | TH_ACK);
}

static void ss7(struct conn *c, const char *s7hex)
{
	struct pk p = tp(s7hex);
	conn_send(c, 1, p.b, p.n, TH_PSH | TH_ACK);
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

static long ev(const struct run *r, const char *name)
{
	char path[96];
	snprintf(path, sizeof(path), "protocols.s7comm.events.%s", name);
	return run_stat(r, path);
}

/* A connection with its COTP handshake. */
static void connect_plc(struct conn *c, struct run *r)
{
	conn_open(c, r);
	conn_send_hex(c, 0, CR);
	conn_send_hex(c, 1, CC);
}

/* ---- errors ---------------------------------------------------------------------- */

Test(s7comm, read_var_items_all_named_first_code_mapped)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	struct pk q = tp(READ_VAR), a = tp(READ_VAR_ANSWER);
	conn_send(&c, 0, q.b, q.n, TH_PSH | TH_ACK);
	conn_send(&c, 1, a.b, a.n, TH_PSH | TH_ACK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "S7comm");
	expect_str(rec, "Error Code", "31");
	expect_str(rec, "Requester.Unique ID", CLI);
	expect_str(rec, "Requester.Transmitted Code", hex_of(&q));
	expect_str(rec, "Responder.Unique ID", PLC "#0/2");
	expect_str(rec, "Responder.Transmitted Code", hex_of(&a));
	expect_str(rec, "Description.Function", "Read Var (0x04)");
	expect_str(rec, "Description.PDU Reference", "256");
	expect_str(rec, "Description.First Item", "DB1.DBX 10.0 BYTE 4");
	expect_str(rec, "Description.Failed Items", "2");
	expect_str(rec, "Description.Item Return Codes",
		   "item 2 (M 5.0 BYTE 2): Invalid address (0x05); "
		   "item 3 (I 0.3 BIT 1): Object does not exist (0x0A)");
	expect_str(rec, "Description.Vendor Code", "05");
	expect_str(rec, "Description.Vendor Meaning", "Item: Invalid address");
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

Test(s7comm, all_items_read_is_no_error)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, READ_VAR);
	ss7(&c, READ_VAR_OK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "transactions.answered"), 1);
	run_free(&r);
}

Test(s7comm, write_var_answer_codes)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, "32 01 0000 0300 000E 0005 05 01 12 0A 10 02 0001 0000 83 000000 00 04 0008 7F");
	ss7(&c, "32 03 0000 0300 0002 0001 0000 05 01 03");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Description.Function", "Write Var (0x05)");
	expect_str(r.records[0], "Description.Item Return Codes",
		   "item 1 (M 0.0 BYTE 1): Accessing the object not allowed (0x03)");
	run_free(&r);
}

Test(s7comm, header_error_of_an_ack)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, START_UPLOAD);
	ss7(&c, ACK_D209);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Function", "Start upload (0x1D)");
	expect_str(r.records[0], "Description.Block", "DB 1");
	expect_str(r.records[0], "Description.ROSCTR", "Ack");
	expect_str(r.records[0], "Description.Vendor Code", "D209");
	run_free(&r);
}

Test(s7comm, header_error_classes_map_by_the_rules)
{
	static const struct {
		const char *cls_code, *x1367;
	} cases[] = {
		{"81 04", "30"}, {"83 04", "42"}, {"87 03", "23"}, {"85 00", "31"},
		{"D0 AA", "10"}, {"D2 41", "23"}, {"D4 09", "11"}, {"01 19", "20"},
		/* codes Siemens does not define: their class's row, else "*" */
		{"87 04", "41"}, {"81 99", "3F"}, {"83 77", "42"}, {"86 01", "FF"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		struct conn c;
		char ack[64];
		start(&r);
		conn_open(&c, &r);
		cs7(&c, START_UPLOAD);
		snprintf(ack, sizeof(ack), "32 02 0000 0200 0000 0000 %s", cases[i].cls_code);
		ss7(&c, ack);
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "case %zu", i);
		expect_str(r.records[0], "Error Code", cases[i].x1367);
		/* No COTP handshake seen: the PLC is its address. */
		expect_str(r.records[0], "Responder.Unique ID", PLC);
		run_free(&r);
	}
}

Test(s7comm, szl_read_refused)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, SZL_REQ);
	ss7(&c, SZL_D402);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Function Group", "CPU functions (4)");
	expect_str(r.records[0], "Description.Subfunction", "Read SZL (1)");
	expect_str(r.records[0], "Description.SZL ID", "0x0C91");
	expect_str(r.records[0], "Description.SZL Index", "0x7FFF");
	expect_str(r.records[0], "Description.Vendor Code", "D402");
	run_free(&r);
}

Test(s7comm, wrong_password_is_authentication_failed_and_stays_out_of_description)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, PW_REQ);
	ss7(&c, PW_WRONG);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "20");
	expect_str(r.records[0], "Description.Subfunction", "PLC password (1)");
	const char *desc = strstr(r.records[0], "\"Description\"");
	cr_assert_null(strstr(desc, "213A1B1D"), "%s", r.records[0]);
	run_free(&r);
}

/* The answer of a function without data: "0A, NULL, 0" is no error. */
Test(s7comm, accepted_password_and_set_clock_are_no_errors)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, PW_REQ);
	ss7(&c, PW_OK);
	cs7(&c, "32 07 0000 0700 0008 000E 00 01 12 04 11 47 02 00 FF 09 000A 00 19 05 08 23 04 10 23 67 83");
	ss7(&c, "32 07 0000 0700 000C 0004 00 01 12 08 12 87 02 01 00 00 00 00 0A 00 0000");
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(ev(&r, "userdata_no_data"), 2);
	cr_assert_eq(run_stat(&r, "transactions.answered"), 2);
	run_free(&r);
}

/* Other data unit codes of a Userdata answer are errors. */
Test(s7comm, userdata_data_return_code)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, SZL_REQ);
	ss7(&c, "32 07 0000 0C00 000C 0004 00 01 12 08 12 84 01 01 00 00 00 00 05 09 0000");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Data Return Code", "Invalid address (0x05)");
	run_free(&r);
}

Test(s7comm, unanswered_job_is_no_response)
{
	struct run r;
	struct conn c, later;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, READ_VAR);
	conn_open_at(&later, &r, CLI, PLC, CLI_PORT + 1, 102, c.now + 6 * SEC);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Responder.Unique ID", PLC "#0/2");
	expect_str(r.records[0], "Responder.Transmitted Code", "");
	expect_str(r.records[0], "Description.Function", "Read Var (0x04)");
	expect_str(r.records[0], "Description.Item Count", "3");
	run_free(&r);
}

Test(s7comm, unanswered_userdata_without_handshake_is_described_later)
{
	struct run r;
	struct conn c, later;
	start(&r);
	conn_open(&c, &r);
	cs7(&c, SZL_REQ);
	conn_open_at(&later, &r, CLI, PLC, CLI_PORT + 1, 102, c.now + 6 * SEC);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Responder.Unique ID", PLC);
	expect_str(r.records[0], "Description.Subfunction", "Read SZL (1)");
	expect_str(r.records[0], "Description.SZL ID", "0x0C91");
	run_free(&r);
}

Test(s7comm, answer_for_another_function_pairs_nothing)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, READ_VAR);
	ss7(&c, "32 03 0000 0100 0002 0001 0000 05 01 0A");
	run_finish(&r);
	cr_assert_eq(ev(&r, "function_mismatch"), 1);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_str(r.records[0], "Description.Function", "Write Var (0x05)");
	run_free(&r);
}

/* ---- framing ---------------------------------------------------------------------- */

Test(s7comm, several_tpkts_per_segment_and_one_across_segments)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	struct pk q1 = tp(READ_VAR), q2 = tp(START_UPLOAD), a1 = tp(READ_VAR_ANSWER), a2 = tp(ACK_D209);
	struct pk both;
	memcpy(both.b, q1.b, q1.n);
	memcpy(both.b + q1.n, q2.b, q2.n);
	both.n = q1.n + q2.n;
	conn_send(&c, 0, both.b, both.n, TH_PSH | TH_ACK);
	/* the answers byte by byte */
	memcpy(both.b, a2.b, a2.n);
	memcpy(both.b + a2.n, a1.b, a1.n);
	both.n = a1.n + a2.n;
	for (size_t i = 0; i < both.n; i++)
		conn_send(&c, 1, both.b + i, 1, TH_PSH | TH_ACK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Vendor Code", "D209");
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&a2));
	expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&q2));
	expect_str(r.records[1], "Description.Vendor Code", "05");
	expect_str(r.records[1], "Requester.Transmitted Code", hex_of(&q1));
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

/* STEP 7 sends an empty DT without EOT before some requests: it is part
 * of the PDU, and of the request's Transmitted Code. */
Test(s7comm, pdu_over_several_dt_tpdus)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	conn_send_hex(&c, 0, "03 00 00 07 02 F0 00");
	cs7(&c, SZL_REQ);
	/* an answer in two DTs: the S7 header, then the rest */
	conn_send_hex(&c, 1, "03 00 00 0D 02 F0 00 32 07 00 00 0C 00");
	conn_send_hex(&c, 1, "03 00 00 1B 02 F0 80 00 0C 00 04 00 01 12 08 12 84 01 01 00 00 D4 02 0A 00 00 00");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	struct pk q = tp(SZL_REQ);
	char want[2 * sizeof(q.b) + 16];
	snprintf(want, sizeof(want), "0300000702F000%s", hex_of(&q));
	expect_str(r.records[0], "Requester.Transmitted Code", want);
	expect_str(r.records[0], "Responder.Transmitted Code",
		   "0300000D02F000320700000C00" "0300001B02F080000C000400011208128401010000D4020A000000");
	expect_str(r.records[0], "Description.Vendor Code", "D402");
	run_free(&r);
}

Test(s7comm, garbage_is_skipped_and_counted_once)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, SZL_REQ);
	ss7(&c, "32 07 0000 0C00 000C 0004 00 01 12 08 12 84 01 01 00 00 00 00 FF 09 0000");
	cs7(&c, START_UPLOAD);
	struct pk a = tp(ACK_D209), g;
	static const uint8_t junk[] = {0xDE, 0xAD, 0x03, 0x00, 0xFF, 0xFF, 0x99, 0x00, 0x03, 0x00, 0x00};
	memcpy(g.b, junk, sizeof(junk));
	memcpy(g.b + sizeof(junk), a.b, a.n);
	g.n = sizeof(junk) + a.n;
	conn_send(&c, 1, g.b, g.n, TH_PSH | TH_ACK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Vendor Code", "D209");
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&a));
	cr_assert_eq(ev(&r, "bad_tpkt_cotp"), 1);
	cr_assert_eq(run_stat(&r, "parse_errors"), 1);
	run_free(&r);
}

/* A capture that starts inside a TPKT: no fault, the next one is found. */
Test(s7comm, midstream_pickup)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_init(&c, &r, CLI, PLC, CLI_PORT, 102, T0);
	struct pk tail = tp(READ_VAR), q = tp(START_UPLOAD), both;
	memcpy(both.b, tail.b + 9, tail.n - 9);
	memcpy(both.b + tail.n - 9, q.b, q.n);
	both.n = tail.n - 9 + q.n;
	conn_send(&c, 0, both.b, both.n, TH_PSH | TH_ACK);
	ss7(&c, ACK_D209);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Block", "DB 1");
	cr_assert_eq(ev(&r, "midstream_resync"), 1);
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

Test(s7comm, truncated_and_malformed_pdus_report_nothing)
{
	static const char *const bad[] = {
		"32 03 0000 0100 0002 0040 0000 04 01 FF",   /* data length past the PDU */
		"32 09 0000 0100 0000 0000",                 /* no such ROSCTR */
		"32 03 00",                                  /* header cut */
		"32 07 0000 0C00 000C 0004 00 02 12 08 12 84 01 01 00 00 D4 02 0A 00 0000",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r;
		struct conn c;
		start(&r);
		connect_plc(&c, &r);
		cs7(&c, READ_VAR);
		ss7(&c, bad[i]);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "case %zu: %s", i, r.n_records ? r.records[0] : "");
		cr_assert_eq(ev(&r, "malformed_s7"), 1, "case %zu", i);
		run_free(&r);
	}
	/* A TPKT cut by the end of the capture. */
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, START_UPLOAD);
	struct pk a = tp(ACK_D209);
	conn_send(&c, 1, a.b, a.n - 3, TH_PSH | TH_ACK);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

Test(s7comm, s7comm_plus_and_other_cotp_users_are_counted_not_decoded)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, "72 01 00 1E 31 00 00 04 CA 00 00 00 01 00 00 01 20 36 00 00 01 1D");
	ss7(&c, "72 01 00 0F 32 00 00 04 CA 00 00 00 01 36 00");
	cs7(&c, "01 00 01 00 61 0E 30 0C 02 01 01 A0 07 A0 05 80 03 66 6F 6F");   /* MMS-like */
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(ev(&r, "s7comm_plus"), 2);
	cr_assert_eq(ev(&r, "cotp_not_s7"), 1);
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

/* A TPKT larger than the plugin keeps: dissected from its head. */
Test(s7comm, oversized_tpkt_is_dissected_from_its_head)
{
	static char hex[3 * 6000 + 256];
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	/* Write Var of 5000 bytes to DB1 */
	int o = snprintf(hex, sizeof(hex), "32 01 0000 0400 000E 138C 05 01 12 0A 10 02 1388 0001 84 000000 00 04 9C40");
	for (int i = 0; i < 5000; i++)
		o += snprintf(hex + o, sizeof(hex) - (size_t)o, "%02X", i & 0xFF);
	cs7(&c, hex);
	ss7(&c, "32 03 0000 0400 0002 0001 0000 05 01 05");
	ss7(&c, "32 03 0000 0400 0002 0001 0000 05 01 05");   /* no request left: unpaired */
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Function", "Write Var (0x05)");
	expect_str(r.records[0], "Description.Item Return Codes",
		   "item 1 (DB1.DBX 0.0 BYTE 5000): Invalid address (0x05)");
	expect_str(r.records[1], "Description.Request", "not seen in the capture");
	cr_assert_eq(ev(&r, "large_pdu_truncated"), 1);
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	run_free(&r);
}

/* Lost bytes: the plugin waits for the next TPKT. */
Test(s7comm, gap_resynchronises)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, START_UPLOAD);
	struct pk a = tp(READ_VAR_OK);
	conn_send(&c, 1, a.b, 10, TH_PSH | TH_ACK);
	c.sseq += 5;                               /* a hole in the server's bytes */
	conn_send(&c, 1, a.b + 15, a.n - 15, TH_PSH | TH_ACK);
	ss7(&c, ACK_D209);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Vendor Code", "D209");
	run_free(&r);
}

/* Alarms and cyclic data the PLC pushes answer nothing and owe nothing. */
Test(s7comm, userdata_indications_are_no_requests)
{
	struct run r;
	struct conn c, later;
	start(&r);
	connect_plc(&c, &r);
	ss7(&c, "32 07 0000 0000 0008 0004 00 01 12 04 11 04 12 00 FF 09 0000");
	conn_open_at(&later, &r, CLI, PLC, CLI_PORT + 1, 102, c.now + 6 * SEC);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(ev(&r, "userdata_indication"), 1);
	cr_assert_eq(run_stat(&r, "transactions.opened"), 0);
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

/* An error answer whose request the capture missed names what it can:
 * the function group, subfunction and PDU reference of the answer. */
Test(s7comm, userdata_error_without_request)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_init(&c, &r, CLI, PLC, CLI_PORT, 102, T0);
	ss7(&c, "32 07 0000 0C00 000C 0004 00 01 12 08 12 84 01 01 00 00 00 00 05 09 0000");
	ss7(&c, SZL_D402);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Subfunction", "Read SZL (1)");
	expect_str(r.records[0], "Description.PDU Reference", "3072");
	expect_str(r.records[0], "Description.Data Return Code", "Invalid address (0x05)");
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_str(r.records[1], "Description.Function Group", "CPU functions (4)");
	expect_str(r.records[1], "Description.Vendor Code", "D402");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 2);
	run_free(&r);
}

/* On a connection that spoke S7, a DT whose data is not S7 is a broken
 * PDU, not another protocol. */
Test(s7comm, non_s7_data_on_an_s7_connection_is_malformed)
{
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, SZL_REQ);
	ss7(&c, SZL_D402);
	ss7(&c, "00 04 01 E0 00 00 00 00 00 00 04 00 00 00 00 00 00 00 00 00 00 D2 09 0A 00 00 00");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	cr_assert_eq(ev(&r, "malformed_s7"), 1);
	cr_assert_eq(ev(&r, "cotp_not_s7"), 0);
	run_free(&r);
}

/* Every failed item is in Description: the first eight with their
 * address, the others by number and code. */
Test(s7comm, many_failed_items_are_all_listed)
{
	char req[2048], ans[1024];
	int o = snprintf(req, sizeof(req), "32 01 0000 0900 %04X 0000 04 14", 2 + 20 * 12);
	for (int i = 0; i < 20; i++)
		o += snprintf(req + o, sizeof(req) - (size_t)o, " 12 0A 10 02 0001 %04X 84 000000", i + 10);
	/* item 1 read (one byte, padded), items 2-20 do not exist */
	o = snprintf(ans, sizeof(ans), "32 03 0000 0900 0002 %04X 0000 04 14 FF 04 0008 55 00", 6 + 19 * 4);
	for (int i = 1; i < 20; i++)
		o += snprintf(ans + o, sizeof(ans) - (size_t)o, " 0A 00 0000");
	struct run r;
	struct conn c;
	start(&r);
	connect_plc(&c, &r);
	cs7(&c, req);
	ss7(&c, ans);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Failed Items", "19");
	const char *list = record_get(r.records[0], "Description.Item Return Codes");
	cr_assert_not_null(list);
	cr_assert(strstr(list, "item 2 (DB11.DBX 0.0 BYTE 1): Object does not exist (0x0A)"), "%s", list);
	cr_assert(strstr(list, "item 9 (DB18.DBX 0.0 BYTE 1)"), "%s", list);
	cr_assert(strstr(list, "; item 10: 0x0A"), "%s", list);
	cr_assert(strstr(list, "; item 20: 0x0A"), "%s", list);
	cr_assert_null(strstr(list, "..."), "%s", list);
	run_free(&r);
}
