/* The BACnet/IP plugin, compiled in and registered as an extra dissector,
 * through the whole engine: datagrams in, records out.  Datagrams are
 * built here byte by byte (hex), apart from the dissector. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"

#define WS "192.0.2.10"
#define DEV "192.0.2.20"
#define DEV2 "192.0.2.21"
#define ROUTER "192.0.2.30"
#define BCAST "192.0.2.255"
#define BAC 47808
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

static struct frame F;
static uint64_t now;

struct msg {
	uint8_t b[1600];
	size_t len;
};

/* A BVLL message: BVLC `function` and its length, then the hex bytes. */
static void bvll(struct msg *m, uint8_t function, const char *hex)
{
	m->len = 4 + hex_to_bytes(hex, m->b + 4, sizeof(m->b) - 4);
	m->b[0] = 0x81;
	m->b[1] = function;
	m->b[2] = (uint8_t)(m->len >> 8);
	m->b[3] = (uint8_t)m->len;
}

/* Original-Unicast-NPDU, an NPDU without routing, then the APDU. */
static void uni(struct msg *m, const char *apdu_hex)
{
	char hex[3000];

	snprintf(hex, sizeof(hex), "0100 %s", apdu_hex);
	bvll(m, 0x0A, hex);
}

static void send_from(struct run *r, const char *src, uint16_t sport, const char *dst, const struct msg *m,
		      uint64_t gap)
{
	now += gap;
	build_udp(&F, src, sport, dst, BAC, m->b, m->len);
	F.ts_usec = now;
	run_frame(r, &F);
}

