/* bayeux.c -- Bayeux 1.0 as faye speaks it, with no I/O
 * SPDX-License-Identifier: MIT
 *
 * Owns the sessions (struct bx_client, by clientId), the channels that
 * have subscribers (struct bx_channel, by name, each with its clients),
 * each session's queue of deliveries, and the held /meta/connect that
 * carries them. It answers the five meta channels and routes publishes;
 * how bytes arrive and leave is the transport's business (bayeux.h).
 *
 * A publish to /a/b/c is routed by looking up the few names that can
 * match it -- /a/b/c, /a/b/{*}, /a/b/{**}, /a/{**}, /{**} -- so its cost is the
 * number of segments plus the number of receivers, not the number of
 * subscriptions. Each receiver gets it once however many of its
 * patterns match (§6), checked with a per-publish mark.
 *
 * Where wshub is stricter than faye, on purpose, and named:
 *   - a publish must carry the clientId of a live session, and on a
 *     WebSocket bound to a client, that client's (faye checks neither);
 *   - a delivery is {channel, data, id}: the publisher's ext (often a
 *     token) and unknown fields never reach other subscribers;
 *   - a second connect while one is held answers the first at once
 *     (faye never answers it, §5);
 *   - a connect is held at most the server's timeout, whatever it asks;
 *   - in one batch, the meta messages are handled before the publishes
 *     (see bx_input: faye's clients put a subscribe behind a publish
 *     made just after it);
 *   - the limits in struct bx_limits.
 * Not done: the eventsource transport (not advertised, §2), in-process
 * clients, and faye's "interval" advice other than 0.
 *
 * (In comments here a wildcard segment is written {*} or {**}: a C
 * comment cannot hold a slash followed by a star.)
 *
 * References: ../shared/specs/bayeux-faye.md §3 (processing, errors),
 * §4 (meta channels), §5 (held connects, sessions), §6 (channels), §7
 * (extensions).
 */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include "bayeux.h"
#include "map.h"
#include "timer.h"

#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BX_MAX_EXTENSIONS 8 /* extensions one server may add */
#define BX_MAX_HANDLERS 8   /* server-side channel prefixes */
#define BX_ERR_LEN 512      /* an error string: "code:params:text" */

/* The connection types we accept (§2, "Advice for wshub"): the HTTP
 * ones a handshake may use, and websocket. Not eventsource: it is not
 * advertised, so clients never choose it. */
static const char *const conn_types[] = {
    "long-polling", "cross-origin-long-polling", "callback-polling", "websocket",
};
#define NTYPES (sizeof conn_types / sizeof conn_types[0])

/* A channel with at least one subscriber. */
struct bx_channel {
    struct map_node node;    /* key: name; in bx->channels */
    struct bx_client **subs; /* subs[0..n): each client once */
    size_t n, cap;
    char name[];             /* NUL-terminated */
};

struct bx_client {
    struct map_node node;        /* key: id; in bx->clients */
    struct bx *bx;               /* the engine, for the timer's callback */
    char id[BX_ID_LEN + 1];      /* 31 characters of [0-9a-z] */
    struct bx_channel **chans;   /* subscribed to, chans[0..nchans) */
    size_t nchans, capchans;
    struct jbuf queue;           /* deliveries waiting, objects comma-joined */
    struct bx_port *held;        /* the port holding our connect, or NULL */
    char *held_id;               /* that connect's "id" value, JSON, or NULL */
    int64_t release_at;          /* ms: answer the held connect then */
    int64_t expires_at;          /* ms: the session ends then (§5: two
                                  * timeouts after a handshake or connect) */
    struct bx_port *socket;      /* the WebSocket bound to us, or NULL */
    struct timer timer;          /* at the earlier of the two times */
    uint64_t mark;               /* the last publish epoch that reached us */
    bool dirty;                  /* on bx->dirty: queue or held to flush */
    struct bx_client *next_dirty;
};

struct bx_handler {
    char prefix[BX_MAX_CHANNEL + 1]; /* e.g. "/chat/" */
    bx_channel_handler *fn;
    void *ud;
};

struct bx {
    struct bx_limits lim;
    uint32_t seed;               /* hash seed, from RAND_bytes */
    struct map clients;          /* clientId -> struct bx_client */
    struct map channels;         /* name -> struct bx_channel */
    struct timers timers;        /* every client's timer */
    uint64_t epoch;              /* one per publish, for "once each" */
    unsigned long long published; /* server-side publishes, for their ids */
    struct bx_client *dirty;     /* clients with something to hand out */
    struct bx_extension ext[BX_MAX_EXTENSIONS];
    size_t next;
    struct bx_handler handlers[BX_MAX_HANDLERS];
    size_t nhandlers;
    size_t batch;                /* messages in the batch being handled */
    int64_t now;                 /* ms: the batch's time */
};

static bool is_meta(const char *ch)
{
    return strncmp(ch, "/meta/", 6) == 0;
}

static bool is_service(const char *ch)
{
    return strncmp(ch, "/service/", 9) == 0;
}

/* ========================================================================
 * Sessions
 * ======================================================================== */

