/* Unit tests for harness/report.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/report.h"

#define CELL_COUNT 10

static char temp_dir[64];
static struct cell_result cells[CELL_COUNT];

static const char *const report_files[] = {"summary.md", "junit.xml", "results.tap", "timings.tsv",
                                           "cells.tsv"};

static void set_cell(struct cell_result *cell, const char *transport, const char *scenario,
                     const char *title, const char *kind_lane, enum cell_status status,
                     const char *reason, double seconds)
{
    memset(cell, 0, sizeof *cell);
    snprintf(cell->name, sizeof cell->name, "%s/%s/%s", transport, scenario, kind_lane);
    snprintf(cell->transport, sizeof cell->transport, "%s", transport);
    snprintf(cell->scenario, sizeof cell->scenario, "%s", scenario);
    snprintf(cell->scenario_title, sizeof cell->scenario_title, "%s", title);
    snprintf(cell->kind, sizeof cell->kind, "%.*s", (int)strcspn(kind_lane, "@"), kind_lane);
    snprintf(cell->lane, sizeof cell->lane, "%s", strchr(kind_lane, '@') + 1);
    cell->status = status;
    snprintf(cell->reason, sizeof cell->reason, "%s", reason);
    cell->seconds = seconds;
}

#define N1 "N1-basic", "Basic GET & <friends>"
#define N2 "N2-block", "Block2 transfer"
#define N3 "N3-netloc-name", "Netloc by name"

static const char fail_reason[] = "expected \"2.05\" & got <4.04> 'x'\nsecond line";
static const char error_reason[] = "timeout after 5 s\x01";

static void make_cells(void)
{
    set_cell(&cells[0], "udp-posix", N1, "get@v4", CELL_PASS, "", 0.25);
    set_cell(&cells[1], "udp-posix", N1, "get@v6", CELL_PASS, "", 0.5);
    set_cell(&cells[2], "udp-posix", N2, "block2@v4", CELL_FAIL, fail_reason, 1.0);
    snprintf(cells[2].pcap, sizeof cells[2].pcap, "cells/2.pcap");
    snprintf(cells[2].output, sizeof cells[2].output, "cells/2.log");
    set_cell(&cells[3], "udp-posix", N3, "name@v4", CELL_SKIP, "no IPv6 on host", 0.0);
    set_cell(&cells[4], "udp-libcoap", N1, "get@v4", CELL_ERROR, error_reason, 5.0);
    set_cell(&cells[5], "udp-libcoap", N2, "block2@v4", CELL_PASS, "", 0.75);
    set_cell(&cells[6], "udp-libcoap", N3, "name@v4", CELL_SKIP, "no IPv6 on host", 0.0);
    set_cell(&cells[7], "udp-libcoap", N3, "name@v6", CELL_SKIP, "needs <resolver> | DNS", 0.0);
    set_cell(&cells[8], "udp-posix", N2, "block2@v6", CELL_PASS, "", 0.5);
    set_cell(&cells[9], "udp-libcoap", N3, "name@lo", CELL_PASS, "", 0.125);
}

static const char *temp_path(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", temp_dir, name);
    return path;
}

static char *slurp(const char *name)
{
    FILE *f = fopen(temp_path(name), "r");
    if (f == NULL)
        return NULL;
    static char text[3][16384];
    static unsigned next;
    char *buf = text[next++ % 3];
    size_t len = fread(buf, 1, sizeof text[0] - 1, f);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

static char *slurp_stream(FILE *f)
{
    static char text[16384];
    rewind(f);
    size_t len = fread(text, 1, sizeof text - 1, f);
    text[len] = '\0';
    return text;
}

static size_t occurrences(const char *haystack, const char *needle)
{
    size_t count = 0;
    for (const char *p = strstr(haystack, needle); p != NULL; p = strstr(p + 1, needle))
        count++;
    return count;
}

static void assert_starts_with(const char *text, const char *prefix)
{
    if (strncmp(text, prefix, strlen(prefix)) != 0)
        fail_msg("expected to start with \"%s\":\n%s", prefix, text);
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("missing \"%s\" in:\n%s", needle, haystack);
}

static int write_report(void **state)
{
    (void)state;
    snprintf(temp_dir, sizeof temp_dir, "/tmp/coapmx-test-report-XXXXXX");
    if (mkdtemp(temp_dir) == NULL)
        return -1;
    make_cells();
    struct report_totals totals = {
        .pass = 5, .fail = 1, .skip = 3, .error = 1, .wall_seconds = 12.34};
    return report_write(temp_dir, cells, CELL_COUNT, &totals);
}

static int remove_report(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof report_files / sizeof report_files[0]; i++)
        unlink(temp_path(report_files[i]));
    return rmdir(temp_dir);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(cell_status_name(CELL_PASS), "pass");
    assert_string_equal(cell_status_name(CELL_FAIL), "fail");
    assert_string_equal(cell_status_name(CELL_SKIP), "skip");
    assert_string_equal(cell_status_name(CELL_ERROR), "error");
}

static void test_files_exist(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof report_files / sizeof report_files[0]; i++)
        assert_int_equal(access(temp_path(report_files[i]), R_OK), 0);
}

static void test_summary_matrix(void **state)
{
    (void)state;
    const char *md = slurp("summary.md");
    assert_non_null(md);
    assert_starts_with(md, "# coapmx matrix report\n\n**Totals:** ");
    assert_contains(md, "10 cells: 5 pass, 1 fail, 3 skip, 1 error; wall time 12.3 s");
    assert_contains(md, "| Scenario | udp-posix | udp-libcoap |\n");
    assert_contains(md, "| `N1-basic` Basic GET &amp; &lt;friends&gt; | pass 2 | ERROR 1/1 |\n");
    assert_contains(md, "| `N2-block` Block2 transfer | FAIL 1/2 | pass 1 |\n");
    assert_contains(md, "| `N3-netloc-name` Netloc by name | skip 1 | pass 1, skip 2 |\n");
    /* rows in first-appearance order */
    assert_true(strstr(md, "`N1-basic`") < strstr(md, "`N2-block`"));
    assert_true(strstr(md, "`N2-block`") < strstr(md, "`N3-netloc-name`"));
}

