#include "main.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../transports/coap/endpoint.h"
#include "artifacts.h"
#include "capture.h"
#include "cell.h"
#include "check.h"
#include "inspect.h"
#include "peer.h"
#include "runner.h"
#include "spec.h"
#include "wirefmt.h"

static const char usage[] =
    "usage: coapmx <command> [options]\n"
    "  list [FILTER...] [--transport T] [--lane L]    the matrix cells, one per line\n"
    "  list --why                                     the rows an IUT has no cell for, and why\n"
    "  run  [FILTER...] [--transport T] [--lane L] [--report DIR] [-j N] [--timeout S]\n"
    "       [--keep-pcaps] [--exact CELL] [--quiet]   run cells; write DIR/summary.md,\n"
    "       [--seed N] [--protocol ack_timeout_ms=2000,max_retransmit=4,nstart=1,...]\n"
    "       [--wrap 'CMD ARGS'] [--shard K/N]         junit.xml, results.tap, cells/;\n"
    "       [--fail-fast] [--cells FILE]              --wrap runs each cell under CMD;\n"
    "                                                 --fail-fast starts no cell after one\n"
    "                                                 fails (the rest: skipped, saying so);\n"
    "                                                 --cells: the cells FILE names, a line\n"
    "                                                 each\n"
    "  pcap [--json] [--absolute] [--port N]... FILE  every frame of any capture, streamed:\n"
    "                                                 CoAP on 5683 and --port N, DTLS on 5684;\n"
    "                                                 exit 1: reading stopped early, 2: no "
    "capture\n"
    "  pcap --payloads DIR FILE...                    each UDP payload into a file in DIR\n"
    "  check [--port N|any]... FILE | --list          ETSI plugtest verdicts (TD_COAP_CORE_01-23,\n"
    "                                                 31, TD_COAP_BLOCK_01-06) on any capture;\n"
    "                                                 exit 1: a TD failed, 2: no capture\n"
    "  get  [--transport T] [--non] [--timeout MS] URI  a request with the stack under test\n"
    "  serve [--transport T] [--bind ADDR] [--port P] [--for SECONDS]\n"
    "                                                 serve /hello, /whoami, /local\n"
    "  report --merge DIR... [--report OUT]           the reports of shards (run --shard K/N)\n"
    "                                                 as one\n"
    "  transports [--names | --ours | --third-party | IUT]\n"
    "                                                 every IUT (our transports and third-party\n"
    "                                                 stacks) and what it claims: its PICS;\n"
    "                                                 or only the names: all, ours, theirs\n"
    "  transports --coverage-report IUT              the lines of a third-party stack its\n"
    "                                                 cells reached (scripts/coverage)\n"
    "  rows [ROW...] [--check] [--spec FILE]          the behaviour specification: each row,\n"
    "                                                 its scenarios, where they apply and why\n"
    "                                                 not; --check: spec and scenarios agree\n"
    "A FILTER is a glob (with * ? [) or a substring of the cell name\n"
    "<iut>/<scenario>/<address kind>@<lane>; a cell runs if any filter matches.\n"
    "--transport T takes any IUT's name (coapmx transports --names).\n";

const char *coapmx_self_path(char *buf, size_t cap)
{
    /* valgrind answers this readlink with its client's path. */
    ssize_t len = readlink("/proc/self/exe", buf, cap - 1);
    if (len <= 0)
        return NULL;
    buf[len] = '\0';
    return buf;
}

static int list_why(const struct coapmx_registry *registry);

