/* One cell in one process: starts the reference peer, runs the scenario under cmocka, closes
 * everything it opened, checks that no file descriptor leaked, and writes the result. */
#include "cell.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "../transports/addr.h"
#include "artifacts.h"
#include "main.h"

#define CELL_MAX_ENDPOINTS  8
#define CELL_MAX_MESSAGES   64
#define CELL_WAIT_MS        10000 /* a request on loopback answers in well under a millisecond */
#define PEER_START_MS       10000
#define PEER_STOP_MS        5000
#define CELL_CLOCK_START_MS 1000000 /* virtual; far from 0 so that no arithmetic underflows */

struct cell {
    char name[CELL_NAME_MAX];
    char dir[1024];
    const struct scenario *scenario;
    const struct coapmx_transport_ops *ops;
    const struct address_kind *kind;
    const struct lane *lane;
    char host[256];
    struct artifact_paths paths;
    struct coapmx_clock clock; /* virtual: protocol time passes only when nothing is ready */
    struct coapmx_loop *loop;
    uint64_t seed;
    unsigned endpoints_opened;
    struct coapmx_protocol protocol;
    struct coapmx_endpoint *endpoints[CELL_MAX_ENDPOINTS];
    size_t endpoint_count;
    struct coapmx_message *messages[CELL_MAX_MESSAGES];
    size_t message_count;
    int owned_fds[4]; /* harness sockets a scenario opened; closed at teardown */
    size_t owned_fd_count;
    struct wire_capture peer_wire, local_wire;
    bool peer_wire_loaded, local_wire_loaded;
    pid_t peer_pid;
    int control;
    int fd_baseline;
    bool skipped, failed;
    double started_ms, peer_ready_ms, body_start_ms, body_end_ms; /* cell_clock_ms() */
    char reason[CELL_TEXT_MAX];
    char observed[CELL_OBSERVED_MAX];
};

/* ---- accessors ---- */

const char *scenario_not_applicable(const struct scenario *sc, const struct coapmx_profile *p)
{
    return sc->not_applicable != NULL ? sc->not_applicable(p) : NULL;
}

const struct coapmx_profile *cell_profile(const struct cell *cx)
{
    return cx->ops->profile;
}

const char *cell_transport_name(const struct cell *cx)
{
    return cx->ops->name;
}

const struct address_kind *cell_kind(const struct cell *cx)
{
    return cx->kind;
}

const struct lane *cell_lane(const struct cell *cx)
{
    return cx->lane;
}

const char *cell_host(const struct cell *cx)
{
    return cx->host;
}

/* ---- outcomes ---- */

static void record(struct cell *cx, const char *fmt, va_list ap)
{
    if (cx->reason[0] == '\0')
        vsnprintf(cx->reason, sizeof cx->reason, fmt, ap);
}

void cell_fail(struct cell *cx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(cx, fmt, ap);
    va_end(ap);
    cx->failed = true;
    fail_msg("%s", cx->reason);
    abort(); /* fail_msg does not return; this keeps the noreturn promise explicit */
}

void cell_skip(struct cell *cx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    record(cx, fmt, ap);
    va_end(ap);
    cx->skipped = true;
    printf("SKIP: %s\n", cx->reason);
    skip();
    abort();
}

void cell_observe(struct cell *cx, const char *key, const char *fmt, ...)
{
    size_t used = strlen(cx->observed);
    int n =
        snprintf(cx->observed + used, sizeof cx->observed - used, "%s%s=", used ? "; " : "", key);
    if (n < 0 || (size_t)n >= sizeof cx->observed - used)
        return;
    used += (size_t)n;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cx->observed + used, sizeof cx->observed - used, fmt, ap);
    va_end(ap);
}

const char *cell_errno_name(int e)
{
    const char *name = e ? strerrorname_np(e) : "0";
    return name ? name : "E?";
}

/* ---- the peer process ---- */

