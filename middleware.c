/* middleware.c -- what applications hook into the hub's flow: middleware, catch-all listeners, dynamic namespaces
 * SPDX-License-Identifier: MIT
 *
 * socket.io lets an application stand in the way of what arrives:
 *
 *   io.use((socket, next) => ...)      hub_use(nsp, fn, ud): each CONNECT
 *                                      to nsp passes every middleware, in
 *                                      order, before the socket exists;
 *                                      hub_refuse() answers CONNECT_ERROR
 *                                      {"message", "data"}, which the
 *                                      client sees as connect_error
 *   socket.use(([ev, ...], next) => ...)  hub_use_packet(nsp, fn, ud):
 *                                      each event, before any handler
 *   socket.onAny(fn), prependAny, offAny, onAnyOutgoing
 *                                      hub_on_any(nsp, fn, ud) and the rest
 *   io.of(/^\/team-\d+$/)              hub_on_new_nsp(h, factory, ud)
 *
 * Simplifications, named: packet middleware and the catch-all listeners
 * are per namespace (the same for every socket in it, which is how apps
 * register them: in "connection", for every socket), not per socket, so
 * 10,000 sockets do not each carry a list. A packet middleware answers
 * at once (true or false), not through next() later.
 *
 * A middleware may answer after it returns (an auth server to ask, a
 * database): the struct hub_connect it was given stays valid until
 * hub_accept or hub_refuse, even when the session ends meanwhile (it is
 * then only freed). The connect timeout still runs: a session that is
 * never accepted anywhere is closed at --connect-timeout.
 *
 * References: socket.io-protocol v5 "Connection to a namespace" (the
 * CONNECT_ERROR packet); socket.io's docs, "Middlewares", "Catch-all
 * listeners", "Dynamic namespaces".
 */
#include "hub.h"
#include "hub_private.h"
#include "json.h"
#include "sio.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A CONNECT passing through its namespace's middleware. */
struct hub_connect {
    struct hub_session *ss;    /* NULL once the session has ended */
    struct hub_nsp *nsp;
    char *auth;                /* the CONNECT's payload, copied */
    size_t auth_len;
    size_t next;               /* the middleware to run next */
    struct hub_connect *link;  /* the session's other pending CONNECTs */
};

/* ========================================================================
 * Hook lists
 * ======================================================================== */

static int hooks_add(struct hooks *hs, void (*fn)(void), void *ud, bool first)
{
    if (hub_grow((void **)&hs->v, &hs->cap, hs->n, sizeof *hs->v) != 0)
        return -1;
    if (first)
        memmove(hs->v + 1, hs->v, hs->n * sizeof *hs->v);
    hs->v[first ? 0 : hs->n] = (struct hook){fn, ud};
    hs->n++;
    return 0;
}

static void hooks_remove(struct hooks *hs, void (*fn)(void))
{
    for (size_t i = 0; i < hs->n; i++) {
        if (hs->v[i].fn == fn) {
            memmove(hs->v + i, hs->v + i + 1, (hs->n - i - 1) * sizeof *hs->v);
            hs->n--;
            return;
        }
    }
}

void hub_hooks_free(struct hooks *hs)
{
    free(hs->v);
    memset(hs, 0, sizeof *hs);
}

/* ========================================================================
 * Connection middleware
 * ======================================================================== */

/* Add fn to the middleware every CONNECT to nsp goes through, after the
 * ones added before. Returns 0, or -1 if out of memory. */
int hub_use(struct hub_nsp *nsp, hub_middleware *fn, void *ud)
{
    return hooks_add(&nsp->use, (void (*)(void))fn, ud, false);
}

bool hub_connect_pending(const struct hub_session *ss, const char *nsp, size_t len)
{
    for (const struct hub_connect *c = ss->pending; c; c = c->link) {
        if (strlen(c->nsp->name) == len && memcmp(c->nsp->name, nsp, len) == 0)
            return true;
    }
    return false;
}

static void unlink_connect(struct hub_connect *c)
{
    if (!c->ss)
        return;
    for (struct hub_connect **p = &c->ss->pending; *p; p = &(*p)->link) {
        if (*p == c) {
            *p = c->link;
            break;
        }
    }
    c->ss = NULL;
}

