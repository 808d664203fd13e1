/* Records to syslog collectors: queues, spool, threads, transports.
 * See syslog.h and docs/SYSLOG.md. */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <json-c/json.h>
#include <librelp.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include "fileio.h"
#include "spool.h"
#include "syslog.h"
#include "syslog_format.h"

#define DRAIN_USEC 5000000u      /* syslog_shutdown waits this long */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define IO_TIMEOUT_S 5           /* connect, send, TLS handshake, RELP ack */
#define RELP_WINDOW 64           /* records sent and not yet acknowledged */
#define COMMIT_EVERY 256         /* spool head written at least this often */
#define IDLE_CONFIRM_USEC 1000000u
#define DEFAULT_QUEUE 10000
#define DEFAULT_SPOOL_MAX (256ull << 20)

enum transport { T_UDP, T_TCP, T_TLS, T_RELP };
static const char *const scheme_names[] = { "udp", "tcp", "tls", "relp" };
static const char *const default_ports[] = { "514", "514", "6514", "2514" };

struct entry {
	uint64_t ts;
	size_t len;
	char data[];
};

/* One record the sender holds: from the spool (owned) or the memory
 * queue (still owned by the queue). */
struct rec {
	const char *data;
	size_t len;
	uint64_t ts;
	struct spool_pos pos;
	char *owned;
};

struct dest {
	char url[300];
	char spool_path[4096];
	enum transport t;
	char host[256], port[8];
	char hostname[256];
	int facility;
	gnutls_certificate_credentials_t cred;

	pthread_mutex_t mu;
	pthread_cond_t cv_spool, cv_send, cv_space;
	struct entry **ring;
	size_t cap, head, count, rd;    /* rd: memory mode, records read */
	int block_when_full;
	struct spool *spool;

	pthread_t spooler, sender;
	int spooler_started, sender_started, shut;   /* the main thread's */
	int stopping, spooler_done, draining;         /* under mu */
	/* Set once by the main thread (join_by: out of time), read by the
	 * sender and writer threads, also outside mu.  Atomic: a plain or
	 * volatile int written and read by two threads is a data race.  It
	 * publishes no other data, so the order that matters is the wake-up,
	 * which mu gives (join_by sets it before taking mu to broadcast; the
	 * waiters look at it under mu before they wait); release/acquire is
	 * kept anyway, free on x86 and enough on any machine. */
	atomic_int abort_io;
	/* librelp's shutdown-immediate flag: librelp reads it as a plain int
	 * (relpEngineSetShutdownImmdtPtr takes an int *), from the sender
	 * thread; we only ever store 1 into it, atomically (join_by). */
	int relp_stop;

	/* the connection: the sender thread's alone, except fd, which it
	 * changes under io_mu and join_by reads under io_mu */
	pthread_mutex_t io_mu;
	int fd;
	gnutls_session_t tls;
	relpEngine_t *relp_engine;
	relpClt_t *relp;
	int relp_failed;
	int connected, voluntary_close;
	uint64_t next_try;
	unsigned backoff_ms;

	unsigned jitter_seed;           /* sender thread: rand() is not thread-safe */

	/* sent, not yet known delivered (RELP window), oldest first (sender) */
	struct spool_pos sent[RELP_WINDOW + 1];
	size_t sent_head, n_sent;
	struct spool_pos commit_pos;
	size_t uncommitted;

	/* counters and connection state for the statistics (under mu) */
	uint64_t delivered, dropped, reconnects, connects, oversize, spool_errors, lost_at_exit;
	char last_error[256];
	char logged_error[256];
};

/* The destinations: the main thread's alone (set-up, statistics, close). */
static struct dest *g_dests[SYSLOG_MAX_URLS * 4];
static size_t g_n;

static int aborted(const struct dest *d)
{
	return atomic_load_explicit(&d->abort_io, memory_order_acquire);
}

static uint64_t mono_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t wall_usec(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* Waits on cv (mu held) at most usec. */
static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, uint64_t usec)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + usec * 1000u;
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	pthread_cond_timedwait(cv, mu, &ts);
}

