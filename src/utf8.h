/* UTF-8 checking shared by the record builder (record.c: replaces bad
 * bytes) and the rules loader (rules.c: refuses them). */
#ifndef X1367_UTF8_H
#define X1367_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 if invalid:
 * no overlong forms, no surrogates, nothing above U+10FFFF. */
size_t utf8_seq_len(const unsigned char *s);

#endif
