/* chat.c -- the chat application: rooms, nicknames, history, presence
 * SPDX-License-Identifier: MIT
 *
 * A superset of socket.io's classic chat example, written only against
 * hub.h: every feature is a handler for one event.
 *
 *   client emits            server does                       ack replies
 *   message {text}          message {...} to room "general"   {id, timestamp}
 *   room-message {room,text} message {...} to that room       {id, timestamp}
 *   join room               presence join to the room         {room, members, history}
 *   leave room              presence leave to the room        {room}
 *   nick name               presence rename to her rooms      {name} or {error}
 *   typing {room,typing}    typing {...} to the others        -
 *   rooms                   -                                 [{room, members}]
 *
 * A message is {id, text, userId, name, room, timestamp}, timestamp in
 * ISO 8601 UTC. Bad input is answered with an ack {error:"..."} and
 * nothing is broadcast. Every socket joins "general" when it connects.
 *
 * Limits (what a client sees when over): names 1-32 bytes, texts 1-2000
 * bytes, no control characters but newline and tab (ack {error}); room
 * names 1-32 of [A-Za-z0-9_-] (ack {error}); 20 rooms joined per user and
 * 100 rooms in all (ack {error}); 50 messages of history per room, the
 * oldest dropped. An empty room is forgotten, history and all, except
 * "general".
 *
 * With --redis the chat spans every node: its broadcasts reach room
 * members everywhere (the hub's adapter carries them), and the answers
 * that list people -- the join ack's members, the rooms ack's counts --
 * ask the whole cluster (hub_fetch_sockets) and are given when the
 * other nodes have answered (hub_ack_later). Other nodes learn each
 * user's name from the socket's data, {"name":...}. Message ids stay
 * unique across nodes: alone they are 1, 2, 3...; in a cluster each is
 * seq * HUB_MAX_NODES + the node's number (hub_node). History is kept
 * by each node for the messages posted there.
 */
#define _POSIX_C_SOURCE 200809L /* gmtime_r */
#include "apps.h"
#include "history.h"
#include "hub.h"
#include "journal.h"
#include "json.h"
#include "timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAT_MAX_NAME 32     /* bytes of a nickname */
#define CHAT_MAX_TEXT 2000   /* bytes of a message */
#define CHAT_MAX_ROOM 32     /* bytes of a room name */
#define CHAT_MAX_JOINED 20   /* rooms one user may be in */
#define CHAT_MAX_ROOMS 100   /* rooms in the whole chat */
#define CHAT_HISTORY HIST_KEEP /* messages kept per room (history.h) */
#define CHAT_SYNC_MS 1000    /* --data: the journal is synced this often */
#define CHAT_LOBBY "general" /* everyone joins it on connect */

struct chat_user {
    char name[CHAT_MAX_NAME + 1]; /* the nickname, UTF-8 */
};

struct chat {
    struct hub *hub;         /* for this node's number in a cluster */
    struct hub_nsp *nsp;     /* the namespace "/" */
    struct hist hist;        /* every room with members (and the lobby),
                              * and the messages each keeps */
    struct journal *journal; /* --data: every change is a record, or NULL */
    struct timer sync;       /* armed while the journal waits for its
                              * once-a-second fdatasync (journal_tick) */
    long long next_id;       /* id of the next message */
    struct jbuf out;         /* replies are built here, memory reused */
    chat_listener *listener; /* hears every message posted (chat_listen) */
    void *listener_ud;
};

/* ========================================================================
 * Small helpers
 * ======================================================================== */

static struct chat_user *user_of(struct hub_socket *s)
{
    return hub_socket_data(s);
}

/* The chat's scratch buffer, emptied: every reply and broadcast is
 * built here and sent at once, so its memory serves message after
 * message without an allocation each. */
static struct jbuf *out(struct chat *c)
{
    jb_reset(&c->out);
    return &c->out;
}

/* Answer the ack with the JSON built in jb (if it was built whole). */
static void reply(struct hub_socket *s, struct hub_event *ev, struct jbuf *jb)
{
    if (!jb->oom) {
        struct hub_args a = {jb->p, jb->len, NULL, 0};
        hub_ack(s, ev, &a);
    }
}

/* Answer the ack with {"key":"value"}. */
static void reply_one(struct chat *c, struct hub_socket *s,
                      struct hub_event *ev, const char *key, const char *value)
{
    struct jbuf *jb = out(c);
    jb_lit(jb, "{");
    jb_str(jb, key, strlen(key));
    jb_lit(jb, ":");
    jb_str(jb, value, strlen(value));
    jb_lit(jb, "}");
    reply(s, ev, jb);
}

/* Answer the event's ack with {"error":why}, if it asked for one. */
static void fail(struct chat *c, struct hub_socket *s, struct hub_event *ev,
                 const char *why)
{
    reply_one(c, s, ev, "error", why);
}

/* Send event with the JSON built in jb (if it was built whole) to
 * everyone in room but `except` (NULL: nobody), on every node. */
