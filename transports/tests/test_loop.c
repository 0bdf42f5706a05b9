/* Unit tests of the event loop: timers in order, cancellation, fd readiness, and the virtual
 * clock's jumps (no wall time passes for protocol time). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "transports/loop.h"

struct fired {
    int order[8];
    uint64_t at[8];
    int count;
    struct coapmx_loop *loop;
};

static void record(struct fired *f, int tag)
{
    f->order[f->count] = tag;
    f->at[f->count++] = coapmx_loop_now(f->loop);
}

static void fire_1(void *arg)
{
    record(arg, 1);
}

static void fire_2(void *arg)
{
    record(arg, 2);
}

static void fire_3(void *arg)
{
    record(arg, 3);
}

static bool three_fired(void *arg)
{
    return ((struct fired *)arg)->count == 3;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void virtual_time_jumps_to_each_timer(void **state)
{
    (void)state;
    struct coapmx_clock clock;
    coapmx_clock_virtual_init(&clock, 1000);
    struct coapmx_loop *loop = coapmx_loop_new(&clock);
    struct fired f = {.loop = loop};
    coapmx_loop_timer(loop, 93000, fire_3, &f);
    coapmx_loop_timer(loop, 2000, fire_1, &f);
    coapmx_loop_timer(loop, 6000, fire_2, &f);
    double started = wall_seconds();
    assert_true(coapmx_loop_run_until(loop, three_fired, &f, 100000));
    assert_int_equal(f.order[0], 1);
    assert_int_equal(f.order[1], 2);
    assert_int_equal(f.order[2], 3);
    assert_int_equal(f.at[0], 3000);
    assert_int_equal(f.at[1], 7000);
    assert_int_equal(f.at[2], 94000);
    /* 93 s of protocol time; nothing here waits for real (no fd, no idle hook). */
    assert_true(wall_seconds() - started < 1.0);
    coapmx_loop_free(loop);
}

static void cancelled_timers_never_fire(void **state)
{
    (void)state;
    struct coapmx_clock clock;
    coapmx_clock_virtual_init(&clock, 0);
    struct coapmx_loop *loop = coapmx_loop_new(&clock);
    struct fired f = {.loop = loop};
    uint64_t doomed = coapmx_loop_timer(loop, 10, fire_1, &f);
    coapmx_loop_timer(loop, 20, fire_2, &f);
    coapmx_loop_cancel(loop, doomed);
    size_t watches, timers;
    coapmx_loop_registered(loop, &watches, &timers);
    assert_int_equal(timers, 1); /* the cancelled one is gone at once */
    assert_false(coapmx_loop_run_until(loop, three_fired, &f, 50));
    coapmx_loop_registered(loop, &watches, &timers);
    assert_int_equal(watches, 0);
    assert_int_equal(timers, 0); /* a fired timer is gone too */
    assert_int_equal(f.count, 1);
    assert_int_equal(f.order[0], 2);
    assert_int_equal(clock.virtual_ms, 50); /* the deadline bounds the jump */
    coapmx_loop_free(loop);
}

static void timers_due_together_fire_in_the_order_set(void **state)
{
    (void)state;
    struct coapmx_clock clock;
    coapmx_clock_virtual_init(&clock, 0);
    struct coapmx_loop *loop = coapmx_loop_new(&clock);
    struct fired f = {.loop = loop};
    /* Set out of order, two of them due at the same instant: 2 before 3, as they were set. */
    coapmx_loop_timer(loop, 30, fire_1, &f);
    coapmx_loop_timer(loop, 10, fire_2, &f);
    coapmx_loop_timer(loop, 10, fire_3, &f);
    assert_true(coapmx_loop_run_until(loop, three_fired, &f, 100));
    assert_int_equal(f.order[0], 2);
    assert_int_equal(f.order[1], 3);
    assert_int_equal(f.order[2], 1);
    assert_int_equal(f.at[0], 10);
    assert_int_equal(f.at[1], 10);
    coapmx_loop_free(loop);
}

static bool never(void *arg)
{
    (void)arg;
    return false;
}

static void a_deadline_is_never_jumped_over(void **state)
{
    (void)state;
    struct coapmx_clock clock;
    coapmx_clock_virtual_init(&clock, 0);
    struct coapmx_loop *loop = coapmx_loop_new(&clock);
    struct fired f = {.loop = loop};
    coapmx_loop_timer(loop, 145000, fire_1, &f);
    assert_false(coapmx_loop_run_until(loop, never, NULL, 20000));
    assert_int_equal(clock.virtual_ms, 20000);
    assert_int_equal(f.count, 0);
    coapmx_loop_free(loop);
}

struct readable {
    int fd;
    int seen;
};

static void on_readable(void *arg, int fd, short revents)
{
    struct readable *r = arg;
    char byte;
    if ((revents & POLLIN) && read(fd, &byte, 1) == 1)
        r->seen++;
}

static void idle_hook_delivers_before_time_jumps(void *arg)
{
    int fd = *(int *)arg;
    (void)!write(fd, "x", 1); /* what a peer in flight would deliver when synced */
}

static bool one_seen(void *arg)
{
    return ((struct readable *)arg)->seen == 1;
}

static void events_come_before_virtual_time(void **state)
{
    (void)state;
    int pair[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    struct coapmx_clock clock;
    coapmx_clock_virtual_init(&clock, 0);
    struct coapmx_loop *loop = coapmx_loop_new(&clock);
    struct readable r = {.fd = pair[0]};
    struct fired f = {.loop = loop};
    coapmx_loop_watch(loop, pair[0], POLLIN, on_readable, &r);
    coapmx_loop_set_idle_hook(loop, idle_hook_delivers_before_time_jumps, &pair[1], 5);
    coapmx_loop_timer(loop, 2000, fire_1, &f);
    assert_true(coapmx_loop_run_until(loop, one_seen, &r, 10000));
    assert_int_equal(clock.virtual_ms, 0); /* the event came first: no time passed */
    assert_int_equal(f.count, 0);
    coapmx_loop_unwatch(loop, pair[0]);
    coapmx_loop_free(loop);
    close(pair[0]);
    close(pair[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(virtual_time_jumps_to_each_timer),
        cmocka_unit_test(cancelled_timers_never_fire),
        cmocka_unit_test(timers_due_together_fire_in_the_order_set),
        cmocka_unit_test(a_deadline_is_never_jumped_over),
        cmocka_unit_test(events_come_before_virtual_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
