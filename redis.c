/* redis.c -- one non-blocking connection to Redis, inside the loop
 * SPDX-License-Identifier: MIT
 *
 * A small Redis client for the adapter (cluster.c): connect, AUTH and
 * SELECT, then commands with their replies matched in order (Redis
 * answers every command, one reply each, in the order sent), or, on a
 * subscriber, pushes. The bytes are resp.c's business; this file owns
 * the socket, the two byte queues, the callbacks waiting for replies and
 * the reconnecting.
 *
 * The states, in order:
 *
 *   R_IDLE        no socket; the timer is the next attempt (backoff)
 *   R_CONNECTING  connect() in progress: we wait for POLLOUT
 *   R_HELLO       connected, AUTH and SELECT sent, their replies due
 *   R_READY       commands flow; `ready` has been called
 *
 * Any failure takes it from wherever it is back to R_IDLE (lose()).
 *
 * What is deliberately not here: RESP3 (HELLO 3), TLS to Redis, Sentinel
 * and Cluster redirections (MOVED/ASK), pipelining limits beyond the
 * output cap. The adapter needs PUBLISH, (P)SUBSCRIBE and PUBSUB NUMSUB.
 *
 * References: redis.io "Redis serialization protocol specification"
 * (RESP2; request/response and pipelining); "Redis Pub/Sub" (a
 * subscribed connection accepts only (P)(UN)SUBSCRIBE, PING and QUIT);
 * the AUTH and SELECT commands; connect(2) (EINPROGRESS, SO_ERROR).
 */
#define _POSIX_C_SOURCE 200809L /* getaddrinfo, strdup */
#include "redis.h"
#include "conn.h"
#include "json.h"
#include "msgpack.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REDIS_READ_CHUNK 65536         /* bytes asked of one read() */
#define REDIS_MAX_REPLY (64u << 20)    /* bytes in one bulk string: a
                                        * message bigger than this from
                                        * Redis is a protocol error */

enum redis_state { R_IDLE, R_CONNECTING, R_HELLO, R_READY };

/* A command sent whose reply is due. */
struct waiting {
    redis_reply_cb *cb; /* NULL: the reply is dropped (AUTH, SELECT, PING) */
    void *ud;
};

struct redis {
    struct redis_url url;       /* where, and the credentials */
    char *name;                 /* "pub" or "sub", for the log */
    bool subscriber;            /* pushes come on this one */
    uint8_t state;              /* enum redis_state */
    int fd;                     /* the socket, or -1 in R_IDLE */
    struct pollfd *slot;        /* the loop's entry for it; we set fd and
                                 * events, the loop sets revents */
    struct buf in;              /* bytes read, not yet a whole reply */
    struct buf out;             /* commands not yet written */
    size_t max_output;          /* out may not grow past this */
    uint64_t dropped;           /* commands dropped at the cap */
    bool dropping;              /* dropping now: logged once, until the
                                 * output has drained */
    struct waiting *w;          /* replies due: w[whead .. wtail) */
    size_t whead, wtail, wcap;
    int hello_left;             /* R_HELLO: AUTH/SELECT replies to come */
    int64_t progress;           /* ms: last reply, or the start of the
                                 * current attempt */
    int backoff;                /* ms to wait before the next attempt */
    struct timer timer;         /* the next attempt, or the stall check */
    struct redis_events ev;     /* what to call */
    void *ud;                   /* their own pointer */
};

static void attempt(struct redis *r);

/* ========================================================================
 * The URL
 * ======================================================================== */

