/* unit_bayeux.c -- bayeux.c and bxchannel.c driven by hand, through a fake transport
 * SPDX-License-Identifier: MIT
 *
 * No sockets and no HTTP: each test makes an engine, calls bx_input()
 * with faye's own messages (../shared/specs/bayeux-faye.md, cited by §)
 * on a struct bx_port whose ops only write down what they were given,
 * and reads the replies back with json.c. Time is whatever the test
 * says it is, so a held connect's timeout and a session's expiry are
 * tried to the millisecond with bx_tick(). Every batch is handed over
 * in a heap block of exactly its size, so under ASan a read past its
 * end is caught where it happens. Each limit in struct bx_limits is
 * tried at its edge and one past it. Where wshub is stricter than faye
 * (../bayeux-contract.md: publishes need a live clientId, deliveries
 * are stripped to channel, data and id) the test says so.
 */
#include "../bayeux.h"
#include "../json.h"
#include "check.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * A fake transport: the port's ops write down what was sent
 * ------------------------------------------------------------------------ */

#define MAX_SENDS 16 /* more on one port is a runaway engine: stop */

struct fake_port {
    struct bx_port port;       /* first: the ops get it back as this */
    char *sent[MAX_SENDS];     /* each send's JSON, NUL-terminated copies */
    size_t nsent;              /* send calls so far */
    int closes;                /* close calls so far */
};

static void fake_send(struct bx_port *p, const char *json, size_t len)
{
    struct fake_port *fp = (struct fake_port *)p;
    if (fp->nsent == MAX_SENDS) {
        fprintf(stderr, "fake port: more than %d sends\n", MAX_SENDS);
        exit(2);
    }
    char *copy = exact_alloc(len + 1);
    memcpy(copy, json, len);
    copy[len] = '\0';
    fp->sent[fp->nsent++] = copy;
}

static void fake_close(struct bx_port *p)
{
    ((struct fake_port *)p)->closes++;
}

static const struct bx_port_ops fake_ops = {fake_send, fake_close};

static void port_open(struct fake_port *fp, bool socket)
{
    memset(fp, 0, sizeof *fp);
    fp->port.ops = &fake_ops;
    fp->port.socket = socket;
}

/* The transport is done with fp: tell the engine, drop the record. */
static void port_done(struct bx *bx, struct fake_port *fp)
{
    bx_port_gone(bx, &fp->port);
    for (size_t i = 0; i < fp->nsent; i++)
        free(fp->sent[i]);
    fp->nsent = 0;
}

/* Send k on fp, or "" if there was none (so strstr and CHECK_EQ_STR
 * can be used on it either way). */
static const char *sent(const struct fake_port *fp, size_t k)
{
    return k < fp->nsent ? fp->sent[k] : "";
}

/* ------------------------------------------------------------------------
 * Reading replies
 * ------------------------------------------------------------------------ */

/* A few rotating static buffers, so that helpers can hand out strings
 * that live long enough for one CHECK to compare two of them. */
static char *scratch(void)
{
    static char bufs[64][16384];
    static size_t next;
    next = (next + 1) % 64;
    return bufs[next];
}

static const char *copy_of(const char *p, size_t n)
{
    char *s = scratch();
    if (n >= 16384)
        n = 16383;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/* printf into a scratch buffer: the messages below need a clientId. */
static const char *fmt(const char *f, ...)
{
    char *s = scratch();
    va_list ap;
    va_start(ap, f);
    vsnprintf(s, 16384, f, ap);
    va_end(ap);
    return s;
}

/* Element i of the JSON array arr (a copy), or NULL. */
static const char *nth(const char *arr, size_t i)
{
    if (!arr)
        return NULL;
    size_t pos = 0, n = strlen(arr), en;
    const char *e;
    for (size_t k = 0; json_array_next(arr, n, &pos, &e, &en) == 1; k++)
        if (k == i)
            return copy_of(e, en);
    return NULL;
}

/* How many elements the JSON array arr has; -1 if it is not one. */
static long count(const char *arr)
{
    size_t pos = 0, n = strlen(arr), en;
    const char *e;
    long k = 0;
    int r;
    while ((r = json_array_next(arr, n, &pos, &e, &en)) == 1)
        k++;
    return r == 0 ? k : -1;
}

/* The value of key in obj as JSON text (a copy), or NULL if absent. */
static const char *raw_of(const char *obj, const char *key)
{
    const char *v;
    size_t vn;
    if (!obj || json_get(obj, strlen(obj), key, &v, &vn) != 0)
        return NULL;
    return copy_of(v, vn);
}

/* The string at key in obj, unescaped; NULL if absent or not a string. */
static const char *str_of(const char *obj, const char *key)
{
    const char *v = raw_of(obj, key);
    char *s = scratch();
    size_t len;
    if (!v || json_type_of(v, strlen(v)) != JSON_STRING ||
        json_string(v, strlen(v), s, 16383, &len) < 0)
        return NULL;
    s[len] = '\0';
    return s;
}

static bool has(const char *obj, const char *key)
{
    return raw_of(obj, key) != NULL;
}

/* ------------------------------------------------------------------------
 * An engine, and the requests a faye client sends
 * ------------------------------------------------------------------------ */

#define TIMEOUT 1000 /* ms: the server's hold; sessions last twice that */
#define T0 5000      /* ms: when each test starts */
#define ADVICE "{\"reconnect\":\"retry\",\"interval\":0,\"timeout\":1000}"

static const struct bx_limits limits = {
    .max_batch = 10,
    .max_subs = 5,
    .max_clients = 5,
    .max_queue = 4096,
    .timeout_ms = TIMEOUT,
};

static struct bx *engine_with(const struct bx_limits *lim)
{
    struct bx *bx = bx_new(lim);
    if (!bx) {
        fprintf(stderr, "bx_new: out of memory\n");
        exit(2);
    }
    return bx;
}

static struct bx *engine(void)
{
    return engine_with(&limits);
}

/* Hand json to the engine on fp, in a block of exactly its size. */
static int feed(struct bx *bx, struct fake_port *fp, const char *json, int64_t now)
{
    size_t n = strlen(json);
    char *copy = (char *)exact_copy(json, n);
    int r = bx_input(bx, &fp->port, copy, n, now);
    free(copy);
    return r;
}

/* One HTTP request that is answered at once: its answer (a copy), or ""
 * (and a failed check) if it was not answered exactly once. */
static const char *ask(struct bx *bx, const char *json, int64_t now)
{
    struct fake_port r;
    port_open(&r, false);
    int rc = feed(bx, &r, json, now);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(r.nsent, 1);
    const char *answer = copy_of(sent(&r, 0), strlen(sent(&r, 0)));
    port_done(bx, &r);
    return answer;
}

#define HANDSHAKE                                                          \
    "[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","               \
    "\"supportedConnectionTypes\":[\"in-process\",\"websocket\",\"long-polling\"]," \
    "\"id\":\"1\"}]"

/* A new session: its clientId is written to id. */
static void handshake(struct bx *bx, char id[BX_ID_LEN + 1], int64_t now)
{
    const char *c = str_of(nth(ask(bx, HANDSHAKE, now), 0), "clientId");
    CHECK(c != NULL && strlen(c) == BX_ID_LEN);
    snprintf(id, BX_ID_LEN + 1, "%s", c ? c : "");
}

/* The reply to a subscribe to sub (JSON: a string or an array). */
static const char *subscribe(struct bx *bx, const char *id, const char *sub)
{
    return nth(ask(bx, fmt("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
                           "\"subscription\":%s,\"id\":\"3\"}]", id, sub), T0), 0);
}

static const char *unsubscribe(struct bx *bx, const char *id, const char *sub)
{
    return nth(ask(bx, fmt("[{\"channel\":\"/meta/unsubscribe\",\"clientId\":\"%s\","
                           "\"subscription\":%s,\"id\":\"5\"}]", id, sub), T0), 0);
}

/* The reply to publishing data (JSON) on channel, with id "4". */
static const char *publish(struct bx *bx, const char *id, const char *channel,
                           const char *data)
{
    return nth(ask(bx, fmt("[{\"channel\":\"%s\",\"data\":%s,\"clientId\":\"%s\","
                           "\"id\":\"4\"}]", channel, data, id), T0), 0);
}

/* A connect that asks to be answered at once (advice.timeout 0, as a
 * batching client sends it): the whole answer, deliveries included. */
static const char *connect_now(struct bx *bx, const char *id, int64_t now)
{
    return ask(bx, fmt("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
                       "\"connectionType\":\"long-polling\",\"advice\":{\"timeout\":0},"
                       "\"id\":\"2\"}]", id), now);
}

/* A plain connect on fp, which the engine may hold. */
static int connect_on(struct bx *bx, struct fake_port *fp, const char *id, const char *type,
                      int64_t now)
{
    return feed(bx, fp, fmt("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
                            "\"connectionType\":\"%s\",\"id\":\"2\"}]", id, type), now);
}

/* The connect reply a held connect with id "2" of client id is
 * answered with, exactly. */
static const char *connect_reply(const char *id)
{
    return fmt("{\"id\":\"2\",\"clientId\":\"%s\",\"channel\":\"/meta/connect\","
               "\"successful\":true,\"advice\":" ADVICE "}", id);
}

/* ------------------------------------------------------------------------
 * Channels (§6): the grammar, matching, and JSONP names (§1)
 * ------------------------------------------------------------------------ */

TEST(channel_names_follow_fayes_grammar)
{
    static const struct {
        const char *name;
        bool as_name;    /* a channel one may publish to */
        bool as_pattern; /* a channel or pattern one may subscribe to */
    } rows[] = {
        {"/a", true, true},
        {"/a/b/c", true, true},
        {"/meta/handshake", true, true},
        {"/Az09-_!~()$@/x", true, true}, /* every segment character */
        {"/a/*", false, true},
        {"/a/**", false, true},
        {"/*", false, true},             /* an empty name, then the wildcard */
        {"/**", false, true},
        {"/a/*/b", false, false},        /* a wildcard only as the last segment */
        {"/a/**/b", false, false},
        {"/*/*", false, false},
        {"/a/***", false, false},
        {"/a*", false, false},           /* a star inside a segment */
        {"/a/b*", false, false},
        {"", false, false},
        {"/", false, false},
        {"a", false, false},             /* no leading slash */
        {"a/b", false, false},
        {"/a/", false, false},           /* a trailing slash */
        {"/a//b", false, false},         /* an empty segment */
        {"//a", false, false},
        {"/a b", false, false},          /* bad characters */
        {"/a.b", false, false},
        {"/a#b", false, false},
        {"/a\\b", false, false},
        {"/\xc3\xa9", false, false},     /* UTF-8 is not a segment character */
        {"/a\n", false, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].name);
        CHECK_EQ_INT(bx_channel_valid(rows[i].name, false), rows[i].as_name);
        CHECK_EQ_INT(bx_channel_valid(rows[i].name, true), rows[i].as_pattern);
    }
    check_row(NULL);
}

