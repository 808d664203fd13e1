/*
 * x1367ids: a passive IDS sensor that reports the errors edge devices
 * answer on the wire as ITU-T X.1367 records.  This file only sets up:
 * options, rules, outputs, the engine and the packet source.
 */
#include <errno.h>
#include <json-c/json.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syslog.h>   /* the C library's syslog(3); "syslog.h" below is ours */
#include <sys/time.h>
#include <unistd.h>
#include "config.h"
#include "addr.h"
#include "assets.h"
#include "capture.h"
#include "daemon.h"
#include "engine.h"
#include "fileio.h"
#include "inventory.h"
#include "geoip.h"
#include "metrics.h"
#include "options.h"
#include "paths.h"
#include "output.h"
#include "plugin.h"
#include "registry.h"
#include "rules.h"
#include "x1367_codes.h"
#include "syslog.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

/* Set by the handler, read and cleared by the main loop.  The handler
 * runs in the main thread (the syslog threads block these signals), where
 * volatile sig_atomic_t would do; lock-free atomics are also right if it
 * ever runs in another thread (C11 7.14.1.1 allows them in a handler, and
 * they order the flag between threads, which volatile does not).  Relaxed
 * is enough: a flag publishes no other data, and the loop only needs to
 * see it eventually (the signal also wakes its poll()). */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the signal flags need a lock-free atomic int");
static atomic_int stop_requested, reload_requested, stats_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		atomic_store_explicit(&reload_requested, 1, memory_order_relaxed);
	else if (sig == SIGUSR1)
		atomic_store_explicit(&stats_requested, 1, memory_order_relaxed);
	else
		atomic_store_explicit(&stop_requested, 1, memory_order_relaxed);
}

/* No SA_RESTART: a signal wakes the live loop out of poll() at once. */
static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);   /* a closed stdout is a write error, not a kill */
}

