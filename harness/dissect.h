/* One capture record, taken apart: link layer, any encapsulation (VLAN tags, MPLS, IP-in-IP,
 * GRE, IPv6 extension headers and AH), IP, then UDP or an ICMP error about a datagram. Nothing is
 * kept between records and nothing is allocated: the result points into the record's bytes.
 * A record that is not an IP/UDP datagram or an ICMP error says why (its skip cause), so a
 * reader can report every frame it leaves out. Header fields that socket_wrapper writes wrongly
 * (IPv6 payload length, checksums) are never relied on. */
#ifndef COAPMX_DISSECT_H
#define COAPMX_DISSECT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Encapsulations nested deeper than this are refused: real traffic never needs more, and a
 * hostile file must not make the reader walk a chain of its own making. */
#define DISSECT_MAX_LAYERS 8

enum dissect_skip {
    DISSECT_KEPT = 0,     /* a UDP datagram or an ICMP error */
    DISSECT_LINKTYPE,     /* detail: the link type */
    DISSECT_LINK_SHORT,   /* shorter than its link-layer header */
    DISSECT_NOT_IP,       /* detail: the EtherType (ARP, LLDP, ...); 0 for 802.3 LLC frames */
    DISSECT_IP_MALFORMED, /* IP header cut short, bad version or header length */
    DISSECT_PROTOCOL,     /* detail: the IP protocol (TCP, SCTP, ...) */
    DISSECT_ENCRYPTED,    /* ESP: the payload cannot be read */
    DISSECT_GRE,          /* detail: GRE version, or the routing flag: an encapsulation not read */
    DISSECT_TOO_DEEP,     /* more than DISSECT_MAX_LAYERS encapsulations */
    DISSECT_ICMP_OTHER,   /* detail: ICMP type; not an error about a datagram (echo, NDP, MLD) */
    DISSECT_UDP_SHORT,    /* fewer than 8 bytes of UDP header */
    DISSECT_SKIP_COUNT
};

/* "TCP", "ARP", ...: a readable name of the cause with its detail, into buf. */
const char *dissect_skip_str(enum dissect_skip skip, uint32_t detail, char *buf, size_t cap);

enum dissect_kind {
    DISSECT_UDP,  /* a UDP datagram (or the first fragment of one) */
    DISSECT_ICMP, /* an ICMP / ICMPv6 error; src/dst are the ICMP packet's, inner_* the quoted */
    DISSECT_FRAGMENT, /* a later IP fragment: no UDP header, only its bytes */
};

struct dissect_frame {
    enum dissect_skip skip;
    uint32_t skip_detail;
    enum dissect_kind kind;
    char layers[96]; /* the encapsulations unwrapped, outermost first ("802.1ad 10, GRE"); "" */
    int family;      /* of the innermost IP header */
    struct sockaddr_storage src, dst; /* with UDP ports for DISSECT_UDP */
    bool truncated;                   /* the record was cut by the snapshot length */
    /* IP fragmentation: a datagram in several records is marked, not reassembled */
    bool fragment;        /* the IP packet is a fragment (first or later) */
    uint32_t frag_id;     /* IPv4 identification or IPv6 fragment header id */
    uint32_t frag_offset; /* in bytes */
    bool more_fragments;
    /* UDP: the payload is what the record holds, up to the UDP length */
    uint32_t udp_length;    /* the header's length field (DISSECT_UDP) */
    bool udp_length_wrong;  /* the field disagrees with the packet (not by truncation) */
    size_t udp_carried;     /* payload bytes the packet carries, whatever the field says */
    const uint8_t *payload; /* UDP payload, later fragment's bytes, or the quoted datagram's */
    size_t payload_len;
    /* ICMP errors */
    uint8_t icmp_type, icmp_code;
    struct sockaddr_storage inner_src, inner_dst; /* the quoted datagram's, with ports if UDP */
    bool inner_is_udp;
};

/* Takes one record apart. Never fails: what it cannot read it says in f->skip. */
void dissect_record(int linktype, const uint8_t *data, size_t caplen, size_t origlen,
                    struct dissect_frame *f);

bool dissect_linktype_known(int linktype);

/* Whether a UDP port is CoAP's by Wireshark's rule: 5683, one the user named, or any
 * (every_port: a capture of CoAP alone). */
bool dissect_coap_port(uint16_t port, bool every_port, const uint16_t *ports, size_t count);

/* "ICMP dest-unreachable", "ICMPv6 packet-too-big", ... */
const char *dissect_icmp_name(int family, uint8_t type);

#endif
