/*
 * ECHONET Lite (UDP and TCP port 3610).
 *
 * Format 1 frame:
 *   EHD1 0x10 · EHD2 0x81 · TID (2) · SEOJ (3) · DEOJ (3) · ESV (1)
 *   · OPC (1) · OPC x {EPC (1) · PDC (1) · EDT (PDC bytes)}
 * SetGet and its answers carry two such lists (OPCSet..., OPCGet...).
 * Format 2 (EHD2 0x82) is free-form: carried, never paired.
 *
 * Requests and answers pair by the two addresses (any port: nodes answer
 * from other ports, and each node answers a multicast request from its
 * own unicast address) and the TID, with the answer's SEOJ class equal to
 * the request's DEOJ class.  The engine keys on TID + class; the instance
 * is checked here, because a request to instance 0 is answered by each
 * real instance.  An SNA ("service not available") answer is the error
 * we report; its vendor code is the ESV.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <x1367ids/dissector.h>

#define EHD1 0x10
#define EHD2_FORMAT1 0x81
#define EHD2_FORMAT2 0x82
#define EL_HDR_LEN 12          /* EHD1 .. OPC */
#define EOJ_ALL_INSTANCES 0x00
/* Where the request's DEOJ instance sits in the stored bytes (EHD1 EHD2
 * TID TID SEOJx3 DEOJx3): the ESV follows it. */
#define REQ_DEOJ_INSTANCE_OFF 9

#define EV_UNKNOWN_EHD "unknown_ehd"
#define EV_MALFORMED_FRAME "malformed_frame"
#define EV_UNKNOWN_ESV "unknown_esv"
#define EV_INSTANCE_MISMATCH "instance_mismatch"
#define EV_ESV_MISMATCH "esv_mismatch"

static const struct x1367_engine_api *api;

/* Per flow, per direction: after a bad header on a TCP stream, skip to
 * the next plausible frame without counting every byte as an error. */
struct el_state {
	uint8_t resyncing[2];
};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Tables ------------------------------------------------------------ */

enum el_role {
	EL_REQUEST,        /* opens a transaction */
	EL_RESPONSE,       /* answers one */
	EL_SNA,            /* answers one with a refusal: reported */
	EL_NOTIFY,         /* INF: unsolicited, or the answer to INF_REQ */
};

struct el_esv {
	uint8_t esv;
	const char *name;
	uint8_t role;          /* enum el_role */
	uint8_t two_lists;     /* SetGet family: OPCSet list, then OPCGet list */
	uint8_t request;       /* responses: the request ESV they answer */
	uint8_t txn_flags;     /* requests: enum x1367_txn_flags */
	uint8_t heartbeat;     /* a device talking on its own: its pulse */
};

static const struct el_esv esvs[] = {
	{0x60, "SetI", EL_REQUEST, 0, 0, X1367_TXN_NO_TIMEOUT, 0},  /* answered only on refusal */
	{0x61, "SetC", EL_REQUEST, 0, 0, 0, 0},
	{0x62, "Get", EL_REQUEST, 0, 0, 0, 0},
	{0x63, "INF_REQ", EL_REQUEST, 0, 0, 0, 0},
	{0x6E, "SetGet", EL_REQUEST, 1, 0, 0, 0},
	/* INFC asks the controller for an INFC_Res; a controller that does not
	 * acknowledge is not the device's error, so no "No Response". */
	{0x74, "INFC", EL_REQUEST, 0, 0, X1367_TXN_NO_TIMEOUT, 1},
	{0x73, "INF", EL_NOTIFY, 0, 0x63, 0, 1},
	{0x71, "Set_Res", EL_RESPONSE, 0, 0x61, 0, 0},
	{0x72, "Get_Res", EL_RESPONSE, 0, 0x62, 0, 0},
	{0x7A, "INFC_Res", EL_RESPONSE, 0, 0x74, 0, 0},
	{0x7E, "SetGet_Res", EL_RESPONSE, 1, 0x6E, 0, 0},
	{0x50, "SetI_SNA", EL_SNA, 0, 0x60, 0, 0},
	{0x51, "SetC_SNA", EL_SNA, 0, 0x61, 0, 0},
	{0x52, "Get_SNA", EL_SNA, 0, 0x62, 0, 0},
	{0x53, "INF_SNA", EL_SNA, 0, 0x63, 0, 0},
	{0x5E, "SetGet_SNA", EL_SNA, 1, 0x6E, 0, 0},
	/* Not in the specification, but one widely used library sends it for
	 * SetGet_SNA: same layout, reported under its own code. */
	{0x5F, "SetGet_SNA (non-standard)", EL_SNA, 1, 0x6E, 0, 0},
};

