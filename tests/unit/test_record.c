/* The record builder: whole JSON lines compared byte for byte, IPv6
 * reporter, empty parties, truncation notes, hostile strings, and a json-c
 * round trip that checks key order. */
#include <criterion/criterion.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

#define TS_2018 1535448895ull   /* 2018-08-28T09:34:55Z */

static const uint8_t req_code[] = { 0x02, 0x00, 0x01, 0x00 };
static const uint8_t rsp_code[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x0C };

/* Appendix I.2 as the IDS writes it. */
static struct record_input example(void)
{
	static const struct x1367_kv desc[] = {
		{ "Requester Port", "50123" },
		{ "Skipped", NULL },
		{ "Community ID", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" },
		{ "Vendor Meaning", "Illegal Data Address" },
	};
	struct record_input in = {
		.ts_usec = TS_2018 * 1000000 + 123456,
		.reporter_ip = "192.168.100.249",
		.protocol = "EEE Company's protocol",
		.requester = { 1, "0000", req_code, sizeof(req_code), sizeof(req_code) },
		.responder = { 1, "0002", rsp_code, sizeof(rsp_code), sizeof(rsp_code) },
		.error_code = "21",
		.error_message = "Certification Failed",
		.desc = desc,
		.n_desc = 4,
		.max_code_bytes = 0,
	};
	return in;
}

static void expect(const struct record_input *in, const char *want)
{
	char *got = record_build(in);

	cr_assert_not_null(got);
	cr_assert_str_eq(got, want);
	free(got);
}

Test(record, appendix_i2_exact)
{
	struct record_input in = example();

	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.100.249\"},"
		    "\"Protocol\":\"EEE Company's protocol\","
		    "\"Requester\":{\"Unique ID\":\"0000\",\"Transmitted Code\":\"02000100\"},"
		    "\"Responder\":{\"Unique ID\":\"0002\",\"Transmitted Code\":\"000000000010000C\"},"
		    "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		    "\"Requester Port\":\"50123\","
		    "\"Community ID\":\"1:LQU9qZlK+B5F3KDmev6m5PMibrg=\","
		    "\"Vendor Meaning\":\"Illegal Data Address\"}}");
}

Test(record, ipv6_reporter)
{
	struct record_input in = example();

	in.reporter_ip = "FE80:0:0:0:200:86FF:FE05:80DA";
	in.n_desc = 0;
	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		    "\"Reporter\":{\"IP Address\":\"FE80:0:0:0:200:86FF:FE05:80DA\"},"
		    "\"Protocol\":\"EEE Company's protocol\","
		    "\"Requester\":{\"Unique ID\":\"0000\",\"Transmitted Code\":\"02000100\"},"
		    "\"Responder\":{\"Unique ID\":\"0002\",\"Transmitted Code\":\"000000000010000C\"},"
		    "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\"}}");
}

/* Appendix I.3: no request, nothing received. */
Test(record, empty_parties)
{
	static const struct x1367_kv desc[] = { { "Reason", "Responder stopped sending data." } };
	struct record_input in = {
		.ts_usec = TS_2018 * 1000000,
		.reporter_ip = "192.168.10.254",
		.protocol = "ECHONET Lite",
		.requester = { .present = 0 },
		.responder = { 1, "192.168.10.20#013001", NULL, 0, 0 },
		.error_code = "11",
		.error_message = "Communication Failed",
		.desc = desc,
		.n_desc = 1,
	};

	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.000000Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.10.254\"},"
		    "\"Protocol\":\"ECHONET Lite\",\"Requester\":{},"
		    "\"Responder\":{\"Unique ID\":\"192.168.10.20#013001\",\"Transmitted Code\":\"\"},"
		    "\"Error Code\":\"11\",\"Error Message\":\"Communication Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		    "\"Reason\":\"Responder stopped sending data.\"}}");
	in.responder.present = 0;
	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.000000Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.10.254\"},"
		    "\"Protocol\":\"ECHONET Lite\",\"Requester\":{},\"Responder\":{},"
		    "\"Error Code\":\"11\",\"Error Message\":\"Communication Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		    "\"Reason\":\"Responder stopped sending data.\"}}");
}

Test(record, truncation_by_cap)
{
	struct record_input in = example();

	in.n_desc = 1;
	in.max_code_bytes = 3;
	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.100.249\"},"
		    "\"Protocol\":\"EEE Company's protocol\","
		    "\"Requester\":{\"Unique ID\":\"0000\",\"Transmitted Code\":\"020001\"},"
		    "\"Responder\":{\"Unique ID\":\"0002\",\"Transmitted Code\":\"000000\"},"
		    "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		    "\"Requester Port\":\"50123\","
		    "\"Requester Code Truncated\":\"3 of 4 bytes\","
		    "\"Responder Code Truncated\":\"3 of 8 bytes\"}}");
	/* A cap the codes fit in: no note. */
	in.max_code_bytes = 8;
	in.n_desc = 0;
	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.100.249\"},"
		    "\"Protocol\":\"EEE Company's protocol\","
		    "\"Requester\":{\"Unique ID\":\"0000\",\"Transmitted Code\":\"02000100\"},"
		    "\"Responder\":{\"Unique ID\":\"0002\",\"Transmitted Code\":\"000000000010000C\"},"
		    "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\"}}");
}

