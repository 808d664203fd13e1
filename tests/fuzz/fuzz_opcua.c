/*
 * libFuzzer harness for the OPC UA plugin (dissectors/opcua.c), through the
 * whole engine:
 * the input is a script of packets on one conversation, run with the real
 * rules, then the capture ends.  Crashes, sanitizer reports and leaks are
 * the findings; the records themselves are not checked here (the unit
 * tests and regression captures do that).
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 1   (unused: OPC UA here is TCP only)
 *        bit 2   server port 14840: detection by probe (HEL), not by port
 *        bit 3   no handshake: the capture starts mid-stream
 *   ctl  bit 0   0 = client -> server, 1 = server -> client
 *        bits 1-3 capture time advanced by that many half seconds first
 *                (so deadlines pass)
 *        bit 4   resend: sequence number of the previous bytes (retransmission
 *                or overlap)
 *        bit 5   skip 3 sequence numbers first (a hole: a gap later)
 *        bit 6   FIN with the data
 *
 * The engine runs without nDPI (run_start_fast in tests/unit/helpers.c).
 *
 * Build: tests/fuzz/run.sh, or by hand with clang
 *        -fsanitize=fuzzer,address,undefined against src/ (without main.c),
 *        dissectors/ (built-ins and dissectors/opcua.c), tests/unit/frames.c
 *        and tests/unit/helpers.c.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tcp_script s;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	script_init(&s, mode, (mode & 4) ? 14840 : 4840);

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
		script_advance(&s, ctl);
		script_segment(&s, ctl, data + pos, n);
		pos += n;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
