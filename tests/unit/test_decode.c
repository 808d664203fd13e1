/* decode.c: link types, IPv4/IPv6, TCP/UDP, reasons, truncation, garbage. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include "addr.h"
#include "decode.h"
#include "defrag.h"
#include "helpers.h"

/* ---- frame building helpers -------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_addr(uint8_t *p, const char *txt)
{
	struct x1367_addr a;
	cr_assert_eq(addr_parse(txt, &a), 0, "bad test address %s", txt);
	memcpy(p, a.bytes, a.family == X1367_IPV4 ? 4 : 16);
}

static size_t eth(uint8_t *p, uint16_t type)
{
	memset(p, 0xAA, 12);
	put16(p + 12, type);
	return 14;
}

static size_t vlan_tag(uint8_t *p, uint16_t tci, uint16_t next)
{
	put16(p, tci);
	put16(p + 2, next);
	return 4;
}

/* IPv4 header with `optlen` bytes of options (NOPs) and `l4len` bytes after. */
static size_t ip4(uint8_t *p, size_t optlen, size_t l4len, uint16_t id, uint16_t frag,
		  uint8_t proto, const char *src, const char *dst)
{
	size_t hl = 20 + optlen;
	memset(p, 0, hl);
	p[0] = (uint8_t)(0x40 | hl / 4);
	put16(p + 2, (uint16_t)(hl + l4len));
	put16(p + 4, id);
	put16(p + 6, frag);
	p[8] = 64;
	p[9] = proto;
	put_addr(p + 12, src);
	put_addr(p + 16, dst);
	memset(p + 20, 1, optlen);
	return hl;
}

static size_t ip6(uint8_t *p, size_t plen, uint8_t nh, const char *src, const char *dst)
{
	memset(p, 0, 40);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)plen);
	p[6] = nh;
	p[7] = 64;
	put_addr(p + 8, src);
	put_addr(p + 24, dst);
	return 40;
}

/* Generic extension header of `len` bytes (multiple of 8). */
static size_t ext(uint8_t *p, uint8_t nh, size_t len)
{
	memset(p, 0, len);
	p[0] = nh;
	p[1] = (uint8_t)(len / 8 - 1);
	return len;
}

static size_t tcp(uint8_t *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
		  uint8_t flags, size_t optlen)
{
	size_t hl = 20 + optlen;
	memset(p, 0, hl);
	put16(p, sport);
	put16(p + 2, dport);
	put32(p + 4, seq);
	put32(p + 8, ack);
	p[12] = (uint8_t)((hl / 4) << 4);
	p[13] = flags;
	memset(p + 20, 1, optlen);
	return hl;
}

static size_t udp(uint8_t *p, uint16_t sport, uint16_t dport, size_t len)
{
	put16(p, sport);
	put16(p + 2, dport);
	put16(p + 4, (uint16_t)len);
	put16(p + 6, 0);
	return 8;
}

/* Replace a frame's 14-byte Ethernet header by another link header. */
static size_t relink(const struct frame *f, int linktype, uint8_t *out)
{
	size_t hl = 0;
	uint16_t type = (uint16_t)(f->data[12] << 8 | f->data[13]);
	int v6 = type == 0x86DD;

	switch (linktype) {
	case 113: /* SLL */
		memset(out, 0, 16);
		put16(out + 4, 6);
		memset(out + 6, 0xBB, 6);
		put16(out + 14, type);
		hl = 16;
		break;
	case 276: /* SLL2 */
		memset(out, 0, 20);
		put16(out, type);
		put32(out + 4, 3);
		put16(out + 8, 1);
		hl = 20;
		break;
	case 0: /* NULL, little-endian host */
		out[0] = v6 ? 30 : 2;
		out[1] = out[2] = out[3] = 0;
		hl = 4;
		break;
	case 108: /* LOOP, network order */
		put32(out, v6 ? 24 : 2);
		hl = 4;
		break;
	default: /* raw IP */
		break;
	}
	memcpy(out + hl, f->data + 14, f->len - 14);
	return hl + f->len - 14;
}

/* ---- decoding helpers ---------------------------------------------------- */

static enum decode_reason dec(struct decoder *d, const uint8_t *p, size_t len, struct packet *pk)
{
	return decode_packet(d, p, len, (uint32_t)len, 1000, pk);
}

static enum decode_reason dec1(int linktype, const uint8_t *p, size_t len, struct packet *pk)
{
	struct decoder d;
	decoder_init(&d, linktype, NULL);
	enum decode_reason r = dec(&d, p, len, pk);
	cr_assert_eq(d.reasons[r], 1);
	return r;
}

static void assert_addr(const struct x1367_addr *a, const char *txt)
{
	struct x1367_addr e;
	char got[ADDR_STR_MAX];
	cr_assert_eq(addr_parse(txt, &e), 0);
	addr_format(a, got, sizeof(got));
	cr_assert_eq(a->family, e.family, "family %u, want %s", a->family, txt);
	cr_assert(memcmp(a->bytes, e.bytes, e.family == X1367_IPV4 ? 4 : 16) == 0, "addr %s, want %s", got,
		  txt);
}

static void assert_payload(const struct packet *pk, const void *want, size_t len)
{
	cr_assert_eq(pk->payload_len, len, "payload_len %zu want %zu", pk->payload_len, len);
	if (len)
		cr_assert(memcmp(pk->payload, want, len) == 0, "payload bytes differ");
}

static const char PAY[] = "hello, modbus!";   /* 14 bytes + NUL */
#define PAYLEN 14

/* ---- reason names and link types ------------------------------------------ */

