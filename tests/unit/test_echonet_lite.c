/* The ECHONET Lite dissector, through the whole engine: frames in, records out. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

#define CTRL "198.51.100.10"
#define AIRCON "198.51.100.20"
#define LIGHT "198.51.100.21"
#define GROUP "224.0.23.0"
#define EL 3610
#define EL_ALT 23610
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)


static struct frame F;
static uint64_t now;

static void udp(struct run *r, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		const char *hex)
{
	uint8_t b[1500];
	build_udp(&F, src, sport, dst, dport, b, hex_to_bytes(hex, b, sizeof(b)));
	cr_assert_gt(F.len, 0);
	now += 20000;
	F.ts_usec = now;
	run_frame(r, &F);
}

static void start(struct run *r)
{
	now = T0;
	run_start(r);
}

static const char *code_of(const char *hex)
{
	static char out[3000];
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

/* Controller asks the air conditioner, which answers. */
static void exchange(struct run *r, const char *request, const char *response)
{
	start(r);
	udp(r, CTRL, EL, AIRCON, EL, request);
	udp(r, AIRCON, EL, CTRL, EL, response);
	run_finish(r);
}

Test(echonet_lite, get_sna_names_the_refused_properties)
{
	struct run r;
	const char *q = "10 81 00 02 05 FF 01 01 30 01 62 03 80 00 88 00 BB 00";
	const char *a = "10 81 00 02 01 30 01 05 FF 01 52 03 80 01 30 88 00 BB 00";
	exchange(&r, q, a);
	cr_assert_eq(r.n_records, 1);
	const char *rec = r.records[0];
	expect_str(rec, "Protocol", "ECHONET Lite");
	expect_str(rec, "Error Code", "30");
	expect_str(rec, "Error Message", "Invalid Command");
	expect_str(rec, "Requester.Unique ID", CTRL);
	expect_str(rec, "Requester.Transmitted Code", code_of(q));
	expect_str(rec, "Responder.Unique ID", AIRCON "#013001");
	expect_str(rec, "Responder.Transmitted Code", code_of(a));
	expect_str(rec, "Description.TID", "2");
	expect_str(rec, "Description.ESV", "Get_SNA (0x52)");
	expect_str(rec, "Description.SEOJ", "013001 Home air conditioner");
	expect_str(rec, "Description.DEOJ", "05FF01 Controller");
	expect_str(rec, "Description.Refused Properties", "0x88 Fault status, 0xBB");
	expect_str(rec, "Description.Request ESV", "Get (0x62)");
	expect_once(rec, "TID");
	expect_once(rec, "ESV");
	expect_once(rec, "SEOJ");
	run_free(&r);
}

Test(echonet_lite, setc_sna_refuses_the_echoed_properties)
{
	struct run r;
	exchange(&r, "10 81 00 01 05 FF 01 02 90 01 61 02 80 01 30 97 02 0C 00",
		 "10 81 00 01 02 90 01 05 FF 01 51 02 80 00 97 02 0C 00");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.SEOJ", "029001 General lighting");
	expect_str(r.records[0], "Description.Refused Properties", "0x97 Current time setting");
	run_free(&r);
}

Test(echonet_lite, setget_sna_uses_both_lists)
{
	struct run r;
	exchange(&r, "10 81 00 01 05 FF 01 01 30 01 6E 02 80 01 30 B0 01 42 02 80 00 BB 00",
		 "10 81 00 01 01 30 01 05 FF 01 5E 02 80 00 B0 01 42 02 80 01 30 BB 00");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.ESV", "SetGet_SNA (0x5E)");
	expect_str(r.records[0], "Description.Refused Properties", "0xB0, 0xBB");
	run_free(&r);
}

Test(echonet_lite, nonstandard_setget_sna_5f)
{
	struct run r;
	exchange(&r, "10 81 00 01 05 FF 01 01 30 01 6E 01 80 01 30 01 80 00",
		 "10 81 00 01 01 30 01 05 FF 01 5F 01 80 01 30 01 80 01 30");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Refused Properties", "0x80 Operation status");
	run_free(&r);
}

