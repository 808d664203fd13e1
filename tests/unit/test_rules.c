/* The rules loader: good tables, every refusal with its exact
 * "file:line: reason", the shipped rules/ directory, and hostile input. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rules.h"
#include "x1367_codes.h"

static int known(const char *name, void *arg)
{
	(void)arg;
	return strcmp(name, "modbus") == 0 || strcmp(name, "echonet-lite") == 0 ||
	       strcmp(name, "test") == 0;
}

static struct rules *r;
static char err[RULES_ERR_LEN];

static void setup(void)
{
	r = rules_new();
	cr_assert_not_null(r);
	err[0] = '\0';
}

static void teardown(void)
{
	rules_free(r);
}

TestSuite(rules, .init = setup, .fini = teardown);

/* Load `len` bytes of text as the file "t.map". */
static int load_n(const char *text, size_t len)
{
	FILE *f = fmemopen((void *)text, len, "r");
	int rc;

	cr_assert_not_null(f, "fmemopen: %s", strerror(errno));
	rc = rules_load_stream(r, f, "t.map", known, NULL, err);
	fclose(f);
	return rc;
}

static int load(const char *text)
{
	return load_n(text, strlen(text));
}

/* The load fails with exactly `want`, and the table is left as it was. */
static void refused(const char *text, const char *want)
{
	size_t before = rules_count(r);

	cr_assert_eq(load(text), -1, "accepted: %s", text);
	cr_assert_str_eq(err, want);
	cr_assert_eq(rules_count(r), before);
}

static const char good[] =
	"# protocol vendor x1367 meaning\n"
	"\n"
	"modbus 01 30 Illegal Function\n"
	"modbus\t02\t31\tIllegal Data Address   \n"
	"   # indented comment\n"
	"modbus 05 - Acknowledge (not an error)\n"
	"modbus 0a 11 Gateway Path Unavailable # trailing comment\n"
	"modbus 03e0f25e 21 The certification is out of date.\n"
	"modbus * FF Other exception\n"
	"echonet-lite 52 30 Get_SNA#not a comment\n"
	"test 2e01 2e01 Extended reason\n"
	"test e5 E5 Private one";   /* no final newline */

Test(rules, good_file)
{
	const struct rule *row;

	cr_assert_eq(load(good), 0, "%s", err);
	cr_assert_eq(rules_count(r), 9);

	row = rules_lookup(r, "modbus", "01");
	cr_assert_not_null(row);
	cr_assert_str_eq(row->protocol, "modbus");
	cr_assert_str_eq(row->vendor_code, "01");
	cr_assert_str_eq(row->x1367_code, "30");
	cr_assert_str_eq(row->meaning, "Illegal Function");
	cr_assert_str_eq(row->file, "t.map");
	cr_assert_eq(row->line, 3);

	row = rules_lookup(r, "modbus", "02");
	cr_assert_str_eq(row->meaning, "Illegal Data Address");
	cr_assert_eq(row->line, 4);
}

Test(rules, comments_and_trimming)
{
	cr_assert_eq(load(good), 0, "%s", err);
	cr_assert_str_eq(rules_lookup(r, "modbus", "0A")->meaning, "Gateway Path Unavailable");
	/* '#' inside a word is text, not a comment. */
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "52")->meaning, "Get_SNA#not a comment");
	cr_assert_str_eq(rules_lookup(r, "test", "E5")->meaning, "Private one");
}

Test(rules, vendor_codes_case_insensitive_exact)
{
	cr_assert_eq(load(good), 0, "%s", err);
	cr_assert_str_eq(rules_lookup(r, "modbus", "0a")->vendor_code, "0A");
	cr_assert_str_eq(rules_lookup(r, "modbus", "0A")->x1367_code, "11");
	cr_assert_str_eq(rules_lookup(r, "modbus", "03E0F25E")->x1367_code, "21");
	cr_assert_str_eq(rules_lookup(r, "modbus", "03e0f25e")->x1367_code, "21");
	/* Exact match: zero padding makes another code, which falls to "*". */
	cr_assert_str_eq(rules_lookup(r, "modbus", "000A")->vendor_code, "*");
	cr_assert_str_eq(rules_lookup(r, "modbus", "A")->vendor_code, "*");
	/* X.1367 codes are stored uppercase too. */
	cr_assert_str_eq(rules_lookup(r, "test", "2E01")->x1367_code, "2E01");
}

