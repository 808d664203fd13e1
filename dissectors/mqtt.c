/*
 * MQTT 3.1, 3.1.1 and 5.0 over TCP port 1883.
 *
 * MQTT over TLS (port 8883) shows nothing of this: the TLS dissector sees
 * those flows, and this plugin does not claim the port.
 *
 * Framing: every control packet starts with a fixed header,
 *   type (4 bits) · flags (4 bits) · remaining length (varint, 1-4 bytes)
 * followed by that many bytes.  A fifth length byte, type 0 or flags the
 * type does not allow mean the stream is not at a packet boundary: counted
 * once as malformed, then the parser looks for a run of plausible packets
 * that ends exactly where the bytes end (MQTT has no sync marker).
 *
 * Requests, and what must answer them (scope: the connection; the key is
 * the request's direction, the answer's packet type and the packet id,
 * since each side numbers its own packets):
 *   CONNECT -> CONNACK                 SUBSCRIBE -> SUBACK
 *   PUBLISH QoS 1 -> PUBACK            UNSUBSCRIBE -> UNSUBACK
 *   PUBLISH QoS 2 -> PUBREC            PINGREQ -> PINGRESP
 *   PUBREL -> PUBCOMP
 * PUBLISH goes both ways (a broker delivers with QoS 1/2 too): whoever
 * publishes is the requester.  QoS 0 PUBLISH, DISCONNECT and AUTH need no
 * answer.
 *
 * Errors reported (vendor code = answer's packet type, then its code, both
 * two hex digits; rules/mqtt.map lists them):
 *   CONNACK return code 1-5 (3.1.1) or reason >= 0x80 (5.0)   "02xx"
 *   PUBACK / PUBREC / PUBCOMP reason >= 0x80 (5.0)             "04xx" "05xx" "07xx"
 *   SUBACK per topic filter: 0x80 (3.1.1) or >= 0x80 (5.0)     "09xx"
 *   UNSUBACK per topic filter >= 0x80 (5.0)                    "0Bxx"
 *   DISCONNECT from the server with reason >= 0x80 (5.0)       "0Exx"
 * A server's DISCONNECT answers the client's last open request, if any
 * (the packet that made the server hang up), else it stands alone.
 *
 * A packet id open twice (a client that reuses it before the answer, which
 * MQTT forbids but a client may do): answers go to the oldest request of
 * the key.  The key already holds the answer's type, and answers come in
 * order (MQTT 3.1.1 and 5.0, 4.6: PUBACK, PUBREC and PUBREL in the order
 * the packets were received; a broker reads one connection in order), so
 * no other field needs to pick.
 *
 * Unique IDs: the requester is its address (the engine's default); the
 * responder is "address:port" ("[IPv6]:port"), for the broker
 * "192.0.2.11:1883".  A client's PUBLISH feeds the silence detector as
 * "address#client-id" (the same across reconnections).
 *
 * Packets larger than MQTT_HOLD bytes are dissected from their first
 * MQTT_HOLD bytes; the rest is skipped unbuffered (big payloads).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define MQTT_HOLD 4096               /* bytes of a packet kept to dissect it */
#define MQTT_RL_MAX 268435455u       /* 4-byte varint limit */
#define MQTT_SMALL_MAX 65536u        /* acks and pings are never bigger */
#define MQTT_CLIENT_ID_MAX 64
#define MQTT_TEXT_MAX 128            /* a name copied into a record */
#define UID_BEAT_MAX 63              /* the silence detector's names */

#define EV_BAD_HEADER "bad_fixed_header"
#define EV_MALFORMED_PACKET "malformed_packet"
#define EV_WRONG_DIRECTION "wrong_direction"
#define EV_CLIENT_DISCONNECT_ERROR "client_disconnect_error"
#define EV_TRUNCATED "large_packet_truncated"

enum mqtt_type {
	T_CONNECT = 1, T_CONNACK, T_PUBLISH, T_PUBACK, T_PUBREC, T_PUBREL, T_PUBCOMP,
	T_SUBSCRIBE, T_SUBACK, T_UNSUBSCRIBE, T_UNSUBACK, T_PINGREQ, T_PINGRESP,
	T_DISCONNECT, T_AUTH,
};

static const struct x1367_engine_api *api;

/* Per flow.  The client id and protocol level come from CONNECT: later
 * records name the client, and 5.0 bodies carry properties 3.1.1 ones
 * lack. */
