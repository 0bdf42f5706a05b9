/* Run report writers: summary.md, junit.xml, results.tap and the terminal matrix. */
#include "report.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report_internal.h"

#define ENTRY_TEXT_MAX       64
#define TERMINAL_LABEL_WIDTH 48

struct tally {
    size_t pass, fail, skip, error, xfail, xpass;
};

/* Distinct values of one field, in first-appearance order, each as the index of its first cell. */
struct axis {
    size_t *first;
    size_t count;
};

struct matrix {
    const struct cell_result *results;
    size_t n;
    struct axis rows, cols; /* rows: scenarios, columns: transports */
};

typedef const char *(*cell_key)(const struct cell_result *cell);

const char *const cell_phase_names[PHASE_COUNT] = {"spawn", "lane", "peer", "body", "teardown"};

double cell_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *cell_status_name(enum cell_status status)
{
    switch (status) {
    case CELL_PASS:
        return "pass";
    case CELL_FAIL:
        return "fail";
    case CELL_SKIP:
        return "skip";
    case CELL_ERROR:
        return "error";
    case CELL_XFAIL:
        return "xfail";
    case CELL_XPASS:
        return "xpass";
    case CELL_STATUS_COUNT:
        break;
    }
    return "unknown";
}

bool cell_status_fails(enum cell_status status)
{
    return status == CELL_FAIL || status == CELL_ERROR || status == CELL_XPASS;
}

static const char *status_label(enum cell_status status)
{
    switch (status) {
    case CELL_FAIL:
        return "FAIL";
    case CELL_ERROR:
        return "ERROR";
    case CELL_XPASS:
        return "XPASS";
    default:
        return cell_status_name(status);
    }
}

void report_totals_add(struct report_totals *t, enum cell_status status)
{
    t->pass += status == CELL_PASS;
    t->fail += status == CELL_FAIL;
    t->skip += status == CELL_SKIP;
    t->error += status == CELL_ERROR;
    t->xfail += status == CELL_XFAIL;
    t->xpass += status == CELL_XPASS;
}

bool report_totals_failed(const struct report_totals *t)
{
    return t->fail + t->error + t->xpass > 0;
}

static void tally_add(struct tally *t, enum cell_status status)
{
    switch (status) {
    case CELL_PASS:
        t->pass++;
        break;
    case CELL_FAIL:
        t->fail++;
        break;
    case CELL_SKIP:
        t->skip++;
        break;
    case CELL_ERROR:
        t->error++;
        break;
    case CELL_XFAIL:
        t->xfail++;
        break;
    case CELL_XPASS:
        t->xpass++;
        break;
    case CELL_STATUS_COUNT:
        break;
    }
}

static size_t tally_total(const struct tally *t)
{
    return t->pass + t->fail + t->skip + t->error + t->xfail + t->xpass;
}

static struct report_totals effective_totals(const struct cell_result *results, size_t n,
                                             const struct report_totals *given)
{
    if (given != NULL)
        return *given;
    struct tally t = {0};
    for (size_t i = 0; i < n; i++)
        tally_add(&t, results[i].status);
    return (struct report_totals){.pass = t.pass,
                                  .fail = t.fail,
                                  .skip = t.skip,
                                  .error = t.error,
                                  .xfail = t.xfail,
                                  .xpass = t.xpass};
}

static void format_totals(char *buf, size_t cap, size_t cells, const struct report_totals *t)
{
    char expected[64] = "";
    if (t->xfail + t->xpass > 0) /* only where an IUT declares deviations */
        snprintf(expected, sizeof expected, ", %zu xfail, %zu XPASS", t->xfail, t->xpass);
    snprintf(buf, cap, "%zu cells: %zu pass, %zu fail, %zu skip, %zu error%s; wall time %.1f s",
             cells, t->pass, t->fail, t->skip, t->error, expected, t->wall_seconds);
}

/* ---- matrix ---- */

static const char *scenario_of(const struct cell_result *cell)
{
    return cell->scenario;
}

static const char *transport_of(const struct cell_result *cell)
{
    return cell->transport;
}

static bool axis_contains(const struct axis *axis, const struct cell_result *results, cell_key key,
                          const char *value)
{
    for (size_t i = 0; i < axis->count; i++) {
        if (strcmp(key(&results[axis->first[i]]), value) == 0)
            return true;
    }
    return false;
}

static int axis_build(struct axis *axis, const struct cell_result *results, size_t n, cell_key key)
{
    axis->count = 0;
    axis->first = malloc((n > 0 ? n : 1) * sizeof *axis->first);
    if (axis->first == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!axis_contains(axis, results, key, key(&results[i])))
            axis->first[axis->count++] = i;
    }
    return 0;
}

static void matrix_free(struct matrix *m)
{
    free(m->rows.first);
    free(m->cols.first);
}

