/* The DNP3 plugin, through the whole engine: frames in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define MASTER_IP "192.0.2.30"
#define OUTST_IP "192.0.2.40"
#define MASTER 3
#define OUTST 4
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

/* ---- frame builder (its own CRC: IEEE 1815 9.2.1.2) ---------------------- */

struct pk {
	uint8_t b[8192];
	size_t n;
};

static uint16_t crc16(const uint8_t *p, size_t n)
{
	uint16_t c = 0;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (uint16_t)((c >> 1) ^ 0xA6BC) : (uint16_t)(c >> 1);
	}
	return (uint16_t)~c;
}

static void put_crc(struct pk *p, const uint8_t *from, size_t n)
{
	uint16_t c = crc16(from, n);
	p->b[p->n++] = (uint8_t)c;
	p->b[p->n++] = (uint8_t)(c >> 8);
}

/* One link frame (primary, UNCONFIRMED_USER_DATA) appended to p. */
static void link_frame(struct pk *p, int from_master, uint16_t dst, uint16_t src, const uint8_t *user,
		       size_t ulen)
{
	size_t h = p->n;
	p->b[p->n++] = 0x05;
	p->b[p->n++] = 0x64;
	p->b[p->n++] = (uint8_t)(ulen + 5);
	p->b[p->n++] = from_master ? 0xC4 : 0x44;
	p->b[p->n++] = (uint8_t)dst;
	p->b[p->n++] = (uint8_t)(dst >> 8);
	p->b[p->n++] = (uint8_t)src;
	p->b[p->n++] = (uint8_t)(src >> 8);
	put_crc(p, p->b + h, 8);
	for (size_t off = 0; off < ulen; off += 16) {
		size_t blk = ulen - off < 16 ? ulen - off : 16;
		memcpy(p->b + p->n, user + off, blk);
		p->n += blk;
		put_crc(p, user + off, blk);
	}
}

/* An application fragment (hex) -> its link frames, transport-segmented. */
static struct pk *frag(int from_master, const char *app_hex)
{
	static struct pk out;
	uint8_t app[4096], user[250];
	size_t n = hex_to_bytes(app_hex, app, sizeof(app));
	uint16_t dst = from_master ? OUTST : MASTER, src = from_master ? MASTER : OUTST;
	out.n = 0;
	for (size_t off = 0, seq = 0; off < n || off == 0; seq++) {
		size_t k = n - off < 249 ? n - off : 249;
		user[0] = (uint8_t)((seq & 0x3F) | (off == 0 ? 0x40 : 0) | (off + k == n ? 0x80 : 0));
		memcpy(user + 1, app + off, k);
		link_frame(&out, from_master, dst, src, user, k + 1);
		off += k;
		if (off == n)
			break;
	}
	return &out;
}

static const char *hex_of(const struct pk *p)
{
	static char out[2 * sizeof(p->b) + 1];
	for (size_t i = 0; i < p->n; i++)
		snprintf(out + 2 * i, 3, "%02X", p->b[i]);
	out[2 * p->n] = '\0';
	return out;
}

/* ---- running ---------------------------------------------------------------- */

static void start(struct run *r, struct conn *c)
{
	run_start_with(r, X1367_DISSECTOR_ENTRY());
	conn_open_at(c, r, MASTER_IP, OUTST_IP, 50000, 20000, T0);
}

static void send(struct conn *c, int from_outstation, const struct pk *p)
{
	conn_send(c, from_outstation, p->b, p->n, TH_PSH | TH_ACK);
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

static void expect_has(const char *rec, const char *path, const char *part)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_not_null(strstr(got, part), "%s: \"%s\" lacks \"%s\"", path, got, part);
}

/* ---- CRC and link layer -------------------------------------------------- */

Test(dnp3, crc_matches_a_real_outstation)
{
	/* dnp3_test_data_part1.pcap frame 164, written by a real outstation. */
	uint8_t hdr[] = {0x05, 0x64, 0x0A, 0x44, 0x03, 0x00, 0x04, 0x00};
	uint16_t c = crc16(hdr, sizeof(hdr));
	cr_assert_eq(c & 0xFF, 0x7C);
	cr_assert_eq(c >> 8, 0xAE);
}

