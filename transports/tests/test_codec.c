/* Unit tests for the RFC 7252 message codec: byte-exact vectors, one test per malformed
 * class, helpers, and a deterministic mutation loop that parses from exactly-sized heap
 * buffers so the sanitizers catch any overread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "transports/coap/codec.h"
#include "harness/wirefmt.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BYTES(...)   ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Heap copy of exactly len bytes, so an overread lands outside the allocation. */
static uint8_t *heap_copy(const uint8_t *bytes, size_t len)
{
    uint8_t *copy = malloc(len);
    if (len > 0) {
        assert_non_null(copy);
        memcpy(copy, bytes, len);
    }
    return copy;
}

static enum coap_status parse_exact(const uint8_t *bytes, size_t len)
{
    struct coap_msg msg;
    uint8_t *copy = heap_copy(bytes, len);
    enum coap_status st = coap_parse(copy, len, &msg);
    free(copy);
    return st;
}

static void assert_parse_fails(const uint8_t *bytes, size_t len, enum coap_status expected)
{
    enum coap_status st = parse_exact(bytes, len);
    if (st != expected)
        fail_msg("expected %s, got %s", coap_status_str(expected), coap_status_str(st));
}

static void assert_encodes_to(const struct coap_msg *msg, const uint8_t *expected, size_t len)
{
    uint8_t buf[2048];
    size_t out_len = 0;
    assert_int_equal(coap_encode(msg, buf, sizeof buf, &out_len), COAP_OK);
    assert_int_equal(out_len, len);
    assert_memory_equal(buf, expected, len);
}

/* encode -> parse -> encode must reproduce the first encoding byte for byte. */
static void assert_round_trip(const struct coap_msg *msg)
{
    uint8_t first[2048], second[2048];
    size_t first_len = 0, second_len = 0;
    struct coap_msg parsed;

    assert_int_equal(coap_encode(msg, first, sizeof first, &first_len), COAP_OK);
    uint8_t *copy = heap_copy(first, first_len);
    assert_int_equal(coap_parse(copy, first_len, &parsed), COAP_OK);
    assert_int_equal(coap_encode(&parsed, second, sizeof second, &second_len), COAP_OK);
    free(copy);

    assert_int_equal(second_len, first_len);
    assert_memory_equal(second, first, first_len);
    assert_int_equal(parsed.type, msg->type);
    assert_int_equal(parsed.code, msg->code);
    assert_int_equal(parsed.mid, msg->mid);
    assert_int_equal(parsed.token_len, msg->token_len);
    assert_int_equal(parsed.option_count, msg->option_count);
    assert_int_equal(parsed.payload_len, msg->payload_len);
}

static uint8_t big_value[300];
static uint8_t huge_value[1000];

static void fill_patterns(void)
{
    for (size_t i = 0; i < sizeof big_value; i++)
        big_value[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof huge_value; i++)
        huge_value[i] = (uint8_t)(i * 13 + 5);
}

static int setup_patterns(void **state)
{
    (void)state;
    fill_patterns();
    return 0;
}

/* Sample messages shared by the round-trip test and the mutation loop. */
enum { SAMPLE_COUNT = 11 };

