/* map.c -- a string-keyed hash table whose nodes live inside their owners
 * SPDX-License-Identifier: MIT
 *
 * Rooms by name and sockets by id (the hub), Bayeux clients by id and
 * channels by name (bayeux.c): each is a struct that embeds a struct
 * map_node, so adding one allocates nothing but, now and then, a bigger
 * bucket array. Chains, not open addressing, so a node never moves and
 * pointers to its owner stay valid.
 *
 * The hash is FNV-1a from a seed the owner picks at random: without it,
 * anyone could choose names that all land in one bucket and turn every
 * look-up into a walk of the whole table.
 */
#include "map.h"

#include <stdlib.h>
#include <string.h>


/* FNV-1a, started from a per-process random seed so that nobody can
 * choose room names that all land in one bucket. */
static uint32_t hash_str(uint32_t seed, const char *s)
{
    uint32_t h = 2166136261u ^ seed;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

struct map_node *map_find(const struct map *m, uint32_t seed,
                                 const char *key)
{
    if (m->nbuckets == 0)
        return NULL;
    uint32_t hv = hash_str(seed, key);
    for (struct map_node *n = m->buckets[hv & (m->nbuckets - 1)]; n; n = n->next) {
        if (n->hash == hv && strcmp(n->key, key) == 0)
            return n;
    }
    return NULL;
}

/* Insert node (its key set). Doubles the bucket array at load 1. */
int map_add(struct map *m, uint32_t seed, struct map_node *node)
{
    if (m->count >= m->nbuckets) {
        size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
        struct map_node **b = calloc(nb, sizeof *b);
        if (!b)
            return -1;
        for (size_t i = 0; i < m->nbuckets; i++) {
            while (m->buckets[i]) {
                struct map_node *n = m->buckets[i];
                m->buckets[i] = n->next;
                n->next = b[n->hash & (nb - 1)];
                b[n->hash & (nb - 1)] = n;
            }
        }
        free(m->buckets);
        m->buckets = b;
        m->nbuckets = nb;
    }
    node->hash = hash_str(seed, node->key);
    struct map_node **slot = &m->buckets[node->hash & (m->nbuckets - 1)];
    node->next = *slot;
    *slot = node;
    m->count++;
    return 0;
}

void map_del(struct map *m, struct map_node *node)
{
    struct map_node **p = &m->buckets[node->hash & (m->nbuckets - 1)];
    while (*p != node)
        p = &(*p)->next;
    *p = node->next;
    m->count--;
}

/* Give back the bucket array; the nodes belong to their owners. */
void map_free(struct map *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}
