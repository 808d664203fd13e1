/*
 * libFuzzer harness for the CoAP plugin (dissectors/coap.c, linked in and
 * registered as an extra dissector), through the whole engine: the input
 * is a script of UDP datagrams between a client, a second client and a
 * server (or a multicast group), run with the real rules, then the
 * capture ends.  Crashes, sanitizer reports and leaks are the findings;
 * the records themselves are not checked here beyond their shape (the
 * unit tests do that).
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1, or 2 big-endian
 *         with ctl bit 7) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 1   server port 15683: detection by probe, not by port
 *   ctl  bit 0   0 = client -> server, 1 = server -> client
 *        bits 1-3 capture time advanced by that many 2-second steps first
 *                (so the 10 s deadlines pass, and message-id memory ages)
 *        bit 4   the second client (another port and address)
 *        bit 5   client -> the multicast group instead of the server
 *        bit 7   two length bytes (messages past 255 bytes: extended
 *                option lengths)
 *
 * The engine runs without nDPI (as fuzz_modbus.c does).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"
#include "output.h"
#include "registry.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

#define T0 (1705309200ull * 1000000ull)

static struct frame F;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run r;
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	int v6 = mode & 1;
	const char *client[2] = {v6 ? "2001:db8::10" : "192.0.2.10", v6 ? "2001:db8::11" : "192.0.2.11"};
	const char *server = v6 ? "2001:db8::20" : "192.0.2.20";
	const char *group = v6 ? "ff02::fd" : "224.0.1.187";
	uint16_t cport[2] = {49152, 49153};
	uint16_t sport = (mode & 2) ? 15683 : 5683;
	uint64_t now = T0;

	run_start_fast(&r, X1367_DISSECTOR_ENTRY());
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos++];
		size_t n = data[pos++];
		if ((ctl & 0x80) && pos < size)
			n = n << 8 | data[pos++];
		if (n > size - pos)
			n = size - pos;
		int c = (ctl >> 4) & 1;
		now += ((ctl >> 1) & 7) * 2000000ull + 1000;
		if (ctl & 1)
			build_udp(&F, server, sport, client[c], cport[c], data + pos, n);
		else
			build_udp(&F, client[c], cport[c], (ctl & 0x20) ? group : server, sport,
				  data + pos, n);
		F.ts_usec = now;
		if (F.len)
			run_frame(&r, &F);
		pos += n;
	}
	run_finish(&r);
	run_check_records(&r);
	run_free(&r);
	return 0;
}
