#include "peer.h"

#include <errno.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <stdarg.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../transports/addr.h"
#include "../transports/transport.h"
#include "../transports/coap/codec.h"
#include "linkframes.h"
#include "pcapfile.h"
#include "report.h"

#define PEER_MAX_SOCKETS   16
#define PEER_IDLE_LIMIT_MS 120000 /* the cell died without saying quit */

#define PEER_RESPONDERS 2 /* several answers to one group request (M4) */

struct peer_socket {
    int fd;
    struct sockaddr_storage addr;
    char hostinfo[64];
    struct peer_socket *reply_via; /* group sockets answer from a unicast socket */
};

/* What the scenario scripted for the next requests (control command "behave"). */
struct behaviour {
    unsigned drop;       /* ignore this many requests */
    bool separate_later; /* empty ACK now, the CON response on "release" */
    bool duplicate;      /* send the next response twice */
    bool spoof;          /* first send the next response from the stranger */
    bool wrong_token;    /* first send the next response with another token */
    bool reset;          /* answer the next request with RST */
    struct {             /* the separate response waiting for "release" */
        bool present;
        struct peer_socket *via;
        struct sockaddr_storage to;
        size_t len;
        uint8_t bytes[1024];
    } held;
};

struct peer {
    struct behaviour behave;
    struct peer_socket sockets[PEER_MAX_SOCKETS];
    size_t count;
    int control;
    uint16_t next_mid;
    int capture; /* a packet socket on the peer's link, or -1 */
    struct pcapfile_writer capture_file;
    char capture_trouble[128]; /* what went wrong with the capture, reported at the next sync */
    struct link_count link;    /* the counted frames the capture saw (linkframes.h) */
};

/* Malformed datagrams, one per class the codec rejects (E5). */
static const struct {
    const uint8_t bytes[4 + COAP_OPTIONS_MAX + 1];
    size_t len;
} junk[PEER_JUNK_COUNT] = {
    {{0x80, 0x45, 0x12, 0x34}, 4},                        /* version 2 */
    {{0x49, 0x45, 0x12, 0x34, 1, 2, 3, 4}, 8},            /* token length 9 */
    {{0x44, 0x45, 0x12, 0x34, 1, 2}, 6},                  /* token shorter than its length */
    {{0x41, 0x00, 0x12, 0x34, 1}, 5},                     /* Empty message with a token */
    {{0x40, 0x00, 0x12, 0x34, 0x00}, 5},                  /* Empty message with an option */
    {{0x40, 0x45, 0x12, 0x34, 0xf0, 0x00, 0x00}, 7},      /* option delta nibble 15 */
    {{0x40, 0x45, 0x12, 0x34, 0xd0}, 5},                  /* 8-bit delta extension missing */
    {{0x40, 0x45, 0x12, 0x34, 0xe0, 0x01}, 6},            /* 16-bit delta extension cut short */
    {{0x40, 0x45, 0x12, 0x34, 0xe0, 0xff, 0xff}, 7},      /* option number above 65535 */
    {{0x40, 0x45, 0x12, 0x34, 0xb5, 'a', 'b'}, 7},        /* option value truncated */
    {{0x40, 0x45, 0x12, 0x34}, 4 + COAP_OPTIONS_MAX + 1}, /* one option (number 0) too many */
    {{0x40, 0x45, 0x12, 0x34, 0xff}, 5},                  /* payload marker, no payload */
    {{0x40}, 1},                                          /* one byte */
    {{0}, 0},                                             /* nothing: a zero-length datagram */
};

static void reply(struct peer_socket *ps, const struct sockaddr_storage *to, const uint8_t *buf,
                  size_t len)
{
    if (sendto(ps->fd, buf, len, 0, (const struct sockaddr *)to,
               coapmx_sockaddr_len((const struct sockaddr *)to)) < 0)
        fprintf(stderr, "peer: send from %s failed: %s\n", ps->hostinfo, strerror(errno));
}

/* A link-local socket only answers what is sent to it: it is neither the stranger nor a group
 * member's voice. */
static bool is_link_local(const struct peer_socket *ps)
{
    return ps->addr.ss_family == AF_INET6 &&
           IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)&ps->addr)->sin6_addr);
}

