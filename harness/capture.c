/* Capture reader: pcap records -> wire_datagram list (see capture.h). */
#include "capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../transports/addr.h"
#include "pcapfile.h"

#define ETHERNET_HEADER_LEN      14
#define VLAN_TAG_LEN             4
#define SLL_HEADER_LEN           16
#define SLL2_HEADER_LEN          20
#define NULL_HEADER_LEN          4
#define IPV4_MIN_HEADER_LEN      20
#define IPV6_HEADER_LEN          40
#define IPV6_FRAGMENT_HEADER_LEN 8
#define UDP_HEADER_LEN           8
#define ICMP_HEADER_LEN          8

#define ETHERTYPE_IPV4_VALUE 0x0800
#define ETHERTYPE_IPV6_VALUE 0x86dd
#define ETHERTYPE_VLAN_VALUE 0x8100

#define ICMP4_DEST_UNREACHABLE 3
#define ICMP6_DEST_UNREACHABLE 1

#define STORAGE_CHUNK_SIZE 65536
#define PRINT_LINE_SIZE    512

struct bytes {
    const uint8_t *ptr;
    size_t len;
};

struct ip_packet {
    int family;
    struct sockaddr_storage src, dst;
    uint8_t protocol;
    bool later_fragment; /* carries no transport header */
    struct bytes transport;
};

/* Packet bytes live in chunks that are never moved, so coap_msg pointers stay valid. */
struct storage_chunk {
    struct storage_chunk *next;
    size_t size, used;
    uint8_t data[];
};

struct loader {
    struct wire_capture *cap;
    int record_linktype;
    size_t items_capacity;
    bool out_of_memory;
};

/* Accumulates formatted text in a caller buffer, tracking the length a full line would need. */
struct line {
    char *buf;
    size_t cap, len, needed;
};

static uint16_t read_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static bool bytes_skip(struct bytes *b, size_t n)
{
    if (b->len < n)
        return false;
    b->ptr += n;
    b->len -= n;
    return true;
}

static void set_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* ---- link layer ---- */

static bool linktype_supported(int linktype)
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

static bool ethertype_is_ip(uint16_t ethertype)
{
    return ethertype == ETHERTYPE_IPV4_VALUE || ethertype == ETHERTYPE_IPV6_VALUE;
}

static bool ethernet_payload(struct bytes *frame)
{
    if (frame->len < ETHERNET_HEADER_LEN)
        return false;
    uint16_t ethertype = read_be16(frame->ptr + 12);
    size_t header_len = ETHERNET_HEADER_LEN;
    if (ethertype == ETHERTYPE_VLAN_VALUE) {
        if (frame->len < ETHERNET_HEADER_LEN + VLAN_TAG_LEN)
            return false;
        ethertype = read_be16(frame->ptr + 16);
        header_len += VLAN_TAG_LEN;
    }
    return ethertype_is_ip(ethertype) && bytes_skip(frame, header_len);
}

static bool cooked_payload(struct bytes *frame, size_t header_len, size_t protocol_offset)
{
    if (frame->len < header_len)
        return false;
    return ethertype_is_ip(read_be16(frame->ptr + protocol_offset)) &&
           bytes_skip(frame, header_len);
}

/* Strips the link-layer header; false when the frame does not carry IPv4 or IPv6. */
static bool link_payload(int linktype, struct bytes *frame)
{
    switch (linktype) {
    case LINKTYPE_ETHERNET:
        return ethernet_payload(frame);
    case LINKTYPE_LINUX_SLL:
        return cooked_payload(frame, SLL_HEADER_LEN, 14);
    case LINKTYPE_LINUX_SLL2:
        return cooked_payload(frame, SLL2_HEADER_LEN, 0);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
        /* the IP version nibble tells the family; the header's AF value is OS-specific */
        return bytes_skip(frame, NULL_HEADER_LEN);
    default:
        return true;
    }
}

/* ---- IP layer ---- */

static void set_ipv4_address(struct sockaddr_storage *ss, const uint8_t *addr, uint16_t port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof *ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    memcpy(&sin->sin_addr, addr, 4);
}

