/*
 * x1367ids-validate: check JSON Lines of X.1367 records (src/record_check.c).
 *
 *   x1367ids-validate [--min N] [FILE...]      (no FILE, or "-": standard input)
 *
 * Output: "x1367ids-validate: FILE:LINE: reason" on standard output for
 * each invalid line; at the end "N records valid" (or "M of N records
 * invalid") on standard error.  Exit 0 when every line is valid (an empty
 * input is: 0 records) and there are at least --min records, 1 otherwise,
 * 2 on usage or I/O errors.  The messages carry the name the program was
 * run by: the test suite's copy is tests/tools/x1367-validate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_check.h"

static const char *prog = "x1367ids-validate";

struct counts {
	unsigned long records, bad;
};

/* 0 when read to the end, -1 on a read error. */
static int validate_stream(const struct record_checker *rc, FILE *f, const char *name, struct counts *c)
{
	char *line = NULL, why[RECORD_CHECK_REASON_LEN];
	size_t cap = 0;
	unsigned long lineno = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			len--;
		c->records++;
		if (record_check_line(rc, line, len, why) != 0) {
			printf("%s: %s:%lu: %s\n", prog, name, lineno, why);
			c->bad++;
		}
	}
	free(line);
	if (ferror(f)) {
		fprintf(stderr, "%s: %s: %s\n", prog, name, strerror(errno));
		return -1;
	}
	return 0;
}

static int validate_file(const struct record_checker *rc, const char *path, struct counts *c)
{
	FILE *f;
	int r;

	if (!strcmp(path, "-"))
		return validate_stream(rc, stdin, "<stdin>", c);
	if (!(f = fopen(path, "r"))) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return -1;
	}
	r = validate_stream(rc, f, path, c);
	fclose(f);
	return r;
}

static void usage(FILE *fp)
{
	fprintf(fp, "usage: %s [--min N] [FILE...]\n"
		    "Check that each line of FILE (default: standard input) is one valid ITU-T X.1367\n"
		    "record; print FILE:LINE: reason for each that is not.  Exit 0 all valid (and at\n"
		    "least N records), 1 some invalid, 2 usage or I/O error.\n", prog);
}

/* Parse options; returns the index of the first file, -1 on a usage
 * error, -2 for --help. */
static int parse_args(int argc, char **argv, unsigned long *min)
{
	int i = 1;

	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")))
		return -2;
	while (i < argc && strcmp(argv[i], "--min") == 0) {
		char *end;

		if (i + 1 >= argc || argv[i + 1][0] < '0' || argv[i + 1][0] > '9')
			return -1;
		errno = 0;
		*min = strtoul(argv[i + 1], &end, 10);
		if (*end || errno)
			return -1;
		i += 2;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		return i + 1;
	if (i < argc && argv[i][0] == '-' && argv[i][1] != '\0')
		return -1;   /* unknown option ("-" alone is standard input) */
	return i;
}

static int report(const struct counts *c, unsigned long min)
{
	if (c->bad) {
		fprintf(stderr, "%s: %lu of %lu records invalid\n", prog, c->bad, c->records);
		return 1;
	}
	if (c->records < min) {
		fprintf(stderr, "%s: %lu records, expected at least %lu\n", prog, c->records, min);
		return 1;
	}
	fprintf(stderr, "%lu records valid\n", c->records);
	return 0;
}

int main(int argc, char **argv)
{
	struct counts c = { 0, 0 };
	struct record_checker *rc;
	unsigned long min = 0;
	int first, io = 0, i;
	const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;

	if (argc > 0 && argv[0][0])
		prog = slash ? slash + 1 : argv[0];
	first = parse_args(argc, argv, &min);
	if (first == -2) {
		usage(stdout);
		return 0;
	}
	if (first < 0) {
		usage(stderr);
		return 2;
	}
	if (!(rc = record_checker_new())) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 2;
	}
	if (first >= argc)
		io |= validate_stream(rc, stdin, "<stdin>", &c);
	for (i = first; i < argc; i++)
		io |= validate_file(rc, argv[i], &c);
	record_checker_free(rc);
	i = report(&c, min);
	return io ? 2 : i;
}
