/* cluster.c -- several wshub (and Node socket.io) nodes on one Redis
 * SPDX-License-Identifier: MIT
 *
 * The hub's adapter (struct hub_adapter) for --redis, speaking exactly
 * what @socket.io/redis-adapter 8 (the classic, pub/sub one) and
 * @socket.io/redis-emitter 5 put on Redis, so that wshub nodes, Node
 * socket.io nodes and the emitter share rooms. The notes this follows
 * are ../shared/specs/socket.io-redis-adapter.md; § below are theirs.
 *
 *   broadcast   the hub delivered it here; we PUBLISH it as msgpack
 *               [uid, {type:2, data, nsp}, {rooms, except, flags}] (§4)
 *               to {key}#{nsp}# or, for exactly one room, {key}#{nsp}#{room}#;
 *               what other nodes publish comes back through PSUBSCRIBE
 *               {key}#{nsp}#* and goes to our sockets (§5)
 *   requests    {key}-request#{nsp}#: other nodes ask us (all rooms,
 *               fetch sockets, join/leave/disconnect, server-side
 *               events, broadcasts with acks) and we answer on
 *               {key}-response#{nsp}# (§6); we ask them the same way
 *
 * Two Redis connections (redis.c): `pub` for PUBLISH and PUBSUB NUMSUB,
 * `sub` subscribed, and only `sub`, to each namespace's channels, since
 * a second subscribed connection would count as a second node (§6).
 *
 * When Redis goes away each node carries on with its own clients; what
 * is published meanwhile is lost for the others, as with socket.io's
 * adapter. Both connections reconnect by themselves; `sub` subscribes
 * again. One line is logged when the cluster goes down and one when it
 * is back up.
 *
 * Anything on the channels that does not decode is dropped with one log
 * line: any Redis client may publish there.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "cluster.h"
#include "conn.h"
#include "hub.h"
#include "clustermsg.h"
#include "json.h"
#include "msgpack.h"
#include "redis.h"
#include "sio.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER_MAX_CHANNEL 512  /* bytes of a channel name we build */
#define CLUSTER_ACK_TIMEOUT_MS 5000 /* a broadcast-with-ack without a timeout */
#define CLUSTER_MAX_ACK_TIMEOUT_MS 300000 /* longer ones are cut to this: a
                                           * forged request may not pin
                                           * acks for hours */

/* One question we asked the other nodes (fetch sockets, all rooms). */
struct request {
    char id[8];                /* requestId: 6 random characters */
    struct hub_nsp *nsp;       /* asked about this namespace */
    enum hub_ask what;
    struct hub_gather *g;      /* where the answers go, or NULL for ... */
    struct hub_acks *acks;     /* ... a broadcast with acks (type 7) */
    long expected;             /* answers to wait for; -1: NUMSUB not back */
    long got;                  /* answers received */
    struct timer timer;        /* gives up at --redis-timeout */
    struct jbuf text;          /* the request, until NUMSUB is back */
    struct request *next;      /* the list of questions open */
};

/* A broadcast-with-ack another node asked of us (type 7): each client
 * ack becomes a type 9 answer, until the last one is in or timed out. */
struct ack_request {
    char *id;                  /* the asker's requestId */
    struct hub_nsp *nsp;
    size_t left;               /* acks still to come */
};

static struct {
    struct hub *hub;
    struct redis_url url;
    char *key;                  /* --redis-key, "socket.io" by default */
    char uid[8];                /* this node's adapter uid (§3) */
    int requests_timeout;       /* ms to wait for other nodes' answers */
    struct redis *pub, *sub;    /* the two connections */
    int subs_due;               /* subscribe confirmations still to come */
    bool up;                    /* both ready and subscribed */
    bool said_down;             /* the outage was logged */
    bool have_node;             /* INCR gave this node its number */
    struct request *requests;   /* questions waiting for answers */
    uint64_t bad;               /* messages dropped as undecodable */
    uint64_t unsent;            /* broadcasts not published while down */
    struct jbuf scratch;        /* messages are built here */
} cl;

/* ========================================================================
 * Small helpers
 * ======================================================================== */

/* 6 characters of [A-Za-z0-9_-] from the CSPRNG, like uid2(6). */
static void random_uid(char out[8])
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char b[6];
    if (RAND_bytes(b, sizeof b) != 1)
        memset(b, 0, sizeof b);
    for (int i = 0; i < 6; i++)
        out[i] = tab[b[i] & 63];
    out[6] = '\0';
}

/* Write a channel name into out, as printf would: "%s#%s#", key, nsp.
 * Returns its length, or 0 if it does not fit. */
static size_t channel(char out[CLUSTER_MAX_CHANNEL], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, CLUSTER_MAX_CHANNEL, fmt, ap);
    va_end(ap);
    return n > 0 && n < CLUSTER_MAX_CHANNEL ? (size_t)n : 0;
}

static void publish(const char *chan, size_t clen, const void *msg, size_t mlen)
{
    const char *argv[3] = {"PUBLISH", chan, msg};
    size_t lens[3] = {7, clen, mlen};
    redis_command(cl.pub, 3, argv, lens, NULL, NULL);
}

