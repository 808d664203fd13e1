/*
 * Link, network and transport decoding: raw captured bytes -> struct packet.
 *
 * One function per layer.  Each layer reads only through struct
 * x1367_reader, never through casts or raw indexing.  Between IP and L4 the
 * bytes travel as a `struct span`: what was captured (the reader) and what
 * the enclosing header claims (len).  Keeping both apart is what lets us
 * tell a malformed header (it claims less than a TCP header: BAD_L4_HEADER)
 * from a snaplen cut (it claims enough but the capture stopped:
 * TRUNCATED_L4, or a cut payload with payload_truncated = 1).
 *
 * Not checked, on purpose: IP and L4 checksums (offloading makes them
 * wrong in most captures taken on the sending host; an IDS must still see
 * those packets), TTL, the IPv4 reserved flag.
 *
 * Reassembled datagrams: struct packet's l3 would have to point at a
 * contiguous IP header + payload, which no longer exists; l3 is NULL and
 * l3_len 0 for them (packet.reassembled tells why).
 */
#include <string.h>
#include "decode.h"

/* Link types by number: pcap.h does not define all of them everywhere. */
enum {
	LT_NULL = 0,
	LT_EN10MB = 1,
	LT_RAW = 12,
	LT_LINKTYPE_RAW = 101,
	LT_LOOP = 108,
	LT_LINUX_SLL = 113,
	LT_IPV4 = 228,
	LT_IPV6 = 229,
	LT_LINUX_SLL2 = 276,
};

#define ETH_IPV4 0x0800
#define ETH_IPV6 0x86DD
#define ETH_8021Q 0x8100
#define ETH_8021AD 0x88A8
#define ETH_QINQ_OLD 0x9100

#define MAX_VLAN_TAGS 2
#define MAX_IPV6_EXT 8


static const char *const reason_names[DECODE_REASON_COUNT] = {
	[DECODE_OK] = "ok",
	[DECODE_FRAGMENT_HELD] = "fragment_held",
	[DECODE_UNSUPPORTED_LINKTYPE] = "unsupported_linktype",
	[DECODE_TRUNCATED_LINK] = "truncated_link",
	[DECODE_UNSUPPORTED_ETHERTYPE] = "unsupported_ethertype",
	[DECODE_TOO_MANY_VLAN_TAGS] = "too_many_vlan_tags",
	[DECODE_TRUNCATED_IP] = "truncated_ip",
	[DECODE_BAD_IP_VERSION] = "bad_ip_version",
	[DECODE_BAD_IP_HEADER] = "bad_ip_header",
	[DECODE_IPV6_EXT_HEADERS] = "ipv6_ext_headers",
	[DECODE_UNSUPPORTED_L4] = "unsupported_l4",
	[DECODE_TRUNCATED_L4] = "truncated_l4",
	[DECODE_BAD_L4_HEADER] = "bad_l4_header",
	[DECODE_FRAGMENT_DROPPED] = "fragment_dropped",
};

const char *decode_reason_name(enum decode_reason r)
{
	if ((unsigned)r >= DECODE_REASON_COUNT)
		return "unknown";
	return reason_names[r];
}

int decode_linktype_supported(int linktype)
{
	switch (linktype) {
	case LT_NULL:
	case LT_EN10MB:
	case LT_RAW:
	case LT_LINKTYPE_RAW:
	case LT_LOOP:
	case LT_LINUX_SLL:
	case LT_IPV4:
	case LT_IPV6:
	case LT_LINUX_SLL2:
		return 1;
	default:
		return 0;
	}
}

void decoder_init(struct decoder *d, int linktype, struct defrag *defrag)
{
	memset(d, 0, sizeof(*d));
	d->linktype = linktype;
	d->defrag = defrag;
}

/* ---- spans: captured bytes + claimed length ------------------------------ */

struct span {
	struct x1367_reader r;      /* captured bytes */
	size_t len;                 /* bytes the enclosing header claims; >= captured */
};

