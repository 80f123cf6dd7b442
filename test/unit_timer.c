/* unit_timer.c -- the timer heap and the poll set, on their own
 * SPDX-License-Identifier: MIT
 *
 * Both are data structures with rules that must hold after every call:
 * the heap's (no parent due after its children; every timer knows its
 * slot) and the poll set's (owners[i]->slot == i; hot entries first).
 * Each test makes the structure do its moves and checks the rules, and
 * what comes out, against a plain model: a fake clock and a sorted list.
 * The poll set's cold part is an epoll instance, so its tests use real
 * descriptors (socket pairs) and check what poll() and epoll report.
 */
#include "../conn.h"
#include "../pollset.h"
#include "../timer.h"
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * The timer heap
 * ------------------------------------------------------------------------ */

/* The heap's rules, checked everywhere: parents first, indexes true. */
static bool heap_ok(const struct timers *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        if (ts->heap[i]->index != i + 1)
            return false;
        if (i > 0 && ts->heap[(i - 1) / 2]->when > ts->heap[i]->when)
            return false;
    }
    return true;
}

TEST(timers_come_out_in_deadline_order)
{
    struct timers ts = {0};
    struct timer t[100] = {{0}};
    for (int i = 0; i < 100; i++) /* 0, 37, 74, ... mod 100: all out of order */
        CHECK_EQ_INT(timers_set(&ts, &t[i], (i * 37) % 100), 0);
    CHECK(heap_ok(&ts));
    CHECK_EQ_INT(timers_next(&ts), 0);
    CHECK(timers_pop(&ts, 49) != NULL);
    int64_t last = -1;
    int popped = 1;
    struct timer *x;
    while ((x = timers_pop(&ts, 49)) != NULL) {
        CHECK(x->when >= last && !timer_armed(x));
        last = x->when;
        popped++;
        CHECK(heap_ok(&ts));
    }
    CHECK_EQ_INT(popped, 50);          /* 0..49 are due at 49 */
    CHECK_EQ_INT(timers_next(&ts), 50); /* 50..99 are not */
    timers_free(&ts);
}

TEST(nothing_armed_means_no_deadline)
{
    struct timers ts = {0};
    CHECK(timers_next(&ts) == INT64_MAX);
    CHECK(timers_pop(&ts, INT64_MAX) == NULL);
    struct timer t = {0};
    timers_cancel(&ts, &t); /* cancelling an unarmed timer is harmless */
    CHECK(!timer_armed(&t));
    timers_free(&ts);
}

TEST(cancel_removes_from_any_place)
{
    struct timers ts = {0};
    struct timer t[64] = {{0}};
    for (int i = 0; i < 64; i++)
        timers_set(&ts, &t[i], 1000 - i);
    for (int i = 0; i < 64; i += 3) { /* the top, leaves, and the middle */
        timers_cancel(&ts, &t[i]);
        CHECK(!timer_armed(&t[i]));
        CHECK(heap_ok(&ts));
    }
    int n = 0;
    struct timer *x;
    while ((x = timers_pop(&ts, 2000)) != NULL) {
        CHECK((x - t) % 3 != 0); /* no cancelled timer comes out */
        n++;
    }
    CHECK_EQ_INT(n, 64 - 22);
    timers_free(&ts);
}

TEST(rearm_moves_a_timer_earlier_or_later)
{
    struct timers ts = {0};
    struct timer a = {0}, b = {0}, c = {0};
    timers_set(&ts, &a, 100);
    timers_set(&ts, &b, 200);
    timers_set(&ts, &c, 300);
    timers_set(&ts, &c, 50); /* earlier: it rises to the top */
    CHECK(heap_ok(&ts));
    CHECK(timers_pop(&ts, 1000) == &c);
    timers_set(&ts, &a, 250); /* later: it sinks below b */
    CHECK(heap_ok(&ts));
    CHECK(timers_pop(&ts, 1000) == &b);
    CHECK(timers_pop(&ts, 1000) == &a);
    CHECK_EQ_INT(ts.n, 0);
    timers_free(&ts);
}

TEST(many_timers_at_the_same_instant_all_fire)
{
    struct timers ts = {0};
    static struct timer t[10000];
    for (int i = 0; i < 10000; i++)
        timers_set(&ts, &t[i], 5000);
    timers_set(&ts, &t[0], 5001);
    CHECK(heap_ok(&ts));
    int n = 0;
    while (timers_pop(&ts, 5000))
        n++;
    CHECK_EQ_INT(n, 9999);
    CHECK(timers_pop(&ts, 5001) == &t[0]);
    CHECK(ts.cap <= 64); /* emptied, the array has shrunk back */
    timers_free(&ts);
}

