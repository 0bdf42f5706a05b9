/* Bad input and shutdown (rows E4-E6). */
#include "common.h"
#include "../harness/wirefmt.h"

#include <errno.h>
#include <fcntl.h>

/* A datagram larger than the receive buffer is dropped and counted, never used truncated; the
 * default buffer takes a datagram larger than aiocoap's 4096 bytes whole. */
static void oversize_dropped(struct cell *cx)
{
    struct iut_endpoint *plain = cell_client(cx);
    const struct coapmx_message *big = cell_get(cx, plain, 0, "big");
    CX_EXPECT_INT(cx, big->msg.payload_len, PEER_BIG_BYTES,
                  "payload bytes of a large response with the default receive buffer");
    if (transport_stats(cx, plain) != NULL)
        CX_EXPECT_INT(cx, transport_stats(cx, plain)->dropped_truncated, 0,
                      "datagrams dropped with the default receive buffer");
    if (!cell_caps(cx)->settable_buffer) {
        cell_observe(cx, "small_buffer", "not settable");
        return;
    }
    struct coapmx_transport_config config;
    cell_client_config(cx, &config);
    config.rx_buffer_size = 1024;
    struct coapmx_error err;
    struct iut_endpoint *ep = cell_open(cx, &config, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open a client: %s", err.message);
    const struct coapmx_message *resp = cell_get(cx, ep, 0, "oversize-first");
    expect_payload(cx, resp, "hello");
    if (transport_stats(cx, ep) != NULL)
        CX_EXPECT_INT(cx, transport_stats(cx, ep)->dropped_truncated, 1,
                      "datagrams dropped as larger than the receive buffer");
    struct wire_filter oversize = WIRE_FILTER_ANY;
    oversize.coap_code = COAP_CONTENT;
    const struct wire_datagram *first = wire_find(cell_wire(cx), &oversize, 1);
    CX_EXPECT(cx, first != NULL && first->payload_len > 1024,
              "the peer's capture lacks the oversize response");
}

static void malformed_dropped(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    expect_payload(cx, cell_get(cx, ep, 0, "junk-first"), "hello");
    expect_payload(cx, cell_get(cx, ep, 0, "junk-rest"), "hello");
    if (transport_stats(cx, ep) != NULL)
        CX_EXPECT_INT(cx, transport_stats(cx, ep)->dropped_malformed, PEER_JUNK_COUNT,
                      "unparsable datagrams dropped");
    expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
    struct wire_filter junk = WIRE_FILTER_ANY;
    size_t total = wire_count(cell_wire(cx), &junk);
    junk.coap_only = true;
    CX_EXPECT_INT(cx, total - wire_count(cell_wire(cx), &junk), PEER_JUNK_COUNT,
                  "non-CoAP datagrams on the wire");
}

/* Encodes m and sends it from the peer to the IUT's client socket. */
static void peer_sends(struct cell *cx, const struct sockaddr_storage *peer,
                       const struct sockaddr_storage *client, const struct coap_msg *m)
{
    uint8_t buf[512];
    size_t len = 0;
    CX_EXPECT(cx, coap_encode(m, buf, sizeof buf, &len) == COAP_OK, "cannot encode a request");
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)peer, (void *)client, buf, len), 0,
                  "errno of the request");
}

/* A GET from the peer: a Uri-Path option per segment of path, then an empty option (0: none)
 * as the datagram's last bytes. */
static void peer_gets(struct cell *cx, enum coap_type type, uint16_t mid, const char *token,
                      const char *path, uint16_t last_option)
{
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    struct coap_msg m;
    coap_msg_init(&m, type, COAP_GET, mid);
    coap_msg_set_token(&m, (const uint8_t *)token, strlen(token));
    for (const char *segment = path, *end; *segment != '\0'; segment = *end ? end + 1 : end) {
        end = segment + strcspn(segment, "/");
        coap_msg_add_option(&m, COAP_OPT_URI_PATH, segment, (size_t)(end - segment));
    }
    if (last_option != 0)
        coap_msg_add_option(&m, last_option, NULL, 0);
    peer_sends(cx, &peer, &client, &m);
}

