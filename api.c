/* api.c -- the REST API into the chat: rooms and their messages over HTTP
 * SPDX-License-Identifier: MIT
 *
 * One more event source on the hub: an HTTP request that changes the
 * chat goes through the same code as a socket's event (chat.c's
 * chat_post_from, chat_edit, chat_delete), so the room hears it live and
 * the chat's rules apply. All JSON, UTF-8, under /api/:
 *   GET    /api/rooms                          [{room, members, messages}]
 *   GET    /api/rooms/{room}                   {room, members:[...], messages:[...]}
 *   GET    /api/rooms/{room}/messages?before=ID&limit=N   newest last
 *   GET    /api/rooms/{room}/messages/{id}     the message, with an ETag
 *   POST   /api/rooms/{room}/messages {text, name?}  201, Location
 *   PUT    /api/rooms/{room}/messages/{id} {text}    200 (If-Match: 412)
 *   DELETE /api/rooms/{room}/messages/{id}          204 (If-Match: 412)
 *   POST   /api/emit {room?, event, args:[...]}     202: any event
 * HEAD works wherever GET does. Reads are as open as the chat, and
 * cross-origin ones follow --origin (web_cors, as polling does). Writes
 * need "Authorization: Bearer TOKEN", the token read from
 * --api-token-file or $WSHUB_API_TOKEN (never a flag's value, which any
 * local user can read in ps), compared in constant time.
 *
 * Every error is {"error": "..."} with its status (RFC 9110 §15) and one
 * log line: 400 bad JSON or fields, 401 no or wrong token, 403 writes off
 * or a foreign origin, 404, 405 with Allow, 412 a stale If-Match, 413 over
 * --max-message (web.c, before the body is read), 415 not JSON, 422 the
 * chat refuses the content. A refused request changes nothing.
 *
 * ETags (RFC 9110 §8.8.3): "ID.REV", REV the message's edits so far; a
 * PUT or DELETE with If-Match (§13.1.1) that names another is refused.
 *
 * References: RFC 9110 §9.3 (methods), §13.1.1 (If-Match), §15.
 */
#include "apps.h"
#include "conn.h"
#include "history.h"
#include "http.h"
#include "hub.h"
#include "json.h"
#include "metrics.h"
#include "ws.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define API_MAX_TOKEN 256   /* bytes of the write token */
#define API_DEFAULT_LIMIT 50
#define API_MAX_LIMIT 200   /* messages one GET may ask for */
#define API_MAX_EVENT 64    /* bytes of an event name for /api/emit */

static struct {
    struct chat *chat;               /* what the API reads and changes */
    char token[API_MAX_TOKEN + 1];   /* "" while the write API is off */
    size_t token_len;
} api;

/* One request being answered. */
struct call {
    struct conn *c;
    const struct http_request *req;
    bool head;               /* HEAD: the GET's head without its body */
    char cors[512];          /* CORS lines the answer carries */
    const char *method;      /* for the log and the metrics */
};

/* ========================================================================
 * Answers
 * ======================================================================== */

/* Send status with body (JSON) and extra header lines. */
static void respond(struct call *k, int status, const char *body, size_t len, const char *extra)
{
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "Cache-Control: no-store\r\n%s%s", k->cors, extra);
    web_send_head(k->c, status, "application/json; charset=utf-8", status == 204 ? 0 : len, hdr);
    metrics_api_request(k->method, status);
    if (status != 204 && !k->head)
        conn_send(k->c, body, len);
    k->c->why = status < 400 ? "api" : k->c->why;
}

/* {"error": why}, logged once. */
static void fail(struct call *k, int status, const char *why, const char *extra)
{
    struct jbuf jb = {0};
    jb_lit(&jb, "{\"error\":");
    jb_str(&jb, why, strlen(why));
    jb_lit(&jb, "}");
    conn_log(k->c, "api: %s %d %s", k->method, status, why);
    k->c->why = "api error"; /* why may be a caller's buffer: logged above */
    if (jb.oom)
        conn_kill(k->c, "out of memory");
    else
        respond(k, status, jb.p, jb.len, extra);
    jb_free(&jb);
}

static void send_json(struct call *k, int status, struct jbuf *jb, const char *extra)
{
    if (jb->oom)
        fail(k, 500, "out of memory", "");
    else
        respond(k, status, jb->p, jb->len, extra);
}

