/*
 * Omron FINS (Factory Interface Network Service) over UDP and TCP 9600,
 * built as a plugin through the public ABI only: the bundled UDP example.
 *
 * A FINS frame (Omron W342 "FINS Commands", W227):
 *   ICF · RSV · GCT · DNA · DA1 · DA2 · SNA · SA1 · SA2 · SID · MRC · SRC
 *   · parameters                               (a command)
 *   · MRES · SRES · data                       (a response)
 * ICF bit 6 says command (0) or response (1); ICF bit 0 says the command
 * wants no response (1).  SID is the requester's own number for the
 * exchange; MRC/SRC the command code, repeated in the response.
 *
 * Datagrams.  Over UDP one datagram is one frame.  Both ends usually send
 * from port 9600 to port 9600, so which side is the "server" (the
 * engine's X1367_TO_SERVER/X1367_TO_CLIENT, fixed by the first datagram
 * of the flow) says nothing: a PLC also sends commands of its own.  Each
 * frame is a command or a response by its ICF bit 6, whatever the
 * direction; both parse slots run the same function.
 *
 * FINS/TCP.  Over TCP each message starts with a 16-byte header: "FINS",
 * length (bytes after this field), command, error code.  Command 0 is the
 * client's node address request, 1 the server's answer, 2 carries one
 * FINS frame, 3 notifies an error sending one, 6 confirms the connection.
 * A non-zero error code in the header is the server's refusal of the
 * connection or of a frame (0x21: the client node address is in use):
 * reported under the 8-digit vendor code of the header's error code, so
 * it never collides with a 4-digit end code in rules/fins.map.
 *
 * End codes.  MRES bit 7 says a relay error (a gateway on the route
 * failed; two bytes after the end code name where), SRES bit 7 a fatal
 * and bit 6 a non-fatal error of the answering CPU Unit.  These flags
 * are not part of the end code: the vendor code reported is
 * (MRES & 0x7F) << 8 | (SRES & 0x3F), as four hex digits ("0401"); the
 * flags go into the Description.  0000 "normal completion" is never
 * reported, even with a CPU flag set (the command succeeded; the flag is
 * counted as the event cpu_error_flag).
 *
 * Pairing.  A response answers the command with the same SID between the
 * same two IP addresses (X1367_TXN_HOSTS, ports ignored: some nodes answer
 * from another port) and the same MRC/SRC.  The FINS node addresses are
 * not compared: a node answers a command sent to its "own node" address
 * (DA1 0) with its real node number.  A command with ICF bit 0 set wants
 * no response: opened with X1367_TXN_NO_TIMEOUT, never "10 No Response",
 * though an error answer it still gets pairs with it.
 *
 * Unique IDs: the responder's IP address: a FINS node is one address, and
 * its FINS node numbers differ between a command and its answer (above);
 * they are in the Description ("FINS Destination", "FINS Source").
 */
#include <stdio.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define FINS_PORT 9600
#define FINS_HDR_LEN 10        /* ICF .. SID */
#define FINS_CMD_MIN 12        /* + MRC SRC */
#define FINS_RESP_MIN 14       /* + MRES SRES */

#define ICF_RESPONSE 0x40
#define ICF_NO_RESPONSE 0x01
#define ICF_RESERVED 0x3E

#define MRES_RELAY_ERROR 0x80
#define SRES_FATAL_CPU 0x80
#define SRES_NONFATAL_CPU 0x40

#define FINS_TCP_MAGIC 0x46494E53u  /* "FINS" */
#define FINS_TCP_HDR_LEN 16
/* The length field counts command and error code (8) and the frame: a
 * FINS frame is at most 2012 bytes; more is no FINS/TCP message. */
#define FINS_TCP_LEN_MIN 8
#define FINS_TCP_LEN_MAX (8 + 2012)

enum fins_tcp_command {
	TCP_NODE_ADDR_CLIENT = 0,
	TCP_NODE_ADDR_SERVER = 1,
	TCP_FRAME_SEND = 2,
	TCP_FRAME_ERROR = 3,
	TCP_CONNECTION_CONFIRM = 6,
};

