/* faye.c -- Bayeux's transports (HTTP long-polling, CORS, JSONP, WebSocket) and its bridge to the chat
 * SPDX-License-Identifier: MIT
 *
 * --faye PATH mounts a Bayeux endpoint that faye's own clients use
 * unchanged. bayeux.c is the protocol; this file is how its messages
 * travel, and it is the only part that knows about connections:
 *   POST PATH, JSON body           long-polling (§2.1)
 *   POST PATH, form body message=  cross-origin long-polling, CORS (§2.2)
 *   GET PATH?message=..&jsonp=cb   callback-polling: JSONP (§2.3)
 *   GET PATH, Upgrade: websocket   one JSON array of messages per frame (§2.4)
 *   OPTIONS PATH                   the CORS preflight (§1)
 *   GET PATH/..., text/event-stream  404: EventSource is not offered (§2)
 *   PATH/client.js and PATH.js     wshub's own browser client (client/faye.js)
 * With --faye / the endpoint shares "/" with the chat page: a request is
 * Bayeux's by method and content (POST, OPTIONS, a GET with message=, an
 * Upgrade), never by claiming the path, so GET / is still the page (§8).
 *
 * An HTTP request is one struct faye_port; if bayeux.c holds a connect
 * on it, the connection stops reading (ROLE_FAYE_HELD, conn_http_busy)
 * until the answer is sent. A WebSocket is one port for its life.
 *
 * The bridge: a publish on /chat/ROOM is posted into the chat's room
 * (chat_post_from: the chat's own rules, history and ids), and every
 * message the chat posts is published to /chat/ROOM for Bayeux
 * subscribers, with the fields Socket.IO users get. A simplification,
 * named: with --redis, messages posted on other nodes reach this node's
 * Socket.IO users but not its Bayeux subscribers.
 *
 * The access-control hook shipped: --faye-token-file FILE guards
 * /private/ (see private_guard).
 *
 * References: ../shared/specs/bayeux-faye.md §1 (HTTP surface), §2
 * (transports), §7 (extensions), §8 (the browser script, mount "/").
 */
#define _POSIX_C_SOURCE 200809L /* strndup */
#include "apps.h"
#include "bayeux.h"
#include "conn.h"
#include "http.h"
#include "metrics.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FAYE_MAX_TOKEN 256     /* bytes of --faye-token-file's token */
#define FAYE_MAX_CALLBACK 128  /* bytes of a JSONP callback name */
#define FAYE_MAX_ORIGIN 256    /* bytes of an Origin kept for extensions */
#define FAYE_MAX_QUEUE (1 << 20) /* bytes of deliveries one session may
                                  * have waiting; past it the session ends */

/* One HTTP request or one WebSocket, as bayeux.c sees it. */
struct faye_port {
    struct bx_port port;                   /* first: bayeux.c's view */
    struct conn *c;                        /* the connection it is on */
    bool jsonp;                            /* answer as JSONP, a call of callback */
    char callback[FAYE_MAX_CALLBACK + 1];  /* JSONP: the function name */
    char cors[512];                        /* CORS lines for the answer */
    char origin[FAYE_MAX_ORIGIN + 1];      /* the page's Origin, or "" */
};

static struct {
    struct bx *bx;           /* the protocol engine, or NULL without --faye */
    char mount[128];         /* the mount path without a trailing '/' ("" for /) */
    char token[FAYE_MAX_TOKEN + 1]; /* --faye-token-file's content, or "" */
    size_t token_len;
    struct chat *chat;       /* the bridge's other end, or NULL */
} faye;

/* ========================================================================
 * --trace
 * ======================================================================== */

static void trace_json(const struct conn *c, const char *dir, const char *how,
                       const char *json, size_t len)
{
    if (!srv.opt.trace)
        return;
    printf("%s %s bayeux %s %.*s%s\n", conn_peer_name(c), dir, how,
           (int)(len > 2000 ? 2000 : len), json, len > 2000 ? "..." : "");
    fflush(stdout);
}

/* ========================================================================
 * Answers
 * ======================================================================== */

/* A request's one answer: 200 with the JSON array, or JSONP around it
 * (§1), with U+2028 and U+2029 escaped, which JSON allows raw in strings
 * but JavaScript did not. */
