/* The pluggable transport interface. A transport moves CoAP datagrams and names remotes;
 * everything above it (codec, message layer, requests) is shared. Adding a transport means one
 * new file defining a `struct coapmx_transport_ops` and one line in registry.c. */
#ifndef COAPMX_TRANSPORT_H
#define COAPMX_TRANSPORT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"
#include "loop.h"

/* ---- the behaviour a transport claims (BEHAVIOUR.md); scenarios compare against it ---- */

enum coapmx_roles {
    COAPMX_ROLES_CLIENT_ONLY,   /* R1: opening as a server fails with ECLIENTONLY */
    COAPMX_ROLES_CLIENT_SERVER, /* client and server on one socket */
    COAPMX_ROLES_SERVER_ONLY,
};

enum coapmx_netloc_policy {
    COAPMX_NETLOC_REQUESTED_NAME, /* N3: remote hostinfo is the host as the request wrote it */
    COAPMX_NETLOC_IP_LITERAL,     /* N3: remote hostinfo is the IP literal actually used */
};

enum coapmx_family_policy {
    COAPMX_FAMILY_FIRST_LISTED, /* F4: the first family getaddrinfo lists wins */
    COAPMX_FAMILY_V6_FIRST,     /* F4: IPv6 results first, IPv4 as v4-mapped */
    COAPMX_FAMILY_OF_SOCKET,    /* F1-F4: the one socket's family; others are refused (F7) */
};

enum coapmx_socket_model {
    COAPMX_SOCKETS_PER_PEER_CONNECTED, /* S2: connected, auto-bound socket per key */
    COAPMX_SOCKET_SHARED_DUALSTACK,    /* S2: one AF_INET6 socket, V6ONLY off, recvmsg */
    COAPMX_SOCKET_BOUND_UNCONNECTED,   /* S2: one socket bound to the configured address */
    /* S2: an unconnected socket on the wildcard of each family a request goes to (such as
     * node-coap's udp4 and udp6 agents) */
    COAPMX_SOCKETS_PER_FAMILY_UNCONNECTED,
};

enum coapmx_mapped_policy {
    COAPMX_MAPPED_KEPT,        /* N5: [::ffff:a.b.c.d] stays mapped, AF_INET6 socket */
    COAPMX_MAPPED_DOTTED_QUAD, /* N5: shown as a.b.c.d */
};

enum coapmx_local_policy {
    COAPMX_LOCAL_FROM_SOCKNAME, /* N6: hostinfo_local from getsockname */
    COAPMX_LOCAL_FROM_PKTINFO,  /* N6: from the datagram's destination (pktinfo) + bound port */
    COAPMX_LOCAL_CONFIGURED,    /* N6: the bind address as configured (a name stays a name) */
};

struct coapmx_profile {
    enum coapmx_roles roles;
    enum coapmx_netloc_policy netloc;
    enum coapmx_family_policy family;
    enum coapmx_socket_model sockets;
    enum coapmx_mapped_policy mapped;
    enum coapmx_local_policy local;
    bool multicast;                /* M1/M2: multicast destinations are supported */
    bool accepts_strangers;        /* R3: datagrams from never-addressed peers are processed */
    size_t client_sockets_at_open; /* S1 */
    bool socket_per_spelling;      /* S4: a name and a literal of one peer get separate sockets */
    bool needs_dualstack_for_v4;   /* v4 peers are reached through a dual-stack socket */
    bool icmp_errors;              /* E1: an ICMP error fails the request at once */
    /* S6: the any-address is refused, so every open names its address, a client's too. */
    bool binds_explicitly;
    bool binds_names; /* E8, N6: the bind address may be a host name */
};

/* ---- remotes ---- */

#define COAPMX_HOSTINFO_MAX 272                       /* 255-byte name, brackets, ":65535", NUL */
#define COAPMX_URI_BASE_MAX (COAPMX_HOSTINFO_MAX + 9) /* "coap://", a zone's "%" as "%25" */

struct coapmx_transport;

/* What a transport returns for a destination and attaches to what it receives. Plain value:
 * copy it freely. Two remotes denote the same peer iff transport and key are equal. */
struct coapmx_remote {
    const struct coapmx_transport *transport;
    struct sockaddr_storage addr; /* the peer's socket address actually used */
    socklen_t addr_len;
    char hostinfo[COAPMX_HOSTINFO_MAX];       /* host[:port], port omitted when 5683 */
    char hostinfo_local[COAPMX_HOSTINFO_MAX]; /* same for the local end ("" if unknown) */
    char key[COAPMX_HOSTINFO_MAX];            /* the transport's notion of "same peer" */
    bool is_multicast;
    bool is_multicast_locally;
    int handle; /* transport-private */
};

/* "coap://" + hostinfo. Returns the length written (truncated to cap). */
size_t coapmx_remote_uri_base(const struct coapmx_remote *remote, char *buf, size_t cap);
bool coapmx_remote_same(const struct coapmx_remote *a, const struct coapmx_remote *b);

