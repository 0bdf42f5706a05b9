/* Unit tests for harness/capture.c: pcap files are built here with libpcap's writer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/capture.h"
#include "harness/inspect.h"
#include "harness/pcapfile.h"
#include "transports/coap/codec.h"

#define BASE_SECONDS 1700000000
#define BASE_MICROS  999950
#define STEP_MICROS  123

struct packet {
    uint8_t bytes[1600];
    size_t len;
};

static char temp_dir[64];

static const char *const file_names[] = {
    "main.pcap",  "lengths.pcap", "ether.pcap", "sll.pcap", "tshark.pcap",
    "empty.pcap", "garbage.pcap", "wifi.pcap",  "big.pcap",
};

static const char *temp_path(const char *name)
{
    static char paths[16][128];
    static unsigned next;
    char *path = paths[next++ % 16];
    snprintf(path, sizeof paths[0], "%s/%s", temp_dir, name);
    return path;
}

/* ---- packet builders ---- */

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void append(struct packet *p, const void *data, size_t len)
{
    assert_true(p->len + len <= sizeof p->bytes);
    if (len > 0)
        memcpy(p->bytes + p->len, data, len);
    p->len += len;
}

static void append_ip(struct packet *p, int family, const char *text)
{
    uint8_t addr[16];
    assert_int_equal(inet_pton(family, text, addr), 1);
    append(p, addr, family == AF_INET ? 4 : 16);
}

/* UDP header with a chosen length field and checksum 0, as socket_wrapper writes it. */
static struct packet udp_with_length(uint16_t sport, uint16_t dport, const void *payload,
                                     size_t len, size_t length_field)
{
    struct packet udp = {.len = 8};
    put16(udp.bytes, sport);
    put16(udp.bytes + 2, dport);
    put16(udp.bytes + 4, length_field);
    append(&udp, payload, len);
    return udp;
}

static struct packet udp(uint16_t sport, uint16_t dport, const void *payload, size_t len)
{
    return udp_with_length(sport, dport, payload, len, 8 + len);
}

/* IPv4 with header checksum 0 (socket_wrapper) and optional header options. */
static struct packet ipv4_with(const char *src, const char *dst, uint8_t protocol,
                               const struct packet *body, size_t option_words,
                               uint16_t fragment_field)
{
    struct packet p = {.len = 12};
    size_t header_len = 20 + option_words * 4;
    p.bytes[0] = (uint8_t)(0x40 | (header_len / 4));
    put16(p.bytes + 2, header_len + body->len);
    put16(p.bytes + 4, 0xffff);
    put16(p.bytes + 6, fragment_field);
    p.bytes[8] = 255;
    p.bytes[9] = protocol;
    append_ip(&p, AF_INET, src);
    append_ip(&p, AF_INET, dst);
    static const uint8_t no_options[40];
    append(&p, no_options, option_words * 4);
    append(&p, body->bytes, body->len);
    return p;
}

static struct packet ipv4(const char *src, const char *dst, uint8_t protocol,
                          const struct packet *body)
{
    return ipv4_with(src, dst, protocol, body, 0, 0x4000);
}

/* IPv6 the way socket_wrapper writes it: payload length holds the whole packet length and the
 * hop limit is 0. `ext` is a chain of extension headers whose last one points at `protocol`. */
static struct packet ipv6_with(const char *src, const char *dst, uint8_t first_header,
                               const void *ext, size_t ext_len, const struct packet *body)
{
    struct packet p = {.len = 8};
    p.bytes[0] = 0x60;
    put16(p.bytes + 4, 40 + ext_len + body->len);
    p.bytes[6] = first_header;
    p.bytes[7] = 0;
    append_ip(&p, AF_INET6, src);
    append_ip(&p, AF_INET6, dst);
    append(&p, ext, ext_len);
    append(&p, body->bytes, body->len);
    return p;
}

static struct packet ipv6(const char *src, const char *dst, uint8_t protocol,
                          const struct packet *body)
{
    return ipv6_with(src, dst, protocol, NULL, 0, body);
}

static struct packet icmp(uint8_t type, uint8_t code, const struct packet *quoted)
{
    struct packet p = {.len = 8};
    p.bytes[0] = type;
    p.bytes[1] = code;
    if (quoted != NULL)
        append(&p, quoted->bytes, quoted->len);
    return p;
}

static struct packet ethernet(uint16_t ethertype, bool vlan, const struct packet *body)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    struct packet p = {0};
    append(&p, macs, sizeof macs);
    if (vlan) {
        const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x2a};
        append(&p, tag, sizeof tag);
    }
    uint8_t type[2];
    put16(type, ethertype);
    append(&p, type, 2);
    append(&p, body->bytes, body->len);
    static const uint8_t padding[60];
    if (p.len < 60)
        append(&p, padding, 60 - p.len);
    return p;
}