static void set_ipv6_address(struct sockaddr_storage *ss, const uint8_t *addr, uint16_t port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof *ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    memcpy(&sin6->sin6_addr, addr, 16);
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* The total-length field is ignored: the capture length and the UDP length decide. */
static bool parse_ipv4(struct bytes pkt, struct ip_packet *ip)
{
    if (pkt.len < IPV4_MIN_HEADER_LEN)
        return false;
    size_t header_len = (size_t)(pkt.ptr[0] & 0x0f) * 4;
    if (header_len < IPV4_MIN_HEADER_LEN || header_len > pkt.len)
        return false;
    ip->family = AF_INET;
    ip->protocol = pkt.ptr[9];
    ip->later_fragment = (read_be16(pkt.ptr + 6) & 0x1fff) != 0;
    set_ipv4_address(&ip->src, pkt.ptr + 12, 0);
    set_ipv4_address(&ip->dst, pkt.ptr + 16, 0);
    ip->transport = (struct bytes){pkt.ptr + header_len, pkt.len - header_len};
    return true;
}

static bool is_ipv6_extension(uint8_t next_header)
{
    return next_header == IPPROTO_HOPOPTS || next_header == IPPROTO_ROUTING ||
           next_header == IPPROTO_DSTOPTS || next_header == IPPROTO_FRAGMENT;
}

static size_t ipv6_extension_len(uint8_t next_header, const uint8_t *ext)
{
    if (next_header == IPPROTO_FRAGMENT)
        return IPV6_FRAGMENT_HEADER_LEN;
    return ((size_t)ext[1] + 1) * 8;
}

/* The payload-length field is ignored (socket_wrapper stores the whole packet length there). */
static bool parse_ipv6(struct bytes pkt, struct ip_packet *ip)
{
    if (pkt.len < IPV6_HEADER_LEN)
        return false;
    ip->family = AF_INET6;
    ip->later_fragment = false;
    set_ipv6_address(&ip->src, pkt.ptr + 8, 0);
    set_ipv6_address(&ip->dst, pkt.ptr + 24, 0);
    uint8_t next = pkt.ptr[6];
    struct bytes rest = {pkt.ptr + IPV6_HEADER_LEN, pkt.len - IPV6_HEADER_LEN};
    while (is_ipv6_extension(next) && !ip->later_fragment) {
        if (rest.len < 8)
            return false;
        if (next == IPPROTO_FRAGMENT)
            ip->later_fragment = (read_be16(rest.ptr + 2) & 0xfff8) != 0;
        size_t ext_len = ipv6_extension_len(next, rest.ptr);
        next = rest.ptr[0];
        if (!bytes_skip(&rest, ext_len))
            return false;
    }
    ip->protocol = next;
    ip->transport = rest;
    return true;
}

static bool parse_ip(struct bytes pkt, struct ip_packet *ip)
{
    if (pkt.len == 0)
        return false;
    switch (pkt.ptr[0] >> 4) {
    case 4:
        return parse_ipv4(pkt, ip);
    case 6:
        return parse_ipv6(pkt, ip);
    default:
        return false;
    }
}

/* ---- storage ---- */

static const uint8_t *store_bytes(struct wire_capture *cap, struct bytes b)
{
    struct storage_chunk *chunk = cap->storage;
    if (chunk == NULL || chunk->size - chunk->used < b.len) {
        size_t size = b.len > STORAGE_CHUNK_SIZE ? b.len : STORAGE_CHUNK_SIZE;
        chunk = malloc(sizeof *chunk + size);
        if (chunk == NULL)
            return NULL;
        chunk->next = cap->storage;
        chunk->size = size;
        chunk->used = 0;
        cap->storage = chunk;
    }
    uint8_t *dst = chunk->data + chunk->used;
    if (b.len > 0)
        memcpy(dst, b.ptr, b.len);
    chunk->used += b.len;
    return dst;
}

static void free_storage(struct storage_chunk *chunk)
{
    while (chunk != NULL) {
        struct storage_chunk *next = chunk->next;
        free(chunk);
        chunk = next;
    }
}

static struct wire_datagram *append_item(struct loader *ld)
{
    struct wire_capture *cap = ld->cap;
    if (cap->count == ld->items_capacity) {
        size_t capacity = ld->items_capacity ? ld->items_capacity * 2 : 64;
        struct wire_datagram *items = realloc(cap->items, capacity * sizeof *items);
        if (items == NULL)
            return NULL;
        cap->items = items;
        ld->items_capacity = capacity;
    }
    return &cap->items[cap->count++];
}

/* ---- transport layer ---- */

static struct bytes udp_payload(struct bytes udp)
{
    size_t captured = udp.len - UDP_HEADER_LEN;
    size_t declared = read_be16(udp.ptr + 4);
    size_t len = captured;
    if (declared >= UDP_HEADER_LEN && declared - UDP_HEADER_LEN <= captured)
        len = declared - UDP_HEADER_LEN;
    return (struct bytes){udp.ptr + UDP_HEADER_LEN, len};
}

/* Copies the payload into the capture's storage and decodes it as CoAP. */
static bool attach_payload(struct loader *ld, struct wire_datagram *dg, struct bytes payload)
{
    const uint8_t *copy = store_bytes(ld->cap, payload);
    if (copy == NULL) {
        ld->out_of_memory = true;
        return false;
    }
    dg->payload = copy;
    dg->payload_len = payload.len;
    dg->coap_status = coap_parse(copy, payload.len, &dg->coap);
    return true;
}

static bool decode_udp(struct loader *ld, const struct ip_packet *ip, struct wire_datagram *dg)
{
    set_port(&dg->src, read_be16(ip->transport.ptr));
    set_port(&dg->dst, read_be16(ip->transport.ptr + 2));
    return attach_payload(ld, dg, udp_payload(ip->transport));
}

static bool is_dest_unreachable(const struct ip_packet *ip)
{
    if (ip->transport.len < ICMP_HEADER_LEN)
        return false;
    uint8_t type = ip->transport.ptr[0];
    if (ip->family == AF_INET)
        return ip->protocol == IPPROTO_ICMP && type == ICMP4_DEST_UNREACHABLE;
    return ip->protocol == IPPROTO_ICMPV6 && type == ICMP6_DEST_UNREACHABLE;
}

/* socket_wrapper writes the outer next header (58) into the quoted IPv6 header although a UDP
 * header follows; it only ever quotes UDP or TCP, and ICMPv6 errors never quote ICMPv6 errors. */
static bool quoted_is_udp(const struct loader *ld, const struct ip_packet *inner)
{
    if (inner->protocol == IPPROTO_UDP)
        return true;
    return ld->record_linktype == LINKTYPE_RAW && inner->family == AF_INET6 &&
           inner->protocol == IPPROTO_ICMPV6;
}

static bool decode_quoted(struct loader *ld, struct bytes quoted, struct wire_datagram *dg)
{
    struct ip_packet inner;
    if (!parse_ip(quoted, &inner))
        return attach_payload(ld, dg, (struct bytes){quoted.ptr, 0});
    dg->inner_src = inner.src;
    dg->inner_dst = inner.dst;
    struct bytes udp = inner.transport;
    if (inner.later_fragment || !quoted_is_udp(ld, &inner) || udp.len < 4)
        return attach_payload(ld, dg, (struct bytes){udp.ptr, 0});
    set_port(&dg->inner_src, read_be16(udp.ptr));
    set_port(&dg->inner_dst, read_be16(udp.ptr + 2));
    struct bytes payload = {udp.ptr, 0};
    if (udp.len >= UDP_HEADER_LEN)
        payload = udp_payload(udp);
    return attach_payload(ld, dg, payload);
}

static bool decode_icmp(struct loader *ld, const struct ip_packet *ip, struct wire_datagram *dg)
{
    dg->kind = WIRE_ICMP;
    dg->icmp_type = ip->transport.ptr[0];
    dg->icmp_code = ip->transport.ptr[1];
    struct bytes quoted = ip->transport;
    bytes_skip(&quoted, ICMP_HEADER_LEN);
    return decode_quoted(ld, quoted, dg);
}

/* The record's IP packet, when it is a complete-enough UDP datagram or an ICMP unreachable. */
static bool wanted_packet(int linktype, struct bytes frame, struct ip_packet *ip)
{
    if (!link_payload(linktype, &frame) || !parse_ip(frame, ip) || ip->later_fragment)
        return false;
    if (ip->protocol == IPPROTO_UDP)
        return ip->transport.len >= UDP_HEADER_LEN;
    return is_dest_unreachable(ip);
}

static void add_record(struct loader *ld, const struct pcapfile_record *rec)
{
    struct ip_packet ip;
    ld->record_linktype = rec->linktype;
    if (!linktype_supported(rec->linktype) ||
        !wanted_packet(rec->linktype, (struct bytes){rec->data, rec->caplen}, &ip)) {
        ld->cap->skipped++;
        return;
    }
    struct wire_datagram *dg = append_item(ld);
    if (dg == NULL) {
        ld->out_of_memory = true;
        return;
    }
    memset(dg, 0, sizeof *dg);
    dg->ts = (struct timeval){.tv_sec = rec->ts.tv_sec, .tv_usec = rec->ts.tv_nsec / 1000};
    dg->kind = WIRE_UDP;
    dg->family = ip.family;
    dg->src = ip.src;
    dg->dst = ip.dst;
    bool decoded = ip.protocol == IPPROTO_UDP ? decode_udp(ld, &ip, dg) : decode_icmp(ld, &ip, dg);
    if (!decoded)
        ld->cap->count--;
}

/* ---- loading ---- */

static int read_records(struct pcapfile_reader *reader, struct wire_capture *cap, char *errbuf,
                        size_t errlen)
{
    cap->linktype = pcapfile_linktype(reader);
    /* One unsupported link type makes a pcap useless; in a pcapng it is one interface's. */
    if (reader->format == PCAPFILE_PCAP && !linktype_supported(cap->linktype)) {
        set_error(errbuf, errlen, "unsupported link type %d", cap->linktype);
        return -1;
    }
    struct loader ld = {.cap = cap};
    struct pcapfile_record rec;
    int rc;
    while ((rc = pcapfile_next(reader, &rec)) > 0) {
        if (cap->linktype < 0)
            cap->linktype = rec.linktype;
        add_record(&ld, &rec);
        if (ld.out_of_memory) {
            set_error(errbuf, errlen, "out of memory");
            return -1;
        }
    }
    if (rc < 0) {
        set_error(errbuf, errlen, "%s", reader->error);
        return -1;
    }
    return 0;
}

/* A file that exists but is still empty has not received its pcap header yet. */
static bool file_is_empty(FILE *fp)
{
    struct stat st;
    return fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

int wire_capture_load(const char *path, struct wire_capture *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->linktype = -1;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        if (errno == ENOENT)
            return 0;
        set_error(errbuf, errlen, "%s", strerror(errno));
        return -1;
    }
    if (file_is_empty(fp)) {
        fclose(fp);
        return 0;
    }
    struct pcapfile_reader reader;
    int rc = pcapfile_open(&reader, fp);
    if (rc != 0)
        set_error(errbuf, errlen, "%s", reader.error);
    else
        rc = read_records(&reader, out, errbuf, errlen);
    pcapfile_close(&reader);
    fclose(fp);
    if (rc != 0) {
        wire_capture_free(out);
        out->linktype = -1;
    }
    return rc;
}

void wire_capture_free(struct wire_capture *cap)
{
    if (cap == NULL)
        return;
    free(cap->items);
    free_storage(cap->storage);
    memset(cap, 0, sizeof *cap);
}

/* ---- filtering ---- */

static bool address_matches(const struct sockaddr *want, const struct sockaddr_storage *have)
{
    if (want == NULL)
        return true;
    const struct sockaddr *sa = (const struct sockaddr *)have;
    uint16_t port = coapmx_sockaddr_port(want);
    return coapmx_sockaddr_same_ip(want, sa) && (port == 0 || port == coapmx_sockaddr_port(sa));
}

static bool coap_matches(const struct wire_datagram *dg, const struct wire_filter *f)
{
    bool needs_coap = f->coap_only || f->coap_type >= 0 || f->coap_code >= 0;
    if (!needs_coap)
        return true;
    if (dg->coap_status != COAP_OK)
        return false;
    return (f->coap_type < 0 || (int)dg->coap.type == f->coap_type) &&
           (f->coap_code < 0 || dg->coap.code == f->coap_code);
}

static bool datagram_matches(const struct wire_datagram *dg, const struct wire_filter *f)
{
    if (f == NULL)
        return dg->kind == WIRE_UDP;
    if (dg->kind == WIRE_ICMP && !f->include_icmp)
        return false;
    if (f->family != 0 && dg->family != f->family)
        return false;
    return address_matches(f->src, &dg->src) && address_matches(f->dst, &dg->dst) &&
           coap_matches(dg, f);
}

size_t wire_count(const struct wire_capture *cap, const struct wire_filter *filter)
{
    size_t matches = 0;
    for (size_t i = 0; i < cap->count; i++)
        matches += datagram_matches(&cap->items[i], filter);
    return matches;
}

const struct wire_datagram *wire_find(const struct wire_capture *cap,
                                      const struct wire_filter *filter, size_t nth)
{
    for (size_t i = 0; i < cap->count; i++) {
        if (datagram_matches(&cap->items[i], filter) && nth-- == 0)
            return &cap->items[i];
    }
    return NULL;
}

/* ---- formatting ---- */

static void line_append(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line_append(struct line *l, const char *fmt, ...)
{
    size_t room = l->cap > l->len ? l->cap - l->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room > 0 ? l->buf + l->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->needed += (size_t)n;
    if (room > 0)
        l->len += (size_t)n < room ? (size_t)n : room - 1;
}

static void line_append_host(struct line *l, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    line_append(l, "%s", host);
}

static void line_append_sockaddr(struct line *l, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        line_append_host(l, sa);
        line_append(l, ":%u", (unsigned)coapmx_sockaddr_port(sa));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        line_append(l, "[");
        line_append_host(l, sa);
        if (sin6->sin6_scope_id != 0)
            line_append(l, "%%%u", (unsigned)sin6->sin6_scope_id);
        line_append(l, "]:%u", (unsigned)coapmx_sockaddr_port(sa));
    } else {
        line_append(l, "?");
    }
}

size_t wire_format_sockaddr(const struct sockaddr *sa, char *buf, size_t cap)
{
    struct line l = {.buf = buf, .cap = cap};
    if (cap > 0)
        buf[0] = '\0';
    line_append_sockaddr(&l, sa);
    return l.len;
}

static void line_append_hex(struct line *l, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        line_append(l, "%02x", data[i]);
}

/* Bytes outside printable ASCII (and the space) are escaped so a line stays one token. */
static void line_append_text(struct line *l, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\\')
            line_append(l, "\\\\");
        else if (data[i] > 0x20 && data[i] < 0x7f)
            line_append(l, "%c", data[i]);
        else
            line_append(l, "\\x%02x", data[i]);
    }
}

