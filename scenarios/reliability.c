/* The shared message layer, checked on the wire and on the virtual clock (rows L1-L7). */
#include "common.h"

#include "../transports/addr.h"

struct outcome {
    bool done;
    uint64_t at_ms;
    struct coapmx_error err;
    uint8_t code;
};

static struct cell *current; /* for the clock in callbacks */

static void note_outcome(void *arg, const struct coapmx_message *resp,
                         const struct coapmx_error *err)
{
    struct outcome *o = arg;
    o->done = true;
    o->at_ms = cell_now_ms(current);
    if (err != NULL)
        o->err = *err;
    if (resp != NULL)
        o->code = resp->msg.code;
}

static bool outcome_done(void *arg)
{
    return ((struct outcome *)arg)->done;
}

static int64_t start_get(struct cell *cx, struct coapmx_endpoint *ep, const char *path,
                         struct outcome *o)
{
    char uri[300];
    struct coapmx_error err;
    cell_uri(cx, 0, path, uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    current = cx;
    int64_t id = coapmx_request_start(ep, &req, note_outcome, o, &err);
    CX_EXPECT(cx, id > 0, "cannot start GET %s: %s", uri, err.message);
    return id;
}

static size_t requests_with_mid(const struct wire_capture *cap, uint16_t mid)
{
    size_t n = 0;
    for (size_t i = 0; i < cap->count; i++) {
        const struct wire_datagram *dg = &cap->items[i];
        n += dg->kind == WIRE_UDP && dg->coap_status == COAP_OK && dg->coap.mid == mid &&
             dg->coap.code == COAP_GET;
    }
    return n;
}

/* L1: with every request lost, a CON goes out 1 + MAX_RETRANSMIT times, the first timeout in
 * [ACK_TIMEOUT, ACK_TIMEOUT * ACK_RANDOM_FACTOR] and doubling; the request then fails with a
 * timeout at (2^(MAX_RETRANSMIT+1) - 1) times the first timeout. */
static void retransmission(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    const struct coapmx_protocol *pr = coapmx_endpoint_protocol(ep);
    cell_peer_behave(cx, "drop 1000");
    struct outcome o = {0};
    start_get(cx, ep, "hello", &o);
    uint64_t longest = (uint64_t)pr->ack_timeout_ms * pr->ack_random_factor_milli / 1000;
    uint64_t give_up = longest * ((2u << pr->max_retransmit) - 1);
    CX_EXPECT(cx, cell_wait(cx, outcome_done, &o, give_up + 1), "the request never gave up");
    CX_EXPECT_ERR(cx, &o.err, COAPMX_ETIMEOUT, "a request nobody answers");
    struct coapmx_transmission log[COAPMX_TRANSMISSION_LOG];
    size_t n = coapmx_endpoint_transmissions(ep, log, COAPMX_TRANSMISSION_LOG);
    CX_EXPECT_INT(cx, n, pr->max_retransmit + 1, "transmissions (endpoint log)");
    CX_EXPECT_INT(cx, requests_with_mid(cell_wire(cx), log[0].mid), pr->max_retransmit + 1,
                  "transmissions of the request on the wire");
    uint64_t first = log[1].at_ms - log[0].at_ms;
    CX_EXPECT(cx, first >= pr->ack_timeout_ms && first <= longest,
              "first timeout %llu ms outside [%u, %llu]", (unsigned long long)first,
              pr->ack_timeout_ms, (unsigned long long)longest);
    for (size_t i = 1; i + 1 < n; i++)
        CX_EXPECT_INT(cx, log[i + 1].at_ms - log[i].at_ms, first << i,
                      "retransmission interval (doubling)");
    CX_EXPECT_INT(cx, o.at_ms - log[0].at_ms, first * ((2u << pr->max_retransmit) - 1),
                  "time from the first transmission to the timeout error");
    cell_observe(cx, "first_timeout_ms", "%llu", (unsigned long long)first);
}

/* L3: a CoAP ping (empty CON) gets an RST with the same MID. */
static void ping_gets_reset(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    uint8_t ping[16];
    size_t len = encode_bare(cx, COAP_CON, COAP_EMPTY, 0x5151, "", ping, sizeof ping);
    CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, ping, len), 0,
                  "errno of the peer's ping");
    cell_advance(cx, 10);
    struct wire_filter rst = WIRE_FILTER_ANY;
    rst.dst = (const struct sockaddr *)&peer;
    rst.coap_type = COAP_RST;
    const struct wire_datagram *reset = wire_find(cell_wire(cx), &rst, 0);
    CX_EXPECT(cx, reset != NULL, "no RST answered the ping");
    CX_EXPECT_INT(cx, reset->coap.mid, 0x5151, "MID of the RST");
    CX_EXPECT_INT(cx, reset->payload_len, 4, "bytes of the RST");
}

