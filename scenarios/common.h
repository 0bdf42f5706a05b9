/* Helpers several scenario themes share. */
#ifndef COAPMX_SCENARIOS_COMMON_H
#define COAPMX_SCENARIOS_COMMON_H

#include <string.h>

#include "../harness/cell.h"

/* The nth request (any method) the peer received at its IPv4 or IPv6 address. Scenarios that
 * are not about the family must not presume it, so a family defect fails only family rows. */
const struct wire_datagram *nth_request_at_peer(struct cell *cx, const struct wire_capture *cap,
                                                size_t nth);
/* Whether nth_request_at_peer(cx, cap, nth) exists (without failing the cell). */
bool nth_request_exists(struct cell *cx, const struct wire_capture *cap, size_t nth);
uint16_t wire_src_port(const struct wire_datagram *dg);
/* Encodes a header-only message (token up to 8 bytes) into buf; returns its length. */
size_t encode_bare(struct cell *cx, enum coap_type type, uint8_t code, uint16_t mid,
                   const char *token, uint8_t *buf, size_t cap);
/* The client's address and port as the peer sees it, from its first request. */
/* The IUT's ACK to the peer's datagram with this MID, sent to `to` (waiting for it; the cell
 * fails without one), and its code. */
const struct coap_msg *peer_answer(struct cell *cx, const struct sockaddr_storage *to,
                                   uint16_t mid);
uint8_t peer_answer_code(struct cell *cx, const struct sockaddr_storage *to, uint16_t mid);
void client_seen_by_peer(struct cell *cx, struct sockaddr_storage *client,
                         struct sockaddr_storage *peer);
/* Whether a datagram's Uri-Path is `path`. */
bool has_path(const struct wire_datagram *dg, const char *path);
/* The value of a block option of a datagram (0 when absent). */
uint32_t block_of(const struct wire_datagram *dg, uint16_t number);
/* Requests to `path` at the peer, in order; all must leave from one source port (the key is
 * kept for the whole transfer). Writes each one's `option` value; returns the count. */
size_t block_requests(struct cell *cx, const struct wire_capture *cap, const char *path,
                      uint16_t option, uint32_t *values, size_t max);
/* When a CON nobody answers is given up (L1): (2^(MAX_RETRANSMIT+1) - 1) times the longest
 * first timeout, ACK_TIMEOUT * ACK_RANDOM_FACTOR. */
uint64_t longest_first_timeout_ms(const struct coapmx_protocol *pr);
uint64_t give_up_ms(const struct coapmx_protocol *pr);

/* Why a row does not apply to an IUT (NULL: it does), for scenario.not_applicable. */
const char *unless_serves(const struct iut_info *iut);
const char *unless_multicast(const struct iut_info *iut);
const char *unless_accepts_strangers(const struct iut_info *iut);
const char *unless_socket_pool(const struct iut_info *iut);
const char *unless_serves_on_client(const struct iut_info *iut);

/* The UDP sockets the endpoint's IUT has open. */
size_t socket_count(struct iut_endpoint *ep);
/* Our transports (caps.introspection) show their counters too: the endpoint's and its
 * transport's, or NULL for a third-party stack, whose evidence is the wire alone. */
const struct coapmx_endpoint_stats *stack_stats(struct cell *cx, struct iut_endpoint *ep);
const struct coapmx_transport_stats *transport_stats(struct cell *cx, struct iut_endpoint *ep);
/* Fails the cell unless nothing left the IUT: no datagram on the wire (and none counted). */
void expect_nothing_sent(struct cell *cx, struct iut_endpoint *ep);

/* Opens with `config`, which must fail with `code` and a message naming the cause (ours:
 * containing `says`), leaving no descriptor behind. Returns the errno behind the failure. */
int expect_open_refused(struct cell *cx, const struct coapmx_transport_config *config,
                        enum coapmx_err code, const char *says, const char *what);

/* Fails the cell unless the response carries exactly `text` as payload. */
void expect_payload(struct cell *cx, const struct coapmx_message *m, const char *text);

#endif