static int cmd_list(const struct coapmx_registry *registry, int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "--why") == 0)
        return list_why(registry);
    struct runner_options opt;
    struct cell_list cells;
    bool ctest = false;
    const char *root = "ctest-cells";
    if (runner_parse_options(argc, argv, &opt, &ctest, &root) != 0 ||
        runner_select(registry, &opt, &cells) != 0)
        return 2;
    char self[1024];
    if (coapmx_self_path(self, sizeof self) == NULL)
        self[0] = '\0';
    /* A third-party IUT that cannot run here is one ctest test, not one per cell: each would
     * ask whether the stack can run (a Python import: half a second) only to skip. */
    const struct iut_info *unavailable[64];
    size_t unavailable_count = 0;
    for (size_t i = 0; i < cells.count; i++) {
        const struct cell_result *c = &cells.items[i];
        if (!ctest) {
            printf("%s\n", c->name);
            continue;
        }
        const struct iut_info *iut = iut_find(registry, c->transport);
        char why[512];
        if (iut != NULL && iut->ops == NULL && !iut_available(iut, why, sizeof why)) {
            if (unavailable_count == 0 || unavailable[unavailable_count - 1] != iut)
                if (unavailable_count < sizeof unavailable / sizeof unavailable[0])
                    unavailable[unavailable_count++] = iut;
            continue;
        }
        /* CTestTestfile syntax: one test per cell, named like the cell. */
        char stem[CELL_NAME_MAX];
        artifact_stem(c->name, stem, sizeof stem);
        printf("add_test([=[%s]=] \"%s\" run --exact [=[%s]=] --report \"%s/%s\" --quiet)\n",
               c->name, self, c->name, root, stem);
        printf("set_tests_properties([=[%s]=] PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120 "
               "LABELS \"cell;%s;%s\")\n",
               c->name, c->transport, c->lane);
    }
    for (size_t i = 0; i < unavailable_count; i++) {
        const char *name = unavailable[i]->name;
        printf("add_test([=[%s/every-cell]=] \"%s\" run --transport [=[%s]=] --report "
               "\"%s/%s\" --quiet)\n",
               name, self, name, root, name);
        printf("set_tests_properties([=[%s/every-cell]=] PROPERTIES SKIP_RETURN_CODE 77 "
               "TIMEOUT 1200 LABELS \"cell;%s\")\n",
               name, name);
    }
    cell_list_free(&cells);
    return 0;
}

static int cmd_run(const struct coapmx_registry *registry, int argc, char **argv)
{
    struct runner_options opt;
    struct cell_list cells;
    if (runner_parse_options(argc, argv, &opt, NULL, NULL) != 0 ||
        runner_select(registry, &opt, &cells) != 0)
        return 2;
    int rc = runner_run(registry, &opt, &cells);
    cell_list_free(&cells);
    return rc;
}

static const struct coapmx_transport_ops *transport_option(const struct coapmx_registry *registry,
                                                           const char *name)
{
    const struct coapmx_transport_ops *ops = coapmx_registry_find(registry, name);
    if (ops == NULL)
        fprintf(stderr, "coapmx: unknown transport '%s' (see `coapmx transports`)\n", name);
    return ops;
}

static void print_message(const struct coapmx_message *m)
{
    char code[16];
    printf("%s %s from %s (local %s), %zu bytes of payload\n", coap_type_name(m->msg.type),
           coap_code_str(m->msg.code, code, sizeof code), m->remote.hostinfo,
           m->remote.hostinfo_local[0] ? m->remote.hostinfo_local : "unknown", m->msg.payload_len);
    if (m->msg.payload_len > 0) {
        fwrite(m->msg.payload, 1, m->msg.payload_len, stdout);
        printf("\n");
    }
}