static void tell_room(struct chat *c, const char *room, struct hub_socket *except,
                      const char *event, const struct jbuf *jb)
{
    if (!jb->oom) {
        struct hub_args a = {jb->p, jb->len, NULL, 0};
        hub_emit_to(c->nsp, room, except, event, &a);
    }
}

/* Write "userId":"...","name":"..." for the user behind s. */
static void jb_user(struct jbuf *jb, struct hub_socket *s)
{
    const char *id = hub_socket_id(s);
    const struct chat_user *u = hub_socket_data(s);
    jb_lit(jb, "\"userId\":");
    jb_str(jb, id, strlen(id));
    jb_lit(jb, ",\"name\":");
    jb_str(jb, u->name, strlen(u->name));
}

/* The first argument of an event, or an empty span if it has none. */
static void first_arg(const struct hub_event *ev, const char **p, size_t *n)
{
    long end = json_scan(ev->args.json, ev->args.len, 0);
    *p = ev->args.json;
    *n = end > 0 ? (size_t)end : 0;
}

/* Unescape a JSON string value into out (cap bytes + NUL) and check it as
 * user text: 1..cap bytes with no control character except, if
 * multiline, newline and tab. Returns 0 or -1. */
static int user_text(const char *v, size_t vlen, char *out, size_t cap,
                     bool multiline)
{
    size_t n;
    if (json_type_of(v, vlen) != JSON_STRING || json_string(v, vlen, out, cap, &n) < 0)
        return -1;
    out[n] = '\0';
    if (n == 0)
        return -1;
    bool visible = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        if (c < 0x20 && !(multiline && (c == '\n' || c == '\t')))
            return -1;
        if (c == 0x7F)
            return -1;
        if (c != ' ' && c != '\n' && c != '\t')
            visible = true;
    }
    return visible ? 0 : -1;
}

/* A room name: 1..CHAT_MAX_ROOM of [A-Za-z0-9_-]. Returns 0 or -1. */
static int room_name(const char *v, size_t vlen, char out[CHAT_MAX_ROOM + 1])
{
    if (user_text(v, vlen, out, CHAT_MAX_ROOM, false) != 0)
        return -1;
    for (const char *c = out; *c; c++) {
        bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '-' || *c == '_';
        if (!ok)
            return -1;
    }
    return 0;
}

/* The current time in ISO 8601 UTC with milliseconds. */
static void iso_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* ========================================================================
 * Rooms and their history
 * ======================================================================== */

static struct hist_room *room_find(struct chat *c, const char *name)
{
    return hist_room(&c->hist, name);
}

/* With --data, write the record built in jb to the journal before the
 * change it describes is made or acknowledged (so kill -9 loses nothing
 * that was acknowledged), and have the journal synced within a second.
 * Returns 0, or -1 if it could not be written: the change must then not
 * be made. Without --data, 0. */
static int persist(struct chat *c, struct jbuf *jb)
{
    if (!c->journal)
        return 0;
    if (jb->oom || journal_append(c->journal, jb->p, jb->len) != 0)
        return -1;
    if (!timer_armed(&c->sync))
        hub_timer_set(c->hub, &c->sync, hub_now(c->hub) + CHAT_SYNC_MS);
    return 0;
}

/* The room called name, created if there is space. NULL if not. */
static struct hist_room *room_get(struct chat *c, const char *name)
{
    struct hist_room *r = room_find(c, name);
    if (r || c->hist.nrooms >= CHAT_MAX_ROOMS)
        return r;
    struct jbuf jb = {0};
    hist_record_room(&jb, "room", name);
    int bad = persist(c, &jb);
    jb_free(&jb);
    return bad ? NULL : hist_room_add(&c->hist, name);
}

/* Forget a room nobody is in any more (the lobby stays). */
static void room_forget_if_empty(struct chat *c, const char *name)
{
    if (strcmp(name, CHAT_LOBBY) == 0 || hub_room_size(c->nsp, name) > 0 || !room_find(c, name))
        return;
    struct jbuf jb = {0};
    hist_record_room(&jb, "forget", name);
    if (persist(c, &jb) == 0)
        hist_room_forget(&c->hist, name);
    jb_free(&jb);
}

/* ========================================================================
 * Presence
 * ======================================================================== */

/* Tell room that s joined, left or was renamed: presence {room, userId,
 * name, action}, to every member but `except`. */
static void presence(struct chat *c, const char *room, struct hub_socket *s,
                     const char *action, struct hub_socket *except)
{
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"room\":");
    jb_str(jb, room, strlen(room));
    jb_lit(jb, ",");
    jb_user(jb, s);
    jb_lit(jb, ",\"action\":");
    jb_str(jb, action, strlen(action));
    jb_lit(jb, "}");
    tell_room(c, room, except, "presence", jb);
}

