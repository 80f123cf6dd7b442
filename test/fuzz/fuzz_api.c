/* fuzz_api.c -- libFuzzer harness: the REST API (api.c) on raw HTTP requests
 * SPDX-License-Identifier: MIT
 *
 * The input is what a client might send on one keep-alive connection:
 * one or more HTTP requests, each a head and its body. Each complete head
 * (http_parse_request) is decoded (http_decode_path) as web.c does and
 * handed to api_request with a body of at most Content-Length bytes, in a
 * heap block of exactly its size, cut short where the input ends. At most
 * API_FUZZ_REQUESTS requests are taken from one input.
 *
 * Ids grow without end, so the fuzzer could not name a message it has
 * just made: every '@' in a request's head (its target, its If-Match) is
 * replaced with the id of the newest message answered so far, before
 * the head is parsed. The body is left as it came.
 *
 * The chat behind the API is real and it lasts, with --data: its
 * journal is in a temporary folder for the whole run. One hub and chat
 * serve API_FUZZ_REBUILD inputs; then they are freed and made again from
 * the journal, a restart, and what the rooms keep must come back the
 * same: each room's messages, their ids, their revisions (ETags) and
 * their text, and ids must go on from the largest given. The hub's clock
 * moves API_FUZZ_TICK_MS an input, so the journal is synced and, when it
 * has grown, rewritten, as the loop would. The folder (/tmp/fuzz_api.*)
 * is removed at exit, but left behind by a crash, for its journal.
 * Three fake Socket.IO peers sit in the chat (all in "general"; one also
 * in "blue", one in "r-2"), and everything the hub sends them is checked
 * to be a Socket.IO packet.
 *
 * Inputs are not independent: one may depend on the state the ones
 * before it left, so a crash file alone may not reproduce; rerun it
 * after the corpus it came with (-runs=0 DIR), or read the journal.
 *
 * api.c is not in LIB (it calls the loop), so it is included, and the
 * loop's functions it calls are defined here as recorders: web_send_head,
 * conn_send, conn_log, conn_kill, metrics_api_request, and web_cors,
 * which is web.c's own policy on the --origin list API_FUZZ_ORIGINS. For
 * every request answered, checked:
 *   - exactly one response head, or the connection killed;
 *   - a status api.c documents (no 500 or 503: nothing runs out here);
 *   - one metrics count and, for an error, one log line;
 *   - the head's extra lines are whole "Name: value" lines, each with
 *     its CRLF;
 *   - the body sent is the Content-Length announced (none for HEAD and
 *     204), and is one JSON value, json_scan over its whole length; an
 *     error's is an object with an "error" string;
 *   - 201 carries Location and ETag, 405 Allow, 401 WWW-Authenticate;
 *   - a refusal (4xx) sends nothing to any peer: nothing half-applied.
 *
 * Two further checks guard bugs this harness found (both fixed): that
 * every packet a peer gets is UTF-8 (RFC 6455 §8.1; the API once passed
 * any bytes through), and that c->why points at text that outlives the
 * call (it once pointed at a stack buffer; run with
 * ASAN_OPTIONS=detect_stack_use_after_return=1 for ASan to see that).
 * WSHUB_FUZZ_STRICT=0 turns them off.
 */
#define _POSIX_C_SOURCE 200809L /* setenv, mkdtemp */

#include "../../api.c"

#include "../../metrics.h"
#include "../../sio.h"
#include "../../ws.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define API_FUZZ_REQUESTS 8   /* requests taken from one input */
#define API_FUZZ_REBUILD 500  /* inputs one chat serves, then a restart */
#define API_FUZZ_TICK_MS 100  /* ms the hub's clock moves an input */
#define API_FUZZ_ORIGINS "http://allowed.example, null"
#define API_FUZZ_TOKEN "sekrit"

static bool strict; /* the checks of the bugs found (WSHUB_FUZZ_STRICT=0: off) */

/* ------------------------------------------------------------------------
 * The recorders: what api.c said on the fake connection
 * ------------------------------------------------------------------------ */

static struct {
    int heads;               /* web_send_head calls */
    int status;              /* the last head's status */
    uint64_t length;         /* its Content-Length */
    char extra[1024];        /* its extra header lines */
    size_t head_len;         /* bytes of out that were the head */
    char *out;               /* head and body as queued, malloc'd */
    size_t out_len, out_cap;
    int logs;                /* conn_log calls */
    int kills;               /* conn_kill calls */
    int counted;             /* metrics_api_request calls */
    int counted_status;
} seen;

