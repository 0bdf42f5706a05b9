/* The link's frame count (linkframes.h): which frames count, and on the netns lane what a cell's
 * virtual clock relies on: a datagram is counted on the transport's side once sent, and on the
 * peer's side once the peer's namespace took it in, and the same for the kernel's ICMP answers
 * the other way. (That no address resolution holds a datagram back, the lane's permanent
 * neighbours, is test_lane_fresh's.) The live part needs root; it is skipped without. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/lane.h"
#include "harness/linkframes.h"
#include "harness/netlink.h"
#include "transports/addr.h"

/* An Ethernet frame of the given type with `ip` after its header. */
static size_t frame_of(uint16_t ethertype, const uint8_t *ip, size_t ip_len, uint8_t *out)
{
    memset(out, 0, 14);
    out[12] = (uint8_t)(ethertype >> 8);
    out[13] = (uint8_t)ethertype;
    memcpy(out + 14, ip, ip_len);
    return 14 + ip_len;
}

static enum link_frame_kind kind_v4(uint8_t protocol, uint16_t fragment_offset, uint8_t first)
{
    uint8_t ip[28] = {0x45}, frame[64];
    ip[6] = (uint8_t)(fragment_offset >> 8);
    ip[7] = (uint8_t)fragment_offset;
    ip[9] = protocol;
    ip[20] = first; /* the ICMP type, or the UDP source port's first byte */
    return link_frame_kind(frame, frame_of(0x0800, ip, sizeof ip, frame));
}

static enum link_frame_kind kind_v6(uint8_t next, bool fragment, uint16_t offset, uint8_t first)
{
    uint8_t ip[56] = {0x60}, frame[80];
    size_t at = 40;
    ip[6] = fragment ? IPPROTO_FRAGMENT : next;
    if (fragment) {
        ip[40] = next;
        ip[42] = (uint8_t)(offset >> 8);
        ip[43] = (uint8_t)offset;
        at += 8;
    }
    ip[at] = first;
    return link_frame_kind(frame, frame_of(0x86dd, ip, at + 8, frame));
}

static void test_kinds(void **state)
{
    (void)state;
    assert_int_equal(kind_v4(IPPROTO_UDP, 0, 0), LINK_FRAME_UDP);
    assert_int_equal(kind_v4(IPPROTO_UDP, 185, 0), LINK_FRAME_UDP); /* a later fragment */
    assert_int_equal(kind_v4(IPPROTO_ICMP, 0, 3), LINK_FRAME_ICMP_ERROR);
    assert_int_equal(kind_v4(IPPROTO_ICMP, 0, 11), LINK_FRAME_ICMP_ERROR);
    assert_int_equal(kind_v4(IPPROTO_ICMP, 0, 8), LINK_FRAME_ICMP_OTHER);      /* echo */
    assert_int_equal(kind_v4(IPPROTO_ICMP, 0x2000, 3), LINK_FRAME_ICMP_ERROR); /* more frags */
    assert_int_equal(kind_v4(IPPROTO_ICMP, 1, 3), LINK_FRAME_ICMP_OTHER);      /* a later one */
    assert_int_equal(kind_v4(2, 0, 0), LINK_FRAME_OTHER);                      /* IGMP */
    assert_int_equal(kind_v6(IPPROTO_UDP, false, 0, 0), LINK_FRAME_UDP);
    assert_int_equal(kind_v6(IPPROTO_UDP, true, 0x05a8, 0), LINK_FRAME_UDP);
    assert_int_equal(kind_v6(IPPROTO_ICMPV6, false, 0, 1), LINK_FRAME_ICMP_ERROR);
    assert_int_equal(kind_v6(IPPROTO_ICMPV6, false, 0, 2), LINK_FRAME_ICMP_ERROR);
    assert_int_equal(kind_v6(IPPROTO_ICMPV6, false, 0, 135), LINK_FRAME_ICMP_OTHER); /* NS */
    assert_int_equal(kind_v6(IPPROTO_ICMPV6, false, 0, 143), LINK_FRAME_ICMP_OTHER); /* MLD */
    assert_int_equal(kind_v6(IPPROTO_ICMPV6, true, 0x0008, 1), LINK_FRAME_ICMP_OTHER);
    assert_int_equal(kind_v6(0, false, 0, 0), LINK_FRAME_OTHER); /* hop-by-hop: MLD reports */
    uint8_t arp[28] = {0}, frame[64];
    assert_int_equal(link_frame_kind(frame, frame_of(0x0806, arp, sizeof arp, frame)),
                     LINK_FRAME_OTHER);
    assert_int_equal(link_frame_kind(frame, 13), LINK_FRAME_OTHER); /* cut short */
    assert_int_equal(link_frame_kind(frame, frame_of(0x0800, arp, 19, frame)), LINK_FRAME_OTHER);
}

