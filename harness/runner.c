#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "artifacts.h"
#include "cell.h"
#include "inspect.h"
#include "lane.h"
#include "main.h"

#define RUNNER_DEFAULT_TIMEOUT_S 60
#define RUNNER_MAX_JOBS          64

/* ---- selection ---- */

static bool matches(const struct runner_options *opt, const char *name)
{
    if (opt->exact != NULL)
        return strcmp(opt->exact, name) == 0;
    if (opt->cells_file != NULL) {
        for (size_t i = 0; i < opt->cell_name_count; i++)
            if (strcmp(opt->cell_names[i], name) == 0)
                return true;
        return false;
    }
    for (size_t i = 0; i < opt->pattern_count; i++) {
        const char *p = opt->patterns[i];
        bool glob = strpbrk(p, "*?[") != NULL;
        if (glob ? fnmatch(p, name, 0) == 0 : strstr(name, p) != NULL)
            return true;
    }
    return opt->pattern_count == 0;
}

static int append(struct cell_list *list, size_t *cap, const struct cell_result *r)
{
    if (list->count == *cap) {
        size_t new_cap = *cap ? *cap * 2 : 64;
        struct cell_result *bigger = realloc(list->items, new_cap * sizeof *bigger);
        if (bigger == NULL)
            return -1;
        list->items = bigger;
        *cap = new_cap;
    }
    list->items[list->count++] = *r;
    return 0;
}

static bool lane_selected(const struct runner_options *opt, const struct lane *lane)
{
    return opt->lane == NULL || strcmp(opt->lane, "all") == 0 || strcmp(opt->lane, lane->name) == 0;
}

static int select_all(const struct coapmx_registry *registry, const struct runner_options *opt,
                      struct cell_list *out)
{
    size_t lane_count, cap = 0;
    const struct lane *const *lanes = lane_all(&lane_count);
    memset(out, 0, sizeof *out);
    for (size_t l = 0; l < lane_count; l++) {
        if (!lane_selected(opt, lanes[l]))
            continue;
        size_t iut_count;
        const struct iut_info *const *iuts = iut_all(registry, &iut_count);
        for (size_t t = 0; t < iut_count; t++) {
            const struct iut_info *iut = iuts[t];
            if (opt->transport != NULL && strcmp(opt->transport, iut->name) != 0)
                continue;
            for (size_t s = 0; s < all_scenarios.count; s++) {
                const struct scenario *sc = all_scenarios.items[s];
                if (scenario_not_applicable(sc, iut) != NULL)
                    continue;
                for (const char *const *k = sc->kinds; *k != NULL; k++) {
                    struct cell_result r = {.status = CELL_ERROR};
                    snprintf(r.name, sizeof r.name, "%s/%s/%s@%s", iut->name, sc->id, *k,
                             lanes[l]->name);
                    if (!matches(opt, r.name))
                        continue;
                    snprintf(r.transport, sizeof r.transport, "%s", iut->name);
                    snprintf(r.scenario, sizeof r.scenario, "%s", sc->id);
                    snprintf(r.scenario_title, sizeof r.scenario_title, "%s", sc->title);
                    snprintf(r.kind, sizeof r.kind, "%s", *k);
                    snprintf(r.lane, sizeof r.lane, "%s", lanes[l]->name);
                    if (append(out, &cap, &r) != 0)
                        return -1;
                }
            }
        }
    }
    return 0;
}

static const struct coapmx_registry *run_registry;

/* What a cell is expected to cost, relative to a plain socket_wrapper cell: a netns cell builds
 * two namespaces, a real-clock scenario waits real time. Only the ratios matter. */
static double expected_cost(const struct cell_result *r)
{
    const struct scenario *sc = NULL;
    for (size_t i = 0; i < all_scenarios.count && sc == NULL; i++)
        if (strcmp(all_scenarios.items[i]->id, r->scenario) == 0)
            sc = all_scenarios.items[i];
    double cost = strcmp(r->lane, "netns") == 0 ? 1.4 : 1.0;
    const struct iut_info *iut = iut_find(run_registry, r->transport);
    if (iut != NULL && iut->ops == NULL)
        return cost * 8; /* a driver process on the real clock */
    return sc != NULL && sc->real_clock ? cost * 3 : cost;
}

/* Keeps shard K of N: cells go, costliest first (ties in matrix order), each to the shard with
 * the least expected cost so far (ties to the lowest shard). Every shard computes the same
 * split, so the N shards run every cell exactly once. */