static struct bx_client *find_client(struct bx *bx, const char *id)
{
    if (!id[0])
        return NULL;
    return (struct bx_client *)map_find(&bx->clients, bx->seed, id);
}

/* 160 random bits written in base 36, left-padded with '0' to 31
 * characters (util/random.js): divide the 20-byte number by 36 again
 * and again, each remainder one digit from the right. */
static int new_client_id(char out[BX_ID_LEN + 1])
{
    unsigned char n[20];
    if (RAND_bytes(n, sizeof n) != 1)
        return -1;
    for (int d = BX_ID_LEN - 1; d >= 0; d--) {
        unsigned rem = 0;
        for (size_t i = 0; i < sizeof n; i++) {
            unsigned cur = rem * 256 + n[i];
            n[i] = (unsigned char)(cur / 36);
            rem = cur % 36;
        }
        out[d] = "0123456789abcdefghijklmnopqrstuvwxyz"[rem];
    }
    out[BX_ID_LEN] = '\0';
    return 0;
}

/* Put c on the list flushed at the end of the turn. */
static void mark_dirty(struct bx_client *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->next_dirty = c->bx->dirty;
    c->bx->dirty = c;
}

static void client_arm(struct bx_client *c)
{
    int64_t next = c->expires_at;
    if (c->held && c->release_at < next)
        next = c->release_at;
    if (timers_set(&c->bx->timers, &c->timer, next) != 0)
        fprintf(stderr, "wshub: bayeux: out of memory arming a timer\n");
}

/* Take c out of one channel's list; forget the channel once empty. */
static void channel_drop(struct bx *bx, struct bx_channel *ch, struct bx_client *c)
{
    for (size_t i = 0; i < ch->n; i++) {
        if (ch->subs[i] == c) {
            ch->subs[i] = ch->subs[--ch->n];
            break;
        }
    }
    if (ch->n == 0) {
        map_del(&bx->channels, &ch->node);
        free(ch->subs);
        free(ch);
    }
}

static void release(struct bx_client *c);

/* End c's session: unsubscribe it everywhere, answer a held connect,
 * drop its queue and free it. */
static void client_destroy(struct bx_client *c, const char *why)
{
    struct bx *bx = c->bx;
    if (why)
        fprintf(stderr, "wshub: bayeux client %s: %s\n", c->id, why);
    if (c->held) {
        jb_reset(&c->queue); /* nothing more is delivered to a gone session */
        release(c);
    }
    if (c->socket)
        c->socket->bound = NULL;
    for (size_t i = 0; i < c->nchans; i++)
        channel_drop(bx, c->chans[i], c);
    free(c->chans);
    if (c->dirty) { /* unlink from the dirty list */
        struct bx_client **p = &bx->dirty;
        while (*p != c)
            p = &(*p)->next_dirty;
        *p = c->next_dirty;
    }
    timers_cancel(&bx->timers, &c->timer);
    map_del(&bx->clients, &c->node);
    jb_free(&c->queue);
    free(c->held_id);
    free(c);
}

static void client_fire(struct timer *t, int64_t now);

/* A new session, or NULL (out of memory, or max_clients reached). */
static struct bx_client *client_new(struct bx *bx)
{
    if (bx->clients.count >= bx->lim.max_clients)
        return NULL;
    struct bx_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->bx = bx;
    do {
        if (new_client_id(c->id) != 0) {
            free(c);
            return NULL;
        }
    } while (find_client(bx, c->id)); /* unique, as faye checks */
    c->node.key = c->id;
    c->timer.fire = client_fire;
    c->expires_at = bx->now + 2 * (int64_t)bx->lim.timeout_ms;
    if (map_add(&bx->clients, bx->seed, &c->node) != 0) {
        free(c);
        return NULL;
    }
    client_arm(c);
    return c;
}

/* ========================================================================
 * Replies
 * ======================================================================== */

/* The advice on handshake and connect replies (§4, _advize). */
static void jb_advice(struct jbuf *jb, const struct bx *bx, bool failed)
{
    if (failed) {
        jb_lit(jb, ",\"advice\":{\"reconnect\":\"handshake\"}");
        return;
    }
    jb_lit(jb, ",\"advice\":{\"reconnect\":\"retry\",\"interval\":0,\"timeout\":");
    jb_int(jb, bx->lim.timeout_ms);
    jb_lit(jb, "}");
}

/* Open a reply as faye's _makeResponse does: id, clientId (if asked and
 * keep_client), channel, error (if any) and successful. The caller adds
 * its fields and the closing brace. */
static void reply_open(struct jbuf *jb, const struct bx_message *m, const char *err,
                       bool keep_client)
{
    jb_lit(jb, "{");
    if (m->id) {
        jb_lit(jb, "\"id\":");
        jb_raw(jb, m->id, m->id_len);
        jb_lit(jb, ",");
    }
    if (m->client_id_json && keep_client) {
        jb_lit(jb, "\"clientId\":");
        jb_raw(jb, m->client_id_json, m->client_id_json_len);
        jb_lit(jb, ",");
    }
    jb_lit(jb, "\"channel\":");
    jb_str(jb, m->channel, strlen(m->channel));
    if (err && err[0]) {
        jb_lit(jb, ",\"error\":");
        jb_str(jb, err, strlen(err));
    }
    jb_lit(jb, err && err[0] ? ",\"successful\":false" : ",\"successful\":true");
}