Test(decode, reason_names)
{
	cr_assert_str_eq(decode_reason_name(DECODE_OK), "ok");
	cr_assert_str_eq(decode_reason_name(DECODE_FRAGMENT_HELD), "fragment_held");
	cr_assert_str_eq(decode_reason_name(DECODE_UNSUPPORTED_LINKTYPE), "unsupported_linktype");
	cr_assert_str_eq(decode_reason_name(DECODE_TRUNCATED_LINK), "truncated_link");
	cr_assert_str_eq(decode_reason_name(DECODE_UNSUPPORTED_ETHERTYPE), "unsupported_ethertype");
	cr_assert_str_eq(decode_reason_name(DECODE_TOO_MANY_VLAN_TAGS), "too_many_vlan_tags");
	cr_assert_str_eq(decode_reason_name(DECODE_TRUNCATED_IP), "truncated_ip");
	cr_assert_str_eq(decode_reason_name(DECODE_BAD_IP_VERSION), "bad_ip_version");
	cr_assert_str_eq(decode_reason_name(DECODE_BAD_IP_HEADER), "bad_ip_header");
	cr_assert_str_eq(decode_reason_name(DECODE_IPV6_EXT_HEADERS), "ipv6_ext_headers");
	cr_assert_str_eq(decode_reason_name(DECODE_UNSUPPORTED_L4), "unsupported_l4");
	cr_assert_str_eq(decode_reason_name(DECODE_TRUNCATED_L4), "truncated_l4");
	cr_assert_str_eq(decode_reason_name(DECODE_BAD_L4_HEADER), "bad_l4_header");
	cr_assert_str_eq(decode_reason_name(DECODE_FRAGMENT_DROPPED), "fragment_dropped");
	cr_assert_str_eq(decode_reason_name(DECODE_REASON_COUNT), "unknown");
	cr_assert_str_eq(decode_reason_name((enum decode_reason)-1), "unknown");
	/* snake_case, all distinct */
	for (int i = 0; i < DECODE_REASON_COUNT; i++) {
		const char *n = decode_reason_name((enum decode_reason)i);
		for (const char *c = n; *c; c++)
			cr_assert((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
		for (int j = 0; j < i; j++)
			cr_assert_str_neq(n, decode_reason_name((enum decode_reason)j));
	}
}

Test(decode, linktype_supported)
{
	static const int yes[] = {0, 1, 12, 101, 108, 113, 228, 229, 276};
	static const int no[] = {-1, 2, 9, 105, 127, 147, 192, 230, 275, 277};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		cr_assert(decode_linktype_supported(yes[i]), "dlt %d", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		cr_assert_not(decode_linktype_supported(no[i]), "dlt %d", no[i]);
}

Test(decode, unsupported_linktype_counted)
{
	struct frame f;
	struct packet pk;
	struct decoder d;

	build_tcp(&f, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0, 0, NULL, 0);
	decoder_init(&d, 105, NULL);
	cr_assert_eq(dec(&d, f.data, f.len, &pk), DECODE_UNSUPPORTED_LINKTYPE);
	cr_assert_eq(dec(&d, f.data, f.len, &pk), DECODE_UNSUPPORTED_LINKTYPE);
	cr_assert_eq(d.reasons[DECODE_UNSUPPORTED_LINKTYPE], 2);
	cr_assert_eq(d.reasons[DECODE_OK], 0);
	cr_assert_eq(d.linktype, 105);
}

Test(decode, null_data)
{
	struct packet pk;
	cr_assert_eq(dec1(1, NULL, 0, &pk), DECODE_TRUNCATED_LINK);
	cr_assert_eq(dec1(12, NULL, 0, &pk), DECODE_TRUNCATED_LINK);
}

/* ---- Ethernet IPv4 / IPv6 ------------------------------------------------------ */

Test(decode, eth_ipv4_tcp_all_fields)
{
	struct frame f;
	struct packet pk;
	struct decoder d;

	build_tcp(&f, "192.0.2.1", 40000, "198.51.100.7", 502, 0x01020304, 0xA0B0C0D0,
		  TCP_FLAG_PSH | TCP_FLAG_ACK, PAY, PAYLEN);
	decoder_init(&d, 1, NULL);
	cr_assert_eq(decode_packet(&d, f.data, f.len, 1514, 1234567, &pk), DECODE_OK);
	cr_assert_eq(pk.ts_usec, 1234567);
	cr_assert_eq(pk.wire_len, 1514);
	cr_assert_eq(pk.l3, f.data + 14);
	cr_assert_eq(pk.l3_len, 20 + 20 + PAYLEN);
	cr_assert_eq(pk.vlan, 0);
	assert_addr(&pk.src, "192.0.2.1");
	assert_addr(&pk.dst, "198.51.100.7");
	cr_assert_eq(pk.l4proto, IPPROTO_TCP);
	cr_assert_eq(pk.sport, 40000);
	cr_assert_eq(pk.dport, 502);
	cr_assert_eq(pk.tcp_seq, 0x01020304u);
	cr_assert_eq(pk.tcp_ack, 0xA0B0C0D0u);
	cr_assert_eq(pk.tcp_flags, TCP_FLAG_PSH | TCP_FLAG_ACK);
	cr_assert_eq(pk.payload, f.data + 54);
	assert_payload(&pk, PAY, PAYLEN);
	cr_assert_eq(pk.payload_truncated, 0);
	cr_assert_eq(pk.reassembled, 0);
	cr_assert_eq(d.reasons[DECODE_OK], 1);
}

/* The asset table (--assets) matches MACs: the frame's own, in order. */
Test(decode, eth_macs_kept)
{
	static const uint8_t dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t src[6] = {0xFA, 0x60, 0x89, 0x11, 0x0C, 0x4A};
	struct frame f;
	struct packet pk;

	build_udp(&f, "10.1.2.3", 3610, "10.1.2.4", 3610, "\x10\x81", 2);
	memcpy(f.data, dst, 6);
	memcpy(f.data + 6, src, 6);
	cr_assert_eq(dec1(1, f.data, f.len, &pk), DECODE_OK);
	cr_assert_eq(pk.has_mac, 1);
	cr_assert_arr_eq(pk.dst_mac, dst, 6);
	cr_assert_arr_eq(pk.src_mac, src, 6);
	/* raw IP has no MAC */
	cr_assert_eq(dec1(101, f.data + 14, f.len - 14, &pk), DECODE_OK);
	cr_assert_eq(pk.has_mac, 0);
}

Test(decode, eth_ipv4_udp_padding_ignored)
{
	struct frame f;
	struct packet pk;

	build_udp(&f, "10.1.2.3", 3610, "224.0.23.0", 3610, "\x10\x81", 2);
	cr_assert_eq(f.len, 44);
	memset(f.data + f.len, 0xEE, 60 - f.len);   /* Ethernet padding */
	cr_assert_eq(dec1(1, f.data, 60, &pk), DECODE_OK);
	cr_assert_eq(pk.l3_len, 30);
	cr_assert_eq(pk.l4proto, IPPROTO_UDP);
	cr_assert_eq(pk.sport, 3610);
	cr_assert_eq(pk.dport, 3610);
	assert_addr(&pk.src, "10.1.2.3");
	assert_addr(&pk.dst, "224.0.23.0");
	assert_payload(&pk, "\x10\x81", 2);
	cr_assert_eq(pk.payload_truncated, 0);
	cr_assert_eq(pk.tcp_seq, 0);
	cr_assert_eq(pk.tcp_flags, 0);
}

Test(decode, eth_ipv6_tcp_and_udp)
{
	struct frame f;
	struct packet pk;

	build_tcp(&f, "2001:db8::1", 1234, "fe80::abcd:1", 502, 7, 9, TCP_FLAG_SYN, PAY, PAYLEN);
	cr_assert_eq(dec1(1, f.data, f.len, &pk), DECODE_OK);
	assert_addr(&pk.src, "2001:db8::1");
	assert_addr(&pk.dst, "fe80::abcd:1");
	cr_assert_eq(pk.l3, f.data + 14);
	cr_assert_eq(pk.l3_len, 40 + 20 + PAYLEN);
	cr_assert_eq(pk.l4proto, IPPROTO_TCP);
	cr_assert_eq(pk.sport, 1234);
	cr_assert_eq(pk.dport, 502);
	cr_assert_eq(pk.tcp_seq, 7);
	cr_assert_eq(pk.tcp_ack, 9);
	cr_assert_eq(pk.tcp_flags, TCP_FLAG_SYN);
	assert_payload(&pk, PAY, PAYLEN);

	build_udp(&f, "ff02::1", 53, "::1", 5353, PAY, 3);
	cr_assert_eq(dec1(1, f.data, f.len, &pk), DECODE_OK);
	assert_addr(&pk.src, "ff02::1");
	assert_addr(&pk.dst, "::1");
	cr_assert_eq(pk.l4proto, IPPROTO_UDP);
	cr_assert_eq(pk.sport, 53);
	cr_assert_eq(pk.dport, 5353);
	assert_payload(&pk, PAY, 3);
}

Test(decode, unsupported_ethertypes)
{
	uint8_t p[64] = {0};
	struct packet pk;

	eth(p, 0x0806); /* ARP */
	cr_assert_eq(dec1(1, p, 60, &pk), DECODE_UNSUPPORTED_ETHERTYPE);
	eth(p, 0x88CC); /* LLDP */
	cr_assert_eq(dec1(1, p, 60, &pk), DECODE_UNSUPPORTED_ETHERTYPE);
	eth(p, 0x0030); /* 802.3 length */
	cr_assert_eq(dec1(1, p, 60, &pk), DECODE_UNSUPPORTED_ETHERTYPE);
	eth(p, 0x0800);
	cr_assert_eq(dec1(1, p, 13, &pk), DECODE_TRUNCATED_LINK);
	cr_assert_eq(dec1(1, p, 14, &pk), DECODE_TRUNCATED_IP);
}

/* ---- VLAN ----------------------------------------------------------------------- */

static size_t vlan_frame(uint8_t *p, const uint16_t *tpids, const uint16_t *tcis, int n)
{
	struct frame f;
	size_t off;

	build_udp(&f, "10.0.0.1", 1000, "10.0.0.2", 2000, PAY, PAYLEN);
	off = eth(p, n ? tpids[0] : 0x0800);
	for (int i = 0; i < n; i++)
		off += vlan_tag(p + off, tcis[i], i + 1 < n ? tpids[i + 1] : 0x0800);
	memcpy(p + off, f.data + 14, f.len - 14);
	return off + f.len - 14;
}

Test(decode, vlan_single_8021q)
{
	uint8_t p[200];
	struct packet pk;
	const uint16_t tp[] = {0x8100}, tci[] = {0xE000 | 100}; /* PCP 7 ignored */
	size_t len = vlan_frame(p, tp, tci, 1);

	cr_assert_eq(dec1(1, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.vlan, 100);
	cr_assert_eq(pk.l3, p + 18);
	cr_assert_eq(pk.sport, 1000);
	cr_assert_eq(pk.dport, 2000);
	assert_payload(&pk, PAY, PAYLEN);
}

Test(decode, vlan_qinq_88a8)
{
	uint8_t p[200];
	struct packet pk;
	const uint16_t tp[] = {0x88A8, 0x8100}, tci[] = {0x0123, 0x1FFF};
	size_t len = vlan_frame(p, tp, tci, 2);

	cr_assert_eq(dec1(1, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.vlan, (0x123u << 12) | 0xFFFu);
	cr_assert_eq(pk.l3, p + 22);
	assert_addr(&pk.src, "10.0.0.1");
	assert_payload(&pk, PAY, PAYLEN);
}

Test(decode, vlan_qinq_9100)
{
	uint8_t p[200];
	struct packet pk;
	const uint16_t tp[] = {0x9100, 0x8100}, tci[] = {7, 42};
	size_t len = vlan_frame(p, tp, tci, 2);

	cr_assert_eq(dec1(1, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.vlan, (7u << 12) | 42u);
}

Test(decode, vlan_three_tags_refused)
{
	uint8_t p[200];
	struct packet pk;
	const uint16_t tp[] = {0x88A8, 0x8100, 0x8100}, tci[] = {1, 2, 3};
	size_t len = vlan_frame(p, tp, tci, 3);

	cr_assert_eq(dec1(1, p, len, &pk), DECODE_TOO_MANY_VLAN_TAGS);
}

Test(decode, vlan_truncated_and_non_ip)
{
	uint8_t p[200];
	struct packet pk;
	const uint16_t tp[] = {0x8100}, tci[] = {5};
	size_t len = vlan_frame(p, tp, tci, 1);

	for (size_t cut = 14; cut < 18; cut++)
		cr_assert_eq(dec1(1, p, cut, &pk), DECODE_TRUNCATED_LINK, "cut %zu", cut);
	put16(p + 16, 0x0806);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_UNSUPPORTED_ETHERTYPE);
}

/* ---- other link types --------------------------------------------------------- */

Test(decode, linux_sll)
{
	struct frame f;
	uint8_t p[200];
	struct packet pk;

	build_tcp(&f, "10.9.8.7", 502, "10.9.8.6", 33000, 1, 2, TCP_FLAG_ACK, PAY, PAYLEN);
	size_t len = relink(&f, 113, p);
	cr_assert_eq(len, f.len + 2);
	cr_assert_eq(dec1(113, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.l3, p + 16);
	assert_addr(&pk.src, "10.9.8.7");
	cr_assert_eq(pk.sport, 502);
	cr_assert_eq(pk.dport, 33000);
	assert_payload(&pk, PAY, PAYLEN);

	build_udp(&f, "fe80::1", 1, "fe80::2", 2, PAY, 5);
	len = relink(&f, 113, p);
	cr_assert_eq(dec1(113, p, len, &pk), DECODE_OK);
	assert_addr(&pk.dst, "fe80::2");
	assert_payload(&pk, PAY, 5);

	cr_assert_eq(dec1(113, p, 15, &pk), DECODE_TRUNCATED_LINK);
	put16(p + 14, 0x0806);
	cr_assert_eq(dec1(113, p, len, &pk), DECODE_UNSUPPORTED_ETHERTYPE);
}

Test(decode, linux_sll2)
{
	struct frame f;
	uint8_t p[200];
	struct packet pk;

	build_udp(&f, "172.16.0.1", 47808, "172.16.0.255", 47808, PAY, PAYLEN);
	size_t len = relink(&f, 276, p);
	cr_assert_eq(len, f.len + 6);
	cr_assert_eq(dec1(276, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.l3, p + 20);
	assert_addr(&pk.src, "172.16.0.1");
	assert_addr(&pk.dst, "172.16.0.255");
	cr_assert_eq(pk.sport, 47808);
	assert_payload(&pk, PAY, PAYLEN);

	build_tcp(&f, "2001:db8::5", 80, "2001:db8::6", 8080, 1, 1, 0, PAY, 4);
	len = relink(&f, 276, p);
	cr_assert_eq(dec1(276, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.dport, 8080);
	assert_payload(&pk, PAY, 4);

	cr_assert_eq(dec1(276, p, 19, &pk), DECODE_TRUNCATED_LINK);
	put16(p, 0x0806);
	cr_assert_eq(dec1(276, p, len, &pk), DECODE_UNSUPPORTED_ETHERTYPE);
}

Test(decode, raw_ip_all_variants)
{
	struct frame f4, f6;
	uint8_t p4[200], p6[200];
	struct packet pk;

	build_tcp(&f4, "10.0.0.1", 1, "10.0.0.2", 2, 3, 4, TCP_FLAG_FIN, PAY, PAYLEN);
	build_udp(&f6, "2001:db8::1", 5, "2001:db8::2", 6, PAY, 7);
	size_t l4 = relink(&f4, 12, p4), l6 = relink(&f6, 12, p6);

	for (int lt = 0; lt < 2; lt++) {
		int dlt = lt ? 101 : 12;
		cr_assert_eq(dec1(dlt, p4, l4, &pk), DECODE_OK);
		cr_assert_eq(pk.l3, p4);
		assert_addr(&pk.dst, "10.0.0.2");
		cr_assert_eq(pk.tcp_flags, TCP_FLAG_FIN);
		assert_payload(&pk, PAY, PAYLEN);
		cr_assert_eq(dec1(dlt, p6, l6, &pk), DECODE_OK);
		cr_assert_eq(pk.l3, p6);
		assert_addr(&pk.dst, "2001:db8::2");
		assert_payload(&pk, PAY, 7);
		cr_assert_eq(dec1(dlt, p4, 0, &pk), DECODE_TRUNCATED_IP);
	}
	cr_assert_eq(dec1(228, p4, l4, &pk), DECODE_OK);
	cr_assert_eq(pk.sport, 1);
	cr_assert_eq(dec1(229, p6, l6, &pk), DECODE_OK);
	cr_assert_eq(pk.sport, 5);
	cr_assert_eq(dec1(228, p6, l6, &pk), DECODE_BAD_IP_VERSION);
	cr_assert_eq(dec1(229, p4, l4, &pk), DECODE_BAD_IP_VERSION);
	p4[0] = 0x55;
	cr_assert_eq(dec1(12, p4, l4, &pk), DECODE_BAD_IP_VERSION);
}

Test(decode, bsd_null_both_byte_orders)
{
	struct frame f4, f6;
	uint8_t p[200];
	struct packet pk;

	build_udp(&f4, "127.0.0.1", 10, "127.0.0.1", 20, PAY, PAYLEN);
	build_udp(&f6, "::1", 30, "::1", 40, PAY, 2);

	size_t len = relink(&f4, 0, p); /* little-endian AF_INET */
	cr_assert_eq(dec1(0, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.l3, p + 4);
	cr_assert_eq(pk.dport, 20);
	assert_payload(&pk, PAY, PAYLEN);
	put32(p, 2); /* big-endian capturing host */
	cr_assert_eq(dec1(0, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.dport, 20);

	static const uint32_t af6[] = {10, 24, 28, 30};
	len = relink(&f6, 0, p);
	for (size_t i = 0; i < 4; i++) {
		memset(p, 0, 4);
		p[0] = (uint8_t)af6[i];
		cr_assert_eq(dec1(0, p, len, &pk), DECODE_OK, "LE af %u", af6[i]);
		cr_assert_eq(pk.dport, 40);
		put32(p, af6[i]);
		cr_assert_eq(dec1(0, p, len, &pk), DECODE_OK, "BE af %u", af6[i]);
		assert_addr(&pk.src, "::1");
	}
	put32(p, 7);
	cr_assert_eq(dec1(0, p, len, &pk), DECODE_UNSUPPORTED_ETHERTYPE);
	cr_assert_eq(dec1(0, p, 3, &pk), DECODE_TRUNCATED_LINK);
}

Test(decode, bsd_loop_network_order)
{
	struct frame f4, f6;
	uint8_t p[200];
	struct packet pk;

	build_tcp(&f4, "127.0.0.1", 10, "127.0.0.2", 20, 1, 1, 0, PAY, PAYLEN);
	size_t len = relink(&f4, 108, p);
	cr_assert_eq(dec1(108, p, len, &pk), DECODE_OK);
	assert_addr(&pk.dst, "127.0.0.2");
	assert_payload(&pk, PAY, PAYLEN);
	/* little-endian AF_INET is not valid for LOOP */
	memset(p, 0, 4);
	p[0] = 2;
	cr_assert_eq(dec1(108, p, len, &pk), DECODE_UNSUPPORTED_ETHERTYPE);

	build_tcp(&f6, "::1", 10, "::2", 20, 1, 1, 0, PAY, 1);
	len = relink(&f6, 108, p);
	static const uint32_t af6[] = {10, 24, 28, 30};
	for (size_t i = 0; i < 4; i++) {
		put32(p, af6[i]);
		cr_assert_eq(dec1(108, p, len, &pk), DECODE_OK);
		assert_addr(&pk.dst, "::2");
		assert_payload(&pk, PAY, 1);
	}
}

/* ---- IPv4 ------------------------------------------------------------------------ */

Test(decode, ipv4_options_skipped)
{
	uint8_t p[200];
	struct packet pk;
	size_t off = eth(p, 0x0800);

	off += ip4(p + off, 12, 8 + 5, 0, 0x4000 /* DF */, 17, "192.168.1.1", "192.168.1.2");
	off += udp(p + off, 161, 162, 8 + 5);
	memcpy(p + off, "ABCDE", 5);
	off += 5;
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_OK);
	cr_assert_eq(pk.l3_len, 32 + 13);
	cr_assert_eq(pk.sport, 161);
	cr_assert_eq(pk.dport, 162);
	assert_addr(&pk.src, "192.168.1.1");
	cr_assert_eq(pk.payload, p + 14 + 32 + 8);
	assert_payload(&pk, "ABCDE", 5);

	/* maximum IHL (15 words, 40 bytes of options) */
	off = eth(p, 0x0800);
	off += ip4(p + off, 40, 20, 0, 0, 6, "1.2.3.4", "5.6.7.8");
	off += tcp(p + off, 1, 2, 3, 4, 5, 0);
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_OK);
	cr_assert_eq(pk.payload_len, 0);
	cr_assert_eq(pk.tcp_flags, 5);
}

Test(decode, ipv4_bad_headers)
{
	uint8_t p[200];
	struct packet pk;
	size_t off = eth(p, 0x0800), len;

	len = off + ip4(p + off, 0, 20, 0, 0, 6, "1.1.1.1", "2.2.2.2");
	len += tcp(p + len, 1, 2, 0, 0, 0, 0);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_OK);

	p[off] = 0x44; /* IHL 4 */
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_BAD_IP_HEADER);
	p[off] = 0x65; /* version 6 in an IPv4 ethertype */
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_BAD_IP_VERSION);
	p[off] = 0x45;
	put16(p + off + 2, 19); /* total < header */
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_BAD_IP_HEADER);
	put16(p + off + 2, 30); /* total < IP + TCP header */
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_BAD_L4_HEADER);
	put16(p + off + 2, 80);
	p[off] = 0x4F; /* IHL 15 (60 bytes) > 50 captured */
	cr_assert_eq(dec1(1, p, off + 50, &pk), DECODE_TRUNCATED_IP);
	p[off] = 0x46; /* IHL 6 > total */
	put16(p + off + 2, 22);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_BAD_IP_HEADER);
	p[off] = 0x45;
	put16(p + off + 2, 40);
	p[off + 9] = 1; /* ICMP */
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_UNSUPPORTED_L4);
	assert_addr(&pk.src, "1.1.1.1"); /* addresses known even so */
	p[off + 9] = 132; /* SCTP */
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_UNSUPPORTED_L4);
}

