/* The disk queue of one syslog destination.  See spool.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "spool.h"

#define REC_MAGIC 0x52533158u   /* "X1SR" little-endian */
#define REC_HDR 20
#define REC_MAX (16u << 20)     /* a record longer than this is damage */
#define SEG_DIGITS 12
#define SEG_MAX 999999999999ull  /* the largest number a segment name holds */
#define SCAN_CHUNK 16384
#define RESYNC_BUDGET (64u << 20) /* bytes checksummed looking for the next record */
#define CACHE (256u << 10)       /* read-ahead of the reader and the check at start */
#define LOG_BURST 10             /* damage lines on stderr per LOG_WINDOW */
#define LOG_WINDOW_USEC 60000000u

struct seg {
	uint64_t no;
	uint64_t size;
};

struct spool {
	char *dir;
	int dirfd, lockfd;
	pthread_mutex_t mu;
	uint64_t max_bytes, seg_size;
	struct seg *segs;        /* sorted, oldest first */
	size_t nseg, capseg;
	uint64_t total_bytes;
	/* tail (writer) */
	int wfd;
	uint64_t wseg, woff;
	/* reader */
	int rfd;
	uint64_t rfd_seg;
	struct spool_pos rd, head;        /* .n: record ordinals */
	uint64_t total_n;
	struct spool_stats st;
	/* damage before (dmg_seg, dmg_off) is counted already (a rewind reads
	 * it again); logged_seg: the last segment whose damage was reported */
	uint64_t dmg_seg, dmg_off, logged_seg;
	uint64_t crc_work;                /* bytes checksummed (resync budget) */
	/* bytes of segment cseg from coff, read ahead (only below the limit
	 * of the time: bytes there never change) */
	unsigned char *cbuf;
	uint64_t cseg, coff;
	size_t clen;
};

/* ---- reporting ----------------------------------------------------------- */

/* One line on stderr, at most LOG_BURST per LOG_WINDOW_USEC in the process
 * (a disk full of damage must not flood the log); what is held back is
 * said with the next line that passes. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t log_window, log_suppressed;
static unsigned log_lines;

__attribute__((format(printf, 2, 3))) static void say(const struct spool *s, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	pthread_mutex_lock(&log_mu);
	if (!log_lines || now - log_window >= LOG_WINDOW_USEC) {
		log_window = now;
		log_lines = 0;
	}
	if (log_lines >= LOG_BURST) {
		log_suppressed++;
		pthread_mutex_unlock(&log_mu);
		return;
	}
	log_lines++;
	uint64_t held = log_suppressed;
	log_suppressed = 0;
	pthread_mutex_unlock(&log_mu);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (held)
		fprintf(stderr, "x1367ids: spool: %" PRIu64 " more lines about spool damage were held back\n", held);
	fprintf(stderr, "x1367ids: spool %s: %s\n", s->dir, msg);
}

/* ---- CRC-32 -------------------------------------------------------------- */

/* Slicing by 8: eight bytes per step (a full spool is checked at start). */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (uint32_t i = 0; i < 256; i++)
			crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xff];
}

