/*
 * x1367ids dissector interface (public ABI).
 *
 * A dissector is one protocol: it fills in one `struct x1367_dissector` and
 * exports it through one function, X1367_DISSECTOR_ENTRY.  Built-in
 * dissectors (in dissectors/) and vendor plugins (shared objects) use this header and
 * nothing else from the engine.
 *
 * ABI rules:
 *   - The engine refuses a descriptor whose abi_major differs from its own.
 *   - Structs shared across the boundary begin with a size field, so either
 *     side can tell which fields the other knows about.  New fields are only
 *     ever appended; a minor bump says so.
 *   - The engine's own structs never appear here: flows, transactions and
 *     the engine context are opaque handles, reached only through the
 *     function table `struct x1367_engine_api`.
 */
#ifndef X1367IDS_DISSECTOR_H
#define X1367IDS_DISSECTOR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define X1367_ABI_MAJOR 1
#define X1367_ABI_MINOR 4

/* 1 when the struct `p` points to, which begins with `uint32_t struct_size`,
 * is large enough to hold `field`: the other side was built with a header
 * that has it.  Check before calling an engine function or reading a field
 * appended in a later minor version:
 *
 *     if (X1367_HAS_FIELD(api, heartbeat_polled) && api->heartbeat_polled)
 *             api->heartbeat_polled(ctx, uid);
 *
 * A macro, so it is source-level only: it changes no struct and no
 * symbol of the ABI. */
#define X1367_HAS_FIELD(p, field)                                               \
	((size_t)(p)->struct_size >=                                            \
	 (size_t)((const char *)&(p)->field - (const char *)(p)) + sizeof((p)->field))

/* The one symbol a plugin exports.  The major version is part of its name,
 * so a plugin built for another major version does not even resolve. */
#define X1367_DISSECTOR_ENTRY x1367_dissector_entry_v1

/* ---- Opaque engine handles --------------------------------------------- */

typedef struct x1367_ctx x1367_ctx;   /* the packet being dissected   */
typedef struct x1367_txn x1367_txn;   /* one outstanding request      */

/* ---- Bounds-checked reader ----------------------------------------------
 * Every read of packet bytes goes through one of these.  A read past the
 * end returns 0 and sets the sticky `error` flag; callers check it once,
 * after a group of reads, instead of before each one.
 */
struct x1367_reader {
	const uint8_t *data;
	size_t len;
	size_t pos;
	int error;
};

static inline void x1367_rd_init(struct x1367_reader *r, const uint8_t *data, size_t len)
{
	r->data = data;
	r->len = data ? len : 0;
	r->pos = 0;
	r->error = 0;
}

static inline size_t x1367_rd_left(const struct x1367_reader *r)
{
	return r->error ? 0 : r->len - r->pos;
}

static inline int x1367_rd_ok(const struct x1367_reader *r)
{
	return !r->error;
}

/* 1 when the next n bytes are there.  When they are not (or the reader
 * already failed) it returns 0 AND sets the sticky `error` flag: every
 * later read returns 0 and x1367_rd_ok says 0.  It is a read that
 * consumes nothing, not a harmless question: to ask how much is left
 * without failing the reader, compare x1367_rd_left(r) instead. */
static inline int x1367_rd_need(struct x1367_reader *r, size_t n)
{
	if (r->error || r->len - r->pos < n) {
		r->error = 1;
		return 0;
	}
	return 1;
}

static inline uint8_t x1367_rd_u8(struct x1367_reader *r)
{
	if (!x1367_rd_need(r, 1))
		return 0;
	return r->data[r->pos++];
}

static inline uint16_t x1367_rd_be16(struct x1367_reader *r)
{
	if (!x1367_rd_need(r, 2))
		return 0;
	uint16_t v = (uint16_t)((r->data[r->pos] << 8) | r->data[r->pos + 1]);
	r->pos += 2;
	return v;
}

static inline uint16_t x1367_rd_le16(struct x1367_reader *r)
{
	if (!x1367_rd_need(r, 2))
		return 0;
	uint16_t v = (uint16_t)(r->data[r->pos] | (r->data[r->pos + 1] << 8));
	r->pos += 2;
	return v;
}