/* Copy s[0..n) into out (cap bytes, NUL included). Returns 0 or -1. */
static int copy_part(char *out, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* Parse redis://[[user]:password@]host[:port][/db]. An IPv6 address goes
 * in brackets, [::1]:6379. Returns 0, or -1 with *why. */
int redis_url_parse(const char *url, struct redis_url *u, const char **why)
{
    memset(u, 0, sizeof *u);
    strcpy(u->port, "6379");
    if (strncmp(url, "redis://", 8) != 0) {
        *why = "must start with redis://";
        return -1;
    }
    const char *p = url + 8;
    const char *at = strrchr(p, '@');
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!colon || copy_part(u->user, sizeof u->user, p, (size_t)(colon - p)) != 0 ||
            copy_part(u->password, sizeof u->password, colon + 1, (size_t)(at - colon - 1)) != 0) {
            *why = "credentials must be :password@ or user:password@";
            return -1;
        }
        p = at + 1;
    }
    const char *end = p + strcspn(p, "/");
    const char *port = NULL, *host_end;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close) {
            *why = "unclosed [ in the address";
            return -1;
        }
        if (copy_part(u->host, sizeof u->host, p + 1, (size_t)(close - p - 1)) != 0) {
            *why = "address too long";
            return -1;
        }
        host_end = close + 1;
        if (*host_end == ':')
            port = host_end + 1;
        else if (host_end != end) {
            *why = "junk after the address";
            return -1;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host_end = colon ? colon : end;
        port = colon ? colon + 1 : NULL;
        if (copy_part(u->host, sizeof u->host, p, (size_t)(host_end - p)) != 0) {
            *why = "host name too long";
            return -1;
        }
    }
    if (u->host[0] == '\0') {
        *why = "no host";
        return -1;
    }
    if (port) {
        size_t n = (size_t)(end - port);
        int64_t v;
        if (n == 0 || json_int(port, n, 65535, &v) != 0 || v < 1 ||
            strspn(port, "0123456789") != n) {
            *why = "port must be 1 to 65535";
            return -1;
        }
        snprintf(u->port, sizeof u->port, "%d", (int)v);
    }
    if (*end == '/' && end[1] != '\0') {
        int64_t v;
        size_t n = strlen(end + 1);
        if (json_int(end + 1, n, 1000000, &v) != 0 || v < 0 ||
            strspn(end + 1, "0123456789") != n) {
            *why = "database must be a number";
            return -1;
        }
        u->db = (int)v;
    }
    return 0;
}

/* ========================================================================
 * Tracing: commands and replies, decoded (--trace)
 * ======================================================================== */

/* Print one argument or string: as text if it is text, as JSON if it
 * is msgpack (what the adapter publishes), otherwise as its length. */
static void trace_value(const char *p, size_t n)
{
    bool text = true;
    for (size_t i = 0; i < n && text; i++)
        text = (unsigned char)p[i] >= 0x20 && p[i] != 0x7f;
    if (text) {
        printf(" \"%.*s%s\"", (int)(n > 300 ? 300 : n), p, n > 300 ? "..." : "");
        return;
    }
    struct jbuf json = {0};
    struct hub_blob bins[SIO_MAX_ATTACHMENTS];
    size_t nbins;
    const char *why;
    long used = mp_to_json((const uint8_t *)p, n, &json, bins, &nbins, &why);
    if (used == (long)n && !json.oom)
        printf(" msgpack:%.*s%s", (int)(json.len > 300 ? 300 : json.len), json.p,
               json.len > 300 ? "..." : "");
    else
        printf(" <%zu bytes>", n);
    jb_free(&json);
}

static void trace_command(const struct redis *r, int argc,
                          const char *const *argv, const size_t *lens)
{
    printf("redis %s >", r->name);
    for (int i = 0; i < argc; i++)
        trace_value(argv[i], lens[i]);
    printf("\n");
}

static void trace_reply(const struct redis *r, const struct resp_reply *rep)
{
    printf("redis %s <", r->name);
    for (size_t i = 0; i < rep->n; i++) {
        const struct resp_value *v = &rep->v[i];
        switch (v->type) {
        case RESP_T_INTEGER: printf(" :%lld", (long long)v->integer); break;
        case RESP_T_ARRAY: printf(" *%zu", v->nelems); break;
        case RESP_T_NIL: printf(" nil"); break;
        case RESP_T_ERROR: printf(" -"); trace_value(v->str, v->len); break;
        default: trace_value(v->str, v->len); break;
        }
    }
    printf("\n");
}

