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

/* Write our pid, one line.  0 or -1 (err). */
int daemon_write_pid(const char *path, char err[DAEMON_ERR_LEN]);

#endif