static int matrix_build(struct matrix *m, const struct cell_result *results, size_t n)
{
    *m = (struct matrix){.results = results, .n = n};
    if (axis_build(&m->rows, results, n, scenario_of) != 0 ||
        axis_build(&m->cols, results, n, transport_of) != 0) {
        matrix_free(m);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static const struct cell_result *row_cell(const struct matrix *m, size_t row)
{
    return &m->results[m->rows.first[row]];
}

static const struct cell_result *col_cell(const struct matrix *m, size_t col)
{
    return &m->results[m->cols.first[col]];
}

static struct tally matrix_tally(const struct matrix *m, size_t row, size_t col)
{
    const char *scenario = row_cell(m, row)->scenario;
    const char *transport = col_cell(m, col)->transport;
    struct tally t = {0};
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->results[i].scenario, scenario) == 0 &&
            strcmp(m->results[i].transport, transport) == 0)
            tally_add(&t, m->results[i].status);
    }
    return t;
}

static void append_part(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append_part(char *buf, size_t cap, const char *fmt, ...)
{
    size_t used = strlen(buf);
    if (used > 0 && used + 2 < cap) {
        memcpy(buf + used, ", ", 3);
        used += 2;
    }
    if (used + 1 >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, cap - used, fmt, ap);
    va_end(ap);
}

/* "pass 3", "FAIL 1/3", "pass 1, skip 2": failures first, passes implied by the fraction. */
static void format_entry(const struct tally *t, const char *empty, char *buf, size_t cap)
{
    size_t total = tally_total(t);
    buf[0] = '\0';
    if (total == 0) {
        snprintf(buf, cap, "%s", empty);
        return;
    }
    if (t->fail > 0)
        append_part(buf, cap, "FAIL %zu/%zu", t->fail, total);
    if (t->error > 0)
        append_part(buf, cap, "ERROR %zu/%zu", t->error, total);
    if (t->xpass > 0)
        append_part(buf, cap, "XPASS %zu/%zu", t->xpass, total);
    if (t->fail == 0 && t->error == 0 && t->xpass == 0 && t->pass > 0)
        append_part(buf, cap, "pass %zu", t->pass);
    if (t->xfail > 0)
        append_part(buf, cap, "xfail %zu", t->xfail);
    if (t->skip > 0)
        append_part(buf, cap, "skip %zu", t->skip);
}

static void matrix_entry(const struct matrix *m, size_t row, size_t col, const char *empty,
                         char *buf, size_t cap)
{
    struct tally t = matrix_tally(m, row, col);
    format_entry(&t, empty, buf, cap);
}

/* ---- file helpers ---- */

static FILE *open_in_dir(const char *dir, const char *name)
{
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (len < 0 || (size_t)len >= sizeof path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return fopen(path, "w");
}

static int close_checked(FILE *f)
{
    bool failed = ferror(f) != 0;
    int saved = errno;
    if (fclose(f) != 0)
        return -1;
    if (failed) {
        errno = saved != 0 ? saved : EIO;
        return -1;
    }
    return 0;
}

typedef int (*report_writer)(FILE *f, const struct cell_result *results, size_t n,
                             const struct report_totals *totals);

static int write_file(const char *dir, const char *name, report_writer writer,
                      const struct cell_result *results, size_t n,
                      const struct report_totals *totals)
{
    FILE *f = open_in_dir(dir, name);
    if (f == NULL)
        return -1;
    errno = 0;
    if (writer(f, results, n, totals) != 0) {
        int saved = errno != 0 ? errno : EIO;
        fclose(f);
        errno = saved;
        return -1;
    }
    return close_checked(f);
}

/* ---- summary.md ---- */

/* One table cell / heading line: no line breaks, pipes escaped, HTML-looking text defused. */
static void md_inline(FILE *f, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        switch (*p) {
        case '\n':
        case '\r':
        case '\t':
            fputc(' ', f);
            break;
        case '|':
            fputs("\\|", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        default:
            fputc(*p, f);
        }
    }
}

static size_t longest_backtick_run(const char *text)
{
    size_t longest = 0, run = 0;
    for (const char *p = text; *p != '\0'; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    return longest;
}

static void md_fence(FILE *f, size_t width)
{
    fputs("  ", f);
    for (size_t i = 0; i < width; i++)
        fputc('`', f);
    fputc('\n', f);
}

/* A fenced block inside a list item keeps the reason verbatim, whatever it contains. */
static void md_code_block(FILE *f, const char *text)
{
    size_t fence = longest_backtick_run(text) + 1;
    if (fence < 3)
        fence = 3;
    md_fence(f, fence);
    fputs("  ", f);
    for (const char *p = text; *p != '\0'; p++) {
        fputc(*p, f);
        if (*p == '\n' && p[1] != '\0')
            fputs("  ", f);
    }
    if (text[0] == '\0' || text[strlen(text) - 1] != '\n')
        fputc('\n', f);
    md_fence(f, fence);
}

static void md_matrix(FILE *f, const struct matrix *m)
{
    fputs("| Scenario |", f);
    for (size_t c = 0; c < m->cols.count; c++) {
        fputc(' ', f);
        md_inline(f, col_cell(m, c)->transport);
        fputs(" |", f);
    }
    fputs("\n|---|", f);
    for (size_t c = 0; c < m->cols.count; c++)
        fputs("---|", f);
    fputc('\n', f);
    for (size_t r = 0; r < m->rows.count; r++) {
        const struct cell_result *first = row_cell(m, r);
        fputs("| `", f);
        md_inline(f, first->scenario);
        fputs("` ", f);
        md_inline(f, first->scenario_title);
        fputs(" |", f);
        for (size_t c = 0; c < m->cols.count; c++) {
            char entry[ENTRY_TEXT_MAX];
            matrix_entry(m, r, c, "\u2014", entry, sizeof entry);
            fprintf(f, " %s |", entry);
        }
        fputc('\n', f);
    }
}

static void md_links(FILE *f, const struct cell_result *cell)
{
    if (cell->pcap[0] == '\0' && cell->output[0] == '\0')
        return;
    fputs(" (", f);
    if (cell->pcap[0] != '\0')
        fprintf(f, "[pcap](%s)", cell->pcap);
    if (cell->pcap[0] != '\0' && cell->output[0] != '\0')
        fputs(", ", f);
    if (cell->output[0] != '\0')
        fprintf(f, "[output](%s)", cell->output);
    fputc(')', f);
}

static void md_failures(FILE *f, const struct cell_result *results, size_t n)
{
    fputs("\n## Failures\n\n", f);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!cell_status_fails(results[i].status))
            continue;
        if (any)
            fputc('\n', f);
        any = true;
        fprintf(f, "- `%s` **%s**", results[i].name, status_label(results[i].status));
        md_links(f, &results[i]);
        fputs("\n\n", f);
        md_code_block(f, results[i].reason);
    }
    if (!any)
        fputs("None.\n", f);
}

/* A deviation's cells share IUT, scenario and what was observed: the kind and lane parts of the
 * name aside. */
static bool same_deviation(const struct cell_result *a, const struct cell_result *b)
{
    return (a->status == CELL_XFAIL || a->status == CELL_FAIL) && a->status == b->status &&
           strcmp(a->transport, b->transport) == 0 && strcmp(a->scenario, b->scenario) == 0 &&
           strcmp(a->reason, b->reason) == 0;
}

static bool deviation_seen_before(const struct cell_result *results, size_t index)
{
    for (size_t i = 0; i < index; i++)
        if (same_deviation(&results[i], &results[index]))
            return true;
    return false;
}

/* Per IUT, each row where it does not do what the row says: observed against expected (the
 * failure message), and the PICS reason where it declares the deviation. */
static void md_deviations(FILE *f, const struct cell_result *results, size_t n)
{
    struct axis iuts;
    if (axis_build(&iuts, results, n, transport_of) != 0)
        return;
    bool heading = false;
    for (size_t t = 0; t < iuts.count; t++) {
        const char *iut = results[iuts.first[t]].transport;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            const struct cell_result *c = &results[i];
            if (strcmp(c->transport, iut) != 0 ||
                (c->status != CELL_XFAIL && c->status != CELL_FAIL) ||
                deviation_seen_before(results, i))
                continue;
            if (!heading)
                fputs("\n## Deviations\n\nPer IUT, each row where it does not do what the row "
                      "promises: what the cell observed against what was expected. An xfail is "
                      "declared in the IUT's PICS; a FAIL is not.\n",
                      f);
            heading = true;
            if (!any) {
                fputs("\n### ", f);
                md_inline(f, iut);
                fputs("\n\n| Row | Status | Cells (kind@lane) | Observed against expected |\n"
                      "|---|---|---|---|\n",
                      f);
            }
            any = true;
            fputs("| `", f);
            md_inline(f, c->scenario);
            fprintf(f, "` | %s | ", status_label(c->status));
            size_t listed = 0;
            for (size_t j = i; j < n; j++) {
                if (!same_deviation(&results[j], c))
                    continue;
                fprintf(f, "%s", listed++ ? ", " : "");
                md_inline(f, results[j].kind);
                fputc('@', f);
                md_inline(f, results[j].lane);
            }
            fputs(" | ", f);
            md_inline(f, c->reason);
            fputs(" |\n", f);
        }
    }
    free(iuts.first);
}

