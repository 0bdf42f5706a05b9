/* A forward proxy relaying a blockwise transfer block by block (row B3): the downstream side is
 * a harness socket the peer talks to, the upstream side the transport under test. aiocoap's
 * simple6 sent every relayed block from a new socket; here the origin must see one source port,
 * although the proxy talks to other peers between blocks through a pool of two sockets. */
#include "common.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "../transports/addr.h"

#define PROXY_PORT 5700

struct relay {
    struct cell *cx;
    struct iut_endpoint *upstream;
    int downstream;
    struct coapmx_remote origin; /* pinned while a transfer runs */
    bool holding;
    bool hold_refused; /* our stack would not pin the origin: why */
    char hold_error[COAPMX_ERROR_MESSAGE_MAX];
    unsigned relayed;
    struct sockaddr_storage client; /* the request being relayed */
    socklen_t client_len;
    uint16_t mid;
    uint8_t token[COAP_TOKEN_MAX];
    uint8_t token_len;
    unsigned goal; /* relayed responses to wait for */
};

static void relay_back(void *arg, const struct coapmx_message *resp, const struct coapmx_error *err)
{
    struct relay *r = arg;
    struct coap_msg down;
    uint8_t out[2048];
    size_t len;
    coap_msg_init(&down, COAP_ACK, resp ? resp->msg.code : COAP_CODE(5, 2), r->mid);
    coap_msg_set_token(&down, r->token, r->token_len);
    const struct coap_option *block =
        resp ? coap_msg_find_option(&resp->msg, COAP_OPT_BLOCK2, NULL) : NULL;
    if (block != NULL)
        coap_msg_add_option(&down, COAP_OPT_BLOCK2, block->value, block->length);
    if (resp != NULL) {
        down.payload = resp->msg.payload;
        down.payload_len = resp->msg.payload_len;
    }
    (void)err;
    if (coap_encode(&down, out, sizeof out, &len) == COAP_OK)
        sendto(r->downstream, out, len, 0, (struct sockaddr *)&r->client, r->client_len);
    bool last = block == NULL || !(coap_option_uint(block) & 8);
    if (last && r->holding) {
        if (iut_stack(r->upstream) != NULL)
            coapmx_endpoint_release(iut_stack(r->upstream), &r->origin);
        r->holding = false;
    }
    r->relayed++;
}

static void on_downstream(void *arg, int fd, short revents)
{
    struct relay *r = arg;
    uint8_t buf[2048];
    struct coap_msg req;
    (void)revents;
    r->client_len = sizeof r->client;
    ssize_t n =
        recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&r->client, &r->client_len);
    if (n <= 0 || coap_parse(buf, (size_t)n, &req) != COAP_OK)
        return;
    char uri[300];
    const struct coap_option *proxy_uri = coap_msg_find_option(&req, COAP_OPT_PROXY_URI, NULL);
    const struct coap_option *block = coap_msg_find_option(&req, COAP_OPT_BLOCK2, NULL);
    if (proxy_uri == NULL || block == NULL || proxy_uri->length >= sizeof uri)
        return;
    snprintf(uri, sizeof uri, "%.*s", (int)proxy_uri->length, (const char *)proxy_uri->value);
    r->mid = req.mid;
    r->token_len = req.token_len;
    memcpy(r->token, req.token, req.token_len);
    struct coapmx_error err;
    /* Our stack pins the origin's socket for the transfer; a third-party stack has its own way,
     * or none, which is what this row finds out. */
    if (!r->holding) {
        struct coapmx_endpoint *stack = iut_stack(r->upstream);
        err = (struct coapmx_error){0};
        if (stack != NULL && coapmx_endpoint_hold(stack, uri, &r->origin, &err) != 0) {
            r->hold_refused = true;
            snprintf(r->hold_error, sizeof r->hold_error, "%s", err.message);
        }
        r->holding = true;
    }
    struct coapmx_request up = {.type = COAP_CON,
                                .method = COAP_GET,
                                .uri = uri,
                                .relay_block_option = COAP_OPT_BLOCK2,
                                .relay_block_value = coap_option_uint(block)};
    if (iut_request(r->upstream, &up, relay_back, r, &err) < 0)
        relay_back(r, NULL, &err);
}

static bool relayed_enough(void *arg)
{
    struct relay *r = arg;
    return r->relayed >= r->goal;
}

/* The relay's downstream socket: the client's address on the lane, a port of its own. */
static int open_downstream(struct cell *cx, int family, struct sockaddr_storage *addr)
{
    coapmx_sockaddr_from_literal(cell_own_address(cx, family), PROXY_PORT, addr);
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CX_EXPECT(cx, fd >= 0, "socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)addr, coapmx_sockaddr_len((struct sockaddr *)addr)) != 0) {
        int e = errno;
        close(fd);
        cell_fail(cx, "cannot bind the relay's downstream socket: %s", strerror(e));
    }
    return fd;
}

