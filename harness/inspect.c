/* `coapmx pcap` (see inspect.h). */
#include "inspect.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../transports/addr.h"
#include "chart.h"
#include "dissect.h"
#include "json.h"
#include "pcapfile.h"
#include "wirefmt.h"

#define COAPS_PORT 5684
/* RFC 7252 §4.8.2: after this, a Message ID may be reused and a token means something new. */
#define EXCHANGE_LIFETIME_MICROS (247LL * 1000000LL)

/* Bounded state: a capture of any size is read in the same memory. */
#define RECENT_MESSAGES 1024 /* CoAP messages remembered for linkage */
#define LINK_BUCKETS    2048
#define CONFIRMED_PAIRS 256 /* port pairs (off the CoAP ports) seen carrying an exchange */
#define OPEN_TRANSFERS  64  /* block-wise transfers followed at once */
#define SKIP_KINDS      64  /* distinct skip causes counted apart */
#define LINE_SIZE       1024

struct endpoint {
    uint8_t family;
    uint8_t addr[16];
    uint16_t port;
};

struct message {
    uint64_t frame;
    uint64_t original; /* the first frame of this MID in this direction (retransmissions) */
    long long micros;
    struct endpoint src, dst;
    uint16_t mid;
    uint8_t type, code, token_len;
    uint8_t token[COAP_TOKEN_MAX];
    bool used, in_token_chain;
    uint32_t path_hash; /* of a request's Uri-Path, so a block transfer knows its resource */
    unsigned repeats;   /* retransmissions or duplicates seen of it */
    int32_t mid_next, token_next;
    uint32_t mid_bucket, token_bucket;
};

struct transfer {
    bool used;
    uint16_t option;          /* Block1 or Block2 */
    struct endpoint src, dst; /* of the messages carrying the blocks */
    uint32_t path_hash;
    uint64_t first_frame, last_frame, opened;
    uint32_t next_num, blocks;
    unsigned block_size;
    uint64_t bytes;
    bool gap;
};

struct skip_count {
    enum dissect_skip cause;
    uint32_t detail;
    uint64_t count, first_frame;
};

/* What a pass over the capture does with each frame. */
enum pass_mode {
    PASS_PRINT,   /* text or JSON */
    PASS_COLLECT, /* a chart's first pass: its lifelines and rows */
    PASS_DRAW,    /* a chart's second pass */
};

struct inspector {
    const struct inspect_options *opt;
    enum pass_mode mode;
    struct chart *chart;
    size_t chart_rows;
    long long last_micros;
    FILE *out;
    struct message *recent; /* RECENT_MESSAGES: its own allocation, the rest is small */
    size_t next_slot;
    int32_t mid_heads[LINK_BUCKETS], token_heads[LINK_BUCKETS];
    uint64_t confirmed[CONFIRMED_PAIRS]; /* pair hashes; 0: empty */
    struct transfer transfers[OPEN_TRANSFERS];
    uint64_t transfers_opened;
    struct skip_count skips[SKIP_KINDS];
    size_t skip_kinds;
    uint64_t skipped_other; /* beyond SKIP_KINDS distinct causes */
    bool have_origin;
    struct timespec origin;
    uint64_t frames, coap, udp, dtls, icmp, fragments, skipped, malformed;
    int write_error;
    uint8_t *scratch; /* a copy of a malformed datagram, parsed leniently */
    size_t scratch_size;
};

/* What one frame is, once decided. */
struct shown {
    const struct pcapfile_record *rec;
    const struct dissect_frame *f;
    long long micros; /* since the first frame */
    enum {
        SHOW_SKIPPED,
        SHOW_UDP,
        SHOW_COAP,
        SHOW_MALFORMED,
        SHOW_DTLS,
        SHOW_ICMP,
        SHOW_FRAGMENT
    } as;
    struct coap_msg msg;     /* SHOW_COAP, SHOW_MALFORMED (what did parse) */
    bool coap_port;          /* on 5683 or a port the user named */
    enum coap_status status; /* of the CoAP parse */
    const char *violation;   /* SHOW_MALFORMED: what is wrong */
    char violation_text[96];
    uint64_t acknowledges, answers, retransmits, duplicates;
    unsigned repeat;            /* 1: the first retransmission or duplicate */
    bool token_mismatch;        /* an ACK whose piggybacked response has another token */
    uint32_t request_path_hash; /* of the request a response answers */
    bool ended;                 /* this frame completed the transfer in ended_transfer */
    struct transfer ended_transfer;
};

/* ---- endpoints and hashing ---- */