struct mqtt_state {
	uint32_t skip[2];              /* rest of a big packet, to discard */
	uint8_t resyncing[2];
	uint8_t level;                 /* 0 = no CONNECT seen */
	uint8_t last_req_valid;        /* last client request opened: the one */
	uint8_t last_req_type;         /* a server DISCONNECT answers */
	uint8_t last_req_pid[2];
	uint8_t client_garbage;        /* the client sent bytes that do not frame */
	char client_id[MQTT_CLIENT_ID_MAX];
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables ------------------------------------------------------------ */

enum who { CLI = 1, SRV = 2, BOTH = 3 };

struct mqtt_ptype {
	const char *name;
	uint8_t flags;         /* required flags; 0xFF = PUBLISH: any but QoS 3 */
	uint8_t from;          /* enum who: which side may send it */
	uint8_t small;         /* remaining length bounded by MQTT_SMALL_MAX */
	uint8_t min_rl, max_rl_zero;  /* minimum; max_rl_zero: must be 0 */
};

static const struct mqtt_ptype ptypes[16] = {
	[T_CONNECT] = {"CONNECT", 0, CLI, 0, 10, 0},
	[T_CONNACK] = {"CONNACK", 0, SRV, 1, 2, 0},
	[T_PUBLISH] = {"PUBLISH", 0xFF, BOTH, 0, 2, 0},
	[T_PUBACK] = {"PUBACK", 0, BOTH, 1, 2, 0},
	[T_PUBREC] = {"PUBREC", 0, BOTH, 1, 2, 0},
	[T_PUBREL] = {"PUBREL", 2, BOTH, 1, 2, 0},
	[T_PUBCOMP] = {"PUBCOMP", 0, BOTH, 1, 2, 0},
	[T_SUBSCRIBE] = {"SUBSCRIBE", 2, CLI, 0, 5, 0},
	[T_SUBACK] = {"SUBACK", 0, SRV, 0, 3, 0},
	[T_UNSUBSCRIBE] = {"UNSUBSCRIBE", 2, CLI, 0, 4, 0},
	[T_UNSUBACK] = {"UNSUBACK", 0, SRV, 0, 2, 0},
	[T_PINGREQ] = {"PINGREQ", 0, CLI, 1, 0, 1},
	[T_PINGRESP] = {"PINGRESP", 0, SRV, 1, 0, 1},
	[T_DISCONNECT] = {"DISCONNECT", 0, BOTH, 1, 0, 0},
	[T_AUTH] = {"AUTH", 0, BOTH, 1, 0, 0},
};

struct mqtt_code {
	uint8_t code;
	const char *name;
};

/* MQTT 5.0 reason codes (spec 2.4), the failures (>= 0x80). */
static const struct mqtt_code reasons_v5[] = {
	{0x80, "Unspecified error"},
	{0x81, "Malformed Packet"},
	{0x82, "Protocol Error"},
	{0x83, "Implementation specific error"},
	{0x84, "Unsupported Protocol Version"},
	{0x85, "Client Identifier not valid"},
	{0x86, "Bad User Name or Password"},
	{0x87, "Not authorized"},
	{0x88, "Server unavailable"},
	{0x89, "Server busy"},
	{0x8A, "Banned"},
	{0x8B, "Server shutting down"},
	{0x8C, "Bad authentication method"},
	{0x8D, "Keep Alive timeout"},
	{0x8E, "Session taken over"},
	{0x8F, "Topic Filter invalid"},
	{0x90, "Topic Name invalid"},
	{0x91, "Packet Identifier in use"},
	{0x92, "Packet Identifier not found"},
	{0x93, "Receive Maximum exceeded"},
	{0x94, "Topic Alias invalid"},
	{0x95, "Packet too large"},
	{0x96, "Message rate too high"},
	{0x97, "Quota exceeded"},
	{0x98, "Administrative action"},
	{0x99, "Payload format invalid"},
	{0x9A, "Retain not supported"},
	{0x9B, "QoS not supported"},
	{0x9C, "Use another server"},
	{0x9D, "Server moved"},
	{0x9E, "Shared Subscriptions not supported"},
	{0x9F, "Connection rate exceeded"},
	{0xA0, "Maximum connect time"},
	{0xA1, "Subscription Identifiers not supported"},
	{0xA2, "Wildcard Subscriptions not supported"},
};

/* MQTT 3.1 / 3.1.1 CONNACK return codes. */
static const struct mqtt_code connack_v3[] = {
	{0x01, "Connection Refused, unacceptable protocol version"},
	{0x02, "Connection Refused, identifier rejected"},
	{0x03, "Connection Refused, Server unavailable"},
	{0x04, "Connection Refused, bad user name or password"},
	{0x05, "Connection Refused, not authorized"},
};

/* 5.0 property identifiers -> how long their value is, to walk past them. */
enum prop_kind { P_NONE, P_BYTE, P_U16, P_U32, P_VARINT, P_STRING, P_PAIR };

static const uint8_t prop_kinds[0x2B] = {
	[0x01] = P_BYTE, [0x02] = P_U32, [0x03] = P_STRING, [0x08] = P_STRING,
	[0x09] = P_STRING, [0x0B] = P_VARINT, [0x11] = P_U32, [0x12] = P_STRING,
	[0x13] = P_U16, [0x15] = P_STRING, [0x16] = P_STRING, [0x17] = P_BYTE,
	[0x18] = P_U32, [0x19] = P_BYTE, [0x1A] = P_STRING, [0x1C] = P_STRING,
	[0x1F] = P_STRING, [0x21] = P_U16, [0x22] = P_U16, [0x23] = P_U16,
	[0x24] = P_BYTE, [0x25] = P_BYTE, [0x26] = P_PAIR, [0x27] = P_U32,
	[0x28] = P_BYTE, [0x29] = P_BYTE, [0x2A] = P_BYTE,
};
#define PROP_REASON_STRING 0x1F

static const char *code_name(const struct mqtt_code *t, size_t n, uint8_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

static const char *type_name(uint8_t type)
{
	return ptypes[type & 15].name ? ptypes[type & 15].name : "Reserved";
}

static const char *level_name(uint8_t level)
{
	switch (level) {
	case 3: return "MQTT 3.1";
	case 4: return "MQTT 3.1.1";
	case 5: return "MQTT 5.0";
	default: return "unknown";
	}
}

/* ---- Field readers ------------------------------------------------------- */

/* Variable byte integer, 1-4 bytes.  -1: a fifth byte would follow;
 * 0 with rd->error: too short. */
static int rd_varint(struct x1367_reader *rd, uint32_t *v)
{
	*v = 0;
	for (unsigned i = 0; i < 4; i++) {
		uint8_t b = x1367_rd_u8(rd);
		if (!x1367_rd_ok(rd))
			return 0;
		*v |= (uint32_t)(b & 0x7F) << (7 * i);
		if (!(b & 0x80))
			return 1;
	}
	return -1;
}

/* A two-byte-length string or binary field. */
struct span {
	const uint8_t *p;
	size_t n;
};

static int rd_string(struct x1367_reader *rd, struct span *s)
{
	size_t n = x1367_rd_be16(rd);
	s->p = x1367_rd_bytes(rd, n);
	s->n = s->p ? n : 0;
	return s->p != NULL;
}

/* Walks a 5.0 property block; finds the Reason String if asked. */
static int rd_properties(struct x1367_reader *rd, struct span *reason)
{
	uint32_t len;
	if (rd_varint(rd, &len) != 1 || !x1367_rd_need(rd, len))
		return 0;
	struct x1367_reader p;
	x1367_rd_init(&p, rd->data + rd->pos, len);
	rd->pos += len;
	while (x1367_rd_left(&p) > 0) {
		uint32_t id, dummy;
		struct span s;
		if (rd_varint(&p, &id) != 1 || id >= N_ELEMS(prop_kinds))
			return 0;
		switch (prop_kinds[id]) {
		case P_BYTE: x1367_rd_skip(&p, 1); break;
		case P_U16: x1367_rd_skip(&p, 2); break;
		case P_U32: x1367_rd_skip(&p, 4); break;
		case P_VARINT:
			if (rd_varint(&p, &dummy) != 1)
				return 0;
			break;
		case P_STRING:
			if (rd_string(&p, &s) && id == PROP_REASON_STRING && reason)
				*reason = s;
			break;
		case P_PAIR:
			rd_string(&p, &s);
			rd_string(&p, &s);
			break;
		default:
			return 0;
		}
		if (!x1367_rd_ok(&p))
			return 0;
	}
	return 1;
}

/* A name from the wire as record text: control bytes as \xHH, long names
 * cut with "...".  The engine repairs invalid UTF-8. */
static void text_of(const struct span *s, char *out, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < s->n; i++) {
		uint8_t c = s->p[i];
		size_t need = (c < 0x20 || c == 0x7F) ? 4 : 1;
		if (o + need + 4 > len || o >= MQTT_TEXT_MAX) {
			snprintf(out + o, len - o, "...");
			return;
		}
		if (need == 4)
			o += (size_t)snprintf(out + o, len - o, "\\x%02X", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* ---- Fixed header ---------------------------------------------------------- */

struct mqtt_hdr {
	uint8_t type, flags;
	uint32_t rl;           /* remaining length */
	size_t hlen;           /* fixed header bytes */
};

enum hdr_verdict { HDR_OK, HDR_SHORT, HDR_BAD };

static enum hdr_verdict hdr_read(const uint8_t *data, size_t len, struct mqtt_hdr *h)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	uint8_t b0 = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd))
		return HDR_SHORT;
	h->type = b0 >> 4;
	h->flags = b0 & 15;
	const struct mqtt_ptype *t = &ptypes[h->type];
	if (!t->name)
		return HDR_BAD;
	if (t->flags == 0xFF ? (h->flags & 6) == 6 : h->flags != t->flags)
		return HDR_BAD;
	int v = rd_varint(&rd, &h->rl);
	if (v < 0)
		return HDR_BAD;
	if (v == 0)
		return HDR_SHORT;
	h->hlen = rd.pos;
	if (h->rl < t->min_rl || (t->max_rl_zero && h->rl) || (t->small && h->rl > MQTT_SMALL_MAX))
		return HDR_BAD;
	return HDR_OK;
}

static int sent_by(uint8_t type, enum x1367_dir dir)
{
	return (ptypes[type & 15].from & (dir == X1367_TO_SERVER ? CLI : SRV)) != 0;
}

/* ---- CONNECT --------------------------------------------------------------- */

struct connect_info {
	struct span proto;
	uint8_t level, flags;
	int has_cid, has_user;
	struct span cid, user;
};

static int proto_name_known(const struct span *s)
{
	return (s->n == 4 && !memcmp(s->p, "MQTT", 4)) || (s->n == 6 && !memcmp(s->p, "MQIsdp", 6));
}

/* Reads what it can; returns 1 when protocol name and level were there. */
static int connect_read(const uint8_t *body, size_t len, struct connect_info *ci)
{
	struct x1367_reader rd;
	struct span s;
	memset(ci, 0, sizeof(*ci));
	x1367_rd_init(&rd, body, len);
	if (!rd_string(&rd, &ci->proto))
		return 0;
	ci->level = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd))
		return 0;
	ci->flags = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 2);                    /* keep alive */
	if (ci->level == 5 && !rd_properties(&rd, NULL))
		return 1;
	ci->has_cid = rd_string(&rd, &ci->cid);
	if (ci->has_cid && (ci->flags & 0x04)) {  /* will: properties, topic, payload */
		if (ci->level == 5 && !rd_properties(&rd, NULL))
			return 1;
		rd_string(&rd, &s);
		rd_string(&rd, &s);
	}
	if (ci->has_cid && (ci->flags & 0x80))
		ci->has_user = rd_string(&rd, &ci->user);
	return 1;
}

