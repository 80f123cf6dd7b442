/* pollset.c -- the poll() array, busy connections first
 * SPDX-License-Identifier: MIT
 *
 * The array server.c hands to poll(), with its two rules (pollset.h)
 * kept in one place: every move is a swap that fixes both owners' slot
 * numbers, and the hot part grows and shrinks at its boundary. It knows
 * nothing of what makes a connection hot; server.c decides that.
 *
 * References: POSIX poll(); the hot/cold split is wshub's own, explained
 * in server.c ("The poll set").
 */
#include "pollset.h"
#include "conn.h"

#include <assert.h>
#include <stdlib.h>

/* An array for max_conns connections behind nfixed entries of the loop's
 * own (the listener first), which are always hot and start unused (fd -1,
 * which poll() skips). Returns 0, or -1 if out of memory. */
int pollset_init(struct pollset *ps, size_t max_conns, size_t nfixed)
{
    ps->cap = max_conns + nfixed;
    ps->pfds = calloc(ps->cap, sizeof *ps->pfds);
    ps->owners = calloc(ps->cap, sizeof *ps->owners);
    if (!ps->pfds || !ps->owners) {
        pollset_free(ps);
        return -1;
    }
    for (size_t k = 0; k < nfixed; k++)
        ps->pfds[k].fd = -1;
    ps->n = ps->nhot = ps->nfixed = nfixed;
    return 0;
}

void pollset_free(struct pollset *ps)
{
    free(ps->pfds);
    free(ps->owners);
    ps->pfds = NULL;
    ps->owners = NULL;
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
    pollset_heat(ps, c);
}

/* Take c out; the last entry fills its place, so the array stays dense
 * without a rebuild. */
void pollset_remove(struct pollset *ps, struct conn *c)
{
    pollset_cool(ps, c); /* now at the start of the cold part */
    swap(ps, c->slot, ps->n - 1);
    ps->owners[--ps->n] = NULL;
}

/* The events poll() is to watch for on c's descriptor. */
void pollset_set_events(struct pollset *ps, const struct conn *c, short ev)
{
    ps->pfds[c->slot].events = ev;
}

bool pollset_is_hot(const struct pollset *ps, const struct conn *c)
{
    return c->slot < ps->nhot;
}

/* Move a cold c to the end of the hot part. */
void pollset_heat(struct pollset *ps, struct conn *c)
{
    if (!pollset_is_hot(ps, c))
        swap(ps, c->slot, ps->nhot++);
}

/* Move a hot c to the start of the cold part: the swap partner is the
 * last hot entry, at or above c's slot (pollset.h, "Walking"). */
void pollset_cool(struct pollset *ps, struct conn *c)
{
    if (pollset_is_hot(ps, c))
        swap(ps, c->slot, --ps->nhot);
}