/* Fewer bytes stored than were on the wire (snap length, stored request
 * cap): the note gives the wire length even without max_code_bytes. */
Test(record, truncation_by_capture)
{
	struct record_input in = example();

	in.n_desc = 0;
	in.requester.wire_len = 260;
	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.100.249\"},"
		    "\"Protocol\":\"EEE Company's protocol\","
		    "\"Requester\":{\"Unique ID\":\"0000\",\"Transmitted Code\":\"02000100\"},"
		    "\"Responder\":{\"Unique ID\":\"0002\",\"Transmitted Code\":\"000000000010000C\"},"
		    "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		    "\"Requester Code Truncated\":\"4 of 260 bytes\"}}");
	/* Cap and capture together: shown bytes against the wire length. */
	in.max_code_bytes = 2;
	in.requester.present = 0;   /* an absent party never gets a note */
	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.100.249\"},"
		    "\"Protocol\":\"EEE Company's protocol\",\"Requester\":{},"
		    "\"Responder\":{\"Unique ID\":\"0002\",\"Transmitted Code\":\"0000\"},"
		    "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		    "\"Responder Code Truncated\":\"2 of 8 bytes\"}}");
}

Test(record, status_cannot_be_overridden)
{
	static const struct x1367_kv desc[] = {
		{ "Status", "sent from IoTGW" },
		{ "Function", "03" },
		{ "Function", "04" },
		{ NULL, "no key" },
	};
	struct record_input in = example();

	in.desc = desc;
	in.n_desc = 4;
	in.requester.present = in.responder.present = 0;
	expect(&in, "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		    "\"Reporter\":{\"IP Address\":\"192.168.100.249\"},"
		    "\"Protocol\":\"EEE Company's protocol\",\"Requester\":{},\"Responder\":{},"
		    "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		    "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		    "\"Function\":\"03\"}}");
}

Test(record, message_from_table_when_null)
{
	struct record_input in = example();
	char *got;

	in.error_code = "2E01";
	in.error_message = NULL;
	got = record_build(&in);
	cr_assert_not_null(got);
	cr_assert(strstr(got, "\"Error Code\":\"2E01\",\"Error Message\":\"Extended Reasons\",") != NULL,
		  "%s", got);
	free(got);
}

/* ---- hostile strings ------------------------------------------------------ */

/* "\n", '"', '\\', 0x01, DEL, an invalid byte, a truncated sequence, an
 * overlong '/', a surrogate, then valid multibyte text. */
static const char hostile[] = "a\nb\"c\\d\x01" "e\x7f\xff" "f\xc3" "g\xc0\xaf" "h\xed\xa0\x80" "i/\xc3\xa9\xe8\xaa\xad";
/* json-c's escapes, and U+FFFD for each invalid byte. */
static const char hostile_json[] = "a\\nb\\\"c\\\\d\\u0001e\x7f\xef\xbf\xbd"
				   "f\xef\xbf\xbdg\xef\xbf\xbd\xef\xbf\xbdh"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdi/\xc3\xa9\xe8\xaa\xad";
/* What a JSON parser reads back. */
static const char hostile_value[] = "a\nb\"c\\d\x01" "e\x7f\xef\xbf\xbd"
				    "f\xef\xbf\xbdg\xef\xbf\xbd\xef\xbf\xbdh"
				    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdi/\xc3\xa9\xe8\xaa\xad";

static int valid_utf8(const unsigned char *s)
{
	/* Independent of record.c: structural check plus the usual limits. */
	while (*s) {
		size_t n = *s < 0x80 ? 1 : (*s & 0xE0) == 0xC0 ? 2 : (*s & 0xF0) == 0xE0 ? 3 :
			   (*s & 0xF8) == 0xF0 ? 4 : 0;

		if (n == 0 || (n == 2 && *s < 0xC2) || (n == 4 && *s > 0xF4))
			return 0;
		if (n == 3 && *s == 0xED && s[1] >= 0xA0)
			return 0;
		if (n == 3 && *s == 0xE0 && s[1] < 0xA0)
			return 0;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xC0) != 0x80)
				return 0;
		s += n;
	}
	return 1;
}

