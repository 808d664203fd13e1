/* Address helpers shared by the engine: text forms the Recommendation
 * accepts, comparison, multicast test. */
#ifndef X1367_ADDR_H
#define X1367_ADDR_H

#include <stddef.h>
#include <x1367ids/dissector.h>

#define ADDR_STR_MAX 40   /* 8 groups x 4 digits + 7 colons + NUL */

/* IPv4: dotted quad.  IPv6: eight groups of uppercase hex digits without
 * leading zeros, never "::" (the Recommendation's pattern). */
void addr_format(const struct x1367_addr *a, char *buf, size_t len);
/* Parse "192.0.2.1" or any IPv6 text form. 0 on success. */
int addr_parse(const char *text, struct x1367_addr *out);
int addr_cmp(const struct x1367_addr *a, const struct x1367_addr *b);
int addr_is_multicast(const struct x1367_addr *a);

#endif
