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
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "../transports/addr.h"
#include "artifacts.h"
#include "linkframes.h"
#include "main.h"
#include "wirefmt.h"

#define CELL_MAX_MESSAGES   64
#define CELL_WAIT_MS        10000 /* a request on loopback answers in well under a millisecond */
#define PEER_START_MS       10000
#define PEER_STOP_MS        5000
#define CELL_SETTLE_MS      5000    /* real: frames still on a real link of a loaded machine */
#define CELL_CLOCK_START_MS 1000000 /* virtual; far from 0 so that no arithmetic underflows */
#define CELL_EXTERNAL_WAIT_MS                                                                      \
    2000                      /* real ms: a round trip with a third-party stack, and then some */
#define CELL_SLICE_MS      2  /* real clock: how often a wait looks at the peer's capture */
#define CELL_WALL_SLACK_MS 25 /* real clock: scheduling noise an interval may carry */
/* Third-party stacks, in real time (COAPMX_EXTERNAL_PROTOCOL overrides): a CON nobody answers
 * is given up within about a second, and EXCHANGE_LIFETIME (with a MAX_LATENCY of 400 ms) ends
 * well after that, so that a stack that fails a CON at one instead of the other shows. */
#define CELL_EXTERNAL_PROTOCOL                                                                     \
    "ack_timeout_ms=100,ack_random_factor_milli=1500,max_retransmit=2,nstart=1,"                   \
    "exchange_lifetime_ms=1350,non_lifetime_ms=850"

struct cell {
    char name[CELL_NAME_MAX];
    char dir[1024];
    const struct scenario *scenario;
    const struct iut_info *info;
    struct iut *iut;
    char trouble[IUT_TROUBLE_MAX]; /* what the IUT's driver did wrong, kept past its stop */
    const struct address_kind *kind;
    const struct lane *lane;
    char host[256];
    struct artifact_paths paths;
    struct coapmx_clock clock; /* virtual: protocol time passes only when nothing is ready */
    struct coapmx_loop *loop;
    uint64_t seed;
    struct coapmx_protocol protocol; /* asked for; the IUT says what is in force */
    bool real_clock;
    unsigned speedup;     /* of the IUT's clock over the real one */
    double real_start_ms; /* CLOCK_REALTIME when protocol time was CELL_CLOCK_START_MS */
    struct coapmx_message *messages[CELL_MAX_MESSAGES];
    size_t message_count;
    int owned_fds[4]; /* harness sockets a scenario opened; closed at teardown */
    size_t owned_fd_count;
    struct wire_capture peer_wire, local_wire;
    bool peer_wire_loaded, local_wire_loaded;
    pid_t peer_pid;
    int control;
    int link_tap;            /* counts the frames of the transport's end of a real link, or -1 */
    struct link_count link;  /* what it counted */
    struct link_count stuck; /* frames that never arrived, given up on (cell_peer_sync) */
    int fd_baseline;
    bool skipped, failed;
    double started_ms, peer_ready_ms, body_start_ms, body_end_ms; /* cell_clock_ms() */
    char reason[CELL_TEXT_MAX];
    char observed[CELL_OBSERVED_MAX];
};

static struct cell *the_cell; /* one per process */

/* ---- accessors ---- */

const char *scenario_not_applicable(const struct scenario *sc, const struct iut_info *iut)
{
    return sc->not_applicable != NULL ? sc->not_applicable(iut) : NULL;
}

const struct iut_info *cell_iut(const struct cell *cx)
{
    return cx->info;
}

const struct coapmx_profile *cell_profile(const struct cell *cx)
{
    return &cx->info->profile;
}

const struct iut_caps *cell_caps(const struct cell *cx)
{
    return &cx->info->caps;
}

