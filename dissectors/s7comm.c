/*
 * Siemens S7comm over ISO-on-TCP (RFC 1006), TCP port 102.
 *
 * Layers, each framed from the byte stream:
 *   TPKT (RFC 1006)  version 3 · reserved 0 · length (2, whole packet)
 *   COTP (ISO 8073)  length indicator · PDU type · ...  Class 0 DT:
 *                    LI 2 · F0 · EOT bit + TPDU number, then user data
 *   S7               0x32 · ROSCTR · redundancy id (2) · PDU reference (2)
 *                    · parameter length (2) · data length (2)
 *                    [· error class · error code: Ack and Ack_Data only]
 * One S7 PDU is the user data of a run of DT TPDUs ending with the one
 * whose EOT bit is set (STEP 7 sends an empty DT without EOT before some
 * requests).  The run is kept in the engine's buffer until its EOT
 * arrives, so the PDU "as on the wire" (the Transmitted Code) is the
 * bytes of those TPKTs, headers included.  A TPKT larger than S7_HOLD is
 * dissected from its head, the rest skipped unbuffered; a run of DTs that
 * grows past S7_HOLD is dropped up to its EOT (both counted as
 * large_pdu_truncated; S7 PDUs are at most 960 bytes in practice).
 *
 * TCP 102 also carries other protocols over COTP (IEC 61850 MMS): a DT
 * whose user data does not start with 0x32 is counted, never parsed (on a
 * connection that already spoke S7 it is a malformed S7 PDU).
 * S7comm-plus (0x72, S7-1200/1500) is recognised and counted only.
 *
 * Requests and their answers (scope: the connection; the key is the
 * requester's direction, the ROSCTR family and the PDU reference):
 *   Job (1)                      -> Ack (2) or Ack_Data (3)
 *   Userdata request (type 4)    -> Userdata response (type 8) with the
 *                                   same function group and subfunction
 * Userdata indications (type 0: alarms, cyclic data) answer nothing.
 * The answer must fit its request (the same function for a Job, the same
 * group and subfunction for Userdata): one that does not is counted as
 * function_mismatch and leaves the request open.  Every Job and Userdata
 * request needs an answer: none within request_timeout_ms is "10".
 *
 * Errors reported, one record per response (vendor codes, rules/s7comm.map):
 *   Ack/Ack_Data header error class + code, non-zero      "CCcc" (4 digits)
 *   Userdata parameter error code, non-zero               "CCcc" (same table)
 *   Read Var / Write Var item return codes other than FF,
 *   Userdata data return code other than FF               "rr"   (2 digits)
 * With several failed items, the first failing code is the vendor code
 * and Description lists every failed item: the first ITEMS_LISTED with
 * the address the request named and the code's name, the rest by number
 * and code.  A Userdata response with error code 0 whose data unit is
 * "0A, NULL, length 0" is no error: it is how a PLC answers a function
 * that returns no data (Set clock, PLC password accepted), the same form
 * requests use for "no data"; counted as userdata_no_data.
 *
 * Unique IDs: the requester is its address; the responder is
 * "address#rack/slot" when this connection's COTP Connect Request named
 * the destination TSAP (DEFAULT-MAPPINGS: "192.0.2.40#0/2"), else its
 * address.
 */
#include <stdio.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define S7_HOLD 4096                 /* raw bytes of one PDU kept to dissect it */
#define TPKT_HDR 4
#define TPKT_MIN 7                   /* TPKT header + COTP LI + type + DT byte */
#define COTP_DT 0xF0
#define COTP_CR 0xE0
#define COTP_EOT 0x80
#define S7_ID 0x32
#define S7PLUS_ID 0x72
#define UID_MAX 64
#define ITEMS_LISTED 8               /* failed items named with their address */

enum rosctr { R_JOB = 1, R_ACK = 2, R_ACK_DATA = 3, R_USERDATA = 7 };
enum ud_type { UD_PUSH = 0x0, UD_REQ = 0x4, UD_RES = 0x8 };
enum func { F_READ_VAR = 0x04, F_WRITE_VAR = 0x05, F_SETUP = 0xF0 };

#define EV_BAD_FRAME "bad_tpkt_cotp"
#define EV_MIDSTREAM "midstream_resync"
#define EV_MALFORMED_S7 "malformed_s7"
#define EV_OTHER_COTP "cotp_not_s7"
#define EV_S7PLUS "s7comm_plus"
#define EV_TRUNCATED "large_pdu_truncated"
#define EV_MISMATCH "function_mismatch"
#define EV_NO_DATA "userdata_no_data"
#define EV_INDICATION "userdata_indication"

static const struct x1367_engine_api *api;

