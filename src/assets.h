/*
 * The operator's asset table (--assets FILE): what the sensor sees on the
 * wire -- an address, one of the sensor's Unique IDs (ADDRESS[:PORT][#ID]),
 * a MAC address or a CIDR block -- mapped to the operator's own Unique ID
 * and the asset's name, location and ecosystem.  A CSV file with a header
 * row (docs/x1367ids.8, "ASSET TABLE").
 *
 * Loading is all or nothing: the first bad row refuses the whole file with
 * "FILE:LINE: reason", so a SIGHUP reload keeps the old table.  Lookups are
 * O(1): one hash probe per exact form, at most 33 (IPv4) or 129 (IPv6) for
 * the CIDR blocks (one per prefix length the file uses).
 */
#ifndef X1367_ASSETS_H
#define X1367_ASSETS_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

#define ASSETS_ERR_LEN 512
#define ASSETS_MAX_BYTES (16u * 1024 * 1024)   /* file size */
#define ASSETS_MAX_ROWS 100000u                 /* data rows */
#define ASSETS_MAX_LINE 4096u                   /* bytes in one line */
#define ASSETS_MAX_FIELD 256u                   /* bytes in one field */

struct assets;

/* What the operator calls one asset; "" for a column the file lacks. */
struct asset {
	const char *unique_id;
	const char *name;
	const char *location;
	const char *ecosystem;
};

/* Read and check a whole file (a regular file, at most ASSETS_MAX_BYTES).
 * NULL with err "FILE:LINE: reason" (or "FILE: reason") on any error. */
struct assets *assets_load(const char *path, char err[ASSETS_ERR_LEN]);
/* The same from memory; `name` is the file name the messages use. */
struct assets *assets_parse(const char *name, const char *text, size_t len,
			    char err[ASSETS_ERR_LEN]);
size_t assets_count(const struct assets *t);

/* The asset of a party: its Unique ID as the sensor wrote it (uid, may be
 * NULL or ""), else its address, else its MAC (NULL: unknown), else the
 * longest CIDR block holding the address.  NULL: not in the table. */
const struct asset *assets_find(const struct assets *t, const char *uid,
				const struct x1367_addr *addr, const uint8_t *mac);
void assets_free(struct assets *t);

#endif
