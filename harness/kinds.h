/* The address-kind axis of the matrix: how a scenario names the reference peer. */
#ifndef COAPMX_KINDS_H
#define COAPMX_KINDS_H

#include <stddef.h>

struct lane;

enum kind_class {
    KIND_LITERAL,      /* an IP literal of the peer */
    KIND_NAME,         /* a host name from the lane's hosts file */
    KIND_MAPPED,       /* [::ffff:a.b.c.d] of the peer's IPv4 address */
    KIND_LINK_LOCAL,   /* the peer's link-local IPv6 address, zoned by the client's interface */
    KIND_GROUP,        /* a multicast group (literal or name) */
    KIND_UNRESOLVABLE, /* a name the resolver does not know */
};

struct address_kind {
    const char *name;
    enum kind_class cls;
    int family;       /* literals and groups: AF_INET / AF_INET6; names: 0 (the resolver says) */
    const char *host; /* names, groups, unresolvable: as written in URIs; peer literals: NULL */
};

const struct address_kind *kind_find(const char *name);

/* The host as written in a URI, without brackets. */
int kind_host(const struct address_kind *kind, const struct lane *lane, char *buf, size_t cap);

#endif