/* The stranger's socket of the same family and port as ps (the bind list's order). */
static struct peer_socket *stranger_of(struct peer *p, const struct peer_socket *ps)
{
    struct peer_socket *last = NULL;
    for (size_t i = 0; i < p->count; i++) {
        struct peer_socket *c = &p->sockets[i];
        if (c->reply_via == NULL && !is_link_local(c) && c->addr.ss_family == ps->addr.ss_family &&
            coapmx_sockaddr_port((const struct sockaddr *)&c->addr) ==
                coapmx_sockaddr_port((const struct sockaddr *)&ps->addr))
            last = c;
    }
    return last;
}

static void send_scripted(struct peer *p, struct peer_socket *ps, const struct sockaddr_storage *to,
                          struct coap_msg *resp)
{
    static uint8_t out[65536];
    size_t out_len;
    struct behaviour *b = &p->behave;
    if (b->wrong_token) {
        b->wrong_token = false;
        resp->token[0] ^= 0xff;
        if (coap_encode(resp, out, sizeof out, &out_len) == COAP_OK)
            reply(ps, to, out, out_len);
        resp->token[0] ^= 0xff;
    }
    if (coap_encode(resp, out, sizeof out, &out_len) != COAP_OK)
        return;
    if (b->spoof) {
        b->spoof = false;
        reply(stranger_of(p, ps), to, out, out_len);
    }
    reply(ps, to, out, out_len);
    if (b->duplicate) {
        b->duplicate = false;
        reply(ps, to, out, out_len);
    }
}

/* Answers now as an empty ACK, and keeps the response as a separate CON for "release". */
static bool hold_separate(struct peer *p, struct peer_socket *ps, const struct sockaddr_storage *to,
                          const struct coap_msg *req, struct coap_msg *resp)
{
    struct behaviour *b = &p->behave;
    if (!b->separate_later || req->type != COAP_CON)
        return false;
    b->separate_later = false;
    uint8_t ack[4] = {0x60, 0x00, (uint8_t)(req->mid >> 8), (uint8_t)req->mid};
    reply(ps, to, ack, sizeof ack);
    resp->type = COAP_CON;
    resp->mid = p->next_mid++;
    b->held.present =
        coap_encode(resp, b->held.bytes, sizeof b->held.bytes, &b->held.len) == COAP_OK;
    b->held.via = ps;
    b->held.to = *to;
    return true;
}

/* Answers a request; `block` (0: none) is a Block1 or Block2 option number with its value. */
static void respond_with(struct peer *p, struct peer_socket *ps, const struct sockaddr_storage *to,
                         const struct coap_msg *req, uint8_t code, const void *payload, size_t len,
                         uint16_t block, uint32_t block_value)
{
    if (ps->reply_via != NULL)
        ps = ps->reply_via;
    struct coap_msg resp;
    uint8_t value[4];
    bool piggyback = req->type == COAP_CON;
    coap_msg_init(&resp, piggyback ? COAP_ACK : COAP_NON, code,
                  piggyback ? req->mid : p->next_mid++);
    coap_msg_set_token(&resp, req->token, req->token_len);
    if (block != 0)
        coap_msg_add_option(&resp, block, value, coap_uint_encode(block_value, value));
    resp.payload = payload;
    resp.payload_len = len;
    if (!hold_separate(p, ps, to, req, &resp))
        send_scripted(p, ps, to, &resp);
}

static void respond(struct peer *p, struct peer_socket *ps, const struct sockaddr_storage *to,
                    const struct coap_msg *req, uint8_t code, const void *payload, size_t len)
{
    respond_with(p, ps, to, req, code, payload, len, 0, 0);
}

/* The body of /big10k and /big10k-small: byte i is 'a' + i % 26 (PEER_PATTERN), in blocks of
 * the size asked for, or of max_szx where that is smaller: then the block holds the offset asked
 * for, numbered in the smaller size (RFC 7959 §2.4). */
