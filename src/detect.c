/* Flow detection: ports, probes, nDPI.  See detect.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ndpi_api.h>
#include "detect.h"

struct detect {
	struct registry *reg;
	struct ndpi_detection_module_struct *ndpi;   /* NULL: disabled */
	uint32_t ndpi_flow_size;
	struct detect_stats stats;
};

/* nDPI only needs to look for the protocols some dissector asks for:
 * a smaller bitmask is a faster nDPI. */
static int ndpi_setup(struct detect *d, char err[DETECT_ERR_LEN])
{
	NDPI_PROTOCOL_BITMASK wanted;
	int any = 0;

	d->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	if (!d->ndpi) {
		snprintf(err, DETECT_ERR_LEN, "nDPI: cannot initialise the detection module");
		return -1;
	}
	NDPI_BITMASK_RESET(wanted);
	for (size_t i = 0; i < d->reg->n; i++) {
		struct registry_entry *e = &d->reg->e[i];
		if (!e->d->ndpi_name)
			continue;
		u_int16_t id = ndpi_get_proto_by_name(d->ndpi, e->d->ndpi_name);
		if (id == NDPI_PROTOCOL_UNKNOWN) {
			snprintf(err, DETECT_ERR_LEN, "%s: nDPI knows no protocol \"%s\"",
				 e->d->name, e->d->ndpi_name);
			return -1;
		}
		e->ndpi_proto = id;
		NDPI_ADD_PROTOCOL_TO_BITMASK(wanted, id);
		any = 1;
	}
	if (!any) {
		ndpi_exit_detection_module(d->ndpi);
		d->ndpi = NULL;
		return 0;
	}
	/* Every protocol nDPI knows, not only the wanted ones: naming DNS or
	 * HTTP is what keeps a probe from claiming such a flow. */
	NDPI_BITMASK_SET_ALL(wanted);
	ndpi_set_protocol_detection_bitmask2(d->ndpi, &wanted);
	ndpi_finalize_initialization(d->ndpi);
	d->ndpi_flow_size = ndpi_detection_get_sizeof_ndpi_flow_struct();
	return 0;
}

struct detect *detect_new(struct registry *reg, int ndpi_enabled, char err[DETECT_ERR_LEN])
{
	struct detect *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, DETECT_ERR_LEN, "out of memory");
		return NULL;
	}
	d->reg = reg;
	if (ndpi_enabled && ndpi_setup(d, err)) {
		detect_free(d);
		return NULL;
	}
	return d;
}

void detect_free(struct detect *d)
{
	if (!d)
		return;
	if (d->ndpi)
		ndpi_exit_detection_module(d->ndpi);
	free(d);
}

const struct detect_stats *detect_stats(const struct detect *d)
{
	return &d->stats;
}

static uint16_t port_of_side(const struct flow *f, int side)
{
	return side ? f->key.port_b : f->key.port_a;
}

/* Without a known port: the SYN's sender is the client, the SYN/ACK's the
 * server; failing that, the lower port is the server's (ephemeral ports
 * are high). */
static int guess_server_side(const struct flow *f, const struct packet *p, int side)
{
	if (p->l4proto == IPPROTO_TCP && (p->tcp_flags & TCP_FLAG_SYN))
		return (p->tcp_flags & TCP_FLAG_ACK) ? side : !side;
	return f->key.port_a <= f->key.port_b ? 0 : 1;
}

void detect_new_flow(struct detect *d, struct flow *f, const struct packet *p, int side)
{
	uint8_t tr = packet_transport(p);
	const struct registry_entry *e;

	f->server_known = 1;
	f->detect_state = DETECT_PROBING;
	/* The destination's server port decides both the dissector and which
	 * side serves. */
	e = registry_by_port(d->reg, tr, port_of_side(f, !side));
	if (e) {
		f->server_side = (uint8_t)!side;
		f->dissector = e;
		f->detect_state = DETECT_DONE;
		d->stats.by_port++;
		return;
	}
	/* The source's server port: over TCP it decides too (a capture that
	 * starts mid-connection, or a server that connects out, as Modbus
	 * gateways do).  Over UDP it only proposes: a client's ephemeral port
	 * may be anyone's server port (a DNS query from port 5683 is no CoAP),
	 * so the first payload must convince the dissector's probe, when it
	 * has one. */
	e = registry_by_port(d->reg, tr, port_of_side(f, side));
	if (e) {
		int confirm_first = tr == X1367_UDP && e->d->probe;
		f->server_side = (uint8_t)side;
		f->dissector = e;
		f->detect_state = confirm_first ? DETECT_CONFIRMING : DETECT_DONE;
		if (!confirm_first)
			d->stats.by_port++;
		return;
	}
	f->server_side = (uint8_t)guess_server_side(f, p, side);
}

