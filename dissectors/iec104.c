/*
 * IEC 60870-5-104 over TCP port 2404 (a plugin, built only through the
 * public ABI).
 *
 * Framing (IEC 60870-5-104, 5.1): every APDU is an APCI
 *   0x68 · length (4-253) · 4 control octets
 * followed, for an I-frame, by an ASDU of length - 4 octets.  The control
 * field says which frame it is:
 *   I  bit 0 of octet 1 clear: numbered information transfer (ASDU follows)
 *   S  octets 1-2 = 01 00: numbered supervisory (acknowledges I-frames)
 *   U  octet 1 = 07/0B/13/23/43/83, octets 2-4 zero: STARTDT, STOPDT,
 *      TESTFR, each "act" or "con"
 * S and U frames are exactly 4 control octets long; an I-frame carries at
 * least the 6-octet ASDU header.  Anything else is not an APDU boundary:
 * the parser skips to the next 0x68 whose header is a valid APCI (counted
 * once per run of garbage as malformed).  Before the first valid APDU of
 * a direction (a capture that starts mid-stream) such bytes are skipped
 * quietly: nothing says where the stream started.
 *
 * ASDU (the 104 profile: 2-octet cause with originator address, 2-octet
 * common address, 3-octet information object address, all little endian):
 *   type id · VSQ (SQ bit, number of objects) · cause (T bit 0x80, P/N bit
 *   0x40, cause 0-63) · originator · common address (2) · objects
 *
 * Errors reported (vendor code = P/N bit (00/01) then the cause, two hex
 * octets; rules/iec104.map lists every cause the standard defines):
 *   an ASDU with the P/N bit set (negative confirmation)       "01cc"
 *   an ASDU with cause 44-47 (unknown type identification,
 *   cause, common address, information object address)        "002C".."002F"
 * One record per ASDU; when it carries several objects, Description lists
 * their addresses.
 *
 * Requests, and what must answer them within t1 (15 s, the standard's
 * default; --request-timeout iec104=MS) or be reported "10 No Response":
 *   an ASDU with cause 6 activation   -> 7 activation confirmation
 *   an ASDU with cause 8 deactivation -> 9 deactivation confirmation
 *     (or, for either, the mirrored ASDU with cause 44-47)
 *   STARTDT act / STOPDT act / TESTFR act -> the same function's con
 * Any other ASDU of the control direction (a read, cause 5; a command
 * with a cause it may not carry) owes nothing, but is kept until t1
 * passes so that a refusal with cause 44-47 (unknown cause, unknown
 * object...) is paired with it; it is never "No Response".
 * Pairing: within the connection, by the requester's direction, the
 * confirmation expected, type id, common address and the first object's
 * address.  An activation with the P/N bit set asks for nothing the
 * standard defines (the bit is the confirming station's): it is reported
 * as the negative message it is and opens no request.
 *
 * A STARTDT/STOPDT/TESTFR act left without con tests the link: it opens
 * with X1367_TXN_LINK_TEST, and the engine writes "11 Communication
 * Failed" (DEFAULT-MAPPINGS) where an activation gets "10".  Periodic data
 * (cause 1) does not feed the silence detector: a controlling station's
 * STOPDT stops it on purpose, and nothing in the ABI can say so.
 *
 * Unique IDs: a station's ASDUs name it by common address: the controlled
 * station is "address#CA" ("192.0.2.20#37133"); a controlling station
 * (whose ASDUs carry the controlled station's common address) and the
 * link layer (U-frames: no ASDU) are the address alone.
 */
#include <stdio.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define IEC104_PORT 2404
#define APCI_START 0x68
#define APCI_HDR 6                  /* start, length, 4 control octets */
#define APDU_LEN_MIN 4
#define APDU_LEN_MAX 253
#define ASDU_HDR 6                  /* type, VSQ, cause, originator, CA (2) */
#define IOA_LEN 3
#define IOA_LIST_MAX 8              /* addresses named in one Description */

#define COT_ACT 6
#define COT_ACTCON 7
#define COT_DEACT 8
#define COT_DEACTCON 9
#define COT_ACTTERM 10
#define COT_UNKNOWN_FIRST 44        /* unknown type identification */
#define COT_UNKNOWN_LAST 47         /* unknown information object address */
#define COT_PN 0x40
#define COT_TEST 0x80
#define COT_CAUSE 0x3F