Test(echonet_lite, inf_req_sna)
{
	struct run r;
	exchange(&r, "10 81 00 01 05 FF 01 01 30 01 63 01 80 00",
		 "10 81 00 01 01 30 01 05 FF 01 53 01 80 00");
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	run_free(&r);
}

Test(echonet_lite, seti_refused_is_reported_and_unanswered_seti_is_not)
{
	struct run r;
	start(&r);
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 01 05 FF 01 01 30 01 60 01 B0 01 99");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 01 01 30 01 05 FF 01 50 01 B0 01 99");
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 02 05 FF 01 01 30 01 60 01 80 01 30");
	now += 10 * SEC;
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 03 05 FF 01 01 30 01 62 01 80 00");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 03 01 30 01 05 FF 01 72 01 80 01 30");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1, "SetI without an answer was accepted: no No Response");
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Refused Properties", "0xB0");
	run_free(&r);
}

Test(echonet_lite, get_res_is_no_record)
{
	struct run r;
	exchange(&r, "10 81 00 01 05 FF 01 01 30 01 62 01 80 00",
		 "10 81 00 01 01 30 01 05 FF 01 72 01 80 01 30");
	cr_assert_eq(r.n_records, 0);
	run_free(&r);
}

Test(echonet_lite, unanswered_get_is_no_response)
{
	struct run r;
	const char *q = "10 81 00 01 05 FF 01 00 11 01 62 01 E0 00";
	start(&r);
	udp(&r, CTRL, EL, "198.51.100.22", EL, q);
	now += 6 * SEC;
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 02 05 FF 01 01 30 01 62 01 80 00");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 02 01 30 01 05 FF 01 72 01 80 01 30");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(q));
	expect_str(r.records[0], "Responder.Unique ID", "198.51.100.22#001101");
	expect_str(r.records[0], "Responder.Transmitted Code", "");
	expect_str(r.records[0], "Description.Request DEOJ", "001101 Temperature sensor");
	expect_str(r.records[0], "Description.Request ESV", "Get (0x62)");
	run_free(&r);
}

/* Answers come from another port: pairing ignores ports. */
Test(echonet_lite, answer_from_another_port)
{
	struct run r;
	start(&r);
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 01 05 FF 01 01 30 01 62 01 80 00");
	udp(&r, AIRCON, EL_ALT, CTRL, EL, "10 81 00 01 01 30 01 05 FF 01 52 01 80 00");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", "1081000105FF0101300162018000");
	run_free(&r);
}

Test(echonet_lite, multicast_answered_by_two_nodes_one_refusing)
{
	struct run r;
	const char *q = "10 81 00 01 05 FF 01 0E F0 01 62 02 D6 00 83 00";
	start(&r);
	udp(&r, CTRL, EL, GROUP, EL, q);
	udp(&r, AIRCON, EL_ALT, CTRL, EL, "10 81 00 01 0E F0 01 05 FF 01 72 02 D6 04 01 01 30 01 83 01 FE");
	udp(&r, LIGHT, EL_ALT, CTRL, EL, "10 81 00 01 0E F0 01 05 FF 01 52 02 D6 04 01 02 90 01 83 00");
	now += 10 * SEC;
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 02 05 FF 01 01 30 01 62 01 80 00");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 02 01 30 01 05 FF 01 72 01 80 01 30");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1, "one Get_SNA, and never No Response for multicast");
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(q));
	expect_str(r.records[0], "Responder.Unique ID", LIGHT "#0EF001");
	expect_str(r.records[0], "Description.Refused Properties", "0x83 Identification number");
	run_free(&r);
}

Test(echonet_lite, instance_zero_is_answered_by_any_instance)
{
	struct run r;
	const char *q = "10 81 00 01 05 FF 01 0E F0 00 62 01 9F 00";
	start(&r);
	udp(&r, CTRL, EL, AIRCON, EL, q);
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 01 0E F0 01 05 FF 01 52 01 9F 00");
	now += 10 * SEC;
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 02 05 FF 01 01 30 01 62 01 80 00");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 02 01 30 01 05 FF 01 72 01 80 01 30");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(q));
	expect_str(r.records[0], "Responder.Unique ID", AIRCON "#0EF001");
	expect_str(r.records[0], "Description.Refused Properties", "0x9F Get property map");
	run_free(&r);
}

