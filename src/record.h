/*
 * The X.1367 record builder (json-c).  Keys in the Recommendation's order:
 * Timestamp, Reporter, Protocol, Requester, Responder, Error Code,
 * Error Message, Description.
 */
#ifndef X1367_RECORD_H
#define X1367_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

struct record_party {
	int present;                 /* 0: the party is {} (Appendix I.3) */
	const char *unique_id;
	const uint8_t *code;         /* Transmitted Code bytes, may be NULL */
	size_t code_len;             /* bytes available in `code` */
	size_t wire_len;             /* length on the wire (>= code_len) */
};

struct record_input {
	uint64_t ts_usec;
	const char *reporter_ip;     /* already in the Recommendation's form */
	const char *protocol;
	struct record_party requester, responder;
	const char *error_code;      /* valid X.1367 code */
	const char *error_message;
	const struct x1367_kv *desc; /* Description, after "Status" */
	size_t n_desc;
	size_t max_code_bytes;       /* cap on each Transmitted Code (bytes) */
};

#define RECORD_STATUS_IDS "This message was sent from IDS not IoTGW"

/* The record as one line of JSON (no newline), malloc'ed; NULL on
 * allocation failure.  Transmitted Codes longer than max_code_bytes are
 * cut, and Description says so ("Requester Code Truncated": "N of M bytes"). */
char *record_build(const struct record_input *in);

/* "2018-08-28T09:34:55.000000Z" */
void record_format_time(uint64_t ts_usec, char buf[32]);

#endif