#define EV_BAD_APCI "bad_apci"
#define EV_SHORT_ASDU "short_asdu"
#define EV_UNSYNCED_SKIP "unsynced_bytes_skipped"
#define EV_U_WITHOUT_ACT "u_con_without_act"

static const struct x1367_engine_api *api;

/* Per flow and direction: whether a valid APDU was seen (so garbage is a
 * fault of the sender, not where the capture began), and whether the
 * parser is looking for the next boundary. */
struct iec104_state {
	uint8_t synced[2];
	uint8_t resyncing[2];
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables ------------------------------------------------------------ */

/* Type identifications (IEC 60870-5-101 7.2.1 and -104 8.2), with the
 * size of one information element after its address (0: not fixed). */
struct type_info {
	uint8_t id;
	uint8_t size;
	const char *abbr;
	const char *name;
};

static const struct type_info types[] = {
	{1, 1, "M_SP_NA_1", "single-point information"},
	{2, 4, "M_SP_TA_1", "single-point information with time tag"},
	{3, 1, "M_DP_NA_1", "double-point information"},
	{4, 4, "M_DP_TA_1", "double-point information with time tag"},
	{5, 2, "M_ST_NA_1", "step position information"},
	{6, 5, "M_ST_TA_1", "step position information with time tag"},
	{7, 5, "M_BO_NA_1", "bitstring of 32 bit"},
	{8, 8, "M_BO_TA_1", "bitstring of 32 bit with time tag"},
	{9, 3, "M_ME_NA_1", "measured value, normalized value"},
	{10, 6, "M_ME_TA_1", "measured value, normalized value with time tag"},
	{11, 3, "M_ME_NB_1", "measured value, scaled value"},
	{12, 6, "M_ME_TB_1", "measured value, scaled value with time tag"},
	{13, 5, "M_ME_NC_1", "measured value, short floating point number"},
	{14, 8, "M_ME_TC_1", "measured value, short floating point number with time tag"},
	{15, 5, "M_IT_NA_1", "integrated totals"},
	{16, 8, "M_IT_TA_1", "integrated totals with time tag"},
	{17, 6, "M_EP_TA_1", "event of protection equipment with time tag"},
	{18, 7, "M_EP_TB_1", "packed start events of protection equipment with time tag"},
	{19, 7, "M_EP_TC_1", "packed output circuit information of protection equipment with time tag"},
	{20, 5, "M_PS_NA_1", "packed single-point information with status change detection"},
	{21, 2, "M_ME_ND_1", "measured value, normalized value without quality descriptor"},
	{30, 8, "M_SP_TB_1", "single-point information with time tag CP56Time2a"},
	{31, 8, "M_DP_TB_1", "double-point information with time tag CP56Time2a"},
	{32, 9, "M_ST_TB_1", "step position information with time tag CP56Time2a"},
	{33, 12, "M_BO_TB_1", "bitstring of 32 bit with time tag CP56Time2a"},
	{34, 10, "M_ME_TD_1", "measured value, normalized value with time tag CP56Time2a"},
	{35, 10, "M_ME_TE_1", "measured value, scaled value with time tag CP56Time2a"},
	{36, 12, "M_ME_TF_1", "measured value, short floating point number with time tag CP56Time2a"},
	{37, 12, "M_IT_TB_1", "integrated totals with time tag CP56Time2a"},
	{38, 10, "M_EP_TD_1", "event of protection equipment with time tag CP56Time2a"},
	{39, 11, "M_EP_TE_1", "packed start events of protection equipment with time tag CP56Time2a"},
	{40, 11, "M_EP_TF_1", "packed output circuit information of protection equipment with time tag CP56Time2a"},
	{45, 1, "C_SC_NA_1", "single command"},
	{46, 1, "C_DC_NA_1", "double command"},
	{47, 1, "C_RC_NA_1", "regulating step command"},
	{48, 3, "C_SE_NA_1", "set point command, normalized value"},
	{49, 3, "C_SE_NB_1", "set point command, scaled value"},
	{50, 5, "C_SE_NC_1", "set point command, short floating point number"},
	{51, 4, "C_BO_NA_1", "bitstring of 32 bit"},
	{58, 8, "C_SC_TA_1", "single command with time tag CP56Time2a"},
	{59, 8, "C_DC_TA_1", "double command with time tag CP56Time2a"},
	{60, 8, "C_RC_TA_1", "regulating step command with time tag CP56Time2a"},
	{61, 10, "C_SE_TA_1", "set point command, normalized value with time tag CP56Time2a"},
	{62, 10, "C_SE_TB_1", "set point command, scaled value with time tag CP56Time2a"},
	{63, 12, "C_SE_TC_1", "set point command, short floating point number with time tag CP56Time2a"},
	{64, 11, "C_BO_TA_1", "bitstring of 32 bit with time tag CP56Time2a"},
	{70, 1, "M_EI_NA_1", "end of initialization"},
	{100, 1, "C_IC_NA_1", "interrogation command"},
	{101, 1, "C_CI_NA_1", "counter interrogation command"},
	{102, 0, "C_RD_NA_1", "read command"},
	{103, 7, "C_CS_NA_1", "clock synchronization command"},
	{104, 2, "C_TS_NA_1", "test command"},
	{105, 1, "C_RP_NA_1", "reset process command"},
	{106, 2, "C_CD_NA_1", "delay acquisition command"},
	{107, 9, "C_TS_TA_1", "test command with time tag CP56Time2a"},
	{110, 3, "P_ME_NA_1", "parameter of measured value, normalized value"},
	{111, 3, "P_ME_NB_1", "parameter of measured value, scaled value"},
	{112, 5, "P_ME_NC_1", "parameter of measured value, short floating point number"},
	{113, 1, "P_AC_NA_1", "parameter activation"},
	{120, 6, "F_FR_NA_1", "file ready"},
	{121, 7, "F_SR_NA_1", "section ready"},
	{122, 4, "F_SC_NA_1", "call directory, select file, call file, call section"},
	{123, 5, "F_LS_NA_1", "last section, last segment"},
	{124, 4, "F_AF_NA_1", "ack file, ack section"},
	{125, 0, "F_SG_NA_1", "segment"},
	{126, 13, "F_DR_TA_1", "directory"},
	{127, 0, "F_SC_NB_1", "query log, request archive file"},
};

/* C_RD_NA_1 has an address and no element: size 0 is "fixed, empty"
 * for it alone. */
#define TYPE_READ 102

/* Causes of transmission (IEC 60870-5-101 7.2.3); the numbered groups
 * (21-36, 38-41) are named by desc_cause. */
static const char *cause_name(uint8_t cause)
{
	static const char *const names[] = {
		[0] = "not used",
		[1] = "periodic, cyclic",
		[2] = "background scan",
		[3] = "spontaneous",
		[4] = "initialized",
		[5] = "request or requested",
		[6] = "activation",
		[7] = "activation confirmation",
		[8] = "deactivation",
		[9] = "deactivation confirmation",
		[10] = "activation termination",
		[11] = "return information caused by a remote command",
		[12] = "return information caused by a local command",
		[13] = "file transfer",
		[20] = "interrogated by station interrogation",
		[37] = "requested by general counter request",
		[44] = "unknown type identification",
		[45] = "unknown cause of transmission",
		[46] = "unknown common address of ASDU",
		[47] = "unknown information object address",
	};
	if (cause >= 48)
		return "special use (private range)";
	if (cause < N_ELEMS(names) && names[cause])
		return names[cause];
	return "reserved";
}

static const struct type_info *type_find(uint8_t id)
{
	for (size_t i = 0; i < N_ELEMS(types); i++)
		if (types[i].id == id)
			return &types[i];
	return NULL;
}

/* U-frame functions: the control octet of "act" and of its "con". */
struct u_func {
	uint8_t act, con;
	const char *name;
};

static const struct u_func u_funcs[] = {
	{0x07, 0x0B, "STARTDT"},
	{0x13, 0x23, "STOPDT"},
	{0x43, 0x83, "TESTFR"},
};

/* ---- APCI ---------------------------------------------------------------- */

enum frame_kind { FR_I, FR_S, FR_U };

struct apci {
	uint8_t len;                /* octets after the length octet */
	enum frame_kind kind;
	uint8_t ctl[4];
};

enum apci_verdict { APCI_OK, APCI_SHORT, APCI_BAD };

static int u_valid(uint8_t c0)
{
	for (size_t i = 0; i < N_ELEMS(u_funcs); i++)
		if (c0 == u_funcs[i].act || c0 == u_funcs[i].con)
			return 1;
	return 0;
}

/* Is data[0..] the header of a valid APDU?  Also the test for a
 * boundary when resynchronising, so stricter than "starts with 0x68". */
static enum apci_verdict apci_read(const uint8_t *data, size_t len, struct apci *a)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	uint8_t start = x1367_rd_u8(&rd);
	if (x1367_rd_ok(&rd) && start != APCI_START)
		return APCI_BAD;
	a->len = x1367_rd_u8(&rd);
	if (x1367_rd_ok(&rd) && (a->len < APDU_LEN_MIN || a->len > APDU_LEN_MAX))
		return APCI_BAD;
	const uint8_t *c = x1367_rd_bytes(&rd, 4);
	if (!c)
		return APCI_SHORT;
	memcpy(a->ctl, c, 4);
	if (!(c[0] & 1)) {
		a->kind = FR_I;
		/* The receive sequence number's low bit is always 0. */
		return (c[2] & 1) || a->len < APDU_LEN_MIN + ASDU_HDR ? APCI_BAD : APCI_OK;
	}
	if (a->len != APDU_LEN_MIN)
		return APCI_BAD;
	if (c[0] == 0x01) {
		a->kind = FR_S;
		return c[1] == 0 && !(c[2] & 1) ? APCI_OK : APCI_BAD;
	}
	a->kind = FR_U;
	return u_valid(c[0]) && !c[1] && !c[2] && !c[3] ? APCI_OK : APCI_BAD;
}