Test(decode, ipv4_snaplen_cut_payload)
{
	struct frame f;
	struct packet pk;
	struct decoder d;
	char big[1000];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	build_tcp(&f, "10.0.0.1", 1, "10.0.0.2", 2, 0, 0, 0, big, sizeof(big));
	decoder_init(&d, 1, NULL);
	cr_assert_eq(decode_packet(&d, f.data, 96, (uint32_t)f.len, 5, &pk), DECODE_OK);
	cr_assert_eq(pk.wire_len, f.len);
	cr_assert_eq(pk.payload_truncated, 1);
	cr_assert_eq(pk.l3_len, 96 - 14);
	assert_payload(&pk, big, 96 - 54);
}

/* ---- TCP / UDP -------------------------------------------------------------------- */

Test(decode, tcp_options_and_bad_offsets)
{
	uint8_t p[200];
	struct packet pk;
	size_t off = eth(p, 0x0800);

	off += ip4(p + off, 0, 32 + 4, 0, 0, 6, "1.1.1.1", "2.2.2.2");
	size_t th = off;
	off += tcp(p + off, 502, 40000, 10, 20, TCP_FLAG_ACK, 12);
	memcpy(p + off, "WXYZ", 4);
	off += 4;
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_OK);
	cr_assert_eq(pk.payload, p + th + 32);
	assert_payload(&pk, "WXYZ", 4);
	cr_assert_eq(pk.tcp_seq, 10);
	cr_assert_eq(pk.tcp_ack, 20);

	p[th + 12] = 4 << 4; /* data offset 4 */
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_BAD_L4_HEADER);
	p[th + 12] = 10 << 4; /* 40 bytes > 36-byte segment */
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_BAD_L4_HEADER);
	p[th + 12] = 9 << 4; /* 36 bytes: exactly the segment */
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_OK);
	cr_assert_eq(pk.payload_len, 0);
	p[th + 12] = 8 << 4;
	cr_assert_eq(dec1(1, p, th + 30, &pk), DECODE_TRUNCATED_L4); /* options cut */
	cr_assert_eq(dec1(1, p, th + 19, &pk), DECODE_TRUNCATED_L4);
}