/* ---- the transport object ---- */

enum coapmx_role { COAPMX_ROLE_CLIENT, COAPMX_ROLE_SERVER };

#define COAPMX_RX_BUFFER_DEFAULT   65536
#define COAPMX_RX_BUFFER_MAX       65536 /* no UDP payload is larger */
#define COAPMX_MAX_SOCKETS_DEFAULT 64

struct coapmx_transport_config {
    enum coapmx_role role;
    /* Address to bind (NULL: any address). Literals; a name where the profile binds_names. */
    const char *bind_host;
    uint16_t bind_port;    /* server: port (0: 5683); client: 0 means ephemeral */
    size_t rx_buffer_size; /* 0: COAPMX_RX_BUFFER_DEFAULT; smaller values exist for tests */
    size_t max_sockets;    /* per-peer pools; 0: COAPMX_MAX_SOCKETS_DEFAULT */
    /* Server: join the All-CoAP-Nodes groups on this interface (NULL: none). Transports
     * without multicast refuse it. */
    const char *multicast_interface;
};

struct coapmx_transport_stats {
    uint64_t datagrams_sent;
    uint64_t datagrams_received;
    uint64_t dropped_truncated; /* E4: larger than the receive buffer */
    uint64_t dropped_malformed; /* E5: counted by the message layer */
    uint64_t send_errors;
    uint64_t errors_ignored; /* ICMP-class send errors a transport does not surface (E1) */
};

/* How the transport hands what it receives to the layer above. */
struct coapmx_transport_upper {
    void (*datagram)(void *arg, const struct coapmx_remote *from, const uint8_t *buf, size_t len);
    /* A network error about `about` (NULL: every remote of this transport). */
    void (*error)(void *arg, const struct coapmx_remote *about, const struct coapmx_error *err);
    void *arg;
};

struct coapmx_transport_ops {
    const char *name;
    const struct coapmx_profile *profile;
    /* Called once by coapmx_transport_open with t->config, t->loop set; sets t->priv. */
    int (*open)(struct coapmx_transport *t, struct coapmx_error *err);
    /* Determine the remote for host (as written in a URI: lowercase, no brackets) and port.
     * May create sockets; never sends. */
    int (*resolve)(struct coapmx_transport *t, const char *host, uint16_t port,
                   struct coapmx_remote *out, struct coapmx_error *err);
    int (*send)(struct coapmx_transport *t, const struct coapmx_remote *to, const uint8_t *buf,
                size_t len, struct coapmx_error *err);
    /* An exchange with this remote starts / ends (pools must not evict busy sockets). */
    void (*hold)(struct coapmx_transport *t, const struct coapmx_remote *remote);
    void (*release)(struct coapmx_transport *t, const struct coapmx_remote *remote);
    /* Open sockets, for inspection: count, and up to max of their fds. */
    size_t (*sockets)(struct coapmx_transport *t, int *fds, size_t max);
    /* Close every socket and free t->priv. Further calls fail with ESHUTDOWN. */
    void (*shutdown)(struct coapmx_transport *t);
};

struct coapmx_transport {
    const struct coapmx_transport_ops *ops;
    struct coapmx_loop *loop;
    struct coapmx_transport_config config;
    struct coapmx_transport_upper upper;
    struct coapmx_transport_stats stats;
    bool shut_down;
    void *priv;
};

/* Allocates and opens; NULL with err filled on failure. */
struct coapmx_transport *coapmx_transport_open(const struct coapmx_transport_ops *ops,
                                               struct coapmx_loop *loop,
                                               const struct coapmx_transport_config *config,
                                               struct coapmx_error *err);
/* Shuts down (if not yet) and frees. */
void coapmx_transport_close(struct coapmx_transport *t);

/* Wrappers that enforce the shut-down state once, for every transport. */
int coapmx_transport_resolve(struct coapmx_transport *t, const char *host, uint16_t port,
                             struct coapmx_remote *out, struct coapmx_error *err);
int coapmx_transport_send(struct coapmx_transport *t, const struct coapmx_remote *to,
                          const uint8_t *buf, size_t len, struct coapmx_error *err);
void coapmx_transport_shutdown(struct coapmx_transport *t);

size_t coapmx_transport_rx_buffer_size(const struct coapmx_transport *t);
/* Open sockets (0 after shutdown); up to max of their fds into fds. */
size_t coapmx_transport_sockets(struct coapmx_transport *t, int *fds, size_t max);

/* ---- registry ---- */

struct coapmx_registry {
    const struct coapmx_transport_ops *const *transports;
    size_t count;
};

extern const struct coapmx_registry coapmx_registry;
const struct coapmx_transport_ops *coapmx_registry_find(const struct coapmx_registry *reg,
                                                        const char *name);

#endif