enum take { TAKE_OK, TAKE_BAD, TAKE_TRUNC };

/* Take an n-byte header off the front of a span: *hdr reads exactly it. */
static enum take span_take(struct span *s, size_t n, struct x1367_reader *hdr)
{
	if (n > s->len)
		return TAKE_BAD;
	const uint8_t *p = x1367_rd_bytes(&s->r, n);
	if (!p)
		return TAKE_TRUNC;
	s->len -= n;
	x1367_rd_init(hdr, p, n);
	return TAKE_OK;
}

/* The rest of the span as payload. */
static void span_payload(struct span *s, struct packet *out)
{
	size_t cap = x1367_rd_left(&s->r);

	out->payload = cap ? x1367_rd_bytes(&s->r, cap) : NULL;
	out->payload_len = cap;
	out->payload_truncated = cap < s->len;
}

static void span_init(struct span *s, const uint8_t *p, size_t cap, size_t len)
{
	x1367_rd_init(&s->r, p, cap);
	s->len = len;
}

/* ---- link layer ------------------------------------------------------------ */

static int is_vlan_tpid(uint16_t t)
{
	return t == ETH_8021Q || t == ETH_8021AD || t == ETH_QINQ_OLD;
}

/* From an ethertype (Ethernet, SLL, SLL2) to the IP version, through up to
 * two VLAN tags.  *ipver is X1367_IPV4 or X1367_IPV6. */
static enum decode_reason ethertype_chain(struct x1367_reader *r, uint16_t type,
					  struct packet *out, int *ipver)
{
	int tags = 0;

	while (is_vlan_tpid(type)) {
		if (tags == MAX_VLAN_TAGS)
			return DECODE_TOO_MANY_VLAN_TAGS;
		uint16_t tci = x1367_rd_be16(r);
		type = x1367_rd_be16(r);
		if (!x1367_rd_ok(r))
			return DECODE_TRUNCATED_LINK;
		/* Outer id ends up in the high bits: outer << 12 | inner. */
		out->vlan = out->vlan << 12 | (tci & 0x0FFFu);
		tags++;
	}
	if (type == ETH_IPV4)
		*ipver = X1367_IPV4;
	else if (type == ETH_IPV6)
		*ipver = X1367_IPV6;
	else
		return DECODE_UNSUPPORTED_ETHERTYPE;
	return DECODE_OK;
}

static enum decode_reason link_ethernet(struct x1367_reader *r, struct packet *out, int *ipver)
{
	const uint8_t *dst = x1367_rd_bytes(r, 6), *src = x1367_rd_bytes(r, 6);
	uint16_t type = x1367_rd_be16(r);
	if (!x1367_rd_ok(r) || !dst || !src)
		return DECODE_TRUNCATED_LINK;
	/* Kept for the asset table: a MAC names a device on this segment. */
	memcpy(out->dst_mac, dst, 6);
	memcpy(out->src_mac, src, 6);
	out->has_mac = 1;
	return ethertype_chain(r, type, out, ipver);
}

static enum decode_reason link_sll(struct x1367_reader *r, struct packet *out, int *ipver)
{
	x1367_rd_skip(r, 14);                   /* type, ARPHRD, address */
	uint16_t proto = x1367_rd_be16(r);
	if (!x1367_rd_ok(r))
		return DECODE_TRUNCATED_LINK;
	return ethertype_chain(r, proto, out, ipver);
}

static enum decode_reason link_sll2(struct x1367_reader *r, struct packet *out, int *ipver)
{
	uint16_t proto = x1367_rd_be16(r);
	x1367_rd_skip(r, 18);                   /* reserved, ifindex, ARPHRD, type, address */
	if (!x1367_rd_ok(r))
		return DECODE_TRUNCATED_LINK;
	return ethertype_chain(r, proto, out, ipver);
}

/* Raw IP: the version nibble says which.  `want` 0 accepts either. */
static enum decode_reason link_raw(struct x1367_reader *r, int want, int *ipver)
{
	struct x1367_reader peek = *r;
	int v = x1367_rd_u8(&peek) >> 4;

