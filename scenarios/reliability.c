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

static int64_t start_get(struct cell *cx, struct iut_endpoint *ep, const char *path,
                         struct outcome *o)
{
    char uri[300];
    struct coapmx_error err;
    cell_uri(cx, 0, path, uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    current = cx;
    int64_t id = iut_request(ep, &req, note_outcome, o, &err);
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
    struct iut_endpoint *ep = cell_client(cx);
    const struct coapmx_protocol *pr = cell_protocol(cx);
    uint64_t slack = cell_time_slack_ms(cx);
    cell_peer_behave(cx, "drop 1000");
    struct outcome o = {0};
    start_get(cx, ep, "hello", &o);
    uint64_t longest = longest_first_timeout_ms(pr);
    CX_EXPECT(cx, cell_wait(cx, outcome_done, &o, give_up_ms(pr) + 2 * slack + 1),
              "the request never gave up");
    CX_EXPECT_ERR(cx, &o.err, COAPMX_ETIMEOUT, "a request nobody answers");
    /* The error says whom it waited for and how often it asked. */
    char tries[48];
    snprintf(tries, sizeof tries, "after %u transmissions", pr->max_retransmit + 1);
    cell_expect_message(cx, &o.err, tries, "a CON nobody answers");
    cell_expect_message(cx, &o.err, cell_host(cx), "a CON nobody answers");
    struct coapmx_transmission log[COAPMX_TRANSMISSION_LOG];
    size_t n = cell_transmissions(cx, ep, log, COAPMX_TRANSMISSION_LOG);
    CX_EXPECT_INT(cx, n, pr->max_retransmit + 1, "transmissions");
    CX_EXPECT_INT(cx, requests_with_mid(cell_wire(cx), log[0].mid), pr->max_retransmit + 1,
                  "transmissions of the request on the wire");
    uint64_t first = log[1].at_ms - log[0].at_ms;
    CX_EXPECT(cx, first + slack >= pr->ack_timeout_ms && first <= longest + slack,
              "first timeout %llu ms outside [%u, %llu] (within %llu)", (unsigned long long)first,
              pr->ack_timeout_ms, (unsigned long long)longest, (unsigned long long)slack);
    for (size_t i = 1; i + 1 < n; i++)
        CX_EXPECT_NEAR(cx, log[i + 1].at_ms - log[i].at_ms, first << i, slack,
                       "retransmission interval (doubling)");
    CX_EXPECT_NEAR(cx, o.at_ms - log[0].at_ms, first * ((2u << pr->max_retransmit) - 1),
                   slack * ((2u << pr->max_retransmit) - 1) / 2 + slack,
                   "time from the first transmission to the timeout error");
    cell_observe(cx, "first_timeout_ms", "%llu", (unsigned long long)first);

    /* A NON is never retransmitted (RFC 7252 §4.3): one send, then a timeout after the
     * NON lifetime. */
    char uri[300];
    struct coapmx_error err;
    cell_uri(cx, 0, "silent", uri, sizeof uri);
    struct coapmx_request non = {.type = COAP_NON, .method = COAP_GET, .uri = uri};
    struct outcome quiet = {0};
    uint64_t sent_at = cell_now_ms(cx);
    CX_EXPECT(cx, iut_request(ep, &non, note_outcome, &quiet, &err) > 0,
              "cannot start a NON request: %s", err.message);
    CX_EXPECT(cx, cell_wait(cx, outcome_done, &quiet, pr->non_lifetime_ms + 2 * slack + 1),
              "the NON request never gave up");
    CX_EXPECT_ERR(cx, &quiet.err, COAPMX_ETIMEOUT, "a NON request nobody answers");
    cell_expect_message(cx, &quiet.err, "NON", "a NON nobody answers");
    cell_expect_message(cx, &quiet.err, cell_host(cx), "a NON nobody answers");
    CX_EXPECT_NEAR(cx, quiet.at_ms - sent_at, pr->non_lifetime_ms, slack,
                   "time until the NON gave up");
    n = cell_transmissions(cx, ep, log, COAPMX_TRANSMISSION_LOG);
    CX_EXPECT_INT(cx, requests_with_mid(cell_wire(cx), log[n - 1].mid), 1,
                  "transmissions of the NON request on the wire");
}

/* How late a real-clock timer may fire on a busy machine, in real time. */
#define L8_TIMER_LATENESS_MS 250

/* L8: a lost CON's transmission `first` (of the IUT's, oldest first) went out again no earlier
 * than ACK_TIMEOUT after it and no later than the largest randomised timeout (RFC 7252 §4.2),
 * give or take what a busy machine delays a timer by: never the second that a wait ignoring its
 * timers would add. */
static void expect_real_retransmission(struct cell *cx, struct iut_endpoint *ep, size_t first,
                                       const char *what)
{
    const struct coapmx_protocol *pr = cell_protocol(cx);
    struct coapmx_transmission log[COAPMX_TRANSMISSION_LOG];
    size_t n = cell_transmissions(cx, ep, log, COAPMX_TRANSMISSION_LOG);
    CX_EXPECT_INT(cx, n, first + 2, "transmissions");
    CX_EXPECT_INT(cx, requests_with_mid(cell_wire(cx), log[first].mid), 2,
                  "transmissions of the request on the wire");
    uint64_t gap = log[first + 1].at_ms - log[first].at_ms;
    CX_EXPECT(cx, gap + cell_time_slack_ms(cx) >= pr->ack_timeout_ms,
              "%s was retransmitted %llu ms of real time after the first send, before "
              "ACK_TIMEOUT (%u)",
              what, (unsigned long long)gap, pr->ack_timeout_ms);
    unsigned speedup = cell_iut(cx)->speedup > 1 ? cell_iut(cx)->speedup : 1;
    uint64_t latest = (uint64_t)pr->ack_timeout_ms * pr->ack_random_factor_milli / 1000 +
                      cell_time_slack_ms(cx) + (uint64_t)L8_TIMER_LATENESS_MS * speedup;
    CX_EXPECT(cx, gap <= latest,
              "%s was retransmitted %llu ms after the first send, later than ACK_TIMEOUT x "
              "ACK_RANDOM_FACTOR (%u x %.3f) and %u ms of lateness allow",
              what, (unsigned long long)gap, pr->ack_timeout_ms,
              pr->ack_random_factor_milli / 1000.0, L8_TIMER_LATENESS_MS * speedup);
}

/* L8: on the real clock (as `coapmx get` runs), a lost CON goes out again in time, and the
 * answer to the retransmission completes it. */
static void real_clock(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_peer_behave(cx, "drop 1");
    expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
    expect_real_retransmission(cx, ep, 0, "the GET");
    if (!cell_caps(cx)->introspection)
        return;
    /* Our stack's blocking call, which `coapmx get` makes: the same request, its first send
     * lost too (the call's own wait runs the timers). */
    char uri[512];
    cell_uri(cx, 0, "hello", uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    static struct coapmx_message resp; /* large */
    struct coapmx_error err;
    cell_peer_behave(cx, "drop 1");
    CX_EXPECT(cx,
              coapmx_request_wait(iut_stack(ep), &req, &resp, cell_request_bound_ms(cx), &err) == 0,
              "the blocking GET of %s failed: %s: %s", uri, coapmx_err_name(err.code), err.message);
    expect_payload(cx, &resp, "hello");
    expect_real_retransmission(cx, ep, 2, "the blocking GET");
    /* And one it gives up on (the first send is lost, the wait is 1 ms): ETIMEOUT, and the
     * request is called off with it, so nothing of it is left pending or sent later. */
    cell_peer_behave(cx, "drop 1");
    CX_EXPECT(cx, coapmx_request_wait(iut_stack(ep), &req, &resp, 1, &err) != 0,
              "the blocking GET was answered within 1 ms although its first send was lost");
    CX_EXPECT_ERR(cx, &err, COAPMX_ETIMEOUT, "a blocking GET that ran out of time");
    CX_EXPECT_INT(cx, iut_pending(ep), 0, "requests pending after the blocking GET gave up");
}

/* L3: a CoAP ping (empty CON) gets an RST with the same MID, each of two in a row. */
static void ping_gets_reset(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    static const uint16_t mids[] = {0x5151, 0x5152};
    for (size_t i = 0; i < 2; i++) {
        uint8_t ping[16];
        size_t len = encode_bare(cx, COAP_CON, COAP_EMPTY, mids[i], "", ping, sizeof ping);
        CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, ping, len), 0,
                      "errno of the peer's ping");
    }
    struct wire_filter rst = WIRE_FILTER_ANY;
    rst.dst = (const struct sockaddr *)&peer;
    rst.coap_type = COAP_RST;
    cell_wait_wire(cx, &rst, 2, cell_reaction_ms(cx));
    const struct wire_capture *cap = cell_wire(cx);
    for (size_t i = 0; i < 2; i++) {
        const struct wire_datagram *reset = wire_find(cap, &rst, i);
        CX_EXPECT(cx, reset != NULL, "no RST answered ping %zu of 2", i + 1);
        CX_EXPECT_INT(cx, reset->coap.mid, mids[i], "MID of the RST");
        CX_EXPECT_INT(cx, reset->payload_len, 4, "bytes of the RST");
    }
    if (stack_stats(cx, ep) != NULL)
        CX_EXPECT_INT(cx, stack_stats(cx, ep)->rst_sent, 2, "RSTs the endpoint counted as sent");
}

