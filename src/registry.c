/* The dissector registry: checks each descriptor before the engine runs it. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "registry.h"

/* ABI 1.0's descriptor ended with event_names. */
#define X1367_DISSECTOR_SIZE_1_0 \
	(offsetof(struct x1367_dissector, event_names) + sizeof(const char *const *))

/* Built-in dissectors: one line each. */
extern const struct x1367_dissector x1367_builtin_modbus;
extern const struct x1367_dissector x1367_builtin_echonet_lite;

static const struct x1367_dissector *const builtins[] = {
	&x1367_builtin_modbus,
	&x1367_builtin_echonet_lite,
};

static int check_descriptor(const struct x1367_dissector *d, char err[REGISTRY_ERR_LEN])
{
	if (d->abi_major != X1367_ABI_MAJOR) {
		snprintf(err, REGISTRY_ERR_LEN, "dissector ABI %u, engine ABI %u: rebuild it",
			 (unsigned)d->abi_major, (unsigned)X1367_ABI_MAJOR);
		return -1;
	}
	/* Smaller than ABI 1.0's descriptor: not one of ours.  Between that
	 * and this engine's size: an older minor, whose missing fields the
	 * copy leaves NULL (registry_add). */
	if (d->struct_size < X1367_DISSECTOR_SIZE_1_0) {
		snprintf(err, REGISTRY_ERR_LEN, "descriptor too small (%u bytes)", (unsigned)d->struct_size);
		return -1;
	}
	if (!d->name || !*d->name || strlen(d->name) >= 32 || !d->protocol || !*d->protocol) {
		snprintf(err, REGISTRY_ERR_LEN, "descriptor without a name or protocol");
		return -1;
	}
	if (!d->transports || (d->transports & ~(uint32_t)(X1367_TCP | X1367_UDP))) {
		snprintf(err, REGISTRY_ERR_LEN, "%s: bad transports", d->name);
		return -1;
	}
	if (!d->parse[X1367_TO_SERVER] || !d->parse[X1367_TO_CLIENT]) {
		snprintf(err, REGISTRY_ERR_LEN, "%s: a parse callback per direction is required", d->name);
		return -1;
	}
	return 0;
}

static int check_clashes(const struct registry *r, const struct x1367_dissector *d,
			 char err[REGISTRY_ERR_LEN])
{
	for (size_t i = 0; i < r->n; i++) {
		const struct x1367_dissector *o = r->e[i].d;
		if (!strcmp(o->name, d->name)) {
			snprintf(err, REGISTRY_ERR_LEN, "%s: name already registered", d->name);
			return -1;
		}
		for (const uint16_t *p = d->ports; p && *p; p++) {
			uint32_t both = o->transports & d->transports;
			if (both && registry_by_port(r, (uint8_t)both, *p) == &r->e[i]) {
				snprintf(err, REGISTRY_ERR_LEN, "%s: port %u already taken by %s",
					 d->name, *p, o->name);
				return -1;
			}
		}
	}
	return 0;
}

int registry_add(struct registry *r, const struct x1367_dissector *d, char err[REGISTRY_ERR_LEN])
{
	if (r->n >= REGISTRY_MAX) {
		snprintf(err, REGISTRY_ERR_LEN, "too many dissectors (max %d)", REGISTRY_MAX);
		return -1;
	}
	if (check_descriptor(d, err) || check_clashes(r, d, err))
		return -1;
	struct registry_entry *e = &r->e[r->n];
	memset(e, 0, sizeof(*e));
	memcpy(&e->copy, d, d->struct_size < sizeof(e->copy) ? d->struct_size : sizeof(e->copy));
	e->d = &e->copy;
	e->index = (unsigned)r->n;
	e->timeout_ms = d->request_timeout_ms ? d->request_timeout_ms : 5000;
	e->ndpi_proto = -1;
	e->enabled = 1;
	r->n++;
	return 0;
}

int registry_add_builtins(struct registry *r, char err[REGISTRY_ERR_LEN])
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (registry_add(r, builtins[i], err))
			return -1;
	return 0;
}

const struct registry_entry *registry_find(const struct registry *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->e[i].d->name, name))
			return &r->e[i];
	return NULL;
}

const struct registry_entry *registry_by_port(const struct registry *r, uint8_t transport, uint16_t port)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct registry_entry *e = &r->e[i];
		if (!e->enabled || !(e->d->transports & transport))
			continue;
		for (const uint16_t *p = e->d->ports; p && *p; p++)
			if (*p == port)
				return e;
	}
	return NULL;
}