Test(rules, star_and_dash_rows)
{
	const struct rule *row;

	cr_assert_eq(load(good), 0, "%s", err);
	row = rules_lookup(r, "modbus", "05");
	cr_assert_str_eq(row->x1367_code, "", "'-' is stored as \"\" (no record)");
	cr_assert_str_eq(row->meaning, "Acknowledge (not an error)");
	row = rules_lookup(r, "modbus", "7F");
	cr_assert_not_null(row);
	cr_assert_str_eq(row->vendor_code, "*");
	cr_assert_str_eq(row->x1367_code, "FF");
	/* A code longer than any row still reaches "*". */
	row = rules_lookup(r, "modbus", "00112233445566778899AABBCCDDEEFF00");
	cr_assert_str_eq(row->vendor_code, "*");
	cr_assert_str_eq(rules_lookup(r, "modbus", NULL)->vendor_code, "*");
	/* No "*" row for echonet-lite: unknown codes give NULL. */
	cr_assert_null(rules_lookup(r, "echonet-lite", "51"));
	cr_assert_null(rules_lookup(r, "nosuch", "01"));
	cr_assert_null(rules_lookup(r, NULL, "01"));
}

Test(rules, empty_and_comment_only)
{
	cr_assert_eq(load(""), 0, "%s", err);
	cr_assert_eq(load("# nothing\n\n   \n\t# more\n"), 0, "%s", err);
	cr_assert_eq(rules_count(r), 0);
	cr_assert_null(rules_lookup(r, "modbus", "01"));
}

Test(rules, crlf_and_bom)
{
	cr_assert_eq(load("\xEF\xBB\xBFmodbus 01 30 Illegal Function\r\nmodbus 02 31 Bad\r\n"), 0,
		     "%s", err);
	cr_assert_str_eq(rules_lookup(r, "modbus", "01")->meaning, "Illegal Function");
	cr_assert_str_eq(rules_lookup(r, "modbus", "02")->meaning, "Bad");
}

Test(rules, utf8_meaning_accepted)
{
	cr_assert_eq(load("echonet-lite 52 30 \xE8\xAA\xAD\xE3\x81\xBF\xE5\x87\xBA\xE3\x81\x97\xE4\xB8\x8D\xE5\x8F\xAF\n"),
		     0, "%s", err);
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "52")->meaning, "読み出し不可");
}

/* ---- every refusal, exact text ------------------------------------------ */

Test(rules, unknown_protocol)
{
	refused("# c\nmodbus 01 30 ok\nprofinet 01 30 Nope\n", "t.map:3: unknown protocol \"profinet\"");
}

Test(rules, protocol_too_long)
{
	refused("abcdefghijabcdefghijabcdefghij123 01 30 x\n",
		"t.map:1: protocol name too long (33 bytes, at most 31)");
}

Test(rules, vendor_not_hex)
{
	refused("modbus 0x02 31 x\n",
		"t.map:1: vendor code \"0x02\" is not hex (or \"*\", 04**, 0400/FF00)");
	refused("modbus ** 31 x\n", "t.map:1: vendor code \"**\" fixes no bit: write * for any code");
}

Test(rules, vendor_too_long)
{
	refused("modbus 00112233445566778899AABBCCDDEEFF00 31 x\n",
		"t.map:1: vendor code too long (34 hex digits, at most 32)");
	/* 32 digits are fine. */
	cr_assert_eq(load("modbus 00112233445566778899AABBCCDDEEFF 31 x\n"), 0, "%s", err);
}

Test(rules, vendor_odd_digits)
{
	refused("modbus 123 31 x\n",
		"t.map:1: vendor code \"123\" has an odd number of hex digits (write whole bytes)");
}

#define VALID_CODES \
	" (valid: 00 10 11 12 1E 1F 20 21 22 23 2E 2F 30 31 3E 3F 40 41 42 4E 4F E0-EF FF;" \
	" extended: 1E/2E/3E/4E followed by hex pairs, or - for no record)"

Test(rules, unknown_x1367_code)
{
	refused("\n\nmodbus 01 3G x\n", "t.map:3: unknown X.1367 code \"3G\"" VALID_CODES);
	refused("modbus 01 50 Reserved\n", "t.map:1: unknown X.1367 code \"50\"" VALID_CODES);
	refused("modbus 01 2E0 x\n", "t.map:1: unknown X.1367 code \"2E0\"" VALID_CODES);
	refused("modbus 01 0x30 x\n", "t.map:1: unknown X.1367 code \"0x30\"" VALID_CODES);
	refused("modbus 01 2E0102030405060708 x\n",
		"t.map:1: X.1367 code too long (18 digits, at most 16)");
}

