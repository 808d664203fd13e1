/*
 * DNP3 (IEEE 1815) over TCP and UDP port 20000.
 *
 * Three layers, undone in order:
 *   link       05 64 · LEN · CTRL · DST (2, LE) · SRC (2, LE) · CRC (2),
 *              then the user data in blocks of 16 bytes, each followed by
 *              its CRC.  Every CRC is checked: a frame with a bad one is
 *              counted (bad_header_crc / bad_crc) and not decoded.  Bytes
 *              that are no frame are skipped to the next "05 64" whose
 *              header CRC checks (resynchronisation, mid-stream pick-up).
 *   transport  one byte per link frame (FIN 0x80, FIR 0x40, SEQ 6 bits):
 *              segments of one source -> destination are joined into one
 *              application fragment, bounded (FRAG_MAX bytes, SLOTS_DIR
 *              fragments in progress per direction and flow); anything
 *              past a bound is dropped and counted.
 *   application  AC (FIR FIN CON UNS SEQ) · FC · [IIN (2) in responses] ·
 *              object headers and objects.
 *
 * Requests (FC < 0x80, from the master) open a transaction keyed by the
 * master's and the outstation's link addresses and the application SEQ;
 * a Response (0x81) answers it.  CONFIRM, the "no ack" functions and
 * requests to a broadcast address need no answer.  An outstation that
 * answers the only open request of that master with another SEQ (a real
 * device in dnp3_test_data_part1.pcap does) has answered it: the record
 * pairs them and says "Sequence Mismatch" rather than inventing a
 * "No Response" for a request that was answered.
 *
 * Errors reported, one record per response (vendor codes, rules/dnp3.map):
 *   IIN2 bits in a Response      "00xx": 0001 function code not supported,
 *                                0002 object unknown, 0004 parameter error,
 *                                0010 already executing, 0020 config corrupt
 *   states, once per device, episode and connection (any response,
 *   solicited or not):
 *                                4000 IIN1.6 device trouble,
 *                                0008 IIN2.3 event buffer overflow
 *   control status != 0 in the echo of a CROB / pattern control block
 *   (g12v1, g12v2)               "0Cxx";  analog output block (g41) "29xx"
 *   Secure Authentication error object g120v7 in a response   "78xx"
 *   file command / transport status != 0 (g70v4, g70v6)         "46xx"
 * The first failing code on the wire names the record; Description lists
 * all of them.  IIN2 bits are read on the first fragment of a response
 * only (later fragments repeat the same request's outcome).
 *
 * Unsolicited responses (0x82) answer nothing and are never counted as
 * responses without request; each one is a heartbeat of the outstation
 * for the silence detector (a device that reports by exception on a
 * period).  IIN2 bits in them are not errors of any request.  A state
 * (device trouble, event overflow) first seen in an unsolicited response
 * is still reported, marked X1367_REPORT_UNSOLICITED (ABI 1.4): the
 * engine counts it in unsolicited_reports, not in
 * responses_without_request, and the record says no request was expected.
 *
 * State, all of it per flow but one budget (no other mutable global: flows
 * are interleaved in any order, and may be dissected by several threads):
 *   - transport fragments in progress: at most SLOTS_DIR per direction,
 *     each a malloc'd struct tp_slot (5,144 bytes on LP64: FRAG_WIRE_MAX bytes
 *     of link frames; the application bytes are rebuilt from them on the
 *     last segment), freed on the last segment, a gap or flow_end;
 *   - device states: DEV_FLOW outstations of the connection in an episode
 *     (device trouble or event overflow on); an outstation with no state
 *     on needs no entry, so the table fills only with DEV_FLOW devices in
 *     trouble at once on one connection (a gateway): the next one's state
 *     is counted (device_table_full) and not reported.
 * Worst case per flow: sizeof(struct dnp3_state) (120 bytes on LP64, in
 * the engine's allocation) + 2 * SLOTS_DIR * sizeof(struct tp_slot)
 * = 8 * 5,144 bytes ~ 40 KiB; and all flows together hold at most
 * SLOTS_ALL fragments in progress (~5 MiB): past it a new fragment is
 * counted (transport_slots_full) and not reassembled.  A device state lives as
 * long as its connection: one still on when a new connection starts is
 * reported again, once, on the new one.
 *
 * Unique IDs: the outstation is "IP#link-address" ("10.0.0.3#4"); the
 * master is its IP address (the engine's default).
 *
 * Transmitted Code: the link frames that carried the application
 * fragment, exactly as on the wire (headers and CRCs included).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define LINK_HDR 10
#define LINK_USER_MAX 250            /* LEN 255 - 5 */
#define FRAG_MAX 4096                /* application bytes of one fragment */
#define FRAG_WIRE_MAX 5120           /* its link frames: 17 full frames */
#define SLOTS_DIR 4                  /* fragments in progress, per direction */
#define SLOTS_ALL 1024               /* ... in the whole sensor (~5 MiB) */
#define DEV_FLOW 8                   /* outstations in an episode, per flow */
#define LIST_MAX 8                   /* items named in one Description field */
#define UID_MAX 64
#define ADDR_BROADCAST_MIN 0xFFFD

#define EV_BAD_HEADER_CRC "bad_header_crc"
#define EV_BAD_CRC "bad_crc"
#define EV_TRUNCATED "truncated_frame"
#define EV_TP_ORPHAN "transport_segment_without_first"
#define EV_TP_SEQUENCE "transport_sequence_error"
#define EV_TP_TOO_LARGE "fragment_too_large"
#define EV_TP_SLOTS_FULL "transport_slots_full"
#define EV_APP_SHORT "application_header_short"
#define EV_SEQ_MISMATCH "sequence_mismatch"
#define EV_DEV_TABLE_FULL "device_table_full"
#define EV_UNSOLICITED "unsolicited_response"
#define EV_MASTER_AUTH_ERROR "master_auth_error"

#define AC_FIR 0x80
#define AC_FIN 0x40
#define AC_SEQ 0x0F
#define TH_FIN 0x80
#define TH_FIR 0x40
#define TH_SEQ 0x3F

#define FC_CONFIRM 0x00
#define FC_READ 0x01
#define FC_AUTH_REQ 0x20
#define FC_AUTH_REQ_NR 0x21
#define FC_RESPONSE 0x81
#define FC_UNSOLICITED 0x82
#define FC_AUTH_RESP 0x83

#define IIN1_DEVICE_TROUBLE 0x40
#define IIN2_EVENT_OVERFLOW 0x08
/* IIN2 bits that say a request failed (reserved bits 6 and 7 are not). */
#define IIN2_ERRORS 0x37

static const struct x1367_engine_api *api;
/* Written once by init, before any flow; read-only after. */
static uint16_t crc_table[256];

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables ------------------------------------------------------------ */

