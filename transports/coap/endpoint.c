/* The shared message layer. One endpoint per transport; it owns the transport's upper callbacks. */
#include "endpoint.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../addr.h"

/* Seams for the harness self-check: deliberately wrong builds of this file
 * (harness/selfcheck/layer_*.c) redefine these. Production builds use the defaults. */
#ifndef ENDPOINT_RETRANSMISSIONS
#define ENDPOINT_RETRANSMISSIONS(protocol) ((protocol)->max_retransmit)
#endif
#ifndef ENDPOINT_CHECKS_SOURCE
#define ENDPOINT_CHECKS_SOURCE 1 /* responses must come from the request's remote */
#endif
#ifndef ENDPOINT_SAME_DEDUP_KEY
#define ENDPOINT_SAME_DEDUP_KEY(served_key, remote_key) (strcmp(served_key, remote_key) == 0)
#endif

struct pending {
    struct pending *next;
    struct coapmx_endpoint *ep;
    int64_t id;
    struct coapmx_remote remote;
    enum coap_type type;
    uint16_t mid;
    uint8_t token[COAP_TOKEN_MAX];
    uint8_t token_len;
    uint8_t *datagram; /* kept for retransmission */
    size_t datagram_len;
    unsigned transmissions;
    uint64_t timeout_ms;
    uint64_t timer;
    coapmx_response_cb cb;
    void *arg;
    bool failing; /* selected by fail_matching */
    bool waiting; /* not sent yet: NSTART exchanges with its key are outstanding */
    uint32_t collect_ms;
    /* What every block request of the transfer is made of (RFC 7959). */
    struct coapmx_uri uri;
    uint8_t method;
    enum coap_type request_type;
    unsigned szx;    /* blocks of 16 << szx bytes */
    uint8_t *upload; /* the request payload (a copy) */
    size_t upload_len;
    size_t upload_sent;   /* acknowledged by 2.31 Continue */
    size_t upload_slice;  /* bytes in the block in flight */
    uint32_t next_block2; /* 0: no Block2 transfer under way */
    uint8_t *download;    /* Block2 payload assembled so far */
    size_t download_len;
    uint16_t relay_block_option; /* relays: one explicit block, no continuation */
    uint32_t relay_block_value;
};

#define COAPMX_COLLECT_DEFAULT_MS 5000

/* Values the options of a request point into: decoded Uri-Path and Uri-Query, the block. */
struct request_text { /* as large as coapmx_uri's path and query */
    char path[sizeof((struct coapmx_uri *)0)->path];
    char query[sizeof((struct coapmx_uri *)0)->query];
    uint8_t block[4];
};

static size_t block_size(unsigned szx);
static bool block_option(const struct coap_msg *msg, uint16_t number, uint32_t *num, bool *more,
                         unsigned *szx);
static int build_request(struct coapmx_endpoint *ep, struct pending *p, struct coap_msg *msg,
                         struct request_text *text, struct coapmx_error *err);
static int encode_request(struct coapmx_endpoint *ep, struct pending *p, const struct coap_msg *msg,
                          struct coapmx_error *err);

/* A request served recently, for recognising duplicates (RFC 7252 §4.5). */
struct served {
    char key[COAPMX_HOSTINFO_MAX]; /* the remote's key; "" for a free entry */
    uint16_t mid;
    uint64_t expires_ms;
    size_t len; /* 0: nothing to send again (NON, or no reply) */
    uint8_t *response;
};
#define DEDUP_ENTRIES 256 /* bounded: the oldest entry gives way */

/* A Block1 body being received (RFC 7959 §2.5), per remote and path. */
struct assembly {
    char key[COAPMX_HOSTINFO_MAX];
    char path[256];
    uint8_t *body; /* NULL: free */
    size_t len;
    uint64_t expires_ms;
};
#define ASSEMBLIES 8

struct coapmx_endpoint {
    struct coapmx_transport *t;
    struct assembly assemblies[ASSEMBLIES];
    size_t assembly_next;
    struct served served[DEDUP_ENTRIES];
    size_t served_next;
    struct coapmx_endpoint_config config;
    struct coapmx_endpoint_stats stats;
    struct pending *pending;
    int64_t next_request_id;
    uint64_t rng;
    uint16_t next_mid;
    bool shut_down;
    bool malformed_logged;
    struct coapmx_message *incoming;
    struct coapmx_transmission log[COAPMX_TRANSMISSION_LOG];
    size_t log_count; /* total ever; the log keeps the last ones */
    uint8_t out[COAPMX_DATAGRAM_MAX];
};

void coapmx_protocol_defaults(struct coapmx_protocol *p)
{
    p->ack_timeout_ms = 2000;
    p->ack_random_factor_milli = 1500;
    p->max_retransmit = 4;
    p->nstart = 1;
    p->exchange_lifetime_ms = 247000;
    p->non_lifetime_ms = 145000;
}

const struct coapmx_protocol_field coapmx_protocol_fields[] = {
    {"ack_timeout_ms", offsetof(struct coapmx_protocol, ack_timeout_ms)},
    {"ack_random_factor_milli", offsetof(struct coapmx_protocol, ack_random_factor_milli)},
    {"max_retransmit", offsetof(struct coapmx_protocol, max_retransmit)},
    {"nstart", offsetof(struct coapmx_protocol, nstart)},
    {"exchange_lifetime_ms", offsetof(struct coapmx_protocol, exchange_lifetime_ms)},
    {"non_lifetime_ms", offsetof(struct coapmx_protocol, non_lifetime_ms)},
};
const size_t coapmx_protocol_field_count =
    sizeof coapmx_protocol_fields / sizeof coapmx_protocol_fields[0];

uint32_t *coapmx_protocol_value(struct coapmx_protocol *p, const struct coapmx_protocol_field *f)
{
    return (uint32_t *)((char *)p + f->offset);
}

