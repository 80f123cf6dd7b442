/* unit_http.c -- http.c checked on byte arrays: parser, lists, paths
 * SPDX-License-Identifier: MIT
 *
 * The parser is fed every truncation of each request, each in a heap
 * block of exactly that size (ASan catches a read past the end), and
 * must answer "need more" for every prefix of a valid head and the same
 * verdict every time for the whole one.
 */
#include "../http.h"
#include "check.h"

/* Parse text in an exact-size heap copy. Returns the parser's result and
 * fills req; *status gets req.status on error. */
static int parse(const char *text, size_t n, struct http_request *req)
{
    char *buf = (char *)exact_copy(text, n);
    int r = http_parse_request(buf, n, req);
    free(buf); /* req's pointers are not used after this by callers */
    return r;
}

static int status_of(const char *text)
{
    struct http_request req;
    int r = parse(text, strlen(text), &req);
    return r == HTTP_ERROR ? req.status : r > 0 ? 200 : 0;
}

static const char *const good_requests[] = {
    "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "GET /echo HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n",
    "HEAD /a%20b.txt?x=1 HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.1\nHost: bare-lf\n\n",
    "GET / HTTP/1.1\r\nX-Empty:\r\nX-Spaces:   padded   \r\n\r\n",
};

TEST(parses_a_request_into_pointers)
{
    const char *t = good_requests[1];
    struct http_request req;
    int n = http_parse_request(t, strlen(t), &req);
    CHECK_EQ_INT(n, (int)strlen(t));
    CHECK(req.method_len == 3 && memcmp(req.method, "GET", 3) == 0);
    CHECK(req.target_len == 5 && memcmp(req.target, "/echo", 5) == 0);
    CHECK_EQ_INT(req.minor_version, 1);
    CHECK_EQ_INT(req.nheaders, 5);
    int count;
    const struct http_header *h = http_find_header(&req, "sec-websocket-key", &count);
    CHECK(h && h->value_len == 24 && memcmp(h->value, "dGhl", 4) == 0);
    CHECK_EQ_INT(count, 1);
    CHECK(http_method_is(&req, "GET"));
    CHECK(!http_method_is(&req, "get"));
}

TEST(trims_header_values)
{
    const char *t = good_requests[4];
    struct http_request req;
    CHECK(http_parse_request(t, strlen(t), &req) > 0);
    const struct http_header *h = http_find_header(&req, "X-Spaces", NULL);
    CHECK(h && h->value_len == 6 && memcmp(h->value, "padded", 6) == 0);
    h = http_find_header(&req, "X-Empty", NULL);
    CHECK(h && h->value_len == 0);
}

TEST(every_truncation_of_a_good_request_needs_more)
{
    for (size_t i = 0; i < sizeof good_requests / sizeof good_requests[0]; i++) {
        const char *t = good_requests[i];
        size_t n = strlen(t);
        struct http_request req;
        for (size_t cut = 0; cut < n; cut++)
            CHECK_EQ_INT(parse(t, cut, &req), HTTP_NEED_MORE);
        CHECK_EQ_INT(parse(t, n, &req), (int)n);
        /* Pipelined: bytes after the head are not part of it. */
        char two[512];
        snprintf(two, sizeof two, "%sGET /next", t);
        CHECK_EQ_INT(parse(two, strlen(two), &req), (int)n);
    }
}

struct bad_case {
    const char *name;
    const char *text;
    int status;
};