/* The status a chat_result becomes. */
static int result_status(enum chat_result r)
{
    switch (r) {
    case CHAT_DONE: return 200;
    case CHAT_NO_ROOM:
    case CHAT_NO_MESSAGE: return 404;
    case CHAT_INVALID: return 422;
    case CHAT_NOT_YOURS: return 403;
    case CHAT_FAILED: break;
    }
    return 503;
}

/* ========================================================================
 * Requests: who may write, and what they sent
 * ======================================================================== */

/* True if the request carries the write token; else answered 401/403. */
static bool authorised(struct call *k)
{
    if (api.token_len == 0) {
        fail(k, 403, "the write API is off: start wshub with --api-token-file FILE or WSHUB_API_TOKEN", "");
        return false;
    }
    const struct http_header *h = http_find_header(k->req, "Authorization", NULL);
    /* The scheme's name is case-insensitive (RFC 9110 §11.1). */
    bool ok = h && h->value_len == 7 + api.token_len && strncasecmp(h->value, "Bearer ", 7) == 0 &&
              CRYPTO_memcmp(h->value + 7, api.token, api.token_len) == 0;
    if (!ok)
        fail(k, 401, h ? "wrong token" : "a write needs Authorization: Bearer TOKEN",
             "WWW-Authenticate: Bearer realm=\"wshub\"\r\n");
    return ok;
}

/* True if body is one JSON object sent as application/json; else
 * answered 415 or 400. */
static bool json_body(struct call *k, const uint8_t *body, size_t len)
{
    const struct http_header *ct = http_find_header(k->req, "Content-Type", NULL);
    /* Media types are case-insensitive (RFC 9110 §8.3.1). */
    if (!ct || ct->value_len < 16 || strncasecmp(ct->value, "application/json", 16) != 0 ||
        (ct->value_len > 16 && ct->value[16] != ';' && ct->value[16] != ' ')) {
        fail(k, 415, "the body must be application/json", "");
        return false;
    }
    /* JSON text is UTF-8 (RFC 8259 §8.1), and what the API accepts ends
     * up in WebSocket text frames, which must be (RFC 6455 §8.1). */
    struct ws_utf8 u = {0};
    if (ws_utf8_feed(&u, body, len) != 0 || !ws_utf8_complete(&u)) {
        fail(k, 400, "the body is not UTF-8", "");
        return false;
    }
    long end = json_scan((const char *)body, len, -1);
    if (end < 0 || (size_t)(end + json_skip_ws((const char *)body + end, len - (size_t)end)) != len ||
        json_type_of((const char *)body, len) != JSON_OBJECT) {
        fail(k, 400, "the body must be one JSON object", "");
        return false;
    }
    return true;
}

/* Field key of the body: NULL if absent; a present one of another type
 * than want is answered 400 and *bad set. */
static const char *field(struct call *k, const uint8_t *body, size_t len, const char *key,
                         enum json_type want, size_t *n, bool *bad)
{
    const char *v;
    if (json_get((const char *)body, len, key, &v, n) != 0)
        return NULL;
    if (json_type_of(v, *n) != want) {
        char why[96];
        snprintf(why, sizeof why, "%s must be a%s %s", key, want == JSON_ARRAY ? "n" : "",
                 want == JSON_STRING ? "string" : want == JSON_ARRAY ? "array" : "value");
        fail(k, 400, why, "");
        *bad = true;
        return NULL;
    }
    return v;
}

/* If-Match (RFC 9110 §13.1.1): true if absent, "*", or naming etag. */
static bool if_match(const struct http_request *req, const char *etag)
{
    const struct http_header *h = http_find_header(req, "If-Match", NULL);
    if (!h)
        return true;
    if (h->value_len == 1 && h->value[0] == '*')
        return true;
    return http_has_token(h->value, h->value_len, etag, strlen(etag));
}

static void etag_of(const struct hist_msg *m, char *out, size_t cap)
{
    snprintf(out, cap, "\"%lld.%u\"", m->id, m->rev);
}

/* ========================================================================
 * The resources
 * ======================================================================== */

/* GET /api/rooms */
static void get_rooms(struct call *k)
{
    const struct hist *h = chat_history(api.chat);
    struct jbuf jb = {0};
    jb_lit(&jb, "[");
    for (const struct hist_room *r = h->rooms; r; r = r->next) {
        if (r != h->rooms)
            jb_lit(&jb, ",");
        jb_lit(&jb, "{\"room\":");
        jb_str(&jb, r->name, strlen(r->name));
        jb_lit(&jb, ",\"members\":");
        jb_int(&jb, (long long)hub_room_size(chat_nsp(api.chat), r->name));
        jb_lit(&jb, ",\"messages\":");
        jb_int(&jb, (long long)r->count);
        jb_lit(&jb, "}");
    }
    jb_lit(&jb, "]");
    send_json(k, 200, &jb, "");
    jb_free(&jb);
}