/* ---- ASDU ---------------------------------------------------------------- */

struct asdu {
	uint8_t type, vsq, cot, oa;
	uint16_t ca;
	uint32_t ioa;                /* first object's address */
	int has_ioa;
	const uint8_t *objects;      /* after the header */
	size_t objects_len;
};

static int asdu_read(const uint8_t *p, size_t n, struct asdu *a)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, p, n);
	a->type = x1367_rd_u8(&rd);
	a->vsq = x1367_rd_u8(&rd);
	a->cot = x1367_rd_u8(&rd);
	a->oa = x1367_rd_u8(&rd);
	a->ca = x1367_rd_le16(&rd);
	if (!x1367_rd_ok(&rd))
		return 0;
	a->objects = p + rd.pos;
	a->objects_len = x1367_rd_left(&rd);
	const uint8_t *ioa = x1367_rd_bytes(&rd, IOA_LEN);
	a->has_ioa = ioa != NULL;
	a->ioa = ioa ? (uint32_t)ioa[0] | (uint32_t)ioa[1] << 8 | (uint32_t)ioa[2] << 16 : 0;
	return 1;
}

static uint8_t cause_of(const struct asdu *a)
{
	return a->cot & COT_CAUSE;
}

static int is_unknown_cause(uint8_t cause)
{
	return cause >= COT_UNKNOWN_FIRST && cause <= COT_UNKNOWN_LAST;
}