struct el_class {
	uint16_t code;         /* class group << 8 | class */
	const char *name;
};

static const struct el_class classes[] = {
	{0x0001, "Gas leak sensor"},
	{0x0007, "Human detection sensor"},
	{0x0011, "Temperature sensor"},
	{0x0012, "Humidity sensor"},
	{0x0130, "Home air conditioner"},
	{0x0133, "Ventilation fan"},
	{0x0135, "Air cleaner"},
	{0x0260, "Electrically operated blind"},
	{0x0263, "Electrically operated rain sliding door/shutter"},
	{0x026B, "Electric water heater"},
	{0x026F, "Electric lock"},
	{0x0272, "Instantaneous water heater"},
	{0x0279, "Household solar power generation"},
	{0x027B, "Floor heater"},
	{0x027C, "Fuel cell"},
	{0x027D, "Storage battery"},
	{0x027E, "Electric vehicle charger/discharger"},
	{0x0280, "Electric energy meter"},
	{0x0287, "Power distribution board metering"},
	{0x0288, "Low-voltage smart electric energy meter"},
	{0x0290, "General lighting"},
	{0x0291, "Single function lighting"},
	{0x02A1, "Electric vehicle charger"},
	{0x02A3, "Lighting system"},
	{0x03B7, "Refrigerator"},
	{0x05FD, "Switch"},
	{0x05FF, "Controller"},
	{0x0EF0, "Node profile"},
};

struct el_epc {
	uint8_t epc;
	const char *name;
};

/* Properties every device object has (the device superclass). */
static const struct el_epc epcs_super[] = {
	{0x80, "Operation status"},
	{0x81, "Installation location"},
	{0x82, "Standard version information"},
	{0x83, "Identification number"},
	{0x84, "Measured instantaneous power consumption"},
	{0x85, "Measured cumulative electric energy consumption"},
	{0x86, "Manufacturer's fault code"},
	{0x87, "Current limit setting"},
	{0x88, "Fault status"},
	{0x89, "Fault description"},
	{0x8A, "Manufacturer code"},
	{0x8B, "Business facility code"},
	{0x8C, "Product code"},
	{0x8D, "Production number"},
	{0x8E, "Production date"},
	{0x8F, "Power-saving operation setting"},
	{0x93, "Remote control setting"},
	{0x97, "Current time setting"},
	{0x98, "Current date setting"},
	{0x99, "Power limit setting"},
	{0x9A, "Cumulative operating time"},
	{0x9D, "Status change announcement property map"},
	{0x9E, "Set property map"},
	{0x9F, "Get property map"},
};

/* Codes from 0xA0 up mean something else in each class: name only the
 * node profile's, which every node has. */
static const struct el_epc epcs_node_profile[] = {
	{0xBF, "Unique identifier data"},
	{0xD3, "Number of self-node instances"},
	{0xD4, "Number of self-node classes"},
	{0xD5, "Instance list notification"},
	{0xD6, "Self-node instance list S"},
	{0xD7, "Self-node class list S"},
};

#define CLASS_NODE_PROFILE 0x0EF0

static const struct el_esv *esv_find(uint8_t esv)
{
	for (size_t i = 0; i < N_ELEMS(esvs); i++)
		if (esvs[i].esv == esv)
			return &esvs[i];
	return NULL;
}

static uint16_t eoj_class(const uint8_t eoj[3])
{
	return (uint16_t)(eoj[0] << 8 | eoj[1]);
}

