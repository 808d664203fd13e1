/* Detection without a known port: a dissector the engine has never heard
 * of, found by nDPI's verdict (TLS here, a protocol nDPI recognises on any
 * port) or by its own probe.  Shows the engine needs no protocol by name. */
#include <criterion/criterion.h>
#include <string.h>
#include "engine.h"
#include "output.h"
#include "registry.h"
#include "rules.h"
#include "helpers.h"

static size_t bytes_seen;

static enum x1367_parse_result count_bytes(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					   const uint8_t *data, size_t len, size_t *consumed)
{
	(void)ctx, (void)state, (void)pkt, (void)data;
	bytes_seen += len;
	*consumed = len;
	return X1367_PARSE_OK;
}

static enum x1367_probe_result probe_magic(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	(void)dir;
	return len >= 4 && !memcmp(data, "MAGI", 4) ? X1367_PROBE_YES : X1367_PROBE_NO;
}

static const uint16_t no_ports[] = {0};
static const uint16_t udp_ports[] = {7777, 0};

static enum x1367_probe_result probe_anything(const uint8_t *data, size_t len, enum x1367_dir dir)
{
	(void)data, (void)len, (void)dir;
	return X1367_PROBE_YES;
}

static struct x1367_dissector test_dissector(const char *ndpi_name, int with_probe)
{
	struct x1367_dissector d = {
		.abi_major = X1367_ABI_MAJOR,
		.abi_minor = X1367_ABI_MINOR,
		.struct_size = sizeof(struct x1367_dissector),
		.name = "testproto",
		.protocol = "Test Protocol",
		.transports = X1367_TCP,
		.ports = no_ports,
		.ndpi_name = ndpi_name,
		.state_size = 8,
		.probe = with_probe ? probe_magic : NULL,
		.parse = {count_bytes, count_bytes},
	};
	return d;
}

/* A TLS 1.2 ClientHello with SNI, as a browser would start. */
static size_t client_hello(uint8_t *p)
{
	static const char sni[] = "plc.example.com";
	size_t n = 0, ext_start, body_start;
	p[n++] = 0x16; p[n++] = 0x03; p[n++] = 0x01; n += 2;          /* record, length later */
	body_start = n;
	p[n++] = 0x01; n += 3;                                        /* ClientHello, length later */
	p[n++] = 0x03; p[n++] = 0x03;                                 /* TLS 1.2 */
	memset(p + n, 0x42, 32); n += 32;                             /* random */
	p[n++] = 0;                                                   /* session id */
	p[n++] = 0; p[n++] = 4; p[n++] = 0xC0; p[n++] = 0x2F; p[n++] = 0x00; p[n++] = 0x9C;
	p[n++] = 1; p[n++] = 0;                                       /* compression: null */
	n += 2;                                                       /* extensions length later */
	ext_start = n;
	p[n++] = 0; p[n++] = 0;                                       /* server_name */
	p[n++] = 0; p[n++] = (uint8_t)(sizeof(sni) - 1 + 5);
	p[n++] = 0; p[n++] = (uint8_t)(sizeof(sni) - 1 + 3);
	p[n++] = 0; p[n++] = 0; p[n++] = (uint8_t)(sizeof(sni) - 1);
	memcpy(p + n, sni, sizeof(sni) - 1); n += sizeof(sni) - 1;
	size_t ext_len = n - ext_start, hs_len = n - body_start - 4, rec_len = n - body_start;
	p[ext_start - 2] = (uint8_t)(ext_len >> 8); p[ext_start - 1] = (uint8_t)ext_len;
	p[body_start + 1] = 0; p[body_start + 2] = (uint8_t)(hs_len >> 8); p[body_start + 3] = (uint8_t)hs_len;
	p[3] = (uint8_t)(rec_len >> 8); p[4] = (uint8_t)rec_len;
	return n;
}

static struct engine *start(struct registry *reg, struct output **out, struct rules **rules)
{
	char err[ENGINE_ERR_LEN];
	struct engine_config cfg;
	engine_config_defaults(&cfg);
	*out = output_new();
	*rules = rules_new();
	struct engine *e = engine_new(&cfg, reg, *rules, *out, NULL, err);
	cr_assert_not_null(e, "%s", err);
	cr_assert_eq(engine_set_linktype(e, 1), 0);
	return e;
}

static void handshake_and_send(struct engine *e, const uint8_t *payload, size_t len)
{
	static struct frame f;
	const char *c = "192.0.2.1", *s = "192.0.2.2";
	build_tcp(&f, c, 40000, s, 4433, 100, 0, 0x02, NULL, 0);
	engine_packet(e, f.data, f.len, (uint32_t)f.len, 1000000);
	build_tcp(&f, s, 4433, c, 40000, 500, 101, 0x12, NULL, 0);
	engine_packet(e, f.data, f.len, (uint32_t)f.len, 1001000);
	build_tcp(&f, c, 40000, s, 4433, 101, 501, 0x10, NULL, 0);
	engine_packet(e, f.data, f.len, (uint32_t)f.len, 1002000);
	build_tcp(&f, c, 40000, s, 4433, 101, 501, 0x18, payload, len);
	engine_packet(e, f.data, f.len, (uint32_t)f.len, 1003000);
}