/* The chat rooms s is in (not the one named by its own id). */
static size_t joined_rooms(struct hub_socket *s, const char **names, size_t max)
{
    const char *all[CHAT_MAX_JOINED + 2];
    size_t n = hub_socket_rooms(s, all, CHAT_MAX_JOINED + 2);
    if (n > CHAT_MAX_JOINED + 2)
        n = CHAT_MAX_JOINED + 2;
    size_t k = 0;
    for (size_t i = 1; i < n && k < max; i++)
        names[k++] = all[i];
    return k;
}

/* ========================================================================
 * Handlers
 * ======================================================================== */

static void on_connection(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    (void)ev;
    struct chat_user *u = calloc(1, sizeof *u);
    if (!u) {
        hub_disconnect(s);
        return;
    }
    snprintf(u->name, sizeof u->name, "guest-%.4s", hub_socket_id(s));
    hub_socket_set_data(s, u);
    if (room_get(c, CHAT_LOBBY) && hub_join(s, CHAT_LOBBY) == 0)
        presence(c, CHAT_LOBBY, s, "join", NULL);
}

static void on_disconnect(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    (void)ev;
    struct chat_user *u = user_of(s);
    if (!u)
        return;
    /* Copy the names first: leaving may free the hub's copy. */
    const char *rooms[CHAT_MAX_JOINED + 1];
    char names[CHAT_MAX_JOINED + 1][CHAT_MAX_ROOM + 1];
    size_t n = joined_rooms(s, rooms, CHAT_MAX_JOINED + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(names[i], sizeof names[i], "%s", rooms[i]);
    for (size_t i = 0; i < n; i++) {
        presence(c, names[i], s, "leave", s);
        hub_leave(s, names[i]);
        room_forget_if_empty(c, names[i]);
    }
    hub_socket_set_data(s, NULL);
    free(u);
}

/* Post text to room as the author (user_id, name), with "via" naming
 * another protocol it came through (NULL for Socket.IO): build the
 * message, keep it in the room's history, send it to the room's members
 * and to the listener (another protocol's bridge). Returns the message's
 * id, and its text in c->out; or -1 if out of memory. */
static long long post_as(struct chat *c, struct hist_room *r, const char *user_id,
                         const char *name, const char *via, const char *text, char ts[32])
{
    iso_now(ts);
    long long seq = ++c->next_id;
    long long id = hub_node(c->hub) ? seq * HUB_MAX_NODES + hub_node(c->hub) : seq;
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"id\":");
    jb_int(jb, id);
    jb_lit(jb, ",\"text\":");
    jb_str(jb, text, strlen(text));
    jb_lit(jb, ",\"userId\":");
    jb_str(jb, user_id, strlen(user_id));
    jb_lit(jb, ",\"name\":");
    jb_str(jb, name, strlen(name));
    jb_lit(jb, ",\"room\":");
    jb_str(jb, r->name, strlen(r->name));
    jb_lit(jb, ",\"timestamp\":");
    jb_str(jb, ts, strlen(ts));
    if (via) {
        jb_lit(jb, ",\"via\":");
        jb_str(jb, via, strlen(via));
    }
    jb_lit(jb, "}");
    if (jb->oom)
        return -1;
    struct jbuf rec = {0};
    hist_record_post(&rec, 0, jb->p, jb->len);
    int bad = persist(c, &rec) != 0 || hist_add(&c->hist, r, id, jb->p, jb->len) != 0;
    jb_free(&rec);
    if (bad) {
        c->next_id--; /* nothing was said: the id is free again */
        return -1;
    }
    struct hub_args msg = {jb->p, jb->len, NULL, 0};
    hub_emit_to(c->nsp, r->name, NULL, "message", &msg);
    if (c->listener)
        c->listener(c->listener_ud, r->name, jb->p, jb->len);
    return id;
}

/* A socket posts text to room: it must be a member. Broadcast to the
 * room, and ack {id, timestamp}. */
static void post(struct chat *c, struct hub_socket *s, struct hub_event *ev,
                 const char *room, const char *text)
{
    struct hist_room *r = room_find(c, room);
    if (!r || !hub_in_room(s, room)) {
        fail(c, s, ev, "join the room first");
        return;
    }
    char ts[32];
    const struct chat_user *u = user_of(s);
    long long id = post_as(c, r, hub_socket_id(s), u->name, NULL, text, ts);
    if (id < 0) {
        fail(c, s, ev, "out of memory");
        return;
    }
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"id\":");
    jb_int(jb, id);
    jb_lit(jb, ",\"timestamp\":");
    jb_str(jb, ts, strlen(ts));
    jb_lit(jb, "}");
    reply(s, ev, jb);
}

/* ========================================================================
 * Other protocols' way in (faye.c's bridge)
 * ======================================================================== */

/* Have fn hear every message posted on this node, with its room and its
 * JSON (the Socket.IO "message" event's object). One listener. */
void chat_listen(struct chat *c, chat_listener *fn, void *ud)
{
    c->listener = fn;
    c->listener_ud = ud;
}

/* Post a message that came through another protocol: text and name are
 * JSON values as sent (name may be NULL: then dflt_name), checked by the
 * same rules as a socket's. The room must exist. Returns CHAT_DONE with
 * *id set, or what went wrong with *why for the client. */