/* L4: a CON response nobody asked for gets an RST; unknown ACK and NON responses are ignored. */
static void unknown_responses(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    static const struct {
        enum coap_type type;
        uint16_t mid;
    } unknown[] = {{COAP_CON, 0x6161}, {COAP_NON, 0x6262}, {COAP_ACK, 0x6363}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t buf[32];
        size_t len = encode_bare(cx, unknown[i].type, COAP_CONTENT, unknown[i].mid, "nobody", buf,
                                 sizeof buf);
        CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, buf, len), 0,
                      "errno of the peer's unknown response");
    }
    cell_advance(cx, 10);
    struct wire_filter rst = WIRE_FILTER_ANY;
    rst.dst = (const struct sockaddr *)&peer;
    rst.coap_type = COAP_RST;
    const struct wire_capture *cap = cell_wire(cx);
    CX_EXPECT_INT(cx, wire_count(cap, &rst), 1, "RSTs to unknown responses");
    CX_EXPECT_INT(cx, wire_find(cap, &rst, 0)->coap.mid, 0x6161, "MID of the RST");
    CX_EXPECT_INT(cx, coapmx_endpoint_stats(ep)->responses_unmatched, 3,
                  "unknown responses counted");
}

/* L5: an empty ACK stops the retransmission; the separate CON response is acknowledged with
 * its own MID and completes the request. */
static void separate_response(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    const struct coapmx_protocol *pr = coapmx_endpoint_protocol(ep);
    cell_peer_behave(cx, "separate-later");
    struct outcome o = {0};
    start_get(cx, ep, "hello", &o);
    cell_advance(cx, (uint64_t)pr->ack_timeout_ms * 2 << pr->max_retransmit);
    CX_EXPECT(cx, !o.done, "the request ended before its separate response");
    struct coapmx_transmission log[4];
    CX_EXPECT_INT(cx, coapmx_endpoint_transmissions(ep, log, 4), 1,
                  "transmissions after the empty ACK");
    cell_peer_behave(cx, "release");
    CX_EXPECT(cx, cell_run_until(cx, ep, outcome_done, &o), "the separate response never came");
    CX_EXPECT_INT(cx, o.code, COAP_CONTENT, "code of the separate response");
    struct wire_filter con = WIRE_FILTER_ANY, ack = WIRE_FILTER_ANY;
    con.coap_type = COAP_CON;
    con.coap_code = COAP_CONTENT;
    ack.coap_type = COAP_ACK;
    ack.coap_code = COAP_EMPTY;
    const struct wire_capture *cap = cell_wire(cx);
    const struct wire_datagram *response = wire_find(cap, &con, 0);
    CX_EXPECT(cx, response != NULL, "no separate CON response on the wire");
    CX_EXPECT_INT(cx, requests_with_mid(cap, log[0].mid), 1, "transmissions on the wire");
    /* the peer's empty ACK, then the client's for the CON response */
    const struct wire_datagram *client_ack = wire_find(cap, &ack, 1);
    CX_EXPECT(cx, client_ack != NULL, "the client did not acknowledge the separate response");
    CX_EXPECT_INT(cx, client_ack->coap.mid, response->coap.mid, "MID of the client's empty ACK");
}

/* L7: a response with the right token from the wrong source, or the right source with the
 * wrong token, is dropped; the genuine one completes the request. */
static void spoofed_responses(struct cell *cx)
{
    struct coapmx_endpoint *ep = cell_client(cx);
    cell_peer_behave(cx, "spoof");
    const struct coapmx_message *spoofed = cell_get(cx, ep, 0, "hello");
    char expected[COAPMX_HOSTINFO_MAX];
    cell_expected_hostinfo(cx, 0, expected, sizeof expected);
    CX_EXPECT_STR(cx, spoofed->remote.hostinfo, expected, "remote of the accepted response");
    /* A connected socket never even sees the stranger's datagram. */
    uint64_t from_stranger = cell_profile(cx)->accepts_strangers ? 1 : 0;
    CX_EXPECT_INT(cx, coapmx_endpoint_stats(ep)->responses_unmatched, from_stranger,
                  "responses dropped (wrong source)");
    cell_peer_behave(cx, "wrong-token");
    expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
    CX_EXPECT_INT(cx, coapmx_endpoint_stats(ep)->responses_unmatched, from_stranger + 1,
                  "responses dropped (wrong source, then wrong token)");
}

const struct scenario scenario_l1 = {
    .id = "L1-retransmission",
    .title = "CON retransmission: 1 + MAX_RETRANSMIT sends, doubling, then a timeout",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = retransmission,
};
const struct scenario scenario_l3 = {
    .id = "L3-ping",
    .title = "a CoAP ping gets an RST with the same MID",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = ping_gets_reset,
};
const struct scenario scenario_l4 = {
    .id = "L4-unknown-response",
    .title = "unknown CON response: RST; unknown ACK or NON: ignored",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = unknown_responses,
};
const struct scenario scenario_l5 = {
    .id = "L5-separate-response",
    .title = "empty ACK stops retransmission; the separate response is acknowledged",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = separate_response,
};
const struct scenario scenario_l7 = {
    .id = "L7-spoofed-response",
    .title = "responses from the wrong source or with the wrong token are dropped",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = spoofed_responses,
};
