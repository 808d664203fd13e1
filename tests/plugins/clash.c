/* Claims Modbus's port: the registry must refuse it. */
#include <x1367ids/dissector.h>

static enum x1367_parse_result clash_parse(x1367_ctx *ctx, void *state, const struct x1367_packet *pkt,
					   const uint8_t *data, size_t len, size_t *consumed)
{
	(void)ctx, (void)state, (void)pkt, (void)data;
	*consumed = len;
	return X1367_PARSE_OK;
}

static const uint16_t clash_ports[] = {502, 0};

static const struct x1367_dissector clash = {
	.abi_major = X1367_ABI_MAJOR,
	.abi_minor = X1367_ABI_MINOR,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "clash",
	.protocol = "Clashing Protocol",
	.transports = X1367_TCP,
	.ports = clash_ports,
	.parse = {clash_parse, clash_parse},
};

X1367_PLUGIN_EXPORT const struct x1367_dissector *X1367_DISSECTOR_ENTRY(void)
{
	return &clash;
}