static bool skip_reason_seen_before(const struct cell_result *results, size_t index)
{
    for (size_t i = 0; i < index; i++) {
        if (results[i].status == CELL_SKIP && strcmp(results[i].reason, results[index].reason) == 0)
            return true;
    }
    return false;
}

static void md_skip_group(FILE *f, const struct cell_result *results, size_t n, size_t first)
{
    fputs("### ", f);
    md_inline(f, results[first].reason[0] != '\0' ? results[first].reason : "(no reason given)");
    fputs("\n\n", f);
    for (size_t i = first; i < n; i++) {
        if (results[i].status == CELL_SKIP && strcmp(results[i].reason, results[first].reason) == 0)
            fprintf(f, "- `%s`\n", results[i].name);
    }
}

static void md_skipped(FILE *f, const struct cell_result *results, size_t n)
{
    fputs("\n## Skipped\n\n", f);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (results[i].status != CELL_SKIP || skip_reason_seen_before(results, i))
            continue;
        if (any)
            fputc('\n', f);
        any = true;
        md_skip_group(f, results, n, i);
    }
    if (!any)
        fputs("None.\n", f);
}

static void md_cells(FILE *f, const struct cell_result *results, size_t n)
{
    fputs("\n## Cells\n\n| Cell | Status | Seconds | Reason |\n|---|---|---:|---|\n", f);
    for (size_t i = 0; i < n; i++) {
        const struct cell_result *cell = &results[i];
        const char *emphasis = cell_status_fails(cell->status) ? "**" : "";
        fprintf(f, "| `%s` | %s%s%s | %.2f | ", cell->name, emphasis, status_label(cell->status),
                emphasis, cell->seconds);
        md_inline(f, cell->reason);
        fputs(" |\n", f);
    }
}