enum option_format { OPTION_HEX, OPTION_TEXT, OPTION_UINT, OPTION_BLOCK };

static enum option_format option_format(uint16_t number)
{
    switch (number) {
    case COAP_OPT_URI_HOST:
    case COAP_OPT_LOCATION_PATH:
    case COAP_OPT_URI_PATH:
    case COAP_OPT_URI_QUERY:
    case COAP_OPT_LOCATION_QUERY:
    case COAP_OPT_PROXY_URI:
    case COAP_OPT_PROXY_SCHEME:
        return OPTION_TEXT;
    case COAP_OPT_OBSERVE:
    case COAP_OPT_URI_PORT:
    case COAP_OPT_CONTENT_FORMAT:
    case COAP_OPT_MAX_AGE:
    case COAP_OPT_ACCEPT:
    case COAP_OPT_SIZE2:
    case COAP_OPT_SIZE1:
        return OPTION_UINT;
    case COAP_OPT_BLOCK1:
    case COAP_OPT_BLOCK2:
        return OPTION_BLOCK;
    default:
        return OPTION_HEX;
    }
}

static void line_append_block(struct line *l, uint32_t value)
{
    unsigned szx = value & 0x7;
    line_append(l, "%lu/%u/", (unsigned long)(value >> 4), (unsigned)((value >> 3) & 1));
    if (szx == 7)
        line_append(l, "bert");
    else
        line_append(l, "%u", 16u << szx);
}

