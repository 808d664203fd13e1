/*
 * EtherNet/IP encapsulation and CIP explicit messaging, TCP and UDP 44818.
 *
 * Framing: every encapsulation message is a 24-byte header (command,
 * length, session handle, status, sender context, options; little-endian)
 * followed by `length` bytes.  A stream is trusted to be at a message
 * boundary only once a header passed the strict test (a known command,
 * options zero, a known status, a body that fits the command): at the
 * start of a flow direction (the capture may begin mid-stream), after a
 * gap, and after bytes that do not frame.  Until then, and to resynchronise,
 * the parser looks for a run of strict headers that ends exactly where the
 * bytes end or inside the last message (EtherNet/IP has no sync marker).
 * Once in step, any header whose command or status is unknown is still a
 * message (a target answers an unknown command with status 0x0001) unless
 * its options field is non-zero as well: then the bytes are garbage.
 *
 * Requests and their answers (scope: the connection):
 *   SendRRData (0x6F)       key: command, session handle, sender context
 *   RegisterSession (0x65), ListIdentity (0x63), ListServices (0x04),
 *   ListInterfaces (0x64)   key: command, sender context (a session handle
 *                           is what RegisterSession's answer brings)
 *   SendUnitData (0x70)     key: the CIP sequence count of the connected
 *                           data item; the answer must come on the T->O
 *                           connection id that the Forward_Open answer
 *                           paired with the request's O->T id, when the
 *                           capture showed that Forward_Open (else any)
 * NOP, UnRegisterSession, IndicateStatus, Cancel and StartDTLS are not
 * answered.  UDP List* requests are discovery broadcasts: many or no
 * devices answer, so they never yield "No Response" and an answer without
 * a request seen is no event.
 *
 * Errors reported, one record per encapsulation message (vendor code;
 * rules/enip.map lists them):
 *   encapsulation status non-zero       8 hex digits: "00000064"
 *   CIP reply general status non-zero   2 hex digits: "08"
 *   Multiple Service Packet (0x0A) reply with status 0 but failed
 *   embedded replies                    the first failed one's status
 * Unconnected Send (0x52) and Multiple Service Packet are opened up: the
 * Description names the embedded request's service and path (Unconnected
 * Send), and every failed embedded reply with its request (Multiple
 * Service Packet).  The extended status words are named too (those of the
 * Connection Manager for general status 0x01).
 *
 * Unique IDs: the requester and the responder are their addresses (a CIP
 * device is its IP address; DEFAULT-MAPPINGS "Unique ID").
 *
 * Messages longer than ENIP_HOLD bytes are dissected from their first
 * ENIP_HOLD bytes (every status sits in the head); the rest is skipped
 * unbuffered.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define ENIP_HDR 24
#define ENIP_HOLD 8192               /* bytes of a message kept to dissect it */
#define ENIP_PORT 44818
#define CONN_PAIRS_MAX 8             /* Forward_Open id pairs kept per flow */
#define NEST_MAX 2                   /* Unconnected Send / MSP inside each other */
#define MSP_MAX 64                   /* embedded services looked at */
#define PATH_TEXT 160
#define LIST_TEXT 600                /* "Failed Services" text */

#define EV_BAD_HEADER "bad_encapsulation_header"
#define EV_MALFORMED_CPF "malformed_cpf"
#define EV_MALFORMED_CIP "malformed_cip"
#define EV_REQUEST_STATUS "request_with_status"
#define EV_TRUNCATED "large_message_truncated"
#define EV_CONN_TABLE_FULL "connection_table_full"

enum {
	CMD_NOP = 0x0000,
	CMD_LIST_SERVICES = 0x0004,
	CMD_LIST_IDENTITY = 0x0063,
	CMD_LIST_INTERFACES = 0x0064,
	CMD_REGISTER_SESSION = 0x0065,
	CMD_UNREGISTER_SESSION = 0x0066,
	CMD_SEND_RR_DATA = 0x006F,
	CMD_SEND_UNIT_DATA = 0x0070,
	CMD_INDICATE_STATUS = 0x0072,
	CMD_CANCEL = 0x0073,
	CMD_START_DTLS = 0x00C8,
};

enum {
	CPF_NULL = 0x0000,
	CPF_CONNECTED_ADDRESS = 0x00A1,
	CPF_CONNECTED_DATA = 0x00B1,
	CPF_UNCONNECTED_DATA = 0x00B2,
	CPF_SEQUENCED_ADDRESS = 0x8002,
};

enum {
	SVC_MULTIPLE_SERVICE_PACKET = 0x0A,
	SVC_FORWARD_OPEN = 0x54,
	SVC_LARGE_FORWARD_OPEN = 0x5B,
	SVC_UNCONNECTED_SEND = 0x52,
	CLASS_CONNECTION_MANAGER = 0x06,
	GS_CONNECTION_FAILURE = 0x01,
};

static const struct x1367_engine_api *api;

struct conn_pair {
	uint32_t ot, to;             /* network connection ids of one connection */
};