/* Per flow. */
struct s7_state {
	uint32_t skip[2];            /* rest of an oversized TPKT, to discard */
	uint8_t resyncing[2];
	uint8_t seen[2];             /* bytes of this direction were parsed */
	uint8_t drop_run[2];         /* an oversized DT run: drop up to its EOT */
	uint8_t s7_seen;             /* the connection carried S7 PDUs */
	uint8_t tsap_known, rack, slot;
	char uid[UID_MAX];           /* the called side's Unique ID, once made */
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Names (Wireshark's packet-s7comm.c value_strings are the reference) */

struct name {
	uint16_t code;
	const char *name;
};

static const char *name_of(const struct name *t, size_t n, uint16_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

#define NAME(t, c) name_of(t, N_ELEMS(t), c)

static const struct name rosctr_names[] = {
	{R_JOB, "Job"}, {R_ACK, "Ack"}, {R_ACK_DATA, "Ack_Data"}, {R_USERDATA, "Userdata"},
};

static const struct name errcls_names[] = {
	{0x81, "Application relationship"}, {0x82, "Object definition"},
	{0x83, "No resources available"}, {0x84, "Error on service processing"},
	{0x85, "Error on supplies"}, {0x87, "Access error"},
};

static const struct name func_names[] = {
	{0x00, "CPU services"}, {0x01, "Mode transition"}, {F_SETUP, "Setup communication"},
	{F_READ_VAR, "Read Var"}, {F_WRITE_VAR, "Write Var"}, {0x1A, "Request download"},
	{0x1B, "Download block"}, {0x1C, "Download ended"}, {0x1D, "Start upload"},
	{0x1E, "Upload"}, {0x1F, "End upload"}, {0x28, "PI-Service"}, {0x29, "PLC Stop"},
};

static const struct name item_rc_names[] = {
	{0x00, "Reserved"}, {0x01, "Hardware error"}, {0x03, "Accessing the object not allowed"},
	{0x05, "Invalid address"}, {0x06, "Data type not supported"},
	{0x07, "Data type inconsistent"}, {0x0A, "Object does not exist"}, {0xFF, "Success"},
};

static const struct name ud_group_names[] = {
	{0x1, "Programmer commands"}, {0x2, "Cyclic services"}, {0x3, "Block functions"},
	{0x4, "CPU functions"}, {0x5, "Security"}, {0x6, "PBC BSEND"}, {0x7, "Time functions"},
	{0xF, "NC programming"},
};

/* Subfunctions by group: (group << 8) | subfunction. */
static const struct name ud_subfunc_names[] = {
	{0x101, "Block status"}, {0x102, "Variable status"}, {0x103, "Output ISTACK"},
	{0x104, "Output BSTACK"}, {0x105, "Output LSTACK"}, {0x106, "Time measurement from to"},
	{0x107, "Force selection"}, {0x108, "Modify variable"}, {0x109, "Force"},
	{0x10A, "Breakpoint"}, {0x10B, "Exit HOLD"}, {0x10C, "Memory reset"},
	{0x10D, "Disable job"}, {0x10E, "Enable job"}, {0x10F, "Delete job"},
	{0x110, "Read job list"}, {0x111, "Read job"}, {0x112, "Replace job"},
	{0x113, "Block status v2"}, {0x116, "Flash LED"},
	{0x201, "Cyclic transfer"}, {0x204, "Unsubscribe"}, {0x205, "Change driven transfer"},
	{0x207, "Change driven transfer modify"}, {0x208, "RDREC"},
	{0x301, "List blocks"}, {0x302, "List blocks of type"}, {0x303, "Get block info"},
	{0x401, "Read SZL"}, {0x402, "Message service"}, {0x403, "Diagnostic message"},
	{0x405, "ALARM_8 indication"}, {0x406, "NOTIFY indication"}, {0x407, "ALARM_8 lock"},
	{0x408, "ALARM_8 unlock"}, {0x409, "SCAN indication"}, {0x40B, "ALARM ack"},
	{0x40C, "ALARM ack indication"}, {0x40D, "ALARM lock indication"},
	{0x40E, "ALARM unlock indication"}, {0x410, "AR_SEND indication"},
	{0x411, "ALARM_SQ indication"}, {0x412, "ALARM_S indication"}, {0x413, "ALARM query"},
	{0x416, "NOTIFY_8 indication"},
	{0x501, "PLC password"},
	{0x701, "Read clock"}, {0x702, "Set clock"}, {0x703, "Read clock (following)"},
	{0x704, "Set clock"},
};

static const struct name area_names[] = {
	{0x01, "RECORD"}, {0x03, "SI200"}, {0x05, "SF200"}, {0x06, "AI200"}, {0x07, "AO"},
	{0x1C, "C"}, {0x1D, "T"}, {0x1E, "C200"}, {0x1F, "T200"}, {0x80, "P"}, {0x81, "I"},
	{0x82, "Q"}, {0x83, "M"}, {0x84, "DB"}, {0x85, "DI"}, {0x86, "L"}, {0x87, "V"},
};

static const struct name tsize_names[] = {
	{1, "BIT"}, {2, "BYTE"}, {3, "CHAR"}, {4, "WORD"}, {5, "INT"}, {6, "DWORD"},
	{7, "DINT"}, {8, "REAL"}, {9, "DATE"}, {10, "TOD"}, {11, "TIME"}, {12, "S5TIME"},
	{15, "DATE_AND_TIME"}, {28, "COUNTER"}, {29, "TIMER"}, {30, "IEC TIMER"},
	{31, "IEC COUNTER"}, {32, "HS COUNTER"},
};

/* Block types as the two ASCII characters of a PLC file name ("0A"). */
static const struct name block_names[] = {
	{0x3038, "OB"}, {0x3039, "CMod"}, {0x3041, "DB"}, {0x3042, "SDB"},
	{0x3043, "FC"}, {0x3044, "SFC"}, {0x3045, "FB"}, {0x3046, "SFB"},
};

/* ---- TPKT + COTP framing ------------------------------------------------- */

struct tpdu {
	size_t len;                  /* whole TPKT */
	uint8_t type;                /* COTP PDU type, high nibble */
	uint8_t eot;                 /* DT: last TPDU of the PDU */
	size_t data_off;             /* DT: where the user data starts */
};

enum frame_verdict { FR_OK, FR_SHORT, FR_BAD };

static int cotp_type_known(uint8_t t)
{
	switch (t & 0xF0) {
	case 0xE0: case 0xD0: case 0x80: case 0xC0: case 0x70:   /* CR CC DR DC ER */
	case 0x10: case 0x60: case 0x20: case 0x50:              /* ED AK EA RJ */
		return 1;
	case COTP_DT:
		return t == COTP_DT;
	default:
		return 0;
	}
}

/* A TPKT with a COTP header at data[0], as far as the bytes go. */
static enum frame_verdict tpdu_read(const uint8_t *data, size_t len, struct tpdu *t)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	/* Each byte is judged as soon as it is there: garbage is told from a
	 * short read without waiting for more. */
	if (len >= 1 && data[0] != 3)
		return FR_BAD;
	if (len >= 2 && data[1] != 0)
		return FR_BAD;
	x1367_rd_skip(&rd, 2);               /* version 3, reserved 0 */
	t->len = x1367_rd_be16(&rd);
	uint8_t li = x1367_rd_u8(&rd), type = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd))
		return FR_SHORT;
	if (t->len < TPKT_MIN || li < 2 || (size_t)li + 1 > t->len - TPKT_HDR || !cotp_type_known(type))
		return FR_BAD;
	t->type = type & 0xF0;
	t->data_off = TPKT_HDR + 1 + (size_t)li;
	/* Class 0 DT: LI 2, then the EOT bit with the TPDU number. */
	if (t->type == COTP_DT) {
		if (li != 2)
			return FR_BAD;
		uint8_t nr = x1367_rd_u8(&rd);
		if (!x1367_rd_ok(&rd))
			return FR_SHORT;
		t->eot = nr & COTP_EOT;
	}
	/* Connection management TPDUs of S7 carry parameters, no data. */
	else if (t->type != 0x10 && t->data_off != t->len)
		return FR_BAD;
	return FR_OK;
}