/* The shared response channel of nsp (§6: it works in every setup). */
static void publish_response(struct hub_nsp *nsp, const void *msg, size_t len)
{
    char ch[CLUSTER_MAX_CHANNEL];
    size_t n = channel(ch, "%s-response#%s#", cl.key, hub_nsp_name(nsp));
    if (n)
        publish(ch, n, msg, len);
}

static void drop(const char *where, const char *why)
{
    cl.bad++;
    fprintf(stderr, "wshub: redis: dropped a message on %s: %s\n", where, why);
}

/* ========================================================================
 * The hub's side: what this node sends to the others
 * ======================================================================== */

/* hub_adapter.broadcast: publish what the hub just delivered here. */
static void on_broadcast(void *ud, struct hub_nsp *nsp, const struct hub_select *sel,
                         const char *event, const struct hub_args *a, bool is_volatile)
{
    (void)ud;
    if (!cl.up) {
        cl.unsent++; /* lost for the others, as with socket.io's adapter */
        return;
    }
    struct mp_publish m = {
        .uid = cl.uid, .nsp = hub_nsp_name(nsp), .event = event, .args = *a,
        .rooms = sel->rooms, .nrooms = sel->nrooms,
        .except = sel->except, .nexcept = sel->nexcept, .is_volatile = is_volatile,
    };
    const char *why;
    jb_reset(&cl.scratch);
    if (mp_broadcast_encode(&cl.scratch, &m, &why) != 0) {
        fprintf(stderr, "wshub: redis: cannot publish \"%s\": %s\n", event, why);
        return;
    }
    char ch[CLUSTER_MAX_CHANNEL];
    size_t n = sel->nrooms == 1 /* §2: exactly one room has its own channel */
               ? channel(ch, "%s#%s#%s#", cl.key, hub_nsp_name(nsp), sel->rooms[0])
               : channel(ch, "%s#%s#", cl.key, hub_nsp_name(nsp));
    if (n)
        publish(ch, n, cl.scratch.p, cl.scratch.len);
}

static void publish_request(struct hub_nsp *nsp, const struct jbuf *jb)
{
    char ch[CLUSTER_MAX_CHANNEL];
    size_t n = channel(ch, "%s-request#%s#", cl.key, hub_nsp_name(nsp));
    if (n && !jb->oom)
        publish(ch, n, jb->p, jb->len);
}

/* hub_adapter.sockets_op: types 2, 3 and 4 (§6). This node has acted
 * already, so it ignores its own request when Redis echoes it. */
static void on_sockets_op(void *ud, struct hub_nsp *nsp, const struct hub_select *sel,
                          enum hub_op op, const char *room, bool close)
{
    (void)ud;
    if (!cl.up)
        return;
    struct jbuf *jb = &cl.scratch;
    jb_reset(jb);
    jb_lit(jb, "{\"uid\":");
    jb_str(jb, cl.uid, strlen(cl.uid));
    jb_lit(jb, op == HUB_OP_JOIN ? ",\"type\":2" : op == HUB_OP_LEAVE ? ",\"type\":3" : ",\"type\":4");
    jb_lit(jb, ",\"opts\":{\"rooms\":");
    jb_strings(jb, sel->rooms, sel->nrooms);
    jb_lit(jb, ",\"except\":");
    jb_strings(jb, sel->except, sel->nexcept);
    jb_lit(jb, "}");
    if (op == HUB_OP_DISCONNECT) {
        jb_lit(jb, close ? ",\"close\":true}" : ",\"close\":false}");
    } else {
        jb_lit(jb, ",\"rooms\":[");
        jb_str(jb, room, strlen(room));
        jb_lit(jb, "]}");
    }
    publish_request(nsp, jb);
}

/* hub_adapter.server_emit: type 6 without an answer. */
static void on_server_emit(void *ud, struct hub_nsp *nsp, const char *event,
                           const struct hub_args *a)
{
    (void)ud;
    if (!cl.up)
        return;
    struct jbuf data = {0}, *jb = &cl.scratch;
    jb_event(&data, event, a->json, a->len);
    jb_reset(jb);
    const char *why;
    if (a->nbins == 0) {
        jb_lit(jb, "{\"uid\":");
        jb_str(jb, cl.uid, strlen(cl.uid));
        jb_lit(jb, ",\"type\":6,\"data\":");
        jb_raw(jb, data.p, data.len);
        jb_lit(jb, "}");
        publish_request(nsp, jb);
    } else { /* binary goes as msgpack bin (§6: msgpack for binary) */
        mp_put_map(jb, 3);
        mp_put_str(jb, "uid", 3);
        mp_put_str(jb, cl.uid, strlen(cl.uid));
        mp_put_str(jb, "type", 4);
        mp_put_int(jb, 6);
        mp_put_str(jb, "data", 4);
        if (!data.oom && mp_from_json(data.p, data.len, a->bins, a->nbins, jb, &why) == 0)
            publish_request(nsp, jb);
    }
    jb_free(&data);
}