/* Per flow. */
struct enip_state {
	uint32_t skip[2];            /* rest of a big message, to discard */
	uint8_t synced[2];           /* a strict header was seen: at a boundary */
	uint8_t resyncing[2];        /* garbage counted once, looking for a boundary */
	uint8_t n_pairs, next_pair;
	struct conn_pair pairs[CONN_PAIRS_MAX];
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables ------------------------------------------------------------ */

struct enip_cmd {
	uint16_t code;
	const char *name;
	uint8_t answered;            /* a request of it needs an answer */
};

static const struct enip_cmd commands[] = {
	{CMD_NOP, "NOP", 0},
	{CMD_LIST_SERVICES, "ListServices", 1},
	{CMD_LIST_IDENTITY, "ListIdentity", 1},
	{CMD_LIST_INTERFACES, "ListInterfaces", 1},
	{CMD_REGISTER_SESSION, "RegisterSession", 1},
	{CMD_UNREGISTER_SESSION, "UnRegisterSession", 0},
	{CMD_SEND_RR_DATA, "SendRRData", 1},
	{CMD_SEND_UNIT_DATA, "SendUnitData", 1},
	{CMD_INDICATE_STATUS, "IndicateStatus", 0},
	{CMD_CANCEL, "Cancel", 0},
	{CMD_START_DTLS, "StartDTLS", 0},
};

struct code_name {
	uint32_t code;
	const char *name;
};

/* Encapsulation status (CIP Vol. 2, 2-3.3). */
static const struct code_name encap_statuses[] = {
	{0x0000, "Success"},
	{0x0001, "Invalid or unsupported command"},
	{0x0002, "Insufficient memory"},
	{0x0003, "Incorrect data"},
	{0x0064, "Invalid session handle"},
	{0x0065, "Invalid length"},
	{0x0069, "Unsupported protocol revision"},
	{0x006A, "Encapsulated CIP service not allowed on this port"},
};

/* CIP general status (CIP Vol. 1, Appendix B). */
static const char *const general_statuses[] = {
	[0x00] = "Success",
	[0x01] = "Connection failure",
	[0x02] = "Resource unavailable",
	[0x03] = "Invalid parameter value",
	[0x04] = "Path segment error",
	[0x05] = "Path destination unknown",
	[0x06] = "Partial transfer",
	[0x07] = "Connection lost",
	[0x08] = "Service not supported",
	[0x09] = "Invalid attribute value",
	[0x0A] = "Attribute list error",
	[0x0B] = "Already in requested mode/state",
	[0x0C] = "Object state conflict",
	[0x0D] = "Object already exists",
	[0x0E] = "Attribute not settable",
	[0x0F] = "Privilege violation",
	[0x10] = "Device state conflict",
	[0x11] = "Reply data too large",
	[0x12] = "Fragmentation of a primitive value",
	[0x13] = "Not enough data",
	[0x14] = "Attribute not supported",
	[0x15] = "Too much data",
	[0x16] = "Object does not exist",
	[0x17] = "Service fragmentation sequence not in progress",
	[0x18] = "No stored attribute data",
	[0x19] = "Store operation failure",
	[0x1A] = "Routing failure, request packet too large",
	[0x1B] = "Routing failure, response packet too large",
	[0x1C] = "Missing attribute list entry data",
	[0x1D] = "Invalid attribute value list",
	[0x1E] = "Embedded service error",
	[0x1F] = "Vendor specific error",
	[0x20] = "Invalid parameter",
	[0x21] = "Write-once value or medium already written",
	[0x22] = "Invalid reply received",
	[0x23] = "Buffer overflow",
	[0x24] = "Invalid message format",
	[0x25] = "Key failure in path",
	[0x26] = "Path size invalid",
	[0x27] = "Unexpected attribute in list",
	[0x28] = "Invalid Member ID",
	[0x29] = "Member not settable",
	[0x2A] = "Group 2 only server general failure",
	[0x2B] = "Unknown Modbus error",
	[0x2C] = "Attribute not gettable",
	[0x2D] = "Instance not deletable",
	[0x2E] = "Service not supported for specified path",
};

/* Connection Manager extended status, with general status 0x01 (CIP
 * Vol. 1, Table 3-5.33): the ones devices send. */
static const struct code_name cm_ext_statuses[] = {
	{0x0100, "Connection in use or duplicate Forward Open"},
	{0x0103, "Transport class and trigger combination not supported"},
	{0x0106, "Ownership conflict"},
	{0x0107, "Target connection not found"},
	{0x0108, "Invalid network connection parameter"},
	{0x0109, "Invalid connection size"},
	{0x0110, "Target for connection not configured"},
	{0x0111, "RPI not supported"},
	{0x0112, "RPI value(s) not acceptable"},
	{0x0113, "Out of connections"},
	{0x0114, "Vendor ID or product code mismatch"},
	{0x0115, "Device type mismatch"},
	{0x0116, "Revision mismatch"},
	{0x0117, "Invalid produced or consumed application path"},
	{0x0118, "Invalid or inconsistent configuration application path"},
	{0x0119, "Non-listen only connection not opened"},
	{0x011A, "Target object out of connections"},
	{0x011B, "RPI is smaller than the production inhibit time"},
	{0x011C, "Transport class not supported"},
	{0x011D, "Production trigger not supported"},
	{0x011E, "Direction not supported"},
	{0x0126, "Invalid configuration size"},
	{0x0127, "Invalid O->T size"},
	{0x0128, "Invalid T->O size"},
	{0x0203, "Connection timed out"},
	{0x0204, "Unconnected request timed out"},
	{0x0205, "Parameter error in unconnected request"},
	{0x0206, "Message too large for Unconnected Send"},
	{0x0207, "Unconnected acknowledged without reply"},
	{0x0301, "No buffer memory available"},
	{0x0302, "Network bandwidth not available for data"},
	{0x0303, "No consumed connection ID filter available"},
	{0x0304, "Not configured to send scheduled priority data"},
	{0x0305, "Schedule signature mismatch"},
	{0x0306, "Schedule signature validation not possible"},
	{0x0311, "Port not available"},
	{0x0312, "Link address not valid"},
	{0x0315, "Invalid segment in connection path"},
	{0x0316, "Forward Close connection path mismatch"},
	{0x0317, "Scheduling not specified"},
	{0x0318, "Link address to self invalid"},
	{0x0319, "Secondary resources unavailable"},
	{0x031A, "Rack connection already established"},
	{0x031B, "Module connection already established"},
	{0x031C, "Miscellaneous"},
	{0x031D, "Redundant connection mismatch"},
	{0x0800, "Network link offline"},
};

/* Common services (CIP Vol. 1, Appendix A); object-specific ones (0x4B and
 * up) only for the Connection Manager, whose codes are fixed. */
static const struct code_name common_services[] = {
	{0x01, "Get_Attributes_All"}, {0x02, "Set_Attributes_All"},
	{0x03, "Get_Attribute_List"}, {0x04, "Set_Attribute_List"},
	{0x05, "Reset"}, {0x06, "Start"}, {0x07, "Stop"}, {0x08, "Create"},
	{0x09, "Delete"}, {0x0A, "Multiple_Service_Packet"}, {0x0D, "Apply_Attributes"},
	{0x0E, "Get_Attribute_Single"}, {0x10, "Set_Attribute_Single"},
	{0x11, "Find_Next_Object_Instance"}, {0x14, "Error Response"}, {0x15, "Restore"},
	{0x16, "Save"}, {0x17, "No Operation"}, {0x18, "Get_Member"}, {0x19, "Set_Member"},
	{0x1A, "Insert_Member"}, {0x1B, "Remove_Member"}, {0x1C, "GroupSync"},
};

/* Logix tag services (Rockwell 1756-PM020), on a path that names a tag. */
static const struct code_name tag_services[] = {
	{0x4C, "Read Tag"}, {0x4D, "Write Tag"}, {0x4E, "Read Modify Write Tag"},
	{0x52, "Read Tag Fragmented"}, {0x53, "Write Tag Fragmented"},
};

static const struct code_name cm_services[] = {
	{0x4E, "Forward_Close"}, {0x52, "Unconnected_Send"}, {0x54, "Forward_Open"},
	{0x56, "Get_Connection_Data"}, {0x57, "Search_Connection_Data"},
	{0x5A, "Get_Connection_Owner"}, {0x5B, "Large_Forward_Open"},
};

static const char *code_name(const struct code_name *t, size_t n, uint32_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

static const struct enip_cmd *command_of(uint16_t code)
{
	for (size_t i = 0; i < N_ELEMS(commands); i++)
		if (commands[i].code == code)
			return &commands[i];
	return NULL;
}

static const char *encap_status_name(uint32_t status)
{
	return code_name(encap_statuses, N_ELEMS(encap_statuses), status);
}

static const char *general_status_name(uint8_t gs)
{
	if (gs < N_ELEMS(general_statuses) && general_statuses[gs])
		return general_statuses[gs];
	return gs >= 0xD0 ? "Object class or service specific error" : "Reserved";
}

/* "Get_Attribute_Single (0x0E)"; class 0 = unknown; symbolic: the path
 * names a tag.  Object-specific codes mean something only with their
 * class (0x52 is Unconnected_Send to the Connection Manager, Read Tag
 * Fragmented to a tag). */
static void service_text(uint8_t svc, uint32_t cls, int symbolic, char *out, size_t len)
{
	const char *n = svc < 0x4B ? code_name(common_services, N_ELEMS(common_services), svc)
		      : cls == CLASS_CONNECTION_MANAGER ? code_name(cm_services, N_ELEMS(cm_services), svc)
		      : symbolic ? code_name(tag_services, N_ELEMS(tag_services), svc)
		      : NULL;
	if (n)
		snprintf(out, len, "%s (0x%02X)", n, svc);
	else if (svc >= 0x4B && svc <= 0x63)
		snprintf(out, len, "Object-specific service (0x%02X)", svc);
	else
		snprintf(out, len, "Service 0x%02X", svc);
}

/* ---- Readers ------------------------------------------------------------- */

static uint32_t rd_le32(struct x1367_reader *rd)
{
	const uint8_t *p = x1367_rd_bytes(rd, 4);
	return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : 0;
}

struct encap {
	uint16_t cmd, len;
	uint32_t session, status, options;
	uint8_t ctx[8];
};

static int encap_read(const uint8_t *data, size_t len, struct encap *h)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	h->cmd = x1367_rd_le16(&rd);
	h->len = x1367_rd_le16(&rd);
	h->session = rd_le32(&rd);
	h->status = rd_le32(&rd);
	const uint8_t *c = x1367_rd_bytes(&rd, 8);
	if (c)
		memcpy(h->ctx, c, 8);
	h->options = rd_le32(&rd);
	return x1367_rd_ok(&rd);
}

/* A header that can only be EtherNet/IP: what a boundary is found by. */
static int header_strict(const struct encap *h)
{
	const struct enip_cmd *c = command_of(h->cmd);
	if (!c || h->options != 0 || !encap_status_name(h->status))
		return 0;
	if (h->status != 0)
		return 1;        /* an error answer may come with any body */
	switch (h->cmd) {
	case CMD_NOP:
		return 1;
	case CMD_REGISTER_SESSION:
		return h->len == 4;
	case CMD_UNREGISTER_SESSION:
		return h->len == 0;
	case CMD_SEND_RR_DATA:
	case CMD_SEND_UNIT_DATA:
		return h->len >= 8;  /* interface handle, timeout, item count */
	default:
		return 1;
	}
}

/* In step, a header is garbage only when nothing about it is EtherNet/IP. */
static int header_lenient(const struct encap *h)
{
	return command_of(h->cmd) || h->options == 0;
}

/* ---- Common Packet Format -------------------------------------------------- */

/* Where the CIP message of a SendRRData / SendUnitData body is. */
struct cpf {
	int connected;               /* a connected data item (0xB1) */
	int have_conn_id;
	uint32_t conn_id;
	uint16_t seq;
	const uint8_t *cip;
	size_t cip_len;
};

static int cpf_read(const uint8_t *body, size_t len, struct cpf *c)
{
	struct x1367_reader rd;
	memset(c, 0, sizeof(*c));
	x1367_rd_init(&rd, body, len);
	x1367_rd_skip(&rd, 6);                   /* interface handle, timeout */
	uint16_t count = x1367_rd_le16(&rd);
	for (uint16_t i = 0; i < count && x1367_rd_ok(&rd); i++) {
		uint16_t type = x1367_rd_le16(&rd);
		uint16_t ilen = x1367_rd_le16(&rd);
		const uint8_t *p = x1367_rd_bytes(&rd, ilen);
		if (!p)
			break;
		struct x1367_reader it;
		x1367_rd_init(&it, p, ilen);
		switch (type) {
		case CPF_CONNECTED_ADDRESS:
			c->conn_id = rd_le32(&it);
			c->have_conn_id = x1367_rd_ok(&it);
			break;
		case CPF_SEQUENCED_ADDRESS:
			c->conn_id = rd_le32(&it);
			c->have_conn_id = x1367_rd_ok(&it);
			break;
		case CPF_CONNECTED_DATA:
			c->seq = x1367_rd_le16(&it);
			if (!x1367_rd_ok(&it))
				return 0;
			c->connected = 1;
			c->cip = p + 2;
			c->cip_len = ilen - 2u;
			break;
		case CPF_UNCONNECTED_DATA:
			c->cip = p;
			c->cip_len = ilen;
			break;
		default:
			break;                   /* null address, socket address items */
		}
	}
	return x1367_rd_ok(&rd) && c->cip != NULL;
}

/* The CIP message of a whole encapsulation message, or 0. */
static int message_cip(const uint8_t *msg, size_t len, struct encap *h, struct cpf *c)
{
	if (!encap_read(msg, len, h) || (h->cmd != CMD_SEND_RR_DATA && h->cmd != CMD_SEND_UNIT_DATA))
		return 0;
	size_t body = len - ENIP_HDR < h->len ? len - ENIP_HDR : h->len;
	return cpf_read(msg + ENIP_HDR, body, c);
}

/* ---- CIP requests ----------------------------------------------------------- */

struct cip_req {
	uint8_t service;
	const uint8_t *path;
	size_t path_len;
	const uint8_t *data;
	size_t data_len;
	uint32_t cls;                /* first logical class in the path, 0 = none */
	int symbolic;                /* the path names a tag (Logix) */
};

static int cip_req_read(const uint8_t *p, size_t len, struct cip_req *q);

/* A tag name as record text: printable ASCII, the rest as '?'. */
static void symbol_text(const uint8_t *s, size_t n, char *out, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < len; i++)
		out[k++] = (s[i] >= 0x20 && s[i] < 0x7F) ? (char)s[i] : '?';
	out[k] = '\0';
}