/* E11: options whose delta and length need the 16-bit extension (RFC 7252 §3.1): a GET with an
 * elective option 2052 of 300 bytes after its Uri-Path, and an empty elective 65000 whose
 * 16-bit delta ends the datagram, is decoded and served like any other. */
static void long_option_served(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    static uint8_t value[300];
    memset(value, 'o', sizeof value);
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 0x4301);
    coap_msg_set_token(&m, (const uint8_t *)"lo", 2);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, "long", 4);
    coap_msg_add_option(&m, 2052, value, sizeof value); /* elective: even, and unknown */
    coap_msg_add_option(&m, 65000, NULL, 0);
    peer_sends(cx, &peer, &client, &m);
    const struct coap_msg *reply = peer_answer(cx, &peer, 0x4301);
    CX_EXPECT_INT(cx, reply->code, COAP_CONTENT, "answer to a GET with a 300-byte option");
    CX_EXPECT(cx, cell_wait_served(cx, ep, 1), "the request was never served");
    CX_EXPECT_STR(cx, iut_served(ep, 0)->path, "long", "path served");
}

/* The IUT's answer to the peer's request with this MID, which must echo its token. */
static uint8_t answer_code(struct cell *cx, const struct sockaddr_storage *peer, uint16_t mid,
                           const char *token)
{
    const struct coap_msg *reply = peer_answer(cx, peer, mid);
    CX_EXPECT(
        cx, reply->token_len == strlen(token) && memcmp(reply->token, token, reply->token_len) == 0,
        "the answer to MID 0x%04x carries a token of %u bytes, not the request's %zu (\"%s\")", mid,
        reply->token_len, strlen(token), token);
    return reply->code;
}

/* E12 (RFC 7252 §5.4.1): a request with a critical option the server does not know (61 with
 * an 8-bit delta, 65001 with a 16-bit one, each empty and last) is not served: a CON gets 4.02
 * Bad Option, a NON is rejected. An unknown elective one (62) is ignored: that GET (a path of
 * three segments) is served.
 * Every answer echoes its request's token (0, 1 and 8 bytes, §5.3.1). */
