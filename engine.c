/* engine.c -- Engine.IO v4 sessions, over WebSocket or HTTP long-polling
 * SPDX-License-Identifier: MIT
 *
 * An Engine.IO session outlives any one connection. Over WebSocket it is
 * one connection, one packet per frame. Over long-polling it is a series
 * of HTTP requests: a GET that we hold until we have packets for it, and
 * POSTs that carry the client's packets, each batch joined by \x1e with
 * binary packets as "b" + base64. The upgrade moves a polling session to
 * a WebSocket without losing or reordering a packet. This file owns all
 * of that: the session table, the handshake, the heartbeat, the polling
 * queue and the upgrade. The event hub above (hub.c) gets only message
 * payloads and never learns which transport a session is on; plain
 * Engine.IO at /engine.io/ (--app echo) sends every message back.
 *
 * It owns no socket: web.c routes requests here and server.c hands over
 * WebSocket messages; answers are queued on connections (conn.h).
 *
 * Ordering, the one invariant of the upgrade: every packet goes into one
 * FIFO -- the polling queue or the WebSocket -- and the queue empties
 * before the WebSocket takes over. After "2probe" the client stops
 * polling, so a GET is answered at once with what is queued plus a noop;
 * what is queued after that goes over the WebSocket once "5" arrives.
 *
 * Each session has one timer in the loop's heap, set for the earliest of
 * its ping, its pong's deadline and its upgrade's deadline.
 *
 * Simplifications, named: a held GET is answered with everything queued
 * (no maxPayload split on the way out, as the reference server does).
 *
 * References: engine.io-protocol v4: "Transports" (long-polling, request
 * rules, WebSocket), "Protocol" (handshake, heartbeat, upgrade, message),
 * "Packet encoding"; engine.io's server errors (Server.errorMessages).
 */
#define _GNU_SOURCE /* realpath, strdup, O_CLOEXEC, PATH_MAX */
#include "conn.h"
#include "eio.h"
#include "http.h"
#include "hub.h"
#include "metrics.h"
#include "pool.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPGRADE_TIMEOUT_MS 10000 /* a probe that never sends "5" is closed */

/* Engine.IO's error codes, each answered with 400 (Forbidden: 403) and
 * {"code":N,"message":"..."}, as the reference server does. */
enum eio_error {
    EIO_ERR_TRANSPORT = 0,   /* "Transport unknown" */
    EIO_ERR_SID = 1,         /* "Session ID unknown" */
    EIO_ERR_METHOD = 2,      /* "Bad handshake method" */
    EIO_ERR_BAD_REQUEST = 3, /* "Bad request" */
    EIO_ERR_FORBIDDEN = 4,   /* "Forbidden" */
    EIO_ERR_VERSION = 5      /* "Unsupported protocol version" */
};

static const char *const error_text[] = {
    "Transport unknown", "Session ID unknown", "Bad handshake method",
    "Bad request", "Forbidden", "Unsupported protocol version",
};

enum transport { T_POLLING, T_WEBSOCKET };

/* One session. Ordered so that the small fields share one word: every
 * open session is one of these. */
struct eio_session {
    char sid[21];              /* 20 base64url characters from RAND_bytes */
    uint8_t transport;         /* enum transport: where packets go now */
    bool awaiting_pong;        /* a ping is out; `beat` is its deadline */
    bool closed;               /* ended: out of the table, to be freed */
    bool probed;               /* "3probe" sent; "5" awaited on c->probe */
    bool echo;                 /* plain Engine.IO: messages come back */
    bool flushing;             /* on eng.flush: a held GET has an answer */
    bool end_on_get;           /* the server closes it: the next GET takes
                                * what is queued and the close packet */
    char end_packet;           /* closed: the held GET's last packet, '1'
                                * (we closed) or '6' (the client did) */
    struct hub_session *hub;   /* the hub's side, unless echo */
    struct conn *ws;           /* T_WEBSOCKET: the connection */
    struct conn *get;          /* T_POLLING: the held GET, or NULL */
    struct conn *post;         /* T_POLLING: a POST whose body arrives */
    struct conn *probe;        /* a WebSocket upgrading us, or NULL */
    struct buf queue;          /* T_POLLING: encoded packets for the next
                                * GET, joined by \x1e */
    char *cors;                /* CORS lines for answers to a held GET */
    const char *reason;        /* closed: why, for the hub's handlers */
    int64_t beat;              /* ms: the next ping is due then, or, while
                                * awaiting_pong, the pong must come by then */
    int64_t upgrade_deadline;  /* ms: the probe must finish by then */
    struct timer timer;        /* the earlier of beat and upgrade_deadline */
    struct eio_session *chain; /* next in the same hash bucket while open;
                                * next on eng.dead once closed */
    struct eio_session *next_flush;  /* link in eng.flush */
};


