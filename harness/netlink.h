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

/* A veth pair: `name` here, `peer_name` in the namespace of `peer_netns_fd`. */
int nl_veth_add(struct nl *nl, const char *name, const char *peer_name, int peer_netns_fd);
int nl_link_up(struct nl *nl, const char *ifname);
/* An address literal with its prefix length on ifname, without duplicate address detection. */
int nl_addr_add(struct nl *nl, const char *ifname, const char *literal, unsigned prefix);
/* A directly connected route to literal/prefix through ifname. */
int nl_route_add(struct nl *nl, const char *ifname, const char *literal, unsigned prefix);

/* Writes a sysctl of the calling thread's namespace, e.g. "net/ipv4/icmp_ratelimit". */
int nl_sysctl(const char *name, const char *value);

#endif
