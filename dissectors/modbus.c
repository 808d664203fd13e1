/*
 * Modbus/TCP: the MBAP header (7 bytes) frames each ADU.
 *
 *   tid (2) · protocol id (2, always 0) · length (2: unit + PDU) · unit (1)
 *   · function code (1) · data
 *
 * Requests (to the server) open a transaction keyed by tid + unit; a
 * response carries the same tid and unit, and its function code is the
 * request's, with the high bit set when the server answers with an
 * exception.  Every such exception is reported; the rules tables decide
 * what it means (05 Acknowledge is "no record" there, not here).
 *
 * Over TCP the engine hands us an ordered byte stream: several ADUs may
 * sit in one call and one ADU may need several.  Over UDP each datagram
 * is one ADU.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <x1367ids/dissector.h>

#define MBAP_HDR_LEN 7
#define MBAP_LEN_MIN 2          /* unit id + function code */
#define MBAP_LEN_MAX 254        /* unit id + the 253-byte PDU limit */
#define FC_EXCEPTION 0x80
#define FC_MEI 43

#define EV_INVALID_MBAP "invalid_mbap"
#define EV_FUNCTION_MISMATCH "function_mismatch"
#define EV_INVALID_EXCEPTION "invalid_exception"

static const struct x1367_engine_api *api;

/* Per flow: after a framing error, skip bytes without counting every one
 * of them as another error, until a valid ADU is found again. */
struct modbus_state {
	uint8_t resyncing[2];
};

struct mbap {
	uint16_t tid;
	uint16_t pid;
	uint16_t length;
	uint8_t unit;
	uint8_t fc;
};

/* ---- Tables ------------------------------------------------------------ */

/* Which request fields are worth naming in a record. */
enum mb_fields {
	MB_F_NONE,
	MB_F_ADDR_QTY,        /* reads, multiple writes */
	MB_F_ADDR_VALUE,      /* single writes */
	MB_F_ADDR,            /* mask write, FIFO */
	MB_F_READ_WRITE,      /* 23: read and write ranges */
	MB_F_SUBFUNC,         /* 8: diagnostics */
};

struct mb_function {
	uint8_t code;
	const char *name;
	enum mb_fields fields;
};

static const struct mb_function functions[] = {
	{1, "Read Coils", MB_F_ADDR_QTY},
	{2, "Read Discrete Inputs", MB_F_ADDR_QTY},
	{3, "Read Holding Registers", MB_F_ADDR_QTY},
	{4, "Read Input Registers", MB_F_ADDR_QTY},
	{5, "Write Single Coil", MB_F_ADDR_VALUE},
	{6, "Write Single Register", MB_F_ADDR_VALUE},
	{7, "Read Exception Status", MB_F_NONE},
	{8, "Diagnostics", MB_F_SUBFUNC},
	{11, "Get Comm Event Counter", MB_F_NONE},
	{12, "Get Comm Event Log", MB_F_NONE},
	{15, "Write Multiple Coils", MB_F_ADDR_QTY},
	{16, "Write Multiple Registers", MB_F_ADDR_QTY},
	{17, "Report Server ID", MB_F_NONE},
	{20, "Read File Record", MB_F_NONE},
	{21, "Write File Record", MB_F_NONE},
	{22, "Mask Write Register", MB_F_ADDR},
	{23, "Read/Write Multiple Registers", MB_F_READ_WRITE},
	{24, "Read FIFO Queue", MB_F_ADDR},
	{43, "Encapsulated Interface Transport", MB_F_NONE},
};

/* Function 43 is a family: the MEI type byte says which member. */
struct mb_mei {
	uint8_t type;
	const char *name;
};

static const struct mb_mei mei_types[] = {
	{13, "CANopen General Reference"},
	{14, "Read Device Identification"},
};

/* Ranges the specification leaves to vendors: named, not unknown. */
struct mb_range {
	uint8_t lo, hi;
};

static const struct mb_range user_defined[] = {
	{65, 72},
	{100, 110},
};