/* L3: an RST answering a request fails it with a reset error, at once. */
static void reset_request(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_peer_behave(cx, "reset");
    const struct coapmx_message *resp;
    struct coapmx_error err;
    CX_EXPECT(cx, cell_request(cx, ep, COAP_CON, 0, "hello", &resp, &err) != 0,
              "a request answered with RST succeeded");
    CX_EXPECT_ERR(cx, &err, COAPMX_ERESET, "a request the peer reset");
    struct coapmx_transmission log[4];
    CX_EXPECT_INT(cx, cell_transmissions(cx, ep, log, 4), 1,
                  "transmissions of a request that was reset");
    if (stack_stats(cx, ep) != NULL)
        CX_EXPECT_INT(cx, stack_stats(cx, ep)->rst_received, 1, "RSTs received");
}

/* L4: a CON response nobody asked for gets an RST; unknown ACK and NON responses are ignored. */
static void unknown_responses(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    struct sockaddr_storage client, peer;
    client_seen_by_peer(cx, &client, &peer);
    /* Reserved code classes (1, 6, 7) are rejected like unknown responses (RFC 7252 §4.2, 4.3);
     * a NON must not be Empty, and rejecting one means ignoring it. */
    static const struct {
        enum coap_type type;
        uint8_t code;
        uint16_t mid;
        const char *token;
    } unknown[] = {{COAP_CON, COAP_CONTENT, 0x6161, "nobody"},
                   {COAP_NON, COAP_CONTENT, 0x6262, "nobody"},
                   {COAP_ACK, COAP_CONTENT, 0x6363, "nobody"},
                   {COAP_CON, COAP_CODE(1, 1), 0x6464, "nobody"},
                   {COAP_NON, COAP_EMPTY, 0x6565, ""}};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        uint8_t buf[32];
        size_t len = encode_bare(cx, unknown[i].type, unknown[i].code, unknown[i].mid,
                                 unknown[i].token, buf, sizeof buf);
        CX_EXPECT_INT(cx, cell_peer_send(cx, (void *)&peer, (void *)&client, buf, len), 0,
                      "errno of the peer's unknown response");
    }
    struct wire_filter rst = WIRE_FILTER_ANY;
    rst.dst = (const struct sockaddr *)&peer;
    rst.coap_type = COAP_RST;
    cell_wait_wire(cx, &rst, 2, cell_reaction_ms(cx));
    /* One more exchange on the socket: what it received before is handled by its answer. */
    cell_get(cx, ep, 0, "hello");
    const struct wire_capture *cap = cell_wire(cx);
    bool reset[sizeof unknown / sizeof unknown[0]] = {false};
    for (size_t i = 0; wire_find(cap, &rst, i) != NULL; i++)
        for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++)
            reset[k] = reset[k] || wire_find(cap, &rst, i)->coap.mid == unknown[k].mid;
    CX_EXPECT(cx, reset[0], "no RST answered an unknown CON response");
    CX_EXPECT(cx, reset[3], "no RST answered a CON of the reserved class 1.01");
    CX_EXPECT(cx, !reset[2], "an RST answered an unknown ACK, which must be ignored");
    /* Rejecting a NON may or may not send an RST (RFC 7252 §4.3). */
    cell_observe(cx, "rst_to_non", "%s/%s", reset[1] ? "yes" : "no", reset[4] ? "yes" : "no");
    if (stack_stats(cx, ep) != NULL)
        CX_EXPECT_INT(cx, stack_stats(cx, ep)->responses_unmatched, 3, "unknown responses counted");
}

