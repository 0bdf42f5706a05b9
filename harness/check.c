/* `coapmx check` (see check.h): plugtest verdicts on a capture. */
#include "check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../transports/addr.h"
#include "dissect.h"
#include "pcapfile.h"
#include "wirefmt.h"

/* RFC 7252 §4.8 */
#define ACK_TIMEOUT_MICROS       2000000LL
#define ACK_RANDOM_FACTOR_PERMIL 1500
#define MAX_RETRANSMIT           4
#define EXCHANGE_LIFETIME_MICROS (247LL * 1000000LL)
/* A capture's timestamps are taken where it was captured: allow them this much slack. */
#define TIMING_SLACK_MICROS 50000LL
/* How far back a response or an ACK is looked for its request (messages). */
#define LOOK_BACK 4096

#define MAX_SENDS       (MAX_RETRANSMIT + 4)
#define INSTANCE_FRAMES 48
#define SERIES_MAX      4096
#define PATH_TEXT       256
#define COAP_CODE_2_01  COAP_CODE(2, 1)
#define COAP_CODE_2_02  COAP_CODE(2, 2)
#define COAP_CODE_2_03  COAP_CODE(2, 3)
#define COAP_CODE_2_04  COAP_CODE(2, 4)
#define COAP_CODE_2_05  COAP_CODE(2, 5)
#define COAP_CODE_2_31  COAP_CODE(2, 31)
#define COAP_CODE_4_12  COAP_CODE(4, 12)

struct ep {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
};

struct cmsg {
    uint64_t frame;
    long long micros;
    struct ep src, dst;
    uint8_t *bytes; /* the datagram, which msg points into */
    struct coap_msg msg;
    bool on_coap_port;
};

struct exchange {
    size_t request; /* its first transmission */
    size_t sends[MAX_SENDS];
    size_t send_count; /* transmissions of the request (beyond MAX_SENDS: counted only) */
    long ack;          /* the ACK or RST of the request, -1 */
    long response;     /* the first response (== ack when piggybacked), -1 */
    size_t response_sends[MAX_SENDS];
    size_t response_send_count; /* transmissions of a separate response */
    long response_ack;          /* the client's ACK (or RST) of a separate CON response, -1 */
};

enum verdict { VERDICT_PASS, VERDICT_FAIL, VERDICT_INCONCLUSIVE };
static const char *const verdict_names[] = {"PASS", "FAIL", "INCONCLUSIVE"};

struct judge {
    enum verdict verdict;
    char why[480];
    uint64_t frames[INSTANCE_FRAMES];
    size_t frame_count;
};

struct checker {
    const struct check_options *opt;
    struct cmsg *msgs;
    size_t count, cap;
    struct exchange *ex;
    size_t ex_count, ex_cap;
    FILE *out;
    size_t instances[3], tds_matched, tds_failed;
    bool td_failed, td_matched;
};

/* ---- messages ---- */

