/* simple6: a client-only transport with one connected, never-bound UDP socket per communication
 * partner, keyed by the host string as written and the port. Plain send/recv, no recvmsg, so it
 * runs where pktinfo and error queues don't exist. The family is whatever getaddrinfo lists
 * first; the remote's netloc is the requested name (the transport does not tell names from
 * literals). Multicast destinations are refused before any socket exists. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "transport.h"

/* Seams for the harness self-check: deliberately wrong builds of this file (harness/selfcheck)
 * redefine these. Production builds use the defaults below. */
#ifndef SIMPLE6_OPS_SYMBOL
#define SIMPLE6_OPS_SYMBOL coapmx_simple6_ops
#define SIMPLE6_NAME       "simple6"
#endif
#ifndef SIMPLE6_PICK_ADDRESS
#define SIMPLE6_PICK_ADDRESS(addrs, count) (&(addrs)[0]) /* the first family listed wins */
#endif
#ifndef SIMPLE6_REFUSES_MULTICAST
#define SIMPLE6_REFUSES_MULTICAST 1
#endif
#ifndef SIMPLE6_NETLOC_OF
#define SIMPLE6_NETLOC_OF(host, port, sa, buf, cap) coapmx_hostinfo_format(host, port, buf, cap)
#endif

struct peer_socket {
    bool used;
    int fd;
    int id; /* remote.handle; unique for the transport's lifetime */
    char host[256];
    uint16_t port;
    struct coapmx_remote remote;
    uint64_t last_used; /* LRU order */
    unsigned busy;      /* exchanges in flight */
};

struct simple6 {
    struct coapmx_transport *t;
    struct peer_socket *sockets;
    size_t capacity;
    int next_id;
    uint64_t use_clock;
    uint8_t *rx_buffer;
    size_t rx_size;
    unsigned dispatching; /* read callbacks on the stack */
    bool closed;          /* shut down; freed when no callback is on the stack */
};

static const struct coapmx_profile simple6_profile = {
    .roles = COAPMX_ROLES_CLIENT_ONLY,
    .netloc = COAPMX_NETLOC_REQUESTED_NAME,
    .family = COAPMX_FAMILY_FIRST_LISTED,
    .sockets = COAPMX_SOCKETS_PER_PEER_CONNECTED,
    .mapped = COAPMX_MAPPED_KEPT,
    .local = COAPMX_LOCAL_FROM_SOCKNAME,
    .multicast = false,
    .accepts_strangers = false,
    .client_sockets_at_open = 0,
    .socket_per_spelling = true,
    .needs_dualstack_for_v4 = false,
    .icmp_errors = true,
    .binds_explicitly = false,
    .binds_names = false,
};

static struct peer_socket *find_by_key(struct simple6 *s, const char *host, uint16_t port)
{
    for (size_t i = 0; i < s->capacity; i++)
        if (s->sockets[i].used && s->sockets[i].port == port &&
            strcmp(s->sockets[i].host, host) == 0)
            return &s->sockets[i];
    return NULL;
}

static struct peer_socket *find_by_id(struct simple6 *s, int id)
{
    for (size_t i = 0; i < s->capacity; i++)
        if (s->sockets[i].used && s->sockets[i].id == id)
            return &s->sockets[i];
    return NULL;
}

static void close_socket(struct simple6 *s, struct peer_socket *ps)
{
    coapmx_loop_unwatch(s->t->loop, ps->fd);
    close(ps->fd);
    memset(ps, 0, sizeof *ps);
}

/* A free slot, evicting the least recently used idle socket when the pool is full. Busy sockets
 * are never evicted: that would break an exchange in flight. */
static struct peer_socket *free_slot(struct simple6 *s, struct coapmx_error *err)
{
    struct peer_socket *lru = NULL;
    for (size_t i = 0; i < s->capacity; i++) {
        struct peer_socket *ps = &s->sockets[i];
        if (!ps->used)
            return ps;
        if (ps->busy == 0 && (lru == NULL || ps->last_used < lru->last_used))
            lru = ps;
    }
    if (lru == NULL) {
        coapmx_fail(err, COAPMX_ETOOMANYPEERS, 0,
                    "too many peers: all %zu sockets of the pool have exchanges in flight",
                    s->capacity);
        return NULL;
    }
    close_socket(s, lru);
    return lru;
}

static void deliver(struct simple6 *s, int id, const uint8_t *buf, size_t len)
{
    struct peer_socket *ps = find_by_id(s, id);
    struct coapmx_remote from = ps->remote; /* the callback may close ps */
    s->t->stats.datagrams_received++;
    s->t->upper.datagram(s->t->upper.arg, &from, buf, len);
}