/* One reply line. The peer answers each command with one line, written at once, and nothing
 * else is in flight, so whole reads never take bytes of a later line. */
static int peer_read_line(struct cell *cx, char *line, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd pfd = {.fd = cx->control, .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) <= 0)
            return -1;
        ssize_t got = read(cx->control, line + n, cap - 1 - n);
        if (got <= 0)
            return -1;
        char *end = memchr(line + n, '\n', (size_t)got);
        n += (size_t)got;
        if (end != NULL) {
            *end = '\0';
            return 0;
        }
    }
    line[n] = '\0';
    return 0;
}

static int peer_command(struct cell *cx, const char *command, char *reply, size_t cap)
{
    size_t len = strlen(command);
    if (write(cx->control, command, len) != (ssize_t)len ||
        peer_read_line(cx, reply, cap, CELL_WAIT_MS) != 0)
        cell_fail(cx, "the reference peer did not answer '%.20s'", command);
    return 0;
}

#define PEER_BINDS 9

/* The peer's sockets: the order matters to the peer (see start_responders, stranger_of). */
/* Returns how many; a link-local address comes last. */
static size_t peer_binds(const struct lane *lane, char binds[PEER_BINDS][80])
{
    snprintf(binds[0], 80, "%s:%d", lane->peer_v4, PEER_PORT_DEFAULT);
    snprintf(binds[1], 80, "%s:%d", lane->peer_v4, PEER_PORT_ALT);
    snprintf(binds[2], 80, "[%s]:%d", lane->peer_v6, PEER_PORT_DEFAULT);
    snprintf(binds[3], 80, "[%s]:%d", lane->peer_v6, PEER_PORT_ALT);
    snprintf(binds[4], 80, "%s:%d", lane->stranger_v4, PEER_PORT_DEFAULT);
    snprintf(binds[5], 80, "[%s]:%d", lane->stranger_v6, PEER_PORT_DEFAULT);
    snprintf(binds[6], 80, "%s:%d", lane->peer_v4, PEER_PORT_V4_ONLY);
    snprintf(binds[7], 80, "[%s]:%d", lane->peer_v6, PEER_PORT_V6_ONLY);
    if (lane->peer_v6_link == NULL)
        return 8;
    snprintf(binds[8], 80, "[%s%%%s]:%d", lane->peer_v6_link, lane->peer_ifname, PEER_PORT_DEFAULT);
    return 9;
}

/* The peer's process: forked, not exec'd (an exec and its dynamic loading cost more than the
 * rest of its start), with the lane's environment for it. */
static void run_peer(struct cell *cx, int control)
{
    char binds[PEER_BINDS][80], fd_text[16];
    char *argv[24] = {"coapmx", "__peer", "--control-fd", fd_text};
    int n = 4;
    const struct lane *lane = cx->lane;
    size_t bind_count = peer_binds(lane, binds);
    snprintf(fd_text, sizeof fd_text, "%d", control);
    if (lane->peer_ifname != NULL) {
        argv[n++] = "--capture";
        argv[n++] = (char *)lane->peer_ifname;
        argv[n++] = cx->paths.peer_pcap;
    }
    if (lane->has_multicast) {
        argv[n++] = "--responders";
        argv[n++] = (char *)lane->peer_ifname;
    }
    for (size_t i = 0; i < bind_count; i++)
        argv[n++] = binds[i];
    argv[n] = NULL;
    if (lane->enter_peer(lane, cx->paths.peer_pcap) != 0)
        _exit(120);
    peer_main(n - 1, argv + 1); /* as `coapmx __peer ...`; never returns */
    _exit(121);
}

/* Forks the peer before this process binds any socket: socket_wrapper unlinks a parent's
 * auto-bound sockets when a child exits. One socket is opened and closed first, so that a socket
 * library the lane preloads sets itself up once, here, and the peer inherits it (socket_wrapper
 * fills a megabyte of tables at its first socket). */