enum chat_result chat_post_from(struct chat *c, const char *room, const char *user_id,
                                const char *via, const char *text, size_t tlen,
                                const char *name, size_t nlen, const char *dflt_name,
                                long long *id, const char **why)
{
    char t[CHAT_MAX_TEXT + 1], n[CHAT_MAX_NAME + 1], ts[32];
    struct hist_room *r = room_find(c, room);
    if (!r) {
        *why = "No such room";
        return CHAT_NO_ROOM;
    }
    if (!text || user_text(text, tlen, t, CHAT_MAX_TEXT, true) != 0) {
        *why = "text must be a string of 1 to 2000 bytes";
        return CHAT_INVALID;
    }
    if (name && user_text(name, nlen, n, CHAT_MAX_NAME, false) != 0) {
        *why = "name must be 1 to 32 bytes without control characters";
        return CHAT_INVALID;
    }
    if (!name)
        snprintf(n, sizeof n, "%s", dflt_name);
    *id = post_as(c, r, user_id, n, via, t, ts);
    if (*id < 0) {
        *why = c->journal ? "could not save the message" : "out of memory";
        return CHAT_FAILED;
    }
    return CHAT_DONE;
}

/* Write room's members on this node as [{userId, name}]. */
void chat_members_json(struct chat *c, const char *room, struct jbuf *jb)
{
    size_t n;
    struct hub_socket *const *m = hub_room_members(c->nsp, room, &n);
    bool first = true;
    jb_lit(jb, "[");
    for (size_t i = 0; m && i < n; i++) {
        if (!user_of(m[i]))
            continue;
        jb_lit(jb, first ? "{" : ",{");
        jb_user(jb, m[i]);
        jb_lit(jb, "}");
        first = false;
    }
    jb_lit(jb, "]");
}

/* The message id kept in room, or NULL. */
const struct hist_msg *chat_message(struct chat *c, const char *room, long long id)
{
    struct hist_room *r = room_find(c, room);
    return r ? hist_find(r, id) : NULL;
}

const struct hist *chat_history(const struct chat *c)
{
    return &c->hist;
}

struct hub_nsp *chat_nsp(const struct chat *c)
{
    return c->nsp;
}

/* Find message id in room for a change by owner (a socket id that must
 * be its author, or NULL for the API). */
static enum chat_result find_for_change(struct chat *c, const char *room, long long id,
                                        const char *owner, struct hist_room **r,
                                        const struct hist_msg **m, const char **why)
{
    char author[64];
    *r = room_find(c, room);
    *m = *r ? hist_find(*r, id) : NULL;
    if (!*r) {
        *why = "No such room";
        return CHAT_NO_ROOM;
    }
    if (!*m) {
        *why = "No such message";
        return CHAT_NO_MESSAGE;
    }
    if (owner && (json_get_cstring((*m)->json, (*m)->len, "userId", author, sizeof author) < 0 ||
                  strcmp(author, owner) != 0)) {
        *why = "not your message";
        return CHAT_NOT_YOURS;
    }
    return CHAT_DONE;
}

/* Copy field key of the message object m into jb as ,"key":value. */
static void copy_field(struct jbuf *jb, const struct hist_msg *m, const char *key)
{
    const char *v;
    size_t vn;
    if (json_get(m->json, m->len, key, &v, &vn) != 0)
        return;
    jb_lit(jb, ",");
    jb_str(jb, key, strlen(key));
    jb_lit(jb, ":");
    jb_raw(jb, v, vn);
}

/* Change the text of message id in room (text: a JSON value as sent),
 * marking it edited now: journal, keep, and tell the room
 * message-edit {room, id, text, edited}. */
enum chat_result chat_edit(struct chat *c, const char *room, long long id, const char *text,
                           size_t tlen, const char *owner, const char **why)
{
    struct hist_room *r;
    const struct hist_msg *m;
    char t[CHAT_MAX_TEXT + 1], ts[32];
    enum chat_result res = find_for_change(c, room, id, owner, &r, &m, why);
    if (res != CHAT_DONE)
        return res;
    if (!text || user_text(text, tlen, t, CHAT_MAX_TEXT, true) != 0) {
        *why = "text must be a string of 1 to 2000 bytes";
        return CHAT_INVALID;
    }
    iso_now(ts);
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"id\":");
    jb_int(jb, id);
    jb_lit(jb, ",\"text\":");
    jb_str(jb, t, strlen(t));
    copy_field(jb, m, "userId");
    copy_field(jb, m, "name");
    copy_field(jb, m, "room");
    copy_field(jb, m, "timestamp");
    copy_field(jb, m, "via");
    jb_lit(jb, ",\"edited\":");
    jb_str(jb, ts, strlen(ts));
    jb_lit(jb, "}");
    struct jbuf rec = {0};
    hist_record_edit(&rec, room, id, jb->p, jb->len);
    bool bad = jb->oom || persist(c, &rec) != 0 || hist_replace(r, id, jb->p, jb->len) != 0;
    jb_free(&rec);
    if (bad) {
        *why = "could not save the change";
        return CHAT_FAILED;
    }
    jb = out(c);
    jb_lit(jb, "{\"room\":");
    jb_str(jb, room, strlen(room));
    jb_lit(jb, ",\"id\":");
    jb_int(jb, id);
    jb_lit(jb, ",\"text\":");
    jb_str(jb, t, strlen(t));
    jb_lit(jb, ",\"edited\":");
    jb_str(jb, ts, strlen(ts));
    jb_lit(jb, "}");
    tell_room(c, room, NULL, "message-edit", jb);
    return CHAT_DONE;
}

