/* Command line and configuration file.  See options.h. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fileio.h"
#include "options.h"

enum {
	OPT_REPORTER_IP = 256, OPT_RULES, OPT_SENSOR_NAME, OPT_GEOIP, OPT_NO_NDPI,
	OPT_MAX_FLOWS, OPT_MAX_TXNS, OPT_MAX_TXNS_PER_FLOW, OPT_MAX_CODE_BYTES,
	OPT_MAX_STREAM_BYTES, OPT_MAX_REASM_BYTES, OPT_TCP_IDLE, OPT_UDP_IDLE,
	OPT_REQUEST_TIMEOUT, OPT_SILENCE_FACTOR, OPT_NO_STATS, OPT_CHECK_CONFIG,
	OPT_VERSION, OPT_LIST_CODES, OPT_LIST_PLUGINS, OPT_PLUGIN_DIR, OPT_DISABLE_PLUGIN,
	OPT_SNAPLEN, OPT_BUFFER_SIZE, OPT_NO_PROMISC, OPT_IMMEDIATE, OPT_STATS_INTERVAL,
	OPT_STATS_FILE, OPT_ALLOW_ROOT, OPT_CHROOT, OPT_PID_FILE, OPT_FOREGROUND,
	OPT_SYSLOG, OPT_SYSLOG_FACILITY, OPT_SYSLOG_CA, OPT_SYSLOG_CERT, OPT_SYSLOG_KEY, OPT_SPOOL_DIR,
	OPT_QUEUE_SIZE, OPT_SPOOL_MAX_BYTES, OPT_WHEN_FULL, OPT_STATS_SYSLOG,
	OPT_ASSETS, OPT_METRICS_LISTEN,
};

static const struct option long_opts[] = {
	{"read", required_argument, NULL, 'r'},
	{"interface", required_argument, NULL, 'i'},
	{"user", required_argument, NULL, 'u'},
	{"snaplen", required_argument, NULL, OPT_SNAPLEN},
	{"buffer-size", required_argument, NULL, OPT_BUFFER_SIZE},
	{"no-promisc", no_argument, NULL, OPT_NO_PROMISC},
	{"immediate", no_argument, NULL, OPT_IMMEDIATE},
	{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
	{"stats-file", required_argument, NULL, OPT_STATS_FILE},
	{"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
	{"chroot", required_argument, NULL, OPT_CHROOT},
	{"pid-file", required_argument, NULL, OPT_PID_FILE},
	{"foreground", no_argument, NULL, OPT_FOREGROUND},
	{"write", required_argument, NULL, 'w'},
	{"filter", required_argument, NULL, 'f'},
	{"config", required_argument, NULL, 'c'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"list-codes", no_argument, NULL, OPT_LIST_CODES},
	{"list-plugins", no_argument, NULL, OPT_LIST_PLUGINS},
	{"reporter-ip", required_argument, NULL, OPT_REPORTER_IP},
	{"rules", required_argument, NULL, OPT_RULES},
	{"sensor-name", required_argument, NULL, OPT_SENSOR_NAME},
	{"geoip", required_argument, NULL, OPT_GEOIP},
	{"no-ndpi", no_argument, NULL, OPT_NO_NDPI},
	{"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
	{"max-transactions", required_argument, NULL, OPT_MAX_TXNS},
	{"max-transactions-per-flow", required_argument, NULL, OPT_MAX_TXNS_PER_FLOW},
	{"max-code-bytes", required_argument, NULL, OPT_MAX_CODE_BYTES},
	{"max-stream-bytes", required_argument, NULL, OPT_MAX_STREAM_BYTES},
	{"max-reassembly-bytes", required_argument, NULL, OPT_MAX_REASM_BYTES},
	{"tcp-idle-timeout", required_argument, NULL, OPT_TCP_IDLE},
	{"udp-idle-timeout", required_argument, NULL, OPT_UDP_IDLE},
	{"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
	{"silence-factor", required_argument, NULL, OPT_SILENCE_FACTOR},
	{"no-stats", no_argument, NULL, OPT_NO_STATS},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},
	{"disable-plugin", required_argument, NULL, OPT_DISABLE_PLUGIN},
	{"syslog", required_argument, NULL, OPT_SYSLOG},
	{"syslog-facility", required_argument, NULL, OPT_SYSLOG_FACILITY},
	{"syslog-ca", required_argument, NULL, OPT_SYSLOG_CA},
	{"syslog-cert", required_argument, NULL, OPT_SYSLOG_CERT},
	{"syslog-key", required_argument, NULL, OPT_SYSLOG_KEY},
	{"spool-dir", required_argument, NULL, OPT_SPOOL_DIR},
	{"queue-size", required_argument, NULL, OPT_QUEUE_SIZE},
	{"spool-max-bytes", required_argument, NULL, OPT_SPOOL_MAX_BYTES},
	{"when-full", required_argument, NULL, OPT_WHEN_FULL},
	{"stats-syslog", no_argument, NULL, OPT_STATS_SYSLOG},
	{"assets", required_argument, NULL, OPT_ASSETS},
	{"metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN},
	{NULL, 0, NULL, 0},
};

void options_usage(FILE *fp, const char *rules_dir, const char *plugin_dir)
{
	fprintf(fp, "usage: x1367ids -r FILE [options]\n"
	      "       x1367ids -i IFACE [-i IFACE ...] [options]\n"
	      "Passive IDS sensor: reports device errors seen on the wire as ITU-T X.1367 records.\n\n"
	      "  -r, --read FILE              read a pcap or pcapng capture ('-' = standard input)\n"
	      "  -i, --interface IFACE        capture live (repeatable; 'any' = all interfaces)\n"
	      "      --snaplen N              bytes kept per packet (default 262144)\n"
	      "      --buffer-size MIB        kernel capture buffer (default 64)\n"
	      "      --no-promisc             do not put interfaces in promiscuous mode\n"
	      "      --immediate              deliver each packet at once (else within 100 ms)\n"
	      "      --stats-interval S       statistics line every S seconds, live (default 60, 0 = off)\n"
	      "      --stats-file PATH        statistics lines to PATH (default standard error)\n"
	      "      --stats-syslog           statistics lines also to the local syslog (daemon.info)\n"
	      "      --metrics-listen ADDR:PORT  live: Prometheus metrics at http://ADDR:PORT/metrics\n"
	      "                               (PORT alone: 127.0.0.1)\n"
	      "  -u, --user USER              drop to USER after opening interfaces (default x1367ids)\n"
	      "      --allow-root             keep running as root (live) when no user to drop to\n"
	      "      --chroot DIR             chroot to DIR after opening interfaces\n"
	      "      --pid-file PATH          write the process id to PATH\n"
	      "      --foreground             live: do not daemonize (systemd Type=simple, containers)\n"
	      "  -w, --write PATH             append records (JSON Lines) to PATH instead of stdout\n"
	      "      --syslog URL             also send records to a syslog collector (repeatable, up to 8):\n"
	      "                               udp://HOST[:514] tcp://HOST[:514] tls://HOST[:6514] relp://HOST[:2514]\n"
	      "      --syslog-facility NAME   syslog facility (default local0)\n"
	      "      --syslog-ca FILE         tls://: CA certificates that verify the collector (required)\n"
	      "      --syslog-cert FILE       tls://: client certificate (with --syslog-key)\n"
	      "      --syslog-key FILE        tls://: client private key\n"
	      "      --spool-dir DIR          keep undelivered records on disk (sent first at the next start)\n"
	      "      --queue-size N           records queued in memory per collector (default 10000)\n"
	      "      --spool-max-bytes N      spool cap per collector (default 268435456)\n"
	      "      --when-full drop|block   queue and spool full: drop the newest record (default) or wait\n"
	      "  -f, --filter BPF             capture filter (pcap-filter(7) syntax)\n"
	      "  -c, --config FILE            configuration file (name = value; flags override it)\n"
	      "      --rules DIR              mapping tables (*.map), default %s\n"
	      "      --reporter-ip ADDR       Reporter address in records (default: first non-loopback)\n"
	      "      --sensor-name NAME       Description \"Sensor\" (default: host name)\n"
	      "      --geoip FILE.mmdb        add country/AS of the addresses (repeatable, up to 4)\n"
	      "      --assets FILE.csv        operator's Unique IDs and asset names (re-read on SIGHUP)\n"
	      "      --plugin-dir DIR         load dissector plugins (*.so), default %s\n"
	      "      --disable-plugin NAME    do not use that plugin (repeatable)\n"
	      "      --request-timeout P=MS   deadline for protocol P's answers (e.g. modbus=5000)\n"
	      "      --max-flows N            flow table bound (default 262144)\n"
	      "      --max-transactions N     outstanding requests bound (default 65536)\n"
	      "      --max-transactions-per-flow N  (default 1024)\n"
	      "      --max-code-bytes N       Transmitted Code cap in bytes (default 1024)\n"
	      "      --max-stream-bytes N     TCP buffering per direction (default 262144)\n"
	      "      --max-reassembly-bytes N TCP buffering in total (default 268435456)\n"
	      "      --tcp-idle-timeout S     idle TCP flows leave after S seconds (default 600)\n"
	      "      --udp-idle-timeout S     idle UDP flows leave after S seconds (default 120)\n"
	      "      --silence-factor N       silent for N learned periods -> record (default 3)\n"
	      "      --no-ndpi                detect protocols by port and probes only\n"
	      "      --no-stats               no statistics line on stderr at the end\n"
	      "      --check-config           validate configuration and rules, then exit\n"
	      "      --list-codes             print the X.1367 codes (code, message, class)\n"
	      "      --list-plugins           print every dissector (name, version, ABI, ports,\n"
	      "                               file, mapping table) and every plugin refused, why\n"
	      "      --version                print the version\n"
	      "  -h, --help                   this help\n"
	      "Exit status: 0 ok, 1 runtime failure, 2 usage or configuration error.\n",
		rules_dir, plugin_dir);
}

/* A whole number in [min, max], or -1 with err set. */
static int parse_num(const char *name, const char *v, unsigned long long min, unsigned long long max,
		     unsigned long long *out, char err[OPTIONS_ERR_LEN])
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || n < min || n > max) {
		snprintf(err, OPTIONS_ERR_LEN, "--%s: \"%s\" is not a number from %llu to %llu",
			 name, v, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

static int set_size(const char *name, const char *v, unsigned long long min, unsigned long long max,
		    size_t *dst, char err[OPTIONS_ERR_LEN])
{
	unsigned long long n;
	if (parse_num(name, v, min, max, &n, err))
		return -1;
	*dst = (size_t)n;
	return 0;
}

static int set_seconds_ms(const char *name, const char *v, uint32_t *dst, char err[OPTIONS_ERR_LEN])
{
	unsigned long long n;
	if (parse_num(name, v, 1, 86400 * 7, &n, err))
		return -1;
	*dst = (uint32_t)(n * 1000);
	return 0;
}

static int add_to(const char **list, size_t *n, size_t max, const char *v, const char *name,
		  char err[OPTIONS_ERR_LEN])
{
	if (*n >= max) {
		snprintf(err, OPTIONS_ERR_LEN, "--%s: at most %zu", name, max);
		return -1;
	}
	list[(*n)++] = v;
	return 0;
}

/* One setting, from the command line or the file.  `name` is the long
 * option's name (for messages); `id` its getopt value. */
static int apply(struct options *o, int id, const char *name, const char *v, char err[OPTIONS_ERR_LEN])
{
	struct engine_config *ec = &o->engine;
	unsigned long long n;

	switch (id) {
	case 'r': o->read_file = v; return 0;
	case 'i': return add_to(o->ifaces, &o->n_ifaces, 16, v, name, err);
	case 'u': o->user = v; return 0;
	case OPT_SNAPLEN:
		if (parse_num(name, v, 64, 262144, &n, err))
			return -1;
		o->snaplen = (int)n;
		return 0;
	case OPT_BUFFER_SIZE:
		if (parse_num(name, v, 1, 4096, &n, err))
			return -1;
		o->buffer_mib = (int)n;
		return 0;
	case OPT_NO_PROMISC: o->no_promisc = 1; return 0;
	case OPT_IMMEDIATE: o->immediate = 1; return 0;
	case OPT_STATS_INTERVAL:
		if (parse_num(name, v, 0, 86400, &n, err))
			return -1;
		o->stats_interval = (unsigned)n;
		return 0;
	case OPT_STATS_FILE: o->stats_file = v; return 0;
	case OPT_STATS_SYSLOG: o->stats_syslog = 1; return 0;
	case OPT_ALLOW_ROOT: o->allow_root = 1; return 0;
	case OPT_CHROOT: o->chroot_dir = v; return 0;
	case OPT_PID_FILE: o->pid_file = v; return 0;
	case OPT_FOREGROUND: o->foreground = 1; return 0;
	case 'w': o->write_file = v; return 0;
	case 'f': o->bpf = v; return 0;
	case 'c': o->config_file = v; return 0;
	case 'h': o->show_help = 1; return 0;
	case OPT_VERSION: o->show_version = 1; return 0;
	case OPT_LIST_CODES: o->list_codes = 1; return 0;
	case OPT_LIST_PLUGINS: o->list_plugins = 1; return 0;
	case OPT_REPORTER_IP: o->reporter_ip = v; return 0;
	case OPT_RULES: o->rules_dir = v; return 0;
	case OPT_PLUGIN_DIR: o->plugin_dir = v; return 0;
	case OPT_DISABLE_PLUGIN:
		return add_to(o->disabled, &o->n_disabled, OPTIONS_MAX_TIMEOUTS, v, name, err);
	case OPT_SENSOR_NAME: ec->sensor_name = v; return 0;
	case OPT_SYSLOG:
		return add_to(o->syslog.urls, &o->syslog.n_urls, SYSLOG_MAX_URLS, v, name, err);
	case OPT_SYSLOG_FACILITY: o->syslog.facility = v; return 0;
	case OPT_SYSLOG_CA: o->syslog.ca_file = v; return 0;
	case OPT_SYSLOG_CERT: o->syslog.cert_file = v; return 0;
	case OPT_SYSLOG_KEY: o->syslog.key_file = v; return 0;
	case OPT_SPOOL_DIR: o->syslog.spool_dir = v; return 0;
	case OPT_QUEUE_SIZE: return set_size(name, v, 1, 1u << 24, &o->syslog.queue_records, err);
	case OPT_SPOOL_MAX_BYTES:
		if (parse_num(name, v, 65536, 1ull << 40, &n, err))
			return -1;
		o->syslog.spool_max_bytes = n;
		return 0;
	case OPT_WHEN_FULL:
		if (strcmp(v, "drop") && strcmp(v, "block")) {
			snprintf(err, OPTIONS_ERR_LEN, "--when-full: \"%s\" is not drop or block", v);
			return -1;
		}
		o->syslog.block_when_full = !strcmp(v, "block");
		return 0;
	case OPT_ASSETS: o->assets_file = v; return 0;
	case OPT_METRICS_LISTEN: o->metrics_listen = v; return 0;
	case OPT_GEOIP: return add_to(o->geoip, &o->n_geoip, GEOIP_MAX_DBS, v, name, err);
	case OPT_REQUEST_TIMEOUT:
		return add_to(o->timeouts, &o->n_timeouts, OPTIONS_MAX_TIMEOUTS, v, name, err);
	case OPT_NO_NDPI: ec->ndpi_enabled = 0; return 0;
	case OPT_NO_STATS: o->quiet_stats = 1; return 0;
	case OPT_CHECK_CONFIG: o->check_config = 1; return 0;
	case OPT_MAX_FLOWS: return set_size(name, v, 16, 1u << 24, &ec->max_flows, err);
	case OPT_MAX_TXNS: return set_size(name, v, 16, 1u << 24, &ec->max_txns, err);
	case OPT_MAX_TXNS_PER_FLOW: return set_size(name, v, 1, 1u << 20, &ec->max_txns_per_flow, err);
	case OPT_MAX_CODE_BYTES: return set_size(name, v, 1, 65535, &ec->max_code_bytes, err);
	case OPT_MAX_STREAM_BYTES: return set_size(name, v, 4096, 1u << 30, &ec->max_stream_bytes, err);
	case OPT_MAX_REASM_BYTES: return set_size(name, v, 65536, 1ull << 36, &ec->max_reasm_bytes, err);
	case OPT_TCP_IDLE: return set_seconds_ms(name, v, &ec->tcp_idle_ms, err);
	case OPT_UDP_IDLE: return set_seconds_ms(name, v, &ec->udp_idle_ms, err);
	case OPT_SILENCE_FACTOR:
		if (parse_num(name, v, 2, 1000, &n, err))
			return -1;
		ec->silence_factor = (uint32_t)n;
		return 0;
	}
	snprintf(err, OPTIONS_ERR_LEN, "unknown option");
	return -1;
}

/* ---- the configuration file ---------------------------------------------- */

static const char *keep(struct options *o, const char *s)
{
	size_t len = strlen(s) + 1;
	if (o->strings_len + len > o->strings_cap) {
		/* Values are kept by pointer: never move the block once in use,
		 * so each file gets one block sized for the whole file. */
		return NULL;
	}
	char *dst = o->strings + o->strings_len;
	memcpy(dst, s, len);
	o->strings_len += len;
	return dst;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static const struct option *find_long(const char *name)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (!strcmp(lo->name, name))
			return lo;
	return NULL;
}

static int config_line(struct options *o, const char *file, int lineno, char *line,
		       char err[OPTIONS_ERR_LEN])
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *s = trim(line);
	if (!*s)
		return 0;
	char *eq = strchr(s, '=');
	char *name = trim(eq ? (*eq = '\0', s) : s);
	const char *value = eq ? trim(eq + 1) : "";
	const struct option *lo = find_long(name);
	if (!lo || lo->val == 'c' || lo->val == 'h' || lo->val == OPT_VERSION || lo->val == OPT_LIST_CODES ||
	    lo->val == OPT_LIST_PLUGINS ||
	    lo->val == OPT_CHECK_CONFIG) {
		snprintf(err, OPTIONS_ERR_LEN, "%s:%d: unknown setting \"%s\"", file, lineno, name);
		return -1;
	}
	if ((lo->has_arg == required_argument) != (*value != '\0')) {
		snprintf(err, OPTIONS_ERR_LEN, "%s:%d: %s %s", file, lineno, name,
			 *value ? "takes no value" : "needs a value");
		return -1;
	}
	if (lo->has_arg == no_argument && !strcmp(value, ""))
		value = NULL;
	if (value && !(value = keep(o, value))) {
		snprintf(err, OPTIONS_ERR_LEN, "%s:%d: out of memory", file, lineno);
		return -1;
	}
	char msg[OPTIONS_ERR_LEN];
	if (apply(o, lo->val, lo->name, value, msg)) {
		snprintf(err, OPTIONS_ERR_LEN, "%.200s:%d: %.280s", file, lineno, msg);
		return -1;
	}
	return 0;
}

static int load_config(struct options *o, const char *path, char err[OPTIONS_ERR_LEN])
{
	char ferr[FILEIO_ERR_LEN];
	FILE *fp = fileio_fopen_regular(path, ferr);   /* a FIFO would block start-up */
	char line[1024];
	int lineno = 0, rc = 0;

	if (!fp) {
		snprintf(err, OPTIONS_ERR_LEN, "%s", ferr);
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) == 0) {
		long size = ftell(fp);
		if (size < 0 || size > 1024 * 1024) {
			snprintf(err, OPTIONS_ERR_LEN, "%s: not a configuration file (over 1 MiB)", path);
			fclose(fp);
			return -1;
		}
		o->strings_cap = (size_t)size + 1;
		o->strings = calloc(1, o->strings_cap);
		rewind(fp);
	}
	while (!rc && fgets(line, sizeof(line), fp)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(fp)) {
			snprintf(err, OPTIONS_ERR_LEN, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		rc = config_line(o, path, lineno, line, err);
	}
	if (!rc && ferror(fp)) {
		snprintf(err, OPTIONS_ERR_LEN, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	fclose(fp);
	return rc;
}

/* ---- the command line ---------------------------------------------------- */

static const char *short_opts = "r:w:f:c:hi:u:";

static int parse_argv(struct options *o, int argc, char **argv, int only_config,
		      char err[OPTIONS_ERR_LEN])
{
	int c, idx;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, &idx)) != -1) {
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			snprintf(err, OPTIONS_ERR_LEN, "%s: %s", bad,
				 optopt && strchr("rwfciu", optopt) ? "needs a value" :
				 "unknown option (see --help)");
			return -1;
		}
		if (only_config != (c == 'c'))
			continue;
		const char *name = "option";
		for (const struct option *lo = long_opts; lo->name; lo++)
			if (lo->val == c)
				name = lo->name;
		if (apply(o, c, name, optarg, err))
			return -1;
	}
	if (!only_config && optind < argc) {
		snprintf(err, OPTIONS_ERR_LEN, "unexpected argument \"%s\" (see --help)", argv[optind]);
		return -1;
	}
	return 0;
}

int options_parse(struct options *o, int argc, char **argv, char err[OPTIONS_ERR_LEN])
{
	memset(o, 0, sizeof(*o));
	engine_config_defaults(&o->engine);
	o->engine.sensor_name = NULL;
	o->stats_interval = 60;
	if (parse_argv(o, argc, argv, 1, err))
		return -1;
	if (o->config_file && load_config(o, o->config_file, err))
		return -1;
	return parse_argv(o, argc, argv, 0, err);
}

void options_free(struct options *o)
{
	free(o->strings);
	o->strings = NULL;
}
