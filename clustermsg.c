/* clustermsg.c -- the Redis adapter's messages, read and written
 * SPDX-License-Identifier: MIT
 *
 * Helpers for cluster.c that need no Redis: room lists, the event inside
 * a packet's data, the two encodings of requests, and the selection a
 * request's "opts" names. Every length is checked against the message,
 * which any Redis client may have published.
 *
 * References: ../shared/specs/socket.io-redis-adapter.md §4 (broadcast
 * opts), §6 (requests: "if byte 0 is '{', parse JSON; otherwise decode
 * msgpack").
 */
#define _POSIX_C_SOURCE 200809L
#include "clustermsg.h"
#include "msgpack.h"

#include <stdlib.h>
#include <string.h>

void cm_names_free(struct cm_names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->mem[i]);
    s->n = 0;
}

/* Read the JSON array of strings at arr into s. Returns 0, or -1 if it
 * is not one (or has too many). A missing array (n == 0) is empty. */
int cm_names_from_json(struct cm_names *s, const char *arr, size_t n)
{
    s->n = 0;
    if (n == 0)
        return 0;
    size_t pos = 0;
    const char *v;
    size_t vlen;
    int r;
    while ((r = json_array_next(arr, n, &pos, &v, &vlen)) == 1) {
        char *str = malloc(vlen + 1);
        size_t got;
        if (!str || s->n == CM_MAX_ROOMS || json_type_of(v, vlen) != JSON_STRING ||
            json_string(v, vlen, str, vlen, &got) < 0) {
            free(str);
            cm_names_free(s);
            return -1;
        }
        str[got] = '\0';
        s->mem[s->n] = str;
        s->v[s->n++] = str;
    }
    if (r != 0) {
        cm_names_free(s);
        return -1;
    }
    return 0;
}

/* Split a Socket.IO data array ["event", args...] into the event name
 * (NUL-terminated into name) and the arguments' text. Returns 0 or -1. */
int cm_split_event(const char *data, size_t len, char name[SIO_MAX_EVENT_NAME + 1],
                       struct hub_args *a)
{
    size_t pos = 0, got;
    const char *v;
    size_t vlen;
    if (json_array_next(data, len, &pos, &v, &vlen) != 1 ||
        json_type_of(v, vlen) != JSON_STRING ||
        json_string(v, vlen, name, SIO_MAX_EVENT_NAME, &got) < 0)
        return -1;
    name[got] = '\0';
    /* The arguments: after the name and its comma, up to the last ']'. */
    const char *p = v + vlen, *end = data + len;
    while (end > p && end[-1] != ']')
        end--;
    end--; /* onto the ']' */
    while (p < end && (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++;
    a->json = p;
    a->len = end > p ? (size_t)(end - p) : 0;
    return 0;
}

/* A message from a request or response channel, as JSON: JSON itself if
 * it starts with '{', else msgpack turned into JSON with its bins (§6).
 * Returns 0 or -1 with *why. */
int cm_decode(const uint8_t *p, size_t n, struct jbuf *json,
                      struct hub_blob bins[SIO_MAX_ATTACHMENTS], size_t *nbins,
                      const char **why)
{
    jb_reset(json);
    *nbins = 0;
    if (n > 0 && p[0] == '{') {
        if (json_scan((const char *)p, n, -1) != (long)n) {
            *why = "malformed JSON";
            return -1;
        }
        jb_raw(json, (const char *)p, n);
        return json->oom ? -1 : 0;
    }
    long used = mp_to_json(p, n, json, bins, nbins, why);
    if (used != (long)n) {
        if (used > 0)
            *why = "bytes after the msgpack value";
        return -1;
    }
    if (json_type_of(json->p, json->len) != JSON_OBJECT) {
        *why = "not a map";
        return -1;
    }
    return 0;
}

int64_t cm_get_int(const char *obj, size_t n, const char *key, int64_t dflt)
{
    const char *v;
    size_t vlen;
    int64_t x;
    if (json_get(obj, n, key, &v, &vlen) != 0 || json_int(v, vlen, INT64_MAX, &x) != 0)
        return dflt;
    return x;
}

/* A selection {rooms, except} from the "opts" of a request. */
int cm_select(const char *obj, size_t n, struct cm_names *rooms,
                       struct cm_names *except, struct hub_select *sel)
{
    const char *opts, *v;
    size_t olen, vlen;
    memset(sel, 0, sizeof *sel);
    rooms->n = except->n = 0;
    if (json_get(obj, n, "opts", &opts, &olen) == 0) {
        if (json_get(opts, olen, "rooms", &v, &vlen) == 0 && cm_names_from_json(rooms, v, vlen) != 0)
            return -1;
        if (json_get(opts, olen, "except", &v, &vlen) == 0 && cm_names_from_json(except, v, vlen) != 0) {
            cm_names_free(rooms);
            return -1;
        }
    }
    sel->rooms = rooms->v;
    sel->nrooms = rooms->n;
    sel->except = except->v;
    sel->nexcept = except->n;
    sel->local = true;
    return 0;
}
