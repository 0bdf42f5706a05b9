/* Taking a capture record apart (see dissect.h). */
#include "dissect.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pcapfile.h"

#define ETHERNET_HEADER_LEN 14
#define LLC_SNAP_HEADER_LEN 8
#define VLAN_TAG_LEN        4
#define MPLS_LABEL_LEN      4
#define SLL_HEADER_LEN      16
#define SLL2_HEADER_LEN     20
#define NULL_HEADER_LEN     4
#define IPV4_MIN_HEADER_LEN 20
#define IPV6_HEADER_LEN     40
#define IPV6_EXT_MIN_LEN    8
#define GRE_MIN_HEADER_LEN  4
#define UDP_HEADER_LEN      8
#define ICMP_HEADER_LEN     8

/* An IPv6 packet may chain extension headers; real ones have a handful. */
#define MAX_EXTENSION_HEADERS 16

#define ETHERTYPE_MIN_VALUE 0x0600 /* below: an 802.3 length field */
#define ETHERTYPE_IPV4      0x0800
#define ETHERTYPE_ARP       0x0806
#define ETHERTYPE_VLAN      0x8100
#define ETHERTYPE_IPV6      0x86dd
#define ETHERTYPE_MPLS      0x8847
#define ETHERTYPE_MPLS_MC   0x8848
#define ETHERTYPE_QINQ      0x88a8
#define ETHERTYPE_LLDP      0x88cc
#define ETHERTYPE_QINQ_OLD  0x9100
#define ETHERTYPE_TEB       0x6558 /* transparent Ethernet bridging: GRE carrying Ethernet */

#define PROTO_HOPOPTS  0
#define PROTO_ICMP     1
#define PROTO_IPIP     4
#define PROTO_TCP      6
#define PROTO_UDP      17
#define PROTO_IPV6     41
#define PROTO_ROUTING  43
#define PROTO_FRAGMENT 44
#define PROTO_GRE      47
#define PROTO_ESP      50
#define PROTO_AH       51
#define PROTO_ICMPV6   58
#define PROTO_NONE     59
#define PROTO_DSTOPTS  60
#define PROTO_SCTP     132

#define GRE_CHECKSUM_PRESENT 0x8000
#define GRE_ROUTING_PRESENT  0x4000
#define GRE_KEY_PRESENT      0x2000
#define GRE_SEQ_PRESENT      0x1000
#define GRE_VERSION_MASK     0x0007
/* skip_detail of DISSECT_GRE beyond a version number */
#define GRE_DETAIL_ROUTING 0x100
#define GRE_DETAIL_SHORT   0x200
/* skip_detail of DISSECT_IP_MALFORMED: what is wrong */
#define MALFORMED_EMPTY     0x000
#define MALFORMED_IPV4      0x004 /* cut short, or a header length below 20 or past the end */
#define MALFORMED_IPV6      0x006 /* cut short */
#define MALFORMED_VERSION   0x100 /* | the version */
#define MALFORMED_EXTENSION 0x200 /* | the extension header's number: cut short */
#define MALFORMED_ICMP      0x300 /* ICMP header cut short */
/* skip_detail of DISSECT_ICMP_OTHER: the type, and this bit for ICMPv6 */
#define ICMP_DETAIL_V6 0x100

struct cursor {
    const uint8_t *p;
    size_t len;
};