Test(dnp3, real_capture_bytes_function_not_supported_with_sequence_mismatch)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	conn_send_hex(&c, 0, "056411C4040003004EEFC1C1123C02060107063C04ED8763");
	conn_send_hex(&c, 1, "05640A44030004007CAEDCC38110016878");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1, "%zu records", r.n_records);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "DNP3");
	expect_str(rec, "Error Code", "30");
	expect_str(rec, "Responder.Unique ID", OUTST_IP "#4");
	expect_str(rec, "Responder.Transmitted Code", "05640A44030004007CAEDCC38110016878");
	expect_str(rec, "Requester.Transmitted Code", "056411C4040003004EEFC1C1123C02060107063C04ED8763");
	expect_str(rec, "Description.Function", "STOP_APPL (0x12)");
	expect_str(rec, "Description.Vendor Code", "0001");
	expect_has(rec, "Description.Sequence Mismatch", "(SEQ 1) with SEQ 3");
	cr_assert_eq(run_stat(&r, "transactions.no_response"), 0);
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

Test(dnp3, select_crob_parameter_error_lists_every_failure)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	/* SELECT g12v1 index 7, answered with IIN2.2 and status 4. */
	struct pk q = *frag(1, "C3 03 0C 01 28 01 00 07 00 03 01 64 00 00 00 64 00 00 00 00");
	send(&c, 0, &q);
	struct pk a = *frag(0, "C3 81 00 04 0C 01 28 01 00 07 00 03 01 64 00 00 00 64 00 00 00 04");
	send(&c, 1, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Error Code", "31");
	expect_str(rec, "Description.Vendor Code", "0004");
	expect_str(rec, "Requester.Transmitted Code", hex_of(&q));
	expect_str(rec, "Responder.Transmitted Code", hex_of(&a));
	expect_has(rec, "Description.Errors", "IIN2.2 PARAMETER_ERROR");
	expect_has(rec, "Description.Errors", "index 7: status 4 NOT_SUPPORTED (0C04)");
	expect_has(rec, "Description.Objects", "g12v1 Control Relay Output Block, index 7");
	expect_str(rec, "Description.Function", "SELECT (0x03)");
	run_free(&r);
}

Test(dnp3, control_status_alone_and_analog_output)
{
	static const struct {
		const char *answer;
		const char *code, *vendor;
	} cases[] = {
		{"C1 81 00 00 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 07", "23", "0C07"},
		{"C1 81 00 00 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 12", "11", "0C12"},
		{"C1 81 00 00 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 7F", "FF", "0C7F"},
		{"C1 81 00 00 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 40", "FF", "0C40"},
		{"C1 81 00 00 29 02 17 01 05 10 00 0C", "31", "290C"},
		{"C1 81 00 00 29 01 28 01 00 05 00 10 00 00 00 08", "42", "2908"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		struct conn c;
		start(&r, &c);
		send(&c, 0, frag(1, "C1 05 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 00"));
		send(&c, 1, frag(0, cases[i].answer));
		run_finish(&r);
		cr_assert_eq(r.n_records, 1, "case %zu: %zu records", i, r.n_records);
		expect_str(r.records[0], "Error Code", cases[i].code);
		expect_str(r.records[0], "Description.Vendor Code", cases[i].vendor);
		run_free(&r);
	}
}

Test(dnp3, success_and_null_responses_give_no_record)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 0, frag(1, "C1 05 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 00"));
	send(&c, 1, frag(0, "C1 81 80 00 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 00"));
	send(&c, 0, frag(1, "C2 01 3C 01 06"));
	send(&c, 1, frag(0, "C2 81 00 00 01 02 00 00 01 01 01"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "parse_errors"), 0);
	cr_assert_eq(run_stat(&r, "transactions.answered"), 2);
	run_free(&r);
}

Test(dnp3, bad_crc_is_counted_and_not_decoded)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 0, frag(1, "C4 01 3C 02 06"));
	struct pk a = *frag(0, "C4 81 00 02");
	a.b[11] ^= 0x01;                    /* the application control byte */
	send(&c, 1, &a);
	c.now += 10 * SEC;
	send(&c, 0, frag(1, "C5 17"));
	run_finish(&r);
	/* The corrupted answer is no answer: its request times out. */
	cr_assert_eq(run_stat(&r, "protocols.dnp3.events.bad_crc"), 1);
	cr_assert_eq(run_stat(&r, "parse_errors"), 1);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Responder.Unique ID", OUTST_IP "#4");
	run_free(&r);
}

