/* Text for people (see wirefmt.h). */
#include "wirefmt.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../transports/addr.h"

struct wire_line wire_line_start(char *buf, size_t cap)
{
    if (cap > 0)
        buf[0] = '\0';
    return (struct wire_line){.buf = buf, .cap = cap};
}

void wire_line_append(struct wire_line *l, const char *fmt, ...)
{
    size_t room = l->cap > l->len ? l->cap - l->len : 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room > 0 ? l->buf + l->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    l->needed += (size_t)n;
    if (room > 0)
        l->len += (size_t)n < room ? (size_t)n : room - 1;
}

void wire_line_host(struct wire_line *l, const struct sockaddr *sa)
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, host, sizeof host);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, host, sizeof host);
    wire_line_append(l, "%s", host);
}

void wire_line_sockaddr(struct wire_line *l, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        wire_line_host(l, sa);
        wire_line_append(l, ":%u", (unsigned)coapmx_sockaddr_port(sa));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        wire_line_append(l, "[");
        wire_line_host(l, sa);
        if (sin6->sin6_scope_id != 0)
            wire_line_append(l, "%%%u", (unsigned)sin6->sin6_scope_id);
        wire_line_append(l, "]:%u", (unsigned)coapmx_sockaddr_port(sa));
    } else {
        wire_line_append(l, "?");
    }
}

size_t wire_format_sockaddr(const struct sockaddr *sa, char *buf, size_t cap)
{
    struct wire_line l = wire_line_start(buf, cap);
    wire_line_sockaddr(&l, sa);
    return l.len;
}

void wire_line_hex(struct wire_line *l, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++)
        wire_line_append(l, "%02x", data[i]);
}

/* Bytes outside printable ASCII (and the space) are escaped so a line stays one token. */
void wire_line_text(struct wire_line *l, const uint8_t *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\\')
            wire_line_append(l, "\\\\");
        else if (data[i] > 0x20 && data[i] < 0x7f)
            wire_line_append(l, "%c", data[i]);
        else
            wire_line_append(l, "\\x%02x", data[i]);
    }
}

static enum wire_option_format registered_format(uint16_t number)
{
    switch (number) {
    case COAP_OPT_URI_HOST:
    case COAP_OPT_LOCATION_PATH:
    case COAP_OPT_URI_PATH:
    case COAP_OPT_URI_QUERY:
    case COAP_OPT_LOCATION_QUERY:
    case COAP_OPT_PROXY_URI:
    case COAP_OPT_PROXY_SCHEME:
        return WIRE_OPTION_TEXT;
    case COAP_OPT_OBSERVE:
    case COAP_OPT_URI_PORT:
    case COAP_OPT_CONTENT_FORMAT:
    case COAP_OPT_MAX_AGE:
    case COAP_OPT_ACCEPT:
    case COAP_OPT_SIZE2:
    case COAP_OPT_SIZE1:
    case COAP_OPT_HOP_LIMIT:
    case COAP_OPT_NO_RESPONSE:
        return WIRE_OPTION_UINT;
    case COAP_OPT_BLOCK1:
    case COAP_OPT_BLOCK2:
    case COAP_OPT_Q_BLOCK1:
    case COAP_OPT_Q_BLOCK2:
        return WIRE_OPTION_BLOCK;
    default:
        return WIRE_OPTION_OPAQUE; /* ETag, If-Match, OSCORE, Echo, Request-Tag, ... */
    }
}

enum wire_option_format wire_option_format(const struct coap_option *opt)
{
    enum wire_option_format format = registered_format(opt->number);
    if (coap_option_name(opt->number) == NULL)
        return WIRE_OPTION_OPAQUE;
    if ((format == WIRE_OPTION_UINT || format == WIRE_OPTION_BLOCK) && opt->length > 4)
        return WIRE_OPTION_OPAQUE;
    return format;
}

static void wire_line_block(struct wire_line *l, uint32_t value)
{
    unsigned szx = value & 0x7;
    wire_line_append(l, "%lu/%u/", (unsigned long)(value >> 4), (unsigned)((value >> 3) & 1));
    if (szx == 7)
        wire_line_append(l, "bert");
    else
        wire_line_append(l, "%u", 16u << szx);
}

void wire_line_option(struct wire_line *l, const struct coap_option *opt)
{
    const char *name = coap_option_name(opt->number);
    enum wire_option_format format = wire_option_format(opt);
    if (name != NULL)
        wire_line_append(l, " %s:", name);
    else
        wire_line_append(l, " Opt%u:", (unsigned)opt->number);
    switch (format) {
    case WIRE_OPTION_TEXT:
        wire_line_text(l, opt->value, opt->length);
        break;
    case WIRE_OPTION_UINT:
        wire_line_append(l, "%lu", (unsigned long)coap_option_uint(opt));
        break;
    case WIRE_OPTION_BLOCK:
        wire_line_block(l, coap_option_uint(opt));
        break;
    case WIRE_OPTION_OPAQUE:
        wire_line_hex(l, opt->value, opt->length);
        break;
    }
}

