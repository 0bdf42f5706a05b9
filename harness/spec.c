#include "spec.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"

#define SPEC_LINE_MAX 16384
#define SPEC_CELLS    (SPEC_MAX_COLUMNS + 3)

/* Splits a table line "| a | b |" into trimmed cells; -1 if there are too many. */
static int split_cells(char *line, char *cells[SPEC_CELLS])
{
    int n = 0;
    char *p = line + 1; /* after the leading '|' */
    for (char *bar; (bar = strchr(p, '|')) != NULL; p = bar + 1) {
        if (n == SPEC_CELLS)
            return -1;
        *bar = '\0';
        while (isspace((unsigned char)*p))
            p++;
        char *end = bar;
        while (end > p && isspace((unsigned char)end[-1]))
            *--end = '\0';
        cells[n++] = p;
    }
    return n;
}

static bool is_row_id(const char *text)
{
    if (!isupper((unsigned char)text[0]) || !isdigit((unsigned char)text[1]))
        return false;
    for (const char *p = text + 1; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    return strlen(text) < SPEC_ID_MAX;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* "Checked by": backticked scenario ids, or "not yet checked: <reason>". */
static int parse_checkers(const char *cell, struct spec_row *row)
{
    static const char not_yet[] = "not yet checked:";
    if (strncmp(cell, not_yet, sizeof not_yet - 1) == 0) {
        const char *reason = cell + sizeof not_yet - 1;
        while (isspace((unsigned char)*reason))
            reason++;
        copy(row->not_yet, sizeof row->not_yet, reason[0] ? reason : "");
        if (row->not_yet[0] == '\0')
            copy(row->not_yet, sizeof row->not_yet, " "); /* said, without a reason */
        return 0;
    }
    for (const char *p = strchr(cell, '`'); p != NULL; p = strchr(p, '`')) {
        const char *end = strchr(p + 1, '`');
        if (end == NULL || (size_t)(end - p - 1) >= SPEC_NAME_MAX ||
            row->checker_count == SPEC_MAX_CHECKERS)
            return -1;
        snprintf(row->checkers[row->checker_count++], SPEC_NAME_MAX, "%.*s", (int)(end - p - 1),
                 p + 1);
        p = end + 1;
    }
    return 0;
}

const struct spec_row *spec_find(const struct spec *spec, const char *id)
{
    for (size_t i = 0; i < spec->count; i++)
        if (strcmp(spec->rows[i].id, id) == 0)
            return &spec->rows[i];
    return NULL;
}

static int fail_at(char *err, size_t cap, const char *path, unsigned line, const char *what)
{
    snprintf(err, cap, "%s:%u: %s", path, line, what);
    return -1;
}

int spec_load(const char *path, struct spec *out, char *err, size_t err_cap)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    static char line[SPEC_LINE_MAX];
    char header[SPEC_CELLS][SPEC_NAME_MAX];
    int header_cells = 0; /* >0 inside a table of rows */
    size_t cap = 0;
    unsigned number = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        number++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            rc = fail_at(err, err_cap, path, number, "line too long");
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != '|') {
            header_cells = 0;
            continue;
        }
        char *cells[SPEC_CELLS];
        int n = split_cells(line, cells);
        if (n < 0) {
            header_cells = 0; /* a table that is not one of rows */
            continue;
        }
        if (n >= 3 && strcmp(cells[0], "Row") == 0 && strcmp(cells[n - 1], "Checked by") == 0) {
            header_cells = n;
            for (int i = 0; i < n; i++)
                copy(header[i], SPEC_NAME_MAX, cells[i]);
            continue;
        }
        if (header_cells == 0 || !is_row_id(cells[0]))
            continue;
        if (n != header_cells) {
            char what[96];
            snprintf(what, sizeof what, "row %s has %d cells, its table's header %d", cells[0], n,
                     header_cells);
            rc = fail_at(err, err_cap, path, number, what);
            break;
        }
        if (spec_find(out, cells[0]) != NULL) {
            char what[64];
            snprintf(what, sizeof what, "row %s is listed twice", cells[0]);
            rc = fail_at(err, err_cap, path, number, what);
            break;
        }
        if (out->count == cap) {
            size_t bigger = cap ? cap * 2 : 64;
            struct spec_row *rows = realloc(out->rows, bigger * sizeof *rows);
            if (rows == NULL) {
                rc = fail_at(err, err_cap, path, number, "out of memory");
                break;
            }
            out->rows = rows;
            cap = bigger;
        }
        struct spec_row *row = &out->rows[out->count++];
        memset(row, 0, sizeof *row);
        row->line = number;
        copy(row->id, sizeof row->id, cells[0]);
        copy(row->property, sizeof row->property, cells[1]);
        for (int i = 2; i < n - 1; i++) {
            copy(row->column_names[row->column_count], SPEC_NAME_MAX, header[i]);
            copy(row->columns[row->column_count++], SPEC_TEXT_MAX, cells[i]);
        }
        if (parse_checkers(cells[n - 1], row) != 0)
            rc = fail_at(err, err_cap, path, number,
                         "bad \"Checked by\": an unclosed ` or too "
                         "many or too long scenario ids");
    }
    fclose(f);
    if (rc != 0)
        spec_free(out);
    return rc;
}

