/* simplesocketserver: a server with exactly one socket, bound to an explicit unicast address,
 * read with plain recvfrom (no recvmsg, no packet info, no error queue), for platforms where
 * udp6 cannot work. The any-address is refused: without packet info a reply could not leave
 * from the address its request came to. The family follows the bind address; requests it
 * originates go out through the same socket and resolve names in that family only. Remotes are
 * named by the peer's socket address; hostinfo_local is the bind address as configured. An
 * unconnected socket without IP_RECVERR never learns of ICMP errors, so none is surfaced: a
 * request to a closed port retransmits and times out. */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "transport.h"

/* Seams for the harness self-check (harness/selfcheck); production builds use these. */
#ifndef SSS_OPS_SYMBOL
#define SSS_OPS_SYMBOL coapmx_simplesocketserver_ops
#define SSS_NAME       "simplesocketserver"
#endif
#ifndef SSS_REFUSES_ANY_ADDRESS
#define SSS_REFUSES_ANY_ADDRESS 1
#endif

struct sss {
    struct coapmx_transport *t;
    int fd;
    int family;                               /* of the bind address, and so of every peer */
    char local_hostinfo[COAPMX_HOSTINFO_MAX]; /* the bind address as configured, bound port */
    uint8_t *rx_buffer;
    size_t rx_size;
    unsigned dispatching; /* read callbacks on the stack */
    bool closed;          /* shut down; freed when no callback is on the stack */
};

static const struct coapmx_profile sss_profile = {
    .roles = COAPMX_ROLES_SERVER_ONLY,
    .netloc = COAPMX_NETLOC_IP_LITERAL,
    .family = COAPMX_FAMILY_OF_SOCKET,
    .sockets = COAPMX_SOCKET_BOUND_UNCONNECTED,
    .mapped = COAPMX_MAPPED_KEPT,
    .local = COAPMX_LOCAL_CONFIGURED,
    .multicast = false,
    .accepts_strangers = true,
    .client_sockets_at_open = 1,
    .socket_per_spelling = false,
    .needs_dualstack_for_v4 = false,
    .icmp_errors = false,
    .binds_explicitly = true,
    .binds_names = true,
};

static const char *family_name(int family)
{
    return family == AF_INET ? "IPv4" : "IPv6";
}

_Static_assert(COAPMX_HOSTINFO_MAX >= INET6_ADDRSTRLEN + IF_NAMESIZE + sizeof "[%]:65535",
               "any socket address with its zone and port fits a hostinfo");

static void describe(struct sss *s, const struct sockaddr_storage *peer, struct coapmx_remote *r)
{
    r->transport = s->t;
    r->addr = *peer;
    r->addr_len = coapmx_sockaddr_len((const struct sockaddr *)peer);
    (void)coapmx_hostinfo_of((const struct sockaddr *)peer, false, r->hostinfo,
                             sizeof r->hostinfo); /* fits: see the assertion above */
    strcpy(r->key, r->hostinfo);
    strcpy(r->hostinfo_local, s->local_hostinfo);
}

/* The first address of host in the socket's family; a name or literal of the other family only
 * gets an error that says so, rather than a resolver's "family not supported". */
static int sss_resolve(struct coapmx_transport *t, const char *host, uint16_t port,
                       struct coapmx_remote *out, struct coapmx_error *err)
{
    struct sss *s = t->priv;
    struct sockaddr_storage addrs[COAPMX_ADDR_MAX_RESULTS];
    int count = coapmx_resolve_all(host, port, addrs, COAPMX_ADDR_MAX_RESULTS, err);
    if (count < 0)
        return -1;
    const struct sockaddr_storage *chosen = NULL;
    for (int i = 0; i < count; i++) {
        if (coapmx_sockaddr_is_multicast((const struct sockaddr *)&addrs[i])) {
            char group[COAPMX_HOSTINFO_MAX];
            coapmx_hostinfo_of((const struct sockaddr *)&addrs[i], false, group, sizeof group);
            return coapmx_fail(err, COAPMX_EMULTICAST, 0,
                               "%s does not support multicast: %s is the group %s; nothing was "
                               "sent",
                               SSS_NAME, host, group);
        }
        if (chosen == NULL && addrs[i].ss_family == s->family)
            chosen = &addrs[i];
    }
    if (chosen == NULL && coapmx_is_ip_literal(host))
        return coapmx_fail(err, COAPMX_EFAMILY, 0,
                           "%s is an %s address: %s sends through its one socket, bound to %s %s",
                           host, family_name(addrs[0].ss_family), SSS_NAME, family_name(s->family),
                           s->local_hostinfo);
    if (chosen == NULL)
        return coapmx_fail(err, COAPMX_EFAMILY, 0,
                           "%s has no %s address: %s sends through its one socket, bound to %s %s",
                           host, family_name(s->family), SSS_NAME, family_name(s->family),
                           s->local_hostinfo);
    describe(s, chosen, out);
    return 0;
}

/* What an ICMP error makes a send fail with where the error is reported at send time (as under
 * socket_wrapper): like the kernel's for an unconnected socket, it is not surfaced. */
static bool is_unreachable(int e)
{
    return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN;
}

static int sss_send(struct coapmx_transport *t, const struct coapmx_remote *to, const uint8_t *buf,
                    size_t len, struct coapmx_error *err)
{
    struct sss *s = t->priv;
    if (sendto(s->fd, buf, len, 0, (const struct sockaddr *)&to->addr, to->addr_len) >= 0)
        return 0;
    if (is_unreachable(errno)) {
        t->stats.errors_ignored++;
        return 0;
    }
    return coapmx_fail(err, COAPMX_ENETWORK, errno, "send to %s failed: %s", to->hostinfo,
                       strerror(errno));
}

