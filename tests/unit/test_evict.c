/* A full flow table, through the whole engine (issue 14, defect 4): a
 * burst of SYNs between a request and its answer must not turn the
 * request into a false "10 No Response".  Flows without state are evicted
 * first; a request whose flow is evicted anyway expires without a record
 * (transactions.evicted_pending); the evicted flow's later answer is a
 * record only if it is an error ("not seen in the capture"). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "helpers.h"

#define HMI "192.0.2.10"
#define PLC "192.0.2.20"
#define SEC 1000000ull
#define T0 (1705309200ull * SEC)

#define REQUEST "00 07 00 00 00 06 01 03 00 00 00 01"    /* Read Holding Registers */
#define EXCEPTION "00 07 00 00 00 03 01 83 02"            /* Illegal Data Address */
#define NORMAL "00 07 00 00 00 05 01 03 02 00 2A"

static struct frame F;

/* One SYN from each of n forged sources to the PLC, 27 us apart (270k SYNs
 * in 27 ms in the capture): half-open flows, no payload. */
static void syn_flood(struct run *r, unsigned n, uint64_t from)
{
	char src[32];

	for (unsigned i = 0; i < n; i++) {
		snprintf(src, sizeof(src), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		build_tcp(&F, src, (uint16_t)(1024 + i % 60000), PLC, 502, 77 * i, 0, TH_SYN, NULL, 0);
		F.ts_usec = from + 27ull * i;
		run_frame(r, &F);
	}
}

/* n other Modbus connections, each with a request answered: flows with
 * dissector state, like the one that waits. */
static void busy_clients(struct run *r, unsigned n, uint64_t from, struct conn *last)
{
	char cli[32];
	static char names[256][32];

	for (unsigned i = 0; i < n && i < 256; i++) {
		snprintf(cli, sizeof(cli), "198.51.100.%u", i + 1);
		memcpy(names[i], cli, sizeof(cli));
		conn_open_at(last, r, names[i], PLC, 40000, 502, from + i * 10000);
		conn_send_hex(last, 0, "00 01 00 00 00 06 01 03 00 00 00 01");
		conn_send_hex(last, 1, "00 01 00 00 00 05 01 03 02 00 01");
	}
}

/* Push the capture clock past every deadline with one answered request. */
static void later(struct conn *c, uint64_t at)
{
	c->now = at;
	conn_send_hex(c, 0, "00 7F 00 00 00 06 01 03 00 00 00 01");
	conn_send_hex(c, 1, "00 7F 00 00 00 05 01 03 02 00 01");
}

static void expect_str(const char *rec, const char *path, const char *want)
{
	const char *got = record_get(rec, path);
	cr_assert_not_null(got, "%s missing in %s", path, rec);
	cr_assert_str_eq(got, want, "%s: got \"%s\", want \"%s\" in %s", path, got, want, rec);
}

Test(evict, syn_flood_between_request_and_exception_keeps_the_pair)
{
	struct run r;
	struct conn c;

	run_start_fast(&r, NULL);   /* a table of 64 flows */
	conn_open_at(&c, &r, HMI, PLC, 49152, 502, T0);
	conn_send_hex(&c, 0, REQUEST);
	syn_flood(&r, 5000, c.now + 1000);
	c.now += 200000;
	conn_send_hex(&c, 1, EXCEPTION);
	later(&c, T0 + 7 * SEC);
	run_finish(&r);

	cr_assert_gt(run_stat(&r, "flows.evicted"), 4000, "the table was full");
	cr_assert_eq(r.n_records, 1, "one exception, no 10 (got %zu records)", r.n_records);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Requester.Transmitted Code", "000700000006010300000001");
	cr_assert_null(record_get(r.records[0], "Description.Request"), "the request was seen");
	cr_assert_eq(run_stat(&r, "transactions.no_response"), 0);
	cr_assert_eq(run_stat(&r, "transactions.evicted_pending"), 0);
	cr_assert_eq(run_stat(&r, "flows.evicted_with_state"), 0);
	cr_assert_eq(run_stat(&r, "responses_without_request"), 0);
	run_free(&r);
}

/* Evicted anyway (every flow holds state): no "10" for the request... */
Test(evict, a_request_whose_flow_is_evicted_is_no_false_10)
{
	struct run r;
	struct conn c, other;

	run_start_fast(&r, NULL);
	conn_open_at(&c, &r, HMI, PLC, 49152, 502, T0);
	conn_send_hex(&c, 0, REQUEST);
	busy_clients(&r, 70, T0 + 10000, &other);
	/* ...and its normal answer, on a flow the table no longer knows,
	 * raises nothing. */
	c.now = T0 + 2 * SEC;
	conn_send_hex(&c, 1, NORMAL);
	later(&other, T0 + 7 * SEC);
	run_finish(&r);

	cr_assert_eq(r.n_records, 0, "no record (got %zu, the first: %s)", r.n_records,
		     r.n_records ? r.records[0] : "");
	cr_assert_geq(run_stat(&r, "flows.evicted_with_state"), 1);
	cr_assert_eq(run_stat(&r, "transactions.no_response"), 0);
	cr_assert_eq(run_stat(&r, "transactions.evicted_pending"), 1);
	cr_assert_eq(run_stat(&r, "requests_pending"), 0);
	run_free(&r);
}

/* ...but its error answer is still reported, as an exception whose
 * request the capture did not see. */
Test(evict, an_exception_after_the_eviction_is_still_reported)
{
	struct run r;
	struct conn c, other;

	run_start_fast(&r, NULL);
	conn_open_at(&c, &r, HMI, PLC, 49152, 502, T0);
	conn_send_hex(&c, 0, REQUEST);
	busy_clients(&r, 70, T0 + 10000, &other);
	c.now = T0 + 2 * SEC;
	conn_send_hex(&c, 1, EXCEPTION);
	later(&other, T0 + 7 * SEC);
	run_finish(&r);

	cr_assert_eq(r.n_records, 1, "the exception only (got %zu)", r.n_records);
	expect_str(r.records[0], "Error Code", "31");
	expect_str(r.records[0], "Description.Request", "not seen in the capture");
	cr_assert_eq(run_stat(&r, "transactions.no_response"), 0);
	cr_assert_eq(run_stat(&r, "transactions.evicted_pending"), 1);
	run_free(&r);
}