Test(detect, ndpi_verdict_reaches_a_dissector_on_any_port)
{
	struct registry reg = {0};
	char err[REGISTRY_ERR_LEN];
	struct x1367_dissector d = test_dissector("TLS", 0);
	struct output *out;
	struct rules *rules;
	uint8_t hello[512];
	size_t n = client_hello(hello);

	cr_assert_eq(registry_add(&reg, &d, err), 0, "%s", err);
	struct engine *e = start(&reg, &out, &rules);
	bytes_seen = 0;
	handshake_and_send(e, hello, n);
	engine_finish(e);
	cr_assert_eq(bytes_seen, n, "the ClientHello reached the dissector (%zu of %zu bytes)", bytes_seen, n);
	engine_free(e);
	output_free(out);
	rules_free(rules);
}

Test(detect, probe_reaches_a_dissector_on_any_port)
{
	struct registry reg = {0};
	char err[REGISTRY_ERR_LEN];
	struct x1367_dissector d = test_dissector(NULL, 1);
	struct output *out;
	struct rules *rules;

	cr_assert_eq(registry_add(&reg, &d, err), 0, "%s", err);
	struct engine *e = start(&reg, &out, &rules);
	bytes_seen = 0;
	handshake_and_send(e, (const uint8_t *)"MAGIC bytes", 11);
	engine_finish(e);
	cr_assert_eq(bytes_seen, 11);
	engine_free(e);
	output_free(out);
	rules_free(rules);
}

Test(detect, unknown_traffic_is_left_alone)
{
	struct registry reg = {0};
	char err[REGISTRY_ERR_LEN];
	struct x1367_dissector d = test_dissector("TLS", 1);
	struct output *out;
	struct rules *rules;

	cr_assert_eq(registry_add(&reg, &d, err), 0, "%s", err);
	struct engine *e = start(&reg, &out, &rules);
	bytes_seen = 0;
	handshake_and_send(e, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18);
	engine_finish(e);
	cr_assert_eq(bytes_seen, 0);
	engine_free(e);
	output_free(out);
	rules_free(rules);
}

Test(detect, registry_refuses_bad_descriptors)
{
	struct registry reg = {0};
	char err[REGISTRY_ERR_LEN];
	struct x1367_dissector d = test_dissector(NULL, 1);

	d.abi_major = X1367_ABI_MAJOR + 1;
	cr_assert_neq(registry_add(&reg, &d, err), 0);
	cr_assert(strstr(err, "ABI") != NULL, "%s", err);
	d = test_dissector(NULL, 1);
	d.struct_size = 16;
	cr_assert_neq(registry_add(&reg, &d, err), 0);
	d = test_dissector(NULL, 1);
	cr_assert_eq(registry_add(&reg, &d, err), 0);
	cr_assert_neq(registry_add(&reg, &d, err), 0, "a name registered twice");
	cr_assert(strstr(err, "already") != NULL, "%s", err);
	cr_assert_eq(reg.n, 1);
}

static void udp_to_engine(struct engine *e, const char *src, uint16_t sport, const char *dst, uint16_t dport,
			  const void *payload, size_t len)
{
	static struct frame f;
	build_udp(&f, src, sport, dst, dport, payload, len);
	engine_packet(e, f.data, f.len, (uint32_t)f.len, 2000000);
}

Test(detect, udp_source_port_alone_needs_the_probe)
{
	struct registry reg = {0};
	char err[REGISTRY_ERR_LEN];
	struct x1367_dissector d = test_dissector(NULL, 1);
	struct output *out;
	struct rules *rules;

	d.transports = X1367_UDP;
	d.ports = udp_ports;
	cr_assert_eq(registry_add(&reg, &d, err), 0, "%s", err);
	struct engine *e = start(&reg, &out, &rules);
	bytes_seen = 0;
	/* From port 7777 to an ordinary port: a client that happened to get
	 * 7777 as its ephemeral port, talking something else. */
	udp_to_engine(e, "192.0.2.1", 7777, "192.0.2.2", 53, "not magic", 9);
	cr_assert_eq(bytes_seen, 0, "a source port alone must not decide");
	/* The same from a real server on 7777: the probe agrees. */
	udp_to_engine(e, "192.0.2.3", 7777, "192.0.2.4", 40000, "MAGIC!", 6);
	cr_assert_eq(bytes_seen, 6);
	/* To port 7777: the destination's port decides. */
	udp_to_engine(e, "192.0.2.5", 40000, "192.0.2.6", 7777, "anything", 8);
	cr_assert_eq(bytes_seen, 14);
	engine_finish(e);
	engine_free(e);
	output_free(out);
	rules_free(rules);
}

Test(detect, what_ndpi_names_as_another_protocol_is_left_alone)
{
	struct registry reg = {0};
	char err[REGISTRY_ERR_LEN];
	struct x1367_dissector d = test_dissector("TLS", 0);
	struct output *out;
	struct rules *rules;
	/* A DNS query for example.com, type A. */
	uint8_t dns[64];
	size_t n = hex_to_bytes("1a2b 0100 0001 0000 0000 0000 07 6578616d706c65 03 636f6d 00 0001 0001",
				dns, sizeof(dns));

	d.probe = probe_anything;   /* a probe that would claim anything */
	d.transports = X1367_UDP | X1367_TCP;
	cr_assert_eq(registry_add(&reg, &d, err), 0, "%s", err);
	struct engine *e = start(&reg, &out, &rules);
	bytes_seen = 0;
	udp_to_engine(e, "192.0.2.1", 40000, "192.0.2.2", 53, dns, n);
	engine_finish(e);
	cr_assert_eq(bytes_seen, 0, "nDPI names DNS: no probe may claim the flow");
	engine_free(e);
	output_free(out);
	rules_free(rules);
}