/* ---- lane agreement ---- */

/* Cells name their lane after '@'; the same cell on two lanes shares everything before it. */
static bool same_cell_other_lane(const struct cell_result *a, const struct cell_result *b)
{
    const char *at_a = strrchr(a->name, '@'), *at_b = strrchr(b->name, '@');
    return at_a && at_b && at_a - a->name == at_b - b->name &&
           strncmp(a->name, b->name, (size_t)(at_a - a->name)) == 0;
}

static bool first_of_its_cell(const struct cell_result *results, size_t index)
{
    for (size_t i = 0; i < index; i++)
        if (same_cell_other_lane(&results[i], &results[index]))
            return false;
    return true;
}

/* Among the lanes that ran the cell (skips aside), do outcomes or observations differ? */
static bool lanes_disagree(const struct cell_result *results, size_t n, size_t first, size_t *ran)
{
    const struct cell_result *ref = NULL;
    bool differ = false;
    *ran = 0;
    for (size_t i = first; i < n; i++) {
        const struct cell_result *c = &results[i];
        if (!same_cell_other_lane(c, &results[first]) || c->status == CELL_SKIP)
            continue;
        (*ran)++;
        if (ref == NULL)
            ref = c;
        else if (c->status != ref->status || strcmp(c->observed, ref->observed) != 0)
            differ = true;
    }
    return differ;
}

static void md_lane_values(FILE *f, const struct cell_result *results, size_t n, size_t first)
{
    const char *at = strrchr(results[first].name, '@');
    fprintf(f, "| `%.*s` |", (int)(at - results[first].name), results[first].name);
    for (size_t i = first; i < n; i++) {
        const struct cell_result *c = &results[i];
        if (!same_cell_other_lane(c, &results[first]))
            continue;
        fprintf(f, " %s: %s", c->lane, cell_status_name(c->status));
        if (c->observed[0] != '\0') {
            fputs("; ", f);
            md_inline(f, c->observed);
        }
        fputs(" |", f);
    }
    fputc('\n', f);
}

static void md_lane_agreement(FILE *f, const struct cell_result *results, size_t n)
{
    size_t compared = 0, differing = 0, one_lane = 0;
    for (size_t i = 0; i < n; i++) {
        size_t ran, lanes = 0;
        if (!first_of_its_cell(results, i))
            continue;
        for (size_t j = i; j < n; j++)
            lanes += same_cell_other_lane(&results[j], &results[i]);
        if (lanes < 2)
            continue;
        bool differ = lanes_disagree(results, n, i, &ran);
        compared += ran >= 2;
        one_lane += ran == 1;
        if (!differ)
            continue;
        if (differing++ == 0)
            fputs("\n## Lane agreement\n\nCells that ran on several lanes and differ in outcome "
                  "or in what they observed. These are findings about the lanes (how faithful "
                  "socket_wrapper is to the kernel), not failures of ours.\n\n| Cell | Lanes "
                  "|\n|---|---|\n",
                  f);
        md_lane_values(f, results, n, i);
    }
    if (differing == 0 && compared + one_lane > 0)
        fputs("\n## Lane agreement\n\n", f);
    if (compared + one_lane > 0)
        fprintf(f,
                "\n%zu cells ran on several lanes: %zu agree, %zu differ; %zu more ran on one "
                "lane only (skipped on the others, see Skipped).\n",
                compared, compared - differing, differing, one_lane);
}

static int write_summary(FILE *f, const struct cell_result *results, size_t n,
                         const struct report_totals *totals)
{
    struct matrix m;
    if (matrix_build(&m, results, n) != 0)
        return -1;
    char line[256];
    format_totals(line, sizeof line, n, totals);
    fprintf(f, "# coapmx matrix report\n\n**Totals:** %s\n\n", line);
    md_matrix(f, &m);
    matrix_free(&m);
    md_failures(f, results, n);
    md_deviations(f, results, n);
    md_lane_agreement(f, results, n);
    md_skipped(f, results, n);
    md_cells(f, results, n);
    return 0;
}

/* ---- junit.xml ---- */

/* Length of the valid UTF-8 sequence at s that encodes an XML character, or 0. */
static size_t utf8_xml_char_length(const unsigned char *s)
{
    size_t len;
    uint32_t cp, min;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2, cp = s[0] & 0x1f, min = 0x80;
    } else if ((s[0] & 0xf0) == 0xe0) {
        len = 3, cp = s[0] & 0x0f, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4, cp = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    if (cp < min || cp > 0x10ffff || surrogate || cp == 0xfffe || cp == 0xffff)
        return 0;
    return len;
}