static void test_counts(void **state)
{
    (void)state;
    uint8_t ip[28] = {0x45}, frame[64];
    ip[9] = IPPROTO_UDP;
    size_t len = frame_of(0x0800, ip, sizeof ip, frame);
    struct link_count c = {0};
    link_count_frame(&c, frame, len, PACKET_OUTGOING);
    link_count_frame(&c, frame, len, PACKET_HOST);
    link_count_frame(&c, frame, len, PACKET_MULTICAST);
    ip[9] = 2; /* IGMP is the kernel's own: never counted */
    len = frame_of(0x0800, ip, sizeof ip, frame);
    link_count_frame(&c, frame, len, PACKET_OUTGOING);
    assert_int_equal(c.sent, 1);
    assert_int_equal(c.received, 2);
}

/* In a cell's namespaces: each end taps its side, the transport's side sends one datagram to
 * the peer and one to the stranger. Exit codes name what failed. */
static void live_cell(void)
{
    const struct lane *lane = &lane_netns;
    if (lane->enter_cell(lane, "/tmp", "/dev/null", "0x0") != 0)
        _exit(90);
    /* Running as the lane hands it over: before the link watch gives the link its queue, a
     * frame is dropped without a word (tx_dropped, and sendto succeeds). */
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", lane->client_ifname);
    int probe = socket(AF_INET, SOCK_DGRAM, 0);
    if (probe < 0 || ioctl(probe, SIOCGIFFLAGS, &ifr) != 0 || !(ifr.ifr_flags & IFF_RUNNING))
        _exit(89);
    close(probe);
    int ours = link_tap_open(lane->client_ifname);
    const char *peer_fd = getenv("COAPMX_NETNS_PEER_FD");
    int here = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (ours < 0 || peer_fd == NULL || here < 0 || nl_netns_enter(atoi(peer_fd)) != 0)
        _exit(91);
    int theirs = link_tap_open(lane->peer_ifname);
    if (theirs < 0 || nl_netns_enter(here) != 0)
        _exit(92);
    const char *to[] = {lane->peer_v4, lane->stranger_v6};
    char why[128];
    struct link_count mine = {0}, peer = {0};
    for (size_t i = 0; i < 2; i++) {
        struct sockaddr_storage dst;
        coapmx_sockaddr_from_literal(to[i], 9, &dst);
        int fd = socket(dst.ss_family, SOCK_DGRAM, 0);
        if (sendto(fd, "x", 1, 0, (struct sockaddr *)&dst,
                   coapmx_sockaddr_len((struct sockaddr *)&dst)) != 1)
            _exit(93);
        close(fd);
        /* Counted once sendto returned. */
        if (link_tap_read(ours, &mine, why, sizeof why) != 0 || mine.sent != i + 1)
            _exit(94);
    }
    /* The peer's side counts both once its namespace took them in (bounded wait), and the
     * ICMP port-unreachable errors its kernel answers with reach ours. */
    for (int waited = 0; (peer.received < 2 || mine.received < 2) && waited < 5000; waited++) {
        struct pollfd pfd[2] = {{.fd = theirs, .events = POLLIN}, {.fd = ours, .events = POLLIN}};
        poll(pfd, 2, 1);
        if (link_tap_read(theirs, &peer, why, sizeof why) != 0 ||
            link_tap_read(ours, &mine, why, sizeof why) != 0)
            _exit(95);
    }
    if (peer.received != 2 || peer.sent != 2 || mine.received != 2 || mine.sent != 2)
        _exit(96);
    _exit(0);
}

static void test_live_link(void **state)
{
    (void)state;
    char why[256];
    if (!lane_netns.available(&lane_netns, why, sizeof why)) {
        printf("SKIP: %s\n", why);
        skip();
    }
    pid_t pid = fork();
    if (pid == 0)
        live_cell();
    int status = 0;
    waitpid(pid, &status, 0);
    /* 89 not running, 90-92 set-up, 93 send, 94 not counted once sent, 95 a tap lost frames,
     * 96 counts */
    assert_int_equal(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_live_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