static struct packet linux_cooked(uint16_t protocol, const struct packet *body)
{
    struct packet p = {.len = 16};
    put16(p.bytes, 0);       /* packet type: to us */
    put16(p.bytes + 2, 772); /* ARPHRD_LOOPBACK */
    put16(p.bytes + 14, protocol);
    append(&p, body->bytes, body->len);
    return p;
}

static void write_pcap(const char *name, int linktype, const struct packet *packets, size_t n)
{
    struct pcapfile_writer w;
    assert_int_equal(pcapfile_create(&w, temp_path(name), linktype, 65535), 0);
    for (size_t i = 0; i < n; i++) {
        long micros = BASE_MICROS + (long)i * STEP_MICROS;
        struct timespec ts = {.tv_sec = BASE_SECONDS + micros / 1000000,
                              .tv_nsec = (micros % 1000000) * 1000};
        assert_int_equal(pcapfile_write(&w, &ts, packets[i].bytes, (uint32_t)packets[i].len,
                                        (uint32_t)packets[i].len),
                         0);
    }
    assert_int_equal(pcapfile_finish(&w), 0);
}

static void write_text_file(const char *name, const char *text)
{
    FILE *f = fopen(temp_path(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- CoAP messages (hand-encoded) ---- */

/* CON GET mid=0x1a2b tok=0a0b Uri-Host:v4.test Uri-Path:hello */
static const uint8_t coap_get[] = {0x42, 0x01, 0x1a, 0x2b, 0x0a, 0x0b, 0x37, 'v', '4', '.',
                                   't',  'e',  's',  't',  0x85, 'h',  'e',  'l', 'l', 'o'};
/* ACK 2.05 mid=0x1a2b tok=0a0b Content-Format:0 Block2:3/1/64 payload "hi" */
static const uint8_t coap_content[] = {0x62, 0x45, 0x1a, 0x2b, 0x0a, 0x0b,
                                       0xc0, 0xb1, 0x3a, 0xff, 'h',  'i'};
/* NON POST mid=0x0001 no token, ETag:beef Uri-Path:"a b" option 65000:7f payload "abc" */
static const uint8_t coap_post[] = {0x50, 0x02, 0x00, 0x01, 0x42, 0xbe, 0xef, 0x73, 'a', ' ',
                                    'b',  0xe1, 0xfc, 0xd0, 0x7f, 0xff, 'a',  'b',  'c'};
/* CON GET mid=0x0002 tok=77 Uri-Path:v6 */
static const uint8_t coap_get_v6[] = {0x41, 0x01, 0x00, 0x02, 0x77, 0xb2, 'v', '6'};
/* version 0: not CoAP */
static const uint8_t not_coap[] = {0x00, 0x01, 0x02, 0x03};

/* Hop-by-hop header with a router-alert option, then UDP. */
static const uint8_t hop_by_hop[] = {IPPROTO_UDP, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00};

/* ---- fixture files ---- */

/* main.pcap (LINKTYPE_RAW), record by record:
 *  0 IPv4 CON GET            5 ICMPv4 3/3 quoting a CON GET to port 5684
 *  1 IPv4 ACK 2.05           6 ICMPv6 1/4 quoting a datagram to port 5684
 *  2 IPv6 NON POST           7 ICMPv6 1/3 as socket_wrapper writes it (quoted next header 58)
 *  3 IPv6 + hop-by-hop CON   8 ICMPv6 neighbour solicitation (skipped)
 *  4 IPv4 non-CoAP UDP       9 ICMPv4 echo request (skipped) */
static void write_main_pcap(void)
{
    struct packet b[10], quoted;
    b[0] = udp(40001, 5683, coap_get, sizeof coap_get);
    b[1] = udp(5683, 40001, coap_content, sizeof coap_content);
    b[2] = udp(40002, 5683, coap_post, sizeof coap_post);
    b[3] = udp(40003, 5683, coap_get_v6, sizeof coap_get_v6);
    b[4] = udp(40001, 5683, not_coap, sizeof not_coap);
    struct packet p[10];
    p[0] = ipv4("127.0.0.20", "127.0.0.10", IPPROTO_UDP, &b[0]);
    p[1] = ipv4("127.0.0.10", "127.0.0.20", IPPROTO_UDP, &b[1]);
    p[2] = ipv6("fd00::20", "fd00::10", IPPROTO_UDP, &b[2]);
    p[3] = ipv6_with("fd00::20", "fd00::10", IPPROTO_HOPOPTS, hop_by_hop, sizeof hop_by_hop, &b[3]);
    p[4] = ipv4("127.0.0.20", "127.0.0.10", IPPROTO_UDP, &b[4]);

    struct packet quoted_udp = udp(40001, 5684, coap_get, sizeof coap_get);
    quoted = ipv4("127.0.0.20", "127.0.0.10", IPPROTO_UDP, &quoted_udp);
    b[5] = icmp(3, 3, &quoted);
    p[5] = ipv4("127.0.0.10", "127.0.0.20", IPPROTO_ICMP, &b[5]);

    quoted_udp = udp(40002, 5684, coap_get_v6, sizeof coap_get_v6);
    quoted = ipv6("fd00::20", "fd00::10", IPPROTO_UDP, &quoted_udp);
    b[6] = icmp(1, 4, &quoted);
    p[6] = ipv6("fd00::10", "fd00::20", IPPROTO_ICMPV6, &b[6]);

    quoted = ipv6("fd00::20", "fd00::30", IPPROTO_ICMPV6, &quoted_udp);
    b[7] = icmp(1, 3, &quoted);
    p[7] = ipv6("fd00::30", "fd00::20", IPPROTO_ICMPV6, &b[7]);

    b[8] = icmp(135, 0, NULL);
    p[8] = ipv6("fe80::1", "ff02::1:ff00:2", IPPROTO_ICMPV6, &b[8]);
    b[9] = icmp(8, 0, NULL);
    p[9] = ipv4("127.0.0.20", "127.0.0.10", IPPROTO_ICMP, &b[9]);
    write_pcap("main.pcap", LINKTYPE_RAW, p, 10);
}

/* lengths.pcap (LINKTYPE_RAW):
 *  0 UDP length field larger than captured    4 later IPv4 fragment (skipped)
 *  1 UDP length field 0                       5 IPv4 with a truncated UDP header (skipped)
 *  2 UDP length field shorter than captured   6 IPv6 + destination options + first fragment
 *  3 IPv4 header with options (IHL 6) */
static void write_lengths_pcap(void)
{
    struct packet p[7], body;
    body = udp_with_length(1000, 5683, coap_get, sizeof coap_get, 8 + 100);
    p[0] = ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, &body);
    body = udp_with_length(1001, 5683, coap_get, sizeof coap_get, 0);
    p[1] = ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, &body);
    body = udp_with_length(1002, 5683, coap_get, sizeof coap_get, 8 + 4);
    p[2] = ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, &body);
    body = udp(1003, 5683, coap_get, sizeof coap_get);
    p[3] = ipv4_with("10.0.0.1", "10.0.0.2", IPPROTO_UDP, &body, 1, 0);
    p[4] = ipv4_with("10.0.0.1", "10.0.0.2", IPPROTO_UDP, &body, 0, 0x2001);
    struct packet truncated = {.len = 4};
    p[5] = ipv4("10.0.0.1", "10.0.0.2", IPPROTO_UDP, &truncated);
    static const uint8_t dest_options_then_fragment[] = {
        IPPROTO_FRAGMENT, 0, 0x01, 0x04, 0, 0, 0, 0, /* destination options, PadN */
        IPPROTO_UDP,      0, 0x00, 0x01, 0, 0, 0, 9, /* fragment offset 0, more fragments */
    };
    body = udp(1004, 5683, coap_get_v6, sizeof coap_get_v6);
    p[6] = ipv6_with("fd00::1", "fd00::2", IPPROTO_DSTOPTS, dest_options_then_fragment,
                     sizeof dest_options_then_fragment, &body);
    write_pcap("lengths.pcap", LINKTYPE_RAW, p, 7);
}

