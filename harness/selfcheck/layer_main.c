/* A build of coapmx whose shared message layer is deliberately wrong (one of layer_*.c, each
 * defining layer_mutant): `selfcheck` runs every real transport on it and checks that exactly
 * the cells aimed at the defect fail. */
#include <string.h>

#include "../main.h"
#include "check.h"

extern const char *const layer_mutant_defect;
extern const char *const *const layer_mutant_must_fail;

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "selfcheck") == 0) {
        size_t n = coapmx_registry.count;
        struct mutant checks[8];
        for (size_t i = 0; i < n && i < 8; i++)
            checks[i] = (struct mutant){coapmx_registry.transports[i]->name, layer_mutant_defect,
                                        layer_mutant_must_fail};
        return selfcheck_main(&coapmx_registry, checks, n, argc - 2, argv + 2);
    }
    return coapmx_main(argc, argv, &coapmx_registry);
}
