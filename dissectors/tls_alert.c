/*
 * TLS alerts (a plugin): the errors two TLS peers tell each other, on any
 * TCP port (443, 8443 and 4433 by port; elsewhere nDPI's "TLS" verdict or
 * the probe: a handshake record with a ClientHello or ServerHello at the
 * start of a direction).  X.1367 Appendix I.2 is the model case: a forged
 * certificate is presented to a device, the device refuses it with a
 * fatal alert.
 *
 * Records:  content type (1) · version (2) · length (2) · fragment
 *   20 ChangeCipherSpec, 21 Alert, 22 Handshake, 23 ApplicationData,
 *   24 Heartbeat; version 0x0300 (SSL 3.0) .. 0x0304; length 1 .. 2^14+2048.
 * Alert:    level (1: 1 warning, 2 fatal) · description (1)
 *
 * Who is who.  An alert is one side's answer to what the other side sent
 * last: the side that sends the alert is the Responder (it reports an
 * error about what it was shown); the Requester is the other side, and its
 * "request" is the handshake record that provoked the alert.  So every
 * handshake record opens a transaction (X1367_TXN_NO_TIMEOUT: a TLS peer
 * owes no answer to each record, silence is never "No Response"), keyed
 * by direction and a per-direction record number; whatever the other side
 * sends next (but a ChangeCipherSpec, which says nothing about it) answers
 * the whole flight.  An alert about a certificate (and handshake_failure
 * after a flight with a Certificate: OpenSSL's answer to a client
 * certificate it demanded and did not get) pairs with the flight's record
 * that carried the Certificate message, any other alert with the flight's
 * last record.  The engine stores that record, cut at its Transmitted Code
 * cap, and asks describe_request for its Description (record type,
 * version, the handshake messages in it).
 * Unique IDs: the server side (the one that accepted the connection) is
 * "IP:port" ("[2001:DB8:0:0:0:0:0:B]:443"): the port names the TLS
 * service, a device may run several; the client side is its IP address
 * (its port is ephemeral).
 *
 * What can be read.  A cleartext alert is exactly two bytes in a record
 * of its own; its description byte, as two hex digits, is the vendor code
 * (rules/tls.map).  TLS <= 1.2: alerts before the sender's
 * ChangeCipherSpec are in the clear, and every failure a peer detects in
 * the other's handshake messages is announced before its own
 * ChangeCipherSpec.  An alert after it, or any alert record that is not
 * two bytes long (a MAC or AEAD tag makes ciphertext longer; the capture
 * may have missed the ChangeCipherSpec), is encrypted: only its length is
 * visible, it is nearly always the close_notify of a finished connection,
 * and nothing is reported (event "encrypted_alert"): the description is
 * never guessed, no error is invented.  close_notify and user_canceled
 * (any level), and no_renegotiation and unrecognized_name at warning level
 * before TLS 1.3, are how peers end a connection or decline an option:
 * counted ("benign_alert"), not reported.  Other warnings are reported
 * (their level is in the Description).
 *
 * TLS 1.3 (ServerHello's supported_versions says 0x0304).  After the
 * ServerHello both sides encrypt, and every encrypted record travels as
 * ApplicationData (23), alerts included.  A TLS 1.3 alert in the clear
 * (type 21: the sender has no keys yet, e.g. a ServerHello refused, or
 * OpenSSL 3.0's client refusing the server's certificate before it has
 * switched its own keys) is read like any other.  Otherwise a failed
 * handshake shows only as its shape, reported once per connection as the
 * pseudo-code FF00 ("handshake ended before completion", 2F Other Security
 * Reasons by the default table):
 *   - the client answers the server's encrypted flight with an encrypted
 *     record no longer than an alert (19 bytes: 2 + inner content type +
 *     16-byte AEAD tag) instead of its Finished (>= 53 bytes) or
 *     Certificate (>= 25): the client refused the server's flight;
 *   - after the client's flight, the server's first encrypted record is
 *     alert-sized instead of a NewSessionTicket or application data: the
 *     server refused the client's flight (its certificate);
 *   - the connection ends (.flow_end) after the server's encrypted flight
 *     without any encrypted record from the client: it gave up without a
 *     word (a certificate grabber; a client that drops instead of alerting).
 * "Completed" is therefore: the client sent a record larger than an alert
 * after the server's flight, and the server then sent one too; records
 * after that are not looked at (close_notify is alert-sized too).  Not
 * inferred after lost bytes or a bad header on the connection, nor when
 * the ClientHello offered early data (0-RTT records may be small), nor
 * after a readable alert (it already says why).  A padded alert is longer
 * and goes unseen: a miss, never an invented error.  A server sending 1 or
 * 2 bytes of application data right after the client's Finished, with no
 * ticket first, would look like a refusal: no implementation we know does.
 *
 * The stream: records may be split over segments and several may share
 * one; records that are read (handshake, alert, ChangeCipherSpec, the
 * TLS 1.3 handshake flight) wait until complete (at most 18 KB), the others
 * are skipped as they come.  After lost bytes or a malformed header a
 * direction looks for two chained plausible headers, with a record version
 * it used before or the one the ServerHello settled, before it trusts the
 * stream again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <x1367ids/dissector.h>

#define REC_HDR_LEN 5
#define REC_LEN_MAX (16384 + 2048)      /* TLSCiphertext: 2^14 + 2048 */
#define HS_HDR_LEN 4