/* hub_adapter.server_reply: the answer to another node's type 6. */
static void on_server_reply(void *ud, struct hub_nsp *nsp, const char *token,
                            const struct hub_args *a)
{
    (void)ud;
    struct jbuf *jb = &cl.scratch;
    jb_reset(jb);
    long first = a && a->len ? json_scan(a->json, a->len, -1) : 0;
    jb_lit(jb, "{\"type\":6,\"requestId\":");
    jb_str(jb, token, strlen(token));
    jb_lit(jb, ",\"data\":");
    if (first > 0)
        jb_raw(jb, a->json, (size_t)first);
    else
        jb_lit(jb, "null");
    jb_lit(jb, "}");
    if (!jb->oom && cl.up)
        publish_response(nsp, jb->p, jb->len);
}

/* ---- questions: fetch sockets, all rooms -------------------------------- */

static void request_end(struct request *q)
{
    for (struct request **p = &cl.requests; *p; p = &(*p)->next) {
        if (*p == q) {
            *p = q->next;
            break;
        }
    }
    loop_timer_cancel(&q->timer);
    jb_free(&q->text);
    if (q->acks)
        hub_acks_release(q->acks);
    else
        hub_gather_end(q->g);
    free(q);
}

static void request_fire(struct timer *t, int64_t now)
{
    (void)now;
    struct request *q = (struct request *)((char *)t - offsetof(struct request, timer));
    if (!q->acks) /* an ack broadcast always ends at its timeout */
        fprintf(stderr, "wshub: redis: request %s: %ld of %ld answers in %d ms\n",
            q->id, q->got, q->expected, cl.requests_timeout);
    request_end(q);
}

/* PUBSUB NUMSUB's answer: the nodes subscribed to the request channel,
 * this one included (§6 "Who expects how many answers"). */
static void on_numsub(struct redis *r, const struct resp_reply *rep, void *ud)
{
    (void)r;
    struct request *q = ud, *p;
    for (p = cl.requests; p && p != q; p = p->next)
        ;
    if (!p)
        return; /* timed out meanwhile */
    /* *2 $channel :count */
    if (!rep || rep->n != 3 || rep->v[0].type != RESP_T_ARRAY ||
        rep->v[2].type != RESP_T_INTEGER) {
        request_end(q);
        return;
    }
    q->expected = (long)rep->v[2].integer - 1;
    if (q->acks)
        hub_acks_nodes(q->acks, q->expected > 0 ? (size_t)q->expected : 0);
    if (q->expected <= q->got) {
        request_end(q);
        return;
    }
    publish_request(q->nsp, &q->text);
    jb_free(&q->text);
}

/* A question for the other nodes, with a fresh requestId; its text is
 * built by the caller, then request_send() asks. NULL if out of memory. */
static struct request *request_new(struct hub_nsp *nsp)
{
    struct request *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    random_uid(q->id);
    q->nsp = nsp;
    q->expected = -1;
    return q;
}

/* Count the nodes (PUBSUB NUMSUB; on_numsub then publishes q->text) and
 * wait for their answers at most timeout_ms. If the text could not be
 * built (!ok) or Redis cannot be asked, q is freed and -1 returned. */
static int request_send(struct request *q, bool ok, int timeout_ms)
{
    char ch[CLUSTER_MAX_CHANNEL];
    size_t n = channel(ch, "%s-request#%s#", cl.key, hub_nsp_name(q->nsp));
    const char *argv[3] = {"PUBSUB", "NUMSUB", ch};
    size_t lens[3] = {6, 6, n};
    if (!ok || q->text.oom || n == 0 || redis_command(cl.pub, 3, argv, lens, on_numsub, q) != 0) {
        jb_free(&q->text);
        free(q);
        return -1;
    }
    q->timer.fire = request_fire;
    loop_timer_set(&q->timer, now_ms() + timeout_ms);
    q->next = cl.requests;
    cl.requests = q;
    return 0;
}

/* hub_adapter.ask: type 5 (fetch) or 1 (all rooms) to every other node. */
static int on_ask(void *ud, struct hub_nsp *nsp, enum hub_ask what,
                  const struct hub_select *sel, struct hub_gather *g)
{
    (void)ud;
    struct request *q = cl.up ? request_new(nsp) : NULL;
    if (!q)
        return -1;
    q->what = what;
    q->g = g;
    struct jbuf *jb = &q->text;
    jb_lit(jb, "{\"uid\":");
    jb_str(jb, cl.uid, strlen(cl.uid));
    jb_lit(jb, ",\"requestId\":");
    jb_str(jb, q->id, strlen(q->id));
    if (what == HUB_ASK_SOCKETS) {
        jb_lit(jb, ",\"type\":5,\"opts\":{\"rooms\":");
        jb_strings(jb, sel->rooms, sel->nrooms);
        jb_lit(jb, ",\"except\":");
        jb_strings(jb, sel->except, sel->nexcept);
        jb_lit(jb, "}}");
    } else {
        jb_lit(jb, ",\"type\":1}");
    }
    return request_send(q, true, cl.requests_timeout);
}

