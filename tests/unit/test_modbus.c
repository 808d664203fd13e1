/* The Modbus/TCP dissector, through the whole engine: frames in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

#define HMI "192.0.2.10"
#define PLC "192.0.2.20"
#define HMI_PORT 49152
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

static struct frame F;

/* One TCP connection HMI -> PLC (helpers.h). */
static void conn_open(struct conn *c, struct run *r, uint16_t cport, uint16_t sport)
{
	conn_open_at(c, r, HMI, PLC, cport, sport, T0);
}

static void req(struct conn *c, const char *hex)
{
	conn_send_hex(c, 0, hex);
}

static void resp(struct conn *c, const char *hex)
{
	conn_send_hex(c, 1, hex);
}

/* "00 01" -> "0001": the Transmitted Code form of a hex string. */
static const char *code_of(const char *hex)
{
	static char out[1200];
	size_t n = 0;
	for (; *hex && n + 1 < sizeof(out); hex++)
		if (*hex != ' ')
			out[n++] = *hex;
	out[n] = '\0';
	return out;
}

/* Each key once: the engine adds the request's stored fields, the
 * dissector must not repeat them. */
static void expect_once(const char *rec, const char *key)
{
	char quoted[128];
	snprintf(quoted, sizeof(quoted), "\"%s\":", key);
	const char *first = strstr(rec, quoted);
	cr_assert_not_null(first, "%s missing in %s", key, rec);
	cr_assert_null(strstr(first + 1, quoted), "%s twice in %s", key, rec);
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

/* One request answered by one response on a fresh connection. */
static void exchange(struct run *r, const char *request, const char *response)
{
	struct conn c;
	run_start(r);
	conn_open(&c, r, HMI_PORT, 502);
	req(&c, request);
	resp(&c, response);
	run_finish(r);
}

Test(modbus, exception_02_is_invalid_argument_with_both_codes)
{
	struct run r;
	const char *q = "00 01 00 00 00 06 01 03 9C 40 00 0A";
	const char *a = "00 01 00 00 00 03 01 83 02";
	exchange(&r, q, a);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "Modbus/TCP");
	expect_str(rec, "Error Code", "31");
	expect_str(rec, "Error Message", "Invalid Argument");
	expect_str(rec, "Requester.Unique ID", HMI);
	expect_str(rec, "Requester.Transmitted Code", code_of(q));
	expect_str(rec, "Responder.Unique ID", PLC "#1");
	expect_str(rec, "Responder.Transmitted Code", code_of(a));
	expect_str(rec, "Description.Transaction ID", "1");
	expect_str(rec, "Description.Unit ID", "1");
	expect_str(rec, "Description.Function", "Read Holding Registers (3)");
	expect_str(rec, "Description.Address", "40000");
	expect_str(rec, "Description.Quantity", "10");
	expect_str(rec, "Description.Exception", "Illegal Data Address (2)");
	expect_once(rec, "Transaction ID");
	expect_once(rec, "Function");
	run_free(&r);
}

