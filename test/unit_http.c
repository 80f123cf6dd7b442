/* unit_http.c -- http.c checked on byte arrays: parser, body framing,
 * Origin policy, lists, paths
 * SPDX-License-Identifier: MIT
 *
 * The parser is fed every truncation of each request, each in a heap
 * block of exactly that size (ASan catches a read past the end), and
 * must answer "need more" for every prefix of a valid head and the same
 * verdict every time for the whole one. Requests with bodies are cut at
 * every byte too: before the blank line the answer is "need more", after
 * it the head's length, whatever part of the body has arrived.
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

/* ------------------------------------------------------------------------
 * Body framing, RFC 9112 §6.3
 * ------------------------------------------------------------------------ */

#define ACCEPTED 200 /* the head parses; content_length is the body's size */

struct framing_case {
    const char *name;
    const char *text;   /* head, then the body if there is one */
    int status;         /* ACCEPTED, or the status of the refusal */
    uint64_t length;    /* content_length when ACCEPTED */
};

#define POST "POST /x HTTP/1.1\r\nHost: h\r\n"
#define POST10 "POST /x HTTP/1.0\r\nHost: h\r\n"

static const struct framing_case framing_cases[] = {
    /* §6.3 item 6: a valid Content-Length is the body's length. */
    {"Content-Length: 10", POST "Content-Length: 10\r\n\r\n0123456789", ACCEPTED, 10},
    {"Content-Length: 0", POST "Content-Length: 0\r\n\r\n", ACCEPTED, 0},
    {"leading zeros are digits", POST "Content-Length: 007\r\n\r\nabcdefg", ACCEPTED, 7},
    {"OWS around the value", POST "Content-Length: \t 3 \t\r\n\r\nabc", ACCEPTED, 3},
    {"largest allowed, 2^53 - 1", POST "Content-Length: 9007199254740991\r\n\r\n",
     ACCEPTED, 9007199254740991ULL},
    {"HTTP/1.0 with Content-Length", POST10 "Content-Length: 3\r\n\r\nabc", ACCEPTED, 3},
    {"field name in any case", POST "content-LENGTH: 2\r\n\r\nab", ACCEPTED, 2},
    /* §6.3 item 7: neither field, no body. */
    {"no framing fields", POST "\r\n", ACCEPTED, 0},
    /* RFC 9110 §8.6: Content-Length = 1*DIGIT, else §6.3 item 5: 400. */
    {"Content-Length: -1", POST "Content-Length: -1\r\n\r\n", 400, 0},
    {"Content-Length: +5", POST "Content-Length: +5\r\n\r\nhello", 400, 0},
    {"Content-Length: 1 0", POST "Content-Length: 1 0\r\n\r\n0123456789", 400, 0},
    {"Content-Length: abc", POST "Content-Length: abc\r\n\r\n", 400, 0},
    {"Content-Length: 0x5", POST "Content-Length: 0x5\r\n\r\nhello", 400, 0},
    {"Content-Length: 5.0", POST "Content-Length: 5.0\r\n\r\nhello", 400, 0},
    {"empty Content-Length", POST "Content-Length:\r\n\r\n", 400, 0},
    {"spaces-only Content-Length", POST "Content-Length:   \r\n\r\n", 400, 0},
    {"Content-Length: 99999999999999999999999",
     POST "Content-Length: 99999999999999999999999\r\n\r\n", 400, 0},
    {"one over 2^53 - 1", POST "Content-Length: 9007199254740992\r\n\r\n", 400, 0},
    {"2^64 wraps nothing", POST "Content-Length: 18446744073709551616\r\n\r\n", 400, 0},
    /* §6.3 item 5: repeated values must all agree; equal ones we take. */
    {"two equal Content-Length fields",
     POST "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", ACCEPTED, 5},
    {"two differing Content-Length fields",
     POST "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400, 0},
    {"list 5, 5", POST "Content-Length: 5, 5\r\n\r\nhello", ACCEPTED, 5},
    {"list 5,5,5 with no spaces", POST "Content-Length: 5,5,5\r\n\r\nhello", ACCEPTED, 5},
    {"list 5, 6", POST "Content-Length: 5, 6\r\n\r\nhello!", 400, 0},
    {"list with an empty element", POST "Content-Length: 5,\r\n\r\nhello", 400, 0},
    {"list starting with a comma", POST "Content-Length: ,5\r\n\r\nhello", 400, 0},
    {"list with a bad element", POST "Content-Length: 5, x\r\n\r\nhello", 400, 0},
    {"equal list then differing field",
     POST "Content-Length: 5, 5\r\nContent-Length: 4\r\n\r\nhello", 400, 0},
    /* §6.3 item 3: both fields is the smuggling shape. */
    {"Content-Length with Transfer-Encoding",
     POST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 0},
    {"Transfer-Encoding with Content-Length",
     POST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400, 0},
    /* §6.3 item 4 and the 411 paragraph after the list. */
    {"Transfer-Encoding: chunked", POST "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411, 0},
    {"Transfer-Encoding: Chunked", POST "Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", 411, 0},
    {"chunked with a parameter", POST "Transfer-Encoding: chunked;x=1\r\n\r\n", 411, 0},
    {"chunked after an empty element", POST "Transfer-Encoding: , chunked\r\n\r\n", 411, 0},
    {"Transfer-Encoding: gzip", POST "Transfer-Encoding: gzip\r\n\r\n", 400, 0},
    {"Transfer-Encoding: identity", POST "Transfer-Encoding: identity\r\n\r\n", 400, 0},
    {"Transfer-Encoding: chunked, gzip", POST "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, 0},
    {"empty Transfer-Encoding", POST "Transfer-Encoding:\r\n\r\n", 400, 0},
    {"Transfer-Encoding of commas", POST "Transfer-Encoding: , ,\r\n\r\n", 400, 0},
    {"Transfer-Encoding not a token", POST "Transfer-Encoding: chun ked\r\n\r\n", 400, 0},
    {"Transfer-Encoding: xchunked", POST "Transfer-Encoding: xchunked\r\n\r\n", 400, 0},
    /* §6.1: chunked at most once, and codings we do not decode: 501. */
    {"Transfer-Encoding: chunked, chunked",
     POST "Transfer-Encoding: chunked, chunked\r\n\r\n", 400, 0},
    {"Transfer-Encoding: gzip, chunked", POST "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, 0},
    {"gzip and chunked as two fields",
     POST "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501, 0},
    {"chunked and gzip as two fields",
     POST "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400, 0},
    /* §6.1: any Transfer-Encoding in HTTP/1.0 is faulty framing. */
    {"Transfer-Encoding on HTTP/1.0", POST10 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, 0},
    {"Transfer-Encoding and Content-Length on HTTP/1.0",
     POST10 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, 0},
};

/* Bytes up to and including the blank line that ends text's head. */
static size_t head_length(const char *text)
{
    const char *end = strstr(text, "\r\n\r\n");
    return end ? (size_t)(end - text) + 4 : 0;
}

TEST(body_framing_follows_9112_6_3)
{
    for (size_t i = 0; i < sizeof framing_cases / sizeof framing_cases[0]; i++) {
        const struct framing_case *fc = &framing_cases[i];
        struct http_request req;
        int r = parse(fc->text, strlen(fc->text), &req);
        int got = r == HTTP_ERROR ? req.status : r > 0 ? ACCEPTED : 0;
        if (got != fc->status)
            fprintf(stderr, "  framing case: %s (got %d)\n", fc->name, got);
        CHECK_EQ_INT(got, fc->status);
        if (fc->status == ACCEPTED && r > 0) {
            CHECK_EQ_INT(r, (int)head_length(fc->text));
            CHECK(req.content_length == fc->length);
        } else if (r == HTTP_ERROR) {
            CHECK(req.why != NULL);
        }
    }
}

TEST(every_truncation_of_a_request_with_a_body_needs_more_until_the_head_ends)
{
    for (size_t i = 0; i < sizeof framing_cases / sizeof framing_cases[0]; i++) {
        const struct framing_case *fc = &framing_cases[i];
        size_t n = strlen(fc->text), head = head_length(fc->text);
        for (size_t cut = 0; cut <= n; cut++) {
            struct http_request req;
            int r = parse(fc->text, cut, &req);
            if (cut < head) {
                CHECK_EQ_INT(r, HTTP_NEED_MORE);
            } else if (fc->status == ACCEPTED) {
                /* The body, whole or in part, is never the parser's. */
                CHECK_EQ_INT(r, (int)head);
                CHECK(req.content_length == fc->length);
            } else {
                CHECK_EQ_INT(r, HTTP_ERROR);
                CHECK_EQ_INT(req.status, fc->status);
            }
        }
    }
}

TEST(a_pipelined_request_after_a_body_is_not_part_of_the_head)
{
    const char *t = POST "Content-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t head = head_length(t);
    struct http_request req;
    CHECK_EQ_INT(parse(t, strlen(t), &req), (int)head);
    CHECK(req.content_length == 5);
    /* The caller skips content_length bytes and finds the next head. */
    const char *next = t + head + 5;
    CHECK_EQ_INT(parse(next, strlen(next), &req), (int)strlen(next));
    CHECK(req.content_length == 0);
}

TEST(a_parse_after_a_body_resets_content_length)
{
    /* The same struct is reused from request to request. */
    struct http_request req;
    const char *a = POST "Content-Length: 9\r\n\r\n";
    const char *b = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK(http_parse_request(a, strlen(a), &req) > 0);
    CHECK(req.content_length == 9);
    CHECK(http_parse_request(b, strlen(b), &req) > 0);
    CHECK(req.content_length == 0);
}

TEST(an_8000_digit_content_length_is_refused_without_overflow)
{
    static char t[9000];
    size_t o = (size_t)sprintf(t, POST "Content-Length: ");
    memset(t + o, '9', 8000);
    o += 8000;
    memcpy(t + o, "\r\n\r\n", 4);
    struct http_request req;
    CHECK_EQ_INT(parse(t, o + 4, &req), HTTP_ERROR);
    CHECK_EQ_INT(req.status, 400);
    /* Leading zeros are still 1*DIGIT, and still small. */
    o = (size_t)sprintf(t, POST "Content-Length: ");
    memset(t + o, '0', 8000);
    o += 8000;
    memcpy(t + o, "42\r\n\r\n", 6);
    CHECK_EQ_INT(parse(t, o + 6, &req), (int)(o + 6));
    CHECK(req.content_length == 42);
}

TEST(new_statuses_have_reason_phrases)
{
    CHECK_EQ_STR(http_status_text(411), "Length Required");
    CHECK_EQ_STR(http_status_text(413), "Content Too Large");
    CHECK_EQ_STR(http_status_text(501), "Not Implemented");
}

/* ------------------------------------------------------------------------
 * The Origin policy, RFC 6455 §10.2 and RFC 6454
 * ------------------------------------------------------------------------ */

struct origin_case {
    const char *name;
    const char *fields;   /* header lines after the request line */
    const char *origins;  /* the --origin policy */
    int status;           /* http_check_origin's answer */
    enum http_origin kind;/* http_classify_origin's answer */
};

static const struct origin_case origin_cases[] = {
    {"no Origin is not a browser", "Host: localhost:8080\r\n", NULL,
     0, HTTP_ORIGIN_ABSENT},
    {"same host and port", "Host: localhost:8080\r\nOrigin: http://localhost:8080\r\n",
     NULL, 0, HTTP_ORIGIN_SAME},
    {"same host in another case", "Host: localhost:8080\r\nOrigin: http://LOCALHOST:8080\r\n",
     NULL, 0, HTTP_ORIGIN_SAME},
    {"Host with the default port :80", "Host: example.org:80\r\nOrigin: http://example.org\r\n",
     NULL, 0, HTTP_ORIGIN_SAME},
    {"Origin with the default port :80", "Host: example.org\r\nOrigin: http://example.org:80\r\n",
     NULL, 0, HTTP_ORIGIN_SAME},
    {"https with :443", "Host: example.org\r\nOrigin: https://example.org:443\r\n",
     NULL, 0, HTTP_ORIGIN_SAME},
    {"https and Host :443", "Host: example.org:443\r\nOrigin: https://example.org\r\n",
     NULL, 0, HTTP_ORIGIN_SAME},
    {":443 is not http's default", "Host: example.org\r\nOrigin: http://example.org:443\r\n",
     NULL, 403, HTTP_ORIGIN_FOREIGN},
    {"same name, other port", "Host: localhost:8080\r\nOrigin: http://localhost:9999\r\n",
     NULL, 403, HTTP_ORIGIN_FOREIGN},
    {"foreign origin, no list", "Host: localhost:8080\r\nOrigin: http://evil.example\r\n",
     NULL, 403, HTTP_ORIGIN_FOREIGN},
    {"foreign origin, empty list", "Host: localhost:8080\r\nOrigin: http://evil.example\r\n",
     "", 403, HTTP_ORIGIN_FOREIGN},
    {"listed origin", "Host: localhost:8080\r\nOrigin: http://evil.example\r\n",
     "http://a.example, http://evil.example", 0, HTTP_ORIGIN_LISTED},
    {"not listed: a longer name", "Host: localhost:8080\r\nOrigin: http://evil.example.com\r\n",
     "http://evil.example", 403, HTTP_ORIGIN_FOREIGN},
    {"not listed: a prefix", "Host: localhost:8080\r\nOrigin: http://evil.exampl\r\n",
     "http://evil.example", 403, HTTP_ORIGIN_FOREIGN},
    {"star allows a foreign origin", "Host: localhost:8080\r\nOrigin: http://evil.example\r\n",
     "*", 0, HTTP_ORIGIN_ANY},
    {"star still says same origin", "Host: localhost:8080\r\nOrigin: http://localhost:8080\r\n",
     "*", 0, HTTP_ORIGIN_SAME},
    {"null is refused", "Host: localhost:8080\r\nOrigin: null\r\n", NULL,
     403, HTTP_ORIGIN_FOREIGN},
    {"null with star", "Host: localhost:8080\r\nOrigin: null\r\n", "*",
     0, HTTP_ORIGIN_ANY},
    {"empty Origin is refused", "Host: localhost:8080\r\nOrigin:\r\n", NULL,
     403, HTTP_ORIGIN_FOREIGN},
    {"duplicate Origin", "Host: localhost:8080\r\nOrigin: http://localhost:8080\r\n"
     "Origin: http://localhost:8080\r\n", NULL, 400, HTTP_ORIGIN_DUPLICATE},
    {"duplicate Origin even with star", "Host: h\r\nOrigin: http://a\r\norigin: http://b\r\n",
     "*", 400, HTTP_ORIGIN_DUPLICATE},
    {"no Host is never same-origin", "Origin: http://localhost\r\n", NULL,
     403, HTTP_ORIGIN_FOREIGN},
    {"two Hosts are never same-origin", "Host: localhost\r\nHost: localhost\r\n"
     "Origin: http://localhost\r\n", NULL, 403, HTTP_ORIGIN_FOREIGN},
    {"ftp origin never matches a Host", "Host: example.org\r\nOrigin: ftp://example.org\r\n",
     NULL, 403, HTTP_ORIGIN_FOREIGN},
};

TEST(origin_policy_follows_6455_10_2)
{
    for (size_t i = 0; i < sizeof origin_cases / sizeof origin_cases[0]; i++) {
        const struct origin_case *oc = &origin_cases[i];
        char t[512];
        snprintf(t, sizeof t, "GET /echo HTTP/1.1\r\n%s\r\n", oc->fields);
        struct http_request req;
        CHECK_EQ_INT(http_parse_request(t, strlen(t), &req), (int)strlen(t));
        const char *why = NULL;
        int st = http_check_origin(&req, oc->origins, &why);
        enum http_origin kind = http_classify_origin(&req, oc->origins);
        if (st != oc->status || kind != oc->kind)
            fprintf(stderr, "  origin case: %s (got %d, kind %d)\n", oc->name,
                    st, (int)kind);
        CHECK_EQ_INT(st, oc->status);
        CHECK_EQ_INT(kind, oc->kind);
        CHECK(why != NULL);
    }
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
    RUN(body_framing_follows_9112_6_3);
    RUN(every_truncation_of_a_request_with_a_body_needs_more_until_the_head_ends);
    RUN(a_pipelined_request_after_a_body_is_not_part_of_the_head);
    RUN(a_parse_after_a_body_resets_content_length);
    RUN(an_8000_digit_content_length_is_refused_without_overflow);
    RUN(new_statuses_have_reason_phrases);
    RUN(origin_policy_follows_6455_10_2);
    RUN(header_count_limit_at_its_edge);
    RUN(head_size_limit_at_its_edge);
    RUN(request_line_limit_at_its_edge);
    RUN(token_lists);
    RUN(paths_are_decoded_then_normalised);
    RUN(mime_types_by_extension);
    return check_summary("unit_http");
}