Test(decode, udp_lengths)
{
	uint8_t p[200];
	struct packet pk;
	size_t off = eth(p, 0x0800);

	off += ip4(p + off, 0, 8 + 6, 0, 0, 17, "1.1.1.1", "2.2.2.2");
	size_t uh = off;
	off += udp(p + off, 7, 9, 8 + 6);
	memcpy(p + off, "123456", 6);
	off += 6;
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_OK);
	assert_payload(&pk, "123456", 6);

	put16(p + uh + 4, 8 + 4); /* UDP shorter than IP: trailing bytes ignored */
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_OK);
	assert_payload(&pk, "1234", 4);
	cr_assert_eq(pk.payload_truncated, 0);
	put16(p + uh + 4, 8); /* empty */
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_OK);
	cr_assert_eq(pk.payload_len, 0);
	put16(p + uh + 4, 7);
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_BAD_L4_HEADER);
	put16(p + uh + 4, 0);
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_BAD_L4_HEADER);
	put16(p + uh + 4, 8 + 7); /* larger than IP payload */
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_BAD_L4_HEADER);

	/* snaplen cut inside the UDP payload */
	put16(p + uh + 4, 8 + 6);
	cr_assert_eq(dec1(1, p, off - 2, &pk), DECODE_OK);
	assert_payload(&pk, "1234", 4);
	cr_assert_eq(pk.payload_truncated, 1);
	cr_assert_eq(dec1(1, p, uh + 7, &pk), DECODE_TRUNCATED_L4);

	/* IP payload shorter than a UDP header */
	put16(p + 14 + 2, 20 + 6);
	cr_assert_eq(dec1(1, p, off, &pk), DECODE_BAD_L4_HEADER);
}

