/* `coapmx check FILE`: ETSI CoAP plugtest verdicts on any capture, as F-Interop's ttproto gives
 * them. The test descriptions are those of cabo/td-coap4 (base.yml: TD_COAP_CORE_01-23 and 31;
 * block.yml: TD_COAP_BLOCK_01-06), each written here as the checks its steps state. A TD matches
 * a capture when the capture holds its stimulus (e.g. a confirmable GET of /test for
 * TD_COAP_CORE_01); each instance is then PASS, FAIL (with the step's check that failed) or
 * INCONCLUSIVE (the capture ends before the TD does), with its frame numbers.
 *
 * The capture is read whole (a TD may look back over the whole exchange), up to
 * CHECK_MAX_MESSAGES CoAP messages. What is CoAP follows `coapmx pcap`: ports 5683 and --port,
 * and any port pair that carried a request and its answer. */
#ifndef COAPMX_CHECK_H
#define COAPMX_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CHECK_MAX_MESSAGES 200000

struct check_options {
    bool every_port; /* every UDP datagram that parses is CoAP */
    uint16_t ports[16];
    size_t port_count;
    bool list; /* print the TDs known, then stop */
};

/* 0: every matched TD passed (or was inconclusive); 1: some TD failed; 2: unusable input. */
int check_file(const char *path, const struct check_options *opt, FILE *out, FILE *err);
/* The same on an open capture (not closed); name is for messages. */
int check_stream(FILE *f, const char *name, const struct check_options *opt, FILE *out, FILE *err);

#endif
