/* The self-check's verdict on one deliberately wrong build: it must fail exactly the cells
 * aimed at its defect and pass every other cell it runs. */
#ifndef COAPMX_SELFCHECK_CHECK_H
#define COAPMX_SELFCHECK_CHECK_H

#include <stddef.h>

#include "../../transports/transport.h"

struct mutant {
    const char *name;   /* the transport to run (a mutant transport, or a real one) */
    const char *defect; /* one line */
    /* Cells that must fail: "<scenario>" (every cell of it), "<scenario>/<kind>", or either
     * prefixed with "<transport>:" to aim at one transport only. */
    const char *const *must_fail;
};

/* Runs the mutant's cells (report under report_root/<name>) and prints a verdict line.
 * Returns the number of cells whose outcome contradicts the defect. */
size_t selfcheck_mutant(const struct coapmx_registry *registry, const struct mutant *m,
                        const char *report_root);

/* `selfcheck [--report DIR]` over a list of mutants: prints "N passed, N failed". */
int selfcheck_main(const struct coapmx_registry *registry, const struct mutant *mutants,
                   size_t count, int argc, char **argv);

#endif