TEST(channel_length_limit_is_bx_max_channel_bytes)
{
    char name[BX_MAX_CHANNEL + 2];
    /* "/" and 255 letters: 256 bytes, the longest name. */
    name[0] = '/';
    memset(name + 1, 'a', BX_MAX_CHANNEL - 1);
    name[BX_MAX_CHANNEL] = '\0';
    CHECK_EQ_INT(strlen(name), 256);
    CHECK(bx_channel_valid(name, false));
    CHECK(bx_channel_valid(name, true));
    name[BX_MAX_CHANNEL] = 'a';
    name[BX_MAX_CHANNEL + 1] = '\0';
    CHECK_EQ_INT(strlen(name), 257);
    CHECK(!bx_channel_valid(name, false));
    CHECK(!bx_channel_valid(name, true));

    /* A pattern at the limit: a slash, 252 letters, then the {**} wildcard. */
    memset(name + 1, 'a', BX_MAX_CHANNEL - 4);
    memcpy(name + BX_MAX_CHANNEL - 3, "/**", 4);
    CHECK_EQ_INT(strlen(name), 256);
    CHECK(bx_channel_valid(name, true));
    CHECK(!bx_channel_valid(name, false));
    memset(name + 1, 'a', BX_MAX_CHANNEL - 3);
    memcpy(name + BX_MAX_CHANNEL - 2, "/**", 4);
    CHECK_EQ_INT(strlen(name), 257);
    CHECK(!bx_channel_valid(name, true));
}

TEST(wildcards_match_as_faye_expands_them)
{
    static const struct {
        const char *pattern, *name;
        bool match;
    } rows[] = {
        {"/a/b", "/a/b", true},
        {"/a/b", "/a/bc", false},
        {"/a/b", "/a", false},
        {"/a/*", "/a/b", true},     /* one last segment */
        {"/a/*", "/a/b/c", false},
        {"/a/*", "/a", false},
        {"/a/*", "/ab/c", false},
        {"/*", "/a", true},
        {"/*", "/a/b", false},
        {"/a/**", "/a/b", true},    /* one or more segments */
        {"/a/**", "/a/b/c/d", true},
        {"/a/**", "/a", false},     /* but not none */
        {"/a/**", "/ab/c", false},
        {"/a/b/**", "/a/b", false},
        {"/**", "/a", true},
        {"/**", "/a/b/c", true},
        {"/**", "/service/x", true}, /* §6: faye delivers /service/ to /{**} */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(fmt("%s~%s", rows[i].pattern, rows[i].name));
        CHECK_EQ_INT(bx_channel_matches(rows[i].pattern, rows[i].name), rows[i].match);
    }
    check_row(NULL);
}

TEST(jsonp_names_follow_fayes_regex)
{
    /* /^[a-z_$][a-z0-9_$]*(\.[a-z_$][a-z0-9_$]*)*$/i */
    static const struct {
        const char *name;
        bool ok;
    } rows[] = {
        {"jsonpcallback", true}, {"__jsonp1__", true}, {"cb", true},
        {"$", true}, {"_", true}, {"a9", true}, {"ABC", true}, /* /i */
        {"a.b", true}, {"A.b_c$.d9", true}, {"$.$", true},
        {"", false}, {"1a", false}, {"9", false},
        {"a.", false}, {".a", false}, {"a..b", false}, {"a.1b", false},
        {"a-b", false}, {"a b", false}, {"a(", false}, {"a;alert(1)", false},
        {"a[0]", false}, {"\xc3\xa9", false}, {"a\n", false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].name);
        size_t n = strlen(rows[i].name);
        char *p = (char *)exact_copy(rows[i].name, n); /* no NUL after it */
        CHECK_EQ_INT(bx_jsonp_name_ok(p, n), rows[i].ok);
        free(p);
    }
    check_row("len-is-the-end");
    CHECK(bx_jsonp_name_ok("ab;", 2));     /* only len bytes are the name */
    CHECK(!bx_jsonp_name_ok("a\0b", 3));   /* a NUL inside is a bad byte */
    check_row(NULL);
}

/* ------------------------------------------------------------------------
 * /meta/handshake (§4)
 * ------------------------------------------------------------------------ */

