/* The run report: summary.md (transport x scenario matrix), junit.xml (one testcase per cell),
 * TAP, and the terminal matrix. */
#ifndef COAPMX_REPORT_H
#define COAPMX_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cell_status {
    CELL_PASS,
    CELL_FAIL,
    CELL_SKIP,
    CELL_ERROR, /* crash or timeout */
    CELL_XFAIL, /* failed as the IUT's PICS declares (a known deviation) */
    CELL_XPASS, /* passed although the PICS declares it fails: fails the run */
    CELL_STATUS_COUNT
};

#define CELL_NAME_MAX     160
#define CELL_TEXT_MAX     1024
#define CELL_OBSERVED_MAX 256

/* Where a cell's wall time goes, from the runner's fork to its reaping the cell. */
enum cell_phase {
    PHASE_SPAWN,    /* fork and exec of the cell, without the lane */
    PHASE_LANE,     /* the lane's set-up of the cell's network and environment */
    PHASE_PEER,     /* until the reference peer is ready */
    PHASE_BODY,     /* the scenario */
    PHASE_TEARDOWN, /* closing, the peer's exit, the result, reaping, the lane's cleanup */
    PHASE_COUNT
};
extern const char *const cell_phase_names[PHASE_COUNT];
/* Milliseconds on CLOCK_MONOTONIC: one clock for every process of a run. */
double cell_clock_ms(void);

struct cell_result {
    char name[CELL_NAME_MAX]; /* "<transport>/<scenario>/<kind>@<lane>" */
    char transport[48];
    char scenario[64];        /* scenario id, e.g. "N3-netloc-name" */
    char scenario_title[160]; /* one line */
    char kind[32];
    char lane[16];
    enum cell_status status;
    char reason[CELL_TEXT_MAX];       /* failure message or skip reason ("" on pass) */
    char observed[CELL_OBSERVED_MAX]; /* "key=value; ..." the cell recorded, compared by lane */
    double seconds;
    double phase_ms[PHASE_COUNT]; /* all 0 when the cell reported no timing (a crash) */
    char pcap[512];   /* path of the retained capture relative to the report dir, "" if none */
    char output[512]; /* path of the cell's output log relative to the report dir, "" if none */
};

const char *cell_status_name(enum cell_status status); /* "pass", "fail", "skip", ... */
/* Whether a result fails the run: fail, error, or an XPASS (a deviation that went away). */
bool cell_status_fails(enum cell_status status);
enum cell_status cell_status_of(const char *name); /* CELL_ERROR for an unknown name */

/* Makes text valid UTF-8 without control characters (but newline and tab), in place: any other
 * byte becomes "\xNN". What a cell or a driver reports may hold any bytes; every report format
 * gets it through here. Truncates at a character boundary to fit cap. */
void report_safe_text(char *text, size_t cap);

struct report_totals {
    size_t pass, fail, skip, error, xfail, xpass;
    double wall_seconds; /* of the whole run */
};
void report_totals_add(struct report_totals *t, enum cell_status status);
/* A failure, an error or an XPASS (a declared deviation that did not happen) fails the run. */
bool report_totals_failed(const struct report_totals *t);

/* Writes dir/summary.md, dir/junit.xml, dir/results.tap, dir/timings.tsv (a line per cell:
 * name, lane, status, seconds, then each phase in ms) and dir/cells.tsv (below). Returns 0 or
 * -1 (errno set). */
int report_write(const char *dir, const struct cell_result *results, size_t n,
                 const struct report_totals *totals);

/* cells.tsv: every field of every cell (any bytes in text fields survive), one line each, so
 * that a report can be read back: by the runner from its lane runners, and by `coapmx report
 * --merge` from shards. */
int report_write_cells(const char *path, const struct cell_result *results, size_t n);
/* Reads a cells.tsv into a malloc'd array. Returns 0, or -1 with err naming file and line. */
int report_read_cells(const char *path, struct cell_result **out, size_t *count,
                      double *wall_seconds, char *err, size_t err_cap);

/* The matrix (rows: scenarios, columns: transports) as plain text, for the terminal. */
void report_print_matrix(FILE *out, const struct cell_result *results, size_t n,
                         const struct report_totals *totals);

#endif
