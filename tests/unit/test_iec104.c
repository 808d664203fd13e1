/* The IEC 60870-5-104 plugin, through the whole engine: frames in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define CLI "192.0.2.30"       /* controlling station */
#define SRV "192.0.2.20"       /* controlled station, common address 37133 */
#define CLI_PORT 50000
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

/* ---- APDU builder ---------------------------------------------------------- */

struct apdu {
	uint8_t b[260];
	size_t n;
};

/* An I-frame with one object (or `nobj` objects of `elen` octets, SQ=0,
 * addresses ioa, ioa+1, ...). */
static struct apdu iframe_n(uint8_t type, uint8_t cot, uint16_t ca, uint32_t ioa,
			    const uint8_t *elem, size_t elen, unsigned nobj)
{
	struct apdu a = {.n = 0};
	a.b[a.n++] = 0x68;
	a.n++;                                  /* length, below */
	a.b[a.n++] = 0x02;                      /* N(S) = 1 */
	a.b[a.n++] = 0x00;
	a.b[a.n++] = 0x04;                      /* N(R) = 2 */
	a.b[a.n++] = 0x00;
	a.b[a.n++] = type;
	a.b[a.n++] = (uint8_t)nobj;
	a.b[a.n++] = cot;
	a.b[a.n++] = 0x01;                      /* originator */
	a.b[a.n++] = (uint8_t)ca;
	a.b[a.n++] = (uint8_t)(ca >> 8);
	for (unsigned k = 0; k < nobj; k++) {
		uint32_t x = ioa + k;
		a.b[a.n++] = (uint8_t)x;
		a.b[a.n++] = (uint8_t)(x >> 8);
		a.b[a.n++] = (uint8_t)(x >> 16);
		memcpy(a.b + a.n, elem, elen);
		a.n += elen;
	}
	a.b[1] = (uint8_t)(a.n - 2);
	return a;
}

static struct apdu iframe(uint8_t type, uint8_t cot, uint16_t ca, uint32_t ioa, uint8_t elem)
{
	return iframe_n(type, cot, ca, ioa, &elem, 1, 1);
}

static const char *hex_of(const struct apdu *a)
{
	static char out[600];
	for (size_t i = 0; i < a->n; i++)
		snprintf(out + 2 * i, 3, "%02X", a->b[i]);
	out[2 * a->n] = '\0';
	return out;
}

/* ---- one connection --------------------------------------------------------- */

static void start(struct run *r)
{
	run_start_with(r, X1367_DISSECTOR_ENTRY());
}

static void conn_open(struct conn *c, struct run *r)
{
	conn_open_at(c, r, CLI, SRV, CLI_PORT, 2404, T0);
}

static void csend(struct conn *c, const struct apdu *a)
{
	conn_send(c, 0, a->b, a->n, TH_PSH | TH_ACK);
}

static void ssend(struct conn *c, const struct apdu *a)
{
	conn_send(c, 1, a->b, a->n, TH_PSH | TH_ACK);
}

/* Moves the capture clock: a segment on another connection `secs` later. */
static void later(struct run *r, const struct conn *c, double secs)
{
	struct conn l;
	conn_open_at(&l, r, CLI, "192.0.2.99", CLI_PORT + 7, 2404, c->now + (uint64_t)(secs * SEC));
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

#define STARTDT_ACT "68 04 07 00 00 00"
#define STARTDT_CON "68 04 0B 00 00 00"
#define TESTFR_ACT "68 04 43 00 00 00"
#define TESTFR_CON "68 04 83 00 00 00"
#define S_FRAME "68 04 01 00 02 00"

/* ---- negative confirmations -------------------------------------------------- */

Test(iec104, negative_actcon_paired_with_its_activation)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	conn_send_hex(&c, 0, STARTDT_ACT);
	conn_send_hex(&c, 1, STARTDT_CON);
	struct apdu act = iframe(46, 6, 37133, 15000, 0x82);      /* C_DC_NA_1 act */
	struct apdu neg = iframe(46, 0x47, 37133, 15000, 0x82);   /* actcon, P/N */
	csend(&c, &act);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "IEC 60870-5-104");
	expect_str(rec, "Error Code", "3F");
	expect_str(rec, "Requester.Unique ID", CLI);
	expect_str(rec, "Requester.Transmitted Code", hex_of(&act));
	expect_str(rec, "Responder.Unique ID", SRV "#37133");
	expect_str(rec, "Responder.Transmitted Code", hex_of(&neg));
	expect_str(rec, "Description.Type ID", "C_DC_NA_1 (46) double command");
	expect_str(rec, "Description.Cause of Transmission", "activation confirmation (7)");
	expect_str(rec, "Description.P/N", "negative");
	expect_str(rec, "Description.Common Address", "37133");
	expect_str(rec, "Description.IOA", "15000");
	expect_str(rec, "Description.Vendor Code", "0107");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