/* The one line a failure gets on stderr. */
static void fail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail_line(const char *fmt, ...)
{
	va_list ap;
	fputs("x1367ids: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The Recommendation wants IPv6 uncompressed and uppercase: normalise. */
static int reporter_text(const char *given, char out[ADDR_STR_MAX])
{
	struct x1367_addr a;
	if (given) {
		if (addr_parse(given, &a))
			return -1;
		addr_format(&a, out, ADDR_STR_MAX);
		return 0;
	}
	struct ifaddrs *ifs, *i;
	snprintf(out, ADDR_STR_MAX, "0.0.0.0");
	if (getifaddrs(&ifs))
		return 0;
	/* First non-loopback IPv4 address; an IPv6 one if there is none. */
	for (int want = AF_INET; want; want = want == AF_INET ? AF_INET6 : 0)
		for (i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != want || (i->ifa_flags & IFF_LOOPBACK))
				continue;
			memset(&a, 0, sizeof(a));
			if (want == AF_INET) {
				a.family = X1367_IPV4;
				memcpy(a.bytes, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
			} else {
				a.family = X1367_IPV6;
				memcpy(a.bytes, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
			}
			addr_format(&a, out, ADDR_STR_MAX);
			freeifaddrs(ifs);
			return 0;
		}
	freeifaddrs(ifs);
	return 0;
}

static void warn_line(const char *msg, void *arg)
{
	(void)arg;
	fprintf(stderr, "x1367ids: warning: %s\n", msg);
}

/* A dissector without a mapping table turns every error into FF: said at
 * start, in --check-config and on reload, once per dissector.  (Rows of a
 * protocol no dissector has: rules_load_dir skips such a table with a
 * warning, or refuses a table that mixes it with known ones.) */
static void warn_missing_tables(const struct registry *reg, const struct rules *rules, const char *dir)
{
	char msg[512];

	for (size_t i = 0; i < reg->n; i++) {
		const char *name = reg->e[i].d->name;
		if (rules_has_protocol(rules, name))
			continue;
		snprintf(msg, sizeof(msg),
			 "dissector \"%.64s\" has no mapping table in %.300s: every error it reports will be FF "
			 "(add %.64s.map)", name, dir, name);
		warn_line(msg, NULL);
	}
}

static int protocol_known(const char *name, void *arg)
{
	return registry_find(arg, name) != NULL;
}

static int apply_timeouts(struct registry *reg, const struct options *o, char err[OPTIONS_ERR_LEN])
{
	for (size_t i = 0; i < o->n_timeouts; i++) {
		char name[64];
		const char *eq = strchr(o->timeouts[i], '=');
		char *end;
		if (!eq || eq == o->timeouts[i] || (size_t)(eq - o->timeouts[i]) >= sizeof(name))
			goto bad;
		snprintf(name, sizeof(name), "%.*s", (int)(eq - o->timeouts[i]), o->timeouts[i]);
		unsigned long ms = strtoul(eq + 1, &end, 10);
		struct registry_entry *e = (struct registry_entry *)registry_find(reg, name);
		if (!e) {
			snprintf(err, OPTIONS_ERR_LEN, "--request-timeout: unknown protocol \"%s\"", name);
			return -1;
		}
		if (!eq[1] || *end || ms < 1 || ms > 3600000)
			goto bad;
		e->timeout_ms = (uint32_t)ms;
	}
	return 0;
bad:
	snprintf(err, OPTIONS_ERR_LEN, "--request-timeout: expected PROTOCOL=MILLISECONDS (1..3600000)");
	return -1;
}

struct setup {
	struct options opt;
	struct registry reg;
	struct plugin_set plugins;
	struct rules *rules;
	struct geoip *geo;
	struct assets *assets;         /* --assets, re-read on SIGHUP */
	struct metrics *metrics;       /* --metrics-listen, live */
	struct output *out;
	struct default_paths defaults; /* rules and plugins when no flag names them */
	const char *rules_dir;         /* --rules, or the default */
	char reporter[ADDR_STR_MAX];
	char hostname[HOST_NAME_MAX + 1];
	struct daemon_user target;     /* live: who the sensor becomes */
	struct daemon_pidfile pid;     /* --pid-file, removed at exit */
	struct fileio_out stats_loc;   /* --stats-file, live */
	FILE *statsfp;
};

/* --list-plugins: load what a start would (built-ins, every plugin the
 * configuration allows, the tables), but go on past a refused plugin and
 * list it with why.  Exit 0, 1 when some plugin file was refused, 2 when
 * the plugin directory itself cannot be read. */
static int list_plugins(struct setup *s)
{
	static struct inventory_refusals ref;
	char rerr[REGISTRY_ERR_LEN], perr[PLUGIN_ERR_LEN], err[RULES_ERR_LEN];
	const char *dir = s->opt.plugin_dir ? s->opt.plugin_dir : s->defaults.plugin_dir;

	if (registry_add_builtins(&s->reg, rerr))
		return fail_line("%s", rerr), EXIT_USAGE;
	s->plugins.on_refused = inventory_refused;
	s->plugins.arg = &ref;
	if (plugins_load_dir(&s->plugins, &s->reg, dir, s->opt.plugin_dir != NULL, s->opt.disabled,
			     s->opt.n_disabled, perr))
		return fail_line("%s", perr), EXIT_USAGE;
	s->rules = rules_new();
	if (s->rules && rules_load_dir(s->rules, s->rules_dir, protocol_known, &s->reg, err)) {
		fail_line("mapping tables not read: %s", err);
		rules_free(s->rules);
		s->rules = NULL;
	}
	return inventory_print(stdout, &s->reg, &s->plugins, s->rules, &ref) ? 1 : 0;
}

/* Everything that can be wrong in the configuration: exit 2. */
static int configure(struct setup *s, int argc, char **argv)
{
	char err[OPTIONS_ERR_LEN > RULES_ERR_LEN ? OPTIONS_ERR_LEN : RULES_ERR_LEN];
	char rerr[REGISTRY_ERR_LEN], gerr[GEOIP_ERR_LEN], perr[PLUGIN_ERR_LEN], serr[SYSLOG_ERR_LEN];

	if (options_parse(&s->opt, argc, argv, err))
		return fail_line("%s", err), -1;
	paths_defaults(&s->defaults);
	s->rules_dir = s->opt.rules_dir ? s->opt.rules_dir : s->defaults.rules_dir;
	if (s->opt.show_help || s->opt.show_version || s->opt.list_codes || s->opt.list_plugins)
		return 0;
	if (!s->opt.read_file && !s->opt.n_ifaces && !s->opt.check_config)
		return fail_line("%s", "nothing to read: give -r FILE or -i IFACE (see --help)"), -1;
	if (s->opt.read_file && s->opt.n_ifaces)
		return fail_line("%s", "-r and -i exclude each other"), -1;
	if (s->opt.n_ifaces && !s->opt.foreground && !s->opt.write_file)
		return fail_line("%s", "a daemon has no standard output: give -w PATH, or --foreground"), -1;
	if (reporter_text(s->opt.reporter_ip, s->reporter))
		return fail_line("--reporter-ip: \"%s\" is not an IPv4 or IPv6 address", s->opt.reporter_ip), -1;
	if (registry_add_builtins(&s->reg, rerr))
		return fail_line("%s", rerr), -1;
	if (plugins_load_dir(&s->plugins, &s->reg, s->opt.plugin_dir ? s->opt.plugin_dir : s->defaults.plugin_dir,
			     s->opt.plugin_dir != NULL, s->opt.disabled, s->opt.n_disabled, perr))
		return fail_line("%s", perr), -1;
	if (apply_timeouts(&s->reg, &s->opt, err))
		return fail_line("%s", err), -1;
	s->rules = rules_new();
	if (s->rules)
		rules_set_warn(s->rules, warn_line, NULL);
	if (!s->rules || rules_load_dir(s->rules, s->rules_dir, protocol_known, &s->reg, err))
		return fail_line("%s", s->rules ? err : "out of memory"), -1;
	warn_missing_tables(&s->reg, s->rules, s->rules_dir);
	rules_report_shadowed(s->rules, warn_line, NULL);
	if (s->opt.n_geoip && !(s->geo = geoip_new()))
		return fail_line("%s", "out of memory"), -1;
	for (size_t i = 0; i < s->opt.n_geoip; i++)
		if (geoip_open(s->geo, s->opt.geoip[i], gerr))
			return fail_line("%s", gerr), -1;
	if (s->opt.assets_file) {
		char aerr[ASSETS_ERR_LEN];
		if (!(s->assets = assets_load(s->opt.assets_file, aerr)))
			return fail_line("%s", aerr), -1;
	}
	/* The syslog settings as the run will use them (it opens the
	 * destinations later, after dropping root): --check-config and the
	 * run reject the same settings with the same line. */
	if (syslog_check_config(&s->opt.syslog, serr))
		return fail_line("%s", serr), -1;
	if (s->opt.metrics_listen) {
		char merr[METRICS_ERR_LEN];
		if (metrics_check_listen(s->opt.metrics_listen, merr))
			return fail_line("%s", merr), -1;
		if (s->opt.read_file)
			return fail_line("%s", "--metrics-listen needs live capture (-i): a replay ends with its file"), -1;
	}
	/* Live: the user to become (-u, or x1367ids), asked now rather than
	 * after the interfaces are open: the outputs are opened as that user. */
	if (s->opt.n_ifaces) {
		char derr[DAEMON_ERR_LEN];
		if (daemon_target_user(s->opt.user, s->opt.allow_root, &s->target, derr))
			return fail_line("%s", derr), -1;
	}
	if (!s->opt.engine.sensor_name) {
		if (gethostname(s->hostname, sizeof(s->hostname) - 1))
			snprintf(s->hostname, sizeof(s->hostname), "x1367ids");
		s->opt.engine.sensor_name = s->hostname;
	}
	s->opt.engine.reporter_ip = s->reporter;
	return 0;
}

/* The syslog sinks start threads: after daemon_detach() (threads do not
 * survive fork) and after dropping root (the spool is the user's). */
static int open_syslog(struct setup *s, char err[SYSLOG_ERR_LEN])
{
	if (!s->opt.syslog.n_urls)
		return 0;
	if (!s->opt.syslog.hostname)
		s->opt.syslog.hostname = s->opt.engine.sensor_name;
	return syslog_add_sinks(s->out, &s->opt.syslog, err);
}

/* The -w file and (live) the --stats-file.
 *
 * Live as root, these are opened with the rights of the user the sensor is
 * about to become (daemon_as_user), not root's: a log directory that user
 * owns (README, the systemd unit) is the user's to fill with links, and
 * whatever it points a name at, root must not create, append to or
 * truncate.  Opened so, a file exists only where the user itself could
 * write one, a new file belongs to the user, and the SIGHUP reopen after the
 * drop (logrotate) has exactly the rights of the first open: what opened at
 * start reopens later.  Not "open after the drop": the files are opened
 * before the terminal is left, so a failure is told to whoever started the
 * sensor, and a --chroot directory need not hold the log directory (the
 * directory is kept open: fileio.h).  On top, as for every output: no
 * symbolic link as the last component, a regular file of its own, no
 * directory a stranger may write without the sticky bit. */
static int open_outputs(struct setup *s)
{
	char derr[DAEMON_ERR_LEN], ferr[FILEIO_ERR_LEN];
	int as_user = s->opt.n_ifaces && s->target.set, rc = 0;

	s->out = output_new();
	if (!s->out)
		return fail_line("%s", "out of memory"), -1;
	if (!s->opt.write_file && output_add_stream(s->out, stdout))
		return fail_line("%s", "out of memory"), -1;
	if (!s->opt.write_file && !(s->opt.n_ifaces && s->opt.stats_file))
		return 0;
	if (as_user && daemon_as_user(&s->target, derr))
		return fail_line("%s", derr), -1;
	if (s->opt.write_file && output_add_file(s->out, s->opt.write_file, s->target.gid)) {
		snprintf(ferr, sizeof(ferr), "%s", output_last_error());
		rc = -1;
	}
	if (!rc && s->opt.n_ifaces && s->opt.stats_file) {
		char e[FILEIO_ERR_LEN];
		if (fileio_out_init(&s->stats_loc, s->opt.stats_file, s->target.gid, e) ||
		    !(s->statsfp = fileio_out_append(&s->stats_loc, e))) {
			snprintf(ferr, sizeof(ferr), "--stats-file %.480s", e);
			rc = -1;
		}
	}
	if (as_user)
		daemon_as_root();
	if (rc && as_user)
		fail_line("%s (opened as user %s, whom the sensor becomes)", ferr, s->target.name);
	else if (rc)
		fail_line("%s", ferr);
	return rc;
}

/* Packets cut by the snapshot length lose what the dissectors need (a
 * 16- or 60-byte snaplen leaves no payload at all): records may be missing
 * and nothing else would say so.  One line, the first time; the count is
 * in the statistics (packets_truncated_by_snaplen). */
static void warn_truncated(struct capture *cap, const char *what, int *warned)
{
	uint32_t kept;
	uint64_t n = capture_truncated(cap, &kept);
	if (!n || *warned)
		return;
	*warned = 1;
	fail_line("%s: %llu packet%s cut short by the snaplen (at most %u bytes kept of each): records may be missing "
		  "(packets_truncated_by_snaplen in the statistics)",
		  what, (unsigned long long)n, n == 1 ? "" : "s", (unsigned)kept);
}

static void add_truncated(json_object *o, struct capture *cap)
{
	uint32_t kept;
	json_object_object_add(o, "packets_truncated_by_snaplen",
			       json_object_new_uint64(capture_truncated(cap, &kept)));
}

/* Replay one capture file through the engine. */
static int replay(struct setup *s)
{
	char err[CAPTURE_ERR_LEN > ENGINE_ERR_LEN ? CAPTURE_ERR_LEN : ENGINE_ERR_LEN];
	enum capture_error why;
	int rc = 0;

	struct capture *cap = capture_open_file(s->opt.read_file, s->opt.bpf, &why, err);
	if (!cap)
		return fail_line("%s", err), why == CAPTURE_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
	struct engine *e = engine_new(&s->opt.engine, &s->reg, s->rules, s->out, s->geo, err);
	if (!e) {
		capture_close(cap);
		return fail_line("%s", err), EXIT_RUNTIME;
	}
	engine_set_assets(e, s->assets);
	if (engine_set_linktype(e, capture_linktype(cap))) {
		fprintf(stderr, "x1367ids: %s: link type %s (%d) is not supported\n", s->opt.read_file,
			capture_linktype_name(cap), capture_linktype(cap));
		rc = EXIT_RUNTIME;
	} else if (capture_run(cap, e, &stop_requested, err)) {
		fail_line("%s", err);
		rc = EXIT_RUNTIME;
	}
	int warned = 0;
	warn_truncated(cap, s->opt.read_file, &warned);
	engine_finish(e);
	if (output_flush(s->out) || output_stats(s->out)->write_errors) {
		fail_line("%s", "writing records failed (see write errors in the statistics)");
		rc = EXIT_RUNTIME;
	}
	syslog_shutdown();   /* up to 5 s for the collectors, the rest spooled */
	if (!s->opt.quiet_stats) {
		json_object *o = engine_stats_json(e);
		add_truncated(o, cap);
		syslog_stats_json(o);
		fprintf(stderr, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	}
	engine_free(e);
	capture_close(cap);
	return rc;
}

/* ---- live capture -------------------------------------------------------- */

static uint64_t wall_usec(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* SIGHUP: the asset table read again, or the old one kept (a table is
 * loaded whole or not at all). */
static void reload_assets(struct setup *s, struct engine *e)
{
	char err[ASSETS_ERR_LEN];
	struct assets *fresh;

	if (!s->opt.assets_file)
		return;
	if (!(fresh = assets_load(s->opt.assets_file, err))) {
		fail_line("reload failed: %s; keeping the previous asset table (%zu keys)", err,
			  assets_count(s->assets));
		return;
	}
	engine_set_assets(e, fresh);
	assets_free(s->assets);
	s->assets = fresh;
	fprintf(stderr, "x1367ids: reloaded %zu asset keys from %s\n", assets_count(fresh), s->opt.assets_file);
}

/* SIGHUP: new tables from the same directory, or the old ones kept; the
 * -w file reopened (logrotate). */
static void reload(struct setup *s, struct engine *e)
{
	char err[RULES_ERR_LEN];
	struct rules *fresh = rules_new();

	if (fresh)
		rules_set_warn(fresh, warn_line, NULL);
	if (!fresh || rules_load_dir(fresh, s->rules_dir, protocol_known, &s->reg, err)) {
		fail_line("reload failed: %s; keeping the previous tables", fresh ? err : "out of memory");
		rules_free(fresh);
	} else {
		engine_set_rules(e, fresh);
		rules_free(s->rules);
		s->rules = fresh;
		warn_missing_tables(&s->reg, fresh, s->rules_dir);
		rules_report_shadowed(fresh, warn_line, NULL);
		fprintf(stderr, "x1367ids: reloaded %zu mapping rows\n", rules_count(fresh));
	}
	reload_assets(s, e);
	if (output_reopen(s->out))
		fail_line("reopening %s failed: %s", s->opt.write_file ? "-w" : "outputs",
			  s->opt.write_file ? output_last_error() : strerror(errno));
}

/* The engine's statistics plus each interface's own counters (kernel and
 * interface drops: the blind spots) and each collector's. */
static json_object *live_stats_json(struct engine *e, struct capture *cap)
{
	struct capture_source_stats cs[CAPTURE_MAX_SOURCES];
	size_t n = capture_stats(cap, cs, CAPTURE_MAX_SOURCES);
	json_object *o = engine_stats_json(e), *c = json_object_new_object();

	for (size_t i = 0; i < n; i++) {
		json_object *one = json_object_new_object();
		json_object_object_add(one, "received", json_object_new_uint64(cs[i].received));
		json_object_object_add(one, "dropped_kernel", json_object_new_uint64(cs[i].dropped_kernel));
		json_object_object_add(one, "dropped_interface", json_object_new_uint64(cs[i].dropped_interface));
		json_object_object_add(c, cs[i].name, one);
	}
	json_object_object_add(o, "capture", c);
	add_truncated(o, cap);
	syslog_stats_json(o);
	return o;
}

static void write_live_stats(struct engine *e, struct capture *cap, FILE *fp, int to_syslog)
{
	json_object *o = live_stats_json(e, cap);
	const char *line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	fprintf(fp, "%s\n", line);
	fflush(fp);
	/* --stats-syslog: the host's own syslog sees the blind spots too. */
	if (to_syslog)
		syslog(LOG_DAEMON | LOG_INFO, "statistics %s", line);
	json_object_put(o);
}

/* --metrics-listen: the same numbers as the statistics line, plus the
 * memory in use now, rendered here (between packets, once a second) and
 * handed to the server thread without a lock (metrics.h). */
static void publish_metrics(struct metrics *m, struct engine *e, struct capture *cap)
{
	json_object *o = live_stats_json(e, cap);
	long pages = 0, rss = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp) {
		if (fscanf(fp, "%ld %ld", &pages, &rss) == 2)
			json_object_object_add(o, "resident_memory_kb",
					       json_object_new_int64(rss * (sysconf(_SC_PAGESIZE) / 1024)));
		fclose(fp);
	}
	metrics_publish(m, metrics_render(o));
	json_object_put(o);
}

/* SIGHUP also lets logrotate move the statistics file (opened again in
 * its directory, with the checks of the first open). */
static void reopen_stats(struct setup *s, FILE **statsfp)
{
	char err[FILEIO_ERR_LEN];
	FILE *fresh;
	if (!s->statsfp)
		return;
	if (!(fresh = fileio_out_append(&s->stats_loc, err))) {
		fail_line("reopening --stats-file failed: %s", err);
		return;
	}
	fclose(*statsfp);
	*statsfp = s->statsfp = fresh;
}

static int live_loop(struct setup *s, struct engine *e, struct capture *cap, FILE **statsfp)
{
	char err[CAPTURE_ERR_LEN];
	uint64_t every = (uint64_t)s->opt.stats_interval * 1000000u;
	uint64_t next_stats = wall_usec() + every;

	uint64_t written = engine_records(e);
	uint64_t next_metrics = 0;
	int warned = 0;

	while (!atomic_load_explicit(&stop_requested, memory_order_relaxed)) {
		if (capture_poll(cap, e, 200, err) < 0) {
			fail_line("%s", err);
			return EXIT_RUNTIME;
		}
		warn_truncated(cap, "live capture (--snaplen)", &warned);
		uint64_t now = wall_usec();
		/* Deadlines pass with the clock even when nothing is captured. */
		engine_tick(e, now);
		/* A record leaves the sensor within a poll round, not when a
		 * stdio buffer happens to fill. */
		if (engine_records(e) != written) {
			written = engine_records(e);
			output_flush(s->out);
		}
		if (atomic_exchange_explicit(&reload_requested, 0, memory_order_relaxed)) {
			reload(s, e);
			reopen_stats(s, statsfp);
		}
		if (atomic_exchange_explicit(&stats_requested, 0, memory_order_relaxed) || (every && now >= next_stats)) {
			next_stats = now + every;
			write_live_stats(e, cap, *statsfp, s->opt.stats_syslog);
		}
		if (s->metrics && now >= next_metrics) {
			next_metrics = now + 1000000u;
			publish_metrics(s->metrics, e, cap);
		}
	}
	return 0;
}

/* Leave the terminal (unless --foreground), write the pid file, drop root.
 * Returns the exit status on failure (message already given), else 0;
 * *notify is the descriptor the waiting parent reads (or -1). */
static int become_daemon(struct setup *s, int *notify)
{
	char err[DAEMON_ERR_LEN > SYSLOG_ERR_LEN ? DAEMON_ERR_LEN : SYSLOG_ERR_LEN], serr[SYSLOG_ERR_LEN];
	int rc = 0;

	*notify = -1;
	if (!s->opt.foreground && (*notify = daemon_detach(err)) < 0) {
		fail_line("%s", err);
		return EXIT_RUNTIME;
	}
	if (s->opt.pid_file && daemon_write_pid(&s->pid, s->opt.pid_file, s->target.gid, err))
		rc = EXIT_RUNTIME;
	else if (daemon_drop_privileges(s->opt.user, s->opt.allow_root, s->opt.chroot_dir, err))
		rc = EXIT_USAGE;
	else if (open_syslog(s, serr)) {
		snprintf(err, sizeof(err), "%s", serr);
		rc = EXIT_USAGE;
	} else if (s->metrics && metrics_start(s->metrics, serr)) {
		snprintf(err, sizeof(err), "%s", serr);
		rc = EXIT_RUNTIME;
	}
	if (rc) {
		daemon_remove_pid(&s->pid);   /* no pid file of a sensor that never ran */
		/* Detached, stderr is /dev/null: the parent says it. */
		if (*notify >= 0)
			daemon_ready(*notify, rc, err);
		else
			fail_line("%s", err);
	}
	return rc;
}

/* Open what needs root, leave the terminal, drop root, then capture. */
static int run_live(struct setup *s)
{
	char err[CAPTURE_ERR_LEN];
	struct capture_live_opts lo = {
		.n_ifaces = s->opt.n_ifaces, .snaplen = s->opt.snaplen, .buffer_mib = s->opt.buffer_mib,
		.promisc = !s->opt.no_promisc, .immediate = s->opt.immediate, .bpf = s->opt.bpf,
	};
	enum capture_error why;
	FILE *statsfp = s->statsfp ? s->statsfp : stderr;
	int rc, notify;

	memcpy(lo.ifaces, s->opt.ifaces, sizeof(lo.ifaces));
	struct capture *cap = capture_open_live(&lo, &why, err);
	if (!cap)
		return fail_line("%s", err), why == CAPTURE_USAGE ? EXIT_USAGE : EXIT_RUNTIME;
	/* Bound now, as root and on the terminal (a port below 1024, a port
	 * in use: said to whoever starts it); served after the detach. */
	if (s->opt.metrics_listen) {
		char merr[METRICS_ERR_LEN];
		if (!(s->metrics = metrics_bind(s->opt.metrics_listen, merr))) {
			capture_close(cap);
			return fail_line("%s", merr), EXIT_RUNTIME;
		}
	}
	struct engine *e = engine_new(&s->opt.engine, &s->reg, s->rules, s->out, s->geo, err);
	if (!e || capture_check_linktypes(cap, e, err)) {
		fail_line("%s", err);
		engine_free(e);
		capture_close(cap);
		return EXIT_RUNTIME;
	}
	engine_set_assets(e, s->assets);
	if ((rc = become_daemon(s, &notify)) == 0) {
		daemon_ready(notify, 0, NULL);
		rc = live_loop(s, e, cap, &statsfp);
		metrics_stop(s->metrics);   /* no more scrapes once the sensor winds down */
		s->metrics = NULL;
		/* Stopping: requests whose deadline passed are reported, the
		 * rest counted as pending; then the last statistics. */
		engine_finish(e);
		if (!s->opt.quiet_stats)
			write_live_stats(e, cap, statsfp, s->opt.stats_syslog);
		daemon_remove_pid(&s->pid);
	}
	if (statsfp && statsfp != stderr)
		fclose(statsfp);
	s->statsfp = NULL;
	fileio_out_free(&s->stats_loc);
	engine_free(e);
	capture_close(cap);
	return rc;
}

int main(int argc, char **argv)
{
	static struct setup s;
	int rc;

	install_signals();
	if (configure(&s, argc, argv)) {
		rc = EXIT_USAGE;
	} else if (s.opt.show_help) {
		options_usage(stdout, s.defaults.rules_dir, s.defaults.plugin_dir);
		rc = 0;
	} else if (s.opt.show_version) {
		printf("x1367ids %s (dissector ABI %d.%d)\n", PACKAGE_VERSION, X1367_ABI_MAJOR, X1367_ABI_MINOR);
		rc = 0;
	} else if (s.opt.list_codes) {
		const char *code, *msg, *cls;
		for (size_t i = 0; x1367_code_row(i, &code, &msg, &cls); i++)
			printf("%s\t%s\t%s\n", code, msg, cls);
		rc = 0;
	} else if (s.opt.list_plugins) {
		rc = list_plugins(&s);
	} else if (s.opt.check_config) {
		fprintf(stderr, "x1367ids: configuration ok (%zu dissectors, %zu mapping rows from %s", s.reg.n,
			rules_count(s.rules), s.rules_dir);
		if (s.assets)
			fprintf(stderr, ", %zu asset keys from %s", assets_count(s.assets), s.opt.assets_file);
		fputs(")\n", stderr);
		rc = 0;
	} else {
		char serr[SYSLOG_ERR_LEN];
		if (open_outputs(&s))
			rc = EXIT_RUNTIME;
		else if (s.opt.n_ifaces)
			rc = run_live(&s);
		else if (open_syslog(&s, serr))
			rc = (fail_line("%s", serr), EXIT_USAGE);
		else
			rc = replay(&s);
	}
	syslog_shutdown();
	metrics_stop(s.metrics);     /* a start that failed after binding */
	daemon_remove_pid(&s.pid);   /* every way out */
	if (s.statsfp)
		fclose(s.statsfp);
	fileio_out_free(&s.stats_loc);
	output_free(s.out);
	geoip_free(s.geo);
	assets_free(s.assets);
	rules_free(s.rules);
	plugins_unload(&s.plugins);
	options_free(&s.opt);
	return rc;
}