int coapmx_protocol_parse(struct coapmx_protocol *p, const char *text, struct coapmx_error *err)
{
    const struct coapmx_protocol_field *fields = coapmx_protocol_fields;
    while (*text != '\0') {
        size_t len = strcspn(text, ","), name_len = strcspn(text, "=");
        bool known = false;
        for (size_t i = 0; i < coapmx_protocol_field_count && !known; i++) {
            if (name_len >= len || strlen(fields[i].name) != name_len ||
                strncmp(text, fields[i].name, name_len) != 0)
                continue;
            char *end;
            unsigned long v = strtoul(text + name_len + 1, &end, 10);
            if (end != text + len || v == 0 || v > UINT32_MAX)
                return coapmx_fail(err, COAPMX_EINVAL, 0, "bad protocol value '%.*s'", (int)len,
                                   text);
            *coapmx_protocol_value(p, &fields[i]) = (uint32_t)v;
            known = true;
        }
        if (!known)
            return coapmx_fail(err, COAPMX_EINVAL, 0, "unknown protocol setting '%.*s'", (int)len,
                               text);
        text += len + (text[len] == ',');
    }
    if (p->ack_random_factor_milli < 1000)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "ack_random_factor_milli is at least 1000");
    return 0;
}

static void log_transmission(struct coapmx_endpoint *ep, uint16_t mid)
{
    ep->log[ep->log_count++ % COAPMX_TRANSMISSION_LOG] =
        (struct coapmx_transmission){.mid = mid, .at_ms = coapmx_loop_now(ep->t->loop)};
}

size_t coapmx_endpoint_transmissions(const struct coapmx_endpoint *ep,
                                     struct coapmx_transmission *out, size_t max)
{
    size_t kept = ep->log_count < COAPMX_TRANSMISSION_LOG ? ep->log_count : COAPMX_TRANSMISSION_LOG;
    size_t first = ep->log_count - kept, n = 0;
    for (size_t i = first; i < ep->log_count && n < max; i++)
        out[n++] = ep->log[i % COAPMX_TRANSMISSION_LOG];
    return n;
}

const struct coapmx_protocol *coapmx_endpoint_protocol(const struct coapmx_endpoint *ep)
{
    return &ep->config.protocol;
}

static uint64_t next_random(struct coapmx_endpoint *ep)
{
    /* xorshift64*: reproducible from the seed, which is all the protocol needs. */
    ep->rng ^= ep->rng >> 12;
    ep->rng ^= ep->rng << 25;
    ep->rng ^= ep->rng >> 27;
    return ep->rng * 0x2545F4914F6CDD1DULL;
}

/* ---- sending ---- */

static int send_msg(struct coapmx_endpoint *ep, const struct coapmx_remote *to,
                    const struct coap_msg *msg, struct coapmx_error *err)
{
    size_t len;
    enum coap_status st = coap_encode(msg, ep->out, sizeof ep->out, &len);
    if (st != COAP_OK)
        return coapmx_fail(err, COAPMX_ETOOBIG, 0, "cannot encode message for %s: %s", to->hostinfo,
                           coap_status_str(st));
    return coapmx_transport_send(ep->t, to, ep->out, len, err);
}

static void send_empty(struct coapmx_endpoint *ep, const struct coapmx_remote *to,
                       enum coap_type type, uint16_t mid)
{
    struct coap_msg msg;
    struct coapmx_error ignored;
    coap_msg_init(&msg, type, COAP_EMPTY, mid);
    if (send_msg(ep, to, &msg, &ignored) == 0 && type == COAP_RST)
        ep->stats.rst_sent++;
}

/* ---- pending requests ---- */

static void unlink_pending(struct coapmx_endpoint *ep, struct pending *p)
{
    for (struct pending **pp = &ep->pending; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    }
    if (p->timer != 0)
        coapmx_loop_cancel(ep->t->loop, p->timer);
    if (!ep->t->shut_down && ep->t->ops->release != NULL)
        ep->t->ops->release(ep->t, &p->remote);
}

/* NSTART counts confirmable exchanges still waiting for an ACK or response (RFC 7252 §4.7). */
static bool limited_by_nstart(const struct pending *p)
{
    return p->type == COAP_CON && !p->remote.is_multicast;
}

/* Whether NSTART exchanges with remote's key are outstanding (counting stops there). */
static bool nstart_reached(const struct coapmx_endpoint *ep, const struct coapmx_remote *remote)
{
    size_t n = 0;
    for (const struct pending *p = ep->pending; p != NULL && n < ep->config.protocol.nstart;
         p = p->next)
        n += limited_by_nstart(p) && !p->waiting && coapmx_remote_same(&p->remote, remote);
    return n >= ep->config.protocol.nstart;
}

static int transmit_first(struct coapmx_endpoint *ep, struct pending *p, struct coapmx_error *err);
static void finish(struct coapmx_endpoint *ep, struct pending *p, const struct coapmx_message *resp,
                   const struct coapmx_error *err);

/* An exchange with `remote` ended or was acknowledged: the oldest request waiting for it goes. */
static void start_next_waiting(struct coapmx_endpoint *ep, const struct coapmx_remote *remote)
{
    struct pending *oldest = NULL;
    if (ep->shut_down || nstart_reached(ep, remote))
        return;
    for (struct pending *p = ep->pending; p != NULL; p = p->next)
        if (p->waiting && !p->failing && coapmx_remote_same(&p->remote, remote))
            oldest = p; /* the list is newest first */
    if (oldest == NULL)
        return;
    oldest->waiting = false;
    struct coapmx_error err;
    if (transmit_first(ep, oldest, &err) != 0)
        finish(ep, oldest, NULL, &err);
}

static void finish(struct coapmx_endpoint *ep, struct pending *p, const struct coapmx_message *resp,
                   const struct coapmx_error *err)
{
    bool frees_slot = limited_by_nstart(p) && !p->waiting;
    struct coapmx_remote remote = p->remote;
    unlink_pending(ep, p);
    if (p->cb != NULL)
        p->cb(p->arg, resp, err);
    free(p->datagram);
    free(p->upload);
    free(p->download);
    free(p);
    if (frees_slot)
        start_next_waiting(ep, &remote);
}

/* Callbacks may cancel or start requests, so the victims are chosen first and then taken from
 * the list one at a time; requests started by a callback are not failed. */
static void fail_matching(struct coapmx_endpoint *ep, const struct coapmx_remote *about,
                          const struct coapmx_error *err)
{
    for (struct pending *p = ep->pending; p != NULL; p = p->next)
        p->failing = about == NULL || coapmx_remote_same(&p->remote, about);
    for (;;) {
        struct pending *victim = ep->pending;
        while (victim != NULL && !victim->failing)
            victim = victim->next;
        if (victim == NULL)
            return;
        finish(ep, victim, NULL, err);
    }
}

