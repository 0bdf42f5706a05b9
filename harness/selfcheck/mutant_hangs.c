/* simple6, except that it never returns from resolving: the runner must stop it at the cell's
 * time limit, and a runner killed meanwhile must leave nothing a later run does not reap. */
#include <unistd.h>
#define SIMPLE6_OPS_SYMBOL                 mutant_hangs_ops
#define SIMPLE6_NAME                       "mutant-hangs"
#define SIMPLE6_PICK_ADDRESS(addrs, count) (pause(), &(addrs)[0])
#include "../../transports/simple6.c"