static void line_append_option(struct line *l, const struct coap_option *opt)
{
    const char *name = coap_option_name(opt->number);
    enum option_format format = option_format(opt->number);
    if (name == NULL || ((format == OPTION_UINT || format == OPTION_BLOCK) && opt->length > 4))
        format = OPTION_HEX;
    if (name != NULL)
        line_append(l, " %s:", name);
    else
        line_append(l, " Opt%u:", (unsigned)opt->number);
    switch (format) {
    case OPTION_TEXT:
        line_append_text(l, opt->value, opt->length);
        break;
    case OPTION_UINT:
        line_append(l, "%lu", (unsigned long)coap_option_uint(opt));
        break;
    case OPTION_BLOCK:
        line_append_block(l, coap_option_uint(opt));
        break;
    case OPTION_HEX:
        line_append_hex(l, opt->value, opt->length);
        break;
    }
}

static void line_append_coap(struct line *l, const struct coap_msg *msg)
{
    char code[16];
    line_append(l, "%s %s mid=0x%04x tok=", coap_type_name(msg->type),
                coap_code_str(msg->code, code, sizeof code), (unsigned)msg->mid);
    if (msg->token_len == 0)
        line_append(l, "-");
    else
        line_append_hex(l, msg->token, msg->token_len);
    for (size_t i = 0; i < msg->option_count; i++)
        line_append_option(l, &msg->options[i]);
    line_append(l, " payload=%zu", msg->payload_len);
}