void report_safe_text(char *text, size_t cap)
{
    if (cap == 0)
        return;
    char *out = malloc(cap);
    if (out == NULL)
        return; /* LCOV_EXCL_LINE: OutOfMemory */
    size_t used = 0;
    for (const unsigned char *s = (const unsigned char *)text; *s != '\0';) {
        size_t len = utf8_xml_char_length(s);
        bool plain =
            len > 1 || (len == 1 && (*s >= 0x20 || *s == '\n' || *s == '\t') && *s != 0x7f);
        size_t need = plain ? len : 4;
        if (used + need + 1 > cap)
            break;
        if (plain)
            memcpy(out + used, s, len);
        else
            snprintf(out + used, 5, "\\x%02x", (unsigned)*s);
        used += need;
        s += plain ? len : 1;
    }
    out[used] = '\0';
    memcpy(text, out, used + 1);
    free(out);
}

static void xml_escape_ascii(FILE *f, unsigned char c, bool in_attribute)
{
    switch (c) {
    case '&':
        fputs("&amp;", f);
        return;
    case '<':
        fputs("&lt;", f);
        return;
    case '>':
        fputs("&gt;", f);
        return;
    case '"':
        fputs("&quot;", f);
        return;
    case '\'':
        fputs("&apos;", f);
        return;
    case '\n':
    case '\t':
    case '\r':
        /* attribute-value normalisation would turn these into spaces */
        if (in_attribute || c == '\r')
            fprintf(f, "&#%u;", (unsigned)c);
        else
            fputc(c, f);
        return;
    }
    if (c < 0x20 || c == 0x7f)
        fprintf(f, "\\x%02x", (unsigned)c); /* not representable in XML 1.0 */
    else
        fputc(c, f);
}

static void xml_escape(FILE *f, const char *text, bool in_attribute)
{
    const unsigned char *s = (const unsigned char *)text;
    while (*s != '\0') {
        size_t len = utf8_xml_char_length(s);
        if (len == 0) {
            fprintf(f, "\\x%02x", (unsigned)*s);
            s++;
        } else if (len == 1) {
            xml_escape_ascii(f, *s, in_attribute);
            s++;
        } else {
            fwrite(s, 1, len, f);
            s += len;
        }
    }
}

static void xml_attribute(FILE *f, const char *name, const char *value)
{
    fprintf(f, " %s=\"", name);
    xml_escape(f, value, true);
    fputc('"', f);
}

static void junit_problem(FILE *f, const struct cell_result *cell)
{
    const char *element = cell->status == CELL_ERROR ? "error" : "failure";
    fprintf(f, "      <%s", element);
    xml_attribute(f, "message", cell->reason);
    xml_attribute(f, "type", cell_status_name(cell->status));
    fputc('>', f);
    xml_escape(f, cell->reason, false);
    if (cell->pcap[0] != '\0') {
        fputs("\npcap: ", f);
        xml_escape(f, cell->pcap, false);
    }
    if (cell->output[0] != '\0') {
        fputs("\noutput: ", f);
        xml_escape(f, cell->output, false);
    }
    fprintf(f, "</%s>\n", element);
}

static void junit_testcase(FILE *f, const struct cell_result *cell)
{
    char classname[sizeof cell->transport + sizeof cell->scenario + 1];
    snprintf(classname, sizeof classname, "%s.%s", cell->transport, cell->scenario);
    fputs("    <testcase", f);
    xml_attribute(f, "classname", classname);
    xml_attribute(f, "name", cell->name);
    fprintf(f, " time=\"%.3f\"", cell->seconds);
    if (cell->status == CELL_PASS) {
        fputs("/>\n", f);
        return;
    }
    fputs(">\n", f);
    if (cell->status == CELL_SKIP || cell->status == CELL_XFAIL) {
        /* An expected failure is no failure: reported as skipped, as pytest does. */
        char message[CELL_TEXT_MAX + 16];
        snprintf(message, sizeof message, "%s%s", cell->status == CELL_XFAIL ? "xfail: " : "",
                 cell->reason);
        fputs("      <skipped", f);
        xml_attribute(f, "message", message);
        fputs("/>\n", f);
    } else {
        junit_problem(f, cell);
    }
    fputs("    </testcase>\n", f);
}

static void junit_counts(FILE *f, const struct tally *t, double seconds)
{
    fprintf(f, " tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\"",
            tally_total(t), t->fail + t->xpass, t->error, t->skip + t->xfail, seconds);
}

static void junit_suite(FILE *f, const struct cell_result *results, size_t n, const char *transport)
{
    struct tally t = {0};
    double seconds = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(results[i].transport, transport) == 0) {
            tally_add(&t, results[i].status);
            seconds += results[i].seconds;
        }
    }
    fputs("  <testsuite", f);
    xml_attribute(f, "name", transport);
    junit_counts(f, &t, seconds);
    fputs(">\n", f);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(results[i].transport, transport) == 0)
            junit_testcase(f, &results[i]);
    }
    fputs("  </testsuite>\n", f);
}

static int write_junit(FILE *f, const struct cell_result *results, size_t n,
                       const struct report_totals *totals)
{
    struct axis transports;
    if (axis_build(&transports, results, n, transport_of) != 0) {
        errno = ENOMEM;
        return -1;
    }
    struct tally all = {0};
    for (size_t i = 0; i < n; i++)
        tally_add(&all, results[i].status);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"coapmx\"", f);
    junit_counts(f, &all, totals->wall_seconds);
    fputs(">\n", f);
    for (size_t i = 0; i < transports.count; i++)
        junit_suite(f, results, n, results[transports.first[i]].transport);
    fputs("</testsuites>\n", f);
    free(transports.first);
    return 0;
}

