/* history.c -- the chat's rooms and the messages each keeps, and the journal records that change them
 * SPDX-License-Identifier: MIT
 *
 * A room keeps its last HIST_KEEP messages in a ring, so a busy room
 * costs the same memory as a quiet one and posting never moves the
 * others. Looking a message up by id walks the ring (50 entries); a
 * delete closes the gap by moving the newer ones down, so the ring stays
 * in posting order.
 *
 * The journal records (one JSON object each; journal.c frames and
 * checks them) are:
 *   {"op":"post","rev":E,"msg":{...}}             a message kept (E edits)
 *   {"op":"edit","room":R,"id":N,"msg":{...}}     it, after an edit
 *   {"op":"delete","room":R,"id":N}               it, gone
 *   {"op":"room","room":R}                        a room made
 *   {"op":"forget","room":R}                      a room forgotten
 *   {"op":"last-id","id":N}                       ids up to N were given
 *                                                 (the head of a rewrite)
 * hist_apply() replays one. A record that makes no sense (an edit of a
 * message no longer kept, a post to a full server) is skipped: the
 * journal holds more than the rooms keep, until it is rewritten.
 */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * Rooms
 * ======================================================================== */

struct hist_room *hist_room(const struct hist *h, const char *name)
{
    for (struct hist_room *r = h->rooms; r; r = r->next) {
        if (strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

/* The room called name, made if it is not there. NULL if out of memory
 * or if name is too long; the caller enforces how many rooms may exist. */
struct hist_room *hist_room_add(struct hist *h, const char *name)
{
    struct hist_room *r = hist_room(h, name);
    if (r)
        return r;
    if (strlen(name) > HIST_MAX_ROOM)
        return NULL;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    strcpy(r->name, name);
    r->next = h->rooms;
    h->rooms = r;
    h->nrooms++;
    return r;
}

static void room_free(struct hist_room *r)
{
    for (size_t i = 0; i < r->count; i++)
        free(r->msgs[(r->head + i) % HIST_KEEP].json);
    free(r);
}

void hist_room_forget(struct hist *h, const char *name)
{
    for (struct hist_room **p = &h->rooms; *p; p = &(*p)->next) {
        if (strcmp((*p)->name, name) == 0) {
            struct hist_room *r = *p;
            *p = r->next;
            h->nrooms--;
            room_free(r);
            return;
        }
    }
}

void hist_free(struct hist *h)
{
    while (h->rooms) {
        struct hist_room *r = h->rooms;
        h->rooms = r->next;
        room_free(r);
    }
    h->nrooms = 0;
}

/* ========================================================================
 * Messages
 * ======================================================================== */

/* The i-th message kept, 0 the oldest; NULL past the end. */
const struct hist_msg *hist_at(const struct hist_room *r, size_t i)
{
    return i < r->count ? &r->msgs[(r->head + i) % HIST_KEEP] : NULL;
}

const struct hist_msg *hist_find(const struct hist_room *r, long long id)
{
    for (size_t i = 0; i < r->count; i++) {
        const struct hist_msg *m = hist_at(r, i);
        if (m->id == id)
            return m;
    }
    return NULL;
}

/* Keep json as r's newest message; once the ring is full the oldest is
 * dropped and its block reused. */
int hist_add(struct hist *h, struct hist_room *r, long long id, const char *json, size_t len)
{
    size_t slot = (r->head + r->count) % HIST_KEEP;
    char *copy = realloc(r->count == HIST_KEEP ? r->msgs[slot].json : NULL, len + 1);
    if (!copy)
        return -1;
    memcpy(copy, json, len);
    copy[len] = '\0';
    r->msgs[slot] = (struct hist_msg){id, 0, copy, len};
    if (r->count == HIST_KEEP)
        r->head = (r->head + 1) % HIST_KEEP;
    else
        r->count++;
    if (id > h->max_id)
        h->max_id = id;
    return 0;
}

/* Put json in place of message id, one revision on. Returns 0, or -1 if
 * it is not kept or out of memory (then it is unchanged). */
int hist_replace(struct hist_room *r, long long id, const char *json, size_t len)
{
    struct hist_msg *m = (struct hist_msg *)hist_find(r, id);
    if (!m)
        return -1;
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, json, len);
    copy[len] = '\0';
    free(m->json);
    m->json = copy;
    m->len = len;
    m->rev++;
    return 0;
}

/* Drop message id, closing the gap. Returns whether it was kept. */
bool hist_remove(struct hist_room *r, long long id)
{
    for (size_t i = 0; i < r->count; i++) {
        size_t at = (r->head + i) % HIST_KEEP;
        if (r->msgs[at].id != id)
            continue;
        free(r->msgs[at].json);
        for (size_t k = i; k + 1 < r->count; k++)
            r->msgs[(r->head + k) % HIST_KEEP] = r->msgs[(r->head + k + 1) % HIST_KEEP];
        r->count--;
        r->msgs[(r->head + r->count) % HIST_KEEP] = (struct hist_msg){0, 0, NULL, 0};
        return true;
    }
    return false;
}

/* ========================================================================
 * Journal records
 * ======================================================================== */

/* rev is the message's edits so far (0 for a new one; a rewrite keeps
 * an edited message's count, so its ETag survives). */
void hist_record_post(struct jbuf *jb, unsigned rev, const char *msg, size_t len)
{
    jb_lit(jb, "{\"op\":\"post\",\"rev\":");
    jb_int(jb, rev);
    jb_lit(jb, ",\"msg\":");
    jb_raw(jb, msg, len);
    jb_lit(jb, "}");
}

void hist_record_edit(struct jbuf *jb, const char *room, long long id, const char *msg, size_t len)
{
    jb_lit(jb, "{\"op\":\"edit\",\"room\":");
    jb_str(jb, room, strlen(room));
    jb_lit(jb, ",\"id\":");
    jb_int(jb, id);
    jb_lit(jb, ",\"msg\":");
    jb_raw(jb, msg, len);
    jb_lit(jb, "}");
}

void hist_record_delete(struct jbuf *jb, const char *room, long long id)
{
    jb_lit(jb, "{\"op\":\"delete\",\"room\":");
    jb_str(jb, room, strlen(room));
    jb_lit(jb, ",\"id\":");
    jb_int(jb, id);
    jb_lit(jb, "}");
}

/* The largest id given so far, at the head of a rewritten journal. */
void hist_record_last_id(struct jbuf *jb, long long id)
{
    jb_lit(jb, "{\"op\":\"last-id\",\"id\":");
    jb_int(jb, id);
    jb_lit(jb, "}");
}

/* op is "room" or "forget". */
void hist_record_room(struct jbuf *jb, const char *op, const char *room)
{
    jb_lit(jb, "{\"op\":");
    jb_str(jb, op, strlen(op));
    jb_lit(jb, ",\"room\":");
    jb_str(jb, room, strlen(room));
    jb_lit(jb, "}");
}

static int int_field(const char *obj, size_t n, const char *key, long long *out)
{
    const char *v;
    size_t vn;
    int64_t x;
    if (json_get(obj, n, key, &v, &vn) != 0 || json_int(v, vn, INT64_MAX / 2, &x) != 0)
        return -1;
    *out = (long long)x;
    return 0;
}

/* Replay one journal record (see the top of the file). Returns 0 if it
 * was applied, 1 if it was skipped as stale, -1 if it is malformed. */
int hist_apply(struct hist *h, const char *rec, size_t len)
{
    char op[16], room[HIST_MAX_ROOM + 1];
    long long id;
    const char *msg;
    size_t mlen;
    if (json_get_cstring(rec, len, "op", op, sizeof op) < 0)
        return -1;
    bool has_msg = json_get(rec, len, "msg", &msg, &mlen) == 0 &&
                   json_type_of(msg, mlen) == JSON_OBJECT;
    if (strcmp(op, "post") == 0) {
        if (!has_msg || json_get_cstring(msg, mlen, "room", room, sizeof room) < 0 ||
            int_field(msg, mlen, "id", &id) != 0)
            return -1;
        long long rev = 0;
        int_field(rec, len, "rev", &rev);
        struct hist_room *r = hist_room_add(h, room);
        if (!r || hist_add(h, r, id, msg, mlen) != 0)
            return 1;
        ((struct hist_msg *)hist_find(r, id))->rev = (unsigned)rev;
        return 0;
    }
    if (strcmp(op, "last-id") == 0) {
        if (int_field(rec, len, "id", &id) != 0)
            return -1;
        if (id > h->max_id)
            h->max_id = id;
        return 0;
    }
    if (json_get_cstring(rec, len, "room", room, sizeof room) < 0)
        return -1;
    if (strcmp(op, "room") == 0)
        return hist_room_add(h, room) ? 0 : 1;
    if (strcmp(op, "forget") == 0) {
        hist_room_forget(h, room);
        return 0;
    }
    struct hist_room *r = hist_room(h, room);
    if (int_field(rec, len, "id", &id) != 0)
        return -1;
    if (strcmp(op, "edit") == 0 && has_msg)
        return r && hist_replace(r, id, msg, mlen) == 0 ? 0 : 1;
    if (strcmp(op, "delete") == 0)
        return r && hist_remove(r, id) ? 0 : 1;
    return -1;
}

/* The bytes of the records a rewrite would write, each with overhead
 * bytes of framing: a room record per room and a post record per kept
 * message (edited ones as they are now). An estimate, good to a few
 * bytes a record. */
size_t hist_live_bytes(const struct hist *h, size_t overhead)
{
    size_t n = 0;
    for (const struct hist_room *r = h->rooms; r; r = r->next) {
        n += overhead + strlen("{\"op\":\"room\",\"room\":\"\"}") + strlen(r->name);
        for (size_t i = 0; i < r->count; i++)
            n += overhead + strlen("{\"op\":\"post\",\"rev\":0,\"msg\":}") + hist_at(r, i)->len;
    }
    return n;
}