static void test_summary_sections(void **state)
{
    (void)state;
    const char *md = slurp("summary.md");
    assert_non_null(md);
    const char *failures = strstr(md, "\n## Failures\n");
    const char *skipped = strstr(md, "\n## Skipped\n");
    const char *cells_section = strstr(md, "\n## Cells\n");
    assert_non_null(failures);
    assert_non_null(skipped);
    assert_non_null(cells_section);
    assert_true(failures < skipped && skipped < cells_section);
    assert_contains(failures, "- `udp-posix/N2-block/block2@v4` **FAIL** "
                              "([pcap](cells/2.pcap), [output](cells/2.log))");
    assert_contains(failures, "  expected \"2.05\" & got <4.04> 'x'\n  second line\n");
    assert_contains(failures, "- `udp-libcoap/N1-basic/get@v4` **ERROR**");
    assert_contains(skipped, "### no IPv6 on host\n\n- `udp-posix/N3-netloc-name/name@v4`\n"
                             "- `udp-libcoap/N3-netloc-name/name@v4`\n");
    assert_contains(skipped, "### needs &lt;resolver&gt; \\| DNS\n\n"
                             "- `udp-libcoap/N3-netloc-name/name@v6`\n");
    assert_contains(cells_section, "| `udp-posix/N1-basic/get@v4` | pass | 0.25 |  |\n");
    assert_contains(cells_section, "| `udp-posix/N2-block/block2@v4` | **FAIL** | 1.00 | "
                                   "expected \"2.05\" &amp; got &lt;4.04&gt; 'x' second line |\n");
    assert_int_equal(occurrences(cells_section, "\n| `"), CELL_COUNT);
}