const char *cell_iut_name(const struct cell *cx)
{
    return cx->info->name;
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

/* A driver's misbehaviour fails the cell whatever the scenario was checking. */
static void check_trouble(struct cell *cx)
{
    if (cx->iut != NULL && iut_trouble(cx->iut)[0] != '\0')
        cell_fail(cx, "%s", iut_trouble(cx->iut));
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

static void read_link_tap(struct cell *cx)
{
    char why[128];
    if (cx->link_tap >= 0 && link_tap_read(cx->link_tap, &cx->link, why, sizeof why) != 0)
        cell_fail(cx, "%s", why);
}

/* Until the link's count reaches `received` frames from the peer, or the deadline. */
static void await_link_received(struct cell *cx, uint64_t received, double deadline)
{
    read_link_tap(cx);
    while (cx->link.received + cx->stuck.received < received) {
        int left = (int)(deadline - cell_clock_ms());
        struct pollfd pfd = {.fd = cx->link_tap, .events = POLLIN};
        if (left <= 0 || (poll(&pfd, 1, left) < 0 && errno != EINTR))
            return;
        read_link_tap(cx);
    }
}

/* The peer has handled everything that reached it, and on a real link nothing either side sent
 * is still under way: each end's count of what it sent has reached the other end's count of
 * what it received, and stayed so over one more round trip to the peer (an arrival can make the
 * kernel answer, with an ICMP error, a moment later). A frame that never arrives (the kernel
 * dropped it) is given up on after CELL_SETTLE_MS, saying so, and not waited for again. */
void cell_peer_sync(struct cell *cx)
{
    char command[64], reply[128];
    double deadline = cell_clock_ms() + CELL_SETTLE_MS;
    uint64_t last[4] = {0};
    for (bool first = true;; first = false) {
        read_link_tap(cx);
        /* what the peer can still receive, leaving out what the kernel lost */
        uint64_t sent = cx->link.sent - cx->stuck.sent;
        int left = (int)(deadline - cell_clock_ms());
        snprintf(command, sizeof command, "sync %llu %d\n", (unsigned long long)sent,
                 cx->link_tap >= 0 && left > 0 ? left : 0);
        peer_command(cx, command, reply, sizeof reply);
        unsigned long long peer_received = 0, peer_sent = 0;
        CX_EXPECT(cx, sscanf(reply, "ok %llu %llu", &peer_received, &peer_sent) == 2,
                  "peer sync failed: %s", reply);
        if (cx->link_tap < 0)
            return;
        await_link_received(cx, peer_sent, deadline);
        uint64_t received = cx->link.received + cx->stuck.received;
        uint64_t to_peer = sent > peer_received ? sent - peer_received : 0;
        uint64_t from_peer = peer_sent > received ? peer_sent - received : 0;
        uint64_t now[4] = {cx->link.sent, cx->link.received, peer_received, peer_sent};
        if (to_peer == 0 && from_peer == 0 && !first && memcmp(now, last, sizeof now) == 0)
            return;
        memcpy(last, now, sizeof now);
        if (cell_clock_ms() < deadline)
            continue;
        if (to_peer == 0 && from_peer == 0)
            return; /* all arrived, but the traffic never paused (a real-clock stack's) */
        printf("link: after %d ms, %llu frames to the peer and %llu from it have not arrived; "
               "going on without them\n",
               CELL_SETTLE_MS, (unsigned long long)to_peer, (unsigned long long)from_peer);
        cx->stuck.sent += to_peer;
        cx->stuck.received += from_peer;
        return;
    }
}

/* ---- endpoints ---- */

/* Our stack's errors keep a contract its callers rely on: an errno is the system's, set only
 * where a system call failed, and then named in the message. (A driver gives errno by name.) */
void cell_expect_sound_error(struct cell *cx, const struct coapmx_error *err)
{
    if (cx->info->ops == NULL || err->sys_errno == 0)
        return;
    CX_EXPECT(cx, strstr(err->message, strerror(err->sys_errno)) != NULL,
              "an error of %s carries errno %s, which its message does not name: %s: \"%s\"",
              cx->info->name, cell_errno_name(err->sys_errno), coapmx_err_name(err->code),
              err->message);
}

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
    if (cell_profile(cx)->binds_explicitly)
        config->bind_host = cell_own_address(cx, cell_bind_family(cx));
}

struct iut_endpoint *cell_open(struct cell *cx, const struct coapmx_transport_config *config,
                               struct coapmx_error *err)
{
    struct coapmx_transport_config client;
    if (config == NULL) {
        cell_client_config(cx, &client);
        config = &client;
    }
    struct iut_endpoint *ep = iut_open(cx->iut, config, err);
    check_trouble(cx);
    if (ep == NULL)
        cell_expect_sound_error(cx, err);
    return ep;
}

struct iut_endpoint *cell_client(struct cell *cx)
{
    struct coapmx_error err;
    struct iut_endpoint *ep = cell_open(cx, NULL, &err);
    CX_EXPECT(cx, ep != NULL, "cannot open %s as a client: %s", cx->info->name, err.message);
    return ep;
}

void cell_close(struct cell *cx, struct iut_endpoint *ep)
{
    iut_close(ep);
    check_trouble(cx);
}

const struct coapmx_protocol *cell_protocol(const struct cell *cx)
{
    return iut_protocol(cx->iut);
}

/* Socket descriptors in /proc/<pid>/fd. */
static int process_socket_fds(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        char link_path[400], target[64];
        snprintf(link_path, sizeof link_path, "%s/%s", path, e->d_name);
        ssize_t len = readlink(link_path, target, sizeof target - 1);
        n += len > 7 && strncmp(target, "socket:", 7) == 0;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

int cell_iut_descriptors(struct cell *cx)
{
    int pid = iut_driver_pid(cx->iut);
    /* A runtime opens files and pipes of its own at any time; what a driver must not leave
     * behind are sockets. */
    return pid > 0 ? process_socket_fds(pid) : cell_open_fds();
}

/* ---- requests ---- */

void cell_uri(const struct cell *cx, uint16_t port, const char *path, char *buf, size_t cap)
{
    char hostinfo[COAPMX_HOSTINFO_MAX], base[COAPMX_URI_BASE_MAX];
    coapmx_hostinfo_format(cx->host, port ? port : PEER_PORT_DEFAULT, hostinfo, sizeof hostinfo);
    coapmx_uri_base_of(hostinfo, base, sizeof base);
    snprintf(buf, cap, "%s/%s", base, path);
}

int cell_request_uri(struct cell *cx, struct iut_endpoint *ep, enum coap_type type, const char *uri,
                     const struct coapmx_message **resp, struct coapmx_error *err)
{
    struct coapmx_request req = {.type = type, .method = COAP_GET, .uri = uri};
    return cell_send_request(cx, ep, &req, resp, err);
}

struct waited {
    struct coapmx_message *resp;
    struct coapmx_error err;
    bool done, failed;
};

static void on_waited(void *arg, const struct coapmx_message *resp, const struct coapmx_error *err)
{
    struct waited *w = arg;
    if (w->done)
        return;
    w->done = true;
    if (resp != NULL) {
        coapmx_message_copy(w->resp, resp);
        return;
    }
    w->failed = true;
    if (err != NULL)
        w->err = *err;
    else
        coapmx_fail(&w->err, COAPMX_ETIMEOUT, 0, "no response from the group");
}

static bool waited_done(void *arg)
{
    return ((struct waited *)arg)->done;
}

int cell_send_request_for(struct cell *cx, struct iut_endpoint *ep,
                          const struct coapmx_request *req, uint64_t ms,
                          const struct coapmx_message **resp, struct coapmx_error *err)
{
    CX_EXPECT(cx, cx->message_count < CELL_MAX_MESSAGES, "too many requests in one cell");
    struct coapmx_message *m = malloc(sizeof *m);
    CX_EXPECT(cx, m != NULL, "out of memory");
    cx->messages[cx->message_count++] = m;
    *resp = m;
    /* Static: a request the cell gives up on is cancelled, but a driver's events for it may
     * still be on their way, and the callback must find its state. */
    static struct waited w;
    w = (struct waited){.resp = m};
    int64_t id = iut_request(ep, req, on_waited, &w, err);
    check_trouble(cx);
    if (id < 0) {
        cell_expect_sound_error(cx, err);
        return -1;
    }
    bool done = cell_wait(cx, waited_done, &w, ms);
    iut_cancel(ep, id); /* a group request is still collecting */
    check_trouble(cx);
    if (!done)
        return coapmx_fail(err, COAPMX_ETIMEOUT, 0, "no response to %s within %llu ms: %s",
                           req->uri, (unsigned long long)ms, CELL_STOPPED_WAITING);
    if (w.failed) {
        *err = w.err;
        cell_expect_sound_error(cx, err);
        return -1;
    }
    return 0;
}

/* How long a request may take to be answered: a lost datagram is resent, and an exchange of a
 * transfer or a group takes a few more round trips. */
uint64_t cell_request_bound_ms(const struct cell *cx)
{
    if (cx->info->ops != NULL)
        return CELL_WAIT_MS;
    /* A third-party stack on the real clock: what it takes to give up, twice, at least 2 s. */
    const struct coapmx_protocol *pr = iut_protocol(cx->iut);
    uint64_t give_up = (uint64_t)pr->ack_timeout_ms * pr->ack_random_factor_milli / 1000 *
                       ((2u << pr->max_retransmit) - 1);
    uint64_t floor = (uint64_t)CELL_EXTERNAL_WAIT_MS * cx->speedup;
    return 2 * give_up > floor ? 2 * give_up : floor;
}

uint64_t cell_reaction_ms(const struct cell *cx)
{
    return cx->info->ops != NULL ? iut_protocol(cx->iut)->ack_timeout_ms
                                 : cell_request_bound_ms(cx);
}

int cell_send_request(struct cell *cx, struct iut_endpoint *ep, const struct coapmx_request *req,
                      const struct coapmx_message **resp, struct coapmx_error *err)
{
    return cell_send_request_for(cx, ep, req, cell_request_bound_ms(cx), resp, err);
}

int cell_request(struct cell *cx, struct iut_endpoint *ep, enum coap_type type, uint16_t port,
                 const char *path, const struct coapmx_message **resp, struct coapmx_error *err)
{
    char uri[512];
    cell_uri(cx, port, path, uri, sizeof uri);
    return cell_request_uri(cx, ep, type, uri, resp, err);
}

const struct coapmx_message *cell_get(struct cell *cx, struct iut_endpoint *ep, uint16_t port,
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

struct refusal {
    bool done, responded;
    struct coapmx_error err;
};

static void on_refusal(void *arg, const struct coapmx_message *resp, const struct coapmx_error *err)
{
    struct refusal *r = arg;
    if (r->done)
        return;
    r->done = true;
    r->responded = resp != NULL;
    if (err != NULL)
        r->err = *err;
}

static bool refusal_done(void *arg)
{
    return ((struct refusal *)arg)->done;
}

bool cell_refuses(struct cell *cx, struct iut_endpoint *ep, const struct coapmx_request *req,
                  struct coapmx_error *err)
{
    static struct refusal r; /* static for the same reason as in cell_send_request_for */
    r = (struct refusal){0};
    int64_t id = iut_request(ep, req, on_refusal, &r, err);
    check_trouble(cx);
    if (id < 0) {
        cell_expect_sound_error(cx, err);
        return true;
    }
    if (!cx->real_clock || cell_caps(cx)->introspection) {
        iut_cancel(ep, id);
        coapmx_fail(err, COAPMX_OK, 0, "the request was started");
        return false;
    }
    /* A stack reports a refusal when it has looked at the request, well before it would first
     * retransmit. */
    bool done = cell_wait(cx, refusal_done, &r, cell_reaction_ms(cx));
    iut_cancel(ep, id);
    check_trouble(cx);
    if (done && !r.responded && r.err.code != COAPMX_OK) {
        *err = r.err;
        cell_expect_sound_error(cx, err);
        return true;
    }
    coapmx_fail(err, COAPMX_OK, 0, done ? "the request was answered" : "the request was started");
    return false;
}

void cell_expect_message(struct cell *cx, const struct coapmx_error *err, const char *says,
                         const char *what)
{
    if (cell_caps(cx)->introspection)
        CX_EXPECT(cx, strstr(err->message, says) != NULL,
                  "the error for %s does not say \"%s\": \"%s\"", what, says, err->message);
    else
        CX_EXPECT(cx, err->message[0] != '\0', "the error for %s has no message", what);
}

/* ---- time and waiting ---- */

static double realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t protocol_time_of(const struct cell *cx, double realtime)
{
    double t = (realtime - cx->real_start_ms) * cx->speedup;
    return CELL_CLOCK_START_MS + (uint64_t)(t > 0 ? t : 0);
}

uint64_t cell_now_ms(const struct cell *cx)
{
    if (cx->info->ops != NULL)
        return coapmx_loop_now(cx->loop); /* our transports time by the loop */
    return protocol_time_of(cx, realtime_ms());
}

uint64_t cell_time_slack_ms(const struct cell *cx)
{
    /* Our transports log their own times exactly; a wire capture carries scheduling noise. */
    return cx->real_clock && !cell_caps(cx)->introspection
               ? (uint64_t)CELL_WALL_SLACK_MS * cx->speedup
               : 0;
}

uint64_t cell_wire_time_ms(const struct cell *cx, const struct wire_datagram *dg)
{
    return protocol_time_of(cx, (double)dg->ts.tv_sec * 1e3 + (double)dg->ts.tv_usec / 1e3);
}

size_t cell_transmissions(struct cell *cx, struct iut_endpoint *ep, struct coapmx_transmission *out,
                          size_t max)
{
    if (cell_caps(cx)->introspection)
        return coapmx_endpoint_transmissions(iut_stack(ep), out, max);
    const struct wire_capture *cap = cell_wire(cx);
    size_t n = 0;
    for (size_t i = 0; i < cap->count; i++) {
        const struct wire_datagram *dg = &cap->items[i];
        if (!cell_request_to_peer(cx, dg))
            continue;
        if (n < max)
            out[n] = (struct coapmx_transmission){.mid = dg->coap.mid,
                                                  .at_ms = cell_wire_time_ms(cx, dg)};
        n++;
    }
    return n < max ? n : max;
}

static bool sent_to(const struct wire_datagram *dg, const struct sockaddr_storage *addr)
{
    struct wire_filter f = WIRE_FILTER_ANY;
    struct wire_capture one = {.count = 1, .items = (struct wire_datagram *)dg};
    f.dst = (const struct sockaddr *)addr;
    return wire_count(&one, &f) == 1;
}

bool cell_request_to_peer(const struct cell *cx, const struct wire_datagram *dg)
{
    struct sockaddr_storage peer4, peer6, peer_link = {0};
    cell_peer_sockaddr(cx, AF_INET, 0, &peer4);
    cell_peer_sockaddr(cx, AF_INET6, 0, &peer6);
    if (cx->lane->peer_v6_link != NULL) /* as captured: without a zone */
        coapmx_sockaddr_from_literal(cx->lane->peer_v6_link, 0, &peer_link);
    bool request = dg->kind == WIRE_UDP && dg->coap_status == COAP_OK &&
                   COAP_CODE_CLASS(dg->coap.code) == 0 && dg->coap.code != COAP_EMPTY;
    return request && (sent_to(dg, &peer4) || sent_to(dg, &peer6) || sent_to(dg, &peer_link));
}

struct guarded {
    struct cell *cx;
    bool (*done)(void *arg);
    void *arg;
};

static bool done_or_trouble(void *arg)
{
    struct guarded *g = arg;
    return g->done(g->arg) || (g->cx->iut != NULL && iut_trouble(g->cx->iut)[0] != '\0');
}

/* Runs the loop until done(arg) for at most `wall` ms on the real clock, in slices, so that
 * conditions on other processes (the peer's capture) are seen without waiting out the bound. */
static bool run_real(struct cell *cx, bool (*done)(void *arg), void *arg, double wall)
{
    double deadline = cell_clock_ms() + wall;
    for (;;) {
        if (done(arg)) {
            /* What else is ready goes with it: a driver reports what it served before it
             * answers on the wire. */
            coapmx_loop_run_once(cx->loop, 0);
            return true;
        }
        double left = deadline - cell_clock_ms();
        if (left <= 0)
            return false;
        coapmx_loop_run_once(cx->loop, left < CELL_SLICE_MS ? (int)left + 1 : CELL_SLICE_MS);
    }
}

bool cell_wait(struct cell *cx, bool (*done)(void *arg), void *arg, uint64_t ms)
{
    struct guarded g = {.cx = cx, .done = done, .arg = arg};
    bool ok = cx->real_clock
                  ? run_real(cx, done_or_trouble, &g, (double)ms / cx->speedup + CELL_WALL_SLACK_MS)
                  : coapmx_loop_run_until(cx->loop, done_or_trouble, &g, ms);
    check_trouble(cx);
    return ok;
}

bool cell_run_until(struct cell *cx, bool (*done)(void *arg), void *arg)
{
    return cell_wait(cx, done, arg, cell_request_bound_ms(cx));
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

void cell_advance(struct cell *cx, uint64_t ms)
{
    if (cx->real_clock) {
        struct guarded g = {.cx = cx, .done = never};
        run_real(cx, done_or_trouble, &g, (double)ms / cx->speedup);
        check_trouble(cx);
        return;
    }
    coapmx_loop_run_until(cx->loop, never, NULL, ms);
}

struct wire_goal {
    struct cell *cx;
    const struct wire_filter *filter;
    size_t count;
};

static bool wire_reached(void *arg)
{
    struct wire_goal *w = arg;
    return wire_count(cell_wire(w->cx), w->filter) >= w->count;
}

bool cell_wait_wire(struct cell *cx, const struct wire_filter *filter, size_t count, uint64_t ms)
{
    struct wire_goal w = {.cx = cx, .filter = filter, .count = count};
    return cell_wait(cx, wire_reached, &w, ms);
}

struct served_goal {
    struct iut_endpoint *ep;
    size_t count;
};

static bool served_enough(void *arg)
{
    struct served_goal *g = arg;
    return iut_served_count(g->ep) >= g->count;
}

bool cell_wait_served(struct cell *cx, struct iut_endpoint *ep, size_t count)
{
    struct served_goal g = {.ep = ep, .count = count};
    return cell_run_until(cx, served_enough, &g);
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
    int wanted = cell_profile(cx)->family == COAPMX_FAMILY_V6_FIRST    ? AF_INET6
                 : cell_profile(cx)->family == COAPMX_FAMILY_OF_SOCKET ? cell_bind_family(cx)
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
    if (cx->kind->cls == KIND_MAPPED || cell_profile(cx)->sockets == COAPMX_SOCKET_SHARED_DUALSTACK)
        return AF_INET6;
    return cell_expected_wire_family(cx);
}

void cell_expected_hostinfo(struct cell *cx, uint16_t port, char *buf, size_t cap)
{
    const struct coapmx_profile *pr = cell_profile(cx);
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

/* Whether a captured datagram left one of the IUT's addresses. */
static bool sent_by_iut(const struct cell *cx, const struct wire_datagram *dg)
{
    if (dg->kind != WIRE_UDP)
        return false;
    const char *own[] = {cx->lane->client_v4, cx->lane->client_v6, cx->lane->client_v6_link};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        struct sockaddr_storage a;
        if (own[i] == NULL || coapmx_sockaddr_from_literal(own[i], 0, &a) != 0)
            continue;
        struct wire_filter f = WIRE_FILTER_ANY;
        struct wire_capture one = {.count = 1, .items = (struct wire_datagram *)dg};
        f.src = (const struct sockaddr *)&a;
        if (wire_count(&one, &f) == 1)
            return true;
    }
    return false;
}

/* How many datagrams the IUT has sent: the peer's capture sees all of them (the swrap lane has
 * one capture; on the netns lane every datagram of the IUT crosses the peer's veth). */
static size_t iut_datagrams(struct cell *cx)
{
    const struct wire_capture *cap = cell_wire(cx);
    size_t n = 0;
    for (size_t i = 0; i < cap->count; i++)
        n += sent_by_iut(cx, &cap->items[i]);
    return n;
}

struct quiet_goal {
    struct cell *cx;
    size_t sent;
};

static bool iut_sent_more(void *arg)
{
    struct quiet_goal *g = arg;
    return iut_datagrams(g->cx) > g->sent;
}

/* Every cell ends quiet: once its body is done, protocol time runs on past EXCHANGE_LIFETIME
 * and nothing more may leave the IUT (a timer left running, a retransmission of an exchange
 * that should be over). Our transports' time is the cell's virtual clock; a driver's clock is
 * moved on at once (libfaketime), and one slice of real time then shows what fell due. A row
 * that runs our transports on the real clock waits it out, with an EXCHANGE_LIFETIME made short
 * to match (L8). */
static void check_quiescence(struct cell *cx)
{
    bool external = cx->info->ops == NULL;
    if (cx->skipped || cx->iut == NULL || cx->scenario->still_sends != NULL)
        return;
    struct quiet_goal g = {.cx = cx, .sent = iut_datagrams(cx)};
    uint64_t ended_ms = cell_now_ms(cx);
    uint64_t quiet_ms = cell_protocol(cx)->exchange_lifetime_ms + cell_time_slack_ms(cx);
    if (external) {
        struct coapmx_error err;
        CX_EXPECT(cx, iut_advance_clock(cx->iut, quiet_ms, &err) == 0,
                  "cannot move the clock of %s on: %s", cx->info->name, err.message);
        CX_EXPECT(cx, !cell_wait(cx, iut_sent_more, &g, 0),
                  "a datagram left the IUT once its clock was moved %.1f s past the end of the "
                  "scenario (nothing may, within EXCHANGE_LIFETIME)",
                  (double)quiet_ms / 1000.0);
        return;
    }
    CX_EXPECT(cx, !cell_wait(cx, iut_sent_more, &g, quiet_ms),
              "a datagram left the IUT %.1f s after the scenario ended (nothing may, within "
              "EXCHANGE_LIFETIME)",
              (double)(cell_now_ms(cx) - ended_ms) / 1000.0);
}

static void run_scenario(void **state)
{
    struct cell *cx = *state;
    cx->body_start_ms = cell_clock_ms();
    char why[CELL_TEXT_MAX];
    int wire_family = 0;
    if (cx->scenario->traffic && cx->kind->cls != KIND_UNRESOLVABLE &&
        !(cx->kind->cls == KIND_GROUP && !cell_profile(cx)->multicast))
        wire_family = cell_expected_wire_family(cx);
    if (cx->scenario->traffic &&
        !lane_can_carry(cx->lane, cell_profile(cx), cx->kind, wire_family, why, sizeof why))
        cell_skip(cx, "%s", why);
    cx->scenario->run(cx);
    check_quiescence(cx);
}

static void fail_teardown(struct cell *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A failure found after the scenario's body: added to the reason, and the cell fails. */
static void fail_teardown(struct cell *cx, const char *fmt, ...)
{
    size_t used = strlen(cx->reason);
    if (used > 0 && used + 2 < sizeof cx->reason)
        used += (size_t)snprintf(cx->reason + used, sizeof cx->reason - used, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cx->reason + used, sizeof cx->reason - used, fmt, ap);
    va_end(ap);
    cx->failed = true;
    printf("ERROR: %s\n", cx->reason + used);
}

/* Closes every endpoint and ends a driver; what the driver did wrong is kept. Once every
 * endpoint is closed, a driver's process may hold none of the stack's sockets (our transports'
 * are counted among the cell's descriptors). */
static bool stop_iut(struct cell *cx)
{
    if (cx->iut == NULL)
        return false;
    iut_close_all(cx->iut);
    int pid = iut_driver_pid(cx->iut);
    struct iut_socket left[4];
    size_t kept = pid > 0 && !cx->skipped && iut_trouble(cx->iut)[0] == '\0'
                      ? cx->lane->process_sockets(cx->lane, pid, left, 4)
                      : 0;
    iut_stop(cx->iut, cx->trouble, sizeof cx->trouble);
    cx->iut = NULL;
    if (kept > 0) {
        char local[COAPMX_HOSTINFO_MAX];
        coapmx_hostinfo_of((const struct sockaddr *)&left[0].local, false, local, sizeof local);
        fail_teardown(cx,
                      "%s kept %zu UDP socket%s open after every endpoint was closed (one on %s)",
                      cx->info->name, kept, kept == 1 ? "" : "s", local);
    }
    return kept > 0;
}

static int close_everything(void **state)
{
    struct cell *cx = *state;
    cx->body_end_ms = cell_clock_ms();
    bool sockets_left = stop_iut(cx);
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
    if (!cx->skipped && (cx->failed || getenv(CELL_KEEP_ENV) != NULL) && cx->peer_pid > 0) {
        cell_dump_wire(cx, cell_wire(cx), "peer capture");
        if (cx->link_tap >= 0)
            printf("--- link: the transport's side sent %llu and received %llu datagrams and ICMP "
                   "errors (%llu and %llu of them given up on)\n",
                   (unsigned long long)cx->link.sent, (unsigned long long)cx->link.received,
                   (unsigned long long)cx->stuck.sent, (unsigned long long)cx->stuck.received);
    }
    if (cx->peer_wire_loaded)
        wire_capture_free(&cx->peer_wire);
    if (cx->local_wire_loaded)
        wire_capture_free(&cx->local_wire);
    cx->peer_wire_loaded = cx->local_wire_loaded = false;
    /* The IUT is closed: nothing of it may be left registered in the cell's loop. */
    size_t watches, timers;
    coapmx_loop_registered(cx->loop, &watches, &timers);
    if (!cx->skipped && (watches > 0 || timers > 0)) {
        fail_teardown(
            cx, "left in the loop after the IUT closed: %zu watched descriptor%s, %zu timer%s",
            watches, watches == 1 ? "" : "s", timers, timers == 1 ? "" : "s");
        return -1;
    }
    int open_fds = cell_open_fds();
    if (open_fds != cx->fd_baseline) {
        fail_teardown(cx, "leaked file descriptors: %d open, %d before the scenario", open_fds,
                      cx->fd_baseline);
        return -1;
    }
    return sockets_left ? -1 : 0;
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
    cx->info = iut_find(registry, copy);
    cx->kind = kind_find(last + 1);
    cx->lane = lane_find(at + 1);
    for (size_t i = 0; i < all_scenarios.count; i++)
        if (strcmp(all_scenarios.items[i]->id, first + 1) == 0)
            cx->scenario = all_scenarios.items[i];
    snprintf(cx->name, sizeof cx->name, "%s", name);
    return cx->info && cx->kind && cx->lane && cx->scenario ? 0 : -1;
}

/* Before the virtual clock jumps, everything the peer has to say must have arrived. */
static void sync_peer_when_idle(void *arg)
{
    cell_peer_sync(arg);
}

/* Per run: the protocol constants (COAPMX_PROTOCOL) and the seed (COAPMX_SEED), mixed with
 * the cell's name (lane aside) so that every cell has its own reproducible randomness. A
 * third-party stack gets CELL_EXTERNAL_PROTOCOL (COAPMX_EXTERNAL_PROTOCOL) in real time instead,
 * in its own clock: times its speed-up. */
static int configure_protocol(struct cell *cx)
{
    struct coapmx_error err;
    bool external = cx->info->ops == NULL;
    const char *text = getenv(external ? "COAPMX_EXTERNAL_PROTOCOL" : "COAPMX_PROTOCOL");
    if (external && text == NULL)
        text = CELL_EXTERNAL_PROTOCOL;
    coapmx_protocol_defaults(&cx->protocol);
    if ((text != NULL && coapmx_protocol_parse(&cx->protocol, text, &err) != 0) ||
        (cx->scenario->protocol != NULL &&
         coapmx_protocol_parse(&cx->protocol, cx->scenario->protocol, &err) != 0)) {
        snprintf(cx->reason, sizeof cx->reason, "%s", err.message);
        return -1;
    }
    cx->speedup = cx->info->speedup;
    cx->real_clock = external || cx->scenario->real_clock;
    if (external) {
        struct coapmx_protocol *p = &cx->protocol;
        p->ack_timeout_ms *= cx->speedup;
        p->exchange_lifetime_ms *= cx->speedup;
        p->non_lifetime_ms *= cx->speedup;
    }
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    /* Without the lane: one cell draws the same numbers on every lane, so lanes compare. */
    for (const char *p = cx->name; *p && *p != '@'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    const char *run_seed = getenv("COAPMX_SEED");
    cx->seed = h ^ (run_seed ? strtoull(run_seed, NULL, 0) : 1);
    return 0;
}

static size_t lane_process_sockets(int pid, struct iut_socket *out, size_t max)
{
    return the_cell->lane->process_sockets(the_cell->lane, pid, out, max);
}

/* Why the cell cannot run its IUT here, or NULL. */
static const char *cannot_run(struct cell *cx, char *why, size_t cap)
{
    if (!iut_available(cx->info, why, cap))
        return why;
    if (strcmp(cx->lane->name, "swrap") == 0 && cx->info->swrap_skip[0] != '\0') {
        snprintf(why, cap, "%s cannot run on socket_wrapper: %s", cx->info->name,
                 cx->info->swrap_skip);
        return why;
    }
    return NULL;
}

static int start_iut(struct cell *cx)
{
    struct coapmx_error err = {0};
    struct iut_setup setup = {.loop = cx->loop,
                              .protocol = cx->protocol,
                              .seed = cx->seed,
                              .process_sockets = lane_process_sockets,
                              .scratch_dir = cx->dir};
    if (cx->speedup > 1)
        printf("%s runs under libfaketime %u times faster than real time; protocol times below "
               "are in its clock\n",
               cx->info->name, cx->speedup);
    cx->real_start_ms = realtime_ms();
    cx->iut = iut_start(cx->info, &setup, &err);
    if (cx->iut != NULL)
        return 0;
    snprintf(cx->reason, sizeof cx->reason, "cannot start %s: %s", cx->info->name, err.message);
    return -1;
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

/* A declared deviation turns a failure into an expected one, and a pass into an XPASS that
 * fails the run; a driver's misbehaviour is never expected. */
static enum cell_status apply_pics(struct cell *cx, enum cell_status status)
{
    if (cx->trouble[0] != '\0') {
        char scenario[CELL_TEXT_MAX];
        snprintf(scenario, sizeof scenario, "%s", cx->reason);
        if (strstr(scenario, cx->trouble) != NULL)
            snprintf(cx->reason, sizeof cx->reason, "%s", cx->trouble);
        else
            snprintf(cx->reason, sizeof cx->reason, "%s%s%.480s", cx->trouble,
                     scenario[0] ? "; the scenario then: " : "", scenario);
        return status == CELL_SKIP ? CELL_SKIP : CELL_FAIL;
    }
    const struct iut_xfail *x =
        iut_xfail_for(cx->info, cx->scenario->id, cx->kind->name, cx->lane->name);
    if (x == NULL || (status != CELL_FAIL && status != CELL_PASS))
        return status;
    char failure[CELL_TEXT_MAX];
    snprintf(failure, sizeof failure, "%s", cx->reason);
    if (status == CELL_FAIL) {
        snprintf(cx->reason, sizeof cx->reason, "%.700s [PICS: %s]", failure, x->reason);
        return CELL_XFAIL;
    }
    snprintf(cx->reason, sizeof cx->reason,
             "passed, but %s's PICS declares it fails (%s): is the deviation fixed?",
             cx->info->name, x->reason);
    return CELL_XPASS;
}

int cell_main(const struct coapmx_registry *registry, int argc, char **argv)
{
    static struct cell cx;
    the_cell = &cx;
    cx.link_tap = -1;
    cx.started_ms = cell_clock_ms();
    if (argc != 4 || strcmp(argv[2], "--dir") != 0 || parse_cell_name(&cx, registry, argv[1])) {
        fprintf(stderr, "usage: coapmx __cell <iut>/<scenario>/<kind>@<lane> --dir DIR\n");
        return 2;
    }
    snprintf(cx.dir, sizeof cx.dir, "%s", argv[3]);
    signal(SIGPIPE, SIG_IGN); /* a dead peer or driver must show as an error, not kill the cell */
    artifact_paths(cx.dir, cx.name, &cx.paths);
    char why[CELL_TEXT_MAX];
    if (cannot_run(&cx, why, sizeof why) != NULL) {
        snprintf(cx.reason, sizeof cx.reason, "%s", why);
        printf("SKIP: %s\n", why);
        write_result(&cx, CELL_SKIP);
        return cell_exit_code(CELL_SKIP);
    }
    if (kind_host(cx.kind, cx.lane, cx.host, sizeof cx.host) != 0 || start_peer(&cx) != 0) {
        snprintf(cx.reason, sizeof cx.reason, "cannot set up the cell (see output)");
        stop_peer(&cx, true);
        write_result(&cx, CELL_ERROR);
        return 1;
    }
    cx.peer_ready_ms = cell_clock_ms();
    /* Opened once the peer is forked (it is no descriptor of the peer's), before any datagram. */
    const char *count = getenv("COAPMX_LINK_COUNT"); /* "off": the grace alone (scripts/bench) */
    bool counted = cx.lane->client_ifname != NULL && (count == NULL || strcmp(count, "off") != 0);
    cx.link_tap = counted ? link_tap_open(cx.lane->client_ifname) : -1;
    if (counted && cx.link_tap < 0) {
        snprintf(cx.reason, sizeof cx.reason, "cannot count the frames of %s: %s",
                 cx.lane->client_ifname, strerror(errno));
        write_result(&cx, CELL_ERROR);
        stop_peer(&cx, true);
        return 1;
    }
    if (configure_protocol(&cx) != 0) {
        write_result(&cx, CELL_ERROR);
        stop_peer(&cx, true);
        return 1;
    }
    coapmx_clock_virtual_init(&cx.clock, CELL_CLOCK_START_MS);
    cx.loop = coapmx_loop_new(cx.real_clock ? NULL : &cx.clock);
    coapmx_loop_set_idle_hook(cx.loop, sync_peer_when_idle, &cx, cx.lane->idle_grace_ms);
    cx.fd_baseline = cell_open_fds();
    printf("cell %s: %s\nseed 0x%016llx (rerun with the same --seed to reproduce)\n", cx.name,
           cx.scenario->title, (unsigned long long)cx.seed);
    enum cell_status status;
    if (start_iut(&cx) != 0) {
        status = CELL_FAIL;
        printf("ERROR: %s\n", cx.reason);
    } else {
        const struct CMUnitTest tests[] = {{.name = cx.name,
                                            .test_func = run_scenario,
                                            .setup_func = NULL,
                                            .teardown_func = close_everything,
                                            .initial_state = &cx}};
        int failed = _cmocka_run_group_tests(cx.name, tests, 1, NULL, NULL);
        status = cx.skipped ? CELL_SKIP : failed || cx.failed ? CELL_FAIL : CELL_PASS;
    }
    stop_iut(&cx);
    status = apply_pics(&cx, status);
    bool failed = status == CELL_FAIL || status == CELL_XPASS;
    stop_peer(&cx, failed || status == CELL_XFAIL || getenv(CELL_KEEP_ENV) != NULL);
    coapmx_loop_free(cx.loop);
    if (status == CELL_FAIL && cx.reason[0] == '\0')
        snprintf(cx.reason, sizeof cx.reason, "failed (see output)");
    if (status == CELL_XFAIL || status == CELL_XPASS)
        printf("%s: %s\n", status == CELL_XFAIL ? "XFAIL" : "XPASS", cx.reason);
    write_result(&cx, status);
    return cell_exit_code(status);
}

int cell_exit_code(enum cell_status status)
{
    return status == CELL_PASS || status == CELL_XFAIL ? 0 : status == CELL_SKIP ? 77 : 1;
}
