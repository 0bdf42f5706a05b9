#include "iut_internal.h"

#include "../transports/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- profile and capabilities as words (PICS files, `coapmx transports`) ---- */

static const char *const roles_words[] = {"client-only", "client-server", "server"};
static const char *const netloc_words[] = {"requested-name", "ip-literal"};
static const char *const family_words[] = {"first-listed", "v6-first", "socket"};
static const char *const sockets_words[] = {"per-peer-connected", "shared-dualstack",
                                            "bound-unconnected", "per-family-unconnected"};
static const char *const mapped_words[] = {"kept", "dotted-quad"};
static const char *const local_words[] = {"sockname", "pktinfo", "configured"};

#define WORDS(a) a, sizeof a / sizeof a[0]

struct enum_field {
    const char *key;
    const char *const *words;
    size_t count;
    size_t offset;
};

static const struct enum_field enum_fields[] = {
    {"roles", WORDS(roles_words), offsetof(struct coapmx_profile, roles)},
    {"netloc", WORDS(netloc_words), offsetof(struct coapmx_profile, netloc)},
    {"family", WORDS(family_words), offsetof(struct coapmx_profile, family)},
    {"sockets", WORDS(sockets_words), offsetof(struct coapmx_profile, sockets)},
    {"mapped", WORDS(mapped_words), offsetof(struct coapmx_profile, mapped)},
    {"local", WORDS(local_words), offsetof(struct coapmx_profile, local)},
};

struct bool_field {
    const char *key;
    size_t offset;
    bool in_caps; /* a capability rather than a profile property */
};

static const struct bool_field bool_fields[] = {
    {"multicast", offsetof(struct coapmx_profile, multicast), false},
    {"strangers", offsetof(struct coapmx_profile, accepts_strangers), false},
    {"socket-per-spelling", offsetof(struct coapmx_profile, socket_per_spelling), false},
    {"needs-dualstack-for-v4", offsetof(struct coapmx_profile, needs_dualstack_for_v4), false},
    {"icmp-errors", offsetof(struct coapmx_profile, icmp_errors), false},
    {"binds-explicitly", offsetof(struct coapmx_profile, binds_explicitly), false},
    {"binds-names", offsetof(struct coapmx_profile, binds_names), false},
    {"hostinfo", offsetof(struct iut_caps, hostinfo), true},
    {"introspection", offsetof(struct iut_caps, introspection), true},
    {"serves-on-client", offsetof(struct iut_caps, serves_on_client), true},
    {"settable-buffer", offsetof(struct iut_caps, settable_buffer), true},
    {"settable-pool", offsetof(struct iut_caps, settable_pool), true},
    {"relay", offsetof(struct iut_caps, relay), true},
    {"bad-settings", offsetof(struct iut_caps, bad_settings), true},
    {"descriptor-limit", offsetof(struct iut_caps, descriptor_limit), true},
};

static bool *bool_at(struct iut_info *info, const struct bool_field *f)
{
    char *base = f->in_caps ? (char *)&info->caps : (char *)&info->profile;
    return (bool *)(base + f->offset);
}

