/* coapmx-bench: round trips on loopback, for scripts/bench, which runs each side on the cores it
 * names and prints the figures side by side.
 *
 *   coapmx-bench responder --port P [--cpu C]
 *       answers every CON request with a piggybacked 2.05, its MID and token kept: the least
 *       a CoAP server can do, so that what a client costs shows
 *   coapmx-bench rtt --client raw|raw-dualstack|simple6|udp6|libcoap --port P [--host H] [--window
 * W]
 *       [--count N] [--cpu C]
 *       N round trips of CON GET /hello with W of them in flight; prints one line:
 *       "rtt client=... window=W round_trips=N seconds=S per_second=R median_us=M"
 *
 * raw is plain UDP: a prepared datagram out, its answer matched by MID. simple6 and udp6 go
 * through the whole stack (URI, resolution, message layer, matching). libcoap is libcoap's
 * client API, for comparison. Every wait is bounded: a lost answer ends the run with an error. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transports/addr.h"
#include "harness/main.h"
#include "transports/coap/endpoint.h"

#ifdef COAPMX_BENCH_LIBCOAP
#include <coap3/coap.h>
#endif

#define BENCH_MAX_WINDOW 256
#define BENCH_STALL_MS   5000 /* loopback answers in microseconds: this is a lost datagram */

struct options {
    const char *mode, *client, *host;
    unsigned port, window, count;
    int cpu;
};

struct tally {
    double *latencies_us;
    unsigned done, started;
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int die(const char *what)
{
    fprintf(stderr, "coapmx-bench: %s: %s\n", what, strerror(errno));
    return 1;
}

static void pin(int cpu)
{
    if (cpu < 0)
        return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0)
        fprintf(stderr, "coapmx-bench: cannot pin to cpu %d: %s\n", cpu, strerror(errno));
}

static int udp_socket(const char *host, unsigned port, bool do_bind, struct sockaddr_storage *addr)
{
    if (coapmx_sockaddr_from_literal(host, (uint16_t)port, addr) != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(addr->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && do_bind &&
        bind(fd, (struct sockaddr *)addr, coapmx_sockaddr_len((struct sockaddr *)addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the responder ---- */

static int responder(const struct options *o)
{
    struct sockaddr_storage addr;
    int fd = udp_socket(o->host, o->port, true, &addr);
    if (fd < 0)
        return die("responder socket");
    uint8_t in[1500], out[64];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&from, &from_len);
        if (n < 4 || (in[0] >> 6) != 1 || ((in[0] >> 4) & 3) != COAP_CON)
            continue;
        size_t tkl = in[0] & 0x0f;
        if (tkl > 8 || (size_t)n < 4 + tkl)
            continue;
        out[0] = (uint8_t)(0x60 | tkl); /* ACK */
        out[1] = COAP_CONTENT;
        out[2] = in[2];
        out[3] = in[3];
        memcpy(out + 4, in + 4, tkl);
        memcpy(out + 4 + tkl, "\xffhello", 6);
        sendto(fd, out, 10 + tkl, 0, (struct sockaddr *)&from, from_len);
    }
}

/* ---- clients ---- */

static void note(struct tally *t, double sent_us)
{
    t->latencies_us[t->done++] = now_us() - sent_us;
}

/* raw: one prepared CON GET /hello per round trip, its MID its index, on a connected socket
 * (the system calls simple6 makes). raw-dualstack makes udp6's instead: an unconnected
 * dual-stack socket, sendto a v4-mapped address, recvmsg with packet info. */
static int raw_client(const struct options *o, struct tally *t, bool dualstack)
{
    struct sockaddr_storage to;
    int fd = udp_socket(o->host, o->port, false, &to), on = 1, off = 0;
    if (fd >= 0 && dualstack && to.ss_family == AF_INET) {
        struct sockaddr_in v4;
        memcpy(&v4, &to, sizeof v4);
        close(fd);
        coapmx_sockaddr_to_mapped(&v4, (struct sockaddr_in6 *)&to);
        fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off) != 0 ||
                        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) != 0))
            return die("raw dual-stack socket");
    }
    socklen_t to_len = coapmx_sockaddr_len((void *)&to);
    if (fd < 0 || (!dualstack && connect(fd, (struct sockaddr *)&to, to_len) != 0))
        return die("raw client socket");
    static double sent_at[65536];
    uint8_t req[16] = {0x42, COAP_GET, 0, 0, 0xab, 0xcd, 0xb5, 'h', 'e', 'l', 'l', 'o'}, in[1500];
    uint8_t control[256];
    while (t->done < o->count) {
        while (t->started < o->count && t->started - t->done < o->window) {
            uint16_t mid = (uint16_t)t->started++;
            req[2] = (uint8_t)(mid >> 8);
            req[3] = (uint8_t)mid;
            sent_at[mid] = now_us();
            ssize_t sent = dualstack ? sendto(fd, req, 12, 0, (struct sockaddr *)&to, to_len)
                                     : send(fd, req, 12, 0);
            if (sent != 12)
                return die("raw send");
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, BENCH_STALL_MS) <= 0)
            return die("raw client: no answer");
        struct sockaddr_storage from;
        struct iovec iov = {.iov_base = in, .iov_len = sizeof in};
        struct msghdr msg = {.msg_name = &from,
                             .msg_namelen = sizeof from,
                             .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control,
                             .msg_controllen = sizeof control};
        ssize_t n = dualstack ? recvmsg(fd, &msg, 0) : recv(fd, in, sizeof in, 0);
        if (n >= 4)
            note(t, sent_at[(uint16_t)(in[2] << 8 | in[3])]);
    }
    close(fd);
    return 0;
}