static void udp(struct run *r, const char *src, const char *dst, const struct msg *m)
{
	send_from(r, src, BAC, dst, m, 20000);
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

/* readProperty analog-input 3 present-value, invoke 7 */
#define READ_AI3_PV "0205 07 0C 0C00000003 1955"

/* ---- error codes -------------------------------------------------------- */

struct mapping {
	const char *apdu;                 /* the answer to READ_AI3_PV */
	const char *vendor, *x1367, *meaning;
};

static const struct mapping mappings[] = {
	/* Error: class, code (application-tagged enumerated) */
	{"50 07 0C 9101 911F", "050001001F", "31", "unknown-object"},
	{"50 07 0C 9102 9120", "0500020020", "31", "unknown-property"},
	{"50 07 0C 9102 9128", "0500020028", "23", "write-access-denied"},
	{"50 07 0C 9100 9103", "0500000003", "42", "device-busy"},
	{"50 07 0C 9104 911A", "050004001A", "20", "password-failure"},
	{"50 07 0C 9107 911E", "050007001E", "10", "timeout"},
	{"50 07 0C 9105 911D", "050005001D", "23", "service-request-denied"},
	{"50 07 0C 9105 9143", "0500050043", "30", "reject-unrecognized-service"},
	{"50 07 0C 9107 91B8", "05000700B8", "21", "tls-client-certificate-expired"},
	/* "other": what its class means */
	{"50 07 0C 9100 9100", "0500000000", "41", "device: other"},
	{"50 07 0C 9104 9100", "0500040000", "2F", "security: other"},
	/* a vendor code (256-65535) in a standard class: the class's row */
	{"50 07 0C 9102 92012C", "050002012C", "31", "property"},
	{"50 07 0C 9103 92FFFF", "050003FFFF", "42", "resources"},
	/* a proprietary class (64-65535) */
	{"50 07 0C 920400 9101", "0504000001", "FF", "proprietary error class"},
	/* the [0] constructed error of the *-Error productions */
	{"50 07 0C 0E 9102 9125 0F", "0500020025", "31", "value-out-of-range"},
	/* Reject and Abort reasons */
	{"60 07 09", "0609", "30", "unrecognized-service"},
	{"60 07 01", "0601", "42", "buffer-overflow"},
	{"60 07 05", "0605", "31", "missing-required-parameter"},
	{"60 07 80", "0680", "31", "proprietary reject reason"},
	{"71 07 04", "0704", "30", "segmentation-not-supported"},
	{"71 07 0A", "070A", "10", "tsm-timeout"},
	{"71 07 06", "0706", "22", "insufficient-security"},
	{"71 07 0B", "070B", "31", "apdu-too-long"},
	{"71 07 C0", "07C0", "FF", "proprietary abort reason"},
};

Test(bacnet, error_reject_abort_map_by_the_rules)
{
	for (size_t i = 0; i < sizeof(mappings) / sizeof(mappings[0]); i++) {
		struct run r;
		start(&r);
		uni(&Q, READ_AI3_PV);
		uni(&A, mappings[i].apdu);
		udp(&r, WS, DEV, &Q);
		udp(&r, DEV, WS, &A);
		finish(&r);
		cr_assert_eq(r.n_records, 1, "%s: %zu records", mappings[i].apdu, r.n_records);
		expect_str(r.records[0], "Error Code", mappings[i].x1367);
		expect_str(r.records[0], "Description.Vendor Code", mappings[i].vendor);
		expect_str(r.records[0], "Description.Vendor Meaning", mappings[i].meaning);
		expect_str(r.records[0], "Description.Service", "readProperty (12)");
		cr_assert_eq(run_stat(&r, "responses_without_request"), 0, "%s", mappings[i].apdu);
		run_free(&r);
	}
}

/* ---- what a record says -------------------------------------------------- */

Test(bacnet, description_names_service_object_property_and_index)
{
	struct run r;
	start(&r);
	/* writeProperty analog-value 1 present-value [index 2] value 30.0 */
	uni(&Q, "0205 11 0F 0C00800001 1955 2902 3E 4441F00000 3F");
	uni(&A, "50 11 0F 9102 9128");
	udp(&r, WS, DEV, &Q);
	udp(&r, DEV, WS, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Protocol", "BACnet/IP");
	expect_str(r.records[0], "Error Code", "23");
	expect_str(r.records[0], "Description.Service", "writeProperty (15)");
	expect_str(r.records[0], "Description.Object Type", "analog-value (2)");
	expect_str(r.records[0], "Description.Object Instance", "1");
	expect_str(r.records[0], "Description.Property", "present-value (85)");
	expect_str(r.records[0], "Description.Array Index", "2");
	expect_str(r.records[0], "Description.Invoke ID", "17");
	expect_str(r.records[0], "Description.Error Class", "property (2)");
	expect_str(r.records[0], "Description.BACnet Error Code", "write-access-denied (40)");
	expect_str(r.records[0], "Responder.Unique ID", DEV ":47808");
	expect_str(r.records[0], "Responder.Transmitted Code", "810A000D010050110F91029128");
	run_free(&r);
}

Test(bacnet, i_am_names_the_responder_by_device_instance)
{
	struct run r;
	start(&r);
	uni(&Q, READ_AI3_PV);
	uni(&A, "50 07 0C 9101 911F");
	udp(&r, WS, DEV, &Q);
	udp(&r, DEV, WS, &A);
	/* I-Am device 1234, broadcast: another flow */
	bvll(&Q, 0x0B, "0100 1000 C4020004D2 2205C4 9103 2105");
	udp(&r, DEV, BCAST, &Q);
	uni(&Q, "0205 08 0C 0C00000003 1955");
	uni(&A, "50 08 0C 9101 911F");
	udp(&r, WS, DEV, &Q);
	udp(&r, DEV, WS, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Responder.Unique ID", DEV ":47808");
	expect_str(r.records[1], "Responder.Unique ID", DEV "#1234");
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.i_am"), 1);
	run_free(&r);
}

Test(bacnet, forwarded_i_am_names_the_originator)
{
	struct run r;
	start(&r);
	/* a BBMD (192.0.2.31) forwards the I-Am of 192.0.2.21:47808, device 77 */
	bvll(&Q, 0x04, "C0000215 BAC0 0100 1000 C40200004D 2205C4 9103 2105");
	udp(&r, "192.0.2.31", BCAST, &Q);
	uni(&Q, READ_AI3_PV);
	uni(&A, "71 07 09");
	udp(&r, WS, DEV2, &Q);
	udp(&r, DEV2, WS, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "42");
	expect_str(r.records[0], "Responder.Unique ID", DEV2 "#77");
	expect_str(r.records[0], "Description.Abort Sent By", "server");
	run_free(&r);
}

/* ---- routing ------------------------------------------------------------- */

Test(bacnet, routed_devices_with_one_invoke_id_pair_by_their_addresses)
{
	struct run r;
	start(&r);
	/* I-Am of device 3001 at network 5 MAC 0A, relayed by the router */
	bvll(&Q, 0x0B, "0108 0005 01 0A 1000 C402000BB9 2205C4 9103 2105");
	udp(&r, ROUTER, BCAST, &Q);
	/* invoke 1 to both routed devices; object instance 10 and 11 */
	bvll(&Q, 0x0A, "0124 0005 01 0A FF 0205 01 0C 0C0000000A 1955");
	udp(&r, WS, ROUTER, &Q);
	bvll(&Q, 0x0A, "0124 0005 01 0B FF 0205 01 0C 0C0000000B 1955");
	udp(&r, WS, ROUTER, &Q);
	/* answers in reverse order, each from its SNET/SADR */
	bvll(&A, 0x0A, "0108 0005 01 0B 50 01 0C 9101 911F");
	udp(&r, ROUTER, WS, &A);
	bvll(&A, 0x0A, "0108 0005 01 0A 60 01 07");
	udp(&r, ROUTER, WS, &A);
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 2, "%zu records", r.n_records);
	expect_str(r.records[0], "Description.Object Instance", "11");
	expect_str(r.records[0], "Description.BACnet Destination", "network 5, MAC 0B");
	expect_str(r.records[0], "Responder.Unique ID", ROUTER ":47808#5:0B");
	expect_str(r.records[1], "Description.Object Instance", "10");
	expect_str(r.records[1], "Description.Reject Reason", "too-many-arguments (7)");
	expect_str(r.records[1], "Responder.Unique ID", ROUTER "#3001");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	cr_assert_eq(run_stat(&r, "transactions.no_response"), 0);
	run_free(&r);
}

Test(bacnet, an_answer_from_another_routed_address_does_not_pair)
{
	struct run r;
	start(&r);
	bvll(&Q, 0x0A, "0124 0005 01 0A FF 0205 01 0C 0C0000000A 1955");
	udp(&r, WS, ROUTER, &Q);
	bvll(&A, 0x0A, "0108 0006 01 0A 50 01 0C 9101 911F");   /* network 6 */
	udp(&r, ROUTER, WS, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 1);
	run_free(&r);
}

/* ---- segmentation ------------------------------------------------------- */

/* Segment `seq` of writeProperty invoke 9: 100 bytes of parameters each. */
static void segment(struct msg *m, uint8_t seq, int more)
{
	char hex[2000];
	int n = snprintf(hex, sizeof(hex), "0104 %02X05 09 %02X 04 0F", more ? 0x0E : 0x0A, seq);

	if (seq == 0)
		n += snprintf(hex + n, sizeof(hex) - (size_t)n, " 0C0A000001 1955 3E 65FE012C");
	for (int i = n; i < 200; i += 2)
		n += snprintf(hex + n, sizeof(hex) - (size_t)n, "%02X", seq);
	bvll(m, 0x0A, hex);
}

Test(bacnet, segmented_request_is_reassembled_and_named)
{
	struct run r;
	start(&r);
	for (uint8_t seq = 0; seq < 3; seq++) {
		segment(&Q, seq, seq < 2);
		udp(&r, WS, DEV, &Q);
		uni(&A, seq == 0 ? "41 09 00 04" : seq == 1 ? "41 09 01 04" : "41 09 02 04");
		udp(&r, DEV, WS, &A);
	}
	uni(&A, "50 09 0F 9103 9114");
	udp(&r, DEV, WS, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "42");
	expect_str(r.records[0], "Description.Object Type", "characterstring-value (40)");
	expect_str(r.records[0], "Description.Segmented", "yes");
	cr_assert_eq(strncmp(record_get(r.records[0], "Description.Request Segments"), "3 (", 3), 0);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.segmented_message_reassembled"), 1);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.segment_dropped"), 0);
	run_free(&r);
}