/* Another instance answering is not the answer: the SNA is reported
 * alone, and the request it did not answer times out. */
Test(echonet_lite, other_instance_is_not_the_answer)
{
	struct run r;
	start(&r);
	udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 01 05 FF 01 01 30 02 62 01 80 00");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 01 01 30 01 05 FF 01 52 01 80 00");
	now += 10 * SEC;
	udp(&r, CTRL, EL, LIGHT, EL, "10 81 00 02 05 FF 01 02 90 01 62 01 80 00");
	udp(&r, LIGHT, EL, CTRL, EL, "10 81 00 02 02 90 01 05 FF 01 72 01 80 01 30");
	run_finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	expect_str(r.records[1], "Error Code", "10");
	expect_str(r.records[1], "Responder.Unique ID", AIRCON "#013002");
	run_free(&r);
}

Test(echonet_lite, sna_without_request)
{
	struct run r;
	start(&r);
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 07 01 30 01 05 FF 01 52 01 80 00");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Unique ID", CTRL);
	expect_str(r.records[0], "Requester.Transmitted Code", "");
	expect_str(r.records[0], "Responder.Unique ID", AIRCON "#013001");
	run_free(&r);
}

/* Malformed frames: no record, whatever they claim to be. */
Test(echonet_lite, malformed_frames_give_no_record)
{
	static const char *const bad[] = {
		"11 81 00 01 01 30 01 05 FF 01 52 01 80 00",        /* EHD1 */
		"10 83 00 01 01 30 01 05 FF 01 52 01 80 00",        /* EHD2 */
		"10 81 00 01 01 30 01 05 FF 01 52 05 80 00",        /* OPC > frame */
		"10 81 00 01 01 30 01 05 FF 01 52 01 80 04 30",     /* PDC past the end */
		"10 81 00 01 01 30 01 05 FF 01 52 01 80 00 DE AD",  /* trailing bytes */
		"10 81 00 01 01 30 01 05 FF 01 52",                 /* no OPC */
		"10 82 00 01 52 52 52 52",                          /* format 2: not parsed */
		"10",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r;
		exchange(&r, "10 81 00 01 05 FF 01 01 30 01 62 01 80 00", bad[i]);
		cr_assert_eq(r.n_records, 0, "case %zu", i);
		run_free(&r);
	}
}

/* An SNA cut at every length: never a record, never a read past the end. */
Test(echonet_lite, truncated_sna_at_every_length)
{
	const char *a = "10 81 00 01 01 30 01 05 FF 01 5E 01 80 01 30 02 80 00 BB 00";
	uint8_t b[64];
	size_t n = hex_to_bytes(a, b, sizeof(b));
	for (size_t cut = 0; cut < n; cut++) {
		struct run r;
		start(&r);
		udp(&r, CTRL, EL, AIRCON, EL, "10 81 00 01 05 FF 01 01 30 01 6E 01 80 01 30 02 80 00 BB 00");
		build_udp(&F, AIRCON, EL, CTRL, EL, b, cut);
		F.ts_usec = now + 1000;
		run_frame(&r, &F);
		run_finish(&r);
		cr_assert_eq(r.n_records, 0, "cut at %zu", cut);
		run_free(&r);
	}
}

Test(echonet_lite, over_tcp_frames_back_to_back_and_split)
{
	struct run r;
	uint8_t b[256];
	size_t n;
	uint32_t cseq = 100, sseq = 900;
	start(&r);
	build_tcp(&F, CTRL, 50000, AIRCON, EL, cseq++, 0, TH_SYN, NULL, 0);
	F.ts_usec = now += 1000;
	run_frame(&r, &F);
	build_tcp(&F, AIRCON, EL, CTRL, 50000, sseq++, cseq, TH_SYN | TH_ACK, NULL, 0);
	F.ts_usec = now += 1000;
	run_frame(&r, &F);
	n = hex_to_bytes("10 81 00 02 05 FF 01 01 30 01 61 01 80 01 31"
			 "10 81 00 03 05 FF 01 01 30 01 62 02 B0 00 B3 00", b, sizeof(b));
	build_tcp(&F, CTRL, 50000, AIRCON, EL, cseq, sseq, TH_PSH | TH_ACK, b, n);
	cseq += (uint32_t)n;
	F.ts_usec = now += 1000;
	run_frame(&r, &F);
	n = hex_to_bytes("10 81 00 02 01 30 01 05 FF 01 71 01 80 00"
			 "10 81 00 03 01 30 01 05 FF 01 52 02 B0 01 42 B3 00", b, sizeof(b));
	build_tcp(&F, AIRCON, EL, CTRL, 50000, sseq, cseq, TH_ACK, b, 9);
	F.ts_usec = now += 1000;
	run_frame(&r, &F);
	build_tcp(&F, AIRCON, EL, CTRL, 50000, sseq + 9, cseq, TH_PSH | TH_ACK, b + 9, n - 9);
	F.ts_usec = now += 1000;
	run_frame(&r, &F);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.TID", "3");
	expect_str(r.records[0], "Description.Refused Properties", "0xB3");
	run_free(&r);
}

