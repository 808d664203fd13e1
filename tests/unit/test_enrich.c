/* Records enriched with --geoip: the country and AS of both parties come
 * from MaxMind's test databases (GEOIP_DIR), through the whole engine. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "geoip.h"
#include "output.h"
#include "registry.h"
#include "rules.h"
#include "helpers.h"

static char last[8192];

static void keep(const char *line, size_t len, void *arg)
{
	(void)arg;
	snprintf(last, sizeof(last), "%.*s", (int)len, line);
}

static int known(const char *name, void *arg)
{
	return registry_find(arg, name) != NULL;
}

Test(enrich, country_and_as_of_both_parties)
{
	const char *gdir = getenv("GEOIP_DIR"), *top = getenv("top_srcdir");
	char path[4096], err[GEOIP_ERR_LEN > ENGINE_ERR_LEN ? GEOIP_ERR_LEN : ENGINE_ERR_LEN];
	struct registry reg = {0};
	struct engine_config cfg;
	static struct frame f;
	uint8_t req[12], resp[9];

	cr_assert_not_null(gdir, "GEOIP_DIR not set");
	struct geoip *g = geoip_new();
	snprintf(path, sizeof(path), "%s/GeoLite2-Country-Test.mmdb", gdir);
	cr_assert_eq(geoip_open(g, path, err), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/GeoLite2-ASN-Test.mmdb", gdir);
	cr_assert_eq(geoip_open(g, path, err), 0, "%s", err);
	cr_assert_eq(registry_add_builtins(&reg, err), 0);
	struct rules *rules = rules_new();
	snprintf(path, sizeof(path), "%s/rules", top ? top : ".");
	cr_assert_eq(rules_load_dir(rules, path, known, &reg, err), 0, "%s", err);
	struct output *out = output_new();
	output_add_callback(out, keep, NULL);
	engine_config_defaults(&cfg);
	struct engine *e = engine_new(&cfg, &reg, rules, out, g, err);
	cr_assert_not_null(e, "%s", err);
	engine_set_linktype(e, 1);

	/* 1.128.0.0 (AS1221) reads holding registers of 2.125.160.216 (GB). */
	size_t n = hex_to_bytes("0001 0000 0006 01 03 0000 0001", req, sizeof(req));
	build_udp(&f, "1.128.0.1", 40000, "2.125.160.216", 502, req, n);
	engine_packet(e, f.data, f.len, (uint32_t)f.len, 1000000);
	n = hex_to_bytes("0001 0000 0003 01 83 02", resp, sizeof(resp));
	build_udp(&f, "2.125.160.216", 502, "1.128.0.1", 40000, resp, n);
	engine_packet(e, f.data, f.len, (uint32_t)f.len, 1100000);
	engine_finish(e);

	cr_assert_str_eq(record_get(last, "Description.Responder Country"), "GB");
	cr_assert(strstr(record_get(last, "Description.Requester ASN"), "AS1221") != NULL, "%s", last);
	engine_free(e);
	output_free(out);
	rules_free(rules);
	geoip_free(g);
}