#define KEY_FRAME 'F'          /* txn key: 'F' SID MRC SRC */
#define KEY_NODE_ADDR 'N'      /* txn key of a node address request */

#define EV_BAD_TCP_HEADER "invalid_tcp_header"
#define EV_UNKNOWN_TCP_COMMAND "unknown_tcp_command"
#define EV_CPU_ERROR_FLAG "cpu_error_flag"
#define EV_NO_RESPONSE_WANTED "no_response_command"

static const struct x1367_engine_api *api;

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names ----------------------------------------------------------- */

struct name16 {
	uint16_t code;
	const char *name;
};

/* Command codes (MRC << 8 | SRC): Omron W342, section 5. */
static const struct name16 commands[] = {
	{0x0101, "Memory Area Read"}, {0x0102, "Memory Area Write"},
	{0x0103, "Memory Area Fill"}, {0x0104, "Multiple Memory Area Read"},
	{0x0105, "Memory Area Transfer"}, {0x0201, "Parameter Area Read"},
	{0x0202, "Parameter Area Write"}, {0x0203, "Parameter Area Clear"},
	{0x0220, "Data Link Table Read"}, {0x0221, "Data Link Table Write"},
	{0x0304, "Program Area Protect"}, {0x0305, "Program Area Protect Clear"},
	{0x0306, "Program Area Read"}, {0x0307, "Program Area Write"},
	{0x0308, "Program Area Clear"}, {0x0401, "Run"}, {0x0402, "Stop"}, {0x0403, "Reset"},
	{0x0501, "Controller Data Read"}, {0x0502, "Connection Data Read"},
	{0x0601, "Controller Status Read"}, {0x0602, "Network Status Read"},
	{0x0603, "Data Link Status Read"}, {0x0620, "Cycle Time Read"},
	{0x0701, "Clock Read"}, {0x0702, "Clock Write"}, {0x0801, "Loopback Test"},
	{0x0802, "Broadcast Test Results Read"}, {0x0803, "Broadcast Test Data Send"},
	{0x0920, "Message Read/Clear, FAL/FALS Read"}, {0x0C01, "Access Right Acquire"},
	{0x0C02, "Access Right Forced Acquire"}, {0x0C03, "Access Right Release"},
	{0x2101, "Error Clear"}, {0x2102, "Error Log Read"}, {0x2103, "Error Log Pointer Clear"},
	{0x2140, "FINS Write Access Log Read"}, {0x2141, "FINS Write Access Log Clear"},
	{0x2201, "File Name Read"}, {0x2202, "Single File Read"}, {0x2203, "Single File Write"},
	{0x2204, "File Memory Format"}, {0x2205, "File Delete"},
	{0x2206, "Volume Label Create/Delete"}, {0x2207, "File Copy"},
	{0x2208, "File Name Change"}, {0x2209, "File Data Check"},
	{0x220A, "Memory Area File Transfer"}, {0x220B, "Parameter Area File Transfer"},
	{0x220C, "Program Area File Transfer"}, {0x220F, "File Memory Index Read"},
	{0x2210, "File Memory Read"}, {0x2211, "File Memory Write"},
	{0x2215, "Directory Create/Delete"}, {0x2301, "Forced Set/Reset"},
	{0x2302, "Forced Set/Reset Cancel"}, {0x230A, "Multiple Forced Status Read"},
	{0x2601, "Name Set"}, {0x2602, "Name Delete"}, {0x2603, "Name Read"},
};

struct area {
	uint8_t code;
	const char *name;      /* as addresses are written: "DM 100" */
	uint8_t bits;          /* 1: a bit address (word.bit) */
};

/* Memory area codes of the CS/CJ/CP series (W342 5-2-2) and, where they
 * differ, of the CV series. */
