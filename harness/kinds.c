#include "kinds.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "lane.h"

static const struct address_kind all_kinds[] = {
    {"v4", KIND_LITERAL, AF_INET, NULL},
    {"v6", KIND_LITERAL, AF_INET6, NULL},
    {"v4.test", KIND_NAME, 0, "v4.test"},
    {"v6.test", KIND_NAME, 0, "v6.test"},
    {"dual.test", KIND_NAME, 0, "dual.test"},
    {"dual4.test", KIND_NAME, 0, "dual4.test"},
    {"twin4.test", KIND_NAME, 0, "twin4.test"},
    {"mapped", KIND_MAPPED, AF_INET6, NULL},
    {"v6-link", KIND_LINK_LOCAL, AF_INET6, NULL},
    {"group4", KIND_GROUP, AF_INET, "224.0.1.187"},
    {"group6-link", KIND_GROUP, AF_INET6, "ff02::fd"},
    {"group6-site", KIND_GROUP, AF_INET6, "ff05::fd"},
    {"group-name", KIND_GROUP, AF_INET, "all-coap.test"},
    {"unknown", KIND_UNRESOLVABLE, 0, "nonexistent.test"},
};

const struct address_kind *kind_find(const char *name)
{
    for (size_t i = 0; i < sizeof all_kinds / sizeof all_kinds[0]; i++)
        if (strcmp(all_kinds[i].name, name) == 0)
            return &all_kinds[i];
    return NULL;
}

int kind_host(const struct address_kind *kind, const struct lane *lane, char *buf, size_t cap)
{
    int n;
    switch (kind->cls) {
    case KIND_LITERAL:
        n = snprintf(buf, cap, "%s", kind->family == AF_INET ? lane->peer_v4 : lane->peer_v6);
        break;
    case KIND_MAPPED:
        n = snprintf(buf, cap, "::ffff:%s", lane->peer_v4);
        break;
    case KIND_LINK_LOCAL: /* empty on a lane without: the cell is skipped */
        n = lane->peer_v6_link == NULL
                ? snprintf(buf, cap, "%s", "")
                : snprintf(buf, cap, "%s%%%s", lane->peer_v6_link, lane->client_ifname);
        break;
    default:
        n = snprintf(buf, cap, "%s", kind->host);
        break;
    }
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}