static struct {
    struct eio_session **buckets; /* sid -> session; nbuckets chains */
    size_t nbuckets;              /* a power of two, or 0 */
    size_t count;                 /* sessions in the table */
    struct eio_session *flush;    /* sessions with an answer for a GET */
    struct eio_session *dead;     /* closed this turn, freed at its end */
    struct pool pool;             /* every struct eio_session (pool.h) */
    uint32_t seed;                /* hash seed, against chosen collisions */
} eng;

/* Give a session's memory back to the pool. */
static void session_free(struct eio_session *s)
{
    buf_free(&s->queue);
    free(s->cors);
    pool_release(&eng.pool, s);
}

/* ========================================================================
 * The session table
 * ======================================================================== */

static uint32_t hash_sid(const char *sid)
{
    uint32_t h = 2166136261u ^ eng.seed; /* FNV-1a */
    for (; *sid; sid++) {
        h ^= (unsigned char)*sid;
        h *= 16777619u;
    }
    return h;
}

/* Add s to the table, doubling it at load 2 (chains of two are cheap to
 * walk; a bucket costs every session 8 bytes). Returns 0, or -1. */
static int table_add(struct eio_session *s)
{
    if (eng.count >= 2 * eng.nbuckets) {
        size_t nb = eng.nbuckets ? eng.nbuckets * 2 : 64;
        struct eio_session **b = calloc(nb, sizeof *b);
        if (!b)
            return -1;
        for (size_t i = 0; i < eng.nbuckets; i++) {
            while (eng.buckets[i]) {
                struct eio_session *x = eng.buckets[i];
                eng.buckets[i] = x->chain;
                size_t k = hash_sid(x->sid) & (nb - 1);
                x->chain = b[k];
                b[k] = x;
            }
        }
        free(eng.buckets);
        eng.buckets = b;
        eng.nbuckets = nb;
    }
    size_t k = hash_sid(s->sid) & (eng.nbuckets - 1);
    s->chain = eng.buckets[k];
    eng.buckets[k] = s;
    eng.count++;
    return 0;
}

static void table_del(struct eio_session *s)
{
    struct eio_session **p = &eng.buckets[hash_sid(s->sid) & (eng.nbuckets - 1)];
    while (*p != s)
        p = &(*p)->chain;
    *p = s->chain;
    eng.count--;
}

/* The open session whose sid is v[0..n), or NULL. */
static struct eio_session *table_find(const char *v, size_t n)
{
    char sid[21];
    if (n != 20 || eng.nbuckets == 0)
        return NULL;
    memcpy(sid, v, 20);
    sid[20] = '\0';
    struct eio_session *s = eng.buckets[hash_sid(sid) & (eng.nbuckets - 1)];
    while (s && strcmp(s->sid, sid) != 0)
        s = s->chain;
    return s;
}

/* ========================================================================
 * Sending
 * ======================================================================== */

static void session_end(struct eio_session *s, const char *reason,
                        char end_packet, uint16_t code, const char *text);
static void session_fire(struct timer *t, int64_t now);
static void session_arm(struct eio_session *s);

/* --trace: one line per packet, on either transport. */
static void trace_packet(const struct conn *c, const char *dir, int type,
                         bool binary, const uint8_t *p, size_t n)
{
    if (!srv.opt.trace || !c)
        return;
    printf("%s %s   engine.io %s%s ", conn_peer_name(c), dir,
           binary ? "binary " : "", eio_type_name(type));
    trace_bytes(p, n);
    putchar('\n');
    fflush(stdout);
}

/* Have s's held GET answered at the end of this turn. */
static void want_flush(struct eio_session *s)
{
    if (s->flushing || !s->get)
        return;
    s->flushing = true;
    s->next_flush = eng.flush;
    eng.flush = s;
}

/* Send one packet: type, then p[0..n) (binary: the bytes of a message).
 * Over WebSocket it becomes one frame now; over polling it joins the
 * queue for the next GET. Either way the output is bounded by
 * --max-buffered, past which the session ends, as a client that does not
 * read cannot make us hold its packets forever. */