/* ether.pcap (LINKTYPE_ETHERNET): ARP, IPv6 CoAP, VLAN-tagged padded IPv4 CoAP, NDP. */
static void write_ether_pcap(void)
{
    struct packet p[4], body, ip;
    struct packet arp = {.len = 28};
    p[0] = ethernet(0x0806, false, &arp);
    body = udp(50000, 5683, coap_get_v6, sizeof coap_get_v6);
    ip = ipv6("fd00:1::1", "fd00:1::2", IPPROTO_UDP, &body);
    p[1] = ethernet(0x86dd, false, &ip);
    body = udp(50001, 5683, not_coap, 2);
    ip = ipv4("192.0.2.1", "192.0.2.2", IPPROTO_UDP, &body);
    p[2] = ethernet(0x0800, true, &ip);
    body = icmp(136, 0, NULL);
    ip = ipv6("fe80::1", "fe80::2", IPPROTO_ICMPV6, &body);
    p[3] = ethernet(0x86dd, false, &ip);
    write_pcap("ether.pcap", LINKTYPE_ETHERNET, p, 4);
}

static void write_sll_pcap(void)
{
    struct packet body = udp(40001, 5683, coap_get, sizeof coap_get);
    struct packet ip = ipv4("127.0.0.1", "127.0.0.1", IPPROTO_UDP, &body);
    struct packet p[2] = {linux_cooked(0x0800, &ip), linux_cooked(0x0806, &body)};
    write_pcap("sll.pcap", LINKTYPE_LINUX_SLL, p, 2);
}