/* hub_adapter.broadcast_ack: type 7 (msgpack, §6) to every other node;
 * each answers with its client count (8), then each client's ack (9). */
static int on_broadcast_ack(void *ud, struct hub_nsp *nsp, const struct hub_select *sel,
                            const char *event, const struct hub_args *a,
                            int timeout_ms, struct hub_acks *k)
{
    (void)ud;
    struct request *q = cl.up ? request_new(nsp) : NULL;
    if (!q)
        return -1;
    q->acks = k;
    struct jbuf data = {0}, *jb = &q->text;
    jb_event(&data, event, a->json, a->len);
    mp_put_map(jb, 5);
    mp_put_str(jb, "uid", 3);
    mp_put_str(jb, cl.uid, strlen(cl.uid));
    mp_put_str(jb, "requestId", 9);
    mp_put_str(jb, q->id, strlen(q->id));
    mp_put_str(jb, "type", 4);
    mp_put_int(jb, 7);
    mp_put_str(jb, "packet", 6);
    mp_put_map(jb, 3);
    mp_put_str(jb, "type", 4);
    mp_put_int(jb, 2);
    mp_put_str(jb, "data", 4);
    const char *why;
    int bad = data.oom || mp_from_json(data.p, data.len, a->bins, a->nbins, jb, &why) != 0;
    mp_put_str(jb, "nsp", 3);
    mp_put_str(jb, hub_nsp_name(nsp), strlen(hub_nsp_name(nsp)));
    mp_put_str(jb, "opts", 4);
    mp_put_map(jb, 3);
    mp_put_str(jb, "rooms", 5);
    mp_put_array(jb, sel->nrooms);
    for (size_t i = 0; i < sel->nrooms; i++)
        mp_put_str(jb, sel->rooms[i], strlen(sel->rooms[i]));
    mp_put_str(jb, "except", 6);
    mp_put_array(jb, sel->nexcept);
    for (size_t i = 0; i < sel->nexcept; i++)
        mp_put_str(jb, sel->except[i], strlen(sel->except[i]));
    mp_put_str(jb, "flags", 5);
    mp_put_map(jb, 1);
    mp_put_str(jb, "timeout", 7);
    mp_put_int(jb, timeout_ms);
    jb_free(&data);
    return request_send(q, !bad, timeout_ms + 1);
}

/* hub_adapter.nsp_created: a namespace made on demand gets its channels. */
static void subscribe_nsp(struct hub_nsp *nsp);

static void on_nsp_created(void *ud, struct hub_nsp *nsp)
{
    (void)ud;
    if (redis_ready(cl.sub))
        subscribe_nsp(nsp);
}

static const struct hub_adapter adapter = {
    on_broadcast, on_sockets_op, on_ask, on_server_emit, on_server_reply,
    on_nsp_created, on_broadcast_ack,
};

/* ========================================================================
 * What other nodes send: broadcasts (§5)
 * ======================================================================== */

/* The namespace whose broadcast channels chan belongs to, and the room
 * suffix (empty: none). NULL if it is none of ours. */
static struct hub_nsp *broadcast_nsp(const char *chan, size_t len,
                                     const char **room, size_t *room_len)
{
    size_t klen = strlen(cl.key);
    for (struct hub_nsp *nsp = hub_first_nsp(cl.hub); nsp; nsp = hub_next_nsp(nsp)) {
        const char *name = hub_nsp_name(nsp);
        size_t nlen = strlen(name);
        if (len < klen + nlen + 2 || memcmp(chan, cl.key, klen) != 0 || chan[klen] != '#' ||
            memcmp(chan + klen + 1, name, nlen) != 0 || chan[klen + 1 + nlen] != '#' ||
            chan[len - 1] != '#')
            continue;
        *room = chan + klen + nlen + 2;
        *room_len = len >= klen + nlen + 3 ? len - (klen + nlen + 3) : 0;
        return nsp;
    }
    return NULL;
}