/* ---- IPv6 extension headers ---------------------------------------------------------- */

/* Ethernet + IPv6 + the given chain of extension headers + UDP(PAY). */
static size_t v6_chain_frame(uint8_t *p, const uint8_t *types, const size_t *lens, int n)
{
	size_t off = eth(p, 0x86DD), ip = off, plen = 8 + PAYLEN;

	for (int i = 0; i < n; i++)
		plen += lens[i];
	off += ip6(p + off, plen, n ? types[0] : 17, "2001:db8::a", "2001:db8::b");
	for (int i = 0; i < n; i++) {
		uint8_t nh = i + 1 < n ? types[i + 1] : 17;
		if (types[i] == 51) { /* AH: 4-byte units + 2 */
			memset(p + off, 0, lens[i]);
			p[off] = nh;
			p[off + 1] = (uint8_t)(lens[i] / 4 - 2);
			off += lens[i];
		} else if (types[i] == 44) {
			memset(p + off, 0, 8); /* atomic fragment */
			p[off] = nh;
			put32(p + off + 4, 0x1234);
			off += 8;
		} else {
			off += ext(p + off, nh, lens[i]);
		}
	}
	(void)ip;
	off += udp(p + off, 2222, 3333, 8 + PAYLEN);
	memcpy(p + off, PAY, PAYLEN);
	return off + PAYLEN;
}