static void answer(struct conn *c, struct faye_port *fp, const char *json, size_t len)
{
    struct jbuf body = {0};
    if (fp->jsonp) {
        jb_lit(&body, "/**/");
        jb_lit(&body, fp->callback);
        jb_lit(&body, "(");
        for (size_t i = 0; i < len; i++) {
            if (i + 2 < len && (unsigned char)json[i] == 0xE2 &&
                (unsigned char)json[i + 1] == 0x80 &&
                ((unsigned char)json[i + 2] == 0xA8 || (unsigned char)json[i + 2] == 0xA9)) {
                jb_lit(&body, (unsigned char)json[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
                i += 2;
            } else {
                jb_raw(&body, json + i, 1);
            }
        }
        jb_lit(&body, ");");
    } else {
        jb_raw(&body, json, len);
    }
    if (body.oom) {
        jb_free(&body);
        conn_kill(c, "out of memory");
        return;
    }
    char extra[1024];
    snprintf(extra, sizeof extra,
             "Cache-Control: no-cache, no-store\r\n"
             "X-Content-Type-Options: nosniff\r\n%s%s",
             fp->cors, fp->jsonp ? "Content-Disposition: attachment; filename=f.txt\r\n" : "");
    web_send_head(c, 200, fp->jsonp ? "text/javascript; charset=utf-8"
                                    : "application/json; charset=utf-8",
                  body.len, extra);
    conn_send(c, body.p, body.len);
    c->why = "bayeux";
    jb_free(&body);
}

/* How many Bayeux messages a batch holds, for /metrics: the elements
 * of a JSON array, or 1 for a bare object (§1). The text is well formed
 * (bx_input has checked it, or bayeux.c wrote it); this is one more
 * pass over it. */
static size_t batch_size(const char *json, size_t len)
{
    if (json_type_of(json, len) != JSON_ARRAY)
        return 1;
    size_t count = 0, pos = 0, n;
    const char *e;
    while (json_array_next(json, len, &pos, &e, &n) == 1)
        count++;
    return count;
}

/* bayeux.c's send: a request's answer, or a frame on a socket. */
static void port_send(struct bx_port *p, const char *json, size_t len)
{
    struct faye_port *fp = (struct faye_port *)p;
    struct conn *c = fp->c;
    if (c->state == CONN_DEAD)
        return;
    trace_json(c, "->", p->socket ? "frame" : "answer", json, len);
    metrics_messages(METRICS_BAYEUX, true, batch_size(json, len), len);
    if (p->socket) {
        conn_ws_send_frame(c, WS_OP_TEXT, (const uint8_t *)json, len);
        conn_later(c);
        return;
    }
    answer(c, fp, json, len);
    if (c->role == ROLE_FAYE_HELD) { /* answered later: go on reading */
        c->role = ROLE_NONE;
        c->faye = NULL;
        bx_port_gone(faye.bx, p);
        free(fp);
        web_request_done(c);
        conn_later(c);
    }
}

/* bayeux.c's close: the session on this socket disconnected. */
static void port_close(struct bx_port *p)
{
    struct faye_port *fp = (struct faye_port *)p;
    conn_ws_start_close(fp->c, WS_CLOSE_NORMAL, "disconnected");
    conn_later(fp->c);
}

static const struct bx_port_ops port_ops = {port_send, port_close};

/* A plain-text error, as faye gives it: 400 "Bad request" for every way a
 * request can be malformed (§1); ours add 403 and 413. */
static void refuse(struct conn *c, int status, const char *why, const char *cors)
{
    const char *text = status == 400 ? "Bad request"
                     : status == 413 ? "Too many messages"
                     : status == 404 ? "Not found" : "Forbidden origin";
    size_t n = strlen(text);
    c->why = why;
    conn_log(c, "bayeux: %d %s", status, why);
    web_send_head(c, status, "text/plain; charset=utf-8", n, cors ? cors : "");
    conn_send(c, text, n);
}

/* ========================================================================
 * Reading a request
 * ======================================================================== */

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
        return (ch | 0x20) - 'a' + 10;
    return -1;
}

/* Decode an application/x-www-form-urlencoded value ('+' a space, %XX a
 * byte) into a new string; *n gets its length. NULL if out of memory. */
static char *form_decode(const char *v, size_t len, size_t *n)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (v[i] == '+') {
            out[k++] = ' ';
        } else if (v[i] == '%' && i + 2 < len && (hi = hex_value(v[i + 1])) >= 0 &&
                   (lo = hex_value(v[i + 2])) >= 0) {
            out[k++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[k++] = v[i];
        }
    }
    out[k] = '\0';
    *n = k;
    return out;
}

