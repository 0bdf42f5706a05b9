/* The socket model: how many sockets, connected or shared, reused or not (rows S1-S4). */
#include "common.h"

#include <arpa/inet.h>

#include "../transports/addr.h"
#include "../harness/wirefmt.h"

static void sockets_before_first_request(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    size_t at_open = cell_profile(cx)->client_sockets_at_open;
    CX_EXPECT_INT(cx, socket_count(ep), at_open, "sockets before the first request");
    cell_get(cx, ep, 0, "hello");
    CX_EXPECT_INT(cx, socket_count(ep), at_open ? at_open : 1, "sockets after one request");
}

/* Where the lane cannot show a socket's wildcard bind and connected peer from outside the
 * process that holds it, only our transports' sockets (in the cell's process) can be examined. */
static void need_socket_details(struct cell *cx)
{
    if (!cell_lane(cx)->sees_socket_details && !cell_caps(cx)->introspection)
        cell_skip(cx,
                  "lane %s shows another process's sockets as Unix sockets named after an "
                  "address: whether one is bound to the wildcard or connected cannot be seen",
                  cell_lane(cx)->name);
}

static void format_pair(const struct sockaddr_storage *got, const struct sockaddr_storage *want,
                        char got_text[80], char want_text[80])
{
    wire_format_sockaddr((const struct sockaddr *)got, got_text, 80);
    wire_format_sockaddr((const struct sockaddr *)want, want_text, 80);
}

static void expect_connected_to_peer(struct cell *cx, const struct iut_socket *s)
{
    struct sockaddr_storage peer;
    CX_EXPECT(cx, s->peer.ss_family != 0, "the per-peer socket is not connected");
    cell_peer_sockaddr(cx, s->peer.ss_family, PEER_PORT_ALT, &peer);
    char got[80], want[80];
    format_pair(&s->peer, &peer, got, want);
    CX_EXPECT(cx,
              coapmx_sockaddr_same_ip((const struct sockaddr *)&s->peer, (struct sockaddr *)&peer),
              "socket connected to %s, expected %s", got, want);
}

static void expect_shared_dualstack(struct cell *cx, const struct iut_socket *s)
{
    CX_EXPECT(cx, s->peer.ss_family == 0, "the shared socket is connected to one peer");
    CX_EXPECT_INT(cx, s->local.ss_family, AF_INET6, "family of the shared socket");
    CX_EXPECT(cx, IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&s->local)->sin6_addr),
              "the shared client socket is not bound to [::]");
}

/* Not connected, and bound to the wildcard of the family the request went in. */
static void expect_unconnected_wildcard(struct cell *cx, const struct iut_socket *s)
{
    int family = cell_expected_wire_family(cx);
    CX_EXPECT(cx, s->peer.ss_family == 0, "the socket is connected to one peer");
    CX_EXPECT_INT(cx, s->local.ss_family, family, "family of the socket");
    bool wildcard =
        family == AF_INET
            ? ((const struct sockaddr_in *)&s->local)->sin_addr.s_addr == htonl(INADDR_ANY)
            : IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&s->local)->sin6_addr);
    CX_EXPECT(cx, wildcard, "the socket is not bound to the wildcard of its family");
}

/* Not connected, and bound to the address it was given (not a wildcard), in its family. */
static void expect_bound_unconnected(struct cell *cx, const struct iut_socket *s)
{
    struct sockaddr_storage own;
    CX_EXPECT(cx, s->peer.ss_family == 0, "the bound socket is connected to one peer");
    int family = cell_bind_family(cx);
    coapmx_sockaddr_from_literal(cell_own_address(cx, family), 0, &own);
    char got[80], want[80];
    format_pair(&s->local, &own, got, want);
    CX_EXPECT(cx,
              coapmx_sockaddr_same_ip((const struct sockaddr *)&s->local, (struct sockaddr *)&own),
              "the socket is bound to %s, expected the address it was given, %s", got, want);
    CX_EXPECT(cx, coapmx_sockaddr_port((const struct sockaddr *)&s->local) != 0,
              "the socket has no port");
}

static void socket_model(struct cell *cx)
{
    need_socket_details(cx);
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct iut_socket sockets[4];
    size_t n = iut_sockets(ep, sockets, 4);
    CX_EXPECT_INT(cx, n, 1, "sockets after one request");
    switch (cell_profile(cx)->sockets) {
    case COAPMX_SOCKETS_PER_PEER_CONNECTED:
        expect_connected_to_peer(cx, &sockets[0]);
        break;
    case COAPMX_SOCKET_SHARED_DUALSTACK:
        expect_shared_dualstack(cx, &sockets[0]);
        break;
    case COAPMX_SOCKET_BOUND_UNCONNECTED:
        expect_bound_unconnected(cx, &sockets[0]);
        break;
    case COAPMX_SOCKETS_PER_FAMILY_UNCONNECTED:
        expect_unconnected_wildcard(cx, &sockets[0]);
        break;
    }
}

