/* Reading captures: pcap files written by socket_wrapper (DLT_RAW) or by libpcap live captures
 * (DLT_EN10MB). Each IP/UDP record becomes a wire_datagram with its CoAP decoding. Header
 * fields that socket_wrapper gets wrong (IPv6 payload length, hop limit, UDP checksum, IPv4
 * checksum) are never relied on: lengths come from the capture length and the UDP length. */
#ifndef COAPMX_CAPTURE_H
#define COAPMX_CAPTURE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "../transports/coap/codec.h"
#include "wirefmt.h"

enum wire_kind {
    WIRE_UDP,  /* a UDP datagram */
    WIRE_ICMP, /* an ICMP / ICMPv6 error; src/dst are the ICMP packet's, inner_* the quoted UDP */
};

struct wire_datagram {
    uint64_t number; /* the frame number (1-based, every record counted) */
    struct timeval ts;
    enum wire_kind kind;
    int family;                       /* AF_INET or AF_INET6 (of the outer IP header) */
    struct sockaddr_storage src, dst; /* with UDP ports for WIRE_UDP */
    const uint8_t *payload;           /* UDP payload (points into the capture) */
    size_t payload_len;
    enum coap_status coap_status;                 /* COAP_OK when payload parsed as CoAP */
    struct coap_msg coap;                         /* valid when coap_status == COAP_OK */
    uint8_t icmp_type, icmp_code;                 /* WIRE_ICMP only */
    struct sockaddr_storage inner_src, inner_dst; /* WIRE_ICMP: the quoted datagram's */
};

struct wire_capture {
    int linktype; /* DLT_* of the file */
    size_t count;
    struct wire_datagram *items;
    size_t skipped; /* records that were neither IPv4/IPv6 UDP nor ICMP errors (e.g. NDP) */
    void *storage;  /* private */
};

/* Loads every record. A file that does not exist is an empty capture (socket_wrapper creates
 * the file only at the first packet), not an error. Returns 0, or -1 with errbuf filled. */
int wire_capture_load(const char *path, struct wire_capture *out, char *errbuf, size_t errlen);
void wire_capture_free(struct wire_capture *cap);

/* A datagram matches when every set field matches. Addresses compare by family and IP; a port of
 * 0 in src/dst matches any port. A v4-mapped IPv6 address never equals an IPv4 one. */
struct wire_filter {
    const struct sockaddr *src; /* NULL: any */
    const struct sockaddr *dst; /* NULL: any */
    int family;                 /* 0: any */
    int coap_type;              /* -1: any; else enum coap_type (CoAP datagrams only) */
    int coap_code;              /* -1: any */
    bool coap_only;             /* only datagrams that parsed as CoAP */
    bool include_icmp;          /* ICMP records are excluded unless set */
};

#define WIRE_FILTER_ANY                                                                            \
    {                                                                                              \
        .src = NULL, .dst = NULL, .family = 0, .coap_type = -1, .coap_code = -1,                   \
        .coap_only = false, .include_icmp = false                                                  \
    }

size_t wire_count(const struct wire_capture *cap, const struct wire_filter *filter);
/* The nth (0-based) match, or NULL. */
const struct wire_datagram *wire_find(const struct wire_capture *cap,
                                      const struct wire_filter *filter, size_t nth);

/* One line: "#<frame> <secs.usec relative to first>  <src> -> <dst>  <CoAP summary>", e.g.
 *   #3 0.000123  127.0.0.20:40001 -> 127.0.0.10:5683  CON GET mid=0x1a2b tok=0a0b
 *             Uri-Host:v4.test Uri-Path:hello payload=0
 * (on one line); every datagram of a cell's capture is decoded as CoAP. Non-CoAP UDP prints "UDP
 * <n> bytes (not CoAP: <status>)"; ICMP prints type, code and the quoted addresses. Returns the
 * length written. */
size_t wire_format(const struct wire_capture *cap, const struct wire_datagram *dg, char *buf,
                   size_t cap_len);

#endif