static void critical_option_refused(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    static const struct {
        uint16_t option;
        const char *token;
    } critical[] = {{61, ""}, {65001, "c"}};
    for (size_t i = 0; i < 2; i++) {
        uint16_t mid = (uint16_t)(0x4c01 + i);
        peer_gets(cx, COAP_CON, mid, critical[i].token, "bad-option", critical[i].option);
        char code[16];
        uint8_t got = answer_code(cx, &peer, mid, critical[i].token);
        CX_EXPECT(cx, got == COAP_BAD_OPTION,
                  "answer to a CON with critical option %u: %s, not 4.02", critical[i].option,
                  coap_code_str(got, code, sizeof code));
    }
    peer_gets(cx, COAP_NON, 0x4c03, "non", "bad-option", 61);
    /* The last request is answered after the NON is handled: one socket, in order. */
    peer_gets(cx, COAP_CON, 0x4c04, "elective", "with/an/elective", 62);
    CX_EXPECT_INT(cx, answer_code(cx, &peer, 0x4c04, "elective"), COAP_CONTENT,
                  "answer to a GET with the unknown elective option 62");
    CX_EXPECT(cx, cell_wait_served(cx, ep, 1), "the request was never served");
    CX_EXPECT_INT(cx, iut_served_count(ep), 1, "requests served");
    CX_EXPECT_STR(cx, iut_served(ep, 0)->path, "with/an/elective", "path served");
    struct wire_filter answers = WIRE_FILTER_ANY;
    answers.dst = (const struct sockaddr *)&peer;
    answers.coap_code = COAP_CONTENT;
    CX_EXPECT_INT(cx, wire_count(cell_wire(cx), &answers), 1, "2.05 answers to the peer");
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

static bool outcome_called(void *arg)
{
    return ((struct outcome *)arg)->called;
}

/* Our transports' own API after shutdown: resolve, send and hold refuse too. */
static void transport_api_shut(struct cell *cx, struct iut_endpoint *ep, const char *uri)
{
    struct coapmx_endpoint *stack = iut_stack(ep);
    struct coapmx_transport *t = coapmx_endpoint_transport(stack);
    struct coapmx_error err;
    struct coapmx_remote remote = {0};
    CX_EXPECT(cx, coapmx_transport_resolve(t, cell_host(cx), PEER_PORT_ALT, &remote, &err) < 0,
              "the transport resolved after shutdown");
    CX_EXPECT_ERR(cx, &err, COAPMX_ESHUTDOWN, "resolving after shutdown");
    static const uint8_t ping[] = {0x40, 0x00, 0x12, 0x34};
    CX_EXPECT(cx, coapmx_transport_send(t, &remote, ping, sizeof ping, &err) < 0,
              "the transport sent after shutdown");
    CX_EXPECT_ERR(cx, &err, COAPMX_ESHUTDOWN, "sending after shutdown");
    CX_EXPECT(cx, coapmx_endpoint_hold(stack, uri, &remote, &err) < 0,
              "the endpoint held a remote after shutdown");
    CX_EXPECT_ERR(cx, &err, COAPMX_ESHUTDOWN, "holding a remote after shutdown");
}

static void shutdown_fails_everything(struct cell *cx)
{
    int fds_before = cell_iut_descriptors(cx);
    struct iut_endpoint *ep = cell_client(cx);
    char uri[300];
    cell_uri(cx, 0, "silent", uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    static struct outcome pending; /* a driver's events may come after a failed check */
    pending = (struct outcome){0};
    struct coapmx_error err;
    CX_EXPECT(cx, iut_request(ep, &req, record_outcome, &pending, &err) > 0,
              "cannot start a request: %s", err.message);
    struct wire_filter get = WIRE_FILTER_ANY;
    get.coap_code = COAP_GET;
    CX_EXPECT(cx, cell_wait_wire(cx, &get, 1, cell_reaction_ms(cx)),
              "the request never reached the peer");
    size_t open_sockets = socket_count(ep);
    CX_EXPECT(cx, open_sockets >= 1 && open_sockets <= 8, "%zu sockets before shutdown",
              open_sockets);
    iut_shutdown(ep);
    CX_EXPECT(cx, cell_run_until(cx, outcome_called, &pending),
              "the pending request was not failed by the shutdown");
    CX_EXPECT_ERR(cx, &pending.err, COAPMX_ESHUTDOWN, "the pending request after shutdown");
    CX_EXPECT(cx, iut_request(ep, &req, record_outcome, NULL, &err) < 0,
              "a request started after shutdown");
    CX_EXPECT_ERR(cx, &err, COAPMX_ESHUTDOWN, "a new request after shutdown");
    if (cell_caps(cx)->introspection)
        transport_api_shut(cx, ep, uri);
    CX_EXPECT_INT(cx, socket_count(ep), 0, "sockets after shutdown");
    CX_EXPECT_INT(cx, cell_iut_descriptors(cx), fds_before, "descriptors after shutdown");
}

struct reentry {
    struct iut_endpoint *ep;
    int64_t ids[2]; /* requests the first failure's callback cancels (itself: a no-op) */
    int calls;
    enum coapmx_err first_error;
    struct cell *cx;
    int descriptors_after_shutdown; /* the IUT's, as the shutdown inside the callback returned */
};

/* A response callback that shuts its own endpoint down, and counts what that left open. */
static void shut_down_from_callback(void *arg, const struct coapmx_message *resp,
                                    const struct coapmx_error *err)
{
    struct reentry *r = arg;
    r->calls++;
    r->first_error = err ? err->code : COAPMX_OK;
    (void)resp;
    iut_shutdown(r->ep);
    r->descriptors_after_shutdown = cell_iut_descriptors(r->cx);
}

/* A failure callback that cancels the other pending request, whichever fails first. */
static void cancel_other(void *arg, const struct coapmx_message *resp,
                         const struct coapmx_error *err)
{
    struct reentry *r = arg;
    (void)resp;
    if (r->calls++ == 0) {
        r->first_error = err ? err->code : COAPMX_OK;
        iut_cancel(r->ep, r->ids[0]);
        iut_cancel(r->ep, r->ids[1]);
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
    int fds_before = cell_iut_descriptors(cx);
    /* static: a pending request's callback may still run after a failed check left this */
    static struct reentry r, c;
    r = (struct reentry){.ep = cell_client(cx), .cx = cx};
    struct coapmx_request hello = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    CX_EXPECT(cx, iut_request(r.ep, &hello, shut_down_from_callback, &r, &err) > 0,
              "cannot start a request: %s", err.message);
    CX_EXPECT(cx, cell_run_until(cx, called, &r), "no response arrived");
    CX_EXPECT_INT(cx, r.first_error, COAPMX_OK, "error code of the response");
    CX_EXPECT_INT(cx, socket_count(r.ep), 0, "sockets after a shutdown from the response callback");
    /* A shutdown releases the sockets as it returns, inside a callback too: the port is free
     * at once, not when the stack's dispatch unwinds. */
    CX_EXPECT_INT(cx, r.descriptors_after_shutdown, fds_before,
                  "descriptors as a shutdown inside the response callback returned");

    c = (struct reentry){.ep = cell_client(cx)};
    struct coapmx_request quiet = {.type = COAP_CON, .method = COAP_GET, .uri = silent};
    for (int i = 0; i < 2; i++) {
        c.ids[i] = iut_request(c.ep, &quiet, cancel_other, &c, &err);
        CX_EXPECT(cx, c.ids[i] > 0, "cannot start request %d: %s", i + 1, err.message);
    }
    iut_shutdown(c.ep);
    CX_EXPECT_INT(cx, c.calls, 1, "callbacks run: the cancelled request must stay silent");
    CX_EXPECT_INT(cx, c.first_error, COAPMX_ESHUTDOWN, "error code of the failed request");
    CX_EXPECT_INT(cx, iut_pending(c.ep), 0, "requests left pending");
}

#define CLOSED_PORT 5699 /* nobody listens there on the peer */

/* The IUT side's transmissions to the closed port. */
static size_t closed_port_transmissions(struct cell *cx)
{
    struct sockaddr_storage closed;
    cell_peer_sockaddr(cx, cell_expected_wire_family(cx), CLOSED_PORT, &closed);
    struct wire_filter sent = WIRE_FILTER_ANY;
    sent.dst = (const struct sockaddr *)&closed;
    sent.coap_only = true;
    return wire_count(cell_local_wire(cx), &sent);
}

/* The first ICMP error on the IUT side's wire, copied: the capture is reloaded later. */
struct icmp_seen {
    bool found;
    unsigned type, code;
};

/* The transmissions to the closed port, and the first ICMP error they caused (observed). */
static size_t sent_to_closed_port(struct cell *cx, struct icmp_seen *icmp_error)
{
    size_t sent = closed_port_transmissions(cx);
    const struct wire_capture *cap = cell_local_wire(cx);
    struct wire_filter icmp = WIRE_FILTER_ANY;
    icmp.include_icmp = true;
    const struct wire_datagram *d;
    *icmp_error = (struct icmp_seen){0};
    for (size_t i = 0; (d = wire_find(cap, &icmp, i)) != NULL; i++)
        if (d->kind == WIRE_ICMP) {
            *icmp_error = (struct icmp_seen){true, d->icmp_type, d->icmp_code};
            break;
        }
    cell_observe(cx, "icmp", "%u/%u", icmp_error->type, icmp_error->code);
    return sent;
}

/* E1 where ICMP errors are surfaced: a request to a closed port fails with a network error at
 * once, one transmission and no retransmission; on a real kernel it is "connection refused"
 * from an ICMP error. Where they are not: the request is sent 1 + MAX_RETRANSMIT times, as if
 * nobody answered, and times out. */
static void closed_port(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    const struct coapmx_protocol *pr = cell_protocol(cx);
    const struct coapmx_message *resp;
    struct coapmx_error err;
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET};
    char uri[300];
    cell_uri(cx, CLOSED_PORT, "hello", uri, sizeof uri);
    req.uri = uri;
    if (!cell_profile(cx)->icmp_errors) {
        uint64_t bound = give_up_ms(pr) + 2 * cell_time_slack_ms(cx) + 1;
        CX_EXPECT(cx, cell_send_request_for(cx, ep, &req, bound, &resp, &err) != 0,
                  "a request to a closed port succeeded");
        CX_EXPECT_ERR(cx, &err, COAPMX_ETIMEOUT, "request to a closed port (ICMP not surfaced)");
        CX_EXPECT(cx, strstr(err.message, CELL_STOPPED_WAITING) == NULL,
                  "the request did not give up by itself: \"%s\"", err.message);
        struct icmp_seen icmp;
        size_t transmissions = sent_to_closed_port(cx, &icmp);
        cell_observe(cx, "sent", "%zu", transmissions);
        CX_EXPECT_INT(cx, transmissions, pr->max_retransmit + 1,
                      "transmissions to the closed port on the wire");
        if (cell_lane(cx)->has_icmp)
            CX_EXPECT(cx, icmp.found, "no ICMP error on the wire");
        return;
    }
    CX_EXPECT(cx, cell_send_request(cx, ep, &req, &resp, &err) != 0,
              "a request to a closed port succeeded");
    CX_EXPECT_ERR(cx, &err, COAPMX_ENETWORK, "request to a closed port");
    cell_observe(cx, "errno", "%s", cell_errno_name(err.sys_errno));
    /* The sender's view: socket_wrapper refuses such a send before anything is captured. */
    struct icmp_seen error;
    size_t transmissions = sent_to_closed_port(cx, &error);
    cell_observe(cx, "sent", "%zu", transmissions);
    CX_EXPECT(cx, transmissions <= 1, "%zu transmissions to the closed port: it was retried",
              transmissions);
    /* Ended means ended: nothing goes to that port after the error, past the first timeout. */
    cell_advance(cx, 2ull * longest_first_timeout_ms(pr) + cell_time_slack_ms(cx));
    CX_EXPECT_INT(cx, closed_port_transmissions(cx), transmissions,
                  "transmissions to the closed port after its error");
    if (!cell_lane(cx)->has_icmp)
        return; /* the values show in the report's lane agreement */
    CX_EXPECT_STR(cx, cell_errno_name(err.sys_errno), "ECONNREFUSED", "errno of the failure");
    CX_EXPECT_INT(cx, transmissions, 1, "transmissions to the closed port on the wire");
    CX_EXPECT(cx, error.found, "no ICMP error on the wire");
    bool v6 = cell_expected_wire_family(cx) == AF_INET6;
    /* port unreachable: ICMP 3/3, ICMPv6 1/4 */
    CX_EXPECT_INT(cx, error.type, v6 ? 1 : 3, "ICMP type");
    CX_EXPECT_INT(cx, error.code, v6 ? 4 : 3, "ICMP code");
}

struct scoped {
    int done, failed;
};

static void count_failure(void *arg, const struct coapmx_message *resp,
                          const struct coapmx_error *err)
{
    struct scoped *s = arg;
    s->done++;
    s->failed += resp == NULL && err != NULL && err->code == COAPMX_ENETWORK;
}

static bool both_done(void *arg)
{
    return ((struct scoped *)arg)->done == 2;
}

/* E2: an ICMP error fails the requests to the refusing port, and not a request to another port
 * of the same host; where ICMP errors are not surfaced, it fails none. */
static void icmp_error_scope(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    char closed[300], silent[300];
    cell_uri(cx, CLOSED_PORT, "hello", closed, sizeof closed);
    cell_uri(cx, 0, "silent", silent, sizeof silent);
    struct coapmx_request to_closed = {.type = COAP_CON, .method = COAP_GET, .uri = closed};
    struct coapmx_request to_open = {.type = COAP_CON, .method = COAP_GET, .uri = silent};
    struct scoped refused = {0}, other = {0};
    struct coapmx_error err;
    int sync_failures = 0;
    int64_t ids[3];
    ids[0] = iut_request(ep, &to_open, count_failure, &other, &err);
    CX_EXPECT(cx, ids[0] > 0, "cannot start the request to the open port: %s", err.message);
    for (int i = 0; i < 2; i++) {
        /* socket_wrapper refuses at once; the kernel answers with ICMP */
        ids[1 + i] = iut_request(ep, &to_closed, count_failure, &refused, &err);
        if (ids[1 + i] < 0) {
            CX_EXPECT_ERR(cx, &err, COAPMX_ENETWORK, "request to a closed port");
            refused.done++;
            refused.failed++;
            sync_failures++;
        }
    }
    cell_observe(cx, "failed_at_send", "%d", sync_failures);
    if (!cell_profile(cx)->icmp_errors) {
        /* Twice the first timeout: the closed port's ICMP errors have long come back. */
        cell_advance(cx, 2ull * cell_protocol(cx)->ack_timeout_ms);
        CX_EXPECT_INT(cx, sync_failures, 0, "requests to the closed port refused at send");
        CX_EXPECT_INT(cx, refused.done + other.done, 0, "requests ended by ICMP errors");
        CX_EXPECT_INT(cx, iut_pending(ep), 3, "requests still pending");
        for (int i = 0; i < 3; i++)
            iut_cancel(ep, ids[i]);
        expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
        return;
    }
    CX_EXPECT(cx, cell_run_until(cx, both_done, &refused),
              "requests to the closed port did not both fail");
    CX_EXPECT_INT(cx, refused.failed, 2, "requests to the closed port that failed");
    CX_EXPECT_INT(cx, other.done, 0, "callbacks of the request to the open port");
    CX_EXPECT_INT(cx, iut_pending(ep), 1, "requests still pending");
    /* The error was about that port: the open one still answers (once the silent exchange is
     * given up, as NSTART lets one exchange at a time reach the peer). */
    iut_cancel(ep, ids[0]);
    expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
}

const struct scenario scenario_e1 = {
    .id = "E1-closed-port",
    .title = "a request to a closed port: a network error at once, or (ICMP not surfaced) a "
             "timeout after every retransmission",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = closed_port,
};
const struct scenario scenario_e2 = {
    .id = "E2-icmp-scope",
    .title = "an ICMP error fails requests to that port only (or none, where not surfaced)",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = icmp_error_scope,
};

const struct scenario scenario_e4 = {
    .id = "E4-oversize-datagram",
    .title = "a datagram over the receive buffer is dropped and counted",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = oversize_dropped,
};
const struct scenario scenario_e5 = {
    .id = "E5-malformed-datagram",
    .title = "unparsable datagrams are dropped, counted; work goes on",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = malformed_dropped,
};
const struct scenario scenario_e6 = {
    .id = "E6-shutdown",
    .title = "shutdown fails pending and new requests, closes sockets",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = shutdown_fails_everything,
};
static const char *unless_callbacks_in_process(const struct iut_info *iut)
{
    return iut->caps.introspection ? NULL
                                   : "its callbacks run inside its driver, where no scenario "
                                     "code runs: re-entering the stack from them cannot be asked";
}

const struct scenario scenario_e6b = {
    .id = "E6-shutdown-from-callback",
    .title = "shutdown or cancel from inside callbacks is safe",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = shutdown_from_callbacks,
    .not_applicable = unless_callbacks_in_process,
};
const struct scenario scenario_e11 = {
    .id = "E11-long-option",
    .title = "a request with 16-bit extended option delta and length is decoded and served",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = long_option_served,
    .not_applicable = unless_serves_on_client,
};

const struct scenario scenario_e12 = {
    .id = "E12-critical-option",
    .title = "a request with an unknown critical option is not served: 4.02 for a CON",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = critical_option_refused,
    .not_applicable = unless_serves_on_client,
};
