/* The asset table (src/assets.c): every key form, the precedence of exact
 * keys over CIDR blocks, and each kind of bad file refused with its line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "assets.h"

#define HEADER "key,unique_id,name,location,ecosystem\n"

static char err[ASSETS_ERR_LEN];

static struct assets *parse(const char *text)
{
	err[0] = '\0';
	return assets_parse("t.csv", text, strlen(text), err);
}

static struct x1367_addr ip(const char *s)
{
	struct x1367_addr a;
	cr_assert_eq(addr_parse(s, &a), 0, "%s", s);
	return a;
}

/* The operator's Unique ID found for (uid, address), or "-" for none. */
static const char *uid_of(const struct assets *t, const char *uid, const char *addr)
{
	struct x1367_addr a;
	const struct asset *as;

	if (addr)
		a = ip(addr);
	as = assets_find(t, uid, addr ? &a : NULL, NULL);
	return as ? as->unique_id : "-";
}

static void refused(const char *text, const char *want)
{
	struct assets *t = parse(text);
	cr_assert_null(t, "accepted: %s", text);
	cr_assert(strstr(err, want), "error \"%s\" does not contain \"%s\"", err, want);
	assets_free(t);
}

Test(assets, every_key_form)
{
	struct assets *t = parse(HEADER
				 "192.0.2.11,0001,PLC-1,Line 1,Modbus cell\n"
				 "192.0.2.11#1,0002,PLC-1 unit 1,Line 1,Modbus cell\n"
				 "192.0.2.20#0130a1,0003,Air conditioner,Office,ECHONET Lite\n"
				 "192.0.2.30:1883,0004,Broker,Server room,MQTT\n"
				 "2001:db8::5,0005,v6 host,Lab,\n"
				 "[2001:db8::6]:5683,0006,CoAP server,Lab,CoAP\n"
				 "02:00:5e:10:00:01,0007,By MAC,Lab,\n");
	cr_assert_not_null(t, "%s", err);
	cr_assert_eq(assets_count(t), 7);
	cr_assert_str_eq(uid_of(t, "192.0.2.11#1", "192.0.2.11"), "0002");      /* exact ID first */
	cr_assert_str_eq(uid_of(t, "192.0.2.11#2", "192.0.2.11"), "0001");      /* then the address */
	cr_assert_str_eq(uid_of(t, "192.0.2.20#0130A1", "192.0.2.20"), "0003"); /* hex ID uppercased */
	cr_assert_str_eq(uid_of(t, "192.0.2.30:1883", "192.0.2.30"), "0004");
	cr_assert_str_eq(uid_of(t, "2001:DB8:0:0:0:0:0:5", "2001:db8::5"), "0005");
	cr_assert_str_eq(uid_of(t, "[2001:DB8:0:0:0:0:0:6]:5683", "2001:db8::6"), "0006");
	cr_assert_str_eq(uid_of(t, "192.0.2.99", "192.0.2.99"), "-");
	cr_assert_str_eq(uid_of(t, NULL, NULL), "-");

	static const uint8_t mac[6] = {0x02, 0x00, 0x5E, 0x10, 0x00, 0x01};
	struct x1367_addr other = ip("198.51.100.1");
	const struct asset *as = assets_find(t, "198.51.100.1", &other, mac);
	cr_assert_not_null(as);
	cr_assert_str_eq(as->unique_id, "0007");
	cr_assert_str_eq(as->name, "By MAC");
	cr_assert_str_eq(as->ecosystem, "");
	assets_free(t);
}