/* L5: an empty ACK stops the retransmission; the separate CON response is acknowledged with
 * its own MID and completes the request. */
static void separate_response(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    const struct coapmx_protocol *pr = cell_protocol(cx);
    cell_peer_behave(cx, "separate-later");
    struct outcome o = {0};
    start_get(cx, ep, "hello", &o);
    cell_advance(cx, (uint64_t)pr->ack_timeout_ms * 2 << pr->max_retransmit);
    CX_EXPECT(cx, !o.done, "the request ended before its separate response");
    struct coapmx_transmission log[4];
    CX_EXPECT_INT(cx, cell_transmissions(cx, ep, log, 4), 1, "transmissions after the empty ACK");
    cell_peer_behave(cx, "release");
    CX_EXPECT(cx, cell_run_until(cx, outcome_done, &o), "the separate response never came");
    CX_EXPECT_INT(cx, o.code, COAP_CONTENT, "code of the separate response");
    struct wire_filter con = WIRE_FILTER_ANY, ack = WIRE_FILTER_ANY;
    con.coap_type = COAP_CON;
    con.coap_code = COAP_CONTENT;
    ack.coap_type = COAP_ACK;
    ack.coap_code = COAP_EMPTY;
    cell_wait_wire(cx, &ack, 2, cell_reaction_ms(cx));
    const struct wire_capture *cap = cell_wire(cx);
    const struct wire_datagram *response = wire_find(cap, &con, 0);
    CX_EXPECT(cx, response != NULL, "no separate CON response on the wire");
    CX_EXPECT_INT(cx, requests_with_mid(cap, log[0].mid), 1, "transmissions on the wire");
    /* the peer's empty ACK, then the client's for the CON response */
    const struct wire_datagram *client_ack = wire_find(cap, &ack, 1);
    CX_EXPECT(cx, client_ack != NULL, "the client did not acknowledge the separate response");
    CX_EXPECT_INT(cx, client_ack->coap.mid, response->coap.mid, "MID of the client's empty ACK");
    if (stack_stats(cx, ep) != NULL) /* an empty ACK is no reset */
        CX_EXPECT_INT(cx, stack_stats(cx, ep)->rst_sent, 0, "RSTs the endpoint counted as sent");
}