/* ---- results.tap ---- */

/* A '#' in the description would start a directive. */
static void tap_description(FILE *f, const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '#')
            fputs("\\#", f);
        else if (*p == '\n' || *p == '\r')
            fputc(' ', f);
        else
            fputc(*p, f);
    }
}

static void yaml_quoted(FILE *f, const char *text)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", (unsigned)*p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void tap_diagnostics(FILE *f, const struct cell_result *cell)
{
    fprintf(f, "  ---\n  status: %s\n  message: ", cell_status_name(cell->status));
    yaml_quoted(f, cell->reason);
    fprintf(f, "\n  seconds: %.3f\n", cell->seconds);
    if (cell->pcap[0] != '\0') {
        fputs("  pcap: ", f);
        yaml_quoted(f, cell->pcap);
        fputc('\n', f);
    }
    if (cell->output[0] != '\0') {
        fputs("  output: ", f);
        yaml_quoted(f, cell->output);
        fputc('\n', f);
    }
    fputs("  ...\n", f);
}

static int write_tap(FILE *f, const struct cell_result *results, size_t n,
                     const struct report_totals *totals)
{
    (void)totals;
    fprintf(f, "TAP version 13\n1..%zu\n", n);
    for (size_t i = 0; i < n; i++) {
        const struct cell_result *cell = &results[i];
        bool not_ok = cell_status_fails(cell->status) || cell->status == CELL_XFAIL;
        fprintf(f, "%s %zu - ", not_ok ? "not ok" : "ok", i + 1);
        tap_description(f, cell->name);
        if (cell->status == CELL_SKIP || cell->status == CELL_XFAIL) {
            /* TAP's TODO is an expected failure: it does not fail the stream. */
            fputs(cell->status == CELL_SKIP ? " # SKIP " : " # TODO xfail: ", f);
            tap_description(f, cell->reason);
        }
        fputc('\n', f);
        if (cell_status_fails(cell->status))
            tap_diagnostics(f, cell);
    }
    return 0;
}

/* For scripts/bench: where each cell's time went. */
static int write_timings(FILE *f, const struct cell_result *results, size_t n,
                         const struct report_totals *totals)
{
    (void)totals;
    fputs("cell\tlane\tstatus\tseconds", f);
    for (int p = 0; p < PHASE_COUNT; p++)
        fprintf(f, "\t%s_ms", cell_phase_names[p]);
    fputc('\n', f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s\t%s\t%s\t%.4f", results[i].name, results[i].lane,
                cell_status_name(results[i].status), results[i].seconds);
        for (int p = 0; p < PHASE_COUNT; p++)
            fprintf(f, "\t%.3f", results[i].phase_ms[p]);
        fputc('\n', f);
    }
    return 0;
}

/* ---- cells.tsv: every field of every cell, for reading back ---- */

#define CELLS_TSV_HEADER                                                                           \
    "# coapmx cells 1\tname\ttransport\tscenario\ttitle\tkind\tlane\tstatus\treason\tobserved\t"   \
    "seconds\tspawn\tlane\tpeer\tbody\tteardown\tpcap\toutput"

/* Text fields may hold any bytes a driver or a peer reported: tab, newline, carriage return
 * and backslash are escaped, everything else is kept. */
static void tsv_field(FILE *f, const char *text)
{
    fputc('\t', f);
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '\t':
            fputs("\\t", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        default:
            fputc(*p, f);
        }
    }
}

static int write_cells(FILE *f, const struct cell_result *results, size_t n,
                       const struct report_totals *totals)
{
    fputs(CELLS_TSV_HEADER "\n", f);
    if (totals != NULL) /* comment lines are not cells; this one is the run's wall time */
        fprintf(f, "# wall_seconds %.3f\n", totals->wall_seconds);
    for (size_t i = 0; i < n; i++) {
        const struct cell_result *c = &results[i];
        fputs("cell", f);
        tsv_field(f, c->name);
        tsv_field(f, c->transport);
        tsv_field(f, c->scenario);
        tsv_field(f, c->scenario_title);
        tsv_field(f, c->kind);
        tsv_field(f, c->lane);
        tsv_field(f, cell_status_name(c->status));
        tsv_field(f, c->reason);
        tsv_field(f, c->observed);
        fprintf(f, "\t%.6f", c->seconds);
        for (int p = 0; p < PHASE_COUNT; p++)
            fprintf(f, "\t%.3f", c->phase_ms[p]);
        tsv_field(f, c->pcap);
        tsv_field(f, c->output);
        fputc('\n', f);
    }
    return 0;
}