static struct endpoint endpoint_of(const struct sockaddr_storage *ss)
{
    struct endpoint e;
    memset(&e, 0, sizeof e);
    e.family = (uint8_t)ss->ss_family;
    if (ss->ss_family == AF_INET)
        memcpy(e.addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    else if (ss->ss_family == AF_INET6)
        memcpy(e.addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    e.port = coapmx_sockaddr_port((const struct sockaddr *)ss);
    return e;
}

static bool endpoint_equal(const struct endpoint *a, const struct endpoint *b)
{
    return a->family == b->family && a->port == b->port && memcmp(a->addr, b->addr, 16) == 0;
}

static uint64_t fnv(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_START 0xcbf29ce484222325ULL

static uint64_t endpoint_hash(uint64_t h, const struct endpoint *e)
{
    h = fnv(h, &e->family, 1);
    h = fnv(h, e->addr, 16);
    return fnv(h, &e->port, 2);
}

static uint32_t mid_key(const struct endpoint *src, const struct endpoint *dst, uint16_t mid)
{
    uint64_t h = endpoint_hash(endpoint_hash(FNV_START, src), dst);
    return (uint32_t)(fnv(h, &mid, 2) % LINK_BUCKETS);
}

static uint32_t token_key(const struct endpoint *src, const struct endpoint *dst,
                          const uint8_t *token, uint8_t len)
{
    uint64_t h = endpoint_hash(endpoint_hash(FNV_START, src), dst);
    h = fnv(h, &len, 1);
    return (uint32_t)(fnv(h, token, len) % LINK_BUCKETS);
}

/* The same for both directions; never 0 (0 marks an empty slot). */
static uint64_t pair_hash(const struct endpoint *a, const struct endpoint *b)
{
    uint64_t x = endpoint_hash(FNV_START, a), y = endpoint_hash(FNV_START, b);
    uint64_t h = (x < y) ? fnv(fnv(FNV_START, &x, 8), &y, 8) : fnv(fnv(FNV_START, &y, 8), &x, 8);
    return h == 0 ? 1 : h;
}

static uint32_t path_hash_of(const struct coap_msg *msg)
{
    uint64_t h = FNV_START;
    for (size_t i = 0; i < msg->option_count; i++) {
        const struct coap_option *o = &msg->options[i];
        if (o->number == COAP_OPT_URI_PATH || o->number == COAP_OPT_URI_QUERY) {
            h = fnv(h, &o->number, 2);
            h = fnv(h, o->value, o->length);
        }
    }
    return (uint32_t)h;
}

/* ---- the table of recent messages ---- */

static void unlink_chain(int32_t *heads, uint32_t bucket, int32_t index, bool token_chain,
                         struct message *recent)
{
    int32_t *at = &heads[bucket];
    while (*at >= 0) {
        struct message *m = &recent[*at];
        if (*at == index) {
            *at = token_chain ? m->token_next : m->mid_next;
            return;
        }
        at = token_chain ? &m->token_next : &m->mid_next;
    }
}

static struct message *remember(struct inspector *in, const struct shown *s)
{
    int32_t index = (int32_t)in->next_slot;
    in->next_slot = (in->next_slot + 1) % RECENT_MESSAGES;
    struct message *m = &in->recent[index];
    if (m->used) {
        unlink_chain(in->mid_heads, m->mid_bucket, index, false, in->recent);
        if (m->in_token_chain)
            unlink_chain(in->token_heads, m->token_bucket, index, true, in->recent);
    }
    memset(m, 0, sizeof *m);
    m->used = true;
    m->frame = s->rec->number;
    m->original = s->rec->number;
    m->micros = s->micros;
    m->src = endpoint_of(&s->f->src);
    m->dst = endpoint_of(&s->f->dst);
    m->mid = s->msg.mid;
    m->type = (uint8_t)s->msg.type;
    m->code = s->msg.code;
    m->token_len = s->msg.token_len;
    memcpy(m->token, s->msg.token, s->msg.token_len);
    m->path_hash = path_hash_of(&s->msg);
    m->mid_bucket = mid_key(&m->src, &m->dst, m->mid);
    m->mid_next = in->mid_heads[m->mid_bucket];
    in->mid_heads[m->mid_bucket] = index;
    m->token_next = -1;
    return m;
}

static void remember_token(struct inspector *in, struct message *m)
{
    int32_t index = (int32_t)(m - in->recent);
    m->token_bucket = token_key(&m->src, &m->dst, m->token, m->token_len);
    m->token_next = in->token_heads[m->token_bucket];
    in->token_heads[m->token_bucket] = index;
    m->in_token_chain = true;
}

static bool still_fresh(const struct message *m, long long now)
{
    return now - m->micros <= EXCHANGE_LIFETIME_MICROS;
}

/* The newest message from src to dst with this MID (and, if want_type >= 0, this type). */
static struct message *find_by_mid(struct inspector *in, const struct endpoint *src,
                                   const struct endpoint *dst, uint16_t mid, int want_type,
                                   long long now)
{
    for (int32_t i = in->mid_heads[mid_key(src, dst, mid)]; i >= 0; i = in->recent[i].mid_next) {
        struct message *m = &in->recent[i];
        if (m->mid == mid && endpoint_equal(&m->src, src) && endpoint_equal(&m->dst, dst) &&
            (want_type < 0 || m->type == want_type) && still_fresh(m, now))
            return m;
    }
    return NULL;
}

static struct message *find_request(struct inspector *in, const struct endpoint *src,
                                    const struct endpoint *dst, const uint8_t *token, uint8_t len,
                                    long long now)
{
    for (int32_t i = in->token_heads[token_key(src, dst, token, len)]; i >= 0;
         i = in->recent[i].token_next) {
        struct message *m = &in->recent[i];
        if (m->token_len == len && memcmp(m->token, token, len) == 0 &&
            endpoint_equal(&m->src, src) && endpoint_equal(&m->dst, dst) && still_fresh(m, now))
            return m;
    }
    return NULL;
}

static bool is_request(const struct coap_msg *msg)
{
    return COAP_CODE_CLASS(msg->code) == 0 && msg->code != COAP_EMPTY;
}

static bool is_response(const struct coap_msg *msg)
{
    return COAP_CODE_CLASS(msg->code) >= 2;
}

/* Who acknowledges, answers, repeats whom. Returns whether this datagram completed an exchange
 * (an acknowledgement or answer of a message seen before). */
static bool link_message(struct inspector *in, struct shown *s)
{
    struct endpoint src = endpoint_of(&s->f->src), dst = endpoint_of(&s->f->dst);
    const struct coap_msg *msg = &s->msg;
    bool completes = false;
    struct message *acked = NULL;
    struct message *earlier = find_by_mid(in, &src, &dst, msg->mid, msg->type, s->micros);
    if (earlier != NULL) {
        if (msg->type == COAP_CON)
            s->retransmits = earlier->original;
        else
            s->duplicates = earlier->original;
        s->repeat = ++earlier->repeats;
    }
    if (msg->type == COAP_ACK || msg->type == COAP_RST) {
        acked = find_by_mid(in, &dst, &src, msg->mid, COAP_CON, s->micros);
        if (acked == NULL && msg->type == COAP_RST)
            acked = find_by_mid(in, &dst, &src, msg->mid, COAP_NON, s->micros);
        if (acked != NULL) {
            s->acknowledges = acked->original;
            completes = true;
        }
    }
    if (is_response(msg)) {
        struct message *request =
            find_request(in, &dst, &src, msg->token, msg->token_len, s->micros);
        if (request != NULL) {
            s->answers = request->original;
            s->request_path_hash = request->path_hash;
            completes = true;
        }
        if (acked != NULL && is_request(&(struct coap_msg){.code = acked->code}) &&
            (request == NULL || request->original != acked->original))
            s->token_mismatch = true;
    }
    if (earlier == NULL) {
        struct message *m = remember(in, s);
        if (is_request(msg))
            remember_token(in, m);
    }
    return completes;
}

/* ---- port pairs off the CoAP ports ---- */

static bool pair_confirmed(const struct inspector *in, const struct shown *s)
{
    struct endpoint a = endpoint_of(&s->f->src), b = endpoint_of(&s->f->dst);
    uint64_t h = pair_hash(&a, &b);
    return in->confirmed[h % CONFIRMED_PAIRS] == h;
}

static void confirm_pair(struct inspector *in, const struct shown *s)
{
    struct endpoint a = endpoint_of(&s->f->src), b = endpoint_of(&s->f->dst);
    uint64_t h = pair_hash(&a, &b);
    in->confirmed[h % CONFIRMED_PAIRS] = h; /* a collision forgets the older pair */
}

static bool port_in(const struct inspect_options *opt, uint16_t port)
{
    return dissect_coap_port(port, opt->every_port, opt->ports, opt->port_count);
}

/* ---- block-wise transfers ---- */

static struct transfer *find_transfer(struct inspector *in, uint16_t option,
                                      const struct endpoint *src, const struct endpoint *dst,
                                      uint32_t path_hash)
{
    for (size_t i = 0; i < OPEN_TRANSFERS; i++) {
        struct transfer *t = &in->transfers[i];
        if (t->used && t->option == option && t->path_hash == path_hash &&
            endpoint_equal(&t->src, src) && endpoint_equal(&t->dst, dst))
            return t;
    }
    return NULL;
}

static struct transfer *open_transfer(struct inspector *in)
{
    struct transfer *oldest = &in->transfers[0];
    for (size_t i = 0; i < OPEN_TRANSFERS; i++) {
        struct transfer *t = &in->transfers[i];
        if (!t->used)
            return t;
        if (t->opened < oldest->opened)
            oldest = t;
    }
    return oldest; /* the table is full: the transfer idle longest is forgotten */
}

static void track_block(struct inspector *in, struct shown *s, uint16_t option, uint32_t path_hash)
{
    const struct coap_option *opt = coap_msg_find_option(&s->msg, option, NULL);
    if (opt == NULL || opt->length > 3)
        return;
    uint32_t value = coap_option_uint(opt);
    uint32_t num = value >> 4;
    bool more = (value & 0x8) != 0;
    unsigned szx = value & 0x7;
    struct endpoint src = endpoint_of(&s->f->src), dst = endpoint_of(&s->f->dst);
    struct transfer *t = find_transfer(in, option, &src, &dst, path_hash);
    if (t == NULL || num == 0) {
        if (num == 0 && !more)
            return; /* the whole body in one block: no transfer to follow */
        if (t == NULL)
            t = open_transfer(in);
        *t = (struct transfer){.used = true,
                               .option = option,
                               .src = src,
                               .dst = dst,
                               .path_hash = path_hash,
                               .first_frame = s->rec->number,
                               .next_num = num,
                               .gap = num != 0,
                               .opened = ++in->transfers_opened};
    }
    if (num >= t->next_num) {
        t->gap = t->gap || num > t->next_num;
        t->blocks++;
        t->bytes += s->msg.payload_len;
        t->next_num = num + 1;
        t->block_size = szx == 7 ? 1024 : 16u << szx;
    }
    t->last_frame = s->rec->number;
    if (!more) {
        s->ended = true;
        s->ended_transfer = *t;
        t->used = false;
    }
}

static void track_blocks(struct inspector *in, struct shown *s)
{
    if (s->retransmits != 0 || s->duplicates != 0)
        return;
    if (is_request(&s->msg))
        track_block(in, s, COAP_OPT_BLOCK1, path_hash_of(&s->msg));
    else if (is_response(&s->msg))
        track_block(in, s, COAP_OPT_BLOCK2, s->request_path_hash);
}

/* ---- deciding what a frame is ---- */

static void count_skip(struct inspector *in, const struct dissect_frame *f, uint64_t frame)
{
    in->skipped++;
    for (size_t i = 0; i < in->skip_kinds; i++) {
        if (in->skips[i].cause == f->skip && in->skips[i].detail == f->skip_detail) {
            in->skips[i].count++;
            return;
        }
    }
    if (in->skip_kinds == SKIP_KINDS) {
        in->skipped_other++;
        return;
    }
    in->skips[in->skip_kinds++] = (struct skip_count){f->skip, f->skip_detail, 1, frame};
}

/* A datagram whose header parsed but whose rest breaks RFC 7252: what did parse, and what is
 * wrong, exactly. */
static void read_malformed(struct inspector *in, struct shown *s)
{
    const uint8_t *p = s->f->payload;
    size_t len = s->f->payload_len;
    unsigned tkl = p[0] & 0x0f;
    s->as = SHOW_MALFORMED;
    in->malformed++;
    switch (s->status) {
    case COAP_ERR_TKL:
        snprintf(s->violation_text, sizeof s->violation_text, "token length %u is reserved", tkl);
        coap_msg_init(&s->msg, (enum coap_type)((p[0] >> 4) & 3), p[1],
                      (uint16_t)((p[2] << 8) | p[3]));
        break;
    case COAP_ERR_TOKEN_TRUNCATED:
        snprintf(s->violation_text, sizeof s->violation_text,
                 "datagram ends inside the token (length %u, %zu bytes left)", tkl, len - 4);
        break;
    case COAP_ERR_EMPTY_NOT_EMPTY:
        /* Read the rest as a request would be read, to show what the Empty message carries. */
        if (len > in->scratch_size) {
            uint8_t *bigger = realloc(in->scratch, len);
            if (bigger == NULL) {
                snprintf(s->violation_text, sizeof s->violation_text,
                         "an Empty message carries %zu bytes after its header", len - 4);
                break;
            }
            in->scratch = bigger;
            in->scratch_size = len;
        }
        memcpy(in->scratch, p, len);
        in->scratch[1] = COAP_GET;
        coap_parse(in->scratch, len, &s->msg);
        s->msg.code = COAP_EMPTY;
        if (tkl > 0)
            snprintf(s->violation_text, sizeof s->violation_text,
                     "an Empty message carries a %u-byte token", tkl);
        else
            snprintf(s->violation_text, sizeof s->violation_text,
                     "an Empty message carries %zu bytes after its header", len - 4);
        break;
    case COAP_ERR_TOO_MANY_OPTIONS:
        snprintf(s->violation_text, sizeof s->violation_text,
                 "more than %d options (the first %d shown)", COAP_OPTIONS_MAX, COAP_OPTIONS_MAX);
        break;
    default:
        snprintf(s->violation_text, sizeof s->violation_text, "%s (option %zu)",
                 coap_status_str(s->status), s->msg.option_count + 1);
        break;
    }
    s->violation = s->violation_text;
}

static void classify_udp(struct inspector *in, struct shown *s)
{
    const struct dissect_frame *f = s->f;
    uint16_t sport = coapmx_sockaddr_port((const struct sockaddr *)&f->src);
    uint16_t dport = coapmx_sockaddr_port((const struct sockaddr *)&f->dst);
    bool coap_port = port_in(in->opt, sport) || port_in(in->opt, dport);
    s->coap_port = coap_port;
    if (!coap_port && (sport == COAPS_PORT || dport == COAPS_PORT)) {
        s->as = SHOW_DTLS;
        in->dtls++;
        return;
    }
    s->status = coap_parse(f->payload, f->payload_len, &s->msg);
    if (s->status == COAP_OK) {
        bool confirmed = coap_port || pair_confirmed(in, s);
        bool completes = link_message(in, s);
        if (!confirmed && completes) {
            confirm_pair(in, s);
            confirmed = true;
        }
        if (confirmed) {
            s->as = SHOW_COAP;
            in->coap++;
            track_blocks(in, s);
            return;
        }
    } else if (coap_port && f->payload_len >= COAP_HEADER_SIZE && (f->payload[0] >> 6) == 1) {
        read_malformed(in, s);
        link_message(in, s);
        return;
    }
    s->as = SHOW_UDP;
    in->udp++;
}

static void classify(struct inspector *in, struct shown *s)
{
    const struct dissect_frame *f = s->f;
    if (f->skip != DISSECT_KEPT) {
        s->as = SHOW_SKIPPED;
        count_skip(in, f, s->rec->number);
    } else if (f->kind == DISSECT_ICMP) {
        s->as = SHOW_ICMP;
        in->icmp++;
    } else if (f->kind == DISSECT_FRAGMENT) {
        s->as = SHOW_FRAGMENT;
        in->fragments++;
    } else {
        classify_udp(in, s);
    }
}

/* ---- text ---- */

static void line_time(struct wire_line *l, const struct inspector *in, const struct shown *s)
{
    if (!in->opt->absolute) {
        wire_line_micros(l, s->micros);
        return;
    }
    struct tm tm;
    time_t secs = s->rec->ts.tv_sec;
    if (gmtime_r(&secs, &tm) == NULL) {
        wire_line_append(l, "%lld.%06ld", (long long)secs, s->rec->ts.tv_nsec / 1000);
        return;
    }
    wire_line_append(l, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, s->rec->ts.tv_nsec / 1000);
}

static const char *dtls_content_name(uint8_t type)
{
    switch (type) {
    case 20:
        return "change-cipher-spec";
    case 21:
        return "alert";
    case 22:
        return "handshake";
    case 23:
        return "application-data";
    case 25:
        return "ack";
    default:
        return NULL;
    }
}

static void line_endpoints(struct wire_line *l, const struct shown *s, bool ports)
{
    const struct sockaddr *src = (const struct sockaddr *)&s->f->src;
    const struct sockaddr *dst = (const struct sockaddr *)&s->f->dst;
    if (ports) {
        wire_line_sockaddr(l, src);
        wire_line_append(l, " -> ");
        wire_line_sockaddr(l, dst);
    } else {
        wire_line_host(l, src);
        wire_line_append(l, " -> ");
        wire_line_host(l, dst);
    }
}

static size_t full_udp_payload(const struct dissect_frame *f)
{
    return f->udp_length >= 8 ? f->udp_length - 8u : 0;
}

/* The quote holds the datagram's first bytes: CoAP's fixed header, when there are enough. */
static bool quoted_coap_header(const struct dissect_frame *f, struct coap_msg *msg)
{
    if (f->payload_len < COAP_HEADER_SIZE || (f->payload[0] >> 6) != 1)
        return false;
    const uint8_t *p = f->payload;
    coap_msg_init(msg, (enum coap_type)((p[0] >> 4) & 3), p[1], (uint16_t)((p[2] << 8) | p[3]));
    return true;
}

static void line_quoted_coap(struct wire_line *l, const struct dissect_frame *f)
{
    struct coap_msg msg;
    char code[16];
    if (quoted_coap_header(f, &msg))
        wire_line_append(l, " (quoting %s %s mid=0x%04x)", coap_type_name(msg.type),
                         coap_code_str(msg.code, code, sizeof code), (unsigned)msg.mid);
}

static void line_body(struct wire_line *l, const struct shown *s)
{
    const struct dissect_frame *f = s->f;
    char cause[96];
    switch (s->as) {
    case SHOW_SKIPPED:
        wire_line_append(l, "skipped: %s",
                         dissect_skip_str(f->skip, f->skip_detail, cause, sizeof cause));
        break;
    case SHOW_COAP:
        wire_line_coap(l, &s->msg);
        break;
    case SHOW_MALFORMED:
        wire_line_coap(l, &s->msg);
        wire_line_append(l, " (malformed: %s)", s->violation);
        break;
    case SHOW_UDP:
        wire_line_append(l, "UDP %zu bytes", f->payload_len);
        if (s->coap_port)
            wire_line_append(l, " (not CoAP: %s)", coap_status_str(s->status));
        break;
    case SHOW_DTLS: {
        const char *name = f->payload_len > 0 ? dtls_content_name(f->payload[0]) : NULL;
        wire_line_append(l, "DTLS %s%s%zu bytes (not decoded)", name ? name : "", name ? " " : "",
                         f->payload_len);
        break;
    }
    case SHOW_ICMP:
        wire_line_append(l, "%s %u/%u about ", dissect_icmp_name(f->family, f->icmp_type),
                         (unsigned)f->icmp_type, (unsigned)f->icmp_code);
        wire_line_sockaddr(l, (const struct sockaddr *)&f->inner_src);
        wire_line_append(l, " -> ");
        wire_line_sockaddr(l, (const struct sockaddr *)&f->inner_dst);
        if (!f->inner_is_udp)
            wire_line_append(l, " (not UDP)");
        else
            line_quoted_coap(l, f);
        break;
    case SHOW_FRAGMENT:
        wire_line_append(l, "%s fragment id 0x%x offset %u, %zu bytes%s (not reassembled)",
                         f->family == AF_INET ? "IPv4" : "IPv6", (unsigned)f->frag_id,
                         (unsigned)f->frag_offset, f->payload_len,
                         f->more_fragments ? ", more follow" : ", the last");
        break;
    }
}

static void line_annotations(struct wire_line *l, const struct shown *s)
{
    const struct dissect_frame *f = s->f;
    if (s->as == SHOW_COAP || s->as == SHOW_MALFORMED) {
        if (s->acknowledges != 0 && s->acknowledges == s->answers)
            wire_line_append(l, " [answers #%llu, piggybacked]", (unsigned long long)s->answers);
        else {
            if (s->acknowledges != 0)
                wire_line_append(l, " [%s #%llu]",
                                 s->msg.type == COAP_RST ? "resets" : "acknowledges",
                                 (unsigned long long)s->acknowledges);
            if (s->answers != 0)
                wire_line_append(l, " [answers #%llu]", (unsigned long long)s->answers);
        }
        if (s->token_mismatch)
            wire_line_append(l, " [token differs from the request it acknowledges]");
        if (s->retransmits != 0)
            wire_line_append(l, " [retransmission %u of #%llu]", s->repeat,
                             (unsigned long long)s->retransmits);
        if (s->duplicates != 0)
            wire_line_append(l, " [duplicate of #%llu]", (unsigned long long)s->duplicates);
    }
    if (s->as != SHOW_SKIPPED && f->truncated) {
        if (f->kind == DISSECT_UDP)
            wire_line_append(l, " [truncated: %zu of %zu bytes captured]", f->payload_len,
                             full_udp_payload(f));
        else
            wire_line_append(l, " [truncated: %u of %u bytes captured]", (unsigned)s->rec->caplen,
                             (unsigned)s->rec->origlen);
    }
    if (f->kind == DISSECT_UDP && f->udp_length_wrong && s->as != SHOW_SKIPPED)
        wire_line_append(l, " [UDP length field %u, but the packet carries %zu bytes of UDP]",
                         (unsigned)f->udp_length, f->udp_carried + 8);
    if (f->kind == DISSECT_UDP && f->fragment && s->as != SHOW_SKIPPED)
        wire_line_append(l, " [first %s fragment id 0x%x: %zu of %zu bytes, not reassembled]",
                         f->family == AF_INET ? "IPv4" : "IPv6", (unsigned)f->frag_id,
                         f->payload_len, full_udp_payload(f));
    if (f->layers[0] != '\0')
        wire_line_append(l, " [via %s]", f->layers);
}

static void line_frame(struct wire_line *l, const struct inspector *in, const struct shown *s)
{
    wire_line_append(l, "#%llu ", (unsigned long long)s->rec->number);
    line_time(l, in, s);
    wire_line_append(l, "  ");
    if (s->f->family != 0) {
        line_endpoints(l, s, s->as != SHOW_SKIPPED && s->as != SHOW_ICMP && s->as != SHOW_FRAGMENT);
        wire_line_append(l, "  ");
    }
    line_body(l, s);
    line_annotations(l, s);
}

static const char *option_name_of(uint16_t option)
{
    return option == COAP_OPT_BLOCK1 ? "Block1" : "Block2";
}

static struct sockaddr_storage sockaddr_of(const struct endpoint *e)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (e->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, e->addr, 4);
        sin->sin_port = htons(e->port);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, e->addr, 16);
        sin6->sin6_port = htons(e->port);
    }
    return ss;
}

