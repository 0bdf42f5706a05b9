/* Message sequence charts as SVG: one lifeline per endpoint, one arrow per datagram, times down
 * the left side. `coapmx pcap --svg` feeds it (inspect.c decides what each frame is; this file
 * only draws). The endpoints must be known before the first arrow, so a chart is made in two
 * passes over a capture: chart_add_endpoint for every datagram, then chart_begin, chart_row for
 * every datagram, chart_end. Bounded: at most CHART_MAX_LIFELINES lifelines (the rest share
 * one, "others") and CHART_MAX_ROWS arrows (the rest are counted, not drawn). */
#ifndef COAPMX_CHART_H
#define COAPMX_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define CHART_MAX_LIFELINES 12
#define CHART_MAX_ROWS      2000
#define CHART_MAX_NAMES     256

enum chart_style {
    CHART_MESSAGE,        /* a CoAP message */
    CHART_RETRANSMISSION, /* a CON sent again */
    CHART_DUPLICATE,      /* a message seen before */
    CHART_RESET,          /* an RST */
    CHART_ICMP,           /* an ICMP error */
    CHART_MALFORMED,      /* CoAP that breaks RFC 7252 */
    CHART_OTHER,          /* UDP that is not CoAP, DTLS, fragments */
    CHART_NOTE,           /* no arrow: a line of text across the chart (a finished transfer) */
    CHART_STYLE_COUNT
};

struct chart_row {
    uint64_t frame;
    long long micros;
    const struct sockaddr *src, *dst; /* NULL for a note */
    bool with_ports;                  /* false: an ICMP packet, matched to a lifeline by address */
    enum chart_style style;
    const char *label; /* above the arrow */
    const char *note;  /* below it, smaller ("" for none) */
};

struct chart_lifeline {
    struct sockaddr_storage addr;
    bool with_port;
    char name[128]; /* a host name for the address, "" if none is known */
};

struct chart {
    struct chart_lifeline lifelines[CHART_MAX_LIFELINES];
    size_t lifeline_count;
    bool others; /* some endpoints share the last, "others" lifeline */
    struct {
        struct sockaddr_storage addr;
        char name[128];
    } names[CHART_MAX_NAMES];
    size_t name_count;
    FILE *out;
    size_t rows, rows_not_drawn;
    const char *title;
};

/* Host names for addresses, from a file in /etc/hosts form ("ADDRESS NAME..."). Returns 0, or -1
 * with err filled (the file cannot be read; lines that are not addresses are ignored). */
int chart_read_hosts(struct chart *c, const char *path, char *err, size_t err_cap);
/* Pass one. */
void chart_add_endpoint(struct chart *c, const struct sockaddr *sa, bool with_port);
/* Pass two. */
void chart_begin(struct chart *c, FILE *out, const char *title, size_t expected_rows);
void chart_row(struct chart *c, const struct chart_row *row);
/* footer: a line of totals (e.g. the summary), and the legend */
void chart_end(struct chart *c, const char *footer);

#endif