static int keep_shard(const struct runner_options *opt, struct cell_list *cells)
{
    size_t n = cells->count;
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    unsigned *shard_of = malloc((n ? n : 1) * sizeof *shard_of);
    double *load = calloc(opt->shard_count, sizeof *load);
    if (order == NULL || shard_of == NULL || load == NULL) {
        free(order);
        free(shard_of);
        free(load);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) /* insertion sort: stable, and n is small */
        for (size_t k = i; k > 0 && expected_cost(&cells->items[order[k]]) >
                                        expected_cost(&cells->items[order[k - 1]]);
             k--) {
            size_t t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        unsigned lightest = 0;
        for (unsigned s = 1; s < opt->shard_count; s++)
            if (load[s] < load[lightest])
                lightest = s;
        load[lightest] += expected_cost(&cells->items[order[i]]);
        shard_of[order[i]] = lightest;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (shard_of[i] == opt->shard - 1)
            cells->items[kept++] = cells->items[i];
    cells->count = kept;
    free(order);
    free(shard_of);
    free(load);
    return 0;
}

int runner_select(const struct coapmx_registry *registry, const struct runner_options *opt,
                  struct cell_list *out)
{
    run_registry = registry;
    if (select_all(registry, opt, out) != 0)
        return -1;
    /* A name the matrix does not have is a mistake, not an empty selection. */
    for (size_t i = 0; i < opt->cell_name_count; i++) {
        size_t j = 0;
        while (j < out->count && strcmp(out->items[j].name, opt->cell_names[i]) != 0)
            j++;
        if (j == out->count) {
            fprintf(stderr, "coapmx: %s names a cell the matrix does not have%s: %s\n",
                    opt->cells_file, opt->lane != NULL ? " on the lane chosen" : "",
                    opt->cell_names[i]);
            cell_list_free(out);
            return -1;
        }
    }
    if (opt->shard_count > 0 && keep_shard(opt, out))
        return -1;
    /* A lane runner takes its lane's part of the run's cells, after the shard's split. */
    size_t kept = 0;
    for (size_t i = 0; i < out->count; i++)
        if (opt->runner_lane == NULL || strcmp(out->items[i].lane, opt->runner_lane) == 0)
            out->items[kept++] = out->items[i];
    out->count = kept;
    return 0;
}

void cell_list_free(struct cell_list *list)
{
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

/* ---- files ---- */

/* ---- running cells ---- */

struct slot {
    unsigned number; /* fixed per slot: at most one cell at a time uses its instance name */
    bool busy;
    size_t index;
    pid_t pid;
    int pidfd;
    double started, deadline;
    double forked_ms; /* cell_clock_ms() just before the fork */
    char dir[1024];
    char scratch[64];  /* short: socket_wrapper puts AF_UNIX socket files in it */
    char instance[32]; /* "<runner pid>x<slot>": names the cell's network resources */
    const struct lane *lane;
    struct artifact_paths paths;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Splits a --wrap command line at white space (no quoting: valgrind options need none). */
static size_t split_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    for (char *w = strtok(line, " \t\n"); w != NULL && n < max; w = strtok(NULL, " \t\n"))
        words[n++] = w;
    return n;
}

static const struct runner_options *run_options;
static const struct coapmx_registry *run_registry;

/* A cell run in the runner's child ends here. With sanitizers or gcov, through exit: their
 * leak check runs there, and gcov writes the cell's counts. Otherwise through _exit: the
 * preloaded socket_wrapper's exit handler walks a quarter of a million descriptor slots to
 * close sockets that the kernel closes anyway, and the cell's socket files go with its
 * scratch directory. */
static void end_cell_child(int rc) __attribute__((noreturn));
static void end_cell_child(int rc)
{
#if defined(COAPMX_SANITIZE) || defined(COAPMX_COVERAGE)
    exit(rc);
#else
    fflush(NULL);
    _exit(rc);
#endif
}

/* In the runner's child: the cell's output, network and environment, then the cell itself,
 * in this process (a lane runner already carries the lane's preloaded libraries), or exec'd
 * under the --wrap command (which must see the whole process start). */
static void run_cell_child(const struct lane *lane, const char *name, const struct slot *slot)
{
    char wrap[1024], self[1024];
    char *argv[RUNNER_MAX_WRAP_WORDS + 6];
    size_t n = 0;
    signal(SIGPIPE, SIG_DFL);
    /* A cell never outlives its runner, even one killed with SIGKILL. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() == 1)
        _exit(125);
    int out = open(slot->paths.output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0)
        _exit(125);
    close(out);
    double lane_start = cell_clock_ms();
    bool exec_it = run_options->wrap != NULL;
    if ((exec_it && lane->prepare_runner(lane) != 0) ||
        lane->enter_cell(lane, slot->scratch, slot->paths.local_pcap, slot->instance) != 0)
        _exit(125);
    char lane_times[64];
    snprintf(lane_times, sizeof lane_times, "%.3f %.3f", lane_start, cell_clock_ms());
    if (setenv(CELL_LANE_TIMES_ENV, lane_times, 1) != 0 ||
        (run_options->seed && setenv("COAPMX_SEED", run_options->seed, 1) != 0) ||
        (run_options->keep_pcaps && setenv(CELL_KEEP_ENV, "1", 1) != 0) ||
        (run_options->protocol && setenv("COAPMX_PROTOCOL", run_options->protocol, 1) != 0) ||
        coapmx_self_path(self, sizeof self) == NULL)
        _exit(125);
    const char *cell_args[] = {self, "__cell", name, "--dir", slot->dir, NULL};
    if (!exec_it)
        end_cell_child(cell_main(run_registry, 4, (char **)cell_args + 1));
    snprintf(wrap, sizeof wrap, "%s", run_options->wrap);
    n = split_words(wrap, argv, RUNNER_MAX_WRAP_WORDS);
    memcpy(argv + n, cell_args, sizeof cell_args);
    execvp(argv[0], argv);
    fprintf(stderr, "runner: cannot exec %s: %s\n", argv[0], strerror(errno));
    _exit(126);
}

static int start_cell(const struct runner_options *opt, const struct cell_result *cell,
                      struct slot *slot)
{
    const struct lane *lane = lane_find(cell->lane);
    slot->lane = lane;
    snprintf(slot->instance, sizeof slot->instance, "%dx%u", (int)getpid(), slot->number);
    snprintf(slot->dir, sizeof slot->dir, "%s/cells/%.150s", opt->report_dir, "");
    artifact_stem(cell->name, slot->dir + strlen(slot->dir), sizeof slot->dir - strlen(slot->dir));
    artifact_remove_tree(slot->dir);
    if (artifact_mkdir_p(slot->dir) != 0) {
        fprintf(stderr, "coapmx: cannot create %s: %s\n", slot->dir, strerror(errno));
        return -1;
    }
    artifact_paths(slot->dir, cell->name, &slot->paths);
    snprintf(slot->scratch, sizeof slot->scratch, ARTIFACT_SCRATCH_PREFIX "%dx%zu", (int)getpid(),
             slot->index);
    artifact_remove_tree(slot->scratch);
    if (mkdir(slot->scratch, 0700) != 0) {
        fprintf(stderr, "coapmx: cannot create %s: %s\n", slot->scratch, strerror(errno));
        return -1;
    }
    fflush(NULL);
    slot->forked_ms = cell_clock_ms();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0); /* the cell and its peer form one group, killed together */
        run_cell_child(lane, cell->name, slot);
    }
    setpgid(pid, pid);
    slot->pid = pid;
    slot->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (slot->pidfd < 0) {
        fprintf(stderr, "coapmx: pidfd_open: %s\n", strerror(errno));
        kill(-pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    slot->busy = true;
    slot->started = now_s();
    slot->deadline = slot->started + (opt->timeout_s ? opt->timeout_s : RUNNER_DEFAULT_TIMEOUT_S);
    return 0;
}

/* "timing <lane start> <lane end> <main> <peer ready> <body start> <body end>"; teardown is
 * filled in once the cell is reaped. */
static void read_timing(FILE *f, const struct slot *slot, struct cell_result *r)
{
    double lane_start, lane_end, main_ms, peer_ms, body_start, body_end;
    char line[256];
    if (fgets(line, sizeof line, f) == NULL ||
        sscanf(line, "timing %lf %lf %lf %lf %lf %lf", &lane_start, &lane_end, &main_ms, &peer_ms,
               &body_start, &body_end) != 6 ||
        lane_start <= 0)
        return;
    if (peer_ms <= 0) /* the cell could not be set up */
        return;
    r->phase_ms[PHASE_SPAWN] = (lane_start - slot->forked_ms) + (main_ms - lane_end);
    r->phase_ms[PHASE_LANE] = lane_end - lane_start;
    r->phase_ms[PHASE_PEER] = peer_ms - main_ms;
    /* A skip before the body (a lane that cannot carry it) has no body. */
    r->phase_ms[PHASE_BODY] = body_end > body_start && body_start > 0 ? body_end - body_start : 0;
    r->phase_ms[PHASE_TEARDOWN] = body_end > 0 ? body_end : peer_ms; /* until reaped */
}

static void read_result(const struct slot *slot, int wait_status, struct cell_result *r)
{
    char line[CELL_TEXT_MAX + 32] = "", after[64] = "";
    FILE *f = fopen(slot->paths.result, "r");
    bool have_result = f != NULL && fgets(line, sizeof line, f) != NULL;
    if (have_result) {
        line[strcspn(line, "\n")] = '\0';
        r->status = cell_status_of(line);
        if (fgets(r->reason, sizeof r->reason, f) == NULL)
            r->reason[0] = '\0';
        r->reason[strcspn(r->reason, "\n")] = '\0';
        if (fgets(r->observed, sizeof r->observed, f) == NULL)
            r->observed[0] = '\0';
        r->observed[strcspn(r->observed, "\n")] = '\0';
        /* What a cell reports may hold any bytes (a driver's words): every report gets text. */
        report_safe_text(r->reason, sizeof r->reason);
        report_safe_text(r->observed, sizeof r->observed);
        read_timing(f, slot, r);
    }
    if (f != NULL)
        fclose(f);
    if (have_result && WIFEXITED(wait_status) &&
        WEXITSTATUS(wait_status) == cell_exit_code(r->status))
        return;
    /* No result, or the process failed after writing it: a sanitizer's leak report or
     * valgrind's error exit code comes after the cell's own verdict, and overrides it. */
    if (have_result)
        snprintf(after, sizeof after, " after reporting %s", cell_status_name(r->status));
    r->status = CELL_ERROR;
    if (WIFSIGNALED(wait_status))
        snprintf(r->reason, sizeof r->reason, "crashed with signal %d (%s)%s; see output",
                 WTERMSIG(wait_status), strsignal(WTERMSIG(wait_status)), after);
    else
        snprintf(r->reason, sizeof r->reason, "exited with code %d%s%s; see output",
                 WEXITSTATUS(wait_status), have_result ? after : " without a result",
                 WEXITSTATUS(wait_status) == CELL_CHECKER_EXIT_CODE
                     ? " (a sanitizer or valgrind error or leak)"
                     : "");
}

/* The message sequence chart of a kept capture, next to it (<stem>.svg): every datagram of a
 * cell is CoAP, and the lane's hosts file names the lifelines. A chart that cannot be made says
 * why in its place; the cell's result stands either way. */
static void write_chart(const char *pcap, const struct cell_result *r)
{
    char path[1400];
    size_t len = strlen(pcap);
    if (len < 5 || len + 1 > sizeof path || strcmp(pcap + len - 5, ".pcap") != 0)
        return;
    snprintf(path, sizeof path, "%.*s.svg", (int)(len - 5), pcap);
    const struct lane *lane = lane_find(r->lane);
    struct inspect_options opt = {
        .svg = true, .every_port = true, .hosts = lane != NULL ? lane->hosts_file : NULL};
    FILE *out = fopen(path, "w");
    if (out == NULL)
        return;
    FILE *err = tmpfile();
    enum inspect_result result = inspect_file(pcap, &opt, out, err != NULL ? err : stderr);
    bool closed = fclose(out) == 0;
    if (result == INSPECT_UNUSABLE || !closed)
        unlink(path); /* the capture was empty or unreadable: no chart rather than half of one */
    if (err != NULL)
        fclose(err);
}

static void retain_artifacts(const struct runner_options *opt, const struct slot *slot,
                             struct cell_result *r)
{
    artifact_remove_tree(slot->scratch);
    bool keep = opt->keep_pcaps || r->status == CELL_FAIL || r->status == CELL_ERROR ||
                r->status == CELL_XFAIL || r->status == CELL_XPASS; /* a deviation's evidence */
    if (!keep) {
        artifact_remove_tree(slot->dir);
        return;
    }
    size_t skip = strlen(opt->report_dir) + 1; /* report paths are relative to the report */
    if (access(slot->paths.peer_pcap, F_OK) == 0) {
        snprintf(r->pcap, sizeof r->pcap, "%s", slot->paths.peer_pcap + skip);
        write_chart(slot->paths.peer_pcap, r);
    }
    snprintf(r->output, sizeof r->output, "%s", slot->paths.output + skip);
}

static void finish_cell(const struct runner_options *opt, struct slot *slot, bool timed_out,
                        struct cell_result *r)
{
    int status = 0;
    if (timed_out)
        kill(-slot->pid, SIGKILL);
    /* The leader has exited but is not reaped, so the group id cannot be reused yet: this kills
     * only what the cell left behind, e.g. its peer. */
    siginfo_t info;
    waitid(P_PID, (id_t)slot->pid, &info, WEXITED | WNOWAIT);
    kill(-slot->pid, SIGKILL);
    waitpid(slot->pid, &status, 0);
    /* Its peer (and whatever else it started in its group) was re-parented to this subreaper
     * when the cell ended: reap them. */
    while (waitpid(-slot->pid, NULL, 0) > 0)
        ;
    slot->lane->cleanup(slot->lane, slot->instance);
    close(slot->pidfd);
    r->seconds = now_s() - slot->started;
    if (timed_out) {
        r->status = CELL_ERROR;
        snprintf(r->reason, sizeof r->reason, "timed out after %.0f s; killed",
                 slot->deadline - slot->started);
    } else {
        read_result(slot, status, r);
    }
    retain_artifacts(opt, slot, r);
    if (r->phase_ms[PHASE_TEARDOWN] > 0) /* from the body's end (as the cell said) to here */
        r->phase_ms[PHASE_TEARDOWN] = cell_clock_ms() - r->phase_ms[PHASE_TEARDOWN];
    slot->busy = false;
}

static void print_progress(const struct runner_options *opt, size_t done, size_t total,
                           const struct cell_result *r)
{
    if (opt->quiet && (r->status == CELL_PASS || r->status == CELL_SKIP))
        return;
    printf("[%zu/%zu] %-5s %s (%.2f s)%s%s\n", done, total, cell_status_name(r->status), r->name,
           r->seconds, r->status == CELL_PASS ? "" : ": ", r->status == CELL_PASS ? "" : r->reason);
    fflush(stdout);
}

/* When the runner itself fails, no cell may outlive it. */
static void abandon(struct slot *slots, unsigned jobs)
{
    for (unsigned s = 0; s < jobs; s++) {
        if (!slots[s].busy)
            continue;
        kill(-slots[s].pid, SIGKILL);
        waitpid(slots[s].pid, NULL, 0);
        slots[s].lane->cleanup(slots[s].lane, slots[s].instance);
        close(slots[s].pidfd);
        artifact_remove_tree(slots[s].scratch);
        slots[s].busy = false;
    }
}

/* A lane this machine cannot run: its cells are skipped with the lane's reason. */
static bool skipped_for_lane(struct cell_result *r)
{
    const struct lane *lane = lane_find(r->lane);
    if (lane->available(lane, r->reason, sizeof r->reason)) {
        /* Asked here, before the fork, the IUT's availability command runs once per runner,
         * not once per cell (a Python stack's import costs half a second). */
        char why[512];
        const struct iut_info *iut = iut_find(run_registry, r->transport);
        if (iut != NULL)
            (void)iut_available(iut, why, sizeof why);
        return false;
    }
    r->status = CELL_SKIP;
    return true;
}

/* --fail-fast: the cells not started once one failed, skipped with the reason. */
static void skip_the_rest(const struct runner_options *opt, struct cell_list *cells, size_t *next,
                          size_t *done, const char *failed)
{
    for (; *next < cells->count; (*next)++) {
        struct cell_result *r = &cells->items[*next];
        r->status = CELL_SKIP;
        snprintf(r->reason, sizeof r->reason, "not run: --fail-fast, after %.200s failed", failed);
        print_progress(opt, ++*done, cells->count, r);
    }
}

static int run_all(const struct runner_options *opt, struct cell_list *cells, unsigned jobs)
{
    struct slot slots[RUNNER_MAX_JOBS] = {0};
    size_t next = 0, done = 0, running = 0;
    char failed[sizeof cells->items[0].name] = "";
    for (unsigned s = 0; s < jobs; s++)
        slots[s].number = s;
    while (done < cells->count) {
        if (failed[0] != '\0' && running == 0) {
            skip_the_rest(opt, cells, &next, &done, failed);
            break;
        }
        for (unsigned s = 0; s < jobs && next < cells->count && failed[0] == '\0'; s++) {
            if (slots[s].busy)
                continue;
            if (skipped_for_lane(&cells->items[next])) {
                print_progress(opt, ++done, cells->count, &cells->items[next++]);
                continue;
            }
            slots[s].index = next;
            if (start_cell(opt, &cells->items[next], &slots[s]) != 0) {
                abandon(slots, jobs);
                return -1;
            }
            next++;
            running++;
        }
        if (running == 0)
            continue;
        struct pollfd pfds[RUNNER_MAX_JOBS];
        unsigned map[RUNNER_MAX_JOBS];
        nfds_t n = 0;
        double soonest = now_s() + 3600;
        for (unsigned s = 0; s < jobs; s++) {
            if (!slots[s].busy)
                continue;
            pfds[n] = (struct pollfd){.fd = slots[s].pidfd, .events = POLLIN};
            map[n++] = s;
            if (slots[s].deadline < soonest)
                soonest = slots[s].deadline;
        }
        double wait_s = soonest - now_s();
        if (poll(pfds, n, wait_s > 0 ? (int)(wait_s * 1000) + 1 : 0) < 0 && errno != EINTR) {
            abandon(slots, jobs);
            return -1;
        }
        for (nfds_t i = 0; i < n; i++) {
            struct slot *slot = &slots[map[i]];
            bool timed_out = now_s() >= slot->deadline;
            if (!(pfds[i].revents & POLLIN) && !timed_out)
                continue;
            struct cell_result *r = &cells->items[slot->index];
            finish_cell(opt, slot, timed_out && !(pfds[i].revents & POLLIN), r);
            running--;
            print_progress(opt, ++done, cells->count, r);
            if (opt->fail_fast && cell_status_fails(r->status) && failed[0] == '\0')
                snprintf(failed, sizeof failed, "%s", r->name);
        }
    }
    return 0;
}

/* A single failing cell (as ctest runs them) shows its log right away. */
static void show_output(const struct runner_options *opt, const struct cell_result *r)
{
    char path[1100], line[2048];
    snprintf(path, sizeof path, "%s/%s", opt->report_dir, r->output);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    printf("--- output of %s (%s)\n", r->name, path);
    while (fgets(line, sizeof line, f) != NULL)
        fputs(line, stdout);
    fclose(f);
}

/* A netns cell's peer captures with kernel timestamps, which the kernel switches on for the
 * first such socket and off after the last, each time by patching its own code from a work
 * queue, on every core. One socket that asks for them all the run keeps the switch on. */
static int hold_kernel_timestamps(void)
{
    int on = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static unsigned job_count(const struct runner_options *opt)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned jobs = opt->jobs ? opt->jobs : (unsigned)(cpus > 0 ? cpus : 1);
    return jobs > RUNNER_MAX_JOBS ? RUNNER_MAX_JOBS : jobs;
}

/* The cells of one lane run in a lane runner: this program exec'd once with what the lane's
 * cells share (lane.prepare_runner), which then forks each cell without an exec of its own. It
 * selects the same cells (same options, this lane) and hands their results back in cells.tsv
 * form. A lane runner that dies leaves its cells as errors that say so. */
static int run_lane(const struct runner_options *opt, const struct lane *lane,
                    struct cell_list *cells)
{
    char self[1024], results[1200], lane_timeout[32];
    snprintf(results, sizeof results, "%s/lane-%s.cells.tsv", opt->report_dir, lane->name);
    unlink(results);
    size_t in_lane = 0;
    for (size_t i = 0; i < cells->count; i++)
        in_lane += strcmp(cells->items[i].lane, lane->name) == 0;
    if (in_lane == 0)
        return 0;
    const char *argv[RUNNER_MAX_PATTERNS + 40];
    char jobs[16], timeout[16];
    if (coapmx_self_path(self, sizeof self) == NULL)
        return -1;
    size_t n = 0;
    argv[n++] = self;
    argv[n++] = "__lane-run";
    /* The options that select cells and shape how they run, as this runner has them. */
    for (size_t i = 0; i < opt->pattern_count; i++)
        argv[n++] = opt->patterns[i];
    const char *const named[][2] = {{"--exact", opt->exact},         {"--cells", opt->cells_file},
                                    {"--transport", opt->transport}, {"--seed", opt->seed},
                                    {"--protocol", opt->protocol},   {"--lane", opt->lane},
                                    {"--lane-runner", lane->name},   {"--results", results},
                                    {"--report", opt->report_dir}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (named[i][1] == NULL)
            continue;
        argv[n++] = named[i][0];
        argv[n++] = named[i][1];
    }
    char shard[32];
    if (opt->shard_count > 0) {
        snprintf(shard, sizeof shard, "%u/%u", opt->shard, opt->shard_count);
        argv[n++] = "--shard";
        argv[n++] = shard;
    }
    snprintf(jobs, sizeof jobs, "%u", job_count(opt));
    snprintf(timeout, sizeof timeout, "%u", opt->timeout_s);
    argv[n++] = "-j";
    argv[n++] = jobs;
    argv[n++] = "--timeout";
    argv[n++] = timeout;
    if (opt->keep_pcaps)
        argv[n++] = "--keep-pcaps";
    if (opt->quiet)
        argv[n++] = "--quiet";
    if (opt->fail_fast)
        argv[n++] = "--fail-fast";
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (lane->prepare_runner(lane) == 0)
            execv(self, (char *const *)argv);
        fprintf(stderr, "coapmx: cannot start the %s lane runner: %s\n", lane->name,
                strerror(errno));
        _exit(126);
    }
    if (pid < 0)
        return -1;
    /* Each cell has its own time limit inside; this bounds a lane runner that stops keeping
     * them: every cell at its limit, one after the other. */
    unsigned per_cell = opt->timeout_s ? opt->timeout_s : RUNNER_DEFAULT_TIMEOUT_S;
    double deadline = now_s() + (double)in_lane * per_cell + 60;
    int status = 0, pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    while (pidfd >= 0 && now_s() < deadline) {
        struct pollfd pfd = {.fd = pidfd, .events = POLLIN};
        if (poll(&pfd, 1, 1000) > 0)
            break;
    }
    if (pidfd < 0 || now_s() >= deadline)
        kill(pid, SIGKILL);
    if (pidfd >= 0)
        close(pidfd);
    waitpid(pid, &status, 0);
    snprintf(lane_timeout, sizeof lane_timeout, "%s", now_s() >= deadline ? " (timed out)" : "");
    struct cell_result *got = NULL;
    size_t got_count = 0;
    char err[512] = "";
    if (report_read_cells(results, &got, &got_count, NULL, err, sizeof err) == 0)
        unlink(results);
    for (size_t i = 0; i < cells->count; i++) {
        struct cell_result *r = &cells->items[i];
        if (strcmp(r->lane, lane->name) != 0)
            continue;
        bool found = false;
        for (size_t k = 0; k < got_count && !found; k++)
            if ((found = strcmp(got[k].name, r->name) == 0))
                *r = got[k];
        if (!found) {
            r->status = CELL_ERROR;
            snprintf(r->reason, sizeof r->reason,
                     "the %s lane runner exited with status 0x%x%s without this cell's result%s%s",
                     lane->name, (unsigned)status, lane_timeout, err[0] ? ": " : "", err);
        }
    }
    free(got);
    return 0;
}

/* `coapmx __lane-run`: the cells of one lane, each forked from here (see run_lane). */
static int run_as_lane_runner(const struct runner_options *opt, struct cell_list *cells)
{
    const struct lane *lane = lane_find(opt->runner_lane);
    if (lane == NULL) {
        fprintf(stderr, "coapmx: a lane runner needs --lane-runner LANE\n");
        return 2;
    }
    /* What a cell leaves behind when it ends (its peer) comes to this runner, not to init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    lane->warm_runner(lane);
    if (run_all(opt, cells, job_count(opt)) != 0) {
        fprintf(stderr, "coapmx: the %s lane runner failed: %s\n", lane->name, strerror(errno));
        return 2;
    }
    return report_write_cells(opt->results_path, cells->items, cells->count) == 0 ? 0 : 2;
}

int runner_run(const struct coapmx_registry *registry, const struct runner_options *opt,
               struct cell_list *cells)
{
    if (cells->count == 0) {
        fprintf(stderr, "coapmx: no cell matches the filters (see `coapmx list`)\n");
        return 2;
    }
    run_options = opt;
    run_registry = registry;
    if (opt->results_path != NULL)
        return run_as_lane_runner(opt, cells);
    unsigned jobs = job_count(opt);
    char cells_dir[1100];
    snprintf(cells_dir, sizeof cells_dir, "%s/cells", opt->report_dir);
    if (artifact_mkdir_p(cells_dir) != 0) {
        fprintf(stderr, "coapmx: cannot create %s: %s\n", cells_dir, strerror(errno));
        return 2;
    }
    size_t lane_count;
    const struct lane *const *lanes = lane_all(&lane_count);
    for (size_t l = 0; l < lane_count; l++) {
        char why[256];
        if (lanes[l]->available(lanes[l], why, sizeof why))
            lanes[l]->reap_stale(lanes[l]);
    }
    int timestamps = hold_kernel_timestamps();
    double started = now_s();
    if (!opt->quiet)
        printf("coapmx: running %zu cells, %u at a time, report in %s\n", cells->count, jobs,
               opt->report_dir);
    int rc = 0;
    if (opt->wrap != NULL) /* every cell exec'd under the wrapper, from here */
        rc = run_all(opt, cells, jobs);
    for (size_t l = 0; l < lane_count && opt->wrap == NULL && rc == 0; l++)
        rc = run_lane(opt, lanes[l], cells);
    if (rc != 0) {
        fprintf(stderr, "coapmx: the runner failed: %s\n", strerror(errno));
        return 2;
    }
    struct report_totals totals = {.wall_seconds = now_s() - started};
    if (timestamps >= 0)
        close(timestamps);
    for (size_t i = 0; i < cells->count; i++) {
        enum cell_status st = cells->items[i].status;
        report_totals_add(&totals, st);
    }
    if (report_write(opt->report_dir, cells->items, cells->count, &totals) != 0)
        fprintf(stderr, "coapmx: cannot write the report in %s: %s\n", opt->report_dir,
                strerror(errno));
    if (!opt->quiet)
        report_print_matrix(stdout, cells->items, cells->count, &totals);
    else if (cells->count == 1 && cells->items[0].output[0] != '\0' &&
             (cells->items[0].status == CELL_FAIL || cells->items[0].status == CELL_ERROR))
        show_output(opt, &cells->items[0]);
    if (report_totals_failed(&totals))
        return 1;
    return totals.skip == cells->count ? 77 : 0;
}

/* ---- options ---- */

static int number(const char *text, unsigned *out)
{
    unsigned long v;
    if (coapmx_parse_number(text, 100000, &v) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* --cells FILE: one full cell name per line; blank lines and '#' comments are skipped. The
 * names stay in these statics for the process's life (options are read once). */
static char *cell_names_text;
static const char **cell_names;

static int read_cell_names(const char *path, struct runner_options *opt)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "coapmx: --cells %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 0, len = 0, count = 0;
    char *text = NULL;
    for (int c; (c = fgetc(f)) != EOF;) {
        if (len + 2 > cap) {
            char *bigger = realloc(text, cap = cap ? cap * 2 : 4096);
            if (bigger == NULL) {
                free(text); /* LCOV_EXCL_LINE: OutOfMemory */
                fclose(f);  /* LCOV_EXCL_LINE: OutOfMemory */
                return -1;  /* LCOV_EXCL_LINE: OutOfMemory */
            }
            text = bigger;
        }
        text[len++] = (char)c;
        count += c == '\n';
    }
    bool failed = ferror(f);
    fclose(f);
    const char **names = calloc(count + 1, sizeof *names);
    if (failed || names == NULL) {
        fprintf(stderr, "coapmx: --cells %s: cannot read it\n", path);
        free(text);
        free(names);
        return -1;
    }
    size_t n = 0;
    if (text != NULL)
        text[len] = '\0';
    for (char *line = text, *end; line != NULL && line < text + len; line = end) {
        end = strchr(line, '\n');
        if (end != NULL)
            *end++ = '\0';
        if (line[0] != '\0' && line[0] != '#')
            names[n++] = line;
    }
    if (n == 0) {
        fprintf(stderr, "coapmx: --cells %s names no cell\n", path);
        free(text);
        free(names);
        return -1;
    }
    free(cell_names_text);
    free(cell_names);
    cell_names_text = text;
    cell_names = names;
    opt->cells_file = path;
    opt->cell_names = names;
    opt->cell_name_count = n;
    return 0;
}

int runner_parse_options(int argc, char **argv, struct runner_options *opt, bool *ctest,
                         const char **ctest_root)
{
    memset(opt, 0, sizeof *opt);
    opt->report_dir = "report";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = true;
        if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
            if (number(v, &opt->jobs) != 0 || opt->jobs == 0)
                goto bad_value;
        } else if (strcmp(a, "--timeout") == 0) {
            if (number(v, &opt->timeout_s) != 0)
                goto bad_value;
        } else if (strcmp(a, "--report") == 0 && v) {
            opt->report_dir = v;
        } else if (strcmp(a, "--transport") == 0 && v) {
            opt->transport = v;
        } else if (strcmp(a, "--lane") == 0 && v) {
            if (strcmp(v, "all") != 0 && lane_find(v) == NULL)
                goto bad_value;
            opt->lane = v;
        } else if (strcmp(a, "--seed") == 0 && v) {
            char *end;
            strtoull(v, &end, 0);
            if (*end != '\0')
                goto bad_value;
            opt->seed = v;
        } else if (strcmp(a, "--protocol") == 0 && v) {
            struct coapmx_protocol check;
            struct coapmx_error err;
            coapmx_protocol_defaults(&check);
            if (coapmx_protocol_parse(&check, v, &err) != 0) {
                fprintf(stderr, "coapmx: --protocol: %s\n", err.message);
                return -1;
            }
            opt->protocol = v;
        } else if (strcmp(a, "--wrap") == 0 && v) {
            opt->wrap = v;
        } else if (strcmp(a, "--exact") == 0 && v) {
            opt->exact = v;
        } else if (strcmp(a, "--cells") == 0 && v) {
            if (read_cell_names(v, opt) != 0)
                return -1;
        } else if (strcmp(a, "--shard") == 0 && v) {
            unsigned k, n;
            char tail;
            if (sscanf(v, "%u/%u%c", &k, &n, &tail) != 2 || n == 0 || n > 1000 || k == 0 || k > n)
                goto bad_value;
            opt->shard = k;
            opt->shard_count = n;
        } else if (strcmp(a, "--lane-runner") == 0 && v && lane_find(v) != NULL) {
            opt->runner_lane = v;
        } else if (strcmp(a, "--results") == 0 && v) {
            opt->results_path = v; /* a lane runner's, for its runner (run_lane) */
        } else if (strcmp(a, "--report-root") == 0 && v && ctest_root) {
            *ctest_root = v;
        } else {
            takes_value = false;
            if (strcmp(a, "--keep-pcaps") == 0)
                opt->keep_pcaps = true;
            else if (strcmp(a, "--quiet") == 0)
                opt->quiet = true;
            else if (strcmp(a, "--fail-fast") == 0)
                opt->fail_fast = true;
            else if (strcmp(a, "--ctest") == 0 && ctest)
                *ctest = true;
            else if (a[0] == '-') {
                fprintf(stderr, "coapmx: unknown option %s\n", a);
                return -1;
            } else if (opt->pattern_count < RUNNER_MAX_PATTERNS) {
                opt->patterns[opt->pattern_count++] = a;
            } else {
                fprintf(stderr, "coapmx: more than %d filters (from %s on)\n", RUNNER_MAX_PATTERNS,
                        a);
                return -1;
            }
        }
        if (takes_value)
            i++;
        continue;
    bad_value:
        fprintf(stderr, "coapmx: bad value for %s: %s\n", a, v ? v : "(missing)");
        return -1;
    }
    return 0;
}