static const struct registry_entry *try_probes(struct detect *d, const struct packet *p,
					       enum x1367_dir dir)
{
	uint8_t tr = packet_transport(p);
	for (size_t i = 0; i < d->reg->n; i++) {
		const struct registry_entry *e = &d->reg->e[i];
		if (!e->enabled || !(e->d->transports & tr) || !e->d->probe)
			continue;
		if (e->d->probe(p->payload, p->payload_len, dir) == X1367_PROBE_YES)
			return e;
	}
	return NULL;
}

static const struct registry_entry *by_ndpi_id(const struct detect *d, uint16_t id, uint8_t tr)
{
	if (id == NDPI_PROTOCOL_UNKNOWN)
		return NULL;
	for (size_t i = 0; i < d->reg->n; i++) {
		const struct registry_entry *e = &d->reg->e[i];
		if (e->enabled && e->ndpi_proto == id && (e->d->transports & tr))
			return e;
	}
	return NULL;
}

/* nDPI's verdict: a dissector for it, or *other set when nDPI names a
 * protocol no dissector handles. */
static const struct registry_entry *try_ndpi(struct detect *d, struct flow *f, const struct packet *p,
					     int *other)
{
	if (!d->ndpi || !p->l3 || !p->l3_len)
		return NULL;
	if (!f->ndpi) {
		f->ndpi = ndpi_flow_malloc(d->ndpi_flow_size);
		if (!f->ndpi)
			return NULL;
		memset(f->ndpi, 0, d->ndpi_flow_size);
		d->stats.ndpi_flows++;
	}
	unsigned short len = p->l3_len > 0xFFFF ? 0xFFFF : (unsigned short)p->l3_len;
	ndpi_protocol r = ndpi_detection_process_packet(d->ndpi, f->ndpi, p->l3, len,
							p->ts_usec / 1000);
	uint8_t tr = packet_transport(p);
	const struct registry_entry *e = by_ndpi_id(d, r.app_protocol, tr);
	if (!e)
		e = by_ndpi_id(d, r.master_protocol, tr);
	*other = !e && (r.app_protocol != NDPI_PROTOCOL_UNKNOWN || r.master_protocol != NDPI_PROTOCOL_UNKNOWN);
	return e;
}

static void release_ndpi(struct flow *f)
{
	if (f->ndpi) {
		ndpi_flow_free(f->ndpi);
		f->ndpi = NULL;
	}
}

static void release_ndpi(struct flow *f);

/* A source-port candidate: its probe decides on the first payload. */
static void confirm(struct detect *d, struct flow *f, const struct packet *p, enum x1367_dir dir)
{
	const struct registry_entry *e = f->dissector;
	enum x1367_probe_result r = e->d->probe(p->payload, p->payload_len, dir);
	if (r == X1367_PROBE_YES) {
		f->detect_state = DETECT_DONE;
		d->stats.by_port++;
	} else if (r == X1367_PROBE_NO || ++f->detect_packets >= DETECT_MAX_PACKETS) {
		f->dissector = NULL;
		f->detect_state = DETECT_GAVE_UP;
		d->stats.not_confirmed++;
	}
}

void detect_packet(struct detect *d, struct flow *f, const struct packet *p, int side)
{
	const struct registry_entry *e = NULL;
	int other = 0;

	if (!p->payload_len)
		return;
	enum x1367_dir dir = side == f->server_side ? X1367_TO_CLIENT : X1367_TO_SERVER;
	if (f->detect_state == DETECT_CONFIRMING) {
		confirm(d, f, p, dir);
		return;
	}
	if (f->detect_state != DETECT_PROBING)
		return;
	if ((e = try_ndpi(d, f, p, &other)) != NULL) {
		d->stats.by_ndpi++;
	} else if (other) {
		/* nDPI knows this flow as something no dissector handles. */
		f->detect_state = DETECT_GAVE_UP;
		d->stats.other_protocol++;
		release_ndpi(f);
		return;
	} else if ((e = try_probes(d, p, dir)) != NULL) {
		d->stats.by_probe++;
	}
	if (e) {
		f->dissector = e;
		f->detect_state = DETECT_DONE;
		release_ndpi(f);
		return;
	}
	if (++f->detect_packets >= DETECT_MAX_PACKETS) {
		f->detect_state = DETECT_GAVE_UP;
		d->stats.gave_up++;
		release_ndpi(f);
	}
}

void detect_flow_end(struct detect *d, struct flow *f)
{
	(void)d;
	release_ndpi(f);
}