static const char *class_name(const uint8_t eoj[3])
{
	uint16_t c = eoj_class(eoj);
	for (size_t i = 0; i < N_ELEMS(classes); i++)
		if (classes[i].code == c)
			return classes[i].name;
	return NULL;
}

static const char *epc_lookup(const struct el_epc *t, size_t n, uint8_t epc)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].epc == epc)
			return t[i].name;
	return NULL;
}

static const char *epc_name(const uint8_t eoj[3], uint8_t epc)
{
	const char *n = epc_lookup(epcs_super, N_ELEMS(epcs_super), epc);
	if (!n && eoj_class(eoj) == CLASS_NODE_PROFILE)
		n = epc_lookup(epcs_node_profile, N_ELEMS(epcs_node_profile), epc);
	return n;
}

/* ---- Frames -------------------------------------------------------------- */

struct el_frame {
	const uint8_t *data;
	size_t len;                 /* bytes of this frame */
	uint16_t tid;
	uint8_t seoj[3], deoj[3];
	uint8_t esv;
	const struct el_esv *info;  /* NULL: an ESV we do not know */
	uint8_t n_lists;
	uint8_t opc[2];
	size_t list_off[2];         /* offset of each list's first property */
};

enum el_verdict {
	EL_OK,
	EL_SHORT,                   /* the frame goes on past the bytes given */
	EL_BAD_HEADER,              /* EHD1/EHD2 wrong: not a frame start */
	EL_FORMAT2,                 /* free-form: no structure to read */
};

static int skip_props(struct x1367_reader *rd, uint8_t opc)
{
	for (unsigned i = 0; i < opc && x1367_rd_ok(rd); i++) {
		x1367_rd_u8(rd);
		x1367_rd_skip(rd, x1367_rd_u8(rd));
	}
	return x1367_rd_ok(rd);
}

static enum el_verdict el_header(struct x1367_reader *rd)
{
	uint8_t ehd1 = x1367_rd_u8(rd);
	if (x1367_rd_ok(rd) && ehd1 != EHD1)
		return EL_BAD_HEADER;
	uint8_t ehd2 = x1367_rd_u8(rd);
	if (!x1367_rd_ok(rd))
		return EL_SHORT;
	if (ehd2 == EHD2_FORMAT2)
		return EL_FORMAT2;
	return ehd2 == EHD2_FORMAT1 ? EL_OK : EL_BAD_HEADER;
}

static enum el_verdict el_parse(const uint8_t *data, size_t len, struct el_frame *f)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	enum el_verdict v = el_header(&rd);
	if (v != EL_OK)
		return v;

	memset(f, 0, sizeof(*f));
	f->data = data;
	f->tid = x1367_rd_be16(&rd);
	const uint8_t *seoj = x1367_rd_bytes(&rd, 3);
	const uint8_t *deoj = x1367_rd_bytes(&rd, 3);
	f->esv = x1367_rd_u8(&rd);
	if (!seoj || !deoj || !x1367_rd_ok(&rd))
		return EL_SHORT;
	memcpy(f->seoj, seoj, 3);
	memcpy(f->deoj, deoj, 3);
	f->info = esv_find(f->esv);
	/* An unknown ESV is read as one list: the common layout. */
	f->n_lists = f->info && f->info->two_lists ? 2 : 1;
	for (unsigned l = 0; l < f->n_lists; l++) {
		f->opc[l] = x1367_rd_u8(&rd);
		f->list_off[l] = rd.pos;
		if (!skip_props(&rd, f->opc[l]))
			return EL_SHORT;
	}
	f->len = rd.pos;
	return EL_OK;
}

/* ---- Description fields -------------------------------------------------- */


static void desc_eoj(struct x1367_desc *d, const char *key, const uint8_t eoj[3])
{
	const char *name = class_name(eoj);
	if (name)
		x1367_desc_add(d, key, "%02X%02X%02X %s", eoj[0], eoj[1], eoj[2], name);
	else
		x1367_desc_add(d, key, "%02X%02X%02X", eoj[0], eoj[1], eoj[2]);
}