#define CT_CCS 20
#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPDATA 23
#define CT_HEARTBEAT 24

#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2
#define HS_CERTIFICATE 11

#define EXT_SERVER_NAME 0x0000
#define EXT_EARLY_DATA 0x002A
#define EXT_SUPPORTED_VERSIONS 0x002B

#define TLS13 0x0304
/* The longest TLS 1.3 record body that can be an unpadded alert: the alert
 * (2), the inner content type (1) and a 16-byte AEAD tag. */
#define TLS13_ALERT_CT_MAX 19

/* Handshake records of one flight kept open for pairing; later ones are
 * not opened (a flight is a handful of records). */
#define FLIGHT_MAX 8

#define SNI_MAX 128
#define UID_MAX 64

#define VENDOR_HANDSHAKE_INCOMPLETE "FF00"

#define EV_INVALID_RECORD "invalid_record"
#define EV_INVALID_ALERT "invalid_alert"
#define EV_ENCRYPTED_ALERT "encrypted_alert"
#define EV_BENIGN_ALERT "benign_alert"
#define EV_HANDSHAKE_INCOMPLETE "tls13_handshake_incomplete"

static const struct x1367_engine_api *api;

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Per-flow state -------------------------------------------------------- */

struct tls_dir {
	uint8_t resyncing;      /* after lost bytes or a bad header */
	uint8_t ccs;            /* sent ChangeCipherSpec (<= 1.2): now encrypting */
	uint8_t walk_lost;      /* handshake message boundaries unknown */
	uint8_t has_cert;       /* the open flight has a Certificate record */
	uint16_t version;       /* record version last seen (resynchronising) */
	uint16_t seq;           /* next record number (transaction key) */
	uint16_t flight_lo;     /* open flight: records flight_lo .. +flight_n-1 */
	uint16_t flight_n;
	uint16_t cert_seq;      /* its record with a Certificate message */
	uint32_t hs_left;       /* bytes of a handshake message in later records */
	uint32_t skip;          /* bytes of a record body still to skip */
};

struct tls_state {
	struct tls_dir d[2];             /* index enum x1367_dir */
	uint16_t version;                /* negotiated (ServerHello), 0 = not yet */
	uint8_t tls13;
	uint8_t early_data;              /* the ClientHello offered 0-RTT */
	uint8_t server_flight;           /* 1.3: the server sent encrypted records */
	uint8_t client_done;             /* 1.3: the client answered with more than an alert */
	uint8_t server_done;             /* 1.3: ... and the server went on */
	uint8_t client_spoke;            /* 1.3: the client sent anything after ServerHello */
	uint8_t lost;                    /* bytes were lost: no 1.3 inference */
	uint8_t incomplete_reported;
	uint8_t have_peers;
	struct x1367_addr client, server;
	uint16_t server_port;
	char sni[SNI_MAX];
};

/* ---- Tables ---------------------------------------------------------------- */

static const char *const alert_names[256] = {
	[0] = "close_notify",
	[10] = "unexpected_message",
	[20] = "bad_record_mac",
	[21] = "decryption_failed",
	[22] = "record_overflow",
	[30] = "decompression_failure",
	[40] = "handshake_failure",
	[41] = "no_certificate",
	[42] = "bad_certificate",
	[43] = "unsupported_certificate",
	[44] = "certificate_revoked",
	[45] = "certificate_expired",
	[46] = "certificate_unknown",
	[47] = "illegal_parameter",
	[48] = "unknown_ca",
	[49] = "access_denied",
	[50] = "decode_error",
	[51] = "decrypt_error",
	[60] = "export_restriction",
	[70] = "protocol_version",
	[71] = "insufficient_security",
	[80] = "internal_error",
	[86] = "inappropriate_fallback",
	[90] = "user_canceled",
	[100] = "no_renegotiation",
	[109] = "missing_extension",
	[110] = "unsupported_extension",
	[111] = "certificate_unobtainable",
	[112] = "unrecognized_name",
	[113] = "bad_certificate_status_response",
	[114] = "bad_certificate_hash_value",
	[115] = "unknown_psk_identity",
	[116] = "certificate_required",
	[120] = "no_application_protocol",
	[121] = "ech_required",
};

/* Alerts about a certificate: they answer the record that carried it. */
static const uint8_t certificate_alerts[] = {41, 42, 43, 44, 45, 46, 48, 49, 111, 113, 114, 116};

#define ALERT_CLOSE_NOTIFY 0
#define ALERT_HANDSHAKE_FAILURE 40
#define ALERT_USER_CANCELED 90
#define ALERT_NO_RENEGOTIATION 100
#define ALERT_UNRECOGNIZED_NAME 112
#define LEVEL_WARNING 1
#define LEVEL_FATAL 2

