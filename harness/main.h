/* The `coapmx` command, shared by the real binary and the self-check binary, which differ only
 * in the transports they know. */
#ifndef COAPMX_MAIN_H
#define COAPMX_MAIN_H

#include "../transports/transport.h"

int coapmx_main(int argc, char **argv, const struct coapmx_registry *registry);

#endif