Test(bacnet, a_missing_segment_drops_the_reassembly_but_not_the_request)
{
	struct run r;
	start(&r);
	segment(&Q, 0, 1);
	udp(&r, WS, DEV, &Q);
	segment(&Q, 2, 0);                  /* segment 1 lost */
	udp(&r, WS, DEV, &Q);
	uni(&A, "71 09 04");
	udp(&r, DEV, WS, &A);
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Description.Service", "writeProperty (15)");
	cr_assert_null(record_get(r.records[0], "Description.Request Segments"));
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.segment_dropped"), 1);
	run_free(&r);
}

Test(bacnet, a_reassembly_past_its_bound_is_dropped_and_counted)
{
	struct run r;
	start(&r);
	/* 900 segments of ~90 bytes, sequence numbers wrapping: more than
	 * SEG_MAX_BYTES (64 KiB), dropped once */
	for (unsigned i = 0; i < 900; i++) {
		segment(&Q, (uint8_t)i, 1);
		send_from(&r, WS, BAC, DEV, &Q, 1000);
	}
	finish(&r);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.segment_dropped"), 1);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.segmented_message_reassembled"), 0);
	run_free(&r);
}

Test(bacnet, segmented_complex_ack_answers_and_is_reassembled)
{
	struct run r;
	start(&r);
	uni(&Q, "0205 0A 0C 0C02000001 194C");
	udp(&r, WS, DEV, &Q);
	uni(&A, "3C 0A 00 02 0C 0C02000001 194C 3E C400000001 C400000002");
	udp(&r, DEV, WS, &A);
	uni(&A, "38 0A 01 02 0C C400000003 3F");
	udp(&r, DEV, WS, &A);
	uni(&A, "40 0A 01 02");
	udp(&r, WS, DEV, &A);
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "transactions.answered"), 1);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.segmented_message_reassembled"), 1);
	run_free(&r);
}