static void build_sample(size_t which, struct coap_msg *m)
{
    static const uint8_t token8[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const uint8_t token2[] = {0x71, 0x4b};
    static const uint8_t port[] = {0x16, 0x33};
    static const uint8_t json_format[] = {50};
    static const uint8_t block2[] = {0x0a};

    switch (which) {
    case 0:
        coap_msg_init(m, COAP_CON, COAP_GET, 0x7d34);
        coap_msg_add_option(m, COAP_OPT_URI_PATH, "temperature", 11);
        break;
    case 1:
        coap_msg_init(m, COAP_ACK, COAP_CONTENT, 0x7d34);
        coap_msg_set_token(m, token2, sizeof token2);
        coap_msg_add_option(m, COAP_OPT_CONTENT_FORMAT, NULL, 0);
        m->payload = (const uint8_t *)"22.3 C";
        m->payload_len = 6;
        break;
    case 2:
        coap_msg_init(m, COAP_NON, COAP_POST, 0xffff);
        coap_msg_set_token(m, token8, sizeof token8);
        coap_msg_add_option(m, COAP_OPT_URI_QUERY, "x=1", 3);
        coap_msg_add_option(m, COAP_OPT_URI_HOST, "example.net", 11);
        coap_msg_add_option(m, COAP_OPT_URI_PATH, "a", 1);
        coap_msg_add_option(m, COAP_OPT_URI_PORT, port, sizeof port);
        coap_msg_add_option(m, COAP_OPT_URI_PATH, "b", 1);
        coap_msg_add_option(m, COAP_OPT_CONTENT_FORMAT, json_format, sizeof json_format);
        m->payload = (const uint8_t *)"{}";
        m->payload_len = 2;
        break;
    case 3:
        coap_msg_init(m, COAP_CON, COAP_PUT, 0);
        coap_msg_add_option(m, 300, NULL, 0);
        coap_msg_add_option(m, 65535, "z", 1);
        break;
    case 4:
        coap_msg_init(m, COAP_CON, COAP_CONTENT, 42);
        coap_msg_add_option(m, COAP_OPT_URI_PATH, big_value, sizeof big_value);
        coap_msg_add_option(m, COAP_OPT_BLOCK2, block2, sizeof block2);
        m->payload = huge_value;
        m->payload_len = 20;
        break;
    case 5:
        coap_msg_init(m, COAP_NON, COAP_DELETE, 7);
        for (uint16_t i = 0; i < COAP_OPTIONS_MAX; i++)
            coap_msg_add_option(m, (uint16_t)(i * 2000 + 1), huge_value, i);
        break;
    case 6:
        coap_msg_init(m, COAP_ACK, COAP_EMPTY, 0x1234);
        break;
    case 7:
        coap_msg_init(m, COAP_RST, COAP_EMPTY, 0xabcd);
        break;
    case 8:
        coap_msg_init(m, COAP_CON, COAP_EMPTY, 0x0001);
        break;
    case 9:
        coap_msg_init(m, COAP_CON, COAP_CODE(7, 31), 0x0102);
        coap_msg_set_token(m, token2, 1);
        break;
    default:
        coap_msg_init(m, COAP_ACK, COAP_NOT_FOUND, 0x7d35);
        coap_msg_add_option(m, COAP_OPT_MAX_AGE, NULL, 0);
        coap_msg_add_option(m, 20, huge_value, 269);
        m->payload = (const uint8_t *)"Not Found";
        m->payload_len = 9;
        break;
    }
}

static void test_rfc_con_get_uri_path(void **state)
{
    (void)state;
    static const uint8_t expected[] = {0x40, 0x01, 0x7d, 0x34, 0xbb, 0x74, 0x65, 0x6d,
                                       0x70, 0x65, 0x72, 0x61, 0x74, 0x75, 0x72, 0x65};
    struct coap_msg m, parsed;
    build_sample(0, &m);
    assert_encodes_to(&m, expected, sizeof expected);

    assert_int_equal(coap_parse(expected, sizeof expected, &parsed), COAP_OK);
    assert_int_equal(parsed.type, COAP_CON);
    assert_int_equal(parsed.code, COAP_GET);
    assert_int_equal(parsed.mid, 0x7d34);
    assert_int_equal(parsed.token_len, 0);
    assert_int_equal(parsed.option_count, 1);
    assert_int_equal(parsed.options[0].number, COAP_OPT_URI_PATH);
    assert_int_equal(parsed.options[0].length, 11);
    assert_ptr_equal(parsed.options[0].value, expected + 5);
    assert_null(parsed.payload);
    assert_int_equal(parsed.payload_len, 0);
}

static void test_rfc_ack_content_with_payload(void **state)
{
    (void)state;
    static const uint8_t expected[] = {0x60, 0x45, 0x7d, 0x34, 0xff, 0x32,
                                       0x32, 0x2e, 0x33, 0x20, 0x43};
    struct coap_msg m, parsed;
    coap_msg_init(&m, COAP_ACK, COAP_CONTENT, 0x7d34);
    m.payload = (const uint8_t *)"22.3 C";
    m.payload_len = 6;
    assert_encodes_to(&m, expected, sizeof expected);

    assert_int_equal(coap_parse(expected, sizeof expected, &parsed), COAP_OK);
    assert_int_equal(parsed.type, COAP_ACK);
    assert_int_equal(parsed.code, COAP_CONTENT);
    assert_int_equal(parsed.option_count, 0);
    assert_ptr_equal(parsed.payload, expected + 5);
    assert_int_equal(parsed.payload_len, 6);
}

static void test_ack_with_token_option_and_payload(void **state)
{
    (void)state;
    static const uint8_t expected[] = {0x62, 0x45, 0x7d, 0x34, 0x71, 0x4b, 0xc0,
                                       0xff, 0x32, 0x32, 0x2e, 0x33, 0x20, 0x43};
    struct coap_msg m, parsed;
    build_sample(1, &m);
    assert_encodes_to(&m, expected, sizeof expected);

    assert_int_equal(coap_parse(expected, sizeof expected, &parsed), COAP_OK);
    assert_int_equal(parsed.token_len, 2);
    assert_memory_equal(parsed.token, expected + 4, 2);
    assert_int_equal(parsed.option_count, 1);
    assert_int_equal(parsed.options[0].number, COAP_OPT_CONTENT_FORMAT);
    assert_int_equal(parsed.options[0].length, 0);
    assert_int_equal(coap_option_uint(&parsed.options[0]), 0);
    assert_memory_equal(parsed.payload, "22.3 C", 6);
}

static void test_extended_delta_13(void **state)
{
    (void)state;
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_option(&m, COAP_OPT_LOCATION_QUERY, "a", 1);
    static const uint8_t expected[] = {0x40, 0x01, 0x00, 0x01, 0xd1, 0x07, 0x61};
    assert_encodes_to(&m, expected, sizeof expected);
    assert_round_trip(&m);
}

static void test_extended_delta_14(void **state)
{
    (void)state;
    struct coap_msg m, parsed;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_option(&m, 300, NULL, 0);
    static const uint8_t expected[] = {0x40, 0x01, 0x00, 0x01, 0xe0, 0x00, 0x1f};
    assert_encodes_to(&m, expected, sizeof expected);
    assert_int_equal(coap_parse(expected, sizeof expected, &parsed), COAP_OK);
    assert_int_equal(parsed.options[0].number, 300);
    assert_int_equal(parsed.options[0].length, 0);
}

static void test_extended_length_13(void **state)
{
    (void)state;
    uint8_t expected[4 + 2 + 20] = {0x40, 0x01, 0x00, 0x01, 0xbd, 0x07};
    memset(expected + 6, 'x', 20);
    char value[20];
    memset(value, 'x', sizeof value);
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, value, sizeof value);
    assert_encodes_to(&m, expected, sizeof expected);
    assert_round_trip(&m);
}

static void test_extended_length_14(void **state)
{
    (void)state;
    uint8_t expected[4 + 3 + 300] = {0x40, 0x01, 0x00, 0x01, 0xbe, 0x00, 0x1f};
    memcpy(expected + 7, big_value, sizeof big_value);
    struct coap_msg m, parsed;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, big_value, sizeof big_value);
    assert_encodes_to(&m, expected, sizeof expected);

    assert_int_equal(coap_parse(expected, sizeof expected, &parsed), COAP_OK);
    assert_int_equal(parsed.options[0].length, 300);
    assert_ptr_equal(parsed.options[0].value, expected + 7);
    assert_round_trip(&m);
}

