/* The run report: summary.md (transport x scenario matrix), junit.xml (one testcase per cell),
 * TAP, and the terminal matrix. */
#ifndef COAPMX_REPORT_H
#define COAPMX_REPORT_H

#include <stddef.h>
#include <stdio.h>

enum cell_status { CELL_PASS, CELL_FAIL, CELL_SKIP, CELL_ERROR /* crash or timeout */ };

#define CELL_NAME_MAX     160
#define CELL_TEXT_MAX     1024
#define CELL_OBSERVED_MAX 256

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
    char pcap[512];   /* path of the retained capture relative to the report dir, "" if none */
    char output[512]; /* path of the cell's output log relative to the report dir, "" if none */
};

const char *cell_status_name(enum cell_status status); /* "pass", "fail", "skip", "error" */

struct report_totals {
    size_t pass, fail, skip, error;
    double wall_seconds; /* of the whole run */
};

/* Writes dir/summary.md, dir/junit.xml and dir/results.tap. Returns 0 or -1 (errno set). */
int report_write(const char *dir, const struct cell_result *results, size_t n,
                 const struct report_totals *totals);

/* The matrix (rows: scenarios, columns: transports) as plain text, for the terminal. */
void report_print_matrix(FILE *out, const struct cell_result *results, size_t n,
                         const struct report_totals *totals);

#endif
