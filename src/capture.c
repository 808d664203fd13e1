/* Packet sources through libpcap.  See capture.h. */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capture.h"

struct source {
	pcap_t *pcap;
	char name[128];
	int dlt;
	int fd;                      /* selectable descriptor, live only */
	uint64_t received;
	uint64_t truncated;          /* kept fewer bytes than were on the wire */
	uint32_t truncated_kept;     /* the most bytes one of those kept */
};

static void count_cut(struct source *s, const struct pcap_pkthdr *h)
{
	if (h->caplen < h->len) {
		s->truncated++;
		if (h->caplen > s->truncated_kept)
			s->truncated_kept = h->caplen;
	}
}

struct capture {
	struct source src[CAPTURE_MAX_SOURCES];
	size_t n;
	int live;
};

static int set_filter(pcap_t *p, const char *bpf, char err[CAPTURE_ERR_LEN])
{
	struct bpf_program prog;
	if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, CAPTURE_ERR_LEN, "filter \"%.200s\": %.200s", bpf, pcap_geterr(p));
		return -1;
	}
	int rc = pcap_setfilter(p, &prog);
	if (rc < 0)
		snprintf(err, CAPTURE_ERR_LEN, "filter: %.200s", pcap_geterr(p));
	pcap_freecode(&prog);
	return rc < 0 ? -1 : 0;
}

struct capture *capture_open_file(const char *path, const char *bpf, enum capture_error *why,
				  char err[CAPTURE_ERR_LEN])
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	struct capture *c = calloc(1, sizeof(*c));

	*why = CAPTURE_RUNTIME;
	if (!c) {
		snprintf(err, CAPTURE_ERR_LEN, "out of memory");
		return NULL;
	}
	struct source *s = &c->src[0];
	snprintf(s->name, sizeof(s->name), "%s", path);
	/* Microsecond timestamps whatever the file holds: the engine's clock. */
	s->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (!s->pcap) {
		snprintf(err, CAPTURE_ERR_LEN, "%.200s: %.250s", path, perr);
		free(c);
		return NULL;
	}
	c->n = 1;
	s->dlt = pcap_datalink(s->pcap);
	if (bpf && *bpf && set_filter(s->pcap, bpf, err)) {
		*why = CAPTURE_USAGE;
		capture_close(c);
		return NULL;
	}
	*why = CAPTURE_OK;
	return c;
}