/* The valid codes the refusal names are the table's, every row of it. */
Test(rules, unknown_code_names_the_table)
{
	const char *code, *msg, *cls;
	char want[16];

	cr_assert_eq(load("modbus 01 99 x\n"), -1);
	for (size_t i = 0; x1367_code_row(i, &code, &msg, &cls); i++) {
		snprintf(want, sizeof(want), " %s", code);
		cr_assert(strstr(err, want), "\"%s\" not named in: %s", code, err);
	}
}

Test(rules, duplicate_row)
{
	refused("modbus 01 30 a\nmodbus 02 31 b\nmodbus 01 30 a again\n",
		"t.map:3: duplicate row for modbus 01 (first at t.map:1)");
	/* Case does not make a code different. */
	refused("modbus 0a 30 a\nmodbus 0A 30 b\n",
		"t.map:2: duplicate row for modbus 0A (first at t.map:1)");
	refused("modbus * FF a\n# x\nmodbus * 30 b\n",
		"t.map:3: duplicate row for modbus * (first at t.map:1)");
	/* Same code under another protocol is not a duplicate. */
	cr_assert_eq(load("modbus 01 30 a\necho\x6e\x65t-lite 01 30 a\n"), 0, "%s", err);
}

Test(rules, duplicate_across_loads)
{
	cr_assert_eq(load("modbus 01 30 a\n"), 0, "%s", err);
	refused("\nmodbus 01 31 b\n", "t.map:2: duplicate row for modbus 01 (first at t.map:1)");
	cr_assert_eq(rules_count(r), 1);
}