uint32_t spool_crc32(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^ crc_table[5][(a >> 16) & 0xff] ^
		      crc_table[4][a >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		      crc_table[0][p[7]];
	}
	while (len--)
		crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint32_t rec_crc(uint64_t ts, const char *data, size_t len)
{
	unsigned char t[8];
	put64(t, ts);
	return spool_crc32(spool_crc32(0, t, 8), data, len);
}

/* ---- records ------------------------------------------------------------- */

/* pread of len bytes at off of segment no (open as fd), all below limit,
 * through the read-ahead: a run of small records costs one system call
 * per CACHE bytes, not two per record. */
static ssize_t seg_pread(struct spool *s, int fd, uint64_t no, void *dst, size_t len, uint64_t off, uint64_t limit)
{
	if (!s->cbuf || len > CACHE / 4)
		return pread(fd, dst, len, (off_t)off);
	if (s->cseg != no || off < s->coff || off - s->coff > s->clen || s->clen - (off - s->coff) < len) {
		size_t want = limit - off < CACHE ? (size_t)(limit - off) : CACHE;
		ssize_t n = pread(fd, s->cbuf, want, (off_t)off);
		s->clen = 0;
		if (n < 0)
			return -1;
		s->cseg = no;
		s->coff = off;
		s->clen = (size_t)n;
		if ((size_t)n < len) {
			memcpy(dst, s->cbuf, (size_t)n);
			return n;
		}
	}
	memcpy(dst, s->cbuf + (off - s->coff), len);
	return (ssize_t)len;
}

static void cache_drop(struct spool *s, uint64_t no)
{
	if (s->cseg == no)
		s->clen = 0;
}

/* Whether a whole record with a valid CRC starts at off of fd, whose
 * readable bytes end at limit: 1 (its header in h; with data, its bytes
 * malloc'ed and NUL-terminated in *data), 0 no, -1 an I/O error or no
 * memory. */
static int rec_at(struct spool *s, int fd, uint64_t no, uint64_t off, uint64_t limit, unsigned char h[REC_HDR],
		  char **data)
{
	if (off > limit || limit - off < REC_HDR)
		return 0;
	ssize_t n = seg_pread(s, fd, no, h, REC_HDR, off, limit);
	if (n != REC_HDR)
		return n < 0 ? -1 : 0;
	uint32_t len = get32(h + 4);
	if (get32(h) != REC_MAGIC || len > REC_MAX || limit - off - REC_HDR < len)
		return 0;
	uint32_t crc = spool_crc32(0, h + 8, 8);
	uint64_t p = off + REC_HDR;
	s->crc_work += len;
	if (data) {
		char *buf = malloc((size_t)len + 1);
		if (!buf)
			return -1;
		n = seg_pread(s, fd, no, buf, len, p, limit);
		if (n != (ssize_t)len || spool_crc32(crc, buf, len) != get32(h + 16)) {
			free(buf);
			return n < 0 ? -1 : 0;
		}
		buf[len] = '\0';
		*data = buf;
		return 1;
	}
	unsigned char chunk[SCAN_CHUNK];
	for (uint32_t left = len; left;) {
		size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
		n = seg_pread(s, fd, no, chunk, k, p, limit);
		if (n != (ssize_t)k)
			return n < 0 ? -1 : 0;
		crc = spool_crc32(crc, chunk, k);
		p += k;
		left -= (uint32_t)k;
	}
	return crc == get32(h + 16);
}

/* No record at off: *next is the next offset where a whole record with a
 * valid CRC starts (looking for its magic), else limit (none, or
 * RESYNC_BUDGET bytes checksummed in vain: a file built to make the search
 * quadratic costs its segment's rest, not the sensor's time).  0 or -1. */
static int resync(struct spool *s, int fd, uint64_t no, uint64_t off, uint64_t limit, uint64_t *next)
{
	unsigned char buf[SCAN_CHUNK], h[REC_HDR];
	uint64_t budget_end = s->crc_work + RESYNC_BUDGET;

	*next = limit;
	for (uint64_t p = off + 1; p < limit && limit - p >= REC_HDR;) {
		size_t want = limit - p < sizeof(buf) ? (size_t)(limit - p) : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)p);
		if (n < 0)
			return -1;
		if (n < 4)
			return 0;
		const unsigned char *q = buf;
		while ((q = memmem(q, (size_t)n - (size_t)(q - buf), "X1SR", 4))) {
			int rc = rec_at(s, fd, no, p + (uint64_t)(q - buf), limit, h, NULL);
			if (rc < 0)
				return -1;
			if (rc) {
				*next = p + (uint64_t)(q - buf);
				return 0;
			}
			if (s->crc_work > budget_end)
				return 0;
			q++;
		}
		p += (uint64_t)n - 3;   /* a magic across the chunks' border */
	}
	return 0;
}

/* How many records a damaged stretch [from, to) held, as far as its
 * headers still tell (at least one). */