static void desc_connect(struct x1367_desc *d, const uint8_t *body, size_t len)
{
	struct connect_info ci;
	char text[MQTT_TEXT_MAX + 8];
	if (!connect_read(body, len, &ci))
		return;
	x1367_desc_add(d, "Protocol Level", "%u (%s)", ci.level,
		       proto_name_known(&ci.proto) ? level_name(ci.level) : "unknown protocol name");
	if (ci.has_cid) {
		text_of(&ci.cid, text, sizeof(text));
		x1367_desc_add(d, "Client ID", "%s", text);
	}
	if (ci.has_user) {
		text_of(&ci.user, text, sizeof(text));
		x1367_desc_add(d, "User Name", "%s", text);
	}
}

/* ---- SUBSCRIBE / UNSUBSCRIBE topic lists ------------------------------------ */

/* Reads a topic list after the packet id: with a property block (5.0) or
 * not.  Returns how many filters parsed; *exact says whether they filled
 * the body to its end.  With want >= 0, *found gets filter number want. */
static int filters_read(const uint8_t *body, size_t len, int v5, int with_options, int want,
			struct span *found, int *exact)
{
	struct x1367_reader rd;
	int n = 0;
	x1367_rd_init(&rd, body, len);
	x1367_rd_skip(&rd, 2);
	*exact = 0;
	if (v5 && !rd_properties(&rd, NULL))
		return 0;
	while (x1367_rd_ok(&rd) && x1367_rd_left(&rd) > 0) {
		struct span s;
		if (!rd_string(&rd, &s))
			return n;
		if (with_options) {
			uint8_t o = x1367_rd_u8(&rd);
			/* 3.1.1: only QoS bits; 5.0: bits 6-7 reserved, QoS <= 2. */
			if (!x1367_rd_ok(&rd) || (o & 3) == 3 || (v5 ? (o & 0xC0) : (o & 0xFC)))
				return n;
		}
		if (n == want)
			*found = s;
		n++;
	}
	*exact = x1367_rd_ok(&rd) && n > 0;
	return n;
}

