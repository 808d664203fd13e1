/* The Annex A table of X.1367 standard error codes.  This is the one
 * place in the project that holds it (x1367_codes.c). */
#ifndef X1367_CODES_H
#define X1367_CODES_H

#include <stddef.h>

/* Message for a standard code written as uppercase hex ("30", "2E01").
 * Known codes give their Annex A message; an "Extended Reasons" code
 * (1E/2E/3E/4E followed by more hex digits) gives the prefix's message;
 * private codes E0-EF give "Private Reason".  NULL when the code is not
 * valid (bad hex, lowercase, reserved 50-DF, odd length, ...). */
const char *x1367_code_message(const char *code);

/* 1 when `code` is a valid code to put in a record, else 0. */
int x1367_code_valid(const char *code);

/* Syslog-friendly class of a code: "no error", "communication",
 * "security", "command", "device", "private", "other".  Never NULL: an
 * invalid code is "other" (check x1367_code_valid first). */
const char *x1367_code_class(const char *code);

/* Row i of the table as `x1367ids --list-codes` prints it: code, Annex A
 * message and class (x1367_code_class).  The private codes are one row,
 * "E0-EF".  1 while i is a row, 0 past the end. */
int x1367_code_row(size_t i, const char **code, const char **message, const char **cls);

#endif
