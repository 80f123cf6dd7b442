/* pool.c -- fixed-size objects carved from blocks
 * SPDX-License-Identifier: MIT
 *
 * A block is one malloc of per_block objects; its objects go on the free
 * list at once, and pool_alloc takes from that list. Objects are never
 * given back to malloc one by one, only all together in pool_free().
 * Why a pool at all is in pool.h.
 */
#include "pool.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

struct pool_block {
    struct pool_block *next; /* the pool's other blocks */
    alignas(max_align_t) unsigned char objs[]; /* per_block * size bytes */
};

/* Objects of `size` bytes, `per_block` at a time. */
void pool_init(struct pool *p, size_t size, size_t per_block)
{
    size_t align = alignof(max_align_t);
    if (size < sizeof(void *))
        size = sizeof(void *);
    p->size = (size + align - 1) / align * align;
    p->per_block = per_block;
    p->free = NULL;
    p->blocks = NULL;
}

/* A zeroed object, or NULL if out of memory. */
void *pool_alloc(struct pool *p)
{
    if (!p->free) {
        struct pool_block *b = malloc(sizeof *b + p->per_block * p->size);
        if (!b)
            return NULL;
        b->next = p->blocks;
        p->blocks = b;
        for (size_t i = p->per_block; i-- > 0;)
            pool_release(p, b->objs + i * p->size);
    }
    void *obj = p->free;
    memcpy(&p->free, obj, sizeof p->free); /* the next free object */
    memset(obj, 0, p->size);
    return obj;
}

/* Give obj back; it is reused by a later pool_alloc. */
void pool_release(struct pool *p, void *obj)
{
    memcpy(obj, &p->free, sizeof p->free);
    p->free = obj;
}

/* Free every block, and with them every object, in use or not. */
void pool_free(struct pool *p)
{
    while (p->blocks) {
        struct pool_block *b = p->blocks;
        p->blocks = b->next;
        free(b);
    }
    p->free = NULL;
}
