/* What BEHAVIOUR.md's E rows do not list but every transport must show: malformed requests,
 * bad configuration and exhausted descriptors get a specific error code and a message that
 * names the cause; nothing is sent and nothing leaks (rows E7-E9). */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../transports/addr.h"

/* A request that must be refused with `code` and a message naming the cause. */
static void expect_refused(struct cell *cx, struct iut_endpoint *ep,
                           const struct coapmx_request *req, enum coapmx_err code, const char *says)
{
    struct coapmx_error err = {0};
    CX_EXPECT(cx, cell_refuses(cx, ep, req, &err), "the request to '%.80s' was accepted (%s)",
              req->uri, err.message);
    CX_EXPECT_ERR(cx, &err, code, req->uri);
    cell_expect_message(cx, &err, says, req->uri);
}

/* Our transports' own API: holding a URI without host, and resolving a host name longer than
 * DNS allows (255 bytes). */
static void transport_api_refusals(struct cell *cx, struct iut_endpoint *ep)
{
    struct coapmx_endpoint *stack = iut_stack(ep);
    struct coapmx_remote held;
    struct coapmx_error err;
    CX_EXPECT(cx, coapmx_endpoint_hold(stack, "coap://", &held, &err) != 0,
              "held a URI without host");
    CX_EXPECT_ERR(cx, &err, COAPMX_EINVAL, "holding a URI without host");
    char long_host[300];
    memset(long_host, 'h', sizeof long_host - 1);
    long_host[sizeof long_host - 1] = '\0';
    CX_EXPECT(cx,
              coapmx_transport_resolve(coapmx_endpoint_transport(stack), long_host,
                                       PEER_PORT_DEFAULT, &held, &err) != 0,
              "resolved a %zu-byte host name", strlen(long_host));
    CX_EXPECT(cx, err.code == COAPMX_EINVAL || err.code == COAPMX_ERESOLVE,
              "a %zu-byte host name: %s (\"%s\"), not EINVAL or ERESOLVE", strlen(long_host),
              coapmx_err_name(err.code), err.message);
    CX_EXPECT(cx, strstr(err.message, "hhhhhhhhhhhhhhhhhhhh") != NULL,
              "the error does not name the host: \"%s\"", err.message);
}

