/*
 * GeoIP/ASN enrichment through libmaxminddb.
 *
 * Any mix of City, Country and ASN databases may be open; a lookup asks
 * each and keeps the first answer for each field: country from
 * "country" -> "iso_code" (City, Country), ASN from
 * "autonomous_system_number" / "autonomous_system_organization" (ASN).
 *
 * Corrupt files.  MMDB_open() catches bad metadata and a bad data section
 * header, but not a corrupt search tree: such a file opens, and lookups
 * then "find" entries that are not there.  So geoip_open() also walks the
 * whole search tree once (every record must point to a node, be empty, or
 * point into the data section); that costs one pass over node_count nodes,
 * a few milliseconds for a full GeoLite2-City.  Errors that can still
 * happen in a lookup (undecodable data, a value of the wrong type) are
 * counted in geoip_lookup_errors() and the field stays empty: one bad
 * entry must not stop the sensor.
 *
 * The files are mmap'ed: replacing a database file in place (instead of
 * renaming a new one over it) while the sensor runs can still crash it;
 * that is libmaxminddb's model, the usual updaters rename.
 */
#include "fileio.h"
#include "geoip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <maxminddb.h>

struct geoip {
	MMDB_s db[GEOIP_MAX_DBS];
	int n;
	unsigned long errors;
};

struct geoip *geoip_new(void)
{
	return calloc(1, sizeof(struct geoip));
}

void geoip_free(struct geoip *g)
{
	int i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++)
		MMDB_close(&g->db[i]);
	free(g);
}

unsigned long geoip_lookup_errors(const struct geoip *g)
{
	return g ? g->errors : 0;
}

/* ---- opening ----------------------------------------------------------- */

/* 0 if every record of every node is usable, else the first bad node. */
static int check_tree(const MMDB_s *db, uint32_t *bad_node)
{
	MMDB_search_node_s node;
	uint32_t i;

	for (i = 0; i < db->metadata.node_count; i++) {
		if (MMDB_read_node(db, i, &node) != MMDB_SUCCESS ||
		    node.left_record_type == MMDB_RECORD_TYPE_INVALID ||
		    node.right_record_type == MMDB_RECORD_TYPE_INVALID) {
			*bad_node = i;
			return -1;
		}
	}
	return 0;
}

int geoip_open(struct geoip *g, const char *path, char err[GEOIP_ERR_LEN])
{
	MMDB_s *db;
	uint32_t bad;
	int st;

	if (g->n >= GEOIP_MAX_DBS) {
		snprintf(err, GEOIP_ERR_LEN, "%s: too many GeoIP databases (at most %d)", path,
			 GEOIP_MAX_DBS);
		return -1;
	}
	db = &g->db[g->n];
	/* libmaxminddb opens by name: a FIFO would block it forever. */
	if (fileio_check_regular(path, err) == -2)
		return -1;   /* any other failure: libmaxminddb says it below */
	errno = 0;
	st = MMDB_open(path, MMDB_MODE_MMAP, db);
	if (st == MMDB_FILE_OPEN_ERROR || st == MMDB_IO_ERROR) {
		/* libmaxminddb's text hides the reason; errno still has it. */
		snprintf(err, GEOIP_ERR_LEN, "%s: %s (%s)", path, MMDB_strerror(st),
			 errno ? strerror(errno) : "unknown reason");
		return -1;
	}
	if (st != MMDB_SUCCESS) {
		snprintf(err, GEOIP_ERR_LEN, "%s: not a usable MaxMind DB: %s", path, MMDB_strerror(st));
		return -1;
	}
	if (check_tree(db, &bad) != 0) {
		snprintf(err, GEOIP_ERR_LEN,
			 "%s: not a usable MaxMind DB: corrupt search tree (node %u of %u)", path,
			 (unsigned)bad, (unsigned)db->metadata.node_count);
		MMDB_close(db);
		return -1;
	}
	g->n++;
	return 0;
}

