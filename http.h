/* http.h -- the HTTP/1.1 request parser and helpers: the interface of http.c
 * SPDX-License-Identifier: MIT
 *
 * Error conventions. The functions come in five families, and each family
 * answers in one way:
 *
 *   the parser   http_parse_request returns the length of the request head
 *                (> 0), HTTP_NEED_MORE (0), or HTTP_ERROR (-1) with
 *                req->status and req->why set. On success the body, if
 *                any, is req->content_length bytes right after the head.
 *   checkers     http_check_origin and http_decode_path return 0 when the
 *                request may go ahead, otherwise the HTTP status to answer
 *                with (400, 403, 414), and set *why to a static line.
 *   lookups      http_find_header returns the first match or NULL;
 *                http_query_param returns 0 when the parameter is there and
 *                -1 when it is absent (absent is not an error).
 *                http_classify_origin returns an enum http_origin.
 *   predicates   http_has_token and http_method_is return bool.
 *   tables       http_status_text and http_mime_type return a static
 *                string, never NULL.
 *
 * Nothing here does I/O or allocates; every pointer handed out points into
 * the caller's buffer.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_NEED_MORE 0
#define HTTP_ERROR (-1)

/* Limits, each with what a client sees when it is over. */
#define HTTP_MAX_REQUEST_LINE 4096 /* longer request line: 414 */
#define HTTP_MAX_HEAD 8192         /* request line + headers; more: 431 */
#define HTTP_MAX_HEADERS 100       /* header lines; one more: 431 */
#define HTTP_MAX_CONTENT_LENGTH 9007199254740991ULL /* 2^53 - 1; more: 400 */

struct http_header {
    const char *name;  /* points into the caller's buffer, not terminated */
    size_t name_len;   /* bytes at name */
    const char *value; /* into the caller's buffer, spaces trimmed */
    size_t value_len;  /* bytes at value */
};

struct http_request {
    const char *method;  /* into the caller's buffer, e.g. "GET" */
    size_t method_len;   /* bytes at method */
    const char *target;  /* request-target as sent, e.g. "/a%20b?x=1" */
    size_t target_len;   /* bytes at target */
    int minor_version;   /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    uint64_t content_length; /* body bytes; 0 when there is none */
    size_t nheaders;     /* entries used in headers[] */
    struct http_header headers[HTTP_MAX_HEADERS];
    int status;          /* on HTTP_ERROR: the status to answer with */
    const char *why;     /* on HTTP_ERROR: a one-line reason, static */
};

/* How a request's Origin stands against an --origin policy. */
enum http_origin {
    HTTP_ORIGIN_ABSENT,   /* no Origin field: not a browser; allowed */
    HTTP_ORIGIN_SAME,     /* names the request's own Host; allowed */
    HTTP_ORIGIN_LISTED,   /* named in the list; allowed (CORS: echo it) */
    HTTP_ORIGIN_ANY,      /* allowed only because the list is "*" */
    HTTP_ORIGIN_FOREIGN,  /* none of the above: 403 */
    HTTP_ORIGIN_DUPLICATE /* more than one Origin field: 400 */
};

/* The parser */
int http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Checkers */
int http_check_origin(const struct http_request *req, const char *origins,
                      const char **why);
int http_decode_path(const char *target, size_t len, char *out, size_t cap,
                     const char **why);

/* Lookups */
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name, int *count);
int http_query_param(const char *target, size_t len, const char *name,
                     const char **val, size_t *val_len);
bool http_origin_allowed(const char *origin, size_t olen,
                         const struct http_request *req, const char *origins);
enum http_origin http_classify_origin(const struct http_request *req,
                                      const char *origins);

/* Predicates */
bool http_has_token(const char *list, size_t len, const char *token,
                    size_t tlen);
bool http_method_is(const struct http_request *req, const char *method);

/* Tables */
const char *http_status_text(int status);
const char *http_mime_type(const char *path);

#endif