/* ========================================================================
 * Losing the connection, and coming back
 * ======================================================================== */

static void set_events(struct redis *r)
{
    r->slot->fd = r->fd;
    r->slot->events = r->fd < 0 ? 0
                      : r->state == R_CONNECTING ? POLLOUT
                      : (short)(POLLIN | (r->out.len > 0 ? POLLOUT : 0));
    r->slot->revents = 0;
}

/* The connection failed: tell everyone waiting, call `lost`, and try
 * again after the backoff, which doubles each time up to its maximum. */
static void lose(struct redis *r, const char *why)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    r->state = R_IDLE;
    buf_free(&r->in);
    buf_free(&r->out);
    set_events(r);
    while (r->whead < r->wtail) {
        struct waiting w = r->w[r->whead++];
        if (w.cb)
            w.cb(r, NULL, w.ud);
    }
    r->whead = r->wtail = 0;
    loop_timer_set(&r->timer, now_ms() + r->backoff);
    r->backoff = r->backoff * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : r->backoff * 2;
    if (r->ev.lost)
        r->ev.lost(r, why, r->ud);
}

/* ========================================================================
 * Commands out
 * ======================================================================== */

/* Queue a command whose reply goes to cb (NULL: dropped), whatever the
 * state, for the hello sequence. Returns 0 or -1 (dropped). */
static int queue(struct redis *r, int argc, const char *const *argv,
                 const size_t *lens, redis_reply_cb *cb, void *ud)
{
    size_t need = resp_command_len(argc, argv, lens);
    if (r->out.len + need > r->max_output) {
        /* Redis is not reading: like a slow client, it may not make us
         * buffer without bound (--max-buffered). */
        if (!r->dropping)
            fprintf(stderr, "wshub: redis %s: over %zu bytes of output queued; dropping "
                    "commands until it drains\n", r->name, r->max_output);
        r->dropping = true;
        r->dropped++;
        return -1;
    }
    if (r->wtail == r->wcap) {
        if (r->whead > 0) { /* slide the live part to the front */
            memmove(r->w, r->w + r->whead, (r->wtail - r->whead) * sizeof *r->w);
            r->wtail -= r->whead;
            r->whead = 0;
        }
        if (r->wtail == r->wcap) {
            size_t nc = r->wcap ? r->wcap * 2 : 16;
            struct waiting *nw = realloc(r->w, nc * sizeof *nw);
            if (!nw)
                return -1;
            r->w = nw;
            r->wcap = nc;
        }
    }
    if (buf_reserve(&r->out, need) != 0)
        return -1;
    resp_command((char *)r->out.data + r->out.off + r->out.len, argc, argv, lens);
    r->out.len += need;
    /* A subscriber's (P)SUBSCRIBE is answered by pushes, one per channel,
     * not by a reply in order. */
    bool pushes = r->subscriber && argc > 0 && lens[0] >= 9 &&
                  (strncmp(argv[0], "SUBSCRIBE", 9) == 0 || strncmp(argv[0], "PSUBSCRIBE", 10) == 0);
    if (!pushes) {
        if (r->whead == r->wtail)
            r->progress = now_ms(); /* the stall clock starts now */
        r->w[r->wtail].cb = cb;
        r->w[r->wtail].ud = ud;
        r->wtail++;
    }
    if (srv.opt.trace)
        trace_command(r, argc, argv, lens);
    set_events(r);
    return 0;
}

/* Send a command; its reply goes to cb (may be NULL). Only once ready:
 * before that, and past the output cap, the command is dropped and
 * counted, and -1 returned. */
int redis_command(struct redis *r, int argc, const char *const *argv,
                  const size_t *lens, redis_reply_cb *cb, void *ud)
{
    if (r->state != R_READY) {
        r->dropped++;
        return -1;
    }
    return queue(r, argc, argv, lens, cb, ud);
}

bool redis_ready(const struct redis *r)
{
    return r->state == R_READY;
}

uint64_t redis_dropped(const struct redis *r)
{
    return r->dropped;
}

/* ========================================================================
 * Connecting
 * ======================================================================== */