static void session_send(struct eio_session *s, int type, bool binary,
                         const uint8_t *p, size_t n)
{
    if (s->closed)
        return;
    if (s->transport == T_WEBSOCKET) {
        struct conn *c = s->ws;
        if (c->out.len > 0 && c->out.len + n > srv.opt.max_buffered) {
            session_end(s, "transport error", '1', WS_CLOSE_POLICY,
                        "output over --max-buffered");
            return;
        }
        if (binary)
            conn_ws_send_frame(c, WS_OP_BINARY, p, n);
        else
            conn_ws_send_prefixed(c, WS_OP_TEXT, type, p, n);
        conn_later(c);
        return;
    }
    if (!eio_polling_safe(binary, p, n)) {
        /* Only a namespace name can smuggle a raw \x1e this far; it would
         * split into two packets at the client. */
        fprintf(stderr, "wshub: engine.io %s: dropped a packet with a "
                        "record separator in it\n", s->sid);
        return;
    }
    size_t need = eio_encoded_len(binary, n) + (s->queue.len > 0);
    if (s->queue.len > 0 && s->queue.len + need > srv.opt.max_buffered) {
        session_end(s, "transport error", '1', WS_CLOSE_POLICY,
                    "output over --max-buffered");
        return;
    }
    if (buf_reserve(&s->queue, need) != 0) {
        session_end(s, "transport error", '1', WS_CLOSE_INTERNAL_ERROR,
                    "out of memory");
        return;
    }
    char *w = (char *)s->queue.data + s->queue.off + s->queue.len;
    if (s->queue.len > 0)
        *w++ = EIO_SEPARATOR;
    eio_encode(w, type, binary, p, n);
    s->queue.len += need;
    /* Its bytes as a WebSocket frame would carry them: the type and the
     * text, or the binary data (not base64, not the \x1e). */
    metrics_messages(METRICS_POLLING, true, 1, binary ? n : n + 1);
    want_flush(s);
}

/* Answer s's held GET with everything queued, then `last` if it is not
 * 0 (a noop or a close packet): 200 text/plain, packets joined by \x1e. */
static void answer_get(struct eio_session *s, char last)
{
    struct conn *c = s->get;
    size_t n = s->queue.len + (last ? 1 + (s->queue.len > 0) : 0);
    const uint8_t *q = s->queue.data + s->queue.off;
    s->get = NULL;
    c->eio = NULL;
    c->role = ROLE_NONE;
    web_send_head(c, 200, "text/plain; charset=UTF-8", n, s->cors ? s->cors : "");
    conn_send(c, q, s->queue.len);
    if (last) {
        char tail[2] = {EIO_SEPARATOR, last};
        conn_send(c, s->queue.len > 0 ? tail : tail + 1, s->queue.len > 0 ? 2 : 1);
    }
    if (srv.opt.trace) {
        /* Decoding base64 in place spoils the queue, but it has been
         * copied to c->out already and is emptied below. */
        printf("%s -> polling answer, %zu bytes\n", conn_peer_name(c), n);
        size_t pos = 0;
        struct eio_packet pkt;
        const char *why;
        while (eio_payload_next(s->queue.data + s->queue.off, s->queue.len,
                                &pos, &pkt, &why) == 1)
            trace_packet(c, "->", pkt.type, pkt.binary, pkt.data, pkt.len);
        if (last)
            trace_packet(c, "->", last, false, (const uint8_t *)"", 0);
    }
    buf_consume(&s->queue, s->queue.len);
    c->why = "poll answered";
    web_request_done(c);
    conn_later(c);
}

/* Engine.IO's error answer, with the CORS lines the request earned. */
static void engine_error(struct conn *c, enum eio_error code, const char *cors)
{
    char body[96];
    int n = snprintf(body, sizeof body, "{\"code\":%d,\"message\":\"%s\"}",
                     (int)code, error_text[code]);
    c->keep_alive = false;
    c->why = error_text[code];
    web_send_head(c, code == EIO_ERR_FORBIDDEN ? 403 : 400, "application/json",
                  (uint64_t)n, cors);
    conn_send(c, body, (size_t)n);
}

/* web.c refused the request's Origin: 403 Forbidden, or 400 for two
 * Origin headers, in Engine.IO's shape. */
void engine_refuse(struct conn *c, int status)
{
    engine_error(c, status == 403 ? EIO_ERR_FORBIDDEN : EIO_ERR_BAD_REQUEST, "");
    conn_log(c, "engine.io refused: %s", status == 403
             ? "Origin not allowed (see --origin)" : "duplicate Origin");
}

/* ========================================================================
 * Session life
 * ======================================================================== */

/* A new session on transport t, in the table and on the loop's timers;
 * session_start() then says hello. Returns it, or NULL if out of memory. */
static struct eio_session *session_open(enum transport t, bool echo,
                                        const char *cors)
{
    if (eng.pool.size == 0)
        pool_init(&eng.pool, sizeof(struct eio_session), 256);
    struct eio_session *s = pool_alloc(&eng.pool);
    if (!s)
        return NULL;
    if (hub_random_id(s->sid) != 0 || table_add(s) != 0) {
        session_free(s);
        return NULL;
    }
    int64_t now = now_ms();
    s->transport = t;
    s->echo = echo;
    s->cors = cors[0] ? strdup(cors) : NULL;
    s->beat = loop_ping_time(now, srv.opt.ping_interval);
    s->timer.fire = session_fire;
    loop_timer_set(&s->timer, s->beat);
    return s;
}

/* Give the hub what it keeps of the request that opened the session
 * (the handshake socket.io shows): the client's address, the URL and
 * the header fields. */