TEST(handshake_reply_has_fayes_fields)
{
    struct bx *bx = engine();
    const char *answer = ask(bx, HANDSHAKE, T0);
    CHECK_EQ_INT(count(answer), 1);
    const char *r = nth(answer, 0);
    CHECK_EQ_STR(str_of(r, "id"), "1");
    CHECK_EQ_STR(str_of(r, "channel"), "/meta/handshake");
    CHECK_EQ_STR(raw_of(r, "successful"), "true");
    CHECK_EQ_STR(str_of(r, "version"), "1.0");
    /* §2, "Advice for wshub": no eventsource, no in-process. */
    CHECK_EQ_STR(raw_of(r, "supportedConnectionTypes"),
                 "[\"long-polling\",\"cross-origin-long-polling\",\"callback-polling\",\"websocket\"]");
    CHECK_EQ_STR(raw_of(r, "advice"), ADVICE);
    CHECK(!has(r, "error"));
    char id[64] = "";
    snprintf(id, sizeof id, "%s", str_of(r, "clientId") ? str_of(r, "clientId") : "");
    /* util/random.js: 160 bits in base 36, padded to 31 characters. */
    CHECK_EQ_INT(strlen(id), BX_ID_LEN);
    CHECK_EQ_INT(strspn(id, "0123456789abcdefghijklmnopqrstuvwxyz"), BX_ID_LEN);
    CHECK_EQ_INT(bx_clients(bx), 1);
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    CHECK(strcmp(a, b) != 0 && strcmp(a, id) != 0 && strcmp(b, id) != 0);
    CHECK_EQ_INT(bx_clients(bx), 3);
    bx_free(bx);
}

TEST(handshake_errors_come_in_fayes_order)
{
    /* A later failure overwrites an earlier one: version 402, then no
     * shared type 301 (params: the client's list), then no list 402. */
    static const struct {
        const char *row, *msg, *error;
    } rows[] = {
        {"no-version",
         "{\"channel\":\"/meta/handshake\",\"supportedConnectionTypes\":[\"long-polling\"]}",
         "402:version:Missing required parameter"},
        {"no-shared-type",
         "{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
         "\"supportedConnectionTypes\":[\"flash\",\"xx\"]}",
         "301:flash,xx:Connection types not supported"},
        {"301-overwrites-402-version",
         "{\"channel\":\"/meta/handshake\",\"supportedConnectionTypes\":[\"flash\"]}",
         "301:flash:Connection types not supported"},
        {"no-list",
         "{\"channel\":\"/meta/handshake\",\"version\":\"1.0\"}",
         "402:supportedConnectionTypes:Missing required parameter"},
        {"402-list-overwrites-402-version",
         "{\"channel\":\"/meta/handshake\"}",
         "402:supportedConnectionTypes:Missing required parameter"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].row);
        struct bx *bx = engine();
        const char *r = nth(ask(bx, rows[i].msg, T0), 0);
        CHECK_EQ_STR(str_of(r, "error"), rows[i].error);
        CHECK_EQ_STR(raw_of(r, "successful"), "false");
        CHECK_EQ_STR(raw_of(r, "advice"), "{\"reconnect\":\"handshake\"}");
        CHECK(!has(r, "clientId"));
        CHECK_EQ_INT(bx_clients(bx), 0);
        bx_free(bx);
    }
    check_row(NULL);
}

TEST(handshake_from_a_foreign_page_is_offered_no_websocket_or_cors)
{
    /* bayeux.h: a page --origin refuses could not use either, and
     * faye's browser client never falls back from CORS; offered only
     * these two, it settles on callback-polling (JSONP). */
    struct bx *bx = engine();
    struct fake_port r;
    port_open(&r, false);
    r.port.foreign_page = true;
    CHECK_EQ_INT(feed(bx, &r, HANDSHAKE, T0), 0);
    const char *reply = nth(sent(&r, 0), 0);
    CHECK_EQ_STR(raw_of(reply, "successful"), "true");
    CHECK_EQ_STR(raw_of(reply, "supportedConnectionTypes"),
                 "[\"long-polling\",\"callback-polling\"]");
    port_done(bx, &r);
    bx_free(bx);
}

TEST(client_limit_at_its_edge)
{
    struct bx *bx = engine();
    char ids[5][BX_ID_LEN + 1];
    for (int i = 0; i < 5; i++)
        handshake(bx, ids[i], T0);
    CHECK_EQ_INT(bx_clients(bx), limits.max_clients);
    const char *r = nth(ask(bx, HANDSHAKE, T0), 0);
    CHECK_EQ_STR(str_of(r, "error"), "503::Too many clients");
    CHECK_EQ_STR(raw_of(r, "successful"), "false");
    CHECK_EQ_STR(raw_of(r, "advice"), "{\"reconnect\":\"handshake\",\"interval\":5000}");
    CHECK(!has(r, "clientId"));
    CHECK_EQ_INT(bx_clients(bx), 5);
    /* One leaves: there is room again. */
    ask(bx, fmt("[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\"}]", ids[0]), T0);
    char again[BX_ID_LEN + 1];
    handshake(bx, again, T0);
    CHECK_EQ_INT(strlen(again), BX_ID_LEN);
    CHECK_EQ_INT(bx_clients(bx), 5);
    bx_free(bx);
}

/* ------------------------------------------------------------------------
 * /meta/connect (§4, §5)
 * ------------------------------------------------------------------------ */

TEST(connect_errors_leave_out_clientid_and_advise_handshake)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    /* Each msg is a format: %s is a's clientId, where it takes one. */
    static const struct {
        const char *row, *msg, *error;
    } rows[] = {
        {"unknown-client",
         "[{\"channel\":\"/meta/connect\",\"clientId\":\"nosuch\","
         "\"connectionType\":\"long-polling\",\"id\":\"2\"}]",
         "401:nosuch:Unknown client"},
        {"no-clientid",
         "[{\"channel\":\"/meta/connect\",\"connectionType\":\"long-polling\",\"id\":\"2\"}]",
         "402:clientId:Missing required parameter"},
        {"unknown-type",
         "[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
         "\"connectionType\":\"flash\",\"id\":\"2\"}]",
         "301:flash:Connection types not supported"},
        {"no-type",
         "[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\",\"id\":\"2\"}]",
         "402:connectionType:Missing required parameter"},
        {"no-type-overwrites-401",
         "[{\"channel\":\"/meta/connect\",\"clientId\":\"nosuch\",\"id\":\"2\"}]",
         "402:connectionType:Missing required parameter"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].row);
        const char *r = nth(ask(bx, fmt(rows[i].msg, a), T0), 0);
        CHECK_EQ_STR(str_of(r, "error"), rows[i].error);
        CHECK_EQ_STR(raw_of(r, "successful"), "false");
        CHECK_EQ_STR(str_of(r, "id"), "2");
        CHECK(!has(r, "clientId")); /* even when one was sent (§4) */
        CHECK_EQ_STR(raw_of(r, "advice"), "{\"reconnect\":\"handshake\"}");
    }
    check_row(NULL);
    bx_free(bx);
}

TEST(held_connect_is_answered_by_a_publish_at_flush)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    CHECK_EQ_STR(raw_of(subscribe(bx, a, "\"/foo/*\""), "successful"), "true");
    struct fake_port held;
    port_open(&held, false);
    CHECK_EQ_INT(connect_on(bx, &held, a, "long-polling", T0), 0);
    CHECK_EQ_INT(held.nsent, 0);
    CHECK(held.port.held != NULL && !held.port.answered);

    const char *pub = publish(bx, b, "/foo/bar", "{\"hello\":\"world\",\"n\":1}");
    CHECK_EQ_STR(raw_of(pub, "successful"), "true");
    CHECK_EQ_INT(held.nsent, 0); /* not before the end of the turn (§5) */
    bx_flush(bx);
    CHECK_EQ_INT(held.nsent, 1);
    CHECK(held.port.answered && held.port.held == NULL);
    const char *answer = sent(&held, 0);
    CHECK_EQ_INT(count(answer), 2);
    CHECK_EQ_STR(nth(answer, 0), connect_reply(a));
    CHECK_EQ_STR(nth(answer, 1), "{\"channel\":\"/foo/bar\",\"data\":{\"hello\":\"world\",\"n\":1},\"id\":\"4\"}");
    bx_flush(bx);
    CHECK_EQ_INT(held.nsent, 1); /* answered once */
    port_done(bx, &held);
    bx_free(bx);
}