static struct ep ep_of(const struct sockaddr_storage *ss)
{
    struct ep e;
    memset(&e, 0, sizeof e);
    e.family = (uint8_t)ss->ss_family;
    if (ss->ss_family == AF_INET)
        memcpy(e.addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    else
        memcpy(e.addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    e.port = coapmx_sockaddr_port((const struct sockaddr *)ss);
    return e;
}

static bool ep_equal(const struct ep *a, const struct ep *b)
{
    return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, 16) == 0;
}

static bool reversed(const struct cmsg *a, const struct cmsg *b)
{
    return ep_equal(&a->src, &b->dst) && ep_equal(&a->dst, &b->src);
}

static bool same_direction(const struct cmsg *a, const struct cmsg *b)
{
    return ep_equal(&a->src, &b->src) && ep_equal(&a->dst, &b->dst);
}

static bool is_request(const struct coap_msg *m)
{
    return COAP_CODE_CLASS(m->code) == 0 && m->code != COAP_EMPTY;
}

static bool is_response(const struct coap_msg *m)
{
    return COAP_CODE_CLASS(m->code) >= 2;
}

static bool same_token(const struct coap_msg *a, const struct coap_msg *b)
{
    return a->token_len == b->token_len && memcmp(a->token, b->token, a->token_len) == 0;
}

static bool port_is_coap(const struct check_options *opt, uint16_t port)
{
    return dissect_coap_port(port, opt->every_port, opt->ports, opt->port_count);
}

static int add_message(struct checker *ck, const struct pcapfile_record *rec,
                       const struct dissect_frame *f, long long micros)
{
    if (ck->count == ck->cap) {
        size_t cap = ck->cap ? ck->cap * 2 : 256;
        struct cmsg *bigger = realloc(ck->msgs, cap * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        ck->msgs = bigger;
        ck->cap = cap;
    }
    uint8_t *copy = malloc(f->payload_len > 0 ? f->payload_len : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, f->payload, f->payload_len);
    struct cmsg *m = &ck->msgs[ck->count];
    if (coap_parse(copy, f->payload_len, &m->msg) != COAP_OK) {
        free(copy);
        return 0;
    }
    m->bytes = copy;
    m->frame = rec->number;
    m->micros = micros;
    m->src = ep_of(&f->src);
    m->dst = ep_of(&f->dst);
    m->on_coap_port = port_is_coap(ck->opt, m->src.port) || port_is_coap(ck->opt, m->dst.port);
    ck->count++;
    return 0;
}

#define CONFIRMED_PAIRS_MAX 1024

/* A confirmed pair, copied: the messages move while the list is consulted. */
struct pair {
    struct ep a, b;
};

static bool pair_listed(const struct pair *pairs, size_t n, const struct cmsg *m)
{
    for (size_t i = 0; i < n; i++)
        if ((ep_equal(&pairs[i].a, &m->src) && ep_equal(&pairs[i].b, &m->dst)) ||
            (ep_equal(&pairs[i].a, &m->dst) && ep_equal(&pairs[i].b, &m->src)))
            return true;
    return false;
}

/* Off the CoAP ports a pair counts only once it carried a request and its answer (as in
 * `coapmx pcap`); the messages of other pairs are dropped. */
static int drop_unconfirmed(struct checker *ck)
{
    struct pair *pairs = malloc(CONFIRMED_PAIRS_MAX * sizeof *pairs);
    if (pairs == NULL)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < ck->count && n < CONFIRMED_PAIRS_MAX; i++) {
        const struct cmsg *b = &ck->msgs[i];
        bool answer = b->msg.type >= COAP_ACK || is_response(&b->msg);
        if (b->on_coap_port || !answer || pair_listed(pairs, n, b))
            continue;
        for (size_t k = i; k > 0 && i - k < LOOK_BACK; k--) {
            const struct cmsg *a = &ck->msgs[k - 1];
            if (is_request(&a->msg) && reversed(a, b) &&
                ((b->msg.type >= COAP_ACK && b->msg.mid == a->msg.mid) ||
                 (is_response(&b->msg) && same_token(&a->msg, &b->msg)))) {
                pairs[n++] = (struct pair){b->src, b->dst};
                break;
            }
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < ck->count; i++) {
        struct cmsg m = ck->msgs[i];
        if (m.on_coap_port || pair_listed(pairs, n, &m))
            ck->msgs[kept++] = m;
        else
            free(m.bytes);
    }
    ck->count = kept;
    free(pairs);
    return 0;
}

/* ---- exchanges ---- */

static struct exchange *new_exchange(struct checker *ck, size_t request)
{
    if (ck->ex_count == ck->ex_cap) {
        size_t cap = ck->ex_cap ? ck->ex_cap * 2 : 128;
        struct exchange *bigger = realloc(ck->ex, cap * sizeof *bigger);
        if (bigger == NULL)
            return NULL;
        ck->ex = bigger;
        ck->ex_cap = cap;
    }
    struct exchange *e = &ck->ex[ck->ex_count++];
    memset(e, 0, sizeof *e);
    e->request = request;
    e->sends[0] = request;
    e->send_count = 1;
    e->ack = e->response = e->response_ack = -1;
    return e;
}

static void add_send(size_t *sends, size_t *count, size_t index)
{
    if (*count < MAX_SENDS)
        sends[*count] = index;
    (*count)++;
}

/* The newest exchange whose request matches: by MID from src to dst (by_mid), else by token. */
static struct exchange *exchange_of(struct checker *ck, const struct cmsg *m, bool by_mid,
                                    bool request_direction)
{
    for (size_t n = ck->ex_count; n > 0 && ck->ex_count - n < LOOK_BACK; n--) {
        struct exchange *e = &ck->ex[n - 1];
        const struct cmsg *r = &ck->msgs[e->request];
        if (m->micros - r->micros > EXCHANGE_LIFETIME_MICROS)
            break;
        bool direction = request_direction ? same_direction(r, m) : reversed(r, m);
        if (!direction)
            continue;
        if (by_mid ? r->msg.mid == m->msg.mid : same_token(&r->msg, &m->msg))
            return e;
    }
    return NULL;
}

/* The exchange whose separate response has this MID, answered from the other side. */
static struct exchange *exchange_of_response(struct checker *ck, const struct cmsg *m)
{
    for (size_t n = ck->ex_count; n > 0 && ck->ex_count - n < LOOK_BACK; n--) {
        struct exchange *e = &ck->ex[n - 1];
        if (e->response < 0 || e->response == e->ack)
            continue;
        const struct cmsg *resp = &ck->msgs[e->response];
        if (resp->msg.mid == m->msg.mid && (reversed(resp, m) || same_direction(resp, m)))
            return e;
    }
    return NULL;
}

static int build_exchanges(struct checker *ck)
{
    for (size_t i = 0; i < ck->count; i++) {
        const struct cmsg *m = &ck->msgs[i];
        const struct coap_msg *c = &m->msg;
        bool ping = c->type == COAP_CON && c->code == COAP_EMPTY;
        if ((is_request(c) && c->type <= COAP_NON) || ping) {
            struct exchange *e = exchange_of(ck, m, true, true);
            if (e != NULL && ck->msgs[e->request].msg.type == c->type)
                add_send(e->sends, &e->send_count, i); /* a retransmission or duplicate */
            else if (new_exchange(ck, i) == NULL)
                return -1;
        } else if (c->type == COAP_ACK || c->type == COAP_RST) {
            struct exchange *e = exchange_of(ck, m, true, false);
            if (e != NULL && e->ack < 0) {
                e->ack = (long)i;
                if (is_response(c) && e->response < 0)
                    e->response = (long)i;
                continue;
            }
            e = exchange_of_response(ck, m);
            if (e != NULL && e->response_ack < 0 && reversed(&ck->msgs[e->response], m)) {
                e->response_ack = (long)i;
                continue;
            }
            /* a piggybacked response whose MID is wrong: its token still says what it answers */
            e = is_response(c) ? exchange_of(ck, m, false, false) : NULL;
            if (e != NULL && e->response < 0)
                e->response = (long)i;
        } else if (is_response(c)) {
            struct exchange *e = exchange_of_response(ck, m);
            if (e != NULL && same_direction(&ck->msgs[e->response], m)) {
                add_send(e->response_sends, &e->response_send_count, i);
                continue;
            }
            e = exchange_of(ck, m, false, false);
            if (e != NULL && e->response < 0) {
                e->response = (long)i;
                add_send(e->response_sends, &e->response_send_count, i);
            }
        }
    }
    return 0;
}

/* ---- options ---- */

static void joined(const struct coap_msg *m, uint16_t number, char sep, char *buf, size_t cap)
{
    coap_msg_join_options(m, number, sep, buf, cap);
}

static bool path_is(const struct coap_msg *m, const char *path)
{
    char text[PATH_TEXT];
    joined(m, COAP_OPT_URI_PATH, '/', text, sizeof text);
    return strcmp(text, path) == 0;
}

static size_t option_count(const struct coap_msg *m, uint16_t number)
{
    size_t n = 0;
    for (const struct coap_option *o = coap_msg_find_option(m, number, NULL); o != NULL;
         o = coap_msg_find_option(m, number, o))
        n++;
    return n;
}

static bool option_uint(const struct coap_msg *m, uint16_t number, uint32_t *value)
{
    const struct coap_option *o = coap_msg_find_option(m, number, NULL);
    if (o == NULL || o->length > 4)
        return false;
    *value = coap_option_uint(o);
    return true;
}

struct block {
    bool present;
    uint32_t num;
    bool more;
    unsigned szx;
};

static struct block block_of(const struct coap_msg *m, uint16_t number)
{
    struct block b = {0};
    uint32_t v;
    if (!option_uint(m, number, &v))
        return b;
    b = (struct block){true, v >> 4, (v & 8) != 0, v & 7};
    return b;
}

/* "2/1/64"-like: NUM/M/SZX, or that the option is missing */
static const char *block_text(struct block b, const char *name, char *buf, size_t cap)
{
    if (!b.present)
        snprintf(buf, cap, "no %s option", name);
    else
        snprintf(buf, cap, "%s %lu/%d/%u", name, (unsigned long)b.num, b.more, b.szx);
    return buf;
}

static size_t block_size(unsigned szx)
{
    return (size_t)16 << (szx > 6 ? 6 : szx);
}

/* ---- judging ---- */

static void judge_frame(struct judge *j, const struct checker *ck, long index)
{
    if (index < 0)
        return;
    uint64_t frame = ck->msgs[index].frame;
    for (size_t i = 0; i < j->frame_count; i++)
        if (j->frames[i] == frame)
            return;
    if (j->frame_count < INSTANCE_FRAMES)
        j->frames[j->frame_count++] = frame;
}

static void judge_exchange(struct judge *j, const struct checker *ck, const struct exchange *e)
{
    for (size_t i = 0; i < e->send_count && i < MAX_SENDS; i++)
        judge_frame(j, ck, (long)e->sends[i]);
    judge_frame(j, ck, e->ack);
    for (size_t i = 0; i < e->response_send_count && i < MAX_SENDS; i++)
        judge_frame(j, ck, (long)e->response_sends[i]);
    judge_frame(j, ck, e->response);
    judge_frame(j, ck, e->response_ack);
}

/* A check of a TD step: when cond is false the instance fails, and why says which check. */
static bool need(struct judge *j, bool cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool need(struct judge *j, bool cond, const char *fmt, ...)
{
    if (cond)
        return true;
    if (j->verdict != VERDICT_PASS)
        return false; /* already decided: the first failed check is the one reported */
    j->verdict = VERDICT_FAIL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, sizeof j->why, fmt, ap);
    va_end(ap);
    return false;
}

/* The capture ends (or lacks a step) before the TD can be decided. */
static void inconclusive(struct judge *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void inconclusive(struct judge *j, const char *fmt, ...)
{
    if (j->verdict != VERDICT_PASS)
        return;
    j->verdict = VERDICT_INCONCLUSIVE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, sizeof j->why, fmt, ap);
    va_end(ap);
}

static void passed(struct judge *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void passed(struct judge *j, const char *fmt, ...)
{
    if (j->verdict != VERDICT_PASS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->why, sizeof j->why, fmt, ap);
    va_end(ap);
}

static int compare_frames(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void report(struct checker *ck, const char *td, struct judge *j)
{
    qsort(j->frames, j->frame_count, sizeof j->frames[0], compare_frames);
    fprintf(ck->out, "%-17s %-12s frames", td, verdict_names[j->verdict]);
    for (size_t i = 0; i < j->frame_count; i++)
        fprintf(ck->out, " #%llu", (unsigned long long)j->frames[i]);
    fprintf(ck->out, "\n    %s%s\n", j->verdict == VERDICT_FAIL ? "check failed: " : "", j->why);
    ck->instances[j->verdict]++;
    ck->td_matched = true;
    ck->td_failed = ck->td_failed || j->verdict == VERDICT_FAIL;
}

/* "an ACK", "a CON", ... */
static const char *type_with_article(enum coap_type type)
{
    static const char *const names[] = {"a CON", "a NON", "an ACK", "an RST"};
    return names[type & 3];
}

static void code_text(uint8_t code, char *buf, size_t cap)
{
    coap_code_str(code, buf, cap);
}

static const struct cmsg *at(const struct checker *ck, long index)
{
    return index >= 0 ? &ck->msgs[index] : NULL;
}

/* ---- shared steps ---- */

enum content_format_rule { CF_REQUIRED, CF_IF_PAYLOAD, CF_ANY };
enum payload_rule { PAYLOAD_NON_EMPTY, PAYLOAD_EMPTY, PAYLOAD_ANY };

static bool one_of(uint8_t code, const uint8_t *codes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (codes[i] == code)
            return true;
    return false;
}

static void codes_text(const uint8_t *codes, size_t n, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && len < cap; i++) {
        char c[16];
        code_text(codes[i], c, sizeof c);
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? " or " : "", c);
    }
}

static bool content_checks(struct judge *j, const struct coap_msg *r, int step,
                           enum content_format_rule cf, enum payload_rule payload)
{
    bool has_cf = coap_msg_find_option(r, COAP_OPT_CONTENT_FORMAT, NULL) != NULL;
    return need(j, cf != CF_REQUIRED || has_cf,
                "step %d, Content-format option: the response has none", step) &&
           need(j, cf != CF_IF_PAYLOAD || r->payload_len == 0 || has_cf,
                "step %d, Content-format option if payload non-empty: a %zu-byte payload "
                "without one",
                step, r->payload_len) &&
           need(j, payload != PAYLOAD_NON_EMPTY || r->payload_len > 0,
                "step %d, Non-empty Payload: the response's payload is empty", step) &&
           need(j, payload != PAYLOAD_EMPTY || r->payload_len == 0,
                "step %d, Empty Payload: the response carries %zu bytes", step, r->payload_len);
}

enum answer_kind {
    ANSWER_PIGGYBACKED, /* "Code = X, Message ID = CMID, Token = CTOK" (CON requests) */
    ANSWER_NON,         /* "Type = 1 (NON), Code = X, SMID, Token = CTOK" (NON requests) */
};

/* "Server sends response containing: ..." */
static bool response_step(struct judge *j, const struct checker *ck, const struct exchange *e,
                          int step, enum answer_kind kind, const uint8_t *codes, size_t ncodes,
                          enum content_format_rule cf, enum payload_rule payload)
{
    const struct cmsg *req = at(ck, (long)e->request), *resp = at(ck, e->response);
    char want[64], got[16];
    codes_text(codes, ncodes, want, sizeof want);
    if (resp == NULL) {
        inconclusive(j, "step %d: no response to request #%llu in the capture", step,
                     (unsigned long long)req->frame);
        return false;
    }
    code_text(resp->msg.code, got, sizeof got);
    bool shape =
        kind == ANSWER_NON
            ? need(j, resp->msg.type == COAP_NON, "step %d, Type = 1 (NON): response #%llu is %s",
                   step, (unsigned long long)resp->frame, type_with_article(resp->msg.type))
            : need(j, e->response == e->ack,
                   "step %d, Message ID = CMID: response #%llu is not piggybacked (MID "
                   "0x%04x, the request's 0x%04x)",
                   step, (unsigned long long)resp->frame, resp->msg.mid, req->msg.mid);
    return shape &&
           need(j, same_token(&resp->msg, &req->msg),
                "step %d, Token = CTOK: response #%llu carries another token", step,
                (unsigned long long)resp->frame) &&
           need(j, one_of(resp->msg.code, codes, ncodes),
                "step %d, Code = %s: response #%llu is %s", step, want,
                (unsigned long long)resp->frame, got) &&
           content_checks(j, &resp->msg, step, cf, payload);
}

static bool piggybacked(struct judge *j, const struct checker *ck, const struct exchange *e,
                        int step, const uint8_t *codes, size_t ncodes, enum content_format_rule cf,
                        enum payload_rule payload)
{
    return response_step(j, ck, e, step, ANSWER_PIGGYBACKED, codes, ncodes, cf, payload);
}

static bool non_response(struct judge *j, const struct checker *ck, const struct exchange *e,
                         int step, const uint8_t *codes, size_t ncodes, enum content_format_rule cf,
                         enum payload_rule payload)
{
    return response_step(j, ck, e, step, ANSWER_NON, codes, ncodes, cf, payload);
}

/* RFC 7252 §4.2: the k-th retransmission comes after a timeout that starts between ACK_TIMEOUT
 * and ACK_TIMEOUT * ACK_RANDOM_FACTOR and doubles each time; at most MAX_RETRANSMIT of them. */
static bool retransmission_timing(struct judge *j, const struct checker *ck, const size_t *sends,
                                  size_t count, const char *what)
{
    if (!need(j, count <= MAX_RETRANSMIT + 1,
              "%s sent %zu times: more than MAX_RETRANSMIT (%d) "
              "retransmissions",
              what, count, MAX_RETRANSMIT))
        return false;
    for (size_t k = 1; k < count && k < MAX_SENDS; k++) {
        long long gap = ck->msgs[sends[k]].micros - ck->msgs[sends[k - 1]].micros;
        long long low = (ACK_TIMEOUT_MICROS << (k - 1)) - TIMING_SLACK_MICROS;
        long long high =
            (ACK_TIMEOUT_MICROS * ACK_RANDOM_FACTOR_PERMIL / 1000 << (k - 1)) + TIMING_SLACK_MICROS;
        if (!need(j, gap >= low,
                  "%s: retransmission %zu (#%llu) came %.3f s after the previous one, before "
                  "the %.3f s RFC 7252 4.2 allows",
                  what, k, (unsigned long long)ck->msgs[sends[k]].frame, gap / 1e6,
                  (low + TIMING_SLACK_MICROS) / 1e6) ||
            !need(j, gap <= high,
                  "%s: retransmission %zu (#%llu) came %.3f s after the previous one, later "
                  "than the %.3f s RFC 7252 4.2 allows",
                  what, k, (unsigned long long)ck->msgs[sends[k]].frame, gap / 1e6,
                  (high - TIMING_SLACK_MICROS) / 1e6))
            return false;
    }
    return true;
}

/* TD_COAP_CORE_09/11/16: empty ACK, then a CON response with the request's token, then the
 * client's empty ACK of it. */
static bool separate(struct judge *j, const struct checker *ck, const struct exchange *e,
                     enum content_format_rule cf)
{
    const struct cmsg *req = at(ck, (long)e->request), *ack = at(ck, e->ack),
                      *resp = at(ck, e->response), *resp_ack = at(ck, e->response_ack);
    char ack_code[16] = "";
    if (ack != NULL)
        code_text(ack->msg.code, ack_code, sizeof ack_code);
    if (ack == NULL && resp == NULL) {
        inconclusive(j, "step 3: nothing answers request #%llu in the capture",
                     (unsigned long long)req->frame);
        return false;
    }
    if (!need(j, ack != NULL, "step 3, Type = 2 (ACK), Code = 0: the server sent no ACK of #%llu",
              (unsigned long long)req->frame) ||
        !need(j, ack->msg.type == COAP_ACK && ack->msg.code == COAP_EMPTY,
              "step 3, Type = 2 (ACK), Code = 0: #%llu is %s with code %s, not an empty ACK%s",
              (unsigned long long)ack->frame, type_with_article(ack->msg.type), ack_code,
              ack->msg.type == COAP_ACK ? " (the response was piggybacked, not separate)" : "") ||
        !need(j, ack->msg.payload_len == 0, "step 3, Empty Payload: ACK #%llu carries a payload",
              (unsigned long long)ack->frame))
        return false;
    if (resp == NULL) {
        inconclusive(j, "step 4: the capture ends before the separate response");
        return false;
    }
    if (!need(j, resp->msg.type == COAP_CON, "step 4, Type = 0 (CON): response #%llu is %s",
              (unsigned long long)resp->frame, coap_type_name(resp->msg.type)) ||
        !need(j, resp->msg.code == COAP_CODE_2_05, "step 4, Code = 2.05 (Content): response #%llu",
              (unsigned long long)resp->frame) ||
        !need(j, same_token(&resp->msg, &req->msg), "step 4, Token = CTOK: response #%llu",
              (unsigned long long)resp->frame) ||
        !content_checks(j, &resp->msg, 4, cf, PAYLOAD_NON_EMPTY))
        return false;
    if (resp_ack == NULL) {
        inconclusive(j, "step 5: the capture ends before the client acknowledges #%llu",
                     (unsigned long long)resp->frame);
        return false;
    }
    return need(j,
                resp_ack->msg.type == COAP_ACK && resp_ack->msg.code == COAP_EMPTY &&
                    resp_ack->msg.payload_len == 0,
                "step 5, Type = 2 (ACK), Code = 0, Message ID = SMID, Empty Payload: #%llu is "
                "%s",
                (unsigned long long)resp_ack->frame, type_with_article(resp_ack->msg.type));
}

/* ---- the TDs ---- */

struct td;
typedef void (*td_evaluate)(struct checker *ck, const struct td *td);
struct td {
    const char *id, *objective;
    td_evaluate evaluate;
    /* for the simple request/response TDs */
    uint8_t type, method;
    const char *path;
    uint8_t codes[2];
    size_t code_count;
    enum content_format_rule cf;
    enum payload_rule payload;
};

static const struct cmsg *request_of(const struct checker *ck, const struct exchange *e)
{
    return &ck->msgs[e->request];
}

static bool stimulus(const struct checker *ck, const struct exchange *e, uint8_t type,
                     uint8_t method, const char *path)
{
    const struct coap_msg *r = &request_of(ck, e)->msg;
    return r->type == type && r->code == method && (path == NULL || path_is(r, path));
}

static void judge_start(struct judge *j, const struct checker *ck, const struct exchange *e)
{
    memset(j, 0, sizeof *j);
    j->verdict = VERDICT_PASS;
    judge_exchange(j, ck, e);
}

static void pass_text(struct judge *j, const struct checker *ck, const struct exchange *e)
{
    const struct cmsg *req = request_of(ck, e), *resp = at(ck, e->response);
    char code[16];
    code_text(resp->msg.code, code, sizeof code);
    passed(j, "%s %s #%llu answered by %s %s #%llu (%s, token %s, %zu-byte payload)",
           coap_type_name(req->msg.type), req->msg.code == COAP_GET ? "GET" : "request",
           (unsigned long long)req->frame, coap_type_name(resp->msg.type), code,
           (unsigned long long)resp->frame,
           e->response == e->ack ? "piggybacked, same MID" : "separate",
           same_token(&req->msg, &resp->msg) ? "echoed" : "different", resp->msg.payload_len);
}

/* CORE_01-08: one request, its response (piggybacked for CON, NON for NON). */
static void evaluate_transaction(struct checker *ck, const struct td *td)
{
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        if (!stimulus(ck, e, td->type, td->method, td->path))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        bool ok = td->type == COAP_CON
                      ? piggybacked(&j, ck, e, 3, td->codes, td->code_count, td->cf, td->payload)
                      : non_response(&j, ck, e, 3, td->codes, td->code_count, td->cf, td->payload);
        if (ok)
            pass_text(&j, ck, e);
        report(ck, td->id, &j);
    }
}

static void evaluate_get_test(struct checker *ck, const struct td *td, int token)
{
    static const uint8_t content[] = {COAP_CODE_2_05};
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct coap_msg *r = &request_of(ck, e)->msg;
        if (!stimulus(ck, e, COAP_CON, COAP_GET, "test") || (token == 1 && r->token_len == 0) ||
            (token == 0 && r->token_len != 0))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        if (piggybacked(&j, ck, e, 3, content, 1, CF_REQUIRED, PAYLOAD_NON_EMPTY))
            pass_text(&j, ck, e);
        report(ck, td->id, &j);
    }
}

