#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fd_watch {
    int fd;
    short events;
    coapmx_fd_cb cb;
    void *arg;
};

struct timer {
    uint64_t id;
    uint64_t due_ms;
    coapmx_timer_cb cb;
    void *arg;
};

struct coapmx_loop {
    struct coapmx_clock *clock;
    void (*idle_hook)(void *arg);
    void *idle_arg;
    int idle_grace_ms;
    struct fd_watch *watches;
    size_t watch_count, watch_cap;
    struct timer *timers;
    size_t timer_count, timer_cap;
    uint64_t next_timer_id;
};

static uint64_t real_now_ms(struct coapmx_clock *clock)
{
    (void)clock;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct coapmx_clock *coapmx_clock_real(void)
{
    static struct coapmx_clock real = {.now_ms = real_now_ms};
    return &real;
}

static uint64_t virtual_now_ms(struct coapmx_clock *clock)
{
    return clock->virtual_ms;
}

void coapmx_clock_virtual_init(struct coapmx_clock *clock, uint64_t start_ms)
{
    *clock =
        (struct coapmx_clock){.now_ms = virtual_now_ms, .is_virtual = true, .virtual_ms = start_ms};
}

void coapmx_loop_set_idle_hook(struct coapmx_loop *loop, void (*hook)(void *arg), void *arg,
                               int grace_ms)
{
    loop->idle_hook = hook;
    loop->idle_arg = arg;
    loop->idle_grace_ms = grace_ms;
}

struct coapmx_loop *coapmx_loop_new(struct coapmx_clock *clock)
{
    struct coapmx_loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        return NULL; /* LCOV_EXCL_LINE: OutOfMemory */
    loop->clock = clock != NULL ? clock : coapmx_clock_real();
    return loop;
}

void coapmx_loop_free(struct coapmx_loop *loop)
{
    if (loop == NULL)
        return;
    free(loop->watches);
    free(loop->timers);
    free(loop);
}

uint64_t coapmx_loop_now(struct coapmx_loop *loop)
{
    return loop->clock->now_ms(loop->clock);
}

static int grow(void **items, size_t *cap, size_t item_size)
{
    size_t new_cap = *cap ? *cap * 2 : 8;
    void *bigger = realloc(*items, new_cap * item_size);
    if (bigger == NULL)
        return -1; /* LCOV_EXCL_LINE: OutOfMemory */
    *items = bigger;
    *cap = new_cap;
    return 0;
}

static struct fd_watch *find_watch(struct coapmx_loop *loop, int fd)
{
    for (size_t i = 0; i < loop->watch_count; i++)
        if (loop->watches[i].fd == fd)
            return &loop->watches[i];
    return NULL;
}

int coapmx_loop_watch(struct coapmx_loop *loop, int fd, short events, coapmx_fd_cb cb, void *arg)
{
    struct fd_watch *w = find_watch(loop, fd);
    if (w == NULL) {
        if (loop->watch_count == loop->watch_cap &&
            grow((void **)&loop->watches, &loop->watch_cap, sizeof *loop->watches) != 0)
            return -1; /* LCOV_EXCL_LINE: OutOfMemory */
        w = &loop->watches[loop->watch_count++];
    }
    *w = (struct fd_watch){.fd = fd, .events = events, .cb = cb, .arg = arg};
    return 0;
}

void coapmx_loop_unwatch(struct coapmx_loop *loop, int fd)
{
    struct fd_watch *w = find_watch(loop, fd);
    if (w == NULL)
        return;
    *w = loop->watches[--loop->watch_count];
}

uint64_t coapmx_loop_timer(struct coapmx_loop *loop, uint64_t delay_ms, coapmx_timer_cb cb,
                           void *arg)
{
    if (loop->timer_count == loop->timer_cap &&
        grow((void **)&loop->timers, &loop->timer_cap, sizeof *loop->timers) != 0)
        return 0; /* LCOV_EXCL_LINE: OutOfMemory */
    uint64_t id = ++loop->next_timer_id;
    loop->timers[loop->timer_count++] =
        (struct timer){.id = id, .due_ms = coapmx_loop_now(loop) + delay_ms, .cb = cb, .arg = arg};
    return id;
}

void coapmx_loop_registered(const struct coapmx_loop *loop, size_t *watches, size_t *timers)
{
    *watches = loop->watch_count;
    *timers = loop->timer_count;
}

void coapmx_loop_cancel(struct coapmx_loop *loop, uint64_t timer_id)
{
    for (size_t i = 0; i < loop->timer_count; i++) {
        if (loop->timers[i].id == timer_id) {
            loop->timers[i] = loop->timers[--loop->timer_count];
            return;
        }
    }
}

/* Index of the timer due first (ties: lowest id, so equal deadlines fire in creation order). */
static size_t earliest_timer(const struct coapmx_loop *loop)
{
    size_t best = 0;
    for (size_t i = 1; i < loop->timer_count; i++) {
        const struct timer *t = &loop->timers[i], *b = &loop->timers[best];
        if (t->due_ms < b->due_ms || (t->due_ms == b->due_ms && t->id < b->id))
            best = i;
    }
    return best;
}

static int run_due_timers(struct coapmx_loop *loop)
{
    int ran = 0;
    uint64_t now = coapmx_loop_now(loop);
    while (loop->timer_count > 0) {
        size_t i = earliest_timer(loop);
        if (loop->timers[i].due_ms > now)
            break;
        struct timer due = loop->timers[i];
        loop->timers[i] = loop->timers[--loop->timer_count];
        due.cb(due.arg);
        ran++;
    }
    return ran;
}

static int dispatch_ready(struct coapmx_loop *loop, const struct pollfd *pfds, size_t n)
{
    int ran = 0;
    for (size_t i = 0; i < n; i++) {
        if (pfds[i].revents == 0)
            continue;
        /* An earlier callback may have removed or replaced this watch. */
        struct fd_watch *w = find_watch(loop, pfds[i].fd);
        if (w == NULL)
            continue;
        w->cb(w->arg, pfds[i].fd, pfds[i].revents);
        ran++;
    }
    return ran;
}

/* Polls every watched fd for up to wait_ms and runs the callbacks of the ready ones. Returns
 * the number run, or -1 on a poll error. */
static int poll_and_dispatch(struct coapmx_loop *loop, int wait_ms)
{
    size_t n = loop->watch_count;
    struct pollfd stack_pfds[32], *pfds = stack_pfds;
    if (n > 32 && (pfds = calloc(n, sizeof *pfds)) == NULL)
        return -1; /* LCOV_EXCL_LINE: OutOfMemory */
    for (size_t i = 0; i < n; i++)
        pfds[i] = (struct pollfd){.fd = loop->watches[i].fd, .events = loop->watches[i].events};
    int ready = poll(pfds, (nfds_t)n, wait_ms);
    int ran = ready > 0 ? dispatch_ready(loop, pfds, n) : 0;
    if (pfds != stack_pfds)
        free(pfds);
    return ready < 0 && errno != EINTR ? -1 : ran;
}

static int run_once_virtual(struct coapmx_loop *loop)
{
    int ran = poll_and_dispatch(loop, 0);
    if (ran == 0 && loop->idle_hook != NULL) {
        loop->idle_hook(loop->idle_arg);
        ran = poll_and_dispatch(loop, loop->idle_grace_ms);
    }
    if (ran != 0)
        return ran < 0 ? -1 : ran + run_due_timers(loop);
    if (loop->timer_count == 0)
        return 0;
    uint64_t due = loop->timers[earliest_timer(loop)].due_ms;
    if (due > loop->clock->virtual_ms)
        loop->clock->virtual_ms = due;
    return run_due_timers(loop);
}

int coapmx_loop_run_once(struct coapmx_loop *loop, int max_wait_ms)
{
    if (loop->clock->is_virtual)
        return run_once_virtual(loop);
    int wait_ms = max_wait_ms < 0 ? 0 : max_wait_ms;
    if (loop->timer_count > 0) {
        uint64_t due = loop->timers[earliest_timer(loop)].due_ms, now = coapmx_loop_now(loop);
        uint64_t until_due = due > now ? due - now : 0;
        if (until_due < (uint64_t)wait_ms)
            wait_ms = (int)until_due;
    }
    int ran = poll_and_dispatch(loop, wait_ms);
    return ran < 0 ? -1 : ran + run_due_timers(loop);
}

static void no_op(void *arg)
{
    (void)arg;
}

bool coapmx_loop_run_until(struct coapmx_loop *loop, bool (*done)(void *arg), void *arg,
                           uint64_t timeout_ms)
{
    uint64_t deadline = coapmx_loop_now(loop) + timeout_ms;
    unsigned iterations = 0;
    /* A virtual clock jumps from timer to timer: this one keeps it from jumping past us, and
     * so it always has one to jump to. */
    uint64_t stop = loop->clock->is_virtual ? coapmx_loop_timer(loop, timeout_ms, no_op, NULL) : 0;
    if (loop->clock->is_virtual && stop == 0)
        return done(arg); /* LCOV_EXCL_LINE: OutOfMemory */
    while (!done(arg)) {
        uint64_t now = coapmx_loop_now(loop);
        if (now >= deadline || ++iterations > COAPMX_LOOP_MAX_ITERATIONS)
            break;
        uint64_t left = deadline - now;
        int ran = coapmx_loop_run_once(loop, left > 1000 ? 1000 : (int)left);
        if (ran < 0)
            return done(arg);
    }
    coapmx_loop_cancel(loop, stop);
    return done(arg);
}