static void desc_esv(struct x1367_desc *d, const char *key, uint8_t esv)
{
	const struct el_esv *e = esv_find(esv);
	x1367_desc_add(d, key, "%s (0x%02X)", e ? e->name : "Unknown ESV", esv);
}

#define PROPS_TEXT_MAX 600     /* longer lists end in "..." */
/* A request's list is stored with its transaction, in little room. */
#define REQ_PROPS_TEXT_MAX 120

/* Appends to a bounded text: ", " between items, "..." once full. */
struct text {
	char buf[PROPS_TEXT_MAX];
	size_t cap;                 /* <= sizeof(buf); 0 means sizeof(buf) */
	size_t len;
	int full;
};

static void text_item(struct text *t, const char *name, uint8_t epc)
{
	char item[96];
	if (name)
		snprintf(item, sizeof(item), "%s0x%02X %s", t->len ? ", " : "", epc, name);
	else
		snprintf(item, sizeof(item), "%s0x%02X", t->len ? ", " : "", epc);
	size_t n = strlen(item);
	size_t cap = t->cap && t->cap <= sizeof(t->buf) ? t->cap : sizeof(t->buf);
	if (t->full)
		return;
	if (t->len + n + 4 >= cap) {
		memcpy(t->buf + t->len, "...", 4);
		t->len += 3;
		t->full = 1;
		return;
	}
	memcpy(t->buf + t->len, item, n + 1);
	t->len += n;
}

/* Which properties of a list to name: all, or only the refused ones. */
enum prop_pick { PICK_ALL, PICK_PDC_ZERO, PICK_PDC_NONZERO };

static void list_props(const struct el_frame *f, unsigned list, enum prop_pick pick,
		       const uint8_t eoj[3], int with_names, struct text *t)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, f->data, f->len);
	x1367_rd_skip(&rd, f->list_off[list]);
	for (unsigned i = 0; i < f->opc[list]; i++) {
		uint8_t epc = x1367_rd_u8(&rd);
		uint8_t pdc = x1367_rd_u8(&rd);
		if (!x1367_rd_skip(&rd, pdc))
			return;
		if ((pick == PICK_PDC_ZERO && pdc != 0) || (pick == PICK_PDC_NONZERO && pdc == 0))
			continue;
		text_item(t, with_names ? epc_name(eoj, epc) : NULL, epc);
	}
}

/* In an SNA a refused read comes back empty (PDC 0) and a refused write
 * comes back echoed (PDC != 0): the accepted ones are the other way round. */
static void refused_props(const struct el_frame *f, struct text *t)
{
	int is_set = f->esv == 0x50 || f->esv == 0x51;
	if (f->info && f->info->two_lists) {
		list_props(f, 0, PICK_PDC_NONZERO, f->seoj, 1, t);
		list_props(f, 1, PICK_PDC_ZERO, f->seoj, 1, t);
	} else {
		list_props(f, 0, is_set ? PICK_PDC_NONZERO : PICK_PDC_ZERO, f->seoj, 1, t);
	}
}

/* A request's fields are stored with its transaction and the engine puts
 * them in the record of its answer or its timeout; an answer's fields sit
 * beside them, so the two sets of names must differ. */
static void desc_request(struct x1367_desc *d, const struct el_frame *f, const char *props)
{
	x1367_desc_add(d, "TID", "%u", f->tid);
	desc_esv(d, "Request ESV", f->esv);
	desc_eoj(d, "Request SEOJ", f->seoj);
	desc_eoj(d, "Request DEOJ", f->deoj);
	x1367_desc_add(d, "Requested Properties", "%s", props);
}

static void desc_answer(struct x1367_desc *d, const struct el_frame *f, int with_tid)
{
	if (with_tid)
		x1367_desc_add(d, "TID", "%u", f->tid);
	desc_esv(d, "ESV", f->esv);
	desc_eoj(d, "SEOJ", f->seoj);
	desc_eoj(d, "DEOJ", f->deoj);
}

/* ---- Requests and answers ------------------------------------------------ */

