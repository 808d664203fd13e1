/* Runs frames through the real engine and collects its records. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "output.h"
#include "registry.h"
#include "rules.h"
#include "helpers.h"

/* Usable from Criterion tests and from fuzzers alike: no test framework
 * here, a broken set-up just aborts with a message. */
static void need(int ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(stderr, "test set-up failed: %s: %s\n", what, detail);
		abort();
	}
}

static void collect(const char *line, size_t len, void *arg)
{
	struct run *r = arg;
	if (r->n_records < RUN_MAX_RECORDS)
		r->records[r->n_records++] = strndup(line, len);
}

static int known(const char *name, void *arg)
{
	return registry_find(arg, name) != NULL;
}

static void rules_dir(char *buf, size_t len)
{
	const char *top = getenv("top_srcdir");
	snprintf(buf, len, "%s/rules", top ? top : ".");
}

void run_start(struct run *r)
{
	run_start_with(r, NULL);
}

static void start(struct run *r, const struct x1367_dissector *extra, int fast);

void run_start_with(struct run *r, const struct x1367_dissector *extra)
{
	start(r, extra, 0);
}

void run_start_fast(struct run *r, const struct x1367_dissector *extra)
{
	start(r, extra, 1);
}

void run_check_records(const struct run *r)
{
	for (size_t i = 0; i < r->n_records; i++)
		need(record_get(r->records[i], "Error Code") != NULL, "record without an error code",
		     r->records[i]);
}

static void start(struct run *r, const struct x1367_dissector *extra, int fast)
{
	char err[RULES_ERR_LEN > ENGINE_ERR_LEN ? RULES_ERR_LEN : ENGINE_ERR_LEN];
	char rerr[REGISTRY_ERR_LEN];
	char dir[4096];
	struct engine_config cfg;

	memset(r, 0, sizeof(*r));
	r->reg = calloc(1, sizeof(*r->reg));
	need(r->reg != NULL, "registry", "out of memory");
	need(registry_add_builtins(r->reg, rerr) == 0, "registry", rerr);
	need(!extra || registry_add(r->reg, extra, rerr) == 0, "registry", rerr);
	r->rules = rules_new();
	rules_dir(dir, sizeof(dir));
	need(rules_load_dir(r->rules, dir, known, r->reg, err) == 0, "rules", err);
	r->out = output_new();
	need(output_add_callback(r->out, collect, r) == 0, "output", "out of memory");
	engine_config_defaults(&cfg);
	cfg.reporter_ip = "192.0.2.254";
	cfg.sensor_name = "test";
	if (fast) {
		cfg.ndpi_enabled = 0;
		cfg.max_flows = 64;
		cfg.max_txns = 512;
		cfg.max_txns_per_flow = 128;
		cfg.max_silence_devices = 64;
		cfg.max_frag_datagrams = 16;
	}
	r->engine = engine_new(&cfg, r->reg, r->rules, r->out, NULL, err);
	need(r->engine != NULL, "engine", err);
	need(engine_set_linktype(r->engine, 1) == 0, "engine", "Ethernet link type refused");
}

void run_frame(struct run *r, const struct frame *f)
{
	engine_packet(r->engine, f->data, f->len, (uint32_t)f->len, f->ts_usec);
}

void run_finish(struct run *r)
{
	engine_finish(r->engine);
}

void run_free(struct run *r)
{
	engine_free(r->engine);
	output_free(r->out);
	rules_free(r->rules);
	free(r->reg);
	for (size_t i = 0; i < r->n_records; i++)
		free(r->records[i]);
	memset(r, 0, sizeof(*r));
}

const char *record_get(const char *record_json, const char *path)
{
	static char value[4096];
	char key[256];
	json_object *root = json_tokener_parse(record_json), *o = root;
	const char *p = path;

	value[0] = '\0';
	while (o && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		snprintf(key, sizeof(key), "%.*s", (int)n, p);
		if (!json_object_object_get_ex(o, key, &o))
			o = NULL;
		p += n + (dot ? 1 : 0);
	}
	if (o)
		snprintf(value, sizeof(value), "%s", json_object_is_type(o, json_type_string) ?
			 json_object_get_string(o) : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
	return o ? value : NULL;
}

long run_stat(const struct run *r, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	need(fp != NULL, "statistics", "out of memory");
	engine_write_stats(r->engine, fp);
	fclose(fp);
	const char *v = record_get(text, path);
	long n = v ? strtol(v, NULL, 10) : 0;
	free(text);
	return n;
}

/* ---- one TCP connection through a run --------------------------------- */

void conn_init(struct conn *c, struct run *r, const char *cli, const char *srv, uint16_t cport,
	       uint16_t sport, uint64_t now)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->cli = cli;
	c->srv = srv;
	c->cport = cport;
	c->sport = sport;
	c->cseq = 1000;
	c->sseq = 5000;
	c->now = now;
}

void conn_handshake(struct conn *c)
{
	conn_send(c, 0, NULL, 0, TH_SYN);
	conn_send(c, 1, NULL, 0, TH_SYN | TH_ACK);
	conn_send(c, 0, NULL, 0, TH_ACK);
}

void conn_open_at(struct conn *c, struct run *r, const char *cli, const char *srv, uint16_t cport,
		  uint16_t sport, uint64_t now)
{
	conn_init(c, r, cli, srv, cport, sport, now);
	conn_handshake(c);
}

void conn_send(struct conn *c, int from_server, const void *p, size_t n, uint8_t flags)
{
	static struct frame f;

	if (from_server)
		build_tcp(&f, c->srv, c->sport, c->cli, c->cport, c->sseq, c->cseq, flags, p, n);
	else
		build_tcp(&f, c->cli, c->cport, c->srv, c->sport, c->cseq, c->sseq, flags, p, n);
	need(f.len > 0, "conn_send", "frame not built");
	c->now += 1000;
	f.ts_usec = c->now;
	run_frame(c->r, &f);
	uint32_t adv = (uint32_t)n + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
	if (from_server)
		c->sseq += adv;
	else
		c->cseq += adv;
}

void conn_send_hex(struct conn *c, int from_server, const char *hex)
{
	uint8_t b[4096];
	conn_send(c, from_server, b, hex_to_bytes(hex, b, sizeof(b)), TH_PSH | TH_ACK);
}

void conn_close(struct conn *c)
{
	conn_send(c, 0, NULL, 0, TH_FIN | TH_ACK);
	conn_send(c, 1, NULL, 0, TH_FIN | TH_ACK);
	conn_send(c, 0, NULL, 0, TH_ACK);
}
