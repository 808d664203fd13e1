/*
 * Mapping tables (rules/NAME.map): vendor error code -> X.1367 code.
 *
 * Rows live in one array; an open-addressing hash over (protocol, vendor
 * code) serves both the duplicate check while loading and rules_lookup,
 * which runs once per error record.  The table is at most RULES_MAX_ROWS
 * rows and the hash has twice as many slots, so probes stay short.
 * Pattern rows (04**, 0400/FF00) are hashed by their VALUE/MASK text, so a
 * pattern written twice is a duplicate, and listed in pat[]: a code with
 * no exact row is matched against them, most fixed bits first.
 *
 * A load is all or nothing: on the first bad line the rows of that call
 * are dropped again and `err` says "file:line: reason".  Operators edit
 * these files by hand, so the reason names the column and the value.
 */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "plugin.h"
#include "utf8.h"
#include "x1367_codes.h"

#define LINE_MAX_BYTES 1024
#define VENDOR_MAX_DIGITS 32   /* 16 bytes: rule.value */
#define X1367_MAX_DIGITS (sizeof(((struct rule *)0)->x1367_code) - 1)
#define PROTOCOL_MAX (sizeof(((struct rule *)0)->protocol) - 1)
#define MEANING_MAX (sizeof(((struct rule *)0)->meaning) - 1)
#define HASH_SLOTS (2 * RULES_MAX_ROWS)   /* power of two */
#define REASON_LEN 256

struct rules {
	struct rule *rows;
	size_t n, cap;
	size_t skipped_rows;         /* tables of protocols not loaded */
	rules_warn_fn warn;
	void *warn_arg;
	uint16_t slot[HASH_SLOTS];   /* row index + 1; 0 = empty */
	uint16_t pat[RULES_MAX_ROWS]; /* pattern rows, by index */
	size_t npat;
};

_Static_assert((HASH_SLOTS & (HASH_SLOTS - 1)) == 0, "HASH_SLOTS is a power of two");
_Static_assert(RULES_MAX_ROWS < UINT16_MAX, "row index fits a slot");

/* ---- hash index ------------------------------------------------------ */

static uint32_t key_hash(const char *protocol, const char *vendor)
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (; *protocol; protocol++)
		h = (h ^ (uint8_t)*protocol) * 16777619u;
	h = (h ^ 0xFFu) * 16777619u;   /* separator no name contains */
	for (; *vendor; vendor++)
		h = (h ^ (uint8_t)*vendor) * 16777619u;
	return h;
}

/* The slot holding (protocol, vendor), or the empty slot where it goes. */
static size_t slot_of(const struct rules *r, const char *protocol, const char *vendor)
{
	size_t i = key_hash(protocol, vendor) & (HASH_SLOTS - 1);

	while (r->slot[i]) {
		const struct rule *row = &r->rows[r->slot[i] - 1];

		if (strcmp(row->protocol, protocol) == 0 && strcmp(row->vendor_code, vendor) == 0)
			break;
		i = (i + 1) & (HASH_SLOTS - 1);
	}
	return i;
}

static const struct rule *find(const struct rules *r, const char *protocol, const char *vendor)
{
	size_t i = slot_of(r, protocol, vendor);

	return r->slot[i] ? &r->rows[r->slot[i] - 1] : NULL;
}

/* Drop every row from `keep` on (a failed load). */
static void truncate_rows(struct rules *r, size_t keep)
{
	size_t i;

	r->n = keep;
	r->npat = 0;
	memset(r->slot, 0, sizeof(r->slot));
	for (i = 0; i < r->n; i++) {
		r->slot[slot_of(r, r->rows[i].protocol, r->rows[i].vendor_code)] = (uint16_t)(i + 1);
		if (r->rows[i].nbytes)
			r->pat[r->npat++] = (uint16_t)i;
	}
}

