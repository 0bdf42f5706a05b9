/* What a scenario sees of its cell: the implementation under test (by profile and capabilities,
 * never by name), the address kind, the reference peer, and the captures. The cell owns every
 * piece of environment plumbing; scenario bodies never touch environment variables, directories
 * or processes. */
#ifndef COAPMX_CELL_H
#define COAPMX_CELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../transports/coap/endpoint.h"
#include "../transports/transport.h"
#include "capture.h"
#include "iut.h"
#include "kinds.h"
#include "lane.h"
#include "peer.h"
#include "report.h"

struct cell;

struct scenario {
    const char *id;           /* "<BEHAVIOUR row>-<slug>", e.g. "N3-netloc-name" */
    const char *title;        /* one line */
    const char *const *kinds; /* NULL-terminated names of the address kinds it runs for */
    /* It sends to the kind's address or binds one of its family, so the lane must be able to
     * carry that. */
    bool traffic;
    void (*run)(struct cell *cx);
    /* Runs on the real clock (as `coapmx get` does) instead of the virtual one. Third-party
     * stacks always run on the real clock. */
    bool real_clock;
    /* Protocol settings this scenario needs on top of the run's ("ack_timeout_ms=200"). */
    const char *protocol;
    /* Why the IUT may still send after this scenario's body (NULL: it must not). Every other
     * cell ends quiet: past EXCHANGE_LIFETIME nothing more leaves the IUT. */
    const char *still_sends;
    /* NULL: the row applies to every IUT. Otherwise NULL for an IUT it applies to, and for one
     * it does not, why (from its profile and capabilities, never its name; scenarios/BEHAVIOUR.md
     * n/a, shown by `coapmx rows` and `coapmx list --why`): such an IUT gets no cell at all. */
    const char *(*not_applicable)(const struct iut_info *iut);
};

/* Why a scenario has no cell for an IUT; NULL when it has. */
const char *scenario_not_applicable(const struct scenario *sc, const struct iut_info *iut);

struct scenario_list {
    const struct scenario *const *items;
    size_t count;
};
extern const struct scenario_list all_scenarios;

#define KINDS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- the cell ---- */
const struct iut_info *cell_iut(const struct cell *cx);
const struct coapmx_profile *cell_profile(const struct cell *cx);
const struct iut_caps *cell_caps(const struct cell *cx);
const char *cell_iut_name(const struct cell *cx); /* for messages only */
const struct address_kind *cell_kind(const struct cell *cx);
const struct lane *cell_lane(const struct cell *cx);

/* The configuration an IUT originates requests with: a client, bound to the cell's own
 * address of cell_bind_family where the profile binds explicitly (S6). Scenarios that need
 * more (a small receive buffer, a pool size) start from it. */
void cell_client_config(struct cell *cx, struct coapmx_transport_config *config);
/* The family of the local address an explicitly bound IUT gets: a literal's or group's own;
 * for a name, the family the resolver lists last, so that a dual name (F3, F4) is reached in the
 * family it does not list first. */
int cell_bind_family(struct cell *cx);
/* The cell's own address of a family (where the IUT lives). */
const char *cell_own_address(const struct cell *cx, int family);
/* A name of that address in the lane's hosts file (iut4.test, iut6.test). */
const char *cell_own_name(int family);

/* Opens an endpoint of the IUT with `config` (NULL: cell_client_config). Every endpoint serves
 * the standard reply (iut.h). Returns NULL with err filled when opening fails; the cell closes
 * what it opened at the end. */
struct iut_endpoint *cell_open(struct cell *cx, const struct coapmx_transport_config *config,
                               struct coapmx_error *err);
/* A default client; fails the cell if it cannot be opened. */
struct iut_endpoint *cell_client(struct cell *cx);
/* Closes the endpoint now. */
void cell_close(struct cell *cx, struct iut_endpoint *ep);
/* The protocol settings in force for the IUT (in protocol time, the IUT's clock). */
const struct coapmx_protocol *cell_protocol(const struct cell *cx);
/* Descriptors the IUT holds: this process's (ours), or the driver process's. */
int cell_iut_descriptors(struct cell *cx);

/* The kind's host as written in URIs (no brackets). */
const char *cell_host(const struct cell *cx);
/* "coap://<kind host>[:port]/path"; port 0 means PEER_PORT_DEFAULT (5683, which
 * tshark decodes as CoAP). */
void cell_uri(const struct cell *cx, uint16_t port, const char *path, char *buf, size_t cap);
/* A request to the kind's host, waited for (bounded). The message is owned by the cell. */
int cell_request(struct cell *cx, struct iut_endpoint *ep, enum coap_type type, uint16_t port,
                 const char *path, const struct coapmx_message **resp, struct coapmx_error *err);
/* Any request (method, payload, ...), waited for like cell_request: until its first response
 * (of a group: the first answer, or the end of the window) or its error. */
int cell_send_request(struct cell *cx, struct iut_endpoint *ep, const struct coapmx_request *req,
                      const struct coapmx_message **resp, struct coapmx_error *err);