/* Which layout a topic list has: the protocol level when known, else the
 * one that parses to the end (a stored request may be cut: then 3.1.1). */
static int filters_v5(const uint8_t *body, size_t len, int with_options, uint8_t level)
{
	struct span s;
	int exact;
	if (level)
		return level == 5;
	filters_read(body, len, 0, with_options, -1, &s, &exact);
	if (exact)
		return 0;
	filters_read(body, len, 1, with_options, -1, &s, &exact);
	return exact;
}

static void desc_filters(struct x1367_desc *d, const uint8_t *body, size_t len, int with_options)
{
	int v5 = filters_v5(body, len, with_options, 0);
	int exact;
	struct span s = {NULL, 0};
	char text[MQTT_TEXT_MAX + 8];
	int n = filters_read(body, len, v5, with_options, 0, &s, &exact);
	if (n < 1)
		return;
	text_of(&s, text, sizeof(text));
	x1367_desc_add(d, "Topic Filter", "%s", text);
	if (n > 1)
		x1367_desc_add(d, "Topic Filters", "%d%s", n, exact ? "" : " or more");
}

/* ---- Requests ---------------------------------------------------------------- */

static struct x1367_txn_key txn_key(enum x1367_dir req_dir, uint8_t answer, uint16_t pid)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 4};
	k.id[0] = (uint8_t)req_dir;
	k.id[1] = answer;
	k.id[2] = (uint8_t)(pid >> 8);
	k.id[3] = (uint8_t)pid;
	return k;
}

/* "192.0.2.11:1883", "[2001:0DB8:...]:1883". */
static void addr_port_uid(const struct x1367_addr *a, uint16_t port, char *buf, size_t len)
{
	char ip[48];
	api->format_addr(a, ip, sizeof(ip));
	snprintf(buf, len, a->family == X1367_IPV6 ? "[%s]:%u" : "%s:%u", ip, port);
}

/* Everything a stored request says about itself (it may be cut at the
 * engine's cap: fields past the cut are left out). */
static size_t mqtt_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			    struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct x1367_reader rd;
	struct mqtt_hdr h;
	char text[MQTT_TEXT_MAX + 8];

	addr_port_uid(req->responder, req->responder_port, uid, uid_len);
	if (hdr_read(req->bytes, req->len, &h) != HDR_OK)
		return 0;
	const uint8_t *body = req->bytes + h.hlen;
	size_t blen = req->len - h.hlen < h.rl ? req->len - h.hlen : h.rl;
	x1367_desc_add(&d, "Packet Type", "%s", type_name(h.type));
	x1367_rd_init(&rd, body, blen);
	switch (h.type) {
	case T_CONNECT:
		desc_connect(&d, body, blen);
		break;
	case T_PUBLISH: {
		struct span topic;
		if (rd_string(&rd, &topic)) {
			text_of(&topic, text, sizeof(text));
			x1367_desc_add(&d, "Topic", "%s", text);
		}
		x1367_desc_add(&d, "QoS", "%u", (h.flags >> 1) & 3);
		uint16_t pid = x1367_rd_be16(&rd);
		if (x1367_rd_ok(&rd))
			x1367_desc_add(&d, "Packet Identifier", "%u", pid);
		break;
	}
	case T_SUBSCRIBE:
	case T_UNSUBSCRIBE: {
		uint16_t pid = x1367_rd_be16(&rd);
		if (x1367_rd_ok(&rd))
			x1367_desc_add(&d, "Packet Identifier", "%u", pid);
		desc_filters(&d, body, blen, h.type == T_SUBSCRIBE);
		break;
	}
	case T_PUBREL: {
		uint16_t pid = x1367_rd_be16(&rd);
		if (x1367_rd_ok(&rd))
			x1367_desc_add(&d, "Packet Identifier", "%u", pid);
		break;
	}
	default:
		break;
	}
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

static void open_request(x1367_ctx *ctx, struct mqtt_state *st, const uint8_t *bytes, size_t len,
			 enum x1367_dir dir, uint8_t answer, uint16_t pid)
{
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = txn_key(dir, answer, pid),
		.bytes = bytes,
		.len = len,
	};
	api->txn_open(ctx, &req);
	if (dir == X1367_TO_SERVER) {
		st->last_req_valid = 1;
		st->last_req_type = answer;
		st->last_req_pid[0] = (uint8_t)(pid >> 8);
		st->last_req_pid[1] = (uint8_t)pid;
	}
}

static void malformed(x1367_ctx *ctx)
{
	api->event(ctx, EV_MALFORMED_PACKET);
	api->event(ctx, X1367_EV_MALFORMED);
}

