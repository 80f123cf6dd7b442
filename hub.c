/* hub.c -- an event hub that speaks Socket.IO v5 on top of Engine.IO v4
 * SPDX-License-Identifier: MIT
 *
 * The transports (engine.c, over WebSocket or HTTP long-polling) turn
 * bytes into Engine.IO messages; this file turns messages into events. Handlers register by name (hub_on), anyone
 * fires events (hub_fire, or a client's emit), an event may have many
 * listeners, and whoever fires one can get a direct answer (an ack).
 *
 * It owns the protocol above Engine.IO:
 *   - Socket.IO v5: namespaces, CONNECT/DISCONNECT, events, acks in both
 *     directions, binary attachments that follow as their own messages
 *     ("Exchange protocol"), and the connect timeout;
 *   - rooms: named groups of sockets within a namespace.
 * Engine.IO itself -- the open packet, the heartbeat, the close packet,
 * polling and the upgrade -- is engine.c's: the hub never learns which
 * transport a session is on, or when it changes.
 *
 * It never touches a socket. It writes through struct hub_transport and is
 * told the time, so test/unit_hub.c drives it with fake peers and a fake
 * clock. Its deadlines (connect timeouts, ack timeouts) are timers in a
 * heap of its own (timer.c): the loop asks hub_next_timer() how long it
 * may sleep and calls hub_tick() then, which runs only what is due. A broadcast is encoded once, and the same bytes are handed to
 * every recipient.
 *
 * Deliberately left out: connection state recovery, and adapters for more
 * than one process.
 *
 * References: socket.io-protocol v5 ("Exchange protocol", "Packet
 * encoding"); engine.io-protocol v4 ("Message").
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "hub.h"
#include "json.h"
#include "pool.h"
#include "sio.h"
#include "timer.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* ========================================================================
 * Data structures
 * ======================================================================== */

/* An intrusive string-keyed hash table: rooms by name, sockets by id. */
struct hub_node {
    struct hub_node *next; /* next in the same bucket */
    uint32_t hash;         /* hash_str(seed, key), kept to grow cheaply */
    const char *key;       /* owned by the struct this node is part of */
};

struct hub_map {
    struct hub_node **buckets; /* nbuckets chains; NULL while empty */
    size_t nbuckets;           /* a power of two, or 0 */
    size_t count;              /* nodes in the table */
};

struct listener {
    char *event;     /* event name, malloc'd */
    hub_handler *fn; /* called with the socket, the event and ud */
    void *ud;        /* the handler's own pointer */
};

/* A room: a named set of sockets, stored densely so that a broadcast
 * walks exactly its members and a member leaves in O(1). */
struct hub_room {
    struct hub_node node;        /* key: name; in nsp->rooms */
    struct hub_socket **members; /* members[0..count) */
    size_t count;                /* members now */
    size_t cap;                  /* slots allocated */
    char name[];                 /* NUL-terminated */
};

/* A socket's place in one room: room->members[index] == the socket. */
struct membership {
    struct hub_room *room;
    size_t index;
};

/* An ack we asked the client for (hub_emit_ack). */
struct pending_ack {
    int64_t id;       /* the ack id sent with the event */
    int64_t deadline; /* ms; the callback gets timed_out after it */
    hub_ack_cb *cb;
    void *ud;
};

enum sock_state {
    SOCK_OPEN,    /* connected to its namespace */
    SOCK_CLOSING, /* "disconnect" handlers are running */
    SOCK_CLOSED   /* out of every table; freed when the hub is idle */
};

struct hub_socket {
    struct hub_node node;       /* key: id; in nsp->by_id */
    char id[21];                /* 20 base64url characters from RAND_bytes */
    uint8_t state;              /* enum sock_state; only SOCK_OPEN sockets
                                 * get packets */
    struct hub_nsp *nsp;        /* the namespace it is connected to */
    struct hub_session *ss;     /* the connection it travels on */
    size_t nsp_index;           /* nsp->sockets[nsp_index] == this */
    struct membership *rooms;   /* rooms joined, rooms[0..nrooms) */
    size_t nrooms, roomcap;     /* used and allocated entries of rooms */
    struct pending_ack *acks;   /* acks awaited from the client */
    size_t nacks, ackcap;       /* used and allocated entries of acks */
    int64_t next_ack_id;        /* id for the next hub_emit_ack */
    void *data;                 /* the application's per-socket state */
    struct hub_socket *next;    /* next socket of the session, or in the
                                 * hub's graveyard once closed */
};

