/* The socket_wrapper lane: every cell gets its own SOCKET_WRAPPER_DIR (its own network), an
 * nss_wrapper hosts file, and captures written by socket_wrapper itself. The peer is host 10,
 * a stranger host 11, the transport under test host 20. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../transports/addr.h"
#include "artifacts.h"
#include "iut.h"
#include "lane.h"

#define SWRAP_CLIENT_IFACE "20"
#define SWRAP_PEER_IFACE   "10"
/* socket_wrapper maps and touches a table of this many sockets when it sets itself up: about
 * 100 ms of CPU for its default of 65535, 1 ms for this. A cell's process holds at most about
 * 70 (S5's full default pool); past the table, socket() fails with ENFILE, which no row takes
 * for the EMFILE that E9 provokes through RLIMIT_NOFILE. */
#define SWRAP_MAX_SOCKETS "256"

static int set(const char *name, const char *value)
{
    if (setenv(name, value, 1) != 0) {
        fprintf(stderr, "coapmx: setenv %s: %s\n", name, strerror(errno));
        return -1;
    }
    return 0;
}

static bool swrap_available(const struct lane *lane, char *why, size_t why_cap)
{
    (void)lane;
    (void)why;
    (void)why_cap;
    return true; /* needs no privilege; the preload libraries are checked at configure time */
}

static void swrap_nothing_to_clean(const struct lane *lane, const char *instance)
{
    (void)lane;
    (void)instance; /* the runner removes the scratch directory, which is the whole network */
}

/* A runner that died left its cells' networks (scratch directories) behind. */
static void swrap_reap_stale(const struct lane *lane)
{
    (void)lane;
    DIR *d = opendir("/tmp");
    if (d == NULL)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char path[300];
        snprintf(path, sizeof path, "/tmp/%s", e->d_name);
        if (artifact_of_dead_runner(path, ARTIFACT_SCRATCH_PREFIX))
            artifact_remove_tree(path);
    }
    closedir(d);
}

static int swrap_prepare_runner(const struct lane *lane)
{
    unsetenv("SOCKET_WRAPPER_IPV4_NETWORK");
    unsetenv("SOCKET_WRAPPER_DIR"); /* the lane runner's own sockets are plain */
    return lane_set_preload(COAPMX_NSS_WRAPPER_SO ":" COAPMX_SOCKET_WRAPPER_SO) ||
                   set("SOCKET_WRAPPER_MAX_SOCKETS", SWRAP_MAX_SOCKETS) ||
                   set("NSS_WRAPPER_HOSTS", lane->hosts_file)
               ? -1
               : 0;
}

/* socket_wrapper fills a megabyte of tables in each process, at its first socket while it is
 * enabled: done once here, every cell forked from the lane runner inherits them. */
static void swrap_warm_runner(const struct lane *lane)
{
    (void)lane;
    char dir[64];
    snprintf(dir, sizeof dir, ARTIFACT_SCRATCH_PREFIX "%dxwarm", (int)getpid());
    if (mkdir(dir, 0700) != 0 || setenv("SOCKET_WRAPPER_DIR", dir, 1) != 0)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        close(fd);
    unsetenv("SOCKET_WRAPPER_DIR");
    artifact_remove_tree(dir);
}

static int swrap_enter_cell(const struct lane *lane, const char *scratch, const char *local_pcap,
                            const char *instance)
{
    (void)lane;
    (void)instance;
    /* The pcap file must not exist beforehand: socket_wrapper writes the header only when it
     * creates the file. */
    unlink(local_pcap);
    return set("SOCKET_WRAPPER_DIR", scratch) ||
                   set("SOCKET_WRAPPER_DEFAULT_IFACE", SWRAP_CLIENT_IFACE) ||
                   set("SOCKET_WRAPPER_PCAP_FILE", local_pcap)
               ? -1
               : 0;
}

static int swrap_enter_peer(const struct lane *lane, const char *peer_pcap)
{
    (void)lane;
    unlink(peer_pcap);
    return set("SOCKET_WRAPPER_DEFAULT_IFACE", SWRAP_PEER_IFACE) ||
                   set("SOCKET_WRAPPER_PCAP_FILE", peer_pcap)
               ? -1
               : 0;
}

/* A process's sockets are Unix datagram sockets bound to files named after the address they
 * stand for ("U141633": 'U' UDP over IPv4 or 'Y' over IPv6, host 0x14, port 0x1633), which
 * /proc/<pid>/net/unix lists by inode. The wildcard and a connected peer are socket_wrapper's
 * secret (sees_socket_details is false). */
static size_t swrap_process_sockets(const struct lane *lane, int pid, struct iut_socket *out,
                                    size_t max)
{
    (void)lane;
    char path[64], line[512];
    unsigned long inodes[IUT_MAX_SOCKETS];
    size_t inode_count = iut_socket_inodes(pid, inodes, IUT_MAX_SOCKETS), n = 0;
    const char *dir = getenv("SOCKET_WRAPPER_DIR");
    snprintf(path, sizeof path, "/proc/%d/net/unix", pid);
    FILE *f = dir != NULL ? fopen(path, "r") : NULL;
    while (f != NULL && fgets(line, sizeof line, f) != NULL) {
        unsigned long inode;
        char file[300];
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu %299s", &inode, file) != 2)
            continue;
        bool ours = iut_inode_listed(inodes, inode_count, inode);
        const char *base = strrchr(file, '/');
        char type;
        unsigned host, port;
        if (!ours || base == NULL || strncmp(file, dir, strlen(dir)) != 0 ||
            sscanf(base + 1, "%c%2X%4X", &type, &host, &port) != 3 || (type != 'U' && type != 'Y'))
            continue;
        struct iut_socket s;
        memset(&s, 0, sizeof s);
        char address[64];
        if (type == 'U')
            snprintf(address, sizeof address, "127.0.0.%u", host);
        else
            snprintf(address, sizeof address, "fd00::5357:5f%02x", host);
        coapmx_sockaddr_from_literal(address, (uint16_t)port, &s.local);
        if (n < max)
            out[n] = s;
        n++;
    }
    if (f != NULL)
        fclose(f);
    return n;
}

const struct lane lane_swrap = {
    .name = "swrap",
    .peer_v4 = "127.0.0.10",
    .peer_v6 = "fd00::5357:5f0a",
    .stranger_v4 = "127.0.0.11",
    .stranger_v6 = "fd00::5357:5f0b",
    .client_v4 = "127.0.0.20",
    .client_v6 = "fd00::5357:5f14",
    .hosts_file = COAPMX_FIXTURES_DIR "/hosts.swrap",
    .has_multicast = false,
    .has_dualstack = false,
    .has_icmp = false,
    /* bind() unlinks the socket file of whoever holds the address and takes the port over. */
    .has_exclusive_bind = false,
    /* A send is in the receiver's queue, or has failed, when it returns: nothing is in flight
     * once the peer says so. */
    .idle_grace_ms = 0,
    .shared_capture = false,
    .available = swrap_available,
    .prepare_runner = swrap_prepare_runner,
    .warm_runner = swrap_warm_runner,
    .enter_cell = swrap_enter_cell,
    .enter_peer = swrap_enter_peer,
    .cleanup = swrap_nothing_to_clean,
    .reap_stale = swrap_reap_stale,
    .process_sockets = swrap_process_sockets,
    .sees_socket_details = false,
};