/* Walks an EPATH; appends its text to out (may be NULL), finds the class
 * and whether a tag name (ANSI extended symbol) is in it.  Returns 0 when
 * a segment does not parse. */
static int path_walk(const uint8_t *p, size_t len, char *out, size_t olen, uint32_t *cls,
		     int *symbolic)
{
	static const char *const logical[8] = {"class", "instance", "member", "connection point",
					       "attribute", "special", "service", "extended"};
	struct x1367_reader rd;
	size_t o = 0;
	x1367_rd_init(&rd, p, len);
	if (out && olen)
		out[0] = '\0';
	if (cls)
		*cls = 0;
	if (symbolic)
		*symbolic = 0;
#define APPEND(...)                                                                          \
	do {                                                                                 \
		if (out && o < olen) {                                                       \
			int w_ = snprintf(out + o, olen - o, "%s", o ? ", " : "");          \
			o += w_ > 0 ? (size_t)w_ : 0;                                        \
			if (o < olen) {                                                      \
				w_ = snprintf(out + o, olen - o, __VA_ARGS__);               \
				o += w_ > 0 ? (size_t)w_ : 0;                                \
			}                                                                    \
		}                                                                            \
	} while (0)
	int last_sym = 0, sym_now = 0;
	while (x1367_rd_ok(&rd) && x1367_rd_left(&rd) > 0) {
		uint8_t seg = x1367_rd_u8(&rd);
		last_sym = sym_now;
		sym_now = 0;
		switch (seg >> 5) {
		case 0: {                                       /* port segment */
			uint16_t port = seg & 0x0F;
			size_t link = 1;
			if (seg & 0x10)
				link = x1367_rd_u8(&rd);
			if (port == 0x0F)
				port = x1367_rd_le16(&rd);
			const uint8_t *a = x1367_rd_bytes(&rd, link);
			if ((seg & 0x10) && (link & 1))
				x1367_rd_skip(&rd, 1);
			if (!a)
				return 0;
			if (link == 1)
				APPEND("port %u link %u", port, a[0]);
			else
				APPEND("port %u link %.*s", port, (int)(link > 40 ? 40 : link), (const char *)a);
			break;
		}
		case 1: {                                       /* logical segment */
			unsigned type = (seg >> 2) & 7;
			uint32_t v;
			switch (seg & 3) {
			case 0: v = x1367_rd_u8(&rd); break;
			case 1: x1367_rd_skip(&rd, 1); v = x1367_rd_le16(&rd); break;
			case 2: x1367_rd_skip(&rd, 1); v = rd_le32(&rd); break;
			default: return 0;
			}
			if (!x1367_rd_ok(&rd))
				return 0;
			if (type == 0 && cls && !*cls)
				*cls = v;
			if (type == 5 || type == 7)
				return 1;       /* electronic key / extended: the rest is not named */
			APPEND("%s 0x%0*X", logical[type], v > 0xFF ? 4 : 2, v);
			break;
		}
		case 3: {                                       /* symbolic segment */
			size_t n = seg & 0x1F;
			const uint8_t *sy = x1367_rd_bytes(&rd, n);
			if (!sy || !n)
				return 0;                       /* extended string formats */
			char sym[64];
			symbol_text(sy, n, sym, sizeof(sym));
			APPEND("symbol %s", sym);
			break;
		}
		case 4: {                                       /* data segment */
			size_t n = x1367_rd_u8(&rd);
			if (seg != 0x91) {                      /* simple data: n words */
				x1367_rd_skip(&rd, 2 * n);
				break;
			}
			/* ANSI extended symbol: a Logix tag name, padded to a word */
			const uint8_t *sy = x1367_rd_bytes(&rd, n);
			if (n & 1)
				x1367_rd_skip(&rd, 1);
			if (!sy)
				return 0;
			char sym[64];
			symbol_text(sy, n, sym, sizeof(sym));
			/* Conveyor.Speed: a member follows its structure's name */
			if (last_sym && out && o < olen) {
				int w = snprintf(out + o, olen - o, ".%s", sym);
				o += w > 0 ? (size_t)w : 0;
			} else {
				APPEND("symbol %s", sym);
			}
			sym_now = 1;
			if (symbolic)
				*symbolic = 1;
			break;
		}
		default:
			/* network segments and the rest: nothing to name */
			if ((seg >> 5) == 2) {
				if ((seg & 0x1F) == 0x10) {
					size_t n = x1367_rd_u8(&rd);
					x1367_rd_skip(&rd, 2 * n);
				} else {
					x1367_rd_skip(&rd, 1);
				}
				break;
			}
			return 0;
		}
	}
#undef APPEND
	return x1367_rd_ok(&rd);
}