static const char *const hs_names[] = {
	[0] = "HelloRequest",
	[1] = "ClientHello",
	[2] = "ServerHello",
	[4] = "NewSessionTicket",
	[5] = "EndOfEarlyData",
	[8] = "EncryptedExtensions",
	[11] = "Certificate",
	[12] = "ServerKeyExchange",
	[13] = "CertificateRequest",
	[14] = "ServerHelloDone",
	[15] = "CertificateVerify",
	[16] = "ClientKeyExchange",
	[20] = "Finished",
	[21] = "CertificateURL",
	[22] = "CertificateStatus",
	[24] = "KeyUpdate",
};

static const char *const record_names[] = {
	[CT_CCS] = "ChangeCipherSpec",
	[CT_ALERT] = "Alert",
	[CT_HANDSHAKE] = "Handshake",
	[CT_APPDATA] = "ApplicationData",
	[CT_HEARTBEAT] = "Heartbeat",
};

static const char *version_name(uint16_t v)
{
	switch (v) {
	case 0x0300: return "SSL 3.0";
	case 0x0301: return "TLS 1.0";
	case 0x0302: return "TLS 1.1";
	case 0x0303: return "TLS 1.2";
	case 0x0304: return "TLS 1.3";
	default: return "unknown";
	}
}

static int is_certificate_alert(uint8_t desc)
{
	for (size_t i = 0; i < N_ELEMS(certificate_alerts); i++)
		if (certificate_alerts[i] == desc)
			return 1;
	return 0;
}

/* Endings and declined options, not errors (see the header). */
static int is_benign_alert(uint8_t level, uint8_t desc, int tls13)
{
	if (desc == ALERT_CLOSE_NOTIFY || desc == ALERT_USER_CANCELED)
		return 1;
	/* TLS 1.3 ignores the level: every other alert ends the connection. */
	return !tls13 && level == LEVEL_WARNING &&
	       (desc == ALERT_NO_RENEGOTIATION || desc == ALERT_UNRECOGNIZED_NAME);
}

/* ---- Record headers -------------------------------------------------------- */

struct rec_hdr {
	uint8_t type;
	uint16_t version;
	uint16_t length;
};

enum hdr_verdict { HDR_OK, HDR_SHORT, HDR_BAD };

static int version_plausible(uint16_t v)
{
	return v >= 0x0300 && v <= 0x0304;
}

static enum hdr_verdict rec_read(const uint8_t *data, size_t len, struct rec_hdr *h)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	h->type = x1367_rd_u8(&rd);
	h->version = x1367_rd_be16(&rd);
	h->length = x1367_rd_be16(&rd);
	if (!x1367_rd_ok(&rd))
		return HDR_SHORT;
	if (h->type < CT_CCS || h->type > CT_HEARTBEAT || !version_plausible(h->version) ||
	    h->length == 0 || h->length > REC_LEN_MAX)
		return HDR_BAD;
	return HDR_OK;
}

/* ---- Peers and Unique IDs -------------------------------------------------- */

static void remember_peers(struct tls_state *st, const struct x1367_packet *pkt)
{
	if (st->have_peers)
		return;
	int to_server = pkt->dir == X1367_TO_SERVER;
	st->client = to_server ? *pkt->src : *pkt->dst;
	st->server = to_server ? *pkt->dst : *pkt->src;
	st->server_port = to_server ? pkt->dport : pkt->sport;
	st->have_peers = 1;
}

/* "192.0.2.11:443", "[2001:DB8:0:0:0:0:0:B]:443" for the server; the IP for the client. */
static void side_uid(const struct tls_state *st, enum x1367_dir side, char *buf, size_t len)
{
	char ip[48];
	if (side == X1367_TO_SERVER) {         /* the client: it sends to the server */
		api->format_addr(&st->client, buf, len);
		return;
	}
	api->format_addr(&st->server, ip, sizeof(ip));
	snprintf(buf, len, st->server.family == X1367_IPV6 ? "[%s]:%u" : "%s:%u", ip, st->server_port);
}

/* ---- Transactions: each side's flight of handshake records ---------------- */

static struct x1367_txn_key record_key(enum x1367_dir dir, uint16_t seq)
{
	struct x1367_txn_key k = {.scope = X1367_TXN_FLOW, .len = 3};
	k.id[0] = (uint8_t)dir;
	k.id[1] = (uint8_t)(seq >> 8);
	k.id[2] = (uint8_t)seq;
	return k;
}

/* A record of `dir`'s flight: open it so the other side's alert can name it. */
static void flight_add(x1367_ctx *ctx, struct tls_state *st, enum x1367_dir dir,
		       const uint8_t *rec, size_t len, int has_cert)
{
	struct tls_dir *d = &st->d[dir];
	if (d->flight_n >= FLIGHT_MAX)
		return;
	uint16_t seq = d->seq++;
	struct x1367_txn_request req = {
		.struct_size = sizeof(req),
		.key = record_key(dir, seq),
		.bytes = rec,
		.len = len,
		.flags = X1367_TXN_NO_TIMEOUT,
	};
	if (api->txn_open(ctx, &req) != 0)
		return;
	if (d->flight_n == 0) {
		d->flight_lo = seq;
		d->has_cert = 0;
	}
	d->flight_n++;
	if (has_cert) {
		d->cert_seq = seq;
		d->has_cert = 1;
	}
}

