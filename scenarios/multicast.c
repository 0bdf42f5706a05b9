/* Multicast destinations: recognised, refused, or sent as NON (rows M1-M3). */
#include "common.h"

#include "../transports/addr.h"
#include "../harness/wirefmt.h"

static void expect_multicast_refusal(struct cell *cx, const struct coapmx_error *err)
{
    CX_EXPECT_ERR(cx, err, COAPMX_EMULTICAST, "a group destination on an IUT without multicast");
    cell_expect_message(cx, err, "multicast", "a group destination");
    cell_expect_message(cx, err, cell_host(cx), "a group destination"); /* which group */
}

/* Resolving a group: a multicast remote, or (without multicast support) a refusal. */
static void group_is_multicast(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    struct coapmx_transport *t = coapmx_endpoint_transport(iut_stack(ep));
    size_t sockets_before = socket_count(ep);
    struct coapmx_remote remote;
    struct coapmx_error err;
    int rc = coapmx_transport_resolve(t, cell_host(cx), PEER_PORT_DEFAULT, &remote, &err);
    if (!cell_profile(cx)->multicast) {
        CX_EXPECT(cx, rc != 0, "resolving the group %s succeeded", cell_host(cx));
        expect_multicast_refusal(cx, &err);
        CX_EXPECT_INT(cx, socket_count(ep), sockets_before, "sockets after the refusal");
        expect_nothing_sent(cx, ep);
        return;
    }
    CX_EXPECT(cx, rc == 0, "resolving the group %s failed: %s", cell_host(cx), err.message);
    CX_EXPECT(cx, remote.is_multicast, "remote %s of a group is not multicast", remote.hostinfo);
}

struct local_goal {
    struct cell *cx;
    const struct wire_filter *filter;
};

static bool local_wire_has_one(void *arg)
{
    struct local_goal *g = arg;
    return wire_count(cell_local_wire(g->cx), g->filter) >= 1;
}

static void group_request(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    size_t sockets_before = socket_count(ep);
    char uri[300];
    cell_uri(cx, PEER_PORT_DEFAULT, "hello", uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_NON, .method = COAP_GET, .uri = uri};
    struct coapmx_error err;
    if (!cell_profile(cx)->multicast) {
        CX_EXPECT(cx, cell_refuses(cx, ep, &req, &err), "a NON request to the group %s was started",
                  cell_host(cx));
        expect_multicast_refusal(cx, &err);
        CX_EXPECT_INT(cx, socket_count(ep), sockets_before, "sockets after the refusal");
        expect_nothing_sent(cx, ep);
        return;
    }
    int64_t id = iut_request(ep, &req, NULL, NULL, &err);
    CX_EXPECT(cx, id > 0, "a NON request to the group %s failed: %s", cell_host(cx), err.message);
    struct wire_filter f = WIRE_FILTER_ANY;
    f.coap_type = COAP_NON;
    f.coap_code = COAP_GET;
    cell_wait(cx, local_wire_has_one, &(struct local_goal){.cx = cx, .filter = &f},
              cell_reaction_ms(cx));
    CX_EXPECT_INT(cx, wire_count(cell_local_wire(cx), &f), 1, "NON GET to the group on the wire");
    iut_cancel(ep, id);
}

static void con_to_group_refused(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    size_t sockets_before = socket_count(ep);
    const struct coapmx_message *resp;
    struct coapmx_error err;
    CX_EXPECT(cx, cell_request(cx, ep, COAP_CON, PEER_PORT_DEFAULT, "hello", &resp, &err) != 0,
              "a CON request to the group %s succeeded", cell_host(cx));
    if (cell_profile(cx)->multicast)
        CX_EXPECT_ERR(cx, &err, COAPMX_ECONMULTICAST, "CON to a group");
    else
        expect_multicast_refusal(cx, &err);
    CX_EXPECT_INT(cx, socket_count(ep), sockets_before, "sockets after the refusal");
    expect_nothing_sent(cx, ep);
}