static int cip_req_read(const uint8_t *p, size_t len, struct cip_req *q)
{
	struct x1367_reader rd;
	memset(q, 0, sizeof(*q));
	x1367_rd_init(&rd, p, len);
	q->service = x1367_rd_u8(&rd);
	size_t words = x1367_rd_u8(&rd);
	q->path = x1367_rd_bytes(&rd, 2 * words);
	if (!q->path || (q->service & 0x80))
		return 0;
	q->path_len = 2 * words;
	q->data = p + rd.pos;
	q->data_len = len - rd.pos;
	path_walk(q->path, q->path_len, NULL, 0, &q->cls, &q->symbolic);
	return 1;
}

/* The message an Unconnected Send carries, and its route. */
static int unconnected_send_inner(const struct cip_req *q, struct cip_req *inner,
				  const uint8_t **route, size_t *route_len)
{
	struct x1367_reader rd;
	if (q->service != SVC_UNCONNECTED_SEND || q->cls != CLASS_CONNECTION_MANAGER)
		return 0;
	x1367_rd_init(&rd, q->data, q->data_len);
	x1367_rd_skip(&rd, 2);                   /* priority/time tick, timeout ticks */
	size_t n = x1367_rd_le16(&rd);
	const uint8_t *m = x1367_rd_bytes(&rd, n);
	if (!m || !cip_req_read(m, n, inner))
		return 0;
	if (n & 1)
		x1367_rd_skip(&rd, 1);
	size_t words = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 1);
	*route = x1367_rd_bytes(&rd, 2 * words);
	*route_len = *route ? 2 * words : 0;
	return 1;
}

/* Embedded message i of a Multiple Service Packet body (request or reply):
 * count, offsets from the count, messages. */