/* Find name=value in a form body "a=1&b=2" (as http_query_param does for
 * a request-target). Returns 0 and the raw value, or -1. */
static int form_param(const char *body, size_t len, const char *name,
                      const char **v, size_t *vn)
{
    size_t nlen = strlen(name);
    const char *p = body, *end = body + len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            *v = p + nlen + 1;
            *vn = (size_t)(stop - *v);
            return 0;
        }
        p = stop + 1;
    }
    return -1;
}

/* True if the request is Bayeux's: the mount, or below it; with mount
 * "/", only by method and content (§8). path is decoded. */
bool faye_route(const char *path, const struct http_request *req)
{
    if (!faye.bx)
        return false;
    size_t m = strlen(faye.mount);
    if (m == 0) {
        const char *v;
        size_t vn;
        if (strcmp(path, "/") != 0)
            return false;
        return http_method_is(req, "POST") || http_method_is(req, "OPTIONS") ||
               http_find_header(req, "Upgrade", NULL) != NULL ||
               http_query_param(req->target, req->target_len, "message", &v, &vn) == 0;
    }
    return strncmp(path, faye.mount, m) == 0 && (path[m] == '\0' || path[m] == '/');
}

/* True if path names wshub's browser client: PATH/client.js or PATH.js
 * (for mount "/": /client.js). */
bool faye_client_path(const char *path)
{
    if (!faye.bx)
        return false;
    char a[160], b[160];
    snprintf(a, sizeof a, "%s/client.js", faye.mount);
    snprintf(b, sizeof b, "%s.js", faye.mount);
    return strcmp(path, a) == 0 || (faye.mount[0] && strcmp(path, b) == 0);
}

/* The CORS preflight, with faye's headers (§1), but only for an Origin
 * that --origin allows. */
static void preflight(struct conn *c, const char *cors)
{
    char extra[1024];
    snprintf(extra, sizeof extra,
             "%sAccess-Control-Allow-Headers: Accept, Authorization, Content-Type, Pragma, X-Requested-With\r\n"
             "Access-Control-Allow-Methods: POST, GET\r\n"
             "Access-Control-Max-Age: 86400\r\n", cors);
    web_send_head(c, 200, "text/plain; charset=utf-8", 0, extra);
    c->why = "bayeux preflight";
}

/* True if the request's Referer names a page --origin allows: its
 * scheme and authority, "http://host:port", are its origin. */
static bool referer_allowed(const struct http_request *req)
{
    const struct http_header *r = http_find_header(req, "Referer", NULL);
    if (!r)
        return false;
    const char *sep = r->value_len > 8 ? memchr(r->value + 8, '/', r->value_len - 8) : NULL;
    size_t olen = sep ? (size_t)(sep - r->value) : r->value_len;
    return http_origin_allowed(r->value, olen, req, srv.opt.origins);
}

/* Copy the Origin field into fp->origin for extensions to see. */
static void keep_origin(struct faye_port *fp, const struct http_request *req)
{
    const struct http_header *o = http_find_header(req, "Origin", NULL);
    if (o && o->value_len <= FAYE_MAX_ORIGIN) {
        memcpy(fp->origin, o->value, o->value_len);
        fp->origin[o->value_len] = '\0';
        fp->port.origin = fp->origin;
    }
}