static void on_request_timer(void *arg)
{
    struct pending *p = arg;
    struct coapmx_endpoint *ep = p->ep;
    struct coapmx_error err;
    p->timer = 0;
    if (p->type == COAP_CON && p->transmissions <= ENDPOINT_RETRANSMISSIONS(&ep->config.protocol)) {
        if (coapmx_transport_send(ep->t, &p->remote, p->datagram, p->datagram_len, &err) != 0) {
            finish(ep, p, NULL, &err);
            return;
        }
        p->transmissions++;
        ep->stats.retransmissions++;
        log_transmission(ep, p->mid);
        p->timeout_ms *= 2;
        p->timer = coapmx_loop_timer(ep->t->loop, p->timeout_ms, on_request_timer, p);
        return;
    }
    if (p->remote.is_multicast) {
        finish(ep, p, NULL, NULL); /* the collection window closed */
        return;
    }
    if (p->type == COAP_CON)
        coapmx_fail(&err, COAPMX_ETIMEOUT, 0,
                    "no response from %s after %u transmissions of message 0x%04x",
                    p->remote.hostinfo, p->transmissions, p->mid);
    else
        coapmx_fail(&err, COAPMX_ETIMEOUT, 0, "no response from %s to NON message 0x%04x",
                    p->remote.hostinfo, p->mid);
    finish(ep, p, NULL, &err);
}

static uint64_t first_timeout(struct coapmx_endpoint *ep)
{
    const struct coapmx_protocol *pr = &ep->config.protocol;
    uint64_t spread = (uint64_t)pr->ack_timeout_ms * (pr->ack_random_factor_milli - 1000) / 1000;
    return pr->ack_timeout_ms + next_random(ep) % (spread + 1);
}

/* ---- receiving ---- */

static struct pending *find_response_owner(struct coapmx_endpoint *ep,
                                           const struct coapmx_message *m)
{
    for (struct pending *p = ep->pending; p != NULL; p = p->next) {
        bool token_ok =
            p->token_len == m->msg.token_len && memcmp(p->token, m->msg.token, p->token_len) == 0;
        if (!token_ok) /* the cheap test first: tokens are unique per key */
            continue;
        /* A group request is answered from the responders' unicast addresses. */
        bool remote_ok = p->remote.is_multicast || !ENDPOINT_CHECKS_SOURCE ||
                         coapmx_remote_same(&p->remote, &m->remote);
        bool mid_ok = m->msg.type != COAP_ACK || p->mid == m->msg.mid;
        if (token_ok && remote_ok && mid_ok)
            return p;
    }
    return NULL;
}

static struct pending *find_by_mid(struct coapmx_endpoint *ep, const struct coapmx_remote *from,
                                   uint16_t mid)
{
    for (struct pending *p = ep->pending; p != NULL; p = p->next)
        if (p->mid == mid && coapmx_remote_same(&p->remote, from))
            return p;
    return NULL;
}

static void handle_empty(struct coapmx_endpoint *ep, const struct coapmx_message *m)
{
    struct pending *p;
    switch (m->msg.type) {
    case COAP_CON: /* CoAP ping */
        send_empty(ep, &m->remote, COAP_RST, m->msg.mid);
        break;
    case COAP_ACK: /* a separate response follows; stop retransmitting */
        if ((p = find_by_mid(ep, &m->remote, m->msg.mid)) != NULL && p->timer != 0) {
            coapmx_loop_cancel(ep->t->loop, p->timer);
            p->timer = coapmx_loop_timer(ep->t->loop, ep->config.protocol.non_lifetime_ms,
                                         on_request_timer, p);
            p->type = COAP_NON; /* from now on, waiting is like waiting for a NON answer */
            start_next_waiting(ep, &p->remote);
        }
        break;
    case COAP_RST:
        ep->stats.rst_received++;
        if ((p = find_by_mid(ep, &m->remote, m->msg.mid)) != NULL) {
            struct coapmx_error err;
            coapmx_fail(&err, COAPMX_ERESET, 0, "%s reset message 0x%04x", m->remote.hostinfo,
                        m->msg.mid);
            finish(ep, p, NULL, &err);
        }
        break;
    case COAP_NON:
        break;
    }
}

/* Sends the transfer's next block request in place of the one just answered. */
static void send_next_block(struct coapmx_endpoint *ep, struct pending *p)
{
    struct coap_msg msg;
    struct request_text text;
    struct coapmx_error err;
    if (p->timer != 0)
        coapmx_loop_cancel(ep->t->loop, p->timer);
    p->timer = 0;
    free(p->datagram);
    p->datagram = NULL;
    if (build_request(ep, p, &msg, &text, &err) != 0 || encode_request(ep, p, &msg, &err) != 0 ||
        transmit_first(ep, p, &err) != 0)
        finish(ep, p, NULL, &err);
}

static bool block_option(const struct coap_msg *msg, uint16_t number, uint32_t *num, bool *more,
                         unsigned *szx)
{
    const struct coap_option *o = coap_msg_find_option(msg, number, NULL);
    if (o == NULL || o->length > 3)
        return false;
    uint32_t v = coap_option_uint(o);
    *num = v >> 4;
    *more = (v & 8) != 0;
    *szx = v & 7;
    return *szx < 7; /* 7 is reserved (BERT over UDP is not a thing) */
}

/* Delivers a finished download: the last response with the whole body as its payload. */
static void finish_download(struct coapmx_endpoint *ep, struct pending *p,
                            const struct coapmx_message *last)
{
    struct coapmx_message *whole = malloc(sizeof *whole);
    struct coap_msg msg = last->msg;
    struct coapmx_error err;
    size_t len;
    msg.payload = p->download;
    msg.payload_len = p->download_len;
    if (whole == NULL || coap_encode(&msg, whole->raw, sizeof whole->raw, &len) != COAP_OK) {
        coapmx_fail(&err, COAPMX_ETOOBIG, 0, "a %zu-byte body does not fit one message",
                    p->download_len);
        finish(ep, p, NULL, &err);
    } else {
        whole->remote = last->remote;
        whole->raw_len = len;
        coap_parse(whole->raw, len, &whole->msg);
        finish(ep, p, whole, NULL);
    }
    free(whole);
}

