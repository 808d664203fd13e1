/*
 * libFuzzer harness for acme.c that needs only the public header: a
 * stand-in engine with one transaction slot.  Input: chunks of a control
 * byte (bit 0: direction, bits 1-7: length) and that many stream bytes.
 * Build: make fuzz-acme.   Run: ./fuzz-acme -max_total_time=60
 */
#include <stdlib.h>
#include <x1367ids/dissector.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct stand_in_txn {
	struct x1367_txn_key key;
	uint8_t bytes[512];
	size_t len;
	int open;
} slot;
static const struct x1367_dissector *d;
static const struct x1367_addr addr = {.family = X1367_IPV4, .bytes = {192, 0, 2, 20}};

static int txn_open(x1367_ctx *c, const struct x1367_txn_request *r)
{
	(void)c;
	slot.key = r->key;
	slot.len = r->len < sizeof(slot.bytes) ? r->len : sizeof(slot.bytes);
	memcpy(slot.bytes, r->bytes, slot.len);       /* ASan checks r->bytes */
	slot.open = 1;
	return 0;
}

static x1367_txn *txn_find(x1367_ctx *c, const struct x1367_txn_key *k)
{
	(void)c;
	return slot.open && !memcmp(&slot.key, k, sizeof(*k)) ? (x1367_txn *)&slot : NULL;
}

static const uint8_t *txn_request(const x1367_txn *t, size_t *len, size_t *wire)
{
	const struct stand_in_txn *s = (const struct stand_in_txn *)t;
	*len = *wire = s->len;
	return s->bytes;
}

static void txn_answered(x1367_ctx *c, x1367_txn *t)
{
	(void)c, (void)t;
	slot.open = 0;
}

/* What the engine does with a report: read every string, describe the request. */
static volatile size_t sink;
static void report(x1367_ctx *c, const struct x1367_report *rep)
{
	struct x1367_kv kv[8];
	char uid[64], buf[1024];
	(void)c;
	if (rep->txn) {
		struct x1367_request_view v = {.struct_size = sizeof(v), .bytes = slot.bytes, .len = slot.len,
					       .wire_len = slot.len, .requester = &addr, .responder = &addr};
		if (d->describe_request(&v, uid, sizeof(uid), kv, 8, buf, sizeof(buf)) > 8)
			abort();
	}
	sink += strlen(rep->vendor_code) + (rep->responder_uid ? strlen(rep->responder_uid) : 0);
	for (size_t i = 0; i < rep->n_desc; i++)
		sink += strlen(rep->desc[i].key) + strlen(rep->desc[i].value);
}

static void event(x1367_ctx *c, const char *name) { (void)c, (void)name; }
static void heartbeat(x1367_ctx *c, const char *uid) { (void)c, (void)uid; }
static void log_(x1367_ctx *c, int level, const char *fmt, ...) { (void)c, (void)level, (void)fmt; }
static void format_addr(const struct x1367_addr *a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3]);
}

static const struct x1367_engine_api api = {
	.abi_major = X1367_ABI_MAJOR, .struct_size = sizeof(api), .txn_open = txn_open,
	.txn_find = txn_find, .txn_request = txn_request, .txn_answered = txn_answered,
	.report = report, .event = event, .heartbeat = heartbeat, .log = log_,
	.format_addr = format_addr,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t stream[2][4096];
	size_t have[2] = {0, 0};

	if (!d && (!(d = X1367_DISSECTOR_ENTRY()) || d->init(&api)))
		abort();
	void *state = calloc(1, d->state_size);
	slot.open = 0;
	while (size > 0) {
		int dir = data[0] & 1;
		size_t n = data[0] >> 1 < size - 1 ? (size_t)(data[0] >> 1) : size - 1;
		if (have[dir] + n > sizeof(stream[dir]))
			have[dir] = 0;                    /* the engine's stream cap */
		memcpy(stream[dir] + have[dir], data + 1, n);
		have[dir] += n;
		data += 1 + n, size -= 1 + n;
		struct x1367_packet pkt = {.struct_size = sizeof(pkt), .src = &addr, .dst = &addr,
					   .transport = X1367_TCP, .dir = (uint8_t)dir};
		size_t off = 0;
		while (off < have[dir]) {            /* the engine's loop, on exact-size copies */
			size_t left = have[dir] - off, used = 0;
			uint8_t *copy = malloc(left);
			memcpy(copy, stream[dir] + off, left);
			enum x1367_parse_result r = d->parse[dir](NULL, state, &pkt, copy, left, &used);
			free(copy);                       /* a kept pointer is a use after free */
			if (used > left)
				abort();
			off += used;
			if (r == X1367_PARSE_ERROR && !used)
				off = have[dir];
			if (r == X1367_PARSE_NEED_MORE || !used)
				break;
		}
		memmove(stream[dir], stream[dir] + off, have[dir] - off);
		have[dir] -= off;
	}
	free(state);
	return 0;
}
