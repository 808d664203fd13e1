/* Default rules and plugin directories from the program's own location.
 * See paths.h. */
#include "paths.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* Configured at build time (Makefile.am). */
#ifndef X1367_BUILD_DIR
#error "X1367_BUILD_DIR must name the build directory"
#endif

/* The directory holding the program file, resolved (no symbolic links), or
 * "" when it cannot be found out. */
static void program_dir(char dir[PATH_MAX])
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	dir[0] = '\0';
	if (n <= 0)
		return;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return;
	*slash = '\0';
	snprintf(dir, PATH_MAX, "%s", exe[0] ? exe : "/");
}

/* A configured directory as it is on this machine (links resolved), or as
 * written when it does not exist here. */
static void resolved(const char *path, char out[PATH_MAX])
{
	if (!realpath(path, out))
		snprintf(out, PATH_MAX, "%s", path);
}

/* The staging root when dir is ROOT + sbindir with a non-empty ROOT, else
 * NULL; the root is written into root. */
static const char *staging_root(const char *dir, const char *sbindir, char root[PATH_MAX])
{
	size_t dl = strlen(dir), sl = strlen(sbindir);

	if (sl == 0 || dl <= sl || strcmp(dir + dl - sl, sbindir) != 0 || sbindir[0] != '/')
		return NULL;
	snprintf(root, PATH_MAX, "%.*s", (int)(dl - sl), dir);
	return root;
}

/* out = a + b; -1 when that does not fit (the layout is then not used). */
static int join(char out[PATH_MAX], const char *a, const char *b)
{
	int n = snprintf(out, PATH_MAX, "%s%s", a, b);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

void paths_defaults(struct default_paths *out)
{
	char dir[PATH_MAX], build[PATH_MAX], root[PATH_MAX];

	program_dir(dir);
	resolved(X1367_BUILD_DIR, build);
	if (dir[0] && strcmp(dir, build) == 0 && join(out->rules_dir, X1367_SOURCE_DIR, "/rules") == 0 &&
	    join(out->plugin_dir, X1367_BUILD_DIR, "/dissectors/.libs") == 0) {
		return;
	}
	char sbin[PATH_MAX];
	resolved(X1367_SBIN_DIR, sbin);
	if (dir[0] && strcmp(dir, sbin) != 0 && staging_root(dir, X1367_SBIN_DIR, root) &&
	    join(out->rules_dir, root, X1367_RULES_DIR) == 0 && join(out->plugin_dir, root, X1367_PLUGIN_DIR) == 0) {
		return;
	}
	snprintf(out->rules_dir, PATH_MAX, "%s", X1367_RULES_DIR);
	snprintf(out->plugin_dir, PATH_MAX, "%s", X1367_PLUGIN_DIR);
}
