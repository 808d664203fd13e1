/*
 * Prometheus metrics over HTTP (libmicrohttpd).  See metrics.h.
 *
 * Two halves.  metrics_render() turns the statistics object -- the very
 * numbers of the statistics line, so the two never disagree -- into the
 * text exposition format: every counter a "_total" family, maps of
 * protocols, interfaces, collectors, codes and reasons as labels, memory
 * in bytes, a HELP and TYPE line for each family (promtool check metrics
 * passes).  The server half owns one listening socket and one
 * libmicrohttpd thread.
 *
 * The hand-over is a mailbox of one atomic pointer: the live loop
 * exchanges its new text in and frees whatever the server had not yet
 * taken; the server thread exchanges NULL in and, if it got a text, makes
 * it its current one.  Each text has exactly one owner at any time, and
 * neither side ever waits for the other.  libmicrohttpd runs one internal
 * thread (no thread per connection), so `current` belongs to that thread
 * alone; responses copy it.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define MAX_KEYS 64           /* distinct keys of one map's entries */

/* ---- a growing string ------------------------------------------------------ */

struct sb {
	char *p;
	size_t n, cap;
	int oom;
};

static void sb_add(struct sb *b, const char *s, size_t len)
{
	if (b->oom)
		return;
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + len + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void sb_str(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* [a-zA-Z0-9_] only: anything else in a statistics key becomes '_'. */
static void sb_name(struct sb *b, const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			c = '_';
		sb_add(b, &c, 1);
	}
}

/* A label value: backslash, double quote and line feed escaped. */
static void sb_label_value(struct sb *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_str(b, "\\\\");
		else if (*s == '"')
			sb_str(b, "\\\"");
		else if (*s == '\n')
			sb_str(b, "\\n");
		else
			sb_add(b, s, 1);
	}
}

/* ---- families ---------------------------------------------------------------- */

static int is_number(json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double) ||
	       json_object_is_type(v, json_type_boolean);
}

static void sb_value(struct sb *b, json_object *v, double scale)
{
	char num[48];

	if (json_object_is_type(v, json_type_boolean))
		snprintf(num, sizeof(num), "%d", json_object_get_boolean(v) ? 1 : 0);
	else if (json_object_is_type(v, json_type_double) || scale != 1)
		snprintf(num, sizeof(num), "%.17g", json_object_get_double(v) * scale);
	else if (json_object_get_int64(v) < 0)
		snprintf(num, sizeof(num), "%lld", (long long)json_object_get_int64(v));
	else
		snprintf(num, sizeof(num), "%llu", (unsigned long long)json_object_get_uint64(v));
	sb_str(b, num);
}

/* What one statistics key becomes. */
struct family {
	const char *name;          /* without "x1367ids_" and "_total" */
	int gauge;                 /* else a counter (name + "_total") */
	double scale;              /* 1024 for the *_kb keys */
	const char *help;          /* NULL: "statistics line: <path>" */
};

static const char *const gauges[] = {
	"requests_pending", "peak_active", "peak_pending", "senders_still_talking",
	"queued", "spooled", "spool_bytes", "connected", NULL,
};

static int is_gauge(const char *key)
{
	for (size_t i = 0; gauges[i]; i++)
		if (!strcmp(gauges[i], key))
			return 1;
	return 0;
}

/* The family of `key` under `prefix` ("" at the top, "flows_", ...). */
static void family_of(const char *prefix, const char *key, char *name, size_t cap, struct family *f)
{
	size_t n = strlen(key);

	f->gauge = is_gauge(key);
	f->scale = 1;
	f->help = NULL;
	/* Memory in base units, as the exposition format asks. */
	if (n > 3 && !strcmp(key + n - 3, "_kb")) {
		snprintf(name, cap, "%s%.*s_bytes", prefix, (int)(n - 3), key);
		f->gauge = 1;
		f->scale = 1024;
	} else {
		snprintf(name, cap, "%s%s", prefix, key);
	}
	f->name = name;
}

