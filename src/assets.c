/*
 * The operator's asset table.  See assets.h; the file format is in
 * docs/x1367ids.8 ("ASSET TABLE").
 *
 * The file is CSV (RFC 4180) with two restrictions that keep every error
 * at one line number: a record is one line (no line break inside quotes),
 * and the file is UTF-8 without byte order mark.  Bad input is refused,
 * never guessed: a duplicate key (after normalising it to the form the
 * sensor writes), a key that is no address, a row with more or fewer
 * fields than the header, a stray or missing quote, a NUL byte, a control
 * character, invalid UTF-8, or a file past the bounds of assets.h.
 *
 * Keys are normalised to the text the sensor itself writes (addr.h:
 * IPv6 uncompressed and uppercase; an ID made of hex digits uppercase, as
 * the ECHONET Lite EOJ), so that a lookup is a hash probe of the Unique ID
 * string a record carries.
 */
#include "assets.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "fileio.h"
#include "utf8.h"

enum key_kind { KEY_ID = 'U', KEY_MAC = 'M', KEY_CIDR = 'C' };

#define KEY_MAX 128   /* normalised key bytes */

struct entry {
	struct entry *next;        /* hash chain */
	uint32_t hash;
	unsigned line;             /* where it was defined */
	uint8_t kind;
	uint8_t klen;
	uint8_t key[KEY_MAX];
	struct asset a;
	char text[];               /* the four strings */
};

struct assets {
	struct entry **buckets;
	size_t nbuckets;           /* a power of two */
	size_t n;
	/* Prefix lengths used by CIDR keys, per family: the lookup tries
	 * only these, longest first. */
	uint8_t v4_len[33], v6_len[129];
};

/* Columns the header may name (any order; key and unique_id required). */
enum col { COL_KEY, COL_UID, COL_NAME, COL_LOCATION, COL_ECOSYSTEM, COL_COUNT };
static const char *const col_names[COL_COUNT] = {
	"key", "unique_id", "name", "location", "ecosystem",
};

#define MAX_FIELDS COL_COUNT

/* ---- errors --------------------------------------------------------------- */

struct parser {
	const char *name;          /* file name for messages */
	unsigned line;
	char *err;
};

static void fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct parser *p, const char *fmt, ...)
{
	char why[ASSETS_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->line)
		snprintf(p->err, ASSETS_ERR_LEN, "%.200s:%u: %.290s", p->name, p->line, why);
	else
		snprintf(p->err, ASSETS_ERR_LEN, "%.200s: %.300s", p->name, why);
}

/* ---- the hash table ------------------------------------------------------- */

