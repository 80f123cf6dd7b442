/* map.h -- a string-keyed hash table whose nodes live inside their owners: the interface of map.c
 * SPDX-License-Identifier: MIT
 *
 * The owner embeds a struct map_node, sets its key (a string the owner
 * keeps alive while the node is in a table) and adds it. A look-up
 * returns the node; container_of-style arithmetic, or a node placed
 * first in the owner, gets the owner back.
 *
 * Error convention: map_add returns 0 or -1 (out of memory, and then the
 * table is unchanged); the others cannot fail. map_del takes a node that
 * is in the table.
 */
#ifndef MAP_H
#define MAP_H

#include <stddef.h>
#include <stdint.h>

struct map_node {
    struct map_node *next; /* next in the same bucket */
    uint32_t hash;         /* the key's hash, kept to grow cheaply */
    const char *key;       /* owned by the struct this node is part of */
};

struct map {
    struct map_node **buckets; /* nbuckets chains; NULL while empty */
    size_t nbuckets;           /* a power of two, or 0 */
    size_t count;              /* nodes in the table */
};

struct map_node *map_find(const struct map *m, uint32_t seed, const char *key);
int map_add(struct map *m, uint32_t seed, struct map_node *node);
void map_del(struct map *m, struct map_node *node);
void map_free(struct map *m);

#endif
