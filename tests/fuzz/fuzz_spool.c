/* libFuzzer harness for the spool reader: the input becomes the files of a
 * spool directory left by an earlier run (segments, maybe a head, maybe a
 * stray file), which is opened and drained.
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Isrc src/spool.c tests/fuzz/fuzz_spool.c -lpthread \
 *     -o /tmp/fuzz_spool && /tmp/fuzz_spool -max_total_time=60
 *
 * Input: byte 0 holds flags (bit 7: a head file follows, its length in
 * byte 1 and its bytes next; bit 0: the rest is two segments, split in its
 * middle; bit 1: the second segment is number 3, not 2; bit 2: a stray
 * seg-18446744073709551615 holds the rest as well), the rest is segment 1.
 *
 * Besides not crashing, the drain must end (no more records than 20-byte
 * headers fit in the input), deliver exactly the records the open counted,
 * deliver them again after a rewind without counting the damage twice, and
 * after a commit the next run must find exactly the one record it spooled. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static int spool_dirfd = -1;

static void clean(void)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(spool_dirfd);
	if (fd < 0 || !(d = fdopendir(fd)))
		abort();
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(spool_dirfd, de->d_name, 0);
	closedir(d);
}

static void bye(void)
{
	if (spool_dirfd >= 0) {
		clean();
		rmdir(dir);
	}
}

static int make_dir(const char *tmpl)
{
	snprintf(dir, sizeof(dir), "%s", tmpl);
	return mkdtemp(dir) != NULL;
}

static void put(const char *name, const uint8_t *p, size_t n)
{
	int fd = openat(spool_dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n))
		abort();
	close(fd);
}

/* Reads everything: the count; aborts past bound. */
static uint64_t drain(struct spool *s, uint64_t bound, struct spool_pos *end, int *marker)
{
	struct spool_rec r;
	uint64_t n = 0;
	int rc;
	while ((rc = spool_read(s, &r)) == 1) {
		if (++n > bound || !r.data || strlen(r.data) > r.len)
			abort();
		if (marker)
			*marker = r.len == 4 && !memcmp(r.data, "fuzz", 4) && r.ts_usec == 42;
		*end = r.end;
		free(r.data);
	}
	if (rc != 0)
		abort();
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[SPOOL_ERR_LEN];
	struct spool_stats st, st2;
	struct spool_pos end = { 0, 0, 0 };

	if (spool_dirfd < 0) {
		/* in memory if there is a tmpfs: a disk's journal costs 3/4 of the time */
		if ((!make_dir("/dev/shm/fuzz-spool-XXXXXX") && !make_dir("/tmp/fuzz-spool-XXXXXX")) ||
		    (spool_dirfd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
			abort();
		atexit(bye);
	}
	clean();
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++, size--;
	if (flags & 0x80) {
		size_t hl = size ? data[0] : 0;
		if (size)
			data++, size--;
		if (hl > size)
			hl = size;
		put("head", data, hl);
		data += hl, size -= hl;
	}
	size_t first = flags & 1 ? size / 2 : size;
	put("seg-000000000001", data, first);
	if (flags & 1)
		put(flags & 2 ? "seg-000000000003" : "seg-000000000002", data + first, size - first);
	if (flags & 4)
		put("seg-18446744073709551615", data, size);

	struct spool *s = spool_open(dir, 1 << 20, err);
	if (!s)
		abort();
	spool_get_stats(s, &st);
	uint64_t bound = size / 20 + 1;
	uint64_t n = drain(s, bound, &end, NULL);
	spool_get_stats(s, &st2);
	if (n != st.at_open || st2.corrupt < st.corrupt)
		abort();
	/* a resend reads the same records, and counts no damage twice */
	spool_rewind(s);
	if (drain(s, bound, &end, NULL) != n)
		abort();
	spool_get_stats(s, &st);
	if (st.corrupt != st2.corrupt || st.corrupt_bytes != st2.corrupt_bytes || st.records != n)
		abort();
	if (n && spool_commit(s, end))
		abort();
	spool_get_stats(s, &st);
	if (st.records != 0 || spool_append(s, 42, "fuzz", 4))
		abort();
	spool_close(s);

	/* the next run: only what this one spooled is left */
	s = spool_open(dir, 1 << 20, err);
	if (!s)
		abort();
	spool_get_stats(s, &st);
	int marker = 0;
	if (st.at_open != 1 || drain(s, 1, &end, &marker) != 1 || !marker)
		abort();
	spool_close(s);
	return 0;
}
