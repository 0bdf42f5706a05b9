/* Which address family a transport picks for a name (rows F1-F4, F6). */
#include "common.h"

#include "../transports/addr.h"

/* The request leaves in the family the profile's policy picks from the resolver's answer, and
 * the reported remote carries the matching socket address. */
static void family_per_policy(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    const struct coapmx_message *resp = cell_get(cx, ep, 0, "hello");
    int wire_family = cell_expected_wire_family(cx);
    const struct wire_capture *cap = cell_wire(cx);
    const struct wire_datagram *req = nth_request_at_peer(cx, cap, 0);
    CX_EXPECT_INT(cx, req->family, wire_family, "address family of the request on the wire");
    struct wire_filter other = WIRE_FILTER_ANY;
    other.family = wire_family == AF_INET ? AF_INET6 : AF_INET;
    CX_EXPECT_INT(cx, wire_count(cap, &other), 0, "datagrams in the other family");
    CX_EXPECT_INT(cx, resp->remote.addr.ss_family, cell_expected_remote_family(cx),
                  "address family of the response's remote");
}

/* An unknown name fails with a resolution error that names it; nothing is sent. */
static void unresolvable_name(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    size_t sockets_before = socket_count(ep);
    const struct coapmx_message *resp;
    struct coapmx_error err;
    CX_EXPECT(cx, cell_request(cx, ep, COAP_CON, 0, "hello", &resp, &err) != 0,
              "a request to %s succeeded", cell_host(cx));
    CX_EXPECT_ERR(cx, &err, COAPMX_ERESOLVE, "request to an unknown name");
    CX_EXPECT(cx, strstr(err.message, cell_host(cx)) != NULL,
              "the resolution error does not name the host: \"%s\"", err.message);
    CX_EXPECT_INT(cx, socket_count(ep), sockets_before, "sockets after a failed resolution");
    expect_nothing_sent(cx, ep);
    CX_EXPECT_INT(cx, iut_pending(ep), 0, "requests left pending");
}

const struct scenario scenario_f1 = {
    .id = "F1-v4-only-name",
    .title = "a v4-only name is reached over IPv4",
    .kinds = KINDS("v4.test"),
    .traffic = true,
    .run = family_per_policy,
};
const struct scenario scenario_f2 = {
    .id = "F2-v6-only-name",
    .title = "a v6-only name is reached over IPv6",
    .kinds = KINDS("v6.test"),
    .traffic = true,
    .run = family_per_policy,
};
const struct scenario scenario_f3 = {
    .id = "F3-dual-v6-first",
    .title = "dual-stack name listing IPv6 first",
    .kinds = KINDS("dual.test"),
    .traffic = true,
    .run = family_per_policy,
};
const struct scenario scenario_f4 = {
    .id = "F4-dual-v4-first",
    .title = "dual-stack name listing IPv4 first: first-listed or IPv6",
    .kinds = KINDS("dual4.test"),
    .traffic = true,
    .run = family_per_policy,
};
const struct scenario scenario_f6 = {
    .id = "F6-unresolvable",
    .title = "an unknown name: resolution error naming it, nothing sent",
    .kinds = KINDS("unknown"),
    .traffic = false,
    .run = unresolvable_name,
};

/* F5: a dual-stack name whose server listens only on the family the transport does not pick:
 * no silent fallback. The request fails (a network error, or where ICMP errors are not surfaced
 * a timeout after every retransmission), and no datagram leaves in the other family. */