/* Send items (message objects, comma-joined) to p as one JSON array: a
 * frame on a socket, or a request's one answer, after which the request
 * is marked answered (the transport may free it inside send). */
static void send_array(struct bx_port *p, const char *items, size_t len)
{
    struct jbuf f = {0};
    jb_lit(&f, "[");
    jb_raw(&f, items, len);
    jb_lit(&f, "]");
    if (!p->socket)
        p->answered = true;
    if (!f.oom)
        p->ops->send(p, f.p, f.len);
    jb_free(&f);
}

/* Add one finished reply object to the batch's replies. */
static void add_reply(struct jbuf *replies, const struct jbuf *one)
{
    if (replies->len > 0)
        jb_lit(replies, ",");
    jb_raw(replies, one->p, one->len);
}

/* Answer c's held connect: the connect's reply, and on a request the
 * deliveries queued behind it (on a socket they went out already).
 * The port is done with c afterwards. */
static void release(struct bx_client *c)
{
    struct bx_port *p = c->held;
    struct jbuf r = {0};
    jb_lit(&r, "{");
    if (c->held_id) {
        jb_lit(&r, "\"id\":");
        jb_lit(&r, c->held_id);
        jb_lit(&r, ",");
    }
    jb_lit(&r, "\"clientId\":");
    jb_str(&r, c->id, strlen(c->id));
    jb_lit(&r, ",\"channel\":\"/meta/connect\",\"successful\":true");
    jb_advice(&r, c->bx, false);
    jb_lit(&r, "}");
    c->held = NULL;
    free(c->held_id);
    c->held_id = NULL;
    p->held = NULL;
    if (p->socket) {
        send_array(p, r.p, r.len);
    } else {
        add_reply(&p->answer, &r);
        if (c->queue.len > 0) {
            jb_lit(&p->answer, ",");
            jb_raw(&p->answer, c->queue.p, c->queue.len);
            jb_reset(&c->queue);
        }
        send_array(p, p->answer.p, p->answer.len);
    }
    jb_free(&r);
}

/* ========================================================================
 * Delivery
 * ======================================================================== */

/* Queue one delivery for c, if every outgoing extension lets it pass. */
static void deliver(struct bx *bx, struct bx_client *c, const char *channel,
                    const char *msg, size_t len)
{
    for (size_t k = 0; k < bx->next; k++) {
        if (bx->ext[k].outgoing && !bx->ext[k].outgoing(bx->ext[k].ud, c, channel, msg, len))
            return;
    }
    if (c->queue.len + len + 1 > bx->lim.max_queue) {
        client_destroy(c, "deliveries over the queue limit, session ended");
        return;
    }
    if (c->queue.len > 0)
        jb_lit(&c->queue, ",");
    jb_raw(&c->queue, msg, len);
    if (c->queue.oom) {
        client_destroy(c, "out of memory queueing a delivery");
        return;
    }
    mark_dirty(c);
}

/* Hand msg to every client subscribed to a pattern that matches channel,
 * each once: the exact name, then for each prefix P of its segments
 * P/{**}, and for the last prefix P/{*} (see the top of the file). */
static void route(struct bx *bx, const char *channel, const char *msg, size_t len)
{
    char pat[BX_MAX_CHANNEL + 4];
    size_t n = strlen(channel);
    size_t last = 0; /* where the last segment's '/' is */
    for (size_t i = 0; i < n; i++)
        if (channel[i] == '/')
            last = i;
    bx->epoch++;
    for (size_t i = 0; i <= n; i++) {
        const char *name;
        if (i == n) {
            name = channel;
        } else if (channel[i] == '/') {
            memcpy(pat, channel, i);
            strcpy(pat + i, "/**");
            name = pat;
        } else {
            continue;
        }
        for (int star = 0; star < 2; star++) {
            if (star == 1) {
                if (i != last)
                    break;
                memcpy(pat, channel, i);
                strcpy(pat + i, "/*");
                name = pat;
            }
            struct bx_channel *ch = (struct bx_channel *)map_find(&bx->channels, bx->seed, name);
            /* A delivery can end a session (its queue limit), which
             * takes it out of ch: walk from the top so none is skipped. */
            for (size_t k = ch ? ch->n : 0; k-- > 0;) {
                if (k >= ch->n)
                    continue;
                struct bx_client *c = ch->subs[k];
                if (c->mark == bx->epoch)
                    continue;
                c->mark = bx->epoch;
                bool last_sub = ch->n == 1;
                deliver(bx, c, channel, msg, len);
                if (last_sub && !map_find(&bx->channels, bx->seed, name))
                    break; /* ch itself was freed with its last client */
            }
            if (i == n)
                break;
        }
    }
}

/* Publish data (JSON) on channel from the server itself: the chat's
 * messages to /chat/<room>, for instance. Its id is "s" and a counter in
 * base 36, so it never looks like a client's ("1", "2", ... "a"). */
