/* hub.c -- an event hub that speaks Socket.IO v5 on top of Engine.IO v4
 * SPDX-License-Identifier: MIT
 *
 * The transports (engine.c, over WebSocket or HTTP long-polling) turn
 * bytes into Engine.IO messages; this file turns messages into events.
 * Handlers register by name (hub_on), anyone fires events (hub_fire, or
 * a client's emit), an event may have many listeners, and whoever fires
 * one can get a direct answer (an ack), now or later (hub_ack_later).
 *
 * It owns the protocol above Engine.IO: Socket.IO v5's namespaces,
 * CONNECT/DISCONNECT, events, acks in both directions, binary
 * attachments that follow as their own messages ("Exchange protocol"),
 * and the connect timeout. The rest of the hub is in two more files,
 * sharing hub_private.h: room.c (rooms, selections, broadcasts, the
 * cluster's side) and middleware.c (what applications hook into this
 * flow). Engine.IO itself -- the open packet, the heartbeat, the close
 * packet, polling and the upgrade -- is engine.c's: the hub only hears
 * that a session changed transport (hub_session_upgraded).
 *
 * It never touches a socket. It writes through struct hub_transport and is
 * told the time, so test/unit_hub.c drives it with fake peers and a fake
 * clock. Its deadlines (connect timeouts, ack timeouts, applications'
 * timers) are timers in a heap of its own (timer.c): the loop asks
 * hub_next_timer() how long it may sleep and calls hub_tick() then, which
 * runs only what is due. A broadcast is encoded once, and the same bytes
 * are handed to every recipient.
 *
 * Deliberately left out: connection state recovery (socket.io's classic
 * Redis adapter does not offer it either).
 *
 * References: socket.io-protocol v5 ("Exchange protocol", "Packet
 * encoding", "Connection to a namespace"); engine.io-protocol v4
 * ("Message").
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "hub.h"
#include "hub_private.h"
#include "json.h"
#include "pool.h"
#include "sio.h"
#include "timer.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Frees and callbacks may not happen under a handler's feet: a handler
 * can disconnect the very socket whose event is being dispatched. So
 * closed objects wait in a list until the outermost call returns. */
void hub_enter(struct hub *h)
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

void hub_exit(struct hub *h)
{
    if (--h->depth > 0)
        return;
    hub_flush(h);
    if (h->scratch.cap > 65536) /* one big emit need not pin its memory */
        jb_free(&h->scratch);
}

/* ========================================================================
 * Encoding and sending
 * ======================================================================== */


/* Build an EVENT (event != NULL) or ACK packet into the scratch buffer.
 * Returns 0, or -1 if out of memory or over SIO_MAX_ATTACHMENTS. */
int hub_build(struct hub *h, struct outgoing *o, int type,
                 const struct hub_nsp *nsp, int64_t ack_id, const char *event,
                 const struct hub_args *a)
{
    struct jbuf *jb = &h->scratch;
    size_t nbins = a ? a->nbins : 0;
    if (nbins > SIO_MAX_ATTACHMENTS)
        return -1;
    jb_reset(jb);
    sio_encode(jb, type, nsp->name, strlen(nsp->name), (int)nbins, ack_id);
    jb_event(jb, event, a ? a->json : "", a ? a->len : 0);
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

void hub_deliver(struct hub_session *ss, const struct outgoing *o)
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

/* Send 4/nsp,{...} (CONNECT_ERROR) with the object json. */
void hub_connect_error(struct hub_session *ss, const char *nsp, size_t nsp_len,
                       const char *json)
{
    struct jbuf jb = {0};
    sio_encode(&jb, SIO_CONNECT_ERROR, nsp, nsp_len, 0, -1);
    jb_lit(&jb, json);
    send_jb(ss, &jb);
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
    if (hub_grow((void **)&nsp->ls, &nsp->lcap, nsp->nls, sizeof *nsp->ls) != 0)
        return -1;
    char *name = strdup(event);
    if (!name)
        return -1;
    nsp->ls[nsp->nls].event = name;
    nsp->ls[nsp->nls].fn = fn;
    nsp->ls[nsp->nls].server = NULL;
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
        if (!nsp->ls[i].fn || strcmp(nsp->ls[i].event, ev->name) != 0)
            continue; /* not this event, or a server-side listener */
        hub_handler *fn = nsp->ls[i].fn; /* ls may move if fn calls hub_on */
        void *ud = nsp->ls[i].ud;
        fn(s, ev, ud);
        ran++;
    }
    hub_exit(nsp->hub);
    return ran;
}

/* ========================================================================
 * Emitting
 * ======================================================================== */