TEST(everything_published_in_one_turn_goes_in_one_answer)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    subscribe(bx, a, "\"/a\"");
    struct fake_port held;
    port_open(&held, false);
    connect_on(bx, &held, a, "long-polling", T0);
    publish(bx, b, "/a", "1");
    publish(bx, b, "/a", "2");
    bx_flush(bx);
    CHECK_EQ_INT(held.nsent, 1);
    CHECK_EQ_INT(count(sent(&held, 0)), 3);
    CHECK_EQ_STR(raw_of(nth(sent(&held, 0), 1), "data"), "1");
    CHECK_EQ_STR(raw_of(nth(sent(&held, 0), 2), "data"), "2");
    port_done(bx, &held);
    bx_free(bx);
}

TEST(connect_with_timeout_zero_is_answered_at_once)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    const char *answer = connect_now(bx, a, T0);
    CHECK_EQ_INT(count(answer), 1);
    CHECK_EQ_STR(nth(answer, 0), connect_reply(a));
    bx_free(bx);
}

TEST(connect_batched_with_another_message_is_answered_at_once)
{
    /* §2.1: a batching client sends timeout 0, but even without it a
     * connect in a batch is not held (§3: it would hold the others). */
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    const char *answer = ask(bx, fmt("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
                                     "\"connectionType\":\"long-polling\",\"id\":\"2\"},"
                                     "{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
                                     "\"subscription\":\"/a\",\"id\":\"3\"}]", a, a), T0);
    CHECK_EQ_INT(count(answer), 2);
    CHECK_EQ_STR(nth(answer, 0), connect_reply(a));
    CHECK_EQ_STR(str_of(nth(answer, 1), "channel"), "/meta/subscribe");
    CHECK_EQ_STR(raw_of(nth(answer, 1), "successful"), "true");
    bx_free(bx);
}

TEST(second_connect_answers_the_held_one_at_once)
{
    /* faye never answers the first (§5); wshub answers it, empty. */
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    struct fake_port first, second;
    port_open(&first, false);
    port_open(&second, false);
    connect_on(bx, &first, a, "long-polling", T0);
    CHECK_EQ_INT(first.nsent, 0);
    CHECK_EQ_INT(feed(bx, &second, fmt("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
                                       "\"connectionType\":\"long-polling\",\"id\":\"6\"}]", a),
                      T0 + 100), 0);
    CHECK_EQ_INT(first.nsent, 1);
    CHECK_EQ_INT(count(sent(&first, 0)), 1);
    CHECK_EQ_STR(nth(sent(&first, 0), 0), connect_reply(a));
    CHECK_EQ_INT(second.nsent, 0);
    CHECK(second.port.held != NULL);
    bx_tick(bx, T0 + 100 + TIMEOUT);
    CHECK_EQ_INT(first.nsent, 1);
    CHECK_EQ_INT(second.nsent, 1);
    CHECK_EQ_STR(str_of(nth(sent(&second, 0), 0), "id"), "6");
    port_done(bx, &first);
    port_done(bx, &second);
    bx_free(bx);
}

TEST(held_connect_is_answered_when_the_timeout_runs_out)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    struct fake_port held;
    port_open(&held, false);
    connect_on(bx, &held, a, "long-polling", T0);
    CHECK_EQ_INT(bx_next_deadline(bx), T0 + TIMEOUT);
    bx_tick(bx, T0 + TIMEOUT - 1);
    bx_flush(bx);
    CHECK_EQ_INT(held.nsent, 0);
    bx_tick(bx, T0 + TIMEOUT);
    CHECK_EQ_INT(held.nsent, 1);
    CHECK_EQ_STR(sent(&held, 0), fmt("[%s]", connect_reply(a)));
    port_done(bx, &held);
    bx_free(bx);
}

TEST(held_connect_lasts_the_shorter_of_asked_and_ours)
{
    static const struct {
        const char *row;
        int asked, held; /* ms */
    } rows[] = {
        {"asks-less", 300, 300},
        {"asks-more", 5 * TIMEOUT, TIMEOUT},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].row);
        struct bx *bx = engine();
        char a[BX_ID_LEN + 1];
        handshake(bx, a, T0);
        struct fake_port held;
        port_open(&held, false);
        feed(bx, &held, fmt("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
                            "\"connectionType\":\"long-polling\",\"advice\":{\"timeout\":%d}}]",
                            a, rows[i].asked), T0);
        bx_tick(bx, T0 + rows[i].held - 1);
        CHECK_EQ_INT(held.nsent, 0);
        bx_tick(bx, T0 + rows[i].held);
        CHECK_EQ_INT(held.nsent, 1);
        port_done(bx, &held);
        bx_free(bx);
    }
    check_row(NULL);
}

TEST(session_expires_two_timeouts_after_handshake)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    bx_tick(bx, T0 + 2 * TIMEOUT - 1);
    CHECK_EQ_INT(bx_clients(bx), 1);
    bx_tick(bx, T0 + 2 * TIMEOUT);
    CHECK_EQ_INT(bx_clients(bx), 0);
    const char *r = nth(connect_now(bx, a, T0 + 2 * TIMEOUT), 0);
    CHECK_EQ_STR(str_of(r, "error"), fmt("401:%s:Unknown client", a));
    CHECK_EQ_STR(raw_of(r, "advice"), "{\"reconnect\":\"handshake\"}");
    bx_free(bx);
}

TEST(a_connect_starts_the_session_timer_again)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    connect_now(bx, a, T0 + 1500);
    bx_tick(bx, T0 + 2 * TIMEOUT); /* when the handshake's timer ran out */
    CHECK_EQ_INT(bx_clients(bx), 1);
    bx_tick(bx, T0 + 1500 + 2 * TIMEOUT - 1);
    CHECK_EQ_INT(bx_clients(bx), 1);
    bx_tick(bx, T0 + 1500 + 2 * TIMEOUT);
    CHECK_EQ_INT(bx_clients(bx), 0);
    bx_free(bx);
}

TEST(port_gone_drops_its_held_connect_but_not_the_session)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    subscribe(bx, a, "\"/a\"");
    struct fake_port held;
    port_open(&held, false);
    connect_on(bx, &held, a, "long-polling", T0);
    bx_port_gone(bx, &held.port);
    CHECK(held.port.held == NULL);
    publish(bx, b, "/a", "{\"n\":1}");
    bx_flush(bx);
    bx_tick(bx, T0 + TIMEOUT);
    bx_flush(bx);
    CHECK_EQ_INT(held.nsent, 0); /* nobody is left to answer */
    CHECK_EQ_INT(bx_clients(bx), 2);
    /* The delivery waited in the queue for the next connect (§5). */
    const char *answer = connect_now(bx, a, T0 + TIMEOUT);
    CHECK_EQ_INT(count(answer), 2);
    CHECK_EQ_STR(nth(answer, 1), "{\"channel\":\"/a\",\"data\":{\"n\":1},\"id\":\"4\"}");
    port_done(bx, &held);
    bx_free(bx);
}

/* ------------------------------------------------------------------------
 * /meta/subscribe and /meta/unsubscribe (§4)
 * ------------------------------------------------------------------------ */

/* How many deliveries a connect of id gets now. */
static long deliveries(struct bx *bx, const char *id)
{
    const char *answer = connect_now(bx, id, T0);
    CHECK_EQ_STR(raw_of(nth(answer, 0), "successful"), "true");
    return count(answer) - 1;
}

TEST(subscribe_then_unsubscribe)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    CHECK_EQ_STR(subscribe(bx, a, "\"/a\""),
                 fmt("{\"id\":\"3\",\"clientId\":\"%s\",\"channel\":\"/meta/subscribe\","
                     "\"successful\":true,\"subscription\":\"/a\"}", a));
    publish(bx, b, "/a", "1");
    CHECK_EQ_INT(deliveries(bx, a), 1);
    CHECK_EQ_STR(unsubscribe(bx, a, "\"/a\""),
                 fmt("{\"id\":\"5\",\"clientId\":\"%s\",\"channel\":\"/meta/unsubscribe\","
                     "\"successful\":true,\"subscription\":\"/a\"}", a));
    publish(bx, b, "/a", "2");
    CHECK_EQ_INT(deliveries(bx, a), 0);
    /* Never subscribed: still a success (§4). */
    CHECK_EQ_STR(raw_of(unsubscribe(bx, a, "\"/never\""), "successful"), "true");
    bx_free(bx);
}

