/* One decoded packet: what decode.c fills and every later stage reads. */
#ifndef X1367_PACKET_H
#define X1367_PACKET_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>         /* IPPROTO_TCP, IPPROTO_UDP */
#include <x1367ids/dissector.h>

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10

struct packet {
	uint64_t ts_usec;           /* capture time */
	uint32_t wire_len;          /* length on the wire (pcap len) */

	const uint8_t *l3;          /* IP header, for nDPI */
	size_t l3_len;              /* IP total length as decoded (bounded by capture) */

	uint32_t vlan;              /* outer VLAN id << 12 | inner id; 0 = untagged */
	uint8_t has_mac;            /* Ethernet: the MACs below are the frame's */
	uint8_t src_mac[6], dst_mac[6];   /* for the asset table (assets.h) */
	struct x1367_addr src, dst;
	uint8_t l4proto;            /* IPPROTO_TCP or IPPROTO_UDP */
	uint16_t sport, dport;

	uint32_t tcp_seq, tcp_ack;  /* TCP only */
	uint8_t tcp_flags;

	const uint8_t *payload;     /* L4 payload, bounded by IP length and capture */
	size_t payload_len;
	uint8_t payload_truncated;  /* capture cut the payload (snaplen) */
	uint8_t reassembled;        /* came out of IP fragment reassembly */
};

/* The transport as the dissector interface names it. */
static inline enum x1367_transport packet_transport(const struct packet *p)
{
	return p->l4proto == IPPROTO_TCP ? X1367_TCP : X1367_UDP;
}

#endif