struct walk {
    struct dissect_frame *f;
    int linktype;
    unsigned depth;
    size_t layers_len;
    bool record_truncated;
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static struct cursor advance(struct cursor c, size_t n)
{
    return (struct cursor){c.p + n, c.len - n};
}

static void skip(struct walk *w, enum dissect_skip cause, uint32_t detail)
{
    w->f->skip = cause;
    w->f->skip_detail = detail;
}

static void add_layer(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_layer(struct walk *w, const char *fmt, ...)
{
    char *layers = w->f->layers;
    size_t cap = sizeof w->f->layers;
    if (w->layers_len + 1 >= cap)
        return;
    if (w->layers_len > 0)
        w->layers_len += (size_t)snprintf(layers + w->layers_len, cap - w->layers_len, ", ");
    if (w->layers_len >= cap) {
        w->layers_len = cap - 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(layers + w->layers_len, cap - w->layers_len, fmt, ap);
    va_end(ap);
    if (n > 0)
        w->layers_len += (size_t)n;
    if (w->layers_len >= cap)
        w->layers_len = cap - 1;
}

/* Each nested header costs one level; false (and the frame skipped) beyond the limit. */
static bool descend(struct walk *w)
{
    if (++w->depth > DISSECT_MAX_LAYERS) {
        skip(w, DISSECT_TOO_DEEP, DISSECT_MAX_LAYERS);
        return false;
    }
    return true;
}

static void set_address(struct sockaddr_storage *ss, int family, const uint8_t *addr)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, addr, 4);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, addr, 16);
    }
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static void from_ip(struct walk *w, struct cursor c);
static void from_ethernet(struct walk *w, struct cursor c);

/* ---- transport ---- */

static void from_udp(struct walk *w, struct cursor c)
{
    struct dissect_frame *f = w->f;
    if (f->fragment && f->frag_offset > 0) {
        f->kind = DISSECT_FRAGMENT;
        f->payload = c.p;
        f->payload_len = c.len;
        f->truncated = w->record_truncated;
        return;
    }
    if (c.len < UDP_HEADER_LEN) {
        skip(w, DISSECT_UDP_SHORT, (uint32_t)c.len);
        return;
    }
    f->kind = DISSECT_UDP;
    set_port(&f->src, be16(c.p));
    set_port(&f->dst, be16(c.p + 2));
    f->udp_length = be16(c.p + 4);
    f->udp_carried = c.len - UDP_HEADER_LEN;
    f->payload = c.p + UDP_HEADER_LEN;
    f->payload_len = f->udp_carried;
    if (f->fragment)
        return; /* the rest of the datagram is in later records */
    if (f->udp_length < UDP_HEADER_LEN) {
        f->udp_length_wrong = true;
        return;
    }
    size_t declared = f->udp_length - UDP_HEADER_LEN;
    if (declared < f->udp_carried) {
        f->udp_length_wrong = true;
        f->payload_len = declared;
    } else if (declared > f->udp_carried) {
        if (w->record_truncated)
            f->truncated = true;
        else
            f->udp_length_wrong = true;
    }
}

static bool icmp_is_error(int family, uint8_t type)
{
    if (family == AF_INET)
        return type == 3 || type == 4 || type == 11 || type == 12;
    return type >= 1 && type <= 4;
}

const char *dissect_icmp_name(int family, uint8_t type)
{
    if (family == AF_INET) {
        switch (type) {
        case 3:
            return "ICMP dest-unreachable";
        case 4:
            return "ICMP source-quench";
        case 11:
            return "ICMP time-exceeded";
        case 12:
            return "ICMP parameter-problem";
        default:
            return "ICMP";
        }
    }
    switch (type) {
    case 1:
        return "ICMPv6 dest-unreachable";
    case 2:
        return "ICMPv6 packet-too-big";
    case 3:
        return "ICMPv6 time-exceeded";
    case 4:
        return "ICMPv6 parameter-problem";
    default:
        return "ICMPv6";
    }
}

/* The datagram an ICMP error quotes: its addresses, its ports and what follows the UDP header.
 * Only the quoted IP header is read; a quote is never unwrapped further. */
