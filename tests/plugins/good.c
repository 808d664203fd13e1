/* A minimal plugin for the loader's tests: a line protocol on TCP 7777
 * where "ERR <hex>" answers "REQ ..." (requests are not tracked). */
#include <x1367ids/dissector.h>

static const struct x1367_engine_api *api;

static int good_init(const struct x1367_engine_api *engine)
{
	api = engine;
	return 0;
}

static enum x1367_parse_result good_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					  const uint8_t *data, size_t len, size_t *consumed)
{
	(void)ctx, (void)state, (void)pkt, (void)data;
	*consumed = len;
	return X1367_PARSE_OK;
}

static const uint16_t good_ports[] = {7777, 0};

static const struct x1367_dissector good = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "testgood",
	.protocol = "Test Good Protocol",
	.transports = X1367_TCP,
	.ports = good_ports,
	.init = good_init,
	.parse = {good_parse, good_parse},
};

X1367_PLUGIN_EXPORT const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &good;
}
