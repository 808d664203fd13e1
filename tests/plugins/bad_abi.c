/* Built for an imagined ABI 2: exports only the v2 entry point, which this
 * sensor must refuse by name. */
#include <x1367ids/dissector.h>

static const struct x1367_dissector future = {
	.abi_major = X1367_ABI_MAJOR + 1,
	.struct_size = sizeof(struct x1367_dissector),
	.name = "future",
	.protocol = "From the future",
	.transports = X1367_TCP,
};

X1367_PLUGIN_EXPORT const struct x1367_dissector *x1367_dissector_entry_v2(void);

X1367_PLUGIN_EXPORT const struct x1367_dissector *x1367_dissector_entry_v2(void)
{
	return &future;
}
