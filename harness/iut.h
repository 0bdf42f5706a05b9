/* The implementation under test (IUT) of a cell, as scenarios reach it: one of our transports
 * under the shared stack, in the cell's own process, or a third-party stack run as a driver
 * process that speaks the JSON-lines protocol of transports/drivers/PROTOCOL.md. Both kinds give
 * the same endpoints (clients and servers), requests with callbacks, the requests they served,
 * their UDP sockets and shutdown. What an IUT claims (its profile and capabilities, and for a
 * third-party stack its known deviations) is data: our transports' from their ops, the others'
 * from their PICS file (transports/drivers/<stack>/<iut>.pics). */
#ifndef COAPMX_IUT_H
#define COAPMX_IUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../transports/coap/endpoint.h"
#include "../transports/transport.h"

/* What an IUT can be asked for or observed through, beyond requests and the wire. */
struct iut_caps {
    bool introspection;    /* its counters, transmission log and transport API (resolve, send) */
    bool serves_on_client; /* a client answers requests from the peer it addressed (R2) */
    bool settable_buffer;  /* the receive buffer size can be set (E4's small buffer) */
    bool settable_pool;    /* the socket pool size can be set (S5) */
    bool relay;            /* relays single blocks of a transfer with its remote held (B3) */
    bool bad_settings;     /* refuses bad protocol settings at open (E8) */
    bool descriptor_limit; /* runs in the cell's process, which a scenario can starve (E9) */
    /* N4: it names remotes as hostinfo itself (host[:port], 5683 left out), not only by address
     * and port (which the harness then spells as hostinfo). A driver's events are held to it. */
    bool hostinfo;
};

#define IUT_NAME_MAX     48
#define IUT_TROUBLE_MAX  512
#define IUT_MAX_XFAILS   64
#define IUT_MAX_EXTERNAL 16

/* A deviation the IUT's PICS declares: cells matching `cells` ("<scenario>" or
 * "<scenario>/<kind>", optionally "@<lane>") must fail, for `reason`. */
struct iut_xfail {
    char cells[96];
    char reason[256];
};

struct iut_info {
    char name[IUT_NAME_MAX];
    struct coapmx_profile profile;
    struct iut_caps caps;
    const struct coapmx_transport_ops *ops; /* our transports; NULL for a driver */
    /* A driver: */
    char pics_path[512];
    char driver[512];     /* the command line (words), run in the cell's network */
    char available[512];  /* a shell command that succeeds when the stack can run ("": always) */
    char enable[256];     /* what to do when it cannot */
    char swrap_skip[256]; /* why its cells cannot run on socket_wrapper ("": they can) */
    /* Coverage of the stack's own code (scripts/coverage), into the folder {coverage}: */
    char coverage_driver[512]; /* the driver, run so that it measures the stack's lines */
    char coverage_report[512]; /* prints "FILE LH LF BH BF" rows from what they measured */
    unsigned speedup;          /* it runs under libfaketime this many times faster (1: not) */
    struct iut_xfail xfails[IUT_MAX_XFAILS];
    size_t xfail_count;
};

/* Every IUT: the transports of the registry, then the drivers whose PICS files are in
 * COAPMX_DRIVERS_DIR. The first call reads the PICS files; a bad one is reported on stderr
 * (file, line, what) and left out. */
const struct iut_info *const *iut_all(const struct coapmx_registry *registry, size_t *count);
const struct iut_info *iut_find(const struct coapmx_registry *registry, const char *name);
/* The PICS deviation a cell of this IUT is declared to fail with, or NULL. */
const struct iut_xfail *iut_xfail_for(const struct iut_info *iut, const char *scenario,
                                      const char *kind, const char *lane);
/* Whether the IUT can run on this machine: its PICS `available` command succeeds (run once per
 * process). If not, why, with the PICS `enable` advice. */
bool iut_available(const struct iut_info *iut, char *why, size_t why_cap);
/* A PICS value with {dir} (the PICS file's folder), {build} (the build tree), {coverage}
 * (iut_coverage_dir) and {available} (the first line its `available` command printed)
 * replaced. */
void iut_expand(const struct iut_info *info, const char *text, char *out, size_t cap);
/* Where scripts/coverage wants the third-party stacks' coverage (COAPMX_COVERAGE_DIR): there,
 * drivers run as their PICS `coverage-driver` says. "": not measuring. */
const char *iut_coverage_dir(void);
/* Prints an IUT's PICS in the file format (ours can be compared with third parties' that way). */
void iut_print_pics(FILE *out, const struct iut_info *iut);
/* Reads a PICS file into info. Returns 0, or -1 with err naming file and line. */
int iut_read_pics(const char *path, struct iut_info *info, char *err, size_t err_cap);

/* ---- the IUT of a cell ---- */

struct iut;
struct iut_endpoint;

/* A UDP socket of the IUT: its local address, and the connected peer (family 0: none). */
struct iut_socket {
    struct sockaddr_storage local, peer;
};

