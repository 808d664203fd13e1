/* Address text forms and comparisons. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"

void addr_format(const struct x1367_addr *a, char *buf, size_t len)
{
	if (!len)
		return;
	if (a->family == X1367_IPV4) {
		snprintf(buf, len, "%u.%u.%u.%u", a->bytes[0], a->bytes[1], a->bytes[2], a->bytes[3]);
		return;
	}
	if (a->family != X1367_IPV6) {
		buf[0] = '\0';
		return;
	}
	/* The Recommendation's pattern: eight groups of 1-4 uppercase hex
	 * digits, no "::" compression. */
	size_t off = 0;
	for (int i = 0; i < 8 && off < len; i++) {
		unsigned g = (unsigned)a->bytes[2 * i] << 8 | a->bytes[2 * i + 1];
		int n = snprintf(buf + off, len - off, i ? ":%X" : "%X", g);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int addr_parse(const char *text, struct x1367_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, out->bytes) == 1) {
		out->family = X1367_IPV4;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->bytes) == 1) {
		out->family = X1367_IPV6;
		return 0;
	}
	return -1;
}

int addr_cmp(const struct x1367_addr *a, const struct x1367_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->bytes, b->bytes, a->family == X1367_IPV4 ? 4 : 16);
}

int addr_is_multicast(const struct x1367_addr *a)
{
	if (a->family == X1367_IPV4)
		return (a->bytes[0] & 0xF0) == 0xE0 || /* 224.0.0.0/4 */
		       (a->bytes[0] == 255 && a->bytes[1] == 255 && a->bytes[2] == 255 && a->bytes[3] == 255);
	return a->family == X1367_IPV6 && a->bytes[0] == 0xFF;
}