static const char *const fc_names[0x22] = {
	"CONFIRM", "READ", "WRITE", "SELECT", "OPERATE", "DIRECT_OPERATE", "DIRECT_OPERATE_NR",
	"IMMED_FREEZE", "IMMED_FREEZE_NR", "FREEZE_CLEAR", "FREEZE_CLEAR_NR", "FREEZE_AT_TIME",
	"FREEZE_AT_TIME_NR", "COLD_RESTART", "WARM_RESTART", "INITIALIZE_DATA", "INITIALIZE_APPL",
	"START_APPL", "STOP_APPL", "SAVE_CONFIG", "ENABLE_UNSOLICITED", "DISABLE_UNSOLICITED",
	"ASSIGN_CLASS", "DELAY_MEASURE", "RECORD_CURRENT_TIME", "OPEN_FILE", "CLOSE_FILE",
	"DELETE_FILE", "GET_FILE_INFO", "AUTHENTICATE_FILE", "ABORT_FILE", "ACTIVATE_CONFIG",
	"AUTHENTICATE_REQ", "AUTH_REQ_NO_ACK",
};

static const char *fc_name(uint8_t fc)
{
	if (fc < N_ELEMS(fc_names))
		return fc_names[fc];
	switch (fc) {
	case FC_RESPONSE: return "RESPONSE";
	case FC_UNSOLICITED: return "UNSOLICITED_RESPONSE";
	case FC_AUTH_RESP: return "AUTHENTICATE_RESP";
	default: return "unknown function";
	}
}

/* Requests that are never answered (IEEE 1815 4.4: the "no ack" forms). */
static int fc_needs_answer(uint8_t fc)
{
	switch (fc) {
	case FC_CONFIRM:
	case 0x06:
	case 0x08:
	case 0x0A:
	case 0x0C:
	case FC_AUTH_REQ_NR:
		return 0;
	default:
		return 1;
	}
}

/* Requests whose objects are headers only (what to read, freeze, ...). */
static int fc_headers_only(uint8_t fc)
{
	switch (fc) {
	case 0x01: case 0x07: case 0x08: case 0x09: case 0x0A:
	case 0x14: case 0x15: case 0x16:
		return 1;
	default:
		return 0;
	}
}

struct group_name {
	uint8_t group;
	const char *name;
};

static const struct group_name groups[] = {
	{0, "Device Attributes"}, {1, "Binary Input"}, {2, "Binary Input Event"},
	{3, "Double-bit Binary Input"}, {4, "Double-bit Binary Input Event"},
	{10, "Binary Output"}, {11, "Binary Output Event"}, {12, "Binary Command"},
	{13, "Binary Output Command Event"}, {20, "Counter"}, {21, "Frozen Counter"},
	{22, "Counter Event"}, {23, "Frozen Counter Event"}, {30, "Analog Input"},
	{31, "Frozen Analog Input"}, {32, "Analog Input Event"}, {33, "Frozen Analog Input Event"},
	{34, "Analog Input Deadband"}, {40, "Analog Output Status"}, {41, "Analog Output"},
	{42, "Analog Output Event"}, {43, "Analog Output Command Event"}, {50, "Time and Date"},
	{51, "Time and Date CTO"}, {52, "Time Delay"}, {60, "Class Data"}, {70, "File Control"},
	{80, "Internal Indications"}, {81, "Device Storage"}, {82, "Device Profile"},
	{83, "Data Set Registration"}, {85, "Data Set Prototype"}, {86, "Data Set Descriptor"},
	{87, "Data Set"}, {88, "Data Set Event"}, {90, "Application"},
	{91, "Status of Requested Operation"}, {100, "Floating Point"}, {101, "BCD Integer"},
	{102, "Unsigned Integer"}, {110, "Octet String"}, {111, "Octet String Event"},
	{112, "Virtual Terminal Output Block"}, {113, "Virtual Terminal Event Data"},
	{120, "Authentication"}, {121, "Security Statistic"}, {122, "Security Statistic Event"},
};

static const char *object_name(uint8_t g, uint8_t v)
{
	if (g == 12 && v == 1)
		return "Control Relay Output Block";
	if (g == 12 && v == 2)
		return "Pattern Control Block";
	if (g == 12 && v == 3)
		return "Pattern Mask";
	if (g == 60 && v >= 1 && v <= 4) {
		static const char *const cls[] = {"Class 0 Data", "Class 1 Data", "Class 2 Data",
						  "Class 3 Data"};
		return cls[v - 1];
	}
	if (g == 120 && v == 7)
		return "Authentication Error";
	for (size_t i = 0; i < N_ELEMS(groups); i++)
		if (groups[i].group == g)
			return groups[i].name;
	return "unknown object";
}

/* Bytes of one object (without prefix) where the walker must step over
 * it; bits for the bit-packed ones.  0 = not known: the walk stops. */
struct obj_size {
	uint8_t group, var;
	uint8_t bytes;
	uint8_t bits;
};

static const struct obj_size sizes[] = {
	{1, 1, 0, 1}, {1, 2, 1, 0}, {2, 1, 1, 0}, {2, 2, 7, 0}, {2, 3, 3, 0},
	{3, 1, 0, 2}, {3, 2, 1, 0}, {4, 1, 1, 0}, {4, 2, 7, 0}, {4, 3, 3, 0},
	{10, 1, 0, 1}, {10, 2, 1, 0}, {11, 1, 1, 0}, {11, 2, 7, 0},
	{12, 1, 11, 0}, {12, 2, 11, 0}, {12, 3, 0, 1}, {13, 1, 1, 0}, {13, 2, 7, 0},
	{20, 1, 5, 0}, {20, 2, 3, 0}, {20, 5, 4, 0}, {20, 6, 2, 0},
	{21, 1, 5, 0}, {21, 2, 3, 0}, {21, 5, 11, 0}, {21, 6, 9, 0}, {21, 9, 4, 0}, {21, 10, 2, 0},
	{22, 1, 5, 0}, {22, 2, 3, 0}, {22, 5, 11, 0}, {22, 6, 9, 0},
	{23, 1, 5, 0}, {23, 2, 3, 0}, {23, 5, 11, 0}, {23, 6, 9, 0},
	{30, 1, 5, 0}, {30, 2, 3, 0}, {30, 3, 4, 0}, {30, 4, 2, 0}, {30, 5, 5, 0}, {30, 6, 9, 0},
	{32, 1, 5, 0}, {32, 2, 3, 0}, {32, 3, 11, 0}, {32, 4, 9, 0}, {32, 5, 5, 0}, {32, 6, 9, 0},
	{32, 7, 11, 0}, {32, 8, 15, 0},
	{34, 1, 2, 0}, {34, 2, 4, 0}, {34, 3, 4, 0},
	{40, 1, 5, 0}, {40, 2, 3, 0}, {40, 3, 5, 0}, {40, 4, 9, 0},
	{41, 1, 5, 0}, {41, 2, 3, 0}, {41, 3, 5, 0}, {41, 4, 9, 0},
	{42, 1, 5, 0}, {42, 2, 3, 0}, {42, 3, 11, 0}, {42, 4, 9, 0},
	{43, 1, 5, 0}, {43, 2, 3, 0}, {43, 3, 11, 0}, {43, 4, 9, 0},
	{50, 1, 6, 0}, {50, 2, 10, 0}, {50, 3, 6, 0}, {51, 1, 6, 0}, {51, 2, 6, 0},
	{52, 1, 2, 0}, {52, 2, 2, 0}, {80, 1, 0, 1},
};