/* pcap_create + settings + activate, with one line saying what failed. */
static pcap_t *open_iface(const char *name, const struct capture_live_opts *o, enum capture_error *why,
			  char err[CAPTURE_ERR_LEN])
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(name, perr);
	if (!p) {
		snprintf(err, CAPTURE_ERR_LEN, "%.100s: %.300s", name, perr);
		return NULL;
	}
	pcap_set_snaplen(p, o->snaplen > 0 ? o->snaplen : 262144);
	pcap_set_promisc(p, o->promisc);
	pcap_set_buffer_size(p, (o->buffer_mib > 0 ? o->buffer_mib : 64) * 1024 * 1024);
	/* A record should leave within a second of the error: never let the
	 * ring hold packets back for long. */
	if (o->immediate)
		pcap_set_immediate_mode(p, 1);
	else
		pcap_set_timeout(p, 100);
	pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_MICRO);
	int rc = pcap_activate(p);
	if (rc < 0) {
		/* No such device is the user's typo; no permission is runtime. */
		*why = rc == PCAP_ERROR_NO_SUCH_DEVICE ? CAPTURE_USAGE : CAPTURE_RUNTIME;
		snprintf(err, CAPTURE_ERR_LEN, "%.100s: %.300s", name, pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	if (pcap_setnonblock(p, 1, perr) < 0) {
		snprintf(err, CAPTURE_ERR_LEN, "%.100s: %.300s", name, perr);
		pcap_close(p);
		return NULL;
	}
	return p;
}

struct capture *capture_open_live(const struct capture_live_opts *o, enum capture_error *why,
				  char err[CAPTURE_ERR_LEN])
{
	struct capture *c = calloc(1, sizeof(*c));

	*why = CAPTURE_RUNTIME;
	if (!c) {
		snprintf(err, CAPTURE_ERR_LEN, "out of memory");
		return NULL;
	}
	c->live = 1;
	for (size_t i = 0; i < o->n_ifaces && i < CAPTURE_MAX_SOURCES; i++) {
		struct source *s = &c->src[c->n];
		s->pcap = open_iface(o->ifaces[i], o, why, err);
		if (!s->pcap)
			goto fail;
		c->n++;
		snprintf(s->name, sizeof(s->name), "%s", o->ifaces[i]);
		s->dlt = pcap_datalink(s->pcap);
		s->fd = pcap_get_selectable_fd(s->pcap);
		if (s->fd < 0) {
			snprintf(err, CAPTURE_ERR_LEN, "%.100s: cannot be polled", s->name);
			goto fail;
		}
		if (o->bpf && *o->bpf && set_filter(s->pcap, o->bpf, err)) {
			*why = CAPTURE_USAGE;
			goto fail;
		}
	}
	*why = CAPTURE_OK;
	return c;
fail:
	capture_close(c);
	return NULL;
}

int capture_linktype(const struct capture *c)
{
	return c->src[0].dlt;
}

const char *capture_linktype_name(const struct capture *c)
{
	const char *n = pcap_datalink_val_to_name(c->src[0].dlt);
	return n ? n : "unknown";
}

int capture_check_linktypes(const struct capture *c, struct engine *e, char err[CAPTURE_ERR_LEN])
{
	for (size_t i = 0; i < c->n; i++)
		if (engine_set_linktype(e, c->src[i].dlt)) {
			const char *n = pcap_datalink_val_to_name(c->src[i].dlt);
			snprintf(err, CAPTURE_ERR_LEN, "%.200s: link type %s (%d) is not supported",
				 c->src[i].name, n ? n : "unknown", c->src[i].dlt);
			return -1;
		}
	return 0;
}

static uint64_t ts_usec(const struct pcap_pkthdr *h)
{
	return (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
}

int capture_run(struct capture *c, struct engine *e, atomic_int *stop,
		char err[CAPTURE_ERR_LEN])
{
	struct source *s = &c->src[0];
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;

	engine_set_linktype(e, s->dlt);
	while (!(stop && atomic_load_explicit(stop, memory_order_relaxed)) && (rc = pcap_next_ex(s->pcap, &h, &data)) >= 0) {
		if (rc == 0)
			continue;
		s->received++;
		count_cut(s, h);
		engine_packet(e, data, h->caplen, h->len, ts_usec(h));
	}
	if (stop && atomic_load_explicit(stop, memory_order_relaxed))
		return 0;
	if (rc == PCAP_ERROR) {
		snprintf(err, CAPTURE_ERR_LEN, "%.200s: %.250s", s->name, pcap_geterr(s->pcap));
		return -1;
	}
	return 0;
}

struct dispatch_ctx {
	struct engine *e;
	struct source *s;
};

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct dispatch_ctx *d = (struct dispatch_ctx *)(void *)user;
	d->s->received++;
	count_cut(d->s, h);
	engine_packet(d->e, data, h->caplen, h->len, ts_usec(h));
}

int capture_poll(struct capture *c, struct engine *e, int wait_ms, char err[CAPTURE_ERR_LEN])
{
	struct pollfd pfd[CAPTURE_MAX_SOURCES];
	int handled = 0;

	for (size_t i = 0; i < c->n; i++)
		pfd[i] = (struct pollfd){.fd = c->src[i].fd, .events = POLLIN};
	if (poll(pfd, c->n, wait_ms) < 0) {
		if (errno == EINTR)
			return 0;   /* a signal: the caller looks at its flags */
		snprintf(err, CAPTURE_ERR_LEN, "poll: %s", strerror(errno));
		return -1;
	}
	/* The ring may hold packets even without POLLIN (timeout expiry):
	 * dispatch every source each round, non-blocking. */
	for (size_t i = 0; i < c->n; i++) {
		struct dispatch_ctx d = {e, &c->src[i]};
		engine_set_linktype(e, c->src[i].dlt);
		int n = pcap_dispatch(c->src[i].pcap, -1, on_packet, (u_char *)(void *)&d);
		if (n < 0) {
			snprintf(err, CAPTURE_ERR_LEN, "%.100s: %.300s", c->src[i].name, pcap_geterr(c->src[i].pcap));
			return -1;
		}
		handled += n;
	}
	return handled;
}

size_t capture_stats(struct capture *c, struct capture_source_stats *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n && n < max; i++, n++) {
		struct pcap_stat ps;
		out[n] = (struct capture_source_stats){c->src[i].name, c->src[i].received, 0, 0};
		if (c->live && pcap_stats(c->src[i].pcap, &ps) == 0) {
			out[n].dropped_kernel = ps.ps_drop;
			out[n].dropped_interface = ps.ps_ifdrop;
		}
	}
	return n;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		pcap_close(c->src[i].pcap);
	free(c);
}

uint64_t capture_truncated(const struct capture *c, uint32_t *kept)
{
	uint64_t n = 0;
	*kept = 0;
	for (size_t i = 0; i < c->n; i++) {
		n += c->src[i].truncated;
		if (c->src[i].truncated_kept > *kept)
			*kept = c->src[i].truncated_kept;
	}
	return n;
}