TEST(a_timer_rearmed_while_popping_fires_again_later)
{
    struct timers ts = {0};
    struct timer a = {0};
    timers_set(&ts, &a, 10);
    struct timer *x = timers_pop(&ts, 10);
    CHECK(x == &a);
    timers_set(&ts, x, 20); /* what a ping timer does every interval */
    CHECK(timers_pop(&ts, 10) == NULL);
    CHECK(timers_pop(&ts, 20) == &a);
    timers_free(&ts);
}

/* ------------------------------------------------------------------------
 * The poll set
 * ------------------------------------------------------------------------ */

/* The poll set's rules: every owner knows its slot, and the hot part is
 * exactly [0, nhot). */
static bool pollset_ok(const struct pollset *ps)
{
    if (ps->nhot < ps->nfixed || ps->nhot > ps->n || ps->n > ps->cap)
        return false;
    for (size_t i = ps->nfixed; i < ps->n; i++) {
        if (ps->owners[i]->slot != i || ps->pfds[i].fd != ps->owners[i]->fd)
            return false;
    }
    return true;
}

/* The cold part lives in an epoll instance, which takes only real
 * descriptors: each test connection gets one end of a socket pair, and
 * its other end (peer[i]) lets the test make it readable. */
static void open_conns(struct conn *c, int *peer, int n)
{
    for (int i = 0; i < n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
            perror("socketpair");
            exit(1);
        }
        c[i].fd = sv[0];
        peer[i] = sv[1];
    }
}

static void close_conns(struct conn *c, int *peer, int n)
{
    for (int i = 0; i < n; i++) {
        close(c[i].fd);
        close(peer[i]);
    }
}

TEST(pollset_keeps_slots_true_and_hot_entries_first)
{
    struct pollset ps;
    static struct conn c[8];
    int peer[8];
    open_conns(c, peer, 8);
    CHECK_EQ_INT(pollset_init(&ps, 8, 1), 0);
    CHECK_EQ_INT(ps.nfixed, 2); /* the listener, and the cold part's epoll */
    ps.pfds[0].fd = 100; /* the listener */
    for (int i = 0; i < 8; i++) {
        pollset_add(&ps, &c[i], c[i].fd);
        CHECK(pollset_is_hot(&ps, &c[i])); /* a request is on its way */
    }
    CHECK(pollset_full(&ps));
    CHECK(pollset_ok(&ps));
    for (int i = 0; i < 8; i += 2)
        CHECK_EQ_INT(pollset_cool(&ps, &c[i]), 0);
    CHECK(pollset_ok(&ps));
    CHECK_EQ_INT(ps.nhot, 2 + 4);
    for (int i = 0; i < 8; i++)
        CHECK(pollset_is_hot(&ps, &c[i]) == (i % 2 == 1));
    pollset_heat(&ps, &c[4]);
    pollset_remove(&ps, &c[1]); /* a hot one */
    pollset_remove(&ps, &c[6]); /* a cold one */
    CHECK(pollset_ok(&ps));
    CHECK_EQ_INT(ps.n, 8);
    CHECK(pollset_is_hot(&ps, &c[4]) && !pollset_is_hot(&ps, &c[0]));
    pollset_set_events(&ps, &c[3], POLLOUT);
    CHECK_EQ_INT(ps.pfds[c[3].slot].events, POLLOUT);
    CHECK_EQ_INT(ps.pfds[0].fd, 100); /* the listener never moves */
    pollset_free(&ps);
    close_conns(c, peer, 8);
}

TEST(pollset_fixed_entries_stay_first_and_never_move)
{
    struct pollset ps;
    static struct conn c[6];
    int peer[6];
    open_conns(c, peer, 6);
    CHECK_EQ_INT(pollset_init(&ps, 6, 3), 0); /* listener + 2 for Redis */
    CHECK_EQ_INT(ps.n, 4);
    CHECK_EQ_INT(ps.nhot, 4);
    CHECK_EQ_INT(ps.cold_slot, 3);
    CHECK_EQ_INT(ps.pfds[1].fd, -1); /* unused until connected: poll skips it */
    ps.pfds[0].fd = 100;
    ps.pfds[1].fd = 101;
    ps.pfds[2].fd = 102;
    for (int i = 0; i < 6; i++)
        pollset_add(&ps, &c[i], c[i].fd);
    CHECK(pollset_full(&ps));
    for (int i = 0; i < 6; i++)
        pollset_cool(&ps, &c[i]);
    CHECK_EQ_INT(ps.nhot, 4); /* every connection cold, the fixed ones hot */
    pollset_heat(&ps, &c[5]);
    pollset_remove(&ps, &c[0]);
    for (size_t i = ps.nfixed; i < ps.n; i++)
        CHECK(ps.owners[i]->slot == i && ps.pfds[i].fd == ps.owners[i]->fd);
    CHECK(ps.pfds[0].fd == 100 && ps.pfds[1].fd == 101 && ps.pfds[2].fd == 102);
    CHECK(ps.pfds[3].fd == ps.cold_fd);
    for (int k = 0; k < 4; k++)
        CHECK(ps.owners[k] == NULL);
    pollset_free(&ps);
    close_conns(c, peer, 6);
}