static void on_broadcast_message(const struct resp_bytes *chan, const struct resp_bytes *msg)
{
    const char *room;
    size_t room_len;
    struct hub_nsp *nsp = broadcast_nsp(chan->ptr, chan->len, &room, &room_len);
    if (!nsp)
        return;
    if (room_len > 0) { /* §5.2: a room nobody here is in: not even decoded */
        char name[CLUSTER_MAX_CHANNEL];
        if (room_len >= sizeof name)
            return;
        memcpy(name, room, room_len);
        name[room_len] = '\0';
        if (hub_room_size(nsp, name) == 0)
            return;
    }
    struct jbuf json = {0};
    struct mp_broadcast b;
    const char *why;
    struct cm_names rooms = {0}, except = {0};
    if (mp_broadcast_decode((const uint8_t *)msg->ptr, msg->len, &json, &b, &why) != 0) {
        drop("a broadcast channel", why);
        goto out;
    }
    if (b.uid.len == strlen(cl.uid) && memcmp(b.uid.p, cl.uid, b.uid.len) == 0)
        goto out; /* our own: delivered here already */
    if (b.nsp.len != strlen(hub_nsp_name(nsp)) || memcmp(b.nsp.p, hub_nsp_name(nsp), b.nsp.len) != 0)
        goto out;
    struct mp_str s;
    size_t pos = 0;
    while (rooms.n < CM_MAX_ROOMS && mp_list_next(&b.rooms, &pos, &s) == 1 &&
           (rooms.mem[rooms.n] = strndup(s.p, s.len)) != NULL) {
        rooms.v[rooms.n] = rooms.mem[rooms.n];
        rooms.n++;
    }
    pos = 0;
    while (except.n < CM_MAX_ROOMS && mp_list_next(&b.except, &pos, &s) == 1 &&
           (except.mem[except.n] = strndup(s.p, s.len)) != NULL) {
        except.v[except.n] = except.mem[except.n];
        except.n++;
    }
    if (rooms.n < b.rooms.count || except.n < b.except.count) {
        drop("a broadcast channel", "too many rooms");
        goto out;
    }
    char name[SIO_MAX_EVENT_NAME + 1];
    struct hub_args a = {0};
    if (cm_split_event(b.data, b.data_len, name, &a) != 0) {
        drop("a broadcast channel", "data is not [event, ...]");
        goto out;
    }
    a.bins = b.nbins ? b.bins : NULL;
    a.nbins = b.nbins;
    struct hub_select sel = {rooms.v, rooms.n, except.v, except.n, true};
    if (b.is_volatile)
        hub_broadcast_volatile(nsp, &sel, name, &a);
    else
        hub_broadcast(nsp, &sel, name, &a);
out:
    cm_names_free(&rooms);
    cm_names_free(&except);
    jb_free(&json);
}

/* ========================================================================
 * What other nodes send: requests and responses (§6, §7)
 * ======================================================================== */

/* Client acks of a type 7 broadcast: each becomes a type 9 answer. */
static void on_client_ack(struct hub_socket *s, bool timed_out,
                          const struct hub_args *reply, void *ud)
{
    (void)s;
    struct ack_request *ar = ud;
    if (!timed_out && cl.up) {
        struct jbuf *jb = &cl.scratch, first = {0};
        long n = reply->len ? json_scan(reply->json, reply->len, (int)reply->nbins) : 0;
        const char *why;
        jb_lit(&first, "[");
        if (n > 0)
            jb_raw(&first, reply->json, (size_t)n);
        else
            jb_lit(&first, "null");
        jb_lit(&first, "]");
        jb_reset(jb);
        mp_put_map(jb, 3);
        mp_put_str(jb, "type", 4);
        mp_put_int(jb, 9);
        mp_put_str(jb, "requestId", 9);
        mp_put_str(jb, ar->id, strlen(ar->id));
        mp_put_str(jb, "packet", 6);
        size_t at = jb->len;
        /* The first argument alone: encode the one-element array, then
         * drop its array header (one byte, 0x91). */
        if (!first.oom && mp_from_json(first.p, first.len, reply->bins, reply->nbins, jb, &why) == 0) {
            memmove(jb->p + at, jb->p + at + 1, jb->len - at - 1);
            jb->len--;
            publish_response(ar->nsp, jb->p, jb->len);
        }
        jb_free(&first);
    }
    if (--ar->left == 0) {
        free(ar->id);
        free(ar);
    }
}

struct ack_walk {
    const char *event;
    const struct hub_args *a;
    int timeout;
    struct ack_request *ar;
};

static void take_ack(struct hub_socket *s, void *ud)
{
    struct ack_walk *w = ud;
    if (hub_emit_ack(s, w->event, w->a, w->timeout, on_client_ack, w->ar) == 0)
        w->ar->left++;
}

/* Type 7: deliver with an ack from each client, say how many (type 8),
 * and pass each answer on (type 9). */
static void broadcast_with_ack(struct hub_nsp *nsp, const char *obj, size_t n,
                               const struct hub_blob *bins, size_t nbins,
                               const char *rid)
{
    const char *packet, *data, *opts, *flags;
    size_t plen, dlen, olen, flen;
    struct cm_names rooms, except;
    struct hub_select sel;
    if (json_get(obj, n, "packet", &packet, &plen) != 0 ||
        json_get(packet, plen, "data", &data, &dlen) != 0 ||
        cm_select(obj, n, &rooms, &except, &sel) != 0) {
        drop("the request channel", "a broadcast-with-ack without packet.data");
        return;
    }
    int timeout = CLUSTER_ACK_TIMEOUT_MS;
    if (json_get(obj, n, "opts", &opts, &olen) == 0 &&
        json_get(opts, olen, "flags", &flags, &flen) == 0)
        timeout = (int)cm_get_int(flags, flen, "timeout", CLUSTER_ACK_TIMEOUT_MS);
    if (timeout < 0)
        timeout = CLUSTER_ACK_TIMEOUT_MS;
    if (timeout > CLUSTER_MAX_ACK_TIMEOUT_MS)
        timeout = CLUSTER_MAX_ACK_TIMEOUT_MS;
    char name[SIO_MAX_EVENT_NAME + 1];
    struct hub_args a = {0};
    struct ack_request *ar = calloc(1, sizeof *ar);
    if (!ar || !(ar->id = strdup(rid)) || cm_split_event(data, dlen, name, &a) != 0) {
        if (ar)
            free(ar->id);
        free(ar);
        cm_names_free(&rooms);
        cm_names_free(&except);
        return;
    }
    a.bins = nbins ? bins : NULL;
    a.nbins = nbins;
    ar->nsp = nsp;
    ar->left = 1; /* held by us until the walk is done */
    struct ack_walk w = {name, &a, timeout, ar};
    hub_select_each(nsp, &sel, take_ack, &w);
    struct jbuf *jb = &cl.scratch;
    jb_reset(jb);
    jb_lit(jb, "{\"type\":8,\"requestId\":");
    jb_str(jb, rid, strlen(rid));
    jb_lit(jb, ",\"clientCount\":");
    jb_int(jb, (long long)(ar->left - 1));
    jb_lit(jb, "}");
    if (!jb->oom)
        publish_response(nsp, jb->p, jb->len);
    if (--ar->left == 0) {
        free(ar->id);
        free(ar);
    }
    cm_names_free(&rooms);
    cm_names_free(&except);
}