static const struct obj_size *size_of(uint8_t g, uint8_t v)
{
	for (size_t i = 0; i < N_ELEMS(sizes); i++)
		if (sizes[i].group == g && sizes[i].var == v)
			return &sizes[i];
	return NULL;
}

struct code_name {
	uint8_t code;
	const char *name;
};

/* IEEE 1815-2012 Table 11-? "Control status codes" (g12, g41, g43). */
static const struct code_name ctl_status[] = {
	{0, "SUCCESS"}, {1, "TIMEOUT"}, {2, "NO_SELECT"}, {3, "FORMAT_ERROR"},
	{4, "NOT_SUPPORTED"}, {5, "ALREADY_ACTIVE"}, {6, "HARDWARE_ERROR"}, {7, "LOCAL"},
	{8, "TOO_MANY_OBJS"}, {9, "NOT_AUTHORIZED"}, {10, "AUTOMATION_INHIBIT"},
	{11, "PROCESSING_LIMITED"}, {12, "OUT_OF_RANGE"}, {13, "DOWNSTREAM_LOCAL"},
	{14, "ALREADY_COMPLETE"}, {15, "BLOCKED"}, {16, "CANCELLED"},
	{17, "BLOCKED_OTHER_MASTER"}, {18, "DOWNSTREAM_FAIL"}, {126, "NON_PARTICIPATING"},
	{127, "UNDEFINED"},
};

/* File command / file transport status (g70v4, g70v6). */
static const struct code_name file_status[] = {
	{0, "SUCCESS"}, {1, "PERMISSION_DENIED"}, {2, "INVALID_MODE"}, {3, "FILE_NOT_FOUND"},
	{4, "FILE_LOCKED"}, {5, "TOO_MANY_OPEN"}, {6, "INVALID_HANDLE"}, {7, "WRITE_BLOCK_SIZE"},
	{8, "COMM_LOST"}, {9, "CANNOT_ABORT"}, {16, "NOT_OPENED"}, {17, "HANDLE_EXPIRED"},
	{18, "BUFFER_OVERRUN"}, {19, "FATAL"}, {20, "BLOCK_SEQUENCE"}, {255, "UNDEFINED"},
};

/* Secure Authentication (g120v7) error codes. */
static const struct code_name sa_errors[] = {
	{1, "Authentication failed"}, {2, "Unexpected response"}, {3, "No response"},
	{4, "Aggressive mode not supported"}, {5, "MAC algorithm not supported"},
	{6, "Key wrap algorithm not supported"}, {7, "Authorization failed"},
	{8, "Update key change method not permitted"}, {9, "Invalid signature"},
	{10, "Invalid certification data"}, {11, "Unknown user"},
	{12, "Max session key status requests exceeded"},
};

static const char *code_name(const struct code_name *t, size_t n, uint8_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}

struct iin_bit {
	uint16_t mask;                  /* IIN1 in the high byte, IIN2 low */
	const char *name;
};

static const struct iin_bit iin_bits[] = {
	{0x0100, "BROADCAST"}, {0x0200, "CLASS_1_EVENTS"}, {0x0400, "CLASS_2_EVENTS"},
	{0x0800, "CLASS_3_EVENTS"}, {0x1000, "NEED_TIME"}, {0x2000, "LOCAL_CONTROL"},
	{0x4000, "DEVICE_TROUBLE"}, {0x8000, "DEVICE_RESTART"},
	{0x0001, "NO_FUNC_CODE_SUPPORT"}, {0x0002, "OBJECT_UNKNOWN"}, {0x0004, "PARAMETER_ERROR"},
	{0x0008, "EVENT_BUFFER_OVERFLOW"}, {0x0010, "ALREADY_EXECUTING"},
	{0x0020, "CONFIG_CORRUPT"}, {0x0040, "RESERVED_2"}, {0x0080, "RESERVED_1"},
};

/* ---- CRC (IEEE 1815 9.2.1.2: polynomial 0x3D65, reflected, inverted) -- */

static void crc_init(void)
{
	for (unsigned i = 0; i < 256; i++) {
		uint16_t c = (uint16_t)i;
		for (int b = 0; b < 8; b++)
			c = (c & 1) ? (uint16_t)((c >> 1) ^ 0xA6BC) : (uint16_t)(c >> 1);
		crc_table[i] = c;
	}
}

static uint16_t dnp3_crc(const uint8_t *p, size_t n)
{
	uint16_t c = 0;
	for (size_t i = 0; i < n; i++)
		c = (uint16_t)((c >> 8) ^ crc_table[(c ^ p[i]) & 0xFF]);
	return (uint16_t)~c;
}

static int crc_ok(const uint8_t *p, size_t n)
{
	uint16_t c = dnp3_crc(p, n);
	return p[n] == (uint8_t)c && p[n + 1] == (uint8_t)(c >> 8);
}

/* ---- Link layer ---------------------------------------------------------- */

struct link_frame {
	uint8_t ctrl;
	uint16_t dst, src;
	size_t ulen;                    /* user data bytes, CRCs removed */
	size_t wire_len;                /* the whole frame on the wire */
	uint8_t user[LINK_USER_MAX];
};

enum link_verdict { LINK_OK, LINK_SHORT, LINK_BAD_HEADER, LINK_BAD_CRC };

static size_t wire_len_of(uint8_t len)
{
	size_t ulen = (size_t)len - 5;
	return LINK_HDR + ulen + 2 * ((ulen + 15) / 16);
}

/* A frame at p: LINK_SHORT when more bytes are needed to tell. */
static enum link_verdict link_read(const uint8_t *p, size_t n, struct link_frame *f)
{
	if ((n >= 1 && p[0] != 0x05) || (n >= 2 && p[1] != 0x64))
		return LINK_BAD_HEADER;
	if (n < LINK_HDR)
		return LINK_SHORT;
	if (!crc_ok(p, 8) || p[2] < 5)
		return LINK_BAD_HEADER;
	f->ctrl = p[3];
	f->dst = (uint16_t)(p[4] | p[5] << 8);
	f->src = (uint16_t)(p[6] | p[7] << 8);
	f->ulen = (size_t)p[2] - 5;
	f->wire_len = wire_len_of(p[2]);
	if (n < f->wire_len)
		return LINK_SHORT;
	size_t in = LINK_HDR, out = 0;
	while (out < f->ulen) {
		size_t blk = f->ulen - out < 16 ? f->ulen - out : 16;
		if (!crc_ok(p + in, blk))
			return LINK_BAD_CRC;
		memcpy(f->user + out, p + in, blk);
		out += blk;
		in += blk + 2;
	}
	return LINK_OK;
}

