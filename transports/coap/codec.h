/* RFC 7252 message codec (§3). Parsing never allocates: options and payload point into the
 * caller's buffer. Every malformed input maps to its own status. */
#ifndef COAPMX_CODEC_H
#define COAPMX_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum coap_type { COAP_CON = 0, COAP_NON = 1, COAP_ACK = 2, COAP_RST = 3 };

#define COAP_CODE(class, detail) ((uint8_t)(((class) << 5) | (detail)))
#define COAP_CODE_CLASS(code)    ((code) >> 5)
#define COAP_CODE_DETAIL(code)   ((code)&0x1f)

enum {
    COAP_EMPTY = 0,
    COAP_GET = 1,
    COAP_POST = 2,
    COAP_PUT = 3,
    COAP_DELETE = 4,
    COAP_CREATED = COAP_CODE(2, 1),
    COAP_DELETED = COAP_CODE(2, 2),
    COAP_VALID = COAP_CODE(2, 3),
    COAP_CHANGED = COAP_CODE(2, 4),
    COAP_CONTENT = COAP_CODE(2, 5),
    COAP_CONTINUE = COAP_CODE(2, 31),
    COAP_BAD_REQUEST = COAP_CODE(4, 0),
    COAP_BAD_OPTION = COAP_CODE(4, 2),
    COAP_NOT_FOUND = COAP_CODE(4, 4),
    COAP_METHOD_NOT_ALLOWED = COAP_CODE(4, 5),
    COAP_REQUEST_ENTITY_INCOMPLETE = COAP_CODE(4, 8),
    COAP_REQUEST_ENTITY_TOO_LARGE = COAP_CODE(4, 13),
    COAP_INTERNAL_SERVER_ERROR = COAP_CODE(5, 0),
};

enum {
    COAP_OPT_IF_MATCH = 1,
    COAP_OPT_URI_HOST = 3,
    COAP_OPT_ETAG = 4,
    COAP_OPT_IF_NONE_MATCH = 5,
    COAP_OPT_OBSERVE = 6,
    COAP_OPT_URI_PORT = 7,
    COAP_OPT_LOCATION_PATH = 8,
    COAP_OPT_OSCORE = 9, /* RFC 8613 */
    COAP_OPT_URI_PATH = 11,
    COAP_OPT_CONTENT_FORMAT = 12,
    COAP_OPT_MAX_AGE = 14,
    COAP_OPT_URI_QUERY = 15,
    COAP_OPT_HOP_LIMIT = 16, /* RFC 8768 */
    COAP_OPT_ACCEPT = 17,
    COAP_OPT_Q_BLOCK1 = 19, /* RFC 9177 */
    COAP_OPT_LOCATION_QUERY = 20,
    COAP_OPT_EDHOC = 21, /* RFC 9668 */
    COAP_OPT_BLOCK2 = 23,
    COAP_OPT_BLOCK1 = 27,
    COAP_OPT_SIZE2 = 28,
    COAP_OPT_Q_BLOCK2 = 31, /* RFC 9177 */
    COAP_OPT_PROXY_URI = 35,
    COAP_OPT_PROXY_SCHEME = 39,
    COAP_OPT_SIZE1 = 60,
    COAP_OPT_ECHO = 252,        /* RFC 9175 */
    COAP_OPT_NO_RESPONSE = 258, /* RFC 7967 */
    COAP_OPT_REQUEST_TAG = 292, /* RFC 9175 */
};

#define COAP_TOKEN_MAX    8
#define COAP_OPTIONS_MAX  32
#define COAP_HEADER_SIZE  4
#define COAP_DEFAULT_PORT 5683

struct coap_option {
    uint16_t number;
    uint16_t length;
    const uint8_t *value;
};

struct coap_msg {
    enum coap_type type;
    uint8_t code;
    uint16_t mid;
    uint8_t token_len;
    uint8_t token[COAP_TOKEN_MAX];
    size_t option_count;
    struct coap_option options[COAP_OPTIONS_MAX]; /* ascending by number */
    const uint8_t *payload;
    size_t payload_len;
};

enum coap_status {
    COAP_OK = 0,
    COAP_ERR_TOO_SHORT,            /* fewer than 4 bytes */
    COAP_ERR_VERSION,              /* version field is not 1 */
    COAP_ERR_TKL,                  /* token length 9..15 (reserved) */
    COAP_ERR_TOKEN_TRUNCATED,      /* datagram ends inside the token */
    COAP_ERR_OPTION_NIBBLE15,      /* delta or length nibble 15 outside a payload marker */
    COAP_ERR_OPTION_TRUNCATED,     /* datagram ends inside an option */
    COAP_ERR_OPTION_NUMBER,        /* option number above 65535 */
    COAP_ERR_PAYLOAD_MARKER_EMPTY, /* 0xFF followed by nothing */
    COAP_ERR_EMPTY_NOT_EMPTY,      /* code 0.00 with token, options or payload */
    COAP_ERR_TOO_MANY_OPTIONS,     /* more than COAP_OPTIONS_MAX options */
    COAP_ERR_NO_SPACE,             /* encode: output buffer too small */
    COAP_ERR_BAD_ARGUMENT,         /* encode: token too long, options out of order, ... */
    COAP_STATUS_COUNT
};

const char *coap_status_str(enum coap_status status);

enum coap_status coap_parse(const uint8_t *buf, size_t len, struct coap_msg *out);

/* Options must be in ascending order, as coap_msg_add_option keeps them (else
 * COAP_ERR_BAD_ARGUMENT); *out_len receives the size. */
enum coap_status coap_encode(const struct coap_msg *msg, uint8_t *buf, size_t cap, size_t *out_len);

void coap_msg_init(struct coap_msg *msg, enum coap_type type, uint8_t code, uint16_t mid);
enum coap_status coap_msg_set_token(struct coap_msg *msg, const uint8_t *token, size_t len);
/* The value is referenced, not copied: keep it alive until encoding. */
enum coap_status coap_msg_add_option(struct coap_msg *msg, uint16_t number, const void *value,
                                     size_t len);
/* First option with this number after `after` (NULL: from the start); NULL when none. */
const struct coap_option *coap_msg_find_option(const struct coap_msg *msg, uint16_t number,
                                               const struct coap_option *after);
/* Big-endian unsigned value of an option of up to 4 bytes. */
uint32_t coap_option_uint(const struct coap_option *opt);
/* Minimal big-endian encoding of v into buf[4]; returns its length (0 for v == 0). */
size_t coap_uint_encode(uint32_t v, uint8_t buf[4]);

/* Joins repeated string options (Uri-Path with '/', Uri-Query with '&') into buf. */
size_t coap_msg_join_options(const struct coap_msg *msg, uint16_t number, char sep, char *buf,
                             size_t cap);

const char *coap_type_name(enum coap_type type); /* "CON", "NON", "ACK", "RST" */

#endif
