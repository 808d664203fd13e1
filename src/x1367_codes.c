/*
 * ITU-T X.1367 Annex A: the standard error codes and their messages.
 * The one copy of the table in the project; everything else (rules loader,
 * engine, record builder, syslog messages, validator) asks here for a
 * code's validity, message or class.
 *
 * Accepted forms (uppercase hex only, as records must carry them):
 *   - a two-digit code of the table below;
 *   - an "Extended Reasons" code: 1E, 2E, 3E or 4E followed by one or more
 *     further pairs of hex digits ("2E01", "3E0102"), whose meaning a
 *     mapping table defines; its message is the prefix's;
 *   - a private code E0-EF (two digits): "Private Reason".
 * Everything else is invalid: reserved 50-DF, 01-0F and the other unlisted
 * values, lowercase, odd length, extended digits after a non-E prefix.
 */
#include "x1367_codes.h"

#include <stddef.h>
#include <string.h>

struct code_entry {
	char code[3];
	const char *message;
};

static const struct code_entry annex_a[] = {
	{ "00", "No Error" },
	{ "10", "No Response" },
	{ "11", "Communication Failed" },
	{ "12", "Link Down" },
	{ "1E", "Extended Reasons" },
	{ "1F", "Other Communication Reasons" },
	{ "20", "Authentication Failed" },
	{ "21", "Certification Failed" },
	{ "22", "Encryption Failed" },
	{ "23", "Authorization Failed" },
	{ "2E", "Extended Reasons" },
	{ "2F", "Other Security Reasons" },
	{ "30", "Invalid Command" },
	{ "31", "Invalid Argument" },
	{ "3E", "Extended Reasons" },
	{ "3F", "Other Command Reasons" },
	{ "40", "Device Broken" },
	{ "41", "Device Failed" },
	{ "42", "Out of Resources" },
	{ "4E", "Extended Reasons" },
	{ "4F", "Other Device Reasons" },
	{ "FF", "Other Reasons" },
};

#define PRIVATE_MESSAGE "Private Reason"

static int is_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* Uppercase hex, even length, at least one pair. */
static int well_formed(const char *code, size_t *len)
{
	size_t n = 0;

	if (!code)
		return 0;
	for (; code[n]; n++)
		if (!is_upper_hex(code[n]))
			return 0;
	*len = n;
	return n >= 2 && n % 2 == 0;
}

static const char *table_message(const char *two)
{
	size_t i;

	for (i = 0; i < sizeof(annex_a) / sizeof(annex_a[0]); i++)
		if (annex_a[i].code[0] == two[0] && annex_a[i].code[1] == two[1])
			return annex_a[i].message;
	return NULL;
}

static int is_extended_prefix(const char *code)
{
	return code[1] == 'E' && code[0] >= '1' && code[0] <= '4';
}

static int is_private(const char *code)
{
	return code[0] == 'E';
}

const char *x1367_code_message(const char *code)
{
	size_t len;

	if (!well_formed(code, &len))
		return NULL;
	if (len > 2)
		return is_extended_prefix(code) ? table_message(code) : NULL;
	if (is_private(code))
		return PRIVATE_MESSAGE;
	return table_message(code);
}

int x1367_code_row(size_t i, const char **code, const char **message, const char **cls)
{
	const size_t n = sizeof(annex_a) / sizeof(annex_a[0]);

	/* The table in code order, the private range before the last row
	 * ("FF"). */
	if (i > n)
		return 0;
	if (i == n - 1) {
		*code = "E0-EF";
		*message = PRIVATE_MESSAGE;
		*cls = "private";
		return 1;
	}
	if (i == n)
		i = n - 1;
	*code = annex_a[i].code;
	*message = annex_a[i].message;
	*cls = x1367_code_class(annex_a[i].code);
	return 1;
}

int x1367_code_valid(const char *code)
{
	return x1367_code_message(code) != NULL;
}

/* Never NULL, so a caller can print it as is; an invalid code is "other"
 * (callers are expected to have checked x1367_code_valid first). */
const char *x1367_code_class(const char *code)
{
	if (!x1367_code_valid(code))
		return "other";
	if (is_private(code))
		return "private";
	switch (code[0]) {
	case '0':
		return "no error";
	case '1':
		return "communication";
	case '2':
		return "security";
	case '3':
		return "command";
	case '4':
		return "device";
	default:
		return "other";
	}
}
