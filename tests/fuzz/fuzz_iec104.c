/*
 * libFuzzer harness for the IEC 60870-5-104 plugin (dissectors/iec104.c),
 * through the whole engine: the input is a script of packets on one
 * connection, run with the real rules, then the capture ends.  Crashes,
 * sanitizer reports and leaks are the findings; the records themselves
 * are checked by the unit tests and the regression captures.
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 2   server port 12404: detection by probe, not by port
 *        bit 3   no handshake: the capture starts mid-stream
 *   ctl  bit 0   0 = controlling station -> controlled station (2404),
 *                1 = the other way
 *        bits 1-3 capture time advanced by that many half seconds first
 *        bit 4   resend: sequence number of the previous bytes
 *        bit 5   skip 3 sequence numbers first (a hole: a gap later)
 *        bit 6   FIN with the data
 *        bit 7   16 s more first: past t1 (15 s), so deadlines pass
 *
 * Seeds (tests/fuzz/seeds/iec104/): the six connections of the public
 * TestDissectIec104.pcap, one file each, every TCP payload in capture order
 * (direction in ctl bit 0, bit 7 where more than t1 passed before it),
 * plus hand-made negative confirmations and unanswered activations.
 *
 * Build: tests/fuzz/run.sh (it links dissectors/iec104.c in by the name).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "helpers.h"
#include "tcp_script.h"
#include "output.h"
#include "registry.h"
#include "rules.h"

#define T1_PLUS_USEC 16000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tcp_script s;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	script_init(&s, mode, (mode & 4) ? 12404 : 2404);

	run_start_fast(&s.r, X1367_DISSECTOR_ENTRY());
	if (!(mode & 8))
		script_handshake(&s);
	size_t pos = 1;
	while (pos + 2 <= size) {
		uint8_t ctl = data[pos];
		size_t n = data[pos + 1];
		pos += 2;
		if (n > size - pos)
			n = size - pos;
		if (ctl & 0x80)
			s.now += T1_PLUS_USEC;
		script_advance(&s, ctl);
		script_segment(&s, ctl & 0x7F, data + pos, n);
		pos += n;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