static void hello_reply(struct redis *r, const struct resp_reply *rep, void *ud)
{
    (void)ud;
    if (!rep)
        return;
    if (rep->v[0].type == RESP_T_ERROR) {
        char why[160];
        snprintf(why, sizeof why, "%.*s", (int)(rep->v[0].len > 120 ? 120 : rep->v[0].len),
                 rep->v[0].str);
        lose(r, why);
        return;
    }
    if (--r->hello_left == 0) {
        r->state = R_READY;
        r->backoff = REDIS_BACKOFF_MIN_MS;
        if (r->ev.ready)
            r->ev.ready(r, r->ud);
    }
}

/* Connected: AUTH and SELECT as the URL says (none: a PING, so that
 * "ready" always means Redis has answered once). */
static void hello(struct redis *r)
{
    r->state = R_HELLO;
    r->hello_left = 0;
    if (r->url.password[0]) {
        const char *a[3] = {"AUTH", r->url.user, r->url.password};
        size_t l[3] = {4, strlen(r->url.user), strlen(r->url.password)};
        if (r->url.user[0])
            queue(r, 3, a, l, hello_reply, NULL);
        else {
            const char *b[2] = {"AUTH", r->url.password};
            size_t m[2] = {4, l[2]};
            queue(r, 2, b, m, hello_reply, NULL);
        }
        r->hello_left++;
    }
    if (r->url.db != 0) {
        char db[16];
        int n = snprintf(db, sizeof db, "%d", r->url.db);
        const char *a[2] = {"SELECT", db};
        size_t l[2] = {6, (size_t)n};
        queue(r, 2, a, l, hello_reply, NULL);
        r->hello_left++;
    }
    if (r->hello_left == 0) {
        const char *a[1] = {"PING"};
        size_t l[1] = {4};
        queue(r, 1, a, l, hello_reply, NULL);
        r->hello_left++;
    }
}

/* Start a connection: resolve (numeric or /etc/hosts names resolve at
 * once; a DNS name may block briefly, once per attempt) and connect
 * without blocking. */
