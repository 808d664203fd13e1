/* The engine's side of the dissector API: what it does with calls it
 * cannot honour.  A report whose struct is smaller than ABI 1.0's (a
 * plugin built against a broken header) or NULL is not guessed into a
 * record: it is counted, per protocol and in total, as reports_rejected.
 * A report of an older plugin (struct up to n_desc) is read without the
 * fields appended since. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>
#include "helpers.h"

#define PORT 7999

static const struct x1367_engine_api *api;

static int reporter_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

/* Each datagram: one report too small, one NULL, one good. */
static enum x1367_parse_result reporter_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					      const uint8_t *data, size_t len, size_t *consumed)
{
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = "01",
		.response = data,
		.response_len = len,
	};
	struct x1367_report small = rep;

	(void)state, (void)pkt;
	small.struct_size = offsetof(struct x1367_report, flags) - 1;   /* less than ABI 1.0's */
	api->report(ctx, &small);
	api->report(ctx, NULL);
	api->report(ctx, &rep);
	*consumed = len;
	return X1367_PARSE_OK;
}

static const uint16_t reporter_ports[] = {PORT, 0};

static const struct x1367_dissector reporter = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "reporter",
	.protocol = "Reporter Test",
	.transports = X1367_UDP,
	.ports = reporter_ports,
	.state_size = 8,
	.init = reporter_init,
	.parse = {reporter_parse, reporter_parse},
};

Test(engine_api, a_report_too_small_is_counted_not_recorded)
{
	static struct frame f;
	struct run r;

	run_start_with(&r, &reporter);
	build_udp(&f, "192.0.2.30", PORT, "192.0.2.31", 40000, "\x01\x02", 2);
	f.ts_usec = 1705309200ull * 1000000ull;
	run_frame(&r, &f);
	run_finish(&r);

	cr_assert_eq(r.n_records, 1, "only the good report is a record");
	cr_assert_str_eq(record_get(r.records[0], "Error Code"), "FF");
	cr_assert_eq(run_stat(&r, "protocols.reporter.reports_rejected"), 2);
	cr_assert_eq(run_stat(&r, "reports_rejected"), 2);
	cr_assert_eq(run_stat(&r, "protocols.modbus.reports_rejected"), 0);
	run_free(&r);
}

/* ---- a stateless dissector (state_size 0), and the one counter of
 * responses without request ----------------------------------------------
 * Each datagram's first byte says what the dissector does with it:
 *   'E' raise the event X1367_EV_RESPONSE_WITHOUT_REQUEST only;
 *   'R' report an error with no transaction only;
 *   'B' both, for the same answer (what the bundled dissectors do);
 *   'T' both twice: two answers in one datagram. */
#define STATELESS_PORT 7998

static const struct x1367_engine_api *sl_api;

static int stateless_init(const struct x1367_engine_api *engine)
{
	sl_api = engine;
	return 0;
}

static void sl_report(x1367_ctx *ctx, const uint8_t *data, size_t len)
{
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = "01",
		.response = data,
		.response_len = len,
	};
	sl_api->report(ctx, &rep);
}

static enum x1367_parse_result stateless_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					       const uint8_t *data, size_t len, size_t *consumed)
{
	(void)pkt;
	cr_assert_null(state, "state_size 0: no state");
	*consumed = len;
	if (!len)
		return X1367_PARSE_OK;
	for (int i = 0; i < (data[0] == 'T' ? 2 : 1); i++) {
		if (data[0] != 'R')
			sl_api->event(ctx, X1367_EV_RESPONSE_WITHOUT_REQUEST);
		if (data[0] != 'E')
			sl_report(ctx, data, len);
	}
	return X1367_PARSE_OK;
}

static const uint16_t stateless_ports[] = {STATELESS_PORT, 0};

static const struct x1367_dissector stateless = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "stateless",
	.protocol = "Stateless Test",
	.transports = X1367_UDP,
	.ports = stateless_ports,
	.state_size = 0,
	.init = stateless_init,
	.parse = {stateless_parse, stateless_parse},
};

static void stateless_datagram(struct run *r, uint16_t cport, const char *what, uint64_t t)
{
	static struct frame f;

	build_udp(&f, "192.0.2.40", STATELESS_PORT, "192.0.2.41", cport, what, strlen(what));
	f.ts_usec = 1705309200ull * 1000000ull + t;
	run_frame(r, &f);
}

Test(engine_api, a_stateless_dissector_counts_its_flows)
{
	struct run r;

	run_start_with(&r, &stateless);
	stateless_datagram(&r, 40001, "E", 0);
	stateless_datagram(&r, 40001, "E", 1000);   /* the same flow */
	stateless_datagram(&r, 40002, "E", 2000);
	run_finish(&r);
	cr_assert_eq(run_stat(&r, "protocols.stateless.flows"), 2);
	run_free(&r);
}

