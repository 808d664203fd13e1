/* Capture files through libpcap.  See capture.h. */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "capture.h"

struct capture {
	pcap_t *pcap;
	char path[256];
};

static int set_filter(struct capture *c, const char *bpf, char err[CAPTURE_ERR_LEN])
{
	struct bpf_program prog;
	if (pcap_compile(c->pcap, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, CAPTURE_ERR_LEN, "filter \"%.200s\": %.200s", bpf, pcap_geterr(c->pcap));
		return -1;
	}
	int rc = pcap_setfilter(c->pcap, &prog);
	if (rc < 0)
		snprintf(err, CAPTURE_ERR_LEN, "filter: %.200s", pcap_geterr(c->pcap));
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
	snprintf(c->path, sizeof(c->path), "%s", path);
	/* Microsecond timestamps whatever the file holds: the engine's clock. */
	c->pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, perr);
	if (!c->pcap) {
		snprintf(err, CAPTURE_ERR_LEN, "%.200s: %.250s", path, perr);
		free(c);
		return NULL;
	}
	if (bpf && *bpf && set_filter(c, bpf, err)) {
		*why = CAPTURE_USAGE;
		capture_close(c);
		return NULL;
	}
	*why = CAPTURE_OK;
	return c;
}

int capture_linktype(const struct capture *c)
{
	return pcap_datalink(c->pcap);
}

const char *capture_linktype_name(const struct capture *c)
{
	const char *n = pcap_datalink_val_to_name(pcap_datalink(c->pcap));
	return n ? n : "unknown";
}

int capture_run(struct capture *c, struct engine *e, volatile sig_atomic_t *stop,
		char err[CAPTURE_ERR_LEN])
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;

	while (!(stop && *stop) && (rc = pcap_next_ex(c->pcap, &h, &data)) >= 0) {
		if (rc == 0)
			continue;   /* no packet yet: only live sources */
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		engine_packet(e, data, h->caplen, h->len, ts);
	}
	if (stop && *stop)
		return 0;
	if (rc == PCAP_ERROR) {
		snprintf(err, CAPTURE_ERR_LEN, "%.200s: %.250s", c->path, pcap_geterr(c->pcap));
		return -1;
	}
	return 0;
}

void capture_close(struct capture *c)
{
	if (!c)
		return;
	pcap_close(c->pcap);
	free(c);
}
