/* room.c -- rooms, selections of sockets, broadcasts, and the cluster's side of the hub
 * SPDX-License-Identifier: MIT
 *
 * The second half of the hub (hub.c is the first; hub_private.h holds
 * the structs both use). It owns:
 *   - the hash tables that find a room by name and a socket by id;
 *   - rooms: join, leave, members;
 *   - selections (struct hub_select): "the members of these rooms but
 *     not of those", each socket once, walked with a mark per socket
 *     instead of a set, so a broadcast costs one step per member;
 *   - broadcasts and room operations on a selection, handed to the
 *     adapter as well when there is one (other nodes, cluster.c);
 *   - the questions asked of the whole cluster (fetch sockets, all
 *     rooms) and server-side events.
 * Like hub.c it touches no socket and no Redis: the adapter is a table
 * of functions (struct hub_adapter), and a test can fill it in.
 *
 * References: socket.io's in-memory adapter ("Adapter.apply": rooms,
 * except, each socket once); ../shared/specs/socket.io-redis-adapter.md
 * §5 (the same rule on a receiving node) and §6 (what is asked of the
 * cluster, and the shape of a fetched socket).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "hub.h"
#include "hub_private.h"
#include "json.h"
#include "sio.h"
#include "timer.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Grow a dense array of elem-sized items so one more fits. It starts at
 * two: most sockets are in one or two rooms, and 10,000 of them should
 * not each keep room for four. */