void iut_print_pics(FILE *out, const struct iut_info *iut)
{
    fprintf(out, "iut = %s\n", iut->name);
    if (iut->ops == NULL) {
        fprintf(out, "driver = %s\n", iut->driver);
        if (iut->available[0])
            fprintf(out, "available = %s\n", iut->available);
        if (iut->speedup > 1)
            fprintf(out, "speedup = %u\n", iut->speedup);
        if (iut->coverage_driver[0])
            fprintf(out, "coverage-driver = %s\n", iut->coverage_driver);
        if (iut->coverage_report[0])
            fprintf(out, "coverage-report = %s\n", iut->coverage_report);
    }
    for (size_t i = 0; i < sizeof enum_fields / sizeof enum_fields[0]; i++) {
        unsigned v = *(const unsigned *)((const char *)&iut->profile + enum_fields[i].offset);
        fprintf(out, "%s = %s\n", enum_fields[i].key,
                v < enum_fields[i].count ? enum_fields[i].words[v] : "?");
    }
    fprintf(out, "client-sockets-at-open = %zu\n", iut->profile.client_sockets_at_open);
    for (size_t i = 0; i < sizeof bool_fields / sizeof bool_fields[0]; i++)
        fprintf(out, "%s = %s\n", bool_fields[i].key,
                *bool_at((struct iut_info *)iut, &bool_fields[i]) ? "yes" : "no");
    for (size_t i = 0; i < iut->xfail_count; i++)
        fprintf(out, "xfail %s = %s\n", iut->xfails[i].cells, iut->xfails[i].reason);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

static int pics_error(char *err, size_t cap, const char *path, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int pics_error(char *err, size_t cap, const char *path, unsigned line, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(err, cap, "%s:%u: %s", path, line, what);
    return -1;
}

/* "key = value" lines; '#' starts a comment line. Every profile property must be given. */
int iut_read_pics(const char *path, struct iut_info *info, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return pics_error(err, err_cap, path, 0, "%s", strerror(errno));
    memset(info, 0, sizeof *info);
    snprintf(info->pics_path, sizeof info->pics_path, "%s", path);
    info->speedup = 1;
    unsigned given = 0, number = 0;
    size_t required = sizeof enum_fields / sizeof enum_fields[0] + 1;
    char line[1024];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        number++;
        char *text = trim(line), *eq = strchr(text, '=');
        if (*text == '\0' || *text == '#')
            continue;
        if (eq == NULL) {
            rc = pics_error(err, err_cap, path, number, "no '=' in \"%.60s\"", text);
            break;
        }
        *eq = '\0';
        char *key = trim(text), *value = trim(eq + 1);
        bool known = false;
        for (size_t i = 0; i < sizeof enum_fields / sizeof enum_fields[0] && !known; i++) {
            if (strcmp(key, enum_fields[i].key) != 0)
                continue;
            known = true;
            unsigned *slot = (unsigned *)((char *)&info->profile + enum_fields[i].offset);
            size_t w = 0;
            while (w < enum_fields[i].count && strcmp(enum_fields[i].words[w], value) != 0)
                w++;
            if (w == enum_fields[i].count)
                rc = pics_error(err, err_cap, path, number, "%s cannot be \"%s\"", key, value);
            *slot = (unsigned)w;
            given++;
        }
        for (size_t i = 0; i < sizeof bool_fields / sizeof bool_fields[0] && !known; i++) {
            if (strcmp(key, bool_fields[i].key) != 0)
                continue;
            known = true;
            if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
                rc = pics_error(err, err_cap, path, number, "%s must be yes or no", key);
            *bool_at(info, &bool_fields[i]) = strcmp(value, "yes") == 0;
        }
        if (known)
            continue;
        char *end;
        if (strcmp(key, "iut") == 0) {
            /* It names cells, folders and ctest tests: plain characters only. */
            if (strlen(value) >= sizeof info->name ||
                value[strspn(value, "abcdefghijklmnopqrstuvwxyz"
                                    "0123456789.-_")] != '\0')
                rc = pics_error(err, err_cap, path, number,
                                "iut must be 1 to %zu of a-z, 0-9, '.', '-', '_'",
                                sizeof info->name - 1);
            snprintf(info->name, sizeof info->name, "%s", value);
        } else if (strcmp(key, "driver") == 0) {
            snprintf(info->driver, sizeof info->driver, "%s", value);
        } else if (strcmp(key, "available") == 0) {
            snprintf(info->available, sizeof info->available, "%s", value);
        } else if (strcmp(key, "enable") == 0) {
            snprintf(info->enable, sizeof info->enable, "%s", value);
        } else if (strcmp(key, "coverage-driver") == 0) {
            snprintf(info->coverage_driver, sizeof info->coverage_driver, "%s", value);
        } else if (strcmp(key, "coverage-report") == 0) {
            snprintf(info->coverage_report, sizeof info->coverage_report, "%s", value);
        } else if (strcmp(key, "swrap-skip") == 0) {
            snprintf(info->swrap_skip, sizeof info->swrap_skip, "%s", value);
        } else if (strcmp(key, "speedup") == 0) {
            unsigned long v = strtoul(value, &end, 10);
            if (*end != '\0' || v < 1 || v > 1000)
                rc = pics_error(err, err_cap, path, number, "speedup must be 1 to 1000");
            info->speedup = (unsigned)v;
        } else if (strcmp(key, "client-sockets-at-open") == 0) {
            unsigned long v = strtoul(value, &end, 10);
            if (*end != '\0' || v > 64)
                rc = pics_error(err, err_cap, path, number, "client-sockets-at-open: 0 to 64");
            info->profile.client_sockets_at_open = v;
            given++;
        } else if (strncmp(key, "xfail ", 6) == 0) {
            if (info->xfail_count == IUT_MAX_XFAILS) {
                rc = pics_error(err, err_cap, path, number, "more than %d xfails", IUT_MAX_XFAILS);
                break;
            }
            struct iut_xfail *x = &info->xfails[info->xfail_count++];
            snprintf(x->cells, sizeof x->cells, "%s", trim(key + 6));
            snprintf(x->reason, sizeof x->reason, "%s", value);
            if (x->reason[0] == '\0')
                rc = pics_error(err, err_cap, path, number, "xfail %s has no reason", x->cells);
        } else {
            rc = pics_error(err, err_cap, path, number, "unknown key \"%s\"", key);
        }
    }
    fclose(f);
    if (rc == 0 && (info->name[0] == '\0' || info->driver[0] == '\0'))
        rc = pics_error(err, err_cap, path, number, "iut and driver must be given");
    if (rc == 0 && given != required)
        rc = pics_error(err, err_cap, path, number,
                        "every profile property must be given (%u of %zu are)", given, required);
    return rc;
}

/* ---- the list of IUTs ---- */

static struct iut_info inproc_infos[16];
static struct iut_info external_infos[IUT_MAX_EXTERNAL];
static const struct iut_info *all_infos[16 + IUT_MAX_EXTERNAL];
static size_t all_count;
static const struct coapmx_registry *loaded_for;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* transports/drivers/<stack>/<iut>.pics, in name order (so the matrix is the same everywhere). */
static size_t load_external(void)
{
    char *paths[IUT_MAX_EXTERNAL];
    size_t n = 0;
    /* A user's own drivers (and the broken ones of the tests) may live elsewhere. */
    const char *root = getenv("COAPMX_DRIVERS_DIR");
    if (root == NULL)
        root = COAPMX_DRIVERS_DIR;
    DIR *drivers = opendir(root);
    for (struct dirent *stack; drivers != NULL && (stack = readdir(drivers)) != NULL;) {
        char dir[700];
        snprintf(dir, sizeof dir, "%s/%s", root, stack->d_name);
        DIR *d = stack->d_name[0] == '.' ? NULL : opendir(dir);
        for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
            size_t len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".pics") != 0 || n == IUT_MAX_EXTERNAL)
                continue;
            char *path = malloc(strlen(dir) + len + 2);
            if (path != NULL) {
                sprintf(path, "%s/%s", dir, e->d_name);
                paths[n++] = path;
            }
        }
        if (d != NULL)
            closedir(d);
    }
    if (drivers != NULL)
        closedir(drivers);
    qsort(paths, n, sizeof paths[0], by_name);
    size_t loaded = 0;
    for (size_t i = 0; i < n; i++) {
        char err[700];
        if (iut_read_pics(paths[i], &external_infos[loaded], err, sizeof err) == 0)
            loaded++;
        else
            fprintf(stderr, "coapmx: leaving out an IUT: %s\n", err);
        free(paths[i]);
    }
    return loaded;
}

