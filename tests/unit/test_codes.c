/* The Annex A table: every code with its exact message, extended and
 * private codes, and what must be refused. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "x1367_codes.h"

static const struct {
	const char *code, *message, *class;
} table[] = {
	{ "00", "No Error", "no error" },
	{ "10", "No Response", "communication" },
	{ "11", "Communication Failed", "communication" },
	{ "12", "Link Down", "communication" },
	{ "1E", "Extended Reasons", "communication" },
	{ "1F", "Other Communication Reasons", "communication" },
	{ "20", "Authentication Failed", "security" },
	{ "21", "Certification Failed", "security" },
	{ "22", "Encryption Failed", "security" },
	{ "23", "Authorization Failed", "security" },
	{ "2E", "Extended Reasons", "security" },
	{ "2F", "Other Security Reasons", "security" },
	{ "30", "Invalid Command", "command" },
	{ "31", "Invalid Argument", "command" },
	{ "3E", "Extended Reasons", "command" },
	{ "3F", "Other Command Reasons", "command" },
	{ "40", "Device Broken", "device" },
	{ "41", "Device Failed", "device" },
	{ "42", "Out of Resources", "device" },
	{ "4E", "Extended Reasons", "device" },
	{ "4F", "Other Device Reasons", "device" },
	{ "FF", "Other Reasons", "other" },
};

#define N_TABLE (sizeof(table) / sizeof(table[0]))

Test(codes, every_annex_a_code)
{
	for (size_t i = 0; i < N_TABLE; i++) {
		cr_assert_str_eq(x1367_code_message(table[i].code), table[i].message, "%s",
				 table[i].code);
		cr_assert_eq(x1367_code_valid(table[i].code), 1, "%s", table[i].code);
		cr_assert_str_eq(x1367_code_class(table[i].code), table[i].class, "%s",
				 table[i].code);
	}
}

static int in_table(unsigned v)
{
	char c[3];

	snprintf(c, sizeof(c), "%02X", v);
	for (size_t i = 0; i < N_TABLE; i++)
		if (strcmp(table[i].code, c) == 0)
			return 1;
	return 0;
}

/* All 256 two-digit values: exactly the table and E0-EF are valid. */
Test(codes, all_two_digit_values)
{
	unsigned valid = 0;

	for (unsigned v = 0; v < 256; v++) {
		char c[3];
		int want = in_table(v) || (v >= 0xE0 && v <= 0xEF);

		snprintf(c, sizeof(c), "%02X", v);
		cr_assert_eq(x1367_code_valid(c), want, "%s", c);
		valid += (unsigned)want;
	}
	cr_assert_eq(valid, N_TABLE + 16);
}

Test(codes, reserved_range_invalid)
{
	cr_assert_null(x1367_code_message("50"));
	cr_assert_null(x1367_code_message("7F"));
	cr_assert_null(x1367_code_message("DF"));
	cr_assert_null(x1367_code_message("01"));
	cr_assert_null(x1367_code_message("0F"));
	cr_assert_null(x1367_code_message("13"));
	cr_assert_null(x1367_code_message("F0"));
	cr_assert_null(x1367_code_message("FE"));
}

Test(codes, private_codes)
{
	cr_assert_str_eq(x1367_code_message("E0"), "Private Reason");
	cr_assert_str_eq(x1367_code_message("E7"), "Private Reason");
	cr_assert_str_eq(x1367_code_message("EF"), "Private Reason");
	cr_assert_str_eq(x1367_code_class("EA"), "private");
	/* Private codes have no extended form. */
	cr_assert_null(x1367_code_message("E001"));
}

Test(codes, extended_codes)
{
	cr_assert_str_eq(x1367_code_message("1E01"), "Extended Reasons");
	cr_assert_str_eq(x1367_code_message("2E01"), "Extended Reasons");
	cr_assert_str_eq(x1367_code_message("3EFF"), "Extended Reasons");
	cr_assert_str_eq(x1367_code_message("4E0102A0"), "Extended Reasons");
	cr_assert_str_eq(x1367_code_class("2E01"), "security");
	cr_assert_str_eq(x1367_code_class("4E0102A0"), "device");
	/* Odd number of further digits: not pairs. */
	cr_assert_null(x1367_code_message("2E0"));
	cr_assert_null(x1367_code_message("2E012"));
	/* Only the E prefixes take more digits. */
	cr_assert_null(x1367_code_message("3001"));
	cr_assert_null(x1367_code_message("FF00"));
	cr_assert_null(x1367_code_message("0E01"));
	cr_assert_null(x1367_code_message("5E01"));
	cr_assert_null(x1367_code_message("2e01"));
	cr_assert_null(x1367_code_message("2E0g"));
}

Test(codes, malformed)
{
	cr_assert_null(x1367_code_message(NULL));
	cr_assert_null(x1367_code_message(""));
	cr_assert_null(x1367_code_message("3"));
	cr_assert_null(x1367_code_message("3f"));
	cr_assert_null(x1367_code_message("ff"));
	cr_assert_null(x1367_code_message("0x30"));
	cr_assert_null(x1367_code_message(" 30"));
	cr_assert_null(x1367_code_message("30 "));
	cr_assert_null(x1367_code_message("3G"));
	cr_assert_null(x1367_code_message("300"));
	cr_assert_eq(x1367_code_valid(NULL), 0);
	cr_assert_eq(x1367_code_valid("ee0"), 0);
	/* The class of something invalid is still printable. */
	cr_assert_str_eq(x1367_code_class("50"), "other");
	cr_assert_str_eq(x1367_code_class(NULL), "other");
}