/* Could a TPKT start here?  Stricter than framing: a DT's user data must
 * begin like S7 or S7comm-plus when its first byte is there. */
static int tpdu_plausible(const uint8_t *data, size_t len)
{
	struct tpdu t;
	if (tpdu_read(data, len, &t) != FR_OK)
		return 0;
	if (t.type == COTP_DT && t.len > t.data_off && len > t.data_off)
		return data[t.data_off] == S7_ID || data[t.data_off] == S7PLUS_ID;
	return 1;
}

/* Bytes to skip to the next plausible TPKT.  The last TPKT_MIN - 1 bytes
 * are kept when nothing is found: a header may begin there. */
static size_t resync_skip(const uint8_t *data, size_t len, size_t from)
{
	size_t p = from;
	while (p + TPKT_MIN <= len && !tpdu_plausible(data + p, len - p))
		p++;
	return p;
}

/* The S7 PDU of a run of DT TPDUs (raw, as on the wire): a pointer into
 * raw when one TPDU carries it all, else the pieces copied into buf. */
static const uint8_t *pdu_of_run(const uint8_t *raw, size_t len, uint8_t *buf, size_t cap,
				 size_t *pdu_len)
{
	const uint8_t *single = NULL;
	size_t off = 0, n = 0, pieces = 0;
	while (off < len) {
		struct tpdu t;
		if (tpdu_read(raw + off, len - off, &t) != FR_OK || t.type != COTP_DT)
			break;
		size_t end = t.len < len - off ? t.len : len - off;
		if (end > t.data_off) {
			size_t piece = end - t.data_off;
			single = raw + off + t.data_off;
			if (piece > cap - n)
				piece = cap - n;
			memcpy(buf + n, single, piece);
			n += piece;
			pieces++;
		}
		off += t.len;
	}
	*pdu_len = n;
	return pieces == 1 ? single : buf;
}

/* ---- The S7 header ------------------------------------------------------- */

struct s7_hdr {
	uint8_t rosctr;
	uint16_t pduref, plen, dlen;
	uint8_t errcls, errcod;
	size_t hlen;
	const uint8_t *param, *data;
	size_t param_have, data_have;   /* bytes there (a cut PDU has fewer) */
};

/* 1 when pdu holds an S7 header whose lengths fit the PDU (or, for a PDU
 * cut at S7_HOLD, at least start in it). */
static int s7_hdr_read(const uint8_t *pdu, size_t len, int cut, struct s7_hdr *h)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, pdu, len);
	x1367_rd_u8(&rd);                    /* protocol id, checked by the caller */
	h->rosctr = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 2);               /* redundancy identification */
	h->pduref = x1367_rd_be16(&rd);
	h->plen = x1367_rd_be16(&rd);
	h->dlen = x1367_rd_be16(&rd);
	h->errcls = h->errcod = 0;
	if (h->rosctr == R_ACK || h->rosctr == R_ACK_DATA) {
		h->errcls = x1367_rd_u8(&rd);
		h->errcod = x1367_rd_u8(&rd);
	}
	if (!x1367_rd_ok(&rd) || !NAME(rosctr_names, h->rosctr))
		return 0;
	h->hlen = rd.pos;
	size_t need = h->hlen + (size_t)h->plen + h->dlen;
	if (need > len && !cut)
		return 0;
	size_t rest = len - h->hlen;
	h->param = pdu + h->hlen;
	h->param_have = h->plen < rest ? h->plen : rest;
	h->data = h->param + h->param_have;
	rest -= h->param_have;
	h->data_have = h->dlen < rest ? h->dlen : rest;
	return 1;
}

/* Userdata parameter: head 00 01 12, length, method, type|group,
 * subfunction, sequence; with length 8 also data unit reference, last
 * data unit and the error code. */
struct ud_param {
	uint8_t type, group, subfunc, seq;
	uint16_t errcode;
	int has_errcode;
};

static int ud_param_read(const struct s7_hdr *h, struct ud_param *u)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, h->param, h->param_have);
	const uint8_t *head = x1367_rd_bytes(&rd, 3);
	uint8_t plen = x1367_rd_u8(&rd);
	x1367_rd_u8(&rd);                    /* method: 0x11 request, 0x12 response */
	uint8_t tg = x1367_rd_u8(&rd);
	u->subfunc = x1367_rd_u8(&rd);
	u->seq = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd) || head[0] != 0 || head[1] != 1 || (plen != 4 && plen != 8))
		return 0;
	u->type = tg >> 4;
	u->group = tg & 0x0F;
	u->has_errcode = plen == 8;
	u->errcode = 0;
	if (u->has_errcode) {
		x1367_rd_skip(&rd, 2);       /* data unit reference, last data unit */
		u->errcode = x1367_rd_be16(&rd);
	}
	return x1367_rd_ok(&rd);
}

/* ---- Describing a request -------------------------------------------------- */

static void desc_function(struct x1367_desc *d, uint8_t fn)
{
	const char *n = NAME(func_names, fn);
	x1367_desc_add(d, "Function", "%s (0x%02X)", n ? n : "Unknown", fn);
}