void bx_publish(struct bx *bx, const char *channel, const char *data, size_t len)
{
    char id[16];
    size_t k = sizeof id - 1;
    unsigned long long n = ++bx->published;
    id[k] = '\0';
    do {
        id[--k] = "0123456789abcdefghijklmnopqrstuvwxyz"[n % 36];
        n /= 36;
    } while (n > 0);
    id[--k] = 's';
    struct jbuf d = {0};
    jb_lit(&d, "{\"channel\":");
    jb_str(&d, channel, strlen(channel));
    jb_lit(&d, ",\"data\":");
    jb_raw(&d, data, len);
    jb_lit(&d, ",\"id\":");
    jb_str(&d, id + k, strlen(id + k));
    jb_lit(&d, "}");
    if (!d.oom)
        route(bx, channel, d.p, d.len);
    jb_free(&d);
}

/* The end of a loop turn: what was published in it goes out, to a bound
 * socket as one frame, or to a held connect as its answer (§5). */
void bx_flush(struct bx *bx)
{
    while (bx->dirty) {
        struct bx_client *c = bx->dirty;
        bx->dirty = c->next_dirty;
        c->dirty = false;
        if (c->socket && c->queue.len > 0) {
            send_array(c->socket, c->queue.p, c->queue.len);
            jb_reset(&c->queue);
        } else if (c->held && !c->held->socket && c->queue.len > 0) {
            release(c);
        }
    }
}

/* ========================================================================
 * Reading a message
 * ======================================================================== */

/* Point *v at the value of key in the message, or set it NULL. */
static void field(const struct bx_message *m, const char *key, const char **v, size_t *n)
{
    if (json_get(m->raw, m->raw_len, key, v, n) != 0) {
        *v = NULL;
        *n = 0;
    }
}

/* Fill m from the message object at raw. */
static void read_message(struct bx_message *m, const char *raw, size_t len,
                         const struct bx_port *port)
{
    memset(m, 0, sizeof *m);
    m->raw = raw;
    m->raw_len = len;
    m->port = port;
    const char *v;
    size_t n;
    field(m, "channel", &v, &n);
    m->channel_ok = json_cstring(v, n, m->channel, sizeof m->channel) >= 0;
    field(m, "clientId", &m->client_id_json, &m->client_id_json_len);
    json_cstring(m->client_id_json, m->client_id_json_len, m->client_id, sizeof m->client_id);
    field(m, "id", &m->id, &m->id_len);
    field(m, "data", &m->data, &m->data_len);
    field(m, "ext", &m->ext, &m->ext_len);
    field(m, "subscription", &m->subscription, &m->subscription_len);
}

/* Set err to "code:params:text" (error.js). */
static void set_error(char *err, int code, const char *params, const char *text)
{
    snprintf(err, BX_ERR_LEN, "%d:%s:%s", code, params, text);
}

/* The raw clientId value as an error's params: the string itself. */
static const char *given_id(const struct bx_message *m, char *buf, size_t cap)
{
    if (json_cstring(m->client_id_json, m->client_id_json_len, buf, cap) < 0)
        buf[0] = '\0';
    return buf;
}

/* ========================================================================
 * The meta channels (§4)
 * ======================================================================== */

/* /meta/handshake: version and a shared connection type, then a new
 * session. Later checks overwrite earlier errors, as in faye. */
static void meta_handshake(struct bx *bx, const struct bx_message *m, char *err, struct jbuf *r)
{
    const char *v, *types;
    size_t vn, tn;
    char list[BX_ERR_LEN] = "";
    field(m, "version", &v, &vn);
    field(m, "supportedConnectionTypes", &types, &tn);
    if (!err[0]) {
        if (!v)
            set_error(err, 402, "version", "Missing required parameter");
        bool shared = false;
        if (types && json_type_of(types, tn) == JSON_ARRAY) {
            size_t pos = 0, used = 0, en;
            const char *e;
            while (json_array_next(types, tn, &pos, &e, &en) == 1) {
                char t[64];
                if (json_cstring(e, en, t, sizeof t) < 0)
                    continue;
                for (size_t k = 0; k < NTYPES; k++)
                    shared = shared || strcmp(t, conn_types[k]) == 0;
                int w = snprintf(list + used, sizeof list - used, "%s%s", used ? "," : "", t);
                if (w > 0 && (size_t)w < sizeof list - used)
                    used += (size_t)w;
            }
            if (!shared)
                set_error(err, 301, list, "Connection types not supported");
        }
        if (!types)
            set_error(err, 402, "supportedConnectionTypes", "Missing required parameter");
    }
    struct bx_client *c = NULL;
    if (!err[0]) {
        c = client_new(bx);
        if (!c)
            set_error(err, 503, "", "Too many clients");
    }
    reply_open(r, m, err, false); /* the clientId is the one made here */
    jb_lit(r, ",\"version\":\"" BX_VERSION "\",\"supportedConnectionTypes\":");
    /* A page whose origin --origin does not allow would be refused on
     * WebSocket and on CORS, and faye's browser client, once it has
     * chosen CORS long-polling, never falls back: offered only the
     * other two, it settles on callback-polling (JSONP), which needs no
     * permission. */
    static const char *const page_types[] = {"long-polling", "callback-polling"};
    if (m->port->foreign_page)
        jb_strings(r, page_types, 2);
    else
        jb_strings(r, conn_types, NTYPES);
    if (c) {
        jb_lit(r, ",\"clientId\":");
        jb_str(r, c->id, strlen(c->id));
        jb_advice(r, bx, false);
    } else if (strncmp(err, "503:", 4) == 0) {
        jb_lit(r, ",\"advice\":{\"reconnect\":\"handshake\",\"interval\":5000}");
    } else {
        jb_advice(r, bx, true);
    }
    jb_lit(r, "}");
}

