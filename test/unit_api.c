/* unit_api.c -- the REST API (api.c) answered with no network at all
 * SPDX-License-Identifier: MIT
 *
 * api.c answers a parsed request on a connection; here the connection is
 * a fake. The functions of the loop that api.c calls (conn.h:
 * web_send_head, conn_send, conn_log, conn_kill, web_cors; metrics.h:
 * metrics_api_request) are defined below as recorders, and web_cors
 * applies web.c's policy to an --origin list of the test's, so that each
 * request's answer -- its status line, its header lines and its body --
 * lands in one buffer a test can read.
 * The chat behind the API is the real one, on a hub driven by the fake
 * transport of fakehub.h, so a write's live event can be checked in what
 * each fake Socket.IO peer was sent.
 *
 * Every request starts as literal HTTP text and goes through
 * http_parse_request and http_decode_path, as web.c would put it, and its
 * body is handed over in a block of exactly its size, so that reading one
 * byte past it is caught by ASan. Every answer is checked for the rules
 * that hold for all of them (ask(), below): one head, one metrics count,
 * one log line per error, Content-Length equal to the body, an error
 * body of {"error":"..."}; then each test compares status, headers and body
 * whole wherever they can be predicted byte for byte.
 *
 * api.c is not in LIB (it calls the loop), so it is included here.
 */
#define _POSIX_C_SOURCE 200809L /* mkstemp, setenv, strncasecmp */
#include "../apps.h"
#include "../conn.h"
#include "../history.h"
#include "../http.h"
#include "../hub.h"
#include "../json.h"
#include "../metrics.h"
#include "check.h"

/* api.c and fakehub.h each have a static field(); api.c's is renamed
 * while it is read. */
#define field api_field
#include "../api.c"
#undef field

#include "fakehub.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * The fake connection: what api.c said on it
 * ------------------------------------------------------------------------ */

static struct {
    int heads;             /* web_send_head calls for this request */
    int status;            /* the status of the last head */
    unsigned long long length; /* the Content-Length it announced */
    char type[64];         /* its Content-Type */
    char out[32768];       /* head text then body, as queued */
    size_t out_len;        /* bytes in out */
    size_t body_at;        /* where the body starts in out */
    int logs;              /* conn_log calls */
    char log[256];         /* the last log line */
    int kills;             /* conn_kill calls */
    int counted;           /* metrics_api_request calls */
    char method[16];       /* the method it was told */
    int counted_status;    /* and the status */
} seen;

/* The --origin list web_cors enforces here. */
static const char *origins = "http://allowed.example";

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
    snprintf(seen.type, sizeof seen.type, "%s", type);
    c->status = status;
    if (n > 0 && (size_t)n < sizeof hdr)
        conn_send(c, hdr, (size_t)n);
    else
        conn_kill(c, "response head too long");
    seen.body_at = seen.out_len;
}

int conn_send(struct conn *c, const void *p, size_t n)
{
    (void)c;
    if (n > sizeof seen.out - 1 - seen.out_len) {
        fprintf(stderr, "conn_send: the test's buffer is too small\n");
        abort();
    }
    memcpy(seen.out + seen.out_len, p, n);
    seen.out_len += n;
    seen.out[seen.out_len] = '\0';
    return 0;
}

void conn_log(const struct conn *c, const char *fmt, ...)
{
    va_list ap;
    (void)c;
    va_start(ap, fmt);
    vsnprintf(seen.log, sizeof seen.log, fmt, ap);
    va_end(ap);
    seen.logs++;
}

void conn_kill(struct conn *c, const char *why)
{
    seen.kills++;
    c->state = CONN_DEAD;
    c->why = why;
}

void metrics_api_request(const char *method, int status)
{
    seen.counted++;
    snprintf(seen.method, sizeof seen.method, "%s", method);
    seen.counted_status = status;
}

/* As web.c's: refuse what the Origin policy refuses; name an allowed
 * Origin back. */
int web_cors(const struct http_request *req, char *out, size_t cap)
{
    const char *why;
    out[0] = '\0';
    int status = http_check_origin(req, origins, &why);
    if (status != 0)
        return status;
    const struct http_header *org = http_find_header(req, "Origin", NULL);
    if (org)
        snprintf(out, cap, "Access-Control-Allow-Origin: %.*s\r\nVary: Origin\r\n",
                 (int)org->value_len, org->value);
    return 0;
}

/* ------------------------------------------------------------------------
 * Asking, and reading the answer
 * ------------------------------------------------------------------------ */

#define AUTH "Authorization: Bearer sekrit\r\n"
#define JSON "Content-Type: application/json\r\n"
#define WRITE AUTH JSON

/* The body of the last answer, NUL-terminated. */
static const char *body(void)
{
    return seen.out + seen.body_at;
}

/* The value of header name in the last answer, as sent, or NULL. */
static const char *header(const char *name)
{
    static char value[512];
    size_t n = strlen(name);
    const char *p = strstr(seen.out, "\r\n");
    while (p && p + 2 < seen.out + seen.body_at) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1 + (p[n + 1] == ' ');
            const char *e = strstr(v, "\r\n");
            snprintf(value, sizeof value, "%.*s", (int)(e - v), v);
            return value;
        }
        p = strstr(p, "\r\n");
    }
    return NULL;
}

/* {"error":why} as api.c writes it. */
static const char *error_json(const char *why)
{
    static char b[256];
    snprintf(b, sizeof b, "{\"error\":\"%s\"}", why);
    return b;
}

/* Send "line" (method and target), then the header lines in headers
 * (each ending in CRLF), a Host, and body (NULL: none, and no
 * Content-Length) through the parser to api_request, and check what
 * every answer must be: one head, the Content-Length that the body has
 * (HEAD and 204 send none), JSON for the type, no-store, one log line
 * if and only if it is an error, whose body is then {"error":string}.
 * Returns the status. */
static int ask(const char *line, const char *headers, const char *json)
{
    static char raw[8192];
    int n = snprintf(raw, sizeof raw, "%s HTTP/1.1\r\nHost: localhost\r\n%s", line, headers);
    if (json)
        n += snprintf(raw + n, sizeof raw - (size_t)n, "Content-Length: %zu\r\n", strlen(json));
    n += snprintf(raw + n, sizeof raw - (size_t)n, "\r\n%s", json ? json : "");
    if (n <= 0 || (size_t)n >= sizeof raw) {
        fprintf(stderr, "ask(): request too long\n");
        abort();
    }
    struct http_request req;
    int head = http_parse_request(raw, (size_t)n, &req);
    CHECK(head > 0);
    if (head <= 0)
        return -1;
    CHECK_EQ_INT(req.content_length, json ? strlen(json) : 0);
    char path[HTTP_MAX_REQUEST_LINE];
    const char *why;
    CHECK_EQ_INT(http_decode_path(req.target, req.target_len, path, sizeof path, &why), 0);

    memset(&seen, 0, sizeof seen);
    struct conn c = {0};
    c.fd = -1;
    c.file_fd = -1;
    c.keep_alive = true;
    size_t blen = (size_t)req.content_length;
    uint8_t *b = exact_copy(raw + head, blen);
    api_request(&c, &req, path, b, blen);
    free(b);

    bool is_head = http_method_is(&req, "HEAD");
    CHECK_EQ_INT(seen.heads, 1);
    CHECK_EQ_INT(seen.counted, 1);
    CHECK_EQ_INT(seen.counted_status, seen.status);
    CHECK_EQ_INT(seen.kills, 0);
    CHECK_EQ_STR(seen.type, "application/json; charset=utf-8");
    CHECK_EQ_STR(header("Cache-Control"), "no-store");
    size_t sent = seen.out_len - seen.body_at;
    if (seen.status == 204) {
        CHECK_EQ_INT(seen.length, 0);
        CHECK_EQ_INT(sent, 0);
    } else {
        CHECK_EQ_INT(sent, is_head ? 0 : seen.length);
    }
    CHECK_EQ_INT(seen.logs, seen.status >= 400);
    if (seen.status >= 400 && !is_head) {
        const char *v;
        size_t vn;
        CHECK_EQ_INT(json_scan(body(), sent, -1), (long)sent);
        CHECK(json_get(body(), sent, "error", &v, &vn) == 0 &&
              json_type_of(v, vn) == JSON_STRING);
    }
    return seen.status;
}