/* Causes that answer (confirm, terminate or refuse) rather than ask. */
static int is_answer_cause(uint8_t cause)
{
	return cause == COT_ACTCON || cause == COT_DEACTCON || cause == COT_ACTTERM ||
	       is_unknown_cause(cause);
}

/* Types of the control direction: process commands (45-69), system
 * commands (100-109), parameters (110-119). */
static int is_control_type(uint8_t type)
{
	return (type >= 45 && type <= 69) || (type >= 100 && type <= 119);
}

/* The addresses of an ASDU's objects, up to `max`: with SQ=1 one address
 * and consecutive elements; with SQ=0 an address before each element,
 * walked with the type's element size (unknown size: the first only).
 * Returns how many objects the VSQ says there are. */
static unsigned asdu_ioas(const struct asdu *a, uint32_t *out, unsigned max, unsigned *got)
{
	unsigned n = a->vsq & 0x7F, k = 0;
	const struct type_info *t = type_find(a->type);
	*got = 0;
	if (!a->has_ioa)
		return n;
	if (a->vsq & 0x80) {
		for (k = 0; k < n && k < max; k++)
			out[k] = (a->ioa + k) & 0xFFFFFF;
		*got = k;
		return n;
	}
	struct x1367_reader rd;
	x1367_rd_init(&rd, a->objects, a->objects_len);
	int sized = t && (t->size || t->id == TYPE_READ);
	for (k = 0; k < n && k < max; k++) {
		const uint8_t *p = x1367_rd_bytes(&rd, IOA_LEN);
		if (!p)
			break;
		out[k] = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
		if (!sized) {
			k++;                 /* elements of unknown size: stop here */
			break;
		}
		x1367_rd_skip(&rd, t->size);
	}
	*got = k;
	return n;
}

