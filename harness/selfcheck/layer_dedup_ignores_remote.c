/* The message layer's duplicate detection keyed on the MID alone: aimed at by L2 where a second
 * host can reach the transport. */
#define ENDPOINT_SAME_DEDUP_KEY(served_key, remote_key) ((void)(served_key), (void)(remote_key), 1)
#include "../../transports/coap/endpoint.c"
#include "../cell.h"

const char *const layer_mutant_defect = "deduplicates on the MID, whatever the remote";
const char *const *const layer_mutant_must_fail =
    KINDS("udp6:L2-deduplication", "simplesocketserver:L2-deduplication");