static const struct area areas[] = {
	{0x30, "CIO", 1}, {0x31, "W", 1}, {0x32, "H", 1}, {0x33, "A", 1},
	{0xB0, "CIO", 0}, {0xB1, "W", 0}, {0xB2, "H", 0}, {0xB3, "A", 0},
	{0x70, "CIO (forced)", 1}, {0x71, "W (forced)", 1}, {0x72, "H (forced)", 1},
	{0xF0, "CIO (forced)", 0}, {0xF1, "W (forced)", 0}, {0xF2, "H (forced)", 0},
	{0x09, "T/C flag", 1}, {0x49, "T/C flag (forced)", 1}, {0x89, "T/C PV", 0},
	{0x02, "D", 1}, {0x82, "D", 0}, {0x06, "TK", 1}, {0x46, "TK status", 0},
	{0xDC, "IR", 0}, {0xBC, "DR", 0}, {0x07, "clock pulses/condition flags", 1},
	{0x0A, "E (current bank)", 1}, {0x98, "E (current bank)", 0},
	{0x00, "CIO (CV)", 1}, {0x80, "CIO (CV)", 0}, {0x01, "T/C flag (CV)", 1},
	{0x81, "T/C PV (CV)", 0}, {0x9C, "register (CV)", 0},
};

static const char *command_name(uint16_t code)
{
	for (size_t i = 0; i < N_ELEMS(commands); i++)
		if (commands[i].code == code)
			return commands[i].name;
	return "unknown command";
}

/* EM banks: 0x20-0x2F bit, 0xA0-0xAF word (CS/CJ), 0x90-0x97 word (CV). */
static int area_of(uint8_t code, char *name, size_t len, int *bits)
{
	for (size_t i = 0; i < N_ELEMS(areas); i++)
		if (areas[i].code == code) {
			snprintf(name, len, "%s", areas[i].name);
			*bits = areas[i].bits;
			return 1;
		}
	if ((code & 0xF0) == 0x20 || (code & 0xF0) == 0xA0 || (code & 0xF8) == 0x90) {
		snprintf(name, len, "E%X", (code & 0xF0) == 0x90 ? code & 0x07 : code & 0x0F);
		*bits = (code & 0xF0) == 0x20;
		return 1;
	}
	return 0;
}

/* ---- a FINS frame ---------------------------------------------------- */

struct fins_frame {
	uint8_t icf, gct, dna, da1, da2, sna, sa1, sa2, sid;
	uint16_t command;              /* MRC << 8 | SRC */
	const uint8_t *params;         /* after SRC (a response: after SRC, MRES SRES first) */
	size_t params_len;
};

/* 0 when the bytes are no FINS frame (too short). */
static int frame_read(const uint8_t *data, size_t len, struct fins_frame *f)
{
	struct x1367_reader rd;

	x1367_rd_init(&rd, data, len);
	f->icf = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 1);   /* RSV */
	f->gct = x1367_rd_u8(&rd);
	f->dna = x1367_rd_u8(&rd);
	f->da1 = x1367_rd_u8(&rd);
	f->da2 = x1367_rd_u8(&rd);
	f->sna = x1367_rd_u8(&rd);
	f->sa1 = x1367_rd_u8(&rd);
	f->sa2 = x1367_rd_u8(&rd);
	f->sid = x1367_rd_u8(&rd);
	f->command = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd))
		return 0;
	f->params = data + rd.pos;
	f->params_len = x1367_rd_left(&rd);
	return 1;
}

static int is_response(const struct fins_frame *f)
{
	return (f->icf & ICF_RESPONSE) != 0;
}

/* Memory area commands: area, address and count (or the first of a
 * multiple read, whose items are area+address each). */
static void desc_memory(struct x1367_desc *d, const struct fins_frame *f)
{
	struct x1367_reader rd;
	char name[48];
	int bits = 0;
	uint8_t code, bit;
	uint16_t word, count;

	x1367_rd_init(&rd, f->params, f->params_len);
	code = x1367_rd_u8(&rd);
	word = x1367_rd_be16(&rd);
	bit = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd))
		return;
	if (!area_of(code, name, sizeof(name), &bits))
		snprintf(name, sizeof(name), "area %02X", code);
	x1367_desc_add(d, "Memory Area", "%02X %s", code, name);
	if (bits)
		x1367_desc_add(d, "Address", "%s %u.%02u", name, word, bit);
	else
		x1367_desc_add(d, "Address", "%s %u", name, word);
	if (f->command == 0x0104 || f->command == 0x0105)
		return;   /* more areas follow, no count here */
	count = x1367_rd_be16(&rd);
	if (x1367_rd_ok(&rd))
		x1367_desc_add(d, "Items", "%u", count);
}

