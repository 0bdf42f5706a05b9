/* RFC 7252 §3 message format: parsing and encoding without allocation. */
#include "codec.h"

#include <string.h>

#define COAP_VERSION      1
#define PAYLOAD_MARKER    0xFF
#define NIBBLE_EXT8       13
#define NIBBLE_EXT16      14
#define NIBBLE_RESERVED   15
#define EXT8_BASE         13
#define EXT16_BASE        269
#define OPTION_NUMBER_MAX 65535u

static const char *const status_messages[COAP_STATUS_COUNT] = {
    [COAP_OK] = "ok",
    [COAP_ERR_TOO_SHORT] = "datagram shorter than the 4-byte header",
    [COAP_ERR_VERSION] = "version is not 1",
    [COAP_ERR_TKL] = "token length 9-15 is reserved",
    [COAP_ERR_TOKEN_TRUNCATED] = "datagram ends inside the token",
    [COAP_ERR_OPTION_NIBBLE15] = "option delta or length nibble 15 outside a payload marker",
    [COAP_ERR_OPTION_TRUNCATED] = "datagram ends inside an option",
    [COAP_ERR_OPTION_NUMBER] = "option number above 65535",
    [COAP_ERR_PAYLOAD_MARKER_EMPTY] = "payload marker followed by an empty payload",
    [COAP_ERR_EMPTY_NOT_EMPTY] = "empty message (0.00) with token, options or payload",
    [COAP_ERR_TOO_MANY_OPTIONS] = "more options than the codec can hold",
    [COAP_ERR_NO_SPACE] = "output buffer too small",
    [COAP_ERR_BAD_ARGUMENT] = "invalid argument",
};

const char *coap_status_str(enum coap_status status)
{
    if ((unsigned)status >= COAP_STATUS_COUNT)
        return "unknown status";
    return status_messages[status];
}

struct reader {
    const uint8_t *buf;
    size_t len;
    size_t pos;
};

static size_t reader_left(const struct reader *r)
{
    return r->len - r->pos;
}

static enum coap_status read_extended(struct reader *r, unsigned nibble, uint32_t *value)
{
    if (nibble < NIBBLE_EXT8) {
        *value = nibble;
        return COAP_OK;
    }
    if (nibble == NIBBLE_EXT8) {
        if (reader_left(r) < 1)
            return COAP_ERR_OPTION_TRUNCATED;
        *value = EXT8_BASE + (uint32_t)r->buf[r->pos];
        r->pos += 1;
        return COAP_OK;
    }
    if (reader_left(r) < 2)
        return COAP_ERR_OPTION_TRUNCATED;
    *value = EXT16_BASE + (((uint32_t)r->buf[r->pos] << 8) | r->buf[r->pos + 1]);
    r->pos += 2;
    return COAP_OK;
}

static enum coap_status parse_option(struct reader *r, uint32_t *number, struct coap_msg *out)
{
    uint8_t first = r->buf[r->pos++];
    unsigned delta_nibble = first >> 4;
    unsigned length_nibble = first & 0x0f;
    uint32_t delta, length;

    /* Both nibbles are checked before any extension is read, so a reserved nibble is
     * reported as such even when the datagram also ends early. */
    if (delta_nibble == NIBBLE_RESERVED || length_nibble == NIBBLE_RESERVED)
        return COAP_ERR_OPTION_NIBBLE15;

    enum coap_status st = read_extended(r, delta_nibble, &delta);
    if (st != COAP_OK)
        return st;
    st = read_extended(r, length_nibble, &length);
    if (st != COAP_OK)
        return st;

    *number += delta;
    if (*number > OPTION_NUMBER_MAX)
        return COAP_ERR_OPTION_NUMBER;
    if (reader_left(r) < length)
        return COAP_ERR_OPTION_TRUNCATED;
    /* Only reachable with buffers larger than any UDP datagram: struct coap_option
     * keeps the length in 16 bits. */
    if (length > UINT16_MAX)
        return COAP_ERR_BAD_ARGUMENT;
    if (out->option_count == COAP_OPTIONS_MAX)
        return COAP_ERR_TOO_MANY_OPTIONS;

    struct coap_option *opt = &out->options[out->option_count++];
    opt->number = (uint16_t)*number;
    opt->length = (uint16_t)length;
    opt->value = r->buf + r->pos;
    r->pos += length;
    return COAP_OK;
}

static enum coap_status parse_options_and_payload(struct reader *r, struct coap_msg *out)
{
    uint32_t number = 0;

    while (reader_left(r) > 0) {
        if (r->buf[r->pos] == PAYLOAD_MARKER) {
            r->pos++;
            if (reader_left(r) == 0)
                return COAP_ERR_PAYLOAD_MARKER_EMPTY;
            out->payload = r->buf + r->pos;
            out->payload_len = reader_left(r);
            r->pos = r->len;
            return COAP_OK;
        }
        enum coap_status st = parse_option(r, &number, out);
        if (st != COAP_OK)
            return st;
    }
    return COAP_OK;
}