static void give_handshake(struct eio_session *s, const struct conn *c,
                           const struct http_request *req)
{
    char address[64];
    snprintf(address, sizeof address, "%s", conn_peer_name(c));
    char *colon = strrchr(address, ':'); /* "1.2.3.4:5678" or "[::1]:5678" */
    if (colon)
        *colon = '\0';
    const char *addr = address;
    if (address[0] == '[') {
        addr = address + 1;
        address[strlen(address) - 1] = '\0';
    }
    struct hub_header fields[HTTP_MAX_HEADERS];
    for (size_t i = 0; i < req->nheaders; i++) {
        fields[i].name = req->headers[i].name;
        fields[i].name_len = req->headers[i].name_len;
        fields[i].value = req->headers[i].value;
        fields[i].value_len = req->headers[i].value_len;
    }
    struct hub_handshake hs = {addr, req->target, req->target_len, fields, req->nheaders, false};
    hub_session_handshake(s->hub, &hs);
}

/* Send the open packet and start the hub's side, for the request req on
 * c that opened it. Returns 0, or -1 with the session ended. */
static int session_start(struct eio_session *s, const struct conn *c,
                         const struct http_request *req)
{
    char open[256];
    int n = snprintf(open, sizeof open,
                     "{\"sid\":\"%s\",\"upgrades\":[%s],\"pingInterval\":%d,"
                     "\"pingTimeout\":%d,\"maxPayload\":%zu}",
                     s->sid, s->transport == T_POLLING ? "\"websocket\"" : "",
                     srv.opt.ping_interval, srv.opt.ping_timeout,
                     srv.opt.max_message);
    session_send(s, EIO_OPEN, false, (const uint8_t *)open, (size_t)n);
    if (!s->echo && !s->closed) {
        s->hub = hub_session_open(srv.hub, s, now_ms());
        if (!s->hub) {
            session_end(s, "transport error", '1', WS_CLOSE_INTERNAL_ERROR,
                        "out of memory");
            return -1;
        }
        give_handshake(s, c, req);
    }
    return s->closed ? -1 : 0;
}

/* Detach connection c from its session (c->eio), whatever its role. */
static void detach(struct conn *c)
{
    struct eio_session *s = c->eio;
    if (!s)
        return;
    switch (c->role) {
    case ROLE_WEBSOCKET: s->ws = NULL; break;
    case ROLE_PROBE: s->probe = NULL; s->probed = false; break;
    case ROLE_POLL_GET: s->get = NULL; break;
    case ROLE_POLL_POST: s->post = NULL; break;
    case ROLE_NONE: break;
    }
    c->eio = NULL;
    c->role = ROLE_NONE;
}

/* End session s, once: it leaves the table now (later requests for its
 * sid get "Session ID unknown"), a held GET is answered with what was
 * queued and end_packet, a WebSocket transport is closed with code and
 * text, and the hub hears reason at the end of the turn. */
static void session_end(struct eio_session *s, const char *reason,
                        char end_packet, uint16_t code, const char *text)
{
    if (s->closed)
        return;
    s->closed = true;
    s->reason = reason;
    s->end_packet = end_packet;
    fprintf(stderr, "wshub: engine.io close %s %s (%s)\n", s->sid,
            s->transport == T_POLLING ? "polling" : "websocket", reason);
    table_del(s);
    loop_timer_cancel(&s->timer);
    if (s->ws) {
        struct conn *c = s->ws;
        conn_ws_start_close(c, code, text);
        conn_later(c);
        detach(c);
    }
    if (s->probe) {
        struct conn *c = s->probe;
        conn_ws_start_close(c, WS_CLOSE_GOING_AWAY, "session closed");
        conn_later(c);
        detach(c);
    }
    if (s->post)
        detach(s->post); /* its body, when complete, finds no session */
    if (s->get)
        want_flush(s);
    s->chain = eng.dead; /* out of the table: its link is free */
    eng.dead = s;
}

/* The client broke Engine.IO: "parse error", the reference's reason. */
static void session_fail(struct eio_session *s, const char *why)
{
    session_end(s, "parse error", '1', WS_CLOSE_POLICY, why);
}

/* The upgrade's last step, "5": the probe becomes the transport, and what
 * the polling queue still holds follows it in order, one frame each. */
static void finish_upgrade(struct eio_session *s)
{
    struct conn *c = s->probe;
    if (s->get) /* "5" came before the noop went out: send it first */
        answer_get(s, EIO_NOOP);
    s->probe = NULL;
    s->probed = false;
    s->transport = T_WEBSOCKET;
    s->ws = c;
    c->role = ROLE_WEBSOCKET;
    conn_log(c, "engine.io upgraded %s to websocket", s->sid);
    size_t pos = 0;
    struct eio_packet pkt;
    const char *why;
    uint8_t *q = s->queue.data + s->queue.off;
    while (eio_payload_next(q, s->queue.len, &pos, &pkt, &why) == 1)
        session_send(s, pkt.type, pkt.binary, pkt.data, pkt.len);
    buf_free(&s->queue);
    if (s->hub)
        hub_session_upgraded(s->hub);
}

