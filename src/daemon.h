/*
 * Running as a long-lived sensor: leaving the terminal, the pid file, and
 * giving up root once the interfaces are open.
 */
#ifndef X1367_DAEMON_H
#define X1367_DAEMON_H

#include <sys/types.h>
#include "fileio.h"

#define DAEMON_ERR_LEN 512
#define DAEMON_DEFAULT_USER "x1367ids"

/* After the capture is open: chroot (optional), then become `user` (NULL:
 * the x1367ids system user where it exists) with its groups, and forbid
 * regaining privileges.  As root with no user to become, refuses unless
 * allow_root.  Not root to begin with: nothing to drop.  0 or -1 (err). */
int daemon_drop_privileges(const char *user, int allow_root, const char *chroot_dir,
			   char err[DAEMON_ERR_LEN]);

/* Fork into the background, new session, standard streams to /dev/null.
 * The parent waits until the child calls daemon_ready(), then exits with
 * the status the child gave and prints its message: errors met after
 * detaching (no such user, pid file) still reach the terminal, and the
 * pid file exists when the command returns.  Returns (in the child) the
 * descriptor to pass to daemon_ready, or -1 with err. */
int daemon_detach(char err[DAEMON_ERR_LEN]);

/* Tell the waiting parent: status 0 (running) or an exit status with a
 * one-line message.  No-op for fd < 0 (not detached). */
void daemon_ready(int fd, int status, const char *msg);

/* Who daemon_drop_privileges() will make us: set = 0 when we stay who we
 * are (not root; root with --allow-root and nobody to become); gid is then
 * our own.  Fails the way daemon_drop_privileges() fails (no such user,
 * root and nobody to drop to), so that it can be asked first. */
struct daemon_user {
	int set;
	uid_t uid;
	gid_t gid;
	char name[64];
};
int daemon_target_user(const char *user, int allow_root, struct daemon_user *u, char err[DAEMON_ERR_LEN]);

/* Until daemon_as_root(): act with u's rights (effective uid, gid and
 * groups; the real uid stays root).  The live sensor opens its outputs so:
 * with the rights it will write them with after the drop, never root's.
 * No-op when !u->set.  0 or -1 (err, and back to root). */
int daemon_as_user(const struct daemon_user *u, char err[DAEMON_ERR_LEN]);
void daemon_as_root(void);

/* The pid file: written by the caller's user (root: /run is root's). */
struct daemon_pidfile {
	struct fileio_out loc;
	int fd;
	int active, written;
	dev_t dev;
	ino_t ino;
};
/* Writes our pid, one line, into a regular file of its own (no symbolic
 * link followed, nothing truncated before that is known).  0 or -1 (err,
 * nothing left behind). */
int daemon_write_pid(struct daemon_pidfile *pf, const char *path, gid_t own_gid, char err[DAEMON_ERR_LEN]);
/* At exit, also on error paths: removes the file if it is still ours;
 * empties it when the directory no longer lets us (root's /run after the
 * drop).  Safe to call on a zeroed or already removed one. */
void daemon_remove_pid(struct daemon_pidfile *pf);

#endif