static void from_quoted(struct walk *w, struct cursor c)
{
    struct dissect_frame *f = w->f;
    f->payload = c.p;
    f->payload_len = 0;
    if (c.len < 1)
        return;
    int version = c.p[0] >> 4;
    size_t header_len;
    uint8_t protocol;
    if (version == 4 && c.len >= IPV4_MIN_HEADER_LEN) {
        header_len = (size_t)(c.p[0] & 0x0f) * 4;
        if (header_len < IPV4_MIN_HEADER_LEN || header_len > c.len)
            return;
        protocol = c.p[9];
        set_address(&f->inner_src, AF_INET, c.p + 12);
        set_address(&f->inner_dst, AF_INET, c.p + 16);
    } else if (version == 6 && c.len >= IPV6_HEADER_LEN) {
        header_len = IPV6_HEADER_LEN;
        protocol = c.p[6];
        set_address(&f->inner_src, AF_INET6, c.p + 8);
        set_address(&f->inner_dst, AF_INET6, c.p + 24);
        /* socket_wrapper writes the outer next header (58) into the quoted IPv6 header although
         * a UDP header follows; it only ever quotes UDP or TCP, and an ICMPv6 error never
         * quotes an ICMPv6 error. */
        if (w->linktype == LINKTYPE_RAW && protocol == PROTO_ICMPV6)
            protocol = PROTO_UDP;
    } else {
        return;
    }
    struct cursor udp = advance(c, header_len);
    f->payload = udp.p;
    if (protocol != PROTO_UDP || udp.len < 4)
        return;
    f->inner_is_udp = true;
    set_port(&f->inner_src, be16(udp.p));
    set_port(&f->inner_dst, be16(udp.p + 2));
    if (udp.len < UDP_HEADER_LEN)
        return;
    size_t len = udp.len - UDP_HEADER_LEN;
    size_t declared = be16(udp.p + 4);
    if (declared >= UDP_HEADER_LEN && declared - UDP_HEADER_LEN < len)
        len = declared - UDP_HEADER_LEN;
    f->payload = udp.p + UDP_HEADER_LEN;
    f->payload_len = len;
}

static void from_icmp(struct walk *w, int family, struct cursor c)
{
    struct dissect_frame *f = w->f;
    if (c.len < ICMP_HEADER_LEN) {
        skip(w, DISSECT_IP_MALFORMED, MALFORMED_ICMP);
        return;
    }
    if (!icmp_is_error(family, c.p[0])) {
        skip(w, DISSECT_ICMP_OTHER, (family == AF_INET6 ? ICMP_DETAIL_V6 : 0) | c.p[0]);
        return;
    }
    f->kind = DISSECT_ICMP;
    f->icmp_type = c.p[0];
    f->icmp_code = c.p[1];
    f->truncated = w->record_truncated;
    from_quoted(w, advance(c, ICMP_HEADER_LEN));
}

static void from_gre(struct walk *w, struct cursor c)
{
    if (c.len < GRE_MIN_HEADER_LEN) {
        skip(w, DISSECT_GRE, GRE_DETAIL_SHORT);
        return;
    }
    uint16_t flags = be16(c.p);
    if ((flags & GRE_VERSION_MASK) != 0) {
        skip(w, DISSECT_GRE, flags & GRE_VERSION_MASK);
        return;
    }
    if (flags & GRE_ROUTING_PRESENT) {
        skip(w, DISSECT_GRE, GRE_DETAIL_ROUTING);
        return;
    }
    size_t header_len = GRE_MIN_HEADER_LEN;
    header_len += (flags & GRE_CHECKSUM_PRESENT) ? 4 : 0;
    header_len += (flags & GRE_KEY_PRESENT) ? 4 : 0;
    header_len += (flags & GRE_SEQ_PRESENT) ? 4 : 0;
    if (c.len < header_len) {
        skip(w, DISSECT_GRE, GRE_DETAIL_SHORT);
        return;
    }
    uint16_t protocol = be16(c.p + 2);
    add_layer(w, "GRE");
    struct cursor inner = advance(c, header_len);
    if (protocol == ETHERTYPE_TEB)
        from_ethernet(w, inner);
    else if (protocol == ETHERTYPE_IPV4 || protocol == ETHERTYPE_IPV6)
        from_ip(w, inner);
    else
        skip(w, DISSECT_NOT_IP, protocol);
}

