/*
 * A disk queue of records for one syslog destination: what the collector
 * has not acknowledged yet.  One writer (append at the tail) and one
 * reader (read from a cursor, commit what was delivered) may work at the
 * same time from two threads.
 *
 * Layout of DIR: segment files "seg-NNNNNNNNNNNN" (appended in order, a
 * new one at each start and every `segment` bytes), "head" (segment and
 * offset of the first record not yet delivered, replaced atomically by
 * rename), and "lock" (flock: one sensor per spool).  Each record:
 *
 *   magic "X1SR" | u32 length | u64 time (usec) | u32 CRC-32 | data
 *
 * (little-endian; the CRC covers the time and the data).  A record whose
 * magic, length or CRC is wrong (a torn write at power loss, a damaged
 * disk) ends its segment: the reader skips to the next one and counts it.
 * Nothing is fsync'ed: records survive the sensor being killed (the page
 * cache keeps them), not the machine losing power within the kernel's
 * writeback delay.
 */
#ifndef X1367_SPOOL_H
#define X1367_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_ERR_LEN 512

struct spool;

struct spool_pos {
	uint64_t seg;
	uint64_t off;
	uint64_t n;             /* records before it (this process's count) */
};

struct spool_rec {
	char *data;             /* malloc'ed, NUL-terminated */
	size_t len;
	uint64_t ts_usec;
	struct spool_pos end;   /* position after this record: commit it */
};

/* Opens (creating) DIR; refuses a spool another process holds.  max_bytes
 * caps the segment files' total size.  NULL with a one-line reason. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char err[SPOOL_ERR_LEN]);

/* Appends one record: 0, -1 with errno (ENOSPC: the cap is reached). */
int spool_append(struct spool *s, uint64_t ts_usec, const char *data, size_t len);

/* The record at the read cursor, which then moves past it: 1, 0 when
 * there is none (yet), -1 on an I/O error. */
int spool_read(struct spool *s, struct spool_rec *r);

/* Read cursor back to the first record not committed (resend after a
 * connection was lost). */
void spool_rewind(struct spool *s);

/* Everything before pos was delivered: persist it, remove the segments
 * wholly before it.  0 or -1. */
int spool_commit(struct spool *s, struct spool_pos pos);

struct spool_stats {
	uint64_t records;       /* not yet committed */
	uint64_t bytes;         /* size of the segment files */
	uint64_t appended;      /* records written since open */
	uint64_t at_open;       /* records found at open (replayed) */
	uint64_t corrupt;       /* damaged records skipped */
	uint64_t io_errors;
};
void spool_get_stats(struct spool *s, struct spool_stats *st);

void spool_close(struct spool *s);

/* CRC-32 (IEEE 802.3, as zlib's crc32), exposed for the tests. */
uint32_t spool_crc32(uint32_t crc, const void *data, size_t len);

#endif