static int start_peer(struct cell *cx)
{
    int pair[2];
    char line[256] = "";
    int warm = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (warm >= 0)
        close(warm);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return -1;
    fflush(NULL); /* or the child would write the cell's pending output again */
    cx->peer_pid = fork();
    if (cx->peer_pid < 0)
        return -1;
    if (cx->peer_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the peer never outlives its cell */
        close(pair[0]);
        run_peer(cx, pair[1]);
    }
    close(pair[1]);
    cx->control = pair[0];
    if (peer_read_line(cx, line, sizeof line, PEER_START_MS) != 0 || strcmp(line, "ready") != 0) {
        fprintf(stderr, "cell: the reference peer did not start: %s\n", line);
        return -1;
    }
    return 0;
}

/* Tells the peer to quit. Waiting for it to flush its capture and exit matters only where the
 * capture is kept (a failure, --keep-pcaps); otherwise the runner's kill of the cell's process
 * group ends it. */
static void stop_peer(struct cell *cx, bool wait)
{
    if (cx->peer_pid <= 0)
        return;
    char line[64];
    if (write(cx->control, "quit\n", 5) == 5 && wait)
        (void)peer_read_line(cx, line, sizeof line, PEER_STOP_MS); /* returns at EOF */
    close(cx->control);
    if (!wait) {
        cx->peer_pid = 0;
        return;
    }
    int status;
    if (waitpid(cx->peer_pid, &status, WNOHANG) == 0) {
        kill(cx->peer_pid, SIGKILL);
        waitpid(cx->peer_pid, &status, 0);
    }
    cx->peer_pid = 0;
}

static void hex_encode(const uint8_t *buf, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", buf[i]);
    out[2 * len] = '\0';
}

int cell_peer_send(struct cell *cx, const struct sockaddr *from, const struct sockaddr *to,
                   const uint8_t *buf, size_t len)
{
    char from_text[80], to_text[80], reply[256];
    static char command[5 + 2 * 80 + 2 * 4096 + 2];
    CX_EXPECT(cx, len <= 4096, "peer datagrams are limited to 4096 bytes, not %zu", len);
    wire_format_sockaddr(from, from_text, sizeof from_text);
    wire_format_sockaddr(to, to_text, sizeof to_text);
    int n = snprintf(command, sizeof command, "send %s %s ", from_text, to_text);
    hex_encode(buf, len, command + n);
    strcat(command, "\n");
    peer_command(cx, command, reply, sizeof reply);
    if (strcmp(reply, "ok") == 0)
        return 0;
    int e = 0;
    CX_EXPECT(cx, sscanf(reply, "err %d", &e) == 1, "unexpected peer reply '%s'", reply);
    return e;
}

void cell_peer_sync(struct cell *cx)
{
    char reply[64];
    peer_command(cx, "sync\n", reply, sizeof reply);
    CX_EXPECT(cx, strcmp(reply, "ok") == 0, "peer sync failed: %s", reply);
}

/* ---- endpoints ---- */

const char *cell_own_address(const struct cell *cx, int family)
{
    return family == AF_INET ? cx->lane->client_v4 : cx->lane->client_v6;
}

const char *cell_own_name(int family)
{
    return family == AF_INET ? "iut4.test" : "iut6.test";
}

void cell_client_config(struct cell *cx, struct coapmx_transport_config *config)
{
    *config = (struct coapmx_transport_config){.role = COAPMX_ROLE_CLIENT};
    if (cx->ops->profile->binds_explicitly)
        config->bind_host = cell_own_address(cx, cell_bind_family(cx));
}