/* A message object as chat.c writes one from the API. */
static const char *api_message(long long id, const char *text, const char *name,
                               const char *room, const char *timestamp)
{
    static char b[4096];
    snprintf(b, sizeof b, "{\"id\":%lld,\"text\":\"%s\",\"userId\":\"api\",\"name\":\"%s\","
             "\"room\":\"%s\",\"timestamp\":%s,\"via\":\"api\"}", id, text, name, room, timestamp);
    return b;
}

/* The JSON text of key in the last answer's body (an object), or NULL. */
static const char *answer_field(const char *key)
{
    return text(get((struct span){body(), seen.out_len - seen.body_at}, key));
}

/* The id of the message the last answer carries, or -1. */
static long long answer_id(void)
{
    const char *id = answer_field("id");
    return id ? atoll(id) : -1;
}

/* "42[event,json]", as a peer records a live event. */
static const char *packet(const char *event, const char *json)
{
    static char b[4096 + 256]; /* json is at most 4095 bytes (api_message) */
    snprintf(b, sizeof b, "42[\"%s\",%s]", event, json);
    return b;
}

/* ------------------------------------------------------------------------
 * A chat with a token, and people in it
 * ------------------------------------------------------------------------ */

static char token_file[64] = "";

/* Write text to a fresh temporary file; its name goes in name. */
static void temp_file(char name[64], const char *text, size_t n)
{
    snprintf(name, 64, "/tmp/unit_api_XXXXXX");
    int fd = mkstemp(name);
    if (fd < 0 || write(fd, text, n) != (ssize_t)n) {
        perror("unit_api: temporary file");
        exit(2);
    }
    close(fd);
}

struct world {
    struct hub *hub;
    struct chat *chat;
    struct peer a, b, c; /* all in general; a also in blue */
    char ida[32], idb[32], idc[32]; /* their userIds, as JSON strings */
};

/* A chat whose API takes "sekrit", with three people: a, b and c, all
 * in general and named alice, bob and carol; a also in blue. */
static void world_open(struct world *w)
{
    w->hub = hub_new(&fake, &opts);
    w->chat = chat_init(w->hub);
    if (!w->chat) {
        fprintf(stderr, "unit_api: chat_init failed\n");
        exit(2);
    }
    if (!token_file[0])
        temp_file(token_file, "sekrit\n", 7);
    CHECK_EQ_INT(api_init(w->chat, token_file), 0);
    open_peer(w->hub, &w->a);
    say(&w->a, "40");
    say(&w->a, "421[\"nick\",\"alice\"]");
    say(&w->a, "422[\"join\",\"blue\"]");
    open_peer(w->hub, &w->b);
    say(&w->b, "40");
    say(&w->b, "421[\"nick\",\"bob\"]");
    open_peer(w->hub, &w->c);
    say(&w->c, "40");
    say(&w->c, "421[\"nick\",\"carol\"]");
    snprintf(w->ida, sizeof w->ida, "%s", sid(&w->a));
    snprintf(w->idb, sizeof w->idb, "%s", sid(&w->b));
    snprintf(w->idc, sizeof w->idc, "%s", sid(&w->c));
    w->a.nframes = w->b.nframes = w->c.nframes = 0;
}

static void world_close(struct world *w)
{
    hub_session_gone(w->a.ss, "transport close");
    hub_session_gone(w->b.ss, "transport close");
    hub_session_gone(w->c.ss, "transport close");
    chat_free(w->chat);
    hub_free(w->hub);
    api_init(NULL, NULL);
}

static size_t kept(struct world *w, const char *room)
{
    const struct hist_room *r = hist_room(chat_history(w->chat), room);
    return r ? r->count : 0;
}

/* Post text to room through the API; returns the new message's id. */
static long long post_text(const char *room, const char *text)
{
    char target[128], json[256];
    snprintf(target, sizeof target, "POST /api/rooms/%s/messages", room);
    snprintf(json, sizeof json, "{\"text\":\"%s\"}", text);
    CHECK_EQ_INT(ask(target, WRITE, json), 201);
    return answer_id();
}

/* ------------------------------------------------------------------------
 * Set-up: with no chat, with no token, and the token file's rules
 * ------------------------------------------------------------------------ */

TEST(without_the_chat_every_path_is_404)
{
    CHECK_EQ_INT(api_init(NULL, NULL), 0);
    CHECK_EQ_INT(ask("GET /api/rooms", "", NULL), 404);
    CHECK_EQ_STR(body(), error_json("the API needs the chat (--app chat)"));
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, "{\"event\":\"x\"}"), 404);
}

/* Runs before any token is read: api.c keeps the last good one. */
TEST(without_a_token_writes_are_403_and_reads_work)
{
    struct hub *h = hub_new(&fake, &opts);
    struct chat *chat = chat_init(h);
    unsetenv("WSHUB_API_TOKEN");
    CHECK_EQ_INT(api_init(chat, NULL), 0);
    const char *off = error_json("the write API is off: start wshub with --api-token-file "
                                 "FILE or WSHUB_API_TOKEN");
    static const struct { const char *line, *json; } writes[] = {
        {"POST /api/rooms/general/messages", "{\"text\":\"hi\"}"},
        {"PUT /api/rooms/general/messages/1", "{\"text\":\"hi\"}"},
        {"DELETE /api/rooms/general/messages/1", NULL},
        {"POST /api/emit", "{\"event\":\"x\"}"},
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        check_row(writes[i].line);
        CHECK_EQ_INT(ask(writes[i].line, WRITE, writes[i].json), 403);
        CHECK_EQ_STR(body(), off);
        CHECK(header("WWW-Authenticate") == NULL);
    }
    check_row(NULL);
    CHECK_EQ_INT(ask("GET /api/rooms", "", NULL), 200);
    CHECK_EQ_STR(body(), "[{\"room\":\"general\",\"members\":0,\"messages\":0}]");
    CHECK_EQ_INT(hist_room(chat_history(chat), "general")->count, 0);
    chat_free(chat);
    hub_free(h);
    api_init(NULL, NULL);
}

/* api_init, with what it says on stderr about a bad token kept from the
 * test's output (the CHECK lines that follow still go there). */
static int quiet_init(struct chat *chat, const char *file)
{
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    if (saved < 0 || null < 0 || dup2(null, 2) < 0) {
        perror("unit_api: /dev/null");
        exit(2);
    }
    int r = api_init(chat, file);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    return r;
}