/* A section of summary.md as text, for the page; NULL when out of memory. */
static char *section_text(void (*section)(FILE *, const struct cell_result *, size_t),
                          const struct cell_result *results, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return NULL;
    section(f, results, n);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    /* the page has its own heading for the section */
    memmove(text, text + strspn(text, "\n"), strlen(text + strspn(text, "\n")) + 1);
    if (text[0] == '#') {
        char *body = strchr(text, '\n');
        body = body != NULL ? body + strspn(body, "\n") : text + strlen(text);
        memmove(text, body, strlen(body) + 1);
    }
    if (text[0] == '\0') {
        free(text);
        text = strdup("(none)\n");
    }
    return text;
}

static int write_html(const char *dir, const struct cell_result *results, size_t n,
                      const struct report_totals *totals)
{
    char line[256];
    format_totals(line, sizeof line, n, totals);
    char *deviations = section_text(md_deviations, results, n);
    char *lanes = section_text(md_lane_agreement, results, n);
    FILE *f = deviations != NULL && lanes != NULL ? open_in_dir(dir, "index.html") : NULL;
    int rc = -1;
    if (f != NULL) {
        rc = report_write_html(f, dir, results, n, line, deviations, lanes);
        if (close_checked(f) != 0)
            rc = -1;
    }
    free(deviations);
    free(lanes);
    return rc;
}

int report_write(const char *dir, const struct cell_result *results, size_t n,
                 const struct report_totals *totals)
{
    struct report_totals t = effective_totals(results, n, totals);
    if (write_file(dir, "summary.md", write_summary, results, n, &t) != 0 ||
        write_file(dir, "junit.xml", write_junit, results, n, &t) != 0 ||
        write_file(dir, "results.tap", write_tap, results, n, &t) != 0 ||
        write_file(dir, "timings.tsv", write_timings, results, n, &t) != 0 ||
        write_file(dir, "cells.tsv", write_cells, results, n, &t) != 0 ||
        write_html(dir, results, n, &t) != 0)
        return -1;
    return 0;
}

int report_write_cells(const char *path, const struct cell_result *results, size_t n)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    write_cells(f, results, n, NULL);
    return close_checked(f);
}

/* Unescapes one field in place; false on a bad escape. */
static bool tsv_unescape(char *text)
{
    char *out = text;
    for (const char *p = text; *p; p++) {
        if (*p != '\\') {
            *out++ = *p;
            continue;
        }
        switch (*++p) {
        case 't':
            *out++ = '\t';
            break;
        case 'n':
            *out++ = '\n';
            break;
        case 'r':
            *out++ = '\r';
            break;
        case '\\':
            *out++ = '\\';
            break;
        default:
            return false;
        }
    }
    *out = '\0';
    return true;
}

static enum cell_status status_of(const char *name, bool *ok)
{
    for (int s = CELL_PASS; s < CELL_STATUS_COUNT; s++)
        if (strcmp(name, cell_status_name((enum cell_status)s)) == 0)
            return (enum cell_status)s;
    *ok = false;
    return CELL_ERROR;
}

enum cell_status cell_status_of(const char *name)
{
    bool ok = true;
    return status_of(name, &ok);
}

/* One "cell" line into r; false if it is not one. */
static bool parse_cell_line(char *line, struct cell_result *r)
{
    char *fields[20];
    size_t n = 0;
    for (char *p = line, *tab; n < 20; p = tab + 1) {
        fields[n++] = p;
        if ((tab = strchr(p, '\t')) == NULL)
            break;
        *tab = '\0';
    }
    if (n != 18 || strcmp(fields[0], "cell") != 0)
        return false;
    for (size_t i = 1; i < n; i++)
        if (!tsv_unescape(fields[i]))
            return false;
    bool ok = true;
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", fields[1]);
    snprintf(r->transport, sizeof r->transport, "%s", fields[2]);
    snprintf(r->scenario, sizeof r->scenario, "%s", fields[3]);
    snprintf(r->scenario_title, sizeof r->scenario_title, "%s", fields[4]);
    snprintf(r->kind, sizeof r->kind, "%s", fields[5]);
    snprintf(r->lane, sizeof r->lane, "%s", fields[6]);
    r->status = status_of(fields[7], &ok);
    snprintf(r->reason, sizeof r->reason, "%s", fields[8]);
    snprintf(r->observed, sizeof r->observed, "%s", fields[9]);
    char *end;
    r->seconds = strtod(fields[10], &end);
    ok = ok && *end == '\0';
    for (int p = 0; p < PHASE_COUNT; p++) {
        r->phase_ms[p] = strtod(fields[11 + p], &end);
        ok = ok && *end == '\0';
    }
    snprintf(r->pcap, sizeof r->pcap, "%s", fields[16]);
    snprintf(r->output, sizeof r->output, "%s", fields[17]);
    return ok;
}