/* E7: each malformed request is refused before anything is resolved or sent. */
static void bad_requests(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    const char *host = cell_host(cx);
    char long_path[700], long_query[700], many_segments[200];
    memset(long_path, 'p', 600);
    long_path[600] = '\0';
    memset(long_query, 'q', 600);
    long_query[600] = '\0';
    for (size_t i = 0; i < 40; i++)
        memcpy(many_segments + 2 * i, "s/", 2);
    many_segments[79] = '\0';
    const char *const tails[] = {"", long_path, long_query, many_segments};
    enum { NO_TAIL, LONG_PATH, LONG_QUERY, MANY_SEGMENTS };
    static const struct {
        const char *format; /* %s: the kind's host (or ""), then the tail */
        bool no_host;
        int tail;
        enum coap_type type;
        enum coapmx_err code;
        const char *says;
    } cases[] = {
        {"http://%s/hello%s", false, NO_TAIL, COAP_CON, COAPMX_EINVAL, "not a coap:// URI"},
        {"coap://%s/hello%s", true, NO_TAIL, COAP_CON, COAPMX_EINVAL, "bad host or port"},
        {"coap://%s:65536/hello%s", false, NO_TAIL, COAP_CON, COAPMX_EINVAL, "bad host or port"},
        {"coap://%s:56x3/hello%s", false, NO_TAIL, COAP_CON, COAPMX_EINVAL, "bad host or port"},
        {"coap://[%s/hello%s", false, NO_TAIL, COAP_CON, COAPMX_EINVAL, "bad host or port"},
        {"coap://%s:0/hello%s", false, NO_TAIL, COAP_CON, COAPMX_EINVAL, "port 0"},
        {"coap://%s:5683/hello%s", true, NO_TAIL, COAP_CON, COAPMX_EINVAL, "bad host or port"},
        /* a zone that is no interface: refused, never sent unzoned */
        {"coap://[fe80::5357:10%%25cmx-none%s]/hello%s", true, NO_TAIL, COAP_CON, COAPMX_ERESOLVE,
         "no interface named 'cmx-none'"},
        /* a zone spelt without its "%25" (RFC 6874), or empty */
        {"coap://[fe80::5357:10%%cmx-none%s]/hello%s", true, NO_TAIL, COAP_CON, COAPMX_EINVAL,
         "written %25<zone>"},
        {"coap://[fe80::5357:10%%25%s]/hello%s", true, NO_TAIL, COAP_CON, COAPMX_EINVAL,
         "written %25<zone>"},
        {"coap://%s/a%%zz%s", false, NO_TAIL, COAP_CON, COAPMX_EINVAL, "two hex digits"},
        {"coap://%s/hello?x=%%4%s", false, NO_TAIL, COAP_CON, COAPMX_EINVAL, "two hex digits"},
        {"coap://%s/%s", false, LONG_PATH, COAP_CON, COAPMX_EINVAL, "path too long"},
        {"coap://%s/hello?%s", false, LONG_QUERY, COAP_CON, COAPMX_EINVAL, "query too long"},
        {"coap://%s/%s", false, MANY_SEGMENTS, COAP_CON, COAPMX_EINVAL, "too many path segments"},
        {"coap://%s/hello%s", false, NO_TAIL, COAP_ACK, COAPMX_EINVAL, "CON or NON"},
        {"coap://%s/hello%s", false, NO_TAIL, COAP_RST, COAPMX_EINVAL, "CON or NON"},
    };
    size_t sockets_before = socket_count(ep);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char uri[1600];
        snprintf(uri, sizeof uri, cases[i].format, cases[i].no_host ? "" : host,
                 tails[cases[i].tail]);
        struct coapmx_request req = {.type = cases[i].type, .method = COAP_GET, .uri = uri};
        expect_refused(cx, ep, &req, cases[i].code, cases[i].says);
    }
    if (cell_caps(cx)->relay) {
        /* A relay forwards a block as it is: one larger than a datagram cannot be encoded. */
        static uint8_t huge[COAPMX_DATAGRAM_MAX];
        char uri[300];
        cell_uri(cx, 0, "upload", uri, sizeof uri);
        struct coapmx_request relay = {.type = COAP_CON,
                                       .method = COAP_PUT,
                                       .uri = uri,
                                       .payload = huge,
                                       .payload_len = sizeof huge,
                                       .relay_block_option = COAP_OPT_BLOCK1,
                                       .relay_block_value = 0x0e};
        expect_refused(cx, ep, &relay, COAPMX_ETOOBIG, "cannot encode the request");
    }
    if (cell_caps(cx)->introspection)
        transport_api_refusals(cx, ep);
    CX_EXPECT_INT(cx, socket_count(ep), sockets_before, "sockets after the refusals");
    CX_EXPECT_INT(cx, iut_pending(ep), 0, "requests left pending");
    expect_nothing_sent(cx, ep);
}