const struct iut_info *const *iut_all(const struct coapmx_registry *registry, size_t *count)
{
    if (loaded_for != registry) {
        all_count = 0;
        for (size_t i = 0; i < registry->count && i < 16; i++) {
            struct iut_info *info = &inproc_infos[i];
            memset(info, 0, sizeof *info);
            snprintf(info->name, sizeof info->name, "%s", registry->transports[i]->name);
            info->profile = *registry->transports[i]->profile;
            info->ops = registry->transports[i];
            info->speedup = 1;
            info->caps = (struct iut_caps){.introspection = true,
                                           .serves_on_client = true,
                                           .settable_buffer = true,
                                           .settable_pool = true,
                                           .relay = true,
                                           .bad_settings = true,
                                           .descriptor_limit = true,
                                           /* struct coapmx_remote has a hostinfo: the
                                            * transport interface asks for one */
                                           .hostinfo = true};
            all_infos[all_count++] = info;
        }
        size_t external = load_external();
        for (size_t i = 0; i < external; i++)
            all_infos[all_count++] = &external_infos[i];
        loaded_for = registry;
    }
    *count = all_count;
    return all_infos;
}

const struct iut_info *iut_find(const struct coapmx_registry *registry, const char *name)
{
    size_t n;
    const struct iut_info *const *all = iut_all(registry, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

const struct iut_xfail *iut_xfail_for(const struct iut_info *iut, const char *scenario,
                                      const char *kind, const char *lane)
{
    char with_kind[160], with_lane[200], scenario_lane[160];
    snprintf(with_kind, sizeof with_kind, "%s/%s", scenario, kind);
    snprintf(with_lane, sizeof with_lane, "%s/%s@%s", scenario, kind, lane);
    snprintf(scenario_lane, sizeof scenario_lane, "%s@%s", scenario, lane);
    for (size_t i = 0; i < iut->xfail_count; i++) {
        const char *c = iut->xfails[i].cells;
        if (fnmatch(c, scenario, 0) == 0 || fnmatch(c, with_kind, 0) == 0 ||
            fnmatch(c, with_lane, 0) == 0 || fnmatch(c, scenario_lane, 0) == 0)
            return &iut->xfails[i];
    }
    return NULL;
}

/* ---- a cell's IUT: what both kinds share ---- */

struct iut *iut_start(const struct iut_info *info, const struct iut_setup *setup,
                      struct coapmx_error *err)
{
    struct iut *iut = calloc(1, sizeof *iut);
    if (iut == NULL) {
        coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory"); /* LCOV_EXCL_LINE: OutOfMemory */
        return NULL;                                         /* LCOV_EXCL_LINE: OutOfMemory */
    }
    iut->info = info;
    iut->kind = info->ops != NULL ? &iut_inproc_kind : &iut_driver_kind;
    iut->setup = *setup;
    iut->loop = setup->loop;
    iut->protocol = setup->protocol;
    iut->seed = setup->seed;
    if (iut->kind->start(iut, err) != 0) {
        iut->kind->stop(iut);
        free(iut);
        return NULL;
    }
    return iut;
}

void iut_close_all(struct iut *iut)
{
    while (iut->endpoint_count > 0)
        iut_close(iut->endpoints[iut->endpoint_count - 1]);
}

void iut_stop(struct iut *iut, char *trouble, size_t cap)
{
    if (iut == NULL)
        return;
    iut_close_all(iut);
    iut->kind->stop(iut);
    if (trouble != NULL)
        snprintf(trouble, cap, "%s", iut->trouble);
    free(iut);
}

int iut_advance_clock(struct iut *iut, uint64_t ms, struct coapmx_error *err)
{
    if (iut->kind->advance_clock == NULL)
        return coapmx_fail(err, COAPMX_EUNSUPPORTED, 0, "%s runs on the cell's clock",
                           iut->info->name);
    return iut->kind->advance_clock(iut, ms, err);
}

const struct iut_info *iut_info_of(const struct iut *iut)
{
    return iut->info;
}

const struct coapmx_protocol *iut_protocol(const struct iut *iut)
{
    return &iut->protocol;
}

unsigned iut_speedup(const struct iut *iut)
{
    return iut->info->speedup;
}

const char *iut_trouble(const struct iut *iut)
{
    return iut->trouble;
}

struct iut_endpoint *iut_open(struct iut *iut, const struct coapmx_transport_config *config,
                              struct coapmx_error *err)
{
    if (iut->endpoint_count == IUT_MAX_ENDPOINTS) {
        coapmx_fail(err, COAPMX_EUNSUPPORTED, 0, "more than %d endpoints of one IUT",
                    IUT_MAX_ENDPOINTS);
        return NULL;
    }
    struct iut_endpoint *ep = calloc(1, sizeof *ep);
    if (ep == NULL) {
        coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory"); /* LCOV_EXCL_LINE: OutOfMemory */
        return NULL;                                         /* LCOV_EXCL_LINE: OutOfMemory */
    }
    ep->iut = iut;
    if (iut->kind->open(ep, config, err) != 0) {
        free(ep);
        return NULL;
    }
    iut->endpoints_opened++;
    iut->endpoints[iut->endpoint_count++] = ep;
    return ep;
}

void iut_close(struct iut_endpoint *ep)
{
    struct iut *iut = ep->iut;
    for (size_t i = 0; i < iut->endpoint_count; i++)
        if (iut->endpoints[i] == ep)
            iut->endpoints[i] = iut->endpoints[--iut->endpoint_count];
    iut->kind->close(ep);
    free(ep);
}

int64_t iut_request(struct iut_endpoint *ep, const struct coapmx_request *req,
                    coapmx_response_cb cb, void *arg, struct coapmx_error *err)
{
    if (ep->shut_down)
        return coapmx_fail(err, COAPMX_ESHUTDOWN, 0, "the endpoint of %s is shut down",
                           ep->iut->info->name);
    return ep->iut->kind->request(ep, req, cb, arg, err);
}

void iut_cancel(struct iut_endpoint *ep, int64_t id)
{
    ep->iut->kind->cancel(ep, id);
}

size_t iut_pending(const struct iut_endpoint *ep)
{
    return ep->iut->kind->pending(ep);
}

void iut_shutdown(struct iut_endpoint *ep)
{
    if (ep->shut_down)
        return;
    ep->iut->kind->shutdown(ep);
    ep->shut_down = true;
}

size_t iut_served_count(const struct iut_endpoint *ep)
{
    return ep->served_count;
}

const struct iut_served *iut_served(const struct iut_endpoint *ep, size_t i)
{
    return i < ep->served_count && i < IUT_MAX_SERVED ? &ep->served[i] : NULL;
}

void iut_note_served(struct iut_endpoint *ep, const struct iut_served *served)
{
    if (ep->served_count < IUT_MAX_SERVED)
        ep->served[ep->served_count] = *served;
    ep->served_count++;
}

void iut_standard_reply(struct iut_endpoint *ep, uint8_t method, size_t payload_len,
                        struct coapmx_reply *reply)
{
    if (method == COAP_GET) {
        reply->code = COAP_CONTENT;
        snprintf(ep->reply_text, sizeof ep->reply_text, "served %zu", ep->served_count);
    } else if (method == COAP_PUT || method == COAP_POST) {
        reply->code = COAP_CHANGED;
        snprintf(ep->reply_text, sizeof ep->reply_text, "got %zu bytes", payload_len);
    } else {
        reply->code = COAP_METHOD_NOT_ALLOWED;
        ep->reply_text[0] = '\0';
    }
    reply->payload = (const uint8_t *)ep->reply_text;
    reply->payload_len = strlen(ep->reply_text);
}

const char *iut_coverage_dir(void)
{
    const char *dir = getenv("COAPMX_COVERAGE_DIR");
    return dir != NULL ? dir : "";
}

/* Once per process: a lane runner asks before it forks its cells, which inherit the answer. */
static struct availability {
    const struct iut_info *iut;
    bool yes;
    char found[256]; /* the first line the command printed: `{available}` in the driver */
} availability[16 + IUT_MAX_EXTERNAL];

static const struct availability *availability_of(const struct iut_info *iut);

void iut_expand(const struct iut_info *info, const char *text, char *out, size_t cap)
{
    char dir[sizeof info->pics_path];
    snprintf(dir, sizeof dir, "%s", info->pics_path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    size_t used = 0;
    for (const char *p = text; *p != '\0' && used + 1 < cap;) {
        const char *value = NULL;
        size_t skip = 0;
        if (strncmp(p, "{dir}", 5) == 0)
            value = dir, skip = 5;
        else if (strncmp(p, "{build}", 7) == 0)
            value = COAPMX_BUILD_DIR, skip = 7;
        else if (strncmp(p, "{coverage}", 10) == 0)
            value = iut_coverage_dir(), skip = 10;
        else if (strncmp(p, "{available}", 11) == 0 && info->available[0] != '\0') {
            const struct availability *a = availability_of(info);
            value = a != NULL ? a->found : "", skip = 11;
        }
        if (value == NULL) {
            out[used++] = *p++;
            continue;
        }
        int n = snprintf(out + used, cap - used, "%s", value);
        used = n > 0 && (size_t)n < cap - used ? used + (size_t)n : cap - 1;
        p += skip;
    }
    out[used < cap ? used : cap - 1] = '\0';
}

/* ---- availability ---- */

static const struct availability *availability_of(const struct iut_info *iut)
{
    size_t slot = 0;
    while (slot < sizeof availability / sizeof availability[0] && availability[slot].iut != NULL &&
           availability[slot].iut != iut)
        slot++;
    if (slot == sizeof availability / sizeof availability[0])
        return NULL; /* LCOV_EXCL_LINE: more IUTs than the registry holds */
    struct availability *a = &availability[slot];
    if (a->iut == iut)
        return a;
    a->iut = iut; /* before the command runs: `{available}` in it expands to nothing */
    char expanded[1024], command[sizeof expanded + 32];
    iut_expand(iut, iut->available, expanded, sizeof expanded);
    snprintf(command, sizeof command, "(%s) 2>/dev/null", expanded);
    fflush(NULL);
    FILE *out = popen(command, "r");
    if (out == NULL)
        return a; /* LCOV_EXCL_LINE: OutOfMemory */
    if (fgets(a->found, sizeof a->found, out) == NULL)
        a->found[0] = '\0';
    a->found[strcspn(a->found, "\r\n")] = '\0';
    char rest[256];
    while (fgets(rest, sizeof rest, out) != NULL)
        ;
    a->yes = pclose(out) == 0;
    return a;
}

bool iut_available(const struct iut_info *iut, char *why, size_t why_cap)
{
    if (iut->available[0] == '\0')
        return true;
    const struct availability *a = availability_of(iut);
    if (a != NULL && a->yes)
        return true;
    snprintf(why, why_cap, "%s is not available here (`%s` fails)%s%s", iut->name, iut->available,
             iut->enable[0] ? ": " : "", iut->enable);
    return false;
}

size_t iut_sockets(const struct iut_endpoint *ep, struct iut_socket *out, size_t max)
{
    return ep->shut_down ? 0 : ep->iut->kind->sockets(ep, out, max);
}

struct coapmx_endpoint *iut_stack(const struct iut_endpoint *ep)
{
    return ep->stack;
}

/* ---- a process's UDP sockets ---- */

/* An address of /proc/net/udp ("0100007F:1633") or udp6 (32 hex digits in 4 host-order words,
 * then the port). */
static bool proc_address(const char *text, bool v6, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof *out);
    unsigned port;
    if (!v6) {
        unsigned addr;
        if (sscanf(text, "%8X:%4X", &addr, &port) != 2)
            return false;
        struct sockaddr_in *in = (struct sockaddr_in *)out;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = addr; /* the kernel writes it in host order of the bytes */
        in->sin_port = htons((uint16_t)port);
        return true;
    }
    unsigned w[4];
    if (sscanf(text, "%8X%8X%8X%8X:%4X", &w[0], &w[1], &w[2], &w[3], &port) != 5)
        return false;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, w, 16);
    in6->sin6_port = htons((uint16_t)port);
    return true;
}

static bool is_unspecified(const struct sockaddr_storage *a)
{
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr == 0;
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)a)->sin6_addr) ||
           (IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)a)->sin6_addr) &&
            ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr32[3] == 0);
}