static void line_endpoint(struct wire_line *l, const struct endpoint *e)
{
    struct sockaddr_storage ss = sockaddr_of(e);
    wire_line_sockaddr(l, (const struct sockaddr *)&ss);
}

static void line_transfer(struct wire_line *l, const struct transfer *t, bool complete)
{
    wire_line_append(l, "  %s transfer #%llu..#%llu ", option_name_of(t->option),
                     (unsigned long long)t->first_frame, (unsigned long long)t->last_frame);
    line_endpoint(l, &t->src);
    wire_line_append(l, " -> ");
    line_endpoint(l, &t->dst);
    wire_line_append(l, ": %u block%s of %u bytes, %llu bytes in all, %s", t->blocks,
                     t->blocks == 1 ? "" : "s", t->block_size, (unsigned long long)t->bytes,
                     complete ? (t->gap ? "complete, but blocks are missing" : "complete")
                              : "incomplete (the capture ends first)");
}

/* ---- JSON ---- */

static void json_text(FILE *out, const char *text)
{
    json_write_string(out, text, strlen(text));
}

static void json_hex(FILE *out, const uint8_t *data, size_t len)
{
    fputc('"', out);
    for (size_t i = 0; i < len; i++)
        fprintf(out, "%02x", data[i]);
    fputc('"', out);
}

