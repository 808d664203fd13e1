/*
 * Checks of one X.1367 record, as a line of JSON Lines: the oracle of the
 * regression tests (x1367ids-validate) and of any tool that reads records.
 * See record_check.h.  It is strict and independent of the record builder
 * (src/record.c): it re-derives everything from the text, with the
 * Recommendation's patterns and the Annex A table of src/x1367_codes.c
 * (the project's only copy).
 *
 * "Raw control character" means JSON's: a byte below 0x20 (RFC 8259 s.7).
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "record_check.h"
#include "x1367_codes.h"

#define STATUS_IDS "This message was sent from IDS not IoTGW"

static const char *const top_keys[] = {
	"Timestamp",  "Reporter",   "Protocol",      "Requester",
	"Responder",  "Error Code", "Error Message", "Description",
};
#define N_TOP_KEYS (sizeof(top_keys) / sizeof(top_keys[0]))

/* The Recommendation's patterns (REFERENCE.md), POSIX extended syntax. */
static const char re_timestamp_src[] =
	"^([0-9]{4})-(1[0-2]|0[1-9])-(3[01]|0[1-9]|[12][0-9])T(2[0-3]|[01][0-9]):"
	"([0-5][0-9]):([0-5][0-9])(\\.[0-9]+)Z$";
static const char re_ipv4_src[] =
	"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
	"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$";
static const char re_ipv6_src[] = "^([0-9A-F]{1,4}:){7}[0-9A-F]{1,4}$";
static const char re_tcode_src[] = "^([0-9A-F])*$";
static const char re_ecode_src[] = "^[0-9A-F]+$";

struct record_checker {
	regex_t timestamp, ipv4, ipv6, tcode, ecode;
};

/* ---- checks; each returns 0, or -1 with `why` filled in ------------------ */

static int why_set(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, RECORD_CHECK_REASON_LEN, fmt, ap);
	va_end(ap);
	return -1;
}

static int matches(const regex_t *re, const char *s)
{
	return regexec(re, s, 0, NULL, 0) == 0;
}

static const char *string_of(json_object *o)
{
	return json_object_is_type(o, json_type_string) ? json_object_get_string(o) : NULL;
}

static int check_raw_bytes(const char *line, size_t len, char *why)
{
	size_t i;

	if (len == 0)
		return why_set(why, "empty line");
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20)
			return why_set(why, "raw control character 0x%02X at byte %zu",
				       (unsigned char)line[i], i + 1);
	return 0;
}