/* Only CoAP datagrams on port 5683, so tshark's frames map one to one onto records. */
static void write_tshark_pcap(void)
{
    struct packet p[4], body;
    body = udp(40001, 5683, coap_get, sizeof coap_get);
    p[0] = ipv4("127.0.0.20", "127.0.0.10", IPPROTO_UDP, &body);
    body = udp(5683, 40001, coap_content, sizeof coap_content);
    p[1] = ipv4("127.0.0.10", "127.0.0.20", IPPROTO_UDP, &body);
    body = udp(40002, 5683, coap_post, sizeof coap_post);
    p[2] = ipv6("fd00::20", "fd00::10", IPPROTO_UDP, &body);
    body = udp(40003, 5683, coap_get_v6, sizeof coap_get_v6);
    p[3] = ipv6_with("fd00::20", "fd00::10", IPPROTO_HOPOPTS, hop_by_hop, sizeof hop_by_hop, &body);
    write_pcap("tshark.pcap", LINKTYPE_RAW, p, 4);
}

/* Many datagrams, enough to outgrow the first storage chunk and the first items array. */
static void write_big_pcap(void)
{
    enum { COUNT = 300 };
    static struct packet p[COUNT];
    uint8_t payload[1000];
    memset(payload, 'x', sizeof payload);
    memcpy(payload, coap_get, sizeof coap_get);
    payload[sizeof coap_get] = 0xff;
    for (size_t i = 0; i < COUNT; i++) {
        payload[2] = (uint8_t)(i >> 8);
        payload[3] = (uint8_t)i;
        struct packet body = udp(40000, 5683, payload, sizeof payload);
        p[i] = ipv4("127.0.0.1", "127.0.0.2", IPPROTO_UDP, &body);
    }
    write_pcap("big.pcap", LINKTYPE_RAW, p, COUNT);
}

static int setup_files(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/coapmx-test-capture-XXXXXX");
    if (mkdtemp(temp_dir) == NULL)
        return -1;
    write_main_pcap();
    write_lengths_pcap();
    write_ether_pcap();
    write_sll_pcap();
    write_tshark_pcap();
    write_big_pcap();
    write_text_file("empty.pcap", "");
    write_text_file("garbage.pcap", "this is not a capture file, just some text\n");
    struct packet nothing = {.len = 1};
    write_pcap("wifi.pcap", 105 /* LINKTYPE_IEEE802_11 */, &nothing, 1);
    return 0;
}

static int remove_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof file_names / sizeof file_names[0]; i++)
        unlink(temp_path(file_names[i]));
    return rmdir(temp_dir);
}

/* ---- helpers for assertions ---- */

static int load_state(void **state, const char *name)
{
    struct wire_capture *cap = malloc(sizeof *cap);
    char err[256] = "";
    if (cap == NULL || wire_capture_load(temp_path(name), cap, err, sizeof err) != 0) {
        fprintf(stderr, "load %s: %s\n", name, err);
        free(cap);
        return -1;
    }
    *state = cap;
    return 0;
}

static int load_main(void **state)
{
    return load_state(state, "main.pcap");
}

static int free_capture(void **state)
{
    wire_capture_free(*state);
    free(*state);
    return 0;
}

static struct sockaddr_storage addr(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
    }
    return ss;
}

static void assert_addr(const struct sockaddr_storage *ss, const char *expected)
{
    char text[80];
    wire_format_sockaddr((const struct sockaddr *)ss, text, sizeof text);
    assert_string_equal(text, expected);
}

static const char *format_line(const struct wire_capture *cap, size_t index)
{
    static char line[512];
    assert_true(index < cap->count);
    size_t len = wire_format(cap, &cap->items[index], line, sizeof line);
    assert_int_equal(len, strlen(line));
    return line;
}

static size_t count_with(const struct wire_capture *cap, struct wire_filter filter)
{
    return wire_count(cap, &filter);
}

/* ---- tests: main.pcap ---- */

static void test_main_counts(void **state)
{
    const struct wire_capture *cap = *state;
    assert_int_equal(cap->linktype, LINKTYPE_RAW);
    assert_int_equal(cap->count, 8);
    assert_int_equal(cap->skipped, 2);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(cap->items[i].kind, WIRE_UDP);
    for (size_t i = 5; i < 8; i++)
        assert_int_equal(cap->items[i].kind, WIRE_ICMP);
}

