/* The shared message layer (RFC 7252 §4, §5) on top of one transport: message IDs, tokens,
 * CON retransmission, piggybacked and separate responses, NON, ping/RST, and request/response
 * matching on token and remote. Time comes only from the loop's clock. */
#ifndef COAPMX_ENDPOINT_H
#define COAPMX_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../transport.h"
#include "codec.h"

#define COAPMX_DATAGRAM_MAX 65536

struct coapmx_protocol {
    uint32_t ack_timeout_ms;          /* RFC 7252: 2000 */
    uint32_t ack_random_factor_milli; /* RFC 7252: 1500 (1.5) */
    uint32_t max_retransmit;          /* RFC 7252: 4 */
    uint32_t nstart;                  /* RFC 7252: 1 */
    uint32_t exchange_lifetime_ms;    /* RFC 7252: 247 s */
    uint32_t non_lifetime_ms;         /* how long a NON request waits: RFC 7252 145 s */
};

void coapmx_protocol_defaults(struct coapmx_protocol *p);
/* Each setting's name (as --protocol and the driver protocol spell it) and its place. */
struct coapmx_protocol_field {
    const char *name;
    size_t offset; /* of its uint32_t in struct coapmx_protocol */
};
extern const struct coapmx_protocol_field coapmx_protocol_fields[];
extern const size_t coapmx_protocol_field_count;
/* The setting a field names, in p. */
uint32_t *coapmx_protocol_value(struct coapmx_protocol *p, const struct coapmx_protocol_field *f);
/* Applies "name=value,..." (ack_timeout_ms, ack_random_factor_milli, max_retransmit, nstart,
 * exchange_lifetime_ms, non_lifetime_ms) on top of p. Returns 0, or -1 naming the bad part. */
int coapmx_protocol_parse(struct coapmx_protocol *p, const char *text, struct coapmx_error *err);

/* A received message with its remote; msg points into raw. */
struct coapmx_message {
    struct coapmx_remote remote;
    struct coap_msg msg;
    size_t raw_len;
    uint8_t raw[COAPMX_DATAGRAM_MAX];
};

/* A copy whose msg points into its own raw (raw holds the whole datagram). */
void coapmx_message_copy(struct coapmx_message *dst, const struct coapmx_message *src);

/* What a server handler fills in. Payload is copied when the reply is sent. */
struct coapmx_reply {
    uint8_t code;
    const uint8_t *payload;
    size_t payload_len;
    bool no_reply; /* stay silent */
};

typedef void (*coapmx_request_handler)(void *arg, const struct coapmx_message *request,
                                       struct coapmx_reply *reply);

struct coapmx_endpoint_config {
    struct coapmx_protocol protocol;
    uint64_t seed;                  /* MIDs, tokens, retransmission jitter */
    coapmx_request_handler handler; /* NULL: requests get 4.04 */
    void *handler_arg;
};

struct coapmx_endpoint_stats {
    uint64_t requests_sent;
    uint64_t retransmissions;
    uint64_t responses_matched;
    uint64_t responses_unmatched; /* right token wrong remote, or unknown token */
    uint64_t requests_served;
    uint64_t duplicates;           /* duplicate requests recognised (RFC 7252 §4.5) */
    uint64_t incomplete_transfers; /* Block1 blocks refused with 4.08 */
    uint64_t rst_sent;
    uint64_t rst_received;
};

/* One transmission of a request, on the loop's clock (for checking retransmission spacing). */
struct coapmx_transmission {
    uint16_t mid;
    uint64_t at_ms;
};
#define COAPMX_TRANSMISSION_LOG 64

struct coapmx_endpoint;

/* The endpoint takes over t->upper. */
struct coapmx_endpoint *coapmx_endpoint_new(struct coapmx_transport *t,
                                            const struct coapmx_endpoint_config *config,
                                            struct coapmx_error *err);
/* Fails every pending request with ESHUTDOWN and shuts the transport down (closing every
 * socket); later requests fail with ESHUTDOWN. */
void coapmx_endpoint_shutdown(struct coapmx_endpoint *ep);
/* Shuts down (if not yet) and frees the endpoint, not the transport. */
void coapmx_endpoint_free(struct coapmx_endpoint *ep);
const struct coapmx_endpoint_stats *coapmx_endpoint_stats(const struct coapmx_endpoint *ep);
struct coapmx_transport *coapmx_endpoint_transport(struct coapmx_endpoint *ep);
const struct coapmx_protocol *coapmx_endpoint_protocol(const struct coapmx_endpoint *ep);
/* The last COAPMX_TRANSMISSION_LOG request transmissions, oldest first. */
size_t coapmx_endpoint_transmissions(const struct coapmx_endpoint *ep,
                                     struct coapmx_transmission *out, size_t max);

struct coapmx_request {
    enum coap_type type; /* COAP_CON or COAP_NON; multicast destinations need NON */
    uint8_t method;
    const char *uri; /* coap://host[:port]/path?query */
    const uint8_t *payload;
    size_t payload_len;
    uint32_t collect_ms; /* group requests: how long responses are collected; 0: 5000 */
    /* Blockwise (RFC 7959): block size 16 << block_szx bytes, 0..6; 0 means 6 (1024). A
     * payload larger than a block goes as Block1; a Block2 response is fetched to the end and
     * delivered whole. */
    uint8_t block_szx;
    /* A relay (proxy) moving one block at a time: send this Block1/Block2 option (0: none) and
     * hand back each response as it is, without continuing the transfer. */
    uint16_t relay_block_option;
    uint32_t relay_block_value;
};

/* resp is NULL when err is set; both live only during the callback. A group request's callback
 * runs once per response (from any responder) and, when its window closes, once more with
 * both resp and err NULL. */
typedef void (*coapmx_response_cb)(void *arg, const struct coapmx_message *resp,
                                   const struct coapmx_error *err);

/* Starts a request. Errors known before sending (bad URI, resolution, multicast refusal,
 * shutdown) are returned here and the callback is never called. Returns a request id > 0. */
int64_t coapmx_request_start(struct coapmx_endpoint *ep, const struct coapmx_request *req,
                             coapmx_response_cb cb, void *arg, struct coapmx_error *err);

/* Pins the remote of a URI (a pool keeps its socket) until coapmx_endpoint_release: what a
 * proxy does for the duration of a blockwise transfer it relays. */
int coapmx_endpoint_hold(struct coapmx_endpoint *ep, const char *uri, struct coapmx_remote *out,
                         struct coapmx_error *err);
void coapmx_endpoint_release(struct coapmx_endpoint *ep, const struct coapmx_remote *remote);

/* Forgets a pending request without calling its callback. */
void coapmx_request_cancel(struct coapmx_endpoint *ep, int64_t request_id);

/* Runs the loop until the request completed or timeout_ms passed (ETIMEOUT). A convenience for
 * clients, the harness and `coapmx get`. On success *resp holds a copy of the response. */
int coapmx_request_wait(struct coapmx_endpoint *ep, const struct coapmx_request *req,
                        struct coapmx_message *resp, uint64_t timeout_ms, struct coapmx_error *err);

size_t coapmx_endpoint_pending(const struct coapmx_endpoint *ep);

/* Parsed URI: host lowercased, brackets removed. */
struct coapmx_uri {
    char host[256];
    uint16_t port;
    bool host_is_literal;
    char path[512];  /* without leading '/', segments separated by '/' */
    char query[512]; /* without '?', parameters separated by '&' */
};
int coapmx_uri_parse(const char *uri, struct coapmx_uri *out, struct coapmx_error *err);

#endif