void wire_line_coap(struct wire_line *l, const struct coap_msg *msg)
{
    char code[16];
    wire_line_append(l, "%s %s mid=0x%04x tok=", coap_type_name(msg->type),
                     coap_code_str(msg->code, code, sizeof code), (unsigned)msg->mid);
    if (msg->token_len == 0)
        wire_line_append(l, "-");
    else
        wire_line_hex(l, msg->token, msg->token_len);
    for (size_t i = 0; i < msg->option_count; i++)
        wire_line_option(l, &msg->options[i]);
    wire_line_append(l, " payload=%zu", msg->payload_len);
}

void wire_line_micros(struct wire_line *l, long long micros)
{
    const char *sign = micros < 0 ? "-" : "";
    if (micros < 0)
        micros = -micros;
    wire_line_append(l, "%s%lld.%06lld", sign, micros / 1000000LL, micros % 1000000LL);
}

long long wire_micros_between(long long a_sec, long long a_usec, long long b_sec, long long b_usec)
{
    const long long limit = 1LL << 62;
    long long secs, micros;
    if (__builtin_sub_overflow(b_sec, a_sec, &secs) || secs > limit / 1000000 ||
        secs < -limit / 1000000)
        return b_sec > a_sec ? limit : -limit;
    micros = secs * 1000000 + (b_usec - a_usec);
    return micros > limit ? limit : micros < -limit ? -limit : micros;
}

void wire_write_markup(FILE *f, const char *text, size_t max_chars, bool ascii_only)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++, n++) {
        if (n == max_chars) {
            fputs("…", f);
            return;
        }
        switch (*p) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(!ascii_only || (*p >= 0x20 && *p < 0x7f) ? *p : '?', f);
            break;
        }
    }
}

const char *coap_code_str(uint8_t code, char *buf, size_t cap)
{
    static const char *const methods[] = {
        "EMPTY", "GET", "POST", "PUT", "DELETE", "FETCH", "PATCH", "iPATCH",
    };
    if (buf == NULL || cap == 0)
        return buf;
    if (code < sizeof methods / sizeof methods[0])
        snprintf(buf, cap, "%s", methods[code]);
    else
        snprintf(buf, cap, "%u.%02u", (unsigned)COAP_CODE_CLASS(code),
                 (unsigned)COAP_CODE_DETAIL(code));
    return buf;
}

const char *coap_option_name(uint16_t number)
{
    static const struct {
        uint16_t number;
        const char *name;
    } names[] = {
        {COAP_OPT_IF_MATCH, "If-Match"},
        {COAP_OPT_URI_HOST, "Uri-Host"},
        {COAP_OPT_ETAG, "ETag"},
        {COAP_OPT_IF_NONE_MATCH, "If-None-Match"},
        {COAP_OPT_OBSERVE, "Observe"},
        {COAP_OPT_URI_PORT, "Uri-Port"},
        {COAP_OPT_LOCATION_PATH, "Location-Path"},
        {COAP_OPT_OSCORE, "OSCORE"},
        {COAP_OPT_URI_PATH, "Uri-Path"},
        {COAP_OPT_CONTENT_FORMAT, "Content-Format"},
        {COAP_OPT_MAX_AGE, "Max-Age"},
        {COAP_OPT_URI_QUERY, "Uri-Query"},
        {COAP_OPT_HOP_LIMIT, "Hop-Limit"},
        {COAP_OPT_ACCEPT, "Accept"},
        {COAP_OPT_Q_BLOCK1, "Q-Block1"},
        {COAP_OPT_LOCATION_QUERY, "Location-Query"},
        {COAP_OPT_EDHOC, "EDHOC"},
        {COAP_OPT_BLOCK2, "Block2"},
        {COAP_OPT_BLOCK1, "Block1"},
        {COAP_OPT_SIZE2, "Size2"},
        {COAP_OPT_Q_BLOCK2, "Q-Block2"},
        {COAP_OPT_PROXY_URI, "Proxy-Uri"},
        {COAP_OPT_PROXY_SCHEME, "Proxy-Scheme"},
        {COAP_OPT_SIZE1, "Size1"},
        {COAP_OPT_ECHO, "Echo"},
        {COAP_OPT_NO_RESPONSE, "No-Response"},
        {COAP_OPT_REQUEST_TAG, "Request-Tag"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].number == number)
            return names[i].name;
    return NULL;
}

bool coapmx_sockaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b)
{
    if (a->sa_family != b->sa_family)
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->sa_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return false;
}