/* One packet from the client, on whatever transport ("Protocol").
 * Returns 0, or -1 with *why for a packet a client may not send (the
 * caller ends the session as a parse error). */
static int packet_in(struct eio_session *s, const struct eio_packet *pkt,
                     const char **why)
{
    switch (pkt->type) {
    case EIO_PONG: /* the client is alive: ping again an interval on */
        if (s->awaiting_pong) {
            s->awaiting_pong = false;
            s->beat = loop_ping_time(now_ms(), srv.opt.ping_interval);
            /* The timer waits for the pong deadline; with an interval
             * shorter than the timeout the next ping is due before it. */
            session_arm(s);
        }
        return 0;
    case EIO_MESSAGE:
        if (s->echo)
            session_send(s, EIO_MESSAGE, pkt->binary, pkt->data, pkt->len);
        else
            hub_session_message(s->hub, pkt->binary, pkt->data, pkt->len,
                                now_ms());
        return 0;
    case EIO_CLOSE: /* the client is leaving; a held GET gets a noop */
        session_end(s, "transport close", EIO_NOOP, WS_CLOSE_NORMAL, "");
        return 0;
    case EIO_NOOP:
    case EIO_UPGRADE: /* only meaningful on a probe; harmless here */
        return 0;
    case EIO_PING: /* "From v3 to v4": only the server pings */
        *why = "the client may not send ping in Engine.IO v4";
        return -1;
    default:
        *why = "the client may not send an open packet";
        return -1;
    }
}

/* ========================================================================
 * Requests: the handshake, polling and the upgrade
 * ======================================================================== */

/* The query parameter name, or NULL with *n = 0 when it is absent. */
static const char *param(const struct http_request *req, const char *name,
                         size_t *n)
{
    const char *v;
    if (http_query_param(req->target, req->target_len, name, &v, n) != 0) {
        *n = 0;
        return NULL;
    }
    return v;
}

static bool is(const char *v, size_t n, const char *want)
{
    return v && n == strlen(want) && memcmp(v, want, n) == 0;
}

/* Which Engine.IO the request is for: /engine.io/ is plain (echo). */
static bool wants_echo(const struct http_request *req)
{
    return req->target_len >= 10 && memcmp(req->target, "/engine.io", 10) == 0;
}

/* Remember the CORS lines a session's held GETs are answered with. */
static void keep_cors(struct eio_session *s, const char *cors)
{
    if (s->cors && strcmp(s->cors, cors) == 0)
        return;
    free(s->cors);
    s->cors = cors[0] ? strdup(cors) : NULL;
}

/* The open session a request names, or NULL. A pong overdue is checked
 * first, so that a session whose heartbeat stopped is gone even between
 * two ticks. */
static struct eio_session *live_session(const char *sid, size_t sid_len,
                                        const struct http_request *req)
{
    struct eio_session *s = table_find(sid, sid_len);
    if (s && s->awaiting_pong && now_ms() >= s->beat) {
        session_end(s, "ping timeout", '1', WS_CLOSE_GOING_AWAY, "ping timeout");
        return NULL;
    }
    return s && s->echo == wants_echo(req) ? s : NULL;
}

/* The same, for a polling request: NULL after answering the error,
 * "Session ID unknown", or "Bad request" for a session on WebSocket. */
static struct eio_session *polling_session(struct conn *c,
                                           const struct http_request *req,
                                           const char *sid, size_t sid_len,
                                           const char *cors)
{
    struct eio_session *s = live_session(sid, sid_len, req);
    if (!s) {
        engine_error(c, EIO_ERR_SID, cors);
        return NULL;
    }
    if (s->transport != T_POLLING) {
        engine_error(c, EIO_ERR_BAD_REQUEST, cors);
        return NULL;
    }
    return s;
}

/* A polling GET: hold it until the session has packets. "To ensure packet
 * ordering, a client MUST NOT have more than one active GET request" --
 * a second one is a 400, and ends the session. */
static void poll_get(struct conn *c, struct eio_session *s, const char *cors)
{
    if (s->get) {
        engine_error(c, EIO_ERR_BAD_REQUEST, cors);
        session_end(s, "transport error", '1', WS_CLOSE_POLICY,
                    "overlapping GET requests");
        return;
    }
    keep_cors(s, cors);
    s->get = c;
    c->eio = s;
    c->role = ROLE_POLL_GET;
    c->deadline = 0; /* the heartbeat bounds how long it is held */
    if (s->end_on_get) {
        session_end(s, "forced server close", '1', WS_CLOSE_NORMAL, "closed by the server");
        return;
    }
    if (s->queue.len > 0 || s->probed)
        want_flush(s);
}