static void evaluate_core_10(struct checker *ck, const struct td *td)
{
    evaluate_get_test(ck, td, 1);
}

static void evaluate_core_12(struct checker *ck, const struct td *td)
{
    evaluate_get_test(ck, td, 0);
}

static void evaluate_separate(struct checker *ck, const struct td *td)
{
    bool with_token = strcmp(td->id, "TD_COAP_CORE_11") == 0;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        if (!stimulus(ck, e, COAP_CON, COAP_GET, "separate") ||
            (with_token && request_of(ck, e)->msg.token_len == 0))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        if (separate(&j, ck, e, with_token ? CF_ANY : CF_REQUIRED))
            passed(&j, "empty ACK #%llu, then CON 2.05 #%llu with the token, acknowledged by #%llu",
                   (unsigned long long)at(ck, e->ack)->frame,
                   (unsigned long long)at(ck, e->response)->frame,
                   (unsigned long long)at(ck, e->response_ack)->frame);
        report(ck, td->id, &j);
    }
}

static void evaluate_core_13(struct checker *ck, const struct td *td)
{
    static const uint8_t content[] = {COAP_CODE_2_05};
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        if (!stimulus(ck, e, COAP_CON, COAP_GET, "seg1/seg2/seg3"))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        if (need(&j, option_count(&request_of(ck, e)->msg, COAP_OPT_URI_PATH) == 3,
                 "step 2: three Uri-Path options seg1, seg2, seg3") &&
            piggybacked(&j, ck, e, 3, content, 1, CF_REQUIRED, PAYLOAD_NON_EMPTY))
            pass_text(&j, ck, e);
        report(ck, td->id, &j);
    }
}