static void test_ipv4_datagrams(void **state)
{
    const struct wire_capture *cap = *state;
    const struct wire_datagram *get = &cap->items[0], *content = &cap->items[1];
    assert_int_equal(get->family, AF_INET);
    assert_addr(&get->src, "127.0.0.20:40001");
    assert_addr(&get->dst, "127.0.0.10:5683");
    assert_int_equal(get->payload_len, sizeof coap_get);
    assert_memory_equal(get->payload, coap_get, sizeof coap_get);
    assert_int_equal(get->coap_status, COAP_OK);
    assert_int_equal(get->coap.type, COAP_CON);
    assert_int_equal(get->coap.code, COAP_GET);
    assert_int_equal(get->coap.mid, 0x1a2b);
    assert_int_equal(get->coap.token_len, 2);
    assert_int_equal(get->coap.option_count, 2);
    assert_int_equal(get->coap.options[1].number, COAP_OPT_URI_PATH);
    assert_memory_equal(get->coap.options[1].value, "hello", 5);

    assert_int_equal(get->ts.tv_sec, BASE_SECONDS);
    assert_int_equal(get->ts.tv_usec, BASE_MICROS);
    assert_int_equal(content->coap.type, COAP_ACK);
    assert_int_equal(content->coap.code, COAP_CONTENT);
    assert_int_equal(content->coap.payload_len, 2);
    assert_memory_equal(content->coap.payload, "hi", 2);
}

static void test_ipv6_socket_wrapper_defects(void **state)
{
    const struct wire_capture *cap = *state;
    const struct wire_datagram *post = &cap->items[2];
    assert_int_equal(post->family, AF_INET6);
    assert_addr(&post->src, "[fd00::20]:40002");
    assert_addr(&post->dst, "[fd00::10]:5683");
    assert_int_equal(post->payload_len, sizeof coap_post);
    assert_int_equal(post->coap_status, COAP_OK);
    assert_int_equal(post->coap.type, COAP_NON);
    assert_int_equal(post->coap.code, COAP_POST);
    assert_int_equal(post->coap.token_len, 0);
    assert_int_equal(post->coap.payload_len, 3);
}

static void test_ipv6_hop_by_hop(void **state)
{
    const struct wire_capture *cap = *state;
    const struct wire_datagram *get = &cap->items[3];
    assert_addr(&get->src, "[fd00::20]:40003");
    assert_addr(&get->dst, "[fd00::10]:5683");
    assert_int_equal(get->payload_len, sizeof coap_get_v6);
    assert_int_equal(get->coap_status, COAP_OK);
    assert_int_equal(get->coap.mid, 2);
}

static void test_not_coap(void **state)
{
    const struct wire_capture *cap = *state;
    const struct wire_datagram *dg = &cap->items[4];
    assert_int_equal(dg->kind, WIRE_UDP);
    assert_int_equal(dg->payload_len, 4);
    assert_int_equal(dg->coap_status, COAP_ERR_VERSION);
}

static void test_icmpv4_unreachable(void **state)
{
    const struct wire_capture *cap = *state;
    const struct wire_datagram *dg = &cap->items[5];
    assert_int_equal(dg->family, AF_INET);
    assert_int_equal(dg->icmp_type, 3);
    assert_int_equal(dg->icmp_code, 3);
    assert_addr(&dg->src, "127.0.0.10:0");
    assert_addr(&dg->dst, "127.0.0.20:0");
    assert_addr(&dg->inner_src, "127.0.0.20:40001");
    assert_addr(&dg->inner_dst, "127.0.0.10:5684");
    assert_int_equal(dg->coap_status, COAP_OK); /* the quoted datagram */
    assert_int_equal(dg->coap.mid, 0x1a2b);
}

static void test_icmpv6_unreachable(void **state)
{
    const struct wire_capture *cap = *state;
    const struct wire_datagram *dg = &cap->items[6];
    assert_int_equal(dg->family, AF_INET6);
    assert_int_equal(dg->icmp_type, 1);
    assert_int_equal(dg->icmp_code, 4);
    assert_addr(&dg->inner_src, "[fd00::20]:40002");
    assert_addr(&dg->inner_dst, "[fd00::10]:5684");

    const struct wire_datagram *swrap = &cap->items[7];
    assert_int_equal(swrap->icmp_code, 3);
    assert_addr(&swrap->src, "[fd00::30]:0");
    assert_addr(&swrap->inner_src, "[fd00::20]:40002");
    assert_addr(&swrap->inner_dst, "[fd00::30]:5684");
}

static void test_filters(void **state)
{
    const struct wire_capture *cap = *state;
    struct wire_filter any = WIRE_FILTER_ANY;
    assert_int_equal(wire_count(cap, &any), 5);
    assert_int_equal(wire_count(cap, NULL), 5);

    struct wire_filter f = any;
    f.family = AF_INET;
    assert_int_equal(wire_count(cap, &f), 3);
    f.family = AF_INET6;
    assert_int_equal(wire_count(cap, &f), 2);
    f.include_icmp = true;
    assert_int_equal(wire_count(cap, &f), 4);
    f = any;
    f.include_icmp = true;
    assert_int_equal(wire_count(cap, &f), 8);

    f = any;
    f.coap_only = true;
    assert_int_equal(wire_count(cap, &f), 4);
    f = any;
    f.coap_type = COAP_CON;
    assert_int_equal(wire_count(cap, &f), 2);
    f.coap_type = COAP_ACK;
    assert_int_equal(wire_count(cap, &f), 1);
    f = any;
    f.coap_code = COAP_GET;
    assert_int_equal(wire_count(cap, &f), 2);
    f.coap_code = COAP_CONTENT;
    assert_int_equal(wire_count(cap, &f), 1);
}