/* ---- pattern rows ---------------------------------------------------- */

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex text of whole bytes (at most 16) into out[]; the byte count or -1. */
static int hex_bytes(const char *hex, unsigned char out[16])
{
	size_t n = strlen(hex);

	if (n == 0 || n % 2 || n > VENDOR_MAX_DIGITS)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_nibble(hex[i]), lo = hex_nibble(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static int matches(const struct rule *row, const unsigned char *code, size_t n)
{
	if (n != row->nbytes)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((code[i] & row->mask[i]) != row->value[i])
			return 0;
	return 1;
}

/* Some code matches both patterns (same length, no fixed bit differs). */
static int overlap(const struct rule *a, const struct rule *b)
{
	if (a->nbytes != b->nbytes)
		return 0;
	for (size_t i = 0; i < a->nbytes; i++)
		if ((a->value[i] ^ b->value[i]) & a->mask[i] & b->mask[i])
			return 0;
	return 1;
}

/* The matching pattern with the most fixed bits (ties are refused at load). */
static const struct rule *best_pattern(const struct rules *r, const char *protocol,
				       const unsigned char *code, size_t n)
{
	const struct rule *best = NULL;

	for (size_t i = 0; i < r->npat; i++) {
		const struct rule *row = &r->rows[r->pat[i]];
		if ((!best || row->bits > best->bits) && matches(row, code, n) &&
		    !strcmp(row->protocol, protocol))
			best = row;
	}
	return best;
}

/* ---- public: table --------------------------------------------------- */

struct rules *rules_new(void)
{
	return calloc(1, sizeof(struct rules));
}

void rules_free(struct rules *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r);
}

size_t rules_count(const struct rules *r)
{
	return r ? r->n : 0;
}

int rules_has_protocol(const struct rules *r, const char *protocol)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (!strcmp(r->rows[i].protocol, protocol))
			return 1;
	return 0;
}

const char *rules_table_of(const struct rules *r, const char *protocol, size_t *rows)
{
	const char *file = NULL;

	*rows = 0;
	for (size_t i = 0; r && i < r->n; i++)
		if (!strcmp(r->rows[i].protocol, protocol)) {
			file = file ? file : r->rows[i].file;
			(*rows)++;
		}
	return file;
}

static int upper_hex_copy(const char *in, char *out, size_t cap)
{
	size_t i;

	for (i = 0; in[i]; i++) {
		if (i + 1 >= cap)
			return -1;
		out[i] = (in[i] >= 'a' && in[i] <= 'f') ? (char)(in[i] - 'a' + 'A') : in[i];
	}
	out[i] = '\0';
	return 0;
}

const struct rule *rules_lookup(const struct rules *r, const char *protocol,
				const char *vendor_code)
{
	char code[VENDOR_MAX_DIGITS + 1];
	unsigned char bytes[16];
	const struct rule *row = NULL;
	int n;

	if (!r || !protocol || r->n == 0)
		return NULL;
	/* A code longer than any row, or not hex, can only fall back to "*". */
	if (vendor_code && (n = hex_bytes(vendor_code, bytes)) > 0 &&
	    upper_hex_copy(vendor_code, code, sizeof(code)) == 0) {
		row = find(r, protocol, code);
		if (!row && r->npat)
			row = best_pattern(r, protocol, bytes, (size_t)n);
	}
	return row ? row : find(r, protocol, "*");
}

/* ---- the mapping policy (rules.h) ----------------------------------- */

void rules_map(const struct rules *r, const char *protocol, const char *vendor_code,
	       int answers_request, struct rules_verdict *v)
{
	const struct rule *row = vendor_code ? rules_lookup(r, protocol, vendor_code) : NULL;

	memset(v, 0, sizeof(*v));
	v->rule = row;
	if (!row) {
		/* No row, not even "*": still an error on the wire. */
		v->outcome = RULES_UNMAPPED;
		v->code = "FF";
		v->meaning = "no mapping row for this code";
		return;
	}
	v->meaning = row->meaning;
	if (row->x1367_code[0]) {
		v->outcome = RULES_MAPPED;
		v->code = row->x1367_code;
		return;
	}
	/* "Not an error" describes an answer to a request.  With no request
	 * seen there is nothing it can be the benign answer to: report it, as
	 * "Other Reasons", rather than hide an exception. */
	if (answers_request) {
		v->outcome = RULES_NOT_ERROR;
		return;
	}
	v->outcome = RULES_NOT_ERROR_UNASKED;
	v->code = "FF";
	v->detail = "not an error when it answers a request, but no request was seen";
}