/* L7: a response with the right token from the wrong source, or the right source with the
 * wrong token, is dropped; the genuine one completes the request. */
static void spoofed_responses(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_peer_behave(cx, "spoof");
    const struct coapmx_message *spoofed = cell_get(cx, ep, 0, "hello");
    char expected[COAPMX_HOSTINFO_MAX];
    cell_expected_hostinfo(cx, 0, expected, sizeof expected);
    CX_EXPECT_STR(cx, spoofed->remote.hostinfo, expected, "remote of the accepted response");
    /* A connected socket never even sees the stranger's datagram. */
    uint64_t from_stranger = cell_profile(cx)->accepts_strangers ? 1 : 0;
    const struct coapmx_endpoint_stats *stats = stack_stats(cx, ep);
    if (stats != NULL)
        CX_EXPECT_INT(cx, stats->responses_unmatched, from_stranger,
                      "responses dropped (wrong source)");
    cell_peer_behave(cx, "wrong-token");
    expect_payload(cx, cell_get(cx, ep, 0, "hello"), "hello");
    if (stats != NULL)
        CX_EXPECT_INT(cx, stats->responses_unmatched, from_stranger + 1,
                      "responses dropped (wrong source, then wrong token)");
}

const struct scenario scenario_l1 = {
    .id = "L1-retransmission",
    .title = "CON retransmission: 1 + MAX_RETRANSMIT sends, doubling, then a timeout",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = retransmission,
};
const struct scenario scenario_l8 = {
    .id = "L8-real-clock",
    .title = "on the real clock, a lost CON is sent again after ACK_TIMEOUT and then answered",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = real_clock,
    .real_clock = true,
    /* A short real wait: the lower bound no scheduling delay can break, the upper one allows
     * L8_TIMER_LATENESS_MS of it. The cell ends quiet in real time too: EXCHANGE_LIFETIME just past
     * the 450 ms that four retransmissions can span at this ACK_TIMEOUT. */
    .protocol = "ack_timeout_ms=20,exchange_lifetime_ms=600",
};
const struct scenario scenario_l3 = {
    .id = "L3-ping",
    .title = "a CoAP ping gets an RST with the same MID, every one of two in a row",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = ping_gets_reset,
};
const struct scenario scenario_l3b = {
    .id = "L3-reset-request",
    .title = "an RST answering a request fails it at once",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = reset_request,
};
const struct scenario scenario_l4 = {
    .id = "L4-unknown-response",
    .title = "unknown CON response or reserved class: RST; unknown ACK, NON, empty NON: ignored",
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

/* The client has addressed the peer; returns the client's address and the peer socket it talks
 * to. */
static struct iut_endpoint *client_serving(struct cell *cx, struct sockaddr_storage *client,
                                           struct sockaddr_storage *peer)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_get(cx, ep, 0, "hello");
    client_seen_by_peer(cx, client, peer);
    return ep;
}