TEST(token_file_is_one_line_of_1_to_256_bytes)
{
    char big[300];
    memset(big, 't', sizeof big);
    static const struct {
        const char *row;
        size_t len; /* bytes of big, or 0 for text */
        const char *text;
        int want;
    } rows[] = {
        {"one_line_with_newline", 0, "abc\n", 0},
        {"one_line_with_crlf", 0, "abc\r\n", 0},
        {"one_line_without_newline", 0, "abc", 0},
        {"256_bytes", 256, NULL, 0},
        {"257_bytes", 257, NULL, -1},
        {"empty", 0, "", -1},
        {"only_a_newline", 0, "\n", -1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char name[64];
        check_row(rows[i].row);
        if (rows[i].text)
            temp_file(name, rows[i].text, strlen(rows[i].text));
        else
            temp_file(name, big, rows[i].len);
        CHECK_EQ_INT(quiet_init(NULL, name), rows[i].want);
        unlink(name);
    }
    check_row("a_NUL_inside");
    char name[64];
    temp_file(name, "ab\0cd\n", 6);
    CHECK_EQ_INT(quiet_init(NULL, name), -1);
    unlink(name);
    check_row("missing_file");
    CHECK_EQ_INT(quiet_init(NULL, "/nonexistent/wshub-token"), -1);
    check_row(NULL);
}

TEST(token_comes_from_the_environment_without_a_file)
{
    struct world w;
    world_open(&w);
    setenv("WSHUB_API_TOKEN", "from-env", 1);
    CHECK_EQ_INT(api_init(w.chat, NULL), 0);
    CHECK_EQ_INT(ask("POST /api/emit", "Authorization: Bearer from-env\r\n" JSON,
                     "{\"event\":\"x\"}"), 202);
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, "{\"event\":\"x\"}"), 401);
    /* A file, when there is one, wins over the environment. */
    CHECK_EQ_INT(api_init(w.chat, token_file), 0);
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, "{\"event\":\"x\"}"), 202);
    unsetenv("WSHUB_API_TOKEN");
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * Who may write
 * ------------------------------------------------------------------------ */

TEST(writes_need_the_bearer_token)
{
    struct world w;
    world_open(&w);
    static const struct {
        const char *row, *auth, *why;
    } rows[] = {
        {"none", "", "a write needs Authorization: Bearer TOKEN"},
        {"wrong", "Authorization: Bearer sekrix\r\n", "wrong token"},
        {"prefix", "Authorization: Bearer sekri\r\n", "wrong token"},
        {"longer", "Authorization: Bearer sekrit2\r\n", "wrong token"},
        {"no_scheme", "Authorization: sekrit\r\n", "wrong token"},
        {"basic", "Authorization: Basic sekrit\r\n", "wrong token"},
        {"empty", "Authorization: Bearer \r\n", "wrong token"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char headers[256];
        snprintf(headers, sizeof headers, "%s" JSON, rows[i].auth);
        check_row(rows[i].row);
        CHECK_EQ_INT(ask("POST /api/rooms/general/messages", headers, "{\"text\":\"x\"}"), 401);
        CHECK_EQ_STR(header("WWW-Authenticate"), "Bearer realm=\"wshub\"");
        CHECK_EQ_STR(body(), error_json(rows[i].why));
        CHECK_EQ_INT(ask("DELETE /api/rooms/general/messages/1", rows[i].auth, NULL), 401);
        CHECK_EQ_INT(ask("POST /api/emit", headers, "{\"event\":\"x\"}"), 401);
    }
    check_row(NULL);
    CHECK_EQ_INT(kept(&w, "general"), 0);
    CHECK_EQ_INT(w.a.nframes + w.b.nframes + w.c.nframes, 0);
    CHECK_EQ_INT(ask("POST /api/rooms/general/messages", WRITE, "{\"text\":\"x\"}"), 201);
    CHECK(header("WWW-Authenticate") == NULL);
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * Routes and methods
 * ------------------------------------------------------------------------ */

TEST(every_route_answers_its_methods_and_405s_the_rest_with_allow)
{
    struct world w;
    world_open(&w);
    long long id = post_text("general", "one");
    char msg[64];
    snprintf(msg, sizeof msg, "/api/rooms/general/messages/%lld", id);
    static const char *const rooms = "GET, HEAD, OPTIONS", *room = "GET, HEAD, OPTIONS",
                             *messages = "GET, HEAD, POST, OPTIONS",
                             *message = "GET, HEAD, PUT, DELETE, OPTIONS", *emit = "POST, OPTIONS";
    const struct {
        const char *method, *path, *allow;
        int want;
    } rows[] = {
        {"GET", "/api/rooms", rooms, 200},
        {"HEAD", "/api/rooms", rooms, 200},
        {"POST", "/api/rooms", rooms, 405},
        {"PUT", "/api/rooms", rooms, 405},
        {"DELETE", "/api/rooms", rooms, 405},
        {"PATCH", "/api/rooms", rooms, 405},
        {"GET", "/api/rooms/general", room, 200},
        {"POST", "/api/rooms/general", room, 405},
        {"DELETE", "/api/rooms/general", room, 405},
        {"GET", "/api/rooms/general/messages", messages, 200},
        {"PUT", "/api/rooms/general/messages", messages, 405},
        {"DELETE", "/api/rooms/general/messages", messages, 405},
        {"GET", msg, message, 200},
        {"POST", msg, message, 405},
        {"PATCH", msg, message, 405},
        {"get", msg, message, 405}, /* methods are case-sensitive */
        {"POST", "/api/emit", emit, 202},
        {"GET", "/api/emit", emit, 405},
        {"HEAD", "/api/emit", emit, 405},
        {"PUT", "/api/emit", emit, 405},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char line[128], allow[64];
        snprintf(line, sizeof line, "%s %s", rows[i].method, rows[i].path);
        bool post = strcmp(rows[i].method, "POST") == 0 || strcmp(rows[i].method, "PUT") == 0;
        check_row(line);
        CHECK_EQ_INT(ask(line, WRITE, post ? "{\"event\":\"e\"}" : NULL), rows[i].want);
        if (rows[i].want == 405) {
            CHECK_EQ_STR(header("Allow"), rows[i].allow);
            CHECK_EQ_STR(body(), strcmp(rows[i].method, "HEAD") == 0
                                     ? "" : error_json("method not allowed here"));
        }
        /* OPTIONS says the same Allow, and what a preflight needs. */
        snprintf(line, sizeof line, "OPTIONS %s", rows[i].path);
        snprintf(allow, sizeof allow, "%.*s", (int)(strlen(rows[i].allow) - 9), rows[i].allow);
        CHECK_EQ_INT(ask(line, "", NULL), 204);
        CHECK_EQ_STR(header("Allow"), rows[i].allow);
        CHECK_EQ_STR(header("Access-Control-Allow-Methods"), allow);
        CHECK_EQ_STR(header("Access-Control-Allow-Headers"), "Authorization, Content-Type, If-Match");
        CHECK_EQ_STR(header("Access-Control-Max-Age"), "86400");
    }
    check_row(NULL);
    world_close(&w);
}

TEST(unknown_paths_are_404)
{
    struct world w;
    world_open(&w);
    post_text("general", "one");
    static const char *const paths[] = {
        "/api", "/api/", "/api/room", "/api/rooms/",
        "/api/rooms/general/", "/api/rooms/general/history", "/api/rooms/general/messages/",
        "/api/rooms/general/messages/1/", "/api/rooms/general/messages/1/x",
        "/api/emit/x", "/api/ROOMS", "/api/rooms/general/messages/1/x/y",
        "/api/rooms/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 33 bytes */
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "GET %s", paths[i]);
        check_row(paths[i]);
        CHECK_EQ_INT(ask(line, "", NULL), 404);
        CHECK_EQ_STR(body(), error_json("no such resource"));
        snprintf(line, sizeof line, "POST %s", paths[i]);
        CHECK_EQ_INT(ask(line, WRITE, "{\"text\":\"x\"}"), 404);
    }
    check_row(NULL);
    CHECK_EQ_INT(kept(&w, "general"), 1);
    CHECK_EQ_INT(ask("GET /api/rooms/nowhere", "", NULL), 404);
    CHECK_EQ_STR(body(), error_json("No such room"));
    CHECK_EQ_INT(ask("GET /api/rooms/nowhere/messages", "", NULL), 404);
    CHECK_EQ_STR(body(), error_json("No such room"));
    CHECK_EQ_INT(ask("GET /api/rooms/nowhere/messages/1", "", NULL), 404);
    CHECK_EQ_STR(body(), error_json("No such room"));
    static const char *const ids[] = {"999", "0", "01", "-1", "1.0", "x", "99999999999999999999"};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "GET /api/rooms/general/messages/%s", ids[i]);
        check_row(ids[i]);
        CHECK_EQ_INT(ask(line, "", NULL), 404);
        CHECK_EQ_STR(body(), error_json("No such message"));
    }
    check_row(NULL);
    /* A percent-escaped path is decoded first, as web.c hands it over. */
    CHECK_EQ_INT(ask("GET /api/rooms/%67eneral", "", NULL), 200);
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * Reading rooms
 * ------------------------------------------------------------------------ */

