/*
 * A disk queue of records for one syslog destination: what the collector
 * has not acknowledged yet.  One writer (append at the tail) and one
 * reader (read from a cursor, commit what was delivered) may work at the
 * same time from two threads.
 *
 * Layout of DIR: segment files "seg-NNNNNNNNNNNN" (exactly 12 digits, 1 to
 * 999999999999; appended in order, a new one at each start and every
 * `segment` bytes), "head" (segment and offset of the first record not yet
 * delivered, and a CRC-32 of both, replaced atomically by rename), and
 * "lock" (flock: one sensor per spool).  Each record:
 *
 *   magic "X1SR" | u32 length | u64 time (usec) | u32 CRC-32 | data
 *
 * (little-endian; the CRC covers the time and the data).
 *
 * Damage never costs more than the damaged bytes.  A record whose magic,
 * length or CRC is wrong (a flipped bit, a torn write at power loss) is
 * skipped: the reader resynchronises on the next offset where a whole record
 * with a valid CRC starts, and counts the bytes and records in between
 * (corrupt, corrupt_bytes; one line on stderr per damaged segment,
 * rate-limited).  A head that is not "SEG OFF[ CRC]" with a valid CRC, that
 * names a segment after the last one or an offset past its end makes the
 * spool deliver every segment from the oldest (duplicates, never loss); a
 * head pointing inside a record resumes at that record's start (head_reset).
 * A file named seg-... that the spool cannot have written (another number of
 * digits, 0, junk, a symlink) is left alone, never read, never a base for new
 * numbers, and reported (foreign).  Segments are unlinked only once the head
 * is past them (everything in them delivered or counted as damaged); a new
 * segment never truncates an existing file.
 *
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
 * wholly before it.  0 or -1 (EINVAL: pos is in no segment of the spool,
 * nothing changed). */
int spool_commit(struct spool *s, struct spool_pos pos);

struct spool_stats {
	uint64_t records;       /* not yet committed */
	uint64_t bytes;         /* size of the segment files */
	uint64_t appended;      /* records written since open */
	uint64_t at_open;       /* records found at open (replayed) */
	uint64_t corrupt;       /* damaged records skipped (a damaged stretch counts
				   the record headers it still shows, at least 1) */
	uint64_t corrupt_bytes; /* bytes skipped with them */
	uint64_t foreign;       /* seg-* files not written by a spool: left alone */
	uint64_t head_reset;    /* head file invalid or not at a record: reset */
	uint64_t io_errors;
};
#define SPOOL_HAS_DAMAGE_COUNTERS 1
void spool_get_stats(struct spool *s, struct spool_stats *st);

void spool_close(struct spool *s);

/* CRC-32 (IEEE 802.3, as zlib's crc32), exposed for the tests. */
uint32_t spool_crc32(uint32_t crc, const void *data, size_t len);

#endif