static void json_sockaddr(FILE *out, const struct sockaddr_storage *ss, bool with_port)
{
    char text[INET6_ADDRSTRLEN + 16];
    struct wire_line l = wire_line_start(text, sizeof text);
    if (with_port)
        wire_line_sockaddr(&l, (const struct sockaddr *)ss);
    else
        wire_line_host(&l, (const struct sockaddr *)ss);
    json_text(out, text);
}

static void json_option(FILE *out, const struct coap_option *opt)
{
    const char *name = coap_option_name(opt->number);
    fprintf(out, "{\"number\":%u,\"name\":", (unsigned)opt->number);
    if (name != NULL)
        json_text(out, name);
    else
        fputs("null", out);
    fputs(",\"value\":", out);
    uint32_t v;
    switch (wire_option_format(opt)) {
    case WIRE_OPTION_TEXT:
        json_write_string(out, (const char *)opt->value, opt->length);
        break;
    case WIRE_OPTION_UINT:
        fprintf(out, "%lu", (unsigned long)coap_option_uint(opt));
        break;
    case WIRE_OPTION_BLOCK:
        v = coap_option_uint(opt);
        fprintf(out, "{\"num\":%lu,\"more\":%s,\"szx\":%u}", (unsigned long)(v >> 4),
                (v & 8) ? "true" : "false", (unsigned)(v & 7));
        break;
    case WIRE_OPTION_OPAQUE:
        json_hex(out, opt->value, opt->length);
        break;
    }
    fputc('}', out);
}

