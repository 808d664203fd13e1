/* RFC 5424 formatting of records: PRI, escaping, framing, hostile
 * values; and the spool (disk queue) the syslog sinks deliver from. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "syslog_format.h"

static const char *record_21 =
	"{\"Timestamp\":\"2018-08-28T09:34:55.0Z\",\"Reporter\":{\"IP Address\":\"192.0.2.254\"},"
	"\"Protocol\":\"ECHONET Lite\",\"Requester\":{\"Unique ID\":\"192.0.2.11\",\"Transmitted Code\":\"02\"},"
	"\"Responder\":{\"Unique ID\":\"192.0.2.12#013001\",\"Transmitted Code\":\"00\"},\"Error Code\":\"21\","
	"\"Error Message\":\"Certification Failed\",\"Description\":{\"Status\":\"This message was sent from IDS "
	"not IoTGW\",\"Sequence\":\"42\"}}";

Test(syslog_format, facilities)
{
	cr_assert_eq(syslog_facility_parse("local0"), 16);
	cr_assert_eq(syslog_facility_parse("LOCAL7"), 23);
	cr_assert_eq(syslog_facility_parse("daemon"), 3);
	cr_assert_eq(syslog_facility_parse("auth"), 4);
	cr_assert_eq(syslog_facility_parse("0"), 0);
	cr_assert_eq(syslog_facility_parse("23"), 23);
	cr_assert_eq(syslog_facility_parse("24"), -1);
	cr_assert_eq(syslog_facility_parse("local8"), -1);
	cr_assert_eq(syslog_facility_parse(""), -1);
	cr_assert_eq(syslog_facility_parse(NULL), -1);
	cr_assert_eq(syslog_facility_parse("-1"), -1);
}

Test(syslog_format, severity_by_class)
{
	cr_assert_eq(syslog_severity_for_code("00"), 6);
	cr_assert_eq(syslog_severity_for_code("10"), 4);
	cr_assert_eq(syslog_severity_for_code("11"), 4);
	cr_assert_eq(syslog_severity_for_code("20"), 3);
	cr_assert_eq(syslog_severity_for_code("21"), 3);
	cr_assert_eq(syslog_severity_for_code("2E01"), 3);
	cr_assert_eq(syslog_severity_for_code("30"), 5);
	cr_assert_eq(syslog_severity_for_code("31"), 5);
	cr_assert_eq(syslog_severity_for_code("40"), 3);
	cr_assert_eq(syslog_severity_for_code("42"), 3);
	cr_assert_eq(syslog_severity_for_code("E5"), 4);
	cr_assert_eq(syslog_severity_for_code("FF"), 4);
	cr_assert_eq(syslog_severity_for_code(""), 4);
	/* the class is x1367_codes.c's: a code that is not valid is "other" */
	cr_assert_eq(syslog_severity_for_code("3G"), 4);
	cr_assert_eq(syslog_severity_for_code("55"), 4);
	/* security is never below warning */
	for (const char *c = "0123456789ABCDEF"; *c; c++) {
		char code[3] = { '2', *c, 0 };
		cr_assert_leq(syslog_severity_for_code(code), 4);
	}
	cr_assert_eq(syslog_pri(16, 3), 131);
	cr_assert_eq(syslog_pri(0, 0), 0);
	cr_assert_eq(syslog_pri(23, 7), 191);
}

