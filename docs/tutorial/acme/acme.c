/*
 * ACME Thermostat Protocol (ATP): an x1367ids dissector plugin.
 *
 * TCP port 9760.  Every message is an 8-byte header and a payload; all
 * integers are big-endian:
 *
 *   'A' 'C' · version (1, always 1) · type (1) · request id (2)
 *   · payload length (2, at most 256) · payload
 *
 *   requests, client -> thermostat      responses, thermostat -> client
 *   0x01 LOGIN  user (2) · PIN (4)      0x80 OK     READ: value (2)
 *   0x02 READ   register (2)            0x81 ERROR  vendor error code (2)
 *   0x03 WRITE  register (2) · value (2)
 *
 * A response carries the request id of the request it answers.
 */
#include <x1367ids/dissector.h>

#define ACME_HDR_LEN 8
#define ACME_VERSION 1
#define ACME_MAX_PAYLOAD 256

enum acme_type {
	ACME_LOGIN = 0x01,
	ACME_READ = 0x02,
	ACME_WRITE = 0x03,
	ACME_OK = 0x80,
	ACME_ERROR = 0x81,
};

/* Our own events (counted in the statistics), besides X1367_EV_*. */
#define EV_BAD_HEADER "bad_header"
#define EV_BAD_MESSAGE "bad_message"

struct acme_hdr {
	uint8_t type;
	uint16_t id;
	uint16_t len;            /* of the payload */
};

/* Per connection: allocated and zeroed by the engine (state_size),
 * released by it when the flow ends. */
struct acme_state {
	uint8_t logged_in;
	uint16_t user;           /* who logged in on this connection */
};

/* Set once by init, read-only afterwards: the only global we keep. */
static const struct x1367_engine_api *api;

/* ---- Step 1: framing ------------------------------------------------- */

enum frame { FRAME_OK, FRAME_SHORT, FRAME_BAD };

/* Reads the header at data[0].  FRAME_OK: a whole message is there. */
static enum frame acme_frame(const uint8_t *data, size_t len, struct acme_hdr *h)
{
	struct x1367_reader rd;

	x1367_rd_init(&rd, data, len);
	uint8_t m0 = x1367_rd_u8(&rd);
	uint8_t m1 = x1367_rd_u8(&rd);
	uint8_t version = x1367_rd_u8(&rd);
	h->type = x1367_rd_u8(&rd);
	h->id = x1367_rd_be16(&rd);
	h->len = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd))
		return FRAME_SHORT;              /* less than a header */
	if (m0 != 'A' || m1 != 'C' || version != ACME_VERSION || h->len > ACME_MAX_PAYLOAD)
		return FRAME_BAD;
	if (!x1367_rd_need(&rd, h->len))
		return FRAME_SHORT;              /* the payload is still coming */
	return FRAME_OK;
}

/* After a bad header: skip to the next 'A' (maybe a header: the next
 * call judges it), at least one byte. */
static size_t acme_resync(const uint8_t *data, size_t len)
{
	struct x1367_reader rd;

	x1367_rd_init(&rd, data, len);
	x1367_rd_skip(&rd, 1);
	while (x1367_rd_left(&rd) > 0) {
		size_t at = rd.pos;
		if (x1367_rd_u8(&rd) == 'A')
			return at;
	}
	return len;
}

/* ---- Step 2: requests open transactions ------------------------------- */

/* Scope FLOW: a response answers a request of the same TCP connection
 * with the same request id. */
static struct x1367_txn_key acme_key(uint16_t id)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 2};

	k.id[0] = (uint8_t)(id >> 8);
	k.id[1] = (uint8_t)id;
	return k;
}

/* The engine copies the request's bytes; nothing is formatted here:
 * acme_describe is asked only when a record needs the request. */
static int on_request(x1367_ctx *ctx, const uint8_t *msg, size_t len, const struct acme_hdr *h)
{
	if (h->type != ACME_LOGIN && h->type != ACME_READ && h->type != ACME_WRITE)
		return -1;
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = acme_key(h->id),
		.bytes = msg,
		.len = len,
	};
	api->txn_open(ctx, &req);    /* -1: table full, counted by the engine */
	return 0;
}

/* ---- Step 3: responses close them, errors are reported ---------------- */

/* An OK to a LOGIN: remember the user for this connection's records. */
static void note_login(struct acme_state *st, const x1367_txn *txn)
{
	size_t got = 0, wire = 0;
	const uint8_t *req = api->txn_request(txn, &got, &wire);
	struct x1367_reader rd;

	x1367_rd_init(&rd, req, got);
	x1367_rd_skip(&rd, 3);
	uint8_t type = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 4);
	uint16_t user = x1367_rd_be16(&rd);
	if (x1367_rd_ok(&rd) && type == ACME_LOGIN) {
		st->logged_in = 1;
		st->user = user;
	}
}

