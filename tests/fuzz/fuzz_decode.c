/*
 * libFuzzer harness for decode.c + defrag.c.
 *
 * Input: byte 0 picks the link type; the rest is one frame.  The frame is
 * decoded, then decoded again as if cut by a snaplen, then the rest is
 * also read as a sequence of frames [len_hi len_lo ts_step frame...] fed
 * to the same decoder and defrag context, so fragment reassembly (in
 * order, overlapping, duplicated, timed out, table full) is reached.
 * A fresh small defrag context per input keeps runs independent and lets
 * LeakSanitizer check that defrag_free releases everything.
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -Iinclude -Isrc src/decode.c \
 *     src/defrag.c src/addr.c tests/fuzz/fuzz_decode.c -o fuzz_decode
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "decode.h"
#include "defrag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int linktypes[] = {0, 1, 12, 101, 108, 113, 228, 229, 276};
#define N_LINKTYPES (sizeof(linktypes) / sizeof(linktypes[0]))

/* What decode.c promises on DECODE_OK. */
static void check(enum decode_reason r, const uint8_t *frame, size_t caplen,
		  const struct packet *p)
{
	if ((unsigned)r >= DECODE_REASON_COUNT)
		abort();
	if (r != DECODE_OK)
		return;
	if (p->l4proto != IPPROTO_TCP && p->l4proto != IPPROTO_UDP)
		abort();
	if (p->payload_len && !p->payload)
		abort();
	if (p->reassembled) {
		if (p->l3 || p->l3_len || p->payload_len > 65535)
			abort();
		return;
	}
	if (!p->l3 || p->l3 < frame || p->l3_len > caplen ||
	    (size_t)(p->l3 - frame) > caplen - p->l3_len)
		abort();
	if (p->payload_len && (p->payload < p->l3 ||
			       (size_t)(p->payload - p->l3) > p->l3_len - p->payload_len))
		abort();
}

/* Decode a private heap copy, so ASan flags any read past caplen. */
static void run(struct decoder *d, const uint8_t *frame, size_t len, uint64_t ts)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct packet p;

	if (!copy)
		return;
	if (len)
		memcpy(copy, frame, len);
	enum decode_reason r = decode_packet(d, copy, len, (uint32_t)len, ts, &p);
	check(r, copy, len, &p);
	/* touch every payload byte: the reader must have bounded it */
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < p.payload_len && r == DECODE_OK; i++)
		sink ^= p.payload[i];
	(void)sink;
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct defrag_limits lim = {.max_datagrams = 8, .max_bytes = 64 * 1024, .timeout_ms = 1000};
	struct defrag *df = defrag_new(&lim);
	struct decoder d;
	uint64_t ts = 1000000;

	if (!df)
		return 0;
	decoder_init(&d, linktypes[data[0] % N_LINKTYPES], df);
	/* a link type outside the set is also an input worth a call */
	if (data[0] >= 0xF0)
		d.linktype = data[0];
	data++;
	size--;

	run(&d, data, size, ts);
	run(&d, data, size, ts);            /* duplicate fragment */
	run(&d, data, size / 2, ts);        /* snaplen cut */

	/* the same bytes as a sequence of frames */
	size_t off = 0;
	while (size - off >= 3) {
		size_t len = (size_t)data[off] << 8 | data[off + 1];
		ts += (uint64_t)data[off + 2] * 10000;   /* up to 2.55 s: timeouts */
		off += 3;
		if (len > size - off)
			len = size - off;
		run(&d, data + off, len, ts);
		off += len;
	}

	uint64_t sum = 0;
	for (int i = 0; i < DECODE_REASON_COUNT; i++)
		sum += d.reasons[i];
	if (sum == 0)
		abort();
	defrag_expire(df, UINT64_MAX);
	if (defrag_bytes_in_use(df) != 0)
		abort();
	defrag_free(df);
	return 0;
}