Test(decode, ipv6_extension_headers)
{
	uint8_t p[600];
	struct packet pk;
	const uint8_t t[] = {0, 60, 43, 51, 60};
	const size_t l[] = {8, 16, 24, 12, 8};
	size_t len = v6_chain_frame(p, t, l, 5);

	cr_assert_eq(dec1(1, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.l4proto, IPPROTO_UDP);
	cr_assert_eq(pk.sport, 2222);
	cr_assert_eq(pk.dport, 3333);
	cr_assert_eq(pk.l3_len, len - 14);
	cr_assert_eq(pk.payload, p + len - PAYLEN);
	assert_payload(&pk, PAY, PAYLEN);
	assert_addr(&pk.src, "2001:db8::a");
	assert_addr(&pk.dst, "2001:db8::b");
}

Test(decode, ipv6_atomic_fragment_is_whole)
{
	uint8_t p[600];
	struct packet pk;
	const uint8_t t[] = {44};
	const size_t l[] = {8};
	size_t len = v6_chain_frame(p, t, l, 1);

	cr_assert_eq(dec1(1, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.reassembled, 0);
	assert_payload(&pk, PAY, PAYLEN);
}

Test(decode, ipv6_eight_ok_nine_refused)
{
	uint8_t p[600];
	struct packet pk;
	const uint8_t t[] = {0, 60, 60, 60, 60, 60, 60, 60, 60};
	const size_t l[] = {8, 8, 8, 8, 8, 8, 8, 8, 8};

	size_t len = v6_chain_frame(p, t, l, 8);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_OK);
	assert_payload(&pk, PAY, PAYLEN);
	len = v6_chain_frame(p, t, l, 9);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_IPV6_EXT_HEADERS);
}

Test(decode, ipv6_malformed_chains)
{
	uint8_t p[600];
	struct packet pk;

	/* hop-by-hop not first */
	const uint8_t t1[] = {60, 0};
	const size_t l1[] = {8, 8};
	size_t len = v6_chain_frame(p, t1, l1, 2);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_IPV6_EXT_HEADERS);

	/* extension header longer than the payload length */
	const uint8_t t2[] = {60};
	const size_t l2[] = {8};
	len = v6_chain_frame(p, t2, l2, 1);
	p[14 + 40 + 1] = 200;
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_IPV6_EXT_HEADERS);
	/* ... and one cut by the capture */
	p[14 + 40 + 1] = 0;
	cr_assert_eq(dec1(1, p, 14 + 40 + 5, &pk), DECODE_TRUNCATED_IP);
	cr_assert_eq(dec1(1, p, 14 + 40 + 1, &pk), DECODE_TRUNCATED_IP);

	/* no next header, ICMPv6, ESP */
	len = v6_chain_frame(p, t2, l2, 1);
	p[14 + 40] = 59;
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_UNSUPPORTED_L4);
	p[14 + 6] = 58;
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_UNSUPPORTED_L4);
	p[14 + 6] = 50;
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_UNSUPPORTED_L4);

	/* jumbogram */
	len = v6_chain_frame(p, t2, l2, 1);
	put16(p + 14 + 4, 0);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_BAD_IP_HEADER);

	/* version 4 in an IPv6 ethertype */
	len = v6_chain_frame(p, t2, l2, 1);
	p[14] = 0x45;
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_BAD_IP_VERSION);
}

