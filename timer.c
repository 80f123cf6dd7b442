/* timer.c -- deadlines in a binary min-heap
 * SPDX-License-Identifier: MIT
 *
 * The heap is an array in which the parent of slot i is slot (i - 1) / 2
 * and every parent is due no later than its children. Adding a timer
 * puts it at the end and lets it rise past later parents; removing one
 * fills its slot with the last timer and lets that rise or sink. Each
 * timer records its slot, so cancelling or moving it needs no search.
 * The heap does no I/O and reads no clock: the caller says what "now" is,
 * so test/unit_timer.c drives it with a fake clock.
 *
 * References: a binary heap as in any algorithms text (e.g. Sedgewick,
 * "Priority Queues"); nothing protocol-specific.
 */
#include "timer.h"

#include <stdlib.h>

static void put(struct timers *ts, size_t i, struct timer *t)
{
    ts->heap[i] = t;
    t->index = i + 1;
}

/* Move the timer at slot i up while its parent is due later. */
static void rise(struct timers *ts, size_t i)
{
    struct timer *t = ts->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (ts->heap[parent]->when <= t->when)
            break;
        put(ts, i, ts->heap[parent]);
        i = parent;
    }
    put(ts, i, t);
}

/* Move the timer at slot i down while a child is due earlier. */
static void sink(struct timers *ts, size_t i)
{
    struct timer *t = ts->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= ts->n)
            break;
        if (child + 1 < ts->n && ts->heap[child + 1]->when < ts->heap[child]->when)
            child++;
        if (t->when <= ts->heap[child]->when)
            break;
        put(ts, i, ts->heap[child]);
        i = child;
    }
    put(ts, i, t);
}

/* Arm t to fire at `when`, or move it there if it is armed already.
 * Returns 0, or -1 if out of memory (t is then left as it was). */
int timers_set(struct timers *ts, struct timer *t, int64_t when)
{
    if (timer_armed(t)) {
        int64_t was = t->when;
        t->when = when;
        if (when < was)
            rise(ts, t->index - 1);
        else
            sink(ts, t->index - 1);
        return 0;
    }
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 64;
        struct timer **h = realloc(ts->heap, cap * sizeof *h);
        if (!h)
            return -1;
        ts->heap = h;
        ts->cap = cap;
    }
    t->when = when;
    put(ts, ts->n++, t);
    rise(ts, ts->n - 1);
    return 0;
}

/* Halve the array once it is three quarters empty, so that a burst of
 * timers (10,000 clients connecting at once) does not pin its memory.
 * A failed shrink just keeps the larger array. */
static void shrink(struct timers *ts)
{
    if (ts->cap <= 64 || ts->n > ts->cap / 4)
        return;
    struct timer **h = realloc(ts->heap, ts->cap / 2 * sizeof *h);
    if (h) {
        ts->heap = h;
        ts->cap /= 2;
    }
}

/* Disarm t; nothing happens if it is not armed. */
void timers_cancel(struct timers *ts, struct timer *t)
{
    if (!timer_armed(t))
        return;
    size_t i = t->index - 1;
    struct timer *last = ts->heap[--ts->n];
    t->index = 0;
    if (last != t) {
        put(ts, i, last);
        rise(ts, i);
        sink(ts, last->index - 1);
    }
    shrink(ts);
}

/* When the earliest timer is due, or INT64_MAX when none is armed. */
int64_t timers_next(const struct timers *ts)
{
    return ts->n ? ts->heap[0]->when : INT64_MAX;
}

/* Take out and return one timer that is due at `now`, earliest first, or
 * NULL when none is. The caller runs it, and may re-arm it, or any
 * other, before asking for the next. */
struct timer *timers_pop(struct timers *ts, int64_t now)
{
    if (ts->n == 0 || ts->heap[0]->when > now)
        return NULL;
    struct timer *t = ts->heap[0];
    timers_cancel(ts, t);
    return t;
}

void timers_free(struct timers *ts)
{
    free(ts->heap);
    ts->heap = NULL;
    ts->n = ts->cap = 0;
}