static void no_fallback(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    int chosen = cell_expected_wire_family(cx);
    uint16_t port = chosen == AF_INET6 ? PEER_PORT_V4_ONLY : PEER_PORT_V6_ONLY;
    char uri[300];
    cell_uri(cx, port, "hello", uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    const struct coapmx_message *resp;
    struct coapmx_error err;
    uint64_t bound = give_up_ms(cell_protocol(cx)) + cell_time_slack_ms(cx) + 1;
    CX_EXPECT(cx, cell_send_request_for(cx, ep, &req, bound, &resp, &err) != 0,
              "the request reached the server in the family the transport did not pick");
    CX_EXPECT_ERR(cx, &err, cell_profile(cx)->icmp_errors ? COAPMX_ENETWORK : COAPMX_ETIMEOUT,
                  "request to a port closed in the chosen family");
    CX_EXPECT(cx, strstr(err.message, CELL_STOPPED_WAITING) == NULL,
              "the request did not give up by itself: \"%s\"", err.message);
    cell_observe(cx, "errno", "%s", cell_errno_name(err.sys_errno));
    struct wire_filter other = WIRE_FILTER_ANY;
    other.family = chosen == AF_INET ? AF_INET6 : AF_INET;
    other.coap_only = true;
    CX_EXPECT_INT(cx, wire_count(cell_local_wire(cx), &other), 0,
                  "datagrams in the other family (a fallback)");
}

const struct scenario scenario_f5 = {
    .id = "F5-no-fallback",
    .title = "dual name, server only on the family not chosen: error, no fallback",
    .kinds = KINDS("dual.test", "dual4.test"),
    .traffic = true,
    .run = no_fallback,
};

/* F7: bound to one family, asked for a destination with no address in it (a literal or a name
 * of the other family only): an error that says so and names the host; nothing is sent. */
static void other_family(struct cell *cx)
{
    int family = cell_bind_family(cx);
    struct coapmx_transport_config config;
    cell_client_config(cx, &config);
    config.bind_host = cell_own_address(cx, family == AF_INET ? AF_INET6 : AF_INET);
    struct coapmx_error err;
    struct iut_endpoint *ep = cell_open(cx, &config, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open bound to %s: %s", config.bind_host, err.message);
    const struct coapmx_message *resp;
    CX_EXPECT(cx, cell_request(cx, ep, COAP_CON, 0, "hello", &resp, &err) != 0,
              "a request to %s from a socket of the other family succeeded", cell_host(cx));
    CX_EXPECT_ERR(cx, &err, COAPMX_EFAMILY, "a destination without an address of the family");
    const char *want = family == AF_INET ? "bound to IPv6" : "bound to IPv4";
    cell_expect_message(cx, &err, want, "a destination without an address of the family");
    CX_EXPECT(cx, strstr(err.message, cell_host(cx)) != NULL, "the error does not name %s: \"%s\"",
              cell_host(cx), err.message);
    CX_EXPECT_INT(cx, socket_count(ep), 1, "sockets after the refusal");
    expect_nothing_sent(cx, ep);
    CX_EXPECT_INT(cx, iut_pending(ep), 0, "requests left pending");
}

static const char *unless_socket_family(const struct iut_info *iut)
{
    return iut->profile.family == COAPMX_FAMILY_OF_SOCKET
               ? NULL
               : "the socket's family follows the destination: no destination is of the wrong "
                 "family";
}

const struct scenario scenario_f7 = {
    .id = "F7-other-family",
    .title = "bound to one family, a destination only of the other: a clear error, nothing sent",
    .kinds = KINDS("v4", "v6", "v4.test", "v6.test"),
    .traffic = false,
    .run = other_family,
    .not_applicable = unless_socket_family,
};

/* F8: a name with two addresses of one family: every request goes to the first the resolver
 * lists, and nothing to the other; the resolver's own order, as the cell's process sees it. */
static void two_addresses(struct cell *cx)
{
    struct sockaddr_storage answers[4];
    struct coapmx_error err;
    int n = coapmx_resolve_all(cell_host(cx), PEER_PORT_DEFAULT, answers, 4, &err);
    CX_EXPECT(cx, n == 2, "%s has %d addresses here, not 2: %s", cell_host(cx), n,
              n < 0 ? err.message : "see fixtures/hosts.*");
    struct iut_endpoint *ep = cell_client(cx);
    for (int i = 0; i < 2; i++)
        expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
    struct wire_filter to_first = WIRE_FILTER_ANY, to_second = WIRE_FILTER_ANY;
    to_first.dst = (const struct sockaddr *)&answers[0];
    to_first.coap_code = COAP_GET;
    to_second.dst = (const struct sockaddr *)&answers[1];
    const struct wire_capture *cap = cell_wire(cx);
    CX_EXPECT_INT(cx, wire_count(cap, &to_first), 2, "requests to the first address listed");
    CX_EXPECT_INT(cx, wire_count(cap, &to_second), 0, "datagrams to the second address listed");
}

const struct scenario scenario_f8 = {
    .id = "F8-two-addresses",
    .title = "a name with two IPv4 addresses: every request to the first one listed",
    .kinds = KINDS("twin4.test"),
    .traffic = true,
    .run = two_addresses,
};