static void bad_protocol_settings(struct cell *cx)
{
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"ack_timeout_ms=0", "bad protocol value 'ack_timeout_ms=0'"},
        {"max_retransmit=2x", "bad protocol value 'max_retransmit=2x'"},
        {"nstart=99999999999", "bad protocol value"},
        {"nstart", "unknown protocol setting 'nstart'"},
        {"ack_timeout_ms=1000,retries=3", "unknown protocol setting 'retries=3'"},
        {"ack_random_factor_milli=999", "at least 1000"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct coapmx_protocol p;
        struct coapmx_error err = {0};
        coapmx_protocol_defaults(&p);
        CX_EXPECT(cx, coapmx_protocol_parse(&p, bad[i].text, &err) != 0, "'%s' was accepted",
                  bad[i].text);
        CX_EXPECT_ERR(cx, &err, COAPMX_EINVAL, bad[i].text);
        CX_EXPECT(cx, strstr(err.message, bad[i].says) != NULL,
                  "the error for '%s' does not say \"%s\": \"%s\"", bad[i].text, bad[i].says,
                  err.message);
    }
    struct coapmx_protocol p;
    struct coapmx_error err;
    coapmx_protocol_defaults(&p);
    CX_EXPECT(cx,
              coapmx_protocol_parse(&p, "ack_timeout_ms=1000,max_retransmit=2,nstart=3", &err) == 0,
              "good settings refused: %s", err.message);
    CX_EXPECT_INT(cx, p.ack_timeout_ms, 1000, "ack_timeout_ms after parsing");
    CX_EXPECT_INT(cx, p.max_retransmit, 2, "max_retransmit after parsing");
    CX_EXPECT_INT(cx, p.nstart, 3, "nstart after parsing");
    CX_EXPECT_INT(cx, p.exchange_lifetime_ms, 247000, "a setting not named keeps its default");
}

/* E8: bad configuration is refused when the transport opens. */
static void bad_configuration(struct cell *cx)
{
    const struct coapmx_profile *profile = cell_profile(cx);
    bad_protocol_settings(cx);

    struct coapmx_transport_config huge_buffer, groups;
    cell_client_config(cx, &huge_buffer);
    huge_buffer.rx_buffer_size = COAPMX_RX_BUFFER_MAX + 1;
    expect_open_refused(cx, &huge_buffer, COAPMX_EINVAL, "receive buffer", "rx-buffer-too-big");

    cell_client_config(cx, &groups);
    groups.multicast_interface = "nosuch0";
    if (profile->multicast)
        expect_open_refused(cx, &groups, COAPMX_EINVAL, "no interface nosuch0",
                            "groups-on-unknown-interface");
    else
        expect_open_refused(cx, &groups, COAPMX_EMULTICAST, "does not support multicast",
                            "groups-without-multicast");

    struct coapmx_transport_config by_name = {.role = COAPMX_ROLE_SERVER, .bind_host = "localhost"};
    if (profile->roles == COAPMX_ROLES_CLIENT_ONLY) {
        expect_open_refused(cx, &by_name, COAPMX_ECLIENTONLY, "client-only", "server-by-name");
    } else if (profile->binds_names) {
        by_name.bind_host = kind_find("unknown")->host; /* a name nobody knows */
        expect_open_refused(cx, &by_name, COAPMX_ERESOLVE, by_name.bind_host,
                            "server-by-unknown-name");
    } else {
        expect_open_refused(cx, &by_name, COAPMX_EINVAL, "literals only, not 'localhost'",
                            "server-by-name");
    }
}

/* A server cannot take over an address and port another socket is bound to. */
static void port_in_use(struct cell *cx)
{
    const struct lane *lane = cell_lane(cx);
    if (!lane->has_exclusive_bind)
        cell_skip(cx,
                  "lane %s lets a second socket bind an address and port in use "
                  "(socket_wrapper: bind unlinks the holder's socket file)",
                  lane->name);
    const char *own = cell_own_address(cx, cell_kind(cx)->family);
    struct coapmx_transport_config literal = {.role = COAPMX_ROLE_SERVER, .bind_host = own};
    struct coapmx_error err;
    CX_EXPECT(cx, cell_open(cx, &literal, &err) != NULL, "cannot open a server on %s: %s", own,
              err.message);
    int e = expect_open_refused(cx, &literal, COAPMX_ENETWORK, "cannot bind", "server-port-in-use");
    CX_EXPECT_STR(cx, cell_errno_name(e), "EADDRINUSE", "errno of the second bind");
}

static void on_response(void *arg, const struct coapmx_message *resp,
                        const struct coapmx_error *err)
{
    (void)resp;
    (void)err;
    (*(int *)arg)++;
}

static bool answered(void *arg)
{
    return *(int *)arg > 0;
}

