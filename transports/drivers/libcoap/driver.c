/* The libcoap driver (transports/drivers/PROTOCOL.md): libcoap 4.3.1 (Debian's libcoap3, the
 * notls flavour) used as an application would. Each endpoint is a libcoap context of its own,
 * so that its sockets, resources and served count are its own; clients get a session per
 * remote address (getaddrinfo's first answer, as coap-client does), servers a libcoap endpoint.
 * One thread: poll on stdin and every context's epoll descriptor, then coap_io_process. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <coap3/coap.h>

#include "../../../harness/json.h"

#define MAX_ENDPOINTS 8
#define MAX_REQUESTS  64
#define MAX_SESSIONS  80
#define LINE_MAX_LEN  (1u << 20)

struct endpoint {
    int id;
    bool open, server;
    coap_context_t *ctx;
    coap_address_t bind;
    bool has_bind;
    unsigned served;
    coap_session_t *sessions[MAX_SESSIONS];
    size_t session_count;
};

struct request {
    long long id;
    struct endpoint *ep;
    coap_session_t *session;
    uint8_t token[8];
    size_t token_len;
    bool group, non;
    coap_tick_t deadline; /* NON or group: the driver's own wait; 0: the stack's */
    uint8_t *payload;     /* a Block1 body, alive until the request ends */
};

static struct endpoint endpoints[MAX_ENDPOINTS];
static struct request requests[MAX_REQUESTS];
static size_t request_count;
static struct {
    unsigned ack_timeout_ms, ack_random_factor_milli, max_retransmit, nstart;
    unsigned exchange_lifetime_ms, non_lifetime_ms;
} timing = {2000, 1500, 4, 1, 247000, 145000};
static char served_text[64];

/* ---- output ---- */

static void out_string(const char *key, const char *value)
{
    printf(",\"%s\":", key);
    json_write_string(stdout, value, strlen(value));
}

static void out_end(void)
{
    fputs("}\n", stdout);
    fflush(stdout);
}

static void reply_ok(long long id)
{
    printf("{\"id\":%lld,\"ok\":true", id);
    out_end();
}

static void out_error(const char *code, int errnum, const char *fmt, va_list ap)
{
    char message[512];
    vsnprintf(message, sizeof message, fmt, ap);
    printf(",\"error\":{\"code\":\"%s\"", code);
    if (errnum != 0 && strerrorname_np(errnum) != NULL)
        printf(",\"errno\":\"%s\"", strerrorname_np(errnum));
    out_string("message", message);
    fputc('}', stdout);
}