Test(syslog_format, sd_escape)
{
	char out[2 * SYSLOG_SD_VALUE_MAX + 8];
	syslog_sd_escape("a\"b\\c]d", out, sizeof(out));
	cr_assert_str_eq(out, "a\\\"b\\\\c\\]d");
	syslog_sd_escape("x\ny\rz", out, sizeof(out));
	cr_assert_str_eq(out, "x?y?z");
	syslog_sd_escape("caf\xc3\xa9\x7f", out, sizeof(out));
	cr_assert_str_eq(out, "caf???");
	/* a value that tries to close the element and open another */
	syslog_sd_escape("\"] [evil@1 x=\"1\"]", out, sizeof(out));
	cr_assert_str_eq(out, "\\\"\\] [evil@1 x=\\\"1\\\"\\]");
	/* long values are cut and say so */
	char big[1000];
	memset(big, ']', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	size_t n = syslog_sd_escape(big, out, sizeof(out));
	cr_assert_eq(n, 2 * (SYSLOG_SD_VALUE_MAX - 3) + 3);
	cr_assert_str_eq(out + n - 3, "...");
}

Test(syslog_format, hostname_and_time)
{
	char h[256], ts[32];
	syslog_hostname("plant a\n", h);
	cr_assert_str_eq(h, "plant_a_");
	syslog_hostname("", h);
	cr_assert_str_eq(h, "-");
	syslog_timestamp(1705309200020500ull, ts);
	cr_assert_str_eq(ts, "2024-01-15T09:00:00.020500Z");
	syslog_timestamp(0, ts);
	cr_assert_str_eq(ts, "1970-01-01T00:00:00.000000Z");
}

Test(syslog_format, fields_from_record)
{
	struct syslog_fields f;
	cr_assert_eq(syslog_record_fields(record_21, strlen(record_21), &f), 0);
	cr_assert_str_eq(f.code, "21");
	cr_assert_str_eq(f.protocol, "ECHONET Lite");
	cr_assert_str_eq(f.sequence, "42");
	cr_assert_str_eq(f.requester, "192.0.2.11");
	cr_assert_str_eq(f.responder, "192.0.2.12#013001");
	cr_assert_str_eq(f.reporter, "192.0.2.254");
	cr_assert_eq(syslog_record_fields("not json", 8, &f), -1);
	cr_assert_str_eq(f.code, "FF");
	/* a record without a request: Requester {} */
	const char *r = "{\"Protocol\":\"Modbus/TCP\",\"Requester\":{},\"Error Code\":\"11\"}";
	cr_assert_eq(syslog_record_fields(r, strlen(r), &f), 0);
	cr_assert_str_eq(f.requester, "");
	cr_assert_str_eq(f.sequence, "");
}

Test(syslog_format, whole_message)
{
	struct syslog_header h = { 16, "sensor-1", 1234 };
	size_t len;
	char *m = syslog_format(&h, 1705309200020500ull, record_21, strlen(record_21), &len);
	cr_assert_not_null(m);
	cr_assert_eq(strlen(m), len);
	char want[4096];
	snprintf(want, sizeof(want),
		 "<131>1 2024-01-15T09:00:00.020500Z sensor-1 x1367ids 1234 X1367 [x1367@32473 code=\"21\" "
		 "class=\"security\" protocol=\"ECHONET Lite\" seq=\"42\" reporter=\"192.0.2.254\" "
		 "requester=\"192.0.2.11\" responder=\"192.0.2.12#013001\"] %s",
		 record_21);
	cr_assert_str_eq(m, want);
	free(m);
}

/* Hostile bytes in values (as a plugin's Unique ID could carry) and raw
 * line breaks in the message: one line, one element, always. */
Test(syslog_format, hostile_record_stays_one_message)
{
	const char *r = "{\"Protocol\":\"X\\\"] [forged@1 a=\\\"b\\\"]\\n<13>1 - fake\",\"Error Code\":\"30\","
			"\"Responder\":{\"Unique ID\":\"a\\u0000b\\r\\nc\"},\"Description\":{\"Sequence\":\"7\"}}\n<14>1 x\r";
	struct syslog_header h = { 16, "s", 1 };
	size_t len;
	char *m = syslog_format(&h, 0, r, strlen(r), &len);
	cr_assert_not_null(m);
	cr_assert_eq(strlen(m), len, "no NUL inside");
	cr_assert_null(strchr(m, '\n'));
	cr_assert_null(strchr(m, '\r'));
	cr_assert(strstr(m, "protocol=\"X\\\"\\] [forged@1 a=\\\"b\\\"\\]?<13>1 - fake\"") != NULL, "%s", m);
	cr_assert(strstr(m, "responder=\"a?b??c\"") != NULL, "%s", m);
	cr_assert(strstr(m, "<133>1 ") == m, "command class is notice: %s", m);
	/* exactly one unescaped ']' closes the one SD element */
	int closes = 0;
	for (size_t i = 0; m[i]; i++) {
		if (m[i] == '\\' && m[i + 1]) {
			i++;
			continue;
		}
		if (m[i] == ']')
			closes++;
		if (m[i] == '{')
			break;
	}
	cr_assert_eq(closes, 1, "%s", m);
	free(m);
}

Test(syslog_format, octet_counting)
{
	char p[24];
	cr_assert_eq(syslog_octet_prefix(5, p), 2);
	cr_assert_str_eq(p, "5 ");
	cr_assert_eq(syslog_octet_prefix(65536, p), 6);
	cr_assert_str_eq(p, "65536 ");
}

/* ---- spool --------------------------------------------------------------- */

static char spool_dir[256];

static void make_dir(void)
{
	snprintf(spool_dir, sizeof(spool_dir), "/tmp/x1367-spool-test-XXXXXX");
	cr_assert_not_null(mkdtemp(spool_dir));
}

static void remove_dir(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool_dir);
	cr_assert_eq(system(cmd), 0);
}

Test(spool, crc32_known_value)
{
	cr_assert_eq(spool_crc32(0, "123456789", 9), 0xCBF43926u);
}