int coapmx_parse_number(const char *text, unsigned long max, unsigned long *out)
{
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        return -1;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

static int bad_option(const char *cmd, const char *option, const char *value)
{
    fprintf(stderr, "coapmx %s: bad option %s%s%s\n", cmd, option, value ? " " : "",
            value ? value : "");
    return 2;
}

static int cmd_get(const struct coapmx_registry *registry, int argc, char **argv)
{
    const char *transport = "udp6", *uri = NULL;
    enum coap_type type = COAP_CON;
    unsigned long timeout_ms = 10000;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--transport") == 0 && v)
            transport = argv[++i];
        else if (strcmp(argv[i], "--non") == 0)
            type = COAP_NON;
        else if (strcmp(argv[i], "--timeout") == 0 && v &&
                 coapmx_parse_number(v, 3600000, &timeout_ms) == 0 && timeout_ms > 0)
            i++;
        else if (argv[i][0] == '-' || uri != NULL)
            return bad_option("get", argv[i], v);
        else
            uri = argv[i];
    }
    const struct coapmx_transport_ops *ops = transport_option(registry, transport);
    if (uri == NULL || ops == NULL) {
        fputs(usage, stderr);
        return 2;
    }
    struct coapmx_error err;
    struct coapmx_loop *loop = coapmx_loop_new(NULL);
    struct coapmx_transport_config config = {.role = COAPMX_ROLE_CLIENT};
    struct coapmx_transport *t = coapmx_transport_open(ops, loop, &config, &err);
    struct coapmx_endpoint_config ec = {0};
    struct coapmx_endpoint *ep = t ? coapmx_endpoint_new(t, &ec, &err) : NULL;
    struct coapmx_message *resp = malloc(sizeof *resp);
    struct coapmx_request req = {.type = type, .method = COAP_GET, .uri = uri};
    int rc = ep && resp ? coapmx_request_wait(ep, &req, resp, timeout_ms, &err) : -1;
    if (rc == 0)
        print_message(resp);
    else
        fprintf(stderr, "coapmx get: %s: %s\n", coapmx_err_name(err.code), err.message);
    free(resp);
    coapmx_endpoint_free(ep);
    coapmx_transport_close(t);
    coapmx_loop_free(loop);
    return rc == 0 ? 0 : 1;
}

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static bool stop_done(void *arg)
{
    (void)arg;
    return stop_requested != 0;
}

static void serve_handler(void *arg, const struct coapmx_message *req, struct coapmx_reply *reply)
{
    static char text[COAPMX_HOSTINFO_MAX];
    char path[256];
    (void)arg;
    coap_msg_join_options(&req->msg, COAP_OPT_URI_PATH, '/', path, sizeof path);
    const char *body = NULL;
    if (strcmp(path, "hello") == 0)
        body = "hello";
    else if (strcmp(path, "whoami") == 0)
        body = req->remote.hostinfo;
    else if (strcmp(path, "local") == 0)
        body = req->remote.hostinfo_local;
    if (body == NULL)
        return; /* 4.04 */
    snprintf(text, sizeof text, "%s", body);
    reply->code = COAP_CONTENT;
    reply->payload = (const uint8_t *)text;
    reply->payload_len = strlen(text);
}

