/* udp6: one shared dual-stack socket (AF_INET6, IPV6_V6ONLY off, IPv4 peers as v4-mapped
 * addresses), read with recvmsg and packet info so every datagram knows its local address.
 * Client and server on the same socket; remotes are IP literals. ICMP errors arrive through
 * the error queue, which is read only when poll reports POLLERR: under socket_wrapper a
 * speculative MSG_ERRQUEUE read consumes an ordinary datagram. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "transport.h"

/* The last peer named and the last local address named: datagrams come in runs from one peer,
 * and formatting a name costs more than the rest of receiving it. */
struct udp6_names {
    bool have_peer, have_local;
    struct sockaddr_in6 peer;
    struct in6_addr local;
    struct coapmx_remote remote; /* hostinfo, key, is_multicast of peer */
    char hostinfo_local[COAPMX_HOSTINFO_MAX];
    bool local_is_multicast;
};

struct udp6 {
    struct coapmx_transport *t;
    int fd;
    uint16_t bound_port;
    struct udp6_names names;
    uint8_t *rx_buffer;
    size_t rx_size;
    unsigned dispatching; /* read callbacks on the stack */
    bool closed;          /* shut down; freed when no callback is on the stack */
};

static const struct coapmx_profile udp6_profile = {
    .roles = COAPMX_ROLES_CLIENT_SERVER,
    .netloc = COAPMX_NETLOC_IP_LITERAL,
    .family = COAPMX_FAMILY_V6_FIRST,
    .sockets = COAPMX_SOCKET_SHARED_DUALSTACK,
    .mapped = COAPMX_MAPPED_DOTTED_QUAD,
    .local = COAPMX_LOCAL_FROM_PKTINFO,
    .multicast = true,
    .accepts_strangers = true,
    .client_sockets_at_open = 1,
    .socket_per_spelling = false,
    .needs_dualstack_for_v4 = true,
    .icmp_errors = true,
    .binds_explicitly = false,
    .binds_names = false,
};

/* Everything reaches the socket as AF_INET6; IPv4 becomes ::ffff:a.b.c.d. */
static void as_inet6(const struct sockaddr_storage *in, struct sockaddr_in6 *out)
{
    if (in->ss_family == AF_INET)
        coapmx_sockaddr_to_mapped((const struct sockaddr_in *)in, out);
    else
        memcpy(out, in, sizeof *out);
}

static int describe(struct udp6 *u, const struct sockaddr_in6 *peer, struct coapmx_remote *r)
{
    memset(&r->addr, 0, sizeof r->addr);
    memcpy(&r->addr, peer, sizeof *peer);
    r->addr_len = sizeof *peer;
    struct udp6_names *n = &u->names;
    if (n->have_peer && memcmp(&n->peer, peer, sizeof *peer) == 0) {
        r->is_multicast = n->remote.is_multicast;
        strcpy(r->hostinfo, n->remote.hostinfo);
        strcpy(r->key, n->remote.key);
        return 0;
    }
    r->is_multicast = coapmx_sockaddr_is_multicast((const struct sockaddr *)peer);
    if (coapmx_hostinfo_of((const struct sockaddr *)peer, true, r->hostinfo, sizeof r->hostinfo) !=
        0)
        return -1;
    strcpy(r->key, r->hostinfo);
    n->peer = *peer;
    n->remote.is_multicast = r->is_multicast;
    strcpy(n->remote.hostinfo, r->hostinfo);
    strcpy(n->remote.key, r->key);
    n->have_peer = true;
    return 0;
}

static int udp6_resolve(struct coapmx_transport *t, const char *host, uint16_t port,
                        struct coapmx_remote *out, struct coapmx_error *err)
{
    struct sockaddr_storage addrs[COAPMX_ADDR_MAX_RESULTS], *chosen = NULL;
    int count = coapmx_resolve_all(host, port, addrs, COAPMX_ADDR_MAX_RESULTS, err);
    if (count < 0)
        return -1;
    /* IPv6 results are always tried first, whatever order the resolver gave. */
    for (int i = 0; i < count && chosen == NULL; i++)
        if (addrs[i].ss_family == AF_INET6)
            chosen = &addrs[i];
    if (chosen == NULL)
        chosen = &addrs[0];
    struct sockaddr_in6 peer;
    as_inet6(chosen, &peer);
    if (describe(t->priv, &peer, out) != 0)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "cannot format the address of %s", host);
    out->transport = t;
    return 0;
}

static int udp6_send(struct coapmx_transport *t, const struct coapmx_remote *to, const uint8_t *buf,
                     size_t len, struct coapmx_error *err)
{
    struct udp6 *u = t->priv;
    if (sendto(u->fd, buf, len, 0, (const struct sockaddr *)&to->addr, to->addr_len) < 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "send to %s failed: %s", to->hostinfo,
                           strerror(errno));
    return 0;
}