static void attempt(struct redis *r)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int err = getaddrinfo(r->url.host, r->url.port, &hints, &res);
    if (err != 0) {
        lose(r, gai_strerror(err));
        return;
    }
    r->fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (r->fd < 0) {
        freeaddrinfo(res);
        lose(r, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(r->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = connect(r->fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    r->progress = now_ms();
    loop_timer_set(&r->timer, r->progress + REDIS_TIMEOUT_MS);
    if (rc != 0 && errno != EINPROGRESS) {
        lose(r, strerror(errno));
        return;
    }
    r->state = R_CONNECTING;
    set_events(r);
}

/* The timer: in R_IDLE, the next attempt; otherwise a check that Redis
 * still answers, and a PING when the line has been quiet. */
static void redis_fire(struct timer *t, int64_t now)
{
    struct redis *r = (struct redis *)((char *)t - offsetof(struct redis, timer));
    if (r->state == R_IDLE) {
        attempt(r);
        return;
    }
    bool waiting = r->state != R_READY || r->whead < r->wtail;
    if (waiting && now - r->progress >= REDIS_TIMEOUT_MS) {
        lose(r, r->state == R_CONNECTING ? "connect timed out" : "no reply in 5 s");
        return;
    }
    if (!waiting && now - r->progress >= REDIS_PING_MS) {
        const char *a[1] = {"PING"};
        size_t l[1] = {4};
        queue(r, 1, a, l, NULL, NULL);
    }
    loop_timer_set(t, now + REDIS_TIMEOUT_MS / 2);
}

/* ========================================================================
 * Input
 * ======================================================================== */

/* One whole reply: a push on a subscriber, else the oldest waiting
 * command's. Returns false if the connection was lost meanwhile. */
static bool on_reply(struct redis *r, const struct resp_reply *rep)
{
    if (srv.opt.trace)
        trace_reply(r, rep);
    r->progress = now_ms();
    struct resp_push p;
    const char *why;
    if (r->subscriber && resp_pubsub(rep, &p, &why) > 0 && p.kind != RESP_PUSH_PONG) {
        if (r->ev.push)
            r->ev.push(r, &p, rep, r->ud);
        return r->fd >= 0;
    }
    if (r->whead == r->wtail) {
        lose(r, "a reply nobody asked for");
        return false;
    }
    struct waiting w = r->w[r->whead++];
    if (w.cb)
        w.cb(r, rep, w.ud);
    return r->fd >= 0;
}

static void read_input(struct redis *r)
{
    for (;;) {
        if (buf_reserve(&r->in, REDIS_READ_CHUNK) != 0) {
            lose(r, "out of memory");
            return;
        }
        ssize_t got = read(r->fd, r->in.data + r->in.off + r->in.len, REDIS_READ_CHUNK);
        if (got == 0) {
            lose(r, "connection closed by Redis");
            return;
        }
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                lose(r, strerror(errno));
            return;
        }
        r->in.len += (size_t)got;
        static struct resp_reply rep; /* 64 entries: too big for the stack
                                       * of a loop that nests callbacks */
        ptrdiff_t used;
        const char *why;
        while ((used = resp_parse((const char *)r->in.data + r->in.off, r->in.len,
                                  REDIS_MAX_REPLY, &rep, &why)) > 0) {
            bool alive = on_reply(r, &rep);
            if (!alive)
                return;
            buf_consume(&r->in, (size_t)used);
        }
        if (used == RESP_ERROR) {
            char msg[120];
            snprintf(msg, sizeof msg, "protocol error: %s", why);
            lose(r, msg);
            return;
        }
        if ((size_t)got < REDIS_READ_CHUNK)
            return;
    }
}

static void write_output(struct redis *r)
{
    while (r->out.len > 0) {
        ssize_t put = write(r->fd, r->out.data + r->out.off, r->out.len);
        if (put < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                lose(r, strerror(errno));
            return;
        }
        buf_consume(&r->out, (size_t)put);
    }
    if (r->dropping) {
        fprintf(stderr, "wshub: redis %s: output drained; %llu commands were dropped\n",
                r->name, (unsigned long long)r->dropped);
        r->dropping = false;
    }
}

/* The loop saw our entry ready (revents). */
void redis_io(struct redis *r, short revents)
{
    if (r->fd < 0 || revents == 0)
        return;
    if (r->state == R_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
            lose(r, strerror(err ? err : errno));
            return;
        }
        hello(r);
    } else if (revents & (POLLIN | POLLHUP | POLLERR)) {
        read_input(r);
    }
    if (r->fd >= 0 && r->out.len > 0)
        write_output(r);
    if (r->fd >= 0)
        set_events(r);
}

/* ========================================================================
 * Making and freeing
 * ======================================================================== */

/* A connection to u, called name in the log. slot is the loop's poll entry for it. Returns NULL if out of
 * memory. It starts connecting on the loop's next turn. */
struct redis *redis_new(const struct redis_url *u, const char *name,
                        bool subscriber, size_t max_output,
                        const struct redis_events *ev, void *ud,
                        struct pollfd *slot)
{
    struct redis *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return NULL;
    }
    r->url = *u;
    r->subscriber = subscriber;
    r->max_output = max_output;
    r->fd = -1;
    r->slot = slot;
    r->ev = *ev;
    r->ud = ud;
    r->backoff = REDIS_BACKOFF_MIN_MS;
    r->timer.fire = redis_fire;
    set_events(r);
    loop_timer_set(&r->timer, now_ms()); /* the first attempt, from the
                                          * loop, never inside this call */
    return r;
}

/* Close and free r; callbacks still waiting are told (reply NULL), and
 * `lost` is not called. */
void redis_free(struct redis *r)
{
    if (!r)
        return;
    r->ev.lost = NULL;
    if (r->fd >= 0)
        lose(r, "shutting down");
    loop_timer_cancel(&r->timer);
    r->slot->fd = -1;
    free(r->w);
    free(r->name);
    free(r);
}