static void free_connect(struct hub_connect *c)
{
    unlink_connect(c);
    free(c->auth);
    free(c);
}

/* Run the next middleware of c, or, after the last, open the socket. */
static void run_next(struct hub_connect *c)
{
    struct hub_nsp *nsp = c->nsp;
    if (c->next < nsp->use.n) {
        struct hook k = nsp->use.v[c->next++];
        struct hub_args auth = {c->auth, c->auth_len, NULL, 0};
        ((hub_middleware *)k.fn)(c, &auth, k.ud);
        return;
    }
    struct hub_session *ss = c->ss;
    unlink_connect(c);
    hub_socket_open(ss, nsp, c->auth, c->auth_len);
    free_connect(c);
}

/* A CONNECT to nsp has come: through the middleware, or straight in. */
void hub_connect_begin(struct hub_session *ss, struct hub_nsp *nsp,
                       const char *auth, size_t auth_len)
{
    if (nsp->use.n == 0) {
        hub_socket_open(ss, nsp, auth, auth_len);
        return;
    }
    struct hub_connect *c = calloc(1, sizeof *c);
    if (!c || !(c->auth = malloc(auth_len ? auth_len : 2))) {
        free(c);
        ss->hub->t.close(ss->peer, HUB_CLOSE_INTERNAL, "out of memory");
        return;
    }
    memcpy(c->auth, auth_len ? auth : "{}", auth_len ? auth_len : 2);
    c->auth_len = auth_len ? auth_len : 2;
    c->ss = ss;
    c->nsp = nsp;
    c->link = ss->pending;
    ss->pending = c;
    hub_enter(ss->hub);
    run_next(c);
    hub_exit(ss->hub);
}

/* The middleware lets c through: on to the next one, or into nsp. If the
 * session has ended meanwhile, c is only freed. */
void hub_accept(struct hub_connect *c)
{
    if (!c->ss || c->ss->closed) {
        free_connect(c);
        return;
    }
    struct hub *h = c->ss->hub;
    hub_enter(h);
    run_next(c);
    hub_exit(h);
}

/* The middleware refuses c: the client gets CONNECT_ERROR
 * {"message":message,"data":data} (data: JSON text, or NULL for none) and
 * its connect_error has err.message and err.data. The session stays. */
void hub_refuse(struct hub_connect *c, const char *message, const char *data)
{
    if (c->ss && !c->ss->closed) {
        struct jbuf jb = {0};
        jb_lit(&jb, "{\"message\":");
        jb_str(&jb, message, strlen(message));
        if (data && json_scan(data, strlen(data), -1) == (long)strlen(data)) {
            jb_lit(&jb, ",\"data\":");
            jb_lit(&jb, data);
        }
        jb_lit(&jb, "}");
        if (!jb.oom) {
            jb_raw(&jb, "", 1); /* a NUL, for hub_connect_error */
            hub_connect_error(c->ss, c->nsp->name, strlen(c->nsp->name), jb.p);
        }
        jb_free(&jb);
    }
    free_connect(c);
}

/* The session ended: its pending CONNECTs wait only for their answer. */
void hub_connect_cancel_all(struct hub_session *ss)
{
    while (ss->pending) {
        struct hub_connect *c = ss->pending;
        ss->pending = c->link;
        c->ss = NULL;
    }
}

/* ---- what a middleware may look at: socket.handshake -------------------- */

struct hub_nsp *hub_connect_nsp(const struct hub_connect *c)
{
    return c->nsp;
}

/* The client's address, "" if the transport did not say (or the session
 * has ended). */
const char *hub_connect_address(const struct hub_connect *c)
{
    return c->ss && c->ss->handshake ? c->ss->handshake : "";
}

/* The URL of the request that opened the session, query included. */
const char *hub_connect_url(const struct hub_connect *c)
{
    if (!c->ss || !c->ss->handshake)
        return "";
    return c->ss->handshake + strlen(c->ss->handshake) + 1;
}

/* A header field of that request, by name in any case, or NULL; only
 * those in HUB_HANDSHAKE_HEADERS are kept. */