TEST(rooms_list_every_room_with_its_members_and_messages)
{
    struct world w;
    world_open(&w);
    CHECK_EQ_INT(ask("GET /api/rooms", "", NULL), 200);
    CHECK_EQ_STR(body(), "[{\"room\":\"blue\",\"members\":1,\"messages\":0},"
                         "{\"room\":\"general\",\"members\":3,\"messages\":0}]");
    post_text("blue", "b1");
    post_text("general", "g1");
    post_text("general", "g2");
    CHECK_EQ_INT(ask("GET /api/rooms", "", NULL), 200);
    CHECK_EQ_STR(body(), "[{\"room\":\"blue\",\"members\":1,\"messages\":1},"
                         "{\"room\":\"general\",\"members\":3,\"messages\":2}]");
    world_close(&w);
}

TEST(room_shows_its_members_and_its_history_oldest_first)
{
    struct world w;
    world_open(&w);
    char want[4096];
    CHECK_EQ_INT(ask("GET /api/rooms/blue", "", NULL), 200);
    snprintf(want, sizeof want, "{\"room\":\"blue\",\"members\":[{\"userId\":%s,\"name\":\"alice\"}],"
             "\"messages\":[]}", w.ida);
    CHECK_EQ_STR(body(), want);

    long long one = post_text("blue", "first");
    char first[512];
    snprintf(first, sizeof first, "%s", body());
    long long two = post_text("blue", "second");
    CHECK(two > one);
    char second[512];
    snprintf(second, sizeof second, "%s", body());
    CHECK_EQ_INT(ask("GET /api/rooms/blue", "", NULL), 200);
    snprintf(want, sizeof want, "{\"room\":\"blue\",\"members\":[{\"userId\":%s,\"name\":\"alice\"}],"
             "\"messages\":[%s,%s]}", w.ida, first, second);
    CHECK_EQ_STR(body(), want);

    /* General has all three, each with the name the chat knows. */
    CHECK_EQ_INT(ask("GET /api/rooms/general", "", NULL), 200);
    struct span members = get((struct span){body(), strlen(body())}, "members");
    CHECK_EQ_INT(count(members), 3);
    int named = 0;
    for (int i = 0; i < 3; i++) {
        const char *id = text(get(at(members, i), "userId"));
        const char *name = text(get(at(members, i), "name"));
        named += id && name &&
                 ((strcmp(id, w.ida) == 0 && strcmp(name, "\"alice\"") == 0) ||
                  (strcmp(id, w.idb) == 0 && strcmp(name, "\"bob\"") == 0) ||
                  (strcmp(id, w.idc) == 0 && strcmp(name, "\"carol\"") == 0));
    }
    CHECK_EQ_INT(named, 3);
    CHECK_EQ_STR(answer_field("messages"), "[]");
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * Posting a message
 * ------------------------------------------------------------------------ */

TEST(post_stores_the_message_answers_201_and_the_room_hears_it)
{
    struct world w;
    world_open(&w);
    CHECK_EQ_INT(ask("POST /api/rooms/general/messages", WRITE, "{\"text\":\"hello \\\"you\\\"\"}"),
                 201);
    long long id = answer_id();
    CHECK_EQ_INT(id, 1);
    const char *ts = answer_field("timestamp");
    CHECK(ts && strlen(ts) == 26);
    char stored[4096];
    snprintf(stored, sizeof stored, "%s", api_message(1, "hello \\\"you\\\"", "api", "general", ts));
    CHECK_EQ_STR(body(), stored);
    CHECK_EQ_STR(header("Location"), "/api/rooms/general/messages/1");
    CHECK_EQ_STR(header("ETag"), "\"1.0\"");
    /* Everyone in general hears it as a socket's message, marked via api. */
    CHECK_EQ_STR(last_event(&w.a, "message"), packet("message", stored));
    CHECK_EQ_STR(last_event(&w.b, "message"), packet("message", stored));
    CHECK_EQ_STR(last_event(&w.c, "message"), packet("message", stored));
    /* And it is what GET gives, with the same ETag. */
    CHECK_EQ_INT(ask("GET /api/rooms/general/messages/1", "", NULL), 200);
    CHECK_EQ_STR(body(), stored);
    CHECK_EQ_STR(header("ETag"), "\"1.0\"");

    /* A name, and a room only a is in. */
    w.a.nframes = w.b.nframes = w.c.nframes = 0;
    CHECK_EQ_INT(ask("POST /api/rooms/blue/messages", WRITE,
                     "{\"name\":\"bot\",\"text\":\"two\\nlines\\tand a tab\"}"), 201);
    CHECK_EQ_INT(answer_id(), 2);
    snprintf(stored, sizeof stored, "%s",
             api_message(2, "two\\nlines\\tand a tab", "bot", "blue", answer_field("timestamp")));
    CHECK_EQ_STR(body(), stored);
    CHECK_EQ_STR(header("Location"), "/api/rooms/blue/messages/2");
    CHECK_EQ_STR(last_event(&w.a, "message"), packet("message", stored));
    CHECK_EQ_INT(w.b.nframes + w.c.nframes, 0);
    CHECK_EQ_INT(kept(&w, "blue"), 1);

    /* Media type parameters are allowed; 2000 bytes of text are. */
    CHECK_EQ_INT(ask("POST /api/rooms/general/messages",
                     AUTH "Content-Type: application/json; charset=utf-8\r\n", "{\"text\":\"x\"}"),
                 201);
    CHECK_EQ_INT(ask("POST /api/rooms/general/messages",
                     AUTH "Content-Type: application/json ;charset=utf-8\r\n", "{\"text\":\"x\"}"),
                 201);
    static char big[2100];
    int o = snprintf(big, sizeof big, "{\"text\":\"");
    memset(big + o, 'x', 2000);
    snprintf(big + o + 2000, sizeof big - (size_t)o - 2000, "\"}");
    CHECK_EQ_INT(ask("POST /api/rooms/general/messages", WRITE, big), 201);
    /* White space around the object is not a second value. */
    CHECK_EQ_INT(ask("POST /api/rooms/general/messages", WRITE, " \r\n{\"text\":\"x\"}\n "), 201);
    world_close(&w);
}

TEST(post_refusals_change_nothing_and_say_why)
{
    struct world w;
    world_open(&w);
    static char too_long[2100], long_name[100];
    int o = snprintf(too_long, sizeof too_long, "{\"text\":\"");
    memset(too_long + o, 'x', 2001);
    snprintf(too_long + o + 2001, sizeof too_long - (size_t)o - 2001, "\"}");
    snprintf(long_name, sizeof long_name, "{\"text\":\"x\",\"name\":\"%033d\"}", 0);
    const char *bad_text = "text must be a string of 1 to 2000 bytes";
    const char *bad_name = "name must be 1 to 32 bytes without control characters";
    const char *not_json = "the body must be application/json";
    const char *not_object = "the body must be one JSON object";
    const struct {
        const char *row, *headers, *json;
        int want;
        const char *why;
    } rows[] = {
        {"no_content_type", AUTH, "{\"text\":\"x\"}", 415, not_json},
        {"text_plain", AUTH "Content-Type: text/plain\r\n", "{\"text\":\"x\"}", 415, not_json},
        {"json_suffix", AUTH "Content-Type: application/jsonx\r\n", "{\"text\":\"x\"}", 415,
         not_json},
        {"json_seq", AUTH "Content-Type: application/json-seq\r\n", "{\"text\":\"x\"}", 415,
         not_json},
        {"form", AUTH "Content-Type: application/x-www-form-urlencoded\r\n", "text=x", 415,
         not_json},
        {"no_body", WRITE, "", 400, not_object},
        {"truncated", WRITE, "{\"text\":\"x\"", 400, not_object},
        {"two_values", WRITE, "{\"text\":\"x\"}{}", 400, not_object},
        {"trailing_garbage", WRITE, "{\"text\":\"x\"} x", 400, not_object},
        {"array", WRITE, "[{\"text\":\"x\"}]", 400, not_object},
        {"string", WRITE, "\"x\"", 400, not_object},
        {"number", WRITE, "1", 400, not_object},
        {"missing_value", WRITE, "{\"text\":}", 400, not_object},
        {"single_quotes", WRITE, "{'text':'x'}", 400, not_object},
        {"raw_newline", WRITE, "{\"text\":\"a\nb\"}", 400, not_object},
        {"bad_escape", WRITE, "{\"text\":\"\\x\"}", 400, not_object},
        {"too_deep", WRITE,
         "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"text\":\"x\"}",
         400, not_object},
        {"text_missing", WRITE, "{\"name\":\"x\"}", 400, "text is missing"},
        {"text_number", WRITE, "{\"text\":1}", 400, "text must be a string"},
        {"text_null", WRITE, "{\"text\":null}", 400, "text must be a string"},
        {"text_array", WRITE, "{\"text\":[\"x\"]}", 400, "text must be a string"},
        {"name_number", WRITE, "{\"text\":\"x\",\"name\":5}", 400, "name must be a string"},
        {"name_object", WRITE, "{\"text\":\"x\",\"name\":{}}", 400, "name must be a string"},
        {"text_empty", WRITE, "{\"text\":\"\"}", 422, bad_text},
        {"text_blank", WRITE, "{\"text\":\" \\n\\t \"}", 422, bad_text},
        {"text_bell", WRITE, "{\"text\":\"bell\\u0007\"}", 422, bad_text},
        {"text_del", WRITE, "{\"text\":\"del\\u007f\"}", 422, bad_text},
        {"text_nul", WRITE, "{\"text\":\"nul\\u0000\"}", 422, bad_text},
        {"text_lone_surrogate", WRITE, "{\"text\":\"\\ud800\"}", 422, bad_text},
        {"text_2001_bytes", WRITE, too_long, 422, bad_text},
        {"name_empty", WRITE, "{\"text\":\"x\",\"name\":\"\"}", 422, bad_name},
        {"name_newline", WRITE, "{\"text\":\"x\",\"name\":\"a\\nb\"}", 422, bad_name},
        {"name_33_bytes", WRITE, long_name, 422, bad_name},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].row);
        CHECK_EQ_INT(ask("POST /api/rooms/general/messages", rows[i].headers, rows[i].json),
                     rows[i].want);
        CHECK_EQ_STR(body(), error_json(rows[i].why));
        CHECK(header("Location") == NULL && header("ETag") == NULL);
    }
    check_row("no_such_room");
    CHECK_EQ_INT(ask("POST /api/rooms/nowhere/messages", WRITE, "{\"text\":\"x\"}"), 404);
    CHECK_EQ_STR(body(), error_json("No such room"));
    check_row(NULL);
    CHECK_EQ_INT(kept(&w, "general"), 0);
    CHECK(hist_room(chat_history(w.chat), "nowhere") == NULL);
    CHECK_EQ_INT(w.a.nframes + w.b.nframes + w.c.nframes, 0);
    /* The next good post still gets id 1: no id was used up. */
    CHECK_EQ_INT(post_text("general", "now"), 1);
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * Changing a message: PUT, DELETE, ETag and If-Match
 * ------------------------------------------------------------------------ */

