/* simple6, except that it aborts when asked for a remote: the runner must report the crash and
 * every lane must clean up after it (harness/tests/cleanup_after_crash.sh). */
#include <stdlib.h>
#define SIMPLE6_OPS_SYMBOL                 mutant_crashes_ops
#define SIMPLE6_NAME                       "mutant-crashes"
#define SIMPLE6_PICK_ADDRESS(addrs, count) (abort(), &(addrs)[0])
#include "../../transports/simple6.c"