struct coapmx_endpoint *cell_open(struct cell *cx, const struct coapmx_transport_config *config,
                                  coapmx_request_handler handler, void *handler_arg,
                                  struct coapmx_error *err)
{
    struct coapmx_transport_config client;
    CX_EXPECT(cx, cx->endpoint_count < CELL_MAX_ENDPOINTS, "too many endpoints in one cell");
    if (config == NULL) {
        cell_client_config(cx, &client);
        config = &client;
    }
    struct coapmx_transport *t = coapmx_transport_open(cx->ops, cx->loop, config, err);
    if (t == NULL)
        return NULL;
    struct coapmx_endpoint_config ec = {.seed = cx->seed + cx->endpoints_opened++,
                                        .protocol = cx->protocol,
                                        .handler = handler,
                                        .handler_arg = handler_arg};
    struct coapmx_endpoint *ep = coapmx_endpoint_new(t, &ec, err);
    if (ep == NULL) {
        coapmx_transport_close(t);
        return NULL;
    }
    cx->endpoints[cx->endpoint_count++] = ep;
    return ep;
}

struct coapmx_endpoint *cell_client(struct cell *cx)
{
    struct coapmx_error err;
    struct coapmx_endpoint *ep = cell_open(cx, NULL, NULL, NULL, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open %s as a client: %s", cx->ops->name, err.message);
    return ep;
}

static void close_endpoint(struct coapmx_endpoint *ep)
{
    struct coapmx_transport *t = coapmx_endpoint_transport(ep);
    coapmx_endpoint_free(ep);
    coapmx_transport_close(t);
}

void cell_close(struct cell *cx, struct coapmx_endpoint *ep)
{
    for (size_t i = 0; i < cx->endpoint_count; i++) {
        if (cx->endpoints[i] == ep) {
            close_endpoint(ep);
            cx->endpoints[i] = cx->endpoints[--cx->endpoint_count];
            return;
        }
    }
}

/* ---- requests ---- */

void cell_uri(const struct cell *cx, uint16_t port, const char *path, char *buf, size_t cap)
{
    char hostinfo[COAPMX_HOSTINFO_MAX], base[COAPMX_URI_BASE_MAX];
    coapmx_hostinfo_format(cx->host, port ? port : PEER_PORT_DEFAULT, hostinfo, sizeof hostinfo);
    coapmx_uri_base_of(hostinfo, base, sizeof base);
    snprintf(buf, cap, "%s/%s", base, path);
}

int cell_request_uri(struct cell *cx, struct coapmx_endpoint *ep, enum coap_type type,
                     const char *uri, const struct coapmx_message **resp, struct coapmx_error *err)
{
    struct coapmx_request req = {.type = type, .method = COAP_GET, .uri = uri};
    return cell_send_request(cx, ep, &req, resp, err);
}

int cell_send_request_for(struct cell *cx, struct coapmx_endpoint *ep,
                          const struct coapmx_request *req, uint64_t ms,
                          const struct coapmx_message **resp, struct coapmx_error *err)
{
    CX_EXPECT(cx, cx->message_count < CELL_MAX_MESSAGES, "too many requests in one cell");
    struct coapmx_message *m = malloc(sizeof *m);
    CX_EXPECT(cx, m != NULL, "out of memory");
    cx->messages[cx->message_count++] = m;
    *resp = m;
    return coapmx_request_wait(ep, req, m, ms, err);
}

int cell_send_request(struct cell *cx, struct coapmx_endpoint *ep, const struct coapmx_request *req,
                      const struct coapmx_message **resp, struct coapmx_error *err)
{
    return cell_send_request_for(cx, ep, req, CELL_WAIT_MS, resp, err);
}

int cell_request(struct cell *cx, struct coapmx_endpoint *ep, enum coap_type type, uint16_t port,
                 const char *path, const struct coapmx_message **resp, struct coapmx_error *err)
{
    char uri[512];
    cell_uri(cx, port, path, uri, sizeof uri);
    return cell_request_uri(cx, ep, type, uri, resp, err);
}

const struct coapmx_message *cell_get(struct cell *cx, struct coapmx_endpoint *ep, uint16_t port,
                                      const char *path)
{
    const struct coapmx_message *resp;
    struct coapmx_error err;
    char code[16];
    if (cell_request(cx, ep, COAP_CON, port, path, &resp, &err) != 0)
        cell_fail(cx, "GET /%s on %s failed: %s: %s", path, cx->host, coapmx_err_name(err.code),
                  err.message);
    CX_EXPECT(cx, resp->msg.code == COAP_CONTENT, "GET /%s answered %s, expected 2.05", path,
              coap_code_str(resp->msg.code, code, sizeof code));
    return resp;
}

bool cell_run_until(struct cell *cx, struct coapmx_endpoint *ep, bool (*done)(void *arg), void *arg)
{
    (void)ep; /* every endpoint of a cell shares the cell's loop */
    return coapmx_loop_run_until(cx->loop, done, arg, CELL_WAIT_MS);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

bool cell_wait(struct cell *cx, bool (*done)(void *arg), void *arg, uint64_t ms)
{
    return coapmx_loop_run_until(cx->loop, done, arg, ms);
}

void cell_advance(struct cell *cx, uint64_t ms)
{
    coapmx_loop_run_until(cx->loop, never, NULL, ms);
}

void cell_own_fd(struct cell *cx, int fd)
{
    CX_EXPECT(cx, cx->owned_fd_count < 4, "too many harness sockets in one cell");
    cx->owned_fds[cx->owned_fd_count++] = fd;
}

struct coapmx_loop *cell_loop(struct cell *cx)
{
    return cx->loop;
}

uint64_t cell_now_ms(const struct cell *cx)
{
    return coapmx_loop_now(cx->loop);
}

void cell_peer_behave(struct cell *cx, const char *behaviour)
{
    char command[128], reply[128];
    snprintf(command, sizeof command, "behave %s\n", behaviour);
    peer_command(cx, command, reply, sizeof reply);
    CX_EXPECT(cx, strcmp(reply, "ok") == 0, "the peer refused '%s': %s", behaviour, reply);
}

/* ---- expectations ---- */

static int resolve_kind(struct cell *cx, struct sockaddr_storage *addrs, size_t max)
{
    struct coapmx_error err;
    int n = coapmx_resolve_all(cx->host, PEER_PORT_ALT, addrs, max, &err);
    CX_EXPECT(cx, n > 0, "the harness cannot resolve %s itself: %s", cx->host, err.message);
    return n;
}

int cell_bind_family(struct cell *cx)
{
    if (cx->kind->family != 0)
        return cx->kind->family;
    if (cx->kind->cls == KIND_UNRESOLVABLE)
        return AF_INET6; /* any: nothing is sent */
    struct sockaddr_storage addrs[COAPMX_ADDR_MAX_RESULTS];
    int n = resolve_kind(cx, addrs, COAPMX_ADDR_MAX_RESULTS);
    return addrs[n - 1].ss_family;
}

/* The address the profile's family policy picks among the resolver's answers. */
static struct sockaddr_storage expected_choice(struct cell *cx)
{
    struct sockaddr_storage addrs[COAPMX_ADDR_MAX_RESULTS];
    int n = resolve_kind(cx, addrs, COAPMX_ADDR_MAX_RESULTS);
    int wanted = cx->ops->profile->family == COAPMX_FAMILY_V6_FIRST    ? AF_INET6
                 : cx->ops->profile->family == COAPMX_FAMILY_OF_SOCKET ? cell_bind_family(cx)
                                                                       : 0;
    for (int i = 0; i < n && wanted != 0; i++)
        if (addrs[i].ss_family == wanted)
            return addrs[i];
    return addrs[0];
}

int cell_expected_wire_family(struct cell *cx)
{
    if (cx->kind->cls == KIND_MAPPED)
        return AF_INET;
    if (cx->kind->cls == KIND_LINK_LOCAL)
        return AF_INET6;
    struct sockaddr_storage chosen = expected_choice(cx);
    return chosen.ss_family;
}

int cell_expected_remote_family(struct cell *cx)
{
    if (cx->kind->cls == KIND_MAPPED || cx->ops->profile->sockets == COAPMX_SOCKET_SHARED_DUALSTACK)
        return AF_INET6;
    return cell_expected_wire_family(cx);
}

void cell_expected_hostinfo(struct cell *cx, uint16_t port, char *buf, size_t cap)
{
    const struct coapmx_profile *pr = cx->ops->profile;
    char host[256];
    port = port ? port : PEER_PORT_DEFAULT;
    if (cx->kind->cls == KIND_MAPPED && pr->mapped == COAPMX_MAPPED_DOTTED_QUAD) {
        snprintf(host, sizeof host, "%s", cx->lane->peer_v4);
    } else if (cx->kind->cls == KIND_NAME && pr->netloc == COAPMX_NETLOC_IP_LITERAL) {
        struct sockaddr_storage chosen = expected_choice(cx);
        coapmx_sockaddr_host((const struct sockaddr *)&chosen, true, host, sizeof host);
    } else {
        snprintf(host, sizeof host, "%s", cx->host);
    }
    coapmx_hostinfo_format(host, port, buf, cap);
}

static void literal_sockaddr(const char *v4, const char *v6, int family, uint16_t port,
                             struct sockaddr_storage *out)
{
    coapmx_sockaddr_from_literal(family == AF_INET ? v4 : v6, port, out);
}

void cell_peer_sockaddr(const struct cell *cx, int family, uint16_t port,
                        struct sockaddr_storage *out)
{
    literal_sockaddr(cx->lane->peer_v4, cx->lane->peer_v6, family, port, out);
}

void cell_stranger_sockaddr(const struct cell *cx, int family, uint16_t port,
                            struct sockaddr_storage *out)
{
    literal_sockaddr(cx->lane->stranger_v4, cx->lane->stranger_v6, family, port, out);
}

/* ---- captures ---- */

static const struct wire_capture *load(struct cell *cx, struct wire_capture *cap, bool *loaded,
                                       const char *path)
{
    char errbuf[256];
    if (*loaded)
        wire_capture_free(cap);
    *loaded = false;
    CX_EXPECT(cx, wire_capture_load(path, cap, errbuf, sizeof errbuf) == 0,
              "cannot read capture %s: %s", path, errbuf);
    *loaded = true;
    return cap;
}

const struct wire_capture *cell_wire(struct cell *cx)
{
    cell_peer_sync(cx);
    return load(cx, &cx->peer_wire, &cx->peer_wire_loaded, cx->paths.peer_pcap);
}

const struct wire_capture *cell_local_wire(struct cell *cx)
{
    if (cx->lane->shared_capture)
        return cell_wire(cx);
    return load(cx, &cx->local_wire, &cx->local_wire_loaded, cx->paths.local_pcap);
}

void cell_dump_wire(struct cell *cx, const struct wire_capture *cap, const char *title)
{
    (void)cx;
    char line[1024];
    printf("--- %s: %zu datagrams\n", title, cap->count);
    for (size_t i = 0; i < cap->count; i++) {
        wire_format(cap, &cap->items[i], line, sizeof line);
        printf("    %s\n", line);
    }
}

/* ---- running ---- */

/* Regular files are not counted: socket_wrapper and nss_wrapper open their pcap and hosts
 * files lazily and keep them open, and no transport opens files. */
int cell_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char link_path[300], target[300];
        snprintf(link_path, sizeof link_path, "/proc/self/fd/%s", e->d_name);
        ssize_t len = readlink(link_path, target, sizeof target - 1);
        if (e->d_name[0] == '.' || len <= 0 || target[0] == '/')
            continue;
        n++;
    }
    closedir(d);
    return n;
}