static void eoj_uid(const struct x1367_addr *a, const uint8_t eoj[3], char *buf, size_t len)
{
	char ip[48];
	api->format_addr(a, ip, sizeof(ip));
	snprintf(buf, len, "%s#%02X%02X%02X", ip, eoj[0], eoj[1], eoj[2]);
}

static struct x1367_txn_key el_key(uint16_t tid, const uint8_t eoj[3])
{
	struct x1367_txn_key k = {.scope = X1367_TXN_HOSTS, .len = 4};
	k.id[0] = (uint8_t)(tid >> 8);
	k.id[1] = (uint8_t)tid;
	k.id[2] = eoj[0];
	k.id[3] = eoj[1];
	return k;
}

/* Nothing is formatted per request: the engine asks el_describe when a
 * record needs the request's fields. */
static void on_request(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct el_frame *f)
{
	(void)pkt;
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = el_key(f->tid, f->deoj),
		.bytes = f->data,
		.len = f->len,
		.flags = f->info->txn_flags,
	};
	api->txn_open(ctx, &req);
}

/* A stored request, parsed again.  Stored bytes may be cut at the
 * engine's cap: then only the header is described. */
static size_t el_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			  struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct text props = {.cap = REQ_PROPS_TEXT_MAX};
	struct el_frame f;

	uid[0] = '\0';
	if (el_parse(req->bytes, req->len, &f) != EL_OK) {
		struct x1367_reader rd;
		x1367_rd_init(&rd, req->bytes, req->len);
		x1367_rd_skip(&rd, 2 + 2 + 3);
		const uint8_t *deoj = x1367_rd_bytes(&rd, 3);
		if (deoj)
			eoj_uid(req->responder, deoj, uid, uid_len);
		return 0;
	}
	list_props(&f, 0, PICK_ALL, f.deoj, 0, &props);
	if (f.n_lists == 2 && f.opc[1]) {
		/* SetGet: the reads follow the writes. */
		list_props(&f, 1, PICK_ALL, f.deoj, 0, &props);
	}
	desc_request(&d, &f, props.buf);
	/* For a multicast request the group is who should answer. */
	eoj_uid(req->responder, f.deoj, uid, uid_len);
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

enum el_fit { FIT_OK, FIT_UNREADABLE, FIT_INSTANCE, FIT_ESV };

/* Does a stored request fit this answer?  The engine matched addresses,
 * TID and class; the instance (0 = any) and the kind of request are
 * checked here against the stored request bytes. */
static enum el_fit request_fit(const x1367_txn *txn, const struct el_frame *f)
{
	size_t got = 0, wire = 0;
	const uint8_t *req = api->txn_request(txn, &got, &wire);
	struct x1367_reader rd;
	x1367_rd_init(&rd, req, got);
	x1367_rd_skip(&rd, REQ_DEOJ_INSTANCE_OFF);
	uint8_t instance = x1367_rd_u8(&rd);
	uint8_t esv = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd))
		return FIT_UNREADABLE;
	if (instance != EOJ_ALL_INSTANCES && instance != f->seoj[2])
		return FIT_INSTANCE;
	return esv == f->info->request ? FIT_OK : FIT_ESV;
}

static int answers(const x1367_txn *txn, const void *arg)
{
	return request_fit(txn, arg) == FIT_OK;
}

/* The request this answer belongs to, or NULL.  One TID may be open more
 * than once towards a node (a controller that reuses it before the
 * answer: a Get and a SetC, or two instances of one class).  UDP keeps no
 * order and a node may answer a quick Get before a slow SetC, so the
 * oldest request the answer fits is taken (its SEOJ instance and ESV say
 * which), not the oldest with the TID; a multicast request's turn comes
 * after the unicast ones.  An answer that fits none is counted by why the
 * oldest refused it. */
static x1367_txn *find_request(x1367_ctx *ctx, const struct el_frame *f)
{
	struct x1367_txn_key key = el_key(f->tid, f->seoj);
	unsigned tried = 0;
	x1367_txn *txn = x1367_txn_find_fit(api, ctx, &key, answers, f, &tried);
	if (txn || !tried)
		return txn;
	enum el_fit why = request_fit(api->txn_find(ctx, &key), f);
	if (why == FIT_INSTANCE)
		api->event(ctx, EV_INSTANCE_MISMATCH);
	else if (why == FIT_ESV)
		api->event(ctx, EV_ESV_MISMATCH);
	return NULL;
}