static void desc_ud_function(struct x1367_desc *d, const struct ud_param *u)
{
	const char *g = NAME(ud_group_names, u->group);
	const char *s = NAME(ud_subfunc_names, (uint16_t)(u->group << 8 | u->subfunc));
	x1367_desc_add(d, "Function Group", "%s (%u)", g ? g : "Unknown", u->group);
	x1367_desc_add(d, "Subfunction", "%s (%u)", s ? s : "Unknown", u->subfunc);
}

/* "DB1.DBX 10.0 BYTE 4", "M 5.2 BIT 1", "T 3 TIMER 1" from an S7ANY item. */
static int item_address(struct x1367_reader *rd, char *out, size_t len)
{
	uint8_t spec = x1367_rd_u8(rd), slen = x1367_rd_u8(rd);
	if (!x1367_rd_ok(rd) || spec != 0x12 || slen < 1)
		return 0;
	const uint8_t *p = x1367_rd_bytes(rd, slen);
	if (!p)
		return 0;
	if (p[0] != 0x10 || slen != 10) {
		snprintf(out, len, "syntax id 0x%02X", p[0]);
		return 1;
	}
	uint8_t ts = p[1], area = p[6];
	unsigned count = (unsigned)(p[2] << 8 | p[3]), db = (unsigned)(p[4] << 8 | p[5]);
	uint32_t addr = (uint32_t)p[7] << 16 | (uint32_t)p[8] << 8 | p[9];
	const char *an = NAME(area_names, area), *tn = NAME(tsize_names, ts);
	char tsz[16];
	if (!tn) {
		snprintf(tsz, sizeof(tsz), "0x%02X", ts);
		tn = tsz;
	}
	if (area == 0x84)
		snprintf(out, len, "DB%u.DBX %u.%u %s %u", db, addr >> 3, addr & 7, tn, count);
	else if (area == 0x1C || area == 0x1D || area == 0x1E || area == 0x1F)
		snprintf(out, len, "%s %u %s %u", an, addr, tn, count);
	else if (an)
		snprintf(out, len, "%s %u.%u %s %u", an, addr >> 3, addr & 7, tn, count);
	else
		snprintf(out, len, "area 0x%02X %u.%u %s %u", area, addr >> 3, addr & 7, tn, count);
	return 1;
}

/* The address of item `want` (0-based) of a Read/Write Var Job. */
static int job_item_address(const struct s7_hdr *h, unsigned want, char *out, size_t len)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, h->param, h->param_have);
	x1367_rd_skip(&rd, 1);
	uint8_t count = x1367_rd_u8(&rd);
	for (unsigned i = 0; x1367_rd_ok(&rd) && i < count; i++) {
		if (!item_address(&rd, out, len))
			return 0;
		if (i == want)
			return 1;
	}
	return 0;
}

/* A PLC file name "_0A00001P" -> "DB 1"; anything else as printable text. */
static void file_name(const uint8_t *p, size_t n, char *out, size_t len)
{
	const char *bt = n == 9 && p[0] == '_' ? NAME(block_names, (uint16_t)(p[1] << 8 | p[2])) : NULL;
	unsigned num = 0;
	for (size_t i = 3; bt && i < 8; i++) {
		if (p[i] < '0' || p[i] > '9')
			bt = NULL;
		else
			num = num * 10 + (unsigned)(p[i] - '0');
	}
	if (bt) {
		snprintf(out, len, "%s %u", bt, num);
		return;
	}
	size_t o = 0;
	for (size_t i = 0; i < n && o + 2 < len; i++)
		out[o++] = p[i] >= 0x20 && p[i] < 0x7F ? (char)p[i] : '?';
	out[o] = '\0';
}

static void desc_job_params(struct x1367_desc *d, const struct s7_hdr *h)
{
	struct x1367_reader rd;
	char text[96];
	uint8_t fn = h->param_have ? h->param[0] : 0;
	x1367_rd_init(&rd, h->param, h->param_have);
	x1367_rd_skip(&rd, 1);
	switch (fn) {
	case F_READ_VAR:
	case F_WRITE_VAR: {
		uint8_t count = x1367_rd_u8(&rd);
		if (!x1367_rd_ok(&rd))
			return;
		x1367_desc_add(d, "Item Count", "%u", count);
		if (job_item_address(h, 0, text, sizeof(text)))
			x1367_desc_add(d, "First Item", "%s", text);
		break;
	}
	case 0x1A: case 0x1B: case 0x1C: case 0x1D: {
		x1367_rd_skip(&rd, 7);
		uint8_t n = x1367_rd_u8(&rd);
		const uint8_t *p = x1367_rd_bytes(&rd, n);
		if (p) {
			file_name(p, n, text, sizeof(text));
			x1367_desc_add(d, "Block", "%s", text);
		}
		break;
	}
	case 0x28: case 0x29: {
		/* PI service: 7 unknown bytes, parameter block; PLC Stop: 5. */
		if (fn == 0x28) {
			x1367_rd_skip(&rd, 7);
			x1367_rd_skip(&rd, x1367_rd_be16(&rd));
		} else {
			x1367_rd_skip(&rd, 5);
		}
		uint8_t n = x1367_rd_u8(&rd);
		const uint8_t *p = x1367_rd_bytes(&rd, n);
		if (p) {
			file_name(p, n, text, sizeof(text));
			x1367_desc_add(d, "PI Service", "%s", text);
		}
		break;
	}
	case F_SETUP: {
		x1367_rd_skip(&rd, 5);
		uint16_t pdu = x1367_rd_be16(&rd);
		if (x1367_rd_ok(&rd))
			x1367_desc_add(d, "PDU Length", "%u", pdu);
		break;
	}
	default:
		break;
	}
}

/* What a Userdata request names: the SZL partial list, the block.  The
 * data of a password request (the password) never reaches a record. */
