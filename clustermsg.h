/* clustermsg.h -- the Redis adapter's messages, read and written: the interface of clustermsg.c
 * SPDX-License-Identifier: MIT
 *
 * The pure half of cluster.c: what a message on the adapter's channels
 * says (../shared/specs/socket.io-redis-adapter.md §4, §6), with no
 * Redis and no sockets, so test/unit_cluster.c checks it on byte arrays.
 * Requests and responses arrive as JSON or msgpack (§6: JSON when byte 0
 * is '{'); cm_decode turns either into JSON text plus binary attachments,
 * and the readers below pick fields out of that JSON.
 *
 * Error convention: functions that return int return 0, or -1 (with
 * *why where there is one); cm_get_int returns its default instead.
 */
#ifndef CLUSTERMSG_H
#define CLUSTERMSG_H

#include "hub.h"
#include "json.h"
#include "sio.h"

#include <stddef.h>
#include <stdint.h>

#define CM_MAX_ROOMS 64 /* room names in one selection; more are refused */

/* Room names read from a message, NUL-terminated, for a hub_select. */
struct cm_names {
    const char *v[CM_MAX_ROOMS];
    size_t n;
    char *mem[CM_MAX_ROOMS]; /* each malloc'd */
};

int cm_names_from_json(struct cm_names *s, const char *arr, size_t n);
void cm_names_free(struct cm_names *s);
int cm_split_event(const char *data, size_t len, char name[SIO_MAX_EVENT_NAME + 1],
                   struct hub_args *a);
int cm_decode(const uint8_t *p, size_t n, struct jbuf *json,
              struct hub_blob bins[SIO_MAX_ATTACHMENTS], size_t *nbins,
              const char **why);
int64_t cm_get_int(const char *obj, size_t n, const char *key, int64_t dflt);
int cm_select(const char *obj, size_t n, struct cm_names *rooms,
              struct cm_names *except, struct hub_select *sel);

#endif