size_t iut_socket_inodes(int pid, unsigned long *inodes, size_t max)
{
    char path[64];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
        char link[320], target[64];
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t len = readlink(link, target, sizeof target - 1);
        unsigned long inode;
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (sscanf(target, "socket:[%lu]", &inode) == 1 && n < max)
            inodes[n++] = inode;
    }
    if (d != NULL)
        closedir(d);
    return n;
}

bool iut_inode_listed(const unsigned long *inodes, size_t count, unsigned long inode)
{
    for (size_t i = 0; i < count; i++)
        if (inodes[i] == inode)
            return true;
    return false;
}

size_t iut_proc_udp_sockets(int pid, struct iut_socket *out, size_t max)
{
    char path[64];
    unsigned long inodes[IUT_MAX_SOCKETS];
    size_t inode_count = iut_socket_inodes(pid, inodes, IUT_MAX_SOCKETS), n = 0;
    for (int v6 = 0; v6 < 2; v6++) {
        snprintf(path, sizeof path, "/proc/%d/net/%s", pid, v6 ? "udp6" : "udp");
        FILE *f = fopen(path, "r");
        char line[512];
        while (f != NULL && fgets(line, sizeof line, f) != NULL) {
            char local[64], remote[64];
            unsigned long inode;
            if (sscanf(line, " %*u: %63s %63s %*x %*s %*s %*s %*u %*u %lu", local, remote,
                       &inode) != 3)
                continue;
            bool ours = iut_inode_listed(inodes, inode_count, inode);
            struct iut_socket s;
            if (!ours || !proc_address(local, v6, &s.local) || !proc_address(remote, v6, &s.peer))
                continue;
            if (is_unspecified(&s.peer) && coapmx_sockaddr_port((struct sockaddr *)&s.peer) == 0)
                s.peer.ss_family = 0;
            if (n < max)
                out[n] = s;
            n++;
        }
        if (f != NULL)
            fclose(f);
    }
    return n;
}
