/*
 * Community ID v1 (corelight/community-id-spec), seed 0.
 *
 * Why not nDPI's ndpi_flowv4_flow_hash/ndpi_flowv6_flow_hash: in nDPI 4.2
 * they give "1:<base64>" with seed 0 and match the spec's vectors for
 * flows between two different addresses, but when both ends have the SAME
 * address they order the endpoints by comparing the ports AFTER htons(),
 * i.e. by their byte-swapped value on a little-endian host.  The spec
 * orders by the numeric port, so such a flow (10.0.0.1:50000 <->
 * 10.0.0.1:502) gets an ID that Zeek, Suricata and Arkime never print, and
 * the point of the field is to join with their logs.  So the spec is
 * implemented here directly: its byte layout, SHA-1 from libgcrypt (which
 * libndpi already links: `pkg-config --libs libndpi` gives -lgcrypt), and
 * base64.  tests/unit/test_community_id.c checks the spec's vectors,
 * both directions, and the equal-address case.
 *
 * Hash input, all in network byte order:
 *   seed (2) | addr_lo (4 or 16) | addr_hi | proto (1) | pad 0 (1) |
 *   port_lo (2) | port_hi (2)
 * where (addr, port)_lo is the smaller endpoint: address bytes compared
 * first, then the port as a number.
 */
#include "community_id.h"

#include <pthread.h>
#include <string.h>

#include <gcrypt.h>

#define CID_SEED 0
#define SHA1_LEN 20

static pthread_once_t gcrypt_once = PTHREAD_ONCE_INIT;

/* libgcrypt wants gcry_check_version() before first use.  nDPI (or the
 * program) may have initialised it already: then leave it alone. */
static void gcrypt_init(void)
{
	if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P))
		return;
	gcry_check_version(NULL);
	gcry_control(GCRYCTL_DISABLE_SECMEM, 0);
	gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Is (a, ap) the smaller endpoint, or equal to (b, bp)? */
static int endpoint_le(const uint8_t *a, uint16_t ap, const uint8_t *b, uint16_t bp, size_t alen)
{
	int c = memcmp(a, b, alen);

	return c < 0 || (c == 0 && ap <= bp);
}

static size_t build_input(uint8_t buf[40], uint8_t proto, const struct x1367_addr *src,
			  uint16_t sport, const struct x1367_addr *dst, uint16_t dport)
{
	size_t alen = src->family == X1367_IPV4 ? 4 : 16, off = 0;
	const uint8_t *lo = src->bytes, *hi = dst->bytes;
	uint16_t plo = sport, phi = dport;

	if (!endpoint_le(src->bytes, sport, dst->bytes, dport, alen)) {
		lo = dst->bytes, hi = src->bytes;
		plo = dport, phi = sport;
	}
	put16(buf + off, CID_SEED), off += 2;
	memcpy(buf + off, lo, alen), off += alen;
	memcpy(buf + off, hi, alen), off += alen;
	buf[off++] = proto;
	buf[off++] = 0;
	put16(buf + off, plo), off += 2;
	put16(buf + off, phi), off += 2;
	return off;
}

/* Standard base64 with padding; `out` holds 4 * ceil(len / 3) + 1. */
static void base64(const uint8_t *in, size_t len, char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;

	for (i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

int community_id_v1(uint8_t proto, const struct x1367_addr *src, uint16_t sport,
		    const struct x1367_addr *dst, uint16_t dport, char out[COMMUNITY_ID_MAX])
{
	uint8_t buf[40], digest[SHA1_LEN];
	size_t n;

	out[0] = '\0';
	if (!src || !dst || src->family != dst->family ||
	    (src->family != X1367_IPV4 && src->family != X1367_IPV6))
		return -1;
	pthread_once(&gcrypt_once, gcrypt_init);
	n = build_input(buf, proto, src, sport, dst, dport);
	gcry_md_hash_buffer(GCRY_MD_SHA1, digest, buf, n);
	/* "1:" + 28 base64 characters + NUL = 31 <= COMMUNITY_ID_MAX. */
	_Static_assert(COMMUNITY_ID_MAX >= 2 + 4 * ((SHA1_LEN + 2) / 3) + 1, "room for the ID");
	out[0] = '1';
	out[1] = ':';
	base64(digest, sizeof(digest), out + 2);
	return 0;
}