Test(decode, ipv6_payload_length_bounds)
{
	struct frame f;
	struct packet pk;

	build_udp(&f, "2001:db8::1", 1, "2001:db8::2", 2, PAY, PAYLEN);
	memset(f.data + f.len, 0xEE, 20); /* trailer */
	cr_assert_eq(dec1(1, f.data, f.len + 20, &pk), DECODE_OK);
	cr_assert_eq(pk.l3_len, 40 + 8 + PAYLEN);
	assert_payload(&pk, PAY, PAYLEN);
	/* snaplen cut */
	cr_assert_eq(dec1(1, f.data, f.len - 4, &pk), DECODE_OK);
	cr_assert_eq(pk.payload_truncated, 1);
	cr_assert_eq(pk.l3_len, 40 + 8 + PAYLEN - 4);
	assert_payload(&pk, PAY, PAYLEN - 4);
	/* payload length smaller than the UDP length */
	put16(f.data + 14 + 4, 8 + 3);
	cr_assert_eq(dec1(1, f.data, f.len, &pk), DECODE_BAD_L4_HEADER);
}

/* ---- truncation at every offset --------------------------------------------------------- */

/* Cuts in [0, link) -> link reason, [link, ip) -> truncated_ip,
 * [ip, l4) -> truncated_l4, [l4, len] -> OK with the cut payload. */
static void cut_everywhere(int linktype, const uint8_t *p, size_t len, size_t link_end,
			   size_t ip_end, size_t l4_end, enum decode_reason link_reason)
{
	struct decoder d;
	struct packet pk;
	uint8_t *copy = malloc(len ? len : 1);

	decoder_init(&d, linktype, NULL);
	for (size_t cut = 0; cut <= len; cut++) {
		/* an exact-size heap copy: ASan sees any read past the cut */
		memcpy(copy, p, cut);
		enum decode_reason r = decode_packet(&d, copy, cut, (uint32_t)len, 0, &pk);
		enum decode_reason want = cut < link_end ? link_reason
					  : cut < ip_end ? DECODE_TRUNCATED_IP
					  : cut < l4_end ? DECODE_TRUNCATED_L4
							 : DECODE_OK;
		cr_assert_eq(r, want, "dlt %d cut %zu: %s, want %s", linktype, cut,
			     decode_reason_name(r), decode_reason_name(want));
		if (r == DECODE_OK) {
			cr_assert_eq(pk.payload_len, cut - l4_end);
			cr_assert_eq(pk.payload_truncated, cut < len);
			if (pk.payload_len)
				cr_assert_eq(pk.payload, copy + l4_end);
			cr_assert(pk.l3_len <= cut - link_end);
		}
	}
	cr_assert_eq(d.reasons[DECODE_OK], len - l4_end + 1);
	free(copy);
}

Test(decode, truncated_at_every_offset_ipv4)
{
	uint8_t p[300];
	size_t off = eth(p, 0x0800);

	off += ip4(p + off, 8, 24 + PAYLEN, 1, 0, 6, "10.0.0.1", "10.0.0.2");
	off += tcp(p + off, 1, 2, 3, 4, TCP_FLAG_ACK, 4);
	memcpy(p + off, PAY, PAYLEN);
	off += PAYLEN;
	cut_everywhere(1, p, off, 14, 14 + 28, 14 + 28 + 24, DECODE_TRUNCATED_LINK);
}

Test(decode, truncated_at_every_offset_ipv6_ext_qinq)
{
	uint8_t p[600], q[600];
	const uint8_t t[] = {0, 60, 51};
	const size_t l[] = {8, 16, 12};
	size_t len = v6_chain_frame(p, t, l, 3);
	const uint16_t tp[] = {0x88A8, 0x8100}, tci[] = {10, 20};
	size_t off = eth(q, tp[0]);

	off += vlan_tag(q + off, tci[0], tp[1]);
	off += vlan_tag(q + off, tci[1], 0x86DD);
	memcpy(q + off, p + 14, len - 14);
	len += 8;
	cut_everywhere(1, q, len, 22, 22 + 40 + 36, 22 + 40 + 36 + 8, DECODE_TRUNCATED_LINK);
}

Test(decode, truncated_at_every_offset_other_links)
{
	struct frame f;
	uint8_t p[300];

	build_tcp(&f, "10.0.0.1", 1, "10.0.0.2", 2, 3, 4, 0, PAY, PAYLEN);
	size_t len = relink(&f, 276, p);
	cut_everywhere(276, p, len, 20, 40, 60, DECODE_TRUNCATED_LINK);
	len = relink(&f, 113, p);
	cut_everywhere(113, p, len, 16, 36, 56, DECODE_TRUNCATED_LINK);
	len = relink(&f, 0, p);
	cut_everywhere(0, p, len, 4, 24, 44, DECODE_TRUNCATED_LINK);
	len = relink(&f, 12, p);
	cut_everywhere(12, p, len, 0, 20, 40, DECODE_TRUNCATED_LINK);
	build_udp(&f, "2001:db8::1", 1, "2001:db8::2", 2, PAY, PAYLEN);
	len = relink(&f, 229, p);
	cut_everywhere(229, p, len, 0, 40, 48, DECODE_TRUNCATED_LINK);
	len = relink(&f, 108, p);
	cut_everywhere(108, p, len, 4, 44, 52, DECODE_TRUNCATED_LINK);
}

/* ---- garbage ------------------------------------------------------------------------------ */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: fixed seed, reproducible */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void check_invariants(enum decode_reason r, const uint8_t *buf, size_t caplen,
			     const struct packet *pk)
{
	cr_assert((unsigned)r < DECODE_REASON_COUNT);
	if (r != DECODE_OK)
		return;
	cr_assert(pk->l4proto == IPPROTO_TCP || pk->l4proto == IPPROTO_UDP);
	cr_assert(pk->src.family == X1367_IPV4 || pk->src.family == X1367_IPV6);
	cr_assert_eq(pk->src.family, pk->dst.family);
	if (pk->reassembled) {
		cr_assert_null(pk->l3);
		cr_assert_eq(pk->l3_len, 0);
		cr_assert(pk->payload_len <= 65535);
		return;
	}
	cr_assert(pk->l3 >= buf && pk->l3 + pk->l3_len <= buf + caplen);
	if (pk->payload_len) {
		cr_assert(pk->payload >= pk->l3);
		cr_assert(pk->payload + pk->payload_len <= buf + caplen, "payload beyond caplen");
		cr_assert(pk->payload + pk->payload_len <= pk->l3 + pk->l3_len);
	}
}

