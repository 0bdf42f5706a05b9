/* coapmx-selfcheck: the harness run against deliberately wrong transports. A harness that passes
 * everything proves nothing; this one must fail each mutant at exactly the cells aimed at its
 * defect, and pass it everywhere else. Otherwise this binary is `coapmx` with the mutants as its
 * transports (so the runner can exec its cells). */
#include <stdio.h>
#include <string.h>

#include "../cell.h"
#include "../main.h"
#include "../runner.h"

extern const struct coapmx_transport_ops mutant_netloc_ip_ops;
extern const struct coapmx_transport_ops mutant_wrong_family_ops;
extern const struct coapmx_transport_ops mutant_sends_multicast_ops;
extern const struct coapmx_transport_ops mutant_crashes_ops;
extern const struct coapmx_transport_ops mutant_hangs_ops;

struct mutant {
    const struct coapmx_transport_ops *ops;
    const char *defect;
    /* Cells that must fail: "<scenario>" (every cell of it) or "<scenario>/<kind>". */
    const char *const *must_fail;
};

static const struct mutant mutants[] = {
    {&mutant_netloc_ip_ops, "names remotes by IP literal instead of the requested name",
     KINDS("N3-netloc-name", "N4-default-port/dual.test", "R2-role-reversal/v4.test",
           "R2-role-reversal/dual.test")},
    {&mutant_wrong_family_ops, "picks the last family the resolver lists",
     KINDS("F3-dual-v6-first", "F4-dual-v4-first", "F5-no-fallback")},
    {&mutant_sends_multicast_ops, "does not refuse multicast destinations",
     KINDS("M1-is-multicast", "M2-group-request", "M3-con-to-group")},
};
#define MUTANT_COUNT (sizeof mutants / sizeof mutants[0])

/* The crashing and hanging ones exercise the runner's cleanup, not the scenarios: they are
 * runnable cells but not part of `selfcheck`. */
static const struct coapmx_transport_ops *const mutant_ops[] = {
    &mutant_netloc_ip_ops, &mutant_wrong_family_ops, &mutant_sends_multicast_ops,
    &mutant_crashes_ops, &mutant_hangs_ops};
static const struct coapmx_registry mutant_registry = {
    .transports = mutant_ops, .count = sizeof mutant_ops / sizeof mutant_ops[0]};

static bool aimed_at(const struct mutant *m, const struct cell_result *r)
{
    char scenario_kind[CELL_NAME_MAX];
    snprintf(scenario_kind, sizeof scenario_kind, "%s/%s", r->scenario, r->kind);
    for (const char *const *e = m->must_fail; *e != NULL; e++)
        if (strcmp(*e, r->scenario) == 0 || strcmp(*e, scenario_kind) == 0)
            return true;
    return false;
}

/* Returns the number of cells whose outcome contradicts the mutant's defect. */
static size_t check_mutant(const struct mutant *m, const char *report_root)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", report_root, m->ops->name);
    struct runner_options opt = {.transport = m->ops->name, .report_dir = dir, .quiet = true};
    struct cell_list cells;
    if (runner_select(&mutant_registry, &opt, &cells) != 0)
        return 1;
    runner_run(&mutant_registry, &opt, &cells);
    size_t wrong = 0, caught = 0, ran = 0;
    for (size_t i = 0; i < cells.count; i++) {
        const struct cell_result *r = &cells.items[i];
        bool failed = r->status == CELL_FAIL || r->status == CELL_ERROR;
        if (r->status == CELL_SKIP)
            continue;
        ran++;
        bool expected = aimed_at(m, r);
        caught += failed && expected;
        if (failed != expected) {
            wrong++;
            printf("  WRONG %s: %s%s%s\n", r->name,
                   failed ? "failed but is not aimed at this defect" : "passed despite the defect",
                   failed ? ": " : "", failed ? r->reason : "");
        }
    }
    printf("%-24s %-58s caught by %zu cells, %zu ran, %s\n", m->ops->name, m->defect, caught, ran,
           wrong == 0 ? "ok" : "WRONG");
    cell_list_free(&cells);
    return wrong;
}

static int selfcheck(int argc, char **argv)
{
    const char *report_root = argc == 2 && strcmp(argv[0], "--report") == 0 ? argv[1] : "selfcheck";
    size_t passed = 0, failed = 0;
    for (size_t i = 0; i < MUTANT_COUNT; i++) {
        if (check_mutant(&mutants[i], report_root) == 0)
            passed++;
        else
            failed++;
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "selfcheck") == 0)
        return selfcheck(argc - 2, argv + 2);
    return coapmx_main(argc, argv, &mutant_registry);
}