static const struct bad_case bad_cases[] = {
    {"no method", " / HTTP/1.1\r\n\r\n", 400},
    {"bad method byte", "GE(T / HTTP/1.1\r\n\r\n", 400},
    {"two spaces", "GET  / HTTP/1.1\r\n\r\n", 400},
    {"lower-case version", "GET / http/1.1\r\n\r\n", 400},
    {"garbage version", "GET / HTTP/1.x\r\n\r\n", 400},
    {"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505},
    {"HTTP/0.9 style", "GET /\r\n\r\n", 400},
    {"trailing space", "GET / HTTP/1.1 \r\n\r\n", 400},
    {"header without colon", "GET / HTTP/1.1\r\nHost localhost\r\n\r\n", 400},
    {"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
    {"obs-fold", "GET / HTTP/1.1\r\nX-A: 1\r\n  continued\r\n\r\n", 400},
    {"empty name", "GET / HTTP/1.1\r\n: x\r\n\r\n", 400},
    {"bare CR", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},
    {"control byte", "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400},
    {"TLS hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},
};

TEST(malformed_requests_get_their_status)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        int got = status_of(bad_cases[i].text);
        if (got != bad_cases[i].status)
            fprintf(stderr, "  case: %s\n", bad_cases[i].name);
        CHECK_EQ_INT(got, bad_cases[i].status);
    }
}

TEST(every_truncation_of_a_bad_request_is_need_more_or_the_same_error)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const char *t = bad_cases[i].text;
        size_t n = strlen(t);
        for (size_t cut = 0; cut <= n; cut++) {
            struct http_request req;
            int r = parse(t, cut, &req);
            CHECK(r == HTTP_NEED_MORE || (r == HTTP_ERROR && req.status == bad_cases[i].status));
        }
    }
}