/* The hold a connect asks for: advice.timeout in ms, at most ours; a
 * connect batched with other messages is answered at once (§2.1). */
static int64_t hold_for(const struct bx *bx, const struct bx_message *m)
{
    const char *adv, *t;
    size_t an, tn;
    int64_t ms = bx->lim.timeout_ms;
    field(m, "advice", &adv, &an);
    if (adv && json_get(adv, an, "timeout", &t, &tn) == 0) {
        int64_t asked;
        if (json_int(t, tn, INT64_MAX / 2, &asked) == 0 && asked < ms)
            ms = asked;
    }
    return bx->batch > 1 ? 0 : ms;
}

/* /meta/connect: hold it (§5), or answer at once with what is queued.
 * Returns true if it was held (nothing to add to the replies now). */
static bool meta_connect(struct bx *bx, struct bx_port *port, const struct bx_message *m,
                    char *err, struct jbuf *r)
{
    struct bx_client *c = find_client(bx, m->client_id);
    const char *ct;
    size_t ctn;
    char type[64], idbuf[BX_ERR_LEN];
    field(m, "connectionType", &ct, &ctn);
    if (!err[0]) {
        if (!c)
            set_error(err, 401, given_id(m, idbuf, sizeof idbuf), "Unknown client");
        if (!m->client_id_json)
            set_error(err, 402, "clientId", "Missing required parameter");
        if (ct) {
            bool known = false;
            json_cstring(ct, ctn, type, sizeof type);
            for (size_t k = 0; k < NTYPES; k++)
                known = known || strcmp(type, conn_types[k]) == 0;
            if (!known)
                set_error(err, 301, type, "Connection types not supported");
        } else {
            set_error(err, 402, "connectionType", "Missing required parameter");
        }
    }
    if (err[0]) { /* a failed connect leaves out clientId (§4) */
        reply_open(r, m, err, false);
        jb_advice(r, bx, true);
        jb_lit(r, "}");
        return false;
    }
    c->expires_at = bx->now + 2 * (int64_t)bx->lim.timeout_ms;
    if (port->socket && port->bound != c) { /* §2.4: bind the socket */
        if (port->bound)
            port->bound->socket = NULL;
        if (c->socket)
            c->socket->bound = NULL;
        port->bound = c;
        c->socket = port;
    }
    if (c->held) /* faye would never answer the first one (§5) */
        release(c);
    if (port->held && port->held != c) /* one socket, another client's connect */
        release(port->held);
    int64_t hold = hold_for(bx, m);
    bool answer_now = hold == 0 || (!port->socket && c->queue.len > 0);
    if (answer_now) {
        reply_open(r, m, err, true);
        jb_advice(r, bx, false);
        jb_lit(r, "}");
        if (!port->socket && c->queue.len > 0) {
            jb_lit(r, ",");
            jb_raw(r, c->queue.p, c->queue.len);
            jb_reset(&c->queue);
        }
        if (port->socket && c->queue.len > 0)
            mark_dirty(c);
        client_arm(c);
        return false;
    }
    c->held = port;
    port->held = c;
    c->held_id = m->id ? strndup(m->id, m->id_len) : NULL;
    c->release_at = bx->now + hold;
    if (c->queue.len > 0)
        mark_dirty(c);
    client_arm(c);
    return true;
}

/* The channels a subscribe or unsubscribe names: a string or an array
 * of them. Calls fn for each in turn until it sets err. */
static void each_channel(struct bx *bx, struct bx_client *c, const struct bx_message *m,
                         char *err, void (*fn)(struct bx *, struct bx_client *,
                                               const char *, char *))
{
    const char *s = m->subscription;
    size_t n = m->subscription_len;
    if (json_type_of(s, n) != JSON_ARRAY) {
        char name[BX_MAX_CHANNEL + 2];
        json_cstring(s, n, name, sizeof name);
        fn(bx, c, name, err);
        return;
    }
    size_t pos = 0, en;
    const char *e;
    while (!err[0] && json_array_next(s, n, &pos, &e, &en) == 1) {
        char name[BX_MAX_CHANNEL + 2];
        json_cstring(e, en, name, sizeof name);
        fn(bx, c, name, err);
    }
}

/* Check a channel to (un)subscribe: not /meta/ or /service/ (403), and
 * a name or pattern (405), in faye's order. Returns 0 or -1 (err set). */
