/* The real-kernel lane: each cell gets two network namespaces of its own, the transport under
 * test in one and the reference peer in the other, joined by a veth pair. Only our own
 * addresses are used (198.51.100.0/24 is TEST-NET-2, fd53:6d78::/64 a ULA). This is where
 * dual-stack sockets, v4-mapped addresses, multicast, ICMP errors and real packet info exist.
 * Namespaces are named cmx<runner pid>x<slot>{c,p}: a later runner recognises and removes the
 * ones a dead runner left behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "artifacts.h"
#include "lane.h"

#define NETNS_DIR    "/run/netns"
#define NETNS_PREFIX "cmx"
#define CLIENT_IF    "cmx-c"
#define PEER_IF      "cmx-p"

/* Runs `ip ARGS...` and waits for it; output goes where ours goes (the cell's log). */
static int run_ip(const char *first, ...)
{
    const char *argv[24] = {"ip", first};
    size_t n = 2;
    va_list ap;
    va_start(ap, first);
    while (n < 23 && (argv[n] = va_arg(ap, const char *)) != NULL)
        n++;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp("ip", (char *const *)argv);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "netns lane: `ip %s %s %s ...` failed\n", argv[1], argv[2] ? argv[2] : "",
                argv[2] && argv[3] ? argv[3] : "");
        return -1;
    }
    return 0;
}

static void namespace_names(const char *instance, char *client, char *peer, size_t cap)
{
    snprintf(client, cap, NETNS_PREFIX "%sc", instance);
    snprintf(peer, cap, NETNS_PREFIX "%sp", instance);
}

static bool netns_available(const struct lane *lane, char *why, size_t why_cap)
{
    (void)lane;
    if (geteuid() != 0) {
        snprintf(why, why_cap,
                 "lane netns needs root (CAP_NET_ADMIN) to create network namespaces");
        return false;
    }
    if (access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0 &&
        access("/usr/bin/ip", X_OK) != 0) {
        snprintf(why, why_cap, "lane netns needs iproute2's ip command (Debian: iproute2)");
        return false;
    }
    return true;
}

static int build_network(const struct lane *lane, const char *client, const char *peer)
{
    char v4[64], v6[64];
#define ADDR4(buf, host) (snprintf(buf, sizeof buf, "%s/24", host), buf)
#define ADDR6(buf, host) (snprintf(buf, sizeof buf, "%s/64", host), buf)
    if (run_ip("netns", "add", client, NULL) || run_ip("netns", "add", peer, NULL) ||
        run_ip("-n", client, "link", "add", CLIENT_IF, "type", "veth", "peer", "name", PEER_IF,
               "netns", peer, NULL) ||
        run_ip("-n", client, "addr", "add", ADDR4(v4, lane->client_v4), "dev", CLIENT_IF, NULL) ||
        run_ip("-n", client, "addr", "add", ADDR6(v6, lane->client_v6), "dev", CLIENT_IF, "nodad",
               NULL) ||
        run_ip("-n", peer, "addr", "add", ADDR4(v4, lane->peer_v4), "dev", PEER_IF, NULL) ||
        run_ip("-n", peer, "addr", "add", ADDR4(v4, lane->stranger_v4), "dev", PEER_IF, NULL) ||
        run_ip("-n", peer, "addr", "add", ADDR6(v6, lane->peer_v6), "dev", PEER_IF, "nodad",
               NULL) ||
        run_ip("-n", peer, "addr", "add", ADDR6(v6, lane->stranger_v6), "dev", PEER_IF, "nodad",
               NULL) ||
        run_ip("-n", client, "addr", "add", ADDR6(v6, lane->client_v6_link), "dev", CLIENT_IF,
               "nodad", NULL) ||
        run_ip("-n", peer, "addr", "add", ADDR6(v6, lane->peer_v6_link), "dev", PEER_IF, "nodad",
               NULL))
        return -1;
#undef ADDR4
#undef ADDR6
    /* IPv6 multicast routes (ff00::/8) come with the link; IPv4 needs one. */
    return run_ip("-n", client, "link", "set", "lo", "up", NULL) ||
                   run_ip("-n", peer, "link", "set", "lo", "up", NULL) ||
                   run_ip("-n", client, "link", "set", CLIENT_IF, "up", NULL) ||
                   run_ip("-n", peer, "link", "set", PEER_IF, "up", NULL) ||
                   run_ip("-n", client, "route", "add", "224.0.0.0/4", "dev", CLIENT_IF, NULL) ||
                   run_ip("-n", peer, "route", "add", "224.0.0.0/4", "dev", PEER_IF, NULL)
               ? -1
               : 0;
}

