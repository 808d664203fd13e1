/*
 * CoAP, the Constrained Application Protocol (RFC 7252), over UDP 5683.
 *
 * One datagram is one message:
 *   Ver (2 bits, 1) · Type (2: CON 0, NON 1, ACK 2, RST 3) · TKL (4)
 *   · Code (1: class << 5 | detail, written "c.dd") · Message ID (2)
 *   · Token (TKL bytes, 0-8) · options · [0xFF · payload]
 * Each option is a nibble pair (delta, length), each nibble 13 or 14
 * followed by 1 or 2 more bytes (value - 13, value - 269), then the value;
 * 15 is reserved except in the byte 0xFF that starts the payload.
 *
 * Code 0.00 is an empty message (a ping as CON, an acknowledgement as
 * ACK, a reset as RST); 0.01-0.31 are requests; 2.xx, 4.xx and 5.xx are
 * responses, and every 4.xx and 5.xx response is reported: its vendor code
 * is the code byte in hex (4.04 = "84"), looked up in rules/coap.map.
 *
 * Pairing.  A response carries its request's token: transactions are
 * keyed by the token, in the same UDP 5-tuple (X1367_TXN_FLOW), prefixed
 * with the direction the request travelled so that the two endpoints'
 * token spaces stay apart (either end may ask).  A response comes either
 * piggybacked in the ACK of a CON request (it must then carry the
 * request's message id too: checked) or later in its own CON or NON
 * message with a fresh message id ("separate response", announced by an
 * empty ACK, after which the request simply stays open).  A request to a
 * multicast group (always NON) is answered from each member's unicast
 * address: it is keyed by host pair (X1367_TXN_HOSTS) instead.
 * A token open twice (a peer that reuses it before the answer) keeps a
 * CON request open beside the newer one: a piggybacked answer goes to the
 * request with its message id, a separate one to the oldest.
 *
 * Message ids.  A CON is retransmitted with the same message id until it
 * is acknowledged, and a lost ACK makes the server send its ACK again:
 * each endpoint's recent message ids (with type and token) are kept per
 * flow, and a message seen before is counted, not processed again, so a
 * retransmitted request never opens a second transaction and a repeated
 * error answer is never reported twice.  The same memory pairs a Reset,
 * which carries only the message id, with the request it rejects.
 *
 * No answer.  A CON request with no answer (neither piggybacked nor
 * separate) within request_timeout_ms becomes "10 No Response".  CoAP's
 * own limits are long (MAX_TRANSMIT_SPAN 45 s of retransmissions,
 * EXCHANGE_LIFETIME 247 s) because they bound a sender's memory, not a
 * server's answer time: a live server answers or acknowledges within
 * ACK_TIMEOUT (2-3 s), before the first retransmission.  10 s covers the
 * second retransmission (sent 6-9 s after the first transmission) and a
 * separate response that follows its empty ACK within a few seconds.  A
 * separate response slower than that is reported as No Response first,
 * then unpaired.  A NON request may go unanswered by design (RFC 7252
 * 5.2.3): it is opened with X1367_TXN_NO_TIMEOUT, only so that an error
 * answer still pairs with it.
 *
 * Unique IDs: a CoAP endpoint is an address and a UDP port (RFC 7252
 * 1.2), so the responder is "192.0.2.11:5683" or "[2001:0DB8:...]:5683";
 * the requester is its address (the engine's default).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <x1367ids/dissector.h>

#define COAP_HDR_LEN 4
#define COAP_VERSION 1
#define COAP_TKL_MAX 8
#define COAP_PAYLOAD_MARKER 0xFF
#define COAP_OPT_NUM_MAX 65535u

/* The two header bytes of every Reset (version 1, RST, no token, 0.00):
 * the pseudo vendor code reported when a Reset rejects a request. */
#define VENDOR_RESET "7000"

/* CoAP's EXCHANGE_LIFETIME: after it a message id may be reused for a
 * new message, so one seen longer ago than this is not a duplicate. */
#define EXCHANGE_LIFETIME_USEC (247ull * 1000000ull)

/* Longest text kept of one decoded option (Uri-Path, Uri-Query, ...);
 * longer ones end in "...". */
#define OPT_TEXT_MAX 160
#define DIAG_TEXT_MAX 96

#define EV_BAD_HEADER "invalid_header"
#define EV_BAD_OPTIONS "invalid_options"
#define EV_RESERVED_CODE "reserved_code"
#define EV_DUPLICATE_RESPONSE "duplicate_response"
#define EV_MID_MISMATCH "message_id_mismatch"
#define EV_TOKEN_REUSED "token_reused"
#define EV_PING "ping"
#define EV_RESET_PING "reset_ping"
#define EV_RESET_RESPONSE "reset_response"
#define EV_RESET_UNMATCHED "reset_without_message"
#define EV_NOTIFICATION "observe_notification"

