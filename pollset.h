/* pollset.h -- the poll() array, busy connections first: the interface of pollset.c
 * SPDX-License-Identifier: MIT
 *
 * poll() costs time in proportion to the descriptors it is given, ready
 * or not. So the array is kept in two parts: hot connections at the
 * front, polled on every turn, and cold ones behind, polled only now and
 * then (server.c decides when, and what makes a connection hot). Entry 0
 * is the listener, always hot.
 *
 * Two rules hold after every call, and only this module moves entries:
 *   owners[i]->slot == i, for every i in [1, n);
 *   entries [0, nhot) are the hot ones, [nhot, n) the cold ones.
 * An entry moves only by swapping with one other, so no call costs more
 * than two swaps.
 *
 * Walking: pollset_cool() moves an entry only to a slot at or above the
 * one it had, so a walk from the top down (i = n - 1 .. 1) may cool the
 * entry it stands on and still visits every entry exactly once.
 * pollset_heat() and pollset_remove() may move unvisited entries: call
 * them after a walk, not during one.
 *
 * Error convention: pollset_init returns 0 or -1 (out of memory); the
 * others cannot fail (the array is sized once for --max-conns).
 */
#ifndef POLLSET_H
#define POLLSET_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

struct conn;

struct pollset {
    struct pollfd *pfds;  /* [0, n) handed to poll(); [0] the listener */
    struct conn **owners; /* owners[i] owns pfds[i]; owners[0] is NULL */
    size_t n;             /* entries in use, the listener included */
    size_t nhot;          /* entries [0, nhot) are hot */
    size_t cap;           /* entries allocated: connections + 1 */
};

int pollset_init(struct pollset *ps, size_t max_conns, int listen_fd);
void pollset_free(struct pollset *ps);
bool pollset_full(const struct pollset *ps);
void pollset_add(struct pollset *ps, struct conn *c, int fd);
void pollset_remove(struct pollset *ps, struct conn *c);
void pollset_set_events(struct pollset *ps, const struct conn *c, short ev);
bool pollset_is_hot(const struct pollset *ps, const struct conn *c);
void pollset_heat(struct pollset *ps, struct conn *c);
void pollset_cool(struct pollset *ps, struct conn *c);

#endif