/* The local address a datagram was sent to, from IPV6_PKTINFO: Linux gives it v4-mapped for
 * IPv4 datagrams on the dual-stack socket too, so IP_PKTINFO is never needed. */
static bool local_address(struct msghdr *msg, struct sockaddr_in6 *local)
{
    memset(local, 0, sizeof *local);
    local->sin6_family = AF_INET6;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            local->sin6_addr = info.ipi6_addr;
            return true;
        }
    }
    return false;
}

static void set_local(struct udp6 *u, struct msghdr *msg, struct coapmx_remote *r)
{
    struct sockaddr_in6 local;
    r->hostinfo_local[0] = '\0';
    if (!local_address(msg, &local))
        return;
    struct udp6_names *n = &u->names;
    if (!n->have_local || memcmp(&n->local, &local.sin6_addr, sizeof n->local) != 0) {
        local.sin6_port = htons(u->bound_port);
        n->local = local.sin6_addr;
        n->local_is_multicast = coapmx_sockaddr_is_multicast((const struct sockaddr *)&local);
        coapmx_hostinfo_of((const struct sockaddr *)&local, true, n->hostinfo_local,
                           sizeof n->hostinfo_local);
        n->have_local = true;
    }
    r->is_multicast_locally = n->local_is_multicast;
    strcpy(r->hostinfo_local, n->hostinfo_local);
}

static void read_error_queue(struct udp6 *u)
{
    struct sockaddr_in6 offender_dst;
    uint8_t control[512], data[64];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    struct msghdr msg = {.msg_name = &offender_dst,
                         .msg_namelen = sizeof offender_dst,
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof control};
    if (recvmsg(u->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0 || !(msg.msg_flags & MSG_ERRQUEUE))
        return;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
        bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
        if (!v6 && !v4)
            continue;
        struct sock_extended_err ee;
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        struct coapmx_remote about = {.transport = u->t};
        struct coapmx_error err;
        describe(u, &offender_dst, &about);
        coapmx_fail(&err, COAPMX_ENETWORK, (int)ee.ee_errno, "%s (ICMP%s type %u code %u) from %s",
                    strerror((int)ee.ee_errno), v6 ? "v6" : "", ee.ee_type, ee.ee_code,
                    about.hostinfo);
        u->t->upper.error(u->t->upper.arg, &about, &err);
        if (u->closed)
            return;
    }
}

/* Reads one datagram; false when nothing more is queued. */
static bool read_datagram(struct udp6 *u)
{
    struct sockaddr_in6 peer;
    uint8_t control[256];
    struct iovec iov = {.iov_base = u->rx_buffer, .iov_len = u->rx_size};
    struct msghdr msg = {.msg_name = &peer,
                         .msg_namelen = sizeof peer,
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof control};
    ssize_t n = recvmsg(u->fd, &msg, MSG_DONTWAIT);
    if (n < 0)
        return false;
    if (msg.msg_flags & MSG_TRUNC) {
        u->t->stats.dropped_truncated++;
        return true;
    }
    struct coapmx_remote from = {.transport = u->t};
    if (peer.sin6_family != AF_INET6 || describe(u, &peer, &from) != 0)
        return true;
    set_local(u, &msg, &from);
    u->t->stats.datagrams_received++;
    u->t->upper.datagram(u->t->upper.arg, &from, u->rx_buffer, (size_t)n);
    return true;
}

static void udp6_free(struct udp6 *u);

static void on_ready(void *arg, int fd, short revents)
{
    struct udp6 *u = arg;
    (void)fd;
    u->dispatching++;
    if (revents & POLLERR)
        read_error_queue(u);
    /* A callback may shut the transport down: then u is only marked closed. */
    while ((revents & POLLIN) && !u->closed && read_datagram(u))
        ;
    if (--u->dispatching == 0 && u->closed)
        udp6_free(u);
}

static int set_option(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value);
}

static int bind_address(const struct coapmx_transport_config *c, struct sockaddr_in6 *addr)
{
    struct sockaddr_storage literal;
    uint16_t port = c->role == COAPMX_ROLE_SERVER && c->bind_port == 0 ? 5683 : c->bind_port;
    memset(addr, 0, sizeof *addr);
    addr->sin6_family = AF_INET6;
    addr->sin6_port = htons(port);
    if (c->bind_host == NULL)
        return 0;
    if (coapmx_sockaddr_from_literal(c->bind_host, port, &literal) != 0)
        return -1;
    as_inet6(&literal, addr);
    return 0;
}

/* Joins every All-CoAP-Nodes group on one interface; IPv4 groups through the v4-mapped side of
 * the dual-stack socket. */