static int cmd_serve(const struct coapmx_registry *registry, int argc, char **argv)
{
    const char *transport = "udp6";
    struct coapmx_transport_config config = {.role = COAPMX_ROLE_SERVER};
    unsigned long seconds = 3600;
    unsigned long port = 0;
    for (int i = 0; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--transport") == 0 && v)
            transport = v;
        else if (strcmp(argv[i], "--bind") == 0 && v)
            config.bind_host = v;
        else if (strcmp(argv[i], "--port") == 0 && coapmx_parse_number(v, 65535, &port) == 0)
            config.bind_port = (uint16_t)port;
        else if (strcmp(argv[i], "--for") == 0 && coapmx_parse_number(v, 86400, &seconds) == 0)
            continue;
        else
            return bad_option("serve", argv[i], v);
    }
    const struct coapmx_transport_ops *ops = transport_option(registry, transport);
    if (ops == NULL)
        return 2;
    struct coapmx_error err;
    struct coapmx_loop *loop = coapmx_loop_new(NULL);
    struct coapmx_transport *t = coapmx_transport_open(ops, loop, &config, &err);
    struct coapmx_endpoint_config ec = {.handler = serve_handler};
    struct coapmx_endpoint *ep = t ? coapmx_endpoint_new(t, &ec, &err) : NULL;
    if (ep == NULL) {
        fprintf(stderr, "coapmx serve: %s: %s\n", coapmx_err_name(err.code), err.message);
        coapmx_transport_close(t);
        coapmx_loop_free(loop);
        return 1;
    }
    signal(SIGINT, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    fprintf(stderr, "coapmx serve: %s serving /hello, /whoami, /local for up to %lu s\n", ops->name,
            seconds);
    coapmx_loop_run_until(loop, stop_done, NULL, (uint64_t)seconds * 1000);
    fprintf(stderr, "coapmx serve: served %llu requests\n",
            (unsigned long long)coapmx_endpoint_stats(ep)->requests_served);
    coapmx_endpoint_free(ep);
    coapmx_transport_close(t);
    coapmx_loop_free(loop);
    return 0;
}

/* "--port N" / "--port any" at argv[*i] into ports; false (with a message) when N is no port. */
static bool parse_port_option(const char *cmd, char **argv, int argc, int *i, bool *every_port,
                              uint16_t *ports, size_t *count, size_t max)
{
    if (strcmp(argv[*i + 1], "any") == 0) {
        *every_port = true;
        (*i)++;
        return true;
    }
    char *end;
    errno = 0;
    const char *text = argv[++*i];
    unsigned long port = strtoul(text, &end, 10);
    (void)argc;
    if (*text == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535) {
        fprintf(stderr, "coapmx %s: --port %s: not a port number (1-65535, or any)\n", cmd, text);
        return false;
    }
    if (*count == max) {
        fprintf(stderr, "coapmx %s: at most %zu --port options\n", cmd, max);
        return false;
    }
    ports[(*count)++] = (uint16_t)port;
    return true;
}

static int cmd_check(int argc, char **argv)
{
    struct check_options opt = {0};
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--list") == 0) {
            opt.list = true;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            if (!parse_port_option("check", argv, argc, &i, &opt.every_port, opt.ports,
                                   &opt.port_count, sizeof opt.ports / sizeof opt.ports[0]))
                return 2;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "coapmx check: unknown option %s\n%s", argv[i], usage);
            return 2;
        } else if (path != NULL) {
            fprintf(stderr, "coapmx check: one capture at a time (%s, then %s)\n", path, argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (path == NULL && !opt.list) {
        fprintf(stderr, "coapmx check: which capture?\n%s", usage);
        return 2;
    }
    return check_file(path, &opt, stdout, stderr);
}

static int cmd_pcap(int argc, char **argv)
{
    struct inspect_options opt = {0};
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            opt.json = true;
        } else if (strcmp(argv[i], "--absolute") == 0) {
            opt.absolute = true;
        } else if (strcmp(argv[i], "--svg") == 0) {
            opt.svg = true;
        } else if (strcmp(argv[i], "--hosts") == 0 && i + 1 < argc) {
            opt.hosts = argv[++i];
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            if (!parse_port_option("pcap", argv, argc, &i, &opt.every_port, opt.ports,
                                   &opt.port_count, INSPECT_MAX_PORTS))
                return 2;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "coapmx pcap: unknown option %s\n%s", argv[i], usage);
            return 2;
        } else if (path != NULL) {
            fprintf(stderr, "coapmx pcap: one capture at a time (%s, then %s)\n", path, argv[i]);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        fprintf(stderr, "coapmx pcap: which capture?\n%s", usage);
        return 2;
    }
    return (int)inspect_file(path, &opt, stdout, stderr);
}

/* Each UDP payload of each capture into its own file, DIR/<capture>-<n>-v4|v6: seeds for the
 * fuzz targets (scripts/fuzz). */
static int cmd_pcap_payloads(const char *dir, int count, char **paths)
{
    for (int i = 0; i < count; i++) {
        struct wire_capture cap;
        char err[512], path[2048];
        if (wire_capture_load(paths[i], &cap, err, sizeof err) != 0) {
            fprintf(stderr, "coapmx pcap: %s: %s\n", paths[i], err);
            return 1;
        }
        const char *base = strrchr(paths[i], '/') ? strrchr(paths[i], '/') + 1 : paths[i];
        for (size_t n = 0; n < cap.count; n++) {
            const struct wire_datagram *dg = &cap.items[n];
            if (dg->kind != WIRE_UDP)
                continue;
            snprintf(path, sizeof path, "%s/%s-%zu-%s", dir, base, n,
                     dg->family == AF_INET ? "v4" : "v6");
            FILE *f = fopen(path, "wb");
            bool ok = f != NULL && fwrite(dg->payload, 1, dg->payload_len, f) == dg->payload_len;
            if (f == NULL || fclose(f) != 0 || !ok) {
                fprintf(stderr, "coapmx pcap: cannot write %s\n", path);
                wire_capture_free(&cap);
                return 1;
            }
        }
        wire_capture_free(&cap);
    }
    return 0;
}

/* Position of a cell in the whole matrix (all lanes, no filter), for putting merged shards back
 * in the order one run would have; cells this build does not know go last, by name. */
