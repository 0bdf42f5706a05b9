/* Replays inputs through a fuzz target where libFuzzer is not linked in (gcc, valgrind, the
 * regression tests): `fuzz_<target> [--option=value...] FILE|DIR...`. Each input is read into
 * a buffer of exactly its size, so an overread is outside the allocation. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "transports/tests/fuzz.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(errno));
        if (f != NULL)
            fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size > 0 ? size : 1);
    bool ok = data != NULL && fread(data, 1, size, f) == size;
    fclose(f);
    if (ok)
        LLVMFuzzerTestOneInput(data, size);
    else
        fprintf(stderr, "fuzz replay: cannot read %s\n", path);
    free(data);
    return ok ? 0 : -1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* A directory's regular files, in name order; returns how many were replayed, -1 on error. */
static int replay_dir(const char *dir)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, by_name), replayed = 0;
    if (n < 0) {
        fprintf(stderr, "fuzz replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replayed >= 0)
            replayed = replay_file(path) == 0 ? replayed + 1 : -1;
        free(names[i]);
    }
    free(names);
    return replayed;
}

int main(int argc, char **argv)
{
    int total = 0;
    if (LLVMFuzzerInitialize != NULL && LLVMFuzzerInitialize(&argc, &argv) != 0)
        return 2;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (strncmp(argv[i], "--", 2) == 0)
            continue; /* the target's own options, as libFuzzer passes them on */
        int n = stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) ? replay_dir(argv[i])
                : replay_file(argv[i]) == 0                    ? 1
                                                               : -1;
        if (n < 0)
            return 1;
        total += n;
    }
    printf("replayed %d inputs without a finding\n", total);
    return total > 0 ? 0 : 1;
}