/* Primary frames with user data: CONFIRMED_USER_DATA, UNCONFIRMED_USER_DATA. */
static int link_has_user_data(const struct link_frame *f)
{
	uint8_t fn = f->ctrl & 0x0F;
	return (f->ctrl & 0x40) && (fn == 3 || fn == 4) && f->ulen >= 1;
}

/* The application fragment carried by the link frames of `wire` (a stored
 * request or response).  Returns its length; 0 if none. */
static size_t wire_fragment(const uint8_t *wire, size_t wlen, uint8_t *app, size_t cap,
			    uint16_t *src, uint16_t *dst)
{
	struct link_frame f;
	size_t off = 0, n = 0;
	while (off < wlen && link_read(wire + off, wlen - off, &f) == LINK_OK) {
		if (link_has_user_data(&f)) {
			size_t k = f.ulen - 1;
			if (n == 0) {
				*src = f.src;
				*dst = f.dst;
			}
			if (k > cap - n)
				k = cap - n;
			memcpy(app + n, f.user + 1, k);
			n += k;
		}
		off += f.wire_len;
	}
	return n;
}

/* ---- Object headers ------------------------------------------------------ */

struct obj_hdr {
	uint8_t group, var, qual;
	uint8_t ranged;                 /* start/stop given */
	uint8_t all;                    /* qualifier 0x06: every point */
	uint32_t start, stop;
	uint64_t count;
};

/* Visitor: one object (or one bit-packed run, index = first).  Returns 0
 * to stop the walk. */
typedef int (*obj_visit_fn)(const struct obj_hdr *h, uint32_t index, const uint8_t *obj,
			    size_t size, void *arg);
typedef void (*hdr_visit_fn)(const struct obj_hdr *h, void *arg);

static uint32_t rd_le(struct x1367_reader *rd, unsigned n)
{
	switch (n) {
	case 1: return x1367_rd_u8(rd);
	case 2: return x1367_rd_le16(rd);
	default: {
		uint32_t lo = x1367_rd_le16(rd);
		return lo | (uint32_t)x1367_rd_le16(rd) << 16;
	}
	}
}

static const unsigned width_of[4] = {0, 1, 2, 4};

/* Range field; 0 on a qualifier this walker cannot step over. */
static int hdr_range(struct x1367_reader *rd, struct obj_hdr *h)
{
	uint8_t rc = h->qual & 0x0F;
	h->ranged = h->all = 0;
	h->start = h->stop = 0;
	h->count = 0;
	switch (rc) {
	case 0x0: case 0x1: case 0x2: {
		unsigned w = width_of[rc + 1];
		h->start = rd_le(rd, w);
		h->stop = rd_le(rd, w);
		if (h->stop < h->start)
			return 0;
		h->count = (uint64_t)h->stop - h->start + 1;
		h->ranged = 1;
		return 1;
	}
	case 0x6:
		h->all = 1;
		return 1;
	case 0x7: case 0x8: case 0x9:
		h->count = rd_le(rd, width_of[rc - 6]);
		return 1;
	case 0xB:
		h->count = x1367_rd_u8(rd);
		return 1;
	default:
		return 0;       /* absolute addresses (obsolete) and reserved codes */
	}
}

/* Walks the objects after the application header.  with_data 0: headers
 * (and their index prefixes) only, as in a READ.  Returns 1 when the walk
 * reached the end, 0 when it stopped (unknown size, bad qualifier, short). */
static int objects_walk(const uint8_t *p, size_t n, int with_data, hdr_visit_fn on_hdr,
			obj_visit_fn on_obj, void *arg)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, p, n);
	while (x1367_rd_left(&rd) > 0) {
		struct obj_hdr h;
		h.group = x1367_rd_u8(&rd);
		h.var = x1367_rd_u8(&rd);
		h.qual = x1367_rd_u8(&rd);
		if (!x1367_rd_ok(&rd) || !hdr_range(&rd, &h) || !x1367_rd_ok(&rd))
			return 0;
		if (on_hdr)
			on_hdr(&h, arg);
		if (h.all)
			continue;
		unsigned pc = (h.qual >> 4) & 7;
		unsigned rc = h.qual & 0x0F;
		/* Free format (0xB): the prefix is the object's size. */
		int size_prefix = pc >= 4 || (rc == 0xB && pc >= 1);
		unsigned pw = pc == 0 || pc == 7 ? 0 : width_of[pc >= 4 ? pc - 3 : pc];
		if (pc == 7)
			return 0;
		const struct obj_size *sz = size_of(h.group, h.var);
		if (with_data && !size_prefix && sz && sz->bits && pc == 0) {
			uint64_t bytes = (h.count * sz->bits + 7) / 8;
			const uint8_t *o = x1367_rd_bytes(&rd, bytes > n ? n + 1 : (size_t)bytes);
			if (!o)
				return 0;
			if (on_obj && !on_obj(&h, h.start, o, (size_t)bytes, arg))
				return 0;
			continue;
		}
		if (with_data && !size_prefix && (!sz || sz->bits))
			return 0;
		if (!with_data && pw == 0)
			continue;
		for (uint64_t i = 0; i < h.count; i++) {
			uint32_t index = h.ranged ? h.start + (uint32_t)i : (uint32_t)i;
			size_t size = 0;
			if (size_prefix)
				size = rd_le(&rd, pw);
			else if (pw)
				index = rd_le(&rd, pw);
			if (with_data && !size_prefix)
				size = sz->bytes;
			const uint8_t *o = x1367_rd_bytes(&rd, with_data || size_prefix ? size : 0);
			if (!x1367_rd_ok(&rd) || !o)
				return 0;
			if (on_obj && !on_obj(&h, index, o, size, arg))
				return 0;
		}
	}
	return 1;
}

/* ---- Describing a request ------------------------------------------------ */

struct text {
	char buf[512];
	size_t used;
	unsigned items, dropped;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	char item[200];
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (w < 0 || t->items >= LIST_MAX || t->used + (size_t)w + 3 > sizeof(t->buf)) {
		t->dropped++;
		return;
	}
	t->used += (size_t)snprintf(t->buf + t->used, sizeof(t->buf) - t->used, "%s%s",
				    t->items ? "; " : "", item);
	t->items++;
}

static void text_end(struct text *t)
{
	if (t->dropped && t->used + 16 < sizeof(t->buf))
		snprintf(t->buf + t->used, sizeof(t->buf) - t->used, "; +%u more", t->dropped);
}