/* What a record says of a command: its name and, for memory commands,
 * where it read or wrote. */
static void desc_command(struct x1367_desc *d, const struct fins_frame *f)
{
	x1367_desc_add(d, "Command", "%04X %s", f->command, command_name(f->command));
	if (!is_response(f) && f->command >= 0x0101 && f->command <= 0x0105)
		desc_memory(d, f);
	x1367_desc_add(d, "SID", "%02X", f->sid);
	x1367_desc_add(d, "FINS Destination", "%u.%u.%u", f->dna, f->da1, f->da2);
	x1367_desc_add(d, "FINS Source", "%u.%u.%u", f->sna, f->sa1, f->sa2);
}

/* ---- transactions ---------------------------------------------------- */

static void frame_key(const struct fins_frame *f, struct x1367_txn_key *k)
{
	memset(k, 0, sizeof(*k));
	k->scope = X1367_TXN_HOSTS;
	k->len = 4;
	k->id[0] = KEY_FRAME;
	k->id[1] = f->sid;
	k->id[2] = (uint8_t)(f->command >> 8);
	k->id[3] = (uint8_t)f->command;
}

static void responder_uid(const struct x1367_addr *a, char *uid, size_t len)
{
	api->format_addr(a, uid, len);
}

static void polled_heartbeat(x1367_ctx *ctx, const char *uid)
{
	if (X1367_HAS_FIELD(api, heartbeat_polled) && api->heartbeat_polled)
		api->heartbeat_polled(ctx, uid);
	else
		api->heartbeat(ctx, uid);
}

/* `msg` is the message as on the wire: the frame, or over TCP the FINS/TCP
 * header and the frame. */
static void on_command(x1367_ctx *ctx, const struct fins_frame *f, const uint8_t *msg, size_t len)
{
	struct x1367_txn_request req = {.struct_size = sizeof(req)};

	frame_key(f, &req.key);
	req.bytes = msg;
	req.len = len;
	/* responder_uid and desc NULL: describe_request says them, only
	 * when a record needs them. */
	if (f->icf & ICF_NO_RESPONSE) {
		req.flags = X1367_TXN_NO_TIMEOUT;
		api->event(ctx, EV_NO_RESPONSE_WANTED);
	}
	api->txn_open(ctx, &req);
}

static void desc_flags(struct x1367_desc *d, uint8_t mres, uint8_t sres, const struct fins_frame *f)
{
	if (mres & MRES_RELAY_ERROR) {
		/* The relay error's place: network and node of the failed hop. */
		if (f->params_len >= 4)
			x1367_desc_add(d, "Relay Error", "at network %u node %u", f->params[2],
				       f->params[3]);
		else
			x1367_desc_add(d, "Relay Error", "yes");
	}
	if (sres & SRES_FATAL_CPU)
		x1367_desc_add(d, "CPU Unit", "fatal error");
	else if (sres & SRES_NONFATAL_CPU)
		x1367_desc_add(d, "CPU Unit", "non-fatal error");
}

static void on_response(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct fins_frame *f,
			const uint8_t *msg, size_t len)
{
	struct x1367_txn_key key;
	struct x1367_report rep = {.struct_size = sizeof(rep)};
	struct x1367_desc d = {.n = 0};
	char uid[64], vendor[8];
	uint8_t mres, sres;
	x1367_txn *txn;

	if (f->params_len < 2) {
		api->event(ctx, X1367_EV_MALFORMED);   /* a response without end code */
		return;
	}
	mres = f->params[0];
	sres = f->params[1];
	frame_key(f, &key);
	txn = api->txn_find(ctx, &key);
	responder_uid(pkt->src, uid, sizeof(uid));
	if (txn)
		api->txn_answered(ctx, txn);
	if ((mres & 0x7F) == 0 && (sres & 0x3F) == 0) {
		if (sres & (SRES_FATAL_CPU | SRES_NONFATAL_CPU))
			api->event(ctx, EV_CPU_ERROR_FLAG);
		if (!txn)
			api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
		polled_heartbeat(ctx, uid);
		return;
	}
	snprintf(vendor, sizeof(vendor), "%02X%02X", mres & 0x7F, sres & 0x3F);
	if (!txn)
		desc_command(&d, f);
	desc_flags(&d, mres, sres, f);
	rep.vendor_code = vendor;
	rep.txn = txn;
	rep.response = msg;
	rep.response_len = len;
	rep.responder_uid = uid;
	rep.desc = d.kv;
	rep.n_desc = d.n;
	api->report(ctx, &rep);
}