/* A polling POST: decode the payload, hand each packet on, answer "ok".
 * A payload that does not decode is a 400 and ends the session. */
static void poll_post(struct conn *c, struct eio_session *s, uint8_t *body,
                      size_t n, const char *cors)
{
    if (c->role == ROLE_POLL_POST && c->eio == s) {
        detach(c); /* its body has arrived: no longer in flight */
    } else if (s->post) {
        engine_error(c, EIO_ERR_BAD_REQUEST, cors);
        session_end(s, "transport error", '1', WS_CLOSE_POLICY,
                    "overlapping POST requests");
        return;
    }
    size_t pos = 0;
    struct eio_packet pkt;
    const char *why = "empty payload";
    int r = n == 0 ? -1 : 1;
    while (r == 1 && !s->closed) {
        r = eio_payload_next(body, n, &pos, &pkt, &why);
        if (r == 1) {
            trace_packet(c, "<-", pkt.type, pkt.binary, pkt.data, pkt.len);
            metrics_messages(METRICS_POLLING, false, 1, pkt.binary ? pkt.len : pkt.len + 1);
            if (packet_in(s, &pkt, &why) != 0)
                r = -1;
        }
    }
    if (r < 0) {
        conn_log(c, "engine.io bad payload: %s", why);
        engine_error(c, EIO_ERR_BAD_REQUEST, cors);
        session_fail(s, why);
        return;
    }
    web_send_head(c, 200, "text/plain; charset=UTF-8", 2, cors);
    conn_send(c, "ok", 2);
    c->why = "ok";
}

/* A WebSocket request. Without a sid it starts a session on WebSocket;
 * with one it is an upgrade probe for a polling session, which may have
 * only one ("A client MUST NOT open more than one WebSocket connection
 * per session"). */
static void websocket_request(struct conn *c, const struct http_request *req,
                              const char *sid, size_t sid_len, const char *cors)
{
    struct eio_session *s = NULL;
    if (sid) {
        s = live_session(sid, sid_len, req);
        if (!s) {
            engine_error(c, EIO_ERR_SID, cors);
            return;
        }
    }
    if (!http_find_header(req, "Upgrade", NULL)) {
        engine_error(c, EIO_ERR_BAD_REQUEST, cors);
        return;
    }
    web_upgrade(c, req);
    if (c->state != CONN_WS_OPEN)
        return;
    c->deadline = 0; /* Engine.IO runs its own heartbeat */
    if (s && (s->transport != T_POLLING || s->probe)) {
        /* The reference server completes the handshake, then closes;
         * the protocol's own test suite waits for that close. */
        conn_ws_start_close(c, WS_CLOSE_POLICY, "session has its WebSocket");
        return;
    }
    if (s) {
        s->probe = c;
        s->upgrade_deadline = now_ms() + UPGRADE_TIMEOUT_MS;
        session_arm(s);
        c->eio = s;
        c->role = ROLE_PROBE;
        return;
    }
    s = session_open(T_WEBSOCKET, wants_echo(req), "");
    if (!s) {
        conn_ws_start_close(c, WS_CLOSE_INTERNAL_ERROR, "no session");
        return;
    }
    s->ws = c;
    c->eio = s;
    c->role = ROLE_WEBSOCKET;
    session_start(s, c, req);
}

/* Everything that reaches /socket.io/ (or /engine.io/ with --app echo),
 * after web.c has checked the Origin: cors holds the CORS lines for the
 * answer. body is a POST's complete body. */
void engine_request(struct conn *c, const struct http_request *req,
                    const char *cors, uint8_t *body, size_t body_len)
{
    size_t n, sid_len;
    const char *v = param(req, "EIO", &n);
    if (!is(v, n, "4")) {
        engine_error(c, EIO_ERR_VERSION, cors);
        return;
    }
    const char *sid = param(req, "sid", &sid_len);
    v = param(req, "transport", &n);
    if (is(v, n, "websocket")) {
        websocket_request(c, req, sid, sid_len, cors);
        return;
    }
    if (!is(v, n, "polling")) {
        engine_error(c, EIO_ERR_TRANSPORT, cors);
        return;
    }
    bool get = http_method_is(req, "GET");
    if (!sid) {
        /* The handshake ("Handshake"): a GET, answered with the open
         * packet at once (the hold finds it queued). */
        if (!get) {
            engine_error(c, EIO_ERR_METHOD, cors);
            return;
        }
        if (eng.count >= srv.opt.max_conns) {
            web_error(c, 503, "server is at --max-conns sessions", cors, false);
            return;
        }
        struct eio_session *s = session_open(T_POLLING, wants_echo(req), cors);
        if (!s) {
            web_error(c, 500, "out of memory", cors, false);
            return;
        }
        conn_log(c, "engine.io open %s polling", s->sid);
        poll_get(c, s, cors);
        session_start(s, c, req);
        return;
    }
    struct eio_session *s = polling_session(c, req, sid, sid_len, cors);
    if (!s)
        return;
    if (get)
        poll_get(c, s, cors);
    else if (http_method_is(req, "POST"))
        poll_post(c, s, body, body_len, cors);
    else
        engine_error(c, EIO_ERR_BAD_REQUEST, cors);
}