/* ---- reading lines --------------------------------------------------- */

enum line_result { LINE_EOF = 0, LINE_OK = 1, LINE_TOO_LONG = -1, LINE_READ_ERROR = -2 };

/* One line without its "\n" (or "\r\n") into buf[LINE_MAX_BYTES + 1].
 * NUL bytes are kept (len counts them) so the caller can refuse them. */
static enum line_result read_line(FILE *f, char *buf, size_t *len)
{
	size_t n = 0;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (n == LINE_MAX_BYTES)
			return LINE_TOO_LONG;
		buf[n++] = (char)c;
	}
	if (c == EOF && ferror(f))
		return LINE_READ_ERROR;
	if (c == EOF && n == 0)
		return LINE_EOF;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return LINE_OK;
}

/* ---- checking text --------------------------------------------------- */

static int valid_utf8(const char *s)
{
	size_t k;

	while (*s) {
		k = utf8_seq_len((const unsigned char *)s);
		if (k == 0)
			return 0;
		s += k;
	}
	return 1;
}

/* A control character anywhere on the line (tab is a separator). */
static int find_control(const char *line, size_t len, unsigned *bad)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7F) {
			*bad = c;
			return 1;
		}
	}
	return 0;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Cut the comment: '#' at the start or after a blank. */
static void strip_comment(char *line)
{
	char *p;

	for (p = line; *p; p++) {
		if (*p == '#' && (p == line || is_blank(p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

static char *skip_blanks(char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* Next blank-separated token, NUL-terminated in place; NULL if none. */
static char *next_token(char **cursor)
{
	char *start = skip_blanks(*cursor), *end = start;

	if (!*start)
		return NULL;
	while (*end && !is_blank(*end))
		end++;
	if (*end)
		*end++ = '\0';
	*cursor = end;
	return start;
}

static void trim_right(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
}

/* ---- one row --------------------------------------------------------- */

struct row_ctx {
	const char *name;
	int line;
	rules_protocol_known_fn known;
	void *arg;
	char reason[REASON_LEN];
};

static int fail(struct row_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct row_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_protocol(struct row_ctx *c, const char *tok, struct rule *out)
{
	if (strlen(tok) > PROTOCOL_MAX)
		return fail(c, "protocol name too long (%zu bytes, at most %zu)", strlen(tok),
			    PROTOCOL_MAX);
	if (!valid_utf8(tok))
		return fail(c, "protocol name is not valid UTF-8");
	if (c->known && !c->known(tok, c->arg))
		return fail(c, "unknown protocol \"%s\"", tok);
	memcpy(out->protocol, tok, strlen(tok) + 1);
	return 0;
}

/* VALUE/MASK text of a pattern: the hash key and what messages show. */
static void pattern_key(struct rule *out)
{
	static const char hex[] = "0123456789ABCDEF";
	char *p = out->vendor_code;

	for (size_t i = 0; i < out->nbytes; i++, p += 2)
		p[0] = hex[out->value[i] >> 4], p[1] = hex[out->value[i] & 15];
	*p++ = '/';
	for (size_t i = 0; i < out->nbytes; i++, p += 2)
		p[0] = hex[out->mask[i] >> 4], p[1] = hex[out->mask[i] & 15];
	*p = '\0';
}

/* value[]/mask[]/nbytes/bits set: an exact code when every bit is fixed. */
static int finish_pattern(struct row_ctx *c, const char *tok, struct rule *out)
{
	unsigned bits = 0;

	for (size_t i = 0; i < out->nbytes; i++)
		for (unsigned m = out->mask[i]; m; m &= m - 1)
			bits++;
	if (bits == 0)
		return fail(c, "vendor code \"%.40s\" fixes no bit: write * for any code", tok);
	if (bits == 8u * out->nbytes) {   /* 0400/FFFF is the exact row 0400 */
		for (size_t i = 0; i < out->nbytes; i++)
			snprintf(out->vendor_code + 2 * i, 3, "%02X", out->value[i]);
		out->nbytes = 0;
		return 0;
	}
	out->bits = (unsigned short)bits;
	pattern_key(out);
	return 0;
}

/* "04**": each * one nibble of any value. */
static int parse_wildcards(struct row_ctx *c, const char *tok, size_t n, struct rule *out)
{
	for (size_t i = 0; i < n; i++) {
		int v = tok[i] == '*' ? 0 : hex_nibble(tok[i]);
		unsigned char m = tok[i] == '*' ? 0 : 0xF;
		if (v < 0)
			return fail(c, "vendor code \"%.40s\" is not hex digits and * (nor VALUE/MASK)", tok);
		out->value[i / 2] |= (unsigned char)(i % 2 ? v : v << 4);
		out->mask[i / 2] |= (unsigned char)(i % 2 ? m : m << 4);
	}
	out->nbytes = (unsigned char)(n / 2);
	return finish_pattern(c, tok, out);
}

/* "0400/FF00": the code's bits under MASK equal VALUE. */
static int parse_mask(struct row_ctx *c, const char *tok, const char *slash, struct rule *out)
{
	char value[VENDOR_MAX_DIGITS + 1];
	size_t vn = (size_t)(slash - tok), mn = strlen(slash + 1);
	int n;

	if (vn != mn)
		return fail(c, "vendor code \"%.40s\": VALUE and MASK must have as many hex digits", tok);
	memcpy(value, tok, vn);
	value[vn] = '\0';
	n = hex_bytes(value, out->value);
	if (n < 0 || hex_bytes(slash + 1, out->mask) != n)
		return fail(c, "vendor code \"%.40s\": VALUE/MASK must be hex, whole bytes, at most %d digits each",
			    tok, VENDOR_MAX_DIGITS);
	for (int i = 0; i < n; i++)
		if (out->value[i] & ~out->mask[i])
			return fail(c, "vendor code \"%.40s\": VALUE has bits set outside MASK (byte %d: "
				    "%02X/%02X)", tok, i + 1, out->value[i], out->mask[i]);
	out->nbytes = (unsigned char)n;
	return finish_pattern(c, tok, out);
}

static int parse_vendor(struct row_ctx *c, const char *tok, struct rule *out)
{
	size_t i, n = strlen(tok);
	const char *slash = strchr(tok, '/');

	if (strcmp(tok, "*") == 0) {
		memcpy(out->vendor_code, "*", 2);
		return 0;
	}
	if (slash)
		return parse_mask(c, tok, slash, out);
	if (n > VENDOR_MAX_DIGITS)
		return fail(c, "vendor code too long (%zu hex digits, at most %d)", n,
			    VENDOR_MAX_DIGITS);
	if (n % 2)
		return fail(c, "vendor code \"%s\" has an odd number of hex digits (write whole bytes)",
			    tok);
	if (strchr(tok, '*'))
		return parse_wildcards(c, tok, n, out);
	for (i = 0; i < n; i++)
		if (hex_nibble(tok[i]) < 0)
			return fail(c, "vendor code \"%.40s\" is not hex (or \"*\", 04**, 0400/FF00)", tok);
	return upper_hex_copy(tok, out->vendor_code, sizeof(out->vendor_code));
}

/* "00 10 11 ... FF, E0-EF, 1E/2E/3E/4E + more hex digits": from the one
 * table (x1367_code_row). */
static const char *valid_codes(char *buf, size_t cap)
{
	const char *code, *msg, *cls;
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; x1367_code_row(i, &code, &msg, &cls) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? " " : "", code);
	if (n < cap)
		snprintf(buf + n, cap - n, "; extended: 1E/2E/3E/4E followed by hex pairs");
	return buf;
}

static int parse_x1367(struct row_ctx *c, const char *tok, struct rule *out)
{
	if (strcmp(tok, "-") == 0) {
		out->x1367_code[0] = '\0';
		return 0;
	}
	/* Accept lowercase like the vendor column; records carry uppercase. */
	if (upper_hex_copy(tok, out->x1367_code, sizeof(out->x1367_code)) != 0)
		return fail(c, "X.1367 code too long (%zu digits, at most %zu)", strlen(tok),
			    X1367_MAX_DIGITS);
	if (!x1367_code_valid(out->x1367_code)) {
		char valid[160];
		return fail(c, "unknown X.1367 code \"%.40s\" (valid: %s, or - for no record)", tok,
			    valid_codes(valid, sizeof(valid)));
	}
	return 0;
}

static int parse_meaning(struct row_ctx *c, const char *text, struct rule *out)
{
	size_t n = strlen(text);

	if (n == 0)
		return fail(c, "missing vendor meaning (columns: protocol vendor-code x1367-code meaning)");
	if (n > MEANING_MAX)
		return fail(c, "vendor meaning too long (%zu bytes, at most %zu)", n, MEANING_MAX);
	if (strchr(text, '\t'))
		return fail(c, "tab in vendor meaning");
	if (!valid_utf8(text))
		return fail(c, "vendor meaning is not valid UTF-8");
	memcpy(out->meaning, text, n + 1);
	return 0;
}

/* 1: a row in *out; 0: blank or comment; -1: c->reason says why not. */
static int parse_row(struct row_ctx *c, char *line, size_t len, struct rule *out)
{
	char *cursor = line, *proto, *vendor, *code, *meaning;
	unsigned bad;

	if (find_control(line, len, &bad))
		return fail(c, "control character 0x%02X in line", bad);
	strip_comment(line);
	proto = next_token(&cursor);
	if (!proto)
		return 0;
	vendor = next_token(&cursor);
	code = vendor ? next_token(&cursor) : NULL;
	if (!code)
		return fail(c, "missing columns (expected: protocol vendor-code x1367-code meaning)");
	meaning = skip_blanks(cursor);
	trim_right(meaning);
	memset(out, 0, sizeof(*out));
	if (parse_protocol(c, proto, out) || parse_vendor(c, vendor, out) ||
	    parse_x1367(c, code, out) || parse_meaning(c, meaning, out))
		return -1;
	snprintf(out->file, sizeof(out->file), "%s", c->name);
	out->line = c->line;
	return 1;
}

static int grow(struct rules *r)
{
	size_t cap = r->cap ? r->cap * 2 : 64;
	struct rule *rows;

	if (cap > RULES_MAX_ROWS)
		cap = RULES_MAX_ROWS;
	rows = realloc(r->rows, cap * sizeof(*rows));
	if (!rows)
		return -1;
	r->rows = rows;
	r->cap = cap;
	return 0;
}

/* Two patterns as specific as each other sharing a code: neither can win. */
static int ambiguous(const struct rules *r, struct row_ctx *c, const struct rule *row)
{
	for (size_t i = 0; i < r->npat; i++) {
		const struct rule *o = &r->rows[r->pat[i]];
		char code[VENDOR_MAX_DIGITS + 1];

		if (o->bits != row->bits || !overlap(o, row) || strcmp(o->protocol, row->protocol))
			continue;
		for (size_t k = 0; k < row->nbytes; k++)   /* one code both match */
			snprintf(code + 2 * k, 3, "%02X", (row->value[k] | o->value[k]));
		return fail(c, "row %s overlaps %s (%s:%d) with as many fixed bits: both match %s "
			    "and neither is more specific", row->vendor_code, o->vendor_code, o->file,
			    o->line, code);
	}
	return 0;
}

static int add_row(struct rules *r, struct row_ctx *c, const struct rule *row)
{
	size_t s = slot_of(r, row->protocol, row->vendor_code);

	if (r->slot[s]) {
		const struct rule *first = &r->rows[r->slot[s] - 1];

		return fail(c, "duplicate row for %s %s (first at %s:%d)", row->protocol,
			    row->vendor_code, first->file, first->line);
	}
	if (row->nbytes && ambiguous(r, c, row))
		return -1;
	if (r->n >= RULES_MAX_ROWS)
		return fail(c, "too many rows (at most %d in all tables)", RULES_MAX_ROWS);
	if (r->n == r->cap && grow(r) != 0)
		return fail(c, "out of memory");
	r->rows[r->n] = *row;
	r->slot[s] = (uint16_t)(r->n + 1);
	if (row->nbytes)
		r->pat[r->npat++] = (uint16_t)r->n;
	r->n++;
	return 0;
}

/* ---- public: loading ------------------------------------------------- */

/* Long paths are cut to fit: the start of a message is the useful part. */
static void set_err(char err[RULES_ERR_LEN], const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_err(char err[RULES_ERR_LEN], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, RULES_ERR_LEN, fmt, ap);
	va_end(ap);
}

static int line_error(struct row_ctx *c, enum line_result res)
{
	if (res == LINE_TOO_LONG)
		return fail(c, "line too long (more than %d bytes)", LINE_MAX_BYTES);
	return fail(c, "read error: %s", strerror(errno));
}

static void skip_bom(char *line, size_t *len)
{
	if (*len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
		memmove(line, line + 3, *len - 2);
		*len -= 3;
	}
}

static int load_lines(struct rules *r, FILE *f, struct row_ctx *c)
{
	char line[LINE_MAX_BYTES + 1];
	struct rule row;
	enum line_result res;
	size_t len;
	int rc;

	for (c->line = 1;; c->line++) {
		errno = 0;
		res = read_line(f, line, &len);
		if (res == LINE_EOF)
			return 0;
		if (res != LINE_OK)
			return line_error(c, res);
		if (c->line == 1)
			skip_bom(line, &len);
		rc = parse_row(c, line, len, &row);
		if (rc < 0 || (rc == 1 && add_row(r, c, &row) != 0))
			return -1;
	}
}

/* Rows [first, r->n) were read from one table.  A table whose every row
 * names one protocol no loaded dissector has is a plugin's table, the
 * plugin absent or disabled: it is skipped, and said so.  Otherwise every
 * row's protocol must be known. 0 ok, 1 skipped, -1 error (err set). */
static int check_protocols(struct rules *r, size_t first, const char *name,
			   rules_protocol_known_fn known, void *arg, char err[RULES_ERR_LEN])
{
	int one_protocol = 1;

	if (!known || first == r->n)
		return 0;
	for (size_t i = first + 1; i < r->n && one_protocol; i++)
		one_protocol = !strcmp(r->rows[i].protocol, r->rows[first].protocol);
	if (one_protocol && !known(r->rows[first].protocol, arg)) {
		size_t n = r->n - first;
		char msg[RULES_ERR_LEN];
		set_err(msg, "%s: no dissector \"%s\" is loaded: its %zu rows are not used", name,
			r->rows[first].protocol, n);
		r->skipped_rows += n;
		truncate_rows(r, first);
		if (r->warn)
			r->warn(msg, r->warn_arg);
		return 1;
	}
	for (size_t i = first; i < r->n; i++)
		if (!known(r->rows[i].protocol, arg)) {
			set_err(err, "%s:%d: unknown protocol \"%s\"", name, r->rows[i].line,
				r->rows[i].protocol);
			return -1;
		}
	return 0;
}

int rules_load_stream(struct rules *r, FILE *f, const char *name, rules_protocol_known_fn known,
		      void *arg, char err[RULES_ERR_LEN])
{
	/* Protocols are checked once the whole table is read (check_protocols). */
	struct row_ctx c = { .name = name, .known = NULL, .arg = arg };
	size_t keep = r->n;

	if (load_lines(r, f, &c) != 0) {
		set_err(err, "%s:%d: %s", name, c.line, c.reason);
		truncate_rows(r, keep);
		return -1;
	}
	if (check_protocols(r, keep, name, known, arg, err) < 0) {
		truncate_rows(r, keep);
		return -1;
	}
	return 0;
}

void rules_set_warn(struct rules *r, rules_warn_fn fn, void *arg)
{
	r->warn = fn;
	r->warn_arg = arg;
}

size_t rules_skipped_rows(const struct rules *r)
{
	return r->skipped_rows;
}

/* Whoever can write a table can silence any error by mapping it to "-":
 * tables are trusted as plugins are (plugin_trusted), and never followed
 * through a symbolic link.  The checks are on the very file opened. */
static FILE *open_table(const char *path, char err[RULES_ERR_LEN])
{
	char ferr[FILEIO_ERR_LEN > PLUGIN_ERR_LEN ? FILEIO_ERR_LEN : PLUGIN_ERR_LEN];
	struct stat st;
	/* a FIFO named *.map would block: refused as not a regular file */
	int fd = fileio_open_regular_flags(path, O_NOFOLLOW, ferr);
	FILE *f;

	if (fd >= 0 && fstat(fd, &st)) {
		snprintf(ferr, sizeof(ferr), "%.400s: %s", path, strerror(errno));
		close(fd);
		fd = -1;
	} else if (fd >= 0 && !plugin_trusted(&st, "file", path, ferr)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		set_err(err, "%s", ferr);
		return NULL;
	}
	if (!(f = fdopen(fd, "r"))) {
		set_err(err, "%s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

int rules_load_file(struct rules *r, const char *path, rules_protocol_known_fn known,
		    void *arg, char err[RULES_ERR_LEN])
{
	FILE *f = open_table(path, err);
	int rc;

	if (!f)
		return -1;
	rc = rules_load_stream(r, f, path, known, arg, err);
	fclose(f);
	return rc;
}

static int is_map_name(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	/* Dot files are editor leftovers (".#modbus.map"), never tables. */
	return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".map") == 0;
}

/* strcmp, not strcoll: the same order whatever the locale. */
static int name_order(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int load_entries(struct rules *r, const char *dir, struct dirent **ents, int n,
			rules_protocol_known_fn known, void *arg, char err[RULES_ERR_LEN])
{
	char path[4096];
	int i;

	for (i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name) >= (int)sizeof(path)) {
			set_err(err, "%s/%s: path too long", dir, ents[i]->d_name);
			return -1;
		}
		if (rules_load_file(r, path, known, arg, err) != 0)
			return -1;
	}
	return 0;
}

int rules_load_dir(struct rules *r, const char *dir, rules_protocol_known_fn known,
		   void *arg, char err[RULES_ERR_LEN])
{
	struct dirent **ents = NULL;
	char terr[PLUGIN_ERR_LEN];
	struct stat st;
	size_t keep = r->n;
	int n, i, rc;

	if (stat(dir, &st)) {
		set_err(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		set_err(err, "%s: not a directory", dir);
		return -1;
	}
	if (!plugin_trusted(&st, "directory", dir, terr)) {
		set_err(err, "%s", terr);
		return -1;
	}
	n = scandir(dir, &ents, is_map_name, name_order);
	if (n < 0) {
		set_err(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (n == 0) {
		set_err(err, "%s: no rules files (*.map) in this directory", dir);
		rc = -1;
	} else {
		rc = load_entries(r, dir, ents, n, known, arg, err);
	}
	for (i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	if (rc != 0)
		truncate_rows(r, keep);
	return rc;
}

/* ---- rows that can never match -------------------------------------- */

struct cover {
	const struct rule *row;      /* the pattern asked about */
	struct rule *cand;           /* more specific rows that share a code */
	size_t n;
	unsigned long steps;         /* bounded: past it, say nothing */
};

#define COVER_MAX_STEPS 100000ul

/* 1 when cand fixes only bits fixed in (v, m), to the same values. */
static int contains(const struct rule *cand, const unsigned char *v, const unsigned char *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((cand->mask[i] & ~m[i]) || ((v[i] ^ cand->value[i]) & cand->mask[i]))
			return 0;
	return 1;
}

static int shares(const struct rule *cand, const unsigned char *v, const unsigned char *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((v[i] ^ cand->value[i]) & cand->mask[i] & m[i])
			return 0;
	return 1;
}

/* Every code of (v, m) has a row among the candidates: split on a bit the
 * first sharing candidate fixes until each part lies in one row or none. */
static int covered(struct cover *cv, unsigned char *v, unsigned char *m)
{
	size_t n = cv->row->nbytes;
	const struct rule *split = NULL;

	if (++cv->steps > COVER_MAX_STEPS)
		return 0;
	for (size_t k = 0; k < cv->n; k++) {
		if (contains(&cv->cand[k], v, m, n))
			return 1;
		if (!split && shares(&cv->cand[k], v, m, n))
			split = &cv->cand[k];
	}
	if (!split)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char free_bits = (unsigned char)(split->mask[i] & ~m[i]);
		if (free_bits) {
			unsigned char bit = (unsigned char)(free_bits & -free_bits);
			unsigned char v0[16], m1[16];
			memcpy(v0, v, n);
			memcpy(m1, m, n);
			m1[i] |= bit;
			v0[i] &= (unsigned char)~bit;
			if (!covered(cv, v0, m1))
				return 0;
			v0[i] |= bit;
			return covered(cv, v0, m1);
		}
	}
	return 0;   /* not reached: a sharing candidate not containing fixes a free bit */
}

/* The rows more specific than `row` that share a code with it; exact rows
 * as patterns fixing every bit. */
static size_t candidates(const struct rules *r, const struct rule *row, struct rule *out)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		const struct rule *o = &r->rows[i];
		struct rule x = *o;

		if (o == row || strcmp(o->protocol, row->protocol) || !strcmp(o->vendor_code, "*"))
			continue;
		if (!o->nbytes) {
			if (hex_bytes(o->vendor_code, x.value) != row->nbytes)
				continue;
			memset(x.mask, 0xFF, sizeof(x.mask));
			x.nbytes = row->nbytes;
			x.bits = (unsigned short)(8 * row->nbytes);
		}
		if (x.bits > row->bits && overlap(&x, row))
			out[n++] = x;
	}
	return n;
}

size_t rules_report_shadowed(const struct rules *r, rules_warn_fn fn, void *arg)
{
	size_t found = 0;
	struct rule *cand;

	if (!r || !r->npat || !(cand = malloc(r->n * sizeof(*cand))))
		return 0;
	for (size_t i = 0; i < r->npat; i++) {
		const struct rule *row = &r->rows[r->pat[i]];
		struct cover cv = { .row = row, .cand = cand };
		unsigned char v[16], m[16];
		char msg[RULES_ERR_LEN];

		cv.n = candidates(r, row, cand);
		memcpy(v, row->value, sizeof(v));
		memcpy(m, row->mask, sizeof(m));
		if (!cv.n || !covered(&cv, v, m))
			continue;
		found++;
		set_err(msg, "%s:%d: row %s %s can never match: every code it covers has a more "
			"specific row", row->file, row->line, row->protocol, row->vendor_code);
		if (fn)
			fn(msg, arg);
	}
	free(cand);
	return found;
}
