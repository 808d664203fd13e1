/* Bounded named counters.  See stats.h. */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include "stats.h"

static int add_named(struct named_count *e, size_t *n, size_t max, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(e[i].name, name)) {
			e[i].count++;
			return 0;
		}
	if (*n >= max)
		return -1;
	snprintf(e[*n].name, sizeof(e[*n].name), "%s", name);
	e[*n].count = 1;
	(*n)++;
	return 0;
}

void name_counter_add(struct name_counter *c, const char *name)
{
	if (add_named(c->e, &c->n, STATS_MAX_EVENTS, name))
		c->other++;
}

uint64_t name_counter_get(const struct name_counter *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i].name, name))
			return c->e[i].count;
	return 0;
}

void code_counter_add(struct code_counter *c, const char *code)
{
	if (add_named(c->e, &c->n, STATS_MAX_CODES, code))
		c->other++;
}

long stats_peak_rss_kb(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_maxrss;
}