static void test_extended_delta_and_length_14(void **state)
{
    (void)state;
    uint8_t expected[4 + 5 + 269] = {0x40, 0x03, 0x00, 0x02, 0xee, 0xfc, 0xdb, 0x00, 0x00};
    memcpy(expected + 9, huge_value, 269);
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_PUT, 2);
    coap_msg_add_option(&m, 65000, huge_value, 269);
    assert_encodes_to(&m, expected, sizeof expected);
    assert_round_trip(&m);
}

struct nibble_case {
    uint32_t value;
    uint8_t nibble;
    uint8_t ext[2];
    size_t ext_len;
};

static const struct nibble_case nibble_cases[] = {
    {0, 0, {0}, 0},
    {12, 12, {0}, 0},
    {13, 13, {0x00}, 1},
    {268, 13, {0xff}, 1},
    {269, 14, {0x00, 0x00}, 2},
    {1000, 14, {0x02, 0xdb}, 2},
    {65535, 14, {0xfe, 0xf2}, 2},
};

static void test_delta_encoding_boundaries(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(nibble_cases); i++) {
        const struct nibble_case *c = &nibble_cases[i];
        uint8_t expected[8] = {0x40, 0x01, 0x00, 0x09, (uint8_t)(c->nibble << 4)};
        memcpy(expected + 5, c->ext, c->ext_len);
        struct coap_msg m, parsed;
        coap_msg_init(&m, COAP_CON, COAP_GET, 9);
        coap_msg_add_option(&m, (uint16_t)c->value, NULL, 0);
        assert_encodes_to(&m, expected, 5 + c->ext_len);

        assert_int_equal(coap_parse(expected, 5 + c->ext_len, &parsed), COAP_OK);
        assert_int_equal(parsed.options[0].number, c->value);
    }
}

static void test_length_encoding_boundaries(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(nibble_cases); i++) {
        const struct nibble_case *c = &nibble_cases[i];
        if (c->value > sizeof huge_value)
            continue;
        uint8_t expected[8 + sizeof huge_value] = {0x40, 0x01, 0x00, 0x09,
                                                   (uint8_t)(0x10 | c->nibble)};
        memcpy(expected + 5, c->ext, c->ext_len);
        memcpy(expected + 5 + c->ext_len, huge_value, c->value);
        size_t len = 5 + c->ext_len + c->value;
        struct coap_msg m, parsed;
        coap_msg_init(&m, COAP_CON, COAP_GET, 9);
        coap_msg_add_option(&m, COAP_OPT_IF_MATCH, huge_value, c->value);
        assert_encodes_to(&m, expected, len);

        assert_int_equal(coap_parse(expected, len, &parsed), COAP_OK);
        assert_int_equal(parsed.options[0].length, c->value);
        assert_ptr_equal(parsed.options[0].value, expected + 5 + c->ext_len);
    }
}

static void test_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        struct coap_msg m;
        build_sample(i, &m);
        assert_round_trip(&m);
    }
}

static void test_encode_refuses_descending_options(void **state)
{
    (void)state;
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 7);
    m.options[0] = (struct coap_option){COAP_OPT_URI_PATH, 1, (const uint8_t *)"a"};
    m.options[1] = (struct coap_option){COAP_OPT_URI_HOST, 1, (const uint8_t *)"h"};
    m.option_count = 2;
    uint8_t buf[32];
    size_t len = 0;
    assert_int_equal(coap_encode(&m, buf, sizeof buf, &len), COAP_ERR_BAD_ARGUMENT);
    m.options[1].number = COAP_OPT_URI_PATH; /* a repeated option is in order */
    static const uint8_t expected[] = {0x40, 0x01, 0x00, 0x07, 0xb1, 0x61, 0x01, 0x68};
    assert_encodes_to(&m, expected, sizeof expected);
}

static void test_add_option_keeps_ascending_order(void **state)
{
    (void)state;
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 7);
    assert_int_equal(coap_msg_add_option(&m, COAP_OPT_URI_PATH, "a", 1), COAP_OK);
    assert_int_equal(coap_msg_add_option(&m, COAP_OPT_URI_HOST, "h", 1), COAP_OK);
    assert_int_equal(coap_msg_add_option(&m, COAP_OPT_URI_PATH, "b", 1), COAP_OK);
    assert_int_equal(coap_msg_add_option(&m, COAP_OPT_IF_MATCH, NULL, 0), COAP_OK);

    assert_int_equal(m.option_count, 4);
    static const uint16_t numbers[] = {1, 3, 11, 11};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(m.options[i].number, numbers[i]);
    assert_memory_equal(m.options[2].value, "a", 1);
    assert_memory_equal(m.options[3].value, "b", 1);
}

static void assert_empty_message(enum coap_type type, uint16_t mid, const uint8_t *expected)
{
    struct coap_msg m, parsed;
    coap_msg_init(&m, type, COAP_EMPTY, mid);
    assert_encodes_to(&m, expected, 4);
    assert_int_equal(coap_parse(expected, 4, &parsed), COAP_OK);
    assert_int_equal(parsed.type, type);
    assert_int_equal(parsed.code, COAP_EMPTY);
    assert_int_equal(parsed.mid, mid);
    assert_int_equal(parsed.token_len, 0);
    assert_int_equal(parsed.option_count, 0);
    assert_null(parsed.payload);
}

