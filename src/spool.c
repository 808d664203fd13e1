/* The disk queue of one syslog destination.  See spool.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include "spool.h"

#define REC_MAGIC 0x52533158u   /* "X1SR" little-endian */
#define REC_HDR 20
#define REC_MAX (16u << 20)     /* a record longer than this is damage */

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
};

/* ---- CRC-32 -------------------------------------------------------------- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t spool_crc32(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
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

/* ---- segments ------------------------------------------------------------ */

static void seg_name(uint64_t no, char name[32])
{
	snprintf(name, 32, "seg-%012" PRIu64, no);
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

static int list_segments(struct spool *s)
{
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((de = readdir(d))) {
		char *end;
		struct stat sb;
		if (strncmp(de->d_name, "seg-", 4))
			continue;
		uint64_t no = strtoull(de->d_name + 4, &end, 10);
		if (*end || !no || fstatat(s->dirfd, de->d_name, &sb, 0) || !S_ISREG(sb.st_mode))
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

static void read_head(struct spool *s)
{
	char buf[64] = "";
	int fd = openat(s->dirfd, "head", O_RDONLY);
	unsigned long long seg, off;

	s->head.seg = s->nseg ? s->segs[0].no : 1;
	s->head.off = 0;
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0 && sscanf(buf, "%llu %llu", &seg, &off) == 2 && seg) {
		s->head.seg = seg;
		s->head.off = off;
		s->head.n = 0;
	}
}

/* Segments wholly before pos are delivered: remove them. */
static void drop_before(struct spool *s, uint64_t seg)
{
	size_t keep = 0;
	for (size_t i = 0; i < s->nseg; i++) {
		if (s->segs[i].no < seg && s->segs[i].no != s->wseg) {
			char name[32];
			seg_name(s->segs[i].no, name);
			unlinkat(s->dirfd, name, 0);
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

/* Count the records from the head on (headers only). */
static void count_records(struct spool *s)
{
	for (size_t i = 0; i < s->nseg; i++) {
		if (s->segs[i].no < s->head.seg)
			continue;
		char name[32];
		seg_name(s->segs[i].no, name);
		int fd = openat(s->dirfd, name, O_RDONLY);
		if (fd < 0)
			continue;
		uint64_t off = s->segs[i].no == s->head.seg ? s->head.off : 0;
		unsigned char h[REC_HDR];
		while (off + REC_HDR <= s->segs[i].size && pread(fd, h, REC_HDR, (off_t)off) == REC_HDR &&
		       get32(h) == REC_MAGIC && get32(h + 4) <= REC_MAX &&
		       off + REC_HDR + get32(h + 4) <= s->segs[i].size) {
			off += REC_HDR + get32(h + 4);
			s->total_n++;
		}
		close(fd);
	}
	s->st.at_open = s->total_n;
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
	if (list_segments(s)) {
		snprintf(err, SPOOL_ERR_LEN, "spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	read_head(s);
	s->wseg = (s->nseg ? s->segs[s->nseg - 1].no : 0) + 1;
	if (s->head.seg > s->wseg)
		s->head = (struct spool_pos){ s->wseg, 0, 0 };
	drop_before(s, s->head.seg);
	count_records(s);
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
	seg_name(s->wseg, name);
	s->wfd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (s->wfd < 0)
		return -1;
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
	s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	s->rfd_seg = s->rd.seg;
	return s->rfd >= 0 ? 0 : -1;
}

/* 1: record read; 0: bad record, cursor moved to the segment's end. */
static int read_one(struct spool *s, uint64_t limit, struct spool_rec *r)
{
	unsigned char h[REC_HDR];
	if (s->rd.off + REC_HDR > limit || pread(s->rfd, h, REC_HDR, (off_t)s->rd.off) != REC_HDR)
		goto bad;
	uint32_t len = get32(h + 4);
	if (get32(h) != REC_MAGIC || len > REC_MAX || s->rd.off + REC_HDR + len > limit)
		goto bad;
	r->data = malloc(len + 1);
	if (!r->data)
		return -1;
	if (pread(s->rfd, r->data, len, (off_t)(s->rd.off + REC_HDR)) != (ssize_t)len ||
	    rec_crc(get64(h + 8), r->data, len) != get32(h + 16)) {
		free(r->data);
		r->data = NULL;
		goto bad;
	}
	r->data[len] = '\0';
	r->len = len;
	r->ts_usec = get64(h + 8);
	s->rd.off += REC_HDR + len;
	s->rd.n++;
	r->end = s->rd;
	return 1;
bad:
	s->st.corrupt++;
	s->rd.off = limit;
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
		if (open_reader(s)) {
			s->st.io_errors++;
			rc = -1;
			break;
		}
		rc = read_one(s, limit, r);
		if (rc)
			break;
		/* a damaged record: the rest of its segment is lost */
		if (s->rd.n < s->total_n)
			s->total_n--;
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

static int write_head(struct spool *s, struct spool_pos pos)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 " %" PRIu64 "\n", pos.seg, pos.off);
	int fd = openat(s->dirfd, "head.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	int rc = write(fd, buf, (size_t)n) == n ? 0 : -1;
	close(fd);
	if (!rc)
		rc = renameat(s->dirfd, "head.tmp", s->dirfd, "head");
	return rc;
}

int spool_commit(struct spool *s, struct spool_pos pos)
{
	pthread_mutex_lock(&s->mu);
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
	free(s->dir);
	free(s);
}