static uint64_t stretch_records(int fd, uint64_t from, uint64_t to)
{
	uint64_t n = 0;
	unsigned char h[8];
	while (from < to) {
		n++;
		if (to - from < REC_HDR || pread(fd, h, 8, (off_t)from) != 8 || get32(h) != REC_MAGIC ||
		    get32(h + 4) > to - from - REC_HDR)
			break;
		from += REC_HDR + get32(h + 4);
	}
	return n;
}

/* Counts the damaged stretch [from, to) of segment no, unless it was
 * counted before (a rewind, or the scan at open, saw it already): the
 * records it held, 0 when it was counted before. */
static uint64_t count_damage(struct spool *s, int fd, uint64_t no, uint64_t from, uint64_t to)
{
	if (no < s->dmg_seg || (no == s->dmg_seg && from < s->dmg_off))
		return 0;
	uint64_t recs = stretch_records(fd, from, to);
	s->st.corrupt += recs;
	s->st.corrupt_bytes += to - from;
	s->dmg_seg = no;
	s->dmg_off = to;
	return recs;
}

/* ---- segments ------------------------------------------------------------ */

static void seg_name(uint64_t no, char name[32])
{
	snprintf(name, 32, "seg-%012" PRIu64, no);
}

/* 1: a name this spool writes ("seg-" and 12 digits, 1 to SEG_MAX), its
 * number in *no; -1: named "seg-..." but not so (never ours); 0: another
 * file. */
static int seg_parse(const char *name, uint64_t *no)
{
	if (strncmp(name, "seg-", 4))
		return 0;
	uint64_t v = 0;
	for (int i = 0; i < SEG_DIGITS; i++) {
		char c = name[4 + i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (uint64_t)(c - '0');
	}
	if (name[4 + SEG_DIGITS] || !v)
		return -1;
	*no = v;
	return 1;
}

static int seg_add(struct spool *s, uint64_t no, uint64_t size)
{
	if (s->nseg == s->capseg) {
		size_t cap = s->capseg ? 2 * s->capseg : 16;
		struct seg *n = realloc(s->segs, cap * sizeof(*n));
		if (!n)
			return -1;
		s->segs = n;
		s->capseg = cap;
	}
	s->segs[s->nseg].no = no;
	s->segs[s->nseg].size = size;
	s->nseg++;
	s->total_bytes += size;
	return 0;
}

static struct seg *seg_find(struct spool *s, uint64_t no)
{
	for (size_t i = 0; i < s->nseg; i++)
		if (s->segs[i].no == no)
			return &s->segs[i];
	return NULL;
}

static int cmp_seg(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;
	return x->no < y->no ? -1 : x->no > y->no;
}

/* The segments in DIR; *max: the highest number a segment name in DIR
 * holds (readable or not: new segments go after it). */
static int list_segments(struct spool *s, uint64_t *max)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	*max = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		struct stat sb;
		uint64_t no = 0;
		int kind = seg_parse(de->d_name, &no);
		if (!kind || fstatat(s->dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW))
			continue;
		if (kind < 0 || !S_ISREG(sb.st_mode)) {
			char shown[64];
			size_t k = 0;
			for (const char *c = de->d_name; *c && k < sizeof(shown) - 1; c++)
				shown[k++] = *c >= 0x20 && *c < 0x7f ? *c : '?';   /* one line, whatever the name */
			shown[k] = '\0';
			s->st.foreign++;
			say(s, "%s: %s: left alone, not read", shown,
			    kind < 0 ? "not a segment name this spool writes" : "not a regular file");
			if (kind < 0)
				continue;
		}
		if (no > *max)
			*max = no;
		if (!S_ISREG(sb.st_mode))
			continue;
		if (seg_add(s, no, (uint64_t)sb.st_size)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (s->nseg > 1)
		qsort(s->segs, s->nseg, sizeof(*s->segs), cmp_seg);
	return 0;
}

/* ---- the head ------------------------------------------------------------ */

/* A decimal number without sign or leading zeros that fits 64 bits. */
static int parse_u64(const char **pp, uint64_t *v)
{
	const char *p = *pp;
	*v = 0;
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return -1;
		*v = *v * 10 + d;
	}
	*pp = p;
	return 0;
}

