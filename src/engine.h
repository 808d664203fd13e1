/*
 * The engine: owns the packet's path from captured bytes to record.
 *   decode.c -> flow.c -> tcp_reasm.c -> detect.c -> dissector -> txn.c
 *   -> rules.c -> record.c -> output.c
 * It knows no protocol by name; dissectors come from the registry.
 */
#ifndef X1367_ENGINE_H
#define X1367_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct rules;
struct output;
struct registry;
struct geoip;

struct engine_config {
	const char *reporter_ip;         /* Reporter "IP Address", in record form */
	const char *sensor_name;         /* Description "Sensor" */
	size_t max_flows;                /* default 262144 */
	uint32_t tcp_idle_ms;            /* default 600000 */
	uint32_t udp_idle_ms;            /* default 120000 */
	size_t max_stream_bytes;         /* per TCP direction, default 256 KiB */
	size_t max_reasm_bytes;          /* all TCP buffering, default 256 MiB */
	size_t max_txns;                 /* default 65536 */
	size_t max_txns_per_flow;        /* default 1024 */
	size_t max_code_bytes;           /* Transmitted Code cap, default 1024 */
	size_t max_frag_datagrams;       /* default 1024 */
	size_t max_frag_bytes;           /* default 16 MiB */
	uint32_t frag_timeout_ms;        /* default 30000 */
	int ndpi_enabled;                /* default 1 */
	uint32_t silence_factor;         /* default 3 (Appendix I.3) */
	uint32_t silence_min_intervals;  /* default 3 */
	size_t max_silence_devices;      /* default 65536 */
};

void engine_config_defaults(struct engine_config *c);

struct engine;

#define ENGINE_ERR_LEN 512

/* The engine borrows rules, registry, output and geoip (may be NULL);
 * they must outlive it.  It resolves nDPI ids into the registry. */
struct engine *engine_new(const struct engine_config *cfg, struct registry *reg,
			  const struct rules *rules, struct output *out, struct geoip *geo,
			  char err[ENGINE_ERR_LEN]);
/* The capture's link type (DLT_*).  -1 if the decoder does not know it. */
int engine_set_linktype(struct engine *e, int dlt);
void engine_packet(struct engine *e, const uint8_t *data, size_t caplen, uint32_t wire_len,
		   uint64_t ts_usec);
/* Advance the clock without a packet (live capture idle). */
void engine_tick(struct engine *e, uint64_t now_usec);
/* End of capture: flows end, deadlines that passed are reported, the rest
 * counted as pending. */
void engine_finish(struct engine *e);
/* Replace the mapping tables (SIGHUP). */
void engine_set_rules(struct engine *e, const struct rules *rules);
/* The operator's asset table (assets.h), NULL for none; kept by the
 * caller, replaced between packets (SIGHUP). */
struct assets;
void engine_set_assets(struct engine *e, const struct assets *assets);
/* One JSON line of statistics, with newline. */
void engine_write_stats(const struct engine *e, FILE *fp);
/* The same as a json-c object the caller may extend, then json_object_put. */
struct json_object;
struct json_object *engine_stats_json(const struct engine *e);
/* Records written so far. */
uint64_t engine_records(const struct engine *e);
void engine_free(struct engine *e);

#endif