static void init_cond(pthread_cond_t *cv)
{
	pthread_condattr_t a;
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

static void say(const struct dest *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(const struct dest *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "x1367ids: syslog %s: %s\n", d->url, msg);
}

/* A failure: kept for the statistics, said once until it changes. */
static void set_error(struct dest *d, const char *why)
{
	if (aborted(d))
		return;   /* syslog_shutdown cut the connection */
	pthread_mutex_lock(&d->mu);
	snprintf(d->last_error, sizeof(d->last_error), "%s", why);
	int fresh = strcmp(d->logged_error, d->last_error) != 0;
	if (fresh)
		snprintf(d->logged_error, sizeof(d->logged_error), "%s", why);
	pthread_mutex_unlock(&d->mu);
	if (fresh)
		say(d, "%s", why);
}

/* ---- the packet path ----------------------------------------------------- */

/* The queue is full: its oldest record goes to the spool tail (still in
 * order: the spool holds only older ones).  mu held.  0, or -1 when the
 * spool cannot take it (at its cap, or failing). */
static int spill_oldest(struct dest *d)
{
	struct entry *e = d->ring[d->head];
	if (spool_append(d->spool, e->ts, e->data, e->len)) {
		if (errno != ENOSPC)
			d->spool_errors++;
		return -1;
	}
	d->head = (d->head + 1) % d->cap;
	d->count--;
	free(e);
	pthread_cond_signal(&d->cv_send);
	return 0;
}

static int sink_write(void *self, const char *line, size_t len)
{
	struct dest *d = self;
	struct entry *e = malloc(sizeof(*e) + len + 1);

	if (e) {
		e->ts = wall_usec();
		e->len = len;
		memcpy(e->data, line, len);
		e->data[len] = '\0';
	}
	pthread_mutex_lock(&d->mu);
	for (;;) {
		if (!e || d->stopping)
			goto drop;
		if (d->count < d->cap)
			break;
		/* the writer thread is behind: one write(2) here, in order */
		if (d->spool && !spill_oldest(d))
			continue;
		if (!d->block_when_full)
			goto drop;
		pthread_cond_wait(&d->cv_space, &d->mu);
	}
	d->ring[(d->head + d->count) % d->cap] = e;
	d->count++;
	pthread_cond_signal(d->spool ? &d->cv_spool : &d->cv_send);
	pthread_mutex_unlock(&d->mu);
	return 0;
drop:
	d->dropped++;
	pthread_mutex_unlock(&d->mu);
	free(e);
	return 0;
}

static int sink_flush(void *self)
{
	struct dest *d = self;
	pthread_mutex_lock(&d->mu);
	pthread_cond_signal(d->spool ? &d->cv_spool : &d->cv_send);
	pthread_mutex_unlock(&d->mu);
	return 0;
}

static int sink_reopen(void *self)
{
	(void)self;
	return 0;
}

static void dest_shutdown(struct dest *d, uint64_t deadline);
static void dest_free(struct dest *d);

static void sink_close(void *self)
{
	struct dest *d = self;
	dest_shutdown(d, mono_usec() + DRAIN_USEC);
	for (size_t i = 0; i < g_n; i++) {
		if (g_dests[i] == d) {
			g_dests[i] = g_dests[--g_n];
			break;
		}
	}
	dest_free(d);
}

static const struct sink_ops syslog_ops = {
	.kind = "syslog",
	.write = sink_write,
	.flush = sink_flush,
	.reopen = sink_reopen,
	.close = sink_close,
};

/* ---- the spool writer: memory queue -> disk ------------------------------ */

static void *spooler_main(void *arg)
{
	struct dest *d = arg;
	int said = 0;

	pthread_mutex_lock(&d->mu);
	for (;;) {
		while (!d->count && !d->stopping)
			pthread_cond_wait(&d->cv_spool, &d->mu);
		if (!d->count || aborted(d))
			break;
		/* under the lock: the packet thread may spill the same head */
		uint64_t errors = d->spool_errors;
		if (!spill_oldest(d)) {
			pthread_cond_broadcast(&d->cv_space);
			continue;
		}
		if (d->spool_errors == errors) {
			/* at the cap: the sender frees space as it delivers */
			timed_wait(&d->cv_spool, &d->mu, 100000);
			continue;
		}
		/* the disk fails: this record cannot be kept */
		struct entry *e = d->ring[d->head];
		d->head = (d->head + 1) % d->cap;
		d->count--;
		d->dropped++;
		free(e);
		pthread_cond_broadcast(&d->cv_space);
		if (!said++) {
			int why = errno;
			pthread_mutex_unlock(&d->mu);
			say(d, "writing the spool %s failed: %s (records dropped)", d->spool_path, strerror(why));
			pthread_mutex_lock(&d->mu);
		}
	}
	d->spooler_done = 1;
	pthread_cond_signal(&d->cv_send);
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* ---- where the sender reads: the spool, or the memory queue -------------- */

static int source_next(struct dest *d, struct rec *r)
{
	memset(r, 0, sizeof(*r));
	if (d->spool) {
		struct spool_rec sr;
		int rc = spool_read(d->spool, &sr);
		if (rc == 1) {
			r->data = r->owned = sr.data;
			r->len = sr.len;
			r->ts = sr.ts_usec;
			r->pos = sr.end;
		}
		return rc;
	}
	int got = 0;
	pthread_mutex_lock(&d->mu);
	if (d->rd < d->count) {
		struct entry *e = d->ring[(d->head + d->rd) % d->cap];
		d->rd++;
		r->data = e->data;
		r->len = e->len;
		r->ts = e->ts;
		got = 1;
	}
	pthread_mutex_unlock(&d->mu);
	return got;
}

/* Everything not known delivered will be read (and sent) again. */
static void source_rewind(struct dest *d)
{
	d->n_sent = 0;
	if (d->spool) {
		spool_rewind(d->spool);
		return;
	}
	pthread_mutex_lock(&d->mu);
	d->rd = 0;
	pthread_mutex_unlock(&d->mu);
}

static void flush_commit(struct dest *d)
{
	if (!d->spool || !d->uncommitted)
		return;
	spool_commit(d->spool, d->commit_pos);
	d->uncommitted = 0;
	pthread_mutex_lock(&d->mu);
	pthread_cond_signal(&d->cv_spool);   /* room again under the cap */
	pthread_cond_broadcast(&d->cv_space);
	pthread_mutex_unlock(&d->mu);
}

/* The oldest sent record is delivered. */
static void deliver_oldest(struct dest *d)
{
	struct spool_pos pos = d->sent[d->sent_head];
	d->sent_head = (d->sent_head + 1) % (RELP_WINDOW + 1);
	d->n_sent--;
	pthread_mutex_lock(&d->mu);
	d->delivered++;
	if (!d->spool) {
		free(d->ring[d->head]);
		d->head = (d->head + 1) % d->cap;
		d->count--;
		d->rd--;
		pthread_cond_broadcast(&d->cv_space);
	}
	pthread_mutex_unlock(&d->mu);
	if (d->spool) {
		d->commit_pos = pos;
		if (++d->uncommitted >= COMMIT_EVERY)
			flush_commit(d);
	}
}

/* Sent: delivered at once (UDP, TCP, TLS: handed to the kernel), or once
 * RELP_WINDOW later records were sent (librelp sends a record only while
 * fewer than the window are unacknowledged, so older ones were acked). */
static void sent_one(struct dest *d, struct spool_pos pos)
{
	size_t window = d->t == T_RELP ? RELP_WINDOW : 0;
	d->sent[(d->sent_head + d->n_sent) % (RELP_WINDOW + 1)] = pos;
	d->n_sent++;
	while (d->n_sent > window)
		deliver_oldest(d);
}

/* ---- transports ---------------------------------------------------------- */

static void close_conn(struct dest *d)
{
	if (d->tls) {
		gnutls_deinit(d->tls);
		d->tls = NULL;
	}
	if (d->relp) {
		relpEngineCltDestruct(d->relp_engine, &d->relp);
		d->relp = NULL;
	}
	pthread_mutex_lock(&d->io_mu);
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	pthread_mutex_unlock(&d->io_mu);
	pthread_mutex_lock(&d->mu);
	d->connected = 0;
	pthread_mutex_unlock(&d->mu);
}

static int wait_connect(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof(err);
	int n = poll(&p, 1, IO_TIMEOUT_S * 1000);
	if (n == 0)
		return ETIMEDOUT;
	if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el))
		return errno;
	return err;
}

