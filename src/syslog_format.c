/* RFC 5424 messages for X.1367 records.  See syslog_format.h. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "syslog_format.h"
#include "x1367_codes.h"

static const char *const facility_names[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

int syslog_facility_parse(const char *name)
{
	if (!name || !*name)
		return -1;
	for (int i = 0; i < 24; i++)
		if (!strcasecmp(name, facility_names[i]))
			return i;
	if (strlen(name) <= 2 && isdigit((unsigned char)name[0]) &&
	    (!name[1] || isdigit((unsigned char)name[1]))) {
		int n = atoi(name);
		return n <= 23 ? n : -1;
	}
	return -1;
}

/* The syslog policy: how loud each class of X.1367 code is (the class
 * itself is x1367_codes.c's). */
static const struct {
	const char *class_name;
	int severity;
} severity_by_class[] = {
	{ "no error", 6 },        /* informational */
	{ "communication", 4 },   /* warning */
	{ "security", 3 },        /* error */
	{ "command", 5 },         /* notice: a scan produces one per probe */
	{ "device", 3 },          /* error */
};

int syslog_severity_for_code(const char *code)
{
	const char *class_name = x1367_code_class(code);
	for (size_t i = 0; i < sizeof(severity_by_class) / sizeof(severity_by_class[0]); i++)
		if (!strcmp(class_name, severity_by_class[i].class_name))
			return severity_by_class[i].severity;
	return 4;   /* private, other: warning */
}

int syslog_pri(int facility, int severity)
{
	return facility * 8 + severity;
}

/* ---- reading the record -------------------------------------------------- */

static void copy_str(char *dst, size_t cap, json_object *v)
{
	const char *s = v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
	size_t n = s ? (size_t)json_object_get_string_len(v) : 0;
	if (n >= cap)
		n = cap - 1;
	/* an escaped NUL ("\u0000") would end the C string early */
	for (size_t i = 0; i < n; i++)
		dst[i] = s[i] ? s[i] : '?';
	dst[n] = '\0';
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

int syslog_record_fields(const char *json, size_t len, struct syslog_fields *f)
{
	memset(f, 0, sizeof(*f));
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, json, (int)len) : NULL;
	if (tok)
		json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		strcpy(f->code, "FF");
		return -1;
	}
	copy_str(f->code, sizeof(f->code), member(o, "Error Code"));
	if (!f->code[0])
		strcpy(f->code, "FF");
	copy_str(f->protocol, sizeof(f->protocol), member(o, "Protocol"));
	copy_str(f->requester, sizeof(f->requester), member(member(o, "Requester"), "Unique ID"));
	copy_str(f->responder, sizeof(f->responder), member(member(o, "Responder"), "Unique ID"));
	copy_str(f->sequence, sizeof(f->sequence), member(member(o, "Description"), "Sequence"));
	copy_str(f->reporter, sizeof(f->reporter), member(member(o, "Reporter"), "IP Address"));
	json_object_put(o);
	return 0;
}

/* ---- escaping ------------------------------------------------------------ */

size_t syslog_sd_escape(const char *in, char *out, size_t cap)
{
	size_t o = 0, n = strlen(in);
	int cut = n > SYSLOG_SD_VALUE_MAX;

	if (cut)
		n = SYSLOG_SD_VALUE_MAX - 3;
	for (size_t i = 0; i < n && o + 3 < cap; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '"' || c == '\\' || c == ']') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			out[o++] = '?';
		} else {
			out[o++] = (char)c;
		}
	}
	if (cut && o + 4 < cap) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return o;
}

void syslog_hostname(const char *in, char out[256])
{
	size_t o = 0;
	for (; in && in[o] && o < 255; o++) {
		unsigned char c = (unsigned char)in[o];
		out[o] = (c > 0x20 && c < 0x7f) ? (char)c : '_';
	}
	if (!o)
		out[o++] = '-';
	out[o] = '\0';
}

void syslog_timestamp(uint64_t usec, char out[32])
{
	time_t t = (time_t)(usec / 1000000u);
	struct tm tm;
	char buf[96];
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(usec % 1000000u));
	snprintf(out, 32, "%.31s", buf);
}

/* ---- the message --------------------------------------------------------- */

#define SD_ESC (2 * SYSLOG_SD_VALUE_MAX + 8)

/* One SD-PARAM, skipped when the value is empty. */
static size_t sd_param(char *p, const char *name, const char *value)
{
	char esc[SD_ESC];
	if (!value[0])
		return 0;
	syslog_sd_escape(value, esc, sizeof(esc));
	return (size_t)sprintf(p, " %s=\"%s\"", name, esc);
}

static size_t structured_data(char *p, const struct syslog_fields *f, const char *class_name)
{
	size_t n = (size_t)sprintf(p, "[%s", SYSLOG_SD_ID);
	n += sd_param(p + n, "code", f->code);
	n += sd_param(p + n, "class", class_name);
	n += sd_param(p + n, "protocol", f->protocol);
	n += sd_param(p + n, "seq", f->sequence);
	n += sd_param(p + n, "reporter", f->reporter);
	n += sd_param(p + n, "requester", f->requester);
	n += sd_param(p + n, "responder", f->responder);
	p[n++] = ']';
	p[n] = '\0';
	return n;
}

char *syslog_format(const struct syslog_header *h, uint64_t ts_usec, const char *json, size_t len,
		    size_t *out_len)
{
	struct syslog_fields f;
	char ts[32];
	/* header (< 400) + SD (7 params, each at most 2 * 255 + 16) + JSON */
	size_t cap = 512 + 7 * (SD_ESC + 16) + len + 2;
	char *buf = malloc(cap);

	if (!buf)
		return NULL;
	syslog_record_fields(json, len, &f);
	int sev = syslog_severity_for_code(f.code);
	syslog_timestamp(ts_usec, ts);
	size_t n = (size_t)snprintf(buf, 400, "<%d>1 %s %s %s %ld %s ", syslog_pri(h->facility, sev), ts,
				    h->hostname, SYSLOG_APP_NAME, h->procid, SYSLOG_MSGID);
	n += structured_data(buf + n, &f, x1367_code_class(f.code));
	buf[n++] = ' ';
	for (size_t i = 0; i < len; i++) {
		char c = json[i];
		buf[n++] = (c == '\n' || c == '\r' || c == '\0') ? ' ' : c;
	}
	buf[n] = '\0';
	*out_len = n;
	return buf;
}

size_t syslog_octet_prefix(size_t len, char buf[24])
{
	return (size_t)snprintf(buf, 24, "%zu ", len);
}
