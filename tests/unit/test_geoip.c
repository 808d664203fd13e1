/* GeoIP enrichment on MaxMind's test databases (found through $GEOIP_DIR,
 * default tests/data/geoip in the source tree, with their licence),
 * corrupt databases, and a database damaged here in /tmp. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geoip.h"

static struct geoip *g;
static char err[GEOIP_ERR_LEN];

static void setup(void)
{
	g = geoip_new();
	cr_assert_not_null(g);
	err[0] = '\0';
}

static void teardown(void)
{
	geoip_free(g);
}

TestSuite(geoip, .init = setup, .fini = teardown);

static const char *db_path(const char *name)
{
	static char path[2048];
	const char *dir = getenv("GEOIP_DIR"), *top = getenv("top_srcdir");

	if (dir && *dir)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s/tests/data/geoip/%s", top && *top ? top : ".", name);
	return path;
}

static void open_ok(const char *name)
{
	const char *path = db_path(name);

	cr_assert_eq(access(path, R_OK), 0, "%s: %s (set GEOIP_DIR)", path, strerror(errno));
	cr_assert_eq(geoip_open(g, path, err), 0, "%s", err);
}

static struct x1367_addr ip(const char *text)
{
	struct x1367_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, text, a.bytes) == 1)
		a.family = X1367_IPV4;
	else if (inet_pton(AF_INET6, text, a.bytes) == 1)
		a.family = X1367_IPV6;
	else
		cr_assert_fail("bad test address %s", text);
	return a;
}

static int lookup(const char *text, struct geoip_info *out)
{
	struct x1367_addr a = ip(text);

	return geoip_lookup(g, &a, out);
}

Test(geoip, city_country_gb)
{
	struct geoip_info info;

	open_ok("GeoLite2-City-Test.mmdb");
	cr_assert_eq(lookup("2.125.160.216", &info), 1);
	cr_assert_str_eq(info.country, "GB");
	cr_assert_str_eq(info.asn, "");
	cr_assert_str_eq(info.as_org, "");
	cr_assert_eq(geoip_lookup_errors(g), 0);
}

Test(geoip, country_db_and_ipv6)
{
	struct geoip_info info;

	open_ok("GeoLite2-Country-Test.mmdb");
	cr_assert_eq(lookup("2.125.160.216", &info), 1);
	cr_assert_str_eq(info.country, "GB");
	cr_assert_eq(lookup("2001:218::1", &info), 1);
	cr_assert_str_eq(info.country, "JP");
}

Test(geoip, asn_telstra)
{
	struct geoip_info info;

	open_ok("GeoLite2-ASN-Test.mmdb");
	cr_assert_eq(lookup("1.128.0.0", &info), 1);
	cr_assert_str_eq(info.asn, "AS1221");
	cr_assert_str_eq(info.as_org, "Telstra Pty Ltd");
	cr_assert_str_eq(info.country, "");
	cr_assert_eq(geoip_lookup_errors(g), 0);
}

Test(geoip, all_three_together)
{
	struct geoip_info info;

	open_ok("GeoLite2-City-Test.mmdb");
	open_ok("GeoLite2-Country-Test.mmdb");
	open_ok("GeoLite2-ASN-Test.mmdb");
	cr_assert_eq(lookup("2.125.160.216", &info), 1);
	cr_assert_str_eq(info.country, "GB");
	cr_assert_str_eq(info.asn, "");
	cr_assert_eq(lookup("1.128.0.0", &info), 1);
	cr_assert_str_eq(info.asn, "AS1221");
	cr_assert_str_eq(info.as_org, "Telstra Pty Ltd");
	cr_assert_eq(geoip_lookup_errors(g), 0);
}

Test(geoip, unknown_addresses)
{
	struct geoip_info info;
	struct x1367_addr none;

	open_ok("GeoLite2-City-Test.mmdb");
	open_ok("GeoLite2-ASN-Test.mmdb");
	memset(&info, 'x', sizeof(info));
	cr_assert_eq(lookup("10.0.0.1", &info), 0);
	cr_assert_str_eq(info.country, "");
	cr_assert_str_eq(info.asn, "");
	cr_assert_str_eq(info.as_org, "");
	cr_assert_eq(lookup("::1", &info), 0);
	cr_assert_eq(lookup("192.0.2.1", &info), 0);
	memset(&none, 0, sizeof(none));
	cr_assert_eq(geoip_lookup(g, &none, &info), 0);
	cr_assert_eq(geoip_lookup_errors(g), 0, "not found is not an error");
}

Test(geoip, no_database_open)
{
	struct geoip_info info;

	cr_assert_eq(lookup("2.125.160.216", &info), 0);
	cr_assert_str_eq(info.country, "");
}

/* ---- refusals --------------------------------------------------------- */