static int enter_namespace(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, NETNS_DIR "/%s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
        fprintf(stderr, "netns lane: cannot enter %s: %s\n", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int netns_enter_cell(const struct lane *lane, const char *scratch, const char *local_pcap,
                            const char *instance)
{
    char client[64], peer[64];
    (void)scratch;
    (void)local_pcap; /* the peer captures the one link for both ends */
    namespace_names(instance, client, peer, sizeof client);
    if (build_network(lane, client, peer) != 0 || enter_namespace(client) != 0)
        return -1;
    unsetenv("SOCKET_WRAPPER_DIR");
    unsetenv("SOCKET_WRAPPER_PCAP_FILE");
    /* Host names still come from our hosts file only, never from DNS. */
    return lane_set_preload(COAPMX_NSS_WRAPPER_SO) ||
                   setenv("NSS_WRAPPER_HOSTS", lane->hosts_file, 1) ||
                   setenv("COAPMX_NETNS_PEER", peer, 1)
               ? -1
               : 0;
}

static int netns_enter_peer(const struct lane *lane, const char *peer_pcap)
{
    (void)lane;
    (void)peer_pcap;
    const char *peer = getenv("COAPMX_NETNS_PEER");
    return peer != NULL ? enter_namespace(peer) : -1;
}

/* Kills what still runs in a namespace, then removes it (its veth end goes with it). */
static void remove_namespace(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, NETNS_DIR "/%s", name);
    if (access(path, F_OK) != 0)
        return;
    char command[320];
    snprintf(command, sizeof command, "ip netns pids %s", name);
    FILE *pids = popen(command, "r");
    for (int pid; pids != NULL && fscanf(pids, "%d", &pid) == 1;)
        kill(pid, SIGKILL);
    if (pids != NULL)
        pclose(pids);
    run_ip("netns", "del", name, NULL);
}

static void netns_cleanup(const struct lane *lane, const char *instance)
{
    char client[64], peer[64];
    (void)lane;
    namespace_names(instance, client, peer, sizeof client);
    remove_namespace(client);
    remove_namespace(peer);
}

static void netns_reap_stale(const struct lane *lane)
{
    (void)lane;
    DIR *d = opendir(NETNS_DIR);
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!artifact_of_dead_runner(e->d_name, NETNS_PREFIX))
            continue;
        fprintf(stderr, "coapmx: removing namespace %s left by a runner that died\n", e->d_name);
        remove_namespace(e->d_name);
    }
    closedir(d);
}

const struct lane lane_netns = {
    .name = "netns",
    .client_ifname = CLIENT_IF,
    .peer_ifname = PEER_IF,
    .peer_v4 = "198.51.100.10",
    .peer_v6 = "fd53:6d78::10",
    .stranger_v4 = "198.51.100.11",
    .stranger_v6 = "fd53:6d78::11",
    .client_v4 = "198.51.100.20",
    .client_v6 = "fd53:6d78::20",
    .peer_v6_link = "fe80::5357:10", /* beside the kernel's own, on our own veth pair */
    .client_v6_link = "fe80::5357:20",
    .hosts_file = COAPMX_FIXTURES_DIR "/hosts.netns",
    .has_multicast = true,
    .has_dualstack = true,
    .has_icmp = true,
    .has_exclusive_bind = true,
    .shared_capture = true,
    .available = netns_available,
    .enter_cell = netns_enter_cell,
    .enter_peer = netns_enter_peer,
    .cleanup = netns_cleanup,
    .reap_stale = netns_reap_stale,
};