static void report_socket_error(struct simple6 *s, int id, int sys_errno)
{
    struct peer_socket *ps = find_by_id(s, id);
    struct coapmx_remote about = ps->remote;
    struct coapmx_error err;
    coapmx_fail(&err, COAPMX_ENETWORK, sys_errno, "network error from %s: %s", about.hostinfo,
                strerror(sys_errno));
    s->t->upper.error(s->t->upper.arg, &about, &err);
}

static void free_simple6(struct simple6 *s)
{
    free(s->sockets);
    free(s->rx_buffer);
    free(s);
}

/* Drains what is queued on one socket. Stops when a callback closed the socket or shut the
 * transport down (which only frees it once no callback is on the stack). */
static void drain_socket(struct simple6 *s, int fd, int id)
{
    while (!s->closed && find_by_id(s, id) != NULL) {
        ssize_t n = recv(fd, s->rx_buffer, s->rx_size, MSG_TRUNC | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                report_socket_error(s, id, errno);
            return;
        }
        if ((size_t)n > s->rx_size) {
            s->t->stats.dropped_truncated++;
            continue;
        }
        deliver(s, id, s->rx_buffer, (size_t)n);
    }
}

static void on_readable(void *arg, int fd, short revents)
{
    struct simple6 *s = arg;
    (void)revents;
    int id = -1;
    for (size_t i = 0; i < s->capacity; i++)
        if (s->sockets[i].used && s->sockets[i].fd == fd)
            id = s->sockets[i].id;
    s->dispatching++;
    if (id >= 0)
        drain_socket(s, fd, id);
    if (--s->dispatching == 0 && s->closed)
        free_simple6(s);
}

static int connect_socket(struct simple6 *s, struct peer_socket *ps,
                          const struct sockaddr_storage *to, struct coapmx_error *err)
{
    int fd = socket(to->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "cannot create a socket for %s: %s",
                           ps->host, strerror(errno));
    if (connect(fd, (const struct sockaddr *)to, coapmx_sockaddr_len((const void *)to)) != 0) {
        int e = errno;
        close(fd);
        return coapmx_fail(err, COAPMX_ENETWORK, e, "cannot connect to %s: %s", ps->host,
                           strerror(e));
    }
    if (coapmx_loop_watch(s->t->loop, fd, POLLIN, on_readable, s) != 0) {
        /* LCOV_EXCL_START: OutOfMemory */
        close(fd);
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory watching a socket");
        /* LCOV_EXCL_STOP */
    }
    ps->fd = fd;
    return 0;
}

/* A host of at most 255 bytes always fits a netloc, bracketed and with its port. */
_Static_assert(sizeof((struct peer_socket *)0)->host + sizeof "[]:65535" <= COAPMX_HOSTINFO_MAX,
               "a peer's netloc must fit a hostinfo");

static void describe_remote(struct peer_socket *ps, const struct sockaddr_storage *to)
{
    struct coapmx_remote *r = &ps->remote;
    struct sockaddr_storage local;
    socklen_t local_len = sizeof local;
    r->addr = *to;
    r->addr_len = coapmx_sockaddr_len((const void *)to);
    r->handle = ps->id;
    SIMPLE6_NETLOC_OF(ps->host, ps->port, (const struct sockaddr *)to, r->hostinfo,
                      sizeof r->hostinfo);
    coapmx_hostinfo_format(ps->host, ps->port, r->key, sizeof r->key);
    if (getsockname(ps->fd, (struct sockaddr *)&local, &local_len) != 0 ||
        coapmx_hostinfo_of((const struct sockaddr *)&local, false, r->hostinfo_local,
                           sizeof r->hostinfo_local) != 0)
        r->hostinfo_local[0] = '\0';
}

static int pick_destination(const char *host, uint16_t port, struct sockaddr_storage *to,
                            struct coapmx_error *err)
{
    struct sockaddr_storage addrs[COAPMX_ADDR_MAX_RESULTS];
    int count = coapmx_resolve_all(host, port, addrs, COAPMX_ADDR_MAX_RESULTS, err);
    if (count < 0)
        return -1;
    *to = *SIMPLE6_PICK_ADDRESS(addrs, (size_t)count);
    if (SIMPLE6_REFUSES_MULTICAST && coapmx_sockaddr_is_multicast((const struct sockaddr *)to)) {
        char group[COAPMX_HOSTINFO_MAX];
        coapmx_hostinfo_of((const struct sockaddr *)to, false, group, sizeof group);
        return coapmx_fail(err, COAPMX_EMULTICAST, 0,
                           "%s does not support multicast: %s is the group %s; nothing was sent",
                           SIMPLE6_NAME, host, group);
    }
    return 0;
}