static void append(const void *p, size_t n)
{
    if (seen.out_cap - seen.out_len < n) {
        size_t cap = seen.out_cap ? seen.out_cap : 4096;
        while (cap - seen.out_len < n)
            cap *= 2;
        char *q = realloc(seen.out, cap);
        if (!q)
            abort();
        seen.out = q;
        seen.out_cap = cap;
    }
    memcpy(seen.out + seen.out_len, p, n);
    seen.out_len += n;
}

void web_send_head(struct conn *c, int status, const char *type, uint64_t length,
                   const char *extra)
{
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %llu\r\n%s\r\n", status, http_status_text(status),
                     type, (unsigned long long)length, extra);
    seen.heads++;
    seen.status = status;
    seen.length = length;
    snprintf(seen.extra, sizeof seen.extra, "%s", extra);
    if (strlen(extra) >= sizeof seen.extra)
        abort(); /* web.c would kill the connection: api.c must not */
    c->status = status;
    if (n > 0 && (size_t)n < sizeof hdr)
        conn_send(c, hdr, (size_t)n);
    else
        conn_kill(c, "response head too long");
    seen.head_len = seen.out_len;
}

int conn_send(struct conn *c, const void *p, size_t n)
{
    if (c->state == CONN_DEAD)
        abort(); /* conn.h: nothing more once it is dead */
    append(p, n);
    return 0;
}

void conn_log(const struct conn *c, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    (void)c;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    seen.logs++;
}

void conn_kill(struct conn *c, const char *why)
{
    seen.kills++;
    c->state = CONN_DEAD;
    if (why)
        c->why = why;
}

void metrics_api_request(const char *method, int status)
{
    if (!method)
        abort();
    seen.counted++;
    seen.counted_status = status;
}

/* web.c's web_cors, on API_FUZZ_ORIGINS instead of srv.opt.origins. */
int web_cors(const struct http_request *req, char *out, size_t cap)
{
    const char *why;
    out[0] = '\0';
    int status = http_check_origin(req, API_FUZZ_ORIGINS, &why);
    if (status != 0)
        return status;
    const struct http_header *org = http_find_header(req, "Origin", NULL);
    if (!org)
        return 0;
    snprintf(out, cap,
             "Access-Control-Allow-Origin: %.*s\r\n"
             "Access-Control-Allow-Credentials: true\r\n"
             "Vary: Origin\r\n",
             (int)org->value_len, org->value);
    return 0;
}

/* ------------------------------------------------------------------------
 * The chat and its fake peers
 * ------------------------------------------------------------------------ */

struct fpeer {
    struct hub_session *ss;
    size_t frames; /* packets the hub sent it, ever */
};

static struct {
    struct hub *hub;
    struct chat *chat;
    struct fpeer peers[3];
    unsigned inputs;     /* served since it was made */
} w;

static char data_dir[64];   /* --data: the journal, for the whole run */
static int64_t clock_ms = 1000; /* the hub's time */
static long long newest_id; /* the last id a 201 answered: '@' */
static char *kept;          /* what the rooms kept at the last restart */
static long long kept_max_id;

static bool utf8_ok(const uint8_t *p, size_t n)
{
    struct ws_utf8 u = {0, 0, 0};
    return ws_utf8_feed(&u, p, n) == 0 && ws_utf8_complete(&u);
}

/* Every text message the hub sends is a Socket.IO packet, whole. */
static void fpeer_send(void *peer, bool binary, const uint8_t *msg, size_t len)
{
    struct fpeer *p = peer;
    struct sio_packet pkt;
    const char *why;
    p->frames++;
    if (binary)
        abort(); /* nothing here sends attachments */
    if (sio_parse((const char *)msg, len, &pkt, &why) != 0)
        abort();
    if (strict && !utf8_ok(msg, len))
        abort();
}

static void fpeer_close(void *peer, enum hub_close why, const char *text)
{
    (void)peer;
    (void)why;
    (void)text;
    abort(); /* the hub has no reason to end a peer that says nothing */
}

static const struct hub_transport fpeer_transport = {fpeer_send, fpeer_close, NULL, NULL};
static const struct hub_options fpeer_options = {.connect_timeout = 1000, .max_payload = 100000};

static void say(struct fpeer *p, const char *packet)
{
    hub_session_message(p->ss, false, (const uint8_t *)packet, strlen(packet), clock_ms);
}

static size_t frames(void)
{
    return w.peers[0].frames + w.peers[1].frames + w.peers[2].frames;
}