/* One FINS frame; `msg`/`msg_len` the whole message it came in. */
static enum x1367_parse_result on_frame(x1367_ctx *ctx, const struct x1367_packet *pkt,
					const uint8_t *frame, size_t frame_len, const uint8_t *msg,
					size_t msg_len)
{
	struct fins_frame f;

	if (!frame_read(frame, frame_len, &f)) {
		api->event(ctx, X1367_EV_MALFORMED);
		return X1367_PARSE_ERROR;
	}
	if (is_response(&f))
		on_response(ctx, pkt, &f, msg, msg_len);
	else
		on_command(ctx, &f, msg, msg_len);
	return X1367_PARSE_OK;
}

/* ---- FINS/TCP -------------------------------------------------------- */

struct tcp_header {
	uint32_t length, command, error;
};

static void on_tcp_error(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct tcp_header *h,
			 const uint8_t *msg, size_t len)
{
	struct x1367_txn_key key = {.scope = X1367_TXN_FLOW, .len = 1, .id = {KEY_NODE_ADDR}};
	struct x1367_report rep = {.struct_size = sizeof(rep)};
	struct x1367_desc d = {.n = 0};
	char uid[64], vendor[12];
	x1367_txn *txn = h->command == TCP_NODE_ADDR_SERVER ? api->txn_find(ctx, &key) : NULL;

	if (txn)
		api->txn_answered(ctx, txn);
	responder_uid(pkt->src, uid, sizeof(uid));
	snprintf(vendor, sizeof(vendor), "%08X", (unsigned)h->error);
	x1367_desc_add(&d, "FINS/TCP Command", "%u", (unsigned)h->command);
	rep.vendor_code = vendor;
	rep.txn = txn;
	rep.response = msg;
	rep.response_len = len;
	rep.responder_uid = uid;
	rep.desc = d.kv;
	rep.n_desc = d.n;
	api->report(ctx, &rep);
}

static void on_node_address(x1367_ctx *ctx, const struct tcp_header *h, const uint8_t *msg, size_t len)
{
	struct x1367_txn_key key = {.scope = X1367_TXN_FLOW, .len = 1, .id = {KEY_NODE_ADDR}};
	struct x1367_txn_request req = {.struct_size = sizeof(req), .key = key, .bytes = msg, .len = len};
	x1367_txn *txn;

	if (h->command == TCP_NODE_ADDR_CLIENT) {
		api->txn_open(ctx, &req);
		return;
	}
	if ((txn = api->txn_find(ctx, &key)) != NULL)
		api->txn_answered(ctx, txn);
}

/* Bytes to skip to the next possible "FINS" (at least one). */
static size_t resync(const uint8_t *data, size_t len)
{
	for (size_t i = 1; i < len; i++)
		if (data[i] == 'F' && (len - i < 4 || !memcmp(data + i, "FINS", 4)))
			return i;
	return len;
}

