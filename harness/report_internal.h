/* Between report.c and report_html.c: the page is one more format of the same report. */
#ifndef COAPMX_REPORT_INTERNAL_H
#define COAPMX_REPORT_INTERNAL_H

#include <stdio.h>

#include "report.h"

/* index.html into f. dir is the report directory (the cells' files are read from it); totals
 * is the totals line, deviations and lane_agreement summary.md's sections as text. */
int report_write_html(FILE *f, const char *dir, const struct cell_result *results, size_t n,
                      const char *totals, const char *deviations, const char *lane_agreement);

#endif
