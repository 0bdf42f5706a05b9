/* The message layer matching responses on the token alone: aimed at by L7 where a stranger's
 * datagram reaches the transport at all (a connected socket never sees it). */
#define ENDPOINT_CHECKS_SOURCE 0
#include "../../transports/coap/endpoint.c"
#include "../cell.h"

const char *const layer_mutant_defect = "accepts responses from any source";
const char *const *const layer_mutant_must_fail =
    KINDS("udp6:L7-spoofed-response", "simplesocketserver:L7-spoofed-response");