/* The lowest descriptor number not in use: the next one the kernel would hand out. */
static int lowest_free_fd(struct cell *cx)
{
    int fd = fcntl(STDERR_FILENO, F_DUPFD, 0);
    CX_EXPECT(cx, fd >= 0, "cannot duplicate a descriptor: %s", strerror(errno));
    close(fd);
    return fd;
}

/* E9: with no descriptor left, what needs a new socket fails with a network error naming the
 * cause (EMFILE), and works again once descriptors are free. */
static void out_of_descriptors(struct cell *cx)
{
    struct iut_endpoint *ep = cell_client(cx);
    /* Warm everything up first (peer, captures, the transport's first socket), so that under
     * the limit only what the transport needs anew can fail. */
    cell_get(cx, ep, 0, "hello");
    char uri[300];
    cell_uri(cx, PEER_PORT_ALT, "hello", uri, sizeof uri);
    struct coapmx_request req = {.type = COAP_CON, .method = COAP_GET, .uri = uri};

    struct rlimit saved, tight;
    CX_EXPECT(cx, getrlimit(RLIMIT_NOFILE, &saved) == 0, "getrlimit: %s", strerror(errno));
    tight = (struct rlimit){.rlim_cur = (rlim_t)lowest_free_fd(cx), .rlim_max = saved.rlim_max};
    CX_EXPECT(cx, setrlimit(RLIMIT_NOFILE, &tight) == 0, "setrlimit: %s", strerror(errno));
    int probe = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (probe >= 0) {
        close(probe);
        setrlimit(RLIMIT_NOFILE, &saved);
        cell_skip(cx, "the descriptor limit is not enforced in this process (a runtime that "
                      "keeps RLIMIT_NOFILE to itself)");
    }
    /* Static: a request started below outlives this frame if a check fails midway. */
    static int callbacks;
    callbacks = 0;
    struct coapmx_error new_peer = {0}, new_transport = {0};
    int64_t id = iut_request(ep, &req, on_response, &callbacks, &new_peer);
    struct iut_endpoint *second = cell_open(cx, NULL, &new_transport);
    setrlimit(RLIMIT_NOFILE, &saved);

    if (cell_profile(cx)->sockets == COAPMX_SOCKETS_PER_PEER_CONNECTED) {
        /* A new peer needs a new socket; a transport opens none until then. */
        CX_EXPECT(cx, id < 0, "a request to a new peer started without a descriptor");
        CX_EXPECT_ERR(cx, &new_peer, COAPMX_ENETWORK, "a request to a new peer");
        CX_EXPECT(cx, second != NULL, "opening a transport without descriptors failed: %s",
                  new_transport.message);
    } else {
        /* Every peer shares the open socket; a new transport needs one of its own. */
        CX_EXPECT(cx, id > 0, "a request on the shared socket failed: %s", new_peer.message);
        CX_EXPECT(cx, second == NULL, "a transport opened without a descriptor");
        new_peer = new_transport;
    }
    CX_EXPECT_ERR(cx, &new_peer, COAPMX_ENETWORK, "what needed a descriptor");
    CX_EXPECT_INT(cx, new_peer.sys_errno, EMFILE, "errno of what needed a descriptor");
    CX_EXPECT(cx, strstr(new_peer.message, strerror(EMFILE)) != NULL,
              "the error does not give the cause: \"%s\"", new_peer.message);
    cell_observe(cx, "errno", "%s", cell_errno_name(new_peer.sys_errno));
    /* The request started under the limit completes before its callback's counter goes. */
    CX_EXPECT(cx, id < 0 || cell_run_until(cx, answered, &callbacks),
              "the request started under the limit never completed");
    const struct coapmx_message *resp;
    struct coapmx_error err;
    CX_EXPECT(cx, cell_send_request(cx, ep, &req, &resp, &err) == 0,
              "the request failed once descriptors were free: %s", err.message);
    CX_EXPECT_INT(cx, resp->msg.code, COAP_CONTENT, "response code once descriptors were free");
}

