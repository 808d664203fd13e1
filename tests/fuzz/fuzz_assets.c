/* libFuzzer harness for the asset table loader (src/assets.c): the input
 * is an asset file.
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Isrc src/assets.c src/addr.c src/fileio.c src/utf8.c \
 *     tests/fuzz/fuzz_assets.c -o /tmp/fuzz_assets && /tmp/fuzz_assets -max_total_time=60
 *
 * Besides not crashing, every outcome must be consistent: a refusal is one
 * bounded "fuzz.csv:" message; an accepted table answers lookups with
 * non-empty, NUL-free operator IDs of at most ASSETS_MAX_FIELD bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "assets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_asset(const struct asset *a)
{
	if (!a)
		return;
	if (!a->unique_id[0] || strlen(a->unique_id) > ASSETS_MAX_FIELD ||
	    strlen(a->name) > ASSETS_MAX_FIELD || strlen(a->location) > ASSETS_MAX_FIELD ||
	    strlen(a->ecosystem) > ASSETS_MAX_FIELD)
		abort();
}

/* Look up addresses taken from the input itself, so that accepted keys
 * are found too, and a few fixed forms. */
static void probe(const struct assets *t, const uint8_t *data, size_t size)
{
	static const char *const uids[] = { "192.0.2.1", "192.0.2.1#1", "192.0.2.1:502",
					    "[2001:DB8:0:0:0:0:0:1]:5683", "", NULL };
	struct x1367_addr a;

	for (size_t i = 0; uids[i] || i == 0; i++) {
		memset(&a, 0, sizeof(a));
		a.family = (i & 1) ? X1367_IPV6 : X1367_IPV4;
		memcpy(a.bytes, data, size < 16 ? size : 16);
		check_asset(assets_find(t, uids[i], &a, size >= 6 ? data : NULL));
		if (!uids[i])
			break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ASSETS_ERR_LEN];
	struct assets *t = assets_parse("fuzz.csv", (const char *)data, size, err);

	if (!t) {
		if (strncmp(err, "fuzz.csv:", 9) != 0 || strlen(err) >= ASSETS_ERR_LEN)
			abort();
		return 0;
	}
	if (assets_count(t) > ASSETS_MAX_ROWS)
		abort();
	probe(t, data, size);
	assets_free(t);
	return 0;
}