static const char *const exception_names[] = {
	[0x01] = "Illegal Function",
	[0x02] = "Illegal Data Address",
	[0x03] = "Illegal Data Value",
	[0x04] = "Server Device Failure",
	[0x05] = "Acknowledge",
	[0x06] = "Server Device Busy",
	[0x07] = "Negative Acknowledge",
	[0x08] = "Memory Parity Error",
	[0x0A] = "Gateway Path Unavailable",
	[0x0B] = "Gateway Target Device Failed to Respond",
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

static const struct mb_function *function_find(uint8_t fc)
{
	for (size_t i = 0; i < N_ELEMS(functions); i++)
		if (functions[i].code == fc)
			return &functions[i];
	return NULL;
}

static int function_user_defined(uint8_t fc)
{
	for (size_t i = 0; i < N_ELEMS(user_defined); i++)
		if (fc >= user_defined[i].lo && fc <= user_defined[i].hi)
			return 1;
	return 0;
}

/* A function code a real peer would send: used only to recognise a
 * header (probe, resynchronisation), never to refuse a request — an
 * attacker scanning for functions is exactly what we want to see. */
static int function_known(uint8_t fc)
{
	return function_find(fc) != NULL || function_user_defined(fc);
}

static const char *exception_name(uint8_t code)
{
	if (code < N_ELEMS(exception_names) && exception_names[code])
		return exception_names[code];
	return "Unknown exception";
}

/* ---- Description fields -------------------------------------------------- */


/* "Read Holding Registers (3)", "Read Device Identification (43/14)".
 * `pdu` starts after the function code; it may be empty (exceptions). */
static void desc_function(struct x1367_desc *d, uint8_t fc, const uint8_t *pdu, size_t pdu_len)
{
	const struct mb_function *f = function_find(fc);

	if (fc == FC_MEI && pdu_len >= 1) {
		for (size_t i = 0; i < N_ELEMS(mei_types); i++)
			if (mei_types[i].type == pdu[0]) {
				x1367_desc_add(d, "Function", "%s (%u/%u)", mei_types[i].name, fc, pdu[0]);
				return;
			}
		x1367_desc_add(d, "Function", "%s (%u/%u)", f->name, fc, pdu[0]);
	} else if (f) {
		x1367_desc_add(d, "Function", "%s (%u)", f->name, fc);
	} else if (function_user_defined(fc)) {
		x1367_desc_add(d, "Function", "User-defined function %u", fc);
	} else {
		x1367_desc_add(d, "Function", "Unknown function (%u)", fc);
	}
}

/* The request's own fields: what was read or written, and where. */
static void desc_request_fields(struct x1367_desc *d, uint8_t fc, const uint8_t *pdu, size_t pdu_len)
{
	const struct mb_function *f = function_find(fc);
	struct x1367_reader rd;
	x1367_rd_init(&rd, pdu, pdu_len);
	uint16_t a = x1367_rd_be16(&rd);
	uint16_t b = x1367_rd_be16(&rd);

	if (!f || !x1367_rd_ok(&rd))
		return;
	switch (f->fields) {
	case MB_F_ADDR_QTY:
		x1367_desc_add(d, "Address", "%u", a);
		x1367_desc_add(d, "Quantity", "%u", b);
		break;
	case MB_F_ADDR_VALUE:
		x1367_desc_add(d, "Address", "%u", a);
		x1367_desc_add(d, "Value", "0x%04X", b);
		break;
	case MB_F_ADDR:
		x1367_desc_add(d, "Address", "%u", a);
		break;
	case MB_F_READ_WRITE: {
		uint16_t wa = x1367_rd_be16(&rd);
		uint16_t wq = x1367_rd_be16(&rd);
		x1367_desc_add(d, "Address", "%u", a);
		x1367_desc_add(d, "Quantity", "%u", b);
		if (x1367_rd_ok(&rd)) {
			x1367_desc_add(d, "Write Address", "%u", wa);
			x1367_desc_add(d, "Write Quantity", "%u", wq);
		}
		break;
	}
	case MB_F_SUBFUNC:
		x1367_desc_add(d, "Sub-function", "%u", a);
		break;
	case MB_F_NONE:
		break;
	}
}

/* Everything a request says about itself: stored with the transaction,
 * the engine puts it in the record of its exception or of its timeout. */
static void desc_request(struct x1367_desc *d, const uint8_t *adu, size_t len)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, adu, len);
	uint16_t tid = x1367_rd_be16(&rd);
	x1367_rd_skip(&rd, 4);
	uint8_t unit = x1367_rd_u8(&rd);
	uint8_t fc = x1367_rd_u8(&rd);

	if (!x1367_rd_ok(&rd))
		return;
	x1367_desc_add(d, "Transaction ID", "%u", tid);
	x1367_desc_add(d, "Unit ID", "%u", unit);
	desc_function(d, fc, adu + rd.pos, len - rd.pos);
	desc_request_fields(d, fc, adu + rd.pos, len - rd.pos);
}

