/* simple6, except that remotes are named by the IP literal used instead of the requested name:
 * aimed at by N3 (and N4's host-name cell, R2's names, and B1's reassembled download). */
#define SIMPLE6_OPS_SYMBOL                          mutant_netloc_ip_ops
#define SIMPLE6_NAME                                "mutant-netloc-ip"
#define SIMPLE6_NETLOC_OF(host, port, sa, buf, cap) coapmx_hostinfo_of(sa, false, buf, cap)
#include "../../transports/simple6.c"