static void test_empty_ack(void **state)
{
    (void)state;
    static const uint8_t expected[] = {0x60, 0x00, 0x12, 0x34};
    assert_empty_message(COAP_ACK, 0x1234, expected);
}

static void test_ping_con_empty(void **state)
{
    (void)state;
    static const uint8_t expected[] = {0x40, 0x00, 0xab, 0xcd};
    assert_empty_message(COAP_CON, 0xabcd, expected);
}

static void test_reset(void **state)
{
    (void)state;
    static const uint8_t expected[] = {0x70, 0x00, 0x00, 0x01};
    assert_empty_message(COAP_RST, 0x0001, expected);
}

static void test_no_payload_marker_without_payload(void **state)
{
    (void)state;
    struct coap_msg m;
    coap_msg_init(&m, COAP_NON, COAP_GET, 3);
    m.payload = (const uint8_t *)"unused";
    m.payload_len = 0;
    static const uint8_t expected[] = {0x50, 0x01, 0x00, 0x03};
    assert_encodes_to(&m, expected, sizeof expected);
}

static void test_max_option_number_and_repeats(void **state)
{
    (void)state;
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_option(&m, 65535, "a", 1);
    coap_msg_add_option(&m, 65535, "b", 1);
    static const uint8_t expected[] = {0x40, 0x01, 0x00, 0x01, 0xe1, 0xfe, 0xf2, 0x61, 0x01, 0x62};
    assert_encodes_to(&m, expected, sizeof expected);
    assert_round_trip(&m);
}

static void test_encode_no_space(void **state)
{
    (void)state;
    struct coap_msg m;
    build_sample(2, &m);
    uint8_t full[256];
    size_t needed = 0;
    assert_int_equal(coap_encode(&m, full, sizeof full, &needed), COAP_OK);

    for (size_t cap = 0; cap < needed; cap++) {
        uint8_t buf[256];
        memset(buf, 0xa5, sizeof buf);
        size_t out_len = 0;
        assert_int_equal(coap_encode(&m, buf, cap, &out_len), COAP_ERR_NO_SPACE);
        assert_int_equal(out_len, needed);
        for (size_t i = cap; i < sizeof buf; i++)
            assert_int_equal(buf[i], 0xa5);
    }
    size_t out_len = 0;
    assert_int_equal(coap_encode(&m, NULL, 0, &out_len), COAP_ERR_NO_SPACE);
    assert_int_equal(out_len, needed);

    uint8_t exact[256];
    assert_int_equal(coap_encode(&m, exact, needed, &out_len), COAP_OK);
    assert_int_equal(out_len, needed);
    assert_memory_equal(exact, full, needed);
}

static void test_encode_bad_arguments(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t out_len;
    struct coap_msg m;

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    m.token_len = 9;
    assert_int_equal(coap_encode(&m, buf, sizeof buf, &out_len), COAP_ERR_BAD_ARGUMENT);

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    m.option_count = COAP_OPTIONS_MAX + 1;
    assert_int_equal(coap_encode(&m, buf, sizeof buf, &out_len), COAP_ERR_BAD_ARGUMENT);

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    m.options[0] = (struct coap_option){COAP_OPT_URI_PATH, 3, NULL};
    m.option_count = 1;
    assert_int_equal(coap_encode(&m, buf, sizeof buf, &out_len), COAP_ERR_BAD_ARGUMENT);

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    m.payload_len = 4;
    assert_int_equal(coap_encode(&m, buf, sizeof buf, &out_len), COAP_ERR_BAD_ARGUMENT);

    coap_msg_init(&m, (enum coap_type)4, COAP_GET, 1);
    assert_int_equal(coap_encode(&m, buf, sizeof buf, &out_len), COAP_ERR_BAD_ARGUMENT);

    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    assert_int_equal(coap_encode(NULL, buf, sizeof buf, &out_len), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(coap_encode(&m, buf, sizeof buf, NULL), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(coap_encode(&m, NULL, 4, &out_len), COAP_ERR_BAD_ARGUMENT);
}

static void test_set_token_and_add_option_errors(void **state)
{
    (void)state;
    static const uint8_t token[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);

    assert_int_equal(coap_msg_set_token(&m, token, 9), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(coap_msg_set_token(&m, NULL, 1), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(coap_msg_set_token(&m, token, 8), COAP_OK);
    assert_int_equal(m.token_len, 8);
    assert_memory_equal(m.token, token, 8);
    assert_int_equal(coap_msg_set_token(&m, NULL, 0), COAP_OK);
    assert_int_equal(m.token_len, 0);

    assert_int_equal(coap_msg_add_option(&m, 1, NULL, 1), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(coap_msg_add_option(&m, 1, huge_value, 65536), COAP_ERR_BAD_ARGUMENT);
    for (size_t i = 0; i < COAP_OPTIONS_MAX; i++)
        assert_int_equal(coap_msg_add_option(&m, COAP_OPT_URI_QUERY, "q", 1), COAP_OK);
    assert_int_equal(coap_msg_add_option(&m, COAP_OPT_URI_QUERY, "q", 1),
                     COAP_ERR_TOO_MANY_OPTIONS);
    assert_int_equal(m.option_count, COAP_OPTIONS_MAX);
}

static void test_code_classes_1_6_7_are_not_parse_errors(void **state)
{
    (void)state;
    assert_int_equal(parse_exact(BYTES(0x40, 0x20, 0x00, 0x01)), COAP_OK);
    assert_int_equal(parse_exact(BYTES(0x40, 0xc0, 0x00, 0x01)), COAP_OK);
    assert_int_equal(parse_exact(BYTES(0x40, 0xff, 0x00, 0x01)), COAP_OK);
}

static void test_parse_argument_checks(void **state)
{
    (void)state;
    static const uint8_t ping[] = {0x40, 0x00, 0x00, 0x01};
    struct coap_msg m;
    assert_int_equal(coap_parse(ping, sizeof ping, NULL), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(coap_parse(NULL, 4, &m), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(coap_parse(NULL, 0, &m), COAP_ERR_TOO_SHORT);
}

static void test_malformed_bad_version(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x00, 0x01, 0x00, 0x01), COAP_ERR_VERSION);
    assert_parse_fails(BYTES(0x80, 0x01, 0x00, 0x01), COAP_ERR_VERSION);
    assert_parse_fails(BYTES(0xc0, 0x01, 0x00, 0x01), COAP_ERR_VERSION);
}

static void test_malformed_tkl_9(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x49, 0x01, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9), COAP_ERR_TKL);
}

static void test_malformed_tkl_15(void **state)
{
    (void)state;
    assert_parse_fails(
        BYTES(0x4f, 0x01, 0x00, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        COAP_ERR_TKL);
}

static void test_malformed_token_truncated(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x44, 0x01, 0x00, 0x01, 0xaa, 0xbb), COAP_ERR_TOKEN_TRUNCATED);
    assert_parse_fails(BYTES(0x48, 0x01, 0x00, 0x01), COAP_ERR_TOKEN_TRUNCATED);
}

static void test_malformed_nibble15_in_delta(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xf1, 0x61), COAP_ERR_OPTION_NIBBLE15);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xb1, 0x61, 0xf0), COAP_ERR_OPTION_NIBBLE15);
}

