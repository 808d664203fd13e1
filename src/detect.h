/*
 * Which dissector runs on a flow.  In order: the registry's server ports
 * (the destination's decides at once; over UDP a source port alone only
 * proposes, and the dissector's probe must confirm: a DNS query from
 * ephemeral port 5683 is no CoAP); then, for flows on other ports, nDPI's verdict (a
 * protocol some dissector handles is taken; any other protocol nDPI
 * recognises ends the search, so no probe mistakes DNS or HTTP for a
 * device protocol) and each dissector's probe on the first payloads, for a
 * bounded number of packets, after which the flow is given up (counted).
 * The engine asks; this file decides; neither knows a protocol by name.
 */
#ifndef X1367_DETECT_H
#define X1367_DETECT_H

#include <stdint.h>
#include "flow.h"
#include "packet.h"
#include "registry.h"

#define DETECT_MAX_PACKETS 4   /* payload packets examined before giving up */
#define DETECT_ERR_LEN 256

enum detect_state {
	DETECT_NEW = 0,
	DETECT_PROBING,
	DETECT_CONFIRMING,         /* f->dissector is a candidate its probe must confirm */
	DETECT_DONE,               /* f->dissector set */
	DETECT_GAVE_UP,
};

struct detect_stats {
	uint64_t by_port;
	uint64_t by_probe;
	uint64_t by_ndpi;
	uint64_t gave_up;
	uint64_t other_protocol;   /* nDPI named a protocol no dissector handles */
	uint64_t not_confirmed;    /* a source-port candidate its probe refused */
	uint64_t ndpi_flows;       /* nDPI flow states allocated */
};

struct detect;

struct detect *detect_new(struct registry *reg, int ndpi_enabled, char err[DETECT_ERR_LEN]);
void detect_free(struct detect *d);
const struct detect_stats *detect_stats(const struct detect *d);

/* A new flow: decide which side is the server and, by port, the dissector.
 * `side` is the packet's side in the flow key (flow_get). */
void detect_new_flow(struct detect *d, struct flow *f, const struct packet *p, int side);

/* A packet of a flow still being probed: may set f->dissector. */
void detect_packet(struct detect *d, struct flow *f, const struct packet *p, int side);

/* The flow leaves: release detection state. */
void detect_flow_end(struct detect *d, struct flow *f);

#endif