static void on_connect(x1367_ctx *ctx, struct mqtt_state *st, const uint8_t *bytes, size_t len,
		       const struct mqtt_hdr *h)
{
	struct connect_info ci;
	if (!connect_read(bytes + h->hlen, len - h->hlen, &ci)) {
		malformed(ctx);
		return;
	}
	/* Another protocol name: the server may close without CONNACK. */
	if (!proto_name_known(&ci.proto)) {
		malformed(ctx);
		return;
	}
	st->level = ci.level;
	st->client_id[0] = '\0';
	if (ci.has_cid)
		text_of(&ci.cid, st->client_id, sizeof(st->client_id));
	open_request(ctx, st, bytes, len, X1367_TO_SERVER, T_CONNACK, 0);
}

/* "192.0.2.12#sensor-1": a publisher, the same across its connections. */
static void publisher_beat(x1367_ctx *ctx, const struct mqtt_state *st,
			   const struct x1367_packet *pkt)
{
	char ip[48], uid[sizeof(ip) + 1 + MQTT_CLIENT_ID_MAX];
	if (!st->client_id[0])
		return;
	api->format_addr(pkt->src, ip, sizeof(ip));
	/* The silence detector keeps 63 characters of a name and compares
	 * whole names: a longer one would never be found again. */
	int room = UID_BEAT_MAX - 1 - (int)strlen(ip);
	snprintf(uid, sizeof(uid), "%s#%.*s", ip, room > 0 ? room : 0, st->client_id);
	api->heartbeat(ctx, uid);
}

static void on_publish(x1367_ctx *ctx, struct mqtt_state *st, const struct x1367_packet *pkt,
		       const uint8_t *bytes, size_t len, const struct mqtt_hdr *h, enum x1367_dir dir)
{
	struct x1367_reader rd;
	struct span topic;
	uint8_t qos = (h->flags >> 1) & 3;
	x1367_rd_init(&rd, bytes + h->hlen, len - h->hlen);
	rd_string(&rd, &topic);
	uint16_t pid = qos ? x1367_rd_be16(&rd) : 0;
	if (!x1367_rd_ok(&rd) || (qos && !pid)) {
		malformed(ctx);
		return;
	}
	if (dir == X1367_TO_SERVER)
		publisher_beat(ctx, st, pkt);
	if (qos)
		open_request(ctx, st, bytes, len, dir, qos == 1 ? T_PUBACK : T_PUBREC, pid);
}

/* Requests whose only field the pairing needs is the packet id. */
static void on_pid_request(x1367_ctx *ctx, struct mqtt_state *st, const uint8_t *bytes, size_t len,
			   const struct mqtt_hdr *h, enum x1367_dir dir, uint8_t answer)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, bytes + h->hlen, len - h->hlen);
	uint16_t pid = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd) || !pid) {
		malformed(ctx);
		return;
	}
	open_request(ctx, st, bytes, len, dir, answer, pid);
}

/* ---- Answers ------------------------------------------------------------------ */

/* A big packet is dissected from its head: a property block cut there
 * is no fault of the sender. */
static int props_ok(struct x1367_reader *rd, struct span *reason, const struct mqtt_hdr *h, size_t len)
{
	return rd_properties(rd, reason) || len - h->hlen < h->rl;
}

struct failure {
	uint8_t type, code;
	int v5;
	const struct span *filter;     /* the refused topic filter, or NULL */
	int filter_index;              /* -1: not a per-filter code */
	const struct span *reason;     /* 5.0 Reason String, or NULL */
	const char *note;              /* what the client did, when no request */
};

static int txn_is_connect(const x1367_txn *txn)
{
	size_t got = 0, wire = 0;
	const uint8_t *req = txn ? api->txn_request(txn, &got, &wire) : NULL;
	return req && got && (req[0] >> 4) == T_CONNECT;
}

static void report_failure(x1367_ctx *ctx, const struct mqtt_state *st,
			   const struct x1367_packet *pkt, const uint8_t *bytes, size_t len,
			   x1367_txn *txn, const struct failure *f)
{
	struct x1367_desc d = {.n = 0};
	char text[MQTT_TEXT_MAX + 8], vendor[8], uid[72];
	const char *name = f->v5 ? code_name(reasons_v5, N_ELEMS(reasons_v5), f->code)
				 : f->type == T_CONNACK ? code_name(connack_v3, N_ELEMS(connack_v3), f->code)
				 : f->code == 0x80 ? "Failure" : NULL;

	x1367_desc_add(&d, "Response", "%s", type_name(f->type));
	x1367_desc_add(&d, "Reason Code", "%s (0x%02X)", name ? name : "Unknown", f->code);
	if (f->filter_index >= 0) {
		if (f->filter) {
			text_of(f->filter, text, sizeof(text));
			x1367_desc_add(&d, "Refused Topic Filter", "%s", text);
		}
		x1367_desc_add(&d, "Topic Filter Index", "%d", f->filter_index + 1);
	}
	if (f->reason) {
		text_of(f->reason, text, sizeof(text));
		x1367_desc_add(&d, "Reason String", "%s", text);
	}
	if (f->note)
		x1367_desc_add(&d, "Client Sent", "%s", f->note);
	/* A CONNECT's own description names the client and the level. */
	if (!txn_is_connect(txn)) {
		if (st->client_id[0])
			x1367_desc_add(&d, "Client ID", "%s", st->client_id);
		if (st->level)
			x1367_desc_add(&d, "Protocol Level", "%u (%s)", st->level, level_name(st->level));
	}

	snprintf(vendor, sizeof(vendor), "%02X%02X", f->type, f->code);
	addr_port_uid(pkt->src, pkt->sport, uid, sizeof(uid));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = vendor,
		.txn = txn,
		.response = bytes,
		.response_len = len,
		.responder_uid = uid,
		.desc = d.kv,
		.n_desc = d.n,
	};
	api->report(ctx, &rep);
}

static x1367_txn *find_request(x1367_ctx *ctx, enum x1367_dir dir, uint8_t type, uint16_t pid)
{
	struct x1367_txn_key key = txn_key(dir == X1367_TO_SERVER ? X1367_TO_CLIENT : X1367_TO_SERVER,
					   type, pid);
	x1367_txn *txn = api->txn_find(ctx, &key);
	if (!txn)
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	return txn;
}