Test(iec104, positive_confirmations_give_no_record)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(45, 6, 1, 10010, 0x81);
	struct apdu con = iframe(45, 7, 1, 10010, 0x81);
	struct apdu deact = iframe(45, 8, 1, 10010, 0x81);
	struct apdu deactcon = iframe(45, 9, 1, 10010, 0x81);
	csend(&c, &act);
	ssend(&c, &con);
	csend(&c, &deact);
	ssend(&c, &deactcon);
	later(&r, &c, 30);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 0);
	run_free(&r);
}

/* Every defined cause maps by the rules: P/N=1 -> 3F, 44/45 -> 30, 46/47
 * -> 31 (with or without P/N), anything else without P/N -> nothing. */
Test(iec104, causes_map_by_the_rules)
{
	static const struct {
		uint8_t cot;
		const char *x1367;     /* NULL: no record */
		const char *vendor;
	} cases[] = {
		{0x47, "3F", "0107"}, {0x49, "3F", "0109"}, {0x4A, "3F", "010A"},
		{0x45, "3F", "0105"}, {0x40, "3F", "0100"}, {0x52, "3F", "0112"},
		{0x6C, "30", "012C"}, {0x6D, "30", "012D"}, {0x6E, "31", "012E"}, {0x6F, "31", "012F"},
		{0x2C, "30", "002C"}, {0x2D, "30", "002D"}, {0x2E, "31", "002E"}, {0x2F, "31", "002F"},
		{0xC7, "3F", "0107"},  /* test bit: not part of the code */
		{0x07, NULL, NULL}, {0x0A, NULL, NULL}, {0x03, NULL, NULL}, {0x30, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r);
		struct apdu act = iframe(45, 6, 7, 100, 0x01);
		struct apdu ans = iframe(45, cases[i].cot, 7, 100, 0x01);
		csend(&c, &act);
		ssend(&c, &ans);
		run_finish(&r);
		if (!cases[i].x1367) {
			cr_assert_eq(r.n_records, 0, "case %zu (cot %02X)", i, cases[i].cot);
		} else {
			cr_assert_eq(r.n_records, 1, "case %zu (cot %02X)", i, cases[i].cot);
			expect_str(r.records[0], "Error Code", cases[i].x1367);
			expect_str(r.records[0], "Description.Vendor Code", cases[i].vendor);
		}
		run_free(&r);
	}
}

/* Causes 44-47 mirror the command: they answer it (no "No Response"). */
Test(iec104, unknown_ioa_answers_the_activation)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(45, 6, 7, 33333, 0x01);
	struct apdu unk = iframe(45, 0x6F, 7, 33333, 0x01);
	csend(&c, &act);
	ssend(&c, &unk);
	later(&r, &c, 60);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&act));
	expect_str(r.records[0], "Description.Cause of Transmission",
		   "unknown information object address (47)");
	run_free(&r);
}

Test(iec104, negative_without_request_is_still_reported)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu neg = iframe(45, 0x47, 7, 1, 0x01);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 1);
	run_free(&r);
}

/* An activation with P/N set (the bit belongs to confirmations) is the
 * negative message tshark shows; it asks for nothing, so no "10". */
Test(iec104, activation_with_pn_bit_is_reported_not_opened)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(45, 0x46, 37133, 33333, 0x81);
	csend(&c, &act);
	later(&r, &c, 60);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "3F");
	expect_str(r.records[0], "Responder.Unique ID", CLI);
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&act));
	expect_str(r.records[0], "Description.Vendor Code", "0106");
	run_free(&r);
}

Test(iec104, several_objects_are_all_named)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	uint8_t nva[3] = {0x10, 0x00, 0x00};
	struct apdu neg = iframe_n(48, 0x47, 7, 500, nva, 3, 3);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.IOAs", "500, 501, 502");
	expect_str(r.records[0], "Description.Objects", "3");
	run_free(&r);
}

/* ---- t1: activations and U-frames without confirmation ---------------------- */