/* The record of the peer's flight an alert answers (the current packet
 * comes from the alert's sender), or NULL: the one with a Certificate if
 * asked for and there is one, else the last. */
static x1367_txn *flight_find(x1367_ctx *ctx, struct tls_state *st, enum x1367_dir peer, int want_cert)
{
	const struct tls_dir *d = &st->d[peer];
	if (d->flight_n == 0)
		return NULL;
	uint16_t seq = (uint16_t)(d->flight_lo + d->flight_n - 1);
	if (d->has_cert && want_cert)
		seq = d->cert_seq;
	struct x1367_txn_key key = record_key(peer, seq);
	return api->txn_find(ctx, &key);
}

/* The other side spoke: the peer's flight has its answer. */
static void flight_answered(x1367_ctx *ctx, struct tls_state *st, enum x1367_dir peer)
{
	struct tls_dir *d = &st->d[peer];
	for (uint16_t i = 0; i < d->flight_n; i++) {
		struct x1367_txn_key key = record_key(peer, (uint16_t)(d->flight_lo + i));
		x1367_txn *txn = api->txn_find(ctx, &key);
		if (txn)
			api->txn_answered(ctx, txn);
	}
	d->flight_n = 0;
	d->has_cert = 0;
}

/* ---- Hellos: SNI, early data, the negotiated version ---------------------- */

/* Skip a vector whose length is an n-byte prefix. */
static void skip_vec8(struct x1367_reader *rd)
{
	x1367_rd_skip(rd, x1367_rd_u8(rd));
}

static void skip_vec16(struct x1367_reader *rd)
{
	x1367_rd_skip(rd, x1367_rd_be16(rd));
}

/* The server_name extension: the first host_name, printable ASCII only. */
static void read_sni(struct tls_state *st, const uint8_t *p, size_t n)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, p, n);
	x1367_rd_skip(&rd, 2);                  /* list length */
	uint8_t type = x1367_rd_u8(&rd);
	uint16_t len = x1367_rd_be16(&rd);
	const uint8_t *name = x1367_rd_bytes(&rd, len);
	if (!name || type != 0 || len == 0)
		return;
	size_t k = 0;
	for (size_t i = 0; i < len && k + 1 < sizeof(st->sni); i++)
		st->sni[k++] = (name[i] > 0x20 && name[i] < 0x7F) ? (char)name[i] : '?';
	st->sni[k] = '\0';
}

/* Walk extensions; `on` sees each one's type and data. */
static void walk_extensions(struct x1367_reader *rd, struct tls_state *st,
			    void (*on)(struct tls_state *, uint16_t, const uint8_t *, size_t))
{
	uint16_t total = x1367_rd_be16(rd);
	const uint8_t *ext = x1367_rd_bytes(rd, total);
	struct x1367_reader er;
	if (!ext)
		return;
	x1367_rd_init(&er, ext, total);
	while (x1367_rd_left(&er) >= 4) {
		uint16_t type = x1367_rd_be16(&er);
		uint16_t len = x1367_rd_be16(&er);
		const uint8_t *data = x1367_rd_bytes(&er, len);
		if (!data)
			return;
		on(st, type, data, len);
	}
}

static void on_client_ext(struct tls_state *st, uint16_t type, const uint8_t *data, size_t len)
{
	if (type == EXT_SERVER_NAME)
		read_sni(st, data, len);
	else if (type == EXT_EARLY_DATA)
		st->early_data = 1;
}

static void on_server_ext(struct tls_state *st, uint16_t type, const uint8_t *data, size_t len)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	if (type != EXT_SUPPORTED_VERSIONS)
		return;
	uint16_t v = x1367_rd_be16(&rd);
	if (x1367_rd_ok(&rd) && version_plausible(v))
		st->version = v;
}

/* `body` is the message after its 4-byte header, maybe cut short. */
static void client_hello(struct tls_state *st, const uint8_t *body, size_t len)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, body, len);
	x1367_rd_skip(&rd, 2 + 32);             /* client_version, random */
	skip_vec8(&rd);                         /* session id */
	skip_vec16(&rd);                        /* cipher suites */
	skip_vec8(&rd);                         /* compression methods */
	walk_extensions(&rd, st, on_client_ext);
}

static void server_hello(struct tls_state *st, const uint8_t *body, size_t len)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, body, len);
	uint16_t legacy = x1367_rd_be16(&rd);
	const uint8_t *random = x1367_rd_bytes(&rd, 32);
	if (!random || !version_plausible(legacy))
		return;
	st->version = legacy;
	skip_vec8(&rd);                         /* session id */
	x1367_rd_skip(&rd, 2 + 1);              /* cipher suite, compression */
	walk_extensions(&rd, st, on_server_ext);
	/* A HelloRetryRequest says 1.3 too: then a second ClientHello and the
	 * real ServerHello follow in the clear, nothing changes here. */
	if (st->version == TLS13)
		st->tls13 = 1;
}

/* The handshake messages in one plaintext record: note the hellos and
 * whether a Certificate travels in it.  Messages may span records. */
