/* How remotes are named: hostinfo, uri_base, hostinfo_local, Uri-Host (rows N1-N7). */
#include "common.h"

#include "../transports/addr.h"

/* The response's remote is named as the profile promises (hostinfo and uri_base). */
static void expect_remote_name(struct cell *cx, uint16_t port)
{
    struct iut_endpoint *ep = cell_client(cx);
    const struct coapmx_message *resp = cell_get(cx, ep, port, "hello");
    char expected[COAPMX_HOSTINFO_MAX], uri_base[COAPMX_URI_BASE_MAX],
        expected_base[COAPMX_URI_BASE_MAX];
    cell_expected_hostinfo(cx, port, expected, sizeof expected);
    CX_EXPECT_STR(cx, resp->remote.hostinfo, expected, "response remote hostinfo");
    coapmx_remote_uri_base(&resp->remote, uri_base, sizeof uri_base);
    char *zone = strchr(expected, '%'); /* written %25 in a URI (RFC 6874) */
    snprintf(expected_base, sizeof expected_base, "coap://%.*s%s%s",
             zone ? (int)(zone - expected) : (int)strlen(expected), expected, zone ? "%25" : "",
             zone ? zone + 1 : "");
    CX_EXPECT_STR(cx, uri_base, expected_base, "response remote uri_base");
    nth_request_at_peer(cx, cell_wire(cx), 0);
}

static void remote_named_per_profile(struct cell *cx)
{
    expect_remote_name(cx, PEER_PORT_DEFAULT);
}

/* The default port is left out of hostinfo and uri_base; any other port is shown. */
static void default_port_omitted(struct cell *cx)
{
    expect_remote_name(cx, PEER_PORT_DEFAULT);
    expect_remote_name(cx, PEER_PORT_ALT);
}

/* hostinfo_local names the client's own end: its address and the source port on the wire. A
 * transport that names it as configured is bound by name where it can be, and shows the name. */
static void local_hostinfo(struct cell *cx)
{
    const struct coapmx_profile *profile = cell_profile(cx);
    struct coapmx_transport_config config;
    struct coapmx_error err;
    cell_client_config(cx, &config);
    if (profile->local == COAPMX_LOCAL_CONFIGURED && profile->binds_names)
        config.bind_host = cell_own_name(cell_kind(cx)->family);
    struct iut_endpoint *ep = cell_open(cx, &config, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open a client bound to %s: %s",
              config.bind_host ? config.bind_host : "nothing", err.message);
    const struct coapmx_message *resp = cell_get(cx, ep, 0, "hello");
    const struct wire_datagram *req = nth_request_at_peer(cx, cell_wire(cx), 0);
    const char *host = profile->local == COAPMX_LOCAL_CONFIGURED
                           ? config.bind_host
                           : cell_own_address(cx, req->family);
    char expected[COAPMX_HOSTINFO_MAX];
    coapmx_hostinfo_format(host, wire_src_port(req), expected, sizeof expected);
    CX_EXPECT_STR(cx, resp->remote.hostinfo_local, expected, "response remote hostinfo_local");
}

/* Uri-Host is on the wire exactly when the request URI names the host (RFC 7252 §6.4). */
static void uri_host_only_for_names(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    const struct wire_datagram *req = nth_request_at_peer(cx, cell_wire(cx), 0);
    const struct coap_option *host = coap_msg_find_option(&req->coap, COAP_OPT_URI_HOST, NULL);
    if (cell_kind(cx)->cls != KIND_NAME) {
        CX_EXPECT(cx, host == NULL, "Uri-Host sent for the IP literal %s", cell_host(cx));
        return;
    }
    CX_EXPECT(cx, host != NULL, "no Uri-Host on the wire for the name %s", cell_host(cx));
    char value[256];
    snprintf(value, sizeof value, "%.*s", (int)host->length, (const char *)host->value);
    CX_EXPECT_STR(cx, value, cell_host(cx), "Uri-Host on the wire");
}

