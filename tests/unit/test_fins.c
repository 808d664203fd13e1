/* The Omron FINS plugin, compiled in and registered as an extra dissector,
 * through the whole engine: datagrams and FINS/TCP segments in, records
 * out.  Frames are built here byte by byte, apart from the dissector. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"

#define HMI "192.0.2.10"
#define PLC "192.0.2.20"
#define PLC2 "192.0.2.21"
#define FINS 9600
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

static struct frame F;
static uint64_t now;

/* ---- frames ---------------------------------------------------------- */

struct msg {
	uint8_t b[2100];
	size_t len;
};

/* A command (ICF 0x80, or `icf`) from node 10 to node 20. */
static void cmd(struct msg *m, uint8_t icf, uint8_t sid, uint16_t code, const char *params_hex)
{
	uint8_t h[12] = {icf, 0, 2, 0, 20, 0, 0, 10, 0, sid, (uint8_t)(code >> 8), (uint8_t)code};
	memcpy(m->b, h, sizeof(h));
	m->len = sizeof(h) + (params_hex ? hex_to_bytes(params_hex, m->b + 12, sizeof(m->b) - 12) : 0);
}

/* A response with end code MRES SRES (flags included). */
static void resp(struct msg *m, uint8_t sid, uint16_t code, uint16_t end, const char *data_hex)
{
	uint8_t h[14] = {0xC0, 0, 2, 0, 10, 0, 0, 20, 0, sid, (uint8_t)(code >> 8), (uint8_t)code,
			 (uint8_t)(end >> 8), (uint8_t)end};
	memcpy(m->b, h, sizeof(h));
	m->len = sizeof(h) + (data_hex ? hex_to_bytes(data_hex, m->b + 14, sizeof(m->b) - 14) : 0);
}

static void udp(struct run *r, const char *src, const char *dst, const struct msg *m)
{
	build_udp(&F, src, FINS, dst, FINS, m->b, m->len);
	now += 20000;
	F.ts_usec = now;
	run_frame(r, &F);
}

static void start(struct run *r)
{
	now = T0;
	run_start_with(r, X1367_DISSECTOR_ENTRY());
}

static void finish(struct run *r)
{
	engine_tick(r->engine, now);
	run_finish(r);
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

static struct msg Q, A;

/* One read of D100 answered with `end`. */
static void exchange(struct run *r, uint16_t end)
{
	start(r);
	cmd(&Q, 0x80, 7, 0x0101, "82 0064 00 0002");
	resp(&A, 7, 0x0101, end, NULL);
	udp(r, HMI, PLC, &Q);
	udp(r, PLC, HMI, &A);
	finish(r);
}

/* ---- end codes ----------------------------------------------------------- */

struct mapping {
	uint16_t end;
	const char *vendor, *x1367, *meaning;
};

/* Exact rows, family (prefix) rows, and the flags masked off. */
static const struct mapping mappings[] = {
	{0x0401, "0401", "30", "Undefined command"},
	{0x1103, "1103", "31", "Address range error"},
	{0x2002, "2002", "23", "Protected"},
	{0x2602, "2602", "20", "Incorrect password"},
	{0x0205, "0205", "10", "Response timeout"},
	{0x250F, "250F", "40", "Memory error"},
	{0x3001, "3001", "23", "No access right"},
	{0x0001, "0001", "3F", "Service canceled"},
	/* unlisted sub codes take their family's row */
	{0x04EE, "042E", "30", "Service unsupported"},
	{0x113E, "113E", "31", "Parameter error"},
	/* relay error (MRES bit 7) and CPU flags (SRES bits 7, 6) are no part of the code */
	{0x8401, "0401", "30", "Undefined command"},
	{0x11C3, "1103", "31", "Address range error"},
	{0x2241, "2201", "3F", "Not possible during execution"},
	/* a main code Omron does not list: the * row */
	{0x7F01, "7F01", "FF", "Other FINS error"},
};

Test(fins, end_codes_map_by_the_rules_flags_masked)
{
	for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
		struct run r;
		exchange(&r, mappings[i].end);
		cr_assert_eq(r.n_records, 1, "end %04X: %zu records", mappings[i].end, r.n_records);
		expect_str(r.records[0], "Error Code", mappings[i].x1367);
		expect_str(r.records[0], "Description.Vendor Code", mappings[i].vendor);
		expect_str(r.records[0], "Description.Vendor Meaning", mappings[i].meaning);
		run_free(&r);
	}
}