static void hdr_text(const struct obj_hdr *h, void *arg)
{
	struct text *t = arg;
	if (h->all)
		text_add(t, "g%uv%u %s, all points", h->group, h->var, object_name(h->group, h->var));
	else if (h->ranged)
		text_add(t, "g%uv%u %s, index %u-%u", h->group, h->var, object_name(h->group, h->var),
			 h->start, h->stop);
	else
		text_add(t, "g%uv%u %s, qualifier 0x%02X, %llu object%s", h->group, h->var,
			 object_name(h->group, h->var), h->qual, (unsigned long long)h->count,
			 h->count == 1 ? "" : "s");
}

/* Objects with an index prefix: name the indices (a CROB names its point). */
static int obj_index_text(const struct obj_hdr *h, uint32_t index, const uint8_t *obj, size_t size,
			  void *arg)
{
	struct text *t = arg;
	(void)obj;
	(void)size;
	if ((h->qual & 0x70) == 0x10 || (h->qual & 0x70) == 0x20 || (h->qual & 0x70) == 0x30)
		text_add(t, "g%uv%u %s, index %u", h->group, h->var, object_name(h->group, h->var), index);
	return 1;
}

static void hdr_text_unprefixed(const struct obj_hdr *h, void *arg)
{
	uint8_t pc = (h->qual >> 4) & 7;
	if (h->all || pc == 0 || pc >= 4)
		hdr_text(h, arg);
}

static void outstation_uid(const struct x1367_addr *a, uint16_t link, char *buf, size_t len)
{
	char ip[48];
	api->format_addr(a, ip, sizeof(ip));
	snprintf(buf, len, "%s#%u", ip, link);
}

static size_t dnp3_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			    struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	uint8_t app[FRAG_MAX];
	struct x1367_desc d = {.n = 0};
	struct text objs = {.used = 0};
	uint16_t src = 0, dst = 0;
	size_t n = wire_fragment(req->bytes, req->len, app, sizeof(app), &src, &dst);

	/* A request cut inside its first frame (--max-code-bytes) still has
	 * the addresses of its link header. */
	if (!n && req->len >= 8) {
		dst = (uint16_t)(req->bytes[4] | req->bytes[5] << 8);
		src = (uint16_t)(req->bytes[6] | req->bytes[7] << 8);
	}
	outstation_uid(req->responder, dst, uid, uid_len);
	if (n < 2)
		return 0;
	x1367_desc_add(&d, "Function", "%s (0x%02X)", fc_name(app[1]), app[1]);
	x1367_desc_add(&d, "Request Sequence", "%u", app[0] & AC_SEQ);
	x1367_desc_add(&d, "Master Address", "%u", src);
	x1367_desc_add(&d, "Outstation Address", "%u", dst);
	objs.buf[0] = '\0';
	objects_walk(app + 2, n - 2, !fc_headers_only(app[1]), hdr_text_unprefixed, obj_index_text,
		     &objs);
	text_end(&objs);
	if (objs.used)
		x1367_desc_add(&d, "Objects", "%s", objs.buf);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

/* ---- Per-flow state ------------------------------------------------------ */

struct tp_slot;

/* An outstation of this connection in an episode: device trouble or event
 * overflow is on and was reported.  An entry with both off is free: a
 * device with no state on looks exactly like one never seen. */
struct dev_state {
	uint16_t link;
	uint8_t dir;                    /* the direction its responses travel */
	uint8_t trouble, overflow;
};

struct dnp3_state {
	struct tp_slot *slot[2][SLOTS_DIR];
	uint8_t resyncing[2];
	struct dev_state dev[DEV_FLOW];
};

static int dev_free(const struct dev_state *d)
{
	return !d->trouble && !d->overflow;
}

/* The outstation's entry; if it has none, a free one (NULL when none is
 * free: that many devices of the connection in an episode at once). */
static struct dev_state *dev_get(struct dnp3_state *st, unsigned dir, uint16_t link)
{
	struct dev_state *spare = NULL;
	for (unsigned i = 0; i < DEV_FLOW; i++) {
		struct dev_state *d = &st->dev[i];
		if (dev_free(d)) {
			if (!spare)
				spare = d;
		} else if (d->link == link && d->dir == dir) {
			return d;
		}
	}
	if (spare) {
		spare->link = link;
		spare->dir = (uint8_t)dir;
	}
	return spare;
}

/* ---- Errors of one response ---------------------------------------------- */

struct err_list {
	char first[8];                  /* vendor code of the first */
	struct text text;
	unsigned n;
};

