#include "common.h"

#include "../transports/addr.h"

static const struct wire_datagram *find_request_at_peer(struct cell *cx,
                                                        const struct wire_capture *cap, size_t nth)
{
    size_t seen = 0;
    for (size_t i = 0; i < cap->count; i++)
        if (cell_request_to_peer(cx, &cap->items[i]) && seen++ == nth)
            return &cap->items[i];
    return NULL;
}

bool nth_request_exists(struct cell *cx, const struct wire_capture *cap, size_t nth)
{
    return find_request_at_peer(cx, cap, nth) != NULL;
}

const struct wire_datagram *nth_request_at_peer(struct cell *cx, const struct wire_capture *cap,
                                                size_t nth)
{
    const struct wire_datagram *dg = find_request_at_peer(cx, cap, nth);
    if (dg != NULL)
        return dg;
    cell_dump_wire(cx, cap, "peer capture");
    cell_fail(cx, "the peer's capture holds no request #%zu to the peer", nth + 1);
}

size_t encode_bare(struct cell *cx, enum coap_type type, uint8_t code, uint16_t mid,
                   const char *token, uint8_t *buf, size_t cap)
{
    struct coap_msg m;
    size_t len = 0;
    coap_msg_init(&m, type, code, mid);
    coap_msg_set_token(&m, (const uint8_t *)token, strlen(token));
    CX_EXPECT(cx, coap_encode(&m, buf, cap, &len) == COAP_OK, "cannot encode a test message");
    return len;
}

void client_seen_by_peer(struct cell *cx, struct sockaddr_storage *client,
                         struct sockaddr_storage *peer)
{
    const struct wire_datagram *first = nth_request_at_peer(cx, cell_wire(cx), 0);
    *client = first->src;
    *peer = first->dst;
}

uint16_t wire_src_port(const struct wire_datagram *dg)
{
    return coapmx_sockaddr_port((const struct sockaddr *)&dg->src);
}

void expect_payload(struct cell *cx, const struct coapmx_message *m, const char *text)
{
    size_t len = strlen(text);
    CX_EXPECT(cx, m->msg.payload_len == len && memcmp(m->msg.payload, text, len) == 0,
              "payload: got %zu bytes \"%.*s\", expected \"%s\"", m->msg.payload_len,
              (int)(m->msg.payload_len > 40 ? 40 : m->msg.payload_len),
              (const char *)m->msg.payload, text);
}

bool has_path(const struct wire_datagram *dg, const char *path)
{
    char joined[64];
    coap_msg_join_options(&dg->coap, COAP_OPT_URI_PATH, '/', joined, sizeof joined);
    return strcmp(joined, path) == 0;
}

uint32_t block_of(const struct wire_datagram *dg, uint16_t number)
{
    const struct coap_option *o = coap_msg_find_option(&dg->coap, number, NULL);
    return o ? coap_option_uint(o) : 0;
}

/* Requests to `path` at the peer, in order; all must leave from one source port (the key is
 * kept for the whole transfer), each block option in its shortest form (RFC 7252 §3.2: a uint
 * in as few bytes as possible; leading zeros would hide a wrong length). Writes each one's
 * block option value. */
size_t block_requests(struct cell *cx, const struct wire_capture *cap, const char *path,
                      uint16_t option, uint32_t *values, size_t max)
{
    size_t n = 0;
    uint16_t port = 0;
    for (size_t i = 0; nth_request_exists(cx, cap, i); i++) {
        const struct wire_datagram *dg = nth_request_at_peer(cx, cap, i);
        if (!has_path(dg, path) || n == max)
            continue;
        if (n == 0)
            port = wire_src_port(dg);
        CX_EXPECT_INT(cx, wire_src_port(dg), port, "source port of a block request");
        const struct coap_option *o = coap_msg_find_option(&dg->coap, option, NULL);
        uint8_t shortest[4];
        if (o != NULL)
            CX_EXPECT_INT(cx, o->length, coap_uint_encode(coap_option_uint(o), shortest),
                          "bytes of a block option");
        values[n++] = block_of(dg, option);
    }
    return n;
}

const char *unless_serves(const struct iut_info *iut)
{
    return iut->profile.roles == COAPMX_ROLES_CLIENT_ONLY ? "client-only: it never binds a server"
                                                          : NULL;
}

const char *unless_multicast(const struct iut_info *iut)
{
    return iut->profile.multicast ? NULL : "no multicast: group destinations are refused (M2)";
}