Test(dnp3, bad_header_crc_resynchronises_on_the_next_frame)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 0, frag(1, "C4 01 3C 02 06"));
	struct pk a;
	a.n = 0;
	memcpy(a.b, "\x05\x64\x05\x44\x99\x99\x12\x34\x00\x00garbage", 17);
	a.n = 17;
	struct pk good = *frag(0, "C4 81 00 02");
	memcpy(a.b + a.n, good.b, good.n);
	a.n += good.n;
	send(&c, 1, &a);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&good));
	cr_assert_eq(run_stat(&r, "protocols.dnp3.events.bad_header_crc"), 1);
	run_free(&r);
}

Test(dnp3, several_frames_per_segment_and_one_frame_across_segments)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	struct pk two = *frag(1, "C1 01 3C 02 06");
	struct pk second = *frag(1, "C2 01 3C 03 06");
	memcpy(two.b + two.n, second.b, second.n);
	two.n += second.n;
	send(&c, 0, &two);
	struct pk a1 = *frag(0, "C1 81 00 02");
	struct pk a2 = *frag(0, "C2 81 00 01");
	conn_send(&c, 1, a1.b, 7, TH_PSH | TH_ACK);
	conn_send(&c, 1, a1.b + 7, a1.n - 7, TH_PSH | TH_ACK);
	send(&c, 1, &a2);
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Description.Vendor Code", "0002");
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&a1));
	expect_has(r.records[0], "Description.Objects", "g60v2 Class 1 Data");
	expect_str(r.records[1], "Description.Vendor Code", "0001");
	expect_has(r.records[1], "Description.Objects", "g60v3 Class 2 Data");
	run_free(&r);
}

Test(dnp3, transport_reassembly_over_two_link_frames)
{
	struct run r;
	struct conn c;
	char req[2000], ans[2000];
	size_t q = 0, a = 0;
	/* DIRECT_OPERATE of 25 CROBs (1-byte index prefix): 302 bytes. */
	q += (size_t)snprintf(req + q, sizeof(req) - q, "C7 05 0C 01 17 19");
	a += (size_t)snprintf(ans + a, sizeof(ans) - a, "C7 81 00 00 0C 01 17 19");
	for (int i = 0; i < 25; i++) {
		q += (size_t)snprintf(req + q, sizeof(req) - q, " %02X 41 01 64 00 00 00 64 00 00 00 00", i);
		a += (size_t)snprintf(ans + a, sizeof(ans) - a, " %02X 41 01 64 00 00 00 64 00 00 00 %02X", i,
				      i == 24 ? 6 : 0);
	}
	start(&r, &c);
	send(&c, 0, frag(1, req));
	struct pk answer = *frag(0, ans);
	cr_assert_gt(answer.n, 292, "one frame only");
	send(&c, 1, &answer);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "41");
	expect_has(r.records[0], "Description.Errors", "index 24: status 6 HARDWARE_ERROR");
	expect_str(r.records[0], "Responder.Transmitted Code", hex_of(&answer));
	run_free(&r);
}

Test(dnp3, truncated_and_garbage_streams_are_survived)
{
	static const char *const garbage[] = {
		"05", "05 64", "05 64 FF", "00 00 00 00 00 00 00 00 00 00 00 00",
		"05 64 05 C4 04 00 03 00 FF FF 05 64 05",
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		struct run r;
		struct conn c;
		start(&r, &c);
		conn_send_hex(&c, 0, garbage[i]);
		struct pk a = *frag(0, "C4 81 00 02");
		conn_send(&c, 1, a.b, a.n - 3, TH_PSH | TH_ACK);    /* cut short */
		conn_close(&c);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "case %zu", i);
		run_check_records(&r);
		run_free(&r);
	}
}

Test(dnp3, object_walk_stops_safely_on_hostile_headers)
{
	/* Ranges that overflow, counts far beyond the bytes, reserved
	 * qualifiers: no record beyond what the IIN says, no crash. */
	static const char *const answers[] = {
		"C1 81 00 00 0C 01 02 00 00 00 00 FF FF FF FF",
		"C1 81 00 00 0C 01 09 FF FF FF FF 01",
		"C1 81 00 00 0C 03 00 00 FF",
		"C1 81 00 00 78 07 5B 01 FF FF 01",
		"C1 81 00 00 0C 01 7F 01",
		"C1 81 00 00 29 01 01 05 00 01 00",
	};
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		struct run r;
		struct conn c;
		start(&r, &c);
		send(&c, 0, frag(1, "C1 05 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 00"));
		send(&c, 1, frag(0, answers[i]));
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "case %zu", i);
		run_free(&r);
	}
}