static void header(struct sb *b, const struct family *f, const char *path)
{
	const char *suffix = f->gauge ? "" : "_total";

	sb_str(b, "# HELP x1367ids_");
	sb_name(b, f->name);
	sb_str(b, suffix);
	sb_str(b, " ");
	if (f->help) {
		sb_str(b, f->help);
	} else {
		sb_str(b, "x1367ids statistics line: ");
		sb_str(b, path);
	}
	sb_str(b, "\n# TYPE x1367ids_");
	sb_name(b, f->name);
	sb_str(b, suffix);
	sb_str(b, f->gauge ? " gauge\n" : " counter\n");
}

/* One sample; labels: NULL-terminated name/value pairs. */
static void sample(struct sb *b, const struct family *f, const char *const *labels, json_object *v)
{
	sb_str(b, "x1367ids_");
	sb_name(b, f->name);
	sb_str(b, f->gauge ? "" : "_total");
	for (size_t i = 0; labels && labels[i]; i += 2) {
		sb_str(b, i ? "," : "{");
		sb_name(b, labels[i]);
		sb_str(b, "=\"");
		sb_label_value(b, labels[i + 1]);
		sb_str(b, "\"");
	}
	if (labels && labels[0])
		sb_str(b, "}");
	sb_str(b, " ");
	sb_value(b, v, f->scale);
	sb_str(b, "\n");
}

/* ---- the statistics object, section by section -------------------------- */

/* {"created": 3, ...}: one family per key, prefix "flows_". */
static void render_scalars(struct sb *b, const char *section, json_object *o)
{
	char prefix[64], name[128], path[128];
	struct family f;

	snprintf(prefix, sizeof(prefix), "%s_", section);
	json_object_object_foreach(o, key, v) {
		if (!is_number(v))
			continue;
		family_of(prefix, key, name, sizeof(name), &f);
		snprintf(path, sizeof(path), "%s.%s", section, key);
		header(b, &f, path);
		sample(b, &f, NULL, v);
	}
}

/* {"02": 5, "31": 1}: one family, the key as a label. */
static void render_labelled(struct sb *b, const char *fname, const char *label, const char *path,
			    json_object *o)
{
	struct family f = { fname, 0, 1, NULL };

	if (!json_object_object_length(o))
		return;
	header(b, &f, path);
	json_object_object_foreach(o, key, v) {
		const char *labels[] = { label, key, NULL };
		if (is_number(v))
			sample(b, &f, labels, v);
	}
}

/* The distinct keys of every entry of a map of objects, in first-seen order. */
static size_t union_keys(json_object *map, const char **keys, size_t max)
{
	size_t n = 0;

	json_object_object_foreach(map, entry, obj) {
		(void)entry;
		if (!json_object_is_type(obj, json_type_object))
			continue;
		json_object_object_foreach(obj, key, v) {
			size_t i;
			(void)v;
			for (i = 0; i < n && strcmp(keys[i], key); i++)
				;
			if (i == n && n < max)
				keys[n++] = key;
		}
	}
	return n;
}

/* {"modbus": {"events": {"stream_gap": 2}}}: entry and event as labels. */
static void render_nested(struct sb *b, const char *section, const char *label, const char *key,
			  json_object *map)
{
	char name[128], path[128], inner[32];
	struct family f;
	int any = 0;

	snprintf(name, sizeof(name), "%s_%s", section, key);
	snprintf(path, sizeof(path), "%s.*.%s", section, key);
	/* "events" -> label "event" */
	snprintf(inner, sizeof(inner), "%.*s", (int)(strlen(key) > 1 ? strlen(key) - 1 : 1), key);
	f = (struct family){ name, 0, 1, NULL };
	json_object_object_foreach(map, entry, obj) {
		json_object *sub;
		if (!json_object_object_get_ex(obj, key, &sub) || !json_object_is_type(sub, json_type_object))
			continue;
		json_object_object_foreach(sub, k, v) {
			const char *labels[] = { label, entry, inner, k, NULL };
			if (!is_number(v))
				continue;
			if (!any++)
				header(b, &f, path);
			sample(b, &f, labels, v);
		}
	}
}