const char *unless_accepts_strangers(const struct iut_info *iut)
{
    return iut->profile.accepts_strangers
               ? NULL
               : "a connected socket per key: datagrams from another key never reach it (R3)";
}

const char *unless_serves_on_client(const struct iut_info *iut)
{
    return iut->caps.serves_on_client
               ? NULL
               : "its client does not serve the peer it addressed (caps: serves-on-client)";
}

const char *unless_socket_pool(const struct iut_info *iut)
{
    if (iut->profile.sockets != COAPMX_SOCKETS_PER_PEER_CONNECTED)
        return "no socket pool: one socket serves every peer";
    return iut->caps.settable_pool ? NULL : "its socket pool's size cannot be set (caps)";
}

size_t socket_count(struct iut_endpoint *ep)
{
    return iut_sockets(ep, NULL, 0);
}

const struct coapmx_endpoint_stats *stack_stats(struct cell *cx, struct iut_endpoint *ep)
{
    return cell_caps(cx)->introspection ? coapmx_endpoint_stats(iut_stack(ep)) : NULL;
}

const struct coapmx_transport_stats *transport_stats(struct cell *cx, struct iut_endpoint *ep)
{
    return cell_caps(cx)->introspection ? &coapmx_endpoint_transport(iut_stack(ep))->stats : NULL;
}

void expect_nothing_sent(struct cell *cx, struct iut_endpoint *ep)
{
    const struct coapmx_transport_stats *ts = transport_stats(cx, ep);
    if (ts != NULL)
        CX_EXPECT_INT(cx, ts->datagrams_sent, 0, "datagrams the transport sent");
    CX_EXPECT_INT(cx, wire_count(cell_local_wire(cx), &(struct wire_filter)WIRE_FILTER_ANY), 0,
                  "datagrams on the wire (IUT side)");
}

uint64_t longest_first_timeout_ms(const struct coapmx_protocol *pr)
{
    return (uint64_t)pr->ack_timeout_ms * pr->ack_random_factor_milli / 1000;
}

uint64_t give_up_ms(const struct coapmx_protocol *pr)
{
    return longest_first_timeout_ms(pr) * ((2u << pr->max_retransmit) - 1);
}

/* Opens with `config`, which must fail with `code` and a message containing `says`, leaving no
 * descriptor behind. Returns the errno behind the failure. */
int expect_open_refused(struct cell *cx, const struct coapmx_transport_config *config,
                        enum coapmx_err code, const char *says, const char *what)
{
    int fds_before = cell_iut_descriptors(cx);
    struct coapmx_error err = {0};
    CX_EXPECT(cx, cell_open(cx, config, &err) == NULL, "%s was accepted", what);
    CX_EXPECT_ERR(cx, &err, code, what);
    cell_expect_message(cx, &err, says, what);
    CX_EXPECT_INT(cx, cell_iut_descriptors(cx), fds_before, "descriptors after the refusal");
    cell_observe(cx, what, "%s %s", coapmx_err_name(err.code), cell_errno_name(err.sys_errno));
    return err.sys_errno;
}

struct answer_goal {
    struct cell *cx;
    const struct sockaddr_storage *to;
    uint16_t mid;
    const struct wire_datagram *found;
};

static bool peer_answer_found(void *arg)
{
    struct answer_goal *g = arg;
    struct wire_filter f = WIRE_FILTER_ANY;
    f.dst = (const struct sockaddr *)g->to;
    f.coap_type = COAP_ACK;
    const struct wire_capture *cap = cell_wire(g->cx);
    for (size_t i = 0; (g->found = wire_find(cap, &f, i)) != NULL; i++)
        if (g->found->coap.mid == g->mid)
            return true;
    return false;
}

/* The IUT's answer to the peer's datagram with this MID (waiting for it). */
const struct coap_msg *peer_answer(struct cell *cx, const struct sockaddr_storage *to, uint16_t mid)
{
    struct answer_goal g = {.cx = cx, .to = to, .mid = mid};
    if (!cell_wait(cx, peer_answer_found, &g, cell_reaction_ms(cx)))
        cell_fail(cx, "no answer with MID 0x%04x on the wire", mid);
    return &g.found->coap;
}

uint8_t peer_answer_code(struct cell *cx, const struct sockaddr_storage *to, uint16_t mid)
{
    return peer_answer(cx, to, mid)->code;
}