/* RFC 7959 on the client: the next Block1 after 2.31 Continue, the next Block2 while the
 * server has more. Returns false when the response ends the transfer as it is. */
static bool continue_transfer(struct coapmx_endpoint *ep, struct pending *p,
                              const struct coapmx_message *m)
{
    uint32_t num;
    bool more;
    unsigned szx;
    if (p->relay_block_option != 0)
        return false; /* the relay moves the blocks itself */
    if (m->msg.code == COAP_CONTINUE && block_option(&m->msg, COAP_OPT_BLOCK1, &num, &more, &szx) &&
        p->upload_slice > 0 && p->upload_sent + p->upload_slice < p->upload_len) {
        p->upload_sent += p->upload_slice;
        send_next_block(ep, p);
        return true;
    }
    if (!block_option(&m->msg, COAP_OPT_BLOCK2, &num, &more, &szx) ||
        COAP_CODE_CLASS(m->msg.code) != 2)
        return false;
    struct coapmx_error err;
    size_t offset = (size_t)num * block_size(szx), len = m->msg.payload_len;
    uint8_t *bigger = offset == p->download_len && offset + len <= COAPMX_DATAGRAM_MAX
                          ? realloc(p->download, offset + len + 1)
                          : NULL;
    if (bigger == NULL) {
        coapmx_fail(&err, COAPMX_EINVAL, 0, "Block2 %u of %zu bytes does not follow %zu bytes", num,
                    len, p->download_len);
        finish(ep, p, NULL, &err);
        return true;
    }
    if (len > 0) /* a block without payload has none to copy (payload is NULL) */
        memcpy(bigger + offset, m->msg.payload, len);
    p->download = bigger;
    p->download_len = offset + len;
    if (!more) {
        finish_download(ep, p, m);
        return true;
    }
    p->szx = szx; /* the server's block size wins */
    p->next_block2 = num + 1;
    send_next_block(ep, p);
    return true;
}

static void handle_response(struct coapmx_endpoint *ep, const struct coapmx_message *m)
{
    struct pending *p = find_response_owner(ep, m);
    if (m->msg.type == COAP_CON)
        send_empty(ep, &m->remote, p != NULL ? COAP_ACK : COAP_RST, m->msg.mid);
    if (p == NULL) {
        ep->stats.responses_unmatched++;
        return;
    }
    ep->stats.responses_matched++;
    if (p->remote.is_multicast) {
        if (p->cb != NULL)
            p->cb(p->arg, m, NULL); /* more may come until the window closes */
        return;
    }
    if (!continue_transfer(ep, p, m))
        finish(ep, p, m, NULL);
}

static struct served *find_served(struct coapmx_endpoint *ep, const struct coapmx_remote *from,
                                  uint16_t mid)
{
    uint64_t now = coapmx_loop_now(ep->t->loop);
    for (size_t i = 0; i < DEDUP_ENTRIES; i++) {
        struct served *s = &ep->served[i];
        if (s->key[0] != '\0' && s->mid == mid && s->expires_ms > now &&
            ENDPOINT_SAME_DEDUP_KEY(s->key, from->key))
            return s;
    }
    return NULL;
}

static void remember_served(struct coapmx_endpoint *ep, const struct coapmx_message *m,
                            const uint8_t *response, size_t len)
{
    struct served *s = &ep->served[ep->served_next++ % DEDUP_ENTRIES];
    const struct coapmx_protocol *pr = &ep->config.protocol;
    free(s->response);
    memset(s, 0, sizeof *s);
    snprintf(s->key, sizeof s->key, "%s", m->remote.key);
    s->mid = m->msg.mid;
    s->expires_ms = coapmx_loop_now(ep->t->loop) +
                    (m->msg.type == COAP_CON ? pr->exchange_lifetime_ms : pr->non_lifetime_ms);
    if (len > 0 && (s->response = malloc(len)) != NULL) {
        memcpy(s->response, response, len);
        s->len = len;
    }
}

/* A duplicate CON gets the same response again, byte for byte; a duplicate NON nothing. */
static bool answered_duplicate(struct coapmx_endpoint *ep, const struct coapmx_message *m)
{
    struct served *s = find_served(ep, &m->remote, m->msg.mid);
    if (s == NULL)
        return false;
    ep->stats.duplicates++;
    struct coapmx_error ignored;
    if (s->len > 0)
        coapmx_transport_send(ep->t, &m->remote, s->response, s->len, &ignored);
    return true;
}

/* Answers a request (piggybacked for CON) and remembers the answer for duplicates. A Block1
 * option, when given, is echoed (RFC 7959 §2.3). */
static void send_reply(struct coapmx_endpoint *ep, const struct coapmx_message *m,
                       const struct coapmx_reply *reply, const struct coap_option *block1)
{
    struct coap_msg resp;
    size_t len = 0;
    bool piggyback = m->msg.type == COAP_CON;
    coap_msg_init(&resp, piggyback ? COAP_ACK : COAP_NON, reply->code,
                  piggyback ? m->msg.mid : ep->next_mid++);
    coap_msg_set_token(&resp, m->msg.token, m->msg.token_len);
    if (block1 != NULL)
        coap_msg_add_option(&resp, COAP_OPT_BLOCK1, block1->value, block1->length);
    resp.payload = reply->payload;
    resp.payload_len = reply->payload_len;
    struct coapmx_error ignored;
    if (coap_encode(&resp, ep->out, sizeof ep->out, &len) != COAP_OK)
        return;
    coapmx_transport_send(ep->t, &m->remote, ep->out, len, &ignored);
    remember_served(ep, m, piggyback ? ep->out : NULL, piggyback ? len : 0);
}

static struct assembly *find_assembly(struct coapmx_endpoint *ep, const struct coapmx_message *m,
                                      const char *path)
{
    uint64_t now = coapmx_loop_now(ep->t->loop);
    for (size_t i = 0; i < ASSEMBLIES; i++) {
        struct assembly *a = &ep->assemblies[i];
        if (a->body != NULL && a->expires_ms > now && strcmp(a->key, m->remote.key) == 0 &&
            strcmp(a->path, path) == 0)
            return a;
    }
    return NULL;
}

