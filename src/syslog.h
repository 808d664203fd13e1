/*
 * Records to syslog collectors (RFC 5424): one sink per --syslog URL.
 *
 *   udp://HOST[:514]    RFC 5426, one datagram per record
 *   tcp://HOST[:514]    RFC 6587 octet counting
 *   tls://HOST[:6514]   RFC 5425, GnuTLS: the collector's certificate is
 *                       verified against ca_file and its name against HOST
 *   relp://HOST[:2514]  RELP (librelp): the collector acknowledges each one
 *
 * The packet path only copies the record into a bounded in-memory queue.
 * Per destination a writer thread moves queued records to the spool (a
 * disk queue, spool.h) and a sender thread delivers from the spool; a
 * record leaves the spool when it is delivered (RELP: acknowledged).
 * Without spool_dir the sender delivers from the memory queue.  When the
 * queue is full (the spool at its cap, or no spool), the newest record is
 * dropped and counted, or with block_when_full the packet thread waits.
 * docs/SYSLOG.md has the details and the collector's configuration.
 */
#ifndef X1367_SYSLOG_H
#define X1367_SYSLOG_H

#include <stddef.h>
#include <stdint.h>
#include "output.h"

#define SYSLOG_MAX_URLS 8
#define SYSLOG_ERR_LEN 512

struct syslog_config {
	const char *urls[SYSLOG_MAX_URLS];
	size_t n_urls;
	const char *facility;        /* NULL: "local0" */
	const char *ca_file, *cert_file, *key_file;   /* tls:// */
	const char *spool_dir;       /* NULL: memory only */
	size_t queue_records;        /* 0: 10000 */
	uint64_t spool_max_bytes;    /* 0: 256 MiB */
	int block_when_full;         /* 0: drop the newest record (counted) */
	const char *hostname;        /* NULL: gethostname() */
};

struct json_object;

/* Parses and checks every URL (and the TLS files), opens each
 * destination's spool, and adds one sink per URL to o; each starts its
 * threads, which deliver what the spool kept from an earlier run first.
 * 0, or -1 with a one-line reason (exit 2).  Threads do not survive
 * fork(): call it after daemonizing. */
int syslog_add_sinks(struct output *o, const struct syslog_config *c, char err[SYSLOG_ERR_LEN]);

/* Every check syslog_add_sinks() makes (facility, URLs, TLS files and
 * credentials, the spool directory), opening nothing: --check-config and
 * the run's configuration step share it.  0, or -1 with the same one-line
 * reason syslog_add_sinks() would give. */
int syslog_check_config(const struct syslog_config *c, char err[SYSLOG_ERR_LEN]);

/* Adds "syslog": {"<url>": {"delivered", "queued", "spooled", "spool_bytes",
 * "dropped", "reconnects", "connected", ...}} to a statistics object. */
void syslog_stats_json(struct json_object *into);

/* Before exit: waits up to 5 s for the queues to reach the collectors,
 * keeps the rest in the spool, stops the threads.  Safe to call twice, or
 * with no destination. */
void syslog_shutdown(void);

#endif
