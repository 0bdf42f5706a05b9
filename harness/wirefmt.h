/* Text for people: addresses, CoAP messages and their options, written into a caller's buffer
 * that never overflows (a line that does not fit is cut, and `needed` says how long it would
 * be). One place for this, so a cell's log and `coapmx pcap` print a datagram alike. */
#ifndef COAPMX_WIREFMT_H
#define COAPMX_WIREFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../transports/coap/codec.h"

struct wire_line {
    char *buf;
    size_t cap, len, needed;
};

/* A line writing into buf[cap] (cap 0: only measuring). */
struct wire_line wire_line_start(char *buf, size_t cap);
void wire_line_append(struct wire_line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void wire_line_host(struct wire_line *l, const struct sockaddr *sa);
/* "127.0.0.1:5683" / "[fd00::1%2]:5683" */
void wire_line_sockaddr(struct wire_line *l, const struct sockaddr *sa);
void wire_line_hex(struct wire_line *l, const uint8_t *data, size_t len);
/* Bytes outside printable ASCII (and the space) escaped, so a value stays one token. */
void wire_line_text(struct wire_line *l, const uint8_t *data, size_t len);
/* " Uri-Path:hello", " Block2:2/1/64", " Opt65000:0a0b" */
void wire_line_option(struct wire_line *l, const struct coap_option *opt);
/* "CON GET mid=0x1a2b tok=0a0b Uri-Path:hello payload=0" */
void wire_line_coap(struct wire_line *l, const struct coap_msg *msg);
/* b - a in microseconds, saturated at +-2^62 (a hostile file's times may be anything) so that
 * differences of results never overflow either. */
long long wire_micros_between(long long a_sec, long long a_usec, long long b_sec, long long b_usec);
/* Seconds with microseconds, signed. */
void wire_line_micros(struct wire_line *l, long long micros);

size_t wire_format_sockaddr(const struct sockaddr *sa, char *buf, size_t cap);

/* text as HTML/SVG character data or attribute value (& < > " escaped), at most max_chars of it
 * (then "…"). Bytes outside printable ASCII become '?' when ascii_only, else pass through. */
void wire_write_markup(FILE *f, const char *text, size_t max_chars, bool ascii_only);

/* How an option's value is best shown: its registered format (RFC 7252 §5.10, RFC 7959,
 * RFC 8613, RFC 9175, RFC 9177, ...). */
enum wire_option_format {
    WIRE_OPTION_OPAQUE,
    WIRE_OPTION_TEXT,
    WIRE_OPTION_UINT,
    WIRE_OPTION_BLOCK
};
/* The format to show opt in: opaque when the option is unknown or its value does not fit. */
enum wire_option_format wire_option_format(const struct coap_option *opt);

/* Names for printing CoAP, the harness's alone (the stack under test never prints a code). */
/* "GET", "2.05" ... into buf (at least 8 bytes); returns buf. */
const char *coap_code_str(uint8_t code, char *buf, size_t cap);
const char *coap_option_name(uint16_t number); /* "Uri-Path", or NULL if unknown */

/* Same family and IP address; ports are not compared (the harness's filters alone). */
bool coapmx_sockaddr_same_ip(const struct sockaddr *a, const struct sockaddr *b);

#endif