/* ---- one TID, several requests in flight --------------------------------- */

/* No request left without its answer, no answer left without its request. */
static void expect_all_paired(const struct run *r)
{
	cr_assert_eq(run_stat(r, "transactions.no_response"), 0, "a false 10");
	cr_assert_eq(run_stat(r, "responses_without_request"), 0);
	cr_assert_eq(run_stat(r, "protocols.echonet-lite.events.response_without_request"), 0);
	cr_assert_eq(run_stat(r, "protocols.echonet-lite.events.esv_mismatch"), 0);
	cr_assert_eq(run_stat(r, "protocols.echonet-lite.events.instance_mismatch"), 0);
	cr_assert_eq(run_stat(r, "requests_pending"), 0);
}

/* An answered exchange 6 s later: every earlier deadline has passed. */
static void later(struct run *r)
{
	now += 6 * SEC;
	udp(r, CTRL, EL, LIGHT, EL, "10 81 00 7F 05 FF 01 02 90 01 62 01 80 00");
	udp(r, LIGHT, EL, CTRL, EL, "10 81 00 7F 02 90 01 05 FF 01 72 01 80 01 30");
}

/* One TCP segment from `src` to `dst` (sequence numbers kept by the caller). */
static void tcp(struct run *r, const char *src, uint16_t sport, const char *dst, uint16_t dport,
		uint32_t *seq, uint32_t ack, uint8_t flags, const char *hex)
{
	uint8_t b[512];
	size_t n = hex ? hex_to_bytes(hex, b, sizeof(b)) : 0;
	build_tcp(&F, src, sport, dst, dport, *seq, ack, flags, b, n);
	cr_assert_gt(F.len, 0);
	F.ts_usec = now += 1000;
	run_frame(r, &F);
	*seq += (uint32_t)n + ((flags & TH_SYN) ? 1 : 0);
}

#define GET_BB_TID5 "10 81 00 05 05 FF 01 01 30 01 62 01 BB 00"
#define SETC_80_TID5 "10 81 00 05 05 FF 01 01 30 01 61 01 80 01 31"

/* Two requests with one TID in one TCP segment (one capture time),
 * answered in order: the Get_SNA is the Get's, the Set_Res the SetC's. */
Test(echonet_lite, same_tid_twice_in_one_tcp_segment_answered_in_order)
{
	struct run r;
	uint32_t cseq = 100, sseq = 900;
	start(&r);
	tcp(&r, CTRL, 50001, AIRCON, EL, &cseq, 0, TH_SYN, NULL);
	tcp(&r, AIRCON, EL, CTRL, 50001, &sseq, cseq, TH_SYN | TH_ACK, NULL);
	tcp(&r, CTRL, 50001, AIRCON, EL, &cseq, sseq, TH_PSH | TH_ACK, GET_BB_TID5 SETC_80_TID5);
	tcp(&r, AIRCON, EL, CTRL, 50001, &sseq, cseq, TH_PSH | TH_ACK,
	    "10 81 00 05 01 30 01 05 FF 01 52 01 BB 00");
	tcp(&r, AIRCON, EL, CTRL, 50001, &sseq, cseq, TH_PSH | TH_ACK,
	    "10 81 00 05 01 30 01 05 FF 01 71 01 80 00");
	later(&r);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "30");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(GET_BB_TID5));
	expect_str(r.records[0], "Description.Request ESV", "Get (0x62)");
	expect_str(r.records[0], "Description.Refused Properties", "0xBB");
	expect_all_paired(&r);
	run_free(&r);
}