static enum x1367_parse_result fins_tcp(x1367_ctx *ctx, const struct x1367_packet *pkt,
					const uint8_t *data, size_t len, size_t *consumed)
{
	struct x1367_reader rd;
	struct tcp_header h;
	uint32_t magic;
	size_t total;

	x1367_rd_init(&rd, data, len);
	if (len < 4 ? memcmp(data, "FINS", len) != 0 : memcmp(data, "FINS", 4) != 0)
		goto bad;
	if (len < FINS_TCP_HDR_LEN)
		return X1367_PARSE_NEED_MORE;
	magic = x1367_rd_be32(&rd);
	h.length = x1367_rd_be32(&rd);
	if (magic != FINS_TCP_MAGIC || h.length < FINS_TCP_LEN_MIN || h.length > FINS_TCP_LEN_MAX)
		goto bad;
	total = 8 + (size_t)h.length;
	if (len < total)
		return X1367_PARSE_NEED_MORE;
	h.command = x1367_rd_be32(&rd);
	h.error = x1367_rd_be32(&rd);
	*consumed = total;
	if (h.error) {
		on_tcp_error(ctx, pkt, &h, data, total);
		return X1367_PARSE_OK;
	}
	switch (h.command) {
	case TCP_FRAME_SEND:
		return on_frame(ctx, pkt, data + FINS_TCP_HDR_LEN, total - FINS_TCP_HDR_LEN, data, total);
	case TCP_NODE_ADDR_CLIENT:
	case TCP_NODE_ADDR_SERVER:
		on_node_address(ctx, &h, data, total);
		return X1367_PARSE_OK;
	case TCP_FRAME_ERROR:
	case TCP_CONNECTION_CONFIRM:
		return X1367_PARSE_OK;
	default:
		api->event(ctx, EV_UNKNOWN_TCP_COMMAND);
		return X1367_PARSE_OK;
	}
bad:
	api->event(ctx, EV_BAD_TCP_HEADER);
	*consumed = resync(data, len);
	return X1367_PARSE_ERROR;
}

/* ---- the descriptor -------------------------------------------------- */

static enum x1367_parse_result fins_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					  const uint8_t *data, size_t len, size_t *consumed)
{
	(void)state;
	if (pkt->transport == X1367_TCP)
		return fins_tcp(ctx, pkt, data, len, consumed);
	/* A datagram is one frame: all of it is used, whatever it holds. */
	*consumed = len;
	return on_frame(ctx, pkt, data, len, data, len);
}

/* A FINS frame by its fixed bits (reserved ICF bits and RSV zero, a gateway
 * count of at most 7), or a FINS/TCP header. */
static enum x1367_probe_result fins_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	(void)dir;
	if (len >= 4 && !memcmp(data, "FINS", 4))
		return X1367_PROBE_YES;
	if (len < FINS_CMD_MIN)
		return len < 4 && !memcmp(data, "FINS", len) ? X1367_PROBE_MAYBE : X1367_PROBE_NO;
	if ((data[0] & ICF_RESERVED) || data[1] != 0 || data[2] > 7)
		return X1367_PROBE_NO;
	if ((data[0] & ICF_RESPONSE) && len < FINS_RESP_MIN)
		return X1367_PROBE_NO;
	return X1367_PROBE_YES;
}

static size_t fins_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			    struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct fins_frame f;
	const uint8_t *frame = req->bytes;
	size_t len = req->len;

	responder_uid(req->responder, uid, uid_len);
	if (len >= FINS_TCP_HDR_LEN && !memcmp(frame, "FINS", 4)) {
		frame += FINS_TCP_HDR_LEN;
		len -= FINS_TCP_HDR_LEN;
		if (len == 0) {
			x1367_desc_add(&d, "FINS/TCP Command", "%u", req->bytes[11]);
			return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
		}
	}
	if (!frame_read(frame, len, &f))
		return 0;
	desc_command(&d, &f);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

static int fins_init(const struct x1367_engine_api *a)
{
	api = a;
	return 0;
}

static const uint16_t fins_ports[] = {FINS_PORT, 0};

static const char *const fins_events[] = {
	EV_BAD_TCP_HEADER, EV_UNKNOWN_TCP_COMMAND, EV_CPU_ERROR_FLAG, EV_NO_RESPONSE_WANTED, NULL,
};

static const struct x1367_dissector fins_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "fins",
	.protocol = "Omron FINS",
	.transports = X1367_UDP | X1367_TCP,
	.ports = fins_ports,
	.ndpi_name = NULL,
	/* A PLC answers within its cycle; Omron's own tools wait 2 s. */
	.request_timeout_ms = 5000,
	.state_size = 0,   /* nothing between messages: the engine buffers TCP */
	.init = fins_init,
	.probe = fins_probe,
	.parse = {
		[X1367_TO_SERVER] = fins_parse,
		[X1367_TO_CLIENT] = fins_parse,
	},
	.event_names = fins_events,
	.describe_request = fins_describe,
	.version = "1.0",
};

X1367_PLUGIN_EXPORT const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &fins_dissector;
}