/* Every exception code the defaults know, plus one they do not. */
Test(modbus, every_exception_code_maps_by_the_rules)
{
	static const struct {
		unsigned code;
		const char *x1367;    /* NULL: no record */
	} cases[] = {
		{0x01, "30"}, {0x02, "31"}, {0x03, "31"}, {0x04, "41"}, {0x05, NULL},
		{0x06, "42"}, {0x07, "3F"}, {0x08, "40"}, {0x0A, "11"}, {0x0B, "10"},
		{0x09, "FF"}, {0x20, "FF"}, {0xFF, "FF"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		char a[64];
		snprintf(a, sizeof(a), "00 07 00 00 00 03 01 84 %02X", cases[i].code);
		exchange(&r, "00 07 00 00 00 06 01 04 00 00 00 01", a);
		if (!cases[i].x1367) {
			cr_assert_eq(r.n_records, 0, "code %02X: Acknowledge is no error", cases[i].code);
		} else {
			cr_assert_eq(r.n_records, 1, "code %02X", cases[i].code);
			expect_str(r.records[0], "Error Code", cases[i].x1367);
			expect_str(r.records[0], "Description.Function", "Read Input Registers (4)");
		}
		run_free(&r);
	}
}

Test(modbus, normal_response_gives_no_record)
{
	struct run r;
	exchange(&r, "00 01 00 00 00 06 01 03 00 00 00 02", "00 01 00 00 00 07 01 03 04 00 01 00 02");
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

Test(modbus, pipelined_requests_answered_out_of_order)
{
	struct run r;
	struct conn c;
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	req(&c, "00 01 00 00 00 06 01 03 00 00 00 02");
	req(&c, "00 02 00 00 00 05 01 2B 0E 01 00");
	req(&c, "00 03 00 00 00 06 01 03 23 28 00 02");
	req(&c, "00 04 00 00 00 06 02 03 00 0A 00 01");
	resp(&c, "00 03 00 00 00 03 01 83 02");
	resp(&c, "00 01 00 00 00 07 01 03 04 00 0B 00 0C");
	resp(&c, "00 04 00 00 00 03 02 83 04");
	resp(&c, "00 02 00 00 00 03 01 AB 01");
	run_finish(&r);
	cr_assert_eq(r.n_records, 3);
	expect_str(r.records[0], "Description.Transaction ID", "3");
	expect_str(r.records[0], "Description.Address", "9000");
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[1], "Description.Transaction ID", "4");
	expect_str(r.records[1], "Responder.Unique ID", PLC "#2");
	expect_str(r.records[1], "Error Code", "41");
	expect_str(r.records[2], "Description.Function", "Read Device Identification (43/14)");
	expect_str(r.records[2], "Error Code", "30");
	run_free(&r);
}

/* The response cut into two segments at every offset: always one record,
 * with the whole ADU as its code. */
Test(modbus, exception_split_at_every_offset)
{
	uint8_t a[9];
	size_t n = hex_to_bytes("00 05 00 00 00 03 01 83 03", a, sizeof(a));
	for (size_t cut = 1; cut < n; cut++) {
		struct run r;
		struct conn c;
		run_start(&r);
		conn_open(&c, &r, HMI_PORT, 502);
		req(&c, "00 05 00 00 00 06 01 03 00 64 00 01");
		conn_send(&c, 1, a, cut, TH_ACK);
		conn_send(&c, 1, a + cut, n - cut, TH_PSH | TH_ACK);
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "cut at %zu", cut);
		expect_str(r.records[0], "Responder.Transmitted Code", "000500000003018303");
		run_free(&r);
	}
}

Test(modbus, request_over_three_segments_and_three_adus_in_one)
{
	struct run r;
	struct conn c;
	const char *qhex = "00 01 00 00 00 0B 01 10 EA 60 00 02 04 00 01 00 02";
	uint8_t q[64];
	size_t n = hex_to_bytes(qhex, q, sizeof(q));
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	conn_send(&c, 0, q, 5, TH_ACK);
	conn_send(&c, 0, q + 5, 5, TH_ACK);
	conn_send(&c, 0, q + 10, n - 10, TH_PSH | TH_ACK);
	resp(&c, "00 01 00 00 00 03 01 90 02");
	req(&c, "00 02 00 00 00 06 01 01 00 00 00 08"
		"00 03 00 00 00 06 01 06 00 05 80 00"
		"00 04 00 00 00 06 01 03 00 00 00 01");
	resp(&c, "00 02 00 00 00 03 01 81 01"
		 "00 03 00 00 00 03 01 86 03"
		 "00 04 00 00 00 05 01 03 02 00 63");
	run_finish(&r);
	cr_assert_eq(r.n_records, 3);
	expect_str(r.records[0], "Description.Function", "Write Multiple Registers (16)");
	expect_str(r.records[0], "Description.Address", "60000");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(qhex));
	expect_str(r.records[1], "Error Code", "30");
	expect_str(r.records[2], "Error Code", "31");
	expect_str(r.records[2], "Description.Function", "Write Single Register (6)");
	run_free(&r);
}

