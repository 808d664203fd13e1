/* Per-protocol and per-code counters of the engine, and the statistics
 * line written at the end of a run. */
#ifndef X1367_STATS_H
#define X1367_STATS_H

#include <stdint.h>
#include <stdio.h>

#define STATS_MAX_EVENTS 32
#define STATS_MAX_CODES 64

struct named_count {
	char name[48];
	uint64_t count;
};

/* Counts by name, bounded: names past the bound go to `other`. */
struct name_counter {
	struct named_count e[STATS_MAX_EVENTS];
	size_t n;
	uint64_t other;
};

struct proto_stats {
	uint64_t flows;
	uint64_t records;
	uint64_t parse_errors;       /* parser returned "malformed" */
	uint64_t not_errors;         /* vendor code mapped to "-": no record */
	uint64_t unmapped;           /* no rule: reported as FF */
	uint64_t responses_without_request;
	uint64_t unsolicited_reports; /* reports flagged X1367_REPORT_UNSOLICITED */
	uint64_t bytes_skipped;      /* dropped to resynchronise */
	uint64_t reports_rejected;   /* api->report with NULL or a struct too small */
	struct name_counter events;
};

struct code_counter {
	struct named_count e[STATS_MAX_CODES];
	size_t n;
	uint64_t other;
};

void name_counter_add(struct name_counter *c, const char *name);
uint64_t name_counter_get(const struct name_counter *c, const char *name);
void code_counter_add(struct code_counter *c, const char *code);

/* Peak resident memory of this process, in KiB. */
long stats_peak_rss_kb(void);

#endif