static void serve_block2(struct peer *p, struct peer_socket *ps, const struct sockaddr_storage *to,
                         const struct coap_msg *req, uint32_t max_szx)
{
    static uint8_t body[PEER_BLOCKWISE_BYTES];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)PEER_PATTERN(i);
    const struct coap_option *o = coap_msg_find_option(req, COAP_OPT_BLOCK2, NULL);
    uint32_t v = o ? coap_option_uint(o) : 6; /* late negotiation: 1024-byte blocks */
    uint32_t asked = (v & 7) > 6 ? 6 : v & 7, szx = asked < max_szx ? asked : max_szx;
    size_t size = (size_t)16 << szx, offset = (size_t)(v >> 4) * ((size_t)16 << asked);
    uint32_t num = (uint32_t)(offset / size);
    if (offset >= sizeof body) {
        respond(p, ps, to, req, COAP_BAD_REQUEST, NULL, 0);
        return;
    }
    size_t len = sizeof body - offset < size ? sizeof body - offset : size;
    bool more = offset + len < sizeof body;
    respond_with(p, ps, to, req, COAP_CONTENT, body + offset, len, COAP_OPT_BLOCK2,
                 num << 4 | (more ? 8u : 0u) | szx);
}

/* PUT /upload: blocks must come in order from one source; answers "got N bytes, pattern ok". */
static void serve_upload(struct peer *p, struct peer_socket *ps,
                         const struct sockaddr_storage *from, const struct coap_msg *req)
{
    static struct sockaddr_storage source;
    static size_t received;
    static bool pattern_ok;
    const struct coap_option *o = coap_msg_find_option(req, COAP_OPT_BLOCK1, NULL);
    uint32_t v = o ? coap_option_uint(o) : 0;
    size_t size = (size_t)16 << (v & 7), offset = o ? (size_t)(v >> 4) * size : 0;
    if (offset == 0) {
        source = *from;
        received = 0;
        pattern_ok = true;
    }
    if (offset != received || memcmp(&source, from, sizeof source) != 0) {
        respond(p, ps, from, req, COAP_REQUEST_ENTITY_INCOMPLETE, NULL, 0);
        return;
    }
    for (size_t i = 0; i < req->payload_len; i++)
        pattern_ok &= req->payload[i] == (uint8_t)PEER_PATTERN(offset + i);
    received += req->payload_len;
    if (o != NULL && (v & 8)) {
        respond_with(p, ps, from, req, COAP_CONTINUE, NULL, 0, COAP_OPT_BLOCK1, v);
        return;
    }
    char text[64];
    snprintf(text, sizeof text, "got %zu bytes, pattern %s", received, pattern_ok ? "ok" : "bad");
    respond_with(p, ps, from, req, COAP_CHANGED, text, strlen(text), o ? COAP_OPT_BLOCK1 : 0, v);
}

static void serve(struct peer *p, struct peer_socket *ps, const struct sockaddr_storage *from,
                  const struct coap_msg *req)
{
    static uint8_t filler[PEER_BIG_BYTES];
    char path[256], whoami[COAPMX_HOSTINFO_MAX];
    coap_msg_join_options(req, COAP_OPT_URI_PATH, '/', path, sizeof path);
    if (strcmp(path, "hello") == 0) {
        respond(p, ps, from, req, COAP_CONTENT, "hello", 5);
    } else if (strcmp(path, "whoami") == 0) {
        coapmx_hostinfo_of((const struct sockaddr *)from, false, whoami, sizeof whoami);
        respond(p, ps, from, req, COAP_CONTENT, whoami, strlen(whoami));
    } else if (strcmp(path, "junk-first") == 0 || strcmp(path, "junk-rest") == 0) {
        size_t half = PEER_JUNK_COUNT / 2;
        bool first_half = strcmp(path, "junk-first") == 0;
        for (size_t i = first_half ? 0 : half; i < (first_half ? half : PEER_JUNK_COUNT); i++)
            reply(ps, from, junk[i].bytes, junk[i].len);
        respond(p, ps, from, req, COAP_CONTENT, "hello", 5);
    } else if (strcmp(path, "oversize-first") == 0) {
        memset(filler, 'x', sizeof filler);
        respond(p, ps, from, req, COAP_CONTENT, filler, PEER_OVERSIZE_BYTES);
        respond(p, ps, from, req, COAP_CONTENT, "hello", 5);
    } else if (strcmp(path, "big10k") == 0) {
        serve_block2(p, ps, from, req, 6);
    } else if (strcmp(path, "big10k-small") == 0) {
        serve_block2(p, ps, from, req, PEER_SMALL_SZX);
    } else if (strcmp(path, "upload") == 0 && req->code == COAP_PUT) {
        serve_upload(p, ps, from, req);
    } else if (strcmp(path, "big") == 0) {
        memset(filler, 'b', sizeof filler);
        respond(p, ps, from, req, COAP_CONTENT, filler, PEER_BIG_BYTES);
    } else if (strcmp(path, "silent") != 0) {
        respond(p, ps, from, req, COAP_NOT_FOUND, NULL, 0);
    }
}

