/* pollset.h -- the poll() array, busy connections first: the interface of pollset.c
 * SPDX-License-Identifier: MIT
 *
 * poll() costs time in proportion to the descriptors it is given, ready
 * or not. So the array is kept in two parts: hot connections at the
 * front, polled on every turn, and cold ones behind, polled only now and
 * then (server.c decides when, and what makes a connection hot). The
 * first nfixed entries are the loop's own, always hot: the listener in
 * entry 0, and with --redis the two Redis connections.
 *
 * Two rules hold after every call, and only this module moves entries:
 *   owners[i]->slot == i, for every i in [nfixed, n);
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
    struct conn **owners; /* owners[i] owns pfds[i]; NULL below nfixed */
    size_t n;             /* entries in use, the fixed ones included */
    size_t nfixed;        /* entries [0, nfixed) are the loop's own */
    size_t nhot;          /* entries [0, nhot) are hot */
    size_t cap;           /* entries allocated: connections + nfixed */
};

int pollset_init(struct pollset *ps, size_t max_conns, size_t nfixed);
void pollset_free(struct pollset *ps);
bool pollset_full(const struct pollset *ps);
void pollset_add(struct pollset *ps, struct conn *c, int fd);
void pollset_remove(struct pollset *ps, struct conn *c);
void pollset_set_events(struct pollset *ps, const struct conn *c, short ev);
bool pollset_is_hot(const struct pollset *ps, const struct conn *c);
void pollset_heat(struct pollset *ps, struct conn *c);
void pollset_cool(struct pollset *ps, struct conn *c);

#endif
