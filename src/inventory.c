/* x1367ids --list-plugins.  See inventory.h. */
#include <string.h>
#include "config.h"
#include "inventory.h"

void inventory_refused(const char *path, const char *why, void *arg)
{
	struct inventory_refusals *ref = arg;
	size_t n = strlen(path);

	if (ref->n >= INVENTORY_MAX_REFUSED) {
		ref->dropped++;
		return;
	}
	/* Loader messages start with the path already: say it once. */
	if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2))
		why += n + 2;
	snprintf(ref->why[ref->n++], PLUGIN_ERR_LEN, "%s\t%.*s\t%s",
		 strncmp(why, "disabled", 8) ? "refused" : "disabled", 200, path, why);
}

/* "udp/9600 tcp/9600", or "-" with no port (found by probe or nDPI only). */
static void ports_text(const struct x1367_dissector *d, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (const uint16_t *p = d->ports; p && *p && used < len; p++) {
		if (d->transports & X1367_UDP)
			used += (size_t)snprintf(buf + used, len - used, "%sudp/%u", used ? " " : "", *p);
		if ((d->transports & X1367_TCP) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%stcp/%u", used ? " " : "", *p);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static void print_entry(FILE *out, const struct registry_entry *e, const struct plugin_set *ps,
			const struct rules *rules)
{
	const struct x1367_dissector *d = e->d;
	const char *file = plugin_file_of(ps, e->index);
	const char *table;
	char ports[256];
	size_t rows = 0;

	ports_text(d, ports, sizeof(ports));
	table = rules_table_of(rules, d->name, &rows);
	fprintf(out, "%s\t%s\tABI %u.%u\t%s\t%s\t", d->name,
		file ? (d->version ? d->version : "-") : PACKAGE_VERSION, (unsigned)d->abi_major,
		(unsigned)d->abi_minor, ports, file ? file : "built-in");
	if (table)
		fprintf(out, "%s (%zu rows)\n", table, rows);
	else
		fprintf(out, "none: every error it reports is FF\n");
}

size_t inventory_print(FILE *out, const struct registry *reg, const struct plugin_set *ps,
		       const struct rules *rules, const struct inventory_refusals *ref)
{
	size_t refused = 0;

	for (size_t i = 0; i < reg->n; i++)
		print_entry(out, &reg->e[i], ps, rules);
	for (size_t i = 0; i < ref->n; i++) {
		fprintf(out, "%s\n", ref->why[i]);
		refused += !strncmp(ref->why[i], "refused", 7);
	}
	if (ref->dropped)
		fprintf(out, "refused\t...\t%zu more files not listed\n", ref->dropped);
	return refused + ref->dropped;
}