static void handle_datagram(struct peer *p, struct peer_socket *ps)
{
    uint8_t buf[65536];
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    ssize_t n =
        recvfrom(ps->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &from_len);
    struct coap_msg msg;
    if (n < 0 || coap_parse(buf, (size_t)n, &msg) != COAP_OK)
        return;
    if (ps->reply_via != NULL) {
        /* A group member answers requests only, and never with RST or ACK (RFC 7252 §8.1). */
        if (COAP_CODE_CLASS(msg.code) == 0 && msg.code != COAP_EMPTY)
            serve(p, ps, &from, &msg);
        return;
    }
    if (msg.code == COAP_EMPTY && msg.type == COAP_CON) {
        uint8_t rst[4] = {0x70, 0x00, (uint8_t)(msg.mid >> 8), (uint8_t)msg.mid};
        reply(ps, &from, rst, sizeof rst);
    } else if (COAP_CODE_CLASS(msg.code) == 0 && msg.code != COAP_EMPTY &&
               (msg.type == COAP_CON || msg.type == COAP_NON)) {
        if (p->behave.drop > 0) {
            p->behave.drop--; /* lost: captured as received, never answered */
        } else if (p->behave.reset) {
            p->behave.reset = false;
            uint8_t rst[4] = {0x70, 0x00, (uint8_t)(msg.mid >> 8), (uint8_t)msg.mid};
            reply(ps, &from, rst, sizeof rst);
        } else {
            serve(p, ps, &from, &msg);
        }
    } else if (COAP_CODE_CLASS(msg.code) != 0 && msg.type == COAP_CON) {
        uint8_t ack[4] = {0x60, 0x00, (uint8_t)(msg.mid >> 8), (uint8_t)msg.mid};
        reply(ps, &from, ack, sizeof ack);
    }
}

/* Writes every frame the packet socket holds, with the kernel's time of it. */
static void capture_flush(struct peer *p)
{
    static uint8_t frame[65536];
    if (p->capture < 0)
        return;
    for (;;) {
        union {
            struct cmsghdr align;
            char bytes[CMSG_SPACE(sizeof(struct timespec))];
        } control;
        struct iovec iov = {.iov_base = frame, .iov_len = sizeof frame};
        struct sockaddr_ll from = {0};
        struct msghdr msg = {.msg_name = &from,
                             .msg_namelen = sizeof from,
                             .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.bytes,
                             .msg_controllen = sizeof control.bytes};
        ssize_t n = recvmsg(p->capture, &msg, MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0)
            break;
        struct timespec ts = {0};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
        else
            clock_gettime(CLOCK_REALTIME, &ts);
        uint32_t caplen = (size_t)n < sizeof frame ? (uint32_t)n : (uint32_t)sizeof frame;
        link_count_frame(&p->link, frame, caplen, from.sll_pkttype);
        /* "udp or icmp or icmp6", as libpcap's filter says it (the loader skips anything else) */
        if (link_frame_kind(frame, caplen) != LINK_FRAME_OTHER &&
            pcapfile_write(&p->capture_file, &ts, frame, caplen, (uint32_t)n) != 0)
            snprintf(p->capture_trouble, sizeof p->capture_trouble, "cannot write the capture: %s",
                     strerror(errno));
    }
    struct tpacket_stats stats;
    socklen_t len = sizeof stats;
    if (getsockopt(p->capture, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0 &&
        stats.tp_drops > 0)
        snprintf(p->capture_trouble, sizeof p->capture_trouble,
                 "the capture lost %u frames (its socket buffer was full)", stats.tp_drops);
    if (pcapfile_flush(&p->capture_file) != 0)
        snprintf(p->capture_trouble, sizeof p->capture_trouble, "cannot write the capture: %s",
                 strerror(errno));
}

/* Handles every datagram already queued on any socket, and writes what the link carried. */
static void drain(struct peer *p)
{
    bool more = true;
    while (more) {
        struct pollfd pfds[PEER_MAX_SOCKETS];
        for (size_t i = 0; i < p->count; i++)
            pfds[i] = (struct pollfd){.fd = p->sockets[i].fd, .events = POLLIN};
        more = poll(pfds, p->count, 0) > 0;
        for (size_t i = 0; more && i < p->count; i++)
            if (pfds[i].revents & POLLIN)
                handle_datagram(p, &p->sockets[i]);
    }
    capture_flush(p);
}

static void say(struct peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct peer *p, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (write(p->control, line, (size_t)n) != n)
        _exit(3);
}

static struct peer_socket *socket_at(struct peer *p, const char *hostinfo)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->sockets[i].hostinfo, hostinfo) == 0)
            return &p->sockets[i];
    return NULL;
}

