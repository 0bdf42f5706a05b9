/* Expands scenarios x transports x address kinds x lanes into cells and runs them, each in its
 * own process group, in parallel, under a time limit. */
#ifndef COAPMX_RUNNER_H
#define COAPMX_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "../transports/transport.h"
#include "report.h"

#define RUNNER_MAX_PATTERNS   256
#define RUNNER_MAX_WRAP_WORDS 32

struct runner_options {
    const char *patterns[RUNNER_MAX_PATTERNS]; /* glob or substring of the cell name; any */
    size_t pattern_count;
    const char *exact;             /* one cell by its full name */
    const char *cells_file;        /* --cells: exactly the cells it names, a full name per line */
    const char *const *cell_names; /* its names (read once, kept for the process's life) */
    size_t cell_name_count;
    const char *transport;  /* only this transport */
    const char *lane;       /* "swrap", ..., or NULL/"all" */
    const char *report_dir; /* default "report" */
    unsigned jobs;          /* 0: number of CPUs */
    unsigned timeout_s;     /* per cell; 0: 60 */
    const char *seed;       /* run seed (mixed with each cell's name); NULL: 1 */
    const char *protocol;   /* "ack_timeout_ms=...,..." for every cell; NULL: RFC 7252 values */
    const char *wrap;       /* a command line the cell runs under, e.g. "valgrind -q"; NULL: none */
    bool keep_pcaps;
    bool quiet;
    bool fail_fast; /* start no cell once one has failed (scripts/mutate: a kill is enough) */
    const char *results_path;    /* set in a lane runner: where its cells' results go */
    const char *runner_lane;     /* set in a lane runner: its lane */
    unsigned shard, shard_count; /* --shard K/N: only the K-th of N balanced parts (0: all) */
};

struct cell_list {
    struct cell_result *items; /* names and axes filled; status unset */
    size_t count;
};

int runner_select(const struct coapmx_registry *registry, const struct runner_options *opt,
                  struct cell_list *out);
void cell_list_free(struct cell_list *list);

/* Runs the selected cells; fills their results; writes the report. Returns 0 if no cell failed
 * or errored, 77 if every cell was skipped, 1 otherwise, 2 on a usage or setup error. */
int runner_run(const struct coapmx_registry *registry, const struct runner_options *opt,
               struct cell_list *cells);

/* Parses run/list options shared by `coapmx` and `coapmx-selfcheck`. Returns 0 or -1. */
int runner_parse_options(int argc, char **argv, struct runner_options *opt, bool *ctest,
                         const char **ctest_root);

#endif
