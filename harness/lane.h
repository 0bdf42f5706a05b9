/* A lane is the network a cell runs on. The socket_wrapper lane (lane_swrap.c) emulates hosts
 * in user space; a real-kernel lane follows in lane_netns.c. Scenarios never read lane names,
 * only the addresses and capabilities below. */
#ifndef COAPMX_LANE_H
#define COAPMX_LANE_H

#include <stdbool.h>
#include <stddef.h>

#include "../transports/transport.h"
#include "kinds.h"

struct lane {
    const char *name;
    const char *peer_v4, *peer_v6;         /* the reference peer */
    const char *stranger_v4, *stranger_v6; /* a host the transport never addressed */
    const char *client_v4, *client_v6;     /* where the transport under test lives */
    const char *hosts_file;                /* fixtures/, for nss_wrapper */
    bool has_multicast;
    bool has_dualstack; /* a [::] socket reaches IPv4 peers through v4-mapped addresses */
    bool has_icmp;
    /* In the runner's child, before exec'ing the cell: the cell's environment. `scratch` is an
     * empty directory with a short path (AF_UNIX paths are limited to 108 bytes), removed by
     * the runner after the cell. */
    int (*enter_cell)(const struct lane *lane, const char *scratch, const char *local_pcap);
    /* In the cell's peer child, before exec'ing the peer. */
    int (*enter_peer)(const struct lane *lane, const char *peer_pcap);
};

extern const struct lane lane_swrap;

const struct lane *lane_find(const char *name);
const struct lane *const *lane_all(size_t *count);

/* Whether this lane can carry the traffic of transport `profile` to address kind `kind`, whose
 * datagrams leave as `wire_family` (0: unknown); when not, why (a skip reason). */
bool lane_can_carry(const struct lane *lane, const struct coapmx_profile *profile,
                    const struct address_kind *kind, int wire_family, char *why, size_t why_cap);

#endif
