/* libFuzzer target: one datagram into a transport's receive path, through real loopback
 * sockets and the shared stack above it. `--transport=NAME` picks the transport (`all`: each
 * input goes to every transport in turn, for replaying a corpus). Nothing may crash, leak or
 * hang, and whatever the stack sends back must parse.
 *
 * Set-up, once: the transport opens as a client with a small receive buffer (so E4's drop path
 * is reachable) under an endpoint that serves requests; a transport that binds explicitly opens
 * once per family, bound to that family's loopback address. For each family the fuzzer has a
 * peer socket on loopback; the transport resolves it (simple6 connects a socket to it: it hears
 * only from the peer it addressed) and sends it a ping, which tells the peer where to send.
 *
 * Input: byte 0 says how the datagram arrives: bit 0 from the IPv4 peer (else IPv6), bit 1 as
 * the answer to a request in flight (its Message ID copied in, and its token when the token
 * lengths agree, so responses, ACKs and RSTs can match), bit 2 making that request a 2 KiB PUT
 * (Block1 upload) instead of a GET. The rest is the datagram, sent from the peer socket; once
 * the transport's socket is readable, one loop iteration reads it and everything else queued.
 * Sockets are reused across inputs. The loop's clock moves a fixed step per input, so
 * deduplication and reassembly state expires after a known number of inputs, the same in
 * every run. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transports/addr.h"
#include "transports/coap/endpoint.h"
#include "transports/tests/fuzz.h"

#define FUZZ_FROM_V4    0x01
#define FUZZ_ANSWER     0x02
#define FUZZ_UPLOAD     0x04
#define FUZZ_STEP_MS    1000 /* clock time per input */
#define FUZZ_SOCKETS    8
#define FUZZ_RX_BUFFER  1024  /* smaller than libFuzzer's default inputs of up to 4096 bytes */
#define FUZZ_WAIT_MS    1000  /* loopback delivers in microseconds; this bounds a lost datagram */
#define UDP_PAYLOAD_MAX 65507 /* IPv4's limit, the smaller of the two */
#define FUZZ_TRANSPORTS 8

struct side {
    struct coapmx_transport *t; /* the transport that talks to this side's peer */
    struct coapmx_endpoint *ep;
    int fd;                            /* the fuzzer's peer socket */
    struct sockaddr_storage transport; /* the transport's socket, as the peer sees it */
    socklen_t transport_len;
    char uri[96]; /* a request from the transport to this peer */
};

struct target {
    struct side sides[2]; /* [0] IPv6 from ::1, [1] IPv4 from 127.0.0.1 */
};

static uint64_t now_ms;
static struct coapmx_loop *loop;
static struct target targets[FUZZ_TRANSPORTS];
static size_t target_count;

/* Serves every request: echoes the Uri-Path, or stays silent for /silent. */
static void serve(void *arg, const struct coapmx_message *request, struct coapmx_reply *reply)
{
    static char path[64];
    (void)arg;
    coap_msg_join_options(&request->msg, COAP_OPT_URI_PATH, '/', path, sizeof path);
    reply->no_reply = strcmp(path, "silent") == 0;
    reply->code = COAP_CONTENT;
    reply->payload = (const uint8_t *)path;
    reply->payload_len = strlen(path);
}

/* Reads the whole response, so a sanitizer sees any bad pointer in it. */
static void on_response(void *arg, const struct coapmx_message *resp,
                        const struct coapmx_error *err)
{
    volatile unsigned sum = 0;
    (void)arg;
    (void)err;
    for (size_t i = 0; resp != NULL && i < resp->msg.payload_len; i++)
        sum += resp->msg.payload[i];
    for (size_t i = 0; resp != NULL && i < resp->msg.option_count; i++)
        sum += coap_option_uint(&resp->msg.options[i]);
    (void)sum;
}

static uint64_t fuzz_clock_now(struct coapmx_clock *clock)
{
    (void)clock;
    return now_ms;
}

static struct coapmx_clock fuzz_clock = {.now_ms = fuzz_clock_now};