static int msp_item(const uint8_t *body, size_t len, unsigned i, const uint8_t **item, size_t *ilen)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, body, len);
	uint16_t count = x1367_rd_le16(&rd);
	if (!x1367_rd_ok(&rd) || i >= count || !x1367_rd_skip(&rd, 2u * i))
		return 0;
	size_t off = x1367_rd_le16(&rd);
	size_t end = len;
	if (i + 1 < count) {
		end = x1367_rd_le16(&rd);
		if (!x1367_rd_ok(&rd))
			end = len;
	}
	if (!x1367_rd_ok(&rd) || off < 2u + 2u * count || off > len || end > len || end < off)
		return 0;
	*item = body + off;
	*ilen = end - off;
	return 1;
}

static unsigned msp_count(const uint8_t *body, size_t len)
{
	return len >= 2 ? (unsigned)(body[0] | body[1] << 8) : 0;
}

/* "Get_Attribute_Single (0x0E) class 0x01, instance 0x01, attribute 0x07". */
static void request_text(const struct cip_req *q, char *out, size_t len)
{
	char svc[64], path[PATH_TEXT];
	service_text(q->service, q->cls, q->symbolic, svc, sizeof(svc));
	if (!path_walk(q->path, q->path_len, path, sizeof(path), NULL, NULL) && !path[0])
		snprintf(path, sizeof(path), "unparsed path");
	snprintf(out, len, "%s%s%s", svc, path[0] ? " " : "", path);
}

/* The CIP request behind a stored encapsulation message, Unconnected Send
 * opened up (to NEST_MAX levels). */
struct req_view {
	struct encap h;
	struct cpf cpf;
	struct cip_req outer, target;   /* target: what the reply answers */
	int have_cip;
	int via_unconnected_send;
	const uint8_t *route;
	size_t route_len;
};

static void req_view_read(const uint8_t *msg, size_t len, struct req_view *v)
{
	memset(v, 0, sizeof(*v));
	if (!message_cip(msg, len, &v->h, &v->cpf) || !cip_req_read(v->cpf.cip, v->cpf.cip_len, &v->outer))
		return;
	v->have_cip = 1;
	v->target = v->outer;
	for (int depth = 0; depth < NEST_MAX; depth++) {
		struct cip_req inner;
		const uint8_t *route;
		size_t rlen;
		if (!unconnected_send_inner(&v->target, &inner, &route, &rlen))
			break;
		if (!v->via_unconnected_send) {
			v->route = route;
			v->route_len = rlen;
		}
		v->via_unconnected_send = 1;
		v->target = inner;
	}
}

/* ---- Requests ---------------------------------------------------------------- */

static void hex_of(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02X", p[i]);
	out[2 * n] = '\0';
}

/* Commands whose answer echoes the session handle: SendRRData (and
 * SendUnitData, keyed otherwise).  Others are keyed without it. */
static struct x1367_txn_key encap_key(const struct encap *h)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 15};
	uint32_t s = h->cmd == CMD_SEND_RR_DATA ? h->session : 0;
	k.id[0] = 'E';
	k.id[1] = (uint8_t)(h->cmd >> 8);
	k.id[2] = (uint8_t)h->cmd;
	for (int i = 0; i < 4; i++)
		k.id[3 + i] = (uint8_t)(s >> (8 * i));
	memcpy(k.id + 7, h->ctx, 8);
	return k;
}

static struct x1367_txn_key unit_key(uint16_t seq)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 3};
	k.id[0] = 'U';
	k.id[1] = (uint8_t)(seq >> 8);
	k.id[2] = (uint8_t)seq;
	return k;
}

static void address_uid(const struct x1367_addr *a, char *buf, size_t len)
{
	api->format_addr(a, buf, len);
}

static size_t enip_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			    struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct req_view v;
	char ctx[17];

	address_uid(req->responder, uid, uid_len);
	req_view_read(req->bytes, req->len, &v);
	if (!encap_read(req->bytes, req->len, &v.h))
		return 0;
	const struct enip_cmd *c = command_of(v.h.cmd);
	x1367_desc_add(&d, "Command", "%s (0x%04X)", c ? c->name : "Unknown", v.h.cmd);
	x1367_desc_add(&d, "Session Handle", "0x%08X", v.h.session);
	hex_of(v.h.ctx, 8, ctx);
	x1367_desc_add(&d, "Sender Context", "%s", ctx);
	if (v.cpf.connected) {
		if (v.cpf.have_conn_id)
			x1367_desc_add(&d, "Connection ID", "0x%08X", v.cpf.conn_id);
		x1367_desc_add(&d, "Sequence Count", "%u", v.cpf.seq);
	}
	if (!v.have_cip)
		return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
	char svc[64], path[PATH_TEXT];
	service_text(v.target.service, v.target.cls, v.target.symbolic, svc, sizeof(svc));
	x1367_desc_add(&d, "Service", "%s", svc);
	if (path_walk(v.target.path, v.target.path_len, path, sizeof(path), NULL, NULL) || path[0])
		x1367_desc_add(&d, "Path", "%s", path);
	if (v.via_unconnected_send) {
		path_walk(v.route, v.route_len, path, sizeof(path), NULL, NULL);
		x1367_desc_add(&d, "Unconnected Send", "route %s", path[0] ? path : "empty");
	}
	if (v.target.service == SVC_MULTIPLE_SERVICE_PACKET) {
		unsigned n = msp_count(v.target.data, v.target.data_len);
		x1367_desc_add(&d, "Embedded Services", "%u", n);
	}
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

/* no_timeout: the request may go unanswered without anything being
 * wrong (a discovery broadcast), or nothing says it needs an answer (a
 * command this dissector does not know): paired if answered, never
 * "No Response". */
static void open_request(x1367_ctx *ctx, const uint8_t *bytes, size_t len,
			 const struct x1367_txn_key *key, int no_timeout)
{
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = *key,
		.bytes = bytes,
		.len = len,
		.flags = no_timeout ? X1367_TXN_NO_TIMEOUT : 0,
	};
	api->txn_open(ctx, &req);
}

static void malformed(x1367_ctx *ctx, const char *what)
{
	api->event(ctx, what);
	api->event(ctx, X1367_EV_MALFORMED);
}

static int is_discovery(const struct x1367_packet *pkt, uint16_t cmd)
{
	return pkt->transport == X1367_UDP &&
	       (cmd == CMD_LIST_IDENTITY || cmd == CMD_LIST_SERVICES || cmd == CMD_LIST_INTERFACES);
}

