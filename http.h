/* http.h -- the HTTP/1.1 request parser and helpers: the interface of http.c
 * SPDX-License-Identifier: MIT
 *
 * Error convention, for the whole file: http_parse_request returns the
 * length of the request head (> 0), HTTP_NEED_MORE (0), or HTTP_ERROR (-1)
 * with req->status and req->why set. The other helpers return 0 on success
 * or the HTTP status that the failure deserves.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_NEED_MORE 0
#define HTTP_ERROR (-1)

/* Limits, each with what a client sees when it is over. */
#define HTTP_MAX_REQUEST_LINE 4096 /* longer request line: 414 */
#define HTTP_MAX_HEAD 8192         /* request line + headers; more: 431 */
#define HTTP_MAX_HEADERS 100       /* header lines; one more: 431 */

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
    size_t nheaders;     /* entries used in headers[] */
    struct http_header headers[HTTP_MAX_HEADERS];
    int status;          /* on HTTP_ERROR: the status to answer with */
    const char *why;     /* on HTTP_ERROR: a one-line reason, static */
};

int http_parse_request(const char *buf, size_t len, struct http_request *req);
const struct http_header *http_find_header(const struct http_request *req,
                                           const char *name, int *count);
bool http_has_token(const char *list, size_t len, const char *token,
                    size_t tlen);
bool http_method_is(const struct http_request *req, const char *method);
int http_query_param(const char *target, size_t len, const char *name,
                     const char **val, size_t *val_len);
int http_decode_path(const char *target, size_t len, char *out, size_t cap,
                     const char **why);
const char *http_status_text(int status);
const char *http_mime_type(const char *path);

#endif