/* FNV-1a over kind and key bytes. */
static uint32_t hash_key(uint8_t kind, const uint8_t *k, size_t n)
{
	uint32_t h = 2166136261u;

	h = (h ^ kind) * 16777619u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

static const struct entry *table_get(const struct assets *t, uint8_t kind, const uint8_t *k, size_t n)
{
	uint32_t h = hash_key(kind, k, n);

	if (!t->nbuckets || n > KEY_MAX)
		return NULL;
	for (const struct entry *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->next)
		if (e->hash == h && e->kind == kind && e->klen == n && !memcmp(e->key, k, n))
			return e;
	return NULL;
}

static int table_grow(struct assets *t)
{
	size_t nb = t->nbuckets ? t->nbuckets * 2 : 256;
	struct entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return -1;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	return 0;
}

static int table_put(struct assets *t, struct entry *e)
{
	if (t->n >= t->nbuckets && table_grow(t))
		return -1;
	e->hash = hash_key(e->kind, e->key, e->klen);
	e->next = t->buckets[e->hash & (t->nbuckets - 1)];
	t->buckets[e->hash & (t->nbuckets - 1)] = e;
	t->n++;
	return 0;
}

void assets_free(struct assets *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	free(t);
}

size_t assets_count(const struct assets *t)
{
	return t ? t->n : 0;
}

/* ---- keys ----------------------------------------------------------------- */

struct key {
	uint8_t kind;
	uint8_t len;
	uint8_t bytes[KEY_MAX];
	int family, prefix;        /* CIDR only */
};

static int all_digits(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* "0".."max" in decimal, at most 5 digits; -1 if not. */
static long small_number(const char *s, size_t n, long max)
{
	long v = 0;

	if (n > 5 || !all_digits(s, n))
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v <= max ? v : -1;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = toupper(c);
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* aa:bb:cc:dd:ee:ff or aa-bb-cc-dd-ee-ff (one separator throughout). */
static int parse_mac(const char *s, uint8_t mac[6])
{
	if (strlen(s) != 17)
		return -1;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != s[2]))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return s[2] == ':' || s[2] == '-' ? 0 : -1;
}

static int parse_cidr(struct parser *p, const char *s, struct key *k)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	struct x1367_addr a;
	size_t alen = (size_t)(slash - s), bits;
	long len;

	if (alen >= sizeof(addr))
		return fail(p, "\"%.80s\" is not a CIDR block (ADDRESS/LENGTH)", s), -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (addr_parse(addr, &a))
		return fail(p, "\"%.80s\": \"%.64s\" is not an IPv4 or IPv6 address", s, addr), -1;
	bits = a.family == X1367_IPV4 ? 32 : 128;
	len = small_number(slash + 1, strlen(slash + 1), (long)bits);
	if (len < 0)
		return fail(p, "\"%.80s\": prefix length must be 0 to %zu", s, bits), -1;
	for (size_t i = (size_t)len; i < bits; i++)
		if (a.bytes[i / 8] & (0x80u >> (i % 8))) {
			/* 192.0.2.1/24 is a typo more often than a wish. */
			return fail(p, "\"%.80s\": host bits set (the block starts lower)", s), -1;
		}
	k->kind = KEY_CIDR;
	k->family = a.family;
	k->prefix = (int)len;
	k->bytes[0] = a.family;
	k->bytes[1] = (uint8_t)len;
	memcpy(k->bytes + 2, a.bytes, bits / 8);
	k->len = (uint8_t)(2 + bits / 8);
	return 0;
}

/* An ID after '#': the sensor's unit, EOJ, device instance, rack/slot.
 * Hex-only IDs are uppercased (the EOJ form the sensor writes). */
static int normalise_id(struct parser *p, const char *whole, const char *id, char *out, size_t cap)
{
	size_t n = strlen(id);
	int hex = 1;

	if (!n || n >= cap)
		return fail(p, "\"%.80s\": empty or overlong ID after '#'", whole), -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!isalnum(c) && c != '/' && c != '.' && c != '-' && c != '_')
			return fail(p, "\"%.80s\": character '%c' in the ID after '#'", whole, c), -1;
		if (hexval(c) < 0)
			hex = 0;
	}
	for (size_t i = 0; i <= n; i++)
		out[i] = hex ? (char)toupper((unsigned char)id[i]) : id[i];
	return 0;
}

/* ADDRESS, ADDRESS:PORT (IPv4), [ADDRESS]:PORT (IPv6), each with an
 * optional #ID: normalised to the sensor's own text. */
static int parse_uid(struct parser *p, const char *s, struct key *k)
{
	char work[KEY_MAX], id[KEY_MAX] = "", addr[ADDR_STR_MAX], *hash, *host = work, *port = NULL;
	struct x1367_addr a;
	long pn = -1;
	int n;

	if (strlen(s) >= sizeof(work))
		return fail(p, "key \"%.80s...\" is too long", s), -1;
	strcpy(work, s);
	if ((hash = strchr(work, '#')) != NULL) {
		*hash = '\0';
		if (normalise_id(p, s, hash + 1, id, sizeof(id)))
			return -1;
	}
	if (work[0] == '[') {
		char *close = strchr(work, ']');
		if (!close || close[1] != ':')
			return fail(p, "\"%.80s\": an IPv6 address with a port is [ADDRESS]:PORT", s), -1;
		*close = '\0';
		host = work + 1;
		port = close + 2;
	} else if (addr_parse(work, &a) != 0 && strchr(work, ':') && strchr(work, ':') == strrchr(work, ':')) {
		port = strchr(work, ':');
		*port++ = '\0';
	}
	if (addr_parse(host, &a))
		return fail(p, "key \"%.80s\" is not an address, ADDRESS[:PORT][#ID], a MAC or a CIDR block", s), -1;
	if (port && ((pn = small_number(port, strlen(port), 65535)) <= 0))
		return fail(p, "\"%.80s\": port must be 1 to 65535", s), -1;
	if (port && work[0] != '[' && a.family == X1367_IPV6)
		return fail(p, "\"%.80s\": an IPv6 address with a port is [ADDRESS]:PORT", s), -1;
	if (port && work[0] == '[' && a.family != X1367_IPV6)
		return fail(p, "\"%.80s\": brackets are for IPv6 addresses", s), -1;
	addr_format(&a, addr, sizeof(addr));
	if (pn < 0)
		n = snprintf((char *)k->bytes, KEY_MAX, "%s%s%s", addr, id[0] ? "#" : "", id);
	else
		n = snprintf((char *)k->bytes, KEY_MAX, a.family == X1367_IPV6 ? "[%s]:%ld%s%s" : "%s:%ld%s%s",
			     addr, pn, id[0] ? "#" : "", id);
	if (n < 0 || n >= KEY_MAX)
		return fail(p, "key \"%.80s\" is too long", s), -1;
	k->kind = KEY_ID;
	k->len = (uint8_t)n;
	return 0;
}