static const char *unless_resolver(const struct iut_info *iut)
{
    return iut->caps.introspection ? NULL
                                   : "asks the transport's resolver for a remote, which a driver "
                                     "does not offer (M2 and M3 send to the group)";
}

const struct scenario scenario_m1 = {
    .id = "M1-is-multicast",
    .title = "a group address is a multicast remote, or refused",
    .kinds = KINDS("group4", "group6-link", "group6-site"),
    .traffic = false,
    .run = group_is_multicast,
    .not_applicable = unless_resolver,
};
const struct scenario scenario_m2 = {
    .id = "M2-group-request",
    .title = "a NON request to a group: sent, or refused with nothing sent",
    .kinds = KINDS("group4", "group6-link", "group6-site", "group-name"),
    .traffic = true,
    .run = group_request,
};
const struct scenario scenario_m3 = {
    .id = "M3-con-to-group",
    .title = "a CON request to a group is refused",
    .kinds = KINDS("group4", "group6-link", "group6-site"),
    .traffic = false,
    .run = con_to_group_refused,
};

static const char *unless_serves_groups(const struct iut_info *iut)
{
    const char *why = unless_multicast(iut);
    return why != NULL ? why : unless_serves(iut);
}

#define MAX_RESPONSES 8

struct collection {
    size_t count;
    bool closed;
    char from[MAX_RESPONSES][COAPMX_HOSTINFO_MAX];
    bool from_group[MAX_RESPONSES];
    bool hello[MAX_RESPONSES];
};

static void collect(void *arg, const struct coapmx_message *resp, const struct coapmx_error *err)
{
    struct collection *c = arg;
    (void)err;
    if (resp == NULL) {
        c->closed = true;
        return;
    }
    if (c->count == MAX_RESPONSES)
        return;
    snprintf(c->from[c->count], sizeof c->from[0], "%s", resp->remote.hostinfo);
    c->from_group[c->count] = resp->remote.is_multicast;
    c->hello[c->count] = resp->msg.payload_len == 5 && memcmp(resp->msg.payload, "hello", 5) == 0;
    c->count++;
}

static bool window_closed(void *arg)
{
    return ((struct collection *)arg)->closed;
}

static bool collected_from(const struct collection *c, const char *hostinfo)
{
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->from[i], hostinfo) == 0 && c->hello[i] && !c->from_group[i])
            return true;
    return false;
}

/* Every responder's answer is delivered until the window closes, each named by its unicast
 * address. */
static void group_responses(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    char uri[300];
    cell_uri(cx, PEER_PORT_DEFAULT, "hello", uri, sizeof uri);
    struct coapmx_request req = {
        .type = COAP_NON, .method = COAP_GET, .uri = uri, .collect_ms = 500};
    struct collection c = {0};
    struct coapmx_error err;
    CX_EXPECT(cx, iut_request(ep, &req, collect, &c, &err) > 0,
              "a NON request to the group %s failed: %s", cell_host(cx), err.message);
    CX_EXPECT(cx, cell_wait(cx, window_closed, &c, req.collect_ms * 4 + 1000),
              "the collection window never closed");
    const struct lane *lane = cell_lane(cx);
    bool v4 = cell_kind(cx)->family == AF_INET;
    char peer[COAPMX_HOSTINFO_MAX], stranger[COAPMX_HOSTINFO_MAX];
    coapmx_hostinfo_format(v4 ? lane->peer_v4 : lane->peer_v6, PEER_PORT_DEFAULT, peer,
                           sizeof peer);
    coapmx_hostinfo_format(v4 ? lane->stranger_v4 : lane->stranger_v6, PEER_PORT_DEFAULT, stranger,
                           sizeof stranger);
    CX_EXPECT_INT(cx, c.count, 2, "responses collected from the group");
    CX_EXPECT(cx, collected_from(&c, peer) && collected_from(&c, stranger),
              "responses came from %s and %s, expected %s and %s", c.from[0], c.from[1], peer,
              stranger);
    struct wire_filter answers = WIRE_FILTER_ANY;
    answers.coap_type = COAP_NON;
    answers.coap_code = COAP_CONTENT;
    CX_EXPECT_INT(cx, wire_count(cell_wire(cx), &answers), 2, "NON 2.05 answers on the wire");

    /* Waiting for one answer from a group that stays silent ends when the window closes. */
    cell_uri(cx, PEER_PORT_DEFAULT, "silent", uri, sizeof uri);
    const struct coapmx_message *resp;
    CX_EXPECT(cx, cell_send_request(cx, ep, &req, &resp, &err) != 0,
              "a request nobody in the group answers succeeded");
    CX_EXPECT_ERR(cx, &err, COAPMX_ETIMEOUT, "a request nobody in the group answers");
    cell_expect_message(cx, &err, "group", "a group nobody answers");
}

