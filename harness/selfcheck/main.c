/* coapmx-selfcheck: the harness run against deliberately wrong transports. A harness that passes
 * everything proves nothing; this one must fail each mutant at exactly the cells aimed at its
 * defect, and pass it everywhere else. Otherwise this binary is `coapmx` with the mutants as its
 * transports (so the runner can exec its cells). */
#include <string.h>

#include "../cell.h"
#include "../main.h"
#include "check.h"

extern const struct coapmx_transport_ops mutant_netloc_ip_ops;
extern const struct coapmx_transport_ops mutant_wrong_family_ops;
extern const struct coapmx_transport_ops mutant_sends_multicast_ops;
extern const struct coapmx_transport_ops mutant_accepts_any_address_ops;
extern const struct coapmx_transport_ops mutant_crashes_ops;
extern const struct coapmx_transport_ops mutant_hangs_ops;

static const struct mutant mutants[] = {
    {"mutant-netloc-ip", "names remotes by IP literal instead of the requested name",
     KINDS("N3-netloc-name", "N4-default-port/dual.test", "R2-role-reversal/v4.test",
           "R2-role-reversal/dual.test", "B1-blockwise/dual.test")},
    {"mutant-wrong-family", "picks the last address the resolver lists",
     KINDS("F3-dual-v6-first", "F4-dual-v4-first", "F5-no-fallback", "F8-two-addresses")},
    {"mutant-sends-multicast", "does not refuse multicast destinations",
     KINDS("M1-is-multicast", "M2-group-request", "M3-con-to-group")},
    {"mutant-accepts-any-address", "binds the any-address instead of refusing it",
     KINDS("S6-any-address")},
};

/* The crashing and hanging ones exercise the runner's cleanup, not the scenarios: they are
 * runnable cells but not part of `selfcheck`. */
static const struct coapmx_transport_ops *const mutant_ops[] = {
    &mutant_netloc_ip_ops,           &mutant_wrong_family_ops, &mutant_sends_multicast_ops,
    &mutant_accepts_any_address_ops, &mutant_crashes_ops,      &mutant_hangs_ops};
static const struct coapmx_registry mutant_registry = {
    .transports = mutant_ops, .count = sizeof mutant_ops / sizeof mutant_ops[0]};

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "selfcheck") == 0)
        return selfcheck_main(&mutant_registry, mutants, sizeof mutants / sizeof mutants[0],
                              argc - 2, argv + 2);
    return coapmx_main(argc, argv, &mutant_registry);
}