/* Delete message id from room: journal, forget, and tell the room
 * message-delete {room, id}. */
enum chat_result chat_delete(struct chat *c, const char *room, long long id, const char *owner,
                             const char **why)
{
    struct hist_room *r;
    const struct hist_msg *m;
    enum chat_result res = find_for_change(c, room, id, owner, &r, &m, why);
    if (res != CHAT_DONE)
        return res;
    struct jbuf rec = {0};
    hist_record_delete(&rec, room, id);
    bool bad = persist(c, &rec) != 0;
    jb_free(&rec);
    if (bad) {
        *why = "could not save the change";
        return CHAT_FAILED;
    }
    hist_remove(r, id);
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"room\":");
    jb_str(jb, room, strlen(room));
    jb_lit(jb, ",\"id\":");
    jb_int(jb, id);
    jb_lit(jb, "}");
    tell_room(c, room, NULL, "message-delete", jb);
    return CHAT_DONE;
}

/* ========================================================================
 * --data: the journal
 * ======================================================================== */

static int journal_record(void *ud, const char *json, size_t len)
{
    struct chat *c = ud;
    return hist_apply(&c->hist, json, len) < 0 ? -1 : 0;
}

/* A rewrite: every live record, rooms first, each with what it keeps. */
static int journal_dump(void *ud, struct journal_writer *w)
{
    struct chat *c = ud;
    struct jbuf jb = {0};
    /* First the largest id ever given: the messages that carried it may
     * be gone, and ids must never be given twice. */
    hist_record_last_id(&jb, c->hist.max_id);
    int bad = jb.oom || journal_write_record(w, jb.p, jb.len) != 0;
    for (struct hist_room *r = c->hist.rooms; r && !bad; r = r->next) {
        jb_reset(&jb);
        hist_record_room(&jb, "room", r->name);
        bad = jb.oom || journal_write_record(w, jb.p, jb.len) != 0;
        for (size_t i = 0; i < r->count && !bad; i++) {
            const struct hist_msg *m = hist_at(r, i);
            jb_reset(&jb);
            hist_record_post(&jb, m->rev, m->json, m->len);
            bad = jb.oom || journal_write_record(w, jb.p, jb.len) != 0;
        }
    }
    jb_free(&jb);
    return bad ? -1 : 0;
}

static uint64_t journal_live(void *ud)
{
    struct chat *c = ud;
    return hist_live_bytes(&c->hist, JOURNAL_RECORD_OVERHEAD);
}

/* The once-a-second tick: the journal syncs and, if due, rewrites. */
static void sync_fire(struct timer *t, int64_t now)
{
    struct chat *c = (struct chat *)((char *)t - offsetof(struct chat, sync));
    journal_tick(c->journal, now);
}

/* --data DIR: replay DIR's journal into the rooms, then record every
 * change there. Message ids go on from the largest one replayed.
 * Returns 0, or -1 said on stderr. */
int chat_open_data(struct chat *c, const char *dir)
{
    static const struct journal_replay cb = {journal_record, journal_dump, journal_live};
    char err[256];
    c->journal = journal_open(dir, &cb, c, err, sizeof err);
    if (!c->journal) {
        fprintf(stderr, "wshub: --data %s: %s\n", dir, err);
        return -1;
    }
    if (c->hist.max_id > c->next_id)
        c->next_id = c->hist.max_id;
    c->sync.fire = sync_fire;
    return room_get(c, CHAT_LOBBY) ? 0 : -1;
}

/* Shutting down: stop the sync timer (a hub timer, so before hub_free)
 * and close the journal, which syncs what it has. */
void chat_close_data(struct chat *c)
{
    if (!c || !c->journal)
        return;
    hub_timer_cancel(c->hub, &c->sync);
    journal_close(c->journal);
    c->journal = NULL;
}

bool chat_data_healthy(const struct chat *c)
{
    return !c->journal || journal_healthy(c->journal);
}

const struct journal *chat_journal(const struct chat *c)
{
    return c->journal;
}

/* Read the "room" field of the object arg into room. Returns 0, or -1
 * after answering the ack with the error. */
static int room_field(struct chat *c, struct hub_socket *s, struct hub_event *ev,
                      const char *arg, size_t alen, char room[CHAT_MAX_ROOM + 1])
{
    const char *v;
    size_t vlen;
    if (json_get(arg, alen, "room", &v, &vlen) != 0 || room_name(v, vlen, room) != 0) {
        fail(c, s, ev, "room must be 1 to 32 letters, digits, - or _");
        return -1;
    }
    return 0;
}