Test(iec104, activation_without_confirmation_after_t1)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(100, 6, 37133, 0, 0x14);         /* C_IC_NA_1 */
	csend(&c, &act);
	later(&r, &c, 14);                                       /* inside t1 */
	cr_assert_eq(r.n_records, 0);
	later(&r, &c, 16);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "10");
	expect_str(rec, "Requester.Transmitted Code", hex_of(&act));
	expect_str(rec, "Responder.Transmitted Code", "");
	expect_str(rec, "Responder.Unique ID", SRV "#37133");
	expect_str(rec, "Description.Type ID", "C_IC_NA_1 (100) interrogation command");
	expect_str(rec, "Description.Request", "activation (6)");
	run_free(&r);
}

Test(iec104, capture_ending_inside_t1_reports_nothing)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(45, 6, 1, 5, 0x01);
	csend(&c, &act);
	conn_send_hex(&c, 0, TESTFR_ACT);
	later(&r, &c, 10);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

Test(iec104, testfr_and_startdt_without_con)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	conn_send_hex(&c, 0, STARTDT_ACT);
	conn_send_hex(&c, 1, TESTFR_ACT);       /* the controlled station tests too */
	conn_send_hex(&c, 0, TESTFR_CON);
	conn_send_hex(&c, 0, TESTFR_ACT);
	later(&r, &c, 20);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	/* a link test left unanswered: the link failed, not one request */
	expect_str(r.records[0], "Error Code", "11");
	expect_str(r.records[0], "Description.Function", "STARTDT act");
	expect_str(r.records[0], "Responder.Unique ID", SRV);
	expect_str(r.records[1], "Error Code", "11");
	expect_str(r.records[1], "Description.Function", "TESTFR act");
	expect_str(r.records[1], "Requester.Transmitted Code", "680443000000");
	run_free(&r);
}

Test(iec104, answered_u_frames_give_nothing)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	conn_send_hex(&c, 0, STARTDT_ACT);
	conn_send_hex(&c, 1, STARTDT_CON);
	conn_send_hex(&c, 0, TESTFR_ACT);
	conn_send_hex(&c, 1, TESTFR_CON);
	conn_send_hex(&c, 0, "68 04 13 00 00 00");   /* STOPDT act */
	conn_send_hex(&c, 1, "68 04 23 00 00 00");
	later(&r, &c, 20);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 0);
	run_free(&r);
}

/* ---- framing ------------------------------------------------------------------ */

Test(iec104, several_apdus_per_segment)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(46, 6, 37133, 15000, 0x82);
	struct apdu neg = iframe(46, 0x47, 37133, 15000, 0x82);
	uint8_t seg[300];
	size_t n = hex_to_bytes(S_FRAME, seg, sizeof(seg));
	memcpy(seg + n, neg.b, neg.n);
	n += neg.n;
	n += hex_to_bytes(TESTFR_CON, seg + n, sizeof(seg) - n);
	csend(&c, &act);
	conn_send_hex(&c, 0, TESTFR_ACT);
	conn_send(&c, 1, seg, n, TH_PSH | TH_ACK);
	later(&r, &c, 20);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&neg));
	expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&act));
	run_free(&r);
}

Test(iec104, one_apdu_split_at_every_offset)
{
	struct apdu act = iframe(45, 6, 9, 77, 0x01);
	struct apdu neg = iframe(45, 0x47, 9, 77, 0x01);
	for (size_t cut = 1; cut < neg.n; cut++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r);
		csend(&c, &act);
		conn_send(&c, 1, neg.b, cut, TH_ACK);
		conn_send(&c, 1, neg.b + cut, neg.n - cut, TH_PSH | TH_ACK);
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "cut at %zu", cut);
		expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&neg));
		cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 0, "cut at %zu", cut);
		run_free(&r);
	}
}

Test(iec104, truncated_at_every_offset)
{
	struct apdu act = iframe(45, 6, 9, 77, 0x01);
	struct apdu neg = iframe(45, 0x47, 9, 77, 0x01);
	for (size_t cut = 1; cut < neg.n; cut++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r);
		csend(&c, &act);
		conn_send(&c, 1, neg.b, cut, TH_PSH | TH_ACK);
		conn_close(&c);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "cut at %zu", cut);
		run_free(&r);
	}
}

/* The garbage of Wireshark's own test capture: prefixes before APDUs,
 * 0x68 with impossible lengths, S and U frames with a body, I-frames
 * shorter than an ASDU header.  No record, one parse error per run, and
 * the APDU after each run is found. */