static void run_scenario(void **state)
{
    struct cell *cx = *state;
    cx->body_start_ms = cell_clock_ms();
    char why[CELL_TEXT_MAX];
    int wire_family = 0;
    if (cx->scenario->traffic && cx->kind->cls != KIND_UNRESOLVABLE &&
        !(cx->kind->cls == KIND_GROUP && !cx->ops->profile->multicast))
        wire_family = cell_expected_wire_family(cx);
    if (cx->scenario->traffic &&
        !lane_can_carry(cx->lane, cx->ops->profile, cx->kind, wire_family, why, sizeof why))
        cell_skip(cx, "%s", why);
    cx->scenario->run(cx);
}

static int close_everything(void **state)
{
    struct cell *cx = *state;
    cx->body_end_ms = cell_clock_ms();
    while (cx->endpoint_count > 0)
        close_endpoint(cx->endpoints[--cx->endpoint_count]);
    for (size_t i = 0; i < cx->message_count; i++)
        free(cx->messages[i]);
    cx->message_count = 0;
    while (cx->owned_fd_count > 0) {
        int fd = cx->owned_fds[--cx->owned_fd_count];
        coapmx_loop_unwatch(cx->loop, fd);
        close(fd);
    }
    /* A kept log (a failure, --keep-pcaps) ends with its wire, decoded, to explain itself
     * without tshark; the log of a passing cell is thrown away. */
    if (!cx->skipped && (cx->failed || getenv(CELL_KEEP_ENV) != NULL))
        cell_dump_wire(cx, cell_wire(cx), "peer capture");
    if (cx->peer_wire_loaded)
        wire_capture_free(&cx->peer_wire);
    if (cx->local_wire_loaded)
        wire_capture_free(&cx->local_wire);
    cx->peer_wire_loaded = cx->local_wire_loaded = false;
    int open_fds = cell_open_fds();
    if (open_fds != cx->fd_baseline) {
        snprintf(cx->reason + strlen(cx->reason), sizeof cx->reason - strlen(cx->reason),
                 "%sleaked file descriptors: %d open, %d before the scenario",
                 cx->reason[0] ? "; " : "", open_fds, cx->fd_baseline);
        cx->failed = true;
        printf("ERROR: %s\n", cx->reason);
        return -1;
    }
    return 0;
}

