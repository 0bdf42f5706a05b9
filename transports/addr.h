/* Address helpers shared by every transport (and the harness): literal detection, resolution,
 * hostinfo formatting, v4-mapped handling. */
#ifndef COAPMX_ADDR_H
#define COAPMX_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "error.h"

#define COAPMX_ADDR_MAX_RESULTS 16

/* 1 if host is an IPv4 or IPv6 literal (without brackets; an IPv6 zone "%x" is allowed). */
bool coapmx_is_ip_literal(const char *host);

/* getaddrinfo(host, AF_UNSPEC, SOCK_DGRAM) in resolver order, duplicates removed.
 * ERESOLVE names the host on failure. Returns the count (>= 1) or -1. */
int coapmx_resolve_all(const char *host, uint16_t port, struct sockaddr_storage *out, size_t max,
                       struct coapmx_error *err);

bool coapmx_sockaddr_is_multicast(const struct sockaddr *sa);
/* The "All CoAP Nodes" groups (RFC 7252 §12.8): 224.0.1.187, ff02::fd, ff05::fd. */
extern const char *const coapmx_all_coap_nodes[];
extern const size_t coapmx_all_coap_nodes_count;
bool coapmx_sockaddr_is_v4mapped(const struct sockaddr *sa);
/* ::ffff:a.b.c.d <-> a.b.c.d (port kept). */
void coapmx_sockaddr_to_mapped(const struct sockaddr_in *in, struct sockaddr_in6 *out);
void coapmx_sockaddr_unmap(const struct sockaddr_in6 *in, struct sockaddr_in *out);
socklen_t coapmx_sockaddr_len(const struct sockaddr *sa);
uint16_t coapmx_sockaddr_port(const struct sockaddr *sa);

/* Host part: "1.2.3.4" or "fd00::1" (no brackets). mapped_as_dotted prints v4-mapped as v4. */
int coapmx_sockaddr_host(const struct sockaddr *sa, bool mapped_as_dotted, char *buf, size_t cap);
/* hostinfo of a host string: brackets around IPv6 literals, ":port" unless port is 5683. */
int coapmx_hostinfo_format(const char *host, uint16_t port, char *buf, size_t cap);
/* "coap://<hostinfo>", a zone written %25<zone> (RFC 6874). Returns the length it needs. */
size_t coapmx_uri_base_of(const char *hostinfo, char *buf, size_t cap);
/* hostinfo of a socket address. */
int coapmx_hostinfo_of(const struct sockaddr *sa, bool mapped_as_dotted, char *buf, size_t cap);
/* Parses "host", "host:port", "[v6]", "[v6]:port" (default_port when absent). */
int coapmx_hostinfo_parse(const char *hostinfo, uint16_t default_port, char *host, size_t host_cap,
                          uint16_t *port);
/* Literal + port to a socket address; -1 if host is not a literal. */
int coapmx_sockaddr_from_literal(const char *host, uint16_t port, struct sockaddr_storage *out);

#endif
