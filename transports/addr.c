#include "addr.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coap/codec.h"

bool coapmx_is_ip_literal(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    char plain[INET6_ADDRSTRLEN + 1];
    if (inet_pton(AF_INET, host, &v4) == 1)
        return true;
    /* The zone ("%eth0") is not part of the address. */
    size_t len = strcspn(host, "%");
    if (len >= sizeof plain)
        return false;
    memcpy(plain, host, len);
    plain[len] = '\0';
    return inet_pton(AF_INET6, plain, &v6) == 1;
}

static bool same_sockaddr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return a->ss_family == b->ss_family &&
           memcmp(a, b, coapmx_sockaddr_len((const struct sockaddr *)a)) == 0;
}

int coapmx_resolve_all(const char *host, uint16_t port, struct sockaddr_storage *out, size_t max,
                       struct coapmx_error *err)
{
    /* A literal is its own only answer; getaddrinfo would say the same, slower. */
    if (max > 0 && coapmx_sockaddr_from_literal(host, port, &out[0]) == 0)
        return 1;
    /* An IPv6 literal with a zone that is no interface here: the zone is the fault, and the
     * address must not go out unzoned. */
    const char *zone = strchr(host, '%');
    struct in6_addr unzoned;
    char address[INET6_ADDRSTRLEN];
    if (zone != NULL && (size_t)(zone - host) < sizeof address) {
        memcpy(address, host, (size_t)(zone - host));
        address[zone - host] = '\0';
        if (inet_pton(AF_INET6, address, &unzoned) == 1)
            return coapmx_fail(err, COAPMX_ERESOLVE, 0,
                               "cannot resolve host '%s': no interface named '%s' for its zone",
                               host, zone + 1);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0)
        return coapmx_fail(err, COAPMX_ERESOLVE, 0, "cannot resolve host '%s': %s", host,
                           gai_strerror(rc));
    size_t n = 0;
    for (struct addrinfo *ai = res; ai != NULL && n < max; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        struct sockaddr_storage candidate = {0};
        memcpy(&candidate, ai->ai_addr, ai->ai_addrlen);
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = same_sockaddr(&out[i], &candidate);
        if (!seen)
            out[n++] = candidate;
    }
    freeaddrinfo(res);
    if (n == 0)
        return coapmx_fail(err, COAPMX_ERESOLVE, 0,
                           "cannot resolve host '%s': no IPv4 or IPv6 address", host);
    return (int)n;
}

const char *const coapmx_all_coap_nodes[] = {"224.0.1.187", "ff02::fd", "ff05::fd"};
const size_t coapmx_all_coap_nodes_count =
    sizeof coapmx_all_coap_nodes / sizeof coapmx_all_coap_nodes[0];

bool coapmx_sockaddr_is_multicast(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return IN_MULTICAST(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_MULTICAST(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && IN_MULTICAST(((uint32_t)a->s6_addr[12] << 24));
    }
    return false;
}

bool coapmx_sockaddr_is_v4mapped(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 &&
           IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
}

void coapmx_sockaddr_to_mapped(const struct sockaddr_in *in, struct sockaddr_in6 *out)
{
    memset(out, 0, sizeof *out);
    out->sin6_family = AF_INET6;
    out->sin6_port = in->sin_port;
    out->sin6_addr.s6_addr[10] = 0xff;
    out->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&out->sin6_addr.s6_addr[12], &in->sin_addr, 4);
}

void coapmx_sockaddr_unmap(const struct sockaddr_in6 *in, struct sockaddr_in *out)
{
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = in->sin6_port;
    memcpy(&out->sin_addr, &in->sin6_addr.s6_addr[12], 4);
}

socklen_t coapmx_sockaddr_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

uint16_t coapmx_sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    return 0;
}

