/* Test helpers: build frames byte by byte, and run frames through the
 * whole engine collecting the records it writes. */
#ifndef X1367_TEST_HELPERS_H
#define X1367_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <x1367ids/dissector.h>

#define FRAME_MAX 70000

struct frame {
	uint8_t data[FRAME_MAX];
	size_t len;
	uint64_t ts_usec;
};

/* Ethernet + IPv4/IPv6 + TCP/UDP with correct lengths (checksums 0).
 * Addresses as text ("10.0.0.1", "fe80::1").  Returns frame length. */
size_t build_tcp(struct frame *f, const char *src, uint16_t sport, const char *dst,
		 uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		 const void *payload, size_t len);
size_t build_udp(struct frame *f, const char *src, uint16_t sport, const char *dst,
		 uint16_t dport, const void *payload, size_t len);

/* Parse "01 02 0a ff" or "01020AFF" into bytes; returns count. */
size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap);

/* Records produced by a run. */
#define RUN_MAX_RECORDS 256
struct run {
	struct engine *engine;
	struct output *out;
	struct rules *rules;
	struct registry *reg;
	char *records[RUN_MAX_RECORDS];
	size_t n_records;
};

/* A fresh engine with the built-in dissectors and the repository's rules/
 * (found through $top_srcdir, or ./rules), Ethernet link type, reporter
 * 192.0.2.254, sensor "test". */
void run_start(struct run *r);
/* The same, with one more dissector registered after the built-ins (a
 * plugin's descriptor, compiled into the test); the rules directory must
 * then have its table. */
void run_start_with(struct run *r, const struct x1367_dissector *extra);
/* For fuzzers: the same without nDPI and with small tables (their set-up
 * costs far more than one input; dissectors are found by port or probe). */
void run_start_fast(struct run *r, const struct x1367_dissector *extra);
/* Whatever the input, every record is JSON with an error code: abort if not. */
void run_check_records(const struct run *r);
void run_frame(struct run *r, const struct frame *f);
/* engine_finish, then the records are final. */
void run_finish(struct run *r);
void run_free(struct run *r);
/* Value of a top-level string key, or of "Description"/"<sub>" when key is
 * "Description.Sub" etc.  Returned string is static per call. */
const char *record_get(const char *record_json, const char *path);
/* A number from the engine's statistics line at a dotted path
 * ("responses_without_request", "protocols.modbus.events.function_mismatch");
 * 0 when the path is absent (event counters appear once they count). */
long run_stat(const struct run *r, const char *path);

/* ---- one TCP connection through a run --------------------------------- */

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10

/* Both sides' addresses, ports and next sequence numbers, and the capture
 * clock of the connection's last segment. */
struct conn {
	struct run *r;
	const char *cli, *srv;
	uint16_t cport, sport;
	uint32_t cseq, sseq;
	uint64_t now;
};

/* A connection cli:cport -> srv:sport whose clock is at `now`, client ISN
 * 1000, server ISN 5000; nothing is sent yet (change the fields first if
 * needed, then conn_handshake). */
void conn_init(struct conn *c, struct run *r, const char *cli, const char *srv, uint16_t cport,
	       uint16_t sport, uint64_t now);
/* SYN, SYN+ACK, ACK. */
void conn_handshake(struct conn *c);
/* conn_init, then conn_handshake. */
void conn_open_at(struct conn *c, struct run *r, const char *cli, const char *srv, uint16_t cport,
		  uint16_t sport, uint64_t now);
/* One segment from the client (from_server 0) or the server, 1 ms after the
 * previous one; that side's sequence number advances by its length (and by
 * one for SYN or FIN). */
void conn_send(struct conn *c, int from_server, const void *p, size_t n, uint8_t flags);
/* conn_send of hex bytes ("01 02 0a" or "01020A") with PSH+ACK. */
void conn_send_hex(struct conn *c, int from_server, const char *hex);
/* FIN+ACK from the client, FIN+ACK from the server, the last ACK. */
void conn_close(struct conn *c);

#endif