static size_t matrix_position(const struct cell_list *matrix, const char *name)
{
    for (size_t i = 0; i < matrix->count; i++)
        if (strcmp(matrix->items[i].name, name) == 0)
            return i;
    return matrix->count;
}

static const struct cell_list *sort_matrix;

static int by_matrix_position(const void *a, const void *b)
{
    const struct cell_result *x = a, *y = b;
    size_t px = matrix_position(sort_matrix, x->name), py = matrix_position(sort_matrix, y->name);
    return px != py ? (px < py ? -1 : 1) : strcmp(x->name, y->name);
}

/* `coapmx report --merge DIR... [--report OUT]`: the reports of several shards as one, with
 * the lane agreement computed over all of them. A cell in two shards is an error. */
static int cmd_report(const struct coapmx_registry *registry, int argc, char **argv)
{
    const char *out_dir = "report";
    const char *dirs[256];
    size_t dir_count = 0;
    bool merge = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--merge") == 0)
            merge = true;
        else if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
            out_dir = argv[++i];
        else if (argv[i][0] != '-' && dir_count < 256)
            dirs[dir_count++] = argv[i];
        else
            return bad_option("report", argv[i], NULL);
    }
    if (!merge || dir_count == 0) {
        fprintf(stderr, "usage: coapmx report --merge DIR... [--report OUT]\n");
        return 2;
    }
    struct cell_result *all = NULL;
    size_t count = 0;
    struct report_totals totals = {0};
    int rc = 0;
    for (size_t d = 0; d < dir_count && rc == 0; d++) {
        char path[1200], err[512];
        struct cell_result *part;
        size_t n;
        double wall;
        snprintf(path, sizeof path, "%s/cells.tsv", dirs[d]);
        if (report_read_cells(path, &part, &n, &wall, err, sizeof err) != 0) {
            fprintf(stderr, "coapmx report: %s\n", err);
            rc = 1;
            break;
        }
        struct cell_result *bigger = realloc(all, (count + n + 1) * sizeof *bigger);
        if (bigger == NULL) {
            free(part);
            rc = 1;
            break;
        }
        all = bigger;
        for (size_t i = 0; i < n && rc == 0; i++) {
            for (size_t k = 0; k < count && rc == 0; k++)
                if (strcmp(all[k].name, part[i].name) == 0) {
                    fprintf(stderr, "coapmx report: %s is in two of the reports (%s among them)\n",
                            part[i].name, dirs[d]);
                    rc = 1;
                }
            /* paths stay valid from the merged report: relative to it, not to the shard */
            char rebased[sizeof part[i].pcap];
            for (char *field = part[i].pcap; rc == 0 && field != NULL;
                 field = field == part[i].pcap ? part[i].output : NULL) {
                if (field[0] == '\0')
                    continue;
                int len = snprintf(rebased, sizeof rebased, "%s/%s", dirs[d], field);
                if (len > 0 && (size_t)len < sizeof rebased)
                    memcpy(field, rebased, (size_t)len + 1);
            }
            all[count++] = part[i];
        }
        free(part);
        if (wall > totals.wall_seconds) /* shards run side by side */
            totals.wall_seconds = wall;
    }
    struct runner_options everything = {.report_dir = out_dir};
    struct cell_list matrix = {0};
    if (rc == 0 && runner_select(registry, &everything, &matrix) == 0) {
        sort_matrix = &matrix;
        qsort(all, count, sizeof *all, by_matrix_position);
    }
    for (size_t i = 0; i < count; i++) {
        report_totals_add(&totals, all[i].status);
    }
    if (rc == 0 &&
        (artifact_mkdir_p(out_dir) != 0 || report_write(out_dir, all, count, &totals) != 0)) {
        fprintf(stderr, "coapmx report: cannot write %s: %s\n", out_dir, strerror(errno));
        rc = 1;
    }
    if (rc == 0)
        printf("coapmx report: %zu cells from %zu reports in %s: %zu pass, %zu fail, %zu skip, "
               "%zu error\n",
               count, dir_count, out_dir, totals.pass, totals.fail, totals.skip, totals.error);
    cell_list_free(&matrix);
    free(all);
    if (rc != 0)
        return rc;
    return report_totals_failed(&totals) ? 1 : 0;
}