	if (!x1367_rd_ok(&peek))
		return DECODE_TRUNCATED_IP;
	if ((v != X1367_IPV4 && v != X1367_IPV6) || (want && v != want))
		return DECODE_BAD_IP_VERSION;
	*ipver = v;
	return DECODE_OK;
}

/* BSD loopback: a 4-byte address family.  DLT_NULL stores it in the
 * capturing host's byte order, which we cannot know, so a value with bits
 * above the low 16 is taken as byte-swapped (families are small numbers).
 * DLT_LOOP is always network order.  AF_INET6 differs across BSDs. */
static enum decode_reason link_null(struct x1367_reader *r, int any_order, int *ipver)
{
	uint32_t af = x1367_rd_be32(r);

	if (!x1367_rd_ok(r))
		return DECODE_TRUNCATED_LINK;
	if (any_order && (af & 0xFFFF0000u))
		af = __builtin_bswap32(af);
	switch (af) {
	case 2:
		*ipver = X1367_IPV4;
		return DECODE_OK;
	case 10: /* Linux */
	case 24: /* NetBSD, OpenBSD */
	case 28: /* FreeBSD */
	case 30: /* macOS */
		*ipver = X1367_IPV6;
		return DECODE_OK;
	default:
		return DECODE_UNSUPPORTED_ETHERTYPE;
	}
}

static enum decode_reason decode_link(int linktype, struct x1367_reader *r, struct packet *out,
				      int *ipver)
{
	switch (linktype) {
	case LT_EN10MB:
		return link_ethernet(r, out, ipver);
	case LT_LINUX_SLL:
		return link_sll(r, out, ipver);
	case LT_LINUX_SLL2:
		return link_sll2(r, out, ipver);
	case LT_RAW:
	case LT_LINKTYPE_RAW:
		return link_raw(r, 0, ipver);
	case LT_IPV4:
		return link_raw(r, X1367_IPV4, ipver);
	case LT_IPV6:
		return link_raw(r, X1367_IPV6, ipver);
	case LT_NULL:
		return link_null(r, 1, ipver);
	case LT_LOOP:
		return link_null(r, 0, ipver);
	default:
		return DECODE_UNSUPPORTED_LINKTYPE;
	}
}

/* ---- transport -------------------------------------------------------------- */

static enum decode_reason decode_tcp(struct span *s, struct packet *out)
{
	struct x1367_reader h;

	switch (span_take(s, 20, &h)) {
	case TAKE_BAD:
		return DECODE_BAD_L4_HEADER;
	case TAKE_TRUNC:
		return DECODE_TRUNCATED_L4;
	case TAKE_OK:
		break;
	}
	out->sport = x1367_rd_be16(&h);
	out->dport = x1367_rd_be16(&h);
	out->tcp_seq = x1367_rd_be32(&h);
	out->tcp_ack = x1367_rd_be32(&h);
	size_t doff = (size_t)(x1367_rd_u8(&h) >> 4) * 4;
	out->tcp_flags = x1367_rd_u8(&h);
	if (doff < 20)
		return DECODE_BAD_L4_HEADER;

	switch (span_take(s, doff - 20, &h)) {      /* options */
	case TAKE_BAD:
		return DECODE_BAD_L4_HEADER;
	case TAKE_TRUNC:
		return DECODE_TRUNCATED_L4;
	case TAKE_OK:
		break;
	}
	span_payload(s, out);
	return DECODE_OK;
}

static enum decode_reason decode_udp(struct span *s, struct packet *out)
{
	struct x1367_reader h;