static void desc_ud_data(struct x1367_desc *d, const struct s7_hdr *h, const struct ud_param *u)
{
	struct x1367_reader rd;
	char text[32];
	x1367_rd_init(&rd, h->data, h->data_have);
	uint8_t rc = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 1);
	uint16_t n = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd) || rc != 0xFF)
		return;
	uint16_t fn = (uint16_t)(u->group << 8 | u->subfunc);
	if (fn == 0x401 && n >= 4) {
		uint16_t id = x1367_rd_be16(&rd), index = x1367_rd_be16(&rd);
		if (x1367_rd_ok(&rd)) {
			x1367_desc_add(d, "SZL ID", "0x%04X", id);
			x1367_desc_add(d, "SZL Index", "0x%04X", index);
		}
	} else if ((fn == 0x302 && n >= 2) || (fn == 0x303 && n >= 8)) {
		const uint8_t *p = x1367_rd_bytes(&rd, fn == 0x303 ? 8 : 2);
		const char *bt = p ? NAME(block_names, (uint16_t)(p[0] << 8 | p[1])) : NULL;
		if (p && fn == 0x303) {
			uint8_t name[9] = {'_', p[0], p[1], p[2], p[3], p[4], p[5], p[6], 'A'};
			file_name(name, sizeof(name), text, sizeof(text));
			x1367_desc_add(d, "Block", "%s", text);
		} else if (p) {
			x1367_desc_add(d, "Block Type", "%s", bt ? bt : "Unknown");
		}
	}
}

/* Description of a request from its S7 PDU. */
static void desc_request(struct x1367_desc *d, const uint8_t *pdu, size_t len, int cut)
{
	struct s7_hdr h;
	struct ud_param u;
	if (!len || pdu[0] != S7_ID || !s7_hdr_read(pdu, len, cut, &h))
		return;
	if (h.rosctr == R_JOB) {
		if (h.param_have)
			desc_function(d, h.param[0]);
		x1367_desc_add(d, "PDU Reference", "%u", h.pduref);
		desc_job_params(d, &h);
	} else if (h.rosctr == R_USERDATA && ud_param_read(&h, &u)) {
		desc_ud_function(d, &u);
		x1367_desc_add(d, "PDU Reference", "%u", h.pduref);
		x1367_desc_add(d, "Sequence Number", "%u", u.seq);
		desc_ud_data(d, &h, &u);
	}
}

/* ---- Unique IDs ------------------------------------------------------------ */

static void ip_uid(const struct x1367_addr *a, char *buf, size_t len)
{
	api->format_addr(a, buf, len);
}

/* The called side (the PLC): "192.0.2.40#0/2" once the TSAP is known. */
static const char *plc_uid(struct s7_state *st, const struct x1367_addr *plc)
{
	if (!st->uid[0]) {
		char ip[48];
		ip_uid(plc, ip, sizeof(ip));
		if (st->tsap_known)
			snprintf(st->uid, sizeof(st->uid), "%s#%u/%u", ip, st->rack, st->slot);
		else
			snprintf(st->uid, sizeof(st->uid), "%s", ip);
	}
	return st->uid;
}

static size_t s7_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			  struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	uint8_t pdu[S7_HOLD];
	size_t plen;
	ip_uid(req->responder, uid, uid_len);
	const uint8_t *p = pdu_of_run(req->bytes, req->len, pdu, sizeof(pdu), &plen);
	desc_request(&d, p, plen, req->len < req->wire_len);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

/* ---- Requests ----------------------------------------------------------------- */

static struct x1367_txn_key txn_key(enum x1367_dir req_dir, uint8_t family, uint16_t pduref)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 4};
	k.id[0] = (uint8_t)req_dir;
	k.id[1] = family;
	k.id[2] = (uint8_t)(pduref >> 8);
	k.id[3] = (uint8_t)pduref;
	return k;
}

/* Nothing is formatted per request, except on a connection whose TSAP
 * named rack and slot: the Unique ID is then stored with the request (a
 * timeout's record has no flow state to ask), and with it the fields. */
static void open_request(x1367_ctx *ctx, struct s7_state *st, const struct x1367_packet *pkt,
			 const uint8_t *raw, size_t raw_len, const uint8_t *pdu, size_t pdu_len,
			 int cut, uint8_t family, uint16_t pduref)
{
	struct x1367_desc d = {.n = 0};
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = txn_key((enum x1367_dir)pkt->dir, family, pduref),
		.bytes = raw,
		.len = raw_len,
	};
	if (st->tsap_known && pkt->dir == X1367_TO_SERVER) {
		desc_request(&d, pdu, pdu_len, cut);
		req.responder_uid = plc_uid(st, pkt->dst);
		req.desc = d.kv;
		req.n_desc = d.n;
	}
	api->txn_open(ctx, &req);
}

/* ---- Answers ------------------------------------------------------------------- */

struct answer {
	uint8_t family;              /* R_JOB or R_USERDATA */
	int has_fn;
	uint16_t fn;                 /* Job function, or group << 8 | subfunction */
};

static uint16_t request_fn(const x1367_txn *txn, uint8_t family, int *ok)
{
	size_t got = 0, wire = 0;
	uint8_t buf[S7_HOLD];
	size_t plen;
	struct s7_hdr h;
	struct ud_param u;
	const uint8_t *raw = api->txn_request(txn, &got, &wire);
	const uint8_t *pdu = pdu_of_run(raw, got, buf, sizeof(buf), &plen);
	*ok = 0;
	if (!plen || pdu[0] != S7_ID || !s7_hdr_read(pdu, plen, got < wire, &h))
		return 0;
	if (family == R_JOB && h.param_have) {
		*ok = 1;
		return h.param[0];
	}
	if (family == R_USERDATA && ud_param_read(&h, &u)) {
		*ok = 1;
		return (uint16_t)(u.group << 8 | u.subfunc);
	}
	return 0;
}

static int answer_fits(const x1367_txn *txn, const void *arg)
{
	const struct answer *a = arg;
	int ok;
	uint16_t fn = request_fn(txn, a->family, &ok);
	return !a->has_fn || !ok || fn == a->fn;
}