/* Over UDP a node may answer a quick request before a slow one: the ESV
 * the answer carries says which request of the TID it is for. */
Test(echonet_lite, same_tid_twice_answered_out_of_order_pairs_by_esv)
{
	struct run r;
	start(&r);
	udp(&r, CTRL, EL, AIRCON, EL, GET_BB_TID5);
	udp(&r, CTRL, EL, AIRCON, EL, SETC_80_TID5);
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 05 01 30 01 05 FF 01 51 01 80 01 31");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 05 01 30 01 05 FF 01 72 01 BB 01 41");
	later(&r);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(SETC_80_TID5));
	expect_str(r.records[0], "Description.Request ESV", "SetC (0x61)");
	expect_all_paired(&r);
	run_free(&r);
}

/* One TID to two instances of one class (the key holds the class only):
 * the answering instance says which request it answers. */
Test(echonet_lite, same_tid_to_two_instances_pairs_by_instance)
{
	struct run r;
	const char *q2 = "10 81 00 05 05 FF 01 01 30 02 62 01 BB 00";
	start(&r);
	udp(&r, CTRL, EL, AIRCON, EL, GET_BB_TID5);
	udp(&r, CTRL, EL, AIRCON, EL, q2);
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 05 01 30 02 05 FF 01 52 01 BB 00");
	udp(&r, AIRCON, EL, CTRL, EL, "10 81 00 05 01 30 01 05 FF 01 72 01 BB 01 41");
	later(&r);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Transmitted Code", code_of(q2));
	expect_str(r.records[0], "Responder.Unique ID", AIRCON "#013002");
	expect_all_paired(&r);
	run_free(&r);
}

Test(echonet_lite, ipv6_multicast)
{
	struct run r;
	start(&r);
	udp(&r, "2001:db8::10", EL, "ff02::1", EL, "10 81 00 01 05 FF 01 0E F0 01 62 01 D6 00");
	udp(&r, "2001:db8::21", EL_ALT, "2001:db8::10", EL, "10 81 00 01 0E F0 01 05 FF 01 52 01 D6 00");
	now += 10 * SEC;
	udp(&r, "2001:db8::10", EL, "2001:db8::20", EL, "10 81 00 02 05 FF 01 01 30 01 62 01 80 00");
	udp(&r, "2001:db8::20", EL, "2001:db8::10", EL, "10 81 00 02 01 30 01 05 FF 01 72 01 80 01 30");
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Requester.Unique ID", "2001:DB8:0:0:0:0:0:10");
	expect_str(r.records[0], "Responder.Unique ID", "2001:DB8:0:0:0:0:0:21#0EF001");
	expect_str(r.records[0], "Requester.Transmitted Code", "1081000105FF010EF0016201D600");
	run_free(&r);
}

/* A sensor that notifies every 10 s and stops: one silence record. */
Test(echonet_lite, silent_notifier)
{
	struct run r;
	char hex[128];
	start(&r);
	for (int i = 0; i < 7; i++) {
		snprintf(hex, sizeof(hex), "10 81 01 %02X 00 11 01 05 FF 01 73 01 E0 02 00 D7", i);
		udp(&r, "198.51.100.22", EL, GROUP, EL, hex);
		now += 10 * SEC;
	}
	for (int i = 0; i < 6; i++) {
		snprintf(hex, sizeof(hex), "10 81 00 %02X 05 FF 01 01 30 01 62 01 80 00", i + 16);
		udp(&r, CTRL, EL, AIRCON, EL, hex);
		snprintf(hex, sizeof(hex), "10 81 00 %02X 01 30 01 05 FF 01 72 01 80 01 30", i + 16);
		udp(&r, AIRCON, EL, CTRL, EL, hex);
		now += 10 * SEC;
	}
	run_finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "11");
	expect_str(r.records[0], "Responder.Unique ID", "198.51.100.22#001101");
	expect_str(r.records[0], "Responder.Transmitted Code", "");
	run_free(&r);
}