static void json_coap(FILE *out, const struct coap_msg *msg)
{
    char code[16];
    fprintf(out, ",\"coap\":{\"type\":\"%s\",\"code\":\"%s\",\"mid\":%u,\"token\":",
            coap_type_name(msg->type), coap_code_str(msg->code, code, sizeof code),
            (unsigned)msg->mid);
    json_hex(out, msg->token, msg->token_len);
    fputs(",\"options\":[", out);
    for (size_t i = 0; i < msg->option_count; i++) {
        if (i > 0)
            fputc(',', out);
        json_option(out, &msg->options[i]);
    }
    fprintf(out, "],\"payload_length\":%zu}", msg->payload_len);
}

static const char *kind_name(const struct shown *s)
{
    static const char *const names[] = {
        [SHOW_SKIPPED] = "skipped",          [SHOW_UDP] = "udp",   [SHOW_COAP] = "coap",
        [SHOW_MALFORMED] = "coap-malformed", [SHOW_DTLS] = "dtls", [SHOW_ICMP] = "icmp",
        [SHOW_FRAGMENT] = "fragment",
    };
    return names[s->as];
}

static void json_link(FILE *out, const char *name, uint64_t frame)
{
    if (frame != 0)
        fprintf(out, ",\"%s\":%llu", name, (unsigned long long)frame);
}