TEST(cooling_during_a_top_down_walk_visits_everyone_once)
{
    struct pollset ps;
    static struct conn c[50];
    int peer[50];
    int visits[50] = {0};
    open_conns(c, peer, 50);
    pollset_init(&ps, 50, 1);
    for (int i = 0; i < 50; i++)
        pollset_add(&ps, &c[i], c[i].fd);
    for (int i = 0; i < 50; i += 7)
        pollset_cool(&ps, &c[i]);
    /* The walk server.c does: top down, cooling some as it goes. */
    for (size_t i = ps.n - 1; i >= ps.nfixed; i--) {
        struct conn *x = ps.owners[i];
        visits[x - c]++;
        if ((x - c) % 3 == 0)
            pollset_cool(&ps, x);
        CHECK(pollset_ok(&ps));
    }
    for (int i = 0; i < 50; i++)
        CHECK_EQ_INT(visits[i], 1);
    for (int i = 0; i < 50; i++)
        CHECK(pollset_is_hot(&ps, &c[i]) == (i % 3 != 0 && i % 7 != 0));
    pollset_free(&ps);
    close_conns(c, peer, 50);
}

/* The point of the cold part: poll() is given only the hot entries, yet
 * a cold connection's input makes the epoll entry readable, and
 * pollset_cold_events() names exactly the cold connections that have
 * input, with revents set as poll() would. A hot one's input is left to
 * poll(); a connection heated again leaves the epoll instance. */
TEST(a_cold_connection_with_input_wakes_the_hot_poll)
{
    struct pollset ps;
    static struct conn c[4];
    int peer[4];
    struct conn *ready[4];
    open_conns(c, peer, 4);
    CHECK_EQ_INT(pollset_init(&ps, 4, 1), 0);
    for (int i = 0; i < 4; i++)
        pollset_add(&ps, &c[i], c[i].fd);
    for (int i = 0; i < 3; i++)
        pollset_cool(&ps, &c[i]); /* c[3] stays hot */
    CHECK_EQ_INT(poll(ps.pfds, ps.nhot, 0), 0); /* nothing yet */
    CHECK_EQ_INT(pollset_cold_events(&ps, ready, 4), 0);

    CHECK_EQ_INT(write(peer[1], "x", 1), 1);
    CHECK_EQ_INT(write(peer[3], "y", 1), 1);
    CHECK_EQ_INT(poll(ps.pfds, ps.nhot, 1000), 2); /* c[3], and the cold slot */
    CHECK(ps.pfds[ps.cold_slot].revents & POLLIN);
    CHECK(ps.pfds[c[3].slot].revents & POLLIN);
    CHECK_EQ_INT(pollset_cold_events(&ps, ready, 4), 1);
    CHECK(ready[0] == &c[1]);
    CHECK(ps.pfds[c[1].slot].revents & POLLIN);

    /* Level-triggered: still reported until read or heated. */
    CHECK_EQ_INT(pollset_cold_events(&ps, ready, 4), 1);
    pollset_heat(&ps, &c[1]);
    CHECK_EQ_INT(pollset_cold_events(&ps, ready, 4), 0);
    CHECK_EQ_INT(poll(ps.pfds, ps.nhot, 0), 2); /* c[1] and c[3], now both hot */

    /* Events changed while cold reach the epoll instance: c[0] asks for
     * POLLOUT, which a socket with room to write has at once. */
    pollset_set_events(&ps, &c[0], POLLIN | POLLOUT);
    CHECK_EQ_INT(pollset_cold_events(&ps, ready, 4), 1);
    CHECK(ready[0] == &c[0] && (ps.pfds[c[0].slot].revents & POLLOUT));
    pollset_free(&ps);
    close_conns(c, peer, 4);
}

int main(void)
{
    RUN(timers_come_out_in_deadline_order);
    RUN(nothing_armed_means_no_deadline);
    RUN(cancel_removes_from_any_place);
    RUN(rearm_moves_a_timer_earlier_or_later);
    RUN(many_timers_at_the_same_instant_all_fire);
    RUN(a_timer_rearmed_while_popping_fires_again_later);
    RUN(pollset_keeps_slots_true_and_hot_entries_first);
    RUN(pollset_fixed_entries_stay_first_and_never_move);
    RUN(cooling_during_a_top_down_walk_visits_everyone_once);
    RUN(a_cold_connection_with_input_wakes_the_hot_poll);
    return check_summary("unit_timer");
}
