/* pollset.c -- the poll() array, busy connections first
 * SPDX-License-Identifier: MIT
 *
 * The array server.c hands to poll(), with its rules (pollset.h) kept in
 * one place: every move is a swap that fixes both owners' slot numbers,
 * the hot part grows and shrinks at its boundary, and a connection
 * enters the epoll instance when it crosses into the cold part and
 * leaves it when it crosses back. It knows nothing of what makes a
 * connection hot; server.c decides that.
 *
 * The epoll instance is level-triggered (the default): a cold connection
 * with unread input is reported on every epoll_wait() until it is read
 * or made hot, exactly as poll() would report it. So nothing is lost if
 * the loop handles only part of what is ready in one turn.
 *
 * References: POSIX poll(); Linux epoll(7), epoll_ctl(2), epoll_wait(2);
 * the hot/cold split is wshub's own, explained in server.c ("The poll
 * set").
 */
#include "pollset.h"
#include "conn.h"

#include <assert.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/* An array for max_conns connections behind the caller's nfixed entries
 * (the listener first), which start unused (fd -1, which poll() skips),
 * and one entry more for the epoll instance that watches the cold part.
 * Returns 0, or -1 with errno set (out of memory or descriptors). */
int pollset_init(struct pollset *ps, size_t max_conns, size_t nfixed)
{
    ps->cap = max_conns + nfixed + 1;
    ps->pfds = calloc(ps->cap, sizeof *ps->pfds);
    ps->owners = calloc(ps->cap, sizeof *ps->owners);
    ps->cold_fd = epoll_create1(EPOLL_CLOEXEC);
    if (!ps->pfds || !ps->owners || ps->cold_fd < 0) {
        pollset_free(ps);
        return -1;
    }
    for (size_t k = 0; k < nfixed; k++)
        ps->pfds[k].fd = -1;
    ps->cold_slot = nfixed;
    ps->pfds[nfixed].fd = ps->cold_fd;
    ps->pfds[nfixed].events = POLLIN; /* readable: a cold one has an event */
    ps->n = ps->nhot = ps->nfixed = nfixed + 1;
    return 0;
}

void pollset_free(struct pollset *ps)
{
    free(ps->pfds);
    free(ps->owners);
    if (ps->cold_fd >= 0)
        close(ps->cold_fd);
    ps->pfds = NULL;
    ps->owners = NULL;
    ps->cold_fd = -1;
    ps->n = ps->nhot = ps->nfixed = ps->cap = 0;
}

/* True when no more connections fit (--max-conns). */
bool pollset_full(const struct pollset *ps)
{
    return ps->n >= ps->cap;
}

/* Put the entries of slots a and b in each other's place. */
static void swap(struct pollset *ps, size_t a, size_t b)
{
    struct pollfd p = ps->pfds[a];
    struct conn *c = ps->owners[a];
    ps->pfds[a] = ps->pfds[b];
    ps->owners[a] = ps->owners[b];
    ps->pfds[b] = p;
    ps->owners[b] = c;
    ps->owners[a]->slot = a;
    ps->owners[b]->slot = b;
}

/* poll()'s event bits in epoll's terms. Linux gives them the same values,
 * but a reader should not have to know that. */
static uint32_t epoll_bits(short ev)
{
    return ((ev & POLLIN) ? EPOLLIN : 0) | ((ev & POLLOUT) ? EPOLLOUT : 0);
}

static short poll_bits(uint32_t ev)
{
    return (short)(((ev & EPOLLIN) ? POLLIN : 0) | ((ev & EPOLLOUT) ? POLLOUT : 0) |
                   ((ev & EPOLLHUP) ? POLLHUP : 0) | ((ev & EPOLLERR) ? POLLERR : 0));
}

/* Add c for fd, polled for input, hot: a request is on its way. The
 * caller has checked pollset_full(). */
void pollset_add(struct pollset *ps, struct conn *c, int fd)
{
    assert(ps->n < ps->cap);
    size_t i = ps->n++;
    ps->pfds[i].fd = fd;
    ps->pfds[i].events = POLLIN;
    ps->pfds[i].revents = 0;
    ps->owners[i] = c;
    c->slot = i;
    swap(ps, i, ps->nhot++); /* it was the last entry, so cold */
}

/* Take c out; the last entry fills its place, so the array stays dense
 * without a rebuild. Call it before the descriptor is closed. */
void pollset_remove(struct pollset *ps, struct conn *c)
{
    if (!pollset_is_hot(ps, c))
        epoll_ctl(ps->cold_fd, EPOLL_CTL_DEL, ps->pfds[c->slot].fd, NULL);
    else
        swap(ps, c->slot, --ps->nhot); /* now at the start of the cold part */
    swap(ps, c->slot, ps->n - 1);
    ps->owners[--ps->n] = NULL;
}

/* The events to watch for on c's descriptor: in the array, and in the
 * epoll instance too while c is cold. */
void pollset_set_events(struct pollset *ps, const struct conn *c, short ev)
{
    struct pollfd *p = &ps->pfds[c->slot];
    if (!pollset_is_hot(ps, c) && ev != p->events) {
        struct epoll_event e = {.events = epoll_bits(ev), .data.ptr = ps->owners[c->slot]};
        epoll_ctl(ps->cold_fd, EPOLL_CTL_MOD, p->fd, &e); /* c is registered: cannot fail */
    }
    p->events = ev;
}

bool pollset_is_hot(const struct pollset *ps, const struct conn *c)
{
    return c->slot < ps->nhot;
}

/* Move a cold c to the end of the hot part, out of the epoll instance. */
void pollset_heat(struct pollset *ps, struct conn *c)
{
    if (pollset_is_hot(ps, c))
        return;
    epoll_ctl(ps->cold_fd, EPOLL_CTL_DEL, ps->pfds[c->slot].fd, NULL);
    swap(ps, c->slot, ps->nhot++);
}

/* Move a hot c to the start of the cold part, into the epoll instance:
 * the swap partner is the last hot entry, at or above c's slot
 * (pollset.h, "Walking"). Returns 0, or -1 with errno set if the kernel
 * would not take it (ENOMEM, or ENOSPC past fs.epoll.max_user_watches);
 * then c stays hot. */
int pollset_cool(struct pollset *ps, struct conn *c)
{
    if (!pollset_is_hot(ps, c))
        return 0;
    struct pollfd *p = &ps->pfds[c->slot];
    struct epoll_event e = {.events = epoll_bits(p->events), .data.ptr = c};
    if (epoll_ctl(ps->cold_fd, EPOLL_CTL_ADD, p->fd, &e) != 0)
        return -1;
    p->revents = 0; /* from the last poll(); cold entries' come from epoll */
    swap(ps, c->slot, --ps->nhot);
    return 0;
}

/* The cold connections that have events, without waiting: at most max of
 * them are stored in ready[], each with its pfds[slot].revents set as
 * poll() would have set it. Call it when the cold slot's entry is
 * readable. Returns how many were stored. */
size_t pollset_cold_events(struct pollset *ps, struct conn **ready, size_t max)
{
    struct epoll_event evs[64];
    int want = max < 64 ? (int)max : 64;
    int got = epoll_wait(ps->cold_fd, evs, want, 0);
    size_t k = 0;
    for (int i = 0; i < got; i++) {
        struct conn *c = evs[i].data.ptr;
        ps->pfds[c->slot].revents = poll_bits(evs[i].events);
        ready[k++] = c;
    }
    return k;
}
