/* pool.h -- fixed-size objects carved from blocks: the interface of pool.c
 * SPDX-License-Identifier: MIT
 *
 * 10,000 idle connections, sessions and sockets are 10,000 small objects
 * each that live for minutes, while the buffers of their handshakes live
 * for milliseconds. Left to malloc, the two end up interleaved, and the
 * buffers' memory, once freed, sits in holes between live objects where
 * it can never go back to the system (measured: half of an idle
 * Socket.IO session's RSS). A pool keeps each kind of object in blocks
 * of its own, side by side, without a malloc header each, and recycles
 * them through a free list.
 *
 * Error convention: pool_alloc returns a zeroed object, or NULL if out of
 * memory; the others cannot fail.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>

struct pool_block;

struct pool {
    size_t size;               /* bytes per object, at least a pointer */
    size_t per_block;          /* objects carved from one allocation */
    void *free;                /* released objects, linked through their
                                * first bytes */
    struct pool_block *blocks; /* every block, to free at exit */
};

void pool_init(struct pool *p, size_t size, size_t per_block);
void *pool_alloc(struct pool *p);
void pool_release(struct pool *p, void *obj);
void pool_free(struct pool *p);

#endif