TEST(put_edits_with_a_new_etag_and_the_room_hears_it)
{
    struct world w;
    world_open(&w);
    long long id = post_text("general", "draft");
    char line[128], tag[32], want[1024];
    snprintf(line, sizeof line, "PUT /api/rooms/general/messages/%lld", id);
    snprintf(tag, sizeof tag, "\"%lld.0\"", id);
    CHECK_EQ_INT(ask(line, WRITE, "{\"text\":\"final\"}"), 200);
    CHECK(header("Location") == NULL);
    snprintf(tag, sizeof tag, "\"%lld.1\"", id);
    CHECK_EQ_STR(header("ETag"), tag);
    const char *edited = answer_field("edited");
    CHECK(edited && strlen(edited) == 26);
    char ed[32];
    snprintf(ed, sizeof ed, "%s", edited ? edited : "");
    /* The stored message: the same fields, new text, then edited. */
    snprintf(want, sizeof want, "{\"id\":%lld,\"text\":\"final\",\"userId\":\"api\",\"name\":\"api\","
             "\"room\":\"general\",\"timestamp\":%s,\"via\":\"api\",\"edited\":%s}", id,
             answer_field("timestamp"), ed);
    CHECK_EQ_STR(body(), want);
    char stored[1024];
    snprintf(stored, sizeof stored, "%s", body());
    char live[512];
    snprintf(live, sizeof live, "{\"room\":\"general\",\"id\":%lld,\"text\":\"final\",\"edited\":%s}",
             id, ed);
    CHECK_EQ_STR(last_event(&w.a, "message-edit"), packet("message-edit", live));
    CHECK_EQ_STR(last_event(&w.b, "message-edit"), packet("message-edit", live));
    CHECK_EQ_STR(last_event(&w.c, "message-edit"), packet("message-edit", live));
    snprintf(line, sizeof line, "GET /api/rooms/general/messages/%lld", id);
    CHECK_EQ_INT(ask(line, "", NULL), 200);
    CHECK_EQ_STR(body(), stored);
    CHECK_EQ_STR(header("ETag"), tag);
    world_close(&w);
}

