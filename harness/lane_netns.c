/* The real-kernel lane: each cell gets two network namespaces of its own, the transport under
 * test in one and the reference peer in the other, joined by a veth pair. Only our own
 * addresses are used (198.51.100.0/24 is TEST-NET-2, fd53:6d78::/64 a ULA). This is where
 * dual-stack sockets, v4-mapped addresses, multicast, ICMP errors and real packet info exist.
 *
 * The namespaces are built in the cell's own process over rtnetlink (harness/netlink.c), before
 * it execs the cell, and they have no names: the cell lives in the transport's, and holds the
 * peer's by a descriptor its peer inherits. So they go when the cell's processes go, however
 * they end (a crash, a timeout, a killed runner), and every cell starts from a namespace that
 * has never held anything else. Building the pair takes about a millisecond; forking `ip` for
 * it took about 270. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iut.h"
#include "lane.h"
#include "netlink.h"

#define CLIENT_IF   "cmx-c"
#define PEER_IF     "cmx-p"
#define PEER_FD_ENV "COAPMX_NETNS_PEER_FD"
#define LINK_UP_MS  5000 /* the kernel's work queues on a loaded machine, and then some */

static bool netns_available(const struct lane *lane, char *why, size_t why_cap)
{
    (void)lane;
    if (geteuid() != 0) {
        snprintf(why, why_cap,
                 "lane netns needs root (CAP_NET_ADMIN) to create network namespaces");
        return false;
    }
    return true;
}

/* Fixed, locally administered hardware addresses, so that each end knows the other's. */
static const unsigned char client_mac[6] = {0x02, 0x63, 0x6d, 0x78, 0x00, 0x20};
static const unsigned char peer_mac[6] = {0x02, 0x63, 0x6d, 0x78, 0x00, 0x10};

/* One end of the link: loopback up, the link up, its addresses, the other end's addresses as
 * permanent neighbours, a route for IPv4 groups (IPv6 multicast routes come with the link).
 * With no address resolution, a datagram leaves the moment it is sent, and no cell waits on
 * (or counts, linkframes.h) ARP or neighbour discovery under way. */
static int configure_end(const char *ifname, const char *const *addresses,
                         const char *const *neighbours, const unsigned char *neighbour_mac)
{
    struct nl *nl = nl_open();
    int rc = nl == NULL || nl_link_up(nl, "lo") || nl_link_up(nl, ifname) ? -1 : 0;
    for (size_t i = 0; rc == 0 && addresses[i] != NULL; i++)
        rc = nl_addr_add(nl, ifname, addresses[i], strchr(addresses[i], ':') ? 64 : 24);
    for (size_t i = 0; rc == 0 && neighbours[i] != NULL; i++)
        rc = nl_neigh_add(nl, ifname, neighbours[i], neighbour_mac);
    if (rc == 0)
        rc = nl_route_add(nl, ifname, "224.0.0.0", 4);
    nl_close(nl);
    return rc;
}

/* The kernel finishes setting an end up in its work queues, which a loaded machine runs late:
 * the link gets its queue (until then every frame sent is dropped without an error) and each
 * IPv6 address its local route (until then a datagram to it is dropped on arrival). */
static int end_ready(const char *ifname, const char *const *addresses)
{
    return nl_link_wait_running(ifname, LINK_UP_MS) ||
                   nl_addr_wait_local(ifname, addresses, LINK_UP_MS)
               ? -1
               : 0;
}

/* In the runner's child: a fresh namespace for the cell, and one for its peer whose descriptor
 * the cell's processes inherit (the only reference to it). */
