/* Bad input and shutdown (rows E4-E6). */
#include "common.h"

#include <errno.h>
#include <fcntl.h>

/* A datagram larger than the receive buffer is dropped and counted, never used truncated; the
 * default buffer takes a datagram larger than aiocoap's 4096 bytes whole. */
static void oversize_dropped(struct cell *cx)
{
    struct coapmx_endpoint *plain = cell_client(cx);
    const struct coapmx_message *big = cell_get(cx, plain, 0, "big");
    CX_EXPECT_INT(cx, big->msg.payload_len, PEER_BIG_BYTES,
                  "payload bytes of a large response with the default receive buffer");
    CX_EXPECT_INT(cx, coapmx_endpoint_transport(plain)->stats.dropped_truncated, 0,
                  "datagrams dropped with the default receive buffer");

    struct coapmx_transport_config config = {.role = COAPMX_ROLE_CLIENT, .rx_buffer_size = 1024};
    struct coapmx_error err;
    struct coapmx_endpoint *ep = cell_open(cx, &config, NULL, NULL, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open a client: %s", err.message);
    const struct coapmx_message *resp = cell_get(cx, ep, 0, "oversize-first");
    expect_payload(cx, resp, "hello");
    CX_EXPECT_INT(cx, coapmx_endpoint_transport(ep)->stats.dropped_truncated, 1,
                  "datagrams dropped as larger than the receive buffer");
    struct wire_filter oversize = WIRE_FILTER_ANY;
    oversize.coap_code = COAP_CONTENT;
    const struct wire_datagram *first = wire_find(cell_wire(cx), &oversize, 1);
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

static void expect_closed(struct cell *cx, const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CX_EXPECT(cx, fcntl(fds[i], F_GETFD) < 0 && errno == EBADF,
                  "socket fd %d is still open after shutdown", fds[i]);
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
    int fds[8];
    size_t open_sockets = coapmx_transport_sockets(t, fds, 8);
    CX_EXPECT(cx, open_sockets >= 1 && open_sockets <= 8, "%zu sockets before shutdown",
              open_sockets);
    coapmx_endpoint_shutdown(ep);
    expect_closed(cx, fds, open_sockets);
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

struct reentry {
    struct coapmx_endpoint *ep;
    int64_t ids[2]; /* requests the first failure's callback cancels (itself: a no-op) */
    int calls;
    enum coapmx_err first_error;
};

/* A response callback that shuts its own endpoint down. */
static void shut_down_from_callback(void *arg, const struct coapmx_message *resp,
                                    const struct coapmx_error *err)
{
    struct reentry *r = arg;
    r->calls++;
    r->first_error = err ? err->code : COAPMX_OK;
    (void)resp;
    coapmx_endpoint_shutdown(r->ep);
}

/* A failure callback that cancels the other pending request, whichever fails first. */
static void cancel_other(void *arg, const struct coapmx_message *resp,
                         const struct coapmx_error *err)
{
    struct reentry *r = arg;
    (void)resp;
    if (r->calls++ == 0) {
        r->first_error = err ? err->code : COAPMX_OK;
        coapmx_request_cancel(r->ep, r->ids[0]);
        coapmx_request_cancel(r->ep, r->ids[1]);
    }
}

static bool called(void *arg)
{
    return ((struct reentry *)arg)->calls > 0;
}

static void shutdown_from_callbacks(struct cell *cx)
{
    char uri[300], silent[300];
    cell_uri(cx, 0, "hello", uri, sizeof uri);
    cell_uri(cx, 0, "silent", silent, sizeof silent);
    struct coapmx_error err;
    struct reentry r = {.ep = cell_client(cx)};
    struct coapmx_request hello = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    CX_EXPECT(cx, coapmx_request_start(r.ep, &hello, shut_down_from_callback, &r, &err) > 0,
              "cannot start a request: %s", err.message);
    CX_EXPECT(cx, cell_run_until(cx, r.ep, called, &r), "no response arrived");
    CX_EXPECT_INT(cx, r.first_error, COAPMX_OK, "error code of the response");
    CX_EXPECT_INT(cx, coapmx_transport_sockets(coapmx_endpoint_transport(r.ep), NULL, 0), 0,
                  "sockets after a shutdown from the response callback");

    struct reentry c = {.ep = cell_client(cx)};
    struct coapmx_request quiet = {.type = COAP_CON, .method = COAP_GET, .uri = silent};
    for (int i = 0; i < 2; i++) {
        c.ids[i] = coapmx_request_start(c.ep, &quiet, cancel_other, &c, &err);
        CX_EXPECT(cx, c.ids[i] > 0, "cannot start request %d: %s", i + 1, err.message);
    }
    coapmx_endpoint_shutdown(c.ep);
    CX_EXPECT_INT(cx, c.calls, 1, "callbacks run: the cancelled request must stay silent");
    CX_EXPECT_INT(cx, c.first_error, COAPMX_ESHUTDOWN, "error code of the failed request");
    CX_EXPECT_INT(cx, coapmx_endpoint_pending(c.ep), 0, "requests left pending");
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
const struct scenario scenario_e6b = {"E6-shutdown-from-callback",
                                      "shutdown or cancel from inside callbacks is safe",
                                      KINDS("v4", "v6"), true, shutdown_from_callbacks};