static void answered(x1367_ctx *ctx, x1367_txn *txn)
{
	if (txn)
		api->txn_answered(ctx, txn);
}

static void on_connack(x1367_ctx *ctx, struct mqtt_state *st, const struct x1367_packet *pkt,
		       const uint8_t *bytes, size_t len, const struct mqtt_hdr *h)
{
	struct x1367_reader rd;
	struct span reason = {NULL, 0};
	x1367_rd_init(&rd, bytes + h->hlen, len - h->hlen);
	x1367_rd_u8(&rd);                          /* acknowledge flags */
	uint8_t code = x1367_rd_u8(&rd);
	/* 3.1.1 CONNACKs are 2 bytes; 5.0 ones add a property block. */
	int v5 = h->rl > 2;
	int props = v5 && props_ok(&rd, &reason, h, len);
	x1367_txn *txn = find_request(ctx, X1367_TO_CLIENT, T_CONNACK, 0);
	if (!x1367_rd_ok(&rd) || (v5 && !props))
		malformed(ctx);
	else if (v5 ? code >= 0x80 : code != 0) {
		struct failure f = {T_CONNACK, code, v5, NULL, -1, reason.p ? &reason : NULL, NULL};
		report_failure(ctx, st, pkt, bytes, len, txn, &f);
	}
	answered(ctx, txn);
}

/* PUBACK, PUBREC, PUBCOMP: packet id, then (5.0) a reason code. */
static void on_pub_answer(x1367_ctx *ctx, struct mqtt_state *st, const struct x1367_packet *pkt,
			  const uint8_t *bytes, size_t len, const struct mqtt_hdr *h,
			  enum x1367_dir dir)
{
	struct x1367_reader rd;
	struct span reason = {NULL, 0};
	x1367_rd_init(&rd, bytes + h->hlen, len - h->hlen);
	uint16_t pid = x1367_rd_be16(&rd);
	uint8_t code = h->rl > 2 ? x1367_rd_u8(&rd) : 0;
	if (h->rl > 3 && !props_ok(&rd, &reason, h, len))
		rd.error = 1;
	if (!x1367_rd_ok(&rd)) {
		malformed(ctx);
		return;
	}
	x1367_txn *txn = find_request(ctx, dir, h->type, pid);
	if (code >= 0x80) {
		struct failure f = {h->type, code, 1, NULL, -1, reason.p ? &reason : NULL, NULL};
		report_failure(ctx, st, pkt, bytes, len, txn, &f);
	}
	answered(ctx, txn);
}

/* The request's n-th topic filter, for the record of its refusal. */
static int request_filter(const x1367_txn *txn, const struct mqtt_state *st, int n, struct span *s)
{
	size_t got = 0, wire = 0;
	struct mqtt_hdr h;
	int exact;
	const uint8_t *req = txn ? api->txn_request(txn, &got, &wire) : NULL;
	if (!req || hdr_read(req, got, &h) != HDR_OK)
		return 0;
	size_t blen = got - h.hlen < h.rl ? got - h.hlen : h.rl;
	int opts = h.type == T_SUBSCRIBE;
	int v5 = filters_v5(req + h.hlen, blen, opts, st->level);
	s->p = NULL;
	filters_read(req + h.hlen, blen, v5, opts, n, s, &exact);
	return s->p != NULL;
}

/* SUBACK / UNSUBACK: packet id, (5.0) properties, one code per filter. */
static void on_sub_answer(x1367_ctx *ctx, struct mqtt_state *st, const struct x1367_packet *pkt,
			  const uint8_t *bytes, size_t len, const struct mqtt_hdr *h)
{
	struct x1367_reader rd;
	struct span reason = {NULL, 0};
	size_t blen = len - h->hlen;
	x1367_rd_init(&rd, bytes + h->hlen, blen);
	uint16_t pid = x1367_rd_be16(&rd);
	/* Without the level (no CONNECT seen), a 3.1.1 SUBACK holds only
	 * 0-2 and 0x80; an UNSUBACK with codes is 5.0. */
	int v5 = st->level == 5;
	if (!st->level) {
		if (h->type == T_UNSUBACK)
			v5 = h->rl > 2;
		else
			for (size_t i = 2; i < blen; i++)
				if (bytes[h->hlen + i] > 2 && bytes[h->hlen + i] != 0x80)
					v5 = 1;
	}
	if (v5 && !props_ok(&rd, &reason, h, len))
		rd.error = 1;
	if (!x1367_rd_ok(&rd)) {
		malformed(ctx);
		return;
	}
	x1367_txn *txn = find_request(ctx, X1367_TO_CLIENT, h->type, pid);
	for (int i = 0; x1367_rd_left(&rd) > 0; i++) {
		uint8_t code = x1367_rd_u8(&rd);
		if (code < 0x80)
			continue;
		struct span filter;
		int have = request_filter(txn, st, i, &filter);
		struct failure f = {h->type, code, v5, have ? &filter : NULL, i,
				    reason.p ? &reason : NULL, NULL};
		report_failure(ctx, st, pkt, bytes, len, txn, &f);
	}
	answered(ctx, txn);
}

/* The newest open request with `key` (of the first X1367_TXN_TRY_MAX):
 * when the client reused a packet id, the last packet it sent. */
static x1367_txn *newest_request(x1367_ctx *ctx, const struct x1367_txn_key *key)
{
	x1367_txn *txn = api->txn_find(ctx, key), *next;
	for (unsigned n = 1; txn && n < X1367_TXN_TRY_MAX; n++) {
		if (!(next = x1367_txn_next(api, ctx, key, txn)))
			break;
		txn = next;
	}
	return txn;
}

/* 5.0: the server hangs up with a reason.  It answers the client's last
 * request if that is still open (the packet that caused it). */
