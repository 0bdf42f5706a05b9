/* `coapmx pcap FILE`: any capture, read as a stream in constant memory and printed frame by
 * frame, for people (text) or scripts (--json, one object per line).
 *
 * What is CoAP follows Wireshark's practice: UDP port 5683 and the ports the user names are
 * CoAP, 5684 is DTLS (shown, not decoded), and a datagram on any other port is CoAP only when it
 * parses and its port pair has carried a request and its answer; everything else is UDP. Every
 * frame that is not shown as a datagram is shown as skipped with its cause, and counted by
 * cause in the summary. A file that breaks off is printed up to the break, then the reader
 * says where and why it stopped. Linkage (which datagram acknowledges, answers, retransmits or
 * duplicates which) and block-wise transfers are followed in bounded tables: state older than
 * EXCHANGE_LIFETIME, or beyond the tables' size, is forgotten. */
#ifndef COAPMX_INSPECT_H
#define COAPMX_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define INSPECT_MAX_PORTS 16

struct inspect_options {
    bool json;         /* one JSON object per line instead of text */
    bool absolute;     /* times as UTC dates instead of seconds since the first frame */
    bool svg;          /* a message sequence chart (SVG) instead of text: two passes over f */
    const char *hosts; /* a file in /etc/hosts form naming the chart's lifelines, or NULL */
    bool every_port;   /* every UDP datagram is CoAP (a capture of CoAP alone, as a cell's) */
    uint16_t ports[INSPECT_MAX_PORTS]; /* CoAP ports beyond 5683 */
    size_t port_count;
};

enum inspect_result {
    INSPECT_COMPLETE = 0, /* read to its end */
    INSPECT_STOPPED = 1,  /* reading stopped early: printed up to there, then why on err */
    INSPECT_UNUSABLE = 2, /* not a capture at all (or cannot be opened); why on err */
};

/* Reads f (not closed; seekable for --svg) as `name` in messages. */
enum inspect_result inspect_stream(FILE *f, const char *name, const struct inspect_options *opt,
                                   FILE *out, FILE *err);
enum inspect_result inspect_file(const char *path, const struct inspect_options *opt, FILE *out,
                                 FILE *err);

#endif
