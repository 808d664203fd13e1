/* libFuzzer harness for the rules loader: the input is a rules file.
 *
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Isrc src/rules.c src/x1367_codes.c tests/fuzz/fuzz_rules.c \
 *     -o /tmp/fuzz_rules && /tmp/fuzz_rules -max_total_time=60 -max_len=20000
 *
 * Besides not crashing, every outcome must be consistent: a refusal leaves
 * the table empty with a "name:" message, an accepted exact row is found
 * again by its own key, a pattern row's own VALUE finds it or a more
 * specific row, and the error text is a bounded C string. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "x1367_codes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known(const char *name, void *arg)
{
	(void)arg;
	return strcmp(name, "modbus") == 0 || strcmp(name, "echonet-lite") == 0;
}

/* The pattern's VALUE as a code: found by this row or a more specific one. */
static void check_pattern(const struct rules *r, const struct rule *row)
{
	char code[33];
	const struct rule *got;

	for (size_t i = 0; i < row->nbytes; i++)
		snprintf(code + 2 * i, 3, "%02X", row->value[i]);
	got = rules_lookup(r, row->protocol, code);
	if (!got || (got != row && got->nbytes && got->bits <= row->bits))
		abort();
}

static void check_accepted(const struct rules *r)
{
	static const char *const protos[] = { "modbus", "echonet-lite" };
	static const char *const codes[] = { "00", "01", "0a", "FF", "*", "", "0102030405",
					     "0400", "04ff", "1234", "0401", "0000" };

	for (size_t p = 0; p < 2; p++) {
		for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
			const struct rule *row = rules_lookup(r, protos[p], codes[c]);

			if (!row)
				continue;
			if (strcmp(row->protocol, protos[p]) != 0)
				abort();
			if (row->x1367_code[0] && !x1367_code_valid(row->x1367_code))
				abort();
			if (!row->nbytes && rules_lookup(r, row->protocol, row->vendor_code) != row)
				abort();
			if (row->nbytes)
				check_pattern(r, row);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[RULES_ERR_LEN];
	struct rules *r;
	FILE *f;

	if (size == 0)
		return 0;   /* fmemopen wants a buffer */
	r = rules_new();
	f = fmemopen((void *)data, size, "r");
	if (!r || !f)
		abort();
	memset(err, 'X', sizeof(err));
	if (rules_load_stream(r, f, "fuzz.map", known, NULL, err) == 0) {
		check_accepted(r);
		rules_report_shadowed(r, NULL, NULL);
	} else {
		if (rules_count(r) != 0 || strnlen(err, sizeof(err)) == sizeof(err) ||
		    strncmp(err, "fuzz.map:", 9) != 0)
			abort();
	}
	fclose(f);
	rules_free(r);
	return 0;
}