static size_t answers_with_mid(struct cell *cx, const struct wire_capture *cap,
                               const struct sockaddr *to, uint16_t mid,
                               const struct wire_datagram **first)
{
    struct wire_filter f = WIRE_FILTER_ANY;
    f.dst = to;
    f.coap_type = COAP_ACK;
    size_t n = 0;
    for (size_t i = 0; i < cap->count; i++) {
        const struct wire_datagram *dg = wire_find(cap, &f, i);
        if (dg == NULL)
            break;
        if (dg->coap.mid != mid || dg->coap.code == COAP_EMPTY)
            continue;
        if (n++ == 0)
            *first = dg;
        else
            CX_EXPECT(cx,
                      dg->payload_len == (*first)->payload_len &&
                          memcmp(dg->payload, (*first)->payload, dg->payload_len) == 0,
                      "a repeated answer differs from the first");
    }
    return n;
}

/* The peer sends `req` from `from`, and waits for the IUT to answer it (the answers_with_mid
 * count reaching `answers`). */
static void peer_asks(struct cell *cx, const struct sockaddr_storage *from,
                      const struct sockaddr_storage *to, const uint8_t *req, size_t len,
                      size_t answers)
{
    CX_EXPECT_INT(cx, cell_peer_send(cx, (const void *)from, (const void *)to, req, len), 0,
                  "errno of the peer's request");
    struct wire_filter ack = WIRE_FILTER_ANY;
    ack.dst = (const struct sockaddr *)from;
    ack.coap_type = COAP_ACK;
    ack.coap_code = COAP_CONTENT;
    CX_EXPECT(cx, cell_wait_wire(cx, &ack, answers, cell_reaction_ms(cx)),
              "request %zu from %s was not answered", answers, "the peer");
}

