/* simple6, except that it does not refuse multicast destinations: aimed at by M1-M3. */
#define SIMPLE6_OPS_SYMBOL        mutant_sends_multicast_ops
#define SIMPLE6_NAME              "mutant-sends-multicast"
#define SIMPLE6_REFUSES_MULTICAST 0
#include "../../transports/simple6.c"