static int open_socket(struct dest *d, char *why, size_t wn)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = d->t == T_UDP ? SOCK_DGRAM : SOCK_STREAM };
	struct addrinfo *res, *ai;
	int rc = getaddrinfo(d->host, d->port, &hints, &res);
	if (rc) {
		snprintf(why, wn, "%s: %s", d->host, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		int err = connect(fd, ai->ai_addr, ai->ai_addrlen) ? errno : 0;
		if (err == EINPROGRESS)
			err = wait_connect(fd);
		if (!err)
			break;
		snprintf(why, wn, "connect: %s", strerror(err));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { IO_TIMEOUT_S, 0 };
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (d->t != T_UDP)
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	pthread_mutex_lock(&d->io_mu);
	d->fd = fd;
	pthread_mutex_unlock(&d->io_mu);
	return 0;
}

static int is_ip_literal(const char *h)
{
	unsigned char b[16];
	return inet_pton(AF_INET, h, b) == 1 || inet_pton(AF_INET6, h, b) == 1;
}

static int tls_start(struct dest *d, char *why, size_t wn)
{
	int rc = gnutls_init(&d->tls, GNUTLS_CLIENT | GNUTLS_NO_SIGNAL);
	if (rc >= 0)
		rc = gnutls_set_default_priority(d->tls);
	if (rc >= 0)
		rc = gnutls_credentials_set(d->tls, GNUTLS_CRD_CERTIFICATE, d->cred);
	if (rc >= 0 && !is_ip_literal(d->host))
		rc = gnutls_server_name_set(d->tls, GNUTLS_NAME_DNS, d->host, strlen(d->host));
	if (rc < 0) {
		snprintf(why, wn, "TLS set-up: %s", gnutls_strerror(rc));
		return -1;
	}
	/* the chain against the CA file, and the name against the URL's host */
	gnutls_session_set_verify_cert(d->tls, d->host, 0);
	gnutls_transport_set_int(d->tls, d->fd);
	gnutls_handshake_set_timeout(d->tls, IO_TIMEOUT_S * 1000);
	do
		rc = gnutls_handshake(d->tls);
	while (rc < 0 && !gnutls_error_is_fatal(rc) && rc != GNUTLS_E_AGAIN && !aborted(d));
	if (rc >= 0)
		return 0;
	if (rc == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR) {
		gnutls_datum_t out = { NULL, 0 };
		unsigned status = gnutls_session_get_verify_cert_status(d->tls);
		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0);
		snprintf(why, wn, "TLS: the collector's certificate is refused: %s",
			 out.data ? (const char *)out.data : "verification failed");
		gnutls_free(out.data);
	} else {
		snprintf(why, wn, "TLS handshake failed: %s", gnutls_strerror(rc));
	}
	return -1;
}

static void relp_on_err(void *usr, char *objinfo, char *errmsg, relpRetVal code)
{
	struct dest *d = usr;
	(void)objinfo;
	if (!d)
		return;
	d->relp_failed = 1;
	pthread_mutex_lock(&d->mu);
	snprintf(d->last_error, sizeof(d->last_error), "RELP: %s (%d)", errmsg ? errmsg : "error", (int)code);
	pthread_mutex_unlock(&d->mu);
}

