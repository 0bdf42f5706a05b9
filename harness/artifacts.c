#include "artifacts.h"

#include <errno.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

void artifact_stem(const char *cell_name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", cell_name);
    for (char *c = buf; *c; c++)
        if (*c == '/' || *c == '@')
            *c = '_';
}

void artifact_paths(const char *cell_dir, const char *cell_name, struct artifact_paths *out)
{
    artifact_stem(cell_name, out->stem, sizeof out->stem);
    snprintf(out->peer_pcap, sizeof out->peer_pcap, "%s/%s.pcap", cell_dir, out->stem);
    snprintf(out->local_pcap, sizeof out->local_pcap, "%s/%s.local.pcap", cell_dir, out->stem);
    snprintf(out->output, sizeof out->output, "%s/output.txt", cell_dir);
    snprintf(out->result, sizeof out->result, "%s/result", cell_dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

void artifact_remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

bool artifact_of_dead_runner(const char *name, const char *prefix)
{
    size_t len = strlen(prefix);
    int owner;
    char x;
    if (strncmp(name, prefix, len) != 0 || sscanf(name + len, "%d%c", &owner, &x) != 2 ||
        x != 'x' || owner <= 0)
        return false;
    if (kill(owner, 0) != 0)
        return errno == ESRCH;
    /* A runner that died but is not reaped yet (its parent died too) is a zombie. */
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", owner);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(stat, 1, sizeof stat - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    stat[n] = '\0';
    const char *state = strrchr(stat, ')'); /* after "(comm)", which may hold anything */
    return state != NULL && state[1] == ' ' && state[2] == 'Z';
}

int artifact_mkdir_p(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0755) != 0 && errno != EEXIST ? -1 : 0;
}