static void evaluate_core_14(struct checker *ck, const struct td *td)
{
    static const uint8_t content[] = {COAP_CODE_2_05};
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct coap_msg *r = &request_of(ck, e)->msg;
        if (!stimulus(ck, e, COAP_CON, COAP_GET, "query") ||
            option_count(r, COAP_OPT_URI_QUERY) == 0)
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        bool queries_ok = option_count(r, COAP_OPT_URI_QUERY) >= 2;
        for (const struct coap_option *o = coap_msg_find_option(r, COAP_OPT_URI_QUERY, NULL);
             o != NULL && queries_ok; o = coap_msg_find_option(r, COAP_OPT_URI_QUERY, o))
            queries_ok = memchr(o->value, '=', o->length) != NULL &&
                         memchr(o->value, '&', o->length) == NULL;
        if (need(&j, queries_ok,
                 "step 2: two or more options of Uri-Query, each one name=value (such as "
                 "first=1, second=2)") &&
            piggybacked(&j, ck, e, 3, content, 1, CF_REQUIRED, PAYLOAD_NON_EMPTY))
            pass_text(&j, ck, e);
        report(ck, td->id, &j);
    }
}

/* CORE_15/16: the same transactions in a lossy context, matched where something was lost. */
static void evaluate_lossy(struct checker *ck, const struct td *td)
{
    static const uint8_t content[] = {COAP_CODE_2_05};
    bool delayed = strcmp(td->id, "TD_COAP_CORE_16") == 0;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        if (!stimulus(ck, e, COAP_CON, COAP_GET, delayed ? "separate" : "test") ||
            (e->send_count < 2 && e->response_send_count < 2))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        bool ok = retransmission_timing(&j, ck, e->sends, e->send_count, "the request") &&
                  (!delayed || retransmission_timing(&j, ck, e->response_sends,
                                                     e->response_send_count, "the response"));
        if (ok && delayed && e->response >= 0) {
            /* the arrival of the CON response stops the request's retransmission */
            long long answered = at(ck, e->response)->micros;
            const struct cmsg *last =
                &ck->msgs[e->sends[(e->send_count < MAX_SENDS ? e->send_count : MAX_SENDS) - 1]];
            ok = need(&j, last->micros <= answered,
                      "step 9: the request was retransmitted (#%llu) after the CON response "
                      "arrived",
                      (unsigned long long)last->frame);
        }
        if (ok)
            ok = delayed ? separate(&j, ck, e, CF_REQUIRED)
                         : piggybacked(&j, ck, e, 3, content, 1, CF_REQUIRED, PAYLOAD_NON_EMPTY);
        if (ok)
            passed(&j,
                   "retransmissions (request sent %zu times, response %zu times) within RFC "
                   "7252 4.2's timeouts, and the response arrived",
                   e->send_count, e->response_send_count);
        report(ck, td->id, &j);
    }
}

static void evaluate_core_17(struct checker *ck, const struct td *td)
{
    static const uint8_t content[] = {COAP_CODE_2_05};
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        if (!stimulus(ck, e, COAP_NON, COAP_GET, "separate"))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        const struct cmsg *ack = at(ck, e->ack);
        if (need(&j, ack == NULL || ack->msg.type != COAP_ACK,
                 "step 3: the server DOES NOT send an ACK with the request's MID, but #%llu is one",
                 (unsigned long long)(ack != NULL ? ack->frame : 0)) &&
            non_response(&j, ck, e, 4, content, 1, CF_REQUIRED, PAYLOAD_NON_EMPTY))
            pass_text(&j, ck, e);
        report(ck, td->id, &j);
    }
}

static bool options_are(const struct coap_msg *m, uint16_t number, const char *const *values,
                        size_t n, const char *forbidden)
{
    size_t i = 0;
    for (const struct coap_option *o = coap_msg_find_option(m, number, NULL); o != NULL;
         o = coap_msg_find_option(m, number, o), i++) {
        if (i == n || o->length != strlen(values[i]) || memcmp(o->value, values[i], o->length))
            return false;
        for (const char *f = forbidden; *f != '\0'; f++)
            if (memchr(o->value, *f, o->length) != NULL)
                return false;
    }
    return i == n;
}

static void evaluate_core_18(struct checker *ck, const struct td *td)
{
    static const char *const location[] = {"location1", "location2", "location3"};
    static const uint8_t created[] = {COAP_CODE_2_01};
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct cmsg *resp = at(ck, e->response);
        if (!stimulus(ck, e, COAP_CON, COAP_POST, "test") || resp == NULL ||
            option_count(&resp->msg, COAP_OPT_LOCATION_PATH) == 0)
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        char text[PATH_TEXT];
        joined(&resp->msg, COAP_OPT_LOCATION_PATH, ',', text, sizeof text);
        if (need(&j, one_of(resp->msg.code, created, 1), "step 3, Code = 2.01 (Created)") &&
            need(&j, options_are(&resp->msg, COAP_OPT_LOCATION_PATH, location, 3, "/"),
                 "step 3, three Location-Path options location1, location2, location3 (none "
                 "with a \"/\"): response #%llu has %s",
                 (unsigned long long)resp->frame, text))
            pass_text(&j, ck, e);
        report(ck, td->id, &j);
    }
}

static void evaluate_core_19(struct checker *ck, const struct td *td)
{
    static const char *const query[] = {"first=1", "second=2"};
    static const uint8_t created[] = {COAP_CODE_2_01};
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        if (!stimulus(ck, e, COAP_CON, COAP_POST, "location-query"))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        const struct cmsg *resp = at(ck, e->response);
        char text[PATH_TEXT] = "";
        if (resp != NULL)
            joined(&resp->msg, COAP_OPT_LOCATION_QUERY, ',', text, sizeof text);
        if (piggybacked(&j, ck, e, 3, created, 1, CF_IF_PAYLOAD, PAYLOAD_ANY) &&
            need(&j, options_are(&resp->msg, COAP_OPT_LOCATION_QUERY, query, 2, "?&"),
                 "step 3, two Location-Query options first=1, second=2 (none with \"?\" or "
                 "\"&\"): response #%llu has %s",
                 (unsigned long long)resp->frame, text[0] ? text : "none"))
            pass_text(&j, ck, e);
        report(ck, td->id, &j);
    }
}