/* ---- Framing ------------------------------------------------------------- */

enum hdr_verdict { HDR_OK, HDR_SHORT, HDR_BAD };

static enum hdr_verdict mbap_read(const uint8_t *data, size_t len, struct mbap *h)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	h->tid = x1367_rd_be16(&rd);
	h->pid = x1367_rd_be16(&rd);
	h->length = x1367_rd_be16(&rd);
	h->unit = x1367_rd_u8(&rd);
	h->fc = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd))
		return HDR_SHORT;
	if (h->pid != 0 || h->length < MBAP_LEN_MIN || h->length > MBAP_LEN_MAX)
		return HDR_BAD;
	return HDR_OK;
}

/* Could a header start at data[0]?  Only the bytes present are judged (the
 * probe sees first bytes only).  The function code must be one a real
 * peer sends, so that resynchronising does not lock onto zeros inside a
 * register dump. */
static int header_plausible(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	if (len > 2 && data[2] != 0)
		return 0;
	if (len > 3 && data[3] != 0)
		return 0;
	if (len > 5) {
		unsigned l = (unsigned)data[4] << 8 | data[5];
		if (l < MBAP_LEN_MIN || l > MBAP_LEN_MAX)
			return 0;
	}
	if (len > 7) {
		uint8_t fc = data[7];
		if (dir == X1367_TO_SERVER && (fc & FC_EXCEPTION))
			return 0;
		/* An exception has a fixed shape (length 3: unit, function,
		 * code): plausible whatever the function, for the answers to
		 * a scan of unknown functions are exactly these. */
		if (dir == X1367_TO_CLIENT && (fc & FC_EXCEPTION) && len > 5 &&
		    data[4] == 0 && data[5] == 3)
			return 1;
		if (!function_known(fc & (uint8_t)~FC_EXCEPTION))
			return 0;
	}
	return 1;
}

/* Resynchronising wants a whole header to judge: a few bytes that merely
 * do not contradict one are more likely the tail of the garbage. */
static int header_plausible_full(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	return len >= MBAP_HDR_LEN + 1 && header_plausible(data, len, dir);
}

/* Bytes to skip from a bad header to the next plausible one: at least 1,
 * everything when no whole plausible header follows.  Losing an ADU that
 * straddles the end is better than misreading garbage as one. */
static size_t resync_skip(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	size_t p = 1;
	while (p < len && !header_plausible_full(data + p, len - p, dir))
		p++;
	return p;
}

/* ---- Requests and responses --------------------------------------------- */

static struct x1367_txn_key mbap_key(const struct mbap *h)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 3};
	k.id[0] = (uint8_t)(h->tid >> 8);
	k.id[1] = (uint8_t)h->tid;
	k.id[2] = h->unit;
	return k;
}

/* "192.0.2.10#1": who answers for this unit. */
static void unit_uid(const struct x1367_addr *a, uint8_t unit, char *buf, size_t len)
{
	char ip[48];
	api->format_addr(a, ip, sizeof(ip));
	snprintf(buf, len, "%s#%u", ip, unit);
}

/* Nothing is formatted per request: the engine asks modbus_describe when
 * a record needs the request's fields. */
static void on_request(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *adu,
		       size_t len, const struct mbap *h)
{
	(void)pkt;
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = mbap_key(h),
		.bytes = adu,
		.len = len,
	};
	api->txn_open(ctx, &req);
}

static size_t modbus_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			      struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct x1367_reader rd;

	x1367_rd_init(&rd, req->bytes, req->len);
	x1367_rd_skip(&rd, MBAP_HDR_LEN - 1);
	uint8_t unit = x1367_rd_u8(&rd);
	unit_uid(req->responder, unit, uid, uid_len);
	desc_request(&d, req->bytes, req->len);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

/* Does the stored request ask for the function this response answers?
 * (An exception sets the high bit of the request's function code.) */
