/* The frames of a cell's link, as far as the cell's bookkeeping needs them: what the peer's
 * capture keeps, and the count both ends of a real link keep so that a virtual clock never
 * jumps while a frame is still inside the kernel.
 *
 * On a veth, a frame is handed to the other end by softirq processing, which a loaded machine
 * runs late (in ksoftirqd, milliseconds on): a datagram can be neither in its sender's socket nor
 * in its receiver's. A packet socket on each end counts what that end sent (as it leaves) and
 * received (as the other namespace takes it in), so the difference is exactly what is still
 * under way. Only frames the cell's own traffic causes are counted: UDP datagrams (every
 * fragment) and ICMP errors. The kernel's own ARP, neighbour discovery, MLD and IGMP start
 * before either count does, and the lane's static neighbours (lane_netns.c) mean no datagram
 * waits for them. */
#ifndef COAPMX_LINKFRAMES_H
#define COAPMX_LINKFRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum link_frame_kind {
    LINK_FRAME_OTHER,      /* ARP, IGMP, TCP, ... */
    LINK_FRAME_UDP,        /* a UDP datagram or any fragment of one */
    LINK_FRAME_ICMP_ERROR, /* ICMPv4 types 3, 4, 11, 12; ICMPv6 types below 128 */
    LINK_FRAME_ICMP_OTHER, /* echo, neighbour discovery, MLD, ... */
};

/* An Ethernet frame, of which len bytes were read. */
enum link_frame_kind link_frame_kind(const uint8_t *frame, size_t len);

/* Whether the cell's traffic alone causes frames of this kind (so both ends count them). */
bool link_frame_counted(enum link_frame_kind kind);

/* Bytes of a frame link_frame_kind needs at most. */
#define LINK_FRAME_HEADERS 96

struct link_count {
    uint64_t sent, received;
};

/* Adds a counted frame seen by a packet socket, by the packet type the socket gave it
 * (sockaddr_ll.sll_pkttype). */
void link_count_frame(struct link_count *count, const uint8_t *frame, size_t len,
                      unsigned char pkttype);

/* A packet socket on ifname, of the calling thread's network namespace, for link_tap_read.
 * Returns the descriptor, or -1 with errno set. */
int link_tap_open(const char *ifname);

/* Counts every frame the tap holds into count. Returns 0, or -1 with why when the tap lost
 * frames (its buffer was full) and its count cannot be trusted. */
int link_tap_read(int tap, struct link_count *count, char *why, size_t why_cap);

#endif