/* CORE_20: both formats asked for, each answered in its format: one instance for the capture. */
static void evaluate_core_20(struct checker *ck, const struct td *td)
{
    static const uint8_t content[] = {COAP_CODE_2_05};
    struct judge j;
    memset(&j, 0, sizeof j);
    j.verdict = VERDICT_PASS;
    bool seen_text = false, seen_xml = false, any = false;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        uint32_t accept, format = UINT32_MAX;
        if (!stimulus(ck, e, COAP_CON, COAP_GET, "multi-format") ||
            !option_uint(&request_of(ck, e)->msg, COAP_OPT_ACCEPT, &accept))
            continue;
        any = true;
        judge_exchange(&j, ck, e);
        if (!piggybacked(&j, ck, e, accept == 41 ? 7 : 3, content, 1, CF_REQUIRED,
                         PAYLOAD_NON_EMPTY))
            break;
        const struct cmsg *resp = at(ck, e->response);
        option_uint(&resp->msg, COAP_OPT_CONTENT_FORMAT, &format);
        if (!need(&j, format == accept,
                  "step %d, Content-Format = %lu (as the Accept option asked): response #%llu "
                  "has %lu",
                  accept == 41 ? 7 : 3, (unsigned long)accept, (unsigned long long)resp->frame,
                  (unsigned long)format))
            break;
        seen_text = seen_text || accept == 0;
        seen_xml = seen_xml || accept == 41;
    }
    if (!any)
        return;
    if (!seen_text || !seen_xml)
        inconclusive(&j,
                     "the TD asks for text/plain (Accept 0) and application/xml (Accept "
                     "41); the capture has only %s",
                     seen_text  ? "Accept 0"
                     : seen_xml ? "Accept 41"
                                : "other formats");
    passed(&j, "GET with Accept 0 and with Accept 41, each answered 2.05 in that Content-Format");
    report(ck, td->id, &j);
}

static bool etag_of(const struct coap_msg *m, const struct coap_option **etag)
{
    *etag = coap_msg_find_option(m, COAP_OPT_ETAG, NULL);
    return *etag != NULL;
}

static bool same_option_value(const struct coap_option *a, const struct coap_option *b)
{
    return a != NULL && b != NULL && a->length == b->length &&
           memcmp(a->value, b->value, a->length) == 0;
}

/* Whether the resource at path was changed (a PUT or POST answered 2.0x) between two times. */
static bool updated_between(const struct checker *ck, const char *path, long long from,
                            long long to)
{
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct cmsg *r = request_of(ck, e), *resp = at(ck, e->response);
        if (r->micros <= from || r->micros >= to || resp == NULL ||
            (r->msg.code != COAP_PUT && r->msg.code != COAP_POST) || !path_is(&r->msg, path))
            continue;
        if (COAP_CODE_CLASS(resp->msg.code) == 2)
            return true;
    }
    return false;
}

/* The newest GET of path before `before` whose 2.05 carried an ETag (its exchange), or NULL. */
static const struct exchange *last_tagged_get(const struct checker *ck, const char *path,
                                              long long before)
{
    const struct exchange *found = NULL;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct cmsg *r = request_of(ck, e), *resp = at(ck, e->response);
        const struct coap_option *tag;
        if (r->micros < before && r->msg.code == COAP_GET && path_is(&r->msg, path) &&
            resp != NULL && resp->msg.code == COAP_CODE_2_05 && etag_of(&resp->msg, &tag))
            found = e;
    }
    return found;
}

static void evaluate_core_21(struct checker *ck, const struct td *td)
{
    struct judge j;
    memset(&j, 0, sizeof j);
    j.verdict = VERDICT_PASS;
    bool any = false, seen_valid = false, seen_changed = false;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct coap_option *asked, *issued, *answered;
        if (!stimulus(ck, e, COAP_CON, COAP_GET, "validate") ||
            !etag_of(&request_of(ck, e)->msg, &asked))
            continue;
        any = true;
        judge_exchange(&j, ck, e);
        const struct cmsg *req = request_of(ck, e), *resp = at(ck, e->response);
        const struct exchange *first = last_tagged_get(ck, "validate", req->micros);
        if (first == NULL) {
            inconclusive(&j, "steps 2-3: no earlier GET /validate answered with an ETag");
            break;
        }
        judge_exchange(&j, ck, first);
        etag_of(&at(ck, first->response)->msg, &issued);
        if (!need(&j, at(ck, first->response)->msg.payload_len > 0,
                  "step 3, Non-empty Payload: #%llu",
                  (unsigned long long)at(ck, first->response)->frame))
            break;
        if (resp == NULL) {
            inconclusive(&j, "no response to #%llu in the capture", (unsigned long long)req->frame);
            break;
        }
        bool changed =
            updated_between(ck, "validate", at(ck, first->response)->micros, req->micros);
        bool tagged = etag_of(&resp->msg, &answered);
        if (!changed) {
            if (!need(&j, same_option_value(asked, issued),
                      "step 5, Option Type = ETag, value = ETAG1: request #%llu sends another "
                      "ETag than #%llu issued",
                      (unsigned long long)req->frame,
                      (unsigned long long)at(ck, first->response)->frame) ||
                !need(&j, resp->msg.code == COAP_CODE_2_03,
                      "step 6, Code = 2.03 (Valid): the resource did not change, response #%llu",
                      (unsigned long long)resp->frame) ||
                !need(&j, tagged && same_option_value(answered, issued),
                      "step 6, Option type = ETag, value = ETAG1: response #%llu",
                      (unsigned long long)resp->frame) ||
                !need(&j, resp->msg.payload_len == 0, "step 6, Empty Payload: response #%llu",
                      (unsigned long long)resp->frame))
                break;
            seen_valid = true;
        } else {
            if (!need(&j, resp->msg.code == COAP_CODE_2_05,
                      "step 10, Code = 2.05 (Content): the resource changed, response #%llu",
                      (unsigned long long)resp->frame) ||
                !need(&j, tagged && !same_option_value(answered, asked),
                      "step 10, Option type = ETag, value = another ETag value than ETAG1: "
                      "response #%llu",
                      (unsigned long long)resp->frame))
                break;
            seen_changed = true;
        }
    }
    if (!any)
        return;
    if (!seen_valid || !seen_changed)
        inconclusive(&j,
                     "the TD revalidates an unchanged resource (2.03) and a changed one "
                     "(2.05, new ETag); the capture has only %s",
                     seen_valid     ? "the unchanged one"
                     : seen_changed ? "the changed one"
                                    : "neither");
    passed(&j, "2.03 Valid with the same ETag while unchanged, 2.05 with a new ETag once updated");
    report(ck, td->id, &j);
}

/* One of the two cases a TD must see (e.g. the current ETag and a stale one): the response must
 * carry `code`, and *seen records that the case occurred. */
static bool expect_case(struct judge *j, const struct cmsg *resp, uint8_t code, const char *check,
                        bool *seen)
{
    char got[16];
    code_text(resp->msg.code, got, sizeof got);
    if (!need(j, resp->msg.code == code, "%s, response #%llu is %s", check,
              (unsigned long long)resp->frame, got))
        return false;
    *seen = true;
    return true;
}

static void evaluate_core_22(struct checker *ck, const struct td *td)
{
    struct judge j;
    memset(&j, 0, sizeof j);
    j.verdict = VERDICT_PASS;
    bool any = false, seen_changed = false, seen_refused = false;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct coap_option *match, *issued;
        const struct coap_msg *r = &request_of(ck, e)->msg;
        if (!stimulus(ck, e, COAP_CON, COAP_PUT, "validate") ||
            (match = coap_msg_find_option(r, COAP_OPT_IF_MATCH, NULL)) == NULL)
            continue;
        any = true;
        judge_exchange(&j, ck, e);
        const struct cmsg *req = request_of(ck, e), *resp = at(ck, e->response);
        const struct exchange *tagged = last_tagged_get(ck, "validate", req->micros);
        if (tagged == NULL) {
            inconclusive(&j, "steps 2-3: no GET /validate answered with an ETag before #%llu",
                         (unsigned long long)req->frame);
            break;
        }
        judge_exchange(&j, ck, tagged);
        etag_of(&at(ck, tagged->response)->msg, &issued);
        if (resp == NULL) {
            inconclusive(&j, "no response to #%llu in the capture", (unsigned long long)req->frame);
            break;
        }
        bool current =
            same_option_value(match, issued) &&
            !updated_between(ck, "validate", at(ck, tagged->response)->micros, req->micros);
        if (!(current ? expect_case(&j, resp, COAP_CODE_2_04,
                                    "step 6, Code = 2.04 (Changed): If-Match carries the current "
                                    "ETag",
                                    &seen_changed)
                      : expect_case(&j, resp, COAP_CODE_4_12,
                                    "step 14, Code = 4.12 (Precondition Failed): If-Match "
                                    "carries a stale ETag",
                                    &seen_refused)))
            break;
    }
    if (!any)
        return;
    if (!seen_changed || !seen_refused)
        inconclusive(&j,
                     "the TD updates with the current ETag (2.04) and with a stale one "
                     "(4.12); the capture has only %s",
                     seen_changed ? "the current one" : "the stale one");
    passed(&j, "If-Match with the current ETag: 2.04; with a stale one: 4.12");
    report(ck, td->id, &j);
}