static void err_add(struct err_list *e, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err_add(struct err_list *e, const char *code, const char *fmt, ...)
{
	char item[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	if (!e->n++)
		snprintf(e->first, sizeof(e->first), "%s", code);
	text_add(&e->text, "%s (%s)", item, code);
}

static const char *iin_name(uint16_t mask)
{
	for (size_t i = 0; i < N_ELEMS(iin_bits); i++)
		if (iin_bits[i].mask == mask)
			return iin_bits[i].name;
	return "?";
}

static void iin2_errors(struct err_list *e, uint8_t iin2)
{
	static const char *const meaning[8] = {
		"function code not supported", "object unknown", "parameter error", NULL,
		"already executing", "configuration corrupt", NULL, NULL,
	};
	for (unsigned b = 0; b < 8; b++) {
		if (!(iin2 & IIN2_ERRORS & (1u << b)))
			continue;
		char code[8];
		snprintf(code, sizeof(code), "%04X", 1u << b);
		err_add(e, code, "IIN2.%u %s: %s", b, iin_name((uint16_t)(1u << b)), meaning[b]);
	}
}

/* Statuses in control echoes and SA error objects. */
static int obj_errors(const struct obj_hdr *h, uint32_t index, const uint8_t *obj, size_t size,
		      void *arg)
{
	struct err_list *e = arg;
	char code[8];
	if ((h->group == 12 && (h->var == 1 || h->var == 2)) || h->group == 41) {
		if (!size)
			return 1;
		uint8_t st = obj[size - 1] & 0x7F;
		if (!st)
			return 1;
		const char *name = code_name(ctl_status, N_ELEMS(ctl_status), st);
		snprintf(code, sizeof(code), "%02X%02X", h->group, st);
		err_add(e, code, "g%uv%u %s index %u: status %u %s", h->group, h->var,
			object_name(h->group, h->var), index, st, name ? name : "reserved");
	} else if (h->group == 70 && (h->var == 4 || h->var == 6)) {
		/* v4 command status: handle (4) · size (4) · max block (2) ·
		 * request id (2) · status; v6 transport status: handle (4) ·
		 * block (4) · status. */
		size_t at = h->var == 4 ? 12 : 8;
		if (size <= at || !obj[at])
			return 1;
		const char *name = code_name(file_status, N_ELEMS(file_status), obj[at]);
		snprintf(code, sizeof(code), "46%02X", obj[at]);
		err_add(e, code, "g70v%u %s: status %u %s", h->var,
			h->var == 4 ? "File Command Status" : "File Transport Status", obj[at],
			name ? name : "reserved");
	} else if (h->group == 120 && h->var == 7) {
		/* Challenge seq (4) · user (2) · association (2) · error code. */
		if (size < 9)
			return 1;
		uint8_t ec = obj[8];
		uint16_t user = (uint16_t)(obj[4] | obj[5] << 8);
		const char *name = code_name(sa_errors, N_ELEMS(sa_errors), ec);
		snprintf(code, sizeof(code), "78%02X", ec);
		err_add(e, code, "g120v7 Authentication Error, user %u: error %u %s", user, ec,
			name ? name : (ec >= 128 ? "vendor-specific" : "reserved"));
	}
	return 1;
}

/* Device trouble and event buffer overflow: listed when an episode starts,
 * ended by a response without the bit. */
static void states(x1367_ctx *ctx, struct err_list *e, struct dnp3_state *st, unsigned dir,
		   uint16_t link, uint8_t iin1, uint8_t iin2)
{
	int dt = (iin1 & IIN1_DEVICE_TROUBLE) != 0, ebo = (iin2 & IIN2_EVENT_OVERFLOW) != 0;
	struct dev_state *d = dev_get(st, dir, link);
	if (!d) {
		if (dt || ebo)
			api->event(ctx, EV_DEV_TABLE_FULL);
		return;
	}
	if (dt && !d->trouble)
		err_add(e, "4000", "IIN1.6 DEVICE_TROUBLE: device trouble (state)");
	if (ebo && !d->overflow)
		err_add(e, "0008", "IIN2.3 EVENT_BUFFER_OVERFLOW: event buffer overflow (state)");
	d->trouble = (uint8_t)dt;
	d->overflow = (uint8_t)ebo;
}

/* ---- Application layer --------------------------------------------------- */

struct fragment {
	const uint8_t *app;
	size_t len;
	const uint8_t *wire;            /* the link frames that carried it */
	size_t wire_len;
	uint16_t src, dst;              /* link addresses */
};

static struct x1367_txn_key txn_key(uint16_t master, uint16_t outstation, uint8_t seq)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 5};
	k.id[0] = (uint8_t)(master >> 8);
	k.id[1] = (uint8_t)master;
	k.id[2] = (uint8_t)(outstation >> 8);
	k.id[3] = (uint8_t)outstation;
	k.id[4] = seq;
	return k;
}

static void on_request(x1367_ctx *ctx, const struct fragment *fr)
{
	uint8_t fc = fr->app[1];
	if (!fc_needs_answer(fc) || fr->dst >= ADDR_BROADCAST_MIN)
		return;
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = txn_key(fr->src, fr->dst, fr->app[0] & AC_SEQ),
		.bytes = fr->wire,
		.len = fr->wire_len,
		/* The SA exchange a critical request starts keeps the SEQ: an
		 * authentication reply is answered by the original request's
		 * response, never on its own. */
		.flags = fc == FC_AUTH_REQ ? X1367_TXN_NO_TIMEOUT : 0,
	};
	api->txn_open(ctx, &req);
}

static uint8_t txn_fc(const x1367_txn *txn)
{
	uint8_t app[8];
	size_t got = 0, wire = 0;
	uint16_t s, d;
	const uint8_t *b = api->txn_request(txn, &got, &wire);
	return b && wire_fragment(b, got, app, sizeof(app), &s, &d) >= 2 ? app[1] : 0xFF;
}

/* A Response answers an ordinary request; AUTH_RESP answers an SA request
 * (or ends any exchange with an error, tried separately). */
static int fits(const x1367_txn *txn, const void *arg)
{
	uint8_t resp_fc = *(const uint8_t *)arg;
	int auth = txn_fc(txn) == FC_AUTH_REQ;
	return resp_fc == FC_AUTH_RESP ? auth : !auth;
}

/* The one open request of this master to this outstation, whatever its
 * SEQ; NULL when none or several. */
static x1367_txn *only_request(x1367_ctx *ctx, uint16_t master, uint16_t outstation, uint8_t *seq)
{
	x1367_txn *found = NULL;
	for (unsigned s = 0; s <= AC_SEQ; s++) {
		struct x1367_txn_key k = txn_key(master, outstation, (uint8_t)s);
		x1367_txn *t = api->txn_find(ctx, &k);
		if (!t)
			continue;
		if (found || x1367_txn_next(api, ctx, &k, t))
			return NULL;
		found = t;
		*seq = (uint8_t)s;
	}
	return found;
}

static x1367_txn *find_request(x1367_ctx *ctx, const struct fragment *fr, int *mismatch,
			       uint8_t *req_seq)
{
	uint8_t fc = fr->app[1];
	struct x1367_txn_key k = txn_key(fr->dst, fr->src, fr->app[0] & AC_SEQ);
	x1367_txn *txn = x1367_txn_find_fit(api, ctx, &k, fits, &fc, NULL);
	*mismatch = 0;
	if (!txn && fc == FC_AUTH_RESP)
		txn = api->txn_find(ctx, &k);
	if (!txn && (txn = only_request(ctx, fr->dst, fr->src, req_seq))) {
		*mismatch = 1;
		api->event(ctx, EV_SEQ_MISMATCH);
	}
	return txn;
}

static void report(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct fragment *fr,
		   x1367_txn *txn, struct err_list *e, int mismatch, uint8_t req_seq)
{
	struct x1367_desc d = {.n = 0};
	char uid[UID_MAX];
	uint16_t iin = (uint16_t)(fr->app[2] << 8 | fr->app[3]);
	struct text bits = {.used = 0};

	bits.buf[0] = '\0';
	for (size_t i = 0; i < N_ELEMS(iin_bits); i++)
		if (iin & iin_bits[i].mask)
			text_add(&bits, "%s", iin_bits[i].name);
	text_end(&e->text);
	x1367_desc_add(&d, "Response Function", "%s (0x%02X)", fc_name(fr->app[1]), fr->app[1]);
	x1367_desc_add(&d, "Response Sequence", "%u", fr->app[0] & AC_SEQ);
	if (!txn) {
		x1367_desc_add(&d, "Master Address", "%u", fr->dst);
		x1367_desc_add(&d, "Outstation Address", "%u", fr->src);
	}
	x1367_desc_add(&d, "IIN", "0x%04X%s%s%s", iin, bits.used ? " (" : "", bits.buf,
		       bits.used ? ")" : "");
	x1367_desc_add(&d, "Errors", "%s", e->text.buf);
	if (mismatch)
		x1367_desc_add(&d, "Sequence Mismatch",
			       "the outstation answered the only open request (SEQ %u) with SEQ %u",
			       req_seq, fr->app[0] & AC_SEQ);
	outstation_uid(pkt->src, fr->src, uid, sizeof(uid));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = e->first,
		.txn = txn,
		.response = fr->wire,
		.response_len = fr->wire_len,
		.responder_uid = uid,
		.desc = d.kv,
		.n_desc = d.n,
		/* A state the device reported on its own expected no request
		 * (an older engine ignores the flag: a response without
		 * request then). */
		.flags = fr->app[1] == FC_UNSOLICITED ? X1367_REPORT_UNSOLICITED : 0,
	};
	api->report(ctx, &rep);
}

