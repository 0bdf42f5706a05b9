/* The behaviour specification (scenarios/BEHAVIOUR.md) as data: its rows, what each transport
 * is expected to do, and which scenarios check each row. `coapmx rows` prints it beside the
 * scenarios' applicability, and `coapmx rows --check` keeps the two in step. */
#ifndef COAPMX_SPEC_H
#define COAPMX_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../transports/transport.h"

#define SPEC_MAX_COLUMNS  8
#define SPEC_MAX_CHECKERS 8
#define SPEC_ID_MAX       8
#define SPEC_TEXT_MAX     1024
#define SPEC_NAME_MAX     64

struct spec_row {
    char id[SPEC_ID_MAX]; /* "N3" */
    char property[SPEC_TEXT_MAX];
    size_t column_count; /* per-transport expectations, named by the table's header */
    char column_names[SPEC_MAX_COLUMNS][SPEC_NAME_MAX];
    char columns[SPEC_MAX_COLUMNS][SPEC_TEXT_MAX];
    size_t checker_count; /* scenario ids named in "Checked by" */
    char checkers[SPEC_MAX_CHECKERS][SPEC_NAME_MAX];
    char not_yet[SPEC_TEXT_MAX]; /* "not yet checked: <reason>": the reason, "" otherwise */
    unsigned line;
};

struct spec {
    struct spec_row *rows;
    size_t count;
};

/* Reads a specification file. Returns 0, or -1 with a message in err naming file and line. */
int spec_load(const char *path, struct spec *out, char *err, size_t err_cap);
void spec_free(struct spec *spec);
const struct spec_row *spec_find(const struct spec *spec, const char *id);

/* The row a scenario id belongs to: its text up to the first '-' ("N7-uri-host" -> "N7"). */
void spec_row_of(const char *scenario_id, char *row, size_t cap);

/* Every disagreement between the specification and the scenarios, one line each on out.
 * Returns how many there are. */
size_t spec_check(const struct spec *spec, FILE *out);

/* `coapmx rows [ROW...] [--check] [--spec FILE]`. */
int spec_main(const struct coapmx_registry *registry, int argc, char **argv);

#endif