static void on_request(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *bytes,
		       size_t len, const struct encap *h)
{
	const struct enip_cmd *c = command_of(h->cmd);
	if (h->status != 0)
		api->event(ctx, EV_REQUEST_STATUS);
	if (c && !c->answered)
		return;
	if (h->cmd != CMD_SEND_UNIT_DATA) {
		/* Unknown commands too: the target answers them with 0x0001. */
		struct x1367_txn_key k = encap_key(h);
		open_request(ctx, bytes, len, &k, !c || is_discovery(pkt, h->cmd));
		return;
	}
	struct cpf cpf;
	struct encap hh;
	if (!message_cip(bytes, len, &hh, &cpf) || !cpf.connected) {
		malformed(ctx, EV_MALFORMED_CPF);
		return;
	}
	/* Class 3 explicit messaging: a request (service bit 7 clear). */
	if (cpf.cip_len && !(cpf.cip[0] & 0x80)) {
		struct x1367_txn_key k = unit_key(cpf.seq);
		open_request(ctx, bytes, len, &k, 0);
	}
}

/* ---- Answers ---------------------------------------------------------------- */

struct cip_reply {
	uint8_t service, status, ext_words;
	const uint8_t *ext;
	const uint8_t *data;
	size_t data_len;
};

static int cip_reply_read(const uint8_t *p, size_t len, struct cip_reply *r)
{
	struct x1367_reader rd;
	memset(r, 0, sizeof(*r));
	x1367_rd_init(&rd, p, len);
	r->service = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 1);
	r->status = x1367_rd_u8(&rd);
	r->ext_words = x1367_rd_u8(&rd);
	r->ext = x1367_rd_bytes(&rd, 2u * r->ext_words);
	if (!r->ext || !(r->service & 0x80))
		return 0;
	r->data = p + rd.pos;
	r->data_len = len - rd.pos;
	return 1;
}

static uint16_t ext_word(const struct cip_reply *r, unsigned i)
{
	return (uint16_t)(r->ext[2 * i] | r->ext[2 * i + 1] << 8);
}

/* "0x0204 (Unconnected request timed out)" or "0x0909, 0x0001". */
static void ext_text(const struct cip_reply *r, char *out, size_t len)
{
	size_t o = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < r->ext_words && o + 16 < len; i++) {
		uint16_t w = ext_word(r, i);
		const char *n = i == 0 && r->status == GS_CONNECTION_FAILURE
					? code_name(cm_ext_statuses, N_ELEMS(cm_ext_statuses), w) : NULL;
		int k = snprintf(out + o, len - o, "%s0x%04X%s%s%s", i ? ", " : "", w, n ? " (" : "",
				 n ? n : "", n ? ")" : "");
		o += k > 0 ? (size_t)k : 0;
	}
}

/* What failed inside a reply: the general status, and for a Multiple
 * Service Packet each failed embedded reply named with its request. */
struct failure {
	int have;
	uint8_t status;                 /* the vendor code's */
	char list[LIST_TEXT];
	unsigned n_failed, n_items;
};

static void list_add(struct failure *f, size_t *o, const char *text)
{
	if (*o >= sizeof(f->list) - 1)
		return;
	int k = snprintf(f->list + *o, sizeof(f->list) - *o, "%s%s", *o ? "; " : "", text);
	if (k < 0 || (size_t)k >= sizeof(f->list) - *o) {
		/* The rest does not fit: say so instead of cutting a name. */
		f->list[*o] = '\0';
		snprintf(f->list + *o, sizeof(f->list) - *o, "%s...", *o ? "; " : "");
		*o = sizeof(f->list);
		return;
	}
	*o += (size_t)k;
}

static void msp_failures(const struct cip_reply *r, const struct cip_req *req, struct failure *f)
{
	size_t o = 0;
	unsigned n = msp_count(r->data, r->data_len);
	f->n_items = n;
	for (unsigned i = 0; i < n && i < MSP_MAX; i++) {
		const uint8_t *item, *qi;
		size_t ilen, qlen;
		struct cip_reply er;
		if (!msp_item(r->data, r->data_len, i, &item, &ilen) || !cip_reply_read(item, ilen, &er))
			break;
		if (er.status == 0)
			continue;
		if (!f->n_failed++ && !f->have) {
			f->have = 1;
			f->status = er.status;
		}
		char what[PATH_TEXT + 64], ext[96], line[PATH_TEXT + 256];
		struct cip_req eq;
		if (req && msp_item(req->data, req->data_len, i, &qi, &qlen) && cip_req_read(qi, qlen, &eq))
			request_text(&eq, what, sizeof(what));
		else
			service_text(er.service & 0x7F, 0, 0, what, sizeof(what));
		ext_text(&er, ext, sizeof(ext));
		snprintf(line, sizeof(line), "#%u %s: %s (0x%02X)%s%s", i + 1, what,
			 general_status_name(er.status), er.status, ext[0] ? ", extended " : "", ext);
		list_add(f, &o, line);
	}
}

/* The request the answer was paired with, opened up (or NULL). */
static const struct cip_req *paired_target(const x1367_txn *txn, struct req_view *v)
{
	size_t got = 0, wire = 0;
	const uint8_t *req = txn ? api->txn_request(txn, &got, &wire) : NULL;
	if (!req)
		return NULL;
	req_view_read(req, got, v);
	return v->have_cip ? &v->target : NULL;
}

static void report(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *bytes, size_t len,
		   x1367_txn *txn, const char *vendor, struct x1367_desc *d)
{
	char uid[64];
	address_uid(pkt->src, uid, sizeof(uid));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = vendor,
		.txn = txn,
		.response = bytes,
		.response_len = len,
		.responder_uid = uid,
		.desc = d->kv,
		.n_desc = d->n,
	};
	api->report(ctx, &rep);
}

static void judge_cip(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *bytes, size_t len,
		      x1367_txn *txn, const struct cpf *cpf)
{
	struct cip_reply r;
	struct req_view v;
	struct failure f = {.have = 0};
	struct x1367_desc d = {.n = 0};
	char vendor[4], ext[160], svc[64];

	if (!cip_reply_read(cpf->cip, cpf->cip_len, &r)) {
		malformed(ctx, EV_MALFORMED_CIP);
		return;
	}
	const struct cip_req *req = paired_target(txn, &v);
	if (r.status) {
		f.have = 1;
		f.status = r.status;
	}
	if ((r.service & 0x7F) == SVC_MULTIPLE_SERVICE_PACKET &&
	    (!req || req->service == SVC_MULTIPLE_SERVICE_PACKET))
		msp_failures(&r, req, &f);
	if (!f.have)
		return;

	if (!txn) {
		service_text(r.service & 0x7F, 0, 0, svc, sizeof(svc));
		x1367_desc_add(&d, "Service", "%s", svc);
	}
	if (cpf->connected && !txn) {
		if (cpf->have_conn_id)
			x1367_desc_add(&d, "Connection ID", "0x%08X", cpf->conn_id);
		x1367_desc_add(&d, "Sequence Count", "%u", cpf->seq);
	}
	x1367_desc_add(&d, "Reply Service", "0x%02X", r.service);
	x1367_desc_add(&d, "General Status", "%s (0x%02X)", general_status_name(r.status), r.status);
	ext_text(&r, ext, sizeof(ext));
	if (ext[0])
		x1367_desc_add(&d, "Extended Status", "%s", ext);
	if (f.n_failed) {
		x1367_desc_add(&d, "Failed Services", "%u of %u", f.n_failed, f.n_items);
		x1367_desc_add(&d, "Failures", "%s", f.list);
	}
	snprintf(vendor, sizeof(vendor), "%02X", f.status);
	report(ctx, pkt, bytes, len, txn, vendor, &d);
}