int report_read_cells(const char *path, struct cell_result **out, size_t *count,
                      double *wall_seconds, char *err, size_t err_cap)
{
    *out = NULL;
    *count = 0;
    if (wall_seconds != NULL)
        *wall_seconds = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    static char line[16384];
    size_t cap = 0, number = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        number++;
        line[strcspn(line, "\n")] = '\0';
        if (number == 1) {
            if (strncmp(line, "# coapmx cells 1\t", 17) != 0) {
                snprintf(err, err_cap, "%s: not a coapmx cells.tsv (first line)", path);
                rc = -1;
            }
            continue;
        }
        if (line[0] == '#') {
            double wall;
            if (wall_seconds != NULL && sscanf(line, "# wall_seconds %lf", &wall) == 1)
                *wall_seconds = wall;
            continue;
        }
        if (*count == cap) {
            size_t bigger = cap ? cap * 2 : 256;
            struct cell_result *items = realloc(*out, bigger * sizeof *items);
            if (items == NULL) {
                snprintf(err, err_cap, "%s: out of memory", path);
                rc = -1;
                break;
            }
            *out = items;
            cap = bigger;
        }
        if (!parse_cell_line(line, &(*out)[*count])) {
            snprintf(err, err_cap, "%s:%zu: not a cell line", path, number);
            rc = -1;
            break;
        }
        (*count)++;
    }
    if (rc == 0 && number == 0) {
        snprintf(err, err_cap, "%s: empty", path);
        rc = -1;
    }
    fclose(f);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

/* ---- terminal ---- */

/* Columns on a terminal: UTF-8 continuation bytes take no column of their own. */
static size_t display_width(const char *text)
{
    size_t width = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        width += (*p & 0xc0) != 0x80;
    return width;
}

static void truncate_to_width(char *text, size_t width)
{
    size_t seen = 0;
    for (unsigned char *p = (unsigned char *)text; *p != '\0'; p++) {
        if ((*p & 0xc0) != 0x80 && seen++ == width) {
            *p = '\0';
            return;
        }
    }
}

static void row_label(const struct matrix *m, size_t row, char *buf, size_t cap)
{
    /* The ID alone: it names the BEHAVIOUR.md row; titles are in summary.md. */
    const struct cell_result *first = row_cell(m, row);
    snprintf(buf, cap, "%s", first->scenario);
    for (char *p = buf; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    }
    truncate_to_width(buf, TERMINAL_LABEL_WIDTH);
}

static void print_padded(FILE *out, const char *text, size_t width)
{
    fputs(text, out);
    for (size_t w = display_width(text); w < width; w++)
        fputc(' ', out);
}

static size_t label_column_width(const struct matrix *m)
{
    size_t width = display_width("scenario");
    for (size_t r = 0; r < m->rows.count; r++) {
        char label[CELL_NAME_MAX + 160];
        row_label(m, r, label, sizeof label);
        if (display_width(label) > width)
            width = display_width(label);
    }
    return width;
}

static size_t transport_column_width(const struct matrix *m, size_t col)
{
    size_t width = display_width(col_cell(m, col)->transport);
    for (size_t r = 0; r < m->rows.count; r++) {
        char entry[ENTRY_TEXT_MAX];
        matrix_entry(m, r, col, "-", entry, sizeof entry);
        if (display_width(entry) > width)
            width = display_width(entry);
    }
    return width;
}

static void print_matrix_rows(FILE *out, const struct matrix *m, const size_t *widths,
                              size_t label_width)
{
    print_padded(out, "scenario", label_width);
    for (size_t c = 0; c < m->cols.count; c++) {
        fputs("  ", out);
        print_padded(out, col_cell(m, c)->transport, c + 1 < m->cols.count ? widths[c] : 0);
    }
    fputc('\n', out);
    for (size_t r = 0; r < m->rows.count; r++) {
        char label[CELL_NAME_MAX + 160];
        row_label(m, r, label, sizeof label);
        print_padded(out, label, label_width);
        for (size_t c = 0; c < m->cols.count; c++) {
            char entry[ENTRY_TEXT_MAX];
            matrix_entry(m, r, c, "-", entry, sizeof entry);
            fputs("  ", out);
            print_padded(out, entry, c + 1 < m->cols.count ? widths[c] : 0);
        }
        fputc('\n', out);
    }
}

static void print_one_line(FILE *out, const char *text)
{
    for (const char *p = text; *p != '\0'; p++)
        fputc(*p == '\n' || *p == '\r' ? ' ' : *p, out);
}

static void print_failure_lines(FILE *out, const struct cell_result *results, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!cell_status_fails(results[i].status))
            continue;
        fprintf(out, "%-5s %s: ", status_label(results[i].status), results[i].name);
        print_one_line(out, results[i].reason);
        fputc('\n', out);
    }
}

static bool print_matrix_table(FILE *out, const struct cell_result *results, size_t n)
{
    struct matrix m;
    if (matrix_build(&m, results, n) != 0)
        return false;
    size_t *widths = malloc((m.cols.count > 0 ? m.cols.count : 1) * sizeof *widths);
    if (widths != NULL) {
        for (size_t c = 0; c < m.cols.count; c++)
            widths[c] = transport_column_width(&m, c);
        print_matrix_rows(out, &m, widths, label_column_width(&m));
    }
    bool printed = widths != NULL;
    free(widths);
    matrix_free(&m);
    return printed;
}

void report_print_matrix(FILE *out, const struct cell_result *results, size_t n,
                         const struct report_totals *totals)
{
    if (!print_matrix_table(out, results, n))
        fputs("(matrix unavailable: out of memory)\n", out);
    struct report_totals t = effective_totals(results, n, totals);
    char line[256];
    format_totals(line, sizeof line, n, &t);
    fprintf(out, "%s\n", line);
    print_failure_lines(out, results, n);
}
