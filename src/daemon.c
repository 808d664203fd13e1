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

int daemon_drop_privileges(const char *user, int allow_root, const char *chroot_dir,
			   char err[DAEMON_ERR_LEN])
{
	const struct passwd *pw = NULL;

	if (geteuid() != 0) {
		if (user) {
			snprintf(err, DAEMON_ERR_LEN, "-u %.100s: not running as root, cannot change user", user);
			return -1;
		}
		return 0;
	}
	if (user && !(pw = getpwnam(user))) {
		snprintf(err, DAEMON_ERR_LEN, "-u %.100s: no such user", user);
		return -1;
	}
	if (!user)
		pw = getpwnam(DAEMON_DEFAULT_USER);
	if (!pw || pw->pw_uid == 0) {
		if (!allow_root) {
			snprintf(err, DAEMON_ERR_LEN,
				 "refusing to capture as root: no \"%s\" user to drop to; give -u USER, or --allow-root",
				 user ? user : DAEMON_DEFAULT_USER);
			return -1;
		}
		pw = NULL;
	}
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

int daemon_write_pid(const char *path, char err[DAEMON_ERR_LEN])
{
	FILE *fp = fopen(path, "w");
	int bad = !fp || fprintf(fp, "%ld\n", (long)getpid()) < 0;
	if ((fp && fclose(fp)) || bad) {
		snprintf(err, DAEMON_ERR_LEN, "--pid-file %.200s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
