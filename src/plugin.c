/* Plugin loading.  See plugin.h. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "plugin.h"

#define STR(x) #x
#define XSTR(x) STR(x)
#define ENTRY_NAME XSTR(X1367_DISSECTOR_ENTRY)

/* Owned by root or by us, writable by no one else (plugin.h). */
int plugin_trusted(const struct stat *st, const char *what, const char *path, char err[PLUGIN_ERR_LEN])
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(err, PLUGIN_ERR_LEN, "%.200s: %s owned by uid %u, not root or the sensor's user: refused "
			 "(chown root %.200s)", path, what, (unsigned)st->st_uid, path);
		return 0;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, PLUGIN_ERR_LEN, "%.200s: %s writable by group or others: refused (chmod go-w %.200s)",
			 path, what, path);
		return 0;
	}
	return 1;
}

static int is_disabled(const char *name, const char *const *disabled, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(disabled[i], name))
			return 1;
	return 0;
}

/* Open without following a link and check the very file we opened: no
 * window for swapping it between the check and dlopen. */
static int open_trusted(const char *path, char err[PLUGIN_ERR_LEN])
{
	struct stat st;
	/* O_NONBLOCK: a FIFO named *.so must not block the open; refused below. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, PLUGIN_ERR_LEN, "%.300s: %s", path,
			 errno == ELOOP ? "a symbolic link: refused" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, PLUGIN_ERR_LEN, "%.300s: not a regular file: refused", path);
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	if (!plugin_trusted(&st, "file", path, err)) {
		close(fd);
		return -1;
	}
	return fd;
}

static const struct x1367_dissector *entry_of(void *h, const char *path, char err[PLUGIN_ERR_LEN])
{
	x1367_dissector_entry_fn entry;
	*(void **)&entry = dlsym(h, ENTRY_NAME);
	if (!entry) {
		snprintf(err, PLUGIN_ERR_LEN,
			 "%.300s: no %s symbol: not an x1367ids plugin, or built for another ABI major (this sensor: %d)",
			 path, ENTRY_NAME, X1367_ABI_MAJOR);
		return NULL;
	}
	const struct x1367_dissector *d = entry();
	if (!d)
		snprintf(err, PLUGIN_ERR_LEN, "%.300s: %s returned no descriptor", path, ENTRY_NAME);
	return d;
}

static int load_one(struct plugin_set *ps, struct registry *reg, const char *path,
		    const char *const *disabled, size_t n_disabled, char err[PLUGIN_ERR_LEN])
{
	char fdpath[64], rerr[REGISTRY_ERR_LEN];
	int fd = open_trusted(path, err);
	if (fd < 0)
		return -1;
	if (ps->n >= PLUGIN_MAX) {
		snprintf(err, PLUGIN_ERR_LEN, "%.300s: more than %d plugins", path, PLUGIN_MAX);
		close(fd);
		return -1;
	}
	/* The checked file itself, by descriptor.  The descriptor stays open
	 * while the plugin is loaded: the dynamic loader knows objects by
	 * name, and a reused "/proc/self/fd/N" would hand back the plugin
	 * loaded before under that name. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	void *h = dlopen(fdpath, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, PLUGIN_ERR_LEN, "%.300s: %.200s", path, dlerror());
		close(fd);
		return -1;
	}
	const struct x1367_dissector *d = entry_of(h, path, err);
	int rc = d ? 0 : -1;
	if (d && X1367_HAS_FIELD(d, name) && d->name &&
	    is_disabled(d->name, disabled, n_disabled)) {
		ps->disabled++;
		if (ps->on_refused)
			ps->on_refused(path, "disabled by the configuration (disable-plugin)", ps->arg);
		d = NULL;
	} else if (d && registry_add(reg, d, rerr)) {
		snprintf(err, PLUGIN_ERR_LEN, "%.300s: %.200s", path, rerr);
		d = NULL;
		rc = -1;
	}
	if (!d) {
		dlclose(h);
		close(fd);
		return rc;
	}
	ps->handles[ps->n] = h;
	snprintf(ps->files[ps->n], sizeof(ps->files[ps->n]), "%.255s", path);
	ps->reg_index[ps->n] = (unsigned)(reg->n - 1);
	ps->fds[ps->n++] = fd;
	return 0;
}

const char *plugin_file_of(const struct plugin_set *ps, unsigned reg_index)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->reg_index[i] == reg_index)
			return ps->files[i];
	return NULL;
}

static int is_plugin_name(const struct dirent *e)
{
	size_t n = strlen(e->d_name);
	return e->d_name[0] != '.' && n > 3 && !strcmp(e->d_name + n - 3, ".so");
}

int plugins_load_dir(struct plugin_set *ps, struct registry *reg, const char *dir, int must_exist,
		     const char *const *disabled, size_t n_disabled, char err[PLUGIN_ERR_LEN])
{
	struct dirent **ents;
	struct stat st;
	int rc = 0;

	if (stat(dir, &st)) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, PLUGIN_ERR_LEN, "plugin directory %.300s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, PLUGIN_ERR_LEN, "plugin directory %.300s: not a directory", dir);
		return -1;
	}
	if (!plugin_trusted(&st, "directory", dir, err))
		return -1;
	int n = scandir(dir, &ents, is_plugin_name, alphasort);
	if (n < 0) {
		snprintf(err, PLUGIN_ERR_LEN, "plugin directory %.300s: %s", dir, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (!rc && load_one(ps, reg, path, disabled, n_disabled, err)) {
			if (ps->on_refused)   /* survey: say why, go on */
				ps->on_refused(path, err, ps->arg);
			else
				rc = -1;
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

void plugins_unload(struct plugin_set *ps)
{
	while (ps->n) {
		ps->n--;
		dlclose(ps->handles[ps->n]);
		close(ps->fds[ps->n]);
	}
}
