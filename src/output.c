/* Record outputs: sinks behind one interface.  See output.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fileio.h"
#include "output.h"

struct sink {
	const struct sink_ops *ops;
	void *self;
};

struct output {
	struct sink sinks[OUTPUT_MAX_SINKS];
	size_t n;
	struct output_stats stats;
};

struct output *output_new(void)
{
	return calloc(1, sizeof(struct output));
}

int output_add(struct output *o, const struct sink_ops *ops, void *self)
{
	if (o->n >= OUTPUT_MAX_SINKS)
		return -1;
	o->sinks[o->n].ops = ops;
	o->sinks[o->n].self = self;
	o->n++;
	return 0;
}

/* ---- JSON Lines on a stream or a file ----------------------------------- */

struct file_sink {
	FILE *fp;
	int owned;               /* 0: a stream we do not own (stdout) */
	struct fileio_out loc;   /* the file's directory, kept open, and name */
};

/* Why the last file open or reopen failed (one line, for main.c). */
static char last_error[FILEIO_ERR_LEN];

const char *output_last_error(void)
{
	return last_error;
}

static int file_write(void *self, const char *line, size_t len)
{
	struct file_sink *s = self;
	if (fwrite(line, 1, len, s->fp) != len || putc('\n', s->fp) == EOF)
		return -1;
	return 0;
}

static int file_flush(void *self)
{
	struct file_sink *s = self;
	return fflush(s->fp) == 0 ? 0 : -1;
}

/* logrotate moved the file away: write to a new one of the same name, in
 * the directory opened at start (the same one after a chroot), with the
 * checks of the first open: no link followed, a regular file of its own.
 * The first open was made with the rights of the user the sensor runs as
 * after dropping root (main.c), so this one, made as that user, has the
 * same rights: a file that could be opened at start can be reopened. */
static int file_reopen(void *self)
{
	struct file_sink *s = self;
	if (!s->owned)
		return fflush(s->fp);
	FILE *fp = fileio_out_append(&s->loc, last_error);
	if (!fp)
		return -1;
	fclose(s->fp);
	s->fp = fp;
	return 0;
}

static void file_close(void *self)
{
	struct file_sink *s = self;
	if (s->owned) {
		fclose(s->fp);
		fileio_out_free(&s->loc);
	} else {
		fflush(s->fp);
	}
	free(s);
}

static const struct sink_ops file_ops = {
	.kind = "file",
	.write = file_write,
	.flush = file_flush,
	.reopen = file_reopen,
	.close = file_close,
};

int output_add_stream(struct output *o, void *file)
{
	struct file_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->fp = file;
	if (output_add(o, &file_ops, s)) {
		free(s);
		return -1;
	}
	return 0;
}

int output_add_file(struct output *o, const char *path, gid_t own_gid)
{
	struct file_sink *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(last_error, sizeof(last_error), "%.400s: out of memory", path);
		return -1;
	}
	s->owned = 1;
	if (fileio_out_init(&s->loc, path, own_gid, last_error) || !(s->fp = fileio_out_append(&s->loc, last_error)) ||
	    output_add(o, &file_ops, s)) {
		if (s->fp) {
			snprintf(last_error, sizeof(last_error), "%.400s: too many outputs", path);
			fclose(s->fp);
		}
		fileio_out_free(&s->loc);
		free(s);
		return -1;
	}
	return 0;
}

/* ---- callback (tests, fuzzing) ------------------------------------------ */

struct cb_sink {
	void (*fn)(const char *line, size_t len, void *arg);
	void *arg;
};

static int cb_write(void *self, const char *line, size_t len)
{
	struct cb_sink *s = self;
	s->fn(line, len, s->arg);
	return 0;
}

static void cb_close(void *self)
{
	free(self);
}

static const struct sink_ops cb_ops = {
	.kind = "callback",
	.write = cb_write,
	.close = cb_close,
};

int output_add_callback(struct output *o, void (*fn)(const char *line, size_t len, void *arg), void *arg)
{
	struct cb_sink *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->fn = fn;
	s->arg = arg;
	if (output_add(o, &cb_ops, s)) {
		free(s);
		return -1;
	}
	return 0;
}

/* ---- the fan-out --------------------------------------------------------- */

int output_write(struct output *o, const char *line, size_t len)
{
	int rc = 0;
	for (size_t i = 0; i < o->n; i++) {
		if (o->sinks[i].ops->write(o->sinks[i].self, line, len)) {
			o->stats.write_errors++;
			rc = -1;
		}
	}
	if (!rc)
		o->stats.written++;
	return rc;
}

static int for_each(struct output *o, size_t op)
{
	int rc = 0;
	for (size_t i = 0; i < o->n; i++) {
		const struct sink_ops *ops = o->sinks[i].ops;
		int (*fn)(void *) = op ? ops->reopen : ops->flush;
		if (fn && fn(o->sinks[i].self))
			rc = -1;
	}
	return rc;
}

int output_flush(struct output *o)
{
	return for_each(o, 0);
}

int output_reopen(struct output *o)
{
	return for_each(o, 1);
}

const struct output_stats *output_stats(const struct output *o)
{
	return &o->stats;
}

void output_free(struct output *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		if (o->sinks[i].ops->close)
			o->sinks[i].ops->close(o->sinks[i].self);
	free(o);
}