/* A Bayeux request, its body (if any) all here. */
void faye_request(struct conn *c, const struct http_request *req, uint8_t *body,
                  size_t body_len)
{
    char cors[512];
    int status = web_cors(req, cors, sizeof cors);
    const struct http_header *acrm = http_find_header(req, "Access-Control-Request-Method", NULL);
    if (http_method_is(req, "OPTIONS") || acrm) {
        if (status != 0)
            refuse(c, 403, "bayeux preflight from an origin --origin does not allow", "");
        else
            preflight(c, cors);
        return;
    }
    if (http_find_header(req, "Upgrade", NULL)) {
        web_upgrade(c, req);
        if (c->state != CONN_WS_OPEN)
            return;
        struct faye_port *fp = calloc(1, sizeof *fp);
        if (!fp) {
            conn_kill(c, "out of memory");
            return;
        }
        fp->c = c;
        fp->port.ops = &port_ops;
        fp->port.socket = true;
        keep_origin(fp, req);
        c->role = ROLE_FAYE_WS;
        c->faye = fp;
        return;
    }
    const struct http_header *accept = http_find_header(req, "Accept", NULL);
    if (accept && http_has_token(accept->value, accept->value_len, "text/event-stream", 17)) {
        refuse(c, 404, "bayeux EventSource is not offered", "");
        return;
    }
    struct faye_port *fp = calloc(1, sizeof *fp);
    if (!fp) {
        conn_kill(c, "out of memory");
        return;
    }
    fp->c = c;
    fp->port.ops = &port_ops;
    keep_origin(fp, req);
    const char *v = NULL;
    size_t vn = 0;
    char *json = NULL;
    size_t jlen = 0;
    const char *bad = NULL;
    if (http_method_is(req, "GET")) {
        /* JSONP is a script load: browsers send no Origin, and faye does
         * not check one. What it can reach is the caller's own session.
         * The Referer says which page it is; one that --origin does not
         * allow (or that hides) is told to stay on JSONP. */
        fp->jsonp = true;
        fp->port.foreign_page = !referer_allowed(req);
        strcpy(fp->callback, "jsonpcallback");
        if (http_query_param(req->target, req->target_len, "jsonp", &v, &vn) == 0) {
            char *cb = form_decode(v, vn, &vn);
            if (!cb || vn > FAYE_MAX_CALLBACK || !bx_jsonp_name_ok(cb, vn))
                bad = "bayeux: bad JSONP callback name";
            else
                memcpy(fp->callback, cb, vn + 1);
            free(cb);
        }
        if (http_query_param(req->target, req->target_len, "message", &v, &vn) == 0)
            json = form_decode(v, vn, &jlen);
        else if (!bad)
            bad = "bayeux: no message parameter";
    } else if (http_method_is(req, "POST")) {
        if (status != 0) {
            free(fp);
            refuse(c, 403, "bayeux POST from an origin --origin does not allow", "");
            return;
        }
        snprintf(fp->cors, sizeof fp->cors, "%s", cors);
        const struct http_header *ct = http_find_header(req, "Content-Type", NULL);
        if (ct && ct->value_len >= 16 && strncasecmp(ct->value, "application/json", 16) == 0 &&
            (ct->value_len == 16 || ct->value[16] == ';' || ct->value[16] == ' ')) {
            json = strndup((const char *)body, body_len);
            jlen = body_len;
        } else if (form_param((const char *)body, body_len, "message", &v, &vn) == 0) {
            json = form_decode(v, vn, &jlen);
        } else {
            bad = "bayeux: no message parameter";
        }
    } else {
        bad = "bayeux: method not allowed";
    }
    if (!bad && !json) {
        free(fp);
        conn_kill(c, "out of memory");
        return;
    }
    /* Every message may reach WebSocket subscribers, whose text frames
     * must be UTF-8 (RFC 6455 §8.1); a frame from a socket already is. */
    struct ws_utf8 u = {0};
    if (!bad && (ws_utf8_feed(&u, (const uint8_t *)json, jlen) != 0 || !ws_utf8_complete(&u)))
        bad = "bayeux: message is not UTF-8";
    if (!bad)
        trace_json(c, "<-", fp->jsonp ? "jsonp" : "post", json, jlen);
    int r = bad ? 0 : bx_input(faye.bx, &fp->port, json, jlen, now_ms());
    if (!bad && r == 0)
        metrics_messages(METRICS_BAYEUX, false, batch_size(json, jlen), jlen);
    free(json);
    if (bad || r != 0) {
        refuse(c, r == BX_ERR_TOO_MANY ? 413 : 400,
               bad ? bad : r == BX_ERR_TOO_MANY ? "bayeux: batch over --faye-max-batch"
                                                : "bayeux: malformed message JSON",
               fp->cors);
        bx_port_gone(faye.bx, &fp->port);
        free(fp);
        return;
    }
    if (fp->port.held) { /* answered when the connect is released */
        c->role = ROLE_FAYE_HELD;
        c->faye = fp;
        c->deadline = 0; /* bayeux.c's timeout bounds the hold */
        return;
    }
    bx_port_gone(faye.bx, &fp->port);
    free(fp);
}