static x1367_txn *find_request(x1367_ctx *ctx, const struct x1367_packet *pkt, uint16_t pduref,
			       const struct answer *a)
{
	enum x1367_dir req_dir = pkt->dir == X1367_TO_CLIENT ? X1367_TO_SERVER : X1367_TO_CLIENT;
	struct x1367_txn_key key = txn_key(req_dir, a->family, pduref);
	unsigned tried = 0;
	x1367_txn *txn = x1367_txn_find_fit(api, ctx, &key, answer_fits, a, &tried);
	if (!txn && tried)
		api->event(ctx, EV_MISMATCH);
	else if (!txn)
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	return txn;
}

static const char *responder_uid(struct s7_state *st, const struct x1367_packet *pkt, char *buf,
				 size_t len)
{
	if (pkt->dir == X1367_TO_CLIENT)
		return plc_uid(st, pkt->src);
	ip_uid(pkt->src, buf, len);
	return buf;
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

struct failure {
	char vendor[8];
	struct x1367_desc d;
};

static void report(x1367_ctx *ctx, struct s7_state *st, const struct x1367_packet *pkt,
		   const uint8_t *raw, size_t raw_len, x1367_txn *txn, struct failure *f)
{
	char buf[UID_MAX];
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = f->vendor,
		.txn = txn,
		.response = raw,
		.response_len = raw_len,
		.responder_uid = responder_uid(st, pkt, buf, sizeof(buf)),
		.desc = f->d.kv,
		.n_desc = f->d.n,
	};
	api->report(ctx, &rep);
}

/* Without a request, the response says what it can about itself. */
static void desc_unpaired(struct x1367_desc *d, const struct s7_hdr *h, const struct ud_param *u)
{
	if (u)
		desc_ud_function(d, u);
	else if (h->rosctr == R_ACK_DATA && h->param_have)
		desc_function(d, h->param[0]);
	x1367_desc_add(d, "PDU Reference", "%u", h->pduref);
}

/* Read Var answer items: return code, transport size, length, data (a
 * length in bits for sizes 3-5), padded to even except the last; an item
 * that failed has no data.  Write Var answer items: a return code each. */
static void collect_items(const struct s7_hdr *h, const struct s7_hdr *job, struct failure *f)
{
	struct x1367_reader rd;
	char list[X1367_DESC_BUF * 3 / 4], addr[96];
	size_t o = 0;
	int full = 0;
	unsigned failed = 0, count = h->param_have >= 2 ? h->param[1] : 0;
	uint8_t fn = h->param[0];
	list[0] = '\0';
	x1367_rd_init(&rd, h->data, h->data_have);
	for (unsigned i = 0; i < count && x1367_rd_left(&rd) > 0; i++) {
		uint8_t rc = x1367_rd_u8(&rd);
		if (fn == F_READ_VAR) {
			uint8_t ts = x1367_rd_u8(&rd);
			uint32_t n = x1367_rd_be16(&rd);
			if (ts == 3 || ts == 4 || ts == 5)
				n = (n + 7) / 8;
			if (rc == 0xFF || rc == 0x00)
				x1367_rd_skip(&rd, n + ((n & 1) && i + 1 < count));
		}
		if (!x1367_rd_ok(&rd) || rc == 0xFF)
			continue;
		if (!failed++)
			snprintf(f->vendor, sizeof(f->vendor), "%02X", rc);
		if (full)
			continue;
		/* Named with its address while few, by number and code after. */
		const char *name = NAME(item_rc_names, rc);
		int have = failed <= ITEMS_LISTED && job && job_item_address(job, i, addr, sizeof(addr));
		int w = failed <= ITEMS_LISTED
			? snprintf(list + o, sizeof(list) - o, "%sitem %u%s%s%s: %s (0x%02X)", o ? "; " : "",
				   i + 1, have ? " (" : "", have ? addr : "", have ? ")" : "",
				   name ? name : "Unknown", rc)
			: snprintf(list + o, sizeof(list) - o, "; item %u: 0x%02X", i + 1, rc);
		if (w > 0 && (size_t)w < sizeof(list) - o - 5) {
			o += (size_t)w;
		} else {
			snprintf(list + o, sizeof(list) - o, "; ...");
			full = 1;
		}
	}
	if (!failed)
		return;
	x1367_desc_add(&f->d, "Item Count", "%u", count);
	x1367_desc_add(&f->d, "Failed Items", "%u", failed);
	x1367_desc_add(&f->d, "Item Return Codes", "%s", list);
}

/* The Job a stored request holds, for the item addresses it named. */
static int stored_job(const x1367_txn *txn, uint8_t *buf, size_t cap, struct s7_hdr *h)
{
	size_t got = 0, wire = 0, plen;
	const uint8_t *raw = txn ? api->txn_request(txn, &got, &wire) : NULL;
	if (!raw)
		return 0;
	const uint8_t *pdu = pdu_of_run(raw, got, buf, cap, &plen);
	if (pdu != buf && plen)
		memmove(buf, pdu, plen);
	return plen && buf[0] == S7_ID && s7_hdr_read(buf, plen, got < wire, h) && h->rosctr == R_JOB;
}

static void on_ack(x1367_ctx *ctx, struct s7_state *st, const struct x1367_packet *pkt,
		   const uint8_t *raw, size_t raw_len, const struct s7_hdr *h)
{
	struct answer a = {R_JOB, h->rosctr == R_ACK_DATA && h->param_have, 0};
	if (a.has_fn)
		a.fn = h->param[0];
	x1367_txn *txn = find_request(ctx, pkt, h->pduref, &a);
	struct failure f = {.vendor = "", .d = {.n = 0}};
	char buf[UID_MAX];

	if (h->errcls || h->errcod) {
		const char *cls = NAME(errcls_names, h->errcls);
		if (!txn)
			desc_unpaired(&f.d, h, NULL);
		x1367_desc_add(&f.d, "ROSCTR", "%s", NAME(rosctr_names, h->rosctr));
		x1367_desc_add(&f.d, "Error Class", "%s (0x%02X)", cls ? cls : "Unknown", h->errcls);
		snprintf(f.vendor, sizeof(f.vendor), "%02X%02X", h->errcls, h->errcod);
	} else if (a.has_fn && (a.fn == F_READ_VAR || a.fn == F_WRITE_VAR)) {
		uint8_t jb[S7_HOLD];
		struct s7_hdr job;
		int have_job = stored_job(txn, jb, sizeof(jb), &job);
		if (!txn)
			desc_unpaired(&f.d, h, NULL);
		collect_items(h, have_job ? &job : NULL, &f);
	}
	if (f.vendor[0])
		report(ctx, st, pkt, raw, raw_len, txn, &f);
	else
		polled_heartbeat(ctx, responder_uid(st, pkt, buf, sizeof(buf)));
	if (txn)
		api->txn_answered(ctx, txn);
}