/* ---- looking up ---------------------------------------------------------- */

/* MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR is what a path that the entry
 * does not have gives (country in an ASN database): not an error. */
static int get(struct geoip *g, MMDB_entry_s *e, MMDB_entry_data_s *d, int type,
	       const char *const *path)
{
	int st = MMDB_aget_value(e, d, path);

	if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || (st == MMDB_SUCCESS && !d->has_data))
		return 0;
	if (st != MMDB_SUCCESS || d->type != (uint32_t)type) {
		g->errors++;
		return 0;
	}
	return 1;
}

/* Cut to fit, never inside a UTF-8 sequence. */
static void copy_utf8(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap) {
		len = cap - 1;
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void get_country(struct geoip *g, MMDB_entry_s *e, struct geoip_info *out)
{
	static const char *const path[] = { "country", "iso_code", NULL };
	MMDB_entry_data_s d;

	if (out->country[0] || !get(g, e, &d, MMDB_DATA_TYPE_UTF8_STRING, path))
		return;
	if (d.data_size == 0 || d.data_size >= sizeof(out->country)) {
		g->errors++;   /* an ISO 3166 code is 2 letters */
		return;
	}
	copy_utf8(out->country, sizeof(out->country), d.utf8_string, d.data_size);
}

static void get_asn(struct geoip *g, MMDB_entry_s *e, struct geoip_info *out)
{
	static const char *const num[] = { "autonomous_system_number", NULL };
	static const char *const org[] = { "autonomous_system_organization", NULL };
	MMDB_entry_data_s d;

	if (!out->asn[0] && get(g, e, &d, MMDB_DATA_TYPE_UINT32, num))
		snprintf(out->asn, sizeof(out->asn), "AS%u", (unsigned)d.uint32);
	if (!out->as_org[0] && get(g, e, &d, MMDB_DATA_TYPE_UTF8_STRING, org))
		copy_utf8(out->as_org, sizeof(out->as_org), d.utf8_string, d.data_size);
}

static int to_sockaddr(const struct x1367_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == X1367_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a->bytes, 4);
		return 0;
	}
	if (a->family == X1367_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a->bytes, 16);
		return 0;
	}
	return -1;
}

/* Every entry of a City, Country or ASN database is a map.  Anything else
 * is damage, which a path lookup would report as a mere missing key. */
static int entry_is_map(MMDB_entry_s *e)
{
	static const char *const self[] = { NULL };
	MMDB_entry_data_s d;

	return MMDB_aget_value(e, &d, self) == MMDB_SUCCESS && d.has_data &&
	       d.type == MMDB_DATA_TYPE_MAP;
}

static void lookup_one(struct geoip *g, MMDB_s *db, const struct sockaddr *sa,
		       struct geoip_info *out)
{
	MMDB_lookup_result_s res;
	int mmdb_err = MMDB_SUCCESS;

	res = MMDB_lookup_sockaddr(db, sa, &mmdb_err);
	/* An IPv6 address in an IPv4-only database is simply not there. */
	if (mmdb_err == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
		return;
	if (mmdb_err != MMDB_SUCCESS) {
		g->errors++;
		return;
	}
	if (!res.found_entry)
		return;
	if (!entry_is_map(&res.entry)) {
		g->errors++;
		return;
	}
	get_country(g, &res.entry, out);
	get_asn(g, &res.entry, out);
}

int geoip_lookup(struct geoip *g, const struct x1367_addr *a, struct geoip_info *out)
{
	struct sockaddr_storage ss;
	int i;

	memset(out, 0, sizeof(*out));
	if (!g || !a || to_sockaddr(a, &ss) != 0)
		return 0;
	for (i = 0; i < g->n; i++)
		lookup_one(g, &g->db[i], (const struct sockaddr *)&ss, out);
	return out->country[0] || out->asn[0] || out->as_org[0];
}