static void on_disconnect(x1367_ctx *ctx, struct mqtt_state *st, const struct x1367_packet *pkt,
			  const uint8_t *bytes, size_t len, const struct mqtt_hdr *h,
			  enum x1367_dir dir)
{
	struct x1367_reader rd;
	struct span reason = {NULL, 0};
	x1367_rd_init(&rd, bytes + h->hlen, len - h->hlen);
	uint8_t code = h->rl ? x1367_rd_u8(&rd) : 0;
	if (h->rl > 1 && !props_ok(&rd, &reason, h, len))
		rd.error = 1;
	if (!x1367_rd_ok(&rd)) {
		malformed(ctx);
		return;
	}
	if (code < 0x80)
		return;
	if (dir == X1367_TO_SERVER) {
		api->event(ctx, EV_CLIENT_DISCONNECT_ERROR);
		return;
	}
	x1367_txn *txn = NULL;
	if (st->last_req_valid) {
		struct x1367_txn_key key = txn_key(X1367_TO_SERVER, st->last_req_type,
						   (uint16_t)(st->last_req_pid[0] << 8 | st->last_req_pid[1]));
		txn = newest_request(ctx, &key);
	}
	/* No open request: the cause may be bytes that were no packet. */
	struct failure f = {T_DISCONNECT, code, 1, NULL, -1, reason.p ? &reason : NULL,
			    !txn && st->client_garbage ? "bytes that are not an MQTT packet" : NULL};
	report_failure(ctx, st, pkt, bytes, len, txn, &f);
	answered(ctx, txn);
}

static void on_packet(x1367_ctx *ctx, struct mqtt_state *st, const struct x1367_packet *pkt,
		      const uint8_t *bytes, size_t len, const struct mqtt_hdr *h, enum x1367_dir dir)
{
	if (!sent_by(h->type, dir)) {
		api->event(ctx, EV_WRONG_DIRECTION);
		return;
	}
	switch (h->type) {
	case T_CONNECT: on_connect(ctx, st, bytes, len, h); break;
	case T_CONNACK: on_connack(ctx, st, pkt, bytes, len, h); break;
	case T_PUBLISH: on_publish(ctx, st, pkt, bytes, len, h, dir); break;
	case T_PUBACK:
	case T_PUBREC:
	case T_PUBCOMP: on_pub_answer(ctx, st, pkt, bytes, len, h, dir); break;
	case T_PUBREL: on_pid_request(ctx, st, bytes, len, h, dir, T_PUBCOMP); break;
	case T_SUBSCRIBE: on_pid_request(ctx, st, bytes, len, h, dir, T_SUBACK); break;
	case T_UNSUBSCRIBE: on_pid_request(ctx, st, bytes, len, h, dir, T_UNSUBACK); break;
	case T_SUBACK:
	case T_UNSUBACK: on_sub_answer(ctx, st, pkt, bytes, len, h); break;
	case T_PINGREQ: open_request(ctx, st, bytes, len, dir, T_PINGRESP, 0); break;
	case T_PINGRESP: answered(ctx, find_request(ctx, dir, T_PINGRESP, 0)); break;
	case T_DISCONNECT: on_disconnect(ctx, st, pkt, bytes, len, h, dir); break;
	default: break;                            /* AUTH: an exchange, not a refusal */
	}
}

/* ---- Framing and resynchronisation ------------------------------------------- */

/* Could a whole packet start here, as far as its first bytes say?  Used
 * to find a boundary again, and by the probe: stricter than framing. */
static int packet_plausible(const uint8_t *p, size_t n, const struct mqtt_hdr *h,
			    enum x1367_dir dir)
{
	struct x1367_reader rd;
	struct span s;
	if (!sent_by(h->type, dir))
		return 0;
	x1367_rd_init(&rd, p + h->hlen, n - h->hlen);
	switch (h->type) {
	case T_CONNECT: {
		struct connect_info ci;
		return connect_read(p + h->hlen, n - h->hlen, &ci) && proto_name_known(&ci.proto) &&
		       ci.level >= 3 && ci.level <= 5;
	}
	case T_CONNACK:
		return (x1367_rd_u8(&rd) & 0xFE) == 0;
	case T_PUBLISH:
		return rd_string(&rd, &s) && (!(h->flags & 6) || x1367_rd_be16(&rd) != 0);
	case T_PUBACK:
	case T_PUBREC:
	case T_PUBREL:
	case T_PUBCOMP:
	case T_SUBSCRIBE:
	case T_SUBACK:
	case T_UNSUBSCRIBE:
	case T_UNSUBACK:
		return x1367_rd_be16(&rd) != 0;
	default:
		return 1;
	}
}

/* A run of plausible packets from data[0] to exactly data[len].  Two
 * bytes "C0 00" frame as a PINGREQ anywhere in garbage: a run of nothing
 * but empty packets counts only where a segment starts (tiny_ok). */
static int chain_plausible(const uint8_t *data, size_t len, enum x1367_dir dir, int tiny_ok)
{
	size_t off = 0;
	int substance = 0;
	if (!len)
		return 0;
	while (off < len) {
		struct mqtt_hdr h;
		if (hdr_read(data + off, len - off, &h) != HDR_OK || h.rl > len - off - h.hlen ||
		    !packet_plausible(data + off, h.hlen + h.rl, &h, dir))
			return 0;
		substance |= h.rl > 0;
		off += h.hlen + h.rl;
	}
	return substance || tiny_ok;
}

/* Bytes to skip to the next boundary: everything when none is found.
 * at_start: data[0] is where the bytes of a new call begin. */
static size_t resync_skip(const uint8_t *data, size_t len, enum x1367_dir dir, int at_start)
{
	size_t p = 0;
	while (p < len && !chain_plausible(data + p, len - p, dir, at_start && p == 0))
		p++;
	return p;
}