static void line_append_icmp(struct line *l, const struct wire_datagram *dg)
{
    line_append(l, "%s dest-unreachable %u/%u about ", dg->family == AF_INET6 ? "ICMPv6" : "ICMP",
                (unsigned)dg->icmp_type, (unsigned)dg->icmp_code);
    line_append_sockaddr(l, (const struct sockaddr *)&dg->inner_src);
    line_append(l, " -> ");
    line_append_sockaddr(l, (const struct sockaddr *)&dg->inner_dst);
}

static void line_append_relative_time(struct line *l, struct timeval ts, struct timeval origin)
{
    long long micros = (long long)(ts.tv_sec - origin.tv_sec) * 1000000LL +
                       (long long)(ts.tv_usec - origin.tv_usec);
    const char *sign = micros < 0 ? "-" : "";
    if (micros < 0)
        micros = -micros;
    line_append(l, "%s%lld.%06lld", sign, micros / 1000000LL, micros % 1000000LL);
}

static void line_append_endpoints(struct line *l, const struct wire_datagram *dg)
{
    const struct sockaddr *src = (const struct sockaddr *)&dg->src;
    const struct sockaddr *dst = (const struct sockaddr *)&dg->dst;
    if (dg->kind == WIRE_ICMP) {
        /* the ICMP packet itself has no ports */
        line_append_host(l, src);
        line_append(l, " -> ");
        line_append_host(l, dst);
    } else {
        line_append_sockaddr(l, src);
        line_append(l, " -> ");
        line_append_sockaddr(l, dst);
    }
}