static uint32_t head_crc(const char *text, size_t len)
{
	return spool_crc32(0, text, len);
}

/* The head file, "SEG OFF CRC\n" (CRC: 8 hex digits, CRC-32 of "SEG OFF";
 * "SEG OFF\n" as earlier versions wrote it is read too).  1: parsed into
 * s->head; 0: there is none; -1: it is not that, or its CRC is wrong (why
 * says which, shown: what it holds, printable). */
static int read_head(struct spool *s, const char **why, char shown[48])
{
	char buf[96];
	uint64_t seg, off;

	shown[0] = '\0';
	int fd = openat(s->dirfd, "head", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		*why = "cannot be read";
		return errno == ENOENT ? 0 : -1;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	size_t k = 0;
	for (ssize_t i = 0; i < n && k < 40; i++)
		if (buf[i] != '\n' || i + 1 < n)
			shown[k++] = buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '?';
	shown[k] = '\0';
	*why = "is not \"SEGMENT OFFSET CHECKSUM\"";
	const char *p = buf;
	if (parse_u64(&p, &seg) || *p++ != ' ' || parse_u64(&p, &off))
		return -1;
	size_t text_len = (size_t)(p - buf);
	if (*p == ' ') {
		uint32_t crc = 0;
		p++;
		for (int i = 0; i < 8; i++, p++) {
			int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
			if (d < 0)
				return -1;
			crc = crc << 4 | (uint32_t)d;
		}
		if (crc != head_crc(buf, text_len)) {
			*why = "has a wrong checksum";
			return -1;
		}
	}
	if (*p == '\n')
		p++;
	if (p != buf + n)
		return -1;
	if (!seg || seg > SEG_MAX) {
		*why = "names no possible segment";
		return -1;
	}
	s->head = (struct spool_pos){ seg, off, 0 };
	return 1;
}

static int write_head(struct spool *s, struct spool_pos pos)
{
	char text[48], buf[64];
	int t = snprintf(text, sizeof(text), "%" PRIu64 " %" PRIu64, pos.seg, pos.off);
	int n = snprintf(buf, sizeof(buf), "%s %08" PRIx32 "\n", text, head_crc(text, (size_t)t));
	int fd = openat(s->dirfd, "head.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	int rc = write(fd, buf, (size_t)n) == n ? 0 : -1;
	close(fd);
	if (!rc)
		rc = renameat(s->dirfd, "head.tmp", s->dirfd, "head");
	return rc;
}

/* Segments wholly before seg are delivered: remove them. */
static void drop_before(struct spool *s, uint64_t seg)
{
	size_t keep = 0;
	for (size_t i = 0; i < s->nseg; i++) {
		if (s->segs[i].no < seg && s->segs[i].no != s->wseg) {
			char name[32];
			seg_name(s->segs[i].no, name);
			unlinkat(s->dirfd, name, 0);
			cache_drop(s, s->segs[i].no);
			s->total_bytes -= s->segs[i].size;
			if (s->rfd >= 0 && s->rfd_seg == s->segs[i].no) {
				close(s->rfd);
				s->rfd = -1;
			}
		} else {
			s->segs[keep++] = s->segs[i];
		}
	}
	s->nseg = keep;
}

/* At open: checks every record of segment g, counts the records and the
 * damage from offset `from` on (the head's offset in the head's segment,
 * else 0) and reports the damage in one line.  *start: where reading
 * begins, from itself when it is a record boundary (0, the end of a
 * record, the end of the file), else the start of the record it points
 * into, or the next record when it points into damage.  0, or -1 when the
 * segment cannot be read (nothing counted). */
static int scan_segment(struct spool *s, struct seg *g, uint64_t from, uint64_t *start)
{
	char name[32];
	unsigned char h[REC_HDR];
	uint64_t off = 0, recs = 0, bad_recs = 0, bad_bytes = 0, first_bad = 0, next;
	int found = from == 0;

	*start = from;
	seg_name(g->no, name);
	int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	while (off < g->size) {
		int rc = rec_at(s, fd, g->no, off, g->size, h, NULL);
		if (rc < 0)
			goto fail;
		if (rc) {
			uint64_t end = off + REC_HDR + get32(h + 4);
			if (!found && end >= from) {
				found = 1;
				*start = end == from ? end : off;
			}
			if (found && off >= *start)
				recs++;
			off = end;
			continue;
		}
		if (resync(s, fd, g->no, off, g->size, &next))
			goto fail;
		if (!found && next > from) {
			found = 1;
			*start = next;
		}
		if (found && off >= *start) {
			uint64_t n = count_damage(s, fd, g->no, off, next);
			if (n && !bad_recs)
				first_bad = off;
			bad_recs += n;
			bad_bytes += n ? next - off : 0;
		}
		off = next;
	}
	if (!found)
		*start = g->size;
	close(fd);
	s->total_n += recs;
	if (bad_recs) {
		s->logged_seg = g->no;
		say(s, "%s is damaged: %" PRIu64 " record%s (%" PRIu64 " bytes, the first at offset %" PRIu64
		    ") skipped; %" PRIu64 " intact record%s kept", name, bad_recs, bad_recs == 1 ? "" : "s",
		    bad_bytes, first_bad, recs, recs == 1 ? "" : "s");
	}
	return 0;
fail:
	close(fd);
	return -1;
}

/* Puts the head where delivery resumes (read_head's verdict in parsed) and
 * counts the records from there. */
static void place_head(struct spool *s, int parsed, const char *why, const char *shown)
{
	char name[32];

	if (!s->nseg) {
		s->head = (struct spool_pos){ s->wseg, 0, 0 };
		return;
	}
	const struct seg *last = &s->segs[s->nseg - 1];
	struct seg *g = NULL;
	struct spool_pos was = s->head;
	if (parsed > 0) {
		g = seg_find(s, s->head.seg);
		if (s->head.seg > last->no)
			why = "names a segment after the last one", parsed = -1;
		else if (g && s->head.off > g->size)
			why = "points past the end of its segment", parsed = -1;
	}
	if (parsed < 0) {
		seg_name(s->segs[0].no, name);
		say(s, "head \"%s\" %s: ignored, every segment is delivered from %s (records sent before may come "
		    "again)", shown, why, name);
		s->st.head_reset++;
	}
	if (parsed <= 0) {
		s->head = (struct spool_pos){ s->segs[0].no, 0, 0 };
	} else if (!g) {
		/* its segment is gone: resume at the next one */
		for (size_t i = 0; i < s->nseg; i++)
			if (s->segs[i].no > s->head.seg) {
				s->head = (struct spool_pos){ s->segs[i].no, 0, 0 };
				break;
			}
	}
	for (size_t i = 0; i < s->nseg; i++) {
		struct seg *x = &s->segs[i];
		if (x->no < s->head.seg)
			continue;
		uint64_t from = x->no == s->head.seg ? s->head.off : 0, start;
		if (scan_segment(s, x, from, &start)) {
			s->st.io_errors++;
			continue;
		}
		if (start != from) {
			seg_name(x->no, name);
			say(s, "head offset %" PRIu64 " of %s is not at a record: delivery resumes at offset %" PRIu64
			    "%s", from, name, start, start < from ? " (the record it points into is sent again)" : "");
			s->st.head_reset++;
			s->head.off = start;
		}
	}
	s->st.at_open = s->total_n;
	/* a head that was not believed must not be believed later either (a
	 * segment it names may exist by then) */
	if (parsed && (s->head.seg != was.seg || s->head.off != was.off) && write_head(s, s->head))
		s->st.io_errors++;
}

static int mkdirs(const char *dir)
{
	char *p = strdup(dir);
	if (!p)
		return -1;
	for (char *q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0700) && errno != EEXIST) {
			free(p);
			return -1;
		}
		*q = '/';
	}
	int rc = mkdir(p, 0700) && errno != EEXIST ? -1 : 0;
	free(p);
	return rc;
}

