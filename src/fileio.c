/* Opening named files safely.  See fileio.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fileio.h"

static const char *kind_of(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	if (S_ISLNK(m))
		return "a symbolic link";
	return "not a regular file";
}

int fileio_open_regular(const char *path, char err[FILEIO_ERR_LEN])
{
	return fileio_open_regular_flags(path, 0, err);
}

int fileio_open_regular_flags(const char *path, int flags, char err[FILEIO_ERR_LEN])
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO for reading returns at once instead of
	 * waiting for a writer; the check below then refuses it. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | flags);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP && (flags & O_NOFOLLOW))
			snprintf(err, FILEIO_ERR_LEN, "%.400s: a symbolic link: refused", path);
		else
			snprintf(err, FILEIO_ERR_LEN, "%.400s: %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: %s, not a regular file: refused", path, kind_of(st.st_mode));
		close(fd);
		errno = 0;
		return -2;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

FILE *fileio_fopen_regular(const char *path, char err[FILEIO_ERR_LEN])
{
	int fd = fileio_open_regular(path, err);
	if (fd < 0)
		return NULL;
	FILE *fp = fdopen(fd, "r");
	if (!fp) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: %s", path, strerror(errno));
		close(fd);
	}
	return fp;
}

int fileio_check_regular(const char *path, char err[FILEIO_ERR_LEN])
{
	int fd = fileio_open_regular(path, err);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* ---- outputs --------------------------------------------------------------- */

int fileio_out_init(struct fileio_out *o, const char *path, gid_t own_gid, char err[FILEIO_ERR_LEN])
{
	struct stat st;
	const char *slash = strrchr(path, '/');
	char *dir;

	memset(o, 0, sizeof(*o));
	o->dirfd = -1;
	o->own_gid = own_gid;
	if (!*path || (slash && !slash[1])) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: not a file name", path);
		return -1;
	}
	if (!slash)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	o->name = strdup(slash ? slash + 1 : path);
	o->path = strdup(path);
	if (!dir || !o->name || !o->path) {
		free(dir);
		fileio_out_free(o);
		snprintf(err, FILEIO_ERR_LEN, "%.400s: out of memory", path);
		return -1;
	}
	o->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (o->dirfd < 0 || fstat(o->dirfd, &st)) {
		snprintf(err, FILEIO_ERR_LEN, "%.250s: directory %.150s: %s", path, dir, strerror(errno));
		free(dir);
		fileio_out_free(o);
		return -1;
	}
	/* Anybody who may write the directory may put a link in our file's
	 * place, or move the file away between two opens: only root, the
	 * owner, and the sensor's own group (the systemd unit's 2770 log
	 * directory) may; a sticky directory keeps others' hands off our
	 * file. */
	int others = (st.st_mode & S_IWOTH) ||
		     ((st.st_mode & S_IWGRP) && st.st_gid != 0 && st.st_gid != own_gid);
	if (others && !(st.st_mode & S_ISVTX)) {
		snprintf(err, FILEIO_ERR_LEN, "%.200s: directory %.150s is writable by %s (mode %04o, no sticky bit): refused",
			 path, dir, (st.st_mode & S_IWOTH) ? "everybody" : "its group", (unsigned)(st.st_mode & 07777));
		free(dir);
		fileio_out_free(o);
		return -1;
	}
	free(dir);
	return 0;
}

static int out_open(struct fileio_out *o, int flags, mode_t mode, int devices_ok, char err[FILEIO_ERR_LEN])
{
	struct stat st;
	/* O_NONBLOCK: a FIFO in our file's place must not hang the open. */
	int fd = openat(o->dirfd, o->name, flags | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, FILEIO_ERR_LEN, "%.400s: a symbolic link: refused", o->path);
		else if (errno == ENXIO)
			snprintf(err, FILEIO_ERR_LEN, "%.400s: a FIFO, not a regular file: refused", o->path);
		else
			snprintf(err, FILEIO_ERR_LEN, "%.400s: %s", o->path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st)) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: %s", o->path, strerror(errno));
		close(fd);
		return -1;
	}
	/* A character device (/dev/null) is nobody's link trick: only root
	 * makes device nodes, and never in a directory that passed init. */
	if (!S_ISREG(st.st_mode) && !(devices_ok && S_ISCHR(st.st_mode))) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: %s, not a regular file: refused", o->path, kind_of(st.st_mode));
		close(fd);
		return -1;
	}
	/* A hard link to a file elsewhere (/etc/shadow, where the kernel's
	 * protected_hardlinks is off) is no file of ours. */
	if (st.st_nlink != 1) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: has %lu hard links, not a file of its own: refused", o->path,
			 (unsigned long)st.st_nlink);
		close(fd);
		return -1;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

int fileio_out_open(struct fileio_out *o, int flags, mode_t mode, char err[FILEIO_ERR_LEN])
{
	return out_open(o, flags, mode, 0, err);
}

FILE *fileio_out_append(struct fileio_out *o, char err[FILEIO_ERR_LEN])
{
	int fd = out_open(o, O_WRONLY | O_APPEND, 0666, 1, err);
	if (fd < 0)
		return NULL;
	FILE *fp = fdopen(fd, "a");
	if (!fp) {
		snprintf(err, FILEIO_ERR_LEN, "%.400s: %s", o->path, strerror(errno));
		close(fd);
	}
	return fp;
}

void fileio_out_free(struct fileio_out *o)
{
	if (o->path && o->dirfd >= 0)   /* a zeroed one holds no descriptor */
		close(o->dirfd);
	free(o->name);
	free(o->path);
	memset(o, 0, sizeof(*o));
	o->dirfd = -1;
}
