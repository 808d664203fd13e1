/*
 * Record outputs.  A sink is {write, flush, reopen, close}; the engine
 * writes each record (one JSON line) to every sink.  stdout and files
 * (JSON Lines) are sinks here; each syslog destination is one more sink
 * behind the same interface (syslog.c, syslog_add_sinks).
 */
#ifndef X1367_OUTPUT_H
#define X1367_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sink_ops {
	const char *kind;
	/* One record, without newline.  0 ok, -1 failed (counted). */
	int (*write)(void *self, const char *line, size_t len);
	int (*flush)(void *self);
	int (*reopen)(void *self);          /* SIGHUP: logrotate */
	void (*close)(void *self);
};

struct output_stats {
	uint64_t written;
	uint64_t write_errors;
};

#define OUTPUT_MAX_SINKS 16

struct output;

struct output *output_new(void);
/* Adds a sink; 0 or -1 (too many). */
int output_add(struct output *o, const struct sink_ops *ops, void *self);
/* JSON Lines to a stream the caller owns (stdout). */
int output_add_stream(struct output *o, void *file /* FILE * */);
/* JSON Lines appended to a file, opened as fileio.h says for outputs (no
 * symbolic link, a regular file of its own, a directory no stranger may
 * write: own_gid is the sensor's group); reopen opens the name again in
 * the same directory.  -1 with output_last_error() set. */
int output_add_file(struct output *o, const char *path, gid_t own_gid);
/* The one-line reason the last file open or reopen failed. */
const char *output_last_error(void);
/* Each record handed to a callback (tests, fuzzing). */
int output_add_callback(struct output *o, void (*fn)(const char *line, size_t len, void *arg), void *arg);
int output_write(struct output *o, const char *line, size_t len);
int output_flush(struct output *o);
int output_reopen(struct output *o);
const struct output_stats *output_stats(const struct output *o);
void output_free(struct output *o);

#endif