/* Send event to one socket. */
void hub_emit(struct hub_socket *s, const char *event, const struct hub_args *a)
{
    struct outgoing o;
    if (s->state == SOCK_CLOSED || hub_build(s->nsp->hub, &o, SIO_EVENT, s->nsp, -1, event, a) != 0)
        return;
    hub_deliver(s->ss, &o);
    hub_notify_outgoing(s, event, a);
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
    if (hub_grow((void **)&s->acks, &s->ackcap, s->nacks, sizeof *s->acks) != 0)
        return -1;
    struct outgoing o;
    int64_t id = s->next_ack_id;
    if (hub_build(s->nsp->hub, &o, SIO_EVENT, s->nsp, id, event, a) != 0)
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
    hub_deliver(s->ss, &o);
    hub_notify_outgoing(s, event, a);
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
    if (hub_build(s->nsp->hub, &o, SIO_ACK, s->nsp, ev->ack_id, NULL, reply) != 0)
        return;
    hub_deliver(s->ss, &o);
}

/* An answer promised now and given later: to a client's ack (s's ack
 * ack_id), or to another node's server-side event (token). It names the
 * socket by id, not by pointer, so it stays safe to use after the socket
 * is gone: the answer is then dropped. */
struct hub_reply {
    struct hub_nsp *nsp;
    char sid[21];     /* the socket's id; "" for a server-side answer */
    int64_t ack_id;   /* the client's ack id */
    char token[];     /* the adapter's request, NUL-terminated */
};

struct hub_reply *hub_reply_new(struct hub_nsp *nsp, struct hub_socket *s,
                                int64_t ack_id, const char *token)
{
    size_t n = token ? strlen(token) : 0;
    struct hub_reply *r = calloc(1, sizeof *r + n + 1);
    if (!r)
        return NULL;
    r->nsp = nsp;
    if (s)
        memcpy(r->sid, s->id, sizeof r->sid);
    r->ack_id = ack_id;
    if (token)
        memcpy(r->token, token, n + 1);
    return r;
}

/* Keep ev's ack to answer after the handler returns, for an answer that
 * must wait (on other nodes, say). The hub answers nothing for ev
 * itself; the caller must pass the handle to hub_reply_send or
 * hub_reply_drop exactly once. Returns NULL if ev asked for no ack (or
 * was answered already), or if out of memory. */
struct hub_reply *hub_ack_later(struct hub_socket *s, struct hub_event *ev)
{
    if (ev->ack_id < 0 || ev->acked || s->state == SOCK_CLOSED)
        return NULL;
    struct hub_reply *r = hub_reply_new(s->nsp, s, ev->ack_id, NULL);
    if (r)
        ev->acked = true;
    return r;
}

/* Give the promised answer (a: NULL for none) and free r. If the socket
 * has gone meanwhile, nothing is sent. */
void hub_reply_send(struct hub_reply *r, const struct hub_args *a)
{
    struct hub_nsp *nsp = r->nsp;
    struct hub *h = nsp->hub;
    if (r->sid[0] == '\0') {
        if (h->adapter)
            h->adapter->server_reply(h->adapter_ud, nsp, r->token, a);
    } else {
        struct hub_socket *s = hub_find_socket(nsp, r->sid);
        struct outgoing o;
        if (s && s->state == SOCK_OPEN &&
            hub_build(h, &o, SIO_ACK, nsp, r->ack_id, NULL, a) == 0)
            hub_deliver(s->ss, &o);
    }
    free(r);
}