static int by_name(const void *a, const void *b)
{
    const struct hist_room *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

/* What the rooms keep, as text to compare: rooms by name, each with its
 * messages oldest first ("id rev json"). malloc'd. */
static char *snapshot(const struct hist *h)
{
    const struct hist_room *rooms[HIST_KEEP * 4];
    size_t n = 0;
    for (const struct hist_room *r = h->rooms; r && n < sizeof rooms / sizeof rooms[0]; r = r->next)
        rooms[n++] = r;
    if (n != h->nrooms)
        abort();
    qsort(rooms, n, sizeof rooms[0], by_name);
    struct jbuf jb = {0};
    for (size_t i = 0; i < n; i++) {
        jb_lit(&jb, "room ");
        jb_lit(&jb, rooms[i]->name);
        jb_lit(&jb, "\n");
        for (size_t k = 0; k < rooms[i]->count; k++) {
            const struct hist_msg *m = hist_at(rooms[i], k);
            jb_int(&jb, m->id);
            jb_lit(&jb, " ");
            jb_int(&jb, m->rev);
            jb_lit(&jb, " ");
            jb_raw(&jb, m->json, m->len);
            jb_lit(&jb, "\n");
        }
    }
    jb_raw(&jb, "", 1);
    if (jb.oom)
        abort();
    return jb.p;
}

/* Stop, as the server does: the peers go (their empty rooms are
 * forgotten), then what the rooms keep is noted, the journal closed. */
static void world_free(void)
{
    if (!w.hub)
        return;
    for (int i = 0; i < 3; i++)
        hub_session_gone(w.peers[i].ss, "transport close");
    free(kept);
    kept = snapshot(chat_history(w.chat));
    kept_max_id = chat_history(w.chat)->max_id;
    chat_close_data(w.chat);
    chat_free(w.chat);
    hub_free(w.hub);
    memset(&w, 0, sizeof w);
    api_init(NULL, NULL);
}

/* Start from the journal, and check it gave back what was kept. */
static void world_make(void)
{
    w.hub = hub_new(&fpeer_transport, &fpeer_options);
    w.chat = w.hub ? chat_init(w.hub) : NULL;
    if (!w.chat || chat_open_data(w.chat, data_dir) != 0 || api_init(w.chat, NULL) != 0)
        abort();
    if (kept) {
        char *now = snapshot(chat_history(w.chat));
        if (strcmp(now, kept) != 0 || chat_history(w.chat)->max_id < kept_max_id)
            abort(); /* the restart lost or changed something */
        free(now);
    }
    for (int i = 0; i < 3; i++) {
        w.peers[i].ss = hub_session_open(w.hub, &w.peers[i], clock_ms);
        if (!w.peers[i].ss)
            abort();
        say(&w.peers[i], "0");
    }
    say(&w.peers[1], "2[\"join\",\"blue\"]");
    say(&w.peers[2], "2[\"join\",\"r-2\"]");
}

static void at_exit(void)
{
    char path[128];
    world_free();
    free(seen.out);
    free(kept);
    snprintf(path, sizeof path, "%s/journal", data_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/journal.new", data_dir);
    unlink(path);
    rmdir(data_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *s = getenv("WSHUB_FUZZ_STRICT");
    strict = !(s && strcmp(s, "0") == 0);
    setenv("WSHUB_API_TOKEN", API_FUZZ_TOKEN, 1);
    snprintf(data_dir, sizeof data_dir, "/tmp/fuzz_api.XXXXXX");
    if (!mkdtemp(data_dir))
        abort();
    atexit(at_exit);
    return 0;
}

/* ------------------------------------------------------------------------
 * The checks on one answer
 * ------------------------------------------------------------------------ */

/* The extra header lines are "Name: value\r\n" each, nothing else. */
static void check_lines(const char *s)
{
    while (*s) {
        const char *colon = strchr(s, ':');
        const char *crlf = strstr(s, "\r\n");
        if (!colon || !crlf || colon == s || colon > crlf)
            abort();
        for (const char *p = s; p < crlf; p++) {
            if (*p == '\r' || *p == '\n')
                abort();
        }
        s = crlf + 2;
    }
}

static bool has_line(const char *extra, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = extra; *s; s = strstr(s, "\r\n") + 2) {
        if (strncmp(s, name, n) == 0 && s[n] == ':')
            return true;
    }
    return false;
}

static void check_answer(const struct http_request *req, const struct conn *c)
{
    if (seen.kills > 0 && c->state == CONN_DEAD)
        return; /* killed is an answer too (out of memory) */
    if (seen.heads != 1 || seen.kills != 0 || seen.counted != 1 ||
        seen.counted_status != seen.status)
        abort();
    switch (seen.status) {
    case 200: case 201: case 202: case 204:
    case 400: case 401: case 403: case 404: case 405: case 412: case 415: case 422:
        break;
    default:
        abort();
    }
    if (seen.logs != (seen.status >= 400 ? 1 : 0))
        abort();
    check_lines(seen.extra);
    bool head = http_method_is(req, "HEAD");
    const char *body = seen.out + seen.head_len;
    size_t sent = seen.out_len - seen.head_len;
    if (seen.status == 204) {
        if (seen.length != 0 || sent != 0)
            abort();
        return;
    }
    if (sent != (head ? 0 : seen.length))
        abort();
    if ((seen.status == 201 && (!has_line(seen.extra, "Location") || !has_line(seen.extra, "ETag"))) ||
        (seen.status == 405 && !has_line(seen.extra, "Allow")) ||
        (seen.status == 401 && !has_line(seen.extra, "WWW-Authenticate")))
        abort();
    if (head)
        return;
    /* One JSON value, the whole body, on an exact copy. */
    char *copy = malloc(sent ? sent : 1);
    if (!copy)
        abort();
    memcpy(copy, body, sent);
    if (json_scan(copy, sent, -1) != (long)sent)
        abort();
    if (seen.status >= 400) {
        const char *v;
        size_t vn;
        if (json_get(copy, sent, "error", &v, &vn) != 0 || json_type_of(v, vn) != JSON_STRING)
            abort();
    }
    free(copy);
}

/* ------------------------------------------------------------------------
 * The harness
 * ------------------------------------------------------------------------ */

/* The head of the request at p (n bytes at most), with every '@' made
 * the newest id, into out; returns its length, or 0 if there is no
 * whole head there or it does not fit. */
static size_t substitute(const char *p, size_t n, char *out, size_t cap)
{
    struct http_request req;
    int head = http_parse_request(p, n, &req);
    if (head <= 0)
        return 0;
    char id[24];
    int idn = snprintf(id, sizeof id, "%lld", newest_id);
    size_t o = 0;
    for (int i = 0; i < head; i++) {
        if (p[i] == '@') {
            if (cap - o < (size_t)idn)
                return 0;
            memcpy(out + o, id, (size_t)idn);
            o += (size_t)idn;
        } else {
            if (cap - o < 1)
                return 0;
            out[o++] = p[i];
        }
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char headbuf[HTTP_MAX_HEAD * 2];
    if (w.hub && w.inputs >= API_FUZZ_REBUILD)
        world_free();
    if (!w.hub)
        world_make();
    w.inputs++;
    clock_ms += API_FUZZ_TICK_MS;
    hub_tick(w.hub, clock_ms);

    size_t used = 0;
    for (int k = 0; k < API_FUZZ_REQUESTS && used < size; k++) {
        struct http_request req, orig;
        const char *buf = (const char *)data + used;
        int n = http_parse_request(buf, size - used, &orig);
        if (n <= 0)
            break;
        size_t hn = substitute(buf, (size_t)n, headbuf, sizeof headbuf);
        if (hn == 0 || http_parse_request(headbuf, hn, &req) != (int)hn)
            break; /* too long with its ids, or '@' made it another head */
        used += (size_t)n;
        size_t left = size - used;
        size_t blen = req.content_length < left ? (size_t)req.content_length : left;
        char path[HTTP_MAX_REQUEST_LINE];
        const char *why;
        if (http_decode_path(req.target, req.target_len, path, sizeof path, &why) != 0) {
            used += blen;
            continue; /* web.c answers it */
        }
        uint8_t *body = malloc(blen ? blen : 1);
        if (!body)
            abort();
        memcpy(body, data + used, blen);
        used += blen;

        seen.heads = seen.logs = seen.kills = seen.counted = 0;
        seen.out_len = seen.head_len = 0;
        seen.extra[0] = '\0';
        struct conn c;
        memset(&c, 0, sizeof c);
        c.fd = -1;
        c.file_fd = -1;
        c.keep_alive = true;
        size_t before = frames();
        api_request(&c, &req, path, body, blen);
        free(body);
        check_answer(&req, &c);
        if (seen.status == 201) {
            const char *v;
            size_t vn;
            int64_t id;
            if (json_get(seen.out + seen.head_len, seen.out_len - seen.head_len, "id", &v, &vn) != 0 ||
                json_int(v, vn, INT64_MAX / 2, &id) != 0 || id <= newest_id)
                abort(); /* ids only go up, restarts or not */
            newest_id = id;
        }
        if (seen.status >= 400 && frames() != before)
            abort(); /* a refusal changed what the room saw */
        if (strict && c.why && strlen(c.why) == (size_t)-1)
            abort(); /* reading it is the check (ASan: stack-use-after-return) */
        if (c.state == CONN_DEAD)
            break;
    }
    return 0;
}