static int subscribable(const char *name, char *err)
{
    if (is_meta(name) || is_service(name))
        set_error(err, 403, name, "Forbidden channel");
    if (!bx_channel_valid(name, true))
        set_error(err, 405, name, "Invalid channel");
    return err[0] ? -1 : 0;
}

static void subscribe_one(struct bx *bx, struct bx_client *c, const char *name, char *err)
{
    if (subscribable(name, err) != 0)
        return;
    struct bx_channel *ch = (struct bx_channel *)map_find(&bx->channels, bx->seed, name);
    for (size_t i = 0; ch && i < c->nchans; i++)
        if (c->chans[i] == ch)
            return; /* already */
    if (c->nchans >= bx->lim.max_subs) {
        set_error(err, 403, name, "Too many subscriptions");
        return;
    }
    if (c->nchans == c->capchans) {
        size_t cap = c->capchans ? c->capchans * 2 : 2;
        void *p = realloc(c->chans, cap * sizeof *c->chans);
        if (!p)
            goto oom;
        c->chans = p;
        c->capchans = cap;
    }
    if (!ch) {
        size_t len = strlen(name);
        ch = calloc(1, sizeof *ch + len + 1);
        if (!ch)
            goto oom;
        memcpy(ch->name, name, len + 1);
        ch->node.key = ch->name;
        if (map_add(&bx->channels, bx->seed, &ch->node) != 0) {
            free(ch);
            goto oom;
        }
    }
    if (ch->n == ch->cap) {
        size_t cap = ch->cap ? ch->cap * 2 : 4;
        void *p = realloc(ch->subs, cap * sizeof *ch->subs);
        if (!p) {
            if (ch->n == 0) {
                map_del(&bx->channels, &ch->node);
                free(ch);
            }
            goto oom;
        }
        ch->subs = p;
        ch->cap = cap;
    }
    ch->subs[ch->n++] = c;
    c->chans[c->nchans++] = ch;
    return;
oom:
    set_error(err, 500, name, "Out of memory");
}

static void unsubscribe_one(struct bx *bx, struct bx_client *c, const char *name, char *err)
{
    if (subscribable(name, err) != 0)
        return;
    for (size_t i = 0; i < c->nchans; i++) {
        if (strcmp(c->chans[i]->name, name) == 0) {
            struct bx_channel *ch = c->chans[i];
            c->chans[i] = c->chans[--c->nchans];
            channel_drop(bx, ch, c);
            return;
        }
    }
}

/* /meta/subscribe and /meta/unsubscribe: channels before a bad one stay
 * done, and the reply echoes the subscription as sent (§4). */
static void meta_subscription(struct bx *bx, const struct bx_message *m, char *err,
                         struct jbuf *r, bool subscribe)
{
    struct bx_client *c = find_client(bx, m->client_id);
    char idbuf[BX_ERR_LEN];
    if (!err[0]) {
        if (!c)
            set_error(err, 401, given_id(m, idbuf, sizeof idbuf), "Unknown client");
        if (!m->client_id_json)
            set_error(err, 402, "clientId", "Missing required parameter");
        if (!m->subscription)
            set_error(err, 402, "subscription", "Missing required parameter");
        if (!err[0])
            each_channel(bx, c, m, err, subscribe ? subscribe_one : unsubscribe_one);
    }
    reply_open(r, m, err, true);
    jb_lit(r, ",\"subscription\":");
    if (m->subscription)
        jb_raw(r, m->subscription, m->subscription_len);
    else
        jb_lit(r, "[]");
    jb_lit(r, "}");
}

/* /meta/disconnect: end the session. Returns the socket to close after
 * the reply, or NULL. */
static struct bx_port *meta_disconnect(struct bx *bx, struct bx_port *port,
                                  const struct bx_message *m, char *err, struct jbuf *r)
{
    struct bx_client *c = find_client(bx, m->client_id);
    char idbuf[BX_ERR_LEN];
    if (!err[0]) {
        if (!c)
            set_error(err, 401, given_id(m, idbuf, sizeof idbuf), "Unknown client");
        if (!m->client_id_json)
            set_error(err, 402, "clientId", "Missing required parameter");
    }
    reply_open(r, m, err, true);
    jb_lit(r, "}");
    if (err[0])
        return NULL;
    struct bx_port *sock = c->socket;
    client_destroy(c, NULL);
    if (sock && sock != port) { /* its own socket, not this one: close it now */
        sock->ops->close(sock);
        sock = NULL;
    }
    return port->socket ? port : NULL; /* this one, once the replies are out */
}

/* ========================================================================
 * Publishing (§6)
 * ======================================================================== */