Test(modbus, retransmitted_request_and_response_are_one)
{
	struct run r;
	struct conn c;
	uint8_t q[12], a[9];
	hex_to_bytes("00 01 00 00 00 06 01 03 13 88 00 04", q, sizeof(q));
	hex_to_bytes("00 01 00 00 00 03 01 83 02", a, sizeof(a));
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	conn_send(&c, 0, q, sizeof(q), TH_PSH | TH_ACK);
	c.cseq -= sizeof(q);
	conn_send(&c, 0, q, sizeof(q), TH_PSH | TH_ACK);
	conn_send(&c, 1, a, sizeof(a), TH_PSH | TH_ACK);
	c.sseq -= sizeof(a);
	conn_send(&c, 1, a, sizeof(a), TH_PSH | TH_ACK);
	c.now += 10 * SEC;
	req(&c, "00 02 00 00 00 06 01 03 00 00 00 01");
	resp(&c, "00 02 00 00 00 05 01 03 02 00 01");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1, "one request, one exception, no No Response");
	expect_str(r.records[0], "Error Code", "31");
	run_free(&r);
}

Test(modbus, exception_without_its_request)
{
	struct run r;
	struct conn c;
	run_start(&r);
	memset(&c, 0, sizeof(c));
	c.r = &r;
	c.cli = HMI;
	c.srv = PLC;
	c.cport = HMI_PORT;
	c.sport = 502;
	c.cseq = 700000;
	c.sseq = 900000;
	c.now = T0;
	resp(&c, "01 00 00 00 00 03 01 83 02");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Unique ID", HMI);
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	expect_str(r.records[0], "Responder.Unique ID", PLC "#1");
	expect_str(r.records[0], "Description.Transaction ID", "256");
	expect_str(r.records[0], "Description.Function", "Read Holding Registers (3)");
	run_free(&r);
}

/* ---- one transaction id, several requests in flight ---------------------- */

/* No request left without its answer, no answer left without its request,
 * no answer judged against the wrong request. */
static void expect_all_paired(const struct run *r)
{
	cr_assert_eq(run_stat(r, "transactions.no_response"), 0, "a false 10");
	cr_assert_eq(run_stat(r, "responses_without_request"), 0);
	cr_assert_eq(run_stat(r, "protocols.modbus.events.response_without_request"), 0);
	cr_assert_eq(run_stat(r, "protocols.modbus.events.function_mismatch"), 0);
	cr_assert_eq(run_stat(r, "requests_pending"), 0);
}

/* Push the capture clock past every deadline with one answered request. */
static void later(struct conn *c)
{
	c->now += 6 * SEC;
	req(c, "00 7F 00 00 00 06 01 03 00 00 00 01");
	resp(c, "00 7F 00 00 00 05 01 03 02 00 01");
}

#define SAME_TID_FC3 "00 07 00 00 00 06 01 03 00 64 00 01"
#define SAME_TID_FC4 "00 07 00 00 00 06 01 04 00 00 00 02"

/* Seen from real clients: two ADUs with one transaction id in one TCP
 * segment (so with one capture time), answered in order.  The exception
 * is the first request's; neither request goes unanswered. */
Test(modbus, same_tid_twice_in_one_segment_answered_in_order)
{
	struct run r;
	struct conn c;
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	req(&c, SAME_TID_FC3 SAME_TID_FC4);
	resp(&c, "00 07 00 00 00 03 01 83 02");
	resp(&c, "00 07 00 00 00 07 01 04 04 00 01 00 02");
	later(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(SAME_TID_FC3));
	expect_str(r.records[0], "Description.Function", "Read Holding Registers (3)");
	expect_str(r.records[0], "Description.Address", "100");
	expect_all_paired(&r);
	run_free(&r);
}

/* The same two requests, answered the other way round (a gateway may):
 * the function code tells which request each answer is for. */