	switch (span_take(s, 8, &h)) {
	case TAKE_BAD:
		return DECODE_BAD_L4_HEADER;
	case TAKE_TRUNC:
		return DECODE_TRUNCATED_L4;
	case TAKE_OK:
		break;
	}
	out->sport = x1367_rd_be16(&h);
	out->dport = x1367_rd_be16(&h);
	size_t ulen = x1367_rd_be16(&h);
	/* UDP length 0 only means "jumbo" inside an IPv6 jumbogram, which we
	 * refuse earlier; here it is simply malformed. */
	if (ulen < 8 || ulen - 8 > s->len)
		return DECODE_BAD_L4_HEADER;
	/* Trailing bytes beyond the UDP length (but inside IP) are not payload. */
	size_t cap = x1367_rd_left(&s->r);
	if (cap > ulen - 8)
		cap = ulen - 8;
	span_init(s, x1367_rd_bytes(&s->r, cap), cap, ulen - 8);
	span_payload(s, out);
	return DECODE_OK;
}

static enum decode_reason decode_l4(struct span *s, struct packet *out)
{
	switch (out->l4proto) {
	case IPPROTO_TCP:
		return decode_tcp(s, out);
	case IPPROTO_UDP:
		return decode_udp(s, out);
	default:
		return DECODE_UNSUPPORTED_L4;
	}
}

/* ---- fragments ------------------------------------------------------------- */

/* Hand one fragment (its whole payload, which must be fully captured) to
 * defrag.  On completion *s becomes the reassembled payload. */
static enum decode_reason reassemble(struct decoder *d, struct packet *out, uint32_t id,
				     uint8_t proto, uint32_t offset, int more, struct span *s)
{
	const uint8_t *buf = NULL;
	size_t buf_len = 0;
	size_t cap = x1367_rd_left(&s->r);

	if (!d->defrag)
		return DECODE_FRAGMENT_DROPPED;
	/* A cut fragment would reassemble into wrong bytes. */
	if (cap < s->len)
		return DECODE_TRUNCATED_IP;
	const uint8_t *p = cap ? x1367_rd_bytes(&s->r, cap) : NULL;
	int rc = defrag_add(d->defrag, out->ts_usec, &out->src, &out->dst, id, proto, offset,
			    more, p, cap, &buf, &buf_len);
	if (rc < 0)
		return DECODE_FRAGMENT_DROPPED;
	if (rc == 0)
		return DECODE_FRAGMENT_HELD;
	span_init(s, buf, buf_len, buf_len);
	out->reassembled = 1;
	out->l3 = NULL;     /* no contiguous IP datagram exists: see top */
	out->l3_len = 0;
	return DECODE_OK;
}

/* ---- IPv4 ------------------------------------------------------------------- */

static void addr_read(struct x1367_reader *r, struct x1367_addr *a, int family)
{
	size_t n = family == X1367_IPV4 ? 4 : 16;
	const uint8_t *p = x1367_rd_bytes(r, n);

	memset(a, 0, sizeof(*a));
	a->family = (uint8_t)family;
	if (p)
		memcpy(a->bytes, p, n);
}

/* `r` is positioned at the IP header and holds the rest of the capture. */
static enum decode_reason decode_ipv4(struct decoder *d, struct x1367_reader *r,
				      struct packet *out)
{
	size_t avail = x1367_rd_left(r);
	const uint8_t *l3 = x1367_rd_bytes(r, avail);
	struct x1367_reader ip;

	x1367_rd_init(&ip, l3, avail);
	uint8_t vihl = x1367_rd_u8(&ip);
	if (!x1367_rd_ok(&ip))
		return DECODE_TRUNCATED_IP;
	if (vihl >> 4 != X1367_IPV4)
		return DECODE_BAD_IP_VERSION;
	size_t hl = (size_t)(vihl & 0x0F) * 4;
	if (hl < 20)
		return DECODE_BAD_IP_HEADER;

