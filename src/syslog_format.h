/*
 * RFC 5424 messages for X.1367 records: pure functions, no I/O.
 *
 *   <PRI>1 TIMESTAMP HOSTNAME x1367ids PROCID X1367 [x1367@32473 ...] JSON
 *
 * The SD-ID is "x1367@32473": RFC 5424 requires name@PEN for a private
 * SD-ID, and this project has no registered Private Enterprise Number, so
 * it uses 32473, the PEN that RFC 5612 reserves for documentation.  A site
 * with its own PEN changes SYSLOG_SD_ID.
 */
#ifndef X1367_SYSLOG_FORMAT_H
#define X1367_SYSLOG_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define SYSLOG_SD_ID "x1367@32473"
#define SYSLOG_APP_NAME "x1367ids"
#define SYSLOG_MSGID "X1367"
/* Longest SD-PARAM value we write (bytes, before escaping); longer values
 * are cut and end with "...". */
#define SYSLOG_SD_VALUE_MAX 255

/* Facility number 0-23 for "local0", "daemon", "auth", ... or "0".."23";
 * -1 when unknown. */
int syslog_facility_parse(const char *name);

/* Severity (RFC 5424 numbers) for an X.1367 error code, by its class
 * (x1367_code_class):
 *   0x no error        -> 6 informational
 *   1x communication   -> 4 warning
 *   2x security        -> 3 error   (authentication, certificates, ...)
 *   3x command         -> 5 notice  (what a scan produces, one per probe)
 *   4x device          -> 3 error
 *   E0-EF private, FF, anything not a valid code -> 4 warning */
int syslog_severity_for_code(const char *code);

/* PRI value: facility * 8 + severity. */
int syslog_pri(int facility, int severity);

/* What the structured data carries, read from the record's JSON. */
struct syslog_fields {
	char code[17];          /* "Error Code" */
	char protocol[SYSLOG_SD_VALUE_MAX + 1];
	char requester[SYSLOG_SD_VALUE_MAX + 1];   /* Requester "Unique ID" */
	char responder[SYSLOG_SD_VALUE_MAX + 1];   /* Responder "Unique ID" */
	char sequence[21];      /* Description "Sequence" (decimal) */
	char reporter[64];      /* Reporter "IP Address" */
};

/* Parses one record (json-c).  0, or -1 when it is not a JSON object
 * (the fields are then empty and the code is "FF"). */
int syslog_record_fields(const char *json, size_t len, struct syslog_fields *f);

/* SD-PARAM value escaping (RFC 5424 6.3.3): '"', '\' and ']' get a
 * backslash; bytes outside printable ASCII (controls, DEL, 8-bit) become
 * '?', so a value never holds CR, LF or NUL.  At most SYSLOG_SD_VALUE_MAX
 * input bytes are used.  Writes a NUL-terminated string into out (cap
 * must be at least 2 * SYSLOG_SD_VALUE_MAX + 4); returns its length. */
size_t syslog_sd_escape(const char *in, char *out, size_t cap);

/* HOSTNAME field: printable ASCII without spaces, 1..255 bytes ("-" for
 * an empty name); others become '_'. */
void syslog_hostname(const char *in, char out[256]);

/* RFC 3339 timestamp with microseconds, UTC: "2024-01-15T09:00:00.020500Z". */
void syslog_timestamp(uint64_t usec, char out[32]);

struct syslog_header {
	int facility;
	const char *hostname;   /* already passed through syslog_hostname */
	long procid;
};

/* The whole RFC 5424 message for one record, malloc'ed and NUL-terminated,
 * length in *out_len; NULL on allocation failure.  Any CR, LF or NUL in
 * the JSON (json-c never writes them raw) becomes a space, so one record
 * is always one line and one frame. */
char *syslog_format(const struct syslog_header *h, uint64_t ts_usec, const char *json, size_t len,
		    size_t *out_len);

/* RFC 6587 octet counting: writes "LEN " for a message of len bytes into
 * buf; returns the prefix length. */
size_t syslog_octet_prefix(size_t len, char buf[24]);

/* RFC 5426: the longest message one UDP datagram carries over IPv4. */
#define SYSLOG_UDP_MAX 65507

#endif