int coapmx_sockaddr_host(const struct sockaddr *sa, bool mapped_as_dotted, char *buf, size_t cap)
{
    struct sockaddr_in unmapped;
    if (mapped_as_dotted && coapmx_sockaddr_is_v4mapped(sa)) {
        coapmx_sockaddr_unmap((const struct sockaddr_in6 *)sa, &unmapped);
        sa = (const struct sockaddr *)&unmapped;
    }
    const void *raw = sa->sa_family == AF_INET6
                          ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
                          : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;
    if (inet_ntop(sa->sa_family, raw, buf, (socklen_t)cap) == NULL)
        return -1;
    uint32_t scope =
        sa->sa_family == AF_INET6 ? ((const struct sockaddr_in6 *)sa)->sin6_scope_id : 0;
    if (scope != 0) {
        /* The zone by interface name, as aiocoap shows it; its number if it has none. */
        char ifname[IF_NAMESIZE];
        size_t len = strlen(buf);
        int n = if_indextoname(scope, ifname) != NULL
                    ? snprintf(buf + len, cap - len, "%%%s", ifname)
                    : snprintf(buf + len, cap - len, "%%%u", scope);
        if (n >= (int)(cap - len))
            return -1;
    }
    return 0;
}

int coapmx_hostinfo_format(const char *host, uint16_t port, char *buf, size_t cap)
{
    bool bracket = strchr(host, ':') != NULL;
    int n;
    if (port == COAP_DEFAULT_PORT)
        n = snprintf(buf, cap, bracket ? "[%s]" : "%s", host);
    else
        n = snprintf(buf, cap, bracket ? "[%s]:%u" : "%s:%u", host, port);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* A zone's '%' is written "%25" in a URI (RFC 6874). */
size_t coapmx_uri_base_of(const char *hostinfo, char *buf, size_t cap)
{
    size_t n = 0;
    for (const char *c = "coap://"; *c; c++, n++)
        if (n + 1 < cap)
            buf[n] = *c;
    for (const char *c = hostinfo; *c; c++)
        for (const char *out = *c == '%' ? "%25" : (char[]){*c, '\0'}; *out; out++, n++)
            if (n + 1 < cap)
                buf[n] = *out;
    if (cap > 0)
        buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

int coapmx_hostinfo_of(const struct sockaddr *sa, bool mapped_as_dotted, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN + 16];
    if (coapmx_sockaddr_host(sa, mapped_as_dotted, host, sizeof host) != 0)
        return -1;
    return coapmx_hostinfo_format(host, coapmx_sockaddr_port(sa), buf, cap);
}

int coapmx_hostinfo_parse(const char *hostinfo, uint16_t default_port, char *host, size_t host_cap,
                          uint16_t *port)
{
    const char *host_start = hostinfo, *host_end, *rest;
    if (hostinfo[0] == '[') {
        host_start = hostinfo + 1;
        host_end = strchr(host_start, ']');
        if (host_end == NULL)
            return -1;
        rest = host_end + 1;
    } else {
        host_end = strchr(hostinfo, ':');
        if (host_end == NULL)
            host_end = hostinfo + strlen(hostinfo);
        rest = host_end;
    }
    size_t len = (size_t)(host_end - host_start);
    if (len == 0 || len >= host_cap)
        return -1;
    memcpy(host, host_start, len);
    host[len] = '\0';
    *port = default_port;
    if (*rest == '\0')
        return 0;
    if (*rest != ':' || rest[1] == '\0')
        return -1;
    unsigned long value = 0;
    for (const char *p = rest + 1; *p; p++) {
        if (*p < '0' || *p > '9' || (value = value * 10 + (unsigned long)(*p - '0')) > 65535)
            return -1;
    }
    *port = (uint16_t)value;
    return 0;
}

int coapmx_sockaddr_from_literal(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        return 0;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    char plain[INET6_ADDRSTRLEN + 1];
    size_t len = strcspn(host, "%");
    if (len >= sizeof plain)
        return -1;
    memcpy(plain, host, len);
    plain[len] = '\0';
    if (inet_pton(AF_INET6, plain, &in6->sin6_addr) != 1)
        return -1;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    if (host[len] == '%') {
        const char *zone = host + len + 1;
        char *end;
        unsigned long index = strtoul(zone, &end, 10);
        in6->sin6_scope_id = *end == '\0' ? (uint32_t)index : if_nametoindex(zone);
        if (in6->sin6_scope_id == 0)
            return -1;
    }
    return 0;
}
