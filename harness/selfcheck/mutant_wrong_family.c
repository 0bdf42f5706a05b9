/* simple6, except that it picks the last address the resolver lists instead of the first: aimed
 * at by F3, F4 and F5 (the other family) and F8 (the other address of the same family). */
#define SIMPLE6_OPS_SYMBOL                 mutant_wrong_family_ops
#define SIMPLE6_NAME                       "mutant-wrong-family"
#define SIMPLE6_PICK_ADDRESS(addrs, count) (&(addrs)[(count)-1])
#include "../../transports/simple6.c"
