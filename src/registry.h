/*
 * The dissectors the engine runs: built-in ones (one line each in
 * registry.c) and plugins (plugin.c loads them).  Each descriptor is checked (ABI major,
 * struct size, required fields, clashing names and ports) before use.
 */
#ifndef X1367_REGISTRY_H
#define X1367_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

#define REGISTRY_MAX 32
#define REGISTRY_ERR_LEN 256

struct registry_entry {
	const struct x1367_dissector *d;   /* points at `copy` */
	struct x1367_dissector copy;       /* the descriptor at this engine's size:
	                                    * fields an older minor lacks are NULL */
	unsigned index;                 /* position, for per-protocol counters */
	uint32_t timeout_ms;            /* request timeout in force */
	int ndpi_proto;                 /* nDPI id resolved from d->ndpi_name, or -1 */
	int enabled;
};

struct registry {
	struct registry_entry e[REGISTRY_MAX];
	size_t n;
};

/* Checks and adds a descriptor.  -1 with err set ("modbus: port 502/tcp
 * already taken by ..."). */
int registry_add(struct registry *r, const struct x1367_dissector *d, char err[REGISTRY_ERR_LEN]);
/* Adds every built-in dissector. */
int registry_add_builtins(struct registry *r, char err[REGISTRY_ERR_LEN]);
const struct registry_entry *registry_find(const struct registry *r, const char *name);
/* The dissector that owns this server port for this transport, or NULL. */
const struct registry_entry *registry_by_port(const struct registry *r, uint8_t transport, uint16_t port);

#endif
