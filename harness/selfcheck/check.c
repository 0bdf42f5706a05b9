#include "check.h"

#include <stdio.h>
#include <string.h>

#include "../runner.h"

static bool aimed_at(const struct mutant *m, const struct cell_result *r)
{
    char with_kind[CELL_NAME_MAX], with_transport[CELL_NAME_MAX + 64],
        with_both[CELL_NAME_MAX + 64];
    snprintf(with_kind, sizeof with_kind, "%s/%s", r->scenario, r->kind);
    snprintf(with_transport, sizeof with_transport, "%s:%s", r->transport, r->scenario);
    snprintf(with_both, sizeof with_both, "%s:%s", r->transport, with_kind);
    for (const char *const *e = m->must_fail; *e != NULL; e++)
        if (strcmp(*e, r->scenario) == 0 || strcmp(*e, with_kind) == 0 ||
            strcmp(*e, with_transport) == 0 || strcmp(*e, with_both) == 0)
            return true;
    return false;
}

size_t selfcheck_mutant(const struct coapmx_registry *registry, const struct mutant *m,
                        const char *report_root)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", report_root, m->name);
    struct runner_options opt = {.transport = m->name, .report_dir = dir, .quiet = true};
    struct cell_list cells;
    if (runner_select(registry, &opt, &cells) != 0)
        return 1;
    runner_run(registry, &opt, &cells);
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
    printf("%-24s %-58s caught by %zu cells, %zu ran, %s\n", m->name, m->defect, caught, ran,
           wrong == 0 ? "ok" : "WRONG");
    cell_list_free(&cells);
    return wrong;
}

int selfcheck_main(const struct coapmx_registry *registry, const struct mutant *mutants,
                   size_t count, int argc, char **argv)
{
    const char *report_root = argc == 2 && strcmp(argv[0], "--report") == 0 ? argv[1] : "selfcheck";
    size_t passed = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        if (selfcheck_mutant(registry, &mutants[i], report_root) == 0)
            passed++;
        else
            failed++;
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
