/* A netns cell starts from a network nobody used before: whatever the previous cell of the same
 * slot left (a bound socket, a group membership, neighbour entries, an address, a route), the
 * next one cannot observe it. Each cell here is a process that enters the lane exactly as the
 * runner's child does, with the same instance name. Needs root; skipped without. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness/lane.h"
#include "harness/netlink.h"
#include "transports/addr.h"
#include "harness/wirefmt.h"

#define INSTANCE   "0x0"
#define EXTRA_ADDR "198.51.100.99"
#define UNKNOWN_V4 "198.51.100.98" /* on the link, but no static neighbour: resolution starts */
#define UNKNOWN_V6 "fd53:6d78::98"
#define EXTRA_NET  "203.0.113.0"
#define GROUP_HEX  "BB0100E0" /* 224.0.1.187 as /proc/net/igmp writes it */

static const struct lane *lane = &lane_netns;

static void enter(void)
{
    if (lane->enter_cell(lane, "/tmp", "/dev/null", INSTANCE) != 0)
        _exit(90);
}

static int udp_socket(int family, const char *literal, uint16_t port, bool do_bind)
{
    struct sockaddr_storage addr;
    coapmx_sockaddr_from_literal(literal, port, &addr);
    int fd = socket(family, SOCK_DGRAM, 0);
    if (fd >= 0 && do_bind &&
        bind(fd, (struct sockaddr *)&addr, coapmx_sockaddr_len((struct sockaddr *)&addr)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_to(int family, const char *literal)
{
    struct sockaddr_storage to;
    coapmx_sockaddr_from_literal(literal, 9, &to);
    int fd = socket(family, SOCK_DGRAM, 0);
    sendto(fd, "x", 1, 0, (struct sockaddr *)&to, coapmx_sockaddr_len((struct sockaddr *)&to));
    close(fd);
}

static int lines_of(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        n += needle == NULL || strstr(line, needle) != NULL;
    if (f != NULL)
        fclose(f);
    return f == NULL ? -1 : n;
}

struct neighbour_count {
    bool permanent; /* count the lane's static entries, or those someone's traffic made */
    int count;
};

static int count_neighbour(const struct nlmsghdr *nlh, void *data)
{
    const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
    struct neighbour_count *c = data;
    if (!(nd->ndm_state & NUD_NOARP))
        c->count += c->permanent == ((nd->ndm_state & NUD_PERMANENT) != 0);
    return MNL_CB_OK;
}

/* Neighbour entries of a family in the calling thread's namespace, the lane's permanent ones or
 * those someone's traffic made (never the multicast mappings a link gets when it comes up, such
 * as ff02::16 for MLD). */
static int neighbours(int family, bool permanent)
{
    struct mnl_socket *sock = mnl_socket_open(NETLINK_ROUTE);
    char buf[8192];
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETNEIGH;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    struct ndmsg *nd = mnl_nlmsg_put_extra_header(nlh, sizeof *nd);
    nd->ndm_family = (unsigned char)family;
    struct neighbour_count c = {.permanent = permanent};
    int rc = -1;
    if (sock != NULL && mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) == 0 &&
        mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) >= 0) {
        ssize_t n;
        while ((n = mnl_socket_recvfrom(sock, buf, sizeof buf)) > 0 &&
               (rc = mnl_cb_run(buf, (size_t)n, 0, 0, count_neighbour, &c)) > 0)
            ;
    }
    if (sock != NULL)
        mnl_socket_close(sock);
    return rc < 0 ? -1 : c.count;
}

/* The transport's side knows the peer's and the stranger's addresses of each family. */
static int static_neighbours(int family)
{
    const char *v4[] = {lane->peer_v4, lane->stranger_v4};
    const char *v6[] = {lane->peer_v6, lane->stranger_v6, lane->peer_v6_link};
    int n = 0;
    for (size_t i = 0; i < (family == AF_INET ? 2u : 3u); i++)
        n += (family == AF_INET ? v4[i] : v6[i]) != NULL;
    return n;
}

/* The previous cell: leaves everything behind, as a crashing one would. */
static void dirty_cell(void)
{
    enter();
    struct nl *nl = nl_open();
    if (udp_socket(AF_INET, lane->client_v4, 5683, true) < 0 ||
        udp_socket(AF_INET6, lane->client_v6, 5683, true) < 0 || nl == NULL ||
        nl_addr_add(nl, "cmx-c", EXTRA_ADDR, 24) != 0 ||
        nl_route_add(nl, "cmx-c", EXTRA_NET, 24) != 0)
        _exit(91);
    int member = udp_socket(AF_INET, "0.0.0.0", 5683, false);
    struct ip_mreqn m = {.imr_ifindex = (int)if_nametoindex("cmx-c")};
    inet_pton(AF_INET, "224.0.1.187", &m.imr_multiaddr);
    if (setsockopt(member, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) != 0)
        _exit(92);
    /* A send to an address without a static entry makes a neighbour entry at once (incomplete,
     * as nobody answers). */
    send_to(AF_INET, UNKNOWN_V4);
    send_to(AF_INET6, UNKNOWN_V6);
    if (neighbours(AF_INET, false) < 1 || neighbours(AF_INET6, false) < 1)
        _exit(93);
    _exit(0); /* everything is in place; leave without cleaning up */
}

static bool has_address(const char *literal)
{
    struct ifaddrs *all, *a;
    struct sockaddr_storage want;
    coapmx_sockaddr_from_literal(literal, 0, &want);
    bool found = false;
    if (getifaddrs(&all) != 0)
        return true; /* cannot tell: count it against the lane */
    for (a = all; a != NULL && !found; a = a->ifa_next)
        found = a->ifa_addr != NULL &&
                coapmx_sockaddr_same_ip(a->ifa_addr, (const struct sockaddr *)&want);
    freeifaddrs(all);
    return found;
}

/* The next cell: every trace of the previous one must be absent. Exit codes name the trace. */
static void clean_cell(void)
{
    enter();
    if (lines_of("/proc/self/net/udp", NULL) != 1 || lines_of("/proc/self/net/udp6", NULL) != 1)
        _exit(10); /* a UDP socket other than the header line */
    if (udp_socket(AF_INET, lane->client_v4, 5683, true) < 0 ||
        udp_socket(AF_INET6, lane->client_v6, 5683, true) < 0)
        _exit(11); /* the port is still taken */
    if (lines_of("/proc/self/net/igmp", GROUP_HEX) != 0)
        _exit(12); /* still a member of the group */
    if (lines_of("/proc/self/net/arp", NULL) != 1 + static_neighbours(AF_INET) ||
        neighbours(AF_INET, false) != 0 || neighbours(AF_INET6, false) != 0 ||
        neighbours(AF_INET, true) != static_neighbours(AF_INET) ||
        neighbours(AF_INET6, true) != static_neighbours(AF_INET6))
        _exit(13); /* neighbour entries other than the lane's own */
    if (has_address(EXTRA_ADDR) || !has_address(lane->client_v4) || !has_address(lane->client_v6))
        _exit(14); /* not exactly the configured addresses */
    struct sockaddr_storage off_route;
    coapmx_sockaddr_from_literal("203.0.113.1", 9, &off_route);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (connect(fd, (struct sockaddr *)&off_route, sizeof(struct sockaddr_in)) == 0 ||
        errno != ENETUNREACH)
        _exit(15); /* a route the configuration does not have */
    _exit(0);
}

static int run_in_child(void (*body)(void))
{
    pid_t pid = fork();
    if (pid == 0)
        body();
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_next_cell_sees_nothing_of_the_last(void **state)
{
    (void)state;
    char why[256];
    if (!lane->available(lane, why, sizeof why)) {
        printf("SKIP: %s\n", why);
        skip();
    }
    assert_int_equal(run_in_child(dirty_cell), 0);
    /* Exit codes: 10 a socket, 11 the port, 12 a group, 13 neighbours, 14 addresses, 15 routes */
    assert_int_equal(run_in_child(clean_cell), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_cell_sees_nothing_of_the_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
