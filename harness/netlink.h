/* Network namespaces and their links, addresses and routes, built in-process over rtnetlink
 * (libmnl): what the netns lane used to fork `ip` for, 19 times a cell. Every function reports
 * a failure on stderr, naming the step and the kernel's reason, and returns -1. */
#ifndef COAPMX_NETLINK_H
#define COAPMX_NETLINK_H

#include <stdbool.h>

struct nl;

/* A new network namespace, held by the returned descriptor only (close it and the namespace
 * goes, with its links). The calling thread stays where it was. */
int nl_netns_new(void);
/* Moves the calling thread into the namespace of `netns_fd`. */
int nl_netns_enter(int netns_fd);

/* An rtnetlink socket talking to the namespace the calling thread is in. */
struct nl *nl_open(void);
void nl_close(struct nl *nl);

/* A veth pair: `name` here with hardware address `mac`, `peer_name` with `peer_mac` in the
 * namespace of `peer_netns_fd`. */
int nl_veth_add(struct nl *nl, const char *name, const unsigned char mac[6], const char *peer_name,
                const unsigned char peer_mac[6], int peer_netns_fd);
int nl_link_up(struct nl *nl, const char *ifname);
/* Waits (up to timeout_ms) until ifname is running: the kernel's link watch has seen its carrier
 * and given it a queue. Until then every frame it is asked to send is dropped without a word
 * (the noop queue discipline), and the link watch runs late on a loaded machine. */
int nl_link_wait_running(const char *ifname, int timeout_ms);
/* Waits (up to timeout_ms) until the kernel takes every literal (NULL-ended) as its own on
 * ifname: an IPv6 address gets its local route in the kernel's address work, after it was
 * added, and until then a datagram to it is dropped on arrival (the work runs late on a loaded
 * machine). */
int nl_addr_wait_local(const char *ifname, const char *const *literals, int timeout_ms);
/* An address literal with its prefix length on ifname, without duplicate address detection. */
int nl_addr_add(struct nl *nl, const char *ifname, const char *literal, unsigned prefix);
/* A permanent neighbour entry on ifname: the address literal is at hardware address mac, and
 * no ARP or neighbour solicitation is ever sent for it. */
int nl_neigh_add(struct nl *nl, const char *ifname, const char *literal,
                 const unsigned char mac[6]);
/* A directly connected route to literal/prefix through ifname. */
int nl_route_add(struct nl *nl, const char *ifname, const char *literal, unsigned prefix);

/* Writes a sysctl of the calling thread's namespace, e.g. "net/ipv4/icmp_ratelimit". */
int nl_sysctl(const char *name, const char *value);

#endif