static const struct x1367_engine_api *api;

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables ------------------------------------------------------------ */

enum coap_type { COAP_CON = 0, COAP_NON = 1, COAP_ACK = 2, COAP_RST = 3 };

static const char *const type_names[] = {"CON", "NON", "ACK", "RST"};

struct coap_code {
	uint8_t code;          /* class << 5 | detail */
	const char *name;
};

/* Methods (0.xx): RFC 7252, FETCH/PATCH/iPATCH RFC 8132. */
static const struct coap_code methods[] = {
	{0x01, "GET"},
	{0x02, "POST"},
	{0x03, "PUT"},
	{0x04, "DELETE"},
	{0x05, "FETCH"},
	{0x06, "PATCH"},
	{0x07, "iPATCH"},
};

/* Response codes of the IANA "CoAP Response Codes" registry. */
static const struct coap_code responses[] = {
	{0x41, "Created"},
	{0x42, "Deleted"},
	{0x43, "Valid"},
	{0x44, "Changed"},
	{0x45, "Content"},
	{0x5F, "Continue"},
	{0x80, "Bad Request"},
	{0x81, "Unauthorized"},
	{0x82, "Bad Option"},
	{0x83, "Forbidden"},
	{0x84, "Not Found"},
	{0x85, "Method Not Allowed"},
	{0x86, "Not Acceptable"},
	{0x88, "Request Entity Incomplete"},
	{0x89, "Conflict"},
	{0x8C, "Precondition Failed"},
	{0x8D, "Request Entity Too Large"},
	{0x8F, "Unsupported Content-Format"},
	{0x96, "Unprocessable Entity"},
	{0x9D, "Too Many Requests"},
	{0xA0, "Internal Server Error"},
	{0xA1, "Not Implemented"},
	{0xA2, "Bad Gateway"},
	{0xA3, "Service Unavailable"},
	{0xA4, "Gateway Timeout"},
	{0xA5, "Proxying Not Supported"},
	{0xA8, "Hop Limit Reached"},
};

enum coap_class { CLASS_REQUEST = 0, CLASS_SUCCESS = 2, CLASS_CLIENT_ERROR = 4, CLASS_SERVER_ERROR = 5 };

/* Options worth naming in a record: where the request went. */
enum opt_number {
	OPT_URI_HOST = 3,
	OPT_OBSERVE = 6,
	OPT_URI_PORT = 7,
	OPT_URI_PATH = 11,
	OPT_CONTENT_FORMAT = 12,
	OPT_URI_QUERY = 15,
	OPT_PROXY_URI = 35,
	OPT_PROXY_SCHEME = 39,
};