static void test_address_filters(void **state)
{
    const struct wire_capture *cap = *state;
    struct wire_filter f = WIRE_FILTER_ANY;
    struct sockaddr_storage a = addr("127.0.0.20", 0);
    f.src = (const struct sockaddr *)&a;
    assert_int_equal(count_with(cap, f), 2);
    a = addr("127.0.0.20", 40001);
    assert_int_equal(count_with(cap, f), 2);
    a = addr("127.0.0.20", 40009);
    assert_int_equal(count_with(cap, f), 0);
    a = addr("::ffff:127.0.0.20", 0);
    assert_int_equal(count_with(cap, f), 0);

    struct wire_filter d = WIRE_FILTER_ANY;
    struct sockaddr_storage b = addr("fd00::10", 0);
    d.dst = (const struct sockaddr *)&b;
    assert_int_equal(count_with(cap, d), 2);
    b = addr("fd00::10", 5683);
    assert_int_equal(count_with(cap, d), 2);
    b = addr("fd00::10", 5684);
    assert_int_equal(count_with(cap, d), 0);
    b = addr("fd00::20", 0);
    d.include_icmp = true;
    assert_int_equal(count_with(cap, d), 2); /* the two ICMPv6 errors */

    a = addr("127.0.0.10", 5683);
    b = addr("127.0.0.20", 40001);
    f.dst = (const struct sockaddr *)&b;
    assert_int_equal(count_with(cap, f), 1);
}

static void test_find(void **state)
{
    const struct wire_capture *cap = *state;
    struct wire_filter f = WIRE_FILTER_ANY;
    f.coap_type = COAP_CON;
    const struct wire_datagram *dg = wire_find(cap, &f, 0);
    assert_ptr_equal(dg, &cap->items[0]);
    dg = wire_find(cap, &f, 1);
    assert_non_null(dg);
    assert_int_equal(dg->coap.mid, 2);
    assert_null(wire_find(cap, &f, 2));
    f = (struct wire_filter)WIRE_FILTER_ANY;
    f.include_icmp = true;
    assert_ptr_equal(wire_find(cap, &f, 7), &cap->items[7]);
    assert_null(wire_find(cap, &f, 8));
}

static void test_format_lines(void **state)
{
    const struct wire_capture *cap = *state;
    assert_string_equal(format_line(cap, 0),
                        "#1 0.000000  127.0.0.20:40001 -> 127.0.0.10:5683  CON GET mid=0x1a2b "
                        "tok=0a0b Uri-Host:v4.test Uri-Path:hello payload=0");
    assert_string_equal(format_line(cap, 1),
                        "#2 0.000123  127.0.0.10:5683 -> 127.0.0.20:40001  ACK 2.05 mid=0x1a2b "
                        "tok=0a0b Content-Format:0 Block2:3/1/64 payload=2");
    assert_string_equal(format_line(cap, 2),
                        "#3 0.000246  [fd00::20]:40002 -> [fd00::10]:5683  NON POST mid=0x0001 "
                        "tok=- ETag:beef Uri-Path:a\\x20b Opt65000:7f payload=3");
    char expected[128];
    snprintf(expected, sizeof expected,
             "#5 0.000492  127.0.0.20:40001 -> 127.0.0.10:5683  UDP 4 bytes (not CoAP: %s)",
             coap_status_str(COAP_ERR_VERSION));
    assert_string_equal(format_line(cap, 4), expected);
    assert_string_equal(format_line(cap, 5), "#6 0.000615  127.0.0.10 -> 127.0.0.20  ICMP "
                                             "dest-unreachable 3/3 about 127.0.0.20:40001 -> "
                                             "127.0.0.10:5684");
    assert_string_equal(format_line(cap, 6), "#7 0.000738  fd00::10 -> fd00::20  ICMPv6 "
                                             "dest-unreachable 1/4 about [fd00::20]:40002 -> "
                                             "[fd00::10]:5684");
}

static void test_format_truncates(void **state)
{
    const struct wire_capture *cap = *state;
    char full[256], small[16];
    size_t full_len = wire_format(cap, &cap->items[0], full, sizeof full);
    assert_true(full_len > sizeof small);
    assert_int_equal(wire_format(cap, &cap->items[0], small, sizeof small), sizeof small - 1);
    assert_memory_equal(small, full, sizeof small - 1);
    assert_int_equal(small[sizeof small - 1], '\0');
    assert_int_equal(wire_format(cap, &cap->items[0], NULL, 0), 0);
}

