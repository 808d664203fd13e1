/*
 * Packet sources, through libpcap: capture files (pcap and pcapng, or
 * standard input) now; live interfaces later behind the same calls.
 * Owns the BPF filter and the read loop that hands each packet to the
 * engine.
 */
#ifndef X1367_CAPTURE_H
#define X1367_CAPTURE_H

#include <signal.h>
#include <stdint.h>
#include "engine.h"

#define CAPTURE_ERR_LEN 512

enum capture_error {
	CAPTURE_OK = 0,
	CAPTURE_USAGE = 2,      /* bad filter expression: the user's input */
	CAPTURE_RUNTIME = 1,    /* cannot open or read the source */
};

struct capture;

struct capture *capture_open_file(const char *path, const char *bpf, enum capture_error *why,
				  char err[CAPTURE_ERR_LEN]);
int capture_linktype(const struct capture *c);
const char *capture_linktype_name(const struct capture *c);
/* Read every packet into the engine until the end, an error, or *stop.
 * 0 at the end of the file; -1 on a read error (err set). */
int capture_run(struct capture *c, struct engine *e, volatile sig_atomic_t *stop,
		char err[CAPTURE_ERR_LEN]);
void capture_close(struct capture *c);

#endif
