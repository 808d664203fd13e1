/* Daemon set-up: privileges, detaching, pid file.  See daemon.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "daemon.h"
#include "fileio.h"

static int become(const struct passwd *pw, char err[DAEMON_ERR_LEN])
{
	if (initgroups(pw->pw_name, pw->pw_gid) || setgid(pw->pw_gid) || setuid(pw->pw_uid)) {
		snprintf(err, DAEMON_ERR_LEN, "cannot become user %.100s: %s", pw->pw_name, strerror(errno));
		return -1;
	}
	/* setuid from root also clears every capability; make sure root
	 * cannot come back. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
		snprintf(err, DAEMON_ERR_LEN, "still able to regain root after dropping to %.100s", pw->pw_name);
		return -1;
	}
	return 0;
}

/* The user to become: *pw NULL when staying who we are (not root, or
 * root with --allow-root and nobody to become).  0 or -1 (err). */
static int resolve(const char *user, int allow_root, const struct passwd **pw, char err[DAEMON_ERR_LEN])
{
	*pw = NULL;
	if (geteuid() != 0) {
		if (user) {
			snprintf(err, DAEMON_ERR_LEN, "-u %.100s: not running as root, cannot change user", user);
			return -1;
		}
		return 0;
	}
	if (user && !(*pw = getpwnam(user))) {
		snprintf(err, DAEMON_ERR_LEN, "-u %.100s: no such user", user);
		return -1;
	}
	if (!user)
		*pw = getpwnam(DAEMON_DEFAULT_USER);
	if (!*pw || (*pw)->pw_uid == 0) {
		if (!allow_root) {
			snprintf(err, DAEMON_ERR_LEN,
				 "refusing to capture as root: no \"%s\" user to drop to; give -u USER, or --allow-root",
				 user ? user : DAEMON_DEFAULT_USER);
			return -1;
		}
		*pw = NULL;
	}
	return 0;
}

int daemon_target_user(const char *user, int allow_root, struct daemon_user *u, char err[DAEMON_ERR_LEN])
{
	const struct passwd *pw;

	memset(u, 0, sizeof(*u));
	u->gid = getegid();
	if (resolve(user, allow_root, &pw, err))
		return -1;
	if (pw) {
		u->set = 1;
		u->uid = pw->pw_uid;
		u->gid = pw->pw_gid;
		snprintf(u->name, sizeof(u->name), "%s", pw->pw_name);
	}
	return 0;
}

/* Root's own groups, while daemon_as_user() lends the user's. */
static gid_t saved_groups[256];
static int n_saved_groups = -1;
static gid_t saved_egid;

int daemon_as_user(const struct daemon_user *u, char err[DAEMON_ERR_LEN])
{
	if (!u->set)
		return 0;
	saved_egid = getegid();
	n_saved_groups = getgroups((int)(sizeof(saved_groups) / sizeof(saved_groups[0])), saved_groups);
	if (n_saved_groups < 0 || initgroups(u->name, u->gid) || setegid(u->gid) || seteuid(u->uid)) {
		snprintf(err, DAEMON_ERR_LEN, "cannot act as user %.100s: %s", u->name, strerror(errno));
		daemon_as_root();
		return -1;
	}
	return 0;
}

void daemon_as_root(void)
{
	if (n_saved_groups < 0)
		return;
	/* The real and saved uid are still 0: this cannot fail for a process
	 * that could become the user. */
	if (seteuid(0) || setegid(saved_egid) || setgroups((size_t)n_saved_groups, saved_groups)) {
		fprintf(stderr, "x1367ids: cannot return to root: %s\n", strerror(errno));
		_exit(1);
	}
	n_saved_groups = -1;
}

int daemon_drop_privileges(const char *user, int allow_root, const char *chroot_dir,
			   char err[DAEMON_ERR_LEN])
{
	const struct passwd *pw = NULL;

	if (resolve(user, allow_root, &pw, err))
		return -1;
	if (geteuid() != 0)
		return 0;
	if (chroot_dir && (chroot(chroot_dir) || chdir("/"))) {
		snprintf(err, DAEMON_ERR_LEN, "--chroot %.200s: %s", chroot_dir, strerror(errno));
		return -1;
	}
	if (pw && become(pw, err))
		return -1;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return 0;
}