	x1367_rd_skip(&ip, 1);                  /* DSCP/ECN */
	size_t total = x1367_rd_be16(&ip);
	uint16_t id = x1367_rd_be16(&ip);
	uint16_t frag = x1367_rd_be16(&ip);
	x1367_rd_skip(&ip, 1);                  /* TTL */
	out->l4proto = x1367_rd_u8(&ip);
	x1367_rd_skip(&ip, 2);                  /* checksum */
	addr_read(&ip, &out->src, X1367_IPV4);
	addr_read(&ip, &out->dst, X1367_IPV4);
	if (!x1367_rd_ok(&ip))
		return DECODE_TRUNCATED_IP;
	if (total < hl)
		return DECODE_BAD_IP_HEADER;
	if (!x1367_rd_skip(&ip, hl - 20))       /* options */
		return DECODE_TRUNCATED_IP;

	/* Total length bounds everything: Ethernet pads short frames. */
	size_t l3_len = avail < total ? avail : total;
	out->l3 = l3;
	out->l3_len = l3_len;

	struct span s;
	span_init(&s, x1367_rd_bytes(&ip, l3_len - hl), l3_len - hl, total - hl);

	uint32_t offset = (uint32_t)(frag & 0x1FFF) * 8;
	int more = (frag & 0x2000) != 0;
	if (more || offset) {
		/* Only reassemble what we could use afterwards. */
		if (out->l4proto != IPPROTO_TCP && out->l4proto != IPPROTO_UDP)
			return DECODE_UNSUPPORTED_L4;
		enum decode_reason rr = reassemble(d, out, id, out->l4proto, offset, more, &s);
		if (rr != DECODE_OK)
			return rr;
	}
	return decode_l4(&s, out);
}

/* ---- IPv6 ------------------------------------------------------------------- */

struct v6_chain {
	uint8_t nh;                 /* next header to look at */
	int count;                  /* extension headers seen so far */
	int in_reassembled;         /* a second fragment header is illegal */
};

static int v6_is_ext(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_FRAGMENT ||
	       nh == IPPROTO_AH || nh == IPPROTO_DSTOPTS;
}

static enum decode_reason take_reason(enum take t)
{
	return t == TAKE_BAD ? DECODE_IPV6_EXT_HEADERS : DECODE_TRUNCATED_IP;
}

/* One fragment header (8 bytes).  An atomic fragment (offset 0, M clear:
 * RFC 6946) is a whole datagram and just continues the chain. */
static enum decode_reason v6_fragment(struct decoder *d, struct span *s, struct v6_chain *c,
				      struct packet *out)
{
	struct x1367_reader h;
	enum take t = span_take(s, 8, &h);

	if (t != TAKE_OK)
		return take_reason(t);
	if (c->in_reassembled)
		return DECODE_IPV6_EXT_HEADERS;
	uint8_t nh = x1367_rd_u8(&h);
	x1367_rd_skip(&h, 1);
	uint16_t offm = x1367_rd_be16(&h);
	uint32_t id = x1367_rd_be32(&h);
	uint32_t offset = offm & 0xFFF8u;     /* 13 bits in 8-byte units, in place */
	int more = offm & 1;

	c->nh = nh;
	if (!offset && !more)
		return DECODE_OK;
	/* Only reassemble what we could use afterwards. */
	if (nh != IPPROTO_TCP && nh != IPPROTO_UDP && !v6_is_ext(nh))
		return DECODE_UNSUPPORTED_L4;
	enum decode_reason rr = reassemble(d, out, id, nh, offset, more, s);
	c->in_reassembled = 1;
	return rr;
}