/* The same, waiting up to `ms` of protocol time (for a request that ends only by giving up).
 * Where the cell stops waiting itself, err says CELL_STOPPED_WAITING. */
int cell_send_request_for(struct cell *cx, struct iut_endpoint *ep,
                          const struct coapmx_request *req, uint64_t ms,
                          const struct coapmx_message **resp, struct coapmx_error *err);
#define CELL_STOPPED_WAITING "the cell stopped waiting"
/* The same for any URI (e.g. another spelling of the peer). */
int cell_request_uri(struct cell *cx, struct iut_endpoint *ep, enum coap_type type, const char *uri,
                     const struct coapmx_message **resp, struct coapmx_error *err);
/* GET (CON) that must succeed with 2.05; fails the cell otherwise. */
const struct coapmx_message *cell_get(struct cell *cx, struct iut_endpoint *ep, uint16_t port,
                                      const char *path);
/* Whether the IUT refuses a request without a response: our transports at once (the callback
 * never runs); a driver's stack at once or with an error before any response. err says why;
 * a request that is not refused is cancelled. */
bool cell_refuses(struct cell *cx, struct iut_endpoint *ep, const struct coapmx_request *req,
                  struct coapmx_error *err);
/* Fails the cell unless err's message names the cause: ours must contain `says`; a third-party
 * stack's words are its own, so any message will do (recorded as observed). */
void cell_expect_message(struct cell *cx, const struct coapmx_error *err, const char *says,
                         const char *what);
/* Fails the cell if an error of our stack carries an errno its message does not name. */
void cell_expect_sound_error(struct cell *cx, const struct coapmx_error *err);

/* Protocol time. Our transports run on a virtual clock: time passes only when nothing is ready
 * (after the peer has delivered everything), so protocol timeouts take no wall time and repeat
 * exactly; a scenario with real_clock set runs on the real one. A third-party stack runs on the
 * real clock, which its driver may speed up (iut_info.speedup): protocol time is its clock. */
uint64_t cell_now_ms(const struct cell *cx);
/* How far a protocol-time interval measured on the real clock may be off (0 when virtual). */
uint64_t cell_time_slack_ms(const struct cell *cx);
/* When a captured datagram was on the wire, in protocol time. */
uint64_t cell_wire_time_ms(const struct cell *cx, const struct wire_datagram *dg);
/* The IUT's transmissions of requests to the peer, oldest first: our transports' own log, or
 * for a third-party stack the requests on the peer's capture. */
size_t cell_transmissions(struct cell *cx, struct iut_endpoint *ep, struct coapmx_transmission *out,
                          size_t max);
/* Whether a captured datagram is a request to one of the peer's addresses. */
bool cell_request_to_peer(const struct cell *cx, const struct wire_datagram *dg);
/* The cell's event loop, for harness-owned sockets (a relay's downstream side). */
struct coapmx_loop *cell_loop(struct cell *cx);
/* Hands a harness socket to the cell, which unwatches and closes it at the end, even when a
 * check fails midway. */
void cell_own_fd(struct cell *cx, int fd);
/* Runs until done(arg), for at most `ms` of protocol time; false on timeout. */
bool cell_wait(struct cell *cx, bool (*done)(void *arg), void *arg, uint64_t ms);
/* Lets `ms` of protocol time pass, handling whatever happens meanwhile. */
void cell_advance(struct cell *cx, uint64_t ms);
/* Runs until the peer's capture holds `count` datagrams matching `filter`, for at most `ms` of
 * protocol time (an IUT's answer to what the peer sent). Returns whether it does. */
bool cell_wait_wire(struct cell *cx, const struct wire_filter *filter, size_t count, uint64_t ms);
/* A bound on how long the IUT takes to react to what the peer sent (our transports react at
 * once; a driver's stack within the cell's round-trip bound), in protocol time. */
uint64_t cell_reaction_ms(const struct cell *cx);
/* How long a request may take before the cell stops waiting for it (protocol time). */
uint64_t cell_request_bound_ms(const struct cell *cx);
/* Scripts the peer's next answers (see peer.h: "drop N", "separate-later", ...). */
void cell_peer_behave(struct cell *cx, const char *behaviour);
/* Runs until done(arg) or a bounded time (a round trip and then some); false on timeout. */
bool cell_run_until(struct cell *cx, bool (*done)(void *arg), void *arg);
/* Until the endpoint has served `count` requests (bounded like cell_run_until). */
bool cell_wait_served(struct cell *cx, struct iut_endpoint *ep, size_t count);

/* ---- expectations derived from the profile and the lane's resolver ---- */
/* The family the datagrams to the kind's host carry on the wire. */
int cell_expected_wire_family(struct cell *cx);
/* The family of the socket address the IUT should report for the kind. */
int cell_expected_remote_family(struct cell *cx);
/* The remote hostinfo the profile promises for the kind at `port` (0: PEER_PORT_DEFAULT). */
void cell_expected_hostinfo(struct cell *cx, uint16_t port, char *buf, size_t cap);
/* The peer's address of a family, e.g. to filter the capture. */
void cell_peer_sockaddr(const struct cell *cx, int family, uint16_t port,
                        struct sockaddr_storage *out);
