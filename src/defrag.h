/*
 * IPv4 and IPv6 fragment reassembly, bounded: a fixed number of datagrams
 * in progress, a cap on buffered bytes, a timeout in capture time.
 * Overlapping fragments drop the whole datagram (RFC 5722 for IPv6;
 * the same for IPv4, so no reassembly policy can be played against us).
 */
#ifndef X1367_DEFRAG_H
#define X1367_DEFRAG_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

struct defrag_limits {
	size_t max_datagrams;       /* in progress at once (default 1024) */
	size_t max_bytes;           /* buffered in total (default 16 MiB) */
	uint32_t timeout_ms;        /* capture time (default 30000) */
};

struct defrag_stats {
	uint64_t fragments;         /* fragments seen */
	uint64_t reassembled;       /* datagrams completed */
	uint64_t timed_out;         /* datagrams given up after the timeout */
	uint64_t dropped_table_full;
	uint64_t dropped_bytes_cap;
	uint64_t dropped_overlap;
	uint64_t dropped_oversize;  /* would exceed 65535 bytes */
	uint64_t dropped_bad;       /* zero length, misaligned non-final, ... */
};

struct defrag;

struct defrag *defrag_new(const struct defrag_limits *lim);
void defrag_free(struct defrag *d);
const struct defrag_stats *defrag_stats(const struct defrag *d);
size_t defrag_bytes_in_use(const struct defrag *d);

/* One fragment.  `id` is the IPv4 id or IPv6 identification; `proto` the
 * upper-layer protocol; `offset` in bytes; `more` the MF flag; data is the
 * fragment's payload (after the IP header / fragment header).
 * Returns:
 *   1  the datagram is complete: *out / *out_len is its whole payload
 *      (valid until the next call);
 *   0  held, waiting for more fragments;
 *  -1  dropped (counted in stats). */
int defrag_add(struct defrag *d, uint64_t ts_usec, const struct x1367_addr *src,
	       const struct x1367_addr *dst, uint32_t id, uint8_t proto,
	       uint32_t offset, int more, const uint8_t *data, size_t len,
	       const uint8_t **out, size_t *out_len);

/* Drop datagrams whose timeout passed in capture time. */
void defrag_expire(struct defrag *d, uint64_t now_usec);

#endif