static struct assembly *new_assembly(struct coapmx_endpoint *ep, const struct coapmx_message *m,
                                     const char *path)
{
    struct assembly *a = &ep->assemblies[ep->assembly_next++ % ASSEMBLIES];
    free(a->body);
    memset(a, 0, sizeof *a);
    if ((a->body = malloc(COAPMX_DATAGRAM_MAX)) == NULL)
        return NULL; /* LCOV_EXCL_LINE: OutOfMemory */
    snprintf(a->key, sizeof a->key, "%s", m->remote.key);
    snprintf(a->path, sizeof a->path, "%s", path);
    a->expires_ms = coapmx_loop_now(ep->t->loop) + ep->config.protocol.exchange_lifetime_ms;
    return a;
}

/* Hands the handler one request carrying the whole reassembled body. */
static void serve_whole(struct coapmx_endpoint *ep, const struct coapmx_message *last,
                        struct assembly *a, const struct coap_option *block1)
{
    struct coapmx_message *whole = malloc(sizeof *whole);
    struct coap_msg msg = last->msg;
    size_t len;
    msg.payload = a->body;
    msg.payload_len = a->len;
    struct coapmx_reply reply = {.code = COAP_REQUEST_ENTITY_TOO_LARGE};
    if (whole != NULL && coap_encode(&msg, whole->raw, sizeof whole->raw, &len) == COAP_OK) {
        whole->remote = last->remote;
        whole->raw_len = len;
        coap_parse(whole->raw, len, &whole->msg);
        reply.code = COAP_NOT_FOUND;
        if (ep->config.handler != NULL)
            ep->config.handler(ep->config.handler_arg, whole, &reply);
        ep->stats.requests_served++;
    }
    free(a->body);
    a->body = NULL;
    if (!reply.no_reply)
        send_reply(ep, last, &reply, block1);
    free(whole);
}

/* RFC 7959 on the server: blocks of one body arrive in order from one remote; anything else is
 * 4.08 Request Entity Incomplete. Returns false when the request carries no Block1. */
static bool serve_block1(struct coapmx_endpoint *ep, const struct coapmx_message *m)
{
    uint32_t num;
    bool more;
    unsigned szx;
    const struct coap_option *block1 = coap_msg_find_option(&m->msg, COAP_OPT_BLOCK1, NULL);
    if (block1 == NULL)
        return false;
    if (!block_option(&m->msg, COAP_OPT_BLOCK1, &num, &more, &szx)) {
        /* Longer than 3 bytes, or the reserved SZX 7: "MUST lead to a 4.00" (RFC 7959 §2.2). */
        struct coapmx_reply bad = {.code = COAP_BAD_REQUEST};
        send_reply(ep, m, &bad, NULL);
        return true;
    }
    char path[256];
    coap_msg_join_options(&m->msg, COAP_OPT_URI_PATH, '/', path, sizeof path);
    struct assembly *a = num == 0 ? new_assembly(ep, m, path) : find_assembly(ep, m, path);
    size_t offset = (size_t)num * block_size(szx), len = m->msg.payload_len;
    struct coapmx_reply reply = {.code = COAP_REQUEST_ENTITY_INCOMPLETE};
    if (a == NULL || a->len != offset) {
        ep->stats.incomplete_transfers++;
        send_reply(ep, m, &reply, NULL);
        return true;
    }
    if (offset + len > COAPMX_DATAGRAM_MAX) {
        reply.code = COAP_REQUEST_ENTITY_TOO_LARGE;
        free(a->body);
        a->body = NULL;
        send_reply(ep, m, &reply, NULL);
        return true;
    }
    if (len > 0) /* a block without payload has none to copy (payload is NULL) */
        memcpy(a->body + offset, m->msg.payload, len);
    a->len = offset + len;
    if (!more) {
        serve_whole(ep, m, a, block1);
        return true;
    }
    reply.code = COAP_CONTINUE;
    send_reply(ep, m, &reply, block1);
    return true;
}

/* The critical options (odd numbers) this server acts on. The Uri-Host and Uri-Port of any
 * name are taken as its own. */
static bool is_unrecognised_critical(uint16_t number)
{
    switch (number) {
    case COAP_OPT_URI_HOST:
    case COAP_OPT_URI_PORT:
    case COAP_OPT_URI_PATH:
    case COAP_OPT_URI_QUERY:
    case COAP_OPT_BLOCK2:
    case COAP_OPT_BLOCK1:
        return false;
    default:
        return number % 2 == 1;
    }
}

/* RFC 7252 §5.4.1: a request with a critical option the server does not know is not served:
 * a CON gets 4.02 Bad Option, a NON is rejected (ignored). */
static bool refused_bad_option(struct coapmx_endpoint *ep, const struct coapmx_message *m)
{
    for (size_t i = 0; i < m->msg.option_count; i++) {
        if (!is_unrecognised_critical(m->msg.options[i].number))
            continue;
        if (m->msg.type == COAP_CON) {
            struct coapmx_reply bad = {.code = COAP_BAD_OPTION};
            send_reply(ep, m, &bad, NULL);
        }
        return true;
    }
    return false;
}

static void handle_request(struct coapmx_endpoint *ep, const struct coapmx_message *m)
{
    if (m->msg.type != COAP_CON && m->msg.type != COAP_NON)
        return; /* requests in ACK or RST are ignored (RFC 7252 §4.2, §4.3) */
    if (answered_duplicate(ep, m) || refused_bad_option(ep, m) || serve_block1(ep, m))
        return;
    struct coapmx_reply reply = {.code = COAP_NOT_FOUND};
    if (ep->config.handler != NULL)
        ep->config.handler(ep->config.handler_arg, m, &reply);
    ep->stats.requests_served++;
    if (reply.no_reply) {
        remember_served(ep, m, NULL, 0);
        return;
    }
    send_reply(ep, m, &reply, NULL);
}

/* A transport reads at most its receive buffer, which is never larger than a message's raw. */
_Static_assert(COAPMX_RX_BUFFER_MAX <= sizeof((struct coapmx_message *)0)->raw,
               "a received datagram must fit a message");