TEST(if_match_refuses_a_stale_tag_with_412_and_star_matches_any)
{
    struct world w;
    world_open(&w);
    long long id = post_text("general", "v0");
    char put[128], del[128], get_line[128];
    snprintf(put, sizeof put, "PUT /api/rooms/general/messages/%lld", id);
    snprintf(del, sizeof del, "DELETE /api/rooms/general/messages/%lld", id);
    snprintf(get_line, sizeof get_line, "GET /api/rooms/general/messages/%lld", id);
    const char *stale = error_json("the message has changed since (If-Match)");
    char h[256];

    snprintf(h, sizeof h, WRITE "If-Match: \"%lld.0\"\r\n", id);
    CHECK_EQ_INT(ask(put, h, "{\"text\":\"v1\"}"), 200); /* rev 0 -> 1 */
    w.a.nframes = w.b.nframes = w.c.nframes = 0;
    /* The same tag again is stale now: refused, nothing changes. */
    CHECK_EQ_INT(ask(put, h, "{\"text\":\"lost update\"}"), 412);
    CHECK_EQ_STR(body(), stale);
    CHECK_EQ_INT(ask(del, h, NULL), 412);
    CHECK_EQ_STR(body(), stale);
    snprintf(h, sizeof h, WRITE "If-Match: W/\"%lld.1\"\r\n", id); /* weak never matches */
    CHECK_EQ_INT(ask(put, h, "{\"text\":\"lost update\"}"), 412);
    snprintf(h, sizeof h, WRITE "If-Match: \"%lld.2\"\r\n", id); /* nor a future one */
    CHECK_EQ_INT(ask(put, h, "{\"text\":\"lost update\"}"), 412);
    CHECK_EQ_INT(w.a.nframes + w.b.nframes + w.c.nframes, 0);
    CHECK_EQ_INT(ask(get_line, "", NULL), 200);
    CHECK_EQ_STR(answer_field("text"), "\"v1\"");

    /* "*" matches any, and a list matches if one of it does. */
    CHECK_EQ_INT(ask(put, WRITE "If-Match: *\r\n", "{\"text\":\"v2\"}"), 200);
    char tag[32];
    snprintf(tag, sizeof tag, "\"%lld.2\"", id);
    CHECK_EQ_STR(header("ETag"), tag);
    snprintf(h, sizeof h, WRITE "If-Match: \"77.0\", \"%lld.2\"\r\n", id);
    CHECK_EQ_INT(ask(put, h, "{\"text\":\"v3\"}"), 200);
    snprintf(tag, sizeof tag, "\"%lld.3\"", id);
    CHECK_EQ_STR(header("ETag"), tag);
    /* A body is checked before the tag: a bad one is a 400, not a 412. */
    CHECK_EQ_INT(ask(put, WRITE "If-Match: \"1.0\"\r\n", "{\"text\":5}"), 400);

    /* DELETE with the current tag: 204, no body, and the room hears. */
    snprintf(h, sizeof h, AUTH "If-Match: \"%lld.3\"\r\n", id);
    CHECK_EQ_INT(ask(del, h, NULL), 204);
    CHECK_EQ_STR(body(), "");
    CHECK(header("ETag") == NULL);
    char live[128];
    snprintf(live, sizeof live, "{\"room\":\"general\",\"id\":%lld}", id);
    CHECK_EQ_STR(last_event(&w.a, "message-delete"), packet("message-delete", live));
    CHECK_EQ_STR(last_event(&w.b, "message-delete"), packet("message-delete", live));
    CHECK_EQ_STR(last_event(&w.c, "message-delete"), packet("message-delete", live));
    CHECK_EQ_INT(kept(&w, "general"), 0);
    /* Gone: every way to it is a 404. */
    CHECK_EQ_INT(ask(get_line, "", NULL), 404);
    CHECK_EQ_STR(body(), error_json("No such message"));
    CHECK_EQ_INT(ask(del, AUTH, NULL), 404);
    CHECK_EQ_INT(ask(put, WRITE, "{\"text\":\"v4\"}"), 404);
    CHECK_EQ_INT(ask(put, WRITE "If-Match: *\r\n", "{\"text\":\"v4\"}"), 404);
    world_close(&w);
}

TEST(put_refusals_change_nothing)
{
    struct world w;
    world_open(&w);
    long long id = post_text("general", "keep me");
    w.a.nframes = w.b.nframes = w.c.nframes = 0;
    char put[128];
    snprintf(put, sizeof put, "PUT /api/rooms/general/messages/%lld", id);
    const struct {
        const char *row, *headers, *json;
        int want;
        const char *why;
    } rows[] = {
        {"no_token", JSON, "{\"text\":\"x\"}", 401, "a write needs Authorization: Bearer TOKEN"},
        {"not_json", AUTH, "{\"text\":\"x\"}", 415, "the body must be application/json"},
        {"malformed", WRITE, "{\"text\"", 400, "the body must be one JSON object"},
        {"text_missing", WRITE, "{}", 400, "text is missing"},
        {"text_number", WRITE, "{\"text\":5}", 400, "text must be a string"},
        {"text_empty", WRITE, "{\"text\":\"\"}", 422, "text must be a string of 1 to 2000 bytes"},
        {"text_control", WRITE, "{\"text\":\"\\u001b[31m\"}", 422,
         "text must be a string of 1 to 2000 bytes"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].row);
        CHECK_EQ_INT(ask(put, rows[i].headers, rows[i].json), rows[i].want);
        CHECK_EQ_STR(body(), error_json(rows[i].why));
    }
    check_row("no_such_room");
    CHECK_EQ_INT(ask("PUT /api/rooms/nowhere/messages/1", WRITE, "{\"text\":\"x\"}"), 404);
    CHECK_EQ_STR(body(), error_json("No such room"));
    check_row(NULL);
    CHECK_EQ_INT(w.a.nframes + w.b.nframes + w.c.nframes, 0);
    const struct hist_msg *m = chat_message(w.chat, "general", id);
    CHECK(m && m->rev == 0 && strstr(m->json, "\"text\":\"keep me\""));
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * Paging: before and limit
 * ------------------------------------------------------------------------ */

/* The ids in the array the last answer holds, as "1,2,3". */
static const char *ids_of_answer(void)
{
    static char b[1024];
    struct span arr = {body(), strlen(body())};
    size_t n = 0;
    b[0] = '\0';
    for (int i = 0; at(arr, i).p && n < sizeof b - 24; i++)
        n += (size_t)snprintf(b + n, sizeof b - n, "%s%s", i ? "," : "", text(get(at(arr, i), "id")));
    return b;
}