/* A message on a Bayeux WebSocket: a JSON array of messages, or one. */
void faye_ws_message(struct conn *c, int opcode, uint8_t *p, size_t n)
{
    struct faye_port *fp = c->faye;
    if (opcode != WS_OP_TEXT) {
        conn_ws_start_close(c, WS_CLOSE_UNSUPPORTED_DATA, "bayeux frames are text");
        return;
    }
    trace_json(c, "<-", "frame", (const char *)p, n);
    int r = bx_input(faye.bx, &fp->port, (const char *)p, n, now_ms());
    if (r == 0)
        metrics_messages(METRICS_BAYEUX, false, batch_size((const char *)p, n), n);
    if (r != 0) {
        conn_log(c, "bayeux: %s", r == BX_ERR_TOO_MANY ? "frame over --faye-max-batch"
                                                       : "malformed message JSON");
        conn_ws_start_close(c, WS_CLOSE_POLICY, r == BX_ERR_TOO_MANY ? "too many messages"
                                                                     : "malformed Bayeux message");
    }
}

/* c is being freed: its port goes, and with it any held connect. */
void faye_conn_gone(struct conn *c)
{
    struct faye_port *fp = c->faye;
    if (!fp)
        return;
    bx_port_gone(faye.bx, &fp->port);
    free(fp);
    c->faye = NULL;
    c->role = ROLE_NONE;
}

/* ========================================================================
 * Access control: /private/ needs the token (--faye-token-file)
 * ======================================================================== */

/* True if a subscription to pattern could deliver a channel under
 * /private/: the channel itself, a pattern inside it, or a wildcard
 * above it whose "**" reaches into it (/{**}, /private/{*} ...). */
static bool covers_private(const char *pattern)
{
    if (strncmp(pattern, "/private/", 9) == 0)
        return true;
    size_t n = strlen(pattern);
    return n >= 3 && strcmp(pattern + n - 3, "/**") == 0 &&
           strncmp("/private/", pattern, n - 2) == 0;
}

/* True if ext.token equals the token, in constant time. */
static bool token_ok(const struct bx_message *m)
{
    const char *t;
    size_t tn, len;
    char given[FAYE_MAX_TOKEN + 1];
    if (!m->ext || json_get(m->ext, m->ext_len, "token", &t, &tn) != 0 ||
        json_type_of(t, tn) != JSON_STRING ||
        json_string(t, tn, given, FAYE_MAX_TOKEN, &len) < 0 || len != faye.token_len)
        return false;
    return CRYPTO_memcmp(given, faye.token, len) == 0;
}

/* The incoming extension (bayeux.h): refuse, with faye's error shape, a
 * publish to /private/... or a subscribe that covers it, without the
 * token. */
static bool private_guard(void *ud, const struct bx_message *m, char *err, size_t cap)
{
    (void)ud;
    const char *guarded = NULL;
    char name[BX_MAX_CHANNEL + 2];
    if (strcmp(m->channel, "/meta/subscribe") == 0 && m->subscription) {
        if (json_type_of(m->subscription, m->subscription_len) == JSON_ARRAY) {
            size_t pos = 0, en;
            const char *e;
            while (!guarded && json_array_next(m->subscription, m->subscription_len, &pos, &e, &en) == 1)
                if (json_cstring(e, en, name, sizeof name) >= 0 && covers_private(name))
                    guarded = name;
        } else {
            if (json_cstring(m->subscription, m->subscription_len, name, sizeof name) >= 0 &&
                covers_private(name))
                guarded = name;
        }
    } else if (strncmp(m->channel, "/private/", 9) == 0) {
        guarded = m->channel;
    }
    if (!guarded || token_ok(m))
        return false;
    snprintf(err, cap, "403:%s:Authentication required", guarded);
    return true;
}