static void judge_encap(x1367_ctx *ctx, const struct x1367_packet *pkt, const uint8_t *bytes,
			size_t len, x1367_txn *txn, const struct encap *h)
{
	struct x1367_desc d = {.n = 0};
	char vendor[12], ctxhex[17];
	const char *n = encap_status_name(h->status);
	if (!txn) {
		const struct enip_cmd *c = command_of(h->cmd);
		x1367_desc_add(&d, "Command", "%s (0x%04X)", c ? c->name : "Unknown", h->cmd);
		x1367_desc_add(&d, "Session Handle", "0x%08X", h->session);
		hex_of(h->ctx, 8, ctxhex);
		x1367_desc_add(&d, "Sender Context", "%s", ctxhex);
	}
	x1367_desc_add(&d, "Encapsulation Status", "%s (0x%08X)", n ? n : "Unknown", h->status);
	snprintf(vendor, sizeof(vendor), "%08X", h->status);
	report(ctx, pkt, bytes, len, txn, vendor, &d);
}

/* A SendUnitData answer fits a request of the same connection: when the
 * capture showed the Forward_Open that paired the request's O->T id with
 * a T->O id, the answer must come on that one; an answer on a T->O id
 * known to belong to another connection fits no other request; without
 * the Forward_Open (mid-stream), any. */
struct unit_fit {
	const struct enip_state *st;
	uint32_t to;
};

static int unit_fits(const x1367_txn *txn, const void *arg)
{
	const struct unit_fit *u = arg;
	size_t got = 0, wire = 0;
	const uint8_t *req = api->txn_request(txn, &got, &wire);
	struct encap h;
	struct cpf c;
	if (!req || !message_cip(req, got, &h, &c) || !c.have_conn_id)
		return 1;
	for (unsigned i = 0; i < u->st->n_pairs; i++)
		if (u->st->pairs[i].ot == c.conn_id)
			return u->st->pairs[i].to == u->to;
	for (unsigned i = 0; i < u->st->n_pairs; i++)
		if (u->st->pairs[i].to == u->to)
			return 0;
	return 1;
}

/* A successful Forward_Open answer: remember which ids are one connection. */
static void learn_forward_open(x1367_ctx *ctx, struct enip_state *st, const struct cpf *cpf)
{
	struct cip_reply r;
	struct x1367_reader rd;
	if (!cip_reply_read(cpf->cip, cpf->cip_len, &r) || r.status != 0)
		return;
	uint8_t svc = r.service & 0x7F;
	if (svc != SVC_FORWARD_OPEN && svc != SVC_LARGE_FORWARD_OPEN)
		return;
	x1367_rd_init(&rd, r.data, r.data_len);
	struct conn_pair p;
	p.ot = rd_le32(&rd);
	p.to = rd_le32(&rd);
	if (!x1367_rd_ok(&rd))
		return;
	for (unsigned i = 0; i < st->n_pairs; i++)
		if (st->pairs[i].to == p.to) {
			st->pairs[i] = p;
			return;
		}
	if (st->n_pairs < CONN_PAIRS_MAX) {
		st->pairs[st->n_pairs++] = p;
		return;
	}
	api->event(ctx, EV_CONN_TABLE_FULL);
	st->pairs[st->next_pair] = p;
	st->next_pair = (uint8_t)((st->next_pair + 1) % CONN_PAIRS_MAX);
}

static void on_answer(x1367_ctx *ctx, struct enip_state *st, const struct x1367_packet *pkt,
		      const uint8_t *bytes, size_t len, const struct encap *h)
{
	struct cpf cpf;
	struct encap hh;
	x1367_txn *txn = NULL;
	int has_cip = message_cip(bytes, len, &hh, &cpf);
	const struct enip_cmd *c = command_of(h->cmd);

	if (c && !c->answered)
		return;                         /* NOP, UnRegisterSession from a target */
	if (h->cmd == CMD_SEND_UNIT_DATA) {
		if (has_cip && cpf.connected) {
			struct x1367_txn_key k = unit_key(cpf.seq);
			struct unit_fit u = {st, cpf.conn_id};
			txn = x1367_txn_find_fit(api, ctx, &k, unit_fits, &u, NULL);
		}
	} else {
		struct x1367_txn_key k = encap_key(h);
		txn = api->txn_find(ctx, &k);
	}
	if (!txn && !is_discovery(pkt, h->cmd))
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);

	if (h->status != 0)
		judge_encap(ctx, pkt, bytes, len, txn, h);
	else if (h->cmd == CMD_SEND_RR_DATA || h->cmd == CMD_SEND_UNIT_DATA) {
		if (!has_cip)
			malformed(ctx, EV_MALFORMED_CPF);
		else {
			learn_forward_open(ctx, st, &cpf);
			judge_cip(ctx, pkt, bytes, len, txn, &cpf);
		}
	}
	if (txn) {
		char uid[64];
		address_uid(pkt->src, uid, sizeof(uid));
		if (X1367_HAS_FIELD(api, heartbeat_polled) && api->heartbeat_polled)
			api->heartbeat_polled(ctx, uid);
		api->txn_answered(ctx, txn);
	}
}

static void on_message(x1367_ctx *ctx, struct enip_state *st, const struct x1367_packet *pkt,
		       const uint8_t *bytes, size_t len, const struct encap *h, enum x1367_dir dir)
{
	if (dir == X1367_TO_SERVER)
		on_request(ctx, pkt, bytes, len, h);
	else
		on_answer(ctx, st, pkt, bytes, len, h);
}

/* ---- Framing and resynchronisation ------------------------------------------- */

/* Strict headers from data[0] on, each message whole, the last one
 * allowed to run past the end (it is still coming). */