/* ---- Description ----------------------------------------------------------- */

static void desc_type(struct x1367_desc *d, uint8_t type)
{
	const struct type_info *t = type_find(type);
	if (t)
		x1367_desc_add(d, "Type ID", "%s (%u) %s", t->abbr, type, t->name);
	else
		x1367_desc_add(d, "Type ID", "%u (not defined by IEC 60870-5-101/104)", type);
}

static void desc_ioas(struct x1367_desc *d, const struct asdu *a)
{
	uint32_t ioas[IOA_LIST_MAX];
	unsigned got, n = asdu_ioas(a, ioas, IOA_LIST_MAX, &got);
	if (!got)
		return;
	if (n <= 1 || got == 1) {
		x1367_desc_add(d, "IOA", "%u", ioas[0]);
		if (n > 1)
			x1367_desc_add(d, "Objects", "%u", n);
		return;
	}
	char list[IOA_LIST_MAX * 10 + 8];
	size_t o = 0;
	for (unsigned i = 0; i < got && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%u", i ? ", " : "", ioas[i]);
	if (got < n && o < sizeof(list))
		snprintf(list + o, sizeof(list) - o, ", ...");
	x1367_desc_add(d, "IOAs", "%s", list);
	x1367_desc_add(d, "Objects", "%u", n);
}

/* What the ASDU is about: the same in a command and in its mirror (a
 * record with both keeps the request's, the engine's first). */
static void desc_object(struct x1367_desc *d, const struct asdu *a)
{
	desc_type(d, a->type);
	x1367_desc_add(d, "Common Address", "%u", a->ca);
	desc_ioas(d, a);
}

/* "activation (6)", "interrogated by group 3 interrogation (23)". */
static void desc_cause(struct x1367_desc *d, const char *key, const struct asdu *a)
{
	uint8_t c = cause_of(a);
	if (c >= 21 && c <= 36)
		x1367_desc_add(d, key, "interrogated by group %u interrogation (%u)", c - 20u, c);
	else if (c >= 38 && c <= 41)
		x1367_desc_add(d, key, "requested by group %u counter request (%u)", c - 37u, c);
	else
		x1367_desc_add(d, key, "%s (%u)", cause_name(c), c);
}

/* What the answering ASDU says of itself. */
static void desc_answer(struct x1367_desc *d, const struct asdu *a)
{
	desc_cause(d, "Cause of Transmission", a);
	x1367_desc_add(d, "P/N", "%s", a->cot & COT_PN ? "negative" : "positive");
	if (a->cot & COT_TEST)
		x1367_desc_add(d, "Test", "yes");
	x1367_desc_add(d, "Originator Address", "%u", a->oa);
	desc_object(d, a);
}

/* "192.0.2.20#37133", or the address alone (ca < 0). */
static void station_uid(const struct x1367_addr *addr, long ca, char *buf, size_t len)
{
	char ip[48];
	api->format_addr(addr, ip, sizeof(ip));
	if (ca >= 0)
		snprintf(buf, len, "%s#%ld", ip, ca);
	else
		snprintf(buf, len, "%s", ip);
}

/* ---- Requests ---------------------------------------------------------------- */

/* Key: who asked, what answer it waits for, then the ASDU's type, common
 * address and first object address (U-frames: the function's act octet). */
#define KEY_U 0xFF
/* The answer byte of a control-direction ASDU that owes no confirmation
 * (a read, a command with another cause): only a refusal answers it. */
#define KEY_REFUSAL_ONLY 0

static struct x1367_txn_key asdu_key(enum x1367_dir req_dir, uint8_t answer, const struct asdu *a)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 8};
	k.id[0] = (uint8_t)req_dir;
	k.id[1] = answer;
	k.id[2] = a->type;
	k.id[3] = (uint8_t)a->ca;
	k.id[4] = (uint8_t)(a->ca >> 8);
	k.id[5] = (uint8_t)a->ioa;
	k.id[6] = (uint8_t)(a->ioa >> 8);
	k.id[7] = (uint8_t)(a->ioa >> 16);
	return k;
}