static bool is_extension_header(int family, uint8_t next)
{
    if (next == PROTO_AH)
        return true;
    return family == AF_INET6 && (next == PROTO_HOPOPTS || next == PROTO_ROUTING ||
                                  next == PROTO_DSTOPTS || next == PROTO_FRAGMENT);
}

/* IPv6 extension headers (and AH in either family) up to the next protocol; false when the
 * frame was skipped. */
static bool walk_extensions(struct walk *w, int family, uint8_t *next, struct cursor *c)
{
    struct dissect_frame *f = w->f;
    for (unsigned count = 0; is_extension_header(family, *next); count++) {
        if (count == MAX_EXTENSION_HEADERS) {
            skip(w, DISSECT_TOO_DEEP, MAX_EXTENSION_HEADERS);
            return false;
        }
        if (c->len < IPV6_EXT_MIN_LEN) {
            skip(w, DISSECT_IP_MALFORMED, MALFORMED_EXTENSION | *next);
            return false;
        }
        size_t len;
        if (*next == PROTO_FRAGMENT) {
            len = IPV6_EXT_MIN_LEN;
            uint16_t offset_flags = be16(c->p + 2);
            f->fragment = true;
            f->frag_offset = offset_flags & 0xfff8;
            f->more_fragments = (offset_flags & 1) != 0;
            f->frag_id = be32(c->p + 4);
        } else if (*next == PROTO_AH) {
            len = ((size_t)c->p[1] + 2) * 4;
            add_layer(w, "AH spi 0x%08x", be32(c->p + 4));
        } else {
            len = ((size_t)c->p[1] + 1) * 8;
        }
        if (c->len < len) {
            skip(w, DISSECT_IP_MALFORMED, MALFORMED_EXTENSION | *next);
            return false;
        }
        *next = c->p[0];
        *c = advance(*c, len);
        if (f->fragment && f->frag_offset > 0)
            return true; /* a later fragment carries no further headers */
    }
    return true;
}

static void from_protocol(struct walk *w, int family, uint8_t protocol, struct cursor c)
{
    if (!walk_extensions(w, family, &protocol, &c))
        return;
    switch (protocol) {
    case PROTO_UDP:
        from_udp(w, c);
        return;
    case PROTO_ICMP:
    case PROTO_ICMPV6:
        if ((protocol == PROTO_ICMP) == (family == AF_INET) && !w->f->fragment) {
            from_icmp(w, family, c);
            return;
        }
        break;
    case PROTO_IPIP:
    case PROTO_IPV6:
        if (w->f->fragment)
            break;
        add_layer(w, "%s-in-%s", protocol == PROTO_IPIP ? "IPv4" : "IPv6",
                  family == AF_INET ? "IPv4" : "IPv6");
        from_ip(w, c);
        return;
    case PROTO_GRE:
        if (w->f->fragment)
            break;
        from_gre(w, c);
        return;
    case PROTO_ESP:
        skip(w, DISSECT_ENCRYPTED, protocol);
        return;
    default:
        break;
    }
    skip(w, DISSECT_PROTOCOL, protocol);
}

static void from_ipv4(struct walk *w, struct cursor c)
{
    struct dissect_frame *f = w->f;
    if (c.len < IPV4_MIN_HEADER_LEN) {
        skip(w, DISSECT_IP_MALFORMED, MALFORMED_IPV4);
        return;
    }
    size_t header_len = (size_t)(c.p[0] & 0x0f) * 4;
    if (header_len < IPV4_MIN_HEADER_LEN || header_len > c.len) {
        skip(w, DISSECT_IP_MALFORMED, MALFORMED_IPV4);
        return;
    }
    /* The total length drops Ethernet padding; a larger one means the record was cut. */
    size_t total_len = be16(c.p + 2);
    if (total_len >= header_len && total_len <= c.len)
        c.len = total_len;
    f->family = AF_INET;
    set_address(&f->src, AF_INET, c.p + 12);
    set_address(&f->dst, AF_INET, c.p + 16);
    uint16_t flags_offset = be16(c.p + 6);
    if ((flags_offset & 0x3fff) != 0) {
        f->fragment = true;
        f->more_fragments = (flags_offset & 0x2000) != 0;
        f->frag_offset = (uint32_t)(flags_offset & 0x1fff) * 8;
        f->frag_id = be16(c.p + 4);
    }
    from_protocol(w, AF_INET, c.p[9], advance(c, header_len));
}

