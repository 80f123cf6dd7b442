/* timer.h -- deadlines in a binary min-heap: the interface of timer.c
 * SPDX-License-Identifier: MIT
 *
 * A struct timer lives inside whatever it times (a connection, a
 * session) and is put in a struct timers, a heap ordered by `when`. The
 * earliest deadline is always at the top, so the loop can sleep exactly
 * until it (timers_next) and find every due timer in time proportional
 * to how many are due (timers_pop), not to how many exist.
 *
 * Why a heap and not a timer wheel: wheels are faster when millions of
 * timers churn, but a heap is a page of code a student can check by hand
 * (each operation restores one rule: a parent is never later than its
 * children), has no tick granularity, and costs O(log n) per change:
 * 14 levels for 10,000 connections.
 *
 * Re-arming lazily: an owner whose deadline moves later may leave its
 * timer where it is, let it fire early, and set it again then. That
 * turns "a deadline moves on every message" into no heap work at all.
 *
 * Error convention: timers_set returns 0, or -1 if the heap could not
 * grow (the timer is then not armed); the others cannot fail.
 */
#ifndef TIMER_H
#define TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timer {
    int64_t when; /* ms on the caller's clock; meaningful while armed */
    size_t index; /* place in the heap + 1; 0 while not armed */
    void (*fire)(struct timer *t, int64_t now); /* what the owner runs
                                                 * when it pops t */
};

struct timers {
    struct timer **heap; /* heap[0] is the earliest; heap[i]->index == i+1 */
    size_t n;            /* armed timers */
    size_t cap;          /* slots allocated at heap */
};

int timers_set(struct timers *ts, struct timer *t, int64_t when);
void timers_cancel(struct timers *ts, struct timer *t);
int64_t timers_next(const struct timers *ts);
struct timer *timers_pop(struct timers *ts, int64_t now);
void timers_free(struct timers *ts);

static inline bool timer_armed(const struct timer *t)
{
    return t->index != 0;
}

#endif