static int walk_handshake(struct tls_state *st, enum x1367_dir dir, const uint8_t *body, size_t len)
{
	struct tls_dir *d = &st->d[dir];
	int has_cert = 0;
	size_t pos = 0;

	if (d->walk_lost)
		return 0;
	if (d->hs_left) {
		size_t take = d->hs_left < len ? d->hs_left : len;
		d->hs_left -= (uint32_t)take;
		pos = take;
	}
	while (pos < len) {
		struct x1367_reader rd;
		x1367_rd_init(&rd, body + pos, len - pos);
		uint8_t type = x1367_rd_u8(&rd);
		uint32_t mlen = (uint32_t)x1367_rd_u8(&rd) << 16;
		mlen |= x1367_rd_be16(&rd);
		if (!x1367_rd_ok(&rd)) {
			/* A message header split over records: rare enough to
			 * stop reading messages in this direction. */
			d->walk_lost = 1;
			break;
		}
		size_t avail = len - pos - HS_HDR_LEN;
		size_t here = mlen < avail ? mlen : avail;
		const uint8_t *m = body + pos + HS_HDR_LEN;
		if (type == HS_CLIENT_HELLO && dir == X1367_TO_SERVER)
			client_hello(st, m, here);
		else if (type == HS_SERVER_HELLO && dir == X1367_TO_CLIENT)
			server_hello(st, m, here);
		else if (type == HS_CERTIFICATE)
			has_cert = 1;
		if (mlen > avail) {
			d->hs_left = (uint32_t)(mlen - avail);
			break;
		}
		pos += HS_HDR_LEN + mlen;
	}
	return has_cert;
}

/* ---- Reports ------------------------------------------------------------------ */

struct report_args {
	enum x1367_dir sender;               /* the responder's direction */
	x1367_txn *txn;
	const char *vendor;
	const uint8_t *response;
	size_t response_len;
	const struct x1367_desc *desc;
};

static void report(x1367_ctx *ctx, const struct tls_state *st, const struct report_args *a)
{
	char rq[UID_MAX], rs[UID_MAX];
	enum x1367_dir requester = a->sender == X1367_TO_SERVER ? X1367_TO_CLIENT : X1367_TO_SERVER;
	side_uid(st, a->sender, rs, sizeof(rs));
	side_uid(st, requester, rq, sizeof(rq));
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = a->vendor,
		.txn = a->txn,
		.response = a->response,
		.response_len = a->response_len,
		.requester_uid = rq,
		.responder_uid = rs,
		.desc = a->desc->kv,
		.n_desc = a->desc->n,
	};
	api->report(ctx, &rep);
}

/* Fields every record of a connection carries. */
static void desc_connection(struct x1367_desc *d, const struct tls_state *st, uint16_t rec_version,
			    enum x1367_dir sender)
{
	uint16_t v = st->version ? st->version : rec_version;
	x1367_desc_add(d, "TLS Version", "%s%s", version_name(v),
		       st->version ? "" : " (record version; no ServerHello seen)");
	x1367_desc_add(d, "Alert Sender", "%s", sender == X1367_TO_SERVER ? "client" : "server");
	if (st->sni[0])
		x1367_desc_add(d, "Server Name", "%s", st->sni);
}

/* TLS 1.3, "handshake ended before completion": once per connection. */
static void report_incomplete(x1367_ctx *ctx, struct tls_state *st, enum x1367_dir sender,
			      const uint8_t *rec, size_t len, const char *evidence)
{
	enum x1367_dir peer = sender == X1367_TO_SERVER ? X1367_TO_CLIENT : X1367_TO_SERVER;
	struct x1367_desc d = {.n = 0};

	if (st->incomplete_reported || st->lost || st->early_data)
		return;
	st->incomplete_reported = 1;
	api->event(ctx, EV_HANDSHAKE_INCOMPLETE);
	desc_connection(&d, st, TLS13, sender);
	if (rec)
		x1367_desc_add(&d, "Alert", "encrypted (%zu-byte record)", len - REC_HDR_LEN);
	x1367_desc_add(&d, "Handshake", "ended before completion");
	x1367_desc_add(&d, "Evidence", "%s", evidence);
	struct report_args a = {
		.sender = sender,
		.txn = flight_find(ctx, st, peer, 0),
		.vendor = VENDOR_HANDSHAKE_INCOMPLETE,
		.response = rec,
		.response_len = rec ? len : 0,
		.desc = &d,
	};
	report(ctx, st, &a);
}

/* ---- Records ------------------------------------------------------------------ */

/* A readable alert is two bytes in its own record: level, description.
 * Anything longer is ciphertext (a MAC or an AEAD tag at the least), also
 * when the capture missed the ChangeCipherSpec before it. */
