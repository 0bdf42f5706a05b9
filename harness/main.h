/* The `coapmx` command, shared by the real binary and the self-check binary, which differ only
 * in the transports they know. */
#ifndef COAPMX_MAIN_H
#define COAPMX_MAIN_H

#include "../transports/transport.h"

int coapmx_main(int argc, char **argv, const struct coapmx_registry *registry);

/* This executable's path, for exec'ing its own subcommands (cells, the peer). Not
 * "/proc/self/exe": under a wrapper such as valgrind that names the wrapper's tool. Returns buf,
 * or NULL when the path cannot be read. */
const char *coapmx_self_path(char *buf, size_t cap);
/* A whole decimal number in [0, max]; -1 for anything else (empty, junk after it, too big). */
int coapmx_parse_number(const char *text, unsigned long max, unsigned long *out);

#endif
