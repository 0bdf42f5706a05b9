/* A lane is the network a cell runs on. The socket_wrapper lane (lane_swrap.c) emulates hosts
 * in user space; a real-kernel lane follows in lane_netns.c. Scenarios never read lane names,
 * only the addresses and capabilities below. */
#ifndef COAPMX_LANE_H
#define COAPMX_LANE_H

#include <stdbool.h>
#include <stddef.h>

#include "../transports/transport.h"
#include "kinds.h"

struct iut_socket;

struct lane {
    const char *name;
    /* NULL: no real interfaces (no live capture, no frames to count: linkframes.h) */
    const char *client_ifname, *peer_ifname;
    const char *peer_v4, *peer_v6;         /* the reference peer */
    const char *stranger_v4, *stranger_v6; /* a host the transport never addressed */
    const char *client_v4, *client_v6;     /* where the transport under test lives */
    /* Link-local IPv6 addresses of the peer and the client (NULL: the lane has none). */
    const char *peer_v6_link, *client_v6_link;
    const char *hosts_file; /* fixtures/, for nss_wrapper */
    bool has_multicast;
    bool has_dualstack; /* a [::] socket reaches IPv4 peers through v4-mapped addresses */
    bool has_icmp;
    /* A second bind to an address and port in use fails with EADDRINUSE. */
    bool has_exclusive_bind;
    /* Real time a cell's virtual clock waits before each jump, once nothing is on its way
     * (cell_peer_sync), for an arrival to reach its socket (loop.h). */
    int idle_grace_ms;
    /* The peer's capture is the only one: both ends see one link (cell_local_wire reads it). */
    bool shared_capture;
    /* Whether this machine can run the lane; if not, why (cells are skipped with it). */
    bool (*available)(const struct lane *lane, char *why, size_t why_cap);
    /* Before the process that runs the lane's cells is exec'd (a lane runner, or one cell
     * under --wrap): what every cell of the lane shares, such as the preloaded wrappers and
     * the hosts file, which a preloaded library reads only once. */
    int (*prepare_runner)(const struct lane *lane);
    /* In the lane runner once, after that exec: whatever every cell would otherwise set up for
     * itself and can inherit instead (socket_wrapper's tables). */
    void (*warm_runner)(const struct lane *lane);
    /* In the runner's child, before it runs the cell: the cell's own network and environment.
     * `scratch` is an empty directory with a short path (AF_UNIX paths are limited to 108
     * bytes), removed by the runner after the cell; `instance` names this run of the cell
     * uniquely on the machine ("<runner pid>x<slot>"). */
    int (*enter_cell)(const struct lane *lane, const char *scratch, const char *local_pcap,
                      const char *instance);
    /* In the cell's peer child, before exec'ing the peer. */
    int (*enter_peer)(const struct lane *lane, const char *peer_pcap);
    /* In the runner, after the cell's processes are gone, even if it crashed. */
    void (*cleanup)(const struct lane *lane, const char *instance);
    /* In the runner, before any cell: removes what runners that died left behind. */
    void (*reap_stale)(const struct lane *lane);
    /* The UDP sockets of a process of the cell (a driver's), as this lane's network has them:
     * how many, up to max written. */
    size_t (*process_sockets)(const struct lane *lane, int pid, struct iut_socket *out, size_t max);
    /* process_sockets tells a wildcard bind from a specific one, and shows connected peers. */
    bool sees_socket_details;
};

/* Preloads the wrapper libraries into the cell, in a way the sanitizer builds accept. */
int lane_set_preload(const char *libraries);

extern const struct lane lane_swrap;
extern const struct lane lane_netns;

const struct lane *lane_find(const char *name);
const struct lane *const *lane_all(size_t *count);

/* Whether this lane can carry the traffic of transport `profile` to address kind `kind`, whose
 * datagrams leave as `wire_family` (0: unknown); when not, why (a skip reason). */
bool lane_can_carry(const struct lane *lane, const struct coapmx_profile *profile,
                    const struct address_kind *kind, int wire_family, char *why, size_t why_cap);

#endif