static void take_id(struct hub_socket *s, void *ud)
{
    struct jbuf *jb = ud;
    if (jb->p[jb->len - 1] != '[')
        jb_lit(jb, ",");
    jb_str(jb, hub_socket_id(s), strlen(hub_socket_id(s)));
}

static void take_describe(struct hub_socket *s, void *ud)
{
    struct jbuf *jb = ud;
    if (jb->p[jb->len - 1] != '[')
        jb_lit(jb, ",");
    hub_describe_socket(s, jb);
}

/* One request from the request channel, decoded to JSON. */
static void on_request(struct hub_nsp *nsp, const char *obj, size_t n,
                       const struct hub_blob *bins, size_t nbins)
{
    char uid[64] = "", rid[64] = "";
    json_get_cstring(obj, n, "uid", uid, sizeof uid);
    bool mine = strcmp(uid, cl.uid) == 0;
    bool has_rid = json_get_cstring(obj, n, "requestId", rid, sizeof rid) >= 0;
    int64_t type = cm_get_int(obj, n, "type", -1);
    struct cm_names rooms = {0}, except = {0}, targets = {0};
    struct hub_select sel;
    const char *v;
    size_t vlen;
    if (mine)
        return; /* we acted, or asked, ourselves (§6) */
    struct jbuf *jb = &cl.scratch;
    switch (type) {
    case 0: /* SOCKETS (legacy): ids of the sockets in rooms */
    case 5: /* REMOTE_FETCH */
        if (!has_rid)
            break;
        if (type == 0) {
            memset(&sel, 0, sizeof sel);
            if (json_get(obj, n, "rooms", &v, &vlen) == 0 && cm_names_from_json(&rooms, v, vlen) != 0)
                break;
            sel.rooms = rooms.v;
            sel.nrooms = rooms.n;
            sel.local = true;
        } else if (cm_select(obj, n, &rooms, &except, &sel) != 0) {
            break;
        }
        {
            struct jbuf answer = {0};
            jb_lit(&answer, "{\"requestId\":");
            jb_str(&answer, rid, strlen(rid));
            jb_lit(&answer, ",\"sockets\":[");
            hub_select_each(nsp, &sel, type == 0 ? take_id : take_describe, &answer);
            jb_lit(&answer, "]}");
            if (!answer.oom)
                publish_response(nsp, answer.p, answer.len);
            jb_free(&answer);
        }
        break;
    case 1: /* ALL_ROOMS */
        if (!has_rid)
            break;
        jb_reset(jb);
        jb_lit(jb, "{\"requestId\":");
        jb_str(jb, rid, strlen(rid));
        jb_lit(jb, ",\"rooms\":[");
        hub_local_rooms(nsp, jb);
        jb_lit(jb, "]}");
        if (!jb->oom)
            publish_response(nsp, jb->p, jb->len);
        break;
    case 2: /* REMOTE_JOIN */
    case 3: /* REMOTE_LEAVE */
        if (cm_select(obj, n, &rooms, &except, &sel) != 0 ||
            json_get(obj, n, "rooms", &v, &vlen) != 0 || cm_names_from_json(&targets, v, vlen) != 0)
            break; /* the legacy sid+room form is not answered (§6) */
        for (size_t i = 0; i < targets.n; i++) {
            if (type == 2)
                hub_sockets_join(nsp, &sel, targets.v[i]);
            else
                hub_sockets_leave(nsp, &sel, targets.v[i]);
        }
        break;
    case 4: /* REMOTE_DISCONNECT */
        if (cm_select(obj, n, &rooms, &except, &sel) != 0)
            break;
        hub_disconnect_sockets(nsp, &sel, json_get(obj, n, "close", &v, &vlen) == 0 &&
                                              json_type_of(v, vlen) == JSON_TRUE);
        break;
    case 6: { /* SERVER_SIDE_EMIT */
        char name[SIO_MAX_EVENT_NAME + 1];
        struct hub_args a = {0};
        if (json_get(obj, n, "data", &v, &vlen) != 0 || cm_split_event(v, vlen, name, &a) != 0) {
            drop("the request channel", "a server-side emit without [event, ...]");
            break;
        }
        a.bins = nbins ? bins : NULL;
        a.nbins = nbins;
        hub_server_event(nsp, name, &a, has_rid ? rid : NULL);
        break;
    }
    case 7: /* BROADCAST with acks */
        if (has_rid)
            broadcast_with_ack(nsp, obj, n, bins, nbins, rid);
        break;
    default:
        break; /* unknown types are ignored (§10.4) */
    }
    cm_names_free(&rooms);
    cm_names_free(&except);
    cm_names_free(&targets);
}