/* Give up on the promised answer and free r. */
void hub_reply_drop(struct hub_reply *r)
{
    free(r);
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
void hub_socket_open(struct hub_session *ss, struct hub_nsp *nsp,
                     const char *auth, size_t auth_len)
{
    struct hub_socket *s = pool_alloc(&ss->hub->sockets_pool);
    if (!s || hub_random_id(s->id) != 0 ||
        hub_grow((void **)&nsp->sockets, &nsp->scap, nsp->nsockets, sizeof *nsp->sockets) != 0) {
        if (s)
            pool_release(&ss->hub->sockets_pool, s);
        ss->hub->t.close(ss->peer, HUB_CLOSE_INTERNAL, "out of memory");
        return;
    }
    s->node.key = s->id;
    if (auth_len > 0 && !(auth_len == 2 && memcmp(auth, "{}", 2) == 0)) {
        s->auth = malloc(auth_len + 1); /* kept for handshake.auth */
        if (s->auth) {
            memcpy(s->auth, auth, auth_len);
            s->auth[auth_len] = '\0';
        }
    }
    if (map_add(&nsp->by_id, ss->hub->seed, &s->node) != 0) {
        free(s->auth);
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
    struct hub *h = ss->hub;
    if (h->obs && h->obs->connected && s->state == SOCK_OPEN)
        h->obs->connected(h->obs_ud, s);
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
    if (h->obs && h->obs->disconnected)
        h->obs->disconnected(h->obs_ud, s, reason);

    if (tell_client) {
        struct jbuf jb = {0};
        sio_encode(&jb, SIO_DISCONNECT, s->nsp->name, strlen(s->nsp->name), 0, -1);
        send_jb(s->ss, &jb);
    }
    s->state = SOCK_CLOSED;
    while (s->nrooms > 0)
        hub_leave_at(s, s->nrooms - 1);
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
    free(s->auth);
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
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    ss->issued = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    ss->timer.fire = session_timer;
    if (timers_set(&h->timers, &ss->timer, now + h->opt.connect_timeout) != 0) {
        pool_release(&h->sessions_pool, ss);
        return NULL;
    }
    ss->next = h->sessions;
    if (h->sessions)
        h->sessions->prev = ss;
    h->sessions = ss;
    h->nsessions++;
    return ss;
}

/* Keep what the transport knew of the request that opened ss (the
 * address, the URL, the header fields in HUB_HANDSHAKE_HEADERS), packed
 * in one allocation. Returns 0, or -1 if out of memory (the session
 * then shows an empty handshake). */
int hub_session_handshake(struct hub_session *ss, const struct hub_handshake *hs)
{
    static const char *const keep[] = {HUB_HANDSHAKE_HEADERS};
    size_t alen = strlen(hs->address), need = alen + 1 + hs->url_len + 1 + 1;
    for (size_t i = 0; i < hs->nheaders; i++)
        need += hs->headers[i].name_len + 1 + hs->headers[i].value_len + 1;
    char *p = need <= sizeof ss->hs_inline ? ss->hs_inline : malloc(need), *w = p;
    if (!p)
        return -1;
    memcpy(w, hs->address, alen + 1);
    w += alen + 1;
    memcpy(w, hs->url, hs->url_len);
    w += hs->url_len;
    *w++ = '\0';
    for (size_t i = 0; i < hs->nheaders; i++) {
        const struct hub_header *f = &hs->headers[i];
        bool wanted = false;
        for (size_t k = 0; k < sizeof keep / sizeof keep[0] && !wanted; k++)
            wanted = strlen(keep[k]) == f->name_len && strncasecmp(keep[k], f->name, f->name_len) == 0;
        if (!wanted || f->value_len > HUB_MAX_HEADER || memchr(f->value, '\0', f->value_len))
            continue;
        for (size_t k = 0; k < f->name_len; k++) /* Node shows them lower case */
            *w++ = (char)tolower((unsigned char)f->name[k]);
        *w++ = '\0';
        memcpy(w, f->value, f->value_len);
        w += f->value_len;
        *w++ = '\0';
    }
    *w++ = '\0';
    if (ss->handshake != ss->hs_inline)
        free(ss->handshake);
    ss->handshake = p;
    if (p != ss->hs_inline && (size_t)(w - p) <= sizeof ss->hs_inline) {
        memcpy(ss->hs_inline, p, (size_t)(w - p)); /* fits, once trimmed */
        free(p);
        ss->handshake = ss->hs_inline;
    }
    ss->secure = hs->secure;
    return 0;
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
    hub_connect_cancel_all(ss);
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
        if (s || hub_connect_pending(ss, pkt.nsp, pkt.nsp_len))
            return; /* already connected there (or about to be) */
        struct hub_nsp *nsp = find_nsp(ss->hub, pkt.nsp, pkt.nsp_len);
        if (!nsp)
            nsp = hub_dynamic_nsp(ss->hub, pkt.nsp, pkt.nsp_len);
        if (!nsp) {
            /* 4/ns,{"message":"Invalid namespace"}; the session stays. */
            hub_connect_error(ss, pkt.nsp, pkt.nsp_len, "{\"message\":\"Invalid namespace\"}");
            return;
        }
        hub_connect_begin(ss, nsp, pkt.data, pkt.data_len);
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
        if (!hub_filter_event(s, &ev)) /* packet middleware, onAny */
            return;
        if (ss->hub->obs && ss->hub->obs->received)
            ss->hub->obs->received(ss->hub->obs_ud, s, &ev);
        if (s->state == SOCK_OPEN)
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
    h->nsessions--;
    if (ss->next)
        ss->next->prev = ss->prev;
    ss->next = h->dead;
    h->dead = ss;
    hub_exit(h);
}

/* The transport moved the session to another transport (an upgrade):
 * whoever watches hears it for each socket. */
void hub_session_upgraded(struct hub_session *ss)
{
    struct hub *h = ss->hub;
    if (!h->obs || !h->obs->upgraded || ss->closed)
        return;
    hub_enter(h);
    for (struct hub_socket *s = ss->sockets; s; s = s->next) {
        if (s->state == SOCK_OPEN)
            h->obs->upgraded(h->obs_ud, s);
    }
    hub_exit(h);
}

static void free_session(struct hub_session *ss)
{
    drop_pending_bin(ss);
    if (ss->handshake != ss->hs_inline)
        free(ss->handshake);
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
        hub_hooks_free(&n->use);
        hub_hooks_free(&n->filters);
        hub_hooks_free(&n->any);
        hub_hooks_free(&n->any_out);
        for (size_t b = 0; b < n->rooms.nbuckets; b++) {
            while (n->rooms.buckets[b]) {
                struct hub_room *r = (struct hub_room *)n->rooms.buckets[b];
                n->rooms.buckets[b] = r->node.next;
                free(r->members);
                free(r);
            }
        }
        map_free(&n->rooms);
        map_free(&n->by_id);
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