static void report_sna(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct el_frame *f,
		       x1367_txn *txn)
{
	struct x1367_desc d = {.n = 0};
	struct text refused = {.len = 0};
	char vendor[4], uid[64];

	desc_answer(&d, f, txn == NULL);
	refused_props(f, &refused);
	if (refused.len)
		x1367_desc_add(&d, "Refused Properties", "%s", refused.buf);
	snprintf(vendor, sizeof(vendor), "%02X", f->esv);
	eoj_uid(pkt->src, f->seoj, uid, sizeof(uid));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = vendor,
		.txn = txn,
		.response = f->data,
		.response_len = f->len,
		.requester_uid = NULL,
		.responder_uid = uid,
		.desc = d.kv,
		.n_desc = d.n,
	};
	api->report(ctx, &rep);
}

static void on_answer(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct el_frame *f)
{
	x1367_txn *txn = find_request(ctx, f);

	/* An INF with no INF_REQ before it is an ordinary notification. */
	if (!txn && f->info->role != EL_NOTIFY)
		api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
	if (f->info->role == EL_SNA)
		report_sna(ctx, pkt, f, txn);
	if (txn)
		api->txn_answered(ctx, txn);
}

static void on_frame(x1367_ctx *ctx, const struct x1367_packet *pkt, const struct el_frame *f)
{
	if (!f->info) {
		api->event(ctx, EV_UNKNOWN_ESV);
		return;
	}
	if (f->info->role == EL_REQUEST)
		on_request(ctx, pkt, f);
	else
		on_answer(ctx, pkt, f);
	if (f->info->heartbeat) {
		char uid[64];
		eoj_uid(pkt->src, f->seoj, uid, sizeof(uid));
		api->heartbeat(ctx, uid);
	}
}

static void malformed(x1367_ctx *ctx, const char *why)
{
	api->event(ctx, why);
	api->event(ctx, X1367_EV_MALFORMED);
}

/* ---- Transports ---------------------------------------------------------- */

/* UDP: the datagram is the frame, exactly. */
static enum x1367_parse_result parse_datagram(x1367_ctx *ctx, const struct x1367_packet *pkt,
					      const uint8_t *data, size_t len, size_t *consumed)
{
	struct el_frame f;

	*consumed = len;
	switch (el_parse(data, len, &f)) {
	case EL_FORMAT2:
		return X1367_PARSE_OK;
	case EL_BAD_HEADER:
		malformed(ctx, EV_UNKNOWN_EHD);
		return X1367_PARSE_ERROR;
	case EL_SHORT:
		/* OPC or a PDC promises more than the datagram holds. */
		malformed(ctx, EV_MALFORMED_FRAME);
		return X1367_PARSE_ERROR;
	case EL_OK:
		break;
	}
	if (f.len != len) {
		malformed(ctx, EV_MALFORMED_FRAME);   /* trailing bytes */
		return X1367_PARSE_ERROR;
	}
	on_frame(ctx, pkt, &f);
	return X1367_PARSE_OK;
}

/* Bytes to skip from a bad header to the next 0x10 0x81/0x82: at least 1,
 * everything when none follows (a lone 0x10 at the end is more likely
 * garbage than the start of a frame). */
static size_t resync_skip(const uint8_t *data, size_t len)
{
	size_t p = 1;
	for (; p + 1 < len; p++) {
		if (data[p] == EHD1 && (data[p + 1] == EHD2_FORMAT1 || data[p + 1] == EHD2_FORMAT2))
			return p;
	}
	return len;
}

static enum x1367_parse_result stream_error(x1367_ctx *ctx, struct el_state *st,
					    const uint8_t *data, size_t len, size_t off,
					    size_t *consumed, enum x1367_dir dir)
{
	if (!st->resyncing[dir]) {
		malformed(ctx, EV_UNKNOWN_EHD);
		st->resyncing[dir] = 1;
	}
	*consumed = off + resync_skip(data + off, len - off);
	return X1367_PARSE_ERROR;
}