/* {"modbus": {"flows": 1, ...}, "mqtt": {...}}: one family per key, the
 * entry's name as a label; families grouped as the format requires. */
static void render_map(struct sb *b, const char *section, const char *label, json_object *map)
{
	const char *keys[MAX_KEYS];
	size_t n = union_keys(map, keys, MAX_KEYS);
	char prefix[64], name[128], path[128];
	struct family f;

	snprintf(prefix, sizeof(prefix), "%s_", section);
	for (size_t i = 0; i < n; i++) {
		int any = 0;
		json_object_object_foreach(map, entry, obj) {
			json_object *v;
			const char *labels[] = { label, entry, NULL };
			if (!json_object_object_get_ex(obj, keys[i], &v))
				continue;
			if (json_object_is_type(v, json_type_object)) {
				if (!any++)
					render_nested(b, section, label, keys[i], map);
				continue;
			}
			if (!is_number(v))
				continue;   /* text (a collector's last error) is no metric */
			if (!any++) {
				family_of(prefix, keys[i], name, sizeof(name), &f);
				snprintf(path, sizeof(path), "%s.*.%s", section, keys[i]);
				header(b, &f, path);
			}
			sample(b, &f, labels, v);
		}
	}
}

/* Sections of the statistics object that are maps, and their label. */
static const struct {
	const char *key, *family, *label;
} maps[] = {
	{ "protocols", "protocol", "protocol" },
	{ "capture", "capture", "interface" },
	{ "syslog", "syslog", "collector" },
};

static const struct {
	const char *key, *family, *label;
} labelled[] = {
	{ "not_decoded", "packets_not_decoded_by_reason", "reason" },
	{ "records_by_code", "records_by_code", "code" },
};

static void render_section(struct sb *b, const char *key, json_object *v)
{
	char name[128];
	struct family f;

	if (is_number(v)) {
		family_of("", key, name, sizeof(name), &f);
		header(b, &f, key);
		sample(b, &f, NULL, v);
		return;
	}
	if (!json_object_is_type(v, json_type_object))
		return;
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		if (!strcmp(key, maps[i].key))
			return render_map(b, maps[i].family, maps[i].label, v);
	for (size_t i = 0; i < sizeof(labelled) / sizeof(labelled[0]); i++)
		if (!strcmp(key, labelled[i].key))
			return render_labelled(b, labelled[i].family, labelled[i].label, key, v);
	render_scalars(b, key, v);
}

char *metrics_render(struct json_object *stats)
{
	struct sb b = { 0 };

	sb_str(&b, "");
	json_object_object_foreach(stats, key, v)
		render_section(&b, key, v);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- listening ---------------------------------------------------------------- */

struct metrics {
	int fd;
	unsigned port;
	struct MHD_Daemon *d;
	_Atomic(char *) mailbox;   /* the newest text, not yet taken */
	char *current;             /* the server thread's own */
};

struct listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

static int parse_listen(const char *spec, struct listen_addr *la, char err[METRICS_ERR_LEN])
{
	char host[64];
	const char *port;
	unsigned long p;
	char *end;

	memset(la, 0, sizeof(*la));
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof(host))
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(close - spec - 1), spec + 1);
		port = close + 2;
	} else if (strchr(spec, ':')) {
		const char *colon = strrchr(spec, ':');
		if ((size_t)(colon - spec) >= sizeof(host) || strchr(spec, ':') != colon)
			goto bad;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
		port = colon + 1;
	} else {
		snprintf(host, sizeof(host), "%s", METRICS_DEFAULT_ADDR);
		port = spec;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535 || port[0] == '-' || port[0] == '+')
		goto bad;
	struct sockaddr_in *sin = (struct sockaddr_in *)&la->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&la->ss;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		la->len = sizeof(*sin);
		return 0;
	}
	if (spec[0] == '[' && inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		la->len = sizeof(*sin6);
		return 0;
	}