static struct x1367_txn_key u_key(enum x1367_dir req_dir, uint8_t act)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 3};
	k.id[0] = (uint8_t)req_dir;
	k.id[1] = KEY_U;
	k.id[2] = act;
	return k;
}

static enum x1367_dir other(enum x1367_dir dir)
{
	return dir == X1367_TO_SERVER ? X1367_TO_CLIENT : X1367_TO_SERVER;
}

/* A stored request (an APDU), described when a record needs it. */
static size_t iec104_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			      struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct apci h;
	struct asdu a;

	station_uid(req->responder, -1, uid, uid_len);
	if (apci_read(req->bytes, req->len, &h) != APCI_OK)
		return 0;
	if (h.kind == FR_U) {
		for (size_t i = 0; i < N_ELEMS(u_funcs); i++)
			if (u_funcs[i].act == h.ctl[0])
				x1367_desc_add(&d, "Function", "%s act", u_funcs[i].name);
		return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
	}
	if (h.kind != FR_I || !asdu_read(req->bytes + APCI_HDR, req->len - APCI_HDR, &a))
		return 0;
	/* The station that should confirm is the one the command addressed. */
	station_uid(req->responder, a.ca, uid, uid_len);
	desc_cause(&d, "Request", &a);
	if (a.cot & COT_TEST)
		x1367_desc_add(&d, "Request Test", "yes");
	desc_object(&d, &a);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

static void open_request(x1367_ctx *ctx, const uint8_t *bytes, size_t len,
			 struct x1367_txn_key key, uint32_t flags)
{
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = key,
		.bytes = bytes,
		.len = len,
		.flags = flags,
	};
	api->txn_open(ctx, &req);          /* -1: table full, counted by the engine */
}

/* ---- Answers ------------------------------------------------------------------ */

/* The request this ASDU answers, if it is an answer.  Causes 44-47
 * mirror the request with its cause replaced: an activation is tried
 * first, then a deactivation, then a request that owed no confirmation. */
static x1367_txn *find_request(x1367_ctx *ctx, enum x1367_dir dir, const struct asdu *a,
			       int *is_answer)
{
	uint8_t cause = cause_of(a);
	static const uint8_t answers[] = {COT_ACTCON, COT_DEACTCON, KEY_REFUSAL_ONLY};
	x1367_txn *txn = NULL;

	*is_answer = cause == COT_ACTCON || cause == COT_DEACTCON || is_unknown_cause(cause);
	if (!*is_answer)
		return NULL;
	for (size_t i = 0; i < N_ELEMS(answers) && !txn; i++) {
		if (!is_unknown_cause(cause) && answers[i] != cause)
			continue;
		struct x1367_txn_key key = asdu_key(other(dir), answers[i], a);
		txn = api->txn_find(ctx, &key);
	}
	if (!txn)
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	return txn;
}