static void test_malformed_nibble15_in_length(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xbf, 0x61, 0x62), COAP_ERR_OPTION_NIBBLE15);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0x0f), COAP_ERR_OPTION_NIBBLE15);
}

static void test_malformed_truncated_extended_delta(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xd0), COAP_ERR_OPTION_TRUNCATED);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xe0, 0x00), COAP_ERR_OPTION_TRUNCATED);
}

static void test_malformed_truncated_extended_length(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0x0d), COAP_ERR_OPTION_TRUNCATED);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xde, 0x07, 0x00), COAP_ERR_OPTION_TRUNCATED);
}

static void test_malformed_truncated_option_value(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xb3, 0x61, 0x62), COAP_ERR_OPTION_TRUNCATED);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xbd, 0x00, 0x61), COAP_ERR_OPTION_TRUNCATED);
}

static void test_malformed_payload_marker_without_payload(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xff), COAP_ERR_PAYLOAD_MARKER_EMPTY);
    assert_parse_fails(BYTES(0x41, 0x01, 0x00, 0x01, 0x99, 0xb1, 0x61, 0xff),
                       COAP_ERR_PAYLOAD_MARKER_EMPTY);
}

static void test_malformed_empty_message_with_token(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x41, 0x00, 0x00, 0x01, 0xaa), COAP_ERR_EMPTY_NOT_EMPTY);
    assert_parse_fails(BYTES(0x41, 0x00, 0x00, 0x01), COAP_ERR_EMPTY_NOT_EMPTY);
}

static void test_malformed_empty_message_with_bytes_after_mid(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x60, 0x00, 0x00, 0x01, 0xff, 0x61), COAP_ERR_EMPTY_NOT_EMPTY);
    assert_parse_fails(BYTES(0x70, 0x00, 0x00, 0x01, 0xb1, 0x61), COAP_ERR_EMPTY_NOT_EMPTY);
}

static void test_malformed_short_datagrams(void **state)
{
    (void)state;
    assert_parse_fails(NULL, 0, COAP_ERR_TOO_SHORT);
    assert_parse_fails(BYTES(0x40), COAP_ERR_TOO_SHORT);
    assert_parse_fails(BYTES(0x40, 0x01), COAP_ERR_TOO_SHORT);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00), COAP_ERR_TOO_SHORT);
}

static void test_malformed_too_many_options(void **state)
{
    (void)state;
    uint8_t bytes[4 + COAP_OPTIONS_MAX + 1] = {0x40, 0x01, 0x00, 0x01};
    /* Every 0x00 byte is an option with delta 0 and no value: option number 0 repeated. */
    assert_int_equal(parse_exact(bytes, sizeof bytes - 1), COAP_OK);
    assert_parse_fails(bytes, sizeof bytes, COAP_ERR_TOO_MANY_OPTIONS);
}

static void test_malformed_option_number_overflow(void **state)
{
    (void)state;
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xe0, 0xff, 0xff), COAP_ERR_OPTION_NUMBER);
    assert_int_equal(parse_exact(BYTES(0x40, 0x01, 0x00, 0x01, 0xe0, 0xfe, 0xf2)), COAP_OK);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xe0, 0xfe, 0xf2, 0x10),
                       COAP_ERR_OPTION_NUMBER);
    assert_parse_fails(BYTES(0x40, 0x01, 0x00, 0x01, 0xe0, 0xfe, 0x00, 0xe0, 0xfe, 0x00),
                       COAP_ERR_OPTION_NUMBER);
}

/* A 65536-byte value is legal on the wire but only fits a buffer larger than any UDP
 * datagram; struct coap_option cannot represent it, so parse refuses it instead of truncating. */