static int netns_enter_cell(const struct lane *lane, const char *scratch, const char *local_pcap,
                            const char *instance)
{
    (void)scratch;
    (void)local_pcap; /* the peer captures the one link for both ends */
    (void)instance;   /* nothing is named: nothing can clash or be left */
    int peer = nl_netns_new();
    if (peer < 0 || unshare(CLONE_NEWNET) != 0) {
        if (peer >= 0)
            fprintf(stderr, "netns lane: cannot create a network namespace: %s\n", strerror(errno));
        return -1;
    }
    int client = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const char *const client_addresses[] = {lane->client_v4, lane->client_v6, lane->client_v6_link,
                                            NULL};
    const char *const peer_addresses[] = {lane->peer_v4,     lane->stranger_v4,  lane->peer_v6,
                                          lane->stranger_v6, lane->peer_v6_link, NULL};
    struct nl *nl = nl_open();
    int rc =
        client < 0 || nl == NULL || nl_veth_add(nl, CLIENT_IF, client_mac, PEER_IF, peer_mac, peer)
            ? -1
            : 0;
    nl_close(nl);
    if (rc == 0)
        rc = configure_end(CLIENT_IF, client_addresses, peer_addresses, peer_mac);
    if (rc == 0)
        rc = nl_netns_enter(peer) ||
                     configure_end(PEER_IF, peer_addresses, client_addresses, client_mac) ||
                     end_ready(PEER_IF, peer_addresses) || nl_netns_enter(client) ||
                     end_ready(CLIENT_IF, client_addresses)
                 ? -1
                 : 0;
    if (client >= 0)
        close(client);
    char fd_text[16];
    snprintf(fd_text, sizeof fd_text, "%d", peer);
    /* The peer's namespace must survive the exec into the cell. */
    if (rc != 0 || fcntl(peer, F_SETFD, 0) != 0)
        return -1;
    return setenv(PEER_FD_ENV, fd_text, 1) != 0 ? -1 : 0;
}

static int netns_prepare_runner(const struct lane *lane)
{
    unsetenv("SOCKET_WRAPPER_DIR");
    unsetenv("SOCKET_WRAPPER_PCAP_FILE");
    /* Host names still come from our hosts file only, never from DNS. */
    return lane_set_preload(COAPMX_NSS_WRAPPER_SO) ||
                   setenv("NSS_WRAPPER_HOSTS", lane->hosts_file, 1)
               ? -1
               : 0;
}

static void netns_nothing_to_warm(const struct lane *lane)
{
    (void)lane;
}

static int netns_enter_peer(const struct lane *lane, const char *peer_pcap)
{
    (void)lane;
    (void)peer_pcap;
    const char *fd = getenv(PEER_FD_ENV);
    return fd != NULL ? nl_netns_enter(atoi(fd)) : -1;
}

static void netns_nothing_to_clean(const struct lane *lane, const char *instance)
{
    (void)lane;
    (void)instance; /* the namespaces went with the cell's processes */
}

static void netns_nothing_to_clean_up_after(const struct lane *lane)
{
    (void)lane; /* a dead runner's cells died with it (parent-death signal), and so did their
                 * namespaces */
}

static size_t netns_process_sockets(const struct lane *lane, int pid, struct iut_socket *out,
                                    size_t max)
{
    (void)lane;
    return iut_proc_udp_sockets(pid, out, max);
}

const struct lane lane_netns = {
    .name = "netns",
    .client_ifname = CLIENT_IF,
    .peer_ifname = PEER_IF,
    .peer_v4 = "198.51.100.10",
    .peer_v6 = "fd53:6d78::10",
    .stranger_v4 = "198.51.100.11",
    .stranger_v6 = "fd53:6d78::11",
    .client_v4 = "198.51.100.20",
    .client_v6 = "fd53:6d78::20",
    .peer_v6_link = "fe80::5357:10", /* beside the kernel's own, on our own veth pair */
    .client_v6_link = "fe80::5357:20",
    .hosts_file = COAPMX_FIXTURES_DIR "/hosts.netns",
    .has_multicast = true,
    .has_dualstack = true,
    .has_icmp = true,
    .has_exclusive_bind = true,
    /* A veth hands frames on in softirq processing, which runs late under load: the cell counts
     * them at both ends until none is under way (linkframes.h); this is for the moment between
     * a frame's count and its arrival in a socket. */
    .idle_grace_ms = 5,
    .shared_capture = true,
    .available = netns_available,
    .prepare_runner = netns_prepare_runner,
    .warm_runner = netns_nothing_to_warm,
    .enter_cell = netns_enter_cell,
    .enter_peer = netns_enter_peer,
    .cleanup = netns_nothing_to_clean,
    .reap_stale = netns_nothing_to_clean_up_after,
    .process_sockets = netns_process_sockets,
    .sees_socket_details = true,
};