static void publish(struct bx *bx, const struct bx_port *port, const struct bx_message *m,
                    char *err, struct jbuf *r)
{
    struct bx_client *c = find_client(bx, m->client_id);
    char idbuf[BX_ERR_LEN];
    if (!err[0]) {
        /* Ours: only a live session may publish, and on a socket bound
         * to a client only that client. */
        if (!m->client_id_json)
            set_error(err, 402, "clientId", "Missing required parameter");
        else if (!c || (port->socket && port->bound && port->bound != c))
            set_error(err, 401, given_id(m, idbuf, sizeof idbuf), "Unknown client");
        if (!m->channel_ok || !bx_channel_valid(m->channel, false))
            set_error(err, 405, m->channel, "Invalid channel");
        if (!m->data)
            set_error(err, 402, "data", "Missing required parameter");
    }
    const struct bx_handler *h = NULL;
    for (size_t k = 0; !err[0] && k < bx->nhandlers; k++)
        if (strncmp(m->channel, bx->handlers[k].prefix, strlen(bx->handlers[k].prefix)) == 0)
            h = &bx->handlers[k];
    if (!err[0] && h) {
        if (!h->fn(h->ud, m, err, BX_ERR_LEN) && !err[0])
            set_error(err, 403, m->channel, "Forbidden");
    } else if (!err[0]) {
        struct jbuf d = {0};
        jb_lit(&d, "{\"channel\":");
        jb_str(&d, m->channel, strlen(m->channel));
        jb_lit(&d, ",\"data\":");
        jb_raw(&d, m->data, m->data_len);
        if (m->id) {
            jb_lit(&d, ",\"id\":");
            jb_raw(&d, m->id, m->id_len);
        }
        jb_lit(&d, "}");
        if (!d.oom)
            route(bx, m->channel, d.p, d.len);
        jb_free(&d);
    }
    reply_open(r, m, err, true);
    jb_lit(r, "}");
}

/* ========================================================================
 * A batch
 * ======================================================================== */

/* True if the message object at e is on a /meta/ channel. */
static bool is_meta_message(const char *e, size_t en)
{
    const char *v;
    size_t n;
    char ch[BX_MAX_CHANNEL + 1];
    return json_get(e, en, "channel", &v, &n) == 0 &&
           json_cstring(v, n, ch, sizeof ch) >= 0 && is_meta(ch);
}

/* Handle one message; its reply (if not held) is added to replies.
 * Returns a socket to close once the replies are sent, or NULL. */
static struct bx_port *handle(struct bx *bx, struct bx_port *port, const char *raw,
                              size_t len, struct jbuf *replies)
{
    struct bx_message m;
    char err[BX_ERR_LEN] = "";
    struct jbuf r = {0};
    struct bx_port *close_after = NULL;
    read_message(&m, raw, len, port);
    for (size_t k = 0; k < bx->next && !err[0]; k++)
        if (bx->ext[k].incoming && bx->ext[k].incoming(bx->ext[k].ud, &m, err, sizeof err))
            if (!err[0])
                set_error(err, 403, m.channel, "Forbidden");
    if (!m.channel_ok && !err[0]) {
        /* Missing, not a string, or longer than BX_MAX_CHANNEL: the
         * error names it as sent, as far as the error has room. */
        const char *v;
        size_t vn;
        char as_sent[BX_ERR_LEN - 32];
        field(&m, "channel", &v, &vn);
        json_cstring(v, vn, as_sent, sizeof as_sent);
        set_error(err, 405, as_sent, "Invalid channel");
        reply_open(&r, &m, err, true);
        jb_lit(&r, "}");
    } else if (strcmp(m.channel, "/meta/handshake") == 0) {
        meta_handshake(bx, &m, err, &r);
    } else if (strcmp(m.channel, "/meta/connect") == 0) {
        if (meta_connect(bx, port, &m, err, &r)) {
            jb_free(&r);
            return NULL; /* held: answered later */
        }
    } else if (strcmp(m.channel, "/meta/subscribe") == 0) {
        meta_subscription(bx, &m, err, &r, true);
    } else if (strcmp(m.channel, "/meta/unsubscribe") == 0) {
        meta_subscription(bx, &m, err, &r, false);
    } else if (strcmp(m.channel, "/meta/disconnect") == 0) {
        close_after = meta_disconnect(bx, port, &m, err, &r);
    } else if (is_meta(m.channel)) {
        if (!err[0])
            set_error(err, 403, m.channel, "Forbidden channel");
        reply_open(&r, &m, err, true);
        jb_lit(&r, "}");
    } else {
        publish(bx, port, &m, err, &r);
    }
    add_reply(replies, &r);
    jb_free(&r);
    return close_after;
}

/* Handle a batch from port: a JSON array of message objects, or one
 * bare object. A request is answered now unless a connect in it is
 * held; a socket gets one frame with every reply that is not held.
 * Returns 0, BX_ERR_MALFORMED or BX_ERR_TOO_MANY (nothing was done). */