static void reply_error(long long id, const char *code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reply_error(long long id, const char *code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("{\"id\":%lld,\"ok\":false", id);
    out_error(code, errnum, fmt, ap);
    va_end(ap);
    out_end();
}

static void done_error(long long id, const char *code, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void done_error(long long id, const char *code, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("{\"event\":\"done\",\"request\":%lld", id);
    out_error(code, errnum, fmt, ap);
    va_end(ap);
    out_end();
}

/* libcoap's own spelling is "IP:port" (coap_print_addr); the protocol wants the parts. */
static void out_address(const char *key, const coap_address_t *a)
{
    char ip[INET6_ADDRSTRLEN + IF_NAMESIZE + 1] = "";
    unsigned port = 0;
    if (a->addr.sa.sa_family == AF_INET) {
        inet_ntop(AF_INET, &a->addr.sin.sin_addr, ip, sizeof ip);
        port = ntohs(a->addr.sin.sin_port);
    } else if (a->addr.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &a->addr.sin6.sin6_addr, ip, sizeof ip);
        port = ntohs(a->addr.sin6.sin6_port);
        /* coap_print_addr leaves the zone out, but libcoap's address holds it. */
        char zone[IF_NAMESIZE];
        if (a->addr.sin6.sin6_scope_id != 0 && if_indextoname(a->addr.sin6.sin6_scope_id, zone))
            snprintf(ip + strlen(ip), sizeof ip - strlen(ip), "%%%s", zone);
    }
    printf(",\"%s\":{\"address\":", key);
    json_write_string(stdout, ip, strlen(ip));
    printf(",\"port\":%u}", port);
}

static void out_hex(const char *key, const uint8_t *data, size_t len)
{
    printf(",\"%s\":\"", key);
    for (size_t i = 0; i < len; i++)
        printf("%02x", data[i]);
    fputc('"', stdout);
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'                 ? c - '0'
           : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                : -1;
}

static void log_to_stderr(coap_log_t level, const char *message)
{
    (void)level;
    fputs(message, stderr);
}

/* ---- timing ---- */

static coap_fixed_point_t fixed(unsigned milli)
{
    return (coap_fixed_point_t){.integer_part = milli / 1000, .fractional_part = milli % 1000};
}

/* libcoap's setters ignore an ACK_TIMEOUT under 1 s and a MAX_RETRANSMIT under 1. */
static void apply_timing(coap_session_t *s)
{
    coap_session_set_ack_timeout(s, fixed(timing.ack_timeout_ms));
    coap_session_set_ack_random_factor(s, fixed(timing.ack_random_factor_milli));
    coap_session_set_max_retransmit(s, timing.max_retransmit);
    coap_session_set_nstart(s, timing.nstart);
}

static int on_event(coap_session_t *session, const coap_event_t event)
{
    if (event == COAP_EVENT_SERVER_SESSION_NEW)
        apply_timing(session);
    return 0;
}

/* ---- serving ---- */

static struct endpoint *endpoint_of_context(const coap_context_t *ctx)
{
    for (int i = 0; i < MAX_ENDPOINTS; i++)
        if (endpoints[i].open && endpoints[i].ctx == ctx)
            return &endpoints[i];
    return NULL;
}

static const char *type_name(coap_pdu_type_t t)
{
    return t == COAP_MESSAGE_CON   ? "CON"
           : t == COAP_MESSAGE_NON ? "NON"
           : t == COAP_MESSAGE_ACK ? "ACK"
                                   : "RST";
}

static bool is_multicast(const coap_address_t *a)
{
    if (a->addr.sa.sa_family == AF_INET)
        return IN_MULTICAST(ntohl(a->addr.sin.sin_addr.s_addr));
    if (a->addr.sa.sa_family != AF_INET6)
        return false;
    const struct in6_addr *v6 = &a->addr.sin6.sin6_addr;
    return IN6_IS_ADDR_MULTICAST(v6) ||
           (IN6_IS_ADDR_V4MAPPED(v6) && IN_MULTICAST(ntohl(v6->s6_addr32[3])));
}

static void serve(coap_resource_t *resource, coap_session_t *session, const coap_pdu_t *request,
                  const coap_string_t *query, coap_pdu_t *response)
{
    (void)query;
    struct endpoint *ep = endpoint_of_context(coap_session_get_context(session));
    size_t len = 0, offset = 0, total = 0;
    const uint8_t *data = NULL;
    if (!coap_get_data_large(request, &len, &data, &offset, &total))
        total = 0;
    coap_pdu_code_t method = coap_pdu_get_code(request);
    coap_string_t *path = coap_get_uri_path(request);
    const coap_address_t *local = coap_session_get_addr_local(session);
    if (ep != NULL)
        ep->served++;
    printf("{\"event\":\"served\",\"endpoint\":%d", ep ? ep->id : -1);
    char path_text[256];
    snprintf(path_text, sizeof path_text, "%.*s", path ? (int)path->length : 0,
             path ? (const char *)path->s : "");
    out_string("path", path_text);
    out_string("method", method == COAP_REQUEST_CODE_GET    ? "GET"
                         : method == COAP_REQUEST_CODE_POST ? "POST"
                         : method == COAP_REQUEST_CODE_PUT  ? "PUT"
                                                            : "DELETE");
    out_string("type", type_name(coap_pdu_get_type(request)));
    printf(",\"payload_len\":%zu", total);
    out_address("peer", coap_session_get_addr_remote(session));
    out_address("local", local);
    printf(",\"multicast\":%s", is_multicast(local) ? "true" : "false");
    out_end();
    coap_delete_string(path);
    if (method == COAP_REQUEST_CODE_GET) {
        coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
        snprintf(served_text, sizeof served_text, "served %u", ep ? ep->served : 0);
    } else {
        coap_pdu_set_code(response, COAP_RESPONSE_CODE_CHANGED);
        snprintf(served_text, sizeof served_text, "got %zu bytes", total);
    }
    coap_add_data_large_response(resource, session, request, response, NULL,
                                 COAP_MEDIATYPE_TEXT_PLAIN, -1, 0, strlen(served_text),
                                 (const uint8_t *)served_text, NULL, NULL);
}

static void serve_method_not_allowed(coap_resource_t *resource, coap_session_t *session,
                                     const coap_pdu_t *request, const coap_string_t *query,
                                     coap_pdu_t *response)
{
    (void)resource, (void)session, (void)request, (void)query;
    coap_pdu_set_code(response, COAP_RESPONSE_CODE_NOT_ALLOWED);
}

/* ---- requests ---- */

static struct request *request_by_token(const coap_pdu_t *pdu)
{
    coap_bin_const_t token = coap_pdu_get_token(pdu);
    for (size_t i = 0; i < request_count; i++)
        if (requests[i].token_len == token.length &&
            memcmp(requests[i].token, token.s, token.length) == 0)
            return &requests[i];
    return NULL;
}

static void forget(struct request *r)
{
    free(r->payload);
    *r = requests[--request_count];
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
                                   const coap_pdu_t *received, const coap_mid_t mid)
{
    (void)sent, (void)mid;
    struct request *r = request_by_token(received);
    if (r == NULL)
        return COAP_RESPONSE_OK;
    size_t len = 0, offset = 0, total = 0;
    const uint8_t *data = NULL;
    coap_get_data_large(received, &len, &data, &offset, &total);
    coap_pdu_code_t code = coap_pdu_get_code(received);
    printf("{\"event\":\"response\",\"request\":%lld,\"code\":\"%u.%02u\"", r->id, code >> 5,
           code & 0x1f);
    out_string("type", type_name(coap_pdu_get_type(received)));
    out_hex("payload_hex", data, len);
    /* After a group response, libcoap's session names the responder. */
    out_address("remote", coap_session_get_addr_remote(session));
    out_address("local", coap_session_get_addr_local(session));
    if (r->group)
        fputs(",\"group\":true", stdout);
    out_end();
    if (!r->group) {
        printf("{\"event\":\"done\",\"request\":%lld", r->id);
        out_end();
        forget(r);
    }
    return COAP_RESPONSE_OK;
}

static struct request *request_by_sent(coap_session_t *session, const coap_pdu_t *sent)
{
    if (sent != NULL)
        return request_by_token(sent);
    for (size_t i = 0; i < request_count; i++)
        if (requests[i].session == session)
            return &requests[i];
    return NULL;
}

static void on_nack(coap_session_t *session, const coap_pdu_t *sent,
                    const coap_nack_reason_t reason, const coap_mid_t mid)
{
    (void)mid;
    struct request *r = request_by_sent(session, sent);
    if (r == NULL)
        return; /* already ended (an ICMP error is reported again for each retransmission) */
    switch (reason) {
    case COAP_NACK_TOO_MANY_RETRIES:
        done_error(r->id, "ETIMEOUT", 0, "COAP_NACK_TOO_MANY_RETRIES");
        break;
    case COAP_NACK_RST:
        done_error(r->id, "ERESET", 0, "COAP_NACK_RST");
        break;
    case COAP_NACK_ICMP_ISSUE:
        /* What libcoap tells the application: it retransmits on regardless. */
        done_error(r->id, "ENETWORK", ECONNREFUSED, "COAP_NACK_ICMP_ISSUE");
        break;
    default:
        done_error(r->id, "ENETWORK", 0, "nack reason %d", (int)reason);
    }
    forget(r);
}

static int resolve(const char *host, uint16_t port, coap_address_t *out, char *why, size_t cap)
{
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = AF_UNSPEC}, *res;
    char service[8];
    snprintf(service, sizeof service, "%u", port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(why, cap, "getaddrinfo(%s): %s", host, gai_strerror(rc));
        return -1;
    }
    coap_address_init(out);
    out->size = res->ai_addrlen;
    memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static bool same_address(const coap_address_t *a, const coap_address_t *b)
{
    return a->size == b->size && memcmp(&a->addr, &b->addr, a->size) == 0;
}

/* A session per remote address, as an application keeps one per server. */
static coap_session_t *session_for(struct endpoint *ep, const coap_address_t *dst, bool *created)
{
    *created = false;
    for (size_t i = 0; i < ep->session_count; i++)
        if (same_address(coap_session_get_addr_remote(ep->sessions[i]), dst))
            return ep->sessions[i];
    if (ep->session_count == MAX_SESSIONS)
        return NULL;
    coap_session_t *s =
        coap_new_client_session(ep->ctx, ep->has_bind ? &ep->bind : NULL, dst, COAP_PROTO_UDP);
    if (s == NULL)
        return NULL;
    apply_timing(s);
    ep->sessions[ep->session_count++] = s;
    *created = true;
    return s;
}

/* What an application does with a session whose first request was refused: lets it go. */
static void drop_session(struct endpoint *ep, coap_session_t *s)
{
    for (size_t i = 0; i < ep->session_count; i++)
        if (ep->sessions[i] == s) {
            ep->sessions[i] = ep->sessions[--ep->session_count];
            coap_session_release(s);
            return;
        }
}

/* The host of a URI, percent-decoded (RFC 3986; a zone is written %25): coap_split_uri leaves
 * that to the application. */
static int decode_host(const coap_str_const_t *raw, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < raw->length; i++) {
        if (n + 1 >= cap)
            return -1;
        if (raw->s[i] == '%' && i + 2 < raw->length && hex_value((char)raw->s[i + 1]) >= 0 &&
            hex_value((char)raw->s[i + 2]) >= 0) {
            out[n++] = (char)(hex_value((char)raw->s[i + 1]) << 4 | hex_value((char)raw->s[i + 2]));
            i += 2;
        } else {
            out[n++] = (char)raw->s[i];
        }
    }
    out[n] = '\0';
    return 0;
}