static int parse_cell_name(struct cell *cx, const struct coapmx_registry *registry,
                           const char *name)
{
    char copy[CELL_NAME_MAX];
    snprintf(copy, sizeof copy, "%s", name);
    char *at = strrchr(copy, '@');
    char *first = strchr(copy, '/');
    char *last = strrchr(copy, '/');
    if (at == NULL || first == NULL || last == first)
        return -1;
    *at = *first = *last = '\0';
    cx->ops = coapmx_registry_find(registry, copy);
    cx->kind = kind_find(last + 1);
    cx->lane = lane_find(at + 1);
    for (size_t i = 0; i < all_scenarios.count; i++)
        if (strcmp(all_scenarios.items[i]->id, first + 1) == 0)
            cx->scenario = all_scenarios.items[i];
    snprintf(cx->name, sizeof cx->name, "%s", name);
    return cx->ops && cx->kind && cx->lane && cx->scenario ? 0 : -1;
}

/* Before the virtual clock jumps, everything the peer has to say must have arrived. */
static void sync_peer_when_idle(void *arg)
{
    cell_peer_sync(arg);
}

/* Per run: the protocol constants (COAPMX_PROTOCOL) and the seed (COAPMX_SEED), mixed with
 * the cell's name (lane aside) so that every cell has its own reproducible randomness. */