static int same_function(const x1367_txn *txn, const void *arg)
{
	const struct mbap *h = arg;
	size_t got = 0, wire = 0;
	const uint8_t *req = api->txn_request(txn, &got, &wire);
	struct x1367_reader rd;
	x1367_rd_init(&rd, req, got);
	x1367_rd_skip(&rd, MBAP_HDR_LEN);
	uint8_t req_fc = x1367_rd_u8(&rd);
	return x1367_rd_ok(&rd) && (req_fc & 0x7F) == (h->fc & 0x7F);
}

/* The request a response answers, or NULL.  Pairing is by connection,
 * transaction id and unit, and the function is checked: a response echoes
 * its request's function code (with the high bit set in an exception), so
 * a response for another function does not answer that request.  When one
 * transaction id is open more than once (a client that reuses it before
 * the first answer; real clients send two such ADUs in one segment), an
 * answer goes to the oldest request of its function: a server answers in
 * order, and one that does not (a gateway) still cannot answer a request
 * with another function's response.  A response that fits none answers
 * something else (a reused tid, a confused gateway): the requests stay
 * open for their own answers. */
static x1367_txn *find_request(x1367_ctx *ctx, const struct mbap *h)
{
	struct x1367_txn_key key = mbap_key(h);
	unsigned tried = 0;
	x1367_txn *txn = x1367_txn_find_fit(api, ctx, &key, same_function, h, &tried);
	if (!txn && tried)
		api->event(ctx, EV_FUNCTION_MISMATCH);
	return txn;
}

static void report_exception(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *adu,
			     size_t len, const struct mbap *h, x1367_txn *txn)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, adu, len);
	x1367_rd_skip(&rd, MBAP_HDR_LEN + 1);
	uint8_t code = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd)) {
		/* An exception without its code: nothing to map. */
		api->event(ctx, EV_INVALID_EXCEPTION);
		api->event(ctx, X1367_EV_MALFORMED);
		return;
	}

	/* With a request, the engine adds the fields stored with it (tid,
	 * unit, function, address...); without one, the response says what
	 * it can. */
	struct x1367_desc d = {.n = 0};
	if (!txn) {
		x1367_desc_add(&d, "Transaction ID", "%u", h->tid);
		x1367_desc_add(&d, "Unit ID", "%u", h->unit);
		desc_function(&d, h->fc & 0x7F, NULL, 0);
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	}
	x1367_desc_add(&d, "Exception", "%s (%u)", exception_name(code), code);

	char vendor[4], uid[64];
	snprintf(vendor, sizeof(vendor), "%02X", code);
	unit_uid(pkt->src, h->unit, uid, sizeof(uid));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = vendor,
		.txn = txn,
		.response = adu,
		.response_len = len,
		.requester_uid = NULL,
		.responder_uid = uid,
		.desc = d.kv,
		.n_desc = d.n,
	};
	api->report(ctx, &rep);
	if (txn)
		api->txn_answered(ctx, txn);
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

static void on_response(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *adu,
			size_t len, const struct mbap *h)
{
	x1367_txn *txn = find_request(ctx, h);

	if (h->fc & FC_EXCEPTION) {
		report_exception(ctx, pkt, adu, len, h, txn);
		return;
	}
	if (txn)
		api->txn_answered(ctx, txn);
	else
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	/* A polled device's answers are its pulse: silence detection. */
	char uid[64];
	unit_uid(pkt->src, h->unit, uid, sizeof(uid));
	polled_heartbeat(ctx, uid);
}

static void on_adu(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *adu, size_t len,
		   const struct mbap *h, enum x1367_dir dir)
{
	if (dir == X1367_TO_SERVER)
		on_request(ctx, pkt, adu, len, h);
	else
		on_response(ctx, pkt, adu, len, h);
}

/* A framing error: count it once, then skip to the next plausible header. */
static size_t framing_error(x1367_ctx *ctx, struct modbus_state *st, const uint8_t *data,
			    size_t len, enum x1367_dir dir)
{
	if (!st->resyncing[dir]) {
		api->event(ctx, EV_INVALID_MBAP);
		api->event(ctx, X1367_EV_MALFORMED);
		st->resyncing[dir] = 1;
	}
	return resync_skip(data, len, dir);
}

static enum x1367_parse_result parse_stream(x1367_ctx *ctx, struct modbus_state *st,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed, enum x1367_dir dir)
{
	size_t off = 0;