static struct endpoint *endpoint_by_id(int id)
{
    for (int i = 0; i < MAX_ENDPOINTS; i++)
        if (endpoints[i].open && endpoints[i].id == id)
            return &endpoints[i];
    return NULL;
}

static void add_split_options(coap_optlist_t **options, uint16_t number,
                              const coap_str_const_t *text,
                              int (*split)(const uint8_t *, size_t, unsigned char *, size_t *))
{
    unsigned char buf[1024];
    size_t buflen = sizeof buf;
    if (text->length == 0)
        return; /* libcoap makes a malformed option of an empty part */
    int segments = split(text->s, text->length, buf, &buflen);
    unsigned char *p = buf;
    for (int i = 0; i < segments; i++) {
        coap_insert_optlist(options,
                            coap_new_optlist(number, coap_opt_length(p), coap_opt_value(p)));
        p += coap_opt_size(p);
    }
}

static void op_request(long long id, const struct json *cmd)
{
    struct endpoint *ep = endpoint_by_id((int)json_num(cmd, "endpoint", -1));
    const char *uri_text = json_str(cmd, "uri", ""), *method = json_str(cmd, "method", "GET");
    const char *type = json_str(cmd, "type", "CON");
    if (ep == NULL || ep->ctx == NULL)
        return reply_error(id, ep == NULL ? "EINVAL" : "ESHUTDOWN", 0, "no such endpoint");
    if (request_count == MAX_REQUESTS)
        return reply_error(id, "EUNSUPPORTED", 0, "too many requests in flight");
    coap_uri_t uri;
    if (coap_split_uri((const uint8_t *)uri_text, strlen(uri_text), &uri) != 0 ||
        uri.scheme != COAP_URI_SCHEME_COAP)
        return reply_error(id, "EINVAL", 0, "coap_split_uri refuses '%.200s'", uri_text);
    char host[300];
    if (decode_host(&uri.host, host, sizeof host) != 0)
        return reply_error(id, "EINVAL", 0, "host too long in '%.200s'", uri_text);
    coap_address_t dst;
    char why[400];
    if (resolve(host, uri.port, &dst, why, sizeof why) != 0)
        return reply_error(id, "ERESOLVE", 0, "%s", why);
    bool created;
    coap_session_t *session = session_for(ep, &dst, &created);
    if (session == NULL)
        return reply_error(id, "ENETWORK", errno, "coap_new_client_session failed");
    coap_pdu_type_t pdu_type = strcmp(type, "NON") == 0   ? COAP_MESSAGE_NON
                               : strcmp(type, "ACK") == 0 ? COAP_MESSAGE_ACK
                               : strcmp(type, "RST") == 0 ? COAP_MESSAGE_RST
                                                          : COAP_MESSAGE_CON;
    coap_pdu_code_t code = strcmp(method, "PUT") == 0      ? COAP_REQUEST_CODE_PUT
                           : strcmp(method, "POST") == 0   ? COAP_REQUEST_CODE_POST
                           : strcmp(method, "DELETE") == 0 ? COAP_REQUEST_CODE_DELETE
                                                           : COAP_REQUEST_CODE_GET;
    coap_pdu_t *pdu = coap_new_pdu(pdu_type, code, session);
    if (pdu == NULL) {
        if (created)
            drop_session(ep, session);
        return reply_error(id, "EINVAL", 0, "coap_new_pdu refuses the request");
    }
    struct request *r = &requests[request_count];
    *r = (struct request){.id = id, .ep = ep, .session = session};
    coap_session_new_token(session, &r->token_len, r->token);
    coap_add_token(pdu, r->token_len, r->token);
    coap_optlist_t *options = NULL;
    struct in6_addr literal;
    struct in_addr literal4;
    if (inet_pton(AF_INET6, host, &literal) != 1 && inet_pton(AF_INET, host, &literal4) != 1)
        coap_insert_optlist(
            &options, coap_new_optlist(COAP_OPTION_URI_HOST, strlen(host), (const uint8_t *)host));
    add_split_options(&options, COAP_OPTION_URI_PATH, &uri.path, coap_split_path);
    add_split_options(&options, COAP_OPTION_URI_QUERY, &uri.query, coap_split_query);
    coap_add_optlist_pdu(pdu, &options);
    coap_delete_optlist(options);
    const char *hex = json_str(cmd, "payload_hex", "");
    size_t len = strlen(hex) / 2;
    if (len > 0) {
        r->payload = malloc(len);
        for (size_t i = 0; r->payload != NULL && i < len; i++)
            r->payload[i] = (uint8_t)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
        if (r->payload == NULL ||
            !coap_add_data_large_request(session, pdu, len, r->payload, NULL, NULL)) {
            coap_delete_pdu(pdu);
            free(r->payload);
            if (created)
                drop_session(ep, session);
            return reply_error(id, "ETOOBIG", 0, "coap_add_data_large_request refuses %zu bytes",
                               len);
        }
    }
    r->group = is_multicast(&dst);
    r->non = pdu_type == COAP_MESSAGE_NON;
    coap_tick_t now;
    coap_ticks(&now);
    unsigned wait_ms =
        r->group ? (unsigned)json_num(cmd, "collect_ms", 5000) : timing.non_lifetime_ms;
    if (r->group && wait_ms == 0)
        wait_ms = 5000;
    if (r->non || r->group)
        r->deadline = now + (coap_tick_t)wait_ms * COAP_TICKS_PER_SECOND / 1000;
    request_count++;
    errno = 0;
    if (coap_send(session, pdu) == COAP_INVALID_MID) {
        int e = errno;
        bool con_to_group = r->group && pdu_type == COAP_MESSAGE_CON;
        forget(&requests[request_count - 1]);
        if (created)
            drop_session(ep, session);
        if (con_to_group)
            return reply_error(id, "ECONMULTICAST", 0, "coap_send refuses a CON to a group");
        return reply_error(id, e != 0 ? "ENETWORK" : "EINVAL", e,
                           "coap_send refuses the request%s%s", e != 0 ? ": " : "",
                           e != 0 ? strerror(e) : "");
    }
    reply_ok(id);
}