static void from_ipv6(struct walk *w, struct cursor c)
{
    struct dissect_frame *f = w->f;
    if (c.len < IPV6_HEADER_LEN) {
        skip(w, DISSECT_IP_MALFORMED, MALFORMED_IPV6);
        return;
    }
    /* Trusted only when it fits: socket_wrapper writes the whole packet's length there. */
    size_t payload_len = be16(c.p + 4);
    if (IPV6_HEADER_LEN + payload_len <= c.len)
        c.len = IPV6_HEADER_LEN + payload_len;
    f->family = AF_INET6;
    set_address(&f->src, AF_INET6, c.p + 8);
    set_address(&f->dst, AF_INET6, c.p + 24);
    from_protocol(w, AF_INET6, c.p[6], advance(c, IPV6_HEADER_LEN));
}

static void from_ip(struct walk *w, struct cursor c)
{
    if (!descend(w))
        return;
    if (c.len == 0) {
        skip(w, DISSECT_IP_MALFORMED, MALFORMED_EMPTY);
        return;
    }
    switch (c.p[0] >> 4) {
    case 4:
        from_ipv4(w, c);
        return;
    case 6:
        from_ipv6(w, c);
        return;
    default:
        skip(w, DISSECT_IP_MALFORMED, MALFORMED_VERSION | (uint32_t)(c.p[0] >> 4));
        return;
    }
}

/* ---- link layer ---- */

static void from_mpls(struct walk *w, struct cursor c)
{
    for (;;) {
        if (!descend(w))
            return;
        if (c.len < MPLS_LABEL_LEN) {
            skip(w, DISSECT_LINK_SHORT, ETHERTYPE_MPLS);
            return;
        }
        uint32_t entry = be32(c.p);
        add_layer(w, "MPLS %u", (unsigned)(entry >> 12));
        c = advance(c, MPLS_LABEL_LEN);
        if (entry & 0x100) /* bottom of the label stack: IP follows, its version says which */
            break;
    }
    if (c.len > 0 && (c.p[0] >> 4 == 4 || c.p[0] >> 4 == 6))
        from_ip(w, c);
    else
        skip(w, DISSECT_NOT_IP, ETHERTYPE_MPLS);
}

static void from_ethertype(struct walk *w, uint16_t type, struct cursor c)
{
    switch (type) {
    case ETHERTYPE_IPV4:
    case ETHERTYPE_IPV6:
        from_ip(w, c);
        return;
    case ETHERTYPE_VLAN:
    case ETHERTYPE_QINQ:
    case ETHERTYPE_QINQ_OLD:
        if (!descend(w))
            return;
        if (c.len < VLAN_TAG_LEN) {
            skip(w, DISSECT_LINK_SHORT, type);
            return;
        }
        add_layer(w, "%s %u", type == ETHERTYPE_VLAN ? "802.1Q" : "802.1ad", be16(c.p) & 0x0fff);
        from_ethertype(w, be16(c.p + 2), advance(c, VLAN_TAG_LEN));
        return;
    case ETHERTYPE_MPLS:
    case ETHERTYPE_MPLS_MC:
        from_mpls(w, c);
        return;
    default:
        skip(w, DISSECT_NOT_IP, type);
        return;
    }
}