Test(iec104, garbage_then_frames_again)
{
	static const char *const junk[] = {
		"02 02 68 00 12 12",
		"03 03 03 68 01 13 13 13",
		"07 07 07 68 05 17 17 17 17 17 17 17",
		"08 08 68 06 18 18 18 18 18 18 18 18",
		"09 09 68 06 19 19 19 19 19 19 19 19",
		"0A 0A 68 08 1A 1A 1A 1A 1A 1A 1A 1A 1A 1A",
		"68 FF 00 00 00 00",
	};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		struct run r;
		struct conn c;
		start(&r);
		conn_open(&c, &r);
		conn_send_hex(&c, 0, STARTDT_ACT);
		conn_send_hex(&c, 1, STARTDT_CON);
		conn_send_hex(&c, 0, junk[i]);
		struct apdu act = iframe(45, 6, 9, 77, 0x01);
		struct apdu neg = iframe(45, 0x47, 9, 77, 0x01);
		csend(&c, &act);
		ssend(&c, &neg);
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "junk %zu", i);
		expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&act));
		cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 1, "junk %zu", i);
		run_free(&r);
	}
}

Test(iec104, garbage_across_segments_is_one_error)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	conn_send_hex(&c, 0, STARTDT_ACT);
	conn_send_hex(&c, 0, "01 02 03 04 05 06 07");
	conn_send_hex(&c, 0, "08 09 0A 0B 68");
	conn_send_hex(&c, 0, "00 11 22");
	conn_send_hex(&c, 0, TESTFR_ACT);
	conn_send_hex(&c, 1, STARTDT_CON);
	conn_send_hex(&c, 1, TESTFR_CON);
	later(&r, &c, 20);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 1);
	run_free(&r);
}

/* A capture that starts inside an APDU: bytes before the first boundary
 * are skipped quietly, what follows is dissected. */
Test(iec104, midstream_pickup)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_init(&c, &r, CLI, SRV, CLI_PORT, 2404, T0);
	struct apdu act = iframe(45, 6, 9, 77, 0x01);
	struct apdu neg = iframe(45, 0x47, 9, 77, 0x01);
	struct apdu tail = iframe(13, 3, 9, 5, 0x00);
	conn_send(&c, 1, tail.b + 5, tail.n - 5, TH_PSH | TH_ACK);
	csend(&c, &act);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 0);
	run_free(&r);
}

Test(iec104, gap_then_resynchronised)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(45, 6, 9, 77, 0x01);
	struct apdu neg = iframe(45, 0x47, 9, 77, 0x01);
	struct apdu big = iframe_n(13, 3, 9, 1, (const uint8_t *)"\x68\x04\x43\x00\x00", 5, 20);
	csend(&c, &act);
	c.sseq += 40;                           /* a hole in the server stream */
	conn_send(&c, 1, big.b + 40, big.n - 40, TH_ACK);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&neg));
	run_free(&r);
}

/* ---- detection ------------------------------------------------------------------ */

Test(iec104, probe_verdicts)
{
	const struct x1367_dissector *d = X1367_DISSECTOR_ENTRY();
	uint8_t startdt[] = {0x68, 4, 7, 0, 0, 0}, testfr[] = {0x68, 4, 0x43, 0, 0, 0};
	uint8_t other[] = {0x68, 4, 1, 0, 0, 0};
	cr_assert_eq(d->probe(startdt, 6, X1367_TO_SERVER), X1367_PROBE_YES);
	cr_assert_eq(d->probe(testfr, 6, X1367_TO_SERVER), X1367_PROBE_YES);
	cr_assert_eq(d->probe(startdt, 6, X1367_TO_CLIENT), X1367_PROBE_NO);
	cr_assert_eq(d->probe(other, 6, X1367_TO_SERVER), X1367_PROBE_NO);
	for (size_t cut = 0; cut < 6; cut++)
		cr_assert_eq(d->probe(startdt, cut, X1367_TO_SERVER), X1367_PROBE_MAYBE, "cut %zu", cut);
}

Test(iec104, other_port_found_by_probe)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open_at(&c, &r, CLI, SRV, CLI_PORT, 12404, T0);
	conn_send_hex(&c, 0, STARTDT_ACT);
	conn_send_hex(&c, 1, STARTDT_CON);
	struct apdu act = iframe(45, 6, 9, 77, 0x01);
	struct apdu neg = iframe(45, 0x47, 9, 77, 0x01);
	csend(&c, &act);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Responder.Unique ID", SRV "#9");
	run_free(&r);
}

Test(iec104, deactivation_pairs_with_deactcon_only)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu deact = iframe(45, 8, 1, 10, 0x01);
	struct apdu actcon = iframe(45, 7, 1, 10, 0x01);    /* not its answer */
	csend(&c, &deact);
	ssend(&c, &actcon);
	later(&r, &c, 20);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Request", "deactivation (8)");
	expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&deact));
	cr_assert_eq(run_stat(&r, "responses_without_request"), 1);
	run_free(&r);
}