Test(spool, in_order_across_restart, .init = make_dir, .fini = remove_dir)
{
	char err[SPOOL_ERR_LEN], buf[64];
	struct spool *s = spool_open(spool_dir, 1 << 20, err);
	cr_assert_not_null(s, "%s", err);
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(buf, sizeof(buf), "record %d", i);
		cr_assert_eq(spool_append(s, (uint64_t)i, buf, (size_t)n), 0);
	}
	struct spool_rec r;
	struct spool_pos last = { 0, 0, 0 };
	for (int i = 0; i < 300; i++) {
		cr_assert_eq(spool_read(s, &r), 1);
		snprintf(buf, sizeof(buf), "record %d", i);
		cr_assert_str_eq(r.data, buf);
		cr_assert_eq(r.ts_usec, (uint64_t)i);
		if (i == 199)
			last = r.end;
		free(r.data);
	}
	/* 200 delivered; 100 read but not acknowledged */
	cr_assert_eq(spool_commit(s, last), 0);
	struct spool_stats st;
	spool_get_stats(s, &st);
	cr_assert_eq(st.records, 800);
	/* a second sensor on the same spool is refused */
	cr_assert_null(spool_open(spool_dir, 1 << 20, err));
	cr_assert(strstr(err, "in use") != NULL, "%s", err);
	spool_close(s);

	s = spool_open(spool_dir, 1 << 20, err);
	cr_assert_not_null(s, "%s", err);
	spool_get_stats(s, &st);
	cr_assert_eq(st.at_open, 800);
	cr_assert_eq(spool_append(s, 5000, "after restart", 13), 0);
	for (int i = 200; i <= 1000; i++) {
		cr_assert_eq(spool_read(s, &r), 1, "at %d", i);
		if (i < 1000)
			snprintf(buf, sizeof(buf), "record %d", i);
		else
			snprintf(buf, sizeof(buf), "after restart");
		cr_assert_str_eq(r.data, buf);
		free(r.data);
	}
	cr_assert_eq(spool_read(s, &r), 0);
	/* rewind: everything not committed comes again */
	spool_rewind(s);
	cr_assert_eq(spool_read(s, &r), 1);
	cr_assert_str_eq(r.data, "record 200");
	free(r.data);
	spool_close(s);
}

Test(spool, cap_and_segments, .init = make_dir, .fini = remove_dir)
{
	char err[SPOOL_ERR_LEN], data[1000];
	memset(data, 'x', sizeof(data));
	struct spool *s = spool_open(spool_dir, 65536 * 2, err);
	cr_assert_not_null(s, "%s", err);
	int n = 0;
	while (spool_append(s, 0, data, sizeof(data)) == 0)
		n++;
	cr_assert_eq(errno, ENOSPC);
	cr_assert(n > 100 && n < 131, "%d records fit", n);
	struct spool_stats st;
	spool_get_stats(s, &st);
	cr_assert_leq(st.bytes, 65536 * 2);
	/* delivering everything frees the space */
	struct spool_rec r;
	struct spool_pos end = { 0, 0, 0 };
	while (spool_read(s, &r) == 1) {
		end = r.end;
		free(r.data);
	}
	cr_assert_eq(spool_commit(s, end), 0);
	cr_assert_eq(spool_append(s, 0, data, sizeof(data)), 0);
	spool_close(s);
}

Test(spool, damaged_record_is_skipped, .init = make_dir, .fini = remove_dir)
{
	char err[SPOOL_ERR_LEN], path[400];
	struct spool *s = spool_open(spool_dir, 1 << 20, err);
	cr_assert_not_null(s);
	cr_assert_eq(spool_append(s, 1, "first", 5), 0);
	cr_assert_eq(spool_append(s, 2, "second", 6), 0);
	spool_close(s);
	/* flip one data byte of the second record */
	snprintf(path, sizeof(path), "%s/seg-000000000001", spool_dir);
	FILE *fp = fopen(path, "r+b");
	cr_assert_not_null(fp);
	fseek(fp, 20 + 5 + 20 + 2, SEEK_SET);
	fputc('X', fp);
	fclose(fp);
	s = spool_open(spool_dir, 1 << 20, err);
	cr_assert_not_null(s);
	cr_assert_eq(spool_append(s, 3, "third", 5), 0);
	struct spool_rec r;
	cr_assert_eq(spool_read(s, &r), 1);
	cr_assert_str_eq(r.data, "first");
	free(r.data);
	cr_assert_eq(spool_read(s, &r), 1);
	cr_assert_str_eq(r.data, "third");
	free(r.data);
	struct spool_stats st;
	spool_get_stats(s, &st);
	cr_assert_eq(st.corrupt, 1);
	spool_close(s);
}