static int configure_protocol(struct cell *cx)
{
    struct coapmx_error err;
    const char *text = getenv("COAPMX_PROTOCOL"), *run_seed = getenv("COAPMX_SEED");
    coapmx_protocol_defaults(&cx->protocol);
    if ((text != NULL && coapmx_protocol_parse(&cx->protocol, text, &err) != 0) ||
        (cx->scenario->protocol != NULL &&
         coapmx_protocol_parse(&cx->protocol, cx->scenario->protocol, &err) != 0)) {
        snprintf(cx->reason, sizeof cx->reason, "%s", err.message);
        return -1;
    }
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    /* Without the lane: one cell draws the same numbers on every lane, so lanes compare. */
    for (const char *p = cx->name; *p && *p != '@'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    cx->seed = h ^ (run_seed ? strtoull(run_seed, NULL, 0) : 1);
    return 0;
}

static int write_result(const struct cell *cx, enum cell_status status)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/result", cx->dir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    /* The lane's set-up ran in this process before the exec, and left its times behind. */
    const char *lane = getenv(CELL_LANE_TIMES_ENV);
    fprintf(f, "%s\n%s\n%s\ntiming %s %.3f %.3f %.3f %.3f\n", cell_status_name(status), cx->reason,
            cx->observed, lane ? lane : "0 0", cx->started_ms, cx->peer_ready_ms, cx->body_start_ms,
            cx->body_end_ms);
    return fclose(f);
}