TEST(partial_subscribe_keeps_the_channels_before_the_bad_one)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    const char *r = subscribe(bx, a, "[\"/a\",\"/meta/x\",\"/b\"]");
    CHECK_EQ_STR(str_of(r, "error"), "403:/meta/x:Forbidden channel");
    CHECK_EQ_STR(raw_of(r, "successful"), "false");
    CHECK_EQ_STR(raw_of(r, "subscription"), "[\"/a\",\"/meta/x\",\"/b\"]");
    publish(bx, b, "/a", "1");
    CHECK_EQ_INT(deliveries(bx, a), 1); /* /a stayed subscribed */
    publish(bx, b, "/b", "2");
    CHECK_EQ_INT(deliveries(bx, a), 0); /* /b was never reached */
    bx_free(bx);
}

TEST(subscribe_refuses_meta_service_and_bad_channels)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    static const struct {
        const char *sub, *error;
    } rows[] = {
        {"\"/meta/**\"", "403:/meta/**:Forbidden channel"},
        {"\"/meta/connect\"", "403:/meta/connect:Forbidden channel"},
        {"\"/service/**\"", "403:/service/**:Forbidden channel"},
        {"\"/service/x\"", "403:/service/x:Forbidden channel"},
        {"\"/a/**/b\"", "405:/a/**/b:Invalid channel"},
        {"\"/a b\"", "405:/a b:Invalid channel"},
        {"\"/a/\"", "405:/a/:Invalid channel"},
        {"\"/meta/a b\"", "405:/meta/a b:Invalid channel"}, /* 405 overwrites 403 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].sub);
        const char *r = subscribe(bx, a, rows[i].sub);
        CHECK_EQ_STR(str_of(r, "error"), rows[i].error);
        CHECK_EQ_STR(raw_of(r, "successful"), "false");
        CHECK_EQ_STR(raw_of(r, "subscription"), rows[i].sub);
    }
    check_row("missing-subscription");
    const char *r = nth(ask(bx, fmt("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\"}]", a),
                            T0), 0);
    CHECK_EQ_STR(str_of(r, "error"), "402:subscription:Missing required parameter");
    CHECK_EQ_STR(raw_of(r, "subscription"), "[]");
    check_row("unknown-client");
    r = subscribe(bx, "nosuch", "\"/a\"");
    CHECK_EQ_STR(str_of(r, "error"), "401:nosuch:Unknown client");
    check_row(NULL);
    bx_free(bx);
}

TEST(subscribe_takes_a_channel_of_bx_max_channel_bytes)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    char name[BX_MAX_CHANNEL + 2];
    name[0] = '/';
    memset(name + 1, 'c', BX_MAX_CHANNEL);
    name[BX_MAX_CHANNEL] = '\0';
    CHECK_EQ_STR(raw_of(subscribe(bx, a, fmt("\"%s\"", name)), "successful"), "true");
    name[BX_MAX_CHANNEL] = 'c';
    name[BX_MAX_CHANNEL + 1] = '\0';
    CHECK_EQ_STR(str_of(subscribe(bx, a, fmt("\"%s\"", name)), "error"),
                 fmt("405:%s:Invalid channel", name));
    bx_free(bx);
}

TEST(subscription_limit_at_its_edge)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    CHECK_EQ_STR(raw_of(subscribe(bx, a, "[\"/1\",\"/2\",\"/3\",\"/4\",\"/5\"]"), "successful"),
                 "true");
    CHECK_EQ_STR(raw_of(subscribe(bx, a, "\"/3\""), "successful"), "true"); /* already */
    CHECK_EQ_STR(str_of(subscribe(bx, a, "\"/6\""), "error"), "403:/6:Too many subscriptions");
    unsubscribe(bx, a, "\"/1\"");
    CHECK_EQ_STR(raw_of(subscribe(bx, a, "\"/6\""), "successful"), "true");
    CHECK_EQ_STR(str_of(subscribe(bx, a, "\"/1\""), "error"), "403:/1:Too many subscriptions");
    bx_free(bx);
}

/* ------------------------------------------------------------------------
 * Publishing and delivery (§6)
 * ------------------------------------------------------------------------ */

TEST(publish_reply_is_fayes)
{
    struct bx *bx = engine();
    char b[BX_ID_LEN + 1];
    handshake(bx, b, T0);
    CHECK_EQ_STR(publish(bx, b, "/a", "{\"text\":\"hi\"}"),
                 fmt("{\"id\":\"4\",\"clientId\":\"%s\",\"channel\":\"/a\",\"successful\":true}", b));
    CHECK_EQ_STR(raw_of(publish(bx, b, "/a", "null"), "successful"), "true"); /* null is data */
    bx_free(bx);
}

TEST(delivered_once_however_many_patterns_match)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    subscribe(bx, a, "[\"/x/y/z\",\"/x/y/*\",\"/x/**\",\"/**\",\"/x/*\"]");
    /* §6's captured publish: ext and unknown fields, someone else's id. */
    const char *r = nth(ask(bx, fmt("[{\"channel\":\"/x/y/z\",\"data\":{\"k\":1},\"clientId\":\"%s\","
                                    "\"id\":\"77\",\"ext\":{\"token\":\"SECRET\"},\"extra\":\"field\"}]",
                                    b), T0), 0);
    CHECK_EQ_STR(raw_of(r, "successful"), "true");
    const char *answer = connect_now(bx, a, T0);
    CHECK_EQ_INT(count(answer), 2);
    /* Ours, stricter than faye: only channel, data and id go out. */
    CHECK_EQ_STR(nth(answer, 1), "{\"channel\":\"/x/y/z\",\"data\":{\"k\":1},\"id\":\"77\"}");
    CHECK(strstr(answer, "SECRET") == NULL);
    CHECK(strstr(answer, "extra") == NULL);
    bx_free(bx);
}

TEST(publisher_subscribed_to_its_channel_gets_its_own_message)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    subscribe(bx, a, "\"/a\"");
    publish(bx, a, "/a", "\"echo\"");
    const char *answer = connect_now(bx, a, T0);
    CHECK_EQ_STR(nth(answer, 1), "{\"channel\":\"/a\",\"data\":\"echo\",\"id\":\"4\"}");
    bx_free(bx);
}

TEST(batch_handles_its_meta_messages_before_its_publishes)
{
    /* Ours (bayeux.c): faye's client puts a publish made just after a
     * subscribe ahead of it in the batch; handled in order, the
     * subscriber would never hear its own message. Each kind keeps its
     * order among its own. */
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    const char *answer = ask(bx, fmt("[{\"channel\":\"/a\",\"data\":1,\"clientId\":\"%s\",\"id\":\"4\"},"
                                     "{\"channel\":\"/b\",\"data\":2,\"clientId\":\"%s\",\"id\":\"5\"},"
                                     "{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
                                     "\"subscription\":\"/a\",\"id\":\"3\"}]", a, a, a), T0);
    CHECK_EQ_INT(count(answer), 3);
    CHECK_EQ_STR(str_of(nth(answer, 0), "id"), "3");
    CHECK_EQ_STR(str_of(nth(answer, 1), "id"), "4");
    CHECK_EQ_STR(str_of(nth(answer, 2), "id"), "5");
    answer = connect_now(bx, a, T0);
    CHECK_EQ_INT(count(answer), 2);
    CHECK_EQ_STR(nth(answer, 1), "{\"channel\":\"/a\",\"data\":1,\"id\":\"4\"}");
    bx_free(bx);
}