static void same_authority_reuses_port(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    size_t sockets = socket_count(ep);
    cell_get(cx, ep, 0, "hello");
    CX_EXPECT_INT(cx, socket_count(ep), sockets, "sockets after a second request");
    const struct wire_capture *cap = cell_wire(cx);
    uint16_t first = wire_src_port(nth_request_at_peer(cx, cap, 0));
    uint16_t second = wire_src_port(nth_request_at_peer(cx, cap, 1));
    CX_EXPECT_INT(cx, second, first, "source port of the second request on the wire");
}

/* A name and the literal it resolves to: separate sockets and ports only if the profile says a
 * socket belongs to a spelling. */
static void name_and_literal(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    size_t after_name = socket_count(ep);
    int family = nth_request_at_peer(cx, cell_wire(cx), 0)->family;
    const struct lane *lane = cell_lane(cx);
    char hostinfo[COAPMX_HOSTINFO_MAX], uri[300];
    coapmx_hostinfo_format(family == AF_INET ? lane->peer_v4 : lane->peer_v6, PEER_PORT_DEFAULT,
                           hostinfo, sizeof hostinfo);
    snprintf(uri, sizeof uri, "coap://%s/hello", hostinfo);
    const struct coapmx_message *resp;
    struct coapmx_error err;
    CX_EXPECT(cx, cell_request_uri(cx, ep, COAP_CON, uri, &resp, &err) == 0, "GET %s: %s", uri,
              err.message);
    bool separate = cell_profile(cx)->socket_per_spelling;
    CX_EXPECT_INT(cx, socket_count(ep), after_name + (separate ? 1 : 0),
                  "sockets after requesting the literal");
    const struct wire_capture *cap = cell_wire(cx);
    uint16_t by_name = wire_src_port(nth_request_at_peer(cx, cap, 0));
    uint16_t by_literal = wire_src_port(nth_request_at_peer(cx, cap, 1));
    CX_EXPECT(cx, (by_name != by_literal) == separate,
              "source ports on the wire: %u for %s and %u for %s; expected %s", by_name,
              cell_host(cx), by_literal, hostinfo, separate ? "different" : "the same");
}

const struct scenario scenario_s1 = {
    .id = "S1-sockets-at-open",
    .title = "sockets before the first request",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = sockets_before_first_request,
};
const struct scenario scenario_s2 = {
    .id = "S2-socket-model",
    .title = "connected per-peer socket, one shared [::] socket, one bound unconnected one, or "
             "an unconnected wildcard socket per family",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = socket_model,
};
const struct scenario scenario_s3 = {
    .id = "S3-same-authority-reuse",
    .title = "a second request to one authority reuses socket and port",
    .kinds = KINDS("v4", "v6", "dual.test"),
    .traffic = true,
    .run = same_authority_reuses_port,
};
const struct scenario scenario_s4 = {
    .id = "S4-name-and-literal",
    .title = "a name and its literal: one socket or two, per profile",
    .kinds = KINDS("v4.test", "v6.test"),
    .traffic = true,
    .run = name_and_literal,
};

static void ignore_outcome(void *arg, const struct coapmx_message *resp,
                           const struct coapmx_error *err)
{
    (void)arg;
    (void)resp;
    (void)err;
}

static int64_t start_silent(struct cell *cx, struct iut_endpoint *ep, const char *host)
{
    char hostinfo[COAPMX_HOSTINFO_MAX], uri[300];
    struct coapmx_error err;
    coapmx_hostinfo_format(host, PEER_PORT_DEFAULT, hostinfo, sizeof hostinfo);
    snprintf(uri, sizeof uri, "coap://%s/silent", hostinfo);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    int64_t id = iut_request(ep, &req, ignore_outcome, NULL, &err);
    CX_EXPECT(cx, id > 0, "cannot start GET %s: %s", uri, err.message);
    return id;
}

static bool same_socket_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    return coapmx_sockaddr_same_ip((const struct sockaddr *)a, (const struct sockaddr *)b) &&
           coapmx_sockaddr_port((const struct sockaddr *)a) ==
               coapmx_sockaddr_port((const struct sockaddr *)b);
}

