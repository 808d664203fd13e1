/*
 * The X.1367 record as one JSON line (json-c).
 *
 * json-c keeps an object's keys in insertion order, so adding them in the
 * Recommendation's order is enough.  It escapes '"', '\\' and every control
 * character, so no byte can end the line or the string early.  It does NOT
 * check UTF-8: bytes >= 0x80 go out as they came.  Strings here come from
 * the wire (Unique IDs, dissector descriptions) and from operator files,
 * and one stray byte such as 0xFF would make the whole line invalid JSON
 * (RFC 8259 requires UTF-8) that a SIEM then drops or mangles.  So every
 * string is checked first and each invalid UTF-8 sequence is replaced by
 * U+FFFD, the usual "replacement character".
 */
#include "record.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "utf8.h"
#include "x1367_codes.h"

#define STR_REPLACEMENT "\xEF\xBF\xBD"   /* U+FFFD in UTF-8 */

/* ---- UTF-8 ----------------------------------------------------------- */

/* A copy of `s` with each invalid byte replaced by U+FFFD (3 bytes), so
 * the copy is at most 3x as long.  NULL reads as "". */
static char *utf8_sanitize(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p), o = 0, k;
	char *out = malloc(3 * n + 1);

	if (!out)
		return NULL;
	while (*p) {
		k = utf8_seq_len(p);
		if (k == 0) {
			memcpy(out + o, STR_REPLACEMENT, 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(out + o, p, k);
		o += k;
		p += k;
	}
	out[o] = '\0';
	return out;
}

/* ---- json helpers ---------------------------------------------------- */

static json_object *new_clean_string(const char *s)
{
	char *clean = utf8_sanitize(s);
	json_object *o;

	if (!clean)
		return NULL;
	o = json_object_new_string(clean);
	free(clean);
	return o;
}

/* Takes ownership of `val` (freed on failure). */
static int add(json_object *obj, const char *key, json_object *val)
{
	if (!val)
		return -1;
	if (json_object_object_add(obj, key, val) != 0) {
		json_object_put(val);
		return -1;
	}
	return 0;
}

static int add_str(json_object *obj, const char *key, const char *val)
{
	return add(obj, key, new_clean_string(val));
}

/* ---- Transmitted Code ------------------------------------------------- */

static size_t code_shown(const struct record_party *p, size_t cap)
{
	size_t n = p->code ? p->code_len : 0;

	return (cap && n > cap) ? cap : n;
}

/* Length on the wire; a caller that left wire_len unset had it all. */
static size_t code_wire(const struct record_party *p)
{
	size_t have = p->code ? p->code_len : 0;

	return p->wire_len > have ? p->wire_len : have;
}

static json_object *hex_string(const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";
	char *hex;
	json_object *o;
	size_t i;

	if (n > (INT_MAX - 1) / 2)   /* json-c lengths are int */
		return NULL;
	hex = malloc(2 * n + 1);
	if (!hex)
		return NULL;
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 0x0F];
	}
	hex[2 * n] = '\0';
	o = json_object_new_string_len(hex, (int)(2 * n));
	free(hex);
	return o;
}

static json_object *party(const struct record_party *p, size_t cap)
{
	json_object *o = json_object_new_object();

	if (!o || !p->present)
		return o;
	if (add_str(o, "Unique ID", p->unique_id) != 0 ||
	    add(o, "Transmitted Code", hex_string(p->code, code_shown(p, cap))) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* ---- Description ------------------------------------------------------ */

/* A later pair never replaces an earlier one: "Status" must stay the IDS
 * marker whatever a dissector passes. */
static int add_desc_kv(json_object *d, const struct x1367_kv *kv)
{
	char *key;
	int rc = 0;

	if (!kv->key || !kv->value)
		return 0;
	key = utf8_sanitize(kv->key);
	if (!key)
		return -1;
	if (!json_object_object_get_ex(d, key, NULL))
		rc = add_str(d, key, kv->value);
	free(key);
	return rc;
}

static int add_truncation(json_object *d, const char *key, const struct record_party *p,
			  size_t cap)
{
	char note[64];
	size_t shown, wire;

	if (!p->present)
		return 0;
	shown = code_shown(p, cap);
	wire = code_wire(p);
	if (shown >= wire)
		return 0;
	snprintf(note, sizeof(note), "%zu of %zu bytes", shown, wire);
	return add_str(d, key, note);
}

static json_object *description(const struct record_input *in)
{
	json_object *d = json_object_new_object();
	size_t i;

	if (!d || add_str(d, "Status", RECORD_STATUS_IDS) != 0)
		goto fail;
	for (i = 0; in->desc && i < in->n_desc; i++)
		if (add_desc_kv(d, &in->desc[i]) != 0)
			goto fail;
	if (add_truncation(d, "Requester Code Truncated", &in->requester, in->max_code_bytes) ||
	    add_truncation(d, "Responder Code Truncated", &in->responder, in->max_code_bytes))
		goto fail;
	return d;
fail:
	json_object_put(d);
	return NULL;
}

/* ---- the record -------------------------------------------------------- */

void record_format_time(uint64_t ts_usec, char buf[32])
{
	time_t secs = (time_t)(ts_usec / 1000000u);
	unsigned usec = (unsigned)(ts_usec % 1000000u);
	struct tm tm;

	if (!gmtime_r(&secs, &tm) || tm.tm_year + 1900 > 9999) {
		/* Past year 9999 the Recommendation's pattern has no form. */
		secs = 0;
		usec = 0;
		gmtime_r(&secs, &tm);
	}
	snprintf(buf, 32, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u,
		 (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
		 (unsigned)tm.tm_sec % 100u, usec % 1000000u);
}

static json_object *reporter(const char *ip)
{
	json_object *o = json_object_new_object();

	if (o && add_str(o, "IP Address", ip) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static const char *message_of(const struct record_input *in)
{
	const char *m = in->error_message ? in->error_message : x1367_code_message(in->error_code);

	return m ? m : "";
}

static int fill(json_object *root, const struct record_input *in)
{
	char ts[32];

	record_format_time(in->ts_usec, ts);
	return add_str(root, "Timestamp", ts) || add(root, "Reporter", reporter(in->reporter_ip)) ||
	       add_str(root, "Protocol", in->protocol) ||
	       add(root, "Requester", party(&in->requester, in->max_code_bytes)) ||
	       add(root, "Responder", party(&in->responder, in->max_code_bytes)) ||
	       add_str(root, "Error Code", in->error_code) ||
	       add_str(root, "Error Message", message_of(in)) ||
	       add(root, "Description", description(in));
}

char *record_build(const struct record_input *in)
{
	json_object *root;
	const char *text;
	char *line = NULL;

	if (!in)
		return NULL;
	root = json_object_new_object();
	if (!root)
		return NULL;
	if (fill(root, in) == 0) {
		text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE);
		if (text)
			line = strdup(text);
	}
	json_object_put(root);
	return line;
}