static void relp_dbg(char *fmt, ...)
{
	(void)fmt;
}

static int relp_start(struct dest *d, char *why, size_t wn)
{
	relpRetVal rc = relpEngineCltConstruct(d->relp_engine, &d->relp);
	if (rc == RELP_RET_OK)
		rc = relpCltSetTimeout(d->relp, IO_TIMEOUT_S);
	if (rc == RELP_RET_OK)
		rc = relpCltSetConnTimeout(d->relp, IO_TIMEOUT_S);
	if (rc == RELP_RET_OK)
		rc = relpCltSetWindowSize(d->relp, RELP_WINDOW);
	if (rc == RELP_RET_OK)
		rc = relpCltSetUsrPtr(d->relp, d);
	d->relp_failed = 0;
	if (rc == RELP_RET_OK)
		rc = relpCltConnect(d->relp, 0, (unsigned char *)d->port, (unsigned char *)d->host);
	if (rc == RELP_RET_OK)
		return 0;
	snprintf(why, wn, "RELP connection to %s port %s failed (librelp error %d)", d->host, d->port, (int)rc);
	return -1;
}

static int dest_connect(struct dest *d)
{
	char why[400] = "connection failed";
	int rc;

	if (d->t == T_RELP)
		rc = relp_start(d, why, sizeof(why));
	else
		rc = open_socket(d, why, sizeof(why));
	if (!rc && d->t == T_TLS)
		rc = tls_start(d, why, sizeof(why));
	if (rc) {
		close_conn(d);
		set_error(d, why);
		d->next_try = mono_usec() + d->backoff_ms * 1000u + (uint64_t)(rand_r(&d->jitter_seed) % 50) * 1000u;
		d->backoff_ms = d->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : d->backoff_ms * 2;
		return -1;
	}
	pthread_mutex_lock(&d->mu);
	d->connected = 1;
	if (d->connects++ && !d->voluntary_close)
		d->reconnects++;
	d->voluntary_close = 0;
	int was_failing = d->logged_error[0] != '\0';
	d->logged_error[0] = '\0';
	pthread_mutex_unlock(&d->mu);
	if (was_failing)
		say(d, "connected");
	d->backoff_ms = BACKOFF_MIN_MS;
	return 0;
}

/* A collector that closed the connection (or sent anything: a syslog
 * receiver never does) is gone; catch it before writing into the void. */