static int parse_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    if (strlen(hex) % 2 != 0 || n > cap)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)n;
}

static void command_send(struct peer *p, char *args)
{
    char *from = strtok(args, " "), *to = strtok(NULL, " "), *hex = strtok(NULL, " \n");
    uint8_t buf[4096];
    char host[256];
    uint16_t port;
    struct sockaddr_storage dst;
    struct peer_socket *ps = from ? socket_at(p, from) : NULL;
    int len = hex ? parse_hex(hex, buf, sizeof buf) : -1;
    if (ps == NULL || to == NULL || len < 0 ||
        coapmx_hostinfo_parse(to, 5683, host, sizeof host, &port) != 0 ||
        coapmx_sockaddr_from_literal(host, port, &dst) != 0) {
        say(p, "err %d bad send command", EINVAL);
        return;
    }
    if (sendto(ps->fd, buf, (size_t)len, 0, (const struct sockaddr *)&dst,
               coapmx_sockaddr_len((const struct sockaddr *)&dst)) < 0)
        say(p, "err %d %s", errno, strerror(errno));
    else
        say(p, "ok");
}

static int set_behaviour(struct peer *p, const char *what)
{
    struct behaviour *b = &p->behave;
    unsigned n;
    if (sscanf(what, "drop %u", &n) == 1)
        b->drop = n;
    else if (strncmp(what, "separate-later", 14) == 0)
        b->separate_later = true;
    else if (strncmp(what, "release", 7) == 0 && b->held.present) {
        reply(b->held.via, &b->held.to, b->held.bytes, b->held.len);
        b->held.present = false;
    } else if (strncmp(what, "duplicate", 9) == 0)
        b->duplicate = true;
    else if (strncmp(what, "spoof", 5) == 0)
        b->spoof = true;
    else if (strncmp(what, "wrong-token", 11) == 0)
        b->wrong_token = true;
    else if (strncmp(what, "reset", 5) == 0)
        b->reset = true;
    else
        return -1;
    return 0;
}

/* sync [RECEIVED LIMIT_MS]: handles everything that has arrived, first waiting (up to LIMIT_MS)
 * until the capture has seen RECEIVED counted frames arrive: what the cell's side has sent so
 * far. Replies with the capture's counts, "ok RECEIVED SENT". */
static void command_sync(struct peer *p, const char *args)
{
    unsigned long long expected = 0;
    int limit_ms = 0;
    (void)sscanf(args, "%llu %d", &expected, &limit_ms); /* plain "sync": wait for nothing */
    double deadline = cell_clock_ms() + limit_ms;
    drain(p);
    while (p->capture >= 0 && p->link.received < expected) {
        int left = (int)(deadline - cell_clock_ms());
        struct pollfd pfd = {.fd = p->capture, .events = POLLIN};
        if (left <= 0 || (poll(&pfd, 1, left) < 0 && errno != EINTR))
            break;
        drain(p);
    }
    /* The capture sees a frame just before its socket does: serve what came with the last. */
    drain(p);
    /* A capture with a hole cannot vouch for the wire: the cell must not trust it. */
    if (p->capture_trouble[0] != '\0')
        say(p, "err %d %s", EIO, p->capture_trouble);
    else
        say(p, "ok %llu %llu", (unsigned long long)p->link.received,
            (unsigned long long)p->link.sent);
}