Test(fins, normal_completion_is_no_record_even_with_cpu_flags)
{
	static const uint16_t normal[] = {0x0000, 0x0040, 0x0080, 0x00C0};
	for (size_t i = 0; i < 4; i++) {
		struct run r;
		exchange(&r, normal[i]);
		cr_assert_eq(r.n_records, 0, "end %04X gave a record", normal[i]);
		cr_assert_eq(run_stat(&r, "transactions.answered"), 1);
		cr_assert_eq(run_stat(&r, "protocols.fins.events.cpu_error_flag"), i ? 1 : 0);
		run_free(&r);
	}
}

Test(fins, description_names_command_area_and_address)
{
	struct run r;
	exchange(&r, 0x1103);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Protocol", "Omron FINS");
	expect_str(r.records[0], "Description.Command", "0101 Memory Area Read");
	expect_str(r.records[0], "Description.Memory Area", "82 D");
	expect_str(r.records[0], "Description.Address", "D 100");
	expect_str(r.records[0], "Description.Items", "2");
	expect_str(r.records[0], "Description.SID", "07");
	expect_str(r.records[0], "Responder.Unique ID", PLC);
	expect_str(r.records[0], "Requester.Transmitted Code", "800002001400000A0007010182006400" "0002");
	expect_str(r.records[0], "Responder.Transmitted Code", "C00002000A000014000701011103");
	run_free(&r);
}

Test(fins, bit_address_and_relay_error_place)
{
	struct run r;
	start(&r);
	cmd(&Q, 0x80, 1, 0x0101, "30 000A 03 0001");
	resp(&A, 1, 0x0101, 0x8205, "01 05");
	udp(&r, HMI, PLC, &Q);
	udp(&r, PLC, HMI, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Address", "CIO 10.03");
	expect_str(r.records[0], "Description.Relay Error", "at network 1 node 5");
	run_free(&r);
}

Test(fins, unanswered_command_is_10_unless_no_response_wanted)
{
	struct run r;
	start(&r);
	cmd(&Q, 0x81, 1, 0x0102, "82 0005 00 0001 0001");   /* ICF bit 0: no response */
	udp(&r, HMI, PLC, &Q);
	cmd(&Q, 0x80, 2, 0x0101, "82 0000 00 0001");
	udp(&r, HMI, PLC, &Q);
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 1, "%zu records", r.n_records);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.SID", "02");
	cr_assert_eq(run_stat(&r, "protocols.fins.events.no_response_command"), 1);
	run_free(&r);
}

Test(fins, no_response_command_still_pairs_an_error_answer)
{
	struct run r;
	start(&r);
	cmd(&Q, 0x81, 3, 0x0102, "82 0005 00 0001 0001");
	resp(&A, 3, 0x0102, 0x2101, NULL);
	udp(&r, HMI, PLC, &Q);
	udp(&r, PLC, HMI, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

/* Both at 9600, the PLC speaks first, both ask with SID 5: requests and
 * responses told apart by ICF bit 6, each answer paired with its asker. */
Test(fins, direction_by_content_and_pairing_per_requester)
{
	struct run r;
	start(&r);
	cmd(&Q, 0x80, 5, 0x0102, "82 00C8 00 0001 002A");
	udp(&r, PLC2, HMI, &Q);                         /* the PLC writes to the HMI */
	cmd(&Q, 0x80, 5, 0x0101, "82 0000 00 0001");
	udp(&r, HMI, PLC2, &Q);                         /* the HMI reads the PLC */
	resp(&A, 5, 0x0102, 0x2101, NULL);
	udp(&r, HMI, PLC2, &A);                         /* the HMI refuses the write */
	resp(&A, 5, 0x0101, 0x1104, NULL);
	udp(&r, PLC2, HMI, &A);                         /* the PLC refuses the read */
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Vendor Code", "2101");
	expect_str(r.records[0], "Requester.Unique ID", PLC2);
	expect_str(r.records[0], "Responder.Unique ID", HMI);
	expect_str(r.records[0], "Description.Command", "0102 Memory Area Write");
	expect_str(r.records[1], "Description.Vendor Code", "1104");
	expect_str(r.records[1], "Responder.Unique ID", PLC2);
	expect_str(r.records[1], "Description.Command", "0101 Memory Area Read");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

Test(fins, same_sid_other_command_does_not_pair)
{
	struct run r;
	start(&r);
	cmd(&Q, 0x80, 9, 0x0101, "82 0000 00 0001");
	resp(&A, 9, 0x0102, 0x2101, NULL);
	udp(&r, HMI, PLC, &Q);
	udp(&r, PLC, HMI, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);   /* the answer, unpaired; the read is not over yet */
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_str(r.records[0], "Description.Command", "0102 Memory Area Write");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 1);
	run_free(&r);
}

Test(fins, truncated_and_garbage_datagrams)
{
	struct run r;
	start(&r);
	memcpy(Q.b, "\x80\x00\x02\x00\x14", 5);
	Q.len = 5;                                       /* cut in the header */
	udp(&r, HMI, PLC, &Q);
	resp(&A, 1, 0x0101, 0x1103, NULL);
	A.len = 12;                                      /* a response without end code */
	udp(&r, PLC, HMI, &A);
	Q.len = 0;
	udp(&r, HMI, PLC, &Q);
	finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "protocols.fins.parse_errors"), 1);
	cr_assert_eq(run_stat(&r, "protocols.fins.events.malformed"), 2);
	run_free(&r);
}