Test(assets, exact_beats_cidr_and_longest_prefix_wins)
{
	struct assets *t = parse(HEADER
				 "10.0.0.0/8,A,Site,,\n"
				 "10.1.0.0/16,B,Building,,\n"
				 "10.1.2.0/24,C,Room,,\n"
				 "10.1.2.3,D,Host,,\n"
				 "0.0.0.0/0,Z,Anything v4,,\n"
				 "2001:db8::/32,E,v6 site,,\n"
				 "2001:db8:1::/48,F,v6 room,,\n"
				 "198.18.0.0/15,G,odd prefix,,\n"
				 "2001:db8:ab00::/41,H,odd v6 prefix,,\n");
	cr_assert_not_null(t, "%s", err);
	cr_assert_str_eq(uid_of(t, "10.1.2.3#7", "10.1.2.3"), "D");
	cr_assert_str_eq(uid_of(t, "10.1.2.4", "10.1.2.4"), "C");
	cr_assert_str_eq(uid_of(t, "10.1.3.4", "10.1.3.4"), "B");
	cr_assert_str_eq(uid_of(t, "10.9.3.4", "10.9.3.4"), "A");
	cr_assert_str_eq(uid_of(t, "192.0.2.1", "192.0.2.1"), "Z");
	cr_assert_str_eq(uid_of(t, NULL, "2001:db8:1:2::1"), "F");
	cr_assert_str_eq(uid_of(t, NULL, "2001:db8:2::1"), "E");
	cr_assert_str_eq(uid_of(t, NULL, "2001:db9::1"), "-");
	/* prefixes that end inside a byte */
	cr_assert_str_eq(uid_of(t, NULL, "198.19.255.255"), "G");
	cr_assert_str_eq(uid_of(t, NULL, "198.20.0.0"), "Z");
	cr_assert_str_eq(uid_of(t, NULL, "2001:db8:ab7f::1"), "H");
	cr_assert_str_eq(uid_of(t, NULL, "2001:db8:ab80::1"), "E");
	assets_free(t);
}

Test(assets, header_in_any_order_quotes_crlf_comments)
{
	struct assets *t = parse("# site A\r\n"
				 "Unique_ID , Key,Name\r\n"
				 "\r\n"
				 "\"0001\", 192.0.2.1 ,\"PLC, \"\"north\"\"\"\r\n");
	cr_assert_not_null(t, "%s", err);
	struct x1367_addr a = ip("192.0.2.1");
	const struct asset *as = assets_find(t, NULL, &a, NULL);
	cr_assert_not_null(as);
	cr_assert_str_eq(as->unique_id, "0001");
	cr_assert_str_eq(as->name, "PLC, \"north\"");
	cr_assert_str_eq(as->location, "");
	assets_free(t);
}

Test(assets, bad_files_name_their_line)
{
	refused(HEADER "192.0.2.1,1,a,b,c\n192.0.2.1,2,a,b,c\n", "t.csv:3: duplicate key \"192.0.2.1\" (first at line 2)");
	/* the same address written two ways is the same key */
	refused(HEADER "2001:db8::1,1,,,\n2001:DB8:0::0:1,2,,,\n", "t.csv:3: duplicate key");
	refused(HEADER "10.0.0.0/8,1,,,\n10.0.0.0/8,2,,,\n", "t.csv:3: duplicate key");
	refused(HEADER "192.0.2.300,1,,,\n", "t.csv:2: key \"192.0.2.300\" is not an address");
	refused(HEADER "192.0.2.1/24,1,,,\n", "t.csv:2: \"192.0.2.1/24\": host bits set");
	refused(HEADER "192.0.2.0/33,1,,,\n", "prefix length must be 0 to 32");
	refused(HEADER "192.0.2.1:0,1,,,\n", "port must be 1 to 65535");
	refused(HEADER "[192.0.2.1]:80,1,,,\n", "t.csv:2: \"[192.0.2.1]:80\": brackets are for IPv6");
	refused(HEADER "[2001:db8::1]80,1,,,\n", "is [ADDRESS]:PORT");
	refused(HEADER "192.0.2.1#,1,,,\n", "empty or overlong ID");
	refused(HEADER "192.0.2.1#1 2,1,,,\n", "character ' ' in the ID");
	refused(HEADER "192.0.2.1,1,,\n", "t.csv:2: 4 fields, the header has 5");
	refused(HEADER "192.0.2.1,1,,,,\n", "t.csv:2: more than 5 fields");
	refused(HEADER "192.0.2.1,,,,\n", "t.csv:2: empty unique_id");
	refused(HEADER ",1,,,\n", "t.csv:2: empty key");
	refused(HEADER "192.0.2.1,\"1,,,\n", "t.csv:2: quote not closed");
	refused(HEADER "192.0.2.1,1\"x,,,\n", "t.csv:2: quote inside an unquoted field");
	refused(HEADER "192.0.2.1,\"1\"x,,,\n", "t.csv:2: text after a closing quote");
	refused(HEADER "192.0.2.1,1,\xff,,\n", "t.csv:2: invalid UTF-8");
	refused(HEADER "192.0.2.1,1,a\x01,,\n", "t.csv:2: control character 0x01");
	refused("\xEF\xBB\xBF" HEADER, "t.csv:1: starts with a byte order mark");
	refused("key,name\n", "t.csv:1: header: the columns key and unique_id are required");
	refused("key,unique_id,colour\n", "t.csv:1: header: unknown column \"colour\"");
	refused("key,unique_id,key\n", "t.csv:1: header: column \"key\" twice");
	refused("# only a comment\n", "t.csv: no header row");
	refused("", "t.csv: no header row");
	refused(HEADER "192.0.2.1,1\r,,,\n", "t.csv:2: carriage return inside a line");
}