/* Whether one of the IUT's sockets is bound to `local` (descriptor numbers get reused). */
static bool has_socket_at(struct iut_endpoint *ep, const struct sockaddr_storage *local)
{
    struct iut_socket sockets[8];
    size_t n = iut_sockets(ep, sockets, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        if (same_socket_address(&sockets[i].local, local))
            return true;
    return false;
}

/* The sources of GET /silent on the wire, in order, each once. */
static size_t silent_sources(struct cell *cx, struct sockaddr_storage *from, size_t max)
{
    struct wire_filter get = WIRE_FILTER_ANY;
    get.coap_code = COAP_GET;
    const struct wire_capture *cap = cell_wire(cx);
    size_t n = 0;
    for (size_t i = 0; wire_find(cap, &get, i) != NULL; i++) {
        const struct wire_datagram *dg = wire_find(cap, &get, i);
        bool seen = !has_path(dg, "silent");
        for (size_t k = 0; k < n && !seen; k++)
            seen = same_socket_address(&from[k], &dg->src);
        if (!seen && n < max)
            from[n++] = dg->src;
    }
    return n;
}

struct silent_goal {
    struct cell *cx;
    size_t sources;
};

static bool silent_sent(void *arg)
{
    struct silent_goal *g = arg;
    struct sockaddr_storage from[4];
    return silent_sources(g->cx, from, 4) >= g->sources;
}

/* Until `sources` silent exchanges are on the wire: they are in flight from then on. */
static void await_silent(struct cell *cx, size_t sources, struct sockaddr_storage *from)
{
    struct silent_goal g = {.cx = cx, .sources = sources};
    struct sockaddr_storage all[4];
    CX_EXPECT(cx, cell_run_until(cx, silent_sent, &g),
              "%zu silent request%s never reached the peer", sources, sources == 1 ? "" : "s");
    silent_sources(cx, all, 4);
    *from = all[sources - 1];
}

/* S5: a pool of two sockets evicts the least recently used idle one, never one with an
 * exchange in flight; with every socket busy, a new peer is refused as "too many peers". */
static void pool_eviction(struct cell *cx)
{
    struct coapmx_transport_config config;
    cell_client_config(cx, &config);
    config.max_sockets = 2;
    struct coapmx_error err;
    struct iut_endpoint *ep = cell_open(cx, &config, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open a client: %s", err.message);
    const char *literal = cell_lane(cx)->peer_v4;
    start_silent(cx, ep, literal); /* in flight until it gives up */
    struct sockaddr_storage busy, second;
    await_silent(cx, 1, &busy);
    CX_EXPECT_INT(cx, socket_count(ep), 1, "sockets after one request");
    char uri[300];
    const struct coapmx_message *resp;
    snprintf(uri, sizeof uri, "coap://v4.test/hello");
    CX_EXPECT(cx, cell_request_uri(cx, ep, COAP_CON, uri, &resp, &err) == 0, "GET %s: %s", uri,
              err.message);             /* its socket is idle afterwards */
    start_silent(cx, ep, "dual4.test"); /* the pool is full: the idle socket must give way */
    await_silent(cx, 2, &second);
    CX_EXPECT_INT(cx, socket_count(ep), 2, "sockets in the full pool");
    CX_EXPECT(cx, has_socket_at(ep, &busy), "the socket with an exchange in flight was evicted");
    snprintf(uri, sizeof uri, "coap://v6.test/hello");
    CX_EXPECT(cx, cell_request_uri(cx, ep, COAP_CON, uri, &resp, &err) != 0,
              "a third peer got a socket while both were busy");
    CX_EXPECT_ERR(cx, &err, COAPMX_ETOOMANYPEERS, "a new peer with every socket busy");
    cell_expect_message(cx, &err, "too many peers", "a new peer with every socket busy");
    /* The busy exchange goes on from its own port: its retransmission leaves from it. */
    struct wire_filter from_busy = WIRE_FILTER_ANY;
    from_busy.src = (const struct sockaddr *)&busy;
    from_busy.coap_code = COAP_GET;
    CX_EXPECT(cx,
              cell_wait_wire(cx, &from_busy, 2,
                             cell_protocol(cx)->ack_timeout_ms * 2 + cell_time_slack_ms(cx)),
              "the busy exchange was not retransmitted from its own port");
}

static const char *unless_transport_api(const struct iut_info *iut)
{
    const char *why = unless_socket_pool(iut);
    if (why != NULL)
        return why;
    return iut->caps.introspection ? NULL
                                   : "resolves keys and sends through the transport's own API, "
                                     "which a driver does not offer (S5-pool-eviction covers "
                                     "eviction through requests)";
}

/* S5: the default pool holds COAPMX_MAX_SOCKETS_DEFAULT sockets; a remote whose idle socket was
 * evicted still works: its next datagram goes out on a new socket. */
static void default_pool(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    struct coapmx_endpoint *stack = iut_stack(ep);
    struct coapmx_transport *t = coapmx_endpoint_transport(stack);
    const char *literal = cell_lane(cx)->peer_v4;
    struct coapmx_remote first, other;
    struct coapmx_error err;
    CX_EXPECT(cx, coapmx_transport_resolve(t, literal, PEER_PORT_DEFAULT, &first, &err) == 0,
              "cannot resolve %s: %s", literal, err.message);
    /* Keys differ by port: resolving opens a socket for each and sends nothing. */
    for (uint16_t i = 1; i <= COAPMX_MAX_SOCKETS_DEFAULT; i++)
        CX_EXPECT(cx, coapmx_transport_resolve(t, literal, (uint16_t)(6000 + i), &other, &err) == 0,
                  "cannot resolve %s port %u: %s", literal, 6000 + i, err.message);
    CX_EXPECT_INT(cx, coapmx_transport_sockets(t, NULL, 0), COAPMX_MAX_SOCKETS_DEFAULT,
                  "sockets of a default pool after one more key than it holds");
    static const uint8_t ping[] = {0x40, 0x00, 0x77, 0x77};
    CX_EXPECT(cx, coapmx_transport_send(t, &first, ping, sizeof ping, &err) == 0,
              "sending to a remote whose socket was evicted: %s", err.message);
    CX_EXPECT_INT(cx, coapmx_transport_sockets(t, NULL, 0), COAPMX_MAX_SOCKETS_DEFAULT,
                  "sockets after the evicted remote sent again");
    cell_advance(cx, 10); /* the peer's RST comes back while every socket is watched */
    struct wire_filter f = WIRE_FILTER_ANY;
    f.coap_type = COAP_CON;
    f.coap_code = COAP_EMPTY;
    const struct wire_datagram *sent = wire_find(cell_wire(cx), &f, 0);
    CX_EXPECT(cx, sent != NULL && sent->coap.mid == 0x7777,
              "the peer did not get the ping sent to the evicted remote");
    CX_EXPECT_INT(cx, coapmx_endpoint_stats(stack)->rst_received, 1, "RSTs answering the ping");
}

const struct scenario scenario_s5 = {
    .id = "S5-pool-eviction",
    .title = "the socket pool evicts idle sockets only; all busy: too many peers",
    .kinds = KINDS("v4"),
    .traffic = true,
    .run = pool_eviction,
    .still_sends = "its silent exchanges are in flight until they give up",
    .not_applicable = unless_socket_pool,
};
const struct scenario scenario_s5b = {
    .id = "S5-default-pool",
    .title = "the default pool holds 64 sockets; an evicted remote gets a new one when used",
    .kinds = KINDS("v4"),
    .traffic = true,
    .run = default_pool,
    .not_applicable = unless_transport_api,
};

/* S6: the any-address. A transport that binds explicitly refuses it however it is given, as a
 * server or as a client, and leaves nothing open; one that does not serves on it by default. */
static void any_address(struct cell *cx)
{
    struct coapmx_transport_config server = {.role = COAPMX_ROLE_SERVER};
    if (!cell_profile(cx)->binds_explicitly) {
        need_socket_details(cx);
        struct coapmx_error err;
        struct iut_endpoint *ep = cell_open(cx, &server, &err);
        CX_EXPECT(cx, ep != NULL, "cannot open a server on the any-address: %s", err.message);
        struct iut_socket s;
        CX_EXPECT_INT(cx, iut_sockets(ep, &s, 1), 1, "sockets of a server");
        CX_EXPECT(cx,
                  s.local.ss_family == AF_INET6 &&
                      IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&s.local)->sin6_addr),
                  "the default server socket is not bound to [::]");
        CX_EXPECT_INT(cx, coapmx_sockaddr_port((struct sockaddr *)&s.local), PEER_PORT_DEFAULT,
                      "port of the default server socket");
        return;
    }
    const char *any = cell_kind(cx)->family == AF_INET ? "0.0.0.0" : "::";
    expect_open_refused(cx, &server, COAPMX_EINVAL, "any-address", "server-without-address");
    server.bind_host = any;
    expect_open_refused(cx, &server, COAPMX_EINVAL, "any-address", "server-on-any-address");
    struct coapmx_transport_config client = {.role = COAPMX_ROLE_CLIENT};
    expect_open_refused(cx, &client, COAPMX_EINVAL, "any-address", "client-without-address");
    client.bind_host = any;
    expect_open_refused(cx, &client, COAPMX_EINVAL, "any-address", "client-on-any-address");
}

const struct scenario scenario_s6 = {
    .id = "S6-any-address",
    .title = "binding the any-address: the default, or refused with a clear error",
    .kinds = KINDS("v4", "v6"),
    .traffic = false,
    .run = any_address,
    .not_applicable = unless_serves,
};
