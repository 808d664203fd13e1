/* Optional enrichment from MaxMind databases (libmaxminddb): country and
 * autonomous system of the requester and responder, so a SOC can tell an
 * in-plant address from an outside one at a glance. */
#ifndef X1367_GEOIP_H
#define X1367_GEOIP_H

#include <stddef.h>
#include <x1367ids/dissector.h>

#define GEOIP_ERR_LEN 512
#define GEOIP_MAX_DBS 4

struct geoip;

struct geoip_info {
	char country[8];       /* ISO 3166 code, "" if unknown */
	char asn[16];          /* "AS1221", "" if unknown */
	char as_org[96];       /* "Telstra Pty Ltd", "" if unknown */
};

struct geoip *geoip_new(void);
/* Open one .mmdb file (City, Country or ASN).  -1 with err set on a
 * missing or corrupt file. */
int geoip_open(struct geoip *g, const char *path, char err[GEOIP_ERR_LEN]);
/* Look an address up in every open database.  Returns 1 if anything was
 * found, 0 if not; lookup errors (corrupt data) count and return 0. */
int geoip_lookup(struct geoip *g, const struct x1367_addr *a, struct geoip_info *out);
unsigned long geoip_lookup_errors(const struct geoip *g);
void geoip_free(struct geoip *g);

#endif