static int peer_closed(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

static int send_all(struct dest *d, const char *buf, size_t len, char *why, size_t wn)
{
	while (len) {
		ssize_t n;
		if (d->tls) {
			n = gnutls_record_send(d->tls, buf, len);
			if (n == GNUTLS_E_INTERRUPTED)
				continue;
			if (n < 0) {
				snprintf(why, wn, "TLS send: %s", n == GNUTLS_E_AGAIN ? "timed out (collector not reading)"
										     : gnutls_strerror((int)n));
				return -1;
			}
		} else {
			n = send(d->fd, buf, len, MSG_NOSIGNAL);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				snprintf(why, wn, "send: %s", errno == EAGAIN ? "timed out (collector not reading)"
									   : strerror(errno));
				return -1;
			}
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0 sent, 1 too long for the transport (dropped), -1 connection failed. */
static int send_msg(struct dest *d, const char *msg, size_t len)
{
	char why[300];

	if (d->t == T_RELP) {
		relpRetVal rc = relpCltSendSyslog(d->relp, (unsigned char *)msg, len);
		if (rc == RELP_RET_OK && !d->relp_failed)
			return 0;
		snprintf(why, sizeof(why), "RELP: collector lost or not acknowledging (librelp error %d)", (int)rc);
		set_error(d, why);
		return -1;
	}
	if (d->t == T_UDP) {
		if (len > SYSLOG_UDP_MAX)
			return 1;
		if (send(d->fd, msg, len, MSG_NOSIGNAL) == (ssize_t)len)
			return 0;
		snprintf(why, sizeof(why), "send: %s", strerror(errno));
		set_error(d, why);
		return -1;
	}
	if (peer_closed(d->fd)) {
		set_error(d, "the collector closed the connection");
		return -1;
	}
	char prefix[24];
	size_t pl = syslog_octet_prefix(len, prefix);
	if (send_all(d, prefix, pl, why, sizeof(why)) || send_all(d, msg, len, why, sizeof(why))) {
		set_error(d, why);
		return -1;
	}
	return 0;
}

/* RELP: close the session politely; the collector answers "close" after
 * every earlier record, so a clean close acknowledges all of them. */
static void relp_confirm(struct dest *d)
{
	d->relp_failed = 0;
	relpEngineCltDestruct(d->relp_engine, &d->relp);
	d->relp = NULL;
	pthread_mutex_lock(&d->mu);
	d->connected = 0;
	d->voluntary_close = 1;   /* the next connection is no reconnect */
	pthread_mutex_unlock(&d->mu);
	if (d->relp_failed) {
		source_rewind(d);
		return;
	}
	while (d->n_sent)
		deliver_oldest(d);
	flush_commit(d);
}

/* ---- the sender ---------------------------------------------------------- */

/* Shutting down and nothing left: everything the packet path handed over
 * is delivered (and committed: on_idle flushed the spool head first). */
static int drained(struct dest *d)
{
	pthread_mutex_lock(&d->mu);
	int done = d->draining && (d->spool ? d->spooler_done : d->count == 0);
	pthread_mutex_unlock(&d->mu);
	if (done && d->spool) {
		struct spool_stats st;
		spool_get_stats(d->spool, &st);
		done = st.records == 0;
	}
	return done && d->n_sent == 0;
}

static void idle_wait(struct dest *d, uint64_t usec)
{
	pthread_mutex_lock(&d->mu);
	if (!aborted(d))
		timed_wait(&d->cv_send, &d->mu, usec);
	pthread_mutex_unlock(&d->mu);
}

/* Nothing to read now. */
static int on_idle(struct dest *d, uint64_t *idle_since)
{
	flush_commit(d);
	uint64_t now = mono_usec();
	if (!*idle_since)
		*idle_since = now;
	if (d->t == T_RELP && d->n_sent && d->relp &&
	    (d->draining || now - *idle_since >= IDLE_CONFIRM_USEC))
		relp_confirm(d);
	if (drained(d))
		return 1;
	idle_wait(d, 200000);
	return 0;
}

static void send_one(struct dest *d, struct rec *r)
{
	size_t len;
	struct syslog_header h = { d->facility, d->hostname, (long)getpid() };
	char *msg = syslog_format(&h, r->ts, r->data, r->len, &len);
	int rc = msg ? send_msg(d, msg, len) : 1;
	free(msg);
	if (rc < 0) {
		close_conn(d);
		source_rewind(d);
		d->next_try = mono_usec() + d->backoff_ms * 1000u;
		return;
	}
	if (rc > 0) {
		pthread_mutex_lock(&d->mu);
		d->oversize++;
		d->dropped++;
		pthread_mutex_unlock(&d->mu);
	}
	sent_one(d, r->pos);
}

static void *sender_main(void *arg)
{
	struct dest *d = arg;
	uint64_t idle_since = 0;

	while (!aborted(d)) {
		struct rec r;
		int got = source_next(d, &r);
		if (got < 0) {
			idle_wait(d, 200000);
			continue;
		}
		if (!got) {
			if (on_idle(d, &idle_since))
				break;
			continue;
		}
		idle_since = 0;
		if (!d->relp && d->fd < 0) {
			/* read again after connecting: a new connection resends
			 * everything not known delivered */
			free(r.owned);
			source_rewind(d);
			uint64_t now = mono_usec();
			if (now < d->next_try)
				idle_wait(d, d->next_try - now < 200000 ? d->next_try - now : 200000);
			else
				dest_connect(d);
			continue;
		}
		send_one(d, &r);
		free(r.owned);
	}
	flush_commit(d);
	if (d->tls && !aborted(d))
		gnutls_bye(d->tls, GNUTLS_SHUT_WR);   /* a clean end for the collector */
	close_conn(d);
	return NULL;
}

/* ---- set-up -------------------------------------------------------------- */

static int parse_url(struct dest *d, const char *url, char err[SYSLOG_ERR_LEN])
{
	const char *sep = strstr(url, "://");
	size_t i;

	snprintf(d->url, sizeof(d->url), "%s", url);
	for (i = 0; sep && i < 4; i++)
		if ((size_t)(sep - url) == strlen(scheme_names[i]) && !strncasecmp(url, scheme_names[i], (size_t)(sep - url)))
			break;
	if (!sep || i == 4) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: give udp://, tcp://, tls:// or relp://HOST[:PORT]", url);
		return -1;
	}
	d->t = (enum transport)i;
	const char *h = sep + 3, *end, *port = NULL;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: no ']' after the IPv6 address", url);
			return -1;
		}
		h++;
		port = end[1] == ':' ? end + 2 : NULL;
		if (end[1] && end[1] != ':' && strcmp(end + 1, "/")) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: unexpected \"%s\" after the address", url, end + 1);
			return -1;
		}
	} else {
		end = h + strcspn(h, ":/");
		if (*end == ':') {
			port = end + 1;
			if (strchr(port, ':')) {
				snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: an IPv6 address goes in brackets ([::1]:514)", url);
				return -1;
			}
		} else if (*end && strcmp(end, "/")) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: a URL here has no path", url);
			return -1;
		}
	}
	if (end == h || (size_t)(end - h) >= sizeof(d->host)) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: no host", url);
		return -1;
	}
	memcpy(d->host, h, (size_t)(end - h));
	d->host[end - h] = '\0';
	if (!port) {
		snprintf(d->port, sizeof(d->port), "%s", default_ports[d->t]);
		return 0;
	}
	char *pe;
	unsigned long p = strtoul(port, &pe, 10);
	if (pe == port || (*pe && strcmp(pe, "/")) || p == 0 || p > 65535) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: port must be 1-65535", url);
		return -1;
	}
	snprintf(d->port, sizeof(d->port), "%lu", p);
	return 0;
}