#define MANY_REQUESTS 300

/* L2: a duplicate CON is answered again from the cache, byte for byte ("served <n>" counts
 * what really was served); the same MID from another host is another request; after many
 * requests the newest is still deduplicated; after EXCHANGE_LIFETIME the same MID is a new
 * request. */
static void deduplication(struct cell *cx)
{
    struct sockaddr_storage client, peer;
    struct iut_endpoint *ep = client_serving(cx, &client, &peer);
    uint8_t req[32];
    size_t len = encode_bare(cx, COAP_CON, COAP_GET, 0x7171, "dup", req, sizeof req);
    peer_asks(cx, &peer, &client, req, len, 1);
    peer_asks(cx, &peer, &client, req, len, 2);
    CX_EXPECT_INT(cx, iut_served_count(ep), 1, "requests served for a request and its duplicate");
    if (stack_stats(cx, ep) != NULL)
        CX_EXPECT_INT(cx, stack_stats(cx, ep)->duplicates, 1, "duplicates recognised");
    const struct wire_datagram *first = NULL;
    CX_EXPECT_INT(cx, answers_with_mid(cx, cell_wire(cx), (void *)&peer, 0x7171, &first), 2,
                  "byte-identical answers on the wire");
    if (cell_profile(cx)->accepts_strangers) {
        struct sockaddr_storage stranger;
        cell_stranger_sockaddr(cx, peer.ss_family, PEER_PORT_DEFAULT, &stranger);
        peer_asks(cx, &stranger, &client, req, len, 1);
        CX_EXPECT_INT(cx, iut_served_count(ep), 2,
                      "requests served after the same MID from another host");
    }
    /* More requests than a bounded cache holds (ours: 256): each is served, and the newest
     * entry stays, so a duplicate of the last is answered from the cache again. */
    size_t before = iut_served_count(ep), acks = 2;
    uint16_t mid = 0x8000;
    for (size_t i = 0; i < MANY_REQUESTS; i++, mid++) {
        len = encode_bare(cx, COAP_CON, COAP_GET, mid, "dup", req, sizeof req);
        peer_asks(cx, &peer, &client, req, len, ++acks);
    }
    peer_asks(cx, &peer, &client, req, len, ++acks);
    CX_EXPECT_INT(cx, iut_served_count(ep), before + MANY_REQUESTS,
                  "requests served of the many new ones and the last one's duplicate");
    CX_EXPECT_INT(cx,
                  answers_with_mid(cx, cell_wire(cx), (void *)&peer, (uint16_t)(mid - 1), &first),
                  2, "byte-identical answers to the last request and its duplicate");
    before = iut_served_count(ep);
    len = encode_bare(cx, COAP_CON, COAP_GET, 0x7171, "dup", req, sizeof req);
    uint64_t lifetime = cell_protocol(cx)->exchange_lifetime_ms;
    if (cell_iut(cx)->speedup * 10000ull < lifetime && cell_iut(cx)->ops == NULL) {
        /* A stack with a long fixed lifetime: the cell's time bound comes first. */
        cell_observe(cx, "after_exchange_lifetime", "not checked (%u ms)", (unsigned)lifetime);
        return;
    }
    cell_advance(cx, lifetime + cell_time_slack_ms(cx));
    peer_asks(cx, &peer, &client, req, len, ++acks);
    CX_EXPECT_INT(cx, iut_served_count(ep), before + 1, "requests served after EXCHANGE_LIFETIME");
}

struct three {
    struct outcome first, second, third;
};

/* Where the first datagram of this CoAP type and MID is in the peer's capture (both directions,
 * in the order the peer saw them); SIZE_MAX: nowhere. */