struct stack_run {
    struct coapmx_endpoint *ep;
    struct tally *t;
    const struct options *o;
    char uri[COAPMX_URI_BASE_MAX + 16];
    int failed;
};

/* Each request carries its own start time through its callback argument. */
struct stack_request {
    struct stack_run *run;
    double sent_us;
};

static void stack_answer(void *arg, const struct coapmx_message *resp,
                         const struct coapmx_error *err);

static int stack_send(struct stack_request *r)
{
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = r->run->uri};
    struct coapmx_error err;
    r->sent_us = now_us();
    r->run->t->started++;
    if (coapmx_request_start(r->run->ep, &req, stack_answer, r, &err) < 0) {
        fprintf(stderr, "coapmx-bench: %s\n", err.message);
        r->run->failed = 1;
        return -1;
    }
    return 0;
}

static void stack_answer(void *arg, const struct coapmx_message *resp,
                         const struct coapmx_error *err)
{
    struct stack_request *r = arg;
    if (resp == NULL) {
        fprintf(stderr, "coapmx-bench: %s\n", err ? err->message : "no response");
        r->run->failed = 1;
        return;
    }
    note(r->run->t, r->sent_us);
    if (r->run->t->started < r->run->o->count)
        stack_send(r);
}

static bool stack_done(void *arg)
{
    struct stack_run *s = arg;
    return s->failed || s->t->done >= s->o->count;
}

static int stack_client(const struct options *o, struct tally *t)
{
    const struct coapmx_transport_ops *ops = coapmx_registry_find(&coapmx_registry, o->client);
    if (ops == NULL) {
        fprintf(stderr, "coapmx-bench: no transport %s\n", o->client);
        return 1;
    }
    struct coapmx_loop *loop = coapmx_loop_new(NULL);
    struct coapmx_transport_config config = {.role = COAPMX_ROLE_CLIENT};
    struct coapmx_error err;
    struct coapmx_transport *tr = coapmx_transport_open(ops, loop, &config, &err);
    struct coapmx_endpoint_config ec = {.seed = 1};
    coapmx_protocol_defaults(&ec.protocol);
    ec.protocol.nstart = o->window; /* W in flight to the one peer */
    struct coapmx_endpoint *ep = tr ? coapmx_endpoint_new(tr, &ec, &err) : NULL;
    if (ep == NULL) {
        fprintf(stderr, "coapmx-bench: %s\n", err.message);
        return 1;
    }
    static struct stack_run s;
    static struct stack_request requests[BENCH_MAX_WINDOW];
    s = (struct stack_run){.ep = ep, .t = t, .o = o};
    char hostinfo[COAPMX_HOSTINFO_MAX];
    coapmx_hostinfo_format(o->host, (uint16_t)o->port, hostinfo, sizeof hostinfo);
    snprintf(s.uri, sizeof s.uri, "coap://%s/hello", hostinfo);
    for (unsigned i = 0; i < o->window && i < o->count; i++) {
        requests[i].run = &s;
        if (stack_send(&requests[i]) != 0)
            break;
    }
    /* bounded: every round trip takes microseconds on loopback */
    bool finished =
        coapmx_loop_run_until(loop, stack_done, &s, (uint64_t)BENCH_STALL_MS + o->count / 10);
    coapmx_endpoint_free(ep);
    coapmx_transport_close(tr);
    coapmx_loop_free(loop);
    if (!finished || s.failed) {
        fprintf(stderr, "coapmx-bench: %s: %u of %u round trips\n", o->client, t->done, o->count);
        return 1;
    }
    return 0;
}

#ifdef COAPMX_BENCH_LIBCOAP
static struct {
    struct tally *t;
    const struct options *o;
    coap_session_t *session;
    double sent_at[65536];
    int failed;
} lc;

static int libcoap_send(void)
{
    coap_pdu_t *pdu =
        coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, coap_new_message_id(lc.session),
                      coap_session_max_pdu_size(lc.session));
    uint8_t token[2] = {(uint8_t)(lc.t->started >> 8), (uint8_t)lc.t->started};
    if (pdu == NULL || !coap_add_token(pdu, sizeof token, token) ||
        !coap_add_option(pdu, COAP_OPTION_URI_PATH, 5, (const uint8_t *)"hello"))
        return -1;
    lc.sent_at[(uint16_t)lc.t->started++] = now_us();
    return coap_send(lc.session, pdu) == COAP_INVALID_MID ? -1 : 0;
}