static void on_alert(x1367_ctx *ctx, struct tls_state *st, enum x1367_dir dir, const uint8_t *rec,
		     size_t len, const struct rec_hdr *h)
{
	enum x1367_dir peer = dir == X1367_TO_SERVER ? X1367_TO_CLIENT : X1367_TO_SERVER;
	struct x1367_reader rd;

	if ((st->d[dir].ccs && !st->tls13) || h->length != 2) {
		api->event(ctx, EV_ENCRYPTED_ALERT);
		return;
	}
	x1367_rd_init(&rd, rec, len);
	x1367_rd_skip(&rd, REC_HDR_LEN);
	uint8_t level = x1367_rd_u8(&rd);
	uint8_t desc = x1367_rd_u8(&rd);
	if (!x1367_rd_ok(&rd) || (level != LEVEL_WARNING && level != LEVEL_FATAL)) {
		api->event(ctx, EV_INVALID_ALERT);
		api->event(ctx, X1367_EV_MALFORMED);
		return;
	}
	if (is_benign_alert(level, desc, st->tls13)) {
		api->event(ctx, EV_BENIGN_ALERT);
		return;
	}
	struct x1367_desc d = {.n = 0};
	char vendor[4];
	snprintf(vendor, sizeof(vendor), "%02X", desc);
	desc_connection(&d, st, h->version, dir);
	x1367_desc_add(&d, "Alert", "%s (%u)", alert_names[desc] ? alert_names[desc] : "unassigned", desc);
	x1367_desc_add(&d, "Alert Level", "%s", level == LEVEL_FATAL ? "fatal" : "warning");
	struct report_args a = {
		.sender = dir,
		.txn = flight_find(ctx, st, peer, is_certificate_alert(desc) || desc == ALERT_HANDSHAKE_FAILURE),
		.vendor = vendor,
		.response = rec,
		.response_len = len,
		.desc = &d,
	};
	report(ctx, st, &a);
	/* A readable alert says why: no 1.3 inference on top of it. */
	st->incomplete_reported = 1;
}

/* TLS 1.3 after the ServerHello: every encrypted record is ApplicationData;
 * its size and who sends it tell the handshake's progress (see header). */
static void on_tls13_record(x1367_ctx *ctx, struct tls_state *st, enum x1367_dir dir, const uint8_t *rec,
			    size_t len, uint16_t body_len)
{
	int alert_sized = body_len <= TLS13_ALERT_CT_MAX;

	if (dir == X1367_TO_CLIENT) {
		if (!st->client_done) {
			st->server_flight = 1;
			flight_add(ctx, st, dir, rec, len, 0);
		} else if (!st->server_done) {
			if (!alert_sized)
				st->server_done = 1;
			else
				report_incomplete(ctx, st, dir, rec, len,
						  "the server answered the client's handshake flight with an "
						  "alert-sized encrypted record instead of a session ticket or data");
		}
		return;
	}
	st->client_spoke = 1;
	if (!st->client_done) {
		if (!alert_sized) {
			st->client_done = 1;
			flight_add(ctx, st, dir, rec, len, 0);
		} else if (st->server_flight) {
			report_incomplete(ctx, st, dir, rec, len,
					  "the client answered the server's encrypted handshake flight with an "
					  "alert-sized encrypted record instead of its Finished");
		}
	} else if (!st->server_done) {
		flight_add(ctx, st, dir, rec, len, 0);
	}
}

/* Does this record need its whole body before it is handled? */
static int record_wanted(const struct tls_state *st, const struct rec_hdr *h)
{
	if (h->type == CT_APPDATA)
		return st->tls13 && !st->server_done;
	return h->type != CT_HEARTBEAT;
}

static void on_record(x1367_ctx *ctx, struct tls_state *st, enum x1367_dir dir, const uint8_t *rec,
		      size_t len, const struct rec_hdr *h)
{
	enum x1367_dir peer = dir == X1367_TO_SERVER ? X1367_TO_CLIENT : X1367_TO_SERVER;
	struct tls_dir *d = &st->d[dir];
	const uint8_t *body = rec + REC_HDR_LEN;

	switch (h->type) {
	case CT_HANDSHAKE: {
		/* TLS <= 1.2 after ChangeCipherSpec: the encrypted Finished
		 * (or a renegotiation): opened, not read. */
		int has_cert = 0;
		if (!d->ccs || st->tls13)
			has_cert = walk_handshake(st, dir, body, h->length);
		flight_answered(ctx, st, peer);
		flight_add(ctx, st, dir, rec, len, has_cert);
		break;
	}
	case CT_ALERT:
		on_alert(ctx, st, dir, rec, len, h);
		flight_answered(ctx, st, peer);
		break;
	case CT_CCS:
		/* It answers nothing.  TLS 1.3's is a dummy for middleboxes:
		 * whoever reads `ccs` asks about 1.3 first. */
		d->ccs = 1;
		break;
	case CT_APPDATA:
		if (st->tls13 && !st->server_done)
			on_tls13_record(ctx, st, dir, rec, len, h->length);
		flight_answered(ctx, st, peer);
		break;
	default:
		break;
	}
}

/* ---- The stream --------------------------------------------------------------- */

/* A header at data[0] with a record version this direction used before,
 * or the one the ServerHello settled (a ClientHello's record often says
 * 1.0, the records after it 1.2; TLS 1.3 records say 1.2). */
static int header_plausible(const struct tls_state *st, const struct tls_dir *d, const uint8_t *data,
			    size_t len)
{
	struct rec_hdr h;
	uint16_t settled = st->version == TLS13 ? 0x0303 : st->version;
	if (rec_read(data, len, &h) != HDR_OK)
		return 0;
	if (!d->version && !settled)
		return 1;
	return h.version == d->version || h.version == settled;
}