/* Messages [from, r->count) of r, comma-joined. */
static void jb_messages(struct jbuf *jb, const struct hist_room *r, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        if (i > from)
            jb_lit(jb, ",");
        jb_raw(jb, hist_at(r, i)->json, hist_at(r, i)->len);
    }
}

/* GET /api/rooms/{room} */
static void get_room(struct call *k, const struct hist_room *r)
{
    struct jbuf jb = {0};
    jb_lit(&jb, "{\"room\":");
    jb_str(&jb, r->name, strlen(r->name));
    jb_lit(&jb, ",\"members\":");
    chat_members_json(api.chat, r->name, &jb);
    jb_lit(&jb, ",\"messages\":[");
    jb_messages(&jb, r, 0, r->count);
    jb_lit(&jb, "]}");
    send_json(k, 200, &jb, "");
    jb_free(&jb);
}

/* A query parameter as a whole non-negative number: 1 if present and
 * good, 0 if absent, -1 if present and bad. */
static int query_int(const struct http_request *req, const char *name, int64_t max, int64_t *out)
{
    const char *v;
    size_t n;
    if (http_query_param(req->target, req->target_len, name, &v, &n) != 0)
        return 0;
    return json_int(v, n, max, out) == 0 ? 1 : -1;
}

/* GET /api/rooms/{room}/messages?before=ID&limit=N: the newest `limit`
 * messages older than ID, oldest first. */
static void get_messages(struct call *k, const struct hist_room *r)
{
    int64_t before = INT64_MAX, limit = API_DEFAULT_LIMIT;
    int b = query_int(k->req, "before", INT64_MAX / 2, &before);
    int l = query_int(k->req, "limit", 1000000, &limit);
    if (b < 0 || l < 0 || limit < 1 || limit > API_MAX_LIMIT) {
        fail(k, 400, b < 0 ? "before must be a message id" : "limit must be 1 to 200", "");
        return;
    }
    size_t to = 0;
    while (to < r->count && hist_at(r, to)->id < before)
        to++;
    size_t from = to > (size_t)limit ? to - (size_t)limit : 0;
    struct jbuf jb = {0};
    jb_lit(&jb, "[");
    jb_messages(&jb, r, from, to);
    jb_lit(&jb, "]");
    send_json(k, 200, &jb, "");
    jb_free(&jb);
}

/* Answer with message m (status 200 or 201) and its ETag. */
static void send_message(struct call *k, int status, const char *room, const struct hist_msg *m)
{
    char etag[48], extra[256];
    etag_of(m, etag, sizeof etag);
    int n = snprintf(extra, sizeof extra, "ETag: %s\r\n", etag);
    if (status == 201)
        snprintf(extra + n, sizeof extra - (size_t)n, "Location: /api/rooms/%s/messages/%lld\r\n",
                 room, m->id);
    respond(k, status, m->json, m->len, extra);
}

/* POST /api/rooms/{room}/messages {text, name?} */
static void post_message(struct call *k, const char *room, const uint8_t *body, size_t len)
{
    size_t tn = 0, nn = 0;
    bool bad = false;
    const char *text = field(k, body, len, "text", JSON_STRING, &tn, &bad);
    const char *name = bad ? NULL : field(k, body, len, "name", JSON_STRING, &nn, &bad);
    if (bad)
        return;
    if (!text) {
        fail(k, 400, "text is missing", "");
        return;
    }
    long long id;
    const char *why;
    enum chat_result r = chat_post_from(api.chat, room, "api", "api", text, tn, name, nn, "api",
                                        &id, &why);
    if (r != CHAT_DONE) {
        fail(k, result_status(r), why, "");
        return;
    }
    send_message(k, 201, room, chat_message(api.chat, room, id));
}