TEST(publish_errors)
{
    struct bx *bx = engine();
    char b[BX_ID_LEN + 1];
    handshake(bx, b, T0);
    /* Each msg is a format: %s is b's clientId, where it takes one. */
    static const struct {
        const char *row, *msg, *error;
    } rows[] = {
        {"to-a-wildcard",
         "[{\"channel\":\"/a/*\",\"data\":1,\"clientId\":\"%s\"}]",
         "405:/a/*:Invalid channel"},
        {"to-a-bad-name",
         "[{\"channel\":\"/a/**/b\",\"data\":1,\"clientId\":\"%s\"}]",
         "405:/a/**/b:Invalid channel"},
        {"to-meta",
         "[{\"channel\":\"/meta/foo\",\"data\":1,\"clientId\":\"%s\"}]",
         "403:/meta/foo:Forbidden channel"},
        {"no-data",
         "[{\"channel\":\"/a\",\"clientId\":\"%s\"}]",
         "402:data:Missing required parameter"},
        {"no-clientid",
         "[{\"channel\":\"/a\",\"data\":1}]",
         "402:clientId:Missing required parameter"},
        {"unknown-clientid",
         "[{\"channel\":\"/a\",\"data\":1,\"clientId\":\"nosuch\"}]",
         "401:nosuch:Unknown client"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        check_row(rows[i].row);
        const char *r = nth(ask(bx, fmt(rows[i].msg, b), T0), 0);
        CHECK_EQ_STR(str_of(r, "error"), rows[i].error);
        CHECK_EQ_STR(raw_of(r, "successful"), "false");
        CHECK(!has(r, "advice"));
    }
    check_row("channel-over-the-limit");
    char name[BX_MAX_CHANNEL + 2];
    name[0] = '/';
    memset(name + 1, 'p', BX_MAX_CHANNEL);
    name[BX_MAX_CHANNEL] = '\0';
    CHECK_EQ_STR(raw_of(publish(bx, b, name, "1"), "successful"), "true");
    name[BX_MAX_CHANNEL] = 'p';
    name[BX_MAX_CHANNEL + 1] = '\0';
    const char *r = publish(bx, b, name, "1");
    CHECK_EQ_STR(raw_of(r, "successful"), "false");
    CHECK(str_of(r, "error") && strncmp(str_of(r, "error"), "405:", 4) == 0);
    check_row(NULL);
    bx_free(bx);
}

TEST(nothing_is_delivered_by_a_refused_publish)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    subscribe(bx, a, "\"/**\"");
    ask(bx, "[{\"channel\":\"/a\",\"data\":1,\"clientId\":\"nosuch\"}]", T0);
    ask(bx, "[{\"channel\":\"/a\",\"data\":1}]", T0);
    ask(bx, fmt("[{\"channel\":\"/a/*\",\"data\":1,\"clientId\":\"%s\"}]", a), T0);
    CHECK_EQ_INT(deliveries(bx, a), 0);
    bx_free(bx);
}

TEST(server_publish_reaches_subscribers_with_its_own_ids)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    subscribe(bx, a, "\"/chat/*\"");
    bx_publish(bx, "/chat/general", "{\"n\":1}", 7);
    bx_publish(bx, "/chat/general", "{\"n\":2}", 7);
    bx_publish(bx, "/elsewhere", "{\"n\":3}", 7);
    const char *answer = connect_now(bx, a, T0);
    CHECK_EQ_INT(count(answer), 3);
    CHECK_EQ_STR(nth(answer, 1), "{\"channel\":\"/chat/general\",\"data\":{\"n\":1},\"id\":\"s1\"}");
    CHECK_EQ_STR(nth(answer, 2), "{\"channel\":\"/chat/general\",\"data\":{\"n\":2},\"id\":\"s2\"}");
    bx_free(bx);
}

TEST(queue_limit_at_its_edge_then_the_session_ends)
{
    /* Each delivery is L bytes, joined by commas: two fill a queue of
     * 2L + 1 exactly; the third is past it. */
    const char *one = "{\"channel\":\"/q\",\"data\":1,\"id\":\"4\"}";
    size_t len = strlen(one);
    struct bx_limits lim = limits;
    lim.max_queue = 2 * len + 1;
    struct bx *bx = engine_with(&lim);
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    subscribe(bx, a, "\"/q\"");
    publish(bx, b, "/q", "1");
    publish(bx, b, "/q", "1");
    CHECK_EQ_INT(bx_clients(bx), 2);
    CHECK_EQ_STR(raw_of(publish(bx, b, "/q", "1"), "successful"), "true");
    CHECK_EQ_INT(bx_clients(bx), 1); /* a's session ended, not b's */
    const char *r = nth(connect_now(bx, a, T0), 0);
    CHECK_EQ_STR(str_of(r, "error"), fmt("401:%s:Unknown client", a));
    bx_free(bx);

    /* Just under: the two arrive. */
    bx = engine_with(&lim);
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    subscribe(bx, a, "\"/q\"");
    publish(bx, b, "/q", "1");
    publish(bx, b, "/q", "1");
    CHECK_EQ_INT(deliveries(bx, a), 2);
    bx_free(bx);
}

/* ------------------------------------------------------------------------
 * A WebSocket port (§2.4)
 * ------------------------------------------------------------------------ */

TEST(socket_is_bound_by_a_connect_and_carries_deliveries)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    struct fake_port s;
    port_open(&s, true);
    CHECK_EQ_INT(connect_on(bx, &s, a, "websocket", T0), 0);
    CHECK_EQ_INT(s.nsent, 0); /* held */
    CHECK(s.port.bound != NULL && strcmp(bx_client_id(s.port.bound), a) == 0);
    feed(bx, &s, fmt("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
                     "\"subscription\":\"/chat\",\"id\":\"3\"}]", a), T0);
    CHECK_EQ_INT(s.nsent, 1);
    CHECK_EQ_STR(sent(&s, 0), fmt("[{\"id\":\"3\",\"clientId\":\"%s\",\"channel\":\"/meta/subscribe\","
                                  "\"successful\":true,\"subscription\":\"/chat\"}]", a));
    publish(bx, b, "/chat", "{\"text\":\"hi\"}");
    CHECK_EQ_INT(s.nsent, 1);
    bx_flush(bx);
    CHECK_EQ_INT(s.nsent, 2); /* a frame of its own, the connect still held */
    CHECK_EQ_STR(sent(&s, 1), "[{\"channel\":\"/chat\",\"data\":{\"text\":\"hi\"},\"id\":\"4\"}]");
    bx_tick(bx, T0 + TIMEOUT);
    CHECK_EQ_INT(s.nsent, 3);
    CHECK_EQ_STR(sent(&s, 2), fmt("[%s]", connect_reply(a)));
    CHECK_EQ_INT(s.closes, 0);
    port_done(bx, &s);
    bx_free(bx);
}

TEST(socket_bound_to_a_refuses_a_publish_as_b)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    struct fake_port s;
    port_open(&s, true);
    connect_on(bx, &s, a, "websocket", T0);
    feed(bx, &s, fmt("[{\"channel\":\"/x\",\"data\":1,\"clientId\":\"%s\",\"id\":\"9\"}]", b), T0);
    CHECK_EQ_INT(s.nsent, 1);
    CHECK_EQ_STR(str_of(nth(sent(&s, 0), 0), "error"), fmt("401:%s:Unknown client", b));
    feed(bx, &s, fmt("[{\"channel\":\"/x\",\"data\":1,\"clientId\":\"%s\",\"id\":\"9\"}]", a), T0);
    CHECK_EQ_INT(s.nsent, 2);
    CHECK_EQ_STR(raw_of(nth(sent(&s, 1), 0), "successful"), "true");
    port_done(bx, &s);
    bx_free(bx);
}