/* TCP: frames back to back; a frame's length is known only by walking
 * its property lists. */
static enum x1367_parse_result parse_stream(x1367_ctx *ctx, struct el_state *st,
					    const struct x1367_packet *pkt, const uint8_t *data,
					    size_t len, size_t *consumed, enum x1367_dir dir)
{
	size_t off = 0;

	while (off < len) {
		struct el_frame f;
		enum el_verdict v = el_parse(data + off, len - off, &f);
		if (v == EL_SHORT)
			break;
		if (v == EL_BAD_HEADER)
			return stream_error(ctx, st, data, len, off, consumed, dir);
		st->resyncing[dir] = 0;
		if (v == EL_FORMAT2) {
			/* No length field: the rest of what we have is its body. */
			off = len;
			break;
		}
		on_frame(ctx, pkt, &f);
		off += f.len;
	}
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

static enum x1367_parse_result parse_dir(x1367_ctx *ctx, void *state,
					 const struct x1367_packet *pkt, const uint8_t *data,
					 size_t len, size_t *consumed, enum x1367_dir dir)
{
	struct el_state none = {.resyncing = {0, 0}};

	if (pkt->transport == X1367_UDP)
		return parse_datagram(ctx, pkt, data, len, consumed);
	/* The engine gives state to every flow; do not trust it blindly. */
	return parse_stream(ctx, state ? state : &none, pkt, data, len, consumed, dir);
}

/* Both directions carry requests and answers alike (any node may ask any
 * other), so the ESV decides, not the direction: one callback for both. */
static enum x1367_parse_result el_parse_bytes(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					 const uint8_t *data, size_t len, size_t *consumed)
{
	return parse_dir(ctx, state, pkt, data, len, consumed, (enum x1367_dir)pkt->dir);
}

static void el_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct el_state *st = state;
	(void)ctx;
	/* No state yet: no bytes seen yet, nothing to resynchronise. */
	if (st && (dir == X1367_TO_SERVER || dir == X1367_TO_CLIENT))
		st->resyncing[dir] = 1;
}

/* ECHONET Lite elsewhere than 3610: a format-1 frame with a known ESV
 * whose property lists end exactly where the data (or the next frame)
 * does.  Format 2 has nothing more to check than its header. */
static enum x1367_probe_result el_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	struct el_frame f;
	(void)dir;

	switch (el_parse(data, len, &f)) {
	case EL_BAD_HEADER:
		return X1367_PROBE_NO;
	case EL_SHORT:
		return X1367_PROBE_MAYBE;
	case EL_FORMAT2:
		return len >= 4 ? X1367_PROBE_YES : X1367_PROBE_MAYBE;
	case EL_OK:
		break;
	}
	if (!f.info)
		return X1367_PROBE_NO;
	if (f.len == len)
		return X1367_PROBE_YES;
	return data[f.len] == EHD1 ? X1367_PROBE_YES : X1367_PROBE_NO;
}

static int el_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t el_ports[] = {3610, 0};

static const char *const el_events[] = {
	EV_UNKNOWN_EHD,
	EV_MALFORMED_FRAME,
	EV_UNKNOWN_ESV,
	EV_INSTANCE_MISMATCH,
	EV_ESV_MISMATCH,
	NULL,
};

const struct x1367_dissector x1367_builtin_echonet_lite = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "echonet-lite",
	.protocol = "ECHONET Lite",
	.transports = X1367_UDP | X1367_TCP,
	.ports = el_ports,
	.ndpi_name = NULL,
	.request_timeout_ms = 5000,
	.state_size = sizeof(struct el_state),
	.init = el_init,
	.probe = el_probe,
	.parse = {
		[X1367_TO_SERVER] = el_parse_bytes,
		[X1367_TO_CLIENT] = el_parse_bytes,
	},
	.gap = el_gap,
	.event_names = el_events,
	.describe_request = el_describe,
};