struct hub_nsp {
    struct hub *hub;
    char *name;                 /* "/", "/custom", ... */
    struct listener *ls;        /* handlers, in registration order */
    size_t nls, lcap;           /* used and allocated entries of ls */
    struct hub_socket **sockets;/* every open socket, densely */
    size_t nsockets, scap;      /* used and allocated entries of sockets */
    struct hub_map by_id;       /* socket id -> socket */
    struct hub_map rooms;       /* room name -> struct hub_room */
    struct hub_nsp *next;       /* next namespace of the hub */
};

/* A BINARY_EVENT or BINARY_ACK whose attachments are still arriving. */
struct pending_bin {
    char *text;                     /* the packet text, copied */
    size_t len;                     /* bytes at text */
    int need;                       /* attachments announced */
    int have;                       /* attachments received */
    struct hub_blob bins[SIO_MAX_ATTACHMENTS]; /* each malloc'd */
    size_t bytes;                   /* text + attachments, <= max_payload */
};

struct hub_session {
    struct hub *hub;
    void *peer;                 /* the transport's handle */
    bool closed;                /* no more packets are processed */
    struct hub_socket *sockets; /* one per namespace joined, linked */
    struct timer timer;         /* until the first CONNECT: the connect
                                 * timeout; then the earliest ack deadline
                                 * of its sockets (lazily: it may fire
                                 * early, and is set again then) */
    bool connected;             /* a CONNECT has come */
    struct pending_bin *bin;    /* packet awaiting attachments, or NULL */
    struct hub_session *prev, *next; /* the hub's list of sessions */
};

struct hub {
    struct hub_transport t;       /* how bytes leave */
    struct hub_options opt;       /* timings and limits */
    struct hub_nsp *nsps;         /* namespaces, linked */
    struct hub_session *sessions; /* live sessions, doubly linked */
    struct hub_session *dead;     /* sessions gone, freed when idle */
    struct hub_socket *graveyard; /* sockets closed, freed when idle */
    int depth;                    /* nesting of entry points; 0 = idle */
    int64_t now;                  /* ms, the time the caller last gave */
    struct timers timers;         /* connect and ack deadlines */
    struct pool sessions_pool;    /* every struct hub_session (pool.h) */
    struct pool sockets_pool;     /* every struct hub_socket */
    struct jbuf scratch;          /* where emits are encoded, reused */
    uint32_t seed;                /* random hash seed, against flooding */
};

/* Frees and callbacks may not happen under a handler's feet: a handler
 * can disconnect the very socket whose event is being dispatched. So
 * closed objects wait in a list until the outermost call returns. */
static void hub_enter(struct hub *h)
{
    h->depth++;
}

static void free_socket(struct hub_socket *s);
static void free_session(struct hub_session *ss);
static void session_timer(struct timer *t, int64_t now);

static void hub_flush(struct hub *h)
{
    while (h->graveyard) {
        struct hub_socket *s = h->graveyard;
        h->graveyard = s->next;
        free_socket(s);
    }
    while (h->dead) {
        struct hub_session *ss = h->dead;
        h->dead = ss->next;
        free_session(ss);
    }
}

static void hub_exit(struct hub *h)
{
    if (--h->depth > 0)
        return;
    hub_flush(h);
    if (h->scratch.cap > 65536) /* one big emit need not pin its memory */
        jb_free(&h->scratch);
}

/* ========================================================================
 * The hash table
 * ======================================================================== */

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

static struct hub_node *map_find(const struct hub_map *m, uint32_t seed,
                                 const char *key)
{
    if (m->nbuckets == 0)
        return NULL;
    uint32_t hv = hash_str(seed, key);
    for (struct hub_node *n = m->buckets[hv & (m->nbuckets - 1)]; n; n = n->next) {
        if (n->hash == hv && strcmp(n->key, key) == 0)
            return n;
    }
    return NULL;
}