/* ---- unsolicited responses and states --------------------------------------- */

Test(dnp3, unsolicited_is_never_without_request_and_iin2_is_no_error)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 1, frag(0, "F1 82 90 01"));
	send(&c, 0, frag(1, "D1 00"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	cr_assert_eq(run_stat(&r, "transactions.opened"), 0, "a CONFIRM needs no answer");
	run_free(&r);
}

Test(dnp3, device_trouble_once_per_episode)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 1, frag(0, "F1 82 40 00"));
	send(&c, 1, frag(0, "F2 82 40 00"));
	send(&c, 0, frag(1, "C3 01 3C 01 06"));
	send(&c, 1, frag(0, "C3 81 40 00"));
	send(&c, 1, frag(0, "F4 82 00 00"));     /* the episode ends */
	send(&c, 1, frag(0, "F5 82 40 08"));     /* a new one, and an overflow */
	run_finish(&r);
	cr_assert_eq(r.n_records, 2, "%zu records", r.n_records);
	expect_str(r.records[0], "Error Code", "41");
	expect_str(r.records[0], "Description.Vendor Code", "4000");
	expect_str(r.records[1], "Error Code", "41");
	expect_has(r.records[1], "Description.Errors", "EVENT_BUFFER_OVERFLOW");
	/* Both came in unsolicited responses: marked so (ABI 1.4), they
	 * expected no request and are no responses without one. */
	expect_str(r.records[0], "Description.Request", "none: sent by the device on its own");
	expect_str(r.records[1], "Description.Request", "none: sent by the device on its own");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	cr_assert_eq(run_stat(&r, "protocols.dnp3.unsolicited_reports"), 2);
	run_free(&r);
}

/* One single-frame fragment from outstation `src` to the master. */
static struct pk *from_outstation(uint16_t src, const char *app_hex)
{
	static struct pk out;
	uint8_t user[250];
	user[0] = 0xC0;                                 /* FIR FIN, seq 0 */
	size_t n = hex_to_bytes(app_hex, user + 1, sizeof(user) - 1);
	out.n = 0;
	link_frame(&out, 0, MASTER, src, user, n + 1);
	return &out;
}

/* The episode is the connection's: what one connection saw neither hides
 * nor ends a state on another (a global table did both, and mixed flows
 * that worker threads dissect at once). */
Test(dnp3, device_states_are_kept_per_connection)
{
	struct run r;
	struct conn a, b;
	start(&r, &a);
	conn_open_at(&b, &r, MASTER_IP, OUTST_IP, 50001, 20000, T0);
	send(&a, 1, frag(0, "F1 82 40 00"));
	send(&b, 1, frag(0, "F1 82 40 00"));     /* the same device, another connection */
	send(&a, 1, frag(0, "F2 82 40 00"));
	send(&b, 1, frag(0, "F2 82 00 00"));     /* ends b's episode, not a's */
	send(&a, 1, frag(0, "F3 82 40 00"));     /* still a's first episode */
	run_finish(&r);
	cr_assert_eq(r.n_records, 2, "%zu records", r.n_records);
	expect_str(r.records[0], "Description.Vendor Code", "4000");
	expect_str(r.records[1], "Description.Vendor Code", "4000");
	run_free(&r);
}

/* DEV_FLOW (8) outstations of one connection in an episode at once: the
 * ninth is counted, not reported; an entry is free again once its
 * device's states are off. */
Test(dnp3, device_table_of_a_connection_is_bounded)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	for (uint16_t i = 0; i < 9; i++)
		send(&c, 1, from_outstation((uint16_t)(10 + i), "F1 82 40 00"));
	send(&c, 1, from_outstation(10, "F2 82 00 00"));      /* 10's episode ends */
	send(&c, 1, from_outstation(18, "F2 82 40 00"));      /* 18 now has room */
	send(&c, 1, from_outstation(11, "F2 82 40 00"));      /* still 11's episode */
	run_finish(&r);
	cr_assert_eq(r.n_records, 9, "%zu records", r.n_records);
	cr_assert_eq(run_stat(&r, "protocols.dnp3.events.device_table_full"), 1);
	expect_str(r.records[8], "Responder.Unique ID", OUTST_IP "#18");
	run_free(&r);
}