/* A request the IUT served (as a server, or as a client answering role reversal). */
struct iut_served {
    char path[128];
    uint8_t method;
    enum coap_type type;
    size_t payload_len;
    char peer[COAPMX_HOSTINFO_MAX];  /* the peer the stack saw, as hostinfo */
    char local[COAPMX_HOSTINFO_MAX]; /* the stack's hostinfo_local, "" if it has none */
    bool multicast_locally;
};

#define IUT_MAX_SERVED  32
#define IUT_MAX_SOCKETS 80

/* What a cell gives its IUT. */
struct iut_setup {
    struct coapmx_loop *loop;
    /* Asked for: in the IUT's clock (a driver's runs info->speedup times faster). */
    struct coapmx_protocol protocol;
    uint64_t seed; /* MIDs, tokens, jitter of our transports */
    /* The UDP sockets of a process as the cell's network shows them (a driver's). */
    size_t (*process_sockets)(int pid, struct iut_socket *out, size_t max);
    /* The cell's own folder: what a driver needs on disk (its clock) lives there, so that a
     * killed cell leaves nothing behind elsewhere. NULL: $TMPDIR, else /tmp. */
    const char *scratch_dir;
};

/* Starts the IUT for a cell: nothing for our transports; the driver process for a stack (in
 * the cell's network, its clock sped up by info->speedup), handshaken and configured. NULL with
 * err on failure; iut_trouble of what is returned may still be set (a driver that lied). */
struct iut *iut_start(const struct iut_info *info, const struct iut_setup *setup,
                      struct coapmx_error *err);
/* Ends it: closes every endpoint; a driver is told to quit and reaped (killed if it lingers).
 * What the driver did wrong, all along, goes to trouble ("" if nothing). */
void iut_stop(struct iut *iut, char *trouble, size_t cap);
/* Closes every endpoint (iut_stop does too): then none of the IUT's sockets may be left. */
void iut_close_all(struct iut *iut);
const struct iut_info *iut_info_of(const struct iut *iut);
/* The protocol settings actually in force (a driver reports them), in protocol time. */
const struct coapmx_protocol *iut_protocol(const struct iut *iut);
/* How many times faster than real time the IUT's clock runs (1 for ours: the cell's clock is
 * theirs). */
unsigned iut_speedup(const struct iut *iut);
/* What went wrong with a driver (it crashed, went silent, lied), "" if nothing: a cell fails
 * with it whatever its scenario checked. */
const char *iut_trouble(const struct iut *iut);

/* Opens a client or a server. Every endpoint answers the requests it receives the same way:
 * GET (any path) 2.05 "served <n>", PUT or POST 2.04 "got <bytes> bytes", n counting the
 * requests it served; each is recorded (iut_served). */
struct iut_endpoint *iut_open(struct iut *iut, const struct coapmx_transport_config *config,
                              struct coapmx_error *err);
void iut_close(struct iut_endpoint *ep);
int64_t iut_request(struct iut_endpoint *ep, const struct coapmx_request *req,
                    coapmx_response_cb cb, void *arg, struct coapmx_error *err);
void iut_cancel(struct iut_endpoint *ep, int64_t id);
size_t iut_pending(const struct iut_endpoint *ep);
/* Fails every pending request with ESHUTDOWN and closes the endpoint's sockets; later requests
 * fail with ESHUTDOWN. */
void iut_shutdown(struct iut_endpoint *ep);
size_t iut_served_count(const struct iut_endpoint *ep);
const struct iut_served *iut_served(const struct iut_endpoint *ep, size_t i);
/* UDP sockets: of the endpoint for our transports; of the whole driver process for a stack (a
 * process cannot tell which of its sockets belong to which context). Returns how many, up to max
 * written. */
size_t iut_sockets(const struct iut_endpoint *ep, struct iut_socket *out, size_t max);
/* Our transports only (caps.introspection): the shared stack's objects. */
struct coapmx_endpoint *iut_stack(const struct iut_endpoint *ep);
/* Moves a driver's clock on by ms of its own time at once and returns when whatever fell due has
 * run (what it sent is on the wire). Our transports run on the cell's virtual clock instead:
 * -1 with EUNSUPPORTED. */
int iut_advance_clock(struct iut *iut, uint64_t ms, struct coapmx_error *err);
/* A driver's process id (0: ours, or the driver is gone). */
int iut_driver_pid(const struct iut *iut);

/* The UDP sockets of a process from /proc/<pid>/fd and /proc/<pid>/net/udp{,6}: a real
 * kernel's view (socket_wrapper's sockets are Unix sockets there). */
size_t iut_proc_udp_sockets(int pid, struct iut_socket *out, size_t max);
/* The inodes of a process's sockets, from /proc/<pid>/fd (up to max); and whether one is among
 * them. The lanes match them against their own socket tables. */
size_t iut_socket_inodes(int pid, unsigned long *inodes, size_t max);
bool iut_inode_listed(const unsigned long *inodes, size_t count, unsigned long inode);

#endif