/* Read and check the "text" field of the object arg. Returns 0, or -1
 * after answering the ack with the error. */
static int text_field(struct chat *c, struct hub_socket *s, struct hub_event *ev,
                      const char *arg, size_t alen, char text[CHAT_MAX_TEXT + 1])
{
    const char *v;
    size_t vlen;
    if (json_get(arg, alen, "text", &v, &vlen) != 0 ||
        user_text(v, vlen, text, CHAT_MAX_TEXT, true) != 0) {
        fail(c, s, ev, "text must be a string of 1 to 2000 bytes");
        return -1;
    }
    return 0;
}

/* message {text}: post to the lobby. */
static void on_message(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg;
    size_t alen;
    char text[CHAT_MAX_TEXT + 1];
    first_arg(ev, &arg, &alen);
    if (text_field(c, s, ev, arg, alen, text) == 0)
        post(c, s, ev, CHAT_LOBBY, text);
}

/* Read the "id" field of the object arg. Returns 0, or -1 after
 * answering the ack with the error. */
static int id_field(struct chat *c, struct hub_socket *s, struct hub_event *ev,
                    const char *arg, size_t alen, long long *id)
{
    const char *v;
    size_t vlen;
    int64_t x;
    if (json_get(arg, alen, "id", &v, &vlen) != 0 || json_int(v, vlen, INT64_MAX / 2, &x) != 0) {
        fail(c, s, ev, "id must be a message id");
        return -1;
    }
    *id = (long long)x;
    return 0;
}

/* Answer a change's ack: {ok:true}, or {error}. */
static void change_answer(struct chat *c, struct hub_socket *s, struct hub_event *ev,
                          enum chat_result r, const char *why)
{
    if (r != CHAT_DONE) {
        fail(c, s, ev, why);
        return;
    }
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"ok\":true}");
    reply(s, ev, jb);
}

/* edit {room, id, text}: change one of one's own messages (the same
 * path as the API's PUT, chat_edit). */
static void on_edit(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg, *text, *why = "";
    size_t alen, tlen;
    char room[CHAT_MAX_ROOM + 1];
    long long id;
    first_arg(ev, &arg, &alen);
    if (room_field(c, s, ev, arg, alen, room) != 0 || id_field(c, s, ev, arg, alen, &id) != 0)
        return;
    if (json_get(arg, alen, "text", &text, &tlen) != 0)
        text = NULL;
    enum chat_result r = chat_edit(c, room, id, text, tlen, hub_socket_id(s), &why);
    change_answer(c, s, ev, r, why);
}

/* delete {room, id}: delete one of one's own messages (chat_delete). */
static void on_delete(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg, *why = "";
    size_t alen;
    char room[CHAT_MAX_ROOM + 1];
    long long id;
    first_arg(ev, &arg, &alen);
    if (room_field(c, s, ev, arg, alen, room) != 0 || id_field(c, s, ev, arg, alen, &id) != 0)
        return;
    enum chat_result r = chat_delete(c, room, id, hub_socket_id(s), &why);
    change_answer(c, s, ev, r, why);
}

/* room-message {room, text}: post to one room. */
static void on_room_message(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg;
    size_t alen;
    char room[CHAT_MAX_ROOM + 1], text[CHAT_MAX_TEXT + 1];
    first_arg(ev, &arg, &alen);
    if (room_field(c, s, ev, arg, alen, room) == 0 &&
        text_field(c, s, ev, arg, alen, text) == 0)
        post(c, s, ev, room, text);
}

/* Write "userId":id,"name":name from one fetched socket (its data is
 * {"name":...}); sockets without a name (not the chat's) are skipped.
 * Returns true if it wrote one. */
static bool jb_fetched_user(struct jbuf *jb, const char *sock, size_t n, bool first)
{
    const char *id, *data, *name;
    size_t idlen, dlen, nlen;
    if (json_get(sock, n, "id", &id, &idlen) != 0 || json_type_of(id, idlen) != JSON_STRING ||
        json_get(sock, n, "data", &data, &dlen) != 0 ||
        json_get(data, dlen, "name", &name, &nlen) != 0 ||
        json_type_of(name, nlen) != JSON_STRING)
        return false;
    if (!first)
        jb_raw(jb, ",", 1);
    jb_lit(jb, "{\"userId\":");
    jb_raw(jb, id, idlen);
    jb_lit(jb, ",\"name\":");
    jb_raw(jb, name, nlen);
    jb_lit(jb, "}");
    return true;
}

/* An ack that waits for the cluster's sockets (join: a room's members;
 * rooms: everyone). */
struct pending {
    struct chat *chat;
    char room[CHAT_MAX_ROOM + 1]; /* the room asked about; "" for all */
    struct hub_reply *reply;      /* ev's ack, answered later */
};