int bx_input(struct bx *bx, struct bx_port *port, const char *json, size_t len, int64_t now)
{
    long end = json_scan(json, len, -1);
    if (end < 0 || (size_t)(end + json_skip_ws(json + end, len - (size_t)end)) != len)
        return BX_ERR_MALFORMED;
    enum json_type t = json_type_of(json, len);
    size_t count = 0, pos = 0, en;
    const char *e;
    if (t == JSON_ARRAY) {
        while (json_array_next(json, len, &pos, &e, &en) == 1) {
            if (json_type_of(e, en) != JSON_OBJECT)
                return BX_ERR_MALFORMED;
            count++;
        }
    } else if (t == JSON_OBJECT) {
        count = 1;
    } else {
        return BX_ERR_MALFORMED;
    }
    if (count > bx->lim.max_batch)
        return BX_ERR_TOO_MANY;
    bx->now = now;
    bx->batch = count;
    struct jbuf local = {0};
    struct jbuf *replies = port->socket ? &local : &port->answer;
    struct bx_port *close_after = NULL;
    if (t == JSON_OBJECT) {
        close_after = handle(bx, port, json, len, replies);
    } else {
        /* Meta messages first, then publishes: faye's clients send a
         * publish made right after a subscribe ahead of it in the same
         * batch (subscribe waits a step longer in their pipeline), and
         * the lesson's example -- subscribe, then publish, in one tick --
         * would never hear its own message. Each pass keeps its order. */
        for (int pass = 0; pass < 2; pass++) {
            pos = 0;
            while (json_array_next(json, len, &pos, &e, &en) == 1) {
                if (is_meta_message(e, en) != (pass == 0))
                    continue;
                struct bx_port *c = handle(bx, port, e, en, replies);
                if (c)
                    close_after = c;
            }
        }
    }
    if (port->socket) {
        if (local.len > 0)
            send_array(port, local.p, local.len);
        jb_free(&local);
    } else if (!port->held && !port->answered) {
        send_array(port, port->answer.p, port->answer.len);
    }
    if (close_after && close_after->socket)
        close_after->ops->close(close_after);
    return 0;
}

/* The transport is going away: forget it wherever it is remembered. A
 * held connect it carried is simply dropped (nobody is left to answer);
 * the session lives on until it expires (§2.4, §5). */
void bx_port_gone(struct bx *bx, struct bx_port *port)
{
    (void)bx;
    if (port->held) {
        struct bx_client *c = port->held;
        c->held = NULL;
        free(c->held_id);
        c->held_id = NULL;
        port->held = NULL;
    }
    if (port->bound) {
        port->bound->socket = NULL;
        port->bound = NULL;
    }
    jb_free(&port->answer);
}

/* ========================================================================
 * Time
 * ======================================================================== */

/* c's timer: release its held connect, or end the session (§5). */
static void client_fire(struct timer *t, int64_t now)
{
    struct bx_client *c = (struct bx_client *)((char *)t - offsetof(struct bx_client, timer));
    if (c->held && now >= c->release_at)
        release(c);
    if (now >= c->expires_at && !c->held) {
        /* A socket still bound to it carries nothing any more: close it,
         * and the client's next connect, elsewhere, learns 401. */
        struct bx_port *sock = c->socket;
        client_destroy(c, "no connect for two timeouts, session expired");
        if (sock)
            sock->ops->close(sock);
        return;
    }
    client_arm(c);
}

int64_t bx_next_deadline(const struct bx *bx)
{
    return timers_next(&bx->timers);
}

void bx_tick(struct bx *bx, int64_t now)
{
    struct timer *t;
    bx->now = now;
    while ((t = timers_pop(&bx->timers, now)) != NULL)
        t->fire(t, now);
}

/* ========================================================================
 * Setting up
 * ======================================================================== */

struct bx *bx_new(const struct bx_limits *lim)
{
    struct bx *bx = calloc(1, sizeof *bx);
    if (!bx)
        return NULL;
    bx->lim = *lim;
    if (RAND_bytes((unsigned char *)&bx->seed, sizeof bx->seed) != 1) {
        free(bx);
        return NULL;
    }
    return bx;
}

int bx_add_extension(struct bx *bx, const struct bx_extension *ext)
{
    if (bx->next >= BX_MAX_EXTENSIONS)
        return -1;
    bx->ext[bx->next++] = *ext;
    return 0;
}

int bx_add_channel(struct bx *bx, const char *prefix, bx_channel_handler *fn, void *ud)
{
    if (bx->nhandlers >= BX_MAX_HANDLERS || strlen(prefix) > BX_MAX_CHANNEL)
        return -1;
    struct bx_handler *h = &bx->handlers[bx->nhandlers++];
    strcpy(h->prefix, prefix);
    h->fn = fn;
    h->ud = ud;
    return 0;
}

const char *bx_client_id(const struct bx_client *c)
{
    return c->id;
}

size_t bx_clients(const struct bx *bx)
{
    return bx->clients.count;
}

/* Free every session and channel. Held requests are not answered: the
 * transports are going away too. */
void bx_free(struct bx *bx)
{
    if (!bx)
        return;
    for (size_t b = 0; b < bx->clients.nbuckets; b++) {
        while (bx->clients.buckets && bx->clients.buckets[b]) {
            struct bx_client *c = (struct bx_client *)bx->clients.buckets[b];
            if (c->held) {
                c->held->held = NULL;
                c->held = NULL;
            }
            client_destroy(c, NULL);
        }
    }
    map_free(&bx->clients);
    map_free(&bx->channels);
    timers_free(&bx->timers);
    free(bx);
}
