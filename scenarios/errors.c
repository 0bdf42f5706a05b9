/* Bad input and shutdown (rows E4-E6). */
#include "common.h"

/* A datagram larger than the receive buffer is dropped and counted, never used truncated. */
static void oversize_dropped(struct cell *cx)
{
    struct coapmx_transport_config config = {.role = COAPMX_ROLE_CLIENT, .rx_buffer_size = 1024};
    struct coapmx_error err;
    struct coapmx_endpoint *ep = cell_open(cx, &config, NULL, NULL, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open a client: %s", err.message);
    const struct coapmx_message *resp = cell_get(cx, ep, 0, "oversize-first");
    expect_payload(cx, resp, "hello");
    CX_EXPECT_INT(cx, coapmx_endpoint_transport(ep)->stats.dropped_truncated, 1,
                  "datagrams dropped as larger than the receive buffer");
    struct wire_filter big = WIRE_FILTER_ANY;
    big.coap_code = COAP_CONTENT;
    const struct wire_datagram *first = wire_find(cell_wire(cx), &big, 0);
    CX_EXPECT(cx, first != NULL && first->payload_len > 1024,
              "the peer's capture lacks the oversize response");
}

static void malformed_dropped(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    expect_payload(cx, cell_get(cx, ep, 0, "junk-first"), "hello");
    CX_EXPECT_INT(cx, coapmx_endpoint_transport(ep)->stats.dropped_malformed, PEER_JUNK_COUNT,
                  "unparsable datagrams dropped");
    expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
    struct wire_filter junk = WIRE_FILTER_ANY;
    size_t total = wire_count(cell_wire(cx), &junk);
    junk.coap_only = true;
    CX_EXPECT_INT(cx, total - wire_count(cell_wire(cx), &junk), PEER_JUNK_COUNT,
                  "non-CoAP datagrams on the wire");
}

struct outcome {
    bool called;
    struct coapmx_error err;
};

static void record_outcome(void *arg, const struct coapmx_message *resp,
                           const struct coapmx_error *err)
{
    struct outcome *o = arg;
    o->called = true;
    if (resp == NULL && err != NULL)
        o->err = *err;
}

static void shutdown_fails_everything(struct cell *cx)
{
    int fds_before = cell_open_fds();
    struct coapmx_endpoint *ep = cell_client(cx);
    struct coapmx_transport *t = coapmx_endpoint_transport(ep);
    char uri[300];
    cell_uri(cx, 0, "silent", uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    struct outcome pending = {0};
    struct coapmx_error err;
    CX_EXPECT(cx, coapmx_request_start(ep, &req, record_outcome, &pending, &err) > 0,
              "cannot start a request: %s", err.message);
    coapmx_endpoint_shutdown(ep);
    CX_EXPECT(cx, pending.called, "the pending request was not failed by the shutdown");
    CX_EXPECT_ERR(cx, &pending.err, COAPMX_ESHUTDOWN, "the pending request after shutdown");
    CX_EXPECT(cx, coapmx_request_start(ep, &req, record_outcome, NULL, &err) < 0,
              "a request started after shutdown");
    CX_EXPECT_ERR(cx, &err, COAPMX_ESHUTDOWN, "a new request after shutdown");
    struct coapmx_remote remote;
    CX_EXPECT(cx, coapmx_transport_resolve(t, cell_host(cx), PEER_PORT_ALT, &remote, &err) < 0,
              "the transport resolved after shutdown");
    CX_EXPECT_ERR(cx, &err, COAPMX_ESHUTDOWN, "resolving after shutdown");
    CX_EXPECT_INT(cx, coapmx_transport_sockets(t, NULL, 0), 0, "sockets after shutdown");
    CX_EXPECT_INT(cx, cell_open_fds(), fds_before, "file descriptors after shutdown");
}

const struct scenario scenario_e4 = {"E4-oversize-datagram",
                                     "a datagram over the receive buffer is dropped and counted",
                                     KINDS("v4", "v6"), true, oversize_dropped};
const struct scenario scenario_e5 = {"E5-malformed-datagram",
                                     "unparsable datagrams are dropped, counted; work goes on",
                                     KINDS("v4", "v6"), true, malformed_dropped};
const struct scenario scenario_e6 = {"E6-shutdown",
                                     "shutdown fails pending and new requests, closes sockets",
                                     KINDS("v4", "v6"), true, shutdown_fails_everything};