	while (off < len) {
		struct mbap h;
		enum hdr_verdict v = mbap_read(data + off, len - off, &h);
		if (v == HDR_SHORT)
			break;
		/* While resynchronising, a header must look real, not just frame. */
		if (v == HDR_OK && st->resyncing[dir] &&
		    !header_plausible_full(data + off, len - off, dir))
			v = HDR_BAD;
		if (v == HDR_BAD) {
			*consumed = off + framing_error(ctx, st, data + off, len - off, dir);
			return X1367_PARSE_ERROR;
		}
		size_t adu_len = 6u + h.length;
		if (len - off < adu_len)
			break;
		st->resyncing[dir] = 0;
		on_adu(ctx, pkt, data + off, adu_len, &h, dir);
		off += adu_len;
	}
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

/* One datagram, one ADU: its length must agree with the datagram's. */
static enum x1367_parse_result parse_datagram(x1367_ctx *ctx, const struct x1367_packet *pkt,
					      const uint8_t *data, size_t len, size_t *consumed,
					      enum x1367_dir dir)
{
	struct mbap h;

	*consumed = len;
	if (mbap_read(data, len, &h) != HDR_OK || 6u + h.length != len) {
		api->event(ctx, EV_INVALID_MBAP);
		api->event(ctx, X1367_EV_MALFORMED);
		return X1367_PARSE_ERROR;
	}
	on_adu(ctx, pkt, data, len, &h, dir);
	return X1367_PARSE_OK;
}

static enum x1367_parse_result parse_dir(x1367_ctx *ctx, void *state,
					 const struct x1367_packet *pkt, const uint8_t *data,
					 size_t len, size_t *consumed, enum x1367_dir dir)
{
	struct modbus_state none = {.resyncing = {0, 0}};

	if (pkt->transport == X1367_UDP)
		return parse_datagram(ctx, pkt, data, len, consumed, dir);
	/* The engine gives state to every flow; do not trust it blindly. */
	return parse_stream(ctx, state ? state : &none, pkt, data, len, consumed, dir);
}

/* One callback serves both directions: the packet says which. */
static enum x1367_parse_result modbus_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					 const uint8_t *data, size_t len, size_t *consumed)
{
	return parse_dir(ctx, state, pkt, data, len, consumed, (enum x1367_dir)pkt->dir);
}

/* After lost bytes the stream resumes anywhere inside an ADU: find the
 * next header quietly rather than count the cut as the sender's error. */
static void modbus_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct modbus_state *st = state;
	(void)ctx;
	/* No state yet: no bytes seen yet, nothing to resynchronise. */
	if (st && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT))
		st->resyncing[dir] = 1;
}

/* Modbus on another port: every ADU in the first bytes must frame, with a
 * function a peer would send.  Partial data that still fits: maybe. */
static enum x1367_probe_result modbus_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	size_t off = 0;

	if (len == 0)
		return X1367_PROBE_MAYBE;
	while (off < len) {
		struct mbap h;
		enum hdr_verdict v = mbap_read(data + off, len - off, &h);
		if (!header_plausible(data + off, len - off, dir) || v == HDR_BAD)
			return X1367_PROBE_NO;
		if (v == HDR_SHORT || len - off < 6u + h.length)
			return off ? X1367_PROBE_YES : X1367_PROBE_MAYBE;
		off += 6u + h.length;
	}
	return X1367_PROBE_YES;
}

static int modbus_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t modbus_ports[] = {502, 0};

static const char *const modbus_events[] = {
	EV_INVALID_MBAP,
	EV_FUNCTION_MISMATCH,
	EV_INVALID_EXCEPTION,
	NULL,
};

const struct x1367_dissector x1367_builtin_modbus = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "modbus",
	.protocol = "Modbus/TCP",
	.transports = X1367_TCP | X1367_UDP,
	.ports = modbus_ports,
	.ndpi_name = "Modbus",
	.request_timeout_ms = 5000,
	.state_size = sizeof(struct modbus_state),
	.init = modbus_init,
	.probe = modbus_probe,
	.parse = {
		[X1367_TO_SERVER] = modbus_parse,
		[X1367_TO_CLIENT] = modbus_parse,
	},
	.gap = modbus_gap,
	.event_names = modbus_events,
	.describe_request = modbus_describe,
};