static void sss_free(struct sss *s)
{
    free(s->rx_buffer);
    free(s);
}

/* Drains the socket; stops when a callback shut the transport down. */
static void on_readable(void *arg, int fd, short revents)
{
    struct sss *s = arg;
    (void)revents;
    s->dispatching++;
    while (!s->closed) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        ssize_t n = recvfrom(fd, s->rx_buffer, s->rx_size, MSG_TRUNC | MSG_DONTWAIT,
                             (struct sockaddr *)&peer, &peer_len);
        if (n < 0)
            break;
        if ((size_t)n > s->rx_size) {
            s->t->stats.dropped_truncated++;
            continue;
        }
        struct coapmx_remote from;
        memset(&from, 0, sizeof from);
        describe(s, &peer, &from);
        s->t->stats.datagrams_received++;
        s->t->upper.datagram(s->t->upper.arg, &from, s->rx_buffer, (size_t)n);
    }
    if (--s->dispatching == 0 && s->closed)
        sss_free(s);
}

static bool is_any_address(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr);
}

/* The configured address: a literal, or a name whose first address decides the family. */
static int bind_address(const struct coapmx_transport_config *c, uint16_t port,
                        struct sockaddr_storage *addr, struct coapmx_error *err)
{
    const char *host = c->bind_host != NULL ? c->bind_host : "";
    if (host[0] != '\0' && coapmx_sockaddr_from_literal(host, port, addr) != 0 &&
        coapmx_resolve_all(host, port, addr, 1, err) < 0)
        return -1;
    if (SSS_REFUSES_ANY_ADDRESS && (host[0] == '\0' || is_any_address(addr)))
        return coapmx_fail(err, COAPMX_EINVAL, 0,
                           "%s cannot be bound to the any-address (%s): without packet info a "
                           "reply could not leave from the address its request came to; bind "
                           "one of this host's addresses",
                           SSS_NAME, host[0] ? host : "none given");
    if (host[0] == '\0') /* only a mutant gets here */
        coapmx_sockaddr_from_literal("::", port, addr);
    return 0;
}

static int open_socket(struct sss *s, struct coapmx_error *err)
{
    const struct coapmx_transport_config *c = &s->t->config;
    uint16_t port = c->role == COAPMX_ROLE_SERVER && c->bind_port == 0 ? 5683 : c->bind_port;
    struct sockaddr_storage addr;
    if (bind_address(c, port, &addr, err) != 0)
        return -1;
    s->family = addr.ss_family;
    s->fd = socket(s->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "cannot create the %s socket: %s", SSS_NAME,
                           strerror(errno));
    if (bind(s->fd, (const struct sockaddr *)&addr, coapmx_sockaddr_len((void *)&addr)) != 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "cannot bind %s to %s port %u: %s",
                           SSS_NAME, c->bind_host ? c->bind_host : "::", port, strerror(errno));
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    if (getsockname(s->fd, (struct sockaddr *)&bound, &len) != 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "getsockname: %s", strerror(errno));
    /* The host as configured (aiocoap shows the configured port too: ":0" when ephemeral). */
    coapmx_hostinfo_format(
        c->bind_host ? c->bind_host : "::", coapmx_sockaddr_port((const struct sockaddr *)&bound),
        s->local_hostinfo, sizeof s->local_hostinfo);
    if (coapmx_loop_watch(s->t->loop, s->fd, POLLIN, on_readable, s) != 0) {
        /* LCOV_EXCL_START: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory watching the %s socket", SSS_NAME);
        /* LCOV_EXCL_STOP */
    }
    return 0;
}

static void close_socket(struct sss *s)
{
    if (s->fd >= 0) {
        coapmx_loop_unwatch(s->t->loop, s->fd);
        close(s->fd);
        s->fd = -1;
    }
}

static int sss_open(struct coapmx_transport *t, struct coapmx_error *err)
{
    if (t->config.multicast_interface != NULL)
        return coapmx_fail(err, COAPMX_EMULTICAST, 0, "%s does not support multicast", SSS_NAME);
    struct sss *s = calloc(1, sizeof *s);
    if (s == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory opening %s", SSS_NAME);
        /* LCOV_EXCL_STOP */
    }
    s->t = t;
    s->fd = -1;
    s->rx_size = coapmx_transport_rx_buffer_size(t);
    s->rx_buffer = malloc(s->rx_size);
    if (s->rx_buffer == NULL || open_socket(s, err) != 0) {
        if (s->rx_buffer == NULL)
            coapmx_fail(err, COAPMX_ENOMEM, 0, /* LCOV_EXCL_LINE: OutOfMemory */
                        "out of memory opening %s", SSS_NAME);
        close_socket(s);
        sss_free(s);
        return -1;
    }
    t->priv = s;
    return 0;
}

static size_t sss_sockets(struct coapmx_transport *t, int *fds, size_t max)
{
    struct sss *s = t->priv;
    if (max > 0)
        fds[0] = s->fd;
    return 1;
}

static void sss_shutdown(struct coapmx_transport *t)
{
    struct sss *s = t->priv;
    close_socket(s);
    t->priv = NULL;
    s->closed = true;
    if (s->dispatching == 0)
        sss_free(s);
}

const struct coapmx_transport_ops SSS_OPS_SYMBOL = {
    .name = SSS_NAME,
    .profile = &sss_profile,
    .open = sss_open,
    .resolve = sss_resolve,
    .send = sss_send,
    .sockets = sss_sockets,
    .shutdown = sss_shutdown,
};