static void wait_readable(const int *fds, size_t n)
{
    struct pollfd pfds[FUZZ_SOCKETS];
    for (size_t i = 0; i < n; i++)
        pfds[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    FUZZ_CHECK(poll(pfds, n, FUZZ_WAIT_MS) > 0, "nothing arrived within %d ms", FUZZ_WAIT_MS);
}

static void open_side(struct side *s, int family)
{
    struct coapmx_error err;
    struct coapmx_remote remote;
    struct sockaddr_storage self;
    socklen_t self_len = sizeof self;
    const char *host = family == AF_INET ? "127.0.0.1" : "::1";
    static const uint8_t ping[] = {0x40, 0x00, 0x12, 0x34}; /* empty CON */
    uint8_t buf[16];

    FUZZ_CHECK(coapmx_sockaddr_from_literal(host, 0, &self) == 0, "bad literal %s", host);
    s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(s->fd >= 0 &&
                   bind(s->fd, (struct sockaddr *)&self,
                        coapmx_sockaddr_len((struct sockaddr *)&self)) == 0 &&
                   getsockname(s->fd, (struct sockaddr *)&self, &self_len) == 0,
               "cannot open a peer socket on %s: %s", host, strerror(errno));
    uint16_t port = coapmx_sockaddr_port((struct sockaddr *)&self);
    snprintf(s->uri, sizeof s->uri, family == AF_INET ? "coap://%s:%u/fuzz" : "coap://[%s]:%u/fuzz",
             host, port);
    FUZZ_CHECK(coapmx_transport_resolve(s->t, host, port, &remote, &err) == 0 &&
                   coapmx_transport_send(s->t, &remote, ping, sizeof ping, &err) == 0,
               "%s cannot reach %s: %s", s->t->ops->name, host, err.message);
    wait_readable(&s->fd, 1);
    s->transport_len = sizeof s->transport;
    FUZZ_CHECK(recvfrom(s->fd, buf, sizeof buf, 0, (struct sockaddr *)&s->transport,
                        &s->transport_len) == sizeof ping,
               "the ping from %s did not arrive", s->t->ops->name);
}

static void open_transport(const struct coapmx_transport_ops *ops, const char *bind, struct side *s)
{
    struct coapmx_transport_config config = {
        .role = COAPMX_ROLE_CLIENT, .bind_host = bind, .rx_buffer_size = FUZZ_RX_BUFFER};
    struct coapmx_endpoint_config ec = {.seed = 0xf022, .handler = serve};
    struct coapmx_error err;
    s->t = coapmx_transport_open(ops, loop, &config, &err);
    s->ep = s->t != NULL ? coapmx_endpoint_new(s->t, &ec, &err) : NULL;
    FUZZ_CHECK(s->ep != NULL, "cannot open %s: %s", ops->name, err.message);
}

static void open_target(const struct coapmx_transport_ops *ops)
{
    struct target *tg = &targets[target_count++];
    if (ops->profile->binds_explicitly) {
        open_transport(ops, "::1", &tg->sides[0]);
        open_transport(ops, "127.0.0.1", &tg->sides[1]);
    } else {
        open_transport(ops, NULL, &tg->sides[0]);
        tg->sides[1].t = tg->sides[0].t;
        tg->sides[1].ep = tg->sides[0].ep;
    }
    open_side(&tg->sides[0], AF_INET6);
    open_side(&tg->sides[1], AF_INET);
}

/* libFuzzer never tears a target down; closing everything at exit keeps a replay under
 * valgrind free of memory still in use. */
static void close_targets(void)
{
    for (size_t i = 0; i < target_count; i++) {
        struct side *sides = targets[i].sides;
        for (size_t k = 0; k < 2; k++) {
            if (k == 0 || sides[k].t != sides[0].t) {
                coapmx_endpoint_free(sides[k].ep);
                coapmx_transport_close(sides[k].t);
            }
            close(sides[k].fd);
        }
    }
    coapmx_loop_free(loop);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *name = NULL;
    for (int i = 1; i < *argc; i++)
        if (strncmp((*argv)[i], "--transport=", 12) == 0)
            name = (*argv)[i] + 12;
    loop = coapmx_loop_new(&fuzz_clock);
    atexit(close_targets);
    FUZZ_CHECK(name != NULL && loop != NULL, "usage: %s --transport=NAME|all [libFuzzer options]",
               (*argv)[0]);
    for (size_t i = 0; i < coapmx_registry.count && target_count < FUZZ_TRANSPORTS; i++)
        if (strcmp(name, "all") == 0 || strcmp(name, coapmx_registry.transports[i]->name) == 0)
            open_target(coapmx_registry.transports[i]);
    FUZZ_CHECK(target_count > 0, "no transport named %s", name);
    return 0;
}

/* Starts a request to the side's peer and makes the datagram answer it; returns its id. */
static int64_t answer_request(struct side *s, bool upload, uint8_t *dg, size_t len)
{
    static uint8_t sent[COAPMX_FUZZ_MAX_DATAGRAM], body[2048];
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = s->uri};
    struct coapmx_error err;
    struct coap_msg request;
    if (upload) {
        req.method = COAP_PUT;
        req.payload = body;
        req.payload_len = sizeof body;
    }
    int64_t id = coapmx_request_start(s->ep, &req, on_response, NULL, &err);
    FUZZ_CHECK(id > 0, "cannot start a request: %s", err.message);
    /* Replies to earlier inputs may still be queued before it: the request has its method. */
    do {
        wait_readable(&s->fd, 1);
        ssize_t n = recv(s->fd, sent, sizeof sent, 0);
        FUZZ_CHECK(n >= 0, "recv: %s", strerror(errno));
        FUZZ_CHECK(coap_parse(sent, (size_t)n, &request) == COAP_OK, "the stack sent junk");
    } while (request.code != req.method);
    if (len >= COAP_HEADER_SIZE) {
        dg[2] = (uint8_t)(request.mid >> 8);
        dg[3] = (uint8_t)request.mid;
        if ((dg[0] & 0x0f) == request.token_len &&
            len >= COAP_HEADER_SIZE + (size_t)request.token_len)
            memcpy(dg + COAP_HEADER_SIZE, request.token, request.token_len);
    }
    return id;
}

