/*
 * x1367ids --list-plugins: what the sensor would run, as `zeek -N` shows
 * its plugins.  One line per dissector, tab-separated:
 *
 *     NAME  VERSION  ABI M.m  PORTS  FILE  TABLE
 *
 * (a built-in's version is the sensor's and its file "built-in"; a table
 * "FILE (N rows)", or "none: every error it reports is FF"), then one line
 * per plugin file not loaded: "refused  PATH  WHY" or
 * "disabled  PATH  WHY".
 */
#ifndef X1367_INVENTORY_H
#define X1367_INVENTORY_H

#include <stdio.h>
#include "plugin.h"
#include "registry.h"
#include "rules.h"

#define INVENTORY_MAX_REFUSED 64

/* Plugin files not loaded, gathered by inventory_refused (a
 * plugin_refused_fn). */
struct inventory_refusals {
	char why[INVENTORY_MAX_REFUSED][PLUGIN_ERR_LEN];
	size_t n;
	size_t dropped;           /* more than INVENTORY_MAX_REFUSED */
};

void inventory_refused(const char *path, const char *why, void *arg);

/* Print the dissectors and the refusals; `rules` may be NULL (the tables
 * could not be read).  Returns how many plugin files were refused. */
size_t inventory_print(FILE *out, const struct registry *reg, const struct plugin_set *ps,
		       const struct rules *rules, const struct inventory_refusals *ref);

#endif