/* Insert node (its key set). Doubles the bucket array at load 1. */
static int map_add(struct hub_map *m, uint32_t seed, struct hub_node *node)
{
    if (m->count >= m->nbuckets) {
        size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
        struct hub_node **b = calloc(nb, sizeof *b);
        if (!b)
            return -1;
        for (size_t i = 0; i < m->nbuckets; i++) {
            while (m->buckets[i]) {
                struct hub_node *n = m->buckets[i];
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
    struct hub_node **slot = &m->buckets[node->hash & (m->nbuckets - 1)];
    node->next = *slot;
    *slot = node;
    m->count++;
    return 0;
}

static void map_del(struct hub_map *m, struct hub_node *node)
{
    struct hub_node **p = &m->buckets[node->hash & (m->nbuckets - 1)];
    while (*p != node)
        p = &(*p)->next;
    *p = node->next;
    m->count--;
}

/* Grow a dense array of elem-sized items so one more fits. It starts at
 * two: most sockets are in one or two rooms, and 10,000 of them should
 * not each keep room for four. */
static int grow(void **arr, size_t *cap, size_t used, size_t elem)
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
 * Encoding and sending
 * ======================================================================== */

/* A packet ready to send: the Socket.IO text, then one binary message
 * per attachment. Built once per emit, then handed unchanged to every
 * recipient. The text lives in the hub's scratch buffer, which keeps its
 * memory from one emit to the next: no allocation per message. The
 * attachments are the caller's own bytes, not copied. */
struct outgoing {
    const char *text;             /* the packet, e.g. 2["news",1] */
    size_t len;                   /* bytes at text */
    const struct hub_blob *bins;  /* attachments, or NULL */
    size_t nbins;                 /* how many */
};

/* Build an EVENT (event != NULL) or ACK packet into the scratch buffer.
 * Returns 0, or -1 if out of memory or over SIO_MAX_ATTACHMENTS. */
static int build(struct hub *h, struct outgoing *o, int type,
                 const struct hub_nsp *nsp, int64_t ack_id, const char *event,
                 const struct hub_args *a)
{
    struct jbuf *jb = &h->scratch;
    size_t nbins = a ? a->nbins : 0;
    if (nbins > SIO_MAX_ATTACHMENTS)
        return -1;
    jb_reset(jb);
    sio_encode(jb, type, nsp->name, strlen(nsp->name), (int)nbins, ack_id);
    jb_raw(jb, "[", 1);
    if (event) {
        jb_str(jb, event, strlen(event));
        if (a && a->len > 0)
            jb_raw(jb, ",", 1);
    }
    if (a)
        jb_raw(jb, a->json, a->len);
    jb_raw(jb, "]", 1);
    if (jb->oom) {
        jb_free(jb);
        return -1;
    }
    o->text = jb->p;
    o->len = jb->len;
    o->bins = nbins ? a->bins : NULL;
    o->nbins = nbins;
    return 0;
}

static void deliver(struct hub_session *ss, const struct outgoing *o)
{
    if (ss->closed)
        return;
    ss->hub->t.send(ss->peer, false, (const uint8_t *)o->text, o->len);
    for (size_t i = 0; i < o->nbins; i++)
        ss->hub->t.send(ss->peer, true, o->bins[i].data, o->bins[i].len);
}

/* Send one text packet built in jb to a session, and free jb. */
static void send_jb(struct hub_session *ss, struct jbuf *jb)
{
    if (!jb->oom && !ss->closed)
        ss->hub->t.send(ss->peer, false, (const uint8_t *)jb->p, jb->len);
    jb_free(jb);
}

/* ========================================================================
 * Namespaces and handlers
 * ======================================================================== */

struct hub_args hub_json(const char *json)
{
    struct hub_args a = {json, strlen(json), NULL, 0};
    return a;
}

/* Find the namespace called name[0..len), or NULL. */
static struct hub_nsp *find_nsp(struct hub *h, const char *name, size_t len)
{
    for (struct hub_nsp *n = h->nsps; n; n = n->next) {
        if (strlen(n->name) == len && memcmp(n->name, name, len) == 0)
            return n;
    }
    return NULL;
}

/* The namespace called name (it must start with '/'), created on first
 * use, like io.of(name). Returns NULL on a bad name or no memory. Only
 * namespaces made here are accepted from clients; others get
 * CONNECT_ERROR "Invalid namespace". */
struct hub_nsp *hub_of(struct hub *h, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || name[0] != '/' || len > SIO_MAX_NSP || strchr(name, ','))
        return NULL;
    struct hub_nsp *n = find_nsp(h, name, len);
    if (n)
        return n;
    n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->name = strdup(name);
    if (!n->name) {
        free(n);
        return NULL;
    }
    n->hub = h;
    n->next = h->nsps;
    h->nsps = n;
    return n;
}

const char *hub_nsp_name(const struct hub_nsp *nsp)
{
    return nsp->name;
}

/* Add a listener for event in nsp. Listeners run in the order they were
 * added. "connection" and "disconnect" are events like any other: the hub
 * fires them itself. Returns 0, or -1 if out of memory. */
int hub_on(struct hub_nsp *nsp, const char *event, hub_handler *fn, void *ud)
{
    if (grow((void **)&nsp->ls, &nsp->lcap, nsp->nls, sizeof *nsp->ls) != 0)
        return -1;
    char *name = strdup(event);
    if (!name)
        return -1;
    nsp->ls[nsp->nls].event = name;
    nsp->ls[nsp->nls].fn = fn;
    nsp->ls[nsp->nls].ud = ud;
    nsp->nls++;
    return 0;
}

/* Call every listener of ev->name in nsp, with socket s (which may be
 * NULL for a server-internal event). This is how client events reach
 * handlers, and how one module can fire an event for another without
 * knowing who listens. Returns how many listeners ran. A listener that
 * disconnects s stops the rest from running. */
int hub_fire(struct hub_nsp *nsp, struct hub_socket *s, struct hub_event *ev)
{
    int ran = 0;
    hub_enter(nsp->hub);
    for (size_t i = 0; i < nsp->nls; i++) {
        if (s && s->state == SOCK_CLOSED)
            break;
        if (strcmp(nsp->ls[i].event, ev->name) != 0)
            continue;
        hub_handler *fn = nsp->ls[i].fn; /* ls may move if fn calls hub_on */
        void *ud = nsp->ls[i].ud;
        fn(s, ev, ud);
        ran++;
    }
    hub_exit(nsp->hub);
    return ran;
}

/* ========================================================================
 * Rooms
 * ======================================================================== */

static struct hub_room *find_room(struct hub_nsp *nsp, const char *name)
{
    return (struct hub_room *)map_find(&nsp->rooms, nsp->hub->seed, name);
}

static struct hub_socket *find_socket_by_id(struct hub_nsp *nsp, const char *id)
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
    if (find_socket_by_id(nsp, room))
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
    if (grow((void **)&r->members, &r->cap, r->count, sizeof *r->members) != 0 ||
        grow((void **)&s->rooms, &s->roomcap, s->nrooms, sizeof *s->rooms) != 0) {
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
    return 0;
}

/* Remove s's k-th membership: swap the room's last member into its slot
 * (and fix that member's index), and delete the room once empty. */
static void leave_at(struct hub_socket *s, size_t k)
{
    struct hub_room *r = s->rooms[k].room;
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
            leave_at(s, k);
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
    struct hub_socket *s = find_socket_by_id(nsp, room);
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
 * Emitting
 * ======================================================================== */

/* Send event to one socket. */
void hub_emit(struct hub_socket *s, const char *event, const struct hub_args *a)
{
    struct outgoing o;
    if (s->state == SOCK_CLOSED || build(s->nsp->hub, &o, SIO_EVENT, s->nsp, -1, event, a) != 0)
        return;
    deliver(s->ss, &o);
}

/* Send event to every socket in room (NULL: the whole namespace), except
 * `except` (NULL: nobody). The packet is encoded once; every recipient is
 * handed the same bytes. Costs one step per member of the room. */
void hub_emit_to(struct hub_nsp *nsp, const char *room,
                 const struct hub_socket *except, const char *event,
                 const struct hub_args *a)
{
    struct hub_socket *const *members;
    size_t n;
    if (room) {
        members = hub_room_members(nsp, room, &n);
    } else {
        members = nsp->sockets;
        n = nsp->nsockets;
    }
    if (n == 0)
        return;
    struct outgoing o;
    if (build(nsp->hub, &o, SIO_EVENT, nsp, -1, event, a) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (members[i] != except && members[i]->state != SOCK_CLOSED)
            deliver(members[i]->ss, &o);
    }
}

/* Send event to s asking for an ack: cb runs once, with the client's
 * reply, or with timed_out after timeout_ms (or when s disconnects
 * first). Returns 0, or -1 (then cb never runs). */
int hub_emit_ack(struct hub_socket *s, const char *event,
                 const struct hub_args *a, int timeout_ms, hub_ack_cb *cb,
                 void *ud)
{
    if (s->state != SOCK_OPEN)
        return -1;
    if (grow((void **)&s->acks, &s->ackcap, s->nacks, sizeof *s->acks) != 0)
        return -1;
    struct outgoing o;
    int64_t id = s->next_ack_id;
    if (build(s->nsp->hub, &o, SIO_EVENT, s->nsp, id, event, a) != 0)
        return -1;
    s->next_ack_id++;
    s->acks[s->nacks].id = id;
    s->acks[s->nacks].deadline = s->ss->hub->now + timeout_ms;
    struct timer *t = &s->ss->timer;
    if ((!timer_armed(t) || s->acks[s->nacks].deadline < t->when) &&
        timers_set(&s->ss->hub->timers, t, s->acks[s->nacks].deadline) != 0)
        return -1;
    s->acks[s->nacks].cb = cb;
    s->acks[s->nacks].ud = ud;
    s->nacks++;
    deliver(s->ss, &o);
    return 0;
}

/* Answer the client's ack for ev with reply (NULL: no arguments). Only
 * the first answer is sent; events that asked for none get none. */
void hub_ack(struct hub_socket *s, struct hub_event *ev,
             const struct hub_args *reply)
{
    if (ev->ack_id < 0 || ev->acked || s->state == SOCK_CLOSED)
        return;
    ev->acked = true;
    struct outgoing o;
    if (build(s->nsp->hub, &o, SIO_ACK, s->nsp, ev->ack_id, NULL, reply) != 0)
        return;
    deliver(s->ss, &o);
}

/* ========================================================================
 * Sockets
 * ======================================================================== */

const char *hub_socket_id(const struct hub_socket *s) { return s->id; }
struct hub_nsp *hub_socket_nsp(const struct hub_socket *s) { return s->nsp; }
void *hub_socket_data(const struct hub_socket *s) { return s->data; }
void hub_socket_set_data(struct hub_socket *s, void *data) { s->data = data; }

/* 15 random bytes as 20 characters of base64url (RFC 4648 §5): 120 bits
 * nobody can guess, from OpenSSL's CSPRNG. Returns 0, or -1 if it failed. */
int hub_random_id(char out[21])
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[15];
    if (RAND_bytes(b, sizeof b) != 1)
        return -1;
    for (int i = 0; i < 5; i++) {
        uint32_t v = (uint32_t)b[3 * i] << 16 | (uint32_t)b[3 * i + 1] << 8 | b[3 * i + 2];
        for (int k = 0; k < 4; k++)
            out[4 * i + k] = tab[(v >> (18 - 6 * k)) & 63];
    }
    out[20] = '\0';
    return 0;
}

/* Create s in nsp for session ss, reply to the CONNECT, then fire
 * "connection" with the auth payload ({} if none). */
static void socket_open(struct hub_session *ss, struct hub_nsp *nsp,
                        const char *auth, size_t auth_len)
{
    struct hub_socket *s = pool_alloc(&ss->hub->sockets_pool);
    if (!s || hub_random_id(s->id) != 0 ||
        grow((void **)&nsp->sockets, &nsp->scap, nsp->nsockets, sizeof *nsp->sockets) != 0) {
        if (s)
            pool_release(&ss->hub->sockets_pool, s);
        ss->hub->t.close(ss->peer, HUB_CLOSE_INTERNAL, "out of memory");
        return;
    }
    s->node.key = s->id;
    if (map_add(&nsp->by_id, ss->hub->seed, &s->node) != 0) {
        pool_release(&ss->hub->sockets_pool, s);
        ss->hub->t.close(ss->peer, HUB_CLOSE_INTERNAL, "out of memory");
        return;
    }
    s->nsp = nsp;
    s->ss = ss;
    s->state = SOCK_OPEN;
    s->nsp_index = nsp->nsockets;
    nsp->sockets[nsp->nsockets++] = s;
    s->next = ss->sockets;
    ss->sockets = s;
    if (!ss->connected) { /* the connect timeout is over; acks may use it */
        ss->connected = true;
        timers_cancel(&ss->hub->timers, &ss->timer);
    }

    /* 0{"sid":"..."} or 0/ns,{"sid":"..."} ("Connection to a namespace") */
    struct jbuf jb = {0};
    sio_encode(&jb, SIO_CONNECT, nsp->name, strlen(nsp->name), 0, -1);
    jb_lit(&jb, "{\"sid\":");
    jb_str(&jb, s->id, strlen(s->id));
    jb_lit(&jb, "}");
    send_jb(ss, &jb);

    struct hub_event ev = {"connection", {auth_len ? auth : "{}", auth_len ? auth_len : 2, NULL, 0}, -1, false};
    hub_fire(nsp, s, &ev);
}

/* Take s out of its namespace: fire "disconnect" with reason (while s is
 * still in its rooms, so handlers can tell them), optionally tell the
 * client with a DISCONNECT packet, leave every room, and give up on the
 * acks it owed us. The memory is freed once the hub is idle. */
static void socket_close(struct hub_socket *s, const char *reason,
                         bool tell_client)
{
    if (s->state != SOCK_OPEN)
        return;
    struct hub *h = s->ss->hub;
    hub_enter(h);
    s->state = SOCK_CLOSING;
    struct jbuf why = {0};
    jb_str(&why, reason, strlen(reason));
    struct hub_event ev = {"disconnect", {why.oom ? "null" : why.p, why.oom ? 4 : why.len, NULL, 0}, -1, false};
    hub_fire(s->nsp, s, &ev);
    jb_free(&why);

    if (tell_client) {
        struct jbuf jb = {0};
        sio_encode(&jb, SIO_DISCONNECT, s->nsp->name, strlen(s->nsp->name), 0, -1);
        send_jb(s->ss, &jb);
    }
    s->state = SOCK_CLOSED;
    while (s->nrooms > 0)
        leave_at(s, s->nrooms - 1);
    struct hub_nsp *nsp = s->nsp;
    struct hub_socket *last = nsp->sockets[--nsp->nsockets];
    nsp->sockets[s->nsp_index] = last;
    last->nsp_index = s->nsp_index;
    map_del(&nsp->by_id, &s->node);
    for (size_t i = 0; i < s->nacks; i++)
        s->acks[i].cb(s, true, NULL, s->acks[i].ud);
    s->nacks = 0;

    struct hub_socket **p = &s->ss->sockets;
    while (*p != s)
        p = &(*p)->next;
    *p = s->next;
    s->next = h->graveyard;
    h->graveyard = s;
    hub_exit(h);
}

static void free_socket(struct hub_socket *s)
{
    free(s->rooms);
    free(s->acks);
    pool_release(&s->nsp->hub->sockets_pool, s);
}

/* Server-side disconnect of one socket, like socket.disconnect(): the
 * client hears DISCONNECT (its reason: "io server disconnect"); handlers
 * hear "server namespace disconnect". The session stays open. */
void hub_disconnect(struct hub_socket *s)
{
    hub_enter(s->nsp->hub);
    socket_close(s, "server namespace disconnect", true);
    hub_exit(s->nsp->hub);
}

/* ========================================================================
 * Sessions
 * ======================================================================== */

/* Start a session for a client whose Engine.IO handshake just finished
 * (the transport has sent the open packet). It has connect_timeout to
 * CONNECT to a namespace. Returns NULL if out of memory; the transport
 * then closes the connection. */
struct hub_session *hub_session_open(struct hub *h, void *peer, int64_t now)
{
    struct hub_session *ss = pool_alloc(&h->sessions_pool);
    if (!ss)
        return NULL;
    h->now = now;
    ss->hub = h;
    ss->peer = peer;
    ss->timer.fire = session_timer;
    if (timers_set(&h->timers, &ss->timer, now + h->opt.connect_timeout) != 0) {
        pool_release(&h->sessions_pool, ss);
        return NULL;
    }
    ss->next = h->sessions;
    if (h->sessions)
        h->sessions->prev = ss;
    h->sessions = ss;
    return ss;
}

static void drop_pending_bin(struct hub_session *ss)
{
    if (!ss->bin)
        return;
    for (int i = 0; i < ss->bin->have; i++)
        free((void *)ss->bin->bins[i].data);
    free(ss->bin->text);
    free(ss->bin);
    ss->bin = NULL;
}

/* End the session: every socket hears "disconnect" with reason, and,
 * unless the transport is already gone (why == 0), the transport is told
 * to close, with text for the client and the log. */
static void session_close(struct hub_session *ss, const char *reason,
                          enum hub_close why, const char *text)
{
    if (ss->closed)
        return;
    hub_enter(ss->hub);
    /* Close the open sockets one at a time, looking afresh each time: a
     * "disconnect" handler may itself close a sibling socket. */
    for (;;) {
        struct hub_socket *s = ss->sockets;
        while (s && s->state != SOCK_OPEN)
            s = s->next;
        if (!s)
            break;
        socket_close(s, reason, false);
    }
    ss->closed = true;
    timers_cancel(&ss->hub->timers, &ss->timer);
    drop_pending_bin(ss);
    if (why != 0)
        ss->hub->t.close(ss->peer, why, text);
    hub_exit(ss->hub);
}

/* A protocol violation: socket.io's reason for it is "parse error". The
 * transport passes the specific complaint on, for whoever debugs. */
static void session_fail(struct hub_session *ss, const char *why)
{
    session_close(ss, "parse error", HUB_CLOSE_PROTOCOL, why);
}

static struct hub_socket *session_socket(struct hub_session *ss,
                                         const char *nsp, size_t len)
{
    for (struct hub_socket *s = ss->sockets; s; s = s->next) {
        if (strlen(s->nsp->name) == len && memcmp(s->nsp->name, nsp, len) == 0)
            return s;
    }
    return NULL;
}

/* The client answered one of our hub_emit_ack events. */
static void on_client_ack(struct hub_socket *s, const struct sio_packet *pkt,
                          const struct hub_blob *bins, int nbins)
{
    for (size_t i = 0; i < s->nacks; i++) {
        if (s->acks[i].id != pkt->ack_id)
            continue;
        struct pending_ack a = s->acks[i];
        s->acks[i] = s->acks[--s->nacks];
        struct hub_args reply = {"", 0, bins, (size_t)nbins};
        sio_ack_args(pkt, &reply.json, &reply.len);
        a.cb(s, false, &reply, a.ud);
        return;
    }
    /* An unknown or late id: the timeout already answered; ignore it. */
}

/* One complete Socket.IO packet, with its attachments if it had any. */
static void on_packet(struct hub_session *ss, const char *text, size_t len,
                      const struct hub_blob *bins, int nbins)
{
    struct sio_packet pkt;
    const char *why;
    if (sio_parse(text, len, &pkt, &why) != 0) {
        session_fail(ss, why);
        return;
    }
    if (pkt.attachments > nbins) {
        /* Keep a copy of the text and wait for the binary frames. */
        struct pending_bin *b = calloc(1, sizeof *b);
        char *copy = malloc(len);
        if (!b || !copy) {
            free(b);
            free(copy);
            session_close(ss, "transport error", HUB_CLOSE_INTERNAL, "out of memory");
            return;
        }
        memcpy(copy, text, len);
        b->text = copy;
        b->len = len;
        b->need = pkt.attachments;
        b->bytes = len;
        ss->bin = b;
        return;
    }

    struct hub_socket *s = session_socket(ss, pkt.nsp, pkt.nsp_len);
    if (pkt.type == SIO_CONNECT) {
        if (s)
            return; /* already connected there: nothing to do */
        struct hub_nsp *nsp = find_nsp(ss->hub, pkt.nsp, pkt.nsp_len);
        if (!nsp) {
            /* 4/ns,{"message":"Invalid namespace"}; the session stays. */
            struct jbuf jb = {0};
            sio_encode(&jb, SIO_CONNECT_ERROR, pkt.nsp, pkt.nsp_len, 0, -1);
            jb_lit(&jb, "{\"message\":\"Invalid namespace\"}");
            send_jb(ss, &jb);
            return;
        }
        socket_open(ss, nsp, pkt.data, pkt.data_len);
        return;
    }
    if (!s) {
        /* socket.io closes a client that talks in a namespace it never
         * joined: the two sides no longer agree on the state. */
        session_fail(ss, "packet for a namespace not connected");
        return;
    }
    switch (pkt.type) {
    case SIO_DISCONNECT:
        socket_close(s, "client namespace disconnect", false);
        return;
    case SIO_EVENT:
    case SIO_BINARY_EVENT: {
        char name[SIO_MAX_EVENT_NAME + 1];
        struct hub_event ev = {name, {"", 0, bins, (size_t)nbins}, pkt.ack_id, false};
        if (sio_event(&pkt, name, sizeof name, &ev.args.json, &ev.args.len, &why) != 0) {
            session_fail(ss, why);
            return;
        }
        hub_fire(s->nsp, s, &ev);
        return;
    }
    case SIO_ACK:
    case SIO_BINARY_ACK:
        on_client_ack(s, &pkt, bins, nbins);
        return;
    default:
        session_fail(ss, "unexpected packet type");
        return;
    }
}

/* A binary frame: the next attachment of the packet that is waiting. */
static void on_attachment(struct hub_session *ss, const uint8_t *p, size_t n)
{
    struct pending_bin *b = ss->bin;
    if (!b) {
        session_fail(ss, "binary frame with no packet awaiting it");
        return;
    }
    if (n > ss->hub->opt.max_payload - b->bytes) {
        session_close(ss, "transport error", HUB_CLOSE_TOO_BIG,
                      "attachments over maxPayload");
        return;
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) {
        session_close(ss, "transport error", HUB_CLOSE_INTERNAL, "out of memory");
        return;
    }
    if (n)
        memcpy(copy, p, n);
    b->bins[b->have].data = copy;
    b->bins[b->have].len = n;
    b->have++;
    b->bytes += n;
    if (b->have < b->need)
        return;
    ss->bin = NULL;
    on_packet(ss, b->text, b->len, b->bins, b->have);
    for (int i = 0; i < b->have; i++)
        free((void *)b->bins[i].data);
    free(b->text);
    free(b);
}

/* One Engine.IO message arrived for the session: text is one Socket.IO
 * packet, binary is the next attachment of the packet that awaits them. */
void hub_session_message(struct hub_session *ss, bool binary,
                         const uint8_t *p, size_t n, int64_t now)
{
    struct hub *h = ss->hub;
    if (ss->closed)
        return;
    hub_enter(h);
    h->now = now;
    if (binary)
        on_attachment(ss, p, n);
    else if (ss->bin)
        session_fail(ss, "text message while attachments were due");
    else
        on_packet(ss, (const char *)p, n, NULL, 0);
    hub_exit(h);
}

/* The transport's session is gone (the client closed it, its connection
 * died, its heartbeat stopped, the server is shutting down): end the
 * session if it is still open, and free it once the hub is idle. After
 * this call the hub never mentions ss->peer again. */
void hub_session_gone(struct hub_session *ss, const char *reason)
{
    struct hub *h = ss->hub;
    hub_enter(h);
    session_close(ss, reason, 0, NULL);
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        h->sessions = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    ss->next = h->dead;
    h->dead = ss;
    hub_exit(h);
}

static void free_session(struct hub_session *ss)
{
    drop_pending_bin(ss);
    pool_release(&ss->hub->sessions_pool, ss);
}

/* Find one ack of ss past its deadline, take it off its list and run its
 * callback with timed_out. Returns true if there was one. One at a time,
 * because a callback may disconnect sockets and so change the lists. */
static bool expire_one_ack(struct hub_session *ss, int64_t now)
{
    for (struct hub_socket *s = ss->sockets; s; s = s->next) {
        for (size_t i = 0; s->state == SOCK_OPEN && i < s->nacks; i++) {
            if (now < s->acks[i].deadline)
                continue;
            struct pending_ack a = s->acks[i];
            s->acks[i] = s->acks[--s->nacks];
            a.cb(s, true, NULL, a.ud);
            return true;
        }
    }
    return false;
}

/* ss's timer is due. Before the first CONNECT it is the connect timeout
 * ("Connection to a namespace"); after, it answers every ack past its
 * deadline with timed_out, then is set for the earliest one left. */
static void session_timer(struct timer *t, int64_t now)
{
    struct hub_session *ss = (struct hub_session *)((char *)t - offsetof(struct hub_session, timer));
    if (!ss->connected) {
        session_close(ss, "connect timeout", HUB_CLOSE_TIMEOUT,
                      "no CONNECT within the connect timeout");
        return;
    }
    while (!ss->closed && expire_one_ack(ss, now))
        ;
    int64_t next = INT64_MAX;
    for (struct hub_socket *s = ss->sockets; s; s = s->next) {
        for (size_t i = 0; s->state == SOCK_OPEN && i < s->nacks; i++) {
            if (s->acks[i].deadline < next)
                next = s->acks[i].deadline;
        }
    }
    if (!ss->closed && next != INT64_MAX) /* a callback may have set it */
        timers_set(&ss->hub->timers, t, next);
}

/* Run every hub deadline that is due at `now`: connect timeouts and ack
 * timeouts. Costs one step per timer that fires; the heartbeat is the
 * transport's (engine.c). */
void hub_tick(struct hub *h, int64_t now)
{
    hub_enter(h);
    h->now = now;
    struct timer *t;
    while ((t = timers_pop(&h->timers, now)) != NULL)
        t->fire(t, now);
    hub_exit(h);
}

/* When hub_tick next has something to do (ms), or INT64_MAX. */
int64_t hub_next_timer(const struct hub *h)
{
    return timers_next(&h->timers);
}

/* ========================================================================
 * The hub
 * ======================================================================== */

struct hub *hub_new(const struct hub_transport *t, const struct hub_options *o)
{
    struct hub *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->t = *t;
    h->opt = *o;
    pool_init(&h->sessions_pool, sizeof(struct hub_session), 256);
    pool_init(&h->sockets_pool, sizeof(struct hub_socket), 256);
    if (RAND_bytes((unsigned char *)&h->seed, sizeof h->seed) != 1) {
        free(h);
        return NULL;
    }
    return h;
}

/* Free everything. Sessions still open are dropped without callbacks, so
 * call hub_shutdown first if handlers should hear about them. */
void hub_free(struct hub *h)
{
    if (!h)
        return;
    while (h->sessions) {
        struct hub_session *ss = h->sessions;
        h->sessions = ss->next;
        while (ss->sockets) {
            struct hub_socket *s = ss->sockets;
            ss->sockets = s->next;
            free_socket(s);
        }
        free_session(ss);
    }
    hub_flush(h); /* the graveyard and the dead sessions */
    while (h->nsps) {
        struct hub_nsp *n = h->nsps;
        h->nsps = n->next;
        for (size_t i = 0; i < n->nls; i++)
            free(n->ls[i].event);
        free(n->ls);
        for (size_t b = 0; b < n->rooms.nbuckets; b++) {
            while (n->rooms.buckets[b]) {
                struct hub_room *r = (struct hub_room *)n->rooms.buckets[b];
                n->rooms.buckets[b] = r->node.next;
                free(r->members);
                free(r);
            }
        }
        free(n->rooms.buckets);
        free(n->by_id.buckets);
        free(n->sockets);
        free(n->name);
        free(n);
    }
    jb_free(&h->scratch);
    timers_free(&h->timers);
    pool_free(&h->sessions_pool);
    pool_free(&h->sockets_pool);
    free(h);
}