/* The driver's own waits: a NON request's lifetime, a group request's window. */
static void expire_requests(void)
{
    coap_tick_t now;
    coap_ticks(&now);
    for (size_t i = request_count; i > 0; i--) {
        struct request *r = &requests[i - 1];
        if (r->deadline == 0 || r->deadline > now)
            continue;
        if (r->group) {
            printf("{\"event\":\"done\",\"request\":%lld,\"group\":true", r->id);
            out_end();
        } else {
            done_error(r->id, "ETIMEOUT", 0, "no response to the NON request within %u ms",
                       timing.non_lifetime_ms);
        }
        forget(r);
    }
}

static unsigned next_expiry_ms(void)
{
    coap_tick_t now, soonest = 0;
    coap_ticks(&now);
    for (size_t i = 0; i < request_count; i++)
        if (requests[i].deadline != 0 && (soonest == 0 || requests[i].deadline < soonest))
            soonest = requests[i].deadline;
    if (soonest == 0)
        return 1000;
    return soonest <= now ? 0 : (unsigned)((soonest - now) * 1000 / COAP_TICKS_PER_SECOND) + 1;
}

/* ---- endpoints ---- */

static int bind_address(const char *host, uint16_t port, coap_address_t *out, char *why, size_t cap)
{
    return resolve(host, port, out, why, cap);
}

