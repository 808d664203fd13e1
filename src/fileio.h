/*
 * Opening the files the sensor is told about, safely.
 *
 * Inputs (configuration file, mapping tables, plugins, GeoIP databases,
 * TLS CA/certificate/key): a regular file or nothing.  A FIFO, a device or
 * a directory named *.map would block start-up (and a SIGHUP reload of a
 * live sensor) forever, or be read as garbage: refused with one line.  The
 * open never blocks (O_NONBLOCK), the check is on the descriptor opened.
 *
 * Outputs (-w, --stats-file, --pid-file): never through a symbolic link
 * (O_NOFOLLOW on the last component), only a regular file with one link,
 * never in a directory anybody may write without the sticky bit (other
 * than root and the sensor's own group); the directory is kept open, so
 * that a reopen (SIGHUP, logrotate) finds the same directory after a
 * chroot and needs no path lookup.  Which user opens them is main.c's
 * choice (see open_outputs there).
 */
#ifndef X1367_FILEIO_H
#define X1367_FILEIO_H

#include <stdio.h>
#include <sys/types.h>

#define FILEIO_ERR_LEN 512

/* A regular file opened for reading without blocking on a FIFO; the
 * descriptor is returned in blocking mode.  -1 (cannot open, errno kept)
 * or -2 (not a regular file), with err "PATH: why". */
int fileio_open_regular(const char *path, char err[FILEIO_ERR_LEN]);
/* The same with extra open(2) flags: O_NOFOLLOW refuses a symbolic link
 * ("PATH: a symbolic link: refused", -1). */
int fileio_open_regular_flags(const char *path, int flags, char err[FILEIO_ERR_LEN]);
/* The same as a stdio stream ("r"). */
FILE *fileio_fopen_regular(const char *path, char err[FILEIO_ERR_LEN]);
/* Only checks (for libraries that open the file by name themselves):
 * 0; -1 when it cannot be opened (errno kept: the library may say it its
 * way); -2 when it is not a regular file.  err set on both. */
int fileio_check_regular(const char *path, char err[FILEIO_ERR_LEN]);

/* An output file: its directory, kept open, and its name in it. */
struct fileio_out {
	int dirfd;
	char *name;          /* last component */
	char *path;          /* as given, for messages */
	gid_t own_gid;       /* a group-writable directory of this group is ours */
};

/* Opens the directory of `path` (following links: the administrator's
 * layout) and checks it; own_gid: the sensor's group ((gid_t)-1: none).
 * 0, or -1 with err. */
int fileio_out_init(struct fileio_out *o, const char *path, gid_t own_gid, char err[FILEIO_ERR_LEN]);
/* Opens the file in that directory: flags O_WRONLY|O_APPEND or O_RDWR,
 * O_CREAT always, mode for a new file.  Refuses a symbolic link, anything
 * not a regular file, and a file with another hard link.  Returns the
 * descriptor or -1 with err. */
int fileio_out_open(struct fileio_out *o, int flags, mode_t mode, char err[FILEIO_ERR_LEN]);
/* fileio_out_open() for appending (mode 0666 less the umask), as a stdio
 * stream; a character device is also accepted (-w /dev/null).  NULL with
 * err. */
FILE *fileio_out_append(struct fileio_out *o, char err[FILEIO_ERR_LEN]);
/* Safe on a zeroed one. */
void fileio_out_free(struct fileio_out *o);

#endif
