/* A third-party stack as an IUT: its driver process, spoken to in JSON lines
 * (transports/drivers/PROTOCOL.md). The driver runs in the cell's network (it inherits the
 * cell's namespace, or its socket_wrapper environment) and on a clock of libfaketime: the real
 * one, sped up where its PICS says so, which the harness can move on. Whatever the driver does
 * (garbage, silence, a crash, an exit with requests pending) becomes the IUT's trouble, which fails
 * the cell with a message naming the IUT; no wait on it is unbounded. */
#include "iut_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../transports/addr.h"
#include "json.h"
#include "report.h"

#define DRIVER_HELLO_MS     15000 /* an interpreter's start on a loaded machine */
#define DRIVER_CALL_MS      5000
#define DRIVER_QUIT_MS      2000
#define DRIVER_LINE_MAX     (1u << 20) /* a 64 KiB payload in hex, and room */
#define DRIVER_MAX_REQUESTS 64
#define DRIVER_MAX_WORDS    32

struct driver_request {
    int64_t id; /* the id of its request command */
    struct iut_endpoint *ep;
    coapmx_response_cb cb;
    void *arg;
    bool answered; /* a unicast request has had its response: done for the caller */
};

struct driver {
    pid_t pid;
    int pidfd;
    int to_driver, from_driver;
    char *in;
    size_t in_len;
    int64_t next_id;
    int64_t awaiting; /* the command whose reply is awaited, 0: none */
    bool replied;
    struct json_doc *line_doc, *reply_doc;
    const struct json *reply;
    struct driver_request requests[DRIVER_MAX_REQUESTS];
    size_t request_count;
    bool quitting, gone;
    struct coapmx_message *message; /* what a response event becomes, for the callback */
    /* Events that came while a reply was awaited: handled after it, so that no callback runs
     * inside a call (and a callback may make calls of its own). */
    char *deferred;
    size_t deferred_len;
    bool flushing;
    uint64_t flush_timer;
    /* libfaketime reads the driver's clock from this file on every call: "+<offset> x<rate>".
     * Moving the offset on is the driver's virtual clock (iut_advance_clock). */
    char clock_dir[PATH_MAX], clock_file[PATH_MAX + sizeof "/clock"];
    uint64_t clock_offset_s;
    unsigned clock_rate;
};