/* Resynchronising: skip to a header followed by another one.  Returns
 * the bytes to skip, or 0 with *wait set when the candidate at 0 needs
 * more bytes to be judged. */
static size_t resync_skip(const struct tls_state *st, const struct tls_dir *d, const uint8_t *data, size_t len,
			  int *wait)
{
	*wait = 0;
	for (size_t p = 0; p + REC_HDR_LEN <= len; p++) {
		struct rec_hdr h;
		if (!header_plausible(st, d, data + p, len - p))
			continue;
		rec_read(data + p, len - p, &h);
		size_t next = p + REC_HDR_LEN + h.length;
		if (next + REC_HDR_LEN > len) {
			if (p == 0)
				*wait = 1;
			return p;
		}
		if (header_plausible(st, d, data + next, len - next))
			return p;
	}
	/* Keep a tail that may begin a header. */
	return len >= REC_HDR_LEN ? len - (REC_HDR_LEN - 1) : 0;
}

static enum x1367_parse_result tls_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					 const uint8_t *data, size_t len, size_t *consumed)
{
	struct tls_state *st = state;
	enum x1367_dir dir = pkt->dir == X1367_TO_CLIENT ? X1367_TO_CLIENT : X1367_TO_SERVER;
	size_t off = 0;

	*consumed = 0;
	if (!st) {
		*consumed = len;
		return X1367_PARSE_OK;
	}
	remember_peers(st, pkt);
	struct tls_dir *d = &st->d[dir];
	while (off < len) {
		if (d->skip) {
			size_t n = d->skip < len - off ? d->skip : len - off;
			d->skip -= (uint32_t)n;
			off += n;
			continue;
		}
		if (d->resyncing) {
			int wait;
			size_t n = resync_skip(st, d, data + off, len - off, &wait);
			if (wait || (n == 0 && len - off < REC_HDR_LEN))
				break;
			if (n) {
				*consumed = off + n;
				return X1367_PARSE_ERROR;
			}
			d->resyncing = 0;
		}
		struct rec_hdr h;
		enum hdr_verdict v = rec_read(data + off, len - off, &h);
		if (v == HDR_SHORT)
			break;
		if (v == HDR_BAD) {
			api->event(ctx, EV_INVALID_RECORD);
			api->event(ctx, X1367_EV_MALFORMED);
			d->resyncing = 1;
			/* Record boundaries are now a guess: no 1.3 inference. */
			st->lost = 1;
			*consumed = off + 1;
			return X1367_PARSE_ERROR;
		}
		size_t rec_len = REC_HDR_LEN + h.length;
		if (!record_wanted(st, &h)) {
			d->version = h.version;
			d->skip = h.length;
			off += REC_HDR_LEN;
			if (h.type == CT_APPDATA)
				flight_answered(ctx, st, dir == X1367_TO_SERVER ? X1367_TO_CLIENT : X1367_TO_SERVER);
			continue;
		}
		if (len - off < rec_len)
			break;
		d->version = h.version;
		on_record(ctx, st, dir, data + off, rec_len, &h);
		off += rec_len;
	}
	*consumed = off;
	return off < len ? X1367_PARSE_NEED_MORE : X1367_PARSE_OK;
}

/* Bytes were lost: record boundaries are gone until two headers chain. */
static void tls_gap(x1367_ctx *ctx, void *state, enum x1367_dir dir)
{
	struct tls_state *st = state;
	(void)ctx;
	if (!st || (dir != X1367_TO_SERVER && dir != X1367_TO_CLIENT))
		return;
	st->d[dir].resyncing = 1;
	st->d[dir].skip = 0;
	st->d[dir].hs_left = 0;
	st->d[dir].walk_lost = 1;
	st->lost = 1;
}

/* TLS 1.3: the server sent its encrypted flight and the client never said
 * a word after it: the client gave up (a certificate grabber, a refusal
 * without an alert). */
static void tls_flow_end(x1367_ctx *ctx, void *state)
{
	struct tls_state *st = state;
	if (!st || !st->tls13 || !st->server_flight || st->client_spoke)
		return;
	/* Only a connection the capture saw close ended the handshake: one
	 * cut by the end of the capture, an idle timeout or an eviction may
	 * have gone on unseen.  (An engine older than ABI 1.1 cannot tell:
	 * then nothing is said.) */
	if (!X1367_HAS_FIELD(api, flow_closed) || !api->flow_closed || !api->flow_closed(ctx))
		return;
	report_incomplete(ctx, st, X1367_TO_SERVER, NULL, 0,
			  "the connection ended after the server's encrypted handshake flight "
			  "without any record from the client");
}

/* ---- Detection and description ---------------------------------------------- */

/* A handshake record at the start of a direction: ClientHello to the
 * server, ServerHello to the client, with a TLS version inside. */