static size_t wire_position(struct cell *cx, enum coap_type type, uint16_t mid)
{
    const struct wire_capture *cap = cell_wire(cx);
    for (size_t i = 0; i < cap->count; i++) {
        const struct wire_datagram *d = &cap->items[i];
        if (d->kind == WIRE_UDP && d->coap_status == COAP_OK && d->coap.type == type &&
            d->coap.mid == mid)
            return i;
    }
    return SIZE_MAX;
}

static bool all_answered(void *arg)
{
    struct three *t = arg;
    return t->first.done && t->second.done && t->third.done;
}

/* L6: NSTART = 1 per key: a second CON to the same peer waits until the first is answered, and
 * a third until the second is; a second spelling of the peer has a slot of its own iff the
 * profile keys sockets by spelling (then only the first two go). */
static void nstart(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    cell_peer_behave(cx, "drop 1");
    struct three t = {.third.done = true};
    start_get(cx, ep, "hello", &t.first);
    char uri[300];
    const struct lane *lane = cell_lane(cx);
    bool by_literal = cell_kind(cx)->cls == KIND_NAME;
    bool own_slot = by_literal && cell_profile(cx)->socket_per_spelling;
    if (by_literal) {
        char hostinfo[COAPMX_HOSTINFO_MAX];
        int family = cell_expected_wire_family(cx);
        coapmx_hostinfo_format(family == AF_INET ? lane->peer_v4 : lane->peer_v6, PEER_PORT_DEFAULT,
                               hostinfo, sizeof hostinfo);
        snprintf(uri, sizeof uri, "coap://%s/hello", hostinfo);
    } else {
        cell_uri(cx, 0, "hello", uri, sizeof uri);
    }
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};
    struct coapmx_error err;
    CX_EXPECT(cx, iut_request(ep, &req, note_outcome, &t.second, &err) > 0,
              "cannot start the second request: %s", err.message);
    if (!own_slot) {
        t.third.done = false;
        start_get(cx, ep, "hello", &t.third);
    }
    CX_EXPECT(cx, cell_wait(cx, all_answered, &t, 60000), "the requests were not all answered");
    struct coapmx_transmission log[8];
    size_t n = cell_transmissions(cx, ep, log, 8);
    if (own_slot) {
        CX_EXPECT_INT(cx, n, 3, "transmissions (first, its retransmission, second)");
        uint16_t second_mid = log[0].mid == log[1].mid ? log[2].mid : log[1].mid;
        cell_observe(cx, "second_sent_after_first_answered", "%s",
                     log[2].mid == second_mid ? "yes" : "no");
        CX_EXPECT(cx, log[1].mid == second_mid,
                  "the second request to another spelling waited for the first");
        return;
    }
    CX_EXPECT_INT(cx, n, 4, "transmissions (first, its retransmission, second, third)");
    uint16_t first_mid = log[0].mid, second_mid = log[2].mid, third_mid = log[3].mid;
    cell_observe(cx, "second_sent_after_first_answered", "%s",
                 log[1].mid == first_mid ? "yes" : "no");
    /* The wire, not when the answers reached us: a stack may report two at once. */
    CX_EXPECT(cx,
              log[1].mid == first_mid &&
                  wire_position(cx, COAP_CON, second_mid) > wire_position(cx, COAP_ACK, first_mid),
              "the second request to the same peer went out before the first was answered");
    CX_EXPECT(cx, wire_position(cx, COAP_CON, third_mid) > wire_position(cx, COAP_ACK, second_mid),
              "the third request to the same peer went out before the second was answered");
}

const struct scenario scenario_l2 = {
    .id = "L2-deduplication",
    .title = "a duplicate CON gets the cached response again, for EXCHANGE_LIFETIME",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = deduplication,
    .not_applicable = unless_serves_on_client,
};
const struct scenario scenario_l6 = {
    .id = "L6-nstart",
    .title = "NSTART 1: a second CON to the same key waits for the first",
    .kinds = KINDS("v4", "v6", "v4.test", "v6.test"),
    .traffic = true,
    .run = nstart,
};
