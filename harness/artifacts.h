/* Where a cell's artefacts live. Every file carries the cell's variant in its name
 * (<transport>_<scenario>_<kind>_<lane>), so a pcap found alone still says what it shows. */
#ifndef COAPMX_ARTIFACTS_H
#define COAPMX_ARTIFACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "report.h"

struct artifact_paths {
    char stem[CELL_NAME_MAX]; /* the cell name with '/' and '@' as '_' */
    char peer_pcap[1400];     /* the reference peer's capture: the cell's view of the wire */
    char local_pcap[1400];    /* the transport side's own capture */
    char output[1400];
    char result[1400];
};

void artifact_paths(const char *cell_dir, const char *cell_name, struct artifact_paths *out);
/* Just the stem, e.g. for a cell directory name. */
void artifact_stem(const char *cell_name, char *buf, size_t cap);
/* mkdir -p. Returns 0 or -1 (errno set). */
int artifact_mkdir_p(const char *path);
/* rm -rf, without following symlinks. */
void artifact_remove_tree(const char *path);

/* Whether `name` is "<prefix><pid>x..." for a runner pid that no longer runs: what a runner
 * that died left behind (scratch directories, namespaces). */
bool artifact_of_dead_runner(const char *name, const char *prefix);

/* Scratch directories: short paths under /tmp named by runner and slot ("<pid>x<slot>"). */
#define ARTIFACT_SCRATCH_PREFIX "/tmp/coapmx-"

#endif