static int parse_key(struct parser *p, const char *s, struct key *k)
{
	memset(k, 0, sizeof(*k));
	if (strchr(s, '/') && !strchr(s, '#'))
		return parse_cidr(p, s, k);
	if (parse_mac(s, k->bytes) == 0) {
		k->kind = KEY_MAC;
		k->len = 6;
		return 0;
	}
	return parse_uid(p, s, k);
}

/* ---- CSV ------------------------------------------------------------------ */

struct row {
	char *f[MAX_FIELDS];
	size_t n;
};

/* A field's bytes: valid UTF-8, no control character, bounded. */
static int check_text(struct parser *p, const char *s, size_t n)
{
	size_t k;

	if (n > ASSETS_MAX_FIELD)
		return fail(p, "field longer than %u bytes", ASSETS_MAX_FIELD), -1;
	for (size_t i = 0; i < n; i += k) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F)
			return fail(p, "control character 0x%02X in a field", c), -1;
		k = utf8_seq_len((const unsigned char *)s + i);
		if (!k || i + k > n)
			return fail(p, "invalid UTF-8 in a field"), -1;
	}
	return 0;
}

/* Split one line (NUL-terminated, no line end) into fields, in place.
 * RFC 4180 quoting: "a ""quoted"" value, with commas". */
static int split_line(struct parser *p, char *s, struct row *r)
{
	r->n = 0;
	for (;;) {
		char *start, *out;
		if (r->n == MAX_FIELDS)
			return fail(p, "more than %d fields", MAX_FIELDS), -1;
		while (*s == ' ' || *s == '\t')
			s++;
		start = out = s;   /* the field is rewritten in place, never longer */
		if (*s == '"') {
			for (s++;; s++) {
				if (!*s)
					return fail(p, "quote not closed (a record is one line)"), -1;
				if (*s == '"' && s[1] == '"')
					s++;
				else if (*s == '"')
					break;
				*out++ = *s;
			}
			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			if (*s && *s != ',')
				return fail(p, "text after a closing quote"), -1;
		} else {
			while (*s && *s != ',') {
				if (*s == '"')
					return fail(p, "quote inside an unquoted field (quote the whole field)"), -1;
				*out++ = *s++;
			}
			while (out > start && (out[-1] == ' ' || out[-1] == '\t'))
				out--;
		}
		char sep = *s;
		*out = '\0';
		if (check_text(p, start, (size_t)(out - start)))
			return -1;
		r->f[r->n++] = start;
		if (!sep)
			return 0;
		s++;
	}
}

/* ---- the file ------------------------------------------------------------- */

struct loader {
	struct parser p;
	struct assets *t;
	int col_of[COL_COUNT];     /* field index of each column, -1 absent */
	size_t ncols;              /* fields in the header */
	size_t rows;
};

static int header(struct loader *l, struct row *r)
{
	for (int c = 0; c < COL_COUNT; c++)
		l->col_of[c] = -1;
	for (size_t i = 0; i < r->n; i++) {
		int c;
		for (c = 0; c < COL_COUNT && strcasecmp(r->f[i], col_names[c]); c++)
			;
		if (c == COL_COUNT)
			return fail(&l->p, "header: unknown column \"%.64s\" (key, unique_id, name, location, "
				    "ecosystem)", r->f[i]), -1;
		if (l->col_of[c] >= 0)
			return fail(&l->p, "header: column \"%s\" twice", col_names[c]), -1;
		l->col_of[c] = (int)i;
	}
	if (l->col_of[COL_KEY] < 0 || l->col_of[COL_UID] < 0)
		return fail(&l->p, "header: the columns key and unique_id are required "
			    "(key,unique_id,name,location,ecosystem)"), -1;
	l->ncols = r->n;
	return 0;
}