/* The values of every `number` option of a datagram, joined by '|'. */
static void option_values(const struct wire_datagram *dg, uint16_t number, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (const struct coap_option *o = coap_msg_find_option(&dg->coap, number, NULL); o != NULL;
         o = coap_msg_find_option(&dg->coap, number, o))
        used += (size_t)snprintf(buf + used, used < cap ? cap - used : 0, "%s%.*s", used ? "|" : "",
                                 (int)o->length, (const char *)o->value);
}

/* RFC 7252 §6.4: every path segment (empty ones too) and query parameter is an option of its
 * own, percent-decoded, so an escaped '/' or '&' stays inside its option; escapes of either
 * case, a 0 as their first digit among them. */
static void uri_to_options(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    const struct coapmx_message *resp;
    struct coapmx_error err;
    CX_EXPECT(
        cx, cell_request(cx, ep, COAP_CON, 0, "a%2Fb/c%20d/t%09%7e/?x=1&y=%26&", &resp, &err) == 0,
        "the request failed: %s", err.message);
    CX_EXPECT_INT(cx, resp->msg.code, COAP_NOT_FOUND, "response code for an unknown path");
    const struct wire_datagram *req = nth_request_at_peer(cx, cell_wire(cx), 0);
    char values[256];
    option_values(req, COAP_OPT_URI_PATH, values, sizeof values);
    CX_EXPECT_STR(cx, values, "a/b|c d|t\t~|", "Uri-Path options on the wire ('|' between)");
    option_values(req, COAP_OPT_URI_QUERY, values, sizeof values);
    CX_EXPECT_STR(cx, values, "x=1|y=&|", "Uri-Query options on the wire ('|' between)");
}

const struct scenario scenario_n1 = {
    .id = "N1-hostinfo-v4",
    .title = "response hostinfo for an IPv4 literal",
    .kinds = KINDS("v4"),
    .traffic = true,
    .run = remote_named_per_profile,
};
const struct scenario scenario_n2 = {
    .id = "N2-hostinfo-v6",
    .title = "response hostinfo for an IPv6 literal (a link-local one with its zone)",
    .kinds = KINDS("v6", "v6-link"),
    .traffic = true,
    .run = remote_named_per_profile,
};
const struct scenario scenario_n3 = {
    .id = "N3-netloc-name",
    .title = "response hostinfo for a host name: the name or the IP used, per profile",
    .kinds = KINDS("v4.test", "v6.test", "dual.test", "dual4.test"),
    .traffic = true,
    .run = remote_named_per_profile,
};
static const char *unless_hostinfo(const struct iut_info *iut)
{
    return iut->caps.hostinfo ? NULL
                              : "names remotes by address and port, not as hostinfo: "
                                "there is no port to leave out";
}

const struct scenario scenario_n4 = {
    .id = "N4-default-port",
    .title = "port 5683 is omitted from hostinfo, others shown",
    .kinds = KINDS("v4", "v6", "dual.test"),
    .traffic = true,
    .run = default_port_omitted,
    .not_applicable = unless_hostinfo,
};
static const char *unless_any_family(const struct iut_info *iut)
{
    return iut->profile.family == COAPMX_FAMILY_OF_SOCKET
               ? "one socket bound to an IPv4 or IPv6 address: a v4-mapped destination needs an "
                 "IPv6 socket that also talks IPv4"
               : NULL;
}

const struct scenario scenario_n5 = {
    .id = "N5-v4-mapped",
    .title = "a v4-mapped literal: kept or dotted quad",
    .kinds = KINDS("mapped"),
    .traffic = true,
    .run = remote_named_per_profile,
    .not_applicable = unless_any_family,
};
const struct scenario scenario_n6 = {
    .id = "N6-hostinfo-local",
    .title = "hostinfo_local is the client's address (or its bind as configured) and wire port",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = local_hostinfo,
};
const struct scenario scenario_n7 = {
    .id = "N7-uri-host",
    .title = "Uri-Host on the wire only for host names",
    .kinds = KINDS("v4", "v6", "v4.test", "dual.test"),
    .traffic = true,
    .run = uri_host_only_for_names,
};
const struct scenario scenario_n7b = {
    .id = "N7-uri-path-query",
    .title = "each path segment and query parameter is one percent-decoded option",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = uri_to_options,
};