static int simple6_resolve(struct coapmx_transport *t, const char *host, uint16_t port,
                           struct coapmx_remote *out, struct coapmx_error *err)
{
    struct simple6 *s = t->priv;
    struct peer_socket *ps = find_by_key(s, host, port);
    if (ps == NULL) {
        struct sockaddr_storage to;
        if (strlen(host) >= sizeof ps->host)
            return coapmx_fail(err, COAPMX_EINVAL, 0, "host name too long: %.40s...", host);
        if (pick_destination(host, port, &to, err) != 0 || (ps = free_slot(s, err)) == NULL)
            return -1;
        struct peer_socket fresh = {.used = true, .id = ++s->next_id, .port = port};
        fresh.remote.transport = t;
        strcpy(fresh.host, host);
        if (connect_socket(s, &fresh, &to, err) != 0)
            return -1;
        describe_remote(&fresh, &to);
        *ps = fresh;
    }
    ps->last_used = ++s->use_clock;
    *out = ps->remote;
    return 0;
}

/* A remote whose socket was evicted while idle gets a new one on its next use. */
static struct peer_socket *socket_for(struct simple6 *s, const struct coapmx_remote *r,
                                      struct coapmx_error *err)
{
    struct peer_socket *ps = find_by_id(s, r->handle);
    if (ps != NULL)
        return ps;
    char host[256];
    uint16_t port;
    struct coapmx_remote again;
    if (coapmx_hostinfo_parse(r->key, 5683, host, sizeof host, &port) != 0 ||
        simple6_resolve(s->t, host, port, &again, err) != 0)
        return NULL;
    return find_by_id(s, again.handle);
}

static int simple6_send(struct coapmx_transport *t, const struct coapmx_remote *to,
                        const uint8_t *buf, size_t len, struct coapmx_error *err)
{
    struct simple6 *s = t->priv;
    struct peer_socket *ps = socket_for(s, to, err);
    if (ps == NULL)
        return -1;
    ps->last_used = ++s->use_clock;
    if (send(ps->fd, buf, len, 0) < 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno, "send to %s failed: %s", to->hostinfo,
                           strerror(errno));
    return 0;
}

static void simple6_hold(struct coapmx_transport *t, const struct coapmx_remote *r)
{
    struct peer_socket *ps = find_by_id(t->priv, r->handle);
    if (ps != NULL)
        ps->busy++;
}

static void simple6_release(struct coapmx_transport *t, const struct coapmx_remote *r)
{
    struct peer_socket *ps = find_by_id(t->priv, r->handle);
    if (ps != NULL && ps->busy > 0)
        ps->busy--;
}

static size_t simple6_sockets(struct coapmx_transport *t, int *fds, size_t max)
{
    struct simple6 *s = t->priv;
    size_t n = 0;
    for (size_t i = 0; i < s->capacity; i++) {
        if (!s->sockets[i].used)
            continue;
        if (n < max)
            fds[n] = s->sockets[i].fd;
        n++;
    }
    return n;
}

static void simple6_shutdown(struct coapmx_transport *t)
{
    struct simple6 *s = t->priv;
    for (size_t i = 0; i < s->capacity; i++)
        if (s->sockets[i].used)
            close_socket(s, &s->sockets[i]);
    t->priv = NULL;
    s->closed = true;
    if (s->dispatching == 0)
        free_simple6(s);
}

static int simple6_open(struct coapmx_transport *t, struct coapmx_error *err)
{
    if (t->config.multicast_interface != NULL)
        return coapmx_fail(err, COAPMX_EMULTICAST, 0, "%s does not support multicast",
                           SIMPLE6_NAME);
    struct simple6 *s = calloc(1, sizeof *s);
    if (s != NULL) {
        s->t = t;
        s->capacity = t->config.max_sockets;
        s->rx_size = coapmx_transport_rx_buffer_size(t);
        s->sockets = calloc(s->capacity, sizeof *s->sockets);
        s->rx_buffer = malloc(s->rx_size);
    }
    if (s == NULL || s->sockets == NULL || s->rx_buffer == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        if (s != NULL) {
            free(s->sockets);
            free(s->rx_buffer);
        }
        free(s);
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory opening %s", SIMPLE6_NAME);
        /* LCOV_EXCL_STOP */
    }
    t->priv = s;
    return 0;
}

const struct coapmx_transport_ops SIMPLE6_OPS_SYMBOL = {
    .name = SIMPLE6_NAME,
    .profile = &simple6_profile,
    .open = simple6_open,
    .resolve = simple6_resolve,
    .send = simple6_send,
    .hold = simple6_hold,
    .release = simple6_release,
    .sockets = simple6_sockets,
    .shutdown = simple6_shutdown,
};
