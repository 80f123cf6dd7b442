/* history.h -- the chat's rooms and the messages each keeps: the interface of history.c
 * SPDX-License-Identifier: MIT
 *
 * What the chat remembers, and nothing about how people reach it: a list
 * of rooms, each with its last HIST_KEEP messages (JSON objects, oldest
 * first), found by id, edited and deleted in place. The Socket.IO events
 * and the REST API both change it through chat.c; with --data, every
 * change is also a journal record (journal.c), and hist_apply() replays
 * one, so what comes back after a restart is what was kept.
 *
 * Error convention: functions that allocate return 0 or -1 (out of
 * memory, and then nothing changed); look-ups return NULL when absent.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include "json.h"

#include <stdbool.h>
#include <stddef.h>

#define HIST_KEEP 50     /* messages kept per room; older ones are dropped */
#define HIST_MAX_ROOM 32 /* bytes of a room name */

struct hist_msg {
    long long id;     /* unique and increasing across the server */
    unsigned rev;     /* edits so far: the second half of its ETag */
    char *json;       /* the message object, NUL-terminated */
    size_t len;       /* strlen(json) */
};

struct hist_room {
    char name[HIST_MAX_ROOM + 1];
    struct hist_msg msgs[HIST_KEEP]; /* a ring: the oldest at head */
    size_t head;                     /* index of the oldest message */
    size_t count;                    /* messages held, <= HIST_KEEP */
    struct hist_room *next;
};

struct hist {
    struct hist_room *rooms; /* every room, newest first */
    size_t nrooms;           /* length of that list */
    long long max_id;        /* the largest id ever kept or replayed */
};

void hist_free(struct hist *h);
struct hist_room *hist_room(const struct hist *h, const char *name);
struct hist_room *hist_room_add(struct hist *h, const char *name);
void hist_room_forget(struct hist *h, const char *name);
const struct hist_msg *hist_at(const struct hist_room *r, size_t i);
const struct hist_msg *hist_find(const struct hist_room *r, long long id);
int hist_add(struct hist *h, struct hist_room *r, long long id, const char *json, size_t len);
int hist_replace(struct hist_room *r, long long id, const char *json, size_t len);
bool hist_remove(struct hist_room *r, long long id);

/* The journal's records (journal.c stores them; history.c says what
 * they mean): building them, replaying one, and the live content. */
void hist_record_post(struct jbuf *jb, unsigned rev, const char *msg, size_t len);
void hist_record_edit(struct jbuf *jb, const char *room, long long id, const char *msg, size_t len);
void hist_record_delete(struct jbuf *jb, const char *room, long long id);
void hist_record_room(struct jbuf *jb, const char *op, const char *room);
void hist_record_last_id(struct jbuf *jb, long long id);
int hist_apply(struct hist *h, const char *rec, size_t len);
size_t hist_live_bytes(const struct hist *h, size_t overhead);

#endif