static void on_datagram(void *arg, const struct coapmx_remote *from, const uint8_t *buf, size_t len)
{
    struct coapmx_endpoint *ep = arg;
    struct coapmx_message *m = ep->incoming;
    m->remote = *from;
    memcpy(m->raw, buf, len);
    m->raw_len = len;
    enum coap_status st = coap_parse(m->raw, len, &m->msg);
    if (st != COAP_OK) {
        ep->t->stats.dropped_malformed++;
        if (!ep->malformed_logged)
            fprintf(stderr,
                    "coapmx: dropping unparsable datagram from %s: %s (later ones are "
                    "only counted)\n",
                    from->hostinfo, coap_status_str(st));
        ep->malformed_logged = true;
        return;
    }
    unsigned code_class = COAP_CODE_CLASS(m->msg.code);
    if (m->msg.code == COAP_EMPTY)
        handle_empty(ep, m);
    else if (code_class == 0)
        handle_request(ep, m);
    else if (code_class == 2 || code_class == 4 || code_class == 5)
        handle_response(ep, m);
    else if (m->msg.type == COAP_CON) /* reserved classes 1, 6, 7 */
        send_empty(ep, &m->remote, COAP_RST, m->msg.mid);
}

static void on_transport_error(void *arg, const struct coapmx_remote *about,
                               const struct coapmx_error *err)
{
    fail_matching(arg, about, err);
}

/* ---- lifecycle ---- */

struct coapmx_endpoint *coapmx_endpoint_new(struct coapmx_transport *t,
                                            const struct coapmx_endpoint_config *config,
                                            struct coapmx_error *err)
{
    struct coapmx_endpoint *ep = calloc(1, sizeof *ep);
    if (ep == NULL || (ep->incoming = malloc(sizeof *ep->incoming)) == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        free(ep);
        coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory creating an endpoint");
        return NULL;
        /* LCOV_EXCL_STOP */
    }
    ep->t = t;
    ep->config = *config;
    if (ep->config.protocol.ack_timeout_ms == 0)
        coapmx_protocol_defaults(&ep->config.protocol);
    ep->rng = config->seed ? config->seed : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
    ep->next_mid = (uint16_t)next_random(ep);
    t->upper = (struct coapmx_transport_upper){
        .datagram = on_datagram, .error = on_transport_error, .arg = ep};
    return ep;
}

void coapmx_endpoint_shutdown(struct coapmx_endpoint *ep)
{
    if (ep->shut_down)
        return;
    ep->shut_down = true;
    struct coapmx_error err;
    coapmx_fail(&err, COAPMX_ESHUTDOWN, 0, "endpoint on %s was shut down", ep->t->ops->name);
    fail_matching(ep, NULL, &err);
    coapmx_transport_shutdown(ep->t);
}

void coapmx_endpoint_free(struct coapmx_endpoint *ep)
{
    if (ep == NULL)
        return;
    coapmx_endpoint_shutdown(ep);
    for (size_t i = 0; i < DEDUP_ENTRIES; i++)
        free(ep->served[i].response);
    for (size_t i = 0; i < ASSEMBLIES; i++)
        free(ep->assemblies[i].body);
    free(ep->incoming);
    free(ep);
}

const struct coapmx_endpoint_stats *coapmx_endpoint_stats(const struct coapmx_endpoint *ep)
{
    return &ep->stats;
}

struct coapmx_transport *coapmx_endpoint_transport(struct coapmx_endpoint *ep)
{
    return ep->t;
}

size_t coapmx_endpoint_pending(const struct coapmx_endpoint *ep)
{
    size_t n = 0;
    for (const struct pending *p = ep->pending; p != NULL; p = p->next)
        n++;
    return n;
}

/* ---- URIs ---- */

/* Takes a char as it comes from a string: bytes above 0x7f must not reach isdigit as negative
 * numbers. */
static int hex_value(char text_char)
{
    int c = (unsigned char)text_char;
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Whether every '%' of text starts two hex digits (RFC 3986 §2.1). */
static bool escapes_valid(const char *text)
{
    for (const char *c = strchr(text, '%'); c != NULL; c = strchr(c + 1, '%'))
        if (hex_value(c[1]) < 0 || hex_value(c[2]) < 0)
            return false;
    return true;
}

/* Percent-decodes src[0..len), whose escapes are valid, into dst (room for len + 1 bytes);
 * returns the decoded length. */
static size_t percent_decode(const char *src, size_t len, char *dst)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            c = hex_value(src[i + 1]) * 16 + hex_value(src[i + 2]);
            i += 2;
        }
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    return n;
}

static int copy_part(const char *start, const char *end, char *dst, size_t cap)
{
    size_t len = (size_t)(end - start);
    if (len >= cap)
        return -1;
    memcpy(dst, start, len);
    dst[len] = '\0';
    return 0;
}

int coapmx_uri_parse(const char *uri, struct coapmx_uri *out, struct coapmx_error *err)
{
    memset(out, 0, sizeof *out);
    if (strncasecmp(uri, "coap://", 7) != 0)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "not a coap:// URI: '%s'", uri);
    const char *authority = uri + 7;
    const char *authority_end = authority + strcspn(authority, "/?#");
    char hostinfo[COAPMX_HOSTINFO_MAX];
    bool copied = authority_end != authority &&
                  copy_part(authority, authority_end, hostinfo, sizeof hostinfo) == 0;
    /* An empty port is the default one (RFC 3986 §3.2.3: port = *DIGIT). */
    size_t n = copied ? strlen(hostinfo) : 0;
    if (n > 1 && hostinfo[n - 1] == ':' && (hostinfo[0] != '[' || hostinfo[n - 2] == ']'))
        hostinfo[n - 1] = '\0';
    if (!copied || coapmx_hostinfo_parse(hostinfo, COAP_DEFAULT_PORT, out->host, sizeof out->host,
                                         &out->port) != 0)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "bad host or port in URI '%s'", uri);
    if (out->port == 0)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "port 0 in URI '%s'", uri);
    /* An IPv6 zone is written "%25<zone>" (RFC 6874); the zone keeps its case. */
    char *zone = strchr(out->host, '%');
    if (zone != NULL) {
        if (strncmp(zone, "%25", 3) != 0 || zone[3] == '\0')
            return coapmx_fail(err, COAPMX_EINVAL, 0,
                               "an IPv6 zone is written %%25<zone> in URI '%s'", uri);
        memmove(zone + 1, zone + 3, strlen(zone + 3) + 1);
    }
    for (char *c = out->host; *c && c != zone; c++)
        *c = (char)tolower((unsigned char)*c);
    out->host_is_literal = coapmx_is_ip_literal(out->host);
    const char *path = authority_end, *path_end = path + strcspn(path, "?#");
    if (*path == '/')
        path++;
    if (path_end < path || copy_part(path, path_end, out->path, sizeof out->path) != 0)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "path too long in URI '%s'", uri);
    if (*path_end == '?') {
        const char *query = path_end + 1;
        if (copy_part(query, query + strcspn(query, "#"), out->query, sizeof out->query) != 0)
            return coapmx_fail(err, COAPMX_EINVAL, 0, "query too long in URI '%s'", uri);
    }
    if (!escapes_valid(out->path) || !escapes_valid(out->query))
        return coapmx_fail(err, COAPMX_EINVAL, 0,
                           "a '%%' not followed by two hex digits in URI '%s'", uri);
    return 0;
}

