#include "netlink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct nl {
    struct mnl_socket *sock;
    unsigned seq, portid;
    char buf[8192]; /* MNL_SOCKET_BUFFER_SIZE at most */
};

static int report(const char *what, const char *detail)
{
    fprintf(stderr, "netns lane: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "",
            strerror(errno));
    return -1;
}

int nl_netns_new(void)
{
    int here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (here < 0)
        return report("cannot open the current network namespace", NULL);
    int fd = -1;
    if (unshare(CLONE_NEWNET) != 0)
        report("cannot create a network namespace", NULL);
    else if ((fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
        report("cannot open the new network namespace", NULL);
    if (setns(here, CLONE_NEWNET) != 0) {
        report("cannot return to the network namespace it was in", NULL);
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    close(here);
    return fd;
}

int nl_netns_enter(int netns_fd)
{
    return setns(netns_fd, CLONE_NEWNET) == 0 ? 0
                                              : report("cannot enter a network namespace", NULL);
}

struct nl *nl_open(void)
{
    struct nl *nl = calloc(1, sizeof *nl);
    if (nl == NULL)
        return report("out of memory", NULL), NULL;
    nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (nl->sock == NULL || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) != 0) {
        report("cannot open an rtnetlink socket", NULL);
        nl_close(nl);
        return NULL;
    }
    nl->portid = mnl_socket_get_portid(nl->sock);
    nl->seq = (unsigned)time(NULL);
    return nl;
}

void nl_close(struct nl *nl)
{
    if (nl == NULL)
        return;
    if (nl->sock != NULL)
        mnl_socket_close(nl->sock);
    free(nl);
}

static struct nlmsghdr *start(struct nl *nl, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
    nlh->nlmsg_seq = ++nl->seq;
    return nlh;
}

/* Sends the request and waits for the kernel's acknowledgement. */
static int transact(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t answer, void *data,
                    const char *what, const char *detail)
{
    if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
        return report(what, detail);
    int rc;
    do {
        ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof nl->buf);
        if (n < 0)
            return report(what, detail);
        rc = mnl_cb_run(nl->buf, (size_t)n, nl->seq, nl->portid, answer, data);
    } while (rc == MNL_CB_OK);
    return rc < 0 ? report(what, detail) : 0;
}

static int index_of(const char *ifname)
{
    unsigned index = if_nametoindex(ifname);
    if (index == 0)
        return report("no interface", ifname);
    return (int)index;
}

int nl_veth_add(struct nl *nl, const char *name, const unsigned char mac[6], const char *peer_name,
                const unsigned char peer_mac[6], int peer_netns_fd)
{
    struct nlmsghdr *nlh = start(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
    struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    /* The peer's own link message header, then its attributes. */
    struct ifinfomsg *peer_ifi = (struct ifinfomsg *)((char *)nlh + nlh->nlmsg_len);
    memset(peer_ifi, 0, sizeof *peer_ifi);
    nlh->nlmsg_len += MNL_ALIGN(sizeof *peer_ifi);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
    mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
    mnl_attr_nest_end(nlh, peer);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return transact(nl, nlh, NULL, NULL, "cannot create the veth pair", name);
}

/* A request about the link ifname: its header, or NULL (reported) when there is no such link. */
static struct ifinfomsg *link_request(struct nl *nl, uint16_t type, const char *ifname,
                                      struct nlmsghdr **nlh)
{
    int index = index_of(ifname);
    if (index < 0)
        return NULL;
    *nlh = start(nl, type, 0);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(*nlh, sizeof *ifi);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = index;
    return ifi;
}

int nl_link_up(struct nl *nl, const char *ifname)
{
    struct nlmsghdr *nlh;
    struct ifinfomsg *ifi = link_request(nl, RTM_NEWLINK, ifname, &nlh);
    if (ifi == NULL)
        return -1;
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    return transact(nl, nlh, NULL, NULL, "cannot bring up", ifname);
}

/* Waits, up to timeout_ms, until ready() says so (1; -1: it failed), asking again whenever the
 * kernel announces a change in one of `groups`: subscribed before the first ask, so that no
 * change can fall between an answer and the wait. */
static int wait_until(unsigned groups, int (*ready)(struct nl *nl, const void *arg),
                      const void *arg, int timeout_ms, const char *what, const char *detail)
{
    struct nl *ask = nl_open();
    struct mnl_socket *watch = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
    int rc =
        ask == NULL || watch == NULL || mnl_socket_bind(watch, groups, MNL_SOCKET_AUTOPID) ? -1 : 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int left = timeout_ms; rc == 0 && (rc = ready(ask, arg)) == 0 && left > 0;) {
        struct pollfd pfd = {.fd = mnl_socket_get_fd(watch), .events = POLLIN};
        if (poll(&pfd, 1, left) > 0)
            while (mnl_socket_recvfrom(watch, ask->buf, sizeof ask->buf) > 0)
                ; /* what changed does not matter: ready() asks */
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout_ms -
               (int)((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
    }
    if (watch != NULL)
        mnl_socket_close(watch);
    nl_close(ask);
    if (rc == 1)
        return 0;
    if (rc == 0)
        errno = ETIMEDOUT;
    return report(what, detail);
}

static int note_running(const struct nlmsghdr *nlh, void *data)
{
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_type == RTM_NEWLINK)
        *(bool *)data = (ifi->ifi_flags & IFF_RUNNING) != 0;
    return MNL_CB_OK;
}

static int link_running(struct nl *nl, const void *arg)
{
    struct nlmsghdr *nlh;
    if (link_request(nl, RTM_GETLINK, arg, &nlh) == NULL)
        return -1;
    bool running = false;
    return transact(nl, nlh, note_running, &running, "cannot ask about the link", arg) != 0
               ? -1
               : running;
}

int nl_link_wait_running(const char *ifname, int timeout_ms)
{
    return wait_until(RTMGRP_LINK, link_running, ifname, timeout_ms,
                      "the link did not start running", ifname);
}

static int parse_address(const char *literal, int *family, unsigned char *bytes)
{
    if (inet_pton(AF_INET, literal, bytes) == 1) {
        *family = AF_INET;
        return 4;
    }
    if (inet_pton(AF_INET6, literal, bytes) == 1) {
        *family = AF_INET6;
        return 16;
    }
    errno = EINVAL;
    return report("not an address literal:", literal);
}

/* An address literal and the interface a request puts it on. */
struct on_link {
    unsigned char bytes[16];
    int family, len, index;
};

static bool link_local(const struct on_link *a)
{
    return a->family == AF_INET6 && a->bytes[0] == 0xfe && (a->bytes[1] & 0xc0) == 0x80;
}

static int address_on(const char *ifname, const char *literal, struct on_link *a)
{
    a->len = parse_address(literal, &a->family, a->bytes);
    a->index = index_of(ifname);
    return a->len < 0 || a->index < 0 ? -1 : 0;
}

int nl_addr_add(struct nl *nl, const char *ifname, const char *literal, unsigned prefix)
{
    struct on_link a;
    if (address_on(ifname, literal, &a) != 0)
        return -1;
    struct nlmsghdr *nlh = start(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof *ifa);
    ifa->ifa_family = (unsigned char)a.family;
    ifa->ifa_prefixlen = (unsigned char)prefix;
    ifa->ifa_flags = IFA_F_NODAD | IFA_F_PERMANENT;
    ifa->ifa_scope = link_local(&a) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)a.index;
    mnl_attr_put(nlh, IFA_LOCAL, (size_t)a.len, a.bytes);
    mnl_attr_put(nlh, IFA_ADDRESS, (size_t)a.len, a.bytes);
    return transact(nl, nlh, NULL, NULL, "cannot add the address", literal);
}

int nl_neigh_add(struct nl *nl, const char *ifname, const char *literal, const unsigned char mac[6])
{
    struct on_link a;
    if (address_on(ifname, literal, &a) != 0)
        return -1;
    struct nlmsghdr *nlh = start(nl, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL);
    struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);
    ndm->ndm_family = (unsigned char)a.family;
    ndm->ndm_ifindex = a.index;
    ndm->ndm_state = NUD_PERMANENT;
    mnl_attr_put(nlh, NDA_DST, (size_t)a.len, a.bytes);
    mnl_attr_put(nlh, NDA_LLADDR, 6, mac);
    return transact(nl, nlh, NULL, NULL, "cannot add the neighbour", literal);
}

