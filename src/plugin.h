/*
 * Vendor dissector plugins: every *.so of a directory, each exporting
 * X1367_DISSECTOR_ENTRY.  Trust comes from where the file lives, not from
 * what it says (dlopen runs a library's constructors before any check):
 * the directory and the file must be owned by root or by the sensor's own
 * user and writable by nobody else, the rule sudo applies to its plugins.
 * Then the descriptor is checked by the registry (ABI major, size, name
 * and port clashes).  Any refusal stops start-up with one clear line.
 */
#ifndef X1367_PLUGIN_H
#define X1367_PLUGIN_H

#include <stddef.h>
#include "registry.h"

#define PLUGIN_MAX 32
#define PLUGIN_ERR_LEN 512

/* Told about each plugin file not loaded, with why ("PATH: reason"). */
typedef void (*plugin_refused_fn)(const char *path, const char *why, void *arg);

struct plugin_set {
	void *handles[PLUGIN_MAX];
	int fds[PLUGIN_MAX];        /* kept open: see load_one */
	char files[PLUGIN_MAX][256];/* where each loaded plugin came from */
	unsigned reg_index[PLUGIN_MAX]; /* its registry entry */
	size_t n;
	size_t disabled;            /* found but disabled by configuration */
	/* Survey mode (--list-plugins): set, a refusal is told here and
	 * loading goes on with the next file instead of stopping. */
	plugin_refused_fn on_refused;
	void *arg;
};

/* Load the plugins of `dir` into the registry, except those whose
 * dissector name is in `disabled`.  `must_exist`: a missing directory is
 * an error (it was asked for) rather than "no plugins".  0 ok, -1 with err. */
int plugins_load_dir(struct plugin_set *ps, struct registry *reg, const char *dir, int must_exist,
		     const char *const *disabled, size_t n_disabled, char err[PLUGIN_ERR_LEN]);

/* The trust rule for a file or directory the sensor takes code or policy
 * from (plugins, mapping tables): owned by root or by the sensor's user,
 * writable by no one else.  1 trusted; 0 with err "PATH: WHAT ...:
 * refused (what to do)", `what` being "file" or "directory". */
struct stat;
int plugin_trusted(const struct stat *st, const char *what, const char *path, char err[PLUGIN_ERR_LEN]);

/* The file a registry entry was loaded from, or NULL (a built-in). */
const char *plugin_file_of(const struct plugin_set *ps, unsigned reg_index);

/* After the engine is gone: unload every plugin. */
void plugins_unload(struct plugin_set *ps);

#endif