/* The message is the path, then `rest`. */
static void open_fails(const char *path, const char *rest)
{
	char want[GEOIP_ERR_LEN + 64];

	cr_assert_eq(geoip_open(g, path, err), -1, "accepted %s", path);
	snprintf(want, sizeof(want), "%s%s", path, rest);
	cr_assert_str_eq(err, want);
}

Test(geoip, missing_file)
{
	open_fails("/nonexistent/GeoLite2-City.mmdb",
		   ": Error opening the specified MaxMind DB file (No such file or directory)");
}

Test(geoip, not_a_database)
{
	open_fails(db_path("README.md"),
		   ": not a usable MaxMind DB: The MaxMind DB file contains invalid metadata");
}

Test(geoip, bad_corrupt_search_tree)
{
	struct geoip_info info;

	open_fails(db_path("bad/libmaxminddb-corrupt-search-tree.mmdb"),
		   ": not a usable MaxMind DB: corrupt search tree (node 1 of 100)");
	/* Nothing was kept open. */
	cr_assert_eq(lookup("2.125.160.216", &info), 0);
}

Test(geoip, bad_offset_integer_overflow)
{
	open_fails(db_path("bad/libmaxminddb-offset-integer-overflow.mmdb"),
		   ": not a usable MaxMind DB: The MaxMind DB file's data section contains bad "
		   "data (unknown data type or corrupt data)");
}

Test(geoip, too_many_databases)
{
	for (int i = 0; i < GEOIP_MAX_DBS; i++)
		open_ok("GeoLite2-ASN-Test.mmdb");
	open_fails(db_path("GeoLite2-ASN-Test.mmdb"), ": too many GeoIP databases (at most 4)");
}

/* ---- a database whose tree is fine but whose data is not ------------------ */

/* Copy the ASN database to /tmp with its data section overwritten by
 * `fill`; the search tree and the metadata stay intact, so the file opens
 * and only lookups meet the damage. */
static char *damaged_copy(uint8_t fill, char *path, size_t cap)
{
	MMDB_s db;
	FILE *f;
	size_t off, len, data_len;
	uint8_t *buf;
	int fd;

	cr_assert_eq(MMDB_open(db_path("GeoLite2-ASN-Test.mmdb"), MMDB_MODE_MMAP, &db), MMDB_SUCCESS);
	len = db.file_size;
	off = (size_t)(db.data_section - db.file_content);
	/* Up to the metadata marker "\xAB\xCD\xEFMaxMind.com" (14 bytes). */
	data_len = (size_t)(db.metadata_section - db.data_section) - 14;
	buf = malloc(len);
	cr_assert_not_null(buf);
	memcpy(buf, db.file_content, len);
	memset(buf + off, fill, data_len);
	MMDB_close(&db);

	snprintf(path, cap, "/tmp/x1367-geoip-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	f = fdopen(fd, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	free(buf);
	return path;
}

static void check_damaged(uint8_t fill, int counted)
{
	struct geoip_info info;
	unsigned long before;
	char path[64];

	geoip_free(g);
	g = geoip_new();
	damaged_copy(fill, path, sizeof(path));
	cr_assert_eq(geoip_open(g, path, err), 0, "fill %02X: %s", fill, err);
	before = geoip_lookup_errors(g);
	/* No crash, nothing made up... */
	cr_assert_eq(lookup("1.128.0.0", &info), 0, "fill %02X: %s/%s", fill, info.asn, info.as_org);
	cr_assert_str_eq(info.asn, "");
	cr_assert_str_eq(info.as_org, "");
	/* ...and the damage counted, unless the bytes happen to decode as an
	 * empty map, which is a valid (if useless) entry. */
	if (counted)
		cr_assert_gt(geoip_lookup_errors(g), before, "fill %02X", fill);
	else
		cr_assert_eq(geoip_lookup_errors(g), before, "fill %02X", fill);
	cr_assert_eq(unlink(path), 0);
}

Test(geoip, damaged_data_counts_errors)
{
	/* Control bytes: type in the top 3 bits (0 = extended), size below. */
	static const uint8_t bad[] = { 0xFF, 0x20, 0x60, 0x1F, 0xE1, 0x40, 0x5A, 0x80, 0xA0, 0xC0 };

	for (size_t i = 0; i < sizeof(bad); i++)
		check_damaged(bad[i], 1);
	/* 0x00 0x00: extended type 7 (map) of size 0; 0xE0: map of size 0. */
	check_damaged(0x00, 0);
	check_damaged(0xE0, 0);
}