static void test_option_length_limit(void **state)
{
    (void)state;
    size_t len = 4 + 3 + 65536;
    uint8_t *bytes = calloc(1, len);
    assert_non_null(bytes);
    memcpy(bytes, (const uint8_t[]){0x40, 0x01, 0x00, 0x01, 0x1e, 0xfe, 0xf2}, 7);
    struct coap_msg m;
    assert_int_equal(coap_parse(bytes, len - 1, &m), COAP_OK);
    assert_int_equal(m.options[0].length, 65535);

    uint8_t *again = malloc(len - 1);
    assert_non_null(again);
    size_t again_len = 0;
    assert_int_equal(coap_encode(&m, again, len - 1, &again_len), COAP_OK);
    assert_int_equal(again_len, len - 1);
    assert_memory_equal(again, bytes, len - 1);
    free(again);

    bytes[6] = 0xf3;
    assert_int_equal(parse_exact(bytes, len), COAP_ERR_BAD_ARGUMENT);
    assert_int_equal(parse_exact(bytes, len - 1), COAP_ERR_OPTION_TRUNCATED);
    free(bytes);
}

static void test_uint_encode(void **state)
{
    (void)state;
    static const struct {
        uint32_t value;
        size_t len;
        uint8_t bytes[4];
    } cases[] = {
        {0, 0, {0}},
        {1, 1, {0x01}},
        {255, 1, {0xff}},
        {256, 2, {0x01, 0x00}},
        {5683, 2, {0x16, 0x33}},
        {0x10000, 3, {0x01, 0x00, 0x00}},
        {0xffffff, 3, {0xff, 0xff, 0xff}},
        {0x1000000, 4, {0x01, 0x00, 0x00, 0x00}},
        {0xffffffff, 4, {0xff, 0xff, 0xff, 0xff}},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        uint8_t buf[4] = {0};
        size_t len = coap_uint_encode(cases[i].value, buf);
        assert_int_equal(len, cases[i].len);
        assert_memory_equal(buf, cases[i].bytes, len);
        struct coap_option opt = {1, (uint16_t)len, buf};
        assert_int_equal(coap_option_uint(&opt), cases[i].value);
    }
}

static void test_option_uint_edge_cases(void **state)
{
    (void)state;
    static const uint8_t leading_zeros[] = {0x00, 0x00, 0x00, 0x00, 0x01, 0x02};
    static const uint8_t too_big[] = {0x01, 0x00, 0x00, 0x00, 0x00};
    struct coap_option opt = {COAP_OPT_MAX_AGE, 0, NULL};
    assert_int_equal(coap_option_uint(&opt), 0);
    assert_int_equal(coap_option_uint(NULL), 0);
    opt = (struct coap_option){COAP_OPT_MAX_AGE, sizeof leading_zeros, leading_zeros};
    assert_int_equal(coap_option_uint(&opt), 0x0102);
    opt = (struct coap_option){COAP_OPT_MAX_AGE, sizeof too_big, too_big};
    assert_int_equal(coap_option_uint(&opt), UINT32_MAX);
}

static void test_find_option(void **state)
{
    (void)state;
    struct coap_msg m;
    build_sample(2, &m);

    const struct coap_option *host = coap_msg_find_option(&m, COAP_OPT_URI_HOST, NULL);
    assert_non_null(host);
    assert_memory_equal(host->value, "example.net", 11);
    assert_null(coap_msg_find_option(&m, COAP_OPT_URI_HOST, host));

    const struct coap_option *first = coap_msg_find_option(&m, COAP_OPT_URI_PATH, NULL);
    assert_non_null(first);
    assert_memory_equal(first->value, "a", 1);
    const struct coap_option *second = coap_msg_find_option(&m, COAP_OPT_URI_PATH, first);
    assert_non_null(second);
    assert_memory_equal(second->value, "b", 1);
    assert_null(coap_msg_find_option(&m, COAP_OPT_URI_PATH, second));

    const struct coap_option *port = coap_msg_find_option(&m, COAP_OPT_URI_PORT, NULL);
    assert_non_null(port);
    assert_int_equal(coap_option_uint(port), COAP_DEFAULT_PORT);
    assert_null(coap_msg_find_option(&m, COAP_OPT_ETAG, NULL));
}

static void test_join_options(void **state)
{
    (void)state;
    struct coap_msg m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, "a", 1);
    coap_msg_add_option(&m, COAP_OPT_URI_QUERY, "x=1", 3);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, "bc", 2);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, NULL, 0);
    coap_msg_add_option(&m, COAP_OPT_URI_QUERY, "y", 1);
    coap_msg_add_option(&m, COAP_OPT_URI_PATH, "d", 1);

    char buf[32];
    assert_int_equal(coap_msg_join_options(&m, COAP_OPT_URI_PATH, '/', buf, sizeof buf), 7);
    assert_string_equal(buf, "a/bc//d");
    assert_int_equal(coap_msg_join_options(&m, COAP_OPT_URI_QUERY, '&', buf, sizeof buf), 5);
    assert_string_equal(buf, "x=1&y");

    memset(buf, '#', sizeof buf);
    assert_int_equal(coap_msg_join_options(&m, COAP_OPT_URI_PATH, '/', buf, 4), 7);
    assert_string_equal(buf, "a/b");
    assert_int_equal(buf[4], '#');

    memset(buf, '#', sizeof buf);
    assert_int_equal(coap_msg_join_options(&m, COAP_OPT_URI_PATH, '/', buf, 8), 7);
    assert_string_equal(buf, "a/bc//d");

    memset(buf, '#', sizeof buf);
    assert_int_equal(coap_msg_join_options(&m, COAP_OPT_URI_PATH, '/', buf, 1), 7);
    assert_int_equal(buf[0], '\0');
    assert_int_equal(buf[1], '#');

    assert_int_equal(coap_msg_join_options(&m, COAP_OPT_URI_PATH, '/', NULL, 0), 7);
    assert_int_equal(coap_msg_join_options(&m, COAP_OPT_LOCATION_PATH, '/', buf, sizeof buf), 0);
    assert_string_equal(buf, "");
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(coap_type_name(COAP_CON), "CON");
    assert_string_equal(coap_type_name(COAP_NON), "NON");
    assert_string_equal(coap_type_name(COAP_ACK), "ACK");
    assert_string_equal(coap_type_name(COAP_RST), "RST");
    assert_non_null(coap_type_name((enum coap_type)9));
}