int nl_route_add(struct nl *nl, const char *ifname, const char *literal, unsigned prefix)
{
    struct on_link a;
    if (address_on(ifname, literal, &a) != 0)
        return -1;
    struct nlmsghdr *nlh = start(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
    rtm->rtm_family = (unsigned char)a.family;
    rtm->rtm_dst_len = (unsigned char)prefix;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_BOOT;
    rtm->rtm_scope = RT_SCOPE_LINK;
    rtm->rtm_type = RTN_UNICAST;
    mnl_attr_put(nlh, RTA_DST, (size_t)a.len, a.bytes);
    mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)a.index);
    return transact(nl, nlh, NULL, NULL, "cannot add the route to", literal);
}

static int note_local(const struct nlmsghdr *nlh, void *data)
{
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    if (nlh->nlmsg_type == RTM_NEWROUTE)
        *(bool *)data = rtm->rtm_type == RTN_LOCAL;
    return MNL_CB_OK;
}

struct own_addresses {
    const char *ifname;
    const char *const *literals;
};

/* Whether the kernel routes each literal to itself (`ip route get` says "local"). */
static int all_local(struct nl *nl, const void *arg)
{
    const struct own_addresses *own = arg;
    for (size_t i = 0; own->literals[i] != NULL; i++) {
        struct on_link a;
        if (address_on(own->ifname, own->literals[i], &a) != 0)
            return -1;
        struct nlmsghdr *nlh = start(nl, RTM_GETROUTE, 0);
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof *rtm);
        rtm->rtm_family = (unsigned char)a.family;
        rtm->rtm_dst_len = (unsigned char)(a.len * 8);
        mnl_attr_put(nlh, RTA_DST, (size_t)a.len, a.bytes);
        if (link_local(&a))
            mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)a.index); /* scoped to its link */
        bool local = false;
        if (transact(nl, nlh, note_local, &local, "cannot look up the route to", own->literals[i]))
            return -1;
        if (!local)
            return 0;
    }
    return 1;
}

int nl_addr_wait_local(const char *ifname, const char *const *literals, int timeout_ms)
{
    struct own_addresses own = {ifname, literals};
    return wait_until(RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV6_IFADDR, all_local, &own,
                      timeout_ms, "an address did not become this host's own on", ifname);
}

int nl_sysctl(const char *name, const char *value)
{
    char path[256];
    snprintf(path, sizeof path, "/proc/sys/%s", name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t len = strlen(value);
    bool ok = fd >= 0 && write(fd, value, len) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : report("cannot set", name);
}