static void report_negative(x1367_ctx *ctx, const struct x1367_packet *pkt, enum x1367_dir dir,
			    const uint8_t *bytes, size_t len, const struct asdu *a, x1367_txn *txn)
{
	struct x1367_desc d = {.n = 0};
	char vendor[8], uid[72];

	desc_answer(&d, a);
	if ((a->cot & COT_PN) && cause_of(a) == COT_ACT)
		x1367_desc_add(&d, "Note", "P/N bit set on an activation: the bit belongs to confirmations");
	snprintf(vendor, sizeof(vendor), "%02X%02X", a->cot & COT_PN ? 1 : 0, cause_of(a));
	/* The controlled station (server side) is named by its common address. */
	station_uid(pkt->src, dir == X1367_TO_CLIENT ? (long)a->ca : -1, uid, sizeof(uid));
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

static void on_i_frame(x1367_ctx *ctx, const struct x1367_packet *pkt, enum x1367_dir dir,
		       const uint8_t *bytes, size_t len)
{
	struct asdu a;
	int is_answer;

	/* The APCI check guarantees the ASDU header; an object may be missing. */
	if (!asdu_read(bytes + APCI_HDR, len - APCI_HDR, &a))
		return;
	uint8_t cause = cause_of(&a);
	int negative = (a.cot & COT_PN) != 0;
	if (!a.has_ioa) {
		/* Nothing to pair by; a refusal it states is still reported. */
		api->event(ctx, EV_SHORT_ASDU);
		api->event(ctx, X1367_EV_MALFORMED);
		if (negative || is_unknown_cause(cause))
			report_negative(ctx, pkt, dir, bytes, len, &a, NULL);
		return;
	}
	if (!negative && (cause == COT_ACT || cause == COT_DEACT)) {
		struct x1367_txn_key key = asdu_key(dir, cause == COT_ACT ? COT_ACTCON : COT_DEACTCON, &a);
		open_request(ctx, bytes, len, key, 0);
		return;
	}
	if (!negative && is_control_type(a.type) && !is_answer_cause(cause)) {
		/* A read (cause 5) or a command with a cause it may not have: no
		 * confirmation is owed, but a refusal (44-47) may come back. */
		open_request(ctx, bytes, len, asdu_key(dir, KEY_REFUSAL_ONLY, &a), X1367_TXN_NO_TIMEOUT);
		return;
	}
	x1367_txn *txn = find_request(ctx, dir, &a, &is_answer);
	if (negative || is_unknown_cause(cause))
		report_negative(ctx, pkt, dir, bytes, len, &a, txn);
	if (txn)
		api->txn_answered(ctx, txn);
}

static void on_u_frame(x1367_ctx *ctx, enum x1367_dir dir, const uint8_t *bytes, size_t len,
		       uint8_t c0)
{
	for (size_t i = 0; i < N_ELEMS(u_funcs); i++) {
		if (c0 == u_funcs[i].act) {
			open_request(ctx, bytes, len, u_key(dir, c0), X1367_TXN_LINK_TEST);
			return;
		}
		if (c0 == u_funcs[i].con) {
			struct x1367_txn_key key = u_key(other(dir), u_funcs[i].act);
			x1367_txn *txn = api->txn_find(ctx, &key);
			if (txn)
				api->txn_answered(ctx, txn);
			else
				api->event(ctx, EV_U_WITHOUT_ACT);
			return;
		}
	}
}

static void on_apdu(x1367_ctx *ctx, const struct x1367_packet *pkt, enum x1367_dir dir,
		    const uint8_t *bytes, size_t len, const struct apci *h)
{
	switch (h->kind) {
	case FR_I: on_i_frame(ctx, pkt, dir, bytes, len); break;
	case FR_U: on_u_frame(ctx, dir, bytes, len, h->ctl[0]); break;
	case FR_S: break;                  /* acknowledges I-frames: nothing to pair */
	}
}

/* ---- Framing and resynchronisation -------------------------------------------- */

/* APDUs a resynchronisation walks to trust a boundary: enough that
 * garbage rarely passes, few enough that a run of 0x68 octets stays cheap. */
#define RESYNC_CHAIN_MAX 8

enum chain_verdict { CHAIN_BROKEN, CHAIN_WAIT, CHAIN_OK };

/* From a 0x68 at data[0]: valid APDUs back to back up to exactly the end
 * (or RESYNC_CHAIN_MAX of them, or complete ones then one cut by the end)
 * say a boundary is here; a first APDU cut by the end cannot say yet. */
static enum chain_verdict chain_from(const uint8_t *data, size_t len)
{
	size_t off = 0;
	for (unsigned n = 0; n < RESYNC_CHAIN_MAX; n++) {
		struct apci h;
		if (off == len)
			return CHAIN_OK;
		enum apci_verdict v = apci_read(data + off, len - off, &h);
		if (v == APCI_BAD)
			return CHAIN_BROKEN;
		if (v == APCI_SHORT || (size_t)h.len + 2 > len - off)
			return n ? CHAIN_OK : CHAIN_WAIT;
		off += (size_t)h.len + 2;
	}
	return CHAIN_OK;
}

/* Where the stream's next APDU starts after bytes that are no APDU: the
 * first 0x68 whose chain holds.  When none holds yet but one could (its
 * first APDU is cut by the end), *wait is set and its offset returned:
 * more bytes will tell.  A 0x68 octet inside garbage that announces a
 * long APDU thus does not swallow the real APDU right after it.
 * Everything when there is no candidate. */
static size_t resync_skip(const uint8_t *data, size_t len, int *wait)
{
	size_t first_wait = len;
	*wait = 0;
	for (size_t p = 0; p < len; p++) {
		if (data[p] != APCI_START)
			continue;
		enum chain_verdict v = chain_from(data + p, len - p);
		if (v == CHAIN_OK)
			return p;
		if (v == CHAIN_WAIT && first_wait == len)
			first_wait = p;
	}
	*wait = first_wait < len;
	return first_wait;
}

static enum x1367_parse_result parse_stream(x1367_ctx *ctx, struct iec104_state *st,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed, enum x1367_dir dir)
{
	size_t off = 0;
	int wait;

	if (st->resyncing[dir] || !st->synced[dir]) {
		/* After a gap, or before the first APDU: find a boundary quietly. */
		size_t s = resync_skip(data, len, &wait);
		if (s && !st->synced[dir])
			api->event(ctx, EV_UNSYNCED_SKIP);
		off = s;
		if (wait) {
			*consumed = off;
			return X1367_PARSE_NEED_MORE;
		}
		if (off < len)
			st->resyncing[dir] = 0;
	}
	while (off < len) {
		struct apci h;
		enum apci_verdict v = apci_read(data + off, len - off, &h);
		if (v == APCI_SHORT)
			break;
		if (v == APCI_BAD) {
			/* Not a boundary: skip to the next one, one error per run. */
			api->event(ctx, EV_BAD_APCI);
			api->event(ctx, X1367_EV_MALFORMED);
			size_t s = 1 + resync_skip(data + off + 1, len - off - 1, &wait);
			st->resyncing[dir] = off + s >= len || wait;
			*consumed = off + s;
			return X1367_PARSE_ERROR;
		}
		size_t total = (size_t)h.len + 2;
		if (len - off < total)
			break;
		st->synced[dir] = 1;
		on_apdu(ctx, pkt, dir, data + off, total, &h);
		off += total;
	}
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

static enum x1367_parse_result iec104_parse(x1367_ctx *ctx, void *state,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed)
{
	struct iec104_state none;
	struct iec104_state *st = state;
	enum x1367_dir dir = pkt->dir == X1367_TO_CLIENT ? X1367_TO_CLIENT : X1367_TO_SERVER;

	if (!st) {
		memset(&none, 0, sizeof(none));
		st = &none;
	}
	return parse_stream(ctx, st, pkt, data, len, consumed, dir);
}

/* Lost bytes: the stream resumes anywhere inside an APDU. */
static void iec104_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct iec104_state *st = state;
	(void)ctx;
	if (st && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT))
		st->resyncing[dir] = 1;
}

