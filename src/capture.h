/*
 * Packet sources, through libpcap: capture files (pcap, pcapng, standard
 * input) and live interfaces (several at once, "any" included; the kernel's
 * memory-mapped ring on Linux).  Owns the BPF filter, the read loop that
 * hands each packet to the engine, and the per-source drop counters.
 */
#ifndef X1367_CAPTURE_H
#define X1367_CAPTURE_H

#include <stdatomic.h>
#include <stdint.h>
#include "engine.h"

#define CAPTURE_ERR_LEN 512
#define CAPTURE_MAX_SOURCES 16

enum capture_error {
	CAPTURE_OK = 0,
	CAPTURE_USAGE = 2,      /* bad filter expression, unknown interface: the user's input */
	CAPTURE_RUNTIME = 1,    /* cannot open or read the source */
};

struct capture_live_opts {
	const char *ifaces[CAPTURE_MAX_SOURCES];
	size_t n_ifaces;
	int snaplen;            /* default 262144 */
	int buffer_mib;         /* kernel buffer, default 64 */
	int promisc;            /* default 1 */
	int immediate;          /* pcap immediate mode; else a 100 ms timeout */
	const char *bpf;
};

struct capture_source_stats {
	const char *name;
	uint64_t received;          /* packets the sensor read */
	uint64_t dropped_kernel;    /* pcap_stats ps_drop: no room in the ring */
	uint64_t dropped_interface; /* pcap_stats ps_ifdrop */
};

struct capture;

struct capture *capture_open_file(const char *path, const char *bpf, enum capture_error *why,
				  char err[CAPTURE_ERR_LEN]);
struct capture *capture_open_live(const struct capture_live_opts *o, enum capture_error *why,
				  char err[CAPTURE_ERR_LEN]);
/* The first source's link type (files have one source). */
int capture_linktype(const struct capture *c);
const char *capture_linktype_name(const struct capture *c);
/* -1 with err if the engine cannot decode some source's link type. */
int capture_check_linktypes(const struct capture *c, struct engine *e, char err[CAPTURE_ERR_LEN]);

/* Read every packet of a file into the engine until the end, an error, or
 * *stop (a signal flag).  0 at the end of the file; -1 on a read error (err set). */
int capture_run(struct capture *c, struct engine *e, atomic_int *stop,
		char err[CAPTURE_ERR_LEN]);
/* Live: wait up to wait_ms for packets on any source and hand what is
 * there to the engine.  Returns packets handled, or -1 (err set). */
int capture_poll(struct capture *c, struct engine *e, int wait_ms, char err[CAPTURE_ERR_LEN]);

/* Counters per source (live: with pcap_stats).  Returns the count. */
size_t capture_stats(struct capture *c, struct capture_source_stats *out, size_t max);
/* Packets the capture kept shorter than they were on the wire (a file's
 * snaplen, or --snaplen live): what they carried past the cut is lost, and
 * with it records.  *kept: the most bytes any of them kept. */
uint64_t capture_truncated(const struct capture *c, uint32_t *kept);
void capture_close(struct capture *c);

#endif
