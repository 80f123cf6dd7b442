/* ex10.c -- the lab's check for exercise 10: the parser copied in lab/ex10/
 * SPDX-License-Identifier: MIT
 *
 * The rules test/unit_http.c holds http.c's parser to, applied to the copy
 * in lab/ex10/http_copy.c (lab_http_parse_request):
 *   - a whole request head parses, every field pointing into the buffer;
 *   - every truncation of it answers HTTP_NEED_MORE, never an error: the
 *     parser cannot know the rest is bad before it has seen it (this is
 *     picohttpparser's rule, and what lets a server read a request in as
 *     many pieces as TCP delivers);
 *   - a bad head is refused with its status.
 * Each prefix sits at the start of a buffer whose next byte is an 'X',
 * not the byte the request goes on with, so a parser that reads past the
 * length it was given sees something it did not expect.
 */
#include "../../http.h"
#include "../../test/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lab_http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Requests whose heads must parse whole: name, bytes, and what is in them. */
static const struct {
    const char *name, *text;
    const char *method, *target;
    size_t nheaders;
    uint64_t content_length;
} good[] = {
    {"websocket_upgrade",
     "GET /echo HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\n"
     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
     "Sec-WebSocket-Version: 13\r\n\r\n",
     "GET", "/echo", 5, 0},
    {"polling_post",
     "POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\n"
     "Host: h\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n",
     "POST", "/socket.io/?EIO=4&transport=polling&sid=abc", 3, 2},
    {"bare_lf_lines", "GET / HTTP/1.0\nUser-Agent: nc\n\n", "GET", "/", 1, 0},
};

/* Parse the first n bytes of text, followed in the buffer by an 'X'.
 * The buffer lives until the next call, since req points into it. */
static int parse_prefix(const char *text, size_t n, struct http_request *req)
{
    static char *buf;
    free(buf);
    buf = malloc(n + 1);
    if (!buf) {
        perror("malloc");
        exit(2);
    }
    memcpy(buf, text, n);
    buf[n] = 'X';
    return lab_http_parse_request(buf, n, req);
}

/* The last few bytes before n, escaped, to show where a prefix ends. */
static const char *tail_of(const char *text, size_t n)
{
    static char out[64];
    size_t from = n > 12 ? n - 12 : 0, k = 0;
    for (size_t i = from; i < n && k < sizeof out - 5; i++) {
        if (text[i] == '\r')
            k += (size_t)snprintf(out + k, sizeof out - k, "\\r");
        else if (text[i] == '\n')
            k += (size_t)snprintf(out + k, sizeof out - k, "\\n");
        else
            out[k++] = text[i];
    }
    out[k] = '\0';
    return out;
}

TEST(complete_heads_parse)
{
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        check_row(good[i].name);
        struct http_request req;
        size_t len = strlen(good[i].text);
        int r = parse_prefix(good[i].text, len, &req);
        CHECK_EQ_INT(r, (long long)len);
        if (r <= 0)
            continue;
        CHECK(req.method_len == strlen(good[i].method) &&
              memcmp(req.method, good[i].method, req.method_len) == 0);
        CHECK(req.target_len == strlen(good[i].target) &&
              memcmp(req.target, good[i].target, req.target_len) == 0);
        CHECK_EQ_INT(req.nheaders, good[i].nheaders);
        CHECK_EQ_INT(req.content_length, good[i].content_length);
    }
    check_row(NULL);
}

TEST(every_truncation_needs_more)
{
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t len = strlen(good[i].text);
        for (size_t n = 0; n < len; n++) {
            struct http_request req;
            int r = parse_prefix(good[i].text, n, &req);
            if (r == HTTP_NEED_MORE) {
                check_passed++;
                continue;
            }
            check_failed++;
            fprintf(stderr, "FAIL every_truncation_needs_more/%s: the first %zu of %zu bytes "
                    "(ending \"%s\") gave %d (%d %s), want HTTP_NEED_MORE\n",
                    good[i].name, n, len, tail_of(good[i].text, n), r, req.status,
                    req.why ? req.why : "");
            break; /* the first one is the clue; the rest say the same */
        }
    }
}

TEST(bad_heads_are_refused)
{
    static const struct {
        const char *name, *text;
        int status;
    } bad[] = {
        {"bare_cr_in_request_line", "GET / HTTP/1.1\rX\r\n\r\n", 400},
        {"bare_cr_in_header", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400},
        {"nul_in_header", "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 400},
        {"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", 400},
        {"http_2", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        check_row(bad[i].name);
        struct http_request req;
        /* The NUL row's length counts past its NUL. */
        size_t len = strlen(bad[i].text);
        if (strcmp(bad[i].name, "nul_in_header") == 0)
            len += 1 + strlen(bad[i].text + len + 1);
        int r = parse_prefix(bad[i].text, len, &req);
        CHECK_EQ_INT(r, HTTP_ERROR);
        if (r == HTTP_ERROR)
            CHECK_EQ_INT(req.status, bad[i].status);
    }
    check_row(NULL);
}

int main(void)
{
    RUN(complete_heads_parse);
    RUN(every_truncation_needs_more);
    RUN(bad_heads_are_refused);
    return check_summary("ex10");
}