static const char *column(const struct loader *l, const struct row *r, enum col c)
{
	return l->col_of[c] >= 0 ? r->f[l->col_of[c]] : "";
}

static struct entry *new_entry(const struct loader *l, const struct row *r, const struct key *k)
{
	const char *v[4] = { column(l, r, COL_UID), column(l, r, COL_NAME), column(l, r, COL_LOCATION),
			     column(l, r, COL_ECOSYSTEM) };
	const char *dst[4];
	size_t len[4], total = 0;
	struct entry *e;
	char *s;

	for (int i = 0; i < 4; i++)
		total += (len[i] = strlen(v[i])) + 1;
	if (!(e = calloc(1, sizeof(*e) + total)))
		return NULL;
	e->line = l->p.line;
	e->kind = k->kind;
	e->klen = k->len;
	memcpy(e->key, k->bytes, k->len);
	s = e->text;
	for (int i = 0; i < 4; i++) {
		memcpy(s, v[i], len[i] + 1);
		dst[i] = s;
		s += len[i] + 1;
	}
	e->a = (struct asset){ dst[0], dst[1], dst[2], dst[3] };
	return e;
}

static void key_text(const struct key *k, const char *given, char *out, size_t cap)
{
	if (k->kind == KEY_ID)
		snprintf(out, cap, "%.*s", (int)k->len, (const char *)k->bytes);
	else
		snprintf(out, cap, "%s", given);
}

static int data_row(struct loader *l, struct row *r)
{
	struct key k;
	const struct entry *dup;
	struct entry *e;
	char shown[KEY_MAX];

	if (r->n != l->ncols)
		return fail(&l->p, "%zu field%s, the header has %zu", r->n, r->n == 1 ? "" : "s", l->ncols), -1;
	if (++l->rows > ASSETS_MAX_ROWS)
		return fail(&l->p, "more than %u rows", ASSETS_MAX_ROWS), -1;
	if (!*column(l, r, COL_KEY))
		return fail(&l->p, "empty key"), -1;
	if (!*column(l, r, COL_UID))
		return fail(&l->p, "empty unique_id"), -1;
	if (parse_key(&l->p, column(l, r, COL_KEY), &k))
		return -1;
	if ((dup = table_get(l->t, k.kind, k.bytes, k.len)) != NULL) {
		key_text(&k, column(l, r, COL_KEY), shown, sizeof(shown));
		return fail(&l->p, "duplicate key \"%.80s\" (first at line %u)", shown, dup->line), -1;
	}
	if (!(e = new_entry(l, r, &k)))
		return fail(&l->p, "out of memory"), -1;
	if (table_put(l->t, e)) {
		free(e);
		return fail(&l->p, "out of memory"), -1;
	}
	if (k.kind == KEY_CIDR)
		(k.family == X1367_IPV4 ? l->t->v4_len : l->t->v6_len)[k.prefix] = 1;
	return 0;
}

/* One line without its line end; blank lines and "#" comments skipped. */
static int one_line(struct loader *l, char *s, int *seen_header)
{
	struct row r;
	const char *t = s;

	while (*t == ' ' || *t == '\t')
		t++;
	if (!*t || *t == '#')
		return 0;
	if (split_line(&l->p, s, &r))
		return -1;
	if (!*seen_header) {
		*seen_header = 1;
		return header(l, &r);
	}
	return data_row(l, &r);
}