/* One response: an answer to a question of ours, or not ours at all. */
static void on_response(const char *obj, size_t n)
{
    char rid[64];
    if (json_get_cstring(obj, n, "requestId", rid, sizeof rid) < 0)
        return;
    struct request *q;
    for (q = cl.requests; q && strcmp(q->id, rid) != 0; q = q->next)
        ;
    if (!q)
        return; /* someone else's, or too late */
    const char *v;
    size_t vlen;
    if (q->acks) { /* type 8: a node's client count; type 9: one answer */
        int64_t type = cm_get_int(obj, n, "type", -1);
        if (type == 8)
            hub_acks_count(q->acks, (size_t)cm_get_int(obj, n, "clientCount", 0));
        else if (type == 9 && json_get(obj, n, "packet", &v, &vlen) == 0)
            hub_acks_reply(q->acks, v, vlen);
        return; /* kept until its timer: answers may still come */
    }
    const char *field = q->what == HUB_ASK_SOCKETS ? "sockets" : "rooms";
    if (json_get(obj, n, field, &v, &vlen) == 0 && json_type_of(v, vlen) == JSON_ARRAY &&
        vlen >= 2)
        hub_gather_add(q->g, v + 1, vlen - 2); /* the items, without [ ] */
    q->got++;
    if (q->expected >= 0 && q->got >= q->expected)
        request_end(q);
}

/* The namespace whose channel chan is: {key}{kind}{nsp}# exactly. */
static struct hub_nsp *channel_nsp(const char *chan, size_t len, const char *kind)
{
    char want[CLUSTER_MAX_CHANNEL];
    for (struct hub_nsp *nsp = hub_first_nsp(cl.hub); nsp; nsp = hub_next_nsp(nsp)) {
        size_t n = channel(want, "%s%s%s#", cl.key, kind, hub_nsp_name(nsp));
        if (n == len && memcmp(want, chan, len) == 0)
            return nsp;
        if (strcmp(kind, "-response#") == 0 && n && n + strlen(cl.uid) + 1 == len &&
            memcmp(want, chan, n) == 0 && memcmp(chan + n, cl.uid, strlen(cl.uid)) == 0 &&
            chan[len - 1] == '#')
            return nsp;
    }
    return NULL;
}

/* A push on the subscriber: a message, or a subscription confirmed. */
static void on_push(struct redis *r, const struct resp_push *p,
                    const struct resp_reply *reply, void *ud);

/* ========================================================================
 * Up and down
 * ======================================================================== */

static void say_up(void)
{
    if (cl.up || !redis_ready(cl.pub) || !redis_ready(cl.sub) || cl.subs_due > 0)
        return;
    cl.up = true;
    cl.said_down = false;
    if (cl.unsent)
        fprintf(stderr, "wshub: redis %s:%s up (%llu broadcasts were not published "
                "while down)\n", cl.url.host, cl.url.port, (unsigned long long)cl.unsent);
    else
        fprintf(stderr, "wshub: redis %s:%s up\n", cl.url.host, cl.url.port);
    cl.unsent = 0;
}

static void on_node_number(struct redis *r, const struct resp_reply *rep, void *ud)
{
    (void)r;
    (void)ud;
    if (rep && rep->v[0].type == RESP_T_INTEGER) {
        hub_set_node(cl.hub, (uint32_t)(rep->v[0].integer % HUB_MAX_NODES));
        cl.have_node = true;
    }
}

/* Subscribe to nsp's channels (§10.1), on the subscriber only. */
static void subscribe_nsp(struct hub_nsp *nsp)
{
    const char *name = hub_nsp_name(nsp);
    char c[4][CLUSTER_MAX_CHANNEL];
    size_t l[4];
    l[0] = channel(c[0], "%s#%s#*", cl.key, name);
    l[1] = channel(c[1], "%s-request#%s#", cl.key, name);
    l[2] = channel(c[2], "%s-response#%s#", cl.key, name);
    l[3] = channel(c[3], "%s-response#%s#%s#", cl.key, name, cl.uid);
    if (!l[0] || !l[1] || !l[2] || !l[3])
        return;
    const char *pa[2] = {"PSUBSCRIBE", c[0]};
    size_t pl[2] = {10, l[0]};
    const char *sa[4] = {"SUBSCRIBE", c[1], c[2], c[3]};
    size_t sl[4] = {9, l[1], l[2], l[3]};
    if (redis_command(cl.sub, 2, pa, pl, NULL, NULL) == 0)
        cl.subs_due += 1;
    if (redis_command(cl.sub, 4, sa, sl, NULL, NULL) == 0)
        cl.subs_due += 3;
}