static const char *code_find(const struct coap_code *t, size_t n, uint8_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

static unsigned code_class(uint8_t code)
{
	return code >> 5;
}

static unsigned code_detail(uint8_t code)
{
	return code & 0x1F;
}

/* ---- Messages ------------------------------------------------------------ */

struct coap_msg {
	const uint8_t *data;
	size_t len;
	uint8_t type;          /* enum coap_type */
	uint8_t tkl;
	uint8_t code;
	uint16_t mid;
	uint8_t token[COAP_TKL_MAX];
	size_t opt_off;        /* first option byte */
	size_t payload_off;    /* == len: no payload */
	uint8_t observe;       /* an Observe option is present */
};

enum coap_verdict {
	COAP_OK,
	COAP_BAD_HEADER,       /* short, version, TKL, empty message with a body */
	COAP_BAD_OPTIONS,      /* an option runs past the end, reserved nibble, ... */
};

enum opt_step { OPT_END, OPT_ONE, OPT_BAD };

/* An option's delta or length: the nibble, or 1 or 2 bytes after it. */
static int opt_ext(struct x1367_reader *rd, unsigned nibble, uint32_t *out)
{
	if (nibble < 13)
		*out = nibble;
	else if (nibble == 13)
		*out = 13u + x1367_rd_u8(rd);
	else if (nibble == 14)
		*out = 269u + x1367_rd_be16(rd);
	else
		return 0;      /* 15: reserved (only 0xFF, handled before) */
	return x1367_rd_ok(rd);
}

/* The next option after *number (the running option number), or the end
 * of the options: at the end of the message, or after the payload marker,
 * which must then be followed by a payload (RFC 7252 3: a marker with an
 * empty payload is a format error). */
static enum opt_step opt_next(struct x1367_reader *rd, uint32_t *number, const uint8_t **val,
			      uint32_t *vlen)
{
	if (x1367_rd_left(rd) == 0)
		return x1367_rd_ok(rd) ? OPT_END : OPT_BAD;
	uint8_t b = x1367_rd_u8(rd);
	if (b == COAP_PAYLOAD_MARKER)
		return x1367_rd_left(rd) ? OPT_END : OPT_BAD;
	uint32_t delta, len;
	if (!opt_ext(rd, b >> 4, &delta) || !opt_ext(rd, b & 0x0F, &len))
		return OPT_BAD;
	*number += delta;
	if (*number > COAP_OPT_NUM_MAX)
		return OPT_BAD;
	*val = x1367_rd_bytes(rd, len);
	*vlen = len;
	return *val ? OPT_ONE : OPT_BAD;
}

/* Header and token only: what describe_request can rely on in stored
 * bytes that the engine may have cut. */
static enum coap_verdict coap_header(struct x1367_reader *rd, struct coap_msg *m)
{
	uint8_t b0 = x1367_rd_u8(rd);
	m->code = x1367_rd_u8(rd);
	m->mid = x1367_rd_be16(rd);
	if (!x1367_rd_ok(rd) || (b0 >> 6) != COAP_VERSION)
		return COAP_BAD_HEADER;
	m->type = (b0 >> 4) & 3;
	m->tkl = b0 & 0x0F;
	/* TKL 9-15 are reserved: a message format error. */
	if (m->tkl > COAP_TKL_MAX)
		return COAP_BAD_HEADER;
	const uint8_t *tok = x1367_rd_bytes(rd, m->tkl);
	if (!tok)
		return COAP_BAD_HEADER;
	memcpy(m->token, tok, m->tkl);
	return COAP_OK;
}

/* A whole datagram, strictly: every option within bounds. */
static enum coap_verdict coap_parse(const uint8_t *data, size_t len, struct coap_msg *m)
{
	struct x1367_reader rd;

	memset(m, 0, sizeof(*m));
	m->data = data;
	m->len = len;
	x1367_rd_init(&rd, data, len);
	enum coap_verdict v = coap_header(&rd, m);
	if (v != COAP_OK)
		return v;
	/* An empty message is exactly its 4 header bytes (RFC 7252 4.1), and
	 * never NON (4.3: a NON carries a request or a response). */
	if (m->code == 0 && (m->tkl != 0 || len != COAP_HDR_LEN || m->type == COAP_NON))
		return COAP_BAD_HEADER;
	m->opt_off = rd.pos;
	uint32_t number = 0, vlen = 0;
	const uint8_t *val = NULL;
	enum opt_step s;
	while ((s = opt_next(&rd, &number, &val, &vlen)) == OPT_ONE)
		if (number == OPT_OBSERVE)
			m->observe = 1;
	if (s == OPT_BAD)
		return COAP_BAD_OPTIONS;
	m->payload_off = rd.pos;
	return COAP_OK;
}

/* ---- Description fields -------------------------------------------------- */

/* Appends to a bounded text; "..." once it is full (and then nothing). */
struct text {
	char buf[OPT_TEXT_MAX + 4];
	size_t len;
	int full;
};

static void text_put(struct text *t, const char *s, size_t n)
{
	if (t->full)
		return;
	if (t->len + n > OPT_TEXT_MAX) {
		memcpy(t->buf + t->len, "...", 4);
		t->len += 3;
		t->full = 1;
		return;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	t->buf[t->len] = '\0';
}

/* An option value as URI text: printable ASCII as is, everything else
 * (and '%') percent-encoded, so the record stays valid UTF-8 and
 * unambiguous whatever a scanner puts in a path. */
static void text_uri(struct text *t, const uint8_t *v, size_t n)
{
	for (size_t i = 0; i < n && !t->full; i++) {
		char enc[4];
		if (v[i] > 0x20 && v[i] < 0x7F && v[i] != '%') {
			enc[0] = (char)v[i];
			text_put(t, enc, 1);
		} else {
			snprintf(enc, sizeof(enc), "%%%02X", v[i]);
			text_put(t, enc, 3);
		}
	}
}

static void desc_token(struct x1367_desc *d, const char *key, const struct coap_msg *m)
{
	char hex[2 * COAP_TKL_MAX + 1];
	for (unsigned i = 0; i < m->tkl; i++)
		snprintf(hex + 2 * i, 3, "%02X", m->token[i]);
	hex[2 * m->tkl] = '\0';
	x1367_desc_add(d, key, "%s", m->tkl ? hex : "(empty)");
}

/* "GET (0.01)", "4.04 Not Found". */
static void desc_method(struct x1367_desc *d, uint8_t code)
{
	const char *name = code_find(methods, N_ELEMS(methods), code);
	x1367_desc_add(d, "Method", "%s (0.%02u)", name ? name : "Unknown method", code_detail(code));
}

static void desc_response_code(struct x1367_desc *d, uint8_t code)
{
	const char *name = code_find(responses, N_ELEMS(responses), code);
	x1367_desc_add(d, "Response Code", "%u.%02u %s", code_class(code), code_detail(code),
		       name ? name : "(unassigned)");
}

/* Unsigned option value (Uri-Port): big-endian, at most 4 bytes. */
static uint32_t opt_uint(const uint8_t *v, uint32_t n)
{
	uint32_t x = 0;
	for (uint32_t i = 0; i < n && i < 4; i++)
		x = x << 8 | v[i];
	return x;
}

/* The request's target from its options: "/a/b", "x=1&y=2".  Stored
 * bytes may be cut: what is readable is described, the rest is not. */
static void desc_target(struct x1367_desc *d, const uint8_t *data, size_t len, size_t opt_off)
{
	struct text host = {.len = 0}, path = {.len = 0}, query = {.len = 0}, proxy = {.len = 0};
	struct x1367_reader rd;
	uint32_t number = 0, vlen = 0, port = 0;
	const uint8_t *val = NULL;
	int has_host = 0, has_port = 0, n_path = 0, n_query = 0, has_proxy = 0;

	x1367_rd_init(&rd, data, len);
	x1367_rd_skip(&rd, opt_off);
	while (opt_next(&rd, &number, &val, &vlen) == OPT_ONE) {
		switch (number) {
		case OPT_URI_HOST:
			text_uri(&host, val, vlen);
			has_host = 1;
			break;
		case OPT_URI_PORT:
			port = opt_uint(val, vlen);
			has_port = 1;
			break;
		case OPT_URI_PATH:
			text_put(&path, "/", 1);
			text_uri(&path, val, vlen);
			n_path++;
			break;
		case OPT_URI_QUERY:
			if (n_query++)
				text_put(&query, "&", 1);
			text_uri(&query, val, vlen);
			break;
		case OPT_PROXY_URI:
		case OPT_PROXY_SCHEME:
			if (has_proxy++)
				text_put(&proxy, " ", 1);
			text_uri(&proxy, val, vlen);
			break;
		default:
			break;
		}
	}
	if (has_host)
		x1367_desc_add(d, "Uri-Host", "%s", host.buf);
	if (has_port)
		x1367_desc_add(d, "Uri-Port", "%u", port);
	/* No Uri-Path option is the root resource, unless a proxy is asked
	 * for another URI altogether. */
	if (n_path || !has_proxy)
		x1367_desc_add(d, "Uri-Path", "%s", n_path ? path.buf : "/");
	if (n_query)
		x1367_desc_add(d, "Uri-Query", "%s", query.buf);
	if (has_proxy)
		x1367_desc_add(d, "Proxy-Uri", "%s", proxy.buf);
}

static void desc_request(struct x1367_desc *d, const struct coap_msg *m)
{
	desc_method(d, m->code);
	x1367_desc_add(d, "Message Type", "%s", type_names[m->type]);
	x1367_desc_add(d, "Message ID", "%u", m->mid);
	desc_token(d, "Token", m);
	desc_target(d, m->data, m->len, m->opt_off);
}

/* An error response's payload is a diagnostic message, UTF-8 text meant
 * for a human (RFC 7252 5.5.2): kept if it reads as printable ASCII. */
static void desc_diagnostic(struct x1367_desc *d, const struct coap_msg *m)
{
	size_t n = m->len - m->payload_off;
	char text[DIAG_TEXT_MAX + 4];

	if (n == 0)
		return;
	size_t k = n < DIAG_TEXT_MAX ? n : DIAG_TEXT_MAX;
	for (size_t i = 0; i < k; i++) {
		uint8_t c = m->data[m->payload_off + i];
		if (c < 0x20 || c > 0x7E)
			return;
		text[i] = (char)c;
	}
	memcpy(text + k, n > k ? "..." : "", n > k ? 4 : 1);
	x1367_desc_add(d, "Diagnostic Payload", "%s", text);
}

/* ---- Unique IDs ------------------------------------------------------------ */

static void endpoint_uid(const struct x1367_addr *a, uint16_t port, char *buf, size_t len)
{
	char ip[48];
	api->format_addr(a, ip, sizeof(ip));
	snprintf(buf, len, a->family == X1367_IPV6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* ---- Recent messages, per flow and direction ----------------------------- */

#define RECENT_MAX 8

enum recent_kind { RK_REQUEST = 1, RK_RESPONSE, RK_PING, RK_EMPTY };

struct recent {
	uint32_t ts_sec;        /* capture time, seconds */
	uint16_t mid;
	uint8_t type;           /* enum coap_type */
	uint8_t kind;           /* enum recent_kind; 0 = unused slot */
	uint8_t tkl;
	uint8_t token[COAP_TKL_MAX];
};

struct coap_state {
	struct recent sent[2][RECENT_MAX];   /* by direction of travel */
	uint8_t next[2];
};

static enum recent_kind kind_of(const struct coap_msg *m)
{
	if (m->code == 0)
		return m->type == COAP_CON ? RK_PING : RK_EMPTY;
	return code_class(m->code) == CLASS_REQUEST ? RK_REQUEST : RK_RESPONSE;
}

static int recent_fresh(const struct recent *r, uint64_t ts_usec)
{
	uint64_t then = (uint64_t)r->ts_sec * 1000000ull;
	return r->kind && ts_usec < then + EXCHANGE_LIFETIME_USEC + 1000000ull;
}

/* The same message sent again: same id, type and token, within the
 * exchange lifetime.  Only the token tells a retransmission from a peer
 * that reuses a message id too early for a new message. */
static int recent_seen(const struct coap_state *st, unsigned dir, const struct coap_msg *m,
		       uint64_t ts_usec)
{
	for (unsigned i = 0; i < RECENT_MAX; i++) {
		const struct recent *r = &st->sent[dir][i];
		if (recent_fresh(r, ts_usec) && r->mid == m->mid && r->type == m->type &&
		    r->tkl == m->tkl && !memcmp(r->token, m->token, m->tkl))
			return 1;
	}
	return 0;
}

static void recent_add(struct coap_state *st, unsigned dir, const struct coap_msg *m,
		       uint64_t ts_usec)
{
	struct recent *r = &st->sent[dir][st->next[dir] % RECENT_MAX];
	st->next[dir] = (uint8_t)((st->next[dir] + 1) % RECENT_MAX);
	r->ts_sec = (uint32_t)(ts_usec / 1000000ull);
	r->mid = m->mid;
	r->type = m->type;
	r->kind = (uint8_t)kind_of(m);
	r->tkl = m->tkl;
	memcpy(r->token, m->token, m->tkl);
}

/* The latest CON or NON sent the other way with this message id: what an
 * ACK or a RST answers. */
static const struct recent *recent_by_mid(const struct coap_state *st, unsigned dir, uint16_t mid,
					  uint64_t ts_usec)
{
	for (unsigned k = 1; k <= RECENT_MAX; k++) {
		const struct recent *r = &st->sent[dir][(st->next[dir] + RECENT_MAX - k) % RECENT_MAX];
		if (recent_fresh(r, ts_usec) && r->mid == mid &&
		    (r->type == COAP_CON || r->type == COAP_NON))
			return r;
	}
	return NULL;
}

/* ---- Requests and responses --------------------------------------------- */

/* Scope and key of a request travelling in direction `dir` with this
 * token.  The first key byte keeps each endpoint's token space apart
 * (either end may ask); it also makes the key non-empty, since an empty
 * token is legal.  Group requests cannot pair within one 5-tuple (each
 * member answers from its own address): they use the host pair. */
#define KEY_GROUP 0x80

static struct x1367_txn_key coap_key(unsigned dir, int multicast, const uint8_t *token, uint8_t tkl)
{
	struct x1367_txn_key k = {.scope = multicast ? X1367_TXN_HOSTS : X1367_TXN_FLOW};
	k.id[0] = multicast ? KEY_GROUP : (uint8_t)dir;
	memcpy(k.id + 1, token, tkl);
	k.len = (uint8_t)(1 + tkl);
	return k;
}

/* The message id of a stored request, or -1 if unreadable. */
static long txn_mid(const x1367_txn *txn)
{
	size_t got = 0, wire = 0;
	const uint8_t *req = api->txn_request(txn, &got, &wire);
	struct x1367_reader rd;
	x1367_rd_init(&rd, req, got);
	x1367_rd_skip(&rd, 2);
	uint16_t mid = x1367_rd_be16(&rd);
	return x1367_rd_ok(&rd) ? (long)mid : -1;
}

/* Is a stored request a CON?  (-1: unreadable.) */
static int txn_confirmable(const x1367_txn *txn)
{
	size_t got = 0, wire = 0;
	const uint8_t *req = api->txn_request(txn, &got, &wire);
	if (!req || got < 1)
		return -1;
	return ((req[0] >> 4) & 3) == COAP_CON;
}

/* Ways an open request with the right token may fit a message. */
static int fits_any(const x1367_txn *txn, const void *unused)
{
	(void)txn, (void)unused;
	return 1;
}

static int fits_mid(const x1367_txn *txn, const void *mid)
{
	return txn_mid(txn) == *(const long *)mid;
}

static int fits_non(const x1367_txn *txn, const void *unused)
{
	(void)unused;
	return txn_confirmable(txn) != 1;
}

/* The open request a response (or a reset) travelling in `dir` answers:
 * a request that went the other way on this flow, else a group request
 * from the host this response goes to; of those with its token, the
 * oldest that `fits`.  *tried: how many had the token. */
static x1367_txn *find_request(x1367_ctx *ctx, unsigned dir, const uint8_t *token, uint8_t tkl,
			       int (*fits)(const x1367_txn *, const void *), const void *arg,
			       unsigned *tried)
{
	unsigned on_flow = 0, in_group = 0;
	struct x1367_txn_key key = coap_key(!dir, 0, token, tkl);
	x1367_txn *txn = x1367_txn_find_fit(api, ctx, &key, fits, arg, &on_flow);
	if (!txn) {
		key = coap_key(!dir, 1, token, tkl);
		txn = x1367_txn_find_fit(api, ctx, &key, fits, arg, &in_group);
	}
	*tried = on_flow + in_group;
	return txn;
}

/* A request whose token is already open on this flow.  The same message
 * id too: a retransmission older than the flow's memory of message ids
 * (returns 0: no new request).  Otherwise the peer reused the token before
 * the answer (RFC 7252 5.3.1 asks it not to; a client that always uses one
 * token does).  An open NON is closed, without a record: its answer would
 * come separately, told apart by token only, and the peer has moved on.
 * An open CON stays: its answer, piggybacked in the ACK of its message, is
 * told apart by message id (a separate one goes to the oldest), and if
 * none comes it is one more request left unanswered. */
static int token_in_use(x1367_ctx *ctx, const struct x1367_txn_key *key, const struct coap_msg *m)
{
	long mid = m->mid;
	unsigned tried = 0;
	x1367_txn *old;

	if (x1367_txn_find_fit(api, ctx, key, fits_mid, &mid, &tried)) {
		api->event(ctx, X1367_EV_DUPLICATE_REQUEST);
		return 0;
	}
	if (tried)
		api->event(ctx, EV_TOKEN_REUSED);
	/* Each pass closes one; since every new request closes the open NONs,
	 * there is at most one (bounded all the same). */
	for (unsigned n = 0; n < X1367_TXN_TRY_MAX; n++) {
		if (!(old = x1367_txn_find_fit(api, ctx, key, fits_non, NULL, NULL)))
			break;
		api->txn_answered(ctx, old);
	}
	return 1;
}

static void on_request(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct coap_msg *m)
{
	unsigned dir = pkt->dir;
	int multicast = pkt->dst_is_multicast != 0;

	/* A group request is looked up by its answers' addresses, not by the
	 * group's: not here. */
	struct x1367_txn_key key = coap_key(dir, multicast, m->token, m->tkl);
	if (!multicast && !token_in_use(ctx, &key, m))
		return;
	/* Nothing is formatted per request: coap_describe is asked when a
	 * record needs the request's fields. */
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = key,
		.bytes = m->data,
		.len = m->len,
		.flags = m->type == COAP_CON ? 0 : X1367_TXN_NO_TIMEOUT,
	};
	api->txn_open(ctx, &req);
}

static size_t coap_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			    struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct x1367_reader rd;
	struct coap_msg m;

	endpoint_uid(req->responder, req->responder_port, uid, uid_len);
	memset(&m, 0, sizeof(m));
	m.data = req->bytes;
	m.len = req->len;
	x1367_rd_init(&rd, req->bytes, req->len);
	if (coap_header(&rd, &m) != COAP_OK)
		return 0;
	m.opt_off = rd.pos;
	desc_request(&d, &m);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

static void report(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct coap_msg *m,
		   x1367_txn *txn, const char *vendor, struct x1367_desc *d)
{
	char uid[64];
	endpoint_uid(pkt->src, pkt->sport, uid, sizeof(uid));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = vendor,
		.txn = txn,
		.response = m->data,
		.response_len = m->len,
		.requester_uid = NULL,
		.responder_uid = uid,
		.desc = d->kv,
		.n_desc = d->n,
	};
	api->report(ctx, &rep);
}

/* With a request, the engine adds the fields describe gives (method,
 * path, request's message id and token); the response adds its own,
 * under other names.  Without one, the response says what it can. */
static void report_error(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct coap_msg *m,
			 x1367_txn *txn)
{
	struct x1367_desc d = {.n = 0};
	char vendor[4];

	desc_response_code(&d, m->code);
	x1367_desc_add(&d, "Response Type", "%s", type_names[m->type]);
	if (!txn || m->type != COAP_ACK)
		x1367_desc_add(&d, "Response Message ID", "%u", m->mid);
	if (!txn)
		desc_token(&d, "Token", m);
	desc_diagnostic(&d, m);
	snprintf(vendor, sizeof(vendor), "%02X", m->code);
	report(ctx, pkt, m, txn, vendor, &d);
}

/* An answer is the pulse of a polled device (ABI 1.1: an older engine has
 * only the plain heartbeat). */
static void polled_heartbeat(x1367_ctx *ctx, const char *uid)
{
	if (X1367_HAS_FIELD(api, heartbeat_polled) && api->heartbeat_polled)
		api->heartbeat_polled(ctx, uid);
	else
		api->heartbeat(ctx, uid);
}

static void on_response(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct coap_msg *m)
{
	unsigned dir = pkt->dir;
	long mid = m->mid;
	unsigned tried = 0;

	/* A piggybacked response is the ACK of its request's message: it
	 * answers the open request with its token and message id; an ACK
	 * with no such request answers some other message (a token reused
	 * too soon, a confused proxy).  A separate response (CON, NON)
	 * carries the token only: it answers the oldest. */
	int piggybacked = m->type == COAP_ACK;
	x1367_txn *txn = find_request(ctx, dir, m->token, m->tkl, piggybacked ? fits_mid : fits_any,
				      &mid, &tried);
	if (!txn && tried)
		api->event(ctx, EV_MID_MISMATCH);
	if (!txn)
		api->event(ctx, m->observe ? EV_NOTIFICATION : X1367_EV_RESPONSE_WITHOUT_REQUEST);
	unsigned cls = code_class(m->code);
	if (cls == CLASS_CLIENT_ERROR || cls == CLASS_SERVER_ERROR)
		report_error(ctx, pkt, m, txn);
	if (txn)
		api->txn_answered(ctx, txn);
	if (cls == CLASS_SUCCESS) {
		/* A device's answers (and Observe notifications) are its pulse. */
		char uid[64];
		endpoint_uid(pkt->src, pkt->sport, uid, sizeof(uid));
		polled_heartbeat(ctx, uid);
	}
}

/* A Reset says the peer could not or would not process the message with
 * that id.  Answering a request it is a refusal (an unparsable option, a
 * request it has no context for): reported under VENDOR_RESET.  Answering
 * a ping it is the normal pong; answering a separate response it is the
 * client's business (it forgot the request). */
static void on_reset(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct coap_msg *m,
		     const struct coap_state *st)
{
	unsigned dir = pkt->dir;
	const struct recent *r = st ? recent_by_mid(st, !dir, m->mid, pkt->ts_usec) : NULL;

	if (!r) {
		api->event(ctx, EV_RESET_UNMATCHED);
		return;
	}
	if (r->kind == RK_PING) {
		char uid[64];
		api->event(ctx, EV_RESET_PING);
		endpoint_uid(pkt->src, pkt->sport, uid, sizeof(uid));
		polled_heartbeat(ctx, uid);
		return;
	}
	if (r->kind != RK_REQUEST) {
		api->event(ctx, EV_RESET_RESPONSE);
		return;
	}
	/* The request with the message id it rejects, if still open. */
	long mid = m->mid;
	unsigned tried = 0;
	x1367_txn *txn = find_request(ctx, dir, r->token, r->tkl, fits_mid, &mid, &tried);
	if (!txn) {
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
		return;
	}
	struct x1367_desc d = {.n = 0};
	x1367_desc_add(&d, "Response Type", "RST");
	x1367_desc_add(&d, "Response Code", "Reset (message rejected)");
	report(ctx, pkt, m, txn, VENDOR_RESET, &d);
	api->txn_answered(ctx, txn);
}

static void on_message(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct coap_msg *m,
		       struct coap_state *st)
{
	unsigned dir = pkt->dir;
	unsigned cls = code_class(m->code);

	if (st && recent_seen(st, dir, m, pkt->ts_usec)) {
		api->event(ctx, kind_of(m) == RK_REQUEST ? X1367_EV_DUPLICATE_REQUEST
							 : EV_DUPLICATE_RESPONSE);
		return;
	}
	if (cls != CLASS_REQUEST && cls != CLASS_SUCCESS && cls != CLASS_CLIENT_ERROR &&
	    cls != CLASS_SERVER_ERROR) {
		/* 1.xx, 3.xx, 6.xx, 7.xx: reserved (7.xx is signalling, TCP only). */
		api->event(ctx, EV_RESERVED_CODE);
		return;
	}
	if (st)
		recent_add(st, dir, m, pkt->ts_usec);
	if (m->code == 0) {
		if (m->type == COAP_RST)
			on_reset(ctx, pkt, m, st);
		else if (m->type == COAP_CON)
			api->event(ctx, EV_PING);
		/* An empty ACK: a separate response follows, the request stays
		 * open; or the ACK of a separate response: nothing to do. */
		return;
	}
	if (cls == CLASS_REQUEST) {
		/* A request rides in CON or NON only. */
		if (m->type == COAP_ACK || m->type == COAP_RST) {
			api->event(ctx, EV_BAD_HEADER);
			api->event(ctx, X1367_EV_MALFORMED);
			return;
		}
		on_request(ctx, pkt, m);
		return;
	}
	if (m->type == COAP_RST) {
		/* A Reset is always empty. */
		api->event(ctx, EV_BAD_HEADER);
		api->event(ctx, X1367_EV_MALFORMED);
		return;
	}
	on_response(ctx, pkt, m);
}

/* ---- Transport ------------------------------------------------------------- */

static void malformed(x1367_ctx *ctx, const char *why)
{
	api->event(ctx, why);
	api->event(ctx, X1367_EV_MALFORMED);
}

/* One datagram, one message.  A message that does not parse is dropped
 * (as a CoAP endpoint would: RFC 7252 4.2, 4.3). */
static enum x1367_parse_result coap_parse_datagram(x1367_ctx *ctx, void *state,
						   const struct x1367_packet *pkt,
						   const uint8_t *data, size_t len, size_t *consumed)
{
	struct coap_msg m;

	*consumed = len;
	switch (coap_parse(data, len, &m)) {
	case COAP_BAD_HEADER:
		malformed(ctx, EV_BAD_HEADER);
		return X1367_PARSE_ERROR;
	case COAP_BAD_OPTIONS:
		malformed(ctx, EV_BAD_OPTIONS);
		return X1367_PARSE_ERROR;
	case COAP_OK:
		break;
	}
	if (pkt->dir > X1367_TO_CLIENT)
		return X1367_PARSE_ERROR;
	on_message(ctx, pkt, &m, state);
	return X1367_PARSE_OK;
}

/* CoAP elsewhere than 5683: the whole datagram must parse, and its code
 * must be a method, a registered response code, or an empty message.
 * Four header bytes are little to go on: the known codes and a strict
 * option walk keep random datagrams out. */
static enum x1367_probe_result coap_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	struct coap_msg m;
	(void)dir;

	if (len == 0)
		return X1367_PROBE_MAYBE;
	if (coap_parse(data, len, &m) != COAP_OK)
		return X1367_PROBE_NO;
	if (m.code == 0)
		return X1367_PROBE_YES;
	if (code_class(m.code) == CLASS_REQUEST)
		return (m.type == COAP_CON || m.type == COAP_NON) &&
			       code_find(methods, N_ELEMS(methods), m.code)
			       ? X1367_PROBE_YES
			       : X1367_PROBE_NO;
	return m.type != COAP_RST && code_find(responses, N_ELEMS(responses), m.code)
		       ? X1367_PROBE_YES
		       : X1367_PROBE_NO;
}

static int coap_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t coap_ports[] = {5683, 0};

static const char *const coap_events[] = {
	EV_BAD_HEADER,
	EV_BAD_OPTIONS,
	EV_RESERVED_CODE,
	EV_DUPLICATE_RESPONSE,
	EV_MID_MISMATCH,
	EV_TOKEN_REUSED,
	EV_PING,
	EV_RESET_PING,
	EV_RESET_RESPONSE,
	EV_RESET_UNMATCHED,
	EV_NOTIFICATION,
	NULL,
};

static const struct x1367_dissector coap_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "coap",
	.protocol = "CoAP",
	.transports = X1367_UDP,
	.ports = coap_ports,
	/* nDPI 4.2 calls it "COAP" (its lookup ignores case). */
	.ndpi_name = "COAP",
	.request_timeout_ms = 10000,
	.state_size = sizeof(struct coap_state),
	.init = coap_init,
	.probe = coap_probe,
	.parse = {
		[X1367_TO_SERVER] = coap_parse_datagram,
		[X1367_TO_CLIENT] = coap_parse_datagram,
	},
	.event_names = coap_events,
	.describe_request = coap_describe,
	.version = "1.0",
};

const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &coap_dissector;
}
