/*
 * Link, network and transport decoding: raw captured bytes -> struct packet.
 * Owns: Ethernet/802.1Q/QinQ, Linux SLL/SLL2, raw IP, BSD loopback, IPv4
 * (options), IPv6 (extension headers), TCP and UDP headers.  IP fragments
 * are handed to defrag.c.  Every byte is read through struct x1367_reader.
 */
#ifndef X1367_DECODE_H
#define X1367_DECODE_H

#include "packet.h"
#include "defrag.h"

/* Why a packet was not decoded.  Names are in decode_reason_name(). */
enum decode_reason {
	DECODE_OK = 0,
	DECODE_FRAGMENT_HELD,       /* a fragment kept for reassembly: not an error */
	DECODE_UNSUPPORTED_LINKTYPE,
	DECODE_TRUNCATED_LINK,
	DECODE_UNSUPPORTED_ETHERTYPE,  /* ARP, LLDP, ... */
	DECODE_TOO_MANY_VLAN_TAGS,
	DECODE_TRUNCATED_IP,
	DECODE_BAD_IP_VERSION,
	DECODE_BAD_IP_HEADER,       /* IHL < 5, total length < header, ... */
	DECODE_IPV6_EXT_HEADERS,    /* too many or malformed extension headers */
	DECODE_UNSUPPORTED_L4,      /* ICMP, SCTP, ESP, ... */
	DECODE_TRUNCATED_L4,
	DECODE_BAD_L4_HEADER,       /* TCP data offset < 5, UDP length < 8 ... */
	DECODE_FRAGMENT_DROPPED,    /* overlap/oversize/table full (defrag counts why) */
	DECODE_REASON_COUNT
};

const char *decode_reason_name(enum decode_reason r);

struct decoder {
	int linktype;                      /* DLT_* of the capture */
	struct defrag *defrag;             /* may be NULL: fragments are then dropped */
	uint64_t reasons[DECODE_REASON_COUNT];
};

void decoder_init(struct decoder *d, int linktype, struct defrag *defrag);

/* Decode one captured frame.  On DECODE_OK *out is filled; its pointers
 * refer to `data` or to the defrag buffer and stay valid until the next
 * call.  The reason is also counted in d->reasons. */
enum decode_reason decode_packet(struct decoder *d, const uint8_t *data, size_t caplen,
				 uint32_t wire_len, uint64_t ts_usec, struct packet *out);

/* Whether the decoder knows this DLT. */
int decode_linktype_supported(int linktype);

#endif