static size_t framing_error(x1367_ctx *ctx, struct mqtt_state *st, const uint8_t *data,
			    size_t len, enum x1367_dir dir)
{
	if (dir == X1367_TO_SERVER)
		st->client_garbage = 1;
	if (!st->resyncing[dir]) {
		api->event(ctx, EV_BAD_HEADER);
		api->event(ctx, X1367_EV_MALFORMED);
		st->resyncing[dir] = 1;
	}
	size_t skip = resync_skip(data + 1, len - 1, dir, 0) + 1;
	if (skip < len)
		st->resyncing[dir] = 0;
	return skip;
}

static enum x1367_parse_result parse_stream(x1367_ctx *ctx, struct mqtt_state *st,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed, enum x1367_dir dir)
{
	size_t off = 0;

	if (st->skip[dir]) {
		off = len < st->skip[dir] ? len : st->skip[dir];
		st->skip[dir] -= (uint32_t)off;
	}
	if (off < len && st->resyncing[dir]) {
		/* After a gap: wait for a boundary, quietly. */
		size_t s = resync_skip(data + off, len - off, dir, off == 0);
		off += s;
		if (off < len)
			st->resyncing[dir] = 0;
	}
	while (off < len) {
		struct mqtt_hdr h;
		enum hdr_verdict v = hdr_read(data + off, len - off, &h);
		if (v == HDR_SHORT)
			break;
		if (v == HDR_BAD) {
			*consumed = off + framing_error(ctx, st, data + off, len - off, dir);
			return X1367_PARSE_ERROR;
		}
		size_t total = h.hlen + h.rl;
		size_t have = len - off;
		if (total > MQTT_HOLD) {
			/* Dissect the head, skip the rest as it comes. */
			if (have < MQTT_HOLD)
				break;
			api->event(ctx, EV_TRUNCATED);
			on_packet(ctx, st, pkt, data + off, MQTT_HOLD, &h, dir);
			off += MQTT_HOLD;
			size_t rest = total - MQTT_HOLD, now = len - off < rest ? len - off : rest;
			off += now;
			st->skip[dir] = (uint32_t)(rest - now);
			continue;
		}
		if (have < total)
			break;
		on_packet(ctx, st, pkt, data + off, total, &h, dir);
		off += total;
	}
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

static enum x1367_parse_result mqtt_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					  const uint8_t *data, size_t len, size_t *consumed)
{
	struct mqtt_state none;
	struct mqtt_state *st = state;
	enum x1367_dir dir = pkt->dir == X1367_TO_CLIENT ? X1367_TO_CLIENT : X1367_TO_SERVER;

	if (!st) {
		/* The engine gives state to every flow; do not trust it blindly. */
		memset(&none, 0, sizeof(none));
		st = &none;
	}
	return parse_stream(ctx, st, pkt, data, len, consumed, dir);
}

/* Lost bytes: the stream resumes anywhere inside a packet. */
static void mqtt_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct mqtt_state *st = state;
	(void)ctx;
	if (st && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT)) {
		st->resyncing[dir] = 1;
		st->skip[dir] = 0;
	}
}

/* MQTT on another port: a client's first bytes are a CONNECT with the
 * protocol name "MQTT" (level 4, 5) or "MQIsdp" (level 3). */
static enum x1367_probe_result mqtt_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	static const uint8_t mqtt[] = {0, 4, 'M', 'Q', 'T', 'T'};
	static const uint8_t mqisdp[] = {0, 6, 'M', 'Q', 'I', 's', 'd', 'p'};
	struct x1367_reader rd;
	uint32_t rl;

	if (dir != X1367_TO_SERVER)
		return X1367_PROBE_NO;
	x1367_rd_init(&rd, data, len);
	uint8_t b0 = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd))
		return X1367_PROBE_MAYBE;
	if (b0 != 0x10)
		return X1367_PROBE_NO;
	int v = rd_varint(&rd, &rl);
	if (v < 0 || (v == 1 && rl < 10))
		return X1367_PROBE_NO;
	if (v == 0)
		return X1367_PROBE_MAYBE;
	const uint8_t *name = data + rd.pos;
	size_t have = len - rd.pos;
	const uint8_t *want = have >= 3 && name[1] == 6 ? mqisdp : mqtt;
	size_t wlen = want == mqisdp ? sizeof(mqisdp) : sizeof(mqtt);
	if (memcmp(name, want, have < wlen ? have : wlen) != 0)
		return X1367_PROBE_NO;
	if (have <= wlen)
		return X1367_PROBE_MAYBE;
	uint8_t level = name[wlen];
	if (want == mqisdp ? level != 3 : (level != 4 && level != 5))
		return X1367_PROBE_NO;
	return X1367_PROBE_YES;
}

static int mqtt_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t mqtt_ports[] = {1883, 0};

static const char *const mqtt_events[] = {
	EV_BAD_HEADER,
	EV_MALFORMED_PACKET,
	EV_WRONG_DIRECTION,
	EV_CLIENT_DISCONNECT_ERROR,
	EV_TRUNCATED,
	NULL,
};

static const struct x1367_dissector mqtt_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "mqtt",
	.protocol = "MQTT",
	.transports = X1367_TCP,
	.ports = mqtt_ports,
	.ndpi_name = "MQTT",
	.request_timeout_ms = 5000,
	.state_size = sizeof(struct mqtt_state),
	.init = mqtt_init,
	.probe = mqtt_probe,
	.parse = {
		[X1367_TO_SERVER] = mqtt_parse,
		[X1367_TO_CLIENT] = mqtt_parse,
	},
	.gap = mqtt_gap,
	.event_names = mqtt_events,
	.describe_request = mqtt_describe,
	.version = "1.0",
};

/* The header does not declare the entry point: say it here. */
__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &mqtt_dissector;
}