/* IEC 104 on another port: a controlling station opens with STARTDT act
 * (or TESTFR act), six fixed octets. */
static enum x1367_probe_result iec104_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	static const uint8_t startdt[] = {APCI_START, 4, 0x07, 0, 0, 0};
	static const uint8_t testfr[] = {APCI_START, 4, 0x43, 0, 0, 0};
	size_t n = len < sizeof(startdt) ? len : sizeof(startdt);

	if (dir != X1367_TO_SERVER || !len)
		return len ? X1367_PROBE_NO : X1367_PROBE_MAYBE;
	if (memcmp(data, startdt, n) && memcmp(data, testfr, n))
		return X1367_PROBE_NO;
	return n < sizeof(startdt) ? X1367_PROBE_MAYBE : X1367_PROBE_YES;
}

static int iec104_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t iec104_ports[] = {IEC104_PORT, 0};

static const char *const iec104_events[] = {
	EV_BAD_APCI,
	EV_SHORT_ASDU,
	EV_UNSYNCED_SKIP,
	EV_U_WITHOUT_ACT,
	NULL,
};

static const struct x1367_dissector iec104_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "iec104",
	.protocol = "IEC 60870-5-104",
	.transports = X1367_TCP,
	.ports = iec104_ports,
	.ndpi_name = "IEC60870",
	.request_timeout_ms = 15000,       /* t1, the standard's default */
	.state_size = sizeof(struct iec104_state),
	.init = iec104_init,
	.probe = iec104_probe,
	.parse = {
		[X1367_TO_SERVER] = iec104_parse,
		[X1367_TO_CLIENT] = iec104_parse,
	},
	.gap = iec104_gap,
	.event_names = iec104_events,
	.describe_request = iec104_describe,
};

/* The header does not declare the entry point: say it here. */
__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &iec104_dissector;
}