static void json_frame(FILE *out, const struct inspector *in, const struct shown *s)
{
    const struct dissect_frame *f = s->f;
    char text[128];
    fprintf(out, "{\"frame\":%llu,\"time\":", (unsigned long long)s->rec->number);
    struct wire_line l = wire_line_start(text, sizeof text);
    line_time(&l, in, s);
    if (in->opt->absolute)
        json_text(out, text);
    else
        fputs(text, out);
    fprintf(out, ",\"kind\":\"%s\"", kind_name(s));
    if (f->family != 0) {
        bool ports = s->as != SHOW_SKIPPED && s->as != SHOW_ICMP && s->as != SHOW_FRAGMENT;
        fputs(",\"src\":", out);
        json_sockaddr(out, &f->src, ports);
        fputs(",\"dst\":", out);
        json_sockaddr(out, &f->dst, ports);
    }
    if (s->as == SHOW_SKIPPED) {
        fputs(",\"cause\":", out);
        json_text(out, dissect_skip_str(f->skip, f->skip_detail, text, sizeof text));
    }
    if (s->as == SHOW_UDP || s->as == SHOW_DTLS || s->as == SHOW_FRAGMENT)
        fprintf(out, ",\"length\":%zu", f->payload_len);
    if (s->as == SHOW_UDP && s->coap_port) {
        fputs(",\"not_coap\":", out);
        json_text(out, coap_status_str(s->status));
    }
    if (s->as == SHOW_COAP || s->as == SHOW_MALFORMED) {
        json_coap(out, &s->msg);
        if (s->violation != NULL) {
            fputs(",\"violation\":", out);
            json_text(out, s->violation);
        }
        json_link(out, "acknowledges", s->acknowledges);
        json_link(out, "answers", s->answers);
        json_link(out, "retransmission_of", s->retransmits);
        json_link(out, "duplicate_of", s->duplicates);
        if (s->token_mismatch)
            fputs(",\"token_mismatch\":true", out);
    }
    if (s->as == SHOW_ICMP) {
        fprintf(out, ",\"icmp\":{\"type\":%u,\"code\":%u,\"about_src\":", (unsigned)f->icmp_type,
                (unsigned)f->icmp_code);
        json_sockaddr(out, &f->inner_src, f->inner_is_udp);
        fputs(",\"about_dst\":", out);
        json_sockaddr(out, &f->inner_dst, f->inner_is_udp);
        struct coap_msg quoted;
        char code[16];
        if (f->inner_is_udp && quoted_coap_header(f, &quoted))
            fprintf(out, ",\"quoting\":{\"type\":\"%s\",\"code\":\"%s\",\"mid\":%u}",
                    coap_type_name(quoted.type), coap_code_str(quoted.code, code, sizeof code),
                    (unsigned)quoted.mid);
        fputc('}', out);
    }
    if (s->as != SHOW_SKIPPED && f->truncated)
        fprintf(out, ",\"truncated\":{\"captured\":%u,\"length\":%u}", (unsigned)s->rec->caplen,
                (unsigned)s->rec->origlen);
    if (s->as != SHOW_SKIPPED && f->kind == DISSECT_UDP && f->udp_length_wrong)
        fprintf(out, ",\"udp_length_wrong\":{\"field\":%u,\"carried\":%zu}",
                (unsigned)f->udp_length, f->udp_carried + 8);
    if (s->as != SHOW_SKIPPED && f->fragment)
        fprintf(out, ",\"fragment\":{\"id\":%u,\"offset\":%u,\"more\":%s}", (unsigned)f->frag_id,
                (unsigned)f->frag_offset, f->more_fragments ? "true" : "false");
    if (f->layers[0] != '\0') {
        fputs(",\"via\":", out);
        json_text(out, f->layers);
    }
    fputs("}\n", out);
}

static void json_transfer(FILE *out, const struct transfer *t, bool complete)
{
    struct sockaddr_storage src = sockaddr_of(&t->src), dst = sockaddr_of(&t->dst);
    fprintf(out, "{\"transfer\":{\"option\":\"%s\",\"first\":%llu,\"last\":%llu,\"src\":",
            option_name_of(t->option), (unsigned long long)t->first_frame,
            (unsigned long long)t->last_frame);
    json_sockaddr(out, &src, true);
    fputs(",\"dst\":", out);
    json_sockaddr(out, &dst, true);
    fprintf(out, ",\"blocks\":%u,\"block_size\":%u,\"bytes\":%llu,\"complete\":%s,\"gap\":%s}}\n",
            t->blocks, t->block_size, (unsigned long long)t->bytes, complete ? "true" : "false",
            t->gap ? "true" : "false");
}

/* ---- output ---- */

