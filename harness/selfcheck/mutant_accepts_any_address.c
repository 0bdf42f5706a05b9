/* simplesocketserver, except that it binds the any-address when given none or asked for it:
 * aimed at by S6. */
#define SSS_OPS_SYMBOL          mutant_accepts_any_address_ops
#define SSS_NAME                "mutant-accepts-any-address"
#define SSS_REFUSES_ANY_ADDRESS 0
#include "../../transports/simplesocketserver.c"
