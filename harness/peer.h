/* The reference CoAP peer: a separate process with plain sockets bound to the lane's peer and
 * stranger addresses. It uses no transport and no message layer of the stack under test, only
 * the codec. Its capture is the cell's authoritative view of the wire.
 *
 * Resources: /hello ("hello"), /whoami (the source hostinfo it saw), /junk-first and
 * /junk-rest (each half of the PEER_JUNK_COUNT malformed datagrams, then "hello"), /oversize-first
 * (a PEER_OVERSIZE_BYTES response with the right token, then "hello"), /big (PEER_BIG_BYTES of
 * payload), /big10k (PEER_BLOCKWISE_BYTES of PEER_PATTERN in Block2 blocks of the size asked
 * for), /big10k-small (the same in blocks of at most PEER_SMALL_BLOCK bytes), PUT /upload (Block1
 * blocks in order from one source, else 4.08; answers "got N bytes, pattern ok"), /silent (no
 * answer). Anything else: 4.04. CoAP ping: RST.
 *
 * Control (one line each way, over a socketpair):
 *   send <from-hostinfo> <to-hostinfo> <hex>   -> "ok" | "err <errno> <text>"
 *   sync [RECEIVED LIMIT_MS]                   -> "ok RECEIVED SENT" once every queued datagram
 *                                                 is handled, after waiting (up to LIMIT_MS)
 *                                                 for the capture to count RECEIVED frames
 *                                                 in (linkframes.h); its counts in and out
 *   behave drop N | separate-later | release | duplicate | spoof | wrong-token | reset
 *                                              -> "ok"; scripts the next answers: drop N
 *                                                 requests; answer the next CON with an empty
 *                                                 ACK and keep its response (a separate CON)
 *                                                 until "release"; send the next response twice;
 *                                                 send it first from the stranger's address, or
 *                                                 first with a wrong token; answer the next
 *                                                 request with RST
 *   quit                                       -> the peer exits */
#ifndef COAPMX_PEER_H
#define COAPMX_PEER_H

#include <stdint.h>

#define PEER_PORT_DEFAULT 5683
#define PEER_PORT_ALT     5690
#define PEER_PORT_V4_ONLY 5697 /* open on the peer's IPv4 address only (F5) */
#define PEER_PORT_V6_ONLY 5698 /* open on the peer's IPv6 address only */
/* Malformed datagrams, sent in two bursts: socket_wrapper's AF_UNIX datagram queue holds about
 * ten, and a sender blocked on a full queue would stall the cell waiting for the peer. */
#define PEER_JUNK_COUNT      14
#define PEER_OVERSIZE_BYTES  2000
#define PEER_BIG_BYTES       8192  /* over aiocoap's 4096-byte receive buffer */
#define PEER_BLOCKWISE_BYTES 10240 /* /big10k, served in Block2 blocks */
#define PEER_SMALL_SZX       2     /* /big10k-small: blocks of 64 bytes, whatever is asked */
#define PEER_SMALL_BLOCK     (16 << PEER_SMALL_SZX)
#define PEER_PATTERN(i)      ('a' + (i) % 26)

int peer_main(int argc, char **argv);

#endif