Test(modbus, same_tid_twice_answered_out_of_order_pairs_by_function)
{
	struct run r;
	struct conn c;
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	req(&c, SAME_TID_FC3 SAME_TID_FC4);
	resp(&c, "00 07 00 00 00 07 01 04 04 00 01 00 02");
	resp(&c, "00 07 00 00 00 03 01 83 02");
	later(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(SAME_TID_FC3));
	expect_all_paired(&r);
	run_free(&r);
}

/* One transaction id, one function, two segments: answers go to the
 * oldest; the second request, never answered, is the one reported. */
Test(modbus, same_tid_and_function_answers_the_oldest_first)
{
	struct run r;
	struct conn c;
	const char *q2 = "00 07 00 00 00 06 01 03 00 05 00 01";
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	req(&c, SAME_TID_FC3);
	req(&c, q2);
	resp(&c, "00 07 00 00 00 03 01 83 02");
	later(&c);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(SAME_TID_FC3));
	expect_str(r.records[1], "Error Code", "10");
	expect_str(r.records[1], "Requester.Transmitted Code", code_of(q2));
	run_free(&r);
}

/* A flood of requests with one transaction id: an answer looks at no
 * more than X1367_TXN_TRY_MAX of them (each costs a table lookup), so one
 * for a request further back is not paired; the oldest still are. */
Test(modbus, same_tid_flood_tries_a_bounded_number_of_requests)
{
	struct run r;
	struct conn c;
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	for (int i = 0; i < X1367_TXN_TRY_MAX; i++)
		req(&c, SAME_TID_FC3);
	req(&c, SAME_TID_FC4);
	resp(&c, "00 07 00 00 00 07 01 04 04 00 01 00 02");
	cr_assert_eq(run_stat(&r, "protocols.modbus.events.function_mismatch"), 1);
	resp(&c, "00 07 00 00 00 03 01 83 02");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(SAME_TID_FC3));
	run_free(&r);
}

/* A response whose function is not the request's answers something else. */
Test(modbus, function_mismatch_is_not_paired)
{
	struct run r;
	exchange(&r, "00 09 00 00 00 06 01 03 00 00 00 01", "00 09 00 00 00 03 01 84 02");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	expect_str(r.records[0], "Description.Function", "Read Input Registers (4)");
	run_free(&r);
}

Test(modbus, other_unit_is_not_paired)
{
	struct run r;
	exchange(&r, "00 09 00 00 00 06 01 03 00 00 00 01", "00 09 00 00 00 03 02 83 02");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	expect_str(r.records[0], "Responder.Unique ID", PLC "#2");
	run_free(&r);
}

Test(modbus, unanswered_request_is_no_response_after_five_seconds)
{
	struct run r;
	struct conn c;
	const char *q = "00 0A 00 00 00 06 01 04 00 00 00 02";
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 502);
	req(&c, q);
	c.now += 4 * SEC;
	req(&c, "00 0B 00 00 00 06 01 03 00 00 00 01");
	resp(&c, "00 0B 00 00 00 05 01 03 02 00 01");
	cr_assert_eq(r.n_records, 0, "4 s: not yet");
	c.now += 2 * SEC;
	req(&c, "00 0C 00 00 00 06 01 03 00 00 00 01");
	resp(&c, "00 0C 00 00 00 05 01 03 02 00 01");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(q));
	expect_str(r.records[0], "Responder.Unique ID", PLC "#1");
	expect_str(r.records[0], "Responder.Transmitted Code", "");
	expect_str(r.records[0], "Description.Transaction ID", "10");
	expect_str(r.records[0], "Description.Function", "Read Input Registers (4)");
	run_free(&r);
}