static void on_response(x1367_ctx *ctx, struct dnp3_state *st, unsigned dir,
			const struct x1367_packet *pkt, const struct fragment *fr)
{
	uint8_t fc = fr->app[1], ac = fr->app[0];
	struct err_list e;
	x1367_txn *txn = NULL;
	int mismatch = 0;
	uint8_t req_seq = 0;

	memset(&e, 0, sizeof(e));
	if (fc == FC_UNSOLICITED) {
		char uid[UID_MAX];
		api->event(ctx, EV_UNSOLICITED);
		outstation_uid(pkt->src, fr->src, uid, sizeof(uid));
		api->heartbeat(ctx, uid);
	} else if (ac & AC_FIR) {
		txn = find_request(ctx, fr, &mismatch, &req_seq);
		iin2_errors(&e, fr->app[3]);
	}
	states(ctx, &e, st, dir, fr->src, fr->app[2], fr->app[3]);
	if (fc != FC_UNSOLICITED)
		objects_walk(fr->app + 4, fr->len - 4, 1, NULL, obj_errors, &e);
	int challenge = fc == FC_AUTH_RESP && !e.n && txn && txn_fc(txn) != FC_AUTH_REQ;
	if (e.n)
		report(ctx, pkt, fr, txn, &e, mismatch, req_seq);
	else if (!txn && fc != FC_UNSOLICITED && (ac & AC_FIR))
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	/* An SA challenge asks the master to prove itself: the request it
	 * challenges is still waiting for its answer. */
	if (txn && !challenge)
		api->txn_answered(ctx, txn);
}

static void on_fragment(x1367_ctx *ctx, struct dnp3_state *st, unsigned dir,
			const struct x1367_packet *pkt, const struct fragment *fr)
{
	if (fr->len < 2 || (fr->app[1] >= 0x81 && fr->app[1] <= 0x83 && fr->len < 4)) {
		api->event(ctx, EV_APP_SHORT);
		api->event(ctx, X1367_EV_MALFORMED);
		return;
	}
	uint8_t fc = fr->app[1];
	if (fc >= 0x81 && fc <= 0x83) {
		on_response(ctx, st, dir, pkt, fr);
	} else if (fc < 0x80) {
		/* A master's error message (SA): not a device's refusal. */
		if (fc == FC_AUTH_REQ_NR || fc == FC_AUTH_REQ) {
			struct err_list e;
			memset(&e, 0, sizeof(e));
			objects_walk(fr->app + 2, fr->len - 2, 1, NULL, obj_errors, &e);
			if (e.n)
				api->event(ctx, EV_MASTER_AUTH_ERROR);
		}
		on_request(ctx, fr);
	}
}

/* ---- Transport layer --------------------------------------------------- */

/* One fragment in progress: its link frames as on the wire.  The
 * application bytes are only counted here (the FRAG_MAX bound) and rebuilt
 * from the frames on the last segment: keeping both would double the
 * memory a flow can hold. */
struct tp_slot {
	uint16_t src, dst;
	uint8_t next_seq;
	size_t app_len, wire_len;
	uint8_t wire[FRAG_WIRE_MAX];
};

/* The sensor-wide budget of fragments in progress: the one mutable
 * global, a counter (atomic: flows may be dissected by several threads)
 * that holds no device's state, so it mixes nothing.  Without it an
 * attacker opening many flows, each with fragments left unfinished,
 * could take ~40 KiB per flow. */
static atomic_uint slots_in_use;

static int slot_budget_take(void)
{
	if (atomic_fetch_add(&slots_in_use, 1) < SLOTS_ALL)
		return 1;
	atomic_fetch_sub(&slots_in_use, 1);
	return 0;
}

static void slot_free(struct dnp3_state *st, unsigned dir, unsigned i)
{
	if (st->slot[dir][i]) {
		free(st->slot[dir][i]);
		st->slot[dir][i] = NULL;
		atomic_fetch_sub(&slots_in_use, 1);
	}
}

static int slot_find(const struct dnp3_state *st, unsigned dir, uint16_t src, uint16_t dst)
{
	for (unsigned i = 0; i < SLOTS_DIR; i++)
		if (st->slot[dir][i] && st->slot[dir][i]->src == src && st->slot[dir][i]->dst == dst)
			return (int)i;
	return -1;
}

static struct tp_slot *slot_new(x1367_ctx *ctx, struct dnp3_state *st, unsigned dir,
				const struct link_frame *f)
{
	int i = slot_find(st, dir, f->src, f->dst);
	if (i < 0)
		for (unsigned k = 0; k < SLOTS_DIR && i < 0; k++)
			if (!st->slot[dir][k])
				i = (int)k;
	if (i < 0) {
		api->event(ctx, EV_TP_SLOTS_FULL);
		return NULL;
	}
	if (!st->slot[dir][i]) {
		if (!slot_budget_take()) {
			api->event(ctx, EV_TP_SLOTS_FULL);
			return NULL;
		}
		if (!(st->slot[dir][i] = malloc(sizeof(struct tp_slot)))) {
			atomic_fetch_sub(&slots_in_use, 1);
			api->event(ctx, EV_TP_SLOTS_FULL);
			return NULL;
		}
	}
	struct tp_slot *s = st->slot[dir][i];
	s->src = f->src;
	s->dst = f->dst;
	s->app_len = s->wire_len = 0;
	return s;
}

static int slot_append(struct tp_slot *s, const struct link_frame *f, const uint8_t *wire)
{
	if (s->app_len + f->ulen - 1 > FRAG_MAX || s->wire_len + f->wire_len > FRAG_WIRE_MAX)
		return 0;
	s->app_len += f->ulen - 1;
	memcpy(s->wire + s->wire_len, wire, f->wire_len);
	s->wire_len += f->wire_len;
	s->next_seq = (uint8_t)((f->user[0] + 1) & TH_SEQ);
	return 1;
}