/* ========================================================================
 * The bridge to the chat
 * ======================================================================== */

/* A Bayeux publish on /chat/ROOM: post {text, name?} into the room. */
static bool chat_publish(void *ud, const struct bx_message *m, char *err, size_t cap)
{
    (void)ud;
    const char *room = m->channel + strlen("/chat/");
    const char *text = NULL, *name = NULL, *why;
    size_t tlen = 0, nlen = 0;
    char author[BX_ID_LEN + 8];
    if (json_type_of(m->data, m->data_len) == JSON_OBJECT) {
        if (json_get(m->data, m->data_len, "text", &text, &tlen) != 0)
            text = NULL;
        if (json_get(m->data, m->data_len, "name", &name, &nlen) != 0)
            name = NULL;
    }
    snprintf(author, sizeof author, "faye:%s", m->client_id);
    long long id;
    enum chat_result r = strchr(room, '/') ? CHAT_NO_ROOM
                       : chat_post_from(faye.chat, room, author, "faye", text, tlen, name, nlen,
                                        "faye", &id, &why);
    if (r == CHAT_DONE)
        return true;
    snprintf(err, cap, "%d:%s:%s", r == CHAT_NO_ROOM ? 404 : r == CHAT_INVALID ? 400 : 500,
             m->channel, r == CHAT_NO_ROOM ? "No such room" : why);
    return false;
}

/* Every chat message: to the Bayeux subscribers of /chat/ROOM. */
static void chat_heard(void *ud, const char *room, const char *msg, size_t len)
{
    (void)ud;
    char channel[BX_MAX_CHANNEL + 1];
    snprintf(channel, sizeof channel, "/chat/%s", room);
    bx_publish(faye.bx, channel, msg, len);
}

/* ========================================================================
 * Setting up, and the loop's calls
 * ======================================================================== */

/* Mount Bayeux at --faye, with chat (or NULL) bridged to /chat/. Returns
 * 0, or -1 said on stderr. */
int faye_init(struct chat *chat)
{
    const struct options *o = &srv.opt;
    size_t m = strlen(o->faye);
    if (o->faye[0] != '/' || m >= sizeof faye.mount) {
        fprintf(stderr, "wshub: --faye wants a path such as /faye\n");
        return -1;
    }
    while (m > 0 && o->faye[m - 1] == '/')
        m--;
    memcpy(faye.mount, o->faye, m);
    faye.mount[m] = '\0';
    if (o->faye_token_file) {
        faye.token_len = options_read_secret("--faye-token-file", o->faye_token_file,
                                             faye.token, FAYE_MAX_TOKEN);
        if (faye.token_len == 0)
            return -1;
    }
    struct bx_limits lim = {
        .max_batch = o->faye_max_batch,
        .max_subs = o->faye_max_subs,
        .max_clients = o->faye_max_clients,
        .max_queue = FAYE_MAX_QUEUE,
        .timeout_ms = o->faye_timeout * 1000,
    };
    faye.bx = bx_new(&lim);
    if (!faye.bx) {
        fprintf(stderr, "wshub: out of memory\n");
        return -1;
    }
    if (faye.token_len) {
        struct bx_extension guard = {private_guard, NULL, NULL};
        bx_add_extension(faye.bx, &guard);
    }
    faye.chat = chat;
    if (chat) {
        bx_add_channel(faye.bx, "/chat/", chat_publish, NULL);
        chat_listen(chat, chat_heard, NULL);
    }
    return 0;
}

void faye_end_of_turn(void)
{
    if (faye.bx)
        bx_flush(faye.bx);
}

int64_t faye_next_deadline(void)
{
    return faye.bx ? bx_next_deadline(faye.bx) : INT64_MAX;
}

void faye_tick(int64_t now)
{
    if (faye.bx) {
        bx_tick(faye.bx, now);
        bx_flush(faye.bx);
    }
}

/* Bayeux sessions open now, for /metrics; 0 without --faye. */
size_t faye_sessions(void)
{
    return faye.bx ? bx_clients(faye.bx) : 0;
}

void faye_free(void)
{
    bx_free(faye.bx);
    faye.bx = NULL;
}
