/* libFuzzer target: one datagram into the RFC 7252 codec. Besides "no crash, leak or hang" it
 * checks what must hold for every input the parser accepts: encoding the parsed message gives
 * back the very same bytes (each field has exactly one encoding), a buffer one byte short is
 * refused, and the read-side helpers stay within their buffers. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/coap/codec.h"
#include "transports/tests/fuzz.h"
#include "harness/wirefmt.h"

/* Every helper a receiver applies to a parsed message; the results only feed a checksum so
 * nothing is optimised away. */
static unsigned read_helpers(const struct coap_msg *msg)
{
    char text[16], code[8];
    unsigned sum = (unsigned)strlen(coap_type_name(msg->type));
    sum += (unsigned)strlen(coap_code_str(msg->code, code, sizeof code));
    for (size_t i = 0; i < msg->option_count; i++) {
        const struct coap_option *opt = &msg->options[i];
        const char *name = coap_option_name(opt->number);
        sum += (name != NULL ? (unsigned)strlen(name) : 0) + coap_option_uint(opt);
        sum += coap_msg_find_option(msg, opt->number, NULL) <= opt;
    }
    /* Small on purpose: joined options longer than the buffer must be clipped. */
    sum += (unsigned)coap_msg_join_options(msg, COAP_OPT_URI_PATH, '/', text, sizeof text);
    sum += (unsigned)coap_msg_join_options(msg, COAP_OPT_URI_QUERY, '&', NULL, 0);
    return sum + (unsigned)strlen(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t again[COAPMX_FUZZ_MAX_DATAGRAM];
    struct coap_msg msg;
    size_t len;
    enum coap_status st = coap_parse(data, size, &msg);
    if (st != COAP_OK) {
        FUZZ_CHECK(strlen(coap_status_str(st)) > 0, "status %d has no text", (int)st);
        return 0;
    }
    FUZZ_CHECK(size <= sizeof again, "a %zu-byte datagram parsed", size);
    st = coap_encode(&msg, again, size, &len);
    FUZZ_CHECK(st == COAP_OK, "a parsed message does not encode: %s", coap_status_str(st));
    FUZZ_CHECK(len == size && memcmp(again, data, size) == 0,
               "encoding a parsed message changed it (%zu bytes in, %zu out)", size, len);
    st = coap_encode(&msg, again, size - 1, &len);
    FUZZ_CHECK(st == COAP_ERR_NO_SPACE, "encoding into %zu of %zu bytes: %s", size - 1, size,
               coap_status_str(st));
    volatile unsigned sink = read_helpers(&msg);
    (void)sink;
    return 0;
}