static void from_ethernet(struct walk *w, struct cursor c)
{
    if (!descend(w))
        return;
    if (c.len < ETHERNET_HEADER_LEN) {
        skip(w, DISSECT_LINK_SHORT, LINKTYPE_ETHERNET);
        return;
    }
    if (w->depth > 1)
        add_layer(w, "Ethernet");
    uint16_t type = be16(c.p + 12);
    c = advance(c, ETHERNET_HEADER_LEN);
    if (type >= ETHERTYPE_MIN_VALUE) {
        from_ethertype(w, type, c);
        return;
    }
    /* 802.3 with a length field: only LLC/SNAP with an EtherType can carry IP */
    static const uint8_t snap[] = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x00};
    if (c.len >= LLC_SNAP_HEADER_LEN && memcmp(c.p, snap, sizeof snap) == 0)
        from_ethertype(w, be16(c.p + 6), advance(c, LLC_SNAP_HEADER_LEN));
    else
        skip(w, DISSECT_NOT_IP, 0);
}

bool dissect_coap_port(uint16_t port, bool every_port, const uint16_t *ports, size_t count)
{
    if (port == 5683 || every_port) /* RFC 7252 12.6 */
        return true;
    for (size_t i = 0; i < count; i++)
        if (ports[i] == port)
            return true;
    return false;
}