Test(rules, missing_columns)
{
	refused("modbus\n", "t.map:1: missing columns (expected: protocol vendor-code x1367-code meaning)");
	refused("modbus 01\n", "t.map:1: missing columns (expected: protocol vendor-code x1367-code meaning)");
	refused("modbus 01 30\n",
		"t.map:1: missing vendor meaning (columns: protocol vendor-code x1367-code meaning)");
	refused("modbus 01 30    # only a comment\n",
		"t.map:1: missing vendor meaning (columns: protocol vendor-code x1367-code meaning)");
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

Test(rules, meaning_too_long)
{
	char *m = repeat('m', 128), line[512];

	snprintf(line, sizeof(line), "modbus 01 30 %s\n", m);
	refused(line, "t.map:1: vendor meaning too long (128 bytes, at most 127)");
	m[127] = '\0';
	snprintf(line, sizeof(line), "modbus 01 30 %s\n", m);
	cr_assert_eq(load(line), 0, "%s", err);
	cr_assert_eq(strlen(rules_lookup(r, "modbus", "01")->meaning), 127);
	free(m);
}

Test(rules, line_too_long)
{
	char *pad = repeat(' ', 1024 - strlen("modbus 01 30 x")), line[1200];

	/* Exactly 1024 bytes: accepted. */
	snprintf(line, sizeof(line), "modbus 01 30 x%s\n", pad);
	cr_assert_eq(strlen(line), 1025);
	cr_assert_eq(load(line), 0, "%s", err);
	/* 1025 bytes: refused, also as a comment. */
	snprintf(line, sizeof(line), "\n#%s%s\n", pad, "0123456789abcd");
	cr_assert_eq(strlen(line), 1 + 1025 + 1);
	refused(line, "t.map:2: line too long (more than 1024 bytes)");
	free(pad);
}

Test(rules, control_characters)
{
	refused("modbus 01 30 Illegal\x01 Function\n", "t.map:1: control character 0x01 in line");
	refused("modbus 01 30 Illegal\x1b[31m\n", "t.map:1: control character 0x1B in line");
	refused("modbus 01 30 del\x7f\n", "t.map:1: control character 0x7F in line");
	refused("# comment with \x07 bell\n", "t.map:1: control character 0x07 in line");
	refused("modbus 01 30 a\tb\n", "t.map:1: tab in vendor meaning");
	/* A NUL byte must not silently cut the line. */
	{
		static const char nul[] = "modbus 01 30 Ill\0egal\n";
		size_t before = rules_count(r);

		cr_assert_eq(load_n(nul, sizeof(nul) - 1), -1);
		cr_assert_str_eq(err, "t.map:1: control character 0x00 in line");
		cr_assert_eq(rules_count(r), before);
	}
}

Test(rules, invalid_utf8)
{
	refused("modbus 01 30 caf\xE9\n", "t.map:1: vendor meaning is not valid UTF-8");
	refused("modbus 01 30 \xC0\xAF overlong\n", "t.map:1: vendor meaning is not valid UTF-8");
	refused("modbus 01 30 \xED\xA0\x80 surrogate\n", "t.map:1: vendor meaning is not valid UTF-8");
	refused("modbus 01 30 \xE3\x81 cut\n", "t.map:1: vendor meaning is not valid UTF-8");
}

Test(rules, too_many_rows)
{
	size_t cap = (RULES_MAX_ROWS + 1) * 32, off = 0;
	char *text = malloc(cap);

	cr_assert_not_null(text);
	for (int i = 0; i <= RULES_MAX_ROWS; i++)
		off += (size_t)snprintf(text + off, cap - off, "test %04X 30 row %d\n", i, i);
	cr_assert_eq(load_n(text, off), -1);
	cr_assert_str_eq(err, "t.map:4097: too many rows (at most 4096 in all tables)");
	cr_assert_eq(rules_count(r), 0);
	/* One fewer fits. */
	off = 0;
	for (int i = 0; i < RULES_MAX_ROWS; i++)
		off += (size_t)snprintf(text + off, cap - off, "test %04X 30 row %d\n", i, i);
	cr_assert_eq(load_n(text, off), 0, "%s", err);
	cr_assert_eq(rules_count(r), RULES_MAX_ROWS);
	cr_assert_str_eq(rules_lookup(r, "test", "0FFF")->meaning, "row 4095");
	cr_assert_str_eq(rules_lookup(r, "test", "0000")->meaning, "row 0");
	free(text);
}

Test(rules, null_callback_accepts_any_protocol)
{
	FILE *f = fmemopen((void *)"profinet 01 30 x\n", 17, "r");

	cr_assert_eq(rules_load_stream(r, f, "t.map", NULL, NULL, err), 0, "%s", err);
	fclose(f);
	cr_assert_str_eq(rules_lookup(r, "profinet", "01")->x1367_code, "30");
}

/* ---- files and directories ----------------------------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/x1367-rules-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void remove_tmpdir(void)
{
	char cmd[128];

	/* Only ever our own mkdtemp directory. */
	cr_assert_eq(strncmp(tmpdir, "/tmp/x1367-rules-", 17), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

static const char *top_srcdir(void)
{
	const char *top = getenv("top_srcdir");

	return top && *top ? top : ".";
}

Test(rules, shipped_rules_dir_loads)
{
	char dir[1024];
	const struct rule *row;

	snprintf(dir, sizeof(dir), "%s/rules", top_srcdir());
	cr_assert_eq(rules_load_dir(r, dir, known, NULL, err), 0, "%s", err);
	cr_assert_eq(rules_count(r), 11 + 6);
	cr_assert_str_eq(rules_lookup(r, "modbus", "01")->x1367_code, "30");
	cr_assert_str_eq(rules_lookup(r, "modbus", "02")->x1367_code, "31");
	cr_assert_str_eq(rules_lookup(r, "modbus", "03")->x1367_code, "31");
	cr_assert_str_eq(rules_lookup(r, "modbus", "04")->x1367_code, "41");
	cr_assert_str_eq(rules_lookup(r, "modbus", "05")->x1367_code, "");
	cr_assert_str_eq(rules_lookup(r, "modbus", "06")->x1367_code, "42");
	cr_assert_str_eq(rules_lookup(r, "modbus", "07")->x1367_code, "3F");
	cr_assert_str_eq(rules_lookup(r, "modbus", "08")->x1367_code, "40");
	cr_assert_str_eq(rules_lookup(r, "modbus", "0A")->x1367_code, "11");
	cr_assert_str_eq(rules_lookup(r, "modbus", "0B")->x1367_code, "10");
	row = rules_lookup(r, "modbus", "09");
	cr_assert_str_eq(row->vendor_code, "*");
	cr_assert_str_eq(row->x1367_code, "FF");
	cr_assert_str_eq(rules_lookup(r, "modbus", "0B")->meaning,
			 "Gateway Target Device Failed to Respond");
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "50")->x1367_code, "31");
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "51")->x1367_code, "31");
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "52")->x1367_code, "30");
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "53")->x1367_code, "30");
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "5E")->x1367_code, "31");
	cr_assert_str_eq(rules_lookup(r, "echonet-lite", "5F")->x1367_code, "31");
	cr_assert_null(rules_lookup(r, "echonet-lite", "72"));
	row = rules_lookup(r, "echonet-lite", "52");
	cr_assert(strstr(row->file, "echonet-lite.map") != NULL, "%s", row->file);
}