/* The data unit of a Userdata response: its return code, or 0xFF when it
 * is the "no data" form of an answer without data (see the top). */
static uint8_t ud_data_code(x1367_ctx *ctx, const struct s7_hdr *h)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, h->data, h->data_have);
	uint8_t rc = x1367_rd_u8(&rd), ts = x1367_rd_u8(&rd);
	uint16_t n = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd) || rc == 0xFF)
		return 0xFF;
	if (rc == 0x0A && ts == 0 && n == 0) {
		api->event(ctx, EV_NO_DATA);
		return 0xFF;
	}
	return rc;
}

static void on_ud_response(x1367_ctx *ctx, struct s7_state *st, const struct x1367_packet *pkt,
			   const uint8_t *raw, size_t raw_len, const struct s7_hdr *h,
			   const struct ud_param *u)
{
	struct answer a = {R_USERDATA, 1, (uint16_t)(u->group << 8 | u->subfunc)};
	x1367_txn *txn = find_request(ctx, pkt, h->pduref, &a);
	struct failure f = {.vendor = "", .d = {.n = 0}};
	char buf[UID_MAX];
	uint8_t rc = 0xFF;

	if (u->errcode)
		snprintf(f.vendor, sizeof(f.vendor), "%04X", u->errcode);
	else if ((rc = ud_data_code(ctx, h)) != 0xFF)
		snprintf(f.vendor, sizeof(f.vendor), "%02X", rc);
	if (f.vendor[0]) {
		/* f.d is filled in place: its fields point into its own buffer. */
		if (!txn)
			desc_unpaired(&f.d, h, u);
		if (rc != 0xFF) {
			const char *n = NAME(item_rc_names, rc);
			x1367_desc_add(&f.d, "Data Return Code", "%s (0x%02X)", n ? n : "Unknown", rc);
		}
		report(ctx, st, pkt, raw, raw_len, txn, &f);
	} else {
		polled_heartbeat(ctx, responder_uid(st, pkt, buf, sizeof(buf)));
	}
	if (txn)
		api->txn_answered(ctx, txn);
}

static void malformed(x1367_ctx *ctx)
{
	api->event(ctx, EV_MALFORMED_S7);
	api->event(ctx, X1367_EV_MALFORMED);
}

/* One S7 PDU: raw is its TPKTs as on the wire, pdu its bytes. */
static void on_pdu(x1367_ctx *ctx, struct s7_state *st, const struct x1367_packet *pkt,
		   const uint8_t *raw, size_t raw_len, const uint8_t *pdu, size_t pdu_len, int cut)
{
	struct s7_hdr h;
	struct ud_param u;
	char buf[UID_MAX];

	if (!pdu_len)
		return;
	if (pdu[0] == S7PLUS_ID) {
		api->event(ctx, EV_S7PLUS);
		return;
	}
	/* Another user of COTP (MMS), unless this connection spoke S7:
	 * then it is a broken S7 PDU (snap7's server answers Get block info
	 * of a missing block with one). */
	if (pdu[0] != S7_ID && !st->s7_seen) {
		api->event(ctx, EV_OTHER_COTP);
		return;
	}
	if (pdu[0] != S7_ID || !s7_hdr_read(pdu, pdu_len, cut, &h)) {
		malformed(ctx);
		return;
	}
	st->s7_seen = 1;
	switch (h.rosctr) {
	case R_JOB:
		open_request(ctx, st, pkt, raw, raw_len, pdu, pdu_len, cut, R_JOB, h.pduref);
		break;
	case R_ACK:
	case R_ACK_DATA:
		on_ack(ctx, st, pkt, raw, raw_len, &h);
		break;
	default:                                   /* R_USERDATA */
		if (!ud_param_read(&h, &u)) {
			malformed(ctx);
		} else if (u.type == UD_REQ) {
			open_request(ctx, st, pkt, raw, raw_len, pdu, pdu_len, cut, R_USERDATA, h.pduref);
		} else if (u.type == UD_RES) {
			on_ud_response(ctx, st, pkt, raw, raw_len, &h, &u);
		} else {
			/* Alarms, cyclic data: the PLC speaks on its own. */
			api->event(ctx, EV_INDICATION);
			if (pkt->dir == X1367_TO_CLIENT)
				api->heartbeat(ctx, responder_uid(st, pkt, buf, sizeof(buf)));
		}
		break;
	}
}

/* COTP Connect Request: the called TSAP (parameter 0xC2) is connection
 * type · rack << 5 | slot for S7-300/400/1200/1500. */
static void on_connect_request(struct s7_state *st, const struct x1367_packet *pkt,
			       const uint8_t *tp, const struct tpdu *t)
{
	struct x1367_reader rd;
	if (pkt->dir != X1367_TO_SERVER || t->len < TPKT_HDR + 7)
		return;
	x1367_rd_init(&rd, tp + TPKT_HDR + 7, t->len - TPKT_HDR - 7);  /* after LI, type, refs, class */
	while (x1367_rd_left(&rd) >= 2) {
		uint8_t code = x1367_rd_u8(&rd), n = x1367_rd_u8(&rd);
		const uint8_t *v = x1367_rd_bytes(&rd, n);
		if (!v)
			return;
		if (code == 0xC2 && n == 2 && v[0] >= 1 && v[0] <= 3) {
			st->tsap_known = 1;
			st->rack = v[1] >> 5;
			st->slot = v[1] & 0x1F;
			st->uid[0] = '\0';
		}
	}
}