static coap_response_t libcoap_answer(coap_session_t *session, const coap_pdu_t *sent,
                                      const coap_pdu_t *received, const coap_mid_t mid)
{
    (void)session;
    (void)sent;
    (void)mid;
    coap_bin_const_t token = coap_pdu_get_token(received);
    if (token.length == 2)
        note(lc.t, lc.sent_at[(uint16_t)(token.s[0] << 8 | token.s[1])]);
    if (lc.t->started < lc.o->count && libcoap_send() != 0)
        lc.failed = 1;
    return COAP_RESPONSE_OK;
}

static int libcoap_client(const struct options *o, struct tally *t)
{
    coap_startup();
    coap_set_log_level(LOG_ERR);
    coap_context_t *ctx = coap_new_context(NULL);
    coap_address_t dst;
    struct sockaddr_storage to;
    coap_address_init(&dst);
    if (ctx == NULL || coapmx_sockaddr_from_literal(o->host, (uint16_t)o->port, &to) != 0)
        return 1;
    dst.size = coapmx_sockaddr_len((struct sockaddr *)&to);
    memcpy(&dst.addr, &to, dst.size);
    lc.t = t;
    lc.o = o;
    lc.session = coap_new_client_session(ctx, NULL, &dst, COAP_PROTO_UDP);
    if (lc.session == NULL)
        return 1;
    coap_session_set_nstart(lc.session, (uint16_t)o->window);
    coap_register_response_handler(ctx, libcoap_answer);
    for (unsigned i = 0; i < o->window && i < o->count; i++)
        if (libcoap_send() != 0)
            return 1;
    double stall_from = now_us();
    unsigned last = 0;
    while (t->done < o->count && !lc.failed) {
        coap_io_process(ctx, 100);
        if (t->done != last) {
            last = t->done;
            stall_from = now_us();
        } else if (now_us() - stall_from > BENCH_STALL_MS * 1e3) {
            fprintf(stderr, "coapmx-bench: libcoap: %u of %u round trips\n", t->done, o->count);
            return 1;
        }
    }
    coap_session_release(lc.session);
    coap_free_context(ctx);
    coap_cleanup();
    return lc.failed;
}
#endif

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int rtt(const struct options *o)
{
    struct tally t = {.latencies_us = calloc(o->count, sizeof(double))};
    if (t.latencies_us == NULL)
        return die("out of memory");
    double start = now_us();
    int rc;
    if (strcmp(o->client, "raw") == 0 || strcmp(o->client, "raw-dualstack") == 0)
        rc = raw_client(o, &t, strcmp(o->client, "raw-dualstack") == 0);
#ifdef COAPMX_BENCH_LIBCOAP
    else if (strcmp(o->client, "libcoap") == 0)
        rc = libcoap_client(o, &t);
#endif
    else
        rc = stack_client(o, &t);
    double seconds = (now_us() - start) / 1e6;
    if (rc == 0) {
        qsort(t.latencies_us, t.done, sizeof(double), compare_double);
        printf(
            "rtt client=%s window=%u round_trips=%u seconds=%.4f per_second=%.0f median_us=%.1f\n",
            o->client, o->window, t.done, seconds, t.done / seconds, t.latencies_us[t.done / 2]);
    }
    free(t.latencies_us);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o = {.host = "127.0.0.1", .window = 1, .count = 5000, .cpu = -1};
    if (argc < 2) {
        fprintf(stderr, "usage: coapmx-bench responder|rtt [options] (see harness/bench.c)\n");
        return 2;
    }
    o.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        unsigned long n = 0;
        bool number = coapmx_parse_number(v, 1000000, &n) == 0;
        if (strcmp(k, "--client") == 0)
            o.client = v;
        else if (strcmp(k, "--host") == 0)
            o.host = v;
        else if (strcmp(k, "--port") == 0 && number)
            o.port = (unsigned)n;
        else if (strcmp(k, "--window") == 0 && number && n >= 1 && n <= BENCH_MAX_WINDOW)
            o.window = (unsigned)n;
        else if (strcmp(k, "--count") == 0 && number && n >= 1 && n <= 65536)
            o.count = (unsigned)n;
        else if (strcmp(k, "--cpu") == 0 && number)
            o.cpu = (int)n;
        else {
            fprintf(stderr, "coapmx-bench: bad option %s %s\n", k, v);
            return 2;
        }
    }
    pin(o.cpu);
    if (strcmp(o.mode, "responder") == 0 && o.port)
        return responder(&o);
    if (strcmp(o.mode, "rtt") == 0 && o.port && o.client)
        return rtt(&o);
    fprintf(stderr, "coapmx-bench: bad mode or missing --port/--client\n");
    return 2;
}