Test(rules, dir_loads_in_name_order_and_skips_others)
{
	make_tmpdir();
	write_file(tmpdir, "b.map", "modbus 02 31 from b\n", 20);
	write_file(tmpdir, "a.map", "modbus 01 30 from a\n", 20);
	write_file(tmpdir, "notes.txt", "garbage \x01\n", 10);
	write_file(tmpdir, ".#a.map", "garbage \x01\n", 10);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), 0, "%s", err);
	cr_assert_eq(rules_count(r), 2);
	cr_assert_eq(rules_lookup(r, "modbus", "01")->line, 1);
	remove_tmpdir();
}

Test(rules, dir_duplicate_across_files)
{
	char want[RULES_ERR_LEN];

	make_tmpdir();
	write_file(tmpdir, "a.map", "modbus 01 30 from a\n", 20);
	write_file(tmpdir, "b.map", "# b\nmodbus 01 31 from b\n", 24);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	snprintf(want, sizeof(want), "%s/b.map:2: duplicate row for modbus 01 (first at %s/a.map:1)",
		 tmpdir, tmpdir);
	cr_assert_str_eq(err, want);
	/* All or nothing: a.map's row went too. */
	cr_assert_eq(rules_count(r), 0);
	remove_tmpdir();
}

Test(rules, dir_without_map_files)
{
	char want[RULES_ERR_LEN];

	make_tmpdir();
	write_file(tmpdir, "modbus.map.orig", "modbus 01 30 x\n", 15);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	snprintf(want, sizeof(want), "%s: no rules files (*.map) in this directory", tmpdir);
	cr_assert_str_eq(err, want);
	remove_tmpdir();
}

Test(rules, dir_missing)
{
	cr_assert_eq(rules_load_dir(r, "/nonexistent/x1367/rules", known, NULL, err), -1);
	cr_assert_str_eq(err, "/nonexistent/x1367/rules: No such file or directory");
}

Test(rules, unreadable_file)
{
	char path[256], want[RULES_ERR_LEN];

	/* Root reads through any mode bits, so use what fails for everyone:
	 * a dangling symlink (refused as a link, before anything is opened),
	 * and a directory named like a table. */
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/a.map", tmpdir);
	cr_assert_eq(symlink("/nonexistent/x1367.map", path), 0);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	snprintf(want, sizeof(want), "%s: a symbolic link: refused", path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(unlink(path), 0);

	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(rules_load_file(r, path, known, NULL, err), -1);
	snprintf(want, sizeof(want), "%s: a directory, not a regular file: refused", path);
	cr_assert_str_eq(err, want);
	cr_assert_eq(rmdir(path), 0);
	remove_tmpdir();

	cr_assert_eq(rules_load_file(r, "/nonexistent/x1367.map", known, NULL, err), -1);
	cr_assert_str_eq(err, "/nonexistent/x1367.map: No such file or directory");
}

/* ---- trust: the plugin loader's rule (plugin_trusted) -------------------
 * Whoever can write a table can silence any error by mapping it to "-". */

Test(rules, group_or_world_writable_dir_refused)
{
	char want[RULES_ERR_LEN];

	make_tmpdir();
	write_file(tmpdir, "a.map", "modbus 01 30 x\n", 15);
	cr_assert_eq(chmod(tmpdir, 0770), 0);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	snprintf(want, sizeof(want), "%s: directory writable by group or others: refused (chmod go-w %s)",
		 tmpdir, tmpdir);
	cr_assert_str_eq(err, want);
	cr_assert_eq(chmod(tmpdir, 0757), 0);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	cr_assert_str_eq(err, want);
	cr_assert_eq(rules_count(r), 0);
	cr_assert_eq(chmod(tmpdir, 0755), 0);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), 0, "%s", err);
	remove_tmpdir();
}

Test(rules, group_or_world_writable_file_refused)
{
	char path[128], want[RULES_ERR_LEN];

	make_tmpdir();
	write_file(tmpdir, "a.map", "modbus 01 30 x\n", 15);
	snprintf(path, sizeof(path), "%s/a.map", tmpdir);
	snprintf(want, sizeof(want), "%s: file writable by group or others: refused (chmod go-w %s)", path,
		 path);
	cr_assert_eq(chmod(path, 0664), 0);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	cr_assert_str_eq(err, want);
	cr_assert_eq(chmod(path, 0646), 0);
	cr_assert_eq(rules_load_file(r, path, known, NULL, err), -1);
	cr_assert_str_eq(err, want);
	cr_assert_eq(rules_count(r), 0);
	remove_tmpdir();
}