static void test_format_sockaddr(void **state)
{
    (void)state;
    char text[64];
    struct sockaddr_storage a = addr("127.0.0.1", 5683);
    assert_int_equal(wire_format_sockaddr((struct sockaddr *)&a, text, sizeof text), 14);
    assert_string_equal(text, "127.0.0.1:5683");
    a = addr("fd00::1", 5683);
    wire_format_sockaddr((struct sockaddr *)&a, text, sizeof text);
    assert_string_equal(text, "[fd00::1]:5683");
    a = addr("::ffff:10.0.0.1", 1);
    wire_format_sockaddr((struct sockaddr *)&a, text, sizeof text);
    assert_string_equal(text, "[::ffff:10.0.0.1]:1");
}

static char *read_stream(FILE *f)
{
    static char text[4096];
    rewind(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    return text;
}

static void test_print_pcap(void **state)
{
    const struct wire_capture *cap = *state;
    FILE *out = tmpfile();
    assert_non_null(out);
    struct inspect_options opt = {0};
    assert_int_equal(inspect_file(temp_path("main.pcap"), &opt, out, stderr), INSPECT_COMPLETE);
    const char *text = read_stream(out);
    size_t frames = text[0] == '#';
    for (const char *p = text; *p != '\0'; p++)
        frames += p[0] == '\n' && p[1] == '#';
    /* every record a line of its own, kept or skipped */
    assert_int_equal(frames, cap->count + cap->skipped);
    /* a cell's log and `coapmx pcap` print a CoAP datagram alike */
    char first[512];
    wire_format(cap, &cap->items[0], first, sizeof first);
    assert_memory_equal(text, first, strlen(first));
    assert_int_equal(text[strlen(first)], '\n');
    assert_non_null(strstr(text, "summary: 10 frames: "));
    fclose(out);
}

static void test_print_pcap_error(void **state)
{
    (void)state;
    FILE *out = tmpfile();
    assert_non_null(out);
    struct inspect_options opt = {0};
    assert_int_equal(inspect_file(temp_path("garbage.pcap"), &opt, out, stderr), INSPECT_UNUSABLE);
    assert_string_equal(read_stream(out), "");
    assert_int_equal(inspect_file(temp_path("no-such.pcap"), &opt, out, stderr), INSPECT_UNUSABLE);
    fclose(out);
}

/* ---- tests: other files ---- */

static void test_lengths(void **state)
{
    (void)state;
    struct wire_capture cap;
    char err[256];
    assert_int_equal(wire_capture_load(temp_path("lengths.pcap"), &cap, err, sizeof err), 0);
    assert_int_equal(cap.count, 5);
    assert_int_equal(cap.skipped, 2);
    assert_int_equal(cap.items[0].payload_len, sizeof coap_get);
    assert_int_equal(cap.items[1].payload_len, sizeof coap_get);
    assert_int_equal(cap.items[2].payload_len, 4);
    assert_int_equal(cap.items[2].coap_status, COAP_ERR_TOKEN_TRUNCATED);
    assert_addr(&cap.items[3].src, "10.0.0.1:1003");
    assert_int_equal(cap.items[3].coap_status, COAP_OK);
    assert_addr(&cap.items[4].src, "[fd00::1]:1004");
    assert_int_equal(cap.items[4].coap_status, COAP_OK);
    wire_capture_free(&cap);
}

static void test_ethernet(void **state)
{
    (void)state;
    struct wire_capture cap;
    char err[256];
    assert_int_equal(wire_capture_load(temp_path("ether.pcap"), &cap, err, sizeof err), 0);
    assert_int_equal(cap.linktype, LINKTYPE_ETHERNET);
    assert_int_equal(cap.count, 2);
    assert_int_equal(cap.skipped, 2);
    assert_int_equal(cap.items[0].family, AF_INET6);
    assert_addr(&cap.items[0].src, "[fd00:1::1]:50000");
    assert_addr(&cap.items[0].dst, "[fd00:1::2]:5683");
    assert_int_equal(cap.items[0].coap_status, COAP_OK);
    assert_int_equal(cap.items[0].coap.mid, 2);
    assert_int_equal(cap.items[1].family, AF_INET);
    assert_addr(&cap.items[1].src, "192.0.2.1:50001");
    assert_int_equal(cap.items[1].payload_len, 2); /* Ethernet padding excluded */
    assert_int_equal(cap.items[1].coap_status, COAP_ERR_TOO_SHORT);
    wire_capture_free(&cap);
}

static void test_linux_cooked(void **state)
{
    (void)state;
    struct wire_capture cap;
    char err[256];
    assert_int_equal(wire_capture_load(temp_path("sll.pcap"), &cap, err, sizeof err), 0);
    assert_int_equal(cap.linktype, LINKTYPE_LINUX_SLL);
    assert_int_equal(cap.count, 1);
    assert_int_equal(cap.skipped, 1);
    assert_int_equal(cap.items[0].coap.mid, 0x1a2b);
    wire_capture_free(&cap);
}

static void test_many_records_keep_pointers(void **state)
{
    (void)state;
    struct wire_capture cap;
    char err[256];
    assert_int_equal(wire_capture_load(temp_path("big.pcap"), &cap, err, sizeof err), 0);
    assert_int_equal(cap.count, 300);
    for (size_t i = 0; i < cap.count; i++) {
        const struct wire_datagram *dg = &cap.items[i];
        assert_int_equal(dg->payload_len, 1000);
        assert_int_equal(dg->coap_status, COAP_OK);
        assert_int_equal(dg->coap.mid, i);
        assert_memory_equal(dg->coap.options[1].value, "hello", 5);
        assert_int_equal(dg->coap.payload_len, 1000 - sizeof coap_get - 1);
    }
    wire_capture_free(&cap);
    assert_int_equal(cap.count, 0);
    assert_null(cap.items);
}

static void test_missing_and_empty_files(void **state)
{
    (void)state;
    struct wire_capture cap;
    char err[256] = "";
    assert_int_equal(wire_capture_load(temp_path("absent.pcap"), &cap, err, sizeof err), 0);
    assert_int_equal(cap.count, 0);
    assert_int_equal(wire_count(&cap, NULL), 0);
    assert_null(wire_find(&cap, NULL, 0));
    wire_capture_free(&cap);
    assert_int_equal(wire_capture_load(temp_path("empty.pcap"), &cap, err, sizeof err), 0);
    assert_int_equal(cap.count, 0);
    wire_capture_free(&cap);
}

static void test_bad_files(void **state)
{
    (void)state;
    struct wire_capture cap;
    char err[256] = "";
    assert_int_equal(wire_capture_load(temp_path("garbage.pcap"), &cap, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(cap.count, 0);
    wire_capture_free(&cap);

    err[0] = '\0';
    assert_int_equal(wire_capture_load(temp_path("wifi.pcap"), &cap, err, sizeof err), -1);
    assert_non_null(strstr(err, "unsupported link type"));

    err[0] = '\0';
    assert_int_equal(wire_capture_load(temp_dir, &cap, err, sizeof err), -1);
    assert_true(strlen(err) > 0);
    assert_int_equal(wire_capture_load(temp_path("garbage.pcap"), &cap, NULL, 0), -1);
}

/* ---- cross-check against tshark ---- */

static void test_tshark_agrees(void **state)
{
    (void)state;
    if (access("/usr/bin/tshark", X_OK) != 0)
        skip();
    struct wire_capture cap;
    char err[256];
    assert_int_equal(wire_capture_load(temp_path("tshark.pcap"), &cap, err, sizeof err), 0);
    char command[256];
    snprintf(command, sizeof command, "/usr/bin/tshark -r '%s' -T fields -e coap.mid 2>/dev/null",
             temp_path("tshark.pcap"));
    FILE *pipe = popen(command, "r");
    assert_non_null(pipe);
    char line[64];
    size_t frames = 0;
    while (fgets(line, sizeof line, pipe) != NULL) {
        assert_true(frames < cap.count);
        assert_int_equal(cap.items[frames].coap_status, COAP_OK);
        assert_int_equal(strtoul(line, NULL, 10), cap.items[frames].coap.mid);
        frames++;
    }
    assert_int_equal(pclose(pipe), 0);
    assert_int_equal(frames, cap.count);
    wire_capture_free(&cap);
}

int main(void)
{
    const struct CMUnitTest main_file_tests[] = {
        cmocka_unit_test_setup_teardown(test_main_counts, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_ipv4_datagrams, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_ipv6_socket_wrapper_defects, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_ipv6_hop_by_hop, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_not_coap, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_icmpv4_unreachable, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_icmpv6_unreachable, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_filters, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_address_filters, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_find, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_format_lines, load_main, free_capture),
        cmocka_unit_test_setup_teardown(test_format_truncates, load_main, free_capture),
        cmocka_unit_test(test_format_sockaddr),
        cmocka_unit_test_setup_teardown(test_print_pcap, load_main, free_capture),
        cmocka_unit_test(test_print_pcap_error),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_ethernet),
        cmocka_unit_test(test_linux_cooked),
        cmocka_unit_test(test_many_records_keep_pointers),
        cmocka_unit_test(test_missing_and_empty_files),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_tshark_agrees),
    };
    return cmocka_run_group_tests(main_file_tests, setup_files, remove_files);
}