TEST(messages_page_with_before_and_limit_newest_last)
{
    struct world w;
    world_open(&w);
    /* Ids 1..5 in blue, 6 in general. */
    for (int i = 1; i <= 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "b%d", i);
        CHECK_EQ_INT(post_text("blue", t), i);
    }
    CHECK_EQ_INT(post_text("general", "g"), 6);
    const struct {
        const char *query, *ids;
    } rows[] = {
        {"", "1,2,3,4,5"},
        {"?limit=2", "4,5"},
        {"?limit=1", "5"},
        {"?limit=5", "1,2,3,4,5"},
        {"?limit=200", "1,2,3,4,5"},
        {"?before=4", "1,2,3"},
        {"?before=4&limit=2", "2,3"},
        {"?limit=1&before=4", "3"},
        {"?before=1", ""},
        {"?before=0", ""},
        {"?before=6", "1,2,3,4,5"},
        {"?before=4611686018427387903", "1,2,3,4,5"},
        {"?other=1&limit=3", "3,4,5"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "GET /api/rooms/blue/messages%s", rows[i].query);
        check_row(rows[i].query);
        CHECK_EQ_INT(ask(line, "", NULL), 200);
        CHECK_EQ_STR(ids_of_answer(), rows[i].ids);
    }
    const struct {
        const char *query, *why;
    } bad[] = {
        {"?limit=0", "limit must be 1 to 200"},
        {"?limit=201", "limit must be 1 to 200"},
        {"?limit=1000001", "limit must be 1 to 200"},
        {"?limit=-1", "limit must be 1 to 200"},
        {"?limit=", "limit must be 1 to 200"},
        {"?limit", "limit must be 1 to 200"},
        {"?limit=2x", "limit must be 1 to 200"},
        {"?limit=02", "limit must be 1 to 200"},
        {"?limit=1.5", "limit must be 1 to 200"},
        {"?before=x", "before must be a message id"},
        {"?before=-1", "before must be a message id"},
        {"?before=", "before must be a message id"},
        {"?before=4611686018427387904", "before must be a message id"},
        {"?before=x&limit=0", "before must be a message id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[128];
        snprintf(line, sizeof line, "GET /api/rooms/blue/messages%s", bad[i].query);
        check_row(bad[i].query);
        CHECK_EQ_INT(ask(line, "", NULL), 400);
        CHECK_EQ_STR(body(), error_json(bad[i].why));
    }
    check_row(NULL);
    world_close(&w);
}

TEST(messages_are_the_last_50_kept)
{
    struct world w;
    world_open(&w);
    for (int i = 1; i <= 55; i++) {
        char t[16];
        snprintf(t, sizeof t, "m%d", i);
        w.a.nframes = 0;
        post_text("blue", t);
    }
    CHECK_EQ_INT(ask("GET /api/rooms/blue/messages?limit=200", "", NULL), 200);
    struct span arr = {body(), strlen(body())};
    CHECK_EQ_INT(count(arr), 50);
    CHECK_EQ_STR(text(get(at(arr, 0), "id")), "6");
    CHECK_EQ_STR(text(get(at(arr, 49), "id")), "55");
    CHECK_EQ_INT(ask("GET /api/rooms/blue/messages", "", NULL), 200); /* default 50 */
    CHECK_EQ_INT(count((struct span){body(), strlen(body())}), 50);
    CHECK_EQ_INT(ask("GET /api/rooms/blue/messages?before=10&limit=3", "", NULL), 200);
    CHECK_EQ_STR(ids_of_answer(), "7,8,9");
    CHECK_EQ_INT(ask("GET /api/rooms/blue/messages/5", "", NULL), 404); /* dropped */
    CHECK_EQ_INT(ask("GET /api/rooms/blue/messages/6", "", NULL), 200);
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * POST /api/emit
 * ------------------------------------------------------------------------ */

TEST(emit_sends_any_event_to_everyone_or_to_a_room)
{
    struct world w;
    world_open(&w);
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, "{\"event\":\"news\",\"args\":[1,\"two\",{\"3\":[null]}]}"),
                 202);
    CHECK_EQ_STR(body(), "{\"ok\":true}");
    const char *want = "42[\"news\",1,\"two\",{\"3\":[null]}]";
    CHECK_EQ_STR(last(&w.a), want);
    CHECK_EQ_STR(last(&w.b), want);
    CHECK_EQ_STR(last(&w.c), want);

    w.a.nframes = w.b.nframes = w.c.nframes = 0;
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, "{\"room\":\"blue\",\"event\":\"to blue\",\"args\":[true]}"),
                 202);
    CHECK_EQ_STR(last(&w.a), "42[\"to blue\",true]");
    CHECK_EQ_INT(w.b.nframes + w.c.nframes, 0);

    /* No args, or an empty list, or white space in it: no arguments. */
    static const char *const none_args[] = {
        "{\"event\":\"bare\"}", "{\"event\":\"bare\",\"args\":[]}", "{\"event\":\"bare\",\"args\":[ ]}",
    };
    for (size_t i = 0; i < 3; i++) {
        check_row(none_args[i]);
        w.b.nframes = 0;
        CHECK_EQ_INT(ask("POST /api/emit", WRITE, none_args[i]), 202);
        CHECK_EQ_STR(last(&w.b), "42[\"bare\"]");
    }
    check_row(NULL);
    /* The event name is escaped as a JSON string in the packet. */
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, "{\"event\":\"q\\\"\\u00e9\",\"args\":[0]}"), 202);
    CHECK_EQ_STR(last(&w.b), "42[\"q\\\"\xc3\xa9\",0]");
    /* A room nobody is in: accepted, heard by nobody. */
    w.a.nframes = w.b.nframes = w.c.nframes = 0;
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, "{\"room\":\"empty\",\"event\":\"x\"}"), 202);
    CHECK_EQ_INT(w.a.nframes + w.b.nframes + w.c.nframes, 0);
    /* 64 bytes of event name are allowed. */
    char json[160];
    snprintf(json, sizeof json, "{\"event\":\"%064d\"}", 0);
    CHECK_EQ_INT(ask("POST /api/emit", WRITE, json), 202);
    world_close(&w);
}

TEST(emit_refuses_reserved_names_placeholders_and_bad_fields)
{
    struct world w;
    world_open(&w);
    static char long_event[160], long_room[160];
    snprintf(long_event, sizeof long_event, "{\"event\":\"%065d\"}", 0);
    snprintf(long_room, sizeof long_room, "{\"event\":\"x\",\"room\":\"%033d\"}", 0);
    const char *reserved = "that event name is reserved by Socket.IO";
    const char *bad_event = "event must be a string of 1 to 64 bytes";
    const char *placeholder = "args may not hold binary placeholders";
    const struct {
        const char *row, *json, *why;
        int want;
    } rows[] = {
        {"connect", "{\"event\":\"connect\"}", reserved, 400},
        {"connect_error", "{\"event\":\"connect_error\"}", reserved, 400},
        {"disconnect", "{\"event\":\"disconnect\"}", reserved, 400},
        {"disconnecting", "{\"event\":\"disconnecting\"}", reserved, 400},
        {"newListener", "{\"event\":\"newListener\"}", reserved, 400},
        {"removeListener", "{\"event\":\"removeListener\"}", reserved, 400},
        {"escaped_reserved", "{\"event\":\"\\u0063onnect\"}", reserved, 400},
        {"event_missing", "{\"args\":[1]}", bad_event, 400},
        {"event_empty", "{\"event\":\"\"}", bad_event, 400},
        {"event_65_bytes", long_event, bad_event, 400},
        {"event_nul", "{\"event\":\"a\\u0000b\"}", bad_event, 400},
        {"event_number", "{\"event\":5}", "event must be a string", 400},
        {"args_object", "{\"event\":\"x\",\"args\":{}}", "args must be an array", 400},
        {"args_string", "{\"event\":\"x\",\"args\":\"a\"}", "args must be an array", 400},
        {"placeholder", "{\"event\":\"x\",\"args\":[{\"_placeholder\":true,\"num\":0}]}",
         placeholder, 400},
        {"nested_placeholder",
         "{\"event\":\"x\",\"args\":[1,{\"a\":[{\"_placeholder\":true,\"num\":0}]}]}", placeholder,
         400},
        {"odd_placeholder", "{\"event\":\"x\",\"args\":[{\"_placeholder\":1}]}", placeholder, 400},
        {"room_number", "{\"event\":\"x\",\"room\":1}", "room must be a string", 400},
        {"room_empty", "{\"event\":\"x\",\"room\":\"\"}", "room must be a room name", 400},
        {"room_33_bytes", long_room, "room must be a room name", 400},
        {"not_object", "[\"x\"]", "the body must be one JSON object", 400},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].row);
        CHECK_EQ_INT(ask("POST /api/emit", WRITE, rows[i].json), rows[i].want);
        CHECK_EQ_STR(body(), error_json(rows[i].why));
    }
    check_row("not_json");
    CHECK_EQ_INT(ask("POST /api/emit", AUTH "Content-Type: text/json\r\n", "{\"event\":\"x\"}"), 415);
    check_row(NULL);
    CHECK_EQ_INT(w.a.nframes + w.b.nframes + w.c.nframes, 0);
    world_close(&w);
}

