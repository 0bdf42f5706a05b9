/* What every lane shares: the list of lanes, what a lane can carry, the preload setup. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"
#include "lane.h"

int lane_set_preload(const char *libraries)
{
    char preload[1024];
#ifdef COAPMX_SANITIZE
    /* The sanitizer runtime refuses RTLD_DEEPBIND, which the wrappers use by default. A leak or
     * an error must fail the cell: LeakSanitizer exits non-zero after the cell wrote its
     * result, and the runner checks the exit code. */
    if (setenv("SOCKET_WRAPPER_DISABLE_DEEPBIND", "1", 1) != 0 ||
        setenv("NSS_WRAPPER_DISABLE_DEEPBIND", "1", 1) != 0 ||
        setenv("ASAN_OPTIONS",
               "detect_leaks=1:halt_on_error=1:exitcode=" CELL_CHECKER_EXIT_CODE_STR, 1) != 0 ||
        setenv("UBSAN_OPTIONS",
               "print_stacktrace=1:halt_on_error=1:exitcode=" CELL_CHECKER_EXIT_CODE_STR, 1) != 0)
        return -1;
#endif
    /* gcc's shared sanitizer runtime goes first (COAPMX_SANITIZER_PRELOAD), as ASan checks. */
    snprintf(preload, sizeof preload, "%s%s", COAPMX_SANITIZER_PRELOAD, libraries);
    if (setenv("LD_PRELOAD", preload, 1) != 0) {
        fprintf(stderr, "coapmx: setenv LD_PRELOAD: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static const struct lane *const all_lanes[] = {&lane_swrap, &lane_netns};

const struct lane *const *lane_all(size_t *count)
{
    *count = sizeof all_lanes / sizeof all_lanes[0];
    return all_lanes;
}

const struct lane *lane_find(const char *name)
{
    size_t n;
    const struct lane *const *lanes = lane_all(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(lanes[i]->name, name) == 0)
            return lanes[i];
    return NULL;
}

bool lane_can_carry(const struct lane *lane, const struct coapmx_profile *profile,
                    const struct address_kind *kind, int wire_family, char *why, size_t why_cap)
{
    /* A transport that refuses groups sends nothing, so any lane shows the refusal. */
    if (kind->cls == KIND_GROUP && profile->multicast && !lane->has_multicast) {
        snprintf(why, why_cap,
                 "lane %s has no multicast (socket_wrapper: sends to groups fail with "
                 "ENETUNREACH and are not captured)",
                 lane->name);
        return false;
    }
    if (kind->cls == KIND_LINK_LOCAL && lane->peer_v6_link == NULL) {
        snprintf(why, why_cap,
                 "lane %s has no link-local addresses (socket_wrapper: binding or sending to "
                 "fe80:: fails)",
                 lane->name);
        return false;
    }
    if (kind->cls == KIND_MAPPED && !lane->has_dualstack) {
        snprintf(why, why_cap,
                 "lane %s has no v4-mapped addresses (socket_wrapper: sends to ::ffff:a.b.c.d "
                 "fail with ENETUNREACH)",
                 lane->name);
        return false;
    }
    if (wire_family == AF_INET && profile->needs_dualstack_for_v4 && !lane->has_dualstack) {
        snprintf(why, why_cap,
                 "lane %s has no dual-stack sockets (socket_wrapper: a v4 peer cannot reach a "
                 "[::] socket), and this transport reaches IPv4 only through one",
                 lane->name);
        return false;
    }
    return true;
}