static int report_error(x1367_ctx *ctx, const struct acme_state *st,
			const struct x1367_packet *pkt, const uint8_t *msg, size_t len,
			const struct acme_hdr *h, x1367_txn *txn)
{
	struct x1367_reader rd;

	x1367_rd_init(&rd, msg, len);
	x1367_rd_skip(&rd, ACME_HDR_LEN);
	uint16_t code = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd))
		return -1;                       /* an ERROR without its code */

	/* The vendor code as acme.map spells it: four hex digits. */
	char vendor[8], uid[64];
	snprintf(vendor, sizeof(vendor), "%04X", code);
	api->format_addr(pkt->src, uid, sizeof(uid));

	/* With a request, the engine adds what acme_describe says about it. */
	struct x1367_desc d = {.n = 0};
	if (!txn)
		x1367_desc_add(&d, "Request ID", "%u", h->id);
	if (st->logged_in)
		x1367_desc_add(&d, "Session User", "%u", st->user);

	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = vendor,
		.txn = txn,
		.response = msg,
		.response_len = len,
		.requester_uid = NULL,           /* the requester's address */
		.responder_uid = uid,
		.desc = d.kv,
		.n_desc = d.n,
	};
	api->report(ctx, &rep);
	if (txn)
		api->txn_answered(ctx, txn);
	return 0;
}

static int on_response(x1367_ctx *ctx, struct acme_state *st, const struct x1367_packet *pkt,
		       const uint8_t *msg, size_t len, const struct acme_hdr *h)
{
	if (h->type != ACME_OK && h->type != ACME_ERROR)
		return -1;
	struct x1367_txn_key key = acme_key(h->id);
	x1367_txn *txn = api->txn_find(ctx, &key);

	if (h->type == ACME_ERROR)
		return report_error(ctx, st, pkt, msg, len, h, txn);
	if (!txn) {
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
		return 0;
	}
	note_login(st, txn);
	api->txn_answered(ctx, txn);
	return 0;
}

/* One message per call: the engine calls again with the rest. */
static enum x1367_parse_result acme_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					  const uint8_t *data, size_t len, size_t *consumed)
{
	struct acme_state none = {.logged_in = 0};
	struct acme_state *st = state ? state : &none;
	struct acme_hdr h;

	*consumed = 0;
	switch (acme_frame(data, len, &h)) {
	case FRAME_SHORT:
		return X1367_PARSE_NEED_MORE;    /* the engine keeps the bytes */
	case FRAME_BAD:
		api->event(ctx, EV_BAD_HEADER);
		api->event(ctx, X1367_EV_MALFORMED);
		*consumed = acme_resync(data, len);
		return X1367_PARSE_ERROR;
	case FRAME_OK:
		break;
	}
	size_t msg_len = ACME_HDR_LEN + (size_t)h.len;
	*consumed = msg_len;
	int rc = pkt->dir == X1367_TO_SERVER ? on_request(ctx, data, msg_len, &h)
					     : on_response(ctx, st, pkt, data, msg_len, &h);
	if (rc) {
		api->event(ctx, EV_BAD_MESSAGE); /* framed, but not a message */
		api->event(ctx, X1367_EV_MALFORMED);
		return X1367_PARSE_ERROR;
	}
	return X1367_PARSE_OK;
}

/* ---- Step 4: describe a stored request, when a record needs it -------- */

static const char *type_name(uint8_t type)
{
	switch (type) {
	case ACME_LOGIN:
		return "LOGIN";
	case ACME_READ:
		return "READ";
	case ACME_WRITE:
		return "WRITE";
	}
	return "unknown";
}

static size_t acme_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			    struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct x1367_reader rd;

	api->format_addr(req->responder, uid, uid_len);
	x1367_rd_init(&rd, req->bytes, req->len);
	x1367_rd_skip(&rd, 3);
	uint8_t type = x1367_rd_u8(&rd);
	uint16_t id = x1367_rd_be16(&rd);
	x1367_rd_skip(&rd, 2);
	if (!x1367_rd_ok(&rd))
		return 0;
	x1367_desc_add(&d, "Request ID", "%u", id);
	x1367_desc_add(&d, "Message", "%s (0x%02X)", type_name(type), type);
	uint16_t arg = x1367_rd_be16(&rd);
	if (x1367_rd_ok(&rd) && type == ACME_LOGIN)
		x1367_desc_add(&d, "User", "%u", arg);   /* never the PIN */
	if (x1367_rd_ok(&rd) && (type == ACME_READ || type == ACME_WRITE))
		x1367_desc_add(&d, "Register", "0x%04X", arg);
	uint16_t value = x1367_rd_be16(&rd);
	if (x1367_rd_ok(&rd) && type == ACME_WRITE)
		x1367_desc_add(&d, "Value", "%u", value);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

/* ---- Step 5: the descriptor ------------------------------------------- */

static int acme_init(const struct x1367_engine_api *engine)
{
	/* An older engine's table may end before a function we call. */
	if (!X1367_HAS_FIELD(engine, format_addr))
		return -1;
	api = engine;
	return 0;
}

static const uint16_t acme_ports[] = {9760, 0};

static const char *const acme_events[] = {EV_BAD_HEADER, EV_BAD_MESSAGE, NULL};

static const struct x1367_dissector acme = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "acme",
	.protocol = "ACME Thermostat Protocol",
	.transports = X1367_TCP,
	.ports = acme_ports,
	.request_timeout_ms = 5000,
	.state_size = sizeof(struct acme_state),
	.init = acme_init,
	.parse = {
		[X1367_TO_SERVER] = acme_parse,
		[X1367_TO_CLIENT] = acme_parse,
	},
	.event_names = acme_events,
	.describe_request = acme_describe,
};

X1367_PLUGIN_EXPORT const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &acme;
}