/* SLOTS_DIR (4) fragments in progress per direction of a flow; another
 * flow has its own. */
Test(dnp3, transport_slots_are_bounded_per_flow)
{
	struct run r;
	struct conn a, b;
	uint8_t first[] = {0x40, 0xC1, 0x81, 0x00, 0x02}; /* FIR, no FIN */
	uint8_t last[] = {0x81, 0x00};                     /* FIN, seq 1 */
	struct pk p;
	start(&r, &a);
	conn_open_at(&b, &r, MASTER_IP, OUTST_IP, 50001, 20000, T0);
	p.n = 0;
	for (uint16_t i = 0; i < 5; i++)
		link_frame(&p, 0, MASTER, (uint16_t)(10 + i), first, sizeof(first));
	send(&a, 1, &p);
	p.n = 0;
	link_frame(&p, 0, MASTER, 20, first, sizeof(first));
	link_frame(&p, 0, MASTER, 20, last, sizeof(last));
	send(&b, 1, &p);
	run_finish(&r);
	cr_assert_eq(run_stat(&r, "protocols.dnp3.events.transport_slots_full"), 1);
	cr_assert_eq(r.n_records, 1, "%zu records", r.n_records);
	expect_str(r.records[0], "Responder.Unique ID", OUTST_IP "#20");
	expect_str(r.records[0], "Description.Vendor Code", "0002");
	run_free(&r);
}

/* 257 connections each leaving 4 fragments unfinished: the sensor-wide
 * budget (1,024) holds, the 4 past it are counted. */
Test(dnp3, transport_slots_are_bounded_in_the_whole_sensor)
{
	static struct conn c[257];
	uint8_t first[] = {0x40, 0xC1, 0x81, 0x00, 0x02}; /* FIR, no FIN */
	struct run r;
	struct pk p;
	start(&r, &c[0]);
	for (unsigned k = 1; k < 257; k++)
		conn_open_at(&c[k], &r, MASTER_IP, OUTST_IP, (uint16_t)(40000 + k), 20000, T0);
	for (unsigned k = 0; k < 257; k++) {
		p.n = 0;
		for (uint16_t i = 0; i < 4; i++)
			link_frame(&p, 0, MASTER, (uint16_t)(10 + i), first, sizeof(first));
		send(&c[k], 1, &p);
	}
	run_finish(&r);
	cr_assert_eq(run_stat(&r, "protocols.dnp3.events.transport_slots_full"), 4);
	run_free(&r);
}

/* ---- pairing and deadlines --------------------------------------------------- */

Test(dnp3, unanswered_request_is_no_response_but_broadcast_and_no_ack_are_not)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 0, frag(1, "C1 0D"));                     /* COLD_RESTART */
	struct pk bc;
	uint8_t user[] = {0xC0, 0xC2, 0x15, 0x3C, 0x02, 0x06};
	bc.n = 0;
	link_frame(&bc, 1, 0xFFFF, MASTER, user, sizeof(user));
	send(&c, 0, &bc);                                  /* broadcast */
	send(&c, 0, frag(1, "C3 06 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 00"));
	c.now += 10 * SEC;
	send(&c, 0, frag(1, "C4 17"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1, "%zu records", r.n_records);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Function", "COLD_RESTART (0x0D)");
	expect_str(r.records[0], "Responder.Unique ID", OUTST_IP "#4");
	run_free(&r);
}

Test(dnp3, response_to_no_request_is_counted)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 1, frag(0, "C9 81 00 02"));
	send(&c, 1, frag(0, "CA 81 00 00"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	expect_str(r.records[0], "Description.Outstation Address", "4");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 2);
	cr_assert_eq(run_stat(&r, "protocols.dnp3.unsolicited_reports"), 0, "a Response (0x81) is solicited");
	run_free(&r);
}

