/* Community ID v1 (corelight/community-id-spec), so records join with
 * Zeek, Suricata and Arkime logs.  Implemented from the spec with
 * libgcrypt's SHA-1, not through nDPI 4.2's ndpi_flowv4_flow_hash, which
 * orders same-address endpoints by byte-swapped port (community_id.c). */
#ifndef X1367_COMMUNITY_ID_H
#define X1367_COMMUNITY_ID_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

#define COMMUNITY_ID_MAX 64

/* "1:<base64>" for a TCP/UDP flow (proto IPPROTO_TCP or IPPROTO_UDP),
 * seed 0.  0 on success. */
int community_id_v1(uint8_t proto, const struct x1367_addr *src, uint16_t sport,
		    const struct x1367_addr *dst, uint16_t dport, char out[COMMUNITY_ID_MAX]);

#endif