static void test_junit_structure(void **state)
{
    (void)state;
    const char *xml = slurp("junit.xml");
    assert_non_null(xml);
    assert_starts_with(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    assert_contains(xml, "<testsuites name=\"coapmx\" tests=\"10\" failures=\"1\" errors=\"1\" "
                         "skipped=\"3\" time=\"12.340\">");
    assert_int_equal(occurrences(xml, "<testcase "), CELL_COUNT);
    assert_int_equal(occurrences(xml, "<testsuite "), 2);
    assert_int_equal(occurrences(xml, "</testsuite>"), 2);
    assert_int_equal(occurrences(xml, "<failure "), 1);
    assert_int_equal(occurrences(xml, "<error "), 1);
    assert_int_equal(occurrences(xml, "<skipped "), 3);
    assert_contains(xml, "<testsuite name=\"udp-posix\" tests=\"5\" failures=\"1\" errors=\"0\" "
                         "skipped=\"1\" time=\"2.250\">");
    assert_contains(xml, "<testsuite name=\"udp-libcoap\" tests=\"5\" failures=\"0\" "
                         "errors=\"1\" skipped=\"2\" time=\"5.875\">");
    assert_contains(xml, "<testcase classname=\"udp-posix.N1-basic\" "
                         "name=\"udp-posix/N1-basic/get@v4\" time=\"0.250\"/>");
}

static void test_junit_escaping(void **state)
{
    (void)state;
    const char *xml = slurp("junit.xml");
    assert_non_null(xml);
    assert_contains(xml, "<failure message=\"expected &quot;2.05&quot; &amp; got &lt;4.04&gt; "
                         "&apos;x&apos;&#10;second line\" type=\"fail\">");
    assert_contains(xml, ">expected &quot;2.05&quot; &amp; got &lt;4.04&gt; &apos;x&apos;\n"
                         "second line\npcap: cells/2.pcap\noutput: cells/2.log</failure>");
    assert_contains(xml, "<error message=\"timeout after 5 s\\x01\" type=\"error\">");
    assert_contains(xml, "<skipped message=\"needs &lt;resolver&gt; | DNS\"/>");
    assert_null(strchr(xml, '\x01'));
    assert_null(strstr(xml, "<4.04>"));
}

static void test_junit_parses(void **state)
{
    (void)state;
    if (access("/usr/bin/python3", X_OK) != 0)
        skip();
    char command[256];
    snprintf(command, sizeof command,
             "/usr/bin/python3 -c 'import sys, xml.dom.minidom; "
             "xml.dom.minidom.parse(sys.argv[1])' '%s'",
             temp_path("junit.xml"));
    assert_int_equal(system(command), 0);
}

static void test_tap(void **state)
{
    (void)state;
    const char *tap = slurp("results.tap");
    assert_non_null(tap);
    assert_starts_with(tap, "TAP version 13\n1..10\nok 1 - udp-posix/N1-basic/get@v4\n");
    assert_contains(tap, "\nok 2 - udp-posix/N1-basic/get@v6\n");
    assert_contains(tap, "\nnot ok 3 - udp-posix/N2-block/block2@v4\n  ---\n  status: fail\n"
                         "  message: \"expected \\\"2.05\\\" & got <4.04> 'x'\\nsecond line\"\n"
                         "  seconds: 1.000\n  pcap: \"cells/2.pcap\"\n"
                         "  output: \"cells/2.log\"\n  ...\n");
    assert_contains(tap, "\nok 4 - udp-posix/N3-netloc-name/name@v4 # SKIP no IPv6 on host\n");
    assert_contains(tap, "\nnot ok 5 - udp-libcoap/N1-basic/get@v4\n  ---\n  status: error\n"
                         "  message: \"timeout after 5 s\\x01\"\n");
    assert_contains(tap, "\nok 10 - udp-libcoap/N3-netloc-name/name@lo\n");
    assert_int_equal(occurrences(tap, "\nok "), 8);
    assert_int_equal(occurrences(tap, "\nnot ok "), 2);
    assert_int_equal(occurrences(tap, "# SKIP"), 3);
}

static void test_terminal_matrix(void **state)
{
    (void)state;
    FILE *out = tmpfile();
    assert_non_null(out);
    struct report_totals totals = {.pass = 5, .fail = 1, .skip = 3, .error = 1, .wall_seconds = 2};
    report_print_matrix(out, cells, CELL_COUNT, &totals);
    const char *text = slurp_stream(out);
    const char *header = strstr(text, "scenario");
    const char *row = strstr(text, "N2-block ");
    assert_ptr_equal(header, text);
    assert_non_null(row);
    /* columns line up: each transport's entries start where its heading starts */
    const char *heading_column = strstr(text, "udp-libcoap");
    const char *entry = strstr(row, "pass 1");
    assert_non_null(heading_column);
    assert_non_null(entry);
    assert_int_equal(heading_column - text, entry - row);
    assert_contains(text, "FAIL 1/2");
    assert_contains(text, "\n10 cells: 5 pass, 1 fail, 3 skip, 1 error; wall time 2.0 s\n");
    assert_contains(text, "\nFAIL  udp-posix/N2-block/block2@v4: expected \"2.05\" & got "
                          "<4.04> 'x' second line\n");
    assert_contains(text, "\nERROR udp-libcoap/N1-basic/get@v4: timeout after 5 s");
    assert_null(strchr(text, '|'));
    fclose(out);
}

static void test_missing_entries(void **state)
{
    (void)state;
    struct cell_result two[2];
    set_cell(&two[0], "udp-a", "S1", "First", "k@v4", CELL_PASS, "", 1);
    set_cell(&two[1], "udp-b", "S2", "Second", "k@v4", CELL_SKIP, "why", 1);
    FILE *out = tmpfile();
    assert_non_null(out);
    report_print_matrix(out, two, 2, NULL);
    const char *text = slurp_stream(out);
    assert_contains(text, "S1        pass 1  -\n");
    assert_contains(text, "S2        -       skip 1\n");
    assert_contains(text, "2 cells: 1 pass, 0 fail, 1 skip, 0 error");
    fclose(out);

    assert_int_equal(report_write(temp_dir, two, 2, NULL), 0);
    const char *md = slurp("summary.md");
    assert_contains(md, "| `S1` First | pass 1 | \u2014 |\n");
    assert_contains(md, "## Failures\n\nNone.\n");
    assert_int_equal(report_write(temp_dir, cells, CELL_COUNT, NULL), 0);
}

static void test_empty_run(void **state)
{
    (void)state;
    assert_int_equal(report_write(temp_dir, NULL, 0, NULL), 0);
    assert_contains(slurp("results.tap"), "TAP version 13\n1..0\n");
    assert_int_equal(occurrences(slurp("junit.xml"), "<testsuite "), 0);
    assert_int_equal(report_write(temp_dir, cells, CELL_COUNT, NULL), 0);
}

static void test_unwritable_dir(void **state)
{
    (void)state;
    errno = 0;
    assert_int_equal(report_write("/nonexistent/coapmx-report", cells, CELL_COUNT, NULL), -1);
    assert_int_equal(errno, ENOENT);
}

/* cells.tsv gives back every field, with tabs, newlines, backslashes and other bytes intact. */
static void test_cells_round_trip(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof path, "%s/cells.tsv", temp_dir);
    cells[4].phase_ms[PHASE_BODY] = 12.5;
    snprintf(cells[4].observed, sizeof cells[4].observed, "errno=\tE\\x\r\n\xff");
    assert_int_equal(report_write_cells(path, cells, CELL_COUNT), 0);
    struct cell_result *back;
    size_t n;
    char err[256];
    assert_int_equal(report_read_cells(path, &back, &n, NULL, err, sizeof err), 0);
    assert_int_equal(n, CELL_COUNT);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(back[i].name, cells[i].name);
        assert_string_equal(back[i].reason, cells[i].reason);
        assert_string_equal(back[i].observed, cells[i].observed);
        assert_string_equal(back[i].pcap, cells[i].pcap);
        assert_int_equal(back[i].status, cells[i].status);
        assert_true(back[i].seconds == cells[i].seconds);
        assert_true(back[i].phase_ms[PHASE_BODY] == cells[i].phase_ms[PHASE_BODY]);
    }
    free(back);
    FILE *f = fopen(path, "a");
    fputs("cell\tbroken line\n", f);
    fclose(f);
    assert_int_equal(report_read_cells(path, &back, &n, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, ":12: not a cell line"));
    f = fopen(path, "w");
    fputs("name\tstatus\n", f);
    fclose(f);
    assert_int_equal(report_read_cells(path, &back, &n, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a coapmx cells.tsv"));
    cells[4].phase_ms[PHASE_BODY] = 0;
    cells[4].observed[0] = '\0';
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),     cmocka_unit_test(test_files_exist),
        cmocka_unit_test(test_summary_matrix),   cmocka_unit_test(test_summary_sections),
        cmocka_unit_test(test_junit_structure),  cmocka_unit_test(test_junit_escaping),
        cmocka_unit_test(test_junit_parses),     cmocka_unit_test(test_tap),
        cmocka_unit_test(test_terminal_matrix),  cmocka_unit_test(test_missing_entries),
        cmocka_unit_test(test_empty_run),        cmocka_unit_test(test_unwritable_dir),
        cmocka_unit_test(test_cells_round_trip),
    };
    return cmocka_run_group_tests(tests, write_report, remove_report);
}