int cell_main(const struct coapmx_registry *registry, int argc, char **argv)
{
    static struct cell cx;
    cx.started_ms = cell_clock_ms();
    if (argc != 4 || strcmp(argv[2], "--dir") != 0 || parse_cell_name(&cx, registry, argv[1])) {
        fprintf(stderr, "usage: coapmx __cell <transport>/<scenario>/<kind>@<lane> --dir DIR\n");
        return 2;
    }
    snprintf(cx.dir, sizeof cx.dir, "%s", argv[3]);
    signal(SIGPIPE, SIG_IGN); /* a dead peer must show as an error, not kill the cell */
    artifact_paths(cx.dir, cx.name, &cx.paths);
    if (kind_host(cx.kind, cx.lane, cx.host, sizeof cx.host) != 0 || start_peer(&cx) != 0) {
        snprintf(cx.reason, sizeof cx.reason, "cannot set up the cell (see output)");
        stop_peer(&cx, true);
        write_result(&cx, CELL_ERROR);
        return 1;
    }
    cx.peer_ready_ms = cell_clock_ms();
    if (configure_protocol(&cx) != 0) {
        write_result(&cx, CELL_ERROR);
        stop_peer(&cx, true);
        return 1;
    }
    coapmx_clock_virtual_init(&cx.clock, CELL_CLOCK_START_MS);
    cx.loop = coapmx_loop_new(cx.scenario->real_clock ? NULL : &cx.clock);
    coapmx_loop_set_idle_hook(cx.loop, sync_peer_when_idle, &cx, cx.lane->idle_grace_ms);
    cx.fd_baseline = cell_open_fds();
    printf("cell %s: %s\nseed 0x%016llx (rerun with the same --seed to reproduce)\n", cx.name,
           cx.scenario->title, (unsigned long long)cx.seed);
    const struct CMUnitTest tests[] = {{.name = cx.name,
                                        .test_func = run_scenario,
                                        .setup_func = NULL,
                                        .teardown_func = close_everything,
                                        .initial_state = &cx}};
    int failed = _cmocka_run_group_tests(cx.name, tests, 1, NULL, NULL);
    enum cell_status status = cx.skipped ? CELL_SKIP : failed || cx.failed ? CELL_FAIL : CELL_PASS;
    stop_peer(&cx, status == CELL_FAIL || getenv(CELL_KEEP_ENV) != NULL);
    coapmx_loop_free(cx.loop);
    if (status == CELL_FAIL && cx.reason[0] == '\0')
        snprintf(cx.reason, sizeof cx.reason, "failed (see output)");
    write_result(&cx, status);
    return cell_exit_code(status);
}

int cell_exit_code(enum cell_status status)
{
    return status == CELL_PASS ? 0 : status == CELL_SKIP ? 77 : 1;
}