void spec_free(struct spec *spec)
{
    free(spec->rows);
    spec->rows = NULL;
    spec->count = 0;
}

void spec_row_of(const char *scenario_id, char *row, size_t cap)
{
    snprintf(row, cap, "%.*s", (int)strcspn(scenario_id, "-"), scenario_id);
}

static const struct scenario *scenario_find(const char *id)
{
    for (size_t i = 0; i < all_scenarios.count; i++)
        if (strcmp(all_scenarios.items[i]->id, id) == 0)
            return all_scenarios.items[i];
    return NULL;
}

static bool lists(const struct spec_row *row, const char *scenario_id)
{
    for (size_t i = 0; i < row->checker_count; i++)
        if (strcmp(row->checkers[i], scenario_id) == 0)
            return true;
    return false;
}

size_t spec_check(const struct spec *spec, FILE *out)
{
    size_t problems = 0;
    for (size_t i = 0; i < all_scenarios.count; i++) {
        const char *id = all_scenarios.items[i]->id;
        char row_id[SPEC_ID_MAX + 8];
        spec_row_of(id, row_id, sizeof row_id);
        const struct spec_row *row = spec_find(spec, row_id);
        if (row == NULL) {
            fprintf(out, "scenario %s: its row %s is not in the specification\n", id, row_id);
            problems++;
        } else if (!lists(row, id)) {
            fprintf(out, "row %s (line %u) does not list its scenario %s under \"Checked by\"\n",
                    row->id, row->line, id);
            problems++;
        }
    }
    for (size_t r = 0; r < spec->count; r++) {
        const struct spec_row *row = &spec->rows[r];
        for (size_t i = 0; i < row->checker_count; i++) {
            if (scenario_find(row->checkers[i]) == NULL) {
                fprintf(out, "row %s (line %u) names %s, which is no scenario\n", row->id,
                        row->line, row->checkers[i]);
                problems++;
            }
        }
        if (row->checker_count == 0 && (row->not_yet[0] == '\0' || row->not_yet[0] == ' ')) {
            fprintf(out,
                    "row %s (line %u) names no scenario and does not say why "
                    "(\"not yet checked: <reason>\")\n",
                    row->id, row->line);
            problems++;
        }
    }
    return problems;
}

/* Markdown emphasis and code marks are for the file; the terminal gets the words. */
static void print_plain(FILE *out, const char *text)
{
    for (const char *p = text; *p; p++) {
        bool emphasis = *p == '*' && (p[1] == '*' || (p > text && p[-1] == '*'));
        if (*p != '`' && !emphasis)
            fputc(*p, out);
    }
}