/* ---- retries and silence ------------------------------------------------- */

Test(bacnet, a_retried_request_unanswered_is_one_10)
{
	struct run r;
	start(&r);
	uni(&Q, READ_AI3_PV);
	for (int i = 0; i < 3; i++)
		send_from(&r, WS, BAC, DEV, &Q, 3 * SEC);
	/* a fourth try after the record was made: still the same request */
	send_from(&r, WS, BAC, DEV, &Q, 9 * SEC);
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 1, "%zu records", r.n_records);
	expect_str(r.records[0], "Error Code", "10");
	expect_str(r.records[0], "Description.Property", "present-value (85)");
	expect_str(r.records[0], "Responder.Unique ID", DEV ":47808");
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.duplicate_request"), 3);
	run_free(&r);
}

Test(bacnet, the_same_bytes_after_an_answer_are_a_new_request)
{
	struct run r;
	start(&r);
	uni(&Q, READ_AI3_PV);
	uni(&A, "30 07 0C 0C00000003 1955 3E 4441A80000 3F");
	udp(&r, WS, DEV, &Q);
	udp(&r, DEV, WS, &A);
	send_from(&r, WS, BAC, DEV, &Q, SEC);   /* invoke ids wrapped: asked again */
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 1);
	expect_str(r.records[0], "Error Code", "10");
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.duplicate_request"), 0);
	run_free(&r);
}

Test(bacnet, unconfirmed_services_and_bvlc_functions_never_yield_10)
{
	struct run r;
	start(&r);
	bvll(&Q, 0x0B, "0100 1008");                   /* Who-Is */
	udp(&r, WS, BCAST, &Q);
	bvll(&Q, 0x05, "003C");                        /* Register-Foreign-Device */
	udp(&r, WS, DEV, &Q);
	bvll(&Q, 0x02, "");                            /* Read-BDT ... */
	udp(&r, WS, DEV, &Q);
	bvll(&A, 0x00, "0020");                        /* ... NAK */
	udp(&r, DEV, WS, &A);
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 0, "%zu records", r.n_records);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.bvlc_nak"), 1);
	run_free(&r);
}

Test(bacnet, a_client_abort_ends_its_request_unpaired)
{
	struct run r;
	start(&r);
	uni(&Q, READ_AI3_PV);
	udp(&r, WS, DEV, &Q);
	uni(&A, "70 07 01");                          /* SRV 0: the client aborts */
	udp(&r, WS, DEV, &A);
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 1, "%zu records", r.n_records);
	expect_str(r.records[0], "Error Code", "42");
	expect_str(r.records[0], "Description.Abort Sent By", "client");
	expect_str(r.records[0], "Responder.Unique ID", WS ":47808");
	run_free(&r);
}