/* Returns false on quit or when the cell went away. */
static bool handle_control(struct peer *p)
{
    /* One command at a time (the cell waits for each reply), but a long one may take more
     * than one read of the stream. */
    static char line[16384];
    size_t n = 0;
    do {
        ssize_t got = read(p->control, line + n, sizeof line - 1 - n);
        if (got <= 0)
            return false;
        n += (size_t)got;
    } while (n < sizeof line - 1 && line[n - 1] != '\n');
    line[n] = '\0';
    if (strncmp(line, "send ", 5) == 0) {
        command_send(p, line + 5);
    } else if (strncmp(line, "sync", 4) == 0) {
        command_sync(p, line + 4);
    } else if (strncmp(line, "behave ", 7) == 0) {
        say(p, set_behaviour(p, line + 7) == 0 ? "ok" : "err 22 unknown behaviour");
    } else if (strncmp(line, "quit", 4) == 0) {
        return false;
    } else {
        say(p, "err %d unknown command", EINVAL);
    }
    return true;
}

static int bind_socket(struct peer *p, const char *hostinfo)
{
    char host[256];
    uint16_t port;
    struct peer_socket *ps = &p->sockets[p->count];
    if (p->count == PEER_MAX_SOCKETS ||
        coapmx_hostinfo_parse(hostinfo, 5683, host, sizeof host, &port) != 0 ||
        coapmx_sockaddr_from_literal(host, port, &ps->addr) != 0) {
        fprintf(stderr, "peer: bad bind address %s\n", hostinfo);
        return -1;
    }
    ps->fd = socket(ps->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    /* Group members bind the same port as the wildcard; our own group sends must not loop
     * back to them. */
    int one = 1, zero = 0;
    setsockopt(ps->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ps->addr.ss_family == AF_INET6) {
        setsockopt(ps->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        setsockopt(ps->fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &zero, sizeof zero);
    } else
        setsockopt(ps->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof zero);
    if (ps->fd < 0 || bind(ps->fd, (const struct sockaddr *)&ps->addr,
                           coapmx_sockaddr_len((const struct sockaddr *)&ps->addr)) != 0) {
        fprintf(stderr, "peer: bind %s: %s\n", hostinfo, strerror(errno));
        return -1;
    }
    /* Named with the port always shown, as the control protocol spells it. */
    snprintf(ps->hostinfo, sizeof ps->hostinfo, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
             port);
    p->count++;
    return 0;
}

static void run(struct peer *p)
{
    for (;;) {
        struct pollfd pfds[PEER_MAX_SOCKETS + 2];
        for (size_t i = 0; i < p->count; i++)
            pfds[i] = (struct pollfd){.fd = p->sockets[i].fd, .events = POLLIN};
        pfds[p->count] = (struct pollfd){.fd = p->control, .events = POLLIN};
        pfds[p->count + 1] = (struct pollfd){.fd = p->capture, .events = POLLIN};
        int ready = poll(pfds, p->count + 2, PEER_IDLE_LIMIT_MS);
        if (ready == 0) {
            fprintf(stderr, "peer: no traffic and no command for %d ms, exiting\n",
                    PEER_IDLE_LIMIT_MS);
            return;
        }
        if (ready < 0 && errno != EINTR)
            return;
        for (size_t i = 0; i < p->count; i++)
            if (pfds[i].revents & POLLIN)
                handle_datagram(p, &p->sockets[i]);
        if (pfds[p->count + 1].revents)
            capture_flush(p);
        if (pfds[p->count].revents && !handle_control(p))
            return;
    }
}

/* A live capture of the peer's link: a packet socket sees every frame the veth carries, both
 * ways. Its buffer is made large, and losses are reported (capture_flush). */
static int start_capture(struct peer *p, const char *ifname, const char *path)
{
    unsigned ifindex = if_nametoindex(ifname);
    int on = 1, buffer = 4 << 20;
    p->capture = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    struct sockaddr_ll link = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex};
    if (ifindex == 0 || p->capture < 0 ||
        bind(p->capture, (struct sockaddr *)&link, sizeof link) != 0 ||
        setsockopt(p->capture, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0 ||
        setsockopt(p->capture, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0 ||
        pcapfile_create(&p->capture_file, path, LINKTYPE_ETHERNET, 65535) != 0) {
        fprintf(stderr, "peer: cannot capture on %s: %s\n", ifname, strerror(errno));
        return -1;
    }
    return 0;
}

/* The k-th unicast socket of a family at the default port: where responder k answers from. */
static struct peer_socket *reply_socket(struct peer *p, int family, int k)
{
    for (size_t i = 0; i < p->count; i++) {
        struct peer_socket *ps = &p->sockets[i];
        if (ps->reply_via == NULL && !is_link_local(ps) && ps->addr.ss_family == family &&
            coapmx_sockaddr_port((const struct sockaddr *)&ps->addr) == PEER_PORT_DEFAULT &&
            k-- == 0)
            return ps;
    }
    return NULL;
}

static int join(int fd, const char *group, unsigned ifindex)
{
    struct sockaddr_storage g;
    coapmx_sockaddr_from_literal(group, PEER_PORT_DEFAULT, &g);
    if (g.ss_family == AF_INET) {
        struct ip_mreqn m = {.imr_multiaddr = ((struct sockaddr_in *)&g)->sin_addr,
                             .imr_ifindex = (int)ifindex};
        return setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m);
    }
    struct ipv6_mreq m = {.ipv6mr_multiaddr = ((struct sockaddr_in6 *)&g)->sin6_addr,
                          .ipv6mr_interface = ifindex};
    return setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m);
}

/* Responders: per family, a wildcard socket joined to every CoAP group that family has. */
static int start_responders(struct peer *p, const char *ifname)
{
    unsigned ifindex = if_nametoindex(ifname);
    static const char *const wildcard[] = {"0.0.0.0:5683", "[::]:5683"};
    for (int k = 0; k < PEER_RESPONDERS; k++) {
        for (int f = 0; f < 2; f++) {
            int family = f == 0 ? AF_INET : AF_INET6;
            struct peer_socket *via = reply_socket(p, family, k);
            if (ifindex == 0 || via == NULL || bind_socket(p, wildcard[f]) != 0)
                return -1;
            struct peer_socket *member = &p->sockets[p->count - 1];
            member->reply_via = via;
            for (size_t g = 0; g < coapmx_all_coap_nodes_count; g++) {
                const char *group = coapmx_all_coap_nodes[g];
                bool v6 = strchr(group, ':') != NULL;
                if (v6 == (family == AF_INET6) && join(member->fd, group, ifindex) != 0) {
                    fprintf(stderr, "peer: cannot join %s on %s: %s\n", group, ifname,
                            strerror(errno));
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* coapmx __peer --control-fd N [--capture IFACE FILE] [--responders IFACE] HOSTINFO... */
int peer_main(int argc, char **argv)
{
    static struct peer p;
    const char *capture_if = NULL, *capture_file = NULL, *responders_if = NULL;
    int i = 1;
    if (argc < 3 || strcmp(argv[1], "--control-fd") != 0) {
        fprintf(stderr, "usage: coapmx __peer --control-fd N [--capture IFACE FILE] "
                        "[--responders IFACE] HOSTINFO...\n");
        return 2;
    }
    p.control = atoi(argv[2]);
    p.capture = -1;
    p.next_mid = (uint16_t)getpid();
    for (i = 3; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "--capture") == 0 && i + 2 < argc) {
            capture_if = argv[i + 1];
            capture_file = argv[i + 2];
            i++;
        } else if (strcmp(argv[i], "--responders") == 0) {
            responders_if = argv[i + 1];
        }
    }
    if (capture_if != NULL && start_capture(&p, capture_if, capture_file) != 0) {
        say(&p, "err %d cannot capture on %s", errno, capture_if);
        _exit(1);
    }
    for (; i < argc; i++)
        if (bind_socket(&p, argv[i]) != 0) {
            say(&p, "err %d cannot bind %s", errno, argv[i]);
            _exit(1);
        }
    if (responders_if != NULL && start_responders(&p, responders_if) != 0) {
        say(&p, "err %d cannot start group responders on %s", errno, responders_if);
        _exit(1);
    }
    say(&p, "ready");
    run(&p);
    capture_flush(&p);
    if (p.capture >= 0)
        pcapfile_finish(&p.capture_file);
    for (size_t k = 0; k < p.count; k++)
        close(p.sockets[k].fd);
    /* _exit: socket_wrapper's destructor must not touch files of other processes, and the
     * cell's own exit handlers (it is forked from the cell) are not the peer's. */
    fflush(NULL);
    _exit(0);
}