static int join_groups(struct udp6 *u, const char *ifname, struct coapmx_error *err)
{
    unsigned ifindex = if_nametoindex(ifname);
    if (ifindex == 0)
        return coapmx_fail(err, COAPMX_EINVAL, errno, "no interface %s to join groups on: %s",
                           ifname, strerror(errno));
    for (size_t i = 0; i < coapmx_all_coap_nodes_count; i++) {
        struct sockaddr_storage g;
        const char *group = coapmx_all_coap_nodes[i];
        coapmx_sockaddr_from_literal(group, 0, &g);
        int rc;
        if (g.ss_family == AF_INET) {
            struct ip_mreqn m = {.imr_multiaddr = ((struct sockaddr_in *)&g)->sin_addr,
                                 .imr_ifindex = (int)ifindex};
            rc = setsockopt(u->fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
        } else {
            struct ipv6_mreq m = {.ipv6mr_multiaddr = ((struct sockaddr_in6 *)&g)->sin6_addr,
                                  .ipv6mr_interface = ifindex};
            rc = setsockopt(u->fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m);
        }
        if (rc != 0)
            return coapmx_fail(err, COAPMX_ENETWORK, errno, "cannot join %s on %s: %s", group,
                               ifname, strerror(errno));
    }
    return 0;
}

static int open_socket(struct udp6 *u, struct coapmx_error *err)
{
    const struct coapmx_transport_config *c = &u->t->config;
    struct sockaddr_in6 addr;
    if (bind_address(c, &addr) != 0)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "udp6 binds to address literals only, not '%s'",
                           c->bind_host);
    u->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (u->fd < 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "cannot create the udp6 socket: %s",
                           strerror(errno));
    /* IP-level getsockopt fails under socket_wrapper, so only setsockopt results are checked. */
    if (set_option(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, 0) != 0 ||
        set_option(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1) != 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno,
                           "udp6 needs a dual-stack socket with packet info: %s", strerror(errno));
    /* Without these, ICMP errors are missing, but the socket works. */
    (void)set_option(u->fd, IPPROTO_IPV6, IPV6_RECVERR, 1);
    (void)set_option(u->fd, IPPROTO_IP, IP_RECVERR, 1);
    if (bind(u->fd, (const struct sockaddr *)&addr, sizeof addr) != 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "cannot bind udp6 to %s port %u: %s",
                           c->bind_host ? c->bind_host : "::", ntohs(addr.sin6_port),
                           strerror(errno));
    struct sockaddr_in6 bound;
    socklen_t len = sizeof bound;
    if (getsockname(u->fd, (struct sockaddr *)&bound, &len) != 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "getsockname: %s", strerror(errno));
    u->bound_port = ntohs(bound.sin6_port);
    if (c->multicast_interface != NULL && join_groups(u, c->multicast_interface, err) != 0)
        return -1;
    if (coapmx_loop_watch(u->t->loop, u->fd, POLLIN, on_ready, u) != 0) {
        /* LCOV_EXCL_START: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory watching the udp6 socket");
        /* LCOV_EXCL_STOP */
    }
    return 0;
}

static void udp6_close_socket(struct udp6 *u)
{
    if (u->fd >= 0) {
        coapmx_loop_unwatch(u->t->loop, u->fd);
        close(u->fd);
        u->fd = -1;
    }
}

static void udp6_free(struct udp6 *u)
{
    udp6_close_socket(u);
    free(u->rx_buffer);
    free(u);
}

static int udp6_open(struct coapmx_transport *t, struct coapmx_error *err)
{
    struct udp6 *u = calloc(1, sizeof *u);
    if (u == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory opening udp6");
        /* LCOV_EXCL_STOP */
    }
    u->t = t;
    u->fd = -1;
    u->rx_size = coapmx_transport_rx_buffer_size(t);
    if ((u->rx_buffer = malloc(u->rx_size)) == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        udp6_free(u);
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory opening udp6");
        /* LCOV_EXCL_STOP */
    }
    if (open_socket(u, err) != 0) {
        udp6_free(u);
        return -1;
    }
    t->priv = u;
    return 0;
}

static void udp6_hold(struct coapmx_transport *t, const struct coapmx_remote *r)
{
    (void)t;
    (void)r;
}

static size_t udp6_sockets(struct coapmx_transport *t, int *fds, size_t max)
{
    struct udp6 *u = t->priv;
    if (max > 0)
        fds[0] = u->fd;
    return 1;
}

static void udp6_shutdown(struct coapmx_transport *t)
{
    struct udp6 *u = t->priv;
    udp6_close_socket(u);
    t->priv = NULL;
    u->closed = true;
    if (u->dispatching == 0)
        udp6_free(u);
}

const struct coapmx_transport_ops coapmx_udp6_ops = {
    .name = "udp6",
    .profile = &udp6_profile,
    .open = udp6_open,
    .resolve = udp6_resolve,
    .send = udp6_send,
    .hold = udp6_hold,
    .release = udp6_hold, /* nothing to pin: one socket serves every peer */
    .sockets = udp6_sockets,
    .shutdown = udp6_shutdown,
};