/* E10: a daemon that closed its standard input hands out descriptor 0 next; a transport whose
 * socket gets it works as with any other (a check such as `fd <= 0` would refuse it). */
static void descriptor_zero(struct cell *cx)
{
    /* Warm up first (peer, captures, the wrappers' files), so that 0 goes to the socket. */
    struct iut_endpoint *warm = cell_client(cx);
    cell_get(cx, warm, 0, "hello");
    iut_close(warm);
    int saved = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
    CX_EXPECT(cx, saved >= 0, "cannot keep standard input aside: %s", strerror(errno));
    close(STDIN_FILENO);
    struct coapmx_error open_err = {0}, err = {0};
    struct iut_endpoint *ep = cell_open(cx, NULL, &open_err);
    const struct coapmx_message *resp = NULL;
    int rc = ep != NULL ? cell_request(cx, ep, COAP_CON, 0, "hello", &resp, &err) : -1;
    char zero[64] = "";
    ssize_t len = readlink("/proc/self/fd/0", zero, sizeof zero - 1);
    zero[len > 0 ? len : 0] = '\0';
    if (ep != NULL)
        iut_close(ep);
    /* Standard input back before any check can end the cell. */
    dup2(saved, STDIN_FILENO);
    close(saved);
    CX_EXPECT(cx, ep != NULL, "opening with descriptor 0 free failed: %s", open_err.message);
    CX_EXPECT(cx, strncmp(zero, "socket:", 7) == 0,
              "descriptor 0 was not the transport's socket but %s", zero[0] ? zero : "closed");
    CX_EXPECT(cx, rc == 0, "a request with the socket on descriptor 0 failed: %s: %s",
              coapmx_err_name(err.code), err.message);
    CX_EXPECT_INT(cx, resp->msg.code, COAP_CONTENT,
                  "response code with the socket on descriptor 0");
}

static const char *unless_own_descriptors(const struct iut_info *iut)
{
    return iut->caps.descriptor_limit ? NULL
                                      : "its descriptors are its driver's process's, not the "
                                        "cell's (caps: descriptor-limit)";
}

const struct scenario scenario_e7 = {
    .id = "E7-bad-request",
    .title = "malformed requests are refused with EINVAL naming the fault; nothing sent",
    .kinds = KINDS("v4"),
    .traffic = false,
    .run = bad_requests,
};
static const char *unless_bad_settings(const struct iut_info *iut)
{
    return iut->caps.bad_settings ? NULL
                                  : "its settings are the driver's to translate, not a "
                                    "configuration the harness can hand it malformed (caps)";
}

const struct scenario scenario_e8 = {
    .id = "E8-bad-configuration",
    .title = "bad protocol settings, receive buffer, group interface or bind name: refused",
    .kinds = KINDS("v4"),
    .traffic = false,
    .run = bad_configuration,
    .not_applicable = unless_bad_settings,
};
const struct scenario scenario_e8b = {
    .id = "E8-port-in-use",
    .title = "a server on an address and port in use: a network error giving EADDRINUSE",
    .kinds = KINDS("v4", "v6"),
    .traffic = true, /* it binds an address of the kind's family */
    .run = port_in_use,
    .not_applicable = unless_serves,
};
static const char *unless_descriptor_limit(const struct iut_info *iut)
{
    return iut->caps.descriptor_limit ? NULL
                                      : "starves the cell's own process of descriptors, and the "
                                        "stack runs in another (caps: descriptor-limit)";
}

const struct scenario scenario_e9 = {
    .id = "E9-out-of-descriptors",
    .title = "no descriptor left: a network error giving EMFILE, then recovery",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = out_of_descriptors,
    .not_applicable = unless_descriptor_limit,
};
const struct scenario scenario_e10 = {
    .id = "E10-descriptor-zero",
    .title = "standard input closed: the socket on descriptor 0 works like any other",
    .kinds = KINDS("v4", "v6"),
    .traffic = true,
    .run = descriptor_zero,
    .not_applicable = unless_own_descriptors,
};