static int load_tls(struct dest *d, const struct syslog_config *c, char err[SYSLOG_ERR_LEN])
{
	if (!c->ca_file) {
		snprintf(err, SYSLOG_ERR_LEN,
			 "--syslog %s: TLS needs --syslog-ca FILE (the CA that signed the collector's certificate)", d->url);
		return -1;
	}
	if (!c->cert_file != !c->key_file) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: a client certificate needs both --syslog-cert and --syslog-key",
			 d->url);
		return -1;
	}
	/* GnuTLS reads them by name: a FIFO would block it forever. */
	const char *files[] = { c->ca_file, c->cert_file, c->key_file };
	const char *flags[] = { "--syslog-ca", "--syslog-cert", "--syslog-key" };
	for (size_t i = 0; i < 3; i++) {
		char ferr[FILEIO_ERR_LEN];
		if (files[i] && fileio_check_regular(files[i], ferr) == -2) {
			snprintf(err, SYSLOG_ERR_LEN, "%s %.480s", flags[i], ferr);
			return -1;
		}
	}
	int rc = gnutls_certificate_allocate_credentials(&d->cred);
	if (rc < 0) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: %s", d->url, gnutls_strerror(rc));
		return -1;
	}
	rc = gnutls_certificate_set_x509_trust_file(d->cred, c->ca_file, GNUTLS_X509_FMT_PEM);
	if (rc <= 0) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog-ca %s: %s", c->ca_file,
			 rc == 0 ? "no certificate in the file" : access(c->ca_file, R_OK) ? strerror(errno) : gnutls_strerror(rc));
		return -1;
	}
	if (c->cert_file) {
		rc = gnutls_certificate_set_x509_key_file(d->cred, c->cert_file, c->key_file, GNUTLS_X509_FMT_PEM);
		if (rc < 0) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog-cert %s / --syslog-key %s: %s", c->cert_file, c->key_file,
				 gnutls_strerror(rc));
			return -1;
		}
	}
	return 0;
}

static void dest_free(struct dest *d)
{
	if (!d)
		return;
	if (d->ring) {
		for (size_t i = 0; i < d->count; i++)
			free(d->ring[(d->head + i) % d->cap]);
		free(d->ring);
	}
	spool_close(d->spool);
	if (d->cred)
		gnutls_certificate_free_credentials(d->cred);
	if (d->relp_engine)
		relpEngineDestruct(&d->relp_engine);
	pthread_mutex_destroy(&d->mu);
	pthread_mutex_destroy(&d->io_mu);
	pthread_cond_destroy(&d->cv_spool);
	pthread_cond_destroy(&d->cv_send);
	pthread_cond_destroy(&d->cv_space);
	free(d);
}

/* "relp://127.0.0.1:2514" -> "relp-127.0.0.1-2514" */
static void spool_name(const struct dest *d, char *out, size_t cap)
{
	snprintf(out, cap, "%s-%s-%s", scheme_names[d->t], d->host, d->port);
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			*p = '_';
}

/* The spool directory as given: a directory, or one that can be made (the
 * nearest part of the path that exists is a directory).  Making it is the
 * run's (as the sensor's user, after dropping root), never a check's. */
static int check_spool_dir(const char *dir, char err[SYSLOG_ERR_LEN])
{
	char p[4096];
	struct stat st;

	if (!*dir || snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p)) {
		snprintf(err, SYSLOG_ERR_LEN, "--spool-dir %.400s: not a usable directory name", dir);
		return -1;
	}
	for (;;) {
		if (stat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				return 0;
			if (!strcmp(p, dir))
				snprintf(err, SYSLOG_ERR_LEN, "--spool-dir %.400s: not a directory", dir);
			else
				snprintf(err, SYSLOG_ERR_LEN, "--spool-dir %.220s: %.220s is not a directory", dir, p);
			return -1;
		}
		if (errno != ENOENT) {
			snprintf(err, SYSLOG_ERR_LEN, "--spool-dir %.400s: %s", dir, strerror(errno));
			return -1;
		}
		char *slash = strrchr(p, '/');
		while (slash && slash > p && slash[1] == '\0') {   /* "a/b/" */
			*slash = '\0';
			slash = strrchr(p, '/');
		}
		if (!slash)
			return 0;                 /* relative, nothing of it exists: made in "." */
		if (slash == p)
			return 0;                 /* "/x": the root exists */
		*slash = '\0';
	}
}

/* check_only: everything the run checks (URL, TLS files and credentials,
 * the spool directory) without opening anything that lasts: what
 * syslog_check_config() runs for --check-config and for the run alike. */