static int parse_all(struct loader *l, const char *text, size_t len)
{
	char line[ASSETS_MAX_LINE + 1];
	size_t pos = 0;
	int seen_header = 0;

	if (len > ASSETS_MAX_BYTES)
		return fail(&l->p, "larger than %u bytes", ASSETS_MAX_BYTES), -1;
	if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) {
		l->p.line = 1;
		return fail(&l->p, "starts with a byte order mark: save it as UTF-8 without BOM"), -1;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		size_t next = pos + n + (nl ? 1 : 0);
		l->p.line++;
		if (memchr(text + pos, '\0', n))
			return fail(&l->p, "NUL byte"), -1;
		if (n && text[pos + n - 1] == '\r')
			n--;   /* CRLF, as RFC 4180 writes it */
		if (n > ASSETS_MAX_LINE)
			return fail(&l->p, "line longer than %u bytes", ASSETS_MAX_LINE), -1;
		if (memchr(text + pos, '\r', n))
			return fail(&l->p, "carriage return inside a line"), -1;
		memcpy(line, text + pos, n);
		line[n] = '\0';
		if (one_line(l, line, &seen_header))
			return -1;
		pos = next;
	}
	if (!seen_header) {
		l->p.line = 0;
		return fail(&l->p, "no header row (key,unique_id,name,location,ecosystem)"), -1;
	}
	return 0;
}

struct assets *assets_parse(const char *name, const char *text, size_t len, char err[ASSETS_ERR_LEN])
{
	struct loader l;

	memset(&l, 0, sizeof(l));
	l.p.name = name;
	l.p.err = err;
	err[0] = '\0';
	if (!(l.t = calloc(1, sizeof(*l.t)))) {
		fail(&l.p, "out of memory");
		return NULL;
	}
	if (parse_all(&l, text, len)) {
		assets_free(l.t);
		return NULL;
	}
	return l.t;
}

struct assets *assets_load(const char *path, char err[ASSETS_ERR_LEN])
{
	char ferr[FILEIO_ERR_LEN];
	struct parser p = { path, 0, err };
	FILE *fp = fileio_fopen_regular(path, ferr);
	struct assets *t = NULL;
	char *buf;
	size_t n;

	if (!fp) {
		snprintf(err, ASSETS_ERR_LEN, "%s", ferr);
		return NULL;
	}
	/* One byte more than allowed: a larger file is told, not cut. */
	if (!(buf = malloc(ASSETS_MAX_BYTES + 1))) {
		fclose(fp);
		fail(&p, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, ASSETS_MAX_BYTES + 1, fp);
	if (ferror(fp))
		fail(&p, "%s", strerror(errno));
	else if (n > ASSETS_MAX_BYTES)
		fail(&p, "larger than %u bytes", ASSETS_MAX_BYTES);
	else
		t = assets_parse(path, buf, n, err);
	fclose(fp);
	free(buf);
	return t;
}

/* ---- lookup --------------------------------------------------------------- */

static const struct entry *find_cidr(const struct assets *t, const struct x1367_addr *a)
{
	int v4 = a->family == X1367_IPV4, bits = v4 ? 32 : 128;
	const uint8_t *used = v4 ? t->v4_len : t->v6_len;
	uint8_t k[2 + 16];

	for (int len = bits; len >= 0; len--) {
		const struct entry *e;
		if (!used[len])
			continue;
		k[0] = a->family;
		k[1] = (uint8_t)len;
		/* the address cut to `len` bits: whole bytes, then the partial one */
		memset(k + 2, 0, (size_t)bits / 8);
		memcpy(k + 2, a->bytes, (size_t)len / 8);
		if (len % 8)
			k[2 + len / 8] = (uint8_t)(a->bytes[len / 8] & (0xFF00u >> (len % 8)));
		if ((e = table_get(t, KEY_CIDR, k, 2 + (size_t)bits / 8)) != NULL)
			return e;
	}
	return NULL;
}

const struct asset *assets_find(const struct assets *t, const char *uid,
				const struct x1367_addr *addr, const uint8_t *mac)
{
	const struct entry *e = NULL;
	char text[ADDR_STR_MAX];
	int ip = addr && (addr->family == X1367_IPV4 || addr->family == X1367_IPV6);

	if (!t || !t->n)
		return NULL;
	if (uid && *uid)
		e = table_get(t, KEY_ID, (const uint8_t *)uid, strlen(uid));
	if (!e && ip) {
		addr_format(addr, text, sizeof(text));
		if (!uid || strcmp(uid, text))
			e = table_get(t, KEY_ID, (const uint8_t *)text, strlen(text));
	}
	if (!e && mac)
		e = table_get(t, KEY_MAC, mac, 6);
	if (!e && ip)
		e = find_cidr(t, addr);
	return e ? &e->a : NULL;
}