/* ---- requests ---- */

/* Adds one option per separator-delimited, percent-decoded part, empty parts included ("a/"
 * is two Uri-Path options, RFC 7252 §6.4); an empty text adds none. Values live in storage,
 * which is as large as the text's buffer: decoding never lengthens a part. */
static int add_split_options(struct coap_msg *msg, uint16_t number, const char *text, char sep,
                             char *storage)
{
    size_t used = 0;
    if (*text == '\0')
        return 0;
    for (;;) {
        size_t len = strcspn(text, (char[]){sep, '\0'});
        size_t decoded = percent_decode(text, len, storage + used);
        if (coap_msg_add_option(msg, number, storage + used, decoded) != COAP_OK)
            return -1;
        used += decoded + 1;
        if (text[len] != sep)
            return 0;
        text += len + 1;
    }
}

static size_t block_size(unsigned szx)
{
    return (size_t)16 << szx;
}

static uint32_t block_value(uint32_t num, bool more, unsigned szx)
{
    return num << 4 | (more ? 8u : 0u) | szx;
}

/* The transfer's next request: the whole payload, the next Block1 slice while an upload lasts,
 * or the next Block2 of a download. Fresh MID and token each time. */
static int build_request(struct coapmx_endpoint *ep, struct pending *p, struct coap_msg *msg,
                         struct request_text *text, struct coapmx_error *err)
{
    const struct coapmx_uri *uri = &p->uri;
    uint8_t *block = text->block; /* outlives this function, as the encoder reads it later */
    size_t block_len = 0;
    coap_msg_init(msg, p->request_type, p->method, ep->next_mid++);
    uint64_t r = next_random(ep);
    p->token_len = 8;
    memcpy(p->token, &r, sizeof r);
    coap_msg_set_token(msg, p->token, p->token_len);
    uint16_t block_option = 0;
    size_t bs = block_size(p->szx);
    msg->payload = p->upload;
    msg->payload_len = p->upload_len;
    if (p->relay_block_option != 0) {
        block_option = p->relay_block_option;
        block_len = coap_uint_encode(p->relay_block_value, block);
    } else if (p->next_block2 > 0) {
        block_option = COAP_OPT_BLOCK2;
        block_len = coap_uint_encode(block_value(p->next_block2, false, p->szx), block);
        msg->payload_len = 0;
    } else if (p->upload_len > bs) {
        size_t left = p->upload_len - p->upload_sent;
        p->upload_slice = left > bs ? bs : left;
        bool more = p->upload_sent + p->upload_slice < p->upload_len;
        block_option = COAP_OPT_BLOCK1;
        block_len =
            coap_uint_encode(block_value((uint32_t)(p->upload_sent / bs), more, p->szx), block);
        msg->payload = p->upload + p->upload_sent;
        msg->payload_len = p->upload_slice;
    }
    /* Uri-Host only for names: an IP literal is implied by the destination (RFC 7252 §6.4). */
    if ((!uri->host_is_literal &&
         coap_msg_add_option(msg, COAP_OPT_URI_HOST, uri->host, strlen(uri->host)) != COAP_OK) ||
        add_split_options(msg, COAP_OPT_URI_PATH, uri->path, '/', text->path) != 0 ||
        add_split_options(msg, COAP_OPT_URI_QUERY, uri->query, '&', text->query) != 0 ||
        (block_option != 0 && coap_msg_add_option(msg, block_option, block, block_len) != COAP_OK))
        return coapmx_fail(err, COAPMX_EINVAL, 0,
                           "too many path segments and query parameters for %s: a message holds "
                           "at most %d options",
                           uri->host, COAP_OPTIONS_MAX);
    p->mid = msg->mid;
    p->type = p->request_type;
    return 0;
}

/* Copies what a transfer needs from the request. */
static int remember_request(struct pending *p, const struct coapmx_request *req,
                            const struct coapmx_uri *uri, struct coapmx_error *err)
{
    p->uri = *uri;
    p->method = req->method;
    p->request_type = req->type;
    p->szx = req->block_szx > 0 && req->block_szx <= 6 ? req->block_szx : 6;
    p->relay_block_option = req->relay_block_option;
    p->relay_block_value = req->relay_block_value;
    p->collect_ms = req->collect_ms ? req->collect_ms : COAPMX_COLLECT_DEFAULT_MS;
    if (req->payload_len == 0)
        return 0;
    if ((p->upload = malloc(req->payload_len)) == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory copying a payload");
        /* LCOV_EXCL_STOP */
    }
    memcpy(p->upload, req->payload, req->payload_len);
    p->upload_len = req->payload_len;
    return 0;
}

static int check_destination(const struct coapmx_request *req, const struct coapmx_remote *remote,
                             struct coapmx_error *err)
{
    if (remote->is_multicast && req->type == COAP_CON)
        return coapmx_fail(err, COAPMX_ECONMULTICAST, 0,
                           "refusing a CON request to the multicast group %s: group requests "
                           "must be NON; nothing was sent",
                           remote->hostinfo);
    return 0;
}