static int chain_strict(const uint8_t *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		struct encap h;
		if (len - off < ENIP_HDR)
			return off > 0;              /* a header cut here: not yet known */
		if (!encap_read(data + off, len - off, &h) || !header_strict(&h))
			return 0;
		off += ENIP_HDR + (size_t)h.len;
	}
	return 1;
}

/* Bytes to skip to the next boundary; when none is found, all but the
 * last header's worth (a boundary may start there, in bytes to come). */
static size_t resync_skip(const uint8_t *data, size_t len)
{
	size_t p = 0;
	while (p + ENIP_HDR <= len && !chain_strict(data + p, len - p))
		p++;
	return p;
}

static enum x1367_parse_result parse_stream(x1367_ctx *ctx, struct enip_state *st,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed, enum x1367_dir dir)
{
	size_t off = 0;

	if (st->skip[dir]) {
		off = len < st->skip[dir] ? len : st->skip[dir];
		st->skip[dir] -= (uint32_t)off;
	}
	while (off < len) {
		struct encap h;
		if (len - off < ENIP_HDR)
			break;
		encap_read(data + off, len - off, &h);
		int ok = st->synced[dir] ? header_lenient(&h) : chain_strict(data + off, len - off);
		if (!ok) {
			if (!st->resyncing[dir]) {
				/* Counted once per run of garbage; quiet before the
				 * first boundary (the capture began mid-message). */
				st->resyncing[dir] = 1;
				if (st->synced[dir]) {
					api->event(ctx, EV_BAD_HEADER);
					*consumed = off + 1 + resync_skip(data + off + 1, len - off - 1);
					st->synced[dir] = 0;
					return X1367_PARSE_ERROR;
				}
			}
			off += 1 + resync_skip(data + off + 1, len - off - 1);
			continue;
		}
		st->synced[dir] = 1;
		st->resyncing[dir] = 0;
		size_t total = ENIP_HDR + (size_t)h.len;
		size_t have = len - off;
		if (total > ENIP_HOLD) {
			if (have < ENIP_HOLD)
				break;
			api->event(ctx, EV_TRUNCATED);
			on_message(ctx, st, pkt, data + off, ENIP_HOLD, &h, dir);
			off += ENIP_HOLD;
			size_t rest = total - ENIP_HOLD, now = len - off < rest ? len - off : rest;
			off += now;
			st->skip[dir] = (uint32_t)(rest - now);
			continue;
		}
		if (have < total)
			break;
		on_message(ctx, st, pkt, data + off, total, &h, dir);
		off += total;
	}
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

/* UDP: one datagram, one or more whole messages. */
static enum x1367_parse_result parse_datagram(x1367_ctx *ctx, struct enip_state *st,
					      const struct x1367_packet *pkt, const uint8_t *data,
					      size_t len, size_t *consumed, enum x1367_dir dir)
{
	size_t off = 0;
	*consumed = len;
	while (off < len) {
		struct encap h;
		if (len - off < ENIP_HDR || !encap_read(data + off, len - off, &h) || !header_lenient(&h) ||
		    h.len > len - off - ENIP_HDR) {
			api->event(ctx, EV_BAD_HEADER);
			return X1367_PARSE_ERROR;
		}
		on_message(ctx, st, pkt, data + off, ENIP_HDR + (size_t)h.len, &h, dir);
		off += ENIP_HDR + (size_t)h.len;
	}
	return X1367_PARSE_OK;
}

static enum x1367_parse_result enip_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					  const uint8_t *data, size_t len, size_t *consumed)
{
	struct enip_state none;
	struct enip_state *st = state;
	enum x1367_dir dir = pkt->dir == X1367_TO_CLIENT ? X1367_TO_CLIENT : X1367_TO_SERVER;

	if (!st) {
		memset(&none, 0, sizeof(none));
		st = &none;
	}
	if (pkt->transport == X1367_UDP)
		return parse_datagram(ctx, st, pkt, data, len, consumed, dir);
	return parse_stream(ctx, st, pkt, data, len, consumed, dir);
}

/* Lost bytes: the stream resumes anywhere inside a message. */
static void enip_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct enip_state *st = state;
	(void)ctx;
	if (st && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT)) {
		st->synced[dir] = 0;
		st->resyncing[dir] = 1;   /* quiet: the loss is counted as a gap */
		st->skip[dir] = 0;
	}
}

/* EtherNet/IP on another port: an originator's first message is a
 * RegisterSession (protocol version 1) or a List* request. */
static enum x1367_probe_result enip_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	struct encap h;
	if (dir != X1367_TO_SERVER)
		return X1367_PROBE_NO;
	if (len < ENIP_HDR)
		return len >= 2 && data[1] == 0 &&
		       (data[0] == CMD_REGISTER_SESSION || data[0] == CMD_LIST_IDENTITY ||
			data[0] == CMD_LIST_SERVICES)
			? X1367_PROBE_MAYBE : X1367_PROBE_NO;
	encap_read(data, len, &h);
	if (h.status || h.options)
		return X1367_PROBE_NO;
	if (h.cmd == CMD_REGISTER_SESSION && h.len == 4 && h.session == 0) {
		if (len < ENIP_HDR + 4)
			return X1367_PROBE_MAYBE;
		return data[ENIP_HDR] == 1 && data[ENIP_HDR + 1] == 0 ? X1367_PROBE_YES : X1367_PROBE_NO;
	}
	if ((h.cmd == CMD_LIST_IDENTITY || h.cmd == CMD_LIST_SERVICES) && h.len == 0)
		return X1367_PROBE_YES;
	return X1367_PROBE_NO;
}

static int enip_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t enip_ports[] = {ENIP_PORT, 0};

static const char *const enip_events[] = {
	EV_BAD_HEADER,
	EV_MALFORMED_CPF,
	EV_MALFORMED_CIP,
	EV_REQUEST_STATUS,
	EV_TRUNCATED,
	EV_CONN_TABLE_FULL,
	NULL,
};

static const struct x1367_dissector enip_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "enip",
	.protocol = "EtherNet/IP",
	.transports = X1367_TCP | X1367_UDP,
	.ports = enip_ports,
	.ndpi_name = "EthernetIP",
	.request_timeout_ms = 5000,
	.state_size = sizeof(struct enip_state),
	.init = enip_init,
	.probe = enip_probe,
	.parse = {
		[X1367_TO_SERVER] = enip_parse,
		[X1367_TO_CLIENT] = enip_parse,
	},
	.gap = enip_gap,
	.event_names = enip_events,
	.describe_request = enip_describe,
};

/* The header does not declare the entry point: say it here. */
__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &enip_dissector;
}