Test(rules, symlinked_table_refused)
{
	char target[128], path[128], want[RULES_ERR_LEN];

	/* Even to a good table: a link is where someone else's file gets in. */
	make_tmpdir();
	write_file(tmpdir, "good.txt", "modbus 01 30 x\n", 15);
	snprintf(target, sizeof(target), "%s/good.txt", tmpdir);
	snprintf(path, sizeof(path), "%s/a.map", tmpdir);
	cr_assert_eq(symlink(target, path), 0);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	snprintf(want, sizeof(want), "%s: a symbolic link: refused", path);
	cr_assert_str_eq(err, want);
	remove_tmpdir();
}

Test(rules, owned_by_someone_else_refused)
{
	char want[RULES_ERR_LEN];

	if (geteuid() != 0)
		cr_skip_test("needs root to chown");
	make_tmpdir();
	write_file(tmpdir, "a.map", "modbus 01 30 x\n", 15);
	cr_assert_eq(chown(tmpdir, 65534, 65534), 0);
	cr_assert_eq(rules_load_dir(r, tmpdir, known, NULL, err), -1);
	snprintf(want, sizeof(want),
		 "%s: directory owned by uid 65534, not root or the sensor's user: refused (chown root %s)",
		 tmpdir, tmpdir);
	cr_assert_str_eq(err, want);
	remove_tmpdir();
}

/* ---- hostile files -------------------------------------------------------- */

static char *tmp_file(const void *data, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/x1367-rules-XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static int load_tmp(const void *data, size_t len)
{
	char *path = tmp_file(data, len);
	int rc = rules_load_file(r, path, known, NULL, err);

	unlink(path);
	return rc;
}

Test(rules, truncated_file)
{
	/* Cut in the middle of a row: the last line lacks its meaning. */
	static const char text[] = "modbus 01 30 Illegal Function\nmodbus 02";

	cr_assert_eq(load_tmp(text, sizeof(text) - 1), -1);
	cr_assert(strstr(err, ":2: missing columns") != NULL, "%s", err);
	/* Cut in the middle of a UTF-8 sequence. */
	static const char cut[] = "echonet-lite 52 30 \xE8\xAA";
	cr_assert_eq(load_tmp(cut, sizeof(cut) - 1), -1);
	cr_assert(strstr(err, ":1: vendor meaning is not valid UTF-8") != NULL, "%s", err);
	cr_assert_eq(rules_count(r), 0);
}

Test(rules, garbage_file)
{
	unsigned char junk[4096];
	unsigned seed = 12345;

	for (int round = 0; round < 50; round++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			seed = seed * 1103515245u + 12345u;
			junk[i] = (unsigned char)(seed >> 16);
		}
		cr_assert_eq(load_tmp(junk, sizeof(junk)), -1);
		cr_assert(strncmp(err, "/tmp/x1367-rules-", 17) == 0, "%s", err);
		cr_assert(strstr(err, ":1: ") != NULL, "%s", err);
	}
	cr_assert_eq(rules_count(r), 0);
}

Test(rules, oversized_file)
{
	/* 8 MiB of one endless line, then of endless short blank lines. */
	size_t len = 8u << 20;
	char *big = repeat('a', len);

	cr_assert_eq(load_tmp(big, len), -1);
	cr_assert(strstr(err, ":1: line too long (more than 1024 bytes)") != NULL, "%s", err);
	memset(big, '\n', len);
	cr_assert_eq(load_tmp(big, len), 0, "%s", err);
	cr_assert_eq(rules_count(r), 0);
	free(big);
}

/* ---- tables of protocols not loaded ------------------------------------- */

static char warned[RULES_ERR_LEN];

static void remember(const char *msg, void *arg)
{
	(void)arg;
	snprintf(warned, sizeof(warned), "%s", msg);
}

Test(rules, table_of_an_absent_plugin_is_skipped_and_said)
{
	warned[0] = '\0';
	rules_set_warn(r, remember, NULL);
	cr_assert_eq(load("modbus 01 30 Illegal Function\n"), 0, "%s", err);
	cr_assert_eq(load("# the tls plugin's table\ntls 2A 21 bad_certificate\ntls 30 21 unknown_ca\n"), 0, "%s", err);
	cr_assert_str_eq(warned, "t.map: no dissector \"tls\" is loaded: its 2 rows are not used");
	cr_assert_eq(rules_count(r), 1);
	cr_assert_eq(rules_skipped_rows(r), 2);
	cr_assert_null(rules_lookup(r, "tls", "2A"));
	cr_assert_not_null(rules_lookup(r, "modbus", "01"));
}