/* PUT or DELETE /api/rooms/{room}/messages/{id} */
static void change_message(struct call *k, const char *room, const struct hist_msg *m,
                           const uint8_t *body, size_t len, bool put)
{
    char etag[48];
    etag_of(m, etag, sizeof etag);
    long long id = m->id;
    const char *text = NULL, *why;
    size_t tn = 0;
    if (put) {
        bool bad = false;
        text = field(k, body, len, "text", JSON_STRING, &tn, &bad);
        if (bad)
            return;
        if (!text) {
            fail(k, 400, "text is missing", "");
            return;
        }
    }
    if (!if_match(k->req, etag)) {
        fail(k, 412, "the message has changed since (If-Match)", "");
        return;
    }
    enum chat_result r = put ? chat_edit(api.chat, room, id, text, tn, NULL, &why)
                             : chat_delete(api.chat, room, id, NULL, &why);
    if (r != CHAT_DONE)
        fail(k, result_status(r), why, "");
    else if (put)
        send_message(k, 200, room, chat_message(api.chat, room, id));
    else
        respond(k, 204, "", 0, "");
}

/* POST /api/emit {room?, event, args:[...]}: the hub's HTTP publish. */
static void post_emit(struct call *k, const uint8_t *body, size_t len)
{
    static const char *const reserved[] = {
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    };
    size_t en = 0, an = 0, rn = 0;
    bool bad = false;
    const char *ev = field(k, body, len, "event", JSON_STRING, &en, &bad);
    const char *args = bad ? NULL : field(k, body, len, "args", JSON_ARRAY, &an, &bad);
    const char *roomv = bad ? NULL : field(k, body, len, "room", JSON_STRING, &rn, &bad);
    if (bad)
        return;
    char event[API_MAX_EVENT + 1], room[HIST_MAX_ROOM + 2];
    size_t elen = 0, rlen = 0;
    if (!ev || json_string(ev, en, event, API_MAX_EVENT, &elen) < 0 || elen == 0) {
        fail(k, 400, "event must be a string of 1 to 64 bytes", "");
        return;
    }
    event[elen] = '\0';
    for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
        if (strcmp(event, reserved[i]) == 0) {
            fail(k, 400, "that event name is reserved by Socket.IO", "");
            return;
        }
    }
    if (roomv && (json_string(roomv, rn, room, HIST_MAX_ROOM + 1, &rlen) < 0 || rlen == 0 ||
                  rlen > HIST_MAX_ROOM)) {
        fail(k, 400, "room must be a room name", "");
        return;
    }
    room[rlen] = '\0';
    /* The arguments go out as they came, between the brackets; a binary
     * placeholder could point at attachments that do not exist. */
    const char *in = args ? args + 1 : "";
    size_t inlen = args ? an - 2 : 0;
    if (args && json_scan(args, an, 0) < 0) {
        fail(k, 400, "args may not hold binary placeholders", "");
        return;
    }
    struct hub_args a = {in, inlen, NULL, 0};
    hub_emit_to(chat_nsp(api.chat), roomv ? room : NULL, NULL, event, &a);
    respond(k, 202, "{\"ok\":true}", 11, "");
}

/* ========================================================================
 * Routing
 * ======================================================================== */

/* Split path (decoded, under /api/) into up to 4 segments. Returns the
 * count, or -1 if there are more or one is empty or too long. */
static int segments(const char *path, char seg[4][HIST_MAX_ROOM + 2])
{
    const char *p = path + 5; /* after "/api/" */
    int n = 0;
    if (strncmp(path, "/api/", 5) != 0 || !*p)
        return -1;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (n == 4 || len == 0 || len > HIST_MAX_ROOM)
            return -1;
        memcpy(seg[n], p, len);
        seg[n++][len] = '\0';
        p += len;
        if (*p == '/' && *++p == '\0')
            return -1; /* a trailing slash */
    }
    return n;
}