static struct dest *dest_new(const struct syslog_config *c, const char *url, int facility, const char *host,
			     int check_only, char err[SYSLOG_ERR_LEN])
{
	struct dest *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, SYSLOG_ERR_LEN, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&d->mu, NULL);
	pthread_mutex_init(&d->io_mu, NULL);
	init_cond(&d->cv_spool);
	init_cond(&d->cv_send);
	init_cond(&d->cv_space);
	atomic_init(&d->abort_io, 0);
	d->fd = -1;
	d->facility = facility;
	d->backoff_ms = BACKOFF_MIN_MS;
	d->jitter_seed = (unsigned)mono_usec() ^ (unsigned)(uintptr_t)d;
	d->block_when_full = c->block_when_full;
	syslog_hostname(host, d->hostname);
	d->cap = c->queue_records ? c->queue_records : DEFAULT_QUEUE;
	if (parse_url(d, url, err) || (d->t == T_TLS && load_tls(d, c, err)))
		goto fail;
	if (c->spool_dir && check_spool_dir(c->spool_dir, err))
		goto fail;
	if (check_only)
		return d;
	if (!(d->ring = calloc(d->cap, sizeof(*d->ring)))) {
		snprintf(err, SYSLOG_ERR_LEN, "--queue-size %zu: out of memory", d->cap);
		goto fail;
	}
	if (d->t == T_RELP) {
		if (relpEngineConstruct(&d->relp_engine) != RELP_RET_OK ||
		    relpEngineSetEnableCmd(d->relp_engine, (unsigned char *)"syslog", eRelpCmdState_Required) != RELP_RET_OK ||
		    relpEngineSetOnErr(d->relp_engine, relp_on_err) != RELP_RET_OK) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: librelp could not be set up", url);
			goto fail;
		}
		relpEngineSetDbgprint(d->relp_engine, relp_dbg);
		relpEngineSetDnsLookupMode(d->relp_engine, 0);
		relpEngineSetShutdownImmdtPtr(d->relp_engine, &d->relp_stop);
	}
	if (c->spool_dir) {
		char name[300], serr[SPOOL_ERR_LEN];
		spool_name(d, name, sizeof(name));
		snprintf(d->spool_path, sizeof(d->spool_path), "%s/%s", c->spool_dir, name);
		d->spool = spool_open(d->spool_path, c->spool_max_bytes ? c->spool_max_bytes : DEFAULT_SPOOL_MAX, serr);
		if (!d->spool) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog %.80s: %.400s", url, serr);
			goto fail;
		}
	}
	return d;
fail:
	dest_free(d);
	return NULL;
}

/* The facility, or -1 with err. */
static int facility_of(const struct syslog_config *c, char err[SYSLOG_ERR_LEN])
{
	int facility = syslog_facility_parse(c->facility ? c->facility : "local0");

	if (facility < 0)
		snprintf(err, SYSLOG_ERR_LEN, "--syslog-facility %s: give local0-local7, user, daemon, auth, ... or 0-23",
			 c->facility);
	return facility;
}

/* What every destination list must be, checked or run. */
static int check_list(const struct syslog_config *c, char err[SYSLOG_ERR_LEN])
{
	if (c->n_urls > SYSLOG_MAX_URLS) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog: at most %d destinations", SYSLOG_MAX_URLS);
		return -1;
	}
	for (size_t i = 0; i < c->n_urls; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->urls[i], c->urls[j])) {
				snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: given twice", c->urls[i]);
				return -1;
			}
	return 0;
}

int syslog_check_config(const struct syslog_config *c, char err[SYSLOG_ERR_LEN])
{
	int facility = facility_of(c, err);

	if (facility < 0 || check_list(c, err))
		return -1;
	/* Without a destination the spool is unused, but a wrong one is
	 * still a wrong setting. */
	if (!c->n_urls && c->spool_dir && check_spool_dir(c->spool_dir, err))
		return -1;
	for (size_t i = 0; i < c->n_urls; i++) {
		struct dest *d = dest_new(c, c->urls[i], facility, "-", 1, err);
		if (!d)
			return -1;
		dest_free(d);
	}
	return 0;
}

int syslog_add_sinks(struct output *o, const struct syslog_config *c, char err[SYSLOG_ERR_LEN])
{
	struct dest *made[SYSLOG_MAX_URLS] = { NULL };
	char host[256];
	size_t n = c->n_urls;
	int facility = facility_of(c, err);

	if (facility < 0 || check_list(c, err))
		return -1;
	if (g_n + n > sizeof(g_dests) / sizeof(g_dests[0])) {
		snprintf(err, SYSLOG_ERR_LEN, "--syslog: at most %d destinations", SYSLOG_MAX_URLS);
		return -1;
	}
	if (c->hostname) {
		snprintf(host, sizeof(host), "%s", c->hostname);
	} else if (gethostname(host, sizeof(host) - 1)) {
		snprintf(host, sizeof(host), "-");
	}
	host[sizeof(host) - 1] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (!(made[i] = dest_new(c, c->urls[i], facility, host, 0, err)))
			goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		if (output_add(o, &syslog_ops, made[i])) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: too many outputs", c->urls[i]);
			/* the ones added are closed by output_free */
			for (size_t j = i; j < n; j++)
				dest_free(made[j]);
			return -1;
		}
		g_dests[g_n++] = made[i];
		struct dest *d = made[i];
		/* The threads start with the asynchronous signals blocked (they
		 * inherit the mask): the process's handlers (SIGTERM, SIGHUP,
		 * SIGUSR1, SIGINT) then run in the main thread only, which must
		 * be the one woken out of poll() or read(), and the only one that
		 * reads the flags they set.  A fault's own signal stays open, for
		 * a sanitizer's or the default action. */
		sigset_t all, old;
		sigfillset(&all);
		sigdelset(&all, SIGSEGV);
		sigdelset(&all, SIGBUS);
		sigdelset(&all, SIGFPE);
		sigdelset(&all, SIGILL);
		sigdelset(&all, SIGABRT);
		sigdelset(&all, SIGTRAP);
		sigdelset(&all, SIGSYS);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		if (d->spool)
			d->spooler_started = !pthread_create(&d->spooler, NULL, spooler_main, d);
		d->sender_started = !pthread_create(&d->sender, NULL, sender_main, d);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (!d->sender_started || (d->spool && !d->spooler_started)) {
			snprintf(err, SYSLOG_ERR_LEN, "--syslog %s: cannot start a thread", c->urls[i]);
			for (size_t j = i + 1; j < n; j++)
				dest_free(made[j]);
			return -1;
		}
	}
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		dest_free(made[i]);
	return -1;
}