void cell_stranger_sockaddr(const struct cell *cx, int family, uint16_t port,
                            struct sockaddr_storage *out);

/* ---- the reference peer ---- */
/* Sends bytes from one of the peer's sockets ("<addr>:<port>" as in the peer's bind list) to
 * `to`. Returns 0, or the errno the peer's send failed with. */
int cell_peer_send(struct cell *cx, const struct sockaddr *from, const struct sockaddr *to,
                   const uint8_t *buf, size_t len);
/* Returns once the peer has handled (and captured) everything already sent to it. */
void cell_peer_sync(struct cell *cx);

/* ---- captures ---- */
/* The peer's capture, complete up to now. Freed by the cell. */
const struct wire_capture *cell_wire(struct cell *cx);
/* The IUT side's own capture (counts only: a wildcard-bound socket logs "::"). */
const struct wire_capture *cell_local_wire(struct cell *cx);
/* Prints every datagram of a capture to the cell's output (for a failing cell's log). */
void cell_dump_wire(struct cell *cx, const struct wire_capture *cap, const char *title);

/* Open file descriptors of this process (leak checks). */
int cell_open_fds(void);

/* Records a value the cell observed ("errno" = "ECONNREFUSED"), reported per lane so the
 * report can show where socket_wrapper and the kernel disagree. */
void cell_observe(struct cell *cx, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "ECONNREFUSED", or "0" for no error. */
const char *cell_errno_name(int e);

/* ---- outcomes ---- */
void cell_skip(struct cell *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void cell_fail(struct cell *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Checks that print both values and record the first failure as the cell's reason. */
#define CX_EXPECT(cx, cond, ...)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            cell_fail((cx), __VA_ARGS__);                                                          \
    } while (0)
#define CX_EXPECT_INT(cx, actual, expected, what)                                                  \
    do {                                                                                           \
        long long cx_a_ = (long long)(actual), cx_e_ = (long long)(expected);                      \
        if (cx_a_ != cx_e_)                                                                        \
            cell_fail((cx), "%s: got %lld, expected %lld (%s:%d)", (what), cx_a_, cx_e_, __FILE__, \
                      __LINE__);                                                                   \
    } while (0)
/* Within `slack` of expected (times measured on the real clock; slack 0 means exactly). */
#define CX_EXPECT_NEAR(cx, actual, expected, slack, what)                                          \
    do {                                                                                           \
        long long cx_a_ = (long long)(actual), cx_e_ = (long long)(expected),                      \
                  cx_s_ = (long long)(slack);                                                      \
        if (cx_a_ < cx_e_ - cx_s_ || cx_a_ > cx_e_ + cx_s_)                                        \
            cell_fail((cx), "%s: got %lld, expected %lld (within %lld) (%s:%d)", (what), cx_a_,    \
                      cx_e_, cx_s_, __FILE__, __LINE__);                                           \
    } while (0)
#define CX_EXPECT_STR(cx, actual, expected, what)                                                  \
    do {                                                                                           \
        const char *cx_a_ = (actual), *cx_e_ = (expected);                                         \
        if (strcmp(cx_a_, cx_e_) != 0)                                                             \
            cell_fail((cx), "%s: got \"%s\", expected \"%s\" (%s:%d)", (what), cx_a_, cx_e_,       \
                      __FILE__, __LINE__);                                                         \
    } while (0)
/* The error's code, and that it is sound (an errno only with its name in the message). */
#define CX_EXPECT_ERR(cx, err, expected_code, what)                                                \
    do {                                                                                           \
        if ((err)->code != (expected_code))                                                        \
            cell_fail((cx), "%s: got error %s (\"%s\"), expected %s (%s:%d)", (what),              \
                      coapmx_err_name((err)->code), (err)->message,                                \
                      coapmx_err_name(expected_code), __FILE__, __LINE__);                         \
        cell_expect_sound_error((cx), (err));                                                      \
    } while (0)

/* ---- process entry points (used by main.c) ---- */
/* `coapmx __cell NAME --dir DIR`: runs one cell in this process. Writes DIR/result
 * ("<status>\n<reason>\n") and exits with cell_exit_code(status). */
int cell_main(const struct coapmx_registry *registry, int argc, char **argv);
/* 0 pass, 1 fail, 77 skip (ctest's skip code). The runner trusts a result only if the cell
 * exits with its code: a sanitizer's leak report or valgrind's error exit comes after it. */
int cell_exit_code(enum cell_status status);
/* What sanitizers (lane options) and valgrind (scripts/valgrind) exit with when they found an
 * error or a leak, so the runner can name the cause. */
/* "<start> <end>" of the lane's set-up (cell_clock_ms), from the runner's child to the cell. */
#define CELL_LANE_TIMES_ENV "COAPMX_LANE_TIMES"
/* Set when the runner keeps every cell's artefacts (--keep-pcaps). */
#define CELL_KEEP_ENV              "COAPMX_KEEP_ARTIFACTS"
#define CELL_CHECKER_EXIT_CODE     99
#define CELL_CHECKER_EXIT_CODE_STR "99"

#endif