static void evaluate_core_23(struct checker *ck, const struct td *td)
{
    struct judge j;
    memset(&j, 0, sizeof j);
    j.verdict = VERDICT_PASS;
    bool any = false, created = false, refused = false;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        if (!stimulus(ck, e, COAP_CON, COAP_PUT, "create1") ||
            coap_msg_find_option(&request_of(ck, e)->msg, COAP_OPT_IF_NONE_MATCH, NULL) == NULL)
            continue;
        any = true;
        judge_exchange(&j, ck, e);
        const struct cmsg *resp = at(ck, e->response);
        if (resp == NULL) {
            inconclusive(&j, "no response to #%llu in the capture",
                         (unsigned long long)request_of(ck, e)->frame);
            break;
        }
        bool ok = !created ? expect_case(&j, resp, COAP_CODE_2_01,
                                         "step 3, Code = 2.01 (Created): /create1 does not "
                                         "exist yet",
                                         &created)
                           : expect_case(&j, resp, COAP_CODE_4_12,
                                         "step 7, Code = 4.12 (Precondition Failed): /create1 "
                                         "exists",
                                         &refused);
        if (!ok)
            break;
    }
    if (!any)
        return;
    if (!refused)
        inconclusive(&j, "the TD creates /create1 (2.01) and tries again (4.12); the capture "
                         "has only the first");
    passed(&j, "If-None-Match: 2.01 while /create1 did not exist, 4.12 once it did");
    report(ck, td->id, &j);
}

static void evaluate_core_31(struct checker *ck, const struct td *td)
{
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct coap_msg *r = &request_of(ck, e)->msg;
        if (r->type != COAP_CON || r->code != COAP_EMPTY)
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        const struct cmsg *ack = at(ck, e->ack);
        if (ack == NULL) {
            inconclusive(&j, "step 3: no answer to Ping #%llu in the capture",
                         (unsigned long long)request_of(ck, e)->frame);
        } else if (need(&j, ack->msg.type == COAP_RST,
                        "step 3, Type=3 and Code=0 (RST): Ping #%llu is answered by %s, not "
                        "an RST (RFC 7252 4.3)",
                        (unsigned long long)request_of(ck, e)->frame,
                        type_with_article(ack->msg.type)) &&
                   need(&j,
                        ack->msg.token_len == 0 && ack->msg.option_count == 0 &&
                            ack->msg.payload_len == 0,
                        "step 3: the RST is four bytes (no token, options or payload)")) {
            passed(&j, "four-byte CON Ping #%llu answered by a four-byte RST #%llu, same MID",
                   (unsigned long long)request_of(ck, e)->frame, (unsigned long long)ack->frame);
        }
        report(ck, td->id, &j);
    }
}

/* ---- block-wise ---- */

/* The exchanges of one transfer: from start, the later ones between the same client and server
 * with the same method and Uri-Path, up to the one whose answer says it was the last. */
static size_t series(const struct checker *ck, size_t start, size_t *out, size_t cap)
{
    const struct cmsg *first = request_of(ck, &ck->ex[start]);
    char path[PATH_TEXT];
    joined(&first->msg, COAP_OPT_URI_PATH, '/', path, sizeof path);
    size_t n = 0;
    for (size_t i = start; i < ck->ex_count && n < cap; i++) {
        const struct cmsg *r = request_of(ck, &ck->ex[i]);
        if (i > start && (!same_direction(r, first) || r->msg.code != first->msg.code ||
                          !path_is(&r->msg, path)))
            continue;
        out[n++] = i;
    }
    return n;
}

/* Block2 responses from position `from` of the series: NUM counting up from `num`, SZX `szx`,
 * M=1 with full blocks until a last one (M=0, no larger). Returns whether the transfer ended
 * with its last block; j says why not. step: the TD's step of the first such request. */
static bool walk_block2(struct judge *j, const struct checker *ck, const size_t *ex, size_t n,
                        size_t from, uint32_t num, unsigned szx, uint8_t code, int step)
{
    for (size_t k = from; k < n; k++) {
        const struct exchange *e = &ck->ex[ex[k]];
        judge_exchange(j, ck, e);
        const struct cmsg *req = request_of(ck, e), *resp = at(ck, e->response);
        struct block asked = block_of(&req->msg, COAP_OPT_BLOCK2);
        char text[48];
        if (!need(j, asked.present && asked.num == num && !asked.more && asked.szx == szx,
                  "step %d, Block2 NUM = %lu, M = 0, SZX = %u: request #%llu has %s", step,
                  (unsigned long)num, szx, (unsigned long long)req->frame,
                  block_text(asked, "Block2", text, sizeof text)))
            return false;
        if (resp == NULL) {
            inconclusive(j, "step %d: no response to #%llu in the capture", step + 1,
                         (unsigned long long)req->frame);
            return false;
        }
        struct block got = block_of(&resp->msg, COAP_OPT_BLOCK2);
        char c[16];
        code_text(code, c, sizeof c);
        if (!need(j, resp->msg.code == code, "step %d, Code = %s: response #%llu", step + 1, c,
                  (unsigned long long)resp->frame) ||
            !need(j, got.present && got.num == num && got.szx == szx,
                  "step %d, Block2 NUM = %lu, SZX = %u: response #%llu has %s", step + 1,
                  (unsigned long)num, szx, (unsigned long long)resp->frame,
                  block_text(got, "Block2", text, sizeof text)) ||
            !need(j,
                  got.more ? resp->msg.payload_len == block_size(szx)
                           : resp->msg.payload_len <= block_size(szx),
                  "step %d, payload size %s 2**(SZX+4) = %zu bytes: response #%llu carries %zu",
                  step + 1, got.more ? "is" : "is at most", block_size(szx),
                  (unsigned long long)resp->frame, resp->msg.payload_len))
            return false;
        if (!got.more)
            return true;
        num++;
    }
    inconclusive(j, "the capture ends before the last block (NUM %lu)", (unsigned long)num);
    return false;
}

static void evaluate_block_get(struct checker *ck, const struct td *td)
{
    bool late = strcmp(td->id, "TD_COAP_BLOCK_02") == 0;
    bool small = strcmp(td->id, "TD_COAP_BLOCK_06") == 0;
    size_t *ex = malloc(SERIES_MAX * sizeof *ex);
    if (ex == NULL)
        return;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        const struct coap_msg *r = &request_of(ck, e)->msg;
        struct block asked = block_of(r, COAP_OPT_BLOCK2);
        if (!stimulus(ck, e, COAP_CON, COAP_GET, "large") || (late && asked.present) ||
            (!late && (!asked.present || asked.num != 0)) || (small && asked.szx != 0))
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        size_t n = series(ck, i, ex, SERIES_MAX);
        const struct cmsg *resp = at(ck, e->response);
        if (resp == NULL) {
            inconclusive(&j, "step 3: no response to #%llu in the capture",
                         (unsigned long long)request_of(ck, e)->frame);
            report(ck, td->id, &j);
            continue;
        }
        struct block first = block_of(&resp->msg, COAP_OPT_BLOCK2);
        unsigned desired = late ? first.szx : asked.szx;
        if (late && !first.present && resp->msg.code == COAP_CODE_2_05) {
            inconclusive(&j,
                         "step 3: the server sent /large whole (%zu bytes) without Block2: "
                         "it does not need a block-wise transfer",
                         resp->msg.payload_len);
            report(ck, td->id, &j);
            continue;
        }
        bool ok = need(&j, !late || !asked.present, "step 2: GET without a Block2 option") &&
                  need(&j, !asked.present || (!asked.more && asked.num == 0),
                       "step 2, Block2 NUM = 0, M = 0: request #%llu",
                       (unsigned long long)request_of(ck, e)->frame) &&
                  need(&j, resp->msg.code == COAP_CODE_2_05,
                       "step 3, 2.05 (Content): response #%llu", (unsigned long long)resp->frame) &&
                  need(&j, first.present && first.num == 0,
                       "step 3, Block2 NUM = 0: response #%llu has %s%lu",
                       (unsigned long long)resp->frame,
                       first.present ? "NUM " : "no Block2 option, ", (unsigned long)first.num);
        if (ok && !first.more) {
            inconclusive(&j, "step 3: /large fits in one block (M = 0): no block-wise transfer");
            ok = false;
        }
        ok = ok &&
             need(&j, first.szx <= desired, "step 3, SZX is at most DES_SZX %u: #%llu has %u",
                  desired, (unsigned long long)resp->frame, first.szx) &&
             need(&j, resp->msg.payload_len == block_size(first.szx),
                  "step 3, payload size is 2**(SZX+4) = %zu: response #%llu carries %zu",
                  block_size(first.szx), (unsigned long long)resp->frame, resp->msg.payload_len);
        if (ok && late) {
            /* the client may ask smaller blocks: it resumes at 2**(DES - ACT) */
            if (n < 2) {
                inconclusive(&j, "step 4: the capture ends before the next block's request");
                ok = false;
            } else {
                struct block next = block_of(&request_of(ck, &ck->ex[ex[1]])->msg, COAP_OPT_BLOCK2);
                char text[48];
                ok = need(&j,
                          next.present && next.szx <= desired &&
                              next.num == (1u << (desired - next.szx)),
                          "step 4, Block2 NUM = 2**(DES_SZX - ACT_SZX), SZX at most DES_SZX: "
                          "request #%llu has %s",
                          (unsigned long long)request_of(ck, &ck->ex[ex[1]])->frame,
                          block_text(next, "Block2", text, sizeof text)) &&
                     walk_block2(&j, ck, ex, n, 1, next.num, next.szx, COAP_CODE_2_05, 4);
            }
        } else if (ok) {
            ok = walk_block2(&j, ck, ex, n, 1, 1, first.szx, COAP_CODE_2_05, 4);
        }
        if (ok)
            passed(&j,
                   "GET /large in %zu blocks of %zu bytes, in order, the last one shorter or "
                   "equal",
                   n, block_size(first.szx));
        report(ck, td->id, &j);
    }
    free(ex);
}