const char *hub_connect_header(const struct hub_connect *c, const char *name)
{
    if (!c->ss || !c->ss->handshake)
        return NULL;
    const char *url = hub_connect_url(c);
    for (const char *f = url + strlen(url) + 1; *f;) {
        const char *v = f + strlen(f) + 1;
        if (strcasecmp(f, name) == 0)
            return v;
        f = v + strlen(v) + 1;
    }
    return NULL;
}

/* ========================================================================
 * Packet middleware and catch-all listeners
 * ======================================================================== */

int hub_use_packet(struct hub_nsp *nsp, hub_packet_filter *fn, void *ud)
{
    return hooks_add(&nsp->filters, (void (*)(void))fn, ud, false);
}

int hub_on_any(struct hub_nsp *nsp, hub_handler *fn, void *ud)
{
    return hooks_add(&nsp->any, (void (*)(void))fn, ud, false);
}

int hub_prepend_any(struct hub_nsp *nsp, hub_handler *fn, void *ud)
{
    return hooks_add(&nsp->any, (void (*)(void))fn, ud, true);
}

void hub_off_any(struct hub_nsp *nsp, hub_handler *fn)
{
    hooks_remove(&nsp->any, (void (*)(void))fn);
}

int hub_on_any_outgoing(struct hub_nsp *nsp, hub_handler *fn, void *ud)
{
    return hooks_add(&nsp->any_out, (void (*)(void))fn, ud, false);
}

void hub_off_any_outgoing(struct hub_nsp *nsp, hub_handler *fn)
{
    hooks_remove(&nsp->any_out, (void (*)(void))fn);
}

/* An event from s is about to reach its handlers: the packet middleware
 * first (any may drop it), then the onAny listeners, as socket.io runs
 * them. Returns true if the handlers should run. A hook that closes s
 * stops the rest. */
bool hub_filter_event(struct hub_socket *s, struct hub_event *ev)
{
    struct hub_nsp *nsp = s->nsp;
    for (size_t i = 0; i < nsp->filters.n; i++) {
        struct hook k = nsp->filters.v[i];
        if (!((hub_packet_filter *)k.fn)(s, ev, k.ud) || s->state != SOCK_OPEN)
            return false;
    }
    for (size_t i = 0; i < nsp->any.n && s->state == SOCK_OPEN; i++) {
        struct hook k = nsp->any.v[i];
        ((hub_handler *)k.fn)(s, ev, k.ud);
    }
    return s->state == SOCK_OPEN;
}

/* An event was just sent to s alone (hub_emit, hub_emit_ack): tell the
 * onAnyOutgoing listeners. Broadcasts do not, as in socket.io. */
void hub_notify_outgoing(struct hub_socket *s, const char *event,
                         const struct hub_args *a)
{
    struct hub_nsp *nsp = s->nsp;
    struct hub *h = nsp->hub;
    if (h->obs && h->obs->sent)
        h->obs->sent(h->obs_ud, s, event, a);
    if (nsp->any_out.n == 0)
        return;
    struct hub_event ev = {event, a ? *a : hub_json(""), -1, true};
    for (size_t i = 0; i < nsp->any_out.n; i++) {
        struct hook k = nsp->any_out.v[i];
        ((hub_handler *)k.fn)(s, &ev, k.ud);
    }
}

/* ========================================================================
 * Dynamic namespaces
 * ======================================================================== */

/* Namespaces that exist on demand: on a CONNECT to a name the hub does
 * not know, fn may make it (or refuse, NULL). One factory per hub. */
void hub_on_new_nsp(struct hub *h, hub_nsp_factory *fn, void *ud)
{
    h->factory = fn;
    h->factory_ud = ud;
}

struct hub_nsp *hub_dynamic_nsp(struct hub *h, const char *name, size_t len)
{
    char buf[SIO_MAX_NSP + 1];
    if (!h->factory || len == 0 || len > SIO_MAX_NSP || memchr(name, '\0', len))
        return NULL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    struct hub_nsp *nsp = h->factory(h, buf, h->factory_ud);
    if (nsp && h->adapter && h->adapter->nsp_created)
        h->adapter->nsp_created(h->adapter_ud, nsp);
    return nsp;
}