static void format_datagram(const struct wire_capture *cap, const struct wire_datagram *dg,
                            struct line *l)
{
    struct timeval origin = cap != NULL && cap->count > 0 ? cap->items[0].ts : dg->ts;
    line_append_relative_time(l, dg->ts, origin);
    line_append(l, "  ");
    line_append_endpoints(l, dg);
    line_append(l, "  ");
    if (dg->kind == WIRE_ICMP)
        line_append_icmp(l, dg);
    else if (dg->coap_status == COAP_OK)
        line_append_coap(l, &dg->coap);
    else
        line_append(l, "UDP %zu bytes (not CoAP: %s)", dg->payload_len,
                    coap_status_str(dg->coap_status));
}

size_t wire_format(const struct wire_capture *cap, const struct wire_datagram *dg, char *buf,
                   size_t cap_len)
{
    struct line l = {.buf = buf, .cap = cap_len};
    if (cap_len > 0)
        buf[0] = '\0';
    format_datagram(cap, dg, &l);
    return l.len;
}

static int print_datagram(const struct wire_capture *cap, const struct wire_datagram *dg, FILE *out)
{
    char small[PRINT_LINE_SIZE];
    struct line l = {.buf = small, .cap = sizeof small};
    format_datagram(cap, dg, &l);
    if (l.needed < sizeof small)
        return fprintf(out, "%s\n", small) < 0 ? -1 : 0;
    char *big = malloc(l.needed + 1);
    if (big == NULL)
        return -1;
    l = (struct line){.buf = big, .cap = l.needed + 1};
    format_datagram(cap, dg, &l);
    int rc = fprintf(out, "%s\n", big) < 0 ? -1 : 0;
    free(big);
    return rc;
}

int wire_print_pcap(const char *path, FILE *out)
{
    struct wire_capture cap;
    char err[320];
    if (wire_capture_load(path, &cap, err, sizeof err) != 0) {
        fprintf(stderr, "coapmx pcap: %s: %s\n", path, err);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < cap.count && rc == 0; i++)
        rc = print_datagram(&cap, &cap.items[i], out);
    wire_capture_free(&cap);
    if (rc != 0)
        fprintf(stderr, "coapmx pcap: %s: %s\n", path, strerror(errno ? errno : EIO));
    return rc;
}