/* Every IUT's PICS in the one format: ours from their ops, third parties' from their files. */
static int cmd_transports(const struct coapmx_registry *registry, int argc, char **argv)
{
    size_t n;
    const struct iut_info *const *iuts = iut_all(registry, &n);
    if (argc == 2 && strcmp(argv[0], "--coverage-report") == 0) {
        const struct iut_info *iut = iut_find(registry, argv[1]);
        if (iut == NULL || iut->coverage_report[0] == '\0') {
            fprintf(stderr, "coapmx: %s: %s\n", argv[1],
                    iut == NULL ? "no such IUT" : "its PICS has no coverage-report");
            return 1;
        }
        char command[1024];
        iut_expand(iut, iut->coverage_report, command, sizeof command);
        fflush(NULL);
        int status = system(command);
        return status == 0 ? 0 : 1;
    }
    const char *only = argc == 1 ? argv[0] : "";
    bool ours = strcmp(only, "--ours") == 0, theirs = strcmp(only, "--third-party") == 0;
    bool names = ours || theirs || strcmp(only, "--names") == 0;
    for (size_t i = 0; i < n; i++) {
        if (argc > 0 && !names && strcmp(argv[0], iuts[i]->name) != 0)
            continue;
        if ((ours && iuts[i]->ops == NULL) || (theirs && iuts[i]->ops != NULL))
            continue;
        if (names) {
            printf("%s\n", iuts[i]->name);
            continue;
        }
        printf("%s# %s\n", i ? "\n" : "",
               iuts[i]->ops != NULL ? "one of coapmx's transports, in the cell's process"
                                    : iuts[i]->pics_path);
        iut_print_pics(stdout, iuts[i]);
    }
    return 0;
}

/* `list --why`: every row that has no cell for an IUT, and why; then the share of rows that
 * apply to the third-party IUTs. */
static int list_why(const struct coapmx_registry *registry)
{
    size_t n, external = 0, applying = 0, possible = 0;
    const struct iut_info *const *iuts = iut_all(registry, &n);
    for (size_t i = 0; i < n; i++) {
        char why[512];
        if (!iut_available(iuts[i], why, sizeof why))
            printf("%s: every cell is skipped: %s\n", iuts[i]->name, why);
        for (size_t s = 0; s < all_scenarios.count; s++) {
            const char *na = scenario_not_applicable(all_scenarios.items[s], iuts[i]);
            if (na != NULL)
                printf("%s/%s: n/a: %s\n", iuts[i]->name, all_scenarios.items[s]->id, na);
            if (iuts[i]->ops == NULL) {
                possible++;
                applying += na == NULL;
            }
        }
        external += iuts[i]->ops == NULL;
    }
    if (external > 0)
        printf("rows with cells for the %zu third-party IUTs: %zu of %zu (%.0f %%)\n", external,
               applying, possible, 100.0 * (double)applying / (double)possible);
    return 0;
}

int coapmx_main(int argc, char **argv, const struct coapmx_registry *registry)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "list") == 0)
        return cmd_list(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "pcap") == 0 && argc > 4 && strcmp(argv[2], "--payloads") == 0)
        return cmd_pcap_payloads(argv[3], argc - 4, argv + 4);
    if (strcmp(cmd, "pcap") == 0)
        return cmd_pcap(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "get") == 0)
        return cmd_get(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "transports") == 0)
        return cmd_transports(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "rows") == 0)
        return spec_main(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "__preload") == 0) /* for scripts/bench: socket_wrapper's libraries */
        return puts(COAPMX_SANITIZER_PRELOAD COAPMX_NSS_WRAPPER_SO ":" COAPMX_SOCKET_WRAPPER_SO) <
               0;
    if (strcmp(cmd, "__lane-run") == 0)
        return cmd_run(registry, argc - 2, argv + 2);
    if (strcmp(cmd, "__cell") == 0)
        return cell_main(registry, argc - 1, argv + 1);
    if (strcmp(cmd, "__peer") == 0)
        return peer_main(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    fputs(usage, stderr);
    return 2;
}