static void on_link_frame(x1367_ctx *ctx, struct dnp3_state *st, unsigned dir,
			  const struct x1367_packet *pkt, const struct link_frame *f,
			  const uint8_t *wire)
{
	if (!link_has_user_data(f))
		return;                 /* link management: reset, status, ack */
	uint8_t th = f->user[0];
	int i = slot_find(st, dir, f->src, f->dst);
	if (i >= 0 && (th & TH_FIR)) {
		/* A new fragment before the last one's final segment. */
		api->event(ctx, EV_TP_SEQUENCE);
	}
	if ((th & TH_FIR) && (th & TH_FIN)) {
		/* The common case, one frame: dissected in place. */
		if (i >= 0)
			slot_free(st, dir, (unsigned)i);
		struct fragment fr = {f->user + 1, f->ulen - 1, wire, f->wire_len, f->src, f->dst};
		on_fragment(ctx, st, dir, pkt, &fr);
		return;
	}
	struct tp_slot *s = NULL;
	if (th & TH_FIR) {
		s = slot_new(ctx, st, dir, f);
	} else if (i < 0) {
		api->event(ctx, EV_TP_ORPHAN);  /* picked up mid-fragment */
		return;
	} else {
		s = st->slot[dir][i];
		if ((th & TH_SEQ) == ((s->next_seq - 1) & TH_SEQ))
			return;         /* the same segment again: discarded (8.2.3) */
		if ((th & TH_SEQ) != s->next_seq) {
			api->event(ctx, EV_TP_SEQUENCE);
			slot_free(st, dir, (unsigned)i);
			return;
		}
	}
	if (!s)
		return;
	i = slot_find(st, dir, f->src, f->dst);
	if (!slot_append(s, f, wire)) {
		api->event(ctx, EV_TP_TOO_LARGE);
		slot_free(st, dir, (unsigned)i);
		return;
	}
	if (th & TH_FIN) {
		uint8_t app[FRAG_MAX];
		uint16_t src, dst;
		struct fragment fr = {app, wire_fragment(s->wire, s->wire_len, app, sizeof(app), &src, &dst),
				      s->wire, s->wire_len, s->src, s->dst};
		on_fragment(ctx, st, dir, pkt, &fr);
		slot_free(st, dir, (unsigned)i);
	}
}

/* ---- Framing ----------------------------------------------------------- */

/* Bytes before the next place a frame may start ("05 64" with a header CRC
 * that checks, or a prefix of one at the end of the bytes). */
static size_t resync_skip(const uint8_t *p, size_t n, size_t from)
{
	struct link_frame f;
	for (size_t k = from; k < n; k++) {
		if (p[k] != 0x05)
			continue;
		if (link_read(p + k, n - k, &f) != LINK_BAD_HEADER)
			return k;
	}
	return n;
}

static void dnp3_flow_end(x1367_ctx *ctx, void *state);

static void dnp3_gap_dir(struct dnp3_state *st, unsigned dir)
{
	st->resyncing[dir] = 1;
	for (unsigned i = 0; i < SLOTS_DIR; i++)
		slot_free(st, dir, i);
}

static enum x1367_parse_result dnp3_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					  const uint8_t *data, size_t len, size_t *consumed)
{
	struct link_frame f;
	struct dnp3_state none;
	struct dnp3_state *st = state;
	unsigned dir = pkt->dir == X1367_TO_CLIENT ? 1 : 0;
	int udp = pkt->transport == X1367_UDP;
	size_t off = 0;

	if (!st) {
		memset(&none, 0, sizeof(none));
		st = &none;
	}
	if (st->resyncing[dir]) {
		/* After a gap: wait for a frame boundary, quietly. */
		off = resync_skip(data, len, 0);
		if (off < len)
			st->resyncing[dir] = 0;
	}
	while (off < len) {
		enum link_verdict v = link_read(data + off, len - off, &f);
		if (v == LINK_SHORT && !udp)
			break;
		if (v == LINK_SHORT || v == LINK_BAD_HEADER) {
			api->event(ctx, v == LINK_SHORT ? EV_TRUNCATED : EV_BAD_HEADER_CRC);
			api->event(ctx, X1367_EV_MALFORMED);
			*consumed = udp ? len : resync_skip(data, len, off + 1);
			return X1367_PARSE_ERROR;
		}
		if (v == LINK_BAD_CRC) {
			/* The header said where the frame ends: skip it whole.
			 * Any fragment it was part of is lost. */
			int i = slot_find(st, dir, f.src, f.dst);
			if (i >= 0)
				slot_free(st, dir, (unsigned)i);
			api->event(ctx, EV_BAD_CRC);
			api->event(ctx, X1367_EV_MALFORMED);
			*consumed = off + f.wire_len;
			return X1367_PARSE_ERROR;
		}
		on_link_frame(ctx, st, dir, pkt, &f, data + off);
		off += f.wire_len;
	}
	if (st == &none)
		dnp3_flow_end(ctx, st);
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

static void dnp3_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	(void)ctx;
	if (state && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT))
		dnp3_gap_dir(state, (unsigned)dir);
}

static void dnp3_flow_end(x1367_ctx *ctx, void *state)
{
	(void)ctx;
	struct dnp3_state *st = state;
	if (!st)
		return;
	for (unsigned d = 0; d < 2; d++)
		for (unsigned i = 0; i < SLOTS_DIR; i++)
			slot_free(st, d, i);
}

/* DNP3 elsewhere: the first bytes are a link header whose CRC checks. */
static enum x1367_probe_result dnp3_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	(void)dir;
	if ((len >= 1 && data[0] != 0x05) || (len >= 2 && data[1] != 0x64))
		return X1367_PROBE_NO;
	if (len < LINK_HDR)
		return X1367_PROBE_MAYBE;
	return crc_ok(data, 8) && data[2] >= 5 ? X1367_PROBE_YES : X1367_PROBE_NO;
}

static int dnp3_init(const struct x1367_engine_api *engine)
{
	api = engine;
	crc_init();
	return 0;
}

static const uint16_t dnp3_ports[] = {20000, 0};

static const char *const dnp3_events[] = {
	EV_BAD_HEADER_CRC, EV_BAD_CRC, EV_TRUNCATED, EV_TP_ORPHAN, EV_TP_SEQUENCE,
	EV_TP_TOO_LARGE, EV_TP_SLOTS_FULL, EV_APP_SHORT, EV_SEQ_MISMATCH, EV_DEV_TABLE_FULL,
	EV_UNSOLICITED, EV_MASTER_AUTH_ERROR, NULL,
};

static const struct x1367_dissector dnp3_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "dnp3",
	.protocol = "DNP3",
	.transports = X1367_TCP | X1367_UDP,
	.ports = dnp3_ports,
	.ndpi_name = "DNP3",
	.request_timeout_ms = 5000,
	.state_size = sizeof(struct dnp3_state),
	.init = dnp3_init,
	.probe = dnp3_probe,
	.parse = {
		[X1367_TO_SERVER] = dnp3_parse,
		[X1367_TO_CLIENT] = dnp3_parse,
	},
	.gap = dnp3_gap,
	.flow_end = dnp3_flow_end,
	.event_names = dnp3_events,
	.describe_request = dnp3_describe,
};

/* The header does not declare the entry point: say it here. */
__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &dnp3_dissector;
}