static void print_applicability(FILE *out, const struct coapmx_registry *registry,
                                const struct scenario *sc)
{
    const char *reasons[16];
    size_t reason_count = 0;
    fprintf(out, "        applies to:");
    size_t applies = 0, iut_count;
    const struct iut_info *const *iuts = iut_all(registry, &iut_count);
    for (size_t t = 0; t < iut_count; t++) {
        const char *why = scenario_not_applicable(sc, iuts[t]);
        if (why == NULL) {
            fprintf(out, "%s %s", applies++ ? "," : "", iuts[t]->name);
            continue;
        }
        bool known = false;
        for (size_t i = 0; i < reason_count && !known; i++)
            known = strcmp(reasons[i], why) == 0;
        if (!known && reason_count < 16)
            reasons[reason_count++] = why;
    }
    fprintf(out, "%s\n", applies ? "" : " none of the IUTs here");
    for (size_t i = 0; i < reason_count; i++) {
        fprintf(out, "        n/a for");
        size_t n = 0;
        for (size_t t = 0; t < iut_count; t++) {
            const char *why = scenario_not_applicable(sc, iuts[t]);
            if (why != NULL && strcmp(why, reasons[i]) == 0)
                fprintf(out, "%s %s", n++ ? "," : "", iuts[t]->name);
        }
        fprintf(out, ": %s\n", reasons[i]);
    }
}

static void print_row(FILE *out, const struct coapmx_registry *registry, const struct spec_row *row,
                      bool details)
{
    fprintf(out, "%-4s ", row->id);
    print_plain(out, row->property);
    fputc('\n', out);
    for (size_t c = 0; details && c < row->column_count; c++) {
        fprintf(out, "     %s: ", row->column_names[c]);
        print_plain(out, row->columns[c]);
        fputc('\n', out);
    }
    if (row->checker_count == 0)
        fprintf(out, "     not yet checked: %s\n", row->not_yet);
    for (size_t i = 0; i < row->checker_count; i++) {
        const struct scenario *sc = scenario_find(row->checkers[i]);
        if (sc == NULL) {
            fprintf(out, "     %s: no such scenario\n", row->checkers[i]);
            continue;
        }
        fprintf(out, "     %s: %s\n        kinds:", sc->id, sc->title);
        for (const char *const *k = sc->kinds; *k != NULL; k++)
            fprintf(out, " %s", *k);
        fputc('\n', out);
        print_applicability(out, registry, sc);
    }
}

int spec_main(const struct coapmx_registry *registry, int argc, char **argv)
{
    const char *path = COAPMX_SPEC_FILE;
    bool check = false;
    const char *wanted[64];
    size_t wanted_count = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--spec") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (argv[i][0] != '-' && wanted_count < 64)
            wanted[wanted_count++] = argv[i];
        else {
            fprintf(stderr, "coapmx rows: bad option %s\n", argv[i]);
            return 2;
        }
    }
    struct spec spec;
    char err[512];
    if (spec_load(path, &spec, err, sizeof err) != 0) {
        fprintf(stderr, "coapmx rows: %s\n", err);
        return 2;
    }
    int rc = 0;
    if (check) {
        size_t problems = spec_check(&spec, stdout);
        size_t unchecked = 0;
        for (size_t r = 0; r < spec.count; r++)
            unchecked += spec.rows[r].checker_count == 0;
        if (problems == 0)
            printf("%s and the scenarios agree: %zu rows (%zu not yet checked), %zu scenarios\n",
                   path, spec.count, unchecked, all_scenarios.count);
        else
            printf("%zu disagreements between %s and the scenarios\n", problems, path);
        rc = problems == 0 ? 0 : 1;
    } else {
        for (size_t w = 0; w < wanted_count; w++)
            if (spec_find(&spec, wanted[w]) == NULL) {
                fprintf(stderr, "coapmx rows: no row %s in %s\n", wanted[w], path);
                rc = 2;
            }
        for (size_t r = 0; r < spec.count && rc == 0; r++) {
            bool selected = wanted_count == 0;
            for (size_t w = 0; w < wanted_count && !selected; w++)
                selected = strcmp(wanted[w], spec.rows[r].id) == 0;
            if (selected)
                print_row(stdout, registry, &spec.rows[r], wanted_count > 0);
        }
    }
    spec_free(&spec);
    return rc;
}