TEST(disconnect_on_a_socket_replies_then_closes_it)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    struct fake_port s;
    port_open(&s, true);
    connect_on(bx, &s, a, "websocket", T0);
    feed(bx, &s, fmt("[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\",\"id\":\"8\"}]", a),
         T0);
    /* The held connect is released, then the disconnect's own reply. */
    CHECK_EQ_INT(s.nsent, 2);
    CHECK_EQ_STR(sent(&s, 0), fmt("[%s]", connect_reply(a)));
    CHECK_EQ_STR(sent(&s, 1), fmt("[{\"id\":\"8\",\"clientId\":\"%s\",\"channel\":\"/meta/disconnect\","
                                  "\"successful\":true}]", a));
    CHECK_EQ_INT(s.closes, 1);
    CHECK(s.port.bound == NULL);
    CHECK_EQ_INT(bx_clients(bx), 0);
    port_done(bx, &s);
    bx_free(bx);
}

TEST(disconnect_over_http_closes_the_bound_socket)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    struct fake_port s;
    port_open(&s, true);
    feed(bx, &s, fmt("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
                     "\"connectionType\":\"websocket\",\"advice\":{\"timeout\":0}}]", a), T0);
    CHECK_EQ_INT(s.nsent, 1);
    const char *r = nth(ask(bx, fmt("[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\"}]", a),
                            T0), 0);
    CHECK_EQ_STR(raw_of(r, "successful"), "true");
    CHECK_EQ_INT(s.closes, 1);
    /* A second disconnect: 401, without advice (§4). */
    r = nth(ask(bx, fmt("[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\"}]", a), T0), 0);
    CHECK_EQ_STR(str_of(r, "error"), fmt("401:%s:Unknown client", a));
    CHECK(!has(r, "advice"));
    port_done(bx, &s);
    bx_free(bx);
}

TEST(disconnect_answers_a_held_http_connect)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    struct fake_port held;
    port_open(&held, false);
    connect_on(bx, &held, a, "long-polling", T0);
    ask(bx, fmt("[{\"channel\":\"/meta/disconnect\",\"clientId\":\"%s\"}]", a), T0);
    CHECK_EQ_INT(held.nsent, 1);
    CHECK_EQ_STR(sent(&held, 0), fmt("[%s]", connect_reply(a)));
    bx_tick(bx, T0 + 10 * TIMEOUT);
    CHECK_EQ_INT(held.nsent, 1);
    port_done(bx, &held);
    bx_free(bx);
}

TEST(expired_session_closes_its_socket)
{
    struct bx *bx = engine();
    char a[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    struct fake_port s;
    port_open(&s, true);
    feed(bx, &s, fmt("[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
                     "\"connectionType\":\"websocket\",\"advice\":{\"timeout\":0}}]", a), T0);
    bx_tick(bx, T0 + 2 * TIMEOUT - 1);
    CHECK_EQ_INT(s.closes, 0);
    bx_tick(bx, T0 + 2 * TIMEOUT);
    CHECK_EQ_INT(s.closes, 1);
    CHECK_EQ_INT(bx_clients(bx), 0);
    port_done(bx, &s);
    bx_free(bx);
}

/* ------------------------------------------------------------------------
 * Batches (§1, §3)
 * ------------------------------------------------------------------------ */

TEST(batch_limit_at_its_edge)
{
    struct bx *bx = engine();
    char batch[4096] = "[";
    for (size_t i = 0; i < limits.max_batch; i++)
        strcat(batch, i ? ",{\"channel\":\"/meta/nosuch\"}" : "{\"channel\":\"/meta/nosuch\"}");
    strcat(batch, "]");
    CHECK_EQ_INT(count(ask(bx, batch, T0)), (long)limits.max_batch);

    batch[strlen(batch) - 1] = '\0';
    strcat(batch, ",{\"channel\":\"/meta/nosuch\"}]");
    struct fake_port r;
    port_open(&r, false);
    CHECK_EQ_INT(feed(bx, &r, batch, T0), BX_ERR_TOO_MANY);
    CHECK_EQ_INT(r.nsent, 0); /* the transport answers it: 413 */
    CHECK(!r.port.answered);
    port_done(bx, &r);
    bx_free(bx);
}

TEST(malformed_batches_are_refused_whole)
{
    static const char *const bad[] = {
        "", " ", "not json", "\"str\"", "42", "null", "true",
        "[1]", "[{},2]", "[[{}]]", "[\"/meta/handshake\"]",
        "[{\"channel\":\"/a\"}", "{\"channel\":\"/a\"", "[{}]]", "{} {}", "[{},]",
    };
    struct bx *bx = engine();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_row(bad[i]);
        struct fake_port r, s;
        port_open(&r, false);
        port_open(&s, true);
        CHECK_EQ_INT(feed(bx, &r, bad[i], T0), BX_ERR_MALFORMED);
        CHECK_EQ_INT(feed(bx, &s, bad[i], T0), BX_ERR_MALFORMED);
        CHECK_EQ_INT(r.nsent + s.nsent, 0);
        port_done(bx, &r);
        port_done(bx, &s);
    }
    check_row("handshake-with-junk-after");
    struct fake_port r;
    port_open(&r, false);
    CHECK_EQ_INT(feed(bx, &r, HANDSHAKE "x", T0), BX_ERR_MALFORMED);
    port_done(bx, &r);
    CHECK_EQ_INT(bx_clients(bx), 0); /* nothing in a refused batch was done */
    check_row(NULL);

    /* The well-formed neighbours: an empty batch, and a bare object. */
    CHECK_EQ_STR(ask(bx, "[]", T0), "[]");
    CHECK_EQ_STR(ask(bx, " [ ] ", T0), "[]");
    const char *answer = ask(bx, "{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
                                 "\"supportedConnectionTypes\":[\"long-polling\"]}", T0);
    CHECK_EQ_INT(count(answer), 1);
    CHECK_EQ_STR(raw_of(nth(answer, 0), "successful"), "true");
    bx_free(bx);
}

TEST(message_without_a_channel_is_invalid)
{
    struct bx *bx = engine();
    const char *r = nth(ask(bx, "[{\"id\":\"1\"},{\"channel\":7,\"id\":\"2\"}]", T0), 1);
    CHECK_EQ_STR(str_of(r, "id"), "2");
    CHECK_EQ_STR(raw_of(r, "successful"), "false");
    CHECK(str_of(r, "error") && strncmp(str_of(r, "error"), "405:", 4) == 0);
    bx_free(bx);
}

/* ------------------------------------------------------------------------
 * Extensions (§7) and server-side channels
 * ------------------------------------------------------------------------ */

/* What the incoming hook saw of the last message. */
struct seen {
    int calls;
    char channel[BX_MAX_CHANNEL + 1];
    char client_id[BX_ID_LEN + 1];
    bool had_ext;
};

/* Refuses a subscribe naming /private unless ext is {"token":"letmein"},
 * with faye's captured error; refuses /blank publishes with no error
 * text at all, to see what the engine says then. */
static bool guard(void *ud, const struct bx_message *m, char *err, size_t cap)
{
    struct seen *s = ud;
    s->calls++;
    snprintf(s->channel, sizeof s->channel, "%s", m->channel);
    snprintf(s->client_id, sizeof s->client_id, "%s", m->client_id);
    s->had_ext = m->ext != NULL;
    if (strcmp(m->channel, "/blank") == 0)
        return true;
    if (strcmp(m->channel, "/meta/subscribe") != 0 || !m->subscription ||
        m->subscription_len != strlen("\"/private\"") ||
        memcmp(m->subscription, "\"/private\"", m->subscription_len) != 0)
        return false;
    if (m->ext && m->ext_len == strlen("{\"token\":\"letmein\"}") &&
        memcmp(m->ext, "{\"token\":\"letmein\"}", m->ext_len) == 0)
        return false;
    snprintf(err, cap, "403::Authentication required");
    return true;
}

