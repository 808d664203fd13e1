/*
 * libFuzzer harness for the TLS alert plugin (dissectors/tls_alert.c),
 * through the whole engine: the input is a script of packets on one TCP
 * connection, run with the real rules, then the capture ends (flow_end
 * runs).  Crashes, sanitizer reports and leaks are the findings; every
 * record must still carry an error code.
 *
 * Input:  mode (1 byte), then packets: ctl (1) · len (1) · len payload bytes
 *   mode bit 0   IPv6 instead of IPv4
 *        bit 2   server port 10443: detection by the probe, not by port 443
 *        bit 3   no handshake: the capture starts mid-stream
 *        (bit 1, UDP in other harnesses, is ignored: TLS here is TCP only)
 *   ctl  bit 0   0 = client -> server, 1 = server -> client
 *        bits 1-3 capture time advanced by that many half seconds first
 *        bit 4   resend: sequence number of the previous bytes (retransmission
 *                or overlap)
 *        bit 5   skip 3 sequence numbers first (a hole: a gap later)
 *        bit 6   FIN with the data
 *        bit 7   the payload is repeated 64 times (records longer than 255
 *                bytes, up to the largest TLS allows)
 *
 * The engine runs without nDPI (run_start_fast in tests/unit/helpers.c).
 *
 * Build: tests/fuzz/run.sh, or by hand with clang
 *        -fsanitize=fuzzer,address,undefined against src/ (without main.c),
 *        dissectors/ (built-ins and dissectors/tls_alert.c), tests/unit/frames.c
 *        and tests/unit/helpers.c.
 */
#include <stdint.h>
#include <string.h>
#include "helpers.h"
#include "tcp_script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void);

/* Bit 7 of ctl: the payload 64 times over (records past 255 bytes). */
static uint8_t big[255 * 64];

static void packet(struct tcp_script *s, uint8_t ctl, const uint8_t *p, size_t n)
{
	script_advance(s, ctl);
	if ((ctl & 0x80) && n) {
		for (size_t i = 0; i < 64; i++)
			memcpy(big + i * n, p, n);
		p = big;
		n *= 64;
	}
	script_segment(s, ctl, p, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tcp_script s;

	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	script_init(&s, mode, (mode & 4) ? 10443 : 443);

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
		packet(&s, ctl, data + pos, n);
		pos += n;
	}
	run_finish(&s.r);
	run_check_records(&s.r);
	run_free(&s.r);
	return 0;
}