/* Answer an API request; its body (if any) has all arrived. */
void api_request(struct conn *c, const struct http_request *req, const char *path,
                 uint8_t *body, size_t body_len)
{
    struct call k = {c, req, http_method_is(req, "HEAD"), "", ""};
    bool get = k.head || http_method_is(req, "GET");
    bool post = http_method_is(req, "POST"), put = http_method_is(req, "PUT");
    bool del = http_method_is(req, "DELETE"), options = http_method_is(req, "OPTIONS");
    k.method = get ? (k.head ? "HEAD" : "GET") : post ? "POST" : put ? "PUT" : del ? "DELETE"
             : options ? "OPTIONS" : "other";
    int status = web_cors(req, k.cors, sizeof k.cors);
    if (status != 0) {
        k.cors[0] = '\0';
        fail(&k, status, status == 403 ? "Origin not allowed (see --origin)" : "bad Origin", "");
        return;
    }
    if (!api.chat) {
        fail(&k, 404, "the API needs the chat (--app chat)", "");
        return;
    }
    char seg[4][HIST_MAX_ROOM + 2];
    int n = segments(path, seg);
    const char *allow;
    enum { ROOMS, ROOM, MESSAGES, MESSAGE, EMIT, NONE } what = NONE;
    if (n == 1 && strcmp(seg[0], "rooms") == 0)
        what = ROOMS, allow = "GET, HEAD";
    else if (n == 2 && strcmp(seg[0], "rooms") == 0)
        what = ROOM, allow = "GET, HEAD";
    else if (n == 3 && strcmp(seg[0], "rooms") == 0 && strcmp(seg[2], "messages") == 0)
        what = MESSAGES, allow = "GET, HEAD, POST";
    else if (n == 4 && strcmp(seg[0], "rooms") == 0 && strcmp(seg[2], "messages") == 0)
        what = MESSAGE, allow = "GET, HEAD, PUT, DELETE";
    else if (n == 1 && strcmp(seg[0], "emit") == 0)
        what = EMIT, allow = "POST";
    else
        allow = "";
    if (what == NONE) {
        fail(&k, 404, "no such resource", "");
        return;
    }
    char extra[160];
    snprintf(extra, sizeof extra, "Allow: %s, OPTIONS\r\n", allow);
    if (options) { /* a CORS preflight, or a question */
        char pre[400];
        snprintf(pre, sizeof pre, "%sAccess-Control-Allow-Methods: %s\r\n"
                 "Access-Control-Allow-Headers: Authorization, Content-Type, If-Match\r\n"
                 "Access-Control-Max-Age: 86400\r\n", extra, allow);
        respond(&k, 204, "", 0, pre);
        return;
    }
    bool allowed = (get && what != EMIT) || (post && (what == MESSAGES || what == EMIT)) ||
                   ((put || del) && what == MESSAGE);
    if (!allowed) {
        fail(&k, 405, "method not allowed here", extra);
        return;
    }
    if ((post || put || del) && !authorised(&k))
        return;
    if ((post || put) && !json_body(&k, body, body_len))
        return;
    if (what == EMIT) {
        post_emit(&k, body, body_len);
        return;
    }
    if (what == ROOMS) {
        get_rooms(&k);
        return;
    }
    const struct hist_room *r = hist_room(chat_history(api.chat), seg[1]);
    if (!r) {
        fail(&k, 404, "No such room", "");
        return;
    }
    if (what == ROOM) {
        get_room(&k, r);
    } else if (what == MESSAGES) {
        if (get)
            get_messages(&k, r);
        else
            post_message(&k, r->name, body, body_len);
    } else {
        int64_t id;
        const struct hist_msg *m = json_int(seg[3], strlen(seg[3]), INT64_MAX / 2, &id) == 0
                                   ? hist_find(r, (long long)id) : NULL;
        if (!m)
            fail(&k, 404, "No such message", "");
        else if (get)
            send_message(&k, 200, r->name, m);
        else
            change_message(&k, r->name, m, body, body_len, put);
    }
}

/* An API request refused before api_request could see it (web.c: a
 * body over --max-message): the JSON error, as for every other. */
void api_refuse(struct conn *c, int status, const char *why)
{
    struct call k = {c, NULL, false, "", "?"};
    fail(&k, status, why, "");
}

/* ========================================================================
 * Setting up
 * ======================================================================== */

/* Read the write token from file (one line) or, without one, from
 * $WSHUB_API_TOKEN. Returns 0, or -1 said on stderr. With neither, the
 * write API stays off. */
static int read_token(const char *file)
{
    const char *env = getenv("WSHUB_API_TOKEN");
    if (file) {
        api.token_len = options_read_secret("--api-token-file", file, api.token, API_MAX_TOKEN);
        return api.token_len ? 0 : -1;
    }
    api.token_len = env ? options_take_secret(env, strlen(env), api.token, API_MAX_TOKEN) : 0;
    if (env && api.token_len == 0) {
        fprintf(stderr, "wshub: WSHUB_API_TOKEN must be one line of 1 to %d bytes\n", API_MAX_TOKEN);
        return -1;
    }
    return 0;
}

int api_init(struct chat *chat, const char *token_file)
{
    api.chat = chat;
    return read_token(token_file);
}