/* A server joined to the groups knows a request came to a group, and answers from its own
 * unicast address (the kernel rejects a group as source). */
static void server_in_group(struct cell *cx)
{
    struct coapmx_transport_config config = {.role = COAPMX_ROLE_SERVER,
                                             .multicast_interface = cell_lane(cx)->client_ifname};
    struct coapmx_error err;
    struct iut_endpoint *server = cell_open(cx, &config, &err);
    CX_EXPECT(cx, server != NULL, "cannot open a server joined to the groups: %s", err.message);
    static const uint8_t get_hello[] = {0x50, 0x01, 0x43, 0x21, 0xb5, 'h', 'e', 'l', 'l', 'o'};
    int family = cell_kind(cx)->family;
    struct sockaddr_storage from, group;
    cell_peer_sockaddr(cx, family, PEER_PORT_DEFAULT, &from);
    coapmx_sockaddr_from_literal(cell_host(cx), PEER_PORT_DEFAULT, &group);
    CX_EXPECT_INT(cx,
                  cell_peer_send(cx, (void *)&from, (void *)&group, get_hello, sizeof get_hello), 0,
                  "errno of the peer's group request");
    CX_EXPECT(cx, cell_wait_served(cx, server, 1), "the server never saw the group request");
    const struct iut_served *g = iut_served(server, 0);
    char group_hostinfo[COAPMX_HOSTINFO_MAX];
    coapmx_hostinfo_format(cell_host(cx), PEER_PORT_DEFAULT, group_hostinfo, sizeof group_hostinfo);
    CX_EXPECT(cx, g->multicast_locally, "the request to %s was not flagged as multicast locally",
              group_hostinfo);
    CX_EXPECT_STR(cx, g->local, group_hostinfo, "hostinfo_local of a group request");
    struct wire_filter reply = WIRE_FILTER_ANY;
    reply.dst = (const struct sockaddr *)&from;
    reply.coap_code = COAP_CONTENT;
    cell_wait_wire(cx, &reply, 1, cell_reaction_ms(cx));
    const struct wire_datagram *answer = wire_find(cell_wire(cx), &reply, 0);
    CX_EXPECT(cx, answer != NULL, "no answer to the group request on the wire");
    struct sockaddr_storage unicast;
    coapmx_sockaddr_from_literal(cell_own_address(cx, family), 0, &unicast);
    CX_EXPECT(cx,
              coapmx_sockaddr_same_ip((const struct sockaddr *)&answer->src,
                                      (const struct sockaddr *)&unicast),
              "the answer to a group request did not come from the server's unicast address");
}

const struct scenario scenario_m4 = {
    .id = "M4-group-responses",
    .title = "every responder's answer is collected until the window closes",
    .kinds = KINDS("group4", "group6-link", "group6-site"),
    .traffic = true,
    .run = group_responses,
    .not_applicable = unless_multicast,
};
const struct scenario scenario_m5 = {
    .id = "M5-server-in-group",
    .title = "a group member sees the group locally and answers from unicast",
    .kinds = KINDS("group4", "group6-link", "group6-site"),
    .traffic = true,
    .run = server_in_group,
    .not_applicable = unless_serves_groups,
};
