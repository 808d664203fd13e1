/* Frame builders for unit tests: Ethernet + IPv4/IPv6 + TCP/UDP. */
#include <arpa/inet.h>
#include <string.h>
#include "helpers.h"

static size_t put_eth(uint8_t *p, uint16_t ethertype)
{
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
	memcpy(p, macs, 12);
	p[12] = (uint8_t)(ethertype >> 8);
	p[13] = (uint8_t)ethertype;
	return 14;
}

/* IP header for `l4len` bytes of protocol `proto`; returns header length,
 * 0 if the addresses do not parse. */
static size_t put_ip(uint8_t *p, const char *src, const char *dst, uint8_t proto,
		     size_t l4len, int *v6)
{
	struct in_addr s4, d4;
	struct in6_addr s6, d6;

	if (inet_pton(AF_INET, src, &s4) == 1 && inet_pton(AF_INET, dst, &d4) == 1) {
		size_t total = 20 + l4len;
		memset(p, 0, 20);
		p[0] = 0x45;
		p[2] = (uint8_t)(total >> 8);
		p[3] = (uint8_t)total;
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, &s4, 4);
		memcpy(p + 16, &d4, 4);
		*v6 = 0;
		return 20;
	}
	if (inet_pton(AF_INET6, src, &s6) == 1 && inet_pton(AF_INET6, dst, &d6) == 1) {
		memset(p, 0, 40);
		p[0] = 0x60;
		p[4] = (uint8_t)(l4len >> 8);
		p[5] = (uint8_t)l4len;
		p[6] = proto;
		p[7] = 64;
		memcpy(p + 8, &s6, 16);
		memcpy(p + 24, &d6, 16);
		*v6 = 1;
		return 40;
	}
	return 0;
}

static int is_v6(const char *a)
{
	return strchr(a, ':') != NULL;
}

size_t build_tcp(struct frame *f, const char *src, uint16_t sport, const char *dst,
		 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		 const void *payload, size_t len)
{
	uint8_t *p = f->data;
	int v6 = 0;
	size_t off = put_eth(p, is_v6(src) ? 0x86DD : 0x0800);
	size_t iph = put_ip(p + off, src, dst, IPPROTO_TCP, 20 + len, &v6);

	if (!iph || off + iph + 20 + len > FRAME_MAX)
		return f->len = 0;
	off += iph;
	memset(p + off, 0, 20);
	p[off + 0] = (uint8_t)(sport >> 8);
	p[off + 1] = (uint8_t)sport;
	p[off + 2] = (uint8_t)(dport >> 8);
	p[off + 3] = (uint8_t)dport;
	p[off + 4] = (uint8_t)(seq >> 24);
	p[off + 5] = (uint8_t)(seq >> 16);
	p[off + 6] = (uint8_t)(seq >> 8);
	p[off + 7] = (uint8_t)seq;
	p[off + 8] = (uint8_t)(ack >> 24);
	p[off + 9] = (uint8_t)(ack >> 16);
	p[off + 10] = (uint8_t)(ack >> 8);
	p[off + 11] = (uint8_t)ack;
	p[off + 12] = 5 << 4;
	p[off + 13] = flags;
	p[off + 14] = 0xFF;
	p[off + 15] = 0xFF;
	off += 20;
	if (len)
		memcpy(p + off, payload, len);
	return f->len = off + len;
}

size_t build_udp(struct frame *f, const char *src, uint16_t sport, const char *dst,
		 uint16_t dport, const void *payload, size_t len)
{
	uint8_t *p = f->data;
	int v6 = 0;
	size_t off = put_eth(p, is_v6(src) ? 0x86DD : 0x0800);
	size_t iph = put_ip(p + off, src, dst, IPPROTO_UDP, 8 + len, &v6);

	if (!iph || off + iph + 8 + len > FRAME_MAX)
		return f->len = 0;
	off += iph;
	p[off + 0] = (uint8_t)(sport >> 8);
	p[off + 1] = (uint8_t)sport;
	p[off + 2] = (uint8_t)(dport >> 8);
	p[off + 3] = (uint8_t)dport;
	p[off + 4] = (uint8_t)((8 + len) >> 8);
	p[off + 5] = (uint8_t)(8 + len);
	p[off + 6] = 0;
	p[off + 7] = 0;
	off += 8;
	if (len)
		memcpy(p + off, payload, len);
	return f->len = off + len;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex && n < cap; hex++) {
		int v = hexval(*hex);
		if (v < 0)
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}