bad:
	snprintf(err, METRICS_ERR_LEN,
		 "--metrics-listen: \"%.64s\" is not ADDRESS:PORT, [IPv6]:PORT or PORT (numeric address, port 0-65535)",
		 spec);
	return -1;
}

int metrics_check_listen(const char *spec, char err[METRICS_ERR_LEN])
{
	struct listen_addr la;

	return parse_listen(spec, &la, err);
}

struct metrics *metrics_bind(const char *spec, char err[METRICS_ERR_LEN])
{
	struct listen_addr la;
	struct metrics *m;
	int one = 1;

	if (parse_listen(spec, &la, err))
		return NULL;
	if (!(m = calloc(1, sizeof(*m)))) {
		snprintf(err, METRICS_ERR_LEN, "--metrics-listen: out of memory");
		return NULL;
	}
	atomic_init(&m->mailbox, NULL);
	m->fd = socket(la.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0)
		goto fail;
	setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (la.ss.ss_family == AF_INET6)
		setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(m->fd, (struct sockaddr *)&la.ss, la.len) || listen(m->fd, 16))
		goto fail;
	la.len = sizeof(la.ss);
	if (getsockname(m->fd, (struct sockaddr *)&la.ss, &la.len) == 0)
		m->port = ntohs(la.ss.ss_family == AF_INET ? ((struct sockaddr_in *)&la.ss)->sin_port
							   : ((struct sockaddr_in6 *)&la.ss)->sin6_port);
	return m;
fail:
	snprintf(err, METRICS_ERR_LEN, "--metrics-listen %.64s: %s", spec, strerror(errno));
	if (m->fd >= 0)
		close(m->fd);
	free(m);
	return NULL;
}

unsigned metrics_port(const struct metrics *m)
{
	return m ? m->port : 0;
}

/* ---- serving ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size,
				  void **req_cls)
{
	static const char not_found[] = "x1367ids: the metrics are at /metrics\n";
	static const char not_yet[] = "x1367ids: no statistics yet\n";
	static const char no_method[] = "x1367ids: GET or HEAD only\n";
	struct metrics *m = cls;
	char *fresh;

	(void)version;
	(void)upload_data;
	(void)req_cls;
	if (*upload_size)
		return MHD_NO;   /* a GET carries no body: drop the connection */
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, no_method, sizeof(no_method) - 1);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1);
	if ((fresh = atomic_exchange_explicit(&m->mailbox, NULL, memory_order_acquire)) != NULL) {
		free(m->current);
		m->current = fresh;
	}
	if (!m->current)
		return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, not_yet, sizeof(not_yet) - 1);
	return reply(c, MHD_HTTP_OK, m->current, strlen(m->current));
}

int metrics_start(struct metrics *m, char err[METRICS_ERR_LEN])
{
	sigset_t all, old;

	/* The server thread must never take the sensor's signals (SIGHUP,
	 * SIGTERM wake the live loop): it inherits this mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, on_request, m,
				MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->d) {
		snprintf(err, METRICS_ERR_LEN, "--metrics-listen: cannot start the HTTP server (libmicrohttpd)");
		return -1;
	}
	return 0;
}

void metrics_publish(struct metrics *m, char *text)
{
	if (!m) {
		free(text);
		return;
	}
	/* Whatever the server did not take is stale: ours to free. */
	free(atomic_exchange_explicit(&m->mailbox, text, memory_order_acq_rel));
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	if (m->d)
		MHD_stop_daemon(m->d);   /* closes the listening socket too */
	else if (m->fd >= 0)
		close(m->fd);
	free(atomic_exchange(&m->mailbox, NULL));
	free(m->current);
	free(m);
}