struct spool *spool_open(const char *dir, uint64_t max_bytes, char err[SPOOL_ERR_LEN])
{
	struct spool *s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		snprintf(err, SPOOL_ERR_LEN, "spool %s: out of memory", dir);
		return NULL;
	}
	s->dirfd = s->lockfd = s->wfd = s->rfd = -1;
	pthread_mutex_init(&s->mu, NULL);
	s->cbuf = malloc(CACHE);   /* without it, reads go straight to the files */
	s->max_bytes = max_bytes;
	s->seg_size = max_bytes / 8;
	if (s->seg_size < 65536)
		s->seg_size = 65536;
	if (s->seg_size > (4u << 20))
		s->seg_size = 4u << 20;
	if (mkdirs(dir) || (s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, SPOOL_ERR_LEN, "spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB)) {
		snprintf(err, SPOOL_ERR_LEN, "spool %s: %s", dir,
			 errno == EWOULDBLOCK ? "in use by another x1367ids" : strerror(errno));
		goto fail;
	}
	uint64_t max_no;
	if (list_segments(s, &max_no)) {
		snprintf(err, SPOOL_ERR_LEN, "spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	const char *why = "";
	char shown[48];
	int parsed = read_head(s, &why, shown);
	s->wseg = max_no + 1;
	place_head(s, parsed, why, shown);
	drop_before(s, s->head.seg);
	s->rd = s->head;
	return s;
fail:
	spool_close(s);
	return NULL;
}

static int new_segment(struct spool *s)
{
	char name[32];
	if (s->wfd >= 0) {
		close(s->wfd);
		s->wfd = -1;
		s->wseg++;
	}
	for (;;) {
		if (s->wseg > SEG_MAX) {
			errno = EOVERFLOW;
			return -1;
		}
		seg_name(s->wseg, name);
		/* never over an existing file: it may hold records */
		s->wfd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (s->wfd >= 0) {
			cache_drop(s, s->wseg);
			break;
		}
		if (errno != EEXIST)
			return -1;
		say(s, "%s appeared since the start: left alone, records go to the next segment", name);
		s->wseg++;
	}
	s->woff = 0;
	return seg_add(s, s->wseg, 0);
}

int spool_append(struct spool *s, uint64_t ts_usec, const char *data, size_t len)
{
	unsigned char h[REC_HDR];
	struct iovec iov[2] = { { h, REC_HDR }, { (void *)data, len } };
	int rc = -1;

	if (len > REC_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	pthread_mutex_lock(&s->mu);
	if (s->total_bytes + REC_HDR + len > s->max_bytes) {
		errno = ENOSPC;
		goto out;
	}
	if ((s->wfd < 0 || s->woff + REC_HDR + len > s->seg_size) && new_segment(s))
		goto io_error;
	put32(h, REC_MAGIC);
	put32(h + 4, (uint32_t)len);
	put64(h + 8, ts_usec);
	put32(h + 16, rec_crc(ts_usec, data, len));
	ssize_t n = writev(s->wfd, iov, 2);
	if (n != (ssize_t)(REC_HDR + len)) {
		if (n >= 0)
			errno = EIO;
		if (ftruncate(s->wfd, (off_t)s->woff)) {
			/* the reader stops at woff anyway */
		}
		goto io_error;
	}
	s->woff += (uint64_t)n;
	s->total_bytes += (uint64_t)n;
	seg_find(s, s->wseg)->size += (uint64_t)n;
	s->total_n++;
	s->st.appended++;
	rc = 0;
	goto out;
io_error:
	s->st.io_errors++;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Where the readable bytes of segment no end (0: no such segment). */
static uint64_t seg_limit(struct spool *s, uint64_t no)
{
	if (no == s->wseg)
		return s->wfd >= 0 ? s->woff : 0;
	struct seg *g = seg_find(s, no);
	return g ? g->size : 0;
}

/* Moves the read cursor to the next segment; 0 when there is none. */
static int next_segment(struct spool *s)
{
	for (size_t i = 0; i < s->nseg; i++) {
		if (s->segs[i].no > s->rd.seg) {
			s->rd.seg = s->segs[i].no;
			s->rd.off = 0;
			return 1;
		}
	}
	return 0;
}

static int open_reader(struct spool *s)
{
	char name[32];
	if (s->rfd >= 0 && s->rfd_seg == s->rd.seg)
		return 0;
	if (s->rfd >= 0)
		close(s->rfd);
	seg_name(s->rd.seg, name);
	s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	s->rfd_seg = s->rd.seg;
	return s->rfd >= 0 ? 0 : -1;
}

/* 1: record read; 0: damage skipped, the cursor on the next record; -1. */
static int read_one(struct spool *s, uint64_t limit, struct spool_rec *r)
{
	unsigned char h[REC_HDR];
	char *data = NULL;
	int rc = rec_at(s, s->rfd, s->rd.seg, s->rd.off, limit, h, &data);
	if (rc < 0)
		return -1;
	if (rc) {
		r->data = data;
		r->len = get32(h + 4);
		r->ts_usec = get64(h + 8);
		s->rd.off += REC_HDR + r->len;
		s->rd.n++;
		r->end = s->rd;
		return 1;
	}
	uint64_t next;
	if (resync(s, s->rfd, s->rd.seg, s->rd.off, limit, &next))
		return -1;
	uint64_t lost = count_damage(s, s->rfd, s->rd.seg, s->rd.off, next);
	if (lost) {
		/* damaged since the open (or written so): its records were counted */
		char name[32];
		uint64_t left = s->total_n > s->rd.n ? s->total_n - s->rd.n : 0;
		s->total_n -= lost < left ? lost : left;
		if (s->logged_seg != s->rd.seg) {
			s->logged_seg = s->rd.seg;
			seg_name(s->rd.seg, name);
			say(s, "%s is damaged: %" PRIu64 " record%s (%" PRIu64 " bytes at offset %" PRIu64 ") skipped",
			    name, lost, lost == 1 ? "" : "s", next - s->rd.off, s->rd.off);
		}
	}
	s->rd.off = next;
	return 0;
}

int spool_read(struct spool *s, struct spool_rec *r)
{
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		uint64_t limit = seg_limit(s, s->rd.seg);
		if (s->rd.off >= limit) {
			if (s->rd.seg == s->wseg || !next_segment(s))
				break;
			continue;
		}
		if (open_reader(s) || (rc = read_one(s, limit, r)) < 0) {
			s->st.io_errors++;
			rc = -1;
			break;
		}
		if (rc)
			break;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void spool_rewind(struct spool *s)
{
	pthread_mutex_lock(&s->mu);
	s->rd = s->head;
	pthread_mutex_unlock(&s->mu);
}

int spool_commit(struct spool *s, struct spool_pos pos)
{
	pthread_mutex_lock(&s->mu);
	if (!seg_find(s, pos.seg) || pos.off > seg_limit(s, pos.seg)) {
		pthread_mutex_unlock(&s->mu);
		errno = EINVAL;
		return -1;
	}
	s->head = pos;
	int rc = write_head(s, pos);
	if (rc)
		s->st.io_errors++;
	drop_before(s, pos.seg);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void spool_get_stats(struct spool *s, struct spool_stats *st)
{
	pthread_mutex_lock(&s->mu);
	*st = s->st;
	st->records = s->total_n > s->head.n ? s->total_n - s->head.n : 0;
	st->bytes = s->total_bytes;
	pthread_mutex_unlock(&s->mu);
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->wfd >= 0)
		close(s->wfd);
	if (s->rfd >= 0)
		close(s->rfd);
	if (s->lockfd >= 0)
		close(s->lockfd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	pthread_mutex_destroy(&s->mu);
	free(s->segs);
	free(s->cbuf);
	free(s->dir);
	free(s);
}
