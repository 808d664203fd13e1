/* The engine's side of the dissector API: what it does with calls it
 * cannot honour.  A report whose struct is too small (a plugin built
 * against a broken header) or NULL is not guessed into a record: it is
 * counted, per protocol and in total, as reports_rejected. */
#include <criterion/criterion.h>
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
	small.struct_size = sizeof(small) - 1;
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