Test(engine_api, a_response_without_request_counts_once_however_said)
{
	struct run r;

	run_start_with(&r, &stateless);
	stateless_datagram(&r, 40001, "E", 0);      /* event only: 1 */
	stateless_datagram(&r, 40001, "R", 1000);   /* report only: 1 */
	stateless_datagram(&r, 40001, "B", 2000);   /* both, one answer: 1 */
	stateless_datagram(&r, 40001, "T", 3000);   /* both, two answers: 2 */
	run_finish(&r);
	cr_assert_eq(run_stat(&r, "protocols.stateless.responses_without_request"), 5);
	cr_assert_eq(run_stat(&r, "responses_without_request"), 5);
	cr_assert_eq(run_stat(&r, "protocols.stateless.events.response_without_request"), 4);
	cr_assert_eq(r.n_records, 4);
	run_free(&r);
}

/* ---- reports of an older plugin, and reports the device sent on its own --
 * Each datagram's first byte: 'O' a report of a 1.0-1.3 plugin (its struct
 * ends before flags; the bytes after it say "unsolicited" and must not be
 * read); 'U' a report flagged X1367_REPORT_UNSOLICITED, no transaction;
 * 'N' a report with no transaction and no flag. */
#define FLAGS_PORT 7997

static const struct x1367_engine_api *fl_api;

static int flags_init(const struct x1367_engine_api *engine)
{
	fl_api = engine;
	return 0;
}

static enum x1367_parse_result flags_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					   const uint8_t *data, size_t len, size_t *consumed)
{
	struct x1367_report rep = {
		.struct_size = sizeof(rep),
		.vendor_code = "01",
		.response = data,
		.response_len = len,
		.flags = X1367_REPORT_UNSOLICITED,
	};

	(void)state, (void)pkt;
	*consumed = len;
	if (!len)
		return X1367_PARSE_OK;
	if (data[0] == 'O')
		rep.struct_size = offsetof(struct x1367_report, flags);
	else if (data[0] == 'N')
		rep.flags = 0;
	fl_api->report(ctx, &rep);
	return X1367_PARSE_OK;
}

static const uint16_t flags_ports[] = {FLAGS_PORT, 0};

static const struct x1367_dissector flagger = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "flagger",
	.protocol = "Flags Test",
	.transports = X1367_UDP,
	.ports = flags_ports,
	.init = flags_init,
	.parse = {flags_parse, flags_parse},
};

static void flags_datagram(struct run *r, const char *what, uint64_t t)
{
	static struct frame f;

	build_udp(&f, "192.0.2.50", FLAGS_PORT, "192.0.2.51", 40000, what, strlen(what));
	f.ts_usec = 1705309200ull * 1000000ull + t;
	run_frame(r, &f);
}

Test(engine_api, an_older_report_is_read_without_its_missing_flags)
{
	struct run r;

	run_start_with(&r, &flagger);
	flags_datagram(&r, "O", 0);
	run_finish(&r);
	cr_assert_eq(r.n_records, 1, "a 1.0 report is accepted");
	cr_assert_eq(run_stat(&r, "protocols.flagger.reports_rejected"), 0);
	cr_assert_eq(run_stat(&r, "protocols.flagger.responses_without_request"), 1);
	cr_assert_eq(run_stat(&r, "protocols.flagger.unsolicited_reports"), 0,
		     "flags lies past the old struct: never read");
	cr_assert_str_eq(record_get(r.records[0], "Description.Request"), "not seen in the capture");
	run_free(&r);
}

Test(engine_api, a_report_the_device_sent_on_its_own_is_no_response_without_request)
{
	struct run r;

	run_start_with(&r, &flagger);
	flags_datagram(&r, "U", 0);
	flags_datagram(&r, "U", 1000);
	flags_datagram(&r, "N", 2000);
	run_finish(&r);
	cr_assert_eq(r.n_records, 3);
	cr_assert_eq(run_stat(&r, "protocols.flagger.unsolicited_reports"), 2);
	cr_assert_eq(run_stat(&r, "protocols.flagger.responses_without_request"), 1);
	cr_assert_eq(run_stat(&r, "responses_without_request"), 1);
	cr_assert_str_eq(record_get(r.records[0], "Description.Request"),
			 "none: sent by the device on its own");
	cr_assert_str_eq(record_get(r.records[2], "Description.Request"), "not seen in the capture");
	run_free(&r);
}