static void join_groups(struct endpoint *ep, const char *ifname)
{
    static const char *const groups[] = {"224.0.1.187", "ff02::fd", "ff05::fd"};
    for (size_t i = 0; i < 3; i++)
        if (coap_join_mcast_group_intf(ep->ctx, groups[i], ifname) != 0)
            fprintf(stderr, "driver: cannot join %s on %s\n", groups[i], ifname);
}

static void op_open(long long id, const struct json *cmd)
{
    int number = (int)json_num(cmd, "endpoint", -1);
    struct endpoint *ep = NULL;
    for (int i = 0; i < MAX_ENDPOINTS && ep == NULL; i++)
        if (!endpoints[i].open)
            ep = &endpoints[i];
    if (ep == NULL || endpoint_by_id(number) != NULL)
        return reply_error(id, "EINVAL", 0, "no room for endpoint %d", number);
    *ep = (struct endpoint){.id = number};
    bool server = strcmp(json_str(cmd, "role", "client"), "server") == 0;
    const char *bind = json_str(cmd, "bind", NULL),
               *groups = json_str(cmd, "groups_interface", NULL);
    char why[400];
    if (bind != NULL && bind_address(bind, (uint16_t)json_num(cmd, "port", server ? 5683 : 0),
                                     &ep->bind, why, sizeof why) != 0)
        return reply_error(id, "ERESOLVE", 0, "%s", why);
    ep->has_bind = bind != NULL;
    ep->ctx = coap_new_context(NULL);
    if (ep->ctx == NULL)
        return reply_error(id, "ENETWORK", errno, "coap_new_context failed");
    coap_context_set_block_mode(ep->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_register_response_handler(ep->ctx, on_response);
    coap_register_nack_handler(ep->ctx, on_nack);
    coap_register_event_handler(ep->ctx, on_event);
    coap_mcast_per_resource(ep->ctx);
    coap_resource_t *any = coap_resource_unknown_init2(
        serve, COAP_RESOURCE_FLAGS_HAS_MCAST_SUPPORT | COAP_RESOURCE_FLAGS_LIB_DIS_MCAST_DELAYS);
    coap_register_request_handler(any, COAP_REQUEST_GET, serve);
    coap_register_request_handler(any, COAP_REQUEST_POST, serve);
    coap_register_request_handler(any, COAP_REQUEST_DELETE, serve_method_not_allowed);
    coap_add_resource(ep->ctx, any);
    ep->server = server;
    ep->open = true;
    if (server) {
        if (!ep->has_bind) {
            coap_address_init(&ep->bind);
            ep->bind.addr.sin6.sin6_family = AF_INET6;
            ep->bind.addr.sin6.sin6_port = htons((uint16_t)json_num(cmd, "port", 5683));
            ep->bind.size = sizeof(struct sockaddr_in6);
        }
        if (coap_new_endpoint(ep->ctx, &ep->bind, COAP_PROTO_UDP) == NULL) {
            int e = errno;
            coap_free_context(ep->ctx);
            ep->open = false;
            return reply_error(id, "ENETWORK", e, "coap_new_endpoint cannot bind");
        }
        if (groups != NULL)
            join_groups(ep, groups);
    }
    reply_ok(id);
}

static void end_endpoint(struct endpoint *ep)
{
    for (size_t i = request_count; i > 0; i--) {
        if (requests[i - 1].ep != ep)
            continue;
        done_error(requests[i - 1].id, "ESHUTDOWN", 0, "the endpoint was shut down");
        forget(&requests[i - 1]);
    }
    if (ep->ctx != NULL)
        coap_free_context(ep->ctx); /* its sessions and sockets with it */
    ep->ctx = NULL;
    ep->session_count = 0;
}

static void op_endpoint(long long id, const struct json *cmd, bool forget_it)
{
    struct endpoint *ep = endpoint_by_id((int)json_num(cmd, "endpoint", -1));
    if (ep == NULL)
        return reply_error(id, "EINVAL", 0, "no such endpoint");
    end_endpoint(ep);
    if (forget_it)
        ep->open = false;
    reply_ok(id);
}

static void op_cancel(long long id, const struct json *cmd)
{
    long long which = (long long)json_num(cmd, "request", -1);
    for (size_t i = 0; i < request_count; i++)
        if (requests[i].id == which) {
            forget(&requests[i]);
            break;
        }
    reply_ok(id);
}

static void op_config(long long id, const struct json *cmd)
{
    const struct json *t = json_get(cmd, "timing");
    timing.ack_timeout_ms = (unsigned)json_num(t, "ack_timeout_ms", timing.ack_timeout_ms);
    timing.ack_random_factor_milli =
        (unsigned)json_num(t, "ack_random_factor_milli", timing.ack_random_factor_milli);
    timing.max_retransmit = (unsigned)json_num(t, "max_retransmit", timing.max_retransmit);
    timing.nstart = (unsigned)json_num(t, "nstart", timing.nstart);
    timing.non_lifetime_ms = (unsigned)json_num(t, "non_lifetime_ms", timing.non_lifetime_ms);
    /* Floors libcoap keeps silently (its setters ignore an integer part of 0). */
    if (timing.ack_timeout_ms < 1000)
        timing.ack_timeout_ms = 1000;
    if (timing.ack_random_factor_milli < 1000)
        timing.ack_random_factor_milli = 1000;
    if (timing.max_retransmit < 1)
        timing.max_retransmit = 1;
    /* EXCHANGE_LIFETIME: libcoap's macro of its session values with its compiled-in
     * MAX_LATENCY of 100 s (coap_session_internal.h). */
    unsigned span =
        (unsigned)((unsigned long long)timing.ack_timeout_ms * ((1u << timing.max_retransmit) - 1) *
                   timing.ack_random_factor_milli / 1000);
    timing.exchange_lifetime_ms = span + 2 * 100000 + timing.ack_timeout_ms;
    printf(
        "{\"id\":%lld,\"ok\":true,\"timing\":{\"ack_timeout_ms\":%u,\"ack_random_factor_milli\":%u,"
        "\"max_retransmit\":%u,\"nstart\":%u,\"exchange_lifetime_ms\":%u,\"non_lifetime_ms\":%u}",
        id, timing.ack_timeout_ms, timing.ack_random_factor_milli, timing.max_retransmit,
        timing.nstart, timing.exchange_lifetime_ms, timing.non_lifetime_ms);
    out_end();
}

static bool handle_command(const char *line, size_t len)
{
    static struct json_doc doc;
    char why[160];
    json_free(&doc);
    const struct json *cmd = json_parse(&doc, line, len, why, sizeof why);
    if (cmd == NULL) {
        fprintf(stderr, "driver: a command that is not JSON: %s\n", why);
        return true;
    }
    long long id = (long long)json_num(cmd, "id", 0);
    const char *op = json_str(cmd, "op", "");
    if (strcmp(op, "hello") == 0) {
        printf("{\"id\":%lld,\"ok\":true,\"stack\":\"libcoap\",\"version\":\"%s\",\"iuts\":["
               "\"libcoap\"]",
               id, LIBCOAP_PACKAGE_VERSION);
        out_end();
    } else if (strcmp(op, "config") == 0) {
        op_config(id, cmd);
    } else if (strcmp(op, "open") == 0) {
        op_open(id, cmd);
    } else if (strcmp(op, "request") == 0) {
        op_request(id, cmd);
    } else if (strcmp(op, "cancel") == 0) {
        op_cancel(id, cmd);
    } else if (strcmp(op, "shutdown") == 0 || strcmp(op, "close") == 0) {
        op_endpoint(id, cmd, strcmp(op, "close") == 0);
    } else if (strcmp(op, "sync") == 0) {
        reply_ok(id); /* the loop has run: whatever fell due is done */
    } else if (strcmp(op, "quit") == 0) {
        reply_ok(id);
        return false;
    } else {
        reply_error(id, "EUNSUPPORTED", 0, "unknown op '%.40s'", op);
    }
    return true;
}

int main(void)
{
    static char line[LINE_MAX_LEN];
    size_t used = 0;
    coap_set_log_handler(log_to_stderr);
    coap_set_log_level(LOG_WARNING);
    coap_startup();
    bool running = true;
    while (running) {
        struct pollfd fds[MAX_ENDPOINTS + 1] = {{.fd = STDIN_FILENO, .events = POLLIN}};
        struct endpoint *of[MAX_ENDPOINTS + 1] = {NULL};
        nfds_t n = 1;
        coap_tick_t now;
        coap_ticks(&now);
        unsigned timeout = next_expiry_ms();
        for (int i = 0; i < MAX_ENDPOINTS; i++) {
            if (!endpoints[i].open || endpoints[i].ctx == NULL)
                continue;
            unsigned t = coap_io_prepare_epoll(endpoints[i].ctx, now);
            if (t != 0 && t < timeout)
                timeout = t;
            fds[n] =
                (struct pollfd){.fd = coap_context_get_coap_fd(endpoints[i].ctx), .events = POLLIN};
            of[n++] = &endpoints[i];
        }
        if (poll(fds, n, (int)timeout) < 0 && errno != EINTR)
            return 1;
        for (nfds_t i = 1; i < n; i++)
            if (of[i]->ctx != NULL)
                coap_io_process(of[i]->ctx, COAP_IO_NO_WAIT);
        expire_requests();
        if (!(fds[0].revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t got = read(STDIN_FILENO, line + used, sizeof line - 1 - used);
        if (got <= 0)
            break; /* the harness is gone */
        used += (size_t)got;
        char *nl;
        while (running && (nl = memchr(line, '\n', used)) != NULL) {
            size_t len = (size_t)(nl - line);
            running = handle_command(line, len);
            memmove(line, nl + 1, used - len - 1);
            used -= len + 1;
        }
        if (used == sizeof line - 1)
            used = 0; /* a line too long to be a command */
    }
    for (int i = 0; i < MAX_ENDPOINTS; i++)
        if (endpoints[i].open)
            end_endpoint(&endpoints[i]);
    coap_cleanup();
    return 0;
}