Test(dnp3, secure_authentication_error)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	send(&c, 0, frag(1, "C5 04 0C 01 17 01 02 41 01 64 00 00 00 64 00 00 00 00"));
	/* AUTH_RESP g120v7: seq 1, user 1, association 0, error 1. */
	send(&c, 1, frag(0, "C5 83 00 00 78 07 5B 01 0F 00 01 00 00 00 01 00 00 00 01 00 00 00 00 00 00"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "20");
	expect_str(r.records[0], "Description.Vendor Code", "7801");
	expect_str(r.records[0], "Description.Function", "OPERATE (0x04)");
	expect_has(r.records[0], "Description.Errors", "Authentication failed");
	run_free(&r);
}

Test(dnp3, over_udp)
{
	struct run r;
	struct frame f;
	run_start_with(&r, X1367_DISSECTOR_ENTRY());
	struct pk q = *frag(1, "C1 01 3C 02 06");
	build_udp(&f, MASTER_IP, 20000, OUTST_IP, 20000, q.b, q.n);
	f.ts_usec = T0;
	run_frame(&r, &f);
	struct pk a = *frag(0, "C1 81 00 02");
	build_udp(&f, OUTST_IP, 20000, MASTER_IP, 20000, a.b, a.n);
	f.ts_usec = T0 + SEC / 10;
	run_frame(&r, &f);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Transport", "UDP");
	expect_str(r.records[0], "Error Code", "31");
	run_free(&r);
}

Test(dnp3, found_on_another_port)
{
	struct run r;
	struct conn c;
	run_start_with(&r, X1367_DISSECTOR_ENTRY());
	conn_open_at(&c, &r, MASTER_IP, OUTST_IP, 50000, 21000, T0);
	send(&c, 0, frag(1, "C1 01 3C 02 06"));
	send(&c, 1, frag(0, "C1 81 00 02"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Protocol", "DNP3");
	expect_str(r.records[0], "Description.Responder Port", "21000");
	run_free(&r);
}

Test(dnp3, file_command_status)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	/* OPEN_FILE of "a.txt"; the answer g70v4 says FILE_NOT_FOUND. */
	send(&c, 0, frag(1, "C2 19 46 03 5B 01 1B 00 1A 00 05 00 00 00 00 00 00 00 00 00 00 00 00 00"
			     " 00 00 00 00 00 00 01 00 00 04 61 2E 74 78 74"));
	send(&c, 1, frag(0, "C2 81 00 00 46 04 5B 01 0D 00 00 00 00 00 00 00 00 00 00 00 00 00 03"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Vendor Code", "4603");
	expect_str(r.records[0], "Description.Function", "OPEN_FILE (0x19)");
	expect_has(r.records[0], "Description.Errors", "FILE_NOT_FOUND");
	run_free(&r);
}

Test(dnp3, transport_sequence_error_and_orphan_segments)
{
	struct run r;
	struct conn c;
	uint8_t user[20] = {0x40, 0xC1, 0x81, 0x00, 0x02};    /* FIR, no FIN */
	struct pk p;
	start(&r, &c);
	send(&c, 0, frag(1, "C1 01 3C 02 06"));
	p.n = 0;
	link_frame(&p, 0, MASTER, OUTST, user, 5);
	user[0] = 0x82;                                        /* FIN, seq 2: one missing */
	link_frame(&p, 0, MASTER, OUTST, user, 3);
	user[0] = 0x85;                                        /* FIN without its FIR */
	link_frame(&p, 0, MASTER, OUTST, user, 3);
	send(&c, 1, &p);
	run_finish(&r);
	cr_assert_eq(r.n_records, 0, "a fragment with a hole is never decoded");
	cr_assert_eq(run_stat(&r, "protocols.dnp3.events.transport_sequence_error"), 1);
	cr_assert_eq(run_stat(&r, "protocols.dnp3.events.transport_segment_without_first"), 1);
	run_free(&r);
}

Test(dnp3, request_of_two_link_frames_is_described)
{
	struct run r;
	struct conn c;
	start(&r, &c);
	/* 296 bytes of WRITE (an octet string): two link frames. */
	char req[1200];
	size_t q = (size_t)snprintf(req, sizeof(req), "C1 02 6E 01 5B 01 20 01");
	for (int i = 0; i < 288; i++)
		q += (size_t)snprintf(req + q, sizeof(req) - q, " %02X", i & 0xFF);
	send(&c, 0, frag(1, req));
	send(&c, 1, frag(0, "C1 81 00 01"));
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Responder.Unique ID", OUTST_IP "#4");
	expect_str(r.records[0], "Description.Function", "WRITE (0x02)");
	run_free(&r);
}
