/* Event loop over file descriptors and timers. The stack reads time only through the loop's
 * clock, so a virtual clock can replace the real one without touching protocol code. */
#ifndef COAPMX_LOOP_H
#define COAPMX_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct coapmx_clock {
    uint64_t (*now_ms)(struct coapmx_clock *clock);
    bool is_virtual;
    uint64_t virtual_ms; /* virtual clocks: the current time, advanced by the loop */
};

/* CLOCK_MONOTONIC in milliseconds. */
struct coapmx_clock *coapmx_clock_real(void);
/* A clock that stands still until the loop, finding nothing to do, jumps it to the next timer:
 * protocol time (a 93-second give-up) passes in milliseconds, exactly reproducibly. */
void coapmx_clock_virtual_init(struct coapmx_clock *clock, uint64_t start_ms);

struct coapmx_loop;

typedef void (*coapmx_fd_cb)(void *arg, int fd, short revents);
typedef void (*coapmx_timer_cb)(void *arg);

struct coapmx_loop *coapmx_loop_new(struct coapmx_clock *clock);
void coapmx_loop_free(struct coapmx_loop *loop);

uint64_t coapmx_loop_now(struct coapmx_loop *loop);

/* Watch fd for `events` (POLLIN...). POLLERR/POLLHUP are always reported. One watch per fd. */
int coapmx_loop_watch(struct coapmx_loop *loop, int fd, short events, coapmx_fd_cb cb, void *arg);
void coapmx_loop_unwatch(struct coapmx_loop *loop, int fd);

/* Returns a timer id (never 0); 0 on allocation failure. */
uint64_t coapmx_loop_timer(struct coapmx_loop *loop, uint64_t delay_ms, coapmx_timer_cb cb,
                           void *arg);
void coapmx_loop_cancel(struct coapmx_loop *loop, uint64_t timer_id);
/* What is still registered: descriptors watched and timers pending (a closed stack leaves none). */
void coapmx_loop_registered(const struct coapmx_loop *loop, size_t *watches, size_t *timers);

/* Virtual clocks only: called when nothing is ready, before time jumps, so that whoever else
 * takes part (a peer process) can deliver what is in flight; then up to grace_ms of real time
 * pass for what the hook cannot vouch for (an ICMP error or a datagram still inside a kernel),
 * and poll returns as soon as one arrives. */
void coapmx_loop_set_idle_hook(struct coapmx_loop *loop, void (*hook)(void *arg), void *arg,
                               int grace_ms);

/* One iteration: waits at most max_wait_ms (less if a timer is due), dispatches what is ready.
 * On a virtual clock it waits only a short real grace and then jumps to the next timer.
 * Returns the number of callbacks run, or -1 on a poll error. */
int coapmx_loop_run_once(struct coapmx_loop *loop, int max_wait_ms);

/* Runs until done(arg) is true or timeout_ms of clock time passed (on a virtual clock, also at
 * most COAPMX_LOOP_MAX_ITERATIONS iterations). Returns done(arg). */
#define COAPMX_LOOP_MAX_ITERATIONS 100000
bool coapmx_loop_run_until(struct coapmx_loop *loop, bool (*done)(void *arg), void *arg,
                           uint64_t timeout_ms);

#endif
