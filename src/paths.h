/*
 * Where the mapping tables and the plugins are when no flag names them.
 *
 * One binary serves three places:
 *   - run from its build tree (the program file sits in the configured
 *     build directory): the tree's rules/ and dissectors/.libs, so that
 *     `make && ./x1367ids -r pcaps/demo.pcap` works with no flags;
 *   - installed under a staging root (make install DESTDIR=ROOT: the
 *     program sits in ROOT + the configured sbindir): the same ROOT before
 *     the configured data and plugin directories;
 *   - anywhere else, the installed paths configure chose.
 * An installed program never looks into a build tree: only the program's
 * own location selects a layout, never the working directory or the
 * environment.
 */
#ifndef X1367_PATHS_H
#define X1367_PATHS_H

#include <limits.h>

struct default_paths {
	char rules_dir[PATH_MAX];
	char plugin_dir[PATH_MAX];
};

/* Fills *out for this program (/proc/self/exe). */
void paths_defaults(struct default_paths *out);

#endif