static void trouble(struct iut *iut, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first trouble is the one reported: what follows is usually its consequence. */
static void trouble(struct iut *iut, const char *fmt, ...)
{
    if (iut->trouble[0] != '\0')
        return;
    char what[IUT_TROUBLE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(iut->trouble, sizeof iut->trouble, "the driver of %s %.400s", iut->info->name, what);
    report_safe_text(iut->trouble, sizeof iut->trouble);
    fprintf(stderr, "coapmx: %s\n", iut->trouble);
}

static struct driver *driver_of(const struct iut *iut)
{
    return iut->driver;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- the process ---- */

/* The driver's command line: the words of the PICS `driver` (`coverage-driver` when measuring
 * coverage), placeholders expanded. */
static size_t driver_words(const struct iut_info *info, char *storage, size_t cap, char **words)
{
    bool measured = iut_coverage_dir()[0] != '\0' && info->coverage_driver[0] != '\0';
    iut_expand(info, measured ? info->coverage_driver : info->driver, storage, cap);
    size_t n = 0;
    for (char *w = strtok(storage, " \t"); w != NULL && n + 1 < DRIVER_MAX_WORDS;
         w = strtok(NULL, " \t"))
        words[n++] = w;
    words[n] = NULL;
    return n;
}

/* The driver's LD_PRELOAD: the lane's wrappers without a sanitizer runtime (drivers are not
 * built with sanitizers, and an interpreter is no place for one), plus libfaketime, which gives
 * every driver a clock the harness can move on (its rate: the PICS speedup). */
static void driver_environment(const struct iut *iut)
{
    const char *preload = getenv("LD_PRELOAD");
    char value[2048] = "";
    if (preload != NULL) {
        size_t prefix = strlen(COAPMX_SANITIZER_PRELOAD);
        if (prefix > 0 && strncmp(preload, COAPMX_SANITIZER_PRELOAD, prefix) == 0)
            preload += prefix;
        snprintf(value, sizeof value, "%s", preload);
    }
    size_t len = strlen(value);
    snprintf(value + len, sizeof value - len, "%s%s", len ? ":" : "", COAPMX_FAKETIME_SO);
    setenv("LD_PRELOAD", value, 1);
    unsetenv("FAKETIME");
    setenv("FAKETIME_TIMESTAMP_FILE", driver_of(iut)->clock_file, 1);
    setenv("FAKETIME_NO_CACHE", "1", 1); /* a move of the clock counts at once */
    /* The clocks a stack times with: libfaketime moves the monotonic one too. */
    unsetenv("FAKETIME_DONT_FAKE_MONOTONIC");
    unsetenv("ASAN_OPTIONS");
    unsetenv("UBSAN_OPTIONS");
    setenv("COAPMX_IUT", iut->info->name, 1);
}

/* Writes the driver's clock: a new file renamed over the old, so that libfaketime never reads
 * half of one. */
static int write_clock(struct driver *d)
{
    char next[sizeof d->clock_file + sizeof ".next"], spec[48];
    snprintf(next, sizeof next, "%s.next", d->clock_file);
    int len = snprintf(spec, sizeof spec, "+%llu x%u\n", (unsigned long long)d->clock_offset_s,
                       d->clock_rate);
    int fd = open(next, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    bool written = write(fd, spec, (size_t)len) == len;
    if (close(fd) != 0 || !written || rename(next, d->clock_file) != 0) {
        unlink(next);
        return -1;
    }
    return 0;
}

static void remove_clock(struct driver *d)
{
    if (d->clock_dir[0] == '\0')
        return;
    unlink(d->clock_file);
    rmdir(d->clock_dir);
    d->clock_dir[0] = '\0';
}

static void exec_driver(const struct iut *iut, int in, int out)
{
    char storage[1024];
    char *words[DRIVER_MAX_WORDS];
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a driver never outlives its cell */
    if (dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0)
        _exit(126);
    /* Nothing of the cell's but its log (stderr) reaches the driver. */
    syscall(SYS_close_range, 3u, ~0u, 0u);
    driver_environment(iut);
    signal(SIGPIPE, SIG_DFL);
    if (driver_words(iut->info, storage, sizeof storage, words) == 0)
        _exit(127);
    execvp(words[0], words);
    fprintf(stderr, "coapmx: cannot run the driver of %s (%s): %s\n", iut->info->name, words[0],
            strerror(errno));
    _exit(127);
}

static void describe_exit(int status, char *buf, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(buf, cap, "was killed by signal SIG%s%s",
                 sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?",
                 WCOREDUMP(status) ? " (core dumped)" : "");
    else
        snprintf(buf, cap, "exited with status %d", WEXITSTATUS(status));
}

static size_t requests_pending(const struct driver *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->request_count; i++)
        n += !d->requests[i].answered;
    return n;
}

/* Its output ended: the process is gone or going. */
static void driver_gone(struct iut *iut)
{
    struct driver *d = driver_of(iut);
    if (d->gone)
        return;
    d->gone = true;
    coapmx_loop_unwatch(iut->loop, d->from_driver);
    if (d->quitting)
        return;
    int status = 0;
    struct pollfd pfd = {.fd = d->pidfd, .events = POLLIN};
    char how[96] = "closed its output";
    if (d->pidfd >= 0 && poll(&pfd, 1, DRIVER_QUIT_MS) == 1 &&
        waitpid(d->pid, &status, 0) == d->pid) {
        describe_exit(status, how, sizeof how);
        d->pid = 0;
    }
    size_t pending = requests_pending(d);
    if (pending > 0)
        trouble(iut, "%s with %zu request%s pending", how, pending, pending == 1 ? "" : "s");
    else
        trouble(iut, "%s unasked", how);
}

/* ---- writing commands ---- */

static int send_line(struct iut *iut, const char *line, size_t len)
{
    struct driver *d = driver_of(iut);
    double deadline = wall_ms() + DRIVER_CALL_MS;
    size_t done = 0;
    while (done < len && !d->gone) {
        ssize_t n = write(d->to_driver, line + done, len - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            trouble(iut, "stopped reading its input (%s)", strerror(errno));
            return -1;
        }
        struct pollfd pfd = {.fd = d->to_driver, .events = POLLOUT};
        int left = (int)(deadline - wall_ms());
        if (left <= 0 || poll(&pfd, 1, left) <= 0) {
            trouble(iut, "has not read its input for %d ms", DRIVER_CALL_MS);
            return -1;
        }
    }
    return d->gone ? -1 : 0;
}

/* A command being written: "{"id":N,"op":"...", ...}". */
struct command {
    FILE *f;
    char *text;
    size_t len;
    int64_t id;
};

static void command_begin(struct iut *iut, struct command *c, const char *op)
{
    struct driver *d = driver_of(iut);
    c->text = NULL;
    c->len = 0;
    c->id = ++d->next_id;
    c->f = open_memstream(&c->text, &c->len);
    if (c->f != NULL)
        fprintf(c->f, "{\"id\":%lld,\"op\":\"%s\"", (long long)c->id, op);
}

static void command_string(struct command *c, const char *key, const char *value)
{
    if (c->f == NULL || value == NULL)
        return;
    fprintf(c->f, ",\"%s\":", key);
    json_write_string(c->f, value, strlen(value));
}

static void command_number(struct command *c, const char *key, long long value)
{
    if (c->f != NULL)
        fprintf(c->f, ",\"%s\":%lld", key, value);
}

/* Drops a built command unsent. */
static void command_discard(struct command *c)
{
    if (c->f != NULL)
        fclose(c->f);
    free(c->text);
}

/* Sends a built command, unless the driver is already in trouble; frees it either way. */
static int command_send(struct iut *iut, struct command *c)
{
    if (iut->trouble[0] != '\0') {
        command_discard(c);
        return -1;
    }
    if (c->f == NULL)
        return -1; /* LCOV_EXCL_LINE: OutOfMemory */
    fputs("}\n", c->f);
    int rc = fclose(c->f) == 0 ? send_line(iut, c->text, c->len) : -1;
    free(c->text);
    return rc;
}

/* ---- reading ---- */

static struct driver_request *request_by_id(struct driver *d, int64_t id)
{
    for (size_t i = 0; i < d->request_count; i++)
        if (d->requests[i].id == id)
            return &d->requests[i];
    return NULL;
}

static void forget_request(struct driver *d, struct driver_request *r)
{
    *r = d->requests[--d->request_count];
}

static int err_code_named(const char *name)
{
    for (int code = 0; code < COAPMX_ERR_COUNT; code++)
        if (strcmp(coapmx_err_name((enum coapmx_err)code), name) == 0)
            return code;
    return -1;
}

static int errno_named(const struct json *v)
{
    if (v == NULL)
        return 0;
    if (v->type == JSON_NUMBER)
        return v->number >= 0 && v->number < 4096 ? (int)v->number : 0;
    if (v->type != JSON_STRING)
        return 0;
    for (int e = 1; e < 4096; e++) {
        const char *name = strerrorname_np(e);
        if (name != NULL && strcmp(name, v->string) == 0)
            return e;
    }
    return 0;
}

/* A protocol error object into err; -1 (with trouble) when it is not one. */
static int read_error(struct iut *iut, const struct json *e, struct coapmx_error *err)
{
    const char *code = json_str(e, "code", NULL);
    int value = code != NULL ? err_code_named(code) : -1;
    if (value <= 0) {
        trouble(iut, "reported an error without a code PROTOCOL.md defines (\"%.40s\")",
                code ? code : "");
        coapmx_fail(err, COAPMX_EUNSUPPORTED, 0, "%s", iut->trouble);
        return -1;
    }
    err->code = (enum coapmx_err)value;
    err->sys_errno = errno_named(json_get(e, "errno"));
    snprintf(err->message, sizeof err->message, "%s", json_str(e, "message", ""));
    report_safe_text(err->message, sizeof err->message);
    if (err->message[0] == '\0')
        snprintf(err->message, sizeof err->message, "%s (no message)", code);
    return 0;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9'                 ? c - '0'
           : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                : -1;
}

static int read_hex(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = hex ? strlen(hex) : 0;
    if (n % 2 != 0 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

/* An address object {"hostinfo", "address", "port"}: hostinfo as the stack spells it, or (for a
 * stack without hostinfo) formed from the address and port it reports. Which of the two it is
 * must be what the PICS claims ("hostinfo"): a claim the events contradict would make N4 n/a
 * for a stack that has the notion, or judge a harness-made spelling as the stack's. */
static int read_address(struct iut *iut, const struct json *a, char *hostinfo, size_t cap,
                        struct sockaddr_storage *addr)
{
    const char *native = json_str(a, "hostinfo", NULL), *address = json_str(a, "address", NULL);
    double port = json_num(a, "port", -1);
    memset(addr, 0, sizeof *addr);
    if (a != NULL && (native != NULL) != iut->info->caps.hostinfo) {
        trouble(iut, "says hostinfo = %s in its PICS, but named a remote %s%.300s",
                iut->info->caps.hostinfo ? "yes" : "no",
                native != NULL ? "as hostinfo " : "without a hostinfo",
                native != NULL ? native : "");
        return -1;
    }
    if (address != NULL && port >= 0 && port <= 65535)
        coapmx_sockaddr_from_literal(address, (uint16_t)port, addr);
    if (native != NULL)
        snprintf(hostinfo, cap, "%s", native);
    else if (address != NULL && port >= 0 && port <= 65535)
        coapmx_hostinfo_format(address, (uint16_t)port, hostinfo, cap);
    else
        return -1;
    report_safe_text(hostinfo, cap);
    return 0;
}

static int parse_code(const char *text, uint8_t *code)
{
    unsigned cls, detail;
    char end;
    if (text == NULL || sscanf(text, "%1u.%2u%c", &cls, &detail, &end) != 2 || cls > 7 ||
        detail > 31)
        return -1;
    *code = COAP_CODE(cls, detail);
    return 0;
}

static int parse_type(const char *text)
{
    static const char *const names[] = {"CON", "NON", "ACK", "RST"};
    for (int i = 0; text != NULL && i < 4; i++)
        if (strcmp(text, names[i]) == 0)
            return i;
    return -1;
}

static void on_response(struct iut *iut, const struct json *ev)
{
    struct driver *d = driver_of(iut);
    int64_t id = (int64_t)json_num(ev, "request", 0);
    struct driver_request *r = request_by_id(d, id);
    if (r == NULL) {
        if (id <= 0 || id > d->next_id)
            trouble(iut, "sent a response to request %lld, which it was never given",
                    (long long)id);
        return; /* cancelled: what was in flight is dropped */
    }
    /* The response becomes a datagram, as the stack received it in essence, so that it reads
     * and copies like any other message. */
    struct coapmx_message *m = d->message;
    static uint8_t payload[COAPMX_DATAGRAM_MAX];
    uint8_t block_value[4];
    size_t payload_len = 0;
    struct coap_msg msg;
    uint8_t code;
    memset(&m->remote, 0, sizeof m->remote);
    int type = parse_type(json_str(ev, "type", NULL));
    const struct json *block2 = json_get(ev, "block2");
    if (parse_code(json_str(ev, "code", NULL), &code) != 0 || type < 0 ||
        read_hex(json_str(ev, "payload_hex", ""), payload, sizeof payload - 64, &payload_len) !=
            0 ||
        read_address(iut, json_get(ev, "remote"), m->remote.hostinfo, sizeof m->remote.hostinfo,
                     &m->remote.addr) != 0 ||
        (block2 != NULL &&
         (block2->type != JSON_NUMBER || block2->number < 0 || block2->number >= (1u << 24)))) {
        trouble(iut, "sent a response without a valid code, type, payload_hex, remote or block2");
        return;
    }
    coap_msg_init(&msg, (enum coap_type)type, code, 0);
    if (block2 != NULL)
        coap_msg_add_option(&msg, COAP_OPT_BLOCK2, block_value,
                            coap_uint_encode((uint32_t)block2->number, block_value));
    msg.payload = payload;
    msg.payload_len = payload_len;
    if (coap_encode(&msg, m->raw, sizeof m->raw, &m->raw_len) != COAP_OK ||
        coap_parse(m->raw, m->raw_len, &m->msg) != COAP_OK) {
        trouble(iut, "sent a response that is no CoAP message (%zu bytes)", payload_len);
        return;
    }
    m->remote.addr_len = coapmx_sockaddr_len((const struct sockaddr *)&m->remote.addr);
    m->remote.is_multicast = json_bool(json_get(ev, "remote"), "multicast", false);
    struct sockaddr_storage local;
    if (json_get(ev, "local") == NULL ||
        read_address(iut, json_get(ev, "local"), m->remote.hostinfo_local,
                     sizeof m->remote.hostinfo_local, &local) != 0)
        m->remote.hostinfo_local[0] = '\0';
    bool group = json_bool(ev, "group", false);
    if (r->answered && !group)
        return; /* a unicast request has one response; later copies are the stack's business */
    if (!group)
        r->answered = true;
    if (r->cb != NULL)
        r->cb(r->arg, m, NULL);
}

static void on_done(struct iut *iut, const struct json *ev)
{
    struct driver *d = driver_of(iut);
    int64_t id = (int64_t)json_num(ev, "request", 0);
    struct driver_request *r = request_by_id(d, id);
    if (r == NULL) {
        if (id <= 0 || id > d->next_id)
            trouble(iut, "ended request %lld, which it was never given", (long long)id);
        return;
    }
    struct driver_request copy = *r;
    forget_request(d, r);
    const struct json *e = json_get(ev, "error");
    if (e != NULL && e->type == JSON_OBJECT) {
        struct coapmx_error err = {0};
        read_error(iut, e, &err);
        if (!copy.answered && copy.cb != NULL)
            copy.cb(copy.arg, NULL, &err);
        return;
    }
    if (json_bool(ev, "group", false)) {
        if (copy.cb != NULL)
            copy.cb(copy.arg, NULL, NULL); /* the collection window closed */
        return;
    }
    if (!copy.answered)
        trouble(iut, "ended request %lld without a response or an error", (long long)id);
}

static void on_served(struct iut *iut, const struct json *ev)
{
    int endpoint = (int)json_num(ev, "endpoint", -1);
    struct iut_endpoint *ep = NULL;
    for (size_t i = 0; i < iut->endpoint_count; i++)
        if (iut->endpoints[i]->id == endpoint)
            ep = iut->endpoints[i];
    if (ep == NULL) {
        trouble(iut, "served a request on endpoint %d, which is not open", endpoint);
        return;
    }
    struct iut_served s = {0};
    struct sockaddr_storage addr;
    int type = parse_type(json_str(ev, "type", NULL));
    const char *method = json_str(ev, "method", NULL);
    static const char *const methods[] = {"", "GET", "POST", "PUT", "DELETE"};
    for (uint8_t i = 1; method != NULL && i < 5; i++)
        if (strcmp(method, methods[i]) == 0)
            s.method = i;
    if (type < 0 || s.method == 0 ||
        read_address(iut, json_get(ev, "peer"), s.peer, sizeof s.peer, &addr) != 0) {
        trouble(iut, "reported a served request without a valid type, method or peer");
        return;
    }
    s.type = (enum coap_type)type;
    snprintf(s.path, sizeof s.path, "%s", json_str(ev, "path", ""));
    report_safe_text(s.path, sizeof s.path);
    s.payload_len = (size_t)json_num(ev, "payload_len", 0);
    s.multicast_locally = json_bool(ev, "multicast", false);
    if (json_get(ev, "local") != NULL &&
        read_address(iut, json_get(ev, "local"), s.local, sizeof s.local, &addr) != 0)
        s.local[0] = '\0';
    iut_note_served(ep, &s);
}

static void defer(struct iut *iut, const char *line, size_t len)
{
    struct driver *d = driver_of(iut);
    char *bigger = realloc(d->deferred, d->deferred_len + len + 1);
    if (bigger == NULL) {
        trouble(iut,
                "sent more events than the harness can hold"); /* LCOV_EXCL_LINE: OutOfMemory */
        return;                                                /* LCOV_EXCL_LINE: OutOfMemory */
    }
    d->deferred = bigger;
    memcpy(d->deferred + d->deferred_len, line, len);
    d->deferred[d->deferred_len + len] = '\n';
    d->deferred_len += len + 1;
}

static void handle_line(struct iut *iut, const char *line, size_t len);

/* Handles the deferred events in order; a call a callback makes defers its own events to the
 * end of the same queue. */
static void flush_deferred(struct iut *iut)
{
    struct driver *d = driver_of(iut);
    if (d == NULL || d->flushing)
        return;
    d->flushing = true;
    while (d->deferred_len > 0 && iut->driver != NULL) {
        char *nl = memchr(d->deferred, '\n', d->deferred_len);
        size_t len = (size_t)(nl - d->deferred);
        char *line = malloc(len + 1);
        if (line == NULL)
            break; /* LCOV_EXCL_LINE: OutOfMemory */
        memcpy(line, d->deferred, len);
        memmove(d->deferred, nl + 1, d->deferred_len - len - 1);
        d->deferred_len -= len + 1;
        handle_line(iut, line, len);
        free(line);
    }
    d->flushing = false;
}

static void handle_line(struct iut *iut, const char *line, size_t len)
{
    struct driver *d = driver_of(iut);
    char why[160];
    size_t start = 0;
    while (start < len && (line[start] == ' ' || line[start] == '\t' || line[start] == '\r'))
        start++;
    if (start == len)
        return; /* a blank line says nothing */
    json_free(d->line_doc);
    const struct json *v = json_parse(d->line_doc, line, len, why, sizeof why);
    if (v == NULL || v->type != JSON_OBJECT) {
        char excerpt[96];
        snprintf(excerpt, sizeof excerpt, "%.*s", (int)(len > 80 ? 80 : len), line);
        report_safe_text(excerpt, sizeof excerpt);
        trouble(iut, "wrote a line that is not a JSON object (%s): \"%s\"",
                v == NULL ? why : "another JSON value", excerpt);
        return;
    }
    const struct json *id = json_get(v, "id");
    if (id != NULL) {
        if (d->awaiting == 0 || id->type != JSON_NUMBER || (int64_t)id->number != d->awaiting) {
            trouble(iut, "answered a command it was not asked (id %.0f)",
                    id->type == JSON_NUMBER ? id->number : -1.0);
            return;
        }
        struct json_doc *t = d->reply_doc; /* the reply's tree stays until the next call */
        d->reply_doc = d->line_doc;
        d->line_doc = t;
        d->reply = v;
        d->replied = true;
        d->awaiting = 0;
        return;
    }
    if (d->awaiting != 0) {
        defer(iut, line, len);
        return;
    }
    const char *event = json_str(v, "event", "");
    if (strcmp(event, "response") == 0)
        on_response(iut, v);
    else if (strcmp(event, "done") == 0)
        on_done(iut, v);
    else if (strcmp(event, "served") == 0)
        on_served(iut, v);
    else
        trouble(iut, "sent an event PROTOCOL.md does not define (\"%.40s\")", event);
}

static void on_readable(void *arg, int fd, short revents)
{
    struct iut *iut = arg;
    struct driver *d = driver_of(iut);
    (void)revents;
    if (d->awaiting == 0)
        flush_deferred(iut); /* what came before goes first */
    for (;;) {
        if (d->in_len == DRIVER_LINE_MAX) {
            trouble(iut, "wrote a line longer than %u bytes", DRIVER_LINE_MAX);
            d->in_len = 0;
        }
        ssize_t n = read(fd, d->in + d->in_len, DRIVER_LINE_MAX - d->in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            driver_gone(iut);
            return;
        }
        if (n < 0)
            return;
        size_t scanned = d->in_len;
        d->in_len += (size_t)n;
        char *nl;
        while ((nl = memchr(d->in + scanned, '\n', d->in_len - scanned)) != NULL) {
            size_t line_len = (size_t)(nl - d->in);
            handle_line(iut, d->in, line_len);
            memmove(d->in, nl + 1, d->in_len - line_len - 1);
            d->in_len -= line_len + 1;
            scanned = 0;
            if (d->gone)
                return;
        }
    }
}

/* Waits for the reply to command `id`, handling events meanwhile. The reply, or NULL with
 * trouble (silence, or the driver's end). */
static const struct json *await_reply(struct iut *iut, int64_t id, const char *op, int ms)
{
    struct driver *d = driver_of(iut);
    d->awaiting = id;
    d->replied = false;
    double deadline = wall_ms() + ms;
    while (!d->replied && !d->gone && iut->trouble[0] == '\0') {
        double left = deadline - wall_ms();
        if (left <= 0) {
            trouble(iut, "did not answer '%s' within %d ms", op, ms);
            break;
        }
        struct pollfd pfd = {.fd = d->from_driver, .events = POLLIN};
        /* Only the driver is waited on here, not the cell's loop: the driver's reply follows
         * from the command alone. */
        if (poll(&pfd, 1, (int)left + 1) > 0)
            on_readable(iut, d->from_driver, pfd.revents);
    }
    d->awaiting = 0;
    return d->replied ? d->reply : NULL;
}

static void on_flush_timer(void *arg)
{
    struct iut *iut = arg;
    struct driver *d = driver_of(iut);
    if (d == NULL)
        return;
    d->flush_timer = 0;
    flush_deferred(iut);
}

/* After a call: the events that came meanwhile go to their callbacks from the loop, as the
 * stack's would, never before the call returns. */
static void after_call(struct iut *iut)
{
    struct driver *d = driver_of(iut);
    if (d->deferred_len > 0 && d->flush_timer == 0)
        d->flush_timer = coapmx_loop_timer(iut->loop, 0, on_flush_timer, iut);
}

/* Sends a built command and waits for its reply; NULL with err (and trouble) when there is
 * none. A reply with "ok": false fills err from its error object and also returns NULL. */
static const struct json *call(struct iut *iut, struct command *c, const char *op, int ms,
                               struct coapmx_error *err)
{
    if (command_send(iut, c) != 0) {
        coapmx_fail(err, COAPMX_ENETWORK, 0, "%s", iut->trouble);
        return NULL;
    }
    const struct json *reply = await_reply(iut, c->id, op, ms);
    after_call(iut);
    if (reply == NULL) {
        coapmx_fail(err, COAPMX_ENETWORK, 0, "%s", iut->trouble);
        return NULL;
    }
    if (json_bool(reply, "ok", false))
        return reply;
    const struct json *e = json_get(reply, "error");
    if (e == NULL || e->type != JSON_OBJECT) {
        trouble(iut, "refused '%s' without an error object", op);
        coapmx_fail(err, COAPMX_ENETWORK, 0, "%s", iut->trouble);
    } else {
        read_error(iut, e, err);
    }
    return NULL;
}

/* ---- the kind ---- */

/* Every setting of the timing: as JSON members ("name":value,...) or as log words (name=value). */
static void write_timing(FILE *out, struct coapmx_protocol timing, bool json)
{
    for (size_t i = 0; i < coapmx_protocol_field_count; i++) {
        const struct coapmx_protocol_field *f = &coapmx_protocol_fields[i];
        unsigned v = *coapmx_protocol_value(&timing, f);
        if (json)
            fprintf(out, "%s\"%s\":%u", i ? "," : "", f->name, v);
        else
            fprintf(out, " %s=%u", f->name, v);
    }
}

static int configure(struct iut *iut, struct coapmx_error *err)
{
    struct command c;
    command_begin(iut, &c, "config");
    if (c.f != NULL) {
        fputs(",\"timing\":{", c.f);
        write_timing(c.f, iut->protocol, true);
        fputc('}', c.f);
    }
    const struct json *reply = call(iut, &c, "config", DRIVER_CALL_MS, err);
    if (reply == NULL)
        return -1;
    const struct json *timing = json_get(reply, "timing");
    struct coapmx_protocol in_force = iut->protocol;
    for (size_t i = 0; i < coapmx_protocol_field_count; i++) {
        const struct coapmx_protocol_field *f = &coapmx_protocol_fields[i];
        double v = json_num(timing, f->name, -1);
        if (v < 0 || v > 4e9) {
            trouble(iut, "did not say which %s is in force", f->name);
            return coapmx_fail(err, COAPMX_ENETWORK, 0, "%s", iut->trouble);
        }
        *coapmx_protocol_value(&in_force, f) = (uint32_t)v;
    }
    printf("%s: timing asked", iut->info->name);
    write_timing(stdout, iut->protocol, false);
    printf("; in force:");
    write_timing(stdout, in_force, false);
    printf(" (driver clock, %u times real time)\n", iut->info->speedup);
    iut->protocol = in_force;
    return 0;
}

static int hello(struct iut *iut, struct coapmx_error *err)
{
    struct command c;
    command_begin(iut, &c, "hello");
    command_string(&c, "iut", iut->info->name);
    command_number(&c, "protocol", 1);
    const struct json *reply = call(iut, &c, "hello", DRIVER_HELLO_MS, err);
    if (reply == NULL)
        return -1;
    const struct json *iuts = json_get(reply, "iuts");
    bool listed = false;
    for (const struct json *e = iuts ? iuts->child : NULL; e != NULL; e = e->next)
        listed = listed || (e->type == JSON_STRING && strcmp(e->string, iut->info->name) == 0);
    if (!listed) {
        trouble(iut, "does not list %s among the IUTs it drives", iut->info->name);
        return coapmx_fail(err, COAPMX_ENETWORK, 0, "%s", iut->trouble);
    }
    char stack[96], version[96];
    snprintf(stack, sizeof stack, "%s", json_str(reply, "stack", "?"));
    snprintf(version, sizeof version, "%s", json_str(reply, "version", "?"));
    report_safe_text(stack, sizeof stack);
    report_safe_text(version, sizeof version);
    printf("%s: driver pid %d, %s %s\n", iut->info->name, (int)driver_of(iut)->pid, stack, version);
    return 0;
}

static void free_driver(struct driver *d)
{
    if (d == NULL)
        return;
    if (d->line_doc != NULL)
        json_free(d->line_doc);
    if (d->reply_doc != NULL)
        json_free(d->reply_doc);
    free(d->line_doc);
    free(d->reply_doc);
    free(d->in);
    free(d->message);
    free(d->deferred);
    free(d);
}

static void driver_stop(struct iut *iut);

static int driver_start(struct iut *iut, struct coapmx_error *err)
{
    struct driver *d = calloc(1, sizeof *d);
    int in[2] = {-1, -1}, out[2] = {-1, -1};
    if (d != NULL) {
        d->in = malloc(DRIVER_LINE_MAX);
        d->line_doc = calloc(1, sizeof *d->line_doc);
        d->reply_doc = calloc(1, sizeof *d->reply_doc);
        d->message = malloc(sizeof *d->message);
        d->pidfd = d->to_driver = d->from_driver = -1;
    }
    if (d == NULL || d->in == NULL || d->line_doc == NULL || d->reply_doc == NULL ||
        d->message == NULL) {
        free_driver(d); /* LCOV_EXCL_LINE: OutOfMemory */
        return coapmx_fail(err, COAPMX_ENOMEM, 0,
                           "out of memory"); /* LCOV_EXCL_LINE: OutOfMemory */
    }
    iut->driver = d;
    const char *tmp = getenv("TMPDIR");
    const char *scratch = iut->setup.scratch_dir != NULL ? iut->setup.scratch_dir
                          : tmp != NULL && tmp[0] == '/' ? tmp
                                                         : "/tmp";
    int dir_len = snprintf(d->clock_dir, sizeof d->clock_dir, "%s/driver-clock-XXXXXX", scratch);
    if (dir_len < 0 || (size_t)dir_len >= sizeof d->clock_dir) {
        d->clock_dir[0] = '\0';
        free_driver(d);
        iut->driver = NULL;
        return coapmx_fail(err, COAPMX_EINVAL, 0,
                           "cannot make the clock of the driver of %s: the folder %.60s... is "
                           "too long a path",
                           iut->info->name, scratch);
    }
    if (mkdtemp(d->clock_dir) == NULL) {
        int e = errno;
        d->clock_dir[0] = '\0';
        free_driver(d);
        iut->driver = NULL;
        return coapmx_fail(err, COAPMX_ENETWORK, e,
                           "cannot make the clock of the driver of %s in %s: %s", iut->info->name,
                           scratch, strerror(e));
    }
    snprintf(d->clock_file, sizeof d->clock_file, "%s/clock", d->clock_dir);
    d->clock_rate = iut->info->speedup > 1 ? iut->info->speedup : 1;
    if (write_clock(d) != 0) {
        int e = errno;
        remove_clock(d);
        free_driver(d);
        iut->driver = NULL;
        return coapmx_fail(err, COAPMX_ENETWORK, e,
                           "cannot write the clock of the driver of %s: %s", iut->info->name,
                           strerror(e));
    }
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
        int e = errno;
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0)
                close(in[i]);
            if (out[i] >= 0)
                close(out[i]);
        }
        remove_clock(d);
        free_driver(d);
        iut->driver = NULL;
        return coapmx_fail(err, COAPMX_ENETWORK, e, "cannot start the driver of %s: %s",
                           iut->info->name, strerror(e));
    }
    fflush(NULL); /* or the child would write the cell's pending output again */
    d->pid = fork();
    if (d->pid == 0)
        exec_driver(iut, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    d->to_driver = in[1];
    d->from_driver = out[0];
    if (d->pid < 0) {
        int e = errno;
        d->pid = 0;
        driver_stop(iut);
        return coapmx_fail(err, COAPMX_ENETWORK, e, "cannot fork the driver of %s: %s",
                           iut->info->name, strerror(e));
    }
    d->pidfd = (int)syscall(SYS_pidfd_open, d->pid, 0);
    fcntl(d->to_driver, F_SETFL, O_NONBLOCK);
    fcntl(d->from_driver, F_SETFL, O_NONBLOCK);
    coapmx_loop_watch(iut->loop, d->from_driver, POLLIN, on_readable, iut);
    if (hello(iut, err) != 0 || configure(iut, err) != 0) {
        if (iut->trouble[0] != '\0')
            snprintf(err->message, sizeof err->message, "%.200s", iut->trouble);
        return -1; /* iut_start's caller stops it, and the cell reports the trouble */
    }
    return 0;
}

static void driver_stop(struct iut *iut)
{
    struct driver *d = driver_of(iut);
    if (d == NULL)
        return;
    if (d->flush_timer != 0)
        coapmx_loop_cancel(iut->loop, d->flush_timer);
    if (!d->gone) {
        struct command c;
        struct coapmx_error err;
        d->quitting = true;
        command_begin(iut, &c, "quit");
        if (iut->trouble[0] == '\0')
            call(iut, &c, "quit", DRIVER_QUIT_MS, &err);
        else if (c.f != NULL) {
            fclose(c.f);
            free(c.text);
        }
        coapmx_loop_unwatch(iut->loop, d->from_driver);
    }
    if (d->pid > 0) {
        struct pollfd pfd = {.fd = d->pidfd, .events = POLLIN};
        int status;
        /* A driver in trouble is not waited for; one that lingers after quit is killed. */
        if (iut->trouble[0] != '\0' || d->pidfd < 0 || poll(&pfd, 1, DRIVER_QUIT_MS) != 1)
            kill(d->pid, SIGKILL);
        if (waitpid(d->pid, &status, 0) == d->pid && !WIFEXITED(status))
            printf("%s: driver %s\n", iut->info->name, WIFSIGNALED(status) ? "killed" : "ended");
    }
    if (d->pidfd >= 0)
        close(d->pidfd);
    if (d->to_driver >= 0)
        close(d->to_driver);
    if (d->from_driver >= 0)
        close(d->from_driver);
    remove_clock(d);
    free_driver(d);
    iut->driver = NULL;
}

static void config_fields(struct command *c, const struct coapmx_transport_config *config)
{
    command_string(c, "role", config->role == COAPMX_ROLE_SERVER ? "server" : "client");
    command_string(c, "bind", config->bind_host);
    if (config->bind_port != 0)
        command_number(c, "port", config->bind_port);
    if (config->rx_buffer_size != 0)
        command_number(c, "rx_buffer", (long long)config->rx_buffer_size);
    if (config->max_sockets != 0)
        command_number(c, "max_sockets", (long long)config->max_sockets);
    command_string(c, "groups_interface", config->multicast_interface);
}

static int driver_open(struct iut_endpoint *ep, const struct coapmx_transport_config *config,
                       struct coapmx_error *err)
{
    struct command c;
    ep->id = (int)ep->iut->endpoints_opened + 1;
    command_begin(ep->iut, &c, "open");
    command_number(&c, "endpoint", ep->id);
    config_fields(&c, config);
    return call(ep->iut, &c, "open", DRIVER_CALL_MS, err) != NULL ? 0 : -1;
}

static void fail_requests_of(struct iut_endpoint *ep)
{
    struct driver *d = driver_of(ep->iut);
    for (size_t i = d->request_count; i > 0; i--)
        if (d->requests[i - 1].ep == ep)
            forget_request(d, &d->requests[i - 1]);
}

static void endpoint_command(struct iut_endpoint *ep, const char *op)
{
    struct command c;
    struct coapmx_error err;
    if (ep->iut->driver == NULL || driver_of(ep->iut)->gone)
        return;
    command_begin(ep->iut, &c, op);
    command_number(&c, "endpoint", ep->id);
    call(ep->iut, &c, op, DRIVER_CALL_MS, &err);
}

static void driver_close(struct iut_endpoint *ep)
{
    endpoint_command(ep, "close");
    fail_requests_of(ep);
}

static int64_t driver_request(struct iut_endpoint *ep, const struct coapmx_request *req,
                              coapmx_response_cb cb, void *arg, struct coapmx_error *err)
{
    struct iut *iut = ep->iut;
    struct driver *d = driver_of(iut);
    if (d->request_count == DRIVER_MAX_REQUESTS)
        return coapmx_fail(err, COAPMX_EUNSUPPORTED, 0, "more than %d requests in flight",
                           DRIVER_MAX_REQUESTS);
    static const char *const methods[] = {"", "GET", "POST", "PUT", "DELETE"};
    struct command c;
    command_begin(iut, &c, "request");
    command_number(&c, "endpoint", ep->id);
    command_string(&c, "uri", req->uri);
    command_string(&c, "method", req->method >= 1 && req->method <= 4 ? methods[req->method] : "?");
    command_string(&c, "type", coap_type_name(req->type));
    if (c.f != NULL && req->payload_len > 0) {
        fputs(",\"payload_hex\":\"", c.f);
        for (size_t i = 0; i < req->payload_len; i++)
            fprintf(c.f, "%02x", req->payload[i]);
        fputc('"', c.f);
    }
    if (req->collect_ms != 0)
        command_number(&c, "collect_ms", req->collect_ms);
    if (req->block_szx != 0)
        command_number(&c, "block_szx", req->block_szx);
    if (req->relay_block_option != 0) {
        command_number(&c, "relay_option", req->relay_block_option);
        command_number(&c, "relay_value", req->relay_block_value);
    }
    int64_t id = c.id;
    /* Registered before the call: events may follow the acceptance at once. */
    d->requests[d->request_count++] =
        (struct driver_request){.id = id, .ep = ep, .cb = cb, .arg = arg};
    if (call(iut, &c, "request", DRIVER_CALL_MS, err) == NULL) {
        struct driver_request *r = request_by_id(d, id);
        if (r != NULL)
            forget_request(d, r);
        return -1;
    }
    return id;
}

static void driver_cancel(struct iut_endpoint *ep, int64_t id)
{
    struct driver *d = driver_of(ep->iut);
    struct driver_request *r = request_by_id(d, id);
    if (r == NULL)
        return;
    forget_request(d, r);
    struct command c;
    struct coapmx_error err;
    command_begin(ep->iut, &c, "cancel");
    command_number(&c, "request", id);
    call(ep->iut, &c, "cancel", DRIVER_CALL_MS, &err);
}

static size_t driver_pending(const struct iut_endpoint *ep)
{
    const struct driver *d = driver_of(ep->iut);
    size_t n = 0;
    for (size_t i = 0; i < d->request_count; i++)
        n += d->requests[i].ep == ep && !d->requests[i].answered;
    return n;
}

/* The driver fails the endpoint's pending requests (done events with ESHUTDOWN) before its
 * reply; any it left are the driver's fault. */
static void driver_shutdown(struct iut_endpoint *ep)
{
    endpoint_command(ep, "shutdown");
    /* As our stack's shutdown does, the failed requests' callbacks run before it returns. */
    flush_deferred(ep->iut);
    size_t left = driver_pending(ep);
    if (left > 0 && ep->iut->trouble[0] == '\0')
        trouble(ep->iut, "left %zu request%s pending after shutting its endpoint down", left,
                left == 1 ? "" : "s");
}

/* Moves the driver's clock on by ms at once, then wakes its loop twice: a loop runs what fell
 * due either before the command that woke it (asyncio, libcoap) or after it (libuv), and by the
 * second reply it has. A driver that does not know `sync` still answers, which is all that is
 * needed. */
static int driver_advance_clock(struct iut *iut, uint64_t ms, struct coapmx_error *err)
{
    struct driver *d = driver_of(iut);
    if (d->gone || iut->trouble[0] != '\0')
        return coapmx_fail(err, COAPMX_ENETWORK, 0, "%s", iut->trouble);
    d->clock_offset_s += (ms + 999) / 1000;
    if (write_clock(d) != 0)
        return coapmx_fail(err, COAPMX_ENETWORK, errno,
                           "cannot move the clock of the driver of %s: %s", iut->info->name,
                           strerror(errno));
    for (int i = 0; i < 2; i++) {
        struct command c;
        command_begin(iut, &c, "sync");
        if (call(iut, &c, "sync", DRIVER_CALL_MS, err) == NULL && iut->trouble[0] != '\0')
            return -1;
    }
    return 0;
}

static size_t driver_sockets(const struct iut_endpoint *ep, struct iut_socket *out, size_t max)
{
    const struct driver *d = driver_of(ep->iut);
    return d->pid > 0 && !d->gone ? ep->iut->setup.process_sockets(d->pid, out, max) : 0;
}

const struct iut_kind iut_driver_kind = {
    .start = driver_start,
    .stop = driver_stop,
    .open = driver_open,
    .close = driver_close,
    .request = driver_request,
    .cancel = driver_cancel,
    .pending = driver_pending,
    .shutdown = driver_shutdown,
    .sockets = driver_sockets,
    .advance_clock = driver_advance_clock,
};

int iut_driver_pid(const struct iut *iut)
{
    return iut->driver != NULL && iut->kind == &iut_driver_kind ? driver_of(iut)->pid : 0;
}