/* ---- FINS/TCP -------------------------------------------------------- */

static size_t tcp_msg(uint8_t *out, uint32_t command, uint32_t error, const struct msg *frame)
{
	size_t body = frame ? frame->len : 0;
	uint32_t len = (uint32_t)(8 + body);
	uint8_t h[16] = {'F', 'I', 'N', 'S', (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			 (uint8_t)len, 0, 0, 0, (uint8_t)command, (uint8_t)(error >> 24), (uint8_t)(error >> 16),
			 (uint8_t)(error >> 8), (uint8_t)error};
	memcpy(out, h, 16);
	if (frame)
		memcpy(out + 16, frame->b, body);
	return 16 + body;
}

Test(fins, tcp_framing_split_and_pipelined)
{
	struct run r;
	struct conn c;
	uint8_t buf[512];
	size_t n, m;

	start(&r);
	conn_open_at(&c, &r, HMI, PLC, 50100, FINS, now);
	cmd(&Q, 0x80, 1, 0x0101, "82 0064 00 0001");
	n = tcp_msg(buf, 2, 0, &Q);
	cmd(&Q, 0x80, 2, 0x0401, "FFFF");
	n += tcp_msg(buf + n, 2, 0, &Q);
	conn_send(&c, 0, buf, n, TH_PSH | TH_ACK);       /* two commands, one segment */
	resp(&A, 1, 0x0101, 0x1101, NULL);
	n = tcp_msg(buf, 2, 0, &A);
	resp(&A, 2, 0x0401, 0x2203, NULL);
	m = tcp_msg(buf + n, 2, 0, &A);
	conn_send(&c, 1, buf, 5, TH_PSH | TH_ACK);       /* split inside "FINS" */
	conn_send(&c, 1, buf + 5, n + m - 5, TH_PSH | TH_ACK);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Vendor Code", "1101");
	expect_str(r.records[0], "Description.Transport", "TCP");
	expect_str(r.records[1], "Description.Vendor Code", "2203");
	expect_str(r.records[1], "Description.Command", "0401 Run");
	cr_assert_eq(run_stat(&r, "protocols.fins.parse_errors"), 0);
	run_free(&r);
}

Test(fins, tcp_header_error_code_reported_and_paired)
{
	struct run r;
	struct conn c;
	uint8_t buf[64];
	struct msg node = {.len = 4};

	start(&r);
	conn_open_at(&c, &r, HMI, PLC, 50101, FINS, now);
	conn_send(&c, 0, buf, tcp_msg(buf, 0, 0, &node), TH_PSH | TH_ACK);
	node.len = 8;
	conn_send(&c, 1, buf, tcp_msg(buf, 1, 0x21, &node), TH_PSH | TH_ACK);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "11");
	expect_str(r.records[0], "Description.Vendor Code", "00000021");
	expect_str(r.records[0], "Description.Vendor Meaning", "Specified node already connected");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

Test(fins, tcp_garbage_resynchronises_on_the_next_header)
{
	struct run r;
	struct conn c;
	uint8_t buf[256];
	size_t n;

	start(&r);
	conn_open_at(&c, &r, HMI, PLC, 50102, FINS, now);
	memcpy(buf, "xxFIxx", 6);
	cmd(&Q, 0x80, 1, 0x0101, "82 0064 00 0001");
	n = 6 + tcp_msg(buf + 6, 2, 0, &Q);
	conn_send(&c, 0, buf, n, TH_PSH | TH_ACK);
	resp(&A, 1, 0x0101, 0x1103, NULL);
	n = tcp_msg(buf, 2, 0, &A);
	buf[4] = 0x7F;   /* a length no FINS/TCP message has, then a good one */
	n += tcp_msg(buf + n, 2, 0, &A);
	conn_send(&c, 1, buf, n, TH_PSH | TH_ACK);
	conn_close(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Vendor Code", "1103");
	cr_assert_geq(run_stat(&r, "protocols.fins.events.invalid_tcp_header"), 2);
	run_free(&r);
}