/* ------------------------------------------------------------------------
 * HEAD, CORS, and refusals before the API sees a request
 * ------------------------------------------------------------------------ */

TEST(head_is_get_without_the_body)
{
    struct world w;
    world_open(&w);
    long long id = post_text("general", "hi");
    char line[128], etag[32];
    static const char *const paths[] = {"/api/rooms", "/api/rooms/general",
                                        "/api/rooms/general/messages", NULL};
    char msg[64];
    snprintf(msg, sizeof msg, "/api/rooms/general/messages/%lld", id);
    for (int i = 0; i < 4; i++) {
        const char *path = paths[i] ? paths[i] : msg;
        check_row(path);
        snprintf(line, sizeof line, "GET %s", path);
        CHECK_EQ_INT(ask(line, "", NULL), 200);
        unsigned long long length = seen.length;
        snprintf(etag, sizeof etag, "%s", header("ETag") ? header("ETag") : "");
        snprintf(line, sizeof line, "HEAD %s", path);
        CHECK_EQ_INT(ask(line, "", NULL), 200);
        CHECK_EQ_INT(seen.length, length);
        CHECK_EQ_STR(body(), "");
        CHECK_EQ_STR(header("ETag") ? header("ETag") : "", etag);
    }
    check_row("404");
    CHECK_EQ_INT(ask("HEAD /api/rooms/nowhere", "", NULL), 404);
    CHECK_EQ_INT(seen.length, strlen(error_json("No such room")));
    CHECK_EQ_STR(body(), "");
    check_row("400");
    CHECK_EQ_INT(ask("HEAD /api/rooms/general/messages?limit=0", "", NULL), 400);
    CHECK_EQ_STR(body(), "");
    check_row(NULL);
    world_close(&w);
}

TEST(cross_origin_requests_follow_the_origin_list)
{
    struct world w;
    world_open(&w);
    CHECK_EQ_INT(ask("GET /api/rooms", "Origin: http://allowed.example\r\n", NULL), 200);
    CHECK_EQ_STR(header("Access-Control-Allow-Origin"), "http://allowed.example");
    CHECK_EQ_INT(ask("GET /api/rooms", "Origin: http://localhost\r\n", NULL), 200); /* same host */
    CHECK_EQ_INT(ask("GET /api/rooms", "", NULL), 200);
    CHECK(header("Access-Control-Allow-Origin") == NULL);
    /* The preflight a browser sends before a write. */
    CHECK_EQ_INT(ask("OPTIONS /api/rooms/general/messages",
                     "Origin: http://allowed.example\r\nAccess-Control-Request-Method: POST\r\n",
                     NULL), 204);
    CHECK_EQ_STR(header("Access-Control-Allow-Origin"), "http://allowed.example");
    CHECK_EQ_STR(header("Access-Control-Allow-Methods"), "GET, HEAD, POST");
    /* A foreign page may neither read nor write, nor ask. */
    const char *foreign = error_json("Origin not allowed (see --origin)");
    CHECK_EQ_INT(ask("GET /api/rooms", "Origin: http://evil.example\r\n", NULL), 403);
    CHECK_EQ_STR(body(), foreign);
    CHECK(header("Access-Control-Allow-Origin") == NULL);
    CHECK_EQ_INT(ask("POST /api/rooms/general/messages", WRITE "Origin: http://evil.example\r\n",
                     "{\"text\":\"x\"}"), 403);
    CHECK_EQ_STR(body(), foreign);
    CHECK_EQ_INT(ask("OPTIONS /api/rooms", "Origin: http://evil.example\r\n", NULL), 403);
    CHECK_EQ_INT(ask("GET /api/rooms", "Origin: http://allowed.example\r\nOrigin: http://x\r\n",
                     NULL), 400);
    CHECK_EQ_INT(kept(&w, "general"), 0);
    world_close(&w);
}

TEST(refused_before_the_api_is_json_too)
{
    struct conn c = {0};
    c.fd = -1;
    c.file_fd = -1;
    memset(&seen, 0, sizeof seen);
    api_refuse(&c, 413, "request body over --max-message");
    CHECK_EQ_INT(seen.heads, 1);
    CHECK_EQ_INT(seen.status, 413);
    CHECK_EQ_INT(seen.logs, 1);
    CHECK_EQ_STR(body(), error_json("request body over --max-message"));
    CHECK_EQ_INT(seen.length, strlen(body()));
}

int main(void)
{
    unsetenv("WSHUB_API_TOKEN"); /* the tests say where the token comes from */
    RUN(without_the_chat_every_path_is_404);
    RUN(without_a_token_writes_are_403_and_reads_work);
    RUN(token_file_is_one_line_of_1_to_256_bytes);
    RUN(token_comes_from_the_environment_without_a_file);
    RUN(writes_need_the_bearer_token);
    RUN(every_route_answers_its_methods_and_405s_the_rest_with_allow);
    RUN(unknown_paths_are_404);
    RUN(rooms_list_every_room_with_its_members_and_messages);
    RUN(room_shows_its_members_and_its_history_oldest_first);
    RUN(post_stores_the_message_answers_201_and_the_room_hears_it);
    RUN(post_refusals_change_nothing_and_say_why);
    RUN(put_edits_with_a_new_etag_and_the_room_hears_it);
    RUN(if_match_refuses_a_stale_tag_with_412_and_star_matches_any);
    RUN(put_refusals_change_nothing);
    RUN(messages_page_with_before_and_limit_newest_last);
    RUN(messages_are_the_last_50_kept);
    RUN(emit_sends_any_event_to_everyone_or_to_a_room);
    RUN(emit_refuses_reserved_names_placeholders_and_bad_fields);
    RUN(head_is_get_without_the_body);
    RUN(cross_origin_requests_follow_the_origin_list);
    RUN(refused_before_the_api_is_json_too);
    if (token_file[0])
        unlink(token_file);
    return check_summary("unit_api");
}