TEST(nul_byte_in_header_is_400)
{
    const char t[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    struct http_request req;
    CHECK_EQ_INT(parse(t, sizeof t - 1, &req), HTTP_ERROR);
    CHECK_EQ_INT(req.status, 400);
}

/* Build "GET / HTTP/1.1\r\n" + n lines "X-N: v\r\n" + "\r\n". */
static char *with_headers(size_t n, size_t *len)
{
    char *t = malloc(32 + n * 16);
    size_t o = (size_t)sprintf(t, "GET / HTTP/1.1\r\n");
    for (size_t i = 0; i < n; i++)
        o += (size_t)sprintf(t + o, "X-%zu: v\r\n", i);
    o += (size_t)sprintf(t + o, "\r\n");
    *len = o;
    return t;
}

TEST(header_count_limit_at_its_edge)
{
    size_t len;
    struct http_request req;
    char *t = with_headers(HTTP_MAX_HEADERS, &len);
    CHECK_EQ_INT(parse(t, len, &req), (int)len);
    free(t);
    t = with_headers(HTTP_MAX_HEADERS + 1, &len);
    CHECK_EQ_INT(parse(t, len, &req), HTTP_ERROR);
    CHECK_EQ_INT(req.status, 431);
    free(t);
}

TEST(head_size_limit_at_its_edge)
{
    /* A head of exactly HTTP_MAX_HEAD bytes passes; one more is 431. */
    static char t[HTTP_MAX_HEAD + 2];
    const char *start = "GET / HTTP/1.1\r\nX: ";
    for (int extra = 0; extra <= 1; extra++) {
        size_t total = HTTP_MAX_HEAD + (size_t)extra;
        size_t pre = strlen(start);
        memcpy(t, start, pre);
        memset(t + pre, 'a', total - pre - 4);
        memcpy(t + total - 4, "\r\n\r\n", 4);
        struct http_request req;
        int r = parse(t, total, &req);
        if (extra == 0) {
            CHECK_EQ_INT(r, (int)total);
        } else {
            CHECK_EQ_INT(r, HTTP_ERROR);
            CHECK_EQ_INT(req.status, 431);
        }
    }
    /* A single 64 KiB line with no end yet is refused without waiting. */
    static char big[65536];
    memcpy(big, start, strlen(start));
    memset(big + strlen(start), 'a', sizeof big - strlen(start));
    struct http_request req;
    CHECK_EQ_INT(parse(big, sizeof big, &req), HTTP_ERROR);
    CHECK_EQ_INT(req.status, 431);
}

TEST(request_line_limit_at_its_edge)
{
    static char t[HTTP_MAX_REQUEST_LINE + 64];
    for (int extra = 0; extra <= 1; extra++) {
        size_t line = HTTP_MAX_REQUEST_LINE + (size_t)extra;
        size_t target = line - strlen("GET  HTTP/1.1");
        memcpy(t, "GET /", 5);
        memset(t + 5, 'a', target - 1);
        size_t o = 4 + target;
        memcpy(t + o, " HTTP/1.1\r\n\r\n", 13);
        struct http_request req;
        int r = parse(t, o + 13, &req);
        CHECK_EQ_INT(r, extra ? HTTP_ERROR : (int)(o + 13));
        if (extra)
            CHECK_EQ_INT(req.status, 414);
    }
}

TEST(token_lists)
{
    CHECK(http_has_token("Upgrade", 7, "upgrade", 7));
    CHECK(http_has_token("keep-alive, Upgrade", 19, "upgrade", 7));
    CHECK(http_has_token(" ,, upgrade ,", 13, "upgrade", 7));
    CHECK(!http_has_token("upgrades", 8, "upgrade", 7));
    CHECK(!http_has_token("", 0, "upgrade", 7));
    CHECK(!http_has_token("up grade", 8, "upgrade", 7));
    /* 10,000 spaces and commas: one pass, and no match. */
    static char junk[10000];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = i % 2 ? ',' : ' ';
    CHECK(!http_has_token(junk, sizeof junk, "chat", 4));
}

struct path_case {
    const char *target;
    int status;
    const char *path;
};

static const struct path_case path_cases[] = {
    {"/", 0, "/"},
    {"/index.html", 0, "/index.html"},
    {"/a%20b.txt", 0, "/a b.txt"},
    {"/a/b/", 0, "/a/b/"},
    {"/a/./b", 0, "/a/b"},
    {"//a///b", 0, "/a/b"},
    {"/a/../b", 0, "/b"},
    {"/a/b/..", 0, "/a/"},
    {"/a/..", 0, "/"},
    {"/x?y=/../../etc", 0, "/x"},
    {"/..", 403, NULL},
    {"/../etc/passwd", 403, NULL},
    {"/a/../../etc/passwd", 403, NULL},
    {"/%2e%2e/etc/passwd", 403, NULL},
    {"/%2e%2e%2fetc%2fpasswd", 403, NULL},
    {"/..%2fetc", 403, NULL},
    {"/a/%2E%2E/%2E%2E/x", 403, NULL},
    {"/%00", 400, NULL},
    {"/a%00.html", 400, NULL},
    {"/%zz", 400, NULL},
    {"/%4", 400, NULL},
    {"*", 400, NULL},
    {"http://example.com/", 400, NULL},
};

TEST(paths_are_decoded_then_normalised)
{
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *pc = &path_cases[i];
        char out[256];
        const char *why = NULL;
        int st = http_decode_path(pc->target, strlen(pc->target), out,
                                  sizeof out, &why);
        if (st != pc->status)
            fprintf(stderr, "  path case %s\n", pc->target);
        CHECK_EQ_INT(st, pc->status);
        if (pc->path && st == 0)
            CHECK_EQ_STR(out, pc->path);
    }
}

TEST(mime_types_by_extension)
{
    CHECK_EQ_STR(http_mime_type("/www/index.html"), "text/html; charset=utf-8");
    CHECK_EQ_STR(http_mime_type("/www/app.JS"), "text/javascript; charset=utf-8");
    CHECK_EQ_STR(http_mime_type("/www/x.png"), "image/png");
    CHECK_EQ_STR(http_mime_type("/www.d/noext"), "application/octet-stream");
}

int main(void)
{
    RUN(parses_a_request_into_pointers);
    RUN(trims_header_values);
    RUN(every_truncation_of_a_good_request_needs_more);
    RUN(malformed_requests_get_their_status);
    RUN(every_truncation_of_a_bad_request_is_need_more_or_the_same_error);
    RUN(nul_byte_in_header_is_400);
    RUN(header_count_limit_at_its_edge);
    RUN(head_size_limit_at_its_edge);
    RUN(request_line_limit_at_its_edge);
    RUN(token_lists);
    RUN(paths_are_decoded_then_normalised);
    RUN(mime_types_by_extension);
    return check_summary("unit_http");
}