/* Block1 requests from the start of the series: NUM counting up (resuming at 2**(DES - ACT)
 * when the server asked for smaller blocks), M=1 full blocks, a last M=0; each answered by one
 * of `middle` with Block1 NUM and (for 2.31) M=1, the last by `final`. *last: the series
 * position of the last block. */
static bool walk_block1(struct judge *j, const struct checker *ck, const size_t *ex, size_t n,
                        const uint8_t *middle, size_t nmiddle, uint8_t final, size_t *last)
{
    uint32_t num = 0;
    unsigned szx = 0, desired = 0;
    for (size_t k = 0; k < n; k++) {
        const struct exchange *e = &ck->ex[ex[k]];
        judge_exchange(j, ck, e);
        const struct cmsg *req = request_of(ck, e), *resp = at(ck, e->response);
        struct block sent = block_of(&req->msg, COAP_OPT_BLOCK1);
        int step = k == 0 ? 2 : 4;
        if (k == 0)
            desired = szx = sent.szx;
        char text[48];
        if (!need(j, sent.present && sent.num == num && sent.szx == szx,
                  "step %d, Block1 NUM = %lu, SZX = %u: request #%llu has %s", step,
                  (unsigned long)num, szx, (unsigned long long)req->frame,
                  block_text(sent, "Block1", text, sizeof text)) ||
            !need(j,
                  sent.more ? req->msg.payload_len == block_size(szx)
                            : req->msg.payload_len <= block_size(szx),
                  "step %d, payload size %s 2**(SZX+4) = %zu bytes: request #%llu carries %zu",
                  step, sent.more ? "is" : "is at most", block_size(szx),
                  (unsigned long long)req->frame, req->msg.payload_len))
            return false;
        if (resp == NULL) {
            inconclusive(j, "no response to #%llu in the capture", (unsigned long long)req->frame);
            return false;
        }
        struct block got = block_of(&resp->msg, COAP_OPT_BLOCK1);
        char c[16];
        code_text(resp->msg.code, c, sizeof c);
        if (!sent.more) {
            char want[16];
            code_text(final, want, sizeof want);
            *last = k;
            return need(j, resp->msg.code == final,
                        "final step, Code = %s: response #%llu to the last block is %s", want,
                        (unsigned long long)resp->frame, c) &&
                   need(j, got.present && got.num == num && !got.more,
                        "final step, Block1 NUM = %lu, M = 0: response #%llu has %s",
                        (unsigned long)num, (unsigned long long)resp->frame,
                        block_text(got, "Block1", text, sizeof text));
        }
        if (!need(j, one_of(resp->msg.code, middle, nmiddle),
                  "step %d: response #%llu to block %lu is %s", step + 1,
                  (unsigned long long)resp->frame, (unsigned long)num, c) ||
            !need(j,
                  got.present && got.num == num && got.szx <= szx &&
                      got.more == (resp->msg.code == COAP_CODE_2_31),
                  "step %d, Block1 NUM = %lu, M = 1 for 2.31 (0 for 2.04), SZX at most %u: "
                  "response #%llu has %s",
                  step + 1, (unsigned long)num, szx, (unsigned long long)resp->frame,
                  block_text(got, "Block1", text, sizeof text)))
            return false;
        num = got.szx < szx && k == 0 ? (1u << (desired - got.szx)) : num + 1;
        szx = got.szx;
    }
    inconclusive(j, "the capture ends before the last block (NUM %lu)", (unsigned long)num);
    return false;
}

static void evaluate_block_upload(struct checker *ck, const struct td *td)
{
    static const uint8_t changed_or_continue[] = {COAP_CODE_2_04, COAP_CODE_2_31};
    static const uint8_t continue_only[] = {COAP_CODE_2_31};
    int which = td->id[strlen(td->id) - 1] - '0'; /* 3, 4 or 5 */
    const char *path = which == 3 ? "large-update" : which == 4 ? "large-create" : "large-post";
    uint8_t method = which == 3 ? COAP_PUT : COAP_POST;
    uint8_t final = which == 3 ? COAP_CODE_2_04 : which == 4 ? COAP_CODE_2_01 : COAP_CODE_2_04;
    size_t *ex = malloc(SERIES_MAX * sizeof *ex);
    if (ex == NULL)
        return;
    for (size_t i = 0; i < ck->ex_count; i++) {
        const struct exchange *e = &ck->ex[i];
        struct block b1 = block_of(&request_of(ck, e)->msg, COAP_OPT_BLOCK1);
        if (!stimulus(ck, e, COAP_CON, method, path) || !b1.present || b1.num != 0)
            continue;
        struct judge j;
        judge_start(&j, ck, e);
        size_t n = series(ck, i, ex, SERIES_MAX), last = 0;
        bool ok =
            need(&j, b1.more, "step 2, Block1 M = 1: the first request is already the last") &&
            walk_block1(&j, ck, ex, n, which == 3 ? changed_or_continue : continue_only,
                        which == 3 ? 2 : 1, final, &last);
        const struct cmsg *resp = ok ? at(ck, ck->ex[ex[last]].response) : NULL;
        if (ok && which == 4) {
            size_t count = option_count(&resp->msg, COAP_OPT_LOCATION_PATH);
            const struct coap_option *first =
                coap_msg_find_option(&resp->msg, COAP_OPT_LOCATION_PATH, NULL);
            bool slash = false;
            for (const struct coap_option *o = first; o != NULL;
                 o = coap_msg_find_option(&resp->msg, COAP_OPT_LOCATION_PATH, o))
                slash = slash || memchr(o->value, '/', o->length) != NULL;
            ok = need(&j,
                      count == 2 && first->length == 12 &&
                          memcmp(first->value, "large-create", 12) == 0 && !slash,
                      "step 7, Location-Path \"large-create\" then one segment, none with a "
                      "\"/\": response #%llu has %zu Location-Path options",
                      (unsigned long long)resp->frame, count);
        }
        if (ok && which == 5) {
            struct block b2 = block_of(&resp->msg, COAP_OPT_BLOCK2);
            ok = need(&j,
                      b2.present && b2.num == 0 && b2.more &&
                          resp->msg.payload_len == block_size(b2.szx),
                      "step 7, Block2 NUM = 0, M = 1 with a full block: response #%llu",
                      (unsigned long long)resp->frame);
            if (ok && last + 1 >= n) {
                inconclusive(&j, "step 8: the capture ends before the response's next block");
                ok = false;
            } else if (ok) {
                const struct cmsg *next = request_of(ck, &ck->ex[ex[last + 1]]);
                struct block ask = block_of(&next->msg, COAP_OPT_BLOCK2);
                ok = need(&j,
                          ask.present && ask.szx <= b2.szx &&
                              ask.num == (1u << (b2.szx - ask.szx)) &&
                              block_of(&next->msg, COAP_OPT_BLOCK1).present == false &&
                              next->msg.payload_len == 0,
                          "step 8, Block2 NUM = 2**(rDES_SZX - rACT_SZX), no Block1, no payload: "
                          "request #%llu",
                          (unsigned long long)next->frame) &&
                     walk_block2(&j, ck, ex, n, last + 1, ask.num, ask.szx, COAP_CODE_2_04, 8);
            }
        }
        if (ok)
            passed(&j,
                   "%s /%s in %zu blocks, each acknowledged with its Block1, the last "
                   "answered as the TD says",
                   method == COAP_PUT ? "PUT" : "POST", path, last + 1);
        report(ck, td->id, &j);
    }
    free(ex);
}

#define TD(id_, objective_, evaluate_)                                                             \
    {                                                                                              \
        .id = id_, .objective = objective_, .evaluate = evaluate_                                  \
    }