static void test_code_strings(void **state)
{
    (void)state;
    static const struct {
        uint8_t code;
        const char *text;
    } cases[] = {
        {COAP_EMPTY, "EMPTY"},
        {COAP_GET, "GET"},
        {COAP_POST, "POST"},
        {COAP_PUT, "PUT"},
        {COAP_DELETE, "DELETE"},
        {5, "FETCH"},
        {6, "PATCH"},
        {7, "iPATCH"},
        {8, "0.08"},
        {COAP_CREATED, "2.01"},
        {COAP_CONTENT, "2.05"},
        {COAP_NOT_FOUND, "4.04"},
        {COAP_REQUEST_ENTITY_INCOMPLETE, "4.08"},
        {COAP_INTERNAL_SERVER_ERROR, "5.00"},
        {COAP_CODE(1, 0), "1.00"},
        {0xff, "7.31"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char buf[8];
        assert_ptr_equal(coap_code_str(cases[i].code, buf, sizeof buf), buf);
        assert_string_equal(buf, cases[i].text);
    }
    char small[3];
    coap_code_str(COAP_CONTENT, small, sizeof small);
    assert_string_equal(small, "2.");
}

static void test_option_names(void **state)
{
    (void)state;
    static const struct {
        uint16_t number;
        const char *name;
    } cases[] = {
        {COAP_OPT_IF_MATCH, "If-Match"},
        {COAP_OPT_URI_HOST, "Uri-Host"},
        {COAP_OPT_ETAG, "ETag"},
        {COAP_OPT_IF_NONE_MATCH, "If-None-Match"},
        {COAP_OPT_OBSERVE, "Observe"},
        {COAP_OPT_URI_PORT, "Uri-Port"},
        {COAP_OPT_LOCATION_PATH, "Location-Path"},
        {COAP_OPT_URI_PATH, "Uri-Path"},
        {COAP_OPT_CONTENT_FORMAT, "Content-Format"},
        {COAP_OPT_MAX_AGE, "Max-Age"},
        {COAP_OPT_URI_QUERY, "Uri-Query"},
        {COAP_OPT_ACCEPT, "Accept"},
        {COAP_OPT_LOCATION_QUERY, "Location-Query"},
        {COAP_OPT_BLOCK2, "Block2"},
        {COAP_OPT_BLOCK1, "Block1"},
        {COAP_OPT_SIZE2, "Size2"},
        {COAP_OPT_PROXY_URI, "Proxy-Uri"},
        {COAP_OPT_PROXY_SCHEME, "Proxy-Scheme"},
        {COAP_OPT_SIZE1, "Size1"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        assert_string_equal(coap_option_name(cases[i].number), cases[i].name);
    assert_null(coap_option_name(0));
    assert_null(coap_option_name(2));
    assert_null(coap_option_name(65535));
}

static void test_status_strings_are_distinct(void **state)
{
    (void)state;
    assert_string_equal(coap_status_str(COAP_ERR_VERSION), "version is not 1");
    assert_string_equal(coap_status_str(COAP_ERR_TKL), "token length 9-15 is reserved");
    for (int a = 0; a < COAP_STATUS_COUNT; a++) {
        const char *text = coap_status_str((enum coap_status)a);
        assert_non_null(text);
        assert_true(strlen(text) > 0);
        for (int b = 0; b < a; b++)
            assert_string_not_equal(text, coap_status_str((enum coap_status)b));
    }
    assert_non_null(coap_status_str(COAP_STATUS_COUNT));
    assert_non_null(coap_status_str((enum coap_status)(COAP_STATUS_COUNT + 7)));
}

/* xorshift64*: deterministic, so a failure reproduces on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rng_below(uint32_t n)
{
    return rng_next() % n;
}

enum { SEED_CAP = 1536, FUZZ_ITERATIONS = 200000 };

struct seed {
    uint8_t bytes[SEED_CAP];
    size_t len;
};

/* Bytes that sit on the codec's decision boundaries. */
static const uint8_t interesting_bytes[] = {0x00, 0x01, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x40,
                                            0x48, 0x49, 0x4f, 0xc0, 0xd0, 0xe0, 0xf0, 0xff};

static size_t mutate(uint8_t *buf, size_t len, size_t cap)
{
    switch (rng_below(6)) {
    case 0:
        for (uint32_t n = 1 + rng_below(4); n > 0 && len > 0; n--)
            buf[rng_below((uint32_t)len)] ^= (uint8_t)(1u << rng_below(8));
        return len;
    case 1:
        if (len > 0)
            buf[rng_below((uint32_t)len)] =
                interesting_bytes[rng_below(ARRAY_LEN(interesting_bytes))];
        return len;
    case 2:
        return rng_below((uint32_t)len + 1);
    case 3:
        for (uint32_t n = 1 + rng_below(8); n > 0 && len < cap; n--)
            buf[len++] = rng_below(2) ? (uint8_t)rng_next()
                                      : interesting_bytes[rng_below(ARRAY_LEN(interesting_bytes))];
        return len;
    case 4: {
        if (len < cap) {
            size_t at = rng_below((uint32_t)len + 1);
            memmove(buf + at + 1, buf + at, len - at);
            buf[at] = (uint8_t)rng_next();
            len++;
        }
        return len;
    }
    default:
        if (len > 0)
            buf[rng_below((uint32_t)len)] = (uint8_t)rng_next();
        return rng_below((uint32_t)len + 1);
    }
}

static bool points_inside(const uint8_t *p, size_t n, const uint8_t *buf, size_t len)
{
    return p >= buf && p <= buf + len && (size_t)(buf + len - p) >= n;
}

static void check_parsed(const struct coap_msg *m, const uint8_t *buf, size_t len)
{
    assert_true(m->token_len <= COAP_TOKEN_MAX);
    assert_true(m->option_count <= COAP_OPTIONS_MAX);
    for (size_t i = 0; i < m->option_count; i++) {
        const struct coap_option *opt = &m->options[i];
        if (opt->length > 0 || opt->value != NULL)
            assert_true(points_inside(opt->value, opt->length, buf, len));
        if (i > 0)
            assert_true(m->options[i - 1].number <= opt->number);
    }
    if (m->payload != NULL) {
        assert_true(m->payload_len > 0);
        assert_true(points_inside(m->payload, m->payload_len, buf, len));
    } else {
        assert_int_equal(m->payload_len, 0);
    }

    /* The wire encoding is canonical, so anything accepted must re-encode identically. */
    uint8_t again[SEED_CAP + 16];
    size_t again_len = 0;
    assert_int_equal(coap_encode(m, again, sizeof again, &again_len), COAP_OK);
    assert_int_equal(again_len, len);
    assert_memory_equal(again, buf, len);
}

static void test_parse_never_reads_out_of_bounds(void **state)
{
    (void)state;
    static struct seed seeds[SAMPLE_COUNT];
    unsigned seen[COAP_STATUS_COUNT] = {0};

    for (size_t i = 0; i < SAMPLE_COUNT; i++) {
        struct coap_msg m;
        build_sample(i, &m);
        assert_int_equal(coap_encode(&m, seeds[i].bytes, sizeof seeds[i].bytes, &seeds[i].len),
                         COAP_OK);
    }

    for (uint32_t iter = 0; iter < FUZZ_ITERATIONS; iter++) {
        const struct seed *s = &seeds[rng_below(SAMPLE_COUNT)];
        uint8_t scratch[SEED_CAP + 16];
        memcpy(scratch, s->bytes, s->len);
        size_t len = s->len;
        for (uint32_t rounds = 1 + rng_below(3); rounds > 0; rounds--)
            len = mutate(scratch, len, sizeof scratch);

        uint8_t *buf = heap_copy(scratch, len);
        struct coap_msg m;
        enum coap_status st = coap_parse(buf, len, &m);
        assert_true((unsigned)st < COAP_STATUS_COUNT);
        seen[st]++;
        if (st == COAP_OK)
            check_parsed(&m, buf, len);
        free(buf);
    }

    for (int st = 0; st < COAP_STATUS_COUNT; st++) {
        if (st == COAP_ERR_NO_SPACE || st == COAP_ERR_BAD_ARGUMENT)
            assert_int_equal(seen[st], 0);
        else if (seen[st] == 0)
            fail_msg("mutation loop never produced %s", coap_status_str((enum coap_status)st));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_con_get_uri_path),
        cmocka_unit_test(test_rfc_ack_content_with_payload),
        cmocka_unit_test(test_ack_with_token_option_and_payload),
        cmocka_unit_test(test_extended_delta_13),
        cmocka_unit_test(test_extended_delta_14),
        cmocka_unit_test(test_extended_length_13),
        cmocka_unit_test(test_extended_length_14),
        cmocka_unit_test(test_extended_delta_and_length_14),
        cmocka_unit_test(test_delta_encoding_boundaries),
        cmocka_unit_test(test_length_encoding_boundaries),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_encode_refuses_descending_options),
        cmocka_unit_test(test_add_option_keeps_ascending_order),
        cmocka_unit_test(test_empty_ack),
        cmocka_unit_test(test_ping_con_empty),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_no_payload_marker_without_payload),
        cmocka_unit_test(test_max_option_number_and_repeats),
        cmocka_unit_test(test_encode_no_space),
        cmocka_unit_test(test_encode_bad_arguments),
        cmocka_unit_test(test_set_token_and_add_option_errors),
        cmocka_unit_test(test_code_classes_1_6_7_are_not_parse_errors),
        cmocka_unit_test(test_parse_argument_checks),
        cmocka_unit_test(test_malformed_bad_version),
        cmocka_unit_test(test_malformed_tkl_9),
        cmocka_unit_test(test_malformed_tkl_15),
        cmocka_unit_test(test_malformed_token_truncated),
        cmocka_unit_test(test_malformed_nibble15_in_delta),
        cmocka_unit_test(test_malformed_nibble15_in_length),
        cmocka_unit_test(test_malformed_truncated_extended_delta),
        cmocka_unit_test(test_malformed_truncated_extended_length),
        cmocka_unit_test(test_malformed_truncated_option_value),
        cmocka_unit_test(test_malformed_payload_marker_without_payload),
        cmocka_unit_test(test_malformed_empty_message_with_token),
        cmocka_unit_test(test_malformed_empty_message_with_bytes_after_mid),
        cmocka_unit_test(test_malformed_short_datagrams),
        cmocka_unit_test(test_malformed_too_many_options),
        cmocka_unit_test(test_malformed_option_number_overflow),
        cmocka_unit_test(test_option_length_limit),
        cmocka_unit_test(test_uint_encode),
        cmocka_unit_test(test_option_uint_edge_cases),
        cmocka_unit_test(test_find_option),
        cmocka_unit_test(test_join_options),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_code_strings),
        cmocka_unit_test(test_option_names),
        cmocka_unit_test(test_status_strings_are_distinct),
        cmocka_unit_test(test_parse_never_reads_out_of_bounds),
    };
    return cmocka_run_group_tests(tests, setup_patterns, NULL);
}
