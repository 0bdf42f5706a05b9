/* Client and server roles, and datagrams from strangers (rows R1, R3). */
#include "common.h"

#include <errno.h>

#include "../transports/addr.h"

static void client_address(struct cell *cx, int family, uint16_t port, struct sockaddr_storage *out)
{
    coapmx_sockaddr_from_literal(cell_own_address(cx, family), port, out);
}

/* The peer (acting as a client) asks the transport's server for /hello. */
static void peer_requests(struct cell *cx, struct iut_endpoint *server, int family)
{
    static const uint8_t get_hello[] = {0x40, 0x01, 0x12, 0x34, 0xb5, 'h', 'e', 'l', 'l', 'o'};
    struct sockaddr_storage from, to;
    cell_peer_sockaddr(cx, family, PEER_PORT_ALT, &from);
    client_address(cx, family, PEER_PORT_DEFAULT, &to);
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&from, (void *)&to, get_hello, sizeof get_hello),
                  0, "errno of the peer's request to the server");
    CX_EXPECT(cx, cell_wait_served(cx, server, 1), "the server saw no request");
    struct wire_filter f = WIRE_FILTER_ANY;
    f.dst = (const struct sockaddr *)&from;
    f.coap_type = COAP_ACK;
    f.coap_code = COAP_CONTENT;
    cell_wait_wire(cx, &f, 1, cell_reaction_ms(cx));
    const struct wire_datagram *ack = wire_find(cell_wire(cx), &f, 0);
    CX_EXPECT(cx, ack != NULL, "no piggybacked 2.05 came back to the peer");
    CX_EXPECT_INT(cx, ack->coap.mid, 0x1234, "MID of the piggybacked response");
    CX_EXPECT_INT(cx, coapmx_sockaddr_port((const struct sockaddr *)&ack->src), PEER_PORT_DEFAULT,
                  "source port of the response");
}

/* Bound to the literal address of the kind's family (M5 covers the any-address default). */
static void server_role(struct cell *cx)
{
    struct coapmx_transport_config config = {
        .role = COAPMX_ROLE_SERVER, .bind_host = cell_own_address(cx, cell_kind(cx)->family)};
    struct coapmx_error err;
    int fds_before = cell_iut_descriptors(cx);
    struct iut_endpoint *server = cell_open(cx, &config, &err);
    if (cell_profile(cx)->roles == COAPMX_ROLES_CLIENT_ONLY) {
        CX_EXPECT(cx, server == NULL, "a client-only IUT opened as a server");
        CX_EXPECT_ERR(cx, &err, COAPMX_ECLIENTONLY, "opening as a server");
        cell_expect_message(cx, &err, "client-only", "opening as a server");
        CX_EXPECT_INT(cx, cell_iut_descriptors(cx), fds_before, "descriptors after the refusal");
        return;
    }
    CX_EXPECT(cx, server != NULL, "opening as a server failed: %s", err.message);
    peer_requests(cx, server, cell_kind(cx)->family);
}

/* A host the client never addressed pings the client's port. */
static void stranger_ping(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    const struct wire_datagram *first = nth_request_at_peer(cx, cell_wire(cx), 0);
    int family = first->family;
    uint16_t client_port = wire_src_port(first);
    struct sockaddr_storage stranger, client;
    cell_stranger_sockaddr(cx, family, PEER_PORT_DEFAULT, &stranger);
    client_address(cx, family, client_port, &client);
    static const uint8_t ping[] = {0x40, 0x00, 0x77, 0x77};
    int send_errno = cell_peer_send(cx, (void *)&stranger, (void *)&client, ping, sizeof ping);
    cell_observe(cx, "stranger_send", "%s", cell_errno_name(send_errno));
    struct wire_filter rst = WIRE_FILTER_ANY;
    rst.dst = (const struct sockaddr *)&stranger;
    rst.coap_type = COAP_RST;
    if (cell_profile(cx)->accepts_strangers)
        cell_wait_wire(cx, &rst, 1, cell_reaction_ms(cx));
    /* A second exchange on the same socket: a queued ping is processed before its response. */
    cell_get(cx, ep, 0, "hello");
    size_t resets = wire_count(cell_wire(cx), &rst);
    if (cell_profile(cx)->accepts_strangers) {
        CX_EXPECT_INT(cx, send_errno, 0, "errno of the stranger's ping");
        CX_EXPECT_INT(cx, resets, 1, "RSTs to the stranger's ping on the wire");
        if (stack_stats(cx, ep) != NULL)
            CX_EXPECT_INT(cx, stack_stats(cx, ep)->rst_sent, 1, "RSTs the endpoint sent");
        return;
    }
    /* The kernel drops it silently; socket_wrapper refuses the stranger's send (EPERM). */
    CX_EXPECT(cx, send_errno == 0 || send_errno == EPERM, "the stranger's ping failed: errno %d",
              send_errno);
    CX_EXPECT_INT(cx, resets, 0, "RSTs to the stranger's ping on the wire");
    if (transport_stats(cx, ep) != NULL)
        CX_EXPECT_INT(cx, transport_stats(cx, ep)->datagrams_received, 2,
                      "datagrams the client received");
}

const struct scenario scenario_r1 = {
    .id = "R1-server-role",
    .title = "opening as a server: serves requests, or refused",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = server_role,
};
const struct scenario scenario_r3 = {
    .id = "R3-stranger",
    .title = "a ping from a never-addressed host",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = stranger_ping,
};

/* R2, N8: the peer the client addressed sends a request back from the same address and port:
 * it is served, and named as the profile names that peer. */
static void role_reversal(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    const struct wire_datagram *first = nth_request_at_peer(cx, cell_wire(cx), 0);
    struct sockaddr_storage client = first->src, peer = first->dst;
    static const uint8_t get[] = {0x40, 0x01, 0x24, 0x68, 0xb3, 'r', 'e', 'g'};
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, get, sizeof get), 0,
                  "errno of the peer's request");
    CX_EXPECT(cx, cell_wait_served(cx, ep, 1), "the reversed request was not served");
    char expected[COAPMX_HOSTINFO_MAX];
    cell_expected_hostinfo(cx, 0, expected, sizeof expected);
    CX_EXPECT_STR(cx, iut_served(ep, 0)->peer, expected, "remote hostinfo of the reversed request");
    struct wire_filter ack = WIRE_FILTER_ANY;
    ack.dst = (const struct sockaddr *)&peer;
    ack.coap_type = COAP_ACK;
    ack.coap_code = COAP_CONTENT;
    cell_wait_wire(cx, &ack, 1, cell_reaction_ms(cx));
    const struct wire_datagram *answer = wire_find(cell_wire(cx), &ack, 0);
    CX_EXPECT(cx, answer != NULL && answer->coap.mid == 0x2468,
              "no piggybacked answer to the reversed request on the wire");
}

const struct scenario scenario_r2 = {
    .id = "R2-role-reversal",
    .title = "a request back from the addressed peer is served and named like it (N8)",
    .kinds = KINDS("v4", "v6", "v4.test", "dual.test"),
    .traffic = true,
    .run = role_reversal,
    .not_applicable = unless_serves_on_client,
};