#define TRANSACTION(n, t, m, o, c1, c2, count, cf_rule, payload_rule)                              \
    {                                                                                              \
        "TD_COAP_CORE_" n, o, evaluate_transaction, t, m, "test", {c1, c2}, count, cf_rule,        \
            payload_rule                                                                           \
    }

static const struct td tds[] = {
    TRANSACTION("01", COAP_CON, COAP_GET, "Perform GET transaction (CON mode)", COAP_CODE_2_05, 0,
                1, CF_REQUIRED, PAYLOAD_NON_EMPTY),
    TRANSACTION("02", COAP_CON, COAP_DELETE, "Perform DELETE transaction (CON mode)",
                COAP_CODE_2_02, 0, 1, CF_IF_PAYLOAD, PAYLOAD_ANY),
    TRANSACTION("03", COAP_CON, COAP_PUT, "Perform PUT transaction (CON mode)", COAP_CODE_2_04,
                COAP_CODE_2_01, 2, CF_IF_PAYLOAD, PAYLOAD_ANY),
    TRANSACTION("04", COAP_CON, COAP_POST, "Perform POST transaction (CON mode)", COAP_CODE_2_01,
                COAP_CODE_2_04, 2, CF_IF_PAYLOAD, PAYLOAD_ANY),
    TRANSACTION("05", COAP_NON, COAP_GET, "Perform GET transaction (NON mode)", COAP_CODE_2_05, 0,
                1, CF_REQUIRED, PAYLOAD_ANY),
    TRANSACTION("06", COAP_NON, COAP_DELETE, "Perform DELETE transaction (NON mode)",
                COAP_CODE_2_02, 0, 1, CF_IF_PAYLOAD, PAYLOAD_ANY),
    TRANSACTION("07", COAP_NON, COAP_PUT, "Perform PUT transaction (NON mode)", COAP_CODE_2_04,
                COAP_CODE_2_01, 2, CF_IF_PAYLOAD, PAYLOAD_ANY),
    TRANSACTION("08", COAP_NON, COAP_POST, "Perform POST transaction (NON mode)", COAP_CODE_2_01,
                COAP_CODE_2_04, 2, CF_IF_PAYLOAD, PAYLOAD_ANY),
    TD("TD_COAP_CORE_09", "Perform GET transaction with separate response (CON mode, no piggyback)",
       evaluate_separate),
    TD("TD_COAP_CORE_10", "Perform GET transaction containing non-empty Token (CON mode)",
       evaluate_core_10),
    TD("TD_COAP_CORE_11",
       "Perform GET transaction containing non-empty Token with a separate response (CON mode)",
       evaluate_separate),
    TD("TD_COAP_CORE_12", "Perform GET transaction using empty Token (CON mode)", evaluate_core_12),
    TD("TD_COAP_CORE_13", "Perform GET transaction containing several URI-Path options (CON mode)",
       evaluate_core_13),
    TD("TD_COAP_CORE_14", "Perform GET transaction containing several URI-Query options (CON mode)",
       evaluate_core_14),
    TD("TD_COAP_CORE_15",
       "Perform GET transaction (CON mode, piggybacked response) in a lossy context",
       evaluate_lossy),
    TD("TD_COAP_CORE_16", "Perform GET transaction (CON mode, delayed response) in a lossy context",
       evaluate_lossy),
    TD("TD_COAP_CORE_17", "Perform GET transaction with a separate response (NON mode)",
       evaluate_core_17),
    TD("TD_COAP_CORE_18",
       "Perform POST transaction with responses containing several Location-Path options (CON "
       "mode)",
       evaluate_core_18),
    TD("TD_COAP_CORE_19",
       "Perform POST transaction with responses containing several Location-Query options (CON "
       "mode)",
       evaluate_core_19),
    TD("TD_COAP_CORE_20", "Perform GET transaction containing the Accept option (CON mode)",
       evaluate_core_20),
    TD("TD_COAP_CORE_21", "Perform GET transaction containing the ETag option (CON mode)",
       evaluate_core_21),
    TD("TD_COAP_CORE_22",
       "Perform GET transaction with responses containing the ETag option and requests containing "
       "the If-Match option (CON mode)",
       evaluate_core_22),
    TD("TD_COAP_CORE_23", "Perform PUT transaction containing the If-None-Match option (CON mode)",
       evaluate_core_23),
    TD("TD_COAP_CORE_31", "Perform CoAP Ping (CON mode)", evaluate_core_31),
    TD("TD_COAP_BLOCK_01", "Handle GET blockwise transfer for large resource (early negotiation)",
       evaluate_block_get),
    TD("TD_COAP_BLOCK_02", "Handle GET blockwise transfer for large resource (late negotiation)",
       evaluate_block_get),
    TD("TD_COAP_BLOCK_03", "Handle PUT blockwise transfer for large resource",
       evaluate_block_upload),
    TD("TD_COAP_BLOCK_04", "Handle POST blockwise transfer for creating large resource",
       evaluate_block_upload),
    TD("TD_COAP_BLOCK_05", "Handle POST with two-way blockwise transfer", evaluate_block_upload),
    TD("TD_COAP_BLOCK_06",
       "Handle GET blockwise transfer for large resource (early negotiation, 16 byte block size)",
       evaluate_block_get),
};

/* ---- reading ---- */

static int load(struct checker *ck, FILE *f, const char *path, FILE *err)
{
    struct pcapfile_reader reader;
    if (pcapfile_open(&reader, f) != 0) {
        fprintf(err, "coapmx check: %s: not a capture: %s\n", path, reader.error);
        pcapfile_close(&reader);
        return -1;
    }
    struct pcapfile_record rec;
    struct timespec origin = {0};
    bool have_origin = false;
    int rc, result = 0;
    while ((rc = pcapfile_next(&reader, &rec)) > 0) {
        struct dissect_frame fr;
        dissect_record(rec.linktype, rec.data, rec.caplen, rec.origlen, &fr);
        if (!have_origin) {
            origin = rec.ts;
            have_origin = true;
        }
        if (fr.skip != DISSECT_KEPT || fr.kind != DISSECT_UDP || fr.fragment || fr.truncated)
            continue;
        if (ck->count == CHECK_MAX_MESSAGES) {
            fprintf(err, "coapmx check: %s: more than %d CoAP messages: too large to check\n", path,
                    CHECK_MAX_MESSAGES);
            result = -1;
            break;
        }
        long long micros = wire_micros_between(origin.tv_sec, origin.tv_nsec / 1000, rec.ts.tv_sec,
                                               rec.ts.tv_nsec / 1000);
        if (add_message(ck, &rec, &fr, micros) != 0) {
            fprintf(err, "coapmx check: %s: out of memory\n", path);
            result = -1;
            break;
        }
    }
    if (result == 0 && rc < 0)
        fprintf(err,
                "coapmx check: %s: reading stopped after frame %llu (checking what came "
                "before): %s\n",
                path, (unsigned long long)reader.records, reader.error);
    pcapfile_close(&reader);
    return result;
}

static void free_checker(struct checker *ck)
{
    for (size_t i = 0; i < ck->count; i++)
        free(ck->msgs[i].bytes);
    free(ck->msgs);
    free(ck->ex);
}

static void list_tds(FILE *out)
{
    for (size_t i = 0; i < sizeof tds / sizeof tds[0]; i++)
        fprintf(out, "%-17s %s\n", tds[i].id, tds[i].objective);
}

int check_stream(FILE *f, const char *name, const struct check_options *opt, FILE *out, FILE *err)
{
    size_t td_count = sizeof tds / sizeof tds[0];
    struct checker ck = {.opt = opt, .out = out};
    if (load(&ck, f, name, err) != 0) {
        free_checker(&ck);
        return 2;
    }
    if (drop_unconfirmed(&ck) != 0 || build_exchanges(&ck) != 0) {
        fprintf(err, "coapmx check: %s: out of memory\n", name);
        free_checker(&ck);
        return 2;
    }
    size_t matched = 0, failed = 0;
    for (size_t i = 0; i < td_count; i++) {
        ck.td_matched = ck.td_failed = false;
        tds[i].evaluate(&ck, &tds[i]);
        matched += ck.td_matched;
        failed += ck.td_failed;
    }
    fprintf(out,
            "summary: %zu CoAP messages, %zu exchanges; %zu of %zu TDs matched, %zu failed; "
            "instances: %zu PASS, %zu FAIL, %zu INCONCLUSIVE\n",
            ck.count, ck.ex_count, matched, td_count, failed, ck.instances[VERDICT_PASS],
            ck.instances[VERDICT_FAIL], ck.instances[VERDICT_INCONCLUSIVE]);
    free_checker(&ck);
    return failed > 0 ? 1 : 0;
}

int check_file(const char *path, const struct check_options *opt, FILE *out, FILE *err)
{
    if (opt->list) {
        list_tds(out);
        return 0;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(err, "coapmx check: %s: %s\n", path, strerror(errno));
        return 2;
    }
    int rc = check_stream(f, path, opt, out, err);
    fclose(f);
    return rc;
}