/* A POST's head has arrived and its body is still coming: mark it in
 * flight, so that a second POST meanwhile is refused. Returns 0, or -1
 * with the error answered. */
int engine_post_begin(struct conn *c, const struct http_request *req)
{
    size_t n, sid_len;
    const char *v = param(req, "EIO", &n);
    const char *sid = param(req, "sid", &sid_len);
    const char *t = param(req, "transport", &n);
    if (!v || !sid || !is(t, n, "polling"))
        return 0; /* engine_request answers it once the body is here */
    struct eio_session *s = polling_session(c, req, sid, sid_len, "");
    if (!s)
        return -1;
    if (s->post) {
        engine_error(c, EIO_ERR_BAD_REQUEST, "");
        session_end(s, "transport error", '1', WS_CLOSE_POLICY,
                    "overlapping POST requests");
        return -1;
    }
    s->post = c;
    c->eio = s;
    c->role = ROLE_POLL_POST;
    return 0;
}

/* ========================================================================
 * WebSocket messages
 * ======================================================================== */

/* A probe's packets: "2probe" is answered "3probe", and the held GET is
 * ended with a noop so the client can pause polling; "5" completes the
 * upgrade. Anything else abandons it, and the session stays on polling. */
static void probe_message(struct conn *c, struct eio_session *s,
                          const struct eio_packet *pkt)
{
    if (pkt->type == EIO_PING && !pkt->binary && pkt->len == 5 &&
        memcmp(pkt->data, "probe", 5) == 0) {
        conn_ws_send_prefixed(c, WS_OP_TEXT, EIO_PONG,
                              (const uint8_t *)"probe", 5);
        s->probed = true;
        want_flush(s); /* a held GET: what is queued, then "6" */
        return;
    }
    if (pkt->type == EIO_UPGRADE && s->probed) {
        finish_upgrade(s);
        return;
    }
    detach(c);
    conn_ws_start_close(c, WS_CLOSE_POLICY, "unexpected packet during upgrade");
}

/* A complete message on a WebSocket that carries a session or probes one. */
void engine_ws_message(struct conn *c, int opcode, uint8_t *p, size_t n)
{
    struct eio_session *s = c->eio;
    struct eio_packet pkt;
    const char *why;
    if (eio_parse_message(p, n, opcode == WS_OP_BINARY, &pkt, &why) != 0) {
        if (c->role == ROLE_PROBE) {
            detach(c);
            conn_ws_start_close(c, WS_CLOSE_POLICY, why);
        } else {
            session_fail(s, why);
        }
        return;
    }
    if (c->role == ROLE_PROBE)
        probe_message(c, s, &pkt);
    else if (packet_in(s, &pkt, &why) != 0)
        session_fail(s, why);
}

/* c is being freed: its session hears of it. A WebSocket transport that
 * dies ends the session; a probe that dies leaves it on polling; a GET or
 * POST that dies just stops being in flight. */
void engine_conn_gone(struct conn *c)
{
    struct eio_session *s = c->eio;
    bool transport = c->role == ROLE_WEBSOCKET;
    detach(c);
    if (transport)
        session_end(s, "transport close", '1', WS_CLOSE_NORMAL, "");
}

/* ========================================================================
 * Clocks, the end of a turn, shut-down
 * ======================================================================== */

/* Arm s's timer for the earliest of its three times, lazily (timer.h):
 * a timer already due sooner is left to fire and be set again. */
static void session_arm(struct eio_session *s)
{
    int64_t next = s->beat;
    if (s->probe && s->upgrade_deadline < next)
        next = s->upgrade_deadline;
    if (!timer_armed(&s->timer) || next < s->timer.when)
        loop_timer_set(&s->timer, next);
}

/* The heartbeat ("Heartbeat"): ping every --ping-interval, end a session
 * whose pong takes longer than --ping-timeout, and give up on a probe
 * that takes longer than UPGRADE_TIMEOUT_MS. Runs when s's timer is due,
 * which may be early (a pong moved the ping later): then it only re-arms. */
static void session_fire(struct timer *t, int64_t now)
{
    struct eio_session *s = (struct eio_session *)((char *)t - offsetof(struct eio_session, timer));
    if (s->awaiting_pong && now >= s->beat) {
        session_end(s, "ping timeout", '1', WS_CLOSE_GOING_AWAY, "ping timeout");
        return;
    }
    if (!s->awaiting_pong && now >= s->beat) {
        session_send(s, EIO_PING, false, (const uint8_t *)"", 0);
        /* From when the ping leaves, as the reference server counts: a
         * late wake-up of ours must not eat into the client's time. */
        s->awaiting_pong = true;
        s->beat = now + srv.opt.ping_timeout;
    }
    if (!s->closed && s->probe && now >= s->upgrade_deadline) {
        struct conn *c = s->probe;
        detach(c);
        conn_ws_start_close(c, WS_CLOSE_POLICY, "upgrade timed out");
        conn_later(c);
    }
    if (!s->closed)
        session_arm(s);
}