/* ---- The byte stream ---------------------------------------------------------------- */

/* Bytes at data[0] that frame as no TPKT: skip to the next plausible one.
 * Returns 1 when that is a fault of the peers (counted as malformed), 0
 * when the capture started inside the connection. */
static int framing_error(x1367_ctx *ctx, struct s7_state *st, const uint8_t *data, size_t len,
			 enum x1367_dir dir, size_t *skip)
{
	int fault = st->seen[dir];
	if (!fault)
		api->event(ctx, EV_MIDSTREAM);
	else if (!st->resyncing[dir]) {
		api->event(ctx, EV_BAD_FRAME);
		api->event(ctx, X1367_EV_MALFORMED);
	}
	*skip = resync_skip(data, len, 1);
	st->resyncing[dir] = *skip + TPKT_MIN > len;
	st->seen[dir] = 1;
	return fault;
}

/* One TPKT larger than S7_HOLD: its head is dissected when it starts a
 * PDU, the rest skipped as it comes; an open run it ends is lost. */
static size_t oversized(x1367_ctx *ctx, struct s7_state *st, const struct x1367_packet *pkt,
			const uint8_t *data, size_t len, size_t run, size_t off, const struct tpdu *t,
			enum x1367_dir dir)
{
	api->event(ctx, EV_TRUNCATED);
	if (run == off && t->type == COTP_DT) {
		const uint8_t *pdu = data + off + t->data_off;
		on_pdu(ctx, st, pkt, data + off, S7_HOLD, pdu, S7_HOLD - t->data_off, 1);
	}
	st->drop_run[dir] = t->type == COTP_DT && !t->eot;
	size_t rest = t->len - S7_HOLD, now = len - off - S7_HOLD < rest ? len - off - S7_HOLD : rest;
	st->skip[dir] = (uint32_t)(rest - now);
	return off + S7_HOLD + now;
}

static enum x1367_parse_result parse_stream(x1367_ctx *ctx, struct s7_state *st,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed, enum x1367_dir dir)
{
	uint8_t buf[S7_HOLD];
	size_t off = 0, run = 0;       /* run: where the open DT run starts */

	if (st->skip[dir]) {
		off = len < st->skip[dir] ? len : st->skip[dir];
		st->skip[dir] -= (uint32_t)off;
	}
	if (off < len && st->resyncing[dir]) {
		off = resync_skip(data, len, off);
		st->resyncing[dir] = off + TPKT_MIN > len;
		if (st->resyncing[dir]) {
			*consumed = off;
			return X1367_PARSE_NEED_MORE;
		}
	}
	run = off;
	while (off < len) {
		struct tpdu t;
		size_t skip;
		enum frame_verdict v = tpdu_read(data + off, len - off, &t);
		if (v == FR_SHORT)
			break;
		if (v == FR_BAD) {
			int fault = framing_error(ctx, st, data + off, len - off, dir, &skip);
			*consumed = off + skip;
			return fault ? X1367_PARSE_ERROR : X1367_PARSE_OK;
		}
		st->seen[dir] = 1;
		if (t.len > S7_HOLD) {
			if (len - off < S7_HOLD)
				break;
			off = run = oversized(ctx, st, pkt, data, len, run, off, &t, dir);
			continue;
		}
		if (off + t.len - run > S7_HOLD) {
			/* A run of DTs too long to keep: dropped up to its EOT. */
			api->event(ctx, EV_TRUNCATED);
			st->drop_run[dir] = 1;
			run = off;
		}
		if (len - off < t.len)
			break;
		if (t.type == COTP_CR)
			on_connect_request(st, pkt, data + off, &t);
		off += t.len;
		if (t.type != COTP_DT) {
			run = off;                         /* a run never spans other TPDUs */
			continue;
		}
		if (!t.eot)
			continue;
		if (st->drop_run[dir]) {
			st->drop_run[dir] = 0;
		} else {
			size_t plen;
			const uint8_t *pdu = pdu_of_run(data + run, off - run, buf, sizeof(buf), &plen);
			on_pdu(ctx, st, pkt, data + run, off - run, pdu, plen, 0);
		}
		run = off;
	}
	/* A dropped run's head need not wait for its end. */
	if (st->drop_run[dir])
		run = off;
	*consumed = run;
	return run < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

static enum x1367_parse_result s7_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					const uint8_t *data, size_t len, size_t *consumed)
{
	struct s7_state none;
	struct s7_state *st = state;
	enum x1367_dir dir = pkt->dir == X1367_TO_CLIENT ? X1367_TO_CLIENT : X1367_TO_SERVER;

	if (!st) {
		memset(&none, 0, sizeof(none));
		st = &none;
	}
	return parse_stream(ctx, st, pkt, data, len, consumed, dir);
}

/* Lost bytes: the stream resumes anywhere inside a TPKT. */
static void s7_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct s7_state *st = state;
	(void)ctx;
	if (st && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT)) {
		st->resyncing[dir] = 1;
		st->skip[dir] = 0;
		st->drop_run[dir] = 0;
	}
}

static int s7_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t s7_ports[] = {102, 0};

static const char *const s7_events[] = {
	EV_BAD_FRAME, EV_MIDSTREAM, EV_MALFORMED_S7, EV_OTHER_COTP, EV_S7PLUS,
	EV_TRUNCATED, EV_MISMATCH, EV_NO_DATA, EV_INDICATION, NULL,
};

static const struct x1367_dissector s7_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "s7comm",
	.protocol = "S7comm",
	.transports = X1367_TCP,
	.ports = s7_ports,
	.ndpi_name = "S7Comm",
	.request_timeout_ms = 5000,
	.state_size = sizeof(struct s7_state),
	.init = s7_init,
	.parse = {
		[X1367_TO_SERVER] = s7_parse,
		[X1367_TO_CLIENT] = s7_parse,
	},
	.gap = s7_gap,
	.event_names = s7_events,
	.describe_request = s7_describe,
};

/* The header does not declare the entry point: say it here. */
__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &s7_dissector;
}