/* The parent's side: the child's status byte, then its message. */
static void wait_for_child(int fd)
{
	char buf[DAEMON_ERR_LEN + 1];
	ssize_t n, got = 0;

	while (got < (ssize_t)sizeof(buf) - 1 && (n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	if (got <= 0) {
		fputs("x1367ids: the sensor died while starting\n", stderr);
		_exit(1);
	}
	buf[got] = '\0';
	if (got > 1)
		fprintf(stderr, "x1367ids: %s\n", buf + 1);
	_exit((unsigned char)buf[0]);
}

int daemon_detach(char err[DAEMON_ERR_LEN])
{
	int p[2];
	if (pipe(p)) {
		snprintf(err, DAEMON_ERR_LEN, "pipe: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, DAEMON_ERR_LEN, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		wait_for_child(p[0]);
	}
	close(p[0]);
	if (setsid() < 0) {
		snprintf(err, DAEMON_ERR_LEN, "setsid: %s", strerror(errno));
		return -1;
	}
	int fd = open("/dev/null", O_RDWR);
	if (fd < 0) {
		snprintf(err, DAEMON_ERR_LEN, "/dev/null: %s", strerror(errno));
		return -1;
	}
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	return p[1];
}

void daemon_ready(int fd, int status, const char *msg)
{
	char buf[DAEMON_ERR_LEN + 1];
	if (fd < 0)
		return;
	buf[0] = (char)status;
	size_t n = 1 + (size_t)snprintf(buf + 1, sizeof(buf) - 1, "%s", msg ? msg : "");
	if (n > sizeof(buf))
		n = sizeof(buf);
	if (write(fd, buf, n) < 0) {
		/* The parent is gone: nobody to tell. */
	}
	close(fd);
}

/* Written by root (its directory is usually root's /run), so written like
 * every output: no link followed, a regular file of its own in a
 * directory no stranger may write (fileio.h); truncated only once that is
 * known, never by the open. */
int daemon_write_pid(struct daemon_pidfile *pf, const char *path, gid_t own_gid, char err[DAEMON_ERR_LEN])
{
	char ferr[FILEIO_ERR_LEN], buf[32];
	struct stat st;

	memset(pf, 0, sizeof(*pf));
	pf->fd = -1;
	pf->active = 1;
	if (fileio_out_init(&pf->loc, path, own_gid, ferr) ||
	    (pf->fd = fileio_out_open(&pf->loc, O_RDWR, 0644, ferr)) < 0) {
		snprintf(err, DAEMON_ERR_LEN, "--pid-file %.480s", ferr);
		daemon_remove_pid(pf);
		return -1;
	}
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fstat(pf->fd, &st) == 0) {
		/* Ours from now on: removed even if the write below fails.  The
		 * descriptor stays open (to empty the file if the drop leaves no
		 * right to remove it): a root file the dropped sensor can write
		 * into, but only this one, which names it. */
		pf->dev = st.st_dev;
		pf->ino = st.st_ino;
		pf->written = 1;
	}
	if (!pf->written || ftruncate(pf->fd, 0) || pwrite(pf->fd, buf, (size_t)n, 0) != n) {
		snprintf(err, DAEMON_ERR_LEN, "--pid-file %.200s: %s", path, strerror(errno));
		daemon_remove_pid(pf);
		return -1;
	}
	return 0;
}

void daemon_remove_pid(struct daemon_pidfile *pf)
{
	struct stat st;

	if (!pf->active)
		return;
	if (pf->written) {
		/* Only our own file: not one somebody put in its place. */
		if (fstatat(pf->loc.dirfd, pf->loc.name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == pf->dev &&
		    st.st_ino == pf->ino && unlinkat(pf->loc.dirfd, pf->loc.name, 0) != 0) {
			/* After dropping root the directory may be root's alone
			 * (/run): then an empty file, never a stale pid. */
			if (ftruncate(pf->fd, 0) == 0)
				fprintf(stderr, "x1367ids: --pid-file %s: cannot remove it (%s), emptied it\n",
					pf->loc.path, strerror(errno));
		}
		pf->written = 0;
	}
	if (pf->fd >= 0)
		close(pf->fd);
	pf->fd = -1;
	fileio_out_free(&pf->loc);
	pf->active = 0;
}