static enum x1367_probe_result tls_probe(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	struct x1367_reader rd;
	x1367_rd_init(&rd, data, len);
	uint8_t type = x1367_rd_u8(&rd);
	uint16_t version = x1367_rd_be16(&rd);
	uint16_t length = x1367_rd_be16(&rd);
	uint8_t hs = x1367_rd_u8(&rd);
	x1367_rd_skip(&rd, 3);
	uint16_t hello_version = x1367_rd_be16(&rd);

	if (len == 0)
		return X1367_PROBE_MAYBE;
	/* A readable alert, exactly one record of two bytes: a capture that
	 * starts mid-connection may see nothing else of it. */
	if (type == CT_ALERT && len == REC_HDR_LEN + 2)
		return version_plausible(version) && length == 2 ? X1367_PROBE_YES : X1367_PROBE_NO;
	if (type != CT_HANDSHAKE)
		return X1367_PROBE_NO;
	if (len >= 3 && !version_plausible(version))
		return X1367_PROBE_NO;
	if (len >= 5 && (length < HS_HDR_LEN || length > REC_LEN_MAX))
		return X1367_PROBE_NO;
	if (len >= 6 && hs != (dir == X1367_TO_SERVER ? HS_CLIENT_HELLO : HS_SERVER_HELLO))
		return X1367_PROBE_NO;
	if (!x1367_rd_ok(&rd))
		return X1367_PROBE_MAYBE;
	return version_plausible(hello_version) ? X1367_PROBE_YES : X1367_PROBE_NO;
}

/* The handshake messages of a stored record, if its bytes tile it exactly
 * (checked against the length on the wire when the copy is cut); else the
 * record is encrypted (TLS <= 1.2 Finished) or its messages span records. */
static void desc_messages(struct x1367_desc *d, const uint8_t *body, size_t have, size_t wire)
{
	char list[160];
	size_t pos = 0, used = 0;
	list[0] = '\0';
	while (pos < wire) {
		struct x1367_reader rd;
		x1367_rd_init(&rd, body + (pos < have ? pos : have), pos < have ? have - pos : 0);
		uint8_t type = x1367_rd_u8(&rd);
		uint32_t mlen = (uint32_t)x1367_rd_u8(&rd) << 16;
		mlen |= x1367_rd_be16(&rd);
		if (!x1367_rd_ok(&rd))
			break;                   /* past the stored copy: list what was seen */
		if (HS_HDR_LEN + (size_t)mlen > wire - pos) {
			used = 0;
			break;
		}
		const char *name = type < N_ELEMS(hs_names) ? hs_names[type] : NULL;
		int w = name ? snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "", name)
			     : snprintf(list + used, sizeof(list) - used, "%stype %u", used ? ", " : "", type);
		if (w < 0 || (size_t)w >= sizeof(list) - used)
			break;
		used += (size_t)w;
		pos += HS_HDR_LEN + mlen;
	}
	x1367_desc_add(d, "Handshake Messages", "%s", used ? list : "encrypted or continued from an earlier record");
}

static size_t tls_describe(const struct x1367_request_view *req, char *uid, size_t uid_len,
			   struct x1367_kv *kv, size_t max_kv, char *buf, size_t buf_len)
{
	struct x1367_desc d = {.n = 0};
	struct rec_hdr h;

	/* Reports name the responder themselves; this is only a fallback. */
	api->format_addr(req->responder, uid, uid_len);
	if (rec_read(req->bytes, req->len, &h) != HDR_OK)
		return 0;
	x1367_desc_add(&d, "Request Record", "%s, record version %s, %u bytes", record_names[h.type],
		       version_name(h.version), h.length);
	size_t have = req->len - REC_HDR_LEN;
	size_t wire = req->wire_len > REC_HDR_LEN ? req->wire_len - REC_HDR_LEN : 0;
	if (wire > h.length)
		wire = h.length;
	if (have > wire)
		have = wire;
	if (h.type == CT_HANDSHAKE)
		desc_messages(&d, req->bytes + REC_HDR_LEN, have, wire);
	else if (h.type == CT_APPDATA)
		x1367_desc_add(&d, "Handshake Messages", "encrypted (TLS 1.3)");
	return x1367_desc_export(&d, kv, max_kv, buf, buf_len);
}

static int tls_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static const uint16_t tls_ports[] = {443, 8443, 4433, 0};

static const char *const tls_events[] = {
	EV_INVALID_RECORD,
	EV_INVALID_ALERT,
	EV_ENCRYPTED_ALERT,
	EV_BENIGN_ALERT,
	EV_HANDSHAKE_INCOMPLETE,
	NULL,
};

static const struct x1367_dissector tls_dissector = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "tls",
	.protocol = "TLS",
	.transports = X1367_TCP,
	.ports = tls_ports,
	.ndpi_name = "TLS",
	/* Handshake records are opened without a deadline for an answer; this
	 * only bounds how long an unanswered one is kept for pairing. */
	.request_timeout_ms = 60000,
	.state_size = sizeof(struct tls_state),
	.init = tls_init,
	.probe = tls_probe,
	.parse = {
		[X1367_TO_SERVER] = tls_parse,
		[X1367_TO_CLIENT] = tls_parse,
	},
	.gap = tls_gap,
	.flow_end = tls_flow_end,
	.event_names = tls_events,
	.describe_request = tls_describe,
	.version = "1.0",
};

__attribute__((visibility("default"))) const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &tls_dissector;
}