/* Walk extension headers until TCP/UDP (c->nh) or a reason to stop. */
static enum decode_reason v6_ext_chain(struct decoder *d, struct span *s, struct v6_chain *c,
				       struct packet *out)
{
	while (v6_is_ext(c->nh)) {
		if (c->count == MAX_IPV6_EXT)
			return DECODE_IPV6_EXT_HEADERS;
		/* Hop-by-hop is only legal right after the fixed header. */
		if (c->nh == IPPROTO_HOPOPTS && (c->count || c->in_reassembled))
			return DECODE_IPV6_EXT_HEADERS;
		c->count++;
		if (c->nh == IPPROTO_FRAGMENT) {
			enum decode_reason rr = v6_fragment(d, s, c, out);
			if (rr != DECODE_OK)
				return rr;
			continue;
		}
		struct x1367_reader peek = s->r;
		uint8_t nh = x1367_rd_u8(&peek);
		size_t hlen = x1367_rd_u8(&peek);
		if (!x1367_rd_ok(&peek))
			return s->len < 2 ? DECODE_IPV6_EXT_HEADERS : DECODE_TRUNCATED_IP;
		/* AH counts 4-byte units minus 2; the others 8-byte units minus 1. */
		hlen = c->nh == IPPROTO_AH ? (hlen + 2) * 4 : (hlen + 1) * 8;
		struct x1367_reader h;
		enum take t = span_take(s, hlen, &h);
		if (t != TAKE_OK)
			return take_reason(t);
		c->nh = nh;
	}
	if (c->nh != IPPROTO_TCP && c->nh != IPPROTO_UDP)
		return DECODE_UNSUPPORTED_L4;       /* 59 no next header, ICMPv6, ESP, ... */
	out->l4proto = c->nh;
	return DECODE_OK;
}

static enum decode_reason decode_ipv6(struct decoder *d, struct x1367_reader *r,
				      struct packet *out)
{
	size_t avail = x1367_rd_left(r);
	const uint8_t *l3 = x1367_rd_bytes(r, avail);
	struct x1367_reader ip;

	x1367_rd_init(&ip, l3, avail);
	uint8_t v = x1367_rd_u8(&ip);
	if (!x1367_rd_ok(&ip))
		return DECODE_TRUNCATED_IP;
	if (v >> 4 != X1367_IPV6)
		return DECODE_BAD_IP_VERSION;
	x1367_rd_skip(&ip, 3);                  /* traffic class, flow label */
	size_t plen = x1367_rd_be16(&ip);
	struct v6_chain c = {.nh = x1367_rd_u8(&ip)};
	x1367_rd_skip(&ip, 1);                  /* hop limit */
	addr_read(&ip, &out->src, X1367_IPV6);
	addr_read(&ip, &out->dst, X1367_IPV6);
	if (!x1367_rd_ok(&ip))
		return DECODE_TRUNCATED_IP;
	/* Payload length 0 announces a jumbogram (RFC 2675): not on our links. */
	if (plen == 0)
		return DECODE_BAD_IP_HEADER;

	size_t cap = x1367_rd_left(&ip) < plen ? x1367_rd_left(&ip) : plen;
	out->l3 = l3;
	out->l3_len = 40 + cap;

	struct span s;
	span_init(&s, x1367_rd_bytes(&ip, cap), cap, plen);
	enum decode_reason rr = v6_ext_chain(d, &s, &c, out);
	if (rr != DECODE_OK)
		return rr;
	return decode_l4(&s, out);
}

/* ---- entry point -------------------------------------------------------------- */

static enum decode_reason decode_frame(struct decoder *d, const uint8_t *data, size_t caplen,
				       struct packet *out)
{
	struct x1367_reader r;
	int ipver = 0;

	if (!decode_linktype_supported(d->linktype))
		return DECODE_UNSUPPORTED_LINKTYPE;
	if (!data)
		return DECODE_TRUNCATED_LINK;
	x1367_rd_init(&r, data, caplen);
	enum decode_reason rr = decode_link(d->linktype, &r, out, &ipver);
	if (rr != DECODE_OK)
		return rr;
	return ipver == X1367_IPV4 ? decode_ipv4(d, &r, out) : decode_ipv6(d, &r, out);
}

enum decode_reason decode_packet(struct decoder *d, const uint8_t *data, size_t caplen,
				 uint32_t wire_len, uint64_t ts_usec, struct packet *out)
{
	memset(out, 0, sizeof(*out));
	out->ts_usec = ts_usec;
	out->wire_len = wire_len;

	enum decode_reason rr = decode_frame(d, data, caplen, out);
	d->reasons[rr]++;
	return rr;
}