/* Ask every node for the sockets in room (NULL: in all rooms); answer is
 * called with them, and ev's ack waits for it (none: the question is not
 * asked). Returns 0, or -1 if out of memory before anything was kept. */
static int ask_cluster(struct chat *c, struct hub_socket *s, struct hub_event *ev,
                       const char *room, hub_answer_cb *answer)
{
    struct pending *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->chat = c;
    snprintf(p->room, sizeof p->room, "%s", room ? room : "");
    p->reply = hub_ack_later(s, ev);
    const char *rooms[1] = {p->room};
    struct hub_select sel = {room ? rooms : NULL, room ? 1 : 0, NULL, 0, false};
    if (!p->reply || hub_fetch_sockets(c->nsp, &sel, answer, p) != 0) {
        if (p->reply)
            hub_reply_drop(p->reply);
        free(p);
    }
    return 0;
}

/* Answer p's ack with the JSON built in jb (dropped if it was not built
 * whole), and free p. */
static void answer_later(struct pending *p, struct jbuf *jb)
{
    if (jb->oom) {
        hub_reply_drop(p->reply);
    } else {
        struct hub_args a = {jb->p, jb->len, NULL, 0};
        hub_reply_send(p->reply, &a);
    }
    free(p);
}

/* The members are in (json: the fetched sockets): answer the join with
 * {room, members:[{userId,name}], history:[...]}. The room and its
 * history are looked up again: either may have gone meanwhile. */
static void join_answer(const char *json, size_t len, void *ud)
{
    struct pending *pj = ud;
    struct chat *c = pj->chat;
    struct hist_room *r = room_find(c, pj->room);
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"room\":");
    jb_str(jb, pj->room, strlen(pj->room));
    jb_lit(jb, ",\"members\":[");
    size_t pos = 0, n;
    const char *sock;
    bool first = true;
    while (json_array_next(json, len, &pos, &sock, &n) == 1) {
        if (jb_fetched_user(jb, sock, n, first))
            first = false;
    }
    jb_lit(jb, "],\"history\":[");
    for (size_t i = 0; r && i < r->count; i++) {
        if (i > 0)
            jb_raw(jb, ",", 1);
        jb_raw(jb, hist_at(r, i)->json, hist_at(r, i)->len);
    }
    jb_lit(jb, "]}");
    answer_later(pj, jb);
}

/* join room: ack {room, members:[{userId,name}], history:[...]} */
static void on_join(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg;
    size_t alen;
    char room[CHAT_MAX_ROOM + 1];
    first_arg(ev, &arg, &alen);
    if (room_name(arg, alen, room) != 0) {
        fail(c, s, ev, "room must be 1 to 32 letters, digits, - or _");
        return;
    }
    const char *mine[CHAT_MAX_JOINED + 1];
    if (!hub_in_room(s, room) && joined_rooms(s, mine, CHAT_MAX_JOINED + 1) >= CHAT_MAX_JOINED) {
        fail(c, s, ev, "you are in 20 rooms already");
        return;
    }
    struct hist_room *r = room_get(c, room);
    if (!r) {
        fail(c, s, ev, "the chat has 100 rooms already");
        return;
    }
    if (!hub_in_room(s, room)) {
        if (hub_join(s, room) != 0) {
            fail(c, s, ev, "out of memory");
            return;
        }
        presence(c, room, s, "join", NULL);
    }
    /* The members are the whole cluster's: the answer waits for them. */
    if (ask_cluster(c, s, ev, room, join_answer) != 0)
        fail(c, s, ev, "out of memory");
}

/* leave room: tell the room, then go. */
static void on_leave(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg;
    size_t alen;
    char room[CHAT_MAX_ROOM + 1];
    first_arg(ev, &arg, &alen);
    if (room_name(arg, alen, room) != 0 || !hub_in_room(s, room) ||
        strcmp(room, hub_socket_id(s)) == 0) {
        fail(c, s, ev, "you are not in that room");
        return;
    }
    presence(c, room, s, "leave", NULL);
    hub_leave(s, room);
    room_forget_if_empty(c, room);
    reply_one(c, s, ev, "room", room);
}

/* nick name: rename, and tell every room the user is in. */
static void on_nick(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg;
    size_t alen;
    char name[CHAT_MAX_NAME + 1];
    first_arg(ev, &arg, &alen);
    if (user_text(arg, alen, name, CHAT_MAX_NAME, false) != 0) {
        fail(c, s, ev, "name must be 1 to 32 bytes of visible text");
        return;
    }
    snprintf(user_of(s)->name, sizeof user_of(s)->name, "%s", name);
    const char *rooms[CHAT_MAX_JOINED + 1];
    size_t n = joined_rooms(s, rooms, CHAT_MAX_JOINED + 1);
    for (size_t i = 0; i < n; i++)
        presence(c, rooms[i], s, "rename", NULL);
    reply_one(c, s, ev, "name", name);
}