static void emit_line(struct inspector *in, void (*fill)(struct wire_line *, const void *),
                      const void *arg)
{
    char small[LINE_SIZE];
    struct wire_line l = wire_line_start(small, sizeof small);
    fill(&l, arg);
    char *text = small;
    char *big = NULL;
    if (l.needed >= sizeof small && (big = malloc(l.needed + 1)) != NULL) {
        l = wire_line_start(big, l.needed + 1);
        fill(&l, arg);
        text = big;
    }
    if (fprintf(in->out, "%s\n", text) < 0)
        in->write_error = errno ? errno : EIO;
    free(big);
}

struct frame_arg {
    const struct inspector *in;
    const struct shown *s;
};

static void fill_frame(struct wire_line *l, const void *arg)
{
    const struct frame_arg *a = arg;
    line_frame(l, a->in, a->s);
}

struct transfer_arg {
    const struct transfer *t;
    bool complete;
};

static void fill_transfer(struct wire_line *l, const void *arg)
{
    const struct transfer_arg *a = arg;
    line_transfer(l, a->t, a->complete);
}

static void chart_transfer(struct inspector *in, const struct transfer *t, bool complete)
{
    char label[512];
    struct wire_line l = wire_line_start(label, sizeof label);
    line_transfer(&l, t, complete);
    struct chart_row row = {.frame = t->last_frame,
                            .micros = in->last_micros,
                            .style = CHART_NOTE,
                            .label = label + 2, /* without the text form's indent */
                            .note = ""};
    chart_row(in->chart, &row);
}

static void emit_transfer(struct inspector *in, const struct transfer *t, bool complete)
{
    if (in->mode == PASS_COLLECT) {
        in->chart_rows++;
        return;
    }
    if (in->mode == PASS_DRAW) {
        chart_transfer(in, t, complete);
        return;
    }
    if (in->opt->json) {
        json_transfer(in->out, t, complete);
        return;
    }
    struct transfer_arg a = {t, complete};
    emit_line(in, fill_transfer, &a);
}

static enum chart_style chart_style_of(const struct shown *s)
{
    switch (s->as) {
    case SHOW_COAP:
        if (s->msg.type == COAP_RST)
            return CHART_RESET;
        if (s->retransmits != 0)
            return CHART_RETRANSMISSION;
        return s->duplicates != 0 ? CHART_DUPLICATE : CHART_MESSAGE;
    case SHOW_MALFORMED:
        return CHART_MALFORMED;
    case SHOW_ICMP:
        return CHART_ICMP;
    default:
        return CHART_OTHER;
    }
}

static bool shown_with_ports(const struct shown *s)
{
    return s->as != SHOW_ICMP && s->as != SHOW_FRAGMENT && s->as != SHOW_SKIPPED;
}

static void chart_frame(struct inspector *in, const struct shown *s)
{
    const struct sockaddr *src = (const struct sockaddr *)&s->f->src;
    const struct sockaddr *dst = (const struct sockaddr *)&s->f->dst;
    if (s->as == SHOW_SKIPPED)
        return; /* counted in the footer */
    if (in->mode == PASS_COLLECT) {
        chart_add_endpoint(in->chart, src, shown_with_ports(s));
        chart_add_endpoint(in->chart, dst, shown_with_ports(s));
        in->chart_rows++;
        return;
    }
    char label[LINE_SIZE], note[LINE_SIZE];
    struct wire_line l = wire_line_start(label, sizeof label);
    line_body(&l, s);
    struct wire_line n = wire_line_start(note, sizeof note);
    line_annotations(&n, s);
    struct chart_row row = {.frame = s->rec->number,
                            .micros = s->micros,
                            .src = src,
                            .dst = dst,
                            .with_ports = shown_with_ports(s),
                            .style = chart_style_of(s),
                            .label = label,
                            .note = note[0] == ' ' ? note + 1 : note};
    chart_row(in->chart, &row);
}

static void emit_frame(struct inspector *in, const struct shown *s)
{
    in->last_micros = s->micros;
    if (in->mode != PASS_PRINT) {
        chart_frame(in, s);
    } else if (in->opt->json) {
        json_frame(in->out, in, s);
    } else {
        struct frame_arg a = {in, s};
        emit_line(in, fill_frame, &a);
    }
    if (s->ended)
        emit_transfer(in, &s->ended_transfer, true);
}

/* What the summary counts, in its order, named for JSON and for people. */
static const struct {
    const char *json, *text;
    size_t offset;
} counters[] = {
    {"coap", "CoAP", offsetof(struct inspector, coap)},
    {"malformed", "malformed CoAP", offsetof(struct inspector, malformed)},
    {"udp", "other UDP", offsetof(struct inspector, udp)},
    {"dtls", "DTLS", offsetof(struct inspector, dtls)},
    {"icmp", "ICMP", offsetof(struct inspector, icmp)},
    {"fragments", "later fragments", offsetof(struct inspector, fragments)},
    {"skipped", "skipped", offsetof(struct inspector, skipped)},
};

static unsigned long long counter_value(const struct inspector *in, size_t i)
{
    uint64_t value;
    memcpy(&value, (const char *)in + counters[i].offset, sizeof value);
    return (unsigned long long)value;
}

static void emit_summary(struct inspector *in, const char *stopped)
{
    FILE *out = in->out;
    char cause[96];
    if (in->opt->json) {
        fprintf(out, "{\"summary\":{\"frames\":%llu", (unsigned long long)in->frames);
        for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
            fprintf(out, ",\"%s\":%llu", counters[i].json, counter_value(in, i));
        fputs(",\"causes\":[", out);
        for (size_t i = 0; i < in->skip_kinds; i++) {
            const struct skip_count *k = &in->skips[i];
            fprintf(out, "%s{\"cause\":", i ? "," : "");
            json_text(out, dissect_skip_str(k->cause, k->detail, cause, sizeof cause));
            fprintf(out, ",\"count\":%llu,\"first\":%llu}", (unsigned long long)k->count,
                    (unsigned long long)k->first_frame);
        }
        fputs("],\"stopped\":", out);
        if (stopped != NULL)
            json_text(out, stopped);
        else
            fputs("null", out);
        fputs("}}\n", out);
        return;
    }
    fprintf(out, "summary: %llu frames", (unsigned long long)in->frames);
    for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++)
        fprintf(out, "%s%llu %s", i ? ", " : ": ", counter_value(in, i), counters[i].text);
    for (size_t i = 0; i < in->skip_kinds; i++) {
        const struct skip_count *k = &in->skips[i];
        fprintf(out, "%s%llu %s from #%llu", i ? "; " : ": ", (unsigned long long)k->count,
                dissect_skip_str(k->cause, k->detail, cause, sizeof cause),
                (unsigned long long)k->first_frame);
    }
    if (in->skipped_other > 0)
        fprintf(out, "; %llu of other causes", (unsigned long long)in->skipped_other);
    if (stopped != NULL)
        fprintf(out, "; reading stopped: %s", stopped);
    fputc('\n', out);
}