enum coap_status coap_parse(const uint8_t *buf, size_t len, struct coap_msg *out)
{
    if (out == NULL || (buf == NULL && len > 0))
        return COAP_ERR_BAD_ARGUMENT;
    coap_msg_init(out, COAP_CON, COAP_EMPTY, 0);
    if (len < COAP_HEADER_SIZE)
        return COAP_ERR_TOO_SHORT;

    unsigned version = buf[0] >> 6;
    unsigned tkl = buf[0] & 0x0f;
    if (version != COAP_VERSION)
        return COAP_ERR_VERSION;
    if (tkl > COAP_TOKEN_MAX)
        return COAP_ERR_TKL;

    out->type = (enum coap_type)((buf[0] >> 4) & 0x03);
    out->code = buf[1];
    out->mid = (uint16_t)((buf[2] << 8) | buf[3]);

    /* RFC 7252 §4.1: anything after the Message ID of an Empty message is a format error. */
    if (out->code == COAP_EMPTY && (tkl != 0 || len > COAP_HEADER_SIZE))
        return COAP_ERR_EMPTY_NOT_EMPTY;

    struct reader r = {.buf = buf, .len = len, .pos = COAP_HEADER_SIZE};
    if (reader_left(&r) < tkl)
        return COAP_ERR_TOKEN_TRUNCATED;
    out->token_len = (uint8_t)tkl;
    if (tkl > 0)
        memcpy(out->token, buf + r.pos, tkl);
    r.pos += tkl;

    return parse_options_and_payload(&r, out);
}

static size_t extension_size(uint32_t value)
{
    if (value < EXT8_BASE)
        return 0;
    if (value < EXT16_BASE)
        return 1;
    return 2;
}

static unsigned extension_nibble(uint32_t value)
{
    static const unsigned nibble_by_size[] = {0, NIBBLE_EXT8, NIBBLE_EXT16};
    size_t size = extension_size(value);
    return size == 0 ? (unsigned)value : nibble_by_size[size];
}

static uint8_t *write_extension(uint8_t *p, uint32_t value)
{
    switch (extension_size(value)) {
    case 1:
        *p++ = (uint8_t)(value - EXT8_BASE);
        break;
    case 2:
        *p++ = (uint8_t)((value - EXT16_BASE) >> 8);
        *p++ = (uint8_t)(value - EXT16_BASE);
        break;
    default:
        break;
    }
    return p;
}

static size_t option_encoded_size(uint32_t delta, uint32_t length)
{
    return 1 + extension_size(delta) + extension_size(length) + length;
}

static uint8_t *write_option(uint8_t *p, uint32_t delta, const struct coap_option *opt)
{
    *p++ = (uint8_t)((extension_nibble(delta) << 4) | extension_nibble(opt->length));
    p = write_extension(p, delta);
    p = write_extension(p, opt->length);
    if (opt->length > 0)
        memcpy(p, opt->value, opt->length);
    return p + opt->length;
}

static bool message_is_encodable(const struct coap_msg *msg)
{
    if ((unsigned)msg->type > COAP_RST || msg->token_len > COAP_TOKEN_MAX)
        return false;
    if (msg->option_count > COAP_OPTIONS_MAX)
        return false;
    /* Ascending, as coap_msg_add_option and coap_parse leave them: a descending pair would
     * need a negative delta. */
    for (size_t i = 0; i < msg->option_count; i++)
        if ((msg->options[i].length > 0 && msg->options[i].value == NULL) ||
            (i > 0 && msg->options[i].number < msg->options[i - 1].number))
            return false;
    return msg->payload_len == 0 || msg->payload != NULL;
}

static size_t encoded_size(const struct coap_msg *msg)
{
    size_t size = COAP_HEADER_SIZE + msg->token_len;
    uint32_t previous = 0;

    for (size_t i = 0; i < msg->option_count; i++) {
        size += option_encoded_size(msg->options[i].number - previous, msg->options[i].length);
        previous = msg->options[i].number;
    }
    if (msg->payload_len > 0) {
        if (msg->payload_len > SIZE_MAX - size - 1)
            return SIZE_MAX;
        size += 1 + msg->payload_len;
    }
    return size;
}

static void write_message(const struct coap_msg *msg, uint8_t *buf)
{
    uint8_t *p = buf;
    uint32_t previous = 0;

    *p++ = (uint8_t)((COAP_VERSION << 6) | ((unsigned)msg->type << 4) | msg->token_len);
    *p++ = msg->code;
    *p++ = (uint8_t)(msg->mid >> 8);
    *p++ = (uint8_t)msg->mid;
    if (msg->token_len > 0)
        memcpy(p, msg->token, msg->token_len);
    p += msg->token_len;

    for (size_t i = 0; i < msg->option_count; i++) {
        p = write_option(p, msg->options[i].number - previous, &msg->options[i]);
        previous = msg->options[i].number;
    }
    if (msg->payload_len > 0) {
        *p++ = PAYLOAD_MARKER;
        memcpy(p, msg->payload, msg->payload_len);
    }
}

