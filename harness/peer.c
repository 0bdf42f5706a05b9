#include "peer.h"

#include <errno.h>
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

#define PEER_MAX_SOCKETS   16
#define PEER_IDLE_LIMIT_MS 120000 /* the cell died without saying quit */

struct peer_socket {
    int fd;
    struct sockaddr_storage addr;
    char hostinfo[64];
};

struct peer {
    struct peer_socket sockets[PEER_MAX_SOCKETS];
    size_t count;
    int control;
    uint16_t next_mid;
};

/* Malformed datagrams, one per class the codec rejects (E5). */
static const struct {
    const uint8_t bytes[8];
    size_t len;
} junk[PEER_JUNK_COUNT] = {
    {{0x80, 0x45, 0x12, 0x34}, 4},                 /* version 2 */
    {{0x49, 0x45, 0x12, 0x34, 1, 2, 3, 4}, 8},     /* token length 9 */
    {{0x40, 0x45, 0x12, 0x34, 0xf1, 0x00}, 6},     /* option delta nibble 15 */
    {{0x40, 0x45, 0x12, 0x34, 0xb5, 'a', 'b'}, 7}, /* option value truncated */
    {{0x40, 0x45, 0x12, 0x34, 0xff}, 5},           /* payload marker, no payload */
    {{0x40}, 1},                                   /* one byte */
};

static void reply(struct peer_socket *ps, const struct sockaddr_storage *to, const uint8_t *buf,
                  size_t len)
{
    if (sendto(ps->fd, buf, len, 0, (const struct sockaddr *)to,
               coapmx_sockaddr_len((const struct sockaddr *)to)) < 0)
        fprintf(stderr, "peer: send from %s failed: %s\n", ps->hostinfo, strerror(errno));
}

static void respond(struct peer *p, struct peer_socket *ps, const struct sockaddr_storage *to,
                    const struct coap_msg *req, uint8_t code, const void *payload, size_t len)
{
    static uint8_t out[65536];
    struct coap_msg resp;
    bool piggyback = req->type == COAP_CON;
    coap_msg_init(&resp, piggyback ? COAP_ACK : COAP_NON, code,
                  piggyback ? req->mid : p->next_mid++);
    coap_msg_set_token(&resp, req->token, req->token_len);
    resp.payload = payload;
    resp.payload_len = len;
    size_t out_len;
    if (coap_encode(&resp, out, sizeof out, &out_len) == COAP_OK)
        reply(ps, to, out, out_len);
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
    } else if (strcmp(path, "junk-first") == 0) {
        for (size_t i = 0; i < PEER_JUNK_COUNT; i++)
            reply(ps, from, junk[i].bytes, junk[i].len);
        respond(p, ps, from, req, COAP_CONTENT, "hello", 5);
    } else if (strcmp(path, "oversize-first") == 0) {
        memset(filler, 'x', sizeof filler);
        respond(p, ps, from, req, COAP_CONTENT, filler, PEER_OVERSIZE_BYTES);
        respond(p, ps, from, req, COAP_CONTENT, "hello", 5);
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
    if (msg.code == COAP_EMPTY && msg.type == COAP_CON) {
        uint8_t rst[4] = {0x70, 0x00, (uint8_t)(msg.mid >> 8), (uint8_t)msg.mid};
        reply(ps, &from, rst, sizeof rst);
    } else if (COAP_CODE_CLASS(msg.code) == 0 && msg.code != COAP_EMPTY &&
               (msg.type == COAP_CON || msg.type == COAP_NON)) {
        serve(p, ps, &from, &msg);
    } else if (COAP_CODE_CLASS(msg.code) != 0 && msg.type == COAP_CON) {
        uint8_t ack[4] = {0x60, 0x00, (uint8_t)(msg.mid >> 8), (uint8_t)msg.mid};
        reply(ps, &from, ack, sizeof ack);
    }
}

/* Handles every datagram already queued on any socket. */
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

/* Returns false on quit or when the cell went away. */
static bool handle_control(struct peer *p)
{
    char line[16384];
    ssize_t n = read(p->control, line, sizeof line - 1);
    if (n <= 0)
        return false;
    line[n] = '\0';
    if (strncmp(line, "send ", 5) == 0) {
        command_send(p, line + 5);
    } else if (strncmp(line, "sync", 4) == 0) {
        drain(p);
        say(p, "ok");
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
        struct pollfd pfds[PEER_MAX_SOCKETS + 1];
        for (size_t i = 0; i < p->count; i++)
            pfds[i] = (struct pollfd){.fd = p->sockets[i].fd, .events = POLLIN};
        pfds[p->count] = (struct pollfd){.fd = p->control, .events = POLLIN};
        int ready = poll(pfds, p->count + 1, PEER_IDLE_LIMIT_MS);
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
        if (pfds[p->count].revents && !handle_control(p))
            return;
    }
}

/* coapmx __peer --control-fd N HOSTINFO... */
int peer_main(int argc, char **argv)
{
    static struct peer p;
    if (argc < 3 || strcmp(argv[1], "--control-fd") != 0) {
        fprintf(stderr, "usage: coapmx __peer --control-fd N HOSTINFO...\n");
        return 2;
    }
    p.control = atoi(argv[2]);
    p.next_mid = (uint16_t)getpid();
    for (int i = 3; i < argc; i++)
        if (bind_socket(&p, argv[i]) != 0) {
            say(&p, "err %d cannot bind %s", errno, argv[i]);
            _exit(1);
        }
    say(&p, "ready");
    run(&p);
    for (size_t i = 0; i < p.count; i++)
        close(p.sockets[i].fd);
    /* _exit: socket_wrapper's destructor must not touch files of other processes. */
    _exit(0);
}