/* ---- statistics and the end ---------------------------------------------- */

void syslog_stats_json(struct json_object *into)
{
	if (!g_n)
		return;
	json_object *all = json_object_new_object();
	for (size_t i = 0; i < g_n; i++) {
		struct dest *d = g_dests[i];
		struct spool_stats ss = { 0 };
		if (d->spool)
			spool_get_stats(d->spool, &ss);
		json_object *o = json_object_new_object();
		pthread_mutex_lock(&d->mu);
		json_object_object_add(o, "delivered", json_object_new_uint64(d->delivered));
		json_object_object_add(o, "queued", json_object_new_uint64(d->count));
		json_object_object_add(o, "spooled", json_object_new_uint64(ss.records));
		json_object_object_add(o, "spool_bytes", json_object_new_uint64(ss.bytes));
		json_object_object_add(o, "dropped", json_object_new_uint64(d->dropped));
		json_object_object_add(o, "reconnects", json_object_new_uint64(d->reconnects));
		json_object_object_add(o, "connected", json_object_new_boolean(d->connected));
		json_object_object_add(o, "oversize", json_object_new_uint64(d->oversize));
		json_object_object_add(o, "lost_at_exit", json_object_new_uint64(d->lost_at_exit));
		json_object_object_add(o, "spool_replayed", json_object_new_uint64(ss.at_open));
		json_object_object_add(o, "spool_written", json_object_new_uint64(ss.appended));
		json_object_object_add(o, "spool_corrupt", json_object_new_uint64(ss.corrupt));
		json_object_object_add(o, "spool_corrupt_bytes", json_object_new_uint64(ss.corrupt_bytes));
		json_object_object_add(o, "spool_foreign", json_object_new_uint64(ss.foreign));
		json_object_object_add(o, "spool_head_reset", json_object_new_uint64(ss.head_reset));
		json_object_object_add(o, "spool_errors", json_object_new_uint64(d->spool_errors + ss.io_errors));
		json_object_object_add(o, "last_error", json_object_new_string(d->last_error));
		pthread_mutex_unlock(&d->mu);
		json_object_object_add(all, d->url, o);
	}
	json_object_object_add(into, "syslog", all);
}

static void join_by(pthread_t t, uint64_t deadline, struct dest *d)
{
	uint64_t now = mono_usec();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (deadline > now ? deadline - now : 0) * 1000u;
	ts.tv_sec += (time_t)(ns / 1000000000u);
	ts.tv_nsec = (long)(ns % 1000000000u);
	if (pthread_timedjoin_np(t, NULL, &ts) == 0)
		return;
	/* out of time: interrupt whatever it waits for */
	atomic_store_explicit(&d->abort_io, 1, memory_order_release);
	/* librelp reads relp_stop with plain loads (it is no atomic_int for
	 * its API's sake); an aligned int store is single-copy atomic, and
	 * the builtin keeps the compiler from tearing or dropping it */
	__atomic_store_n(&d->relp_stop, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&d->io_mu);
	if (d->fd >= 0)
		shutdown(d->fd, SHUT_RDWR);
	pthread_mutex_unlock(&d->io_mu);
	pthread_mutex_lock(&d->mu);
	pthread_cond_broadcast(&d->cv_spool);
	pthread_cond_broadcast(&d->cv_send);
	pthread_mutex_unlock(&d->mu);
	pthread_join(t, NULL);
}

static void dest_shutdown(struct dest *d, uint64_t deadline)
{
	if (d->shut)
		return;
	d->shut = 1;
	pthread_mutex_lock(&d->mu);
	d->stopping = d->draining = 1;
	pthread_cond_broadcast(&d->cv_spool);
	pthread_cond_broadcast(&d->cv_send);
	pthread_cond_broadcast(&d->cv_space);
	pthread_mutex_unlock(&d->mu);
	if (d->spooler_started)
		join_by(d->spooler, deadline, d);
	if (d->sender_started)
		join_by(d->sender, deadline, d);
	pthread_mutex_lock(&d->mu);
	d->lost_at_exit = d->count;
	d->dropped += d->count;
	d->connected = 0;
	pthread_mutex_unlock(&d->mu);
	struct spool_stats ss = { 0 };
	if (d->spool)
		spool_get_stats(d->spool, &ss);
	if (ss.records)
		say(d, "%llu records kept in the spool %s: delivered at the next start", (unsigned long long)ss.records,
		    d->spool_path);
	if (d->lost_at_exit)
		say(d, "%llu records not delivered and lost at exit (%s)", (unsigned long long)d->lost_at_exit,
		    d->spool ? "the spool was full" : "no --spool-dir");
}

void syslog_shutdown(void)
{
	uint64_t deadline = mono_usec() + DRAIN_USEC;
	for (size_t i = 0; i < g_n; i++)
		dest_shutdown(g_dests[i], deadline);
}