static size_t downstream_request(struct cell *cx, const char *origin_uri, uint32_t num,
                                 uint8_t *buf, size_t cap)
{
    struct coap_msg m;
    uint8_t block[4];
    size_t len = 0;
    coap_msg_init(&m, COAP_CON, COAP_GET, (uint16_t)(0x5000 + num));
    coap_msg_set_token(&m, (const uint8_t *)"px", 2);
    coap_msg_add_option(&m, COAP_OPT_PROXY_URI, origin_uri, strlen(origin_uri));
    coap_msg_add_option(&m, COAP_OPT_BLOCK2, block, coap_uint_encode(num << 4 | 6, block));
    CX_EXPECT(cx, coap_encode(&m, buf, cap, &len) == COAP_OK, "cannot encode a proxy request");
    return len;
}

/* Between blocks the proxy serves others: two more peers through a pool of two sockets. */
static void other_traffic(struct cell *cx, struct iut_endpoint *ep, const char *const *hosts)
{
    for (size_t i = 0; hosts[i] != NULL; i++) {
        char uri[300];
        const struct coapmx_message *resp;
        struct coapmx_error err;
        snprintf(uri, sizeof uri, "coap://%s/hello", hosts[i]);
        CX_EXPECT(cx, cell_request_uri(cx, ep, COAP_CON, uri, &resp, &err) == 0, "GET %s: %s", uri,
                  err.message);
    }
}

/* The peer's view of what the relay sent back: the Block2 responses at its downstream port. */
static void expect_relayed_body(struct cell *cx, const struct wire_capture *cap,
                                const struct sockaddr_storage *peer_client)
{
    struct wire_filter f = WIRE_FILTER_ANY;
    f.dst = (const struct sockaddr *)peer_client;
    f.coap_type = COAP_ACK;
    f.coap_code = COAP_CONTENT;
    size_t bytes = 0;
    for (size_t i = 0; wire_find(cap, &f, i) != NULL; i++) {
        const struct wire_datagram *dg = wire_find(cap, &f, i);
        CX_EXPECT_INT(cx, block_of(dg, COAP_OPT_BLOCK2) >> 4, i, "relayed block number");
        for (size_t k = 0; k < dg->coap.payload_len; k++)
            CX_EXPECT(cx, dg->coap.payload[k] == PEER_PATTERN(bytes + k),
                      "relayed byte %zu is wrong", bytes + k);
        bytes += dg->coap.payload_len;
    }
    CX_EXPECT_INT(cx, bytes, PEER_BLOCKWISE_BYTES, "bytes relayed to the downstream client");
}

/* B3: every block of a relayed transfer reaches the origin from the same source port. */
static void relay_blockwise(struct cell *cx)
{
    struct coapmx_transport_config config;
    cell_client_config(cx, &config);
    config.max_sockets = 2;
    struct coapmx_error err;
    struct relay r = {.cx = cx};
    r.upstream = cell_open(cx, &config, &err);
    CX_EXPECT(cx, r.upstream != NULL, "cannot open the upstream side: %s", err.message);
    int family = cell_kind(cx)->family;
    struct sockaddr_storage downstream, peer_client;
    r.downstream = open_downstream(cx, family, &downstream);
    cell_own_fd(cx, r.downstream);
    coapmx_loop_watch(cell_loop(cx), r.downstream, POLLIN, on_downstream, &r);
    cell_peer_sockaddr(cx, family, PEER_PORT_ALT, &peer_client);
    char origin[300];
    cell_uri(cx, 0, "big10k", origin, sizeof origin);
    static const char *const others4[] = {"v4.test", "dual4.test", NULL};
    static const char *const others6[] = {"v6.test", "dual.test", NULL};
    for (uint32_t num = 0; num < PEER_BLOCKWISE_BYTES / 1024; num++) {
        uint8_t buf[512];
        size_t len = downstream_request(cx, origin, num, buf, sizeof buf);
        CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer_client, (void *)&downstream, buf, len),
                      0, "errno of the downstream request");
        r.goal = num + 1;
        CX_EXPECT(cx, cell_run_until(cx, relayed_enough, &r), "block %u was not relayed", num);
        other_traffic(cx, r.upstream, family == AF_INET ? others4 : others6);
    }
    CX_EXPECT(cx, !r.hold_refused, "our stack would not pin the origin: \"%s\"", r.hold_error);
    CX_EXPECT(cx, !r.holding, "the relay still holds the origin after the last block");
    const struct wire_capture *cap = cell_wire(cx);
    uint32_t blocks[16];
    CX_EXPECT_INT(cx, block_requests(cx, cap, "big10k", COAP_OPT_BLOCK2, blocks, 16),
                  PEER_BLOCKWISE_BYTES / 1024, "relayed block requests at the origin");
    expect_relayed_body(cx, cap, &peer_client);
}

static const char *unless_relays(const struct iut_info *iut)
{
    return iut->caps.relay ? NULL
                           : "it cannot send one block of a transfer and hand back its response "
                             "as it is (caps: relay)";
}

const struct scenario scenario_b3 = {
    .id = "B3-proxy-blockwise",
    .title = "a proxy relays a blockwise transfer: every block from one source port",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = relay_blockwise,
    .not_applicable = unless_relays,
};