/* Bad MBAP headers: no record, and the stream recovers. */
Test(modbus, bad_framing_is_skipped_and_later_exception_found)
{
	static const char *const bad[] = {
		"00 02 00 01 00 06 01 03 00 00 00 0A",   /* protocol id 1 */
		"00 04 00 00 00 00 01 03 00 00 00 01",   /* length 0 */
		"00 06 00 00 00 01 01 03 00 00 00 01",   /* length 1 */
		"00 08 00 00 01 2C 01 03 00 00 00 01",   /* length 300 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r;
		struct conn c;
		run_start(&r);
		conn_open(&c, &r, HMI_PORT, 502);
		req(&c, bad[i]);
		c.now += SEC;
		req(&c, "00 09 00 00 00 06 01 03 75 30 00 02");
		resp(&c, "00 09 00 00 00 03 01 83 02");
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "case %zu", i);
		expect_str(r.records[0], "Requester.Transmitted Code", "000900000006010375300002");
		run_free(&r);
	}
}

Test(modbus, exception_without_code_is_no_record)
{
	struct run r;
	exchange(&r, "00 01 00 00 00 06 01 03 00 00 00 01", "00 01 00 00 00 02 01 83");
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

Test(modbus, function_names)
{
	static const struct {
		const char *q, *a, *function;
	} cases[] = {
		{"00 01 00 00 00 03 01 41 00", "00 01 00 00 00 03 01 C1 01", "User-defined function 65"},
		{"00 01 00 00 00 03 01 64 00", "00 01 00 00 00 03 01 E4 01", "User-defined function 100"},
		{"00 01 00 00 00 03 01 5A 00", "00 01 00 00 00 03 01 DA 01", "Unknown function (90)"},
		{"00 01 00 00 00 05 01 2B 0E 01 00", "00 01 00 00 00 03 01 AB 02",
		 "Read Device Identification (43/14)"},
		{"00 01 00 00 00 06 01 08 00 00 12 34", "00 01 00 00 00 03 01 88 01", "Diagnostics (8)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		exchange(&r, cases[i].q, cases[i].a);
		cr_assert_eq(r.n_records, 1, "case %zu", i);
		expect_str(r.records[0], "Description.Function", cases[i].function);
		run_free(&r);
	}
}

Test(modbus, over_udp)
{
	struct run r;
	uint8_t b[64];
	run_start(&r);
	build_udp(&F, HMI, 49200, PLC, 502, b, hex_to_bytes("00 01 00 00 00 06 01 03 1B 58 00 02", b, sizeof(b)));
	F.ts_usec = T0;
	run_frame(&r, &F);
	build_udp(&F, PLC, 502, HMI, 49200, b, hex_to_bytes("00 01 00 00 00 03 01 83 02", b, sizeof(b)));
	F.ts_usec = T0 + 10000;
	run_frame(&r, &F);
	/* A datagram whose MBAP length disagrees with its size: no record. */
	build_udp(&F, PLC, 502, HMI, 49200, b, hex_to_bytes("00 02 00 00 00 04 01 83 02", b, sizeof(b)));
	F.ts_usec = T0 + 20000;
	run_frame(&r, &F);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", "00010000000601031B580002");
	run_free(&r);
}

/* A request cut at every length and never completed: no record, no crash. */
Test(modbus, truncated_streams)
{
	uint8_t a[9];
	size_t n = hex_to_bytes("00 05 00 00 00 03 01 83 03", a, sizeof(a));
	for (size_t cut = 1; cut < n; cut++) {
		struct run r;
		struct conn c;
		run_start(&r);
		conn_open(&c, &r, HMI_PORT, 502);
		req(&c, "00 05 00 00 00 06 01 03 00 64 00 01");
		conn_send(&c, 1, a, cut, TH_PSH | TH_ACK);
		conn_send(&c, 0, NULL, 0, TH_FIN | TH_ACK);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "cut at %zu", cut);
		run_free(&r);
	}
}

/* Modbus on a port nobody registered: found by its first bytes. */
Test(modbus, found_on_another_port)
{
	struct run r;
	struct conn c;
	run_start(&r);
	conn_open(&c, &r, HMI_PORT, 5020);
	req(&c, "00 01 00 00 00 06 01 03 9C 40 00 02");
	resp(&c, "00 01 00 00 00 03 01 83 02");
	req(&c, "00 02 00 00 00 06 01 01 00 00 00 08");
	resp(&c, "00 02 00 00 00 03 01 81 01");
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", "00010000000601039C400002");
	expect_str(r.records[1], "Error Code", "30");
	run_free(&r);
}
