/* Multicast destinations: recognised, refused, or sent as NON (rows M1-M3). */
#include "common.h"

static void expect_nothing_sent(struct cell *cx, struct coapmx_transport *t, size_t sockets_before)
{
    CX_EXPECT_INT(cx, t->stats.datagrams_sent, 0, "datagrams the transport sent");
    CX_EXPECT_INT(cx, coapmx_transport_sockets(t, NULL, 0), sockets_before,
                  "sockets after the refusal");
    CX_EXPECT_INT(cx, wire_count(cell_local_wire(cx), &(struct wire_filter)WIRE_FILTER_ANY), 0,
                  "datagrams on the wire (transport side)");
}

static void expect_multicast_refusal(struct cell *cx, const struct coapmx_error *err)
{
    CX_EXPECT_ERR(cx, err, COAPMX_EMULTICAST,
                  "a group destination on a transport without multicast");
    CX_EXPECT(cx, strstr(err->message, "multicast") != NULL,
              "the refusal does not say multicast: \"%s\"", err->message);
}

/* Resolving a group: a multicast remote, or (without multicast support) a refusal. */
static void group_is_multicast(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    struct coapmx_transport *t = coapmx_endpoint_transport(ep);
    size_t sockets_before = coapmx_transport_sockets(t, NULL, 0);
    struct coapmx_remote remote;
    struct coapmx_error err;
    int rc = coapmx_transport_resolve(t, cell_host(cx), PEER_PORT_DEFAULT, &remote, &err);
    if (!cell_profile(cx)->multicast) {
        CX_EXPECT(cx, rc != 0, "resolving the group %s succeeded", cell_host(cx));
        expect_multicast_refusal(cx, &err);
        expect_nothing_sent(cx, t, sockets_before);
        return;
    }
    CX_EXPECT(cx, rc == 0, "resolving the group %s failed: %s", cell_host(cx), err.message);
    CX_EXPECT(cx, remote.is_multicast, "remote %s of a group is not multicast", remote.hostinfo);
}

static void group_request(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    struct coapmx_transport *t = coapmx_endpoint_transport(ep);
    size_t sockets_before = coapmx_transport_sockets(t, NULL, 0);
    char uri[300];
    cell_uri(cx, PEER_PORT_DEFAULT, "hello", uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_NON, .method = COAP_GET, .uri = uri};
    struct coapmx_error err;
    int64_t id = coapmx_request_start(ep, &req, NULL, NULL, &err);
    if (!cell_profile(cx)->multicast) {
        CX_EXPECT(cx, id < 0, "a NON request to the group %s was started", cell_host(cx));
        expect_multicast_refusal(cx, &err);
        expect_nothing_sent(cx, t, sockets_before);
        return;
    }
    CX_EXPECT(cx, id > 0, "a NON request to the group %s failed: %s", cell_host(cx), err.message);
    struct wire_filter f = WIRE_FILTER_ANY;
    f.coap_type = COAP_NON;
    f.coap_code = COAP_GET;
    CX_EXPECT_INT(cx, wire_count(cell_local_wire(cx), &f), 1, "NON GET to the group on the wire");
    coapmx_request_cancel(ep, id);
}

static void con_to_group_refused(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    struct coapmx_transport *t = coapmx_endpoint_transport(ep);
    size_t sockets_before = coapmx_transport_sockets(t, NULL, 0);
    const struct coapmx_message *resp;
    struct coapmx_error err;
    CX_EXPECT(cx, cell_request(cx, ep, COAP_CON, PEER_PORT_DEFAULT, "hello", &resp, &err) != 0,
              "a CON request to the group %s succeeded", cell_host(cx));
    if (cell_profile(cx)->multicast)
        CX_EXPECT_ERR(cx, &err, COAPMX_ECONMULTICAST, "CON to a group");
    else
        expect_multicast_refusal(cx, &err);
    expect_nothing_sent(cx, t, sockets_before);
}

const struct scenario scenario_m1 = {
    "M1-is-multicast", "a group address is a multicast remote, or refused",
    KINDS("group4", "group6-link", "group6-site"), false, group_is_multicast};
const struct scenario scenario_m2 = {
    "M2-group-request", "a NON request to a group: sent, or refused with nothing sent",
    KINDS("group4", "group6-link", "group6-site", "group-name"), true, group_request};
const struct scenario scenario_m3 = {"M3-con-to-group", "a CON request to a group is refused",
                                     KINDS("group4", "group6-link", "group6-site"), false,
                                     con_to_group_refused};