/* The end of a loop turn: answer the held GETs that have something to
 * say, then let the hub hear of the sessions that ended and free them.
 * The hub's handlers may send more, so the loop calls this until
 * engine_pending() is false. */
void engine_end_of_turn(void)
{
    while (eng.flush) {
        struct eio_session *s = eng.flush;
        eng.flush = s->next_flush;
        s->flushing = false;
        if (!s->get)
            continue;
        if (s->closed)
            answer_get(s, s->end_packet);
        else if (s->probed)
            answer_get(s, EIO_NOOP);
        else if (s->queue.len > 0)
            answer_get(s, 0);
    }
    while (eng.dead && !eng.flush) {
        struct eio_session *s = eng.dead;
        eng.dead = s->chain;
        if (s->get)
            detach(s->get); /* answered above, unless it died first */
        if (s->hub)
            hub_session_gone(s->hub, s->reason);
        session_free(s);
    }
}

bool engine_pending(void)
{
    return eng.flush || eng.dead;
}

/* SIGTERM: every session ends, "server shutting down": 1001 on a
 * WebSocket, a close packet to a held GET. */
void engine_shutdown(void)
{
    for (size_t i = 0; i < eng.nbuckets; i++) {
        while (eng.buckets[i]) /* session_end takes it out of the table */
            session_end(eng.buckets[i], "server shutting down", '1',
                        WS_CLOSE_GOING_AWAY, "server shutting down");
    }
}

/* Free what is left, without telling the hub (it is being freed too). */
void engine_free(void)
{
    struct eio_session *s;
    for (size_t i = 0; i < eng.nbuckets; i++) {
        while ((s = eng.buckets[i]) != NULL) {
            eng.buckets[i] = s->chain;
            session_free(s);
        }
    }
    while ((s = eng.dead) != NULL) {
        eng.dead = s->chain;
        session_free(s);
    }
    pool_free(&eng.pool);
    free(eng.buckets);
    memset(&eng, 0, sizeof eng);
}

/* ========================================================================
 * The hub's transport
 * ======================================================================== */

static void hub_send(void *peer, bool binary, const uint8_t *p, size_t n)
{
    session_send(peer, EIO_MESSAGE, binary, p, n);
}

/* The hub ends a session: the WebSocket close code says why. */
static void hub_close(void *peer, enum hub_close why, const char *text)
{
    uint16_t code = why == HUB_CLOSE_TOO_BIG    ? WS_CLOSE_TOO_BIG
                    : why == HUB_CLOSE_INTERNAL ? WS_CLOSE_INTERNAL_ERROR
                    : why == HUB_CLOSE_SERVER   ? WS_CLOSE_NORMAL
                                                : WS_CLOSE_POLICY;
    const char *reason = why == HUB_CLOSE_TIMEOUT  ? "connect timeout"
                         : why == HUB_CLOSE_SERVER ? "forced server close"
                                                   : "parse error";
    struct eio_session *s = peer;
    if (why == HUB_CLOSE_SERVER && s->transport == T_POLLING && !s->get &&
        s->queue.len > 0) {
        /* What the hub said last (its DISCONNECTs) is queued, and no GET
         * is held to carry it: the client's next GET, due at once, takes
         * it with the close packet, as the reference server does. The
         * heartbeat still bounds the wait. */
        s->end_on_get = true;
        return;
    }
    session_end(peer, reason, '1', code, text);
}

/* A volatile packet may be dropped here (hub_broadcast_volatile): a
 * WebSocket the kernel would not take all our bytes for last time (the
 * client is behind), a polling session with no GET held, or one that is
 * upgrading, whose packets wait for the switch. */
static bool hub_writable(void *peer)
{
    struct eio_session *s = peer;
    if (s->closed || s->probe)
        return false;
    if (s->transport == T_WEBSOCKET)
        return s->ws && !s->ws->blocked;
    return s->get != NULL;
}

static const char *hub_info(void *peer, const char **sid)
{
    struct eio_session *s = peer;
    *sid = s->sid;
    return s->transport == T_WEBSOCKET ? "websocket" : "polling";
}

static const struct hub_transport transport = {hub_send, hub_close, hub_writable, hub_info};

const struct hub_transport *engine_transport(void)
{
    if (eng.seed == 0 && RAND_bytes((unsigned char *)&eng.seed, sizeof eng.seed) != 1)
        eng.seed = 1;
    return &transport;
}