static long long micros_since(const struct timespec *origin, const struct timespec *ts)
{
    return wire_micros_between(origin->tv_sec, origin->tv_nsec / 1000, ts->tv_sec,
                               ts->tv_nsec / 1000);
}

static void inspect_record(struct inspector *in, const struct pcapfile_record *rec)
{
    struct dissect_frame f;
    dissect_record(rec->linktype, rec->data, rec->caplen, rec->origlen, &f);
    if (!in->have_origin) {
        in->origin = rec->ts;
        in->have_origin = true;
    }
    struct shown s;
    memset(&s, 0, sizeof s);
    s.rec = rec;
    s.f = &f;
    s.micros = micros_since(&in->origin, &rec->ts);
    in->frames++;
    classify(in, &s);
    emit_frame(in, &s);
}

static bool stream_is_empty(FILE *f)
{
    struct stat st;
    return fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

/* One pass over the capture: PASS_PRINT writes text or JSON; a chart takes a PASS_COLLECT and
 * a PASS_DRAW. */
static enum inspect_result run_pass(FILE *f, const char *name, const struct inspect_options *opt,
                                    FILE *out, FILE *err, enum pass_mode mode, struct chart *chart,
                                    size_t *chart_rows)
{
    struct pcapfile_reader reader;
    if (pcapfile_open(&reader, f) != 0) {
        fprintf(err, "coapmx pcap: %s: not a capture: %s\n", name, reader.error);
        pcapfile_close(&reader);
        return INSPECT_UNUSABLE;
    }
    struct inspector *in = calloc(1, sizeof *in);
    struct message *recent = calloc(RECENT_MESSAGES, sizeof *recent);
    if (in == NULL || recent == NULL) {
        fprintf(err, "coapmx pcap: %s: out of memory\n", name);
        free(in);
        free(recent);
        pcapfile_close(&reader);
        return INSPECT_UNUSABLE;
    }
    in->recent = recent;
    in->opt = opt;
    in->out = out;
    in->mode = mode;
    in->chart = chart;
    for (size_t i = 0; i < LINK_BUCKETS; i++)
        in->mid_heads[i] = in->token_heads[i] = -1;
    if (mode == PASS_DRAW)
        chart_begin(chart, out, name, *chart_rows);
    struct pcapfile_record rec;
    int rc;
    while ((rc = pcapfile_next(&reader, &rec)) > 0 && in->write_error == 0)
        inspect_record(in, &rec);
    for (size_t i = 0; i < OPEN_TRANSFERS && in->write_error == 0; i++)
        if (in->transfers[i].used)
            emit_transfer(in, &in->transfers[i], false);
    const char *stopped = rc < 0 ? reader.error : NULL;
    if (mode == PASS_PRINT) {
        emit_summary(in, stopped);
    } else if (mode == PASS_DRAW) {
        char *footer = NULL;
        size_t footer_len = 0;
        FILE *text = open_memstream(&footer, &footer_len);
        if (text != NULL) {
            in->out = text;
            emit_summary(in, stopped);
            fclose(text);
            in->out = out;
        }
        if (footer != NULL && footer_len > 0 && footer[footer_len - 1] == '\n')
            footer[footer_len - 1] = '\0';
        chart_end(chart, footer != NULL ? footer : "");
        free(footer);
    } else {
        *chart_rows = in->chart_rows;
    }
    enum inspect_result result = INSPECT_COMPLETE;
    if (in->write_error != 0 || fflush(out) != 0 || ferror(out)) {
        fprintf(err, "coapmx pcap: %s: cannot write the output: %s\n", name,
                strerror(in->write_error ? in->write_error : EIO));
        result = INSPECT_STOPPED;
    } else if (stopped != NULL) {
        if (mode != PASS_COLLECT)
            fprintf(err, "coapmx pcap: %s: reading stopped after frame %llu: %s\n", name,
                    (unsigned long long)in->frames, stopped);
        result = INSPECT_STOPPED;
    }
    free(in->scratch);
    free(in->recent);
    free(in);
    pcapfile_close(&reader);
    return result;
}

enum inspect_result inspect_stream(FILE *f, const char *name, const struct inspect_options *opt,
                                   FILE *out, FILE *err)
{
    if (stream_is_empty(f)) {
        fprintf(err, "coapmx pcap: %s: not a capture: the file is empty\n", name);
        return INSPECT_UNUSABLE;
    }
    if (!opt->svg)
        return run_pass(f, name, opt, out, err, PASS_PRINT, NULL, NULL);
    struct chart *chart = calloc(1, sizeof *chart);
    if (chart == NULL) {
        fprintf(err, "coapmx pcap: %s: out of memory\n", name);
        return INSPECT_UNUSABLE;
    }
    char why[512];
    if (opt->hosts != NULL && chart_read_hosts(chart, opt->hosts, why, sizeof why) != 0) {
        fprintf(err, "coapmx pcap: --hosts %s\n", why);
        free(chart);
        return INSPECT_UNUSABLE;
    }
    size_t rows = 0;
    enum inspect_result result = run_pass(f, name, opt, out, err, PASS_COLLECT, chart, &rows);
    if (result != INSPECT_UNUSABLE) {
        if (fseek(f, 0, SEEK_SET) != 0) {
            fprintf(err, "coapmx pcap: %s: --svg reads the file twice, and it cannot be rewound\n",
                    name);
            result = INSPECT_UNUSABLE;
        } else {
            result = run_pass(f, name, opt, out, err, PASS_DRAW, chart, &rows);
        }
    }
    free(chart);
    return result;
}

enum inspect_result inspect_file(const char *path, const struct inspect_options *opt, FILE *out,
                                 FILE *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(err, "coapmx pcap: %s: %s\n", path, strerror(errno));
        return INSPECT_UNUSABLE;
    }
    enum inspect_result result = inspect_stream(f, path, opt, out, err);
    fclose(f);
    return result;
}