static int encode_request(struct coapmx_endpoint *ep, struct pending *p, const struct coap_msg *msg,
                          struct coapmx_error *err)
{
    size_t len;
    enum coap_status st = coap_encode(msg, ep->out, sizeof ep->out, &len);
    if (st != COAP_OK)
        return coapmx_fail(err, COAPMX_ETOOBIG, 0, "cannot encode the request: %s",
                           coap_status_str(st));
    if ((p->datagram = malloc(len)) == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory sending a request");
        /* LCOV_EXCL_STOP */
    }
    memcpy(p->datagram, ep->out, len);
    p->datagram_len = len;
    return 0;
}

static int transmit_first(struct coapmx_endpoint *ep, struct pending *p, struct coapmx_error *err)
{
    if (coapmx_transport_send(ep->t, &p->remote, p->datagram, p->datagram_len, err) != 0)
        return -1;
    log_transmission(ep, p->mid);
    p->transmissions = 1;
    p->timeout_ms = p->type == COAP_CON      ? first_timeout(ep)
                    : p->remote.is_multicast ? p->collect_ms
                                             : ep->config.protocol.non_lifetime_ms;
    p->timer = coapmx_loop_timer(ep->t->loop, p->timeout_ms, on_request_timer, p);
    return 0;
}

int64_t coapmx_request_start(struct coapmx_endpoint *ep, const struct coapmx_request *req,
                             coapmx_response_cb cb, void *arg, struct coapmx_error *err)
{
    struct coapmx_uri uri;
    struct coap_msg msg;
    struct request_text text;
    if (ep->shut_down)
        return coapmx_fail(err, COAPMX_ESHUTDOWN, 0, "endpoint on %s is shut down",
                           ep->t->ops->name);
    if (coapmx_uri_parse(req->uri, &uri, err) != 0)
        return -1;
    if (req->type != COAP_CON && req->type != COAP_NON)
        return coapmx_fail(err, COAPMX_EINVAL, 0, "a request is CON or NON, not %s",
                           coap_type_name(req->type));
    struct pending *p = calloc(1, sizeof *p);
    if (p == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory starting a request");
        /* LCOV_EXCL_STOP */
    }
    p->ep = ep;
    p->cb = cb;
    p->arg = arg;
    /* Resolving comes last: it may open a socket, which a request refused anyway must not. */
    if (remember_request(p, req, &uri, err) != 0 || build_request(ep, p, &msg, &text, err) != 0 ||
        encode_request(ep, p, &msg, err) != 0 ||
        coapmx_transport_resolve(ep->t, uri.host, uri.port, &p->remote, err) != 0 ||
        check_destination(req, &p->remote, err) != 0) {
        free(p->datagram);
        free(p->upload);
        free(p);
        return -1;
    }
    if (ep->t->ops->hold != NULL)
        ep->t->ops->hold(ep->t, &p->remote);
    p->id = ++ep->next_request_id;
    p->waiting = limited_by_nstart(p) && nstart_reached(ep, &p->remote);
    p->next = ep->pending;
    ep->pending = p;
    if (!p->waiting && transmit_first(ep, p, err) != 0) {
        p->cb = NULL;
        finish(ep, p, NULL, err);
        return -1;
    }
    ep->stats.requests_sent++;
    return p->id;
}

int coapmx_endpoint_hold(struct coapmx_endpoint *ep, const char *uri, struct coapmx_remote *out,
                         struct coapmx_error *err)
{
    struct coapmx_uri parsed;
    if (ep->shut_down)
        return coapmx_fail(err, COAPMX_ESHUTDOWN, 0, "endpoint on %s is shut down",
                           ep->t->ops->name);
    if (coapmx_uri_parse(uri, &parsed, err) != 0 ||
        coapmx_transport_resolve(ep->t, parsed.host, parsed.port, out, err) != 0)
        return -1;
    if (ep->t->ops->hold != NULL)
        ep->t->ops->hold(ep->t, out);
    return 0;
}

void coapmx_endpoint_release(struct coapmx_endpoint *ep, const struct coapmx_remote *remote)
{
    if (!ep->t->shut_down && ep->t->ops->release != NULL)
        ep->t->ops->release(ep->t, remote);
}

void coapmx_request_cancel(struct coapmx_endpoint *ep, int64_t request_id)
{
    for (struct pending *p = ep->pending; p != NULL; p = p->next) {
        if (p->id == request_id) {
            p->cb = NULL;
            finish(ep, p, NULL, NULL);
            return;
        }
    }
}

struct wait_state {
    bool done;
    int rc;
    struct coapmx_message *resp;
    struct coapmx_error *err;
};

void coapmx_message_copy(struct coapmx_message *dst, const struct coapmx_message *src)
{
    dst->remote = src->remote;
    dst->raw_len = src->raw_len;
    memcpy(dst->raw, src->raw, src->raw_len);
    /* Re-parse so option and payload pointers refer to the copy. */
    coap_parse(dst->raw, dst->raw_len, &dst->msg);
}

static void on_wait_response(void *arg, const struct coapmx_message *resp,
                             const struct coapmx_error *err)
{
    struct wait_state *w = arg;
    if (w->done)
        return;
    w->done = true;
    if (resp == NULL) {
        if (w->err != NULL && err != NULL)
            *w->err = *err;
        else
            coapmx_fail(w->err, COAPMX_ETIMEOUT, 0, "no response from the group");
        w->rc = -1;
        return;
    }
    coapmx_message_copy(w->resp, resp);
    w->rc = 0;
}

static bool wait_done(void *arg)
{
    return ((struct wait_state *)arg)->done;
}

int coapmx_request_wait(struct coapmx_endpoint *ep, const struct coapmx_request *req,
                        struct coapmx_message *resp, uint64_t timeout_ms, struct coapmx_error *err)
{
    struct wait_state w = {.resp = resp, .err = err, .rc = -1};
    int64_t id = coapmx_request_start(ep, req, on_wait_response, &w, err);
    if (id < 0)
        return -1;
    bool done = coapmx_loop_run_until(ep->t->loop, wait_done, &w, timeout_ms);
    /* A group request is still collecting, and its callback points at this frame. */
    coapmx_request_cancel(ep, id);
    if (!done)
        return coapmx_fail(err, COAPMX_ETIMEOUT, 0, "no response to %s within %llu ms", req->uri,
                           (unsigned long long)timeout_ms);
    return w.rc;
}