static inline uint32_t x1367_rd_be32(struct x1367_reader *r)
{
	if (!x1367_rd_need(r, 4))
		return 0;
	const uint8_t *p = r->data + r->pos;
	r->pos += 4;
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Returns a pointer to the next n bytes and advances, or NULL. */
static inline const uint8_t *x1367_rd_bytes(struct x1367_reader *r, size_t n)
{
	if (!x1367_rd_need(r, n))
		return NULL;
	const uint8_t *p = r->data + r->pos;
	r->pos += n;
	return p;
}

static inline int x1367_rd_skip(struct x1367_reader *r, size_t n)
{
	return x1367_rd_bytes(r, n) != NULL;
}

/* ---- What a dissector is told about the packet ------------------------ */

enum x1367_transport {
	X1367_TCP = 1u << 0,
	X1367_UDP = 1u << 1,
};

enum x1367_dir {
	X1367_TO_SERVER = 0,   /* from the side that did not own the server port */
	X1367_TO_CLIENT = 1,
};

/* x1367_addr.family: the IP version, not an AF_* value. */
#define X1367_IPV4 4
#define X1367_IPV6 6

struct x1367_addr {
	uint8_t family;        /* X1367_IPV4 or X1367_IPV6 */
	uint8_t bytes[16];     /* network order; IPv4 uses the first 4 */
};

struct x1367_packet {
	uint32_t struct_size;
	uint64_t ts_usec;                  /* capture time, microseconds since the epoch */
	const struct x1367_addr *src;
	const struct x1367_addr *dst;
	uint16_t sport, dport;
	uint8_t transport;                 /* enum x1367_transport */
	uint8_t dst_is_multicast;
	uint8_t dir;                       /* enum x1367_dir */
};

/* Description fields: ordered key/value strings. */
struct x1367_kv {
	const char *key;
	const char *value;
};

/* ---- Description fields, built by the dissector ------------------------
 * Header-only helpers (no engine symbol): format fields into one buffer,
 * then hand them to the engine (txn_request.desc, report.desc) or copy
 * them out in describe_request. */

#define X1367_DESC_MAX 16
#define X1367_DESC_BUF 1024

struct x1367_desc {
	struct x1367_kv kv[X1367_DESC_MAX];
	size_t n;
	char buf[X1367_DESC_BUF];
	size_t used;
};

static inline void x1367_desc_add(struct x1367_desc *d, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A field that does not fit is left out, never cut. */
static inline void x1367_desc_add(struct x1367_desc *d, const char *key, const char *fmt, ...)
{
	if (d->n >= X1367_DESC_MAX || d->used >= sizeof(d->buf))
		return;
	char *out = d->buf + d->used;
	size_t room = sizeof(d->buf) - d->used;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(out, room, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= room)
		return;
	d->used += (size_t)w + 1;
	d->kv[d->n].key = key;
	d->kv[d->n].value = out;
	d->n++;
}

/* Copy the fields into the engine's arrays (describe_request). */
static inline size_t x1367_desc_export(const struct x1367_desc *d, struct x1367_kv *kv, size_t max_kv,
				       char *buf, size_t buf_len)
{
	size_t n = 0, used = 0;
	for (size_t i = 0; i < d->n && n < max_kv; i++) {
		size_t vl = strlen(d->kv[i].value) + 1;
		if (used + vl > buf_len)
			break;
		memcpy(buf + used, d->kv[i].value, vl);
		kv[n].key = d->kv[i].key;
		kv[n].value = buf + used;
		used += vl;
		n++;
	}
	return n;
}

/* ---- Transactions ------------------------------------------------------ */

enum x1367_txn_scope {
	/* Same connection (TCP flow or UDP 5-tuple): Modbus/TCP. */
	X1367_TXN_FLOW = 1,
	/* Same requester and responder addresses, whatever the ports; a request
	 * to a multicast group pairs with every node's unicast answer: ECHONET
	 * Lite. */
	X1367_TXN_HOSTS = 2,
};

#define X1367_TXN_KEY_MAX 16

struct x1367_txn_key {
	uint8_t scope;                     /* enum x1367_txn_scope */
	uint8_t len;                       /* bytes of id in use */
	uint8_t id[X1367_TXN_KEY_MAX];     /* protocol's own id: tid, unit, ... */
};

enum x1367_txn_flags {
	/* The request does not require an answer: never report it as
	 * "No Response" (ECHONET Lite SetI, whose answer only comes on refusal). */
	X1367_TXN_NO_TIMEOUT = 1u << 0,
	/* ABI 1.4: the request tests the link itself (IEC 104 TESTFR/STARTDT
	 * act): no answer by the deadline means the connection failed, and the
	 * engine writes "11 Communication Failed" instead of "10 No Response".
	 * An older engine ignores the flag and writes 10. */
	X1367_TXN_LINK_TEST = 1u << 1,
};

struct x1367_txn_request {
	uint32_t struct_size;
	struct x1367_txn_key key;
	const uint8_t *bytes;              /* the request as on the wire */
	size_t len;
	const char *responder_uid;         /* Unique ID of who should answer, or NULL
	                                    * to let describe_request say it later */
	const struct x1367_kv *desc;       /* kept for the answer's record (or
	                                    * none: describe_request is asked) */
	size_t n_desc;
	uint32_t flags;                    /* enum x1367_txn_flags */
};

/* ---- Reports ----------------------------------------------------------- */

enum x1367_report_flags {
	/* ABI 1.4: the device sent this on its own; no request was expected
	 * (a DNP3 unsolicited response carrying device trouble).  With txn
	 * NULL, the engine does not count it in responses_without_request but
	 * in unsolicited_reports, and the record says "Request": "none: sent
	 * by the device on its own" instead of "not seen in the capture".
	 * Ignored when txn is set.  An older engine ignores the flag: a
	 * response without request, as before. */
	X1367_REPORT_UNSOLICITED = 1u << 0,
};

struct x1367_report {
	uint32_t struct_size;
	const char *vendor_code;           /* hex, as in the rules table: "02" */
	const x1367_txn *txn;              /* the paired request, or NULL */
	const uint8_t *response;           /* the error response as on the wire */
	size_t response_len;
	const char *requester_uid;         /* NULL: the requester's address */
	const char *responder_uid;         /* see "Unique IDs" below */
	const struct x1367_kv *desc;       /* extra Description fields */
	size_t n_desc;
	/* ---- ABI 1.4 (an older plugin's report ends above: reads as 0) ---- */
	uint32_t flags;                    /* enum x1367_report_flags */
};

/* Unique IDs of responders: one convention, ADDRESS[:PORT][#ID].
 *   ADDRESS  the responder's IP address as format_addr writes it (IPv4
 *            dotted, IPv6 uncompressed; in brackets when :PORT follows);
 *            alone when the address is the device: "192.0.2.20" (ACME).
 *   :PORT    only when one host may serve the protocol on more than one
 *            port, each a server of its own (an MQTT broker on 1883 and
 *            8883, CoAP on 5683 and 5684, TLS): "192.0.2.11:1883",
 *            "[2001:DB8:0:0:0:0:0:B]:443".
 *   #ID      only when the protocol addresses a unit or object behind
 *            the address: Modbus "192.0.2.10#1", ECHONET Lite
 *            "192.0.2.12#013001".
 * Why: a Unique ID names the one thing that should have answered, so
 * records and silence detection (which keys on it) tell two devices apart
 * and never split one device in two; nothing that varies per connection
 * (the client's port) belongs in it.  Use the same string for
 * txn_request.responder_uid, report.responder_uid, describe_request and
 * heartbeat: at most 63 characters (the silence detector's bound).
 * Requesters: their address (requester_uid NULL). */

/* Named events every dissector may raise; they are counted per protocol
 * and summed in the statistics.  X1367_EV_RESPONSE_WITHOUT_REQUEST also
 * counts in responses_without_request, like a report whose txn is NULL;
 * an answer for which a parse call does both counts once. */
#define X1367_EV_MALFORMED                "malformed"
#define X1367_EV_RESPONSE_WITHOUT_REQUEST "response_without_request"
#define X1367_EV_DUPLICATE_REQUEST        "duplicate_request"

enum x1367_log_level { X1367_LOG_ERR = 3, X1367_LOG_WARNING = 4, X1367_LOG_INFO = 6, X1367_LOG_DEBUG = 7 };

/* ---- What the engine offers a dissector --------------------------------- */

struct x1367_engine_api {
	uint32_t abi_major;
	uint32_t struct_size;

	/* Open a transaction for the current packet, sent by the requester.
	 * Returns 0, or -1 when the table is full (counted by the engine). */
	int (*txn_open)(x1367_ctx *ctx, const struct x1367_txn_request *req);
	/* Find the transaction the current packet (a response) answers.
	 * The current packet's source is the responder. */
	x1367_txn *(*txn_find)(x1367_ctx *ctx, const struct x1367_txn_key *key);
	/* The request bytes as stored (possibly cut at the configured cap);
	 * *wire_len gets the length on the wire. */
	const uint8_t *(*txn_request)(const x1367_txn *txn, size_t *len, size_t *wire_len);
	/* The response has been seen: a unicast transaction ends, a multicast
	 * one stays open for other nodes until its deadline. */
	void (*txn_answered)(x1367_ctx *ctx, x1367_txn *txn);

	/* Report an error response.  The engine maps vendor_code with the
	 * rules tables and writes the X.1367 record (or counts why not). */
	void (*report)(x1367_ctx *ctx, const struct x1367_report *rep);
	/* Count a named event (X1367_EV_* or the dissector's own). */
	void (*event)(x1367_ctx *ctx, const char *name);
	/* A message the device sent on its own or as a polled answer: feeds
	 * the silence detector (X.1367 Appendix I.3). */
	void (*heartbeat)(x1367_ctx *ctx, const char *responder_uid);
	void (*log)(x1367_ctx *ctx, int level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* Text form of an address: dotted quad or uncompressed uppercase IPv6. */
	void (*format_addr)(const struct x1367_addr *addr, char *buf, size_t len);

	/* ---- ABI 1.1 (check X1367_HAS_FIELD before use) ---- */

	/* In .flow_end: 1 when the capture showed the connection close (TCP
	 * FIN or RST), 0 when the flow only left the table (capture end, idle
	 * timeout, eviction): "the peer hung up" can only be said in the first
	 * case. */
	int (*flow_closed)(x1367_ctx *ctx);
	/* Like heartbeat, for an answer of a device that is polled: its
	 * silence is reported only while requests to it go on (a poller that
	 * stopped asking is no device that stopped answering). */
	void (*heartbeat_polled)(x1367_ctx *ctx, const char *responder_uid);

	/* ---- ABI 1.2 (check X1367_HAS_FIELD and NULL before use) ---- */

	/* Several open requests may share a key (a client that sends the same
	 * transaction id again before the first is answered).  txn_find gives
	 * the oldest; this gives the next oldest after `after` (NULL: the
	 * oldest), NULL when there is none.  A dissector whose answers carry
	 * more than the key (a function code, a message id) tries each
	 * candidate in turn and takes the first that fits.  `after` is one
	 * this walk returned, still open. */
	x1367_txn *(*txn_find_next)(x1367_ctx *ctx, const struct x1367_txn_key *key,
				    const x1367_txn *after);
};

/* ---- One key open more than once (header-only) --------------------------- */

/* txn_find_next, or NULL from an engine older than ABI 1.2. */
static inline x1367_txn *x1367_txn_next(const struct x1367_engine_api *api, x1367_ctx *ctx,
					const struct x1367_txn_key *key, const x1367_txn *after)
{
	if (!X1367_HAS_FIELD(api, txn_find_next) || !api->txn_find_next)
		return NULL;
	return api->txn_find_next(ctx, key, after);
}

/* Candidates tried per answer: more requests of one key in flight than
 * this is no client's habit, and under a flood of them every answer must
 * stay cheap. */
#define X1367_TXN_TRY_MAX 8

/* The open request with `key` that `fits` the answer, tried oldest first
 * (txn_find, then txn_find_next), or NULL.  *tried (if not NULL) gets how
 * many candidates were looked at, so that a dissector can tell "no
 * request" from "a request, but not this answer's".  With an engine older
 * than ABI 1.2 only the oldest is tried, as before. */
static inline x1367_txn *x1367_txn_find_fit(const struct x1367_engine_api *api, x1367_ctx *ctx,
					    const struct x1367_txn_key *key,
					    int (*fits)(const x1367_txn *txn, const void *arg),
					    const void *arg, unsigned *tried)
{
	unsigned n = 0;
	x1367_txn *txn = api->txn_find(ctx, key);

	while (txn) {
		n++;
		if (fits(txn, arg))
			break;
		txn = n < X1367_TXN_TRY_MAX ? x1367_txn_next(api, ctx, key, txn) : NULL;
	}
	if (tried)
		*tried = n;
	return txn;
}

/* A stored request, as describe_request sees it. */
struct x1367_request_view {
	uint32_t struct_size;
	const uint8_t *bytes;              /* as stored (maybe cut at the cap) */
	size_t len;
	size_t wire_len;                   /* its length on the wire */
	const struct x1367_addr *requester;
	const struct x1367_addr *responder;  /* a multicast group for group requests */
	uint16_t requester_port, responder_port;
};

/* ---- The descriptor ---------------------------------------------------- */

enum x1367_parse_result {
	X1367_PARSE_OK = 0,        /* *consumed bytes used; call again with the rest */
	X1367_PARSE_NEED_MORE = 1, /* a message is incomplete: wait for more bytes */
	X1367_PARSE_ERROR = 2,     /* malformed: *consumed bytes skipped to resync */
};

enum x1367_probe_result {
	X1367_PROBE_NO = 0,
	X1367_PROBE_YES = 1,
	X1367_PROBE_MAYBE = 2,     /* not enough bytes to tell */
};

typedef enum x1367_parse_result (*x1367_parse_fn)(
	x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
	const uint8_t *data, size_t len, size_t *consumed);

struct x1367_dissector {
	uint32_t abi_major;                /* X1367_ABI_MAJOR */
	uint32_t abi_minor;                /* X1367_ABI_MINOR */
	uint32_t struct_size;              /* sizeof(struct x1367_dissector) */

	const char *name;                  /* short id used in rules files: "modbus" */
	const char *protocol;              /* the Protocol string of records */
	uint32_t transports;               /* X1367_TCP | X1367_UDP */
	const uint16_t *ports;             /* server ports, 0-terminated */
	const char *ndpi_name;             /* nDPI's name for it, or NULL */
	uint32_t request_timeout_ms;       /* default deadline for an answer */
	size_t state_size;                 /* per-flow state, zeroed by the engine;
	                                    * 0 is allowed: a stateless dissector,
	                                    * called with state NULL (its flows
	                                    * are still counted, and gap and
	                                    * flow_end still called) */

	int (*init)(const struct x1367_engine_api *api);   /* once; 0 = ok */
	void (*fini)(void);
	/* Detection without a port: the first bytes of a direction. */
	enum x1367_probe_result (*probe)(const uint8_t *data, size_t len, enum x1367_dir dir);
	/* One parse callback per direction (index enum x1367_dir).  TCP: an
	 * ordered byte stream; UDP: one datagram per call. */
	x1367_parse_fn parse[2];
	/* Bytes were lost in this direction: drop any partial message. */
	void (*gap)(x1367_ctx *ctx, void *state, enum x1367_dir dir);
	/* The flow ends (closed, expired or evicted): release state contents. */
	void (*flow_end)(x1367_ctx *ctx, void *state);
	/* Names of the dissector's own events, NULL-terminated (for docs/stats). */
	const char *const *event_names;

	/* ---- ABI 1.1 (a 1.0 descriptor ends above: these read as NULL) ---- */

	/* Describe a stored request, only when a record needs it (an error
	 * answer or a timeout), instead of formatting Description fields and
	 * the responder's Unique ID for every request: a request opened with
	 * responder_uid NULL and no desc gets both from here.  `req` may be
	 * cut at the configured cap.  Writes the Unique ID into uid, up to
	 * max_kv fields whose strings live in buf; returns how many fields. */
	size_t (*describe_request)(const struct x1367_request_view *req, char *uid, size_t uid_len,
				   struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len);

	/* ---- ABI 1.3 (an older descriptor ends above: reads as NULL) ---- */

	/* The plugin's own version ("1.0"), shown by x1367ids --list-plugins;
	 * NULL shows as "-". */
	const char *version;
};

typedef const struct x1367_dissector *(*x1367_dissector_entry_fn)(void);

/* What a plugin defines, and the only symbol it exports (build with
 * -fvisibility=hidden; `pkg-config --cflags x1367ids-plugin` says so):
 *
 *     X1367_PLUGIN_EXPORT const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
 *     {
 *             return &my_dissector;
 *     }
 */
#define X1367_PLUGIN_EXPORT __attribute__((visibility("default")))
X1367_PLUGIN_EXPORT const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#ifdef __cplusplus
}
#endif

#endif /* X1367IDS_DISSECTOR_H */
