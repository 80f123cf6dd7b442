/* cluster.h -- several wshub (and Node socket.io) nodes on one Redis: the interface of cluster.c
 * SPDX-License-Identifier: MIT
 *
 * The adapter between the hub and Redis, wire-compatible with
 * @socket.io/redis-adapter (the classic one) and @socket.io/redis-emitter.
 * The loop owns the two poll entries of its Redis connections and calls
 * cluster_io() when they are ready; everything else happens inside.
 *
 * Error convention: cluster_start returns 0, or -1 with a message on
 * stderr (a bad URL, or out of memory); the rest cannot fail.
 */
#ifndef CLUSTER_H
#define CLUSTER_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

struct hub;

#define CLUSTER_SLOTS 2 /* poll entries: the publisher, the subscriber */

int cluster_start(struct hub *h, const char *url, const char *key,
                  int requests_timeout, size_t max_output,
                  struct pollfd slots[CLUSTER_SLOTS]);
void cluster_io(const struct pollfd slots[CLUSTER_SLOTS]);
void cluster_free(void);

#endif