Test(decode, random_garbage_and_mutations)
{
	static const int dlts[] = {0, 1, 12, 101, 108, 113, 228, 229, 276};
	struct defrag *df = defrag_new(NULL);
	struct decoder d[9];
	struct frame tmpl[4];
	uint8_t *buf = malloc(512);
	uint64_t n = 0;

	cr_assert_not_null(df);
	for (int i = 0; i < 9; i++)
		decoder_init(&d[i], dlts[i], df);
	build_tcp(&tmpl[0], "10.0.0.1", 1, "10.0.0.2", 2, 3, 4, 0, PAY, PAYLEN);
	build_udp(&tmpl[1], "2001:db8::1", 1, "2001:db8::2", 2, PAY, PAYLEN);
	{
		uint8_t p[600];
		const uint8_t t[] = {0, 44, 60};
		const size_t l[] = {8, 8, 16};
		size_t len = v6_chain_frame(p, t, l, 3);
		memcpy(tmpl[2].data, p, len);
		tmpl[2].len = len;
	}
	build_udp(&tmpl[3], "10.0.0.1", 1, "10.0.0.2", 2, PAY, PAYLEN);
	tmpl[3].data[14 + 6] = 0x20; /* MF */

	rng_state = 0x1367136713671367ull;
	for (int iter = 0; iter < 200000; iter++) {
		int k = (int)(rnd() % 9);
		size_t len;
		if (rnd() & 1) {
			len = rnd() % 200;
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rnd();
		} else {
			const struct frame *t = &tmpl[rnd() % 4];
			len = relink(t, dlts[k] == 101 || dlts[k] == 228 || dlts[k] == 229 ? 12 : dlts[k],
				     buf);
			int flips = 1 + (int)(rnd() % 4);
			for (int j = 0; j < flips; j++)
				buf[rnd() % len] = (uint8_t)rnd();
			len = rnd() % 4 ? len : rnd() % (len + 1);
		}
		struct packet pk;
		enum decode_reason r = decode_packet(&d[k], buf, len, (uint32_t)len, (uint64_t)iter * 1000, &pk);
		check_invariants(r, buf, len, &pk);
		n++;
	}
	uint64_t sum = 0;
	for (int i = 0; i < 9; i++)
		for (int r = 0; r < DECODE_REASON_COUNT; r++)
			sum += d[i].reasons[r];
	cr_assert_eq(sum, n);
	/* the mutations must reach deep enough to decode some packets */
	uint64_t ok = 0;
	for (int i = 0; i < 9; i++)
		ok += d[i].reasons[DECODE_OK];
	cr_assert_gt(ok, 1000);
	defrag_free(df);
	free(buf);
}

/* ---- fragments through the decoder ------------------------------------------------------ */

/* IPv4 fragment: Ethernet + IP header + a slice of a UDP datagram. */
static size_t v4_frag(uint8_t *p, uint16_t id, uint32_t off, int more, const uint8_t *dgram,
		      size_t len, uint8_t proto)
{
	size_t o = eth(p, 0x0800);
	o += ip4(p + o, 0, len, id, (uint16_t)((more ? 0x2000 : 0) | off / 8), proto, "10.0.0.1",
		 "10.0.0.2");
	memcpy(p + o, dgram + off, len);
	return o + len;
}

Test(decode, ipv4_fragments_reassembled)
{
	uint8_t dg[8 + 40], p[200];
	struct packet pk;
	struct decoder d;
	struct defrag *df = defrag_new(NULL);

	udp(dg, 5683, 5684, sizeof(dg));
	for (size_t i = 8; i < sizeof(dg); i++)
		dg[i] = (uint8_t)i;
	decoder_init(&d, 1, df);
	size_t len = v4_frag(p, 77, 24, 0, dg, 24, 17);
	cr_assert_eq(dec(&d, p, len, &pk), DECODE_FRAGMENT_HELD);
	len = v4_frag(p, 77, 0, 1, dg, 24, 17);
	cr_assert_eq(dec(&d, p, len, &pk), DECODE_OK);
	cr_assert_eq(pk.reassembled, 1);
	cr_assert_null(pk.l3);
	cr_assert_eq(pk.l3_len, 0);
	cr_assert_eq(pk.l4proto, IPPROTO_UDP);
	cr_assert_eq(pk.sport, 5683);
	cr_assert_eq(pk.dport, 5684);
	assert_addr(&pk.src, "10.0.0.1");
	assert_payload(&pk, dg + 8, 40);
	cr_assert_eq(pk.payload_truncated, 0);
	cr_assert_eq(d.reasons[DECODE_FRAGMENT_HELD], 1);
	cr_assert_eq(d.reasons[DECODE_OK], 1);
	cr_assert_eq(defrag_stats(df)->reassembled, 1);

	/* reassembled but the UDP length lies */
	put16(dg + 4, 100);
	len = v4_frag(p, 78, 0, 1, dg, 24, 17);
	cr_assert_eq(dec(&d, p, len, &pk), DECODE_FRAGMENT_HELD);
	len = v4_frag(p, 78, 24, 0, dg, 24, 17);
	cr_assert_eq(dec(&d, p, len, &pk), DECODE_BAD_L4_HEADER);

	/* not TCP/UDP: never buffered */
	len = v4_frag(p, 79, 0, 1, dg, 24, 1);
	cr_assert_eq(dec(&d, p, len, &pk), DECODE_UNSUPPORTED_L4);
	cr_assert_eq(defrag_bytes_in_use(df), 0);

	/* a fragment cut by the capture cannot be reassembled */
	len = v4_frag(p, 80, 0, 1, dg, 24, 17);
	cr_assert_eq(dec(&d, p, len - 1, &pk), DECODE_TRUNCATED_IP);
	cr_assert_eq(defrag_bytes_in_use(df), 0);
	defrag_free(df);
}

Test(decode, fragments_without_defrag_dropped)
{
	uint8_t dg[32] = {0}, p[200];
	struct packet pk;

	size_t len = v4_frag(p, 1, 0, 1, dg, 16, 17);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_FRAGMENT_DROPPED);
	len = v4_frag(p, 1, 16, 0, dg, 16, 6);
	cr_assert_eq(dec1(1, p, len, &pk), DECODE_FRAGMENT_DROPPED);
}
