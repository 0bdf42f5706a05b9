/* The message layer retransmitting 3 times instead of MAX_RETRANSMIT (4): aimed at by L1, and by
 * E1 where a closed port is given up on after every retransmission (simplesocketserver). */
#define ENDPOINT_RETRANSMISSIONS(protocol) ((protocol)->max_retransmit - 1)
#include "../../transports/coap/endpoint.c"
#include "../cell.h"

const char *const layer_mutant_defect = "retransmits 3 times instead of 4";
const char *const *const layer_mutant_must_fail =
    KINDS("L1-retransmission", "simplesocketserver:E1-closed-port");
