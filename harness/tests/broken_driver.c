/* A driver that misbehaves on purpose (harness/tests/broken_drivers.sh): it speaks the protocol
 * well enough to get a cell going, then does what COAPMX_IUT names ("broken-garbage", ...) at
 * its first request. The "leftover-" ones get through F6 (their requests are refused, as for a
 * name that does not resolve) and leave something behind: a datagram sent once the clock moves
 * on (leftover-late), a socket kept after every endpoint is closed (leftover-socket). It writes its
 * pid and network namespace to COAPMX_BROKEN_PIDS, so that the test can check that nothing of it
 * outlives its cell. */
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../json.h"

static const char *mode;

static void ok(long long id, const char *extra)
{
    printf("{\"id\":%lld,\"ok\":true%s}\n", id, extra);
    fflush(stdout);
}

static void note_pid(void)
{
    const char *path = getenv("COAPMX_BROKEN_PIDS");
    char ns[128] = "";
    ssize_t len = readlink("/proc/self/ns/net", ns, sizeof ns - 1);
    if (len > 0)
        ns[len] = '\0';
    FILE *f = path != NULL ? fopen(path, "a") : NULL;
    if (f != NULL) {
        fprintf(f, "%d %s\n", (int)getpid(), ns);
        fclose(f);
    }
}

/* What it does instead of accepting its first request; returns whether to go on. */
static void misbehave(long long id)
{
    if (strcmp(mode, "broken-garbage") == 0) {
        puts("this is not JSON");
        fflush(stdout);
    } else if (strcmp(mode, "broken-crash") == 0) {
        ok(id, "");
        abort();
    } else if (strcmp(mode, "broken-silent") == 0) {
        return; /* no reply, ever */
    } else if (strcmp(mode, "broken-exit-pending") == 0) {
        ok(id, "");
        exit(0);
    } else if (strcmp(mode, "broken-bytes") == 0) {
        /* Invalid UTF-8, control characters and markup in what the stack "said". */
        ok(id, "");
        printf("{\"event\":\"done\",\"request\":%lld,\"error\":{\"code\":\"ENETWORK\","
               "\"message\":\"\xff\xfe bad \\u0001\\u001b[31m <b>&</b> | ` # \\\" \xc3\x28\"}}\n",
               id);
        fflush(stdout);
    } else if (strcmp(mode, "broken-wrong-event") == 0) {
        ok(id, "");
        printf("{\"event\":\"response\",\"request\":%lld,\"code\":\"9.99\"}\n", id);
        fflush(stdout);
    } else if (strcmp(mode, "broken-hostinfo") == 0) {
        /* Its PICS (libcoap's) says hostinfo = no; the event names the remote as hostinfo. */
        ok(id, "");
        printf("{\"event\":\"response\",\"request\":%lld,\"code\":\"2.05\",\"type\":\"ACK\","
               "\"payload_hex\":\"\",\"remote\":{\"hostinfo\":\"v4.test\",\"address\":"
               "\"127.0.0.1\",\"port\":5683}}\n",
               id);
        fflush(stdout);
    } else {
        ok(id, ""); /* broken-linger and others: accept, and never answer */
    }
}

/* A stack's timer left running, firing once its clock moves on: a datagram to the peer. */
static void send_late_datagram(void)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
    if (getaddrinfo("v4.test", "5683", &hints, &ai) != 0)
        return;
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    static const unsigned char ping[] = {0x40, 0x00, 0x12, 0x34}; /* an empty CON */
    if (fd >= 0) {
        sendto(fd, ping, sizeof ping, 0, ai->ai_addr, ai->ai_addrlen);
        close(fd);
    }
    freeaddrinfo(ai);
}

static void refuse_as_unresolvable(long long id, const struct json *cmd)
{
    printf("{\"id\":%lld,\"ok\":false,\"error\":{\"code\":\"ERESOLVE\",\"message\":"
           "\"no address for the host of %.200s\"}}\n",
           id, json_str(cmd, "uri", "?"));
    fflush(stdout);
}

int main(void)
{
    static char line[1 << 20];
    static struct json_doc doc;
    mode = getenv("COAPMX_IUT");
    if (mode == NULL)
        return 2;
    note_pid();
    signal(SIGTERM, SIG_IGN); /* a lingering driver must be killed for good */
    while (fgets(line, sizeof line, stdin) != NULL) {
        char why[128];
        json_free(&doc);
        const struct json *cmd = json_parse(&doc, line, strlen(line), why, sizeof why);
        long long id = (long long)json_num(cmd, "id", 0);
        const char *op = json_str(cmd, "op", "");
        if (strcmp(op, "hello") == 0) {
            char iuts[160];
            /* broken-lies claims to drive another IUT than the one it is asked to be. */
            snprintf(iuts, sizeof iuts,
                     ",\"stack\":\"broken\\u0007\",\"version\":\"\\u00ff\","
                     "\"iuts\":[\"%s\"]",
                     strcmp(mode, "broken-lies") == 0 ? "somebody-else" : mode);
            ok(id, iuts);
        } else if (strcmp(op, "config") == 0) {
            const struct json *t = json_get(cmd, "timing");
            char timing[400];
            snprintf(timing, sizeof timing,
                     ",\"timing\":{\"ack_timeout_ms\":%.0f,\"ack_random_factor_milli\":%.0f,"
                     "\"max_retransmit\":%.0f,\"nstart\":%.0f,\"exchange_lifetime_ms\":%.0f,"
                     "\"non_lifetime_ms\":%.0f}",
                     json_num(t, "ack_timeout_ms", 0), json_num(t, "ack_random_factor_milli", 0),
                     json_num(t, "max_retransmit", 0), json_num(t, "nstart", 0),
                     json_num(t, "exchange_lifetime_ms", 0), json_num(t, "non_lifetime_ms", 0));
            ok(id, timing);
        } else if (strcmp(op, "request") == 0 && strncmp(mode, "leftover-", 9) == 0) {
            refuse_as_unresolvable(id, cmd);
        } else if (strcmp(op, "request") == 0) {
            misbehave(id);
        } else if (strcmp(op, "sync") == 0 && strcmp(mode, "leftover-late") == 0) {
            send_late_datagram();
            ok(id, "");
        } else if (strcmp(op, "open") == 0 && strcmp(mode, "leftover-socket") == 0) {
            struct sockaddr_in any = {.sin_family = AF_INET};
            int kept = socket(AF_INET, SOCK_DGRAM, 0); /* never closed */
            if (kept >= 0)
                bind(kept, (struct sockaddr *)&any, sizeof any);
            ok(id, "");
        } else if (strcmp(op, "quit") == 0 && strcmp(mode, "broken-linger") != 0) {
            ok(id, "");
            return 0;
        } else if (strcmp(op, "quit") != 0) {
            ok(id, ""); /* open, cancel, shutdown, close */
        }
    }
    return 0;
}
