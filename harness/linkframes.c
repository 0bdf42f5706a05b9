#include "linkframes.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINK_TAP_BUFFER (4 << 20) /* a cell's burst (L2's 300 requests) never fills it */

static enum link_frame_kind icmp_kind(bool v6, const uint8_t *frame, size_t len, size_t at)
{
    if (len <= at)
        return LINK_FRAME_ICMP_OTHER; /* a later fragment: only the first carries the type */
    uint8_t type = frame[at];
    if (v6)
        return type < 128 ? LINK_FRAME_ICMP_ERROR : LINK_FRAME_ICMP_OTHER;
    return type == 3 || type == 4 || type == 11 || type == 12 ? LINK_FRAME_ICMP_ERROR
                                                              : LINK_FRAME_ICMP_OTHER;
}

enum link_frame_kind link_frame_kind(const uint8_t *frame, size_t len)
{
    if (len < ETHER_HDR_LEN)
        return LINK_FRAME_OTHER;
    uint16_t type = (uint16_t)(frame[12] << 8 | frame[13]);
    const uint8_t *ip = frame + ETHER_HDR_LEN;
    if (type == ETHERTYPE_IP) {
        if (len < ETHER_HDR_LEN + 20)
            return LINK_FRAME_OTHER;
        size_t header = (size_t)(ip[0] & 0x0f) * 4;
        bool first_fragment = ((ip[6] & 0x1f) | ip[7]) == 0;
        if (ip[9] == IPPROTO_UDP)
            return LINK_FRAME_UDP;
        if (ip[9] != IPPROTO_ICMP)
            return LINK_FRAME_OTHER;
        return icmp_kind(false, frame, first_fragment ? len : 0, ETHER_HDR_LEN + header);
    }
    if (type != ETHERTYPE_IPV6 || len < ETHER_HDR_LEN + 40)
        return LINK_FRAME_OTHER;
    /* a fragment's header says what it is a piece of (the 2000-byte answer of E4 is one) */
    uint8_t next = ip[6];
    size_t at = ETHER_HDR_LEN + 40;
    bool first_fragment = true;
    if (next == IPPROTO_FRAGMENT) {
        if (len < at + 8)
            return LINK_FRAME_OTHER;
        next = frame[at];
        first_fragment = (frame[at + 2] << 8 | (frame[at + 3] & 0xf8)) == 0;
        at += 8;
    }
    if (next == IPPROTO_UDP)
        return LINK_FRAME_UDP;
    if (next != IPPROTO_ICMPV6)
        return LINK_FRAME_OTHER;
    return icmp_kind(true, frame, first_fragment ? len : 0, at);
}

bool link_frame_counted(enum link_frame_kind kind)
{
    return kind == LINK_FRAME_UDP || kind == LINK_FRAME_ICMP_ERROR;
}

void link_count_frame(struct link_count *count, const uint8_t *frame, size_t len,
                      unsigned char pkttype)
{
    if (!link_frame_counted(link_frame_kind(frame, len)))
        return;
    if (pkttype == PACKET_OUTGOING)
        count->sent++;
    else
        count->received++;
}

int link_tap_open(const char *ifname)
{
    unsigned ifindex = if_nametoindex(ifname);
    if (ifindex == 0)
        return -1;
    int tap = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    int buffer = LINK_TAP_BUFFER;
    struct sockaddr_ll link = {
        .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)ifindex};
    if (tap < 0 || setsockopt(tap, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) != 0 ||
        bind(tap, (struct sockaddr *)&link, sizeof link) != 0) {
        int e = errno;
        if (tap >= 0)
            close(tap);
        errno = e;
        return -1;
    }
    return tap;
}

int link_tap_read(int tap, struct link_count *count, char *why, size_t why_cap)
{
    uint8_t frame[LINK_FRAME_HEADERS];
    for (;;) {
        struct sockaddr_ll from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(tap, frame, sizeof frame, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &from_len);
        if (n < 0)
            break;
        size_t got = (size_t)n < sizeof frame ? (size_t)n : sizeof frame;
        link_count_frame(count, frame, got, from.sll_pkttype);
    }
    struct tpacket_stats stats;
    socklen_t len = sizeof stats;
    if (getsockopt(tap, SOL_PACKET, PACKET_STATISTICS, &stats, &len) == 0 && stats.tp_drops > 0) {
        snprintf(why, why_cap,
                 "the count of the link's frames lost %u of them (its buffer was full)",
                 stats.tp_drops);
        return -1;
    }
    return 0;
}