int hub_grow(void **arr, size_t *cap, size_t used, size_t elem)
{
    if (used < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 2;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}


/* ========================================================================
 * Rooms
 * ======================================================================== */

static struct hub_room *find_room(struct hub_nsp *nsp, const char *name)
{
    return (struct hub_room *)map_find(&nsp->rooms, nsp->hub->seed, name);
}

struct hub_socket *hub_find_socket(struct hub_nsp *nsp, const char *id)
{
    return (struct hub_socket *)map_find(&nsp->by_id, nsp->hub->seed, id);
}

/* Put s in room (creating it). A socket is always in the room named by
 * its own id, virtually: that one costs nothing. Returns 0, or -1. */
int hub_join(struct hub_socket *s, const char *room)
{
    if (s->state != SOCK_OPEN)
        return -1;
    if (hub_in_room(s, room))
        return 0;
    struct hub_nsp *nsp = s->nsp;
    /* A room may not take another socket's id as its name, or it would
     * capture the messages sent to that socket. */
    if (hub_find_socket(nsp, room))
        return -1;
    struct hub_room *r = find_room(nsp, room);
    if (!r) {
        size_t len = strlen(room);
        r = calloc(1, sizeof *r + len + 1);
        if (!r)
            return -1;
        memcpy(r->name, room, len + 1);
        r->node.key = r->name;
        if (map_add(&nsp->rooms, nsp->hub->seed, &r->node) != 0) {
            free(r);
            return -1;
        }
    }
    if (hub_grow((void **)&r->members, &r->cap, r->count, sizeof *r->members) != 0 ||
        hub_grow((void **)&s->rooms, &s->roomcap, s->nrooms, sizeof *s->rooms) != 0) {
        if (r->count == 0) {
            map_del(&nsp->rooms, &r->node);
            free(r->members);
            free(r);
        }
        return -1;
    }
    r->members[r->count] = s;
    s->rooms[s->nrooms].room = r;
    s->rooms[s->nrooms].index = r->count;
    r->count++;
    s->nrooms++;
    struct hub *h = nsp->hub;
    if (h->obs && h->obs->joined)
        h->obs->joined(h->obs_ud, s, room);
    return 0;
}

/* Remove s's k-th membership: swap the room's last member into its slot
 * (and fix that member's index), and delete the room once empty. */
void hub_leave_at(struct hub_socket *s, size_t k)
{
    struct hub_room *r = s->rooms[k].room;
    struct hub *h = s->nsp->hub;
    if (h->obs && h->obs->left)
        h->obs->left(h->obs_ud, s, r->name);
    size_t idx = s->rooms[k].index;
    struct hub_socket *moved = r->members[--r->count];
    r->members[idx] = moved;
    if (moved != s) {
        for (size_t j = 0; j < moved->nrooms; j++) {
            if (moved->rooms[j].room == r) {
                moved->rooms[j].index = idx;
                break;
            }
        }
    }
    s->rooms[k] = s->rooms[--s->nrooms];
    if (r->count == 0) {
        map_del(&s->nsp->rooms, &r->node);
        free(r->members);
        free(r);
    }
}

void hub_leave(struct hub_socket *s, const char *room)
{
    for (size_t k = 0; k < s->nrooms; k++) {
        if (strcmp(s->rooms[k].room->name, room) == 0) {
            hub_leave_at(s, k);
            return;
        }
    }
}

bool hub_in_room(const struct hub_socket *s, const char *room)
{
    if (strcmp(room, s->id) == 0)
        return true;
    for (size_t k = 0; k < s->nrooms; k++) {
        if (strcmp(s->rooms[k].room->name, room) == 0)
            return true;
    }
    return false;
}

/* The sockets in room: a real room's members, or the one socket whose id
 * names it. *n is set to the count; the array is valid until the next
 * join or leave. Returns NULL with *n = 0 for an empty room. */
struct hub_socket *const *hub_room_members(struct hub_nsp *nsp,
                                           const char *room, size_t *n)
{
    struct hub_socket *s = hub_find_socket(nsp, room);
    if (s) {
        *n = 1;
        return &nsp->sockets[s->nsp_index];
    }
    struct hub_room *r = find_room(nsp, room);
    *n = r ? r->count : 0;
    return r ? r->members : NULL;
}

size_t hub_room_size(struct hub_nsp *nsp, const char *room)
{
    size_t n;
    hub_room_members(nsp, room, &n);
    return n;
}

/* Write up to max room names of s into names (its own id first).
 * Returns how many there are in all. */
size_t hub_socket_rooms(const struct hub_socket *s, const char **names,
                        size_t max)
{
    if (max > 0)
        names[0] = s->id;
    for (size_t k = 0; k < s->nrooms && k + 1 < max; k++)
        names[k + 1] = s->rooms[k].room->name;
    return s->nrooms + 1;
}

/* ========================================================================
 * Selections
 *
 * A selection is walked in two passes. First every member of an except
 * room is marked with a fresh epoch; then the target rooms' members (or
 * all sockets) are visited, and each is marked as it is taken, so a
 * socket in two target rooms is taken once and an excluded one never.
 * The mark is a number in the socket, compared with the hub's epoch, so
 * nothing has to be cleared afterwards.
 * ======================================================================== */

static uint32_t next_epoch(struct hub *h)
{
    if (++h->epoch == 0) { /* wrapped: no socket may keep an old mark */
        for (struct hub_nsp *n = h->nsps; n; n = n->next) {
            for (size_t i = 0; i < n->nsockets; i++)
                n->sockets[i]->mark = 0;
        }
        h->epoch = 1;
    }
    return h->epoch;
}

/* Mark every member of sel's except rooms; return the epoch. */
static uint32_t mark_except(struct hub_nsp *nsp, const struct hub_select *sel)
{
    uint32_t e = next_epoch(nsp->hub);
    for (size_t k = 0; k < sel->nexcept; k++) {
        size_t n;
        struct hub_socket *const *m = hub_room_members(nsp, sel->except[k], &n);
        for (size_t i = 0; i < n; i++)
            m[i]->mark = e;
    }
    return e;
}

/* Call take(s, ud) for each socket sel selects, once each, in this node.
 * take must not join, leave or close anything (the walk is on the rooms'
 * own arrays); hub_select_each is the safe form for that. */
static void walk(struct hub_nsp *nsp, const struct hub_select *sel,
                 void (*take)(struct hub_socket *s, void *ud), void *ud)
{
    uint32_t e = mark_except(nsp, sel);
    if (sel->nrooms == 0) {
        for (size_t i = 0; i < nsp->nsockets; i++) {
            struct hub_socket *s = nsp->sockets[i];
            if (s->mark != e && s->state == SOCK_OPEN)
                take(s, ud);
        }
        return;
    }
    for (size_t k = 0; k < sel->nrooms; k++) {
        size_t n;
        struct hub_socket *const *m = hub_room_members(nsp, sel->rooms[k], &n);
        for (size_t i = 0; i < n; i++) {
            if (m[i]->mark == e || m[i]->state != SOCK_OPEN)
                continue;
            m[i]->mark = e;
            take(m[i], ud);
        }
    }
}

/* What a broadcast's walk hands each recipient: the packet, and for an
 * observer (the Admin UI's event_sent) the event it carries. */
struct delivery {
    const struct outgoing *o;
    const char *event;
    const struct hub_args *a;
};

static void told(struct hub_socket *s, const struct delivery *d)
{
    struct hub *h = s->ss->hub;
    if (h->obs && h->obs->sent)
        h->obs->sent(h->obs_ud, s, d->event, d->a);
}

static void take_deliver(struct hub_socket *s, void *ud)
{
    struct delivery *d = ud;
    hub_deliver(s->ss, d->o);
}

static void take_told(struct hub_socket *s, void *ud)
{
    told(s, ud);
}

/* A volatile packet goes only where the transport can take it now. */
static bool can_take(struct hub_session *ss)
{
    return !ss->hub->t.writable || ss->hub->t.writable(ss->peer);
}

static void take_deliver_volatile(struct hub_socket *s, void *ud)
{
    if (can_take(s->ss))
        take_deliver(s, ud);
    else
        s->ss->hub->volatile_dropped++;
}

static void broadcast(struct hub_nsp *nsp, const struct hub_select *sel,
                      const char *event, const struct hub_args *a, bool is_volatile)
{
    struct hub *h = nsp->hub;
    struct outgoing o;
    if (hub_build(h, &o, SIO_EVENT, nsp, -1, event, a) != 0)
        return;
    struct delivery d = {&o, event, a};
    hub_enter(h);
    walk(nsp, sel, is_volatile ? take_deliver_volatile : take_deliver, &d);
    /* The observer hears of each recipient after the walk: what it does
     * (tell the Admin UI) is itself a broadcast, which would reuse the
     * scratch buffer that holds this packet. */
    if (h->obs && h->obs->sent)
        hub_select_each(nsp, sel, take_told, &d);
    if (!sel->local && h->adapter)
        h->adapter->broadcast(h->adapter_ud, nsp, sel, event, a, is_volatile);
    hub_exit(h);
}

/* Send event to every socket sel selects, here and (unless sel->local)
 * on every other node. The packet is encoded once; every recipient is
 * handed the same bytes. Costs one step per member of the rooms named. */
void hub_broadcast(struct hub_nsp *nsp, const struct hub_select *sel,
                   const char *event, const struct hub_args *a)
{
    broadcast(nsp, sel, event, a, false);
}

/* io.volatile.to(...).emit(): the same, but a socket whose transport
 * cannot take it now (output backed up, or polling with no GET held)
 * does not get it, and it is counted (hub_volatile_dropped). For state
 * that is soon stale anyway, such as cursor positions. */
void hub_broadcast_volatile(struct hub_nsp *nsp, const struct hub_select *sel,
                            const char *event, const struct hub_args *a)
{
    broadcast(nsp, sel, event, a, true);
}

/* socket.volatile.emit() to one socket. */
void hub_emit_volatile(struct hub_socket *s, const char *event,
                       const struct hub_args *a)
{
    if (s->state != SOCK_OPEN)
        return;
    if (can_take(s->ss))
        hub_emit(s, event, a);
    else
        s->ss->hub->volatile_dropped++;
}

uint64_t hub_volatile_dropped(const struct hub *h)
{
    return h->volatile_dropped;
}

/* Send event to every socket in room (NULL: the whole namespace), except
 * `except` (NULL: nobody), on every node: the common case of
 * hub_broadcast, as socket.to(room).emit() is of io.to().except(). */
void hub_emit_to(struct hub_nsp *nsp, const char *room,
                 const struct hub_socket *except, const char *event,
                 const struct hub_args *a)
{
    const char *id = except ? except->id : NULL;
    struct hub_select sel = {room ? &room : NULL, room ? 1 : 0,
                             id ? &id : NULL, id ? 1 : 0, false};
    hub_broadcast(nsp, &sel, event, a);
}

struct collected {
    struct hub_socket **v; /* the sockets taken, v[0..n) */
    size_t n, cap;
    bool oom;              /* one did not fit */
};

static void take_collect(struct hub_socket *s, void *ud)
{
    struct collected *c = ud;
    if (hub_grow((void **)&c->v, &c->cap, c->n, sizeof *c->v) != 0) {
        c->oom = true;
        return;
    }
    c->v[c->n++] = s;
}

/* Call fn(s, ud) for each socket of this node that sel selects (local or
 * not), once each. fn may do anything, join, leave or disconnect
 * included: the selection is taken first, and a socket closed by an
 * earlier call is skipped. Returns how many were selected. */
size_t hub_select_each(struct hub_nsp *nsp, const struct hub_select *sel,
                       void (*fn)(struct hub_socket *s, void *ud), void *ud)
{
    struct collected c = {0};
    hub_enter(nsp->hub);
    walk(nsp, sel, take_collect, &c);
    for (size_t i = 0; i < c.n; i++) {
        if (c.v[i]->state == SOCK_OPEN)
            fn(c.v[i], ud);
    }
    hub_exit(nsp->hub); /* the sockets closed on the way are freed here */
    free(c.v);
    return c.n;
}

struct room_op {
    const char *room;
    bool close;
};

static void op_join(struct hub_socket *s, void *ud)
{
    hub_join(s, ((struct room_op *)ud)->room);
}

static void op_leave(struct hub_socket *s, void *ud)
{
    hub_leave(s, ((struct room_op *)ud)->room);
}

/* As socket.disconnect(close): the client hears DISCONNECT; with close,
 * every other namespace of its session does too, and then the session
 * itself ends. */
static void op_disconnect(struct hub_socket *s, void *ud)
{
    struct room_op *op = ud;
    struct hub_session *ss = s->ss;
    hub_disconnect(s);
    if (!op->close || ss->closed)
        return;
    for (;;) {
        struct hub_socket *o = ss->sockets;
        while (o && o->state != SOCK_OPEN)
            o = o->next;
        if (!o)
            break;
        hub_disconnect(o);
    }
    ss->hub->t.close(ss->peer, HUB_CLOSE_SERVER, "disconnected by the server");
}

static void sockets_op(struct hub_nsp *nsp, const struct hub_select *sel,
                       enum hub_op op, const char *room, bool close)
{
    static void (*const fn[])(struct hub_socket *, void *) = {
        [HUB_OP_JOIN] = op_join, [HUB_OP_LEAVE] = op_leave,
        [HUB_OP_DISCONNECT] = op_disconnect,
    };
    struct hub *h = nsp->hub;
    struct room_op arg = {room, close};
    hub_select_each(nsp, sel, fn[op], &arg);
    if (!sel->local && h->adapter)
        h->adapter->sockets_op(h->adapter_ud, nsp, sel, op, room, close);
}

/* io.in(...).socketsJoin(room), socketsLeave(room), disconnectSockets():
 * the selected sockets on every node (unless sel->local). */
void hub_sockets_join(struct hub_nsp *nsp, const struct hub_select *sel,
                      const char *room)
{
    sockets_op(nsp, sel, HUB_OP_JOIN, room, false);
}

void hub_sockets_leave(struct hub_nsp *nsp, const struct hub_select *sel,
                       const char *room)
{
    sockets_op(nsp, sel, HUB_OP_LEAVE, room, false);
}

/* close: end each one's whole session too, not only its namespace. */
void hub_disconnect_sockets(struct hub_nsp *nsp, const struct hub_select *sel,
                            bool close)
{
    sockets_op(nsp, sel, HUB_OP_DISCONNECT, NULL, close);
}

/* ========================================================================
 * Describing sockets and rooms, for other nodes
 * ======================================================================== */

/* What s's data looks like to other nodes: written by fn, {} without. */
void hub_on_describe(struct hub_nsp *nsp, hub_describe_fn *fn, void *ud)
{
    nsp->describe = fn;
    nsp->describe_ud = ud;
}

static int hex_digit(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Write the query of url (after '?') as a JSON object of strings, as
 * Node's querystring.parse does: '+' is a space, %XX a byte; a name
 * given twice keeps its first value here (Node makes an array). */
static void jb_query(struct jbuf *out, const char *url)
{
    const char *q = strchr(url, '?');
    jb_lit(out, "{");
    bool first = true;
    while (q && *q) {
        q++;
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t klen = eq ? (size_t)(eq - q) : n;
        if (klen > 0) {
            char part[2][512];
            size_t plen[2] = {0, 0};
            const char *src[2] = {q, eq ? eq + 1 : q + n};
            size_t slen[2] = {klen, eq ? n - klen - 1 : 0};
            for (int k = 0; k < 2; k++) {
                for (size_t i = 0; i < slen[k] && plen[k] < sizeof part[k]; i++) {
                    char c = src[k][i];
                    if (c == '+') {
                        c = ' ';
                    } else if (c == '%' && i + 2 < slen[k] && isxdigit((unsigned char)src[k][i + 1]) &&
                               isxdigit((unsigned char)src[k][i + 2])) {
                        c = (char)(hex_digit(src[k][i + 1]) << 4 | hex_digit(src[k][i + 2]));
                        i += 2;
                    }
                    part[k][plen[k]++] = c;
                }
            }
            if (!first)
                jb_lit(out, ",");
            first = false;
            jb_str(out, part[0], plen[0]);
            jb_lit(out, ":");
            jb_str(out, part[1], plen[1]);
        }
        q += n;
    }
    jb_lit(out, "}");
}

/* Write s's handshake as socket.io shows socket.handshake: headers,
 * time, address, xdomain, secure, issued, url, query, and (with_auth)
 * the CONNECT's auth; from what hub_session_handshake kept. */
void hub_describe_handshake(const struct hub_socket *s, struct jbuf *out, bool with_auth)
{
    struct hub_session *ss = s->ss;
    const char *address = ss->handshake ? ss->handshake : "";
    const char *url = address + strlen(address) + (ss->handshake ? 1 : 0);
    time_t secs = (time_t)(ss->issued / 1000);
    struct tm tm;
    char when[64];
    gmtime_r(&secs, &tm);
    strftime(when, sizeof when, "%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)", &tm);
    jb_lit(out, "{\"headers\":{");
    bool origin = false;
    if (ss->handshake) {
        const char *f = url + strlen(url) + 1;
        for (bool first = true; *f; first = false) {
            const char *v = f + strlen(f) + 1;
            if (!first)
                jb_lit(out, ",");
            jb_str(out, f, strlen(f));
            jb_lit(out, ":");
            jb_str(out, v, strlen(v));
            origin |= strcmp(f, "origin") == 0;
            f = v + strlen(v) + 1;
        }
    }
    jb_lit(out, "},\"time\":");
    jb_str(out, when, strlen(when));
    jb_lit(out, ",\"address\":");
    jb_str(out, address, strlen(address));
    jb_lit(out, origin ? ",\"xdomain\":true" : ",\"xdomain\":false");
    jb_lit(out, ss->secure ? ",\"secure\":true,\"issued\":" : ",\"secure\":false,\"issued\":");
    jb_int(out, ss->issued);
    jb_lit(out, ",\"url\":");
    jb_str(out, url, strlen(url));
    jb_lit(out, ",\"query\":");
    jb_query(out, url);
    if (with_auth) {
        jb_lit(out, ",\"auth\":");
        jb_lit(out, s->auth ? s->auth : "{}");
    }
    jb_lit(out, "}");
}

/* Write s's rooms as a JSON array, its own id first. */
void hub_describe_rooms(const struct hub_socket *s, struct jbuf *out)
{
    jb_lit(out, "[");
    jb_str(out, s->id, strlen(s->id));
    for (size_t k = 0; k < s->nrooms; k++) {
        jb_lit(out, ",");
        jb_str(out, s->rooms[k].room->name, strlen(s->rooms[k].room->name));
    }
    jb_lit(out, "]");
}

/* Write s's data as the app describes it (hub_on_describe), or {}. */
void hub_describe_data(struct hub_socket *s, struct jbuf *out)
{
    size_t before = out->len;
    if (s->nsp->describe)
        s->nsp->describe(s, out, s->nsp->describe_ud);
    if (out->len == before)
        jb_lit(out, "{}");
}

/* Write s as fetchSockets() shows a socket (notes §6, REMOTE_FETCH):
 * {"id", "handshake", "rooms", "data"}, the handshake in socket.io's
 * shape. */
void hub_describe_socket(struct hub_socket *s, struct jbuf *out)
{
    jb_lit(out, "{\"id\":");
    jb_str(out, s->id, strlen(s->id));
    jb_lit(out, ",\"handshake\":");
    hub_describe_handshake(s, out, true);
    jb_lit(out, ",\"rooms\":");
    hub_describe_rooms(s, out);
    jb_lit(out, ",\"data\":");
    hub_describe_data(s, out);
    jb_lit(out, "}");
}

/* Write every room of nsp in this node, as JSON strings joined by
 * commas: each socket's own room (its id) and every named room, as
 * socket.io's allRooms() counts them. */
void hub_local_rooms(struct hub_nsp *nsp, struct jbuf *out)
{
    bool first = true;
    for (size_t i = 0; i < nsp->nsockets; i++) {
        if (!first)
            jb_lit(out, ",");
        first = false;
        jb_str(out, nsp->sockets[i]->id, strlen(nsp->sockets[i]->id));
    }
    for (size_t b = 0; b < nsp->rooms.nbuckets; b++) {
        for (struct map_node *n = nsp->rooms.buckets[b]; n; n = n->next) {
            if (!first)
                jb_lit(out, ",");
            first = false;
            jb_str(out, n->key, strlen(n->key));
        }
    }
}

/* ========================================================================
 * Questions to the whole cluster
 *
 * A gather collects the answer: this node's part at once, the other
 * nodes' parts as the adapter receives them, and the callback with the
 * whole JSON array at the end. Without an adapter the end is at once.
 * ======================================================================== */

struct hub_gather {
    enum hub_ask what;   /* what is being asked */
    struct jbuf items;   /* the answer so far: JSON values joined by commas */
    hub_answer_cb *cb;   /* called once, at the end */
    void *ud;
};

static void take_describe(struct hub_socket *s, void *ud)
{
    struct jbuf *out = ud;
    if (out->len > 0)
        jb_lit(out, ",");
    hub_describe_socket(s, out);
}

/* Append items (JSON values joined by commas, maybe none) to g. */
void hub_gather_add(struct hub_gather *g, const char *items, size_t len)
{
    size_t skip = 0;
    while (skip < len && (items[skip] == ' ' || items[skip] == '\n'))
        skip++;
    if (skip == len)
        return;
    if (g->items.len > 0)
        jb_lit(&g->items, ",");
    jb_raw(&g->items, items + skip, len - skip);
}

static int cmp_str(const void *a, const void *b)
{
    const struct { const char *p; size_t n; } *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* Sort room names and drop repeats: allRooms() is a set. Leaves the
 * items as they were if anything in them is not a plain JSON value. */
static void unique_items(struct jbuf *items)
{
    struct span { const char *p; size_t n; } *v = NULL;
    size_t n = 0, cap = 0, pos = 0;
    struct jbuf arr = {0}, out = {0};
    jb_lit(&arr, "[");
    jb_raw(&arr, items->p, items->len);
    jb_lit(&arr, "]");
    const char *val;
    size_t vlen;
    int r;
    while (!arr.oom && (r = json_array_next(arr.p, arr.len, &pos, &val, &vlen)) == 1) {
        if (hub_grow((void **)&v, &cap, n, sizeof *v) != 0)
            break;
        v[n].p = val;
        v[n].n = vlen;
        n++;
    }
    if (!arr.oom && r == 0) {
        if (n > 1)
            qsort(v, n, sizeof *v, cmp_str);
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && cmp_str(&v[i], &v[i - 1]) == 0)
                continue;
            if (out.len > 0)
                jb_lit(&out, ",");
            jb_raw(&out, v[i].p, v[i].n);
        }
        if (!out.oom) {
            jb_free(items);
            *items = out;
            out = (struct jbuf){0};
        }
    }
    jb_free(&out);
    jb_free(&arr);
    free(v);
}

/* All answers are in (or time is up): call back with the array, free g. */
void hub_gather_end(struct hub_gather *g)
{
    if (g->what == HUB_ASK_ROOMS)
        unique_items(&g->items);
    struct jbuf arr = {0};
    jb_lit(&arr, "[");
    jb_raw(&arr, g->items.p, g->items.len);
    jb_lit(&arr, "]");
    if (arr.oom || g->items.oom)
        g->cb("[]", 2, g->ud);
    else
        g->cb(arr.p, arr.len, g->ud);
    jb_free(&arr);
    jb_free(&g->items);
    free(g);
}

static int ask(struct hub_nsp *nsp, enum hub_ask what,
               const struct hub_select *sel, hub_answer_cb *cb, void *ud)
{
    struct hub *h = nsp->hub;
    struct hub_gather *g = calloc(1, sizeof *g);
    if (!g)
        return -1;
    g->what = what;
    g->cb = cb;
    g->ud = ud;
    if (what == HUB_ASK_SOCKETS) {
        hub_enter(h);
        walk(nsp, sel, take_describe, &g->items);
        hub_exit(h);
    } else {
        hub_local_rooms(nsp, &g->items);
    }
    if (sel->local || !h->adapter || h->adapter->ask(h->adapter_ud, nsp, what, sel, g) != 0)
        hub_gather_end(g);
    return 0;
}

/* io.in(...).fetchSockets(): cb gets a JSON array with each selected
 * socket of the cluster as hub_describe_socket writes it. cb may run
 * before this returns (no other nodes), or later. Returns 0, or -1 if
 * out of memory (cb never runs). */
int hub_fetch_sockets(struct hub_nsp *nsp, const struct hub_select *sel,
                      hub_answer_cb *cb, void *ud)
{
    return ask(nsp, HUB_ASK_SOCKETS, sel, cb, ud);
}

/* adapter.allRooms(): cb gets a JSON array of every room name in nsp on
 * every node, each once. As hub_fetch_sockets otherwise. */
int hub_all_rooms(struct hub_nsp *nsp, hub_answer_cb *cb, void *ud)
{
    struct hub_select everyone = {0};
    return ask(nsp, HUB_ASK_ROOMS, &everyone, cb, ud);
}

/* ========================================================================
 * Broadcasts with acks
 *
 * io.timeout(ms).to(room).emit(ev, ..., (err, responses) => ...): every
 * selected socket is asked for an ack (hub_emit_ack, one packet each,
 * since each carries its own ack id), and the answers are collected in
 * a struct hub_acks until all are in or the time is up. Other nodes'
 * answers come through the adapter: first how many nodes will answer,
 * then from each the number of its clients, then their answers.
 * ======================================================================== */

struct hub_acks {
    struct hub *h;
    hub_acks_cb *cb;       /* called once */
    void *ud;
    struct jbuf replies;   /* each answer's first argument, joined by commas */
    size_t expected;       /* answers due: local clients + remote counts */
    size_t got;            /* answers in */
    long nodes_left;       /* other nodes whose count is due; -1: unknown */
    bool remote;           /* the adapter still holds it */
    bool done;             /* cb has run */
    int refs;              /* local acks pending + adapter + 1 until done */
    struct timer timer;    /* the deadline, in the hub's heap */
};

static void acks_unref(struct hub_acks *k)
{
    if (--k->refs > 0)
        return;
    jb_free(&k->replies);
    free(k);
}

static void acks_finish(struct hub_acks *k, bool timed_out)
{
    if (k->done)
        return;
    k->done = true;
    timers_cancel(&k->h->timers, &k->timer);
    struct jbuf arr = {0};
    jb_lit(&arr, "[");
    jb_raw(&arr, k->replies.p, k->replies.len);
    jb_lit(&arr, "]");
    size_t missing = k->expected > k->got ? k->expected - k->got : 0;
    if (arr.oom || k->replies.oom)
        k->cb(true, "[]", 2, missing, k->ud);
    else
        k->cb(timed_out || missing > 0, arr.p, arr.len, missing, k->ud);
    jb_free(&arr);
    acks_unref(k);
}

/* All in? Then answer now, before the deadline. */
static void acks_check(struct hub_acks *k)
{
    if (!k->done && k->got >= k->expected && (!k->remote || k->nodes_left == 0))
        acks_finish(k, false);
}

static void acks_fire(struct timer *t, int64_t now)
{
    (void)now;
    acks_finish((struct hub_acks *)((char *)t - offsetof(struct hub_acks, timer)), true);
}

static void acks_add(struct hub_acks *k, const char *first, size_t len)
{
    if (k->replies.len > 0)
        jb_lit(&k->replies, ",");
    jb_raw(&k->replies, len ? first : "null", len ? len : 4);
}

static void on_local_ack(struct hub_socket *s, bool timed_out,
                         const struct hub_args *reply, void *ud)
{
    (void)s;
    struct hub_acks *k = ud;
    if (!timed_out && !k->done) {
        long n = reply->len ? json_scan(reply->json, reply->len, (int)reply->nbins) : 0;
        acks_add(k, reply->json, n > 0 ? (size_t)n : 0);
        k->got++;
        acks_check(k);
    }
    acks_unref(k);
}

struct ack_walk {
    struct hub_acks *k;
    const char *event;
    const struct hub_args *a;
    int timeout;
};

static void take_ack(struct hub_socket *s, void *ud)
{
    struct ack_walk *w = ud;
    if (hub_emit_ack(s, w->event, w->a, w->timeout, on_local_ack, w->k) == 0) {
        w->k->refs++;
        w->k->expected++;
    }
}

/* Send event to every socket sel selects, on every node unless local,
 * each asked for an ack; cb gets the answers once all are in, or, after
 * timeout_ms, those that came (timed_out set). Returns 0, or -1 if out
 * of memory (cb never runs). */
int hub_broadcast_ack(struct hub_nsp *nsp, const struct hub_select *sel,
                      const char *event, const struct hub_args *a,
                      int timeout_ms, hub_acks_cb *cb, void *ud)
{
    struct hub *h = nsp->hub;
    struct hub_acks *k = calloc(1, sizeof *k);
    if (!k)
        return -1;
    k->h = h;
    k->cb = cb;
    k->ud = ud;
    k->refs = 1;
    k->nodes_left = -1;
    k->timer.fire = acks_fire;
    if (timers_set(&h->timers, &k->timer, h->now + timeout_ms) != 0) {
        free(k);
        return -1;
    }
    hub_enter(h);
    struct ack_walk w = {k, event, a, timeout_ms};
    hub_select_each(nsp, sel, take_ack, &w);
    if (!sel->local && h->adapter && h->adapter->broadcast_ack &&
        h->adapter->broadcast_ack(h->adapter_ud, nsp, sel, event, a, timeout_ms, k) == 0) {
        k->remote = true;
        k->refs++;
    }
    acks_check(k);
    hub_exit(h);
    return 0;
}

/* The adapter's reports: how many other nodes will answer, ... */
void hub_acks_nodes(struct hub_acks *k, size_t nodes)
{
    k->nodes_left = (long)nodes;
    acks_check(k);
}

/* ... how many clients one of them asked, ... */
void hub_acks_count(struct hub_acks *k, size_t clients)
{
    if (k->done)
        return;
    k->expected += clients;
    if (k->nodes_left > 0)
        k->nodes_left--;
    acks_check(k);
}

/* ... one client's answer (its first argument, JSON), ... */
void hub_acks_reply(struct hub_acks *k, const char *json, size_t len)
{
    if (k->done)
        return;
    acks_add(k, json, len);
    k->got++;
    acks_check(k);
}

/* ... and that it will report no more: k may be freed after this. */
void hub_acks_release(struct hub_acks *k)
{
    if (!k->remote)
        return;
    k->remote = false;
    acks_check(k);
    acks_unref(k);
}

/* ========================================================================
 * Server-side events
 * ======================================================================== */

/* Listen for event sent by other nodes with io.serverSideEmit. */
int hub_on_server(struct hub_nsp *nsp, const char *event,
                  hub_server_handler *fn, void *ud)
{
    if (hub_on(nsp, event, NULL, ud) != 0)
        return -1;
    nsp->ls[nsp->nls - 1].server = fn;
    return 0;
}

/* io.serverSideEmit(event, ...args): to the other nodes' listeners (this
 * node's own do not hear it, as in socket.io). */
void hub_server_emit(struct hub_nsp *nsp, const char *event,
                     const struct hub_args *a)
{
    struct hub *h = nsp->hub;
    if (h->adapter)
        h->adapter->server_emit(h->adapter_ud, nsp, event, a);
}

/* A server-side event from another node: call its listeners. token, if
 * not NULL, identifies the sender's request for an answer: the first
 * listener gets a reply to give it; without listeners none is given. */
void hub_server_event(struct hub_nsp *nsp, const char *event,
                      const struct hub_args *a, const char *token)
{
    hub_enter(nsp->hub);
    for (size_t i = 0; i < nsp->nls; i++) {
        if (!nsp->ls[i].server || strcmp(nsp->ls[i].event, event) != 0)
            continue;
        struct hub_reply *r = NULL;
        if (token) {
            r = hub_reply_new(nsp, NULL, -1, token);
            token = NULL; /* one answer per request */
        }
        nsp->ls[i].server(nsp, event, a, r, nsp->ls[i].ud);
    }
    hub_exit(nsp->hub);
}

/* ========================================================================
 * The adapter
 * ======================================================================== */

/* Put a on h's side: from now on broadcasts, room operations and
 * questions reach other nodes through it. NULL takes it away. */
void hub_set_adapter(struct hub *h, const struct hub_adapter *a, void *ud)
{
    h->adapter = a;
    h->adapter_ud = ud;
}

/* Watch the hub (one observer; NULL stops). */
void hub_observe(struct hub *h, const struct hub_observer *o, void *ud)
{
    h->obs = o;
    h->obs_ud = ud;
}

/* s's transport now, "websocket" or "polling" ("" if the transport does
 * not say), and in *sid its Engine.IO session id. */
const char *hub_socket_transport(const struct hub_socket *s, const char **sid)
{
    struct hub *h = s->nsp->hub;
    const char *t = h->t.info && !s->ss->closed ? h->t.info(s->ss->peer, sid) : NULL;
    if (!t) {
        *sid = "";
        return "";
    }
    return t;
}

/* Sessions open, and in *polling how many are on long-polling now. */
size_t hub_sessions(const struct hub *h, size_t *polling)
{
    *polling = 0;
    for (const struct hub_session *ss = h->sessions; ss; ss = ss->next) {
        const char *sid;
        const char *t = h->t.info && !ss->closed ? h->t.info(ss->peer, &sid) : NULL;
        if (t && strcmp(t, "polling") == 0)
            (*polling)++;
    }
    return h->nsessions;
}

/* Sockets connected to nsp here. */
size_t hub_nsp_size(const struct hub_nsp *nsp)
{
    return nsp->nsockets;
}

/* An application's timer, run by hub_tick when due (h's clock). */
int hub_timer_set(struct hub *h, struct timer *t, int64_t when)
{
    return timers_set(&h->timers, t, when);
}

void hub_timer_cancel(struct hub *h, struct timer *t)
{
    timers_cancel(&h->timers, t);
}

int64_t hub_now(const struct hub *h)
{
    return h->now;
}

/* The hub a namespace belongs to. */
struct hub *hub_nsp_hub(const struct hub_nsp *nsp)
{
    return nsp->hub;
}

/* The namespaces, for an adapter that subscribes to each one. */
struct hub_nsp *hub_first_nsp(struct hub *h)
{
    return h->nsps;
}

struct hub_nsp *hub_next_nsp(struct hub_nsp *nsp)
{
    return nsp->next;
}

/* This node's number in its cluster, as the adapter learned it: apps
 * use it to make ids unique across nodes. 0 when alone. */
void hub_set_node(struct hub *h, uint32_t node)
{
    h->node = node % HUB_MAX_NODES;
}

uint32_t hub_node(const struct hub *h)
{
    return h->node;
}