static json_object *parse(const char *line, size_t len, char *why)
{
	json_tokener *tok = json_tokener_new();
	json_object *o;
	enum json_tokener_error e;

	if (!tok) {
		why_set(why, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	e = json_tokener_get_error(tok);
	if (!o || e != json_tokener_success) {
		why_set(why, "not valid JSON: %s", e == json_tokener_continue ?
			"unexpected end of line" : json_tokener_error_desc(e));
		json_object_put(o);
		o = NULL;
	} else if (json_tokener_get_parse_end(tok) != len) {
		why_set(why, "not valid JSON: text after the object at byte %zu",
			json_tokener_get_parse_end(tok) + 1);
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		why_set(why, "not a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static int check_key_order(json_object *rec, char *why)
{
	size_t i = 0;

	json_object_object_foreach(rec, key, val) {
		(void)val;
		if (i >= N_TOP_KEYS)
			return why_set(why, "unexpected key \"%.64s\"", key);
		if (strcmp(key, top_keys[i]) != 0) {
			if (!json_object_object_get_ex(rec, top_keys[i], NULL))
				return why_set(why, "missing key \"%s\"", top_keys[i]);
			return why_set(why, "key \"%.64s\" where \"%s\" belongs (order: Timestamp, "
				       "Reporter, Protocol, Requester, Responder, Error Code, "
				       "Error Message, Description)", key, top_keys[i]);
		}
		i++;
	}
	if (i < N_TOP_KEYS)
		return why_set(why, "missing key \"%s\"", top_keys[i]);
	return 0;
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

static int check_timestamp(const struct record_checker *rc, json_object *rec, char *why)
{
	const char *ts = string_of(get(rec, "Timestamp"));

	if (!ts)
		return why_set(why, "Timestamp is not a string");
	if (!matches(&rc->timestamp, ts))
		return why_set(why, "Timestamp \"%.64s\" does not match the Recommendation's pattern "
			       "(YYYY-MM-DDTHH:MM:SS.fffZ, fractional seconds required)", ts);
	return 0;
}

static int check_reporter(const struct record_checker *rc, json_object *rec, char *why)
{
	json_object *rep = get(rec, "Reporter");
	const char *ip;

	if (!json_object_is_type(rep, json_type_object))
		return why_set(why, "Reporter is not an object");
	if (json_object_object_length(rep) != 1 || !(ip = string_of(get(rep, "IP Address"))))
		return why_set(why, "Reporter must be exactly {\"IP Address\": string}");
	if (!matches(&rc->ipv4, ip) && !matches(&rc->ipv6, ip))
		return why_set(why, "Reporter IP Address \"%.64s\" is neither a dotted quad nor eight "
			       "groups of 1-4 uppercase hex digits", ip);
	return 0;
}

static int check_protocol(json_object *rec, char *why)
{
	const char *p = string_of(get(rec, "Protocol"));

	if (!p || !*p)
		return why_set(why, "Protocol must be a non-empty string");
	return 0;
}

static int check_party(const struct record_checker *rc, json_object *rec, const char *name, char *why)
{
	json_object *p = get(rec, name);
	const char *code;

	if (!json_object_is_type(p, json_type_object))
		return why_set(why, "%s is not an object", name);
	if (json_object_object_length(p) == 0)
		return 0;
	if (json_object_object_length(p) != 2 || !string_of(get(p, "Unique ID")) ||
	    !(code = string_of(get(p, "Transmitted Code"))))
		return why_set(why, "%s must be {} or exactly {\"Unique ID\": string, "
			       "\"Transmitted Code\": string}", name);
	if (!matches(&rc->tcode, code))
		return why_set(why, "%s Transmitted Code \"%.64s\" is not uppercase hex", name, code);
	return 0;
}

static int check_error(const struct record_checker *rc, json_object *rec, char *why)
{
	const char *code = string_of(get(rec, "Error Code"));
	const char *msg = string_of(get(rec, "Error Message"));
	const char *want;

	if (!code || !matches(&rc->ecode, code))
		return why_set(why, "Error Code must be a string of uppercase hex digits");
	want = x1367_code_message(code);
	if (!want)
		return why_set(why, "Error Code \"%.64s\" is not a valid X.1367 code (Annex A)", code);
	if (!msg)
		return why_set(why, "Error Message is not a string");
	if (strcmp(msg, want) != 0)
		return why_set(why, "Error Message \"%.64s\" is not \"%s\", the message of code %s",
			       msg, want, code);
	return 0;
}

static int check_description(json_object *rec, char *why)
{
	json_object *d = get(rec, "Description");
	const char *status;

	if (!json_object_is_type(d, json_type_object))
		return why_set(why, "Description is not an object");
	status = string_of(get(d, "Status"));
	if (!status || strcmp(status, STATUS_IDS) != 0)
		return why_set(why, "Description Status is not \"%s\"", STATUS_IDS);
	return 0;
}

int record_check_line(const struct record_checker *rc, const char *line, size_t len,
		      char why[RECORD_CHECK_REASON_LEN])
{
	json_object *rec;
	int bad;

	if (len > RECORD_CHECK_LINE_LIMIT)
		return why_set(why, "line too long (%zu bytes)", len);
	if (check_raw_bytes(line, len, why) != 0)
		return -1;
	rec = parse(line, len, why);
	if (!rec)
		return -1;
	bad = check_key_order(rec, why) || check_timestamp(rc, rec, why) ||
	      check_reporter(rc, rec, why) || check_protocol(rec, why) ||
	      check_party(rc, rec, "Requester", why) || check_party(rc, rec, "Responder", why) ||
	      check_error(rc, rec, why) || check_description(rec, why);
	json_object_put(rec);
	return bad ? -1 : 0;
}

struct record_checker *record_checker_new(void)
{
	struct record_checker *rc = calloc(1, sizeof(*rc));
	const struct {
		regex_t *re;
		const char *src;
	} all[] = {
		{ &rc->timestamp, re_timestamp_src }, { &rc->ipv4, re_ipv4_src },
		{ &rc->ipv6, re_ipv6_src },	      { &rc->tcode, re_tcode_src },
		{ &rc->ecode, re_ecode_src },
	};
	size_t i;

	if (!rc)
		return NULL;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (regcomp(all[i].re, all[i].src, REG_EXTENDED | REG_NOSUB) != 0) {
			while (i--)
				regfree(all[i].re);
			free(rc);
			return NULL;
		}
	}
	return rc;
}

void record_checker_free(struct record_checker *rc)
{
	if (!rc)
		return;
	regfree(&rc->timestamp);
	regfree(&rc->ipv4);
	regfree(&rc->ipv6);
	regfree(&rc->tcode);
	regfree(&rc->ecode);
	free(rc);
}