Test(rules, a_table_mixing_known_and_unknown_is_refused)
{
	refused("tls 2A 21 bad_certificate\nmodbus 01 30 Illegal Function\n",
		"t.map:1: unknown protocol \"tls\"");
	cr_assert_eq(rules_skipped_rows(r), 0);
}

/* The mapping policy: what a reported vendor code becomes. */
Test(rules, map_policy)
{
	static const struct {
		const char *protocol, *vendor;
		int answers_request;
		enum rules_outcome outcome;
		const char *code, *meaning;   /* code NULL: no record */
		int has_detail;
	} cases[] = {
		{ "modbus", "02", 1, RULES_MAPPED, "31", "Illegal Data Address", 0 },
		/* the "*" row is a mapping like any other */
		{ "modbus", "7F", 0, RULES_MAPPED, "FF", "Other exception", 0 },
		/* "-" answering a request: no record */
		{ "modbus", "05", 1, RULES_NOT_ERROR, NULL, "Acknowledge (not an error)", 0 },
		/* "-" answering no request seen: FF, and why */
		{ "modbus", "05", 0, RULES_NOT_ERROR_UNASKED, "FF", "Acknowledge (not an error)", 1 },
		/* no row at all, or no code: FF, unmapped */
		{ "echonet-lite", "51", 1, RULES_UNMAPPED, "FF", "no mapping row for this code", 0 },
		{ "modbus", NULL, 1, RULES_UNMAPPED, "FF", "no mapping row for this code", 0 },
	};
	struct rules_verdict v;

	cr_assert_eq(load(good), 0, "%s", err);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rules_map(r, cases[i].protocol, cases[i].vendor, cases[i].answers_request, &v);
		cr_assert_eq(v.outcome, cases[i].outcome, "case %zu", i);
		if (cases[i].code)
			cr_assert_str_eq(v.code, cases[i].code, "case %zu", i);
		else
			cr_assert_null(v.code, "case %zu", i);
		cr_assert_str_eq(v.meaning, cases[i].meaning, "case %zu", i);
		cr_assert_eq(v.detail != NULL, cases[i].has_detail, "case %zu", i);
		cr_assert_eq(v.rule == NULL, cases[i].outcome == RULES_UNMAPPED, "case %zu", i);
	}
	rules_map(NULL, "modbus", "02", 1, &v);
	cr_assert_eq(v.outcome, RULES_UNMAPPED);
}

/* ---- prefix and mask rows ------------------------------------------- */

static const char patterns[] =
	"test 04** 30 any 04xx\n"
	"test 0401 31 the one exact row\n"
	"test 040*  10 040x, more specific than 04**\n"
	"test 1000/F000 23 1xxx by mask\n"
	"test 1200/FF00 11 12xx: more bits than 1000/F000\n"
	"test 0a0b/ffff 21 a full mask is an exact row\n"
	"test * FF anything else\n";

static const char *code_of(const char *vendor)
{
	const struct rule *row = rules_lookup(r, "test", vendor);
	return row ? row->x1367_code : "(none)";
}

Test(rules, most_specific_row_wins)
{
	cr_assert_eq(load(patterns), 0, "%s", err);
	cr_assert_str_eq(code_of("0401"), "31", "exact beats every pattern");
	cr_assert_str_eq(code_of("0402"), "10", "040* (12 bits) beats 04** (8)");
	cr_assert_str_eq(code_of("0410"), "30");
	cr_assert_str_eq(code_of("04ff"), "30", "case-insensitive");
	cr_assert_str_eq(code_of("1234"), "11");
	cr_assert_str_eq(code_of("1ABC"), "23");
	cr_assert_str_eq(code_of("0A0B"), "21");
	cr_assert_str_eq(rules_lookup(r, "test", "0A0B")->vendor_code, "0A0B");
	/* A pattern matches codes of its own length only. */
	cr_assert_str_eq(code_of("04"), "FF");
	cr_assert_str_eq(code_of("040100"), "FF");
	cr_assert_str_eq(code_of("0501"), "FF");
	cr_assert_str_eq(code_of("04 1"), "FF", "not hex: only the * row");
	/* The two spellings of one pattern are one key: a duplicate. */
	cr_assert_str_eq(rules_lookup(r, "test", "0455")->vendor_code, "0400/FF00");
}

