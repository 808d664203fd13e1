/*
 * Running as a long-lived sensor: leaving the terminal, the pid file, and
 * giving up root once the interfaces are open.
 */
#ifndef X1367_DAEMON_H
#define X1367_DAEMON_H

#define DAEMON_ERR_LEN 512
#define DAEMON_DEFAULT_USER "x1367ids"

/* After the capture is open: chroot (optional), then become `user` (NULL:
 * the x1367ids system user where it exists) with its groups, and forbid
 * regaining privileges.  As root with no user to become, refuses unless
 * allow_root.  Not root to begin with: nothing to drop.  0 or -1 (err). */
int daemon_drop_privileges(const char *user, int allow_root, const char *chroot_dir,
			   char err[DAEMON_ERR_LEN]);

/* Fork into the background, new session, standard streams to /dev/null. */
int daemon_detach(char err[DAEMON_ERR_LEN]);

/* Write our pid, one line.  0 or -1 (err). */
int daemon_write_pid(const char *path, char err[DAEMON_ERR_LEN]);

#endif