TEST(incoming_extension_refuses_with_its_own_error)
{
    struct bx *bx = engine();
    struct seen seen = {0};
    struct bx_extension ext = {guard, NULL, &seen};
    CHECK_EQ_INT(bx_add_extension(bx, &ext), 0);
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    CHECK_EQ_INT(seen.calls, 2);

    const char *r = subscribe(bx, a, "\"/private\"");
    CHECK_EQ_STR(r, fmt("{\"id\":\"3\",\"clientId\":\"%s\",\"channel\":\"/meta/subscribe\","
                        "\"error\":\"403::Authentication required\",\"successful\":false,"
                        "\"subscription\":\"/private\"}", a));
    CHECK_EQ_STR(seen.channel, "/meta/subscribe");
    CHECK_EQ_STR(seen.client_id, a);
    CHECK(!seen.had_ext);
    publish(bx, b, "/private", "1");
    CHECK_EQ_INT(deliveries(bx, a), 0); /* nothing was subscribed */

    r = nth(ask(bx, fmt("[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
                        "\"subscription\":\"/private\",\"ext\":{\"token\":\"letmein\"}}]", a), T0), 0);
    CHECK_EQ_STR(raw_of(r, "successful"), "true");
    CHECK(seen.had_ext);
    publish(bx, b, "/private", "1");
    CHECK_EQ_INT(deliveries(bx, a), 1);

    /* A refusal with no text of its own: a plain 403. */
    r = publish(bx, b, "/blank", "1");
    CHECK_EQ_STR(str_of(r, "error"), "403:/blank:Forbidden");
    bx_free(bx);
}

/* What the outgoing hook saw. */
struct out_seen {
    int calls;
    char to[BX_ID_LEN + 1];
    char delivery[256];
};

/* Withholds every delivery on /secret. */
static bool withhold_secret(void *ud, const struct bx_client *to, const char *channel,
                            const char *delivery, size_t len)
{
    struct out_seen *s = ud;
    s->calls++;
    snprintf(s->to, sizeof s->to, "%s", bx_client_id(to));
    snprintf(s->delivery, sizeof s->delivery, "%.*s", (int)len, delivery);
    return strcmp(channel, "/secret") != 0;
}

TEST(outgoing_extension_withholds_a_delivery)
{
    struct bx *bx = engine();
    struct out_seen seen = {0};
    struct bx_extension ext = {NULL, withhold_secret, &seen};
    bx_add_extension(bx, &ext);
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    subscribe(bx, a, "\"/**\"");
    CHECK_EQ_STR(raw_of(publish(bx, b, "/secret", "1"), "successful"), "true");
    CHECK_EQ_INT(seen.calls, 1);
    CHECK_EQ_STR(seen.to, a);
    CHECK_EQ_STR(seen.delivery, "{\"channel\":\"/secret\",\"data\":1,\"id\":\"4\"}");
    publish(bx, b, "/open", "2");
    CHECK_EQ_INT(seen.calls, 2);
    const char *answer = connect_now(bx, a, T0);
    CHECK_EQ_INT(count(answer), 2);
    CHECK_EQ_STR(str_of(nth(answer, 1), "channel"), "/open");
    bx_free(bx);
}

/* What the server-side channel was handed. */
struct handled {
    int calls;
    char data[64];
};

/* Accepts a publish under /svc/ unless its data is "no". */
static bool svc(void *ud, const struct bx_message *m, char *err, size_t cap)
{
    struct handled *h = ud;
    h->calls++;
    snprintf(h->data, sizeof h->data, "%.*s", (int)m->data_len, m->data);
    if (m->data_len == 4 && memcmp(m->data, "\"no\"", 4) == 0) {
        snprintf(err, cap, "400:%s:Refused", m->channel);
        return false;
    }
    return true;
}

TEST(channel_handler_claims_its_prefix)
{
    struct bx *bx = engine();
    struct handled h = {0};
    CHECK_EQ_INT(bx_add_channel(bx, "/svc/", svc, &h), 0);
    char a[BX_ID_LEN + 1], b[BX_ID_LEN + 1];
    handshake(bx, a, T0);
    handshake(bx, b, T0);
    subscribe(bx, a, "\"/**\"");
    const char *r = publish(bx, b, "/svc/x", "\"no\"");
    CHECK_EQ_INT(h.calls, 1);
    CHECK_EQ_STR(h.data, "\"no\"");
    CHECK_EQ_STR(str_of(r, "error"), "400:/svc/x:Refused");
    CHECK_EQ_STR(raw_of(r, "successful"), "false");
    r = publish(bx, b, "/svc/x", "{\"ok\":true}");
    CHECK_EQ_INT(h.calls, 2);
    CHECK_EQ_STR(raw_of(r, "successful"), "true");
    /* Handed to the handler instead of broadcast. */
    CHECK_EQ_INT(deliveries(bx, a), 0);
    /* Outside the prefix, plain pub/sub; a bad publish never reaches it. */
    publish(bx, b, "/svcx", "1");
    publish(bx, b, "/svc/*", "1");
    CHECK_EQ_INT(h.calls, 2);
    CHECK_EQ_INT(deliveries(bx, a), 1);
    bx_free(bx);
}

int main(void)
{
    RUN(channel_names_follow_fayes_grammar);
    RUN(channel_length_limit_is_bx_max_channel_bytes);
    RUN(wildcards_match_as_faye_expands_them);
    RUN(jsonp_names_follow_fayes_regex);
    RUN(handshake_reply_has_fayes_fields);
    RUN(handshake_errors_come_in_fayes_order);
    RUN(handshake_from_a_foreign_page_is_offered_no_websocket_or_cors);
    RUN(client_limit_at_its_edge);
    RUN(connect_errors_leave_out_clientid_and_advise_handshake);
    RUN(held_connect_is_answered_by_a_publish_at_flush);
    RUN(everything_published_in_one_turn_goes_in_one_answer);
    RUN(connect_with_timeout_zero_is_answered_at_once);
    RUN(connect_batched_with_another_message_is_answered_at_once);
    RUN(second_connect_answers_the_held_one_at_once);
    RUN(held_connect_is_answered_when_the_timeout_runs_out);
    RUN(held_connect_lasts_the_shorter_of_asked_and_ours);
    RUN(session_expires_two_timeouts_after_handshake);
    RUN(a_connect_starts_the_session_timer_again);
    RUN(port_gone_drops_its_held_connect_but_not_the_session);
    RUN(subscribe_then_unsubscribe);
    RUN(partial_subscribe_keeps_the_channels_before_the_bad_one);
    RUN(subscribe_refuses_meta_service_and_bad_channels);
    RUN(subscribe_takes_a_channel_of_bx_max_channel_bytes);
    RUN(subscription_limit_at_its_edge);
    RUN(publish_reply_is_fayes);
    RUN(delivered_once_however_many_patterns_match);
    RUN(publisher_subscribed_to_its_channel_gets_its_own_message);
    RUN(batch_handles_its_meta_messages_before_its_publishes);
    RUN(publish_errors);
    RUN(nothing_is_delivered_by_a_refused_publish);
    RUN(server_publish_reaches_subscribers_with_its_own_ids);
    RUN(queue_limit_at_its_edge_then_the_session_ends);
    RUN(socket_is_bound_by_a_connect_and_carries_deliveries);
    RUN(socket_bound_to_a_refuses_a_publish_as_b);
    RUN(disconnect_on_a_socket_replies_then_closes_it);
    RUN(disconnect_over_http_closes_the_bound_socket);
    RUN(disconnect_answers_a_held_http_connect);
    RUN(expired_session_closes_its_socket);
    RUN(batch_limit_at_its_edge);
    RUN(malformed_batches_are_refused_whole);
    RUN(message_without_a_channel_is_invalid);
    RUN(incoming_extension_refuses_with_its_own_error);
    RUN(outgoing_extension_withholds_a_delivery);
    RUN(channel_handler_claims_its_prefix);
    return check_summary("unit_bayeux");
}