/* A connection is ready: the publisher takes this node's number once;
 * the subscriber subscribes to every namespace's channels (§10.1). */
static void on_ready(struct redis *r, void *ud)
{
    (void)ud;
    if (r == cl.pub && !cl.have_node) {
        char k[CLUSTER_MAX_CHANNEL];
        size_t n = channel(k, "%s#wshub#nodes", cl.key);
        const char *argv[2] = {"INCR", k};
        size_t lens[2] = {4, n};
        redis_command(cl.pub, 2, argv, lens, on_node_number, NULL);
    }
    if (r == cl.sub) {
        cl.subs_due = 0;
        for (struct hub_nsp *nsp = hub_first_nsp(cl.hub); nsp; nsp = hub_next_nsp(nsp))
            subscribe_nsp(nsp);
    }
    say_up();
}

static void on_lost(struct redis *r, const char *why, void *ud)
{
    (void)r;
    (void)ud;
    cl.up = false;
    if (!cl.said_down) {
        fprintf(stderr, "wshub: redis %s:%s down: %s\n", cl.url.host, cl.url.port, why);
        cl.said_down = true;
    }
}

static void on_push(struct redis *r, const struct resp_push *p,
                    const struct resp_reply *reply, void *ud)
{
    (void)r;
    (void)reply;
    (void)ud;
    switch (p->kind) {
    case RESP_PUSH_SUBSCRIBE:
    case RESP_PUSH_PSUBSCRIBE:
        if (cl.subs_due > 0 && --cl.subs_due == 0)
            say_up();
        return;
    case RESP_PUSH_PMESSAGE:
        on_broadcast_message(&p->channel, &p->payload);
        return;
    case RESP_PUSH_MESSAGE:
        break;
    default:
        return;
    }
    struct hub_nsp *nsp;
    bool request = (nsp = channel_nsp(p->channel.ptr, p->channel.len, "-request#")) != NULL;
    if (!request && !channel_nsp(p->channel.ptr, p->channel.len, "-response#"))
        return;
    struct jbuf json = {0};
    struct hub_blob bins[SIO_MAX_ATTACHMENTS];
    size_t nbins;
    const char *why;
    if (cm_decode((const uint8_t *)p->payload.ptr, p->payload.len, &json, bins, &nbins, &why) != 0)
        drop(request ? "the request channel" : "the response channel", why);
    else if (request)
        on_request(nsp, json.p, json.len, bins, nbins);
    else
        on_response(json.p, json.len);
    jb_free(&json);
}

/* ========================================================================
 * Starting and stopping
 * ======================================================================== */

static const struct redis_events events = {on_ready, on_lost, on_push};

/* Join the cluster at url (--redis), with key as the channels' prefix.
 * The connections come up on the loop's next turns; until then, and
 * whenever Redis is away, the hub serves this node alone. */
int cluster_start(struct hub *h, const char *url, const char *key,
                  int requests_timeout, size_t max_output,
                  struct pollfd slots[CLUSTER_SLOTS])
{
    const char *why;
    if (redis_url_parse(url, &cl.url, &why) != 0) {
        fprintf(stderr, "wshub: --redis %s: %s\n", url, why);
        return -1;
    }
    if (strpbrk(key, "*?[]\\#") || strlen(key) > 128) {
        fprintf(stderr, "wshub: --redis-key %s: no * ? [ ] \\ or #, at most 128 bytes\n", key);
        return -1;
    }
    cl.hub = h;
    cl.key = strdup(key);
    cl.requests_timeout = requests_timeout;
    random_uid(cl.uid);
    cl.pub = redis_new(&cl.url, "pub", false, max_output, &events, NULL, &slots[0]);
    cl.sub = redis_new(&cl.url, "sub", true, max_output, &events, NULL, &slots[1]);
    if (!cl.key || !cl.pub || !cl.sub) {
        fprintf(stderr, "wshub: --redis: out of memory\n");
        cluster_free();
        return -1;
    }
    hub_set_adapter(h, &adapter, NULL);
    return 0;
}

/* The loop saw the connections' entries ready. */
void cluster_io(const struct pollfd slots[CLUSTER_SLOTS])
{
    if (cl.pub)
        redis_io(cl.pub, slots[0].revents);
    if (cl.sub)
        redis_io(cl.sub, slots[1].revents);
}

/* Leave: questions still open are answered with what came. */
void cluster_free(void)
{
    if (cl.hub)
        hub_set_adapter(cl.hub, NULL, NULL);
    while (cl.requests)
        request_end(cl.requests);
    redis_free(cl.pub);
    redis_free(cl.sub);
    free(cl.key);
    jb_free(&cl.scratch);
    memset(&cl, 0, sizeof cl);
}