Test(iec104, unknown_type_and_group_causes_are_named)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu act = iframe(99, 6, 1, 10, 0x01);       /* type 99: not defined */
	struct apdu unk = iframe(99, 0x6C, 1, 10, 0x01);
	struct apdu grp = iframe(1, 0x57, 1, 10, 0x01);     /* P/N, cause 23 */
	csend(&c, &act);
	ssend(&c, &unk);
	ssend(&c, &grp);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Description.Type ID", "99 (not defined by IEC 60870-5-101/104)");
	expect_str(r.records[0], "Description.Cause of Transmission", "unknown type identification (44)");
	expect_str(r.records[1], "Error Code", "3F");
	expect_str(r.records[1], "Description.Cause of Transmission",
		   "interrogated by group 3 interrogation (23)");
	expect_str(r.records[1], "Description.Type ID", "M_SP_NA_1 (1) single-point information");
	run_free(&r);
}

/* A 6-octet ASDU header without its object: malformed, opens nothing,
 * but the refusal it states is on the wire (tshark reads its P/N bit). */
Test(iec104, short_asdu_is_malformed_and_its_refusal_reported)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	conn_send_hex(&c, 0, "68 0A 00 00 00 00 2D 01 06 01 07 00");   /* act: no object */
	conn_send_hex(&c, 1, "68 0A 00 00 00 00 2D 01 47 01 07 00");
	later(&r, &c, 20);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "3F");
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	cr_assert_null(record_get(r.records[0], "Description.IOA"));
	cr_assert_eq(run_stat(&r, "protocols.iec104.events.short_asdu"), 2);
	cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 0);
	run_free(&r);
}

/* A read (cause 5) owes no confirmation, but its refusal pairs with it. */
Test(iec104, read_of_unknown_object_pairs_and_never_times_out)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	struct apdu rd1 = iframe_n(102, 5, 1, 5555, (const uint8_t *)"", 0, 1);
	struct apdu rd2 = iframe_n(102, 5, 1, 10, (const uint8_t *)"", 0, 1);
	struct apdu unk = iframe_n(102, 0x2F, 1, 5555, (const uint8_t *)"", 0, 1);
	struct apdu spont = iframe(45, 3, 1, 7, 0x01);      /* a command with cause 3 */
	struct apdu badcause = iframe(45, 0x6D, 1, 7, 0x01);
	csend(&c, &rd1);
	csend(&c, &rd2);                                    /* answered by data: no record */
	ssend(&c, &unk);
	csend(&c, &spont);
	ssend(&c, &badcause);
	later(&r, &c, 30);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&rd1));
	expect_str(r.records[0], "Description.Type ID", "C_RD_NA_1 (102) read command");
	expect_str(r.records[1], "Error Code", "30");
	expect_str(r.records[1], "Requester.Transmitted Code", hex_of(&spont));
	expect_str(r.records[1], "Description.Request", "spontaneous (3)");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

/* Garbage whose last octet is 0x68 announces a 104-octet APDU; the real
 * APDU right after it, arriving in pieces, must not be swallowed. */
Test(iec104, garbage_ending_in_start_octet_does_not_swallow_the_next_apdu)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	conn_send_hex(&c, 0, STARTDT_ACT);
	conn_send_hex(&c, 0, "01 02 03 68 00 FF EE 68");
	struct apdu act = iframe(48, 6, 1, 3, 0x00);
	conn_send(&c, 0, act.b, 1, TH_PSH | TH_ACK);
	conn_send(&c, 0, act.b + 1, 8, TH_PSH | TH_ACK);
	conn_send(&c, 0, act.b + 9, act.n - 9, TH_PSH | TH_ACK);
	struct apdu neg = iframe(48, 0x47, 1, 3, 0x00);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", hex_of(&act));
	cr_assert_eq(run_stat(&r, "protocols.iec104.parse_errors"), 1);
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

/* Objects of a type whose element size is unknown: only the first
 * address can be told, the rest are not guessed. */
Test(iec104, objects_of_unknown_size_name_the_first_only)
{
	struct run r;
	struct conn c;
	start(&r);
	conn_open(&c, &r);
	uint8_t e[2] = {0xAA, 0xBB};
	struct apdu neg = iframe_n(99, 0x6C, 7, 500, e, 2, 3);
	ssend(&c, &neg);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.IOA", "500");
	expect_str(r.records[0], "Description.Objects", "3");
	cr_assert_null(record_get(r.records[0], "Description.IOAs"));
	run_free(&r);
}
