/*
 * Is a line one valid X.1367 record?  Exactly the keys Timestamp,
 * Reporter, Protocol, Requester, Responder, Error Code, Error Message,
 * Description, in that order, with the Recommendation's patterns, an
 * Annex A code with its own message, and the IDS marker in Description.
 * Shared by x1367ids-validate and any tool that reads records (a report
 * must not count what a validator would refuse).
 */
#ifndef X1367_RECORD_CHECK_H
#define X1367_RECORD_CHECK_H

#include <stddef.h>

#define RECORD_CHECK_REASON_LEN 512
/* A record is a few KiB; longer lines are refused without parsing. */
#define RECORD_CHECK_LINE_LIMIT (16u << 20)

/* The compiled patterns. */
struct record_checker;

/* NULL when out of memory (or a pattern does not compile: a bug). */
struct record_checker *record_checker_new(void);
void record_checker_free(struct record_checker *rc);

/* `line` without its newline.  0 when it is one valid record; -1 with the
 * first reason it is not in `why` ("Timestamp ... does not match ..."). */
int record_check_line(const struct record_checker *rc, const char *line, size_t len,
		      char why[RECORD_CHECK_REASON_LEN]);

#endif