/* Whatever the stack sent the peers (RSTs, ACKs, responses) must be well-formed CoAP. */
static void drain_replies(struct target *tg)
{
    static uint8_t reply[COAPMX_FUZZ_MAX_DATAGRAM];
    for (size_t i = 0; i < 2; i++) {
        struct coap_msg msg;
        ssize_t n;
        while ((n = recv(tg->sides[i].fd, reply, sizeof reply, MSG_DONTWAIT)) >= 0)
            FUZZ_CHECK(coap_parse(reply, (size_t)n, &msg) == COAP_OK,
                       "%s sent an unparsable datagram", tg->sides[i].t->ops->name);
    }
}

static void deliver(struct target *tg, uint8_t flags, const uint8_t *data, size_t len)
{
    static uint8_t dg[COAPMX_FUZZ_MAX_DATAGRAM];
    struct side *s = &tg->sides[flags & FUZZ_FROM_V4 ? 1 : 0];
    int64_t request = 0;
    int fds[FUZZ_SOCKETS];
    size_t n = coapmx_transport_sockets(s->t, fds, FUZZ_SOCKETS);
    memcpy(dg, data, len);
    if (flags & FUZZ_ANSWER)
        request = answer_request(s, flags & FUZZ_UPLOAD, dg, len);
    FUZZ_CHECK(sendto(s->fd, dg, len, 0, (struct sockaddr *)&s->transport, s->transport_len) ==
                   (ssize_t)len,
               "sendto: %s", strerror(errno));
    wait_readable(fds, n < FUZZ_SOCKETS ? n : FUZZ_SOCKETS);
    FUZZ_CHECK(coapmx_loop_run_once(loop, 0) > 0, "%s read nothing", s->t->ops->name);
    if (request > 0)
        coapmx_request_cancel(s->ep, request); /* a no-op when the answer completed it */
    drain_replies(tg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t len = size - 1 < UDP_PAYLOAD_MAX ? size - 1 : UDP_PAYLOAD_MAX;
    now_ms += FUZZ_STEP_MS;
    for (size_t i = 0; i < target_count; i++)
        deliver(&targets[i], data[0], data + 1, len);
    return 0;
}
