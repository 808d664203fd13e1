/*
 * Mapping tables: the .map files of rules/, one row per vendor code:
 *
 *     # protocol   vendor-code   x1367-code   vendor meaning
 *     modbus       02            31           Illegal Data Address
 *     modbus       05            -            Acknowledge (not an error)
 *     modbus       *             FF           Other exception
 *
 * `-` in the X.1367 column means "not an error: no record".  `*` in the
 * vendor column is the row for any code without its own row.  Vendor codes
 * are hex (case-insensitive, stored uppercase) and match exactly: "0002"
 * and "02" are different codes (a vendor code is a byte string).
 *
 * A row may cover many codes of one length, by prefix or by mask:
 *
 *     fins   04**        30   Not executable (any 04xx)
 *     fins   0400/FF00   30   the same row written with a mask
 *
 * `*` stands for one hex digit (any nibble); VALUE/MASK matches a code of
 * the same length whose bits under MASK equal VALUE.  The most specific
 * row wins: an exact row, then the pattern with the most fixed bits, then
 * the "*" row.  Two patterns with as many fixed bits that share a code are
 * refused (which one applies would be arbitrary).  Columns
 * are separated by spaces or tabs; the meaning is the rest of the line,
 * trimmed; '#' at the start of a line or after a blank starts a comment.
 * A bad row stops loading with "file:line: reason"; nothing of that load
 * is kept then (a failed rules_load_* leaves `r` as it was).
 */
#ifndef X1367_RULES_H
#define X1367_RULES_H

#include <stddef.h>
#include <stdio.h>

#define RULES_MAX_ROWS 4096
#define RULES_ERR_LEN 512

struct rule {
	char protocol[32];
	char vendor_code[66];     /* uppercase hex, "*", or VALUE/MASK of a pattern */
	char x1367_code[17];      /* uppercase hex, or "" for "no record" */
	char meaning[128];
	char file[256];           /* where it came from, for messages */
	int line;
	/* A pattern row: the code's bytes under mask[] equal value[]. */
	unsigned char value[16], mask[16];
	unsigned char nbytes;     /* code length; 0 for exact rows and "*" */
	unsigned short bits;      /* fixed bits of a pattern (specificity) */
};

struct rules;

/* Is `name` a protocol the rules may name?  Provided by the caller so the
 * loader stays independent of the registry.  A NULL callback accepts any
 * name. */
typedef int (*rules_protocol_known_fn)(const char *name, void *arg);
/* Told about a table skipped because its protocol is not loaded. */
typedef void (*rules_warn_fn)(const char *msg, void *arg);

struct rules *rules_new(void);
void rules_free(struct rules *r);

/* Load one file.  0 on success; -1 with `err` set to "file:line: reason". */
int rules_load_file(struct rules *r, const char *path, rules_protocol_known_fn known,
		    void *arg, char err[RULES_ERR_LEN]);
/* The same from an open stream; `name` is used in messages and in
 * rule.file.  For tests and the fuzzer (fmemopen). */
int rules_load_stream(struct rules *r, FILE *f, const char *name, rules_protocol_known_fn known,
		      void *arg, char err[RULES_ERR_LEN]);
/* Load every NAME.map file of a directory (not dot files), in strcmp
 * order.  A directory without any is an error. */
int rules_load_dir(struct rules *r, const char *dir, rules_protocol_known_fn known,
		   void *arg, char err[RULES_ERR_LEN]);

/* The row for (protocol, vendor code): its exact row, the most specific
 * pattern row matching it, the protocol's "*" row, or NULL. */
const struct rule *rules_lookup(const struct rules *r, const char *protocol,
				const char *vendor_code);
size_t rules_count(const struct rules *r);
/* 1 when some row names `protocol` (its mapping table is loaded). */
int rules_has_protocol(const struct rules *r, const char *protocol);
/* The table file of the protocol's first row (NULL: none), and in *rows
 * how many rows name it. */
const char *rules_table_of(const struct rules *r, const char *protocol, size_t *rows);

/* ---- The mapping policy: what a reported vendor code becomes ------------
 * The one place that decides whether a vendor error code gives a record
 * and with which X.1367 code; the engine only acts on the verdict:
 *
 *   - its row, or the protocol's "*" row, names a code: that code;
 *   - no row at all (not even "*"), or no vendor code: "FF", and the
 *     protocol's `unmapped_codes` counts it: an error on the wire is
 *     never hidden for want of a row;
 *   - a "-" row (not an error) and the response answers a request seen:
 *     no record, counted as `not_errors` (Modbus 05 Acknowledge: a long
 *     operation was accepted);
 *   - a "-" row and no request seen: it cannot be that benign answer, so
 *     "FF" with a Detail saying why. */
enum rules_outcome {
	RULES_MAPPED,            /* the row's code */
	RULES_UNMAPPED,          /* no row: "FF" (count unmapped_codes) */
	RULES_NOT_ERROR,         /* "-" answering a request: no record (count not_errors) */
	RULES_NOT_ERROR_UNASKED, /* "-" answering no request seen: "FF" with a Detail */
};

struct rules_verdict {
	enum rules_outcome outcome;
	const char *code;        /* X.1367 code of the record; NULL: no record */
	const char *meaning;     /* Description "Vendor Meaning" */
	const char *detail;      /* Description "Detail", or NULL */
	const struct rule *rule; /* the row used, or NULL */
};

/* The verdict for `vendor_code` (may be NULL) of `protocol`;
 * `answers_request` is 1 when the response answers a request seen. */
void rules_map(const struct rules *r, const char *protocol, const char *vendor_code,
	       int answers_request, struct rules_verdict *v);

/* A table all of whose rows name one protocol that is not loaded (a
 * plugin absent or disabled) is skipped: `fn` is told, the rows counted.
 * A table that mixes a known protocol with an unknown one is an error at
 * the unknown row. */
void rules_set_warn(struct rules *r, rules_warn_fn fn, void *arg);
size_t rules_skipped_rows(const struct rules *r);

/* Rows that can never match: a pattern every code of which has a more
 * specific row.  `fn` is told "file:line: ..." for each; returns how
 * many.  (--check-config and the start say so; the table still loads.) */
size_t rules_report_shadowed(const struct rules *r, rules_warn_fn fn, void *arg);

#endif