Test(record, hostile_strings_one_valid_line)
{
	struct x1367_kv desc[] = { { hostile, hostile } };
	struct record_input in = example();
	json_object *root, *v;
	char *got, want[1024];
	const unsigned char *p;

	in.protocol = hostile;
	in.requester.unique_id = hostile;
	in.desc = desc;
	in.n_desc = 1;
	got = record_build(&in);
	cr_assert_not_null(got);
	snprintf(want, sizeof(want),
		 "{\"Timestamp\":\"2018-08-28T09:34:55.123456Z\","
		 "\"Reporter\":{\"IP Address\":\"192.168.100.249\"},"
		 "\"Protocol\":\"%s\","
		 "\"Requester\":{\"Unique ID\":\"%s\",\"Transmitted Code\":\"02000100\"},"
		 "\"Responder\":{\"Unique ID\":\"0002\",\"Transmitted Code\":\"000000000010000C\"},"
		 "\"Error Code\":\"21\",\"Error Message\":\"Certification Failed\","
		 "\"Description\":{\"Status\":\"This message was sent from IDS not IoTGW\","
		 "\"%s\":\"%s\"}}",
		 hostile_json, hostile_json, hostile_json, hostile_json);
	cr_assert_str_eq(got, want);
	/* One line, no raw control character (JSON's: below 0x20), valid UTF-8. */
	for (p = (const unsigned char *)got; *p; p++)
		cr_assert_geq(*p, 0x20, "raw control character 0x%02x", *p);
	cr_assert_null(strchr(got, '\n'));
	cr_assert(valid_utf8((const unsigned char *)got));
	/* And a JSON parser reads the sanitised strings back. */
	root = json_tokener_parse(got);
	cr_assert_not_null(root);
	cr_assert(json_object_object_get_ex(root, "Protocol", &v));
	cr_assert_str_eq(json_object_get_string(v), hostile_value);
	cr_assert(json_object_object_get_ex(root, "Description", &v));
	cr_assert(json_object_object_get_ex(v, hostile_value, &v));
	cr_assert_str_eq(json_object_get_string(v), hostile_value);
	json_object_put(root);
	free(got);
}

Test(record, null_strings_are_empty)
{
	struct record_input in = example();
	char *got;

	in.reporter_ip = NULL;
	in.protocol = NULL;
	in.requester.unique_id = NULL;
	in.n_desc = 0;
	got = record_build(&in);
	cr_assert_not_null(got);
	cr_assert(strstr(got, "\"Reporter\":{\"IP Address\":\"\"},\"Protocol\":\"\","
			      "\"Requester\":{\"Unique ID\":\"\",") != NULL, "%s", got);
	free(got);
	cr_assert_null(record_build(NULL));
}

/* ---- round trip -------------------------------------------------------- */

Test(record, json_round_trip_key_order)
{
	static const char *const order[] = { "Timestamp", "Reporter", "Protocol", "Requester",
					     "Responder", "Error Code", "Error Message",
					     "Description" };
	struct record_input in = example();
	char *got = record_build(&in), *again;
	json_object *root, *v;
	size_t i = 0;

	cr_assert_not_null(got);
	root = json_tokener_parse(got);
	cr_assert_not_null(root);
	cr_assert(json_object_is_type(root, json_type_object));
	json_object_object_foreach(root, key, val) {
		(void)val;
		cr_assert_lt(i, 8);
		cr_assert_str_eq(key, order[i]);
		i++;
	}
	cr_assert_eq(i, 8);
	cr_assert(json_object_object_get_ex(root, "Responder", &v));
	cr_assert(json_object_object_get_ex(v, "Transmitted Code", &v));
	cr_assert_str_eq(json_object_get_string(v), "000000000010000C");
	/* Serialising the parsed record gives the same line back. */
	again = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	cr_assert_str_eq(again, got);
	free(again);
	json_object_put(root);
	free(got);
}

/* ---- time ------------------------------------------------------------- */

Test(record, format_time)
{
	char buf[32];

	record_format_time(0, buf);
	cr_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
	record_format_time(1, buf);
	cr_assert_str_eq(buf, "1970-01-01T00:00:00.000001Z");
	record_format_time(TS_2018 * 1000000 + 999999, buf);
	cr_assert_str_eq(buf, "2018-08-28T09:34:55.999999Z");
	record_format_time(1583020799ull * 1000000 + 500000, buf);
	cr_assert_str_eq(buf, "2020-02-29T23:59:59.500000Z");
	record_format_time(253402300799ull * 1000000 + 999999, buf);
	cr_assert_str_eq(buf, "9999-12-31T23:59:59.999999Z");
	/* Past 9999 the pattern has no form: the epoch, visibly bogus. */
	record_format_time(253402300800ull * 1000000, buf);
	cr_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
	record_format_time(UINT64_MAX, buf);
	cr_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
}