enum coap_status coap_encode(const struct coap_msg *msg, uint8_t *buf, size_t cap, size_t *out_len)
{
    if (msg == NULL || out_len == NULL || (buf == NULL && cap > 0))
        return COAP_ERR_BAD_ARGUMENT;
    if (!message_is_encodable(msg))
        return COAP_ERR_BAD_ARGUMENT;

    size_t size = encoded_size(msg);
    if (size == SIZE_MAX)
        return COAP_ERR_BAD_ARGUMENT;
    /* The required size is reported even on failure so callers can size a retry. */
    *out_len = size;
    if (size > cap)
        return COAP_ERR_NO_SPACE;
    write_message(msg, buf);
    return COAP_OK;
}

void coap_msg_init(struct coap_msg *msg, enum coap_type type, uint8_t code, uint16_t mid)
{
    memset(msg, 0, sizeof *msg);
    msg->type = type;
    msg->code = code;
    msg->mid = mid;
}

enum coap_status coap_msg_set_token(struct coap_msg *msg, const uint8_t *token, size_t len)
{
    if (msg == NULL || len > COAP_TOKEN_MAX || (token == NULL && len > 0))
        return COAP_ERR_BAD_ARGUMENT;
    if (len > 0)
        memcpy(msg->token, token, len);
    msg->token_len = (uint8_t)len;
    return COAP_OK;
}

/* Inserts after any options with the same number, keeping the array ascending and the
 * caller's order among repeated options. */
enum coap_status coap_msg_add_option(struct coap_msg *msg, uint16_t number, const void *value,
                                     size_t len)
{
    if (msg == NULL || len > UINT16_MAX || (value == NULL && len > 0))
        return COAP_ERR_BAD_ARGUMENT;
    if (msg->option_count >= COAP_OPTIONS_MAX)
        return COAP_ERR_TOO_MANY_OPTIONS;

    size_t at = msg->option_count;
    while (at > 0 && msg->options[at - 1].number > number) {
        msg->options[at] = msg->options[at - 1];
        at--;
    }
    msg->options[at] = (struct coap_option){
        .number = number,
        .length = (uint16_t)len,
        .value = value,
    };
    msg->option_count++;
    return COAP_OK;
}

const struct coap_option *coap_msg_find_option(const struct coap_msg *msg, uint16_t number,
                                               const struct coap_option *after)
{
    if (msg == NULL)
        return NULL;
    size_t start = after == NULL ? 0 : (size_t)(after - msg->options) + 1;
    for (size_t i = start; i < msg->option_count && i < COAP_OPTIONS_MAX; i++)
        if (msg->options[i].number == number)
            return &msg->options[i];
    return NULL;
}

/* Longer values are still decoded (leading zeros are harmless) but saturate rather than
 * wrap, so an oversized value can never pass for a small one. */
uint32_t coap_option_uint(const struct coap_option *opt)
{
    if (opt == NULL || opt->value == NULL)
        return 0;
    uint32_t v = 0;
    for (size_t i = 0; i < opt->length; i++) {
        if (v > (UINT32_MAX >> 8))
            return UINT32_MAX;
        v = (v << 8) | opt->value[i];
    }
    return v;
}

size_t coap_uint_encode(uint32_t v, uint8_t buf[4])
{
    size_t len = 0;
    for (uint32_t rest = v; rest != 0; rest >>= 8)
        len++;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
    return len;
}

static void copy_clipped(char *buf, size_t cap, size_t at, const void *src, size_t n)
{
    if (at >= cap)
        return;
    size_t room = cap - at;
    memcpy(buf + at, src, n < room ? n : room);
}

size_t coap_msg_join_options(const struct coap_msg *msg, uint16_t number, char sep, char *buf,
                             size_t cap)
{
    size_t needed = 0;
    bool first = true;

    if (buf == NULL)
        cap = 0;
    for (const struct coap_option *opt = coap_msg_find_option(msg, number, NULL); opt != NULL;
         opt = coap_msg_find_option(msg, number, opt)) {
        if (!first)
            copy_clipped(buf, cap, needed++, &sep, 1);
        if (opt->length > 0)
            copy_clipped(buf, cap, needed, opt->value, opt->length);
        needed += opt->length;
        first = false;
    }
    if (cap > 0)
        buf[needed < cap ? needed : cap - 1] = '\0';
    return needed;
}

const char *coap_type_name(enum coap_type type)
{
    static const char *const names[] = {"CON", "NON", "ACK", "RST"};
    if ((unsigned)type > COAP_RST)
        return "???";
    return names[type];
}