/* typing {room, typing}: to the others in the room; no ack. */
static void on_typing(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    struct chat *c = ud;
    const char *arg, *v;
    size_t alen, vlen;
    char room[CHAT_MAX_ROOM + 1];
    first_arg(ev, &arg, &alen);
    if (json_get(arg, alen, "room", &v, &vlen) != 0 || room_name(v, vlen, room) != 0 ||
        !hub_in_room(s, room)) {
        fail(c, s, ev, "you are not in that room");
        return;
    }
    bool typing = json_get(arg, alen, "typing", &v, &vlen) == 0 &&
                  json_type_of(v, vlen) == JSON_TRUE;
    struct jbuf *jb = out(c);
    jb_lit(jb, "{\"room\":");
    jb_str(jb, room, strlen(room));
    jb_lit(jb, ",");
    jb_user(jb, s);
    jb_lit(jb, typing ? ",\"typing\":true}" : ",\"typing\":false}");
    tell_room(c, room, s, "typing", jb);
}

/* A chat room's name and how many are in it, cluster-wide. */
struct room_count {
    char name[CHAT_MAX_ROOM + 1];
    long long members;
};

/* Count one more member of room (names that are not chat rooms are
 * left out: a socket's own id, a Node peer's rooms). */
static void count_room(struct room_count *v, size_t *n, const char *room, size_t len)
{
    char name[CHAT_MAX_ROOM + 1];
    if (room_name(room, len, name) != 0)
        return;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(v[i].name, name) == 0) {
            v[i].members++;
            return;
        }
    }
    if (*n < CHAT_MAX_ROOMS * 2) {
        snprintf(v[*n].name, sizeof v[*n].name, "%s", name);
        v[(*n)++].members = 1;
    }
}

/* Every socket of the cluster is in (json): count them per room and
 * answer [{room, members}], this node's rooms first (the lobby among
 * them even when empty), then the rooms only other nodes have. */
static void rooms_answer(const char *json, size_t len, void *ud)
{
    struct pending *pj = ud;
    struct chat *c = pj->chat;
    static struct room_count v[CHAT_MAX_ROOMS * 2];
    size_t n = 0, pos = 0, slen;
    for (struct hist_room *r = c->hist.rooms; r; r = r->next) {
        snprintf(v[n].name, sizeof v[n].name, "%s", r->name);
        v[n++].members = 0;
    }
    const char *sock;
    while (json_array_next(json, len, &pos, &sock, &slen) == 1) {
        const char *id, *rooms, *room;
        size_t idlen, rlen, len2, rpos = 0;
        if (json_get(sock, slen, "id", &id, &idlen) != 0 ||
            json_get(sock, slen, "rooms", &rooms, &rlen) != 0)
            continue;
        while (json_array_next(rooms, rlen, &rpos, &room, &len2) == 1) {
            if (len2 != idlen || memcmp(room, id, idlen) != 0)
                count_room(v, &n, room, len2);
        }
    }
    struct jbuf *jb = out(c);
    jb_lit(jb, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jb_raw(jb, ",", 1);
        jb_lit(jb, "{\"room\":");
        jb_str(jb, v[i].name, strlen(v[i].name));
        jb_lit(jb, ",\"members\":");
        jb_int(jb, v[i].members);
        jb_lit(jb, "}");
    }
    jb_lit(jb, "]");
    answer_later(pj, jb);
}

/* rooms: ack [{room, members}] for every room of the chat, counted over
 * the whole cluster. */
static void on_rooms(struct hub_socket *s, struct hub_event *ev, void *ud)
{
    ask_cluster(ud, s, ev, NULL, rooms_answer); /* out of memory: no answer */
}

/* What other nodes see of a socket: {"name":...}. */
static void describe(struct hub_socket *s, struct jbuf *out, void *ud)
{
    (void)ud;
    const struct chat_user *u = user_of(s);
    if (!u)
        return;
    jb_lit(out, "{\"name\":");
    jb_str(out, u->name, strlen(u->name));
    jb_lit(out, "}");
}

/* ========================================================================
 * Setting up
 * ======================================================================== */

struct chat *chat_init(struct hub *h)
{
    static const struct {
        const char *event;
        hub_handler *fn;
    } table[] = {
        {"connection", on_connection},
        {"disconnect", on_disconnect},
        {"message", on_message},
        {"room-message", on_room_message},
        {"edit", on_edit},
        {"delete", on_delete},
        {"join", on_join},
        {"leave", on_leave},
        {"nick", on_nick},
        {"typing", on_typing},
        {"rooms", on_rooms},
    };
    struct chat *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->hub = h;
    c->nsp = hub_of(h, "/");
    if (!c->nsp || !room_get(c, CHAT_LOBBY)) {
        chat_free(c);
        return NULL;
    }
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (hub_on(c->nsp, table[i].event, table[i].fn, c) != 0) {
            chat_free(c);
            return NULL;
        }
    }
    hub_on_describe(c->nsp, describe, c);
    return c;
}

void chat_free(struct chat *c)
{
    if (!c)
        return;
    jb_free(&c->out);
    hist_free(&c->hist);
    if (c->journal)
        journal_close(c->journal);
    free(c);
}
