/* pollset.h -- the poll() array, busy connections first: the interface of pollset.c
 * SPDX-License-Identifier: MIT
 *
 * poll() costs time in proportion to the descriptors it is given, ready
 * or not, and so does being woken from it: measured here, a poll() that
 * sleeps on 9,000 idle sockets takes 5.6 ms (p50) to return after one of
 * them becomes readable, against 0.25 ms with 100. So connections are
 * kept in two parts:
 *   - hot ones (server.c says which: recent input, or output pending)
 *     sit at the front of the array and are handed to poll() every turn;
 *   - cold ones are watched by the kernel instead, in one epoll(7)
 *     instance, whose own descriptor is one of the hot entries. It turns
 *     readable as soon as any cold connection has an event, so a quiet
 *     client's message wakes the loop at once, and 10,000 idle
 *     connections cost poll() one entry, not 10,000.
 * The loop still has one place where it waits: poll(), on the hot part.
 * The first nfixed entries are the loop's own, always hot: the listener
 * in entry 0, with --redis the two Redis connections, and last the
 * epoll descriptor (cold_slot).
 *
 * Two rules hold after every call, and only this module moves entries:
 *   owners[i]->slot == i, for every connection's i in [nfixed, n);
 *   entries [0, nhot) are the hot ones, [nhot, n) the cold ones, and a
 *   connection is registered in the epoll instance exactly while cold.
 * An entry moves only by swapping with one other, so no call costs more
 * than two swaps and one epoll_ctl().
 *
 * Walking: pollset_cool() moves an entry only to a slot at or above the
 * one it had, so a walk from the top down (i = n - 1 .. 1) may cool the
 * entry it stands on and still visits every entry exactly once.
 * pollset_heat() and pollset_remove() may move unvisited entries: call
 * them after a walk, not during one.
 *
 * Error convention: pollset_init and pollset_cool return 0 or -1 with
 * errno set (out of memory, or the kernel's epoll limits); the others
 * cannot fail (the array is sized once for --max-conns).
 *
 * References: POSIX poll(); Linux epoll(7), epoll_ctl(2), epoll_wait(2).
 */
#ifndef POLLSET_H
#define POLLSET_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

struct conn;

struct pollset {
    struct pollfd *pfds;  /* [0, n) the entries; poll() is given [0, nhot) */
    struct conn **owners; /* owners[i] owns pfds[i]; NULL below nfixed */
    size_t n;             /* entries in use, the fixed ones included */
    size_t nfixed;        /* entries [0, nfixed) are the loop's own */
    size_t nhot;          /* entries [0, nhot) are hot */
    size_t cap;           /* entries allocated: connections + nfixed */
    size_t cold_slot;     /* the fixed entry that holds cold_fd */
    int cold_fd;          /* the epoll instance watching the cold part */
};

int pollset_init(struct pollset *ps, size_t max_conns, size_t nfixed);
void pollset_free(struct pollset *ps);
bool pollset_full(const struct pollset *ps);
void pollset_add(struct pollset *ps, struct conn *c, int fd);
void pollset_remove(struct pollset *ps, struct conn *c);
void pollset_set_events(struct pollset *ps, const struct conn *c, short ev);
bool pollset_is_hot(const struct pollset *ps, const struct conn *c);
void pollset_heat(struct pollset *ps, struct conn *c);
int pollset_cool(struct pollset *ps, struct conn *c);
size_t pollset_cold_events(struct pollset *ps, struct conn **ready, size_t max);

#endif