bool dissect_linktype_known(int linktype)
{
    switch (linktype) {
    case LINKTYPE_RAW:
    case LINKTYPE_RAW_BSD:
    case LINKTYPE_RAW_BSD2:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
    case LINKTYPE_ETHERNET:
    case LINKTYPE_LINUX_SLL:
    case LINKTYPE_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

static void from_cooked(struct walk *w, struct cursor c, size_t header_len, size_t type_at)
{
    if (c.len < header_len) {
        skip(w, DISSECT_LINK_SHORT, (uint32_t)w->linktype);
        return;
    }
    from_ethertype(w, be16(c.p + type_at), advance(c, header_len));
}

void dissect_record(int linktype, const uint8_t *data, size_t caplen, size_t origlen,
                    struct dissect_frame *f)
{
    memset(f, 0, sizeof *f);
    struct walk w = {.f = f, .linktype = linktype, .record_truncated = caplen < origlen};
    struct cursor c = {data, caplen};
    switch (linktype) {
    case LINKTYPE_ETHERNET:
        from_ethernet(&w, c);
        break;
    case LINKTYPE_LINUX_SLL:
        from_cooked(&w, c, SLL_HEADER_LEN, 14);
        break;
    case LINKTYPE_LINUX_SLL2:
        from_cooked(&w, c, SLL2_HEADER_LEN, 0);
        break;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
        /* The header's address family is the writer's own (and in its byte order for NULL);
         * the IP version nibble says the same more portably. */
        if (c.len < NULL_HEADER_LEN)
            skip(&w, DISSECT_LINK_SHORT, (uint32_t)linktype);
        else
            from_ip(&w, advance(c, NULL_HEADER_LEN));
        break;
    default:
        if (dissect_linktype_known(linktype))
            from_ip(&w, c);
        else
            skip(&w, DISSECT_LINKTYPE, (uint32_t)linktype);
        break;
    }
}

static const char *ethertype_name(uint32_t type)
{
    switch (type) {
    case 0:
        return "802.3 LLC frame";
    case ETHERTYPE_ARP:
        return "ARP";
    case ETHERTYPE_LLDP:
        return "LLDP";
    case ETHERTYPE_MPLS:
        return "MPLS not carrying IP";
    case 0x88e5:
        return "MACsec";
    case 0x8864:
        return "PPPoE session";
    case 0x8863:
        return "PPPoE discovery";
    default:
        return NULL;
    }
}

static const char *protocol_name(uint32_t protocol)
{
    switch (protocol) {
    case PROTO_TCP:
        return "TCP";
    case PROTO_SCTP:
        return "SCTP";
    case PROTO_NONE:
        return "no next header";
    case 2:
        return "IGMP";
    case 89:
        return "OSPF";
    case 112:
        return "VRRP";
    case PROTO_ICMP:
        return "ICMP inside IPv6 or in a fragment";
    case PROTO_ICMPV6:
        return "ICMPv6 inside IPv4 or in a fragment";
    default:
        return NULL;
    }
}

static const char *icmp_other_name(uint32_t detail)
{
    switch (detail) {
    case 0:
        return "echo reply";
    case 8:
        return "echo request";
    case ICMP_DETAIL_V6 | 128:
        return "echo request";
    case ICMP_DETAIL_V6 | 129:
        return "echo reply";
    case ICMP_DETAIL_V6 | 130:
    case ICMP_DETAIL_V6 | 131:
    case ICMP_DETAIL_V6 | 132:
    case ICMP_DETAIL_V6 | 143:
        return "multicast listener discovery";
    case ICMP_DETAIL_V6 | 133:
        return "router solicitation";
    case ICMP_DETAIL_V6 | 134:
        return "router advertisement";
    case ICMP_DETAIL_V6 | 135:
        return "neighbour solicitation";
    case ICMP_DETAIL_V6 | 136:
        return "neighbour advertisement";
    default:
        return NULL;
    }
}

const char *dissect_skip_str(enum dissect_skip skip, uint32_t detail, char *buf, size_t cap)
{
    const char *name;
    switch (skip) {
    case DISSECT_KEPT:
        snprintf(buf, cap, "kept");
        break;
    case DISSECT_LINKTYPE:
        snprintf(buf, cap, "link type %u not decoded", (unsigned)detail);
        break;
    case DISSECT_LINK_SHORT:
        snprintf(buf, cap, "cut short inside its link-layer header");
        break;
    case DISSECT_NOT_IP:
        name = ethertype_name(detail);
        if (name != NULL)
            snprintf(buf, cap, "not IP (%s)", name);
        else
            snprintf(buf, cap, "not IP (EtherType 0x%04x)", (unsigned)detail);
        break;
    case DISSECT_IP_MALFORMED:
        switch (detail & 0xf00) {
        case MALFORMED_VERSION:
            snprintf(buf, cap, "IP version %u (neither 4 nor 6)", (unsigned)(detail & 0xff));
            break;
        case MALFORMED_EXTENSION:
            snprintf(buf, cap, "IPv6 extension header %u cut short", (unsigned)(detail & 0xff));
            break;
        case MALFORMED_ICMP:
            snprintf(buf, cap, "ICMP header cut short");
            break;
        default:
            if (detail == MALFORMED_IPV4)
                snprintf(buf, cap, "IPv4 header cut short or of a bad length");
            else if (detail == MALFORMED_IPV6)
                snprintf(buf, cap, "IPv6 header cut short");
            else
                snprintf(buf, cap, "empty IP packet");
            break;
        }
        break;
    case DISSECT_PROTOCOL:
        name = protocol_name(detail);
        if (name != NULL)
            snprintf(buf, cap, "IP protocol %u (%s)", (unsigned)detail, name);
        else
            snprintf(buf, cap, "IP protocol %u", (unsigned)detail);
        break;
    case DISSECT_ENCRYPTED:
        snprintf(buf, cap, "ESP (encrypted)");
        break;
    case DISSECT_GRE:
        if (detail == GRE_DETAIL_ROUTING)
            snprintf(buf, cap, "GRE with source routing (not decoded)");
        else if (detail == GRE_DETAIL_SHORT)
            snprintf(buf, cap, "GRE header cut short");
        else
            snprintf(buf, cap, "GRE version %u (not decoded)", (unsigned)detail);
        break;
    case DISSECT_TOO_DEEP:
        snprintf(buf, cap, "more than %u nested headers", (unsigned)detail);
        break;
    case DISSECT_ICMP_OTHER:
        name = icmp_other_name(detail);
        snprintf(buf, cap, "ICMP%s type %u (%s)", (detail & ICMP_DETAIL_V6) ? "v6" : "",
                 (unsigned)(detail & 0xff), name != NULL ? name : "not an error about a datagram");
        break;
    case DISSECT_UDP_SHORT:
        snprintf(buf, cap, "UDP header cut short (%u bytes)", (unsigned)detail);
        break;
    default:
        snprintf(buf, cap, "unknown cause");
        break;
    }
    return buf;
}
