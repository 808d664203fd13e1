/*
 * The statistics for Prometheus (--metrics-listen ADDR:PORT), served by
 * libmicrohttpd in the Prometheus text exposition format (version 0.0.4).
 *
 * The packet thread never waits for the server: once a second (and soon
 * after a scrape asks) the live loop renders the statistics it already
 * gathers for the statistics line into text and hands it over through one
 * atomic pointer (metrics_publish); the server's single thread serves the
 * last text handed over.  No lock is shared with the packet path.
 */
#ifndef X1367_METRICS_H
#define X1367_METRICS_H

#include <stddef.h>

#define METRICS_ERR_LEN 256
#define METRICS_DEFAULT_ADDR "127.0.0.1"

struct json_object;
struct metrics;

/* Check "ADDR:PORT", "[IPv6]:PORT" or "PORT" (loopback); 0 or -1 with err. */
int metrics_check_listen(const char *spec, char err[METRICS_ERR_LEN]);
/* Bind and listen (before dropping root: a port below 1024 works); no
 * thread yet.  NULL with err. */
struct metrics *metrics_bind(const char *spec, char err[METRICS_ERR_LEN]);
/* The port bound (useful with port 0). */
unsigned metrics_port(const struct metrics *m);
/* Start serving (after daemon_detach(): threads do not survive fork). */
int metrics_start(struct metrics *m, char err[METRICS_ERR_LEN]);
/* Hand over a new exposition text (malloc'ed; the server owns it now). */
void metrics_publish(struct metrics *m, char *text);
void metrics_stop(struct metrics *m);

/* The statistics object (engine_stats_json() plus the live loop's capture
 * and syslog parts) as exposition text, malloc'ed; NULL on no memory. */
char *metrics_render(struct json_object *stats);

#endif