Test(rules, same_pattern_twice_is_a_duplicate)
{
	refused("test 04** 30 a\ntest 0400/ff00 31 b\n",
		"t.map:2: duplicate row for test 0400/FF00 (first at t.map:1)");
}

Test(rules, equally_specific_overlap_refused)
{
	refused("test 04** 30 a\ntest **01 31 b\n",
		"t.map:2: row 0001/00FF overlaps 0400/FF00 (t.map:1) with as many fixed bits: "
		"both match 0401 and neither is more specific");
	/* As specific but disjoint: fine. */
	cr_assert_eq(load("test 04** 30 a\ntest 05** 31 b\ntest 0001/00FF 10 c\n"), -1);
	cr_assert_eq(load("test 04** 30 a\ntest 05** 31 b\n"), 0, "%s", err);
}

Test(rules, bad_patterns)
{
	refused("test 0400/FF0 30 x\n",
		"t.map:1: vendor code \"0400/FF0\": VALUE and MASK must have as many hex digits");
	refused("test 0401/FF00 30 x\n",
		"t.map:1: vendor code \"0401/FF00\": VALUE has bits set outside MASK (byte 2: 01/00)");
	refused("test 04g0/FF00 30 x\n",
		"t.map:1: vendor code \"04g0/FF00\": VALUE/MASK must be hex, whole bytes, at most 32 digits each");
	refused("test 040/FF0 30 x\n",
		"t.map:1: vendor code \"040/FF0\": VALUE/MASK must be hex, whole bytes, at most 32 digits each");
	refused("test 0000/0000 30 x\n",
		"t.map:1: vendor code \"0000/0000\" fixes no bit: write * for any code");
	refused("test **** 30 x\n", "t.map:1: vendor code \"****\" fixes no bit: write * for any code");
	refused("test 04* 30 x\n",
		"t.map:1: vendor code \"04*\" has an odd number of hex digits (write whole bytes)");
	refused("test 0x** 30 x\n",
		"t.map:1: vendor code \"0x**\" is not hex digits and * (nor VALUE/MASK)");
	refused("test / 30 x\n",
		"t.map:1: vendor code \"/\": VALUE/MASK must be hex, whole bytes, at most 32 digits each");
	refused("test 04**/FF00 30 x\n",
		"t.map:1: vendor code \"04**/FF00\": VALUE/MASK must be hex, whole bytes, at most 32 digits each");
}

static int n_warned;
static char last_warning[RULES_ERR_LEN];

static void count_warning(const char *msg, void *arg)
{
	(void)arg;
	n_warned++;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

Test(rules, shadowed_rows_reported)
{
	n_warned = 0;
	/* 0* is split in two halves by more specific rows; 1* keeps 18..1F. */
	cr_assert_eq(load("test 0* 30 never used\n"
			  "test 00/F8 31 00-07\n"
			  "test 08/F8 10 08-0F\n"
			  "test 1* 30 used\n"
			  "test 10/F8 31 10-17 only\n"), 0, "%s", err);
	cr_assert_eq(rules_report_shadowed(r, count_warning, NULL), 1);
	cr_assert_eq(n_warned, 1);
	cr_assert_str_eq(last_warning, "t.map:1: row test 00/F0 can never match: every code it covers "
			 "has a more specific row");
}

Test(rules, shadowed_by_exact_rows)
{
	char text[16 * 32];
	size_t n = 0;

	cr_assert_eq(load("test A* 30 x\n"), 0, "%s", err);
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "test A%X 31 exact\n", i);
	cr_assert_eq(load(text), 0, "%s", err);
	cr_assert_eq(rules_report_shadowed(r, count_warning, NULL), 1);
	cr_assert_str_eq(last_warning, "t.map:1: row test A0/F0 can never match: every code it covers "
			 "has a more specific row");
}

Test(rules, not_shadowed_when_one_code_is_left)
{
	cr_assert_eq(load("test A* 30 x\n"), 0, "%s", err);
	cr_assert_eq(load("test A0/F1 31 even\ntest A1/F3 10 1 mod 4\ntest A3/F7 11 3 mod 8\ntest A7 21 A7\n"), 0,
		     "%s", err);
	/* AF is left to A* */
	cr_assert_eq(rules_report_shadowed(r, count_warning, NULL), 0);
	cr_assert_str_eq(code_of("AF"), "30");
	cr_assert_str_eq(code_of("A7"), "21");
	cr_assert_str_eq(code_of("AB"), "11");
}