/* The last line may end in a bare CR (no LF): once, the loader looped on it
 * forever (found by tests/fuzz/fuzz_assets.c). */
Test(assets, last_line_ends_in_cr, .timeout = 5)
{
	struct assets *t = parse(HEADER "192.0.2.1,1,,,\r");
	cr_assert_not_null(t, "%s", err);
	cr_assert_str_eq(uid_of(t, NULL, "192.0.2.1"), "1");
	assets_free(t);
	t = parse(HEADER "192.0.2.1,2,,,");   /* no line end at all */
	cr_assert_not_null(t, "%s", err);
	cr_assert_str_eq(uid_of(t, NULL, "192.0.2.1"), "2");
	assets_free(t);
}

Test(assets, nul_byte)
{
	static const char text[] = HEADER "192.0.2.1,1,a\0b,,\n";
	struct assets *t = assets_parse("t.csv", text, sizeof(text) - 1, err);
	cr_assert_null(t);
	cr_assert(strstr(err, "t.csv:2: NUL byte"), "%s", err);
}

Test(assets, bounds)
{
	size_t cap = 64 + (size_t)ASSETS_MAX_LINE * 2, n;
	char *big = malloc(cap);
	cr_assert_not_null(big);
	/* a line past ASSETS_MAX_LINE */
	n = (size_t)snprintf(big, cap, HEADER "192.0.2.1,");
	memset(big + n, 'x', ASSETS_MAX_LINE);
	strcpy(big + n + ASSETS_MAX_LINE, ",,,\n");
	refused(big, "t.csv:2: line longer than");
	/* a field past ASSETS_MAX_FIELD */
	n = (size_t)snprintf(big, cap, HEADER "192.0.2.1,1,");
	memset(big + n, 'x', ASSETS_MAX_FIELD + 1);
	strcpy(big + n + ASSETS_MAX_FIELD + 1, ",,\n");
	refused(big, "t.csv:2: field longer than");
	free(big);
	/* more bytes than allowed: refused before any parsing */
	struct assets *t = assets_parse("t.csv", HEADER, (size_t)ASSETS_MAX_BYTES + 1, err);
	cr_assert_null(t);
	cr_assert(strstr(err, "larger than"), "%s", err);
}

Test(assets, row_limit)
{
	size_t per = 32, cap = sizeof(HEADER) + per * (ASSETS_MAX_ROWS + 2), n = 0;
	char *text = malloc(cap);
	cr_assert_not_null(text);
	n += (size_t)snprintf(text, cap, HEADER);
	for (unsigned i = 0; i <= ASSETS_MAX_ROWS; i++)
		n += (size_t)snprintf(text + n, cap - n, "10.%u.%u.%u,%u,,,\n", i >> 16, (i >> 8) & 255, i & 255, i);
	struct assets *t = assets_parse("t.csv", text, n, err);
	cr_assert_null(t);
	cr_assert(strstr(err, "more than 100000 rows"), "%s", err);
	/* exactly the limit loads, and every row is found (the table grows) */
	char *last = text + n - 1;
	while (last[-1] != '\n')
		last--;
	t = assets_parse("t.csv", text, (size_t)(last - text), err);
	cr_assert_not_null(t, "%s", err);
	cr_assert_eq(assets_count(t), ASSETS_MAX_ROWS);
	cr_assert_str_eq(uid_of(t, NULL, "10.1.134.159"), "99999");
	assets_free(t);
	free(text);
}

Test(assets, load_from_file)
{
	char path[] = "/tmp/test_assets_XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	const char text[] = HEADER "192.0.2.1,0001,a,b,c\n192.0.2.1,0002,a,b,c\n";
	cr_assert_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	struct assets *t = assets_load(path, err);
	cr_assert_null(t);
	char want[128];
	snprintf(want, sizeof(want), "%s:3: duplicate key", path);
	cr_assert(strstr(err, want), "%s", err);
	unlink(path);
	cr_assert_null(assets_load(path, err));
	cr_assert(strstr(err, path), "%s", err);
}