Test(bacnet, both_ends_on_47808_ask_each_other_with_one_invoke_id)
{
	struct run r;
	start(&r);
	uni(&Q, READ_AI3_PV);
	udp(&r, WS, DEV, &Q);
	udp(&r, DEV, WS, &Q);                          /* the device asks too */
	uni(&A, "50 07 0C 9101 911F");
	udp(&r, WS, DEV, &A);                          /* WS answers the device */
	uni(&A, "60 07 09");
	udp(&r, DEV, WS, &A);                          /* the device answers WS */
	finish(&r);
	cr_assert_eq(r.n_records, 2);
	expect_str(r.records[0], "Responder.Unique ID", WS ":47808");
	expect_str(r.records[0], "Requester.Unique ID", DEV);
	expect_str(r.records[1], "Responder.Unique ID", DEV ":47808");
	expect_str(r.records[1], "Description.Reject Reason", "unrecognized-service (9)");
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

/* ---- hostile input ------------------------------------------------------- */

Test(bacnet, every_truncation_of_an_error_is_handled)
{
	uni(&A, "50 07 0C 0E 9102 9125 0F");
	for (size_t cut = 0; cut < A.len; cut++) {
		struct run r;
		struct msg T = A;
		start(&r);
		uni(&Q, READ_AI3_PV);
		udp(&r, WS, DEV, &Q);
		T.len = cut;                           /* cut, BVLC length as it was */
		udp(&r, DEV, WS, &T);
		T.b[2] = 0;                            /* cut, BVLC length says so */
		T.b[3] = (uint8_t)cut;
		udp(&r, DEV, WS, &T);
		finish(&r);
		for (size_t i = 0; i < r.n_records; i++)
			cr_assert_str_eq(record_get(r.records[i], "Error Code"), "10",
					 "cut %zu: a record from a truncated answer", cut);
		run_free(&r);
	}
}

Test(bacnet, garbage_gives_no_record)
{
	struct run r;
	uint32_t x = 12345;
	start(&r);
	for (int i = 0; i < 500; i++) {
		struct msg m;
		m.len = 1 + (x % 80);
		for (size_t j = 0; j < m.len; j++) {
			x = x * 1103515245u + 12345u;
			m.b[j] = (uint8_t)(x >> 16);
		}
		if (i % 2) {                            /* a valid BVLC header, garbage after */
			m.b[0] = 0x81;
			m.b[1] = 0x0A;
			m.b[2] = 0;
			m.b[3] = (uint8_t)m.len;
		}
		udp(&r, WS, DEV, &m);
	}
	finish(&r);
	run_check_records(&r);
	for (size_t i = 0; i < r.n_records; i++)
		cr_assert_str_eq(record_get(r.records[i], "Error Code"), "10", "%s", r.records[i]);
	cr_assert(run_stat(&r, "protocols.bacnet.parse_errors") > 0);
	run_free(&r);
}

Test(bacnet, a_retry_the_ring_forgot_is_still_one_request)
{
	struct run r;
	char hex[64];
	start(&r);
	uni(&Q, READ_AI3_PV);                         /* invoke 7, never answered */
	udp(&r, WS, DEV, &Q);
	for (int i = 0; i < 40; i++) {                /* 40 other requests, answered */
		snprintf(hex, sizeof(hex), "0205 %02X 0C 0C00000001 1955", 0x80 + i);
		uni(&Q, hex);
		udp(&r, WS, DEV, &Q);
		snprintf(hex, sizeof(hex), "30 %02X 0C 0C00000001 1955 3E 4441A80000 3F", 0x80 + i);
		uni(&A, hex);
		udp(&r, DEV, WS, &A);
	}
	uni(&Q, READ_AI3_PV);                         /* the retry */
	udp(&r, WS, DEV, &Q);
	now += 30 * SEC;
	finish(&r);
	cr_assert_eq(r.n_records, 1, "%zu records", r.n_records);
	expect_str(r.records[0], "Error Code", "10");
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.duplicate_request"), 1);
	run_free(&r);
}

Test(bacnet, bacnet_ipv6_is_counted_not_dissected)
{
	struct run r;
	struct msg m;
	start(&r);
	/* Original-Unicast-NPDU of BACnet/IPv6: source and destination VMAC */
	m.len = hex_to_bytes("8201001100000100000201005007 0C9101911F", m.b, sizeof(m.b));
	udp(&r, WS, DEV, &m);
	finish(&r);
	cr_assert_eq(r.n_records, 0);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.events.bacnet_ipv6_not_dissected"), 1);
	cr_assert_eq(run_stat(&r, "protocols.bacnet.parse_errors"), 0);
	run_free(&r);
}
